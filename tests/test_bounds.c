/* test_bounds.c — issue 15, the readers' side: a file of N bytes costs O(N) work or is refused at once.

   Each case writes its input here (the tests' own DEFLATE, JPEG, PNG, DICOM and NIfTI writers; nothing large is
   committed), runs it through the readers and asserts the return code, the message, and an upper bound on the
   work: the peak of the memory the readers allocated (this program is built with tests/bounds_hooks.h, so every
   MGX_MALLOC/MGX_REALLOC/MGX_FREE comes here) and the work counters (bytes inflated, bytes read from files, JPEG
   block and coefficient steps). No wall-clock time is measured.
   `test_bounds --write DIR` writes the inputs of the cases into DIR instead (measurements); `--seeds DIR` writes
   small inputs of the same shapes into DIR/<fuzz target>/ (tests/corpus). */
#include "mgx_medical.h"
#include "mgx_json.h"
#include "mgtest.h"
#include "deflate_writer.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- counting allocator and work counters ---------------------------------------------------- */

typedef union { size_t n; double d; void *p; long double ld; } tb_head;   /* keeps the block aligned */

#define TB_CEILING ((size_t)3 << 30)   /* a reader that runs away fails here instead of taking the machine */

static size_t tb_cur, tb_peak;
static uint64_t tb_work[3];

void *tb_malloc(size_t n) {
    tb_head *h;
    if (n > TB_CEILING - tb_cur || !(h = (tb_head *)malloc(sizeof *h + n))) return NULL;
    h->n = n;
    tb_cur += n;
    if (tb_cur > tb_peak) tb_peak = tb_cur;
    return h + 1;
}

void *tb_realloc(void *p, size_t n) {
    tb_head *h, *q;
    size_t old;
    if (!p) return tb_malloc(n);
    h = (tb_head *)p - 1;
    old = h->n;
    if (n > old && n - old > TB_CEILING - tb_cur) return NULL;
    if (!(q = (tb_head *)realloc(h, sizeof *h + n))) return NULL;
    q->n = n;
    tb_cur = tb_cur - old + n;
    if (tb_cur > tb_peak) tb_peak = tb_cur;
    return q + 1;
}

void tb_free(void *p) {
    tb_head *h;
    if (!p) return;
    h = (tb_head *)p - 1;
    tb_cur -= h->n;
    free(h);
}

void tb_count(int kind, uint64_t amount) {
    if (kind >= 0 && kind < 3) tb_work[kind] += amount;
}

/* Starts measuring: the peak becomes what is allocated now; the counters restart. */
static void tb_start(void) {
    tb_peak = tb_cur;
    memset(tb_work, 0, sizeof tb_work);
}

static size_t tb_used(void) { return tb_peak; }

#define MB ((size_t)1 << 20)
#define INFLATED tb_work[MGX_COUNT_INFLATED]
#define READ tb_work[MGX_COUNT_FILE_READ]
#define STEPS tb_work[MGX_COUNT_JPEG_STEPS]

static char err[2048];
static const char *out_dir;   /* --write DIR */
static char tmp_dir[64];

/* Writes an input into --write's directory, or into this run's temporary directory (returns its path). */
static const char *save(const char *name, const unsigned char *p, size_t n) {
    static char path[600];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", out_dir ? out_dir : tmp_dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) { printf("FAIL cannot write %s\n", path); return NULL; }
    return path;
}

/* ---- NIfTI ------------------------------------------------------------------------------------- */

static void le16(unsigned char *p, int v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }

/* .nii.gz of a uint8 volume of zeros: the 352-byte header stored, the voxels as one zero run. */
static dwbuf nifti_zeros_gz(int w, int h, int d) {
    unsigned char hdr[352];
    float one = 1, off = 352;
    uint64_t nvox = (uint64_t)w * (uint64_t)h * (uint64_t)d;
    dwbuf b;
    int k;
    memset(hdr, 0, sizeof hdr);
    memset(&b, 0, sizeof b);
    hdr[0] = 0x5C; hdr[1] = 1;
    le16(hdr + 40, 3); le16(hdr + 42, w); le16(hdr + 44, h); le16(hdr + 46, d);
    for (k = 4; k < 8; k++) le16(hdr + 40 + 2 * k, 1);
    le16(hdr + 70, 2); le16(hdr + 72, 8);
    for (k = 1; k < 4; k++) memcpy(hdr + 76 + 4 * k, &one, 4);
    memcpy(hdr + 108, &off, 4);
    memcpy(hdr + 344, "n+1", 4);
    dw_gzip_header(&b);
    dw_stored(&b, hdr, sizeof hdr, 0);
    dw_zeros(&b, nvox, 1);
    dw_align(&b);
    dw_le32(&b, dw_crc32_zeros(mgx_crc32(0, hdr, sizeof hdr), nvox));
    dw_le32(&b, (uint32_t)(sizeof hdr + nvox));
    return b;
}

static void test_nifti_bombs(void) {
    static const int shapes[2][3] = {{2048, 1024, 1023}, {16384, 16384, 7}};
    mgx_volume v;
    int k, rc;
    for (k = 0; k < 2; k++) {
        dwbuf b = nifti_zeros_gz(shapes[k][0], shapes[k][1], shapes[k][2]);
        const char *path = save(k ? "nifti_16384x16384x7.nii.gz" : "nifti_2048x1024x1023.nii.gz", b.p, b.n);
        char want[96];
        if (out_dir || !path) { free(b.p); continue; }
        tb_start();
        rc = mgx_volume_load(path, &v, err, sizeof err);
        snprintf(want, sizeof want, "NIfTI: %d x %d x %d voxels of 1 bytes needs", shapes[k][0], shapes[k][1], shapes[k][2]);
        CHECK(rc == -1 && strstr(err, want) && strstr(err, "MGX_MAX_INPUT_BYTES"), "%lu-byte .nii.gz bomb: %s", (unsigned long)b.n, err);
        CHECK(INFLATED <= 352 && tb_used() <= b.n + MB, "bomb %d: %llu bytes inflated, %lu allocated", k,
              (unsigned long long)INFLATED, (unsigned long)tb_used());
        if (!rc) mgx_volume_free(&v);
        free(b.p);
    }
}

