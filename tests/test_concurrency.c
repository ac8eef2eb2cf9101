/* Concurrency: one shared model (tiny Q8_0 text model + a small vision file built here: 56 px images, 16
   patches, width 32, 4 tokens per image; the real tiny mmproj takes minutes per image under ThreadSanitizer,
   and test_vision covers it), several sessions generating at once from different threads, each session with
   its own pool of 2 or 3 threads. Every job (text chat with seeded
   sampling, image chat with greedy decoding) must give exactly what the same job gives alone on a 1-thread
   session: ids, image embeddings and final logits bit for bit. Then the pool under many small jobs: a
   3-thread session fed one token at a time, compared with a 1-thread session fed the same way.
   Runs in `make test`; `make tsan` runs it under ThreadSanitizer (data races in the pool or shared model). */
#include "fixtures.h"
#include "tools/gguf_write.h"
#include <pthread.h>

typedef struct job {
    const mg_model *m;
    int threads;                 /* session pool size */
    int image;                   /* 1: image chat (greedy), 0: text chat (sampled with seed) */
    uint64_t seed;
    /* results */
    int32_t ids[24]; int n_ids;
    float *embd;                 /* image embedding (image jobs), malloc'd */
    float *logits;               /* logits after the last fed token, malloc'd */
    mg_result r;
} job;

/* ----- the small vision file: llama.cpp mmproj layout, values from a fixed LCG ----- */
typedef struct vbuild { mg_gguf_writer *w; void *keep[40]; int n_keep; uint32_t rng; } vbuild;

static void vtensor(vbuild *b, const char *name, int type, int n_dims, int64_t n0, int64_t n1, int64_t n2, int64_t n3, float one) {
    int64_t ne[4] = { n0, n1, n2, n3 }, n = n0 * n1 * n2 * n3, i;
    float *f = (float *)malloc(sizeof(float) * (size_t)n);
    size_t bytes = mg_type_row_size(type, n0) * (size_t)(n / n0);
    void *q = malloc(bytes);
    for (i = 0; i < n; i++) {
        b->rng = b->rng * 1664525u + 1013904223u;
        f[i] = one + 0.2f * ((float)(b->rng >> 8) / 16777216.0f - 0.5f);
    }
    if (mg_quantize(type, f, q, n / n0, n0) != MG_OK || mg_gguf_writer_add_tensor(b->w, name, type, n_dims, ne, q, bytes) != MG_OK)
        printf("FAIL vision tensor %s\n", name);
    free(f);
    b->keep[b->n_keep++] = q;
}

