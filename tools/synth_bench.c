/* synth_bench.c — `mg synth` (MedGemma-shaped GGUF files with random weights) and `mg bench` (speed and memory). */
#include "synth_bench.h"
#include "gguf_write.h"
#include "mgx_cli.h"
#include "mgx_slide.h"
#include "mgx_volume_prompt.h"
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

/* ---------- bench --recipe: the ct and wsi drivers' own path on synthetic inputs ---------- */
enum { RECIPE_CT, RECIPE_WSI };
#define CT_SIDE 512   /* a CT slice's usual matrix */
#define CT_QUESTION "Provide a radiology report of the findings in these CT slices."
#define WSI_PROMPT "You are an instructor teaching medical students. For education purposes, provide a brief descriptive " \
    "text for the set of pathology patches extracted from a pathology slide. Consider the tissue type and procedure " \
    "(below) when deciding what to include in the descriptive text.\ncolon, biopsy:"

static uint32_t next_u32(uint64_t *st) {   /* xorshift64 */
    *st ^= *st << 13; *st ^= *st >> 7; *st ^= *st << 17;
    return (uint32_t)(*st >> 32);
}

/* n slices of 512 x 512 with pseudo-random integer Hounsfield values in [-1024, 1535] (fixed seed). */
static int synthetic_ct(int n, mgx_volume *v) {
    size_t i, count = (size_t)n * CT_SIDE * CT_SIDE;
    uint64_t st = 0x2545f4914f6cdd1dULL;
    memset(v, 0, sizeof *v);
    if (!(v->vox = (float *)malloc(count * sizeof *v->vox))) { fprintf(stderr, "error: out of memory for %d synthetic slices\n", n); return -1; }
    for (i = 0; i < count; i++) v->vox[i] = (float)((int)(next_u32(&st) % 2560) - 1024);
    v->w = v->h = CT_SIDE; v->d = n; v->nvolumes = 1;
    strcpy(v->modality, "CT");
    return 0;
}

/* A slide holding k tissue tiles and then some: ceil(5k/4) tiles in a square grid, every fifth one and those past
   that count white (glass), the others pseudo-random stained pixels (max - min of R, G, B at least 37). */
static int synthetic_slide(int k, mgx_image *img) {
    int tiles = (5 * k + 3) / 4, cols = 1, rows, x, y;
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    char err[256];
    while (cols * cols < tiles) cols++;
    rows = (tiles + cols - 1) / cols;
    if (mgx_image_alloc(img, cols * MGX_TILE, rows * MGX_TILE, 3, err, sizeof err) != 0) { fprintf(stderr, "error: synthetic slide: %s\n", err); return -1; }
    for (y = 0; y < img->h; y++)
        for (x = 0; x < img->w; x++) {
            int t = y / MGX_TILE * cols + x / MGX_TILE;
            unsigned char *p = img->px + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
            uint32_t r = next_u32(&st);
            if (t >= tiles || t % 5 == 4) { p[0] = p[1] = p[2] = 255; continue; }
            p[0] = (unsigned char)(200 + (r & 31)); p[1] = (unsigned char)(100 + (r >> 8 & 63)); p[2] = (unsigned char)(170 + (r >> 16 & 31));
        }
    return 0;
}

static double per(double a, double b) { return b > 0 ? a / b : 0; }

/* Makes the synthetic input, times its preprocessing (windows; tissue mask and tiling), then runs the driver's
   own rest (mgx_volume_answer, mgx_wsi_answer) and prints what it measured. Returns the exit code. */