/* An all-zero segmentation mask at deflate's ratio ceiling is a legitimate input: it loads. */
static void test_nifti_mask(void) {
    dwbuf b = nifti_zeros_gz(256, 256, 256);
    mgx_volume v;
    size_t i, nz = 0, nvox = (size_t)256 * 256 * 256;
    int rc;
    if (out_dir) { save("mask_256x256x256.nii.gz", b.p, b.n); free(b.p); return; }
    CHECK(nvox / b.n > 1000, "the mask's ratio is %lu:1", (unsigned long)(nvox / b.n));
    tb_start();
    rc = mgx_nifti_load_mem(b.p, b.n, &v, err, sizeof err);
    CHECK(rc == 0 && v.w == 256 && v.d == 256, "all-zero mask loads: %s", err);
    if (!rc) {
        for (i = 0; i < nvox; i++) nz += v.vox[i] != 0;
        CHECK(nz == 0, "mask voxels all 0 (%lu are not)", (unsigned long)nz);
        CHECK(INFLATED == 352 + nvox && tb_used() <= 352 + nvox * 4 + MB, "mask: %llu inflated, %lu allocated",
              (unsigned long long)INFLATED, (unsigned long)tb_used());
        mgx_volume_free(&v);
    }
    free(b.p);
}

/* ---- DICOM writers ----------------------------------------------------------------------------- */

/* An explicit VR little endian element; len 0xFFFFFFFF = undefined (val NULL); odd values padded. */
static void el(dwbuf *w, unsigned g, unsigned e, const char *vr, const void *val, uint32_t len) {
    int lng = !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UN");
    uint32_t padded = len == 0xFFFFFFFFu ? len : len + (len & 1);
    dw_byte(w, (unsigned char)g); dw_byte(w, (unsigned char)(g >> 8));
    dw_byte(w, (unsigned char)e); dw_byte(w, (unsigned char)(e >> 8));
    dw_bytes(w, vr, 2);
    if (lng) { dw_byte(w, 0); dw_byte(w, 0); dw_le32(w, padded); }
    else { dw_byte(w, (unsigned char)padded); dw_byte(w, (unsigned char)(padded >> 8)); }
    if (val && len != 0xFFFFFFFFu) {
        dw_bytes(w, val, len);
        if (len & 1) dw_byte(w, !strcmp(vr, "UI") || !strcmp(vr, "OB") ? 0 : ' ');
    }
}
static void el_s(dwbuf *w, unsigned g, unsigned e, const char *vr, const char *s) { el(w, g, e, vr, s, (uint32_t)strlen(s)); }
static void el_us(dwbuf *w, unsigned g, unsigned e, unsigned v) { unsigned char b[2]; le16(b, (int)v); el(w, g, e, "US", b, 2); }
static void el_u32(dwbuf *w, unsigned g, unsigned e, const char *vr, uint32_t v) {
    unsigned char b[4];
    b[0] = (unsigned char)v; b[1] = (unsigned char)(v >> 8); b[2] = (unsigned char)(v >> 16); b[3] = (unsigned char)(v >> 24);
    el(w, g, e, vr, b, 4);
}
static void tag(dwbuf *w, unsigned g, unsigned e, uint32_t len) {
    dw_byte(w, (unsigned char)g); dw_byte(w, (unsigned char)(g >> 8));
    dw_byte(w, (unsigned char)e); dw_byte(w, (unsigned char)(e >> 8));
    dw_le32(w, len);
}

/* Preamble, "DICM" and a meta group naming the transfer syntax. */
static void part10(dwbuf *w, const char *ts) {
    unsigned char pre[128];
    memset(pre, 0, sizeof pre);
    dw_bytes(w, pre, sizeof pre);
    dw_bytes(w, "DICM", 4);
    el_s(w, 0x0002, 0x0010, "UI", ts);
}

/* The image pixel module of `frames` grey or RGB frames. */
static void pixel_module(dwbuf *w, int samples, int frames, int rows, int cols) {
    char nf[16];
    el_us(w, 0x0028, 0x0002, (unsigned)samples);
    el_s(w, 0x0028, 0x0004, "CS", samples == 3 ? "RGB" : "MONOCHROME2");
    if (samples == 3) el_us(w, 0x0028, 0x0006, 0);
    snprintf(nf, sizeof nf, "%d", frames);
    el_s(w, 0x0028, 0x0008, "IS", nf);
    el_us(w, 0x0028, 0x0010, (unsigned)rows);
    el_us(w, 0x0028, 0x0011, (unsigned)cols);
    el_us(w, 0x0028, 0x0100, 8);
    el_us(w, 0x0028, 0x0101, 8);
    el_us(w, 0x0028, 0x0102, 7);
    el_us(w, 0x0028, 0x0103, 0);
}

/* Deflated explicit VR little endian: `frames` 8-bit frames of rows x cols, all zero; the data set stored, the
   pixels one zero run. *header: the bytes of the data set before the pixel values. */
static dwbuf dicom_deflated(int frames, int rows, int cols, size_t *header) {
    dwbuf b, ds;
    uint64_t pix = (uint64_t)frames * (uint64_t)rows * (uint64_t)cols;
    memset(&b, 0, sizeof b);
    memset(&ds, 0, sizeof ds);
    part10(&b, "1.2.840.10008.1.2.1.99");
    el_s(&ds, 0x0008, 0x0060, "CS", "CR");
    el_s(&ds, 0x0020, 0x000E, "UI", "1.2.826.0.1.3680043.99.15");
    pixel_module(&ds, 1, frames, rows, cols);
    el(&ds, 0x7FE0, 0x0010, "OB", NULL, (uint32_t)pix);
    dw_stored(&b, ds.p, ds.n, 0);
    dw_zeros(&b, pix, 1);
    dw_align(&b);
    *header = ds.n;
    free(ds.p);
    return b;
}

