/* test_boxes — localization answers (parsing, mapping, JSON, drawing) and lab-report JSON validation, on
   hand-written model outputs. Expected pixel numbers are worked out by hand in the comments. */
#include "mgtest.h"
#include "mgx_boxes.h"
#include "mgx_labs.h"
#include "mgx_image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mgx_box B[MGX_BOXES_MAX];
static char err[256];

static int parse(const char *text, int *skipped) {
    return mgx_boxes_parse(text, strlen(text), B, MGX_BOXES_MAX, skipped, NULL, err, sizeof err);
}
static int near(double a, double b) { return fabs(a - b) < 1e-9; }
static int box_is(const mgx_box *b, double x0, double y0, double x1, double y1) {
    return near(b->x0, x0) && near(b->y0, y0) && near(b->x1, x1) && near(b->y1, y1);
}

/* Prints to a temporary file and returns its text (static buffer). */
static const char *printed_boxes(const mgx_box *b, int n) {
    static char buf[4096];
    FILE *f = tmpfile();
    size_t k = 0;
    buf[0] = 0;
    if (!f) return buf;
    mgx_boxes_print_json(f, b, n);
    rewind(f);
    k = fread(buf, 1, sizeof buf - 1, f);
    buf[k] = 0;
    fclose(f);
    return buf;
}

static const char *IDEAL =
    "The heart is in the lower middle of the chest, slightly to the patient's left.\n"
    "Final Answer: ```json\n[{\"box_2d\": [500, 250, 750, 750], \"label\": \"heart\"}]\n```";

