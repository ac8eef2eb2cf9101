/* The image encoder's kernels against plain double-precision references on random data with odd sizes:
   the packed-panel GEMM (float and bf16 tiles; F32, F16 and BF16 weights; stacked matrices, bias, residual
   accumulation, several k blocks), the blocked online-softmax attention (several key blocks, head widths that
   are not multiples of the tiles, scores whose maximum moves between blocks), the f16 GELU table against
   the rounded GELU written here, and 1, 2 and 3 threads giving the same bits. bf16 rounding in the references is done here with
   frexp/ldexp (round half to even), independently of the runtime's bit tricks. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define MEDGEMMA_STATIC
#define MEDGEMMA_IMPLEMENTATION
#include "medgemma.h"
#include "mgtest.h"

static uint64_t rng = 88172645463325252ULL;
static double urand(void) {   /* uniform in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}
/* x rounded to 8 significant bits, ties to even (bfloat16 for normal numbers) */
static double bf16r(double x) {
    int e;
    double m = frexp(x, &e);
    return x == 0 ? 0 : ldexp(nearbyint(ldexp(m, 8)), e - 8);
}
/* IEEE half -> double, by its fields */
static double half_value(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
    return (h & 0x8000) ? -v : v;
}

/* A weight matrix of the given type with values in [-0.5, 0.5); wv receives the exact stored values. */
static void make_weights(int type, int n_in, int n_out, uint8_t **data, double *wv, mg__mat *m) {
    size_t es = type == MG_TYPE_F32 ? 4 : 2, i, n = (size_t)n_in * n_out;
    *data = (uint8_t *)malloc(n * es);
    for (i = 0; i < n; i++) {
        float f = (float)(0.5 * urand());
        if (type == MG_TYPE_F32) { memcpy(*data + 4 * i, &f, 4); wv[i] = f; }
        else {
            uint16_t h = type == MG_TYPE_F16 ? mg__f2h(f) : mg__f2bf(f);
            memcpy(*data + 2 * i, &h, 2);
            wv[i] = type == MG_TYPE_F16 ? half_value(h) : ldexp((double)((h & 0x7f) | 0x80), ((h >> 7) & 0xff) - 134) * ((h & 0x8000) ? -1 : 1);
            if (!(h & 0x7fff)) wv[i] = 0;
        }
    }
    m->data = *data; m->type = type; m->n_in = n_in; m->n_out = n_out; m->row_bytes = (size_t)n_in * es;
}

static void gemm_case(int n, int n_in, const int *outs, int nw, int type, int bf16, int accumulate, int use_bias) {
    mg__mat w[3];
    const mg__mat *wp[3];
    uint8_t *data[3];
    double *wv[3];
    int total = 0, i, t, o, k, th, base;
    float *x, *bias, *y0, *y[3];
    double worst = 0, worst_ref = 0;
    mg__vscratch sc;
    for (i = 0; i < nw; i++) {
        wv[i] = (double *)malloc(sizeof(double) * (size_t)n_in * outs[i]);
        make_weights(type, n_in, outs[i], &data[i], wv[i], &w[i]);
        wp[i] = &w[i]; total += outs[i];
    }
    x = (float *)malloc(sizeof(float) * (size_t)n * n_in);
    bias = (float *)malloc(sizeof(float) * (size_t)total);
    y0 = (float *)malloc(sizeof(float) * (size_t)n * total);
    for (i = 0; i < n * n_in; i++) x[i] = (float)urand();
    for (i = 0; i < total; i++) bias[i] = (float)urand();
    for (i = 0; i < n * total; i++) y0[i] = (float)(4 * urand());
    memset(&sc, 0, sizeof sc);
    sc.ap = malloc(mg__gemm_a_bytes(n_in, total)); sc.bp = malloc(mg__gemm_b_bytes(n, n_in)); sc.tmp = (float *)malloc(mg__gemm_tmp_bytes(n_in, 3));
    for (th = 1; th <= 3; th++) {
        mg__pool pool;
        y[th - 1] = (float *)malloc(sizeof(float) * (size_t)n * total);
        memcpy(y[th - 1], y0, sizeof(float) * (size_t)n * total);
        if (mg__pool_start(&pool, th) != MG_OK) { CHECK(0, "pool"); return; }
        mg__gemm(&pool, &sc, wp, nw, use_bias ? bias : NULL, x, n, y[th - 1], accumulate, bf16);
        mg__pool_stop(&pool);
    }
    /* reference: sum over the exact stored weights (rounded to bf16 for bf16 tiles, as the activations) */
    for (t = 0; t < n; t++)
        for (base = 0, i = 0; i < nw; base += outs[i], i++)
            for (o = 0; o < outs[i]; o++) {
                double s = 0, mag = 0, s_exact = 0, got = y[0][(size_t)t * total + base + o], c0;
                for (k = 0; k < n_in; k++) {
                    double wk = wv[i][(size_t)o * n_in + k], xk = x[(size_t)t * n_in + k];
                    s_exact += wk * xk;
                    if (bf16) { wk = bf16r(wk); xk = bf16r(xk); }
                    s += wk * xk; mag += fabs(wk * xk);
                }
                c0 = (accumulate ? y0[(size_t)t * total + base + o] : 0) + (use_bias ? bias[base + o] : 0);
                s += c0; s_exact += c0; mag += fabs(c0);
                /* float sums: each of the n_in additions errs by <= 2^-24 of the running magnitude */
                if (fabs(got - s) / (mag * 1e-6 * (1 + n_in / 64.0) + 1e-30) > worst) worst = fabs(got - s) / (mag * 1e-6 * (1 + n_in / 64.0) + 1e-30);
                /* and the product itself: bf16 operands err by <= 2^-8 relative per term */
                if (fabs(got - s_exact) / (mag * (bf16 ? 8e-3 : 1e-5) + 1e-30) > worst_ref) worst_ref = fabs(got - s_exact) / (mag * (bf16 ? 8e-3 : 1e-5) + 1e-30);
            }
    CHECK(worst <= 1, "gemm n=%d in=%d out=%d+%d+%d type=%d bf16=%d acc=%d bias=%d: error %.3g of the float bound",
          n, n_in, outs[0], nw > 1 ? outs[1] : 0, nw > 2 ? outs[2] : 0, type, bf16, accumulate, use_bias, worst);
    CHECK(worst_ref <= 1, "gemm n=%d in=%d type=%d bf16=%d: error vs exact product %.3g of the bound", n, n_in, type, bf16, worst_ref);
    CHECK(!memcmp(y[0], y[1], sizeof(float) * (size_t)n * total) && !memcmp(y[0], y[2], sizeof(float) * (size_t)n * total),
          "gemm n=%d in=%d bf16=%d: 1, 2 and 3 threads differ", n, n_in, bf16);
    for (i = 0; i < nw; i++) { free(wv[i]); free(data[i]); }
    for (th = 0; th < 3; th++) free(y[th]);
    free(x); free(bias); free(y0); free(sc.ap); free(sc.bp); free(sc.tmp);
}

