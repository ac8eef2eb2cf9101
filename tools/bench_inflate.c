/* bench_inflate.c — inflate speed of examples/readers/inflate.c (BENCHMARKS.md, "Inflate").
   Usage: build/bench_inflate FILE [REPEATS]   FILE: gzip, zlib or raw deflate (detected); REPEATS default 3.
   Prints the best of REPEATS whole-stream inflations: output bytes, seconds, MB/s of output (1 MB = 10^6 bytes). */
#define _POSIX_C_SOURCE 200809L
#include "../examples/readers/files.c"
#include "../examples/readers/image.c"
#include "../examples/readers/inflate.c"

#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    FILE *f;
    unsigned char *in, *out = NULL;
    long n;
    size_t out_n = 0;
    int reps = argc > 2 ? atoi(argv[2]) : 3, r;
    double best = 1e30;
    char err[256];
    if (argc < 2 || reps < 1) { fprintf(stderr, "usage: bench_inflate FILE [REPEATS]\n"); return 2; }
    if (!(f = fopen(argv[1], "rb")) || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "bench_inflate: cannot read %s\n", argv[1]);
        return 1;
    }
    in = (unsigned char *)malloc((size_t)n + 1);
    if (!in || fread(in, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "bench_inflate: read error\n"); return 1; }
    fclose(f);
    for (r = 0; r < reps; r++) {
        double t = now();
        if (mgx_inflate(in, (size_t)n, MGX_INFLATE_AUTO, 0, &out, &out_n, err, sizeof err)) {
            fprintf(stderr, "bench_inflate: %s\n", err);
            return 1;
        }
        t = now() - t;
        if (t < best) best = t;
        free(out);
    }
    printf("%s: %ld -> %lu bytes, best of %d: %.3f s, %.0f MB/s\n", argv[1], n, (unsigned long)out_n, reps, best,
           out_n / best / 1e6);
    free(in);
    return 0;
}
