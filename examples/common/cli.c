/* cli.c — the options, model loading, session options, progress and text inputs every program shares. */
#include "mgx_cli.h"
#include "mgx_medical.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#if defined(_WIN32)
#include <io.h>
#define MGX_ISATTY(fd) _isatty(fd)
#else
#include <unistd.h>
#define MGX_ISATTY(fd) isatty(fd)
#endif

/* ---------- options ---------- */

static void arg(mgx_arg *a, const char *names, mgx_arg_kind kind, void *dest, const char *meta, const char *help,
                double lo, double hi) {
    a->names = names; a->kind = kind; a->dest = dest; a->meta = meta; a->help = help;
    a->lo = lo; a->hi = hi; a->flags = 0;
}

void mgx_opts_init(mgx_opts *o, const char *prog) {
    mgx_arg *a;
    memset(o, 0, sizeof *o);
    o->prog = prog;
    o->n_predict = -1;
    o->top_k = MGX_DEFAULT_TOP_K;
    o->top_p = MGX_DEFAULT_TOP_P;
    o->repeat_penalty = 1.0f;
    a = o->t_prompt;
    arg(a++, "-q, -p, --prompt", MGX_LIST, &o->prompts, "TEXT", "a question (repeatable: each gets its own answer)", 0, MGX_MAX_QUESTIONS);
    arg(a++, "-f, --file", MGX_LIST, &o->prompts, "FILE", "a question read from a UTF-8 text file (- for stdin; at most 4 MiB)", 1, MGX_MAX_QUESTIONS);
    a = o->t_model;
    arg(a, "-m, --model", MGX_STR, &o->model, "FILE", "the text model GGUF, e.g. medgemma-1.5-4b-it-Q4_K_M.gguf", 0, 0);
    (a++)->flags = MGX_REQUIRED;
    arg(a++, "--mmproj", MGX_STR, &o->mmproj, "FILE", "the vision projector GGUF (mmproj-*.gguf); not needed for an Ollama file", 0, 0);
    arg(a++, "-t, --threads", MGX_INT, &o->threads, "N", "threads (default: the CPUs online; at most that many)", 1, MGX_MAX_THREADS);
    arg(a++, "-c, --ctx-size", MGX_INT, &o->ctx, "N", "context: prompt + answer tokens (default: the model's, 131072 for MedGemma)", 1, MG_MAX_CTX);
    arg(a++, "--vision-f32", MGX_FLAG, &o->vision_f32, NULL, MGX_VISION_F32_HELP, 0, 0);
    a = o->t_gen;
    arg(a++, "-n, --n-predict", MGX_INT, &o->n_predict, "N", "answer tokens at most (default 1024, capped by the context; 0: up to the context)", 0, MG_MAX_CTX);
    arg(a++, "--temp", MGX_FLOAT, &o->temp, "T", "temperature (default 0: greedy, as Google's notebooks)", 0, 100);
    arg(a++, "--top-k", MGX_INT, &o->top_k, "K", "with --temp > 0: keep the K likeliest tokens (default 64; 0: off)", 0, 1 << 20);
    arg(a++, "--top-p", MGX_FLOAT, &o->top_p, "P", "with --temp > 0: nucleus probability (default 0.95; 1: off)", 0, 1);
    arg(a++, "--min-p", MGX_FLOAT, &o->min_p, "P", "with --temp > 0: drop tokens below P x the top probability (default 0: off)", 0, 1);
    arg(a++, "--repeat-penalty", MGX_FLOAT, &o->repeat_penalty, "R", "penalty for the last 64 tokens (default 1: off)", 0, 100);
    arg(a++, "--lookup", MGX_INT, &o->lookup, "N", "greedy only: check up to N tokens copied from the prompt in each pass (prompt-lookup decoding: the same answer in fewer passes when it quotes the input; default 0: off)", 0, 64);
    arg(a++, "--seed", MGX_SEED, &o->seed, "S", "sampling seed (default 0; -1: random, printed on stderr)", 0, 0);
    arg(a++, "--system", MGX_STR, &o->system_arg, "TEXT", "the system text (replaces the recipe's)", 0, 0);
    arg(a++, "--think", MGX_FLAG, &o->think, NULL, "ask the model to think first (the model card's instruction starts the system text); the thought goes to stderr", 0, 0);
    a = o->t_out;
    arg(a++, "--json", MGX_FLAG, &o->json, NULL, "one JSON object per answer: text, thought, tokens, stop reason, timings, provenance", 0, 0);
    arg(a++, "--quiet", MGX_FLAG, &o->quiet, NULL, "no progress and no summary on stderr", 0, 0);
    arg(a++, "--dump-prompt", MGX_FLAG, &o->dump_prompt, NULL, "print each templated prompt (images as <image i: source>) and its token count, then stop", 0, 0);
}

