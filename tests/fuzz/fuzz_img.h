/* fuzz_img.h — the checks every image-decoder target runs on a decoded mgx_image. */
#ifndef MG_FUZZ_IMG_H
#define MG_FUZZ_IMG_H
#include "fuzz.h"
#include "mgx_image.h"

/* A decoded image is well-formed and all its bytes are readable (ASan checks the allocation). rc is the
   decoder's result; on failure the image must be left zeroed. */
static inline void fz_check_image(int rc, const mgx_image *img) {
    size_t i, n;
    volatile unsigned sum = 0;   /* volatile: every pixel is really read */
    if (rc != 0) {
        if (img->px || img->w || img->h) fz_fail("failed decode left an image");
        return;
    }
    if (img->w <= 0 || img->h <= 0 || (img->channels != 1 && img->channels != 3) || !img->px)
        fz_fail("decoded image has a bad shape");
    n = (size_t)img->w * (size_t)img->h * (size_t)img->channels;
    for (i = 0; i < n; i++) sum += img->px[i];
    (void)sum;
}

/* Decodes with one decoder, checks, and re-encodes small results as PNG, which must decode to the same pixels. */
static inline void fz_image_target(int (*decode)(const void *, size_t, mgx_image *, char *, size_t),
                                   const uint8_t *data, size_t size) {
    mgx_image img, back;
    char err[256];
    unsigned char *png = NULL;
    size_t png_n = 0;
    int rc;
    memset(&img, 0, sizeof img);
    rc = decode(data, size, &img, err, sizeof err);
    fz_check_image(rc, &img);
    if (rc == 0 && (size_t)img.w * img.h * img.channels <= (1u << 18) &&
        mgx_png_encode(&img, &png, &png_n, err, sizeof err) == 0) {
        memset(&back, 0, sizeof back);
        if (mgx_png_decode(png, png_n, &back, err, sizeof err) != 0) fz_fail("own PNG does not decode");
        if (back.w != img.w || back.h != img.h || back.channels != img.channels ||
            memcmp(back.px, img.px, (size_t)img.w * img.h * img.channels) != 0)
            fz_fail("PNG round trip changed the pixels");
        mgx_image_free(&back);
        free(png);
    }
    mgx_image_free(&img);
}
#endif
