/* cli.c — shared driver code: options, model loading, asking a question with streaming output. */
#include "mgx_cli.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double now_seconds(void) {
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
#endif
    return (double)time(NULL);
}

void mgx_progress_start(mgx_progress *p, const char *what) {
    p->what = what;
    p->t0 = now_seconds();
}

int mgx_progress_print(void *user, int done, int total) {
    mgx_progress *p = (mgx_progress *)user;
    double el = now_seconds() - p->t0;
    fprintf(stderr, "\r%s %d/%d, %.1f s elapsed", p->what, done, total, el);
    if (done > 0 && done < total) fprintf(stderr, ", about %.0f s left   ", el / done * (total - done));
    else fputs("                  ", stderr);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
    return 0;
}

int mgx_encode_all(const mgx_opts *o, const mg_model *m, const mgx_image *imgs, int n, int mode, const char *what,
                   mg_image_embd *out) {
    mg_session_options so;
    mg_session *s = NULL;
    mg_image *mi;
    mgx_progress pr;
    int i, rc = -1;
    if (!(mi = (mg_image *)malloc((size_t)(n > 0 ? n : 1) * sizeof *mi))) { fprintf(stderr, "error: out of memory\n"); return -1; }
    for (i = 0; i < n; i++) { mi[i].w = imgs[i].w; mi[i].h = imgs[i].h; mi[i].channels = imgs[i].channels; mi[i].pixels = imgs[i].px; }
    memset(&so, 0, sizeof so);
    so.n_threads = o->threads;
    if (what) { so.progress = mgx_progress_print; so.progress_user = &pr; mgx_progress_start(&pr, what); }
    if (mg_session_new(&s, m, &so, NULL) != MG_OK) fprintf(stderr, "error: cannot create a session\n");
    else if (mg_encode_images(s, mi, n, mode, out) != MG_OK) fprintf(stderr, "%serror: %s\n", what ? "\n" : "", mg_session_error(s));
    else rc = 0;
    mg_session_free(s);
    free(mi);
    return rc;
}
