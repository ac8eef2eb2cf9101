/* answer.c — a driver's run: budget, --dump-prompt, encoding, answers over a shared prefix, reports. */
#include "mgx_answer.h"
#include <stdlib.h>
#include <string.h>

void mgx_run_init(mgx_run *r, mgx_opts *o) {
    memset(r, 0, sizeof *r);
    r->o = o;
}

void mgx_run_free(mgx_run *r) {
    mg_session_free(r->s);
    mg_model_free(r->m);
    r->s = NULL;
    r->m = NULL;
}

void mgx_run_input(mgx_run *r, const char *path, const uint8_t sha[32]) {
    if (r->n_inputs >= MGX_MAX_INPUTS) return;
    r->input[r->n_inputs] = path;
    mgx_hex(sha, 32, r->input_sha[r->n_inputs++]);
}

int mgx_run_load(mgx_run *r, int need_vision) {
    if (!(r->m = mgx_load_model(r->o, need_vision))) return -1;
    mg_model_get_info(r->m, &r->info);
    return 0;
}

/* ---------- prompts and the budget ---------- */

void mgx_prompt_error(const mgx_run *r, const mg_error *e) {
    fprintf(stderr, "error: building the prompt: %s", e->message[0] ? e->message : mg_result_str(e->code));
    if (e->code == MG_ERR_LIMIT) fprintf(stderr, "; %s", r->advice ? r->advice : "shorten the input");
    fputc('\n', stderr);
}

int mgx_run_prompts(mgx_run *r, const mg_chat_item *const *items, const int *n_items, int n, mg_prompt *p) {
    int i;
    for (i = 0; i < n; i++) {
        mg_chat_turn turn;
        mg_error e;
        turn.role = "user"; turn.items = items[i]; turn.n_items = n_items[i];
        if (mg_chat_build(r->m, r->o->system, &turn, 1, 1, &p[i], &e) != MG_OK) {
            mgx_prompt_error(r, &e);
            while (i-- > 0) mg_prompt_free(&p[i]);
            return -1;
        }
    }
    if (mgx_budget(r, p, n) == 0) return 0;
    for (i = 0; i < n; i++) mg_prompt_free(&p[i]);
    return -1;
}

/* Prints a budget problem: an error, or with --dump-prompt (which still shows the prompt) a warning. */
static int over_budget(const mgx_run *r) {
    fprintf(stderr, "%s: ", r->o->dump_prompt ? "warning" : "error");
    return r->o->dump_prompt ? 0 : -1;
}

int mgx_budget(mgx_run *r, const mg_prompt *p, int n) {
    const mgx_opts *o = r->o;
    int i, longest = 0, trained = r->info.n_ctx_train > 0 ? r->info.n_ctx_train : MG_MAX_CTX, ctx, room;
    const char *advice = r->advice ? r->advice : "shorten the input", *which;
    for (i = 0; i < n; i++) if (p[i].n_ids > longest) longest = p[i].n_ids;
    if (o->ctx > trained) {
        fprintf(stderr, "error: -c %d is more than the model's context of %d tokens\n", o->ctx, trained);
        return -1;
    }
    ctx = r->n_ctx = o->ctx ? o->ctx : trained;
    which = o->ctx ? "-c" : "the model's context";
    if (longest >= ctx) {
        int rc = over_budget(r);
        fprintf(stderr, "the prompt is %d tokens but the context holds %d (%s); %s%s\n", longest, ctx, which, advice,
                ctx < trained ? ", or raise -c (the model's context is larger)" : "");
        r->n_predict = 0;
        return rc;
    }
    room = ctx - longest;
    if (o->n_predict > room) {
        int rc = over_budget(r);
        fprintf(stderr, "the prompt is %d tokens and -n asks for %d more, but the context holds %d (%s): use -n %d "
                        "or less, or %s%s\n", longest, o->n_predict, ctx, which, room, advice, ctx < trained ? ", or raise -c" : "");
        r->n_predict = room;
        return rc;
    }
    r->n_predict = o->n_predict > 0 ? o->n_predict : o->n_predict == 0 || room < MGX_DEFAULT_N_PREDICT ? room : MGX_DEFAULT_N_PREDICT;
    if (o->n_predict < 0 && room < MGX_DEFAULT_N_PREDICT && !o->quiet && !o->dump_prompt)
        fprintf(stderr, "note: the answer may take at most %d tokens (the prompt is %d of the context's %d)\n", room, longest, ctx);
    return 0;
}

