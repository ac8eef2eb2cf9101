/* The SigLIP tower's work, measured and checked.
     build/bench_vision gemm [threads] [runs]   each weight product of one layer at MedGemma's shapes (4096 patches,
                                                F16 weights), float and bf16: packing time, the tiles' GFLOP/s by
                                                the wall clock and per thread of CPU time, and the fraction of the
                                                peak measured on this thread just before (vfmadd231ps, vdpbf16ps)
     build/bench_vision attn [threads] [runs]   the attention of one layer (16 heads x 4096 patches, head 72)
     build/bench_vision rows [threads] [runs]   its LayerNorm and GELU row jobs (CPU time)
     build/bench_vision accuracy                float and bf16 weight products against the fixtures (llama.cpp's
                                                F32 embeddings, logits and greedy ids of the image prompt), on the
                                                fixture mmproj files and on copies whose tensors are first rounded
                                                to bfloat16 (what MedGemma's own weights are)
   Run from the repository root (the fixtures are read from tests/data). It includes the implementation to reach the
   tower's internals. */
#include "tools/bench_impl.h"
#define MG_GGUF_WRITE_STATIC
#define MG_GGUF_WRITE_IMPLEMENTATION
#include "tools/gguf_write.h"
#include "mgx_image.h"
#include "mgx_json.h"
#include "tools/bench_time.h"
static double load1(void) {
    FILE *f = fopen("/proc/loadavg", "r");
    double l = -1;
    if (f) { if (fscanf(f, "%lf", &l) != 1) l = -1; fclose(f); }
    return l;
}

/* GFLOP/s of one thread on 24 independent vfmadd231ps (bf16 = 0) or vdpbf16ps (1) chains, written as assembly
   (the compiler folds such loops written with intrinsics): the peak under the machine's present load. */
static double peak(int bf16) {
#if defined(MG__BF16) && defined(__GNUC__)
#define MG__R24(I) I(0) I(1) I(2) I(3) I(4) I(5) I(6) I(7) I(8) I(9) I(10) I(11) I(12) I(13) I(14) I(15) I(16) I(17) I(18) I(19) I(20) I(21) I(22) I(23)
#define MG__FMA(k) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #k "\n\t"
#define MG__DPB(k) "vdpbf16ps %%zmm30, %%zmm31, %%zmm" #k "\n\t"
    const long n = 5000000;
    long i;
    double t;
    __asm__ volatile("vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31" ::: "xmm30", "xmm31");
    t = thread_s();
#define MG__CL "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
              "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23"
    if (bf16) for (i = 0; i < n; i++) __asm__ volatile(MG__R24(MG__DPB) ::: MG__CL);
    else for (i = 0; i < n; i++) __asm__ volatile(MG__R24(MG__FMA) ::: MG__CL);
#undef MG__CL
    t = thread_s() - t;
    return 24.0 * n * (bf16 ? 64 : 32) / t * 1e-9;
#undef MG__R24
#undef MG__FMA
#undef MG__DPB
#else
    (void)bf16;
    return 0;
#endif
}