static void test_dicom_deflated(void) {
    size_t hdr;
    dwbuf b = dicom_deflated(4, 16384, 16384, &hdr);
    mgx_dicom d;
    mgx_image img;
    size_t frame = (size_t)16384 * 16384;
    int rc;
    if (out_dir) { save("dicom_deflated_4x16384x16384.dcm", b.p, b.n); free(b.p); return; }
    /* cxr: frame 0 only */
    tb_start();
    rc = mgx_dicom_load_frames_mem(b.p, b.n, 0, 1, &d, err, sizeof err);
    CHECK(rc == 0 && d.frames == 4 && d.data_first == 0 && d.data_frames == 1 && d.data[0] == 0 && d.data[frame - 1] == 0,
          "deflated DICOM, frame 0: %s", err);
    CHECK(INFLATED == hdr + frame && tb_used() <= frame * 5 + MB, "frame 0: %llu bytes inflated (data set header %lu), %lu allocated",
          (unsigned long long)INFLATED, (unsigned long)hdr, (unsigned long)tb_used());
    if (!rc) {
        rc = mgx_dicom_frame_to_image(&d, 1, &img, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "frame 1 was not decoded (frames 0..0 were)"), "frame 1 was not decoded: %s", err);
        mgx_dicom_free(&d);
    }
    /* every frame: refused by the memory limit before any pixel is inflated */
    tb_start();
    rc = mgx_dicom_load_mem(b.p, b.n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "DICOM: 4 frame(s) of 16384 x 16384 x 1 samples needs") && strstr(err, "MGX_MAX_INPUT_BYTES"),
          "deflated DICOM, all frames: %s", err);
    CHECK(INFLATED <= hdr && tb_used() <= MB, "all frames refused after %llu bytes inflated, %lu allocated", (unsigned long long)INFLATED,
          (unsigned long)tb_used());
    /* header only: nothing of the pixel data is inflated */
    tb_start();
    rc = mgx_dicom_load_mem_ex(b.p, b.n, &d, MGX_DICOM_HEADER_ONLY, err, sizeof err);
    CHECK(rc == 0 && d.rows == 16384 && d.frames == 4 && !d.data, "header only: %s", err);
    CHECK(INFLATED <= hdr, "header only: %llu bytes inflated, the data set header is %lu", (unsigned long long)INFLATED, (unsigned long)hdr);
    if (!rc) mgx_dicom_free(&d);
    rc = mgx_dicom_load_frames_mem(b.p, b.n, 4, 1, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "frames 4..4 asked for, the object has 4 (0..3)"), "frame 4 of 4: %s", err);
    free(b.p);
}

/* A folder of 10 links to one deflated file: the header pass inflates headers only. */
static void test_dicom_links(void) {
    size_t hdr;
    dwbuf b = dicom_deflated(2, 16384, 16384, &hdr);
    char dir[128], link[160];
    mgx_volume v;
    const char *target;
    int i, rc, ok = 1;
    if (out_dir) { save("dicom_deflated_2x16384x16384.dcm", b.p, b.n); free(b.p); return; }
    target = save("deflated.dcm", b.p, b.n);
    snprintf(dir, sizeof dir, "%s/links", tmp_dir);
    ok = target && mkdir(dir, 0700) == 0;
    for (i = 0; ok && i < 10; i++) {
        snprintf(link, sizeof link, "%s/slice%02d.dcm", dir, i);
        ok = symlink("../deflated.dcm", link) == 0;
    }
    CHECK(ok, "make the folder of links");
    tb_start();
    rc = mgx_volume_load(dir, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "20 slices of 16384x16384 exceed the voxel limit"), "folder of deflated links: %s", err);
    CHECK(INFLATED <= 10 * hdr && READ <= 10 * (b.n + 400) && tb_used() <= b.n + MB,
          "folder: %llu bytes inflated (headers %lu each), %llu read, %lu allocated", (unsigned long long)INFLATED,
          (unsigned long)hdr, (unsigned long long)READ, (unsigned long)tb_used());
    if (!rc) mgx_volume_free(&v);
    free(b.p);
}

/* ---- JPEG writers ------------------------------------------------------------------------------ */

typedef struct { dwbuf *w; unsigned acc; int nb; } jbits_w;

/* k bits of v, most significant first, with FF 00 stuffing. */
static void jb_put(jbits_w *b, uint32_t v, int k) {
    while (k-- > 0) {
        b->acc = (b->acc << 1) | ((v >> k) & 1u);
        if (++b->nb == 8) {
            dw_byte(b->w, (unsigned char)b->acc);
            if ((b->acc & 255) == 255) dw_byte(b->w, 0);
            b->acc = 0;
            b->nb = 0;
        }
    }
}
static void jb_flush(jbits_w *b) { while (b->nb) jb_put(b, 1, 1); }

static void seg(dwbuf *w, int marker, const unsigned char *body, size_t len) {
    dw_byte(w, 0xFF); dw_byte(w, (unsigned char)marker);
    dw_byte(w, (unsigned char)((len + 2) >> 8)); dw_byte(w, (unsigned char)(len + 2));
    dw_bytes(w, body, len);
}

/* SOI, a table of ones, the frame header (nf 1: grey; 3: 4:2:0), a DC table (category 0 = "0") and an AC table
   (EOBr = r in 4 bits, r = 0..14; (0,1) = "11110"). */
