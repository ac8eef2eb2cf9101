/* volume.c — CT / MRI volume loader for the medgemma.h examples (see mgx_medical.h).

   mgx_volume_load(path):
     directory   every regular, non-hidden file in it that looks like DICOM is read (files without pixel
                 data, e.g. DICOMDIR or structured reports, are skipped); they form one series whose slices
                 must all share Rows/Columns. Order: InstanceNumber when every file has one and no two are
                 equal; else ImagePositionPatient projected on the slice normal (the cross product of the
                 ImageOrientationPatient row and column directions; plain z without an orientation);
                 else file-name order. Ties keep file-name order.
     .nii/.nii.gz  mgx_nifti_load_file (slices along the third axis).
     other file  one DICOM object; its frames are the slices, in frame order.
   Values are modality units (slope/intercept applied: Hounsfield units for CT).
   source_index: for a folder, the index of each slice's file among the folder's DICOM image files in
   file-name order; for one DICOM object, the frame number; for NIfTI, k. */
#include "mgx_medical.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#endif

/* ---- directory listing ---------------------------------------------------------------------- */

typedef struct {
    char **names;
    size_t n, cap;
} name_list;

static void names_free(name_list *l) {
    size_t i;
    for (i = 0; i < l->n; i++) MGX_FREE(l->names[i]);
    MGX_FREE(l->names);
    l->names = NULL; l->n = l->cap = 0;
}

static int names_add(name_list *l, const char *s) {
    char *c;
    size_t len = strlen(s);
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        char **nn = (char **)MGX_REALLOC(l->names, nc * sizeof(char *));
        if (!nn) return -1;
        l->names = nn; l->cap = nc;
    }
    c = (char *)MGX_MALLOC(len + 1);
    if (!c) return -1;
    memcpy(c, s, len + 1);
    l->names[l->n++] = c;
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_path(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *s = (char *)MGX_MALLOC(a + b + 2);
    if (!s) return NULL;
    memcpy(s, dir, a);
    if (a && dir[a - 1] != '/' && dir[a - 1] != '\\') s[a++] = '/';
    memcpy(s + a, name, b + 1);
    return s;
}

/* Lists the non-hidden entries of a directory, sorted by name. */
static int list_dir(const char *dir, name_list *out, char *err, size_t errsz) {
#ifdef _WIN32
    WIN32_FIND_DATAA fd;
    HANDLE h;
    char *pat = join_path(dir, "*");
    if (!pat) return mgx_errf(err, errsz, "volume: out of memory");
    h = FindFirstFileA(pat, &fd);
    MGX_FREE(pat);
    if (h == INVALID_HANDLE_VALUE) return mgx_errf(err, errsz, "volume: cannot list directory %s", dir);
    do {
        if (fd.cFileName[0] == '.') continue;
        if (names_add(out, fd.cFileName)) { FindClose(h); names_free(out); return mgx_errf(err, errsz, "volume: out of memory"); }
    } while (FindNextFileA(h, &fd));
    FindClose(h);
#else
    DIR *dp = opendir(dir);
    struct dirent *de;
    if (!dp) return mgx_errf(err, errsz, "volume: cannot open directory %s", dir);
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (names_add(out, de->d_name)) { closedir(dp); names_free(out); return mgx_errf(err, errsz, "volume: out of memory"); }
    }
    closedir(dp);
#endif
    if (out->n > 1) qsort(out->names, out->n, sizeof(char *), cmp_names);
    return 0;
}

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

/* ---- one DICOM object ----------------------------------------------------------------------- */

static int check_grey(const mgx_dicom *d, const char *what, char *err, size_t errsz) {
    if (d->samples != 1)
        return mgx_errf(err, errsz, "volume: %s is colour (%s, %d samples per pixel); a CT/MR volume needs grey images",
                        what, d->photometric, d->samples);
    return 0;
}

static int volume_from_dicom(const char *path, mgx_volume *v, char *err, size_t errsz) {
    mgx_dicom d;
    size_t nvox;
    int f;
    if (mgx_dicom_load_file(path, &d, err, errsz)) return -1;
    if (check_grey(&d, path, err, errsz)) { mgx_dicom_free(&d); return -1; }
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
    memcpy(v->modality, d.modality, sizeof v->modality);
    if (d.has_window) { v->window_center = d.window_center; v->window_width = d.window_width; v->has_window = 1; }
    if (d.frame_position)
        set_geometry(v, d.frame_position, d.frames, d.orientation, d.has_orientation, d.spacing, d.slice_spacing, d.thickness);
    else
        set_geometry(v, d.has_position && d.frames == 1 ? d.position : NULL, 1, d.orientation, d.has_orientation, d.spacing,
                     d.slice_spacing, d.thickness);
    mgx_dicom_free(&d);
    return 0;
}

/* ---- a directory of DICOM files ------------------------------------------------------------- */

/* Reads only the first 132 bytes to tell whether a file can be DICOM (big non-DICOM files are not read). */
static int looks_dicom(const char *path) {
    unsigned char head[132];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (!f) return 1;  /* let the full read report the problem */
    n = fread(head, 1, sizeof head, f);
    fclose(f);
    return mgx_dicom_probe(head, n);
}

