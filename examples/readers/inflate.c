/* inflate.c — DEFLATE decoder (RFC 1951) with zlib (RFC 1950) and gzip (RFC 1952) wrappers, CRC-32, Adler-32.

   Supports: stored, fixed-Huffman and dynamic-Huffman blocks; zlib streams (Adler-32 verified);
   gzip files with any number of members (CRC-32 and ISIZE verified for each; FEXTRA/FNAME/FCOMMENT skipped,
   FHCRC verified); trailing zero bytes after the last gzip member.
   Does not support: zlib preset dictionaries (FDICT) — rejected with a message. The whole output stays in one
   buffer bounded by max_out, but it is produced on demand: mgx_inflate_more stops at exactly the number of
   bytes asked for (a back-reference that crosses it is finished by the next call), so a reader inflates only
   as much as its header implies.
   Speed: back-references are copied with memcpy (non-overlapping) or a doubling pattern fill (overlapping:
   each copy doubles the run already written), and the bit buffer is refilled 8 bytes at a time.

   Validation: over-subscribed Huffman codes are rejected; incomplete codes are rejected except a single code
   of length 1 (literal/length or distance) and an empty distance code, as RFC 1951 decoders customarily allow;
   the code-length code must be complete. Back-references reaching before the start of the output, length
   symbols 286/287, distance symbols 30/31, repeat codes without a previous length and truncated input are errors.
   Trailing bytes after a raw or zlib stream are ignored (DICOM pads deflated data to an even length). */
#include "mgx_image.h"

#include <stdlib.h>
#include <string.h>

/* ---- checksums ---- */

/* CRC-32 of each 4-bit value, reflected polynomial 0xEDB88320 (two lookups per byte). */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u, 0x4db26158u, 0x5005713cu,
    0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu, 0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu
};

/* Slicing by 8 (eight bytes per step through eight 256-entry tables), for long inputs: the tables are built
   on the stack per call (4 K steps), so short inputs keep the nibble loop. */
static uint32_t crc32_sliced(uint32_t crc, const unsigned char *p, size_t n) {
    uint32_t t[8][256];
    unsigned i, k;
    for (i = 0; i < 256; i++) {
        uint32_t c = i;
        c = (c >> 4) ^ crc_nibble[c & 15];
        c = (c >> 4) ^ crc_nibble[c & 15];
        t[0][i] = c;
    }
    for (k = 1; k < 8; k++)
        for (i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 255];
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
        crc = t[7][lo & 255] ^ t[6][(lo >> 8) & 255] ^ t[5][(lo >> 16) & 255] ^ t[4][lo >> 24] ^
              t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    }
    while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 255];
    return crc;
}

