/* Long context and reuse: the Q8_0 KV cache against llama.cpp's logits, memory accounting against a counting
   allocator and hand-computed sizes, snapshots (branching must give bit-identical results to a fresh session
   fed the whole sequence; the file form round-trips and every corruption is refused), prompt prefixes, the
   image-embedding cache, SHA-256 against the FIPS 180-4 examples, and the blocked attention kernel against a
   double-precision reference (F32, F16, Q8_0 caches; chunks vs one token at a time, 1 vs 3 threads).
   The implementation is compiled into this test (static) so the allocator hooks can count every byte. */
#include <stdint.h>
#include <stddef.h>
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"   /* the static copy has API functions this test does not call */
#endif
static size_t live_bytes, live_blocks;
static void *count_malloc(size_t n);
static void *count_realloc(void *p, size_t n);
static void count_free(void *p);
#define MG_MALLOC(n) count_malloc(n)
#define MG_REALLOC(p, n) count_realloc(p, n)
#define MG_FREE(p) count_free(p)
#define MEDGEMMA_STATIC
#define MEDGEMMA_IMPLEMENTATION
#include "medgemma.h"
#include "fixtures.h"
#include "mgx_image.h"

/* Every block carries its size in a 16-byte header. */
static void *count_malloc(size_t n) {
    size_t *p = (size_t *)malloc(n + 16);
    if (!p) return NULL;
    p[0] = n;
    live_bytes += n; live_blocks++;
    return (char *)p + 16;
}
static void count_free(void *q) {
    size_t *p;
    if (!q) return;
    p = (size_t *)((char *)q - 16);
    live_bytes -= p[0]; live_blocks--;
    free(p);
}
static void *count_realloc(void *q, size_t n) {
    size_t *p, old;
    if (!q) return count_malloc(n);
    p = (size_t *)((char *)q - 16);
    old = p[0];
    if (!(p = (size_t *)realloc(p, n + 16))) return NULL;
    p[0] = n;
    live_bytes += n - old;
    return (char *)p + 16;
}

static mg_model *load_text(const char *variant, const char *mmproj) {
    char path[256];
    mg_model *m = NULL;
    mg_model_options o;
    mg_error e;
    memset(&o, 0, sizeof o);
    o.mmproj_path = mmproj;
    snprintf(path, sizeof path, FIX_DIR "models/tiny-%s.gguf", variant);
    if (mg_model_load_file(&m, path, &o, &e) != MG_OK) printf("FAIL load %s: %s\n", path, e.message);
    return m;
}

static mg_session *session(const mg_model *m, int threads, int batch, int kv, int n_ctx) {
    mg_session *s = NULL;
    mg_session_options o;
    memset(&o, 0, sizeof o);
    o.n_threads = threads; o.n_batch = batch; o.kv_type = kv; o.n_ctx = n_ctx;
    if (mg_session_new(&s, m, &o, NULL) != MG_OK) printf("FAIL session\n");
    return s;
}

static int tokenize_prompt(const mg_model *m, const mgx_json *pj, const char *name, int32_t *ids, int cap) {
    const char *text = mgx_json_string(mgx_json_get(mgx_json_get(pj, name), "text"));
    int n = 0;
    if (!text || mg_tokenize(m, text, strlen(text), MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, ids, cap, &n, NULL) != MG_OK) return 0;
    return n;
}

