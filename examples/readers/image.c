/* image.c — what every reader shares: error formatting, checked image allocation, pixel conversions and
   bounded file reading. Calls no decoder (detect.c dispatches to them). */
#include "mgx_image.h"

#include <errno.h>
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
    memset(img, 0, sizeof *img);
    if (mgx_image_size(w, h, channels, &bytes, err, errsz)) return -1;
    img->px = (unsigned char *)malloc(bytes);
    if (!img->px) return mgx_errf(err, errsz, "out of memory for a %dx%dx%d image", w, h, channels);
    img->w = w;
    img->h = h;
    img->channels = channels;
    return 0;
}

void mgx_image_free(mgx_image *img) {
    if (!img) return;
    free(img->px);
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
    p = (unsigned char *)realloc(img->px, npx * 3);
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
    p = (unsigned char *)realloc(img->px, npx);
    if (p) img->px = p;   /* shrinking cannot lose data; keep the old block if realloc declines */
    img->channels = 1;
    return 0;
}

/* 4 GiB, or the largest workable size when size_t is 32 bits. */
static size_t default_file_limit(void) {
    return (size_t)-1 > 0xffffffffu ? (size_t)0xffffffffu + 1u : (size_t)-1 - 2u;
}

int mgx_read_file(const char *path, size_t max_bytes, unsigned char **out, size_t *out_n, char *err, size_t errsz) {
    FILE *f;
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    long hint;
    if (out) *out = NULL;
    if (out_n) *out_n = 0;
    if (!path || !out || !out_n) return mgx_errf(err, errsz, "read_file: invalid arguments");
    if (max_bytes == 0 || max_bytes > (size_t)-1 - 2u) max_bytes = max_bytes ? (size_t)-1 - 2u : default_file_limit();
    f = fopen(path, "rb");
    if (!f) return mgx_errf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
    /* The size, when the stream can seek, is only a first allocation hint; reading goes to end of file. */
    if (fseek(f, 0, SEEK_END) == 0 && (hint = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        if ((unsigned long)hint > max_bytes) {
            fclose(f);
            return mgx_errf(err, errsz, "%s: file is larger than the limit of %lu bytes", path, (unsigned long)max_bytes);
        }
        cap = (size_t)hint + 2;   /* +1 to see end of file without growing, +1 for the terminating zero */
    } else {
        rewind(f);
        cap = 65536;
    }
    for (;;) {
        size_t got;
        if (!buf || len + 1 >= cap) {   /* keep room for one more byte of data and the terminating zero */
            size_t ncap = buf ? (cap > (max_bytes + 2) / 2 ? max_bytes + 2 : cap * 2) : cap;
            unsigned char *p;
            if (buf && ncap <= cap) {
                free(buf);
                fclose(f);
                return mgx_errf(err, errsz, "%s: file is larger than the limit of %lu bytes", path, (unsigned long)max_bytes);
            }
            p = (unsigned char *)realloc(buf, ncap);
            if (!p) {
                free(buf);
                fclose(f);
                return mgx_errf(err, errsz, "%s: out of memory reading the file", path);
            }
            buf = p;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - 1 - len, f);
        len += got;
        if (len > max_bytes) {
            free(buf);
            fclose(f);
            return mgx_errf(err, errsz, "%s: file is larger than the limit of %lu bytes", path, (unsigned long)max_bytes);
        }
        if (got == 0) break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return mgx_errf(err, errsz, "%s: read error", path);
    }
    fclose(f);
    buf[len] = 0;
    *out = buf;
    *out_n = len;
    return 0;
}
