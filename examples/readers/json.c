/* json.c — strict RFC 8259 JSON parser and compact writer. See mgx_json.h. */
#include "mgx_json.h"
#include "mgx_image.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------ parser */

typedef struct {
    const unsigned char *s;
    size_t n;         /* bytes of input */
    size_t pos;       /* current offset */
    char *err;
    size_t errsz;
    int failed;       /* an error has been recorded (the first one wins) */
    size_t err_pos;
    size_t nodes;     /* values made so far */
} jp;

static void jp_fail(jp *p, size_t at, const char *fmt, ...) {
    size_t i, line = 1, col = 1;
    int k;
    va_list ap;
    if (p->failed) return;
    p->failed = 1;
    p->err_pos = at;
    if (!p->err || p->errsz == 0) return;
    for (i = 0; i < at && i < p->n; i++) {
        if (p->s[i] == '\n') { line++; col = 1; } else col++;
    }
    k = snprintf(p->err, p->errsz, "json: ");
    if (k < 0 || (size_t)k >= p->errsz) return;
    va_start(ap, fmt);
    vsnprintf(p->err + k, p->errsz - (size_t)k, fmt, ap);
    va_end(ap);
    k = (int)strlen(p->err);
    if ((size_t)k < p->errsz)
        snprintf(p->err + k, p->errsz - (size_t)k, " at offset %lu (line %lu, column %lu)",
                 (unsigned long)at, (unsigned long)line, (unsigned long)col);
}

static void jp_oom(jp *p) { jp_fail(p, p->pos, "out of memory"); }

static void skip_ws(jp *p) {
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->pos++;
        else break;
    }
}

/* Describes the byte at pos for error messages. */
static void fail_unexpected(jp *p, const char *what) {
    if (p->pos >= p->n) { jp_fail(p, p->pos, "unexpected end of input, expected %s", what); return; }
    {
        unsigned char c = p->s[p->pos];
        if (c >= 0x21 && c < 0x7f) jp_fail(p, p->pos, "unexpected '%c', expected %s", c, what);
        else jp_fail(p, p->pos, "unexpected byte 0x%02X, expected %s", (unsigned)c, what);
    }
}

