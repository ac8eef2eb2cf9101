/* labs.c — validating and printing lab-report extraction answers (see mgx_labs.h). */
#include "mgx_labs.h"
#include "mgx_cli.h"
#include "mgx_image.h"
#include <stdlib.h>
#include <string.h>

const char *const mgx_lab_keys[MGX_LAB_N_KEYS] = { "test", "value", "unit", "reference_range", "flag" };

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* A key from the model, safe to quote in a message (and in the retry prompt): at most 40 printable ASCII bytes. */
static void quote_key(char *dst, size_t cap, const char *key, size_t len) {
    size_t i, k = 0;
    for (i = 0; i < len && k + 4 < cap; i++) {
        unsigned char c = (unsigned char)key[i];
        if (k >= 40) { memcpy(dst + k, "...", 3); k += 3; break; }
        dst[k++] = (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') ? (char)c : '?';
    }
    dst[k] = 0;
}

static int key_index(const char *key, size_t len) {
    int k;
    for (k = 0; k < MGX_LAB_N_KEYS; k++)
        if (strlen(mgx_lab_keys[k]) == len && !memcmp(mgx_lab_keys[k], key, len)) return k;
    return -1;
}

/* 0 when item i (0-based) is a valid result, else -1 with the reason in err. */
static int check_item(const mgx_json *o, size_t i, char *err, size_t errsz) {
    const mgx_json *seen[MGX_LAB_N_KEYS] = { NULL, NULL, NULL, NULL, NULL };
    unsigned long no = (unsigned long)i + 1;
    char q[64];
    size_t j;
    int k;
    if (o->type != MGX_JSON_OBJECT) return mgx_errf(err, errsz, "item %lu is %s, not an object", no, mgx_json_type_name(o->type));
    for (j = 0; j < o->len; j++) {
        size_t klen = o->key_lens ? o->key_lens[j] : strlen(o->keys[j]);
        quote_key(q, sizeof q, o->keys[j], klen);
        if ((k = key_index(o->keys[j], klen)) < 0) return mgx_errf(err, errsz, "item %lu: unexpected key \"%s\"", no, q);
        if (seen[k]) return mgx_errf(err, errsz, "item %lu: duplicate key \"%s\"", no, q);
        seen[k] = o->items[j];
    }
    for (k = 0; k < MGX_LAB_N_KEYS; k++) {
        const mgx_json *v = seen[k];
        if (!v) return mgx_errf(err, errsz, "item %lu: missing key \"%s\"", no, mgx_lab_keys[k]);
        if (k == 1) {
            if (v->type != MGX_JSON_NUMBER && v->type != MGX_JSON_STRING)
                return mgx_errf(err, errsz, "item %lu: \"value\" must be a number or a string, not %s", no, mgx_json_type_name(v->type));
        } else if (v->type != MGX_JSON_STRING)
            return mgx_errf(err, errsz, "item %lu: \"%s\" must be a string, not %s", no, mgx_lab_keys[k], mgx_json_type_name(v->type));
    }
    if (seen[0]->len == 0) return mgx_errf(err, errsz, "item %lu: \"test\" is empty", no);
    return 0;
}

static const char *find_first(const char *s, size_t n, const char *pat) {
    size_t m = strlen(pat), i;
    for (i = 0; i + m <= n; i++) if (!memcmp(s + i, pat, m)) return s + i;
    return NULL;
}

mgx_json *mgx_lab_parse(const char *text, size_t n, char *err, size_t errsz) {
    const char *t = text, *p;
    size_t len = text ? n : 0, i;
    mgx_json *root;
    if (err && errsz) err[0] = 0;
    if (len > MGX_LAB_MAX_TEXT) {
        mgx_errf(err, errsz, "the answer is too long (%lu bytes, at most %lu)", (unsigned long)len, (unsigned long)MGX_LAB_MAX_TEXT);
        return NULL;
    }
    if ((p = find_first(t, len, "<unused95>")) != NULL) { len -= (size_t)(p + 10 - t); t = p + 10; }   /* thinking */
    while (len > 0 && is_space(*t)) { t++; len--; }
    while (len > 0 && is_space(t[len - 1])) len--;
    if (len >= 3 && !memcmp(t, "```", 3)) {                 /* one fence: ```json ... ``` */
        t += 3; len -= 3;
        while (len > 0 && ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z'))) { t++; len--; }   /* "json" */
        if (len >= 3 && !memcmp(t + len - 3, "```", 3)) len -= 3;
        while (len > 0 && is_space(*t)) { t++; len--; }
        while (len > 0 && is_space(t[len - 1])) len--;
    }
    if (len == 0) { mgx_errf(err, errsz, "the answer is empty"); return NULL; }
    if (!(root = mgx_json_parse(t, len, err, errsz))) return NULL;
    if (root->type != MGX_JSON_ARRAY) {
        mgx_errf(err, errsz, "expected a JSON array of objects, got %s", mgx_json_type_name(root->type));
        mgx_json_free(root);
        return NULL;
    }
    for (i = 0; i < root->len; i++)
        if (check_item(root->items[i], i, err, errsz) != 0) { mgx_json_free(root); return NULL; }
    return root;
}

void mgx_lab_print(FILE *f, const mgx_json *results, int pretty) {
    size_t i;
    int k;
    fputc('[', f);
    for (i = 0; i < mgx_json_len(results); i++) {
        const mgx_json *o = mgx_json_at(results, i);
        fputs(i ? (pretty ? ",\n  " : ", ") : (pretty ? "\n  " : ""), f);
        fputc('{', f);
        for (k = 0; k < MGX_LAB_N_KEYS; k++) {
            const mgx_json *v = mgx_json_get(o, mgx_lab_keys[k]);
            fprintf(f, "%s\"%s\": ", k ? ", " : "", mgx_lab_keys[k]);
            if (v && v->type == MGX_JSON_STRING) mgx_json_print_string(f, v->str, v->len);
            else {
                char *num = mgx_json_write(v);
                fputs(num ? num : "null", f);
                free(num);
            }
        }
        fputc('}', f);
    }
    fputs(pretty && mgx_json_len(results) ? "\n]" : "]", f);
}
