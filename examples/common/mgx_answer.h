/* mgx_answer.h — one run of a driver: the context budget checked before any work, --dump-prompt, images
   encoded with progress, questions answered over a shared prefix, and the reports (plain text with labels,
   --json with timings and provenance, the summary line on stderr).

   Order of a run: mgx_run_load (model, roles checked) -> prompts built with image placeholders (NULL
   embeddings: the token count is exact before any image is encoded) -> mgx_budget -> --dump-prompt or
   mgx_run_encode -> mgx_prompts_attach -> mgx_run_ask -> mgx_run_summary. */
#ifndef MGX_ANSWER_H
#define MGX_ANSWER_H
#include "mgx_cli.h"
#ifdef __cplusplus
extern "C" {
#endif

#define MGX_MAX_INPUTS 16

typedef struct mgx_text { char *buf; size_t n, cap; int failed; } mgx_text;

/* One answer: its text, counts and times. */
typedef struct mgx_answer {
    const char *question;          /* what was asked (reports) */
    mgx_text text, thought;        /* .buf: NUL-terminated, malloc'd */
    int prompt_tokens, prefill_tokens, generated;
    int passes;                    /* decoder passes the answer took (fewer than tokens with --lookup) */
    const char *stop;              /* "end_of_turn", "max_tokens", "context_full" (from stop_code, MG_STOP_*) */
    int stop_code;
    double prefill_s, decode_s;
    FILE *echo;                    /* where the answer streams (NULL: nowhere) */
    int think;                     /* stream the thought to stderr */
} mgx_answer;

typedef struct mgx_run {
    mgx_opts *o;
    mg_model *m;
    mg_model_info info;
    mg_session *s;                 /* made on first use, after mgx_budget */
    mgx_progress pr;
    int n_ctx, n_predict;          /* set by mgx_budget */
    const char *advice;            /* what shortens this driver's prompt ("use fewer --slices"), NULL: generic */
    int n_inputs;                  /* input files and their SHA-256 (hex) */
    const char *input[MGX_MAX_INPUTS];
    char input_sha[MGX_MAX_INPUTS][65];
    const char *const *image_src;  /* what each image of the prompts is, in order */
    const char *const *image_sha;  /* the SHA-256 (hex) of each image's own file (a DICOM folder's slices), or NULL */
    int n_images;
    const char *used_name;         /* "slices" / "patches": indices of what the images are (NULL: none) */
    const int *used;
    const char *series;            /* the DICOM series used (SeriesInstanceUID), NULL: none */
    int unreported;                /* answers neither streamed nor reported, counts and times kept (mg bench) */
    int encoded, answers;          /* totals for the summary */
    long prompt_tokens, prefill_tokens, generated;
    double encode_s, prefill_s, decode_s;
} mgx_run;

void mgx_run_init(mgx_run *r, mgx_opts *o);
void mgx_run_free(mgx_run *r);
/* Records an input file for provenance (its SHA-256, computed by the caller from the bytes it read). */
void mgx_run_input(mgx_run *r, const char *path, const uint8_t sha[32]);
/* Loads the model (mgx_load_model) and keeps its info. 0, or -1 after a message. */
int  mgx_run_load(mgx_run *r, int need_vision);
/* Builds one single-turn prompt per question (items[i]: n_items[i] items, images as NULL placeholders) with
   the system text of the options, then checks the budget. 0, or -1 after a message. */
int  mgx_run_prompts(mgx_run *r, const mg_chat_item *const *items, const int *n_items, int n, mg_prompt *p);
/* Prints why mg_chat_build failed: the library's message, and for a limit the driver's advice. */
void mgx_prompt_error(const mgx_run *r, const mg_error *e);
/* The context budget: -c (default the model's context) must hold the longest prompt plus -n. Sets
   r->n_ctx and r->n_predict (-n, its default 1024 or 0 capped by what remains). 0, or -1 after a message
   with both numbers and what to do (with --dump-prompt only a warning: the prompt is still shown). */
int  mgx_budget(mgx_run *r, const mg_prompt *p, int n);
/* --dump-prompt: each prompt's templated text (special tokens as text, each image as <image i: source>)
   and a line "tokens: N". */
void mgx_dump_prompts(const mgx_run *r, const mg_prompt *p, int n);
/* Encodes n images (progress "<what> k/n") in the run's session. 0, or -1 after a message. */
int  mgx_run_encode(mgx_run *r, const mgx_image *imgs, int n, int mode, const char *what, mg_image_embd *out);
/* Points each prompt's image placeholders at embd[0..] in order. */
void mgx_prompts_attach(mg_prompt *p, int n, const mg_image_embd *embd);
/* The run's session (made on first use with the budget's context). NULL after a message. */
mg_session *mgx_run_session(mgx_run *r);

/* Answers prompt i for i < n: the shared beginning is fed once and kept as a snapshot, each prompt branches
   from it (the answers of separate runs). out NULL: each answer is reported (streamed to stdout, labelled
   when n > 1, or one JSON line); else out[i] receives it (streamed to echo) for the caller to report. */
int  mgx_run_ask(mgx_run *r, const mg_prompt *p, const char *const *questions, int n, FILE *echo, mgx_answer *out);

/* The end of an image driver's run: encodes the n images into embd (their pixels freed after), points the
   prompts at them, answers every question (reported) and prints the summary. 0, or -1 after a message. */
int  mgx_run_images_and_ask(mgx_run *r, mgx_image *imgs, int n, const char *what, mg_image_embd *embd, mg_prompt *p,
                            int n_prompts);

/* The pieces of one answer, for programs that call mg_eval_prompt and mg_generate themselves:
   mgx_answer_start sets up g (sampling, -n, streaming into a); after mg_generate, mgx_answer_end records
   the counts, times and stop reason. */
void mgx_answer_start(mgx_answer *a, const mgx_run *r, const char *question, FILE *echo, mg_generate_options *g);
int  mgx_answer_end(mgx_answer *a, mgx_run *r, mg_session *s, mg_result res, int n_generated, double decode_s);
void mgx_answer_free(mgx_answer *a);

/* Plain: a "[i/n] question" line before the answer when n > 1 (mgx_report_begin), a newline after it;
   --json: one object per answer (mgx_report_end). */
void mgx_report_begin(const mgx_run *r, const mgx_answer *a, int i, int n);
void mgx_report_end(const mgx_run *r, const mgx_answer *a, int i, int n);
/* The fields of an answer's JSON object without the braces ("question": ... "provenance": {...}), for
   drivers that add their own (localize's boxes, labreport's results). */
void mgx_json_answer_fields(FILE *f, const mgx_run *r, const mgx_answer *a);
/* "PROG: N answers; prompt ... tokens; K images encoded in ... s; prefill ... tok/s; decode ... tok/s". */
void mgx_run_summary(const mgx_run *r);

#ifdef __cplusplus
}
#endif
#endif
