/* fuzz_pnm.c — the PNM reader (P2/P3/P5/P6) of examples/readers on hostile bytes (fuzz_img.h: shape, readable
   pixels, PNG round trip of the result), then the same bytes through the format-detecting loader. */
#include "fuzz_img.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mgx_image img;
    char err[128];
    fz_image_target(mgx_pnm_decode, data, size);
    memset(&img, 0, sizeof img);
    fz_check_image(mgx_image_load_mem(data, size, &img, err, sizeof err), &img);
    mgx_image_free(&img);
    return 0;
}
