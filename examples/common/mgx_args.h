/* mgx_args.h — command lines from a table: one table of options per program (and shared tables), from which
   parsing, validation and --help are generated. Used by every driver and every `mg` subcommand.

   Rules
     -x VALUE, --name VALUE and --name=VALUE; "--" ends the options; "-" alone is an argument (stdin).
     Numbers are read strictly: the whole text, decimal only, checked against the option's range (an
     integer "3abc", "1e3", "99999999999" or a float "nan", "inf", "0x10" are refused with the flag and the
     accepted range named). Enumerations accept only their listed words.
     -h/--help prints the generated help and --version the runtime version and build (both: exit 0); any
     problem is a usage error (the caller exits 2) with a one-line message naming the option. */
#ifndef MGX_ARGS_H
#define MGX_ARGS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

#define MGX_MAX_LIST 64   /* values a repeatable option may collect */

typedef enum mgx_arg_kind {
    MGX_FLAG,    /* int: set to 1 */
    MGX_STR,     /* const char *: the value */
    MGX_INT,     /* int: decimal integer in [lo, hi] */
    MGX_FLOAT,   /* float: finite decimal number in [lo, hi] */
    MGX_SEED,    /* mgx_seed: 0 to 2^64-1, or -1 for a random seed */
    MGX_ENUM,    /* int: index of the value among meta's words ("medgemma|llamacpp") */
    MGX_LIST     /* mgx_list: repeatable, values in command-line order, each tagged with (int)lo; at most hi */
} mgx_arg_kind;

#define MGX_REQUIRED 1   /* mgx_arg.flags: the option must be given */

typedef struct mgx_arg {
    const char *names;   /* spellings, comma-separated: "-t, --threads"; NULL ends a table */
    mgx_arg_kind kind;
    void *dest;
    const char *meta;    /* the value's name in --help ("N", "FILE"); MGX_ENUM: the words, '|'-separated */
    const char *help;    /* one line for --help, defaults written in it */
    double lo, hi;       /* accepted range (MGX_INT, MGX_FLOAT); MGX_LIST: tag and maximum count */
    int flags;           /* MGX_REQUIRED */
} mgx_arg;

typedef struct mgx_seed { uint64_t value; int random; } mgx_seed;
typedef struct mgx_list { int n; const char *v[MGX_MAX_LIST]; int tag[MGX_MAX_LIST]; } mgx_list;

/* A titled group of options ("Model", "Sampling"), ended by an entry with names NULL. */
typedef struct mgx_argtable { const char *title; const mgx_arg *args; } mgx_argtable;

typedef struct mgx_argspec {
    const char *prog;              /* "cxr", "mg generate" */
    const char *usage;             /* after the program name: "IMAGE -q QUESTION [-q ...] -m MODEL [options]" */
    const char *about;             /* what the program does (printed by --help), may be NULL */
    int min_pos, max_pos;          /* positional arguments accepted */
    const char *pos_name;          /* their name in messages ("IMAGE", "PRIOR CURRENT") */
    const mgx_argtable *tables;    /* ended by a table with args NULL */
    const char *footer;            /* printed at the end of --help, may be NULL */
} mgx_argspec;

enum { MGX_ARGS_OK = 0, MGX_ARGS_HELP = 1, MGX_ARGS_VERSION = 2, MGX_ARGS_BAD = 3 };

/* Parses argv[1..argc-1] into the tables' destinations and the positional arguments (pos: room for
   max_pos). Returns MGX_ARGS_OK, MGX_ARGS_HELP / MGX_ARGS_VERSION when asked, or MGX_ARGS_BAD with a
   one-line message in err. Destinations keep their values unless an option sets them. */
int  mgx_args_parse(const mgx_argspec *spec, int argc, char **argv, const char **pos, int *n_pos,
                    char *err, size_t errsz);
/* mgx_args_parse for a main(): prints help/version to stdout or "PROG: error: ... (see PROG --help)" to
   stderr. Returns -1 to go on, else the exit code (0 after help/version, 2 after a usage error). */
int  mgx_args(const mgx_argspec *spec, int argc, char **argv, const char **pos, int *n_pos);
void mgx_args_help(const mgx_argspec *spec, FILE *f);
void mgx_args_version(const char *prog, FILE *f);
/* Prints "PROG: error: <message>" and the --help hint to stderr; returns 2 (the usage-error exit code). */
int  mgx_usage_error(const char *prog, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Strict number parsing: the whole of s, decimal. 0 ok, -1 not a number, -2 out of [lo, hi]. */
int  mgx_parse_ll(const char *s, long long lo, long long hi, long long *out);
int  mgx_parse_u64(const char *s, uint64_t *out);
int  mgx_parse_double(const char *s, double lo, double hi, double *out);

#ifdef __cplusplus
}
#endif
#endif
