/* mgx_cli.h — what every example driver and `mg` share: the common options (one table each, from which
   parsing and --help come), loading a model with its files' roles checked, the session options, progress
   on stderr and bounded text inputs.

   Defaults, the same in every program (written in --help):
     -n 1024 tokens at most (capped by what the context leaves; -n 0: up to the end of the context)
     -c the model's training context (MedGemma 1.5 4B: 131072)
     greedy decoding (--temp 0, Google's notebooks' choice); with --temp > 0, Gemma 3's shipped
     --top-k 64 --top-p 0.95, --min-p 0, --repeat-penalty 1 (off); --seed 0 (-1: random, printed)
     -t the CPUs online (more threads than CPUs are reduced to the CPU count, with a note) */
#ifndef MGX_CLI_H
#define MGX_CLI_H
#include "medgemma.h"
#include "mgx_args.h"
#include "mgx_image.h"
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

#define MGX_MAX_QUESTIONS  32
#define MGX_MAX_POSITIONAL 8
#define MGX_MAX_THREADS    256
#define MGX_DEFAULT_N_PREDICT 1024
#define MGX_MAX_TEXT_BYTES ((size_t)4 << 20)   /* a text input (-f FILE, a note, a FHIR file): 4 MiB */
#define MGX_PROGRESS_TOKENS 256                /* prompts longer than this show their prefill progress */

#define MGX_VISION_F32_HELP "image encoder products in float: embeddings within 0.01 of llama.cpp's, 1.5x slower " \
                            "(default: bfloat16 where the CPU has bf16 dot products, as MedGemma's bf16 weights run)"
#define MGX_DEFAULT_TOP_K 64
#define MGX_DEFAULT_TOP_P 0.95f
/* The model card's thinking instruction: it starts the system text (followed by the recipe's own, if any). */
#define MGX_THINK_INSTRUCTION "SYSTEM INSTRUCTION: think silently if needed."

typedef struct mgx_opts {
    const char *prog;
    const char *model, *mmproj;          /* -m, --mmproj */
    int threads, ctx;                    /* -t (0: CPUs online), -c (0: the model's context) */
    int vision_f32;                      /* --vision-f32 */
    int n_predict;                       /* -n; -1 until given */
    float temp, top_p, min_p, repeat_penalty;
    int top_k;
    int lookup;                          /* --lookup: prompt-lookup draft tokens per pass (0: off) */
    mgx_seed seed;                       /* the seed used (drawn when --seed -1) */
    const char *system_arg;              /* --system */
    int think, json, quiet, dump_prompt;
    mgx_list prompts;                    /* -q/-p TEXT (tag 0) and -f FILE (tag 1) in command-line order */
    const char *questions[MGX_MAX_QUESTIONS]; int n_questions;   /* their texts */
    const char *positional[MGX_MAX_POSITIONAL]; int n_positional;
    char *system;                        /* the system text sent: recipe or --system, after --think's line */
    char *owned[MGX_MAX_QUESTIONS];      /* question texts read from files */
    /* the shared option tables (each ended by an empty entry) */
    mgx_arg t_prompt[3], t_model[6], t_gen[11], t_out[4];
} mgx_opts;

/* A driver's fixed facts. */
typedef struct mgx_driver {
    const char *prog;
    const char *usage;       /* after the name: "IMAGE -q QUESTION [-q ...] -m MODEL --mmproj MMPROJ [options]" */
    const char *about;       /* --help's description */
    const char *pos_name;    /* "IMAGE" */
    int n_pos;               /* positional arguments (exactly) */
    int questions;           /* 1: -q/-p/-f take questions (at least one) */
    const char *system;      /* the recipe's system text, NULL: none */
} mgx_driver;

