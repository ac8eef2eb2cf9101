/* gguf_write.h — writing GGUF files and ggml's reference quantizers, for tests, file surgery and synthetic
   models (`mg synth`). A companion of medgemma.h, not part of the runtime: a program that only runs the
   model never needs it.

   HOW TO BUILD
     Include medgemma.h first. In exactly one C file:
         #define MG_GGUF_WRITE_IMPLEMENTATION
         #include "gguf_write.h"
     The implementation uses only medgemma.h's public API (mg_type_row_size, mg_f32_to_f16, the GGUF view);
     it allocates with malloc/free. MG_GGUF_WRITE_STATIC makes every function static.

   CONTENTS
     >>writer        metadata, tensors, the checked adds and the unchecked (raw) ones for malformed files
     >>quantizers    F16, BF16, Q8_0, Q4_0, Q4_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS rows as llama-quantize
                     writes them (no importance matrix)
     >>file types    llama.cpp's file types (general.file_type) and the tensor types llama-quantize mixes into each
*/
#ifndef MG_GGUF_WRITE_H
#define MG_GGUF_WRITE_H
#include "medgemma.h"

#ifndef MGWDEF
#ifdef MG_GGUF_WRITE_STATIC
#define MGWDEF static
#else
#define MGWDEF extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ===== >>writer ====================================================================================== */
/* Builds a GGUF v3 file (little endian): metadata in insertion order, tensor data in add order, every
   tensor's data padded to the alignment. Setting a key again replaces its value in place; tensor names are
   unique. general.alignment is written when alignment != 32 and mirrors the writer's alignment (setting it
   with set_u32 or copy_kv changes the layout). Tensor data are kept by reference until the write. */
typedef struct mg_gguf_writer mg_gguf_writer;
/* Produces the data of a tensor added with data == NULL (nbytes into dst). Nonzero result aborts the write. */
typedef mg_result (*mg_gguf_fill_fn)(void *user, const char *name, void *dst, size_t nbytes);
#define MG_GGUF_OFFSET_AUTO UINT64_MAX   /* add_tensor_raw: compute the offset as add_tensor does */

MGWDEF mg_result mg_gguf_writer_new(mg_gguf_writer **out, uint32_t alignment /* 0: 32; a power of two */);
MGWDEF void      mg_gguf_writer_free(mg_gguf_writer *w);
/* One scalar of type MG_GGUF_U8..F64 except STRING and ARRAY; value points to the C type of that size
   (bool: one byte, 0 or 1). */
MGWDEF mg_result mg_gguf_writer_set_scalar(mg_gguf_writer *w, const char *key, int type, const void *value);
MGWDEF mg_result mg_gguf_writer_set_u32(mg_gguf_writer *w, const char *key, uint32_t v);
MGWDEF mg_result mg_gguf_writer_set_i32(mg_gguf_writer *w, const char *key, int32_t v);
MGWDEF mg_result mg_gguf_writer_set_f32(mg_gguf_writer *w, const char *key, float v);
MGWDEF mg_result mg_gguf_writer_set_u64(mg_gguf_writer *w, const char *key, uint64_t v);
MGWDEF mg_result mg_gguf_writer_set_bool(mg_gguf_writer *w, const char *key, int v);
MGWDEF mg_result mg_gguf_writer_set_string(mg_gguf_writer *w, const char *key, const char *v);
/* n elements of elem_type: a C array of that type (bool: bytes), or for MG_GGUF_STRING const char *const *. */
MGWDEF mg_result mg_gguf_writer_set_array(mg_gguf_writer *w, const char *key, int elem_type, const void *data,
                                         uint64_t n);
/* Copies metadata pair i of a parsed file verbatim (any type, arrays included). */
MGWDEF mg_result mg_gguf_writer_copy_kv(mg_gguf_writer *w, const mg_gguf *src, int64_t i);
/* Checked: known type, 1..4 dims > 0, ne[0] a multiple of the block, nbytes = the size of that shape, a new
   name. data == NULL: filled by the fill callback at write time, or zeros. */
MGWDEF mg_result mg_gguf_writer_add_tensor(mg_gguf_writer *w, const char *name, int type, int n_dims,
                                          const int64_t *ne, const void *data, size_t nbytes);
MGWDEF void      mg_gguf_writer_set_fill(mg_gguf_writer *w, mg_gguf_fill_fn fn, void *user);

/* Unchecked, for building malformed files in tests:
   set_raw writes key, u32 type, then n bytes verbatim (for arrays: u32 elem type, u64 count, elements);
   add_tensor_raw writes any type code, 0..8 dims (ne may be anything), nbytes of data (NULL: zeros) and,
   unless offset is MG_GGUF_OFFSET_AUTO, that offset in the tensor info (data still go where auto would put
   them); names may repeat. The header (magic, version, counts) can be patched in the written buffer:
   "GGUF" at 0, u32 version at 4, u64 n_tensors at 8, u64 n_kv at 16. */
MGWDEF mg_result mg_gguf_writer_set_raw(mg_gguf_writer *w, const char *key, uint32_t type, const void *bytes,
                                       size_t n);
MGWDEF mg_result mg_gguf_writer_add_tensor_raw(mg_gguf_writer *w, const char *name, int type, int n_dims,
                                              const int64_t *ne, const void *data, size_t nbytes, uint64_t offset);

/* The whole file in one MG_MALLOC'd buffer (release with free / free). */
MGWDEF mg_result mg_gguf_writer_write_mem(mg_gguf_writer *w, void **out, size_t *size);
#ifndef MG_NO_STDIO
/* Streams the file: only the header is built in memory (plus one tensor's buffer for fill callbacks). */
MGWDEF mg_result mg_gguf_writer_write_file(mg_gguf_writer *w, const char *path);
#endif

/* ===== >>quantization ================================================================================ */
/* Quantizes n_rows rows of n_per_row floats with ggml's reference quantizers (no importance matrix): the
   bytes llama-quantize writes. Types F32, F16, BF16, Q8_0, Q4_0, Q4_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
   IQ4_XS; n_per_row a multiple of the block. */
MGWDEF mg_result mg_quantize(int type, const float *src, void *dst, int64_t n_rows, int64_t n_per_row);

/* ===== >>file types ================================================================================== */
/* llama.cpp's file types: the general.file_type value (enum llama_ftype) of the published names. */
enum { MG_FTYPE_F16 = 1, MG_FTYPE_Q4_0 = 2, MG_FTYPE_Q4_1 = 3, MG_FTYPE_Q8_0 = 7, MG_FTYPE_Q2_K = 10, MG_FTYPE_Q3_K_S = 11,
       MG_FTYPE_Q3_K_M = 12, MG_FTYPE_Q3_K_L = 13, MG_FTYPE_Q4_K_S = 14, MG_FTYPE_Q4_K_M = 15, MG_FTYPE_Q5_K_S = 16,
       MG_FTYPE_Q5_K_M = 17, MG_FTYPE_Q6_K = 18, MG_FTYPE_IQ4_NL = 25, MG_FTYPE_IQ4_XS = 30, MG_FTYPE_BF16 = 32 };
/* The file type of a name as in published file names, any case ("Q5_K_M", "q4_0", "iq4_xs", "f16"); -1 if none. */
MGWDEF int mg_ftype_from_name(const char *name);
/* The tensor type llama-quantize (no importance matrix) gives a Gemma 3 decoder weight in a file of type ftype:
   role is "token_embd" (tied to the output), "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"
   or "ffn_down"; il the layer of n_layer; n_gqa = attention heads / KV heads. -1 for an unknown ftype or role. */
MGWDEF int mg_ftype_tensor_type(int ftype, const char *role, int il, int n_layer, int n_gqa);

#ifdef __cplusplus
}
#endif
#endif /* MG_GGUF_WRITE_H */

