/* png.c — PNG reader and writer (PNG specification, ISO/IEC 15948 / W3C PNG 2nd edition).

   Reader supports: colour types 0 (grey), 2 (RGB), 3 (palette), 4 (grey+alpha), 6 (RGBA); every bit depth the
   specification allows (1, 2, 4, 8, 16); PLTE; tRNS (grey/RGB key colour, palette alpha); Adam7 interlace;
   all five filter types; IDAT data split over any number of chunks. Every chunk's CRC is verified, unknown
   critical chunks are rejected, ancillary chunks other than tRNS are ignored (no gamma, ICC or bKGD handling).
   Output: grey types -> 1 channel, RGB and palette types -> 3 channels. Alpha (and tRNS transparency) is
   composited on white: out = (v*a + max*(max - a) + max/2) / max at the sample depth (max = 2^depth - 1,
   computed at 16 bits for 16-bit images). Samples are then reduced to 8 bits: 16-bit with
   (v*255 + 32767) / 65535, 1/2/4-bit by exact scaling v * 255 / (2^depth - 1).
   Errors: bad signature or CRC, bad IHDR values, missing PLTE for palette images, palette index beyond the
   palette, invalid filter type, image data shorter or longer than the header implies, missing IEND.

   Writer: 8-bit grey or RGB, no interlace; each row gets the filter with the smallest sum of absolute
   signed residuals; the zlib stream is a single fixed-Huffman DEFLATE block with a greedy hash-chain LZ77. */
#include "mgx_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t w, h;
    int depth, ctype, interlace;
    int nsamp;                   /* samples per pixel */
    unsigned char pal[256][3];
    unsigned char pal_a[256];
    int npal;
    int has_key;
    unsigned key[3];             /* tRNS key colour, at the sample depth */
    char *err;
    size_t errsz;
} png_info;

static uint32_t rd32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};

/* ---- header chunks ---- */

static int parse_ihdr(png_info *pi, const unsigned char *d, uint32_t len) {
    static const int nsamp[7] = {1, 0, 3, 1, 2, 0, 4};
    int ok;
    if (len != 13) return mgx_errf(pi->err, pi->errsz, "PNG: IHDR has length %lu (expected 13)", (unsigned long)len);
    pi->w = rd32(d);
    pi->h = rd32(d + 4);
    pi->depth = d[8];
    pi->ctype = d[9];
    pi->interlace = d[12];
    if (pi->w == 0 || pi->h == 0) return mgx_errf(pi->err, pi->errsz, "PNG: zero image size %lux%lu",
                                                  (unsigned long)pi->w, (unsigned long)pi->h);
    if (pi->w > MGX_MAX_IMAGE_DIM || pi->h > MGX_MAX_IMAGE_DIM)
        return mgx_errf(pi->err, pi->errsz, "PNG: image size %lux%lu exceeds the limit of %d per side",
                        (unsigned long)pi->w, (unsigned long)pi->h, MGX_MAX_IMAGE_DIM);
    if (mgx_image_size((int)pi->w, (int)pi->h, 3, NULL, pi->err, pi->errsz)) return -1;
    switch (pi->ctype) {
    case 0: ok = pi->depth == 1 || pi->depth == 2 || pi->depth == 4 || pi->depth == 8 || pi->depth == 16; break;
    case 3: ok = pi->depth == 1 || pi->depth == 2 || pi->depth == 4 || pi->depth == 8; break;
    case 2: case 4: case 6: ok = pi->depth == 8 || pi->depth == 16; break;
    default: return mgx_errf(pi->err, pi->errsz, "PNG: invalid colour type %d", pi->ctype);
    }
    if (!ok) return mgx_errf(pi->err, pi->errsz, "PNG: invalid bit depth %d for colour type %d", pi->depth, pi->ctype);
    if (d[10] != 0) return mgx_errf(pi->err, pi->errsz, "PNG: unknown compression method %d", d[10]);
    if (d[11] != 0) return mgx_errf(pi->err, pi->errsz, "PNG: unknown filter method %d", d[11]);
    if (pi->interlace > 1) return mgx_errf(pi->err, pi->errsz, "PNG: unknown interlace method %d", pi->interlace);
    pi->nsamp = nsamp[pi->ctype];
    return 0;
}

