/* pnm_bmp.c — Netpbm (PGM/PPM) and Windows BMP readers.

   PNM supports: P2 (ASCII grey), P3 (ASCII RGB), P5 (binary grey), P6 (binary RGB); maxval 1..65535
   (binary samples are 1 byte when maxval < 256, else 2 bytes big-endian); '#' comments in the header (and,
   leniently, between ASCII samples). Samples are scaled to 8 bits with (v*255 + maxval/2) / maxval, which for
   maxval 65535 is the PNG rule (v*255 + 32767) / 65535. A sample above maxval is an error. Only the first
   image of a multi-image file is read. Not supported: P1/P4 (bitmaps), P7 (PAM).

   BMP supports: BITMAPINFOHEADER (40 bytes) and its V2/V3/V4/V5 extensions (52, 56, 108, 124 bytes);
   1/4/8-bit palettes, 16, 24 and 32 bits per pixel; BI_RGB, BI_BITFIELDS and BI_ALPHABITFIELDS; bottom-up
   (positive height) and top-down (negative height) rows. 32-bit BI_RGB ignores the fourth byte; an alpha mask
   (V3+ header or BI_ALPHABITFIELDS) is honoured and composited on white. Palette images whose used palette
   entries are all grey give 1 channel, everything else 3. Bit-field values are scaled to 8 bits with
   (v*255 + max/2) / max. Not supported (rejected with a message): RLE4/RLE8, embedded JPEG/PNG,
   OS/2 headers (12 and 64 bytes). */
#include "mgx_image.h"

#include <stdlib.h>
#include <string.h>

/* ---- PNM ---- */

typedef struct {
    const unsigned char *d;
    size_t n, pos;
    char *err;
    size_t errsz;
} pnm_reader;

static int pnm_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Skips whitespace and comments (to end of line). */
static void pnm_skip(pnm_reader *r) {
    while (r->pos < r->n) {
        if (pnm_space(r->d[r->pos])) r->pos++;
        else if (r->d[r->pos] == '#') {
            while (r->pos < r->n && r->d[r->pos] != '\n' && r->d[r->pos] != '\r') r->pos++;
        } else break;
    }
}

/* Reads an unsigned decimal number no larger than `limit`. what names it in messages. */
static int pnm_uint(pnm_reader *r, unsigned long limit, unsigned long *v, const char *what) {
    unsigned long x = 0;
    size_t start;
    pnm_skip(r);
    start = r->pos;
    while (r->pos < r->n && r->d[r->pos] >= '0' && r->d[r->pos] <= '9') {
        x = x * 10 + (unsigned long)(r->d[r->pos] - '0');
        if (x > limit) return mgx_errf(r->err, r->errsz, "PNM: %s exceeds %lu", what, limit);
        r->pos++;
    }
    if (r->pos == start) {
        if (r->pos >= r->n) return mgx_errf(r->err, r->errsz, "PNM: truncated (expected %s)", what);
        return mgx_errf(r->err, r->errsz, "PNM: expected a number for %s at offset %lu", what, (unsigned long)r->pos);
    }
    *v = x;
    return 0;
}

static int pnm_raster(pnm_reader *r, int ascii, unsigned long maxval, mgx_image *img) {
    size_t count = (size_t)img->w * (size_t)img->h * (size_t)img->channels, i;
    size_t bps = maxval < 256 ? 1 : 2;
    if (!ascii) {
        if (r->pos >= r->n || !pnm_space(r->d[r->pos]))
            return mgx_errf(r->err, r->errsz, "PNM: missing whitespace after maxval");
        r->pos++;   /* exactly one whitespace byte separates the header from binary data */
        if ((r->n - r->pos) / bps < count) return mgx_errf(r->err, r->errsz, "PNM: truncated pixel data");
    }
    for (i = 0; i < count; i++) {
        unsigned long v;
        if (ascii) {
            if (pnm_uint(r, 65535, &v, "sample")) return -1;
        } else if (bps == 1) {
            v = r->d[r->pos++];
        } else {
            v = ((unsigned long)r->d[r->pos] << 8) | r->d[r->pos + 1];
            r->pos += 2;
        }
        if (v > maxval) return mgx_errf(r->err, r->errsz, "PNM: sample %lu exceeds maxval %lu", v, maxval);
        img->px[i] = (unsigned char)(maxval == 255 ? v : (v * 255 + maxval / 2) / maxval);
    }
    return 0;
}

