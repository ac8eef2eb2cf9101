/* GGUF reading: metadata and tensor table of the fixture files against an independent header walk written
   here, the model config against tests/data/models/tiny-model-info.json, and malformed files (truncations,
   bad magic/version, huge counts and lengths, bad dims/types/offsets, duplicates, missing or misshapen
   tensors, NaN norms, wrong architecture): each gives its specific error code and message, never a crash. */
#include "fixtures.h"

static unsigned char *orig;     /* tiny-q8_0.gguf */
static size_t orig_n;

/* --- an independent walk over the header: offsets of keys and tensor infos --- */
typedef struct walk { size_t key_off[64]; char key[64][64]; size_t n_kv; size_t t_off[128]; char tname[128][64];
                      size_t n_t; size_t data_off; } walk;
static uint32_t rd32(const unsigned char *p) {       /* GGUF is little-endian whatever the host */
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static int host_little_endian(void) { const uint16_t one = 1; return *(const unsigned char *)&one == 1; }
static size_t skip_value(const unsigned char *b, size_t p, uint32_t type) {
    static const int size[13] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
    if (type == 8) return p + 8 + rd64(b + p);
    if (type == 9) {
        uint32_t et = rd32(b + p);
        uint64_t n = rd64(b + p + 4), i;
        p += 12;
        if (et == 8) { for (i = 0; i < n; i++) p += 8 + rd64(b + p); return p; }
        return p + n * size[et];
    }
    return p + size[type];
}
static void walk_header(const unsigned char *b, walk *w) {
    size_t p = 24, i;
    memset(w, 0, sizeof *w);
    w->n_kv = rd64(b + 16);
    w->n_t = rd64(b + 8);
    for (i = 0; i < w->n_kv; i++) {
        uint64_t kl = rd64(b + p);
        w->key_off[i] = p;
        memcpy(w->key[i], b + p + 8, kl < 63 ? kl : 63);
        p += 8 + kl;
        p = skip_value(b, p + 4, rd32(b + p));
    }
    for (i = 0; i < w->n_t; i++) {
        uint64_t nl = rd64(b + p);
        uint32_t nd;
        w->t_off[i] = p;
        memcpy(w->tname[i], b + p + 8, nl < 63 ? nl : 63);
        p += 8 + nl;
        nd = rd32(b + p);
        p += 4 + 8 * (size_t)nd + 4 + 8;
    }
    w->data_off = (p + 31) / 32 * 32;
}
static size_t tensor_off(const walk *w, const char *name) {
    size_t i;
    for (i = 0; i < w->n_t; i++) if (!strcmp(w->tname[i], name)) return w->t_off[i];
    return 0;
}
static size_t key_off(const walk *w, const char *key) {
    size_t i;
    for (i = 0; i < w->n_kv; i++) if (!strcmp(w->key[i], key)) return w->key_off[i];
    return 0;
}

/* Loads a patched copy; returns the result code; the message must be non-empty on failure. */
static mg_result load_patched(size_t at, const void *bytes, size_t n, size_t len) {
    unsigned char *b = (unsigned char *)malloc(orig_n);
    mg_model *m = NULL;
    mg_error e;
    mg_result r;
    memcpy(b, orig, orig_n);
    if (bytes) memcpy(b + at, bytes, n);
    e.message[0] = 0;
    r = mg_model_load_mem(&m, b, len, NULL, &e);
    if (r != MG_OK) CHECK(e.code == r && e.message[0] != 0, "error detail for code %d", r);
    mg_model_free(m);
    free(b);
    return r;
}

static void check_valid_files(const walk *w) {
    mg_model *m = fix_model(FIX_DIR "models/tiny-q8_0.gguf");
    mgx_json *info = fix_json(FIX_DIR "models/tiny-model-info.json");
    const mgx_json *t = mgx_json_get(info, "text");
    mg_model_info mi;
    const mg_gguf *g;
    int64_t i;
    char buf[256];
    if (!m || !t) { CHECK(0, "load"); return; }
    g = mg_model_gguf(m);
    mg_model_get_info(m, &mi);
    CHECK(mi.n_layer == mgx_json_number(mgx_json_get(t, "n_layer"), -1) && mi.n_embd == mgx_json_number(mgx_json_get(t, "n_embd"), -1), "layers/width");
    CHECK(mi.n_head == mgx_json_number(mgx_json_get(t, "n_head"), -1) && mi.n_head_kv == mgx_json_number(mgx_json_get(t, "n_head_kv"), -1), "heads");
    CHECK(mi.head_dim == mgx_json_number(mgx_json_get(t, "head_dim"), -1) && mi.n_ff == mgx_json_number(mgx_json_get(t, "n_ff"), -1), "head_dim, n_ff");
    CHECK(mi.sliding_window == mgx_json_number(mgx_json_get(t, "sliding_window"), -1) && mi.swa_period == 6, "window %d, period %d", mi.sliding_window, mi.swa_period);
    CHECK(mi.n_ctx_train == 4096 && mi.n_vocab == 8192 && mi.has_weights && !mi.has_vision, "ctx/vocab");
    CHECK(!strcmp(mi.arch, "gemma3"), "arch");
    CHECK(mg_gguf_version(g) == 3 && mg_gguf_kv_count(g) == (int64_t)w->n_kv && mg_gguf_tensor_count(g) == (int64_t)w->n_t, "counts");
    CHECK(mg_gguf_data_offset(g) == w->data_off, "data offset %llu vs walk %zu", (unsigned long long)mg_gguf_data_offset(g), w->data_off);
    for (i = 0; i < (int64_t)w->n_t; i++) {
        mg_tensor_info ti;
        mg_gguf_tensor(g, i, &ti);
        if (strcmp(ti.name, w->tname[i])) { CHECK(0, "tensor %lld name %s vs %s", (long long)i, ti.name, w->tname[i]); break; }
    }
    i = mg_gguf_find_key(g, "general.architecture");
    mg_gguf_kv_format(g, i, buf, sizeof buf, 4);
    CHECK(i >= 0 && !strcmp(buf, "\"gemma3\""), "kv_format string: %s", buf);
    i = mg_gguf_find_key(g, "gemma3.attention.layer_norm_rms_epsilon");
    mg_gguf_kv_format(g, i, buf, sizeof buf, 4);
    CHECK(!strcmp(buf, "1e-06"), "kv_format f32: %s", buf);
    i = mg_gguf_find_key(g, "tokenizer.ggml.tokens");
    mg_gguf_kv_format(g, i, buf, sizeof buf, 3);
    CHECK(!strcmp(buf, "[8192 x string] \"<pad>\",\"<eos>\",\"<bos>\" ..."), "kv_format array: %s", buf);
    CHECK(mg_gguf_find_key(g, "no.such.key") == -1, "absent key");
    mg_model_free(m);
    mgx_json_free(info);
}

static void check_malformed(const walk *w) {
    uint32_t u32;
    uint64_t u64;
    size_t off, k, fails = 0, steps = 0;
    float nan = NAN;
    /* truncation anywhere in the header, tensor table or data: an error, never a crash */
    for (k = 0; k < orig_n; k += (k < w->data_off + 64 ? 97 : 65537)) {
        if (load_patched(0, NULL, 0, k) == MG_OK) fails++;
        steps++;
    }
    CHECK(fails == 0, "%zu of %zu truncations loaded", fails, steps);
    CHECK(load_patched(0, "GGUX", 4, orig_n) == MG_ERR_FORMAT, "bad magic");
    u32 = 1; CHECK(load_patched(4, &u32, 4, orig_n) == MG_ERR_UNSUPPORTED, "version 1");
    u32 = 0x03000000; CHECK(load_patched(4, &u32, 4, orig_n) == MG_ERR_UNSUPPORTED, "big-endian version");
    u64 = (uint64_t)1 << 40; CHECK(load_patched(8, &u64, 8, orig_n) == MG_ERR_LIMIT, "huge tensor count");
    u64 = (uint64_t)1 << 40; CHECK(load_patched(16, &u64, 8, orig_n) == MG_ERR_LIMIT, "huge kv count");
    u64 = 500; CHECK(load_patched(16, &u64, 8, orig_n) == MG_ERR_FORMAT, "kv count past the real keys");
    u64 = (uint64_t)-1; CHECK(load_patched(24, &u64, 8, orig_n) == MG_ERR_FORMAT, "key length past the file");
    off = key_off(w, "general.architecture");
    u32 = 77; CHECK(load_patched(off + 8 + 20, &u32, 4, orig_n) == MG_ERR_FORMAT, "unknown value type");
    off = key_off(w, "tokenizer.ggml.tokens");
    u64 = (uint64_t)1 << 23;   /* array count within the limit but past the file */
    CHECK(load_patched(off + 8 + 21 + 4 + 4, &u64, 8, orig_n) == MG_ERR_FORMAT, "string array past the end");
    u64 = (uint64_t)1 << 40;
    CHECK(load_patched(off + 8 + 21 + 4 + 4, &u64, 8, orig_n) == MG_ERR_LIMIT, "array count over the limit");
    u32 = 99;
    CHECK(load_patched(off + 8 + 21 + 4, &u32, 4, orig_n) == MG_ERR_FORMAT, "invalid array element type");
    off = tensor_off(w, "blk.0.attn_q.weight");          /* name(8+19) n_dims(4) ne(16) type(4) offset(8) */
    CHECK(off != 0, "found blk.0.attn_q");
    u32 = 5; CHECK(load_patched(off + 27, &u32, 4, orig_n) == MG_ERR_FORMAT, "5 dimensions");
    u64 = 0; CHECK(load_patched(off + 31, &u64, 8, orig_n) == MG_ERR_FORMAT, "zero dimension");
    u64 = (uint64_t)1 << 62; CHECK(load_patched(off + 39, &u64, 8, orig_n) == MG_ERR_FORMAT, "element count overflow");
    u32 = 200; CHECK(load_patched(off + 47, &u32, 4, orig_n) == MG_ERR_FORMAT, "unknown type");
    u32 = 6; CHECK(load_patched(off + 47, &u32, 4, orig_n) == MG_ERR_UNSUPPORTED, "Q5_0 is named as unsupported");
    u64 = rd64(orig + off + 51) + 2; CHECK(load_patched(off + 51, &u64, 8, orig_n) == MG_ERR_FORMAT, "misaligned offset");
    u64 = (uint64_t)1 << 40; CHECK(load_patched(off + 51, &u64, 8, orig_n) == MG_ERR_FORMAT, "offset past the file");
    u64 = 128; CHECK(load_patched(off + 39, &u64, 8, orig_n) == MG_ERR_MODEL, "shape disagrees with the config");
    CHECK(load_patched(off + 8, "blk.0.attn_k", 12, orig_n) == MG_ERR_FORMAT, "duplicate tensor name");
    CHECK(load_patched(off + 8, "blk.0.attn_X", 12, orig_n) == MG_ERR_MODEL, "missing required tensor");
    off = tensor_off(w, "blk.1.ffn_norm.weight");
    CHECK(load_patched(w->data_off + (size_t)rd64(orig + off + 8 + 21 + 4 + 8 + 4) + 12, &nan, 4, orig_n) == MG_ERR_MODEL, "NaN in a norm");
    off = key_off(w, "general.architecture");
    CHECK(load_patched(off + 8 + 20 + 4 + 8, "llama3", 6, orig_n) == MG_ERR_UNSUPPORTED, "other architecture");
    off = key_off(w, "gemma3.block_count");
    CHECK(load_patched(off + 8, "gemma3.blockXcount", 18, orig_n) == MG_ERR_MODEL, "missing block_count");
    off = key_off(w, "gemma3.attention.head_count_kv");
    u32 = 3; CHECK(load_patched(off + 8 + 30 + 4, &u32, 4, orig_n) == MG_ERR_MODEL, "heads not a multiple of kv heads");
    {   /* loading from a missing path or a directory */
        mg_model *m;
        mg_error e;
        CHECK(mg_model_load_file(&m, "tests/data/no-such-file.gguf", NULL, &e) == MG_ERR_IO && m == NULL, "missing file");
        CHECK(mg_model_load_file(&m, "tests/data", NULL, &e) == MG_ERR_IO, "directory");
        CHECK(mg_model_load_mem(&m, NULL, 0, NULL, &e) == MG_ERR_FORMAT, "NULL buffer");
        CHECK(mg_model_load_mem(NULL, orig, orig_n, NULL, &e) == MG_ERR_INVALID_ARG, "NULL out");
    }
}

/* A big-endian host: the header walk still reads the file (against tiny-model-info.json), and every way in
   refuses it by name instead of computing with byte-swapped tensors. */
static void check_big_endian(const walk *w) {
    mgx_json *info = fix_json(FIX_DIR "models/tiny-model-info.json");
    const mgx_json *t = mgx_json_get(info, "text");
    const char *want = mgx_json_string(mgx_json_get(t, "arch"));
    size_t arch = key_off(w, "general.architecture"), blocks = key_off(w, "gemma3.block_count");
    mg_model *m = NULL;
    mg_gguf *g = NULL;
    mg_error e;
    CHECK(arch && rd32(orig + arch + 8 + 20) == 8 && rd64(orig + arch + 8 + 20 + 4) == 6 &&
          want && !memcmp(orig + arch + 8 + 20 + 12, want, 6), "walk: architecture");
    CHECK(blocks && rd32(orig + blocks + 8 + 18) == 4 &&
          rd32(orig + blocks + 8 + 18 + 4) == (uint32_t)mgx_json_number(mgx_json_get(t, "n_layer"), -1), "walk: block_count");
    CHECK(tensor_off(w, "blk.0.attn_q.weight") && tensor_off(w, "output_norm.weight"), "walk: tensor table");
    e.message[0] = 0;
    CHECK(mg_gguf_open_mem(&g, orig, orig_n, &e) == MG_ERR_UNSUPPORTED && !g && strstr(e.message, "big-endian"),
          "mg_gguf_open_mem refuses: %s", e.message);
    e.message[0] = 0;
    CHECK(mg_model_load_mem(&m, orig, orig_n, NULL, &e) == MG_ERR_UNSUPPORTED && !m && strstr(e.message, "big-endian"),
          "mg_model_load_mem refuses: %s", e.message);
    e.message[0] = 0;
    CHECK(mg_model_load_file(&m, FIX_DIR "models/tiny-q8_0.gguf", NULL, &e) == MG_ERR_UNSUPPORTED && !m &&
          strstr(e.message, "big-endian"), "mg_model_load_file refuses: %s", e.message);
    mgx_json_free(info);
}

int main(void) {
    walk w;
    orig = (unsigned char *)mgt_read_file(FIX_DIR "models/tiny-q8_0.gguf", &orig_n);
    if (!orig) { CHECK(0, "read tiny-q8_0"); return MG_TEST_END(); }
    walk_header(orig, &w);
    if (!host_little_endian()) {
        check_big_endian(&w);
        free(orig);
        return MG_TEST_END();
    }
    check_valid_files(&w);
    check_malformed(&w);
    {   /* a vocab-only file loads for the tokenizer, and refuses a session */
        mg_model *m = fix_model(FIX_DIR "vocab/gemma3-vocab.gguf");
        mg_session *s = NULL;
        mg_model_info mi;
        mg_model_get_info(m, &mi);
        CHECK(m && !mi.has_weights && mi.n_vocab == 262208 && mi.n_layer == 34 && mi.n_embd == 2560, "vocab-only file: %d", mi.n_vocab);
        CHECK(mg_session_new(&s, m, NULL, NULL) == MG_ERR_STATE && s == NULL, "no session without weights");
        mg_model_free(m);
    }
    {   /* the fingerprint in mg_model_info: SHA-256 of the header bytes and 3 x 64 bytes of each tensor,
           recomputed here from the independent header walk */
        mg_model *m = fix_model(FIX_DIR "models/tiny-q8_0.gguf");
        mg_model_info mi;
        unsigned char *buf = (unsigned char *)malloc(orig_n), *p = buf, want[32];
        size_t i;
        memcpy(p, orig, w.data_off); p += w.data_off;
        for (i = 0; i < w.n_t; i++) {    /* name, n_dims, ne[], type, offset; tiny-q8_0 holds F32 and Q8_0 only */
            const unsigned char *ti = orig + w.t_off[i] + 8 + rd64(orig + w.t_off[i]);
            uint32_t nd = rd32(ti), d, type = rd32(ti + 4 + 8 * rd32(ti));
            uint64_t off = rd64(ti + 8 + 8 * nd), n = 1, c;
            const unsigned char *data;
            for (d = 0; d < nd; d++) n *= rd64(ti + 4 + 8 * d);
            n = type == 8 ? n / 32 * 34 : n * 4;
            data = orig + w.data_off + off;
            c = n < 64 ? n : 64;
            memcpy(p, data, c); p += c;
            memcpy(p, data + (n - c) / 2, c); p += c;
            memcpy(p, data + n - c, c); p += c;
        }
        mg_sha256(buf, (size_t)(p - buf), want);
        mg_model_get_info(m, &mi);
        CHECK(m && memcmp(mi.fingerprint, want, 32) == 0, "model fingerprint = SHA-256(header, sampled tensor bytes)");
        for (i = 0; i < 32 && !mi.vision_fingerprint[i]; i++) {}
        CHECK(i == 32, "no vision: zero vision fingerprint");
        free(buf);
        mg_model_free(m);
    }
    free(orig);
    return MG_TEST_END();
}
