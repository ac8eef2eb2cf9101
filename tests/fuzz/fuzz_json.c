/* fuzz_json.c — the strict JSON parser of examples/readers on hostile bytes. A parsed tree is written back,
   re-parsed and must be equal; the value finder runs over (a bounded prefix of) the same text. */
#include "fuzz.h"
#include "mgx_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    char err[160];
    size_t end = 0, a, b;
    mgx_json *v = mgx_json_parse(text, size, err, sizeof err), *w;
    if (v) {
        char *out = mgx_json_write(v);
        if (!out) fz_fail("a parsed tree cannot be written");
        if (!(w = mgx_json_parse(out, strlen(out), err, sizeof err))) fz_fail("written JSON does not parse");
        if (!mgx_json_equal(v, w)) fz_fail("JSON write/parse round trip changed the tree");
        mgx_json_path(v, "a.0.b");
        mgx_json_numbers(v, NULL, 0);
        mgx_json_free(w);
        free(out);
        mgx_json_free(v);
    }
    if ((v = mgx_json_parse_prefix(text, size, &end, err, sizeof err)) != NULL) {
        if (end > size) fz_fail("prefix end past the input");
        mgx_json_free(v);
    }
    if ((v = mgx_json_find(text, size < 2048 ? size : 2048, 0, &a, &b)) != NULL) {
        if (a >= b || b > size) fz_fail("found value range out of the input");
        mgx_json_free(v);
    }
    return 0;
}
