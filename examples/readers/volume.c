/* volume.c — CT / MRI volume loader for the medgemma.h examples (see mgx_medical.h).

   mgx_volume_load_ex(path, options):
     directory   the regular, non-hidden files in it and in its subfolders (at most MGX_VOLUME_MAX_DEPTH levels;
                 link loops walked once), depth first in name order, that look like DICOM and hold pixel data
                 (DICOMDIR, structured reports... are skipped). A first pass reads headers only (a deflated data set
                 is inflated up to its pixel data, never further) and groups the files by SeriesInstanceUID
                 (files without one form a series of their own); series are numbered from 1 in the order their
                 first file comes. With several series options->series must pick one (its UID, or its number as
                 decimal text); without it the error lists every series (number, UID, modality, description,
                 slices). The series' slices must share Rows/Columns. Order: InstanceNumber when every file has one
                 and no two are equal; else ImagePositionPatient projected on the slice normal (the cross product
                 of the ImageOrientationPatient row and column directions; plain z without an orientation); else
                 path order. Ties keep path order.
     .nii/.nii.gz  mgx_nifti_load_file_ex with options->volume (4D files: the 0-based volume).
     other file  one DICOM object; its frames are the slices, in frame order.
   Values are modality units (slope/intercept applied: Hounsfield units for CT).
   source_index: for a folder, the index of each slice's file among the chosen series' files in path order; for
   one DICOM object, the frame number; for NIfTI, k. source_path: for a folder, each slice's file. */
#include "mgx_medical.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>

/* ---- geometry ------------------------------------------------------------------------------- */

static void cross3(const double *a, const double *b, double *r) {
    r[0] = a[1] * b[2] - a[2] * b[1];
    r[1] = a[2] * b[0] - a[0] * b[2];
    r[2] = a[0] * b[1] - a[1] * b[0];
}

/* The slice normal from an orientation (row cosines, column cosines); plain z when there is none. */
static void slice_normal(const double *orient, int has_orient, double *nrm) {
    nrm[0] = 0; nrm[1] = 0; nrm[2] = 1;
    if (has_orient) {
        double c[3], len;
        cross3(orient, orient + 3, c);
        len = sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
        if (len > 1e-6 && isfinite(len)) { nrm[0] = c[0] / len; nrm[1] = c[1] / len; nrm[2] = c[2] / len; }
    }
}

/* Fills spacing and affine. pos: n positions (n*3) in slice order, or NULL. */
static void set_geometry(mgx_volume *v, const double *pos, int n, const double *orient, int has_orient,
                         const double *pixsp, double slice_spacing, double thickness) {
    double nrm[3], dz = 0;
    int i;
    v->spacing[0] = pixsp[1] > 0 && isfinite(pixsp[1]) ? pixsp[1] : 0;   /* PixelSpacing = row spacing \ column spacing */
    v->spacing[1] = pixsp[0] > 0 && isfinite(pixsp[0]) ? pixsp[0] : 0;
    slice_normal(orient, has_orient, nrm);
    if (pos && n >= 2) {
        double a = pos[0] * nrm[0] + pos[1] * nrm[1] + pos[2] * nrm[2];
        double b = pos[(size_t)(n - 1) * 3] * nrm[0] + pos[(size_t)(n - 1) * 3 + 1] * nrm[1] + pos[(size_t)(n - 1) * 3 + 2] * nrm[2];
        dz = fabs(b - a) / (n - 1);
    }
    if (!(dz > 0) || !isfinite(dz)) dz = slice_spacing > 0 && isfinite(slice_spacing) ? slice_spacing : 0;
    if (!(dz > 0)) dz = thickness > 0 && isfinite(thickness) ? thickness : 0;
    v->spacing[2] = dz;
    v->has_affine = 0;
    memset(v->affine, 0, sizeof v->affine);
    if (pos && has_orient && v->spacing[0] > 0 && v->spacing[1] > 0) {
        for (i = 0; i < 3; i++) {
            v->affine[i][0] = orient[i] * v->spacing[0];
            v->affine[i][1] = orient[3 + i] * v->spacing[1];
            if (n >= 2) v->affine[i][2] = (pos[(size_t)(n - 1) * 3 + (size_t)i] - pos[i]) / (n - 1);
            else v->affine[i][2] = nrm[i] * dz;
            v->affine[i][3] = pos[i];
        }
        v->has_affine = 1;
    }
}

