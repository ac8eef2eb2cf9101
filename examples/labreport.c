/* labreport — lab results from a report (a text file or a photo/scan of the page) as validated JSON.
     labreport REPORT -m MODEL.gguf [--mmproj MMPROJ.gguf] [options]   (labreport --help; REPORT - reads stdin)
   There is no official notebook for this task (MEDGEMMA.md section 5): we ask for strict JSON
     [{"test": ..., "value": ..., "unit": ..., "reference_range": ..., "flag": ...}]
   (one object per result, a FHIR Observation in miniature), validate it with our JSON parser, and when it is
   not valid ask ONCE more with a stricter instruction quoting the parser's complaint. A text report is pasted
   before the instruction; a page image (PNG, JPEG, PNM, BMP, DICOM) is the image item, then the instruction.
   A text report is UTF-8 without NUL bytes, at most 256 KiB (read no further). The model's text streams to
   stderr; stdout gets the validated JSON (one result per line). Exit status 1 when the second answer is not
   valid either. --json prints {"attempts": N, <the answer's fields (mgx_answer.h)>, "results": [...]} (or
   "error": ... instead of "results"). */
#include "mgx_answer.h"
#include "mgx_inputs.h"
#include "mgx_labs.h"
#include "mgx_medical.h"
#include <stdlib.h>
#include <string.h>

#define MAX_REPORT ((size_t)256 << 10)   /* bytes of a text report */

static const char INSTRUCTION[] =
    "Extract every test result from the lab report above as JSON. Answer with a JSON array only, with no other"
    " text and no markdown code fences. Each element is one result: an object with exactly these five keys:\n"
    "\"test\": the test name as written in the report (a string);\n"
    "\"value\": the result, as a JSON number when it is purely numeric (e.g. 4.2), otherwise as a string"
    " (e.g. \"<0.01\", \"positive\");\n"
    "\"unit\": the unit as written (e.g. \"mmol/L\"), or \"\" when there is none;\n"
    "\"reference_range\": the reference range as written (e.g. \"3.5-5.0\"), or \"\" when there is none;\n"
    "\"flag\": the abnormality flag as written (e.g. \"H\" or \"L\"), or \"\" when the result is not flagged.\n"
    "List the results in the order they appear. If the report contains no test results, answer [].";
static const char STRICTER[] =
    "\nRules: the answer starts with [ and ends with ]. Use double quotes for every key and every string. Write no"
    " explanation, comment or code fence. Every object has exactly the keys \"test\", \"value\", \"unit\","
    " \"reference_range\" and \"flag\", and no others; only \"value\" may be a number, every other value is a string.";

/* "Your previous answer could not be used: <why>.\n" + INSTRUCTION + STRICTER (malloc'd). */
static char *stricter_instruction(const char *why) {
    size_t len = strlen(why) + sizeof INSTRUCTION + sizeof STRICTER + 64;
    char *s = (char *)malloc(len);
    if (s) snprintf(s, len, "Your previous answer could not be used: %s.\n%s%s", why, INSTRUCTION, STRICTER);
    return s;
}

/* 1 when the file starts like an image (PNG, JPEG, PNM, BMP) or DICOM (a DICOM preamble is 128 bytes). */
static int is_image_file(const char *path) {
    unsigned char b[132];
    char err[256];
    size_t n;
    if (!strcmp(path, "-") || mgx_read_head(path, sizeof b, b, &n, err, sizeof err) != 0) return 0;
    return mgx_image_detect(b, n) != NULL || mgx_dicom_probe(b, n);
}

/* The text report, trailing blanks removed. NULL after a message. */
static char *read_report(mgx_run *r, const char *path) {
    uint8_t sha[32];
    char err[512], *text;
    size_t n;
    if (!(text = mgx_read_text(NULL, path, MAX_REPORT, &n, sha, err, sizeof err))) { fprintf(stderr, "error: %s\n", err); return NULL; }
    mgx_run_input(r, path, sha);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '\t')) text[--n] = 0;
    return text;
}

