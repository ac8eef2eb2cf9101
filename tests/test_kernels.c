/* Quantized matrix kernels (every quantized weight type: Q4_K, Q6_K, Q8_0, Q2_K, Q3_K, Q5_K, IQ4_XS, Q4_0, Q4_1,
   IQ4_NL) against a reference written here from the block layouts:
   exact integer block sums combined block after block with the same float expression, so every result must be
   bit-identical, whatever the number of rows, tokens (1..131, across the 128-token blocks) and threads (1, 2, 3),
   and whether the matrices run alone or fused into one job; the build's single-row dot product (AVX2 or NEON)
   and the scalar reference are checked the same way. The weights are random bytes (any scale, any quant, Q8_0
   -128 included) and quantized random rows; a double-precision dot product of the dequantized values checks
   the reference itself. The internals are reached by compiling the implementation statically. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define MEDGEMMA_STATIC
#define MEDGEMMA_IMPLEMENTATION
#include "medgemma.h"
#define MG_GGUF_WRITE_STATIC
#define MG_GGUF_WRITE_IMPLEMENTATION
#include "tools/gguf_write.h"
#include "mgtest.h"
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float rndf(void) { return (float)((int)(rnd() % 20001) - 10000) / 10000.0f; }
static uint16_t rnd_scale(void) { return mg__f2h((0.5f + (float)(rnd() % 1000) / 1000.0f) * 0.01f); }

/* ----- reference dot products, one weight row x one converted activation row ----- */
static float ref_q8_0(const uint8_t *w, const uint8_t *x, int64_t n) {
    float s = 0;
    int64_t b;
    int i;
    for (b = 0; b < n / 32; b++, w += 34, x += 34) {
        int32_t sumi = 0;
        for (i = 0; i < 32; i++) sumi += (int8_t)w[2 + i] * (int8_t)x[2 + i];
        s += (float)sumi * (mg__h2f((uint16_t)(w[0] | w[1] << 8)) * mg__h2f((uint16_t)(x[0] | x[1] << 8)));
    }
    return s;
}
/* Q8_K activation block: float d, 256 int8 (the bsums are not used here) */
static float q8k_d(const uint8_t *x) { float d; memcpy(&d, x, 4); return d; }
static float h16(const uint8_t *p) { return mg__h2f((uint16_t)(p[0] | p[1] << 8)); }
/* Q4_K (144 bytes: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes) and Q5_K (176 bytes: the same with 32 bytes of
   fifth bits before the nibbles; bit j of byte l for weight l of sub-block j) x Q8_K */