static void jpeg_head(dwbuf *w, int marker, int width, int height, int nf) {
    unsigned char q[65], f[15], dc[18], ac[17 + 16];
    int i;
    dw_byte(w, 0xFF); dw_byte(w, 0xD8);
    q[0] = 0;
    for (i = 1; i < 65; i++) q[i] = 1;
    seg(w, 0xDB, q, sizeof q);
    f[0] = 8; f[1] = (unsigned char)(height >> 8); f[2] = (unsigned char)height;
    f[3] = (unsigned char)(width >> 8); f[4] = (unsigned char)width; f[5] = (unsigned char)nf;
    for (i = 0; i < nf; i++) { f[6 + 3 * i] = (unsigned char)(i + 1); f[7 + 3 * i] = i == 0 && nf == 3 ? 0x22 : 0x11; f[8 + 3 * i] = 0; }
    seg(w, marker, f, 6 + 3 * (size_t)nf);
    memset(dc, 0, sizeof dc);
    dc[0] = 0x00; dc[1] = 1; dc[17] = 0;
    seg(w, 0xC4, dc, 18);
    memset(ac, 0, sizeof ac);
    ac[0] = 0x10; ac[4] = 15; ac[5] = 1;
    for (i = 0; i < 15; i++) ac[17 + i] = (unsigned char)(i << 4);
    ac[17 + 15] = 0x01;
    seg(w, 0xC4, ac, sizeof ac);
}

static void sos(dwbuf *w, int comp, int ss, int se, int ah, int al) {
    unsigned char s[6];
    s[0] = 1; s[1] = (unsigned char)comp; s[2] = 0x00; s[3] = (unsigned char)ss; s[4] = (unsigned char)se;
    s[5] = (unsigned char)(ah << 4 | al);
    seg(w, 0xDA, s, sizeof s);
}

/* Entropy data of an AC scan whose `blocks` blocks are all one end-of-band run (EOB14 covers up to 32767). */
static void eob_runs(dwbuf *w, uint64_t blocks) {
    jbits_w b;
    b.w = w; b.acc = 0; b.nb = 0;
    while (blocks) {
        uint32_t run = blocks > 32767 ? 32767 : (uint32_t)blocks;
        int r = 0;
        while ((2u << r) <= run) r++;
        jb_put(&b, (uint32_t)r, 4);
        jb_put(&b, run - (1u << r), r);
        blocks -= run;
    }
    jb_flush(&b);
}

/* A DC first scan of component 1 (category 0 everywhere: one bit per block). */
static void dc_scan(dwbuf *w, uint64_t blocks) {
    jbits_w b;
    uint64_t i;
    b.w = w; b.acc = 0; b.nb = 0;
    sos(w, 1, 0, 0, 0, 0);
    for (i = 0; i < blocks; i++) jb_put(&b, 0, 1);
    jb_flush(&b);
}

static void eoi(dwbuf *w) { dw_byte(w, 0xFF); dw_byte(w, 0xD9); }

static uint64_t blocks_of(int w, int h) { return (uint64_t)((w + 7) / 8) * (uint64_t)((h + 7) / 8); }

/* Progressive, AC scans of end-of-band runs only (no DC scan): 1 (grey) or 3 (4:2:0) components. */
static dwbuf jpeg_eob_only(int width, int height, int nf) {
    dwbuf w;
    int c;
    memset(&w, 0, sizeof w);
    jpeg_head(&w, 0xC2, width, height, nf);
    for (c = 0; c < nf; c++) {
        int cw = nf == 3 && c ? (width + 1) / 2 : width, ch = nf == 3 && c ? (height + 1) / 2 : height;
        sos(&w, c + 1, 1, 63, 0, 0);
        eob_runs(&w, blocks_of(cw, ch));
    }
    eoi(&w);
    return w;
}

/* Grey progressive: DC, AC 1..63 at Al = 13, then nref refinements of 1..63 (in order: 13 -> 12, 12 -> 11...;
   or, when !in_order, 13 -> 12 every time), every AC scan one end-of-band run per 32767 blocks. */
static dwbuf jpeg_refinements(int width, int height, int nref, int in_order) {
    dwbuf w;
    uint64_t nb = blocks_of(width, height);
    int i;
    memset(&w, 0, sizeof w);
    jpeg_head(&w, 0xC2, width, height, 1);
    dc_scan(&w, nb);
    sos(&w, 1, 1, 63, 0, 13);
    eob_runs(&w, nb);
    for (i = 0; i < nref; i++) {
        int ah = in_order ? 13 - i : 13;
        sos(&w, 1, 1, 63, ah, ah - 1);
        eob_runs(&w, nb);
    }
    eoi(&w);
    return w;
}

/* Grey progressive with one band per coefficient, each coded at Al = al and refined down to 0: 1 + 63 (al + 1) scans. */
static dwbuf jpeg_many_scans(int width, int height, int al) {
    dwbuf w;
    uint64_t nb = blocks_of(width, height);
    int k, a;
    memset(&w, 0, sizeof w);
    jpeg_head(&w, 0xC2, width, height, 1);
    dc_scan(&w, nb);
    for (k = 1; k < 64; k++) {
        sos(&w, 1, k, k, 0, al);
        eob_runs(&w, nb);
        for (a = al; a > 0; a--) {
            sos(&w, 1, k, k, a, a - 1);
            eob_runs(&w, nb);
        }
    }
    eoi(&w);
    return w;
}

