/* test_image.c — tests for the example image readers (examples/readers: inflate.c, png.c, jpeg.c, pnm_bmp.c, image.c, detect.c).

   References (never the code's own earlier output):
   - Synthetic PNG/BMP/PNM files in tests/data/images were written by tests/data/images/make_images.py (its own
     small writers, not this code) with samples h(x,y,c) >> (32 - depth) of the hash below; the script checked
     every file against Pillow 9.4's decoding. Here the expected pixels are recomputed from that formula and the
     documented conversion rules (alpha over white, 16 -> 8 bit rounding, bit-field scaling).
   - JPEG and real-image pixel values and channel means: recorded once from Pillow 9.4 (libjpeg-turbo 2.1)
     Image.getpixel / numpy mean, as literals below.
   - Inflate: gzip files made by the `gzip` command, zlib/raw streams made by Python's zlib module, and
     hand-assembled streams; CRC-32 and Adler-32 published check values.
   - PNG writer: encode -> decode round trips (and, during development, Pillow opened the writer's files). */
#include "mgx_image.h"
#include "mgtest.h"

#include <stdint.h>
#include <unistd.h>

#define DIR "tests/data/images/"

/* ---- helpers ---- */

/* The generator's sample hash (make_images.py): ((x*7919 + y*104729 + c*31337 + 12345) * 2654435761) mod 2^32. */
static uint32_t hf(uint32_t x, uint32_t y, uint32_t c) { return (x * 7919u + y * 104729u + c * 31337u + 12345u) * 2654435761u; }
static unsigned samp(int x, int y, int c, int d) { return (unsigned)(hf((uint32_t)x, (uint32_t)y, (uint32_t)c) >> (32 - d)); }

/* Documented conversions: alpha over white at the sample depth, then 16 -> 8 bits with rounding. */
static unsigned over8(unsigned v, unsigned a) { return (v * a + 255u * (255u - a) + 127u) / 255u; }
static unsigned over16(unsigned v, unsigned a) {
    return (unsigned)(((uint64_t)v * a + 65535ull * (65535u - a) + 32767u) / 65535u);
}
static unsigned r16(unsigned v) { return (unsigned)(((uint64_t)v * 255u + 32767u) / 65535u); }
static unsigned scale(unsigned v, unsigned maxv) { return (v * 255u + maxv / 2) / maxv; }
static unsigned palc(unsigned i, int c) {   /* generator palette */
    return c == 0 ? (i * 37 + 11) & 255 : c == 1 ? (i * 91 + 7) & 255 : (i * 53 + 200) & 255;
}

static int load(const char *name, mgx_image *im) {
    char path[512], err[256] = "";
    int rc;
    snprintf(path, sizeof path, DIR "%s", name);
    rc = mgx_image_load_file(path, im, err, sizeof err);
    if (rc) printf("  load %s: %s\n", name, err);
    return rc;
}

typedef void (*expect_fn)(int x, int y, unsigned char *out);

/* Loads name and compares every pixel with fn. */
static void check_formula(const char *name, int w, int h, int ch, expect_fn fn) {
    mgx_image im;
    int x, y, c, bad = 0;
    if (load(name, &im)) { CHECK(0, "%s failed to load", name); return; }
    CHECK(im.w == w && im.h == h && im.channels == ch, "%s: got %dx%dx%d, want %dx%dx%d", name, im.w, im.h, im.channels, w, h, ch);
    if (im.w == w && im.h == h && im.channels == ch)
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                unsigned char e[4];
                fn(x, y, e);
                for (c = 0; c < ch; c++)
                    if (im.px[((size_t)y * w + x) * ch + c] != e[c]) {
                        if (bad < 3) printf("  %s (%d,%d,%d): got %d want %d\n", name, x, y, c, im.px[((size_t)y * w + x) * ch + c], e[c]);
                        bad++;
                    }
            }
    CHECK(bad == 0, "%s: %d samples differ from the formula", name, bad);
    mgx_image_free(&im);
}

/* ---- PNG expectations ---- */
static void e_g1(int x, int y, unsigned char *o) { o[0] = (unsigned char)(samp(x, y, 0, 1) * 255); }
static void e_g2(int x, int y, unsigned char *o) { o[0] = (unsigned char)(samp(x, y, 0, 2) * 85); }
static void e_g4(int x, int y, unsigned char *o) { o[0] = (unsigned char)(samp(x, y, 0, 4) * 17); }
static void e_g8_trns(int x, int y, unsigned char *o) {
    unsigned v = samp(x, y, 0, 8);
    o[0] = (unsigned char)(v == samp(3, 2, 0, 8) ? 255 : v);
}
static void e_g16(int x, int y, unsigned char *o) { o[0] = (unsigned char)r16(samp(x, y, 0, 16)); }
static void e_ga8(int x, int y, unsigned char *o) { o[0] = (unsigned char)over8(samp(x, y, 0, 8), samp(x, y, 1, 8)); }
static void e_ga16(int x, int y, unsigned char *o) { o[0] = (unsigned char)r16(over16(samp(x, y, 0, 16), samp(x, y, 1, 16))); }
static void e_rgb8(int x, int y, unsigned char *o) {
    int c;
    for (c = 0; c < 3; c++) o[c] = (unsigned char)samp(x, y, c, 8);
}
static void e_rgb16_trns(int x, int y, unsigned char *o) {
    int c, sx = x, sy = y, key = 1;
    if (x == 7 && y == 5) { sx = 2; sy = 1; }   /* generator copied pixel (2,1) here */
    for (c = 0; c < 3; c++) key &= samp(sx, sy, c, 16) == samp(2, 1, c, 16);
    for (c = 0; c < 3; c++) o[c] = (unsigned char)(key ? 255 : r16(samp(sx, sy, c, 16)));
}
static void e_rgba8(int x, int y, unsigned char *o) {
    int c;
    for (c = 0; c < 3; c++) o[c] = (unsigned char)over8(samp(x, y, c, 8), samp(x, y, 3, 8));
}
static void e_rgba16(int x, int y, unsigned char *o) {
    int c;
    for (c = 0; c < 3; c++) o[c] = (unsigned char)r16(over16(samp(x, y, c, 16), samp(x, y, 3, 16)));
}
static void e_pal(int x, int y, unsigned char *o, int d) {
    unsigned i = samp(x, y, 0, d), a = (d == 8 && i < 200) ? (i * 29) & 255 : 255;
    int c;
    for (c = 0; c < 3; c++) o[c] = (unsigned char)over8(palc(i, c), a);
}
static void e_pal1(int x, int y, unsigned char *o) { e_pal(x, y, o, 1); }
static void e_pal2(int x, int y, unsigned char *o) { e_pal(x, y, o, 2); }
static void e_pal4(int x, int y, unsigned char *o) { e_pal(x, y, o, 4); }
static void e_pal8(int x, int y, unsigned char *o) { e_pal(x, y, o, 8); }

/* ---- BMP / PNM expectations ---- */
static void e_bpal4(int x, int y, unsigned char *o) {
    int c;
    for (c = 0; c < 3; c++) o[c] = (unsigned char)palc(samp(x, y, 0, 4), c);
}
static void e_bpal1(int x, int y, unsigned char *o) { o[0] = (unsigned char)(samp(x, y, 0, 1) ? 255 : 0); }
static void e_b565(int x, int y, unsigned char *o) {
    o[0] = (unsigned char)scale(samp(x, y, 0, 5), 31);
    o[1] = (unsigned char)scale(samp(x, y, 1, 6), 63);
    o[2] = (unsigned char)scale(samp(x, y, 2, 5), 31);
}
static void e_n_p2(int x, int y, unsigned char *o) { o[0] = (unsigned char)samp(x, y, 0, 8); }
static void e_n_p3(int x, int y, unsigned char *o) {
    int c;
    for (c = 0; c < 3; c++) o[c] = (unsigned char)scale(samp(x, y, c, 16) % 1001, 1000);
}
static void e_n_p5(int x, int y, unsigned char *o) { o[0] = (unsigned char)r16(samp(x, y, 0, 16)); }
static void e_n_p6(int x, int y, unsigned char *o) {
    int c;
    for (c = 0; c < 3; c++) o[c] = (unsigned char)scale(samp(x, y, c, 8) % 101, 100);
}