static float ref_k4(const uint8_t *w, const uint8_t *x, int64_t n, int q5) {
    const int bb = q5 ? 176 : 144;
    float s = 0;
    int64_t b;
    int j, l;
    for (b = 0; b < n / 256; b++, w += bb, x += 292) {
        const uint8_t *sc = w + 4, *qh = w + 16, *qs = w + (q5 ? 48 : 16);
        const int8_t *a = (const int8_t *)(x + 4);
        int32_t sumi = 0, summ = 0;
        for (j = 0; j < 8; j++) {                  /* sub-block j: 6-bit scale and min, 32 nibbles */
            int scale = j < 4 ? sc[j] & 63 : (sc[j + 4] & 15) | (sc[j - 4] >> 6) << 4;
            int min = j < 4 ? sc[j + 4] & 63 : (sc[j + 4] >> 4) | (sc[j] >> 6) << 4;
            int32_t dot = 0, sum = 0;
            for (l = 0; l < 32; l++) {
                int q = (j & 1) ? qs[32 * (j / 2) + l] >> 4 : qs[32 * (j / 2) + l] & 15;
                if (q5) q |= (qh[l] >> j & 1) << 4;
                dot += q * a[32 * j + l];
                sum += a[32 * j + l];
            }
            sumi += scale * dot;
            summ += min * sum;
        }
        s += h16(w) * q8k_d(x) * (float)sumi - h16(w + 2) * q8k_d(x) * (float)summ;
    }
    return s;
}
static float ref_q6_k(const uint8_t *w, const uint8_t *x, int64_t n) {
    float s = 0;
    int64_t b;
    int i;
    for (b = 0; b < n / 256; b++, w += 210, x += 292) {
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *sc = (const int8_t *)(w + 192), *a = (const int8_t *)(x + 4);
        int32_t sumi = 0;
        for (i = 0; i < 256; i++) {                /* weight i: half h, quarter k (0..3), position l */
            int h = i / 128, k = (i % 128) / 32, l = i % 32;
            int lo = ql[64 * h + 32 * (k & 1) + l] >> (4 * (k >> 1)) & 15, hi = qh[32 * h + l] >> (2 * k) & 3;
            sumi += sc[i / 16] * ((lo | hi << 4) - 32) * a[i];
        }
        s += mg__h2f((uint16_t)(w[208] | w[209] << 8)) * q8k_d(x) * (float)sumi;
    }
    return s;
}
static const int8_t grid[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };
/* Q4_0 / IQ4_NL (18-byte blocks: f16 d, 16 nibble bytes, weight l low nibble of byte l, l+16 high) x Q8_0 */
static float ref_q4_0(const uint8_t *w, const uint8_t *x, int64_t n, int nl) {
    float s = 0;
    int64_t b;
    int l;
    for (b = 0; b < n / 32; b++, w += 18, x += 34) {
        int32_t sumi = 0;
        for (l = 0; l < 32; l++) {
            int q = l < 16 ? w[2 + l] & 15 : w[2 + l - 16] >> 4;
            sumi += (nl ? grid[q] : q - 8) * (int8_t)x[2 + l];
        }
        s += (float)sumi * (h16(w) * h16(x));
    }
    return s;
}
/* Q4_1 (20 bytes: f16 d, f16 m, nibbles) x Q8_1 (36 bytes: f16 d, f16 s = d sum q, int8 q) */
static float ref_q4_1(const uint8_t *w, const uint8_t *x, int64_t n) {
    float s = 0;
    int64_t b;
    int l;
    for (b = 0; b < n / 32; b++, w += 20, x += 36) {
        int32_t sumi = 0;
        for (l = 0; l < 32; l++) sumi += (l < 16 ? w[4 + l] & 15 : w[4 + l - 16] >> 4) * (int8_t)x[4 + l];
        s += (float)sumi * (h16(w) * h16(x)) + h16(w + 2) * h16(x + 2);
    }
    return s;
}
/* IQ4_XS (136 bytes: f16 d, u16 high scale bits, 4 bytes low scale nibbles, 8 x 16 nibble bytes) x Q8_K */
static float ref_iq4_xs(const uint8_t *w, const uint8_t *x, int64_t n) {
    float s = 0;
    int64_t b;
    int j, l;
    for (b = 0; b < n / 256; b++, w += 136, x += 292) {
        const int8_t *a = (const int8_t *)(x + 4);
        int32_t sumi = 0;
        for (j = 0; j < 8; j++) {
            int ls = (w[4 + j / 2] >> (4 * (j % 2)) & 15) | ((w[2] | w[3] << 8) >> (2 * j) & 3) << 4, dot = 0;
            for (l = 0; l < 32; l++) dot += grid[l < 16 ? w[8 + 16 * j + l] & 15 : w[8 + 16 * j + l - 16] >> 4] * a[32 * j + l];
            sumi += (ls - 32) * dot;
        }
        s += h16(w) * q8k_d(x) * (float)sumi;
    }
    return s;
}
/* Q2_K (84 bytes: 16 scale|min bytes, 64 bytes of 2-bit quants, f16 d, f16 dmin) x Q8_K; weight i = 128h + 32k + l
   has bits 2k of byte 32h + l */
static float ref_q2_k(const uint8_t *w, const uint8_t *x, int64_t n) {
    float s = 0;
    int64_t b;
    int i;
    for (b = 0; b < n / 256; b++, w += 84, x += 292) {
        const int8_t *a = (const int8_t *)(x + 4);
        int32_t sumi = 0, summ = 0;
        for (i = 0; i < 256; i++) {
            int q = w[16 + 32 * (i / 128) + i % 32] >> (2 * (i % 128 / 32)) & 3;
            sumi += (w[i / 16] & 15) * q * a[i];
            summ += (w[i / 16] >> 4) * a[i];
        }
        s += h16(w + 80) * q8k_d(x) * (float)sumi - h16(w + 82) * q8k_d(x) * (float)summ;
    }
    return s;
}
/* Q3_K (110 bytes: 32 high-bit bytes, 64 bytes of 2-bit quants, 12 scale bytes, f16 d) x Q8_K: quant = 2 bits +
   4 high bit - 4, the high bit of weight i at bit i/32 of byte i%32; 6-bit scales minus 32 */
