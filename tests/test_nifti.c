/* test_nifti.c — NIfTI-1 reader (examples/readers/nifti.c) and its use through mgx_volume_load.

   Expected numbers were recorded ONCE with Debian's python3-nibabel (nib.load(...).get_fdata(), which
   applies scl_slope/scl_inter, .affine, .header.get_zooms()), never from this code; see
   tests/data/dicom/make_testdata.py, which wrote the small dt_*.nii files and anatomical.nii.gz (gzip of
   anatomical.nii) and printed these facts. Output layout under test: raw storage order,
   vox[(k*h + j)*w + i] with w = dim[1], h = dim[2]. */
#include "mgx_medical.h"
#include "mgtest.h"
#include "deflate_writer.h"

#include <stdint.h>
#include <unistd.h>

#define ND "tests/data/nifti/"

static char err[1024];

static float at(const mgx_volume *v, int i, int j, int k) { return v->vox[((size_t)k * v->h + j) * v->w + i]; }

static double vsum(const mgx_volume *v) {
    size_t i, n = (size_t)v->w * v->h * v->d;
    double s = 0;
    for (i = 0; i < n; i++) s += v->vox[i];
    return s;
}

static void check_anatomical(const char *what, const mgx_volume *v) {
    /* [nibabel] anatomical.nii: big-endian int16, shape (33,41,25), zooms (2,2,2), sum 284166082, min -610,
       max 30393, v[10,20,12] 10872, v[0,0,0] 10712, v[32,40,24] 2971, v[16,20,12] 11881,
       affine [[-2,0,0,32],[0,2,0,-40],[0,0,2,-16]] */
    size_t i, n = (size_t)v->w * v->h * v->d;
    float mn = v->vox[0], mx = v->vox[0];
    for (i = 1; i < n; i++) { if (v->vox[i] < mn) mn = v->vox[i]; if (v->vox[i] > mx) mx = v->vox[i]; }
    CHECK(v->w == 33 && v->h == 41 && v->d == 25 && v->nvolumes == 1, "%s dims %dx%dx%d", what, v->w, v->h, v->d);
    CHECK(v->spacing[0] == 2 && v->spacing[1] == 2 && v->spacing[2] == 2, "%s spacing", what);
    CHECK(vsum(v) == 284166082.0 && mn == -610 && mx == 30393, "%s sum %f min %g max %g", what, vsum(v), mn, mx);
    CHECK(at(v, 10, 20, 12) == 10872 && at(v, 0, 0, 0) == 10712 && at(v, 32, 40, 24) == 2971 && at(v, 16, 20, 12) == 11881,
          "%s voxel values", what);
    CHECK(v->has_affine && v->affine[0][0] == -2 && v->affine[0][3] == 32 && v->affine[1][1] == 2 && v->affine[1][3] == -40 &&
          v->affine[2][2] == 2 && v->affine[2][3] == -16 && v->affine[0][1] == 0, "%s affine", what);
    CHECK(v->source_index && v->source_index[24] == 24, "%s source index", what);
    CHECK(v->modality[0] == 0, "%s no modality", what);
}

static void test_anatomical(void) {
    mgx_volume v;
    int rc;
    rc = mgx_nifti_load_file(ND "anatomical.nii", &v, err, sizeof err);
    CHECK(rc == 0, "anatomical.nii: %s", err);
    if (!rc) { check_anatomical("anatomical.nii", &v); mgx_volume_free(&v); }
    rc = mgx_nifti_load_file(ND "anatomical.nii.gz", &v, err, sizeof err);
    CHECK(rc == 0, "anatomical.nii.gz: %s", err);
    if (!rc) { check_anatomical("anatomical.nii.gz", &v); mgx_volume_free(&v); }
    rc = mgx_volume_load(ND "anatomical.nii", &v, err, sizeof err);
    CHECK(rc == 0, "volume_load .nii: %s", err);
    if (!rc) { check_anatomical("volume_load .nii", &v); mgx_volume_free(&v); }
    rc = mgx_volume_load(ND "anatomical.nii.gz", &v, err, sizeof err);
    CHECK(rc == 0, "volume_load .nii.gz: %s", err);
    if (!rc) { check_anatomical("volume_load .nii.gz", &v); mgx_volume_free(&v); }
}

typedef struct {
    const char *file;
    int nvol;
    double sum, v121, v000, v301;
} dt_case;