/* Header facts every DICOM volume copies from its (first) file. */
static void copy_header_facts(mgx_volume *v, const mgx_dicom *d) {
    memcpy(v->modality, d->modality, sizeof v->modality);
    memcpy(v->series_uid, d->series_uid, sizeof v->series_uid);
    memcpy(v->series_description, d->series_description, sizeof v->series_description);
    if (d->has_window) { v->window_center = d->window_center; v->window_width = d->window_width; v->has_window = 1; }
}

/* ---- series selection ----------------------------------------------------------------------- */

typedef struct {
    mgx_dicom hdr;          /* the header of the series' first file (no pixel data, no per-frame arrays) */
    int files, slices;
} series_info;

/* "  N: UID MODALITY "DESCRIPTION" K slices" for each series, appended to buf. */
static void list_series(char *buf, size_t bufsz, const series_info *s, int ns) {
    int i;
    for (i = 0; i < ns; i++) {
        size_t used = strlen(buf);
        if (used + 1 >= bufsz) return;
        snprintf(buf + used, bufsz - used, "\n  %d: %s %s \"%s\" %d slice%s", i + 1, s[i].hdr.series_uid[0] ? s[i].hdr.series_uid : "(no SeriesInstanceUID)",
                 s[i].hdr.modality[0] ? s[i].hdr.modality : "(no modality)", s[i].hdr.series_description, s[i].slices,
                 s[i].slices == 1 ? "" : "s");
    }
}

/* 1-based index written as plain decimal digits, else 0. */
static int series_number(const char *sel, int ns) {
    long k = 0;
    const char *c;
    if (!sel[0]) return 0;
    for (c = sel; *c; c++) {
        if (*c < '0' || *c > '9') return 0;
        k = k * 10 + (*c - '0');
        if (k > ns) return 0;
    }
    return (int)k;
}

/* The 0-based series that sel names (UID first, then number), or -1 with a message listing what exists. */
static int pick_series(const char *where, const char *sel, const series_info *s, int ns, char *err, size_t errsz) {
    int i;
    if (!sel) {
        if (ns == 1) return 0;
        mgx_errf(err, errsz, "volume: %s holds %d series; choose one by SeriesInstanceUID or number:", where, ns);
        list_series(err, errsz, s, ns);
        return -1;
    }
    for (i = 0; i < ns; i++)
        if (s[i].hdr.series_uid[0] && !strcmp(s[i].hdr.series_uid, sel)) return i;
    if ((i = series_number(sel, ns)) > 0) return i - 1;
    mgx_errf(err, errsz, "volume: no series \"%s\" in %s, which holds %d series:", sel, where, ns);
    list_series(err, errsz, s, ns);
    return -1;
}

/* ---- one DICOM object ----------------------------------------------------------------------- */

static int check_grey(const mgx_dicom *d, const char *what, char *err, size_t errsz) {
    if (d->samples != 1)
        return mgx_errf(err, errsz, "volume: %s is colour (%s, %d samples per pixel); a CT/MR volume needs grey images",
                        what, d->photometric, d->samples);
    return 0;
}

