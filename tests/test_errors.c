/* What the library says when a call cannot do its job: every public call that fails for a reason other than a
   bad pointer returns its code and a message naming the option, limit (with its value) and the size it met;
   limits are checked before the work (text bytes before tokenizing, a prompt against the context before feeding);
   hostile files that would give NaN answers are refused (image_mean/std, overlapping tensor data) and NaN or Inf
   in a layer's output or the image embeddings stops the call with MG_ERR_NUMERIC; generation says why it stopped. */
#include "fixtures.h"
#include "tools/gguf_write.h"

/* A copy of a model file with edits: tensor `nan_tensor` gets a NaN in its first value, key `key` (if not NULL)
   becomes an F32 array of 3 values, and with same_offset every tensor's offset field is 0. */
static void *rewrite(const char *path, const char *nan_tensor, const char *key, const float *vals, int same_offset, size_t *size) {
    mg_model *src = fix_model(path);
    const mg_gguf *g = mg_model_gguf(src);
    mg_gguf_writer *w = NULL;
    void *buf = NULL;
    float *copy = NULL;
    int64_t i;
    mg_gguf_writer_new(&w, 0);
    for (i = 0; i < mg_gguf_kv_count(g); i++)
        if (!key || strcmp(mg_gguf_kv_key(g, i), key)) mg_gguf_writer_copy_kv(w, g, i);
    if (key) mg_gguf_writer_set_array(w, key, MG_GGUF_F32, vals, 3);
    for (i = 0; i < mg_gguf_tensor_count(g); i++) {
        mg_tensor_info t;
        const void *d = mg_gguf_tensor_data(g, i);
        mg_gguf_tensor(g, i, &t);
        if (nan_tensor && !strcmp(t.name, nan_tensor)) {
            copy = (float *)malloc((size_t)t.nbytes);
            memcpy(copy, d, (size_t)t.nbytes);
            copy[0] = NAN;
            d = copy;
        }
        if (same_offset) mg_gguf_writer_add_tensor_raw(w, t.name, t.type, t.n_dims, t.ne, d, (size_t)t.nbytes, 0);
        else mg_gguf_writer_add_tensor(w, t.name, t.type, t.n_dims, t.ne, d, (size_t)t.nbytes);
    }
    if (mg_gguf_writer_write_mem(w, &buf, size) != MG_OK) printf("FAIL rewrite %s\n", path);
    mg_gguf_writer_free(w);
    free(copy);
    mg_model_free(src);
    return buf;
}

static void check_messages(void) {
    mg_model *m = fix_model(FIX_DIR "models/tiny-q8_0.gguf"), *voc = fix_model(FIX_DIR "vocab/gemma3-vocab.gguf");
    mg_session *s = NULL;
    mg_session_options o;
    mg_error e;
    mg_prompt p;
    mg_chat_item img = { NULL, NULL };
    mg_chat_turn turn = { "user", &img, 1 };
    memset(&o, 0, sizeof o);
    o.kv_type = 9;
    e.message[0] = 0;
    CHECK(mg_session_new(&s, m, &o, &e) == MG_ERR_INVALID_ARG && e.code == MG_ERR_INVALID_ARG && strstr(e.message, "kv_type 9"),
          "session with a bad kv_type says so: %s", e.message);
    o.kv_type = 0; o.n_ctx = MG_MAX_CTX + 1;
    CHECK(mg_session_new(&s, m, &o, &e) == MG_ERR_INVALID_ARG && strstr(e.message, "n_ctx") && strstr(e.message, "1048577"),
          "session n_ctx above MG_MAX_CTX names both: %s", e.message);
    CHECK(mg_session_new(&s, voc, NULL, &e) == MG_ERR_STATE && strstr(e.message, "vocabulary"), "vocab-only session: %s", e.message);
    CHECK(mg_chat_build(m, NULL, &turn, 1, 1, &p, &e) == MG_ERR_NO_VISION && strstr(e.message, "mmproj"),
          "an image item without vision names the mmproj: %s", e.message);
    mg_model_free(m); mg_model_free(voc);
}

