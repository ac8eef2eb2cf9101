/* test_volume_prompt.c — the CT / MRI / whole-slide recipes of examples/common (mgx_volume_prompt.h, mgx_slide.h)
   against numbers worked out here independently: hand-computed bytes and indices, exact integer arithmetic and
   small second implementations; plus the wsi driver's --dump-prompt on synthetic slides written here. */
#include "mgtest.h"
#include "mgx_volume_prompt.h"
#include "mgx_slide.h"
#include "mgx_medical.h"
#include <stdint.h>
#include <unistd.h>

/* ---- independent references -------------------------------------------------------------------------- */

/* round(num/den) with halves to even, exact integers (den > 0, num >= 0). */
static long exact_round_div(long num, long den) {
    long q = num / den, r = num % den;
    if (2 * r > den || (2 * r == den && (q & 1))) q++;
    return q;
}
/* Python's round() of a double: floor, then compare the fraction with 0.5 (no nearbyint). */
static long py_round(double x) {
    double f = floor(x), d = x - f;
    long q = (long)f;
    if (d > 0.5 || (d == 0.5 && (q & 1))) q++;
    return q;
}
/* One CT/MRI channel for an integer value: round((clip(v)-lo)*255/(hi-lo)), exact. */
static int window_ref(long v, long lo, long hi) {
    if (v <= lo) return 0;
    if (v >= hi) return 255;
    return (int)exact_round_div((v - lo) * 255, hi - lo);
}

/* A little-endian NIfTI-1 .nii: int16 voxels, dims w x h x d, no scaling. */
static void put16(unsigned char *p, int v) { p[0] = (unsigned char)(v & 255); p[1] = (unsigned char)((v >> 8) & 255); }
static void put32f(unsigned char *p, float f) { uint32_t u; memcpy(&u, &f, 4); p[0] = u & 255; p[1] = (u >> 8) & 255; p[2] = (u >> 16) & 255; p[3] = u >> 24; }
static int write_nifti_i16(const char *path, int w, int h, int d, const short *vals) {
    unsigned char hdr[352];
    FILE *f;
    int i, ok;
    memset(hdr, 0, sizeof hdr);
    hdr[0] = 0x5C; hdr[1] = 1;                       /* sizeof_hdr 348 */
    put16(hdr + 40, 3); put16(hdr + 42, w); put16(hdr + 44, h); put16(hdr + 46, d);
    for (i = 4; i < 8; i++) put16(hdr + 40 + 2 * i, 1);
    put16(hdr + 70, 4); put16(hdr + 72, 16);         /* DT_INT16, 16 bits */
    for (i = 0; i < 8; i++) put32f(hdr + 76 + 4 * i, 1.0f);
    put32f(hdr + 108, 352.0f);                       /* vox_offset */
    memcpy(hdr + 344, "n+1", 4);
    if (!(f = fopen(path, "wb"))) return -1;
    ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
    for (i = 0; ok && i < w * h * d; i++) { unsigned char b[2]; put16(b, vals[i]); ok = fwrite(b, 1, 2, f) == 2; }
    return fclose(f) == 0 && ok ? 0 : -1;
}