uint32_t mgx_crc32(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    crc = ~crc;
    if (n >= 65536) return ~crc32_sliced(crc, p, n);
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

uint32_t mgx_adler32(uint32_t adler, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    uint32_t a = adler & 0xffffu, b = adler >> 16;
    while (n > 0) {
        size_t k = n < 5552 ? n : 5552;   /* largest block for which b cannot overflow 32 bits */
        n -= k;
        while (k--) { a += *p++; b += a; }
        a %= 65521u;
        b %= 65521u;
    }
    return (b << 16) | a;
}

/* ---- decoder state ---- */

#define HUF_MAXLEN 15
#define HUF_FAST   9                  /* codes up to this length decode with one table lookup */
#define HUF_MAXSYM 288

/* Canonical Huffman code. fast[] entries are (length << 9) | symbol, 0 when the code is longer than
   HUF_FAST bits or unassigned; count[] and symbol[] (symbols sorted by code) serve the slow path. */
typedef struct {
    uint16_t fast[1 << HUF_FAST];
    uint16_t count[HUF_MAXLEN + 1];
    uint16_t symbol[HUF_MAXSYM];
} huff;

/* Where the decoder stands between calls. */
enum { PH_WRAP_HEAD, PH_BLOCK, PH_STORED, PH_CODES, PH_WRAP_TAIL, PH_DONE };

struct mgx_inflater {
    const unsigned char *in;
    size_t n, pos;            /* input and next unread byte */
    uint64_t bitbuf;          /* unconsumed bits, least significant first; bits above bitcnt are zero */
    unsigned bitcnt;
    unsigned char *out;
    size_t out_n, out_cap, max_out;
    size_t want;              /* stop when out_n reaches it */
    int format, phase, final;
    uint32_t stored_left;     /* PH_STORED: bytes of the stored block still to copy */
    uint32_t copy_len, copy_dist;   /* PH_CODES: the rest of a back-reference cut at `want` */
    size_t member_start;      /* gzip: output offset where the current member began */
    int failed;
    huff lit, dist;
    char *err;
    size_t errsz;
};

typedef struct mgx_inflater inf_state;

static int truncated(inf_state *s) { return mgx_errf(s->err, s->errsz, "deflate: truncated compressed data"); }

/* Loads whole bytes into the bit buffer while there is room and input (8 at a time away from the end). */
static void refill(inf_state *s) {
    if (s->n - s->pos >= 8) {
        const unsigned char *p = s->in + s->pos;
        unsigned take = (63 - s->bitcnt) >> 3;
        uint64_t v = (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24) |
                     ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
        if (!take) return;
        v &= ((uint64_t)1 << (take * 8)) - 1;   /* take <= 7 */
        s->bitbuf |= v << s->bitcnt;
        s->bitcnt += take * 8;
        s->pos += take;
        return;
    }
    while (s->bitcnt <= 56 && s->pos < s->n) {
        s->bitbuf |= (uint64_t)s->in[s->pos++] << s->bitcnt;
        s->bitcnt += 8;
    }
}

/* Reads k (0..32) bits, least significant first. */
static int getbits(inf_state *s, unsigned k, uint32_t *v) {
    if (s->bitcnt < k) refill(s);
    if (s->bitcnt < k) { *v = 0; return truncated(s); }
    *v = (uint32_t)(s->bitbuf & (((uint64_t)1 << k) - 1));
    s->bitbuf >>= k;
    s->bitcnt -= k;
    return 0;
}

/* Drops bits up to the next byte boundary and returns the buffered whole bytes to the input. */
static void align_to_byte(inf_state *s) {
    unsigned drop = s->bitcnt & 7;
    s->bitbuf >>= drop;
    s->bitcnt -= drop;
    s->pos -= s->bitcnt / 8;
    s->bitbuf = 0;
    s->bitcnt = 0;
}

static unsigned reverse_bits(unsigned code, unsigned len) {
    unsigned r = 0;
    while (len--) { r = (r << 1) | (code & 1); code >>= 1; }
    return r;
}

/* Builds a code from lengths[0..nsym). kind: 0 code-length code (must be complete), 1 literal/length,
   2 distance (may also be empty). Returns 0 or -1 with a message. */
static int huff_build(inf_state *s, huff *h, const unsigned char *lengths, int nsym, int kind) {
    uint16_t offs[HUF_MAXLEN + 2], next[HUF_MAXLEN + 1];
    int len, sym, used = 0;
    long left = 1;
    memset(h, 0, sizeof *h);
    for (sym = 0; sym < nsym; sym++) h->count[lengths[sym]]++;
    h->count[0] = 0;
    for (len = 1; len <= HUF_MAXLEN; len++) {
        left = (left << 1) - h->count[len];
        if (left < 0) return mgx_errf(s->err, s->errsz, "deflate: over-subscribed Huffman code");
        used += h->count[len];
    }
    if (left > 0) {
        int single = used == 1 && h->count[1] == 1;
        if (!((kind != 0 && single) || (kind == 2 && used == 0)))
            return mgx_errf(s->err, s->errsz, "deflate: incomplete Huffman code");
    }
    offs[1] = 0;
    for (len = 1; len <= HUF_MAXLEN; len++) offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
    next[0] = 0;
    next[1] = 0;
    for (len = 2; len <= HUF_MAXLEN; len++) next[len] = (uint16_t)((next[len - 1] + h->count[len - 1]) << 1);
    for (sym = 0; sym < nsym; sym++) {
        unsigned l = lengths[sym];
        if (l == 0) continue;
        h->symbol[offs[l]++] = (uint16_t)sym;
        if (l <= HUF_FAST) {
            unsigned j = reverse_bits(next[l], l);
            for (; j < (1u << HUF_FAST); j += 1u << l) h->fast[j] = (uint16_t)((l << 9) | (unsigned)sym);
        }
        next[l]++;
    }
    return 0;
}

/* Decodes one symbol; returns it, or -1 with a message. */
static int huff_decode(inf_state *s, const huff *h) {
    unsigned e, len, avail, code = 0, first = 0, index = 0;
    uint64_t bits;
    if (s->bitcnt < HUF_MAXLEN) refill(s);
    e = h->fast[s->bitbuf & ((1u << HUF_FAST) - 1)];
    if (e) {
        len = e >> 9;
        if (len > s->bitcnt) return truncated(s);
        s->bitbuf >>= len;
        s->bitcnt -= len;
        return (int)(e & 511);
    }
    /* Slow path: walk the canonical code one bit at a time (codes arrive most significant bit first). */
    avail = s->bitcnt < HUF_MAXLEN ? s->bitcnt : HUF_MAXLEN;
    bits = s->bitbuf;
    for (len = 1; len <= avail; len++) {
        unsigned count = h->count[len];
        code |= (unsigned)(bits & 1);
        bits >>= 1;
        if (code - first < count) {
            s->bitbuf >>= len;
            s->bitcnt -= len;
            return (int)h->symbol[index + code - first];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    if (avail < HUF_MAXLEN) return truncated(s);
    return mgx_errf(s->err, s->errsz, "deflate: invalid Huffman code");
}

/* Makes room for k more output bytes within max_out. */
static int out_reserve(inf_state *s, size_t k) {
    size_t need, cap;
    unsigned char *p;
    if (k > s->max_out - s->out_n)
        return mgx_errf(s->err, s->errsz, "deflate: output exceeds the limit of %llu bytes", (unsigned long long)s->max_out);
    need = s->out_n + k;
    if (need <= s->out_cap) return 0;
    cap = s->out_cap ? s->out_cap : 4096;
    while (cap < need) cap = cap > s->max_out / 2 ? s->max_out : cap * 2;
    if (s->want < s->max_out - 65536 && cap > s->want + 65536)
        cap = s->want + 65536;                 /* a known target: no doubling far past it */
    if (cap > s->max_out) cap = s->max_out;   /* the fast path relies on out_cap <= max_out */
    if (cap < need) cap = need;
    p = (unsigned char *)MGX_REALLOC(s->out, cap);
    if (!p) return mgx_errf(s->err, s->errsz, "deflate: out of memory (%llu bytes)", (unsigned long long)cap);
    s->out = p;
    s->out_cap = cap;
    return 0;
}

/* Copies len bytes from dist bytes back to the end of the output (room reserved): memcpy when the ranges do
   not overlap, else a fill that doubles the repeated run with each copy. */
static void copy_match(inf_state *s, size_t dist, size_t len) {
    unsigned char *d = s->out + s->out_n;
    const unsigned char *from = d - dist;
    s->out_n += len;
    if (dist >= len) {
        if (len <= 16) while (len--) *d++ = *from++;
        else memcpy(d, from, len);
        return;
    }
    if (dist == 1) { memset(d, *from, len); return; }
    while (len > 0) {
        size_t k = (size_t)(d - from);   /* a whole number of periods is behind d */
        if (k > len) k = len;
        memcpy(d, from, k);
        d += k;
        len -= k;
    }
}

/* ---- blocks ---- */

/* Lengths 257..285 and distances 0..29 (RFC 1951 3.2.5): base value and extra bits; the PNG writer codes with them. */
const uint16_t mgx_deflate_len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                           35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
const unsigned char mgx_deflate_len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                                 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
const uint16_t mgx_deflate_dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                            513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
const unsigned char mgx_deflate_dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                                  8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* The end of a block: the next block, or the end of the deflate stream. */
static void block_done(inf_state *s) {
    if (!s->final) { s->phase = PH_BLOCK; return; }
    align_to_byte(s);
    s->phase = PH_WRAP_TAIL;
}

static int stored_start(inf_state *s) {
    uint32_t len, nlen;
    align_to_byte(s);
    if (s->n - s->pos < 4) return truncated(s);
    len = (uint32_t)s->in[s->pos] | ((uint32_t)s->in[s->pos + 1] << 8);
    nlen = (uint32_t)s->in[s->pos + 2] | ((uint32_t)s->in[s->pos + 3] << 8);
    s->pos += 4;
    if ((len ^ 0xffffu) != nlen) return mgx_errf(s->err, s->errsz, "deflate: stored block length check failed");
    if (s->n - s->pos < len) return truncated(s);
    s->stored_left = len;
    s->phase = PH_STORED;
    return 0;
}

static int stored_copy(inf_state *s) {
    size_t k = s->stored_left;
    if (k > s->want - s->out_n) k = s->want - s->out_n;
    if (k) {   /* out is still NULL before the first byte */
        if (out_reserve(s, k)) return -1;
        memcpy(s->out + s->out_n, s->in + s->pos, k);
        s->out_n += k;
        s->pos += k;
    }
    s->stored_left -= (uint32_t)k;
    if (!s->stored_left) block_done(s);
    return 0;
}

/* Copies as much of a back-reference as `want` allows and keeps the rest for the next call. */
static int emit_match(inf_state *s, uint32_t length, uint32_t distance) {
    size_t k = length;
    if (k > s->want - s->out_n) k = s->want - s->out_n;
    if (out_reserve(s, k)) return -1;
    copy_match(s, distance, k);
    s->copy_len = length - (uint32_t)k;
    s->copy_dist = distance;
    return 0;
}

/* One symbol whose code is in the fast table, from a buffer holding at least 15 bits; -1 when the code is longer. */
static int fast_symbol(inf_state *s, const huff *h) {
    unsigned e = h->fast[s->bitbuf & ((1u << HUF_FAST) - 1)];
    if (!e) return -1;
    s->bitbuf >>= e >> 9;
    s->bitcnt -= e >> 9;
    return (int)(e & 511);
}

/* The bulk of a block: while 8 input bytes remain and room for the longest match is reserved below `want`,
   one refill to at least 56 bits covers a whole literal/length + distance pair, so no symbol needs a check.
   Leaves literal/length codes longer than HUF_FAST bits and the last bytes to codes_run. */
static int codes_fast(inf_state *s) {
    size_t room = (s->want < s->out_cap ? s->want : s->out_cap);
    while (room - s->out_n >= 258 && s->n - s->pos >= 8) {
        int sym, dsym;
        uint32_t length, distance;
        refill(s);
        if ((sym = fast_symbol(s, &s->lit)) < 0) return 0;
        if (sym == 256) { block_done(s); return 0; }
        if (sym < 256) { s->out[s->out_n++] = (unsigned char)sym; continue; }
        sym -= 257;
        if (sym >= 29) return mgx_errf(s->err, s->errsz, "deflate: invalid length symbol %d", sym + 257);
        length = mgx_deflate_len_base[sym] + (uint32_t)(s->bitbuf & ((1u << mgx_deflate_len_extra[sym]) - 1));
        s->bitbuf >>= mgx_deflate_len_extra[sym];
        s->bitcnt -= mgx_deflate_len_extra[sym];
        if ((dsym = fast_symbol(s, &s->dist)) < 0) dsym = huff_decode(s, &s->dist);
        if (dsym < 0) return -1;
        if (dsym >= 30) return mgx_errf(s->err, s->errsz, "deflate: invalid distance symbol %d", dsym);
        distance = mgx_deflate_dist_base[dsym] + (uint32_t)(s->bitbuf & ((1u << mgx_deflate_dist_extra[dsym]) - 1));
        s->bitbuf >>= mgx_deflate_dist_extra[dsym];
        s->bitcnt -= mgx_deflate_dist_extra[dsym];
        if (distance > s->out_n)
            return mgx_errf(s->err, s->errsz, "deflate: back-reference %lu bytes before the start of the output",
                            (unsigned long)distance);
        copy_match(s, distance, length);
    }
    return 0;
}

/* Decodes literal/length and distance symbols until end-of-block or until `want` bytes exist. */
static int codes_run(inf_state *s) {
    if (s->copy_len && emit_match(s, s->copy_len, s->copy_dist)) return -1;
    while (s->out_n < s->want) {
        if (s->want - s->out_n >= 258 && s->out_cap - s->out_n < 258 && s->max_out - s->out_n >= 258 &&
            out_reserve(s, 258))
            return -1;
        if (codes_fast(s)) return -1;
        if (s->phase != PH_CODES || s->out_n >= s->want) return 0;
        int sym = huff_decode(s, &s->lit);
        uint32_t extra, length, distance;
        int dsym;
        if (sym < 0) return -1;
        if (sym < 256) {
            if (s->out_n == s->out_cap && out_reserve(s, 1)) return -1;
            s->out[s->out_n++] = (unsigned char)sym;
            continue;
        }
        if (sym == 256) { block_done(s); return 0; }
        sym -= 257;
        if (sym >= 29) return mgx_errf(s->err, s->errsz, "deflate: invalid length symbol %d", sym + 257);
        if (getbits(s, mgx_deflate_len_extra[sym], &extra)) return -1;
        length = mgx_deflate_len_base[sym] + extra;
        dsym = huff_decode(s, &s->dist);
        if (dsym < 0) return -1;
        if (dsym >= 30) return mgx_errf(s->err, s->errsz, "deflate: invalid distance symbol %d", dsym);
        if (getbits(s, mgx_deflate_dist_extra[dsym], &extra)) return -1;
        distance = mgx_deflate_dist_base[dsym] + extra;
        if (distance > s->out_n)
            return mgx_errf(s->err, s->errsz, "deflate: back-reference %lu bytes before the start of the output",
                            (unsigned long)distance);
        if (emit_match(s, length, distance)) return -1;
    }
    return 0;
}

static int fixed_tables(inf_state *s) {
    unsigned char lengths[HUF_MAXSYM];
    int i;
    for (i = 0; i < 144; i++) lengths[i] = 8;
    for (; i < 256; i++) lengths[i] = 9;
    for (; i < 280; i++) lengths[i] = 7;
    for (; i < 288; i++) lengths[i] = 8;
    if (huff_build(s, &s->lit, lengths, 288, 1)) return -1;
    for (i = 0; i < 32; i++) lengths[i] = 5;
    return huff_build(s, &s->dist, lengths, 32, 2);
}

/* Reads the HLIT + HDIST code lengths run-length coded with the code-length code. */
static int read_code_lengths(inf_state *s, const huff *clc, unsigned char *lengths, int total) {
    int i = 0;
    while (i < total) {
        int sym = huff_decode(s, clc);
        uint32_t rep;
        unsigned char val = 0;
        if (sym < 0) return -1;
        if (sym < 16) { lengths[i++] = (unsigned char)sym; continue; }
        if (sym == 16) {
            if (i == 0) return mgx_errf(s->err, s->errsz, "deflate: repeat code with no previous length");
            val = lengths[i - 1];
            if (getbits(s, 2, &rep)) return -1;
            rep += 3;
        } else if (sym == 17) {
            if (getbits(s, 3, &rep)) return -1;
            rep += 3;
        } else {
            if (getbits(s, 7, &rep)) return -1;
            rep += 11;
        }
        if (rep > (uint32_t)(total - i)) return mgx_errf(s->err, s->errsz, "deflate: code lengths overflow the table");
        while (rep--) lengths[i++] = val;
    }
    return 0;
}

static int dynamic_tables(inf_state *s) {
    static const unsigned char order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    unsigned char lengths[HUF_MAXSYM + 32];
    uint32_t hlit, hdist, hclen, v;
    unsigned i;
    if (getbits(s, 5, &hlit) || getbits(s, 5, &hdist) || getbits(s, 4, &hclen)) return -1;
    hlit += 257;
    hdist += 1;
    hclen += 4;
    if (hlit > 286 || hdist > 30)
        return mgx_errf(s->err, s->errsz, "deflate: too many length or distance symbols (%u, %u)",
                        (unsigned)hlit, (unsigned)hdist);
    memset(lengths, 0, sizeof lengths);
    for (i = 0; i < hclen; i++) {
        if (getbits(s, 3, &v)) return -1;
        lengths[order[i]] = (unsigned char)v;
    }
    if (huff_build(s, &s->lit, lengths, 19, 0)) return -1;   /* lit used as scratch for the code-length code */
    memset(lengths, 0, sizeof lengths);
    if (read_code_lengths(s, &s->lit, lengths, (int)(hlit + hdist))) return -1;
    if (lengths[256] == 0) return mgx_errf(s->err, s->errsz, "deflate: no end-of-block code");
    if (huff_build(s, &s->lit, lengths, (int)hlit, 1)) return -1;
    return huff_build(s, &s->dist, lengths + hlit, (int)hdist, 2);
}

/* Reads a block header and what follows it up to the block's data. */
static int block_start(inf_state *s) {
    uint32_t final, type;
    if (getbits(s, 1, &final) || getbits(s, 2, &type)) return -1;
    s->final = (int)final;
    if (type == 0) return stored_start(s);
    if (type == 3) return mgx_errf(s->err, s->errsz, "deflate: invalid block type 3");
    if (type == 1 ? fixed_tables(s) : dynamic_tables(s)) return -1;
    s->copy_len = 0;
    s->phase = PH_CODES;
    return 0;
}

/* ---- wrappers ---- */

static int zlib_header_ok(const unsigned char *p, size_t n) {
    return n >= 2 && (p[0] & 15) == 8 && (p[0] >> 4) <= 7 && ((unsigned)p[0] * 256u + p[1]) % 31u == 0;
}

static uint32_t get_be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint32_t get_le32(const unsigned char *p) {
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

static int zlib_header(inf_state *s) {
    if (s->n < 2) return truncated(s);
    if (!zlib_header_ok(s->in, s->n)) return mgx_errf(s->err, s->errsz, "zlib: invalid stream header");
    if (s->in[1] & 0x20) return mgx_errf(s->err, s->errsz, "zlib: preset dictionary not supported");
    s->pos = 2;
    return 0;
}

static int zlib_trailer(inf_state *s) {
    if (s->n - s->pos < 4) return mgx_errf(s->err, s->errsz, "zlib: truncated (missing Adler-32)");
    if (get_be32(s->in + s->pos) != mgx_adler32(1, s->out, s->out_n))
        return mgx_errf(s->err, s->errsz, "zlib: Adler-32 checksum mismatch");
    s->pos += 4;
    s->phase = PH_DONE;
    return 0;
}

/* Skips a zero-terminated header field; returns 0 or -1. */
static int skip_cstring(inf_state *s) {
    while (s->pos < s->n && s->in[s->pos] != 0) s->pos++;
    if (s->pos >= s->n) return mgx_errf(s->err, s->errsz, "gzip: truncated header");
    s->pos++;
    return 0;
}

/* Parses one gzip member header at s->pos. */
static int gzip_header(inf_state *s) {
    size_t start = s->pos;
    unsigned flg;
    if (s->n - s->pos < 10) return mgx_errf(s->err, s->errsz, "gzip: truncated header");
    if (s->in[s->pos] != 0x1f || s->in[s->pos + 1] != 0x8b) return mgx_errf(s->err, s->errsz, "gzip: bad magic");
    if (s->in[s->pos + 2] != 8) return mgx_errf(s->err, s->errsz, "gzip: unknown compression method %u", s->in[s->pos + 2]);
    flg = s->in[s->pos + 3];
    if (flg & 0xe0) return mgx_errf(s->err, s->errsz, "gzip: reserved header flags set");
    s->pos += 10;
    if (flg & 4) {   /* FEXTRA */
        size_t xlen;
        if (s->n - s->pos < 2) return mgx_errf(s->err, s->errsz, "gzip: truncated header");
        xlen = (size_t)s->in[s->pos] | ((size_t)s->in[s->pos + 1] << 8);
        s->pos += 2;
        if (s->n - s->pos < xlen) return mgx_errf(s->err, s->errsz, "gzip: truncated header");
        s->pos += xlen;
    }
    if ((flg & 8) && skip_cstring(s)) return -1;    /* FNAME */
    if ((flg & 16) && skip_cstring(s)) return -1;   /* FCOMMENT */
    if (flg & 2) {   /* FHCRC: low 16 bits of the CRC-32 of the header so far */
        uint32_t want;
        if (s->n - s->pos < 2) return mgx_errf(s->err, s->errsz, "gzip: truncated header");
        want = (uint32_t)s->in[s->pos] | ((uint32_t)s->in[s->pos + 1] << 8);
        if ((mgx_crc32(0, s->in + start, s->pos - start) & 0xffffu) != want)
            return mgx_errf(s->err, s->errsz, "gzip: header CRC mismatch");
        s->pos += 2;
    }
    s->member_start = s->out_n;
    return 0;
}

/* Checks one member's trailer; another member may follow, then only zero padding. */
static int gzip_trailer(inf_state *s) {
    size_t m = s->member_start;
    if (s->n - s->pos < 8) return mgx_errf(s->err, s->errsz, "gzip: truncated (missing CRC-32/ISIZE trailer)");
    /* s->out is still NULL when every member so far was empty (no pointer arithmetic on NULL) */
    if (get_le32(s->in + s->pos) != mgx_crc32(0, s->out ? s->out + m : s->out, s->out_n - m))
        return mgx_errf(s->err, s->errsz, "gzip: CRC-32 mismatch");
    if (get_le32(s->in + s->pos + 4) != (uint32_t)(s->out_n - m))
        return mgx_errf(s->err, s->errsz, "gzip: length (ISIZE) mismatch");
    s->pos += 8;
    if (s->n - s->pos >= 2 && s->in[s->pos] == 0x1f && s->in[s->pos + 1] == 0x8b) {
        s->phase = PH_WRAP_HEAD;
        return 0;
    }
    while (s->pos < s->n && s->in[s->pos] == 0) s->pos++;   /* zero padding (e.g. tape blocks) */
    if (s->pos < s->n) return mgx_errf(s->err, s->errsz, "gzip: trailing garbage after the last member");
    s->phase = PH_DONE;
    return 0;
}

/* One step of the state machine. Trailing bytes after a raw or zlib stream are ignored. */
static int step(inf_state *s) {
    switch (s->phase) {
    case PH_WRAP_HEAD:
        if (s->format == MGX_INFLATE_ZLIB ? zlib_header(s) : s->format == MGX_INFLATE_GZIP ? gzip_header(s) : 0) return -1;
        s->bitbuf = 0;
        s->bitcnt = 0;
        s->phase = PH_BLOCK;
        return 0;
    case PH_BLOCK: return block_start(s);
    case PH_STORED: return stored_copy(s);
    case PH_CODES: return codes_run(s);
    case PH_WRAP_TAIL:
        if (s->format == MGX_INFLATE_ZLIB) return zlib_trailer(s);
        if (s->format == MGX_INFLATE_GZIP) return gzip_trailer(s);
        s->phase = PH_DONE;
        return 0;
    default: return 0;
    }
}

mgx_inflater *mgx_inflate_begin(const void *src, size_t n, int format, size_t max_out, char *err, size_t errsz) {
    inf_state *s;
    const unsigned char *in = (const unsigned char *)src;
    if (!src && n) { mgx_errf(err, errsz, "inflate: invalid arguments"); return NULL; }
    if (format == MGX_INFLATE_AUTO) {
        if (n >= 2 && in[0] == 0x1f && in[1] == 0x8b) format = MGX_INFLATE_GZIP;
        else if (zlib_header_ok(in, n) && !(in[1] & 0x20)) format = MGX_INFLATE_ZLIB;
        else format = MGX_INFLATE_RAW;
    }
    if (format < MGX_INFLATE_RAW || format > MGX_INFLATE_GZIP) {
        mgx_errf(err, errsz, "inflate: unknown format %d", format);
        return NULL;
    }
    s = (inf_state *)MGX_MALLOC(sizeof *s);
    if (!s) { mgx_errf(err, errsz, "inflate: out of memory"); return NULL; }
    memset(s, 0, sizeof *s);
    s->in = in;
    s->n = n;
    s->max_out = max_out ? max_out : MGX_MAX_INFLATE_OUT;
    s->format = format;
    s->phase = PH_WRAP_HEAD;
    return s;
}

int mgx_inflate_more(mgx_inflater *s, size_t want, char *err, size_t errsz) {
    size_t before;
    if (!s) return mgx_errf(err, errsz, "inflate: no inflater");
    if (s->failed) return mgx_errf(err, errsz, "inflate: the stream already failed");
    s->err = err;
    s->errsz = errsz;
    s->want = want;
    before = s->out_n;
    while (s->phase != PH_DONE && s->out_n < want)
        if (step(s)) { s->failed = 1; break; }
    MGX_COUNT(MGX_COUNT_INFLATED, s->out_n - before);
    return s->failed ? -1 : 0;
}

const unsigned char *mgx_inflate_data(const mgx_inflater *s, size_t *n, int *done) {
    if (n) *n = s ? s->out_n : 0;
    if (done) *done = s ? s->phase == PH_DONE : 0;
    return s ? s->out : NULL;
}

unsigned char *mgx_inflate_take(mgx_inflater *s, size_t *n) {
    unsigned char *p;
    if (n) *n = 0;
    if (!s) return NULL;
    if (!s->out) s->out = (unsigned char *)MGX_MALLOC(1);   /* empty output: still a valid buffer */
    p = s->out;
    if (n && p) *n = s->out_n;
    s->out = NULL;
    s->out_n = s->out_cap = 0;
    return p;
}

void mgx_inflate_end(mgx_inflater *s) {
    if (!s) return;
    MGX_FREE(s->out);
    MGX_FREE(s);
}

int mgx_inflate(const void *src, size_t n, int format, size_t max_out, unsigned char **out, size_t *out_n,
                char *err, size_t errsz) {
    mgx_inflater *s;
    if (out) *out = NULL;
    if (out_n) *out_n = 0;
    if (!out || !out_n || (!src && n)) return mgx_errf(err, errsz, "inflate: invalid arguments");
    if (!(s = mgx_inflate_begin(src, n, format, max_out, err, errsz))) return -1;
    if (mgx_inflate_more(s, (size_t)-1, err, errsz)) {
        mgx_inflate_end(s);
        return -1;
    }
    *out = mgx_inflate_take(s, out_n);
    mgx_inflate_end(s);
    if (!*out) return mgx_errf(err, errsz, "inflate: out of memory");
    return 0;
}
