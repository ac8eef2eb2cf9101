/* fixtures.h — reading the llama.cpp reference outputs in tests/data (copied from shared/fixtures; see
   tests/data/FIXTURES-README.md for what each file is and which tolerances hold). */
#ifndef FIXTURES_H
#define FIXTURES_H
#include "mgtest.h"
#include "mgx_json.h"
#include "medgemma.h"

#define FIX_DIR "tests/data/"

static inline mgx_json *fix_json(const char *path) {
    size_t n;
    char err[256];
    char *text = (char *)mgt_read_file(path, &n);
    mgx_json *j = text ? mgx_json_parse(text, n, err, sizeof err) : NULL;
    if (!j) printf("FAIL cannot read JSON %s%s%s\n", path, text ? ": " : "", text ? err : "");
    free(text);
    return j;
}

/* Raw little-endian float32 file; *n = floats read. */
static inline float *fix_floats(const char *path, size_t *n) {
    size_t bytes;
    float *f = (float *)mgt_read_file(path, &bytes);
    *n = f ? bytes / 4 : 0;
    if (!f) printf("FAIL cannot read %s\n", path);
    return f;
}

/* ids of a JSON number array into a malloc'd int32 array. */
static inline int32_t *fix_ids(const mgx_json *arr, int *n) {
    size_t i, k = mgx_json_len(arr);
    int32_t *ids = (int32_t *)malloc(sizeof(int32_t) * (k + 1));
    for (i = 0; ids && i < k; i++) ids[i] = (int32_t)mgx_json_number(mgx_json_at(arr, i), -1);
    *n = (int)k;
    return ids;
}

static inline float fix_maxdiff(const float *a, const float *b, size_t n) {
    float m = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}

static inline mg_model *fix_model(const char *path) {
    mg_model *m = NULL;
    mg_error e;
    if (mg_model_load_file(&m, path, NULL, &e) != MG_OK) { printf("FAIL load %s: %s\n", path, e.message); return NULL; }
    return m;
}

static inline mg_session *fix_session(const mg_model *m, int threads, int batch) {
    mg_session *s = NULL;
    mg_session_options o;
    memset(&o, 0, sizeof o);
    o.n_threads = threads;
    o.n_batch = batch;
    o.n_ctx = 4096;
    o.kv_type = MG_KV_F32;      /* the references were made with an F32 KV cache */
    o.vision_f32 = 1;           /* and float image products (embeddings within 0.01) */
    if (mg_session_new(&s, m, &o, NULL) != MG_OK) printf("FAIL session\n");
    return s;
}

static inline int32_t fix_argmax(const float *x, int n) {
    int32_t b = 0, i;
    for (i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}
#endif