#ifdef MG_GGUF_WRITE_IMPLEMENTATION
#ifndef MG_GGUF_WRITE_IMPLEMENTATION_DONE
#define MG_GGUF_WRITE_IMPLEMENTATION_DONE
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ===== >>writer ====================================================================================== */
static void *mgw__malloc(size_t n) { return malloc(n ? n : 1); }
static void *mgw__calloc(size_t count, size_t size) { return calloc(count ? count : 1, size ? size : 1); }
/* Grows *p to hold at least `need` elements of `size` bytes (capacity doubles). 0 on failure. */
static int mgw__grow(void **p, int64_t *cap, int64_t need, size_t size) {
    int64_t c = *cap ? *cap : 16;
    void *q;
    if (need <= *cap) return 1;
    while (c < need) c *= 2;
    if ((uint64_t)c > (uint64_t)((size_t)-1 / size) || !(q = realloc(*p, (size_t)c * size))) return 0;
    *p = q; *cap = c;
    return 1;
}
static int mgw__mul_ok(uint64_t a, uint64_t b, uint64_t *r) {
    if (a && b > UINT64_MAX / a) return 0;
    *r = a * b;
    return 1;
}
static char *mgw__strndup(const char *s, size_t n) {
    char *d = (char *)mgw__malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}
static uint32_t mgw__rd32(const uint8_t *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }
/* Bytes of one element of a scalar metadata type (MG_GGUF_U8 .. F64); 0 for string, array and unknown. */
static size_t mgw__scalar_size(uint32_t t) {
    static const unsigned char size[13] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
    return t < 13 ? size[t] : 0;
}

/* Each metadata pair is kept serialized (u32 type, then the value as the file stores it), so copy_kv is a
   byte copy and the write is a concatenation. Tensors keep their data by reference. */
typedef struct mgw__kv {
    char    *key;        /* NUL-terminated copy */
    uint8_t *rec;        /* u32 type + value bytes */
    size_t   n;          /* bytes of rec */
} mgw__kv;

typedef struct mgw__tensor {
    char       *name;    /* NUL-terminated copy */
    int         type;    /* ggml type code */
    int         n_dims;  /* 0..8 (raw) */
    int64_t     ne[8];
    const void *data;    /* NULL: fill callback or zeros */
    size_t      nbytes;  /* bytes of data written */
    uint64_t    offset;  /* offset field to write, or MG_GGUF_OFFSET_AUTO */
    uint64_t    at;      /* where the data go in the data section (set by the layout) */
    uint32_t    hash;    /* FNV-1a of the name (checked adds compare it first) */
} mgw__tensor;

struct mg_gguf_writer {
    uint32_t     alignment;   /* power of two */
    mgw__kv     *kv;
    int64_t      n_kv, cap_kv;
    mgw__tensor *t;
    int64_t      n_t, cap_t;
    mg_gguf_fill_fn fill;
    void        *fill_user;
};

static void mgw__put32(uint8_t *b, uint32_t v) {
    b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}
static void mgw__put64(uint8_t *b, uint64_t v) { mgw__put32(b, (uint32_t)v); mgw__put32(b + 4, (uint32_t)(v >> 32)); }
static int mgw__pow2_align(uint64_t a) { return a != 0 && (a & (a - 1)) == 0 && a <= 65536; }

MGWDEF mg_result mg_gguf_writer_new(mg_gguf_writer **out, uint32_t alignment) {
    mg_gguf_writer *w;
    if (!out) return MG_ERR_INVALID_ARG;
    *out = NULL;
    if (alignment == 0) alignment = 32;
    if (!mgw__pow2_align(alignment)) return MG_ERR_INVALID_ARG;
    if (!(w = (mg_gguf_writer *)mgw__calloc(1, sizeof *w))) return MG_ERR_NOMEM;
    w->alignment = 32;
    if (alignment != 32 && mg_gguf_writer_set_u32(w, "general.alignment", alignment) != MG_OK) {
        mg_gguf_writer_free(w);
        return MG_ERR_NOMEM;
    }
    *out = w;
    return MG_OK;
}