static const char EXIT_CODES[] = "Exit status: 0 success, 1 runtime failure (unreadable input, model, context), 2 usage error.";

int mgx_driver_args(mgx_opts *o, const mgx_driver *d, const mgx_arg *own, int argc, char **argv) {
    mgx_argtable tables[6];
    mgx_argspec spec;
    char title[64];
    int k = 0, rc;
    mgx_opts_init(o, d->prog);
    snprintf(title, sizeof title, "%s options", d->prog);
    if (own && own->names) { tables[k].title = title; tables[k++].args = own; }
    if (d->questions) { tables[k].title = "Questions"; tables[k++].args = o->t_prompt; }
    tables[k].title = "Model"; tables[k++].args = o->t_model;
    tables[k].title = "Generation"; tables[k++].args = o->t_gen;
    tables[k].title = "Output"; tables[k++].args = o->t_out;
    tables[k].title = NULL; tables[k].args = NULL;
    memset(&spec, 0, sizeof spec);
    spec.prog = d->prog; spec.usage = d->usage; spec.about = d->about;
    spec.min_pos = spec.max_pos = d->n_pos; spec.pos_name = d->pos_name;
    spec.tables = tables; spec.footer = EXIT_CODES;
    if ((rc = mgx_args(&spec, argc, argv, o->positional, &o->n_positional)) >= 0) return rc;
    if (d->questions && o->prompts.n == 0) return mgx_usage_error(d->prog, "missing -q QUESTION (or -f FILE)");
    if (o->lookup > 0 && (o->temp > 0 || o->repeat_penalty != 1.0f))
        return mgx_usage_error(d->prog, "--lookup needs greedy decoding (--temp 0, --repeat-penalty 1)");
    return mgx_opts_finish(o, d->system) == 0 ? -1 : 1;
}

static uint64_t random_seed(void) {
    uint64_t s = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&s, sizeof s, 1, f) != 1) s = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)clock();
    if (f) fclose(f);
    return s;
}

int mgx_opts_finish(mgx_opts *o, const char *recipe_system) {
    const char *sys = o->system_arg ? o->system_arg : recipe_system;
    char err[512];
    int i, cpus = mgx_cpu_count();
    if (o->threads > 0 && cpus > 0 && o->threads > cpus) {
        fprintf(stderr, "note: -t %d is more than the %d CPUs online; using %d threads\n", o->threads, cpus, cpus);
        o->threads = cpus;
    }
    if (o->seed.random) {
        o->seed.value = random_seed();
        o->seed.random = 0;
        fprintf(stderr, "seed: %llu (random; --seed %llu repeats this run)\n", (unsigned long long)o->seed.value,
                (unsigned long long)o->seed.value);
    }
    for (i = 0; i < o->prompts.n; i++) {
        if (o->prompts.tag[i] == 1) {          /* -f FILE */
            size_t n;
            if (!(o->owned[i] = mgx_read_text("-f", o->prompts.v[i], MGX_MAX_TEXT_BYTES, &n, NULL, err, sizeof err))) {
                fprintf(stderr, "error: %s\n", err);
                return -1;
            }
            o->questions[i] = o->owned[i];
        } else o->questions[i] = o->prompts.v[i];
    }
    o->n_questions = o->prompts.n;
    if (o->think || sys) {
        size_t len = sizeof MGX_THINK_INSTRUCTION + (sys ? strlen(sys) : 0) + 2;
        if (!(o->system = (char *)malloc(len))) { fprintf(stderr, "error: out of memory\n"); return -1; }
        snprintf(o->system, len, "%s%s%s", o->think ? MGX_THINK_INSTRUCTION : "", o->think && sys && sys[0] ? " " : "",
                 sys ? sys : "");
    }
    return 0;
}

void mgx_opts_free(mgx_opts *o) {
    int i;
    for (i = 0; i < MGX_MAX_QUESTIONS; i++) free(o->owned[i]);
    free(o->system);
    memset(o->owned, 0, sizeof o->owned);
    o->system = NULL;
}

/* ---------- files and models ---------- */

int mgx_check_regular(const char *flag, const char *path, char *err, size_t errsz) {
    char why[384];
    if (mgx_file_check(path, 0, NULL, why, sizeof why) == 0) return 0;
    snprintf(err, errsz, "%s%s%s", flag ? flag : "", flag ? " " : "", why);
    return -1;
}

