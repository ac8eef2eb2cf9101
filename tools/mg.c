/* mg — command-line tools on top of medgemma.h. `mg --help` lists the commands, `mg COMMAND --help` their options.
     mg inspect FILE.gguf
     mg tokenize -m FILE.gguf [--no-bos] [--no-parse-special] (-p TEXT | -f FILE)
     mg logits -m MODEL.gguf (-p TEXT | -f FILE) [-o OUT.bin] [--greedy N] [-t N]
               [--mmproj FILE --image IMG ... --image-mode M]   each literal <__image__> in the prompt becomes
               <start_of_image> + the image + <end_of_image> (llama.cpp's layout, no newlines added)
     mg generate -m MODEL.gguf (-p TEXT | -f FILE) [--chat [--system TEXT] [--think]] [-n N] [sampling] [--json]
     mg trace -m MODEL.gguf (-p TEXT | -f FILE) -o DIR
     mg embed-image --mmproj FILE --image IMG [--image-mode medgemma|llamacpp] -o OUT.bin
     mg synth -o DIR --vocab VOCAB.gguf [--type q4_k_m|q5_k_m|q3_k_m|q4_0|iq4_xs|q8_0|f16|...] [--seed S]        (tools/synth_bench.c)
     mg bench -m MODEL.gguf [--mmproj FILE] [-p 512] [-n 128] [-t N] [--images K] [-r R] [--ctx N ...]
     mg bench --recipe ct|wsi -m MODEL.gguf --mmproj FILE [--slices K | --patches K] [-n 64] [-t N] [-q TEXT]
   Options, numbers and messages come from the tables of examples/common/mgx_args.h, shared with the drivers;
   a -f text is read as the drivers read one (at most 4 MiB, no NUL byte, UTF-8). */
#include "medgemma.h"
#include "mgx_answer.h"
#include "mgx_image.h"
#include "synth_bench.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#if defined(_WIN32)
#include <direct.h>
#define make_dir(path) _mkdir(path)
#else
#define make_dir(path) mkdir(path, 0755)
#endif

#define END { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 }

/* Parses a subcommand's options (argv[0] is its name), then mgx_opts_finish; with need_prompt exactly one
   -p TEXT or -f FILE. Returns -1 to go on, else the exit code. */
static int parse(mgx_opts *o, const char *usage, const char *about, const mgx_argtable *tables, int argc, char **argv,
                 int need_prompt) {
    mgx_argspec spec;
    int rc;
    memset(&spec, 0, sizeof spec);
    spec.prog = o->prog; spec.usage = usage; spec.about = about; spec.pos_name = ""; spec.tables = tables;
    spec.footer = "Exit status: 0 success, 1 runtime failure, 2 usage error.";
    if ((rc = mgx_args(&spec, argc, argv, o->positional, &o->n_positional)) >= 0) return rc;
    if (need_prompt && o->prompts.n != 1) return mgx_usage_error(o->prog, "give one prompt: -p TEXT or -f FILE");
    return mgx_opts_finish(o, NULL) == 0 ? -1 : 1;
}

static mg_model *load_vocab(const mgx_opts *o) {
    mg_model *m = NULL;
    mg_model_options mo;
    mg_error e;
    if (mgx_check_files(o) != 0) return NULL;
    memset(&mo, 0, sizeof mo);
    mo.vocab_only = 1;
    if (mg_model_load_file(&m, o->model, &mo, &e) != MG_OK) { mgx_model_error(o, &e); return NULL; }
    return m;
}

/* Token ids of text (caller frees); NULL after the library's message. */
static int32_t *tokenize_all(const mg_model *m, const char *text, unsigned flags, int *n) {
    size_t len = strlen(text);
    int32_t *ids;
    mg_error e;
    mg_result r = mg_tokenize(m, text, len, flags, NULL, 0, n, &e);
    if (r == MG_OK || r == MG_ERR_BUFFER) {
        if (!(ids = (int32_t *)malloc(sizeof(int32_t) * (size_t)(*n + 1)))) { fprintf(stderr, "error: out of memory\n"); return NULL; }
        if ((r = mg_tokenize(m, text, len, flags, ids, *n, n, &e)) == MG_OK) return ids;
        free(ids);
    }
    fprintf(stderr, "error: tokenizing %lu bytes: %s\n", (unsigned long)len, e.message[0] ? e.message : mg_result_str(r));
    return NULL;
}