/* A node with `extra` bytes after it (a number's text lives there). */
static mgx_json *new_node(jp *p, mgx_json_type t, size_t extra) {
    mgx_json *v;
    if (!(v = (mgx_json *)MGX_MALLOC(sizeof *v + extra))) { jp_oom(p); return NULL; }
    memset(v, 0, sizeof *v);
    v->type = t;
    p->nodes++;
    return v;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at p->s[at..at+4); returns the code unit or -1. */
static long hex4(const jp *p, size_t at) {
    long u = 0;
    size_t i;
    if (at > p->n || p->n - at < 4) return -1;
    for (i = 0; i < 4; i++) {
        int h = hexval(p->s[at + i]);
        if (h < 0) return -1;
        u = u * 16 + h;
    }
    return u;
}

/* Length of the well-formed UTF-8 sequence starting at s[0] (n bytes available), or 0 if ill-formed
   (Unicode Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len, i;
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) len = 2;
    else if (c < 0xF0) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
    } else if (c < 0xF5) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

static size_t put_utf8(char *o, unsigned long cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

/* Parses a string starting at the opening quote. Returns a malloc'd decoded buffer (NUL-terminated) and its
   byte length in *outlen, or NULL on error. */
static char *parse_string_raw(jp *p, size_t *outlen) {
    size_t open = p->pos, start = p->pos + 1, i, end;
    char *out, *o;
    /* Pass 1: find the closing quote (escapes skipped) so the buffer can be sized; decoded <= raw length. */
    for (i = start; i < p->n; i++) {
        if (p->s[i] == '"') break;
        if (p->s[i] == '\\') i++;
    }
    if (i >= p->n) {
        jp_fail(p, p->n, "unterminated string (opened at offset %lu)", (unsigned long)open);
        return NULL;
    }
    end = i;
    out = (char *)MGX_MALLOC(end - start + 1);
    if (!out) { jp_oom(p); return NULL; }
    o = out;
    /* Pass 2: decode and validate. */
    i = start;
    while (i < end) {
        unsigned char c = p->s[i];
        if (c == '\\') {
            unsigned char e = p->s[i + 1];   /* i + 1 <= end: a backslash never precedes the closing quote */
            switch (e) {
            case '"': *o++ = '"'; i += 2; break;
            case '\\': *o++ = '\\'; i += 2; break;
            case '/': *o++ = '/'; i += 2; break;
            case 'b': *o++ = '\b'; i += 2; break;
            case 'f': *o++ = '\f'; i += 2; break;
            case 'n': *o++ = '\n'; i += 2; break;
            case 'r': *o++ = '\r'; i += 2; break;
            case 't': *o++ = '\t'; i += 2; break;
            case 'u': {
                long u = (i + 6 <= end) ? hex4(p, i + 2) : -1;
                unsigned long cp;
                if (u < 0) { jp_fail(p, i, "invalid \\u escape (needs 4 hex digits)"); goto fail; }
                if (u >= 0xDC00 && u <= 0xDFFF) {
                    jp_fail(p, i, "lone low surrogate \\u%04lX", (unsigned long)u); goto fail;
                }
                if (u >= 0xD800 && u <= 0xDBFF) {
                    long l = -1;
                    if (i + 12 <= end && p->s[i + 6] == '\\' && p->s[i + 7] == 'u') l = hex4(p, i + 8);
                    if (l < 0xDC00 || l > 0xDFFF) {
                        jp_fail(p, i, "lone high surrogate \\u%04lX (not followed by a \\uDC00-\\uDFFF escape)",
                                (unsigned long)u);
                        goto fail;
                    }
                    cp = 0x10000 + (((unsigned long)u - 0xD800) << 10) + ((unsigned long)l - 0xDC00);
                    i += 12;
                } else {
                    cp = (unsigned long)u;
                    i += 6;
                }
                o += put_utf8(o, cp);
                break;
            }
            default:
                if (e >= 0x21 && e < 0x7f) jp_fail(p, i, "invalid escape '\\%c'", e);
                else jp_fail(p, i, "invalid escape (backslash followed by byte 0x%02X)", (unsigned)e);
                goto fail;
            }
        } else if (c < 0x20) {
            jp_fail(p, i, "unescaped control character 0x%02X in string", (unsigned)c);
            goto fail;
        } else if (c < 0x80) {
            *o++ = (char)c;
            i++;
        } else {
            size_t k = utf8_seq(p->s + i, end - i);
            if (!k) { jp_fail(p, i, "invalid UTF-8 byte 0x%02X in string", (unsigned)c); goto fail; }
            memcpy(o, p->s + i, k);
            o += k;
            i += k;
        }
    }
    *o = 0;
    *outlen = (size_t)(o - out);
    p->pos = end + 1;
    return out;
fail:
    MGX_FREE(out);
    return NULL;
}

/* 1 when the text is an integer of at most 15 digits other than -0: the writer prints exactly that text back. */
static int plain_integer(const unsigned char *s, size_t len) {
    size_t i = s[0] == '-';
    if (len - i > 15 || (s[0] == '-' && len == 2 && s[1] == '0')) return 0;
    for (; i < len; i++) if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int parse_number(jp *p, double *out) {
    const unsigned char *s = p->s;
    size_t start = p->pos, i = p->pos, n = p->n, len, dplen, j, k;
    char small[80], *buf, *endp;
    const char *dp;
    struct lconv *lc;
    double d;
    if (i < n && s[i] == '-') i++;
    if (i >= n || s[i] < '0' || s[i] > '9') {
        p->pos = i;
        fail_unexpected(p, "a digit");
        return 0;
    }
    if (s[i] == '0') {
        i++;
        if (i < n && s[i] >= '0' && s[i] <= '9') { jp_fail(p, i - 1, "leading zero in number"); return 0; }
    } else {
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') { p->pos = i; fail_unexpected(p, "a digit after '.'"); return 0; }
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') { p->pos = i; fail_unexpected(p, "a digit in exponent"); return 0; }
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    /* Convert with strtod on a NUL-terminated copy, with '.' replaced by the locale's decimal point. */
    len = i - start;
    lc = localeconv();
    dp = (lc && lc->decimal_point && lc->decimal_point[0]) ? lc->decimal_point : ".";
    dplen = strlen(dp);
    if (len + dplen + 1 <= sizeof small) buf = small;
    else {
        buf = (char *)MGX_MALLOC(len + dplen + 1);
        if (!buf) { jp_oom(p); return 0; }
    }
    for (j = start, k = 0; j < i; j++) {
        if (s[j] == '.') { memcpy(buf + k, dp, dplen); k += dplen; }
        else buf[k++] = (char)s[j];
    }
    buf[k] = 0;
    errno = 0;
    d = strtod(buf, &endp);
    if (endp != buf + k) {   /* cannot happen for a validated number in a sane locale */
        if (buf != small) MGX_FREE(buf);
        jp_fail(p, start, "cannot convert number");
        return 0;
    }
    if (buf != small) MGX_FREE(buf);
    if (d > DBL_MAX || d < -DBL_MAX || d != d) {
        jp_fail(p, start, "number out of range");
        return 0;
    }
    *out = d;
    p->pos = i;
    return 1;
}

static int match_lit(jp *p, const char *lit) {
    size_t L = strlen(lit), i;
    for (i = 0; i < L; i++) {
        if (p->pos + i >= p->n || p->s[p->pos + i] != (unsigned char)lit[i]) {
            jp_fail(p, p->pos, "invalid literal, expected '%s'", lit);
            return 0;
        }
    }
    p->pos += L;
    return 1;
}

/* Grows a container's child arrays so that index v->len fits; cap is the current capacity. */
static int grow(jp *p, mgx_json *v, size_t *cap, int with_keys) {
    size_t nc;
    mgx_json **ni;
    if (v->len < *cap) return 1;
    nc = *cap ? *cap * 2 : 4;
    if (nc > ((size_t)-1) / sizeof(void *) / 2) { jp_oom(p); return 0; }
    ni = (mgx_json **)MGX_REALLOC(v->items, nc * sizeof *ni);
    if (!ni) { jp_oom(p); return 0; }
    v->items = ni;
    if (with_keys) {
        char **nk;
        size_t *nl;
        nk = (char **)MGX_REALLOC(v->keys, nc * sizeof *nk);
        if (!nk) { jp_oom(p); return 0; }
        v->keys = nk;
        nl = (size_t *)MGX_REALLOC(v->key_lens, nc * sizeof *nl);
        if (!nl) { jp_oom(p); return 0; }
        v->key_lens = nl;
    }
    *cap = nc;
    return 1;
}

/* Gives back the unused part of a finished container's arrays (keeping the old blocks if realloc declines). */
static void fit(mgx_json *v, int with_keys) {
    void *q;
    if (!v->len) return;
    if ((q = MGX_REALLOC(v->items, v->len * sizeof *v->items)) != NULL) v->items = (mgx_json **)q;
    if (!with_keys) return;
    if ((q = MGX_REALLOC(v->keys, v->len * sizeof *v->keys)) != NULL) v->keys = (char **)q;
    if ((q = MGX_REALLOC(v->key_lens, v->len * sizeof *v->key_lens)) != NULL) v->key_lens = (size_t *)q;
}

static mgx_json *parse_value(jp *p, int depth);

static mgx_json *parse_array(jp *p, int depth) {
    mgx_json *v = new_node(p, MGX_JSON_ARRAY, 0);
    size_t cap = 0;
    if (!v) return NULL;
    p->pos++;   /* '[' */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') { p->pos++; return v; }
    for (;;) {
        mgx_json *child;
        if (!grow(p, v, &cap, 0)) break;
        skip_ws(p);
        child = parse_value(p, depth + 1);
        if (!child) break;
        v->items[v->len++] = child;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->n && p->s[p->pos] == ']') { p->pos++; fit(v, 0); return v; }
        fail_unexpected(p, "',' or ']' in array");
        break;
    }
    mgx_json_free(v);
    return NULL;
}

static mgx_json *parse_object(jp *p, int depth) {
    mgx_json *v = new_node(p, MGX_JSON_OBJECT, 0);
    size_t cap = 0;
    if (!v) return NULL;
    p->pos++;   /* '{' */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') { p->pos++; return v; }
    for (;;) {
        mgx_json *child;
        char *key;
        size_t klen = 0;
        if (!grow(p, v, &cap, 1)) break;
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != '"') { fail_unexpected(p, "a string key in object"); break; }
        key = parse_string_raw(p, &klen);
        if (!key) break;
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != ':') { MGX_FREE(key); fail_unexpected(p, "':' after object key"); break; }
        p->pos++;
        skip_ws(p);
        child = parse_value(p, depth + 1);
        if (!child) { MGX_FREE(key); break; }
        v->keys[v->len] = key;
        v->key_lens[v->len] = klen;
        v->items[v->len++] = child;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->n && p->s[p->pos] == '}') { p->pos++; fit(v, 1); return v; }
        fail_unexpected(p, "',' or '}' in object");
        break;
    }
    mgx_json_free(v);
    return NULL;
}

