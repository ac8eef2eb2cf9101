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
    if (!v) return;
    MGX_FREE(v->vox);
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

/* Parses an uncompressed NIfTI-1 single file held in memory. */
static int nifti_parse(const unsigned char *p, size_t n, mgx_volume *v, char *err, size_t errsz) {
    int big, i, ndim, dtype, vsize;
    long dim[8];
    double pix[8], slope, inter, unit = 1.0, off_f;
    size_t nvox, nbytes, off, k;
    unsigned char units;
    int qform, sform;

    if (n < 348) return mgx_errf(err, errsz, "NIfTI: file too short for a header (%lu bytes)", (unsigned long)n);
    if (n_rd32(p, 0) == 348) big = 0;
    else if (n_rd32(p, 1) == 348) big = 1;
    else if (n_rd32(p, 0) == 540 || n_rd32(p, 1) == 540) return mgx_errf(err, errsz, "NIfTI: NIfTI-2 files are not supported");
    else return mgx_errf(err, errsz, "NIfTI: not a NIfTI-1 file (sizeof_hdr is not 348)");
    if (!memcmp(p + 344, "ni1", 4))
        return mgx_errf(err, errsz, "NIfTI: this is the header of a .hdr/.img pair; only single-file .nii is supported");
    if (memcmp(p + 344, "n+1", 4))
        return mgx_errf(err, errsz, "NIfTI: no \"n+1\" magic (ANALYZE 7.5 or a damaged header)");

    ndim = (int16_t)n_rd16(p + 40, big);
    if (ndim < 1 || ndim > 7) return mgx_errf(err, errsz, "NIfTI: dim[0] = %d, must be 1..7", ndim);
    for (i = 1; i < 8; i++) {
        dim[i] = i <= ndim ? (int16_t)n_rd16(p + 40 + 2 * i, big) : 1;
        if (dim[i] < 1) return mgx_errf(err, errsz, "NIfTI: dim[%d] = %ld, must be at least 1", i, dim[i]);
    }
    for (i = 0; i < 8; i++) pix[i] = n_rdf32(p + 76 + 4 * i, big);
    dtype = (int16_t)n_rd16(p + 70, big);
    switch (dtype) {
    case 2: case 256: vsize = 1; break;        /* uint8, int8 */
    case 4: case 512: vsize = 2; break;        /* int16, uint16 */
    case 8: case 768: case 16: vsize = 4; break; /* int32, uint32, float32 */
    case 64: vsize = 8; break;                 /* float64 */
    default: return mgx_errf(err, errsz, "NIfTI: datatype %d (%s) is not supported", dtype, dtype_name(dtype));
    }
    off_f = n_rdf32(p + 108, big);
    if (!isfinite(off_f) || off_f < 348 || off_f > (double)n || off_f != floor(off_f))
        return mgx_errf(err, errsz, "NIfTI: vox_offset %g is invalid for a %lu-byte file", off_f, (unsigned long)n);
    off = (size_t)off_f;

    nvox = (size_t)dim[1] * (size_t)dim[2];  /* each <= 32767: no overflow */
    if (nvox > MGX_MAX_VOLUME_VOXELS / (size_t)dim[3])
        return mgx_errf(err, errsz, "NIfTI: %ld x %ld x %ld voxels exceed the limit", dim[1], dim[2], dim[3]);
    nvox *= (size_t)dim[3];
    nbytes = nvox * (size_t)vsize;  /* <= 2^34: fits when size_t is 64-bit; checked below otherwise */
    if (nbytes / (size_t)vsize != nvox || nbytes > n - off)
        return mgx_errf(err, errsz, "NIfTI: the first volume needs %lu bytes after offset %lu; the file has %lu",
                        (unsigned long)nvox * (unsigned long)vsize, (unsigned long)off, (unsigned long)(n - off));

    slope = n_rdf32(p + 112, big);
    inter = n_rdf32(p + 116, big);
    if (!isfinite(slope) || slope == 0) { slope = 1; inter = 0; }  /* slope 0: no scaling (nifti1.h) */
    if (!isfinite(inter)) inter = 0;

    memset(v, 0, sizeof *v);
    v->w = (int)dim[1]; v->h = (int)dim[2]; v->d = (int)dim[3];
    {
        double nv = 1;
        for (i = 4; i <= 7; i++) nv *= (double)dim[i];
        v->nvolumes = nv > 2147483647.0 ? 2147483647 : (int)nv;
    }
    units = p[123] & 7;
    if (units == 1) unit = 1000.0;       /* metres */
    else if (units == 3) unit = 0.001;   /* micrometres */
    for (i = 0; i < 3; i++) {
        double s = fabs(pix[i + 1]) * unit;
        v->spacing[i] = (isfinite(s) && s > 0) ? s : 0;
    }

    /* affine: sform (method 3), else qform (method 2), else pixdim (method 1) */
    qform = (int16_t)n_rd16(p + 252, big);
    sform = (int16_t)n_rd16(p + 254, big);
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

    v->vox = (float *)MGX_MALLOC(nvox * sizeof(float));
    v->source_index = (int *)MGX_MALLOC((size_t)v->d * sizeof(int));
    if (!v->vox || !v->source_index) {
        mgx_volume_free(v);
        return mgx_errf(err, errsz, "NIfTI: out of memory for %lu voxels", (unsigned long)nvox);
    }
    for (i = 0; i < v->d; i++) v->source_index[i] = i;
    {
        const unsigned char *q = p + off;
        for (k = 0; k < nvox; k++, q += vsize) {
            double x;
            switch (dtype) {
            case 2: x = q[0]; break;
            case 256: x = (signed char)q[0]; break;
            case 4: x = (int16_t)n_rd16(q, big); break;
            case 512: x = n_rd16(q, big); break;
            case 8: x = (int32_t)n_rd32(q, big); break;
            case 768: x = n_rd32(q, big); break;
            case 16: x = n_rdf32(q, big); break;
            default: x = n_rdf64(q, big); break;
            }
            x = x * slope + inter;
            if (!isfinite(x) || x > 3.4e38 || x < -3.4e38) x = 0;  /* NaN / inf / out of float range -> 0 */
            v->vox[k] = (float)x;
        }
    }
    return 0;
}

int mgx_nifti_load_mem(const void *data, size_t n, mgx_volume *v, char *err, size_t errsz) {
    const unsigned char *p = (const unsigned char *)data;
    int rc;
    if (!v) return mgx_errf(err, errsz, "NIfTI: no output structure");
    memset(v, 0, sizeof *v);
    if (!p) return mgx_errf(err, errsz, "NIfTI: no data");
    if (n >= 2 && p[0] == 0x1F && p[1] == 0x8B) {
        unsigned char *out = NULL;
        size_t out_n = 0;
        char e2[160];
        if (mgx_inflate(p, n, MGX_INFLATE_GZIP, MGX_MAX_MEDICAL_FILE_BYTES, &out, &out_n, e2, sizeof e2))
            return mgx_errf(err, errsz, "NIfTI: gzip: %s", e2);
        rc = nifti_parse(out, out_n, v, err, errsz);
        MGX_FREE(out);
        return rc;
    }
    return nifti_parse(p, n, v, err, errsz);
}

int mgx_nifti_load_file(const char *path, mgx_volume *v, char *err, size_t errsz) {
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
    rc = mgx_nifti_load_mem(buf, n, v, err, errsz);
    MGX_FREE(buf);
    return rc;
}