static void test_synthetic(void) {
    check_formula("p_g1.png", 19, 13, 1, e_g1);
    check_formula("p_g2.png", 19, 13, 1, e_g2);
    check_formula("p_g4_adam7.png", 19, 13, 1, e_g4);
    check_formula("p_g8_trns.png", 19, 13, 1, e_g8_trns);
    check_formula("p_g16.png", 19, 13, 1, e_g16);
    check_formula("p_ga8.png", 19, 13, 1, e_ga8);
    check_formula("p_ga16_adam7.png", 19, 13, 1, e_ga16);
    check_formula("p_rgb8_adam7.png", 19, 13, 3, e_rgb8);
    check_formula("p_rgb16_trns.png", 19, 13, 3, e_rgb16_trns);
    check_formula("p_rgba8.png", 19, 13, 3, e_rgba8);
    check_formula("p_rgba16_adam7.png", 19, 13, 3, e_rgba16);
    check_formula("p_pal1.png", 19, 13, 3, e_pal1);
    check_formula("p_pal2.png", 19, 13, 3, e_pal2);
    check_formula("p_pal4_adam7.png", 19, 13, 3, e_pal4);
    check_formula("p_pal8.png", 19, 13, 3, e_pal8);
    check_formula("b_pal4.bmp", 13, 7, 3, e_bpal4);
    check_formula("b_pal1_topdown.bmp", 13, 7, 1, e_bpal1);
    check_formula("b_rgb24.bmp", 13, 7, 3, e_rgb8);
    check_formula("b_565_v5.bmp", 13, 7, 3, e_b565);
    check_formula("b_bgra32_v4.bmp", 13, 7, 3, e_rgba8);
    check_formula("n_p2.pgm", 11, 5, 1, e_n_p2);
    check_formula("n_p3_1000.ppm", 11, 5, 3, e_n_p3);
    check_formula("n_p5_16.pgm", 11, 5, 1, e_n_p5);
    check_formula("n_p6_100.ppm", 11, 5, 3, e_n_p6);
}

/* ---- real images against Pillow ---- */

typedef struct { int x, y; unsigned char v[3]; } px_ref;
typedef struct {
    const char *name;
    int w, h, ch;
    double mean[3];
    px_ref px[7];
} img_ref;

/* Pixel values and per-channel means of the whole image from Pillow 9.4 (libjpeg-turbo 2.1.5):
   Image.open(f).getpixel((x, y)) and numpy.asarray(im).mean(axis=(0, 1)).
   Measured over every pixel, |this decoder - Pillow| per channel (max / mean):
     j_420 2 / 0.031, j_422 3 / 0.037, j_444_prog 2 / 0.032, j_420_prog 3 / 0.026, j_12_rst 2 / 0.030,
     j_420_prog_rst 3 / 0.031, j_rgb 1 / 0.019, j_q16 1 / 0.002, j_grey 1 / 0.018, j_grey_prog 1 / 0.018,
     retina 3 / 0.022 (113 of 5.97 M samples differ by 3).
   Before colour conversion the Y/Cb/Cr planes differ by at most 1 (float IDCT vs libjpeg's integer "islow"
   IDCT); YCbCr -> RGB amplifies that (B = Y + 1.772 Cb) to at most 3. */
static const img_ref jpeg_refs[] = {
    {"j_420.jpg", 101, 67, 3, {173.379, 158.682, 145.217},
     {{0, 0, {147, 121, 86}}, {100, 0, {143, 120, 89}}, {0, 66, {158, 142, 127}}, {100, 66, {217, 218, 223}}, {50, 33, {155, 129, 96}}, {33, 44, {162, 148, 137}}, {78, 13, {211, 206, 210}}}},
    {"j_422.jpg", 101, 67, 3, {173.281, 158.703, 145.185},
     {{0, 0, {146, 121, 81}}, {100, 0, {149, 122, 93}}, {0, 66, {157, 144, 128}}, {100, 66, {216, 217, 222}}, {50, 33, {149, 125, 89}}, {33, 44, {162, 148, 135}}, {78, 13, {208, 206, 209}}}},
    {"j_444_prog.jpg", 101, 67, 3, {173.265, 158.715, 145.157},
     {{0, 0, {148, 120, 83}}, {100, 0, {145, 123, 99}}, {0, 66, {159, 143, 128}}, {100, 66, {214, 217, 222}}, {50, 33, {150, 124, 89}}, {33, 44, {161, 149, 133}}, {78, 13, {210, 205, 209}}}},
    {"j_420_prog.jpg", 101, 67, 3, {173.242, 158.773, 145.453},
     {{0, 0, {145, 122, 81}}, {100, 0, {140, 113, 83}}, {0, 66, {161, 145, 130}}, {100, 66, {215, 218, 223}}, {50, 33, {152, 128, 92}}, {33, 44, {162, 146, 130}}, {78, 13, {211, 202, 205}}}},
    {"j_12_rst.jpg", 101, 67, 3, {173.579, 158.504, 145.583},
     {{0, 0, {149, 121, 84}}, {100, 0, {141, 119, 95}}, {0, 66, {159, 141, 127}}, {100, 66, {215, 218, 223}}, {50, 33, {157, 128, 96}}, {33, 44, {164, 148, 133}}, {78, 13, {209, 207, 212}}}},
    {"j_420_prog_rst.jpg", 101, 67, 3, {173.252, 158.744, 145.243},
     {{0, 0, {150, 122, 82}}, {100, 0, {140, 114, 81}}, {0, 66, {160, 143, 127}}, {100, 66, {216, 219, 224}}, {50, 33, {152, 130, 91}}, {33, 44, {160, 147, 131}}, {78, 13, {207, 203, 200}}}},
    {"j_rgb.jpg", 101, 67, 3, {173.307, 158.706, 145.122},
     {{0, 0, {146, 121, 85}}, {100, 0, {144, 122, 94}}, {0, 66, {159, 142, 128}}, {100, 66, {213, 217, 224}}, {50, 33, {153, 127, 89}}, {33, 44, {163, 149, 132}}, {78, 13, {210, 205, 206}}}},
    {"j_q16.jpg", 101, 67, 3, {176.520, 157.485, 138.784},
     {{0, 0, {157, 120, 91}}, {100, 0, {143, 106, 77}}, {0, 66, {177, 140, 111}}, {100, 66, {228, 228, 228}}, {50, 33, {164, 127, 98}}, {33, 44, {177, 140, 111}}, {78, 13, {217, 217, 217}}}},
    {"j_grey.jpg", 101, 67, 1, {161.528, 0, 0},
     {{0, 0, {124, 0, 0}}, {100, 0, {127, 0, 0}}, {0, 66, {146, 0, 0}}, {100, 66, {217, 0, 0}}, {50, 33, {128, 0, 0}}, {33, 44, {151, 0, 0}}, {78, 13, {207, 0, 0}}}},
    {"j_grey_prog.jpg", 101, 67, 1, {161.528, 0, 0},
     {{0, 0, {124, 0, 0}}, {100, 0, {127, 0, 0}}, {0, 66, {146, 0, 0}}, {100, 66, {217, 0, 0}}, {50, 33, {128, 0, 0}}, {33, 44, {151, 0, 0}}, {78, 13, {207, 0, 0}}}},
    {"retina.jpg", 1411, 1411, 3, {159.434, 63.545, 46.115},
     {{0, 0, {0, 0, 0}}, {1410, 0, {2, 0, 1}}, {0, 1410, {2, 0, 1}}, {1410, 1410, {0, 0, 0}}, {705, 705, {187, 46, 26}}, {470, 940, {236, 96, 71}}, {1097, 282, {195, 80, 53}}}},
};