static void test_datatypes(void) {
    /* [nibabel] little-endian files, shape (4,3,2) (+ 3 volumes for u8_4d), first-volume facts:
       sum, v[1,2,1], v[0,0,0], v[3,0,1]. u8_4d has scl_slope 2 / scl_inter -1, u16 0.5 / 10. */
    static const dt_case cases[] = {
        {"dt_u8_4d.nii", 3, 5786.0, 21.0, -1.0, 169.0},
        {"dt_i8.nii", 1, 569.0, -62.0, -128.0, -40.0},
        {"dt_i16.nii", 1, 60353.0, 4324.0, -32768.0, 11939.0},
        {"dt_u16.nii", 1, 361183.5, 9951.5, 10.0, 529.0},
        {"dt_i32.nii", 1, 364310.0, 78060.0, -1900.0, 50470.0},
        {"dt_u32.nii", 1, 1222134.0, 59837.0, 75280.0, 91027.0},
        {"dt_f32.nii", 1, 417.7510099411011, -1342.9407958984375, 2288.05810546875, 668.8197631835938},
        {"dt_f64.nii", 1, -2403.6537283962593, 246.30239323429987, -650.0236335755114, -402.1694091663268},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[256];
        mgx_volume v;
        int rc;
        double tol;
        const dt_case *c = &cases[k];
        snprintf(path, sizeof path, ND "%s", c->file);
        rc = mgx_nifti_load_file(path, &v, err, sizeof err);
        CHECK(rc == 0, "%s: %s", c->file, err);
        if (rc) continue;
        CHECK(v.w == 4 && v.h == 3 && v.d == 2 && v.nvolumes == c->nvol, "%s dims %dx%dx%d nvol %d", c->file, v.w, v.h, v.d, v.nvolumes);
        /* float32 output: values are exact for the integer types, within float rounding for f32/f64 */
        tol = k >= 6 ? 1e-3 * (1 + fabs(c->sum)) : 0;
        CHECK(fabs(vsum(&v) - c->sum) <= tol, "%s sum %.9g expected %.9g", c->file, vsum(&v), c->sum);
        CHECK(at(&v, 1, 2, 1) == (float)c->v121 && at(&v, 0, 0, 0) == (float)c->v000 && at(&v, 3, 0, 1) == (float)c->v301,
              "%s voxels %.9g %.9g %.9g", c->file, at(&v, 1, 2, 1), at(&v, 0, 0, 0), at(&v, 3, 0, 1));
        CHECK(v.spacing[0] == 1.5 && v.spacing[1] == 2 && v.spacing[2] == 3, "%s spacing", c->file);
        if (!strcmp(c->file, "dt_f64.nii")) {
            /* [nibabel] qform only: [[5.13e-08,-2,0,10],[1.5,6.85e-08,0,-20],[0,0,3,5]] */
            CHECK(v.has_affine && fabs(v.affine[0][0]) < 1e-6 && fabs(v.affine[0][1] + 2) < 1e-6 && fabs(v.affine[1][0] - 1.5) < 1e-6 &&
                  fabs(v.affine[2][2] - 3) < 1e-6 && v.affine[0][3] == 10 && v.affine[1][3] == -20 && v.affine[2][3] == 5,
                  "dt_f64 qform affine %g %g %g %g", v.affine[0][0], v.affine[0][1], v.affine[1][0], v.affine[2][2]);
        } else {
            CHECK(v.has_affine && v.affine[0][0] == 1.5 && v.affine[1][1] == 2 && v.affine[2][2] == 3 && v.affine[0][3] == 0,
                  "%s sform affine", c->file);
        }
        mgx_volume_free(&v);
    }
}

static void put_i16(unsigned char *p, int v) { p[0] = (unsigned char)(v & 0xFF); p[1] = (unsigned char)((v >> 8) & 0xFF); }

static void test_rejections(void) {
    size_t n;
    unsigned char *p = (unsigned char *)mgt_read_file(ND "dt_i16.nii", &n), *q;
    mgx_volume v;
    int rc;
    float big = 1e9f;
    if (!p) { CHECK(0, "read dt_i16.nii"); return; }
    q = (unsigned char *)malloc(n);
#define RUN(what, mutate, needle) do { memcpy(q, p, n); mutate; \
        rc = mgx_nifti_load_mem(q, n, &v, err, sizeof err); \
        CHECK(rc == -1 && strstr(err, needle), "%s: rc %d: %s", what, rc, err); \
        if (!rc) mgx_volume_free(&v); } while (0)
    RUN("ni1 pair", memcpy(q + 344, "ni1", 4), "pair");
    RUN("NIfTI-2", (q[0] = 0x1C, q[1] = 0x02), "NIfTI-2");
    RUN("RGB24", put_i16(q + 70, 128), "RGB24");
    RUN("complex", put_i16(q + 70, 32), "not supported");
    RUN("dim0 zero", put_i16(q + 40, 0), "dim[0]");
    RUN("dim0 eight", put_i16(q + 40, 8), "dim[0]");
    RUN("negative dim", put_i16(q + 44, -3), "dim[2]");
    RUN("vox_offset", memcpy(q + 108, &big, 4), "vox_offset");
    RUN("no magic", memset(q + 344, 0, 4), "magic");
    RUN("not nifti", (q[0] = 'x'), "not a NIfTI-1");
    RUN("big dims", (put_i16(q + 42, 32767), put_i16(q + 44, 32767), put_i16(q + 46, 32767)), "exceed");
