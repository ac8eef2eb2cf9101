/* mg — command-line tools on top of medgemma.h.
     mg inspect FILE.gguf
     mg tokenize -m FILE.gguf [--no-bos] [--no-parse-special] (-p TEXT | -f FILE)
     mg logits -m MODEL.gguf (-p TEXT | -f FILE) [-o OUT.bin] [--greedy N] [-t THREADS]
     mg generate -m MODEL.gguf -p TEXT [--chat] [--system TEXT] [-n N] [--temp T] [--top-k K] [--top-p P]
                 [--seed S] [-t THREADS]
     mg trace -m MODEL.gguf -p TEXT -o DIR
     mg embed-image --mmproj FILE --image IMG [--image-mode medgemma|llamacpp] -o OUT.bin
     mg synth -o DIR --vocab VOCAB.gguf [--type q4_k_m|q5_k_m|q3_k_m|q4_0|iq4_xs|q8_0|f16|...] [--seed S]
     mg bench -m MODEL.gguf [--mmproj FILE] [-p 512] [-n 128] [-t THREADS] [--images K] [-r REPS]
              [--ctx N [--kv f16|q8_0|f32] [--ctx-prefill]]
   logits also takes --mmproj FILE --image IMG (repeatable) --image-mode M: each literal <__image__> in the
   prompt becomes <start_of_image> + the image + <end_of_image> (llama.cpp's layout, no newlines added). */
#include "medgemma.h"
#include "gguf_write.h"
#include "mgx_image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

typedef struct args {
    const char *model, *prompt, *file, *out, *system, *mmproj;
    const char *images[64];
    int n_images, image_mode;
    int no_bos, no_special, greedy, threads, n_predict, chat, top_k, kv, batch;
    float temp, top_p, min_p, repeat;
    unsigned long long seed;
} args;

static int usage(void) {
    fprintf(stderr,
        "usage: mg inspect FILE.gguf\n"
        "       mg tokenize -m FILE.gguf [--no-bos] [--no-parse-special] (-p TEXT | -f FILE)\n"
        "       mg logits -m MODEL.gguf (-p TEXT | -f FILE) [-o OUT.bin] [--greedy N] [-t THREADS]\n"
        "       mg generate -m MODEL.gguf -p TEXT [--chat] [--system TEXT] [-n N] [--temp T] [--top-k K]\n"
        "                   [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S] [-t THREADS]\n"
        "       mg trace -m MODEL.gguf -p TEXT -o DIR\n"
        "       mg embed-image --mmproj FILE --image IMG [--image-mode medgemma|llamacpp] -o OUT.bin\n"
        "       mg synth -o DIR --vocab VOCAB.gguf [--type q4_k_m|q5_k_m|q3_k_m|q4_0|iq4_xs|q8_0|f16|...] [--seed S]\n"
        "       mg bench -m MODEL.gguf [--mmproj FILE] [-p 512] [-n 128] [-t THREADS] [--images K] [-r REPS] [--no-mmap] [--vision-bf16]\n"
        "                [--ctx N [--kv f16|q8_0|f32] [--ctx-prefill]]   (memory for N positions; with prefill, timed)\n"
        "       (logits also takes --mmproj FILE --image IMG ... --image-mode M; <__image__> marks each image)\n");
    return 2;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, k;
    if (!f) return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *p = (char *)realloc(buf, cap = (cap ? cap * 2 : 8192));
            if (!p) { free(buf); fclose(f); return NULL; }
            buf = p;
        }
        k = fread(buf + n, 1, 4096, f);
        n += k;
        if (k < 4096) break;
    }
    fclose(f);
    buf[n] = 0;
    return buf;
}