typedef struct {
    size_t name;            /* index into the name list */
    int rank;               /* index among the folder's DICOM image files in file-name order */
    int frames, has_instance, instance, has_position;
    double position[3], key;
} slice_info;

static int cmp_instance(const void *a, const void *b) {
    const slice_info *x = (const slice_info *)a, *y = (const slice_info *)b;
    if (x->instance != y->instance) return x->instance < y->instance ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

static int cmp_key(const void *a, const void *b) {
    const slice_info *x = (const slice_info *)a, *y = (const slice_info *)b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

static int cmp_name_idx(const void *a, const void *b) {
    const slice_info *x = (const slice_info *)a, *y = (const slice_info *)b;
    return x->name < y->name ? -1 : x->name > y->name;
}

static int volume_from_dir(const char *dir, mgx_volume *v, char *err, size_t errsz) {
    name_list names;
    slice_info *sl = NULL;
    size_t ns = 0, i, total = 0, nvox = 0;
    mgx_dicom first;
    int have_first = 0, rc = -1, all_inst = 1, all_pos = 1, z;
    double *pos = NULL;
    char e2[512];

    memset(&names, 0, sizeof names);
    memset(&first, 0, sizeof first);
    if (list_dir(dir, &names, err, errsz)) return -1;
    sl = (slice_info *)MGX_MALLOC((names.n ? names.n : 1) * sizeof(slice_info));
    if (sl) memset(sl, 0, (names.n ? names.n : 1) * sizeof(slice_info));
    if (!sl) { names_free(&names); return mgx_errf(err, errsz, "volume: out of memory"); }

    /* pass 1: headers */
    for (i = 0; i < names.n; i++) {
        char *path;
        unsigned char *buf = NULL;
        size_t n = 0;
        struct stat sb;
        mgx_dicom d;
        int keep = 0;
        if (!strcmp(names.names[i], "DICOMDIR")) continue;
        path = join_path(dir, names.names[i]);
        if (!path) { mgx_errf(err, errsz, "volume: out of memory"); goto done; }
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || !looks_dicom(path)) { MGX_FREE(path); continue; }
        if (mgx_read_file(path, MGX_MAX_MEDICAL_FILE_BYTES, &buf, &n, e2, sizeof e2)) {
            mgx_errf(err, errsz, "volume: %s", e2);
            MGX_FREE(path);
            goto done;
        }
        if (!mgx_dicom_probe(buf, n)) { MGX_FREE(buf); MGX_FREE(path); continue; }
        if (mgx_dicom_load_mem_ex(buf, n, &d, MGX_DICOM_HEADER_ONLY, e2, sizeof e2)) {
            int part10 = n >= 132 && !memcmp(buf + 128, "DICM", 4);
            MGX_FREE(buf);
            /* objects without an image (DICOMDIR, SR, presentation states...) are not slices, and a file
               without the Part 10 header that does not parse is most likely not DICOM at all */
            if (strstr(e2, "no pixel data") || !part10) { MGX_FREE(path); continue; }
            mgx_errf(err, errsz, "volume: %s: %s", path, e2);
            MGX_FREE(path);
            goto done;
        }
        MGX_FREE(buf);
        if (check_grey(&d, path, err, errsz)) { MGX_FREE(path); mgx_dicom_free(&d); goto done; }
        if (!have_first) {
            first = d;  /* keeps the header facts of the first file (data is NULL) */
            have_first = 1;
            keep = 1;
        } else {
            if (d.rows != first.rows || d.cols != first.cols) {
                mgx_errf(err, errsz, "volume: %s is %dx%d but %s is %dx%d; all slices must share rows and columns", path,
                         d.cols, d.rows, names.names[sl[0].name], first.cols, first.rows);
                MGX_FREE(path);
                mgx_dicom_free(&d);
                goto done;
            }
        }
        sl[ns].name = i;
        sl[ns].rank = (int)ns;
        sl[ns].frames = d.frames;
        sl[ns].has_instance = d.has_instance;
        sl[ns].instance = d.instance_number;
        sl[ns].has_position = d.has_position;
        memcpy(sl[ns].position, d.position, sizeof d.position);
        if (!d.has_instance) all_inst = 0;
        if (!d.has_position) all_pos = 0;
        total += (size_t)d.frames;
        ns++;
        if (!keep) mgx_dicom_free(&d);
        MGX_FREE(path);
        if (total > MGX_MAX_VOLUME_SLICES) { mgx_errf(err, errsz, "volume: more than %d slices", MGX_MAX_VOLUME_SLICES); goto done; }
    }
    if (ns == 0) { mgx_errf(err, errsz, "volume: no DICOM image files in %s", dir); goto done; }
    nvox = (size_t)first.rows * (size_t)first.cols;
    if (nvox > MGX_MAX_VOLUME_VOXELS / total) { mgx_errf(err, errsz, "volume: %lu slices of %dx%d exceed the voxel limit",
                                                         (unsigned long)total, first.cols, first.rows); goto done; }

    /* order */
    if (all_inst) {
        qsort(sl, ns, sizeof *sl, cmp_instance);
        for (i = 1; i < ns; i++) if (sl[i].instance == sl[i - 1].instance) all_inst = 0;
    }
    if (!all_inst) {
        if (all_pos) {
            double nrm[3];
            slice_normal(first.orientation, first.has_orientation, nrm);
            for (i = 0; i < ns; i++)
                sl[i].key = sl[i].position[0] * nrm[0] + sl[i].position[1] * nrm[1] + sl[i].position[2] * nrm[2];
            qsort(sl, ns, sizeof *sl, cmp_key);
        } else {
            qsort(sl, ns, sizeof *sl, cmp_name_idx);
        }
    }

    /* pass 2: pixels */
    v->vox = (float *)MGX_MALLOC(total * nvox * sizeof(float));
    v->source_index = (int *)MGX_MALLOC(total * sizeof(int));
    if (!v->vox || !v->source_index) { mgx_errf(err, errsz, "volume: out of memory for %lu voxels", (unsigned long)(total * nvox)); goto done; }
    z = 0;
    for (i = 0; i < ns; i++) {
        mgx_dicom d;
        char *path = join_path(dir, names.names[sl[i].name]);
        int f;
        if (!path) { mgx_errf(err, errsz, "volume: out of memory"); goto done; }
        if (mgx_dicom_load_file(path, &d, e2, sizeof e2)) {
            mgx_errf(err, errsz, "volume: %s", e2);
            MGX_FREE(path);
            goto done;
        }
        if (d.rows != first.rows || d.cols != first.cols || d.frames != sl[i].frames || d.samples != 1) {
            mgx_errf(err, errsz, "volume: %s changed while it was being read", path);
            MGX_FREE(path);
            mgx_dicom_free(&d);
            goto done;
        }
        memcpy(v->vox + (size_t)z * nvox, d.data, (size_t)d.frames * nvox * sizeof(float));
        for (f = 0; f < d.frames; f++) v->source_index[z + f] = sl[i].rank;
        z += d.frames;
        mgx_dicom_free(&d);
        MGX_FREE(path);
    }
    v->w = first.cols; v->h = first.rows; v->d = (int)total; v->nvolumes = 1;
    memcpy(v->modality, first.modality, sizeof v->modality);
    if (first.has_window) { v->window_center = first.window_center; v->window_width = first.window_width; v->has_window = 1; }
    if (all_pos && total == ns) {
        pos = (double *)MGX_MALLOC(ns * 3 * sizeof(double));
        if (!pos) { mgx_errf(err, errsz, "volume: out of memory"); goto done; }
        for (i = 0; i < ns; i++) memcpy(pos + i * 3, sl[i].position, 3 * sizeof(double));
    }
    set_geometry(v, pos, (int)ns, first.orientation, first.has_orientation, first.spacing, first.slice_spacing, first.thickness);
    rc = 0;
done:
    if (rc) mgx_volume_free(v);
    MGX_FREE(pos);
    MGX_FREE(sl);
    mgx_dicom_free(&first);
    names_free(&names);
    return rc;
}

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

int mgx_volume_load(const char *path, mgx_volume *v, char *err, size_t errsz) {
    struct stat sb;
    if (!v) return mgx_errf(err, errsz, "volume: no output structure");
    memset(v, 0, sizeof *v);
    if (!path) return mgx_errf(err, errsz, "volume: no path");
    if (stat(path, &sb) != 0) return mgx_errf(err, errsz, "volume: cannot open %s", path);
    if (S_ISDIR(sb.st_mode)) return volume_from_dir(path, v, err, errsz);
    if (ends_with(path, ".nii") || ends_with(path, ".nii.gz") || ends_with(path, ".hdr") || ends_with(path, ".img"))
        return mgx_nifti_load_file(path, v, err, errsz);
    {
        /* sniff: a NIfTI-1 header (either byte order) or gzip goes to the NIfTI reader, the rest to DICOM */
        unsigned char *buf = NULL;
        size_t n = 0;
        int is_nifti;
        if (mgx_read_file(path, MGX_MAX_MEDICAL_FILE_BYTES, &buf, &n, err, errsz)) return -1;
        is_nifti = (n >= 2 && buf[0] == 0x1F && buf[1] == 0x8B) ||
                   (n >= 348 && ((buf[0] == 0x5C && buf[1] == 1 && buf[2] == 0 && buf[3] == 0) ||
                                 (buf[0] == 0 && buf[1] == 0 && buf[2] == 1 && buf[3] == 0x5C)));
        if (is_nifti) {
            int rc = mgx_nifti_load_mem(buf, n, v, err, errsz);
            MGX_FREE(buf);
            return rc;
        }
        if (!mgx_dicom_probe(buf, n)) {
            MGX_FREE(buf);
            return mgx_errf(err, errsz, "volume: %s is neither a directory, a NIfTI file nor a DICOM file", path);
        }
        MGX_FREE(buf);
    }
    return volume_from_dicom(path, v, err, errsz);
}
