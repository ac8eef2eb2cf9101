/* Clocks and inputs of the benchmark tools: the wall clock, the CPU time of the whole process (user + system, every
   thread) or of the calling thread, which another program's load distorts much less than the wall clock; and
   reproducible pseudo-random floats in [-1, 1) (xorshift). POSIX. */
#ifndef MG_BENCH_TIME_H
#define MG_BENCH_TIME_H
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

static double wall_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}
static double thread_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static float frand(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return (float)(*s >> 40) / 8388608.0f - 1.0f;
}
#endif
