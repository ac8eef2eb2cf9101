/* test_dicom.c — DICOM reader and volume loader (examples/readers/dicom.c, volume.c).

   Every expected number below was recorded ONCE from independent tools, never from this code:
     [pydicom]  Debian python3-pydicom 2.3.1: dcmread(...).pixel_array, apply_modality_lut (rescale),
                convert_color_space (YBR -> RGB), and the tag values it reports;
     [PIL]      Debian python3-pil 9.4 decoding the JPEG fragments (generate_pixel_data_frame) of a file;
     [numpy]    the formula of the standard evaluated in numpy on pydicom's arrays: the PS3.3
                C.11.2.1.2.1 linear window (y = ((x-(c-0.5))/(w-1)+0.5)*255, clipped, rounded half up),
                min-max scaling floor((x-min)/(max-min)*255+0.5), Bits Stored masking + sign extension.
   tests/data/dicom/make_testdata.py wrote the generated files and printed the facts marked [gen].
   Sources and licences of the copied files: tests/data/dicom/README.md. */
#include "mgx_medical.h"
#include "mgtest.h"

#include <stdint.h>
#include <unistd.h>
#include <sys/stat.h>

#define DD "tests/data/dicom/"

static char err[1024];

static float px(const mgx_dicom *d, int f, int y, int x, int c) {
    return d->data[(((size_t)f * d->rows + y) * d->cols + x) * d->samples + c];
}

static double sum_frames(const mgx_dicom *d) {
    size_t i, n = (size_t)d->frames * d->rows * d->cols * d->samples;
    double s = 0;
    for (i = 0; i < n; i++) s += d->data[i];
    return s;
}

