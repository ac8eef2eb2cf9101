/* mri — an MRI volume (a DICOM folder, a multi-frame DICOM file, .nii or .nii.gz) and questions.
     mri VOLUME -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [--slices K] [options]   (mri --help)
   Like ct, without windowing:
   1. Load the slices (DICOM folder sorted by InstanceNumber; NIfTI along its third axis, in storage order).
   2. Keep K of the N slices (default 85): all when N <= K, else index round(i/K*(N-1)) for i = 1..K (halves to
      even).
   3. Min-max over the WHOLE volume to 0..255, round((v-min)*255/(max-min)), grey copied to R, G and B.
   4. One user turn, no system text: [instruction, img1, "SLICE 1", ..., imgK, "SLICE K", question].
   The instruction is the CT notebook's, adapted: "...analyzing a contiguous block of MRI slices. Please review
   the slices provided below carefully." (Google publishes no MRI-specific text.) A CT volume gets a warning
   (ct windows it). The driver itself is mgx_volume_main, shared with ct. */
#include "mgx_volume_prompt.h"

int main(int argc, char **argv) {
    static const mgx_volume_recipe mri = {
        "mri", "An MRI volume and questions: up to K evenly spaced slices, whole-volume min-max to grey, each image\n"
               "followed by \"SLICE i\", the question last; no system text.\n"
               "VOLUME: a DICOM folder, a multi-frame DICOM file, .nii or .nii.gz.",
        MGX_MRI_INSTRUCTION, MGX_SLICES_MRI, "MR" };
    return mgx_volume_main(argc, argv, &mri);
}
