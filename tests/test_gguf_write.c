/* test_gguf_write.c — GGUF writer and reference quantizers.
   Independent references:
   - the GGUF byte layout is rebuilt here by a separate little serializer that follows the spec (magic, v3,
     counts, key/value records, tensor infos, padding to the alignment, each tensor padded), and the writer's
     output must equal it byte for byte; the reader then parses it back;
   - copying tests/data/models/tiny-q8_0.gguf (written by llama.cpp) must reproduce the file byte for byte
     and give the same logits;
   - the quantizers must reproduce llama-quantize's bytes: tiny-q8_0.gguf and tiny-q4_k_m.gguf were made by
     llama-quantize from tiny-f32.gguf (no imatrix). Measured: quantizing the F32 weights gives identical
     bytes for 100% of the blocks (Q8_0 176128, Q4_K + Q6_K 22016); F16 conversion of the F32 weights equals
     tiny-f16.gguf (the converter's numpy float16) for all 5636096 values. Quantizing the F16-rounded values
     instead differs in 44% (Q8_0) and 47% (Q4_K/Q6_K) of the blocks, so the files were made from F32;
     the same for every file of tests/data/quants (Q5_K_M, Q3_K_M, Q2_K, Q4_0, Q4_1, IQ4_XS, IQ4_NL: all their
     Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q4_0, Q4_1, IQ4_XS and IQ4_NL tensors, 22016 runs of 256 weights each);
   - error bounds derived from the formats (below), on seeded random data and the tiny F32 weights. */
#include "mgtest.h"
#include "medgemma.h"
#include "tools/gguf_write.h"

#include <stdint.h>

#define MODELS "tests/data/models/"
#define QMODELS "tests/data/quants/models/"

/* ---- helpers ---- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void) {                 /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rng_unif(void) { return (double)(rng_next() >> 11) / 9007199254740992.0; }   /* [0, 1) */
static float rng_gauss(void) {                   /* sum of 12 uniforms - 6: mean 0, variance 1 */
    double s = 0;
    int i;
    for (i = 0; i < 12; i++) s += rng_unif();
    return (float)(s - 6.0);
}

/* IEEE half -> float, written from the format definition. */
static float half_to_float(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}
static uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }

