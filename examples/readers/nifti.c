/* nifti.c — NIfTI-1 single-file reader (.nii, .nii.gz) for the medgemma.h examples.

   Written from the NIfTI-1 header definition (nifti1.h of the NIfTI Data Format Working Group). The 348-byte
   header (offsets used below):
      0 sizeof_hdr int32 (348; tells the byte order)   40 dim[8] int16      70 datatype int16
     72 bitpix int16     76 pixdim[8] float             108 vox_offset float  112 scl_slope float
    116 scl_inter float  123 xyzt_units char            252 qform_code int16  254 sform_code int16
    256 quatern_b,c,d, qoffset_x,y,z float              280 srow_x[4], srow_y[4], srow_z[4] float
    344 magic "n+1\0" (single file) / "ni1\0" (header + image pair)
   Output voxel order is the raw storage order: x = i, y = j, z = k (see mgx_medical.h). */
#include "mgx_medical.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static uint16_t n_rd16(const unsigned char *p, int big) {
    return big ? (uint16_t)((p[0] << 8) | p[1]) : (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t n_rd32(const unsigned char *p, int big) {
    return big ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
               : ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static uint64_t n_rd64(const unsigned char *p, int big) {
    uint64_t hi = n_rd32(p + (big ? 0 : 4), big), lo = n_rd32(p + (big ? 4 : 0), big);
    return (hi << 32) | lo;
}
static float n_rdf32(const unsigned char *p, int big) {
    uint32_t u = n_rd32(p, big);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static double n_rdf64(const unsigned char *p, int big) {
    uint64_t u = n_rd64(p, big);
    double f;
    memcpy(&f, &u, 8);
    return f;
}

void mgx_volume_free(mgx_volume *v) {
    int i;
    if (!v) return;
    MGX_FREE(v->vox);
    if (v->source_path) for (i = 0; i < v->d; i++) MGX_FREE(v->source_path[i]);
    MGX_FREE(v->source_path);
    MGX_FREE(v->source_index);
    memset(v, 0, sizeof *v);
}

static const char *dtype_name(int t) {
    switch (t) {
    case 1: return "binary (1 bit)";
    case 32: return "complex64";
    case 128: return "RGB24";
    case 1024: return "int64";
    case 1280: return "uint64";
    case 1536: return "float128";
    case 1792: return "complex128";
    case 2048: return "complex256";
    case 2304: return "RGBA32";
    default: return "unknown";
    }
}

/* What the 348-byte header says. */
typedef struct {
    int big, dtype, vsize, nvolumes;
    long dim[8];
    double pix[8], slope, inter, unit;
    size_t off;               /* vox_offset */
    uint64_t nvox;            /* voxels of one 3D volume */
    uint64_t vol_bytes;       /* bytes of one 3D volume */
} nifti_hdr;

/* Reads and checks the header from its 348 bytes; the file size is checked by the caller. */
static int parse_header(const unsigned char *p, nifti_hdr *h, char *err, size_t errsz) {
    int i, ndim;
    double off_f, nv = 1;
    memset(h, 0, sizeof *h);
    if (n_rd32(p, 0) == 348) h->big = 0;
    else if (n_rd32(p, 1) == 348) h->big = 1;
    else if (n_rd32(p, 0) == 540 || n_rd32(p, 1) == 540) return mgx_errf(err, errsz, "NIfTI: NIfTI-2 files are not supported");
    else return mgx_errf(err, errsz, "NIfTI: not a NIfTI-1 file (sizeof_hdr is not 348)");
    if (!memcmp(p + 344, "ni1", 4))
        return mgx_errf(err, errsz, "NIfTI: this is the header of a .hdr/.img pair; only single-file .nii is supported");
    if (memcmp(p + 344, "n+1", 4))
        return mgx_errf(err, errsz, "NIfTI: no \"n+1\" magic (ANALYZE 7.5 or a damaged header)");
    ndim = (int16_t)n_rd16(p + 40, h->big);
    if (ndim < 1 || ndim > 7) return mgx_errf(err, errsz, "NIfTI: dim[0] = %d, must be 1..7", ndim);
    for (i = 1; i < 8; i++) {
        h->dim[i] = i <= ndim ? (int16_t)n_rd16(p + 40 + 2 * i, h->big) : 1;
        if (h->dim[i] < 1) return mgx_errf(err, errsz, "NIfTI: dim[%d] = %ld, must be at least 1", i, h->dim[i]);
    }
    for (i = 0; i < 8; i++) h->pix[i] = n_rdf32(p + 76 + 4 * i, h->big);
    h->dtype = (int16_t)n_rd16(p + 70, h->big);
    switch (h->dtype) {
    case 2: case 256: h->vsize = 1; break;          /* uint8, int8 */
    case 4: case 512: h->vsize = 2; break;          /* int16, uint16 */
    case 8: case 768: case 16: h->vsize = 4; break; /* int32, uint32, float32 */
    case 64: h->vsize = 8; break;                   /* float64 */
    default: return mgx_errf(err, errsz, "NIfTI: datatype %d (%s) is not supported", h->dtype, dtype_name(h->dtype));
    }
    off_f = n_rdf32(p + 108, h->big);
    if (!isfinite(off_f) || off_f < 348 || off_f > 2147483647.0 || off_f != floor(off_f))
        return mgx_errf(err, errsz, "NIfTI: vox_offset %g is invalid", off_f);
    h->off = (size_t)off_f;
    h->nvox = (uint64_t)h->dim[1] * (uint64_t)h->dim[2] * (uint64_t)h->dim[3];   /* < 2^45 */
    if (h->nvox > (uint64_t)MGX_MAX_VOLUME_VOXELS)
        return mgx_errf(err, errsz, "NIfTI: %ld x %ld x %ld voxels exceed the limit of %llu", h->dim[1], h->dim[2], h->dim[3],
                        (unsigned long long)MGX_MAX_VOLUME_VOXELS);
    h->vol_bytes = h->nvox * (uint64_t)h->vsize;
    for (i = 4; i <= 7; i++) nv *= (double)h->dim[i];
    h->nvolumes = nv > 2147483647.0 ? 2147483647 : (int)nv;
    h->slope = n_rdf32(p + 112, h->big);
    h->inter = n_rdf32(p + 116, h->big);
    if (!isfinite(h->slope) || h->slope == 0) { h->slope = 1; h->inter = 0; }  /* slope 0: no scaling (nifti1.h) */
    if (!isfinite(h->inter)) h->inter = 0;
    h->unit = 1.0;
    if ((p[123] & 7) == 1) h->unit = 1000.0;        /* metres */
    else if ((p[123] & 7) == 3) h->unit = 0.001;    /* micrometres */
    return 0;
}

/* Spacing and the voxel-to-world affine: sform (method 3), else qform (method 2), else pixdim (method 1). */
static void set_geometry(const unsigned char *p, const nifti_hdr *h, mgx_volume *v) {
    int i, qform = (int16_t)n_rd16(p + 252, h->big), sform = (int16_t)n_rd16(p + 254, h->big), big = h->big;
    double unit = h->unit;
    const double *pix = h->pix;
    for (i = 0; i < 3; i++) {
        double s = fabs(pix[i + 1]) * unit;
        v->spacing[i] = (isfinite(s) && s > 0) ? s : 0;
    }
    if (sform > 0) {
        for (i = 0; i < 12; i++) v->affine[i / 4][i % 4] = n_rdf32(p + 280 + 4 * i, big) * unit;
    } else if (qform > 0) {
        double b = n_rdf32(p + 256, big), c = n_rdf32(p + 260, big), d = n_rdf32(p + 264, big), a;
        double qfac = pix[0] < 0 ? -1.0 : 1.0, s[3], R[3][3];
        a = 1.0 - (b * b + c * c + d * d);
        if (a < 1e-7) {  /* 180-degree rotation: renormalise b, c, d */
            double q = sqrt(b * b + c * c + d * d);
            if (q > 0) { b /= q; c /= q; d /= q; }
            a = 0;
        } else a = sqrt(a);
        R[0][0] = a * a + b * b - c * c - d * d; R[0][1] = 2 * (b * c - a * d); R[0][2] = 2 * (b * d + a * c);
        R[1][0] = 2 * (b * c + a * d); R[1][1] = a * a + c * c - b * b - d * d; R[1][2] = 2 * (c * d - a * b);
        R[2][0] = 2 * (b * d - a * c); R[2][1] = 2 * (c * d + a * b); R[2][2] = a * a + d * d - c * c - b * b;
        s[0] = pix[1]; s[1] = pix[2]; s[2] = qfac * pix[3];
        for (i = 0; i < 3; i++) {
            int j;
            for (j = 0; j < 3; j++) v->affine[i][j] = R[i][j] * s[j] * unit;
            v->affine[i][3] = n_rdf32(p + 268 + 4 * i, big) * unit;
        }
    } else {
        for (i = 0; i < 3; i++) v->affine[i][i] = pix[i + 1] * unit;
    }
    v->has_affine = 1;
    for (i = 0; i < 12; i++) if (!isfinite(v->affine[i / 4][i % 4])) v->has_affine = 0;
    if (!v->has_affine) memset(v->affine, 0, sizeof v->affine);
}

/* One stored voxel, scaled; NaN, inf and values outside float range become 0. */
static float voxel_value(const unsigned char *q, const nifti_hdr *h) {
    double x;
    switch (h->dtype) {
    case 2: x = q[0]; break;
    case 256: x = (signed char)q[0]; break;
    case 4: x = (int16_t)n_rd16(q, h->big); break;
    case 512: x = n_rd16(q, h->big); break;
    case 8: x = (int32_t)n_rd32(q, h->big); break;
    case 768: x = n_rd32(q, h->big); break;
    case 16: x = n_rdf32(q, h->big); break;
    default: x = n_rdf64(q, h->big); break;
    }
    x = x * h->slope + h->inter;
    if (!isfinite(x) || x > 3.4e38 || x < -3.4e38) x = 0;
    return (float)x;
}

/* Converts nvox voxels at src into floats at dst (bytes, any alignment). src and dst may be the same place:
   voxels narrower than a float are converted from the last one back, wider ones from the first on, so no
   voxel is overwritten before it is read. */
static void convert_voxels(const unsigned char *src, unsigned char *dst, const nifti_hdr *h) {
    size_t k, n = (size_t)h->nvox, vs = (size_t)h->vsize;
    if (vs < 4) {
        for (k = n; k-- > 0;) { float f = voxel_value(src + k * vs, h); memcpy(dst + k * 4, &f, 4); }
    } else {
        for (k = 0; k < n; k++) { float f = voxel_value(src + k * vs, h); memcpy(dst + k * 4, &f, 4); }
    }
}

/* The header facts of volume t into v (no voxels yet). */
static int start_volume(const unsigned char *p, const nifti_hdr *h, int t, mgx_volume *v, char *err, size_t errsz) {
    int i;
    if (t < 0 || t >= h->nvolumes)
        return mgx_errf(err, errsz, "NIfTI: volume %d asked for, the file holds %d (0..%d)", t, h->nvolumes, h->nvolumes - 1);
    memset(v, 0, sizeof *v);
    v->w = (int)h->dim[1]; v->h = (int)h->dim[2]; v->d = (int)h->dim[3];
    v->nvolumes = h->nvolumes;
    v->volume = t;
    set_geometry(p, h, v);
    v->source_index = (int *)MGX_MALLOC((size_t)v->d * sizeof(int));
    if (!v->source_index) return mgx_errf(err, errsz, "NIfTI: out of memory");
    for (i = 0; i < v->d; i++) v->source_index[i] = i;
    return 0;
}

/* The memory check: `bytes` for volume t of this header. */
static int claim(const nifti_hdr *h, uint64_t bytes, char *err, size_t errsz) {
    char what[160];
    snprintf(what, sizeof what, "NIfTI: %ld x %ld x %ld voxels of %d bytes", h->dim[1], h->dim[2], h->dim[3], h->vsize);
    return mgx_check_claim(bytes, what, err, errsz);
}

/* Uncompressed file in memory: volume t converted into a new float array. */
static int load_plain(const unsigned char *p, size_t n, int t, mgx_volume *v, char *err, size_t errsz) {
    nifti_hdr h;
    uint64_t start;
    if (n < 348) return mgx_errf(err, errsz, "NIfTI: file too short for a header (%lu bytes)", (unsigned long)n);
    if (parse_header(p, &h, err, errsz)) return -1;
    if (h.off > n) return mgx_errf(err, errsz, "NIfTI: vox_offset %lu is beyond the end of the %lu-byte file", (unsigned long)h.off, (unsigned long)n);
    start = (uint64_t)h.off + (uint64_t)(t > 0 ? t : 0) * h.vol_bytes;
    if (t >= 0 && t < h.nvolumes && (start > n || h.vol_bytes > n - start))
        return mgx_errf(err, errsz, "NIfTI: volume %d needs %llu bytes after offset %llu; the file has %llu", t,
                        (unsigned long long)h.vol_bytes, (unsigned long long)start,
                        (unsigned long long)(start > n ? 0 : n - start));
    if (claim(&h, h.nvox * 4, err, errsz) || start_volume(p, &h, t, v, err, errsz)) return -1;
    v->vox = (float *)MGX_MALLOC((size_t)h.nvox * sizeof(float));
    if (!v->vox) {
        mgx_volume_free(v);
        return mgx_errf(err, errsz, "NIfTI: out of memory for %llu voxels", (unsigned long long)h.nvox);
    }
    convert_voxels(p + start, (unsigned char *)v->vox, &h);
    return 0;
}

/* gzip'd file: the header from the first 348 inflated bytes, then inflation up to the end of volume t only
   (and, for the last volume, the stream's end, whose CRC-32 is checked), converted in place. */
static int load_gz(const unsigned char *p, size_t n, int t, mgx_volume *v, char *err, size_t errsz) {
    nifti_hdr h;
    char e2[200];
    const unsigned char *q;
    unsigned char *buf;
    uint64_t start, need, peak;
    size_t have;
    int done;
    mgx_inflater *z = mgx_inflate_begin(p, n, MGX_INFLATE_GZIP, MGX_MAX_MEDICAL_FILE_BYTES, e2, sizeof e2);
    if (!z || mgx_inflate_more(z, 348, e2, sizeof e2)) {
        mgx_inflate_end(z);
        return mgx_errf(err, errsz, "NIfTI: gzip: %s", e2);
    }
    q = mgx_inflate_data(z, &have, &done);
    if (have < 348) { mgx_inflate_end(z); return mgx_errf(err, errsz, "NIfTI: file too short for a header (%lu bytes)", (unsigned long)have); }
    if (parse_header(q, &h, err, errsz) || start_volume(q, &h, t, v, err, errsz)) { mgx_inflate_end(z); return -1; }
    start = (uint64_t)h.off + (uint64_t)t * h.vol_bytes;
    need = start + h.vol_bytes;
    peak = need > start + h.nvox * 4 ? need : start + h.nvox * 4;
    if (claim(&h, peak, err, errsz)) { mgx_inflate_end(z); mgx_volume_free(v); return -1; }
    if (mgx_inflate_more(z, (size_t)need + (t == h.nvolumes - 1), e2, sizeof e2)) {
        mgx_inflate_end(z);
        mgx_volume_free(v);
        return mgx_errf(err, errsz, "NIfTI: gzip: %s", e2);
    }
    mgx_inflate_data(z, &have, &done);
    if (have != need) {
        mgx_inflate_end(z);
        mgx_volume_free(v);
        if (have > need)
            return mgx_errf(err, errsz, "NIfTI: the gzip stream holds more than the %llu bytes the header implies",
                            (unsigned long long)need);
        return mgx_errf(err, errsz, "NIfTI: volume %d needs %llu bytes after offset %llu; the file has %llu", t,
                        (unsigned long long)h.vol_bytes, (unsigned long long)start,
                        (unsigned long long)(have > start ? have - start : 0));
    }
    buf = mgx_inflate_take(z, &have);
    mgx_inflate_end(z);
    if (buf && peak > need) {
        unsigned char *b2 = (unsigned char *)MGX_REALLOC(buf, (size_t)peak);
        if (!b2) MGX_FREE(buf);
        buf = b2;
    }
    if (!buf) { mgx_volume_free(v); return mgx_errf(err, errsz, "NIfTI: out of memory for %llu voxels", (unsigned long long)h.nvox); }
    convert_voxels(buf + start, buf + start, &h);
    memmove(buf, buf + start, (size_t)h.nvox * 4);
    v->vox = (float *)MGX_REALLOC(buf, (size_t)h.nvox * 4);   /* nvox >= 1 */
    if (!v->vox) v->vox = (float *)buf;   /* shrinking failed: keep the larger block */
    return 0;
}

int mgx_nifti_load_mem_ex(const void *data, size_t n, int volume, mgx_volume *v, char *err, size_t errsz) {
    const unsigned char *p = (const unsigned char *)data;
    if (!v) return mgx_errf(err, errsz, "NIfTI: no output structure");
    memset(v, 0, sizeof *v);
    if (!p) return mgx_errf(err, errsz, "NIfTI: no data");
    if (n >= 2 && p[0] == 0x1F && p[1] == 0x8B) return load_gz(p, n, volume, v, err, errsz);
    return load_plain(p, n, volume, v, err, errsz);
}

int mgx_nifti_load_mem(const void *data, size_t n, mgx_volume *v, char *err, size_t errsz) {
    return mgx_nifti_load_mem_ex(data, n, 0, v, err, errsz);
}

int mgx_nifti_load_file_ex(const char *path, int volume, mgx_volume *v, char *err, size_t errsz) {
    unsigned char *buf = NULL;
    size_t n = 0;
    int rc;
    if (!v) return mgx_errf(err, errsz, "NIfTI: no output structure");
    memset(v, 0, sizeof *v);
    if (!path) return mgx_errf(err, errsz, "NIfTI: no path");
    {
        size_t L = strlen(path);
        if (L >= 4 && (!strcmp(path + L - 4, ".hdr") || !strcmp(path + L - 4, ".img")))
            return mgx_errf(err, errsz, "NIfTI: %s: .hdr/.img pairs are not supported; convert to a single .nii", path);
    }
    if (mgx_read_file(path, MGX_MAX_MEDICAL_FILE_BYTES, &buf, &n, err, errsz)) return -1;
    rc = mgx_nifti_load_mem_ex(buf, n, volume, v, err, errsz);
    MGX_FREE(buf);
    return rc;
}

int mgx_nifti_load_file(const char *path, mgx_volume *v, char *err, size_t errsz) {
    return mgx_nifti_load_file_ex(path, 0, v, err, errsz);
}