/* Decodes an image file and encodes it with the session's model. */
static int encode_file(mg_session *s, const char *path, int mode, mg_image_embd *out) {
    mgx_image img;
    mg_image mi;
    char err[512];
    mg_result r;
    if (mgx_image_load_file(path, &img, err, sizeof err) != 0) { mgx_print_error("--image", path, err); return 0; }
    mi.w = img.w; mi.h = img.h; mi.channels = img.channels; mi.pixels = img.px;
    r = mg_encode_image(s, &mi, mode, out);
    mgx_image_free(&img);
    if (r != MG_OK) { fprintf(stderr, "error: --image %s: %s\n", path, mg_session_error(s)); return 0; }
    return 1;
}

static mg_session *new_session(const mg_model *m, const mgx_opts *o, mg_tap_fn tap, void *user) {
    mg_session *s = NULL;
    mg_session_options so;
    mg_error e;
    mgx_session_options(o, o->ctx, &so);
    so.kv_type = MG_KV_F32;                       /* logits and traces compared with llama.cpp's F32 runs */
    so.tap = tap; so.tap_user = user;
    if (mg_session_new(&s, m, &so, &e) != MG_OK) fprintf(stderr, "error: cannot make a session: %s\n", e.message);
    return s;
}

/* ---------- inspect ---------- */

static int cmd_inspect(int argc, char **argv) {
    static const mgx_arg none[1] = { END };
    const mgx_argtable tables[2] = { { "Options", none }, { NULL, NULL } };
    const mgx_argspec spec = { "mg inspect", "FILE.gguf", "The metadata and tensor table of a GGUF file (a model, a vision\n"
                               "projector, a vocabulary).", 1, 1, "FILE.gguf", tables, NULL };
    const char *pos[1];
    mg_gguf *g = NULL;
    mg_error e;
    unsigned char *data = NULL;
    size_t n;
    int64_t i;
    int rc, n_pos;
    char buf[1024];
    if ((rc = mgx_args(&spec, argc, argv, pos, &n_pos)) >= 0) return rc;
    if (mgx_check_regular(NULL, pos[0], buf, sizeof buf) != 0 || mgx_read_file(pos[0], 0, &data, &n, buf, sizeof buf) != 0) {
        fprintf(stderr, "error: %s\n", buf);
        return 1;
    }
    if (mg_gguf_open_mem(&g, data, n, &e) != MG_OK) { mgx_print_error(NULL, pos[0], e.message); free(data); return 1; }
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
    mg_gguf_close(g);
    free(data);
    return 0;
}

/* ---------- tokenize ---------- */

static int cmd_tokenize(int argc, char **argv) {
    mgx_opts o;
    int no_bos = 0, no_special = 0, n, i, rc;
    mg_model *m;
    int32_t *ids;
    mgx_opts_init(&o, "mg tokenize");
    {
        const mgx_arg own[4] = {
            { "-m, --model", MGX_STR, &o.model, "FILE", "a GGUF with a tokenizer (a vocabulary-only file will do)", 0, 0, MGX_REQUIRED },
            { "--no-bos", MGX_FLAG, &no_bos, NULL, "no <bos> at the start", 0, 0, 0 },
            { "--no-parse-special", MGX_FLAG, &no_special, NULL, "control tokens written in the text stay plain text", 0, 0, 0 },
            END };
        const mgx_argtable tables[3] = { { "Options", own }, { "Text", o.t_prompt }, { NULL, NULL } };
        if ((rc = parse(&o, "-m FILE.gguf [--no-bos] [--no-parse-special] (-p TEXT | -f FILE)",
                        "The token ids of a text, space-separated on one line.", tables, argc, argv, 1)) >= 0) return rc;
    }
    rc = 1;
    if ((m = load_vocab(&o)) != NULL) {
        if ((ids = tokenize_all(m, o.questions[0], (no_bos ? 0u : MG_TOKENIZE_BOS) | (no_special ? 0u : MG_TOKENIZE_SPECIAL), &n)) != NULL) {
            for (i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
            printf("\n");
            free(ids);
            rc = 0;
        }
        mg_model_free(m);
    }
    mgx_opts_free(&o);
    return rc;
}

/* ---------- logits ---------- */

typedef struct images_arg { mgx_list files; int mode; } images_arg;

/* Feeds text with each "<__image__>" replaced by <start_of_image> + the image's embeddings + <end_of_image>. */
static int eval_with_images(mg_session *s, const mg_model *m, char *text, const images_arg *im) {
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
        if (!(ids = tokenize_all(m, at, flags, &n))) return 0;
        first = 0;
        if (mg_eval(s, ids, n) != MG_OK) { free(ids); fprintf(stderr, "error: %s\n", mg_session_error(s)); return 0; }
        free(ids);
        if (!next) break;
        if (k >= im->files.n) { fprintf(stderr, "error: more <__image__> markers than --image files\n"); return 0; }
        if (!encode_file(s, im->files.v[k++], im->mode, &e)) return 0;
        if (mg_eval(s, &so, 1) != MG_OK || mg_eval_embd(s, e.data, e.n_tokens, 1) != MG_OK || mg_eval(s, &eo, 1) != MG_OK) {
            fprintf(stderr, "error: %s\n", mg_session_error(s)); mg_image_embd_free(&e); return 0;
        }
        mg_image_embd_free(&e);
        at = next + strlen(marker);
    }
    if (k != im->files.n) { fprintf(stderr, "error: %d --image files but %d <__image__> markers\n", im->files.n, k); return 0; }
    return 1;
}