static void test_parse_good(void) {
    int n, sk;
    int s, pl, pt;
    /* 300x200: square side 300, pad_left 0, pad_top (300-200)/2 = 50.
       box [y0 500, x0 250, y1 750, x1 750]: x0 = 250/1000*300 - 0 = 75, y0 = 500/1000*300 - 50 = 100,
       x1 = 750/1000*300 = 225, y1 = 750/1000*300 - 50 = 175. */
    mgx_pad_square(300, 200, &s, &pl, &pt);
    CHECK(s == 300 && pl == 0 && pt == 50, "pad 300x200: %d %d %d", s, pl, pt);
    mgx_pad_square(201, 100, &s, &pl, &pt);
    CHECK(s == 201 && pl == 0 && pt == 50, "pad 201x100 (extra pixel at the bottom): %d %d %d", s, pl, pt);
    mgx_pad_square(99, 200, &s, &pl, &pt);
    CHECK(s == 200 && pl == 50 && pt == 0, "pad 99x200: %d %d %d", s, pl, pt);

    n = parse(IDEAL, &sk);
    CHECK(n == 1 && sk == 0, "ideal: n=%d skipped=%d (%s)", n, sk, err);
    mgx_boxes_map(B, n, 300, 200);
    CHECK(!strcmp(B[0].label, "heart"), "ideal label '%s'", B[0].label);
    CHECK(near(B[0].box_2d[0], 500) && near(B[0].box_2d[1], 250) && near(B[0].box_2d[2], 750) && near(B[0].box_2d[3], 750), "ideal box_2d");
    CHECK(box_is(&B[0], 75, 100, 225, 175), "ideal pixels %g %g %g %g", B[0].x0, B[0].y0, B[0].x1, B[0].y1);
    CHECK(!strcmp(printed_boxes(B, n), "[{\"label\": \"heart\", \"box_2d\": [500, 250, 750, 750], \"box\": [75, 100, 225, 175]}]"),
          "ideal JSON: %s", printed_boxes(B, n));

    /* thinking before <unused95>, with a list of objects inside the thought that must be ignored */
    n = parse("<unused94>thought\nMaybe [{\"box_2d\": [0, 0, 10, 10], \"label\": \"wrong\"}]?\n<unused95>Final Answer: ```json\n"
              "[{\"box_2d\": [500, 250, 750, 750], \"label\": \"heart\"}]\n```", &sk);
    CHECK(n == 1 && !strcmp(B[0].label, "heart"), "thinking dropped: n=%d label=%s", n, n > 0 ? B[0].label : "");

    /* no fences: the list after "Final Answer:"; a bare box quoted in the reasoning is not taken for the list */
    n = parse("The lung spans roughly [100, 200, 300, 400] on the grid.\nFinal Answer: [{\"box_2d\": [100, 200, 300, 400], \"label\": \"right lung\"}]", &sk);
    CHECK(n == 1 && !strcmp(B[0].label, "right lung"), "no fences: n=%d (%s)", n, err);
    n = parse("[{\"label\": \"x\", \"box_2d\": [1, 2, 3, 4]}]", &sk);
    CHECK(n == 1 && near(B[0].box_2d[3], 4), "bare list: n=%d", n);
    n = parse("Reasoning [1, 2] then ```\n[{\"box_2d\": [1, 2, 3, 4], \"label\": \"plain fence\"}]\n```", &sk);
    CHECK(n == 1 && !strcmp(B[0].label, "plain fence"), "``` without json: n=%d", n);

    /* extra text after the fence, even with another ``` in it */
    n = parse("Final Answer: ```json\n[{\"box_2d\": [500, 250, 750, 750], \"label\": \"heart\"}]\n```\nThe heart looks normal.", &sk);
    CHECK(n == 1, "extra text after: n=%d", n);
    n = parse("```json\n[{\"box_2d\": [500, 250, 750, 750], \"label\": \"heart\"}]\n```\nAlso see ```this``` note.", &sk);
    CHECK(n == 1 && !strcmp(B[0].label, "heart"), "second fence after: n=%d (%s)", n, err);

    /* two boxes on a tall image 200x300: side 300, pad_left 50, pad_top 0.
       box 1 [100, 200, 400, 600]: y0 = 30, x0 = 60 - 50 = 10, y1 = 120, x1 = 180 - 50 = 130.
       box 2 [900, 1200, 100, -50] -> clamped [900, 1000, 100, 0] -> ordered [100, 0, 900, 1000]:
         y0 = 30, x0 = 0 - 50 -> clipped 0, y1 = 270, x1 = 300 - 50 = 250 -> clipped to the width 200.
       Fractions are kept: [250.5, ...] -> y0 = 250.5 * 0.3 = 75.15. */
    n = parse("Final Answer:\n```json\n[{\"box_2d\": [100, 200, 400, 600], \"label\": \"left lung\"},\n"
              " {\"box_2d\": [900, 1200, 100, -50], \"label\": \"everything\"}, {\"box_2d\": [250.5, 500, 260, 510], \"label\": \"dot\"}]\n```", &sk);
    CHECK(n == 3 && sk == 0, "three boxes: n=%d", n);
    mgx_boxes_map(B, n, 200, 300);
    CHECK(box_is(&B[0], 10, 30, 130, 120), "box 1 %g %g %g %g", B[0].x0, B[0].y0, B[0].x1, B[0].y1);
    CHECK(near(B[1].box_2d[0], 100) && near(B[1].box_2d[1], 0) && near(B[1].box_2d[2], 900) && near(B[1].box_2d[3], 1000), "box 2 clamped and swapped");
    CHECK(box_is(&B[1], 0, 30, 200, 270), "box 2 %g %g %g %g", B[1].x0, B[1].y0, B[1].x1, B[1].y1);
    CHECK(fabs(B[2].y0 - 75.15) < 1e-9 && near(B[2].x0, 100), "box 3 %g %g", B[2].x0, B[2].y0);
    CHECK(!strcmp(printed_boxes(B, 2), "[{\"label\": \"left lung\", \"box_2d\": [100, 200, 400, 600], \"box\": [10, 30, 130, 120]},\n"
                                        " {\"label\": \"everything\", \"box_2d\": [100, 0, 900, 1000], \"box\": [0, 30, 200, 270]}]"),
          "two boxes JSON: %s", printed_boxes(B, 2));
    CHECK(strstr(printed_boxes(&B[2], 1), "\"box_2d\": [250.5, 500, 260, 510], \"box\": [100, 75, 103, 78]") != NULL,
          "fraction JSON: %s", printed_boxes(&B[2], 1));

    /* labels: escaped in JSON, cut at 127 bytes on a UTF-8 boundary */
    n = parse("[{\"box_2d\": [1, 2, 3, 4], \"label\": \"a \\\"quoted\\\" \\\\ label\\n\"}]", &sk);
    CHECK(n == 1 && strstr(printed_boxes(B, 1), "\"label\": \"a \\\"quoted\\\" \\\\ label\\u000a\"") != NULL, "escaped label: %s", printed_boxes(B, 1));
    {
        char text[1024];
        size_t k;
        strcpy(text, "[{\"box_2d\": [1, 2, 3, 4], \"label\": \"a");
        for (k = 0; k < 100; k++) strcat(text, "\xc3\xa9");   /* e-acute, 2 bytes each */
        strcat(text, "\"}]");
        n = parse(text, &sk);
        CHECK(n == 1 && strlen(B[0].label) == 127 && !strcmp(B[0].label + 125, "\xc3\xa9"), "long label cut: %lu", (unsigned long)strlen(B[0].label));
        strcpy(text, "[{\"box_2d\": [1, 2, 3, 4], \"label\": \"ab");   /* now the cut at 127 bytes would split one */
        for (k = 0; k < 100; k++) strcat(text, "\xc3\xa9");
        strcat(text, "\"}]");
        n = parse(text, &sk);
        CHECK(n == 1 && strlen(B[0].label) == 126 && !strcmp(B[0].label + 124, "\xc3\xa9"), "label not cut inside a character: %lu %s",
              (unsigned long)strlen(B[0].label), B[0].label);
    }
}