/* depth = number of containers enclosing the value. */
static mgx_json *parse_value(jp *p, int depth) {
    unsigned char c;
    mgx_json *v;
    if (p->pos >= p->n) { fail_unexpected(p, "a value"); return NULL; }
    if (p->nodes >= MGX_JSON_MAX_NODES) {
        jp_fail(p, p->pos, "more than %lu values (the limit MGX_JSON_MAX_NODES)", (unsigned long)MGX_JSON_MAX_NODES);
        return NULL;
    }
    c = p->s[p->pos];
    switch (c) {
    case '{':
    case '[':
        if (depth >= MGX_JSON_MAX_DEPTH) {
            jp_fail(p, p->pos, "nesting deeper than %d (the limit MGX_JSON_MAX_DEPTH)", MGX_JSON_MAX_DEPTH);
            return NULL;
        }
        return c == '[' ? parse_array(p, depth) : parse_object(p, depth);
    case '"': {
        size_t len = 0;
        char *s = parse_string_raw(p, &len);
        if (!s) return NULL;
        v = new_node(p, MGX_JSON_STRING, 0);
        if (!v) { MGX_FREE(s); return NULL; }
        v->str = s;
        v->len = len;
        return v;
    }
    case 't':
    case 'f':
        if (!match_lit(p, c == 't' ? "true" : "false")) return NULL;
        v = new_node(p, MGX_JSON_BOOL, 0);
        if (v) v->num = c == 't' ? 1.0 : 0.0;
        return v;
    case 'n':
        if (!match_lit(p, "null")) return NULL;
        return new_node(p, MGX_JSON_NULL, 0);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            double d;
            size_t start = p->pos, len;
            if (!parse_number(p, &d)) return NULL;
            len = p->pos - start;
            if (plain_integer(p->s + start, len)) {
                if ((v = new_node(p, MGX_JSON_NUMBER, 0)) != NULL) v->num = d;
                return v;
            }
            if (!(v = new_node(p, MGX_JSON_NUMBER, len + 1))) return NULL;
            v->num = d;
            v->str = (char *)(v + 1);   /* the text as written, so the writer can give it back verbatim */
            memcpy(v->str, p->s + start, len);
            v->str[len] = 0;
            v->len = len;
            return v;
        }
        if (c == 0xEF && p->pos + 2 < p->n && p->s[p->pos + 1] == 0xBB && p->s[p->pos + 2] == 0xBF)
            jp_fail(p, p->pos, "byte order mark not allowed");
        else
            fail_unexpected(p, "a value");
        return NULL;
    }
}