static void check_limits(void) {
    mg_model *m = fix_model(FIX_DIR "models/tiny-q8_0.gguf");
    size_t big = (size_t)MG_MAX_PROMPT_TOKENS * 4 + 1, n = (size_t)MG_MAX_PROMPT_TOKENS + 1;
    char *text = (char *)malloc(big + 1);
    int n_ids = -1;
    mg_error e;
    mg_prompt p;
    mg_chat_item item;
    mg_chat_turn turn;
    memset(text, 'a', big); text[big] = 0;
    e.message[0] = 0;
    CHECK(mg_tokenize(m, text, big, 0, NULL, 0, &n_ids, &e) == MG_ERR_LIMIT && strstr(e.message, "4194305") && strstr(e.message, "4194304"),
          "tokenize refuses 4 MiB + 1 bytes before tokenizing, naming size and limit: %s", e.message);
    item.text = text; item.image = NULL; turn.role = "user"; turn.items = &item; turn.n_items = 1;
    CHECK(mg_chat_build(m, NULL, &turn, 1, 1, &p, &e) == MG_ERR_LIMIT && strstr(e.message, "4194304"),
          "the chat builder refuses the same note before tokenizing: %s", e.message);
    memset(text, 0xff, n);                   /* invalid UTF-8: one byte token each, 2^20 + 1 tokens in 1 MiB + 1 byte */
    CHECK(mg_tokenize(m, text, n, 0, NULL, 0, &n_ids, &e) == MG_ERR_LIMIT && strstr(e.message, "1048576"),
          "tokenize stops at MG_MAX_PROMPT_TOKENS: %s (%d ids)", e.message, n_ids);
    CHECK(mg_tokenize(m, text, n - 1, 0, NULL, 0, &n_ids, NULL) == MG_ERR_BUFFER && n_ids == MG_MAX_PROMPT_TOKENS,
          "2^20 tokens exactly are allowed (%d)", n_ids);
    free(text);
    mg_model_free(m);
}

/* A prompt that cannot fit is refused before any position is fed; generation reports why it stopped. */
static void check_context_and_stops(void) {
    mg_model *m = fix_model(FIX_DIR "models/tiny-q8_0.gguf");
    mg_session *s = NULL;
    mg_session_options o;
    mg_prompt p;
    mg_image_embd fake;
    mg_chat_item items[3];
    mg_chat_turn turn;
    mg_generate_options g;
    int why = 0, n = 0, i;
    float *data = (float *)calloc(256 * 256, sizeof(float));
    mg_error e;
    mg_model_options mo;
    mg_model *vm = NULL;
    memset(&mo, 0, sizeof mo);
    mo.mmproj_path = FIX_DIR "models/mmproj-tiny-f16.gguf";
    CHECK(mg_model_load_file(&vm, FIX_DIR "models/tiny-q8_0.gguf", &mo, &e) == MG_OK, "load with vision: %s", e.message);
    fake.n_tokens = 256; fake.n_embd = 256; fake.data = data;
    items[0].text = "A long enough introduction to take some tokens before the image."; items[0].image = NULL;
    items[1].text = NULL; items[1].image = &fake;
    items[2].text = "What is shown?"; items[2].image = NULL;
    turn.role = "user"; turn.items = items; turn.n_items = 3;
    CHECK(mg_chat_build(vm, NULL, &turn, 1, 1, &p, &e) == MG_OK, "image prompt: %s", e.message);
    memset(&o, 0, sizeof o);
    o.n_ctx = p.n_ids - 1; o.n_threads = 1;
    CHECK(mg_session_new(&s, vm, &o, &e) == MG_OK, "session: %s", e.message);
    CHECK(mg_eval_prompt(s, &p) == MG_ERR_CONTEXT_FULL && mg_session_pos(s) == 0 && strstr(mg_session_error(s), "do not fit"),
          "a prompt one position too long is refused before feeding (pos %d): %s", mg_session_pos(s), mg_session_error(s));
    mg_session_free(s);
    mg_prompt_free(&p);
    mg_model_free(vm);
    free(data);

    memset(&o, 0, sizeof o);
    o.n_ctx = 40; o.n_threads = 1;
    mg_session_new(&s, m, &o, NULL);
    {
        int32_t ids[30];
        for (i = 0; i < 30; i++) ids[i] = 500 + i;
        CHECK(mg_eval(s, ids, 30) == MG_OK, "eval 30");
    }
    memset(&g, 0, sizeof g);
    g.stop_reason = &why;
    g.max_tokens = 3;
    CHECK(mg_generate(s, &g, &n) == MG_OK && why == MG_STOP_MAX_TOKENS && n == 3, "max_tokens: why %d, n %d", why, n);
    g.max_tokens = 0;
    CHECK(mg_generate(s, &g, &n) == MG_OK && (why == MG_STOP_CONTEXT || why == MG_STOP_EOG) && (why != MG_STOP_CONTEXT || mg_session_pos(s) == 40),
          "unlimited: stops at the context (pos %d) or an end token, why %d", mg_session_pos(s), why);
    g.max_tokens = -1;
    CHECK(mg_generate(s, &g, &n) == MG_ERR_INVALID_ARG && why == MG_STOP_ERROR && strstr(mg_session_error(s), "max_tokens -1"),
          "negative max_tokens: %s", mg_session_error(s));
    mg_session_free(s);
    mg_model_free(m);
}

