/* fuzz_bmp.c — the BMP reader of examples/readers on hostile bytes (fuzz_img.h: shape, readable pixels,
   PNG round trip of the result). */
#include "fuzz_img.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_image_target(mgx_bmp_decode, data, size);
    return 0;
}