static int32_t argmax(const float *x, int n) {
    int32_t b = 0, i;
    for (i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

static int write_floats(const char *path, const float *x, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f && fwrite(x, sizeof(float), n, f) == n && fclose(f) == 0) return 1;
    fprintf(stderr, "error: -o %s: cannot write: %s\n", path, strerror(errno));
    if (f) fclose(f);
    return 0;
}

static int cmd_logits(int argc, char **argv) {
    mgx_opts o;
    images_arg im;
    const char *out = NULL;
    int greedy = 0, n, i, rc;
    mg_model *m;
    mg_session *s = NULL;
    mg_model_info info;
    int32_t *ids = NULL;
    char *text = NULL;
    memset(&im, 0, sizeof im);
    mgx_opts_init(&o, "mg logits");
    {
        const mgx_arg own[5] = {
            { "-o", MGX_STR, &out, "OUT.bin", "the last position's logits as n_vocab float32", 0, 0, 0 },
            { "--greedy", MGX_INT, &greedy, "N", "then N greedy steps: their ids on stdout", 0, 100000, 0 },
            { "--image", MGX_LIST, &im.files, "IMG", "the image of the next <__image__> marker in the prompt", 0, MGX_MAX_LIST, 0 },
            { "--image-mode", MGX_ENUM, &im.mode, "medgemma|llamacpp", "image preprocessing (default medgemma)", 0, 0, 0 },
            END };
        const mgx_argtable tables[4] = { { "Options", own }, { "Text", o.t_prompt }, { "Model", o.t_model }, { NULL, NULL } };
        if ((rc = parse(&o, "-m MODEL.gguf (-p TEXT | -f FILE) [-o OUT.bin] [--greedy N] [--image IMG ...] [options]",
                        "Feeds a raw prompt (control tokens parsed) and writes the logits of its last position.",
                        tables, argc, argv, 1)) >= 0) return rc;
    }
    rc = 1;
    if (!(m = mgx_load_model(&o, im.files.n > 0))) { mgx_opts_free(&o); return 1; }
    mg_model_get_info(m, &info);
    if (!(text = (char *)malloc(strlen(o.questions[0]) + 1))) goto done;
    strcpy(text, o.questions[0]);
    if (!(s = new_session(m, &o, NULL, NULL))) goto done;
    if (im.files.n == 0) {
        if (!(ids = tokenize_all(m, text, MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, &n))) goto done;
        if (mg_eval(s, ids, n) != MG_OK) { fprintf(stderr, "error: %s\n", mg_session_error(s)); goto done; }
    } else if (!eval_with_images(s, m, text, &im)) goto done;
    if (out && !write_floats(out, mg_logits(s), (size_t)info.n_vocab)) goto done;
    if (greedy > 0) {
        printf("greedy:");
        for (i = 0; i < greedy; i++) {
            int32_t id = argmax(mg_logits(s), info.n_vocab);
            printf(" %d", id);
            if (i + 1 < greedy && mg_eval(s, &id, 1) != MG_OK) { fprintf(stderr, "\nerror: %s\n", mg_session_error(s)); goto done; }
        }
        printf("\n");
    }
    rc = 0;
done:
    mg_session_free(s); free(ids); free(text); mg_model_free(m);
    mgx_opts_free(&o);
    return rc;
}

/* ---------- generate ---------- */

static int cmd_generate(int argc, char **argv) {
    mgx_opts o;
    mgx_run r;
    mg_prompt p;
    int chat = 0, rc;
    memset(&p, 0, sizeof p);
    mgx_opts_init(&o, "mg generate");
    {
        const mgx_arg own[2] = { { "--chat", MGX_FLAG, &chat, NULL, "wrap the prompt in Gemma 3's chat template (user turn, then model)", 0, 0, 0 },
                                 END };
        const mgx_argtable tables[6] = { { "Options", own }, { "Text", o.t_prompt }, { "Model", o.t_model },
                                         { "Generation", o.t_gen }, { "Output", o.t_out }, { NULL, NULL } };
        if ((rc = parse(&o, "-m MODEL.gguf (-p TEXT | -f FILE) [--chat [--system TEXT] [--think]] [options]",
                        "Generates text after a prompt: raw (control tokens parsed) or, with --chat, as a user turn.",
                        tables, argc, argv, 1)) >= 0) return rc;
    }
    if (!chat && (o.system_arg || o.think)) { mgx_opts_free(&o); return mgx_usage_error(o.prog, "--system and --think need --chat"); }
    rc = 1;
    mgx_run_init(&r, &o);
    r.advice = "shorten the prompt";
    if (mgx_run_load(&r, 0) != 0) goto done;
    if (chat) {
        mg_chat_item item;
        const mg_chat_item *turn = &item;
        int one = 1;
        item.text = o.questions[0]; item.image = NULL;
        if (mgx_run_prompts(&r, &turn, &one, 1, &p) != 0) goto done;
    } else if (!(p.ids = tokenize_all(r.m, o.questions[0], MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, &p.n_ids)) || mgx_budget(&r, &p, 1) != 0)
        goto done;
    if (o.dump_prompt) mgx_dump_prompts(&r, &p, 1);
    else if (mgx_run_ask(&r, &p, o.questions, 1, NULL, NULL) != 0) goto done;
    else mgx_run_summary(&r);
    rc = 0;
done:
    mg_prompt_free(&p);
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return rc;
}

/* ---------- trace ---------- */

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
    mgx_opts o;
    const char *dir = NULL;
    mg_model *m;
    mg_session *s;
    trace_ctx t;
    char path[1024];
    int32_t *ids;
    int n, rc;
    mgx_opts_init(&o, "mg trace");
    {
        const mgx_arg own[4] = {
            { "-m, --model", MGX_STR, &o.model, "FILE", "the text model GGUF", 0, 0, MGX_REQUIRED },
            { "-o", MGX_STR, &dir, "DIR", "where the tensors go (created if missing): NAME[-LAYER].bin and index.json", 0, 0, MGX_REQUIRED },
            { "-t, --threads", MGX_INT, &o.threads, "N", "threads (default: the CPUs online)", 1, MGX_MAX_THREADS, 0 },
            END };
        const mgx_argtable tables[3] = { { "Options", own }, { "Text", o.t_prompt }, { NULL, NULL } };
        if ((rc = parse(&o, "-m MODEL.gguf (-p TEXT | -f FILE) -o DIR",
                        "Every named intermediate of one forward pass (llama.cpp's names) as raw float32 files.",
                        tables, argc, argv, 1)) >= 0) return rc;
    }
    rc = 1;
    if (!(m = mgx_load_model(&o, 0))) { mgx_opts_free(&o); return 1; }
    memset(&t, 0, sizeof t);
    t.dir = dir;
    snprintf(path, sizeof path, "%s/index.json", dir);
    if (make_dir(dir) != 0 && errno != EEXIST) fprintf(stderr, "error: -o %s: cannot create: %s\n", dir, strerror(errno));
    else if (!(t.index = fopen(path, "w"))) fprintf(stderr, "error: -o %s: cannot write: %s\n", path, strerror(errno));
    else {
        if ((ids = tokenize_all(m, o.questions[0], MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, &n)) != NULL && (s = new_session(m, &o, trace_tap, &t)) != NULL) {
            if (mg_eval(s, ids, n) == MG_OK && !t.failed) rc = 0;
            else fprintf(stderr, "error: trace: %s\n", t.failed ? "cannot write a tensor file" : mg_session_error(s));
            mg_session_free(s);
        }
        fprintf(t.index, "%s]\n", t.n ? "" : "[");
        fclose(t.index);
        if (rc == 0) printf("%d tensors written to %s\n", t.n, dir);
        free(ids);
    }
    mg_model_free(m);
    mgx_opts_free(&o);
    return rc;
}