static int volume_from_dicom(const char *path, const char *series, mgx_volume *v, char *err, size_t errsz) {
    mgx_dicom d;
    series_info one;
    size_t nvox;
    int f;
    if (mgx_dicom_load_file(path, &d, err, errsz)) return -1;
    one.hdr = d;
    one.files = 1;
    one.slices = d.frames;
    if (pick_series(path, series, &one, 1, err, errsz) < 0 || check_grey(&d, path, err, errsz)) { mgx_dicom_free(&d); return -1; }
    nvox = (size_t)d.rows * (size_t)d.cols;
    if (d.frames > MGX_MAX_VOLUME_SLICES || nvox > MGX_MAX_VOLUME_VOXELS / (size_t)d.frames) {
        mgx_dicom_free(&d);
        return mgx_errf(err, errsz, "volume: %s is too large", path);
    }
    v->source_index = (int *)MGX_MALLOC((size_t)d.frames * sizeof(int));
    if (!v->source_index) { mgx_dicom_free(&d); return mgx_errf(err, errsz, "volume: out of memory"); }
    for (f = 0; f < d.frames; f++) v->source_index[f] = f;
    v->w = d.cols; v->h = d.rows; v->d = d.frames; v->nvolumes = 1;
    v->vox = d.data;  /* frame-major, row-major floats: exactly the volume layout */
    d.data = NULL;
    copy_header_facts(v, &d);
    if (d.frame_position)
        set_geometry(v, d.frame_position, d.frames, d.orientation, d.has_orientation, d.spacing, d.slice_spacing, d.thickness);
    else
        set_geometry(v, d.has_position && d.frames == 1 ? d.position : NULL, 1, d.orientation, d.has_orientation, d.spacing,
                     d.slice_spacing, d.thickness);
    mgx_dicom_free(&d);
    return 0;
}

/* ---- a folder of DICOM files ---------------------------------------------------------------- */

typedef struct {
    int path;               /* index into the path list */
    int series;             /* index into the series table */
    int rank;               /* index among the chosen series' files in path order */
    int frames, has_instance, instance, has_position;
    double position[3], key;
} slice_info;

static int cmp_instance(const void *a, const void *b) {
    const slice_info *x = (const slice_info *)a, *y = (const slice_info *)b;
    if (x->instance != y->instance) return x->instance < y->instance ? -1 : 1;
    return x->path < y->path ? -1 : x->path > y->path;
}

static int cmp_key(const void *a, const void *b) {
    const slice_info *x = (const slice_info *)a, *y = (const slice_info *)b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->path < y->path ? -1 : x->path > y->path;
}

static int cmp_path(const void *a, const void *b) {
    const slice_info *x = (const slice_info *)a, *y = (const slice_info *)b;
    return x->path < y->path ? -1 : x->path > y->path;
}

/* What the header pass found. */
typedef struct {
    char **paths;
    int npaths;
    slice_info *sl;         /* one per DICOM image file */
    int ns;
    series_info *series;
    int nseries, cap;
} folder_scan;

static void scan_free(folder_scan *fs) {
    int i;
    mgx_names_free(fs->paths, fs->npaths);
    for (i = 0; i < fs->nseries; i++) mgx_dicom_free(&fs->series[i].hdr);
    MGX_FREE(fs->series);
    MGX_FREE(fs->sl);
    memset(fs, 0, sizeof *fs);
}

static const char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Reads the header of one file: 1 when it is a DICOM image, 0 when it is something else, -1 on error. */
static int read_header(const char *path, mgx_dicom *d, char *err, size_t errsz) {
    unsigned char head[132], *buf = NULL;
    size_t n = 0;
    char e2[512];
    int part10;
    if (!strcmp(base_name(path), "DICOMDIR")) return 0;
    if (mgx_read_head(path, sizeof head, head, &n, e2, sizeof e2)) return mgx_errf(err, errsz, "volume: %s", e2);
    if (!mgx_dicom_probe(head, n)) return 0;
    if (mgx_read_file(path, MGX_MAX_MEDICAL_FILE_BYTES, &buf, &n, e2, sizeof e2)) return mgx_errf(err, errsz, "volume: %s", e2);
    part10 = n >= 132 && !memcmp(buf + 128, "DICM", 4);
    if (mgx_dicom_load_mem_ex(buf, n, d, MGX_DICOM_HEADER_ONLY, e2, sizeof e2)) {
        MGX_FREE(buf);
        /* objects without an image (DICOMDIR, SR, presentation states...) are not slices, and a file
           without the Part 10 header that does not parse is most likely not DICOM at all */
        if (strstr(e2, "no pixel data") || !part10) return 0;
        return mgx_errf(err, errsz, "volume: %s: %s", path, e2);
    }
    MGX_FREE(buf);
    return 1;
}

