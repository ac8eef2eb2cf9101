/* Instructions per 256 weights of the ARM kernels and of ggml's NEON dot products (BENCHMARKS.md, speed evidence
   without ARM hardware). Runs one kernel on fixed work; under `qemu-aarch64 -singlestep -d nochain,exec` every
   executed instruction is one trace line naming its function, so the lines between the calls of insn_begin and
   insn_end (the kernel call and all it calls) divided by the weight x token products it did (printed here as
   "work") give its executed instructions per 256:
     make arm-insns                         (cross-builds this at each level, runs and counts every case)
     insn_arm CASE                          CASE: q4_k q6_k q8_0 q5_k q3_k q2_k iq4_xs q4_0 iq4_nl q4_1 (decode:
                                            8 rows x 1 token), q4_k.64 ... q4_1.64 (8 rows x 64 tokens), f16 (dot),
                                            tile_f32, tile_bf16, attn; ggml.q4_k ... ggml.q4_1.64: ggml's vec_dot
                                            (a quants.o, WITH_GGML)
   Each case also checks its results against the scalar reference (integer formats: bit for bit) unless a second
   argument "nocheck" is given (tools/insn_arm.sh: the trace then holds the kernel's work alone). */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"   /* the static copy has API functions this tool does not call */
#endif
#define MEDGEMMA_IMPLEMENTATION
#define MEDGEMMA_STATIC
#include "medgemma.h"