/* ---------- embed-image ---------- */

static int cmd_embed_image(int argc, char **argv) {
    mgx_opts o;
    const char *image = NULL, *out = NULL;
    int mode = 0, rc;
    mg_model *m;
    mg_session *s;
    mg_image_embd e;
    mgx_opts_init(&o, "mg embed-image");
    {
        const mgx_arg own[7] = {
            { "--mmproj", MGX_STR, &o.mmproj, "FILE", "the vision projector GGUF (loaded alone)", 0, 0, MGX_REQUIRED },
            { "--image", MGX_STR, &image, "IMG", "a PNG, JPEG, PNM or BMP image", 0, 0, MGX_REQUIRED },
            { "--image-mode", MGX_ENUM, &mode, "medgemma|llamacpp", "preprocessing (default medgemma)", 0, 0, 0 },
            { "-o", MGX_STR, &out, "OUT.bin", "the 256 x n_embd embeddings as float32", 0, 0, MGX_REQUIRED },
            { "-t, --threads", MGX_INT, &o.threads, "N", "threads (default: the CPUs online)", 1, MGX_MAX_THREADS, 0 },
            { "--vision-f32", MGX_FLAG, &o.vision_f32, NULL, MGX_VISION_F32_HELP, 0, 0, 0 },
            END };
        const mgx_argtable tables[2] = { { "Options", own }, { NULL, NULL } };
        if ((rc = parse(&o, "--mmproj FILE --image IMG [--image-mode M] [--vision-f32] -o OUT.bin",
                        "The projected embeddings of one image (SigLIP + projector).", tables, argc, argv, 0)) >= 0) return rc;
    }
    rc = 1;
    {   /* a vision file loads alone, as a model without a decoder */
        mg_error err;
        if (mgx_check_files(&o) != 0) { mgx_opts_free(&o); return 1; }
        if (mg_model_load_file(&m, o.mmproj, NULL, &err) != MG_OK) {
            mgx_print_error("--mmproj", o.mmproj, err.message);
            mgx_opts_free(&o);
            return 1;
        }
    }
    if ((s = new_session(m, &o, NULL, NULL)) != NULL) {
        if (encode_file(s, image, mode, &e)) {
            if (write_floats(out, e.data, (size_t)e.n_tokens * (size_t)e.n_embd)) rc = 0;
            mg_image_embd_free(&e);
        }
        mg_session_free(s);
    }
    mg_model_free(m);
    mgx_opts_free(&o);
    return rc;
}