/* ---- an independent GGUF serializer (spec order, little endian) ---- */
typedef struct sbuf { uint8_t *p; size_t n, cap; } sbuf;
static void sb_bytes(sbuf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = (uint8_t *)realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void sb_le(sbuf *b, uint64_t v, int bytes) {
    uint8_t t[8];
    int i;
    for (i = 0; i < bytes; i++) t[i] = (uint8_t)(v >> (8 * i));
    sb_bytes(b, t, (size_t)bytes);
}
static void sb_str(sbuf *b, const char *s) { sb_le(b, strlen(s), 8); sb_bytes(b, s, strlen(s)); }
static void sb_pad(sbuf *b, size_t a) { while (b->n % a) sb_le(b, 0, 1); }

typedef struct tdesc { const char *name; int type, n_dims; int64_t ne[4]; size_t nbytes; uint8_t *data; } tdesc;

/* The metadata of the round-trip file, written by both serializers. */
static const uint8_t  A_U8[3]  = { 0, 7, 255 };
static const int8_t   A_I8[3]  = { -128, -1, 127 };
static const uint16_t A_U16[2] = { 1, 65535 };
static const int16_t  A_I16[2] = { -32768, 12345 };
static const uint32_t A_U32[3] = { 0, 1, 4294967295u };
static const int32_t  A_I32[3] = { -2147483647 - 1, -7, 2147483647 };
static const float    A_F32[4] = { 1.5f, -0.0f, 3.0e38f, 1e-45f };
static const uint8_t  A_BOOL[3] = { 1, 0, 1 };
static const uint64_t A_U64[2] = { 0, 18446744073709551615ull };
static const int64_t  A_I64[2] = { -9223372036854775807ll - 1, 42 };
static const double   A_F64[3] = { 3.141592653589793, -1e-300, 1e300 };
static const char *const A_STR[4] = { "alpha", "", "\xce\xbcmol/L", "line\nbreak" };

static void ref_kv_head(sbuf *b, const char *key, int type) { sb_str(b, key); sb_le(b, (uint64_t)type, 4); }
static void ref_arr_head(sbuf *b, const char *key, int et, uint64_t n) {
    ref_kv_head(b, key, MG_GGUF_ARRAY); sb_le(b, (uint64_t)et, 4); sb_le(b, n, 8);
}
static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t f64_bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

/* Expected file for alignment `align`; n_kv_out receives the pair count. */
static sbuf ref_file(uint32_t align, const tdesc *t, int nt, int *n_kv_out) {
    sbuf b = { NULL, 0, 0 };
    int i, nkv = 12 + 12 + 2 + (align != 32);
    uint64_t off = 0;
    size_t j;
    sb_le(&b, 0x46554747u, 4); sb_le(&b, 3, 4); sb_le(&b, (uint64_t)nt, 8); sb_le(&b, (uint64_t)nkv, 8);
    if (align != 32) { ref_kv_head(&b, "general.alignment", MG_GGUF_U32); sb_le(&b, align, 4); }
    ref_kv_head(&b, "s.u8", MG_GGUF_U8);     sb_le(&b, 200, 1);
    ref_kv_head(&b, "s.i8", MG_GGUF_I8);     sb_le(&b, (uint8_t)-100, 1);
    ref_kv_head(&b, "s.u16", MG_GGUF_U16);   sb_le(&b, 60000, 2);
    ref_kv_head(&b, "s.i16", MG_GGUF_I16);   sb_le(&b, (uint16_t)-30000, 2);
    ref_kv_head(&b, "s.u32", MG_GGUF_U32);   sb_le(&b, 4000000000u, 4);
    ref_kv_head(&b, "s.i32", MG_GGUF_I32);   sb_le(&b, (uint32_t)-2000000000, 4);
    ref_kv_head(&b, "s.f32", MG_GGUF_F32);   sb_le(&b, f32_bits(1e-6f), 4);
    ref_kv_head(&b, "s.bool", MG_GGUF_BOOL); sb_le(&b, 1, 1);
    ref_kv_head(&b, "s.str", MG_GGUF_STRING); sb_str(&b, "gemma3 \xe2\x96\x81text");
    ref_kv_head(&b, "s.u64", MG_GGUF_U64);   sb_le(&b, 0x0123456789ABCDEFull, 8);
    ref_kv_head(&b, "s.i64", MG_GGUF_I64);   sb_le(&b, (uint64_t)-5000000000ll, 8);
    ref_kv_head(&b, "s.f64", MG_GGUF_F64);   sb_le(&b, f64_bits(-2.5e-10), 8);
    ref_arr_head(&b, "a.u8", MG_GGUF_U8, 3);   for (j = 0; j < 3; j++) sb_le(&b, A_U8[j], 1);
    ref_arr_head(&b, "a.i8", MG_GGUF_I8, 3);   for (j = 0; j < 3; j++) sb_le(&b, (uint8_t)A_I8[j], 1);
    ref_arr_head(&b, "a.u16", MG_GGUF_U16, 2); for (j = 0; j < 2; j++) sb_le(&b, A_U16[j], 2);
    ref_arr_head(&b, "a.i16", MG_GGUF_I16, 2); for (j = 0; j < 2; j++) sb_le(&b, (uint16_t)A_I16[j], 2);
    ref_arr_head(&b, "a.u32", MG_GGUF_U32, 3); for (j = 0; j < 3; j++) sb_le(&b, A_U32[j], 4);
    ref_arr_head(&b, "a.i32", MG_GGUF_I32, 3); for (j = 0; j < 3; j++) sb_le(&b, (uint32_t)A_I32[j], 4);
    ref_arr_head(&b, "a.f32", MG_GGUF_F32, 4); for (j = 0; j < 4; j++) sb_le(&b, f32_bits(A_F32[j]), 4);
    ref_arr_head(&b, "a.bool", MG_GGUF_BOOL, 3); for (j = 0; j < 3; j++) sb_le(&b, A_BOOL[j], 1);
    ref_arr_head(&b, "a.u64", MG_GGUF_U64, 2); for (j = 0; j < 2; j++) sb_le(&b, A_U64[j], 8);
    ref_arr_head(&b, "a.i64", MG_GGUF_I64, 2); for (j = 0; j < 2; j++) sb_le(&b, (uint64_t)A_I64[j], 8);
    ref_arr_head(&b, "a.f64", MG_GGUF_F64, 3); for (j = 0; j < 3; j++) sb_le(&b, f64_bits(A_F64[j]), 8);
    ref_arr_head(&b, "a.str", MG_GGUF_STRING, 4); for (j = 0; j < 4; j++) sb_str(&b, A_STR[j]);
    ref_arr_head(&b, "a.empty", MG_GGUF_I32, 0);
    ref_kv_head(&b, "z.replaced", MG_GGUF_STRING); sb_str(&b, "second");
    for (i = 0; i < nt; i++) {
        int d;
        sb_str(&b, t[i].name); sb_le(&b, (uint64_t)t[i].n_dims, 4);
        for (d = 0; d < t[i].n_dims; d++) sb_le(&b, (uint64_t)t[i].ne[d], 8);
        sb_le(&b, (uint64_t)t[i].type, 4); sb_le(&b, off, 8);
        off += (t[i].nbytes + align - 1) / align * align;
    }
    sb_pad(&b, align);
    for (i = 0; i < nt; i++) { sb_bytes(&b, t[i].data, t[i].nbytes); sb_pad(&b, align); }
    *n_kv_out = nkv;
    return b;
}

/* The same content through the writer API. */
static mg_gguf_writer *api_file(uint32_t align, const tdesc *t, int nt) {
    mg_gguf_writer *w = NULL;
    int ok = 1, i;
    uint8_t u8 = 200; int8_t i8 = -100; uint16_t u16 = 60000; int16_t i16 = -30000;
    int64_t i64 = -5000000000ll; double f64 = -2.5e-10;
    if (mg_gguf_writer_new(&w, align) != MG_OK) return NULL;
    ok &= mg_gguf_writer_set_scalar(w, "s.u8", MG_GGUF_U8, &u8) == MG_OK;
    ok &= mg_gguf_writer_set_scalar(w, "s.i8", MG_GGUF_I8, &i8) == MG_OK;
    ok &= mg_gguf_writer_set_scalar(w, "s.u16", MG_GGUF_U16, &u16) == MG_OK;
    ok &= mg_gguf_writer_set_scalar(w, "s.i16", MG_GGUF_I16, &i16) == MG_OK;
    ok &= mg_gguf_writer_set_u32(w, "s.u32", 4000000000u) == MG_OK;
    ok &= mg_gguf_writer_set_i32(w, "s.i32", -2000000000) == MG_OK;
    ok &= mg_gguf_writer_set_f32(w, "s.f32", 1e-6f) == MG_OK;
    ok &= mg_gguf_writer_set_bool(w, "s.bool", 5) == MG_OK;
    ok &= mg_gguf_writer_set_string(w, "s.str", "gemma3 \xe2\x96\x81text") == MG_OK;
    ok &= mg_gguf_writer_set_u64(w, "s.u64", 0x0123456789ABCDEFull) == MG_OK;
    ok &= mg_gguf_writer_set_scalar(w, "s.i64", MG_GGUF_I64, &i64) == MG_OK;
    ok &= mg_gguf_writer_set_scalar(w, "s.f64", MG_GGUF_F64, &f64) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.u8", MG_GGUF_U8, A_U8, 3) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.i8", MG_GGUF_I8, A_I8, 3) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.u16", MG_GGUF_U16, A_U16, 2) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.i16", MG_GGUF_I16, A_I16, 2) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.u32", MG_GGUF_U32, A_U32, 3) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.i32", MG_GGUF_I32, A_I32, 3) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.f32", MG_GGUF_F32, A_F32, 4) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.bool", MG_GGUF_BOOL, A_BOOL, 3) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.u64", MG_GGUF_U64, A_U64, 2) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.i64", MG_GGUF_I64, A_I64, 2) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.f64", MG_GGUF_F64, A_F64, 3) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.str", MG_GGUF_STRING, A_STR, 4) == MG_OK;
    ok &= mg_gguf_writer_set_array(w, "a.empty", MG_GGUF_I32, NULL, 0) == MG_OK;
    ok &= mg_gguf_writer_set_u32(w, "z.replaced", 1) == MG_OK;                 /* replaced below, keeps its place */
    ok &= mg_gguf_writer_set_string(w, "z.replaced", "second") == MG_OK;
    for (i = 0; i < nt; i++)
        ok &= mg_gguf_writer_add_tensor(w, t[i].name, t[i].type, t[i].n_dims, t[i].ne, t[i].data, t[i].nbytes) == MG_OK;
    if (!ok) { mg_gguf_writer_free(w); return NULL; }
    return w;
}