/* Index of d's series in the table (a new entry when it is the first file of its series), or -1 when out of memory. */
static int series_of(folder_scan *fs, mgx_dicom *d, int *is_new) {
    int i;
    *is_new = 0;
    for (i = 0; i < fs->nseries; i++)
        if (!strcmp(fs->series[i].hdr.series_uid, d->series_uid)) return i;
    if (fs->nseries == fs->cap) {
        int nc = fs->cap ? 2 * fs->cap : 8;
        series_info *t = (series_info *)MGX_REALLOC(fs->series, (size_t)nc * sizeof *t);
        if (!t) return -1;
        fs->series = t;
        fs->cap = nc;
    }
    *is_new = 1;
    fs->series[fs->nseries].hdr = *d;
    fs->series[fs->nseries].files = 0;
    fs->series[fs->nseries].slices = 0;
    return fs->nseries++;
}

/* Pass 1: the headers of every file under dir, grouped into series. */
static int scan_folder(const char *dir, folder_scan *fs, char *err, size_t errsz) {
    int i;
    memset(fs, 0, sizeof *fs);
    fs->npaths = mgx_list_tree(dir, MGX_VOLUME_MAX_DEPTH, MGX_MAX_VOLUME_SLICES, &fs->paths, NULL, 0, err, errsz);
    if (fs->npaths < 0) { fs->npaths = 0; return -1; }
    fs->sl = (slice_info *)MGX_MALLOC(((size_t)fs->npaths + 1) * sizeof *fs->sl);
    if (!fs->sl) return mgx_errf(err, errsz, "volume: out of memory");
    for (i = 0; i < fs->npaths; i++) {
        mgx_dicom d;
        slice_info *s = &fs->sl[fs->ns];
        int r = read_header(fs->paths[i], &d, err, errsz), is_new, k;
        if (r < 0) return -1;
        if (r == 0) continue;
        if (check_grey(&d, fs->paths[i], err, errsz)) { mgx_dicom_free(&d); return -1; }
        if ((k = series_of(fs, &d, &is_new)) < 0) { mgx_dicom_free(&d); return mgx_errf(err, errsz, "volume: out of memory"); }
        memset(s, 0, sizeof *s);
        s->path = i;
        s->series = k;
        s->frames = d.frames;
        s->has_instance = d.has_instance;
        s->instance = d.instance_number;
        s->has_position = d.has_position;
        memcpy(s->position, d.position, sizeof d.position);
        fs->series[k].files++;
        fs->series[k].slices += d.frames;
        fs->ns++;
        if (is_new) {   /* the series keeps this header: only its plain fields are used */
            mgx_dicom *h = &fs->series[k].hdr;
            MGX_FREE(h->frame_position); MGX_FREE(h->tile_col); MGX_FREE(h->tile_row);
            h->frame_position = NULL; h->tile_col = h->tile_row = NULL;
        } else {
            const mgx_dicom *f0 = &fs->series[k].hdr;
            if (d.rows != f0->rows || d.cols != f0->cols) {
                int j = 0;
                while (fs->sl[j].series != k) j++;
                mgx_errf(err, errsz, "volume: %s is %dx%d but %s is %dx%d; all slices of a series must share rows and columns",
                         fs->paths[i], d.cols, d.rows, fs->paths[fs->sl[j].path], f0->cols, f0->rows);
                mgx_dicom_free(&d);
                return -1;
            }
            mgx_dicom_free(&d);
        }
        if (fs->series[k].slices > MGX_MAX_VOLUME_SLICES)
            return mgx_errf(err, errsz, "volume: more than %d slices", MGX_MAX_VOLUME_SLICES);
    }
    if (fs->ns == 0) return mgx_errf(err, errsz, "volume: no DICOM image files in %s", dir);
    return 0;
}

