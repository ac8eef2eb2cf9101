/* jpeg.c — JPEG (ITU-T T.81) reader, written from the specification.

   Supports: baseline and extended sequential Huffman (SOF0, SOF1) and progressive Huffman (SOF2), 8-bit samples;
   1 component (grey) or 3 components (YCbCr, or RGB when an Adobe APP14 marker says transform 0 or, without
   APP14, when the component ids are 'R','G','B'); sampling factors h,v in 1..2 for 3-component images (any
   1..4 for grey, where they do not matter); interleaved and non-interleaved scans; restart markers (DRI/RSTn);
   DQT with 8- and 16-bit entries; APPn/COM skipped.
   Rejected with a message: arithmetic coding (SOF9-11, SOF13-15, DAC), lossless (SOF3, SOF7, SOF11, SOF15),
   hierarchical (SOF5-7, DHP, EXP), 12-bit samples, 2- and 4-component (CMYK) images, DNL (height 0).

   Decoding: every scan writes quantised coefficients into per-component buffers; after EOI each block is
   dequantised (quantisation table latched when the component's first scan starts) and transformed with an
   accurate separable floating-point IDCT (direct cosine sums, rounded, level-shifted and clamped).
   Chroma upsampling: "centered" linear interpolation (triangle filter) for 2x factors — each chroma sample
   sits at the centre of the 2 (or 2x2) pixels it covers, output pixels take 3/4 of the nearer and 1/4 of the
   farther sample, edges replicated. YCbCr -> RGB uses the JFIF (BT.601 full-range) equations.

   Strictness: entropy-coded data that runs past its segment (into a marker or the end of the file) is an error,
   as is a missing EOI, an unexpected restart marker, an over-subscribed Huffman table, an undefined table,
   or a DC/AC magnitude category that 8-bit data cannot have (DC > 11, AC > 10). */
#include "mgx_image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JFAST 9   /* Huffman codes up to this length decode with one table lookup */

