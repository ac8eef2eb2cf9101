/* mgtest.h — the few macros every test program uses.
   CHECK(cond, fmt, ...) counts one assertion; MG_TEST_END() prints "N passed, N failed" and returns the exit code.
   Tests run from the repository root; their data lives in tests/data. */
#ifndef MGTEST_H
#define MGTEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int mgt_pass, mgt_fail;

#define CHECK(cond, ...) do { \
    if (cond) { mgt_pass++; } \
    else { mgt_fail++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
} while (0)

#define MG_TEST_END() (printf("%d passed, %d failed\n", mgt_pass, mgt_fail), mgt_fail ? 1 : 0)

/* Reads a whole file; returns NULL (and *n = 0) when it cannot. Caller frees. */
static inline void *mgt_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long sz;
    *n = 0;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (char *)malloc((size_t)sz + 1);
        if (buf && fread(buf, 1, (size_t)sz, f) == (size_t)sz) { buf[sz] = 0; *n = (size_t)sz; }
        else { free(buf); buf = NULL; }
    }
    fclose(f);
    return buf;
}
#endif
