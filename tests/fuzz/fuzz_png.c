/* fuzz_png.c — the PNG reader of examples/readers on hostile bytes (fuzz_img.h: shape, readable pixels,
   PNG round trip of the result). Every chunk CRC is first recomputed on a copy, so that mutations reach the
   chunk contents instead of stopping at the CRC check (the bytes as given are decoded too). */
#include "fuzz_img.h"

/* Rewrites the CRC of each whole chunk after the 8-byte signature: CRC-32 over type and data. */
static void fix_crcs(uint8_t *p, size_t n) {
    size_t at = 8;
    while (at + 12 <= n) {
        uint32_t len = (uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 | (uint32_t)p[at + 2] << 8 | p[at + 3], crc;
        if (len > n - at - 12) break;
        crc = mgx_crc32(0, p + at + 4, 4 + (size_t)len);
        p[at + 8 + len] = (uint8_t)(crc >> 24); p[at + 9 + len] = (uint8_t)(crc >> 16);
        p[at + 10 + len] = (uint8_t)(crc >> 8); p[at + 11 + len] = (uint8_t)crc;
        at += 12 + (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = (uint8_t *)malloc(size ? size : 1);
    fz_image_target(mgx_png_decode, data, size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    if (size && memcmp(copy, data, size) != 0) fz_image_target(mgx_png_decode, copy, size);
    free(copy);
    return 0;
}
