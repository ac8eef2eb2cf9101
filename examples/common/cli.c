/* cli.c — shared driver code: options, model loading, asking a question with streaming output. */
#include "mgx_cli.h"
#include <stdlib.h>
#include <string.h>

static int need_value(int i, int argc, const char *name) {
    if (i + 1 < argc) return 1;
    fprintf(stderr, "error: %s needs a value\n", name);
    return 0;
}

int mgx_parse_args(int argc, char **argv, mgx_opts *o, const mgx_option *extra, int n_extra) {
    int i, k;
    memset(o, 0, sizeof *o);
    o->max_tokens = 500;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        for (k = 0; k < n_extra; k++) if (!strcmp(a, extra[k].name)) break;
        if (k < n_extra) {
            if (extra[k].is_flag) *extra[k].value = "1";
            else { if (!need_value(i, argc, a)) return -1; *extra[k].value = argv[++i]; }
        } else if (!strcmp(a, "--think")) o->think = 1;
        else if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--dump-prompt")) o->dump_prompt = 1;
        else if (a[0] == '-' && a[1]) {
            const char *v;
            if (!need_value(i, argc, a)) return -1;
            v = argv[++i];
            if (!strcmp(a, "-m")) o->model = v;
            else if (!strcmp(a, "--mmproj")) o->mmproj = v;
            else if (!strcmp(a, "-t")) o->threads = atoi(v);
            else if (!strcmp(a, "-n")) o->max_tokens = atoi(v);
            else if (!strcmp(a, "--temp")) o->temp = (float)atof(v);
            else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
            else if (!strcmp(a, "-q")) {
                if (o->n_questions == MGX_MAX_QUESTIONS) { fprintf(stderr, "error: too many -q\n"); return -1; }
                o->questions[o->n_questions++] = v;
            } else { fprintf(stderr, "error: unknown option %s\n", a); return -1; }
        } else {
            if (o->n_positional == MGX_MAX_POSITIONAL) { fprintf(stderr, "error: too many arguments\n"); return -1; }
            o->positional[o->n_positional++] = a;
        }
    }
    if (o->max_tokens < 0 || o->threads < 0) { fprintf(stderr, "error: -n and -t must not be negative\n"); return -1; }
    return 0;
}

mg_model *mgx_load_model(const mgx_opts *o) {
    mg_model *m = NULL;
    mg_model_options mo;
    mg_error e;
    if (!o->model) { fprintf(stderr, "error: -m MODEL.gguf is required\n"); return NULL; }
    memset(&mo, 0, sizeof mo);
    mo.mmproj_path = o->mmproj;
    if (mg_model_load_file(&m, o->model, &mo, &e) != MG_OK) { fprintf(stderr, "error: %s\n", e.message); return NULL; }
    return m;
}

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

void mgx_dump_items(FILE *f, const mg_chat_item *items, int n_items, const char *const *image_sources) {
    int i, img = 0;
    for (i = 0; i < n_items; i++) {
        if (items[i].text) {
            const char *t;
            for (t = items[i].text; *t; t++) { if (*t == '\n') fputs("\\n", f); else fputc(*t, f); }
            fputc('\n', f);
        } else {
            fprintf(f, "[IMAGE %d: %s]\n", img, image_sources && image_sources[img] ? image_sources[img] : "?");
            img++;
        }
    }
}

typedef struct answer { char *buf; size_t n, cap; int think, json; char *thought; size_t tn, tcap; } answer;

static void append(char **buf, size_t *n, size_t *cap, const char *t, size_t len) {
    if (*n + len + 1 > *cap) {
        size_t c = (*cap ? *cap * 2 : 1024) + len;
        char *p = (char *)realloc(*buf, c);
        if (!p) return;
        *buf = p; *cap = c;
    }
    memcpy(*buf + *n, t, len);
    *n += len;
    (*buf)[*n] = 0;
}

static int on_text(void *user, const char *t, size_t n, int channel) {
    answer *a = (answer *)user;
    if (channel == MG_CHANNEL_THOUGHT) {
        append(&a->thought, &a->tn, &a->tcap, t, n);
        if (a->think && !a->json) { fwrite(t, 1, n, stderr); fflush(stderr); }
    } else {
        append(&a->buf, &a->n, &a->cap, t, n);
        if (!a->json) { fwrite(t, 1, n, stdout); fflush(stdout); }
    }
    return 0;
}

int mgx_ask(const mgx_opts *o, const mg_model *m, const char *system, const mg_chat_item *items, int n_items,
            char **answer_out) {
    mg_chat_turn turn;
    mg_prompt p;
    mg_session *s = NULL;
    mg_session_options so;
    mg_generate_options g;
    answer a;
    mg_result r;
    int rc = -1;
    memset(&a, 0, sizeof a);
    a.think = o->think; a.json = o->json;
    turn.role = "user"; turn.items = items; turn.n_items = n_items;
    if ((r = mg_chat_build(m, system, &turn, 1, 1, &p)) != MG_OK) { fprintf(stderr, "error: %s\n", mg_result_str(r)); return -1; }
    memset(&so, 0, sizeof so);
    so.n_threads = o->threads;
    so.seed = o->seed;
    so.n_ctx = p.n_ids + o->max_tokens + 1;
    if ((r = mg_session_new(&s, m, &so)) != MG_OK) { fprintf(stderr, "error: %s\n", mg_result_str(r)); mg_prompt_free(&p); return -1; }
    if (mg_eval_prompt(s, &p) != MG_OK) { fprintf(stderr, "error: %s\n", mg_session_error(s)); goto done; }
    memset(&g, 0, sizeof g);
    g.max_tokens = o->max_tokens;
    g.sampler.temperature = o->temp;
    if (o->temp > 0) { g.sampler.top_k = 64; g.sampler.top_p = 0.95f; }   /* Gemma 3's shipped defaults */
    g.on_text = on_text; g.user = &a;
    if (mg_generate(s, &g, NULL) != MG_OK) { fprintf(stderr, "\nerror: %s\n", mg_session_error(s)); goto done; }
    if (o->json) {
        printf("{\"answer\": ");
        mgx_json_print_string(stdout, a.buf ? a.buf : "", a.n);
        if (o->think) { printf(", \"thought\": "); mgx_json_print_string(stdout, a.thought ? a.thought : "", a.tn); }
        printf("}\n");
    } else printf("\n");
    if (answer_out) { *answer_out = a.buf; a.buf = NULL; }
    rc = 0;
done:
    free(a.buf); free(a.thought);
    mg_session_free(s);
    mg_prompt_free(&p);
    return rc;
}
