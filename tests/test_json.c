/* test_json.c — tests for examples/readers/json.c (strict JSON parser / writer).
   Expected values are hand-written (RFC 8259 examples, escapes with their known UTF-8 bytes, numbers) or read off
   tests/data/ref/tokenize/tok-tiny-vocab.json with python3's json module (noted where used). */
#include "mgtest.h"
#include "mgx_json.h"

#include <float.h>

#ifndef TEST_JSON_FUZZ_ITERS
#define TEST_JSON_FUZZ_ITERS 3000
#endif

/* Parses a NUL-terminated literal; the copy is malloc'd at exactly strlen bytes (no terminator) so ASan catches
   any read past n. */
static mgx_json *P(const char *s, char *err, size_t errsz) {
    size_t n = strlen(s);
    char *buf = (char *)malloc(n ? n : 1);
    mgx_json *v;
    if (!buf) return NULL;
    memcpy(buf, s, n);
    v = mgx_json_parse(buf, n, err, errsz);
    free(buf);
    return v;
}

static mgx_json *Pn(const char *s, size_t n, char *err, size_t errsz) {
    char *buf = (char *)malloc(n ? n : 1);
    mgx_json *v;
    if (!buf) return NULL;
    memcpy(buf, s, n);
    v = mgx_json_parse(buf, n, err, errsz);
    free(buf);
    return v;
}

/* Parses, writes, parses the output again and checks structural equality and a stable second write. */
static int round_trip_ok(const mgx_json *v) {
    char *w1, *w2 = NULL;
    mgx_json *v2;
    int ok = 0;
    w1 = mgx_json_write(v);
    if (!w1) return 0;
    v2 = mgx_json_parse(w1, strlen(w1), NULL, 0);
    if (v2 && mgx_json_equal(v, v2)) {
        w2 = mgx_json_write(v2);
        ok = w2 && strcmp(w1, w2) == 0;
    }
    free(w1);
    free(w2);
    mgx_json_free(v2);
    return ok;
}

/* Checks that s parses and writes back exactly as expect. */
static void check_write(const char *s, const char *expect) {
    char err[256];
    mgx_json *v = P(s, err, sizeof err);
    char *w = v ? mgx_json_write(v) : NULL;
    CHECK(w && strcmp(w, expect) == 0, "write(%s) = %s, expected %s (%s)", s, w ? w : "(null)", expect,
          v ? "" : err);
    free(w);
    mgx_json_free(v);
}

/* A hand-built number node (no source text), and one whose text is not a JSON number: both formatted from num. */
static void check_format(double x, const char *expect) {
    mgx_json v;
    char *w;
    memset(&v, 0, sizeof v);
    v.type = MGX_JSON_NUMBER;
    v.num = x;
    w = mgx_json_write(&v);
    CHECK(w && strcmp(w, expect) == 0, "format(%.17g) = %s, expected %s", x, w ? w : "(null)", expect);
    free(w);
    v.str = (char *)"1.0x";
    v.len = 4;
    w = mgx_json_write(&v);
    CHECK(w && strcmp(w, expect) == 0, "format(%.17g) with invalid text = %s, expected %s", x, w ? w : "(null)", expect);
    free(w);
}

static void check_reject(const char *s, size_t n, const char *what) {
    char err[256];
    mgx_json *v;
    err[0] = 0;
    v = Pn(s, n, err, sizeof err);
    CHECK(v == NULL, "should reject %s", what);
    CHECK(v != NULL || (strstr(err, "json: ") == err && strstr(err, "offset") && strstr(err, "line")),
          "error message for %s: '%s'", what, err);
    mgx_json_free(v);
}

static void check_accept(const char *s, const char *what) {
    char err[256];
    mgx_json *v = P(s, err, sizeof err);
    CHECK(v != NULL, "should accept %s: %s", what, err);
    CHECK(v == NULL || round_trip_ok(v), "round trip of %s", what);
    mgx_json_free(v);
}

/* A string value must decode to exactly these bytes. */
static void check_string(const char *doc, const char *bytes, size_t nbytes) {
    char err[256];
    mgx_json *v = P(doc, err, sizeof err);
    CHECK(v && v->type == MGX_JSON_STRING && v->len == nbytes && memcmp(v->str, bytes, nbytes) == 0 &&
              v->str[nbytes] == 0,
          "string %s decodes to %lu expected bytes (%s)", doc, (unsigned long)nbytes, v ? "" : err);
    mgx_json_free(v);
}

static void check_number(const char *doc, double expect) {
    char err[256];
    mgx_json *v = P(doc, err, sizeof err);
    CHECK(v && v->type == MGX_JSON_NUMBER && v->num == expect, "number %s = %.17g, expected %.17g (%s)", doc,
          v ? v->num : 0.0, expect, v ? "" : err);
    mgx_json_free(v);
}