static mgx_json *parse_common(const char *text, size_t n, int whole, size_t *end, char *err, size_t errsz) {
    jp p;
    mgx_json *v;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)text;
    p.n = n;
    p.err = err;
    p.errsz = errsz;
    if (err && errsz) err[0] = 0;
    if (end) *end = 0;
    if (!text && n) { jp_fail(&p, 0, "NULL input"); return NULL; }
    if (n > MGX_JSON_MAX_BYTES) {
        p.n = 0;
        jp_fail(&p, 0, "input of %lu bytes exceeds the limit of %lu bytes (MGX_JSON_MAX_BYTES)", (unsigned long)n,
                (unsigned long)MGX_JSON_MAX_BYTES);
        return NULL;
    }
    skip_ws(&p);
    if (p.pos >= n) {
        jp_fail(&p, p.pos, n ? "no value (only whitespace)" : "empty input");
        if (end) *end = p.err_pos;
        return NULL;
    }
    v = parse_value(&p, 0);
    if (v && whole) {
        skip_ws(&p);
        if (p.pos < n) {
            fail_unexpected(&p, "end of input after the value");
            mgx_json_free(v);
            v = NULL;
        }
    }
    if (end) *end = v ? p.pos : p.err_pos;
    return v;
}

mgx_json *mgx_json_parse(const char *text, size_t n, char *err, size_t errsz) {
    return parse_common(text, n, 1, NULL, err, errsz);
}

