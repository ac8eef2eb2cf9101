/* answer.c — generation into a buffer for drivers that parse the answer (see mgx_answer.h). */
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

int mgx_answer(const mgx_opts *o, const mg_model *m, const char *system, const mg_chat_item *items, int n_items,
               FILE *echo, char **answer, char **thought) {
    mg_chat_turn turn;
    mg_prompt p;
    mg_session *s = NULL;
    mg_session_options so;
    mg_generate_options g;
    collect c;
    mg_result r;
    int rc = -1;
    *answer = NULL;
    if (thought) *thought = NULL;
    memset(&c, 0, sizeof c);
    c.echo = echo; c.think = o->think;
    add(&c.answer, "", 0); add(&c.thought, "", 0);
    turn.role = "user"; turn.items = items; turn.n_items = n_items;
    if ((r = mg_chat_build(m, system, &turn, 1, 1, &p)) != MG_OK) { fprintf(stderr, "error: %s\n", mg_result_str(r)); goto out; }
    memset(&so, 0, sizeof so);
    so.n_threads = o->threads;
    so.seed = o->seed;
    so.n_ctx = o->max_tokens > 0 ? p.n_ids + o->max_tokens + 1 : 0;
    if ((r = mg_session_new(&s, m, &so)) != MG_OK) { fprintf(stderr, "error: %s\n", mg_result_str(r)); goto done; }
    if (mg_eval_prompt(s, &p) != MG_OK) { fprintf(stderr, "error: %s\n", mg_session_error(s)); goto done; }
    memset(&g, 0, sizeof g);
    g.max_tokens = o->max_tokens;
    g.sampler.temperature = o->temp;
    if (o->temp > 0) { g.sampler.top_k = 64; g.sampler.top_p = 0.95f; }   /* Gemma 3's shipped defaults */
    g.on_text = on_text; g.user = &c;
    if (mg_generate(s, &g, NULL) != MG_OK) { fprintf(stderr, "\nerror: %s\n", mg_session_error(s)); goto done; }
    if (echo && c.answer.n) fputc('\n', echo);
    if (c.answer.failed || c.thought.failed) { fprintf(stderr, "error: out of memory\n"); goto done; }
    *answer = c.answer.buf; c.answer.buf = NULL;
    if (thought) { *thought = c.thought.buf; c.thought.buf = NULL; }
    rc = 0;
done:
    mg_session_free(s);
    mg_prompt_free(&p);
out:
    free(c.answer.buf); free(c.thought.buf);
    return rc;
}
