/* answer.c — asking: generation into a buffer (mgx_answer) and several questions over one shared prefix
   (mgx_ask_each, with a snapshot). */
#include "mgx_answer.h"
#include <stdlib.h>
#include <string.h>

typedef struct text { char *buf; size_t n, cap; int failed; } text;
typedef struct collect { text answer, thought; FILE *echo; int think; } collect;

static void add(text *t, const char *s, size_t n) {
    if (t->failed) return;
    if (t->n + n + 1 > t->cap) {
        size_t cap = (t->cap ? t->cap * 2 : 1024) + n;
        char *p = (char *)realloc(t->buf, cap);
        if (!p) { t->failed = 1; return; }
        t->buf = p; t->cap = cap;
    }
    memcpy(t->buf + t->n, s, n);
    t->n += n;
    t->buf[t->n] = 0;
}

static int on_text(void *user, const char *s, size_t n, int channel) {
    collect *c = (collect *)user;
    FILE *f = channel == MG_CHANNEL_THOUGHT ? (c->think ? stderr : NULL) : c->echo;
    add(channel == MG_CHANNEL_THOUGHT ? &c->thought : &c->answer, s, n);
    if (f) { fwrite(s, 1, n, f); fflush(f); }
    return c->answer.failed || c->thought.failed;   /* out of memory: stop */
}

/* Samples the answer of the prompt already in s, streaming it to echo (thinking to stderr with --think). */
static int generate(const mgx_opts *o, mg_session *s, FILE *echo, char **answer, char **thought) {
    mg_generate_options g;
    collect c;
    int rc = -1;
    memset(&c, 0, sizeof c);
    c.echo = echo; c.think = o->think;
    add(&c.answer, "", 0); add(&c.thought, "", 0);
    memset(&g, 0, sizeof g);
    g.max_tokens = o->max_tokens;
    g.sampler.temperature = o->temp;
    if (o->temp > 0) { g.sampler.top_k = 64; g.sampler.top_p = 0.95f; }   /* Gemma 3's shipped defaults */
    g.on_text = on_text; g.user = &c;
    if (mg_generate(s, &g, NULL) != MG_OK) fprintf(stderr, "\nerror: %s\n", mg_session_error(s));
    else if (c.answer.failed || c.thought.failed) fprintf(stderr, "error: out of memory\n");
    else {
        if (echo && c.answer.n) fputc('\n', echo);
        *answer = c.answer.buf; c.answer.buf = NULL;
        if (thought) { *thought = c.thought.buf; c.thought.buf = NULL; }
        rc = 0;
    }
    free(c.answer.buf); free(c.thought.buf);
    return rc;
}

static mg_session *new_session(const mgx_opts *o, const mg_model *m, int n_prompt, mgx_progress *pr) {
    mg_session *s = NULL;
    mg_session_options so;
    mg_result r;
    memset(&so, 0, sizeof so);
    so.n_threads = o->threads;
    so.seed = o->seed;
    so.n_ctx = o->max_tokens > 0 ? n_prompt + o->max_tokens + 1 : 0;
    if (pr && n_prompt > 4096) { so.progress = mgx_progress_print; so.progress_user = pr; }   /* long prompts: show the prefill */
    if ((r = mg_session_new(&s, m, &so, NULL)) != MG_OK) fprintf(stderr, "error: %s\n", mg_result_str(r));
    return s;
}

int mgx_answer(const mgx_opts *o, const mg_model *m, const char *system, const mg_chat_item *items, int n_items,
               FILE *echo, char **answer, char **thought) {
    mg_chat_turn turn;
    mg_prompt p;
    mg_session *s = NULL;
    mg_result r;
    int rc = -1;
    *answer = NULL;
    if (thought) *thought = NULL;
    turn.role = "user"; turn.items = items; turn.n_items = n_items;
    if ((r = mg_chat_build(m, system, &turn, 1, 1, &p, NULL)) != MG_OK) { fprintf(stderr, "error: %s\n", mg_result_str(r)); return -1; }
    if ((s = new_session(o, m, p.n_ids, NULL)) != NULL) {
        if (mg_eval_prompt(s, &p) != MG_OK) fprintf(stderr, "error: %s\n", mg_session_error(s));
        else rc = generate(o, s, echo, answer, thought);
    }
    mg_session_free(s);
    mg_prompt_free(&p);
    return rc;
}

/* Prints one answer: streamed already (plain), or as a JSON object. */
static void print_answer(const mgx_opts *o, const char *answer, const char *thought) {
    if (o->json) {
        printf("{\"answer\": ");
        mgx_json_print_string(stdout, answer, strlen(answer));
        if (o->think) { printf(", \"thought\": "); mgx_json_print_string(stdout, thought, strlen(thought)); }
        printf("}\n");
    } else if (!answer[0]) printf("\n");
    fflush(stdout);
}

int mgx_ask_each(const mgx_opts *o, const mg_model *m, const char *system, const mg_chat_item *const *items,
                 const int *n_items, int n) {
    mg_prompt p[MGX_MAX_QUESTIONS];
    mg_session *s = NULL;
    mg_snapshot *snap = NULL;
    mgx_progress pr;
    int i, built = 0, common = 0, longest = 0, rc = -1;
    if (n < 1 || n > MGX_MAX_QUESTIONS) return -1;
    for (; built < n; built++) {
        mg_chat_turn turn;
        mg_result r;
        turn.role = "user"; turn.items = items[built]; turn.n_items = n_items[built];
        if ((r = mg_chat_build(m, system, &turn, 1, 1, &p[built], NULL)) != MG_OK) { fprintf(stderr, "error: %s\n", mg_result_str(r)); goto done; }
        if (p[built].n_ids > longest) longest = p[built].n_ids;
    }
    common = p[0].n_ids;
    for (i = 1; i < n; i++) { int c = mg_prompt_common_prefix(m, &p[0], &p[i]); if (c < common) common = c; }
    mgx_progress_start(&pr, "reading the prompt");
    if (!(s = new_session(o, m, longest, &pr))) goto done;
    if (n > 1 && common > 0) {                      /* the shared beginning once, kept as a snapshot */
        mg_prompt head = p[0];
        head.n_ids = common;
        if (mg_eval_prompt(s, &head) != MG_OK || mg_snapshot_take(s, &snap) != MG_OK) {
            fprintf(stderr, "error: %s\n", mg_session_error(s));
            goto done;
        }
    }
    for (i = 0; i < n; i++) {
        char *answer = NULL, *thought = NULL;
        mg_result r = snap ? mg_snapshot_restore(s, snap) : (mg_session_reset(s), MG_OK);
        if (r == MG_OK) r = mg_eval_prompt_from(s, &p[i], snap ? common : 0);
        if (r != MG_OK) { fprintf(stderr, "error: %s\n", mg_session_error(s)); goto done; }
        if (generate(o, s, o->json ? NULL : stdout, &answer, &thought) != 0) goto done;
        print_answer(o, answer, thought);
        free(answer); free(thought);
    }
    rc = 0;
done:
    mg_snapshot_free(snap);
    mg_session_free(s);
    for (i = 0; i < built; i++) mg_prompt_free(&p[i]);
    return rc;
}