/* Sets the defaults above and builds the shared tables (pointing into o). */
void mgx_opts_init(mgx_opts *o, const char *prog);
/* Parses a driver's command line: its own options (ended by an empty entry, may be NULL) and the shared
   ones, then mgx_opts_finish. Returns -1 to go on, else the exit code (0: help/version, 2: usage, 1: an
   unreadable -f file). */
int  mgx_driver_args(mgx_opts *o, const mgx_driver *d, const mgx_arg *own, int argc, char **argv);
/* After parsing: the thread count checked against the CPUs, a random seed drawn (--seed -1, printed), the
   -f files read, and the system text (recipe_system or --system, after the thinking instruction with
   --think). 0, or -1 after a message. */
int  mgx_opts_finish(mgx_opts *o, const char *recipe_system);
void mgx_opts_free(mgx_opts *o);

/* Loading. mgx_load_model loads -m (with --mmproj) and checks each file's role; NULL after a message.
   Its steps, for programs that call mg_model_load_file themselves: mgx_check_files before, mgx_model_error
   when loading failed, mgx_model_check after (a vision projector given as -m, a text model given as
   --mmproj, swapped files, a vocabulary-only file, no vision tower when need_vision). */
mg_model *mgx_load_model(const mgx_opts *o, int need_vision);
int  mgx_check_files(const mgx_opts *o);
void mgx_model_error(const mgx_opts *o, const mg_error *e);
int  mgx_model_check(const mgx_opts *o, const mg_model *m, int need_vision);
/* 0 when path is a regular file; else -1 with the readers' message (mgx_file_check: "PATH is a directory",
   "is not a regular file (FIFO)", "PATH: cannot open: ...") after the flag in err (flag may be NULL). */
int  mgx_check_regular(const char *flag, const char *path, char *err, size_t errsz);

/* Prints "error: FLAG PATH: msg" with the path once (msg may already name it); flag may be NULL. */
void mgx_print_error(const char *flag, const char *path, const char *msg);

/* Session options from the common options: threads, context n_ctx, seed. */
void mgx_session_options(const mgx_opts *o, int n_ctx, mg_session_options *so);
/* Sampling from the common options. */
void mgx_sampler_options(const mgx_opts *o, mg_sampler_options *so);

/* Progress on stderr: "<what> k/n, 12.3 s elapsed, about 45 s left" — rewritten in place on a terminal,
   one line per update otherwise; nothing with --quiet. Use as mg_session_options.progress with a
   mgx_progress as progress_user; mgx_progress_start (re)starts the clock for a stage of `total` steps and
   prints its "0/total" line (total 0: the stage stays silent). */
typedef struct mgx_progress { const char *what; double t0; int on, tty; } mgx_progress;
void   mgx_progress_start(mgx_progress *p, const mgx_opts *o, const char *what, int total);
int    mgx_progress_print(void *user, int done, int total);
double mgx_now(void);

/* A text input (a note, a question file, "-" for stdin), at most max bytes, read whole: refused when it is
   an image, holds a NUL byte or is not UTF-8 (the offset named). label names it in messages ("-f x.txt" or
   the path). Returns the NUL-terminated text (malloc'd) and its length, or NULL with a message in err.
   sha (may be NULL) receives the SHA-256 of the bytes. */
char *mgx_read_text(const char *label, const char *path, size_t max, size_t *n, uint8_t sha[32],
                    char *err, size_t errsz);
/* SHA-256 of a regular file's bytes (read whole, at most 2 GiB). 0, or -1 when it cannot be read. */
int   mgx_file_sha256(const char *path, uint8_t sha[32]);
/* Offset of the first byte that breaks UTF-8 in s[0..n), or n when it is all valid. */
size_t mgx_utf8_check(const unsigned char *s, size_t n);

/* Writes s as a JSON string literal. */
void mgx_json_print_string(FILE *f, const char *s, size_t n);
/* 2n lowercase hex digits and a NUL into out. */
void mgx_hex(const uint8_t *b, int n, char *out);
/* Online CPUs, 0 when unknown. */
int  mgx_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif
