/* gen_seeds.c — writes small seed inputs for the fuzz targets that need generated files (the test data's
   models are megabytes; a fuzzer wants kilobytes). Usage: gen_seeds DIR  -> DIR/gguf/NAME.gguf, DIR/png/NAME.png
   GGUF seeds: a 2-layer gemma3 model with a 272-token vocabulary in F32 and in Q8_0, the same vocabulary
   alone, a clip vision file (28 px images, 14 px patches, width 8, one block), and a tensor table of every
   supported type (for the dequantizer). All values come from a fixed LCG. */
#include "medgemma.h"
#include "tools/gguf_write.h"
#include "mgx_image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct seedgen {
    mg_gguf_writer *w;
    void *keep[128];        /* tensor buffers kept until the write */
    int n_keep;
    uint32_t rng;
} seedgen;

static float lcg(seedgen *s) {   /* uniform in [-0.5, 0.5) */
    s->rng = s->rng * 1664525u + 1013904223u;
    return (float)(s->rng >> 8) / 16777216.0f - 0.5f;
}

/* Adds a tensor of shape ne (ggml order) with values scale * U(-0.5, 0.5) (+ 1 when one is set), stored as type. */
static void tensor(seedgen *s, const char *name, int type, int n_dims, int64_t n0, int64_t n1, int64_t n2, int64_t n3,
                   float scale, int one) {
    int64_t ne[4] = { n0, n1, n2, n3 }, n = n0 * n1 * n2 * n3, rows = n / n0, i;
    float *f = (float *)malloc(sizeof(float) * (size_t)n);
    size_t bytes = mg_type_row_size(type, n0) * (size_t)rows;
    void *q = malloc(bytes);
    for (i = 0; i < n; i++) f[i] = scale * lcg(s) + (one ? 1.0f : 0.0f);
    if (mg_quantize(type, f, q, rows, n0) != MG_OK ||
        mg_gguf_writer_add_tensor(s->w, name, type, n_dims, ne, q, bytes) != MG_OK) {
        fprintf(stderr, "gen_seeds: tensor %s\n", name);
        exit(1);
    }
    free(f);
    s->keep[s->n_keep++] = q;
}

static void write_out(seedgen *s, const char *dir, const char *name) {
    char path[1024];
    int i;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mg_gguf_writer_write_file(s->w, path) != MG_OK) { fprintf(stderr, "gen_seeds: cannot write %s\n", path); exit(1); }
    for (i = 0; i < s->n_keep; i++) free(s->keep[i]);
    mg_gguf_writer_free(s->w);
    memset(s, 0, sizeof *s);
}

/* Metadata of the gemma3 seed models: 2 blocks (the second global), n_embd wide, 2 heads of hd, 1 KV head. */
static void text_meta(seedgen *s, int n_embd, int n_ff, int hd) {
    static const char *named[] = { "<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>",
        "<start_of_image>", "<end_of_image>", "<image_soft_token>", "<unused94>", "<unused95>", "\n", "\xe2\x96\x81",
        "\xe2\x96\x81the", "he", "th" };
    const char *tok[272];
    char bytes[256][8];
    float score[272];
    int32_t type[272];
    int i;
    mg_gguf_writer_set_string(s->w, "general.architecture", "gemma3");
    mg_gguf_writer_set_string(s->w, "general.name", "fuzz seed");
    mg_gguf_writer_set_u32(s->w, "gemma3.block_count", 2);
    mg_gguf_writer_set_u32(s->w, "gemma3.context_length", 64);
    mg_gguf_writer_set_u32(s->w, "gemma3.embedding_length", (uint32_t)n_embd);
    mg_gguf_writer_set_u32(s->w, "gemma3.feed_forward_length", (uint32_t)n_ff);
    mg_gguf_writer_set_u32(s->w, "gemma3.attention.head_count", 2);
    mg_gguf_writer_set_u32(s->w, "gemma3.attention.head_count_kv", 1);
    mg_gguf_writer_set_u32(s->w, "gemma3.attention.key_length", (uint32_t)hd);
    mg_gguf_writer_set_u32(s->w, "gemma3.attention.value_length", (uint32_t)hd);
    mg_gguf_writer_set_f32(s->w, "gemma3.attention.layer_norm_rms_epsilon", 1e-6f);
    mg_gguf_writer_set_u32(s->w, "gemma3.attention.sliding_window", 4);
    mg_gguf_writer_set_f32(s->w, "gemma3.rope.freq_base", 1e6f);
    mg_gguf_writer_set_string(s->w, "gemma3.rope.scaling.type", "linear");
    mg_gguf_writer_set_f32(s->w, "gemma3.rope.scaling.factor", 8.0f);
    mg_gguf_writer_set_u32(s->w, "gemma3.attention.sliding_window_pattern", 2);
    for (i = 0; i < 16; i++) { tok[i] = named[i]; type[i] = named[i][0] == '<' ? 3 : 1; score[i] = -(float)i; }
    for (i = 0; i < 256; i++) {
        snprintf(bytes[i], sizeof bytes[i], "<0x%02X>", i);
        tok[16 + i] = bytes[i]; type[16 + i] = 6; score[16 + i] = 0;
    }
    mg_gguf_writer_set_string(s->w, "tokenizer.ggml.model", "llama");
    mg_gguf_writer_set_array(s->w, "tokenizer.ggml.tokens", MG_GGUF_STRING, tok, 272);
    mg_gguf_writer_set_array(s->w, "tokenizer.ggml.scores", MG_GGUF_F32, score, 272);
    mg_gguf_writer_set_array(s->w, "tokenizer.ggml.token_type", MG_GGUF_I32, type, 272);
    mg_gguf_writer_set_u32(s->w, "tokenizer.ggml.bos_token_id", 2);
    mg_gguf_writer_set_u32(s->w, "tokenizer.ggml.eos_token_id", 1);
    mg_gguf_writer_set_u32(s->w, "tokenizer.ggml.unknown_token_id", 3);
    mg_gguf_writer_set_u32(s->w, "tokenizer.ggml.padding_token_id", 0);
    mg_gguf_writer_set_bool(s->w, "tokenizer.ggml.add_bos_token", 1);
}

