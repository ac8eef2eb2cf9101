/* deflate_writer.h — the tests' own DEFLATE writer (RFC 1951/1950/1952), for inputs that must be built, not
   committed: stored blocks for arbitrary bytes and a dynamic-Huffman block that codes a run of zero bytes at
   deflate's ceiling (2 bits per 258 bytes, about 1032:1), the way a bomb or an all-zero mask is compressed.
   The CRC-32 and Adler-32 of a zero run are computed in closed form (GF(2) matrix powers), so a gigabyte of
   zeros is described without ever being materialised. */
#ifndef DEFLATE_WRITER_H
#define DEFLATE_WRITER_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char *p;
    size_t n, cap;
    uint64_t bits;     /* pending bits, least significant first */
    int nb;
    int oom;
} dwbuf;

static inline void dw_byte(dwbuf *w, unsigned char c) {
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 4096;
        unsigned char *q = (unsigned char *)realloc(w->p, nc);
        if (!q) { w->oom = 1; return; }
        w->p = q;
        w->cap = nc;
    }
    w->p[w->n++] = c;
}

static inline void dw_bytes(dwbuf *w, const void *src, size_t n) {
    const unsigned char *s = (const unsigned char *)src;
    while (n--) dw_byte(w, *s++);
}

/* k (<= 32) bits of v, least significant first. */
static inline void dw_bits(dwbuf *w, uint32_t v, int k) {
    w->bits |= (uint64_t)v << w->nb;
    w->nb += k;
    while (w->nb >= 8) {
        dw_byte(w, (unsigned char)w->bits);
        w->bits >>= 8;
        w->nb -= 8;
    }
}

/* A Huffman code of len bits (defined most significant bit first). */
static inline void dw_code(dwbuf *w, uint32_t code, int len) {
    uint32_t r = 0;
    int i;
    for (i = 0; i < len; i++) r |= ((code >> i) & 1u) << (len - 1 - i);
    dw_bits(w, r, len);
}

static inline void dw_align(dwbuf *w) {
    if (w->nb) dw_bits(w, 0, 8 - w->nb);
}

/* Stored blocks holding data[0..n); the last one final when `final`. */
static inline void dw_stored(dwbuf *w, const unsigned char *data, size_t n, int final) {
    do {
        size_t k = n < 65535 ? n : 65535;
        dw_bits(w, final && k == n ? 1 : 0, 1);
        dw_bits(w, 0, 2);
        dw_align(w);
        dw_byte(w, (unsigned char)k); dw_byte(w, (unsigned char)(k >> 8));
        dw_byte(w, (unsigned char)~k); dw_byte(w, (unsigned char)(~k >> 8));
        dw_bytes(w, data, k);
        data += k;
        n -= k;
    } while (n);
}

/* One dynamic block of `count` zero bytes. Literal/length code: 285 -> "0", literal 0 -> "10", end of block
   -> "11"; distance code: distance 1 -> "0". Output: a literal 0, then (length 258, distance 1) pairs of 2 bits,
   then literal zeros for the rest. */
static inline void dw_zeros(dwbuf *w, uint64_t count, int final) {
    /* code-length code: 18 -> "0", 1 -> "10", 2 -> "11"; in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 */
    static const unsigned char clen[18] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2};
    uint64_t matches;
    int i;
    dw_bits(w, final ? 1 : 0, 1);
    dw_bits(w, 2, 2);
    dw_bits(w, 286 - 257, 5);   /* HLIT: symbols 0..285 */
    dw_bits(w, 0, 5);           /* HDIST: one distance code */
    dw_bits(w, 18 - 4, 4);      /* HCLEN: 18 code-length code lengths */
    for (i = 0; i < 18; i++) dw_bits(w, clen[i], 3);
    /* lengths: 0:2, 1..255:0, 256:2, 257..284:0, 285:1, distance 0:1 */
    dw_code(w, 3, 2);                                   /* 2 */
    dw_code(w, 0, 1); dw_bits(w, 138 - 11, 7);          /* 18: 138 zeros */
    dw_code(w, 0, 1); dw_bits(w, 117 - 11, 7);          /* 18: 117 zeros (255 in all) */
    dw_code(w, 3, 2);                                   /* 2 */
    dw_code(w, 0, 1); dw_bits(w, 28 - 11, 7);           /* 18: 28 zeros */
    dw_code(w, 2, 2);                                   /* 1 (symbol 285) */
    dw_code(w, 2, 2);                                   /* 1 (distance 0) */
    if (count) {
        dw_code(w, 2, 2);                               /* literal 0 */
        count--;
    }
    for (matches = count / 258; matches; matches--) dw_bits(w, 0, 2);   /* 285 "0" + distance "0" */
    for (count %= 258; count; count--) dw_code(w, 2, 2);
    dw_code(w, 3, 2);                                   /* end of block */
}

/* CRC-32 of (bytes with CRC crc) followed by n zero bytes: the register is multiplied by the matrix of one zero
   byte, raised to the n-th power by squaring. */
static inline uint32_t dw_gf2_times(const uint32_t *m, uint32_t v) {
    uint32_t r = 0;
    int i;
    for (i = 0; v; i++, v >>= 1)
        if (v & 1) r ^= m[i];
    return r;
}

static inline void dw_gf2_square(uint32_t *dst, const uint32_t *m) {
    int i;
    for (i = 0; i < 32; i++) dst[i] = dw_gf2_times(m, m[i]);
}

static inline uint32_t dw_crc32_zeros(uint32_t crc, uint64_t n) {
    uint32_t op[32], t[32], reg = ~crc;
    int i;
    op[0] = 0xEDB88320u;                       /* one zero bit: bit 0 feeds the polynomial, the rest shift down */
    for (i = 1; i < 32; i++) op[i] = 1u << (i - 1);
    dw_gf2_square(t, op);
    dw_gf2_square(op, t);
    dw_gf2_square(t, op);                      /* t: one zero byte */
    memcpy(op, t, sizeof op);
    while (n) {
        if (n & 1) reg = dw_gf2_times(op, reg);
        n >>= 1;
        if (n) { dw_gf2_square(t, op); memcpy(op, t, sizeof op); }
    }
    return ~reg;
}

/* Adler-32 of (bytes with Adler adler) followed by n zero bytes: a is unchanged, b grows by n * a. */
static inline uint32_t dw_adler32_zeros(uint32_t adler, uint64_t n) {
    uint64_t a = adler & 0xffffu, b = adler >> 16;
    b = (b + (n % 65521u) * a) % 65521u;
    return (uint32_t)((b << 16) | a);
}

static inline void dw_le32(dwbuf *w, uint32_t v) {
    dw_byte(w, (unsigned char)v); dw_byte(w, (unsigned char)(v >> 8));
    dw_byte(w, (unsigned char)(v >> 16)); dw_byte(w, (unsigned char)(v >> 24));
}

static inline void dw_be32(dwbuf *w, uint32_t v) {
    dw_byte(w, (unsigned char)(v >> 24)); dw_byte(w, (unsigned char)(v >> 16));
    dw_byte(w, (unsigned char)(v >> 8)); dw_byte(w, (unsigned char)v);
}

static inline void dw_gzip_header(dwbuf *w) {
    static const unsigned char h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
    dw_bytes(w, h, 10);
}
#endif
