/* fuzz_gguf.c — GGUF parsing and model validation on hostile bytes.
   The view API (metadata formatting, tensor table, dequantizing the first rows of small tensors), then
   mg_model_load_mem (a gemma3 text model, or a clip vision file alone) and, when a small model loads, a
   session that evaluates two tokens with the fuzzed weights (NaNs are fine; reads out of bounds are not), or
   for a small vision file, encodes a 3 x 2 image. */
#include "fuzz.h"
#include "medgemma.h"
#include "tools/gguf_write.h"

/* Copies every metadata pair into a writer; the written file must parse and format each value the same. */
static void rewrite(const mg_gguf *g) {
    mg_gguf_writer *w;
    mg_gguf *g2;
    void *buf = NULL;
    size_t n = 0;
    int64_t i, nk = mg_gguf_kv_count(g);
    char a[256], b[256];
    for (i = 0; i < nk; i++) if (mg_gguf_find_key(g, mg_gguf_kv_key(g, i)) != i) return;   /* repeated key */
    if (mg_gguf_writer_new(&w, 0) != MG_OK) return;
    for (i = 0; i < nk; i++) if (mg_gguf_writer_copy_kv(w, g, i) != MG_OK) break;
    if (i == nk && mg_gguf_writer_write_mem(w, &buf, &n) == MG_OK) {
        if (mg_gguf_open_mem(&g2, buf, n, NULL) != MG_OK) fz_fail("the writer's copy does not parse");
        if (mg_gguf_kv_count(g2) != nk) fz_fail("the copy has another number of pairs");
        for (i = 0; i < nk; i++) {
            mg_gguf_kv_format(g, i, a, sizeof a, 8);
            mg_gguf_kv_format(g2, i, b, sizeof b, 8);
            if (strcmp(a, b) != 0 || strcmp(mg_gguf_kv_key(g, i), mg_gguf_kv_key(g2, i)) != 0) fz_fail("a copied pair differs");
        }
        mg_gguf_close(g2);
        free(buf);
    }
    mg_gguf_writer_free(w);
}

static void view(const uint8_t *data, size_t size) {
    mg_gguf *g;
    char buf[256];
    int64_t i, n;
    if (mg_gguf_open_mem(&g, data, size, NULL) != MG_OK) return;
    n = mg_gguf_kv_count(g);
    for (i = 0; i < n; i++) {
        int at;
        uint64_t an;
        mg_gguf_kv_format(g, i, buf, sizeof buf, 4);
        mg_gguf_kv_type(g, i, &at, &an);
        if (mg_gguf_find_key(g, mg_gguf_kv_key(g, i)) < 0) fz_fail("a listed key is not found by name");
    }
    n = mg_gguf_tensor_count(g);
    for (i = 0; i < n; i++) {
        mg_tensor_info t;
        float out[2 * 4096];
        mg_gguf_tensor(g, i, &t);
        mg_gguf_tensor_data(g, i);
        if (t.n_dims >= 1 && t.ne[0] > 0 && t.ne[0] <= 4096)
            mg_gguf_dequantize(g, i, 0, t.n_dims > 1 && t.ne[1] > 1 ? 2 : 1, out, NULL);
    }
    rewrite(g);
    mg_gguf_close(g);
}

/* A vision file with images of at most 64 x 64 pixels: one small image through the encoder. */
static void encode(const mg_model *m, mg_session *s) {
    static const uint8_t px[3 * 2 * 3] = { 0, 255, 9, 80, 7, 200, 33, 1, 250, 128, 128, 128, 5, 6, 7, 99, 98, 97 };
    mg_image img;
    mg_image_embd out;
    int side = 0;
    img.w = 3; img.h = 2; img.channels = 3; img.pixels = px;
    if (mg_image_preprocess(m, &img, MG_IMAGE_MEDGEMMA, NULL, &side, NULL) != MG_OK || side > 64) return;
    if (mg_encode_image(s, &img, MG_IMAGE_MEDGEMMA, &out) == MG_OK) mg_image_embd_free(&out);
}

/* A loaded model small enough to run: two tokens through a 1-thread session, or one small image. */
static void run(const mg_model *m) {
    mg_model_info info;
    mg_session *s;
    mg_session_options so;
    int32_t ids[2] = { 0, 1 };
    mg_model_get_info(m, &info);
    memset(&so, 0, sizeof so);
    so.n_ctx = 8; so.n_threads = 1;
    if (!info.has_weights && info.has_vision && mg_session_new(&s, m, &so, NULL) == MG_OK) {
        encode(m, s);
        mg_session_free(s);
    }
    if (!info.has_weights || info.weight_bytes > (1u << 20) || info.n_vocab < 2 ||
        (int64_t)info.n_layer * info.n_embd * info.n_ff > (1 << 20) || info.n_head * info.head_dim > 4096)
        return;
    if (mg_session_new(&s, m, &so, NULL) != MG_OK) return;
    if (mg_eval(s, ids, 2) == MG_OK && !mg_logits(s)) fz_fail("eval succeeded without logits");
    mg_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mg_model *m;
    mg_model_options o;
    mg_error e;
    int32_t ids[16];
    int n;
    view(data, size);
    memset(&o, 0, sizeof o);
    for (o.vocab_only = 0; o.vocab_only < 2; o.vocab_only++) {
        mg_result r = mg_model_load_mem(&m, data, size, &o, &e);
        if (r != MG_OK) {
            if (m) fz_fail("failed load left a model");
            if (e.code != r || !memchr(e.message, 0, sizeof e.message)) fz_fail("error detail does not match the result");
            continue;
        }
        if (mg_tokenize(m, "Hi <start_of_turn>user\n", 23, MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, ids, 16, &n, NULL) == MG_OK) {
            char txt[64];
            size_t len;
            mg_detokenize(m, ids, n, MG_DETOK_SPECIAL, txt, sizeof txt, &len, NULL);
        }
        if (!o.vocab_only) run(m);
        mg_model_free(m);
    }
    return 0;
}