static int file_equals(const char *path, const void *data, size_t n) {
    size_t m;
    void *f = mgt_read_file(path, &m);
    int eq = f && m == n && memcmp(f, data, n) == 0;
    free(f);
    return eq;
}
static const char *tmp_path(void) {
    FILE *f = fopen("build/tests/.test_gguf_write.tmp", "wb");
    if (f) { fclose(f); return "build/tests/.test_gguf_write.tmp"; }
    return ".test_gguf_write.tmp";
}

static void test_round_trip(uint32_t align) {
    tdesc t[6] = {
        { "f32.vec", MG_TYPE_F32, 2, { 5, 3, 1, 1 }, 60, NULL },
        { "f16.odd", MG_TYPE_F16, 1, { 7, 1, 1, 1 }, 14, NULL },
        { "bf16.m", MG_TYPE_BF16, 2, { 64, 2, 1, 1 }, 256, NULL },
        { "blk.0.q8", MG_TYPE_Q8_0, 2, { 64, 3, 1, 1 }, 6 * 34, NULL },
        { "blk.0.q4k", MG_TYPE_Q4_K, 3, { 256, 2, 1, 1 }, 2 * 144, NULL },
        { "blk.1.q6k", MG_TYPE_Q6_K, 4, { 256, 1, 2, 1 }, 2 * 210, NULL } };
    int i, nt = 6, nkv;
    size_t j, size = 0;
    void *mem = NULL;
    sbuf ref;
    mg_gguf_writer *w;
    mg_gguf *g = NULL;
    mg_error e;
    char buf[256];
    for (i = 0; i < nt; i++) {
        t[i].data = (uint8_t *)malloc(t[i].nbytes);
        for (j = 0; j < t[i].nbytes; j++) t[i].data[j] = (uint8_t)rng_next();
    }
    ref = ref_file(align, t, nt, &nkv);
    w = api_file(align, t, nt);
    CHECK(w != NULL, "align %u: building the file through the API", align);
    if (!w) return;
    CHECK(mg_gguf_writer_write_mem(w, &mem, &size) == MG_OK, "write_mem");
    CHECK(size == ref.n && mem && memcmp(mem, ref.p, size) == 0,
          "align %u: writer bytes equal the spec serializer's (%lu vs %lu bytes)", align, (unsigned long)size,
          (unsigned long)ref.n);
    {   /* write_file streams the same bytes */
        const char *p = tmp_path();
        CHECK(mg_gguf_writer_write_file(w, p) == MG_OK && file_equals(p, mem, size), "align %u: write_file == write_mem", align);
        remove(p);
    }
    CHECK(mg_gguf_open_mem(&g, mem, size, &e) == MG_OK, "parse back: %s", e.message);
    if (g) {
        int at; uint64_t an;
        CHECK(mg_gguf_version(g) == 3, "version 3");
        CHECK(mg_gguf_kv_count(g) == nkv, "kv count %lld, expected %d", (long long)mg_gguf_kv_count(g), nkv);
        CHECK(mg_gguf_data_offset(g) % align == 0, "data section aligned to %u", align);
        CHECK((mg_gguf_find_key(g, "general.alignment") >= 0) == (align != 32), "general.alignment present iff align != 32");
        mg_gguf_kv_format(g, mg_gguf_find_key(g, "s.i64"), buf, sizeof buf, 0);
        CHECK(strcmp(buf, "-5000000000") == 0, "s.i64 reads back as %s", buf);
        mg_gguf_kv_format(g, mg_gguf_find_key(g, "s.str"), buf, sizeof buf, 0);
        CHECK(strcmp(buf, "\"gemma3 \xe2\x96\x81text\"") == 0, "s.str reads back as %s", buf);
        mg_gguf_kv_format(g, mg_gguf_find_key(g, "a.str"), buf, sizeof buf, 4);
        CHECK(strcmp(buf, "[4 x string] \"alpha\",\"\",\"\xce\xbcmol/L\",\"line\\x0abreak\"") == 0, "a.str reads back as %s", buf);
        CHECK(mg_gguf_kv_type(g, mg_gguf_find_key(g, "a.f64"), &at, &an) == MG_GGUF_ARRAY && at == MG_GGUF_F64 && an == 3, "a.f64 type");
        CHECK(mg_gguf_kv_type(g, mg_gguf_find_key(g, "a.empty"), &at, &an) == MG_GGUF_ARRAY && at == MG_GGUF_I32 && an == 0, "empty array");
        CHECK(mg_gguf_kv_type(g, mg_gguf_find_key(g, "z.replaced"), NULL, NULL) == MG_GGUF_STRING, "replaced key has the new type");
        CHECK(mg_gguf_tensor_count(g) == nt, "tensor count");
        for (i = 0; i < nt && i < mg_gguf_tensor_count(g); i++) {
            mg_tensor_info ti;
            int d, same = 1;
            mg_gguf_tensor(g, i, &ti);
            for (d = 0; d < 4; d++) same &= ti.ne[d] == t[i].ne[d];
            CHECK(strcmp(ti.name, t[i].name) == 0 && ti.type == t[i].type && ti.n_dims == t[i].n_dims && same &&
                  ti.nbytes == t[i].nbytes && ti.offset % align == 0, "tensor %d info", i);
            CHECK(memcmp(mg_gguf_tensor_data(g, i), t[i].data, t[i].nbytes) == 0, "tensor %d bytes", i);
        }
        mg_gguf_close(g);
    }
    mg_gguf_writer_free(w);
    free(mem);
    free(ref.p);
    for (i = 0; i < nt; i++) free(t[i].data);
}

