/* Every named intermediate of the decoder against llama.cpp's layer-by-layer trace of one prompt on tiny-f32
   (tests/data/ref/trace): embeddings, norms, Q/K before and after RoPE, V, attention output, residuals, FFN,
   final norm and logits. llama.cpp computes the last layer's post-attention stages for the last token only,
   so where its tensor has one column we compare our last column. */
#include "fixtures.h"

typedef struct tap_store { char name[64]; float *data; int64_t ne[4]; } tap_store;
typedef struct taps { tap_store t[256]; int n; } taps;

static void on_tap(void *user, const char *name, int layer, const float *data, const int64_t ne[4]) {
    taps *T = (taps *)user;
    tap_store *s;
    size_t count = (size_t)(ne[0] * ne[1] * ne[2] * ne[3]);
    if (T->n >= 256) return;
    s = &T->t[T->n++];
    if (layer >= 0) snprintf(s->name, sizeof s->name, "%s-%d", name, layer);
    else snprintf(s->name, sizeof s->name, "%s", name);
    memcpy(s->ne, ne, sizeof s->ne);
    s->data = (float *)malloc(count * sizeof(float));
    memcpy(s->data, data, count * sizeof(float));
}

int main(void) {
    mg_model *m = fix_model(FIX_DIR "models/tiny-f32.gguf");
    mgx_json *index = fix_json(FIX_DIR "ref/trace/tensors/index.json");
    mg_session *s = NULL;
    mg_session_options o;
    static taps T;
    size_t i, nprompt;
    char *prompt = (char *)mgt_read_file(FIX_DIR "ref/trace/trace_prompt.txt", &nprompt);
    int32_t ids[64], want[8] = { 2, 723, 6118, 720, 401, 1032, 500, 7602 };
    int n = 0, k, matched = 0;
    if (!m || !index || !prompt) { CHECK(0, "fixtures"); return MG_TEST_END(); }
    memset(&o, 0, sizeof o);
    o.n_threads = 2; o.kv_type = MG_KV_F32; o.n_ctx = 512;
    o.tap = on_tap; o.tap_user = &T;
    CHECK(mg_session_new(&s, m, &o, NULL) == MG_OK, "session");
    CHECK(mg_tokenize(m, prompt, nprompt, MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, ids, 64, &n, NULL) == MG_OK &&
          n == 8 && memcmp(ids, want, sizeof want) == 0, "trace prompt ids (trace.json)");
    CHECK(mg_eval(s, ids, n) == MG_OK, "eval");
    for (i = 0; i < mgx_json_len(index); i++) {
        const mgx_json *e = mgx_json_at(index, i);
        const char *name = mgx_json_string(mgx_json_get(e, "name"));
        char path[256];
        size_t nref, cols, rows, col0;
        float *ref, scale = 0, diff = 0;
        const tap_store *t = NULL;
        snprintf(path, sizeof path, FIX_DIR "ref/trace/tensors/%s", mgx_json_string(mgx_json_get(e, "file")));
        for (k = 0; k < T.n; k++) if (!strcmp(T.t[k].name, name)) t = &T.t[k];
        if (!t) { CHECK(0, "no tap named %s", name); continue; }
        ref = fix_floats(path, &nref);
        rows = (size_t)t->ne[0] * (size_t)(t->ne[2] > 1 ? t->ne[1] : 1);   /* values per token */
        cols = (size_t)(t->ne[2] > 1 ? t->ne[2] : t->ne[1]);
        col0 = nref == rows * cols ? 0 : cols - nref / rows;                  /* last column only */
        CHECK(nref == rows * (cols - col0), "%s: %zu values, ours %zu x %zu", name, nref, rows, cols);
        if (nref != rows * (cols - col0)) { free(ref); continue; }
        for (k = 0; k < (int)nref; k++) scale = fabsf(ref[k]) > scale ? fabsf(ref[k]) : scale;
        diff = fix_maxdiff(t->data + col0 * rows, ref, nref);
        /* float32 both sides; differences come from summation order and the f16 GELU: 1e-3 of the range */
        CHECK(diff <= 1e-3f * (scale > 1 ? scale : 1), "%s: max abs diff %g (range %g)", name, diff, scale);
        matched++;
        free(ref);
    }
    CHECK(matched == 88, "compared %d of 88 trace tensors", matched);
    for (k = 0; k < T.n; k++) free(T.t[k].data);
    mg_session_free(s);
    mg_model_free(m);
    mgx_json_free(index);
    free(prompt);
    return MG_TEST_END();
}
