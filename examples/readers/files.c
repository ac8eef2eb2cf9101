/* files.c — the one way the readers open files: stat first, regular files only, reads bounded by the size
   the file had when it was checked; directory listings that keep regular files only; the memory claim check. */
#include "mgx_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#endif

#ifdef _WIN32
typedef struct _stat64 file_stat;
#define stat_call _stat64
#ifndef S_ISREG
#define S_ISREG(m) (((m) & _S_IFMT) == _S_IFREG)
#define S_ISDIR(m) (((m) & _S_IFMT) == _S_IFDIR)
#endif
#else
typedef struct stat file_stat;
#define stat_call stat
#endif

int mgx_check_claim(uint64_t bytes, const char *what, char *err, size_t errsz) {
    if (bytes <= (uint64_t)MGX_MAX_INPUT_BYTES) return 0;
    return mgx_errf(err, errsz, "%s needs %llu bytes of memory, more than the limit of %llu bytes (MGX_MAX_INPUT_BYTES)",
                    what, (unsigned long long)bytes, (unsigned long long)MGX_MAX_INPUT_BYTES);
}

/* What a non-regular file is, for messages. */
static const char *kind_name(const file_stat *st) {
#ifndef _WIN32
    if (S_ISFIFO(st->st_mode)) return "FIFO";
    if (S_ISCHR(st->st_mode)) return "character device";
    if (S_ISBLK(st->st_mode)) return "block device";
    if (S_ISSOCK(st->st_mode)) return "socket";
#endif
    if (S_ISDIR(st->st_mode)) return "directory";
    return "special file";
}

/* Refuses st unless it describes a regular file of at most max_bytes (0 = no limit). */
static int check_stat(const char *path, const file_stat *st, uint64_t max_bytes, char *err, size_t errsz) {
    if (S_ISDIR(st->st_mode)) return mgx_errf(err, errsz, "%s is a directory", path);
    if (!S_ISREG(st->st_mode)) return mgx_errf(err, errsz, "%s is not a regular file (%s)", path, kind_name(st));
    if (st->st_size < 0) return mgx_errf(err, errsz, "%s: negative file size", path);
    if (max_bytes && (uint64_t)st->st_size > max_bytes)
        return mgx_errf(err, errsz, "%s: file of %llu bytes is larger than the limit of %llu bytes", path,
                        (unsigned long long)st->st_size, (unsigned long long)max_bytes);
    return 0;
}

int mgx_file_check(const char *path, uint64_t max_bytes, uint64_t *size, char *err, size_t errsz) {
    file_stat st;
    if (size) *size = 0;
    if (!path) return mgx_errf(err, errsz, "file: no path");
    if (stat_call(path, &st) != 0) return mgx_errf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
    if (check_stat(path, &st, max_bytes, err, errsz)) return -1;
    if (size) *size = (uint64_t)st.st_size;
    return 0;
}

/* 4 GiB, or the largest workable size when size_t is 32 bits. */
static size_t default_file_limit(void) {
    return (size_t)-1 > 0xffffffffu ? (size_t)0xffffffffu + 1u : (size_t)-1 - 2u;
}

#ifdef _WIN32
/* Reads exactly n bytes, then checks that nothing follows. */
static int read_exact(const char *path, unsigned char *buf, size_t n, char *err, size_t errsz) {
    FILE *f = fopen(path, "rb");
    size_t got;
    unsigned char extra;
    if (!f) return mgx_errf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
    got = n ? fread(buf, 1, n, f) : 0;
    MGX_COUNT(MGX_COUNT_FILE_READ, got);
    if (got == n && fread(&extra, 1, 1, f) == 1) got = n + 1;
    if (ferror(f)) { fclose(f); return mgx_errf(err, errsz, "%s: read error", path); }
    fclose(f);
    if (got != n) return mgx_errf(err, errsz, "%s: the file changed size while it was read (%lu bytes expected)", path, (unsigned long)n);
    return 0;
}
#else
/* Opens without blocking (a FIFO swapped in after the check cannot hang), re-checks the open file, reads exactly
   n bytes and checks that nothing follows. */
static int read_exact(const char *path, unsigned char *buf, size_t n, char *err, size_t errsz) {
    file_stat st;
    size_t got = 0;
    unsigned char extra;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY), rc = 0;
    if (fd < 0) return mgx_errf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) rc = mgx_errf(err, errsz, "%s: cannot stat: %s", path, strerror(errno));
    else rc = check_stat(path, &st, 0, err, errsz);   /* the file was replaced after the check */
    if (rc) { close(fd); return -1; }
    while (got <= n) {
        ssize_t k = got < n ? read(fd, buf + got, n - got) : read(fd, &extra, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { rc = mgx_errf(err, errsz, "%s: read error: %s", path, strerror(errno)); break; }
        if (k == 0) break;
        got += (size_t)k;
        MGX_COUNT(MGX_COUNT_FILE_READ, k);
    }
    close(fd);
    if (!rc && got != n)
        rc = mgx_errf(err, errsz, "%s: the file changed size while it was read (%lu bytes expected)", path, (unsigned long)n);
    return rc;
}
#endif