/* Fill callback: tensor bytes derived from the name. */
static mg_result fill_pattern(void *user, const char *name, void *dst, size_t n) {
    size_t i;
    (void)user;
    for (i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)(name[0] + i * 7);
    return MG_OK;
}

static void test_checks_and_raw(void) {
    mg_gguf_writer *w = NULL;
    int64_t ne[2] = { 32, 2 }, bad_ne[2] = { 30, 2 };
    float data[64] = { 0 };
    void *mem = NULL;
    size_t size = 0;
    mg_gguf *g = NULL;
    mg_error e;
    CHECK(mg_gguf_writer_new(&w, 48) == MG_ERR_INVALID_ARG, "alignment 48 refused");
    CHECK(mg_gguf_writer_new(&w, 0) == MG_OK, "writer");
    CHECK(mg_gguf_writer_add_tensor(w, "a", MG_TYPE_F32, 2, ne, data, 256) == MG_OK, "add");
    CHECK(mg_gguf_writer_add_tensor(w, "a", MG_TYPE_F32, 2, ne, data, 256) == MG_ERR_INVALID_ARG, "duplicate name refused");
    CHECK(mg_gguf_writer_add_tensor(w, "b", MG_TYPE_F32, 2, ne, data, 255) == MG_ERR_INVALID_ARG, "wrong nbytes refused");
    CHECK(mg_gguf_writer_add_tensor(w, "b", MG_TYPE_Q8_0, 2, bad_ne, data, 34) == MG_ERR_INVALID_ARG, "row not a block multiple refused");
    CHECK(mg_gguf_writer_add_tensor(w, "b", 99, 2, ne, data, 256) == MG_ERR_INVALID_ARG, "unknown type refused");
    CHECK(mg_gguf_writer_add_tensor(w, "b", MG_TYPE_F32, 5, ne, data, 256) == MG_ERR_INVALID_ARG, "5 dims refused");
    CHECK(mg_gguf_writer_set_array(w, "x", MG_GGUF_ARRAY, data, 1) == MG_ERR_INVALID_ARG, "nested array refused");
    CHECK(mg_gguf_writer_set_u32(w, "general.alignment", 100) == MG_ERR_INVALID_ARG, "bad general.alignment refused");
    /* many tensors: the name map grows */
    {
        char name[32];
        int i, ok = 1;
        for (i = 0; i < 300; i++) {
            snprintf(name, sizeof name, "t.%d", i);
            ok &= mg_gguf_writer_add_tensor(w, name, MG_TYPE_F32, 1, ne, NULL, 128) == MG_OK;
        }
        ok &= mg_gguf_writer_add_tensor(w, "t.17", MG_TYPE_F32, 1, ne, NULL, 128) == MG_ERR_INVALID_ARG;
        CHECK(ok, "300 names unique, a repeat refused");
    }
    /* general.alignment set later moves the layout */
    CHECK(mg_gguf_writer_set_u32(w, "general.alignment", 256) == MG_OK, "set alignment 256");
    mg_gguf_writer_set_fill(w, fill_pattern, NULL);
    CHECK(mg_gguf_writer_write_mem(w, &mem, &size) == MG_OK, "write");
    CHECK(mg_gguf_open_mem(&g, mem, size, &e) == MG_OK, "parse: %s", e.message);
    if (g) {
        mg_tensor_info ti;
        const uint8_t *p;
        mg_gguf_tensor(g, 5, &ti);
        p = (const uint8_t *)mg_gguf_tensor_data(g, 5);
        CHECK(mg_gguf_data_offset(g) % 256 == 0 && ti.offset % 256 == 0 && size % 256 == 0, "256 alignment used");
        CHECK(p[0] == (uint8_t)'t' && p[1] == (uint8_t)('t' + 7), "fill callback data");
        mg_gguf_close(g);
        g = NULL;
    }
    {   /* write_file with a fill callback streams the same bytes */
        const char *p = tmp_path();
        CHECK(mg_gguf_writer_write_file(w, p) == MG_OK && file_equals(p, mem, size), "write_file with fill == write_mem");
        remove(p);
    }
    free(mem); mem = NULL;
    mg_gguf_writer_free(w);

    /* raw: malformed files the reader must refuse */
    CHECK(mg_gguf_writer_new(&w, 0) == MG_OK, "writer");
    mg_gguf_writer_add_tensor_raw(w, "x", MG_TYPE_F32, 2, ne, data, 256, 16);        /* offset not aligned */
    mg_gguf_writer_write_mem(w, &mem, &size);
    CHECK(mg_gguf_open_mem(&g, mem, size, &e) == MG_ERR_FORMAT && strstr(e.message, "not aligned"), "unaligned offset: %s", e.message);
    mg_gguf_close(g); g = NULL; free(mem); mem = NULL;
    mg_gguf_writer_add_tensor_raw(w, "x", MG_TYPE_F32, 2, ne, data, 256, MG_GGUF_OFFSET_AUTO);
    mg_gguf_writer_write_mem(w, &mem, &size);
    CHECK(mg_gguf_open_mem(&g, mem, size, &e) == MG_ERR_FORMAT && strstr(e.message, "duplicate"), "duplicate names: %s", e.message);
    mg_gguf_close(g); g = NULL; free(mem); mem = NULL;
    mg_gguf_writer_free(w);

    CHECK(mg_gguf_writer_new(&w, 0) == MG_OK, "writer");
    {
        uint8_t v = 1;
        mg_gguf_writer_set_raw(w, "bad.type", 13, &v, 1);
    }
    mg_gguf_writer_write_mem(w, &mem, &size);
    CHECK(mg_gguf_open_mem(&g, mem, size, &e) == MG_ERR_FORMAT && strstr(e.message, "invalid value type 13"), "bad kv type: %s", e.message);
    mg_gguf_close(g); g = NULL;
    if (mem) { ((uint8_t *)mem)[4] = 4; }                                                 /* patch the version */
    CHECK(mg_gguf_open_mem(&g, mem, size, &e) == MG_ERR_UNSUPPORTED, "version 4 refused");
    mg_gguf_close(g); g = NULL; free(mem); mem = NULL;
    mg_gguf_writer_free(w);
}

