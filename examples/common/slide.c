/* slide.c — whole-slide tiling, tissue mask and seeded patch sampling (see mgx_slide.h). */
#include "mgx_slide.h"
#include "mgx_medical.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mgx_slide_load(const char *path, mgx_image *rgb, char *err, size_t errsz) {
    unsigned char *data;
    size_t n;
    int rc;
    memset(rgb, 0, sizeof *rgb);
    if (mgx_read_file(path, MGX_MAX_MEDICAL_FILE_BYTES, &data, &n, err, errsz) != 0) return -1;
    if (mgx_dicom_probe(data, n)) {
        mgx_dicom d;
        if ((rc = mgx_dicom_load_mem(data, n, &d, err, errsz)) == 0) {
            rc = mgx_dicom_tiles_to_image(&d, rgb, err, errsz);
            mgx_dicom_free(&d);
        }
    } else rc = mgx_image_load_mem(data, n, rgb, err, errsz);
    free(data);
    if (rc == 0 && (rc = mgx_image_to_rgb(rgb, err, errsz)) != 0) mgx_image_free(rgb);
    return rc;
}

void mgx_slide_grid(int w, int h, int *cols, int *rows) {
    *cols = w <= 0 ? 0 : w < MGX_TILE ? 1 : w / MGX_TILE;
    *rows = h <= 0 ? 0 : h < MGX_TILE ? 1 : h / MGX_TILE;
}

int mgx_is_tissue(const unsigned char *p) {
    int mx = p[0], mn = p[0];
    if (p[1] > mx) mx = p[1];
    if (p[1] < mn) mn = p[1];
    if (p[2] > mx) mx = p[2];
    if (p[2] < mn) mn = p[2];
    return mx - mn > MGX_TISSUE_SAT;
}

long mgx_tissue_pixels(const mgx_image *rgb, int x0, int y0, int tw, int th) {
    long count = 0;
    int x, y, x1 = x0 + tw, y1 = y0 + th;
    if (rgb->channels != 3) return 0;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > rgb->w) x1 = rgb->w;
    if (y1 > rgb->h) y1 = rgb->h;
    for (y = y0; y < y1; y++) {
        const unsigned char *p = rgb->px + ((size_t)y * (size_t)rgb->w + (size_t)x0) * 3;
        for (x = x0; x < x1; x++, p += 3) count += mgx_is_tissue(p);
    }
    return count;
}

int mgx_tissue_enough(long tissue, long area) {
    return area > 0 && tissue * 4 >= area;
}

int mgx_tile_extract(const mgx_image *rgb, int x0, int y0, mgx_image *tile, char *err, size_t errsz) {
    int y, w;
    if (rgb->channels != 3) return mgx_errf(err, errsz, "tile: the slide is not RGB");
    if (mgx_image_alloc(tile, MGX_TILE, MGX_TILE, 3, err, errsz) != 0) return -1;
    memset(tile->px, 255, (size_t)MGX_TILE * MGX_TILE * 3);
    w = rgb->w - x0 < MGX_TILE ? rgb->w - x0 : MGX_TILE;
    for (y = 0; y < MGX_TILE && y0 + y < rgb->h && w > 0; y++)
        memcpy(tile->px + (size_t)y * MGX_TILE * 3, rgb->px + ((size_t)(y0 + y) * (size_t)rgb->w + (size_t)x0) * 3, (size_t)w * 3);
    return 0;
}

int mgx_slide_tissue_tiles(const mgx_image *rgb, int **out) {
    int cols, rows, c, r, n = 0;
    *out = NULL;
    mgx_slide_grid(rgb->w, rgb->h, &cols, &rows);
    if (cols < 1 || rows < 1) return 0;
    if (!(*out = (int *)malloc((size_t)cols * (size_t)rows * sizeof **out))) return -1;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            /* the tile's pixels inside the slide: 896 x 896 except in a dimension smaller than one tile */
            long tw = rgb->w < MGX_TILE ? rgb->w : MGX_TILE, th = rgb->h < MGX_TILE ? rgb->h : MGX_TILE;
            if (mgx_tissue_enough(mgx_tissue_pixels(rgb, c * MGX_TILE, r * MGX_TILE, MGX_TILE, MGX_TILE), tw * th))
                (*out)[n++] = r * cols + c;
        }
    return n;
}

uint64_t mgx_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, m) without modulo bias (rejects the top partial block of 2^64). */
static uint64_t below(uint64_t *state, uint64_t m) {
    uint64_t lim = UINT64_MAX - UINT64_MAX % m, v;
    do v = mgx_splitmix64(state); while (v >= lim);
    return v % m;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int mgx_sample_sorted(int n, int k, uint64_t seed, int *out) {
    int *perm, i;
    uint64_t st = seed;
    if (n <= 0 || k <= 0) return 0;
    if (k > n) k = n;
    if (!(perm = (int *)malloc((size_t)n * sizeof *perm))) return -1;
    for (i = 0; i < n; i++) perm[i] = i;
    for (i = 0; i < k; i++) {                 /* partial Fisher-Yates: perm[0..k-1] is a uniform k-subset */
        int j = i + (int)below(&st, (uint64_t)(n - i)), t = perm[i];
        perm[i] = perm[j]; perm[j] = t;
    }
    memcpy(out, perm, (size_t)k * sizeof *out);
    free(perm);
    qsort(out, (size_t)k, sizeof *out, cmp_int);
    return k;
}
