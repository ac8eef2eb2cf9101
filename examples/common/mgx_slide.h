/* mgx_slide.h — whole-slide pathology for MedGemma (MEDGEMMA.md section 5), shared by examples/wsi.c,
   tests/test_volume_prompt.c and `mg bench --recipe wsi`.

   Grid     non-overlapping MGX_TILE x MGX_TILE (896) tiles from the top-left corner: cols = w / 896 and
            rows = h / 896 (partial tiles at the right and bottom edges are dropped). When the slide is smaller
            than one tile in a dimension, that dimension has one tile, padded with white (255) past the slide.
            Tile (c, r) starts at pixel (896c, 896r); its index is r*cols + c (row-major).
   Tissue   a pixel is tissue when max(R,G,B) - min(R,G,B) > MGX_TISSUE_SAT (20): stained tissue is coloured,
            glass and paper are white or grey. A tile is kept when at least 25% of its pixels inside the slide are
            tissue (896 x 896, or fewer for the padded tile of a slide smaller than 896: the white padding is
            not counted at all). Greyscale slides therefore have no tissue.
            Example: the 1152 x 700 CAMELYON DICOM of tests/data/wsi gives one tile, (0,0): its 896 x 700 slide
            pixels are 28.6% tissue (179340), so it is kept; the last 256 columns are dropped.
   Sampling up to K kept tiles (default 125) chosen without replacement by a partial Fisher-Yates shuffle driven
            by splitmix64 seeded with the seed, then put back in slide order (ascending index).
   Prompt   text first, then all the patches, no labels. */
#ifndef MGX_SLIDE_H
#define MGX_SLIDE_H
#include "mgx_answer.h"
#include "mgx_image.h"
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

#define MGX_TILE 896
#define MGX_TISSUE_SAT 20
#define MGX_DEFAULT_PATCHES 125

/* A slide as 8-bit RGB: PNG/JPEG/PNM/BMP, or a DICOM object (a WSI's frames pasted at their positions with
   mgx_dicom_tiles_to_image; another DICOM: its first frame). 0, or -1 with a message. */
int  mgx_slide_load(const char *path, mgx_image *rgb, char *err, size_t errsz);
/* Tiles per row and per column (each >= 1 for a non-empty slide). */
void mgx_slide_grid(int w, int h, int *cols, int *rows);
/* 1 when the pixel counts as tissue. */
int  mgx_is_tissue(const unsigned char *rgb);
/* Tissue pixels of an RGB image inside the rectangle (x0, y0, tw, th), clipped to the image. */
long mgx_tissue_pixels(const mgx_image *rgb, int x0, int y0, int tw, int th);
/* 1 when tissue pixels make up at least 25% of area. */
int  mgx_tissue_enough(long tissue, long area);
/* Copies the 896 x 896 tile starting at (x0, y0) out of an RGB slide, white past its edges. 0 or -1. */
int  mgx_tile_extract(const mgx_image *rgb, int x0, int y0, mgx_image *tile, char *err, size_t errsz);
/* Grid indices (row-major) of the tiles the mask keeps; *out malloc'd (may be NULL when none). Count, or -1. */
int  mgx_slide_tissue_tiles(const mgx_image *rgb, int **out);

/* mgx_list_dir and mgx_names_free (the regular files of a folder) are declared in mgx_image.h. */

/* splitmix64 (Steele, Lea, Flood 2014): advances *state and returns the next 64-bit value. */
uint64_t mgx_splitmix64(uint64_t *state);
/* min(n, k) distinct values of [0, n) chosen with the seeded generator, written to out in ascending order.
   Returns their count, -1 on memory failure. */
int  mgx_sample_sorted(int n, int k, uint64_t seed, int *out);

/* The wsi driver's run (`mg bench --recipe wsi` runs it too). A candidate patch is a tile of a slide image,
   at (x, y) with grid index r*cols + c, or a file of a folder (file set; index: its place among the folder's
   images in name order). */
typedef struct mgx_patch { int index, x, y; char *file; } mgx_patch;
/* The candidate tiles of one slide image (the tissue mask); label names it in the stderr note. *out malloc'd.
   Count, or -1 after a message. */
int  mgx_slide_patches(const mgx_image *slide, const char *label, int quiet, mgx_patch **out);
/* Up to k of the n_cand candidates (seed r->o->seed), the model loaded unless r->m is set, one prompt per -q
   ([prompt, patches] or with context [context, patches, prompt]), then --dump-prompt (images as <image i:
   tile (x,y)> or <image i: patch FILE>, a last line "indices: ...") or the patches cut from slide (NULL for
   folder files: each loaded), slide freed, the patches encoded once and every -q answered. Counts and times
   are left in r. Returns the exit code. */
int  mgx_wsi_answer(mgx_run *r, mgx_image *slide, const mgx_patch *cand, int n_cand, int k, const char *context);

#ifdef __cplusplus
}
#endif
#endif