/* Prints the text of ids[0..n) with special tokens as text; returns its last byte (0 when none). */
static int print_ids(const mg_model *m, const int32_t *ids, int n) {
    char small[4096], *buf = small;
    size_t len = 0;
    int last;
    if (n <= 0) return 0;
    if (mg_detokenize(m, ids, n, MG_DETOK_SPECIAL, small, sizeof small, &len, NULL) == MG_ERR_BUFFER || len >= sizeof small) {
        if (!(buf = (char *)malloc(len + 1)) || mg_detokenize(m, ids, n, MG_DETOK_SPECIAL, buf, len + 1, &len, NULL) != MG_OK) {
            fprintf(stdout, "<%d tokens: out of memory>", n);
            free(buf);
            return '>';
        }
    }
    fwrite(buf, 1, len, stdout);
    last = len ? (unsigned char)buf[len - 1] : 0;
    if (buf != small) free(buf);
    return last;
}

void mgx_dump_prompts(const mgx_run *r, const mg_prompt *p, int n) {
    int32_t soft = mg_token_lookup(r->m, "<image_soft_token>");
    int i, j, start, img, last = 0;
    for (i = 0; i < n; i++) {
        for (j = start = img = 0; j <= p[i].n_ids; j++) {
            if (j < p[i].n_ids && p[i].ids[j] != soft) continue;
            last = print_ids(r->m, p[i].ids + start, j - start);
            if (j == p[i].n_ids) break;
            printf("<image %d: %s>", img, r->image_src && img < r->n_images && r->image_src[img] ? r->image_src[img] : "?");
            img++;
            while (j + 1 < p[i].n_ids && p[i].ids[j + 1] == soft) j++;
            start = j + 1;
        }
        printf("%stokens: %d\n", last == '\n' ? "" : "\n", p[i].n_ids);
    }
}

/* ---------- session, encoding ---------- */

mg_session *mgx_run_session(mgx_run *r) {
    mg_session_options so;
    mg_error e;
    if (r->s) return r->s;
    mgx_session_options(r->o, r->n_ctx, &so);
    so.progress = mgx_progress_print;
    so.progress_user = &r->pr;
    r->pr.on = 0;
    if (mg_session_new(&r->s, r->m, &so, &e) != MG_OK) {
        fprintf(stderr, "error: cannot make a session: %s\n", e.message);
        r->s = NULL;
    }
    return r->s;
}

int mgx_run_encode(mgx_run *r, const mgx_image *imgs, int n, int mode, const char *what, mg_image_embd *out) {
    mg_session *s = mgx_run_session(r);
    mg_image *mi;
    double t;
    int i, rc = -1;
    if (!s) return -1;
    if (!(mi = (mg_image *)malloc((size_t)(n > 0 ? n : 1) * sizeof *mi))) { fprintf(stderr, "error: out of memory\n"); return -1; }
    for (i = 0; i < n; i++) { mi[i].w = imgs[i].w; mi[i].h = imgs[i].h; mi[i].channels = imgs[i].channels; mi[i].pixels = imgs[i].px; }
    mgx_progress_start(&r->pr, r->o, what, n);
    t = mgx_now();
    if (mg_encode_images(s, mi, n, mode, out) != MG_OK) fprintf(stderr, "error: encoding the images: %s\n", mg_session_error(s));
    else {
        r->encode_s += mgx_now() - t;
        r->encoded += n;
        rc = 0;
    }
    r->pr.on = 0;
    free(mi);
    return rc;
}

void mgx_prompts_attach(mg_prompt *p, int n, const mg_image_embd *embd) {
    int i, k;
    for (i = 0; i < n; i++)
        for (k = 0; k < p[i].n_images; k++) p[i].images[k] = &embd[k];
}

/* ---------- one answer ---------- */