/* q, k, v of n tokens and n_head heads of width hd; keys of the second half scaled by `late` (the running
   maximum then moves), scores by `amp`. */
static void attn_case(int n, int n_head, int hd, double amp, double late) {
    int d = n_head * hd, th, t, h, j, c;
    float *qkv = (float *)malloc(sizeof(float) * (size_t)n * 3 * d), *out[3];
    double worst = 0;
    mg__vattn_job aj;
    memset(&aj, 0, sizeof aj);
    mg__vattn_dims(&aj, n, d, n_head);
    for (t = 0; t < n; t++)
        for (c = 0; c < 3 * d; c++) {
            double v = urand();
            if (c < d) v *= amp;
            else if (c < 2 * d && t >= n / 2) v *= late;
            qkv[(size_t)t * 3 * d + c] = (float)v;
        }
    aj.qkv = qkv;
    aj.kp = (uint32_t *)malloc(mg__vattn_kv_words(&aj) * 4);
    aj.vp = aj.kp + (size_t)aj.n_head * aj.nkp * aj.hp * MG__TR;
    aj.work = (float *)malloc(3 * mg__vattn_work_floats(&aj) * sizeof(float));
    for (th = 1; th <= 3; th++) {
        mg__pool pool;
        out[th - 1] = (float *)malloc(sizeof(float) * (size_t)n * d);
        aj.out = out[th - 1];
        if (mg__pool_start(&pool, th) != MG_OK) { CHECK(0, "pool"); return; }
        mg__pool_run(&pool, mg__vattn_pack_task, &aj);
        mg__pool_run(&pool, mg__vattn_task, &aj);
        mg__pool_stop(&pool);
    }
    {   /* reference: softmax in double over bf16-rounded q, k, v; the kernel's probabilities are rounded to
           bf16 too, so the output errs by <= 2^-9 max|v| plus float noise */
        double *sc = (double *)malloc(sizeof(double) * (size_t)n), vmax = 0;
        for (t = 0; t < n; t++) for (c = 0; c < d; c++) vmax = fmax(vmax, fabs(qkv[(size_t)t * 3 * d + 2 * d + c]));
        for (h = 0; h < n_head; h++)
            for (t = 0; t < n; t++) {
                double mx = -1e300, sum = 0;
                for (j = 0; j < n; j++) {
                    double s = 0;
                    for (c = 0; c < hd; c++)
                        s += bf16r(qkv[(size_t)t * 3 * d + h * hd + c]) * bf16r(qkv[(size_t)j * 3 * d + d + h * hd + c]);
                    sc[j] = s / sqrt((double)hd);
                    mx = fmax(mx, sc[j]);
                }
                for (j = 0; j < n; j++) { sc[j] = exp(sc[j] - mx); sum += sc[j]; }
                for (c = 0; c < hd; c++) {
                    double o = 0;
                    for (j = 0; j < n; j++) o += sc[j] / sum * bf16r(qkv[(size_t)j * 3 * d + 2 * d + h * hd + c]);
                    worst = fmax(worst, fabs(out[0][(size_t)t * d + h * hd + c] - o) / vmax);
                }
            }
        free(sc);
    }
    CHECK(worst <= 2.5e-3, "attention n=%d heads=%d hd=%d amp=%g late=%g: error %.3g of max|v|", n, n_head, hd, amp, late, worst);
    CHECK(!memcmp(out[0], out[1], sizeof(float) * (size_t)n * d) && !memcmp(out[0], out[2], sizeof(float) * (size_t)n * d),
          "attention n=%d heads=%d hd=%d: 1, 2 and 3 threads differ", n, n_head, hd);
    for (th = 0; th < 3; th++) free(out[th]);
    free(qkv); free(aj.kp); free(aj.work);
}