/* ----- SHA-256: FIPS 180-4 / NIST example digests ----- */
static void hex(const uint8_t *d, char *out) { int i; for (i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]); }
static void check_sha256(void) {
    static const char *msg[3] = { "abc", "", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" };
    static const char *want[4] = {
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" };    /* 1,000,000 x 'a' */
    uint8_t d[32];
    char h[65];
    char *a = (char *)malloc(1000000);
    mg__sha256 c;
    int i;
    size_t off;
    for (i = 0; i < 3; i++) {
        mg_sha256(msg[i], strlen(msg[i]), d); hex(d, h);
        CHECK(strcmp(h, want[i]) == 0, "sha256(\"%s\") = %s", msg[i], h);
    }
    memset(a, 'a', 1000000);
    mg_sha256(a, 1000000, d); hex(d, h);
    CHECK(strcmp(h, want[3]) == 0, "sha256(10^6 x a) = %s", h);
    mg__sha256_init(&c);                          /* the same in uneven pieces (buffering across blocks) */
    for (off = 0, i = 1; off < 1000000; i = i * 7 % 131 + 1) {
        size_t k = (size_t)i < 1000000 - off ? (size_t)i : 1000000 - off;
        mg__sha256_add(&c, a + off, k);
        off += k;
    }
    mg__sha256_end(&c, d); hex(d, h);
    CHECK(strcmp(h, want[3]) == 0, "sha256 fed in pieces = %s", h);
    free(a);
}

/* Greedy continuation of k tokens; ids into out. */
static int greedy(mg_session *s, int k, int32_t *out) {
    int i;
    for (i = 0; i < k; i++) {
        out[i] = fix_argmax(mg_logits(s), 8192);
        if (mg_eval(s, &out[i], 1) != MG_OK) return 0;
    }
    return 1;
}

/* ----- the Q8_0 KV cache against llama.cpp's logits (made with an F32 cache) ----- */
static void check_q8_kv(const mgx_json *pj) {
    static const char *variants[] = { "f32", "q4_k_m" };
    static const char *prompts[] = { "chat_short", "medium", "long" };
    int vi, pi;
    for (vi = 0; vi < 2; vi++) {
        mg_model *m = load_text(variants[vi], NULL);
        for (pi = 0; m && pi < 3; pi++) {
            char path[256];
            int32_t ids[2048];
            int n = tokenize_prompt(m, pj, prompts[pi], ids, 2048);
            size_t nw;
            float *want, d16 = -1, d8 = -1;
            mg_session *a = session(m, 2, 0, MG_KV_Q8_0, 4096), *b = session(m, 2, 0, MG_KV_F16, 4096);
            snprintf(path, sizeof path, FIX_DIR "ref/text/tiny-%s.%s.logits.bin", variants[vi], prompts[pi]);
            want = fix_floats(path, &nw);
            if (a && b && want && n > 0 && mg_eval(a, ids, n) == MG_OK && mg_eval(b, ids, n) == MG_OK) {
                d8 = fix_maxdiff(mg_logits(a), want, nw);
                d16 = fix_maxdiff(mg_logits(b), want, nw);
                CHECK(fix_argmax(mg_logits(a), 8192) == fix_argmax(want, 8192), "%s.%s: Q8_0 KV changes the top token", variants[vi], prompts[pi]);
            }
            printf("  %-6s %-10s max|dlogit| vs llama.cpp: Q8_0 KV %.4f, F16 KV %.4f\n", variants[vi], prompts[pi], d8, d16);
            CHECK(d8 >= 0 && d8 <= (vi == 0 ? 0.5f : 1.0f), "%s.%s: Q8_0 KV logits differ by %.4f", variants[vi], prompts[pi], d8);
            if (a && want) {                      /* and the 24 greedy ids of the reference */
                mgx_json *ref;
                int32_t *g, got[24];
                int ng = 0;
                snprintf(path, sizeof path, FIX_DIR "ref/text/tiny-%s.%s.json", variants[vi], prompts[pi]);
                ref = fix_json(path);
                g = ref ? fix_ids(mgx_json_get(ref, "greedy_ids"), &ng) : NULL;
                CHECK(g && ng == 24 && greedy(a, 24, got) && memcmp(g, got, sizeof got) == 0, "%s.%s: Q8_0 KV greedy ids differ",
                      variants[vi], prompts[pi]);
                free(g);
                mgx_json_free(ref);
            }
            free(want);
            mg_session_free(a); mg_session_free(b);
        }
        mg_model_free(m);
    }
}

/* Q8_0 KV: thread count, chunk size and token-at-a-time feeding stay bit-identical (ring buffer past the window). */
static void check_q8_invariance(const mgx_json *pj) {
    mg_model *m = load_text("q4_k_m", NULL);
    int32_t ids[2048];
    int n = m ? tokenize_prompt(m, pj, "long", ids, 2048) : 0, i, ok = 1;
    mg_session *a = session(m, 1, 512, MG_KV_Q8_0, 4096), *b = session(m, 3, 256, MG_KV_Q8_0, 4096),
               *c = session(m, 2, 0, MG_KV_Q8_0, 4096);
    if (!m || !a || !b || !c || n != 676) { CHECK(0, "setup"); goto done; }
    ok = mg_eval(a, ids, n) == MG_OK && mg_eval(b, ids, n) == MG_OK;
    for (i = 0; ok && i < n; i++) ok = mg_eval(c, ids + i, 1) == MG_OK;
    CHECK(ok, "evals");
    if (ok) {
        CHECK(memcmp(mg_logits(a), mg_logits(b), 8192 * 4) == 0, "Q8_0 KV: 1 thread/512 vs 3 threads/256 differ");
        CHECK(memcmp(mg_logits(a), mg_logits(c), 8192 * 4) == 0, "Q8_0 KV: batched vs one at a time differ");
    }
done:
    mg_session_free(a); mg_session_free(b); mg_session_free(c);
    mg_model_free(m);
}

/* ----- the blocked attention against a double-precision reference, and its invariances ----- */
/* A model with only the attention geometry: 6 query heads over 2 KV heads (group 3: a tile of 21 tokens has 63
   rows and a padding row) or 4 over 2 (group 2: one token over an F16 cache takes the in-place decode block),
   head_dim 96 (not a multiple of 64: masked channel tails), window 100, n_ctx 1024; layer 0 local (ring 100 + 256),
   layer 1 global. Chunks are fed as the forward pass does: their K and V rows written at slot p % ring, then
   attention. */
enum { AT_N = 700, AT_HD = 96, AT_NKV = 2 };
static float at_val(uint32_t a, uint32_t b) {        /* deterministic value in [-1, 1) of (a, b) */
    uint32_t x = a * 0x9e3779b1u ^ (b + 0x7f4a7c15u) * 0x85ebca77u;
    x ^= x >> 15; x *= 0x2c1b3c6du; x ^= x >> 12; x *= 0x297a2d39u; x ^= x >> 15;
    return (float)(x >> 8) / 8388608.0f - 1.0f;
}
/* Feeds positions [pos0, pos0 + n) to both layers; out[p][NH HD] receives each position's attention. */
static void at_chunk(mg_session *s, int pos0, int n, int bidir, float *out[2], double *maxerr) {
    const int nh = s->m->hp.n_head;
    int il, t, i, h;
    float row[AT_NKV * AT_HD];
    for (il = 0; il < 2; il++) {
        mg__kvcache *c = &s->kv[il];
        for (t = 0; t < n; t++) {
            int p = pos0 + t;
            size_t slot = (size_t)(p % c->cap_max) * s->kv_row;
            for (i = 0; i < AT_NKV * AT_HD; i++) row[i] = 2.0f * (1.0f + p / 300.0f) * at_val((uint32_t)(2 * p + il), (uint32_t)i);
            mg__quant_row(s->kv_type, row, c->k + slot, AT_NKV * AT_HD);
            for (i = 0; i < AT_NKV * AT_HD; i++) row[i] = at_val((uint32_t)(2 * p + il + 100000), (uint32_t)i);
            mg__quant_row(s->kv_type, row, c->v + slot, AT_NKV * AT_HD);
            for (i = 0; i < nh * AT_HD; i++) s->q[(size_t)t * nh * AT_HD + i] = 0.5f * at_val((uint32_t)(2 * p + il + 200000), (uint32_t)i);
        }
        mg__attention(s, il, n, pos0, bidir);
        memcpy(out[il] + (size_t)pos0 * nh * AT_HD, s->att, (size_t)n * nh * AT_HD * sizeof(float));
        if (!maxerr) continue;
        for (t = 0; t < n; t++)                       /* reference: q in the partner format, dequantized rows, doubles */
            for (h = 0; h < nh; h++) {
                int p = pos0 + t, hi = bidir ? pos0 + n - 1 : p, lo = il == 1 || p - 99 < 0 ? 0 : p - 99, j, d;
                uint8_t qc[AT_HD * 4];
                float q[AT_HD], k[AT_HD], v[AT_HD];
                double sc[AT_N], mx = -1e300, sum = 0, o[AT_HD];
                size_t head = mg__row_bytes(s->kv_type, AT_HD) * (size_t)(h / (nh / AT_NKV));
                mg__quant_row(s->kv_type, s->q + ((size_t)t * nh + h) * AT_HD, qc, AT_HD);
                mg__dequant_row(s->kv_type, qc, q, AT_HD);
                for (j = lo; j <= hi; j++) {
                    double a = 0;
                    mg__dequant_row(s->kv_type, c->k + (size_t)(j % c->cap_max) * s->kv_row + head, k, AT_HD);
                    for (d = 0; d < AT_HD; d++) a += (double)q[d] * k[d];
                    sc[j - lo] = a;
                    if (a > mx) mx = a;
                }
                for (d = 0; d < AT_HD; d++) o[d] = 0;
                for (j = lo; j <= hi; j++) {
                    double e = exp(sc[j - lo] - mx);
                    sum += e;
                    mg__dequant_row(s->kv_type, c->v + (size_t)(j % c->cap_max) * s->kv_row + head, v, AT_HD);
                    for (d = 0; d < AT_HD; d++) o[d] += e * v[d];
                }
                for (d = 0; d < AT_HD; d++) {
                    double err = fabs(o[d] / sum - s->att[((size_t)t * nh + h) * AT_HD + d]);
                    if (err > *maxerr) *maxerr = err;
                }
            }
    }
}
static void check_attention(int nh) {
    static const int kvs[3] = { MG_KV_F32, MG_KV_F16, MG_KV_Q8_0 };
    static const int sizes[8] = { 1, 37, 200, 1, 1, 150, 256, 54 };          /* 700 positions; the 150 bidirectional */
    static mg_model m;
    static mg__layer layer[2];
    int k, i, il;
    m.hp.n_vocab = 16; m.hp.n_layer = 2; m.hp.n_embd = 32; m.hp.n_ff = 32; m.hp.n_head = nh; m.hp.n_head_kv = AT_NKV;
    m.hp.head_dim = AT_HD; m.hp.n_ctx_train = 1024; m.hp.swa = 100; m.has_weights = 1; m.layer = layer; layer[1].global = 1;
    for (k = 0; k < 3; k++) {
        mg_session *a = session(&m, 1, 0, kvs[k], 0), *b = session(&m, 3, 0, kvs[k], 0);
        float *oa[2], *ob[2];
        double err = 0;
        int pos = 0;
        for (il = 0; il < 2; il++) {
            oa[il] = (float *)malloc((size_t)AT_N * nh * AT_HD * sizeof(float));
            ob[il] = (float *)malloc((size_t)AT_N * nh * AT_HD * sizeof(float));
        }
        if (!a || !b || mg_session_reserve(a, AT_N) != MG_OK || mg_session_reserve(b, AT_N) != MG_OK) { CHECK(0, "attention sessions"); goto next; }
        for (i = 0; i < 8; pos += sizes[i++]) {
            at_chunk(a, pos, sizes[i], i == 5, oa, &err);
            if (i == 5) at_chunk(b, pos, sizes[i], 1, ob, NULL);          /* the same block on 3 threads */
            else { int t; for (t = 0; t < sizes[i]; t++) at_chunk(b, pos + t, 1, 0, ob, NULL); }   /* one at a time */
        }
        printf("  attention, %d heads over 2, KV type %d: max |out - double reference| %.3g\n", nh, kvs[k], err);
        CHECK(err < 3e-5, "%d heads, KV %d: attention differs from the double reference by %g", nh, kvs[k], err);
        for (il = 0; il < 2; il++)
            CHECK(memcmp(oa[il], ob[il], (size_t)AT_N * nh * AT_HD * sizeof(float)) == 0,
                  "KV %d layer %d: chunks on 1 thread vs tokens one at a time on 3 threads differ", kvs[k], il);
    next:
        for (il = 0; il < 2; il++) { free(oa[il]); free(ob[il]); }
        mg_session_free(a); mg_session_free(b);
    }
}

/* ----- memory: the estimate against the bytes the session really holds, and against hand arithmetic ----- */
static void check_memory(void) {
    mg_model *m = load_text("f32", NULL);
    static const int kvs[3] = { MG_KV_F16, MG_KV_F32, MG_KV_Q8_0 };
    static const size_t row[3] = { 2 * 64 * 2, 2 * 64 * 4, 2 * 2 * 34 };   /* 2 KV heads x head_dim 64 */
    int k, n;
    if (!m) { CHECK(0, "load"); return; }
    for (k = 0; k < 3; k++) {
        static const int npos[4] = { 100, 700, 2000, 4096 };
        for (n = 0; n < 4; n++) {
            mg_session_options o;
            mg_memory_estimate est = { 0, 0, 0, 0 };
            mg_session *s = NULL;
            size_t before = live_bytes, want_kv;
            int p = npos[n], local = p < 1024 ? p : 1024;          /* window 512 + chunk 512 */
            memset(&o, 0, sizeof o);
            o.n_threads = 1; o.n_ctx = 4096; o.kv_type = kvs[k];
            /* 5 local layers keep min(p, 1024) slots, the global layer (5) keeps p; K and V */
            want_kv = 2 * row[k] * (5 * (size_t)local + (size_t)p);
            CHECK(mg_session_memory_estimate(m, &o, p, &est, NULL) == MG_OK, "estimate");
            CHECK(est.kv == want_kv, "kv %d, %d positions: estimate %zu, by hand %zu", kvs[k], p, est.kv, want_kv);
            CHECK(mg_session_new(&s, m, &o, NULL) == MG_OK && mg_session_reserve(s, p) == MG_OK, "reserve");
            CHECK(mg_session_kv_bytes(s) == want_kv, "kv bytes held %zu, want %zu", mg_session_kv_bytes(s), want_kv);
            CHECK(live_bytes - before == est.total, "kv %d, %d positions: session holds %zu bytes, estimate %zu",
                  kvs[k], p, live_bytes - before, est.total);
            mg_session_free(s);
            CHECK(live_bytes == before, "session freed everything (%zu bytes left)", live_bytes - before);
        }
    }
    {   /* with the model's own context (4096) and defaults, growth while feeding stays within the ring */
        mg_session *s = session(m, 2, 0, MG_KV_F16, 0);
        int32_t ids[600];
        int i;
        for (i = 0; i < 600; i++) ids[i] = 100 + i % 50;
        CHECK(s && mg_eval(s, ids, 600) == MG_OK, "eval 600");
        /* doubling from 256: 1024 slots in every layer after 600 positions */
        CHECK(s && mg_session_kv_bytes(s) == 6 * 2 * (size_t)1024 * 256, "kv after 600 tokens: %zu", s ? mg_session_kv_bytes(s) : 0);
        CHECK(s && mg_session_reserve(s, 5000) == MG_ERR_CONTEXT_FULL, "reserve past n_ctx");
        mg_session_free(s);
    }
    {
        mg_session_options o;
        mg_memory_estimate est;
        memset(&o, 0, sizeof o);
        o.kv_type = 7;
        CHECK(mg_session_memory_estimate(m, &o, 10, &est, NULL) == MG_ERR_INVALID_ARG, "bad kv type refused");
    }
    mg_model_free(m);
}

/* ----- snapshots ----- */
static float *logits_copy(const mg_session *s) {
    float *l = (float *)malloc(8192 * sizeof(float));
    if (l && mg_logits(s)) memcpy(l, mg_logits(s), 8192 * sizeof(float));
    else if (l) { free(l); l = NULL; }
    return l;
}

static void check_snapshots(const mgx_json *pj, int kv) {
    mg_model *m = load_text("q4_k_m", NULL), *other = load_text("q8_0", NULL);
    int32_t ids[2048], g1[300], g2[300];
    int n = m ? tokenize_prompt(m, pj, "long", ids, 2048) : 0, P = 600;
    mg_session *a = session(m, 2, 256, kv, 2048), *b = session(m, 1, 512, kv, 2048), *c = session(m, 3, 0, kv, 2048);
    mg_snapshot *sn = NULL, *sn2 = NULL;
    float *ref = NULL, *got = NULL;
    mg_error e;
    if (!m || !other || !a || !b || !c || n != 676) { CHECK(0, "setup"); goto done; }
    /* a: prefix of 600 positions (past the 512 window), snapshot, then the rest */
    CHECK(mg_eval(a, ids, P) == MG_OK && mg_snapshot_take(a, &sn) == MG_OK, "prefix + snapshot");
    CHECK(mg_snapshot_pos(sn) == P, "snapshot holds %d positions", mg_snapshot_pos(sn));
    CHECK(mg_eval(a, ids + P, n - P) == MG_OK, "suffix");
    got = logits_copy(a);
    /* b: the whole prompt in one go */
    CHECK(mg_eval(b, ids, n) == MG_OK, "whole");
    ref = logits_copy(b);
    CHECK(got && ref && memcmp(got, ref, 8192 * 4) == 0, "kv %d: prefix + snapshot + suffix != whole prompt", kv);
    /* 250 greedy tokens on both: the 256-chunk session's ring (768) wraps */
    CHECK(greedy(a, 250, g1) && greedy(b, 250, g2) && memcmp(g1, g2, sizeof(int32_t) * 250) == 0, "kv %d: continuations differ", kv);
    /* branch: restore into a (used) and into c (other threads and chunk), feed a different suffix */
    CHECK(mg_snapshot_restore(a, sn) == MG_OK && mg_session_pos(a) == P, "restore a");
    free(got); got = logits_copy(a);
    mg_session_reset(b);
    CHECK(mg_eval(b, ids, P) == MG_OK, "b prefix");
    free(ref); ref = logits_copy(b);
    CHECK(got && ref && memcmp(got, ref, 8192 * 4) == 0, "restored logits are the prefix's logits");
    CHECK(mg_snapshot_restore(c, sn) == MG_OK, "restore c: %s", mg_session_error(c));
    CHECK(mg_eval(a, ids + 10, 40) == MG_OK && mg_eval(c, ids + 10, 40) == MG_OK && mg_eval(b, ids + 10, 40) == MG_OK, "branch feed");
    free(got); free(ref);
    got = logits_copy(a); ref = logits_copy(b);
    CHECK(got && ref && memcmp(got, ref, 8192 * 4) == 0, "branch a != fresh");
    free(got); got = logits_copy(c);
    CHECK(got && ref && memcmp(got, ref, 8192 * 4) == 0, "branch in another session (3 threads, chunk 512) != fresh");
    /* the file form */
    CHECK(mg_snapshot_save(sn, "build/tests/kv.snap", &e) == MG_OK, "save: %s", e.message);
    CHECK(mg_snapshot_load(&sn2, m, "build/tests/kv.snap", &e) == MG_OK, "load: %s", e.message);
    CHECK(sn2 && mg_snapshot_size(sn2) == mg_snapshot_size(sn) &&
          memcmp(mg_snapshot_data(sn2), mg_snapshot_data(sn), mg_snapshot_size(sn)) == 0, "file round trip");
    CHECK(sn2 && mg_snapshot_restore(c, sn2) == MG_OK && mg_eval(c, ids + 10, 40) == MG_OK, "restore loaded");
    free(got); got = logits_copy(c);
    CHECK(got && ref && memcmp(got, ref, 8192 * 4) == 0, "loaded snapshot branch != fresh");
    /* refusals */
    mg_snapshot_free(sn2); sn2 = NULL;
    CHECK(mg_snapshot_load(&sn2, other, "build/tests/kv.snap", &e) == MG_ERR_MODEL && !sn2, "another model file: %s", e.message);
    {
        mg_session *f32 = session(m, 1, 0, kv == MG_KV_F32 ? MG_KV_F16 : MG_KV_F32, 2048), *small = session(m, 1, 0, kv, 300);
        CHECK(mg_snapshot_restore(f32, sn) == MG_ERR_INVALID_ARG, "KV type mismatch refused");
        CHECK(mg_snapshot_restore(small, sn) == MG_ERR_CONTEXT_FULL, "n_ctx too small refused");
        mg_session_free(f32); mg_session_free(small);
    }
done:
    free(got); free(ref);
    mg_snapshot_free(sn); mg_snapshot_free(sn2);
    mg_session_free(a); mg_session_free(b); mg_session_free(c);
    mg_model_free(m); mg_model_free(other);
}

/* Every truncation and many single-bit flips of a snapshot are refused with a code, never a crash. */
static void check_snapshot_corruption(void) {
    mg_model *m = load_text("f32", NULL);
    mg_session *s = session(m, 1, 0, MG_KV_F16, 1024);
    mg_snapshot *sn = NULL, *t = NULL;
    int32_t ids[40];
    uint8_t *buf;
    size_t size, i, bad = 0, flips = 0;
    mg_error e;
    int k;
    for (k = 0; k < 40; k++) ids[k] = 300 + 7 * k;
    if (!s || mg_eval(s, ids, 40) != MG_OK || mg_snapshot_take(s, &sn) != MG_OK) { CHECK(0, "setup"); goto done; }
    size = mg_snapshot_size(sn);
    buf = (uint8_t *)malloc(size);
    memcpy(buf, mg_snapshot_data(sn), size);
    CHECK(mg_snapshot_read_mem(&t, m, buf, size, &e) == MG_OK, "intact snapshot reads");
    mg_snapshot_free(t); t = NULL;
    for (i = 0; i < size; i += (i < 200 ? 1 : 997))
        if (mg_snapshot_read_mem(&t, m, buf, i, &e) == MG_OK || t) bad++;
    CHECK(bad == 0, "%zu truncations accepted", bad);
    for (i = 0; i < size; i += (i < 200 ? 1 : 331)) {
        buf[i] ^= (uint8_t)(1u << (i % 8));
        if (mg_snapshot_read_mem(&t, m, buf, size, &e) == MG_OK) bad++;
        mg_snapshot_free(t); t = NULL;
        buf[i] ^= (uint8_t)(1u << (i % 8));
        flips++;
    }
    CHECK(bad == 0, "%zu of %zu bit flips accepted", bad, flips);
    buf[8] = 2;                                   /* a future format version */
    CHECK(mg_snapshot_read_mem(&t, m, buf, size, &e) == MG_ERR_UNSUPPORTED, "format 2: %s", e.message);
    buf[8] = 1;
    mg__put32(buf + 68, 1u << 30);                /* a huge position count */
    CHECK(mg_snapshot_read_mem(&t, m, buf, size, &e) == MG_ERR_FORMAT, "huge pos: %s", e.message);
    mg__put32(buf + 68, 40);
    memcpy(buf, "GGUF", 4);
    CHECK(mg_snapshot_read_mem(&t, m, buf, size, &e) == MG_ERR_FORMAT, "bad magic: %s", e.message);
    {   /* a file whose header promises more than it holds */
        FILE *f = fopen("build/tests/short.snap", "wb");
        memcpy(buf, "MGSNAPSH", 8);
        if (f) { fwrite(buf, 1, size / 2, f); fclose(f); }
        CHECK(mg_snapshot_load(&t, m, "build/tests/short.snap", &e) == MG_ERR_FORMAT && !t, "short file: %s", e.message);
        CHECK(mg_snapshot_load(&t, m, "build/tests/no-such.snap", &e) == MG_ERR_IO, "missing file");
    }
    free(buf);
done:
    mg_snapshot_free(sn);
    mg_session_free(s);
    mg_model_free(m);
}

/* ----- prompts with images: common prefix, feeding from a position, and the embedding cache ----- */
static int load_image(const char *path, mgx_image *img, mg_image *mi) {
    char err[256];
    if (mgx_image_load_file(path, img, err, sizeof err) != 0) { printf("FAIL %s: %s\n", path, err); return 0; }
    mi->w = img->w; mi->h = img->h; mi->channels = img->channels; mi->pixels = img->px;
    return 1;
}

static void check_image_reuse(void) {
    mg_model *m = load_text("f32", FIX_DIR "models/mmproj-tiny-f32.gguf");
    mgx_image im[2];
    mg_image mi[3];
    mg_image_embd plain[2], cached[3], again[1];
    mg_embd_cache *cache = NULL;
    mg_embd_cache_stats st;
    mg_session_options o;
    mg_session *s = NULL, *s2 = NULL, *f = NULL;
    mg_chat_item items[2][2];
    mg_chat_turn turn[2];
    mg_prompt p[2];
    mg_snapshot *sn = NULL;
    float *ref = NULL;
    int i, common;
    memset(plain, 0, sizeof plain); memset(cached, 0, sizeof cached); memset(again, 0, sizeof again);
    memset(p, 0, sizeof p);
    if (!m || !load_image(FIX_DIR "images/img-shapes-896x896.png", &im[0], &mi[0]) ||
        !load_image(FIX_DIR "images/img-small-300x200.png", &im[1], &mi[1])) { CHECK(0, "setup"); mg_model_free(m); return; }
    mi[2] = mi[0];
    /* the cache: same embeddings as without it, the repeated image is a hit */
    CHECK(mg_embd_cache_new(&cache, 0, NULL) == MG_OK, "cache");
    memset(&o, 0, sizeof o);
    o.n_threads = 2; o.n_ctx = 2048; o.embd_cache = cache;
    CHECK(mg_session_new(&s, m, &o, NULL) == MG_OK, "session with cache");
    o.embd_cache = NULL; o.n_threads = 1;
    CHECK(mg_session_new(&f, m, &o, NULL) == MG_OK, "session without");
    CHECK(mg_encode_images(f, mi, 2, MG_IMAGE_MEDGEMMA, plain) == MG_OK, "plain encode");
    CHECK(mg_encode_images(s, mi, 3, MG_IMAGE_MEDGEMMA, cached) == MG_OK, "cached encode");
    mg_embd_cache_stats_get(cache, &st);
    CHECK(st.hits == 1 && st.misses == 2 && st.entries == 2, "stats after 3 images (2 distinct): %llu hits %llu misses %d entries",
          (unsigned long long)st.hits, (unsigned long long)st.misses, st.entries);
    for (i = 0; i < 3; i++)
        CHECK(cached[i].data && plain[i % 2].data &&
              memcmp(cached[i].data, plain[i % 2].data, (size_t)256 * 256 * 4) == 0, "image %d: cached embedding differs", i);
    for (i = 0; i < 3; i++) mg_image_embd_free(&cached[i]);
    o.embd_cache = cache;
    CHECK(mg_session_new(&s2, m, &o, NULL) == MG_OK && mg_encode_images(s2, &mi[1], 1, MG_IMAGE_MEDGEMMA, again) == MG_OK, "second session");
    mg_embd_cache_stats_get(cache, &st);
    CHECK(st.hits == 2 && st.entries == 2, "a second session shares the cache (%llu hits)", (unsigned long long)st.hits);
    mg_image_embd_free(&again[0]);
    CHECK(mg_encode_images(s2, &mi[1], 1, MG_IMAGE_LLAMACPP, again) == MG_OK, "other mode");
    mg_embd_cache_stats_get(cache, &st);
    CHECK(st.misses == 3 && st.entries == 3, "another preprocessing mode is another key");
    mg_image_embd_free(&again[0]);
    {   /* float products are another key: a vision_f32 session sharing the cache gets float embeddings */
        mg_session *s3 = NULL, *f3 = NULL;
        mg_image_embd fe[2];
        memset(fe, 0, sizeof fe);
        o.vision_f32 = 1;
        CHECK(mg_session_new(&s3, m, &o, NULL) == MG_OK && mg_encode_images(s3, &mi[1], 1, MG_IMAGE_MEDGEMMA, &fe[0]) == MG_OK, "float session");
        o.embd_cache = NULL;
        CHECK(mg_session_new(&f3, m, &o, NULL) == MG_OK && mg_encode_images(f3, &mi[1], 1, MG_IMAGE_MEDGEMMA, &fe[1]) == MG_OK, "float, no cache");
        mg_embd_cache_stats_get(cache, &st);
        CHECK(st.misses == 4 && fe[0].data && fe[1].data && memcmp(fe[0].data, fe[1].data, (size_t)256 * 256 * 4) == 0,
              "a float-products session sharing the cache gets float embeddings (%llu misses)", (unsigned long long)st.misses);
        mg_image_embd_free(&fe[0]); mg_image_embd_free(&fe[1]);
        mg_session_free(s3); mg_session_free(f3);
        o.vision_f32 = 0; o.embd_cache = cache;
    }
    mg_embd_cache_free(cache);
    CHECK(mg_embd_cache_new(&cache, (size_t)256 * 256 * 4 * 3 / 2, NULL) == MG_OK, "bounded cache");
    mg_session_free(s2); s2 = NULL;
    o.embd_cache = cache;
    CHECK(mg_session_new(&s2, m, &o, NULL) == MG_OK && mg_encode_images(s2, mi, 3, MG_IMAGE_MEDGEMMA, cached + 0) != MG_ERR_NOMEM, "bounded encode");
    mg_embd_cache_stats_get(cache, &st);
    CHECK(st.entries == 1 && st.bytes == (size_t)256 * 256 * 4 && st.hits == 0 && st.misses == 3,
          "room for one entry: least recently used dropped (%d entries, %llu hits)", st.entries, (unsigned long long)st.hits);
    for (i = 0; i < 3; i++) mg_image_embd_free(&cached[i]);
    mg_embd_cache_free(cache);

    /* two chat prompts sharing an image and differing in the question */
    for (i = 0; i < 2; i++) {
        items[i][0].text = NULL; items[i][0].image = &plain[0];
        items[i][1].text = i ? "What is the shape on the left?" : "Describe this image.";
        items[i][1].image = NULL;
        turn[i].role = "user"; turn[i].items = items[i]; turn[i].n_items = 2;
        CHECK(mg_chat_build(m, "You are an expert radiologist.", &turn[i], 1, 1, &p[i], NULL) == MG_OK, "chat %d", i);
    }
    common = mg_prompt_common_prefix(m, &p[0], &p[1]);
    {
        int soft_end = 0;
        for (i = 0; i < p[0].n_ids; i++) if (p[0].ids[i] == mg_token_lookup(m, "<image_soft_token>")) soft_end = i + 1;
        CHECK(common > soft_end && common < p[0].n_ids && common < p[1].n_ids, "common prefix %d covers the image (ends %d)", common, soft_end);
        for (i = 0; i < common; i++) if (p[0].ids[i] != p[1].ids[i]) break;
        CHECK(i == common && p[0].ids[common] != p[1].ids[common], "prefix ends where the prompts differ");
        CHECK(mg_eval_prompt_from(s, &p[0], soft_end - 10) == MG_ERR_INVALID_ARG, "feeding from inside an image refused");
    }
    {   /* a different image: the prefix stops before its block */
        mg_chat_item it2[2];
        mg_chat_turn t2;
        mg_prompt q;
        int first_soft = 0, c2;
        it2[0].text = NULL; it2[0].image = &plain[1]; it2[1] = items[0][1];
        t2.role = "user"; t2.items = it2; t2.n_items = 2;
        memset(&q, 0, sizeof q);
        CHECK(mg_chat_build(m, "You are an expert radiologist.", &t2, 1, 1, &q, NULL) == MG_OK, "chat other image");
        while (first_soft < q.n_ids && q.ids[first_soft] != mg_token_lookup(m, "<image_soft_token>")) first_soft++;
        c2 = mg_prompt_common_prefix(m, &p[0], &q);
        CHECK(c2 == first_soft, "different images: prefix %d stops at the image block (%d)", c2, first_soft);
        mg_prompt_free(&q);
    }
    /* prefix once, snapshot, then each question = the whole prompt fed fresh */
    mg_session_free(s); s = NULL;
    o.embd_cache = NULL; o.n_threads = 2;
    CHECK(mg_session_new(&s, m, &o, NULL) == MG_OK, "session");
    CHECK(mg_eval_prompt_from(s, &p[0], 0) == MG_OK, "p0");
    ref = logits_copy(s);
    mg_session_reset(s);
    {
        mg_prompt head = p[0];
        head.n_ids = common;
        CHECK(mg_eval_prompt(s, &head) == MG_OK && mg_snapshot_take(s, &sn) == MG_OK, "prefix snapshot");
    }
    for (i = 0; i < 2; i++) {
        float *got;
        CHECK(mg_snapshot_restore(s, sn) == MG_OK && mg_eval_prompt_from(s, &p[i], common) == MG_OK, "question %d", i);
        got = logits_copy(s);
        if (i == 1) {
            CHECK(got && ref && memcmp(got, ref, 8192 * 4) != 0, "the two questions give different logits");
            mg_session_reset(f);
            CHECK(mg_eval_prompt(f, &p[1]) == MG_OK, "fresh p1");
            free(ref); ref = logits_copy(f);
        }
        CHECK(got && ref && memcmp(got, ref, 8192 * 4) == 0, "question %d via snapshot != fresh prompt", i);
        free(got);
    }
    free(ref);
    mg_snapshot_free(sn);
    mg_prompt_free(&p[0]); mg_prompt_free(&p[1]);
    mg_image_embd_free(&plain[0]); mg_image_embd_free(&plain[1]);
    mg_session_free(s); mg_session_free(s2); mg_session_free(f);
    mgx_image_free(&im[0]); mgx_image_free(&im[1]);
    mg_model_free(m);
}

int main(void) {
    mgx_json *pj = fix_json(FIX_DIR "ref/text/prompts.json");
    check_sha256();
    if (pj) {
        check_q8_kv(pj);
        check_q8_invariance(pj);
        check_snapshots(pj, MG_KV_F16);
        check_snapshots(pj, MG_KV_Q8_0);
        check_snapshots(pj, MG_KV_F32);
    } else CHECK(0, "prompts.json");
    check_memory();
    check_attention(6);
    check_attention(4);
    check_snapshot_corruption();
    check_image_reuse();
    mgx_json_free(pj);
    CHECK(live_blocks == 0, "%zu blocks (%zu bytes) still allocated at the end", live_blocks, live_bytes);
    return MG_TEST_END();
}
