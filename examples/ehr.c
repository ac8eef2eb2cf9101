/* ehr — ask about an EHR note or a FHIR JSON resource.
     ehr FILE -q QUESTION [-q ...] -m MODEL.gguf [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]
   A FHIR file is compacted (our JSON parser validates it) and pasted as in Google's EHR agent notebook,
   "TOOL OUTPUT:\n{json}"; a plain note is pasted as it is. The question follows after a blank line. */
#include "mgx_cli.h"
#include "mgx_json.h"
#include "mgx_image.h"
#include <stdlib.h>
#include <string.h>

/* The document as prompt text: FHIR JSON compacted behind "TOOL OUTPUT:", anything else verbatim. */
static char *document_text(const char *path) {
    unsigned char *data;
    size_t n;
    char err[256], *out = NULL;
    mgx_json *j;
    if (mgx_read_file(path, (size_t)64 << 20, &data, &n, err, sizeof err) != 0) { fprintf(stderr, "error: %s\n", err); return NULL; }
    if ((j = mgx_json_parse((const char *)data, n, err, sizeof err)) != NULL) {
        char *compact = mgx_json_write(j);
        if (compact && (out = (char *)malloc(strlen(compact) + 16)) != NULL) sprintf(out, "TOOL OUTPUT:\n%s", compact);
        free(compact);
        mgx_json_free(j);
    } else if ((out = (char *)malloc(n + 1)) != NULL) {
        memcpy(out, data, n);
        out[n] = 0;
    }
    free(data);
    return out;
}

int main(int argc, char **argv) {
    mgx_opts o;
    mg_model *m = NULL;
    char *doc;
    int i, rc = 0;
    if (mgx_parse_args(argc, argv, &o, NULL, 0) != 0 || o.n_positional != 1 || o.n_questions == 0) {
        fprintf(stderr, "usage: ehr FILE -q QUESTION [-q ...] -m MODEL.gguf [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]\n");
        return 2;
    }
    if (!(doc = document_text(o.positional[0]))) return 1;
    if (!o.dump_prompt && !(m = mgx_load_model(&o))) { free(doc); return 1; }
    {
        mg_chat_item items[MGX_MAX_QUESTIONS];
        const mg_chat_item *turns[MGX_MAX_QUESTIONS];
        int n_items[MGX_MAX_QUESTIONS];
        for (i = 0; i < o.n_questions && rc == 0; i++) {            /* one text: the document, a blank line, the question */
            size_t len = strlen(doc) + strlen(o.questions[i]) + 3;
            char *text = (char *)malloc(len);
            if (!text) { fprintf(stderr, "error: out of memory\n"); rc = 1; break; }
            snprintf(text, len, "%s\n\n%s", doc, o.questions[i]);
            items[i].text = text; items[i].image = NULL;
            turns[i] = &items[i]; n_items[i] = 1;
            if (o.dump_prompt) mgx_dump_items(stdout, &items[i], 1, NULL);
        }
        if (rc == 0 && !o.dump_prompt)
            rc = mgx_ask_each(&o, m, "You are a helpful medical assistant.", turns, n_items, o.n_questions) != 0;
        while (i-- > 0) free((char *)items[i].text);
    }
    mg_model_free(m);
    free(doc);
    return rc;
}