static void test_jpeg(void) {
    mgx_image img;
    dwbuf a = jpeg_eob_only(16384, 16384, 1), b = jpeg_eob_only(16384, 16384, 3);
    dwbuf r200 = jpeg_refinements(4096, 4096, 200, 0), r13 = jpeg_refinements(4096, 4096, 13, 1);
    dwbuf many = jpeg_many_scans(64, 64, 4), ok = jpeg_many_scans(64, 64, 3);
    uint64_t nb = blocks_of(4096, 4096);
    int rc;
    if (out_dir) {
        save("jpeg_eob_16384.jpg", a.p, a.n); save("jpeg_420_16384.jpg", b.p, b.n); save("jpeg_refine200.jpg", r200.p, r200.n);
        save("jpeg_refine13.jpg", r13.p, r13.n); save("jpeg_316scans.jpg", many.p, many.n); save("jpeg_253scans.jpg", ok.p, ok.n);
    } else {
        tb_start();
        rc = mgx_jpeg_decode(a.p, a.n, &img, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "cannot code the 4194304 blocks of a 16384x16384 image"), "%lu-byte progressive JPEG: %s",
              (unsigned long)a.n, err);
        CHECK(tb_used() <= 64 * 1024 && STEPS == 0, "EOB-run JPEG refused after %lu bytes, %llu steps", (unsigned long)tb_used(),
              (unsigned long long)STEPS);
        tb_start();
        rc = mgx_jpeg_decode(b.p, b.n, &img, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "cannot code the 6291456 blocks"), "%lu-byte 4:2:0 JPEG: %s", (unsigned long)b.n, err);
        CHECK(tb_used() <= 64 * 1024 && STEPS == 0, "4:2:0 JPEG refused after %lu bytes", (unsigned long)tb_used());
        /* 200 refinements of the same bits: refused at the second, after one pass over the blocks per scan */
        tb_start();
        rc = mgx_jpeg_decode(r200.p, r200.n, &img, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "scan 4 refines coefficient 1 of component 1 from bit 13 to 12, but it is known to bit 12"),
              "%lu-byte JPEG with 200 refinement scans: %s", (unsigned long)r200.n, err);
        CHECK(STEPS <= 3 * nb + 100, "200 refinements: %llu steps for %llu blocks", (unsigned long long)STEPS, (unsigned long long)nb);
        /* 13 refinements in order decode; each block of an end-of-band run costs one step, not 63 */
        tb_start();
        rc = mgx_jpeg_decode(r13.p, r13.n, &img, err, sizeof err);
        CHECK(rc == 0 && img.w == 4096 && img.px[0] == 128 && img.px[(size_t)4096 * 4096 - 1] == 128, "13 refinements decode: %s", err);
        CHECK(STEPS <= 15 * nb + 1000, "13 refinements: %llu steps for 15 scans of %llu blocks", (unsigned long long)STEPS,
              (unsigned long long)nb);
        mgx_image_free(&img);
        /* scans: 253 in order decode, 316 are more than MGX_JPEG_MAX_SCANS */
        rc = mgx_jpeg_decode(ok.p, ok.n, &img, err, sizeof err);
        CHECK(rc == 0 && img.w == 64, "253 scans decode: %s", err);
        mgx_image_free(&img);
        tb_start();
        rc = mgx_jpeg_decode(many.p, many.n, &img, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "more than 256 scans (MGX_JPEG_MAX_SCANS)"), "316 scans: %s", err);
        CHECK(STEPS <= 257 * 64 + 1000, "scan bomb refused after %llu steps", (unsigned long long)STEPS);
    }
    free(a.p); free(b.p); free(r200.p); free(r13.p); free(many.p); free(ok.p);
}

/* Encapsulated (JPEG baseline syntax) DICOM of 64 frames, each the EOB-run progressive JPEG of 4096 x 4096. */
static void test_dicom_jpeg_frames(void) {
    dwbuf b, j = jpeg_eob_only(4096, 4096, 1);
    mgx_dicom d;
    int f, rc;
    memset(&b, 0, sizeof b);
    part10(&b, "1.2.840.10008.1.2.4.50");
    el_s(&b, 0x0008, 0x0060, "CS", "OT");
    pixel_module(&b, 1, 64, 4096, 4096);
    el(&b, 0x7FE0, 0x0010, "OB", NULL, 0xFFFFFFFFu);
    tag(&b, 0xFFFE, 0xE000, 0);
    for (f = 0; f < 64; f++) {
        tag(&b, 0xFFFE, 0xE000, (uint32_t)(j.n + (j.n & 1)));
        dw_bytes(&b, j.p, j.n);
        if (j.n & 1) dw_byte(&b, 0);
    }
    tag(&b, 0xFFFE, 0xE0DD, 0);
    if (out_dir) { save("dicom_64_jpeg_frames.dcm", b.p, b.n); free(b.p); free(j.p); return; }
    tb_start();
    rc = mgx_dicom_load_mem(b.p, b.n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "DICOM: 64 frame(s) of 4096 x 4096 x 1 samples needs"), "%lu-byte DICOM of 64 JPEG frames: %s",
          (unsigned long)b.n, err);
    CHECK(tb_used() <= MB && STEPS == 0, "64 frames refused after %lu bytes allocated", (unsigned long)tb_used());
    tb_start();
    rc = mgx_dicom_load_frames_mem(b.p, b.n, 0, 1, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "frame 0: JPEG: the") && strstr(err, "cannot code the 262144 blocks"), "frame 0 of the 64: %s", err);
    CHECK(tb_used() <= (size_t)4096 * 4096 * 4 + MB && STEPS == 0, "frame 0 refused, %lu bytes allocated", (unsigned long)tb_used());
    free(b.p);
    free(j.p);
}

/* ---- PNG --------------------------------------------------------------------------------------- */

static void png_chunk(dwbuf *w, const char *type, const unsigned char *body, size_t len) {
    dw_be32(w, (uint32_t)len);
    dw_bytes(w, type, 4);
    dw_bytes(w, body, len);
    dw_be32(w, mgx_crc32(mgx_crc32(0, type, 4), body, len));
}