/* ----- gemm: one layer's weight products ----- */
static void bench_gemm(int nth, int runs) {
    static const struct { const char *name; int n_in, n_out; } shapes[] = {
        { "patch 588->1152", 588, 1152 }, { "qkv 1152->3456", 1152, 3456 }, { "o 1152->1152", 1152, 1152 },
        { "fc1 1152->4304", 1152, 4304 }, { "fc2 4304->1152", 4304, 1152 } };
    const int n = 4096;
    mg__pool pool;
    uint64_t rs = 0x9e3779b97f4a7c15ULL;
    int si, bf16, r;
    if (mg__pool_start(&pool, nth) != MG_OK) return;
    printf("threads %d, %d patches, F16 weights; load %.2f; peak per thread now: fp32 %.0f, bf16 %.0f GFLOP/s\n", nth, n, load1(), peak(0), peak(1));
    for (si = 0; si < 5; si++) {
        const int n_in = shapes[si].n_in, n_out = shapes[si].n_out;
        uint16_t *wd = (uint16_t *)malloc((size_t)n_in * n_out * 2);
        float *x = (float *)malloc((size_t)n * n_in * 4), *y = (float *)malloc((size_t)n * n_out * 4), *b = (float *)malloc((size_t)n_out * 4);
        mg__mat w;
        mg__vscratch sc;
        size_t i;
        for (i = 0; i < (size_t)n_in * n_out; i++) wd[i] = mg__f2h(0.05f * frand(&rs));
        for (i = 0; i < (size_t)n * n_in; i++) x[i] = frand(&rs);
        for (i = 0; i < (size_t)n_out; i++) b[i] = frand(&rs);
        memset(&w, 0, sizeof w);
        w.data = (const uint8_t *)wd; w.type = MG_TYPE_F16; w.n_in = n_in; w.n_out = n_out; w.row_bytes = (size_t)n_in * 2;
        memset(&sc, 0, sizeof sc);
        sc.ap = malloc(mg__gemm_a_bytes(n_in, n_out)); sc.bp = malloc(mg__gemm_b_bytes(n, n_in)); sc.tmp = (float *)malloc(mg__gemm_tmp_bytes(n_in, nth));
        for (bf16 = 0; bf16 < 2; bf16++) {
            double bw = 1e30, bc = 1e30, pk = 1e30, pc = 1e30, pkb, gf = 2.0 * n * n_in * n_out * 1e-9, ref = peak(bf16);
            for (r = 0; r < runs; r++) {
                mg__gemm_job j;
                double t0, c0;
                memset(&j, 0, sizeof j);   /* mg__gemm's job, its two steps timed apart */
                j.nw = 1; j.w[0] = &w; j.n_out = n_out; j.bias = b; j.x = x; j.y = y; j.n = n; j.n_in = n_in;
                j.bf16 = bf16; j.kp = bf16 ? (n_in + 1) / 2 : n_in; j.ap = sc.ap; j.bp = sc.bp; j.tmp = sc.tmp;
                t0 = wall_s(); c0 = cpu_s();
                mg__pool_run(&pool, mg__gemm_pack_task, &j);
                t0 = wall_s() - t0; c0 = cpu_s() - c0;
                pk = t0 < pk ? t0 : pk; pc = c0 < pc ? c0 : pc;
                t0 = wall_s(); c0 = cpu_s();
                mg__pool_run(&pool, mg__gemm_task, &j);
                t0 = wall_s() - t0; c0 = cpu_s() - c0;
                bw = t0 < bw ? t0 : bw; bc = c0 < bc ? c0 : bc;
            }
            pkb = gf / (bc / nth);
            printf("  %-16s %-5s pack %6.1f ms (CPU %6.1f) | tiles %6.1f ms: %6.0f GFLOP/s wall, %5.0f per thread CPU = %3.0f%% of the %s peak\n",
                   shapes[si].name, bf16 ? "bf16" : "float", pk * 1e3, pc * 1e3, bw * 1e3, gf / bw, pkb / nth, 100.0 * pkb / nth / ref, bf16 ? "bf16" : "fp32");
        }
        free(wd); free(x); free(y); free(b); free(sc.ap); free(sc.bp); free(sc.tmp);
    }
    mg__pool_stop(&pool);
}

/* ----- attn: one layer's attention ----- */
static void bench_attn(int nth, int runs) {
    const int n = 4096, d = 1152, heads = 16;
    mg__pool pool;
    mg__vattn_job aj;
    uint64_t rs = 88172645463325252ULL;
    size_t i;
    double bw = 1e30, bc = 1e30, pw = 1e30, gf;
    int r;
    float *qkv = (float *)malloc(sizeof(float) * (size_t)n * 3 * d), *out = (float *)malloc(sizeof(float) * (size_t)n * d);
    if (mg__pool_start(&pool, nth) != MG_OK || !qkv || !out) return;
    for (i = 0; i < (size_t)n * 3 * d; i++) qkv[i] = frand(&rs);
    memset(&aj, 0, sizeof aj);
    mg__vattn_dims(&aj, n, d, heads);
    aj.qkv = qkv; aj.out = out;
    aj.kp = (uint32_t *)malloc(4 * mg__vattn_kv_words(&aj));
    aj.vp = aj.kp + (size_t)aj.n_head * aj.nkp * aj.hp * MG__TR;
    aj.work = (float *)malloc(sizeof(float) * (size_t)nth * mg__vattn_work_floats(&aj));
    gf = 4.0 * heads * (double)n * n * (d / heads) * 1e-9;   /* scores and P V: 2 FLOP per multiply-add each */
    for (r = 0; r < runs; r++) {
        double t0 = wall_s(), c0;
        mg__pool_run(&pool, mg__vattn_pack_task, &aj);
        t0 = wall_s() - t0;
        pw = t0 < pw ? t0 : pw;
        t0 = wall_s(); c0 = cpu_s();
        mg__pool_run(&pool, mg__vattn_task, &aj);
        t0 = wall_s() - t0; c0 = cpu_s() - c0;
        bw = t0 < bw ? t0 : bw; bc = c0 < bc ? c0 : bc;
    }
    printf("attention, threads %d, %d patches x %d heads x %d; load %.2f: pack %.1f ms, blocks %.1f ms: %.0f GFLOP/s wall, %.0f per thread CPU = %.0f%% of the bf16 peak (%.0f)\n",
           nth, n, heads, d / heads, load1(), pw * 1e3, bw * 1e3, gf / bw, gf / bc, 100.0 * gf / bc / peak(1), peak(1));
    mg__pool_stop(&pool);
    free(qkv); free(out); free(aj.kp); free(aj.work);
}