/* A gemma3 clip file for a text model n_out wide; *n = its size. Free with free(). */
static void *small_vision(int n_out, size_t *n) {
    static const float half[3] = { 0.5f, 0.5f, 0.5f };
    const int d = 32, ff = 64;
    vbuild b;
    void *out = NULL;
    int i;
    memset(&b, 0, sizeof b);
    b.rng = 7;
    if (mg_gguf_writer_new(&b.w, 0) != MG_OK) return NULL;
    mg_gguf_writer_set_string(b.w, "general.architecture", "clip");
    mg_gguf_writer_set_string(b.w, "clip.projector_type", "gemma3");
    mg_gguf_writer_set_u32(b.w, "clip.vision.image_size", 56);
    mg_gguf_writer_set_u32(b.w, "clip.vision.patch_size", 14);
    mg_gguf_writer_set_u32(b.w, "clip.vision.embedding_length", (uint32_t)d);
    mg_gguf_writer_set_u32(b.w, "clip.vision.feed_forward_length", (uint32_t)ff);
    mg_gguf_writer_set_u32(b.w, "clip.vision.block_count", 1);
    mg_gguf_writer_set_u32(b.w, "clip.vision.attention.head_count", 2);
    mg_gguf_writer_set_u32(b.w, "clip.vision.projector.scale_factor", 2);
    mg_gguf_writer_set_array(b.w, "clip.vision.image_mean", MG_GGUF_F32, half, 3);
    mg_gguf_writer_set_array(b.w, "clip.vision.image_std", MG_GGUF_F32, half, 3);
    vtensor(&b, "v.patch_embd.weight", MG_TYPE_F16, 4, 14, 14, 3, d, 0);
    vtensor(&b, "v.patch_embd.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "v.position_embd.weight", MG_TYPE_F32, 2, d, 16, 1, 1, 0);
    vtensor(&b, "v.post_ln.weight", MG_TYPE_F32, 1, d, 1, 1, 1, 1);
    vtensor(&b, "v.post_ln.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "mm.soft_emb_norm.weight", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "mm.input_projection.weight", MG_TYPE_F32, 2, n_out, d, 1, 1, 0);
    vtensor(&b, "v.blk.0.ln1.weight", MG_TYPE_F32, 1, d, 1, 1, 1, 1);
    vtensor(&b, "v.blk.0.ln1.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "v.blk.0.ln2.weight", MG_TYPE_F32, 1, d, 1, 1, 1, 1);
    vtensor(&b, "v.blk.0.ln2.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "v.blk.0.attn_q.weight", MG_TYPE_F16, 2, d, d, 1, 1, 0);
    vtensor(&b, "v.blk.0.attn_k.weight", MG_TYPE_F16, 2, d, d, 1, 1, 0);
    vtensor(&b, "v.blk.0.attn_v.weight", MG_TYPE_F16, 2, d, d, 1, 1, 0);
    vtensor(&b, "v.blk.0.attn_out.weight", MG_TYPE_F16, 2, d, d, 1, 1, 0);
    vtensor(&b, "v.blk.0.attn_q.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "v.blk.0.attn_k.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "v.blk.0.attn_v.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "v.blk.0.attn_out.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    vtensor(&b, "v.blk.0.ffn_up.weight", MG_TYPE_F16, 2, d, ff, 1, 1, 0);
    vtensor(&b, "v.blk.0.ffn_up.bias", MG_TYPE_F32, 1, ff, 1, 1, 1, 0);
    vtensor(&b, "v.blk.0.ffn_down.weight", MG_TYPE_F16, 2, ff, d, 1, 1, 0);
    vtensor(&b, "v.blk.0.ffn_down.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
    if (mg_gguf_writer_write_mem(b.w, &out, n) != MG_OK) out = NULL;
    for (i = 0; i < b.n_keep; i++) free(b.keep[i]);
    mg_gguf_writer_free(b.w);
    return out;
}

/* A deterministic 48 x 40 RGB test pattern. */
static void pattern(uint8_t *px, int w, int h) {
    int x, y;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            uint8_t *p = px + 3 * ((size_t)y * w + x);
            p[0] = (uint8_t)(x * 5); p[1] = (uint8_t)(y * 6); p[2] = (uint8_t)((x ^ y) * 9);
        }
}

static mg_result run_job(job *j) {
    static uint8_t px[48 * 40 * 3];
    mg_session *s = NULL;
    mg_session_options so;
    mg_image img;
    mg_image_embd e = { 0, 0, NULL };
    mg_chat_item it[2];
    mg_chat_turn t;
    mg_prompt p;
    mg_generate_options g;
    mg_model_info info;
    mg_result r;
    memset(&so, 0, sizeof so);
    so.n_threads = j->threads; so.n_ctx = 512; so.seed = j->seed;
    if ((r = mg_session_new(&s, j->m, &so, NULL)) != MG_OK) return r;
    mg_model_get_info(j->m, &info);
    it[0].text = "Describe the findings."; it[0].image = NULL;
    it[1].text = NULL; it[1].image = &e;
    t.role = "user"; t.items = it; t.n_items = 1;
    if (j->image) {
        pattern(px, 48, 40);
        img.w = 48; img.h = 40; img.channels = 3; img.pixels = px;
        if ((r = mg_encode_image(s, &img, MG_IMAGE_MEDGEMMA, &e)) != MG_OK) goto done;
        j->embd = (float *)malloc(sizeof(float) * (size_t)e.n_tokens * e.n_embd);
        memcpy(j->embd, e.data, sizeof(float) * (size_t)e.n_tokens * e.n_embd);
        t.n_items = 2;
    }
    if ((r = mg_chat_build(j->m, NULL, &t, 1, 1, &p, NULL)) != MG_OK) goto done;
    r = mg_eval_prompt(s, &p);
    mg_prompt_free(&p);
    if (r != MG_OK) goto done;
    memset(&g, 0, sizeof g);
    g.max_tokens = j->image ? 6 : 16;
    if (!j->image) { g.sampler.temperature = 8.0f; g.sampler.top_k = 40;   /* the tiny model is peaked */ }
    g.out_ids = j->ids; g.out_cap = 24;
    if ((r = mg_generate(s, &g, &j->n_ids)) != MG_OK) goto done;
    j->logits = (float *)malloc(sizeof(float) * (size_t)info.n_vocab);
    memcpy(j->logits, mg_logits(s), sizeof(float) * (size_t)info.n_vocab);
done:
    mg_image_embd_free(&e);
    mg_session_free(s);
    return r;
}
static void *job_thread(void *arg) { job *j = (job *)arg; j->r = run_job(j); return NULL; }

static void job_free(job *j) { free(j->embd); free(j->logits); j->embd = j->logits = NULL; }

/* The same results, bit for bit. */
static int same(const job *a, const job *b, int n_vocab, int n_embd_img) {
    return a->r == MG_OK && b->r == MG_OK && a->n_ids == b->n_ids &&
           memcmp(a->ids, b->ids, sizeof(int32_t) * (size_t)a->n_ids) == 0 &&
           memcmp(a->logits, b->logits, sizeof(float) * (size_t)n_vocab) == 0 &&
           (!a->image || memcmp(a->embd, b->embd, sizeof(float) * (size_t)n_embd_img) == 0);
}

/* Sessions on threads sharing the model: text jobs with different seeds and an image job. */
static void check_shared_model(const mg_model *m) {
    enum { N = 4 };
    job ref[N], par[N];
    pthread_t th[N];
    mg_model_info info;
    int k, ok = 1;
    mg_model_get_info(m, &info);
    memset(ref, 0, sizeof ref);
    for (k = 0; k < N; k++) {
        ref[k].m = m; ref[k].threads = 1; ref[k].image = k == N - 1; ref[k].seed = 1000u + (uint64_t)k;
        ref[k].r = run_job(&ref[k]);
        CHECK(ref[k].r == MG_OK, "job %d alone: %s", k, mg_result_str(ref[k].r));
        par[k] = ref[k];
        par[k].threads = 2 + k % 2; par[k].embd = par[k].logits = NULL; par[k].n_ids = 0;
        memset(par[k].ids, 0, sizeof par[k].ids);
    }
    CHECK(ref[0].n_ids > 0 && (ref[0].n_ids != ref[1].n_ids || memcmp(ref[0].ids, ref[1].ids, sizeof(int32_t) * (size_t)ref[0].n_ids) != 0),
          "different seeds sample different texts (the comparison below can tell sessions apart)");
    for (k = 0; k < N; k++)
        if (pthread_create(&th[k], NULL, job_thread, &par[k]) != 0) { par[k].r = MG_ERR_THREAD; th[k] = pthread_self(); }
    for (k = 0; k < N; k++) if (!pthread_equal(th[k], pthread_self())) pthread_join(th[k], NULL);
    for (k = 0; k < N; k++) {
        int s = same(&par[k], &ref[k], info.n_vocab, info.image_tokens * info.n_embd);
        CHECK(s, "job %d (%s, %d threads) concurrently = alone on 1 thread", k, par[k].image ? "image" : "text", par[k].threads);
        ok &= s;
        job_free(&ref[k]); job_free(&par[k]);
    }
    if (ok) printf("ok %d sessions with 2-3 thread pools on one model, concurrently\n", N);
}

/* Many small pool jobs: 64 single-token evals on a 3-thread session = the same on a 1-thread session. */
static void check_pool_stress(const mg_model *m) {
    mg_session *s1 = NULL, *s3 = NULL;
    mg_session_options o;
    mg_model_info info;
    int k, ok = 1;
    mg_model_get_info(m, &info);
    memset(&o, 0, sizeof o);
    o.n_ctx = 128; o.n_threads = 1;
    mg_session_new(&s1, m, &o, NULL);
    o.n_threads = 3;
    mg_session_new(&s3, m, &o, NULL);
    if (!s1 || !s3) { CHECK(0, "sessions"); mg_session_free(s1); mg_session_free(s3); return; }
    for (k = 0; k < 64 && ok; k++) {
        int32_t id = (int32_t)((k * 7919) % info.n_vocab);
        ok = mg_eval(s1, &id, 1) == MG_OK && mg_eval(s3, &id, 1) == MG_OK &&
             memcmp(mg_logits(s1), mg_logits(s3), sizeof(float) * (size_t)info.n_vocab) == 0;
    }
    CHECK(ok, "64 one-token evals: 3 threads = 1 thread at every step (failed at %d)", k - 1);
    mg_session_free(s1);
    mg_session_free(s3);
}

int main(void) {
    mg_model *m = NULL;
    mg_model_options o;
    mg_model_info info;
    mg_error e;
    memset(&o, 0, sizeof o);
    if (!(o.mmproj_data = small_vision(256, &o.mmproj_size))) { printf("FAIL vision file\n"); return 1; }
    if (mg_model_load_file(&m, FIX_DIR "models/tiny-q8_0.gguf", &o, &e) != MG_OK) {
        printf("FAIL load: %s\n", e.message);
        return 1;
    }
    mg_model_get_info(m, &info);
    CHECK(info.has_vision && info.image_tokens == 4 && info.n_embd == 256, "tiny model + small vision file");
    check_shared_model(m);
    check_pool_stress(m);
    mg_model_free(m);
    free((void *)o.mmproj_data);
    return MG_TEST_END();
}