/* Keeps the slices of series k (in path order, ranked), then sorts them into slice order. */
static void order_slices(folder_scan *fs, int k, int *n_out, int *all_pos_out) {
    slice_info *sl = fs->sl;
    const mgx_dicom *first = &fs->series[k].hdr;
    int i, n = 0, all_inst = 1, all_pos = 1;
    for (i = 0; i < fs->ns; i++)
        if (sl[i].series == k) { sl[n] = sl[i]; sl[n].rank = n; n++; }
    for (i = 0; i < n; i++) {
        if (!sl[i].has_instance) all_inst = 0;
        if (!sl[i].has_position) all_pos = 0;
    }
    if (all_inst) {
        qsort(sl, (size_t)n, sizeof *sl, cmp_instance);
        for (i = 1; i < n; i++) if (sl[i].instance == sl[i - 1].instance) all_inst = 0;
    }
    if (!all_inst) {
        if (all_pos) {
            double nrm[3];
            slice_normal(first->orientation, first->has_orientation, nrm);
            for (i = 0; i < n; i++)
                sl[i].key = sl[i].position[0] * nrm[0] + sl[i].position[1] * nrm[1] + sl[i].position[2] * nrm[2];
            qsort(sl, (size_t)n, sizeof *sl, cmp_key);
        } else {
            qsort(sl, (size_t)n, sizeof *sl, cmp_path);
        }
    }
    *n_out = n;
    *all_pos_out = all_pos;
}

/* Pass 2: the pixels of the ordered slices sl[0..n) into v (sizes checked by the caller). */
static int read_slices(const folder_scan *fs, int n, const mgx_dicom *first, size_t nvox, mgx_volume *v, char *err, size_t errsz) {
    int i, z = 0;
    char e2[512];
    for (i = 0; i < n; i++) {
        mgx_dicom d;
        const slice_info *s = &fs->sl[i];
        const char *path = fs->paths[s->path];
        int f;
        if (mgx_dicom_load_file(path, &d, e2, sizeof e2)) return mgx_errf(err, errsz, "volume: %s", e2);
        if (d.rows != first->rows || d.cols != first->cols || d.frames != s->frames || d.samples != 1 ||
            strcmp(d.series_uid, first->series_uid)) {
            mgx_dicom_free(&d);
            return mgx_errf(err, errsz, "volume: %s changed while it was being read", path);
        }
        memcpy(v->vox + (size_t)z * nvox, d.data, (size_t)d.frames * nvox * sizeof(float));
        for (f = 0; f < d.frames; f++) {
            v->source_index[z + f] = s->rank;
            if (!(v->source_path[z + f] = (char *)MGX_MALLOC(strlen(path) + 1))) {
                mgx_dicom_free(&d);
                return mgx_errf(err, errsz, "volume: out of memory");
            }
            memcpy(v->source_path[z + f], path, strlen(path) + 1);
        }
        z += d.frames;
        mgx_dicom_free(&d);
    }
    return 0;
}

static int volume_from_dir(const char *dir, const char *series, mgx_volume *v, char *err, size_t errsz) {
    folder_scan fs;
    const mgx_dicom *first;
    size_t nvox, total, i, largest = 0;
    double *pos = NULL;
    char what[160];
    int k, n, all_pos, rc = -1;
    if (scan_folder(dir, &fs, err, errsz) || (k = pick_series(dir, series, fs.series, fs.nseries, err, errsz)) < 0) goto done;
    first = &fs.series[k].hdr;
    order_slices(&fs, k, &n, &all_pos);
    total = (size_t)fs.series[k].slices;
    nvox = (size_t)first->rows * (size_t)first->cols;
    for (i = 0; i < (size_t)n; i++) if ((size_t)fs.sl[i].frames > largest) largest = (size_t)fs.sl[i].frames;
    if (nvox > MGX_MAX_VOLUME_VOXELS / total) {
        mgx_errf(err, errsz, "volume: %lu slices of %dx%d exceed the voxel limit", (unsigned long)total, first->cols, first->rows);
        goto done;
    }
    snprintf(what, sizeof what, "volume: %lu slices of %d x %d", (unsigned long)total, first->cols, first->rows);
    if (mgx_check_claim((uint64_t)(total + largest) * nvox * sizeof(float), what, err, errsz)) goto done;
    v->vox = (float *)MGX_MALLOC(total * nvox * sizeof(float));
    v->source_index = (int *)MGX_MALLOC(total * sizeof(int));
    v->source_path = (char **)MGX_MALLOC(total * sizeof(char *));
    if (!v->vox || !v->source_index || !v->source_path) {
        mgx_errf(err, errsz, "volume: out of memory for %lu voxels", (unsigned long)(total * nvox));
        goto done;
    }
    memset(v->source_path, 0, total * sizeof(char *));
    v->d = (int)total;                     /* the slices mgx_volume_free releases */
    if (read_slices(&fs, n, first, nvox, v, err, errsz)) goto done;
    v->w = first->cols; v->h = first->rows; v->nvolumes = 1;
    copy_header_facts(v, first);
    if (all_pos && total == (size_t)n) {
        pos = (double *)MGX_MALLOC((size_t)n * 3 * sizeof(double));
        if (!pos) { mgx_errf(err, errsz, "volume: out of memory"); goto done; }
        for (i = 0; i < (size_t)n; i++) memcpy(pos + i * 3, fs.sl[i].position, 3 * sizeof(double));
    }
    set_geometry(v, pos, n, first->orientation, first->has_orientation, first->spacing, first->slice_spacing, first->thickness);
    rc = 0;
done:
    if (rc) mgx_volume_free(v);
    MGX_FREE(pos);
    scan_free(&fs);
    return rc;
}