/* Zig-zag position k -> natural (row-major) index. */
static const unsigned char jzz[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

typedef struct {
    uint16_t fast[1 << JFAST];   /* (length << 8) | value; 0 = longer code or unassigned prefix */
    int32_t maxcode[17];         /* largest code of each length, -1 when there is none */
    int32_t mincode[17];         /* smallest code of each length */
    int valptr[17];              /* index in vals[] of the first value of each length */
    unsigned char vals[256];
    int present;
} jhuff;

typedef struct {
    int id, h, v, tq;
    int bw, bh;              /* blocks per row / column, whole MCUs */
    int cw, ch;              /* samples per row / column inside the image */
    int16_t *coef;           /* bw*bh blocks of 64 coefficients, natural order */
    uint64_t *nz;            /* progressive: per block, bit k set when the coefficient at zig-zag k is non-zero */
    signed char al[64];      /* progressive: the bit position each coefficient is known to (-1: not coded yet) */
    uint16_t q[64];          /* quantisation table latched at the component's first scan */
    int q_latched, scanned;
    int dc_pred, td, ta;
    unsigned char *plane;    /* bw*8 x bh*8 samples after the IDCT */
} jcomp;

typedef struct {
    const unsigned char *d;
    size_t n, pos;           /* next byte to load */
    uint32_t buf;            /* bits, most significant first */
    int cnt;                 /* valid bits in buf (real and padding) */
    int pad;                 /* padding zero bits at the end of buf (after a marker or end of data) */
    int stopped, overrun;
} jbits;

typedef struct {
    const unsigned char *d;
    size_t n, pos;
    char *err;
    size_t errsz;
    uint16_t qt[4][64];
    int qt_present[4];
    jhuff dc[4], ac[4];
    int restart_interval;
    int have_frame, progressive, w, h, nf, hmax, vmax, mcux, mcuy;
    jcomp comp[3];
    int adobe, adobe_transform, scans;
    uint64_t band;           /* the zig-zag positions Ss..Se of the current scan */
    int eobrun;
    jbits bits;
    float cosv[8][8];        /* cosv[u][x] = C(u)/2 * cos((2x+1) u pi / 16) */
} jdec;

/* ---- bit reader over entropy-coded data ---- */

static void bits_reset(jbits *b, const unsigned char *d, size_t n, size_t pos) {
    memset(b, 0, sizeof *b);
    b->d = d;
    b->n = n;
    b->pos = pos;
}

/* Tops the buffer up to at least 25 bits; past a marker or the end of data it appends zero padding. */
static void bits_fill(jbits *b) {
    while (b->cnt <= 24) {
        unsigned byte = 0;
        if (!b->stopped && b->pos < b->n) {
            byte = b->d[b->pos];
            if (byte != 0xff) b->pos++;
            else if (b->pos + 1 < b->n && b->d[b->pos + 1] == 0) b->pos += 2;   /* stuffed FF 00 */
            else b->stopped = 1;                                               /* a marker */
        } else {
            b->stopped = 1;
        }
        if (b->stopped) { byte = 0; b->pad += 8; }
        b->buf |= (uint32_t)byte << (24 - b->cnt);
        b->cnt += 8;
    }
}

static void bits_consume(jbits *b, int k) {
    b->buf <<= k;
    b->cnt -= k;
    if (b->cnt < b->pad) b->overrun = 1;   /* consumed padding: the data ended too early */
}

/* Reads k (0..16) bits as an unsigned number. */
static int bits_get(jbits *b, int k) {
    int v;
    if (k == 0) return 0;
    bits_fill(b);
    v = (int)(b->buf >> (32 - k));
    bits_consume(b, k);
    return v;
}

/* Maps a k-bit magnitude to its signed value (T.81 F.2.2.1 EXTEND). */
static int extend(int v, int k) {
    return k == 0 ? 0 : (v < (1 << (k - 1)) ? v - (1 << k) + 1 : v);
}

/* ---- Huffman tables ---- */

static int jhuff_build(jdec *j, jhuff *t, const unsigned char *counts, const unsigned char *vals, int total) {
    int32_t code = 0;
    int len, k = 0, i;
    memset(t, 0, sizeof *t);
    memcpy(t->vals, vals, (size_t)total);
    for (len = 1; len <= 16; len++) {
        t->valptr[len] = k;
        t->mincode[len] = code;
        for (i = 0; i < counts[len - 1]; i++, k++, code++) {
            if (code >= ((int32_t)1 << len)) return mgx_errf(j->err, j->errsz, "JPEG: over-subscribed Huffman table");
            if (len <= JFAST) {
                int lo = (int)(code << (JFAST - len)), hi = lo + (1 << (JFAST - len)), x;
                for (x = lo; x < hi; x++) t->fast[x] = (uint16_t)((len << 8) | vals[k]);
            }
        }
        t->maxcode[len] = counts[len - 1] ? code - 1 : -1;
        code <<= 1;
    }
    t->present = 1;
    return 0;
}

/* Decodes one Huffman symbol, or returns -1 with a message. */
static int jhuff_decode(jdec *j, const jhuff *t) {
    jbits *b = &j->bits;
    unsigned e;
    int len;
    bits_fill(b);
    e = t->fast[b->buf >> (32 - JFAST)];
    if (e) {
        bits_consume(b, (int)(e >> 8));
        return (int)(e & 255);
    }
    for (len = JFAST + 1; len <= 16; len++) {
        int32_t code = (int32_t)(b->buf >> (32 - len));
        if (t->maxcode[len] >= 0 && code <= t->maxcode[len] && code >= t->mincode[len]) {
            bits_consume(b, len);
            return t->vals[t->valptr[len] + (code - t->mincode[len])];
        }
    }
    if (b->pad) return mgx_errf(j->err, j->errsz, "JPEG: entropy-coded data ended early (truncated or corrupt)");
    return mgx_errf(j->err, j->errsz, "JPEG: invalid Huffman code in the entropy-coded data");
}

/* ---- marker segments ---- */

static unsigned be16(const unsigned char *p) { return ((unsigned)p[0] << 8) | p[1]; }

static int parse_dqt(jdec *j, const unsigned char *p, size_t len) {
    while (len > 0) {
        int pq = p[0] >> 4, tq = p[0] & 15, k;
        size_t need = 1 + (pq ? 128u : 64u);
        if (pq > 1) return mgx_errf(j->err, j->errsz, "JPEG: invalid quantisation table precision %d", pq);
        if (tq > 3) return mgx_errf(j->err, j->errsz, "JPEG: invalid quantisation table id %d", tq);
        if (len < need) return mgx_errf(j->err, j->errsz, "JPEG: truncated DQT segment");
        for (k = 0; k < 64; k++)
            j->qt[tq][jzz[k]] = (uint16_t)(pq ? be16(p + 1 + 2 * k) : p[1 + k]);
        j->qt_present[tq] = 1;
        p += need;
        len -= need;
    }
    return 0;
}

static int parse_dht(jdec *j, const unsigned char *p, size_t len) {
    while (len > 0) {
        int tc, th, i, total = 0;
        if (len < 17) return mgx_errf(j->err, j->errsz, "JPEG: truncated DHT segment");
        tc = p[0] >> 4;
        th = p[0] & 15;
        if (tc > 1 || th > 3) return mgx_errf(j->err, j->errsz, "JPEG: invalid Huffman table class/id 0x%02x", p[0]);
        for (i = 0; i < 16; i++) total += p[1 + i];
        if (total > 256) return mgx_errf(j->err, j->errsz, "JPEG: Huffman table with %d codes (more than 256)", total);
        if (len < 17 + (size_t)total) return mgx_errf(j->err, j->errsz, "JPEG: truncated DHT segment");
        if (jhuff_build(j, tc ? &j->ac[th] : &j->dc[th], p + 1, p + 17, total)) return -1;
        p += 17 + total;
        len -= 17 + (size_t)total;
    }
    return 0;
}

/* Before anything is allocated: every block of every component costs at least one bit of entropy-coded data (its
   DC code, in the first scan that covers it), so the rest of the file must hold that many bits; and the
   decoder's memory (coefficients, progressive masks, planes, upsampled planes, output) must fit
   MGX_MAX_INPUT_BYTES. j->pos is just past the frame header. */
static int check_frame_size(jdec *j) {
    uint64_t blocks = 0, coded = 0, mem, px = (uint64_t)j->w * (uint64_t)j->h;
    char what[96];
    int i;
    for (i = 0; i < j->nf; i++) {
        const jcomp *c = &j->comp[i];
        coded += (uint64_t)((c->cw + 7) / 8) * (uint64_t)((c->ch + 7) / 8);
        blocks += (uint64_t)c->bw * (uint64_t)c->bh;
    }
    if ((uint64_t)(j->n - j->pos) * 8 < coded)
        return mgx_errf(j->err, j->errsz, "JPEG: the %llu bytes after the frame header cannot code the %llu blocks of a %dx%d "
                        "image (at least one bit each)", (unsigned long long)(j->n - j->pos), (unsigned long long)coded, j->w, j->h);
    mem = blocks * (128 + 64 + (j->progressive ? 8 : 0)) + px * (uint64_t)j->nf * 2;
    snprintf(what, sizeof what, "JPEG: a %dx%d image", j->w, j->h);
    return mgx_check_claim(mem, what, j->err, j->errsz);
}

static int parse_sof(jdec *j, int marker, const unsigned char *p, size_t len) {
    int i, k;
    size_t bytes;
    if (j->have_frame) return mgx_errf(j->err, j->errsz, "JPEG: more than one frame header");
    if (len < 6) return mgx_errf(j->err, j->errsz, "JPEG: truncated frame header");
    if (p[0] != 8) return mgx_errf(j->err, j->errsz, "JPEG: %d-bit samples not supported (only 8-bit)", p[0]);
    j->h = (int)be16(p + 1);
    j->w = (int)be16(p + 3);
    j->nf = p[5];
    j->progressive = marker == 0xc2;
    if (j->h == 0) return mgx_errf(j->err, j->errsz, "JPEG: height 0 (DNL marker) not supported");
    if (mgx_image_size(j->w, j->h, j->nf == 3 ? 3 : 1, NULL, j->err, j->errsz)) return -1;
    if (j->nf != 1 && j->nf != 3)
        return mgx_errf(j->err, j->errsz, "JPEG: %d components not supported (only 1 or 3)", j->nf);
    if (len != 6 + 3 * (size_t)j->nf) return mgx_errf(j->err, j->errsz, "JPEG: bad frame header length");
    j->hmax = j->vmax = 1;
    for (i = 0; i < j->nf; i++) {
        jcomp *c = &j->comp[i];
        c->id = p[6 + 3 * i];
        c->h = p[7 + 3 * i] >> 4;
        c->v = p[7 + 3 * i] & 15;
        c->tq = p[8 + 3 * i];
        for (k = 0; k < i; k++)
            if (j->comp[k].id == c->id) return mgx_errf(j->err, j->errsz, "JPEG: duplicate component id %d", c->id);
        if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4)
            return mgx_errf(j->err, j->errsz, "JPEG: invalid sampling factors %dx%d", c->h, c->v);
        if (j->nf == 1) c->h = c->v = 1;   /* a lone component is never subsampled */
        if (c->h > 2 || c->v > 2)
            return mgx_errf(j->err, j->errsz, "JPEG: sampling factors %dx%d not supported (only 1 or 2)", c->h, c->v);
        if (c->tq > 3) return mgx_errf(j->err, j->errsz, "JPEG: invalid quantisation table id %d", c->tq);
        if (c->h > j->hmax) j->hmax = c->h;
        if (c->v > j->vmax) j->vmax = c->v;
    }
    j->mcux = (j->w + 8 * j->hmax - 1) / (8 * j->hmax);
    j->mcuy = (j->h + 8 * j->vmax - 1) / (8 * j->vmax);
    for (i = 0; i < j->nf; i++) {
        jcomp *c = &j->comp[i];
        c->bw = j->mcux * c->h;
        c->bh = j->mcuy * c->v;
        c->cw = (j->w * c->h + j->hmax - 1) / j->hmax;
        c->ch = (j->h * c->v + j->vmax - 1) / j->vmax;
        memset(c->al, -1, sizeof c->al);
    }
    if (check_frame_size(j)) return -1;
    for (i = 0; i < j->nf; i++) {
        jcomp *c = &j->comp[i];
        bytes = (size_t)c->bw * (size_t)c->bh * 64 * sizeof(int16_t);
        c->coef = (int16_t *)MGX_MALLOC(bytes);
        if (c->coef) memset(c->coef, 0, bytes);
        if (j->progressive && c->coef) {
            c->nz = (uint64_t *)MGX_MALLOC((size_t)c->bw * (size_t)c->bh * sizeof(uint64_t));
            if (c->nz) memset(c->nz, 0, (size_t)c->bw * (size_t)c->bh * sizeof(uint64_t));
        }
        if (!c->coef || (j->progressive && !c->nz)) return mgx_errf(j->err, j->errsz, "JPEG: out of memory for %dx%d image", j->w, j->h);
    }
    j->have_frame = 1;
    return 0;
}