/* The decoder's tensors; matrices of type mt, norms F32. */
static void text_tensors(seedgen *s, int mt, int e, int ff, int hd) {
    int il;
    char nm[64];
    tensor(s, "token_embd.weight", mt, 2, e, 272, 1, 1, 0.5f, 0);
    tensor(s, "output_norm.weight", MG_TYPE_F32, 1, e, 1, 1, 1, 0.1f, 1);
    for (il = 0; il < 2; il++) {
#define T(x) (snprintf(nm, sizeof nm, "blk.%d." x ".weight", il), nm)
        tensor(s, T("attn_norm"), MG_TYPE_F32, 1, e, 1, 1, 1, 0.1f, 1);
        tensor(s, T("attn_q"), mt, 2, e, 2 * hd, 1, 1, 0.5f, 0);
        tensor(s, T("attn_k"), mt, 2, e, hd, 1, 1, 0.5f, 0);
        tensor(s, T("attn_v"), mt, 2, e, hd, 1, 1, 0.5f, 0);
        tensor(s, T("attn_q_norm"), MG_TYPE_F32, 1, hd, 1, 1, 1, 0.1f, 1);
        tensor(s, T("attn_k_norm"), MG_TYPE_F32, 1, hd, 1, 1, 1, 0.1f, 1);
        tensor(s, T("attn_output"), mt, 2, 2 * hd, e, 1, 1, 0.5f, 0);
        tensor(s, T("post_attention_norm"), MG_TYPE_F32, 1, e, 1, 1, 1, 0.1f, 1);
        tensor(s, T("ffn_norm"), MG_TYPE_F32, 1, e, 1, 1, 1, 0.1f, 1);
        tensor(s, T("ffn_gate"), mt, 2, e, ff, 1, 1, 0.5f, 0);
        tensor(s, T("ffn_up"), mt, 2, e, ff, 1, 1, 0.5f, 0);
        tensor(s, T("ffn_down"), mt, 2, ff, e, 1, 1, 0.5f, 0);
        tensor(s, T("post_ffw_norm"), MG_TYPE_F32, 1, e, 1, 1, 1, 0.1f, 1);
#undef T
    }
}