int mgx_read_file(const char *path, size_t max_bytes, unsigned char **out, size_t *out_n, char *err, size_t errsz) {
    uint64_t size;
    unsigned char *buf;
    size_t n;
    if (out) *out = NULL;
    if (out_n) *out_n = 0;
    if (!path || !out || !out_n) return mgx_errf(err, errsz, "read_file: invalid arguments");
    if (max_bytes == 0 || max_bytes > (size_t)-1 - 2u) max_bytes = max_bytes ? (size_t)-1 - 2u : default_file_limit();
    if (mgx_file_check(path, (uint64_t)max_bytes, &size, err, errsz)) return -1;
    n = (size_t)size;   /* size <= max_bytes < SIZE_MAX - 1 */
    buf = (unsigned char *)MGX_MALLOC(n + 1);
    if (!buf) return mgx_errf(err, errsz, "%s: out of memory for %lu bytes", path, (unsigned long)n);
    if (read_exact(path, buf, n, err, errsz)) {
        MGX_FREE(buf);
        return -1;
    }
    buf[n] = 0;
    *out = buf;
    *out_n = n;
    return 0;
}

/* Reads at most k bytes from the start of a regular file (see read_exact for the open). */
int mgx_read_head(const char *path, size_t k, unsigned char *buf, size_t *got, char *err, size_t errsz) {
    uint64_t size;
    size_t n;
    *got = 0;
    if (mgx_file_check(path, 0, &size, err, errsz)) return -1;
    n = size < (uint64_t)k ? (size_t)size : k;
#ifdef _WIN32
    {
        FILE *f = fopen(path, "rb");
        if (!f) return mgx_errf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        *got = fread(buf, 1, n, f);
        fclose(f);
    }
#else
    {
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        file_stat st;
        if (fd < 0) return mgx_errf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { close(fd); return mgx_errf(err, errsz, "%s is not a regular file", path); }
        while (*got < n) {
            ssize_t r = read(fd, buf + *got, n - *got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            *got += (size_t)r;
        }
        close(fd);
    }
#endif
    MGX_COUNT(MGX_COUNT_FILE_READ, *got);
    return 0;
}

/* ---- directory listings ---- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    char **names;
    int n, cap;
} strlist;

static void strlist_free(strlist *l) {
    mgx_names_free(l->names, l->n);
    memset(l, 0, sizeof *l);
}

/* Appends a copy of a + b (b may be NULL); -1 when out of memory. */
static int strlist_add(strlist *l, const char *a, const char *b) {
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    char *c;
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 64;
        char **nn;
        if (nc <= l->cap) return -1;
        nn = (char **)MGX_REALLOC(l->names, (size_t)nc * sizeof *nn);
        if (!nn) return -1;
        l->names = nn;
        l->cap = nc;
    }
    if (!(c = (char *)MGX_MALLOC(la + lb + 1))) return -1;
    memcpy(c, a, la);
    if (b) memcpy(c + la, b, lb);
    c[la + lb] = 0;
    l->names[l->n++] = c;
    return 0;
}

/* The non-hidden entry names of a directory, sorted. */
static int dir_names(const char *dir, strlist *out, char *err, size_t errsz) {
    int bad = 0;
#ifdef _WIN32
    WIN32_FIND_DATAA fd;
    HANDLE h;
    char pat[4096];
    snprintf(pat, sizeof pat, "%s\\*", dir);
    if ((h = FindFirstFileA(pat, &fd)) == INVALID_HANDLE_VALUE) return mgx_errf(err, errsz, "cannot list directory %s", dir);
    do if (fd.cFileName[0] != '.' && strlist_add(out, fd.cFileName, NULL)) bad = 1;
    while (!bad && FindNextFileA(h, &fd));
    FindClose(h);
#else
    DIR *dp;
    struct dirent *de;
    if (mgx_file_check(dir, 0, NULL, NULL, 0) == 0) return mgx_errf(err, errsz, "%s is not a directory", dir);
    if (!(dp = opendir(dir))) return mgx_errf(err, errsz, "cannot open directory %s: %s", dir, strerror(errno));
    while (!bad && (de = readdir(dp)) != NULL)
        if (de->d_name[0] != '.' && strlist_add(out, de->d_name, NULL)) bad = 1;
    closedir(dp);
#endif
    if (bad) { strlist_free(out); return mgx_errf(err, errsz, "out of memory listing %s", dir); }
    if (out->n > 1) qsort(out->names, (size_t)out->n, sizeof *out->names, cmp_str);
    return 0;
}

/* A walk over a directory (tree): the regular files found and what was skipped. */
typedef struct {
    strlist files;
    int max_depth, max_files, skipped;
    char what[512];            /* "name (kind), ..." of the skipped entries, as far as it fits */
#ifndef _WIN32
    struct { dev_t dev; ino_t ino; } seen[MGX_MAX_TREE_DIRS];
#endif
    int nseen;
    char *err;
    size_t errsz;
} walker;

