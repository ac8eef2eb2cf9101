/* mgx_medical.h — DICOM and NIfTI-1 readers and the CT/MRI volume loader used by the examples.

   Written from the standards: DICOM PS3.5 (data structures and encoding: transfer syntaxes, value
   representations, sequences, encapsulation, RLE in Annex G), PS3.6 (data dictionary, for the few
   tags read here), PS3.3 (C.7.6.3 Image Pixel module, C.11.2.1.2 VOI linear window, C.8.12.4 WSI
   tiling) and the NIfTI-1 header definition (nifti1.h, NIfTI DFWG 2004).

   DICOM (dicom.c)
     Part 10 files (128-byte preamble + "DICM" + explicit VR LE meta group) and bare data sets that start
     with a group 0002 or 0008 element. Transfer syntaxes:
       1.2.840.10008.1.2        implicit VR little endian
       1.2.840.10008.1.2.1      explicit VR little endian
       1.2.840.10008.1.2.2      explicit VR big endian (retired, still read)
       1.2.840.10008.1.2.1.99   deflated explicit VR little endian
       1.2.840.10008.1.2.4.50   JPEG baseline (8-bit)          \  encapsulated, decoded with
       1.2.840.10008.1.2.4.51   JPEG extended (8-bit streams)  /  mgx_jpeg_decode
       1.2.840.10008.1.2.5      RLE lossless
     Other encapsulated syntaxes (JPEG lossless, JPEG-LS, JPEG 2000, HTJ2K, MPEG...) are refused with a
     message naming the syntax. Pixel data: 8, 16 or 32 bits allocated, signed or unsigned, any Bits
     Stored / High Bit, MONOCHROME1/2, RGB (planar configuration 0 or 1), YBR_FULL and YBR_FULL_422
     (native data converted to RGB; JPEG frames come out of the decoder as RGB already).
     PALETTE COLOR and other interpretations are refused.
     Enhanced multi-frame objects: Shared/Per-frame Functional Groups give pixel spacing, thickness,
     orientation, rescale slope/intercept, window, per-frame ImagePositionPatient and WSI tile positions.
     Nested sequences outside those groups (icons, references...) are skipped; nesting is limited (24).
     Tolerated deviations seen in real files: odd value lengths, a data set whose VR encoding differs
     from the one its transfer syntax names (detected from the first element), a missing sequence
     delimiter at the very end of encapsulated pixel data, a few stray bytes after the last element.
     A JPEG frame's colour conversion is the decoder's (YCbCr -> RGB unless an Adobe marker says not).

   NIfTI-1 (nifti.c)
     Single-file .nii ("n+1") and gzip'd .nii.gz, either byte order. Pairs (.hdr/.img, "ni1"), ANALYZE
     7.5 and NIfTI-2 are refused with a message. A .nii.gz is read header first: the 348 bytes are inflated,
     then only up to the end of the volume asked for (refused before that when the volume's floats and
     inflated bytes exceed MGX_MAX_INPUT_BYTES); the voxels are converted to floats in the inflated buffer. Voxel layout of the output is the RAW storage order:
     x = i (dim[1]), y = j (dim[2]), z = k (dim[3]); nothing is flipped or reoriented. The affine in
     mgx_volume (sform, else qform, else pixdim) tells where each voxel lies in RAS+ millimetres.

   Volumes (volume.c)
     mgx_volume_load_ex(path, options): a directory (the DICOM files in it and its subfolders, hidden and
     non-DICOM files skipped, grouped by SeriesInstanceUID: one series, or the one options->series picks),
     a .nii / .nii.gz file (options->volume picks a 4D file's volume), or one DICOM file (its frames are the
     slices). Values are in modality units (CT: Hounsfield units = stored value * slope + intercept).

   Every function returns 0 on success or -1 with a message in err (when err is not NULL). Input is
   treated as hostile: every read is bounds-checked, sizes use checked arithmetic, nothing aborts.
   No mutable global state; the structures may be used from any thread, one thread per structure. */
#ifndef MGX_MEDICAL_H
#define MGX_MEDICAL_H

