/* The plain model path (always compiled; MG_REFERENCE runs the model through it alone) against the optimized
   kernels on the same inputs:
     decoder attention    mg__attention_ref vs the blocked tiles (F32, F16 and Q8_0 caches, sliding window, a
                          bidirectional block, a ring that wraps)
     vision products      mg__vlinear_ref vs the packed tiles (float and bf16 products, stacked matrices, bias,
                          accumulation)
     vision attention     mg__vattn_ref_task vs the blocked bf16 kernel
     matrix products      mg__mat_block_scalar vs mg__mat_block, bit for bit for the integer formats
   The float tolerances are those of the operations' rounding: float sums in another order (1e-4 here), bfloat16
   operands (8 bits of mantissa: 3e-2 on these sums of ~100 products of values below 1). */
#pragma GCC diagnostic ignored "-Wunused-function"
#define MEDGEMMA_STATIC
#define MEDGEMMA_IMPLEMENTATION
#include "medgemma.h"
#include "tools/gguf_write.h"
#include "mgtest.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static float urand(void) {               /* [-1, 1) */
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}
static float maxdiff(const float *a, const float *b, size_t n) {
    float m = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d;    /* a NaN counts as the largest difference */
    }
    return m;
}

/* One layer's attention for n chunk tokens at pos0 (heads of width hd), both ways; causal chunks also token by
   token through the blocked kernels, which must give the batch's bits (the F16 cache: read in place). */
static void check_attention_case(int kv_type, int hd, int window, int bidir, int n, int pos0, int ring) {
    enum { NH = 4, NKV = 2 };
    mg__hparams hp;
    mg__attn_args a;
    size_t row = mg__row_bytes(kv_type, NKV * hd), qd = (size_t)NH * hd, wf;
    uint8_t *k = (uint8_t *)malloc((size_t)ring * row), *v = (uint8_t *)malloc((size_t)ring * row);
    float *q = (float *)malloc(sizeof(float) * (size_t)n * qd), *ref = (float *)malloc(sizeof(float) * (size_t)n * qd);
    float *opt = (float *)malloc(sizeof(float) * (size_t)n * qd), *one = (float *)malloc(sizeof(float) * qd), *work;
    float *tmp = (float *)malloc(sizeof(float) * NKV * (size_t)hd), d;
    int i, j, tq, t0, g, same = 1;
    for (i = 0; i < ring; i++) {                 /* every slot holds a row (positions past the chunk are never read) */
        for (j = 0; j < NKV * hd; j++) tmp[j] = urand();
        mg__quant_row(kv_type, tmp, k + (size_t)i * row, NKV * hd);
        for (j = 0; j < NKV * hd; j++) tmp[j] = urand();
        mg__quant_row(kv_type, tmp, v + (size_t)i * row, NKV * hd);
    }
    for (i = 0; i < n * (int)qd; i++) q[i] = urand() * 0.4f;
    memset(&hp, 0, sizeof hp);
    hp.n_head = NH; hp.n_head_kv = NKV; hp.head_dim = hd;
    a.q = q; a.k = k; a.v = v; a.ring = ring; a.kv_row = row; a.kv_type = kv_type;
    a.n_head = NH; a.n_head_kv = NKV; a.hd = hd; a.n = n; a.pos0 = pos0; a.window = window; a.bidir = bidir;
    work = (float *)malloc(sizeof(float) * ((size_t)ring + 2 * hd));
    a.out = ref;
    mg__attention_ref(&a, work);
    free(work);
    wf = mg__attn_work_floats(&hp);
    work = (float *)malloc(sizeof(float) * wf);
    tq = mg__attn_tile_tokens(&hp);
    a.out = opt;
    for (g = 0; g < NKV; g++)
        for (t0 = 0; t0 < n; t0 += tq) mg__attn_item(&a, work, tq, t0, g);
    d = maxdiff(ref, opt, (size_t)n * qd);
    CHECK(d <= 1e-4f, "attention (%s cache, hd %d, window %d, %s, %d tokens at %d): plain and blocked differ by %g",
          mg_type_name(kv_type), hd, window, bidir ? "bidirectional" : "causal", n, pos0, d);
    for (i = 0; i < n && !bidir; i++) {          /* token i alone at pos0 + i */
        a.q = q + (size_t)i * qd; a.out = one; a.n = 1; a.pos0 = pos0 + i;
        for (g = 0; g < NKV; g++) mg__attn_item(&a, work, tq, 0, g);
        same &= memcmp(one, opt + (size_t)i * qd, sizeof(float) * qd) == 0;
    }
    CHECK(same, "attention (%s cache, hd %d, %d tokens at %d): token by token differs from the batch",
          mg_type_name(kv_type), hd, n, pos0);
    free(k); free(v); free(q); free(ref); free(opt); free(one); free(tmp); free(work);
}

