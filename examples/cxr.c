/* cxr — one 2D image (chest X-ray: PNG, JPEG, PNM, BMP or DICOM) and a question.
     cxr IMAGE -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [--system TEXT] [--image-mode medgemma|llamacpp]
         [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]
   Google's recipe: system "You are an expert radiologist.", the image, then the question. The image is encoded
   once and reused for every -q. Thinking text is dropped unless --think. */
#include "mgx_cli.h"
#include "mgx_inputs.h"
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *system = NULL, *mode_s = NULL;
    mgx_option extra[2] = { { "--system", &system, 0 }, { "--image-mode", &mode_s, 0 } };
    mgx_opts o;
    mgx_image img;
    mg_model *m = NULL;
    mg_image_embd embd;
    char err[256];
    int i, rc = 0, mode;
    if (mgx_parse_args(argc, argv, &o, extra, 2) != 0 || o.n_positional != 1 || o.n_questions == 0) {
        fprintf(stderr, "usage: cxr IMAGE -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [--system TEXT]\n"
                        "           [--image-mode medgemma|llamacpp] [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]\n");
        return 2;
    }
    if (!system) system = "You are an expert radiologist.";
    mode = mode_s && !strcmp(mode_s, "llamacpp") ? MG_IMAGE_LLAMACPP : MG_IMAGE_MEDGEMMA;
    if (mgx_load_2d(o.positional[0], &img, err, sizeof err) != 0) { fprintf(stderr, "error: %s: %s\n", o.positional[0], err); return 1; }
    if (o.dump_prompt) {
        for (i = 0; i < o.n_questions; i++) {
            mg_chat_item items[2] = { { NULL, NULL }, { NULL, NULL } };
            const char *src[1];
            src[0] = o.positional[0];
            items[1].text = o.questions[i];
            printf("%s\n", system);
            mgx_dump_items(stdout, items, 2, src);
        }
        mgx_image_free(&img);
        return 0;
    }
    if (!(m = mgx_load_model(&o))) { mgx_image_free(&img); return 1; }
    if (mgx_encode_all(&o, m, &img, 1, mode, NULL, &embd) != 0) rc = 1;
    else {
        mg_chat_item items[MGX_MAX_QUESTIONS][2];
        const mg_chat_item *turns[MGX_MAX_QUESTIONS];
        int n_items[MGX_MAX_QUESTIONS];
        for (i = 0; i < o.n_questions; i++) {                      /* [image, question] */
            items[i][0].text = NULL; items[i][0].image = &embd;
            items[i][1].text = o.questions[i]; items[i][1].image = NULL;
            turns[i] = items[i]; n_items[i] = 2;
        }
        rc = mgx_ask_each(&o, m, system, turns, n_items, o.n_questions) != 0;
        mg_image_embd_free(&embd);
    }
    mg_model_free(m);
    mgx_image_free(&img);
    return rc;
}
