/* bounds_hooks.h — forced into every file of tests/test_bounds (make: -include): the readers allocate and count
   their work through the test's functions, so the test can bound peak memory and work per input. */
#ifndef BOUNDS_HOOKS_H
#define BOUNDS_HOOKS_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

void *tb_malloc(size_t n);
void *tb_realloc(void *p, size_t n);
void tb_free(void *p);
void tb_count(int kind, uint64_t amount);

#define MGX_MALLOC(n) tb_malloc(n)
#define MGX_REALLOC(p, n) tb_realloc(p, n)
#define MGX_FREE(p) tb_free(p)
#define MGX_COUNT(kind, amount) tb_count(kind, (uint64_t)(amount))
#endif
