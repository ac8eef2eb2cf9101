/* Decode and prefill of a real-size model, weights read into memory, with the matrices in the lanes layout and
   (the same process, the same memory) put back as stored, alternating: the before/after of the lanes kernels under
   one machine load. Per configuration: prefill of `np` tokens, then `ng` greedy decode steps; prints tokens per second
   by the wall clock and CPU milliseconds per token (user + system of the whole process: with 1 thread the
   kernels' own cost, which another program's load distorts much less than the wall clock).
     make build/bench_decode
     build/bench_decode MODEL.gguf [threads] [np] [ng] [rounds] [layouts: both | lanes | stored]
   It includes the implementation to reach the matrices. */
#include "tools/bench_impl.h"
#include "tools/bench_time.h"

/* Every matrix the model keeps in the lanes layout, to the stored layout (lanes 0) or back (lanes 1), in place. */
static void relayout(mg_model *m, int lanes) {
    mg__mat *w[2 + 7 * MG_MAX_LAYERS];
    int n = 0, i, il;
    int64_t G, r;
    w[n++] = &m->tok_embd;
    if (m->output.data != m->tok_embd.data) w[n++] = &m->output;
    for (il = 0; il < m->hp.n_layer; il++) {
        mg__layer *L = &m->layer[il];
        w[n++] = &L->wq; w[n++] = &L->wk; w[n++] = &L->wv; w[n++] = &L->wo; w[n++] = &L->gate; w[n++] = &L->up; w[n++] = &L->down;
    }
    for (i = 0; i < n; i++) {
        mg__mat *a = w[i];
        uint8_t *tmp = (uint8_t *)malloc(16 * a->row_bytes);
        if (!mg__lanes_wanted(a->type) || a->n_out % 16 || !tmp) { free(tmp); continue; }
        for (G = 0; G < a->n_out / 16; G++) {
            uint8_t *grp = (uint8_t *)(uintptr_t)(a->data + (size_t)G * 16 * a->row_bytes);
            if (lanes) {
                memcpy(tmp, grp, 16 * a->row_bytes);
                mg__lanes_pack(a->type, tmp, a->row_bytes, grp);
            } else {
                a->lanes = 1;
                for (r = 0; r < 16; r++) mg__mat_row(a, 16 * G + r, tmp + (size_t)r * a->row_bytes);
                memcpy(grp, tmp, 16 * a->row_bytes);
            }
        }
        a->lanes = lanes;
        free(tmp);
    }
    m->output.lanes = m->output.data == m->tok_embd.data ? m->tok_embd.lanes : m->output.lanes;
}

/* The 1-minute load average (Linux), or -1. */
static double load1(void) {
    FILE *f = fopen("/proc/loadavg", "r");
    double l = -1;
    if (f) { if (fscanf(f, "%lf", &l) != 1) l = -1; fclose(f); }
    return l;
}

static void run(mg_model *m, int threads, int np, int ng, const char *name) {
    mg_session *s = NULL;
    mg_session_options so;
    int32_t *ids = (int32_t *)malloc(sizeof(int32_t) * (size_t)(np + 1)), b = 0;
    uint64_t st = 7;
    double w0, c0, wp = 0, cp = 0;
    int i, k;
    memset(&so, 0, sizeof so);
    so.n_threads = threads; so.n_ctx = np + ng + 8;
    if (!ids || mg_session_new(&s, m, &so, NULL) != MG_OK) { fprintf(stderr, "bench_decode: session\n"); exit(1); }
    for (i = 0; i < np + 1; i++) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; ids[i] = (int32_t)(300 + st % (uint64_t)(m->hp.n_vocab - 300)); }
    w0 = wall_s(); c0 = cpu_s();
    if (mg_eval(s, ids, np > 0 ? np : 1) != MG_OK) { fprintf(stderr, "bench_decode: %s\n", mg_session_error(s)); exit(1); }
    wp = wall_s() - w0; cp = cpu_s() - c0;
    w0 = wall_s(); c0 = cpu_s();
    for (i = 0; i < ng; i++) {
        const float *l = mg_logits(s);
        for (k = 1, b = 0; k < m->hp.n_vocab; k++) if (l[k] > l[b]) b = k;
        if (mg_eval(s, &b, 1) != MG_OK) { fprintf(stderr, "bench_decode: %s\n", mg_session_error(s)); exit(1); }
    }
    w0 = wall_s() - w0; c0 = cpu_s() - c0;
    printf("%-7s prefill %4d: %7.2f tok/s wall, %7.2f CPU ms/tok | decode %4d: %6.2f tok/s wall, %7.2f CPU ms/tok\n", name,
           np, np / wp, cp * 1e3 / (np > 0 ? np : 1), ng, ng / w0, c0 * 1e3 / ng);
    fflush(stdout);
    mg_session_free(s);
    free(ids);
}

int main(int argc, char **argv) {
    mg_model *m = NULL;
    mg_model_options mo;
    mg_error e;
    int threads = argc > 2 ? atoi(argv[2]) : 1, np = argc > 3 ? atoi(argv[3]) : 8, ng = argc > 4 ? atoi(argv[4]) : 32;
    int rounds = argc > 5 ? atoi(argv[5]) : 2, r;
    const char *layouts = argc > 6 ? argv[6] : "both";
    double t0 = wall_s();
    if (argc < 2 || threads < 1 || np < 0 || ng < 1 || rounds < 1) {
        fprintf(stderr, "usage: bench_decode MODEL.gguf [threads] [np] [ng] [rounds] [both|lanes|stored]\n");
        return 2;
    }
    memset(&mo, 0, sizeof mo);
    mo.no_mmap = 1;
    if (mg_model_load_file(&m, argv[1], &mo, &e) != MG_OK) { fprintf(stderr, "bench_decode: %s\n", e.message); return 1; }
    printf("%s: load %.1f s, threads %d, output %s in the lanes layout\n", argv[1], wall_s() - t0, threads, m->output.lanes ? "is" : "is not");
    for (r = 0; r < rounds; r++) {
        if (strcmp(layouts, "stored")) {
            if (!m->tok_embd.lanes) relayout(m, 1);
            printf("[load %5.2f] ", load1());
            run(m, threads, np, ng, "lanes");
        }
        if (strcmp(layouts, "lanes")) {
            if (m->tok_embd.lanes) relayout(m, 0);
            printf("[load %5.2f] ", load1());
            run(m, threads, np, ng, "stored");
        }
    }
    {   /* the NaN/Inf checks of a decode step: every layer's output (n_embd) and the logits (n_vocab) */
        const int64_t V = m->hp.n_vocab, E = m->hp.n_embd;
        float *buf = (float *)calloc((size_t)V, sizeof(float));
        struct timespec t;
        double c0;
        int64_t bad = 0;
        int k, il;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); c0 = (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
        for (k = 0; k < 200 && buf; k++) {
            for (il = 0; il < m->hp.n_layer; il++) bad += mg__nonfinite(buf + (size_t)il * 64, E);
            bad += mg__nonfinite(buf, V);
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        printf("NaN/Inf checks of one decode step (%d x %lld + %lld floats): %.3f ms of CPU (%lld)\n", m->hp.n_layer, (long long)E,
               (long long)V, ((double)t.tv_sec + 1e-9 * (double)t.tv_nsec - c0) * 1e3 / 200, (long long)bad);
        free(buf);
    }
    mg_model_free(m);
    return 0;
}
