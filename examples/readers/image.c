/* image.c — what every reader shares: error formatting, checked image allocation and pixel conversions.
   Calls no decoder (detect.c dispatches to them); files.c opens files. */
#include "mgx_image.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mgx_errf(char *err, size_t errsz, const char *fmt, ...) {
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int mgx_image_size(int w, int h, int channels, size_t *bytes, char *err, size_t errsz) {
    if (bytes) *bytes = 0;
    if (w <= 0 || h <= 0) return mgx_errf(err, errsz, "image has zero or negative size %dx%d", w, h);
    if (w > MGX_MAX_IMAGE_DIM || h > MGX_MAX_IMAGE_DIM)
        return mgx_errf(err, errsz, "image size %dx%d exceeds the limit of %d per side", w, h, MGX_MAX_IMAGE_DIM);
    if ((uint64_t)w * (uint64_t)h > (uint64_t)MGX_MAX_IMAGE_PIXELS)
        return mgx_errf(err, errsz, "image size %dx%d exceeds the limit of %lu pixels", w, h,
                        (unsigned long)MGX_MAX_IMAGE_PIXELS);
    if (channels < 1 || channels > 4) return mgx_errf(err, errsz, "unsupported channel count %d", channels);
    /* at most 2^28 pixels * 4 channels = 2^30 bytes, which fits any size_t of 32 bits or more */
    if (bytes) *bytes = (size_t)w * (size_t)h * (size_t)channels;
    return 0;
}

int mgx_image_alloc(mgx_image *img, int w, int h, int channels, char *err, size_t errsz) {
    size_t bytes;
    char what[64];
    memset(img, 0, sizeof *img);
    if (mgx_image_size(w, h, channels, &bytes, err, errsz)) return -1;
    snprintf(what, sizeof what, "a %dx%dx%d image", w, h, channels);
    if (mgx_check_claim(bytes, what, err, errsz)) return -1;
    img->px = (unsigned char *)MGX_MALLOC(bytes);
    if (!img->px) return mgx_errf(err, errsz, "out of memory for a %dx%dx%d image", w, h, channels);
    img->w = w;
    img->h = h;
    img->channels = channels;
    return 0;
}

void mgx_image_free(mgx_image *img) {
    if (!img) return;
    MGX_FREE(img->px);
    memset(img, 0, sizeof *img);
}

int mgx_image_to_rgb(mgx_image *img, char *err, size_t errsz) {
    size_t i, npx;
    unsigned char *p;
    if (!img || !img->px) return mgx_errf(err, errsz, "to_rgb: no image");
    if (img->channels == 3) return 0;
    if (img->channels != 1) return mgx_errf(err, errsz, "to_rgb: unsupported channel count %d", img->channels);
    if (mgx_image_size(img->w, img->h, 3, NULL, err, errsz)) return -1;
    npx = (size_t)img->w * (size_t)img->h;
    p = (unsigned char *)MGX_REALLOC(img->px, npx * 3);
    if (!p) return mgx_errf(err, errsz, "to_rgb: out of memory");
    for (i = npx; i-- > 0;) p[i * 3] = p[i * 3 + 1] = p[i * 3 + 2] = p[i];   /* backwards: in place */
    img->px = p;
    img->channels = 3;
    return 0;
}

int mgx_image_to_grey(mgx_image *img, char *err, size_t errsz) {
    size_t i, npx;
    unsigned char *p;
    if (!img || !img->px) return mgx_errf(err, errsz, "to_grey: no image");
    if (img->channels == 1) return 0;
    if (img->channels != 3) return mgx_errf(err, errsz, "to_grey: unsupported channel count %d", img->channels);
    npx = (size_t)img->w * (size_t)img->h;
    for (i = 0; i < npx; i++) {
        const unsigned char *q = img->px + i * 3;
        img->px[i] = (unsigned char)((299u * q[0] + 587u * q[1] + 114u * q[2] + 500u) / 1000u);
    }
    p = (unsigned char *)MGX_REALLOC(img->px, npx);
    if (p) img->px = p;   /* shrinking cannot lose data; keep the old block if realloc declines */
    img->channels = 1;
    return 0;
}