static void parse_app14(jdec *j, const unsigned char *p, size_t len) {
    if (len >= 12 && memcmp(p, "Adobe", 5) == 0) {
        j->adobe = 1;
        j->adobe_transform = p[11];
    }
}

/* ---- block decoders (one per scan kind) ---- */

static int16_t clamp16(long v) { return (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v); }

static int dc_diff(jdec *j, jcomp *c, int *out) {
    int t = jhuff_decode(j, &j->dc[c->td]);
    if (t < 0) return -1;
    if (t > 11) return mgx_errf(j->err, j->errsz, "JPEG: DC magnitude category %d invalid for 8-bit data", t);
    c->dc_pred += extend(bits_get(&j->bits, t), t);
    if (c->dc_pred < -32768 || c->dc_pred > 32767) return mgx_errf(j->err, j->errsz, "JPEG: DC value out of range");
    *out = c->dc_pred;
    return 0;
}

/* Sequential: DC difference then 63 AC coefficients. */
static int block_sequential(jdec *j, jcomp *c, int16_t *blk) {
    int k, dc;
    if (dc_diff(j, c, &dc)) return -1;
    blk[0] = (int16_t)dc;
    for (k = 1; k < 64; k++) {
        int rs = jhuff_decode(j, &j->ac[c->ta]), r, s;
        if (rs < 0) return -1;
        r = rs >> 4;
        s = rs & 15;
        if (s == 0) {
            if (r != 15) break;   /* end of block */
            k += 15;              /* ZRL: 16 zeros */
            continue;
        }
        if (s > 10) return mgx_errf(j->err, j->errsz, "JPEG: AC magnitude category %d invalid for 8-bit data", s);
        k += r;
        if (k > 63) return mgx_errf(j->err, j->errsz, "JPEG: AC coefficient index beyond 63");
        blk[jzz[k]] = (int16_t)extend(bits_get(&j->bits, s), s);
    }
    return 0;
}