/* Copies every pair and tensor of tiny-q8_0.gguf: same bytes, same logits. */
static void test_copy(void) {
    size_t n = 0, size = 0;
    void *orig = mgt_read_file(MODELS "tiny-q8_0.gguf", &n), *mem = NULL;
    mg_gguf *g = NULL;
    mg_gguf_writer *w = NULL;
    mg_error e;
    int64_t i;
    int ok = 1;
    CHECK(orig && mg_gguf_open_mem(&g, orig, n, &e) == MG_OK, "open tiny-q8_0.gguf");
    if (!g) { free(orig); return; }
    CHECK(mg_gguf_writer_new(&w, 0) == MG_OK, "writer");
    for (i = 0; i < mg_gguf_kv_count(g); i++) ok &= mg_gguf_writer_copy_kv(w, g, i) == MG_OK;
    for (i = 0; i < mg_gguf_tensor_count(g); i++) {
        mg_tensor_info ti;
        mg_gguf_tensor(g, i, &ti);
        ok &= mg_gguf_writer_add_tensor(w, ti.name, ti.type, ti.n_dims, ti.ne, mg_gguf_tensor_data(g, i), (size_t)ti.nbytes) == MG_OK;
    }
    CHECK(ok, "copy all pairs and tensors");
    CHECK(mg_gguf_writer_write_mem(w, &mem, &size) == MG_OK, "write copy");
    CHECK(size == n && memcmp(mem, orig, n) == 0, "copy is byte-identical to llama.cpp's file (%lu vs %lu bytes)",
          (unsigned long)size, (unsigned long)n);
    {
        mg_model *m1 = NULL, *m2 = NULL;
        mg_session *s1 = NULL, *s2 = NULL;
        mg_session_options so;
        int32_t ids[6] = { 2, 10, 2269, 12, 468, 7628 };
        memset(&so, 0, sizeof so);
        so.n_threads = 1; so.n_ctx = 64;
        CHECK(mg_model_load_mem(&m1, orig, n, NULL, &e) == MG_OK, "load original: %s", e.message);
        CHECK(mg_model_load_mem(&m2, mem, size, NULL, &e) == MG_OK, "load copy: %s", e.message);
        if (m1 && m2 && mg_session_new(&s1, m1, &so, NULL) == MG_OK && mg_session_new(&s2, m2, &so, NULL) == MG_OK) {
            const float *l1, *l2;
            CHECK(mg_eval(s1, ids, 6) == MG_OK && mg_eval(s2, ids, 6) == MG_OK, "eval");
            l1 = mg_logits(s1); l2 = mg_logits(s2);
            CHECK(l1 && l2 && memcmp(l1, l2, 8192 * sizeof(float)) == 0, "identical logits");
        }
        mg_session_free(s1); mg_session_free(s2);
        mg_model_free(m1); mg_model_free(m2);
    }
    mg_gguf_writer_free(w);
    mg_gguf_close(g);
    free(mem);
    free(orig);
}

/* Quantizes every quantized tensor of `qfile` from tiny-f32.gguf and compares bytes; want_types: the types
   that must have been compared (bit per type code), 0: any. */
static void test_vs_llama_quantize(const char *qfile, int want_f16, long want_types) {
    size_t nf = 0, nq = 0;
    void *bf = mgt_read_file(MODELS "tiny-f32.gguf", &nf), *bq = mgt_read_file(qfile, &nq);
    mg_gguf *gf = NULL, *gq = NULL;
    int64_t i, j;
    long blocks = 0, diff = 0, tensors = 0;
    long types_seen = 0;
    CHECK(bf && bq && mg_gguf_open_mem(&gf, bf, nf, NULL) == MG_OK && mg_gguf_open_mem(&gq, bq, nq, NULL) == MG_OK, "open %s", qfile);
    for (i = 0; gf && gq && i < mg_gguf_tensor_count(gq); i++) {
        mg_tensor_info tq, tf;
        size_t rb, k, bsz = 0;
        int64_t rows;
        uint8_t *y;
        const uint8_t *ref = (const uint8_t *)mg_gguf_tensor_data(gq, i);
        mg_gguf_tensor(gq, i, &tq);
        if (tq.type == MG_TYPE_F32 && !want_f16) continue;
        for (j = 0; j < mg_gguf_tensor_count(gf); j++) { mg_gguf_tensor(gf, j, &tf); if (strcmp(tf.name, tq.name) == 0) break; }
        if (j == mg_gguf_tensor_count(gf) || tf.type != MG_TYPE_F32) { CHECK(0, "%s: no F32 source", tq.name); continue; }
        rows = tf.ne[1] * tf.ne[2] * tf.ne[3];
        rb = mg_type_row_size(tq.type, tf.ne[0]);
        bsz = mg_type_row_size(tq.type, 256);   /* compared in runs of 256 weights */
        y = (uint8_t *)malloc(rb * (size_t)rows);
        CHECK(rb * (size_t)rows == tq.nbytes && mg_quantize(tq.type, (const float *)mg_gguf_tensor_data(gf, j), y, rows, tf.ne[0]) == MG_OK,
              "%s: quantize to %s", tq.name, mg_type_name(tq.type));
        for (k = 0; k < tq.nbytes / bsz; k++) diff += memcmp(y + k * bsz, ref + k * bsz, bsz) != 0;
        blocks += (long)(tq.nbytes / bsz);
        tensors++;
        types_seen |= 1L << tq.type;
        free(y);
    }
    printf("  %-40s %ld tensors, %ld runs of 256 weights, %ld differ from llama-quantize's\n", qfile, tensors, blocks, diff);
    CHECK(blocks > 0 && diff == 0, "%s: %ld of %ld blocks differ from llama's bytes (%ld tensors)", qfile, diff, blocks, tensors);
    CHECK(!want_types || types_seen == want_types, "%s: types compared %lx, expected %lx", qfile, types_seen, want_types);
    mg_gguf_close(gf); mg_gguf_close(gq);
    free(bf); free(bq);
}

/* u32 metadata value by key, or -1 */
static long kv_u32(const mg_gguf *g, const char *key) {
    int64_t i = mg_gguf_find_key(g, key);
    size_t n = 0;
    const uint8_t *p = i >= 0 && mg_gguf_kv_type(g, i, NULL, NULL) == MG_GGUF_U32 ? (const uint8_t *)mg_gguf_kv_data(g, i, &n) : NULL;
    return p && n == 4 ? (long)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24) : -1;
}
/* Every weight of a file llama-quantize made has the type mg_ftype_tensor_type gives for the file's
   general.file_type (the mix of that type), and the name maps back to that file type. */