static int parse_plte(png_info *pi, const unsigned char *d, uint32_t len) {
    uint32_t i;
    if (len == 0 || len % 3 || len > 768) return mgx_errf(pi->err, pi->errsz, "PNG: invalid PLTE length %lu", (unsigned long)len);
    pi->npal = (int)(len / 3);
    for (i = 0; i < len / 3; i++) {
        pi->pal[i][0] = d[3 * i];
        pi->pal[i][1] = d[3 * i + 1];
        pi->pal[i][2] = d[3 * i + 2];
    }
    return 0;
}

/* tRNS: key colour for types 0 and 2, alpha per palette entry for type 3; ignored for types with alpha. */
static int parse_trns(png_info *pi, const unsigned char *d, uint32_t len) {
    uint32_t i;
    unsigned maxv = (1u << pi->depth) - 1;
    if (pi->ctype == 3) {
        if (len > 256) return mgx_errf(pi->err, pi->errsz, "PNG: tRNS has %lu entries", (unsigned long)len);
        for (i = 0; i < len; i++) pi->pal_a[i] = d[i];
    } else if (pi->ctype == 0 || pi->ctype == 2) {
        int n = pi->ctype == 0 ? 1 : 3, c;
        if (len != (uint32_t)(2 * n)) return mgx_errf(pi->err, pi->errsz, "PNG: invalid tRNS length %lu", (unsigned long)len);
        for (c = 0; c < n; c++) pi->key[c] = (((unsigned)d[2 * c] << 8) | d[2 * c + 1]) & maxv;
        pi->has_key = 1;
    }
    return 0;
}

/* ---- pixel reconstruction ---- */