static void test_parse_bad(void) {
    int n, sk;
    char *junk;
    size_t k;
    FILE *w;
    n = parse("Final Answer: ```json\n[{\"box_2d\": [500, 250, 750", &sk);
    CHECK(n == -1 && strstr(err, "no JSON list"), "truncated: n=%d err=%s", n, err);
    n = parse("```json\n[{\"box_2d\": \"500, 250, 750, 750\", \"label\": \"heart\"}]\n```", &sk);
    CHECK(n == 0 && sk == 1 && strstr(err, "none of the 1 entries"), "box_2d a string: n=%d sk=%d err=%s", n, sk, err);
    n = parse("[{\"box_2d\": [500, 250, 750], \"label\": \"heart\"}]", &sk);
    CHECK(n == 0 && sk == 1, "3 numbers: n=%d sk=%d", n, sk);
    n = parse("[{\"box_2d\": [\"500\", \"250\", \"750\", \"750\"], \"label\": \"heart\"}]", &sk);
    CHECK(n == 0 && sk == 1, "strings instead of numbers: n=%d sk=%d", n, sk);
    n = parse("[{\"box_2d\": [500, 250, 750, 750], \"label\": 7}, {\"box_2d\": [500, 250, 750, 750]}, {\"label\": \"x\"}, 5, null]", &sk);
    CHECK(n == 0 && sk == 5, "wrong types: n=%d sk=%d", n, sk);
    n = parse("[[[[{\"box_2d\": {\"a\": [1, 2, 3, 4]}, \"label\": [\"x\"]}]]], {\"\": {}}]", &sk);
    CHECK(n == 0 && sk == 1, "nested garbage: n=%d sk=%d err=%s", n, sk, err);
    n = parse("Final Answer: ```json\n[]\n```", &sk);
    CHECK(n == 0 && sk == 0 && strstr(err, "empty"), "empty list: n=%d err=%s", n, err);
    n = parse("I cannot find it in this image.", &sk);
    CHECK(n == -1 && strstr(err, "no JSON list"), "no JSON: n=%d err=%s", n, err);
    n = parse("", &sk);
    CHECK(n == -1, "empty text: n=%d", n);
    CHECK(mgx_boxes_parse(NULL, 5, B, MGX_BOXES_MAX, NULL, NULL, NULL, 0) == -1, "NULL text, NULL err");
    n = parse("[{\"box_2d\": [1e308, -1e308, 1e-300, 1000.0000001], \"label\": \"extreme\"}]", &sk);
    CHECK(n == 1 && near(B[0].box_2d[0], 0) && near(B[0].box_2d[2], 1000) && near(B[0].box_2d[1], 0) && near(B[0].box_2d[3], 1000),
          "extreme numbers clamped: %g %g %g %g", B[0].box_2d[0], B[0].box_2d[1], B[0].box_2d[2], B[0].box_2d[3]);

    /* one good, one bad: the bad one is skipped with a warning naming it */
    if ((w = tmpfile()) != NULL) {
        char buf[512];
        size_t got;
        const char *mixed = "[{\"box_2d\": [1, 2, 3], \"label\": \"bad\"}, {\"box_2d\": [1, 2, 3, 4], \"label\": \"good\"}]";
        n = mgx_boxes_parse(mixed, strlen(mixed), B, MGX_BOXES_MAX, &sk, w, err, sizeof err);
        rewind(w);
        got = fread(buf, 1, sizeof buf - 1, w);
        buf[got] = 0;
        fclose(w);
        CHECK(n == 1 && sk == 1 && !strcmp(B[0].label, "good"), "mixed: n=%d sk=%d", n, sk);
        CHECK(strstr(buf, "box entry 1 skipped: \"box_2d\" does not have 4 elements") != NULL, "warning text: %s", buf);
    }
    /* more boxes than cap: the rest skipped */
    {
        char text[2048] = "[";
        for (k = 0; k < 10; k++) strcat(text, k ? ", {\"box_2d\": [1, 2, 3, 4], \"label\": \"b\"}" : "{\"box_2d\": [1, 2, 3, 4], \"label\": \"b\"}");
        strcat(text, "]");
        n = mgx_boxes_parse(text, strlen(text), B, 4, &sk, NULL, err, sizeof err);
        CHECK(n == 4 && sk == 6, "cap 4 of 10: n=%d sk=%d", n, sk);
    }
    /* 1 MB of junk (brackets, quotes, fences, digits): no crash, clear message; the search's work is capped */
    junk = (char *)malloc((size_t)1 << 20);
    if (junk) {
        unsigned long x = 12345;
        static const char alphabet[] = "[[{\"\":,]}1 0-e.abc`\n\\";
        for (k = 0; k < ((size_t)1 << 20); k++) { x = x * 1103515245ul + 12345ul; junk[k] = alphabet[(x >> 16) % (sizeof alphabet - 1)]; }
        memcpy(junk + 1000, "```json", 7);
        n = mgx_boxes_parse(junk, (size_t)1 << 20, B, MGX_BOXES_MAX, &sk, NULL, err, sizeof err);
        CHECK(n <= 0 && err[0], "1 MB junk: n=%d err=%s", n, err);
        memset(junk, '[', (size_t)1 << 20);
        n = mgx_boxes_parse(junk, (size_t)1 << 20, B, MGX_BOXES_MAX, &sk, NULL, err, sizeof err);
        CHECK(n == -1 && strstr(err, "no JSON list"), "1 MB of '[': n=%d err=%s", n, err);
        for (k = 0; k + 7 <= ((size_t)1 << 20); k += 7) memcpy(junk + k, "[{\"a\": ", 7);   /* deep nesting everywhere */
        n = mgx_boxes_parse(junk, k, B, MGX_BOXES_MAX, &sk, NULL, err, sizeof err);   /* the work cap, not a clock */
        CHECK(n == -1 && strstr(err, "search stopped"), "1 MB of nested openings: n=%d err=%s", n, err);
        free(junk);
    }
    junk = (char *)malloc(MGX_BOXES_MAX_TEXT + 1);
    if (junk) {
        memset(junk, 'x', MGX_BOXES_MAX_TEXT + 1);
        n = mgx_boxes_parse(junk, MGX_BOXES_MAX_TEXT + 1, B, MGX_BOXES_MAX, &sk, NULL, err, sizeof err);
        CHECK(n == -1 && strstr(err, "too long"), "over the size limit: %s", err);
        free(junk);
    }
}