static int bench_recipe(mgx_opts *o, int recipe, int k, int ng, const char *question) {
    const char *name = recipe == RECIPE_CT ? "ct" : "wsi", *unit = recipe == RECIPE_CT ? "slices" : "patches";
    mgx_run r;
    mgx_volume vol;
    mgx_slice_set ss;
    mgx_image slide;
    mgx_patch *cand = NULL;
    double t0 = mgx_now(), t_load, t_prep, t_synth = 0, total;
    int status = 1, n_cand = 0, threads = o->threads ? o->threads : mgx_cpu_count();
    o->questions[0] = question ? question : recipe == RECIPE_CT ? CT_QUESTION : WSI_PROMPT;
    o->n_questions = 1;
    o->n_predict = ng;
    mgx_run_init(&r, o);
    r.unreported = 1;
    r.advice = recipe == RECIPE_CT ? "use fewer --slices" : "use fewer --patches";
    memset(&slide, 0, sizeof slide);
    if (mgx_run_load(&r, 1) != 0) goto done;
    t_load = mgx_now() - t0;
    if (recipe == RECIPE_CT) {
        double t;
        t = mgx_now();
        if (synthetic_ct(k, &vol) != 0) goto done;
        t_synth = mgx_now() - t;
        t = mgx_now();
        status = mgx_slice_set_make(&vol, &mgx_ct_recipe, k, "the synthetic volume", &ss);
        t_prep = mgx_now() - t;
        mgx_volume_free(&vol);
        if (status != 0) { status = 1; goto done; }
        printf("recipe ct: %d synthetic slices of %dx%d, %d thread%s, model load %.2f s\n", k, CT_SIDE, CT_SIDE, threads, threads == 1 ? "" : "s", t_load);
        printf("windowing   %d slices in %.3f s\n", ss.n, t_prep);
        fflush(stdout);
        status = mgx_volume_answer(&r, &mgx_ct_recipe, &ss);
        mgx_slice_set_free(&ss);
    } else {
        double t;
        t = mgx_now();
        if (synthetic_slide(k, &slide) != 0) goto done;
        t_synth = mgx_now() - t;
        t = mgx_now();
        n_cand = mgx_slide_patches(&slide, "the synthetic slide", 0, &cand);
        t_prep = mgx_now() - t;
        if (n_cand < 0) goto done;
        printf("recipe wsi: a synthetic %dx%d slide, %d thread%s, model load %.2f s\n", slide.w, slide.h, threads, threads == 1 ? "" : "s", t_load);
        printf("tissue mask %d tiles with tissue in %.3f s\n", n_cand, t_prep);
        fflush(stdout);
        status = mgx_wsi_answer(&r, &slide, cand, n_cand, k, NULL);
    }
    if (status != 0) goto done;
    total = mgx_now() - t0 - t_synth;
    printf("encode      %d images in %.2f s: %.3f s/image\n", r.encoded, r.encode_s, per(r.encode_s, r.encoded));
    printf("prefill     %ld prompt tokens in %.2f s: %.2f tok/s\n", r.prefill_tokens, r.prefill_s, per((double)r.prefill_tokens, r.prefill_s));
    printf("decode      %ld tokens in %.2f s: %.2f tok/s%s\n", r.generated, r.decode_s, per((double)r.generated, r.decode_s),
           r.generated < ng ? " (the answer ended before -n)" : "");
    printf("total       %.2f s (model load, preprocessing, encodes, prefill, decode; making the synthetic input excluded)\n", total);
    printf("paste: medgemma.h %d.%d.%d %s, %s recipe, %d %s, %d thread%s: encode %.3f s/image, prefill %ld tokens %.2f tok/s, "
           "decode %ld tokens %.2f tok/s, total %.1f s\n", MEDGEMMA_VERSION_MAJOR, MEDGEMMA_VERSION_MINOR, MEDGEMMA_VERSION_PATCH,
           mg_build_info(), name, r.encoded, unit, threads, threads == 1 ? "" : "s", per(r.encode_s, r.encoded), r.prefill_tokens,
           per((double)r.prefill_tokens, r.prefill_s), r.generated, per((double)r.generated, r.decode_s), total);
    printf("peak RSS %.2f GiB (mapped weights count when touched)\n", peak_rss_gib());
done:
    free(cand);
    mgx_image_free(&slide);
    mgx_run_free(&r);
    return status;
}

/* With --recipe the synthetic-prompt options do not apply, and --slices/--patches/-q need their recipe.
   -1 to go on, else 2 after a message. Unset options hold -1 (numbers, --kv) or 0 (flags, --ctx). */