#include <stddef.h>
#include "mgx_image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MGX_MAX_DICOM_FRAMES 100000
#define MGX_MAX_VOLUME_SLICES 100000
#define MGX_MAX_VOLUME_VOXELS ((size_t)1 << 31)
/* Most float values (frames*rows*cols*samples) one DICOM object may expand to (4 GiB of floats). */
#define MGX_MAX_DICOM_VALUES ((size_t)1 << 30)
/* A WSI canvas may be at most this many times the area its tiles cover (mgx_dicom_tiles_to_image). */
#ifndef MGX_WSI_MAX_BLANK_RATIO
#define MGX_WSI_MAX_BLANK_RATIO 64
#endif
/* Largest file the loaders read, and largest inflated deflate/gzip stream they accept. */
#define MGX_MAX_MEDICAL_FILE_BYTES ((size_t)1 << 31)

typedef struct mgx_dicom {
    int rows, cols, frames, samples;        /* samples 1 (grey) or 3 (RGB) */
    int bits_allocated, bits_stored, pixel_representation;
    int high_bit, planar_configuration;
    char photometric[17], modality[17], transfer_syntax[65], sop_class[65];
    double slope, intercept;                /* 1, 0 when absent */
    double window_center, window_width; int has_window;
    int instance_number, has_instance;
    double position[3]; int has_position;   /* ImagePositionPatient (of frame 0 for enhanced objects) */
    double orientation[6]; int has_orientation;
    double spacing[2];                      /* PixelSpacing: row spacing (between rows), column spacing; 0 if absent */
    double thickness;                       /* SliceThickness, 0 if absent */
    double slice_spacing;                   /* SpacingBetweenSlices (0018,0088), 0 if absent */
    int total_cols, total_rows;             /* WSI total pixel matrix, 0 when absent */
    /* Per-frame facts of multi-frame objects (NULL when the file does not give them per frame): */
    double *frame_position;                 /* frames*3: PlanePositionSequence ImagePositionPatient */
    int *tile_col, *tile_row;               /* frames: 0-based top-left of each frame in the total pixel
                                               matrix; set whenever total_cols/rows are (from the per-frame
                                               PlanePositionSlideSequence, else TILED_FULL row-major order) */
    char series_uid[65];                    /* SeriesInstanceUID (0020,000E), "" when absent */
    char series_description[65];            /* SeriesDescription (0008,103E), "" when absent */
    int data_first, data_frames;            /* data holds frames data_first .. data_first + data_frames - 1 */
    float *data;   /* data_frames*rows*cols*samples values, frame-major, row-major, interleaved RGB;
                      grey: modality values (slope/intercept applied, per frame when the per-frame
                      functional groups give them); RGB: 0..255. NULL after a header-only load. */
} mgx_dicom;

/* flags for the _ex loaders */
#define MGX_DICOM_HEADER_ONLY 1   /* parse attributes, check the pixel data's declared length, do not decode it
                                     (nor inflate it: a deflated data set is inflated up to the pixel data only) */

int  mgx_dicom_load_file(const char *path, mgx_dicom *d, char *err, size_t errsz);
int  mgx_dicom_load_mem(const void *data, size_t n, mgx_dicom *d, char *err, size_t errsz);
int  mgx_dicom_load_file_ex(const char *path, mgx_dicom *d, int flags, char *err, size_t errsz);
int  mgx_dicom_load_mem_ex(const void *data, size_t n, mgx_dicom *d, int flags, char *err, size_t errsz);
/* Decodes only frames first .. first + count - 1 (count 0: to the last frame), e.g. frame 0 of a multi-frame
   radiograph: d->frames stays the object's frame count; d->data holds the frames decoded (data_first,
   data_frames). A deflated data set is inflated only up to the end of the last frame decoded, encapsulated
   frames outside the range are not decoded. Frames outside the object are an error naming both. */
int  mgx_dicom_load_frames_file(const char *path, int first, int count, mgx_dicom *d, char *err, size_t errsz);
int  mgx_dicom_load_frames_mem(const void *data, size_t n, int first, int count, mgx_dicom *d, char *err, size_t errsz);
void mgx_dicom_free(mgx_dicom *d);
/* 1 when the buffer looks like DICOM (Part 10 preamble, or a bare data set starting with group 0002/0008). */
int  mgx_dicom_probe(const void *data, size_t n);