/* Exact Pillow values for lossless files. */
static const img_ref exact_refs[] = {
    {"img-small-300x200.png", 300, 200, 3, {138.43525, 129.74927, 113.23618},
     {{0, 0, {0, 0, 255}}, {299, 199, {0, 255, 0}}, {150, 100, {255, 127, 126}}, {37, 151, {255, 31, 61}}, {250, 20, {0, 213, 229}}, {120, 60, {0, 102, 178}}, {0, 0, {0, 0, 255}}}},
    {"b_colon_grey8.bmp", 101, 67, 1, {161.51529, 0, 0},
     {{0, 0, {124, 0, 0}}, {100, 66, {220, 0, 0}}, {50, 33, {132, 0, 0}}, {10, 60, {107, 0, 0}}, {90, 5, {156, 0, 0}}, {0, 0, {124, 0, 0}}, {0, 0, {124, 0, 0}}}},
};

static void check_ref(const img_ref *r, int tol, double mean_tol) {
    mgx_image im;
    int i, c, worst = 0;
    if (load(r->name, &im)) { CHECK(0, "%s failed to load", r->name); return; }
    CHECK(im.w == r->w && im.h == r->h && im.channels == r->ch, "%s: got %dx%dx%d", r->name, im.w, im.h, im.channels);
    if (im.w != r->w || im.h != r->h || im.channels != r->ch) { mgx_image_free(&im); return; }
    for (i = 0; i < 7; i++)
        for (c = 0; c < r->ch; c++) {
            int d = abs((int)im.px[((size_t)r->px[i].y * im.w + r->px[i].x) * im.channels + c] - (int)r->px[i].v[c]);
            if (d > worst) worst = d;
        }
    CHECK(worst <= tol, "%s: pixel differs from Pillow by %d (allowed %d)", r->name, worst, tol);
    for (c = 0; c < r->ch; c++) {
        double sum = 0;
        size_t k, npx = (size_t)im.w * im.h;
        for (k = 0; k < npx; k++) sum += im.px[k * im.channels + c];
        CHECK(fabs(sum / (double)npx - r->mean[c]) <= mean_tol, "%s: channel %d mean %.3f, Pillow %.3f", r->name, c,
              sum / (double)npx, r->mean[c]);
    }
    mgx_image_free(&im);
}

static void test_real(void) {
    size_t i;
    mgx_image a, b;
    for (i = 0; i < sizeof jpeg_refs / sizeof jpeg_refs[0]; i++) check_ref(&jpeg_refs[i], 2, 0.05);
    for (i = 0; i < sizeof exact_refs / sizeof exact_refs[0]; i++) check_ref(&exact_refs[i], 0, 0.001);
    /* The fixture's PPM and PNG hold the same pixels. */
    if (load("img-small-300x200.ppm", &a) == 0 && load("img-small-300x200.png", &b) == 0) {
        CHECK(a.w == b.w && a.h == b.h && a.channels == b.channels &&
              memcmp(a.px, b.px, (size_t)a.w * a.h * a.channels) == 0, "PPM and PNG of img-small-300x200 differ");
        mgx_image_free(&b);
    } else {
        CHECK(0, "img-small-300x200 PPM/PNG failed to load");
    }
    mgx_image_free(&a);
}

/* ---- inflate ---- */

/* msg = b"MedGemma inflate test: " + b"abcabcabcabc" * 20 + bytes(range(256)) + b"the end." compressed by
   Python 3.11's zlib: z_msg = zlib.compress(msg, 9); raw_msg = raw deflate (wbits -15), level 6. */