static void clip_file(seedgen *s) {
    static const float half[3] = { 0.5f, 0.5f, 0.5f };
    const int d = 8, ff = 16, n_out = 16;
    char nm[64];
    mg_gguf_writer_set_string(s->w, "general.architecture", "clip");
    mg_gguf_writer_set_string(s->w, "clip.projector_type", "gemma3");
    mg_gguf_writer_set_u32(s->w, "clip.vision.image_size", 28);
    mg_gguf_writer_set_u32(s->w, "clip.vision.patch_size", 14);
    mg_gguf_writer_set_u32(s->w, "clip.vision.embedding_length", (uint32_t)d);
    mg_gguf_writer_set_u32(s->w, "clip.vision.feed_forward_length", (uint32_t)ff);
    mg_gguf_writer_set_u32(s->w, "clip.vision.block_count", 1);
    mg_gguf_writer_set_u32(s->w, "clip.vision.attention.head_count", 2);
    mg_gguf_writer_set_f32(s->w, "clip.vision.attention.layer_norm_epsilon", 1e-6f);
    mg_gguf_writer_set_u32(s->w, "clip.vision.projector.scale_factor", 2);
    mg_gguf_writer_set_array(s->w, "clip.vision.image_mean", MG_GGUF_F32, half, 3);
    mg_gguf_writer_set_array(s->w, "clip.vision.image_std", MG_GGUF_F32, half, 3);
    tensor(s, "v.patch_embd.weight", MG_TYPE_F16, 4, 14, 14, 3, d, 0.1f, 0);
    tensor(s, "v.patch_embd.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, "v.position_embd.weight", MG_TYPE_F32, 2, d, 4, 1, 1, 0.1f, 0);
    tensor(s, "v.post_ln.weight", MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 1);
    tensor(s, "v.post_ln.bias", MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, "mm.soft_emb_norm.weight", MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, "mm.input_projection.weight", MG_TYPE_F32, 2, n_out, d, 1, 1, 0.5f, 0);
#define T(x) (snprintf(nm, sizeof nm, "v.blk.0." x), nm)
    tensor(s, T("ln1.weight"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 1);
    tensor(s, T("ln1.bias"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, T("ln2.weight"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 1);
    tensor(s, T("ln2.bias"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, T("attn_q.weight"), MG_TYPE_F16, 2, d, d, 1, 1, 0.5f, 0);
    tensor(s, T("attn_k.weight"), MG_TYPE_F16, 2, d, d, 1, 1, 0.5f, 0);
    tensor(s, T("attn_v.weight"), MG_TYPE_F16, 2, d, d, 1, 1, 0.5f, 0);
    tensor(s, T("attn_out.weight"), MG_TYPE_F16, 2, d, d, 1, 1, 0.5f, 0);
    tensor(s, T("attn_q.bias"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, T("attn_k.bias"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, T("attn_v.bias"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, T("attn_out.bias"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
    tensor(s, T("ffn_up.weight"), MG_TYPE_F16, 2, d, ff, 1, 1, 0.5f, 0);
    tensor(s, T("ffn_up.bias"), MG_TYPE_F32, 1, ff, 1, 1, 1, 0.1f, 0);
    tensor(s, T("ffn_down.weight"), MG_TYPE_F16, 2, ff, d, 1, 1, 0.5f, 0);
    tensor(s, T("ffn_down.bias"), MG_TYPE_F32, 1, d, 1, 1, 1, 0.1f, 0);
#undef T
}

static void start(seedgen *s, uint32_t seed) {
    memset(s, 0, sizeof *s);
    s->rng = seed;
    if (mg_gguf_writer_new(&s->w, 0) != MG_OK) exit(1);
}

int main(int argc, char **argv) {
    seedgen s;
    char dir[1024];
    unsigned char px[5 * 3 * 3], *png;
    size_t png_n, i;
    mgx_image img;
    if (argc != 2) { fprintf(stderr, "usage: gen_seeds DIR\n"); return 2; }
    snprintf(dir, sizeof dir, "%s/gguf", argv[1]); mkdir(argv[1], 0755); mkdir(dir, 0755);
    start(&s, 1); text_meta(&s, 16, 32, 8); text_tensors(&s, MG_TYPE_F32, 16, 32, 8); write_out(&s, dir, "text_f32.gguf");
    start(&s, 2); text_meta(&s, 32, 32, 16); text_tensors(&s, MG_TYPE_Q8_0, 32, 32, 16); write_out(&s, dir, "text_q8_0.gguf");
    start(&s, 3); text_meta(&s, 16, 32, 8); write_out(&s, dir, "vocab_only.gguf");
    start(&s, 4); clip_file(&s); write_out(&s, dir, "clip.gguf");
    start(&s, 5);
    mg_gguf_writer_set_string(s.w, "general.architecture", "types");
    tensor(&s, "f32", MG_TYPE_F32, 2, 8, 2, 1, 1, 1.0f, 0);
    tensor(&s, "f16", MG_TYPE_F16, 2, 8, 2, 1, 1, 1.0f, 0);
    tensor(&s, "bf16", MG_TYPE_BF16, 2, 8, 2, 1, 1, 1.0f, 0);
    tensor(&s, "q8_0", MG_TYPE_Q8_0, 2, 32, 2, 1, 1, 1.0f, 0);
    tensor(&s, "q4_k", MG_TYPE_Q4_K, 1, 256, 1, 1, 1, 1.0f, 0);
    tensor(&s, "q6_k", MG_TYPE_Q6_K, 1, 256, 1, 1, 1, 1.0f, 0);
    write_out(&s, dir, "types.gguf");
    /* PNG seeds: the writer's 8-bit grey and RGB */
    snprintf(dir, sizeof dir, "%s/png", argv[1]); mkdir(dir, 0755);
    for (i = 0; i < sizeof px; i++) px[i] = (unsigned char)(i * 37);
    img.w = 5; img.h = 3; img.px = px;
    for (img.channels = 1; img.channels <= 3; img.channels += 2) {
        char path[1100];
        FILE *f;
        if (mgx_png_encode(&img, &png, &png_n, NULL, 0) != 0) return 1;
        snprintf(path, sizeof path, "%s/gen_%d.png", dir, img.channels);
        if (!(f = fopen(path, "wb")) || fwrite(png, 1, png_n, f) != png_n) return 1;
        fclose(f);
        free(png);
    }
    return 0;
}
