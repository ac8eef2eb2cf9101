/* mgx_json.h — a small, strict, allocation-safe JSON (RFC 8259) parser and writer for the examples and tests.

   Parsing builds a tree of mgx_json nodes owned by the root (free it with mgx_json_free). The parser is strict:
   exactly one value, no trailing commas, no comments, no NaN/Infinity, no leading zeros, valid \u escapes
   (surrogate pairs combined, lone surrogates rejected), no raw control characters in strings, well-formed UTF-8
   only (no overlongs, no encoded surrogates, nothing above U+10FFFF), no byte order mark, nesting at most
   MGX_JSON_MAX_DEPTH containers, input at most MGX_JSON_MAX_BYTES, at most MGX_JSON_MAX_NODES values,
   numbers that overflow a double rejected (each message names the limit).
   The input need not be NUL-terminated. Errors never exit or abort: the functions return NULL and, when err is
   non-NULL, write "json: <what> at offset N (line L, column C)" into it. No global state; thread-safe as long as
   nobody changes the C locale concurrently (numbers are converted with strtod/snprintf, locale-corrected). */
#ifndef MGX_JSON_H
#define MGX_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MGX_JSON_MAX_DEPTH 128
#define MGX_JSON_MAX_BYTES ((size_t)1 << 30)
/* Most values (nodes) one parse may make. Memory: a node (56 bytes on 64-bit, plus the text of a number that is
   not a plain integer) and a pointer in its container (plus a key, its pointer and length in an object) per
   value, so at most about 100 bytes per value and 200 MB in all at this limit; a longer document is refused
   with the offset where the limit was reached. Define before compiling json.c to change it. */
#ifndef MGX_JSON_MAX_NODES
#define MGX_JSON_MAX_NODES ((size_t)1 << 21)
#endif

typedef enum {
    MGX_JSON_NULL,
    MGX_JSON_BOOL,
    MGX_JSON_NUMBER,
    MGX_JSON_STRING,
    MGX_JSON_ARRAY,
    MGX_JSON_OBJECT
} mgx_json_type;

typedef struct mgx_json mgx_json;   /* a node; the whole tree is owned by the root */
struct mgx_json {
    mgx_json_type type;
    double num;            /* NUMBER (also BOOL: 0/1) */
    char *str;             /* STRING: decoded UTF-8, NUL-terminated (may contain \u0000 as bytes: use len);
                              NUMBER: the text as written in the source ("4.60", "12345678901234567890"), NULL
                              for an integer of at most 15 digits (the writer gives back the same text) */
    size_t len;            /* STRING, NUMBER with text: byte length; ARRAY/OBJECT: number of children */
    char **keys;           /* OBJECT: key i (decoded, NUL-terminated) */
    mgx_json **items;      /* ARRAY/OBJECT: child i */
    size_t *key_lens;      /* OBJECT: byte length of key i (keys may contain \u0000). May be NULL in hand-built
                              nodes, in which case strlen(keys[i]) is used. */
};

/* Parses exactly one JSON value surrounded by optional whitespace (space, tab, LF, CR) from text[0..n).
   Returns the root, or NULL on error with a message in err (if err && errsz). */
mgx_json *mgx_json_parse(const char *text, size_t n, char *err, size_t errsz);

/* Like mgx_json_parse, but trailing text after the value is allowed: skips leading whitespace, parses one value
   and stores in *end (if end) the offset just past it (trailing whitespace not consumed). To pull a value out of
   a larger text start at its first byte: mgx_json_parse_prefix(text + i, n - i, &end, ...) (end is then relative
   to text + i). On error returns NULL and stores in *end the offset where the error was detected. */
mgx_json *mgx_json_parse_prefix(const char *text, size_t n, size_t *end, char *err, size_t errsz);

/* Scans text for the first '[' (open = '['), '{' (open = '{') or either (open = 0) at which a complete value
   parses, e.g. a JSON array inside model output with prose or ``` fences around it. Returns it (caller frees) and
   its byte range [*start, *end) (either pointer may be NULL), or NULL when there is none. Each candidate is a
   full parse attempt, so this is meant for model-sized outputs (kilobytes), not huge texts. */
mgx_json *mgx_json_find(const char *text, size_t n, char open, size_t *start, size_t *end);

/* Frees a tree (NULL is fine). Only pass roots returned by the parse functions (or trees you built yourself with
   malloc'd parts). */
void mgx_json_free(mgx_json *v);

/* Look-ups. All accept NULL and return NULL / the fallback on a type mismatch. */
const mgx_json *mgx_json_get(const mgx_json *obj, const char *key);     /* NULL if absent / not an object; with
                                                                          duplicate keys the last one wins */
const mgx_json *mgx_json_getn(const mgx_json *obj, const char *key, size_t keylen); /* key of given length */
const mgx_json *mgx_json_at(const mgx_json *arr, size_t i);            /* NULL if out of range / not array */
/* "cases.3.ids" style: '.'-separated object keys and decimal array indices; "" returns root itself. */
const mgx_json *mgx_json_path(const mgx_json *root, const char *path);
double      mgx_json_number(const mgx_json *v, double fallback);       /* NUMBER's value, else fallback */
int         mgx_json_bool(const mgx_json *v, int fallback);            /* BOOL's 0/1, else fallback */
const char *mgx_json_string(const mgx_json *v);                        /* NULL if not a string */
size_t      mgx_json_len(const mgx_json *v);        /* children of an array/object, bytes of a string, else 0 */
const char *mgx_json_type_name(mgx_json_type t);    /* "null", "bool", "number", "string", "array", "object" */

/* Copies a numeric array into out (up to cap elements; out may be NULL when cap is 0); returns the array length
   or -1 if v is not an array whose elements are all numbers. */
long mgx_json_numbers(const mgx_json *arr, double *out, size_t cap);

/* Structural equality: same types, equal numbers (== , so 0 equals -0), equal string bytes, arrays equal
   element-wise, objects with the same keys in the same order and equal values. */
int mgx_json_equal(const mgx_json *a, const mgx_json *b);

/* Serialises compactly (no spaces; keys in stored order; strings escaped with \" \\ \b \f \n \r \t and \u00XX
   for other control characters, other bytes kept as UTF-8 with invalid sequences replaced by U+FFFD; a number
   with source text (str: a valid JSON number) exactly as written, so "4.60" stays "4.60"; other numbers as
   integers when integral and |x| < 2^53 (-0 as "-0"), otherwise the shortest of %.15g/%.16g/%.17g that reads
   back exactly; non-finite numbers as null). Returns malloc'd NUL-terminated text (caller frees) or NULL on
   allocation failure or a malformed / deeper than MGX_JSON_MAX_DEPTH (e.g. cyclic) hand-built tree. */
char *mgx_json_write(const mgx_json *v);

#ifdef __cplusplus
}
#endif

#endif /* MGX_JSON_H */
