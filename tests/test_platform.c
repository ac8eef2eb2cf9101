/* What differs between platforms, checked on each (make test here; i386, mingw-w64 under wine and s390x in CI):
   - files past 2 and 4 GiB (sparse, so they cost no disk): a 64-bit build measures them exactly and maps them, a
     32-bit build refuses them by name and size; models and snapshots alike, never truncated (Win64's ftell and
     i386's off_t used to cut them);
   - reads in pieces (of at most 1 GiB; 4093 bytes here): a file read with no_mmap arrives whole;
   - I/O failures carry the system's reason (snapshots included);
   - the default thread count follows the affinity mask (one allowed CPU: 1 thread) and the cgroup CPU quota,
     checked on fake cgroup trees. This file builds its own copy of the runtime to reach the private parts. */
#define MEDGEMMA_IMPLEMENTATION
#define MG__IO_PIECE 4093
#include "fixtures.h"
#if defined(_WIN32)
#include <io.h>
#endif

static const uint64_t GiB = (uint64_t)1 << 30;

/* A file of `total` bytes: `head` at the start, `tail` at the end, a hole (zeros) between. */
static int make_sparse(const char *path, const void *head, size_t head_n, const void *tail, size_t tail_n, uint64_t total) {
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return 0;
    ok = fwrite(head, 1, head_n, f) == head_n && fflush(f) == 0;
#if defined(_WIN32)
    ok = ok && _chsize_s(_fileno(f), (long long)(total - tail_n)) == 0 && _fseeki64(f, 0, SEEK_END) == 0;
#else
    ok = ok && ftruncate(fileno(f), (off_t)(total - tail_n)) == 0 && fseeko(f, 0, SEEK_END) == 0;
#endif
    ok = ok && fwrite(tail, 1, tail_n, f) == tail_n;
    ok = (fclose(f) == 0) && ok;
    if (!ok) printf("FAIL cannot make a sparse file of %llu bytes at %s\n", (unsigned long long)total, path);
    return ok;
}

/* The decimal text of n, for finding it in a message. */
static const char *dec(uint64_t n, char *buf) { sprintf(buf, "%llu", (unsigned long long)n); return buf; }

/* tiny-q8_0.gguf followed by zeros up to 4 GiB + 4 KiB: a truncation to 32 bits would leave 4 KiB (no model). */
static void check_big_model(const char *path, const void *tiny, size_t tiny_n) {
    const uint64_t total = 4 * GiB + 4096;
    mg_model *m = NULL;
    mg_model_options o;
    mg_error e;
    mg_result r;
    char num[32];
    if (!make_sparse(path, tiny, tiny_n, "", 0, total)) { CHECK(0, "sparse model file"); return; }
    memset(&o, 0, sizeof o);
    e.message[0] = 0;
    r = mg_model_load_file(&m, path, &o, &e);
    if (sizeof(size_t) == 8) {
        CHECK(r == MG_OK && m && m->g->size == total, "a %s-byte model file maps whole: %s", dec(total, num), e.message);
    } else {
        CHECK(r == MG_ERR_LIMIT && !m && strstr(e.message, dec(total, num)) && strstr(e.message, path),
              "a 32-bit build refuses a %s-byte file by name and size: %s", num, e.message);
        o.no_mmap = 1;
        e.message[0] = 0;
        r = mg_model_load_file(&m, path, &o, &e);
        CHECK(r == MG_ERR_LIMIT && !m && strstr(e.message, dec(total, num)), "... and reading it too: %s", e.message);
        /* 4 GiB - 4 KiB fits a size_t but never the address space the program already occupies */
        if (make_sparse(path, tiny, tiny_n, "", 0, 4 * GiB - 4096)) {
            o.no_mmap = 0;
            e.message[0] = 0;
            r = mg_model_load_file(&m, path, &o, &e);
            CHECK(r == MG_ERR_NOMEM && !m && strstr(e.message, dec(4 * GiB - 4096, num)) && strstr(e.message, strerror(ENOMEM)),
                  "mapping 4 GiB - 4 KiB fails with its size and the reason: %s", e.message);
        }
    }
    mg_model_free(m);
    remove(path);
}

