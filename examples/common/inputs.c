/* inputs.c — the drivers' shared image input. */
#include "mgx_inputs.h"
#include "mgx_medical.h"
#include <stdlib.h>
#include <string.h>

int mgx_load_2d(const char *path, mgx_image *img, char *err, size_t errsz) {
    unsigned char *data;
    size_t n;
    int rc;
    memset(img, 0, sizeof *img);
    if (mgx_read_file(path, (size_t)1 << 31, &data, &n, err, errsz) != 0) return -1;
    if (mgx_dicom_probe(data, n)) {
        mgx_dicom d;
        rc = mgx_dicom_load_mem(data, n, &d, err, errsz);
        if (rc == 0) {
            rc = mgx_dicom_frame_to_image(&d, 0, img, err, errsz);
            mgx_dicom_free(&d);
        }
    } else rc = mgx_image_load_mem(data, n, img, err, errsz);
    free(data);
    return rc;
}
