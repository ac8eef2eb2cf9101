/* Allocation-failure sweep. This file builds its own copy of the runtime (linked alone) with MG_MALLOC,
   MG_REALLOC and MG_FREE hooks that count live blocks and make the k-th allocation of an armed call fail.
   For each operation and every k from 1 until the operation no longer reaches k allocations: the call must
   return an error (or succeed when it can do without that block), and once its results are released the
   live-block count must be back where it was (nothing leaked). Operations: model load from memory (text
   model + mmproj, and the vocabulary alone), session creation, prompt eval (the session must then work
   again), image encoding, tokenize/detokenize, chat build, generation. Models: tests/data tiny Q8_0 + F16. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct af_state {
    pthread_mutex_t mu;
    long live;        /* blocks allocated and not yet freed */
    long calls;       /* allocation calls since arming */
    long fail_at;     /* the allocation call that fails (1-based), 0: none */
    int failed;       /* the armed failure happened */
} af_state;
static af_state af = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0 };

/* 1 when this allocation call is the one to fail (counts it). */
static int af_should_fail(void) {
    int f;
    pthread_mutex_lock(&af.mu);
    af.calls++;
    f = af.fail_at > 0 && af.calls == af.fail_at;
    if (f) af.failed = 1;
    pthread_mutex_unlock(&af.mu);
    return f;
}
static void af_count(long d) {
    pthread_mutex_lock(&af.mu);
    af.live += d;
    pthread_mutex_unlock(&af.mu);
}
static void *af_malloc(size_t n) {
    void *p;
    if (af_should_fail()) return NULL;
    if ((p = malloc(n)) != NULL) af_count(1);
    return p;
}
static void *af_realloc(void *old, size_t n) {
    void *p;
    if (af_should_fail()) return NULL;
    if ((p = realloc(old, n)) != NULL && !old) af_count(1);
    return p;
}
static void af_free(void *p) {
    if (!p) return;
    af_count(-1);
    free(p);
}

#define MG_MALLOC(n)     af_malloc(n)
#define MG_REALLOC(p, n) af_realloc(p, n)
#define MG_FREE(p)       af_free(p)
#define MEDGEMMA_IMPLEMENTATION
#include "medgemma.h"
#include "mgtest.h"

static void af_arm(long k) {
    pthread_mutex_lock(&af.mu);
    af.calls = 0; af.fail_at = k; af.failed = 0;
    pthread_mutex_unlock(&af.mu);
}
/* Disarms; returns whether the armed failure happened. */
static int af_disarm(void) {
    int f;
    pthread_mutex_lock(&af.mu);
    f = af.failed; af.fail_at = 0;
    pthread_mutex_unlock(&af.mu);
    return f;
}
static long af_live(void) {
    long n;
    pthread_mutex_lock(&af.mu);
    n = af.live;
    pthread_mutex_unlock(&af.mu);
    return n;
}

/* ----- the operations: setup (not armed), the armed call, teardown (not armed) ----- */
typedef struct ctx {
    const void *text; size_t text_n;       /* tiny-q8_0.gguf bytes */
    const void *proj; size_t proj_n;       /* mmproj-tiny-f16.gguf bytes */
    const void *vocab; size_t vocab_n;     /* gemma3-vocab.gguf bytes */
    mg_model *m;                           /* text + vision, loaded once (not armed) */
    mg_prompt prompt;                      /* a user turn with text */
    mg_prompt chat_ref;                    /* call_chat's prompt, from an unarmed run */
    float *ref_logits;                     /* logits after the prompt, from an unarmed run */
    int n_vocab;
    /* per attempt */
    mg_model *m2;
    mg_session *s;
    mg_image_embd embd;
    mg_prompt p2;
    int32_t ids[64];
    char out[256];
    mg_snapshot *snap;                     /* after the prompt, taken once (not armed) */
    mg_snapshot *snap2;                    /* per attempt */
    mg_embd_cache *cache;
} ctx;

typedef struct op {
    const char *name;
    void (*setup)(ctx *c);                 /* may be NULL */
    mg_result (*call)(ctx *c);             /* armed */
    void (*check)(ctx *c, mg_result r);    /* after the call, not armed: success results, recovery (may be NULL) */
    void (*teardown)(ctx *c);              /* releases everything the setup and a successful call made */
} op;