static float ref_q3_k(const uint8_t *w, const uint8_t *x, int64_t n) {
    float s = 0;
    int64_t b;
    int i;
    for (b = 0; b < n / 256; b++, w += 110, x += 292) {
        const int8_t *a = (const int8_t *)(x + 4);
        const uint8_t *sc = w + 96;
        int32_t sumi = 0;
        for (i = 0; i < 256; i++) {
            int g = i / 16, q = (w[32 + 32 * (i / 128) + i % 32] >> (2 * (i % 128 / 32)) & 3) + 4 * (w[i % 32] >> (i / 32) & 1) - 4;
            int scale = ((g < 8 ? sc[g] & 15 : sc[g - 8] >> 4) | (sc[8 + g % 4] >> (2 * (g / 4)) & 3) << 4) - 32;
            sumi += scale * q * a[i];
        }
        s += h16(w + 108) * q8k_d(x) * (float)sumi;
    }
    return s;
}
static float ref_dot(int type, const uint8_t *w, const uint8_t *x, int64_t n) {
    switch (type) {
    case MG_TYPE_Q4_K: return ref_k4(w, x, n, 0);
    case MG_TYPE_Q6_K: return ref_q6_k(w, x, n);
    case MG_TYPE_Q5_K: return ref_k4(w, x, n, 1);
    case MG_TYPE_Q3_K: return ref_q3_k(w, x, n);
    case MG_TYPE_Q2_K: return ref_q2_k(w, x, n);
    case MG_TYPE_IQ4_XS: return ref_iq4_xs(w, x, n);
    case MG_TYPE_Q4_0: return ref_q4_0(w, x, n, 0);
    case MG_TYPE_IQ4_NL: return ref_q4_0(w, x, n, 1);
    case MG_TYPE_Q4_1: return ref_q4_1(w, x, n);
    default: return ref_q8_0(w, x, n);
    }
}

/* Where a block keeps its f16 scale and f16 min scale (-1: none) */
static void scale_at(int type, int *d, int *dmin) {
    *dmin = -1;
    switch (type) {
    case MG_TYPE_Q6_K: *d = 208; break;
    case MG_TYPE_Q3_K: *d = 108; break;
    case MG_TYPE_Q2_K: *d = 80; *dmin = 82; break;
    case MG_TYPE_Q4_K: case MG_TYPE_Q5_K: case MG_TYPE_Q4_1: *d = 0; *dmin = 2; break;
    default: *d = 0; break;
    }
}
/* n_out random rows of type: half random bytes (sane f16 scales), half quantized random floats (random bytes
   where the writer has no quantizer for the type) */
static uint8_t *make_weights(int type, int64_t n_in, int n_out) {
    size_t rb = mg_type_row_size(type, n_in), k;
    uint8_t *w = (uint8_t *)malloc(rb * (size_t)n_out);
    float *f = (float *)malloc((size_t)n_in * sizeof(float));
    int r, i, blk = 1, bytes = 0, at, atm;
    int64_t b;
    mg__type_geom(type, &blk, &bytes);
    scale_at(type, &at, &atm);
    for (r = 0; r < n_out; r++) {
        uint8_t *row = w + (size_t)r * rb;
        if (r % 2) {
            for (i = 0; i < n_in; i++) f[i] = rndf() * (float)(1 + rnd() % 4);
            if (mg_quantize(type, f, row, 1, n_in) == MG_OK) continue;
        }
        for (k = 0; k < rb; k++) row[k] = (uint8_t)rnd();
        for (b = 0; b < n_in / blk; b++) {
            uint16_t d = rnd_scale(), dm = rnd_scale();
            uint8_t *p = row + (size_t)b * (size_t)bytes;
            p[at] = (uint8_t)d; p[at + 1] = (uint8_t)(d >> 8);
            if (atm >= 0) { p[atm] = (uint8_t)dm; p[atm + 1] = (uint8_t)(dm >> 8); }
        }
    }
    free(f);
    return w;
}
/* n_tok activation rows (each with its own magnitude, one with a single extreme) converted for type */
static uint8_t *make_acts(int type, int64_t n_in, int n_tok, size_t *stride) {
    float *f = (float *)malloc((size_t)n_in * sizeof(float));
    uint8_t *x;
    int t, i;
    *stride = mg__act_row_bytes(type, n_in);
    x = (uint8_t *)malloc(*stride * (size_t)n_tok);
    for (t = 0; t < n_tok; t++) {
        float mag = (float)(1 + rnd() % 100) / 10.0f;
        for (i = 0; i < n_in; i++) f[i] = rndf() * mag;
        if (t % 5 == 3) f[rnd() % n_in] = -50.0f * mag;
        mg__quant_act(type, f, x + (size_t)t * *stride, n_in);
    }
    free(f);
    return x;
}

