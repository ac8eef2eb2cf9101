/* mgx_image.h — image file readers for the medgemma.h example programs (not part of the runtime header).

   Readers (all in portable C99, written from the format specifications):
     PNG  (png.c)      colour types 0,2,3,4,6; depths 1..16; PLTE, tRNS; Adam7; all chunk CRCs checked.
                       Writer: 8-bit grey or RGB, zlib stream of fixed-Huffman blocks.
     JPEG (jpeg.c)     baseline / extended / progressive Huffman (SOF0, SOF1, SOF2), 8-bit, 1 or 3 components,
                       sampling factors 1..2, restart markers, Adobe APP14 transform flag.
                       Rejected: arithmetic coding, lossless, hierarchical, 12-bit; a frame whose blocks the rest of
                       the file is too short to code (one bit each at least); a progression that codes or refines a
                       coefficient out of order (T.81 G.1.1.1); more than MGX_JPEG_MAX_SCANS scans.
     PNM  (pnm_bmp.c)  P2, P3, P5, P6 with maxval 1..65535.
     BMP  (pnm_bmp.c)  BITMAPINFOHEADER / V4 / V5; 1/4/8-bit palette, 16/24/32-bit; BI_RGB, BI_BITFIELDS. RLE rejected.
     DEFLATE (inflate.c) raw, zlib (Adler-32 checked), gzip (CRC-32 checked, all members).

   Output is always 8-bit, 1 channel (grey) or 3 channels (RGB); alpha is composited on white and dropped;
   16-bit samples are reduced with (v*255 + 32767) / 65535.
   All functions return 0 on success and -1 on failure with a readable message in err (err may be NULL);
   decoders leave *img zeroed on failure (nothing to free) and never read outside [data, data + n).
   No global mutable state: every function is thread-safe. */
#ifndef MGX_IMAGE_H
#define MGX_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MGX_MAX_IMAGE_DIM    65535       /* per side */
#define MGX_MAX_IMAGE_PIXELS (1u << 28)  /* w*h, about 268 M pixels */
#define MGX_MAX_INFLATE_OUT  ((size_t)1 << 31)
#ifndef MGX_JPEG_MAX_SCANS
#define MGX_JPEG_MAX_SCANS   256         /* scans in one JPEG (libjpeg's default progressive script has 10) */
#endif

/* The most memory one input may claim: before allocating, every reader adds up what the file's header implies
   (inflated data, decoder buffers, output pixels or voxels) and refuses the input when the sum is larger,
   naming both numbers. Define before compiling the readers to change it. */
#ifndef MGX_MAX_INPUT_BYTES
#define MGX_MAX_INPUT_BYTES ((uint64_t)1 << 31)
#endif

/* The readers allocate through these three; define all of them before compiling the readers to substitute
   another allocator (memory the readers hand out is then released with the matching MGX_FREE). */
#ifndef MGX_MALLOC
#include <stdlib.h>
#define MGX_MALLOC(n) malloc(n)
#define MGX_REALLOC(p, n) realloc(p, n)
#define MGX_FREE(p) free(p)
#endif

/* Work counters: the readers report their work as MGX_COUNT(kind, amount), a no-op unless defined before
   the readers are compiled (the tests count with it). Kinds: */
#define MGX_COUNT_INFLATED   0   /* bytes produced by inflate */
#define MGX_COUNT_FILE_READ  1   /* bytes read from files */
#define MGX_COUNT_JPEG_STEPS 2   /* JPEG blocks visited by scans plus coefficients walked inside them */
#ifndef MGX_COUNT
#define MGX_COUNT(kind, amount) ((void)(amount))
#endif

typedef struct mgx_image {
    int w, h;            /* pixels */
    int channels;        /* 1 = grey, 3 = RGB (alpha is composited on white and dropped) */
    unsigned char *px;   /* w*h*channels bytes, row-major, top row first; malloc'd */
} mgx_image;

/* Loading: format chosen by magic bytes (PNG, JPEG, PNM, BMP). */
int  mgx_image_load_file(const char *path, mgx_image *img, char *err, size_t errsz);
int  mgx_image_load_mem(const void *data, size_t n, mgx_image *img, char *err, size_t errsz);
/* Returns "png", "jpeg", "pnm", "bmp" or NULL when the magic bytes match none of them. */
const char *mgx_image_detect(const void *data, size_t n);

/* Single-format decoders. */
int  mgx_png_decode(const void *data, size_t n, mgx_image *img, char *err, size_t errsz);
int  mgx_jpeg_decode(const void *data, size_t n, mgx_image *img, char *err, size_t errsz);
int  mgx_pnm_decode(const void *data, size_t n, mgx_image *img, char *err, size_t errsz);
int  mgx_bmp_decode(const void *data, size_t n, mgx_image *img, char *err, size_t errsz);

/* PNG writer: 8-bit grey (channels 1) or RGB (channels 3). *out is malloc'd. */
int  mgx_png_write_file(const char *path, const mgx_image *img, char *err, size_t errsz);
int  mgx_png_encode(const mgx_image *img, unsigned char **out, size_t *out_n, char *err, size_t errsz);

/* Frees px and zeroes the struct; safe on a zeroed struct and on NULL. */
void mgx_image_free(mgx_image *img);
/* Grey -> RGB in place (each grey value replicated); no-op for RGB. */
int  mgx_image_to_rgb(mgx_image *img, char *err, size_t errsz);
/* RGB -> grey in place using ITU-R BT.601 weights (299, 587, 114)/1000, rounded; no-op for grey. */
int  mgx_image_to_grey(mgx_image *img, char *err, size_t errsz);
/* Checked w*h*channels with the dimension and pixel limits above; 0 ok, -1 with message. */
int  mgx_image_size(int w, int h, int channels, size_t *bytes, char *err, size_t errsz);
/* Allocates img->px for w x h x channels (uninitialised) after mgx_image_size checks; 0 ok / -1. */
int  mgx_image_alloc(mgx_image *img, int w, int h, int channels, char *err, size_t errsz);