static int near(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* ---- files written by other tools ---------------------------------------------------------- */

static void test_ct_small(void) {
    mgx_dicom d;
    int rc = mgx_dicom_load_file(DD "CT_small.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "CT_small: %s", err);
    if (rc) return;
    /* [pydicom] tags */
    CHECK(d.rows == 128 && d.cols == 128 && d.frames == 1 && d.samples == 1, "CT_small shape %dx%d f%d s%d", d.rows, d.cols, d.frames, d.samples);
    CHECK(d.bits_allocated == 16 && d.bits_stored == 16 && d.pixel_representation == 1, "CT_small bits");
    CHECK(!strcmp(d.modality, "CT") && !strcmp(d.photometric, "MONOCHROME2"), "CT_small modality %s %s", d.modality, d.photometric);
    CHECK(!strcmp(d.transfer_syntax, "1.2.840.10008.1.2.1"), "CT_small ts %s", d.transfer_syntax);
    CHECK(!strcmp(d.sop_class, "1.2.840.10008.5.1.4.1.1.2"), "CT_small sop %s", d.sop_class);
    CHECK(d.slope == 1 && d.intercept == -1024, "CT_small rescale %g %g", d.slope, d.intercept);
    CHECK(d.has_instance && d.instance_number == 1, "CT_small instance");
    CHECK(d.has_position && near(d.position[0], -158.135803, 1e-6) && near(d.position[1], -179.035797, 1e-6) &&
          near(d.position[2], -75.699997, 1e-6), "CT_small position");
    CHECK(d.has_orientation && d.orientation[0] == 1 && d.orientation[4] == 1 && d.orientation[2] == 0, "CT_small orientation");
    CHECK(near(d.spacing[0], 0.661468, 1e-9) && near(d.spacing[1], 0.661468, 1e-9) && d.thickness == 5, "CT_small spacing");
    CHECK(!d.has_window, "CT_small has no window");
    /* [pydicom] HU = pixel_array*slope+intercept: [0,0] -849, [10,5] -820, [127,127] -115, [64,100] -34,
       sum -1950906, min -896, max 1167 */
    CHECK(px(&d, 0, 0, 0, 0) == -849 && px(&d, 0, 10, 5, 0) == -820 && px(&d, 0, 127, 127, 0) == -115 &&
          px(&d, 0, 64, 100, 0) == -34, "CT_small HU values");
    CHECK(sum_frames(&d) == -1950906.0, "CT_small sum %f", sum_frames(&d));
    {
        mgx_image img;
        size_t i; double s = 0;
        rc = mgx_dicom_frame_to_image(&d, 0, &img, err, sizeof err);
        CHECK(rc == 0 && img.w == 128 && img.h == 128 && img.channels == 1, "CT_small to image: %s", err);
        if (!rc) {
            /* [numpy] min-max scaling (no window in the file): [0,0] 6, [10,5] 9, [64,100] 107, sum 1573473 */
            for (i = 0; i < 128 * 128; i++) s += img.px[i];
            CHECK(img.px[0] == 6 && img.px[10 * 128 + 5] == 9 && img.px[64 * 128 + 100] == 107, "CT_small min-max pixels %d %d %d",
                  img.px[0], img.px[10 * 128 + 5], img.px[64 * 128 + 100]);
            CHECK(s == 1573473, "CT_small min-max sum %f", s);
        }
        mgx_image_free(&img);
        CHECK(mgx_dicom_frame_to_image(&d, 1, &img, err, sizeof err) == -1 && strstr(err, "range"), "frame out of range");
    }
    mgx_dicom_free(&d);
}

static void test_mr_variants(void) {
    /* The same MR image in four transfer syntaxes (files from pydicom's test set, written by other tools).
       [pydicom] [0,0] 905, [10,5] 363, [63,0] 378, sum 2125338, WC 600, WW 1600, no rescale. */
    static const char *files[] = {"MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm"};
    static const char *ts[] = {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.5"};
    int i;
    for (i = 0; i < 4; i++) {
        char path[256];
        mgx_dicom d;
        int rc;
        snprintf(path, sizeof path, DD "%s", files[i]);
        rc = mgx_dicom_load_file(path, &d, err, sizeof err);
        CHECK(rc == 0, "%s: %s", files[i], err);
        if (rc) continue;
        CHECK(!strcmp(d.transfer_syntax, ts[i]), "%s ts %s", files[i], d.transfer_syntax);
        CHECK(d.rows == 64 && d.cols == 64 && !strcmp(d.modality, "MR"), "%s shape", files[i]);
        CHECK(px(&d, 0, 0, 0, 0) == 905 && px(&d, 0, 10, 5, 0) == 363 && px(&d, 0, 63, 0, 0) == 378, "%s values", files[i]);
        CHECK(sum_frames(&d) == 2125338.0, "%s sum %f", files[i], sum_frames(&d));
        CHECK(d.has_window && d.window_center == 600 && d.window_width == 1600, "%s window", files[i]);
        CHECK(d.slope == 1 && d.intercept == 0, "%s rescale defaults", files[i]);
        if (i == 0) {
            mgx_image img;
            size_t k; double s = 0;
            rc = mgx_dicom_frame_to_image(&d, 0, &img, err, sizeof err);
            CHECK(rc == 0, "MR to image: %s", err);
            if (!rc) {
                /* [numpy] window 600/1600: [0,0] 176, [10,5] 90, [5,10] 135, sum 463120 */
                for (k = 0; k < 64 * 64; k++) s += img.px[k];
                CHECK(img.px[0] == 176 && img.px[10 * 64 + 5] == 90 && img.px[5 * 64 + 10] == 135 && s == 463120,
                      "MR window pixels %d %d %d sum %f", img.px[0], img.px[10 * 64 + 5], img.px[5 * 64 + 10], s);
            }
            mgx_image_free(&img);
        }
        mgx_dicom_free(&d);
    }
}

static void test_other_native(void) {
    mgx_dicom d;
    int rc;
    /* deflated explicit VR LE. [pydicom] 512x512 uint8, [0,0] 213, [100,200] 41, [511,511] 188, sum 33322688 */
    rc = mgx_dicom_load_file(DD "image_dfl.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "image_dfl: %s", err);
    if (!rc) {
        CHECK(!strcmp(d.transfer_syntax, "1.2.840.10008.1.2.1.99") && d.rows == 512 && d.cols == 512, "dfl header");
        CHECK(px(&d, 0, 0, 0, 0) == 213 && px(&d, 0, 100, 200, 0) == 41 && px(&d, 0, 511, 511, 0) == 188, "dfl values");
        CHECK(sum_frames(&d) == 33322688.0, "dfl sum %f", sum_frames(&d));
        mgx_dicom_free(&d);
    }
    {   /* the deflated data set cut short, and inside the pixel data: the inflater's message, never a silent cut */
        size_t n;
        unsigned char *p = (unsigned char *)mgt_read_file(DD "image_dfl.dcm", &n);
        CHECK(p != NULL, "read image_dfl.dcm");
        if (p) {
            rc = mgx_dicom_load_mem(p, n - 200, &d, err, sizeof err);
            CHECK(rc == -1 && strstr(err, "DICOM: deflated data set: deflate: truncated compressed data"), "cut deflated data set: %s", err);
            rc = mgx_dicom_load_mem_ex(p, n - 200, &d, MGX_DICOM_HEADER_ONLY, err, sizeof err);
            CHECK(rc == 0 && d.rows == 512 && !d.data, "header only stops before the cut: %s", err);
            if (!rc) mgx_dicom_free(&d);
            free(p);
        }
    }
    /* explicit VR big endian, RGB planar configuration 1. [pydicom] 60x80x3, [0,0] (171,171,171),
       [30,40] (255,255,0), [59,79] (255,232,0), sum 2470716, modality US */
    rc = mgx_dicom_load_file(DD "ExplVR_BigEnd.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "ExplVR_BigEnd: %s", err);
    if (!rc) {
        CHECK(d.rows == 60 && d.cols == 80 && d.samples == 3 && !strcmp(d.modality, "US"), "BigEnd header");
        CHECK(px(&d, 0, 0, 0, 0) == 171 && px(&d, 0, 0, 0, 2) == 171 && px(&d, 0, 30, 40, 0) == 255 && px(&d, 0, 30, 40, 1) == 255 &&
              px(&d, 0, 30, 40, 2) == 0 && px(&d, 0, 59, 79, 1) == 232, "BigEnd RGB values");
        CHECK(sum_frames(&d) == 2470716.0, "BigEnd sum %f", sum_frames(&d));
        mgx_dicom_free(&d);
    }
    /* native YBR_FULL_422. [pydicom convert_color_space] [0,0] (254,0,0), [50,50] (125,130,255),
       [99,99] (255,255,255), [5,30] (254,0,0), sum 3832000 */
    rc = mgx_dicom_load_file(DD "SC_ybr_full_422_uncompressed.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "ybr422: %s", err);
    if (!rc) {
        CHECK(px(&d, 0, 0, 0, 0) == 254 && px(&d, 0, 0, 0, 1) == 0 && px(&d, 0, 50, 50, 0) == 125 && px(&d, 0, 50, 50, 1) == 130 &&
              px(&d, 0, 50, 50, 2) == 255 && px(&d, 0, 99, 99, 1) == 255 && px(&d, 0, 5, 30, 0) == 254, "ybr422 values");
        CHECK(sum_frames(&d) == 3832000.0, "ybr422 sum %f", sum_frames(&d));
        mgx_dicom_free(&d);
    }
    /* RLE, 16-bit RGB, 2 frames. [pydicom] frame 1 [0,0] (0,65535,65535), [50,50] (32639,32639,0);
       frame 0 [99,99] (65535,65535,65535); RGB output is scaled to 0..255: round(v*255/65535) */
    rc = mgx_dicom_load_file(DD "SC_rgb_rle_16bit_2frame.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "rle16: %s", err);
    if (!rc) {
        CHECK(d.frames == 2 && d.samples == 3, "rle16 shape");
        CHECK(px(&d, 1, 0, 0, 0) == 0 && px(&d, 1, 0, 0, 1) == 255 && px(&d, 1, 50, 50, 0) == 127 && px(&d, 1, 50, 50, 2) == 0 &&
              px(&d, 0, 99, 99, 1) == 255, "rle16 values %g %g", px(&d, 1, 50, 50, 0), px(&d, 1, 0, 0, 1));
        mgx_dicom_free(&d);
    }
    /* RLE, 32-bit unsigned grey, 15 frames. [pydicom] [0,0,0] 1249000, [7,5,5] 975000, [14,9,9] 799000,
       sum 1519910000 */
    rc = mgx_dicom_load_file(DD "rtdose_rle.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "rtdose_rle: %s", err);
    if (!rc) {
        CHECK(d.frames == 15 && d.bits_allocated == 32, "rtdose shape");
        CHECK(px(&d, 0, 0, 0, 0) == 1249000 && px(&d, 7, 5, 5, 0) == 975000 && px(&d, 14, 9, 9, 0) == 799000, "rtdose values");
        CHECK(sum_frames(&d) == 1519910000.0, "rtdose sum %f", sum_frames(&d));
        mgx_dicom_free(&d);
    }
}

/* ---- generated files ([gen]: make_testdata.py) -------------------------------------------- */

static void test_mono1(void) {
    /* MONOCHROME1, 16 allocated / 12 stored / high bit 11, signed, junk in the unused bits, slope 0.5,
       intercept 100, window "40\500" / "1000\2000" (first values count). [numpy] from the standard. */
    static const double modality[30] = {-924.0, 1123.5, 99.5, 1123.5, -347.5, 277.0, 1059.0, 786.0, -424.5, -380.0,
        954.0, -694.0, 667.0, 685.5, -605.5, 140.5, -868.0, 993.0, -188.5, 395.5, -368.0, -523.5, 621.5, 117.0, 981.0,
        463.0, 803.0, 677.5, -265.0, -338.0};
    static const int img8[30] = {255, 0, 112, 0, 226, 67, 0, 0, 246, 235, 0, 255, 0, 0, 255, 102, 255, 0, 186, 37, 232,
        255, 0, 108, 0, 19, 0, 0, 205, 224};
    mgx_dicom d;
    mgx_image img;
    int rc = mgx_dicom_load_file(DD "mono1_12bit.dcm", &d, err, sizeof err), i, bad = 0, bad8 = 0;
    CHECK(rc == 0, "mono1: %s", err);
    if (rc) return;
    CHECK(d.rows == 6 && d.cols == 5 && d.bits_stored == 12 && d.high_bit == 11 && !strcmp(d.photometric, "MONOCHROME1"), "mono1 header");
    CHECK(d.has_window && d.window_center == 40 && d.window_width == 1000, "mono1 window %g %g", d.window_center, d.window_width);
    for (i = 0; i < 30; i++) if (d.data[i] != (float)modality[i]) bad++;
    CHECK(bad == 0, "mono1 modality values: %d wrong", bad);
    rc = mgx_dicom_frame_to_image(&d, 0, &img, err, sizeof err);
    CHECK(rc == 0 && img.channels == 1, "mono1 image: %s", err);
    if (!rc) {
        for (i = 0; i < 30; i++) if (img.px[i] != img8[i]) bad8++;
        CHECK(bad8 == 0, "mono1 windowed+inverted 8-bit: %d wrong", bad8);
    }
    mgx_image_free(&img);
    mgx_dicom_free(&d);
}

static void test_colour_generated(void) {
    /* [pydicom] pixel_array of rgb_planar1.dcm (planar configuration 1), first 12 values (y0: x0, x1, x2, x3) */
    static const int rgb_first[12] = {208, 82, 186, 75, 255, 236, 114, 37, 63, 56, 217, 119};
    /* [pydicom convert_color_space] ybr_full.dcm -> RGB, all 36 values */
    static const int ybr[36] = {57, 74, 154, 183, 246, 54, 25, 128, 255, 82, 176, 113, 167, 198, 32, 109, 110, 250, 123,
        46, 184, 90, 241, 26, 176, 3, 59, 139, 194, 136, 201, 112, 80, 77, 117, 5};
    mgx_dicom d;
    int rc, i, bad = 0;
    rc = mgx_dicom_load_file(DD "rgb_planar1.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "rgb_planar1: %s", err);
    if (!rc) {
        for (i = 0; i < 12; i++) if (d.data[i] != rgb_first[i]) bad++;
        CHECK(bad == 0 && px(&d, 0, 3, 6, 2) == 212 && px(&d, 0, 3, 6, 0) == 204, "rgb_planar1 values (%d wrong)", bad);
        CHECK(sum_frames(&d) == 11168.0, "rgb_planar1 sum %f", sum_frames(&d)); /* [pydicom] pixel_array.sum() */
        mgx_dicom_free(&d);
    }
    bad = 0;
    rc = mgx_dicom_load_file(DD "ybr_full.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "ybr_full: %s", err);
    if (!rc) {
        for (i = 0; i < 36; i++) if (d.data[i] != ybr[i]) bad++;
        CHECK(bad == 0, "ybr_full -> RGB: %d wrong", bad);
        mgx_dicom_free(&d);
    }
}

static void test_enhanced(void) {
    /* Enhanced CT, 5 frames, functional groups: shared PixelSpacing 0.5\0.75, thickness 2.5, orientation
       identity, window 40/400; per-frame positions z = 10 - 2.5k and intercepts -1024,-1000,-1024,-900,-1024.
       [gen]+[pydicom] per-frame HU: hu[0,0] = -50,-2,-49,134,-33; hu[7,9] = -443,-37,40,118,-64;
       sums -90697,-42220,-10964,22043,-17594. An IconImageSequence (2x2) must be ignored. */
    static const char *files[] = {"ct_enhanced.dcm", "ct_enhanced_implicit.dcm"};
    static const double h00[5] = {-50, -2, -49, 134, -33}, h79[5] = {-443, -37, 40, 118, -64};
    int k, f;
    for (k = 0; k < 2; k++) {
        char path[256];
        mgx_dicom d;
        int rc, bad = 0;
        snprintf(path, sizeof path, DD "%s", files[k]);
        rc = mgx_dicom_load_file(path, &d, err, sizeof err);
        CHECK(rc == 0, "%s: %s", files[k], err);
        if (rc) continue;
        CHECK(d.rows == 16 && d.cols == 16 && d.frames == 5, "%s shape %dx%d f%d", files[k], d.rows, d.cols, d.frames);
        CHECK(d.spacing[0] == 0.5 && d.spacing[1] == 0.75 && d.thickness == 2.5, "%s spacing", files[k]);
        CHECK(d.has_window && d.window_center == 40 && d.window_width == 400, "%s window", files[k]);
        CHECK(d.has_orientation && d.orientation[0] == 1 && d.orientation[4] == 1, "%s orientation", files[k]);
        CHECK(d.frame_position != NULL, "%s frame positions", files[k]);
        for (f = 0; f < 5; f++) {
            if (px(&d, f, 0, 0, 0) != h00[f] || px(&d, f, 7, 9, 0) != h79[f]) bad++;
            if (d.frame_position && (d.frame_position[f * 3 + 2] != 10 - 2.5 * f || d.frame_position[f * 3] != -72.2)) bad++;
        }
        CHECK(bad == 0, "%s per-frame values/positions: %d wrong", files[k], bad);
        CHECK(sum_frames(&d) == -90697.0 - 42220 - 10964 + 22043 - 17594, "%s sum %f", files[k], sum_frames(&d));
        mgx_dicom_free(&d);
    }
}

static void test_wsi_sparse(void) {
    /* TILED_SPARSE native RGB: 4 tiles 8x8 at 1-based (col,row) (9,1) (1,1) (1,9) (17,5) over 20x12.
       [gen] numpy assembly (white where no tile): first 48 values of row 0, and row 0 x 16..19 white. */
    static const int row0[48] = {167, 224, 241, 25, 8, 20, 215, 223, 148, 255, 31, 222, 154, 49, 5, 46, 60, 219, 205, 204,
        111, 13, 177, 200, 79, 31, 208, 143, 158, 57, 14, 62, 23, 207, 95, 165, 120, 105, 199, 178, 98, 144, 78, 28, 59,
        222, 162, 131};
    mgx_dicom d;
    mgx_image img;
    int rc = mgx_dicom_load_file(DD "wsi_sparse.dcm", &d, err, sizeof err), i, bad = 0;
    CHECK(rc == 0, "wsi_sparse: %s", err);
    if (rc) return;
    CHECK(d.total_cols == 20 && d.total_rows == 12 && d.frames == 4 && d.tile_col && d.tile_row, "wsi_sparse header");
    if (d.tile_col)
        CHECK(d.tile_col[0] == 8 && d.tile_row[0] == 0 && d.tile_col[1] == 0 && d.tile_col[2] == 0 && d.tile_row[2] == 8 &&
              d.tile_col[3] == 16 && d.tile_row[3] == 4, "wsi_sparse tile positions");
    rc = mgx_dicom_tiles_to_image(&d, &img, err, sizeof err);
    CHECK(rc == 0 && img.w == 20 && img.h == 12 && img.channels == 3, "wsi_sparse assemble: %s", err);
    if (!rc) {
        for (i = 0; i < 48; i++) if (img.px[i] != row0[i]) bad++;
        for (i = 48; i < 60; i++) if (img.px[i] != 255) bad++;
        /* tile 3 (frame 3) lands at x 16..19, y 4..11: its own pixel (0,0) at image (16,4) */
        for (i = 0; i < 3; i++) if (img.px[(4 * 20 + 16) * 3 + i] != (unsigned char)px(&d, 3, 0, 0, i)) bad++;
        CHECK(bad == 0, "wsi_sparse assembled pixels: %d wrong", bad);
    }
    mgx_image_free(&img);
    mgx_dicom_free(&d);
}

static void test_encap_uncompressed(void) {
    /* [gen] 2 frames of 2x3 uint16: {1,2,3,4,5,6} and {100,200,300,400,500,65535} */
    mgx_dicom d;
    int rc = mgx_dicom_load_file(DD "encap_uncompressed.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "encap_uncompressed: %s", err);
    if (rc) return;
    CHECK(d.frames == 2 && px(&d, 0, 0, 0, 0) == 1 && px(&d, 0, 1, 2, 0) == 6 && px(&d, 1, 0, 1, 0) == 200 &&
          px(&d, 1, 1, 2, 0) == 65535, "encap_uncompressed values");
    mgx_dicom_free(&d);
}

/* ---- JPEG ------------------------------------------------------------------------------------ */

static void test_jpeg(void) {
    mgx_dicom d, d3;
    int rc, rc3, f;
    /* [PIL] decoding of the fragment: 1024x1024 grey, [0,0] 0, [512,512] 125, sum 76036046 (mean 72.514),
       min 0, max 245. Our JPEG decoder may differ from libjpeg by a rounding step: tolerances below. */
    rc = mgx_dicom_load_file(DD "encapsulated_cxr_synthetic.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "cxr jpeg: %s", err);
    if (!rc) {
        double s = sum_frames(&d);
        CHECK(d.rows == 1024 && d.cols == 1024 && !strcmp(d.modality, "CR") && !strcmp(d.transfer_syntax, "1.2.840.10008.1.2.4.50"), "cxr header");
        CHECK(near(px(&d, 0, 0, 0, 0), 0, 2) && near(px(&d, 0, 512, 512, 0), 125, 2), "cxr pixels %g %g", px(&d, 0, 0, 0, 0), px(&d, 0, 512, 512, 0));
        CHECK(near(s / (1024.0 * 1024.0), 72.514, 0.3), "cxr mean %f", s / (1024.0 * 1024.0));
        /* the same JPEG split into 3 fragments decodes identically */
        rc3 = mgx_dicom_load_file(DD "cxr_3fragments.dcm", &d3, err, sizeof err);
        CHECK(rc3 == 0, "cxr 3 fragments: %s", err);
        if (!rc3) {
            CHECK(!memcmp(d.data, d3.data, (size_t)1024 * 1024 * sizeof(float)), "3-fragment frame equals 1-fragment frame");
            mgx_dicom_free(&d3);
        }
        mgx_dicom_free(&d);
    }
    /* [PIL] 3 frames, 2 fragments each: frame 0 [0,0] 0 [8,13] 130 sum 44160; frame 1 50 50 19200;
       frame 2 [0,0] 19 [8,13] 220 sum 46128. With and without a basic offset table. */
    {
        static const char *files[] = {"jpeg_3frames_bot.dcm", "jpeg_3frames_nobot.dcm"};
        static const double p00[3] = {0, 50, 19}, p813[3] = {130, 50, 220}, sums[3] = {44160, 19200, 46128};
        int k;
        for (k = 0; k < 2; k++) {
            char path[256];
            snprintf(path, sizeof path, DD "%s", files[k]);
            rc = mgx_dicom_load_file(path, &d, err, sizeof err);
            CHECK(rc == 0, "%s: %s", files[k], err);
            if (rc) continue;
            CHECK(d.frames == 3 && d.rows == 16 && d.cols == 24, "%s shape", files[k]);
            for (f = 0; f < 3; f++) {
                double s = 0;
                int i;
                for (i = 0; i < 16 * 24; i++) s += d.data[f * 16 * 24 + i];
                CHECK(near(px(&d, f, 0, 0, 0), p00[f], 3) && near(px(&d, f, 8, 13, 0), p813[f], 3) && near(s, sums[f], 16 * 24 * 0.5),
                      "%s frame %d: %g %g sum %f", files[k], f, px(&d, f, 0, 0, 0), px(&d, f, 8, 13, 0), s);
            }
            mgx_dicom_free(&d);
        }
    }
    /* JPEG YBR_FULL colour (dcmtk-made). [PIL] [0,0] (254,0,0), [50,50] (125,130,255), mean 127.733 */
    rc = mgx_dicom_load_file(DD "SC_rgb_jpeg_dcmtk.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "SC_rgb_jpeg_dcmtk: %s", err);
    if (!rc) {
        CHECK(d.samples == 3 && near(px(&d, 0, 0, 0, 0), 254, 3) && near(px(&d, 0, 0, 0, 1), 0, 3) && near(px(&d, 0, 50, 50, 0), 125, 3) &&
              near(px(&d, 0, 50, 50, 2), 255, 3), "jpeg colour values");
        CHECK(near(sum_frames(&d) / (100.0 * 100 * 3), 127.733, 0.5), "jpeg colour mean %f", sum_frames(&d) / 30000.0);
        mgx_dicom_free(&d);
    }
    /* WSI: 15 JPEG tiles 256x256 (YBR_FULL_422), TILED_FULL over 1152x700. [PIL]: tiles pasted row-major
       equal the PNG level published with the file exactly; assembled mean 204.987, per-channel means
       207.298 / 192.571 / 215.093; pixels [0,0] (227,225,230), [350,576] (227,222,228), [300,1000]
       (124,70,158), [699,1151] (228,228,230). Frame 4 centre (1,0,2). */
    rc = mgx_dicom_load_file(DD "camelyon_multiframe_wsi.dcm", &d, err, sizeof err);
    CHECK(rc == 0, "camelyon wsi: %s", err);
    if (!rc) {
        mgx_image img;
        CHECK(d.frames == 15 && d.total_cols == 1152 && d.total_rows == 700 && d.samples == 3 && !strcmp(d.modality, "SM"), "wsi header");
        CHECK(d.tile_col && d.tile_col[6] == 256 && d.tile_row[6] == 256 && d.tile_col[14] == 1024 && d.tile_row[14] == 512, "wsi TILED_FULL positions");
        CHECK(near(px(&d, 4, 128, 128, 0), 1, 3) && near(px(&d, 4, 128, 128, 2), 2, 3), "wsi frame 4 centre");
        rc = mgx_dicom_tiles_to_image(&d, &img, err, sizeof err);
        CHECK(rc == 0 && img.w == 1152 && img.h == 700 && img.channels == 3, "wsi assemble: %s", err);
        if (!rc) {
            double m[3] = {0, 0, 0};
            size_t i, n = (size_t)1152 * 700;
            const unsigned char *q;
            for (i = 0; i < n; i++) { m[0] += img.px[i * 3]; m[1] += img.px[i * 3 + 1]; m[2] += img.px[i * 3 + 2]; }
            CHECK(near(m[0] / n, 207.298, 0.3) && near(m[1] / n, 192.571, 0.3) && near(m[2] / n, 215.093, 0.3), "wsi channel means %f %f %f",
                  m[0] / n, m[1] / n, m[2] / n);
            q = img.px;
            CHECK(near(q[0], 227, 4) && near(q[1], 225, 4) && near(q[2], 230, 4), "wsi px[0,0]");
            q = img.px + ((size_t)300 * 1152 + 1000) * 3;
            CHECK(near(q[0], 124, 6) && near(q[1], 70, 6) && near(q[2], 158, 6), "wsi px[300,1000] %d %d %d", q[0], q[1], q[2]);
            q = img.px + ((size_t)699 * 1152 + 1151) * 3;
            CHECK(near(q[0], 228, 4) && near(q[1], 228, 4) && near(q[2], 230, 4), "wsi px[699,1151]");
        }
        mgx_image_free(&img);
        mgx_dicom_free(&d);
    }
}

static void test_rejections(void) {
    mgx_dicom d;
    int rc;
    rc = mgx_dicom_load_file(DD "JPGExtended.dcm", &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "12 bits"), "12-bit JPEG refused: %s", err);
    rc = mgx_dicom_load_file(DD "MR_small_jpeg_ls_lossless.dcm", &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "JPEG-LS"), "JPEG-LS refused by name: %s", err);
    rc = mgx_dicom_load_file(DD "UN_sequence.dcm", &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "JPEG Lossless"), "JPEG lossless refused by name: %s", err);
    rc = mgx_dicom_load_file(DD "no_such_file.dcm", &d, err, sizeof err);
    CHECK(rc == -1 && err[0], "missing file: %s", err);
    rc = mgx_dicom_load_file("tests/data/nifti/anatomical.nii", &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a DICOM"), "NIfTI is not DICOM: %s", err);
    CHECK(d.data == NULL && d.tile_col == NULL, "struct zeroed after failure");
}

/* ---- data sets without preamble / meta, built in memory ------------------------------------- */

/* offset of the first element after the file meta group of a Part 10 file */
static size_t after_meta(const unsigned char *p, size_t n) {
    size_t pos = 132;
    while (pos + 8 <= n && p[pos] == 2 && p[pos + 1] == 0) {
        unsigned vl;
        const unsigned char *v = p + pos + 4;
        int lng = (v[0] == 'O' || v[0] == 'U' || v[0] == 'S') && (v[1] == 'B' || v[1] == 'N' || v[1] == 'Q' || v[1] == 'T');
        if (lng) { vl = p[pos + 8] | p[pos + 9] << 8 | p[pos + 10] << 16 | (unsigned)p[pos + 11] << 24; pos += 12 + vl; }
        else { vl = p[pos + 6] | p[pos + 7] << 8; pos += 8 + vl; }
    }
    return pos;
}

static void test_no_meta(void) {
    static const char *files[] = {DD "CT_small.dcm", DD "MR_small_implicit.dcm"};
    static const double sums[] = {-1950906.0, 2125338.0};
    int k;
    for (k = 0; k < 2; k++) {
        size_t n, off;
        unsigned char *p = (unsigned char *)mgt_read_file(files[k], &n);
        mgx_dicom d;
        int rc;
        CHECK(p != NULL, "read %s", files[k]);
        if (!p) continue;
        off = after_meta(p, n);
        CHECK(p[off] == 8 && p[off + 1] == 0, "%s: group 0008 follows the meta group", files[k]);
        CHECK(mgx_dicom_probe(p + off, n - off) == 1, "probe bare data set");
        rc = mgx_dicom_load_mem(p + off, n - off, &d, err, sizeof err);
        CHECK(rc == 0, "%s without preamble/meta: %s", files[k], err);
        if (!rc) {
            CHECK(sum_frames(&d) == sums[k], "%s bare sum %f", files[k], sum_frames(&d));
            mgx_dicom_free(&d);
        }
        free(p);
    }
}

typedef struct { unsigned char b[16384]; size_t n; } mbuf;

static void put16(mbuf *m, unsigned v) { m->b[m->n++] = (unsigned char)v; m->b[m->n++] = (unsigned char)(v >> 8); }
static void put32(mbuf *m, uint32_t v) { put16(m, v & 0xFFFF); put16(m, v >> 16); }
static void put_raw(mbuf *m, const void *v, size_t n) { memcpy(m->b + m->n, v, n); m->n += n; }
/* explicit VR little endian element; len UINT32_MAX = undefined; val may be NULL */
static void el(mbuf *m, unsigned g, unsigned e, const char *vr, const void *val, uint32_t len) {
    int lng = !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UN") || !strcmp(vr, "UT");
    put16(m, g); put16(m, e); put_raw(m, vr, 2);
    if (lng) { put16(m, 0); put32(m, len); } else put16(m, len);
    if (val && len != 0xFFFFFFFFu) put_raw(m, val, len);
}
static void el_us(mbuf *m, unsigned g, unsigned e, unsigned v) { unsigned char b[2]; b[0] = (unsigned char)v; b[1] = (unsigned char)(v >> 8); el(m, g, e, "US", b, 2); }
static void item(mbuf *m, uint32_t len) { put16(m, 0xFFFE); put16(m, 0xE000); put32(m, len); }
static void delim(mbuf *m, unsigned e) { put16(m, 0xFFFE); put16(m, e); put32(m, 0); }

/* the image pixel module of 2x2 unsigned grey frames of `bits` bits; frames NULL: no NumberOfFrames */
static void grey_2x2(mbuf *m, const char *frames, unsigned bits) {
    el_us(m, 0x0028, 0x0002, 1);
    el(m, 0x0028, 0x0004, "CS", "MONOCHROME2 ", 12);
    if (frames) el(m, 0x0028, 0x0008, "IS", frames, (uint32_t)strlen(frames));
    el_us(m, 0x0028, 0x0010, 2);
    el_us(m, 0x0028, 0x0011, 2);
    el_us(m, 0x0028, 0x0100, bits);
    el_us(m, 0x0028, 0x0101, bits);
    el_us(m, 0x0028, 0x0102, bits - 1);
    el_us(m, 0x0028, 0x0103, 0);
}

/* a 2x2 8-bit image; `extra` adds elements between Modality and the image attributes */
static void build(mbuf *m, void (*extra)(mbuf *), const char *frames, size_t pixlen) {
    static const unsigned char pix[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    m->n = 0;
    el(m, 0x0008, 0x0060, "CS", "OT", 2);
    if (extra) extra(m);
    grey_2x2(m, frames, 8);
    el(m, 0x7FE0, 0x0010, "OB", pix, (uint32_t)pixlen);
}

static void x_deep(mbuf *m) {
    int i;
    for (i = 0; i < 200; i++) { el(m, 0x0008, 0x1140, "SQ", NULL, 0xFFFFFFFFu); item(m, 0xFFFFFFFFu); }
    for (i = 0; i < 200; i++) { delim(m, 0xE00D); delim(m, 0xE0DD); }
}
static void x_nested_ok(mbuf *m) {
    /* undefined-length sequence with an item holding an icon (Rows 9, encapsulated undefined-length pixel
       data) and a defined-length sequence inside: all skipped */
    el(m, 0x0088, 0x0200, "SQ", NULL, 0xFFFFFFFFu);
    item(m, 0xFFFFFFFFu);
    el_us(m, 0x0028, 0x0010, 9);
    el(m, 0x0009, 0x1001, "SQ", NULL, 8 + 10);
    item(m, 10);
    el(m, 0x0009, 0x1002, "LO", "ab", 2);
    el(m, 0x7FE0, 0x0010, "OB", NULL, 0xFFFFFFFFu);
    item(m, 0); item(m, 4); put32(m, 0x12345678); delim(m, 0xE0DD);
    delim(m, 0xE00D);
    delim(m, 0xE0DD);
    el(m, 0x0009, 0x0010, "LO", "odd", 3);  /* odd length: tolerated */
}
static void x_undef_ob(mbuf *m) { el(m, 0x0009, 0x1000, "OB", NULL, 0xFFFFFFFFu); }
static void x_huge_len(mbuf *m) { el(m, 0x0009, 0x1000, "OB", NULL, 0x7FFFFFF0u); }
static void x_bad_item(mbuf *m) {
    el(m, 0x0008, 0x1140, "SQ", NULL, 16);
    item(m, 1000);  /* item longer than its sequence */
    put32(m, 0); put32(m, 0);
}
static void x_bad_vr(mbuf *m) { put16(m, 0x0009); put16(m, 0x1010); put_raw(m, "a!", 2); put16(m, 0); }

static void test_built(void) {
    mbuf *m = (mbuf *)malloc(sizeof(mbuf));
    mgx_dicom d;
    int rc;
    if (!m) return;
    build(m, NULL, NULL, 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == 0 && d.rows == 2 && d.data && d.data[0] == 1 && d.data[3] == 4, "minimal built data set: %s", err);
    if (!rc) mgx_dicom_free(&d);
    build(m, x_nested_ok, NULL, 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == 0 && d.rows == 2 && d.data && d.data[2] == 3, "nested sequences and icon skipped: %s", err);
    if (!rc) mgx_dicom_free(&d);
    build(m, x_deep, NULL, 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "nested"), "deep nesting refused: %s", err);
    build(m, x_undef_ob, NULL, 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "undefined length"), "undefined length outside SQ: %s", err);
    build(m, x_huge_len, NULL, 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "past the end"), "huge length: %s", err);
    build(m, x_bad_item, NULL, 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "item length"), "item longer than sequence: %s", err);
    build(m, x_bad_vr, NULL, 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "value representation"), "bad VR: %s", err);
    build(m, NULL, NULL, 3);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "pixel data has 3 bytes"), "short pixel data: %s", err);
    build(m, NULL, "2 ", 8);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == 0 && d.frames == 2 && d.data && d.data[7] == 8, "2 frames: %s", err);
    if (!rc) mgx_dicom_free(&d);
    build(m, NULL, "3 ", 8);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "3 frame"), "frames beyond the data: %s", err);
    build(m, NULL, "0 ", 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "NumberOfFrames"), "zero frames: %s", err);
    build(m, NULL, "99999999", 4);
    rc = mgx_dicom_load_mem(m->b, m->n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "NumberOfFrames"), "absurd frame count: %s", err);
    rc = mgx_dicom_load_mem("hello", 5, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a DICOM"), "garbage: %s", err);
    rc = mgx_dicom_load_mem(NULL, 0, &d, err, sizeof err);
    CHECK(rc == -1, "empty buffer");
    free(m);
}

/* ---- corrupt files ------------------------------------------------------------------------- */

static void test_patched(void) {
    size_t n;
    unsigned char *p = (unsigned char *)mgt_read_file(DD "cxr_3fragments.dcm", &n), *q;
    mgx_dicom d;
    int rc;
    size_t i, frag = 0;
    if (!p) { CHECK(0, "read cxr_3fragments"); return; }
    q = (unsigned char *)malloc(n);
    /* find the second item tag after the pixel data element (the first fragment) */
    for (i = n - 8; i > 132; i--)
        if (p[i] == 0xE0 && p[i + 1] == 0x7F && p[i + 2] == 0x10 && p[i + 3] == 0) break;
    {
        size_t pos = i + 12 + 8;  /* past the element header and the empty offset table item */
        frag = pos;
    }
    CHECK(p[frag] == 0xFE && p[frag + 1] == 0xFF && p[frag + 2] == 0 && p[frag + 3] == 0xE0, "located first fragment");
    memcpy(q, p, n);
    q[frag + 7] = 0x7F;  /* fragment length huge */
    rc = mgx_dicom_load_mem(q, n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "fragment"), "huge fragment length: %s", err);
    memcpy(q, p, n);
    q[frag + 2] = 0x55;  /* not an item tag */
    rc = mgx_dicom_load_mem(q, n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "unexpected tag"), "bad fragment tag: %s", err);
    memcpy(q, p, n);
    memset(q + frag + 8, 0, 64);  /* destroy the JPEG SOI and headers */
    rc = mgx_dicom_load_mem(q, n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "frame 0"), "undecodable JPEG fragment: %s", err);
    rc = mgx_dicom_load_mem(p, n - 5000, &d, err, sizeof err);
    CHECK(rc == -1 && err[0], "truncated inside the fragments: %s", err);
    free(q);
    free(p);
}