static int recipe_args(int recipe, int slices, int patches, const char *question, int np, int ng, int images, int reps,
                       int ctx, int kv, int ctx_prefill, int no_mmap) {
    const char *other = np >= 0 ? "-p" : images >= 0 ? "--images" : reps >= 0 ? "-r" : ctx ? "--ctx" : kv >= 0 ? "--kv"
                      : ctx_prefill ? "--ctx-prefill" : no_mmap ? "--no-mmap" : NULL;
    if (recipe < 0) {
        const char *need = slices >= 0 ? "--slices" : patches >= 0 ? "--patches" : question ? "-q" : NULL;
        return need ? mgx_usage_error("mg bench", "%s needs --recipe %s", need, slices >= 0 ? "ct" : patches >= 0 ? "wsi" : "ct or wsi") : -1;
    }
    if (other) return mgx_usage_error("mg bench", "%s does not apply to --recipe (it runs the driver's own path)", other);
    if (recipe == RECIPE_CT && patches >= 0) return mgx_usage_error("mg bench", "--patches needs --recipe wsi (ct takes --slices)");
    if (recipe == RECIPE_WSI && slices >= 0) return mgx_usage_error("mg bench", "--slices needs --recipe ct (wsi takes --patches)");
    if (ng == 0) return mgx_usage_error("mg bench", "-n 0: --recipe decodes at least 1 token");
    return -1;
}

