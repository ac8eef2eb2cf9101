/* slide.c — whole-slide tiling, tissue mask and seeded patch sampling (see mgx_slide.h). */
#include "mgx_slide.h"
#include "mgx_medical.h"
#include "mgx_volume_prompt.h"
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

/* ---------- the wsi driver's run ---------- */

int mgx_slide_patches(const mgx_image *slide, const char *label, int quiet, mgx_patch **out) {
    int *tiles, cols, rows, n = mgx_slide_tissue_tiles(slide, &tiles), i;
    *out = NULL;
    mgx_slide_grid(slide->w, slide->h, &cols, &rows);
    if (!quiet) fprintf(stderr, "%s: %dx%d, %dx%d tiles of %d, %d with tissue\n", label, slide->w, slide->h, cols, rows, MGX_TILE, n);
    if (n < 0 || !(*out = (mgx_patch *)calloc((size_t)(n > 0 ? n : 1), sizeof **out))) { free(tiles); fprintf(stderr, "error: out of memory\n"); return -1; }
    for (i = 0; i < n; i++) {
        (*out)[i].index = tiles[i];
        (*out)[i].x = tiles[i] % cols * MGX_TILE;
        (*out)[i].y = tiles[i] / cols * MGX_TILE;
    }
    free(tiles);
    return n;
}

/* The user turn: [prompt, patches...] (the recipe) or, with a context, [context, patches..., prompt].
   embd NULL leaves image placeholders (--dump-prompt). Returns the item count. */
static int turn_items(mg_chat_item *items, const char *context, const char *prompt, const mg_image_embd *embd, int n) {
    int i, k = 0;
    items[k].text = context ? context : prompt; items[k++].image = NULL;
    for (i = 0; i < n; i++) { items[k].text = NULL; items[k++].image = embd ? &embd[i] : NULL; }
    if (context) { items[k].text = prompt; items[k++].image = NULL; }
    return k;
}

/* Up to k of the candidates at random (seeded), back in slide order: their indices and image labels. */
static int choose(const mgx_patch *cand, int n_cand, int k, uint64_t seed, int *pick, int *idx, char **src) {
    int i, n = mgx_sample_sorted(n_cand, k, seed, pick);
    if (n < 0) return -1;
    for (i = 0; i < n; i++) {
        const mgx_patch *p = &cand[pick[i]];
        size_t len = (p->file ? strlen(p->file) : 0) + 48;
        idx[i] = p->index;
        if (!(src[i] = (char *)malloc(len))) return -1;
        if (p->file) snprintf(src[i], len, "patch %s", p->file);
        else snprintf(src[i], len, "tile (%d,%d)", p->x, p->y);
    }
    return n;
}

int mgx_wsi_answer(mgx_run *r, mgx_image *slide, const mgx_patch *cand, int n_cand, int k, const char *context) {
    const mgx_opts *o = r->o;
    mgx_image *imgs = NULL;
    mg_image_embd *embd = NULL;
    mg_chat_item *items = NULL;
    mg_prompt p[MGX_MAX_QUESTIONS];
    const mg_chat_item *turns[MGX_MAX_QUESTIONS];
    int n_items[MGX_MAX_QUESTIONS];
    char err[512], **src = NULL;
    int *pick = NULL, *idx = NULL, i, n = 0, status = 1, built = 0;
    pick = (int *)malloc((size_t)n_cand * sizeof *pick);
    idx = (int *)malloc((size_t)n_cand * sizeof *idx);
    src = (char **)calloc((size_t)n_cand, sizeof *src);
    if (!pick || !idx || !src || (n = choose(cand, n_cand, k, o->seed.value, pick, idx, src)) < 0) { fprintf(stderr, "error: out of memory\n"); n = 0; goto done; }
    if (!o->quiet) fprintf(stderr, "using %d of %d patches (seed %llu)\n", n, n_cand, (unsigned long long)o->seed.value);
    r->image_src = (const char *const *)src; r->n_images = n; r->used_name = "patches"; r->used = idx;

    if (!r->m && mgx_run_load(r, 1) != 0) goto done;
    if (!(items = (mg_chat_item *)calloc((size_t)o->n_questions * (size_t)(n + 2), sizeof *items))) { fprintf(stderr, "error: out of memory\n"); goto done; }
    for (i = 0; i < o->n_questions; i++) {
        turns[i] = items + (size_t)i * (size_t)(n + 2);
        n_items[i] = turn_items(items + (size_t)i * (size_t)(n + 2), context, o->questions[i], NULL, n);
    }
    if (mgx_run_prompts(r, turns, n_items, o->n_questions, p) != 0) goto done;
    built = o->n_questions;
    if (o->dump_prompt) {
        mgx_dump_prompts(r, p, built);
        mgx_dump_indices(stdout, idx, n);
        status = 0;
        goto done;
    }
    imgs = (mgx_image *)calloc((size_t)n, sizeof *imgs);
    embd = (mg_image_embd *)calloc((size_t)n, sizeof *embd);
    if (!imgs || !embd) { fprintf(stderr, "error: out of memory\n"); goto done; }
    for (i = 0; i < n; i++) {
        const mgx_patch *c = &cand[pick[i]];
        if ((c->file ? mgx_slide_load(c->file, &imgs[i], err, sizeof err) : mgx_tile_extract(slide, c->x, c->y, &imgs[i], err, sizeof err)) != 0) {
            fprintf(stderr, "error: %s: %s\n", src[i], err);
            goto done;
        }
    }
    if (slide) mgx_image_free(slide);
    if (mgx_run_images_and_ask(r, imgs, n, "encoding patch", embd, p, built) == 0) status = 0;
done:
    for (i = 0; i < built; i++) mg_prompt_free(&p[i]);
    for (i = 0; i < n; i++) {
        if (imgs) mgx_image_free(&imgs[i]);
        if (embd) mg_image_embd_free(&embd[i]);
    }
    for (i = 0; src && i < n_cand; i++) free(src[i]);
    free(pick); free(idx); free(src); free(imgs); free(embd); free(items);
    r->image_src = NULL; r->used = NULL; r->n_images = 0;
    return status;
}
