/* test_args.c — the command-line layer (examples/common/mgx_args.h, mgx_cli.h): strict numbers, the option
   table parser and its messages, --help, text inputs (NUL bytes, UTF-8, images, limits), the system text
   with --think, and the thread count. Expected values are written out by hand. */
#include "mgtest.h"
#include "mgx_args.h"
#include "mgx_cli.h"
#include <limits.h>
#include <unistd.h>

static char tmpdir[64];

static const char *tmp_path(const char *name) {
    static char buf[4][160];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(data, 1, n, f); fclose(f); }
}

static void test_numbers(void) {
    long long v = 7;
    uint64_t u = 7;
    double d = 7;
    CHECK(mgx_parse_ll("85", 1, 100000, &v) == 0 && v == 85, "85");
    CHECK(mgx_parse_ll("-3", -5, 5, &v) == 0 && v == -3, "-3");
    CHECK(mgx_parse_ll("007", 0, 10, &v) == 0 && v == 7, "leading zeros");
    CHECK(mgx_parse_ll("1e3", 1, 100000, &v) == -1, "1e3 is not an integer");
    CHECK(mgx_parse_ll("3abc", 1, 100000, &v) == -1, "3abc");
    CHECK(mgx_parse_ll("99999999999", 1, 100000, &v) == -2, "99999999999 out of range");
    CHECK(mgx_parse_ll("99999999999999999999999", 1, 100000, &v) == -2, "past 64 bits: out of range");
    CHECK(mgx_parse_ll("9223372036854775807", LLONG_MIN, LLONG_MAX, &v) == 0 && v == LLONG_MAX, "LLONG_MAX");
    CHECK(mgx_parse_ll("-9223372036854775808", LLONG_MIN, LLONG_MAX, &v) == 0 && v == LLONG_MIN, "LLONG_MIN");
    CHECK(mgx_parse_ll("9223372036854775808", LLONG_MIN, LLONG_MAX, &v) == -2, "LLONG_MAX + 1");
    CHECK(mgx_parse_ll("", 0, 10, &v) == -1 && mgx_parse_ll("-", 0, 10, &v) == -1, "empty, lone minus");
    CHECK(mgx_parse_ll(" 3", 0, 10, &v) == -1 && mgx_parse_ll("3 ", 0, 10, &v) == -1 && mgx_parse_ll("+3", 0, 10, &v) == -1,
          "spaces and plus signs");
    CHECK(mgx_parse_ll("-1", 0, 10, &v) == -2, "negative below the range");
    CHECK(v == LLONG_MIN, "failures leave the value alone");
    CHECK(mgx_parse_u64("18446744073709551615", &u) == 0 && u == UINT64_MAX, "u64 max");
    CHECK(mgx_parse_u64("18446744073709551616", &u) == -2, "u64 max + 1");
    CHECK(mgx_parse_u64("1844674407370955161x", &u) == -1, "u64 trailing letter");
    CHECK(mgx_parse_u64("-1", &u) == -1, "u64 minus");
    CHECK(mgx_parse_double("0.95", 0, 1, &d) == 0 && d == 0.95, "0.95");
    CHECK(mgx_parse_double("1.5e1", 0, 100, &d) == 0 && d == 15, "1.5e1");
    CHECK(mgx_parse_double(".5", 0, 1, &d) == 0 && d == 0.5 && mgx_parse_double("5.", 0, 10, &d) == 0 && d == 5, ".5 and 5.");
    CHECK(mgx_parse_double("nan", 0, 100, &d) == -1 && mgx_parse_double("inf", 0, 100, &d) == -1, "nan, inf");
    CHECK(mgx_parse_double("0x10", 0, 100, &d) == -1 && mgx_parse_double("1e", 0, 100, &d) == -1, "hex, bare exponent");
    CHECK(mgx_parse_double(".", 0, 100, &d) == -1 && mgx_parse_double("abc", 0, 100, &d) == -1, ". and abc");
    CHECK(mgx_parse_double("1e400", 0, 1e300, &d) == -2, "1e400 overflows: out of range");
    CHECK(mgx_parse_double("-0.5", 0, 1, &d) == -2 && mgx_parse_double("101", 0, 100, &d) == -2, "out of range");
    CHECK(mgx_parse_double(" 1", 0, 10, &d) == -1, "leading space");
}

typedef struct demo { int k, flag, mode; float temp; const char *name; mgx_seed seed; mgx_list q; } demo;