static void test_ftype_mix(const char *file, const char *ftype_name) {
    size_t n = 0;
    void *buf = mgt_read_file(file, &n);
    mg_gguf *g = NULL;
    long ftype, n_layer, gqa;
    int64_t i;
    int checked = 0, bad = 0;
    if (!buf || mg_gguf_open_mem(&g, buf, n, NULL) != MG_OK) { CHECK(0, "open %s", file); free(buf); return; }
    ftype = kv_u32(g, "general.file_type");
    n_layer = kv_u32(g, "gemma3.block_count");
    gqa = kv_u32(g, "gemma3.attention.head_count") / kv_u32(g, "gemma3.attention.head_count_kv");
    CHECK(ftype == mg_ftype_from_name(ftype_name), "%s: file type %ld, %s is %d", file, ftype, ftype_name, mg_ftype_from_name(ftype_name));
    for (i = 0; i < mg_gguf_tensor_count(g); i++) {
        mg_tensor_info t;
        char role[32];
        int il = -1, want;
        mg_gguf_tensor(g, i, &t);
        if (t.n_dims != 2) continue;
        if (!strcmp(t.name, "token_embd.weight")) strcpy(role, "token_embd");
        else if (sscanf(t.name, "blk.%d.%31[a-z_].weight", &il, role) != 2) { CHECK(0, "%s: tensor %s", file, t.name); continue; }
        want = mg_ftype_tensor_type((int)ftype, role, il, (int)n_layer, (int)gqa);
        if (want != t.type) { bad++; printf("  %s: %s is %s, the mix says %s\n", file, t.name, mg_type_name(t.type), mg_type_name(want)); }
        checked++;
    }
    CHECK(checked == 43 && bad == 0, "%s: %d of %d weights differ from llama-quantize's mix", file, bad, checked);
    mg_gguf_close(g);
    free(buf);
}

/* ---- round-trip error bounds ----
   Q8_0: q = round(x/d) with d = amax/127 in float, stored as f16 d': |x - d' q| <= d/2 + 127 |d - d'|
         (+ float rounding). d is recomputed here from the data; d' read from the block. Plain "<= d'/2"
         does not hold: measured up to 0.59 d' (0.97 d' where d' is an f16 subnormal, |x| ~ 1e-3).
   Q4_K / Q6_K: after the scales are stored, every weight is requantized to the nearest point of its
         sub-block's grid (Q4_K: s k - m, k = 0..15, s = d' sc, m = dmin' mn; Q6_K: s k, k = -32..31, s = d' sc):
         |err| <= s/2 inside the grid, the end point outside it. Checked per element (sub-blocks with s = 0 keep
         the search's levels and are skipped).
   RMS: for N(0,1) data the uniform-quantizer model gives RMS err ~ step/sqrt(12):
         Q4_K step ~ range/15 ~ 4.1/15 for 32 samples -> 0.079 (the scale/min search lowers it), bound 0.085;
         Q6_K step ~ E[max |x| of 16]/31.5 ~ 1.77/31.5 -> 0.016, bound 0.025 (8-bit scales coarsen small
         sub-blocks). Measured (printed): gauss 0.0710 / 0.0175, tiny weights <= 0.0713 / 0.0187.
   Idempotence: Q8_0 requantization of its own output gives the same bytes (the largest element maps back to
   127 exactly). Q4_K and Q6_K are not idempotent: the scale search re-fits a grid-exact signal and moves
   a few values (measured 98.7-100% of the values unchanged); asserted: >= 95% unchanged. */
static void dequant(int type, const void *q, float *y, int64_t rows, int64_t n) {
    /* through a GGUF in memory: the public dequantizer works on files */
    mg_gguf_writer *w = NULL;
    int64_t ne[2];
    void *mem = NULL;
    size_t size = 0;
    mg_gguf *g = NULL;
    ne[0] = n; ne[1] = rows;
    mg_gguf_writer_new(&w, 0);
    mg_gguf_writer_add_tensor(w, "t", type, 2, ne, q, mg_type_row_size(type, n) * (size_t)rows);
    mg_gguf_writer_write_mem(w, &mem, &size);
    if (mg_gguf_open_mem(&g, mem, size, NULL) == MG_OK) mg_gguf_dequantize(g, 0, 0, rows, y, NULL);
    mg_gguf_close(g);
    mg_gguf_writer_free(w);
    free(mem);
}

static void q8_check(const float *x, const uint8_t *q, const float *y, int64_t nel, double *worst) {
    int64_t b;
    int j;
    for (b = 0; b < nel / 32; b++) {
        float amax = 0;
        double d, d16 = half_to_float(rd16(q + 34 * b)), bound;
        for (j = 0; j < 32; j++) amax = fabsf(x[32 * b + j]) > amax ? fabsf(x[32 * b + j]) : amax;
        d = amax / 127.0f;
        bound = d / 2 + 127 * fabs(d - d16) + 1e-6 * amax;
        for (j = 0; j < 32; j++) {
            double err = fabs((double)x[32 * b + j] - y[32 * b + j]);
            if (d16 > 0 && err / d16 > *worst) *worst = err / d16;
            if (err > bound) { CHECK(0, "Q8_0 block %lld: err %g > bound %g", (long long)b, err, bound); return; }
        }
    }
}

typedef struct errstat { double se, sx, max_steps; long off_grid; } errstat;

