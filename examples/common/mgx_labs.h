/* mgx_labs.h — lab-report extraction answers: the strict JSON the labreport driver asks for, validated.

   The expected answer is a JSON array of objects with exactly the keys
     "test" (non-empty string), "value" (number or string), "unit", "reference_range", "flag" (strings)
   — one object per result, which maps directly onto a FHIR Observation (code, valueQuantity / valueString,
   referenceRange, interpretation). Model output is untrusted: bounded, never crashes, clear messages. */
#ifndef MGX_LABS_H
#define MGX_LABS_H
#include "mgx_json.h"
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

#define MGX_LAB_MAX_TEXT ((size_t)4 << 20)   /* longer answers are refused */
#define MGX_LAB_N_KEYS 5
extern const char *const mgx_lab_keys[MGX_LAB_N_KEYS];   /* "test", "value", "unit", "reference_range", "flag" */

/* Validates an answer: thinking text before "<unused95>" and one surrounding ``` / ```json fence are removed,
   the rest must be exactly one JSON array as above (no prose around it). Returns the parsed array (free with
   mgx_json_free) or NULL with a one-line reason in err, e.g. the parser's "json: ... at offset N (line L,
   column C)" or "item 2: missing key \"unit\"". */
mgx_json *mgx_lab_parse(const char *text, size_t n, char *err, size_t errsz);

/* Prints a validated array with the keys in the order above: pretty = one object per line, else on one line
   (no trailing newline). */
void mgx_lab_print(FILE *f, const mgx_json *results, int pretty);

#ifdef __cplusplus
}
#endif
#endif
