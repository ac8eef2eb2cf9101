/* mgx_volume_prompt.h — MedGemma's CT and MRI volume recipes (MEDGEMMA.md section 5), shared by examples/ct.c,
   examples/mri.c and tests/test_volume_prompt.c, and the driver both run (mgx_volume_main).

   Slice choice   N slices, at most K wanted: all of them when N <= K, else index round(i/K*(N-1)) for
                  i = 1..K. i starts at 1 as in Google's notebook, so slice 0 is never chosen when N > K and
                  the last slice always is. The product is computed in double in the notebook's order,
                  (i/K)*(N-1), and rounded with nearbyint() in the default rounding mode: halves go to the
                  even neighbour, like Python's round().
   CT windows     R [-1024,1024], G [-135,215], B [0,80] Hounsfield units; each channel
                  round((clip(v,lo,hi)-lo)*255/(hi-lo)), halves to even. (v-lo)*255 is formed before the
                  division so that integer HU values with an exact .5 result (e.g. G at -30 HU: 76.5) really
                  are halves and go to the even neighbour (76), as numpy's round does on exact values.
   MRI            no windowing: round((v-min)*255/(max-min)) over the whole volume (finite voxels), grey copied
                  to R, G and B; a constant volume maps to 0.
   Non-finite voxels (possible in float NIfTI files): NaN and -inf map to 0, +inf to 255.
   Prompt         one user turn, no system text: [instruction, img1, "SLICE 1", ..., imgK, "SLICE K", question]. */
#ifndef MGX_VOLUME_PROMPT_H
#define MGX_VOLUME_PROMPT_H
#include "medgemma.h"
#include "mgx_cli.h"
#include "mgx_image.h"
#include "mgx_medical.h"
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

#define MGX_DEFAULT_SLICES 85

/* Google's CT notebook instruction, verbatim. */
#define MGX_CT_INSTRUCTION "You are an instructor teaching medical students. You are analyzing a contiguous block of " \
    "CT slices from the center of the abdomen. Please review the slices provided below carefully."
/* Adapted from the CT instruction (Google publishes no MRI notebook text): "CT" -> "MRI", and no body region. */
#define MGX_MRI_INSTRUCTION "You are an instructor teaching medical students. You are analyzing a contiguous block of " \
    "MRI slices. Please review the slices provided below carefully."

/* Writes the chosen slice indices (0-based, ascending) to out (room for min(n, k)); returns their count, 0 when
   n < 1 or k < 1. */
int mgx_sample_slices(int n, int k, int *out);
/* round((clip(v,lo,hi)-lo)*255/(hi-lo)), halves to even; NaN -> 0. Requires hi > lo. */
unsigned char mgx_window_u8(double v, double lo, double hi);
/* The three CT windows of one Hounsfield value. */
void mgx_ct_rgb(double hu, unsigned char rgb[3]);
/* Smallest and largest finite voxel; -1 when there is none. */
int mgx_volume_minmax(const mgx_volume *v, float *lo, float *hi);

#define MGX_SLICES_CT  0   /* three windows to R, G, B */
#define MGX_SLICES_MRI 1   /* whole-volume min-max, grey to RGB */
/* The RGB images (w x h, native resolution) of slices idx[0..n-1]; out[] must hold n. 0, or -1 with a message
   (nothing left allocated). */
int mgx_volume_slice_images(const mgx_volume *v, int mode, const int *idx, int n, mgx_image *out,
                            char *err, size_t errsz);

/* [instruction, img, "SLICE 1", ..., img, "SLICE n", question]; image items point at embd[i] (NULL embd: image
   placeholders, enough for --dump-prompt). */
typedef struct mgx_slice_prompt { mg_chat_item *items; int n_items; char *labels; } mgx_slice_prompt;
int  mgx_slice_prompt_build(mgx_slice_prompt *p, const char *instruction, const mg_image_embd *embd, int n,
                            const char *question);
void mgx_slice_prompt_free(mgx_slice_prompt *p);

/* --dump-prompt's last line for volumes and slides: "indices: i0 i1 ..." (0-based). */
void mgx_dump_indices(FILE *f, const int *idx, int n);

/* The ct and mri drivers: a recipe and one shared main. */
typedef struct mgx_volume_recipe {
    const char *prog;          /* "ct" */
    const char *about;         /* --help's description */
    const char *instruction;   /* MGX_CT_INSTRUCTION or MGX_MRI_INSTRUCTION */
    int mode;                  /* MGX_SLICES_CT or MGX_SLICES_MRI */
    const char *modality;      /* the DICOM modality the recipe is for ("CT", "MR"): others get a warning */
} mgx_volume_recipe;
/* Loads the VOLUME argument, keeps --slices K (default 85), makes the images, loads the model, builds every
   -q prompt and checks it against the context, then prints the prompts (--dump-prompt: each image as
   <image i: slice z of PATH>, z 0-based in the sorted volume, and a last line "indices: ...") or encodes the
   slices once and answers every -q from them. Returns the exit code. */
int mgx_volume_main(int argc, char **argv, const mgx_volume_recipe *recipe);

#ifdef __cplusplus
}
#endif
#endif