/* Truncations at many offsets and random byte flips of every test file: must never crash (run under
   ASan/UBSan), must report an error message on failure, and must free everything. */
static void test_mutations(void) {
    static const char *files[] = {"CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm",
        "MR_small_RLE.dcm", "image_dfl.dcm", "ExplVR_BigEnd.dcm", "SC_ybr_full_422_uncompressed.dcm",
        "SC_rgb_rle_16bit_2frame.dcm", "rtdose_rle.dcm", "mono1_12bit.dcm", "rgb_planar1.dcm", "ybr_full.dcm",
        "ct_enhanced.dcm", "ct_enhanced_implicit.dcm", "wsi_sparse.dcm", "encap_uncompressed.dcm",
        "jpeg_3frames_bot.dcm", "jpeg_3frames_nobot.dcm", "SC_rgb_jpeg_dcmtk.dcm", "cxr_3fragments.dcm"};
    size_t k;
    uint32_t seed = 12345;
    for (k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[256];
        size_t n, cut, step, i;
        unsigned char *p, *q;
        int silent = 0, ok_full = 0, runs = 0;
        mgx_dicom d;
        snprintf(path, sizeof path, DD "%s", files[k]);
        p = (unsigned char *)mgt_read_file(path, &n);
        if (!p) { CHECK(0, "read %s", path); continue; }
        ok_full = mgx_dicom_load_mem(p, n, &d, err, sizeof err) == 0;
        if (ok_full) mgx_dicom_free(&d);
        step = n > 6000 ? n / 3000 : 1;
        for (cut = 0; cut < n; cut += step) {
            q = (unsigned char *)malloc(cut ? cut : 1);
            memcpy(q, p, cut);
            err[0] = 0;
            if (mgx_dicom_load_mem(q, cut, &d, err, sizeof err) == 0) mgx_dicom_free(&d);
            else if (!err[0]) silent++;
            free(q);
            runs++;
        }
        q = (unsigned char *)malloc(n);
        for (i = 0; i < 300; i++) {
            int j, flips = 1 + (int)(i % 4);
            memcpy(q, p, n);
            for (j = 0; j < flips; j++) {
                seed = seed * 1103515245u + 12345u;
                q[(seed >> 8) % n] ^= (unsigned char)(1u << ((seed >> 4) & 7));
            }
            err[0] = 0;
            if (mgx_dicom_load_mem(q, n, &d, err, sizeof err) == 0) {
                mgx_image img;
                if (mgx_dicom_frame_to_image(&d, d.frames - 1, &img, err, sizeof err) == 0) mgx_image_free(&img);
                mgx_dicom_free(&d);
            } else if (!err[0]) silent++;
            runs++;
        }
        free(q);
        CHECK(ok_full && silent == 0, "%s: %d truncations/flips survived, %d failures without a message", files[k], runs, silent);
        free(p);
    }
}