static int block_dc_first(jdec *j, jcomp *c, int16_t *blk, int al) {
    int dc;
    if (dc_diff(j, c, &dc)) return -1;
    blk[0] = clamp16((long)dc * (1L << al));
    return 0;
}

static int block_dc_refine(jdec *j, int16_t *blk, int al) {
    if (bits_get(&j->bits, 1)) blk[0] = clamp16((long)blk[0] | (1L << al));
    return 0;
}

static int block_ac_first(jdec *j, jcomp *c, int16_t *blk, uint64_t *nz, int ss, int se, int al) {
    int k;
    if (j->eobrun > 0) { j->eobrun--; return 0; }
    for (k = ss; k <= se; k++) {
        int rs = jhuff_decode(j, &j->ac[c->ta]), r, s;
        MGX_COUNT(MGX_COUNT_JPEG_STEPS, 1);
        if (rs < 0) return -1;
        r = rs >> 4;
        s = rs & 15;
        if (s == 0) {
            if (r < 15) {   /* EOBn: this block and (2^r - 1 + r bits) more end here */
                j->eobrun = (1 << r) - 1 + bits_get(&j->bits, r);
                break;
            }
            k += 15;
            continue;
        }
        if (s > 10) return mgx_errf(j->err, j->errsz, "JPEG: AC magnitude category %d invalid for 8-bit data", s);
        k += r;
        if (k > se) return mgx_errf(j->err, j->errsz, "JPEG: AC coefficient index beyond the spectral band");
        blk[jzz[k]] = clamp16((long)extend(bits_get(&j->bits, s), s) * (1L << al));
        *nz |= (uint64_t)1 << k;
    }
    return 0;
}

/* Adds one correction bit to a coefficient that is already non-zero (T.81 G.1.2.3). */
static void refine_nonzero(jdec *j, int16_t *coef, int p1) {
    if (bits_get(&j->bits, 1) && (*coef & p1) == 0) *coef = clamp16(*coef >= 0 ? (long)*coef + p1 : (long)*coef - p1);
}

/* Index of the lowest set bit of m != 0 (de Bruijn multiplication). */
static int lowest_bit(uint64_t m) {
    static const unsigned char pos[64] = {0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4, 62, 55, 59, 36, 53, 51,
        43, 22, 45, 39, 33, 30, 24, 18, 12, 5, 63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11, 46, 26, 40,
        15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6};
    return pos[((m & (~m + 1)) * 0x03f79d71b4cb0a89ull) >> 58];
}

/* T.81 G.1.2.3. A block inside an end-of-band run gets correction bits for its non-zero coefficients only, found
   through its mask: time proportional to the coded data, not to the band width. */
static int block_ac_refine(jdec *j, jcomp *c, int16_t *blk, uint64_t *nz, int ss, int se, int al) {
    int k = ss, p1 = 1 << al;
    if (j->eobrun == 0) {
        for (; k <= se; k++) {
            int rs = jhuff_decode(j, &j->ac[c->ta]), r, s, val = 0;
            if (rs < 0) return -1;
            r = rs >> 4;
            s = rs & 15;
            if (s) {
                if (s != 1) return mgx_errf(j->err, j->errsz, "JPEG: invalid refinement magnitude %d", s);
                val = bits_get(&j->bits, 1) ? p1 : -p1;
            } else if (r != 15) {
                j->eobrun = (1 << r) + bits_get(&j->bits, r);   /* includes this block */
                break;
            }
            /* Skip r coefficients with zero history (refining non-zero ones on the way), then place val. */
            for (; k <= se; k++) {
                int16_t *coef = &blk[jzz[k]];
                MGX_COUNT(MGX_COUNT_JPEG_STEPS, 1);
                if (*coef) refine_nonzero(j, coef, p1);
                else if (r == 0) {
                    if (val) { *coef = (int16_t)val; *nz |= (uint64_t)1 << k; }
                    break;
                } else {
                    r--;
                }
            }
        }
    }
    if (j->eobrun > 0) {
        uint64_t m = *nz & j->band & ~(((uint64_t)1 << k) - 1);   /* non-zero coefficients from k to Se */
        for (; m; m &= m - 1) {
            MGX_COUNT(MGX_COUNT_JPEG_STEPS, 1);
            refine_nonzero(j, &blk[jzz[lowest_bit(m)]], p1);
        }
        j->eobrun--;
    }
    return 0;
}