static int bits_equal(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The reference against a double-precision dot product of the dequantized weights and activations. */
static void check_reference(int type, int64_t n_in) {
    uint8_t *w = make_weights(type, n_in, 4), *x;
    size_t xs, rb = mg_type_row_size(type, n_in);
    float *wf = (float *)malloc((size_t)n_in * sizeof(float)), worst = 0;
    int r;
    int64_t i;
    x = make_acts(type, n_in, 1, &xs);
    for (r = 0; r < 4; r++) {
        double dot = 0, mag = 0, msum = 0;
        float got = ref_dot(type, w + (size_t)r * rb, x, n_in), err;
        mg__dequant_row(type, w + (size_t)r * rb, wf, n_in);
        for (i = 0; i < n_in; i++) {
            const int act = mg__act_type(type);
            double xv = act == MG_TYPE_Q8_0 ? (double)h16(x + 34 * (i / 32)) * (int8_t)x[34 * (i / 32) + 2 + i % 32]
                      : act == MG_TYPE_Q8_1 ? (double)h16(x + 36 * (i / 32)) * (int8_t)x[36 * (i / 32) + 4 + i % 32]
                      : (double)q8k_d(x + 292 * (i / 256)) * (int8_t)x[292 * (i / 256) + 4 + i % 256];
            double wv = wf[i];
            if (act == MG_TYPE_Q8_1) {   /* Q4_1's min term uses the activation's stored sum s (f16), not d sum q */
                const uint8_t *wb = w + (size_t)r * rb + 20 * (i / 32);
                wv -= h16(wb + 2);
                if (i % 32 == 0) msum += (double)h16(wb + 2) * h16(x + 36 * (i / 32) + 2);
            }
            dot += wv * xv;
            mag += fabs(wv * xv);
        }
        dot += msum;
        mag += fabs(msum);
        err = (float)(fabs(dot - got) / (mag + 1e-30));
        worst = err > worst ? err : worst;
    }
    CHECK(worst < 1e-5f, "type %d n_in %d: reference vs double dequantized dot, worst relative error %g", type, (int)n_in, worst);
    free(w); free(x); free(wf);
}

/* Q8_K conversion of an activation row against ggml's quantize_row_q8_K written here: the first value of the
   largest magnitude maps to -127, q = min(127, round_even(x * -127 / max)), bsums = sums of 16. Blocks: random,
   +-m ties (the first one wins), all zero, a single extreme, a NaN among the values. */
static void check_quant_q8_k(void) {
    const int64_t n = 256 * 5;
    float *x = (float *)malloc((size_t)n * sizeof(float));
    mg__block_q8_k *y = (mg__block_q8_k *)malloc(sizeof(mg__block_q8_k) * 5);
    int64_t i;
    int b, j, bad = 0;
    for (i = 0; i < n; i++) x[i] = rndf() * 3.0f;
    x[17] = -4.0f; x[200] = 4.0f;                  /* block 0: tie, -4 first */
    x[256 + 3] = 4.0f; x[256 + 90] = -4.0f;        /* block 1: tie, +4 first */
    for (i = 512; i < 768; i++) x[i] = 0.0f;       /* block 2: zero */
    x[768 + 255] = -1000.0f;                       /* block 3: one extreme */
    x[1024 + 7] = NAN;                             /* block 4: NaN (never the maximum) */
    mg__quant_row(MG_TYPE_Q4_K, x, y, n);
    for (b = 0; b < 5; b++) {
        const float *xb = x + 256 * b;
        float amax = 0, max = 0, iscale;
        int8_t q[256];
        if (b == 2) { bad += y[b].d != 0.0f; for (j = 0; j < 256; j++) bad += y[b].qs[j] != 0; continue; }
        for (j = 0; j < 256; j++) if (fabsf(xb[j]) > amax) { amax = fabsf(xb[j]); max = xb[j]; }
        iscale = -127.0f / max;
        for (j = 0; j < 256; j++) {
            float t = iscale * xb[j] + 12582912.0f;
            int32_t v;
            memcpy(&v, &t, 4);
            v = (v & 0x007fffff) - 0x00400000;
            q[j] = (int8_t)(v < 127 ? v : 127);
            bad += y[b].qs[j] != q[j];
        }
        for (j = 0; j < 16; j++) {
            int k, s = 0;
            for (k = 0; k < 16; k++) s += q[16 * j + k];
            bad += y[b].bsums[j] != s;
        }
        bad += !bits_equal(y[b].d, 1.0f / iscale);
    }
    CHECK(bad == 0, "Q8_K conversion: %d values differ from the reference", bad);
    CHECK(y[0].qs[17] == -127 && y[0].qs[200] == 127 && y[1].qs[3] == -127 && y[1].qs[90] == 127,
          "Q8_K: the first extreme maps to -127 (%d %d, %d %d)", y[0].qs[17], y[0].qs[200], y[1].qs[3], y[1].qs[90]);
    free(x); free(y);
}

/* Q8_1 conversion against ggml's AVX rounding written here: d = max|x| / 127 as f16, q = round_even(x 127 / max|x|),
   s = f16(d sum q) with d unrounded. Blocks: random, all zero, one extreme, a half-way value. */
static void check_quant_q8_1(void) {
    const int64_t n = 32 * 4;
    float x[32 * 4], amax, d, id;
    mg__block_q8_1 y[4];
    int b, j, bad = 0;
    for (j = 0; j < n; j++) x[j] = rndf() * 5.0f;
    for (j = 32; j < 64; j++) x[j] = 0.0f;
    x[64 + 9] = -300.0f;
    x[96] = 127.0f; x[97] = 2.5f; x[98] = -3.5f;    /* 2.5 and -3.5 round to even */
    mg__quant_row(MG_TYPE_Q4_1, x, y, n);
    for (b = 0; b < 4; b++) {
        int sum = 0;
        for (amax = 0, j = 0; j < 32; j++) amax = fabsf(x[32 * b + j]) > amax ? fabsf(x[32 * b + j]) : amax;
        d = amax / 127.0f;
        id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (j = 0; j < 32; j++) {
            float v = x[32 * b + j] * id, r = floorf(v + 0.5f);
            if (r - v == 0.5f && fmodf(r, 2.0f) != 0.0f) r -= 1.0f;   /* ties to even */
            bad += y[b].qs[j] != (int)r;
            sum += (int)r;
        }
        bad += y[b].d != mg__f2h(d) || y[b].s != mg__f2h(d * (float)sum);
    }
    CHECK(bad == 0 && y[3].qs[1] == 2 && y[3].qs[2] == -4, "Q8_1 conversion: %d values differ from the reference", bad);
}

/* mg__mat_block for nr rows x nt tokens, and the build's and the scalar single-row dot products, bit for bit
   against the reference */
static void check_block(int type, int64_t n_in, int nr, int nt) {
    uint8_t *w = make_weights(type, n_in, nr), *x;
    size_t xs, rb = mg_type_row_size(type, n_in);
    float *y = (float *)malloc((size_t)nr * nt * sizeof(float));
    int r, t, bad = 0, bad_dot = 0;
    x = make_acts(type, n_in, nt, &xs);
    mg__mat_block(type, w, rb, nr, x, xs, nt, n_in, y, (size_t)nr);
    for (t = 0; t < nt; t++)
        for (r = 0; r < nr; r++) {
            const uint8_t *wr = w + (size_t)r * rb, *xt = x + (size_t)t * xs;
            const float want = ref_dot(type, wr, xt, n_in);
            bad += !bits_equal(y[t * nr + r], want);
            if (t < 3) bad_dot += !bits_equal(mg__vec_dot(type, wr, xt, n_in), want) + !bits_equal(mg__vec_dot_scalar(type, wr, xt, n_in), want);
        }
    CHECK(bad == 0, "%s n_in %d rows %d tokens %d: %d results differ from the reference", mg_type_name(type), (int)n_in, nr, nt, bad);
    CHECK(bad_dot == 0, "%s n_in %d rows %d: %d single-row dot products differ from the reference", mg_type_name(type), (int)n_in, nr, bad_dot);
    free(w); free(x); free(y);
}

/* The same against weights in the lanes layout (groups of 16 rows), from the first group and from the second; and
   each row read back as stored. */
static void check_lanes(int type, int64_t n_in, int nr, int nt) {
    uint8_t *w = make_weights(type, n_in, nr), *x, *wl, *row;
    size_t xs, rb = mg_type_row_size(type, n_in);
    float *y = (float *)malloc((size_t)nr * nt * sizeof(float));
    mg__mat m;
    int r, t, g, bad = 0, rows = 0;
    x = make_acts(type, n_in, nt, &xs);
    wl = (uint8_t *)malloc(rb * (size_t)nr);
    row = (uint8_t *)malloc(rb);
    for (g = 0; g < nr / 16; g++) mg__lanes_pack(type, w + (size_t)g * 16 * rb, rb, wl + (size_t)g * 16 * rb);
    for (g = 0; g < 2 && 16 * g < nr; g++) {
        int n = nr - 16 * g;
        mg__mat_block_lanes(type, wl + (size_t)g * 16 * rb, rb, n, x, xs, nt, n_in, y, (size_t)n);
        for (t = 0; t < nt; t++)
            for (r = 0; r < n; r++) bad += !bits_equal(y[t * n + r], ref_dot(type, w + (size_t)(16 * g + r) * rb, x + (size_t)t * xs, n_in));
    }
    memset(&m, 0, sizeof m);
    m.data = wl; m.type = type; m.n_in = n_in; m.n_out = nr; m.row_bytes = rb; m.lanes = 1;
    for (r = 0; r < nr; r++) rows += memcmp(mg__mat_row(&m, r, row), w + (size_t)r * rb, rb) != 0;
    CHECK(bad == 0 && rows == 0, "lanes, type %d n_in %d rows %d tokens %d: %d results differ from the reference, %d rows read back wrong",
          type, (int)n_in, nr, nt, bad, rows);
    free(w); free(wl); free(row); free(x); free(y);
}

/* A fused Q/K/V-like job of types[0..2] (one partner format, different heights) and a lone types[3] matrix
   through the pool; lanes: the matrices of a lanes type (heights multiples of 16) in the lanes layout, except
   matrix 1. */
static void check_pool(const int *types, int threads, int n_tok, int lanes) {
    const int64_t n_in = 512;
    const int outs[4] = { 37, 21, 8, 19 }, louts[4] = { 48, 32, 16, 64 };
    mg__mat m[4];
    const mg__mat *mp[4];
    float *y[4], *xf = (float *)malloc((size_t)n_in * n_tok * sizeof(float));
    uint8_t *xq = (uint8_t *)malloc(mg__act_row_bytes(types[3], n_in) * (size_t)n_tok + mg__act_row_bytes(types[0], n_in) * (size_t)n_tok);
    mg__pool pool;
    int i, r, t, bad = 0;
    for (i = 0; i < n_in * n_tok; i++) xf[i] = rndf() * (float)(1 + i / n_in % 7);
    for (i = 0; i < 4; i++) {
        const int no = lanes ? louts[i] : outs[i];
        memset(&m[i], 0, sizeof m[i]);
        m[i].type = types[i]; m[i].n_in = n_in; m[i].n_out = no; m[i].row_bytes = mg_type_row_size(types[i], n_in);
        m[i].data = make_weights(types[i], n_in, no);
        mp[i] = &m[i];
        y[i] = (float *)malloc((size_t)no * n_tok * sizeof(float));
    }
    uint8_t *wl[4] = { NULL, NULL, NULL, NULL };
    for (i = 0; lanes && i < 4; i += 1 + (i == 0)) {
        if (!mg__lanes_type(types[i])) continue;
        wl[i] = (uint8_t *)malloc(m[i].row_bytes * (size_t)m[i].n_out);
        for (r = 0; r < m[i].n_out / 16; r++) mg__lanes_pack(types[i], m[i].data + (size_t)r * 16 * m[i].row_bytes, m[i].row_bytes, wl[i] + (size_t)r * 16 * m[i].row_bytes);
        m[i].lanes = 1;
        { const uint8_t *tmp = m[i].data; m[i].data = wl[i]; wl[i] = (uint8_t *)(uintptr_t)tmp; }
    }
    CHECK(mg__pool_start(&pool, threads) == MG_OK, "pool of %d threads", threads);
    mg__linear_n(&pool, xq, mp, y, 3, xf, n_tok);
    mg__linear(&pool, xq, mp[3], NULL, xf, n_tok, y[3]);
    mg__pool_stop(&pool);
    for (i = 0; i < 4; i++) {
        size_t xs = mg__act_row_bytes(types[i], n_in);
        uint8_t *xr = (uint8_t *)malloc(xs);
        const uint8_t *w0 = m[i].lanes ? wl[i] : m[i].data;
        for (t = 0; t < n_tok; t++) {
            mg__quant_act(types[i], xf + (size_t)t * n_in, xr, n_in);
            for (r = 0; r < m[i].n_out; r++) bad += !bits_equal(y[i][(size_t)t * m[i].n_out + r], ref_dot(types[i], w0 + (size_t)r * m[i].row_bytes, xr, n_in));
        }
        free(xr); free((void *)m[i].data); free(wl[i]); free(y[i]);
    }
    CHECK(bad == 0, "%s %s %s + %s, %d threads, %d tokens%s: %d results differ from the reference", mg_type_name(types[0]),
          mg_type_name(types[1]), mg_type_name(types[2]), mg_type_name(types[3]), threads, n_tok, lanes ? ", lanes layout" : "", bad);
    free(xf); free(xq);
}

/* ----- float rows to halves (mg__quant_row F16: the KV cache) against the definition: the nearest half, ties to
   the even one, |x| >= 65520 to infinity, NaN to sign | 0x7e00 (NEON: to a NaN, its instruction keeps the payload's
   top bits), the sign kept ----- */
static int half_ok(float f, uint16_t h) {
    uint32_t x;
    uint16_t sign, m;
    double a = fabs((double)f), v, up, dn;
    memcpy(&x, &f, 4);
    sign = (uint16_t)((x >> 16) & 0x8000u);
    m = h & 0x7fff;
    if ((h & 0x8000) != sign) return 0;
#ifdef MG__NEON
    if (f != f) return (m & 0x7c00) == 0x7c00 && (m & 0x3ff) != 0;
#else
    if (f != f) return m == 0x7e00;
#endif
    if (a >= 65520.0) return m == 0x7c00;
    if (m >= 0x7c00) return 0;
    v = mg__h2f(m); up = m < 0x7bff ? mg__h2f((uint16_t)(m + 1)) : 65536.0; dn = m > 0 ? mg__h2f((uint16_t)(m - 1)) : -mg__h2f(1);
    if (fabs(a - v) > fabs(a - up) || fabs(a - v) > fabs(a - dn)) return 0;
    return (fabs(a - v) != fabs(a - up) && fabs(a - v) != fabs(a - dn)) || (m & 1) == 0;
}
static void check_f16_rows(void) {
    enum { N = 4096 };
    static float x[N];
    static uint16_t y[N];
    int i, n, bad = 0, first = -1;
    for (i = 0; i < N; i++) {
        uint32_t u = rnd() << 16 ^ rnd();
        uint16_t m = (uint16_t)(rnd() % 0x7bff);
        switch (i % 4) {
        case 0: memcpy(&x[i], &u, 4); break;                                   /* any bits: NaN, Inf, huge, subnormal */
        case 1: x[i] = (float)((mg__h2f(m) + mg__h2f((uint16_t)(m + 1))) / 2); break;   /* a tie (exact in float) */
        case 2: x[i] = (float)ldexp((double)(rnd() % 65536) / 65536.0 + 0.5, (int)(rnd() % 44) - 28); break;   /* 2^-29 .. 2^16 */
        default: x[i] = (float)(65504.0 + (double)(rnd() % 64)) * (rnd() & 1 ? -1.0f : 1.0f); break;   /* near overflow */
        }
    }
    for (n = 1; n <= 40; n++) {                                                  /* every tail length, NaN groups */
        mg__quant_row(MG_TYPE_F16, x + 97 * n, y, n);
        for (i = 0; i < n; i++) if (!half_ok(x[97 * n + i], y[i])) { bad++; if (first < 0) first = 97 * n + i; }
    }
    mg__quant_row(MG_TYPE_F16, x, y, N);
    for (i = 0; i < N; i++) if (!half_ok(x[i], y[i])) { bad++; if (first < 0) first = i; }
    CHECK(bad == 0, "float -> half: %d wrong, first %.9g -> 0x%04x", bad, first < 0 ? 0.0 : (double)x[first], first < 0 ? 0 : y[first]);
}

int main(void) {
    const int types[10] = { MG_TYPE_Q4_K, MG_TYPE_Q6_K, MG_TYPE_Q8_0, MG_TYPE_Q5_K, MG_TYPE_Q3_K, MG_TYPE_Q2_K, MG_TYPE_IQ4_XS,
                            MG_TYPE_Q4_0, MG_TYPE_IQ4_NL, MG_TYPE_Q4_1 };
    const int jobs[4][4] = { { MG_TYPE_Q4_K, MG_TYPE_Q6_K, MG_TYPE_Q4_K, MG_TYPE_Q8_0 }, { MG_TYPE_Q5_K, MG_TYPE_Q3_K, MG_TYPE_Q6_K, MG_TYPE_Q4_1 },
                             { MG_TYPE_Q2_K, MG_TYPE_IQ4_XS, MG_TYPE_Q5_K, MG_TYPE_Q4_0 }, { MG_TYPE_Q4_0, MG_TYPE_IQ4_NL, MG_TYPE_Q8_0, MG_TYPE_Q3_K } };
    const int lanes_jobs[3] = { 0, 1, 3 }, types32[4] = { MG_TYPE_Q8_0, MG_TYPE_Q4_0, MG_TYPE_IQ4_NL, MG_TYPE_Q4_1 };   /* jobs 1, 3: Q4_1 alone, Q4_0 fused */
    const int rows[9] = { 1, 3, 4, 5, 9, 13, 16, 17, 35 }, toks[10] = { 1, 2, 3, 4, 5, 7, 8, 13, 64, 128 }, pool_toks[7] = { 1, 2, 5, 64, 127, 128, 131 };
    int i, r, t;
#ifdef MG_EXPECT_BUILD   /* the kernel path this build must report (make arm-test sets it per feature level) */
    CHECK(strncmp(mg_build_info(), MG_EXPECT_BUILD " ", sizeof MG_EXPECT_BUILD) == 0, "build info \"%s\", expected \"%s ...\"",
          mg_build_info(), MG_EXPECT_BUILD);
#endif
#ifdef MG__NEON          /* the NEON build runs every quantized type through its row kernels, not the scalar fallback */
    for (i = 0; i < 10; i++) CHECK(mg__rows4_has(types[i]), "%s: no NEON row kernel", mg_type_name(types[i]));
#endif
    check_quant_q8_k();
    check_quant_q8_1();
    check_f16_rows();
    for (i = 0; i < 10; i++) {
        check_reference(types[i], 2560);
        for (r = 0; r < 9; r++)
            for (t = 0; t < 10; t++) check_block(types[i], (r + t) % 3 == 0 ? 2560 : 768, rows[r], toks[t]);
    }
    check_block(MG_TYPE_Q8_0, 288, 11, 3);        /* Q8_0 rows of 9 blocks */
    for (i = 7; i < 10; i++) { check_block(types[i], 288, 11, 5); check_block(types[i], 96, 17, 9); }   /* odd block counts in the tiles */
    check_block(MG_TYPE_Q8_0, 288, 11, 5);
    check_block(MG_TYPE_Q8_0, 96, 17, 9);
    for (r = 0; r < 6; r++) {                     /* decode: rows of 1 and 4 blocks (runs of units across rows), longer than prepared */
        check_block(MG_TYPE_Q4_K, 256, rows[r], 1);
        check_block(MG_TYPE_Q4_K, 1024, rows[r], 1);
        check_block(MG_TYPE_Q6_K, 256, rows[r], 1);
        check_block(MG_TYPE_Q6_K, 768, rows[r], 2);
        check_block(MG_TYPE_Q8_0, 32, rows[r], 1);    /* Q8_0 rows of 1, 2, 7, 9 blocks: steps of 8 units across rows */
        check_block(MG_TYPE_Q8_0, 64, rows[r], 3);
        check_block(MG_TYPE_Q8_0, 224, rows[r], 1);
        check_block(MG_TYPE_Q8_0, 288, rows[r], 2);
    }
    check_block(MG_TYPE_Q4_K, 256 * 65, 6, 1);
    check_block(MG_TYPE_Q8_0, 32 * 513, 5, 1);
    for (r = 0; r < 6; r++) {                     /* decode across rows of 1, 3 and 4 blocks */
        for (i = 3; i < 10; i++) check_block(types[i], i < 7 ? 256 : 32, rows[r], 1);
        for (i = 3; i < 10; i++) check_block(types[i], i < 7 ? 768 : 96, rows[r], 1);
        for (i = 3; i < 10; i++) check_block(types[i], i < 7 ? 1024 : 128, rows[r], 2);
        for (i = 7; i < 10; i++) { check_block(types[i], 64, rows[r], 1); check_block(types[i], 192, rows[r], 1); }   /* runs of block pairs across rows */
    }
    for (r = 0; r < 4; r++)
        for (i = 1; i <= 3; i++)
            for (t = 0; t < 7; t++) check_pool(jobs[r], i, pool_toks[t], 0);
    for (r = 0; r < 3; r++)
        for (i = 1; i <= 3; i++)
            for (t = 0; t < 7; t++) check_pool(jobs[lanes_jobs[r]], i, pool_toks[t], 1);
    for (i = 0; i < 10; i++) {
        if (!mg__lanes_type(types[i])) continue;
        for (r = 0; r < 4; r++)
            for (t = 0; t < 10; t++) check_lanes(types[i], (r + t) % 3 == 0 ? 2560 : 768, 16 * (r + 1), toks[t]);
    }
    for (i = 7; i < 10; i++) CHECK(mg__lanes_type(types[i]), "%s: no lanes layout", mg_type_name(types[i]));
    for (i = 0; i < 4; i++) {   /* rows of 9 and 3 blocks; 1, 2 and 3 groups */
        check_lanes(types32[i], 288, 16, 1);
        check_lanes(types32[i], 288, 32, 5);
        check_lanes(types32[i], 96, 48, 2);
        check_lanes(types32[i], 96, 48, 9);
    }
    return MG_TEST_END();
}