static const int adam7[7][4] = {   /* x0, y0, dx, dy */
    {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

static uint32_t pass_dim(uint32_t size, int start, int step) {
    return size > (uint32_t)start ? (size - (uint32_t)start + (uint32_t)step - 1) / (uint32_t)step : 0;
}

/* Bytes in one filtered row of `width` pixels, without the filter-type byte. */
static uint64_t row_bytes(const png_info *pi, uint32_t width) {
    return ((uint64_t)width * (uint64_t)pi->nsamp * (uint64_t)pi->depth + 7) / 8;
}

static int paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
}

/* Undoes the filter of one row in place; prev is the previous unfiltered row of the pass or NULL. */
static int unfilter_row(png_info *pi, int type, unsigned char *row, const unsigned char *prev, size_t n, size_t bpp) {
    size_t i;
    switch (type) {
    case 0: break;
    case 1: for (i = bpp; i < n; i++) row[i] = (unsigned char)(row[i] + row[i - bpp]); break;
    case 2: if (prev) for (i = 0; i < n; i++) row[i] = (unsigned char)(row[i] + prev[i]); break;
    case 3:
        for (i = 0; i < n; i++) {
            int a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0;
            row[i] = (unsigned char)(row[i] + ((a + b) >> 1));
        }
        break;
    case 4:
        for (i = 0; i < n; i++) {
            int a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0, c = (prev && i >= bpp) ? prev[i - bpp] : 0;
            row[i] = (unsigned char)(row[i] + paeth(a, b, c));
        }
        break;
    default: return mgx_errf(pi->err, pi->errsz, "PNG: invalid filter type %d", type);
    }
    return 0;
}

/* Sample i of an unfiltered row at the image bit depth (sub-byte samples are packed most significant first). */
static unsigned sample(const unsigned char *row, size_t i, int depth) {
    size_t bit;
    if (depth == 8) return row[i];
    if (depth == 16) return ((unsigned)row[2 * i] << 8) | row[2 * i + 1];
    bit = i * (size_t)depth;
    return (row[bit / 8] >> (8 - depth - (int)(bit % 8))) & ((1u << depth) - 1);
}

/* Reduces a sample at `depth` bits to 8 bits. */
static unsigned char to8(unsigned v, int depth) {
    if (depth == 8) return (unsigned char)v;
    if (depth == 16) return (unsigned char)(((uint32_t)v * 255u + 32767u) / 65535u);
    return (unsigned char)(v * 255u / ((1u << depth) - 1));
}

/* Composites v with alpha a (both at `depth`) on white, result at `depth`. */
static unsigned over_white(unsigned v, unsigned a, int depth) {
    uint64_t m = (depth == 16) ? 65535u : 255u;
    return (unsigned)(((uint64_t)v * a + m * (m - a) + m / 2) / m);
}

static int emit_row(png_info *pi, const unsigned char *row, uint32_t width, mgx_image *img, uint32_t y,
                    uint32_t x0, uint32_t dx) {
    uint32_t i;
    int d = pi->depth, ns = pi->nsamp;
    unsigned maxv = (1u << d) - 1;
    for (i = 0; i < width; i++) {
        unsigned char *o = img->px + ((size_t)y * img->w + x0 + (size_t)i * dx) * (size_t)img->channels;
        size_t s = (size_t)i * (size_t)ns;
        if (pi->ctype == 3) {
            unsigned idx = sample(row, s, d);
            int c;
            if ((int)idx >= pi->npal)
                return mgx_errf(pi->err, pi->errsz, "PNG: palette index %u beyond the %d-entry palette", idx, pi->npal);
            for (c = 0; c < 3; c++) o[c] = (unsigned char)over_white(pi->pal[idx][c], pi->pal_a[idx], 8);
        } else if (pi->ctype == 0 || pi->ctype == 4) {
            unsigned g = sample(row, s, d);
            unsigned a = pi->ctype == 4 ? sample(row, s + 1, d) : (pi->has_key && g == pi->key[0]) ? 0 : maxv;
            o[0] = to8(d < 8 ? (a ? g : maxv) : over_white(g, a, d), d);
        } else {
            unsigned r = sample(row, s, d), g = sample(row, s + 1, d), b = sample(row, s + 2, d), a;
            if (pi->ctype == 6) a = sample(row, s + 3, d);
            else a = (pi->has_key && r == pi->key[0] && g == pi->key[1] && b == pi->key[2]) ? 0 : maxv;
            o[0] = to8(over_white(r, a, d), d);
            o[1] = to8(over_white(g, a, d), d);
            o[2] = to8(over_white(b, a, d), d);
        }
    }
    return 0;
}

/* Total size of the decompressed image data (filter bytes included) for all passes. */
static uint64_t raw_size(const png_info *pi) {
    uint64_t total = 0;
    int p;
    if (!pi->interlace) return (uint64_t)pi->h * (1 + row_bytes(pi, pi->w));
    for (p = 0; p < 7; p++) {
        uint32_t pw = pass_dim(pi->w, adam7[p][0], adam7[p][2]), ph = pass_dim(pi->h, adam7[p][1], adam7[p][3]);
        if (pw && ph) total += (uint64_t)ph * (1 + row_bytes(pi, pw));
    }
    return total;
}

static int reconstruct(png_info *pi, unsigned char *raw, mgx_image *img) {
    size_t bpp = (size_t)((pi->nsamp * pi->depth + 7) / 8), off = 0;
    int p, np = pi->interlace ? 7 : 1;
    if (pi->ctype == 3 && pi->npal == 0) return mgx_errf(pi->err, pi->errsz, "PNG: palette image without PLTE");
    for (p = 0; p < np; p++) {
        int x0 = pi->interlace ? adam7[p][0] : 0, y0 = pi->interlace ? adam7[p][1] : 0;
        int dx = pi->interlace ? adam7[p][2] : 1, dy = pi->interlace ? adam7[p][3] : 1;
        uint32_t pw = pass_dim(pi->w, x0, dx), ph = pass_dim(pi->h, y0, dy), r;
        size_t rb = (size_t)row_bytes(pi, pw);
        const unsigned char *prev = NULL;
        if (!pw || !ph) continue;
        for (r = 0; r < ph; r++) {
            unsigned char *row = raw + off + 1;
            if (unfilter_row(pi, raw[off], row, prev, rb, bpp)) return -1;
            if (emit_row(pi, row, pw, img, (uint32_t)y0 + r * (uint32_t)dy, (uint32_t)x0, (uint32_t)dx)) return -1;
            prev = row;
            off += 1 + rb;
        }
    }
    return 0;
}

/* ---- chunk walk ---- */

/* Appends IDAT data, growing the buffer geometrically. */
static int append_idat(png_info *pi, unsigned char **buf, size_t *len, size_t *cap, const unsigned char *d, uint32_t n) {
    if (n == 0) return 0;
    if (n > *cap - *len) {
        size_t ncap = *cap ? *cap : 65536;
        unsigned char *p;
        while (ncap - *len < n) {
            if (ncap > ((size_t)-1) / 2) return mgx_errf(pi->err, pi->errsz, "PNG: image data too large");
            ncap *= 2;
        }
        p = (unsigned char *)MGX_REALLOC(*buf, ncap);
        if (!p) return mgx_errf(pi->err, pi->errsz, "PNG: out of memory for image data");
        *buf = p;
        *cap = ncap;
    }
    memcpy(*buf + *len, d, n);
    *len += n;
    return 0;
}

static int walk_chunks(png_info *pi, const unsigned char *d, size_t n, unsigned char **idat, size_t *idat_n) {
    size_t pos = 8, cap = 0;
    int seen_ihdr = 0, seen_idat = 0, idat_done = 0;
    for (;;) {
        uint32_t len, crc;
        const unsigned char *type, *body;
        if (n - pos < 12) return mgx_errf(pi->err, pi->errsz, "PNG: truncated (no IEND chunk)");
        len = rd32(d + pos);
        type = d + pos + 4;
        if (len > 0x7fffffffu) return mgx_errf(pi->err, pi->errsz, "PNG: chunk length too large");
        if (n - pos - 12 < len) return mgx_errf(pi->err, pi->errsz, "PNG: truncated %.4s chunk", (const char *)type);
        body = d + pos + 8;
        crc = rd32(body + len);
        if (mgx_crc32(0, type, (size_t)len + 4) != crc)
            return mgx_errf(pi->err, pi->errsz, "PNG: CRC mismatch in %.4s chunk at offset %lu", (const char *)type, (unsigned long)pos);
        pos += 12 + (size_t)len;
        if (!seen_ihdr && memcmp(type, "IHDR", 4) != 0) return mgx_errf(pi->err, pi->errsz, "PNG: first chunk is not IHDR");
        if (seen_idat && memcmp(type, "IDAT", 4) != 0) idat_done = 1;
        if (memcmp(type, "IHDR", 4) == 0) {
            if (seen_ihdr) return mgx_errf(pi->err, pi->errsz, "PNG: second IHDR chunk");
            if (parse_ihdr(pi, body, len)) return -1;
            seen_ihdr = 1;
        } else if (memcmp(type, "PLTE", 4) == 0) {
            if (seen_idat) return mgx_errf(pi->err, pi->errsz, "PNG: PLTE after IDAT");
            if (parse_plte(pi, body, len)) return -1;
        } else if (memcmp(type, "tRNS", 4) == 0) {
            if (seen_idat) return mgx_errf(pi->err, pi->errsz, "PNG: tRNS after IDAT");
            if (parse_trns(pi, body, len)) return -1;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            if (idat_done) return mgx_errf(pi->err, pi->errsz, "PNG: IDAT chunks are not consecutive");
            seen_idat = 1;
            if (append_idat(pi, idat, idat_n, &cap, body, len)) return -1;
        } else if (memcmp(type, "IEND", 4) == 0) {
            break;
        } else if (!(type[0] & 0x20)) {   /* lower-case first letter = ancillary */
            return mgx_errf(pi->err, pi->errsz, "PNG: unknown critical chunk %.4s", (const char *)type);
        }
    }
    if (!seen_idat) return mgx_errf(pi->err, pi->errsz, "PNG: no IDAT chunk");
    return 0;
}

int mgx_png_decode(const void *data, size_t n, mgx_image *img, char *err, size_t errsz) {
    const unsigned char *d = (const unsigned char *)data;
    png_info *pi;
    unsigned char *idat = NULL, *raw = NULL;
    size_t idat_n = 0, raw_n = 0;
    uint64_t want;
    int rc = -1;
    char zerr[200];
    if (!img) return mgx_errf(err, errsz, "PNG: no output image");
    memset(img, 0, sizeof *img);
    if (!d || n < 8 || memcmp(d, png_sig, 8) != 0) return mgx_errf(err, errsz, "PNG: bad signature");
    pi = (png_info *)MGX_MALLOC(sizeof *pi);
    if (!pi) return mgx_errf(err, errsz, "PNG: out of memory");
    memset(pi, 0, sizeof *pi);
    memset(pi->pal_a, 255, sizeof pi->pal_a);
    pi->err = err;
    pi->errsz = errsz;
    if (walk_chunks(pi, d, n, &idat, &idat_n)) goto done;
    want = raw_size(pi);
    if (want > (uint64_t)MGX_MAX_INFLATE_OUT) { mgx_errf(err, errsz, "PNG: image data too large"); goto done; }
    {   /* the filtered rows (inflated) and the output image, before either is allocated */
        char what[96];
        uint64_t out = (uint64_t)pi->w * pi->h * ((pi->ctype == 0 || pi->ctype == 4) ? 1 : 3);
        snprintf(what, sizeof what, "PNG: a %lux%lu image of %d-bit samples", (unsigned long)pi->w, (unsigned long)pi->h, pi->depth);
        if (mgx_check_claim(want + out, what, err, errsz)) goto done;
    }
    if (mgx_inflate(idat, idat_n, MGX_INFLATE_ZLIB, (size_t)want, &raw, &raw_n, zerr, sizeof zerr)) {
        if (strstr(zerr, "exceeds the limit")) mgx_errf(err, errsz, "PNG: more image data than the header implies");
        else mgx_errf(err, errsz, "PNG: image data: %s", zerr);
        goto done;
    }
    if ((uint64_t)raw_n != want) {
        mgx_errf(err, errsz, "PNG: image data has %lu bytes, expected %lu", (unsigned long)raw_n, (unsigned long)want);
        goto done;
    }
    if (mgx_image_alloc(img, (int)pi->w, (int)pi->h, (pi->ctype == 0 || pi->ctype == 4) ? 1 : 3, err, errsz)) goto done;
    rc = reconstruct(pi, raw, img);
done:
    if (rc) mgx_image_free(img);
    MGX_FREE(idat);
    MGX_FREE(raw);
    MGX_FREE(pi);
    return rc;
}

/* ---- writer ---- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    uint32_t bitbuf;
    int bitcnt;
    int oom;
} obuf;

static void ob_put(obuf *o, const void *src, size_t k) {
    if (o->oom) return;
    if (k > o->cap - o->n) {
        size_t ncap = o->cap ? o->cap : 4096;
        unsigned char *q;
        while (ncap - o->n < k) {
            if (ncap > ((size_t)-1) / 2) { o->oom = 1; return; }
            ncap *= 2;
        }
        q = (unsigned char *)MGX_REALLOC(o->p, ncap);
        if (!q) { o->oom = 1; return; }
        o->p = q;
        o->cap = ncap;
    }
    memcpy(o->p + o->n, src, k);
    o->n += k;
}

static void ob_be32(obuf *o, uint32_t v) {
    unsigned char b[4];
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
    ob_put(o, b, 4);
}

/* Writes k (<= 16) bits, least significant first, as DEFLATE packs them. */
static void ob_bits(obuf *o, uint32_t v, int k) {
    o->bitbuf |= v << o->bitcnt;
    o->bitcnt += k;
    while (o->bitcnt >= 8) {
        unsigned char b = (unsigned char)o->bitbuf;
        ob_put(o, &b, 1);
        o->bitbuf >>= 8;
        o->bitcnt -= 8;
    }
}

/* Writes a Huffman code (defined most significant bit first) of k bits. */
static void ob_code(obuf *o, uint32_t code, int k) {
    uint32_t r = 0;
    int i;
    for (i = 0; i < k; i++) r |= ((code >> i) & 1u) << (k - 1 - i);
    ob_bits(o, r, k);
}

/* Fixed literal/length code (RFC 1951 3.2.6). */
static void fixed_lit(obuf *o, int sym) {
    if (sym < 144) ob_code(o, 0x30u + (uint32_t)sym, 8);
    else if (sym < 256) ob_code(o, 0x190u + (uint32_t)(sym - 144), 9);
    else if (sym < 280) ob_code(o, (uint32_t)(sym - 256), 7);
    else ob_code(o, 0xc0u + (uint32_t)(sym - 280), 8);
}

static void put_match(obuf *o, int len, int dist) {
    const uint16_t *lbase = mgx_deflate_len_base, *dbase = mgx_deflate_dist_base;
    const unsigned char *lext = mgx_deflate_len_extra, *dext = mgx_deflate_dist_extra;
    int ls = 28, ds = 29;
    while (lbase[ls] > len) ls--;
    while (dbase[ds] > dist) ds--;
    fixed_lit(o, 257 + ls);
    if (lext[ls]) ob_bits(o, (uint32_t)(len - lbase[ls]), lext[ls]);
    ob_code(o, (uint32_t)ds, 5);
    if (dext[ds]) ob_bits(o, (uint32_t)(dist - dbase[ds]), dext[ds]);
}

#define LZ_HASH_BITS 15
#define LZ_WINDOW    32768
#define LZ_CHAIN     32

static uint32_t lz_hash(const unsigned char *p) {
    return ((uint32_t)p[0] * 2654435761u ^ (uint32_t)p[1] * 40503u ^ (uint32_t)p[2]) & ((1u << LZ_HASH_BITS) - 1);
}

/* zlib stream of src: header, one final fixed-Huffman block (greedy LZ77 over hash chains), Adler-32. */
static int zlib_fixed(const unsigned char *src, size_t n, obuf *o) {
    int32_t *head = (int32_t *)MGX_MALLOC(sizeof(int32_t) << LZ_HASH_BITS);
    int32_t *prev = (int32_t *)MGX_MALLOC(sizeof(int32_t) * LZ_WINDOW);
    size_t i = 0, k;
    static const unsigned char hdr[2] = {0x78, 0x01};
    if (!head || !prev) { MGX_FREE(head); MGX_FREE(prev); return -1; }
    for (k = 0; k < (1u << LZ_HASH_BITS); k++) head[k] = -1;
    ob_put(o, hdr, 2);
    ob_bits(o, 1, 1);   /* BFINAL */
    ob_bits(o, 1, 2);   /* BTYPE = 01, fixed Huffman */
    while (i < n) {
        int best = 0, bdist = 0;
        if (n - i >= 3) {
            uint32_t h = lz_hash(src + i);
            int32_t cand = head[h];
            int chain = LZ_CHAIN;
            size_t maxlen = n - i < 258 ? n - i : 258;
            while (cand >= 0 && i - (size_t)cand <= LZ_WINDOW && chain-- > 0) {
                size_t l = 0;
                while (l < maxlen && src[(size_t)cand + l] == src[i + l]) l++;
                if ((int)l > best) { best = (int)l; bdist = (int)(i - (size_t)cand); }
                if (l == maxlen) break;
                cand = prev[(size_t)cand % LZ_WINDOW];
            }
        }
        if (best < 3) best = 1;
        if (best >= 3) put_match(o, best, bdist);
        else fixed_lit(o, src[i]);
        for (k = 0; k < (size_t)best; k++, i++) {   /* index every position the match covers */
            if (n - i >= 3) {
                uint32_t h = lz_hash(src + i);
                prev[i % LZ_WINDOW] = head[h];
                head[h] = (int32_t)i;
            }
        }
    }
    fixed_lit(o, 256);
    if (o->bitcnt) ob_bits(o, 0, 8 - o->bitcnt);
    ob_be32(o, mgx_adler32(1, src, n));
    MGX_FREE(head);
    MGX_FREE(prev);
    return 0;
}

static void put_chunk(obuf *o, const char *type, const unsigned char *body, size_t len) {
    uint32_t crc = mgx_crc32(0, type, 4);
    crc = mgx_crc32(crc, body, len);
    ob_be32(o, (uint32_t)len);
    ob_put(o, type, 4);
    if (len) ob_put(o, body, len);
    ob_be32(o, crc);
}

/* Filters every row (heuristic: smallest sum of |signed residual|) into a buffer with filter-type bytes. */
static unsigned char *filter_image(const mgx_image *img, size_t *out_n) {
    size_t bpp = (size_t)img->channels, rb = (size_t)img->w * bpp, y, i;
    unsigned char *f = (unsigned char *)MGX_MALLOC((rb + 1) * (size_t)img->h), *cand;
    if (!f) return NULL;
    cand = (unsigned char *)MGX_MALLOC(rb);
    if (!cand) { MGX_FREE(f); return NULL; }
    for (y = 0; y < (size_t)img->h; y++) {
        const unsigned char *row = img->px + y * rb, *up = y ? row - rb : NULL;
        unsigned char *dst = f + y * (rb + 1);
        unsigned long best_cost = (unsigned long)-1;
        int t;
        for (t = 0; t < 5; t++) {
            unsigned long cost = 0;
            for (i = 0; i < rb; i++) {
                int a = i >= bpp ? row[i - bpp] : 0, b = up ? up[i] : 0, c = (up && i >= bpp) ? up[i - bpp] : 0;
                int pred = t == 0 ? 0 : t == 1 ? a : t == 2 ? b : t == 3 ? (a + b) >> 1 : paeth(a, b, c);
                unsigned char r = (unsigned char)(row[i] - pred);
                cand[i] = r;
                cost += r < 128 ? r : 256u - r;
            }
            if (cost < best_cost) {
                best_cost = cost;
                dst[0] = (unsigned char)t;
                memcpy(dst + 1, cand, rb);
            }
        }
    }
    MGX_FREE(cand);
    *out_n = (rb + 1) * (size_t)img->h;
    return f;
}

int mgx_png_encode(const mgx_image *img, unsigned char **out, size_t *out_n, char *err, size_t errsz) {
    obuf o, z;
    unsigned char ihdr[13], *filt;
    size_t filt_n;
    if (out) *out = NULL;
    if (out_n) *out_n = 0;
    if (!img || !img->px || !out || !out_n) return mgx_errf(err, errsz, "PNG write: invalid arguments");
    if (img->channels != 1 && img->channels != 3)
        return mgx_errf(err, errsz, "PNG write: only 1 or 3 channels supported (got %d)", img->channels);
    if (mgx_image_size(img->w, img->h, img->channels, NULL, err, errsz)) return -1;
    filt = filter_image(img, &filt_n);
    if (!filt) return mgx_errf(err, errsz, "PNG write: out of memory");
    memset(&z, 0, sizeof z);
    if (zlib_fixed(filt, filt_n, &z) || z.oom) {
        MGX_FREE(filt);
        MGX_FREE(z.p);
        return mgx_errf(err, errsz, "PNG write: out of memory");
    }
    MGX_FREE(filt);
    memset(&o, 0, sizeof o);
    ob_put(&o, png_sig, 8);
    ihdr[0] = (unsigned char)((uint32_t)img->w >> 24);
    ihdr[1] = (unsigned char)((uint32_t)img->w >> 16);
    ihdr[2] = (unsigned char)((uint32_t)img->w >> 8);
    ihdr[3] = (unsigned char)img->w;
    ihdr[4] = (unsigned char)((uint32_t)img->h >> 24);
    ihdr[5] = (unsigned char)((uint32_t)img->h >> 16);
    ihdr[6] = (unsigned char)((uint32_t)img->h >> 8);
    ihdr[7] = (unsigned char)img->h;
    ihdr[8] = 8;                                      /* bit depth */
    ihdr[9] = (unsigned char)(img->channels == 3 ? 2 : 0);
    ihdr[10] = ihdr[11] = ihdr[12] = 0;               /* deflate, adaptive filtering, no interlace */
    put_chunk(&o, "IHDR", ihdr, 13);
    put_chunk(&o, "IDAT", z.p, z.n);                  /* z.n < 2^31 since the image is at most 2^30 bytes */
    put_chunk(&o, "IEND", NULL, 0);
    MGX_FREE(z.p);
    if (o.oom) {
        MGX_FREE(o.p);
        return mgx_errf(err, errsz, "PNG write: out of memory");
    }
    *out = o.p;
    *out_n = o.n;
    return 0;
}

int mgx_png_write_file(const char *path, const mgx_image *img, char *err, size_t errsz) {
    unsigned char *buf;
    size_t n;
    FILE *f;
    int bad;
    if (!path) return mgx_errf(err, errsz, "PNG write: no path");
    if (mgx_png_encode(img, &buf, &n, err, errsz)) return -1;
    f = fopen(path, "wb");
    if (!f) {
        MGX_FREE(buf);
        return mgx_errf(err, errsz, "%s: cannot create file", path);
    }
    bad = fwrite(buf, 1, n, f) != n;
    bad |= fclose(f) != 0;
    MGX_FREE(buf);
    if (bad) return mgx_errf(err, errsz, "%s: write error", path);
    return 0;
}