/* ---- volumes ------------------------------------------------------------------------------- */

static void test_volumes(void) {
    mgx_volume v;
    int rc, z, bad;
    /* CT5N: InstanceNumber 6..10 -> z 8.7625 .. -1.2375 (file 2062 first). [pydicom] hu[0,0] per file:
       2062 -50, 2392 -26, 2693 -49, 3023 10, 3353 -33; spacing 0.488281, thickness 2.5, WC 40 / WW 400. */
    rc = mgx_volume_load(DD "CT5N", &v, err, sizeof err);
    CHECK(rc == 0, "CT5N volume: %s", err);
    if (!rc) {
        static const float h[5] = {-50, -26, -49, 10, -33};
        bad = 0;
        CHECK(v.w == 16 && v.h == 16 && v.d == 5 && !strcmp(v.modality, "CT"), "CT5N dims");
        for (z = 0; z < 5; z++) if (v.vox[(size_t)z * 256] != h[z] || v.source_index[z] != z) bad++;
        CHECK(bad == 0, "CT5N instance order: %d wrong", bad);
        CHECK(near(v.spacing[0], 0.488281, 1e-6) && near(v.spacing[2], 2.5, 1e-9), "CT5N spacing %g %g", v.spacing[0], v.spacing[2]);
        CHECK(v.has_window && v.window_center == 40 && v.window_width == 400, "CT5N window");
        CHECK(v.has_affine && near(v.affine[2][2], -2.5, 1e-9) && near(v.affine[2][3], 8.7625, 1e-9), "CT5N affine");
        mgx_volume_free(&v);
    }
    /* two files without InstanceNumber -> ImagePositionPatient z ascending ([gen]):
       d.dcm(3353) b.dcm(3023) e.dcm(2693) a.dcm(2392) c.dcm(2062); README.txt and .hidden.dcm skipped */
    rc = mgx_volume_load(DD "series_noinst", &v, err, sizeof err);
    CHECK(rc == 0, "series_noinst: %s", err);
    if (!rc) {
        static const float h[5] = {-33, 10, -49, -26, -50};
        static const int src[5] = {3, 1, 4, 0, 2};
        bad = 0;
        CHECK(v.d == 5, "series_noinst slices %d", v.d);
        for (z = 0; z < 5 && z < v.d; z++) if (v.vox[(size_t)z * 256] != h[z] || v.source_index[z] != src[z]) bad++;
        CHECK(bad == 0, "series_noinst position order: %d wrong", bad);
        CHECK(near(v.spacing[2], 2.5, 1e-9), "series_noinst dz");
        mgx_volume_free(&v);
    }
    /* coronal: normal (0,1,0); y -5 (x2), 2.5 (x3), 10 (x1) while z runs the other way.
       [gen] hu[0,0] -26, -49, -50; hu[15,15] -834, -666, -729; slice spacing 7.5 */
    rc = mgx_volume_load(DD "series_coronal", &v, err, sizeof err);
    CHECK(rc == 0, "series_coronal: %s", err);
    if (!rc) {
        static const float h[3] = {-26, -49, -50}, h2[3] = {-834, -666, -729};
        static const int src[3] = {1, 2, 0};
        bad = 0;
        for (z = 0; z < 3 && z < v.d; z++)
            if (v.vox[(size_t)z * 256] != h[z] || v.vox[(size_t)z * 256 + 255] != h2[z] || v.source_index[z] != src[z]) bad++;
        CHECK(v.d == 3 && bad == 0, "series_coronal normal order: %d wrong", bad);
        CHECK(near(v.spacing[2], 7.5, 1e-9), "series_coronal dz %g", v.spacing[2]);
        mgx_volume_free(&v);
    }
    /* enhanced multi-frame file as a volume: spacing x 0.75 y 0.5 z 2.5 (per-frame positions) */
    rc = mgx_volume_load(DD "ct_enhanced.dcm", &v, err, sizeof err);
    CHECK(rc == 0, "ct_enhanced volume: %s", err);
    if (!rc) {
        CHECK(v.d == 5 && v.vox[0] == -50 && v.vox[3 * 256] == 134 && v.source_index[4] == 4, "enhanced volume values");
        CHECK(v.spacing[0] == 0.75 && v.spacing[1] == 0.5 && near(v.spacing[2], 2.5, 1e-9), "enhanced volume spacing");
        mgx_volume_free(&v);
    }
    rc = mgx_volume_load(DD "CT_small.dcm", &v, err, sizeof err);
    CHECK(rc == 0 && v.d == 1 && v.w == 128 && v.vox[10 * 128 + 5] == -820 && v.spacing[2] == 5, "single-file volume: %s", err);
    if (!rc) mgx_volume_free(&v);
    rc = mgx_volume_load(DD "rgb_planar1.dcm", &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "colour"), "colour volume refused: %s", err);
    rc = mgx_volume_load(DD "missing_dir/", &v, err, sizeof err);
    CHECK(rc == -1 && err[0], "missing path: %s", err);
    rc = mgx_volume_load(DD "make_testdata.py", &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "neither"), "non-image file: %s", err);
    /* a folder mixing sizes, and a folder without DICOM files */
    {
        char tmpl[] = "/tmp/mgx_test_volXXXXXX", path[512];
        char *dir = mkdtemp(tmpl);
        CHECK(dir != NULL, "mkdtemp");
        if (dir) {
            size_t n;
            unsigned char *a = (unsigned char *)mgt_read_file(DD "CT_small.dcm", &n);
            FILE *f;
            snprintf(path, sizeof path, "%s/note.txt", dir);
            f = fopen(path, "wb"); if (f) { fputs("hello\n", f); fclose(f); }
            rc = mgx_volume_load(dir, &v, err, sizeof err);
            CHECK(rc == -1 && strstr(err, "no DICOM"), "empty folder: %s", err);
            snprintf(path, sizeof path, "%s/a.dcm", dir);
            f = fopen(path, "wb"); if (f && a) { fwrite(a, 1, n, f); } if (f) fclose(f);
            free(a);
            a = (unsigned char *)mgt_read_file(DD "CT5N/2062.dcm", &n);
            snprintf(path, sizeof path, "%s/b.dcm", dir);
            f = fopen(path, "wb"); if (f && a) { fwrite(a, 1, n, f); } if (f) fclose(f);
            free(a);
            rc = mgx_volume_load(dir, &v, err, sizeof err);
            CHECK(rc == -1 && strstr(err, "holds 2 series") && strstr(err, "1: 1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322 CT"),
                  "two series listed: %s", err);
            snprintf(path, sizeof path, "%s/a.dcm", dir); remove(path);
            snprintf(path, sizeof path, "%s/b.dcm", dir); remove(path);
            snprintf(path, sizeof path, "%s/note.txt", dir); remove(path);
            rmdir(dir);
        }
    }
}

