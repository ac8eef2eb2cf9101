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
   file among the folder's images in name order). Numbers and rules: examples/common/mgx_slide.h; the run after
   the candidates are found is mgx_wsi_answer (`mg bench --recipe wsi` runs it too). */
#include "mgx_slide.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *s = (char *)malloc(a + b + 2);
    if (s) sprintf(s, "%s%s%s", dir, a && dir[a - 1] != '/' ? "/" : "", name);
    return s;
}

/* The candidate patches of a folder: every image file with enough tissue. Count, or -1 after a message. */
static int folder_patches(const char *dir, int quiet, mgx_patch **out) {
    char **names, err[256], note[256];
    int n = mgx_list_dir_ex(dir, &names, note, sizeof note, err, sizeof err), i, images = 0, k = 0;
    if (n < 0) { mgx_print_error(NULL, dir, err); return -1; }
    if (note[0] && !quiet) fprintf(stderr, "%s\n", note);
    if (!(*out = (mgx_patch *)calloc((size_t)(n > 0 ? n : 1), sizeof **out))) { mgx_names_free(names, n); return -1; }
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
    mgx_image slide;
    mgx_patch *cand = NULL;
    struct stat sb;
    char err[512];
    uint8_t sha[32];
    int i, n_cand = 0, status;
    if ((status = mgx_driver_args(&o, &wsi, own, argc, argv)) >= 0) return status;
    status = 1;
    mgx_run_init(&r, &o);
    r.advice = "use fewer --patches";
    memset(&slide, 0, sizeof slide);
    if (stat(o.positional[0], &sb) != 0) { fprintf(stderr, "error: %s: no such file or folder\n", o.positional[0]); goto done; }
    if (S_ISDIR(sb.st_mode)) n_cand = folder_patches(o.positional[0], o.quiet, &cand);
    else if (mgx_slide_load(o.positional[0], &slide, err, sizeof err) != 0) { mgx_print_error(NULL, o.positional[0], err); goto done; }
    else n_cand = mgx_slide_patches(&slide, o.positional[0], o.quiet, &cand);
    if (n_cand < 0) goto done;
    if (n_cand == 0) { fprintf(stderr, "error: %s: no patch is at least 25%% tissue (coloured pixels)\n", o.positional[0]); goto done; }
    if (!S_ISDIR(sb.st_mode) && mgx_file_sha256(o.positional[0], sha) == 0) mgx_run_input(&r, o.positional[0], sha);
    status = mgx_wsi_answer(&r, S_ISDIR(sb.st_mode) ? NULL : &slide, cand, n_cand, k, context);
done:
    for (i = 0; cand && i < n_cand; i++) free(cand[i].file);
    free(cand);
    mgx_image_free(&slide);
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return status;
}
