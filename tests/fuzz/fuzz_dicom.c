/* fuzz_dicom.c — the DICOM reader of examples/readers on hostile bytes: a full load (pixel data decoded,
   including RLE, deflate and encapsulated JPEG), every value read; the first and last frames and the WSI
   mosaic converted to 8-bit images; a load of frame 0 alone; then a header-only load of the same bytes. */
#include "fuzz_img.h"
#include "mgx_medical.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mgx_dicom d;
    mgx_image img;
    char err[256];
    memset(&d, 0, sizeof d);
    mgx_dicom_probe(data, size);
    if (mgx_dicom_load_mem(data, size, &d, err, sizeof err) == 0) {
        size_t i, n = (size_t)d.frames * d.rows * d.cols * d.samples;
        volatile float sum = 0;
        if (d.frames <= 0 || d.rows <= 0 || d.cols <= 0 || (d.samples != 1 && d.samples != 3) || !d.data)
            fz_fail("loaded DICOM has a bad shape");
        for (i = 0; i < n; i++) sum += d.data[i];
        (void)sum;
        memset(&img, 0, sizeof img);
        fz_check_image(mgx_dicom_frame_to_image(&d, 0, &img, err, sizeof err), &img);
        mgx_image_free(&img);
        fz_check_image(mgx_dicom_frame_to_image(&d, d.frames - 1, &img, err, sizeof err), &img);
        mgx_image_free(&img);
        fz_check_image(mgx_dicom_tiles_to_image(&d, &img, err, sizeof err), &img);   /* canvas bounded by the tiles */
        mgx_image_free(&img);
        mgx_dicom_free(&d);
    }
    memset(&d, 0, sizeof d);
    if (mgx_dicom_load_frames_mem(data, size, 0, 1, &d, err, sizeof err) == 0) {   /* frame 0 alone */
        if (d.data_first != 0 || d.data_frames != 1 || !d.data) fz_fail("frame 0 load has a bad frame range");
        memset(&img, 0, sizeof img);
        fz_check_image(mgx_dicom_frame_to_image(&d, 0, &img, err, sizeof err), &img);
        mgx_image_free(&img);
        if (d.frames > 1 && mgx_dicom_frame_to_image(&d, 1, &img, err, sizeof err) == 0) fz_fail("an undecoded frame converted");
        mgx_dicom_free(&d);
    }
    memset(&d, 0, sizeof d);
    if (mgx_dicom_load_mem_ex(data, size, &d, MGX_DICOM_HEADER_ONLY, err, sizeof err) == 0) mgx_dicom_free(&d);
    return 0;
}
