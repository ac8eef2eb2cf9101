/* localize — where is an anatomical structure (or finding) in a 2D image: bounding boxes in image pixels.
     localize IMAGE --object NAME [--draw OUT.png] -m MODEL.gguf --mmproj MMPROJ.gguf [options]
   Google's recipe (cxr_anatomy_localization notebook): the image padded to a square, image BEFORE the text, a
   prompt that states the box format and asks for reasoning then "Final Answer: ```json [...] ```". The model's
   reasoning streams to stderr; stdout gets the boxes as JSON, in the original image's pixels:
     [{"label": "right lung", "box_2d": [y0, x0, y1, x1], "box": [x0, y0, x1, y1]}]
   box_2d is the model's 0..1000 square; box = box_2d / 1000 * side - padding, clipped to the image.
   No box in the answer prints [] and "no boxes found: <why>" on stderr (exit status 0: the program worked).
   --json prints the answer's object (mgx_answer.h) with "boxes" added; --draw writes the image with the boxes
   as PNG (the name must end in .png; checked, with the folder, before any model work). */
#include "mgx_answer.h"
#include "mgx_boxes.h"
#include "mgx_inputs.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* --draw: a .png name in a folder we can write to. 0, 1 (runtime: unwritable) or 2 (usage: wrong name). */
static int check_draw(const char *prog, const char *path) {
    size_t n = strlen(path);
    struct stat st;
    FILE *f;
    int existed = stat(path, &st) == 0;
    if (n < 4 || (strcmp(path + n - 4, ".png") && strcmp(path + n - 4, ".PNG")))
        return mgx_usage_error(prog, "--draw %s: the drawing is written as PNG; give a name ending in .png", path);
    if (existed && !S_ISREG(st.st_mode)) { fprintf(stderr, "error: --draw %s is not a regular file\n", path); return 1; }
    if (!(f = fopen(path, "ab"))) { fprintf(stderr, "error: --draw %s: cannot write: %s\n", path, strerror(errno)); return 1; }
    fclose(f);
    if (!existed) remove(path);
    return 0;
}

int main(int argc, char **argv) {
    static const mgx_driver localize = {
        "localize", "IMAGE --object NAME [--draw OUT.png] -m MODEL.gguf --mmproj MMPROJ.gguf [options]",
        "Bounding boxes of an anatomical structure or finding in a 2D image, with Google's localization prompt\n"
        "(image first, then the instructions). stdout: the boxes as JSON in image pixels; stderr: the reasoning.",
        "IMAGE", 1, 0, NULL };
    const char *object = NULL, *draw = NULL;
    mgx_arg own[3] = { { "--object", MGX_STR, &object, "NAME", "what to find, e.g. \"right lung\" (1 to 200 bytes)", 0, 0, MGX_REQUIRED },
                       { "--draw", MGX_STR, &draw, "OUT.png", "also write the image with the boxes drawn (PNG)", 0, 0, 0 },
                       { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
    mgx_opts o;
    mgx_run r;
    mgx_image img;
    mg_image_embd embd;
    mg_prompt p;
    mg_chat_item items[2];
    const mg_chat_item *turn = items;
    mgx_answer a;
    mgx_box boxes[MGX_BOXES_MAX];
    char err[512], prompt[sizeof HEAD + sizeof FORMAT + sizeof TAIL_1 + sizeof TAIL_2 + MAX_OBJECT];
    uint8_t sha[32];
    int n = 0, two = 2, status, have_p = 0;
    if ((status = mgx_driver_args(&o, &localize, own, argc, argv)) >= 0) return status;
    if (!object[0] || strlen(object) > MAX_OBJECT) { mgx_opts_free(&o); return mgx_usage_error("localize", "--object must be 1 to %d bytes", MAX_OBJECT); }
    if (draw && !o.dump_prompt && (status = check_draw("localize", draw)) != 0) { mgx_opts_free(&o); return status; }
    status = 1;
    mgx_run_init(&r, &o);
    memset(&embd, 0, sizeof embd);
    memset(&a, 0, sizeof a);
    snprintf(prompt, sizeof prompt, "%s%s%s%s%s", HEAD, FORMAT, TAIL_1, object, TAIL_2);
    if (mgx_load_2d(o.positional[0], &img, sha, err, sizeof err) != 0) { fprintf(stderr, "error: %s\n", err); goto done; }
    mgx_run_input(&r, o.positional[0], sha);
    r.image_src = o.positional; r.n_images = 1;
    if (mgx_run_load(&r, 1) != 0) goto done;
    items[0].text = NULL; items[0].image = NULL;        /* the image first, then the instructions */
    items[1].text = prompt; items[1].image = NULL;
    if (mgx_run_prompts(&r, &turn, &two, 1, &p) != 0) goto done;
    have_p = 1;
    if (o.dump_prompt) { mgx_dump_prompts(&r, &p, 1); status = 0; goto done; }
    if (mgx_run_encode(&r, &img, 1, MG_IMAGE_MEDGEMMA, "encoding image", &embd) != 0) goto done;
    mgx_prompts_attach(&p, 1, &embd);
    if (mgx_run_ask(&r, &p, &object, 1, o.json ? NULL : stderr, &a) != 0) goto done;
    n = mgx_boxes_parse(a.text.buf, a.text.n, boxes, MGX_BOXES_MAX, NULL, stderr, err, sizeof err);
    if (n <= 0) { n = 0; fprintf(stderr, "no boxes found: %s\n", err); }
    mgx_boxes_map(boxes, n, img.w, img.h);
    if (o.json) { fputc('{', stdout); mgx_json_answer_fields(stdout, &r, &a); printf(", \"boxes\": "); }
    mgx_boxes_print_json(stdout, boxes, n);
    printf(o.json ? "}\n" : "\n");
    if (draw && (mgx_boxes_draw(&img, boxes, n, 0, err, sizeof err) != 0 || mgx_png_write_file(draw, &img, err, sizeof err) != 0))
        mgx_print_error("--draw", draw, err);
    else { mgx_run_summary(&r); status = 0; }
done:
    if (have_p) mg_prompt_free(&p);
    mgx_answer_free(&a);
    mg_image_embd_free(&embd);
    mgx_image_free(&img);
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return status;
}