/* ---- scans ---- */

/* Skips to the next marker at or after pos; returns its offset (the FF before the code) or n. */
static size_t find_marker(const unsigned char *d, size_t n, size_t pos) {
    while (pos + 1 < n) {
        if (d[pos] == 0xff && d[pos + 1] != 0 && d[pos + 1] != 0xff) return pos;
        pos++;
    }
    return n;
}

static int handle_restart(jdec *j, int *rst_count, jcomp **sc, int ns) {
    size_t p = find_marker(j->d, j->n, j->bits.pos);
    int i;
    if (p >= j->n) return mgx_errf(j->err, j->errsz, "JPEG: truncated (missing restart marker)");
    if (j->d[p + 1] != 0xd0 + (*rst_count & 7))
        return mgx_errf(j->err, j->errsz, "JPEG: expected RST%d marker, found 0xFF%02X", *rst_count & 7, j->d[p + 1]);
    (*rst_count)++;
    bits_reset(&j->bits, j->d, j->n, p + 2);
    for (i = 0; i < ns; i++) sc[i]->dc_pred = 0;
    j->eobrun = 0;
    return 0;
}

static int decode_block(jdec *j, jcomp *c, int bx, int by, int ss, int se, int ah, int al) {
    size_t b = (size_t)by * (size_t)c->bw + (size_t)bx;
    int16_t *blk = c->coef + b * 64;
    MGX_COUNT(MGX_COUNT_JPEG_STEPS, 1);
    if (!j->progressive) return block_sequential(j, c, blk);
    if (ss == 0) return ah == 0 ? block_dc_first(j, c, blk, al) : block_dc_refine(j, blk, al);
    return ah == 0 ? block_ac_first(j, c, blk, c->nz + b, ss, se, al) : block_ac_refine(j, c, blk, c->nz + b, ss, se, al);
}

static int decode_scan_data(jdec *j, jcomp **sc, int ns, int ss, int se, int ah, int al) {
    int mx, my, mcus_x, mcus_y, i, rst_count = 0;
    long m = 0;
    if (ns == 1) {
        mcus_x = (sc[0]->cw + 7) / 8;
        mcus_y = (sc[0]->ch + 7) / 8;
    } else {
        mcus_x = j->mcux;
        mcus_y = j->mcuy;
    }
    bits_reset(&j->bits, j->d, j->n, j->pos);
    for (i = 0; i < ns; i++) sc[i]->dc_pred = 0;
    j->eobrun = 0;
    for (my = 0; my < mcus_y; my++) {
        for (mx = 0; mx < mcus_x; mx++, m++) {
            if (j->restart_interval && m > 0 && m % j->restart_interval == 0 && handle_restart(j, &rst_count, sc, ns))
                return -1;
            for (i = 0; i < ns; i++) {
                jcomp *c = sc[i];
                int bx, by;
                if (ns == 1) {
                    if (decode_block(j, c, mx, my, ss, se, ah, al)) return -1;
                    continue;
                }
                for (by = 0; by < c->v; by++)
                    for (bx = 0; bx < c->h; bx++)
                        if (decode_block(j, c, mx * c->h + bx, my * c->v + by, ss, se, ah, al)) return -1;
            }
            if (j->bits.overrun)
                return mgx_errf(j->err, j->errsz, "JPEG: entropy-coded data ended early (truncated or corrupt)");
        }
    }
    j->pos = find_marker(j->d, j->n, j->bits.pos);
    return 0;
}

/* T.81 G.1.1.1: a component's DC coefficients are coded before any AC band; a coefficient's first scan has Ah = 0
   and each later one refines it by one bit (Ah = the Al it is known to, Al = Ah - 1). With MGX_JPEG_MAX_SCANS
   this bounds the scans over any coefficient, so a file cannot make the decoder walk its blocks again and again. */
static int check_progression(jdec *j, jcomp *c, int ss, int se, int ah, int al) {
    int k;
    if (ss > 0 && c->al[0] < 0)
        return mgx_errf(j->err, j->errsz, "JPEG: scan %d codes AC coefficients of component %d before its DC scan", j->scans + 1, c->id);
    for (k = ss; k <= se; k++) {
        if (ah == 0 && c->al[k] >= 0)
            return mgx_errf(j->err, j->errsz, "JPEG: scan %d codes coefficient %d of component %d a second time", j->scans + 1, k, c->id);
        if (ah > 0 && (c->al[k] != ah || al != ah - 1))
            return mgx_errf(j->err, j->errsz, "JPEG: scan %d refines coefficient %d of component %d from bit %d to %d, but it is "
                            "known to bit %d", j->scans + 1, k, c->id, ah, al, c->al[k]);
    }
    for (k = ss; k <= se; k++) c->al[k] = (signed char)al;
    return 0;
}

