/* Tokenizer against llama-tokenize on the real 262k Gemma 3 vocabulary (vocab-only GGUF) and the tiny model's
   vocabulary: exact ids for every case of tests/data/ref/tokenize, BOS handling, special-token lookups by text,
   the end-of-generation set, detokenization (round trip and byte reassembly) and hostile inputs. */
#include "fixtures.h"

static void check_cases(const char *model_path, const char *ref_path) {
    mg_model *m;
    mg_model_options o;
    mg_error e;
    mgx_json *ref = fix_json(ref_path);
    const mgx_json *cases = mgx_json_get(ref, "cases");
    size_t i;
    memset(&o, 0, sizeof o);
    o.vocab_only = 1;
    if (mg_model_load_file(&m, model_path, &o, &e) != MG_OK || !cases) { CHECK(0, "load %s: %s", model_path, e.message); mgx_json_free(ref); return; }
    for (i = 0; i < mgx_json_len(cases); i++) {
        const mgx_json *c = mgx_json_at(cases, i);
        const char *name = mgx_json_string(mgx_json_get(c, "name"));
        const mgx_json *tj = mgx_json_get(c, "text");
        unsigned flags = mgx_json_bool(mgx_json_get(c, "parse_special"), 0) ? MG_TOKENIZE_SPECIAL : 0;
        int32_t ids[1024], *want, bos_ids[1025];
        int n = -1, nw, nb = -1;
        want = fix_ids(mgx_json_get(c, "ids"), &nw);
        CHECK(mg_tokenize(m, tj->str, tj->len, flags, ids, 1024, &n, NULL) == MG_OK, "%s: tokenize", name);
        CHECK(n == nw && memcmp(ids, want, sizeof(int32_t) * (size_t)n) == 0, "%s [%s]: %d ids, expected %d", name, model_path, n, nw);
        /* with BOS: <bos> + the same ids (the vocabulary says add_bos) */
        mg_tokenize(m, tj->str, tj->len, flags | MG_TOKENIZE_BOS, bos_ids, 1025, &nb, NULL);
        CHECK(nb == nw + 1 && bos_ids[0] == mg_token_lookup(m, "<bos>") && memcmp(bos_ids + 1, want, sizeof(int32_t) * (size_t)nw) == 0,
              "%s: BOS variant", name);
        /* detokenizing ordinary text gives the text back (special markers render only with MG_DETOK_SPECIAL) */
        {
            char out[4096];
            size_t len = 0;
            mg_result r = mg_detokenize(m, ids, n, flags ? MG_DETOK_SPECIAL : 0, out, sizeof out, &len, NULL);
            CHECK(r == MG_OK && len == tj->len && memcmp(out, tj->str, len) == 0, "%s: detokenize round trip", name);
        }
        free(want);
    }
    mgx_json_free(ref);
    mg_model_free(m);
}

