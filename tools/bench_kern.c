/* Matrix kernel throughput on MedGemma's shapes (random quants, n_in 2560): decode = one token against a matrix much
   larger than the caches, prefill = `toks` tokens against 4096 rows; weights as stored and in the lanes layout
   (>>kernels), through mg__mat_block / mg__mat_block_lanes, rows split in two contiguous halves when two threads
   run (as the matmul job splits them). Prints GB/s of weights read (decode) or GMAC/s (prefill), by the wall
   clock and by the threads' own CPU time (what a loaded machine does not distort as much), best of `runs`;
   checks every row against mg__vec_dot.
     make build/bench_kern
     build/bench_kern [threads: 1 | 2] [runs] [rows] [toks]
   It includes the implementation to reach the private kernels. */
#include "tools/bench_impl.h"
#include "tools/bench_time.h"

typedef struct job { int wtype, lanes, nt, reps; const uint8_t *w, *x; size_t rb, xs, ys; int64_t lo, hi, n; float *y; double cpu; } job;

static double clock_s(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
/* 64-byte aligned, as the model's tensors are within the 2 MiB-aligned buffer of a file read into memory (GGUF
   alignment 32 or more) */
static void *alloc64(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, n) == 0 ? p : NULL;
}
static void *run(void *arg) {   /* the matmul job's pattern: chunks of 64 rows (tokens in blocks of 128) */
    job *j = (job *)arg;
    double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    int64_t r;
    int t, k;
    for (k = 0; k < j->reps; k++)
    for (r = j->lo; r < j->hi; r += 64) {
        int nr = (int)(j->hi - r < 64 ? j->hi - r : 64);
        for (t = 0; t < j->nt; t += MG__TOK_BLOCK) {
            int m = j->nt - t < MG__TOK_BLOCK ? j->nt - t : MG__TOK_BLOCK;
            (j->lanes ? mg__mat_block_lanes : mg__mat_block)(j->wtype, j->w + (size_t)r * j->rb, j->rb, nr, j->x + (size_t)t * j->xs,
                                                           j->xs, m, j->n, j->y + (size_t)t * j->ys + r, j->ys);
        }
    }
    j->cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    return NULL;
}

/* One (type, layout, tokens) case: best wall and best CPU seconds (max over threads) of `runs`, per pass over the
   rows (a matrix under 4 MB is passed over repeatedly in each run: its rate in cache). */
static void measure(int wt, int lanes, const uint8_t *w, size_t rb, int64_t rows, const uint8_t *x, size_t xs, int nt, int64_t n,
                    float *y, int nth, int runs, double *wall, double *cpu) {
    int r, t, reps = rows * rb * nt < ((size_t)4 << 20) ? (int)(((size_t)64 << 20) / (rows * rb * nt)) : 1;
    *wall = *cpu = 1e30;
    for (r = 0; r < runs; r++) {
        pthread_t th;
        job j[2];
        double t0, c = 0;
        for (t = 0; t < nth; t++) {
            j[t].wtype = wt; j[t].lanes = lanes; j[t].nt = nt; j[t].w = w; j[t].x = x; j[t].rb = rb; j[t].xs = xs; j[t].n = n; j[t].y = y; j[t].ys = (size_t)rows;
            j[t].lo = rows / 16 * t / nth * 16; j[t].hi = rows / 16 * (t + 1) / nth * 16;
            j[t].reps = reps;
        }
        t0 = clock_s(CLOCK_MONOTONIC);
        if (nth == 2) pthread_create(&th, NULL, run, &j[1]);
        run(&j[0]);
        if (nth == 2) pthread_join(th, NULL);
        t0 = clock_s(CLOCK_MONOTONIC) - t0;
        for (t = 0; t < nth; t++) c = j[t].cpu > c ? j[t].cpu : c;
        if (t0 / reps < *wall) *wall = t0 / reps;
        if (c / reps < *cpu) *cpu = c / reps;
    }
}