/* The user turn: [page image, instruction] or [report + blank line + instruction]; prompt built and checked. */
static int build(mgx_run *r, const char *report, const char *instruction, mg_prompt *p, char **text) {
    mg_chat_item items[2];
    const mg_chat_item *turn = items;
    int n_items = 1;
    free(*text);
    *text = NULL;
    if (!report) {
        items[0].text = NULL; items[0].image = NULL;
        items[1].text = instruction; items[1].image = NULL;
        n_items = 2;
    } else {
        size_t len = strlen(report) + strlen(instruction) + 3;
        if (!(*text = (char *)malloc(len))) { fprintf(stderr, "error: out of memory\n"); return -1; }
        snprintf(*text, len, "%s\n\n%s", report, instruction);
        items[0].text = *text; items[0].image = NULL;
    }
    return mgx_run_prompts(r, &turn, &n_items, 1, p);
}

int main(int argc, char **argv) {
    static const mgx_driver labreport = {
        "labreport", "REPORT -m MODEL.gguf [--mmproj MMPROJ.gguf] [options]",
        "Lab results from a report (UTF-8 text of at most 256 KiB, or a page image: PNG, JPEG, PNM, BMP, DICOM)\n"
        "as validated JSON [{\"test\", \"value\", \"unit\", \"reference_range\", \"flag\"}]; one stricter retry.",
        "REPORT", 1, 0, "You are a helpful medical assistant." };
    mgx_opts o;
    mgx_run r;
    mgx_image img;
    mg_image_embd embd;
    mg_prompt p;
    mgx_answer a;
    mgx_json *results = NULL;
    char err[512], why[256], *report = NULL, *text = NULL, *retry = NULL;
    const char *instruction = INSTRUCTION;
    uint8_t sha[32];
    int attempt, status, have_p = 0, image;
    if ((status = mgx_driver_args(&o, &labreport, NULL, argc, argv)) >= 0) return status;
    status = 1;
    mgx_run_init(&r, &o);
    memset(&img, 0, sizeof img);
    memset(&embd, 0, sizeof embd);
    memset(&a, 0, sizeof a);
    if ((image = is_image_file(o.positional[0])) != 0) {
        if (mgx_load_2d(o.positional[0], &img, sha, err, sizeof err) != 0) { fprintf(stderr, "error: %s\n", err); goto out; }
        mgx_run_input(&r, o.positional[0], sha);
        r.image_src = o.positional; r.n_images = 1;
    } else if (!(report = read_report(&r, o.positional[0]))) goto out;
    r.advice = "shorten the report";
    if (mgx_run_load(&r, image) != 0 || build(&r, report, instruction, &p, &text) != 0) goto out;
    have_p = 1;
    if (o.dump_prompt) { mgx_dump_prompts(&r, &p, 1); status = 0; goto out; }
    if (image) {
        if (mgx_run_encode(&r, &img, 1, MG_IMAGE_MEDGEMMA, "encoding image", &embd) != 0) goto out;
        mgx_prompts_attach(&p, 1, &embd);
    }
    for (attempt = 1; attempt <= 2 && !results; attempt++) {
        if (attempt == 2) {                           /* the same prompt with the stricter instruction */
            fprintf(stderr, "labreport: the answer is not valid lab JSON (%s); retrying once with a stricter instruction\n", why);
            mg_prompt_free(&p);
            have_p = 0;
            if (!(retry = stricter_instruction(why))) { fprintf(stderr, "error: out of memory\n"); goto out; }
            if (build(&r, report, instruction = retry, &p, &text) != 0) goto out;
            have_p = 1;
            if (image) mgx_prompts_attach(&p, 1, &embd);
        }
        mgx_answer_free(&a);
        if (mgx_run_ask(&r, &p, &instruction, 1, o.json ? NULL : stderr, &a) != 0) goto out;
        results = mgx_lab_parse(a.text.buf, a.text.n, why, sizeof why);
    }
    if (o.json) {
        printf("{\"attempts\": %d, ", attempt - 1);
        mgx_json_answer_fields(stdout, &r, &a);
        if (results) { printf(", \"results\": "); mgx_lab_print(stdout, results, 0); }
        else { printf(", \"error\": "); mgx_json_print_string(stdout, why, strlen(why)); }
        printf("}\n");
    } else if (results) {
        mgx_lab_print(stdout, results, 1);
        printf("\n");
    }
    if (results) { mgx_run_summary(&r); status = 0; }
    else fprintf(stderr, "error: the answer is still not valid lab JSON after one retry: %s\n", why);
out:
    if (have_p) mg_prompt_free(&p);
    mgx_answer_free(&a);
    mgx_json_free(results);
    free(retry); free(text); free(report);
    mg_image_embd_free(&embd);
    mgx_image_free(&img);
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return status;
}