static void add(mgx_text *t, const char *s, size_t n) {
    if (t->failed) return;
    if (t->n + n + 1 > t->cap) {
        size_t cap = (t->cap ? t->cap * 2 : 1024) + n;
        char *q = (char *)realloc(t->buf, cap);
        if (!q) { t->failed = 1; return; }
        t->buf = q; t->cap = cap;
    }
    memcpy(t->buf + t->n, s, n);
    t->n += n;
    t->buf[t->n] = 0;
}

static int on_text(void *user, const char *s, size_t n, int channel) {
    mgx_answer *a = (mgx_answer *)user;
    FILE *f = channel == MG_CHANNEL_THOUGHT ? (a->think ? stderr : NULL) : a->echo;
    add(channel == MG_CHANNEL_THOUGHT ? &a->thought : &a->text, s, n);
    if (f) { fwrite(s, 1, n, f); fflush(f); }
    return a->text.failed || a->thought.failed;   /* out of memory: stop */
}

void mgx_answer_start(mgx_answer *a, const mgx_run *r, const char *question, FILE *echo, mg_generate_options *g) {
    memset(a, 0, sizeof *a);
    a->question = question;
    a->echo = echo;
    a->think = r->o->think;
    add(&a->text, "", 0);
    add(&a->thought, "", 0);
    memset(g, 0, sizeof *g);
    g->max_tokens = r->n_predict;
    mgx_sampler_options(r->o, &g->sampler);
    g->on_text = on_text;
    g->user = a;
    g->stop_reason = &a->stop_code;
    g->lookup = r->o->lookup;
    g->n_forward = &a->passes;
}

int mgx_answer_end(mgx_answer *a, mgx_run *r, mg_session *s, mg_result res, int n_generated, double decode_s) {
    if (res != MG_OK) { fprintf(stderr, "\nerror: %s\n", mg_session_error(s)); return -1; }
    if (a->text.failed || a->thought.failed) { fprintf(stderr, "\nerror: out of memory\n"); return -1; }
    if (a->think && a->thought.n) fputc('\n', stderr);
    if (a->echo && a->text.n) fputc('\n', a->echo);    /* the streamed text ends its line */
    a->generated = n_generated;
    a->decode_s = decode_s;
    a->stop = a->stop_code == MG_STOP_EOG ? "end_of_turn" : a->stop_code == MG_STOP_MAX_TOKENS ? "max_tokens"
            : a->stop_code == MG_STOP_CONTEXT ? "context_full" : a->stop_code == MG_STOP_CALLBACK ? "stopped" : "error";
    r->answers++;
    r->prompt_tokens += a->prompt_tokens;
    r->prefill_tokens += a->prefill_tokens;
    r->prefill_s += a->prefill_s;
    r->generated += n_generated;
    r->decode_s += decode_s;
    return 0;
}

void mgx_answer_free(mgx_answer *a) {
    free(a->text.buf);
    free(a->thought.buf);
    memset(a, 0, sizeof *a);
}

/* Feeds p[from..) with progress when that is long; counts and times into a. */
static int prefill(mgx_run *r, const mg_prompt *p, int from, const char *what, mgx_answer *a) {
    double t;
    mg_result res;
    mgx_progress_start(&r->pr, r->o, what, p->n_ids - from > MGX_PROGRESS_TOKENS ? p->n_ids - from : 0);
    t = mgx_now();
    res = from ? mg_eval_prompt_from(r->s, p, from) : mg_eval_prompt(r->s, p);
    r->pr.on = 0;
    if (res != MG_OK) { fprintf(stderr, "error: reading the prompt: %s\n", mg_session_error(r->s)); return -1; }
    if (a) { a->prefill_s = mgx_now() - t; a->prompt_tokens = p->n_ids; a->prefill_tokens = p->n_ids - from; }
    return 0;
}

