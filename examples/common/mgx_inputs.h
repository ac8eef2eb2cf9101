/* mgx_inputs.h — input helpers shared by the drivers: any 2D image file to 8-bit pixels. */
#ifndef MGX_INPUTS_H
#define MGX_INPUTS_H
#include "mgx_image.h"
#include "medgemma.h"
#ifdef __cplusplus
extern "C" {
#endif
#define MGX_MAX_IMAGE_FILE ((size_t)1 << 31)   /* bytes of an image file */
/* PNG, JPEG, PNM, BMP or DICOM (first frame, MedGemma's CXR recipe: rescale, the file's window or min-max,
   MONOCHROME1 inverted). 0 on success, -1 with a message that names the path once. sha (may be NULL)
   receives the SHA-256 of the file's bytes. */
int mgx_load_2d(const char *path, mgx_image *img, uint8_t sha[32], char *err, size_t errsz);
#ifdef __cplusplus
}
#endif
#endif