MGWDEF void mg_gguf_writer_free(mg_gguf_writer *w) {
    int64_t i;
    if (!w) return;
    for (i = 0; i < w->n_kv; i++) { free(w->kv[i].key); free(w->kv[i].rec); }
    for (i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

/* Stores a serialized pair (rec is taken over), replacing an existing key in place. Unless raw, a u32
   general.alignment must be a power of two and becomes the layout's alignment. */
static mg_result mgw__put_kv(mg_gguf_writer *w, const char *key, uint8_t *rec, size_t n, int raw) {
    int64_t i;
    char *k;
    if (!raw && (!*key || strlen(key) > MG_MAX_STRING)) { free(rec); return MG_ERR_INVALID_ARG; }
    if (!raw && strcmp(key, "general.alignment") == 0) {
        uint32_t a = n == 8 ? mgw__rd32(rec + 4) : 0;
        if (mgw__rd32(rec) != MG_GGUF_U32 || !mgw__pow2_align(a)) { free(rec); return MG_ERR_INVALID_ARG; }
        w->alignment = a;
    }
    for (i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) { free(w->kv[i].rec); w->kv[i].rec = rec; w->kv[i].n = n; return MG_OK; }
    if (!mgw__grow((void **)&w->kv, &w->cap_kv, w->n_kv + 1, sizeof *w->kv) ||
        !(k = mgw__strndup(key, strlen(key)))) { free(rec); return MG_ERR_NOMEM; }
    w->kv[w->n_kv].key = k;
    w->kv[w->n_kv].rec = rec;
    w->kv[w->n_kv].n = n;
    w->n_kv++;
    return MG_OK;
}

/* A record of `payload` bytes after the u32 type, or NULL. */
static uint8_t *mgw__rec(uint32_t type, size_t payload) {
    uint8_t *rec = payload <= SIZE_MAX - 4 ? (uint8_t *)mgw__malloc(4 + payload) : NULL;
    if (rec) mgw__put32(rec, type);
    return rec;
}
/* Writes n elements of scalar type t (esz bytes each) from a C array as little endian. */
static void mgw__put_elems(uint8_t *dst, const void *src, size_t esz, uint64_t n) {
    const uint8_t *s = (const uint8_t *)src;
    uint64_t j;
    for (j = 0; j < n; j++, s += esz, dst += esz) {
        uint16_t v16; uint32_t v32; uint64_t v64;
        switch (esz) {
        case 1: dst[0] = s[0]; break;
        case 2: memcpy(&v16, s, 2); dst[0] = (uint8_t)v16; dst[1] = (uint8_t)(v16 >> 8); break;
        case 4: memcpy(&v32, s, 4); mgw__put32(dst, v32); break;
        default: memcpy(&v64, s, 8); mgw__put64(dst, v64); break;
        }
    }
}

MGWDEF mg_result mg_gguf_writer_set_scalar(mg_gguf_writer *w, const char *key, int type, const void *value) {
    size_t esz = type >= 0 ? mgw__scalar_size((uint32_t)type) : 0;
    uint8_t *rec;
    if (!w || !key || !value || !esz) return MG_ERR_INVALID_ARG;
    if (!(rec = mgw__rec((uint32_t)type, esz))) return MG_ERR_NOMEM;
    mgw__put_elems(rec + 4, value, esz, 1);
    if (type == MG_GGUF_BOOL) rec[4] = rec[4] != 0;
    return mgw__put_kv(w, key, rec, 4 + esz, 0);
}
MGWDEF mg_result mg_gguf_writer_set_u32(mg_gguf_writer *w, const char *key, uint32_t v) {
    return mg_gguf_writer_set_scalar(w, key, MG_GGUF_U32, &v);
}
MGWDEF mg_result mg_gguf_writer_set_i32(mg_gguf_writer *w, const char *key, int32_t v) {
    return mg_gguf_writer_set_scalar(w, key, MG_GGUF_I32, &v);
}
MGWDEF mg_result mg_gguf_writer_set_f32(mg_gguf_writer *w, const char *key, float v) {
    return mg_gguf_writer_set_scalar(w, key, MG_GGUF_F32, &v);
}
MGWDEF mg_result mg_gguf_writer_set_u64(mg_gguf_writer *w, const char *key, uint64_t v) {
    return mg_gguf_writer_set_scalar(w, key, MG_GGUF_U64, &v);
}
MGWDEF mg_result mg_gguf_writer_set_bool(mg_gguf_writer *w, const char *key, int v) {
    uint8_t b = v != 0;
    return mg_gguf_writer_set_scalar(w, key, MG_GGUF_BOOL, &b);
}
MGWDEF mg_result mg_gguf_writer_set_string(mg_gguf_writer *w, const char *key, const char *v) {
    size_t len;
    uint8_t *rec;
    if (!w || !key || !v || (len = strlen(v)) > MG_MAX_STRING) return MG_ERR_INVALID_ARG;
    if (!(rec = mgw__rec(MG_GGUF_STRING, 8 + len))) return MG_ERR_NOMEM;
    mgw__put64(rec + 4, len);
    memcpy(rec + 12, v, len);
    return mgw__put_kv(w, key, rec, 12 + len, 0);
}

/* Bytes of the elements of an array value (strings with their u64 lengths). 0 when invalid or too large. */
static int mgw__array_bytes(int elem_type, const void *data, uint64_t n, size_t *bytes) {
    size_t esz;
    uint64_t j;
    *bytes = 0;
    if (elem_type == MG_GGUF_STRING) {
        const char *const *s = (const char *const *)data;
        for (j = 0; j < n; j++) {
            size_t len = s[j] ? strlen(s[j]) : SIZE_MAX;
            if (len > MG_MAX_STRING || *bytes > SIZE_MAX / 2) return 0;
            *bytes += 8 + len;
        }
        return 1;
    }
    esz = elem_type >= 0 ? mgw__scalar_size((uint32_t)elem_type) : 0;
    *bytes = (size_t)n * esz;
    return esz != 0;
}

MGWDEF mg_result mg_gguf_writer_set_array(mg_gguf_writer *w, const char *key, int elem_type, const void *data,
                                         uint64_t n) {
    size_t bytes, p = 16;
    uint8_t *rec;
    uint64_t j;
    if (!w || !key || (n && !data) || n > MG_MAX_ARRAY) return MG_ERR_INVALID_ARG;
    if (!mgw__array_bytes(elem_type, data, n, &bytes)) return MG_ERR_INVALID_ARG;
    if (!(rec = mgw__rec(MG_GGUF_ARRAY, 12 + bytes))) return MG_ERR_NOMEM;
    mgw__put32(rec + 4, (uint32_t)elem_type);
    mgw__put64(rec + 8, n);
    if (elem_type == MG_GGUF_STRING) {
        for (j = 0; j < n; j++) {
            const char *s = ((const char *const *)data)[j];
            size_t len = strlen(s);
            mgw__put64(rec + p, len);
            memcpy(rec + p + 8, s, len);
            p += 8 + len;
        }
    } else if (n) {
        mgw__put_elems(rec + 16, data, mgw__scalar_size((uint32_t)elem_type), n);
    }
    return mgw__put_kv(w, key, rec, 16 + bytes, 0);
}

MGWDEF mg_result mg_gguf_writer_copy_kv(mg_gguf_writer *w, const mg_gguf *src, int64_t i) {
    int type, arr_type = 0;
    uint64_t arr_n = 0;
    size_t size, head;
    const void *value = src ? mg_gguf_kv_data(src, i, &size) : NULL;
    uint8_t *rec;
    if (!w || !value || (type = mg_gguf_kv_type(src, i, &arr_type, &arr_n)) < 0) return MG_ERR_INVALID_ARG;
    head = type == MG_GGUF_ARRAY ? 16 : 4;      /* type [+ elem type + count] precede the value bytes */
    if (!(rec = mgw__rec((uint32_t)type, head - 4 + size))) return MG_ERR_NOMEM;
    if (type == MG_GGUF_ARRAY) { mgw__put32(rec + 4, (uint32_t)arr_type); mgw__put64(rec + 8, arr_n); }
    memcpy(rec + head, value, size);
    return mgw__put_kv(w, mg_gguf_kv_key(src, i), rec, head + size, 0);
}

MGWDEF mg_result mg_gguf_writer_set_raw(mg_gguf_writer *w, const char *key, uint32_t type, const void *bytes,
                                       size_t n) {
    uint8_t *rec;
    if (!w || !key || (n && !bytes)) return MG_ERR_INVALID_ARG;
    if (!(rec = mgw__rec(type, n))) return MG_ERR_NOMEM;
    if (n) memcpy(rec + 4, bytes, n);
    return mgw__put_kv(w, key, rec, 4 + n, 1);
}

static uint32_t mgw__hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}
/* Index of a tensor named `name`, or -1 (a few hundred names: a scan with the hash compared first). */
static int64_t mgw__find(const mg_gguf_writer *w, const char *name) {
    uint32_t h = mgw__hash(name);
    int64_t i;
    for (i = 0; i < w->n_t; i++) if (w->t[i].hash == h && strcmp(w->t[i].name, name) == 0) return i;
    return -1;
}

MGWDEF mg_result mg_gguf_writer_add_tensor_raw(mg_gguf_writer *w, const char *name, int type, int n_dims,
                                              const int64_t *ne, const void *data, size_t nbytes, uint64_t offset) {
    mgw__tensor *t;
    int d;
    if (!w || !name || n_dims < 0 || n_dims > 8 || (n_dims && !ne)) return MG_ERR_INVALID_ARG;
    if (w->n_t >= INT32_MAX - 1) return MG_ERR_LIMIT;
    if (!mgw__grow((void **)&w->t, &w->cap_t, w->n_t + 1, sizeof *w->t)) return MG_ERR_NOMEM;
    t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    if (!(t->name = mgw__strndup(name, strlen(name)))) return MG_ERR_NOMEM;
    t->type = type; t->n_dims = n_dims;
    for (d = 0; d < n_dims; d++) t->ne[d] = ne[d];
    t->data = data; t->nbytes = nbytes; t->offset = offset; t->hash = mgw__hash(name);
    w->n_t++;
    return MG_OK;
}

MGWDEF mg_result mg_gguf_writer_add_tensor(mg_gguf_writer *w, const char *name, int type, int n_dims,
                                          const int64_t *ne, const void *data, size_t nbytes) {
    uint64_t nel = 1, need;
    size_t row;
    int d;
    if (!w || !name || !*name || strlen(name) > MG_MAX_STRING || n_dims < 1 || n_dims > MG_MAX_DIMS || !ne || ne[0] <= 0)
        return MG_ERR_INVALID_ARG;
    if ((row = mg_type_row_size(type, ne[0])) == 0) return MG_ERR_INVALID_ARG;   /* unknown type or partial block */
    for (d = 0; d < n_dims; d++)
        if (ne[d] <= 0 || !mgw__mul_ok(nel, (uint64_t)ne[d], &nel) || nel > ((uint64_t)1 << 50)) return MG_ERR_INVALID_ARG;
    if (!mgw__mul_ok(nel / (uint64_t)ne[0], (uint64_t)row, &need) || need != nbytes) return MG_ERR_INVALID_ARG;
    if (mgw__find(w, name) >= 0) return MG_ERR_INVALID_ARG;
    return mg_gguf_writer_add_tensor_raw(w, name, type, n_dims, ne, data, nbytes, MG_GGUF_OFFSET_AUTO);
}

MGWDEF void mg_gguf_writer_set_fill(mg_gguf_writer *w, mg_gguf_fill_fn fn, void *user) {
    if (w) { w->fill = fn; w->fill_user = user; }
}

static uint64_t mgw__pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Places the tensor data and returns the header size (padded: the data section's start) and the data
   section size. 0 when a size overflows. */
static int mgw__layout(mg_gguf_writer *w, uint64_t *header, uint64_t *data) {
    uint64_t h = 24, at = 0;
    int64_t i;
    for (i = 0; i < w->n_kv; i++) h += 8 + strlen(w->kv[i].key) + w->kv[i].n;
    for (i = 0; i < w->n_t; i++) {
        mgw__tensor *t = &w->t[i];
        h += 8 + strlen(t->name) + 4 + 8 * (uint64_t)t->n_dims + 4 + 8;
        t->at = at;
        if (t->nbytes > UINT64_MAX / 2 - at) return 0;
        at = mgw__pad_to(at + t->nbytes, w->alignment);
    }
    *header = mgw__pad_to(h, w->alignment);
    *data = at;
    return *header <= SIZE_MAX && at <= UINT64_MAX - *header;
}

/* Serializes the header (up to the padded start of the data section) into p. */
static void mgw__header(const mg_gguf_writer *w, uint8_t *p, uint64_t header) {
    uint8_t *q = p;
    int64_t i;
    int d;
    mgw__put32(q, 0x46554747u); mgw__put32(q + 4, 3);
    mgw__put64(q + 8, (uint64_t)w->n_t); mgw__put64(q + 16, (uint64_t)w->n_kv);
    q += 24;
    for (i = 0; i < w->n_kv; i++) {
        size_t len = strlen(w->kv[i].key);
        mgw__put64(q, len); memcpy(q + 8, w->kv[i].key, len); q += 8 + len;
        memcpy(q, w->kv[i].rec, w->kv[i].n); q += w->kv[i].n;
    }
    for (i = 0; i < w->n_t; i++) {
        const mgw__tensor *t = &w->t[i];
        size_t len = strlen(t->name);
        mgw__put64(q, len); memcpy(q + 8, t->name, len); q += 8 + len;
        mgw__put32(q, (uint32_t)t->n_dims); q += 4;
        for (d = 0; d < t->n_dims; d++) { mgw__put64(q, (uint64_t)t->ne[d]); q += 8; }
        mgw__put32(q, (uint32_t)t->type);
        mgw__put64(q + 4, t->offset == MG_GGUF_OFFSET_AUTO ? t->at : t->offset);
        q += 12;
    }
    memset(q, 0, (size_t)(header - (uint64_t)(q - p)));
}

/* Puts tensor i's bytes at dst: its data, the fill callback's, or zeros. */
static mg_result mgw__tensor_bytes(const mg_gguf_writer *w, int64_t i, uint8_t *dst) {
    const mgw__tensor *t = &w->t[i];
    if (t->data) { memcpy(dst, t->data, t->nbytes); return MG_OK; }
    if (w->fill) return w->fill(w->fill_user, t->name, dst, t->nbytes);
    memset(dst, 0, t->nbytes);
    return MG_OK;
}

MGWDEF mg_result mg_gguf_writer_write_mem(mg_gguf_writer *w, void **out, size_t *size) {
    uint64_t header, data;
    uint8_t *buf;
    int64_t i;
    mg_result r;
    if (!w || !out || !size) return MG_ERR_INVALID_ARG;
    *out = NULL; *size = 0;
    if (!mgw__layout(w, &header, &data) || header + data > SIZE_MAX) return MG_ERR_LIMIT;
    if (!(buf = (uint8_t *)mgw__calloc(1, (size_t)(header + data)))) return MG_ERR_NOMEM;
    mgw__header(w, buf, header);
    for (i = 0; i < w->n_t; i++)
        if ((r = mgw__tensor_bytes(w, i, buf + header + w->t[i].at)) != MG_OK) { free(buf); return r; }
    *out = buf;
    *size = (size_t)(header + data);
    return MG_OK;
}

#ifndef MG_NO_STDIO
/* Writes n zero bytes. 0 on an I/O error. */
static int mgw__fwrite_zeros(FILE *f, uint64_t n) {
    static const uint8_t zeros[4096] = {0};
    while (n > 0) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        if (fwrite(zeros, 1, k, f) != k) return 0;
        n -= k;
    }
    return 1;
}
/* Streams the tensor data after the header; scratch holds one filled tensor. */
static mg_result mgw__stream(const mg_gguf_writer *w, FILE *f, uint8_t *scratch) {
    uint64_t pos = 0;
    int64_t i;
    mg_result r;
    for (i = 0; i < w->n_t; i++) {
        const mgw__tensor *t = &w->t[i];
        if (!mgw__fwrite_zeros(f, t->at - pos)) return MG_ERR_IO;
        if (t->data) {
            if (fwrite(t->data, 1, t->nbytes, f) != t->nbytes) return MG_ERR_IO;
        } else if (w->fill) {
            if ((r = w->fill(w->fill_user, t->name, scratch, t->nbytes)) != MG_OK) return r;
            if (fwrite(scratch, 1, t->nbytes, f) != t->nbytes) return MG_ERR_IO;
        } else if (!mgw__fwrite_zeros(f, t->nbytes)) {
            return MG_ERR_IO;
        }
        pos = t->at + t->nbytes;
    }
    return mgw__fwrite_zeros(f, mgw__pad_to(pos, w->alignment) - pos) ? MG_OK : MG_ERR_IO;
}

MGWDEF mg_result mg_gguf_writer_write_file(mg_gguf_writer *w, const char *path) {
    uint64_t header, data;
    size_t scratch_n = 0;
    uint8_t *head, *scratch = NULL;
    int64_t i;
    mg_result r = MG_OK;
    FILE *f;
    if (!w || !path) return MG_ERR_INVALID_ARG;
    if (!mgw__layout(w, &header, &data)) return MG_ERR_LIMIT;
    for (i = 0; i < w->n_t; i++)
        if (!w->t[i].data && w->fill && w->t[i].nbytes > scratch_n) scratch_n = w->t[i].nbytes;
    head = (uint8_t *)mgw__malloc((size_t)header);
    if (scratch_n) scratch = (uint8_t *)mgw__malloc(scratch_n);
    if (!head || (scratch_n && !scratch)) { free(head); free(scratch); return MG_ERR_NOMEM; }
    mgw__header(w, head, header);
    if (!(f = fopen(path, "wb"))) r = MG_ERR_IO;
    else {
        if (fwrite(head, 1, (size_t)header, f) != (size_t)header) r = MG_ERR_IO;
        if (r == MG_OK) r = mgw__stream(w, f, scratch);
        if (fclose(f) != 0 && r == MG_OK) r = MG_ERR_IO;
        if (r != MG_OK) remove(path);
    }
    free(head);
    free(scratch);
    return r;
}
#endif

/* ===== >>quantizers ================================================================================== */
/* The blocks written (layouts and formulas: medgemma.h, >>quant formats). */
typedef struct mgw__q8_0 { uint16_t d; int8_t qs[32]; } mgw__q8_0;
typedef struct mgw__q4_k { uint16_t d, dmin; uint8_t scales[12], qs[128]; } mgw__q4_k;
typedef struct mgw__q6_k { uint8_t ql[128], qh[64]; int8_t scales[16]; uint16_t d; } mgw__q6_k;
typedef struct mgw__q5_k { uint16_t d, dmin; uint8_t scales[12], qh[32], qs[128]; } mgw__q5_k;
typedef struct mgw__q3_k { uint8_t hmask[32], qs[64], scales[12]; uint16_t d; } mgw__q3_k;
typedef struct mgw__q2_k { uint8_t scales[16], qs[64]; uint16_t d, dmin; } mgw__q2_k;
typedef struct mgw__q4_0 { uint16_t d; uint8_t qs[16]; } mgw__q4_0;
typedef struct mgw__q4_1 { uint16_t d, m; uint8_t qs[16]; } mgw__q4_1;
typedef struct mgw__iq4_xs { uint16_t d, scales_h; uint8_t scales_l[4], qs[128]; } mgw__iq4_xs;

/* Round to nearest, ties to even, for |v| < 2^22 (ggml's nearest_int). */
static int mgw__nearest_int(float v) {
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}
static void mgw__q4k_scale_min(int j, const uint8_t *s, int *sc, int *m) {
    if (j < 4) { *sc = s[j] & 63; *m = s[j + 4] & 63; }
    else { *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4); *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4); }
}

