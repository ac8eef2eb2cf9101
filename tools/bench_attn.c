/* Thread-CPU time of the decoder attention alone (mg__attention on one thread) at MedGemma's shape: 8 query
   heads over 4 KV heads, head_dim 256, an F16 cache of N random rows (default 4096). Times an N-token prefill of
   one layer (chunks of 512; skipped with "decode") and a decode step at position N - 1; best of `runs`.
     cc -O2 -march=native -std=c99 -D_POSIX_C_SOURCE=200809L -I. tools/bench_attn.c -o build/bench_attn -lm -lpthread
     build/bench_attn [global: 1 | local: 0] [runs] [N] [decode]
   It includes the implementation and builds a model and session by hand (only what attention reads). */
#include "tools/bench_impl.h"
#include "tools/bench_time.h"


int main(int argc, char **argv) {
    static mg_model m;
    static mg__layer L;
    static mg_session s;
    static mg__kvcache kv;
    int global = argc > 1 ? atoi(argv[1]) : 1, runs = argc > 2 ? atoi(argv[2]) : 3;
    int N = argc > 3 ? atoi(argv[3]) : 4096, dec_only = argc > 4 && strcmp(argv[4], "decode") == 0, C = 512, hd = 256, nh = 8, nkv = 4, i, r, pos0, c;
    size_t kvd = (size_t)nkv * hd, qd = (size_t)nh * hd;
    double best = 1e30, bestd = 1e30, macs = 0, macd;
    uint64_t rs = 88172645463325252ULL;
    float *row = (float *)malloc(kvd * sizeof(float));
    if (N < 1 || N > 1 << 20) { fprintf(stderr, "bench_attn: N %d out of 1..1048576\n", N); return 2; }
    m.hp.n_head = nh; m.hp.n_head_kv = nkv; m.hp.head_dim = hd; m.hp.swa = 1024; m.hp.n_layer = 1;
    L.global = global; m.layer = &L;
    s.m = &m; s.kv = &kv; s.kv_type = MG_TYPE_F16; s.kv_row = mg__row_bytes(MG_TYPE_F16, (int64_t)kvd);
    s.chunk = C; s.n_ctx = N; s.pool.n = 1;
    kv.cap = kv.cap_max = N;
    kv.k = (uint8_t *)malloc((size_t)N * s.kv_row); kv.v = (uint8_t *)malloc((size_t)N * s.kv_row);
    s.q = (float *)malloc((size_t)C * qd * sizeof(float)); s.att = (float *)malloc((size_t)C * qd * sizeof(float));
    s.attw = (float *)malloc(mg__attn_work_floats(&m.hp) * sizeof(float));
    if (!row || !kv.k || !kv.v || !s.q || !s.att || !s.attw) return 1;
    for (i = 0; i < N; i++) {                 /* keys ~ U(-2, 2), values ~ U(-1, 1), q ~ U(-1/4, 1/4) */
        for (c = 0; c < (int)kvd; c++) row[c] = 2.0f * frand(&rs);
        mg__quant_row(MG_TYPE_F16, row, kv.k + (size_t)i * s.kv_row, (int64_t)kvd);
        for (c = 0; c < (int)kvd; c++) row[c] = frand(&rs);
        mg__quant_row(MG_TYPE_F16, row, kv.v + (size_t)i * s.kv_row, (int64_t)kvd);
    }
    for (i = 0; i < C * (int)qd; i++) s.q[i] = 0.25f * frand(&rs);
    for (i = 0; i < N; i++) macs += (double)(global || i < 1023 ? i + 1 : 1024) * hd * 2 * nh;   /* q.k and p v */
    macd = (double)(global ? N : 1024) * hd * 2 * nh;
    for (r = 0; r < runs; r++) {
        double t0 = thread_s(), tp, td;
        for (pos0 = 0; pos0 < N && !dec_only; pos0 += C) mg__attention(&s, 0, pos0 + C < N ? C : N - pos0, pos0, 0);
        tp = thread_s() - t0;
        t0 = thread_s();
        for (i = 0; i < 20; i++) mg__attention(&s, 0, 1, N - 1, 0);
        td = (thread_s() - t0) / 20;
        if (tp < best) best = tp;
        if (td < bestd) bestd = td;
    }
    if (dec_only) printf("%s layer: decode at %d %.3f ms = %.1f GMAC/s\n", global ? "global" : "local", N - 1, bestd * 1e3, macd / bestd * 1e-9);
    else printf("%s layer: prefill of %d tokens %.3f s = %.1f GMAC/s (%.1f GMAC); decode at %d %.3f ms = %.1f GMAC/s\n",
                global ? "global" : "local", N, best, macs / best * 1e-9, macs * 1e-9, N - 1, bestd * 1e3, macd / bestd * 1e-9);
    return 0;
}