int mgx_pnm_decode(const void *data, size_t n, mgx_image *img, char *err, size_t errsz) {
    pnm_reader r;
    unsigned long w, h, maxval;
    int kind, ascii;
    if (!img) return mgx_errf(err, errsz, "PNM: no output image");
    memset(img, 0, sizeof *img);
    r.d = (const unsigned char *)data;
    r.n = data ? n : 0;
    r.pos = 2;
    r.err = err;
    r.errsz = errsz;
    if (r.n < 2 || r.d[0] != 'P') return mgx_errf(err, errsz, "PNM: bad magic");
    kind = r.d[1];
    if (kind == '1' || kind == '4') return mgx_errf(err, errsz, "PNM: P%c (1-bit bitmap) not supported", kind);
    if (kind == '7') return mgx_errf(err, errsz, "PNM: P7 (PAM) not supported");
    if (kind != '2' && kind != '3' && kind != '5' && kind != '6') return mgx_errf(err, errsz, "PNM: bad magic");
    if (r.n < 3 || !(pnm_space(r.d[2]) || r.d[2] == '#')) return mgx_errf(err, errsz, "PNM: bad magic");
    ascii = kind == '2' || kind == '3';
    if (pnm_uint(&r, 0x7fffffffUL, &w, "width") || pnm_uint(&r, 0x7fffffffUL, &h, "height") ||
        pnm_uint(&r, 0x7fffffffUL, &maxval, "maxval"))
        return -1;
    if (maxval < 1 || maxval > 65535) return mgx_errf(err, errsz, "PNM: maxval %lu outside 1..65535", maxval);
    if (w == 0 || h == 0) return mgx_errf(err, errsz, "PNM: zero image size %lux%lu", w, h);
    if (w > MGX_MAX_IMAGE_DIM || h > MGX_MAX_IMAGE_DIM)
        return mgx_errf(err, errsz, "PNM: image size %lux%lu exceeds the limit of %d per side", w, h, MGX_MAX_IMAGE_DIM);
    if (mgx_image_alloc(img, (int)w, (int)h, (kind == '3' || kind == '6') ? 3 : 1, err, errsz)) return -1;
    if (pnm_raster(&r, ascii, maxval, img)) {
        mgx_image_free(img);
        return -1;
    }
    return 0;
}

/* ---- BMP ---- */

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static unsigned le16(const unsigned char *p) { return (unsigned)p[0] | ((unsigned)p[1] << 8); }

typedef struct {
    uint32_t mask;
    int shift;
    uint64_t max;     /* largest field value (mask >> shift); 0 when the mask is empty */
} bmp_field;

static void field_init(bmp_field *f, uint32_t mask) {
    f->mask = mask;
    f->shift = 0;
    f->max = 0;
    if (!mask) return;
    while (!((mask >> f->shift) & 1u)) f->shift++;
    f->max = mask >> f->shift;
}

static unsigned field_get(const bmp_field *f, uint32_t px) {
    uint64_t v = (px & f->mask) >> f->shift;
    return (unsigned)((v * 255u + f->max / 2) / f->max);
}

typedef struct {
    int w, h, bpp, topdown, grey_pal, npal, has_alpha;
    uint32_t compression;
    unsigned char pal[256][3];
    bmp_field f[4];   /* R, G, B, A */
    char *err;
    size_t errsz;
} bmp_info;