/* A 2 GiB + 4 KiB file (past a 32-bit off_t and Win64's long) maps whole on every build. */
static void check_past_2gib(const char *path, const void *tiny, size_t tiny_n) {
    const uint64_t total = 2 * GiB + 4096;
    mg_model *m = NULL;
    mg_error e;
    mg_result r;
    char num[32];
    if (!make_sparse(path, tiny, tiny_n, "", 0, total)) { CHECK(0, "sparse 2 GiB file"); return; }
    e.message[0] = 0;
    r = mg_model_load_file(&m, path, NULL, &e);
    CHECK(r == MG_OK && m && m->g->size == total, "a %s-byte model file maps whole: %s", dec(total, num), e.message);
    mg_model_free(m);
    remove(path);
}

/* Read without mapping in pieces of MG__IO_PIECE (4093 bytes here): the same bytes as the file (as the gguf holds
   them, before a model rearranges its matrices), the tensor data moved to a 64-byte boundary, and a read past the
   end says the file ended early. */
static void check_pieces(const void *tiny, size_t tiny_n) {
    mg_gguf *g = NULL;
    mg__file f;
    mg_error e;
    unsigned char c;
    e.message[0] = 0;
    CHECK(mg__open_file(&g, FIX_DIR "models/tiny-q8_0.gguf", 1, &e) == MG_OK && g && !g->owned_mapped &&
          g->size == tiny_n && !memcmp(g->data, tiny, tiny_n), "read in %d-byte pieces: %s", (int)MG__IO_PIECE, e.message);
    CHECK(g && (uintptr_t)(g->data + g->data_off) % 64 == 0, "tensor data read into memory starts at a 64-byte boundary");
    mg_gguf_close(g);
    if (mg__file_open(&f, FIX_DIR "models/tiny-q8_0.gguf", &e) == MG_OK) {
        unsigned char *buf = (unsigned char *)malloc(tiny_n);
        CHECK(buf && mg__file_read(&f, buf, tiny_n, &e) == MG_OK && !memcmp(buf, tiny, tiny_n), "mg__file_read whole");
        CHECK(mg__file_read(&f, &c, 1, &e) == MG_ERR_IO && strstr(e.message, "early"), "reading past the end: %s", e.message);
        mg__file_close(&f);
        free(buf);
    } else CHECK(0, "open: %s", e.message);
}

/* A snapshot with 4 GiB of zeros appended: the exact size is reported (32-bit: refused by size), never read as the
   snapshot it starts with. Saving into a missing folder, or onto a full device, names the system's reason. */
static void check_snapshot_files(const char *path, const mg_model *m) {
    mg_session *s = fix_session(m, 1, 0);
    mg_snapshot *sn = NULL, *back = NULL;
    const int32_t ids[4] = { 2, 818, 5279, 563 };
    mg_error e;
    mg_result r;
    uint64_t total;
    char num[32];
    if (!s || mg_eval(s, ids, 4) != MG_OK || mg_snapshot_take(s, &sn) != MG_OK) { CHECK(0, "snapshot"); mg_session_free(s); return; }
    total = mg_snapshot_size(sn) + 4 * GiB;
    if (make_sparse(path, mg_snapshot_data(sn), mg_snapshot_size(sn), "", 0, total)) {
        e.message[0] = 0;
        r = mg_snapshot_load(&back, m, path, &e);
        CHECK(!back && r == (sizeof(size_t) == 8 ? MG_ERR_FORMAT : MG_ERR_LIMIT) && strstr(e.message, dec(total, num)),
              "snapshot + 4 GiB: refused with its size %s: %s", num, e.message);
        mg_snapshot_free(back);
        back = NULL;
    }
    CHECK(mg_snapshot_save(sn, path, &e) == MG_OK && mg_snapshot_load(&back, m, path, &e) == MG_OK && back &&
          mg_snapshot_size(back) == mg_snapshot_size(sn), "save and load: %s", e.message);
    e.message[0] = 0;
    r = mg_snapshot_save(sn, "build/no-such-dir/x.snap", &e);
    CHECK(r == MG_ERR_IO && e.code == MG_ERR_IO && strstr(e.message, "build/no-such-dir/x.snap") &&
          strstr(e.message, strerror(ENOENT)), "save into a missing folder: %s", e.message);
#if defined(__linux__)
    e.message[0] = 0;
    r = mg_snapshot_save(sn, "/dev/full", &e);
    CHECK(r == MG_ERR_IO && strstr(e.message, strerror(ENOSPC)), "save onto a full device: %s", e.message);
#endif
    mg_snapshot_free(sn);
    mg_snapshot_free(back);
    mg_session_free(s);
    remove(path);
}