int mgx_run_ask(mgx_run *r, const mg_prompt *p, const char *const *questions, int n, FILE *echo, mgx_answer *out) {
    mg_snapshot *snap = NULL;
    int i, common = p[0].n_ids, rc = -1;
    if (!mgx_run_session(r)) return -1;
    for (i = 1; i < n; i++) { int c = mg_prompt_common_prefix(r->m, &p[0], &p[i]); if (c < common) common = c; }
    if (n > 1 && common > 0) {                      /* the shared beginning once, kept as a snapshot */
        mg_prompt head = p[0];
        double t = mgx_now();
        head.n_ids = common;
        if (prefill(r, &head, 0, "reading the shared prompt: token", NULL) != 0) return -1;
        if (mg_snapshot_take(r->s, &snap) != MG_OK) { fprintf(stderr, "error: %s\n", mg_session_error(r->s)); return -1; }
        r->prefill_tokens += common;
        r->prefill_s += mgx_now() - t;
    } else common = 0;
    for (i = 0; i < n; i++) {
        mgx_answer a;
        mg_generate_options g;
        char what[64];
        mg_result res;
        int n_gen = 0;
        double t;
        if (snap) { if (mg_snapshot_restore(r->s, snap) != MG_OK) { fprintf(stderr, "error: %s\n", mg_session_error(r->s)); break; } }
        else mg_session_reset(r->s);
        mgx_answer_start(&a, r, questions ? questions[i] : NULL, out ? echo : r->o->json || r->unreported ? NULL : stdout, &g);
        snprintf(what, sizeof what, "reading prompt %d/%d: token", i + 1, n);
        if (prefill(r, &p[i], common, n > 1 ? what : "reading the prompt: token", &a) != 0) { mgx_answer_free(&a); break; }
        if (!out && !r->unreported) mgx_report_begin(r, &a, i, n);
        t = mgx_now();
        res = mg_generate(r->s, &g, &n_gen);
        if (mgx_answer_end(&a, r, r->s, res, n_gen, mgx_now() - t) != 0) { mgx_answer_free(&a); break; }
        if (out) out[i] = a;
        else { if (!r->unreported) mgx_report_end(r, &a, i, n); mgx_answer_free(&a); }
    }
    if (i == n) rc = 0;
    mg_snapshot_free(snap);
    return rc;
}

int mgx_run_images_and_ask(mgx_run *r, mgx_image *imgs, int n, const char *what, mg_image_embd *embd, mg_prompt *p,
                           int n_prompts) {
    int i;
    if (mgx_run_encode(r, imgs, n, MG_IMAGE_MEDGEMMA, what, embd) != 0) return -1;
    for (i = 0; i < n; i++) mgx_image_free(&imgs[i]);
    mgx_prompts_attach(p, n_prompts, embd);
    if (mgx_run_ask(r, p, r->o->questions, n_prompts, NULL, NULL) != 0) return -1;
    mgx_run_summary(r);
    return 0;
}

/* ---------- reports ---------- */

void mgx_report_begin(const mgx_run *r, const mgx_answer *a, int i, int n) {
    if (r->o->json || n < 2) return;
    printf("%s[%d/%d] %s\n", i ? "\n" : "", i + 1, n, a->question ? a->question : "");
    fflush(stdout);
}

static void json_str(FILE *f, const char *s) {
    if (s) mgx_json_print_string(f, s, strlen(s));
    else fputs("null", f);
}

static double rate(double n, double s) { return s > 0 ? n / s : 0; }

static void json_file(FILE *f, const char *key, const char *path, const uint8_t fp[32]) {
    char hex[65];
    mgx_hex(fp, 32, hex);
    fprintf(f, ", \"%s\": {\"path\": ", key);
    json_str(f, path);
    fprintf(f, ", \"fingerprint\": \"%s\"}", hex);
}