static void test_rfc_examples(void) {
    /* RFC 8259 section 13, first example. */
    static const char *img =
        "{\n"
        "  \"Image\": {\n"
        "      \"Width\":  800,\n"
        "      \"Height\": 600,\n"
        "      \"Title\":  \"View from 15th Floor\",\n"
        "      \"Thumbnail\": {\n"
        "          \"Url\":    \"http://www.example.com/image/481989943\",\n"
        "          \"Height\": 125,\n"
        "          \"Width\":  100\n"
        "      },\n"
        "      \"Animated\" : false,\n"
        "      \"IDs\": [116, 943, 234, 38793]\n"
        "    }\n"
        "}\n";
    /* RFC 8259 section 13, second example. */
    static const char *cities =
        "[\n"
        "  {\n"
        "     \"precision\": \"zip\",\n"
        "     \"Latitude\":  37.7668,\n"
        "     \"Longitude\": -122.3959,\n"
        "     \"Address\":   \"\",\n"
        "     \"City\":      \"SAN FRANCISCO\",\n"
        "     \"State\":     \"CA\",\n"
        "     \"Zip\":       \"94107\",\n"
        "     \"Country\":   \"US\"\n"
        "  },\n"
        "  {\n"
        "     \"precision\": \"zip\",\n"
        "     \"Latitude\":  37.371991,\n"
        "     \"Longitude\": -122.026020,\n"
        "     \"Address\":   \"\",\n"
        "     \"City\":      \"SUNNYVALE\",\n"
        "     \"State\":     \"CA\",\n"
        "     \"Zip\":       \"94085\",\n"
        "     \"Country\":   \"US\"\n"
        "  }\n"
        "]\n";
    char err[256];
    double ids[8];
    mgx_json *v = P(img, err, sizeof err);
    char *w;
    CHECK(v != NULL, "RFC image example parses: %s", err);
    if (v) {
        const mgx_json *im = mgx_json_get(v, "Image");
        CHECK(v->type == MGX_JSON_OBJECT && v->len == 1, "root object with 1 member");
        CHECK(im && im->type == MGX_JSON_OBJECT && im->len == 6, "Image has 6 members");
        CHECK(mgx_json_number(mgx_json_get(im, "Width"), -1) == 800, "Width 800");
        CHECK(mgx_json_number(mgx_json_path(v, "Image.Height"), -1) == 600, "Height 600");
        CHECK(mgx_json_string(mgx_json_path(v, "Image.Title")) &&
                  strcmp(mgx_json_string(mgx_json_path(v, "Image.Title")), "View from 15th Floor") == 0,
              "Title");
        CHECK(strcmp(mgx_json_string(mgx_json_path(v, "Image.Thumbnail.Url")),
                     "http://www.example.com/image/481989943") == 0, "Thumbnail.Url");
        CHECK(mgx_json_number(mgx_json_path(v, "Image.Thumbnail.Width"), -1) == 100, "Thumbnail.Width");
        CHECK(mgx_json_path(v, "Image.Animated") && mgx_json_path(v, "Image.Animated")->type == MGX_JSON_BOOL &&
                  mgx_json_bool(mgx_json_path(v, "Image.Animated"), -1) == 0, "Animated false");
        CHECK(mgx_json_numbers(mgx_json_path(v, "Image.IDs"), ids, 8) == 4 && ids[0] == 116 && ids[1] == 943 &&
                  ids[2] == 234 && ids[3] == 38793, "IDs");
        CHECK(mgx_json_number(mgx_json_path(v, "Image.IDs.3"), -1) == 38793, "path index IDs.3");
        CHECK(mgx_json_path(v, "Image.IDs.4") == NULL, "path index out of range");
        CHECK(mgx_json_path(v, "Image.Nope") == NULL, "path missing key");
        CHECK(mgx_json_path(v, "Image.Width.x") == NULL, "path into a number");
        CHECK(mgx_json_path(v, "") == v, "empty path is root");
        CHECK(strcmp(im->keys[5], "IDs") == 0 && strcmp(im->keys[0], "Width") == 0, "keys kept in order");
        w = mgx_json_write(v);
        CHECK(w && strcmp(w, "{\"Image\":{\"Width\":800,\"Height\":600,\"Title\":\"View from 15th Floor\","
                             "\"Thumbnail\":{\"Url\":\"http://www.example.com/image/481989943\",\"Height\":125,"
                             "\"Width\":100},\"Animated\":false,\"IDs\":[116,943,234,38793]}}") == 0,
              "compact write of RFC example: %s", w ? w : "(null)");
        free(w);
        CHECK(round_trip_ok(v), "RFC image example round trip");
    }
    mgx_json_free(v);

    v = P(cities, err, sizeof err);
    CHECK(v != NULL, "RFC cities example parses: %s", err);
    if (v) {
        CHECK(v->type == MGX_JSON_ARRAY && v->len == 2, "2 cities");
        CHECK(mgx_json_number(mgx_json_path(v, "0.Latitude"), 0) == 37.7668, "Latitude 37.7668");
        CHECK(mgx_json_number(mgx_json_path(v, "1.Longitude"), 0) == -122.026020, "Longitude -122.026020");
        CHECK(strcmp(mgx_json_string(mgx_json_path(v, "1.City")), "SUNNYVALE") == 0, "City");
        CHECK(mgx_json_string(mgx_json_path(v, "0.Address")) && mgx_json_path(v, "0.Address")->len == 0,
              "empty string");
        CHECK(mgx_json_at(v, 2) == NULL && mgx_json_at(v, 1) != NULL, "at bounds");
        CHECK(mgx_json_get(v, "0") == NULL, "get on an array is NULL");
        w = mgx_json_write(mgx_json_at(v, 1));
        CHECK(w && strcmp(w, "{\"precision\":\"zip\",\"Latitude\":37.371991,\"Longitude\":-122.026020,"
                             "\"Address\":\"\",\"City\":\"SUNNYVALE\",\"State\":\"CA\",\"Zip\":\"94085\","
                             "\"Country\":\"US\"}") == 0, "write city: %s", w ? w : "(null)");
        free(w);
        CHECK(round_trip_ok(v), "RFC cities round trip");
    }
    mgx_json_free(v);

    /* RFC 8259 section 13: small texts containing only values. */
    check_string("\"Hello world!\"", "Hello world!", 12);
    check_number("42", 42);
    v = P("true", err, sizeof err);
    CHECK(v && v->type == MGX_JSON_BOOL && v->num == 1 && mgx_json_bool(v, -1) == 1, "true");
    mgx_json_free(v);
    v = P(" null ", err, sizeof err);
    CHECK(v && v->type == MGX_JSON_NULL, "null");
    mgx_json_free(v);
}