/* A PNG whose filtered rows are all zero: depth/ctype as given, IDAT one zero run. */
static dwbuf png_zeros(uint32_t width, uint32_t height, int depth, int ctype) {
    static const int samples[7] = {1, 0, 3, 1, 2, 0, 4};
    dwbuf w, z;
    unsigned char ihdr[13];
    uint64_t raw = (uint64_t)height * (1 + ((uint64_t)width * (uint64_t)samples[ctype] * (uint64_t)depth + 7) / 8);
    memset(&w, 0, sizeof w);
    memset(&z, 0, sizeof z);
    dw_bytes(&w, "\x89PNG\r\n\x1a\n", 8);
    memset(ihdr, 0, sizeof ihdr);
    ihdr[0] = (unsigned char)(width >> 24); ihdr[1] = (unsigned char)(width >> 16); ihdr[2] = (unsigned char)(width >> 8); ihdr[3] = (unsigned char)width;
    ihdr[4] = (unsigned char)(height >> 24); ihdr[5] = (unsigned char)(height >> 16); ihdr[6] = (unsigned char)(height >> 8); ihdr[7] = (unsigned char)height;
    ihdr[8] = (unsigned char)depth; ihdr[9] = (unsigned char)ctype;
    png_chunk(&w, "IHDR", ihdr, 13);
    dw_byte(&z, 0x78); dw_byte(&z, 0x01);
    dw_zeros(&z, raw, 1);
    dw_align(&z);
    dw_be32(&z, dw_adler32_zeros(1, raw));
    png_chunk(&w, "IDAT", z.p, z.n);
    png_chunk(&w, "IEND", NULL, 0);
    free(z.p);
    return w;
}

static void test_png(void) {
    dwbuf bomb = png_zeros(65535, 4096, 16, 2), blank = png_zeros(4096, 4096, 8, 0);
    mgx_image img;
    int rc;
    if (out_dir) { save("png_rgb16_65535x4096.png", bomb.p, bomb.n); save("png_grey_4096.png", blank.p, blank.n); }
    else {
        tb_start();
        rc = mgx_png_decode(bomb.p, bomb.n, &img, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "PNG: a 65535x4096 image of 16-bit samples needs 2415886336 bytes") && strstr(err, "MGX_MAX_INPUT_BYTES"),
              "%lu-byte RGB16 PNG: %s", (unsigned long)bomb.n, err);
        CHECK(INFLATED == 0 && tb_used() <= 3 * bomb.n, "RGB16 PNG refused after %llu bytes inflated, %lu allocated",
              (unsigned long long)INFLATED, (unsigned long)tb_used());
        tb_start();
        rc = mgx_png_decode(blank.p, blank.n, &img, err, sizeof err);
        CHECK(rc == 0 && img.w == 4096 && img.px[0] == 0 && img.px[(size_t)4096 * 4096 - 1] == 0, "all-zero 4096^2 PNG (%lu bytes) loads: %s",
              (unsigned long)blank.n, err);
        CHECK(INFLATED == (size_t)4096 * 4097 && tb_used() <= (size_t)4096 * 4097 * 2 + 128 * 1024, "blank PNG: %lu allocated",
              (unsigned long)tb_used());
        mgx_image_free(&img);
    }
    free(bomb.p);
    free(blank.p);
}

/* ---- DICOM WSI --------------------------------------------------------------------------------- */

/* An RGB slide object: total matrix cols x rows, `frames` 1x1 tiles; positions per frame (1-based col,row
   pairs in pos) or, with pos NULL, TILED_FULL order. */
static dwbuf wsi(uint32_t cols, uint32_t rows, int frames, const int32_t *pos) {
    dwbuf b;
    int f;
    memset(&b, 0, sizeof b);
    part10(&b, "1.2.840.10008.1.2.1");
    el_s(&b, 0x0008, 0x0060, "CS", "SM");
    pixel_module(&b, 3, frames, 1, 1);
    el_u32(&b, 0x0048, 0x0006, "UL", cols);
    el_u32(&b, 0x0048, 0x0007, "UL", rows);
    if (pos) {
        el(&b, 0x5200, 0x9230, "SQ", NULL, 0xFFFFFFFFu);
        for (f = 0; f < frames; f++) {
            tag(&b, 0xFFFE, 0xE000, 0xFFFFFFFFu);
            el(&b, 0x0048, 0x021A, "SQ", NULL, 0xFFFFFFFFu);
            tag(&b, 0xFFFE, 0xE000, 0xFFFFFFFFu);
            el_u32(&b, 0x0048, 0x021E, "SL", (uint32_t)pos[2 * f]);
            el_u32(&b, 0x0048, 0x021F, "SL", (uint32_t)pos[2 * f + 1]);
            tag(&b, 0xFFFE, 0xE00D, 0);
            tag(&b, 0xFFFE, 0xE0DD, 0);
            tag(&b, 0xFFFE, 0xE00D, 0);
        }
        tag(&b, 0xFFFE, 0xE0DD, 0);
    }
    el(&b, 0x7FE0, 0x0010, "OB", NULL, (uint32_t)(3 * frames + (frames & 1)));
    for (f = 0; f < frames; f++) { dw_byte(&b, 200); dw_byte(&b, 100); dw_byte(&b, 50); }
    if (frames & 1) dw_byte(&b, 0);
    return b;
}

