/* mgx_cli.h — what every example driver shares: the common options, loading, streaming a chat answer,
   --dump-prompt and --json output. */
#ifndef MGX_CLI_H
#define MGX_CLI_H
#include "medgemma.h"
#include "mgx_image.h"
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

#define MGX_MAX_QUESTIONS 32
#define MGX_MAX_POSITIONAL 8

/* A driver-specific option: "--name VALUE" (or a flag when is_flag: value set to "1"). */
typedef struct mgx_option { const char *name; const char **value; int is_flag; } mgx_option;

typedef struct mgx_opts {
    const char *model, *mmproj;          /* -m, --mmproj */
    int threads, max_tokens;             /* -t, -n (default 500) */
    float temp;                          /* --temp (0 = greedy, Google's notebooks' choice) */
    unsigned long long seed;             /* --seed */
    int think, json, dump_prompt;        /* --think, --json, --dump-prompt */
    const char *questions[MGX_MAX_QUESTIONS]; int n_questions;      /* -q, repeatable */
    const char *positional[MGX_MAX_POSITIONAL]; int n_positional;
} mgx_opts;

/* Parses argv into o (and the driver's extra options). 0 on success; prints the problem and returns -1. */
int mgx_parse_args(int argc, char **argv, mgx_opts *o, const mgx_option *extra, int n_extra);
/* Loads the model (and vision file). NULL after printing the loader's message. */
mg_model *mgx_load_model(const mgx_opts *o);
/* --dump-prompt: one item per line, text verbatim with newlines as \n, images as [IMAGE i: source]. */
void mgx_dump_items(FILE *f, const mg_chat_item *items, int n_items, const char *const *image_sources);
/* Asks n questions: items[i] (n_items[i] items) is question i's user turn (system may be NULL). Streams each
   answer to stdout (thinking to stderr with --think) or prints one JSON object per answer with --json. The
   prompts' shared beginning (images, slices, a document) is fed once and kept as a snapshot; each question
   branches from it, so the answers are those of separate runs. Returns 0 on success. */
int mgx_ask_each(const mgx_opts *o, const mg_model *m, const char *system, const mg_chat_item *const *items,
                 const int *n_items, int n);
/* Progress on stderr: "\r<what> k/n, 12.3 s elapsed, about 45 s left" and a newline at the end. Use as
   mg_session_options.progress with a mgx_progress as progress_user (mgx_progress_start first). */
typedef struct mgx_progress { const char *what; double t0; } mgx_progress;
void mgx_progress_start(mgx_progress *p, const char *what);
int  mgx_progress_print(void *user, int done, int total);

/* Encodes n images once, in a session of their own (preprocessing mode MG_IMAGE_*), with progress on stderr
   labelled `what` (NULL: silent); out[] holds n embeddings. 0, or -1 after printing the error. */
int mgx_encode_all(const mgx_opts *o, const mg_model *m, const mgx_image *imgs, int n, int mode, const char *what,
                   mg_image_embd *out);

/* Writes s as a JSON string literal. */
void mgx_json_print_string(FILE *f, const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