static void test_strings(void) {
    check_string("\"\"", "", 0);
    check_string("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
    check_string("\"\\u0041\\u00e9\\u00E9\"", "A\xC3\xA9\xC3\xA9", 5);          /* A é é */
    check_string("\"\\u20AC\"", "\xE2\x82\xAC", 3);                               /* € */
    check_string("\"\\u07FF\\u0800\\uFFFF\"", "\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF", 8);
    check_string("\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80", 4);                    /* U+1F600 */
    check_string("\"\\ud834\\udd1e\"", "\xF0\x9D\x84\x9E", 4);                    /* U+1D11E G clef */
    check_string("\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF", 4);                    /* U+10FFFF */
    check_string("\"\\uD800\\uDC00\"", "\xF0\x90\x80\x80", 4);                    /* U+10000 */
    check_string("\"a\\u0000b\"", "a\0b", 3);                                      /* embedded NUL */
    check_string("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF\"",
                 "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF", 18);   /* raw UTF-8 */
    check_string("\"\x7F\"", "\x7F", 1);                                           /* DEL is not a control char */
    check_string("\"\xEF\xBB\xBF\"", "\xEF\xBB\xBF", 3);                           /* BOM inside a string is fine */
    check_string("\"/*not a comment*/\"", "/*not a comment*/", 17);
}

static void test_numbers(void) {
    char err[256];
    mgx_json *v;
    check_number("0", 0);
    check_number("-1", -1);
    check_number("1e-7", 1e-7);
    check_number("1E-7", 1e-7);
    check_number("0.5", 0.5);
    check_number("-0.0", 0);
    check_number("3.141592653589793", 3.141592653589793);
    check_number("1E+2", 100);
    check_number("1e2", 100);
    check_number("2.5e-3", 0.0025);
    check_number("123456789012345678", 123456789012345678.0);
    check_number("9007199254740993", 9007199254740992.0);   /* rounds to nearest even double */
    check_number("1.7976931348623157e308", DBL_MAX);
    check_number("4.9406564584124654e-324", 4.9406564584124654e-324);
    check_number("1e-400", 0);                               /* underflow to zero is accepted */
    check_number("0e0", 0);
    check_number("-123.456e+2", -12345.6);
    v = P("-0", err, sizeof err);
    CHECK(v && v->type == MGX_JSON_NUMBER && v->num == 0 && signbit(v->num), "-0 keeps its sign");
    mgx_json_free(v);
    /* parsed numbers are written as they were written (a clinical value reaches the model unchanged) */
    check_write("-0", "-0");
    check_write("0", "0");
    check_write("1e-7", "1e-7");
    check_write("0.1", "0.1");
    check_write("1.5", "1.5");
    check_write("100.0", "100.0");
    check_write("1E+2", "1E+2");
    check_write("-42", "-42");
    check_write("4.60", "4.60");
    check_write("[4.60,12345678901234567890,0.50e-0,-0.0]", "[4.60,12345678901234567890,0.50e-0,-0.0]");
    check_write("9007199254740991", "9007199254740991");
    check_write("123456789012345678", "123456789012345678");
    check_write("1e300", "1e300");
    check_write("-2.5e-300", "-2.5e-300");
    check_write("0.30000000000000004", "0.30000000000000004");
    /* numbers without text (built by hand): integers when integral and below 2^53, else the shortest %.Ng */
    check_format(-0.0, "-0");
    check_format(1e-7, "1e-07");
    check_format(100.0, "100");
    check_format(9007199254740991.0, "9007199254740991");   /* 2^53 - 1: integer form */
    check_format(9007199254740992.0, "9007199254740992");   /* 2^53: %.16g happens to be exact */
    check_format(123456789012345678.0, "1.2345678901234568e+17");
    check_format(1e300, "1e+300");
    check_format(0.30000000000000004, "0.30000000000000004");
    check_write("[1,2.5,-3]", "[1,2.5,-3]");
    check_reject("1e400", 5, "overflowing number 1e400");
    check_reject("-1e400", 6, "overflowing number -1e400");
}

static void test_accept_misc(void) {
    char err[256];
    mgx_json *v;
    check_accept("[]", "empty array");
    check_accept("{}", "empty object");
    check_accept(" \t\r\n[ 1 , \"a\" , { \"k\" : [ null , true , false ] } ]\n\r\t ", "whitespace everywhere");
    check_accept("[[[]]]", "nested empties");
    check_accept("{\"\":0}", "empty key");
    check_write("{ \"a\" : [ 1, { \"b\" : null } ], \"c\":\"\\u0001\\u001f\\\"\\\\/\" }",
                "{\"a\":[1,{\"b\":null}],\"c\":\"\\u0001\\u001f\\\"\\\\/\"}");
    check_write("\"\\b\\f\\n\\r\\t\\u007f\\u00e9\"", "\"\\b\\f\\n\\r\\t\x7F\xC3\xA9\"");
    check_write("\"\\ud83d\\ude00\"", "\"\xF0\x9F\x98\x80\"");
    check_write("[true,false,null]", "[true,false,null]");

    /* Duplicate keys: accepted, last one wins on lookup, both kept in order. */
    v = P("{\"a\":1,\"b\":2,\"a\":3}", err, sizeof err);
    CHECK(v && v->len == 3 && mgx_json_number(mgx_json_get(v, "a"), 0) == 3, "duplicate key: last wins");
    CHECK(mgx_json_get(v, "c") == NULL && mgx_json_get(NULL, "a") == NULL, "absent key");
    mgx_json_free(v);

    /* Keys with an embedded NUL do not match their prefix. */
    v = P("{\"a\\u0000b\":1,\"a\":2}", err, sizeof err);
    CHECK(v && v->len == 2 && v->key_lens && v->key_lens[0] == 3, "key with NUL has length 3");
    CHECK(mgx_json_number(mgx_json_get(v, "a"), 0) == 2, "get(\"a\") skips \"a\\0b\"");
    CHECK(mgx_json_number(mgx_json_getn(v, "a\0b", 3), 0) == 1, "getn finds \"a\\0b\"");
    CHECK(v == NULL || round_trip_ok(v), "round trip key with NUL");
    mgx_json_free(v);

    /* Accessor type checks. */
    v = P("{\"s\":\"x\",\"n\":5,\"b\":true,\"arr\":[1,\"2\"],\"nums\":[1,2,3]}", err, sizeof err);
    if (v) {
        double out[2] = {0, 0};
        CHECK(mgx_json_string(mgx_json_get(v, "n")) == NULL, "string() of number is NULL");
        CHECK(mgx_json_number(mgx_json_get(v, "s"), -7) == -7, "number() of string is fallback");
        CHECK(mgx_json_number(mgx_json_get(v, "b"), -7) == -7, "number() of bool is fallback");
        CHECK(mgx_json_bool(mgx_json_get(v, "n"), -7) == -7, "bool() of number is fallback");
        CHECK(mgx_json_numbers(mgx_json_get(v, "arr"), out, 2) == -1, "numbers() of mixed array is -1");
        CHECK(mgx_json_numbers(mgx_json_get(v, "s"), out, 2) == -1, "numbers() of string is -1");
        CHECK(mgx_json_numbers(mgx_json_get(v, "nums"), out, 2) == 3 && out[0] == 1 && out[1] == 2,
              "numbers() copies up to cap, returns length");
        CHECK(mgx_json_numbers(mgx_json_get(v, "nums"), NULL, 0) == 3, "numbers() with no buffer");
        CHECK(mgx_json_at(mgx_json_get(v, "s"), 0) == NULL, "at() of string is NULL");
        CHECK(mgx_json_len(mgx_json_get(v, "arr")) == 2 && mgx_json_len(mgx_json_get(v, "s")) == 1 &&
                  mgx_json_len(mgx_json_get(v, "n")) == 0 && mgx_json_len(v) == 5, "len()");
        CHECK(strcmp(mgx_json_type_name(mgx_json_get(v, "arr")->type), "array") == 0, "type_name");
        CHECK(mgx_json_path(v, "arr.01") != NULL && mgx_json_path(v, "arr.x") == NULL &&
                  mgx_json_path(v, "arr.") == NULL && mgx_json_path(v, "arr.-1") == NULL &&
                  mgx_json_path(v, "arr.99999999999999999999999") == NULL, "path index syntax");
    } else {
        CHECK(0, "accessor doc parses: %s", err);
    }
    mgx_json_free(v);
    mgx_json_free(NULL);
    CHECK(mgx_json_write(NULL) == NULL, "write(NULL)");
}

static void test_reject(void) {
    static const struct { const char *doc; const char *what; } bad[] = {
        {"[1,2,]", "trailing comma in array"},
        {"{\"a\":1,}", "trailing comma in object"},
        {"[,1]", "leading comma"},
        {"[1,,2]", "double comma"},
        {"[1 2]", "missing comma"},
        {"{\"a\" 1}", "missing colon"},
        {"{\"a\":}", "missing value"},
        {"{a:1}", "unquoted key"},
        {"{1:1}", "number key"},
        {"{'a':1}", "single-quoted key"},
        {"['a']", "single-quoted string"},
        {"01", "leading zero"},
        {"-01", "leading zero negative"},
        {"00", "double zero"},
        {"1.", "no digits after point"},
        {".5", "no digits before point"},
        {"1e", "empty exponent"},
        {"1e+", "empty signed exponent"},
        {"+1", "plus sign"},
        {"-", "lone minus"},
        {"- 1", "minus then space"},
        {"0x10", "hex number"},
        {"1.0.0", "two points"},
        {"NaN", "NaN"},
        {"-Infinity", "-Infinity"},
        {"Infinity", "Infinity"},
        {"tru", "truncated true"},
        {"True", "capitalised True"},
        {"nul", "truncated null"},
        {"nulll", "null with extra l"},
        {"[1] [2]", "two values"},
        {"1 2", "two numbers"},
        {"[1]x", "trailing garbage"},
        {"[1", "unterminated array"},
        {"{\"a\":1", "unterminated object"},
        {"{", "lone brace"},
        {"]", "lone close bracket"},
        {"\"abc", "unterminated string"},
        {"\"abc\\\"", "unterminated string ending in escaped quote"},
        {"\"\\", "string ending in backslash"},
        {"\"\\x41\"", "invalid escape \\x"},
        {"\"\\a\"", "invalid escape \\a"},
        {"\"\\'\"", "invalid escape \\'"},
        {"\"\\u12\"", "short \\u escape"},
        {"\"\\u12G4\"", "non-hex \\u escape"},
        {"\"\\U0041\"", "capital \\U escape"},
        {"\"\\uD800\"", "lone high surrogate"},
        {"\"\\uDC00\"", "lone low surrogate"},
        {"\"\\uDFFF\\uD800\"", "reversed surrogate pair"},
        {"\"\\uD800\\uD800\"", "high surrogate followed by high surrogate"},
        {"\"\\uD800\\u0041\"", "high surrogate followed by BMP char"},
        {"\"\\uD800x\"", "high surrogate followed by text"},
        {"\"\\uD83D\\\"", "high surrogate followed by other escape"},
        {"\"a\tb\"", "unescaped tab in string"},
        {"\"a\nb\"", "unescaped newline in string"},
        {"\"\x1f\"", "unescaped 0x1F in string"},
        {"\"\xC3\"", "truncated 2-byte UTF-8"},
        {"\"\xC3\x28\"", "bad continuation byte"},
        {"\"\x80\"", "lone continuation byte"},
        {"\"\xC0\xAF\"", "overlong '/' (C0 AF)"},
        {"\"\xC1\xBF\"", "overlong (C1)"},
        {"\"\xE0\x80\xAF\"", "overlong 3-byte"},
        {"\"\xF0\x80\x80\xAF\"", "overlong 4-byte"},
        {"\"\xED\xA0\x80\"", "UTF-8 encoded surrogate U+D800"},
        {"\"\xED\xBF\xBF\"", "UTF-8 encoded surrogate U+DFFF"},
        {"\"\xF4\x90\x80\x80\"", "above U+10FFFF"},
        {"\"\xF5\x80\x80\x80\"", "F5 lead byte"},
        {"\"\xFF\"", "FF byte"},
        {"\"\xFE\"", "FE byte"},
        {"\"\xE2\x82\"", "truncated 3-byte UTF-8"},
        {"\"\xF0\x9F\x98\"", "truncated 4-byte UTF-8"},
        {"\xEF\xBB\xBF[]", "byte order mark"},
        {"[1]\xC3\xA9", "non-ASCII after value"},
        {"/* c */ 1", "comment"},
        {"[1] // c", "line comment"},
        {"", "empty input"},
        {" \n\t\r ", "whitespace only"},
        {"\f1", "form feed is not JSON whitespace"},
        {"[1,\xA0 2]", "non-breaking space"},
        {"{\"a\":1 \"b\":2}", "object missing comma"},
        {"{\"a\":1}}", "extra close brace"},
        {"[\"a\":1]", "colon in array"},
        {"{\"a\",1}", "comma instead of colon"},
        {"{\"a\\uD800\":1}", "lone surrogate in key"},
        {"{\"\xFF\":1}", "invalid UTF-8 in key"},
    };
    size_t i;
    char err[256];
    mgx_json *v;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) check_reject(bad[i].doc, strlen(bad[i].doc), bad[i].what);
    check_reject("\"a\0b\"", 5, "raw NUL byte in string");
    check_reject("[1]\0", 4, "NUL after value");
    check_reject("\0", 1, "lone NUL");

    /* NULL input. */
    err[0] = 0;
    v = mgx_json_parse(NULL, 0, err, sizeof err);
    CHECK(v == NULL && strstr(err, "empty input"), "NULL, 0 is empty input: %s", err);
    v = mgx_json_parse(NULL, 5, err, sizeof err);
    CHECK(v == NULL, "NULL with n > 0");
    v = mgx_json_parse("[]", 2, NULL, 0);
    CHECK(v != NULL, "NULL err buffer is fine");
    mgx_json_free(v);
    v = mgx_json_parse("[", 1, NULL, 0);
    CHECK(v == NULL, "error with NULL err buffer");
    v = mgx_json_parse("[", 1, err, 1);
    CHECK(v == NULL && err[0] == 0, "tiny err buffer stays NUL-terminated");
    v = mgx_json_parse("[", 1, err, 10);
    CHECK(v == NULL && strlen(err) == 9, "truncated error message: '%s'", err);

    /* Error location: offset and line:column of the offending byte. */
    v = P("[1,\n 2,]", err, sizeof err);
    CHECK(v == NULL && strstr(err, "offset 7 (line 2, column 4)"), "error location: %s", err);
    v = P("{\"a\":\n\n  tru}", err, sizeof err);
    CHECK(v == NULL && strstr(err, "offset 9 (line 3, column 3)"), "literal error location: %s", err);
    v = P("[\"ok\", \"bad\x01\"]", err, sizeof err);
    CHECK(v == NULL && strstr(err, "control") && strstr(err, "offset 11 "), "control char location: %s", err);
    v = P("\"\\uD800\"", err, sizeof err);
    CHECK(v == NULL && strstr(err, "surrogate") && strstr(err, "offset 1 "), "surrogate message: %s", err);
}

