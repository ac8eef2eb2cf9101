/* mri — an MRI volume (a DICOM folder, .nii or .nii.gz) and a question, Google's MRI recipe.
     mri VOLUME -q QUESTION [-q ...] [--slices K] -m MODEL.gguf --mmproj MMPROJ.gguf
         [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]
   Like ct, without windowing:
   1. Load the slices (DICOM folder sorted by InstanceNumber; NIfTI along its third axis, in storage order).
   2. Keep K of the N slices (default 85): all when N <= K, else index round(i/K*(N-1)) for i = 1..K (halves to
      even).
   3. Min-max over the WHOLE volume to 0..255, round((v-min)*255/(max-min)), grey copied to R, G and B.
   4. One user turn, no system text: [instruction, img1, "SLICE 1", ..., imgK, "SLICE K", question].
   The instruction is the CT notebook's, adapted: "...analyzing a contiguous block of MRI slices. Please review
   the slices provided below carefully." (Google publishes no MRI-specific text.)
   Slices are encoded once (progress on stderr) and reused for every -q; --dump-prompt as in ct. */
#include "mgx_cli.h"
#include "mgx_volume_prompt.h"
#include <stdlib.h>

int main(int argc, char **argv) {
    const char *slices = NULL;
    mgx_option extra[1] = { { "--slices", &slices, 0 } };
    mgx_opts o;
    int k = MGX_DEFAULT_SLICES;
    if (mgx_parse_args(argc, argv, &o, extra, 1) != 0 || o.n_positional != 1 || o.n_questions == 0 ||
        (slices && (k = atoi(slices)) < 1)) {
        fprintf(stderr, "usage: mri VOLUME -q QUESTION [-q ...] [--slices K] -m MODEL.gguf --mmproj MMPROJ.gguf\n"
                        "           [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]\n"
                        "   VOLUME: a DICOM folder, a multi-frame DICOM file, .nii or .nii.gz; K >= 1 (default 85)\n");
        return 2;
    }
    return mgx_volume_run(&o, MGX_SLICES_MRI, k, MGX_MRI_INSTRUCTION);
}