static char tmpdir[64];
static char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* Runs a command, returns its stdout (malloc'd) and exit status. */
static char *run(const char *cmd, int *status) {
    FILE *p = popen(cmd, "r");
    char *out = NULL;
    size_t n = 0, cap = 0;
    int c;
    if (!p) { *status = -1; return NULL; }
    while ((c = fgetc(p)) != EOF) {
        if (n + 2 > cap) { char *q = (char *)realloc(out, cap = cap * 2 + 256); if (!q) break; out = q; }
        out[n++] = (char)c;
    }
    if (out) out[n] = 0;
    else out = (char *)calloc(1, 1);
    *status = pclose(p);
    return out;
}

/* The models, and a --dump-prompt output without its "tokens: N" lines (the template text is compared whole). */
#define MODELS "-m tests/data/models/tiny-q4_k_m.gguf --mmproj tests/data/models/mmproj-tiny-f16.gguf"
/* Where the programs are: $B (the Makefile's build directory, e.g. build/asan), else build. */
static const char *bin_dir(void) {
    const char *b = getenv("B");
    return b && *b && strlen(b) < 200 ? b : "build";
}
static char *untok(char *out) {
    char *at;
    while (out && (at = strstr(out, "tokens: ")) != NULL && (at == out || at[-1] == '\n')) {
        char *end = strchr(at, '\n');
        memmove(at, end ? end + 1 : at + strlen(at), strlen(end ? end + 1 : at + strlen(at)) + 1);
    }
    return out;
}
/* One user turn of the wsi recipe: the prompt, then each image (no system text). */
#define TURN(prompt, images) "<bos><start_of_turn>user\n" prompt images "<end_of_turn>\n<start_of_turn>model\n"
#define IMG(i, src) "\n\n<start_of_image><image " #i ": " src "><end_of_image>\n\n"

/* ---- slice choice ------------------------------------------------------------------------------------- */
static void test_sampling(void) {
    int idx[100], n, i, N, K, bad = 0;
    /* 200 slices, 85 kept: round(i*199/85) exactly (no exact halves here since 199 is prime) */
    n = mgx_sample_slices(200, 85, idx);
    CHECK(n == 85, "85 of 200: %d", n);
    for (i = 1; i <= 85 && n == 85; i++)
        if (idx[i - 1] != exact_round_div((long)i * 199, 85)) { bad++; break; }
    CHECK(!bad, "85 of 200 differ at i=%d", i);
    CHECK(idx[0] == 2 && idx[1] == 5 && idx[42] == 101 && idx[84] == 199, "hand values %d %d %d %d", idx[0], idx[1], idx[42], idx[84]);
    /* 10 of 200: i=5 gives exactly 99.5 -> 100 (even) */
    n = mgx_sample_slices(200, 10, idx);
    {
        static const int want[10] = { 20, 40, 60, 80, 100, 119, 139, 159, 179, 199 };
        CHECK(n == 10 && !memcmp(idx, want, sizeof want), "10 of 200: %d %d %d", n, idx[4], idx[5]);
    }
    /* 46 slices, 10 kept, i=7: exactly 31.5, but Python computes 7/10*45 = 31.499999999999996 -> 31; we follow
       the notebook's float order */
    n = mgx_sample_slices(46, 10, idx);
    CHECK(n == 10 && idx[6] == 31, "46/10 i=7: %d", idx[6]);
    /* N <= K: all, in order */
    n = mgx_sample_slices(85, 85, idx);
    for (i = 0, bad = 0; i < n; i++) bad += idx[i] != i;
    CHECK(n == 85 && !bad, "85 of 85");
    n = mgx_sample_slices(5, 85, idx);
    CHECK(n == 5 && idx[0] == 0 && idx[4] == 4, "5 of 85");
    CHECK(mgx_sample_slices(0, 85, idx) == 0 && mgx_sample_slices(10, 0, idx) == 0, "empty");
    CHECK(mgx_sample_slices(1, 1, idx) == 1 && idx[0] == 0, "1 of 1");
    /* a sweep against a second implementation: the same double product, rounded by floor-and-compare */
    for (N = 2, bad = 0; N < 700; N++)
        for (K = 1; K < 100 && K < N; K++) {
            n = mgx_sample_slices(N, K, idx);
            if (n != K) { bad++; continue; }
            for (i = 1; i <= K; i++) {
                long want = py_round((double)i / (double)K * (double)(N - 1));
                if (idx[i - 1] != want || (i > 1 && idx[i - 1] < idx[i - 2]) || idx[K - 1] != N - 1) { bad++; break; }
            }
        }
    CHECK(!bad, "sweep: %d (N, K) pairs differ", bad);
}

/* ---- CT windows and MRI min-max ------------------------------------------------------------------------ */
static void test_windows(void) {
    /* hand-computed: R = (v+1024)*255/2048, G = (v+135)*255/350, B = v*255/80, clipped, halves to even */
    static const struct { int hu; unsigned char r, g, b; } t[] = {
        { -2000, 0, 0, 0 }, { -1024, 0, 0, 0 }, { -135, 111, 0, 0 }, { -100, 115, 26, 0 },   /* G 25.5 -> 26 */
        { -30, 124, 76, 0 },                                                                   /* G 76.5 -> 76 */
        { 0, 128, 98, 0 },                                                                     /* R 127.5 -> 128 */
        { 20, 130, 113, 64 }, { 40, 132, 128, 128 },                                           /* G, B 127.5 -> 128 */
        { 80, 137, 157, 255 }, { 215, 154, 255, 255 }, { 1024, 255, 255, 255 }, { 3000, 255, 255, 255 },
    };
    size_t i;
    int v, bad = 0;
    unsigned char rgb[3];
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        mgx_ct_rgb(t[i].hu, rgb);
        CHECK(rgb[0] == t[i].r && rgb[1] == t[i].g && rgb[2] == t[i].b, "HU %d -> %d %d %d, want %d %d %d", t[i].hu,
              rgb[0], rgb[1], rgb[2], t[i].r, t[i].g, t[i].b);
    }
    for (v = -1500; v <= 1500; v++) {
        mgx_ct_rgb(v, rgb);
        if (rgb[0] != window_ref(v, -1024, 1024) || rgb[1] != window_ref(v, -135, 215) || rgb[2] != window_ref(v, 0, 80)) bad++;
    }
    CHECK(!bad, "%d integer HU values differ from the exact reference", bad);
    mgx_ct_rgb(NAN, rgb);
    CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0, "NaN -> 0");
    mgx_ct_rgb(INFINITY, rgb);
    CHECK(rgb[0] == 255 && rgb[2] == 255, "+inf -> 255");
}