static int parse_args(int argc, char **argv, args *a) {
    int i;
    memset(a, 0, sizeof *a);
    for (i = 0; i < argc; i++) {
        const char *s = argv[i];
#define NEXT (i + 1 < argc ? argv[++i] : (fprintf(stderr, "mg: %s needs a value\n", s), (char *)NULL))
        if (!strcmp(s, "-m")) { if (!(a->model = NEXT)) return 0; }
        else if (!strcmp(s, "-p")) { if (!(a->prompt = NEXT)) return 0; }
        else if (!strcmp(s, "-f")) { if (!(a->file = NEXT)) return 0; }
        else if (!strcmp(s, "-o")) { if (!(a->out = NEXT)) return 0; }
        else if (!strcmp(s, "--system")) { if (!(a->system = NEXT)) return 0; }
        else if (!strcmp(s, "--no-bos")) a->no_bos = 1;
        else if (!strcmp(s, "--no-parse-special")) a->no_special = 1;
        else if (!strcmp(s, "--chat")) a->chat = 1;
        else if (!strcmp(s, "--mmproj")) { if (!(a->mmproj = NEXT)) return 0; }
        else if (!strcmp(s, "--image")) {
            if (a->n_images == 64) { fprintf(stderr, "mg: at most 64 images\n"); return 0; }
            if (!(a->images[a->n_images++] = NEXT)) return 0;
        } else if (!strcmp(s, "--image-mode")) {
            const char *v = NEXT;
            if (!v) return 0;
            if (!strcmp(v, "llamacpp")) a->image_mode = MG_IMAGE_LLAMACPP;
            else if (!strcmp(v, "medgemma")) a->image_mode = MG_IMAGE_MEDGEMMA;
            else { fprintf(stderr, "mg: --image-mode medgemma|llamacpp\n"); return 0; }
        }
        else {
            const char *v;
            if (!(v = NEXT)) return 0;
            if (!strcmp(s, "--greedy")) a->greedy = atoi(v);
            else if (!strcmp(s, "-t")) a->threads = atoi(v);
            else if (!strcmp(s, "-b")) a->batch = atoi(v);
            else if (!strcmp(s, "-n")) a->n_predict = atoi(v);
            else if (!strcmp(s, "--temp")) a->temp = (float)atof(v);
            else if (!strcmp(s, "--top-k")) a->top_k = atoi(v);
            else if (!strcmp(s, "--top-p")) a->top_p = (float)atof(v);
            else if (!strcmp(s, "--min-p")) a->min_p = (float)atof(v);
            else if (!strcmp(s, "--repeat-penalty")) a->repeat = (float)atof(v);
            else if (!strcmp(s, "--seed")) a->seed = strtoull(v, NULL, 10);
            else if (!strcmp(s, "--kv")) a->kv = !strcmp(v, "f32") ? MG_KV_F32 : !strcmp(v, "q8_0") ? MG_KV_Q8_0 : MG_KV_F16;
            else { fprintf(stderr, "mg: unknown option %s\n", s); return 0; }
        }
#undef NEXT
    }
    return 1;
}

static mg_model *load_with(const char *path, int vocab_only, const char *mmproj) {
    mg_model *m = NULL;
    mg_error e;
    mg_model_options o;
    memset(&o, 0, sizeof o);
    o.vocab_only = vocab_only;
    o.mmproj_path = mmproj;
    if (!path) { fprintf(stderr, "mg: -m MODEL.gguf is required\n"); return NULL; }
    if (mg_model_load_file(&m, path, &o, &e) != MG_OK) { fprintf(stderr, "mg: %s: %s\n", path, e.message); return NULL; }
    return m;
}
static mg_model *load(const char *path, int vocab_only) { return load_with(path, vocab_only, NULL); }

/* Decodes an image file and encodes it with the session's model. */
static int encode_file(mg_session *s, const char *path, int mode, mg_image_embd *out) {
    mgx_image img;
    mg_image mi;
    char err[256];
    mg_result r;
    if (mgx_image_load_file(path, &img, err, sizeof err) != 0) { fprintf(stderr, "mg: %s: %s\n", path, err); return 0; }
    mi.w = img.w; mi.h = img.h; mi.channels = img.channels; mi.pixels = img.px;
    r = mg_encode_image(s, &mi, mode, out);
    mgx_image_free(&img);
    if (r != MG_OK) { fprintf(stderr, "mg: %s: %s\n", path, mg_session_error(s)); return 0; }
    return 1;
}

