/* fuzz_nifti.c — the NIfTI-1 reader of examples/readers (.nii, and .nii.gz through the gzip inflater) on
   hostile bytes: a loaded volume has a sane shape and every voxel is read. */
#include "fuzz.h"
#include "mgx_medical.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mgx_volume v;
    char err[256];
    memset(&v, 0, sizeof v);
    if (mgx_nifti_load_mem(data, size, &v, err, sizeof err) == 0) {
        size_t i, n = (size_t)v.w * v.h * v.d;
        volatile float sum = 0;
        if (v.w <= 0 || v.h <= 0 || v.d <= 0 || !v.vox || !v.source_index) fz_fail("loaded volume has a bad shape");
        for (i = 0; i < n; i++) sum += v.vox[i];
        for (i = 0; i < (size_t)v.d; i++) sum += (float)v.source_index[i];
        (void)sum;
        if (v.nvolumes > 1) {   /* the last volume of a 4D file, when the first one loaded */
            int last = v.nvolumes - 1;
            mgx_volume_free(&v);
            if (mgx_nifti_load_mem_ex(data, size, last, &v, err, sizeof err) == 0 && v.volume != last) fz_fail("wrong volume loaded");
        }
        mgx_volume_free(&v);
    }
    return 0;
}