static void check_attention(void) {
    check_attention_case(MG_TYPE_F16, 64, 0, 0, 1, 200, 256);        /* decode: the in-place F16 kernel */
    check_attention_case(MG_TYPE_F16, 64, 0, 0, 37, 100, 256);
    check_attention_case(MG_TYPE_F32, 64, 5, 0, 70, 30, 128);        /* sliding window, ring wraps */
    check_attention_case(MG_TYPE_Q8_0, 64, 0, 1, 33, 12, 64);        /* a bidirectional block */
    check_attention_case(MG_TYPE_F16, 64, 48, 0, 9, 300, 80);        /* local layer deep into a wrapped ring */
    check_attention_case(MG_TYPE_F16, 36, 0, 0, 11, 60, 128);        /* head widths that are not multiples of 16 or 4 */
    check_attention_case(MG_TYPE_F32, 70, 20, 0, 13, 90, 128);
    check_attention_case(MG_TYPE_F16, 22, 0, 0, 7, 5, 64);
}

/* Y = X W^T + b over three stacked matrices, plain vs the packed tiles. */
static void check_vlinear(int wtype, int bf16) {
    enum { N = 29, NIN = 160, NO1 = 40, NO2 = 33 };   /* NIN: whole Q8_0 blocks */
    mg__pool pool;
    mg__vscratch sc;
    mg__mat w[2];
    const mg__mat *wp[2];
    float src[NO1 > NO2 ? NO1 : NO2][NIN], x[N * NIN], bias[NO1 + NO2], y0[N * (NO1 + NO2)], y1[N * (NO1 + NO2)], row[NIN];
    uint8_t *data[2];
    int i, j, m, acc;
    float d;
    for (m = 0; m < 2; m++) {
        int no = m ? NO2 : NO1;
        size_t rb = mg__row_bytes(wtype, NIN);
        data[m] = (uint8_t *)malloc(rb * (size_t)no);
        for (i = 0; i < no; i++) {
            for (j = 0; j < NIN; j++) src[i][j] = urand() * 0.2f;
            mg__quant_row(wtype, src[i], data[m] + (size_t)i * rb, NIN);
        }
        w[m].data = data[m]; w[m].type = wtype; w[m].n_in = NIN; w[m].n_out = no; w[m].row_bytes = rb; w[m].lanes = 0;
        wp[m] = &w[m];
    }
    for (i = 0; i < N * NIN; i++) x[i] = urand();
    for (i = 0; i < NO1 + NO2; i++) bias[i] = urand();
    mg__pool_start(&pool, 2);
    sc.ap = malloc(mg__gemm_a_bytes(NIN, NO1 + NO2)); sc.bp = malloc(mg__gemm_b_bytes(N, NIN));
    sc.tmp = (float *)malloc(mg__gemm_tmp_bytes(NIN, 2)); sc.kv = NULL; sc.work = NULL; sc.bias = NULL;
    for (acc = 0; acc < 2; acc++) {
        for (i = 0; i < N * (NO1 + NO2); i++) y0[i] = y1[i] = urand();
        mg__vlinear_ref(wp, 2, bias, x, N, y0, acc, row);
        mg__gemm(&pool, &sc, wp, 2, bias, x, N, y1, acc, bf16);
        d = maxdiff(y0, y1, (size_t)N * (NO1 + NO2));
        CHECK(d <= (bf16 ? 3e-2f : 1e-4f), "vision products, %s weights, %s tiles%s: plain and packed differ by %g",
              mg_type_name(wtype), bf16 ? "bf16" : "float", acc ? ", accumulating" : "", d);
    }
    mg__pool_stop(&pool);
    free(sc.ap); free(sc.bp); free(sc.tmp); free(data[0]); free(data[1]);
}

