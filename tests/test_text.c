/* Text decoder against llama.cpp: last-position logits and 24 greedy ids for 4 variants x 4 prompts
   (tests/data/ref/text), plus properties that must hold exactly: thread count, chunk size and token-at-a-time
   feeding give bit-identical logits. MG_TEXT_VARIANTS (e.g. "q4_k_m f16") names the variants to run, default all
   four; the invariance checks run for those of q4_k_m and f16 named (make arm-test: q4_k_m alone under qemu). Tolerances (fixtures README section 8): F32 0.02, F16 0.05,
   Q8_0 and Q4_K_M 1.0 (activations quantized like ggml, but llama.cpp's batched path differs, see notes). */
#include "fixtures.h"

static const char *variants[] = { "f32", "f16", "q8_0", "q4_k_m" };
static const float tol[] = { 0.02f, 0.05f, 1.0f, 1.0f };
static const char *prompts[] = { "one_token", "chat_short", "medium", "long" };

static void check_variant(int vi, const mgx_json *pj) {
    char path[256];
    int pi;
    mg_model *m;
    snprintf(path, sizeof path, FIX_DIR "models/tiny-%s.gguf", variants[vi]);
    if (!(m = fix_model(path))) { CHECK(0, "model %s", path); return; }
    for (pi = 0; pi < 4; pi++) {
        mgx_json *ref;
        const char *text = mgx_json_string(mgx_json_path(pj, prompts[pi])) ;
        mg_session *s = fix_session(m, 2, 0);
        float *want, diff;
        size_t nw;
        int32_t ids[2048], *ref_ids, *greedy;
        int n = 0, nref, ng, i, same = 1;
        char name[128];
        text = mgx_json_string(mgx_json_get(mgx_json_get(pj, prompts[pi]), "text"));
        snprintf(name, sizeof name, "%s.%s", variants[vi], prompts[pi]);
        snprintf(path, sizeof path, FIX_DIR "ref/text/tiny-%s.json", name);
        ref = fix_json(path);
        snprintf(path, sizeof path, FIX_DIR "ref/text/tiny-%s.logits.bin", name);
        want = fix_floats(path, &nw);
        if (!ref || !want || !s || !text) { CHECK(0, "%s: fixtures", name); goto next; }
        CHECK(mg_tokenize(m, text, strlen(text), MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, ids, 2048, &n, NULL) == MG_OK, "%s tokenize", name);
        ref_ids = fix_ids(mgx_json_get(ref, "prompt_ids"), &nref);
        CHECK(n == nref && memcmp(ids, ref_ids, sizeof(int32_t) * (size_t)n) == 0, "%s: prompt ids differ (%d vs %d)", name, n, nref);
        free(ref_ids);
        CHECK(mg_eval(s, ids, n) == MG_OK, "%s eval: %s", name, mg_session_error(s));
        CHECK(nw == 8192, "%s: logits file", name);
        diff = fix_maxdiff(mg_logits(s), want, nw);
        printf("  %-22s max|dlogit| %.5f (tolerance %.2f)\n", name, diff, tol[vi]);
        CHECK(diff <= tol[vi], "%s: max abs logit diff %.5f > %.2f", name, diff, tol[vi]);
        greedy = fix_ids(mgx_json_get(ref, "greedy_ids"), &ng);
        for (i = 0; i < ng; i++) {
            int32_t id = fix_argmax(mg_logits(s), 8192);
            if (id != greedy[i]) { same = 0; break; }
            if (i + 1 < ng && mg_eval(s, &id, 1) != MG_OK) { same = 0; break; }
        }
        CHECK(same && ng == 24, "%s: greedy ids differ at step %d", name, i);
        free(greedy);
    next:
        mg_session_free(s);
        mgx_json_free(ref);
        free(want);
    }
    mg_model_free(m);
}

/* Logits after feeding `ids` with the given threads / chunk size / one token at a time. */
static float *run(const mg_model *m, const int32_t *ids, int n, int threads, int batch, int one_by_one) {
    mg_session *s = fix_session(m, threads, batch);
    float *out = (float *)malloc(8192 * sizeof(float));
    int i, ok = s != NULL;
    if (one_by_one) for (i = 0; ok && i < n; i++) ok = mg_eval(s, ids + i, 1) == MG_OK;
    else ok = ok && mg_eval(s, ids, n) == MG_OK;
    if (ok) memcpy(out, mg_logits(s), 8192 * sizeof(float));
    else { free(out); out = NULL; }
    mg_session_free(s);
    return out;
}

