/* cxr — one 2D image (a chest X-ray: PNG, JPEG, PNM, BMP or DICOM) and questions; the tutorial driver.
     cxr IMAGE -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [--image-mode M] [options]   (cxr --help)
   Google's recipe: system "You are an expert radiologist.", the image, then the question.
   This driver spells out the runtime's whole flow, one call per step:
     1. mg_model_load_file  the text model and its vision projector (each file's role checked after loading)
     2. mg_chat_build       one prompt per question, the image left as a placeholder: the token count is exact
                            before any work, so a prompt that cannot fit the context is refused at once
     3. mg_session_new      KV cache, scratch, threads
     4. mg_encode_images    SigLIP + projector, once: 256 tokens that every question reuses
     5. mg_eval_prompt      each question's prompt, in a reset session
     6. mg_generate         sampling, the answer streamed as it comes
   The other drivers run the same steps through examples/common/mgx_answer.h, which also feeds a prefix the
   questions share only once (a snapshot). */
#include "mgx_answer.h"
#include "mgx_inputs.h"
#include <string.h>

int main(int argc, char **argv) {
    static const mgx_driver cxr = {
        "cxr", "IMAGE -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [options]",
        "One 2D image (PNG, JPEG, PNM, BMP or DICOM; DICOM: rescaled, the file's window, MONOCHROME1 inverted)\n"
        "and questions. Google's recipe: system \"You are an expert radiologist.\", the image, the question.",
        "IMAGE", 1, 1, "You are an expert radiologist." };
    int mode = MG_IMAGE_MEDGEMMA, status, i, built = 0, n_gen;
    mgx_arg own[2] = { { "--image-mode", MGX_ENUM, &mode, "medgemma|llamacpp",
                         "preprocessing: pad to a square and resize (default, MedGemma's) or llama.cpp's letterbox", 0, 0, 0 },
                       { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
    mgx_opts o;
    mgx_run r;
    mgx_image img;
    mg_image mi;
    mg_image_embd embd;
    mg_model_options mo;
    mg_session_options so;
    mg_error e;
    mg_prompt p[MGX_MAX_QUESTIONS];
    mg_chat_item items[MGX_MAX_QUESTIONS][2];
    const char *src[1];
    uint8_t sha[32];
    char err[512];
    double t;

    if ((status = mgx_driver_args(&o, &cxr, own, argc, argv)) >= 0) return status;
    status = 1;
    mgx_run_init(&r, &o);
    memset(&embd, 0, sizeof embd);
    if (mgx_load_2d(o.positional[0], &img, sha, err, sizeof err) != 0) { fprintf(stderr, "error: %s\n", err); goto done; }
    mgx_run_input(&r, o.positional[0], sha);
    src[0] = o.positional[0];
    r.image_src = src; r.n_images = 1;

    /* 1. The model: the text GGUF and the vision projector (an Ollama file holds both). */
    if (mgx_check_files(&o) != 0) goto done;
    memset(&mo, 0, sizeof mo);
    mo.mmproj_path = o.mmproj;
    if (mg_model_load_file(&r.m, o.model, &mo, &e) != MG_OK) { mgx_model_error(&o, &e); goto done; }
    if (mgx_model_check(&o, r.m, 1) != 0) goto done;
    mg_model_get_info(r.m, &r.info);

    /* 2. One prompt per question: [image, question] after the system text. */
    for (; built < o.n_questions; built++) {
        mg_chat_turn turn;
        items[built][0].text = NULL;              items[built][0].image = NULL;   /* encoded later */
        items[built][1].text = o.questions[built]; items[built][1].image = NULL;
        turn.role = "user"; turn.items = items[built]; turn.n_items = 2;
        if (mg_chat_build(r.m, o.system, &turn, 1, 1, &p[built], &e) != MG_OK) { mgx_prompt_error(&r, &e); goto done; }
    }
    if (mgx_budget(&r, p, built) != 0) goto done;
    if (o.dump_prompt) { mgx_dump_prompts(&r, p, built); status = 0; goto done; }

    /* 3. A session sized for the longest prompt and its answer. */
    mgx_session_options(&o, r.n_ctx, &so);
    so.progress = mgx_progress_print; so.progress_user = &r.pr;
    if (mg_session_new(&r.s, r.m, &so, &e) != MG_OK) { fprintf(stderr, "error: cannot make a session: %s\n", e.message); goto done; }

    /* 4. The image through SigLIP and the projector, once. */
    mi.w = img.w; mi.h = img.h; mi.channels = img.channels; mi.pixels = img.px;
    mgx_progress_start(&r.pr, &o, "encoding image", 1);
    t = mgx_now();
    if (mg_encode_images(r.s, &mi, 1, mode, &embd) != MG_OK) { fprintf(stderr, "error: %s\n", mg_session_error(r.s)); goto done; }
    r.encode_s = mgx_now() - t; r.encoded = 1;

    /* 5 and 6. Each question: its prompt, then the answer. */
    for (i = 0; i < built; i++) {
        mgx_answer a;
        mg_generate_options g;
        mg_result res;
        p[i].images[0] = &embd;
        mg_session_reset(r.s);
        mgx_answer_start(&a, &r, o.questions[i], o.json ? NULL : stdout, &g);
        mgx_progress_start(&r.pr, &o, "reading the prompt: token", p[i].n_ids > MGX_PROGRESS_TOKENS ? p[i].n_ids : 0);
        t = mgx_now();
        if (mg_eval_prompt(r.s, &p[i]) != MG_OK) { fprintf(stderr, "error: %s\n", mg_session_error(r.s)); mgx_answer_free(&a); goto done; }
        a.prefill_s = mgx_now() - t; a.prompt_tokens = a.prefill_tokens = p[i].n_ids;
        mgx_report_begin(&r, &a, i, built);
        t = mgx_now();
        res = mg_generate(r.s, &g, &n_gen);
        if (mgx_answer_end(&a, &r, r.s, res, n_gen, mgx_now() - t) != 0) { mgx_answer_free(&a); goto done; }
        mgx_report_end(&r, &a, i, built);
        mgx_answer_free(&a);
    }
    mgx_run_summary(&r);
    status = 0;
done:
    while (built-- > 0) mg_prompt_free(&p[built]);
    mg_image_embd_free(&embd);
    mgx_image_free(&img);
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return status;
}