#undef RUN
    rc = mgx_nifti_load_mem(p, n - 1, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "needs"), "truncated data: %s", err);
    rc = mgx_nifti_load_mem(p, 100, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "too short"), "truncated header: %s", err);
    rc = mgx_nifti_load_file(ND "x.hdr", &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "pairs"), ".hdr refused: %s", err);
    rc = mgx_nifti_load_file(ND "missing.nii", &v, err, sizeof err);
    CHECK(rc == -1 && err[0], "missing file: %s", err);
    free(q);
    free(p);
    p = (unsigned char *)mgt_read_file(ND "anatomical.nii.gz", &n);
    if (p) {
        rc = mgx_nifti_load_mem(p, n / 2, &v, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "gzip"), "truncated gzip: %s", err);
        free(p);
    }
}

static void test_mutations(void) {
    static const char *files[] = {"anatomical.nii", "anatomical.nii.gz", "dt_u8_4d.nii", "dt_i8.nii", "dt_i16.nii",
        "dt_u16.nii", "dt_i32.nii", "dt_u32.nii", "dt_f32.nii", "dt_f64.nii"};
    size_t k;
    uint32_t seed = 777;
    for (k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[256];
        size_t n, cut, step, i;
        unsigned char *p, *q;
        int silent = 0, runs = 0;
        mgx_volume v;
        snprintf(path, sizeof path, ND "%s", files[k]);
        p = (unsigned char *)mgt_read_file(path, &n);
        if (!p) { CHECK(0, "read %s", path); continue; }
        step = n > 4000 ? n / 1500 : 1;
        for (cut = 0; cut < n; cut += step) {
            q = (unsigned char *)malloc(cut ? cut : 1);
            memcpy(q, p, cut);
            err[0] = 0;
            if (mgx_nifti_load_mem(q, cut, &v, err, sizeof err) == 0) mgx_volume_free(&v);
            else if (!err[0]) silent++;
            free(q);
            runs++;
        }
        q = (unsigned char *)malloc(n);
        for (i = 0; i < 400; i++) {
            int j, flips = 1 + (int)(i % 3);
            memcpy(q, p, n);
            for (j = 0; j < flips; j++) {
                seed = seed * 1103515245u + 12345u;
                /* mostly the header, where the interesting fields are */
                q[(i % 2 ? (seed >> 8) % (n < 352 ? n : 352) : (seed >> 8) % n)] ^= (unsigned char)(1u << ((seed >> 4) & 7));
            }
            err[0] = 0;
            if (mgx_nifti_load_mem(q, n, &v, err, sizeof err) == 0) mgx_volume_free(&v);
            else if (!err[0]) silent++;
            runs++;
        }
        free(q);
        CHECK(silent == 0, "%s: %d truncations/flips survived, %d failures without a message", files[k], runs, silent);
        free(p);
    }
}

/* A little-endian 4D int16 file written here: 4 x 3 x 2 voxels x nt volumes, voxel (i,j,k) of volume t =
   1000 t + 100 k + 10 j + i, vox_offset 352. */
static unsigned char *write_4d(int nt, size_t *n) {
    size_t nvox = 24 * (size_t)nt, i;
    unsigned char *p = (unsigned char *)calloc(1, 352 + 2 * nvox);
    static const short dims[8] = {4, 4, 3, 2, 0, 1, 1, 1};
    float one = 1, off = 352;
    int k;
    if (!p) return NULL;
    p[0] = 0x5C; p[1] = 1;                                  /* sizeof_hdr 348 */
    for (k = 0; k < 8; k++) put_i16(p + 40 + 2 * k, k == 4 ? nt : dims[k]);
    put_i16(p + 70, 4);                                     /* int16 */
    put_i16(p + 72, 16);
    for (k = 1; k < 4; k++) memcpy(p + 76 + 4 * k, &one, 4);
    memcpy(p + 108, &off, 4);
    memcpy(p + 344, "n+1", 4);
    for (i = 0; i < nvox; i++) {
        size_t t = i / 24, r = i % 24;
        put_i16(p + 352 + 2 * i, (int)(1000 * t + 100 * (r / 12) + 10 * (r / 4 % 3) + r % 4));
    }
    *n = 352 + 2 * nvox;
    return p;
}