/* Byte equality needs every product rounded on its own: no fused multiply-adds. GCC (which contracts in
   GNU modes) gets an optimize pragma for this block; clang (contracts within expressions) gets the
   standard pragma at the top of each function. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#define MGW__NO_FMA _Pragma("STDC FP_CONTRACT OFF")
#else
#define MGW__NO_FMA
#endif
/* roundf (halves away from zero) clamped to the int8 range; non-finite -> 0. */
static int8_t mgw__round_i8(float v) {
    float r = roundf(v);
    if (!(r == r)) return 0;
    return (int8_t)(r > 127.0f ? 127 : r < -128.0f ? -128 : (int)r);
}
/* Q8_0: d = max|x| / 127, q = round(x / d) (halves away from zero). */
static void mgw__quantize_q8_0(const float *x, mgw__q8_0 *y, int64_t n) {
    MGW__NO_FMA
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++, x += 32) {
        float amax = 0, d, id;
        for (j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        d = amax / 127.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = mg_f32_to_f16(d);
        for (j = 0; j < 32; j++) y[i].qs[j] = mgw__round_i8(x[j] * id);
    }
}

static int mgw__clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Weighted error sum_i w_i (scale L_i + min - x_i)^2 of an affine quantization, or sum_i w_i |...| (mad). */
static float mgw__qkx_error(int n, const float *x, const float *w, const uint8_t *L, float scale, float min, int mad) {
    MGW__NO_FMA
    float err = 0;
    int i;
    for (i = 0; i < n; i++) {
        float diff = scale * (float)L[i] + min - x[i];
        err += w[i] * (mad ? fabsf(diff) : diff * diff);
    }
    return err;
}
/* ggml's make_qkx2_quants: x ~ scale * L + min, L in 0..nmax, min <= 0. Starts from the range [min(x,0), max(x)]
   and tries nstep+1 inverse scales (rmin + rdelta*is + nmax) / range, each followed by the weighted least-squares
   scale and min for its L; keeps the lowest weighted squared (mad: absolute) error.
   Returns the scale; *the_min = -min. */