/* The prompt text from -p or -f (caller frees). */
static char *prompt_text(const args *a) {
    char *t;
    if (a->prompt) { t = (char *)malloc(strlen(a->prompt) + 1); if (t) strcpy(t, a->prompt); return t; }
    if (a->file) { if (!(t = read_text(a->file))) fprintf(stderr, "mg: cannot read %s\n", a->file); return t; }
    fprintf(stderr, "mg: -p TEXT or -f FILE is required\n");
    return NULL;
}

static int32_t *tokenize_all(const mg_model *m, const char *text, unsigned flags, int *n) {
    int32_t *ids;
    mg_tokenize(m, text, strlen(text), flags, NULL, 0, n, NULL);
    ids = (int32_t *)malloc(sizeof(int32_t) * (size_t)(*n + 1));
    if (ids && mg_tokenize(m, text, strlen(text), flags, ids, *n, n, NULL) != MG_OK) { free(ids); ids = NULL; }
    return ids;
}

static int cmd_inspect(int argc, char **argv) {
    mg_model *m;
    mg_error e;
    const mg_gguf *g;
    mg_model_options o;
    int64_t i;
    char buf[1024];
    if (argc < 1) return usage();
    memset(&o, 0, sizeof o);
    o.vocab_only = 1;
    if (mg_model_load_file(&m, argv[0], &o, &e) == MG_OK) g = mg_model_gguf(m);
    else {  /* not a runnable model (a vision file, another architecture): show the raw file */
        static mg_gguf *raw;
        FILE *f = fopen(argv[0], "rb");
        long sz;
        void *data;
        m = NULL;
        if (!f || fseek(f, 0, SEEK_END) || (sz = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
            fprintf(stderr, "mg: %s: %s\n", argv[0], e.message); if (f) fclose(f); return 1;
        }
        data = malloc((size_t)sz);
        if (!data || fread(data, 1, (size_t)sz, f) != (size_t)sz || mg_gguf_open_mem(&raw, data, (size_t)sz, &e) != MG_OK) {
            fprintf(stderr, "mg: %s: %s\n", argv[0], e.message); fclose(f); free(data); return 1;
        }
        fclose(f);
        g = raw;
    }
    printf("GGUF version %d, %lld metadata keys, %lld tensors, data at offset %llu\n", mg_gguf_version(g),
           (long long)mg_gguf_kv_count(g), (long long)mg_gguf_tensor_count(g), (unsigned long long)mg_gguf_data_offset(g));
    for (i = 0; i < mg_gguf_kv_count(g); i++) {
        mg_gguf_kv_format(g, i, buf, sizeof buf, 8);
        printf("  %-48s %s\n", mg_gguf_kv_key(g, i), buf);
    }
    for (i = 0; i < mg_gguf_tensor_count(g); i++) {
        mg_tensor_info t;
        int d;
        char shape[128] = "";
        mg_gguf_tensor(g, i, &t);
        for (d = 0; d < t.n_dims; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? ", " : "", (long long)t.ne[d]);
        printf("  %5lld %-40s %-6s [%s] offset %llu\n", (long long)i, t.name, mg_type_name(t.type), shape,
               (unsigned long long)t.offset);
    }
    if (m) mg_model_free(m);
    return 0;
}

static int cmd_tokenize(int argc, char **argv) {
    args a;
    mg_model *m;
    char *text;
    int32_t *ids;
    int n, i;
    if (!parse_args(argc, argv, &a)) return usage();
    if (!(m = load(a.model, 1))) return 1;
    if (!(text = prompt_text(&a))) { mg_model_free(m); return 1; }
    ids = tokenize_all(m, text, (a.no_bos ? 0u : MG_TOKENIZE_BOS) | (a.no_special ? 0u : MG_TOKENIZE_SPECIAL), &n);
    if (!ids) { fprintf(stderr, "mg: tokenize failed\n"); free(text); mg_model_free(m); return 1; }
    for (i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    free(ids); free(text); mg_model_free(m);
    return 0;
}

static int32_t argmax(const float *x, int n) {
    int32_t b = 0, i;
    for (i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

static mg_session *new_session(const mg_model *m, const args *a, mg_tap_fn tap, void *user) {
    mg_session *s = NULL;
    mg_session_options so;
    mg_result r;
    memset(&so, 0, sizeof so);
    so.n_threads = a->threads;
    so.n_batch = a->batch;
    so.kv_type = a->kv ? a->kv : MG_KV_F32;
    so.n_ctx = 8192;
    so.seed = a->seed;
    so.tap = tap; so.tap_user = user;
    if ((r = mg_session_new(&s, m, &so, NULL)) != MG_OK) fprintf(stderr, "mg: session: %s\n", mg_result_str(r));
    return s;
}

/* Feeds text with each "<__image__>" replaced by <start_of_image> + the image's embeddings + <end_of_image>. */
static int eval_with_images(mg_session *s, const mg_model *m, char *text, const args *a) {
    const char *marker = "<__image__>";
    int32_t so = mg_token_lookup(m, "<start_of_image>"), eo = mg_token_lookup(m, "<end_of_image>");
    char *at = text, *next;
    int k = 0, first = 1, n;
    while (1) {
        int32_t *ids;
        unsigned flags = MG_TOKENIZE_SPECIAL | (first ? MG_TOKENIZE_BOS : 0u);
        mg_image_embd e;
        next = strstr(at, marker);
        if (next) *next = 0;
        ids = tokenize_all(m, at, flags, &n);
        first = 0;
        if (!ids || mg_eval(s, ids, n) != MG_OK) { free(ids); fprintf(stderr, "mg: eval: %s\n", mg_session_error(s)); return 0; }
        free(ids);
        if (!next) break;
        if (k >= a->n_images) { fprintf(stderr, "mg: more <__image__> markers than --image files\n"); return 0; }
        if (!encode_file(s, a->images[k++], a->image_mode, &e)) return 0;
        if (mg_eval(s, &so, 1) != MG_OK || mg_eval_embd(s, e.data, e.n_tokens, 1) != MG_OK || mg_eval(s, &eo, 1) != MG_OK) {
            fprintf(stderr, "mg: eval: %s\n", mg_session_error(s)); mg_image_embd_free(&e); return 0;
        }
        mg_image_embd_free(&e);
        at = next + strlen(marker);
    }
    if (k != a->n_images) { fprintf(stderr, "mg: %d --image files but %d <__image__> markers\n", a->n_images, k); return 0; }
    return 1;
}

static int cmd_embed_image(int argc, char **argv) {
    args a;
    mg_model *m;
    mg_session *s;
    mg_image_embd e;
    FILE *f;
    int rc = 1;
    if (!parse_args(argc, argv, &a) || !a.mmproj || a.n_images != 1 || !a.out) return usage();
    if (!(m = load(a.mmproj, 0))) return 1;
    if (!(s = new_session(m, &a, NULL, NULL))) { mg_model_free(m); return 1; }
    if (encode_file(s, a.images[0], a.image_mode, &e)) {
        size_t cnt = (size_t)e.n_tokens * e.n_embd;
        if ((f = fopen(a.out, "wb")) && fwrite(e.data, sizeof(float), cnt, f) == cnt) rc = 0;
        else fprintf(stderr, "mg: cannot write %s\n", a.out);
        if (f) fclose(f);
        mg_image_embd_free(&e);
    }
    mg_session_free(s);
    mg_model_free(m);
    return rc;
}

#include "synth_bench.h"

static int cmd_logits(int argc, char **argv) {
    args a;
    mg_model *m;
    mg_session *s;
    mg_model_info info;
    char *text;
    int32_t *ids;
    int n, i, rc = 1;
    if (!parse_args(argc, argv, &a)) return usage();
    if (!(m = load_with(a.model, 0, a.mmproj))) return 1;
    mg_model_get_info(m, &info);
    if (!(text = prompt_text(&a))) { mg_model_free(m); return 1; }
    if (!(s = new_session(m, &a, NULL, NULL))) { free(text); mg_model_free(m); return 1; }
    ids = NULL;
    if (a.n_images == 0) {
        ids = tokenize_all(m, text, MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, &n);
        if (!ids || mg_eval(s, ids, n) != MG_OK) { fprintf(stderr, "mg: eval: %s\n", mg_session_error(s)); goto done; }
    } else if (!eval_with_images(s, m, text, &a)) goto done;
    if (a.out) {
        FILE *f = fopen(a.out, "wb");
        if (!f || fwrite(mg_logits(s), sizeof(float), (size_t)info.n_vocab, f) != (size_t)info.n_vocab) {
            fprintf(stderr, "mg: cannot write %s\n", a.out);
            if (f) fclose(f);
            goto done;
        }
        fclose(f);
    }
    if (a.greedy > 0) {
        printf("greedy:");
        for (i = 0; i < a.greedy; i++) {
            int32_t id = argmax(mg_logits(s), info.n_vocab);
            printf(" %d", id);
            if (i + 1 < a.greedy && mg_eval(s, &id, 1) != MG_OK) { fprintf(stderr, "\nmg: eval: %s\n", mg_session_error(s)); goto done; }
        }
        printf("\n");
    }
    rc = 0;
done:
    mg_session_free(s); free(ids); free(text); mg_model_free(m);
    return rc;
}

static int print_text(void *user, const char *t, size_t n, int channel) {
    (void)user;
    if (channel == MG_CHANNEL_ANSWER) fwrite(t, 1, n, stdout);
    fflush(stdout);
    return 0;
}

static int cmd_generate(int argc, char **argv) {
    args a;
    mg_model *m;
    mg_session *s;
    mg_prompt p;
    mg_generate_options g;
    mg_result r;
    int rc = 1;
    if (!parse_args(argc, argv, &a)) return usage();
    if (!a.prompt) { fprintf(stderr, "mg: -p TEXT is required\n"); return 2; }
    if (!(m = load(a.model, 0))) return 1;
    memset(&p, 0, sizeof p);
    if (a.chat) {
        mg_chat_item item;
        mg_chat_turn turn;
        item.text = a.prompt; item.image = NULL;
        turn.role = "user"; turn.items = &item; turn.n_items = 1;
        if ((r = mg_chat_build(m, a.system, &turn, 1, 1, &p, NULL)) != MG_OK) { fprintf(stderr, "mg: %s\n", mg_result_str(r)); mg_model_free(m); return 1; }
    } else if (!(p.ids = tokenize_all(m, a.prompt, MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, &p.n_ids))) {
        mg_model_free(m); return 1;
    }
    if (!(s = new_session(m, &a, NULL, NULL))) { mg_prompt_free(&p); mg_model_free(m); return 1; }
    if (mg_eval_prompt(s, &p) != MG_OK) { fprintf(stderr, "mg: eval: %s\n", mg_session_error(s)); goto done; }
    memset(&g, 0, sizeof g);
    g.max_tokens = a.n_predict > 0 ? a.n_predict : 256;
    g.sampler.temperature = a.temp; g.sampler.top_k = a.top_k; g.sampler.top_p = a.top_p;
    g.sampler.min_p = a.min_p; g.sampler.repeat_penalty = a.repeat;
    g.on_text = print_text;
    if (mg_generate(s, &g, NULL) != MG_OK) { fprintf(stderr, "\nmg: generate: %s\n", mg_session_error(s)); goto done; }
    printf("\n");
    rc = 0;
done:
    mg_session_free(s); mg_prompt_free(&p); mg_model_free(m);
    return rc;
}

typedef struct trace_ctx { const char *dir; FILE *index; int n, failed; } trace_ctx;

static void trace_tap(void *user, const char *name, int layer, const float *data, const int64_t ne[4]) {
    trace_ctx *t = (trace_ctx *)user;
    char file[256], path[1024];
    size_t count = (size_t)(ne[0] * ne[1] * ne[2] * ne[3]);
    FILE *f;
    if (layer >= 0) snprintf(file, sizeof file, "%s-%d.bin", name, layer);
    else snprintf(file, sizeof file, "%s.bin", name);
    snprintf(path, sizeof path, "%s/%s", t->dir, file);
    if (!(f = fopen(path, "wb")) || fwrite(data, sizeof(float), count, f) != count) t->failed = 1;
    if (f) fclose(f);
    fprintf(t->index, "%s{\"file\": \"%s\", \"name\": \"%s%s%.0d\", \"layer\": %d, \"ne\": [%lld, %lld, %lld, %lld]}",
            t->n++ ? ",\n " : "[", file, name, layer >= 0 ? "-" : "", layer >= 0 ? layer : 0, layer,
            (long long)ne[0], (long long)ne[1], (long long)ne[2], (long long)ne[3]);
}

static int cmd_trace(int argc, char **argv) {
    args a;
    mg_model *m;
    mg_session *s;
    trace_ctx t;
    char *text, path[1024];
    int32_t *ids;
    int n, rc = 1;
    if (!parse_args(argc, argv, &a) || !a.out) return usage();
    if (!(m = load(a.model, 0))) return 1;
    if (!(text = prompt_text(&a))) { mg_model_free(m); return 1; }
    if (mkdir(a.out, 0755) != 0 && errno != EEXIST) { fprintf(stderr, "mg: cannot create %s\n", a.out); free(text); mg_model_free(m); return 1; }
    snprintf(path, sizeof path, "%s/index.json", a.out);
    memset(&t, 0, sizeof t);
    t.dir = a.out;
    if (!(t.index = fopen(path, "w"))) { fprintf(stderr, "mg: cannot write %s\n", path); free(text); mg_model_free(m); return 1; }
    ids = tokenize_all(m, text, MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, &n);
    if (ids && (s = new_session(m, &a, trace_tap, &t)) != NULL) {
        if (mg_eval(s, ids, n) == MG_OK && !t.failed) rc = 0;
        else fprintf(stderr, "mg: trace failed: %s\n", mg_session_error(s));
        mg_session_free(s);
    }
    fprintf(t.index, "%s]\n", t.n ? "" : "[");
    fclose(t.index);
    if (rc == 0) printf("%d tensors written to %s\n", t.n, a.out);
    free(ids); free(text); mg_model_free(m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    if (!strcmp(argv[1], "inspect")) return cmd_inspect(argc - 2, argv + 2);
    if (!strcmp(argv[1], "tokenize")) return cmd_tokenize(argc - 2, argv + 2);
    if (!strcmp(argv[1], "logits")) return cmd_logits(argc - 2, argv + 2);
    if (!strcmp(argv[1], "generate")) return cmd_generate(argc - 2, argv + 2);
    if (!strcmp(argv[1], "trace")) return cmd_trace(argc - 2, argv + 2);
    if (!strcmp(argv[1], "embed-image")) return cmd_embed_image(argc - 2, argv + 2);
    if (!strcmp(argv[1], "synth")) return cmd_synth(argc - 2, argv + 2);
    if (!strcmp(argv[1], "bench")) return cmd_bench(argc - 2, argv + 2);
    return usage();
}