/* ---- entry points --------------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix), i;
    if (b > a) return 0;
    for (i = 0; i < b; i++) {
        char c = s[a - b + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suffix[i]) return 0;
    }
    return 1;
}

/* A NIfTI file holds one series: a selector other than "1" is an error. */
static int nifti_volume(const char *path, const char *series, int volume, mgx_volume *v, char *err, size_t errsz) {
    if (series && strcmp(series, "1"))
        return mgx_errf(err, errsz, "volume: no series \"%s\" in %s, a NIfTI file (one series, number 1)", series, path);
    return mgx_nifti_load_file_ex(path, volume, v, err, errsz);
}

int mgx_volume_load_ex(const char *path, const mgx_volume_options *opt, mgx_volume *v, char *err, size_t errsz) {
    struct stat sb;
    const char *series = opt ? opt->series : NULL;
    int volume = opt ? opt->volume : 0, is_nifti;
    unsigned char head[348];
    size_t n = 0;
    if (!v) return mgx_errf(err, errsz, "volume: no output structure");
    memset(v, 0, sizeof *v);
    if (!path) return mgx_errf(err, errsz, "volume: no path");
    if (stat(path, &sb) != 0) return mgx_errf(err, errsz, "volume: cannot open %s", path);
    if (S_ISDIR(sb.st_mode)) {
        if (volume) return mgx_errf(err, errsz, "volume: volume %d asked for, but %s is a DICOM folder (volumes are for 4D NIfTI files)", volume, path);
        return volume_from_dir(path, series, v, err, errsz);
    }
    if (ends_with(path, ".nii") || ends_with(path, ".nii.gz") || ends_with(path, ".hdr") || ends_with(path, ".img"))
        return nifti_volume(path, series, volume, v, err, errsz);
    /* sniff: a NIfTI-1 header (either byte order) or gzip goes to the NIfTI reader, the rest to DICOM */
    if (mgx_read_head(path, sizeof head, head, &n, err, errsz)) return -1;
    is_nifti = (n >= 2 && head[0] == 0x1F && head[1] == 0x8B) ||
               (n >= 348 && ((head[0] == 0x5C && head[1] == 1 && head[2] == 0 && head[3] == 0) ||
                             (head[0] == 0 && head[1] == 0 && head[2] == 1 && head[3] == 0x5C)));
    if (is_nifti) return nifti_volume(path, series, volume, v, err, errsz);
    if (!mgx_dicom_probe(head, n))
        return mgx_errf(err, errsz, "volume: %s is neither a directory, a NIfTI file nor a DICOM file", path);
    if (volume) return mgx_errf(err, errsz, "volume: volume %d asked for, but %s is a DICOM file (volumes are for 4D NIfTI files)", volume, path);
    return volume_from_dicom(path, series, v, err, errsz);
}

int mgx_volume_load(const char *path, mgx_volume *v, char *err, size_t errsz) {
    return mgx_volume_load_ex(path, NULL, v, err, errsz);
}