static void check_invariance(const mgx_json *pj, const int *sel) {
    const char *text = mgx_json_string(mgx_json_get(mgx_json_get(pj, "long"), "text"));
    const char *models[] = { FIX_DIR "models/tiny-q4_k_m.gguf", FIX_DIR "models/tiny-f16.gguf" };
    const int vi[] = { 3, 1 };
    int32_t ids[2048];
    int n = 0, k;
    for (k = 0; k < 2; k++) {
        mg_model *m;
        float *a, *b, *c, *d;
        if (!sel[vi[k]]) continue;
        if (!(m = fix_model(models[k]))) { CHECK(0, "load"); continue; }
        mg_tokenize(m, text, strlen(text), MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, ids, 2048, &n, NULL);
        CHECK(n == 676, "long prompt is %d tokens (longer than the 512 window)", n);
        a = run(m, ids, n, 1, 512, 0);
        b = run(m, ids, n, 2, 512, 0);
        c = run(m, ids, n, 3, 256, 0);
        d = run(m, ids, n, 2, 0, 1);
        CHECK(a && b && c && d, "runs completed");
        if (a && b && c && d) {
            CHECK(memcmp(a, b, 8192 * 4) == 0, "%s: 1 vs 2 threads not bit-identical", models[k]);
            CHECK(memcmp(a, c, 8192 * 4) == 0, "%s: chunks of 512 vs 256 (3 threads) not bit-identical", models[k]);
            CHECK(memcmp(a, d, 8192 * 4) == 0, "%s: batched vs one token at a time not bit-identical (ring KV cache)", models[k]);
        }
        {   /* the file read into memory (no_mmap: on Linux a 2 MiB-aligned huge-page buffer) runs the same */
            mg_model_options mo;
            mg_model *mr = NULL;
            mg_error e;
            float *r = NULL;
            memset(&mo, 0, sizeof mo);
            mo.no_mmap = 1;
            CHECK(mg_model_load_file(&mr, models[k], &mo, &e) == MG_OK, "%s: no_mmap load: %s", models[k], e.message);
            if (mr) r = run(mr, ids, n, 2, 512, 0);
            CHECK(a && r && memcmp(a, r, 8192 * 4) == 0, "%s: read into memory vs mapped not bit-identical", models[k]);
            if (mr) {   /* matrices rearranged for the kernels still dequantize as stored */
                const mg_gguf *gm = mg_model_gguf(m), *gr = mg_model_gguf(mr);
                float *d0 = (float *)malloc(40 * 512 * sizeof(float)), *d1 = (float *)malloc(40 * 512 * sizeof(float));
                int64_t ti, bad = 0;
                for (ti = 0; ti < mg_gguf_tensor_count(gm); ti++) {
                    mg_tensor_info t;
                    mg_gguf_tensor(gm, ti, &t);
                    if (t.n_dims != 2 || t.ne[0] > 512 || t.ne[1] < 40) continue;
                    bad += mg_gguf_dequantize(gm, ti, 3, 37, d0, NULL) != MG_OK || mg_gguf_dequantize(gr, ti, 3, 37, d1, NULL) != MG_OK ||
                           memcmp(d0, d1, (size_t)37 * t.ne[0] * sizeof(float)) != 0;
                }
                CHECK(bad == 0, "%s: %d tensors dequantize differently read into memory", models[k], (int)bad);
                free(d0); free(d1);
            }
            free(r);
            mg_model_free(mr);
        }
        free(a); free(b); free(c); free(d);
        mg_model_free(m);
    }
}

/* run[i]: variant i is named in MG_TEXT_VARIANTS (all without it); names must be known */
static void select_variants(int *run) {
    const char *env = getenv("MG_TEXT_VARIANTS"), *p = env;
    int vi;
    for (vi = 0; vi < 4; vi++) run[vi] = env == NULL;
    while (p && *p) {
        size_t n = strcspn(p, " ,");
        for (vi = 0; vi < 4 && !(n == strlen(variants[vi]) && !strncmp(p, variants[vi], n)); vi++) {}
        if (n) CHECK(vi < 4, "MG_TEXT_VARIANTS: unknown variant '%.*s' (f32, f16, q8_0, q4_k_m)", (int)n, p);
        if (vi < 4) run[vi] = 1;
        p += n + (p[n] != 0);
    }
}

int main(void) {
    mgx_json *pj = fix_json(FIX_DIR "ref/text/prompts.json");
    int vi, run[4];
    select_variants(run);
    if (!pj) { CHECK(0, "prompts.json"); return MG_TEST_END(); }
    for (vi = 0; vi < 4; vi++) if (run[vi]) check_variant(vi, pj);
    check_invariance(pj, run);
    mgx_json_free(pj);
    return MG_TEST_END();
}