static void test_volumes(void) {
    short *vals;
    mgx_volume v;
    mgx_image imgs[85];
    int idx[85], n, i, p, bad, z;
    char err[256];
    const int w = 3, h = 2, d = 200;
    /* 200 slices, slice z = z*10 - 1000 HU (plus the pixel number, so rows and columns are checked too) */
    vals = (short *)malloc(sizeof(short) * w * h * d);
    for (z = 0; z < d; z++) for (p = 0; p < w * h; p++) vals[z * w * h + p] = (short)(z * 10 - 1000 + p);
    CHECK(write_nifti_i16(tmp_path("ct200.nii"), w, h, d, vals) == 0, "write ct200.nii");
    CHECK(mgx_volume_load(tmp_path("ct200.nii"), &v, err, sizeof err) == 0, "load: %s", err);
    CHECK(v.w == w && v.h == h && v.d == d, "dims %d %d %d", v.w, v.h, v.d);
    n = mgx_sample_slices(v.d, 85, idx);
    CHECK(mgx_volume_slice_images(&v, MGX_SLICES_CT, idx, n, imgs, err, sizeof err) == 0, "CT images: %s", err);
    for (i = 0, bad = 0; i < n; i++) {
        CHECK(imgs[i].w == w && imgs[i].h == h && imgs[i].channels == 3, "image %d shape", i);
        for (p = 0; p < w * h; p++) {
            long hu = (long)idx[i] * 10 - 1000 + p;
            const unsigned char *px = imgs[i].px + p * 3;
            if (px[0] != window_ref(hu, -1024, 1024) || px[1] != window_ref(hu, -135, 215) || px[2] != window_ref(hu, 0, 80)) bad++;
        }
        mgx_image_free(&imgs[i]);
    }
    CHECK(!bad, "%d CT pixels differ", bad);
    /* an index out of range is refused, nothing leaks */
    idx[0] = 200;
    CHECK(mgx_volume_slice_images(&v, MGX_SLICES_CT, idx, 1, imgs, err, sizeof err) != 0 && imgs[0].px == NULL, "bad index refused");
    mgx_volume_free(&v);

    /* MRI: 3 slices of 2 x 2, values -20 .. 57 (7k - 20), min-max over the whole volume: (v+20)*255/77 */
    for (i = 0; i < 12; i++) vals[i] = (short)(7 * i - 20);
    CHECK(write_nifti_i16(tmp_path("mr3.nii"), 2, 2, 3, vals) == 0, "write mr3.nii");
    CHECK(mgx_volume_load(tmp_path("mr3.nii"), &v, err, sizeof err) == 0, "load mr3: %s", err);
    n = mgx_sample_slices(v.d, 85, idx);
    CHECK(n == 3, "3 slices");
    CHECK(mgx_volume_slice_images(&v, MGX_SLICES_MRI, idx, n, imgs, err, sizeof err) == 0, "MRI images: %s", err);
    {
        /* hand: 7k*255/77 for k = 0..11 -> 0, 23.18, 46.36, 69.55, 92.73, 115.9, 139.1, 162.3, 185.5, 208.6, 231.8, 255 */
        static const unsigned char want[12] = { 0, 23, 46, 70, 93, 116, 139, 162, 185, 209, 232, 255 };
        for (i = 0, bad = 0; i < 12; i++) {
            const unsigned char *px = imgs[i / 4].px + (i % 4) * 3;
            if (px[0] != want[i] || px[1] != want[i] || px[2] != want[i] || px[0] != window_ref(7 * i, 0, 77)) bad++;
        }
        CHECK(!bad, "MRI min-max: %d pixels differ", bad);
    }
    for (i = 0; i < n; i++) mgx_image_free(&imgs[i]);
    mgx_volume_free(&v);
    /* a constant volume maps to 0 */
    for (i = 0; i < 4; i++) vals[i] = 300;
    CHECK(write_nifti_i16(tmp_path("flat.nii"), 2, 2, 1, vals) == 0 && mgx_volume_load(tmp_path("flat.nii"), &v, err, sizeof err) == 0, "flat");
    idx[0] = 0;
    CHECK(mgx_volume_slice_images(&v, MGX_SLICES_MRI, idx, 1, imgs, err, sizeof err) == 0 && imgs[0].px[0] == 0 && imgs[0].px[11] == 0, "flat -> 0");
    mgx_image_free(&imgs[0]);
    mgx_volume_free(&v);
    free(vals);
}

