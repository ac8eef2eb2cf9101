/* detect.c — format detection and the load entry points: magic bytes pick the decoder.

   Detection by magic bytes only (never by file name):
     PNG  89 50 4E 47 0D 0A 1A 0A     JPEG FF D8 FF     BMP "BM"     PNM "P1".."P7" followed by whitespace
   (the PNM reader accepts P2, P3, P5, P6 and rejects the others with a message). */
#include "mgx_image.h"

#include <stdlib.h>
#include <string.h>

const char *mgx_image_detect(const void *data, size_t n) {
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    const unsigned char *p = (const unsigned char *)data;
    if (!p) return NULL;
    if (n >= 8 && memcmp(p, png_sig, 8) == 0) return "png";
    if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return "jpeg";
    if (n >= 2 && p[0] == 'B' && p[1] == 'M') return "bmp";
    if (n >= 3 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7' &&
        (p[2] == ' ' || p[2] == '\t' || p[2] == '\n' || p[2] == '\r' || p[2] == '\f' || p[2] == '\v' || p[2] == '#'))
        return "pnm";
    return NULL;
}

int mgx_image_load_mem(const void *data, size_t n, mgx_image *img, char *err, size_t errsz) {
    const char *fmt;
    if (!img) return mgx_errf(err, errsz, "load: no output image");
    memset(img, 0, sizeof *img);
    if (!data && n) return mgx_errf(err, errsz, "load: no data");
    fmt = mgx_image_detect(data, n);
    if (!fmt) return mgx_errf(err, errsz, "unrecognised image format (not PNG, JPEG, PNM or BMP)");
    if (fmt[0] == 'p' && fmt[1] == 'n' && fmt[2] == 'g') return mgx_png_decode(data, n, img, err, errsz);
    if (fmt[0] == 'j') return mgx_jpeg_decode(data, n, img, err, errsz);
    if (fmt[0] == 'b') return mgx_bmp_decode(data, n, img, err, errsz);
    return mgx_pnm_decode(data, n, img, err, errsz);
}

int mgx_image_load_file(const char *path, mgx_image *img, char *err, size_t errsz) {
    unsigned char *buf;
    size_t n;
    char msg[256];
    if (!img) return mgx_errf(err, errsz, "load: no output image");
    memset(img, 0, sizeof *img);
    if (!path) return mgx_errf(err, errsz, "load: no path");
    if (mgx_read_file(path, 0, &buf, &n, err, errsz)) return -1;
    msg[0] = 0;
    if (mgx_image_load_mem(buf, n, img, msg, sizeof msg)) {
        MGX_FREE(buf);
        return mgx_errf(err, errsz, "%s: %s", path, msg);
    }
    MGX_FREE(buf);
    return 0;
}