static int parse_sos(jdec *j, const unsigned char *p, size_t len) {
    jcomp *sc[3];
    int ns, i, k, ss, se, ah, al, blocks = 0;
    if (!j->have_frame) return mgx_errf(j->err, j->errsz, "JPEG: scan before the frame header");
    if (j->scans >= MGX_JPEG_MAX_SCANS)
        return mgx_errf(j->err, j->errsz, "JPEG: more than %d scans (MGX_JPEG_MAX_SCANS)", MGX_JPEG_MAX_SCANS);
    if (len < 1) return mgx_errf(j->err, j->errsz, "JPEG: truncated scan header");
    ns = p[0];
    if (ns < 1 || ns > j->nf) return mgx_errf(j->err, j->errsz, "JPEG: invalid scan component count %d", ns);
    if (len != 4 + 2 * (size_t)ns) return mgx_errf(j->err, j->errsz, "JPEG: bad scan header length");
    for (i = 0; i < ns; i++) {
        int id = p[1 + 2 * i];
        sc[i] = NULL;
        for (k = 0; k < j->nf; k++)
            if (j->comp[k].id == id) sc[i] = &j->comp[k];
        if (!sc[i]) return mgx_errf(j->err, j->errsz, "JPEG: scan names unknown component %d", id);
        for (k = 0; k < i; k++)
            if (sc[k] == sc[i]) return mgx_errf(j->err, j->errsz, "JPEG: scan names component %d twice", id);
        sc[i]->td = p[2 + 2 * i] >> 4;
        sc[i]->ta = p[2 + 2 * i] & 15;
        if (sc[i]->td > 3 || sc[i]->ta > 3) return mgx_errf(j->err, j->errsz, "JPEG: invalid Huffman table id");
        blocks += sc[i]->h * sc[i]->v;
    }
    ss = p[1 + 2 * ns];
    se = p[2 + 2 * ns];
    ah = p[3 + 2 * ns] >> 4;
    al = p[3 + 2 * ns] & 15;
    if (ns > 1 && blocks > 10) return mgx_errf(j->err, j->errsz, "JPEG: more than 10 blocks per MCU");
    if (j->progressive) {
        if (ss > se || se > 63 || (ss == 0 && se != 0) || ah > 13 || al > 13)
            return mgx_errf(j->err, j->errsz, "JPEG: invalid progressive scan parameters Ss=%d Se=%d Ah=%d Al=%d", ss, se, ah, al);
        if (ss > 0 && ns != 1) return mgx_errf(j->err, j->errsz, "JPEG: interleaved AC scan in a progressive image");
        for (i = 0; i < ns; i++)
            if (check_progression(j, sc[i], ss, se, ah, al)) return -1;
        j->band = (se == 63 ? ~(uint64_t)0 : (((uint64_t)1 << (se + 1)) - 1)) & ~(((uint64_t)1 << ss) - 1);
    } else {
        for (i = 0; i < ns; i++)
            if (sc[i]->scanned)
                return mgx_errf(j->err, j->errsz, "JPEG: component %d appears in two scans of a sequential image", sc[i]->id);
    }
    for (i = 0; i < ns; i++) {
        jcomp *c = sc[i];
        int need_dc = !j->progressive || (ss == 0 && ah == 0), need_ac = !j->progressive || ss > 0;
        if (need_dc && !j->dc[c->td].present) return mgx_errf(j->err, j->errsz, "JPEG: undefined DC Huffman table %d", c->td);
        if (need_ac && !j->ac[c->ta].present) return mgx_errf(j->err, j->errsz, "JPEG: undefined AC Huffman table %d", c->ta);
        if (!c->q_latched) {
            if (!j->qt_present[c->tq]) return mgx_errf(j->err, j->errsz, "JPEG: undefined quantisation table %d", c->tq);
            memcpy(c->q, j->qt[c->tq], sizeof c->q);
            c->q_latched = 1;
        }
        c->scanned = 1;
    }
    j->scans++;
    return decode_scan_data(j, sc, ns, ss, se, ah, al);
}

/* ---- reconstruction ---- */

static void init_cos(jdec *j) {
    int u, x;
    for (u = 0; u < 8; u++)
        for (x = 0; x < 8; x++)
            j->cosv[u][x] = (float)((u == 0 ? sqrt(0.125) : 0.5) * cos((2 * x + 1) * u * 3.14159265358979323846 / 16.0));
}

static unsigned char clamp_round(float v) {
    v += 128.5f;
    return (unsigned char)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)v);
}

