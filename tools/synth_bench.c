/* synth_bench.c — `mg synth` (MedGemma-shaped GGUF files with random weights) and `mg bench` (speed and memory). */
#include "synth_bench.h"
#include "gguf_write.h"
#include "mgx_cli.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#if defined(_WIN32)
#include <direct.h>
#define make_dir(path) _mkdir(path)
#else
#include <sys/resource.h>
#define make_dir(path) mkdir(path, 0755)
#endif

/* Peak resident memory in GiB (0 where the system does not say). */
static double peak_rss_gib(void) {
#if defined(_WIN32)
    return 0;
#else
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1048576.0 : 0;
#endif
}

/* ---------- synth ---------- */
typedef struct synth_tensor { char name[96]; int type; int64_t ne[4]; int n_dims; float scale; } synth_tensor;
typedef struct synth_ctx { synth_tensor *t; int n, cap; uint64_t seed; } synth_ctx;

static void synth_add(synth_ctx *c, const char *name, int type, int n_dims, int64_t a, int64_t b, int64_t cc, int64_t d, float scale) {
    synth_tensor *t;
    if (c->n == c->cap) { c->cap = c->cap ? 2 * c->cap : 256; c->t = (synth_tensor *)realloc(c->t, sizeof(synth_tensor) * (size_t)c->cap); }
    t = &c->t[c->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type; t->n_dims = n_dims; t->ne[0] = a; t->ne[1] = b; t->ne[2] = cc; t->ne[3] = d; t->scale = scale;
}
static float synth_uniform(uint64_t *st) {   /* xorshift64*, in [-1, 1) */
    *st ^= *st >> 12; *st ^= *st << 25; *st ^= *st >> 27;
    return (float)((*st * 2685821657736338717ULL) >> 40) / 8388608.0f - 1.0f;
}
/* Tensor data: scale = 0 means all ones (norms, stored with Gemma's +1); otherwise uniform(-scale, scale) rows,
   of which at most 32 distinct ones are quantized and repeated (speed does not depend on the values). */
static mg_result synth_fill(void *user, const char *name, void *dst, size_t nbytes) {
    synth_ctx *c = (synth_ctx *)user;
    synth_tensor *t = NULL;
    int i;
    int64_t rows, r, distinct;
    size_t rb;
    float *row;
    uint8_t *q;
    for (i = 0; i < c->n && !t; i++) if (!strcmp(c->t[i].name, name)) t = &c->t[i];
    if (!t) return MG_ERR_INVALID_ARG;
    rows = t->ne[1] * t->ne[2] * t->ne[3];
    rb = mg_type_row_size(t->type, t->ne[0]);
    distinct = rows < 32 ? rows : 32;
    row = (float *)malloc(sizeof(float) * (size_t)t->ne[0]);
    q = (uint8_t *)malloc(rb * (size_t)distinct);
    if (!row || !q) { free(row); free(q); return MG_ERR_NOMEM; }
    for (r = 0; r < distinct; r++) {
        uint64_t st = c->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)(r + 1) * 0xbf58476d1ce4e5b9ULL + (uint64_t)i;
        int64_t k;
        for (k = 0; k < t->ne[0]; k++) row[k] = t->scale == 0 ? 1.0f : t->scale * synth_uniform(&st);
        mg_quantize(t->type, row, q + (size_t)r * rb, 1, t->ne[0]);
    }
    for (r = 0; r < rows; r++) memcpy((uint8_t *)dst + (size_t)r * rb, q + (size_t)(r % distinct) * rb, rb);
    (void)nbytes;
    free(row); free(q);
    return MG_OK;
}
static int synth_write(synth_ctx *c, mg_gguf_writer *w, const char *path) {
    int i;
    mg_result r;
    for (i = 0; i < c->n; i++)
        if ((r = mg_gguf_writer_add_tensor(w, c->t[i].name, c->t[i].type, c->t[i].n_dims, c->t[i].ne, NULL,
                                           mg_type_row_size(c->t[i].type, c->t[i].ne[0]) * (size_t)(c->t[i].ne[1] * c->t[i].ne[2] * c->t[i].ne[3]))) != MG_OK) {
            fprintf(stderr, "error: mg synth: %s: %s\n", c->t[i].name, mg_result_str(r)); return 0;
        }
    mg_gguf_writer_set_fill(w, synth_fill, c);
    if ((r = mg_gguf_writer_write_file(w, path)) != MG_OK) { fprintf(stderr, "error: mg synth: %s: %s\n", path, mg_result_str(r)); return 0; }
    printf("wrote %s (%d tensors)\n", path, c->n);
    return 1;
}

