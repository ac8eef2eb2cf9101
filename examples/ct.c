/* ct — a CT volume (a DICOM folder, a multi-frame DICOM file, .nii or .nii.gz) and questions, Google's CT recipe.
     ct VOLUME -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [--slices K] [options]   (ct --help)
   1. Load the slices in Hounsfield units (DICOM folder: sorted by InstanceNumber, HU = raw*slope+intercept;
      NIfTI: the third axis in storage order, scl_slope/scl_inter applied, rows not flipped).
   2. Keep K of the N slices (default 85): all when N <= K, else index round(i/K*(N-1)) for i = 1..K, halves to
      even (nearbyint, like Python's round).
   3. Three windows to R, G, B: [-1024,1024], [-135,215], [0,80] HU, each round((clip(v)-lo)*255/(hi-lo)), at
      native resolution (the runtime then pads to a square and resizes to 896).
   4. One user turn, no system text: [instruction, img1, "SLICE 1", ..., imgK, "SLICE K", question] — the
      question last (the maintainers say the order matters for CT).
   A volume whose DICOM modality is not CT is still windowed, with a warning. The slices are encoded once and
   reused for every -q. The numbers and rounding rules live in examples/common/mgx_volume_prompt.h (shared
   with mri and the tests); the driver itself is mgx_volume_main. */
#include "mgx_volume_prompt.h"

int main(int argc, char **argv) {
    static const mgx_volume_recipe ct = {
        "ct", "A CT volume and questions, Google's CT recipe: up to K evenly spaced slices, three Hounsfield windows\n"
              "to R, G and B, each image followed by \"SLICE i\", the question last; no system text.\n"
              "VOLUME: a DICOM folder, a multi-frame DICOM file, .nii or .nii.gz.",
        MGX_CT_INSTRUCTION, MGX_SLICES_CT, "CT" };
    return mgx_volume_main(argc, argv, &ct);
}