/* Self-attention over n random patches, plain (float) vs blocked (bf16 tiles). */
static void check_vattention(int n, int d, int n_head) {
    mg__vattn_job aj, rj;
    mg__pool pool;
    float *qkv = (float *)malloc(sizeof(float) * (size_t)n * 3 * d), *o0 = (float *)malloc(sizeof(float) * (size_t)n * d);
    float *o1 = (float *)malloc(sizeof(float) * (size_t)n * d), diff;
    int i;
    for (i = 0; i < n * 3 * d; i++) qkv[i] = urand();
    memset(&aj, 0, sizeof aj);
    mg__vattn_dims(&aj, n, d, n_head);
    rj = aj;
    mg__pool_start(&pool, 2);
    rj.qkv = qkv; rj.out = o0; rj.work = (float *)malloc(sizeof(float) * 2 * (size_t)n);
    mg__pool_run(&pool, mg__vattn_ref_task, &rj);
    aj.qkv = qkv; aj.out = o1;
    aj.kp = (uint32_t *)malloc(4 * mg__vattn_kv_words(&aj));
    aj.vp = aj.kp + (size_t)aj.n_head * aj.nkp * aj.hp * MG__TR;
    aj.work = (float *)malloc(sizeof(float) * 2 * mg__vattn_work_floats(&aj));
    mg__pool_run(&pool, mg__vattn_pack_task, &aj);
    mg__pool_run(&pool, mg__vattn_task, &aj);
    diff = maxdiff(o0, o1, (size_t)n * d);
    CHECK(diff <= 3e-2f, "vision attention n=%d d=%d heads=%d: plain and blocked differ by %g", n, d, n_head, diff);
    mg__pool_stop(&pool);
    free(qkv); free(o0); free(o1); free(rj.work); free(aj.kp); free(aj.work);
}

/* y = W x for quantized random weights, the scalar block against the seam's, bit for bit; the same rows in the
   lanes layout through both lanes entries. */
static void check_mat_block(int wtype, int nt) {
    enum { NR = 37, NL = 32, NIN = 512 };
    size_t rb = mg__row_bytes(wtype, NIN), xs = mg__act_row_bytes(wtype, NIN);
    uint8_t *w = (uint8_t *)malloc(rb * NR), *x = (uint8_t *)malloc(xs * (size_t)nt), *wl = (uint8_t *)malloc(rb * NL);
    float *y0 = (float *)malloc(sizeof(float) * NR * (size_t)nt), *y1 = (float *)malloc(sizeof(float) * NR * (size_t)nt);
    float *src = (float *)malloc(sizeof(float) * NR * NIN), act[NIN];
    int i, t;
    for (i = 0; i < NR * NIN; i++) src[i] = urand();
    CHECK(mg_quantize(wtype, src, w, NR, NIN) == MG_OK, "quantize %s", mg_type_name(wtype));
    for (t = 0; t < nt; t++) {
        for (i = 0; i < NIN; i++) act[i] = urand();
        mg__quant_act(wtype, act, x + (size_t)t * xs, NIN);
    }
    mg__mat_block_scalar(wtype, w, rb, NR, x, xs, nt, NIN, y0, NR);
    mg__mat_block(wtype, w, rb, NR, x, xs, nt, NIN, y1, NR);
    CHECK(memcmp(y0, y1, sizeof(float) * NR * (size_t)nt) == 0, "%s, %d tokens: scalar and seam matrix products differ",
          mg_type_name(wtype), nt);
    for (i = 0; i < NL / 16; i++) mg__lanes_pack(wtype, w + (size_t)i * 16 * rb, rb, wl + (size_t)i * 16 * rb);
    mg__mat_block_lanes_scalar(wtype, wl, rb, NL, x, xs, nt, NIN, y1, NL);
    for (t = 0, i = 0; t < nt; t++) i += memcmp(y0 + (size_t)t * NR, y1 + (size_t)t * NL, sizeof(float) * NL) != 0;
    CHECK(i == 0, "%s, %d tokens: scalar products on the lanes layout differ from the stored rows'", mg_type_name(wtype), nt);
    mg__mat_block_lanes(wtype, wl, rb, NL, x, xs, nt, NIN, y1, NL);
    for (t = 0, i = 0; t < nt; t++) i += memcmp(y0 + (size_t)t * NR, y1 + (size_t)t * NL, sizeof(float) * NL) != 0;
    CHECK(i == 0, "%s, %d tokens: the seam's lanes products differ from the scalar rows'", mg_type_name(wtype), nt);
    free(w); free(x); free(wl); free(y0); free(y1); free(src);
}

int main(void) {
    int nt[3] = { 1, 5, 19 }, i;
    check_attention();
    check_vlinear(MG_TYPE_F32, 0);
    check_vlinear(MG_TYPE_F16, 0);
    check_vlinear(MG_TYPE_F16, 1);
    check_vlinear(MG_TYPE_Q8_0, 0);
    check_vattention(300, 128, 2);
    check_vattention(97, 72, 1);
    for (i = 0; i < 3; i++) {
        check_mat_block(MG_TYPE_Q8_0, nt[i]);
        check_mat_block(MG_TYPE_Q4_K, nt[i]);
        check_mat_block(MG_TYPE_Q6_K, nt[i]);
        check_mat_block(MG_TYPE_Q4_0, nt[i]);
        check_mat_block(MG_TYPE_IQ4_NL, nt[i]);
        check_mat_block(MG_TYPE_Q4_1, nt[i]);
    }
    return MG_TEST_END();
}
