/* boxes.c — localization answers: find and validate the box list, map it to pixels, draw it (see mgx_boxes.h). */
#include "mgx_boxes.h"
#include "mgx_json.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WARNINGS 10        /* skipped entries reported one by one; the rest as a count */
#define MAX_WORK ((size_t)8 << 20)    /* bytes read by parse attempts while looking for the list */

/* ---- finding the list ------------------------------------------------------------------------------------ */

static const char *find_first(const char *s, size_t n, const char *pat) {
    size_t m = strlen(pat), i;
    if (m > n) return NULL;
    for (i = 0; i + m <= n; i++) if (s[i] == pat[0] && !memcmp(s + i, pat, m)) return s + i;
    return NULL;
}

static const char *find_last(const char *s, size_t n, const char *pat) {
    size_t m = strlen(pat), i;
    if (m > n) return NULL;
    for (i = n - m + 1; i-- > 0;) if (s[i] == pat[0] && !memcmp(s + i, pat, m)) return s + i;
    return NULL;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The first JSON list of objects in s ('[' then '{'), else the first empty list, else NULL. Candidates are
   screened by their first two characters, so runs of brackets or a box quoted in the reasoning ("[100, 200, ...]")
   cost nothing; the parse attempts together may read at most MAX_WORK bytes (then *gave_up is set). */
static mgx_json *find_list(const char *s, size_t n, int *gave_up) {
    mgx_json *empty = NULL, *v;
    size_t i, j, end, work = 0;
    for (i = 0; i < n; i++) {
        if (s[i] != '[') continue;
        for (j = i + 1; j < n && is_space(s[j]); j++) {}
        if (j == n || (s[j] != '{' && s[j] != ']') || (s[j] == ']' && empty)) continue;
        if (work > MAX_WORK) { *gave_up = 1; break; }
        end = 0;
        v = mgx_json_parse_prefix(s + i, n - i, &end, NULL, 0);
        work += end + 1;
        if (v && v->type == MGX_JSON_ARRAY && v->len > 0) { mgx_json_free(empty); return v; }
        if (v && !empty) empty = v;
        else mgx_json_free(v);
    }
    return empty;
}

static int is_box_list(const mgx_json *v) {
    return v && v->type == MGX_JSON_ARRAY && (v->len == 0 || v->items[0]->type == MGX_JSON_OBJECT);
}

/* ---- validating entries ---------------------------------------------------------------------------------- */

static double clamp1000(double v) { return v <= 0 ? 0 : v > 1000 ? 1000 : v; }

static void copy_label(char *dst, const char *src, size_t len) {
    size_t n = len < MGX_BOX_LABEL_MAX - 1 ? len : MGX_BOX_LABEL_MAX - 1;
    const char *nul = (const char *)memchr(src, 0, n);
    if (nul) n = (size_t)(nul - src);
    if (n < len) while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;   /* don't split a character */
    memcpy(dst, src, n);
    dst[n] = 0;
}

static const char *entry_problem(const mgx_json *e, double v[4], const mgx_json **label) {
    const mgx_json *b;
    if (e->type != MGX_JSON_OBJECT) return "not an object";
    if (!(b = mgx_json_get(e, "box_2d"))) return "no \"box_2d\" key";
    if (b->type != MGX_JSON_ARRAY) return "\"box_2d\" is not a list";
    if (b->len != 4) return "\"box_2d\" does not have 4 elements";
    if (mgx_json_numbers(b, v, 4) != 4) return "\"box_2d\" holds something other than numbers";
    if (!(*label = mgx_json_get(e, "label"))) return "no \"label\" key";
    if ((*label)->type != MGX_JSON_STRING) return "\"label\" is not a string";
    return NULL;
}

int mgx_boxes_parse(const char *text, size_t n, mgx_box *out, int cap, int *skipped, FILE *warn,
                    char *err, size_t errsz) {
    const char *t = text, *p, *q;
    size_t len = text ? n : 0, i;
    mgx_json *root = NULL;
    int nb = 0, ns = 0, gave_up = 0;
    if (skipped) *skipped = 0;
    if (err && errsz) err[0] = 0;
    if (len > MGX_BOXES_MAX_TEXT)
        return mgx_errf(err, errsz, "the answer is too long to search for boxes (%lu bytes, at most %lu)",
                        (unsigned long)len, (unsigned long)MGX_BOXES_MAX_TEXT);
    if ((p = find_first(t, len, "<unused95>")) != NULL) { len -= (size_t)(p + 10 - t); t = p + 10; }   /* thinking */
    if ((p = find_first(t, len, "```json")) != NULL) {          /* the notebook's rule */
        const char *body = p + 7;
        size_t blen = len - (size_t)(body - t);
        if ((q = find_last(body, blen, "```")) != NULL) blen = (size_t)(q - body);
        root = mgx_json_parse(body, blen, NULL, 0);
        if (!is_box_list(root)) { mgx_json_free(root); root = find_list(body, blen, &gave_up); }
    }
    if (!root && (p = find_last(t, len, "Final Answer:")) != NULL) root = find_list(p + 13, len - (size_t)(p + 13 - t), &gave_up);
    if (!root && !gave_up) root = find_list(t, len, &gave_up);
    if (!root) return mgx_errf(err, errsz, gave_up ? "no JSON list of boxes found (search stopped: the answer is too tangled)"
                                                    : "the answer holds no JSON list of boxes");
    for (i = 0; i < root->len; i++) {
        const mgx_json *label = NULL;
        double v[4];
        const char *why = entry_problem(root->items[i], v, &label);
        if (!why && nb == cap) why = "too many boxes";
        if (why) {
            if (warn && ns < MAX_WARNINGS) fprintf(warn, "warning: box entry %lu skipped: %s\n", (unsigned long)(i + 1), why);
            ns++;
            continue;
        }
        copy_label(out[nb].label, label->str, label->len);
        v[0] = clamp1000(v[0]); v[1] = clamp1000(v[1]); v[2] = clamp1000(v[2]); v[3] = clamp1000(v[3]);
        out[nb].box_2d[0] = v[0] < v[2] ? v[0] : v[2];
        out[nb].box_2d[2] = v[0] < v[2] ? v[2] : v[0];
        out[nb].box_2d[1] = v[1] < v[3] ? v[1] : v[3];
        out[nb].box_2d[3] = v[1] < v[3] ? v[3] : v[1];
        out[nb].x0 = out[nb].y0 = out[nb].x1 = out[nb].y1 = 0;
        nb++;
    }
    if (warn && ns > MAX_WARNINGS) fprintf(warn, "warning: %d more box entries skipped\n", ns - MAX_WARNINGS);
    if (skipped) *skipped = ns;
    if (nb == 0 && root->len == 0) mgx_errf(err, errsz, "the answer's box list is empty");
    else if (nb == 0) mgx_errf(err, errsz, "none of the %lu entries of the box list is a valid box", (unsigned long)root->len);
    mgx_json_free(root);
    return nb;
}

/* ---- mapping and printing -------------------------------------------------------------------------------- */

void mgx_pad_square(int w, int h, int *side, int *pad_left, int *pad_top) {
    int s = w > h ? w : h;
    *side = s;
    *pad_left = (s - w) / 2;
    *pad_top = (s - h) / 2;
}

static double clip(double v, double hi) { return v < 0 ? 0 : v > hi ? hi : v; }

void mgx_boxes_map(mgx_box *boxes, int n, int w, int h) {
    int i, s, pl, pt;
    mgx_pad_square(w, h, &s, &pl, &pt);
    for (i = 0; i < n; i++) {
        mgx_box *b = &boxes[i];
        b->y0 = clip(b->box_2d[0] * s / 1000.0 - pt, h);
        b->x0 = clip(b->box_2d[1] * s / 1000.0 - pl, w);
        b->y1 = clip(b->box_2d[2] * s / 1000.0 - pt, h);
        b->x1 = clip(b->box_2d[3] * s / 1000.0 - pl, w);
    }
}

/* Integers as integers, anything else with up to 3 decimals. */
static void print_num(FILE *f, double v) {
    char buf[64];
    size_t k;
    if (v == floor(v) && fabs(v) < 1e15) { fprintf(f, "%.0f", v); return; }
    snprintf(buf, sizeof buf, "%.3f", v);
    k = strlen(buf);
    while (k > 0 && buf[k - 1] == '0') buf[--k] = 0;
    if (k > 0 && buf[k - 1] == '.') buf[--k] = 0;
    fputs(buf, f);
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void mgx_boxes_print_json(FILE *f, const mgx_box *boxes, int n) {
    int i, k;
    fputc('[', f);
    for (i = 0; i < n; i++) {
        const mgx_box *b = &boxes[i];
        double px[4];
        px[0] = b->x0; px[1] = b->y0; px[2] = b->x1; px[3] = b->y1;
        if (i) fputs(",\n ", f);
        fputs("{\"label\": ", f);
        json_string(f, b->label);
        fputs(", \"box_2d\": [", f);
        for (k = 0; k < 4; k++) { if (k) fputs(", ", f); print_num(f, b->box_2d[k]); }
        fputs("], \"box\": [", f);
        for (k = 0; k < 4; k++) { if (k) fputs(", ", f); print_num(f, floor(px[k] + 0.5)); }
        fputs("]}", f);
    }
    fputc(']', f);
}

/* ---- drawing --------------------------------------------------------------------------------------------- */

/* 5x7 glyphs: 7 rows, bit 4 = leftmost column. */
static const char font_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,:;()[]/+%?!'\"#&*=<>";
static const unsigned char font_rows[][7] = {
    {0x0E,0x11,0x11,0x1F,0x11,0x11,0x11}, {0x1E,0x11,0x11,0x1E,0x11,0x11,0x1E}, /* A B */
    {0x0E,0x11,0x10,0x10,0x10,0x11,0x0E}, {0x1E,0x11,0x11,0x11,0x11,0x11,0x1E}, /* C D */
    {0x1F,0x10,0x10,0x1E,0x10,0x10,0x1F}, {0x1F,0x10,0x10,0x1E,0x10,0x10,0x10}, /* E F */
    {0x0E,0x11,0x10,0x17,0x11,0x11,0x0F}, {0x11,0x11,0x11,0x1F,0x11,0x11,0x11}, /* G H */
    {0x0E,0x04,0x04,0x04,0x04,0x04,0x0E}, {0x07,0x02,0x02,0x02,0x02,0x12,0x0C}, /* I J */
    {0x11,0x12,0x14,0x18,0x14,0x12,0x11}, {0x10,0x10,0x10,0x10,0x10,0x10,0x1F}, /* K L */
    {0x11,0x1B,0x15,0x15,0x11,0x11,0x11}, {0x11,0x11,0x19,0x15,0x13,0x11,0x11}, /* M N */
    {0x0E,0x11,0x11,0x11,0x11,0x11,0x0E}, {0x1E,0x11,0x11,0x1E,0x10,0x10,0x10}, /* O P */
    {0x0E,0x11,0x11,0x11,0x15,0x12,0x0D}, {0x1E,0x11,0x11,0x1E,0x14,0x12,0x11}, /* Q R */
    {0x0F,0x10,0x10,0x0E,0x01,0x01,0x1E}, {0x1F,0x04,0x04,0x04,0x04,0x04,0x04}, /* S T */
    {0x11,0x11,0x11,0x11,0x11,0x11,0x0E}, {0x11,0x11,0x11,0x11,0x11,0x0A,0x04}, /* U V */
    {0x11,0x11,0x11,0x15,0x15,0x15,0x0A}, {0x11,0x11,0x0A,0x04,0x0A,0x11,0x11}, /* W X */
    {0x11,0x11,0x0A,0x04,0x04,0x04,0x04}, {0x1F,0x01,0x02,0x04,0x08,0x10,0x1F}, /* Y Z */
    {0x0E,0x11,0x13,0x15,0x19,0x11,0x0E}, {0x04,0x0C,0x04,0x04,0x04,0x04,0x0E}, /* 0 1 */
    {0x0E,0x11,0x01,0x02,0x04,0x08,0x1F}, {0x1F,0x02,0x04,0x02,0x01,0x11,0x0E}, /* 2 3 */
    {0x02,0x06,0x0A,0x12,0x1F,0x02,0x02}, {0x1F,0x10,0x1E,0x01,0x01,0x11,0x0E}, /* 4 5 */
    {0x06,0x08,0x10,0x1E,0x11,0x11,0x0E}, {0x1F,0x01,0x02,0x04,0x08,0x08,0x08}, /* 6 7 */
    {0x0E,0x11,0x11,0x0E,0x11,0x11,0x0E}, {0x0E,0x11,0x11,0x0F,0x01,0x02,0x0C}, /* 8 9 */
    {0x00,0x00,0x00,0x00,0x00,0x00,0x00}, {0x00,0x00,0x00,0x1F,0x00,0x00,0x00}, /* space - */
    {0x00,0x00,0x00,0x00,0x00,0x00,0x1F}, {0x00,0x00,0x00,0x00,0x00,0x0C,0x0C}, /* _ . */
    {0x00,0x00,0x00,0x00,0x0C,0x04,0x08}, {0x00,0x0C,0x0C,0x00,0x0C,0x0C,0x00}, /* , : */
    {0x00,0x0C,0x0C,0x00,0x0C,0x04,0x08}, {0x02,0x04,0x08,0x08,0x08,0x04,0x02}, /* ; ( */
    {0x08,0x04,0x02,0x02,0x02,0x04,0x08}, {0x0E,0x08,0x08,0x08,0x08,0x08,0x0E}, /* ) [ */
    {0x0E,0x02,0x02,0x02,0x02,0x02,0x0E}, {0x00,0x01,0x02,0x04,0x08,0x10,0x00}, /* ] / */
    {0x00,0x04,0x04,0x1F,0x04,0x04,0x00}, {0x18,0x19,0x02,0x04,0x08,0x13,0x03}, /* + % */
    {0x0E,0x11,0x01,0x02,0x04,0x00,0x04}, {0x04,0x04,0x04,0x04,0x04,0x00,0x04}, /* ? ! */
    {0x04,0x04,0x08,0x00,0x00,0x00,0x00}, {0x0A,0x0A,0x0A,0x00,0x00,0x00,0x00}, /* ' " */
    {0x0A,0x0A,0x1F,0x0A,0x1F,0x0A,0x0A}, {0x0C,0x12,0x14,0x08,0x15,0x12,0x0D}, /* # & */
    {0x00,0x04,0x15,0x0E,0x15,0x04,0x00}, {0x00,0x00,0x1F,0x00,0x1F,0x00,0x00}, /* * = */
    {0x02,0x04,0x08,0x10,0x08,0x04,0x02}, {0x08,0x04,0x02,0x01,0x02,0x04,0x08}, /* < > */
};

static const unsigned char *glyph(int c) {
    const char *p;
    if (c >= 'a' && c <= 'z') c -= 'a' - 'A';
    if (c <= 0 || !(p = strchr(font_chars, c))) p = strchr(font_chars, '?');
    return font_rows[p - font_chars];
}

int mgx_font_has(int c) {
    if (c >= 'a' && c <= 'z') c -= 'a' - 'A';
    return c > 0 && c < 128 && strchr(font_chars, c) != NULL;
}

static void fill_rect(mgx_image *img, int x0, int y0, int x1, int y1, const unsigned char rgb[3]) {
    int x, y;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 >= img->w) x1 = img->w - 1;
    if (y1 >= img->h) y1 = img->h - 1;
    for (y = y0; y <= y1; y++)
        for (x = x0; x <= x1; x++) {
            unsigned char *px = img->px + ((size_t)y * img->w + x) * 3;
            px[0] = rgb[0]; px[1] = rgb[1]; px[2] = rgb[2];
        }
}

int mgx_draw_text(mgx_image *img, int x, int y, const char *text, int scale, const unsigned char rgb[3]) {
    int x_start = x, r, c;
    const unsigned char *s;
    if (scale < 1) scale = 1;
    for (s = (const unsigned char *)text; *s; s++) {
        const unsigned char *g;
        if ((*s & 0xC0) == 0x80) continue;                       /* UTF-8 continuation byte */
        g = glyph(*s >= 0x80 ? '?' : *s < 0x20 ? ' ' : *s);
        if (img->channels == 3 && x < img->w && x + 5 * scale > 0 && y < img->h && y + 7 * scale > 0)
            for (r = 0; r < 7; r++)
                for (c = 0; c < 5; c++)
                    if (g[r] & (0x10 >> c))
                        fill_rect(img, x + c * scale, y + r * scale, x + c * scale + scale - 1, y + r * scale + scale - 1, rgb);
        x += 6 * scale;
    }
    return x > x_start ? x - x_start - scale : 0;
}

void mgx_box_colour(int i, unsigned char rgb[3]) {
    static const unsigned char pal[6][3] = { {255, 40, 40}, {40, 220, 40}, {40, 140, 255},
                                             {255, 210, 0}, {230, 60, 230}, {0, 220, 220} };
    if (i < 0) i = -i;
    memcpy(rgb, pal[i % 6], 3);
}

static int text_width(const char *text, int scale) {
    int n = 0;
    const unsigned char *s;
    for (s = (const unsigned char *)text; *s; s++) if ((*s & 0xC0) != 0x80) n++;
    return n ? n * 6 * scale - scale : 0;
}

static int to_pixel(double v, int hi) { int p = (int)floor(v); return p < 0 ? 0 : p > hi ? hi : p; }

int mgx_boxes_draw(mgx_image *img, const mgx_box *boxes, int n, int thickness, char *err, size_t errsz) {
    static const unsigned char black[3] = { 0, 0, 0 };
    int i, pass, big, t, scale;
    if (!img || !img->px || img->w <= 0 || img->h <= 0 || (n > 0 && !boxes)) return mgx_errf(err, errsz, "nothing to draw on");
    if (mgx_image_to_rgb(img, err, errsz) != 0) return -1;
    big = img->w > img->h ? img->w : img->h;
    t = thickness > 0 ? thickness : big > 1000 ? 3 : 2;
    scale = big >= 1500 ? 3 : big >= 600 ? 2 : 1;
    for (pass = 0; pass < 2; pass++)            /* all rectangles first, then the labels on top */
        for (i = 0; i < n; i++) {
            unsigned char rgb[3];
            int x0 = to_pixel(boxes[i].x0, img->w - 1), y0 = to_pixel(boxes[i].y0, img->h - 1);
            int x1 = to_pixel(ceil(boxes[i].x1) - 1, img->w - 1), y1 = to_pixel(ceil(boxes[i].y1) - 1, img->h - 1);
            if (x1 < x0) x1 = x0;
            if (y1 < y0) y1 = y0;
            mgx_box_colour(i, rgb);
            if (pass == 0) {
                fill_rect(img, x0, y0, x1, y0 + t - 1 < y1 ? y0 + t - 1 : y1, rgb);   /* top */
                fill_rect(img, x0, y1 - t + 1 > y0 ? y1 - t + 1 : y0, x1, y1, rgb);   /* bottom */
                fill_rect(img, x0, y0, x0 + t - 1 < x1 ? x0 + t - 1 : x1, y1, rgb);   /* left */
                fill_rect(img, x1 - t + 1 > x0 ? x1 - t + 1 : x0, y0, x1, y1, rgb);   /* right */
            } else if (boxes[i].label[0]) {
                int pad = scale, th = 7 * scale + 2 * pad, tw = text_width(boxes[i].label, scale) + 2 * pad;
                int above = y0 - th >= 0, lx = above ? x0 : x0 + t, ly = above ? y0 - th : y0 + t;   /* else inside */
                fill_rect(img, lx, ly, lx + tw - 1, ly + th - 1, black);
                mgx_draw_text(img, lx + pad, ly + pad, boxes[i].label, scale, rgb);
            }
        }
    return 0;
}
