/* wsi — a pathology slide and a prompt, Google's whole-slide recipe.
     wsi SLIDE -q PROMPT [-q ...] [--context TEXT] [--patches K] [--seed S] -m MODEL.gguf --mmproj MMPROJ.gguf
         [options]   (wsi --help)
   SLIDE is one large image (PNG, JPEG, PNM, BMP; export the ~10x level of a pyramid), a multi-frame DICOM WSI
   (its frames pasted at their positions), or a folder of patch images (each file one patch).
   1. Tile into non-overlapping 896x896 patches from the top-left; partial tiles at the right and bottom edges
      are dropped, except that a slide smaller than 896 in a dimension gives one tile there, padded with white.
   2. Tissue mask: a pixel is tissue when max(R,G,B) - min(R,G,B) > 20; keep the tiles (or folder patches)
      that are at least 25% tissue (counting only the pixels inside the slide, not the white padding).
   3. Choose up to K of them (default 125) at random without replacement — splitmix64 seeded with --seed
      (default 0), partial Fisher-Yates — and put them back in slide order (row-major).
   4. One user turn, no system text: the prompt first, then all the patches, no labels.
   Patches are encoded once (progress on stderr) and reused for every -q. With --context TEXT the turn is
   [TEXT, patches, PROMPT] instead: the text and patches (~32k tokens for 125 patches) are then read once and
   every -q branches from a snapshot of them; without it each -q comes first and its patches are read again.
   --dump-prompt shows each image as <image i: tile (x,y)> (pixel position of its top-left corner; folders:
   <image i: patch FILE>) and ends with "indices: ..." (row-major tile index r*cols + c; folders: index of the
   file among the folder's images in name order). Numbers and rules: examples/common/mgx_slide.h. */
#include "mgx_answer.h"
#include "mgx_slide.h"
#include "mgx_volume_prompt.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct patch { int index, x, y; char *file; } patch;   /* file: folder patches only */

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *s = (char *)malloc(a + b + 2);
    if (s) sprintf(s, "%s%s%s", dir, a && dir[a - 1] != '/' ? "/" : "", name);
    return s;
}

/* The candidate patches of a folder: every image file with enough tissue. Count, or -1 after a message. */
static int folder_patches(const char *dir, int quiet, patch **out) {
    char **names, err[256], note[256];
    int n = mgx_list_dir_ex(dir, &names, note, sizeof note, err, sizeof err), i, images = 0, k = 0;
    if (n < 0) { mgx_print_error(NULL, dir, err); return -1; }
    if (note[0] && !quiet) fprintf(stderr, "%s\n", note);
    if (!(*out = (patch *)calloc((size_t)(n > 0 ? n : 1), sizeof **out))) { mgx_names_free(names, n); return -1; }
    for (i = 0; i < n; i++) {
        char *path = join(dir, names[i]);
        mgx_image img;
        if (!path || mgx_slide_load(path, &img, err, sizeof err) != 0) {
            fprintf(stderr, "skipping %s: %s\n", names[i], path ? err : "out of memory");
            free(path);
            continue;
        }
        if (mgx_tissue_enough(mgx_tissue_pixels(&img, 0, 0, img.w, img.h), (long)img.w * img.h)) {
            (*out)[k].index = images; (*out)[k].file = path; k++;
        } else free(path);
        images++;
        mgx_image_free(&img);
    }
    if (!quiet) fprintf(stderr, "%s: %d image files, %d with tissue\n", dir, images, k);
    mgx_names_free(names, n);
    if (images == 0) { fprintf(stderr, "error: %s: the folder has no images (PNG, JPEG, PNM, BMP or DICOM)\n", dir); return -1; }
    return k;
}