static void test_wsi(void) {
    static const int32_t corners[4] = {1, 1, 16384, 16384};
    dwbuf one = wsi(16384, 16384, 1, NULL), full = wsi(65535, 4096, 1, NULL), far = wsi(16384, 16384, 2, corners);
    mgx_dicom d;
    mgx_image img;
    int rc;
    if (out_dir) {
        save("wsi_16384_one_tile.dcm", one.p, one.n); save("wsi_tiled_full_65535x4096.dcm", full.p, full.n);
        save("wsi_two_corners.dcm", far.p, far.n);
    } else {
        dwbuf *cases[2];
        int k;
        cases[0] = &one; cases[1] = &full;
        for (k = 0; k < 2; k++) {
            tb_start();
            rc = mgx_dicom_load_mem(cases[k]->p, cases[k]->n, &d, err, sizeof err);
            if (!rc) rc = mgx_dicom_tiles_to_image(&d, &img, err, sizeof err);
            CHECK(rc == 0 && img.w == 1 && img.h == 1 && img.px[0] == 200 && img.px[2] == 50,
                  "%lu-byte slide declaring %dx%d with one 1x1 tile: canvas %dx%d: %s", (unsigned long)cases[k]->n, d.total_cols,
                  d.total_rows, img.w, img.h, err);
            CHECK(tb_used() <= 64 * 1024, "slide canvas: %lu bytes allocated", (unsigned long)tb_used());
            mgx_image_free(&img);
            mgx_dicom_free(&d);
        }
        tb_start();
        rc = mgx_dicom_load_mem(far.p, far.n, &d, err, sizeof err);
        if (!rc) rc = mgx_dicom_tiles_to_image(&d, &img, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "the 2 tiles cover 2 pixels of the 16384 x 16384 region they span") &&
              strstr(err, "MGX_WSI_MAX_BLANK_RATIO"), "two 1x1 tiles at opposite corners: %s", err);
        CHECK(tb_used() <= 64 * 1024, "far tiles refused, %lu bytes allocated", (unsigned long)tb_used());
        mgx_dicom_free(&d);
    }
    free(one.p); free(full.p); free(far.p);
}

/* ---- files that are not regular, and read limits ------------------------------------------------ */

static void test_files(void) {
    char fifo[128], dir[128], big[128], note[512], **names = NULL;
    unsigned char *buf = (unsigned char *)1, *zeros;
    size_t n = 1;
    mgx_image img;
    mgx_volume v;
    mgx_dicom d;
    int rc, k;
    FILE *f;
    if (out_dir) return;
    snprintf(dir, sizeof dir, "%s/slides", tmp_dir);
    snprintf(fifo, sizeof fifo, "%s/slides/fifo.png", tmp_dir);
    snprintf(big, sizeof big, "%s/slides/big.txt", tmp_dir);
    CHECK(mkdir(dir, 0700) == 0 && mkfifo(fifo, 0600) == 0, "make a folder with a FIFO");
    zeros = (unsigned char *)calloc(300 * 1024, 1);
    f = fopen(big, "wb");
    CHECK(f && zeros && fwrite(zeros, 1, 300 * 1024, f) == 300 * 1024 && fclose(f) == 0, "write a 300 KiB file");
    free(zeros);
    /* the FIFO: listed as skipped, refused at once by every reader (never opened: no hang) */
    tb_start();
    rc = mgx_list_dir_ex(dir, &names, note, sizeof note, err, sizeof err);
    CHECK(rc == 1 && names && !strcmp(names[0], "big.txt") && strstr(note, "skipped 1 entry that is not a regular file:") && strstr(note, "fifo.png (FIFO)"),
          "listing skips the FIFO: %d, %s", rc, note);
    if (rc > 0) mgx_names_free(names, rc);
    rc = mgx_read_file(fifo, 0, &buf, &n, err, sizeof err);
    CHECK(rc == -1 && buf == NULL && n == 0 && strstr(err, "fifo.png is not a regular file (FIFO)"), "read a FIFO: %s", err);
    rc = mgx_image_load_file(fifo, &img, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file (FIFO)"), "image from a FIFO: %s", err);
    rc = mgx_volume_load(fifo, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file (FIFO)"), "volume from a FIFO: %s", err);
    rc = mgx_dicom_load_file(fifo, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file (FIFO)"), "DICOM from a FIFO: %s", err);
    rc = mgx_nifti_load_file(fifo, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file (FIFO)"), "NIfTI from a FIFO: %s", err);
    /* a directory and devices as files */
    rc = mgx_read_file(dir, 0, &buf, &n, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "slides is a directory"), "read a directory: %s", err);
    rc = mgx_read_file("/dev/zero", 0, &buf, &n, err, sizeof err);
    CHECK(rc == -1 && !strcmp(err, "/dev/zero is not a regular file (character device)"), "read /dev/zero: %s", err);
    rc = mgx_image_load_file("/dev/urandom", &img, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "/dev/urandom is not a regular file (character device)"), "image from /dev/urandom: %s", err);
    rc = mgx_volume_load("/dev/zero", &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "character device"), "volume from /dev/zero: %s", err);
    /* a limit holds from the first byte: a 300 KiB file against 256 KiB reads nothing */
    tb_start();
    rc = mgx_read_file(big, 256 * 1024, &buf, &n, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "file of 307200 bytes is larger than the limit of 262144 bytes"), "256 KiB limit: %s", err);
    CHECK(READ == 0 && tb_used() <= 4096, "nothing was read: %llu bytes read, %lu allocated", (unsigned long long)READ, (unsigned long)tb_used());
    rc = mgx_read_file(big, 307200, &buf, &n, err, sizeof err);
    CHECK(rc == 0 && n == 307200 && READ == 307200, "exactly at the limit: %s", err);
    if (!rc) MGX_FREE(buf);
    for (k = 0; k < 2; k++) remove(k ? big : fifo);
    rmdir(dir);
}

/* ---- JSON -------------------------------------------------------------------------------------- */

/* "[0,0,...,0]" of n bytes (n odd, >= 3). */
static char *json_zeros(size_t n) {
    char *s = (char *)malloc(n);
    size_t i;
    if (!s) return NULL;
    s[0] = '[';
    for (i = 1; i < n - 1; i++) s[i] = (i & 1) ? '0' : ',';
    s[n - 1] = ']';
    return s;
}