int mgx_check_files(const mgx_opts *o) {
    char err[512];
    if ((o->model && mgx_check_regular("-m", o->model, err, sizeof err) != 0) ||
        (o->mmproj && mgx_check_regular("--mmproj", o->mmproj, err, sizeof err) != 0)) {
        fprintf(stderr, "error: %s\n", err);
        return -1;
    }
    return 0;
}

enum { ROLE_BAD, ROLE_TEXT, ROLE_VISION, ROLE_VOCAB };

/* What a GGUF file is, by loading it alone (its tokenizer only when it is a text model). */
static int gguf_role(const char *path) {
    mg_model *m;
    mg_model_options mo;
    mg_model_info info;
    mg_error e;
    int role = ROLE_BAD;
    memset(&mo, 0, sizeof mo);
    mo.vocab_only = 1;
    if (mg_model_load_file(&m, path, &mo, &e) != MG_OK) return ROLE_BAD;
    mg_model_get_info(m, &info);
    if (info.n_vocab > 0) role = info.n_layer > 0 ? ROLE_TEXT : ROLE_VOCAB;
    else if (info.has_vision) role = ROLE_VISION;
    mg_model_free(m);
    return role;
}

void mgx_print_error(const char *flag, const char *path, const char *msg) {
    const char *at = strstr(msg, path);
    if (at == msg) fprintf(stderr, "error: %s%s%s\n", flag ? flag : "", flag ? " " : "", msg);
    else if (at) fprintf(stderr, "error: %s%s%s\n", flag ? flag : "", flag ? ": " : "", msg);
    else fprintf(stderr, "error: %s%s%s: %s\n", flag ? flag : "", flag ? " " : "", path, msg);
}

void mgx_model_error(const mgx_opts *o, const mg_error *e) {
    if (o->mmproj && gguf_role(o->mmproj) == ROLE_TEXT)
        fprintf(stderr, "error: --mmproj %s is a text model, not a vision projector; pass it as -m (the projector "
                        "is the mmproj-*.gguf file)\n", o->mmproj);
    else if (o->mmproj && gguf_role(o->model) == ROLE_TEXT) mgx_print_error("--mmproj", o->mmproj, e->message);
    else mgx_print_error("-m", o->model, e->message);
}

int mgx_model_check(const mgx_opts *o, const mg_model *m, int need_vision) {
    mg_model_info info;
    mg_model_get_info(m, &info);
    if (info.n_layer == 0 && info.has_vision) {
        if (o->mmproj && gguf_role(o->mmproj) == ROLE_TEXT)
            fprintf(stderr, "error: -m and --mmproj are swapped: -m %s is a vision projector (mmproj) and --mmproj %s "
                            "is a text model; pass -m %s --mmproj %s\n", o->model, o->mmproj, o->mmproj, o->model);
        else fprintf(stderr, "error: -m %s is a vision projector (mmproj); pass it as --mmproj, and the text model "
                             "(e.g. medgemma-1.5-4b-it-Q4_K_M.gguf) as -m\n", o->model);
        return -1;
    }
    if (!info.has_weights || info.n_layer == 0) {
        fprintf(stderr, "error: -m %s holds a tokenizer only (no weights); pass the text model\n", o->model);
        return -1;
    }
    if (need_vision && !info.has_vision) {
        fprintf(stderr, "error: -m %s has no vision tower; pass the vision projector with --mmproj (mmproj-*.gguf)\n", o->model);
        return -1;
    }
    return 0;
}

mg_model *mgx_load_model(const mgx_opts *o, int need_vision) {
    mg_model *m = NULL;
    mg_model_options mo;
    mg_error e;
    if (mgx_check_files(o) != 0) return NULL;
    memset(&mo, 0, sizeof mo);
    mo.mmproj_path = o->mmproj;
    if (mg_model_load_file(&m, o->model, &mo, &e) != MG_OK) { mgx_model_error(o, &e); return NULL; }
    if (mgx_model_check(o, m, need_vision) != 0) { mg_model_free(m); return NULL; }
    return m;
}

/* ---------- sessions and sampling ---------- */

void mgx_session_options(const mgx_opts *o, int n_ctx, mg_session_options *so) {
    memset(so, 0, sizeof *so);
    so->n_threads = o->threads;
    so->n_ctx = n_ctx;
    so->vision_f32 = o->vision_f32;
    so->seed = o->seed.value;
}

void mgx_sampler_options(const mgx_opts *o, mg_sampler_options *so) {
    memset(so, 0, sizeof *so);
    so->temperature = o->temp;
    so->top_k = o->top_k;
    so->top_p = o->top_p;
    so->min_p = o->min_p;
    so->repeat_penalty = o->repeat_penalty;
}

/* ---------- progress ---------- */

double mgx_now(void) {
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
#endif
    return (double)time(NULL);
}