/* ---- series: a folder written here, 3 CT + 3 MR slices of 2x2 16-bit, value = 100 * series + 10 * slice + pixel ---- */

/* Writes one slice: series uid/modality/description, InstanceNumber inst, ImagePositionPatient z. */
static int write_slice(const char *path, const char *uid, const char *mod, const char *desc, int inst, int base) {
    mbuf *m = (mbuf *)malloc(sizeof(mbuf));
    unsigned char pix[8];
    char num[16], pos[32];
    int i, ok;
    FILE *f;
    if (!m) return 0;
    m->n = 0;
    el(m, 0x0008, 0x0060, "CS", mod, 2);
    el(m, 0x0008, 0x103E, "LO", desc, (uint32_t)strlen(desc));
    el(m, 0x0020, 0x000E, "UI", uid, (uint32_t)strlen(uid));
    snprintf(num, sizeof num, "%d ", inst);
    el(m, 0x0020, 0x0013, "IS", num, (uint32_t)(strlen(num) & ~1u));
    snprintf(pos, sizeof pos, "0\\0\\%d", inst);
    el(m, 0x0020, 0x0032, "DS", pos, (uint32_t)(strlen(pos) + 1) & ~1u);
    grey_2x2(m, NULL, 16);
    for (i = 0; i < 4; i++) { pix[2 * i] = (unsigned char)(base + i); pix[2 * i + 1] = 0; }
    el(m, 0x7FE0, 0x0010, "OW", pix, 8);
    f = fopen(path, "wb");
    ok = f && fwrite(m->b, 1, m->n, f) == m->n;
    if (f) ok &= fclose(f) == 0;
    free(m);
    return ok;
}