/* ggml's GELU as computed here from its definition: |x| >= 10 clamped (0 or x), else the tanh formula on the
   f16-rounded input, its result rounded to f16 (double-precision tanh would differ in the last f16 bit on a
   handful of inputs, so the formula is evaluated in float as ggml does). */
static float ref_gelu(float x) {
    float h;
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    h = mg__h2f(mg__f2h(x));
    return mg__h2f(mg__f2h(0.5f * h * (1.0f + tanhf(0.79788456080286535588f * h * (1.0f + 0.044715f * h * h)))));
}

static void check_gelu(void) {
    uint16_t *tab = (uint16_t *)malloc(65537 * sizeof(uint16_t));
    float *v = (float *)malloc(sizeof(float) * 65536);
    int i, bad = 0;
    mg__gelu_table(tab);
    for (i = 0; i < 65536; i++) v[i] = mg__h2f((uint16_t)i);
    mg__gelu_f16tab(v, 65536, tab);
    for (i = 0; i < 65536; i++) {
        float want = ref_gelu(mg__h2f((uint16_t)i));
        if (memcmp(&want, &v[i], 4) && !(isnan(want) && isnan(v[i]))) bad++;
    }
    CHECK(bad == 0, "GELU: %d of 65536 f16 inputs differ from the reference", bad);
    free(tab); free(v);
}

static void check_gelu_random(void) {
    uint16_t *tab = (uint16_t *)malloc(65537 * sizeof(uint16_t));
    float v[4100], x[4100];
    int i, bad = 0;
    mg__gelu_table(tab);
    for (i = 0; i < 4100; i++) x[i] = v[i] = (float)(12 * urand());
    x[0] = v[0] = 10.0f; x[1] = v[1] = -10.0f; x[2] = v[2] = 9.999f; x[3] = v[3] = -9.999f; x[4] = v[4] = 9.9999f;
    mg__gelu_f16tab(v, 4100, tab);
    for (i = 0; i < 4100; i++) { float want = ref_gelu(x[i]); if (memcmp(&want, &v[i], 4)) bad++; }
    CHECK(bad == 0, "GELU: %d of 4100 random inputs differ from the reference", bad);
    free(tab);
}

int main(void) {
    static const int o1[3] = { 1, 0, 0 }, o33[3] = { 33, 0, 0 }, o70[3] = { 70, 0, 0 }, o3[3] = { 5, 40, 33 }, o64[3] = { 64, 0, 0 };
    int bf;
    for (bf = 0; bf < 2; bf++) {
        gemm_case(1, 72, o33, 1, MG_TYPE_F32, bf, 0, 1);
        gemm_case(13, 1, o70, 1, MG_TYPE_F16, bf, 1, 1);
        gemm_case(13, 3, o1, 1, MG_TYPE_F32, bf, 0, 0);
        gemm_case(37, 300, o3, 3, MG_TYPE_F16, bf, 0, 1);
        gemm_case(200, 72, o64, 1, MG_TYPE_BF16, bf, 1, 1);
        gemm_case(7, 5001, o33, 1, MG_TYPE_F16, bf, 1, 0);   /* three k blocks of floats, two of pairs */
        gemm_case(29, 199, o70, 1, MG_TYPE_BF16, bf, 0, 1);
    }
    attn_case(1, 1, 72, 1, 1);
    attn_case(5, 2, 5, 3, 1);
    attn_case(13, 3, 64, 2, 1);
    attn_case(300, 2, 72, 4, 3);    /* two key blocks; the second holds the larger scores */
    attn_case(531, 1, 33, 3, 0.2);  /* three key blocks, an odd last one; the first holds the larger scores */
    check_gelu();
    check_gelu_random();
    return MG_TEST_END();
}
