/* localize — where is an anatomical structure (or finding) in a 2D image: bounding boxes in image pixels.
     localize IMAGE --object NAME [--draw OUT.png] -m MODEL.gguf --mmproj MMPROJ.gguf
         [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]
   Google's recipe (cxr_anatomy_localization notebook): the image padded to a square, image BEFORE the text, a
   prompt that states the box format and asks for reasoning then "Final Answer: ```json [...] ```". The model's
   reasoning streams to stderr; stdout gets the boxes as JSON, in the original image's pixels:
     [{"label": "right lung", "box_2d": [y0, x0, y1, x1], "box": [x0, y0, x1, y1]}]
   box_2d is the model's 0..1000 square; box = box_2d / 1000 * side - padding, clipped to the image.
   No box in the answer prints [] and "no boxes found: <why>" on stderr (exit status 0: the program worked).
   --json prints {"answer": <model text>, "boxes": [...]} instead; --draw writes the image with the boxes. */
#include "mgx_cli.h"
#include "mgx_answer.h"
#include "mgx_boxes.h"
#include "mgx_inputs.h"
#include <stdlib.h>
#include <string.h>

/* The prompt of Google's cxr_anatomy_localization notebook, verbatim (the model expects this text; several
   public copies of the notebook agree on it). HEAD + FORMAT, then TAIL_1 + the object name + TAIL_2. */
static const char HEAD[] = "Instructions:\nThe following user query will require outputting bounding boxes.";
static const char FORMAT[] =
    " The format of bounding boxes coordinates is [y0, x0, y1, x1] where (y0, x0) must be top-left corner and"
    " (y1, x1) the bottom-right corner. This implies that x0 < x1 and y0 < y1. Always normalize the x and y"
    " coordinates the range [0, 1000], meaning that a bounding box starting at 15% of the image width would be"
    " associated with an x coordinate of 150. You MUST output a single parseable json list of objects enclosed"
    " into ```json...``` brackets, for instance ```json[{\"box_2d\": [800, 3, 840, 471], \"label\": \"car\"},"
    " {\"box_2d\": [400, 22, 600, 73], \"label\": \"dog\"}]``` is a valid output. Now answer to the user query.\n\n"
    "Remember \"left\" refers to the patient's left side where the heart is and sometimes underneath an L in the"
    " upper right corner of the image.\n\n";
static const char TAIL_1[] = "Query:\nWhere is the ";
static const char TAIL_2[] = "? Don't give a final answer without reasoning. Output the final answer in the format"
    " \"Final Answer: X\" where X is a JSON list of objects. The object needs a \"box_2d\" and \"label\" key. Answer:";

#define MAX_OBJECT 200   /* bytes of --object */

int main(int argc, char **argv) {
    const char *object = NULL, *draw = NULL;
    mgx_option extra[2] = { { "--object", &object, 0 }, { "--draw", &draw, 0 } };
    mgx_opts o;
    mgx_image img;
    mg_image_embd embd;
    mg_model *m = NULL;
    mg_chat_item items[2];
    mgx_box boxes[MGX_BOXES_MAX];
    char err[256], prompt[sizeof HEAD + sizeof FORMAT + sizeof TAIL_1 + sizeof TAIL_2 + MAX_OBJECT];
    char *answer = NULL;
    int n = 0, rc = 0;
    if (mgx_parse_args(argc, argv, &o, extra, 2) != 0 || o.n_positional != 1 || o.n_questions != 0 || !object) {
        fprintf(stderr, "usage: localize IMAGE --object NAME [--draw OUT.png] -m MODEL.gguf --mmproj MMPROJ.gguf\n"
                        "           [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]\n");
        return 2;
    }
    if (!object[0] || strlen(object) > MAX_OBJECT) { fprintf(stderr, "error: --object must be 1 to %d bytes\n", MAX_OBJECT); return 2; }
    snprintf(prompt, sizeof prompt, "%s%s%s%s%s", HEAD, FORMAT, TAIL_1, object, TAIL_2);
    if (mgx_load_2d(o.positional[0], &img, err, sizeof err) != 0) { fprintf(stderr, "error: %s: %s\n", o.positional[0], err); return 1; }
    items[0].text = NULL; items[0].image = NULL;         /* the image first, then the instructions */
    items[1].text = prompt; items[1].image = NULL;
    if (o.dump_prompt) {
        mgx_dump_items(stdout, items, 2, (const char *const *)o.positional);
        mgx_image_free(&img);
        return 0;
    }
    if (!(m = mgx_load_model(&o))) { mgx_image_free(&img); return 1; }
    if (mgx_encode_all(&o, m, &img, 1, MG_IMAGE_MEDGEMMA, NULL, &embd) != 0) rc = 1;
    else {
        items[0].image = &embd;
        if (mgx_answer(&o, m, NULL, items, 2, o.json ? NULL : stderr, &answer, NULL) != 0) rc = 1;
        mg_image_embd_free(&embd);
    }
    if (rc == 0) {
        n = mgx_boxes_parse(answer, strlen(answer), boxes, MGX_BOXES_MAX, NULL, stderr, err, sizeof err);
        if (n <= 0) { n = 0; fprintf(stderr, "no boxes found: %s\n", err); }
        mgx_boxes_map(boxes, n, img.w, img.h);
        if (o.json) {
            printf("{\"answer\": ");
            mgx_json_print_string(stdout, answer, strlen(answer));
            printf(", \"boxes\": ");
        }
        mgx_boxes_print_json(stdout, boxes, n);
        printf(o.json ? "}\n" : "\n");
        if (draw && (mgx_boxes_draw(&img, boxes, n, 0, err, sizeof err) != 0 || mgx_png_write_file(draw, &img, err, sizeof err) != 0)) {
            fprintf(stderr, "error: %s: %s\n", draw, err);
            rc = 1;
        }
    }
    free(answer);
    mg_model_free(m);
    mgx_image_free(&img);
    return rc;
}