static void note_skip(walker *w, const char *name, const char *why) {
    size_t used = strlen(w->what);
    w->skipped++;
    if (used + 1 < sizeof w->what)
        snprintf(w->what + used, sizeof w->what - used, "%s%s (%s)", w->skipped > 1 ? ", " : "", name, why);
}

/* 1 when the directory was walked already (a link loop or a second link to it); otherwise remembers it. */
static int seen_before(walker *w, const file_stat *st) {
#ifndef _WIN32
    int i;
    for (i = 0; i < w->nseen; i++)
        if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino) return 1;
    w->seen[w->nseen].dev = st->st_dev;
    w->seen[w->nseen].ino = st->st_ino;
#else
    (void)st;
#endif
    w->nseen++;
    return 0;
}

/* Walks dir: its regular files are listed with prefix (dir + "/"), subdirectories walked while depth < max_depth. */
static int walk(walker *w, const char *dir, int depth) {
    strlist names;
    int i, rc = 0;
    memset(&names, 0, sizeof names);
    if (dir_names(dir, &names, w->err, w->errsz)) return -1;
    for (i = 0; i < names.n && !rc; i++) {
        file_stat st;
        char *path = (char *)MGX_MALLOC(strlen(dir) + strlen(names.names[i]) + 2);
        if (!path) { rc = mgx_errf(w->err, w->errsz, "out of memory listing %s", dir); break; }
        sprintf(path, "%s/%s", dir, names.names[i]);
        if (stat_call(path, &st) != 0) note_skip(w, path, "cannot stat");
        else if (S_ISREG(st.st_mode)) {
            if (w->files.n >= w->max_files) rc = mgx_errf(w->err, w->errsz, "%s: more than %d files", dir, w->max_files);
            else if (strlist_add(&w->files, depth < 0 ? names.names[i] : path, NULL)) rc = mgx_errf(w->err, w->errsz, "out of memory listing %s", dir);
        } else if (S_ISDIR(st.st_mode) && depth >= 0 && depth < w->max_depth) {
            if (w->nseen >= MGX_MAX_TREE_DIRS) rc = mgx_errf(w->err, w->errsz, "%s: more than %d folders", dir, MGX_MAX_TREE_DIRS);
            else if (seen_before(w, &st)) note_skip(w, path, "folder reached twice");
            else rc = walk(w, path, depth + 1);
        } else if (S_ISDIR(st.st_mode) && depth >= 0) note_skip(w, path, "folder nested too deeply");
        else note_skip(w, depth < 0 ? names.names[i] : path, kind_name(&st));
        MGX_FREE(path);
    }
    strlist_free(&names);
    return rc;
}

/* Shared by the flat (max_depth < 0: names only, subdirectories skipped) and the tree listing. */
static int list_common(const char *dir, int max_depth, int max_files, char ***out, char *note, size_t notesz,
                       char *err, size_t errsz) {
    walker *w;
    int n;
    if (note && notesz) note[0] = 0;
    if (out) *out = NULL;
    if (!dir || !out) return mgx_errf(err, errsz, "list_dir: invalid arguments");
    if (!(w = (walker *)MGX_MALLOC(sizeof *w))) return mgx_errf(err, errsz, "out of memory listing %s", dir);
    memset(w, 0, sizeof *w);
    w->max_depth = max_depth;
    w->max_files = max_files;
    w->err = err;
    w->errsz = errsz;
    if (max_depth >= 0) {
        file_stat st;
        if (stat_call(dir, &st) == 0) seen_before(w, &st);
    }
    if (walk(w, dir, max_depth < 0 ? -1 : 0)) {
        strlist_free(&w->files);
        MGX_FREE(w);
        return -1;
    }
    if (w->skipped && note && notesz)
        snprintf(note, notesz, "%s: skipped %d %s: %s", dir, w->skipped,
                 w->skipped == 1 ? "entry that is not a regular file" : "entries that are not regular files", w->what);
    *out = w->files.names;
    n = w->files.n;
    MGX_FREE(w);
    return n;
}

void mgx_names_free(char **names, int n) {
    int i;
    for (i = 0; i < n; i++) MGX_FREE(names[i]);
    MGX_FREE(names);
}

int mgx_list_dir_ex(const char *dir, char ***names, char *note, size_t notesz, char *err, size_t errsz) {
    return list_common(dir, -1, 0x7fffffff, names, note, notesz, err, errsz);
}

int mgx_list_dir(const char *dir, char ***names, char *err, size_t errsz) {
    return list_common(dir, -1, 0x7fffffff, names, NULL, 0, err, errsz);
}

int mgx_list_tree(const char *dir, int max_depth, int max_files, char ***paths, char *note, size_t notesz, char *err,
                  size_t errsz) {
    return list_common(dir, max_depth < 0 ? 0 : max_depth, max_files, paths, note, notesz, err, errsz);
}