int mg_cmd_bench(int argc, char **argv) {
    static const int KV[3] = { MG_KV_F16, MG_KV_Q8_0, MG_KV_F32 };
    mgx_opts o;
    int np = -1, ng = -1, images = -1, reps = -1, i, r, no_mmap = 0, vbf16 = 0, ctx = 0, kv = -1, ctx_prefill = 0, n_pos, threads;
    int recipe = -1, slices = -1, patches = -1;
    const char *pos[1], *question = NULL;
    mg_model *m = NULL;
    mg_model_options mo;
    mg_error e;
    mg_model_info info;
    double *pp, *tg, *im;
    mgx_arg own[6], synth[8], rec[5];
    mgx_argtable tables[4];
    mgx_argspec spec;
    mgx_opts_init(&o, "mg bench");
    {
        const mgx_arg a[6] = {
            { "-m, --model", MGX_STR, &o.model, "FILE", "the text model GGUF", 0, 0, MGX_REQUIRED },
            { "--mmproj", MGX_STR, &o.mmproj, "FILE", "the vision projector (for --images and --recipe)", 0, 0, 0 },
            { "-t, --threads", MGX_INT, &o.threads, "N", "threads (default: the CPUs online)", 1, MGX_MAX_THREADS, 0 },
            { "-n", MGX_INT, &ng, "N", "tokens to decode (default 128; --recipe: 64, greedy, fewer if the answer ends)", 0, MG_MAX_CTX / 2, 0 },
            { "--vision-f32", MGX_FLAG, &o.vision_f32, NULL, MGX_VISION_F32_HELP, 0, 0, 0 },
            { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
        const mgx_arg b[8] = {
            { "-p", MGX_INT, &np, "N", "prompt tokens to prefill (default 512)", 0, MG_MAX_CTX / 2, 0 },
            { "--images", MGX_INT, &images, "K", "896 px images to encode (default 0)", 0, 1000, 0 },
            { "-r", MGX_INT, &reps, "R", "repetitions: min, median and max are printed (default 3)", 1, 1000, 0 },
            { "--no-mmap", MGX_FLAG, &no_mmap, NULL, "read the weights into memory instead of mapping them", 0, 0, 0 },
            { "--ctx", MGX_INT, &ctx, "N", "instead: memory for a context of N positions (estimate, then reserved)", 1, MG_MAX_CTX, 0 },
            { "--kv", MGX_ENUM, &kv, "f16|q8_0|f32", "with --ctx: KV cache type (default f16)", 0, 0, 0 },
            { "--ctx-prefill", MGX_FLAG, &ctx_prefill, NULL, "with --ctx: also feed the N positions, timed", 0, 0, 0 },
            { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
        const mgx_arg c[5] = {
            { "--recipe", MGX_ENUM, &recipe, "ct|wsi", "instead: one question end to end through the ct or wsi driver's own code, on a synthetic volume or slide", 0, 0, 0 },
            { "--slices", MGX_INT, &slices, "K", "--recipe ct: slices in the volume, all used (default 85, Google's choice)", 1, 1000, 0 },
            { "--patches", MGX_INT, &patches, "K", "--recipe wsi: patches used (default 125, Google's choice)", 1, 500, 0 },
            { "-q", MGX_STR, &question, "TEXT", "--recipe: the question (ct: \"" CT_QUESTION "\"; wsi: Google's example prompt, MEDGEMMA.md section 5)", 0, 0, 0 },
            { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
        memcpy(own, a, sizeof a); memcpy(synth, b, sizeof b); memcpy(rec, c, sizeof c);
    }
    tables[0].title = "Options"; tables[0].args = own;
    tables[1].title = "Synthetic tokens and images"; tables[1].args = synth;
    tables[2].title = "Recipe"; tables[2].args = rec;
    tables[3].title = NULL; tables[3].args = NULL;
    memset(&spec, 0, sizeof spec);
    spec.prog = "mg bench";
    spec.usage = "-m MODEL.gguf [--mmproj FILE] [-p 512] [-n 128] [-t N] [--images K] [-r R] [--ctx N ...]\n"
                 "       mg bench --recipe ct|wsi -m MODEL.gguf --mmproj FILE [--slices 85 | --patches 125] [-n 64] [-t N] [-q TEXT]";
    spec.about = "Prefill and decode speed (tokens/s), image encode time and peak memory, or with --ctx the memory of a context,\n"
                 "or with --recipe the time of one CT or pathology question end to end, as the ct and wsi drivers run it.";
    spec.pos_name = ""; spec.tables = tables;
    spec.footer = "Exit status: 0 success, 1 runtime failure, 2 usage error.";
    if ((r = mgx_args(&spec, argc, argv, pos, &n_pos)) >= 0) return r;
    if ((r = recipe_args(recipe, slices, patches, question, np, ng, images, reps, ctx, kv, ctx_prefill, no_mmap)) >= 0) return r;
    if (recipe >= 0) {
        if (mgx_opts_finish(&o, NULL) != 0) return 1;
        r = bench_recipe(&o, recipe, recipe == RECIPE_CT ? (slices > 0 ? slices : MGX_DEFAULT_SLICES) : (patches > 0 ? patches : MGX_DEFAULT_PATCHES),
                         ng > 0 ? ng : 64, question);
        mgx_opts_free(&o);
        return r;
    }
    if (np < 0) np = 512;
    if (ng < 0) ng = 128;
    if (images < 0) images = 0;
    if (reps < 0) reps = 3;
    if (kv < 0) kv = 0;
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
        if (mg_session_new(&s, m, &so, &e) != MG_OK) { fprintf(stderr, "error: mg bench: %s\n", e.message); return 1; }
        vbf16 = mg_session_vision_bf16(s);
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
    printf("paste: medgemma.h %d.%d.%d %s, %d threads, weights %s: pp%d %.2f tok/s, tg%d %.2f tok/s, image %.2f s, %s products (medians of %d)\n", MEDGEMMA_VERSION_MAJOR, MEDGEMMA_VERSION_MINOR, MEDGEMMA_VERSION_PATCH, mg_build_info(), threads, no_mmap ? "in memory" : "mapped", np, pp[reps / 2], ng, tg[reps / 2], im[reps / 2], vbf16 ? "bf16" : "float", reps);
    printf("peak RSS %.2f GiB (mapped weights count when touched)\n", peak_rss_gib());
    free(pp); free(tg); free(im);
    mg_model_free(m);
    mgx_opts_free(&o);
    return 0;
}