/* One frame to 8-bit, as MedGemma's CXR recipe says: window from the file (center/width, DICOM PS3.3
   C.11.2.1.2 linear function) if present, else min-max of the frame; MONOCHROME1 inverted; RGB frames
   copied. img->channels is 1 for grey, 3 for RGB. Free with mgx_image_free. */
int  mgx_dicom_frame_to_image(const mgx_dicom *d, int frame, mgx_image *img, char *err, size_t errsz);
/* WSI: paste every decoded frame at (tile_col, tile_row) into one image that spans the bounding box of the
   tiles inside the total pixel matrix (the whole matrix when the tiles cover it, as TILED_FULL objects do;
   parts of tiles past the matrix are clipped; uncovered pixels are white). The canvas is sized from the tiles
   present, not from the declared matrix, and refused when more than MGX_WSI_MAX_BLANK_RATIO times the tiles'
   area would be blank. Falls back to the first decoded frame alone when the object has no total pixel matrix.
   Grey frames are mapped to 8 bits as in mgx_dicom_frame_to_image. */
int  mgx_dicom_tiles_to_image(const mgx_dicom *d, mgx_image *img, char *err, size_t errsz);

typedef struct mgx_volume {
    int w, h, d;          /* columns, rows, slices */
    float *vox;           /* d*h*w, slice-major, row-major: vox[(z*h + y)*w + x], modality units */
    double spacing[3];    /* x, y, z in mm when known, else 0 */
    char modality[17];    /* "CT", "MR", ... or "" */
    char **source_path;   /* per slice, malloc'd (folders only, else NULL): the DICOM file the slice came from */
    int *source_index;    /* per slice, malloc'd: folder -> index of the slice's file among the folder's
                             DICOM image files in file-name order; one DICOM file -> frame; NIfTI -> k */
    int nvolumes;         /* NIfTI with dim[4..7] > 1: volumes in the file (one is loaded); else 1 */
    int volume;           /* NIfTI: the 0-based volume loaded; else 0 */
    /* Voxel (x,y,z) -> patient mm: p = A[.][0]*x + A[.][1]*y + A[.][2]*z + A[.][3]. NIfTI: RAS+ world
       (sform, else qform, else pixdim scaling); DICOM: LPS patient coordinates from ImagePositionPatient,
       ImageOrientationPatient and PixelSpacing. has_affine 0 when the files do not say. */
    double affine[3][4]; int has_affine;
    double window_center, window_width; int has_window;  /* from the (first) DICOM file, when given */
    char series_uid[65], series_description[65];          /* DICOM: the series loaded ("" when absent) */
} mgx_volume;

/* What mgx_volume_load_ex loads out of a path that holds more than one volume. */
typedef struct mgx_volume_options {
    const char *series;   /* DICOM folder: SeriesInstanceUID, or a 1-based index as decimal text (series are numbered
                             in the order of their first file, depth first in name order); NULL: the folder must
                             hold one series, else the error lists them (number, UID, modality, description,
                             slices). A single file holds one series: NULL, "1" or (DICOM) its UID. */
    int volume;           /* 4D NIfTI: the 0-based volume (default 0; mgx_volume.nvolumes says how many) */
} mgx_volume_options;

#ifndef MGX_VOLUME_MAX_DEPTH
#define MGX_VOLUME_MAX_DEPTH 8   /* levels of subfolders a DICOM folder is searched */
#endif

int  mgx_nifti_load_file(const char *path, mgx_volume *v, char *err, size_t errsz);
int  mgx_nifti_load_mem(const void *data, size_t n, mgx_volume *v, char *err, size_t errsz);
/* Volume `volume` (0-based) of a 4D (or higher) file; the plain calls load volume 0. */
int  mgx_nifti_load_file_ex(const char *path, int volume, mgx_volume *v, char *err, size_t errsz);
int  mgx_nifti_load_mem_ex(const void *data, size_t n, int volume, mgx_volume *v, char *err, size_t errsz);
/* A folder, .nii, .nii.gz or a (multi-frame) DICOM file; opt may be NULL (mgx_volume_load). */
int  mgx_volume_load_ex(const char *path, const mgx_volume_options *opt, mgx_volume *v, char *err, size_t errsz);
int  mgx_volume_load(const char *path, mgx_volume *v, char *err, size_t errsz);
void mgx_volume_free(mgx_volume *v);

#ifdef __cplusplus
}
#endif
#endif