static const unsigned char z_msg[313] = {
    0x78, 0xda, 0xf3, 0x4d, 0x4d, 0x71, 0x4f, 0xcd, 0xcd, 0x4d, 0x54, 0xc8, 0xcc, 0x4b, 0xcb, 0x49, 0x2c, 0x49, 0x55, 0x28,
    0x49, 0x2d, 0x2e, 0xb1, 0x52, 0x48, 0x4c, 0x4a, 0x1e, 0x51, 0x88, 0x81, 0x91, 0x89, 0x99, 0x85, 0x95, 0x8d, 0x9d, 0x83,
    0x93, 0x8b, 0x9b, 0x87, 0x97, 0x8f, 0x5f, 0x40, 0x50, 0x48, 0x58, 0x44, 0x54, 0x4c, 0x5c, 0x42, 0x52, 0x4a, 0x5a, 0x46,
    0x56, 0x4e, 0x5e, 0x41, 0x51, 0x49, 0x59, 0x45, 0x55, 0x4d, 0x5d, 0x43, 0x53, 0x4b, 0x5b, 0x47, 0x57, 0x4f, 0xdf, 0xc0,
    0xd0, 0xc8, 0xd8, 0xc4, 0xd4, 0xcc, 0xdc, 0xc2, 0xd2, 0xca, 0xda, 0xc6, 0xd6, 0xce, 0xde, 0xc1, 0xd1, 0xc9, 0xd9, 0xc5,
    0xd5, 0xcd, 0xdd, 0xc3, 0xd3, 0xcb, 0xdb, 0xc7, 0xd7, 0xcf, 0x3f, 0x20, 0x30, 0x28, 0x38, 0x24, 0x34, 0x2c, 0x3c, 0x22,
    0x32, 0x2a, 0x3a, 0x26, 0x36, 0x2e, 0x3e, 0x01, 0x68, 0x47, 0x4a, 0x6a, 0x5a, 0x7a, 0x46, 0x66, 0x56, 0x76, 0x4e, 0x6e,
    0x5e, 0x7e, 0x41, 0x61, 0x51, 0x71, 0x49, 0x69, 0x59, 0x79, 0x45, 0x65, 0x55, 0x75, 0x4d, 0x6d, 0x5d, 0x7d, 0x43, 0x63,
    0x53, 0x73, 0x4b, 0x6b, 0x5b, 0x7b, 0x47, 0x67, 0x57, 0x77, 0x4f, 0x6f, 0x5f, 0xff, 0x84, 0x89, 0x93, 0x26, 0x4f, 0x99,
    0x3a, 0x6d, 0xfa, 0x8c, 0x99, 0xb3, 0x66, 0xcf, 0x99, 0x3b, 0x6f, 0xfe, 0x82, 0x85, 0x8b, 0x16, 0x2f, 0x59, 0xba, 0x6c,
    0xf9, 0x8a, 0x95, 0xab, 0x56, 0xaf, 0x59, 0xbb, 0x6e, 0xfd, 0x86, 0x8d, 0x9b, 0x36, 0x6f, 0xd9, 0xba, 0x6d, 0xfb, 0x8e,
    0x9d, 0xbb, 0x76, 0xef, 0xd9, 0xbb, 0x6f, 0xff, 0x81, 0x83, 0x87, 0x0e, 0x1f, 0x39, 0x7a, 0xec, 0xf8, 0x89, 0x93, 0xa7,
    0x4e, 0x9f, 0x39, 0x7b, 0xee, 0xfc, 0x85, 0x8b, 0x97, 0x2e, 0x5f, 0xb9, 0x7a, 0xed, 0xfa, 0x8d, 0x9b, 0xb7, 0x6e, 0xdf,
    0xb9, 0x7b, 0xef, 0xfe, 0x83, 0x87, 0x8f, 0x1e, 0x3f, 0x79, 0xfa, 0xec, 0xf9, 0x8b, 0x97, 0xaf, 0x5e, 0xbf, 0x79, 0xfb,
    0xee, 0xfd, 0x87, 0x8f, 0x9f, 0x3e, 0x7f, 0xf9, 0xfa, 0xed, 0xfb, 0x8f, 0x9f, 0xbf, 0x7e, 0xff, 0xf9, 0xfb, 0xef, 0x7f,
    0x49, 0x46, 0xaa, 0x42, 0x6a, 0x5e, 0x8a, 0x1e, 0x00, 0x55, 0xe2, 0xe6, 0x61,
};
static const unsigned char raw_msg[307] = {
    0xf3, 0x4d, 0x4d, 0x71, 0x4f, 0xcd, 0xcd, 0x4d, 0x54, 0xc8, 0xcc, 0x4b, 0xcb, 0x49, 0x2c, 0x49, 0x55, 0x28, 0x49, 0x2d,
    0x2e, 0xb1, 0x52, 0x48, 0x4c, 0x4a, 0x1e, 0x51, 0x88, 0x81, 0x91, 0x89, 0x99, 0x85, 0x95, 0x8d, 0x9d, 0x83, 0x93, 0x8b,
    0x9b, 0x87, 0x97, 0x8f, 0x5f, 0x40, 0x50, 0x48, 0x58, 0x44, 0x54, 0x4c, 0x5c, 0x42, 0x52, 0x4a, 0x5a, 0x46, 0x56, 0x4e,
    0x5e, 0x41, 0x51, 0x49, 0x59, 0x45, 0x55, 0x4d, 0x5d, 0x43, 0x53, 0x4b, 0x5b, 0x47, 0x57, 0x4f, 0xdf, 0xc0, 0xd0, 0xc8,
    0xd8, 0xc4, 0xd4, 0xcc, 0xdc, 0xc2, 0xd2, 0xca, 0xda, 0xc6, 0xd6, 0xce, 0xde, 0xc1, 0xd1, 0xc9, 0xd9, 0xc5, 0xd5, 0xcd,
    0xdd, 0xc3, 0xd3, 0xcb, 0xdb, 0xc7, 0xd7, 0xcf, 0x3f, 0x20, 0x30, 0x28, 0x38, 0x24, 0x34, 0x2c, 0x3c, 0x22, 0x32, 0x2a,
    0x3a, 0x26, 0x36, 0x2e, 0x3e, 0x01, 0x68, 0x47, 0x4a, 0x6a, 0x5a, 0x7a, 0x46, 0x66, 0x56, 0x76, 0x4e, 0x6e, 0x5e, 0x7e,
    0x41, 0x61, 0x51, 0x71, 0x49, 0x69, 0x59, 0x79, 0x45, 0x65, 0x55, 0x75, 0x4d, 0x6d, 0x5d, 0x7d, 0x43, 0x63, 0x53, 0x73,
    0x4b, 0x6b, 0x5b, 0x7b, 0x47, 0x67, 0x57, 0x77, 0x4f, 0x6f, 0x5f, 0xff, 0x84, 0x89, 0x93, 0x26, 0x4f, 0x99, 0x3a, 0x6d,
    0xfa, 0x8c, 0x99, 0xb3, 0x66, 0xcf, 0x99, 0x3b, 0x6f, 0xfe, 0x82, 0x85, 0x8b, 0x16, 0x2f, 0x59, 0xba, 0x6c, 0xf9, 0x8a,
    0x95, 0xab, 0x56, 0xaf, 0x59, 0xbb, 0x6e, 0xfd, 0x86, 0x8d, 0x9b, 0x36, 0x6f, 0xd9, 0xba, 0x6d, 0xfb, 0x8e, 0x9d, 0xbb,
    0x76, 0xef, 0xd9, 0xbb, 0x6f, 0xff, 0x81, 0x83, 0x87, 0x0e, 0x1f, 0x39, 0x7a, 0xec, 0xf8, 0x89, 0x93, 0xa7, 0x4e, 0x9f,
    0x39, 0x7b, 0xee, 0xfc, 0x85, 0x8b, 0x97, 0x2e, 0x5f, 0xb9, 0x7a, 0xed, 0xfa, 0x8d, 0x9b, 0xb7, 0x6e, 0xdf, 0xb9, 0x7b,
    0xef, 0xfe, 0x83, 0x87, 0x8f, 0x1e, 0x3f, 0x79, 0xfa, 0xec, 0xf9, 0x8b, 0x97, 0xaf, 0x5e, 0xbf, 0x79, 0xfb, 0xee, 0xfd,
    0x87, 0x8f, 0x9f, 0x3e, 0x7f, 0xf9, 0xfa, 0xed, 0xfb, 0x8f, 0x9f, 0xbf, 0x7e, 0xff, 0xf9, 0xfb, 0xef, 0x7f, 0x49, 0x46,
    0xaa, 0x42, 0x6a, 0x5e, 0x8a, 0x1e, 0x00,
};

static size_t make_msg(unsigned char *m) {
    size_t n = 0;
    int i;
    memcpy(m, "MedGemma inflate test: ", 23);
    n = 23;
    for (i = 0; i < 20; i++, n += 12) memcpy(m + n, "abcabcabcabc", 12);
    for (i = 0; i < 256; i++) m[n++] = (unsigned char)i;
    memcpy(m + n, "the end.", 8);
    return n + 8;
}

/* Hand-assembled raw streams (bits written per RFC 1951 by a few lines of Python):
   far: fixed block whose first symbol is a length/distance pair; near: 'A' then distance 2;
   oversub: dynamic block whose code-length code has three 1-bit codes; incomplete: only one 1-bit code. */
static const unsigned char raw_far[3] = {0x03, 0x02, 0x00};
static const unsigned char raw_near[4] = {0x73, 0x04, 0x42, 0x00};
static const unsigned char raw_oversub[4] = {0x05, 0x00, 0x92, 0x00};
static const unsigned char raw_incomplete[4] = {0x05, 0x00, 0x02, 0x00};

static int inflate_fails(const void *src, size_t n, int fmt, size_t max_out, const char *want) {
    unsigned char *out = (unsigned char *)1;
    size_t on = 1;
    char err[256] = "";
    int rc = mgx_inflate(src, n, fmt, max_out, &out, &on, err, sizeof err);
    if (rc == 0) free(out);
    return rc == -1 && out == NULL && on == 0 && err[0] && (!want || strstr(err, want));
}

static int inflate_equals(const void *src, size_t n, int fmt, const void *want, size_t want_n) {
    unsigned char *out;
    size_t on;
    char err[256] = "";
    int ok;
    if (mgx_inflate(src, n, fmt, 0, &out, &on, err, sizeof err)) {
        printf("  inflate: %s\n", err);
        return 0;
    }
    ok = on == want_n && memcmp(out, want, on) == 0;
    free(out);
    return ok;
}

static unsigned char *read_data(const char *name, size_t *n) {
    char path[512];
    snprintf(path, sizeof path, DIR "%s", name);
    return (unsigned char *)mgt_read_file(path, n);
}

