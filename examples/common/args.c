/* args.c — table-driven command lines (mgx_args.h). */
#include "mgx_args.h"
#include "medgemma.h"
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int mgx_parse_u64(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (!s || !*s) return -1;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9) return -1;
        if (v > (UINT64_MAX - d) / 10) { while (s[1] >= '0' && s[1] <= '9') s++; return s[1] ? -1 : -2; }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int mgx_parse_ll(const char *s, long long lo, long long hi, long long *out) {
    uint64_t mag;
    int neg = s && *s == '-', r;
    long long v;
    if (!s) return -1;
    if ((r = mgx_parse_u64(s + neg, &mag)) != 0) return r;
    if (mag > (uint64_t)LLONG_MAX + (uint64_t)neg) return -2;
    v = neg ? (mag == (uint64_t)LLONG_MAX + 1 ? LLONG_MIN : -(long long)mag) : (long long)mag;
    if (v < lo || v > hi) return -2;
    *out = v;
    return 0;
}

/* [+-]digits[.digits][(e|E)[+-]digits] with at least one mantissa digit: nothing strtod would read as hex,
   inf or nan, and no surrounding space. */
static int decimal_syntax(const char *s) {
    int digits = 0;
    if (*s == '+' || *s == '-') s++;
    while (*s >= '0' && *s <= '9') { s++; digits++; }
    if (*s == '.') for (s++; *s >= '0' && *s <= '9'; s++) digits++;
    if (!digits) return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9') s++;
    }
    return *s == 0;
}

int mgx_parse_double(const char *s, double lo, double hi, double *out) {
    double v;
    if (!s || !decimal_syntax(s)) return -1;
    v = strtod(s, NULL);
    if (!isfinite(v) || v < lo || v > hi) return -2;
    *out = v;
    return 0;
}

/* ---------- finding options ---------- */

/* 1 when `tok` (its first len bytes) is one of the comma-separated spellings in names. */
static int names_match(const char *names, const char *tok, size_t len) {
    const char *p = names;
    while (*p) {
        size_t n;
        while (*p == ' ' || *p == ',') p++;
        n = strcspn(p, ", ");
        if (n == len && n && !strncmp(p, tok, len)) return 1;
        p += n;
    }
    return 0;
}

static const mgx_arg *find_arg(const mgx_argspec *spec, const char *tok, size_t len) {
    const mgx_argtable *t;
    const mgx_arg *a;
    for (t = spec->tables; t && t->args; t++)
        for (a = t->args; a->names; a++) if (names_match(a->names, tok, len)) return a;
    return NULL;
}

static int fail(char *err, size_t errsz, const char *fmt, ...) {
    va_list ap;
    if (err && errsz) { va_start(ap, fmt); vsnprintf(err, errsz, fmt, ap); va_end(ap); }
    return MGX_ARGS_BAD;
}

/* Stores one value into the option's destination; MGX_ARGS_OK or MGX_ARGS_BAD with a message. */
static int store(const mgx_arg *a, const char *flag, const char *v, char *err, size_t errsz) {
    long long i;
    double d;
    int r;
    switch (a->kind) {
    case MGX_STR: *(const char **)a->dest = v; return MGX_ARGS_OK;
    case MGX_INT:
        if ((r = mgx_parse_ll(v, (long long)a->lo, (long long)a->hi, &i)) != 0)
            return fail(err, errsz, "%s: '%s' %s (accepted: %.0f to %.0f)", flag, v,
                        r == -1 ? "is not a whole number" : "is out of range", a->lo, a->hi);
        *(int *)a->dest = (int)i;
        return MGX_ARGS_OK;
    case MGX_FLOAT:
        if ((r = mgx_parse_double(v, a->lo, a->hi, &d)) != 0)
            return fail(err, errsz, "%s: '%s' %s (accepted: %g to %g)", flag, v,
                        r == -1 ? "is not a decimal number" : "is out of range", a->lo, a->hi);
        *(float *)a->dest = (float)d;
        return MGX_ARGS_OK;
    case MGX_SEED: {
        mgx_seed *s = (mgx_seed *)a->dest;
        if (!strcmp(v, "-1")) { s->random = 1; s->value = 0; return MGX_ARGS_OK; }
        if ((r = mgx_parse_u64(v, &s->value)) != 0)
            return fail(err, errsz, "%s: '%s' %s (accepted: 0 to 18446744073709551615, or -1 for a random seed)", flag, v,
                        r == -1 ? "is not a whole number" : "is out of range");
        s->random = 0;
        return MGX_ARGS_OK;
    }
    case MGX_ENUM: {
        const char *p = a->meta;
        size_t len = strlen(v);
        for (i = 0; *p; i++) {
            size_t n = strcspn(p, "|");
            if (n == len && !strncmp(p, v, n)) { *(int *)a->dest = (int)i; return MGX_ARGS_OK; }
            p += n + (p[n] == '|');
        }
        return fail(err, errsz, "%s: '%s' is not one of %s", flag, v, a->meta);
    }
    case MGX_LIST: {
        mgx_list *l = (mgx_list *)a->dest;
        int cap = a->hi > 0 && a->hi < MGX_MAX_LIST ? (int)a->hi : MGX_MAX_LIST;
        if (l->n >= cap) return fail(err, errsz, "%s: at most %d values", flag, cap);
        l->v[l->n] = v;
        l->tag[l->n++] = (int)a->lo;
        return MGX_ARGS_OK;
    }
    case MGX_FLAG: break;
    }
    return fail(err, errsz, "%s takes no value", flag);
}

