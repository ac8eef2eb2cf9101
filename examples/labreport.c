/* labreport — lab results from a report (a text file or a photo/scan of the page) as validated JSON.
     labreport REPORT -m MODEL.gguf [--mmproj MMPROJ.gguf] [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json]
         [--dump-prompt]
   There is no official notebook for this task (MEDGEMMA.md section 5): we ask for strict JSON
     [{"test": ..., "value": ..., "unit": ..., "reference_range": ..., "flag": ...}]
   (one object per result, a FHIR Observation in miniature), validate it with our JSON parser, and when it is
   not valid ask ONCE more with a stricter instruction quoting the parser's complaint. A text report is pasted
   before the instruction; a page image (PNG, JPEG, PNM, BMP, DICOM) is the image item, then the instruction.
   The model's text streams to stderr; stdout gets the validated JSON (one result per line). Exit status 1 when
   the second answer is not valid either. --json prints {"attempts": N, "answer": <model text>, "results": [...]}
   (or "error": ... instead of "results"). */
#include "mgx_cli.h"
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

/* The report as text (NULL with *is_image set when it is an image file, NULL after a message on error). */
static char *read_report(const char *path, int *is_image) {
    unsigned char *data;
    size_t n;
    char err[256];
    *is_image = 0;
    if (mgx_read_file(path, (size_t)1 << 31, &data, &n, err, sizeof err) != 0) { fprintf(stderr, "error: %s\n", err); return NULL; }
    if (mgx_image_detect(data, n) || mgx_dicom_probe(data, n)) { *is_image = 1; free(data); return NULL; }
    if (n > MAX_REPORT || memchr(data, 0, n)) {
        fprintf(stderr, "error: %s: %s\n", path, n > MAX_REPORT ? "a text report must be at most 256 KiB" : "neither text nor a supported image");
        free(data);
        return NULL;
    }
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' ' || data[n - 1] == '\t')) data[--n] = 0;
    return (char *)data;   /* mgx_read_file appended a NUL */
}

int main(int argc, char **argv) {
    const char *system = "You are a helpful medical assistant.";
    mgx_opts o;
    mgx_image img;
    mg_image_embd embd;
    mg_model *m = NULL;
    mg_chat_item items[2];
    mgx_json *results = NULL;
    char err[256], why[256], *report, *text = NULL, *retry = NULL, *answer = NULL;
    int n_items, is_image, attempt, rc = 0;
    if (mgx_parse_args(argc, argv, &o, NULL, 0) != 0 || o.n_positional != 1 || o.n_questions != 0) {
        fprintf(stderr, "usage: labreport REPORT -m MODEL.gguf [--mmproj MMPROJ.gguf] [-t N] [-n MAX] [--temp T] [--seed S]\n"
                        "           [--think] [--json] [--dump-prompt]\n");
        return 2;
    }
    memset(&img, 0, sizeof img);
    memset(&embd, 0, sizeof embd);
    report = read_report(o.positional[0], &is_image);
    if (!report && !is_image) return 1;
    if (is_image && mgx_load_2d(o.positional[0], &img, err, sizeof err) != 0) { fprintf(stderr, "error: %s: %s\n", o.positional[0], err); return 1; }
    if (is_image) {                                   /* [page image, instruction] */
        items[0].text = NULL; items[0].image = &embd;
        items[1].text = INSTRUCTION; items[1].image = NULL;
        n_items = 2;
    } else {                                          /* [report + blank line + instruction] */
        size_t len = strlen(report) + sizeof INSTRUCTION + 2;
        if (!(text = (char *)malloc(len))) { fprintf(stderr, "error: out of memory\n"); free(report); return 1; }
        snprintf(text, len, "%s\n\n%s", report, INSTRUCTION);
        items[0].text = text; items[0].image = NULL;
        n_items = 1;
    }
    if (o.dump_prompt) {
        printf("%s\n", system);
        mgx_dump_items(stdout, items, n_items, (const char *const *)o.positional);
        goto out;
    }
    if (!(m = mgx_load_model(&o))) { rc = 1; goto out; }
    if (is_image) {
        if (mgx_encode_all(&o, m, &img, 1, MG_IMAGE_MEDGEMMA, NULL, &embd) != 0) { rc = 1; goto out; }
    }
    for (attempt = 1; attempt <= 2 && !results; attempt++) {
        if (attempt == 2) {                           /* the same prompt with the stricter instruction */
            char *t2;
            fprintf(stderr, "labreport: the answer is not valid lab JSON (%s); retrying once with a stricter instruction\n", why);
            if (!(retry = stricter_instruction(why))) { fprintf(stderr, "error: out of memory\n"); rc = 1; break; }
            if (is_image) items[1].text = retry;
            else {
                size_t len = strlen(report) + strlen(retry) + 3;
                if (!(t2 = (char *)malloc(len))) { fprintf(stderr, "error: out of memory\n"); rc = 1; break; }
                snprintf(t2, len, "%s\n\n%s", report, retry);
                free(text);
                items[0].text = text = t2;
            }
        }
        free(answer);
        answer = NULL;
        if (mgx_answer(&o, m, system, items, n_items, o.json ? NULL : stderr, &answer, NULL) != 0) { rc = 1; break; }
        results = mgx_lab_parse(answer, strlen(answer), why, sizeof why);
    }
    if (rc == 0) {
        if (o.json) {
            printf("{\"attempts\": %d, \"answer\": ", attempt - 1);
            mgx_json_print_string(stdout, answer, strlen(answer));
            if (results) { printf(", \"results\": "); mgx_lab_print(stdout, results, 0); }
            else { printf(", \"error\": "); mgx_json_print_string(stdout, why, strlen(why)); }
            printf("}\n");
        } else if (results) {
            mgx_lab_print(stdout, results, 1);
            printf("\n");
        }
        if (!results) {
            fprintf(stderr, "error: the answer is still not valid lab JSON after one retry: %s\n", why);
            rc = 1;
        }
    }
out:
    mgx_json_free(results);
    free(answer); free(retry); free(text); free(report);
    mg_image_embd_free(&embd);
    mg_model_free(m);
    mgx_image_free(&img);
    return rc;
}