static void test_depth(void) {
    char err[256];
    size_t n = 100000, i;
    char *buf = (char *)malloc(2 * n);
    mgx_json *v;
    if (!buf) { CHECK(0, "malloc"); return; }
    /* 128 nested arrays: accepted. */
    for (i = 0; i < 128; i++) { buf[i] = '['; buf[256 - 1 - i] = ']'; }
    v = mgx_json_parse(buf, 256, err, sizeof err);
    CHECK(v != NULL, "depth 128 accepted: %s", err);
    if (v) {
        const mgx_json *d = v;
        size_t depth = 0;
        while (d && d->type == MGX_JSON_ARRAY) { depth++; d = d->len ? d->items[0] : NULL; }
        CHECK(depth == 128, "depth 128 tree has 128 levels (%lu)", (unsigned long)depth);
        CHECK(round_trip_ok(v), "depth 128 round trip");
    }
    mgx_json_free(v);
    /* 129: rejected. */
    for (i = 0; i < 129; i++) { buf[i] = '['; buf[258 - 1 - i] = ']'; }
    v = mgx_json_parse(buf, 258, err, sizeof err);
    CHECK(v == NULL && strstr(err, "nesting") && strstr(err, "offset 128 "), "depth 129 rejected: %s", err);
    /* Mixed objects and arrays, 129 levels. */
    for (i = 0; i < 129; i++) {
        if (i % 2) { buf[i * 5] = '['; memcpy(buf + i * 5 + 1, "    ", 4); }
        else memcpy(buf + i * 5, "{\"k\":", 5);
    }
    v = mgx_json_parse(buf, 129 * 5, err, sizeof err);
    CHECK(v == NULL && strstr(err, "nesting"), "mixed depth 129 rejected: %s", err);
    /* '[' repeated 100000 times. */
    memset(buf, '[', n);
    v = mgx_json_parse(buf, n, err, sizeof err);
    CHECK(v == NULL && strstr(err, "nesting"), "100000 x '[' rejected: %s", err);
    /* 100000 '{"a":' would also be deep; and a wide flat array is fine. */
    buf[0] = '[';
    for (i = 0; i + 1 < n; i++) { buf[1 + 2 * i] = '1'; buf[2 + 2 * i] = ','; }
    buf[2 * n - 2] = ']';   /* "[1,1,...,1]": n - 1 elements in 2n - 1 bytes */
    v = mgx_json_parse(buf, 2 * n - 1, err, sizeof err);
    CHECK(v && v->type == MGX_JSON_ARRAY && v->len == n - 1, "wide array of %lu numbers: %s",
          (unsigned long)(n - 1), err);
    mgx_json_free(v);
    free(buf);
}

