/* fuzz_tokenizer.c — the Gemma 3 tokenizer (tests/data/vocab/gemma3-vocab.gguf, loaded once) on random bytes.
   Input: byte 0 = flags (bit 0 BOS, bit 1 special-token parsing, bit 2 detokenize specials), then the text.
   Invariants: the count query and the real call agree; every id is in the vocabulary; without special
   parsing and BOS, detokenizing gives the text back byte for byte when every lead byte is followed by the
   continuation bytes it announces and the text holds no U+2581 of its own. (As in llama.cpp: a space
   swallowed into a broken sequence was already escaped to U+2581 and comes back as those three bytes, and
   a U+2581 in the text comes back as a space.) */
#include "fuzz.h"
#include "medgemma.h"

static const mg_model *vocab(void) {
    static mg_model *m;
    if (!m) {
        char p[512];
        mg_model_options o;
        mg_error e;
        memset(&o, 0, sizeof o);
        o.vocab_only = 1;
        if (mg_model_load_file(&m, fz_path("tests/data/vocab/gemma3-vocab.gguf", p, sizeof p), &o, &e) != MG_OK) {
            fprintf(stderr, "%s: %s\n", p, e.message);
            abort();
        }
    }
    return m;
}

/* Each lead byte (length from its high nibble, as llama.cpp's utf8_len) has its continuation bytes, and no
   sequence is U+2581 (e2 96 81). */
static int round_trips(const uint8_t *s, size_t n) {
    static const uint8_t len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    size_t i = 0, k;
    while (i < n) {
        size_t l = len[s[i] >> 4];
        if (i + l > n) return 0;
        for (k = 1; k < l; k++) if ((s[i + k] & 0xC0) != 0x80) return 0;
        if (l == 3 && s[i] == 0xe2 && s[i + 1] == 0x96 && s[i + 2] == 0x81) return 0;
        i += l;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const mg_model *m = vocab();
    unsigned flags, tf;
    const char *text;
    size_t len, n_text;
    int32_t *ids;
    char *out;
    int n = -1, n2 = -1, i;
    mg_model_info info;
    mg_result r;
    if (size < 1 || size > 65536) return 0;
    flags = data[0];
    text = (const char *)data + 1; n_text = size - 1;
    tf = (flags & 1 ? MG_TOKENIZE_BOS : 0) | (flags & 2 ? MG_TOKENIZE_SPECIAL : 0);
    r = mg_tokenize(m, text, n_text, tf, NULL, 0, &n, NULL);
    if (r != MG_OK && r != MG_ERR_BUFFER) fz_fail("count query failed");
    if (n < 0 || (size_t)n > 2 * n_text + 1) fz_fail("token count out of range");
    ids = (int32_t *)malloc(sizeof(int32_t) * (size_t)(n + 1));
    if (!ids) return 0;
    if (mg_tokenize(m, text, n_text, tf, ids, n + 1, &n2, NULL) != MG_OK || n2 != n) fz_fail("second tokenize disagrees");
    mg_model_get_info(m, &info);
    for (i = 0; i < n; i++) {
        size_t tl;
        if (ids[i] < 0 || ids[i] >= info.n_vocab) fz_fail("id out of the vocabulary");
        if (!mg_token_text(m, ids[i], &tl)) fz_fail("no text for an id");
        mg_token_is_eog(m, ids[i]);
    }
    r = mg_detokenize(m, ids, n, flags & 4 ? MG_DETOK_SPECIAL : 0, NULL, 0, &len, NULL);
    if (r != MG_OK && r != MG_ERR_BUFFER) fz_fail("detokenize size query failed");
    if ((out = (char *)malloc(len + 1)) != NULL) {
        size_t len2;
        if (mg_detokenize(m, ids, n, flags & 4 ? MG_DETOK_SPECIAL : 0, out, len + 1, &len2, NULL) != MG_OK || len2 != len)
            fz_fail("second detokenize disagrees");
        if (tf == 0 && round_trips(data + 1, n_text) && (len != n_text || memcmp(out, text, len) != 0)) fz_fail("detokenize(tokenize(x)) != x");
        free(out);
    }
    free(ids);
    return 0;
}