int mg_cmd_synth(int argc, char **argv) {
    const char *out = NULL, *vocab = NULL, *pos[1], *type = "q4_k_m";
    mgx_seed seed = { 1, 0 };
    int ft, n_pos, rc;
    mgx_arg own[5] = {
        { "-o", MGX_STR, &out, "DIR", "where the two files go (created if missing)", 0, 0, MGX_REQUIRED },
        { "--vocab", MGX_STR, &vocab, "FILE", "a GGUF whose tokenizer and metadata the text file copies", 0, 0, MGX_REQUIRED },
        { "--type", MGX_STR, &type, "T", "llama.cpp file type of the text file, its per-tensor mix included: q4_k_m (default), q5_k_m, q5_k_s, q3_k_m, q2_k, q4_0, q4_1, iq4_xs, iq4_nl, q6_k, q8_0, f16, ...", 0, 0, 0 },
        { "--seed", MGX_SEED, &seed, "S", "weight seed (default 1)", 0, 0, 0 },
        { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
    const mgx_argtable tables[2] = { { "Options", own }, { NULL, NULL } };
    const mgx_argspec spec = { "mg synth", "-o DIR --vocab VOCAB.gguf [--type T] [--seed S]",
        "Writes full-size MedGemma-shaped files with random weights: DIR/medgemma-synth-TYPE.gguf and\n"
        "DIR/mmproj-medgemma-synth-f16.gguf (for speed and memory measurements).", 0, 0, "", tables, NULL };
    mg_gguf *vg = NULL;
    mg_error e;
    unsigned char *vbuf = NULL;
    size_t vn = 0;
    char path[1024], err[256];
    int il, ok = 1;
    if ((rc = mgx_args(&spec, argc, argv, pos, &n_pos)) >= 0) return rc;
    if ((ft = mg_ftype_from_name(type)) < 0) { fprintf(stderr, "error: --type %s: not a llama.cpp file type (q4_k_m, q5_k_m, q3_k_m, q2_k, q4_0, q4_1, iq4_xs, iq4_nl, q6_k, q8_0, f16, ...)\n", type); return 2; }
    if (mgx_read_file(vocab, 0, &vbuf, &vn, err, sizeof err) != 0) { fprintf(stderr, "error: --vocab %s\n", err); return 1; }
    if (mg_gguf_open_mem(&vg, vbuf, vn, &e) != MG_OK) { fprintf(stderr, "error: --vocab %s: %s\n", vocab, e.message); free(vbuf); return 1; }
    if (make_dir(out) != 0 && errno != EEXIST) { fprintf(stderr, "error: -o %s: cannot create: %s\n", out, strerror(errno)); mg_gguf_close(vg); free(vbuf); return 1; }
    {   /* text model: the real 4B shape, hyperparameters and vocabulary from the vocab file */
        synth_ctx c;
        mg_gguf_writer *w;
        int64_t k, E = 2560, F = 10240, H = 8, KV = 4, D = 256, V = 262208;
#define W(role) mg_ftype_tensor_type(ft, role, il, 34, (int)(H / KV))   /* llama-quantize's per-tensor mix */
        memset(&c, 0, sizeof c);
        c.seed = seed.value;
        mg_gguf_writer_new(&w, 0);
        for (k = 0; k < mg_gguf_kv_count(vg); k++) mg_gguf_writer_copy_kv(w, vg, k);
        mg_gguf_writer_set_string(w, "general.name", "medgemma-synth");
        mg_gguf_writer_set_u32(w, "general.file_type", (uint32_t)ft);
        il = 0;
        synth_add(&c, "token_embd.weight", W("token_embd"), 2, E, V, 1, 1, 0.05f);
        synth_add(&c, "output_norm.weight", MG_TYPE_F32, 1, E, 1, 1, 1, 0);
        for (il = 0; il < 34; il++) {
            char nm[96];
#define T(suffix, ty, nd, a, b, sc) (snprintf(nm, sizeof nm, "blk.%d." suffix ".weight", il), synth_add(&c, nm, ty, nd, a, b, 1, 1, sc))
            T("attn_norm", MG_TYPE_F32, 1, E, 1, 0); T("ffn_norm", MG_TYPE_F32, 1, E, 1, 0);
            T("post_attention_norm", MG_TYPE_F32, 1, E, 1, 0); T("post_ffw_norm", MG_TYPE_F32, 1, E, 1, 0);
            T("attn_q_norm", MG_TYPE_F32, 1, D, 1, 0); T("attn_k_norm", MG_TYPE_F32, 1, D, 1, 0);
            T("attn_q", W("attn_q"), 2, E, H * D, 0.02f); T("attn_k", W("attn_k"), 2, E, KV * D, 0.02f);
            T("attn_v", W("attn_v"), 2, E, KV * D, 0.02f); T("attn_output", W("attn_output"), 2, H * D, E, 0.02f);
            T("ffn_gate", W("ffn_gate"), 2, E, F, 0.02f); T("ffn_up", W("ffn_up"), 2, E, F, 0.02f);
            T("ffn_down", W("ffn_down"), 2, F, E, 0.01f);
#undef T
        }
#undef W
        snprintf(path, sizeof path, "%s/medgemma-synth-%s.gguf", out, type);
        ok = synth_write(&c, w, path);
        mg_gguf_writer_free(w); free(c.t);
    }
    if (ok) {   /* vision file: SigLIP so400m at 896 px + Gemma 3 projector, F16 like the published mmproj */
        synth_ctx c;
        mg_gguf_writer *w;
        int64_t d = 1152, f = 4304;
        float half[3] = { 0.5f, 0.5f, 0.5f };
        memset(&c, 0, sizeof c);
        c.seed = seed.value + 1;
        mg_gguf_writer_new(&w, 0);
        mg_gguf_writer_set_string(w, "general.architecture", "clip");
        mg_gguf_writer_set_string(w, "general.type", "mmproj");
        mg_gguf_writer_set_string(w, "general.name", "medgemma-synth");
        mg_gguf_writer_set_bool(w, "clip.has_vision_encoder", 1);
        mg_gguf_writer_set_u32(w, "clip.vision.projection_dim", 2560);
        mg_gguf_writer_set_u32(w, "clip.vision.image_size", 896);
        mg_gguf_writer_set_u32(w, "clip.vision.patch_size", 14);
        mg_gguf_writer_set_u32(w, "clip.vision.embedding_length", (uint32_t)d);
        mg_gguf_writer_set_u32(w, "clip.vision.feed_forward_length", (uint32_t)f);
        mg_gguf_writer_set_u32(w, "clip.vision.block_count", 27);
        mg_gguf_writer_set_u32(w, "clip.vision.attention.head_count", 16);
        mg_gguf_writer_set_array(w, "clip.vision.image_mean", MG_GGUF_F32, half, 3);
        mg_gguf_writer_set_array(w, "clip.vision.image_std", MG_GGUF_F32, half, 3);
        mg_gguf_writer_set_string(w, "clip.projector_type", "gemma3");
        mg_gguf_writer_set_f32(w, "clip.vision.attention.layer_norm_epsilon", 1e-6f);
        mg_gguf_writer_set_bool(w, "clip.use_gelu", 1);
        synth_add(&c, "mm.input_projection.weight", MG_TYPE_F16, 2, 2560, d, 1, 1, 0.02f);
        synth_add(&c, "mm.soft_emb_norm.weight", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
        synth_add(&c, "v.patch_embd.weight", MG_TYPE_F32, 4, 14, 14, 3, d, 0.02f);
        synth_add(&c, "v.patch_embd.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0.01f);
        synth_add(&c, "v.position_embd.weight", MG_TYPE_F32, 2, d, 4096, 1, 1, 0.02f);
        synth_add(&c, "v.post_ln.weight", MG_TYPE_F32, 1, d, 1, 1, 1, 0);
        synth_add(&c, "v.post_ln.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0.01f);
        for (il = 0; il < 27; il++) {
            char nm[96];
#define V(suffix, ty, nd, a, b, sc) (snprintf(nm, sizeof nm, "v.blk.%d.%s", il, suffix), synth_add(&c, nm, ty, nd, a, b, 1, 1, sc))
            V("ln1.weight", MG_TYPE_F32, 1, d, 1, 0); V("ln1.bias", MG_TYPE_F32, 1, d, 1, 0.01f);
            V("ln2.weight", MG_TYPE_F32, 1, d, 1, 0); V("ln2.bias", MG_TYPE_F32, 1, d, 1, 0.01f);
            V("attn_q.weight", MG_TYPE_F16, 2, d, d, 0.03f); V("attn_q.bias", MG_TYPE_F32, 1, d, 1, 0.01f);
            V("attn_k.weight", MG_TYPE_F16, 2, d, d, 0.03f); V("attn_k.bias", MG_TYPE_F32, 1, d, 1, 0.01f);
            V("attn_v.weight", MG_TYPE_F16, 2, d, d, 0.03f); V("attn_v.bias", MG_TYPE_F32, 1, d, 1, 0.01f);
            V("attn_out.weight", MG_TYPE_F16, 2, d, d, 0.03f); V("attn_out.bias", MG_TYPE_F32, 1, d, 1, 0.01f);
            V("ffn_up.weight", MG_TYPE_F16, 2, d, f, 0.03f); V("ffn_up.bias", MG_TYPE_F32, 1, f, 1, 0.01f);
            V("ffn_down.weight", MG_TYPE_F16, 2, f, d, 0.015f); V("ffn_down.bias", MG_TYPE_F32, 1, d, 1, 0.01f);
#undef V
        }
        snprintf(path, sizeof path, "%s/mmproj-medgemma-synth-f16.gguf", out);
        ok = synth_write(&c, w, path);
        mg_gguf_writer_free(w); free(c.t);
    }
    mg_gguf_close(vg);
    free(vbuf);
    return ok ? 0 : 1;
}

/* ---------- bench ---------- */
static int cmp_d(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static void stats(const char *what, const char *unit, double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    printf("%-28s min %9.3f  median %9.3f  max %9.3f %s\n", what, v[0], v[n / 2], v[n - 1], unit);
}

/* Memory for a context of n positions: the estimate, then a real session reserving (and zero-filling) it, and
   with prefill the n positions really fed (synthetic tokens, timed). */
static int bench_context(mg_model *m, const mg_model_info *info, const mgx_opts *o, int n, int kv, int prefill) {
    mg_session_options so;
    mg_memory_estimate est;
    mg_session *s = NULL;
    mg_error e;
    double t0;
    mgx_session_options(o, n, &so);
    so.kv_type = kv;
    if (mg_session_memory_estimate(m, &so, n, &est, &e) != MG_OK) { fprintf(stderr, "error: mg bench: %s\n", e.message); return 1; }
    printf("context %d, KV %s: estimate KV %.3f GiB + scratch %.3f GiB + history %.3f MiB = %.3f GiB\n", n,
           kv == MG_KV_F32 ? "F32" : kv == MG_KV_Q8_0 ? "Q8_0" : "F16", est.kv / 1073741824.0, est.scratch / 1073741824.0,
           est.history / 1048576.0, est.total / 1073741824.0);
    if (mg_session_new(&s, m, &so, &e) != MG_OK) { fprintf(stderr, "error: mg bench: %s\n", e.message); return 1; }
    t0 = mgx_now();
    if (mg_session_reserve(s, n) != MG_OK) { fprintf(stderr, "mg bench: %s\n", mg_session_error(s)); mg_session_free(s); return 1; }
    printf("reserved %.3f GiB of KV in %.2f s\n", mg_session_kv_bytes(s) / 1073741824.0, mgx_now() - t0);
    if (prefill && info->has_weights) {
        int32_t *ids = (int32_t *)malloc(sizeof(int32_t) * (size_t)n);
        uint64_t st = 11;
        int i;
        for (i = 0; ids && i < n; i++) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; ids[i] = (int32_t)(300 + st % (uint64_t)(info->n_vocab - 300)); }
        t0 = mgx_now();
        if (!ids || mg_eval(s, ids, n) != MG_OK) { fprintf(stderr, "mg bench: %s\n", mg_session_error(s)); free(ids); mg_session_free(s); return 1; }
        printf("prefill of %d tokens: %.1f s (%.2f tok/s)\n", n, mgx_now() - t0, n / (mgx_now() - t0));
        free(ids);
    }
    printf("peak RSS %.2f GiB (mapped weights count when touched)\n", peak_rss_gib());
    mg_session_free(s);
    return 0;
}

int mg_cmd_bench(int argc, char **argv) {
    static const int KV[3] = { MG_KV_F16, MG_KV_Q8_0, MG_KV_F32 };
    mgx_opts o;
    int np = 512, ng = 128, images = 0, reps = 3, i, r, no_mmap = 0, vbf16 = 0, ctx = 0, kv = 0, ctx_prefill = 0, n_pos, threads;
    const char *pos[1];
    mg_model *m = NULL;
    mg_model_options mo;
    mg_error e;
    mg_model_info info;
    double *pp, *tg, *im;
    mgx_arg own[13];
    mgx_argtable tables[2];
    mgx_argspec spec;
    mgx_opts_init(&o, "mg bench");
    {
        const mgx_arg a[13] = {
            { "-m, --model", MGX_STR, &o.model, "FILE", "the text model GGUF", 0, 0, MGX_REQUIRED },
            { "--mmproj", MGX_STR, &o.mmproj, "FILE", "the vision projector (for --images)", 0, 0, 0 },
            { "-t, --threads", MGX_INT, &o.threads, "N", "threads (default: the CPUs online)", 1, MGX_MAX_THREADS, 0 },
            { "-p", MGX_INT, &np, "N", "prompt tokens to prefill (default 512)", 0, MG_MAX_CTX / 2, 0 },
            { "-n", MGX_INT, &ng, "N", "tokens to decode (default 128)", 0, MG_MAX_CTX / 2, 0 },
            { "--images", MGX_INT, &images, "K", "896 px images to encode (default 0)", 0, 1000, 0 },
            { "-r", MGX_INT, &reps, "R", "repetitions: min, median and max are printed (default 3)", 1, 1000, 0 },
            { "--no-mmap", MGX_FLAG, &no_mmap, NULL, "read the weights into memory instead of mapping them", 0, 0, 0 },
            { "--vision-bf16", MGX_FLAG, &vbf16, NULL, "image encoder products in bfloat16", 0, 0, 0 },
            { "--ctx", MGX_INT, &ctx, "N", "instead: memory for a context of N positions (estimate, then reserved)", 1, MG_MAX_CTX, 0 },
            { "--kv", MGX_ENUM, &kv, "f16|q8_0|f32", "with --ctx: KV cache type (default f16)", 0, 0, 0 },
            { "--ctx-prefill", MGX_FLAG, &ctx_prefill, NULL, "with --ctx: also feed the N positions, timed", 0, 0, 0 },
            { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
        memcpy(own, a, sizeof a);
    }
    tables[0].title = "Options"; tables[0].args = own;
    tables[1].title = NULL; tables[1].args = NULL;
    memset(&spec, 0, sizeof spec);
    spec.prog = "mg bench"; spec.usage = "-m MODEL.gguf [--mmproj FILE] [-p 512] [-n 128] [-t N] [--images K] [-r R] [--ctx N ...]";
    spec.about = "Prefill and decode speed (tokens/s), image encode time and peak memory, or with --ctx the memory of a context.";
    spec.pos_name = ""; spec.tables = tables;
    if ((r = mgx_args(&spec, argc, argv, pos, &n_pos)) >= 0) return r;
    if (mgx_opts_finish(&o, NULL) != 0 || mgx_check_files(&o) != 0) return 1;
    threads = o.threads ? o.threads : mgx_cpu_count();
    memset(&mo, 0, sizeof mo);
    mo.mmproj_path = o.mmproj;
    mo.no_mmap = no_mmap;
    {
        double t0 = mgx_now();
        if (mg_model_load_file(&m, o.model, &mo, &e) != MG_OK) { mgx_model_error(&o, &e); return 1; }
        mg_model_get_info(m, &info);
        printf("model %s: %d layers, width %d, vocab %d, %.2f GB of weights%s; load %.2f s\n", o.model, info.n_layer, info.n_embd,
               info.n_vocab, info.weight_bytes / 1e9, info.has_vision ? ", vision" : "", mgx_now() - t0);
    }
    printf("kernels: %s; %d thread%s; weights %s\n", mg_build_info(), threads, threads == 1 ? "" : "s", no_mmap ? "read into memory" : "mapped");
    if (ctx > 0) { r = bench_context(m, &info, &o, ctx, KV[kv], ctx_prefill); mg_model_free(m); mgx_opts_free(&o); return r; }
    pp = (double *)calloc((size_t)reps, sizeof(double)); tg = (double *)calloc((size_t)reps, sizeof(double)); im = (double *)calloc((size_t)reps, sizeof(double));
    for (r = 0; r < reps; r++) {
        mg_session *s = NULL;
        mg_session_options so;
        int32_t *ids = (int32_t *)malloc(sizeof(int32_t) * (size_t)(np + 1));
        uint64_t st = 7 + (uint64_t)r;
        double t0;
        mgx_session_options(&o, np + ng + 8, &so);
        so.vision_bf16 = vbf16;
        if (mg_session_new(&s, m, &so, &e) != MG_OK) { fprintf(stderr, "error: mg bench: %s\n", e.message); return 1; }
        for (i = 0; i < np; i++) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; ids[i] = (int32_t)(st % (uint64_t)(info.n_vocab > 300 ? info.n_vocab - 300 : 1)) + (info.n_vocab > 300 ? 300 : 0); }
        if (info.has_weights && np > 0) {
            t0 = mgx_now();
            if (mg_eval(s, ids, np) != MG_OK) { fprintf(stderr, "mg bench: %s\n", mg_session_error(s)); return 1; }
            pp[r] = np / (mgx_now() - t0);
        }
        if (info.has_weights && ng > 0) {
            int32_t id = ids[0];
            if (np == 0) mg_eval(s, &id, 1);
            t0 = mgx_now();
            for (i = 0; i < ng; i++) {
                const float *l = mg_logits(s);
                int32_t b = 0, k;
                for (k = 1; k < info.n_vocab; k++) if (l[k] > l[b]) b = k;
                if (mg_eval(s, &b, 1) != MG_OK) { fprintf(stderr, "mg bench: %s\n", mg_session_error(s)); return 1; }
            }
            tg[r] = ng / (mgx_now() - t0);
        }
        if (images > 0 && info.has_vision) {
            uint8_t *px = (uint8_t *)malloc(896 * 896 * 3);
            mg_image img;
            mg_image_embd *out = (mg_image_embd *)calloc((size_t)images, sizeof *out);
            for (i = 0; i < 896 * 896 * 3; i++) px[i] = (uint8_t)((i * 2654435761u) >> 24);
            img.w = 896; img.h = 896; img.channels = 3; img.pixels = px;
            t0 = mgx_now();
            for (i = 0; i < images; i++) if (mg_encode_image(s, &img, MG_IMAGE_MEDGEMMA, &out[i]) != MG_OK) { fprintf(stderr, "mg bench: %s\n", mg_session_error(s)); return 1; }
            im[r] = (mgx_now() - t0) / images;
            for (i = 0; i < images; i++) mg_image_embd_free(&out[i]);
            free(out); free(px);
        }
        mg_session_free(s);
        free(ids);
    }
    if (info.has_weights && np > 0) stats("prefill (pp)", "tok/s", pp, reps);
    if (info.has_weights && ng > 0) stats("decode (tg)", "tok/s", tg, reps);
    if (images > 0 && info.has_vision) stats("image encode", "s/image", im, reps);
    printf("paste: medgemma.h %d.%d.%d %s, %d threads, weights %s: pp%d %.2f tok/s, tg%d %.2f tok/s, image %.2f s (medians of %d)\n", MEDGEMMA_VERSION_MAJOR, MEDGEMMA_VERSION_MINOR, MEDGEMMA_VERSION_PATCH, mg_build_info(), threads, no_mmap ? "in memory" : "mapped", np, pp[reps / 2], ng, tg[reps / 2], im[reps / 2], reps);
    printf("peak RSS %.2f GiB (mapped weights count when touched)\n", peak_rss_gib());
    free(pp); free(tg); free(im);
    mg_model_free(m);
    mgx_opts_free(&o);
    return 0;
}