static void check_specials(void) {
    mg_model *m;
    mg_model_options o;
    mg_error e;
    int32_t ids[8];
    int n;
    char buf[8];
    size_t len;
    memset(&o, 0, sizeof o);
    o.vocab_only = 1;
    if (mg_model_load_file(&m, FIX_DIR "vocab/gemma3-vocab.gguf", &o, &e) != MG_OK) { CHECK(0, "vocab: %s", e.message); return; }
    /* ids documented in the fixtures README section 1 */
    CHECK(mg_token_lookup(m, "<eos>") == 1 && mg_token_lookup(m, "<bos>") == 2, "eos/bos ids");
    CHECK(mg_token_lookup(m, "<start_of_turn>") == 105 && mg_token_lookup(m, "<end_of_turn>") == 106, "turn ids");
    CHECK(mg_token_lookup(m, "<start_of_image>") == 255999 && mg_token_lookup(m, "<end_of_image>") == 256000, "image ids");
    CHECK(mg_token_lookup(m, "<image_soft_token>") == 262144 && mg_token_lookup(m, "\n") == 107, "soft/newline ids");
    CHECK(mg_token_lookup(m, "no such piece at all") == -1, "absent piece");
    CHECK(mg_token_bos(m) == 2, "bos");
    /* end of generation: <eos>, <end_of_turn> and llama.cpp's re-typed </s>; nothing else */
    CHECK(mg_token_is_eog(m, 1) && mg_token_is_eog(m, 106) && mg_token_is_eog(m, mg_token_lookup(m, "</s>")), "eog set");
    CHECK(!mg_token_is_eog(m, 2) && !mg_token_is_eog(m, 105) && !mg_token_is_eog(m, 107) && !mg_token_is_eog(m, -1), "non-eog");
    /* buffer too small: the needed count is reported */
    CHECK(mg_tokenize(m, "Hello world", 11, 0, ids, 1, &n, NULL) == MG_ERR_BUFFER && n == 2, "MG_ERR_BUFFER with count");
    CHECK(mg_tokenize(m, "Hello world", 11, 0, NULL, 0, &n, NULL) == MG_ERR_BUFFER && n == 2, "count-only call");
    CHECK(mg_tokenize(NULL, "x", 1, 0, ids, 8, &n, NULL) == MG_ERR_INVALID_ARG, "NULL model");
    CHECK(mg_tokenize(m, "", 0, MG_TOKENIZE_BOS, ids, 8, &n, NULL) == MG_OK && n == 1 && ids[0] == 2, "empty text with BOS = [<bos>]");
    /* byte fallback: a lone continuation byte and a 4-byte char split over tokens reassemble */
    CHECK(mg_tokenize(m, "\x80", 1, 0, ids, 8, &n, NULL) == MG_OK && n == 1 && ids[0] == mg_token_lookup(m, "<0x80>"), "byte fallback");
    CHECK(mg_detokenize(m, ids, n, 0, buf, sizeof buf, &len, NULL) == MG_OK && len == 1 && (uint8_t)buf[0] == 0x80, "byte token detok");
    CHECK(mg_detokenize(m, ids, 1, 0, buf, 1, &len, NULL) == MG_ERR_BUFFER && len == 1, "detok buffer too small");
    {   /* control tokens are invisible unless asked for */
        int32_t c[2] = { 105, 106 };
        CHECK(mg_detokenize(m, c, 2, 0, buf, sizeof buf, &len, NULL) == MG_OK && len == 0, "control hidden");
        CHECK(mg_detokenize(m, c, 1, MG_DETOK_SPECIAL, NULL, 0, &len, NULL) == MG_ERR_BUFFER && len == 15, "control rendered");
        c[0] = -5;
        CHECK(mg_detokenize(m, c, 1, 0, buf, sizeof buf, &len, NULL) == MG_ERR_INVALID_ARG, "bad id");
    }
    {   /* hostile input: 64 KiB of random bytes with special parsing, a 1 MB run of one character */
        size_t big = 1 << 20, i;
        char *t = (char *)malloc(big);
        uint32_t x = 12345;
        int32_t *out = (int32_t *)malloc(sizeof(int32_t) * big);
        for (i = 0; i < 65536; i++) { x = x * 1664525u + 1013904223u; t[i] = (char)(x >> 24); }
        CHECK(mg_tokenize(m, t, 65536, MG_TOKENIZE_SPECIAL, out, (int)big, &n, NULL) == MG_OK && n > 0, "random bytes");
        memset(t, 'a', big);
        CHECK(mg_tokenize(m, t, big, 0, out, (int)big, &n, NULL) == MG_OK && n > 0 && n < (int)big / 4, "1 MB run: %d ids", n);
        free(t); free(out);
    }
    mg_model_free(m);
}

int main(void) {
    check_cases(FIX_DIR "vocab/gemma3-vocab.gguf", FIX_DIR "ref/tokenize/tok-full-vocab.json");
    check_cases(FIX_DIR "models/tiny-f32.gguf", FIX_DIR "ref/tokenize/tok-tiny-vocab.json");
    check_specials();
    return MG_TEST_END();
}