/* format: 0 raw deflate, 1 zlib, 2 gzip (all members), 3 auto (gzip if 1f 8b, zlib if valid header, else raw).
   *out is malloc'd; max_out bounds the output size (0 = MGX_MAX_INFLATE_OUT). */
#define MGX_INFLATE_RAW  0
#define MGX_INFLATE_ZLIB 1
#define MGX_INFLATE_GZIP 2
#define MGX_INFLATE_AUTO 3
int  mgx_inflate(const void *src, size_t n, int format, size_t max_out, unsigned char **out, size_t *out_n, char *err, size_t errsz);

/* Inflation on demand, for readers that parse a header from the first inflated bytes and then inflate only as
   much as the header implies. src stays owned by the caller and must outlive the inflater.
   mgx_inflate_more inflates until want bytes exist (it stops exactly there) or the stream ends, whose trailer
   (Adler-32, CRC-32, ISIZE) is then checked; it fails when the stream holds more than max_out bytes.
   After it returns 0, mgx_inflate_data gives the output so far (the pointer changes when more is inflated)
   and *done tells whether the stream has ended. mgx_inflate_take hands the output (malloc'd) to the caller. */
typedef struct mgx_inflater mgx_inflater;
mgx_inflater *mgx_inflate_begin(const void *src, size_t n, int format, size_t max_out, char *err, size_t errsz);
int  mgx_inflate_more(mgx_inflater *z, size_t want, char *err, size_t errsz);
const unsigned char *mgx_inflate_data(const mgx_inflater *z, size_t *n, int *done);
unsigned char *mgx_inflate_take(mgx_inflater *z, size_t *n);
void mgx_inflate_end(mgx_inflater *z);
/* DEFLATE's length and distance codes (RFC 1951 3.2.5): base values and extra bits of codes 257..285 and 0..29. */
extern const uint16_t mgx_deflate_len_base[29], mgx_deflate_dist_base[30];
extern const unsigned char mgx_deflate_len_extra[29], mgx_deflate_dist_extra[30];
/* CRC-32 (ISO-HDLC, as in PNG/gzip/zip). Start with crc = 0; chain calls by passing the previous result. */
uint32_t mgx_crc32(uint32_t crc, const void *data, size_t n);
/* Adler-32 as in zlib. Start with adler = 1. */
uint32_t mgx_adler32(uint32_t adler, const void *data, size_t n);

/* Files (files.c). Only regular files are read: mgx_file_check stats the path before anything is opened and
   refuses a directory ("PATH is a directory"), a FIFO, socket or device ("PATH is not a regular file (FIFO)"),
   and a file larger than max_bytes (0 = no limit); *size (may be NULL) gets the size. 0 ok / -1 with message. */
int  mgx_file_check(const char *path, uint64_t max_bytes, uint64_t *size, char *err, size_t errsz);
/* Reads a whole regular file of at most max_bytes (0 = 4 GiB) after mgx_file_check: reading never goes past
   the size the file had when it was checked (a file that grows or shrinks meanwhile is an error).
   0 ok / -1 with message. *out is malloc'd (one extra zero byte follows the data, not counted in *out_n). */
int  mgx_read_file(const char *path, size_t max_bytes, unsigned char **out, size_t *out_n, char *err, size_t errsz);
/* The regular, non-hidden files of a directory (symbolic links followed), sorted by name (strcmp); *names
   malloc'd, free with mgx_names_free. Entries that are not regular files (subdirectories, FIFOs, sockets,
   devices, dangling links) are skipped; mgx_list_dir_ex then writes a note naming them into note (may be NULL;
   "" when none was skipped). Count, or -1 with a message. */
int  mgx_list_dir(const char *dir, char ***names, char *err, size_t errsz);
int  mgx_list_dir_ex(const char *dir, char ***names, char *note, size_t notesz, char *err, size_t errsz);
/* The regular files under dir as paths (dir/sub/name), depth first in name order, descending at most max_depth
   levels of subfolders (more than MGX_MAX_TREE_DIRS folders, or more than max_files files, is an error); a
   folder reached twice (a symbolic link loop, or two links to it) is walked once. Skipped entries as above. */
#ifndef MGX_MAX_TREE_DIRS
#define MGX_MAX_TREE_DIRS 1024
#endif
int  mgx_list_tree(const char *dir, int max_depth, int max_files, char ***paths, char *note, size_t notesz, char *err,
                   size_t errsz);
void mgx_names_free(char **names, int n);
/* Reads at most k bytes from the start of a regular file into buf (*got: how many). 0 ok / -1 with message. */
int  mgx_read_head(const char *path, size_t k, unsigned char *buf, size_t *got, char *err, size_t errsz);
/* 0 when bytes (the memory an input needs) is at most MGX_MAX_INPUT_BYTES, else -1 with
   "WHAT needs N bytes of memory, more than the limit of M bytes (MGX_MAX_INPUT_BYTES)". */
int  mgx_check_claim(uint64_t bytes, const char *what, char *err, size_t errsz);

/* Formats a message into err (if err && errsz); always returns -1. Shared by the readers. */
int  mgx_errf(char *err, size_t errsz, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif /* MGX_IMAGE_H */
