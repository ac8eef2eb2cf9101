/* make check-header: two translation units, each with its own MEDGEMMA_STATIC copy of the runtime, linked into one
   program (built once with -DSECOND, once with main). Each unit calls a few functions, so every other one must
   compile without an unused-function warning, and the two copies must not clash at link time. */
#define MEDGEMMA_STATIC
#define MEDGEMMA_IMPLEMENTATION
#include "medgemma.h"
#include <string.h>
#ifdef SECOND
const char *second_build_info(void);
const char *second_build_info(void) { return mg_build_info(); }
#else
const char *second_build_info(void);
int main(void) { return strcmp(mg_build_info(), second_build_info()) != 0 || mg_cpu_count() < 1; }
#endif
