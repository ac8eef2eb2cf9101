/* ehr — ask about an EHR note or a FHIR JSON resource.
     ehr FILE -q QUESTION [-q ...] -m MODEL.gguf [--as-text] [options]   (ehr --help; FILE - reads stdin)
   A FHIR file (a .json name, or text starting with '{') must be valid JSON: it is compacted (every number and
   string as written) and pasted as in Google's EHR agent notebook, "TOOL OUTPUT:\n{json}"; JSON that fails
   validation is refused with the parser's message unless --as-text pastes the file as it is. A note is
   pasted as it is. Either must be UTF-8 text without NUL bytes (an image or binary file is refused, the
   offset named), at most 4 MiB. The question follows after a blank line; the system text is "You are a
   helpful medical assistant.". Several -q share the document: it is read once. */
#include "mgx_answer.h"
#include "mgx_json.h"
#include <stdlib.h>
#include <string.h>

/* 1 when the text should be JSON: the file is named .json or its first non-blank byte is '{'. */
static int looks_json(const char *path, const char *text) {
    size_t n = strlen(path);
    while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n') text++;
    return *text == '{' || (n >= 5 && !strcmp(path + n - 5, ".json"));
}

/* The document as prompt text: FHIR JSON compacted behind "TOOL OUTPUT:", a note verbatim. NULL after a message. */
static char *document_text(mgx_run *r, const char *path, int as_text) {
    uint8_t sha[32];
    char err[512], *text, *out = NULL, *compact;
    size_t n;
    mgx_json *j;
    if (!(text = mgx_read_text(NULL, path, MGX_MAX_TEXT_BYTES, &n, sha, err, sizeof err))) { fprintf(stderr, "error: %s\n", err); return NULL; }
    mgx_run_input(r, path, sha);
    if (as_text || !looks_json(path, text)) return text;
    if (!(j = mgx_json_parse(text, n, err, sizeof err))) {
        fprintf(stderr, "error: %s is not valid JSON: %s (--as-text pastes it as plain text)\n", path, err);
        free(text);
        return NULL;
    }
    if ((compact = mgx_json_write(j)) != NULL && (out = (char *)malloc(strlen(compact) + 16)) != NULL)
        sprintf(out, "TOOL OUTPUT:\n%s", compact);
    else fprintf(stderr, "error: out of memory\n");
    free(compact);
    mgx_json_free(j);
    free(text);
    return out;
}

int main(int argc, char **argv) {
    static const mgx_driver ehr = {
        "ehr", "FILE -q QUESTION [-q ...] -m MODEL.gguf [--as-text] [options]",
        "An EHR note or a FHIR JSON resource (FILE, or - for stdin) and questions. FHIR JSON is validated and\n"
        "pasted after \"TOOL OUTPUT:\" (Google's EHR notebook), numbers and strings as written; a note as it is.",
        "FILE", 1, 1, "You are a helpful medical assistant." };
    int as_text = 0, status, i, built = 0;
    mgx_arg own[2] = { { "--as-text", MGX_FLAG, &as_text, NULL, "paste the file as plain text even when it is (invalid) JSON", 0, 0, 0 },
                       { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
    mgx_opts o;
    mgx_run r;
    mg_prompt p[MGX_MAX_QUESTIONS];
    mg_chat_item items[MGX_MAX_QUESTIONS];
    const mg_chat_item *turns[MGX_MAX_QUESTIONS];
    int n_items[MGX_MAX_QUESTIONS];
    char *doc = NULL;
    if ((status = mgx_driver_args(&o, &ehr, own, argc, argv)) >= 0) return status;
    status = 1;
    mgx_run_init(&r, &o);
    r.advice = "shorten the document";
    if (!(doc = document_text(&r, o.positional[0], as_text)) || mgx_run_load(&r, 0) != 0) goto done;
    for (i = 0; i < o.n_questions; i++) {            /* one text: the document, a blank line, the question */
        size_t len = strlen(doc) + strlen(o.questions[i]) + 3;
        char *text = (char *)malloc(len);
        if (!text) { fprintf(stderr, "error: out of memory\n"); goto done; }
        snprintf(text, len, "%s\n\n%s", doc, o.questions[i]);
        items[i].text = text; items[i].image = NULL;
        turns[i] = &items[i]; n_items[i] = 1;
        built = i + 1;
    }
    if (mgx_run_prompts(&r, turns, n_items, built, p) != 0) goto done;
    if (o.dump_prompt) { mgx_dump_prompts(&r, p, built); status = 0; }
    else if (mgx_run_ask(&r, p, o.questions, built, NULL, NULL) == 0) { mgx_run_summary(&r); status = 0; }
    for (i = 0; i < built; i++) mg_prompt_free(&p[i]);
done:
    for (i = 0; i < built; i++) free((char *)items[i].text);
    free(doc);
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return status;
}
