/* fuzz_snapshot.c — session snapshots (mg_snapshot_read_mem) on hostile bytes, against the tiny Q4_K_M model
   (tests/data, loaded once). Seeds: tests/corpus/snapshot (a 3-position snapshot with F16 KV, one with Q8_0 KV,
   an empty one). Invariants: bytes that read back as a snapshot restore into a session of their KV type whenever
   their positions fit its context, and one more token can then be evaluated (values may be NaN; reads out of
   bounds may not happen); serialising the snapshot gives the input bytes back. Each input is tried as it is and
   with its trailing checksum recomputed, so that mutations reach the fields behind it. */
#include "fuzz.h"
#include "medgemma.h"

static const mg_model *model(void) {
    static mg_model *m;
    if (!m) {
        char p[512];
        mg_error e;
        if (mg_model_load_file(&m, fz_path("tests/data/models/tiny-q4_k_m.gguf", p, sizeof p), NULL, &e) != MG_OK) {
            fprintf(stderr, "%s: %s\n", p, e.message);
            abort();
        }
    }
    return m;
}

/* The snapshot checksum (medgemma.h, mg__checksum), written out again for the fuzzer. */
static uint64_t checksum(const uint8_t *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n, w;
    size_t i, k;
    for (i = 0; i + 8 <= n; i += 8) {
        for (w = 0, k = 0; k < 8; k++) w |= (uint64_t)p[i + k] << (8 * k);
        h ^= w; h *= 0xff51afd7ed558ccdULL; h ^= h >> 32;
    }
    for (; i < n; i++) { h ^= p[i]; h *= 0xc4ceb9fe1a85ec53ULL; }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33;
    return h;
}

static void one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    one(data, size);
    if (size >= 16) {
        uint8_t *c = (uint8_t *)malloc(size);
        uint64_t h;
        int k;
        if (!c) return 0;
        memcpy(c, data, size);
        h = checksum(c, size - 8);
        for (k = 0; k < 8; k++) c[size - 8 + (size_t)k] = (uint8_t)(h >> (8 * k));
        one(c, size);
        free(c);
    }
    return 0;
}

static void one(const uint8_t *data, size_t size) {
    static const int kv_of_type[3][2] = { { 0, MG_KV_F32 }, { 1, MG_KV_F16 }, { 8, MG_KV_Q8_0 } };
    const mg_model *m = model();
    mg_snapshot *sn = NULL;
    mg_session *s = NULL;
    mg_session_options o;
    int k, kv = -1;
    if (mg_snapshot_read_mem(&sn, m, data, size, NULL) != MG_OK) {
        if (sn) fz_fail("a refused snapshot was returned");
        return;
    }
    if (mg_snapshot_size(sn) != size || memcmp(mg_snapshot_data(sn), data, size) != 0) fz_fail("snapshot bytes changed");
    for (k = 0; k < 3; k++) if ((uint32_t)kv_of_type[k][0] == (uint32_t)(data[12] | data[13] << 8)) kv = kv_of_type[k][1];
    if (kv < 0) fz_fail("a snapshot with an unknown KV type was accepted");
    memset(&o, 0, sizeof o);
    o.n_threads = 1; o.n_ctx = 1024; o.kv_type = kv;
    if (mg_session_new(&s, m, &o, NULL) != MG_OK) abort();
    if (mg_snapshot_pos(sn) < 1024) {
        int32_t id = 42;
        if (mg_snapshot_restore(s, sn) != MG_OK) fz_fail("a valid snapshot does not restore");
        if (mg_session_pos(s) != mg_snapshot_pos(sn)) fz_fail("restored position differs");
        if (mg_eval(s, &id, 1) != MG_OK || !mg_logits(s)) fz_fail("cannot evaluate after a restore");
    } else if (mg_snapshot_restore(s, sn) != MG_ERR_CONTEXT_FULL) fz_fail("a snapshot longer than n_ctx restored");
    mg_session_free(s);
    mg_snapshot_free(sn);
}