static int bmp_header(bmp_info *b, const unsigned char *d, size_t n, size_t *hdr_end) {
    uint32_t hsize;
    int32_t w, h;
    if (n < 14 + 4) return mgx_errf(b->err, b->errsz, "BMP: truncated header");
    hsize = le32(d + 14);
    if (hsize == 12 || hsize == 64) return mgx_errf(b->err, b->errsz, "BMP: OS/2 bitmap header not supported");
    if (hsize != 40 && hsize != 52 && hsize != 56 && hsize != 108 && hsize != 124)
        return mgx_errf(b->err, b->errsz, "BMP: unknown header size %lu", (unsigned long)hsize);
    if (n - 14 < hsize) return mgx_errf(b->err, b->errsz, "BMP: truncated header");
    w = (int32_t)le32(d + 18);
    h = (int32_t)le32(d + 22);
    if (le16(d + 26) != 1) return mgx_errf(b->err, b->errsz, "BMP: planes must be 1");
    b->bpp = (int)le16(d + 28);
    b->compression = le32(d + 30);
    if (w <= 0 || h == 0 || h == INT32_MIN) return mgx_errf(b->err, b->errsz, "BMP: invalid image size %ldx%ld", (long)w, (long)h);
    b->topdown = h < 0;
    if (h < 0) h = -h;
    if (w > MGX_MAX_IMAGE_DIM || h > MGX_MAX_IMAGE_DIM)
        return mgx_errf(b->err, b->errsz, "BMP: image size %ldx%ld exceeds the limit of %d per side", (long)w, (long)h, MGX_MAX_IMAGE_DIM);
    b->w = (int)w;
    b->h = (int)h;
    *hdr_end = 14 + hsize;
    return 0;
}

/* Sets up the R, G, B, A bit fields from the header or the masks that follow a 40-byte header. */
static int bmp_masks(bmp_info *b, const unsigned char *d, size_t n, size_t *hdr_end) {
    uint32_t hsize = le32(d + 14), m[4] = {0, 0, 0, 0};
    int i;
    if (b->compression == 0) {
        if (b->bpp == 16) { m[0] = 0x7c00; m[1] = 0x03e0; m[2] = 0x001f; }
        else { m[0] = 0xff0000; m[1] = 0xff00; m[2] = 0xff; }   /* 24 and 32 bits; 32-bit X byte unused */
    } else {
        int nm = b->compression == 6 ? 4 : 3;
        if (b->bpp != 16 && b->bpp != 32)
            return mgx_errf(b->err, b->errsz, "BMP: bit fields with %d bits per pixel", b->bpp);
        if (hsize == 40) {
            if (n - *hdr_end < (size_t)nm * 4) return mgx_errf(b->err, b->errsz, "BMP: truncated bit-field masks");
            for (i = 0; i < nm; i++) m[i] = le32(d + *hdr_end + 4 * (size_t)i);
            *hdr_end += (size_t)nm * 4;
        } else {
            for (i = 0; i < 3; i++) m[i] = le32(d + 54 + 4 * (size_t)i);
            if (hsize >= 56) m[3] = le32(d + 66);
        }
        if (b->bpp == 16) for (i = 0; i < 4; i++) m[i] &= 0xffffu;
    }
    for (i = 0; i < 4; i++) field_init(&b->f[i], m[i]);
    b->has_alpha = m[3] != 0;
    return 0;
}

static int bmp_palette(bmp_info *b, const unsigned char *d, size_t n, size_t at, size_t data_off) {
    uint32_t used = le32(d + 46);
    int i, max = 1 << b->bpp;
    if (used == 0 || used > (uint32_t)max) used = (uint32_t)max;
    if (at > data_off || (data_off - at) / 4 < used) used = at > data_off ? 0 : (uint32_t)((data_off - at) / 4);
    if (used == 0) return mgx_errf(b->err, b->errsz, "BMP: missing palette");
    if (n - at < (size_t)used * 4) return mgx_errf(b->err, b->errsz, "BMP: truncated palette");
    b->npal = (int)used;
    b->grey_pal = 1;
    for (i = 0; i < b->npal; i++) {
        const unsigned char *p = d + at + 4 * (size_t)i;
        b->pal[i][0] = p[2];
        b->pal[i][1] = p[1];
        b->pal[i][2] = p[0];
        if (p[0] != p[1] || p[1] != p[2]) b->grey_pal = 0;
    }
    return 0;
}