/* One element of a sub-block whose grid is [lo, hi] with spacing s: y must be the nearest grid point. */
static void grid_check(errstat *st, double x, double y, double s, double lo, double hi) {
    double err = fabs(x - y), tol = 1e-6 * (fabs(x) + fabs(lo) + fabs(hi)) + 1e-30;
    st->se += err * err;
    st->sx += x * x;
    if (s == 0) return;
    if (x < lo || x > hi) { st->off_grid += fabs(y - (x < lo ? lo : hi)) > tol; return; }
    if (err / s > st->max_steps) st->max_steps = err / s;
    st->off_grid += err > s / 2 + tol;
}
static void q4k_check(const float *x, const uint8_t *q, const float *y, int64_t nel, errstat *st) {
    int64_t b;
    int j, l;
    for (b = 0; b < nel / 256; b++) {
        const uint8_t *blk = q + 144 * b, *sc = blk + 4;
        double d = half_to_float(rd16(blk)), dmin = half_to_float(rd16(blk + 2));
        for (j = 0; j < 8; j++) {
            int ls = j < 4 ? (sc[j] & 63) : ((sc[j + 4] & 15) | (sc[j - 4] >> 6) << 4);
            int lm = j < 4 ? (sc[j + 4] & 63) : ((sc[j + 4] >> 4) | (sc[j] >> 6) << 4);
            double s = d * ls, m = dmin * lm;
            for (l = 0; l < 32; l++) grid_check(st, x[256 * b + 32 * j + l], y[256 * b + 32 * j + l], s, -m, 15 * s - m);
        }
    }
}
static void q6k_check(const float *x, const uint8_t *q, const float *y, int64_t nel, errstat *st) {
    int64_t b;
    int j, l;
    for (b = 0; b < nel / 256; b++) {
        const uint8_t *blk = q + 210 * b;
        double d = half_to_float(rd16(blk + 208));
        for (j = 0; j < 16; j++) {
            double s = d * (int8_t)blk[192 + j], lo = s > 0 ? -32 * s : 31 * s, hi = s > 0 ? 31 * s : -32 * s;
            for (l = 0; l < 16; l++) grid_check(st, x[256 * b + 16 * j + l], y[256 * b + 16 * j + l], fabs(s), lo, hi);
        }
    }
}

/* Quantizes rows x n floats to each type, dequantizes and checks the bounds; idempotence of requantizing. */
static void check_errors(const char *what, const float *x, int64_t rows, int64_t n, double rms_q4, double rms_q6) {
    int64_t nel = rows * n;
    float *y = (float *)malloc((size_t)nel * sizeof(float)), *y2 = (float *)malloc((size_t)nel * sizeof(float));
    uint8_t *q = (uint8_t *)malloc(mg_type_row_size(MG_TYPE_Q8_0, n) * (size_t)rows);
    uint8_t *q2 = (uint8_t *)malloc(mg_type_row_size(MG_TYPE_Q8_0, n) * (size_t)rows);
    double worst8 = 0;
    errstat s4 = { 0, 0, 0, 0 }, s6 = { 0, 0, 0, 0 };
    int64_t same4, same6;
    int64_t i;

    mg_quantize(MG_TYPE_Q8_0, x, q, rows, n);
    dequant(MG_TYPE_Q8_0, q, y, rows, n);
    q8_check(x, q, y, nel, &worst8);
    mg_quantize(MG_TYPE_Q8_0, y, q2, rows, n);              /* idempotence: requantizing the dequantized values */
    CHECK(memcmp(q, q2, mg_type_row_size(MG_TYPE_Q8_0, n) * (size_t)rows) == 0, "%s: Q8_0 requantization is idempotent", what);

    mg_quantize(MG_TYPE_Q4_K, x, q, rows, n);
    dequant(MG_TYPE_Q4_K, q, y, rows, n);
    q4k_check(x, q, y, nel, &s4);
    CHECK(sqrt(s4.se / s4.sx) <= rms_q4, "%s: Q4_K relative RMS error %.4f > %.4f", what, sqrt(s4.se / s4.sx), rms_q4);
    CHECK(s4.off_grid == 0, "%s: Q4_K: %ld values not on the nearest grid point", what, s4.off_grid);
    mg_quantize(MG_TYPE_Q4_K, y, q2, rows, n);
    dequant(MG_TYPE_Q4_K, q2, y2, rows, n);
    for (i = 0, same4 = 0; i < nel; i++) same4 += y[i] == y2[i];
    CHECK(same4 >= nel * 95 / 100, "%s: Q4_K requantization keeps %lld of %lld values", what, (long long)same4, (long long)nel);

    mg_quantize(MG_TYPE_Q6_K, x, q, rows, n);
    dequant(MG_TYPE_Q6_K, q, y, rows, n);
    q6k_check(x, q, y, nel, &s6);
    CHECK(sqrt(s6.se / s6.sx) <= rms_q6, "%s: Q6_K relative RMS error %.4f > %.4f", what, sqrt(s6.se / s6.sx), rms_q6);
    CHECK(s6.off_grid == 0, "%s: Q6_K: %ld values not on the nearest grid point", what, s6.off_grid);
    mg_quantize(MG_TYPE_Q6_K, y, q2, rows, n);
    dequant(MG_TYPE_Q6_K, q2, y2, rows, n);
    for (i = 0, same6 = 0; i < nel; i++) same6 += y[i] == y2[i];
    CHECK(same6 >= nel * 95 / 100, "%s: Q6_K requantization keeps %lld of %lld values", what, (long long)same6, (long long)nel);
    printf("%s: Q8_0 max err %.4f d'; Q4_K rel RMS %.4f, max %.3f steps in the grid, requantized unchanged %.1f%%;"
           " Q6_K rel RMS %.4f, max %.3f steps, requantized unchanged %.1f%%\n", what, worst8, sqrt(s4.se / s4.sx),
           s4.max_steps, 100.0 * (double)same4 / (double)nel, sqrt(s6.se / s6.sx), s6.max_steps,
           100.0 * (double)same6 / (double)nel);
    free(y); free(y2); free(q); free(q2);
}

