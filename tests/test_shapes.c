/* Other Gemma 3 shapes than the fixtures': models rewritten here with the GGUF writer whose outputs must equal
   the original's exactly, because they compute the same function:
   - GQA -> MHA: 2 KV heads duplicated into 4 (query head h reads KV head h/2 before, h after);
   - MQA: a model whose 2 KV heads are made equal, against the same model stored with 1 KV head;
   - the sliding-window pattern written as llama.cpp's per-layer array instead of the default period 6;
   - a smaller window (64) against a larger one that the prompt does not reach, with an F16 KV cache.
   All of it on the F32 model and again with every matrix quantized to Q5_K by the writer's quantizer (rows are
   quantized one by one, so duplicated heads stay duplicates). */
#include "fixtures.h"
#include "tools/gguf_write.h"

typedef struct edit {
    int n_kv_new;            /* KV heads in the output (0: unchanged) */
    int kv_map[8];           /* output KV head -> input KV head */
    int equalize;            /* copy KV head 0 into every KV head (same n_kv) */
    int pattern_array;       /* write the sliding-window pattern as a per-layer bool array */
    int window;              /* new sliding window (0: unchanged) */
    int qtype;               /* quantize every matrix to this type (0: as stored) */
} edit;

/* A 2-D F32 matrix added as is (qtype 0) or quantized to qtype (the buffer kept in store until the write). */
static void add(mg_gguf_writer *w, const char *name, int qtype, const int64_t *ne, const float *d, void **store, int *ns) {
    size_t nb = qtype ? mg_type_row_size(qtype, ne[0]) * (size_t)ne[1] : sizeof(float) * (size_t)(ne[0] * ne[1]);
    void *q = qtype ? malloc(nb) : NULL;
    if (qtype && (!q || *ns >= 256 || mg_quantize(qtype, d, q, ne[1], ne[0]) != MG_OK)) { printf("FAIL quantize %s\n", name); free(q); return; }
    if (q) store[(*ns)++] = q;
    mg_gguf_writer_add_tensor(w, name, qtype ? qtype : MG_TYPE_F32, 2, ne, q ? q : d, nb);
}

static mg_model *rewrite(const mg_model *src, const edit *ed, void **buf) {
    const mg_gguf *g = mg_model_gguf(src);
    mg_gguf_writer *w = NULL;
    mg_model *m = NULL;
    mg_error e;
    size_t size;
    int64_t i;
    void *store[256];
    int ns = 0, hd = 64, k;
    mg_gguf_writer_new(&w, 0);
    for (i = 0; i < mg_gguf_kv_count(g); i++) {
        const char *key = mg_gguf_kv_key(g, i);
        if (ed->n_kv_new && !strcmp(key, "gemma3.attention.head_count_kv")) mg_gguf_writer_set_u32(w, key, (uint32_t)ed->n_kv_new);
        else if (ed->window && !strcmp(key, "gemma3.attention.sliding_window")) mg_gguf_writer_set_u32(w, key, (uint32_t)ed->window);
        else mg_gguf_writer_copy_kv(w, g, i);
    }
    if (ed->pattern_array) {   /* llama.cpp's array form: true = sliding window; layer 5 global */
        uint8_t pat[6] = { 1, 1, 1, 1, 1, 0 };
        mg_gguf_writer_set_array(w, "gemma3.attention.sliding_window_pattern", MG_GGUF_BOOL, pat, 6);
    }
    for (i = 0; i < mg_gguf_tensor_count(g); i++) {
        mg_tensor_info t;
        const float *d;
        mg_gguf_tensor(g, i, &t);
        d = (const float *)mg_gguf_tensor_data(g, i);
        if ((strstr(t.name, ".attn_k.weight") || strstr(t.name, ".attn_v.weight")) && (ed->n_kv_new || ed->equalize)) {
            int nkv = ed->n_kv_new ? ed->n_kv_new : (int)(t.ne[1] / hd), h;
            int64_t ne[2];
            float *o = (float *)malloc(sizeof(float) * (size_t)(256 * hd * nkv));
            for (h = 0; h < nkv; h++) {
                int from = ed->equalize ? 0 : ed->kv_map[h];
                memcpy(o + (size_t)h * hd * 256, d + (size_t)from * hd * 256, sizeof(float) * (size_t)(hd * 256));
            }
            ne[0] = 256; ne[1] = (int64_t)hd * nkv;
            store[ns++] = o;
            add(w, t.name, ed->qtype, ne, o, store, &ns);
        } else if (ed->qtype && t.n_dims == 2 && t.type == MG_TYPE_F32) add(w, t.name, ed->qtype, t.ne, d, store, &ns);
        else mg_gguf_writer_add_tensor(w, t.name, t.type, t.n_dims, t.ne, d, (size_t)t.nbytes);
    }
    if (mg_gguf_writer_write_mem(w, buf, &size) != MG_OK || mg_model_load_mem(&m, *buf, size, NULL, &e) != MG_OK)
        printf("FAIL rewrite: %s\n", e.message);
    for (k = 0; k < ns; k++) free(store[k]);
    mg_gguf_writer_free(w);
    return m;
}

