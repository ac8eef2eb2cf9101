/* longitudinal — compare a prior and a current image of the same patient (e.g. two chest X-rays).
     longitudinal PRIOR CURRENT -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf
         [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]
   Google's recipe (longitudinal CXR notebook): system "You are an expert radiologist.", then the prior image,
   the current image and the question, with no labels; the model calls them Image 1 and Image 2. Example:
   "Provide a comparison of these two images and include details from the image which students should take note
   of when reading longitudinal CXR". Both images are encoded once and reused for every -q. */
#include "mgx_cli.h"
#include "mgx_inputs.h"
#include <string.h>

int main(int argc, char **argv) {
    const char *system = "You are an expert radiologist.";
    mgx_opts o;
    mgx_image img[2];
    mg_image_embd embd[2];
    mg_model *m = NULL;
    char err[256];
    int i, rc = 0;
    if (mgx_parse_args(argc, argv, &o, NULL, 0) != 0 || o.n_positional != 2 || o.n_questions == 0) {
        fprintf(stderr, "usage: longitudinal PRIOR CURRENT -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf\n"
                        "           [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]\n");
        return 2;
    }
    memset(img, 0, sizeof img);
    for (i = 0; i < 2; i++)
        if (mgx_load_2d(o.positional[i], &img[i], err, sizeof err) != 0) {
            fprintf(stderr, "error: %s: %s\n", o.positional[i], err);
            mgx_image_free(&img[0]);
            return 1;
        }
    if (o.dump_prompt) {
        for (i = 0; i < o.n_questions; i++) {
            mg_chat_item items[3] = { { NULL, NULL }, { NULL, NULL }, { NULL, NULL } };
            items[2].text = o.questions[i];
            printf("%s\n", system);
            mgx_dump_items(stdout, items, 3, (const char *const *)o.positional);
        }
    } else if (!(m = mgx_load_model(&o))) rc = 1;
    else {
        if (mgx_encode_all(&o, m, img, 2, MG_IMAGE_MEDGEMMA, NULL, embd) != 0) rc = 1;
        else {
            mg_chat_item items[MGX_MAX_QUESTIONS][3];
            const mg_chat_item *turns[MGX_MAX_QUESTIONS];
            int n_items[MGX_MAX_QUESTIONS];
            for (i = 0; i < o.n_questions; i++) {
                items[i][0].text = NULL; items[i][0].image = &embd[0];      /* prior:   "Image 1" */
                items[i][1].text = NULL; items[i][1].image = &embd[1];      /* current: "Image 2" */
                items[i][2].text = o.questions[i]; items[i][2].image = NULL;
                turns[i] = items[i]; n_items[i] = 3;
            }
            rc = mgx_ask_each(&o, m, system, turns, n_items, o.n_questions) != 0;
            mg_image_embd_free(&embd[0]);
            mg_image_embd_free(&embd[1]);
        }
    }
    mg_model_free(m);
    mgx_image_free(&img[0]);
    mgx_image_free(&img[1]);
    return rc;
}