static void test_inflate(void) {
    unsigned char msg[600], st[700], *buf, *p2, *p3, *both;
    size_t n, i, k, n2, n3;
    uint32_t ad;
    n = make_msg(msg);
    CHECK(mgx_crc32(0, "123456789", 9) == 0xCBF43926u, "CRC-32 check value");
    CHECK(mgx_adler32(1, "Wikipedia", 9) == 0x11E60398u, "Adler-32 check value");
    CHECK(mgx_crc32(0, msg, n) == 0x8dd6b709u && mgx_adler32(1, msg, n) == 0x55e2e661u, "checksums of msg (Python zlib)");
    CHECK(mgx_crc32(mgx_crc32(0, msg, 100), msg + 100, n - 100) == 0x8dd6b709u, "CRC-32 chaining");
    CHECK(inflate_equals(z_msg, sizeof z_msg, MGX_INFLATE_ZLIB, msg, n), "zlib stream from Python");
    CHECK(inflate_equals(z_msg, sizeof z_msg, MGX_INFLATE_AUTO, msg, n), "auto-detected zlib");
    CHECK(inflate_equals(raw_msg, sizeof raw_msg, MGX_INFLATE_RAW, msg, n), "raw deflate from Python");
    CHECK(inflate_equals(raw_msg, sizeof raw_msg, MGX_INFLATE_AUTO, msg, n), "auto-detected raw deflate");
    /* zlib stream of two stored blocks, assembled by hand */
    st[0] = 0x78; st[1] = 0x01;
    k = 2;
    st[k++] = 0x00; st[k++] = 100; st[k++] = 0; st[k++] = 0xff - 100; st[k++] = 0xff;
    memcpy(st + k, msg, 100); k += 100;
    st[k++] = 0x01; st[k++] = (unsigned char)((n - 100) & 255); st[k++] = (unsigned char)((n - 100) >> 8);
    st[k++] = (unsigned char)(~(n - 100) & 255); st[k++] = (unsigned char)((~(n - 100) >> 8) & 255);
    memcpy(st + k, msg + 100, n - 100); k += n - 100;
    ad = mgx_adler32(1, msg, n);
    st[k++] = (unsigned char)(ad >> 24); st[k++] = (unsigned char)(ad >> 16); st[k++] = (unsigned char)(ad >> 8); st[k++] = (unsigned char)ad;
    CHECK(inflate_equals(st, k, MGX_INFLATE_ZLIB, msg, n), "stored blocks");
    st[k - 1] ^= 1;
    CHECK(inflate_fails(st, k, MGX_INFLATE_ZLIB, 0, "Adler"), "bad Adler-32 rejected");
    st[k - 1] ^= 1;
    st[4] ^= 1;   /* LEN no longer matches NLEN */
    CHECK(inflate_fails(st, k, MGX_INFLATE_ZLIB, 0, "stored"), "stored LEN/NLEN mismatch rejected");
    /* errors */
    CHECK(inflate_fails(raw_far, sizeof raw_far, MGX_INFLATE_RAW, 0, "before the start"), "distance beyond output start (empty)");
    CHECK(inflate_fails(raw_near, sizeof raw_near, MGX_INFLATE_RAW, 0, "before the start"), "distance beyond output start");
    CHECK(inflate_fails(raw_oversub, sizeof raw_oversub, MGX_INFLATE_RAW, 0, "over-subscribed"), "over-subscribed code");
    CHECK(inflate_fails(raw_incomplete, sizeof raw_incomplete, MGX_INFLATE_RAW, 0, "incomplete"), "incomplete code-length code");
    CHECK(inflate_fails("\x07\x00", 2, MGX_INFLATE_RAW, 0, "block type"), "block type 3");
    CHECK(inflate_fails("\x78\xbb\x00\x00", 4, MGX_INFLATE_ZLIB, 0, "dictionary"), "zlib FDICT rejected");
    CHECK(inflate_fails("\x78\x02\x00\x00", 4, MGX_INFLATE_ZLIB, 0, "header"), "zlib bad check bits");
    CHECK(inflate_fails(z_msg, sizeof z_msg, MGX_INFLATE_ZLIB, 100, "limit"), "max_out enforced");
    CHECK(inflate_fails(z_msg, sizeof z_msg, MGX_INFLATE_GZIP, 0, "gzip"), "zlib data is not gzip");
    for (i = 0, k = 0; i < sizeof z_msg; i++) {   /* every truncation fails (exact-size copies for ASan) */
        unsigned char *cut = (unsigned char *)malloc(i ? i : 1);
        memcpy(cut, z_msg, i);
        k += !inflate_fails(i ? cut : NULL, i, MGX_INFLATE_ZLIB, 0, NULL);
        free(cut);
    }
    CHECK(k == 0, "%lu truncations of a zlib stream were accepted", (unsigned long)k);
    /* gzip files made by the gzip command */
    buf = read_data("img-small-300x200.ppm.gz", &n);
    p2 = read_data("img-small-300x200.ppm", &n2);
    CHECK(buf && p2 && inflate_equals(buf, n, MGX_INFLATE_GZIP, p2, n2), "gzip -9 of the PPM fixture");
    CHECK(buf && p2 && inflate_equals(buf, n, MGX_INFLATE_AUTO, p2, n2), "auto-detected gzip");
    if (buf && n > 20) {
        buf[n - 6] ^= 0x40;   /* CRC-32 in the trailer */
        CHECK(inflate_fails(buf, n, MGX_INFLATE_GZIP, 0, "CRC"), "gzip CRC mismatch rejected");
        buf[n - 6] ^= 0x40;
        buf[n - 2] ^= 0x01;   /* ISIZE */
        CHECK(inflate_fails(buf, n, MGX_INFLATE_GZIP, 0, "ISIZE"), "gzip ISIZE mismatch rejected");
        buf[n - 2] ^= 0x01;
        buf[3] |= 0x80;       /* reserved flag */
        CHECK(inflate_fails(buf, n, MGX_INFLATE_GZIP, 0, "reserved"), "gzip reserved flag rejected");
        buf[3] &= 0x7f;
    }
    free(buf);
    free(p2);
    buf = read_data("two-members.gz", &n);
    p2 = read_data("n_p3_1000.ppm", &n2);
    p3 = read_data("n_p2.pgm", &n3);
    both = (unsigned char *)malloc(n2 + n3 + 8);
    if (buf && p2 && p3 && both) {
        memcpy(both, p2, n2);
        memcpy(both + n2, p3, n3);
        CHECK(inflate_equals(buf, n, MGX_INFLATE_GZIP, both, n2 + n3), "multi-member gzip");
    } else {
        CHECK(0, "two-members.gz test data missing");
    }
    free(both);
    if (buf) {   /* trailing zero padding is accepted, trailing garbage is not */
        unsigned char *pad = (unsigned char *)malloc(n + 4), *out;
        size_t on;
        int rc;
        memcpy(pad, buf, n);
        memset(pad + n, 0, 4);
        rc = mgx_inflate(pad, n + 4, MGX_INFLATE_GZIP, 0, &out, &on, NULL, 0);
        CHECK(rc == 0 && on == n2 + n3, "gzip with trailing zero padding accepted");
        if (rc == 0) free(out);
        pad[n + 2] = 'x';
        CHECK(inflate_fails(pad, n + 4, MGX_INFLATE_GZIP, 0, "trailing"), "gzip trailing garbage rejected");
        free(pad);
    }
    free(buf);
    free(p2);
    free(p3);
}

/* Inflating on demand in steps of 1..13 bytes gives the same bytes as one call, stops exactly at each step and
   reports the end only after the trailer was checked. */
static int inflate_in_steps(const unsigned char *src, size_t n, int fmt, const unsigned char *want, size_t want_n) {
    char err[256] = "";
    mgx_inflater *z = mgx_inflate_begin(src, n, fmt, 0, err, sizeof err);
    size_t step = 1, have = 0, target = 0;
    int done = 0, ok = z != NULL;
    const unsigned char *p = NULL;
    while (ok && !done) {
        target += step;
        step = step % 13 + 1;
        ok = mgx_inflate_more(z, target, err, sizeof err) == 0;
        p = mgx_inflate_data(z, &have, &done);
        ok = ok && (have == target || (done && have < target && have == want_n));
        ok = ok && have <= want_n && (!have || memcmp(p, want, have) == 0);
    }
    if (!ok) printf("  stepwise inflate stopped at %lu of %lu: %s\n", (unsigned long)have, (unsigned long)want_n, err);
    mgx_inflate_end(z);
    return ok && have == want_n;
}

