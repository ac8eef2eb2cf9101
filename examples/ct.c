/* ct — a CT volume (a DICOM folder, .nii or .nii.gz) and a question, Google's CT recipe.
     ct VOLUME -q QUESTION [-q ...] [--slices K] -m MODEL.gguf --mmproj MMPROJ.gguf
        [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]
   1. Load the slices in Hounsfield units (DICOM folder: sorted by InstanceNumber, HU = raw*slope+intercept;
      NIfTI: the third axis in storage order, scl_slope/scl_inter applied, rows not flipped).
   2. Keep K of the N slices (default 85): all when N <= K, else index round(i/K*(N-1)) for i = 1..K, halves to
      even (nearbyint, like Python's round).
   3. Three windows to R, G, B: [-1024,1024], [-135,215], [0,80] HU, each round((clip(v)-lo)*255/(hi-lo)), at
      native resolution (the runtime then pads to a square and resizes to 896).
   4. One user turn, no system text: [instruction, img1, "SLICE 1", ..., imgK, "SLICE K", question] — the
      question last (the maintainers say the order matters for CT).
   The slices are encoded once (progress on stderr) and reused for every -q. --dump-prompt shows each image as
   [IMAGE i: slice z of VOLUME] (z 0-based in the sorted volume) and ends with "indices: z1 z2 ...".
   The numbers and rounding rules live in examples/common/mgx_volume_prompt.h (shared with mri and the tests). */
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
        fprintf(stderr, "usage: ct VOLUME -q QUESTION [-q ...] [--slices K] -m MODEL.gguf --mmproj MMPROJ.gguf\n"
                        "          [-t N] [-n MAX] [--temp T] [--seed S] [--think] [--json] [--dump-prompt]\n"
                        "   VOLUME: a DICOM folder, a multi-frame DICOM file, .nii or .nii.gz; K >= 1 (default 85)\n");
        return 2;
    }
    return mgx_volume_run(&o, MGX_SLICES_CT, k, MGX_CT_INSTRUCTION);
}