static void check_open_errors(void) {
    mg_model *m = NULL;
    mg_error e;
    e.message[0] = 0;
    CHECK(mg_model_load_file(&m, "tests/data/no-such-file.gguf", NULL, &e) == MG_ERR_IO && !m &&
          strstr(e.message, "cannot open 'tests/data/no-such-file.gguf': ") && strlen(strstr(e.message, "': ")) > 3,
          "missing file, with the reason: %s", e.message);
#if !defined(_WIN32)
    CHECK(strstr(e.message, strerror(ENOENT)) != NULL, "the reason is strerror(ENOENT): %s", e.message);
#endif
    CHECK(mg_model_load_file(&m, "tests/data", NULL, &e) == MG_ERR_IO && !m, "a folder: %s", e.message);
}

#if defined(__linux__)
int sched_setaffinity(pid_t pid, size_t size, const void *mask);
static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    int ok = f && fputs(text, f) >= 0;
    if (f) ok = (fclose(f) == 0) && ok;
    return ok;
}
/* The fake tree: made (1) or removed (0), files before their folders. */
static void cgroup_tree(const char *root, int make) {
    static const char *const dirs[] = { "", "/a", "/a/b", "/cpu", "/cpu/x" };
    static const char *const files[] = { "/self", "/cpu.max", "/a/cpu.max", "/a/b/cpu.max", "/cpu/x/cpu.cfs_quota_us",
                                         "/cpu/x/cpu.cfs_period_us" };
    char p[800];
    int i;
    for (i = 0; !make && i < (int)(sizeof files / sizeof files[0]); i++) { snprintf(p, sizeof p, "%s%s", root, files[i]); remove(p); }
    for (i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s%s", root, dirs[make ? i : 4 - i]);
        if (make) mkdir(p, 0755); else rmdir(p);
    }
}
/* Fake cgroup trees under dir: the files the kernel shows, and the quota each layout must give. */
static void check_cgroups(const char *dir) {
    char root[700], self[720], p[800];
    snprintf(root, sizeof root, "%s.cg", dir);
    snprintf(self, sizeof self, "%s.cg/self", dir);
    cgroup_tree(root, 0);
    cgroup_tree(root, 1);
    /* v2, no cpu.max anywhere: no limit */
    write_file(self, "0::/a/b\n");
    CHECK(mg__cgroup_cpus(self, root) == 0, "v2 without cpu.max: no limit");
    snprintf(p, sizeof p, "%s/a/b/cpu.max", root); write_file(p, "max 100000\n");
    CHECK(mg__cgroup_cpus(self, root) == 0, "v2 'max': no limit");
    snprintf(p, sizeof p, "%s/a/cpu.max", root); write_file(p, "150000 100000\n");
    CHECK(mg__cgroup_cpus(self, root) == 2, "v2 parent 1.5 CPUs: 2 (%d)", mg__cgroup_cpus(self, root));
    snprintf(p, sizeof p, "%s/a/b/cpu.max", root); write_file(p, "50000 100000\n");
    CHECK(mg__cgroup_cpus(self, root) == 1, "v2 0.5 CPU under 1.5: 1 (%d)", mg__cgroup_cpus(self, root));
    snprintf(p, sizeof p, "%s/cpu.max", root); write_file(p, "800000 100000\n");
    write_file(self, "0::/\n");
    CHECK(mg__cgroup_cpus(self, root) == 8, "v2 container root, 8 CPUs (%d)", mg__cgroup_cpus(self, root));
    write_file(self, "0::/host/view/of/the/container\n");
    CHECK(mg__cgroup_cpus(self, root) == 8, "v2 host path, the container's own root (%d)", mg__cgroup_cpus(self, root));
    snprintf(p, sizeof p, "%s/cpu.max", root); write_file(p, "garbage\n");
    CHECK(mg__cgroup_cpus(self, root) == 0, "v2 unreadable cpu.max: no limit");
    /* v1: the cpu controller's quota and period */
    write_file(self, "5:memory:/x\n4:cpu,cpuacct:/x\n0::/\n");
    snprintf(p, sizeof p, "%s/cpu/x/cpu.cfs_quota_us", root); write_file(p, "300000\n");
    snprintf(p, sizeof p, "%s/cpu/x/cpu.cfs_period_us", root); write_file(p, "100000\n");
    CHECK(mg__cgroup_cpus(self, root) == 3, "v1 cpu,cpuacct quota 3 CPUs (%d)", mg__cgroup_cpus(self, root));
    write_file(p, "200000\n");
    CHECK(mg__cgroup_cpus(self, root) == 2, "v1 quota 1.5 CPUs: 2 (%d)", mg__cgroup_cpus(self, root));
    snprintf(p, sizeof p, "%s/cpu/x/cpu.cfs_quota_us", root); write_file(p, "-1\n");
    CHECK(mg__cgroup_cpus(self, root) == 0, "v1 quota -1: no limit");
    write_file(self, "4:cpuacct:/x\n");
    CHECK(mg__cgroup_cpus(self, root) == 0, "v1 cpuacct alone is not the cpu controller");
    CHECK(mg__cgroup_cpus("build/no-such-self", root) == 0, "no cgroup file: no limit");
    cgroup_tree(root, 0);
}
/* One allowed CPU (what `taskset -c 0` does): one thread by default; two allowed: two (unless a quota says 1). */
static void check_affinity(void) {
    unsigned long all[1024 / (8 * sizeof(unsigned long))], one[sizeof all / sizeof all[0]];
    size_t i, bits = 8 * sizeof(unsigned long);
    int first = -1, second = -1, quota = mg__cgroup_cpus("/proc/self/cgroup", "/sys/fs/cgroup");
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    memset(all, 0, sizeof all);
    if (sched_getaffinity(0, sizeof all, all) != 0) { CHECK(0, "sched_getaffinity"); return; }
    for (i = 0; i < 8 * sizeof all; i++)
        if (all[i / bits] >> (i % bits) & 1) { if (first < 0) first = (int)i; else if (second < 0) second = (int)i; }
    CHECK(mg_cpu_count() >= 1 && mg_cpu_count() <= online, "%d CPUs of %ld online", mg_cpu_count(), online);
    memset(one, 0, sizeof one);
    one[first / bits] |= 1ul << (first % bits);
    CHECK(sched_setaffinity(0, sizeof one, one) == 0 && mg_cpu_count() == 1, "one allowed CPU: %d threads", mg_cpu_count());
    if (second >= 0) {
        one[second / bits] |= 1ul << (second % bits);
        CHECK(sched_setaffinity(0, sizeof one, one) == 0 && mg_cpu_count() == (quota == 1 ? 1 : 2),
              "two allowed CPUs: %d threads", mg_cpu_count());
    }
    CHECK(sched_setaffinity(0, sizeof all, all) == 0, "affinity restored");
}
#endif