static void test_error_bounds(void) {
    int64_t rows = 64, n = 512, i;
    float *x = (float *)malloc((size_t)(rows * n) * sizeof(float));
    size_t nf = 0;
    void *bf;
    mg_gguf *g = NULL;
    for (i = 0; i < rows * n; i++) x[i] = rng_gauss();
    check_errors("gauss", x, rows, n, 0.085, 0.025);
    for (i = 0; i < rows * n; i++) x[i] = (float)(rng_unif() * 2 - 1) * (i % 512 < 256 ? 1e-3f : 50.0f);
    check_errors("uniform, two scales", x, rows, n, 0.085, 0.025);
    for (i = 0; i < rows * n; i++) x[i] = i % 1000 == 0 ? 30.0f : rng_gauss() * 0.02f;   /* outliers */
    memset(x, 0, 512 * sizeof(float));                                                  /* an all-zero row */
    for (i = 512; i < 1024; i++) x[i] = 0.25f;                                          /* a constant row */
    check_errors("outliers, zero and constant rows", x, rows, n, 0.2, 0.1);
    free(x);

    bf = mgt_read_file(MODELS "tiny-f32.gguf", &nf);
    if (bf && mg_gguf_open_mem(&g, bf, nf, NULL) == MG_OK) {
        int64_t t;
        for (t = 0; t < mg_gguf_tensor_count(g); t++) {
            mg_tensor_info ti;
            mg_gguf_tensor(g, t, &ti);
            if (strcmp(ti.name, "blk.2.ffn_down.weight") == 0 || strcmp(ti.name, "token_embd.weight") == 0) {
                check_errors(ti.name, (const float *)mg_gguf_tensor_data(g, t), ti.ne[1], ti.ne[0], 0.085, 0.025);
            }
        }
    } else CHECK(0, "open tiny-f32.gguf");
    mg_gguf_close(g);
    free(bf);
}

static void test_quantize_args(void) {
    float x[256] = { 0 };
    uint8_t y[512];
    CHECK(mg_quantize(MG_TYPE_Q4_K, x, y, 1, 128) == MG_ERR_INVALID_ARG, "Q4_K row of 128 refused");
    CHECK(mg_quantize(MG_TYPE_Q8_0, x, y, 1, 48) == MG_ERR_INVALID_ARG, "Q8_0 row of 48 refused");
    CHECK(mg_quantize(MG_TYPE_Q8_K, x, y, 1, 256) == MG_ERR_INVALID_ARG, "Q8_K not a storage quantizer");
    CHECK(mg_quantize(MG_TYPE_Q6_K, x, y, 1, 256) == MG_OK && y[208] == 0 && y[209] == 0, "zero row: d = 0");
    CHECK(mg_type_row_size(MG_TYPE_Q4_K, 512) == 288 && mg_type_row_size(MG_TYPE_Q6_K, 256) == 210 &&
          mg_type_row_size(MG_TYPE_Q8_0, 64) == 68 && mg_type_row_size(MG_TYPE_BF16, 3) == 6 &&
          mg_type_row_size(MG_TYPE_Q8_0, 33) == 0 && mg_type_row_size(99, 32) == 0, "row sizes");
    x[0] = 1.0f; x[1] = -2.5f; x[2] = 65504.0f; x[3] = 1e-8f;
    CHECK(mg_quantize(MG_TYPE_F16, x, y, 1, 4) == MG_OK && rd16(y) == 0x3C00 && rd16(y + 2) == 0xC100 &&
          rd16(y + 4) == 0x7BFF && rd16(y + 6) == 0x0000, "F16 bits");
    CHECK(mg_quantize(MG_TYPE_BF16, x, y, 1, 2) == MG_OK && rd16(y) == 0x3F80 && rd16(y + 2) == 0xC020, "BF16 bits");
}

int main(void) {
    test_round_trip(32);
    test_round_trip(64);
    test_checks_and_raw();
    test_copy();
    test_vs_llama_quantize(MODELS "tiny-q8_0.gguf", 0, 1L << MG_TYPE_Q8_0);
    test_vs_llama_quantize(MODELS "tiny-q4_k_m.gguf", 0, 1L << MG_TYPE_Q4_K | 1L << MG_TYPE_Q6_K);
    test_vs_llama_quantize(MODELS "tiny-f16.gguf", 1, 0);
    /* the other published types (tests/data/quants) */
    test_vs_llama_quantize(QMODELS "tiny-q5_k_m.gguf", 0, 1L << MG_TYPE_Q5_K | 1L << MG_TYPE_Q6_K);
    test_vs_llama_quantize(QMODELS "tiny-q3_k_m.gguf", 0, 1L << MG_TYPE_Q3_K | 1L << MG_TYPE_Q4_K | 1L << MG_TYPE_Q5_K | 1L << MG_TYPE_Q6_K);
    test_vs_llama_quantize(QMODELS "tiny-q2_k.gguf", 0, 1L << MG_TYPE_Q2_K | 1L << MG_TYPE_Q3_K | 1L << MG_TYPE_Q6_K);
    test_vs_llama_quantize(QMODELS "tiny-q4_0.gguf", 0, 1L << MG_TYPE_Q4_0 | 1L << MG_TYPE_Q6_K);
    test_vs_llama_quantize(QMODELS "tiny-q4_1.gguf", 0, 1L << MG_TYPE_Q4_1 | 1L << MG_TYPE_Q6_K);
    test_vs_llama_quantize(QMODELS "tiny-iq4_xs.gguf", 0, 1L << MG_TYPE_IQ4_XS | 1L << MG_TYPE_Q6_K);
    test_vs_llama_quantize(QMODELS "tiny-iq4_nl.gguf", 0, 1L << MG_TYPE_IQ4_NL | 1L << MG_TYPE_Q6_K);
    test_ftype_mix(MODELS "tiny-q8_0.gguf", "q8_0");
    test_ftype_mix(MODELS "tiny-q4_k_m.gguf", "Q4_K_M");
    test_ftype_mix(MODELS "tiny-f16.gguf", "f16");
    test_ftype_mix(QMODELS "tiny-q5_k_m.gguf", "q5_k_m");
    test_ftype_mix(QMODELS "tiny-q3_k_m.gguf", "q3_k_m");
    test_ftype_mix(QMODELS "tiny-q2_k.gguf", "q2_k");
    test_ftype_mix(QMODELS "tiny-q4_0.gguf", "q4_0");
    test_ftype_mix(QMODELS "tiny-q4_1.gguf", "q4_1");
    test_ftype_mix(QMODELS "tiny-iq4_xs.gguf", "iq4_xs");
    test_ftype_mix(QMODELS "tiny-iq4_nl.gguf", "iq4_nl");
    CHECK(mg_ftype_from_name("Q5_K") == -1 && mg_ftype_from_name("q5_k_mm") == -1 && mg_ftype_from_name("") == -1, "unknown file type names");
    test_quantize_args();
    test_error_bounds();
    return MG_TEST_END();
}