static void test_prefix_find(void) {
    char err[256];
    size_t end = 99, start = 99;
    const char *out = "Here are the boxes:\n```json\n[{\"box_2d\": [10, 20, 300, 400], \"label\": \"nodule\"}]\n```\n"
                      "Hope this helps [sic].";
    mgx_json *v;
    double box[4];
    v = mgx_json_parse_prefix("  [1, 2] trailing", 17, &end, err, sizeof err);
    CHECK(v && v->len == 2 && end == 8, "prefix: value then trailing text, end = %lu", (unsigned long)end);
    mgx_json_free(v);
    v = mgx_json_parse_prefix("123abc", 6, &end, err, sizeof err);
    CHECK(v && v->num == 123 && end == 3, "prefix number");
    mgx_json_free(v);
    v = mgx_json_parse_prefix("\"s\"", 3, &end, err, sizeof err);
    CHECK(v && end == 3, "prefix whole text");
    mgx_json_free(v);
    v = mgx_json_parse_prefix("[1, 2", 5, &end, err, sizeof err);
    CHECK(v == NULL && end == 5, "prefix error offset %lu", (unsigned long)end);
    v = mgx_json_parse_prefix("x", 1, &end, err, sizeof err);
    CHECK(v == NULL && end == 0, "prefix not a value");

    v = mgx_json_find(out, strlen(out), '[', &start, &end);
    CHECK(v && v->type == MGX_JSON_ARRAY && v->len == 1, "find array in model output");
    CHECK(start == 28 && end == 79 && out[start] == '[' && out[end - 1] == ']', "find range [%lu, %lu)",
          (unsigned long)start, (unsigned long)end);
    CHECK(mgx_json_numbers(mgx_json_path(v, "0.box_2d"), box, 4) == 4 && box[0] == 10 && box[3] == 400, "box");
    CHECK(strcmp(mgx_json_string(mgx_json_path(v, "0.label")), "nodule") == 0, "label");
    mgx_json_free(v);
    v = mgx_json_find("a [broken, then {\"x\": 1} and [2]", 32, 0, &start, &end);
    CHECK(v && v->type == MGX_JSON_OBJECT && start == 16 && end == 24, "find either: first that parses");
    mgx_json_free(v);
    v = mgx_json_find("a [broken, then {\"x\": 1} and [2]", 32, '[', &start, &end);
    CHECK(v && v->type == MGX_JSON_ARRAY && v->len == 1 && start == 29, "find '[' skips the broken one");
    mgx_json_free(v);
    v = mgx_json_find("no json here", 12, 0, &start, &end);
    CHECK(v == NULL && start == 0 && end == 0, "find nothing");
}

