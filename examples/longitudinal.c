/* longitudinal — compare a prior and a current image of the same patient (e.g. two chest X-rays).
     longitudinal PRIOR CURRENT -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [options]
   Google's recipe (longitudinal CXR notebook): system "You are an expert radiologist.", then the prior image,
   the current image and the question, with no labels; the model calls them Image 1 and Image 2. Example:
   "Provide a comparison of these two images and include details from the image which students should take note
   of when reading longitudinal CXR". Both images are encoded once and reused for every -q. */
#include "mgx_answer.h"
#include "mgx_inputs.h"
#include <string.h>

int main(int argc, char **argv) {
    static const mgx_driver longitudinal = {
        "longitudinal", "PRIOR CURRENT -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [options]",
        "A prior and a current image of one patient (PNG, JPEG, PNM, BMP or DICOM) and questions. Google's recipe:\n"
        "system \"You are an expert radiologist.\", the prior image, the current image, the question (no labels).",
        "PRIOR CURRENT", 2, 1, "You are an expert radiologist." };
    mgx_opts o;
    mgx_run r;
    mgx_image img[2];
    mg_image_embd embd[2];
    mg_prompt p[MGX_MAX_QUESTIONS];
    mg_chat_item items[MGX_MAX_QUESTIONS][3];
    const mg_chat_item *turns[MGX_MAX_QUESTIONS];
    int n_items[MGX_MAX_QUESTIONS], i, status;
    uint8_t sha[32];
    char err[512];
    if ((status = mgx_driver_args(&o, &longitudinal, NULL, argc, argv)) >= 0) return status;
    status = 1;
    mgx_run_init(&r, &o);
    memset(img, 0, sizeof img);
    memset(embd, 0, sizeof embd);
    r.image_src = o.positional; r.n_images = 2;
    for (i = 0; i < 2; i++) {
        if (mgx_load_2d(o.positional[i], &img[i], sha, err, sizeof err) != 0) { fprintf(stderr, "error: %s\n", err); goto done; }
        mgx_run_input(&r, o.positional[i], sha);
    }
    if (mgx_run_load(&r, 1) != 0) goto done;
    for (i = 0; i < o.n_questions; i++) {      /* [prior, current, question]: "Image 1" and "Image 2" */
        memset(items[i], 0, sizeof items[i]);
        items[i][2].text = o.questions[i];
        turns[i] = items[i]; n_items[i] = 3;
    }
    if (mgx_run_prompts(&r, turns, n_items, o.n_questions, p) != 0) goto done;
    if (o.dump_prompt) { mgx_dump_prompts(&r, p, o.n_questions); status = 0; }
    else if (mgx_run_images_and_ask(&r, img, 2, "encoding image", embd, p, o.n_questions) == 0) status = 0;
    for (i = 0; i < o.n_questions; i++) mg_prompt_free(&p[i]);
done:
    for (i = 0; i < 2; i++) { mg_image_embd_free(&embd[i]); mgx_image_free(&img[i]); }
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return status;
}