/* The candidate tiles of one slide image. Count, or -1. */
static int slide_patches(const mgx_image *slide, const char *path, int quiet, patch **out) {
    int *tiles, cols, rows, n = mgx_slide_tissue_tiles(slide, &tiles), i;
    mgx_slide_grid(slide->w, slide->h, &cols, &rows);
    if (!quiet) fprintf(stderr, "%s: %dx%d, %dx%d tiles of %d, %d with tissue\n", path, slide->w, slide->h, cols, rows, MGX_TILE, n);
    if (n < 0 || !(*out = (patch *)calloc((size_t)(n > 0 ? n : 1), sizeof **out))) { free(tiles); fprintf(stderr, "error: out of memory\n"); return -1; }
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
static int choose(const patch *cand, int n_cand, int k, uint64_t seed, int *pick, int *idx, char **src) {
    int i, n = mgx_sample_sorted(n_cand, k, seed, pick);
    if (n < 0) return -1;
    for (i = 0; i < n; i++) {
        const patch *p = &cand[pick[i]];
        size_t len = (p->file ? strlen(p->file) : 0) + 48;
        idx[i] = p->index;
        if (!(src[i] = (char *)malloc(len))) return -1;
        if (p->file) snprintf(src[i], len, "patch %s", p->file);
        else snprintf(src[i], len, "tile (%d,%d)", p->x, p->y);
    }
    return n;
}

int main(int argc, char **argv) {
    static const mgx_driver wsi = {
        "wsi", "SLIDE -q PROMPT [-q ...] [--context TEXT] [--patches K] -m MODEL.gguf --mmproj MMPROJ.gguf [options]",
        "A pathology slide and prompts, Google's whole-slide recipe: 896 px tiles that are at least 25% tissue,\n"
        "up to K chosen at random (--seed), the prompt then the patches (with --context: context, patches, prompt).\n"
        "SLIDE: a large PNG/JPEG/PNM/BMP image, a DICOM WSI, or a folder of patch images.",
        "SLIDE", 1, 1, NULL };
    const char *context = NULL;
    int k = MGX_DEFAULT_PATCHES;
    mgx_arg own[3] = { { "--patches", MGX_INT, &k, "K", "patches to use at most (default 125, Google's choice)", 1, 100000, 0 },
                       { "--context", MGX_STR, &context, "TEXT", "text before the patches; every -q then follows them", 0, 0, 0 },
                       { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
    mgx_opts o;
    mgx_run r;
    mgx_image slide, *imgs = NULL;
    mg_image_embd *embd = NULL;
    mg_chat_item *items = NULL;
    mg_prompt p[MGX_MAX_QUESTIONS];
    const mg_chat_item *turns[MGX_MAX_QUESTIONS];
    int n_items[MGX_MAX_QUESTIONS];
    patch *cand = NULL;
    struct stat sb;
    char err[512], **src = NULL;
    uint8_t sha[32];
    int *pick = NULL, *idx = NULL, i, n_cand = 0, n = 0, status, built = 0;
    if ((status = mgx_driver_args(&o, &wsi, own, argc, argv)) >= 0) return status;
    status = 1;
    mgx_run_init(&r, &o);
    r.advice = "use fewer --patches";
    memset(&slide, 0, sizeof slide);
    if (stat(o.positional[0], &sb) != 0) { fprintf(stderr, "error: %s: no such file or folder\n", o.positional[0]); goto done; }
    if (S_ISDIR(sb.st_mode)) n_cand = folder_patches(o.positional[0], o.quiet, &cand);
    else if (mgx_slide_load(o.positional[0], &slide, err, sizeof err) != 0) { mgx_print_error(NULL, o.positional[0], err); goto done; }
    else n_cand = slide_patches(&slide, o.positional[0], o.quiet, &cand);
    if (n_cand < 0) goto done;
    if (n_cand == 0) { fprintf(stderr, "error: %s: no patch is at least 25%% tissue (coloured pixels)\n", o.positional[0]); goto done; }

    pick = (int *)malloc((size_t)n_cand * sizeof *pick);
    idx = (int *)malloc((size_t)n_cand * sizeof *idx);
    src = (char **)calloc((size_t)n_cand, sizeof *src);
    if (!pick || !idx || !src || (n = choose(cand, n_cand, k, o.seed.value, pick, idx, src)) < 0) { fprintf(stderr, "error: out of memory\n"); n = 0; goto done; }
    if (!o.quiet) fprintf(stderr, "using %d of %d patches (seed %llu)\n", n, n_cand, (unsigned long long)o.seed.value);
    r.image_src = (const char *const *)src; r.n_images = n; r.used_name = "patches"; r.used = idx;
    if (!S_ISDIR(sb.st_mode) && mgx_file_sha256(o.positional[0], sha) == 0) mgx_run_input(&r, o.positional[0], sha);

    if (mgx_run_load(&r, 1) != 0) goto done;
    if (!(items = (mg_chat_item *)calloc((size_t)o.n_questions * (size_t)(n + 2), sizeof *items))) { fprintf(stderr, "error: out of memory\n"); goto done; }
    for (i = 0; i < o.n_questions; i++) {
        turns[i] = items + (size_t)i * (size_t)(n + 2);
        n_items[i] = turn_items(items + (size_t)i * (size_t)(n + 2), context, o.questions[i], NULL, n);
    }
    if (mgx_run_prompts(&r, turns, n_items, o.n_questions, p) != 0) goto done;
    built = o.n_questions;
    if (o.dump_prompt) {
        mgx_dump_prompts(&r, p, built);
        mgx_dump_indices(stdout, idx, n);
        status = 0;
        goto done;
    }
    imgs = (mgx_image *)calloc((size_t)n, sizeof *imgs);
    embd = (mg_image_embd *)calloc((size_t)n, sizeof *embd);
    if (!imgs || !embd) { fprintf(stderr, "error: out of memory\n"); goto done; }
    for (i = 0; i < n; i++) {
        const patch *c = &cand[pick[i]];
        if ((c->file ? mgx_slide_load(c->file, &imgs[i], err, sizeof err) : mgx_tile_extract(&slide, c->x, c->y, &imgs[i], err, sizeof err)) != 0) {
            fprintf(stderr, "error: %s: %s\n", src[i], err);
            goto done;
        }
    }
    mgx_image_free(&slide);
    if (mgx_run_images_and_ask(&r, imgs, n, "encoding patch", embd, p, built) == 0) status = 0;
done:
    for (i = 0; i < built; i++) mg_prompt_free(&p[i]);
    for (i = 0; i < n; i++) {
        if (imgs) mgx_image_free(&imgs[i]);
        if (embd) mg_image_embd_free(&embd[i]);
    }
    for (i = 0; src && i < n_cand; i++) free(src[i]);
    for (i = 0; cand && i < n_cand; i++) free(cand[i].file);
    free(cand); free(pick); free(idx); free(src); free(imgs); free(embd); free(items);
    mgx_image_free(&slide);
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return status;
}
