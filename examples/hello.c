/* hello — the README's "C API in ten lines" as a program: a text question, the answer streamed.
     hello MODEL.gguf ["QUESTION"]
   Greedy decoding, at most 500 tokens, the default session (threads: the CPUs online). Built on its own: this
   file holds the implementation (MEDGEMMA_IMPLEMENTATION), as one file of a program that embeds the header. */
#define MEDGEMMA_IMPLEMENTATION   /* in exactly one .c file */
#include "medgemma.h"
#include <stdio.h>

static int my_print(void *user, const char *text, size_t len, int channel) {
    (void)user;
    if (channel == MG_CHANNEL_ANSWER) { fwrite(text, 1, len, stdout); fflush(stdout); }
    return 0;                                                       /* nonzero stops the generation */
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) { fprintf(stderr, "usage: hello MODEL.gguf [\"QUESTION\"]\n"); return 2; }

    mg_model *m; mg_session *s; mg_error e; mg_prompt p;
    if (mg_model_load_file(&m, argv[1], NULL, &e)) { puts(e.message); return 1; }
    if (mg_session_new(&s, m, NULL, &e)) { puts(e.message); return 1; }   /* KV cache, scratch, threads */
    mg_chat_item item = { "What are the signs of pneumonia on a chest X-ray?", NULL };
    if (argc == 3) item.text = argv[2];
    mg_chat_turn turn = { "user", &item, 1 };
    if (mg_chat_build(m, "You are a helpful medical assistant.", &turn, 1, 1, &p, &e)) { puts(e.message); return 1; }
    if (mg_eval_prompt(s, &p)) { puts(mg_session_error(s)); return 1; }
    mg_generate_options g = {0}; g.max_tokens = 500; g.on_text = my_print;   /* greedy by default */
    if (mg_generate(s, &g, NULL)) { puts(mg_session_error(s)); return 1; }
    mg_prompt_free(&p); mg_session_free(s); mg_model_free(m);

    putchar('\n');
    return 0;
}