static void test_json(void) {
    size_t big = ((size_t)64 << 20) + 1, small = ((size_t)1 << 20) + 1, i;
    char *a = json_zeros(big), *b = json_zeros(small), *deep, *digits;
    mgx_json *v;
    if (!a || !b) { CHECK(0, "allocate the JSON inputs"); free(a); free(b); return; }
    if (out_dir) { save("json_64MB_zeros.json", (const unsigned char *)a, big); free(a); free(b); return; }
    tb_start();
    v = mgx_json_parse(a, big, err, sizeof err);
    CHECK(!v && strstr(err, "json: more than 2097152 values (the limit MGX_JSON_MAX_NODES) at offset 4194303"), "64 MB [0,...]: %s", err);
    CHECK(tb_used() <= 2097152 * (size_t)80, "64 MB [0,...] refused after %lu bytes allocated (%.1f per value)",
          (unsigned long)tb_used(), tb_used() / 2097152.0);
    mgx_json_free(v);
    tb_start();
    v = mgx_json_parse(b, small, err, sizeof err);
    CHECK(v && v->len == small / 2, "1 MB [0,...] parses: %s", err);
    CHECK(tb_used() <= 40 * small, "1 MB [0,...]: %lu bytes allocated, %.1f per input byte", (unsigned long)tb_used(),
          (double)tb_used() / small);
    mgx_json_free(v);
    CHECK(tb_cur == 0, "the JSON tree was freed entirely (%lu bytes left)", (unsigned long)tb_cur);
    /* what fails validation says where and why */
    deep = (char *)malloc(200001);
    digits = (char *)malloc(1000001);
    for (i = 0; i < 100000; i++) { deep[i] = '['; deep[200000 - 1 - i] = ']'; }
    v = mgx_json_parse(deep, 200000, err, sizeof err);
    CHECK(!v && strstr(err, "nesting deeper than 128 (the limit MGX_JSON_MAX_DEPTH) at offset 128"), "depth 100000: %s", err);
    for (i = 0; i < 1000000; i++) digits[i] = (char)('1' + i % 9);
    tb_start();
    v = mgx_json_parse(digits, 1000000, err, sizeof err);
    CHECK(!v && strstr(err, "number out of range at offset 0"), "10^6-digit number: %s", err);
    CHECK(tb_used() <= 1000000 + 4096, "10^6-digit number: %lu bytes allocated", (unsigned long)tb_used());
    v = mgx_json_parse("\"a\xff\"", 4, err, sizeof err);
    CHECK(!v && strstr(err, "invalid UTF-8 byte 0xFF in string at offset 2"), "invalid UTF-8: %s", err);
    free(deep); free(digits); free(a); free(b);
}

/* Small inputs of the same shapes for the fuzzers: DIR/<target>/<name> (tests/corpus holds them). */
static int write_seeds(const char *dir) {
    static const int32_t corners[4] = {1, 1, 2048, 2048};
    struct { const char *target, *name; dwbuf b; } s[13];
    char path[600];
    size_t hdr;
    int i, n = 0, bad = 0;
#define SEED(t, nm, expr) do { s[n].target = t; s[n].name = nm; s[n].b = expr; n++; } while (0)
    SEED("nifti", "zeros-64x64x64.nii.gz", nifti_zeros_gz(64, 64, 64));
    SEED("dicom", "deflated-2x64x64.dcm", dicom_deflated(2, 64, 64, &hdr));
    SEED("dicom", "wsi-one-tile-of-16384.dcm", wsi(16384, 16384, 1, NULL));
    SEED("dicom", "wsi-two-far-tiles.dcm", wsi(2048, 2048, 2, corners));
    SEED("jpeg", "eob-runs-only-16384.jpg", jpeg_eob_only(16384, 16384, 1));
    SEED("jpeg", "eob-runs-only-420-16384.jpg", jpeg_eob_only(16384, 16384, 3));
    SEED("jpeg", "refine-13-in-order-64.jpg", jpeg_refinements(64, 64, 13, 1));
    SEED("jpeg", "refine-20-repeated-64.jpg", jpeg_refinements(64, 64, 20, 0));
    SEED("jpeg", "scans-316-64.jpg", jpeg_many_scans(64, 64, 4));
    SEED("png", "rgb16-zeros-256x64.png", png_zeros(256, 64, 16, 2));
    SEED("png", "grey-zeros-1024x1024.png", png_zeros(1024, 1024, 8, 0));
#undef SEED
    for (i = 0; i < n; i++) {
        FILE *f;
        snprintf(path, sizeof path, "%s/%s", dir, s[i].target);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/%s", dir, s[i].target, s[i].name);
        f = fopen(path, "wb");
        if (!f || fwrite(s[i].b.p, 1, s[i].b.n, f) != s[i].b.n || fclose(f) != 0) { fprintf(stderr, "cannot write %s\n", path); bad = 1; }
        free(s[i].b.p);
    }
    return bad;
}

int main(int argc, char **argv) {
    char tmpl[] = "/tmp/mgx_boundsXXXXXX", cmd[128];
    if (argc == 3 && !strcmp(argv[1], "--seeds")) return write_seeds(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--write")) out_dir = argv[2];
    else if (argc != 1) { fprintf(stderr, "usage: test_bounds [--write DIR | --seeds DIR]\n"); return 2; }
    if (!mkdtemp(tmpl)) { printf("FAIL mkdtemp\n"); return 1; }
    snprintf(tmp_dir, sizeof tmp_dir, "%s", tmpl);
    test_files();
    test_nifti_bombs();
    test_nifti_mask();
    test_dicom_deflated();
    test_dicom_links();
    test_jpeg();
    test_dicom_jpeg_frames();
    test_png();
    test_wsi();
    test_json();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) printf("  could not remove %s\n", tmp_dir);
    CHECK(tb_cur == 0, "every reader allocation was freed (%lu bytes left)", (unsigned long)tb_cur);
    return MG_TEST_END();
}
