/* replay.c — main() for a fuzz target built without libFuzzer: runs LLVMFuzzerTestOneInput once per file.
   Usage: fuzz_<target> [FILE|DIR]...   (no arguments: tests/corpus/<target>/, the committed regression inputs)
   A directory is read one level deep, in name order, skipping names that start with '.'. A crash or a failed
   invariant ends the process; otherwise it prints "ok ..." and the test summary line. */
#include "fuzz.h"
#include <dirent.h>
#include <sys/stat.h>

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs the target on one file; 0 on success, -1 when the file cannot be read. */
static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long sz;
    size_t n = 0;
    if (!f) return -1;
    if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        n = (size_t)sz;
        buf = (uint8_t *)malloc(n ? n : 1);       /* exactly n bytes: ASan sees reads past the input */
        if (buf && fread(buf, 1, n, f) != n) { free(buf); buf = NULL; }
    }
    fclose(f);
    if (!buf) return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

/* Runs every regular file of a directory (sorted); returns the count, or -1 when it cannot be listed. */
static int run_dir(const char *dir, int *bad) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0, i;
    if (!d) return -1;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            char **nn = (char **)realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        if (!(names[n] = (char *)malloc(strlen(de->d_name) + 1))) break;
        strcpy(names[n++], de->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path) != 0) {
            printf("FAIL cannot read %s\n", path);
            (*bad)++;
        }
        free(names[i]);
    }
    free(names);
    return (int)n;
}

int main(int argc, char **argv) {
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    char def[512];
    int i, files = 0, bad = 0;
    if (strncmp(name, "fuzz_", 5) == 0) name += 5;
    if (argc < 2) {   /* the committed regression corpus; absent means no regressions yet */
        struct stat st;
        char rel[300];
        snprintf(rel, sizeof rel, "tests/corpus/%s", name);
        fz_path(rel, def, sizeof def);
        if (stat(def, &st) == 0) files = run_dir(def, &bad);
        printf("ok replay %s: %d inputs of %s\n", name, files, def);
        printf("1 passed, %d failed\n", bad);
        return bad != 0;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;
        int k;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) k = run_dir(argv[i], &bad);
        else k = run_file(argv[i]) == 0 ? 1 : -1;
        if (k < 0) { printf("FAIL cannot read %s\n", argv[i]); bad++; }
        else files += k;
    }
    printf("ok replay %s: %d inputs\n", name, files);
    printf("%d passed, %d failed\n", bad ? 0 : 1, bad);
    return bad != 0;
}
