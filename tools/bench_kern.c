/* Decode kernel throughput: one token against a weight matrix much larger than the caches (random quants), through
   mg__mat_block, rows split in two contiguous halves when two threads run (as the matmul job splits them). Prints
   GB/s of weights read (wall clock, best of `runs`) per type; checks every row against mg__vec_dot.
     make build/bench_kern   (or: cc -O2 -march=native -std=c99 -D_POSIX_C_SOURCE=200809L -I. tools/bench_kern.c -o build/bench_kern -lm -lpthread)
     build/bench_kern [threads: 1 | 2] [runs] [rows]
   It includes the implementation to reach the private kernels. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"   /* the static copy has API functions this tool does not call */
#endif
#define MEDGEMMA_IMPLEMENTATION
#define MEDGEMMA_STATIC
#include "medgemma.h"
#include <time.h>

typedef struct job { int wtype; const uint8_t *w, *x; size_t rb; int64_t lo, hi, n; float *y; } job;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static float frand(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return (float)(*s >> 40) / 8388608.0f - 1.0f;
}
static void *run(void *arg) {   /* the matmul job's pattern: chunks of 64 rows */
    job *j = (job *)arg;
    int64_t r;
    for (r = j->lo; r < j->hi; r += 64) {
        int nr = (int)(j->hi - r < 64 ? j->hi - r : 64);
        mg__mat_block(j->wtype, j->w + (size_t)r * j->rb, j->rb, nr, j->x, 0, 1, j->n, j->y + r, 0);
    }
    return NULL;
}

int main(int argc, char **argv) {
    static const int types[] = { MG_TYPE_Q4_K, MG_TYPE_Q6_K, MG_TYPE_Q8_0 };
    int nth = argc > 1 ? atoi(argv[1]) : 1, runs = argc > 2 ? atoi(argv[2]) : 5, ti, r, t;
    int64_t rows = argc > 3 ? atoll(argv[3]) : 65536, n = 2560, i;
    uint64_t rs = 88172645463325252ULL;
    float *xf = (float *)malloc((size_t)n * sizeof(float)), *y = (float *)malloc((size_t)rows * sizeof(float));
    if (!xf || !y || nth < 1 || nth > 2) return 1;
    for (i = 0; i < n; i++) xf[i] = frand(&rs);
    for (ti = 0; ti < 3; ti++) {
        const int wt = types[ti], at = mg__act_type(wt);
        const size_t rb = mg__row_bytes(wt, n), ab = mg__row_bytes(at, n);
        uint8_t *w = (uint8_t *)malloc((size_t)rows * rb), *x = (uint8_t *)malloc(ab);
        float *row = (float *)malloc((size_t)n * sizeof(float));
        double best = 1e30, maxerr = 0;
        if (!w || !x || !row) return 1;
        for (r = 0; r < 64; r++) {   /* 64 distinct random rows, repeated (the data does not change the speed) */
            for (i = 0; i < n; i++) row[i] = frand(&rs);
            mg__quant_row(wt, row, w + (size_t)r * rb, n);
        }
        for (r = 64; r < rows; r++) memcpy(w + (size_t)r * rb, w + (size_t)(r % 64) * rb, rb);
        mg__quant_row(at, xf, x, n);
        for (r = 0; r < runs; r++) {
            pthread_t th;
            job j[2];
            double t0;
            for (t = 0; t < nth; t++) {
                j[t].wtype = wt; j[t].w = w; j[t].x = x; j[t].rb = rb; j[t].n = n; j[t].y = y;
                j[t].lo = rows * t / nth; j[t].hi = rows * (t + 1) / nth;
            }
            t0 = now();
            if (nth == 2) pthread_create(&th, NULL, run, &j[1]);
            run(&j[0]);
            if (nth == 2) pthread_join(th, NULL);
            t0 = now() - t0;
            if (t0 < best) best = t0;
        }
        for (r = 0; r < 64; r++) {
            double e = fabs((double)y[r] - (double)mg__vec_dot(wt, w + (size_t)r * rb, x, n));
            if (e > maxerr) maxerr = e;
        }
        printf("%-5s %d thread(s): %6.1f GB/s (%.2f ms for %.0f MB), max |kernel - mg__vec_dot| %.3g\n", mg_type_name(wt), nth,
               (double)rows * rb / best * 1e-9, best * 1e3, (double)rows * rb * 1e-6, maxerr);
        free(w); free(x); free(row);
    }
    free(xf); free(y);
    return 0;
}