static float mgw__make_qkx2(int n, int nmax, const float *x, const float *w, uint8_t *L, float *the_min,
                           uint8_t *Laux, float rmin, float rdelta, int nstep, int mad) {
    MGW__NO_FMA
    float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0], iscale, scale, best;
    int i, is;
    for (i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.0f;
    }
    iscale = (float)nmax / (max - min);
    scale = 1 / iscale;
    for (i = 0; i < n; i++) L[i] = (uint8_t)mgw__clampi(mgw__nearest_int(iscale * (x[i] - min)), 0, nmax);
    best = mgw__qkx_error(n, x, w, L, scale, min, mad);
    for (is = 0; is <= nstep; is++) {
        float sum_l = 0, sum_l2 = 0, sum_xl = 0, D;
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        for (i = 0; i < n; i++) {
            int l = mgw__clampi(mgw__nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
        }
        D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D, err;
            if (this_min > 0) { this_min = 0; this_scale = sum_xl / sum_l2; }
            err = mgw__qkx_error(n, x, w, Laux, this_scale, this_min, mad);
            if (err < best) { memcpy(L, Laux, (size_t)n); best = err; scale = this_scale; min = this_min; }
        }
    }
    *the_min = -min;
    return scale;
}

/* Q4_K and Q5_K (nmax 15 or 31): per sub-block of 32, make_qkx2 (weights av|x| + |x|); the 8 scales and 8 mins
   are then quantized to 6 bits against their maxima (d = max_scale/63, dmin = max_min/63) into the 12 scale
   bytes and the weights requantized with the stored (rounded) scales into L. */
