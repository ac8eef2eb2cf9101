/* The runtime's implementation as a static copy inside a benchmark tool, which reaches its private kernels. */
#ifndef MG_BENCH_IMPL_H
#define MG_BENCH_IMPL_H
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"      /* the static copy has API functions the tool does not call */
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  /* whole-program inlining of the static copy confuses GCC 12's */
#pragma GCC diagnostic ignored "-Wnonnull"              /* flow analysis (the library build has no such warnings) */
#endif
#define MEDGEMMA_IMPLEMENTATION
#define MEDGEMMA_STATIC
#include "medgemma.h"
#endif