/* Dequantises one block and writes its 8x8 samples (separable float IDCT). */
static void idct_block(const jdec *j, const int16_t *coef, const uint16_t *q, unsigned char *dst, size_t stride) {
    float f[64], tmp[64];
    int i, x, y, u, ac = 0;
    for (i = 0; i < 64; i++) {
        f[i] = (float)coef[i] * (float)q[i];
        if (i && coef[i]) ac = 1;
    }
    if (!ac) {   /* flat block: every sample is DC / 8 */
        unsigned char v = clamp_round(f[0] * 0.125f);
        for (y = 0; y < 8; y++) memset(dst + (size_t)y * stride, v, 8);
        return;
    }
    for (y = 0; y < 8; y++)   /* horizontal pass: row y holds vertical frequency y */
        for (x = 0; x < 8; x++) {
            float s = 0.0f;
            for (u = 0; u < 8; u++) s += f[y * 8 + u] * j->cosv[u][x];
            tmp[y * 8 + x] = s;
        }
    for (x = 0; x < 8; x++)
        for (y = 0; y < 8; y++) {
            float s = 0.0f;
            for (u = 0; u < 8; u++) s += tmp[u * 8 + x] * j->cosv[u][y];
            dst[(size_t)y * stride + x] = clamp_round(s);
        }
}

static int component_to_plane(jdec *j, jcomp *c) {
    size_t stride = (size_t)c->bw * 8;
    int bx, by;
    c->plane = (unsigned char *)MGX_MALLOC(stride * (size_t)c->bh * 8);
    if (!c->plane) return mgx_errf(j->err, j->errsz, "JPEG: out of memory");
    for (by = 0; by < c->bh; by++)
        for (bx = 0; bx < c->bw; bx++)
            idct_block(j, c->coef + ((size_t)by * c->bw + bx) * 64, c->q,
                       c->plane + (size_t)by * 8 * stride + (size_t)bx * 8, stride);
    MGX_FREE(c->coef);
    c->coef = NULL;
    return 0;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Rounding bias for a value held at 16x: ordered so that ties do not all round the same way
   (1-D interpolation: 1/4 then 2/4 of a unit on even/odd outputs; 2-D: 8/16 then 7/16 along x). */
static int round_bias(int rx, int ry, int x, int y) {
    if (rx == 2 && ry == 2) return (x & 1) ? 7 : 8;
    if (rx == 2) return (x & 1) ? 8 : 4;
    if (ry == 2) return (y & 1) ? 8 : 4;
    return 8;
}

/* Produces a W x H plane for component c (centered triangle upsampling for factor-2 directions). */
static int upsample(jdec *j, const jcomp *c, unsigned char **out) {
    int rx = j->hmax / c->h, ry = j->vmax / c->v, x, y;
    size_t stride = (size_t)c->bw * 8;
    unsigned char *dst = (unsigned char *)MGX_MALLOC((size_t)j->w * (size_t)j->h);
    *out = dst;
    if (!dst) return mgx_errf(j->err, j->errsz, "JPEG: out of memory");
    for (y = 0; y < j->h; y++) {
        int sy = y / ry, ny = sy;
        const unsigned char *r0, *r1;
        if (ry == 2) ny = clampi((y & 1) ? sy + 1 : sy - 1, 0, c->ch - 1);
        r0 = c->plane + (size_t)sy * stride;
        r1 = c->plane + (size_t)ny * stride;
        for (x = 0; x < j->w; x++) {
            int sx = x / rx, v;
            if (rx == 1) {
                v = ry == 1 ? r0[sx] * 16 : (3 * r0[sx] + r1[sx]) * 4;
            } else {
                int nx = clampi((x & 1) ? sx + 1 : sx - 1, 0, c->cw - 1);
                int a = ry == 1 ? 4 * r0[sx] : 3 * r0[sx] + r1[sx];
                int b = ry == 1 ? 4 * r0[nx] : 3 * r0[nx] + r1[nx];
                v = 3 * a + b;
            }
            dst[(size_t)y * j->w + x] = (unsigned char)((v + round_bias(rx, ry, x, y)) >> 4);
        }
    }
    return 0;
}

static unsigned char clamp_byte(float v) {
    v += 0.5f;
    return (unsigned char)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)v);
}

static int assemble(jdec *j, mgx_image *img) {
    unsigned char *pl[3] = {NULL, NULL, NULL};
    int i, rc = -1, rgb;
    size_t k, npx = (size_t)j->w * (size_t)j->h;
    for (i = 0; i < j->nf; i++) {
        jcomp *c = &j->comp[i];
        if (!c->scanned) return mgx_errf(j->err, j->errsz, "JPEG: component %d has no scan data", c->id);
        if (component_to_plane(j, c)) return -1;
    }
    for (i = 0; i < j->nf; i++)
        if (upsample(j, &j->comp[i], &pl[i])) goto done;
    if (mgx_image_alloc(img, j->w, j->h, j->nf == 3 ? 3 : 1, j->err, j->errsz)) goto done;
    if (j->nf == 1) {
        memcpy(img->px, pl[0], npx);
    } else {
        rgb = j->adobe ? j->adobe_transform == 0
                       : (j->comp[0].id == 'R' && j->comp[1].id == 'G' && j->comp[2].id == 'B');
        for (k = 0; k < npx; k++) {
            unsigned char *o = img->px + 3 * k;
            if (rgb) {
                o[0] = pl[0][k];
                o[1] = pl[1][k];
                o[2] = pl[2][k];
            } else {
                float y = pl[0][k], cb = (float)pl[1][k] - 128.0f, cr = (float)pl[2][k] - 128.0f;
                o[0] = clamp_byte(y + 1.402f * cr);
                o[1] = clamp_byte(y - 0.344136f * cb - 0.714136f * cr);
                o[2] = clamp_byte(y + 1.772f * cb);
            }
        }
    }
    rc = 0;
done:
    for (i = 0; i < 3; i++) MGX_FREE(pl[i]);
    return rc;
}