static void test_prompt(void) {
    mgx_slice_prompt p;
    mg_image_embd e[3];
    int ok;
    memset(e, 0, sizeof e);
    CHECK(mgx_slice_prompt_build(&p, "INSTR", e, 3, "Q?") == 0, "build");
    ok = p.n_items == 8 && !strcmp(p.items[0].text, "INSTR") && !p.items[1].text && p.items[1].image == &e[0] &&
         !strcmp(p.items[2].text, "SLICE 1") && p.items[3].image == &e[1] && !strcmp(p.items[4].text, "SLICE 2") &&
         p.items[5].image == &e[2] && !strcmp(p.items[6].text, "SLICE 3") && !strcmp(p.items[7].text, "Q?");
    CHECK(ok, "order [instruction, img, SLICE 1, img, SLICE 2, img, SLICE 3, question]");
    mgx_slice_prompt_free(&p);
    CHECK(!strcmp(MGX_CT_INSTRUCTION, "You are an instructor teaching medical students. You are analyzing a contiguous "
                  "block of CT slices from the center of the abdomen. Please review the slices provided below carefully."),
          "CT instruction verbatim");
}

/* ---- whole slide ------------------------------------------------------------------------------------------ */
static void fill(mgx_image *im, int x0, int y0, int w, int h, int r, int g, int b) {
    int x, y;
    for (y = y0; y < y0 + h && y < im->h; y++)
        for (x = x0; x < x0 + w && x < im->w; x++) {
            unsigned char *p = im->px + ((size_t)y * im->w + x) * 3;
            p[0] = (unsigned char)r; p[1] = (unsigned char)g; p[2] = (unsigned char)b;
        }
}