mgx_json *mgx_json_parse_prefix(const char *text, size_t n, size_t *end, char *err, size_t errsz) {
    return parse_common(text, n, 0, end, err, errsz);
}

mgx_json *mgx_json_find(const char *text, size_t n, char open, size_t *start, size_t *end) {
    size_t i, e = 0;
    if (start) *start = 0;
    if (end) *end = 0;
    if (!text || n > MGX_JSON_MAX_BYTES) return NULL;
    for (i = 0; i < n; i++) {
        char c = text[i];
        mgx_json *v;
        if (!((open == 0 && (c == '[' || c == '{')) || (open != 0 && c == open))) continue;
        v = parse_common(text + i, n - i, 0, &e, NULL, 0);
        if (v) {
            if (start) *start = i;
            if (end) *end = i + e;
            return v;
        }
    }
    return NULL;
}

void mgx_json_free(mgx_json *v) {
    size_t i;
    if (!v) return;
    if (v->items)
        for (i = 0; i < v->len; i++) mgx_json_free(v->items[i]);
    if (v->keys)
        for (i = 0; i < v->len; i++) MGX_FREE(v->keys[i]);
    MGX_FREE(v->items);
    MGX_FREE(v->keys);
    MGX_FREE(v->key_lens);
    if (v->str != (char *)(v + 1)) MGX_FREE(v->str);   /* a parsed number's text shares the node's block */
    MGX_FREE(v);
}

/* --------------------------------------------------------------------------------------------- accessors */

static size_t key_len(const mgx_json *obj, size_t i) {
    if (obj->key_lens) return obj->key_lens[i];
    return obj->keys[i] ? strlen(obj->keys[i]) : 0;
}

const mgx_json *mgx_json_getn(const mgx_json *obj, const char *key, size_t keylen) {
    size_t i;
    if (!obj || obj->type != MGX_JSON_OBJECT || !obj->keys || !obj->items || (!key && keylen)) return NULL;
    for (i = obj->len; i-- > 0;) {   /* last duplicate wins */
        if (!obj->keys[i] || key_len(obj, i) != keylen) continue;
        if (keylen == 0 || memcmp(obj->keys[i], key, keylen) == 0) return obj->items[i];
    }
    return NULL;
}

const mgx_json *mgx_json_get(const mgx_json *obj, const char *key) {
    if (!key) return NULL;
    return mgx_json_getn(obj, key, strlen(key));
}

const mgx_json *mgx_json_at(const mgx_json *arr, size_t i) {
    if (!arr || arr->type != MGX_JSON_ARRAY || !arr->items || i >= arr->len) return NULL;
    return arr->items[i];
}

const mgx_json *mgx_json_path(const mgx_json *root, const char *path) {
    const mgx_json *v = root;
    const char *s = path;
    if (!root || !path) return NULL;
    if (!*s) return root;
    for (;;) {
        const char *e = strchr(s, '.');
        size_t seg = e ? (size_t)(e - s) : strlen(s);
        if (!v) return NULL;
        if (v->type == MGX_JSON_OBJECT) {
            v = mgx_json_getn(v, s, seg);
        } else if (v->type == MGX_JSON_ARRAY) {
            size_t idx = 0, k;
            if (seg == 0) return NULL;
            for (k = 0; k < seg; k++) {
                if (s[k] < '0' || s[k] > '9') return NULL;
                if (idx > ((size_t)-1 - 9) / 10) return NULL;
                idx = idx * 10 + (size_t)(s[k] - '0');
            }
            v = mgx_json_at(v, idx);
        } else {
            return NULL;
        }
        if (!e) return v;
        s = e + 1;
    }
}

double mgx_json_number(const mgx_json *v, double fallback) {
    return (v && v->type == MGX_JSON_NUMBER) ? v->num : fallback;
}