/* ---- top level ---- */

static const char *sof_reject_reason(int m) {
    switch (m) {
    case 0xc3: return "lossless JPEG (SOF3) not supported";
    case 0xc5: case 0xc6: case 0xc7: return "hierarchical JPEG not supported";
    case 0xc9: case 0xca: return "arithmetic-coded JPEG not supported";
    case 0xcb: return "lossless arithmetic-coded JPEG not supported";
    case 0xcd: case 0xce: case 0xcf: return "hierarchical arithmetic-coded JPEG not supported";
    case 0xcc: return "arithmetic-coded JPEG (DAC) not supported";
    case 0xde: case 0xdf: return "hierarchical JPEG (DHP/EXP) not supported";
    default: return NULL;
    }
}

static int parse_markers(jdec *j) {
    if (j->n < 2 || j->d[0] != 0xff || j->d[1] != 0xd8) return mgx_errf(j->err, j->errsz, "JPEG: missing SOI marker");
    j->pos = 2;
    for (;;) {
        int m;
        size_t len;
        const unsigned char *p;
        const char *why;
        if (j->pos >= j->n) return mgx_errf(j->err, j->errsz, "JPEG: truncated (no EOI marker)");
        if (j->d[j->pos] != 0xff)
            return mgx_errf(j->err, j->errsz, "JPEG: expected a marker at offset %lu", (unsigned long)j->pos);
        while (j->pos < j->n && j->d[j->pos] == 0xff) j->pos++;   /* fill bytes */
        if (j->pos >= j->n) return mgx_errf(j->err, j->errsz, "JPEG: truncated (no EOI marker)");
        m = j->d[j->pos++];
        if (m == 0xd9) break;                                     /* EOI */
        if ((m >= 0xd0 && m <= 0xd7) || m == 0x01) continue;     /* RSTn / TEM: no payload */
        if (m == 0x00 || m == 0xd8) return mgx_errf(j->err, j->errsz, "JPEG: unexpected marker 0xFF%02X", m);
        if ((why = sof_reject_reason(m)) != NULL) return mgx_errf(j->err, j->errsz, "JPEG: %s", why);
        if (j->n - j->pos < 2) return mgx_errf(j->err, j->errsz, "JPEG: truncated marker segment");
        len = be16(j->d + j->pos);
        if (len < 2 || j->n - j->pos < len) return mgx_errf(j->err, j->errsz, "JPEG: truncated marker segment 0xFF%02X", m);
        p = j->d + j->pos + 2;
        j->pos += len;
        len -= 2;
        switch (m) {
        case 0xc0: case 0xc1: case 0xc2:
            if (parse_sof(j, m, p, len)) return -1;
            break;
        case 0xc4: if (parse_dht(j, p, len)) return -1; break;
        case 0xdb: if (parse_dqt(j, p, len)) return -1; break;
        case 0xdd:
            if (len != 2) return mgx_errf(j->err, j->errsz, "JPEG: bad DRI segment length");
            j->restart_interval = (int)be16(p);
            break;
        case 0xdc: return mgx_errf(j->err, j->errsz, "JPEG: DNL marker not supported");
        case 0xda: if (parse_sos(j, p, len)) return -1; break;
        case 0xee: parse_app14(j, p, len); break;
        default: break;   /* APPn, COM and other segments are skipped */
        }
    }
    if (!j->have_frame) return mgx_errf(j->err, j->errsz, "JPEG: no frame header before EOI");
    if (!j->scans) return mgx_errf(j->err, j->errsz, "JPEG: no scan before EOI");
    return 0;
}

int mgx_jpeg_decode(const void *data, size_t n, mgx_image *img, char *err, size_t errsz) {
    jdec *j;
    int i, rc;
    if (!img) return mgx_errf(err, errsz, "JPEG: no output image");
    memset(img, 0, sizeof *img);
    if (!data) return mgx_errf(err, errsz, "JPEG: no data");
    j = (jdec *)MGX_MALLOC(sizeof *j);
    if (!j) return mgx_errf(err, errsz, "JPEG: out of memory");
    memset(j, 0, sizeof *j);
    j->d = (const unsigned char *)data;
    j->n = n;
    j->err = err;
    j->errsz = errsz;
    init_cos(j);
    rc = parse_markers(j);
    if (rc == 0) rc = assemble(j, img);
    for (i = 0; i < 3; i++) {
        MGX_FREE(j->comp[i].coef);
        MGX_FREE(j->comp[i].nz);
        MGX_FREE(j->comp[i].plane);
    }
    MGX_FREE(j);
    if (rc) mgx_image_free(img);
    return rc;
}
