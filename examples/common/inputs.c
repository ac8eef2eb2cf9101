/* inputs.c — the drivers' shared image input. */
#include "mgx_inputs.h"
#include "mgx_medical.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mgx_load_2d(const char *path, mgx_image *img, uint8_t sha[32], char *err, size_t errsz) {
    unsigned char *data;
    char why[256];
    size_t n;
    int rc;
    memset(img, 0, sizeof *img);
    if (mgx_read_file(path, MGX_MAX_IMAGE_FILE, &data, &n, err, errsz) != 0) return -1;   /* names the path */
    if (sha) mg_sha256(data, n, sha);
    if (mgx_dicom_probe(data, n)) {
        mgx_dicom d;
        rc = mgx_dicom_load_frames_mem(data, n, 0, 1, &d, why, sizeof why);   /* frame 0 alone is decoded */
        if (rc == 0) {
            rc = mgx_dicom_frame_to_image(&d, 0, img, why, sizeof why);
            mgx_dicom_free(&d);
        }
    } else rc = mgx_image_load_mem(data, n, img, why, sizeof why);
    if (rc != 0) snprintf(err, errsz, "%s: %s", path, why);
    free(data);
    return rc;
}