int main(int argc, char **argv) {
    static const int types[] = { MG_TYPE_Q4_K, MG_TYPE_Q6_K, MG_TYPE_Q8_0, MG_TYPE_Q4_0, MG_TYPE_IQ4_NL, MG_TYPE_Q4_1 };
    int nth = argc > 1 ? atoi(argv[1]) : 1, runs = argc > 2 ? atoi(argv[2]) : 5, toks = argc > 4 ? atoi(argv[4]) : 128, ti, r, lanes;
    int64_t rows = argc > 3 ? atoll(argv[3]) : 65536, n = 2560, prows = 4096, i;
    uint64_t rs = 88172645463325252ULL;
    float *xf = (float *)malloc((size_t)n * toks * sizeof(float));
    if (!xf || nth < 1 || nth > 2 || rows < 16 || rows % 16 || toks < 1) return 1;
    for (i = 0; i < n * toks; i++) xf[i] = frand(&rs);
    printf("threads %d, n_in %lld; decode: %lld rows, prefill: %d tokens x %lld rows; best of %d\n", nth, (long long)n,
           (long long)rows, toks, (long long)prows, runs);
    for (ti = 0; ti < (int)(sizeof types / sizeof types[0]); ti++) {
        const int wt = types[ti];
        const size_t rb = mg__row_bytes(wt, n), xs = mg__act_row_bytes(wt, n);
        uint8_t *w = (uint8_t *)alloc64((size_t)(rows > prows ? rows : prows) * rb), *wl = (uint8_t *)alloc64((size_t)(rows > prows ? rows : prows) * rb);
        uint8_t *x = (uint8_t *)alloc64(xs * toks);
        float *row = (float *)malloc((size_t)n * sizeof(float)), *y = (float *)malloc((size_t)(rows > prows ? rows : prows) * toks * sizeof(float));
        if (!w || !wl || !x || !row || !y) return 1;
        for (r = 0; r < 64; r++) {   /* 64 distinct random rows, repeated (the data does not change the speed) */
            for (i = 0; i < n; i++) row[i] = frand(&rs);
            mg__quant_row(wt, row, w + (size_t)r * rb, n);
        }
        for (r = 64; r < (rows > prows ? rows : prows); r++) memcpy(w + (size_t)r * rb, w + (size_t)(r % 64) * rb, rb);
        for (r = 0; r < (rows > prows ? rows : prows) / 16; r++) mg__lanes_pack(wt, w + (size_t)r * 16 * rb, rb, wl + (size_t)r * 16 * rb);
        for (r = 0; r < toks; r++) mg__quant_act(wt, xf + (size_t)r * n, x + (size_t)r * xs, n);
        for (lanes = 0; lanes < 2; lanes++) {
            double wall, cpu, maxerr = 0, gmac;
            const uint8_t *wp = lanes ? wl : w;
            measure(wt, lanes, wp, rb, rows, x, xs, 1, n, y, nth, runs, &wall, &cpu);
            for (r = 0; r < (rows < 64 ? rows : 64); r++) {
                double e = fabs((double)y[r] - (double)mg__vec_dot(wt, w + (size_t)r * rb, x, n));
                if (e > maxerr) maxerr = e;
            }
            printf("%-5s %-6s decode : %6.1f GB/s wall, %6.1f GB/s per thread CPU (%.2f ms for %.0f MB), max |kernel - mg__vec_dot| %.3g\n",
                   mg_type_name(wt), lanes ? "lanes" : "stored", (double)rows * rb / wall * 1e-9, (double)rows * rb / cpu * 1e-9 / nth, wall * 1e3,
                   (double)rows * rb * 1e-6, maxerr);
            measure(wt, lanes, wp, rb, prows, x, xs, toks, n, y, nth, runs, &wall, &cpu);
            gmac = (double)prows * n * toks * 1e-9;
            printf("%-5s %-6s prefill: %6.1f GMAC/s wall, %6.1f GMAC/s per thread CPU\n", mg_type_name(wt), lanes ? "lanes" : "stored",
                   gmac / wall, gmac / cpu / nth);
        }
        free(w); free(wl); free(x); free(row); free(y);
    }
    free(xf);
    return 0;
}