/* ----- rows: the tower's memory-bound row jobs of one layer (two LayerNorms, GELU over the MLP's hidden rows) ----- */
static void bench_rows(int nth, int runs) {
    const int n = 4096, d = 1152, ff = 4304;
    mg__pool pool;
    mg__vrows_job rj;
    uint64_t rs = 7;
    uint16_t *tab = (uint16_t *)malloc(65537 * sizeof(uint16_t));
    float *x = (float *)malloc(sizeof(float) * (size_t)n * d), *h = (float *)malloc(sizeof(float) * (size_t)n * d);
    float *big = (float *)malloc(sizeof(float) * (size_t)n * ff), *w = (float *)malloc(sizeof(float) * d), *b = (float *)malloc(sizeof(float) * d);
    double ln = 1e30, ge = 1e30;
    size_t i;
    int r;
    if (mg__pool_start(&pool, nth) != MG_OK || !tab || !x || !h || !big || !w || !b) return;
    mg__gelu_table(tab);
    for (i = 0; i < (size_t)n * d; i++) x[i] = frand(&rs);
    for (i = 0; i < (size_t)n * ff; i++) big[i] = 3.0f * frand(&rs);
    for (i = 0; i < (size_t)d; i++) { w[i] = 1.0f + 0.1f * frand(&rs); b[i] = 0.1f * frand(&rs); }
    memset(&rj, 0, sizeof rj);
    rj.n = n; rj.eps = 1e-6f; rj.gelu = tab;
    for (r = 0; r < runs; r++) {
        double c0 = cpu_s();
        rj.y = h; rj.x = x; rj.w = w; rj.b = b; rj.d = d;
        mg__pool_run(&pool, mg__vln_task, &rj);
        c0 = cpu_s() - c0; ln = c0 < ln ? c0 : ln;
        c0 = cpu_s();
        rj.y = big; rj.d = ff;
        mg__pool_run(&pool, mg__vgelu_task, &rj);
        c0 = cpu_s() - c0; ge = c0 < ge ? c0 : ge;
    }
    printf("row jobs, threads %d, load %.2f: LayerNorm of %d x %d %.1f ms of CPU (x2 per layer), GELU of %d x %d %.1f ms of CPU\n", nth, load1(),
           n, d, ln * 1e3, n, ff, ge * 1e3);
    mg__pool_stop(&pool);
    free(tab); free(x); free(h); free(big); free(w); free(b);
}