static mg_session *new_session(const mg_model *m, int threads) {
    mg_session *s = NULL;
    mg_session_options o;
    memset(&o, 0, sizeof o);
    o.n_threads = threads; o.n_ctx = 128;
    mg_session_new(&s, m, &o, NULL);
    return s;
}
static void free_all(ctx *c) {
    mg_model_free(c->m2); c->m2 = NULL;
    mg_session_free(c->s); c->s = NULL;
    mg_image_embd_free(&c->embd);
    mg_prompt_free(&c->p2);
    mg_snapshot_free(c->snap2); c->snap2 = NULL;
    mg_embd_cache_free(c->cache); c->cache = NULL;
}

static mg_result call_load(ctx *c) {
    mg_model_options o;
    mg_error e;
    mg_result r;
    memset(&o, 0, sizeof o);
    o.mmproj_data = c->proj; o.mmproj_size = c->proj_n;
    r = mg_model_load_mem(&c->m2, c->text, c->text_n, &o, &e);
    if (r != MG_OK && e.code != r) CHECK(0, "load error detail %d differs from the result %d", e.code, r);
    return r;
}
static void check_load(ctx *c, mg_result r) {
    mg_model_info info;
    if (r != MG_OK) { CHECK(c->m2 == NULL, "a failed load returns no model"); return; }
    mg_model_get_info(c->m2, &info);
    CHECK(info.has_vision && info.n_vocab == c->n_vocab, "model loaded under the sweep is complete");
}
static mg_result call_load_vocab(ctx *c) {
    mg_model_options o;
    memset(&o, 0, sizeof o);
    o.vocab_only = 1;
    return mg_model_load_mem(&c->m2, c->vocab, c->vocab_n, &o, NULL);
}
static mg_result call_session(ctx *c) {
    mg_session_options o;
    memset(&o, 0, sizeof o);
    o.n_threads = 3; o.n_ctx = 128;
    return mg_session_new(&c->s, c->m, &o, NULL);
}
static void setup_session(ctx *c) { c->s = new_session(c->m, 2); }
static mg_result call_eval(ctx *c) { return mg_eval_prompt(c->s, &c->prompt); }
/* After any outcome the session works: reset, eval again, same logits as the unarmed reference. */
static void check_eval(ctx *c, mg_result r) {
    const float *l;
    (void)r;
    mg_session_reset(c->s);
    CHECK(mg_eval_prompt(c->s, &c->prompt) == MG_OK && (l = mg_logits(c->s)) != NULL &&
          memcmp(l, c->ref_logits, sizeof(float) * (size_t)c->n_vocab) == 0, "session usable after a failed eval");
}
static mg_result call_encode(ctx *c) {
    static uint8_t px[40 * 30 * 3];
    mg_image img;
    size_t i;
    for (i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 7);
    img.w = 40; img.h = 30; img.channels = 3; img.pixels = px;
    return mg_encode_image(c->s, &img, MG_IMAGE_MEDGEMMA, &c->embd);
}
static mg_result call_tokenize(ctx *c) {
    static const char txt[] = "<start_of_turn>user\nThe patient has a fever of 39\xe2\x84\x83.<end_of_turn>";
    size_t len;
    int n;
    mg_result r = mg_tokenize(c->m, txt, sizeof txt - 1, MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, c->ids, 64, &n, NULL);
    if (r != MG_OK) return r;
    r = mg_detokenize(c->m, c->ids, n, MG_DETOK_SPECIAL, c->out, sizeof c->out, &len, NULL);
    if (r == MG_OK) CHECK(len == 5 + sizeof txt - 1 && memcmp(c->out, "<bos>", 5) == 0 && memcmp(c->out + 5, txt, len - 5) == 0,
                          "tokenize/detokenize round trip");
    return r;
}
static mg_result call_chat(ctx *c) {
    mg_image_embd fake = { 0, 0, NULL };
    mg_chat_item it[2];
    mg_chat_turn t[2];
    it[0].text = "  Describe this X-ray. "; it[0].image = NULL;
    it[1].text = NULL; it[1].image = &fake;
    t[0].role = "user"; t[0].items = it; t[0].n_items = 2;
    t[1].role = "assistant"; t[1].items = it; t[1].n_items = 1;
    return mg_chat_build(c->m, "You are a radiologist.", t, 2, 1, &c->p2, NULL);
}
/* A chat prompt built while an allocation failed is exactly the unarmed one. */
static void check_chat(ctx *c, mg_result r) {
    if (r != MG_OK) { CHECK(c->p2.ids == NULL && c->p2.n_ids == 0, "a failed chat build returns no prompt"); return; }
    CHECK(c->p2.n_ids == c->chat_ref.n_ids && c->p2.n_images == 1 &&
          memcmp(c->p2.ids, c->chat_ref.ids, sizeof(int32_t) * (size_t)c->p2.n_ids) == 0,
          "chat prompt built under the sweep equals the unarmed one (%d ids, want %d)", c->p2.n_ids, c->chat_ref.n_ids);
}
/* 250 tokens fed: the 6 generated ones cross the KV cache's first capacity (256 positions), which grows. */
static void setup_generate(ctx *c) {
    mg_session_options o;
    int32_t ids[250];
    int k;
    memset(&o, 0, sizeof o);
    o.n_threads = 2; o.n_ctx = 512;
    for (k = 0; k < 250; k++) ids[k] = (int32_t)(3 + (k * 37) % (c->n_vocab - 3));
    if (mg_session_new(&c->s, c->m, &o, NULL) != MG_OK || mg_eval(c->s, ids, 250) != MG_OK) CHECK(0, "generate setup");
}
static mg_result call_generate(ctx *c) {
    mg_generate_options g;
    int n = 0;
    memset(&g, 0, sizeof g);
    g.max_tokens = 12; g.sampler.temperature = 0.8f; g.sampler.top_k = 40; g.sampler.top_p = 0.9f;
    g.sampler.repeat_penalty = 1.1f;
    g.out_ids = c->ids; g.out_cap = 64;
    return mg_generate(c->s, &g, &n);
}
static void check_generate(ctx *c, mg_result r) {
    if (r != MG_OK) CHECK(mg_session_error(c->s)[0] != 0, "a failed generate says why");
}