/* The option names as the user may have written them, for messages: "-q" or "--ctx-size". */
static void first_name(const char *names, char *out, size_t cap) {
    size_t n = strcspn(names, ", ");
    snprintf(out, cap, "%.*s", (int)n, names);
}

#define MGX_MAX_ARGS 128   /* options one program may have (more are parsed, not checked as required) */

static int check_required(const mgx_argspec *spec, const int *seen, char *err, size_t errsz) {
    const mgx_argtable *t;
    const mgx_arg *a;
    int k = 0;
    for (t = spec->tables; t && t->args; t++)
        for (a = t->args; a->names && k < MGX_MAX_ARGS; a++, k++)
            if ((a->flags & MGX_REQUIRED) && !seen[k]) {
                char name[64];
                first_name(a->names, name, sizeof name);
                return fail(err, errsz, "missing %s%s%s", name, a->meta ? " " : "", a->meta ? a->meta : "");
            }
    return MGX_ARGS_OK;
}

static int arg_index(const mgx_argspec *spec, const mgx_arg *x) {
    const mgx_argtable *t;
    const mgx_arg *a;
    int k = 0;
    for (t = spec->tables; t && t->args; t++)
        for (a = t->args; a->names; a++, k++) if (a == x) return k;
    return -1;
}

int mgx_args_parse(const mgx_argspec *spec, int argc, char **argv, const char **pos, int *n_pos,
                   char *err, size_t errsz) {
    int seen[MGX_MAX_ARGS], i, k, r, only_pos = 0;
    memset(seen, 0, sizeof seen);
    *n_pos = 0;
    for (i = 1; i < argc; i++) {
        const char *tok = argv[i], *eq, *v;
        const mgx_arg *a;
        size_t len;
        char flag[64];
        if (only_pos || tok[0] != '-' || !tok[1]) {
            if (*n_pos >= spec->max_pos)
                return fail(err, errsz, "unexpected argument '%s' (%s takes %s)", tok, spec->prog,
                            spec->max_pos ? spec->pos_name : "no arguments");
            pos[(*n_pos)++] = tok;
            continue;
        }
        if (!strcmp(tok, "--")) { only_pos = 1; continue; }
        if (!strcmp(tok, "-h") || !strcmp(tok, "--help")) return MGX_ARGS_HELP;
        if (!strcmp(tok, "--version")) return MGX_ARGS_VERSION;
        eq = tok[1] == '-' ? strchr(tok, '=') : NULL;
        len = eq ? (size_t)(eq - tok) : strlen(tok);
        snprintf(flag, sizeof flag, "%.*s", (int)(len < 60 ? len : 60), tok);
        if (!(a = find_arg(spec, tok, len))) return fail(err, errsz, "unknown option %s", flag);
        if ((k = arg_index(spec, a)) < MGX_MAX_ARGS) seen[k] = 1;
        if (a->kind == MGX_FLAG) {
            if (eq) return fail(err, errsz, "%s takes no value", flag);
            *(int *)a->dest = 1;
            continue;
        }
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else return fail(err, errsz, "%s needs a value%s%s", flag, a->meta ? " " : "", a->meta ? a->meta : "");
        if ((r = store(a, flag, v, err, errsz)) != MGX_ARGS_OK) return r;
    }
    if ((r = check_required(spec, seen, err, errsz)) != MGX_ARGS_OK) return r;
    if (*n_pos < spec->min_pos) return fail(err, errsz, "missing %s", spec->pos_name);
    return MGX_ARGS_OK;
}

/* ---------- help ---------- */

static void help_line(FILE *f, const mgx_arg *a) {
    char left[96];
    int n = snprintf(left, sizeof left, "  %s%s%s", a->names, a->meta ? " " : "", a->meta ? a->meta : "");
    if (a->kind == MGX_LIST && n < (int)sizeof left - 8) snprintf(left + n, sizeof left - (size_t)n, " ...");
    if (strlen(left) < 30) fprintf(f, "%-30s %s\n", left, a->help ? a->help : "");
    else fprintf(f, "%s\n%-30s %s\n", left, "", a->help ? a->help : "");
}

void mgx_args_help(const mgx_argspec *spec, FILE *f) {
    const mgx_argtable *t;
    const mgx_arg *a;
    fprintf(f, "usage: %s %s\n", spec->prog, spec->usage);
    if (spec->about) fprintf(f, "\n%s\n", spec->about);
    for (t = spec->tables; t && t->args; t++) {
        if (!t->args->names) continue;
        fprintf(f, "\n%s:\n", t->title ? t->title : "Options");
        for (a = t->args; a->names; a++) help_line(f, a);
    }
    fprintf(f, "\n%-30s %s\n%-30s %s\n", "  -h, --help", "this help", "  --version", "the runtime version and build");
    if (spec->footer) fprintf(f, "\n%s\n", spec->footer);
}

void mgx_args_version(const char *prog, FILE *f) {
    fprintf(f, "%s (medgemma.h %d.%d.%d; %s)\n", prog, MEDGEMMA_VERSION_MAJOR, MEDGEMMA_VERSION_MINOR,
            MEDGEMMA_VERSION_PATCH, mg_build_info());
}

int mgx_usage_error(const char *prog, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", prog);
    return 2;
}

int mgx_args(const mgx_argspec *spec, int argc, char **argv, const char **pos, int *n_pos) {
    char err[512];
    switch (mgx_args_parse(spec, argc, argv, pos, n_pos, err, sizeof err)) {
    case MGX_ARGS_OK:      return -1;
    case MGX_ARGS_HELP:    mgx_args_help(spec, stdout); return 0;
    case MGX_ARGS_VERSION: mgx_args_version(spec->prog, stdout); return 0;
    default:               return mgx_usage_error(spec->prog, "%s", err);
    }
}