/* ----- accuracy ----- */
/* A copy of a GGUF file in memory with every F32 and F16 tensor's values rounded to bfloat16 (to nearest even). */
static void *bf16_copy(const char *path, size_t *size) {
    mg_model *src = NULL;
    mg_model_options mo;
    const mg_gguf *g;
    mg_gguf_writer *w = NULL;
    void *buf = NULL, **copies;
    int64_t i, k;
    memset(&mo, 0, sizeof mo);
    if (mg_model_load_file(&src, path, &mo, NULL) != MG_OK) return NULL;
    g = mg_model_gguf(src);
    copies = (void **)calloc((size_t)mg_gguf_tensor_count(g) + 1, sizeof(void *));   /* the writer reads them at write time */
    mg_gguf_writer_new(&w, 0);
    for (i = 0; i < mg_gguf_kv_count(g); i++) mg_gguf_writer_copy_kv(w, g, i);
    for (i = 0; i < mg_gguf_tensor_count(g); i++) {
        mg_tensor_info t;
        const void *d = mg_gguf_tensor_data(g, i);
        void *copy = NULL;
        int64_t ne = 1;
        mg_gguf_tensor(g, i, &t);
        for (k = 0; k < t.n_dims; k++) ne *= t.ne[k];
        if (t.type == MG_TYPE_F32 || t.type == MG_TYPE_F16) {
            copy = malloc((size_t)t.nbytes);
            for (k = 0; k < ne; k++) {
                if (t.type == MG_TYPE_F32) ((float *)copy)[k] = mg__bf2f(mg__f2bf(((const float *)d)[k]));
                else ((uint16_t *)copy)[k] = mg__f2h(mg__bf2f(mg__f2bf(mg__h2f(((const uint16_t *)d)[k]))));
            }
            d = copy;
        }
        mg_gguf_writer_add_tensor(w, t.name, t.type, t.n_dims, t.ne, d, (size_t)t.nbytes);
        copies[i] = copy;
    }
    if (mg_gguf_writer_write_mem(w, &buf, size) != MG_OK) buf = NULL;
    mg_gguf_writer_free(w);
    for (i = 0; i < mg_gguf_tensor_count(g); i++) free(copies[i]);
    free(copies);
    mg_model_free(src);
    return buf;
}
static float *read_floats(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    float *p = NULL;
    long sz;
    *n = 0;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 && (p = (float *)malloc((size_t)sz)) &&
        fread(p, 1, (size_t)sz, f) == (size_t)sz) *n = (size_t)sz / 4;
    fclose(f);
    return p;
}
static float maxdiff(const float *a, const float *b, size_t n) {
    float d = 0;
    size_t i;
    for (i = 0; i < n; i++) d = fabsf(a[i] - b[i]) > d ? fabsf(a[i] - b[i]) : d;
    return d;
}
static int32_t argmax(const float *l, int n) {
    int32_t b = 0, k;
    for (k = 1; k < n; k++) if (l[k] > l[b]) b = k;
    return b;
}
/* The fixtures' image prompt (tests/test_vision.c) with embeddings e on the tiny F32 text model: its last logits
   into logits, then 24 greedy ids into ids. */