/* gzip of data[0..n) in stored blocks (the tests' writer; CRC-32 by mgx_crc32, checked in test_image). */
static unsigned char *gzip_stored(const unsigned char *data, size_t n, size_t *out_n) {
    dwbuf w;
    memset(&w, 0, sizeof w);
    dw_gzip_header(&w);
    dw_stored(&w, data, n, 1);
    dw_le32(&w, mgx_crc32(0, data, n));
    dw_le32(&w, (uint32_t)n);
    *out_n = w.n;
    return w.oom ? NULL : w.p;
}

static void test_4d(void) {
    size_t n, gn;
    unsigned char *p = write_4d(3, &n), *gz = p ? gzip_stored(p, n, &gn) : NULL;
    mgx_volume v;
    mgx_volume_options o;
    char path[64];
    int t, rc, pass;
    FILE *f;
    CHECK(p && gz, "write the 4D file");
    if (!p || !gz) { free(p); free(gz); return; }
    for (pass = 0; pass < 2; pass++)
        for (t = 0; t < 3; t++) {
            rc = mgx_nifti_load_mem_ex(pass ? gz : p, pass ? gn : n, t, &v, err, sizeof err);
            CHECK(rc == 0 && v.nvolumes == 3 && v.volume == t && v.d == 2 && at(&v, 0, 0, 0) == 1000 * t &&
                  at(&v, 3, 2, 1) == 1000 * t + 123 && vsum(&v) == 24000.0 * t + 24 * 61.5,
                  "%s volume %d: %s", pass ? "gzip" : "plain", t, err);
            if (!rc) mgx_volume_free(&v);
        }
    rc = mgx_nifti_load_mem_ex(p, n, 3, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "volume 3 asked for, the file holds 3 (0..2)"), "volume 3 of 3: %s", err);
    rc = mgx_nifti_load_mem_ex(gz, gn, -1, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "volume -1"), "volume -1: %s", err);
    /* through the volume loader, by file */
    snprintf(path, sizeof path, "/tmp/mgx_test_4d_%d.nii.gz", (int)getpid());
    f = fopen(path, "wb");
    CHECK(f && fwrite(gz, 1, gn, f) == gn && fclose(f) == 0, "write %s", path);
    memset(&o, 0, sizeof o);
    o.volume = 2;
    rc = mgx_volume_load_ex(path, &o, &v, err, sizeof err);
    CHECK(rc == 0 && v.nvolumes == 3 && v.volume == 2 && at(&v, 1, 1, 1) == 2111, "volume_load_ex volume 2: %s", err);
    if (!rc) mgx_volume_free(&v);
    rc = mgx_volume_load(path, &v, err, sizeof err);
    CHECK(rc == 0 && v.nvolumes == 3 && v.volume == 0 && at(&v, 1, 1, 1) == 111, "volume_load: volume 0 of 3: %s", err);
    if (!rc) mgx_volume_free(&v);
    o.series = "2";
    rc = mgx_volume_load_ex(path, &o, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "no series \"2\""), "series 2 of a NIfTI file: %s", err);
    remove(path);
    /* a gzip stream longer than the header implies is refused; a shorter one names both sizes */
    {
        size_t ln, sn;
        unsigned char *longer = (unsigned char *)malloc(n + 2), *gl, *gs;
        memcpy(longer, p, n);
        longer[n] = longer[n + 1] = 0;
        gl = gzip_stored(longer, n + 2, &ln);
        gs = gzip_stored(p, n - 2, &sn);
        rc = gl ? mgx_nifti_load_mem_ex(gl, ln, 2, &v, err, sizeof err) : 0;
        CHECK(rc == -1 && strstr(err, "more than the 496 bytes the header implies"), "longer gzip: %s", err);
        rc = gs ? mgx_nifti_load_mem_ex(gs, sn, 2, &v, err, sizeof err) : 0;
        CHECK(rc == -1 && strstr(err, "volume 2 needs 48 bytes after offset 448; the file has 46"), "shorter gzip: %s", err);
        rc = gs ? mgx_nifti_load_mem_ex(gs, sn, 1, &v, err, sizeof err) : -1;
        CHECK(rc == 0 && at(&v, 3, 2, 1) == 1123, "volume 1 of a stream cut inside volume 2: %s", err);
        if (!rc) mgx_volume_free(&v);
        free(longer); free(gl); free(gs);
    }
    free(p);
    free(gz);
}

int main(void) {
    test_anatomical();
    test_datatypes();
    test_rejections();
    test_mutations();
    test_4d();
    return MG_TEST_END();
}