static void test_writer_handbuilt(void) {
    mgx_json s, n1, n2, n3, arr, obj, cyc;
    mgx_json *items[3];
    char *keys[1];
    char *w;
    memset(&s, 0, sizeof s);
    s.type = MGX_JSON_STRING;
    s.str = (char *)"ok\xFF\xC3";   /* invalid UTF-8 bytes -> U+FFFD each */
    s.len = 4;
    w = mgx_json_write(&s);
    CHECK(w && strcmp(w, "\"ok\xEF\xBF\xBD\xEF\xBF\xBD\"") == 0, "invalid UTF-8 written as U+FFFD");
    free(w);
    memset(&n1, 0, sizeof n1);
    n1.type = MGX_JSON_NUMBER;
    n2 = n1;
    n3 = n1;
    n1.num = HUGE_VAL;
    n2.num = -HUGE_VAL;
    n3.num = 0.25;
    items[0] = &n1;
    items[1] = &n2;
    items[2] = &n3;
    memset(&arr, 0, sizeof arr);
    arr.type = MGX_JSON_ARRAY;
    arr.items = items;
    arr.len = 3;
    w = mgx_json_write(&arr);
    CHECK(w && strcmp(w, "[null,null,0.25]") == 0, "non-finite written as null: %s", w ? w : "(null)");
    free(w);
    memset(&obj, 0, sizeof obj);
    obj.type = MGX_JSON_OBJECT;
    keys[0] = (char *)"k\"";
    obj.keys = keys;     /* key_lens NULL: strlen is used */
    obj.items = items + 2;
    obj.len = 1;
    w = mgx_json_write(&obj);
    CHECK(w && strcmp(w, "{\"k\\\"\":0.25}") == 0, "hand-built object without key_lens");
    free(w);
    CHECK(mgx_json_number(mgx_json_get(&obj, "k\""), 0) == 0.25, "get without key_lens");
    /* A cycle: rejected by the writer's depth limit, not a crash. */
    memset(&cyc, 0, sizeof cyc);
    cyc.type = MGX_JSON_ARRAY;
    items[0] = &cyc;
    cyc.items = items;
    cyc.len = 1;
    CHECK(mgx_json_write(&cyc) == NULL, "cyclic tree -> NULL");
    arr.items = NULL;
    CHECK(mgx_json_write(&arr) == NULL, "malformed array -> NULL");
}

