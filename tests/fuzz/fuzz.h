/* fuzz.h — shared by the fuzz targets in tests/fuzz (one target per fuzz_*.c file).
   Each target defines LLVMFuzzerTestOneInput. Built with clang -fsanitize=fuzzer it is a libFuzzer program
   (`make fuzz`); built with replay.c it is a plain program that runs the target over files and directories
   (`make test` replays tests/corpus/<target>/ that way). Paths are relative to the repository root, or to
   $MG_FUZZ_ROOT when set. A target that finds a broken invariant calls fz_fail (abort: a crash to libFuzzer). */
#ifndef MG_FUZZ_H
#define MG_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes root/rel into buf (root = $MG_FUZZ_ROOT or "."). */
static inline const char *fz_path(const char *rel, char *buf, size_t cap) {
    const char *root = getenv("MG_FUZZ_ROOT");
    snprintf(buf, cap, "%s/%s", root && root[0] ? root : ".", rel);
    return buf;
}

/* An invariant the target checks does not hold: report and abort (libFuzzer saves the input). */
static inline void fz_fail(const char *what) {
    fprintf(stderr, "fuzz invariant broken: %s\n", what);
    abort();
}

/* A copy of the input with a NUL after it (most text APIs need one); caller frees. */
static inline char *fz_cstr(const uint8_t *data, size_t size) {
    char *s = (char *)malloc(size + 1);
    if (!s) return NULL;
    if (size) memcpy(s, data, size);
    s[size] = 0;
    return s;
}
#endif