static int image_prompt(const mg_model *m, const mg_image_embd *e, float *logits, int32_t *ids) {
    const char *pre = "<start_of_turn>user\n<start_of_image>", *post = "<end_of_image>Describe the findings in this image.<end_of_turn>\n<start_of_turn>model\n";
    mg_session *s = NULL;
    mg_session_options so;
    int32_t t[64];
    int n, i, ok;
    memset(&so, 0, sizeof so);
    so.n_threads = 2;
    if (mg_session_new(&s, m, &so, NULL) != MG_OK) return 0;
    ok = mg_tokenize(m, pre, strlen(pre), MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, t, 64, &n, NULL) == MG_OK && mg_eval(s, t, n) == MG_OK &&
         mg_eval_embd(s, e->data, e->n_tokens, 1) == MG_OK &&
         mg_tokenize(m, post, strlen(post), MG_TOKENIZE_SPECIAL, t, 64, &n, NULL) == MG_OK && mg_eval(s, t, n) == MG_OK;
    if (ok) memcpy(logits, mg_logits(s), 8192 * sizeof(float));
    for (i = 0; ok && i < 24; i++) {
        ids[i] = argmax(mg_logits(s), 8192);
        ok = i + 1 == 24 || mg_eval(s, &ids[i], 1) == MG_OK;
    }
    mg_session_free(s);
    return ok;
}
static int same_ids(const int32_t *a, const int32_t *b) {
    int i = 0;
    while (i < 24 && a[i] == b[i]) i++;
    return i;
}
static void accuracy(void) {
    static const char *images[] = { "img-shapes-896x896", "img-xray-1024x768", "img-small-300x200" };
    static const char *mm[] = { "tests/data/models/mmproj-tiny-f32.gguf", "tests/data/models/mmproj-tiny-f16.gguf" };
    int f, rounded, k, bf16;
    printf("embeddings vs llama.cpp's F32 embeddings of the original F32 mmproj (max |d|); logits of the image prompt (tiny F32 text\n"
           "model) vs llama.cpp's (max |d|); greedy ids: how many of llama.cpp's 24 are reproduced. On the bf16-rounded copies the float\n"
           "path is the exact-weight reference: bf16 vs float there is the activation rounding alone.\n");
    for (f = 0; f < 2; f++)
        for (rounded = 0; rounded < 2; rounded++) {
            size_t size = 0;
            void *copy = rounded ? bf16_copy(mm[f], &size) : NULL;
            mg_model *m = NULL;
            mg_model_options mo;
            memset(&mo, 0, sizeof mo);
            if (rounded) { mo.mmproj_data = copy; mo.mmproj_size = size; } else mo.mmproj_path = mm[f];
            if ((rounded && !copy) || mg_model_load_file(&m, "tests/data/models/tiny-f32.gguf", &mo, NULL) != MG_OK) { printf("load failed\n"); free(copy); continue; }
            for (k = 0; k < 3; k++) {
                char path[256], err[256];
                mgx_image img;
                mg_image mi;
                float *want, *wl, *lg[2];
                int32_t *ref = NULL, ids[2][24], nr = 0;
                size_t nw, nl;
                mg_image_embd e[2];
                mgx_json *js;
                snprintf(path, sizeof path, "tests/data/images/%s.png", images[k]);
                if (mgx_image_load_file(path, &img, err, sizeof err) != 0) { printf("%s: %s\n", path, err); continue; }
                mi.w = img.w; mi.h = img.h; mi.channels = img.channels; mi.pixels = img.px;
                snprintf(path, sizeof path, "tests/data/ref/image/tiny-f32.%s.image_embd.bin", images[k]);
                want = read_floats(path, &nw);
                snprintf(path, sizeof path, "tests/data/ref/image/tiny-f32.%s.logits.bin", images[k]);
                wl = read_floats(path, &nl);
                snprintf(path, sizeof path, "tests/data/ref/image/tiny-f32.%s.json", images[k]);
                {
                    unsigned char *txt = NULL;
                    size_t nt = 0;
                    js = NULL;
                    if (mgx_read_file(path, 0, &txt, &nt, err, sizeof err) == 0) js = mgx_json_parse((const char *)txt, nt, err, sizeof err);
                    free(txt);
                }
                if (js) {
                    const mgx_json *a = mgx_json_get(js, "greedy_ids");
                    int i;
                    nr = (int)mgx_json_len(a);
                    ref = (int32_t *)malloc(sizeof(int32_t) * (size_t)(nr > 0 ? nr : 1));
                    for (i = 0; i < nr; i++) ref[i] = (int32_t)mgx_json_number(mgx_json_at(a, (size_t)i), -1);
                }
                for (bf16 = 0; bf16 < 2; bf16++) {
                    mg_session *s = NULL;
                    mg_session_options so;
                    memset(&so, 0, sizeof so);
                    so.n_threads = 2; so.vision_f32 = !bf16;
                    lg[bf16] = (float *)malloc(8192 * sizeof(float));
                    if (mg_session_new(&s, m, &so, NULL) != MG_OK || mg_encode_image(s, &mi, MG_IMAGE_LLAMACPP, &e[bf16]) != MG_OK ||
                        !image_prompt(m, &e[bf16], lg[bf16], ids[bf16])) { printf("encode failed: %s\n", s ? mg_session_error(s) : "session"); exit(1); }
                    mg_session_free(s);
                }
                printf("  %s mmproj%s, %-19s: embeddings float %.4f bf16 %.4f (bf16 vs float %.4f) | logits float %.4f bf16 %.4f "
                       "(vs each other %.4f) | greedy float %d/24 bf16 %d/24 (bf16 = float for %d)\n",
                       f ? "F16" : "F32", rounded ? " rounded to bf16" : "                ", images[k],
                       want && nw == 65536 ? maxdiff(e[0].data, want, nw) : -1.0f, want && nw == 65536 ? maxdiff(e[1].data, want, nw) : -1.0f,
                       maxdiff(e[0].data, e[1].data, 65536), wl && nl == 8192 ? maxdiff(lg[0], wl, nl) : -1.0f,
                       wl && nl == 8192 ? maxdiff(lg[1], wl, nl) : -1.0f, maxdiff(lg[0], lg[1], 8192),
                       ref && nr == 24 ? same_ids(ids[0], ref) : -1, ref && nr == 24 ? same_ids(ids[1], ref) : -1, same_ids(ids[0], ids[1]));
                mg_image_embd_free(&e[0]); mg_image_embd_free(&e[1]);
                free(lg[0]); free(lg[1]); free(want); free(wl); free(ref); mgx_json_free(js);
                mgx_image_free(&img);
            }
            mg_model_free(m);
            free(copy);
        }
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    int nth = argc > 2 ? atoi(argv[2]) : 1, runs = argc > 3 ? atoi(argv[3]) : 3;
    if (nth < 1 || runs < 1) return 2;
    if (!strcmp(what, "gemm")) bench_gemm(nth, runs);
    else if (!strcmp(what, "attn")) bench_attn(nth, runs);
    else if (!strcmp(what, "rows")) bench_rows(nth, runs);
    else if (!strcmp(what, "accuracy")) accuracy();
    else { fprintf(stderr, "usage: bench_vision gemm|attn|rows [threads] [runs] | bench_vision accuracy\n"); return 2; }
    return 0;
}