static void test_fixture(void) {
    size_t n = 0;
    char *text = (char *)mgt_read_file("tests/data/ref/tokenize/tok-tiny-vocab.json", &n);
    char err[256];
    mgx_json *v;
    const mgx_json *cases, *c;
    double ids[64];
    char *w;
    size_t i;
    unsigned long sum = 0, total_ids = 0, nspecial = 0;
    CHECK(text != NULL, "read tests/data/ref/tokenize/tok-tiny-vocab.json (run from the repo root)");
    if (!text) return;
    CHECK(n == 28499, "fixture size %lu", (unsigned long)n);
    v = mgx_json_parse(text, n, err, sizeof err);
    CHECK(v != NULL, "fixture parses: %s", err);
    if (!v) { free(text); return; }
    /* Facts below were read with python3: d = json.load(open(...)). */
    cases = mgx_json_get(v, "cases");
    CHECK(v->len == 3 && strcmp(v->keys[0], "vocab") == 0 && strcmp(v->keys[2], "cases") == 0, "top keys");
    CHECK(strcmp(mgx_json_string(mgx_json_get(v, "vocab")), "tiny-f32.gguf") == 0, "vocab");
    CHECK(mgx_json_len(cases) == 45, "len(d['cases']) == 45");
    /* d['cases'][3]: lead_spaces3, ids [44, 499, 835, 5735, 797, 2525] */
    CHECK(strcmp(mgx_json_string(mgx_json_path(v, "cases.3.name")), "lead_spaces3") == 0, "cases[3].name");
    CHECK(mgx_json_numbers(mgx_json_path(v, "cases.3.ids"), ids, 64) == 6 && ids[0] == 44 && ids[1] == 499 &&
              ids[2] == 835 && ids[3] == 5735 && ids[4] == 797 && ids[5] == 2525, "cases[3].ids");
    CHECK(strcmp(mgx_json_string(mgx_json_path(v, "cases.3.pieces.3")), "\xE2\x96\x81leading") == 0,
          "cases[3].pieces[3] == '\\u2581leading'");
    /* d['cases'][36]['text'].encode() == b'\x01\x02\x7f \xf0\x9f\xa7\xac \xf0\x90\x8d\x88' (13 bytes) */
    c = mgx_json_path(v, "cases.36.text");
    CHECK(c && c->len == 13 && memcmp(c->str, "\x01\x02\x7f \xf0\x9f\xa7\xac \xf0\x90\x8d\x88", 13) == 0,
          "cases[36].text bytes");
    /* d['cases'][0]: empty text, ids [] */
    CHECK(mgx_json_numbers(mgx_json_path(v, "cases.0.ids"), ids, 64) == 0 &&
              mgx_json_path(v, "cases.0.text")->len == 0, "cases[0] empty");
    /* d['cases'][24]['pieces'][24] == 'た' (E3 81 9F) */
    CHECK(strcmp(mgx_json_string(mgx_json_path(v, "cases.24.pieces.24")), "\xE3\x81\x9F") == 0, "cases[24]");
    /* sum(c['parse_special'] for c in cases) == 6; sum of all ids == 3943105; total ids == 978 */
    for (i = 0; i < mgx_json_len(cases); i++) {
        const mgx_json *idl = mgx_json_get(mgx_json_at(cases, i), "ids");
        size_t j;
        nspecial += (unsigned long)mgx_json_bool(mgx_json_get(mgx_json_at(cases, i), "parse_special"), 0);
        for (j = 0; j < mgx_json_len(idl); j++) sum += (unsigned long)mgx_json_number(mgx_json_at(idl, j), 0);
        total_ids += mgx_json_len(idl);
    }
    CHECK(nspecial == 6 && sum == 3943105UL, "parse_special count %lu, ids sum %lu", nspecial, sum);
    CHECK(total_ids == 978, "total ids %lu", total_ids);
    /* len(json.dumps(d, separators=(',',':'), ensure_ascii=False).encode()) == 16735, byte sum % 1000003 == 228859 */
    w = mgx_json_write(v);
    CHECK(w != NULL, "write fixture");
    if (w) {
        size_t wl = strlen(w);
        unsigned long bs = 0;
        for (i = 0; i < wl; i++) bs += (unsigned char)w[i];
        CHECK(wl == 16735 && bs % 1000003UL == 228859UL, "compact write matches python's json.dumps (len %lu)",
              (unsigned long)wl);
    }
    free(w);
    CHECK(round_trip_ok(v), "fixture round trip");
    mgx_json_free(v);
    free(text);
}