/* Snapshots: taking one after the prompt, restoring it into a fresh session (the KV cache is allocated then),
   reading the serialised bytes back; after a failed restore the session still restores and gives the logits. */
static void setup_snap_session(ctx *c) {
    c->s = new_session(c->m, 2);
    if (!c->s || mg_eval_prompt(c->s, &c->prompt) != MG_OK) CHECK(0, "snapshot setup");
}
static mg_result call_snap_take(ctx *c) { return mg_snapshot_take(c->s, &c->snap2); }
static mg_result call_snap_restore(ctx *c) { return mg_snapshot_restore(c->s, c->snap); }
static void check_snap_restore(ctx *c, mg_result r) {
    const float *l;
    (void)r;
    CHECK(mg_snapshot_restore(c->s, c->snap) == MG_OK && (l = mg_logits(c->s)) != NULL &&
          memcmp(l, c->ref_logits, sizeof(float) * (size_t)c->n_vocab) == 0, "session restores after a failed restore");
}
static mg_result call_snap_read(ctx *c) {
    return mg_snapshot_read_mem(&c->snap2, c->m, mg_snapshot_data(c->snap), mg_snapshot_size(c->snap), NULL);
}
static mg_result call_reserve(ctx *c) { return mg_session_reserve(c->s, 100); }
/* The embedding cache: made, filled by one image, hit by the same image (a failed insert only loses the entry). */
static mg_result call_cached_encode(ctx *c) {
    static uint8_t px[40 * 30 * 3];
    mg_image img;
    mg_session_options o;
    mg_result r;
    size_t i;
    for (i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 5);
    img.w = 40; img.h = 30; img.channels = 3; img.pixels = px;
    if ((r = mg_embd_cache_new(&c->cache, 0, NULL)) != MG_OK) return r;
    memset(&o, 0, sizeof o);
    o.n_threads = 1; o.n_ctx = 128; o.embd_cache = c->cache;
    if ((r = mg_session_new(&c->s, c->m, &o, NULL)) != MG_OK) return r;
    if ((r = mg_encode_image(c->s, &img, MG_IMAGE_MEDGEMMA, &c->embd)) != MG_OK) return r;
    mg_image_embd_free(&c->embd);
    return mg_encode_image(c->s, &img, MG_IMAGE_MEDGEMMA, &c->embd);
}

