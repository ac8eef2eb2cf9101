/* mgx_boxes.h — bounding boxes from MedGemma's localization answers: parsing, mapping to image pixels, drawing.

   The localization recipe (Google's cxr_anatomy_localization notebook): the image is padded to a centered square
   (side S = max(w, h), pad_left = (S - w) / 2, pad_top = (S - h) / 2, the extra pixel right/bottom), and the model
   answers "Final Answer: ```json [{"box_2d": [y0, x0, y1, x1], "label": "..."}] ```" with integers 0..1000
   relative to that square. A pixel coordinate is then x = x0 / 1000 * S - pad_left, y = y0 / 1000 * S - pad_top.

   Model output is untrusted: everything here is bounded, never crashes and explains what it rejected. */
#ifndef MGX_BOXES_H
#define MGX_BOXES_H
#include "mgx_image.h"
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

#define MGX_BOXES_MAX       64                 /* boxes kept from one answer; more are skipped with a warning */
#define MGX_BOXES_MAX_TEXT  ((size_t)4 << 20)  /* longer answers are refused */
#define MGX_BOX_LABEL_MAX   128                /* label bytes kept, including the NUL (cut on a UTF-8 boundary) */

typedef struct mgx_box {
    char   label[MGX_BOX_LABEL_MAX];
    double box_2d[4];        /* y0, x0, y1, x1 in 0..1000 (clamped, ordered so that y0 <= y1 and x0 <= x1) */
    double x0, y0, x1, y1;   /* original image pixels (edges, 0..w and 0..h), set by mgx_boxes_map */
} mgx_box;

/* Finds the box list in a model answer and validates it.
   Where: thinking text before "<unused95>" is dropped; then the text between the first "```json" and the last
   "```" after it (if that is not a list of objects, the first list of objects inside it); without fences, the
   first JSON list of objects ("[{...}, ...]") after the last "Final Answer:", else anywhere; else an empty list.
   Entries: an object with "box_2d" = 4 numbers and "label" = a string; numbers are clamped to 0..1000 and the
   corners swapped when y0 > y1 or x0 > x1. Malformed entries are skipped, each with one line on warn (if not NULL),
   and counted in *skipped (if not NULL).
   Returns the number of boxes written to out (0..cap), or -1 when the answer holds no JSON list at all (err says
   why). An empty list or a list of only malformed entries returns 0 with the reason in err. */
int  mgx_boxes_parse(const char *text, size_t n, mgx_box *out, int cap, int *skipped, FILE *warn,
                     char *err, size_t errsz);

/* The padded square of a w x h image: side and offsets of the image inside it. */
void mgx_pad_square(int w, int h, int *side, int *pad_left, int *pad_top);
/* Sets x0, y0, x1, y1 (pixels of the original w x h image, clipped to it) from box_2d. */
void mgx_boxes_map(mgx_box *boxes, int n, int w, int h);

/* Prints [{"label": ..., "box_2d": [y0, x0, y1, x1], "box": [x0, y0, x1, y1]}, ...] (box in whole pixels,
   rounded), no trailing newline; one box per line when there are several. */
void mgx_boxes_print_json(FILE *f, const mgx_box *boxes, int n);

/* Draws each (mapped) box as a rectangle of colour mgx_box_colour(i), lines `thickness` pixels wide (0: 2 for
   images up to 1000 px, else 3) drawn inward from the box edges, with its label in the same colour on a black
   strip just above the box (inside its top-left corner when there is no room above). img is converted to RGB first.
   0 on success, -1 with a message. */
int  mgx_boxes_draw(mgx_image *img, const mgx_box *boxes, int n, int thickness, char *err, size_t errsz);
/* The colour of box i (a fixed cycle of 6 saturated colours). */
void mgx_box_colour(int i, unsigned char rgb[3]);
/* Writes text with the built-in 5x7 font (A-Z, 0-9, space and - _ . , : ; ( ) [ ] / + % ? ! ' " # & * = < >;
   lower case drawn as upper case, anything else as '?'; one glyph per UTF-8 character) at (x, y) = top-left,
   each font pixel a scale x scale square, glyphs 6*scale apart. Clipped to the image (RGB only).
   Returns the width of the whole text in pixels (drawn or not). */
int  mgx_draw_text(mgx_image *img, int x, int y, const char *text, int scale, const unsigned char rgb[3]);
/* 1 when c has its own glyph (after mapping lower to upper case). */
int  mgx_font_has(int c);

#ifdef __cplusplus
}
#endif
#endif