static void mgw__k32(const float *x, int nmax, float rmin, int nstep, uint16_t *dh, uint16_t *dminh, uint8_t *sc12, uint8_t *L) {
    MGW__NO_FMA
    uint8_t Laux[32];
    float w[32], mins[8], scales[8], max_scale = 0, max_min = 0, inv_scale, inv_min, d, dmin;
    int j, l;
    for (j = 0; j < 8; j++) {
        float sum_x2 = 0, av_x;
        for (l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        av_x = sqrtf(sum_x2 / 32);
        for (l = 0; l < 32; l++) w[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = mgw__make_qkx2(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, 0);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (j = 0; j < 8; j++) {
        uint8_t ls = (uint8_t)mgw__nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)mgw__nearest_int(inv_min * mins[j]);
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        if (j < 4) { sc12[j] = ls; sc12[j + 4] = lm; }
        else {
            sc12[j + 4] = (uint8_t)((ls & 0xF) | (lm & 0xF) << 4);
            sc12[j - 4] |= (uint8_t)((ls >> 4) << 6);
            sc12[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *dh = mg_f32_to_f16(max_scale / 63.0f);
    *dminh = mg_f32_to_f16(max_min / 63.0f);
    d = mg_f16_to_f32(*dh);
    dmin = mg_f16_to_f32(*dminh);
    for (j = 0; j < 8; j++) {
        int sc, m;
        float dj, mj;
        mgw__q4k_scale_min(j, sc12, &sc, &m);
        dj = d * (float)sc;
        if (dj == 0.0f) continue;                      /* keeps the make_qkx2 levels */
        mj = dmin * (float)m;
        for (l = 0; l < 32; l++) L[32 * j + l] = (uint8_t)mgw__clampi(mgw__nearest_int((x[32 * j + l] + mj) / dj), 0, nmax);
    }
}
static void mgw__quantize_q4_k(const float *x, mgw__q4_k *y, int64_t n) {
    uint8_t L[256];
    int64_t i;
    int j, l;
    for (i = 0; i < n / 256; i++, x += 256, y++) {
        mgw__k32(x, 15, -1.0f, 20, &y->d, &y->dmin, y->scales, L);
        for (j = 0; j < 4; j++)
            for (l = 0; l < 32; l++) y->qs[32 * j + l] = (uint8_t)(L[64 * j + l] | L[64 * j + l + 32] << 4);
    }
}
/* Q5_K: as Q4_K with 31 levels; the fifth bit of weight 32j + l goes to bit j of qh[l]. */
static void mgw__quantize_q5_k(const float *x, mgw__q5_k *y, int64_t n) {
    uint8_t L[256];
    int64_t i;
    int j, l;
    for (i = 0; i < n / 256; i++, x += 256, y++) {
        mgw__k32(x, 31, -0.5f, 15, &y->d, &y->dmin, y->scales, L);
        memset(y->qh, 0, 32);
        for (j = 0; j < 8; j++)
            for (l = 0; l < 32; l++) y->qh[l] |= (uint8_t)((L[32 * j + l] >> 4) << j);
        for (j = 0; j < 4; j++)
            for (l = 0; l < 32; l++) y->qs[32 * j + l] = (uint8_t)((L[64 * j + l] & 15) | (L[64 * j + l + 32] & 15) << 4);
    }
}
/* The 2-bit fields of Q2_K/Q3_K: weight 128h + 32k + l at bits 2k of qs[32h + l] (L in 0..3). */
static void mgw__pack_2bit(const uint8_t *L, uint8_t *qs) {
    int h, l;
    for (h = 0; h < 2; h++)
        for (l = 0; l < 32; l++) {
            const uint8_t *q = L + 128 * h + l;
            qs[32 * h + l] = (uint8_t)(q[0] | q[32] << 2 | q[64] << 4 | q[96] << 6);
        }
}

/* ggml's make_qx_quants with rmse_type 1 (weights x^2): symmetric L in -nmax..nmax-1 stored as L + nmax.
   Tries the inverse scales -(nmax + 0.1 is)/max, is = -9..9, each with the least-squares scale, and keeps the
   one that explains the most weighted energy (sumlx^2 / suml2). Returns the scale. */
static float mgw__make_qx(int n, int nmax, const float *x, int8_t *L) {
    MGW__NO_FMA
    float max = 0, amax = 0, iscale, sumlx, suml2, scale = 0, best = 0;
    int i, is;
    for (i = 0; i < n; i++) if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }
    if (amax < 1e-15f) { memset(L, 0, (size_t)n); return 0.0f; }
    for (is = 0; is <= 19; is++) {
        int k = is == 0 ? 0 : is <= 9 ? is - 10 : is - 9;     /* 0 first, then -9..-1, 1..9 */
        iscale = k == 0 ? (float)-nmax / max : -((float)nmax + 0.1f * (float)k) / max;
        sumlx = suml2 = 0;
        for (i = 0; i < n; i++) {
            int l = mgw__clampi(mgw__nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (k == 0 || (suml2 > 0 && sumlx * sumlx > best * suml2)) {
            for (i = 0; i < n; i++) L[i] = (int8_t)(nmax + mgw__clampi(mgw__nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = k == 0 ? (suml2 != 0.0f ? sumlx / suml2 : 0.0f) : sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Q6_K: per sub-block of 16, make_qx (32 levels each side); the 16 scales become int8 against the largest
   (d = -max_scale/128), then the weights are requantized with the stored scales. */
static void mgw__quantize_q6_k(const float *x, mgw__q6_k *y, int64_t n) {
    MGW__NO_FMA
    int8_t L[256];
    float scales[16];
    int64_t i;
    int j, l;
    for (i = 0; i < n / 256; i++, x += 256, y++) {
        float max_scale = 0, max_abs = 0, iscale, d;
        for (j = 0; j < 16; j++) {
            scales[j] = mgw__make_qx(16, 32, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > max_abs) { max_abs = fabsf(scales[j]); max_scale = scales[j]; }
        }
        if (max_abs < 1e-15f) { memset(y, 0, sizeof *y); continue; }
        iscale = -128.0f / max_scale;
        y->d = mg_f32_to_f16(1 / iscale);
        for (j = 0; j < 16; j++) {
            int v = mgw__nearest_int(iscale * scales[j]);
            y->scales[j] = (int8_t)(v < 127 ? v : 127);
        }
        d = mg_f16_to_f32(y->d);
        for (j = 0; j < 16; j++) {
            float dj = d * (float)y->scales[j];
            if (dj == 0.0f) continue;                      /* keeps the make_qx levels */
            for (l = 0; l < 16; l++) L[16 * j + l] = (int8_t)(32 + mgw__clampi(mgw__nearest_int(x[16 * j + l] / dj), -32, 31));
        }
        for (j = 0; j < 2; j++) {
            const int8_t *q = L + 128 * j;
            uint8_t *ql = y->ql + 64 * j, *qh = y->qh + 32 * j;
            for (l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((q[l] & 0xF) | (q[l + 64] & 0xF) << 4);
                ql[l + 32] = (uint8_t)((q[l + 32] & 0xF) | (q[l + 96] & 0xF) << 4);
                qh[l] = (uint8_t)((q[l] >> 4) | (q[l + 32] >> 4) << 2 | (q[l + 64] >> 4) << 4 | (q[l + 96] >> 4) << 6);
            }
        }
    }
}

/* ggml's best_index_int8: the index of the grid value nearest to x (grid increasing; ties to the upper one
   only when strictly nearer). */
static int mgw__best_index(const int8_t *val, int n, float x) {
    int ml = 0, mu = n - 1;
    if (x <= val[0]) return 0;
    if (x >= val[n - 1]) return n - 1;
    while (mu - ml > 1) {
        int mid = (ml + mu) / 2;
        if (x < val[mid]) mu = mid; else ml = mid;
    }
    return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

/* Q4_0: d = max / -8 (max: the first value of the largest magnitude), q = min(15, trunc(x / d + 8.5)). */
static void mgw__quantize_q4_0(const float *x, mgw__q4_0 *y, int64_t n) {
    MGW__NO_FMA
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++, x += 32, y++) {
        float amax = 0, max = 0, d, id;
        for (j = 0; j < 32; j++) if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        d = max / -8;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y->d = mg_f32_to_f16(d);
        for (j = 0; j < 16; j++) {
            int a = (int)(x[j] * id + 8.5f), b = (int)(x[j + 16] * id + 8.5f);
            y->qs[j] = (uint8_t)((a < 15 ? a : 15) | (b < 15 ? b : 15) << 4);
        }
    }
}
/* Q4_1: d = (max - min) / 15, m = min, q = min(15, trunc((x - min) / d + 0.5)). */
static void mgw__quantize_q4_1(const float *x, mgw__q4_1 *y, int64_t n) {
    MGW__NO_FMA
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++, x += 32, y++) {
        float min = FLT_MAX, max = -FLT_MAX, d, id;
        for (j = 0; j < 32; j++) { if (x[j] < min) min = x[j]; if (x[j] > max) max = x[j]; }
        d = (max - min) / 15;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y->d = mg_f32_to_f16(d);
        y->m = mg_f32_to_f16(min);
        for (j = 0; j < 16; j++) {
            int a = (int)((x[j] - min) * id + 0.5f), b = (int)((x[j + 16] - min) * id + 0.5f);
            y->qs[j] = (uint8_t)((a < 15 ? a : 15) | (b < 15 ? b : 15) << 4);
        }
    }
}

/* Q2_K: per sub-block of 16, make_qkx2 on the absolute error (3 levels, weights |x|); 4-bit scales and mins
   against their maxima (d = max_scale/15, dmin = max_min/15), then the weights requantized with the stored
   values. */
static void mgw__quantize_q2_k(const float *x, mgw__q2_k *y, int64_t n) {
    MGW__NO_FMA
    uint8_t L[256], Laux[16];
    float w[16], mins[16], scales[16];
    int64_t i;
    int j, l;
    for (i = 0; i < n / 256; i++, x += 256, y++) {
        float max_scale = 0, max_min = 0, d, dmin;
        for (j = 0; j < 16; j++) {
            for (l = 0; l < 16; l++) w[l] = fabsf(x[16 * j + l]);
            scales[j] = mgw__make_qkx2(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 1);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        memset(y->scales, 0, 16);
        y->d = mg_f32_to_f16(max_scale > 0 ? max_scale / 15 : 0.0f);
        y->dmin = mg_f32_to_f16(max_min > 0 ? max_min / 15 : 0.0f);
        if (max_scale > 0) for (j = 0; j < 16; j++) y->scales[j] = (uint8_t)mgw__nearest_int(15 / max_scale * scales[j]);
        if (max_min > 0) for (j = 0; j < 16; j++) y->scales[j] |= (uint8_t)(mgw__nearest_int(15 / max_min * mins[j]) << 4);
        d = mg_f16_to_f32(y->d);
        dmin = mg_f16_to_f32(y->dmin);
        for (j = 0; j < 16; j++) {
            float dj = d * (float)(y->scales[j] & 15), mj;
            if (dj == 0.0f) continue;                      /* keeps the make_qkx2 levels */
            mj = dmin * (float)(y->scales[j] >> 4);
            for (l = 0; l < 16; l++) L[16 * j + l] = (uint8_t)mgw__clampi(mgw__nearest_int((x[16 * j + l] + mj) / dj), 0, 3);
        }
        mgw__pack_2bit(L, y->qs);
    }
}

/* ggml's make_q3_quants with do_rmse: L = round(-nmax x / max) in -nmax..nmax-1, then up to 5 sweeps moving single
   values to the level the rest of the fit implies while that raises sumlx^2 / suml2 (weights x^2). Returns the
   least-squares scale; L is stored + nmax (0 everywhere for an all-zero group). */
static float mgw__make_q3(int n, int nmax, const float *x, int8_t *L) {
    MGW__NO_FMA
    float max = 0, amax = 0, iscale, sumlx = 0, suml2 = 0;
    int i, itry;
    for (i = 0; i < n; i++) if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }
    if (amax < 1e-15f) { memset(L, 0, (size_t)n); return 0.0f; }
    iscale = (float)-nmax / max;
    for (i = 0; i < n; i++) {
        int l = mgw__clampi(mgw__nearest_int(iscale * x[i]), -nmax, nmax - 1);
        float w = x[i] * x[i];
        L[i] = (int8_t)l;
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (itry = 0; itry < 5; itry++) {
        int changed = 0;
        for (i = 0; i < n; i++) {
            float w = x[i] * x[i], slx = sumlx - w * x[i] * (float)L[i], sl2;
            int nl;
            if (!(slx > 0)) continue;
            sl2 = suml2 - w * (float)L[i] * (float)L[i];
            nl = mgw__clampi(mgw__nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (nl == L[i]) continue;
            slx += w * x[i] * (float)nl;
            sl2 += w * (float)nl * (float)nl;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) { L[i] = (int8_t)nl; sumlx = slx; suml2 = sl2; changed++; }
        }
        if (!changed) break;
    }
    for (i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}
/* Q3_K: per sub-block of 16, make_q3 (levels -4..3); the 16 scales become 6-bit against the largest magnitude
   (d = -max_scale/32), then the weights are requantized with the stored scales. */
static void mgw__quantize_q3_k(const float *x, mgw__q3_k *y, int64_t n) {
    MGW__NO_FMA
    int8_t L[256];
    float scales[16];
    int64_t i;
    int j, l;
    for (i = 0; i < n / 256; i++, x += 256, y++) {
        float max_scale = 0, amax = 0, d;
        for (j = 0; j < 16; j++) {
            scales[j] = mgw__make_q3(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) { amax = fabsf(scales[j]); max_scale = scales[j]; }
        }
        memset(y->scales, 0, 12);
        if (max_scale != 0.0f) {
            float iscale = -32.0f / max_scale;
            for (j = 0; j < 16; j++) {
                int v = mgw__clampi(mgw__nearest_int(iscale * scales[j]), -32, 31) + 32;
                if (j < 8) y->scales[j] = (uint8_t)(v & 15);
                else y->scales[j - 8] |= (uint8_t)((v & 15) << 4);
                y->scales[8 + j % 4] |= (uint8_t)((v >> 4) << (2 * (j / 4)));
            }
            y->d = mg_f32_to_f16(1 / iscale);
        } else y->d = mg_f32_to_f16(0.0f);
        d = mg_f16_to_f32(y->d);
        for (j = 0; j < 16; j++) {
            int sc = ((j < 8 ? y->scales[j] & 15 : y->scales[j - 8] >> 4) | (y->scales[8 + j % 4] >> (2 * (j / 4)) & 3) << 4) - 32;
            float dj = d * (float)sc;
            if (dj == 0.0f) continue;                      /* keeps the make_q3 levels */
            for (l = 0; l < 16; l++) L[16 * j + l] = (int8_t)(mgw__clampi(mgw__nearest_int(x[16 * j + l] / dj), -4, 3) + 4);
        }
        memset(y->hmask, 0, 32);
        for (j = 0; j < 256; j++)
            if (L[j] > 3) { y->hmask[j % 32] |= (uint8_t)(1 << (j / 32)); L[j] = (int8_t)(L[j] - 4); }
        mgw__pack_2bit((const uint8_t *)L, y->qs);
    }
}

/* IQ4_NL (one 32-weight block) and IQ4_XS (8 sub-blocks): ggml's quantize_row_iq4_nl_impl with ntry 7 and
   weights x^2. Per sub-block: the grid scale from the extreme, L = nearest grid values, the weighted least-squares
   scale, and 15 more trial scales (itry - 127) / max kept when they explain more energy. IQ4_XS then quantizes the
   8 scales to 6 bits (d = -max_scale/32) and re-picks L with the stored scales; IQ4_NL stores its scale as f16 and
   re-picks L with it. */
static void mgw__iq4(const float *x, int nsub, uint16_t *dh, uint8_t *q4, uint16_t *scales_h, uint8_t *scales_l) {
    MGW__NO_FMA
    static const int8_t grid[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };
    uint8_t L[256];
    float scales[8], max_scale = 0, amax_scale = 0;
    int ib, j, itry;
    memset(q4, 0, (size_t)nsub * 16);
    memset(L, 0, sizeof L);
    *dh = mg_f32_to_f16(0.0f);
    for (ib = 0; ib < nsub; ib++) {
        const float *xb = x + 32 * ib;
        float amax = 0, max = 0, d, id, sumqx = 0, sumq2 = 0, best;
        for (j = 0; j < 32; j++) if (fabsf(xb[j]) > amax) { amax = fabsf(xb[j]); max = xb[j]; }
        if (amax < 1e-15f) { scales[ib] = 0; continue; }
        d = -max / grid[0];
        id = 1 / d;
        for (j = 0; j < 32; j++) {
            int l = mgw__best_index(grid, 16, id * xb[j]);
            float q = grid[l], w = xb[j] * xb[j];
            L[32 * ib + j] = (uint8_t)l;
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
        best = d * sumqx;
        for (itry = -7; itry <= 7; itry++) {
            id = (float)(itry + grid[0]) / max;
            sumqx = sumq2 = 0;
            for (j = 0; j < 32; j++) {
                float q = grid[mgw__best_index(grid, 16, id * xb[j])], w = xb[j] * xb[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) { d = sumqx / sumq2; best = d * sumqx; }
        }
        scales[ib] = d;
        if (fabsf(d) > amax_scale) { amax_scale = fabsf(d); max_scale = d; }
    }
    if (nsub > 1) {
        float d = -max_scale / 32, id;
        *dh = mg_f32_to_f16(d);
        id = d != 0.0f ? 1 / d : 0.0f;
        *scales_h = 0;
        for (ib = 0; ib < nsub; ib++) {
            int l = mgw__clampi(mgw__nearest_int(id * scales[ib]), -32, 31);
            float dl = d * (float)l, idl = dl != 0.0f ? 1 / dl : 0.0f;
            for (j = 0; j < 32; j++) L[32 * ib + j] = (uint8_t)mgw__best_index(grid, 16, idl * x[32 * ib + j]);
            l += 32;
            if (ib % 2 == 0) scales_l[ib / 2] = (uint8_t)(l & 15);
            else scales_l[ib / 2] |= (uint8_t)((l & 15) << 4);
            *scales_h = (uint16_t)(*scales_h | (l >> 4) << (2 * ib));
        }
    } else {
        float id = scales[0] != 0.0f ? 1 / scales[0] : 0.0f;
        *dh = mg_f32_to_f16(scales[0]);
        for (j = 0; j < 32; j++) L[j] = (uint8_t)mgw__best_index(grid, 16, id * x[j]);
    }
    for (ib = 0; ib < nsub; ib++)
        for (j = 0; j < 16; j++) q4[16 * ib + j] = (uint8_t)(L[32 * ib + j] | L[32 * ib + 16 + j] << 4);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

MGWDEF mg_result mg_quantize(int type, const float *src, void *dst, int64_t n_rows, int64_t n_per_row) {
    size_t rb = mg_type_row_size(type, n_per_row);
    int64_t r, i;
    if (!src || !dst || n_rows < 0 || n_per_row <= 0 || rb == 0) return MG_ERR_INVALID_ARG;
    for (r = 0; r < n_rows; r++) {
        const float *x = src + r * n_per_row;
        uint8_t *y = (uint8_t *)dst + (size_t)r * rb;
        switch (type) {
        case MG_TYPE_F32:  memcpy(y, x, rb); break;
        case MG_TYPE_F16:  for (i = 0; i < n_per_row; i++) { uint16_t h = mg_f32_to_f16(x[i]); y[2 * i] = (uint8_t)h; y[2 * i + 1] = (uint8_t)(h >> 8); } break;
        case MG_TYPE_BF16: for (i = 0; i < n_per_row; i++) { uint16_t h = mg_f32_to_bf16(x[i]); y[2 * i] = (uint8_t)h; y[2 * i + 1] = (uint8_t)(h >> 8); } break;
        case MG_TYPE_Q8_0: mgw__quantize_q8_0(x, (mgw__q8_0 *)y, n_per_row); break;
        case MG_TYPE_Q4_K: mgw__quantize_q4_k(x, (mgw__q4_k *)y, n_per_row); break;
        case MG_TYPE_Q6_K: mgw__quantize_q6_k(x, (mgw__q6_k *)y, n_per_row); break;
        case MG_TYPE_Q5_K: mgw__quantize_q5_k(x, (mgw__q5_k *)y, n_per_row); break;
        case MG_TYPE_Q3_K: mgw__quantize_q3_k(x, (mgw__q3_k *)y, n_per_row); break;
        case MG_TYPE_Q2_K: mgw__quantize_q2_k(x, (mgw__q2_k *)y, n_per_row); break;
        case MG_TYPE_Q4_0: mgw__quantize_q4_0(x, (mgw__q4_0 *)y, n_per_row); break;
        case MG_TYPE_Q4_1: mgw__quantize_q4_1(x, (mgw__q4_1 *)y, n_per_row); break;
        case MG_TYPE_IQ4_NL:
            for (i = 0; i < n_per_row / 32; i++) { mgw__q4_0 *b = (mgw__q4_0 *)y + i; mgw__iq4(x + 32 * i, 1, &b->d, b->qs, NULL, NULL); }
            break;
        case MG_TYPE_IQ4_XS:
            for (i = 0; i < n_per_row / 256; i++) {
                mgw__iq4_xs *b = (mgw__iq4_xs *)y + i;
                mgw__iq4(x + 256 * i, 8, &b->d, b->qs, &b->scales_h, b->scales_l);
            }
            break;
        default: return MG_ERR_INVALID_ARG;
        }
    }
    return MG_OK;
}

/* ===== >>file types ================================================================================== */
static const struct { const char *name; int ftype, type; } mgw__ftypes[] = {
    { "F16", MG_FTYPE_F16, MG_TYPE_F16 }, { "BF16", MG_FTYPE_BF16, MG_TYPE_BF16 }, { "Q8_0", MG_FTYPE_Q8_0, MG_TYPE_Q8_0 },
    { "Q4_0", MG_FTYPE_Q4_0, MG_TYPE_Q4_0 }, { "Q4_1", MG_FTYPE_Q4_1, MG_TYPE_Q4_1 }, { "Q2_K", MG_FTYPE_Q2_K, MG_TYPE_Q2_K },
    { "Q3_K_S", MG_FTYPE_Q3_K_S, MG_TYPE_Q3_K }, { "Q3_K_M", MG_FTYPE_Q3_K_M, MG_TYPE_Q3_K }, { "Q3_K_L", MG_FTYPE_Q3_K_L, MG_TYPE_Q3_K },
    { "Q4_K_S", MG_FTYPE_Q4_K_S, MG_TYPE_Q4_K }, { "Q4_K_M", MG_FTYPE_Q4_K_M, MG_TYPE_Q4_K }, { "Q5_K_S", MG_FTYPE_Q5_K_S, MG_TYPE_Q5_K },
    { "Q5_K_M", MG_FTYPE_Q5_K_M, MG_TYPE_Q5_K }, { "Q6_K", MG_FTYPE_Q6_K, MG_TYPE_Q6_K }, { "IQ4_NL", MG_FTYPE_IQ4_NL, MG_TYPE_IQ4_NL },
    { "IQ4_XS", MG_FTYPE_IQ4_XS, MG_TYPE_IQ4_XS } };
#define MGW__NFTYPES (int)(sizeof mgw__ftypes / sizeof mgw__ftypes[0])

MGWDEF int mg_ftype_from_name(const char *name) {
    int i, k;
    for (i = 0; name && i < MGW__NFTYPES; i++) {
        const char *a = mgw__ftypes[i].name;
        for (k = 0; a[k] && (name[k] == a[k] || name[k] == a[k] - 'A' + 'a'); k++) {}
        if (!a[k] && !name[k]) return mgw__ftypes[i].ftype;
    }
    return -1;
}
/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between */
static int mgw__more_bits(int il, int n) { return il < n / 8 || il >= 7 * n / 8 || (il - n / 8) % 3 == 2; }

MGWDEF int mg_ftype_tensor_type(int ftype, const char *role, int il, int n_layer, int n_gqa) {
    int i, base = -1;
    for (i = 0; i < MGW__NFTYPES; i++) if (mgw__ftypes[i].ftype == ftype) base = mgw__ftypes[i].type;
    if (base < 0 || !role) return -1;
    if (base == MG_TYPE_F16 || base == MG_TYPE_BF16) return base;   /* not quantized: no mix */
    if (!strcmp(role, "token_embd")) return base == MG_TYPE_Q8_0 ? MG_TYPE_Q8_0 : MG_TYPE_Q6_K;
    if (!strcmp(role, "attn_q") || !strcmp(role, "attn_k") || !strcmp(role, "ffn_gate") || !strcmp(role, "ffn_up")) return base;
    if (!strcmp(role, "attn_v")) {
        switch (ftype) {
        case MG_FTYPE_Q2_K: return n_gqa >= 4 ? MG_TYPE_Q4_K : MG_TYPE_Q3_K;
        case MG_FTYPE_Q3_K_M: return il < 2 ? MG_TYPE_Q5_K : MG_TYPE_Q4_K;
        case MG_FTYPE_Q3_K_L: return MG_TYPE_Q5_K;
        case MG_FTYPE_IQ4_NL: case MG_FTYPE_IQ4_XS: return n_gqa >= 4 ? MG_TYPE_Q5_K : base;
        case MG_FTYPE_Q4_K_M: case MG_FTYPE_Q5_K_M: return mgw__more_bits(il, n_layer) ? MG_TYPE_Q6_K : base;
        case MG_FTYPE_Q4_K_S: return il < 4 ? MG_TYPE_Q5_K : base;
        default: return base;
        }
    }
    if (!strcmp(role, "ffn_down")) {
        switch (ftype) {
        case MG_FTYPE_Q2_K: return MG_TYPE_Q3_K;
        case MG_FTYPE_Q3_K_M: return il < n_layer / 16 ? MG_TYPE_Q5_K : MG_TYPE_Q4_K;
        case MG_FTYPE_Q3_K_L: return MG_TYPE_Q5_K;
        case MG_FTYPE_Q4_K_M: case MG_FTYPE_Q5_K_M: return mgw__more_bits(il, n_layer) ? MG_TYPE_Q6_K : base;
        case MG_FTYPE_IQ4_NL: case MG_FTYPE_IQ4_XS: case MG_FTYPE_Q4_K_S: return il < n_layer / 8 ? MG_TYPE_Q5_K : base;
        default: return base;
        }
    }
    if (!strcmp(role, "attn_output")) {
        switch (ftype) {
        case MG_FTYPE_Q2_K: return MG_TYPE_Q3_K;
        case MG_FTYPE_Q3_K_M: return MG_TYPE_Q4_K;
        case MG_FTYPE_Q3_K_L: return MG_TYPE_Q5_K;
        default: return base;
        }
    }
    return -1;
}

#endif /* MG_GGUF_WRITE_IMPLEMENTATION_DONE */
#endif /* MG_GGUF_WRITE_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the medgemma.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication in perpetuity for the benefit of the public at
large and to the detriment of our heirs and successors. We intend this
dedication to be an overt act of relinquishment in perpetuity of all present
and future rights to this software under copyright law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