/* Sweeps one operation; returns the number of allocations of a successful call. */
static long sweep(ctx *c, const op *o, long stride) {
    long k, attempts = 0, errors = 0, tolerated = 0, leaks = 0, bad_codes = 0;
    for (k = 1;; k += k < 64 ? 1 : stride) {
        long before = af_live();
        mg_result r;
        int hit;
        if (o->setup) o->setup(c);
        af_arm(k);
        r = o->call(c);
        hit = af_disarm();
        attempts++;
        if (hit && r == MG_OK) tolerated++;
        if (hit && r != MG_OK) {
            errors++;
            if (r != MG_ERR_NOMEM && r != MG_ERR_THREAD) bad_codes++;
        }
        if (o->check) o->check(c, r);
        o->teardown(c);
        if (af_live() != before) {
            if (leaks++ < 3) printf("FAIL %s: failing allocation %ld leaks %ld blocks (result %s)\n", o->name, k,
                                    af_live() - before, mg_result_str(r));
        }
        if (!hit) {
            CHECK(r == MG_OK, "%s succeeds without injected failures (%s)", o->name, mg_result_str(r));
            break;
        }
        if (k > 100000) { CHECK(0, "%s: no end of allocations", o->name); break; }
    }
    CHECK(leaks == 0, "%s: no leak after any failed allocation (%ld leaking attempts)", o->name, leaks);
    CHECK(bad_codes == 0, "%s: every failure reported as MG_ERR_NOMEM (%ld other codes)", o->name, bad_codes);
    printf("ok %-22s %ld allocations, %ld attempts, %ld errors, %ld tolerated\n", o->name, af.calls, attempts, errors, tolerated);
    return af.calls;
}

static void *read_all(const char *path, size_t *n) {
    void *p = mgt_read_file(path, n);
    if (!p) printf("FAIL cannot read %s\n", path);
    return p;
}

int main(void) {
    static const op ops[] = {
        { "model load (text+mmproj)", NULL, call_load, check_load, free_all },
        { "model load (vocab only)", NULL, call_load_vocab, NULL, free_all },
        { "session new (3 threads)", NULL, call_session, NULL, free_all },
        { "eval prompt", setup_session, call_eval, check_eval, free_all },
        { "encode image", setup_session, call_encode, NULL, free_all },
        { "tokenize+detokenize", NULL, call_tokenize, NULL, free_all },
        { "chat build", NULL, call_chat, check_chat, free_all },
        { "generate", setup_generate, call_generate, check_generate, free_all },
        { "snapshot take", setup_snap_session, call_snap_take, NULL, free_all },
        { "snapshot restore", setup_session, call_snap_restore, check_snap_restore, free_all },
        { "snapshot read", NULL, call_snap_read, NULL, free_all },
        { "session reserve", setup_session, call_reserve, NULL, free_all },
        { "encode with cache", NULL, call_cached_encode, NULL, free_all },
    };
    ctx c;
    mg_model_options o;
    mg_model_info info;
    mg_chat_item it = { "What are the symptoms of pneumonia?", NULL };
    mg_chat_turn t = { "user", &it, 1 };
    size_t i;
    long base;
    memset(&c, 0, sizeof c);
    c.text = read_all("tests/data/models/tiny-q8_0.gguf", &c.text_n);
    c.proj = read_all("tests/data/models/mmproj-tiny-f16.gguf", &c.proj_n);
    c.vocab = read_all("tests/data/vocab/gemma3-vocab.gguf", &c.vocab_n);
    if (!c.text || !c.proj || !c.vocab) return MG_TEST_END();
    base = af_live();
    memset(&o, 0, sizeof o);
    o.mmproj_data = c.proj; o.mmproj_size = c.proj_n;
    if (mg_model_load_mem(&c.m, c.text, c.text_n, &o, NULL) != MG_OK ||
        mg_chat_build(c.m, NULL, &t, 1, 1, &c.prompt, NULL) != MG_OK || !(c.s = new_session(c.m, 1)) ||
        mg_eval_prompt(c.s, &c.prompt) != MG_OK) {
        CHECK(0, "unarmed setup");
        return MG_TEST_END();
    }
    mg_model_get_info(c.m, &info);
    c.n_vocab = info.n_vocab;
    c.ref_logits = (float *)malloc(sizeof(float) * (size_t)c.n_vocab);
    memcpy(c.ref_logits, mg_logits(c.s), sizeof(float) * (size_t)c.n_vocab);
    if (mg_snapshot_take(c.s, &c.snap) != MG_OK) CHECK(0, "unarmed snapshot");
    mg_session_free(c.s); c.s = NULL;
    if (call_chat(&c) != MG_OK) CHECK(0, "unarmed chat build");
    c.chat_ref = c.p2; memset(&c.p2, 0, sizeof c.p2);
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++) sweep(&c, &ops[i], 1);
    mg_prompt_free(&c.prompt);
    mg_prompt_free(&c.chat_ref);
    mg_snapshot_free(c.snap);
    mg_model_free(c.m);
    CHECK(af_live() == base, "every block freed at the end (%ld live)", af_live() - base);
    free(c.ref_logits);
    free((void *)c.text); free((void *)c.proj); free((void *)c.vocab);
    return MG_TEST_END();
}