static float *logits_of(const mg_model *m, const int32_t *ids, int n, int kv) {
    mg_session *s = NULL;
    mg_session_options o;
    float *out = (float *)malloc(8192 * sizeof(float));
    memset(&o, 0, sizeof o);
    o.n_threads = 2; o.n_ctx = 1024; o.kv_type = kv;
    if (mg_session_new(&s, m, &o, NULL) != MG_OK || mg_eval(s, ids, n) != MG_OK) { free(out); mg_session_free(s); return NULL; }
    memcpy(out, mg_logits(s), 8192 * sizeof(float));
    mg_session_free(s);
    return out;
}

/* The shape checks on f32 (the tiny model) or with every matrix quantized to qtype. */
static void check_shapes(const mg_model *f32, int qtype, const int32_t *ids, int n) {
    mg_model *base = NULL, *a, *b;
    void *ba = NULL, *bb = NULL, *b0 = NULL;
    float *la, *lb;
    mg_model_info info;
    edit e;
    memset(&e, 0, sizeof e);
    e.qtype = qtype;
    base = qtype ? rewrite(f32, &e, &b0) : (mg_model *)f32;
    CHECK(base != NULL, "%s model loads", qtype ? mg_type_name(qtype) : "F32");
    if (!base) return;
    printf("  %s matrices\n", qtype ? mg_type_name(qtype) : "F32");
    /* GQA (4 query heads over 2 KV heads) = MHA with each KV head duplicated */
    memset(&e, 0, sizeof e);
    e.qtype = qtype;
    e.n_kv_new = 4; e.kv_map[0] = 0; e.kv_map[1] = 0; e.kv_map[2] = 1; e.kv_map[3] = 1;
    a = rewrite(f32, &e, &ba);
    mg_model_get_info(a, &info);
    CHECK(a && info.n_head_kv == 4, "MHA model loads");
    la = logits_of(base, ids, n, MG_KV_F32); lb = logits_of(a, ids, n, MG_KV_F32);
    CHECK(la && lb && memcmp(la, lb, 8192 * 4) == 0, "GQA 4/2 = MHA 4/4 with duplicated KV heads (bit-identical)");
    free(la); free(lb); mg_model_free(a); free(ba);
    /* MQA: equal KV heads stored twice = stored once */
    memset(&e, 0, sizeof e);
    e.qtype = qtype;
    e.equalize = 1;
    a = rewrite(f32, &e, &ba);
    memset(&e, 0, sizeof e);
    e.qtype = qtype;
    e.n_kv_new = 1;
    b = rewrite(f32, &e, &bb);
    mg_model_get_info(b, &info);
    CHECK(a && b && info.n_head_kv == 1, "MQA model loads");
    la = logits_of(a, ids, n, MG_KV_F32); lb = logits_of(b, ids, n, MG_KV_F16);
    free(lb);
    lb = logits_of(b, ids, n, MG_KV_F32);
    CHECK(la && lb && memcmp(la, lb, 8192 * 4) == 0, "MQA (1 KV head) = 2 equal KV heads (bit-identical)");
    free(la); free(lb); mg_model_free(a); mg_model_free(b); free(ba); free(bb);
    /* the per-layer pattern array means the same as the default period */
    memset(&e, 0, sizeof e);
    e.qtype = qtype;
    e.pattern_array = 1;
    a = rewrite(f32, &e, &ba);
    mg_model_get_info(a, &info);
    CHECK(a && info.swa_period == 0, "pattern array read");
    la = logits_of(base, ids, n, MG_KV_F32); lb = logits_of(a, ids, n, MG_KV_F32);
    CHECK(la && lb && memcmp(la, lb, 8192 * 4) == 0, "per-layer pattern array = period 6");
    free(la); free(lb); mg_model_free(a); free(ba);
    /* window: 103 tokens never reach a window of 512 or 200, but do reach 64 */
    memset(&e, 0, sizeof e);
    e.qtype = qtype;
    e.window = 200;
    a = rewrite(f32, &e, &ba);
    e.window = 64;
    b = rewrite(f32, &e, &bb);
    la = logits_of(base, ids, n, MG_KV_F16); lb = logits_of(a, ids, n, MG_KV_F16);
    CHECK(n == 103 && la && lb && memcmp(la, lb, 8192 * 4) == 0, "window 200 = window 512 for a 103-token prompt");
    free(lb);
    lb = logits_of(b, ids, n, MG_KV_F16);
    CHECK(la && lb && fix_maxdiff(la, lb, 8192) > 0.01f, "window 64 changes the result");
    free(la); free(lb); mg_model_free(a); mg_model_free(b); free(ba); free(bb);
    if (qtype) { mg_model_free(base); free(b0); }
}

int main(void) {
    mg_model *f32 = fix_model(FIX_DIR "models/tiny-f32.gguf");
    mgx_json *pj = fix_json(FIX_DIR "ref/text/prompts.json");
    const char *text = mgx_json_string(mgx_json_get(mgx_json_get(pj, "medium"), "text"));
    int32_t ids[512];
    int n = 0;
    if (!f32 || !text) { CHECK(0, "fixtures"); return MG_TEST_END(); }
    mg_tokenize(f32, text, strlen(text), MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, ids, 512, &n, NULL);
    check_shapes(f32, 0, ids, n);
    check_shapes(f32, MG_TYPE_Q5_K, ids, n);
    mg_model_free(f32);
    mgx_json_free(pj);
    return MG_TEST_END();
}