#ifdef WITH_GGML   /* ggml-cpu/arch/arm/quants.c: the block layouts are those of >>quant formats */
void ggml_vec_dot_q4_K_q8_K(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_q6_K_q8_K(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_q8_0_q8_0(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_q5_K_q8_K(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_q3_K_q8_K(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_q2_K_q8_K(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_iq4_xs_q8_K(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_q4_0_q8_0(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_iq4_nl_q8_0(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_q4_1_q8_1(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
float ggml_table_f32_ue4m3[256];                        /* referenced by kernels not run here */
void quantize_row_q8_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q8_K_ref(const float *x, void *y, int64_t k) { (void)x; (void)y; (void)k; }
typedef void ggml_dot(int, float *, size_t, const void *, size_t, const void *, size_t, int);
#endif

enum { NR = 8, NIN = 2560, NT = 64 };
/* the measured region: from a call of insn_begin to the next call of insn_end */
static void __attribute__((noinline)) insn_begin(void) { __asm__ __volatile__("nop" ::: "memory"); }
static void __attribute__((noinline)) insn_end(void) { __asm__ __volatile__("nop\n\tnop" ::: "memory"); }   /* not folded with insn_begin */
static uint64_t rs = 88172645463325252ULL;
static int check = 1;
static float frand(void) {
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (float)(rs >> 40) / 8388608.0f - 1.0f;
}
static float *frands(size_t n) {
    float *v = (float *)malloc(n * sizeof(float));
    size_t i;
    if (!v) exit(1);
    for (i = 0; i < n; i++) v[i] = frand();
    return v;
}
static int report(const char *name, double work, int bad) {
    printf("%s work %.0f (weight x token products) mismatches %d\n", name, work, bad);
    return bad != 0;
}

static const char *names[] = { "q4_k", "q6_k", "q8_0", "q5_k", "q3_k", "q2_k", "iq4_xs", "q4_0", "iq4_nl", "q4_1" };
static const int types[] = { MG_TYPE_Q4_K, MG_TYPE_Q6_K, MG_TYPE_Q8_0, MG_TYPE_Q5_K, MG_TYPE_Q3_K, MG_TYPE_Q2_K, MG_TYPE_IQ4_XS,
                             MG_TYPE_Q4_0, MG_TYPE_IQ4_NL, MG_TYPE_Q4_1 };
#ifdef WITH_GGML
static ggml_dot *const ggml_dots[] = { ggml_vec_dot_q4_K_q8_K, ggml_vec_dot_q6_K_q8_K, ggml_vec_dot_q8_0_q8_0, ggml_vec_dot_q5_K_q8_K,
                                       ggml_vec_dot_q3_K_q8_K, ggml_vec_dot_q2_K_q8_K, ggml_vec_dot_iq4_xs_q8_K, ggml_vec_dot_q4_0_q8_0,
                                       ggml_vec_dot_iq4_nl_q8_0, ggml_vec_dot_q4_1_q8_1 };
#endif
/* types[ti]: NR rows x nt tokens through mg__mat_block (or ggml's vec_dot, nrc 2 for token pairs when there are
   several tokens, the build has I8MM and ggml has the pair kernel), checked against mg__vec_dot_scalar */
static int quant_case(const char *name, int ti, int nt, int ggml) {
    const int wtype = types[ti], b32 = wtype == MG_TYPE_Q8_0 || wtype == MG_TYPE_Q4_0 || wtype == MG_TYPE_IQ4_NL || wtype == MG_TYPE_Q4_1;
    const size_t rb = mg__row_bytes(wtype, NIN), xs = mg__act_row_bytes(wtype, NIN);
    const int bb = (int)mg__row_bytes(wtype, b32 ? 32 : 256);
    const int at = wtype == MG_TYPE_Q6_K || wtype == MG_TYPE_Q3_K ? bb - 2 : wtype == MG_TYPE_Q2_K ? bb - 4 : 0;   /* f16 d */
    const int mn = wtype == MG_TYPE_Q4_K || wtype == MG_TYPE_Q5_K || wtype == MG_TYPE_Q4_1 ? 2 : wtype == MG_TYPE_Q2_K ? bb - 2 : -1;
    float *xf = frands((size_t)nt * NIN);
    uint8_t *w = (uint8_t *)malloc(rb * NR), *x = (uint8_t *)malloc(xs * (size_t)nt);
    float y[NR * NT];
    size_t i;
    int r, t, bad = 0;
    if (!w || !x) return 1;
    for (i = 0; i < rb * NR; i++) w[i] = (uint8_t)(frand() * 128.0f);   /* random quants and scales ... */
    for (i = 0; i < rb * NR; i += (size_t)bb) {                         /* ... block scales about 0.01 */
        const uint16_t d = mg__f2h(0.01f + 0.005f * frand());
        memcpy(w + i + at, &d, 2);
        if (mn >= 0) memcpy(w + i + (size_t)mn, &d, 2);
    }
    for (t = 0; t < nt; t++) mg__quant_act(wtype, xf + (size_t)t * NIN, x + (size_t)t * xs, NIN);
    insn_begin();
    if (!ggml) mg__mat_block(wtype, w, rb, NR, x, xs, nt, NIN, y, NR);
#ifdef WITH_GGML
    else {
        ggml_dot *f = ggml_dots[ti];
#ifdef __ARM_FEATURE_MATMUL_INT8
        if (nt > 1 && (ti < 3 || wtype == MG_TYPE_Q4_0 || wtype == MG_TYPE_Q4_1)) {   /* ggml's nrc 2 kernels */   /* s[0], s[1] = rows r, r + 1 with token t; s[bs], s[bs + 1] = with token t + 1 */
            for (r = 0; r < NR; r += 2)
                for (t = 0; t < nt; t += 2) {
                    float s[4];
                    f(NIN, s, 2, w + (size_t)r * rb, rb, x + (size_t)t * xs, xs, 2);
                    y[t * NR + r] = s[0]; y[t * NR + r + 1] = s[1]; y[(t + 1) * NR + r] = s[2]; y[(t + 1) * NR + r + 1] = s[3];
                }
        } else
#endif
        for (r = 0; r < NR; r++)
            for (t = 0; t < nt; t++) f(NIN, &y[t * NR + r], 0, w + (size_t)r * rb, 0, x + (size_t)t * xs, 0, 1);
    }
#else
    else return 1;
#endif
    insn_end();
    for (r = 0; r < NR && check; r++)
        for (t = 0; t < nt; t++) {
            float want = mg__vec_dot_scalar(wtype, w + (size_t)r * rb, x + (size_t)t * xs, NIN), got = y[t * NR + r];
            bad += ggml ? !(fabsf(got - want) <= 1e-4f * (1.0f + fabsf(want))) : memcmp(&got, &want, sizeof got) != 0;
        }
    free(xf); free(w); free(x);
    return report(name, (double)NR * nt * NIN, bad);
}
/* F16 weights: NR rows . one activation through mg__vec_dot */
static int f16_case(void) {
    float *wf = frands((size_t)NR * NIN), *xf = frands(NIN);
    uint16_t *w = (uint16_t *)malloc(sizeof(uint16_t) * NR * NIN), x[NIN];
    int r, i, bad = 0;
    if (!w) return 1;
    for (i = 0; i < NR * NIN; i++) w[i] = mg__f2h(wf[i]);
    for (i = 0; i < NIN; i++) x[i] = mg__f2h(xf[i]);
    float got[NR];
    insn_begin();
    for (r = 0; r < NR; r++) got[r] = mg__vec_dot(MG_TYPE_F16, w + (size_t)r * NIN, x, NIN);
    insn_end();
    for (r = 0; r < NR; r++) {
        const float want = check ? mg__dot_f16_scalar(w + (size_t)r * NIN, x, NIN) : got[r];
        bad += !(fabsf(got[r] - want) <= 1e-3f * (1.0f + fabsf(want)));
    }
    free(wf); free(xf); free(w);
    return report("f16", (double)NR * NIN, bad);
}
/* one vision tile, 12 rows x 32 columns over k = NIN (floats) or NIN / 2 pairs */
static int tile_case(int bf16) {
    float *a = frands((size_t)MG__TC * NIN), *b = frands((size_t)MG__TR * NIN), c[MG__TR * MG__TC], ref[MG__TR * MG__TC];
    int i, bad = 0;
    if (bf16) {
        uint32_t *ap = (uint32_t *)malloc(sizeof(uint32_t) * MG__TC * NIN / 2), *bp = (uint32_t *)malloc(sizeof(uint32_t) * MG__TR * NIN / 2);
        if (!ap || !bp) return 1;
        for (i = 0; i < MG__TC * NIN / 2; i++) ap[i] = mg__f2bf(a[2 * i]) | (uint32_t)mg__f2bf(a[2 * i + 1]) << 16;
        for (i = 0; i < MG__TR * NIN / 2; i++) bp[i] = mg__f2bf(b[2 * i]) | (uint32_t)mg__f2bf(b[2 * i + 1]) << 16;
        insn_begin();
        mg__tile_bf16(ap, bp, NIN / 2, c, MG__TC, MG__TR, MG__TC, NULL, MG__INIT);
        insn_end();
        if (check) mg__tile_bf16_scalar(ap, bp, NIN / 2, ref, MG__TC, MG__TR, MG__TC, NULL, MG__INIT);
        else memcpy(ref, c, sizeof ref);
        free(ap); free(bp);
    } else {
        insn_begin();
        mg__tile_f32(a, b, NIN, NIN, c, MG__TC, MG__TR, MG__TC, NULL, MG__INIT);
        insn_end();
        if (check) mg__tile_f32_scalar(a, b, NIN, NIN, ref, MG__TC, MG__TR, MG__TC, NULL, MG__INIT);
        else memcpy(ref, c, sizeof ref);
    }
    for (i = 0; i < MG__TR * MG__TC; i++) bad += !(fabsf(c[i] - ref[i]) <= 1e-2f * (1.0f + fabsf(ref[i])));
    free(a); free(b);
    return report(bf16 ? "tile_bf16" : "tile_f32", (double)MG__TR * MG__TC * NIN, bad);
}
/* one decoder attention block: 8 rows (4 tokens x 2 heads) x 64 keys, head width 256: scores and P V */
static int attn_case(void) {
    enum { HD = 256, RP = 8 };
    float *q = frands((size_t)RP * HD), *k = frands((size_t)MG__KQ_KB * HD), *v = frands((size_t)MG__KQ_KB * HD);
    float sc[2][RP * MG__KQ_KB], m[2][RP], l[2][RP], al[2][RP], o[2][RP * HD];
    int lo[RP], hi[RP], i, j, bad = 0;
    for (i = 0; i < RP; i++) { lo[i] = 0; hi[i] = 10000; }
    for (j = 0; j < 2; j++) {
        for (i = 0; i < RP; i++) { m[j][i] = -INFINITY; l[j][i] = 0; }
        memset(o[j], 0, sizeof o[j]);
    }
    insn_begin();
    mg__attn_block(q, RP, HD, 0, lo, hi, k, v, sc[0], m[0], l[0], al[0], o[0]);
    insn_end();
    mg__attn_block_scalar(q, RP, HD, 0, lo, hi, k, v, sc[1], m[1], l[1], al[1], o[1]);
    for (i = 0; i < RP * HD && check; i++) bad += !(fabsf(o[0][i] / l[0][i / HD] - o[1][i] / l[1][i / HD]) <= 1e-4f);
    free(q); free(k); free(v);
    return report("attn", 2.0 * RP * MG__KQ_KB * HD, bad);
}

int main(int argc, char **argv) {
    const char *c = argc > 1 ? argv[1] : "";
    int g = strncmp(c, "ggml.", 5) == 0, i;
    char name[32];
    if (g) c += 5;
    check = !(argc > 2 && !strcmp(argv[2], "nocheck"));
#ifndef WITH_GGML
    if (g) { fprintf(stderr, "insn_arm: built without ggml (WITH_GGML)\n"); return 2; }
#endif
    printf("build %s\n", mg_build_info());
    for (i = 0; i < (int)(sizeof types / sizeof types[0]); i++) {
        snprintf(name, sizeof name, "%s.64", names[i]);
        if (!strcmp(c, names[i])) return quant_case(argv[1], i, 1, g);
        if (!strcmp(c, name)) return quant_case(argv[1], i, NT, g);
    }
    if (!g && !strcmp(c, "f16")) return f16_case();
    if (!g && !strcmp(c, "tile_f32")) return tile_case(0);
    if (!g && !strcmp(c, "tile_bf16")) return tile_case(1);
    if (!g && !strcmp(c, "attn")) return attn_case();
    fprintf(stderr, "usage: insn_arm [ggml.](q4_k|q6_k|q8_0|q5_k|q3_k|q2_k|iq4_xs|q4_0|iq4_nl|q4_1)[.64] | f16 | tile_f32 | tile_bf16 | attn\n");
    return 2;
}