int mgx_json_bool(const mgx_json *v, int fallback) {
    return (v && v->type == MGX_JSON_BOOL) ? (v->num != 0) : fallback;
}

const char *mgx_json_string(const mgx_json *v) {
    return (v && v->type == MGX_JSON_STRING) ? (v->str ? v->str : "") : NULL;
}

size_t mgx_json_len(const mgx_json *v) {
    if (!v) return 0;
    if (v->type == MGX_JSON_STRING || v->type == MGX_JSON_ARRAY || v->type == MGX_JSON_OBJECT) return v->len;
    return 0;
}

const char *mgx_json_type_name(mgx_json_type t) {
    switch (t) {
    case MGX_JSON_NULL: return "null";
    case MGX_JSON_BOOL: return "bool";
    case MGX_JSON_NUMBER: return "number";
    case MGX_JSON_STRING: return "string";
    case MGX_JSON_ARRAY: return "array";
    case MGX_JSON_OBJECT: return "object";
    }
    return "?";
}

long mgx_json_numbers(const mgx_json *arr, double *out, size_t cap) {
    size_t i;
    if (!arr || arr->type != MGX_JSON_ARRAY || (arr->len && !arr->items) || arr->len > (size_t)LONG_MAX) return -1;
    for (i = 0; i < arr->len; i++)
        if (!arr->items[i] || arr->items[i]->type != MGX_JSON_NUMBER) return -1;
    for (i = 0; i < arr->len && i < cap && out; i++) out[i] = arr->items[i]->num;
    return (long)arr->len;
}

static int equal_rec(const mgx_json *a, const mgx_json *b, int depth) {
    size_t i;
    if (a == b) return 1;
    if (!a || !b || a->type != b->type || depth > MGX_JSON_MAX_DEPTH) return 0;
    switch (a->type) {
    case MGX_JSON_NULL: return 1;
    case MGX_JSON_BOOL: return (a->num != 0) == (b->num != 0);
    case MGX_JSON_NUMBER: return a->num == b->num;
    case MGX_JSON_STRING:
        if (a->len != b->len) return 0;
        return a->len == 0 || (a->str && b->str && memcmp(a->str, b->str, a->len) == 0);
    case MGX_JSON_ARRAY:
    case MGX_JSON_OBJECT:
        if (a->len != b->len) return 0;
        if (a->len && (!a->items || !b->items)) return 0;
        if (a->type == MGX_JSON_OBJECT && a->len && (!a->keys || !b->keys)) return 0;
        for (i = 0; i < a->len; i++) {
            if (a->type == MGX_JSON_OBJECT) {
                size_t la, lb;
                if (!a->keys[i] || !b->keys[i]) return 0;
                la = key_len(a, i);
                lb = key_len(b, i);
                if (la != lb || memcmp(a->keys[i], b->keys[i], la) != 0) return 0;
            }
            if (!equal_rec(a->items[i], b->items[i], depth + 1)) return 0;
        }
        return 1;
    }
    return 0;
}

int mgx_json_equal(const mgx_json *a, const mgx_json *b) { return equal_rec(a, b, 0); }

/* ------------------------------------------------------------------------------------------------ writer */

typedef struct {
    char *p;
    size_t n, cap;
    int bad;
} jw;

static void jw_put(jw *w, const char *s, size_t k) {
    if (w->bad) return;
    if (w->cap == 0 || k > w->cap - w->n - 1) {
        size_t nc = w->cap ? w->cap : 256;
        char *np;
        while (nc - w->n - 1 < k) {
            if (nc > ((size_t)-1) / 2) { w->bad = 1; return; }
            nc *= 2;
        }
        np = (char *)MGX_REALLOC(w->p, nc);
        if (!np) { w->bad = 1; return; }
        w->p = np;
        w->cap = nc;
    }
    memcpy(w->p + w->n, s, k);
    w->n += k;
    w->p[w->n] = 0;
}