static int px_is(const mgx_image *im, int x, int y, int r, int g, int b) {
    const unsigned char *p = im->px + ((size_t)y * im->w + x) * 3;
    return p[0] == r && p[1] == g && p[2] == b;
}

static void test_draw(void) {
    mgx_image img, back;
    mgx_box box;
    unsigned char c[3];
    unsigned char *png = NULL;
    size_t png_n = 0;
    int x, y, ok;
    /* 120x80 grey 100: side 120, pad_top 20. box_2d [200, 250, 750, 500] -> x 30..60, y 24-20=4 .. 90-20=70.
       Pixel columns 30..59, rows 4..69; 2 px lines: rows 4-5 and 68-69, columns 30-31 and 58-59. The label
       "A1" (1x scale, 7+2 px high) does not fit above row 4, so it goes inside, within the lines. */
    memset(&img, 0, sizeof img);
    memset(&back, 0, sizeof back);
    if (mgx_image_alloc(&img, 120, 80, 1, err, sizeof err) != 0) { CHECK(0, "alloc: %s", err); return; }
    memset(img.px, 100, 120 * 80);
    memset(&box, 0, sizeof box);
    strcpy(box.label, "A1");
    box.box_2d[0] = 200; box.box_2d[1] = 250; box.box_2d[2] = 750; box.box_2d[3] = 500;
    mgx_boxes_map(&box, 1, 120, 80);
    CHECK(box_is(&box, 30, 4, 60, 70), "draw box mapped %g %g %g %g", box.x0, box.y0, box.x1, box.y1);
    CHECK(mgx_boxes_draw(&img, &box, 1, 0, err, sizeof err) == 0 && img.channels == 3, "draw: %s", err);
    CHECK(mgx_png_encode(&img, &png, &png_n, err, sizeof err) == 0, "encode: %s", err);
    CHECK(png && mgx_png_decode(png, png_n, &back, err, sizeof err) == 0 && back.w == 120 && back.h == 80 && back.channels == 3,
          "decode back: %s", err);
    free(png);
    if (!back.px) { mgx_image_free(&img); return; }
    mgx_box_colour(0, c);
    ok = 1;
    for (x = 30; x <= 59; x++) ok &= px_is(&back, x, 4, c[0], c[1], c[2]) && px_is(&back, x, 5, c[0], c[1], c[2])
                                   && px_is(&back, x, 68, c[0], c[1], c[2]) && px_is(&back, x, 69, c[0], c[1], c[2]);
    for (y = 4; y <= 69; y++) ok &= px_is(&back, 30, y, c[0], c[1], c[2]) && px_is(&back, 31, y, c[0], c[1], c[2])
                                   && px_is(&back, 58, y, c[0], c[1], c[2]) && px_is(&back, 59, y, c[0], c[1], c[2]);
    CHECK(ok, "all four edges in the box colour");
    CHECK(px_is(&back, 45, 40, 100, 100, 100) && px_is(&back, 57, 67, 100, 100, 100) && px_is(&back, 32, 67, 100, 100, 100), "inside unchanged");
    ok = 1;
    for (y = 0; y < 80; y++)
        for (x = 0; x < 120; x++)
            if (x < 30 || x > 59 || y < 4 || y > 69) ok &= px_is(&back, x, y, 100, 100, 100);
    CHECK(ok, "everything outside the box unchanged");
    /* the label strip inside the box's corner, within the lines: columns 32..44 (2 glyphs of 6 px - 1 + 2 px of
       padding), rows 6..14; glyph pixels in the box colour */
    CHECK(px_is(&back, 32, 6, 0, 0, 0) && px_is(&back, 44, 14, 0, 0, 0) && px_is(&back, 45, 6, 100, 100, 100)
          && px_is(&back, 32, 15, 100, 100, 100), "label background");
    ok = 0;
    for (y = 7; y < 14; y++) for (x = 33; x < 44; x++) ok |= px_is(&back, x, y, c[0], c[1], c[2]);
    CHECK(ok, "label glyphs drawn");
    mgx_image_free(&back);
    mgx_image_free(&img);

    /* label above the box when there is room; mgx_png_write_file + decode of the file */
    if (mgx_image_alloc(&img, 100, 100, 3, err, sizeof err) == 0) {
        size_t n;
        unsigned char *data;
        memset(img.px, 7, 100 * 100 * 3);
        box.x0 = 20; box.y0 = 40; box.x1 = 80; box.y1 = 90;
        mgx_box_colour(0, c);
        CHECK(mgx_boxes_draw(&img, &box, 1, 3, err, sizeof err) == 0, "draw 2");
        CHECK(mgx_png_write_file("build/tests/test_boxes_draw.png", &img, err, sizeof err) == 0, "write: %s", err);
        data = (unsigned char *)mgt_read_file("build/tests/test_boxes_draw.png", &n);
        CHECK(data && mgx_png_decode(data, n, &back, err, sizeof err) == 0, "decode file: %s", err);
        free(data);
        if (back.px) {
            CHECK(px_is(&back, 20, 40, c[0], c[1], c[2]) && px_is(&back, 22, 42, c[0], c[1], c[2]) && px_is(&back, 79, 89, c[0], c[1], c[2]), "3 px edges");
            CHECK(px_is(&back, 23, 43, 7, 7, 7) && px_is(&back, 76, 86, 7, 7, 7), "inside the 3 px lines unchanged");
            CHECK(px_is(&back, 20, 31, 0, 0, 0) && px_is(&back, 20, 39, 0, 0, 0), "label strip above the box (rows 31..39)");
            CHECK(px_is(&back, 20, 30, 7, 7, 7) && px_is(&back, 90, 35, 7, 7, 7), "above the strip unchanged");
        }
        mgx_image_free(&back);
        mgx_image_free(&img);
    }
    /* the font: every promised character has its own glyph; text clipped at the image edges */
    {
        const char *chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.,:;()[]/+%?!'\"#&*=<>";
        unsigned char white[3] = { 255, 255, 255 };
        ok = 1;
        for (; *chars; chars++) ok &= mgx_font_has((unsigned char)*chars);
        CHECK(ok && !mgx_font_has('~') && !mgx_font_has(0), "font coverage");
        if (mgx_image_alloc(&img, 10, 5, 3, err, sizeof err) == 0) {
            memset(img.px, 0, 150);
            CHECK(mgx_draw_text(&img, -3, -3, "W\xc3\xa9\x01XYZ", 2, white) == 6 * 6 * 2 - 2, "text width");
            mgx_image_free(&img);
        }
    }
    /* hostile boxes: empty image, degenerate and out-of-range boxes */
    CHECK(mgx_boxes_draw(NULL, &box, 1, 0, err, sizeof err) == -1, "draw on NULL");
    if (mgx_image_alloc(&img, 3, 2, 1, err, sizeof err) == 0) {
        memset(img.px, 0, 6);
        box.x0 = 5; box.y0 = 5; box.x1 = -5; box.y1 = 1e9;
        memset(box.label, 'W', sizeof box.label - 1);
        box.label[sizeof box.label - 1] = 0;
        CHECK(mgx_boxes_draw(&img, &box, 1, 0, err, sizeof err) == 0, "degenerate box on a 3x2 image");
        mgx_image_free(&img);
    }
}