static unsigned char white_over(unsigned v, unsigned a) { return (unsigned char)((v * a + 255u * (255u - a) + 127u) / 255u); }

static int bmp_row(bmp_info *b, const unsigned char *src, unsigned char *dst) {
    int x;
    for (x = 0; x < b->w; x++) {
        if (b->bpp <= 8) {
            size_t bit = (size_t)x * (size_t)b->bpp;
            unsigned idx = (src[bit / 8] >> (8 - b->bpp - (int)(bit % 8))) & ((1u << b->bpp) - 1);
            if ((int)idx >= b->npal)
                return mgx_errf(b->err, b->errsz, "BMP: palette index %u beyond the %d-entry palette", idx, b->npal);
            if (b->grey_pal) dst[x] = b->pal[idx][0];
            else memcpy(dst + 3 * x, b->pal[idx], 3);
        } else {
            const unsigned char *p = src + (size_t)x * (size_t)(b->bpp / 8);
            uint32_t px = b->bpp == 16 ? le16(p) : b->bpp == 24 ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) : le32(p);
            unsigned a = b->has_alpha ? field_get(&b->f[3], px) : 255u;
            int c;
            for (c = 0; c < 3; c++) {
                unsigned v = b->f[c].mask ? field_get(&b->f[c], px) : 0;
                dst[3 * x + c] = a == 255u ? (unsigned char)v : white_over(v, a);
            }
        }
    }
    return 0;
}

int mgx_bmp_decode(const void *data, size_t n, mgx_image *img, char *err, size_t errsz) {
    const unsigned char *d = (const unsigned char *)data;
    bmp_info b;
    size_t hdr_end = 0, data_off, stride;
    int y;
    if (!img) return mgx_errf(err, errsz, "BMP: no output image");
    memset(img, 0, sizeof *img);
    memset(&b, 0, sizeof b);
    b.err = err;
    b.errsz = errsz;
    if (!d || n < 2 || d[0] != 'B' || d[1] != 'M') return mgx_errf(err, errsz, "BMP: bad magic");
    if (bmp_header(&b, d, n, &hdr_end)) return -1;
    if (b.compression == 1 || b.compression == 2) return mgx_errf(err, errsz, "BMP: RLE compression not supported");
    if (b.compression == 4 || b.compression == 5) return mgx_errf(err, errsz, "BMP: embedded JPEG/PNG not supported");
    if (b.compression != 0 && b.compression != 3 && b.compression != 6)
        return mgx_errf(err, errsz, "BMP: unknown compression %lu", (unsigned long)b.compression);
    if (b.bpp != 1 && b.bpp != 4 && b.bpp != 8 && b.bpp != 16 && b.bpp != 24 && b.bpp != 32)
        return mgx_errf(err, errsz, "BMP: %d bits per pixel not supported", b.bpp);
    data_off = le32(d + 10);
    if (b.bpp <= 8) {
        if (b.compression != 0) return mgx_errf(err, errsz, "BMP: bit fields with a palette image");
        if (bmp_palette(&b, d, n, hdr_end, data_off)) return -1;
    } else if (bmp_masks(&b, d, n, &hdr_end)) {
        return -1;
    }
    if (data_off < hdr_end || data_off > n) return mgx_errf(err, errsz, "BMP: pixel data offset %lu out of range", (unsigned long)data_off);
    stride = (((size_t)b.w * (size_t)b.bpp + 31) / 32) * 4;
    if ((n - data_off) / stride < (size_t)b.h) return mgx_errf(err, errsz, "BMP: truncated pixel data");
    if (mgx_image_alloc(img, b.w, b.h, (b.bpp <= 8 && b.grey_pal) ? 1 : 3, err, errsz)) return -1;
    for (y = 0; y < b.h; y++) {
        const unsigned char *src = d + data_off + (size_t)(b.topdown ? y : b.h - 1 - y) * stride;
        if (bmp_row(&b, src, img->px + (size_t)y * (size_t)b.w * (size_t)img->channels)) {
            mgx_image_free(img);
            return -1;
        }
    }
    return 0;
}