static void rm_tree(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("  could not remove %s\n", dir);
}

static void test_series(void) {
    char tmpl[] = "/tmp/mgx_test_seriesXXXXXX", path[512], sub[512];
    char *dir = mkdtemp(tmpl);
    mgx_volume v;
    mgx_volume_options o;
    int rc, i, ok = 1;
    CHECK(dir != NULL, "mkdtemp");
    if (!dir) return;
    /* the MR slices sort before the CT ones by name, but series are numbered by their first file: a_ct first */
    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/a_ct%d.dcm", dir, i);
        ok &= write_slice(path, "1.2.826.0.1.3680043.99.1", "CT", "chest", 3 - i, 110 + 10 * i);
        snprintf(path, sizeof path, "%s/b_mr%d.dcm", dir, i);
        ok &= write_slice(path, "1.2.826.0.1.3680043.99.2", "MR", "brain", i + 1, 210 + 10 * i);
    }
    CHECK(ok, "write the two-series folder");
    rc = mgx_volume_load(dir, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "holds 2 series") &&
          strstr(err, "\n  1: 1.2.826.0.1.3680043.99.1 CT \"chest\" 3 slices") &&
          strstr(err, "\n  2: 1.2.826.0.1.3680043.99.2 MR \"brain\" 3 slices"), "two series without a selector: %s", err);
    memset(&o, 0, sizeof o);
    o.series = "2";
    rc = mgx_volume_load_ex(dir, &o, &v, err, sizeof err);
    CHECK(rc == 0 && v.d == 3 && !strcmp(v.modality, "MR") && !strcmp(v.series_description, "brain") &&
          v.vox[0] == 210 && v.vox[4] == 220 && v.vox[11] == 233, "series 2 (MR) by number: %s", err);
    if (!rc) mgx_volume_free(&v);
    o.series = "1.2.826.0.1.3680043.99.1";
    rc = mgx_volume_load_ex(dir, &o, &v, err, sizeof err);
    /* InstanceNumber 3, 2, 1 for a_ct0..2: slice order a_ct2, a_ct1, a_ct0 */
    CHECK(rc == 0 && v.d == 3 && !strcmp(v.modality, "CT") && v.vox[0] == 130 && v.vox[4] == 120 && v.vox[8] == 110 &&
          v.source_index[0] == 2 && v.source_index[2] == 0, "series by UID (CT), instance order: %s", err);
    if (!rc) mgx_volume_free(&v);
    o.series = "3";
    rc = mgx_volume_load_ex(dir, &o, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "no series \"3\"") && strstr(err, "holds 2 series") && strstr(err, "2: 1.2.826"),
          "series 3 of 2: %s", err);
    o.series = "1.2.3";
    rc = mgx_volume_load_ex(dir, &o, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "no series \"1.2.3\""), "unknown UID: %s", err);
    o.series = NULL;
    o.volume = 1;
    rc = mgx_volume_load_ex(dir, &o, &v, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "volume 1") && strstr(err, "DICOM folder"), "volume index on a folder: %s", err);
    rm_tree(dir);

    /* one series spread over subfolders (two levels), with a link back to the top (a loop) and a FIFO */
    strcpy(tmpl, "/tmp/mgx_test_seriesXXXXXX");
    if (!(dir = mkdtemp(tmpl))) { CHECK(0, "mkdtemp"); return; }
    snprintf(sub, sizeof sub, "%s/s1", dir);
    ok = mkdir(sub, 0700) == 0;
    snprintf(sub, sizeof sub, "%s/s1/deeper", dir);
    ok &= mkdir(sub, 0700) == 0;
    snprintf(path, sizeof path, "%s/s1/x.dcm", dir);
    ok &= write_slice(path, "1.2.826.0.1.3680043.99.3", "CT", "split", 2, 20);
    snprintf(path, sizeof path, "%s/s1/deeper/y.dcm", dir);
    ok &= write_slice(path, "1.2.826.0.1.3680043.99.3", "CT", "split", 1, 10);
    snprintf(path, sizeof path, "%s/z.dcm", dir);
    ok &= write_slice(path, "1.2.826.0.1.3680043.99.3", "CT", "split", 3, 30);
    snprintf(path, sizeof path, "%s/s1/deeper/loop", dir);
    ok &= symlink(dir, path) == 0;
    snprintf(path, sizeof path, "%s/s1/fifo", dir);
    ok &= mkfifo(path, 0600) == 0;
    CHECK(ok, "write the nested folder");
    rc = mgx_volume_load(dir, &v, err, sizeof err);
    CHECK(rc == 0 && v.d == 3 && v.vox[0] == 10 && v.vox[4] == 20 && v.vox[8] == 30 && !strcmp(v.series_uid, "1.2.826.0.1.3680043.99.3"),
          "series in subfolders, loop walked once, FIFO skipped: %s", err);
    if (!rc) mgx_volume_free(&v);
    rm_tree(dir);
}

int main(void) {
    test_ct_small();
    test_mr_variants();
    test_other_native();
    test_mono1();
    test_colour_generated();
    test_enhanced();
    test_wsi_sparse();
    test_encap_uncompressed();
    test_jpeg();
    test_rejections();
    test_no_meta();
    test_built();
    test_patched();
    test_mutations();
    test_volumes();
    test_series();
    return MG_TEST_END();
}