void mgx_json_answer_fields(FILE *f, const mgx_run *r, const mgx_answer *a) {
    const mgx_opts *o = r->o;
    int i;
    fputs("\"question\": ", f); json_str(f, a->question);
    fputs(", \"answer\": ", f); mgx_json_print_string(f, a->text.buf ? a->text.buf : "", a->text.n);
    fputs(", \"thought\": ", f); mgx_json_print_string(f, a->thought.buf ? a->thought.buf : "", a->thought.n);
    fprintf(f, ", \"prompt_tokens\": %d, \"generated_tokens\": %d, \"decoder_passes\": %d, \"stop\": \"%s\"", a->prompt_tokens,
            a->generated, a->passes, a->stop ? a->stop : "");
    fprintf(f, ", \"timings\": {\"encode_s\": %.3f, \"prefill_tokens\": %d, \"prefill_s\": %.3f, \"prefill_tok_s\": %.2f, "
               "\"decode_s\": %.3f, \"decode_tok_s\": %.2f}", r->encode_s, a->prefill_tokens, a->prefill_s,
            rate(a->prefill_tokens, a->prefill_s), a->decode_s, rate(a->generated, a->decode_s));
    fprintf(f, ", \"provenance\": {\"runtime\": \"medgemma.h %d.%d.%d\", \"build\": ", MEDGEMMA_VERSION_MAJOR,
            MEDGEMMA_VERSION_MINOR, MEDGEMMA_VERSION_PATCH);
    json_str(f, mg_build_info());
    json_file(f, "model", o->model, r->info.fingerprint);
    if (r->info.has_vision) {
        json_file(f, "vision", o->mmproj ? o->mmproj : o->model, r->info.vision_fingerprint);
        fprintf(f, ", \"image_products\": \"%s\"", mg_session_vision_bf16(r->s) ? "bf16" : "float");
    }
    fputs(", \"inputs\": [", f);
    for (i = 0; i < r->n_inputs; i++) {
        fputs(i ? ", {\"path\": " : "{\"path\": ", f);
        json_str(f, r->input[i]);
        fprintf(f, ", \"sha256\": \"%s\"}", r->input_sha[i]);
    }
    fputs("], \"images\": [", f);
    for (i = 0; i < r->n_images; i++) { if (i) fputs(", ", f); json_str(f, r->image_src ? r->image_src[i] : NULL); }
    fputc(']', f);
    if (r->image_sha) {
        fputs(", \"image_sha256\": [", f);
        for (i = 0; i < r->n_images; i++) { if (i) fputs(", ", f); json_str(f, r->image_sha[i]); }
        fputc(']', f);
    }
    if (r->used_name) {
        fprintf(f, ", \"%s\": [", r->used_name);
        for (i = 0; i < r->n_images; i++) fprintf(f, i ? ", %d" : "%d", r->used[i]);
        fputc(']', f);
    }
    if (r->series) { fputs(", \"series\": ", f); json_str(f, r->series); }
    fputs(", \"system\": ", f); json_str(f, o->system);
    fprintf(f, ", \"sampling\": {\"temp\": %g, \"top_k\": %d, \"top_p\": %g, \"min_p\": %g, \"repeat_penalty\": %g, "
               "\"seed\": %llu, \"lookup\": %d}, \"n_ctx\": %d, \"n_predict\": %d}", o->temp, o->top_k, o->top_p, o->min_p,
            o->repeat_penalty, (unsigned long long)o->seed.value, o->lookup, r->n_ctx, r->n_predict);
}

void mgx_report_end(const mgx_run *r, const mgx_answer *a, int i, int n) {
    (void)i; (void)n;
    if (r->o->json) {
        fputc('{', stdout);
        mgx_json_answer_fields(stdout, r, a);
        fputs("}\n", stdout);
    } else if (!a->text.n) fputc('\n', stdout);        /* an empty answer still has its line */
    fflush(stdout);
}

void mgx_run_summary(const mgx_run *r) {
    if (r->o->quiet) return;
    fprintf(stderr, "%s: %d answer%s; prompt %ld tokens", r->o->prog, r->answers, r->answers == 1 ? "" : "s", r->prompt_tokens);
    if (r->encoded) fprintf(stderr, "; %d image%s encoded in %.1f s", r->encoded, r->encoded == 1 ? "" : "s", r->encode_s);
    fprintf(stderr, "; prefill %ld tokens in %.1f s (%.1f tok/s); decode %ld tokens in %.1f s (%.1f tok/s)\n",
            r->prefill_tokens, r->prefill_s, rate((double)r->prefill_tokens, r->prefill_s), r->generated, r->decode_s,
            rate((double)r->generated, r->decode_s));
}