static void test_labs(void) {
    static const char *good[] = {
        "[{\"test\": \"TSH\", \"value\": 0.01, \"unit\": \"mIU/L\", \"reference_range\": \"0.1-4.0\", \"flag\": \"L\"}]",
        "```json\n[{\"flag\": \"\", \"unit\": \"\", \"test\": \"HIV\", \"reference_range\": \"\", \"value\": \"negative\"}]\n```",
        "<unused94>thought\nok<unused95>  []  ",
        "```[{\"test\": \"Na\", \"value\": 140, \"unit\": \"mmol/L\", \"reference_range\": \"135-145\", \"flag\": \"\"},"
        " {\"test\": \"K\", \"value\": \"<2.0\", \"unit\": \"mmol/L\", \"reference_range\": \"3.5-5.0\", \"flag\": \"LL\"}]```",
    };
    static const struct { const char *text, *msg; } bad[] = {
        { "", "empty" },
        { "Here are the results: [{\"test\": \"TSH\"}]", "json: unexpected 'H'" },
        { "{\"test\": \"TSH\", \"value\": 1, \"unit\": \"\", \"reference_range\": \"\", \"flag\": \"\"}", "expected a JSON array of objects, got object" },
        { "[\"TSH 0.01\"]", "item 1 is string, not an object" },
        { "[{\"test\": \"TSH\", \"value\": 1, \"unit\": \"\", \"reference_range\": \"\"}]", "item 1: missing key \"flag\"" },
        { "[{\"test\": \"TSH\", \"value\": 1, \"unit\": \"\", \"reference_range\": \"\", \"flag\": \"\", \"note\": \"x\"}]", "item 1: unexpected key \"note\"" },
        { "[{\"test\": \"TSH\", \"test\": \"T4\", \"value\": 1, \"unit\": \"\", \"reference_range\": \"\", \"flag\": \"\"}]", "item 1: duplicate key \"test\"" },
        { "[{\"test\": \"A\", \"value\": 1, \"unit\": \"\", \"reference_range\": \"\", \"flag\": \"\"},"
          " {\"test\": \"B\", \"value\": null, \"unit\": \"\", \"reference_range\": \"\", \"flag\": \"\"}]", "item 2: \"value\" must be a number or a string, not null" },
        { "[{\"test\": \"A\", \"value\": 1, \"unit\": 5, \"reference_range\": \"\", \"flag\": \"\"}]", "item 1: \"unit\" must be a string, not number" },
        { "[{\"test\": \"\", \"value\": 1, \"unit\": \"\", \"reference_range\": \"\", \"flag\": \"\"}]", "item 1: \"test\" is empty" },
        { "[{\"test\": \"A\", \"value\": [1], \"unit\": \"\", \"reference_range\": \"\", \"flag\": false}]", "must be a number or a string, not array" },
        { "[{\"test\": \"A\", \"value\": 1, \"unit\": \"\"", "json:" },
        { "[{\"te\\u0000st\\n\\\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\": 1}]", "unexpected key \"te?st??xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"" },
        { "[1, 2] trailing", "json:" },
    };
    size_t i;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        mgx_json *j = mgx_lab_parse(good[i], strlen(good[i]), err, sizeof err);
        CHECK(j != NULL, "lab good %lu: %s", (unsigned long)i, err);
        mgx_json_free(j);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mgx_json *j = mgx_lab_parse(bad[i].text, strlen(bad[i].text), err, sizeof err);
        CHECK(j == NULL && strstr(err, bad[i].msg) != NULL, "lab bad %lu: got '%s', want '%s'", (unsigned long)i, err, bad[i].msg);
        mgx_json_free(j);
    }
    /* canonical key order when printing, value kept as number or string */
    {
        FILE *f = tmpfile();
        mgx_json *j = mgx_lab_parse(good[3], strlen(good[3]), err, sizeof err);
        char buf[1024];
        size_t k = 0;
        if (f && j) {
            mgx_lab_print(f, j, 1);
            rewind(f);
            k = fread(buf, 1, sizeof buf - 1, f);
        }
        buf[k] = 0;
        CHECK(!strcmp(buf, "[\n  {\"test\": \"Na\", \"value\": 140, \"unit\": \"mmol/L\", \"reference_range\": \"135-145\", \"flag\": \"\"},\n"
                           "  {\"test\": \"K\", \"value\": \"<2.0\", \"unit\": \"mmol/L\", \"reference_range\": \"3.5-5.0\", \"flag\": \"LL\"}\n]"),
              "lab print: %s", buf);
        if (f) fclose(f);
        mgx_json_free(j);
    }
}

int main(void) {
    test_parse_good();
    test_parse_bad();
    test_draw();
    test_labs();
    return MG_TEST_END();
}