static void jw_str(jw *w, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    jw_put(w, "\"", 1);
    while (i < len) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char tmp[8];
        size_t k;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) { i++; run++; continue; }
        if (c >= 0x80 && (k = utf8_seq(u + i, len - i)) != 0) { i += k; run += k; continue; }
        jw_put(w, s + i - run, run);
        run = 0;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                memcpy(tmp, "\\u00", 4);
                tmp[4] = hex[c >> 4];
                tmp[5] = hex[c & 15];
                tmp[6] = 0;
                esc = tmp;
            } else {
                esc = "\xEF\xBF\xBD";   /* invalid UTF-8 byte -> U+FFFD */
            }
        }
        jw_put(w, esc, strlen(esc));
        i++;
    }
    jw_put(w, s + i - run, run);
    jw_put(w, "\"", 1);
}

/* Replaces the locale's decimal point in buf (if not '.') by '.'. */
static void fix_decimal_point(char *buf) {
    struct lconv *lc = localeconv();
    const char *dp = (lc && lc->decimal_point && lc->decimal_point[0]) ? lc->decimal_point : ".";
    char *at;
    size_t dl;
    if (strcmp(dp, ".") == 0) return;
    at = strstr(buf, dp);
    if (!at) return;
    dl = strlen(dp);
    *at = '.';
    if (dl > 1) memmove(at + 1, at + dl, strlen(at + dl) + 1);
}

static void jw_num(jw *w, double x) {
    char buf[64];
    int prec;
    if (x != x || x > DBL_MAX || x < -DBL_MAX) { jw_put(w, "null", 4); return; }
    if (x == floor(x) && fabs(x) < 9007199254740992.0) {
        if (x == 0) {
            if (signbit(x)) jw_put(w, "-0", 2);
            else jw_put(w, "0", 1);
            return;
        }
        snprintf(buf, sizeof buf, "%lld", (long long)x);
        jw_put(w, buf, strlen(buf));
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (prec == 17 || strtod(buf, NULL) == x) break;
    }
    fix_decimal_point(buf);
    jw_put(w, buf, strlen(buf));
}

/* 1 when s[0..n) is a JSON number (RFC 8259 grammar), so it can be written as it is. */
static int number_text_ok(const char *s, size_t n) {
    size_t i = 0, d;
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else {
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) continue;
        if (i == d) return 0;
    }
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++) continue;
        if (i == d) return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) continue;
        if (i == d) return 0;
    }
    return i == n;
}

static void jw_value(jw *w, const mgx_json *v, int depth) {
    size_t i;
    if (w->bad) return;
    if (!v || depth > MGX_JSON_MAX_DEPTH) { w->bad = 1; return; }
    switch (v->type) {
    case MGX_JSON_NULL: jw_put(w, "null", 4); return;
    case MGX_JSON_BOOL:
        if (v->num != 0) jw_put(w, "true", 4);
        else jw_put(w, "false", 5);
        return;
    case MGX_JSON_NUMBER:
        if (v->str && number_text_ok(v->str, v->len)) jw_put(w, v->str, v->len);   /* as written in the source */
        else jw_num(w, v->num);
        return;
    case MGX_JSON_STRING:
        if (!v->str && v->len) { w->bad = 1; return; }
        jw_str(w, v->str ? v->str : "", v->len);
        return;
    case MGX_JSON_ARRAY:
        if (v->len && !v->items) { w->bad = 1; return; }
        jw_put(w, "[", 1);
        for (i = 0; i < v->len && !w->bad; i++) {
            if (i) jw_put(w, ",", 1);
            jw_value(w, v->items[i], depth + 1);
        }
        jw_put(w, "]", 1);
        return;
    case MGX_JSON_OBJECT:
        if (v->len && (!v->items || !v->keys)) { w->bad = 1; return; }
        jw_put(w, "{", 1);
        for (i = 0; i < v->len && !w->bad; i++) {
            if (i) jw_put(w, ",", 1);
            if (!v->keys[i]) { w->bad = 1; return; }
            jw_str(w, v->keys[i], key_len(v, i));
            jw_put(w, ":", 1);
            jw_value(w, v->items[i], depth + 1);
        }
        jw_put(w, "}", 1);
        return;
    }
    w->bad = 1;
}

char *mgx_json_write(const mgx_json *v) {
    jw w;
    memset(&w, 0, sizeof w);
    if (!v) return NULL;
    jw_value(&w, v, 0);
    if (w.bad || !w.p) { MGX_FREE(w.p); return NULL; }
    return w.p;
}