static void test_inflate_steps(void) {
    unsigned char msg[600], *buf, *p2, *big;
    size_t n, n2, i;
    uint32_t c;
    n = make_msg(msg);
    CHECK(inflate_in_steps(z_msg, sizeof z_msg, MGX_INFLATE_ZLIB, msg, n), "zlib stream inflated in steps");
    CHECK(inflate_in_steps(raw_msg, sizeof raw_msg, MGX_INFLATE_RAW, msg, n), "raw stream inflated in steps");
    buf = read_data("img-small-300x200.ppm.gz", &n);
    p2 = read_data("img-small-300x200.ppm", &n2);
    CHECK(buf && p2 && inflate_in_steps(buf, n, MGX_INFLATE_GZIP, p2, n2), "gzip -9 file inflated in steps");
    free(buf);
    free(p2);
    /* CRC-32 of 10^6 bytes (the sliced path): Python's zlib.crc32 of bytes(((i*7+3)%256) ^ ((i>>10)&255)) */
    big = (unsigned char *)malloc(1000000);
    if (!big) return;
    for (i = 0; i < 1000000; i++) big[i] = (unsigned char)(((i * 7 + 3) % 256) ^ ((i >> 10) & 255));
    CHECK(mgx_crc32(0, big, 1000000) == 0xc89a3fa0u, "CRC-32 of 10^6 bytes");
    for (c = 0, i = 0; i < 1000000; i += 1000) c = mgx_crc32(c, big + i, 1000);
    CHECK(c == 0xc89a3fa0u, "CRC-32 of 10^6 bytes chained in short pieces");
    free(big);
}

/* ---- PNG built in the test: stored-block zlib, CRCs from mgx_crc32 (itself checked above) ---- */

typedef struct { unsigned char *p; size_t n; } bytes;

static void put(bytes *b, const void *s, size_t k) {
    memcpy(b->p + b->n, s, k);
    b->n += k;
}
static void put32(bytes *b, uint32_t v) {
    unsigned char q[4];
    q[0] = (unsigned char)(v >> 24); q[1] = (unsigned char)(v >> 16); q[2] = (unsigned char)(v >> 8); q[3] = (unsigned char)v;
    put(b, q, 4);
}
static void chunk(bytes *b, const char *type, const void *body, size_t len) {
    uint32_t crc = mgx_crc32(mgx_crc32(0, type, 4), body, len);
    put32(b, (uint32_t)len);
    put(b, type, 4);
    if (len) put(b, body, len);
    put32(b, crc);
}

/* PNG with the given IHDR fields, optional PLTE (npal entries of grey), and filtered data `raw`. */
static bytes make_png(uint32_t w, uint32_t h, int depth, int ctype, const unsigned char *raw, size_t rn, int npal, const char *extra_chunk) {
    bytes b;
    unsigned char ihdr[13], z[1024], pal[768];
    size_t zn = 0;
    uint32_t ad = mgx_adler32(1, raw, rn);
    int i;
    b.p = (unsigned char *)malloc(4096);
    b.n = 0;
    put(&b, "\x89PNG\r\n\x1a\n", 8);
    ihdr[0] = (unsigned char)(w >> 24); ihdr[1] = (unsigned char)(w >> 16); ihdr[2] = (unsigned char)(w >> 8); ihdr[3] = (unsigned char)w;
    ihdr[4] = (unsigned char)(h >> 24); ihdr[5] = (unsigned char)(h >> 16); ihdr[6] = (unsigned char)(h >> 8); ihdr[7] = (unsigned char)h;
    ihdr[8] = (unsigned char)depth; ihdr[9] = (unsigned char)ctype; ihdr[10] = ihdr[11] = ihdr[12] = 0;
    chunk(&b, "IHDR", ihdr, 13);
    for (i = 0; i < npal * 3; i++) pal[i] = (unsigned char)(i / 3 * 10);
    if (npal) chunk(&b, "PLTE", pal, (size_t)npal * 3);
    if (extra_chunk) chunk(&b, extra_chunk, "xyz", 3);
    z[zn++] = 0x78; z[zn++] = 0x01; z[zn++] = 0x01;
    z[zn++] = (unsigned char)rn; z[zn++] = (unsigned char)(rn >> 8); z[zn++] = (unsigned char)~rn; z[zn++] = (unsigned char)(~rn >> 8);
    memcpy(z + zn, raw, rn); zn += rn;
    z[zn++] = (unsigned char)(ad >> 24); z[zn++] = (unsigned char)(ad >> 16); z[zn++] = (unsigned char)(ad >> 8); z[zn++] = (unsigned char)ad;
    chunk(&b, "IDAT", z, zn);
    chunk(&b, "IEND", NULL, 0);
    return b;
}

static int png_result(bytes b, mgx_image *im, const char *want_err) {
    char err[256] = "";
    int rc = mgx_png_decode(b.p, b.n, im, err, sizeof err);
    free(b.p);
    if (rc == 0) return want_err == NULL;
    if (!want_err) printf("  crafted PNG: %s\n", err);
    return want_err && err[0] && strstr(err, want_err) && im->px == NULL;
}

static void test_png_crafted(void) {
    /* 4x3 grey, filters by hand: row0 None, row1 Sub, row2 Paeth; expected pixels computed on paper. */
    static const unsigned char raw[] = {0, 10, 20, 30, 40, 1, 5, 5, 5, 5, 4, 1, 1, 1, 1};
    static const unsigned char want[] = {10, 20, 30, 40, 5, 10, 15, 20, 6, 11, 16, 21};
    unsigned char bad[15];
    mgx_image im;
    CHECK(png_result(make_png(4, 3, 8, 0, raw, sizeof raw, 0, NULL), &im, NULL) && memcmp(im.px, want, 12) == 0,
          "hand-filtered PNG (None/Sub/Paeth)");
    mgx_image_free(&im);
    CHECK(png_result(make_png(4, 3, 8, 0, raw, sizeof raw, 0, "abCD"), &im, NULL), "unknown ancillary chunk skipped");
    mgx_image_free(&im);
    CHECK(png_result(make_png(4, 3, 8, 0, raw, sizeof raw, 0, "ABCD"), &im, "critical"), "unknown critical chunk rejected");
    memcpy(bad, raw, sizeof raw);
    bad[5] = 5;
    CHECK(png_result(make_png(4, 3, 8, 0, bad, sizeof raw, 0, NULL), &im, "filter"), "filter type 5 rejected");
    CHECK(png_result(make_png(4, 3, 8, 0, raw, sizeof raw - 1, 0, NULL), &im, "expected"), "short image data rejected");
    CHECK(png_result(make_png(4, 2, 8, 0, raw, sizeof raw, 0, NULL), &im, "more image data"), "extra image data rejected");
    CHECK(png_result(make_png(4, 3, 8, 3, raw, sizeof raw, 16, NULL), &im, "palette index"), "palette index beyond PLTE rejected");
    CHECK(png_result(make_png(4, 3, 8, 3, raw, sizeof raw, 0, NULL), &im, "PLTE"), "palette image without PLTE rejected");
    CHECK(png_result(make_png(4, 3, 4, 2, raw, sizeof raw, 0, NULL), &im, "bit depth"), "RGB at 4 bits rejected");
    CHECK(png_result(make_png(4, 3, 8, 5, raw, sizeof raw, 0, NULL), &im, "colour type"), "colour type 5 rejected");
    CHECK(png_result(make_png(0, 3, 8, 0, raw, sizeof raw, 0, NULL), &im, "zero"), "zero width rejected");
    CHECK(png_result(make_png(4, 0, 8, 0, raw, sizeof raw, 0, NULL), &im, "zero"), "zero height rejected");
    CHECK(png_result(make_png(70000, 3, 8, 0, raw, sizeof raw, 0, NULL), &im, "limit"), "width 70000 rejected");
    CHECK(png_result(make_png(0x7fffffffu, 0x7fffffffu, 8, 0, raw, sizeof raw, 0, NULL), &im, "limit"), "2^31-1 square rejected");
    CHECK(png_result(make_png(65535, 65535, 16, 6, raw, sizeof raw, 0, NULL), &im, "limit"), "65535^2 pixels rejected");
    {   /* a flipped CRC byte in a real file */
        size_t n;
        unsigned char *d = read_data("img-small-300x200.png", &n);
        char err[256] = "";
        if (d) {
            d[29] ^= 0x10;   /* last byte of the IHDR CRC */
            CHECK(mgx_png_decode(d, n, &im, err, sizeof err) == -1 && strstr(err, "CRC"), "bad IHDR CRC rejected: %s", err);
            free(d);
        }
    }
}

