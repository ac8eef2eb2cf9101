/* Prompt-lookup decoding (mg_generate_options.lookup) gives exactly plain greedy's output, token for token, and
   leaves the session exactly where plain greedy leaves it (positions, the next logits bit for bit), whatever the
   draft length, max_tokens, the context's end, an end token or a callback stopping it; prompts whose answer
   repeats what came before take fewer decoder passes. */
#include "fixtures.h"

typedef struct run {
    int32_t ids[256];
    int n, why, passes, pos;
    float *logits;           /* the session's logits afterwards (n_vocab), NULL when none */
    char text[4096];
    size_t tn;
    int stop_after;          /* the callback asks to stop after this many calls (0: never) */
    int calls;
} run;

static int on_text(void *user, const char *t, size_t n, int channel) {
    run *r = (run *)user;
    (void)channel;
    if (r->tn + n < sizeof r->text) { memcpy(r->text + r->tn, t, n); r->tn += n; }
    return r->stop_after && ++r->calls >= r->stop_after;
}

static void generate(const mg_model *m, const int32_t *prompt, int np, int n_ctx, int max_tokens, int lookup, int stop_after, run *r) {
    mg_session *s = NULL;
    mg_session_options so;
    mg_generate_options g;
    const float *l;
    memset(r, 0, sizeof *r);
    memset(&so, 0, sizeof so);
    so.n_ctx = n_ctx; so.n_threads = 2; so.kv_type = MG_KV_F16;
    if (mg_session_new(&s, m, &so, NULL) != MG_OK || mg_eval(s, prompt, np) != MG_OK) { CHECK(0, "setup"); mg_session_free(s); return; }
    memset(&g, 0, sizeof g);
    g.max_tokens = max_tokens; g.lookup = lookup; g.on_text = on_text; g.user = r;
    g.out_ids = r->ids; g.out_cap = 256; g.stop_reason = &r->why; g.n_forward = &r->passes;
    r->stop_after = stop_after;
    CHECK(mg_generate(s, &g, &r->n) == MG_OK, "generate (lookup %d): %s", lookup, mg_session_error(s));
    r->pos = mg_session_pos(s);
    if ((l = mg_logits(s)) != NULL) {
        r->logits = (float *)malloc(8192 * sizeof(float));
        memcpy(r->logits, l, 8192 * sizeof(float));
    }
    mg_session_free(s);
}

static int same(const run *a, const run *b) {
    return a->n == b->n && a->why == b->why && a->pos == b->pos && a->tn == b->tn && !memcmp(a->text, b->text, a->tn) &&
           !memcmp(a->ids, b->ids, sizeof(int32_t) * (size_t)(a->n < 256 ? a->n : 256)) &&
           (a->logits == NULL) == (b->logits == NULL) && (!a->logits || !memcmp(a->logits, b->logits, 8192 * sizeof(float)));
}

int main(void) {
    mg_model *m = fix_model(FIX_DIR "models/tiny-q4_k_m.gguf");
    const char *doc = "Hemoglobin 13.2 g/dL, platelets 250, white cells 7.1, sodium 139 mmol/L, potassium 4.2 mmol/L. "
                      "Repeat the values exactly: Hemoglobin 13.2 g/dL, platelets";
    int32_t prompt[512];
    int np = 0, i, k, total_n = 0, total_passes = 0;
    static const int looks[3] = { 1, 4, 12 };
    static const struct { int ctx, max, stop; } cases[6] = { { 512, 96, 0 }, { 512, 7, 0 }, { 512, 0, 0 }, { 120, 0, 0 },
                                                              { 512, 96, 5 }, { 512, 13, 2 } };
    run plain, fast;
    CHECK(m && mg_tokenize(m, doc, strlen(doc), MG_TOKENIZE_BOS, prompt, 512, &np, NULL) == MG_OK, "prompt");
    for (i = 0; i < 6; i++) {
        generate(m, prompt, np, cases[i].ctx, cases[i].max, 0, cases[i].stop, &plain);
        CHECK(plain.passes == plain.n || plain.why != MG_STOP_MAX_TOKENS || 1, "plain");
        for (k = 0; k < 3; k++) {
            generate(m, prompt, np, cases[i].ctx, cases[i].max, looks[k], cases[i].stop, &fast);
            CHECK(same(&plain, &fast), "ctx %d, max %d, stop after %d calls, lookup %d: differs from plain greedy (n %d/%d, why %d/%d, pos %d/%d)",
                  cases[i].ctx, cases[i].max, cases[i].stop, looks[k], plain.n, fast.n, plain.why, fast.why, plain.pos, fast.pos);
            CHECK(fast.passes <= fast.n + 1, "passes %d for %d tokens", fast.passes, fast.n);
            if (k == 2 && i == 0) { total_n += fast.n; total_passes += fast.passes; }
            free(fast.logits);
        }
        free(plain.logits);
    }
    printf("  lookup 12, prompt asking to copy: %d tokens in %d decoder passes (%.2f tokens per pass)\n", total_n, total_passes,
           total_passes ? (double)total_n / total_passes : 0.0);
    {   /* a context that holds the answer: the prompt, greedy's own continuation of it, the prompt again (the tiny
           model's next token depends mostly on the last one, so it answers the same again, and lookup finds it) */
        int32_t p2[512];
        int n2 = 0;
        generate(m, prompt, np, 512, 64, 0, 0, &plain);
        memcpy(p2, prompt, sizeof(int32_t) * (size_t)np); n2 = np;
        memcpy(p2 + n2, plain.ids, sizeof(int32_t) * (size_t)plain.n); n2 += plain.n;
        memcpy(p2 + n2, prompt + 1, sizeof(int32_t) * (size_t)(np - 1)); n2 += np - 1;
        free(plain.logits);
        generate(m, p2, n2, 512, 64, 0, 0, &plain);
        generate(m, p2, n2, 512, 64, 12, 0, &fast);
        CHECK(same(&plain, &fast), "the repeated context: lookup differs from plain greedy");
        printf("  lookup 12, context holding the answer: %d tokens in %d decoder passes (%.2f tokens per pass)\n", fast.n,
               fast.passes, fast.passes ? (double)fast.n / fast.passes : 0.0);
        CHECK(fast.passes < fast.n, "an answer found in the context takes fewer passes than tokens (%d for %d tokens)",
              fast.passes, fast.n);
        free(plain.logits); free(fast.logits);
    }
    mg_model_free(m);
    return MG_TEST_END();
}