/* ---------- main ---------- */

typedef struct command { const char *name; int (*run)(int, char **); const char *what; } command;

static const command COMMANDS[] = {
    { "inspect", cmd_inspect, "metadata and tensor table of a GGUF file" },
    { "tokenize", cmd_tokenize, "token ids of a text" },
    { "logits", cmd_logits, "logits of a raw prompt (and greedy ids), images at <__image__> markers" },
    { "generate", cmd_generate, "text after a prompt (raw, or --chat)" },
    { "trace", cmd_trace, "every named intermediate of a forward pass, as float32 files" },
    { "embed-image", cmd_embed_image, "projected embeddings of one image" },
    { "synth", mg_cmd_synth, "full-size MedGemma-shaped GGUF files with random weights" },
    { "bench", mg_cmd_bench, "prefill and decode speed, image encode time, memory; a CT or WSI question end to end" },
};

static int help(FILE *f) {
    size_t i;
    fprintf(f, "usage: mg COMMAND [options]   (mg COMMAND --help: its options)\n\ncommands:\n");
    for (i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) fprintf(f, "  %-13s %s\n", COMMANDS[i].name, COMMANDS[i].what);
    fprintf(f, "\nExit status: 0 success, 1 runtime failure, 2 usage error.\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
    size_t i;
    if (argc < 2) { fprintf(stderr, "error: missing COMMAND\n"); return help(stderr); }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return help(stdout);
    if (!strcmp(argv[1], "--version")) { mgx_args_version("mg", stdout); return 0; }
    for (i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s'\n", argv[1]);
    return help(stderr);
}