void mgx_progress_start(mgx_progress *p, const mgx_opts *o, const char *what, int total) {
    p->what = what;
    p->t0 = mgx_now();
    p->on = !o->quiet && total > 0;
    p->tty = MGX_ISATTY(2);
    mgx_progress_print(p, 0, total);
}

int mgx_progress_print(void *user, int done, int total) {
    mgx_progress *p = (mgx_progress *)user;
    double el = mgx_now() - p->t0;
    if (!p->on) return 0;
    fprintf(stderr, "%s%s %d/%d, %.1f s elapsed", p->tty ? "\r" : "", p->what, done, total, el);
    if (done > 0 && done < total) fprintf(stderr, ", about %.0f s left", el / done * (total - done));
    if (p->tty && done < total) fputs("      ", stderr);
    if (!p->tty || done >= total) fputc('\n', stderr);
    fflush(stderr);
    return 0;
}

/* ---------- text inputs ---------- */

size_t mgx_utf8_check(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, cp, k;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
        else return i;
        if (n - i <= need) return i;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return i;
        i += need + 1;
    }
    return n;
}

/* stdin, at most max bytes (one more is read to tell "too long"). */
static unsigned char *read_stdin(size_t max, size_t *n, char *err, size_t errsz) {
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0, got;
    do {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            unsigned char *p;
            if (ncap > max + 2) ncap = max + 2;
            if (ncap <= len || !(p = (unsigned char *)realloc(buf, ncap))) {
                free(buf);
                snprintf(err, errsz, "%s", ncap <= len ? "is longer than the limit" : "out of memory");
                return NULL;
            }
            buf = p; cap = ncap;
        }
        got = fread(buf + len, 1, cap - len - 1, stdin);
        len += got;
        if (len > max) { free(buf); snprintf(err, errsz, "is longer than the limit of %lu bytes", (unsigned long)max); return NULL; }
    } while (got > 0);
    buf[len] = 0;
    *n = len;
    return buf;
}

char *mgx_read_text(const char *label, const char *path, size_t max, size_t *n, uint8_t sha[32], char *err, size_t errsz) {
    unsigned char *data;
    const char *kind;
    char why[256];
    size_t bad;
    const unsigned char *nul;
    int sp = label && label[0];
    const char *lb = sp ? label : "";
    *n = 0;
    if (!strcmp(path, "-")) {
        if (!(data = read_stdin(max, n, why, sizeof why))) { snprintf(err, errsz, "%s%sstdin %s", lb, sp ? " " : "", why); return NULL; }
    } else if (mgx_read_file(path, max, &data, n, why, sizeof why) != 0) {
        snprintf(err, errsz, "%s%s%s", lb, sp ? " " : "", why);
        return NULL;
    }
    if ((kind = mgx_image_detect(data, *n)) != NULL || mgx_dicom_probe(data, *n)) {
        snprintf(err, errsz, "%s%s%s is an image file (%s), not text", lb, sp ? " " : "", path, kind ? kind : "DICOM");
    } else if ((nul = (const unsigned char *)memchr(data, 0, *n)) != NULL) {
        snprintf(err, errsz, "%s%s%s: a NUL byte at offset %lu: not text (nothing after it would reach the model)", lb,
                 sp ? " " : "", path, (unsigned long)(nul - data));
    } else if ((bad = mgx_utf8_check(data, *n)) < *n) {
        snprintf(err, errsz, "%s%s%s: not UTF-8 text (byte 0x%02x at offset %lu); convert it to UTF-8 first", lb,
                 sp ? " " : "", path, data[bad], (unsigned long)bad);
    } else {
        if (sha) mg_sha256(data, *n, sha);
        return (char *)data;
    }
    free(data);
    *n = 0;
    return NULL;
}

int mgx_file_sha256(const char *path, uint8_t sha[32]) {
    unsigned char *data;
    size_t n;
    char err[256];
    if (mgx_read_file(path, (size_t)1 << 31, &data, &n, err, sizeof err) != 0) return -1;
    mg_sha256(data, n, sha);
    free(data);
    return 0;
}

/* ---------- small things ---------- */

void mgx_json_print_string(FILE *f, const char *s, size_t n) {
    size_t i;
    fputc('"', f);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void mgx_hex(const uint8_t *b, int n, char *out) {
    static const char d[] = "0123456789abcdef";
    int i;
    for (i = 0; i < n; i++) { out[2 * i] = d[b[i] >> 4]; out[2 * i + 1] = d[b[i] & 15]; }
    out[2 * n] = 0;
}

int mgx_cpu_count(void) {
#if defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 1 << 20 ? (int)n : 0;
#else
    return 0;
#endif
}