/* ---- JPEG / BMP / PNM crafted ---- */

static size_t find_bytes(const unsigned char *d, size_t n, unsigned a, unsigned b) {
    size_t i;
    for (i = 0; i + 1 < n; i++)
        if (d[i] == a && d[i + 1] == b) return i;
    return 0;
}

/* Decodes a patched copy of a test file; succeeds when decoding fails with `want` in the message. */
static int patched_fails(const char *name, unsigned m1, unsigned m2, size_t off, const unsigned char *val, size_t vn,
                         size_t cut, const char *want) {
    size_t n, at;
    unsigned char *d = read_data(name, &n);
    mgx_image im;
    char err[256] = "";
    int rc;
    if (!d) return 0;
    at = m1 ? find_bytes(d, n, m1, m2) : 0;
    if ((m1 && !at) || at + off + vn > n) { free(d); return 0; }
    if (vn) memcpy(d + at + off, val, vn);
    rc = mgx_image_load_mem(d, n - cut, &im, err, sizeof err);
    free(d);
    if (rc == 0) mgx_image_free(&im);
    if (rc == 0 || !strstr(err, want)) printf("  %s patched: rc %d, \"%s\" (wanted \"%s\")\n", name, rc, err, want);
    return rc == -1 && strstr(err, want) != NULL && im.px == NULL;
}

static void test_crafted_jpeg_bmp_pnm(void) {
    static const unsigned char c3[] = {0xc3}, p12[] = {12}, zero2[] = {0, 0}, big[] = {0xff, 0xff, 0xff, 0xff};
    static const unsigned char oversub[] = {2, 1, 3}, nf4[] = {4}, samp3[] = {0x31}, rle[] = {1}, bpp2[] = {2}, w0[] = {0, 0, 0, 0};
    static const unsigned char h70k[] = {0x70, 0x11, 0x01, 0x00};
    static const char *pnm_c = "P2\n#c\n2 1 # c\n7\n#c\n7 0\n";
    mgx_image im;
    char err[256] = "";
    size_t i;
    static const char *bad_pnm[][2] = {
        {"P5 0 5 255\n", "zero"}, {"P5 70000 2 255\n", "limit"}, {"P5 65535 65535 255\n", "limit"},
        {"P2 2 1 10\n5 11\n", "exceeds maxval"}, {"P2 2 1 0\n0 0\n", "maxval"}, {"P6 1 1 70000\n", "maxval"},
        {"P1 1 1\n1\n", "not supported"}, {"P7\nWIDTH 1\n", "not supported"}, {"P5 2 2 255\nab", "truncated"},
        {"P3 1 1 255\n1 2", "truncated"}, {"P2 99999999999 1 255\n", "exceeds"}, {"P6\n# only a comment\n", "truncated"},
    };
    CHECK(patched_fails("j_arith.jpg", 0, 0, 0, NULL, 0, 0, "arithmetic"), "arithmetic JPEG rejected");
    CHECK(patched_fails("j_grey.jpg", 0xff, 0xc0, 1, c3, 1, 0, "lossless"), "lossless JPEG rejected");
    CHECK(patched_fails("j_grey.jpg", 0xff, 0xc0, 4, p12, 1, 0, "12-bit"), "12-bit JPEG rejected");
    CHECK(patched_fails("j_grey.jpg", 0xff, 0xc0, 5, zero2, 2, 0, "height 0"), "JPEG height 0 rejected");
    CHECK(patched_fails("j_grey.jpg", 0xff, 0xc0, 5, big, 4, 0, "limit"), "JPEG 65535x65535 rejected");
    CHECK(patched_fails("j_grey.jpg", 0xff, 0xc0, 7, zero2, 2, 0, "zero"), "JPEG width 0 rejected");
    CHECK(patched_fails("j_grey.jpg", 0xff, 0xc0, 9, nf4, 1, 0, "components"), "4-component JPEG rejected");
    CHECK(patched_fails("j_420.jpg", 0xff, 0xc0, 11, samp3, 1, 0, "sampling"), "sampling factor 3 rejected");
    /* first DHT (DC) counts {0, 1, 5, ...} -> {2, 1, 3, ...}: two 1-bit codes fill the tree, the 2-bit ones cannot fit */
    CHECK(patched_fails("j_grey.jpg", 0xff, 0xc4, 5, oversub, 3, 0, "over-subscribed"), "over-subscribed DHT rejected");
    CHECK(patched_fails("j_grey.jpg", 0, 0, 0, NULL, 0, 2, "EOI"), "JPEG without EOI rejected");
    CHECK(patched_fails("j_grey_prog.jpg", 0, 0, 0, NULL, 0, 2, "EOI"), "progressive JPEG without EOI rejected");
    CHECK(patched_fails("b_rgb24.bmp", 0, 0, 30, rle, 1, 0, "RLE"), "RLE BMP rejected");
    CHECK(patched_fails("b_rgb24.bmp", 0, 0, 28, bpp2, 1, 0, "bits per pixel"), "2-bit BMP rejected");
    CHECK(patched_fails("b_rgb24.bmp", 0, 0, 18, w0, 4, 0, "size"), "zero-width BMP rejected");
    CHECK(patched_fails("b_rgb24.bmp", 0, 0, 22, h70k, 4, 0, "limit"), "BMP height 70000 rejected");
    CHECK(patched_fails("b_rgb24.bmp", 0, 0, 0, NULL, 0, 1, "truncated"), "truncated BMP rejected");
    for (i = 0; i < sizeof bad_pnm / sizeof bad_pnm[0]; i++) {
        int rc = mgx_pnm_decode(bad_pnm[i][0], strlen(bad_pnm[i][0]), &im, err, sizeof err);
        CHECK(rc == -1 && strstr(err, bad_pnm[i][1]) && !im.px, "PNM %d rejected (got \"%s\")", (int)i, err);
    }
    CHECK(mgx_pnm_decode(pnm_c, strlen(pnm_c), &im, err, sizeof err) == 0 && im.px[0] == 255 && im.px[1] == 0,
          "P2 with comments everywhere");
    mgx_image_free(&im);
    CHECK(mgx_image_load_mem("GIF89a", 6, &im, err, sizeof err) == -1 && strstr(err, "unrecognised"), "unknown format");
    CHECK(mgx_image_load_mem("", 0, &im, NULL, 0) == -1, "empty input, NULL err");
    CHECK(mgx_image_load_file("tests/data/images/does-not-exist.png", &im, err, sizeof err) == -1 && strstr(err, "does-not-exist"),
          "missing file reported");
}

/* ---- PNG writer round trip, helpers ---- */