/* Files whose numbers would make every answer NaN. */
static void check_hostile_numbers(void) {
    size_t size;
    void *buf;
    mg_model *m = NULL;
    mg_session *s = NULL;
    mg_error e;
    int32_t ids[4] = { 2, 500, 501, 502 };
    float nan3[3] = { NAN, 0.5f, 0.5f }, tiny3[3] = { 0.5f, 1e-45f, 0.5f };

    buf = rewrite(FIX_DIR "models/mmproj-tiny-f16.gguf", NULL, "clip.vision.image_mean", nan3, 0, &size);
    CHECK(mg_model_load_mem(&m, buf, size, NULL, &e) == MG_ERR_MODEL && strstr(e.message, "image_mean[0] = nan"),
          "an mmproj with a NaN image_mean is refused: %s", e.message);
    free(buf);
    buf = rewrite(FIX_DIR "models/mmproj-tiny-f16.gguf", NULL, "clip.vision.image_std", tiny3, 0, &size);
    CHECK(mg_model_load_mem(&m, buf, size, NULL, &e) == MG_ERR_MODEL && strstr(e.message, "image_std[1]"),
          "an mmproj with image_std 1e-45 is refused: %s", e.message);
    free(buf);

    buf = rewrite(FIX_DIR "models/tiny-f32.gguf", NULL, NULL, NULL, 1, &size);
    CHECK(mg_model_load_mem(&m, buf, size, NULL, &e) == MG_ERR_FORMAT && strstr(e.message, "share data"),
          "tensors sharing one data range are refused: %s", e.message);
    free(buf);

    buf = rewrite(FIX_DIR "models/tiny-f32.gguf", "blk.2.attn_q.weight", NULL, NULL, 0, &size);
    CHECK(mg_model_load_mem(&m, buf, size, NULL, &e) == MG_OK, "a NaN weight loads (matrices are not scanned): %s", e.message);
    s = fix_session(m, 2, 0);
    CHECK(mg_eval(s, ids, 4) == MG_ERR_NUMERIC && strstr(mg_session_error(s), "layer 2") && mg_session_pos(s) == 0 && !mg_logits(s),
          "NaN in layer 2 stops the eval with MG_ERR_NUMERIC, no logits: %s", mg_session_error(s));
    mg_session_free(s); mg_model_free(m); free(buf);

    buf = rewrite(FIX_DIR "models/mmproj-tiny-f32.gguf", "v.blk.1.ffn_down.weight", NULL, NULL, 0, &size);
    CHECK(mg_model_load_mem(&m, buf, size, NULL, &e) == MG_OK, "an mmproj with a NaN weight loads: %s", e.message);
    {
        uint8_t px[32 * 32 * 3];
        mg_image img;
        mg_image_embd out;
        memset(px, 128, sizeof px);
        img.w = 32; img.h = 32; img.channels = 3; img.pixels = px;
        s = fix_session(m, 2, 0);
        CHECK(mg_encode_image(s, &img, MG_IMAGE_MEDGEMMA, &out) == MG_ERR_NUMERIC && out.data == NULL &&
              strstr(mg_session_error(s), "NaN"), "NaN image embeddings are an error: %s", mg_session_error(s));
        mg_session_free(s);
    }
    mg_model_free(m); free(buf);
    CHECK(strstr(mg_result_str(MG_ERR_NUMERIC), "NaN") != NULL, "MG_ERR_NUMERIC described");
}

int main(void) {
    check_messages();
    check_limits();
    check_context_and_stops();
    check_hostile_numbers();
    return MG_TEST_END();
}