static int parse(demo *x, int argc, char **argv, const char **pos, int *n_pos, char *err) {
    const mgx_arg args[8] = {
        { "--slices", MGX_INT, &x->k, "K", "slices (default 85)", 1, 100000, 0 },
        { "--think", MGX_FLAG, &x->flag, NULL, "think", 0, 0, 0 },
        { "--image-mode", MGX_ENUM, &x->mode, "medgemma|llamacpp", "preprocessing", 0, 0, 0 },
        { "--temp", MGX_FLOAT, &x->temp, "T", "temperature", 0, 100, 0 },
        { "-m, --model", MGX_STR, &x->name, "FILE", "the model", 0, 0, MGX_REQUIRED },
        { "--seed", MGX_SEED, &x->seed, "S", "seed", 0, 0, 0 },
        { "-q, -p", MGX_LIST, &x->q, "TEXT", "question", 0, 3, 0 },
        { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
    const mgx_argtable tables[2] = { { "Demo", args }, { NULL, NULL } };
    const mgx_argspec spec = { "demo", "IMAGE [options]", "A demo.", 1, 1, "IMAGE", tables, "Exit status: ..." };
    memset(x, 0, sizeof *x);
    x->k = 85;
    return mgx_args_parse(&spec, argc, argv, pos, n_pos, err, 256);
}

#define ARGV(...) { const char *a_[] = { "demo", __VA_ARGS__ }; argc = (int)(sizeof a_ / sizeof a_[0]); memcpy(argv, a_, sizeof a_); }

static void test_parser(void) {
    demo x;
    const char *pos[2], *argv[16];
    char err[256];
    int argc, n_pos, r;
    ARGV("img.png", "-m", "model.gguf", "--slices", "10", "--think", "--image-mode", "llamacpp", "--temp=0.5", "-q", "A?", "-p", "B?", "--seed", "-1");
    r = parse(&x, argc, (char **)argv, pos, &n_pos, err);
    CHECK(r == MGX_ARGS_OK, "full line: %s", err);
    CHECK(n_pos == 1 && !strcmp(pos[0], "img.png") && !strcmp(x.name, "model.gguf") && x.k == 10 && x.flag == 1 &&
          x.mode == 1 && x.temp == 0.5f && x.seed.random == 1, "values");
    CHECK(x.q.n == 2 && !strcmp(x.q.v[0], "A?") && !strcmp(x.q.v[1], "B?"), "-q and its synonym -p, in order");
#define BAD(msg, ...) do { ARGV(__VA_ARGS__); r = parse(&x, argc, (char **)argv, pos, &n_pos, err); \
        CHECK(r == MGX_ARGS_BAD && !strcmp(err, msg), "%s -> [%s]", msg, r == MGX_ARGS_BAD ? err : "accepted"); } while (0)
    BAD("--slices: '1e3' is not a whole number (accepted: 1 to 100000)", "i", "-m", "x", "--slices", "1e3");
    BAD("--slices: '3abc' is not a whole number (accepted: 1 to 100000)", "i", "-m", "x", "--slices", "3abc");
    BAD("--slices: '99999999999' is out of range (accepted: 1 to 100000)", "i", "-m", "x", "--slices", "99999999999");
    BAD("--slices: '0' is out of range (accepted: 1 to 100000)", "i", "-m", "x", "--slices", "0");
    BAD("--temp: 'nan' is not a decimal number (accepted: 0 to 100)", "i", "-m", "x", "--temp", "nan");
    BAD("--temp: 'abc' is not a decimal number (accepted: 0 to 100)", "i", "-m", "x", "--temp", "abc");
    BAD("--seed: 'abc' is not a whole number (accepted: 0 to 18446744073709551615, or -1 for a random seed)", "i", "-m", "x", "--seed", "abc");
    BAD("--seed: '-2' is not a whole number (accepted: 0 to 18446744073709551615, or -1 for a random seed)", "i", "-m", "x", "--seed", "-2");
    BAD("--image-mode: 'bogus' is not one of medgemma|llamacpp", "i", "-m", "x", "--image-mode", "bogus");
    BAD("unknown option --foo", "i", "-m", "x", "--foo", "1");
    BAD("unknown option --foo", "i", "-m", "x", "--foo");            /* at the end: unknown, not "needs a value" */
    BAD("unknown option --foo", "i", "-m", "x", "--foo=3");
    BAD("--temp needs a value T", "i", "-m", "x", "--temp");
    BAD("--think takes no value", "i", "-m", "x", "--think=1");
    BAD("missing -m FILE", "i");
    BAD("missing IMAGE", "-m", "x");
    BAD("unexpected argument 'j' (demo takes IMAGE)", "i", "j", "-m", "x");
    BAD("-q: at most 3 values", "i", "-m", "x", "-q", "a", "-q", "b", "-q", "c", "-q", "d");
    ARGV("-m", "x", "--", "-odd.png");
    CHECK(parse(&x, argc, (char **)argv, pos, &n_pos, err) == MGX_ARGS_OK && n_pos == 1 && !strcmp(pos[0], "-odd.png"), "-- ends options");
    ARGV("-", "-m", "x", "-q", "--not-an-option");
    CHECK(parse(&x, argc, (char **)argv, pos, &n_pos, err) == MGX_ARGS_OK && !strcmp(pos[0], "-") && !strcmp(x.q.v[0], "--not-an-option"),
          "- is an argument; an option's value is taken as it is");
    ARGV("--slices", "5", "--help");
    CHECK(parse(&x, argc, (char **)argv, pos, &n_pos, err) == MGX_ARGS_HELP, "--help with nothing else required");
    ARGV("-h");
    CHECK(parse(&x, argc, (char **)argv, pos, &n_pos, err) == MGX_ARGS_HELP, "-h");
    ARGV("--version");
    CHECK(parse(&x, argc, (char **)argv, pos, &n_pos, err) == MGX_ARGS_VERSION, "--version");
    ARGV("i", "-m", "x", "--seed", "18446744073709551615");
    CHECK(parse(&x, argc, (char **)argv, pos, &n_pos, err) == MGX_ARGS_OK && x.seed.value == UINT64_MAX && !x.seed.random, "largest seed");
}

static void test_help(void) {
    const mgx_arg args[3] = {
        { "--image-mode", MGX_ENUM, NULL, "medgemma|llamacpp", "preprocessing (default medgemma)", 0, 0, 0 },
        { "-t, --threads", MGX_INT, NULL, "N", "threads (default: the CPUs online)", 1, 256, 0 },
        { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
    const mgx_argtable tables[2] = { { "Demo options", args }, { NULL, NULL } };
    const mgx_argspec spec = { "demo", "IMAGE [options]", "What it does.", 1, 1, "IMAGE", tables, "Exit status: 0, 1, 2." };
    FILE *f = tmpfile();
    char buf[2048];
    size_t n = 0;
    if (f) { mgx_args_help(&spec, f); rewind(f); n = fread(buf, 1, sizeof buf - 1, f); fclose(f); }
    buf[n] = 0;
    CHECK(!strncmp(buf, "usage: demo IMAGE [options]\n\nWhat it does.\n\nDemo options:\n", 58), "help head: %s", buf);
    CHECK(strstr(buf, "\n  --image-mode medgemma|llamacpp\n                               preprocessing (default medgemma)\n") != NULL,
          "a long option's help on the next line: %s", buf);
    CHECK(strstr(buf, "\n  -t, --threads N              threads (default: the CPUs online)\n") != NULL, "aligned line: %s", buf);
    CHECK(strstr(buf, "  -h, --help") && strstr(buf, "  --version") && strstr(buf, "\nExit status: 0, 1, 2.\n"), "help, version, footer");
}

static void test_utf8(void) {
    static const unsigned char ok[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    CHECK(mgx_utf8_check(ok, sizeof ok - 1) == sizeof ok - 1, "valid 2-, 3-, 4-byte sequences and U+10FFFF");
    CHECK(mgx_utf8_check((const unsigned char *)"ab\xe9" "cd", 5) == 2, "Latin-1 e-acute at 2");
    CHECK(mgx_utf8_check((const unsigned char *)"\xc0\x80", 2) == 0, "overlong NUL");
    CHECK(mgx_utf8_check((const unsigned char *)"x\xe0\x80\x80", 4) == 1, "overlong 3-byte");
    CHECK(mgx_utf8_check((const unsigned char *)"\xed\xa0\x80", 3) == 0, "surrogate");
    CHECK(mgx_utf8_check((const unsigned char *)"\xf4\x90\x80\x80", 4) == 0, "past U+10FFFF");
    CHECK(mgx_utf8_check((const unsigned char *)"ok\xe2\x82", 4) == 2, "cut sequence at the end");
    CHECK(mgx_utf8_check((const unsigned char *)"\x89PNG", 4) == 0, "continuation byte first");
}

static void test_text_inputs(void) {
    static const char note[] = "Patient has diabetes.\0 Patient is allergic to penicillin.";
    static const unsigned char png[16] = { 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13, 'I', 'H', 'D', 'R' };
    char err[512], *t;
    size_t n;
    uint8_t sha[32];
    write_bytes(tmp_path("nul.txt"), note, sizeof note - 1);
    t = mgx_read_text(NULL, tmp_path("nul.txt"), 1000, &n, NULL, err, sizeof err);
    CHECK(!t && strstr(err, "nul.txt: a NUL byte at offset 21: not text"), "NUL refused, offset named: %s", err);
    t = mgx_read_text("-f", tmp_path("nul.txt"), 1000, &n, NULL, err, sizeof err);
    CHECK(!t && !strncmp(err, "-f ", 3) && strstr(err, "offset 21"), "the flag named: %s", err);
    write_bytes(tmp_path("page.png"), png, sizeof png);
    t = mgx_read_text(NULL, tmp_path("page.png"), 1000, &n, NULL, err, sizeof err);
    CHECK(!t && strstr(err, "page.png is an image file (png), not text"), "an image refused: %s", err);
    write_bytes(tmp_path("latin1.txt"), "Temp\xe9rature 38", 14);
    t = mgx_read_text(NULL, tmp_path("latin1.txt"), 1000, &n, NULL, err, sizeof err);
    CHECK(!t && strstr(err, "not UTF-8 text (byte 0xe9 at offset 4)"), "Latin-1 refused: %s", err);
    write_bytes(tmp_path("long.txt"), "0123456789", 10);
    t = mgx_read_text(NULL, tmp_path("long.txt"), 9, &n, NULL, err, sizeof err);
    CHECK(!t && strstr(err, "long.txt"), "over the limit: %s", err);
    t = mgx_read_text(NULL, tmp_path("long.txt"), 10, &n, sha, err, sizeof err);
    CHECK(t && n == 10 && !strcmp(t, "0123456789"), "at the limit: read whole");
    /* SHA-256("0123456789"), from the FIPS 180 algorithm by another implementation (sha256sum) */
    {
        char hex[65];
        mgx_hex(sha, 32, hex);
        CHECK(!strcmp(hex, "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"), "sha256 of the text: %s", hex);
    }
    free(t);
    t = mgx_read_text(NULL, tmp_path("missing.txt"), 10, &n, NULL, err, sizeof err);
    CHECK(!t && strstr(err, "missing.txt"), "missing file named: %s", err);
}

static void test_finish(void) {
    mgx_opts o;
    int cpus = mgx_cpu_count();
    mgx_opts_init(&o, "demo");
    o.think = 1;
    CHECK(mgx_opts_finish(&o, "You are an expert radiologist.") == 0 &&
          !strcmp(o.system, "SYSTEM INSTRUCTION: think silently if needed. You are an expert radiologist."),
          "--think: the instruction starts the recipe's system text: %s", o.system);
    mgx_opts_free(&o);
    mgx_opts_init(&o, "demo");
    o.think = 1;
    CHECK(mgx_opts_finish(&o, NULL) == 0 && !strcmp(o.system, "SYSTEM INSTRUCTION: think silently if needed."), "--think alone");
    mgx_opts_free(&o);
    mgx_opts_init(&o, "demo");
    o.system_arg = "Be brief.";
    CHECK(mgx_opts_finish(&o, "You are an expert radiologist.") == 0 && !strcmp(o.system, "Be brief."), "--system replaces the recipe's");
    mgx_opts_free(&o);
    mgx_opts_init(&o, "demo");
    CHECK(mgx_opts_finish(&o, NULL) == 0 && o.system == NULL, "no system text");
    CHECK(o.n_predict == -1 && o.top_k == 64 && o.top_p == 0.95f && o.min_p == 0 && o.repeat_penalty == 1 && o.temp == 0 &&
          o.seed.value == 0, "the shared defaults");
    mgx_opts_free(&o);
    if (cpus > 0) {
        mgx_opts_init(&o, "demo");
        o.threads = cpus + 1;
        CHECK(mgx_opts_finish(&o, NULL) == 0 && o.threads == cpus, "-t above the CPUs: %d -> %d", cpus + 1, o.threads);
        mgx_opts_free(&o);
    }
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mgargsXXXXXX", base && strlen(base) < 40 ? base : "/tmp");
    if (!mkdtemp(tmpdir)) { printf("FAIL cannot create a temporary directory\n0 passed, 1 failed\n"); return 1; }
    test_numbers();
    test_parser();
    test_help();
    test_utf8();
    test_text_inputs();
    test_finish();
    {
        const char *names[] = { "nul.txt", "page.png", "latin1.txt", "long.txt" };
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; i++) remove(tmp_path(names[i]));
        rmdir(tmpdir);
    }
    return MG_TEST_END();
}