static void test_writer(void) {
    mgx_image src, back, fix;
    unsigned char *png;
    size_t n, i;
    char err[256] = "", path[64];
    int ch, x, y, c;
    for (ch = 1; ch <= 3; ch += 2) {
        if (mgx_image_alloc(&src, 37, 23, ch, err, sizeof err)) { CHECK(0, "%s", err); return; }
        for (y = 0; y < 23; y++)   /* smooth gradient, noise and a flat band so that every filter and match length occurs */
            for (x = 0; x < 37; x++)
                for (c = 0; c < ch; c++)
                    src.px[((size_t)y * 37 + x) * ch + c] = (unsigned char)(y < 8 ? (unsigned)(x * 7 + y * 3 + c * 50) : y < 16 ? samp(x, y, c, 8) : 200u);
        CHECK(mgx_png_encode(&src, &png, &n, err, sizeof err) == 0, "encode: %s", err);
        CHECK(mgx_png_decode(png, n, &back, err, sizeof err) == 0 && back.w == 37 && back.h == 23 && back.channels == ch &&
              memcmp(back.px, src.px, (size_t)37 * 23 * ch) == 0, "PNG writer round trip, %d channel(s)", ch);
        free(png);
        mgx_image_free(&back);
        mgx_image_free(&src);
    }
    if (load("img-small-300x200.png", &fix) == 0) {
        snprintf(path, sizeof path, "/tmp/mgx_test_image_%ld.png", (long)getpid());
        CHECK(mgx_png_write_file(path, &fix, err, sizeof err) == 0, "write_file: %s", err);
        CHECK(mgx_image_load_file(path, &back, err, sizeof err) == 0 && back.w == 300 && back.h == 200 &&
              memcmp(back.px, fix.px, (size_t)300 * 200 * 3) == 0, "written fixture reads back identically");
        remove(path);
        mgx_image_free(&back);
        /* grey helpers: to_grey (BT.601, rounded) then to_rgb replicates */
        {
            unsigned char r = fix.px[3 * 37], g = fix.px[3 * 37 + 1], b = fix.px[3 * 37 + 2];
            CHECK(mgx_image_to_grey(&fix, err, sizeof err) == 0 && fix.channels == 1 &&
                  fix.px[37] == (299 * r + 587 * g + 114 * b + 500) / 1000, "to_grey");
            CHECK(mgx_image_to_rgb(&fix, err, sizeof err) == 0 && fix.channels == 3 && fix.px[3 * 37] == fix.px[3 * 37 + 2],
                  "to_rgb");
            for (i = 0, n = 0; i < (size_t)300 * 200; i++) n += fix.px[3 * i] != fix.px[3 * i + 1] || fix.px[3 * i] != fix.px[3 * i + 2];
            CHECK(n == 0, "to_rgb replicates grey");
        }
        mgx_image_free(&fix);
        CHECK(fix.px == NULL && fix.w == 0, "free zeroes the struct");
        mgx_image_free(&fix);
        mgx_image_free(NULL);
    }
    src.w = 2; src.h = 2; src.channels = 2; src.px = (unsigned char *)"abcdefgh";
    CHECK(mgx_png_encode(&src, &png, &n, err, sizeof err) == -1 && png == NULL, "writer rejects 2 channels");
    {
        unsigned char *d;
        CHECK(mgx_read_file(DIR "n_p2.pgm", 10, &d, &n, err, sizeof err) == -1 && strstr(err, "limit"), "read_file limit");
        CHECK(mgx_read_file(DIR "n_p2.pgm", 0, &d, &n, err, sizeof err) == 0 && n == 235 && d[n] == 0, "read_file");
        free(d);
    }
}

/* ---- corruption sweep: truncations and byte flips of every test file ---- */

typedef struct { const char *name; int strict_trunc, strict_flip; } fuzz_file;

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Decodes an exact-size copy; returns 1 when it failed cleanly, 0 when it decoded, -1 on a bad failure. */
static int try_decode(const unsigned char *d, size_t n, int gz) {
    unsigned char *copy = (unsigned char *)malloc(n ? n : 1), *out;
    char err[256] = "";
    mgx_image im;
    size_t on;
    int rc;
    memcpy(copy, d, n);
    if (gz) {
        rc = mgx_inflate(copy, n, MGX_INFLATE_AUTO, 0, &out, &on, err, sizeof err);
        if (rc == 0) free(out);
    } else {
        rc = mgx_image_load_mem(copy, n, &im, err, sizeof err);
        if (rc == 0) mgx_image_free(&im);
        else if (im.px) rc = 1;
    }
    free(copy);
    if (rc == 0) return 0;
    return (rc == -1 && err[0]) ? 1 : -1;
}

static void test_corruption(void) {
    static const fuzz_file files[] = {
        {"p_g1.png", 1, 1}, {"p_g2.png", 1, 1}, {"p_g4_adam7.png", 1, 1}, {"p_g8_trns.png", 1, 1}, {"p_g16.png", 1, 1},
        {"p_ga8.png", 1, 1}, {"p_ga16_adam7.png", 1, 1}, {"p_rgb8_adam7.png", 1, 1}, {"p_rgb16_trns.png", 1, 1},
        {"p_rgba8.png", 1, 1}, {"p_rgba16_adam7.png", 1, 1}, {"p_pal1.png", 1, 1}, {"p_pal2.png", 1, 1},
        {"p_pal4_adam7.png", 1, 1}, {"p_pal8.png", 1, 1}, {"img-small-300x200.png", 1, 1},
        {"j_420.jpg", 1, 0}, {"j_422.jpg", 1, 0}, {"j_444_prog.jpg", 1, 0}, {"j_420_prog.jpg", 1, 0}, {"j_12_rst.jpg", 1, 0},
        {"j_420_prog_rst.jpg", 1, 0}, {"j_rgb.jpg", 1, 0}, {"j_q16.jpg", 1, 0}, {"j_grey.jpg", 1, 0},
        {"j_grey_prog.jpg", 1, 0}, {"j_arith.jpg", 1, 0}, {"retina.jpg", 1, 0},
        {"b_pal4.bmp", 1, 0}, {"b_pal1_topdown.bmp", 1, 0}, {"b_rgb24.bmp", 1, 0}, {"b_565_v5.bmp", 1, 0},
        {"b_bgra32_v4.bmp", 1, 0}, {"b_colon_grey8.bmp", 1, 0},
        {"n_p2.pgm", 0, 0}, {"n_p3_1000.ppm", 0, 0}, {"n_p5_16.pgm", 1, 0}, {"n_p6_100.ppm", 1, 0},
        {"img-small-300x200.ppm", 1, 0}, {"img-small-300x200.ppm.gz", 1, 0}, {"two-members.gz", 0, 0},
    };
    size_t f, i;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    long runs = 0, bad_trunc = 0, bad_flip = 0, dirty = 0;
    for (f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t n, step, cuts;
        unsigned char *d = read_data(files[f].name, &n);
        int gz = strstr(files[f].name, ".gz") != NULL, flips;
        if (!d) { CHECK(0, "missing %s", files[f].name); continue; }
        cuts = n > 100000 ? 12 : n > 1000 ? 250 : n;   /* every offset for the smallest files */
        step = n / cuts ? n / cuts : 1;
        for (i = 0; i < n; i += step) {
            int r = try_decode(d, i, gz);
            runs++;
            if (r < 0) dirty++;
            if (r == 0 && files[f].strict_trunc) {
                bad_trunc++;
                printf("  %s truncated to %lu bytes decoded\n", files[f].name, (unsigned long)i);
            }
        }
        flips = n > 100000 ? 4 : 120;
        for (i = 0; i < (size_t)flips; i++) {
            size_t at = (size_t)(rng(&seed) % n);
            unsigned char old = d[at];
            int r;
            d[at] ^= (unsigned char)(1 + rng(&seed) % 255);
            r = try_decode(d, n, gz);
            d[at] = old;
            runs++;
            if (r < 0) dirty++;
            if (r == 0 && files[f].strict_flip) {
                bad_flip++;
                printf("  %s with byte %lu flipped decoded\n", files[f].name, (unsigned long)at);
            }
        }
        free(d);
    }
    CHECK(bad_trunc == 0, "%ld truncated files decoded", bad_trunc);
    CHECK(bad_flip == 0, "%ld PNGs with a flipped byte decoded", bad_flip);
    CHECK(dirty == 0, "%ld failures without a message or with a non-empty image", dirty);
    CHECK(runs > 10000, "corruption sweep ran %ld decodes", runs);
}

int main(void) {
    test_inflate();
    test_inflate_steps();
    test_synthetic();
    test_real();
    test_png_crafted();
    test_crafted_jpeg_bmp_pnm();
    test_writer();
    test_corruption();
    return MG_TEST_END();
}