int main(int argc, char **argv) {
    char path[600];
    size_t tiny_n;
    void *tiny = mgt_read_file(FIX_DIR "models/tiny-q8_0.gguf", &tiny_n);
    mg_model *m = fix_model(FIX_DIR "models/tiny-q8_0.gguf");
    (void)argc;
    snprintf(path, sizeof path, "%s.tmp", argv[0]);          /* beside the binary: one file per build */
    if (!tiny || !m) { CHECK(0, "tiny-q8_0"); return MG_TEST_END(); }
    check_open_errors();
    check_big_model(path, tiny, tiny_n);
    check_past_2gib(path, tiny, tiny_n);
    check_pieces(tiny, tiny_n);
    check_snapshot_files(path, m);
#if defined(__linux__)
    check_cgroups(path);
    check_affinity();
#elif defined(_WIN32)
    {   /* Windows states the count it gives programs in NUMBER_OF_PROCESSORS */
        const char *np = getenv("NUMBER_OF_PROCESSORS");
        CHECK(np && mg_cpu_count() == atoi(np), "mg_cpu_count %d, NUMBER_OF_PROCESSORS %s", mg_cpu_count(), np ? np : "unset");
    }
#endif
    mg_model_free(m);
    free(tiny);
    return MG_TEST_END();
}