/* Deterministic mutation fuzz: truncations, byte flips, insertions and deletions of valid documents. Any
   accepted mutant must round-trip; rejected ones must explain themselves; nothing may crash or leak (ASan). */
typedef struct { unsigned long long s; } rng_t;
static unsigned rng_next(rng_t *r) {
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(r->s >> 33);
}

static void test_fuzz(void) {
    static const char *seeds[] = {
        "{\"a\":[1,2.5,-3e-2,true,false,null],\"b\":{\"c\":\"d\\u00e9\\ud83d\\ude00\\n\"},\"e\":[]}",
        "[{\"box_2d\":[10,20,300,400],\"label\":\"nodule\"},{\"box_2d\":[1,2,3,4],\"label\":\"x\"}]",
        "{\"glucose\":{\"value\":5.2,\"unit\":\"mmol/L\"},\"ok\":true,\"notes\":\"caf\xC3\xA9 \xE2\x82\xAC\"}",
        "[[[[[[[[[[\"deep\"]]]]]]]]]]",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\"",
        "-0.000123e+45",
        " { \"k\" : [ 0 , -1 , 1E5 , 1e-7 ] } ",
    };
    static const char interesting[] = "[]{}\",:\\0123456789-+.eEtfnu \x01\x80\xC3\xED\xF0\xFF";
    rng_t r;
    char buf[512], err[256];
    long iters = TEST_JSON_FUZZ_ITERS, it, accepted = 0, rejected = 0, bad = 0;
    r.s = 12345;
    for (it = 0; it < iters; it++) {
        const char *seed = seeds[rng_next(&r) % (sizeof seeds / sizeof seeds[0])];
        size_t n = strlen(seed), k, muts = 1 + rng_next(&r) % 4;
        char *copy;
        mgx_json *v, *v2;
        size_t end = 0;
        memcpy(buf, seed, n);
        for (k = 0; k < muts && n > 0; k++) {
            unsigned op = rng_next(&r) % 5;
            size_t at = rng_next(&r) % n;
            if (op == 0) n = at;                                                   /* truncate */
            else if (op == 1) buf[at] = (char)(rng_next(&r) & 0xFF);               /* random byte */
            else if (op == 2) buf[at] = interesting[rng_next(&r) % (sizeof interesting - 1)];
            else if (op == 3 && n < sizeof buf - 1) {                              /* insert */
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = interesting[rng_next(&r) % (sizeof interesting - 1)];
                n++;
            } else { memmove(buf + at, buf + at + 1, n - at - 1); n--; }           /* delete */
        }
        copy = (char *)malloc(n ? n : 1);
        if (!copy) continue;
        memcpy(copy, buf, n);
        err[0] = 0;
        v = mgx_json_parse(copy, n, err, sizeof err);
        if (v) {
            accepted++;
            if (!round_trip_ok(v)) bad++;
        } else {
            rejected++;
            if (!strstr(err, "offset")) bad++;
        }
        v2 = mgx_json_parse_prefix(copy, n, &end, NULL, 0);
        if (v2) {
            mgx_json *v3 = end <= n ? mgx_json_parse(copy, end, NULL, 0) : NULL;
            if (!v3 || !mgx_json_equal(v2, v3)) bad++;
            if (v && !mgx_json_equal(v, v2)) bad++;
            mgx_json_free(v3);
        } else if (v) {
            bad++;
        }
        mgx_json_free(v);
        mgx_json_free(v2);
        free(copy);
    }
    CHECK(bad == 0, "fuzz: %ld inconsistent of %ld (accepted %ld, rejected %ld)", bad, iters, accepted, rejected);
    CHECK(accepted > 0 && rejected > 0, "fuzz exercised both paths (accepted %ld, rejected %ld)", accepted,
          rejected);
}

int main(void) {
    test_rfc_examples();
    test_strings();
    test_numbers();
    test_accept_misc();
    test_reject();
    test_depth();
    test_prefix_find();
    test_writer_handbuilt();
    test_fixture();
    test_fuzz();
    return MG_TEST_END();
}
