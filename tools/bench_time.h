/* Clocks of the benchmark tools: the wall clock, and the CPU time of the whole process (user + system, every
   thread), which another program's load distorts much less than the wall clock. POSIX. */
#ifndef MG_BENCH_TIME_H
#define MG_BENCH_TIME_H
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
#endif
