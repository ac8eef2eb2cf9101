/* fuzz_chat.c — mg_chat_build with fuzz-derived system text, roles and items on the tiny test model with its
   vision file (tests/data/models, loaded once).
   Input: byte 0 = bits 0-2 turns (0..7), bit 3 add the generation prompt, bit 4 no system text; the rest is
   split at NUL bytes into segments: the system text (unless bit 4), then per turn its role and its items
   until a segment "\x02" (end of turn); an item "\x03" is an image, anything else text (8 items per turn).
   Invariants on success: ids in the vocabulary, one image pointer per image item, image_tokens soft tokens
   per image; mg_split_thinking of the system text stays inside it. */
#include "fuzz.h"
#include "medgemma.h"

static const mg_model *model(void) {
    static mg_model *m;
    if (!m) {
        char p[512], pv[512];
        mg_model_options o;
        mg_error e;
        memset(&o, 0, sizeof o);
        o.mmproj_path = fz_path("tests/data/models/mmproj-tiny-f16.gguf", pv, sizeof pv);
        if (mg_model_load_file(&m, fz_path("tests/data/models/tiny-q8_0.gguf", p, sizeof p), &o, &e) != MG_OK) {
            fprintf(stderr, "%s: %s\n", p, e.message);
            abort();
        }
    }
    return m;
}

/* The next NUL-terminated segment of [*at, end), or NULL at the end. */
static const char *next_seg(const char **at, const char *end) {
    const char *s = *at;
    if (s >= end) return NULL;
    *at = s + strlen(s) + 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const mg_model *m = model();
    static const mg_image_embd dummy = { 0, 0, NULL };
    mg_chat_turn turns[7];
    mg_chat_item items[7][8];
    mg_prompt p;
    mg_model_info info;
    char *buf;
    const char *at, *end, *system = NULL, *seg;
    int n_turns, i, k, n_img = 0, soft = 0;
    int32_t soft_id, bos;
    mg_result r;
    if (size < 1 || size > 16384 || !(buf = fz_cstr(data, size))) return 0;
    n_turns = data[0] & 7;
    at = buf + 1; end = buf + size;
    if (!(data[0] & 16)) {
        system = next_seg(&at, end);
        if (system) {
            const char *thought;
            size_t tl;
            const char *ans = mg_split_thinking(system, &thought, &tl);
            if (ans < system || ans > system + strlen(system) || (thought && thought + tl > system + strlen(system)))
                fz_fail("split_thinking points outside the text");
        }
    }
    for (i = 0; i < n_turns; i++) {
        seg = next_seg(&at, end);
        turns[i].role = seg && seg[0] ? seg : "user";
        turns[i].items = items[i];
        turns[i].n_items = 0;
        while (turns[i].n_items < 8 && (seg = next_seg(&at, end)) != NULL && strcmp(seg, "\x02") != 0) {
            mg_chat_item *it = &items[i][turns[i].n_items++];
            if (strcmp(seg, "\x03") == 0) { it->text = NULL; it->image = &dummy; n_img++; }
            else { it->text = seg; it->image = NULL; }
        }
    }
    r = mg_chat_build(m, system, turns, n_turns, data[0] & 8 ? 1 : 0, &p, NULL);
    if (r == MG_OK) {
        mg_model_get_info(m, &info);
        soft_id = mg_token_lookup(m, "<image_soft_token>");
        bos = mg_token_bos(m);
        if (p.n_images != n_img) fz_fail("image count differs from the image items");
        if (p.n_ids < 1 || p.ids[0] != bos) fz_fail("prompt does not start with <bos>");
        for (i = 0; i < p.n_ids; i++) {
            if (p.ids[i] < 0 || p.ids[i] >= info.n_vocab) fz_fail("prompt id out of the vocabulary");
            soft += p.ids[i] == soft_id;
        }
        if (soft != n_img * info.image_tokens) fz_fail("soft-token count differs from images x image_tokens");
        for (k = 0; k < p.n_images; k++) if (p.images[k] != &dummy) fz_fail("image pointer not the caller's");
        mg_prompt_free(&p);
    } else if (r != MG_ERR_LIMIT && r != MG_ERR_NOMEM) fz_fail("chat build failed on valid arguments");
    free(buf);
    return 0;
}