static void test_slide(void) {
    mgx_image s, t, back;
    char err[256], cmd[1024], *out;
    int cols, rows, *tiles, n, st, i, seen0 = 0, seen1 = 0;
    /* 2000 x 1800: a 2 x 2 grid (the last 208 columns and 8 rows are partial tiles, dropped).
       (0,0) all pink -> kept; (1,0) a 448 x 448 block = exactly 25% -> kept; (0,1) 447 x 448, just under -> dropped;
       (1,1) dark grey and (240,230,220) (spread exactly 20, not > 20) -> no tissue; the partial strips are pink. */
    CHECK(mgx_image_alloc(&s, 2000, 1800, 3, err, sizeof err) == 0, "alloc");
    memset(s.px, 255, (size_t)2000 * 1800 * 3);
    fill(&s, 0, 0, 896, 896, 230, 150, 200);
    fill(&s, 896 + 100, 200, 448, 448, 180, 90, 160);
    fill(&s, 10, 896 + 10, 447, 448, 120, 60, 150);
    fill(&s, 896, 896, 448, 896, 60, 60, 60);
    fill(&s, 896 + 448, 896, 448, 896, 240, 230, 220);
    fill(&s, 1792, 0, 208, 1800, 230, 150, 200);
    fill(&s, 0, 1792, 2000, 8, 230, 150, 200);
    CHECK(mgx_png_write_file(tmp_path("slide.png"), &s, err, sizeof err) == 0, "write slide: %s", err);
    mgx_slide_grid(2000, 1800, &cols, &rows);
    CHECK(cols == 2 && rows == 2, "grid %dx%d", cols, rows);
    CHECK(mgx_slide_load(tmp_path("slide.png"), &back, err, sizeof err) == 0 && back.w == 2000 && back.h == 1800 &&
          back.channels == 3 && !memcmp(back.px, s.px, (size_t)2000 * 1800 * 3), "slide round trip");
    n = mgx_slide_tissue_tiles(&back, &tiles);
    CHECK(n == 2 && tiles[0] == 0 && tiles[1] == 1, "tissue tiles: %d (%d %d)", n, n > 0 ? tiles[0] : -1, n > 1 ? tiles[1] : -1);
    free(tiles);
    CHECK(mgx_tile_extract(&back, 896, 0, &t, err, sizeof err) == 0 && t.w == 896 && t.h == 896, "extract (1,0)");
    CHECK(!memcmp(t.px, back.px + 896 * 3, 896 * 3) && !memcmp(t.px + (size_t)895 * 896 * 3, back.px + ((size_t)895 * 2000 + 896) * 3, 896 * 3), "tile rows copied");
    mgx_image_free(&t);
    mgx_image_free(&back);
    mgx_image_free(&s);

    /* smaller than a tile: 500 x 300 -> one tile, padded white; 30% coloured counts over the 500 x 300 pixels */
    mgx_slide_grid(500, 300, &cols, &rows);
    CHECK(cols == 1 && rows == 1, "small grid %dx%d", cols, rows);
    mgx_slide_grid(1000, 300, &cols, &rows);
    CHECK(cols == 1 && rows == 1, "1000x300 grid %dx%d", cols, rows);
    mgx_slide_grid(900, 2700, &cols, &rows);
    CHECK(cols == 1 && rows == 3, "900x2700 grid %dx%d", cols, rows);
    CHECK(mgx_image_alloc(&s, 500, 300, 3, err, sizeof err) == 0, "alloc small");
    memset(s.px, 255, (size_t)500 * 300 * 3);
    fill(&s, 0, 0, 150, 300, 200, 100, 150);              /* 150*300 = 30% of 500*300, 5.6% of 896*896 */
    n = mgx_slide_tissue_tiles(&s, &tiles);
    CHECK(n == 1 && tiles[0] == 0, "small slide kept: %d", n);
    free(tiles);
    CHECK(mgx_tile_extract(&s, 0, 0, &t, err, sizeof err) == 0, "extract small");
    CHECK(t.px[0] == 200 && t.px[1] == 100 && t.px[((size_t)299 * 896 + 499) * 3] == 255 && t.px[(size_t)500 * 3] == 255 &&
          t.px[((size_t)300 * 896) * 3] == 255 && t.px[((size_t)895 * 896 + 895) * 3 + 2] == 255, "padding is white");
    mgx_image_free(&t);
    fill(&s, 150, 0, 350, 300, 120, 120, 120);            /* grey: still 30% */
    CHECK(mgx_png_write_file(tmp_path("small.png"), &s, err, sizeof err) == 0, "write small");
    mgx_image_free(&s);

    /* the seeded generator: splitmix64's published first output for seed 0 */
    {
        uint64_t st0 = 0;
        CHECK(mgx_splitmix64(&st0) == 0xE220A8397B1DCDAFull, "splitmix64(0)");
    }
    /* sampling: k distinct, ascending, in range; same seed -> same; roughly uniform */
    {
        int a[50], b[50], seed, bad = 0, differ = 0, count[10] = { 0 };
        for (seed = 0; seed < 2000; seed++) {
            n = mgx_sample_sorted(50, 10, (uint64_t)seed, a);
            if (n != 10) { bad++; continue; }
            for (i = 0; i < 10; i++) if (a[i] < 0 || a[i] >= 50 || (i && a[i] <= a[i - 1])) bad++;
            mgx_sample_sorted(50, 10, (uint64_t)seed, b);
            if (memcmp(a, b, sizeof(int) * 10)) bad++;
            mgx_sample_sorted(50, 10, (uint64_t)seed + 1, b);
            if (memcmp(a, b, sizeof(int) * 10)) differ++;
            n = mgx_sample_sorted(10, 3, (uint64_t)seed, a);
            for (i = 0; i < n; i++) count[a[i]]++;
        }
        CHECK(!bad, "sample invariants: %d", bad);
        CHECK(differ > 1990, "different seeds differ: %d", differ);
        for (i = 0, bad = 0; i < 10; i++) bad += count[i] < 500 || count[i] > 700;   /* expected 600 each */
        CHECK(!bad, "uniform-ish: %d %d %d", count[0], count[5], count[9]);
        n = mgx_sample_sorted(7, 125, 9, a);
        for (i = 0, bad = 0; i < n; i++) bad += a[i] != i;
        CHECK(n == 7 && !bad, "k >= n keeps all");
    }

    /* the real CAMELYON multi-frame DICOM: 1152 x 700 -> 1 x 1 grid; tile (0,0) covers 896 x 700 slide pixels.
       Tissue counted here with a loop of our own: 28.6%, >= 25% -> kept. */
    CHECK(mgx_slide_load("tests/data/wsi/camelyon_multiframe_wsi.dcm", &s, err, sizeof err) == 0, "camelyon: %s", err);
    if (s.px) {
        long tissue = 0;
        int x, y;
        CHECK(s.w == 1152 && s.h == 700 && s.channels == 3, "camelyon %dx%dx%d", s.w, s.h, s.channels);
        mgx_slide_grid(s.w, s.h, &cols, &rows);
        CHECK(cols == 1 && rows == 1, "camelyon grid %dx%d", cols, rows);
        for (y = 0; y < 700; y++)
            for (x = 0; x < 896; x++) {
                const unsigned char *p = s.px + ((size_t)y * 1152 + x) * 3;
                int mx = p[0] > p[1] ? p[0] : p[1], mn = p[0] < p[1] ? p[0] : p[1];
                mx = p[2] > mx ? p[2] : mx; mn = p[2] < mn ? p[2] : mn;
                tissue += mx - mn > 20;
            }
        CHECK(tissue * 4 >= 896L * 700 && tissue * 100 < 896L * 700 * 35, "camelyon tissue %ld of %ld", tissue, 896L * 700);
        CHECK(mgx_tissue_pixels(&s, 0, 0, 896, 896) == tissue, "tissue count agrees");
        n = mgx_slide_tissue_tiles(&s, &tiles);
        CHECK(n == 1 && tiles[0] == 0, "camelyon keeps tile 0");
        free(tiles);
        mgx_image_free(&s);
    }

    /* the wsi driver on the synthetic slide */
    snprintf(cmd, sizeof cmd, "%s/wsi %s -q 'colon, biopsy:' --dump-prompt " MODELS " 2>/dev/null", bin_dir(), tmp_path("slide.png"));
    out = untok(run(cmd, &st));
    CHECK(st == 0 && !strcmp(out, TURN("colon, biopsy:", IMG(0, "tile (0,0)") IMG(1, "tile (896,0)")) "indices: 0 1\n"), "wsi all: %s", out);
    free(out);
    for (i = 0; i < 10; i++) {
        char *again;
        snprintf(cmd, sizeof cmd, "%s/wsi %s -q P --patches 1 --seed %d --dump-prompt " MODELS " 2>/dev/null", bin_dir(), tmp_path("slide.png"), i);
        out = untok(run(cmd, &st));
        again = untok(run(cmd, &st));
        if (!strcmp(out, TURN("P", IMG(0, "tile (0,0)")) "indices: 0\n")) seen0++;
        else if (!strcmp(out, TURN("P", IMG(0, "tile (896,0)")) "indices: 1\n")) seen1++;
        else CHECK(0, "wsi --patches 1: %s", out);
        CHECK(!strcmp(out, again), "wsi same seed, same patch");
        free(out); free(again);
    }
    CHECK(seen0 + seen1 == 10 && seen0 && seen1, "seeds pick both tissue tiles (%d, %d)", seen0, seen1);
    snprintf(cmd, sizeof cmd, "%s/wsi %s -q P --dump-prompt " MODELS " 2>/dev/null", bin_dir(), tmp_path("small.png"));
    out = untok(run(cmd, &st));
    CHECK(st == 0 && !strcmp(out, TURN("P", IMG(0, "tile (0,0)")) "indices: 0\n"), "wsi small slide: %s", out);
    free(out);
    /* a folder of patches: slide.png and small.png (indices 0, 1 among its images in name order); the rest is skipped */
    {
        FILE *f = fopen(tmp_path("z.txt"), "w");
        if (f) { fputs("not an image\n", f); fclose(f); }
        snprintf(cmd, sizeof cmd, "%s/wsi %s -q P --dump-prompt " MODELS " 2>/dev/null", bin_dir(), tmpdir);
        out = untok(run(cmd, &st));
        /* the folder also holds ct200.nii etc. (not images: skipped) */
        snprintf(cmd, sizeof cmd, TURN("P", IMG(0, "patch %s") IMG(1, "patch %s")) "indices: 0 1\n", tmp_path("slide.png"), tmp_path("small.png"));
        CHECK(st == 0 && !strcmp(out, cmd), "wsi folder: %s", out);
        free(out);
    }
    /* a white slide has no tissue: clear failure */
    CHECK(mgx_image_alloc(&s, 1000, 1000, 3, err, sizeof err) == 0, "alloc white");
    memset(s.px, 255, (size_t)1000 * 1000 * 3);
    CHECK(mgx_png_write_file(tmp_path("white.png"), &s, err, sizeof err) == 0, "write white");
    mgx_image_free(&s);
    snprintf(cmd, sizeof cmd, "%s/wsi %s -q P --dump-prompt " MODELS " 2>&1", bin_dir(), tmp_path("white.png"));
    out = run(cmd, &st);
    CHECK(st != 0 && strstr(out, "no patch is at least 25% tissue"), "white slide: %s", out);
    free(out);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mgvolXXXXXX", base && strlen(base) < 40 ? base : "/tmp");
    if (!mkdtemp(tmpdir)) { printf("FAIL cannot create a temporary directory\n0 passed, 1 failed\n"); return 1; }
    test_sampling();
    test_windows();
    test_volumes();
    test_prompt();
    test_slide();
    {
        const char *names[] = { "ct200.nii", "mr3.nii", "flat.nii", "slide.png", "small.png", "white.png", "z.txt" };
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; i++) remove(tmp_path(names[i]));
        rmdir(tmpdir);
    }
    return MG_TEST_END();
}
