/* The MG_MAX_* limits are the embedder's to set: a copy of the runtime built with smaller ones refuses what the
   default build loads, naming the limit and the size it met. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define MG_MAX_VOCAB 4096           /* the tiny vocabulary has 8192 tokens */
#define MEDGEMMA_STATIC
#define MEDGEMMA_IMPLEMENTATION
#include "medgemma.h"
#include "mgtest.h"

int main(void) {
    mg_model *m = NULL;
    mg_error e;
    mg_result r = mg_model_load_file(&m, "tests/data/models/tiny-q8_0.gguf", NULL, &e);
    CHECK(r == MG_ERR_LIMIT && m == NULL && strstr(e.message, "8192") && strstr(e.message, "4096"),
          "MG_MAX_VOCAB 4096 refuses the 8192-token vocabulary: %s", e.message);
    r = mg_model_load_file(&m, "tests/data/vocab/gemma3-vocab.gguf", NULL, &e);
    CHECK(r == MG_ERR_LIMIT, "and the real 262208-token one: %s", e.message);
    mg_model_free(m);
    return MG_TEST_END();
}
