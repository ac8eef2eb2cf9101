/* medgemma.h — MedGemma 1.5 4B (Gemma 3 decoder + SigLIP vision) on a CPU, in one C99 header.
   v0.2.0 · public domain or MIT, your choice (see the end of this file)

   WHAT IT IS
     The whole inference runtime for Google's MedGemma 1.5 4B: a GGUF reader (llama.cpp's files, Ollama's single
     file), weights of every type the published files use (F32, F16, BF16, Q8_0, Q4_0, Q4_1, IQ4_NL, Q2_K,
     Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS), the Gemma 3 SentencePiece tokenizer, the SigLIP vision tower and Gemma 3
     projector (an image becomes 256 embeddings), the Gemma 3 text decoder with its sliding-window KV cache, a
     sampler and the Gemma 3 chat template; snapshots of a session (prefill a shared prefix once, branch per
     question) and a cache of image embeddings. Nothing but libc and pthreads.
     Every step of the forward pass is a plain function written like the math it computes (>>SigLIP,
     >>projector, >>Gemma 3); the fast kernels sit behind one seam (>>kernels) and MG_REFERENCE runs the model
     without them.

   HOW TO BUILD
     In exactly one C file:
         #define MEDGEMMA_IMPLEMENTATION
         #include "medgemma.h"
     everywhere else just #include "medgemma.h". Link with -lm -lpthread. Compile with optimisation and
     the native instruction set (-O2 -march=native, on arm64 -mcpu=native) for speed; the scalar path is always
     there. Platforms: Linux, macOS, the BSDs, Windows with mingw-w64 (winpthreads); C99 or C++. MSVC builds
     single-threaded: there is no Win32 thread shim, so MG_NO_THREADS is implied unless a pthreads port is on the
     include path (its /arch:AVX2 gets the AVX2 kernels). 32-bit POSIX builds want -D_FILE_OFFSET_BITS=64 to open
     files past 2 GiB; a file larger than the address space is refused by size. Big-endian hosts: see below.
     SIMD kernels give the scalar reference's bits when the compiler fuses no multiply-adds on its own: ISO
     mode (-std=c99/c11, as the Makefile) or -ffp-contract=off; GCC's GNU modes (its default) fuse them.

   OPTIONS (define before the implementation include)
     MEDGEMMA_STATIC      all functions static (two copies never clash at link time)
     MG_MALLOC/MG_REALLOC/MG_FREE   allocator hooks (define all three or none)
     MG_ASSERT(x)         internal invariant check (default: nothing; never used on caller or file data)
     MG_NO_SIMD           scalar kernels only (>>kernels: scalar)
     MG_REFERENCE         the plain model path only: scalar kernels, attention and vision products as written
     MG_NO_THREADS        single-threaded, no pthreads (implied on MSVC without a pthreads port)
     MG_NO_STDIO          no file loading (memory buffers only)
     MG_NO_MMAP           read files into memory instead of mapping them
     MG_USE_BLAS          F32 matrix products of 8+ rows through cblas_sgemm (link OpenBLAS; make BLAS=1)
     MG_EXACT_GELU        GELU in float throughout (default: f16-rounded like ggml, see mg__gelu_table)
     MG_MAX_*             the limits on hostile input (>>limits), each overridable (MG_MAX_DIMS is structural)

   THE API IN TEN LINES
     mg_model *m; mg_session *s; mg_error e;
     if (mg_model_load_file(&m, "medgemma-1.5-4b-it-Q4_K_M.gguf", NULL, &e)) { puts(e.message); return 1; }
     if (mg_session_new(&s, m, NULL, &e)) { puts(e.message); return 1; }
     mg_chat_item item = { "What is pneumonia?", NULL };
     mg_chat_turn turn = { "user", &item, 1 };
     mg_prompt p; mg_chat_build(m, "You are a helpful medical assistant.", &turn, 1, 1, &p, &e);
     if (mg_eval_prompt(s, &p)) { puts(mg_session_error(s)); return 1; }
     mg_generate_options g = {0}; g.max_tokens = 500; g.on_text = print_fn;   // greedy by default
     if (mg_generate(s, &g, NULL)) { puts(mg_session_error(s)); return 1; }
     mg_prompt_free(&p); mg_session_free(s); mg_model_free(m);

   THREAD SAFETY
     A loaded mg_model is read-only: any number of sessions on any threads may share it. A session is used
     by one thread at a time. No function touches global mutable state.

   WHAT IT DOES NOT DO
     GPUs; training; big-endian hosts (GGUF tensors are little-endian and used in place: mg_gguf_open_mem refuses
     them); model architectures other than Gemma 3 / SigLIP; tensor types other than those above
     (the loader names the type it met); image file decoding (the examples carry readers for PNG, JPEG,
     PNM, BMP, DICOM and NIfTI — the runtime takes pixels).

   CONTENTS (grep ">>name": the API first, then the implementation in pipeline order)
     >>results >>limits >>types >>gguf view >>tokenizer >>images >>chat prompts >>sessions >>sampling and generation
                            the public declarations
     >>options and feature detection   headers, the instruction sets targeted (MG__AVX2 ...), allocator hooks,
                                       fallbacks for keys a file may omit, GGUF key names
     >>errors and allocation           result strings, build info, mg_error, checked allocation
     >>byte cursor                     bounded little-endian reads
     >>hashing                         SHA-256 (fingerprints, cache keys), the snapshot checksum
     >>GGUF reader                     header, metadata, tensor table, typed keys with defaults and ranges
     >>quant formats                   f16/bf16, the blocks of every weight type and of the activations (Q8_K, Q8_1)
                                       with bit layouts, reference dequantizers
     >>kernels                         the seam: what the model path asks of the kernels
     >>kernels: scalar                 the reference of every seam entry
     >>kernels: x86                    AVX2, AVX-512 (VNNI, BF16) versions
     >>kernels: ARM                    AArch64 NEON (DOTPROD, I8MM, BF16) versions
     >>kernels: seam                   one function per entry choosing the build's kernel
     >>thread pool                     persistent workers, row splits that keep results thread-count invariant,
                                       the default thread count (affinity, cgroup quota)
     >>ops                             taps, RMSNorm, LayerNorm, GELU, RoPE, weights from a file, the parallel
                                       matrix products of both towers
     >>tokenizer                       SentencePiece BPE with byte fallback, special tokens
     >>image preprocessing             pad to square + Pillow-exact resize (MedGemma), letterbox (llama.cpp)
     >>SigLIP                          tower structs, loading, attention (plain and blocked), block, encoder
     >>projector                       average pool, soft-embedding norm, projection to the text width
     >>Gemma 3                         structs, loading (files: POSIX, Win32, stdio), session and KV cache,
                                       attention (plain and blocked),
                                       decoder layer, forward, prompt feeding
     >>snapshots                       session state to memory or file, validated on the way back
     >>sampler                         greedy, temperature, top-k, top-p, min-p, repetition penalty
     >>chat prompts                    Gemma 3 template, image blocks, thinking split
     >>public API                      images (preprocess, embedding cache, encode), tokens, generation
*/
#ifndef MEDGEMMA_H
#define MEDGEMMA_H

#include <stddef.h>
#include <stdint.h>

#define MEDGEMMA_VERSION_MAJOR 0
#define MEDGEMMA_VERSION_MINOR 2
#define MEDGEMMA_VERSION_PATCH 0

#ifndef MGDEF
#if defined(MEDGEMMA_STATIC) && defined(__GNUC__)
#define MGDEF static __attribute__((unused))   /* a unit that calls only some functions gets no warning */
#elif defined(MEDGEMMA_STATIC)
#define MGDEF static
#else
#define MGDEF extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ===== >>results ===================================================================================== */
typedef enum mg_result {
    MG_OK = 0,
    MG_ERR_INVALID_ARG,     /* a NULL or out-of-range argument */
    MG_ERR_IO,              /* a file could not be opened, read or mapped */
    MG_ERR_NOMEM,           /* an allocation failed */
    MG_ERR_FORMAT,          /* the GGUF (or snapshot) bytes are malformed */
    MG_ERR_UNSUPPORTED,     /* well-formed, but a version, type or architecture this runtime does not run */
    MG_ERR_MODEL,           /* a tensor is missing or its shape/type disagrees with the model config */
    MG_ERR_LIMIT,           /* a documented MG_MAX_* limit was exceeded */
    MG_ERR_BUFFER,          /* the caller's output buffer is too small (the needed size is reported) */
    MG_ERR_CONTEXT_FULL,    /* the prompt or generation does not fit the session's n_ctx */
    MG_ERR_NO_VISION,       /* an image was given but the model has no vision tower */
    MG_ERR_CANCELLED,       /* a progress callback asked to stop */
    MG_ERR_THREAD,          /* a thread could not be created */
    MG_ERR_STATE,           /* the call does not fit the object's state (e.g. logits before any eval) */
    MG_ERR_NUMERIC          /* a layer or the image encoder produced NaN or Inf (the message names which) */
} mg_result;

/* How this copy was built: kernel path and options, e.g. "avx2+fma+f16c threads" or "scalar blas". */
MGDEF const char *mg_build_info(void);

/* A short fixed description of a result code ("MG_ERR_MODEL: tensor missing or of the wrong shape"). */
MGDEF const char *mg_result_str(mg_result r);

/* Detail of a failure: the code and a readable message naming the key, tensor, offset, option or limit at fault
   (with the limit's value and the size met). Calls on a model take an optional mg_error * (NULL: none); calls on a
   session leave their message in mg_session_error. */
typedef struct mg_error {
    mg_result code;
    char message[256];
} mg_error;

/* ===== >>limits ====================================================================================== */
#ifndef MG_MAX_TENSORS
#define MG_MAX_TENSORS        65536        /* tensor infos in one GGUF */
#endif
#ifndef MG_MAX_KV
#define MG_MAX_KV             65536        /* metadata pairs in one GGUF */
#endif
#ifndef MG_MAX_STRING
#define MG_MAX_STRING         (1u << 20)   /* bytes in one GGUF string (keys, names, values) */
#endif
#ifndef MG_MAX_ARRAY
#define MG_MAX_ARRAY          (1u << 24)   /* elements in one GGUF array */
#endif
#define MG_MAX_DIMS           4            /* tensor dimensions */
#ifndef MG_MAX_VOCAB
#define MG_MAX_VOCAB          (1 << 20)    /* tokens in a vocabulary */
#endif
#ifndef MG_MAX_LAYERS
#define MG_MAX_LAYERS         256          /* decoder or encoder blocks */
#endif
#ifndef MG_MAX_CTX
#define MG_MAX_CTX            (1 << 20)    /* session context length, tokens */
#endif
#ifndef MG_MAX_PROMPT_TOKENS
#define MG_MAX_PROMPT_TOKENS  (1 << 20)    /* tokens one tokenize call may produce */
#endif
#ifndef MG_MAX_IMAGE_PIXELS
#define MG_MAX_IMAGE_PIXELS   (1u << 28)   /* pixels of an input image (w*h) */
#endif

/* ===== >>types ======================================================================================= */
typedef struct mg_model   mg_model;     /* weights + vocabulary: read-only, shared */
typedef struct mg_session mg_session;   /* KV cache, scratch, RNG, thread pool: one user at a time */

/* GGML tensor type codes as stored in GGUF files (only these run; others are named in errors). */
enum { MG_TYPE_F32 = 0, MG_TYPE_F16 = 1, MG_TYPE_Q4_0 = 2, MG_TYPE_Q4_1 = 3, MG_TYPE_Q8_0 = 8, MG_TYPE_Q8_1 = 9,
       MG_TYPE_Q2_K = 10, MG_TYPE_Q3_K = 11, MG_TYPE_Q4_K = 12, MG_TYPE_Q5_K = 13, MG_TYPE_Q6_K = 14,
       MG_TYPE_Q8_K = 15, MG_TYPE_IQ4_NL = 20, MG_TYPE_IQ4_XS = 23, MG_TYPE_BF16 = 30 };

typedef struct mg_model_options {
    const char *mmproj_path;     /* llama.cpp vision file ("mmproj-*.gguf"); NULL: none or inside the model */
    const void *mmproj_data;     /* ... or the same from memory (kept by reference, must outlive the model) */
    size_t      mmproj_size;
    int         no_mmap;         /* 1: read the file into allocated memory instead of mapping it (faster decode:
                                    on Linux without allocation hooks the buffer gets transparent huge pages) */
    int         vocab_only;      /* 1: load only the tokenizer (a vocab-only GGUF always loads this way) */
} mg_model_options;

typedef struct mg_model_info {
    const char *arch;            /* general.architecture */
    const char *name;            /* general.name, or "" */
    int n_vocab;                 /* rows of token_embd (= tokens in the vocabulary) */
    int n_layer, n_embd, n_ff;   /* decoder blocks, model width, GeGLU width */
    int n_head, n_head_kv, head_dim;
    int n_ctx_train;             /* context length the model was trained for */
    int sliding_window;          /* window of the local layers, tokens */
    int swa_period;              /* layer i is global iff (i+1) % swa_period == 0 */
    int has_weights;             /* 0 for a vocab-only load */
    int has_vision;              /* a SigLIP tower and projector are loaded */
    int image_tokens;            /* tokens per image (256), 0 without vision */
    size_t weight_bytes;         /* bytes of tensor data used by the decoder */
    uint8_t fingerprint[32];     /* identity of the text file: SHA-256 over its header and 3 x 64 bytes of each
                                    tensor (what snapshots and the embedding cache check; not the file's SHA-256) */
    uint8_t vision_fingerprint[32]; /* the same for the vision file, zero without vision */
} mg_model_info;

/* Loading. The memory variant keeps `data` by reference: it must outlive the model. */
MGDEF mg_result mg_model_load_mem(mg_model **out, const void *data, size_t size,
                                  const mg_model_options *opt, mg_error *err);
#ifndef MG_NO_STDIO
MGDEF mg_result mg_model_load_file(mg_model **out, const char *path,
                                   const mg_model_options *opt, mg_error *err);
#endif
MGDEF void      mg_model_free(mg_model *m);
MGDEF void      mg_model_get_info(const mg_model *m, mg_model_info *info);

/* ===== >>gguf view (for tools: inspect, audits) ====================================================== */
typedef struct mg_gguf mg_gguf;
typedef struct mg_tensor_info {
    const char *name;
    int         type;            /* MG_TYPE_* or another ggml code */
    int         n_dims;
    int64_t     ne[4];           /* ggml order: ne[0] contiguous */
    uint64_t    offset;          /* from the start of the data section */
    uint64_t    nbytes;
} mg_tensor_info;
/* Metadata value types (GGUF): */
enum { MG_GGUF_U8, MG_GGUF_I8, MG_GGUF_U16, MG_GGUF_I16, MG_GGUF_U32, MG_GGUF_I32, MG_GGUF_F32, MG_GGUF_BOOL,
       MG_GGUF_STRING, MG_GGUF_ARRAY, MG_GGUF_U64, MG_GGUF_I64, MG_GGUF_F64 };

/* Every load goes through here; a big-endian host gets MG_ERR_UNSUPPORTED (tensor data is read in place). */
MGDEF mg_result   mg_gguf_open_mem(mg_gguf **out, const void *data, size_t size, mg_error *err);
MGDEF void        mg_gguf_close(mg_gguf *g);
MGDEF const mg_gguf *mg_model_gguf(const mg_model *m);          /* the text model's file */
MGDEF const mg_gguf *mg_model_gguf_vision(const mg_model *m);   /* the mmproj file, or NULL */
MGDEF int         mg_gguf_version(const mg_gguf *g);
MGDEF int64_t     mg_gguf_kv_count(const mg_gguf *g);
MGDEF const char *mg_gguf_kv_key(const mg_gguf *g, int64_t i);
MGDEF int         mg_gguf_kv_type(const mg_gguf *g, int64_t i, int *array_type, uint64_t *array_n);
MGDEF int64_t     mg_gguf_find_key(const mg_gguf *g, const char *key);   /* -1 when absent */
/* Writes the value as text ("3", "1e-06", "\"gemma3\"", "[262208 x string]" or the first items). */
MGDEF size_t      mg_gguf_kv_format(const mg_gguf *g, int64_t i, char *buf, size_t cap, int max_items);
MGDEF int64_t     mg_gguf_tensor_count(const mg_gguf *g);
MGDEF void        mg_gguf_tensor(const mg_gguf *g, int64_t i, mg_tensor_info *info);
MGDEF const void *mg_gguf_tensor_data(const mg_gguf *g, int64_t i);
MGDEF uint64_t    mg_gguf_data_offset(const mg_gguf *g);
MGDEF const char *mg_type_name(int type);                        /* "Q4_K", or "type#N" */
/* Dequantizes n_rows rows of a tensor, starting at row `row0`, into out (n_rows * ne[0] floats). */
MGDEF mg_result   mg_gguf_dequantize(const mg_gguf *g, int64_t i, int64_t row0, int64_t n_rows, float *out, mg_error *err);

/* Bytes of a row of n elements of a ggml type; 0 for unknown types or n not a multiple of the block. */
MGDEF size_t      mg_type_row_size(int type, int64_t n);
/* The value bytes of metadata pair i as the file stores them after its type (arrays: the elements, after the
   element type and count; strings: u64 length and bytes), or NULL; *size = their count. */
MGDEF const void *mg_gguf_kv_data(const mg_gguf *g, int64_t i, size_t *size);
/* Exact conversions (round to nearest even) between float and the half / bfloat16 bits the files store. */
MGDEF float       mg_f16_to_f32(uint16_t h);
MGDEF uint16_t    mg_f32_to_f16(float f);
MGDEF float       mg_bf16_to_f32(uint16_t b);
MGDEF uint16_t    mg_f32_to_bf16(float f);
/* Writing GGUF files and ggml's reference quantizers live in the companion header tools/gguf_write.h. */

/* ===== >>tokenizer =================================================================================== */
#define MG_TOKENIZE_BOS      1u   /* prepend <bos> when the vocabulary asks for it (tokenizer.ggml.add_bos_token) */
#define MG_TOKENIZE_SPECIAL  2u   /* match CONTROL tokens (<start_of_turn> ...) written in the text */
#define MG_DETOK_SPECIAL     1u   /* render CONTROL tokens as their text (default: nothing) */

/* Tokenizes len bytes of UTF-8 (or any bytes: byte fallback covers them). Writes up to cap ids; *n_ids is the
   count needed. MG_ERR_BUFFER when cap is too small (call again with *n_ids). ids may be NULL when cap is 0. */
MGDEF mg_result mg_tokenize(const mg_model *m, const char *text, size_t len, unsigned flags,
                            int32_t *ids, int cap, int *n_ids, mg_error *err);
/* Text of a token sequence: ▁ becomes a space, byte tokens are reassembled. *len is the length needed
   (the output is NUL-terminated when it fits). */
MGDEF mg_result mg_detokenize(const mg_model *m, const int32_t *ids, int n, unsigned flags,
                              char *buf, size_t cap, size_t *len, mg_error *err);
MGDEF int32_t   mg_token_lookup(const mg_model *m, const char *text);         /* id, or -1 */
MGDEF const char *mg_token_text(const mg_model *m, int32_t id, size_t *len);   /* raw piece, not NUL-terminated */
MGDEF int       mg_token_is_eog(const mg_model *m, int32_t id);                /* <eos>, <end_of_turn>, ... */
MGDEF int32_t   mg_token_bos(const mg_model *m);

/* ===== >>images ====================================================================================== */
/* A projected image: n_tokens x n_embd floats, token-major, ready for the decoder. */
typedef struct mg_image_embd {
    int    n_tokens;             /* 256 */
    int    n_embd;               /* text model width */
    float *data;                 /* n_tokens * n_embd */
} mg_image_embd;

/* 8-bit pixels, row-major from the top row: 1 = grey, 2 = grey+alpha, 3 = RGB, 4 = RGBA. */
typedef struct mg_image {
    int            w, h;
    int            channels;
    const uint8_t *pixels;       /* w * h * channels bytes */
} mg_image;
enum { MG_IMAGE_MEDGEMMA = 0,    /* pad to a centered black square, Pillow-exact antialiased bilinear (default) */
       MG_IMAGE_LLAMACPP = 1 };  /* llama.cpp's letterbox + corner bilinear, for comparisons and audits */

/* The model's input image: side x side RGB bytes (side = 896) written to out, or only *side when out is NULL. */
MGDEF mg_result mg_image_preprocess(const mg_model *m, const mg_image *img, int mode, uint8_t *out, int *side,
                                    mg_error *err);
/* Encodes n images (SigLIP + projector) into out[0..n-1] (each allocated; free with mg_image_embd_free).
   The session's progress callback is called after each image (done, n) and may cancel. Encode once, reuse the
   embeddings in as many prompts as needed. */
MGDEF mg_result mg_encode_images(mg_session *s, const mg_image *imgs, int n, int mode, mg_image_embd *out);
MGDEF mg_result mg_encode_image(mg_session *s, const mg_image *img, int mode, mg_image_embd *out);
MGDEF void      mg_image_embd_free(mg_image_embd *e);

/* A process-wide cache of image embeddings keyed by SHA-256 of (vision file fingerprint, preprocessed pixels, bf16
   or float products): the same slice or patch is encoded once, whichever session asks. Thread-safe; any number of
   sessions (mg_session_options.embd_cache) may share one. Least recently used entries go beyond max_bytes. */
typedef struct mg_embd_cache mg_embd_cache;
typedef struct mg_embd_cache_stats {
    uint64_t hits, misses;       /* lookups answered / encodes done */
    int      entries;
    size_t   bytes;              /* embedding bytes held */
} mg_embd_cache_stats;
MGDEF mg_result mg_embd_cache_new(mg_embd_cache **out, size_t max_bytes /* 0: no limit */, mg_error *err);
MGDEF void      mg_embd_cache_free(mg_embd_cache *c);
MGDEF void      mg_embd_cache_stats_get(mg_embd_cache *c, mg_embd_cache_stats *st);
/* SHA-256 of n bytes (the cache's hash; exposed for callers keying their own stores). */
MGDEF void      mg_sha256(const void *data, size_t n, uint8_t out[32]);

/* ===== >>chat prompts ================================================================================ */
/* One item of a turn: text, or an image (its embeddings, or NULL to leave a placeholder to fill later). */
typedef struct mg_chat_item {
    const char          *text;   /* UTF-8; trimmed; tokenized WITHOUT special-token parsing */
    const mg_image_embd *image;  /* used when text is NULL */
} mg_chat_item;
typedef struct mg_chat_turn {
    const char         *role;    /* "user" or "model" */
    const mg_chat_item *items;
    int                 n_items;
} mg_chat_turn;
/* A token sequence in which each run of image_tokens <image_soft_token> ids takes the next image. */
typedef struct mg_prompt {
    int32_t              *ids;
    int                   n_ids;
    const mg_image_embd **images;   /* n_images pointers (borrowed) */
    int                   n_images;
} mg_prompt;
/* Gemma 3 template: <bos><start_of_turn>user\n{system\n\n}{items}<end_of_turn>\n ... <start_of_turn>model\n.
   An image item becomes \n\n<start_of_image> + image_tokens soft tokens + <end_of_image>\n\n. */
MGDEF mg_result mg_chat_build(const mg_model *m, const char *system, const mg_chat_turn *turns, int n_turns,
                              int add_generation_prompt, mg_prompt *out, mg_error *err);
MGDEF void      mg_prompt_free(mg_prompt *p);
/* Splits generated text at the thinking markers (<unused94> thought <unused95> answer): returns the answer
   start and sets *thought / *thought_len (or NULL / 0 when there is no thought). */
MGDEF const char *mg_split_thinking(const char *text, const char **thought, size_t *thought_len);

/* ===== >>sessions ==================================================================================== */
/* KV cache element types. Q8_0 stores each head's K and V rows as 32-value blocks (int8 + f16 scale, 34 bytes
   per 32 values: 0.53x of F16) and needs head_dim % 32 == 0; q is quantized to Q8_0 for q . k like ggml. */
enum { MG_KV_DEFAULT = 0, MG_KV_F32 = 1, MG_KV_F16 = 2, MG_KV_Q8_0 = 3 };

/* Called with every named intermediate (llama.cpp's names: "attn_norm", "Qcur", "l_out", ...), layer -1 for
   model-level tensors. ne is ggml order (ne[0] contiguous). Data is valid only during the call. */
typedef void (*mg_tap_fn)(void *user, const char *name, int layer, const float *data, const int64_t ne[4]);
/* Progress of a long call: positions of a prompt (mg_eval_prompt: the whole prompt; mg_eval: that call's
   tokens, per chunk) or images encoded. Return nonzero to cancel (MG_ERR_CANCELLED). */
typedef int  (*mg_progress_fn)(void *user, int done, int total);

typedef struct mg_session_options {
    int            n_ctx;        /* 0: the model's training context; memory grows with use, not with n_ctx */
    int            n_threads;    /* 0: mg_cpu_count() */
    int            n_batch;      /* tokens per forward chunk, 0: 512 (an image's tokens are never split) */
    int            kv_type;      /* MG_KV_*, default F16 */
    uint64_t       seed;         /* sampler RNG seed (0: a fixed default) */
    mg_tap_fn      tap;          /* debug taps, NULL: none */
    void          *tap_user;
    mg_progress_fn progress;     /* NULL: none */
    void          *progress_user;
    struct mg_embd_cache *embd_cache; /* image embeddings reused by content (mg_embd_cache_new), NULL: none */
    int            vision_f32;   /* 1: image encoder weight products in float (embeddings within 0.01 of llama.cpp's
                                    F32 ones, 1.5x slower); 0: in bfloat16 on CPUs with bf16 dot products (AVX512-BF16,
                                    ARM BF16), as MedGemma's own bf16 weights and Google's bf16 reference run; float
                                    elsewhere. Attention is bf16 either way. Measured: README "Exactness". */
} mg_session_options;

/* The default thread count: the CPUs this process may run on. Linux: the affinity mask (taskset, cpusets) capped
   by the cgroup CPU quota (containers); macOS: hw.activecpu; Windows: active processors capped by the process
   affinity mask; other POSIX systems: sysconf(_SC_NPROCESSORS_ONLN). 1 where none of these exists (set n_threads
   there) and in MG_NO_THREADS builds; at most 256. */
MGDEF int         mg_cpu_count(void);
MGDEF mg_result   mg_session_new(mg_session **out, const mg_model *m, const mg_session_options *opt, mg_error *err);
MGDEF void        mg_session_free(mg_session *s);
MGDEF void        mg_session_reset(mg_session *s);                 /* forget the context, keep the memory */
MGDEF int         mg_session_pos(const mg_session *s);             /* tokens in the context */
MGDEF const char *mg_session_error(const mg_session *s);           /* detail of the last failure */
MGDEF int         mg_session_vision_bf16(const mg_session *s);     /* 1: its image products are bf16 (vision_f32) */

/* Feeds tokens at the next positions (text tokens: embedding lookup x sqrt(n_embd)). */
MGDEF mg_result   mg_eval(mg_session *s, const int32_t *ids, int n);
/* Feeds raw input embeddings (n x n_embd, not scaled). bidirectional: the n positions attend to each other
   (an image block); else causal. */
MGDEF mg_result   mg_eval_embd(mg_session *s, const float *embd, int n, int bidirectional);
/* Feeds a whole prompt: text runs as tokens, image runs as bidirectional embedding blocks. */
MGDEF mg_result   mg_eval_prompt(mg_session *s, const mg_prompt *p);
/* Logits (n_vocab floats) of the last position fed; NULL before any eval. */
MGDEF const float *mg_logits(const mg_session *s);
/* Feeds positions [from, n_ids) of a prompt (images counted from its start), e.g. after restoring a snapshot
   of its first `from` positions. from must not fall inside an image block. */
MGDEF mg_result   mg_eval_prompt_from(mg_session *s, const mg_prompt *p, int from);
/* Leading positions two prompts share (same ids, same image contents), never ending inside an image block. */
MGDEF int         mg_prompt_common_prefix(const mg_model *m, const mg_prompt *a, const mg_prompt *b);

/* ----- memory -----
   KV bytes = sum over layers of 2 x slots x row, row = n_head_kv x head_dim values of the KV type (F32 4 B,
   F16 2 B, Q8_0 34 B per 32), slots = min(positions, ring) with ring = sliding_window + chunk for local layers
   and n_ctx for global ones. Feeding grows each cache by doubling (up to its ring); mg_session_reserve
   allocates exactly. */
typedef struct mg_memory_estimate {
    size_t kv;                   /* K and V caches */
    size_t scratch;              /* one chunk's activations, logits, sampler work, attention tiles */
    size_t history;              /* token ids of the context */
    size_t total;                /* kv + scratch + history + the session object */
} mg_memory_estimate;
/* What a session made with opt holds after mg_session_reserve(s, n_pos), computed without allocating. */
MGDEF mg_result   mg_session_memory_estimate(const mg_model *m, const mg_session_options *opt, int n_pos,
                                             mg_memory_estimate *out, mg_error *err);
/* Allocates (and touches) the caches for n_pos positions now: fail early, not mid-prompt. */
MGDEF mg_result   mg_session_reserve(mg_session *s, int n_pos);
MGDEF size_t      mg_session_kv_bytes(const mg_session *s);       /* bytes the KV caches hold now */

/* ----- snapshots -----
   A snapshot is a session's state: its positions, the cache rows later tokens can still attend to (every
   position for global layers, the last sliding_window for local ones), the token history, the last logits and
   the sampler RNG. Restore it into any session of the same model and KV type (n_ctx >= its positions), as
   often as needed: prefill a shared prefix once (85 CT slices), then branch per question. The serialised form
   is versioned ("MGSNAPSH", format 1), names the model by fingerprint and carries a checksum; reading
   validates every field like a GGUF. */
typedef struct mg_snapshot mg_snapshot;
MGDEF mg_result   mg_snapshot_take(mg_session *s, mg_snapshot **out);
MGDEF mg_result   mg_snapshot_restore(mg_session *s, const mg_snapshot *snap);
MGDEF void        mg_snapshot_free(mg_snapshot *snap);
MGDEF int         mg_snapshot_pos(const mg_snapshot *snap);
MGDEF size_t      mg_snapshot_size(const mg_snapshot *snap);      /* bytes (in memory = serialised) */
MGDEF const void *mg_snapshot_data(const mg_snapshot *snap);      /* the serialised bytes */
MGDEF mg_result   mg_snapshot_read_mem(mg_snapshot **out, const mg_model *m, const void *data, size_t size,
                                       mg_error *err);            /* copies data */
#ifndef MG_NO_STDIO
MGDEF mg_result   mg_snapshot_save(const mg_snapshot *snap, const char *path, mg_error *err);
MGDEF mg_result   mg_snapshot_load(mg_snapshot **out, const mg_model *m, const char *path, mg_error *err);
#endif

/* ===== >>sampling and generation ===================================================================== */
typedef struct mg_sampler_options {
    float temperature;           /* 0: greedy (argmax, ties to the lowest id) */
    int   top_k;                 /* 0: off */
    float top_p;                 /* 0 or >= 1: off */
    float min_p;                 /* 0: off */
    float repeat_penalty;        /* 0 or 1: off (llama.cpp's rule: logit/p if > 0 else logit*p) */
    int   repeat_last_n;         /* tokens the penalty looks back, 0: 64 */
} mg_sampler_options;

/* Draws the next token from the session's logits with the session's RNG. history: previous tokens for the
   repetition penalty (may be NULL). */
MGDEF int32_t mg_sample(mg_session *s, const mg_sampler_options *opt, const int32_t *history, int n_history);
MGDEF void    mg_session_seed(mg_session *s, uint64_t seed);

enum { MG_CHANNEL_ANSWER = 0, MG_CHANNEL_THOUGHT = 1 };
/* Streaming: complete UTF-8 text of the next token(s); channel tells thought from answer. Nonzero stops. */
typedef int (*mg_text_fn)(void *user, const char *text, size_t len, int channel);

typedef struct mg_generate_options {
    int                max_tokens;   /* 0: until end-of-generation or the context is full */
    mg_sampler_options sampler;      /* zero: greedy */
    mg_text_fn         on_text;      /* NULL: no streaming */
    void              *user;
    int32_t           *out_ids;      /* optional: receives generated ids (up to out_cap) */
    int                out_cap;
    int               *stop_reason;  /* optional: receives why generation stopped (MG_STOP_*) */
    int                lookup;       /* > 0 with greedy sampling: prompt-lookup decoding. After each token, up to this
                                        many tokens that followed the same 1-3 tokens earlier in the context are
                                        checked in one batched pass; the output is exactly plain greedy's, in fewer
                                        passes when the answer copies the prompt (extraction, quoting) */
    int               *n_forward;    /* optional: receives the decoder passes run (n_generated / n_forward tokens per
                                        pass) */
} mg_generate_options;
enum { MG_STOP_EOG = 1,          /* an end-of-generation token (<end_of_turn>, <eos>) */
       MG_STOP_MAX_TOKENS,       /* max_tokens sampled */
       MG_STOP_CONTEXT,          /* the context is full */
       MG_STOP_CALLBACK,         /* on_text returned nonzero */
       MG_STOP_ERROR };          /* a failure (the result code and mg_session_error say which) */

/* Samples, streams and feeds tokens until an end-of-generation token (not fed, not streamed), max_tokens,
   a full context, or on_text returning nonzero. Every other sampled token is fed while the context has
   room, so a later call continues where this one stopped. *n_generated counts the sampled tokens. */
MGDEF mg_result mg_generate(mg_session *s, const mg_generate_options *opt, int *n_generated);

#ifdef __cplusplus
}
#endif
#endif /* MEDGEMMA_H */

/* ======================================================================================================
   IMPLEMENTATION
   ====================================================================================================== */
#ifdef MEDGEMMA_IMPLEMENTATION
#ifndef MEDGEMMA_IMPLEMENTATION_DONE
#define MEDGEMMA_IMPLEMENTATION_DONE

/* ===== >>options and feature detection =============================================================== */
/* Everything the build can choose, in one place: libc and OS headers, the instruction sets the compiler
   targets (MG__AVX2 ... : each kernel section is compiled only where its macro is set), allocator hooks, and
   the documented fallbacks for keys a GGUF file may omit. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>
#include <math.h>
#include <float.h>
#include <errno.h>

#ifdef MG_REFERENCE          /* the plain model path only: no SIMD kernels, no blocked attention */
#ifndef MG_NO_SIMD
#define MG_NO_SIMD
#endif
#endif
#ifdef MG_USE_BLAS
#include <cblas.h>
#endif

/* x86: AVX2 + FMA (the dot products), F16C (half conversions), AVX-512 F/BW/VL (vision tiles, attention,
   activation conversion), AVX512-BF16 (bf16 tiles), AVX512-VNNI (int8 matrix kernels). MSVC's /arch:AVX2 implies
   FMA3 and F16C (every AVX2 CPU has both) but defines only __AVX2__: there the two follow from it. */
#if !defined(MG_NO_SIMD) && (defined(__x86_64__) || defined(__i386__) || defined(_M_X64))
#if defined(__AVX2__) && (defined(__FMA__) || defined(_MSC_VER))
#define MG__AVX2 1
#endif
#if defined(__F16C__) || (defined(_MSC_VER) && defined(__AVX2__))
#define MG__F16C 1
#endif
#if defined(MG__AVX2) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define MG__AVX512 1
#endif
#if defined(MG__AVX512) && defined(__AVX512BF16__)
#define MG__BF16 1
#endif
#if defined(MG__AVX512) && defined(MG__F16C) && defined(__AVX512VNNI__)
#define MG__VNNI 1
#endif
#endif
#if defined(MG__AVX2) || defined(MG__F16C)
#include <immintrin.h>
#endif
/* ARM: AArch64 Advanced SIMD (MG__NEON, every AArch64 core; half conversions included), the int8 dot product
   (__ARM_FEATURE_DOTPROD: sdot), the int8 matrix multiply (__ARM_FEATURE_MATMUL_INT8: smmla) and BF16
   (__ARM_FEATURE_BF16_VECTOR_ARITHMETIC: bfdot, bfcvt). Half-float arithmetic (FP16) is not used: every product
   is formed in float. */
#if !defined(MG_NO_SIMD) && defined(__aarch64__) && defined(__ARM_NEON)
#define MG__NEON 1
#if defined(__ARM_FEATURE_DOTPROD)
#define MG__DOTPROD 1
#endif
#if defined(__ARM_FEATURE_MATMUL_INT8)
#define MG__I8MM 1
#endif
#if defined(__ARM_FEATURE_BF16_VECTOR_ARITHMETIC)
#define MG__ARM_BF16 1
#endif
#include <arm_neon.h>
#endif

#if defined(__GNUC__)
#define MG__INLINE static inline __attribute__((always_inline))   /* vectors stay in registers across helpers */
#define MG__UNROLL _Pragma("GCC unroll 16")                        /* GCC and clang: accumulators stay in registers */
#define MG__KERNEL static __attribute__((noinline))                /* its own symbol: loops countable in the object */
#else
#define MG__INLINE static inline
#define MG__UNROLL
#define MG__KERNEL static
#endif
/* The plain reference implementations and the seam entries are always compiled; a build that routes around one
   (MG_REFERENCE, or a kernel section that has its own) leaves it unused. */
#if defined(__GNUC__)
#define MG__REF static __attribute__((unused))
#else
#define MG__REF static
#endif
#define MG__SEAM MG__REF
/* Products whose bits must match a reference are written without fused multiply-adds: clang (which contracts
   within expressions) gets the standard pragma at the top of such a function. */
#if defined(__clang__)
#define MG__NO_FMA _Pragma("STDC FP_CONTRACT OFF")
#else
#define MG__NO_FMA
#endif

/* Threads are POSIX threads (Windows: mingw-w64's winpthreads). MSVC has no <pthread.h> and this header no Win32
   thread shim: there it builds single-threaded (MG_NO_THREADS) unless a pthreads port is on the include path. */
#if defined(_MSC_VER) && !defined(MG_NO_THREADS)
#if defined(__has_include)
#if !__has_include(<pthread.h>)
#define MG_NO_THREADS
#endif
#else
#define MG_NO_THREADS
#endif
#endif
#if !defined(MG_NO_THREADS)
#include <pthread.h>
#if defined(__GNUC__) || defined(__clang__)
#define MG__SPIN 1            /* the pool's lock-free fast path on the GCC/Clang __atomic builtins */
#endif
#endif
/* The operating system: files (MG__FILES_POSIX or MG__FILES_WIN32, else plain stdio), mapping (MG__MAP) and the
   CPU count (>>thread pool). */
#if defined(__unix__) || defined(__APPLE__)
#define MG__POSIX 1
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#elif defined(_WIN32)
#define MG__WIN32 1
#include <windows.h>
#endif
#if !defined(MG_NO_STDIO) && defined(MG__POSIX)
#define MG__FILES_POSIX 1
#if !defined(MG_NO_MMAP)
#define MG__MAP 1
#include <sys/mman.h>
#endif
#elif !defined(MG_NO_STDIO) && defined(MG__WIN32)
#define MG__FILES_WIN32 1
#if !defined(MG_NO_MMAP)
#define MG__MAP 1
#endif
#endif
/* libc functions some feature-test settings hide, declared here as libc defines them */
#ifdef __cplusplus
#define MG__LIBC extern "C"
#else
#define MG__LIBC
#endif
#if defined(__linux__) && !defined(MG_NO_THREADS)
#include <sched.h>
#if defined(CPU_COUNT)
#define MG__CPU_SET cpu_set_t
#else                         /* <sched.h> declares it only with _GNU_SOURCE; the call is the same without */
#define MG__CPU_SET void
MG__LIBC int sched_getaffinity(pid_t pid, size_t size, void *mask);
#endif
#endif
#if defined(__APPLE__) && !defined(MG_NO_THREADS)
MG__LIBC int sysctlbyname(const char *name, void *old, size_t *oldlen, void *new_value, size_t newlen);   /* <sys/sysctl.h> */
#endif
#if defined(MG_MALLOC) != defined(MG_FREE) || defined(MG_MALLOC) != defined(MG_REALLOC)
#error "define MG_MALLOC, MG_REALLOC and MG_FREE together, or none of them"
#endif
#ifndef MG_MALLOC
#define MG__LIBC_ALLOC 1      /* no hooks: a weight buffer may be aligned for huge pages (mg__weights_alloc) */
#define MG_MALLOC(sz)       malloc(sz)
#define MG_REALLOC(p, sz)   realloc(p, sz)
#define MG_FREE(p)          free(p)
#endif
#ifndef MG_ASSERT
#define MG_ASSERT(x) ((void)0)
#endif

/* Documented fallbacks for keys a file may omit (MedGemma 1.5 4B values, ../docs/MEDGEMMA.md section 1). */
#define MG__DEF_RMS_EPS        1e-6f
#define MG__DEF_ROPE_BASE      1000000.0f
#define MG__DEF_ROPE_BASE_SWA  10000.0f
#define MG__DEF_ROPE_SCALE     8.0f
#define MG__DEF_SWA_PERIOD     6
#define MG__DEF_SLIDING_WINDOW 1024
#define MG__DEF_CTX            131072
#define MG__DEF_BATCH          512

/* GGUF keys (text model; "%s" is general.architecture) and tensor names, in one place for audits. */
#define MG__KEY_ARCH          "general.architecture"
#define MG__KEY_NAME          "general.name"
#define MG__KEY_ALIGN         "general.alignment"
#define MG__KEY_BLOCKS        "%s.block_count"
#define MG__KEY_CTX           "%s.context_length"
#define MG__KEY_EMBD          "%s.embedding_length"
#define MG__KEY_FF            "%s.feed_forward_length"
#define MG__KEY_HEADS         "%s.attention.head_count"
#define MG__KEY_HEADS_KV      "%s.attention.head_count_kv"
#define MG__KEY_KEY_LEN       "%s.attention.key_length"
#define MG__KEY_VAL_LEN       "%s.attention.value_length"
#define MG__KEY_RMS_EPS       "%s.attention.layer_norm_rms_epsilon"
#define MG__KEY_SWA           "%s.attention.sliding_window"
#define MG__KEY_SWA_PATTERN   "%s.attention.sliding_window_pattern"
#define MG__KEY_ROPE_BASE     "%s.rope.freq_base"
#define MG__KEY_ROPE_BASE_SWA "%s.rope.freq_base_swa"
#define MG__KEY_ROPE_GLOBAL   "%s.rope.global.freq_base"     /* Ollama's spelling */
#define MG__KEY_ROPE_LOCAL    "%s.rope.local.freq_base"      /* Ollama's spelling */
#define MG__KEY_ROPE_STYPE    "%s.rope.scaling.type"
#define MG__KEY_ROPE_SFACTOR  "%s.rope.scaling.factor"
#define MG__KEY_TOK_MODEL     "tokenizer.ggml.model"
#define MG__KEY_TOKENS        "tokenizer.ggml.tokens"
#define MG__KEY_SCORES        "tokenizer.ggml.scores"
#define MG__KEY_TOKTYPES      "tokenizer.ggml.token_type"
#define MG__KEY_BOS_ID        "tokenizer.ggml.bos_token_id"
#define MG__KEY_EOS_ID        "tokenizer.ggml.eos_token_id"
#define MG__KEY_EOT_ID        "tokenizer.ggml.eot_token_id"
#define MG__KEY_UNK_ID        "tokenizer.ggml.unknown_token_id"
#define MG__KEY_PAD_ID        "tokenizer.ggml.padding_token_id"
#define MG__KEY_ADD_BOS       "tokenizer.ggml.add_bos_token"

/* ===== >>errors and allocation ======================================================================= */
MGDEF const char *mg_result_str(mg_result r) {
    switch (r) {
    case MG_OK:               return "MG_OK: success";
    case MG_ERR_INVALID_ARG:  return "MG_ERR_INVALID_ARG: invalid argument";
    case MG_ERR_IO:           return "MG_ERR_IO: file could not be read";
    case MG_ERR_NOMEM:        return "MG_ERR_NOMEM: out of memory";
    case MG_ERR_FORMAT:       return "MG_ERR_FORMAT: malformed file";
    case MG_ERR_UNSUPPORTED:  return "MG_ERR_UNSUPPORTED: unsupported version, type or architecture";
    case MG_ERR_MODEL:        return "MG_ERR_MODEL: tensor missing or of the wrong shape or type";
    case MG_ERR_LIMIT:        return "MG_ERR_LIMIT: a size limit was exceeded";
    case MG_ERR_BUFFER:       return "MG_ERR_BUFFER: output buffer too small";
    case MG_ERR_CONTEXT_FULL: return "MG_ERR_CONTEXT_FULL: context length exceeded";
    case MG_ERR_NO_VISION:    return "MG_ERR_NO_VISION: the model has no vision tower";
    case MG_ERR_CANCELLED:    return "MG_ERR_CANCELLED: cancelled by the caller";
    case MG_ERR_THREAD:       return "MG_ERR_THREAD: thread creation failed";
    case MG_ERR_STATE:        return "MG_ERR_STATE: call not valid in the current state";
    case MG_ERR_NUMERIC:      return "MG_ERR_NUMERIC: the computation produced NaN or Inf";
    }
    return "unknown result code";
}

MGDEF const char *mg_build_info(void) {
    return ""
#if defined(MG__AVX2)
        "avx2+fma"
#if defined(MG__F16C)
        "+f16c"
#endif
#if defined(MG__AVX512)
        "+avx512"
#endif
#if defined(MG__BF16)
        "+bf16"
#endif
#if defined(MG__VNNI)
        "+vnni"
#endif
#elif defined(MG__NEON)
        "neon"
#if defined(MG__DOTPROD)
        "+dotprod"
#endif
#if defined(MG__I8MM)
        "+i8mm"
#endif
#if defined(MG__ARM_BF16)
        "+bf16"
#endif
#else
        "scalar"
#endif
#ifdef MG_REFERENCE
        " reference"
#endif
#ifdef MG_USE_BLAS
        " blas"
#endif
#ifndef MG_NO_THREADS
        " threads"
#endif
        ;
}
/* Fills an optional mg_error and returns its code: every failure path goes through here. */
static mg_result mg__fail(mg_error *e, mg_result code, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void *mg__malloc(size_t n) { return MG_MALLOC(n ? n : 1); }
static void *mg__calloc(size_t count, size_t size) {
    void *p;
    if (size && count > (size_t)-1 / size) return NULL;
    p = mg__malloc(count * size);
    if (p) memset(p, 0, (count * size) > 0 ? count * size : 1);
    return p;
}
/* Grows *p to hold at least `need` elements of `size` bytes (capacity doubles). 0 on failure. */
static int mg__grow(void **p, int64_t *cap, int64_t need, size_t size) {
    int64_t c = *cap ? *cap : 16;
    void *q;
    if (need <= *cap) return 1;
    while (c < need) c *= 2;
    if ((uint64_t)c > (uint64_t)((size_t)-1 / size)) return 0;
    q = MG_REALLOC(*p, (size_t)c * size);
    if (!q) return 0;
    *p = q; *cap = c;
    return 1;
}
static int mg__mul_ok(uint64_t a, uint64_t b, uint64_t *r) {
    if (a && b > UINT64_MAX / a) return 0;
    *r = a * b;
    return 1;
}
static char *mg__strndup(const char *s, size_t n) {
    char *d = (char *)mg__malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}
/* ===== >>byte cursor: bounded little-endian reads ==================================================== */
/* GGUF tensors are little-endian and used in place: a big-endian host opens no GGUF (mg_gguf_open_mem). */
static int mg__host_little_endian(void) { const uint16_t one = 1; return *(const uint8_t *)&one == 1; }
typedef struct mg__cur {
    const uint8_t *p;     /* buffer */
    size_t n;             /* bytes in buffer */
    size_t pos;           /* next byte */
    int bad;              /* a read ran past the end */
} mg__cur;

static const uint8_t *mg__take(mg__cur *c, size_t k) {
    const uint8_t *r;
    if (c->bad || k > c->n - c->pos) { c->bad = 1; return NULL; }
    r = c->p + c->pos;
    c->pos += k;
    return r;
}
static uint32_t mg__le32(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static uint64_t mg__le64(const uint8_t *b) { return (uint64_t)mg__le32(b) | (uint64_t)mg__le32(b + 4) << 32; }
static uint16_t mg__le16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t mg__u32(mg__cur *c) { const uint8_t *b = mg__take(c, 4); return b ? mg__le32(b) : 0; }
static uint64_t mg__u64(mg__cur *c) { const uint8_t *b = mg__take(c, 8); return b ? mg__le64(b) : 0; }
static void mg__put32(uint8_t *b, uint32_t v) {
    b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}
static void mg__put64(uint8_t *b, uint64_t v) { mg__put32(b, (uint32_t)v); mg__put32(b + 4, (uint32_t)(v >> 32)); }
static float mg__f32_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static double mg__f64_of(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

/* ===== >>hashing: SHA-256 (FIPS 180-4) for fingerprints and cache keys ================================ */
/* Model fingerprints (a snapshot must go back into the model that made it) and image-embedding cache keys
   (the same pixels are never encoded twice) are SHA-256 digests: no collision is known, so a key match is
   a content match even for files made to collide. */
typedef struct mg__sha256 {
    uint32_t h[8];           /* chaining state */
    uint8_t buf[64];         /* pending bytes of the current block */
    size_t nbuf;
    uint64_t total;          /* bytes hashed */
} mg__sha256;

static const uint32_t mg__sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2 };

static uint32_t mg__ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* One 64-byte block: message schedule w[0..63], then 64 rounds on (a..h). */
static void mg__sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
    int i;
    for (i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = mg__ror(w[i - 15], 7) ^ mg__ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = mg__ror(w[i - 2], 17) ^ mg__ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (i = 0; i < 64; i++) {
        t1 = hh + (mg__ror(e, 6) ^ mg__ror(e, 11) ^ mg__ror(e, 25)) + ((e & f) ^ (~e & g)) + mg__sha_k[i] + w[i];
        t2 = (mg__ror(a, 2) ^ mg__ror(a, 13) ^ mg__ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void mg__sha256_init(mg__sha256 *c) {
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(c->h, iv, sizeof iv);
    c->nbuf = 0;
    c->total = 0;
}

static void mg__sha256_add(mg__sha256 *c, const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    c->total += n;
    if (c->nbuf) {
        size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;
        memcpy(c->buf + c->nbuf, p, k);
        c->nbuf += k; p += k; n -= k;
        if (c->nbuf < 64) return;
        mg__sha256_block(c->h, c->buf);
        c->nbuf = 0;
    }
    for (; n >= 64; p += 64, n -= 64) mg__sha256_block(c->h, p);
    memcpy(c->buf, p, n);
    c->nbuf = n;
}

/* Padding: 0x80, zeros to 56 mod 64, the bit length big-endian; the digest is h[0..7] big-endian. */
static void mg__sha256_end(mg__sha256 *c, uint8_t out[32]) {
    uint64_t bits = c->total * 8;
    uint8_t pad[72];
    size_t k = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
    int i;
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (i = 0; i < 8; i++) pad[k + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    mg__sha256_add(c, pad, k + 8);
    for (i = 0; i < 32; i++) out[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* A fast 64-bit checksum (snapshot files: detects corruption, not forgery; validation does the safety). */
static uint64_t mg__checksum(const uint8_t *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
    size_t i;
    for (i = 0; i + 8 <= n; i += 8) { h ^= mg__le64(p + i); h *= 0xff51afd7ed558ccdULL; h ^= h >> 32; }
    for (; i < n; i++) { h ^= p[i]; h *= 0xc4ceb9fe1a85ec53ULL; }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33;
    return h;
}

/* ===== >>GGUF reader ================================================================================= */
/* File layout (all little endian):
     "GGUF" u32 version(2|3) u64 n_tensors u64 n_kv
     n_kv x { string key, u32 type, value }             string = u64 len + bytes (no NUL)
     n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
     padding to general.alignment (default 32), then tensor data; offsets are relative to that point. */
#define MG__GGUF_MAGIC 0x46554747u   /* "GGUF" */

typedef struct mg__kv {
    char    *key;        /* NUL-terminated copy */
    uint32_t type;       /* MG_GGUF_* */
    uint32_t arr_type;   /* element type when type == MG_GGUF_ARRAY */
    uint64_t arr_n;      /* element count when type == MG_GGUF_ARRAY */
    size_t   off;        /* file offset of the value (of the first element for arrays) */
    size_t   size;       /* bytes of the value (all elements for arrays) */
} mg__kv;

typedef struct mg__tinfo {
    char    *name;       /* NUL-terminated copy */
    int      type;       /* ggml type code */
    int      n_dims;     /* 1..4 */
    int64_t  ne[4];      /* ggml order, unused dims = 1 */
    uint64_t offset;     /* from the start of the data section */
    uint64_t nbytes;     /* bytes of data */
    int      lanes;      /* rearranged in memory by the model (the lanes layout, >>kernels) */
} mg__tinfo;

/* String -> index map (open addressing, FNV-1a) for tensor names and vocabulary pieces. */
typedef struct mg__strmap {
    int32_t *slot;       /* [cap] index+1, 0 = empty */
    uint32_t cap;        /* power of two, >= 2 x entries */
} mg__strmap;

struct mg_gguf {
    const uint8_t *data;     /* whole file */
    size_t size;
    uint32_t version;
    uint64_t alignment;
    size_t data_off;         /* start of the tensor data section */
    mg__kv *kv;              /* [n_kv] */
    int64_t n_kv;
    mg__tinfo *t;            /* [n_t] */
    int64_t n_t;
    mg__strmap tmap;         /* tensor name -> index */
    void *owned;             /* buffer to release: malloc'd (owned_mapped 0) or mapped (1) */
    size_t owned_size;
    int owned_mapped;
};

static uint32_t mg__hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}
static int mg__strmap_init(mg__strmap *m, int64_t n) {
    uint32_t cap = 16;
    while ((int64_t)cap < 2 * n) cap *= 2;
    m->slot = (int32_t *)mg__calloc(cap, sizeof(int32_t));
    m->cap = m->slot ? cap : 0;
    return m->slot != NULL;
}
/* Looks up s[0..n) among keys given by get(ctx, index, &len). Returns the index or -1; *where = free slot. */
typedef const char *(*mg__strmap_key)(const void *ctx, int32_t i, size_t *len);
static int32_t mg__strmap_find(const mg__strmap *m, const char *s, size_t n, mg__strmap_key get,
                               const void *ctx, uint32_t *where) {
    uint32_t h, i;
    if (!m->cap) return -1;
    h = mg__hash(s, n);
    for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        size_t len;
        const char *k;
        int32_t v = m->slot[i];
        if (!v) { if (where) *where = i; return -1; }
        k = get(ctx, v - 1, &len);
        if (len == n && memcmp(k, s, n) == 0) return v - 1;
    }
}

static const char *mg__tname(const void *ctx, int32_t i, size_t *len) {
    const mg_gguf *g = (const mg_gguf *)ctx;
    *len = strlen(g->t[i].name);
    return g->t[i].name;
}

/* Block size (elements) and bytes per block of every ggml type; 0 = unknown code. */
static int mg__type_geom(int type, int *blk, int *bytes) {
    static const short geom[40][2] = {
        {1, 4}, {1, 2}, {32, 18}, {32, 20}, {0, 0}, {0, 0}, {32, 22}, {32, 24}, {32, 34}, {32, 36},
        {256, 84}, {256, 110}, {256, 144}, {256, 176}, {256, 210}, {256, 292}, {256, 66}, {256, 74},
        {256, 98}, {256, 50}, {32, 18}, {256, 110}, {256, 82}, {256, 136}, {1, 1}, {1, 2}, {1, 4},
        {1, 8}, {1, 8}, {256, 56}, {1, 2}, {0, 0}, {0, 0}, {0, 0}, {256, 54}, {256, 66}, {0, 0},
        {0, 0}, {0, 0}, {32, 17} };
    if (type < 0 || type >= 40 || geom[type][0] == 0) return 0;
    *blk = geom[type][0];
    *bytes = geom[type][1];
    return 1;
}

MGDEF const char *mg_type_name(int type) {
    static const char *names[40] = {
        "F32", "F16", "Q4_0", "Q4_1", NULL, NULL, "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K",
        "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S",
        "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16", NULL, NULL, NULL, "TQ1_0", "TQ2_0",
        NULL, NULL, NULL, "MXFP4" };
    if (type >= 0 && type < 40 && names[type]) return names[type];
    return "unknown";
}

/* Bytes of one element of a scalar metadata type; 0 for string/array/unknown. */
static size_t mg__gguf_scalar_size(uint32_t t) {
    switch (t) {
    case MG_GGUF_U8: case MG_GGUF_I8: case MG_GGUF_BOOL: return 1;
    case MG_GGUF_U16: case MG_GGUF_I16: return 2;
    case MG_GGUF_U32: case MG_GGUF_I32: case MG_GGUF_F32: return 4;
    case MG_GGUF_U64: case MG_GGUF_I64: case MG_GGUF_F64: return 8;
    default: return 0;
    }
}

/* Reads a GGUF string header and checks its bytes are in the file. */
static const char *mg__gguf_string(mg__cur *c, uint64_t *len) {
    const uint8_t *b;
    *len = mg__u64(c);
    if (c->bad || *len > MG_MAX_STRING) { c->bad = 1; return NULL; }
    b = mg__take(c, (size_t)*len);
    return (const char *)b;
}

static void mg__gguf_free_parts(mg_gguf *g) {
    int64_t i;
    if (g->kv) for (i = 0; i < g->n_kv; i++) MG_FREE(g->kv[i].key);
    if (g->t) for (i = 0; i < g->n_t; i++) MG_FREE(g->t[i].name);
    MG_FREE(g->kv);
    MG_FREE(g->t);
    MG_FREE(g->tmap.slot);
}

static mg_result mg__gguf_parse_kv(mg_gguf *g, mg__cur *c, mg_error *e) {
    int64_t i;
    for (i = 0; i < g->n_kv; i++) {
        mg__kv *kv = &g->kv[i];
        uint64_t klen, n;
        size_t esz, start;
        const char *k = mg__gguf_string(c, &klen);
        if (!k) return mg__fail(e, MG_ERR_FORMAT, "GGUF: metadata key %lld runs past the end of the file", (long long)i);
        if (!(kv->key = mg__strndup(k, (size_t)klen))) return mg__fail(e, MG_ERR_NOMEM, "GGUF: out of memory");
        kv->type = mg__u32(c);
        if (kv->type == MG_GGUF_ARRAY) {
            kv->arr_type = mg__u32(c);
            kv->arr_n = n = mg__u64(c);
            if (c->bad) return mg__fail(e, MG_ERR_FORMAT, "GGUF: key '%s': array header past the end", kv->key);
            if (n > MG_MAX_ARRAY)
                return mg__fail(e, MG_ERR_LIMIT, "GGUF: key '%s': %llu array elements (limit %u)", kv->key,
                                (unsigned long long)n, (unsigned)MG_MAX_ARRAY);
            start = c->pos;
            if (kv->arr_type == MG_GGUF_STRING) {
                uint64_t j, len;
                for (j = 0; j < n; j++)
                    if (!mg__gguf_string(c, &len))
                        return mg__fail(e, MG_ERR_FORMAT, "GGUF: key '%s': string %llu of the array runs past the end",
                                        kv->key, (unsigned long long)j);
            } else if ((esz = mg__gguf_scalar_size(kv->arr_type)) != 0) {
                uint64_t bytes;
                if (!mg__mul_ok(n, esz, &bytes) || !mg__take(c, (size_t)bytes) || bytes > SIZE_MAX)
                    return mg__fail(e, MG_ERR_FORMAT, "GGUF: key '%s': array data runs past the end", kv->key);
            } else {
                return mg__fail(e, MG_ERR_FORMAT, "GGUF: key '%s': invalid array element type %u", kv->key, kv->arr_type);
            }
            kv->off = start;
            kv->size = c->pos - start;
        } else if (kv->type == MG_GGUF_STRING) {
            uint64_t len;
            start = c->pos;
            if (!mg__gguf_string(c, &len))
                return mg__fail(e, MG_ERR_FORMAT, "GGUF: key '%s': string value runs past the end", kv->key);
            kv->off = start;
            kv->size = c->pos - start;
        } else if ((esz = mg__gguf_scalar_size(kv->type)) != 0) {
            kv->off = c->pos;
            kv->size = esz;
            if (!mg__take(c, esz)) return mg__fail(e, MG_ERR_FORMAT, "GGUF: key '%s': value past the end", kv->key);
        } else {
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: key '%s': invalid value type %u", kv->key, kv->type);
        }
    }
    return MG_OK;
}

static int64_t mg__gguf_find(const mg_gguf *g, const char *key) {
    int64_t i;
    for (i = 0; i < g->n_kv; i++) if (strcmp(g->kv[i].key, key) == 0) return i;
    return -1;
}

/* Scalar metadata as double/int64 (any numeric or bool type); 0 when absent or not numeric. */
static int mg__gguf_num(const mg_gguf *g, const char *key, double *out) {
    int64_t i = mg__gguf_find(g, key);
    const uint8_t *b;
    if (i < 0) return 0;
    b = g->data + g->kv[i].off;
    switch (g->kv[i].type) {
    case MG_GGUF_U8: case MG_GGUF_BOOL: *out = b[0]; return 1;
    case MG_GGUF_I8: *out = (int8_t)b[0]; return 1;
    case MG_GGUF_U16: *out = mg__le16(b); return 1;
    case MG_GGUF_I16: *out = (int16_t)mg__le16(b); return 1;
    case MG_GGUF_U32: *out = mg__le32(b); return 1;
    case MG_GGUF_I32: *out = (int32_t)mg__le32(b); return 1;
    case MG_GGUF_F32: *out = mg__f32_of(mg__le32(b)); return 1;
    case MG_GGUF_U64: *out = (double)mg__le64(b); return 1;
    case MG_GGUF_I64: *out = (double)(int64_t)mg__le64(b); return 1;
    case MG_GGUF_F64: *out = mg__f64_of(mg__le64(b)); return 1;
    default: return 0;
    }
}
/* String metadata: pointer into the file and length; NULL when absent or not a string. */
static const char *mg__gguf_str(const mg_gguf *g, const char *key, size_t *len) {
    int64_t i = mg__gguf_find(g, key);
    if (i < 0 || g->kv[i].type != MG_GGUF_STRING) return NULL;
    *len = (size_t)mg__le64(g->data + g->kv[i].off);
    return (const char *)g->data + g->kv[i].off + 8;
}

static mg_result mg__gguf_parse_tensors(mg_gguf *g, mg__cur *c, mg_error *e) {
    int64_t i;
    if (!mg__strmap_init(&g->tmap, g->n_t)) return mg__fail(e, MG_ERR_NOMEM, "GGUF: out of memory");
    for (i = 0; i < g->n_t; i++) {
        mg__tinfo *t = &g->t[i];
        uint64_t nlen, nel = 1, nblk;
        uint32_t where = 0, d;
        int blk, bsz;
        const char *name = mg__gguf_string(c, &nlen);
        if (!name) return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor info %lld runs past the end", (long long)i);
        if (!(t->name = mg__strndup(name, (size_t)nlen))) return mg__fail(e, MG_ERR_NOMEM, "GGUF: out of memory");
        t->n_dims = (int)mg__u32(c);
        if (c->bad) return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': header past the end", t->name);
        if (t->n_dims < 1 || t->n_dims > MG_MAX_DIMS)
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': %d dimensions (1..4 allowed)", t->name, t->n_dims);
        for (d = 0; d < 4; d++) t->ne[d] = 1;
        for (d = 0; d < (uint32_t)t->n_dims; d++) {
            uint64_t ne = mg__u64(c);
            if (ne == 0 || ne > (uint64_t)INT64_MAX || !mg__mul_ok(nel, ne, &nel) || nel > ((uint64_t)1 << 50))
                return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': dimension %u is zero or too large", t->name, d);
            t->ne[d] = (int64_t)ne;
        }
        t->type = (int)mg__u32(c);
        t->offset = mg__u64(c);
        if (c->bad) return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': header past the end", t->name);
        if (!mg__type_geom(t->type, &blk, &bsz))
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': unknown type code %d", t->name, t->type);
        if (t->ne[0] % blk)
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': row of %lld not a multiple of the %s block (%d)",
                            t->name, (long long)t->ne[0], mg_type_name(t->type), blk);
        nblk = nel / (uint64_t)blk;
        if (!mg__mul_ok(nblk, (uint64_t)bsz, &t->nbytes))
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': byte size overflows", t->name);
        if (mg__strmap_find(&g->tmap, t->name, strlen(t->name), mg__tname, g, &where) >= 0)
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: duplicate tensor name '%s'", t->name);
        g->tmap.slot[where] = (int32_t)(i + 1);
    }
    return MG_OK;
}

typedef struct mg__span { uint64_t lo, hi; int64_t i; } mg__span;
static int mg__span_cmp(const void *a, const void *b) {
    const mg__span *x = (const mg__span *)a, *y = (const mg__span *)b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}
/* Every tensor's bytes its own: two tensors whose data ranges overlap are refused (a crafted file can make one
   buffer serve as every weight). */
static mg_result mg__gguf_no_overlap(const mg_gguf *g, mg_error *e) {
    mg__span *sp;
    int64_t i;
    if (g->n_t < 2) return MG_OK;
    if (!(sp = (mg__span *)mg__malloc((size_t)g->n_t * sizeof *sp))) return mg__fail(e, MG_ERR_NOMEM, "GGUF: out of memory");
    for (i = 0; i < g->n_t; i++) { sp[i].lo = g->t[i].offset; sp[i].hi = g->t[i].offset + g->t[i].nbytes; sp[i].i = i; }
    qsort(sp, (size_t)g->n_t, sizeof *sp, mg__span_cmp);
    for (i = 1; i < g->n_t; i++)
        if (sp[i].lo < sp[i - 1].hi) {
            mg_result r = mg__fail(e, MG_ERR_FORMAT, "GGUF: tensors '%s' and '%s' share data (bytes [%llu, %llu) and [%llu, %llu))",
                                   g->t[sp[i - 1].i].name, g->t[sp[i].i].name, (unsigned long long)sp[i - 1].lo,
                                   (unsigned long long)sp[i - 1].hi, (unsigned long long)sp[i].lo, (unsigned long long)sp[i].hi);
            MG_FREE(sp);
            return r;
        }
    MG_FREE(sp);
    return MG_OK;
}

/* Parses the header, metadata and tensor table of a GGUF held in memory; tensor data stays in place. */
static mg_result mg__gguf_parse(mg_gguf *g, const void *data, size_t size, mg_error *e) {
    mg__cur c;
    uint64_t n_t, n_kv, pad;
    double align = 32;
    int64_t i;
    mg_result r;
    memset(g, 0, sizeof *g);
    g->data = (const uint8_t *)data;
    g->size = size;
    c.p = g->data; c.n = size; c.pos = 0; c.bad = 0;
    if (!data || size < 24) return mg__fail(e, MG_ERR_FORMAT, "GGUF: file too small (%lu bytes)", (unsigned long)size);
    if (mg__u32(&c) != MG__GGUF_MAGIC) return mg__fail(e, MG_ERR_FORMAT, "GGUF: bad magic (not a GGUF file)");
    g->version = mg__u32(&c);
    if (g->version != 2 && g->version != 3)
        return mg__fail(e, MG_ERR_UNSUPPORTED, "GGUF: version %u (only 2 and 3 are read%s)", g->version,
                        g->version > 0xffff ? "; big-endian files are not supported" : "");
    n_t = mg__u64(&c);
    n_kv = mg__u64(&c);
    if (n_t > MG_MAX_TENSORS) return mg__fail(e, MG_ERR_LIMIT, "GGUF: %llu tensors (limit %d)", (unsigned long long)n_t, MG_MAX_TENSORS);
    if (n_kv > MG_MAX_KV) return mg__fail(e, MG_ERR_LIMIT, "GGUF: %llu metadata keys (limit %d)", (unsigned long long)n_kv, MG_MAX_KV);
    g->kv = (mg__kv *)mg__calloc((size_t)n_kv, sizeof(mg__kv));
    g->t = (mg__tinfo *)mg__calloc((size_t)n_t, sizeof(mg__tinfo));
    if (!g->kv || !g->t) return mg__fail(e, MG_ERR_NOMEM, "GGUF: out of memory");
    g->n_kv = (int64_t)n_kv;
    g->n_t = (int64_t)n_t;
    if ((r = mg__gguf_parse_kv(g, &c, e)) != MG_OK) return r;
    if ((i = mg__gguf_find(g, MG__KEY_ALIGN)) >= 0) {
        if (g->kv[i].type != MG_GGUF_U32 || !mg__gguf_num(g, MG__KEY_ALIGN, &align))
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: general.alignment must be a u32");
    }
    g->alignment = (uint64_t)align;
    if (g->alignment == 0 || (g->alignment & (g->alignment - 1)) || g->alignment > 65536)
        return mg__fail(e, MG_ERR_FORMAT, "GGUF: alignment %llu is not a power of two up to 65536",
                        (unsigned long long)g->alignment);
    if ((r = mg__gguf_parse_tensors(g, &c, e)) != MG_OK) return r;
    pad = (g->alignment - c.pos % g->alignment) % g->alignment;
    if (g->n_t > 0 && pad > size - c.pos) return mg__fail(e, MG_ERR_FORMAT, "GGUF: file ends before the tensor data");
    g->data_off = c.pos + (size_t)(pad <= size - c.pos ? pad : 0);
    for (i = 0; i < g->n_t; i++) {
        const mg__tinfo *t = &g->t[i];
        uint64_t avail = size - g->data_off;
        if (t->offset % g->alignment)
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': offset %llu not aligned to %llu", t->name,
                            (unsigned long long)t->offset, (unsigned long long)g->alignment);
        if (t->offset > avail || t->nbytes > avail - t->offset)
            return mg__fail(e, MG_ERR_FORMAT, "GGUF: tensor '%s': data [%llu, +%llu) past the end of the file",
                            t->name, (unsigned long long)t->offset, (unsigned long long)t->nbytes);
    }
    return mg__gguf_no_overlap(g, e);
}

static int64_t mg__gguf_tensor_find(const mg_gguf *g, const char *name) {
    return mg__strmap_find(&g->tmap, name, strlen(name), mg__tname, g, NULL);
}

MGDEF mg_result mg_gguf_open_mem(mg_gguf **out, const void *data, size_t size, mg_error *err) {
    mg_gguf *g;
    mg_result r;
    if (!out) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_gguf_open_mem: out is NULL");
    *out = NULL;
    if (!mg__host_little_endian())
        return mg__fail(err, MG_ERR_UNSUPPORTED, "GGUF: big-endian hosts are not supported (tensor data is "
                        "little-endian and used in place)");
    if (!(g = (mg_gguf *)mg__calloc(1, sizeof *g))) return mg__fail(err, MG_ERR_NOMEM, "out of memory");
    if ((r = mg__gguf_parse(g, data, size, err)) != MG_OK) { mg__gguf_free_parts(g); MG_FREE(g); return r; }
    *out = g;
    return MG_OK;
}

static void mg__release_buffer(void *p, size_t n, int mapped) {
#if defined(MG__MAP) && defined(MG__FILES_POSIX)
    if (mapped) { if (p) munmap(p, n); return; }
#elif defined(MG__MAP)
    if (mapped) { if (p) UnmapViewOfFile(p); return; }
#endif
    (void)n; (void)mapped;
    MG_FREE(p);
}

MGDEF void mg_gguf_close(mg_gguf *g) {
    if (!g) return;
    mg__gguf_free_parts(g);
    if (g->owned) mg__release_buffer(g->owned, g->owned_size, g->owned_mapped);
    MG_FREE(g);
}
MGDEF int mg_gguf_version(const mg_gguf *g) { return g ? (int)g->version : 0; }
MGDEF int64_t mg_gguf_kv_count(const mg_gguf *g) { return g ? g->n_kv : 0; }
MGDEF const char *mg_gguf_kv_key(const mg_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}
MGDEF int mg_gguf_kv_type(const mg_gguf *g, int64_t i, int *array_type, uint64_t *array_n) {
    if (!g || i < 0 || i >= g->n_kv) return -1;
    if (array_type) *array_type = (int)g->kv[i].arr_type;
    if (array_n) *array_n = g->kv[i].arr_n;
    return (int)g->kv[i].type;
}
MGDEF int64_t mg_gguf_find_key(const mg_gguf *g, const char *key) { return g && key ? mg__gguf_find(g, key) : -1; }
MGDEF int64_t mg_gguf_tensor_count(const mg_gguf *g) { return g ? g->n_t : 0; }
MGDEF uint64_t mg_gguf_data_offset(const mg_gguf *g) { return g ? g->data_off : 0; }
MGDEF void mg_gguf_tensor(const mg_gguf *g, int64_t i, mg_tensor_info *info) {
    const mg__tinfo *t;
    int d;
    if (!info) return;
    memset(info, 0, sizeof *info);
    if (!g || i < 0 || i >= g->n_t) return;
    t = &g->t[i];
    info->name = t->name; info->type = t->type; info->n_dims = t->n_dims;
    for (d = 0; d < 4; d++) info->ne[d] = t->ne[d];
    info->offset = t->offset; info->nbytes = t->nbytes;
}
MGDEF const void *mg_gguf_tensor_data(const mg_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_t ? g->data + g->data_off + g->t[i].offset : NULL;
}

/* One scalar element as text. */
MG__REF int mg__fmt_scalar(char *buf, size_t cap, uint32_t type, const uint8_t *b) {
    switch (type) {
    case MG_GGUF_U8:   return snprintf(buf, cap, "%u", b[0]);
    case MG_GGUF_I8:   return snprintf(buf, cap, "%d", (int8_t)b[0]);
    case MG_GGUF_BOOL: return snprintf(buf, cap, "%s", b[0] ? "true" : "false");
    case MG_GGUF_U16:  return snprintf(buf, cap, "%u", mg__le16(b));
    case MG_GGUF_I16:  return snprintf(buf, cap, "%d", (int16_t)mg__le16(b));
    case MG_GGUF_U32:  return snprintf(buf, cap, "%lu", (unsigned long)mg__le32(b));
    case MG_GGUF_I32:  return snprintf(buf, cap, "%ld", (long)(int32_t)mg__le32(b));
    case MG_GGUF_F32:  return snprintf(buf, cap, "%g", mg__f32_of(mg__le32(b)));
    case MG_GGUF_U64:  return snprintf(buf, cap, "%llu", (unsigned long long)mg__le64(b));
    case MG_GGUF_I64:  return snprintf(buf, cap, "%lld", (long long)(int64_t)mg__le64(b));
    case MG_GGUF_F64:  return snprintf(buf, cap, "%g", mg__f64_of(mg__le64(b)));
    default:           return snprintf(buf, cap, "?");
    }
}
/* Appends a quoted, escaped string (at most 80 bytes shown). */
static size_t mg__fmt_str(char *buf, size_t cap, size_t at, const uint8_t *s, uint64_t n) {
    uint64_t j;
    char tmp[8];
    for (j = 0; j <= n && j <= 80; j++) {
        const char *piece = tmp;
        if (j == n || j == 80) piece = j == n ? "\"" : "...\"";
        else if (s[j] == '"' || s[j] == '\\') { tmp[0] = '\\'; tmp[1] = (char)s[j]; tmp[2] = 0; }
        else if (s[j] < 0x20) snprintf(tmp, sizeof tmp, "\\x%02x", s[j]);
        else { tmp[0] = (char)s[j]; tmp[1] = 0; }
        if (at + strlen(piece) < cap) { memcpy(buf + at, piece, strlen(piece) + 1); }
        at += strlen(piece);
    }
    return at;
}

MGDEF size_t mg_gguf_kv_format(const mg_gguf *g, int64_t i, char *buf, size_t cap, int max_items) {
    const mg__kv *kv;
    const uint8_t *b;
    size_t at = 0;
    char tmp[64];
    if (cap) buf[0] = 0;
    if (!g || i < 0 || i >= g->n_kv || !buf) return 0;
    kv = &g->kv[i];
    b = g->data + kv->off;
    if (kv->type == MG_GGUF_STRING) {
        if (cap > 1) { buf[0] = '"'; buf[1] = 0; }
        return mg__fmt_str(buf, cap, 1, b + 8, mg__le64(b));
    }
    if (kv->type != MG_GGUF_ARRAY) {
        mg__fmt_scalar(buf, cap, kv->type, b);
        return strlen(buf);
    }
    at = (size_t)snprintf(buf, cap, "[%llu x %s]", (unsigned long long)kv->arr_n,
                          kv->arr_type == MG_GGUF_STRING ? "string" : "number");
    if (max_items > 0) {
        uint64_t j;
        size_t p = 0, esz = mg__gguf_scalar_size(kv->arr_type);
        for (j = 0; j < kv->arr_n && j < (uint64_t)max_items; j++) {
            if (at + 2 < cap) { buf[at] = j ? ',' : ' '; buf[at + 1] = 0; }
            at++;
            if (kv->arr_type == MG_GGUF_STRING) {
                uint64_t n = mg__le64(b + p);
                if (at + 1 < cap) { buf[at] = '"'; buf[at + 1] = 0; }
                at = mg__fmt_str(buf, cap, at + 1, b + p + 8, n);
                p += 8 + (size_t)n;
            } else {
                mg__fmt_scalar(tmp, sizeof tmp, kv->arr_type, b + p);
                if (at + strlen(tmp) < cap) memcpy(buf + at, tmp, strlen(tmp) + 1);
                at += strlen(tmp);
                p += esz;
            }
        }
        if (kv->arr_n > (uint64_t)max_items) { if (at + 4 < cap) memcpy(buf + at, " ...", 5); at += 4; }
    }
    return at;
}
/* An integer key: required (def < 0) or defaulted, within [lo, hi]. A per-layer array (llama.cpp writes some keys
   so; all equal for Gemma 3) gives its first element. */
static mg_result mg__key_int(const mg_gguf *g, const char *key, int def, int lo, int hi, int *out, mg_error *e) {
    double d;
    if (!mg__gguf_num(g, key, &d)) {
        int64_t ki = mg__gguf_find(g, key);
        if (ki >= 0 && g->kv[ki].type == MG_GGUF_ARRAY && g->kv[ki].arr_n > 0 &&
            mg__gguf_scalar_size(g->kv[ki].arr_type) == 4 && g->kv[ki].arr_type != MG_GGUF_F32)
            d = (double)(int32_t)mg__le32(g->data + g->kv[ki].off);
        else if (def < 0) return mg__fail(e, MG_ERR_MODEL, "metadata key '%s' is missing", key);
        else d = def;
    }
    if (d != floor(d) || d < lo || d > hi)
        return mg__fail(e, MG_ERR_MODEL, "metadata key '%s' = %g outside [%d, %d]", key, d, lo, hi);
    *out = (int)d;
    return MG_OK;
}

/* ===== >>quant formats =============================================================================== */
/* Half and bfloat16 conversions, exact (round to nearest even), no tables. */
static float mg__h2f(uint16_t h) {
#if defined(MG__F16C)
    return _cvtsh_ss(h);
#elif defined(MG__NEON)
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
#else
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    if (e == 0) {
        if (m == 0) bits = sign;
        else {                                   /* subnormal: normalise */
            e = 113;
            while (!(m & 0x400u)) { m <<= 1; e--; }
            bits = sign | e << 23 | (m & 0x3ffu) << 13;
        }
    } else if (e == 31) bits = sign | 0x7f800000u | m << 13;
    else bits = sign | (e + 112) << 23 | m << 13;
    return mg__f32_of(bits);
#endif
}
static uint16_t mg__f2h(float f) {
#if defined(MG__NEON)
    return vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(f))), 0);
#else
    uint32_t x, sign, ax;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000u;
    ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);            /* >= 65520 rounds to inf */
    if (ax < 0x38800000u) {                                              /* half subnormal or zero */
        uint32_t e = ax >> 23, mant = (ax & 0x7fffffu) | 0x800000u, shift, r, rem, half;
        if (e < 102) return (uint16_t)sign;                              /* below 2^-25 */
        shift = 126 - e;
        r = mant >> shift; rem = mant & ((1u << shift) - 1); half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    ax -= 0x38000000u;                                                   /* rebias exponent 127 -> 15 */
    return (uint16_t)(sign | ((ax + 0x0fffu + ((ax >> 13) & 1)) >> 13));
#endif
}
static float mg__bf2f(uint16_t b) { return mg__f32_of((uint32_t)b << 16); }
static uint16_t mg__f2bf(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}
/* Round to nearest, ties to even, for |v| < 2^22 (ggml's nearest_int). */
static int mg__nearest_int(float v) {
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

/* Q8_0: 32 weights in 34 bytes (8.5 bits/weight).  w[i] = d * qs[i]
     | d: f16 | qs[0..31]: int8 | */
typedef struct mg__block_q8_0 {
    uint16_t d;          /* scale, f16 */
    int8_t   qs[32];     /* quants */
} mg__block_q8_0;
typedef char mg__check_q8_0[sizeof(mg__block_q8_0) == 34 ? 1 : -1];

/* Q4_K: 256 weights in 144 bytes (4.5 bits/weight): 8 sub-blocks of 32, each with a 6-bit scale and min.
     w = d * sc[j] * q - dmin * m[j],  q in 0..15
     | d: f16 | dmin: f16 | scales[12]: 8 x (6-bit sc, 6-bit m) packed | qs[128]: 2 quants per byte |
   scales: j<4: sc = s[j]&63, m = s[j+4]&63; j>=4: sc = (s[j+4]&15)|(s[j-4]>>6)<<4, m = (s[j+4]>>4)|(s[j]>>6)<<4
   qs: 64 weights per 32 bytes; low nibbles give weights 0..31 of the pair of sub-blocks, high nibbles 32..63. */
typedef struct mg__block_q4_k {
    uint16_t d;          /* super-block scale of the scales, f16 */
    uint16_t dmin;       /* super-block scale of the mins, f16 */
    uint8_t  scales[12]; /* 6-bit scales and mins */
    uint8_t  qs[128];    /* 4-bit quants */
} mg__block_q4_k;
typedef char mg__check_q4_k[sizeof(mg__block_q4_k) == 144 ? 1 : -1];

/* Q6_K: 256 weights in 210 bytes (6.5625 bits/weight): 16 sub-blocks of 16 with int8 scales.
     w = d * scales[g] * (q - 32),  q = 4 low bits (ql) | 2 high bits (qh) << 4
   per half of 128 weights, for l < 32: weight l     <- ql[l]    low nibble, qh[l] bits 0-1
                                        weight l+32  <- ql[l+32] low nibble, qh[l] bits 2-3
                                        weight l+64  <- ql[l]    high nibble, qh[l] bits 4-5
                                        weight l+96  <- ql[l+32] high nibble, qh[l] bits 6-7 */
typedef struct mg__block_q6_k {
    uint8_t  ql[128];    /* low 4 bits */
    uint8_t  qh[64];     /* high 2 bits */
    int8_t   scales[16]; /* sub-block scales */
    uint16_t d;          /* super-block scale, f16 */
} mg__block_q6_k;
typedef char mg__check_q6_k[sizeof(mg__block_q6_k) == 210 ? 1 : -1];

/* Q8_K: activations only (the other side of Q4_K/Q6_K dot products): 256 values, float scale, sums of 16. */
typedef struct mg__block_q8_k {
    float    d;          /* scale */
    int8_t   qs[256];    /* quants */
    int16_t  bsums[16];  /* sum of each group of 16 quants */
} mg__block_q8_k;
typedef char mg__check_q8_k[sizeof(mg__block_q8_k) == 292 ? 1 : -1];

/* Q4_0: 32 weights in 18 bytes (4.5 bits/weight).  w = d * (q - 8),  q in 0..15
     | d: f16 | qs[16]: weight l in the low nibble of qs[l], weight l+16 in its high nibble | */
typedef struct mg__block_q4_0 {
    uint16_t d;          /* scale, f16 */
    uint8_t  qs[16];     /* 4-bit quants */
} mg__block_q4_0;
typedef char mg__check_q4_0[sizeof(mg__block_q4_0) == 18 ? 1 : -1];

/* Q4_1: 32 weights in 20 bytes (5 bits/weight).  w = d * q + m,  q in 0..15
     | d: f16 | m: f16 | qs[16]: nibbles as Q4_0 | */
typedef struct mg__block_q4_1 {
    uint16_t d;          /* scale, f16 */
    uint16_t m;          /* offset (the block's minimum), f16 */
    uint8_t  qs[16];     /* 4-bit quants */
} mg__block_q4_1;
typedef char mg__check_q4_1[sizeof(mg__block_q4_1) == 20 ? 1 : -1];

/* IQ4_NL: 32 weights in 18 bytes (4.5 bits/weight): 4-bit indices into a fixed non-uniform grid of int8.
     w = d * grid[q]
     | d: f16 | qs[16]: nibbles as Q4_0 | */
typedef struct mg__block_iq4_nl {
    uint16_t d;          /* scale, f16 */
    uint8_t  qs[16];     /* grid indices */
} mg__block_iq4_nl;
typedef char mg__check_iq4_nl[sizeof(mg__block_iq4_nl) == 18 ? 1 : -1];
static const int8_t mg__iq4_grid[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };
static const int8_t mg__q4_0_lut[16] = { -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7 };   /* Q4_0's q - 8 */

/* IQ4_XS: 256 weights in 136 bytes (4.25 bits/weight): 8 sub-blocks of 32 with 6-bit scales, the IQ4_NL grid.
     w = d * (ls[j] - 32) * grid[q]
     | d: f16 | scales_h: u16 | scales_l[4] | qs[128] |
   ls[j] = nibble j%2 of scales_l[j/2] (low nibble first) | bits 2j..2j+1 of scales_h << 4
   qs: sub-block j in bytes 16j..16j+15, weights 0..15 in their low nibbles, 16..31 in their high nibbles. */
typedef struct mg__block_iq4_xs {
    uint16_t d;          /* super-block scale, f16 */
    uint16_t scales_h;   /* high 2 bits of the 8 sub-block scales */
    uint8_t  scales_l[4];/* low 4 bits of the 8 sub-block scales */
    uint8_t  qs[128];    /* grid indices */
} mg__block_iq4_xs;
typedef char mg__check_iq4_xs[sizeof(mg__block_iq4_xs) == 136 ? 1 : -1];

/* Q2_K: 256 weights in 84 bytes (2.625 bits/weight): 16 sub-blocks of 16, a 4-bit scale and min each.
     w = d * sc[g] * q - dmin * m[g],  q in 0..3,  sc[g] = scales[g] & 15, m[g] = scales[g] >> 4
     | scales[16] | qs[64]: 4 quants per byte | d: f16 | dmin: f16 |
   qs: weight 128h + 32k + l (h < 2, k < 4, l < 32) in bits 2k..2k+1 of qs[32h + l]; sub-block g = weight / 16. */
typedef struct mg__block_q2_k {
    uint8_t  scales[16]; /* 4-bit scales (low) and mins (high) */
    uint8_t  qs[64];     /* 2-bit quants */
    uint16_t d;          /* super-block scale of the scales, f16 */
    uint16_t dmin;       /* super-block scale of the mins, f16 */
} mg__block_q2_k;
typedef char mg__check_q2_k[sizeof(mg__block_q2_k) == 84 ? 1 : -1];

/* Q3_K: 256 weights in 110 bytes (3.4375 bits/weight): 16 sub-blocks of 16 with 6-bit scales.
     w = d * (sc[g] - 32) * q,  q = (2 low bits) + 4 (high bit) - 4, in -4..3
     | hmask[32]: high bits | qs[64]: low 2 bits, as Q2_K | scales[12]: 16 x 6 bits | d: f16 |
   hmask: weight 128h + 32k + l has its high bit at bit 4h + k of hmask[l].
   scales: sc[g] = (g < 8 ? scales[g] & 15 : scales[g - 8] >> 4) | (bits 2(g/4)..2(g/4)+1 of scales[8 + g%4]) << 4 */
typedef struct mg__block_q3_k {
    uint8_t  hmask[32];  /* high bit of each quant */
    uint8_t  qs[64];     /* low 2 bits */
    uint8_t  scales[12]; /* 6-bit scales */
    uint16_t d;          /* super-block scale, f16 */
} mg__block_q3_k;
typedef char mg__check_q3_k[sizeof(mg__block_q3_k) == 110 ? 1 : -1];

/* Q5_K: 256 weights in 176 bytes (5.5 bits/weight): Q4_K with a fifth bit per weight.
     w = d * sc[j] * q - dmin * m[j],  q = nibble (as Q4_K) + 16 (bit j of qh[l]), in 0..31, l = weight % 32
     | d: f16 | dmin: f16 | scales[12]: as Q4_K | qh[32] | qs[128]: as Q4_K | */
typedef struct mg__block_q5_k {
    uint16_t d;          /* super-block scale of the scales, f16 */
    uint16_t dmin;       /* super-block scale of the mins, f16 */
    uint8_t  scales[12]; /* 6-bit scales and mins */
    uint8_t  qh[32];     /* fifth bits */
    uint8_t  qs[128];    /* low 4 bits */
} mg__block_q5_k;
typedef char mg__check_q5_k[sizeof(mg__block_q5_k) == 176 ? 1 : -1];

/* Q8_1: activations only (the other side of Q4_1 dot products): Q8_0 and s = d * sum(qs).
     | d: f16 | s: f16 | qs[32]: int8 | */
typedef struct mg__block_q8_1 {
    uint16_t d;          /* scale, f16 */
    uint16_t s;          /* d times the sum of the quants, f16 */
    int8_t   qs[32];     /* quants */
} mg__block_q8_1;
typedef char mg__check_q8_1[sizeof(mg__block_q8_1) == 36 ? 1 : -1];

static void mg__q4k_scale_min(int j, const uint8_t *s, int *sc, int *m) {
    if (j < 4) { *sc = s[j] & 63; *m = s[j + 4] & 63; }
    else { *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4); *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4); }
}
/* Unpacks the 256 6-bit quants of a Q6_K block to signed values q - 32. */
static void mg__q6k_unpack(const mg__block_q6_k *b, int8_t *q) {
    int h, l;
    for (h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        int8_t *o = q + 128 * h;
        for (l = 0; l < 32; l++) {
            o[l]      = (int8_t)(((ql[l] & 0xF) | ((qh[l] >> 0 & 3) << 4)) - 32);
            o[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | ((qh[l] >> 2 & 3) << 4)) - 32);
            o[l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4)) - 32);
            o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4)) - 32);
        }
    }
}
/* The 256 2-bit fields of a Q2_K/Q3_K qs array, in weight order. */
static void mg__unpack_2bit(const uint8_t *qs, int8_t *q) {
    int h, k, l;
    for (h = 0; h < 2; h++)
        for (k = 0; k < 4; k++)
            for (l = 0; l < 32; l++) q[128 * h + 32 * k + l] = (int8_t)(qs[32 * h + l] >> (2 * k) & 3);
}
/* Unpacks the 256 quants of a Q3_K block to -4..3. */
static void mg__q3k_unpack(const mg__block_q3_k *b, int8_t *q) {
    int i;
    mg__unpack_2bit(b->qs, q);
    for (i = 0; i < 256; i++) q[i] = (int8_t)(q[i] - (b->hmask[i % 32] >> (i / 32) & 1 ? 0 : 4));
}
/* Scale g of a Q3_K block, -32..31. */
static int mg__q3k_scale(const uint8_t *s, int g) {
    return ((g < 8 ? s[g] & 15 : s[g - 8] >> 4) | (s[8 + g % 4] >> (2 * (g / 4)) & 3) << 4) - 32;
}
/* Unpacks the 256 quants of a Q5_K block to 0..31. */
static void mg__q5k_unpack(const mg__block_q5_k *b, int8_t *q) {
    int j, l;
    for (j = 0; j < 8; j++)
        for (l = 0; l < 32; l++) {
            const uint8_t v = b->qs[32 * (j / 2) + l];
            q[32 * j + l] = (int8_t)((j & 1 ? v >> 4 : v & 15) | (b->qh[l] >> j & 1) << 4);
        }
}
/* Scale j of an IQ4_XS block, -32..31. */
static int mg__iq4xs_scale(const mg__block_iq4_xs *b, int j) {
    return ((b->scales_l[j / 2] >> (4 * (j % 2)) & 15) | (b->scales_h >> (2 * j) & 3) << 4) - 32;
}
/* 32 weights of 16 nibble bytes (Q4_0 order: low nibbles first) as 0..15. */
static void mg__unpack_nibbles(const uint8_t *qs, int8_t *q) {
    int l;
    for (l = 0; l < 16; l++) { q[l] = (int8_t)(qs[l] & 15); q[l + 16] = (int8_t)(qs[l] >> 4); }
}
/* The same through a table of 16 signed values (Q4_0: q - 8, IQ4_NL and IQ4_XS: the grid). */
static void mg__unpack_lut(const uint8_t *qs, const int8_t *lut, int8_t *v) {
    int l;
    for (l = 0; l < 16; l++) { v[l] = lut[qs[l] & 15]; v[l + 16] = lut[qs[l] >> 4]; }
}

/* Scalar reference dequantizers: one row of n values. */
static void mg__dequant_q8_0(const mg__block_q8_0 *b, float *y, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        float d = mg__h2f(b[i].d);
        for (j = 0; j < 32; j++) y[i * 32 + j] = d * (float)b[i].qs[j];
    }
}
static void mg__dequant_q4_k(const mg__block_q4_k *b, float *y, int64_t n) {
    int64_t i;
    int j, l, sc, m;
    for (i = 0; i < n / 256; i++, b++) {
        float d = mg__h2f(b->d), dmin = mg__h2f(b->dmin);
        const uint8_t *q = b->qs;
        for (j = 0; j < 8; j += 2, q += 32) {
            float d1, m1, d2, m2;
            mg__q4k_scale_min(j, b->scales, &sc, &m);     d1 = d * (float)sc; m1 = dmin * (float)m;
            mg__q4k_scale_min(j + 1, b->scales, &sc, &m); d2 = d * (float)sc; m2 = dmin * (float)m;
            for (l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}
static void mg__dequant_q6_k(const mg__block_q6_k *b, float *y, int64_t n) {
    int64_t i;
    int j;
    int8_t q[256];
    for (i = 0; i < n / 256; i++, b++) {
        float d = mg__h2f(b->d);
        mg__q6k_unpack(b, q);
        for (j = 0; j < 256; j++) *y++ = d * (float)b->scales[j / 16] * (float)q[j];
    }
}
/* Q4_0 and IQ4_NL (the same block with another table) */
static void mg__dequant_lut4(const mg__block_q4_0 *b, float *y, int64_t n, const int8_t *lut) {
    int64_t i;
    int j;
    int8_t v[32];
    for (i = 0; i < n / 32; i++, b++) {
        float d = mg__h2f(b->d);
        mg__unpack_lut(b->qs, lut, v);
        for (j = 0; j < 32; j++) *y++ = d * (float)v[j];
    }
}
static void mg__dequant_q4_1(const mg__block_q4_1 *b, float *y, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int j;
    int8_t q[32];
    for (i = 0; i < n / 32; i++, b++) {
        float d = mg__h2f(b->d), m = mg__h2f(b->m);
        mg__unpack_nibbles(b->qs, q);
        for (j = 0; j < 32; j++) *y++ = d * (float)q[j] + m;
    }
}
static void mg__dequant_iq4_xs(const mg__block_iq4_xs *b, float *y, int64_t n) {
    int64_t i;
    int j, l;
    int8_t v[32];
    for (i = 0; i < n / 256; i++, b++)
        for (j = 0; j < 8; j++) {
            float dl = mg__h2f(b->d) * (float)mg__iq4xs_scale(b, j);
            mg__unpack_lut(b->qs + 16 * j, mg__iq4_grid, v);
            for (l = 0; l < 32; l++) *y++ = dl * (float)v[l];
        }
}
static void mg__dequant_q2_k(const mg__block_q2_k *b, float *y, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int j;
    int8_t q[256];
    for (i = 0; i < n / 256; i++, b++) {
        float d = mg__h2f(b->d), dmin = mg__h2f(b->dmin);
        mg__unpack_2bit(b->qs, q);
        for (j = 0; j < 256; j++) {
            float dl = d * (float)(b->scales[j / 16] & 15), ml = dmin * (float)(b->scales[j / 16] >> 4);
            *y++ = dl * (float)q[j] - ml;
        }
    }
}
static void mg__dequant_q3_k(const mg__block_q3_k *b, float *y, int64_t n) {
    int64_t i;
    int j;
    int8_t q[256];
    for (i = 0; i < n / 256; i++, b++) {
        float d = mg__h2f(b->d);
        mg__q3k_unpack(b, q);
        for (j = 0; j < 256; j++) *y++ = d * (float)mg__q3k_scale(b->scales, j / 16) * (float)q[j];
    }
}
static void mg__dequant_q5_k(const mg__block_q5_k *b, float *y, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int j, l, sc, m;
    int8_t q[256];
    for (i = 0; i < n / 256; i++, b++) {
        float d = mg__h2f(b->d), dmin = mg__h2f(b->dmin);
        mg__q5k_unpack(b, q);
        for (j = 0; j < 8; j++) {
            float dj, mj;
            mg__q4k_scale_min(j, b->scales, &sc, &m);
            dj = d * (float)sc;
            mj = dmin * (float)m;
            for (l = 0; l < 32; l++) *y++ = dj * (float)q[32 * j + l] - mj;
        }
    }
}

/* Dequantizes one row of n elements of any supported type. 0 if the type is not supported. */
static int mg__dequant_row(int type, const void *src, float *y, int64_t n) {
    int64_t i;
    switch (type) {
    case MG_TYPE_F32:  memcpy(y, src, (size_t)n * 4); return 1;
    case MG_TYPE_F16:  for (i = 0; i < n; i++) y[i] = mg__h2f(mg__le16((const uint8_t *)src + 2 * i)); return 1;
    case MG_TYPE_BF16: for (i = 0; i < n; i++) y[i] = mg__bf2f(mg__le16((const uint8_t *)src + 2 * i)); return 1;
    case MG_TYPE_Q8_0: mg__dequant_q8_0((const mg__block_q8_0 *)src, y, n); return 1;
    case MG_TYPE_Q4_K: mg__dequant_q4_k((const mg__block_q4_k *)src, y, n); return 1;
    case MG_TYPE_Q6_K: mg__dequant_q6_k((const mg__block_q6_k *)src, y, n); return 1;
    case MG_TYPE_Q4_0: mg__dequant_lut4((const mg__block_q4_0 *)src, y, n, mg__q4_0_lut); return 1;
    case MG_TYPE_Q4_1: mg__dequant_q4_1((const mg__block_q4_1 *)src, y, n); return 1;
    case MG_TYPE_IQ4_NL: mg__dequant_lut4((const mg__block_q4_0 *)src, y, n, mg__iq4_grid); return 1;
    case MG_TYPE_IQ4_XS: mg__dequant_iq4_xs((const mg__block_iq4_xs *)src, y, n); return 1;
    case MG_TYPE_Q2_K: mg__dequant_q2_k((const mg__block_q2_k *)src, y, n); return 1;
    case MG_TYPE_Q3_K: mg__dequant_q3_k((const mg__block_q3_k *)src, y, n); return 1;
    case MG_TYPE_Q5_K: mg__dequant_q5_k((const mg__block_q5_k *)src, y, n); return 1;
    default: return 0;
    }
}
static size_t mg__row_bytes(int type, int64_t n) {
    int blk = 1, bytes = 0;
    if (!mg__type_geom(type, &blk, &bytes)) return 0;
    return (size_t)(n / blk) * (size_t)bytes;
}


MGDEF size_t mg_type_row_size(int type, int64_t n) {
    int blk, bytes;
    if (n < 0 || !mg__type_geom(type, &blk, &bytes) || n % blk) return 0;
    return mg__row_bytes(type, n);
}

MGDEF const void *mg_gguf_kv_data(const mg_gguf *g, int64_t i, size_t *size) {
    if (size) *size = 0;
    if (!g || i < 0 || i >= g->n_kv) return NULL;
    if (size) *size = g->kv[i].size;
    return g->data + g->kv[i].off;
}
MGDEF float mg_f16_to_f32(uint16_t h) { return mg__h2f(h); }
MGDEF uint16_t mg_f32_to_f16(float f) { return mg__f2h(f); }
MGDEF float mg_bf16_to_f32(uint16_t b) { return mg__bf2f(b); }
MGDEF uint16_t mg_f32_to_bf16(float f) { return mg__f2bf(f); }

static void mg__lanes_block(int wtype, const uint8_t *grp, int bb, int64_t b, int r, uint8_t *blk);   /* >>kernels */
MGDEF mg_result mg_gguf_dequantize(const mg_gguf *g, int64_t i, int64_t row0, int64_t n_rows, float *out, mg_error *err) {
    const mg__tinfo *t;
    int64_t rows, r;
    size_t rb;
    if (!g || !out || i < 0 || i >= g->n_t)
        return mg__fail(err, MG_ERR_INVALID_ARG, "mg_gguf_dequantize: a NULL file or output, or tensor %lld of %lld", (long long)i, g ? (long long)g->n_t : 0LL);
    t = &g->t[i];
    rows = t->ne[1] * t->ne[2] * t->ne[3];
    if (row0 < 0 || n_rows < 0 || row0 > rows || n_rows > rows - row0)
        return mg__fail(err, MG_ERR_INVALID_ARG, "dequantize '%s': rows %lld..%lld outside its %lld rows", t->name, (long long)row0,
                        (long long)row0 + (long long)n_rows, (long long)rows);
    rb = mg__row_bytes(t->type, t->ne[0]);
    for (r = 0; r < n_rows; r++) {
        const uint8_t *src = g->data + g->data_off + t->offset + (size_t)(row0 + r) * rb;
        uint8_t blk[256];
        if (t->lanes) {   /* a model's matrix in the lanes layout: one block at a time */
            int bs = 1, bb = 0;
            int64_t b;
            mg__type_geom(t->type, &bs, &bb);
            for (b = 0; b < t->ne[0] / bs; b++) {
                mg__lanes_block(t->type, src - (size_t)((row0 + r) % 16) * rb, bb, b, (int)((row0 + r) % 16), blk);
                mg__dequant_row(t->type, blk, out + r * t->ne[0] + b * bs, bs);
            }
            continue;
        }
        if (!mg__dequant_row(t->type, src, out + r * t->ne[0], t->ne[0]))
            return mg__fail(err, MG_ERR_UNSUPPORTED, "dequantize '%s': type %s is not supported", t->name, mg_type_name(t->type));
    }
    return MG_OK;
}

/* ===== >>kernels ===================================================================================== */
/* The compute the model asks for, behind one seam. The model path (>>ops, >>SigLIP, >>Gemma 3) calls only these:
     mg__quant_row       an activation row in the partner format of a weight type (F16, BF16, Q8_0, Q8_1, Q8_K)
     mg__vec_dot         one weight row . one converted activation row
     mg__quant_act       an activation row as the matrix products read it (the partner format, Q8_0: block sums)
     mg__mat_block       y[t][r] = W_r . x_t for a block of weight rows and a block of tokens (matrix product);
                         mg__mat_block_lanes the same on weights in the lanes layout (mg__lanes_pack)
     mg__tile_f32/_bf16  one tile of a vision GEMM (12 rows x 32 columns, float or bfloat16 products), with
                         mg__bf16_pairs/_interleave and mg__wrow to pack its operands
     mg__softmax_block   the online-softmax step of a vision attention block; mg__col_scale its output
     mg__attn_block      one block of cached keys for a tile of decoder attention rows (scores, softmax, P V);
                         mg__attn_block_f16 the same reading an F16 cache in place, mg__kv_row_f32 a cached row
     mg__gelu_f16tab     GELU of n values through the f16 table
   Each entry is written once in plain C (>>kernels: scalar): the reference every faster version must match,
   integer formats bit for bit. Faster versions live in one section per instruction set (>>kernels: x86, >>kernels: ARM);
   >>kernels: seam picks one per entry at compile time. MG_NO_SIMD and MG_REFERENCE compile the scalar section
   alone. */
#define MG__TOK_BLOCK 128    /* activation rows per token block (they stay in L2 while the weight rows stream) */
enum { MG__TR = 12, MG__TC = 32 };                       /* vision GEMM tile rows (B side), tile columns (A side) */
enum { MG__ATT_KB = 264 };                               /* vision attention: keys per block (multiple of MG__TR, even) */
enum { MG__ATT_MAXHD = 256 };                            /* largest vision head width */
enum { MG__INIT = 0, MG__ACC = 1, MG__ACC_INIT = 2 };   /* tile start: C0 = init (NULL: 0), C, C + init */
/* Decoder attention: keys and values in blocks of MG__KQ_KB positions; a tile holds the query heads of one KV
   head for MG__KQ_ROWS / group tokens (at least one). */
enum { MG__KQ_KB = 64, MG__KQ_ROWS = 64 };
/* A weight matrix as stored: n_out rows of n_in values of one type (ggml ne = [n_in, n_out]). */
typedef struct mg__mat {
    const uint8_t *data;     /* n_out rows of row_bytes */
    int type;                /* MG_TYPE_* */
    int64_t n_in, n_out;
    size_t row_bytes;
    int lanes;               /* 1: rows rearranged in the lanes layout (mg__lanes_pack) */
} mg__mat;
/* The lanes layout. A model read into memory has its Q8_0, Q4_0, IQ4_NL, Q4_1, Q4_K and Q6_K matrices of 16k rows
   rearranged at load (mg__model_lanes) so that the kernels find 16 rows' values of a block side by side. A block is
   a sequence of units: its f16 scales (2 bytes) and 4-byte words of the rest. For the 16 rows of group G and block
   b, the unit at byte o of the block becomes 16 units, rows 0..15, at byte 16 o of the group's block b (row r at
   16 o + r z, z the unit's size), and the group's block b lies at byte 16 b bb of the group (bb bytes per block),
   the group at 16 G rb (rb bytes per row): the same bytes those 16 rows held. One vector load at 16 o then holds
   a unit of 16 rows, row r in lane r. */
static int mg__lanes_type(int t) {
    return t == MG_TYPE_Q8_0 || t == MG_TYPE_Q4_0 || t == MG_TYPE_IQ4_NL || t == MG_TYPE_Q4_1 || t == MG_TYPE_Q4_K || t == MG_TYPE_Q6_K;
}
/* Bytes of the unit at byte o of a block: 2 for the f16 scales (Q8_0, Q4_0, IQ4_NL d; Q4_1 d, m; Q4_K d, dmin;
   Q6_K d at 208), else 4. */
static int mg__lanes_unit(int t, int o) {
    switch (t) {
    case MG_TYPE_Q8_0: case MG_TYPE_Q4_0: case MG_TYPE_IQ4_NL: return o < 2 ? 2 : 4;
    case MG_TYPE_Q4_1: case MG_TYPE_Q4_K: return o < 4 ? 2 : 4;
    default:           return o >= 208 ? 2 : 4;
    }
}
/* 16 rows rb apart (src) -> one group (dst, 16 rb bytes). */
static void mg__lanes_pack(int t, const uint8_t *src, size_t rb, uint8_t *dst) {
    int blk = 1, bb = 0, o, z, r;
    size_t b, nb;
    mg__type_geom(t, &blk, &bb);
    for (b = 0, nb = rb / (size_t)bb; b < nb; b++, dst += 16 * (size_t)bb)
        for (o = 0; o < bb; o += z) {
            const uint8_t *u = src + b * (size_t)bb + o;
            z = mg__lanes_unit(t, o);
            if (z == 2) for (r = 0; r < 16; r++) memcpy(dst + 16 * o + 2 * r, u + (size_t)r * rb, 2);
            else for (r = 0; r < 16; r++) memcpy(dst + 16 * o + 4 * r, u + (size_t)r * rb, 4);
        }
}
/* Block b of row r (0..15) of a group in the lanes layout, as stored (bb bytes). */
static void mg__lanes_block(int wtype, const uint8_t *grp, int bb, int64_t b, int r, uint8_t *blk) {
    int o, z;
    grp += (size_t)b * 16 * (size_t)bb;
    for (o = 0; o < bb; o += z) {
        z = mg__lanes_unit(wtype, o);
        memcpy(blk + o, grp + 16 * o + z * r, (size_t)z);
    }
}
/* Row r of the matrix w (any layout) as stored in the file: in place, or copied to row (row_bytes). */
static const uint8_t *mg__mat_row(const mg__mat *w, int64_t r, uint8_t *row) {
    int blk = 1, bb = 0;
    int64_t b;
    if (!w->lanes) return w->data + (size_t)r * w->row_bytes;
    mg__type_geom(w->type, &blk, &bb);
    for (b = 0; b < (int64_t)(w->row_bytes / (size_t)bb); b++)
        mg__lanes_block(w->type, w->data + (size_t)(r / 16) * 16 * w->row_bytes, bb, b, (int)(r % 16), row + (size_t)b * bb);
    return row;
}
/* A matrix product y = W x multiplies each weight row with the activation converted to the weight type's
   partner format, as ggml does (its type traits' vec_dot_type): F32 x F32, F16 x F16, BF16 x BF16,
   Q8_0/Q4_0/IQ4_NL x Q8_0, Q4_1 x Q8_1, Q2_K/Q3_K/Q4_K/Q5_K/Q6_K/IQ4_XS x Q8_K.
   Rounding the activation this way is what makes the results agree with llama.cpp to ~1e-2. */
static int mg__act_type(int wtype) {
    switch (wtype) {
    case MG_TYPE_Q2_K: case MG_TYPE_Q3_K: case MG_TYPE_Q4_K: case MG_TYPE_Q5_K: case MG_TYPE_Q6_K: case MG_TYPE_IQ4_XS:
        return MG_TYPE_Q8_K;
    case MG_TYPE_Q4_0: case MG_TYPE_IQ4_NL: return MG_TYPE_Q8_0;
    case MG_TYPE_Q4_1: return MG_TYPE_Q8_1;
    default: return wtype;
    }
}
/* Bytes of an activation row converted for a matrix product (mg__quant_act): the partner format, and for Q8_0
   activations (weights Q8_0, Q4_0, IQ4_NL) then, from a 4-byte boundary (mg__act_q8_0_sums), one int32 per block,
   the sum of its quants, and one float per block, its scale. */
static size_t mg__act_q8_0_sums(int64_t n) { return (mg__row_bytes(MG_TYPE_Q8_0, n) + 3) / 4 * 4; }
static size_t mg__act_row_bytes(int wtype, int64_t n) {
    return mg__act_type(wtype) == MG_TYPE_Q8_0 ? mg__act_q8_0_sums(n) + (size_t)(n / 32) * 8 : mg__row_bytes(mg__act_type(wtype), n);
}

/* ===== >>kernels: scalar ============================================================================= */
/* The reference of every seam entry: plain loops in the order the equations are written. */
/* Q8_0 activations: d = max|x| / 127 stored as f16, q = round_even(x * 127 / max|x|) (ggml's AVX rounding). */
static void mg__quant_q8_0(const float *x, mg__block_q8_0 *y, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++, x += 32) {
        float amax = 0, id;
        for (j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        y[i].d = mg__f2h(amax / 127.0f);
        id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (j = 0; j < 32; j++) y[i].qs[j] = (int8_t)mg__nearest_int(x[j] * id);
    }
}
/* Q8_1 activations: Q8_0's d and q, and s = f16(d sum q) with d before its f16 rounding (ggml's AVX rounding). */
static void mg__quant_q8_1(const float *x, mg__block_q8_1 *y, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++, x += 32) {
        float amax = 0, d, id;
        int sum = 0;
        for (j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        d = amax / 127.0f;
        id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (j = 0; j < 32; j++) { y[i].qs[j] = (int8_t)mg__nearest_int(x[j] * id); sum += y[i].qs[j]; }
        y[i].d = mg__f2h(d);
        y[i].s = mg__f2h(d * (float)sum);
    }
}
/* Q8_K activations: the signed extreme maps to -127, q = min(127, round_even(x * -127 / max)), d = 1/iscale.
   max is the first value of the largest magnitude (NaNs never are). */
MG__REF void mg__quant_q8_k_scalar(const float *x, mg__block_q8_k *y, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 256; i++, x += 256, y++) {
        float amax = 0, max = 0, iscale;
        for (j = 0; j < 256; j++) if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (amax == 0.0f) { memset(y, 0, sizeof *y); continue; }
        iscale = -127.0f / max;
        for (j = 0; j < 256; j++) { int v = mg__nearest_int(iscale * x[j]); y->qs[j] = (int8_t)(v < 127 ? v : 127); }
        for (j = 0; j < 16; j++) {
            int k, s = 0;
            for (k = 0; k < 16; k++) s += y->qs[16 * j + k];
            y->bsums[j] = (int16_t)s;
        }
        y->d = 1.0f / iscale;
    }
}
/* Per weight type, one row against one converted activation row. The integer formats accumulate exact integer
   sums per block, so every faster kernel agrees with these bit for bit; the float formats differ only in
   summation order. */
MG__REF float mg__dot_f32_scalar(const float *w, const float *x, int64_t n) {
    int64_t i;
    float s = 0;
    for (i = 0; i < n; i++) s += w[i] * x[i];
    return s;
}
MG__REF float mg__dot_f16_scalar(const uint16_t *w, const uint16_t *x, int64_t n) {
    int64_t i;
    float s = 0;
    for (i = 0; i < n; i++) s += mg__h2f(w[i]) * mg__h2f(x[i]);
    return s;
}
MG__REF float mg__dot_bf16_scalar(const uint16_t *w, const uint16_t *x, int64_t n) {
    int64_t i;
    float s = 0;
    for (i = 0; i < n; i++) s += mg__bf2f(w[i]) * mg__bf2f(x[i]);
    return s;
}
/* sum_blocks d_w d_x sum_i qw_i qx_i */
MG__REF float mg__dot_q8_0_scalar(const mg__block_q8_0 *w, const mg__block_q8_0 *x, int64_t n) {
    MG__NO_FMA
    int64_t i, nb = n / 32;
    int j;
    float s = 0;
    for (i = 0; i < nb; i++) {
        int32_t sumi = 0;
        for (j = 0; j < 32; j++) sumi += w[i].qs[j] * x[i].qs[j];
        s += (float)sumi * (mg__h2f(w[i].d) * mg__h2f(x[i].d));
    }
    return s;
}
/* sum_blocks d_x (d sum_j sc_j sum_l q_l qx_l - dmin sum_j m_j sum_l qx_l) */
MG__REF float mg__dot_q4_k_scalar(const mg__block_q4_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int j, l, sc, m;
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        int32_t sumi = 0, summ = 0;
        const uint8_t *q = w->qs;
        const int8_t *a = x->qs;
        for (j = 0; j < 8; j += 2, q += 32, a += 64) {
            int32_t lo = 0, hi = 0;
            for (l = 0; l < 32; l++) { lo += (q[l] & 0xF) * a[l]; hi += (q[l] >> 4) * a[l + 32]; }
            mg__q4k_scale_min(j, w->scales, &sc, &m);     sumi += sc * lo; summ += m * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
            mg__q4k_scale_min(j + 1, w->scales, &sc, &m); sumi += sc * hi; summ += m * (x->bsums[2 * j + 2] + x->bsums[2 * j + 3]);
        }
        s += mg__h2f(w->d) * x->d * (float)sumi - mg__h2f(w->dmin) * x->d * (float)summ;
    }
    return s;
}
/* sum_g sc_g (q . a over sub-block g): 256 quants in sub-blocks of gs (16 or 32), exact in int32 */
static int32_t mg__block_dot(const int8_t *q, const int8_t *a, const int *sc, int gs) {
    int32_t sumi = 0;
    int g, l;
    for (g = 0; g < 256 / gs; g++) {
        int32_t t = 0;
        for (l = 0; l < gs; l++) t += q[gs * g + l] * a[gs * g + l];
        sumi += sc[g] * t;
    }
    return sumi;
}
/* sum_blocks d d_x sum_g scales_g sum_{l in g} (q_l - 32) qx_l */
MG__REF float mg__dot_q6_k_scalar(const mg__block_q6_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int g, sc[16];
    int8_t q[256];
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        mg__q6k_unpack(w, q);
        for (g = 0; g < 16; g++) sc[g] = w->scales[g];
        s += mg__h2f(w->d) * x->d * (float)mg__block_dot(q, x->qs, sc, 16);
    }
    return s;
}
/* Q4_0 and IQ4_NL: sum_blocks (d_w d_x) sum_i lut[q_i] qx_i (Q4_0: lut[q] = q - 8, IQ4_NL: the grid) */
MG__REF float mg__dot_lut4_scalar(const mg__block_q4_0 *w, const mg__block_q8_0 *x, int64_t n, const int8_t *lut) {
    MG__NO_FMA
    int64_t i;
    int j;
    int8_t v[32];
    float s = 0;
    for (i = 0; i < n / 32; i++, w++, x++) {
        int32_t sumi = 0;
        mg__unpack_lut(w->qs, lut, v);
        for (j = 0; j < 32; j++) sumi += v[j] * x->qs[j];
        s += (float)sumi * (mg__h2f(w->d) * mg__h2f(x->d));
    }
    return s;
}
/* sum_blocks ((d_w d_x) sum_i q_i qx_i + m_w s_x) */
MG__REF float mg__dot_q4_1_scalar(const mg__block_q4_1 *w, const mg__block_q8_1 *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int j;
    int8_t q[32];
    float s = 0;
    for (i = 0; i < n / 32; i++, w++, x++) {
        int32_t sumi = 0;
        mg__unpack_nibbles(w->qs, q);
        for (j = 0; j < 32; j++) sumi += q[j] * x->qs[j];
        s += (float)sumi * (mg__h2f(w->d) * mg__h2f(x->d)) + mg__h2f(w->m) * mg__h2f(x->s);
    }
    return s;
}
/* sum_blocks d d_x sum_j (ls_j - 32) sum_{l in j} grid[q_l] qx_l */
MG__REF float mg__dot_iq4_xs_scalar(const mg__block_iq4_xs *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int j, sc[8];
    int8_t v[256];
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        for (j = 0; j < 8; j++) { mg__unpack_lut(w->qs + 16 * j, mg__iq4_grid, v + 32 * j); sc[j] = mg__iq4xs_scale(w, j); }
        s += mg__h2f(w->d) * x->d * (float)mg__block_dot(v, x->qs, sc, 32);
    }
    return s;
}
/* sum_blocks d_x (d sum_g sc_g sum_{l in g} q_l qx_l - dmin sum_g m_g bsums_g) */
MG__REF float mg__dot_q2_k_scalar(const mg__block_q2_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int g, sc[16];
    int8_t q[256];
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        int32_t summ = 0;
        mg__unpack_2bit(w->qs, q);
        for (g = 0; g < 16; g++) { sc[g] = w->scales[g] & 15; summ += (w->scales[g] >> 4) * x->bsums[g]; }
        s += mg__h2f(w->d) * x->d * (float)mg__block_dot(q, x->qs, sc, 16) - mg__h2f(w->dmin) * x->d * (float)summ;
    }
    return s;
}
/* sum_blocks d d_x sum_g (sc_g - 32) sum_{l in g} q_l qx_l,  q in -4..3 */
MG__REF float mg__dot_q3_k_scalar(const mg__block_q3_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int g, sc[16];
    int8_t q[256];
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        mg__q3k_unpack(w, q);
        for (g = 0; g < 16; g++) sc[g] = mg__q3k_scale(w->scales, g);
        s += mg__h2f(w->d) * x->d * (float)mg__block_dot(q, x->qs, sc, 16);
    }
    return s;
}
/* Q4_K's sum with 5-bit quants */
MG__REF float mg__dot_q5_k_scalar(const mg__block_q5_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int j, m, sc[8];
    int8_t q[256];
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        int32_t summ = 0;
        mg__q5k_unpack(w, q);
        for (j = 0; j < 8; j++) { mg__q4k_scale_min(j, w->scales, &sc[j], &m); summ += m * (x->bsums[2 * j] + x->bsums[2 * j + 1]); }
        s += mg__h2f(w->d) * x->d * (float)mg__block_dot(q, x->qs, sc, 32) - mg__h2f(w->dmin) * x->d * (float)summ;
    }
    return s;
}
MG__REF float mg__vec_dot_scalar(int wtype, const void *w, const void *x, int64_t n) {
    switch (wtype) {
    case MG_TYPE_F16:  return mg__dot_f16_scalar((const uint16_t *)w, (const uint16_t *)x, n);
    case MG_TYPE_BF16: return mg__dot_bf16_scalar((const uint16_t *)w, (const uint16_t *)x, n);
    case MG_TYPE_Q8_0: return mg__dot_q8_0_scalar((const mg__block_q8_0 *)w, (const mg__block_q8_0 *)x, n);
    case MG_TYPE_Q4_K: return mg__dot_q4_k_scalar((const mg__block_q4_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q6_K: return mg__dot_q6_k_scalar((const mg__block_q6_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q4_0: return mg__dot_lut4_scalar((const mg__block_q4_0 *)w, (const mg__block_q8_0 *)x, n, mg__q4_0_lut);
    case MG_TYPE_Q4_1: return mg__dot_q4_1_scalar((const mg__block_q4_1 *)w, (const mg__block_q8_1 *)x, n);
    case MG_TYPE_IQ4_NL: return mg__dot_lut4_scalar((const mg__block_q4_0 *)w, (const mg__block_q8_0 *)x, n, mg__iq4_grid);
    case MG_TYPE_IQ4_XS: return mg__dot_iq4_xs_scalar((const mg__block_iq4_xs *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q2_K: return mg__dot_q2_k_scalar((const mg__block_q2_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q3_K: return mg__dot_q3_k_scalar((const mg__block_q3_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q5_K: return mg__dot_q5_k_scalar((const mg__block_q5_k *)w, (const mg__block_q8_k *)x, n);
    default:           return mg__dot_f32_scalar((const float *)w, (const float *)x, n);
    }
}
/* y[t ys + r] = W_r . x_t for nr weight rows (row_bytes rb apart, from w) and nt converted activation rows
   x_t = x + t xs: one dot product per (row, token). */
MG__REF void mg__mat_block_scalar(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt,
                                 int64_t n, float *y, size_t ys) {
    int r, t;
    for (r = 0; r < nr; r++)
        for (t = 0; t < nt; t++) y[(size_t)t * ys + r] = mg__vec_dot_scalar(wtype, w + (size_t)r * rb, x + (size_t)t * xs, n);
}
/* mg__mat_block on nr rows (a multiple of 16) of a matrix in the lanes layout, w at the group of the first row:
   block by block, each unpacked. A one-block dot product is exactly its block's term, so the sums are the
   row kernel's. */
MG__REF void mg__mat_block_lanes_scalar(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt,
                                       int64_t n, float *y, size_t ys) {
    int blk = 1, bb = 0, r, t;
    int64_t b;
    size_t xb;
    uint8_t wb[256];
    mg__type_geom(wtype, &blk, &bb);
    xb = mg__row_bytes(mg__act_type(wtype), blk);
    for (r = 0; r < nr; r++)
        for (t = 0; t < nt; t++) {
            float s = 0;
            for (b = 0; b < n / blk; b++) {
                mg__lanes_block(wtype, w + (size_t)(r / 16) * 16 * rb, bb, b, r % 16, wb);
                s += mg__vec_dot_scalar(wtype, wb, x + (size_t)t * xs + (size_t)b * xb, blk);
            }
            y[(size_t)t * ys + r] = s;
        }
}
/* The SigLIP tower multiplies all 4096 patches by every weight matrix, so its products are matrix products
     C[r][c] = C0[r][c] + sum_k B[r][k] A[c][k]
   computed in tiles of 12 rows ("broadcast side", B) x 32 columns ("vector side", A). Two kinds of tile:
   - float (weights when vision_f32 is set or the CPU has no bf16 dot product): A = weights packed as a[32 k + c]
     (F16/BF16/quantized rows converted to f32 exactly), B = the activation rows in place; s += A[c][k] B[r][k] by
     FMA.
   - bf16 (attention always, weights unless vision_f32 is set): both operands rounded to bfloat16 (round to
     nearest even), pair p of a row or column as one uint32 (low half: the even k), A panel a[32 p + c], B panel
     b[12 p + r], and s += A[c][2p] B[r][2p] + A[c][2p+1] B[r][2p+1] (AVX512-BF16 vdpbf16ps, 16 sums at once).
   Panels are zero past the matrix (rows, columns, an odd k). Every output element is the same sum over k in
   increasing order whoever computes it, so results do not depend on the thread count. The products:
   Y = X W^T (B = activations, A = weights); attention scores S^T = K Q^T (B = keys, A = queries) and
   O^T = V^T P^T (B = values by channel, A = probabilities). */
/* One bf16 tile: C[r][c] = C0[r][c] + sum_{p < kp} pair products, r < nr <= 12, c < nc <= 32; init[c] per column. */
MG__REF void mg__tile_bf16_scalar(const uint32_t *a, const uint32_t *b, int kp, float *c, size_t ldc, int nr, int nc,
                                 const float *init, int mode) {
    float s[MG__TR][MG__TC], a0[MG__TC], a1[MG__TC];
    int r, j, p;
    for (r = 0; r < nr; r++)
        for (j = 0; j < nc; j++)
            s[r][j] = (mode != MG__INIT ? c[(size_t)r * ldc + j] : 0.0f) + (mode != MG__ACC && init ? init[j] : 0.0f);
    for (p = 0; p < kp; p++, a += MG__TC, b += MG__TR) {
        for (j = 0; j < nc; j++) { a0[j] = mg__bf2f((uint16_t)a[j]); a1[j] = mg__bf2f((uint16_t)(a[j] >> 16)); }
        for (r = 0; r < nr; r++) {
            float b0 = mg__bf2f((uint16_t)b[r]), b1 = mg__bf2f((uint16_t)(b[r] >> 16));
            if (nc == MG__TC) for (j = 0; j < MG__TC; j++) s[r][j] += a0[j] * b0 + a1[j] * b1;   /* fixed count: vectorisable */
            else for (j = 0; j < nc; j++) s[r][j] += a0[j] * b0 + a1[j] * b1;
        }
    }
    for (r = 0; r < nr; r++) memcpy(c + (size_t)r * ldc, s[r], (size_t)nc * sizeof(float));
}
/* The float tile: C[r][c] = C0[r][c] + sum_{i < kn} A[i][c] B[r][i], A panel a[32 i + c], B as 12 rows b[ldb r + i]
   (the activations as they are: broadcasting from 12 rows needs no repacking). */
MG__REF void mg__tile_f32_scalar(const float *a, const float *b, size_t ldb, int kn, float *c, size_t ldc, int nr, int nc,
                                const float *init, int mode) {
    float s[MG__TR][MG__TC];
    int r, j, p;
    for (r = 0; r < nr; r++)
        for (j = 0; j < nc; j++)
            s[r][j] = (mode != MG__INIT ? c[(size_t)r * ldc + j] : 0.0f) + (mode != MG__ACC && init ? init[j] : 0.0f);
    for (p = 0; p < kn; p++, a += MG__TC, b++)
        for (r = 0; r < nr; r++) {
            float br = b[(size_t)r * ldb];
            if (nc == MG__TC) for (j = 0; j < MG__TC; j++) s[r][j] += a[j] * br;   /* fixed count: vectorisable */
            else for (j = 0; j < nc; j++) s[r][j] += a[j] * br;
        }
    for (r = 0; r < nr; r++) memcpy(c + (size_t)r * ldc, s[r], (size_t)nc * sizeof(float));
}
/* k floats -> ceil(k/2) bf16 pairs (round to nearest even): dst[p] = bf(x[2p]) | bf(x[2p+1]) << 16, 0-padded. */
MG__REF void mg__bf16_pairs_scalar(uint32_t *dst, const float *x, int k) {
    int i;
    for (i = 0; i + 1 < k; i += 2) dst[i / 2] = mg__f2bf(x[i]) | (uint32_t)mg__f2bf(x[i + 1]) << 16;
    if (i < k) dst[i / 2] = mg__f2bf(x[i]);
}
/* Two rows of k floats -> k bf16 pairs across them: dst[i] = bf(x0[i]) | bf(x1[i]) << 16. */
MG__REF void mg__bf16_interleave_scalar(uint32_t *dst, const float *x0, const float *x1, int k) {
    int i;
    for (i = 0; i < k; i++) dst[i] = mg__f2bf(x0[i]) | (uint32_t)mg__f2bf(x1[i]) << 16;
}
/* Row o of a weight matrix as floats (f32 = 1) or bf16 pairs (f32 = 0); tmp holds n_in floats. */
MG__REF void mg__wrow_scalar(const mg__mat *w, int64_t o, void *dst, float *tmp, int f32) {
    const uint8_t *src = w->data + (size_t)o * w->row_bytes;
    int k = (int)w->n_in;
    if (f32 && w->type == MG_TYPE_F32) { memcpy(dst, src, (size_t)k * sizeof(float)); return; }
    mg__dequant_row(w->type, src, f32 ? (float *)dst : tmp, k);
    if (!f32) mg__bf16_pairs_scalar((uint32_t *)dst, tmp, k);
}
/* One block of nk keys for 32 queries: st[k][q] = q.k scores, c2 = log2(e) / sqrt(head_dim). Per query:
     m' = max(m, max_k c2 s_k),  e_k = 2^(c2 s_k - m'),  alpha = 2^(m - m'),
     l' = alpha l + sum_k e_k,   O *= alpha (rows of ot[no][32])
   and P = bf16(e) as an A panel of key pairs: pp[32 p + q] = bf(e_2p) | bf(e_2p+1) << 16 (0 past nk). */
MG__REF void mg__softmax_block_scalar(const float *st, int nk, float c2, float *m, float *l, float *ot, int no, uint32_t *pp) {
    int v, k, r;
    for (v = 0; v < MG__TC; v++) {
        float mx = -INFINITY, mn, alpha;
        for (k = 0; k < nk; k++) mx = st[(size_t)k * MG__TC + v] > mx ? st[(size_t)k * MG__TC + v] : mx;
        mn = m[v] > mx * c2 ? m[v] : mx * c2;
        alpha = exp2f(m[v] - mn);
        m[v] = mn;
        l[v] *= alpha;
        for (r = 0; r < no; r++) ot[(size_t)r * MG__TC + v] *= alpha;
        for (k = 0; k < nk; k += 2) {
            float e0 = exp2f(st[(size_t)k * MG__TC + v] * c2 - mn), e1 = k + 1 < nk ? exp2f(st[(size_t)(k + 1) * MG__TC + v] * c2 - mn) : 0.0f;
            l[v] += e0;
            l[v] += e1;
            pp[(size_t)(k / 2) * MG__TC + v] = mg__f2bf(e0) | (uint32_t)mg__f2bf(e1) << 16;
        }
    }
}
/* o[i] = ot[32 i + c] inv for i < hd: column c of O^T, scaled. */
MG__REF void mg__col_scale_scalar(float *o, const float *ot, int c, int hd, float inv) {
    int i;
    for (i = 0; i < hd; i++) o[i] = ot[(size_t)i * MG__TC + c] * inv;
}
/* Decoder attention, one block of keys [b0, b0 + KB) for rp query rows (rows of qt, hd wide; row r sees keys
   [lo[r], hi[r]]). kb, vb: the block's K and V rows as floats. Per row, with s_j = q . k_j:
     m' = max(m, max_j s_j),  alpha = exp(m - m'),  e_j = exp(s_j - m'),  l' = alpha l + sum_j e_j,
     O' = alpha O + sum_j e_j v_j
   sc[r][KB] holds the row's e_j afterwards; al[r] its alpha. */
/* The range [*a, *b] of a row's keys within the block; 0 (and alpha 1, no probabilities) when empty. */
static int mg__attn_row_keys(float *s, int *a, int *b, float *alpha) {
    if (*a < 0) *a = 0;
    if (*b > MG__KQ_KB - 1) *b = MG__KQ_KB - 1;
    if (*a <= *b) return 1;
    *alpha = 1.0f;
    memset(s, 0, MG__KQ_KB * sizeof(float));
    return 0;
}
static void mg__attn_row_update(float mn, float sum, float *m, float *l, float *alpha) {
    *alpha = expf(*m - mn);
    *l = *l * *alpha + sum;
    *m = mn;
}
MG__REF void mg__attn_softmax_row_scalar(float *s, int a, int b, float *m, float *l, float *alpha) {
    float mx = -INFINITY, mn, sum = 0;
    int i;
    if (!mg__attn_row_keys(s, &a, &b, alpha)) return;
    for (i = a; i <= b; i++) mx = s[i] > mx ? s[i] : mx;
    mn = *m > mx ? *m : mx;
    for (i = 0; i < MG__KQ_KB; i++) {
        s[i] = i >= a && i <= b ? expf(s[i] - mn) : 0.0f;
        sum += s[i];
    }
    mg__attn_row_update(mn, sum, m, l, alpha);
}
MG__REF void mg__attn_block_scalar(const float *qt, int rp, int hd, int b0, const int *lo, const int *hi, const float *kb,
                                  const float *vb, float *sc, float *m, float *l, float *al, float *o) {
    int r, b1 = b0 + MG__KQ_KB - 1;
    for (r = 0; r < rp; r++) {
        float *sr = sc + (size_t)r * MG__KQ_KB, *orow = o + (size_t)r * hd;
        const float *q = qt + (size_t)r * hd;
        int a = lo[r] > b0 ? lo[r] - b0 : 0, b = hi[r] < b1 ? hi[r] - b0 : MG__KQ_KB - 1, k, d;
        for (k = a; k <= b; k++) {                      /* scores */
            const float *kr = kb + (size_t)k * hd;
            float acc = 0;
            for (d = 0; d < hd; d++) acc += q[d] * kr[d];
            sr[k] = acc;
        }
        mg__attn_softmax_row_scalar(sr, a, b, &m[r], &l[r], &al[r]);
        if (a > b) continue;
        for (d = 0; d < hd; d++) orow[d] *= al[r];      /* O = alpha O + P V */
        for (k = a; k <= b; k++) {
            const float *vr = vb + (size_t)k * hd;
            float pk = sr[k];
            for (d = 0; d < hd; d++) orow[d] += pk * vr[d];
        }
    }
}
/* GELU of n values through the f16 table (ggml's rounding): x <= -10 -> 0, x >= 10 -> x, else tab[f16(x)].
   MG_EXACT_GELU: the float formula. */
static float mg__gelu(float x);   /* >>ops: the formula (MG_EXACT_GELU) */
MG__REF void mg__gelu_f16tab_scalar(float *x, int64_t n, const uint16_t *tab) {
    int64_t i;
    for (i = 0; i < n; i++) {
#ifdef MG_EXACT_GELU
        (void)tab;
        x[i] = mg__gelu(x[i]);
#else
        x[i] = x[i] <= -10.0f ? 0.0f : x[i] >= 10.0f ? x[i] : mg__h2f(tab[mg__f2h(x[i])]);
#endif
    }
}

/* ===== >>kernels: x86 ================================================================================ */
/* AVX2 + FMA dot products, AVX-512 VNNI matrix kernels (decode streams and prefill tiles), AVX-512 (BF16) vision
   tiles and attention. Each function here computes what its _scalar namesake computes; the comments say how. */
#ifdef MG__F16C
/* n floats as halves at byte address y, 8 at a time by vcvtps2ph (round to nearest even, as mg__f2h); a group
   holding a NaN goes through mg__f2h, whose NaN differs from the instruction's in the payload. */
static void mg__f2h_row_f16c(const float *x, uint8_t *y, int64_t n) {
    uint16_t h;
    int k;
    for (; n >= 8; n -= 8, x += 8, y += 16) {
        const __m256 v = _mm256_loadu_ps(x);
        if (!_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)))
            _mm_storeu_si128((__m128i *)y, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        else for (k = 0; k < 8; k++) { h = mg__f2h(x[k]); memcpy(y + 2 * k, &h, 2); }
    }
    for (; n > 0; n--, x++, y += 2) { h = mg__f2h(*x); memcpy(y, &h, 2); }
}
#endif
#ifdef MG__AVX2
static float mg__hsum8(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}
static int32_t mg__hsum8i(__m256i v) {
    __m128i a = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0x4e));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0xb1));
    return _mm_cvtsi128_si32(a);
}
/* sum of the 16 int16 products-of-pairs of unsigned u (0..127) and signed s, as 8 int32 lanes */
static __m256i mg__dot_u8s8(__m256i u, __m256i s8) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s8), _mm256_set1_epi16(1));
}
/* Prefetches bytes [lo, hi) after base: spread over the blocks of a row group, the rows of the next group (one
   sequential stream for the memory system instead of one stream per row). Prefetches never fault. */
MG__INLINE void mg__prefetch_span(const uint8_t *base, size_t lo, size_t hi) {
    for (lo &= ~(size_t)63; lo < hi; lo += 64) _mm_prefetch((const char *)((uintptr_t)base + lo), _MM_HINT_T0);
}
static float mg__dot_f32_avx2(const float *w, const float *x, int64_t n) {
    int64_t i = 0;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    return mg__hsum8(_mm256_add_ps(a0, a1)) + mg__dot_f32_scalar(w + i, x + i, n - i);
}
#ifdef MG__F16C
static float mg__dot_f16_avx2(const uint16_t *w, const uint16_t *x, int64_t n) {
    int64_t i = 0;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))),
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8))),
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8))), a1);
    }
    return mg__hsum8(_mm256_add_ps(a0, a1)) + mg__dot_f16_scalar(w + i, x + i, n - i);
}
#endif
/* |w| . (x with w's sign): maddubs needs an unsigned first operand */
static float mg__dot_q8_0_avx2(const mg__block_q8_0 *w, const mg__block_q8_0 *x, int64_t n) {
    MG__NO_FMA
    int64_t i, nb = n / 32;
    float s = 0;
    for (i = 0; i < nb; i++) {
        __m256i qw = _mm256_loadu_si256((const __m256i *)w[i].qs), qx = _mm256_loadu_si256((const __m256i *)x[i].qs);
        int32_t sumi = mg__hsum8i(mg__dot_u8s8(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw)));
        s += (float)sumi * (mg__h2f(w[i].d) * mg__h2f(x[i].d));
    }
    return s;
}
/* sc_j * (q . qx) per sub-block, kept in 8 int32 lanes; one horizontal sum per block */
static float mg__dot_q4_k_avx2(const mg__block_q4_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int j, sc, m;
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        int32_t summ = 0;
        const uint8_t *q = w->qs;
        const int8_t *a = x->qs;
        const __m256i mask = _mm256_set1_epi8(0x0F);
        __m256i acc = _mm256_setzero_si256();
        for (j = 0; j < 8; j += 2, q += 32, a += 64) {
            __m256i qq = _mm256_loadu_si256((const __m256i *)q);
            __m256i plo = _mm256_maddubs_epi16(_mm256_and_si256(qq, mask), _mm256_loadu_si256((const __m256i *)a));
            __m256i phi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(qq, 4), mask), _mm256_loadu_si256((const __m256i *)(a + 32)));
            int sc2, m2;
            mg__q4k_scale_min(j, w->scales, &sc, &m);
            mg__q4k_scale_min(j + 1, w->scales, &sc2, &m2);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(plo, _mm256_set1_epi16((short)sc)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(phi, _mm256_set1_epi16((short)sc2)));
            summ += m * (x->bsums[2 * j] + x->bsums[2 * j + 1]) + m2 * (x->bsums[2 * j + 2] + x->bsums[2 * j + 3]);
        }
        s += mg__h2f(w->d) * x->d * (float)mg__hsum8i(acc) - mg__h2f(w->dmin) * x->d * (float)summ;
    }
    return s;
}
/* (q - 32) . qx = q . qx - 32 sum(qx): q (0..63) is unsigned for maddubs; the 32 uses the block sums */
static float mg__dot_q6_k_avx2(const mg__block_q6_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    int64_t i;
    int g;
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        int32_t sumi;
        const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
        __m256i acc = _mm256_setzero_si256();
        int h, k;
        for (h = 0; h < 2; h++) {
            __m256i q0 = _mm256_loadu_si256((const __m256i *)(w->ql + 64 * h)), q1 = _mm256_loadu_si256((const __m256i *)(w->ql + 64 * h + 32));
            __m256i hb = _mm256_loadu_si256((const __m256i *)(w->qh + 32 * h)), v[4];
            v[0] = _mm256_or_si256(_mm256_and_si256(q0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
            v[1] = _mm256_or_si256(_mm256_and_si256(q1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m2), 4));
            v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m2), 4));
            v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m2), 4));
            for (k = 0; k < 4; k++) {
                int base = 128 * h + 32 * k;
                __m256i p = _mm256_maddubs_epi16(v[k], _mm256_loadu_si256((const __m256i *)(x->qs + base)));
                __m256i scl = _mm256_set_m128i(_mm_set1_epi16(w->scales[base / 16 + 1]), _mm_set1_epi16(w->scales[base / 16]));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scl));
            }
        }
        sumi = mg__hsum8i(acc);
        for (g = 0; g < 16; g++) sumi -= 32 * w->scales[g] * x->bsums[g];
        s += mg__h2f(w->d) * x->d * (float)sumi;
    }
    return s;
}
/* the 32 nibbles of 16 bytes as bytes 0..15, in weight order: [low nibbles | high nibbles] */
MG__INLINE __m256i mg__nib32(const uint8_t *qs) {
    const __m128i v = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}
/* [sum a, sum b, sum c, sum d] of four vectors of 8 int32 */
MG__INLINE __m128i mg__hsum4x8(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i abcd = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}
/* s + t0 + t1 + t2 + t3, added one after the other as the scalar loops add block terms */
MG__INLINE float mg__add4(float s, __m128 t) {
    float v[4];
    _mm_storeu_ps(v, t);
    s += v[0];
    s += v[1];
    s += v[2];
    return s + v[3];
}
/* Q4_0 and IQ4_NL x Q8_0 (same 18-byte blocks): the nibbles through a 16-entry table of signed weights (Q4_0:
   q - 8, IQ4_NL: the grid), then as Q8_0; four blocks' sums side by side, their terms added in block order */
static float mg__dot_lut4_avx2(const mg__block_q4_0 *w, const mg__block_q8_0 *x, int64_t n, const int8_t *lut) {
    MG__NO_FMA
    const __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)lut));
    int64_t i, nb = n / 32;
    int k;
    float s = 0;
    for (i = 0; i < nb; i += 4) {
        const int m = nb - i < 4 ? (int)(nb - i) : 4;
        __m256i v[4];
        float d[4] = { 0, 0, 0, 0 };
        for (k = 0; k < 4; k++) {
            const int b = k < m ? k : m - 1;
            const __m256i qw = _mm256_shuffle_epi8(tab, mg__nib32(w[i + b].qs)), qx = _mm256_loadu_si256((const __m256i *)x[i + b].qs);
            v[k] = mg__dot_u8s8(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
            d[k] = mg__h2f(w[i + b].d) * mg__h2f(x[i + b].d);
        }
        if (m == 4) s = mg__add4(s, _mm_mul_ps(_mm_cvtepi32_ps(mg__hsum4x8(v[0], v[1], v[2], v[3])), _mm_loadu_ps(d)));
        else for (k = 0; k < m; k++) s += (float)mg__hsum8i(v[k]) * d[k];
    }
    return s;
}
/* Q4_1 x Q8_1: q (0..15) is unsigned for maddubs; the term (d_w d_x) sumi + m_w s_x four blocks at a time */
static float mg__dot_q4_1_avx2(const mg__block_q4_1 *w, const mg__block_q8_1 *x, int64_t n) {
    MG__NO_FMA
    int64_t i, nb = n / 32;
    int k;
    float s = 0;
    for (i = 0; i < nb; i += 4) {
        const int m = nb - i < 4 ? (int)(nb - i) : 4;
        __m256i v[4];
        float d[4] = { 0, 0, 0, 0 }, ms[4] = { 0, 0, 0, 0 };
        for (k = 0; k < 4; k++) {
            const int b = k < m ? k : m - 1;
            v[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(mg__nib32(w[i + b].qs), _mm256_loadu_si256((const __m256i *)x[i + b].qs)),
                                     _mm256_set1_epi16(1));
            d[k] = mg__h2f(w[i + b].d) * mg__h2f(x[i + b].d);
            ms[k] = mg__h2f(w[i + b].m) * mg__h2f(x[i + b].s);
        }
        if (m == 4)
            s = mg__add4(s, _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(mg__hsum4x8(v[0], v[1], v[2], v[3])), _mm_loadu_ps(d)), _mm_loadu_ps(ms)));
        else for (k = 0; k < m; k++) s += (float)mg__hsum8i(v[k]) * d[k] + ms[k];
    }
    return s;
}
/* IQ4_XS: per sub-block the grid values (table lookup) . qx as for Q8_0, weighted by ls - 32 in int16 lanes */
static float mg__dot_iq4_xs_avx2(const mg__block_iq4_xs *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    const __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)mg__iq4_grid));
    int64_t i;
    int j;
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        __m256i acc = _mm256_setzero_si256();
        for (j = 0; j < 8; j++) {
            const __m256i v = _mm256_shuffle_epi8(tab, mg__nib32(w->qs + 16 * j)), a = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(a, v)),
                                                          _mm256_set1_epi16((short)mg__iq4xs_scale(w, j))));
        }
        s += mg__h2f(w->d) * x->d * (float)mg__hsum8i(acc);
    }
    return s;
}
/* Q2_K: 2-bit fields k of 32 bytes are weights 128h + 32k .. +31, i.e. sub-blocks 8h + 2k (bytes 0..15) and
   8h + 2k + 1 (16..31): their products' int16 pair sums get those scales in the two 128-bit halves */
static float mg__dot_q2_k_avx2(const mg__block_q2_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    const __m256i m3 = _mm256_set1_epi8(3);
    int64_t i;
    int h, k;
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        const __m128i sc = _mm_loadu_si128((const __m128i *)w->scales);
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc, 4), _mm_set1_epi8(0x0F)));
        __m256i acc = _mm256_setzero_si256();
        for (h = 0; h < 2; h++) {
            const __m256i qq = _mm256_loadu_si256((const __m256i *)(w->qs + 32 * h));
            for (k = 0; k < 4; k++) {
                const int g = 8 * h + 2 * k;
                const __m256i p = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(qq, 2 * k), m3),
                                                       _mm256_loadu_si256((const __m256i *)(x->qs + 128 * h + 32 * k)));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set_m128i(_mm_set1_epi16((short)(w->scales[g + 1] & 15)),
                                                                                  _mm_set1_epi16((short)(w->scales[g] & 15)))));
            }
        }
        s += mg__h2f(w->d) * x->d * (float)mg__hsum8i(acc) -
             mg__h2f(w->dmin) * x->d * (float)mg__hsum8i(_mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)x->bsums)));
    }
    return s;
}
/* Q3_K: q + 4 = 2 low bits + 4 (high bit), 0..7, unsigned for maddubs; the 4 comes off as 4 sum_g sc_g bsums_g */
static float mg__dot_q3_k_avx2(const mg__block_q3_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    int64_t i;
    int h, k;
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        const __m256i hb = _mm256_loadu_si256((const __m256i *)w->hmask);
        short sc[16];
        __m256i acc = _mm256_setzero_si256();
        int32_t sumi;
        for (k = 0; k < 16; k++) sc[k] = (short)mg__q3k_scale(w->scales, k);
        for (h = 0; h < 2; h++) {
            const __m256i qq = _mm256_loadu_si256((const __m256i *)(w->qs + 32 * h));
            for (k = 0; k < 4; k++) {
                const int g = 8 * h + 2 * k;
                const __m256i v = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qq, 2 * k), m3),
                                                  _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4 * h + k), one), 2));
                const __m256i p = _mm256_maddubs_epi16(v, _mm256_loadu_si256((const __m256i *)(x->qs + 128 * h + 32 * k)));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]))));
            }
        }
        sumi = mg__hsum8i(acc) - 4 * mg__hsum8i(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)sc), _mm256_loadu_si256((const __m256i *)x->bsums)));
        s += mg__h2f(w->d) * x->d * (float)sumi;
    }
    return s;
}
/* Q5_K: Q4_K's kernel with the fifth bit (bit j of qh[l] for sub-block j) added to each nibble */
static float mg__dot_q5_k_avx2(const mg__block_q5_k *w, const mg__block_q8_k *x, int64_t n) {
    MG__NO_FMA
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    int64_t i;
    int j, sc, m, sc2, m2;
    float s = 0;
    for (i = 0; i < n / 256; i++, w++, x++) {
        const __m256i hb = _mm256_loadu_si256((const __m256i *)w->qh);
        const uint8_t *q = w->qs;
        const int8_t *a = x->qs;
        __m256i acc = _mm256_setzero_si256();
        int32_t summ = 0;
        for (j = 0; j < 8; j += 2, q += 32, a += 64) {
            const __m256i qq = _mm256_loadu_si256((const __m256i *)q);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(qq, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, j), one), 4));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qq, 4), m4),
                                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, j + 1), one), 4));
            mg__q4k_scale_min(j, w->scales, &sc, &m);
            mg__q4k_scale_min(j + 1, w->scales, &sc2, &m2);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)a)), _mm256_set1_epi16((short)sc)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 32))), _mm256_set1_epi16((short)sc2)));
            summ += m * (x->bsums[2 * j] + x->bsums[2 * j + 1]) + m2 * (x->bsums[2 * j + 2] + x->bsums[2 * j + 3]);
        }
        s += mg__h2f(w->d) * x->d * (float)mg__hsum8i(acc) - mg__h2f(w->dmin) * x->d * (float)summ;
    }
    return s;
}
#endif
#ifdef MG__AVX512
/* Q8_K activations 16 at a time: the largest magnitude (max_ps returns its second operand for a NaN first one),
   the first value reaching it, the rounding of mg__nearest_int as bit operations. */
static void mg__quant_q8_k_avx512(const float *x, mg__block_q8_k *y, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 256; i++, x += 256, y++) {
        float amax, max = 0, iscale;
        __m512 m = _mm512_setzero_ps(), sc;
        for (j = 0; j < 256; j += 16) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + j)), m);
        amax = _mm512_reduce_max_ps(m);
        if (amax == 0.0f) { memset(y, 0, sizeof *y); continue; }
        for (j = 0; j < 256; j += 16) {
            __mmask16 k = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + j)), _mm512_set1_ps(amax), _CMP_EQ_OQ);
            if (k) { int l = 0; while (!(k >> l & 1)) l++; max = x[j + l]; break; }
        }
        iscale = -127.0f / max;
        sc = _mm512_set1_ps(iscale);
        for (j = 0; j < 256; j += 16) {
            __m512i v = _mm512_castps_si512(_mm512_add_ps(_mm512_mul_ps(sc, _mm512_loadu_ps(x + j)), _mm512_set1_ps(12582912.0f)));
            v = _mm512_min_epi32(_mm512_sub_epi32(_mm512_and_si512(v, _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x00400000)),
                                 _mm512_set1_epi32(127));
            const __m128i q = _mm512_cvtepi32_epi8(v);   /* int8 as the C conversion */
            _mm_storeu_si128((__m128i *)(y->qs + j), q);
            y->bsums[j / 16] = (int16_t)_mm512_reduce_add_epi32(_mm512_cvtepi8_epi32(q));
        }
        y->d = 1.0f / iscale;
    }
}
#endif
#ifdef MG__VNNI
/* ----- block kernels: y[t][r] = W_r . x_t for nr weight rows and the nt converted activation rows of a token
   block. Decode (nt = 1) takes four rows at a time, four results sharing one reduction and one float
   combination in vector lanes; prefill lays each weight block out once for all the tokens and keeps every
   row in its own lane (K-quants and IQ4_XS: mg__tiles_k, 16 rows; Q8_0, Q4_0, IQ4_NL, Q4_1: mg__blk8_rows, eight
   rows).
   Every (row, token) result is the float mg__vec_dot gives: the same exact integer block sums, combined into
   the float sum in block order with the same single-rounded operations (no fused multiply-adds), so results
   depend neither on nt, nr nor the thread count. ----- */
/* 16 int32 lanes folded to 8 (lane i + lane i+8) */
MG__INLINE __m256i mg__fold16(__m512i v) { return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)); }
/* 128-bit lane L of the result = [sum of int32 lanes 4L..4L+3 of v0, of v1, of v2, of v3] */
MG__INLINE __m512i mg__tsum4(__m512i v0, __m512i v1, __m512i v2, __m512i v3) {
    __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
    __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
}
/* sum_k dpwssd(maddubs(q[k], a[64k .. 64k+63]), sc[k]) over k < 4: 256 products, each 64 weighted by their
   scales (int16 lanes), summed exactly in 16 int32 lanes (maddubs pair sums stay below 2^15 here) */
MG__INLINE __m512i mg__dp256(const __m512i *q, const __m512i *sc, const int8_t *a) {
    __m512i a0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(q[0], _mm512_loadu_si512((const void *)a)), sc[0]);
    __m512i a1 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(q[1], _mm512_loadu_si512((const void *)(a + 64))), sc[1]);
    a0 = _mm512_dpwssd_epi32(a0, _mm512_maddubs_epi16(q[2], _mm512_loadu_si512((const void *)(a + 128))), sc[2]);
    a1 = _mm512_dpwssd_epi32(a1, _mm512_maddubs_epi16(q[3], _mm512_loadu_si512((const void *)(a + 192))), sc[3]);
    return _mm512_add_epi32(a0, a1);
}
/* [s_0 .. s_3, s_4 .. s_7] broadcast to int16 lanes: lane i of sc[k] = s_(per k + i / (32 / per)) */
MG__INLINE void mg__spread_scales(__m512i s16, int per, __m512i *sc) {
    const long long m = 0x0001000100010001LL;
    __m512i idx = per == 2 ? _mm512_set_epi64(m, m, m, m, 0, 0, 0, 0) : _mm512_set_epi64(3 * m, 3 * m, 2 * m, 2 * m, m, m, 0, 0);
    const __m512i step = _mm512_set1_epi16((short)per);
    sc[0] = _mm512_permutexvar_epi16(idx, s16); idx = _mm512_add_epi16(idx, step);
    sc[1] = _mm512_permutexvar_epi16(idx, s16); idx = _mm512_add_epi16(idx, step);
    sc[2] = _mm512_permutexvar_epi16(idx, s16); idx = _mm512_add_epi16(idx, step);
    sc[3] = _mm512_permutexvar_epi16(idx, s16);
}

/* Q4_K scales and mins. The 12 scale bytes as 32-bit words w0 = s[0..3], w1 = s[4..7], w2 = s[8..11] give, per byte,
     sc0..3 = w0 & 63                          m0..3 = w1 & 63
     sc4..7 = (w2 & 15) | (w0 >> 2 & 0x30)    m4..7 = (w2 >> 4 & 15) | (w1 >> 2 & 0x30)      */
MG__INLINE __m128i mg__q4k_sm(const uint8_t *scales) {   /* bytes [sc0..7, m0..7] */
    __m128i v = _mm_loadu_si128((const __m128i *)scales);       /* w0 w1 w2 and 4 quant bytes (unused) */
    __m128i lo = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(v, 0x98), _mm_set_epi32(4, 0, 0, 0)),
                               _mm_set_epi32(0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f));        /* w0 w2 w1 w2>>4 */
    __m128i hi = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(v, 0x40), 2), _mm_set_epi32(0x30303030, 0, 0x30303030, 0));
    return _mm_or_si128(lo, hi);
}
/* Q6_K block prepared for dp256: q[k] = quants 64k..64k+63 (0..63, unsigned for maddubs), sc[k] the scales of
   their four sub-blocks of 16. ql = [ql0 | ql1] and qh2 = [qh | qh >> 2] per half, of which bits 0-1 (quants
   0..63 of the half) and bits 4-5 (quants 64..127) of each byte are used. */
MG__INLINE void mg__q6k_prep(const mg__block_q6_k *w, __m512i *q, __m512i *sc, __m256i *sc16) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    int h;
    *sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w->scales));
    mg__spread_scales(_mm512_zextsi256_si512(*sc16), 4, sc);
    for (h = 0; h < 2; h++) {
        __m512i l = _mm512_loadu_si512((const void *)(w->ql + 64 * h));
        __m256i qh = _mm256_loadu_si256((const __m256i *)(w->qh + 32 * h));
        __m512i h2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_slli_epi16(h2, 4), m30));
        q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), _mm512_and_si512(h2, m30));
    }
}
/* One (row, token) of a Q6_K block, 8 lanes summing to sumi = sum_g sc_g sum_l q_l a_l - 32 sum_g sc_g bsums[g] */
MG__INLINE __m256i mg__q6k_sums(const __m512i *q, const __m512i *sc, __m256i sc16, const mg__block_q8_k *a) {
    return _mm256_sub_epi32(mg__fold16(mg__dp256(q, sc, a->qs)),
                            _mm256_slli_epi32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a->bsums), sc16), 5));
}
/* The 16 scales of a Q3_K block minus 32, as int8: bytes 0..7 give scales 0..7 (low nibbles) and 8..15 (high
   nibbles), bytes 8..11 their top 2 bits (scale g at bits 2(g/4) of byte 8 + g%4). The load starts 4 bytes early
   so that it stays inside the block. */
MG__INLINE __m128i mg__q3k_scales16(const uint8_t *s) {
    const __m128i v = _mm_srli_si128(_mm_loadu_si128((const __m128i *)(s - 4)), 4);
    const __m128i lo = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(v, 0x44), _mm_set_epi32(4, 4, 0, 0)), _mm_set1_epi8(0x0F));
    const __m128i hi = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(v, 0xAA), _mm_set_epi32(6, 4, 2, 0)), _mm_set1_epi8(0x03));
    return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi32(hi, 4)), _mm_set1_epi8(32));
}
/* Q2_K/Q3_K low bits as dp256 wants them: q[2h + p] = weights 128h + 64p .. + 63 = the 2-bit fields 2p (first 32)
   and 2p + 1 of qs[32h .. 32h + 31]; Q3_K adds 4 x its high bits (hmask bits 4h + 2p and 4h + 2p + 1). */
MG__INLINE void mg__k2bit_prep(const uint8_t *qs, const uint8_t *hmask, __m512i *q) {
    const __m512i m3 = _mm512_set1_epi8(3), one = _mm512_set1_epi8(1);
    __m512i hb = _mm512_setzero_si512();
    int h, p;
    if (hmask) {
        const __m256i hm = _mm256_loadu_si256((const __m256i *)hmask);
        hb = _mm512_inserti64x4(_mm512_castsi256_si512(hm), _mm256_srli_epi16(hm, 1), 1);
    }
    for (h = 0; h < 2; h++) {
        const __m256i l = _mm256_loadu_si256((const __m256i *)(qs + 32 * h));
        const __m512i lo = _mm512_inserti64x4(_mm512_castsi256_si512(l), _mm256_srli_epi16(l, 2), 1);
        for (p = 0; p < 2; p++) {
            q[2 * h + p] = _mm512_and_si512(_mm512_srl_epi16(lo, _mm_cvtsi32_si128(4 * p)), m3);
            if (hmask)
                q[2 * h + p] = _mm512_or_si512(q[2 * h + p], _mm512_slli_epi16(_mm512_and_si512(_mm512_srl_epi16(hb, _mm_cvtsi32_si128(4 * h + 2 * p)), one), 2));
        }
    }
}
/* One IQ4_XS block against a: q[k] = the grid values of sub-blocks 2k, 2k+1 ([low | high nibbles] of each 16
   bytes), multiplied as |q| times a with q's sign (AVX-512 has no vpsignb) so that the int16 pair sums stay below
   2^15, weighted by the scales (ls - 32), 16 int32 lanes folded to 8. */
/* the 8 scales ls - 32 of an IQ4_XS block as int16 */
MG__INLINE __m128i mg__iq4xs_scales8(const mg__block_iq4_xs *w) {
    uint32_t l;
    __m128i lo, hi;
    memcpy(&l, w->scales_l, 4);
    lo = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)l), _mm_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1));
    lo = _mm_and_si128(_mm_srlv_epi16(lo, _mm_setr_epi16(0, 4, 0, 4, 0, 4, 0, 4)), _mm_set1_epi16(15));
    hi = _mm_and_si128(_mm_srlv_epi16(_mm_set1_epi16((short)w->scales_h), _mm_setr_epi16(0, 2, 4, 6, 8, 10, 12, 14)), _mm_set1_epi16(3));
    return _mm_sub_epi16(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi16(32));
}
MG__INLINE __m256i mg__iq4xs_unit(const mg__block_iq4_xs *w, const mg__block_q8_k *a) {
    const __m512i tab = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)mg__iq4_grid)), m4 = _mm512_set1_epi8(0x0F);
    __m512i sc[4], acc = _mm512_setzero_si512();
    int k;
    mg__spread_scales(_mm512_zextsi128_si512(mg__iq4xs_scales8(w)), 2, sc);
    MG__UNROLL for (k = 0; k < 4; k++) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(w->qs + 32 * k));
        __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(b), b, 1), q, x;
        v = _mm512_shuffle_i64x2(v, v, 0x50);                                /* 128-bit lanes: b0..15 b0..15 b16..31 b16..31 */
        q = _mm512_shuffle_epi8(tab, _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4), m4));
        x = _mm512_loadu_si512((const void *)(a->qs + 64 * k));
        x = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(q), _mm512_setzero_si512(), x);
        acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(_mm512_abs_epi8(q), x), sc[k]);
    }
    return mg__fold16(acc);
}
/* One unit (block w against a) of a format of 16 sub-blocks of 16 (or IQ4_XS), as 8 int32 lanes summing to the
   scalar kernel's sumi: Q6_K and Q3_K with their offsets (32, 4) taken off through the block sums; Q2_K also gives
   *mv, 8 lanes summing to summ = sum_g m_g bsums_g. */
MG__INLINE __m256i mg__k16_unit(const uint8_t *w, int type, const mg__block_q8_k *a, __m256i *mv) {
    const __m256i bs = _mm256_loadu_si256((const __m256i *)a->bsums);
    __m512i q[4], sc[4];
    __m256i sc16;
    if (type == MG_TYPE_IQ4_XS) return mg__iq4xs_unit((const mg__block_iq4_xs *)w, a);
    if (type == MG_TYPE_Q6_K) {
        mg__q6k_prep((const mg__block_q6_k *)w, q, sc, &sc16);
        return mg__q6k_sums(q, sc, sc16, a);
    }
    if (type == MG_TYPE_Q3_K) {
        const mg__block_q3_k *b = (const mg__block_q3_k *)w;
        sc16 = _mm256_cvtepi8_epi16(mg__q3k_scales16(b->scales));
        mg__spread_scales(_mm512_zextsi256_si512(sc16), 4, sc);
        mg__k2bit_prep(b->qs, b->hmask, q);
        return _mm256_sub_epi32(mg__fold16(mg__dp256(q, sc, a->qs)), _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 2));
    }
    {
        const mg__block_q2_k *b = (const mg__block_q2_k *)w;
        const __m128i s8 = _mm_loadu_si128((const __m128i *)b->scales);
        sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(s8, _mm_set1_epi8(0x0F)));
        *mv = _mm256_madd_epi16(bs, _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(0x0F))));
        mg__spread_scales(_mm512_zextsi256_si512(sc16), 4, sc);
        mg__k2bit_prep(b->qs, NULL, q);
        return mg__fold16(mg__dp256(q, sc, a->qs));
    }
}

MG__INLINE __m128 mg__f16x4(uint16_t a, uint16_t b, uint16_t c, uint16_t d) {
    return _mm_cvtph_ps(_mm_set_epi16(0, 0, 0, 0, (short)d, (short)c, (short)b, (short)a));
}
#define MG__Q8K_AT(x, xs, t, b) ((const mg__block_q8_k *)((x) + (size_t)(t) * (xs)) + (b))

/* ----- decode (one token). The rows of a matrix lie back to back, so the (row, block) units of a run of rows are
   one sequence of blocks in memory: the decode kernels walk it in order, four units at a time (one sequential
   stream for the memory system), and add each unit's term to its row's sum in block order. The activation is
   prepared once per call for every unit position. ----- */
#define MG__DEC_NB 64        /* activation blocks the decode kernels prepare (rows of up to 16384 values) */
/* How far ahead (bytes) the decode streams prefetch: on the development machine (Zen 5 VM) the hardware prefetcher
   alone left the kernels at ~23 GB/s per thread from memory; ~10-14 KB ahead gave ~30 (tools/bench_kern.c). */
#ifndef MG__DEC_AHEAD
#define MG__DEC_AHEAD 12288
#endif

/* ax[2c] = [a 128c .. 128c+31 | a 128c+64 .. 128c+95] (partners of the low nibbles of quant bytes 64c .. 64c+63),
   ax[2c+1] = [a 128c+32 .. 128c+63 | a 128c+96 .. 128c+127] (partners of their high nibbles) */
MG__INLINE void mg__q8k_nibble_order(const mg__block_q8_k *a, __m512i *ax) {
    int c;
    for (c = 0; c < 2; c++) {
        const __m512i u = _mm512_loadu_si512((const void *)(a->qs + 128 * c)), v = _mm512_loadu_si512((const void *)(a->qs + 128 * c + 64));
        ax[2 * c] = _mm512_shuffle_i64x2(u, v, 0x44);
        ax[2 * c + 1] = _mm512_shuffle_i64x2(u, v, 0xEE);
    }
}
/* The activation of a decode for nb blocks (nb <= MG__DEC_NB): per block b, ax[4b .. 4b+3] in nibble order and,
   for the four blocks b + k (k < 4) of a run of units starting at block b, their scales dx[b + k] and pair sums:
   int32 lane 4L + k of ps[b] = int16 pair [p_2L, p_2L+1] of block b + k, p_j = bsums[2j] + bsums[2j+1] (the
   activation sum of sub-block j of 32). Blocks nb .. nb+2 repeat blocks 0 .. 2 (a run continues in the next row). */
typedef struct mg__dec_act {
    __m512i ax[4 * (MG__DEC_NB + 3)], ps[MG__DEC_NB];
    float dx[MG__DEC_NB + 3];
} mg__dec_act;
static void mg__dec_act_q4_k(const mg__block_q8_k *a, int nb, mg__dec_act *d) {
    const __m512i tr = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);   /* lane 4L + k <- 4k + L */
    __m128i c[MG__DEC_NB];
    int b;
    for (b = 0; b < nb + 3; b++) mg__q8k_nibble_order(a + b % nb, d->ax + 4 * b);
    for (b = 0; b < nb; b++) c[b] = _mm256_cvtepi32_epi16(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a[b].bsums), _mm256_set1_epi16(1)));
    for (b = 0; b < nb + 3; b++) d->dx[b] = a[b % nb].d;
    for (b = 0; b < nb; b++) {
        __m512i v = _mm512_castsi128_si512(c[b]);
        v = _mm512_inserti32x4(v, c[(b + 1) % nb], 1);
        v = _mm512_inserti32x4(v, c[(b + 2) % nb], 2);
        d->ps[b] = _mm512_permutexvar_epi32(tr, _mm512_inserti32x4(v, c[(b + 3) % nb], 3));
    }
}
/* The scales and mins of four Q4_K/Q5_K blocks (s_k: their scale bytes), block k in 128-bit lane k: bytes
   16k + j = sc_j, 16k + 8 + j = m_j (mg__q4k_sm's unpacking, four blocks at once) */
MG__INLINE __m512i mg__q4k_scales4(const uint8_t *s0, const uint8_t *s1, const uint8_t *s2, const uint8_t *s3) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)s0)), lo, hi;
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)s1), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)s2), 2);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)s3), 3);
    lo = _mm512_and_si512(_mm512_srlv_epi32(_mm512_shuffle_epi32(v, (_MM_PERM_ENUM)0x98), _mm512_set4_epi32(4, 0, 0, 0)),
                          _mm512_set4_epi32(0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f));
    hi = _mm512_and_si512(_mm512_srli_epi32(_mm512_shuffle_epi32(v, (_MM_PERM_ENUM)0x40), 2), _mm512_set4_epi32(0x30303030, 0, 0x30303030, 0));
    return _mm512_or_si512(lo, hi);
}
/* One Q4_K block (q5 = 0) or Q5_K block (q5 = 1) at w against ax: 16 int32 lanes summing to
   sumi = sum_j sc_j sum_l q_l a_l. sidx[v] moves the scales of the two sub-blocks of nibble vector v from this
   block's lane of sm into int16 lanes. Q5_K: h = [qh | qh >> 2] holds the fifth bits of nibble vector v at bit
   v of its bytes (sub-blocks 4 (v >> 1) + (v & 1) and that + 2 are bits 0 and 2 of qh), moved to bit 4. */
MG__INLINE __m512i mg__k4_dot_nib(const uint8_t *w, int q5, const __m512i *ax, __m512i sm, const __m512i *sidx) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), b4 = _mm512_set1_epi8(0x10);
    const __mmask64 even = 0x5555555555555555ULL;
    const uint8_t *qs = q5 ? ((const mg__block_q5_k *)w)->qs : ((const mg__block_q4_k *)w)->qs;
    const __m512i q0 = _mm512_loadu_si512((const void *)qs), q1 = _mm512_loadu_si512((const void *)(qs + 64));
    __m512i v[4], acc;
    v[0] = _mm512_and_si512(q0, m4);
    v[1] = _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4);
    v[2] = _mm512_and_si512(q1, m4);
    v[3] = _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4);
    if (q5) {
        const __m256i qh = _mm256_loadu_si256((const __m256i *)((const mg__block_q5_k *)w)->qh);
        const __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        v[0] = _mm512_or_si512(v[0], _mm512_and_si512(_mm512_slli_epi16(h, 4), b4));
        v[1] = _mm512_or_si512(v[1], _mm512_and_si512(_mm512_slli_epi16(h, 3), b4));
        v[2] = _mm512_or_si512(v[2], _mm512_and_si512(h, b4));
        v[3] = _mm512_or_si512(v[3], _mm512_and_si512(_mm512_srli_epi16(h, 1), b4));
    }
    acc = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(v[0], ax[0]), _mm512_maskz_permutexvar_epi8(even, sidx[0], sm));
    acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(v[1], ax[1]), _mm512_maskz_permutexvar_epi8(even, sidx[1], sm));
    acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(v[2], ax[2]), _mm512_maskz_permutexvar_epi8(even, sidx[2], sm));
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(v[3], ax[3]), _mm512_maskz_permutexvar_epi8(even, sidx[3], sm));
}
/* [sum of the 16 lanes of each of four vectors | four more sums]: u = mg__tsum4 of the first four, mv the other
   four already in that layout (128-bit lane L = their partial sums L); the four lanes are added. */
MG__INLINE __m256i mg__sums4x2(__m512i u, __m512i mv) {
    const __m512i s = _mm512_add_epi32(_mm512_shuffle_i64x2(u, mv, 0x88), _mm512_shuffle_i64x2(u, mv, 0xDD));
    return mg__fold16(_mm512_shuffle_i64x2(s, s, 0xD8));
}
/* Adds the terms t[0 .. m) of consecutive units to their rows' sums, one after the other: the unit at block *b of
   row *row first. */
MG__INLINE void mg__dec_add(__m128 t, int m, int nb, int *b, int *row, __m128 *s, float *y) {
    int k;
    if (m == 4 && *b + 4 < nb) {
        *s = _mm_add_ss(_mm_add_ss(_mm_add_ss(_mm_add_ss(*s, t), _mm_shuffle_ps(t, t, 1)), _mm_shuffle_ps(t, t, 2)), _mm_shuffle_ps(t, t, 3));
        *b += 4;
        return;
    }
    for (k = 0; k < m; k++, t = _mm_shuffle_ps(t, t, 0x39)) {
        *s = _mm_add_ss(*s, t);
        if (++*b == nb) { y[(*row)++] = _mm_cvtss_f32(*s); *s = _mm_setzero_ps(); *b = 0; }
    }
}
/* Q4_K (bb = 144, q5 = 0) or Q5_K (176, 1), nr rows back to back and one token: y[r] = sum over blocks of the
   scalar kernel's term (d dx) sumi - (dmin dx) summ, the four units of a step reduced together (a last step of
   fewer repeats its last unit in the unused lanes). Both formats start with d, dmin and the same 12 scale bytes. */
MG__INLINE void mg__rows_k4(const uint8_t *w, size_t bb, int q5, int nr, const mg__dec_act *d, int nb, float *y) {
    const __mmask64 even = 0x5555555555555555ULL;
    /* mins of unit k, sub-blocks 2L, 2L+1 -> int16 lanes 8L + 2k, 8L + 2k + 1 (bytes 16k + 8 + 2L, + 1) */
#define MG__MIDX(q) ((16 * ((q) & 3) + 8 + 2 * ((q) >> 2)) | (16 * ((q) & 3) + 9 + 2 * ((q) >> 2)) << 16)
    const __m512i midx = _mm512_set_epi32(MG__MIDX(15), MG__MIDX(14), MG__MIDX(13), MG__MIDX(12), MG__MIDX(11), MG__MIDX(10), MG__MIDX(9),
                                          MG__MIDX(8), MG__MIDX(7), MG__MIDX(6), MG__MIDX(5), MG__MIDX(4), MG__MIDX(3), MG__MIDX(2),
                                          MG__MIDX(1), MG__MIDX(0));
#undef MG__MIDX
    /* scales of unit k for nibble vector v: sub-blocks 4 (v >> 1) + (v & 1) (int16 lanes 0..15) and that + 2 */
    const __m512i hi2 = _mm512_maskz_set1_epi16(0xFFFF0000u, 2);
    const int64_t total = (int64_t)nr * nb;
    __m512i sidx[16];
    int64_t i;
    int k, v, b = 0, row = 0;
    __m128 s = _mm_setzero_ps();
    for (k = 0; k < 4; k++)
        for (v = 0; v < 4; v++) sidx[4 * k + v] = _mm512_add_epi16(_mm512_set1_epi16((short)(16 * k + 4 * (v >> 1) + (v & 1))), hi2);
    for (i = 0; i < total; i += 4) {
        const int m = total - i < 4 ? (int)(total - i) : 4;
        const uint8_t *w0 = w + (size_t)i * bb, *w1 = w0 + (m > 1) * bb, *w2 = w0 + (m > 2 ? 2 : m - 1) * bb, *w3 = w0 + (m - 1) * bb;
        const size_t so = offsetof(mg__block_q4_k, scales);
        mg__prefetch_span(w0, MG__DEC_AHEAD, MG__DEC_AHEAD + 4 * bb);
        const __m512i sm = mg__q4k_scales4(w0 + so, w1 + so, w2 + so, w3 + so);
        __m512i u;
        __m256 p;
        __m128i dm16;
        u = mg__tsum4(mg__k4_dot_nib(w0, q5, d->ax + 4 * b, sm, sidx), mg__k4_dot_nib(w1, q5, d->ax + 4 * b + 4, sm, sidx + 4),
                      mg__k4_dot_nib(w2, q5, d->ax + 4 * b + 8, sm, sidx + 8), mg__k4_dot_nib(w3, q5, d->ax + 4 * b + 12, sm, sidx + 12));
        /* [d_0..3 | dmin_0..3] from the blocks' first words (d, dmin); [sumi_0..3 | summ_0..3], summ_k = sum_j m_j p_j;
           then the scalar kernel's terms */
        dm16 = _mm_shuffle_epi8(_mm_set_epi32((int)mg__le32(w3), (int)mg__le32(w2), (int)mg__le32(w1), (int)mg__le32(w0)),
                                _mm_set_epi8(15, 14, 11, 10, 7, 6, 3, 2, 13, 12, 9, 8, 5, 4, 1, 0));
        p = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtph_ps(dm16), _mm256_broadcast_ps((const __m128 *)(d->dx + b))),
                          _mm256_cvtepi32_ps(mg__sums4x2(u, _mm512_madd_epi16(_mm512_maskz_permutexvar_epi8(even, midx, sm), d->ps[b]))));
        mg__dec_add(_mm_sub_ps(_mm256_castps256_ps128(p), _mm256_extractf128_ps(p, 1)), m, nb, &b, &row, &s, y);
    }
}
static void mg__rows_q4_k(const uint8_t *w, int nr, const mg__dec_act *d, int nb, float *y) {
    mg__rows_k4(w, sizeof(mg__block_q4_k), 0, nr, d, nb, y);
}
static void mg__rows_q5_k(const uint8_t *w, int nr, const mg__dec_act *d, int nb, float *y) {
    mg__rows_k4(w, sizeof(mg__block_q5_k), 1, nr, d, nb, y);
}

/* Q6_K, Q3_K, Q2_K or IQ4_XS, nr rows back to back and one token: per unit (row, block) the scalar kernel's term,
   (d dx) sumi (Q2_K: minus (dmin dx) summ), over the units in memory order, four at a time (a last step of fewer
   repeats its last unit in the unused lanes). */
MG__INLINE void mg__rows_k16(const uint8_t *w, int type, int nr, const mg__block_q8_k *a, int nb, float *y) {
    const size_t bb = type == MG_TYPE_Q6_K ? sizeof(mg__block_q6_k) : type == MG_TYPE_Q3_K ? sizeof(mg__block_q3_k)
                    : type == MG_TYPE_Q2_K ? sizeof(mg__block_q2_k) : sizeof(mg__block_iq4_xs);
    const size_t od = type == MG_TYPE_Q6_K ? offsetof(mg__block_q6_k, d) : type == MG_TYPE_Q3_K ? offsetof(mg__block_q3_k, d)
                    : type == MG_TYPE_Q2_K ? offsetof(mg__block_q2_k, d) : 0;
    const int64_t total = (int64_t)nr * nb;
    int64_t i;
    int b = 0, row = 0;
    __m128 s = _mm_setzero_ps();
    for (i = 0; i < total; i += 4) {
        const int m = total - i < 4 ? (int)(total - i) : 4;
        const uint8_t *w0 = w + (size_t)i * bb, *w1 = w0 + (m > 1) * bb, *w2 = w0 + (m > 2 ? 2 : m - 1) * bb, *w3 = w0 + (m - 1) * bb;
        const mg__block_q8_k *a0 = a + b, *a1 = a + (b + 1) % nb, *a2 = a + (b + 2) % nb, *a3 = a + (b + 3) % nb;
        const __m128 dx = _mm_setr_ps(a0->d, a1->d, a2->d, a3->d);
        __m256i v[4], mv[4];
        __m128 t;
        mg__prefetch_span(w0, MG__DEC_AHEAD, MG__DEC_AHEAD + 4 * bb);
        v[0] = mg__k16_unit(w0, type, a0, &mv[0]);
        v[1] = mg__k16_unit(w1, type, a1, &mv[1]);
        v[2] = mg__k16_unit(w2, type, a2, &mv[2]);
        v[3] = mg__k16_unit(w3, type, a3, &mv[3]);
        t = _mm_mul_ps(_mm_mul_ps(mg__f16x4(mg__le16(w0 + od), mg__le16(w1 + od), mg__le16(w2 + od), mg__le16(w3 + od)), dx),
                       _mm_cvtepi32_ps(mg__hsum4x8(v[0], v[1], v[2], v[3])));
        if (type == MG_TYPE_Q2_K)
            t = _mm_sub_ps(t, _mm_mul_ps(_mm_mul_ps(mg__f16x4(mg__le16(w0 + od + 2), mg__le16(w1 + od + 2), mg__le16(w2 + od + 2), mg__le16(w3 + od + 2)), dx),
                                         _mm_cvtepi32_ps(mg__hsum4x8(mv[0], mv[1], mv[2], mv[3]))));
        mg__dec_add(t, m, nb, &b, &row, &s, y);
    }
}
static void mg__rows_q6_k(const uint8_t *w, int nr, const mg__block_q8_k *a, int nb, float *y) { mg__rows_k16(w, MG_TYPE_Q6_K, nr, a, nb, y); }
static void mg__rows_q3_k(const uint8_t *w, int nr, const mg__block_q8_k *a, int nb, float *y) { mg__rows_k16(w, MG_TYPE_Q3_K, nr, a, nb, y); }
static void mg__rows_q2_k(const uint8_t *w, int nr, const mg__block_q8_k *a, int nb, float *y) { mg__rows_k16(w, MG_TYPE_Q2_K, nr, a, nb, y); }
static void mg__rows_iq4_xs(const uint8_t *w, int nr, const mg__block_q8_k *a, int nb, float *y) { mg__rows_k16(w, MG_TYPE_IQ4_XS, nr, a, nb, y); }

/* Q8_0, Q4_0, IQ4_NL (Q8_0 activations) and Q4_1 (Q8_1): 32-weight blocks, the f16 scale first. The 32 weights of
   the block at p: signed as stored (Q8_0), signed through the format's table (Q4_0: q - 8, IQ4_NL: the grid), or
   unsigned nibbles (Q4_1). */
MG__INLINE size_t mg__bb32(int type) {   /* bytes of a block */
    return type == MG_TYPE_Q8_0 ? sizeof(mg__block_q8_0) : type == MG_TYPE_Q4_1 ? sizeof(mg__block_q4_1) : sizeof(mg__block_q4_0);
}
MG__INLINE __m256i mg__w32(const uint8_t *p, int type) {
    if (type == MG_TYPE_Q8_0) return _mm256_loadu_si256((const __m256i *)(p + 2));
    if (type == MG_TYPE_Q4_1) return mg__nib32(p + 4);
    return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(type == MG_TYPE_Q4_0 ? mg__q4_0_lut : mg__iq4_grid))),
                               mg__nib32(p + 2));
}
/* the f16 values at byte off of eight rows, as floats */
MG__INLINE __m256 mg__h8(const uint8_t *const *row, size_t off) {
    return _mm256_cvtph_ps(_mm_set_epi16((short)mg__le16(row[7] + off), (short)mg__le16(row[6] + off), (short)mg__le16(row[5] + off),
                                         (short)mg__le16(row[4] + off), (short)mg__le16(row[3] + off), (short)mg__le16(row[2] + off),
                                         (short)mg__le16(row[1] + off), (short)mg__le16(row[0] + off)));
}
/* Block b of eight rows (rows i and i+4 share a vector) prepared for any number of tokens: wq[i] the weights and,
   for signed weights, c[i] = the dword sums 128 w, so that with a' = a + 128 (unsigned for vpdpbusd)
     sumi = sum w a' - sum 128 w   (exact in int32);  Q4_1: sumi = sum q a directly (q unsigned). */
MG__INLINE void mg__blk8_prep(int type, const uint8_t *const *row, size_t off, __m512i *wq, __m512i *c) {
    int i;
    for (i = 0; i < 4; i++) {
        wq[i] = _mm512_inserti64x4(_mm512_castsi256_si512(mg__w32(row[i] + off, type)), mg__w32(row[i + 4] + off, type), 1);
        if (type != MG_TYPE_Q4_1) c[i] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), wq[i]);
    }
}
/* One activation block xb against the prepared block: the eight rows' terms, (float)sumi (dw dx) (Q4_1: + m_w s_x). */
MG__INLINE __m256 mg__blk8_terms(int type, const __m512i *wq, const __m512i *c, __m256 dw, __m256 mw, const uint8_t *xb) {
    const __m512i z = _mm512_setzero_si512();
    const __m256 dx = _mm256_set1_ps(mg__h2f(mg__le16(xb)));
    __m512i u;
    __m256 t;
    if (type == MG_TYPE_Q4_1) {
        const __m512i ax = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(xb + 4)));
        u = mg__tsum4(_mm512_dpbusd_epi32(z, wq[0], ax), _mm512_dpbusd_epi32(z, wq[1], ax), _mm512_dpbusd_epi32(z, wq[2], ax), _mm512_dpbusd_epi32(z, wq[3], ax));
    } else {
        const __m512i ax = _mm512_xor_si512(_mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(xb + 2))), _mm512_set1_epi8((char)0x80));
        u = mg__tsum4(_mm512_sub_epi32(_mm512_dpbusd_epi32(z, ax, wq[0]), c[0]), _mm512_sub_epi32(_mm512_dpbusd_epi32(z, ax, wq[1]), c[1]),
                      _mm512_sub_epi32(_mm512_dpbusd_epi32(z, ax, wq[2]), c[2]), _mm512_sub_epi32(_mm512_dpbusd_epi32(z, ax, wq[3]), c[3]));
    }
    /* 128-bit lanes of u: rows 0-3, 0-3, 4-7, 4-7 (partial sums), folded to rows 0-7 */
    t = _mm256_mul_ps(_mm256_cvtepi32_ps(mg__fold16(_mm512_shuffle_i64x2(u, u, 0xD8))), _mm256_mul_ps(dw, dx));
    if (type == MG_TYPE_Q4_1) t = _mm256_add_ps(t, _mm256_mul_ps(mw, _mm256_set1_ps(mg__h2f(mg__le16(xb + 2)))));
    return t;
}
/* Up to eight rows (row_bytes rb apart) and nt tokens (activation rows xs apart): s[8 t + i] += the terms of row i,
   token t, block after block; each block of weights is prepared once for all the tokens. */
MG__INLINE void mg__blk8_rows(int type, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *s) {
    const size_t bb = mg__bb32(type);
    const size_t xb = type == MG_TYPE_Q4_1 ? sizeof(mg__block_q8_1) : sizeof(mg__block_q8_0);
    const uint8_t *row[8];
    __m256 acc = _mm256_loadu_ps(s);
    int64_t b;
    int i, t;
    for (i = 0; i < 8; i++) row[i] = w + (size_t)(i < nr ? i : nr - 1) * rb;
    for (b = 0; b < n / 32; b++) {
        __m512i wq[4], c[4];
        const __m256 dw = mg__h8(row, (size_t)b * bb), mw = type == MG_TYPE_Q4_1 ? mg__h8(row, (size_t)b * bb + 2) : dw;
        if (nt == 1) mg__prefetch_span(w, 8 * rb + (size_t)b * 8 * bb, 8 * rb + (size_t)(b + 1) * 8 * bb);
        mg__blk8_prep(type, row, (size_t)b * bb, wq, c);
        if (nt == 1) acc = _mm256_add_ps(acc, mg__blk8_terms(type, wq, c, dw, mw, x + (size_t)b * xb));
        else for (t = 0; t < nt; t++)
            _mm256_storeu_ps(s + 8 * t, _mm256_add_ps(_mm256_loadu_ps(s + 8 * t), mg__blk8_terms(type, wq, c, dw, mw, x + (size_t)t * xs + (size_t)b * xb)));
    }
    if (nt == 1) _mm256_storeu_ps(s, acc);
}
static void mg__blk8_q8_0(const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *s) {
    mg__blk8_rows(MG_TYPE_Q8_0, w, rb, nr, x, xs, nt, n, s);
}
static void mg__blk8_q4_0(const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *s) {
    mg__blk8_rows(MG_TYPE_Q4_0, w, rb, nr, x, xs, nt, n, s);
}
static void mg__blk8_iq4_nl(const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *s) {
    mg__blk8_rows(MG_TYPE_IQ4_NL, w, rb, nr, x, xs, nt, n, s);
}
static void mg__blk8_q4_1(const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *s) {
    mg__blk8_rows(MG_TYPE_Q4_1, w, rb, nr, x, xs, nt, n, s);
}

/* ----- prefill tiles (Q4_K, Q6_K): 16 weight rows in the int32 lanes of a vector x 8 tokens. Each block of a
   row group is first laid out rows-in-lanes (mg__ktile: quants unpacked to bytes, lane r = four consecutive
   quants of row r); then vpdpbusd with four bytes of one token's activations broadcast adds every row's four
   products in its own lane, so nothing is reduced across lanes. Per (row, token) these are the integer sums
   and the float combination of mg__vec_dot, lane by lane. ----- */
#define MG__TILE_ROWS 16
#define MG__TILE_TOKS 8
#define MG__TILE_MIN_TOKS 4   /* fewer tokens go to the four-row kernels (decode), as fast from 3 or 4 tokens on */
typedef struct mg__ktile {
    __m512i q[64];   /* quants (u8): Q4_K sub-block j, step s (quants 4s..4s+3) at 8j + s; Q6_K sub-block g at 4g + s */
    __m512i sc[16];  /* sub-block scales, int32 */
    __m512i ms[8];   /* int16 pairs: Q4_K (m_j, m_j) for bsums 2j, 2j+1; Q6_K (sc_2i, sc_2i+1) for bsums 2i, 2i+1 */
    __m512 d, dmin;  /* block scales (Q6_K: d only) */
} mg__ktile;

/* In-place transpose of a 16 x 16 matrix of int32 (v[i] = row i). */
MG__INLINE void mg__tr16(__m512i *v) {
    __m512i t[16], u[16];
    int i, c;
    MG__UNROLL for (i = 0; i < 16; i += 2) {  /* per 128-bit lane L: rows i, i+1 of columns 4L..4L+3 interleaved */
        t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
    }
    MG__UNROLL for (i = 0; i < 16; i += 4) {  /* u[i + c], lane L = column 4L + c of rows i..i+3 */
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);     u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]); u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    MG__UNROLL for (c = 0; c < 4; c++) {      /* gather lane L of u[c], u[4 + c], u[8 + c], u[12 + c]: column 4L + c */
        __m512i a = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88), b = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xDD);
        __m512i e = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88), f = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xDD);
        v[c] = _mm512_shuffle_i32x4(a, e, 0x88);     v[8 + c] = _mm512_shuffle_i32x4(a, e, 0xDD);
        v[4 + c] = _mm512_shuffle_i32x4(b, f, 0x88); v[12 + c] = _mm512_shuffle_i32x4(b, f, 0xDD);
    }
}
/* int32 lanes a, b -> int16 pairs (a, b) (both fit in int16) */
MG__INLINE __m512i mg__pair16(__m512i a, __m512i b) {
    return _mm512_or_si512(_mm512_and_si512(a, _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(b, 16));
}
/* the f16 value at byte off of each of 16 rows, as floats */
MG__INLINE __m512 mg__f16x16(const uint8_t *const *row, size_t off) {
    uint16_t h[16];
    int i;
    for (i = 0; i < 16; i++) memcpy(&h[i], row[i] + off, 2);
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)h));
}
/* acc + vpdpbusd(w, the 4 bytes at p in every lane) and the same with vpdpwssd. The broadcast is meant to be
   the instruction's memory operand ({1to16}); GCC 12 emits a separate vpbroadcastd instead, which costs ~40%
   more per product here, so for GCC the instruction is written out. */
#if defined(__GNUC__) && !defined(__clang__)
typedef int32_t mg__i32_alias __attribute__((may_alias));
MG__INLINE __m512i mg__dpbusd_bc(__m512i acc, __m512i w, const void *p) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const mg__i32_alias *)p));
    return acc;
}
MG__INLINE __m512i mg__dpwssd_bc(__m512i acc, __m512i w, const void *p) {
    __asm__("vpdpwssd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const mg__i32_alias *)p));
    return acc;
}
#else
MG__INLINE __m512i mg__bc4(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}
MG__INLINE __m512i mg__dpbusd_bc(__m512i acc, __m512i w, const void *p) { return _mm512_dpbusd_epi32(acc, w, mg__bc4(p)); }
MG__INLINE __m512i mg__dpwssd_bc(__m512i acc, __m512i w, const void *p) { return _mm512_dpwssd_epi32(acc, w, mg__bc4(p)); }
#endif

/* bit j of every byte of v, at bit 4 */
MG__INLINE __m512i mg__bit_to4(__m512i v, int j) {
    v = j < 4 ? _mm512_sll_epi32(v, _mm_cvtsi32_si128(4 - j)) : _mm512_srl_epi32(v, _mm_cvtsi32_si128(j - 4));
    return _mm512_and_si512(v, _mm512_set1_epi8(0x10));
}
/* Q4_K (q5 = 0) or Q5_K (q5 = 1) block at byte off of each of 16 rows, rows in lanes. Q5_K: the fifth bits of
   quants 4s..4s+3 of sub-block j are bits j of qh dword s. */
MG__INLINE void mg__ktile_k4(const uint8_t *const *row, size_t off, int q5, mg__ktile *k) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const size_t qs = q5 ? offsetof(mg__block_q5_k, qs) : offsetof(mg__block_q4_k, qs);
    __m512i v[16], qh[16];
    int i, h, s;
    if (q5) {                   /* qh and the first 32 quant bytes: qh[s] = qh dword s of every row, s < 8 */
        MG__UNROLL for (i = 0; i < 16; i++) qh[i] = _mm512_loadu_si512((const void *)(row[i] + off + offsetof(mg__block_q5_k, qh)));
        mg__tr16(qh);
    }
    for (h = 0; h < 2; h++) {   /* quant bytes 64h..64h+63: dwords 0-7 = pair 2h, dwords 8-15 = pair 2h+1 */
        MG__UNROLL for (i = 0; i < 16; i++) v[i] = _mm512_loadu_si512((const void *)(row[i] + off + qs + 64 * h));
        mg__tr16(v);
        MG__UNROLL for (s = 0; s < 16; s++) {   /* pair c = 2h + s/8, step s%8: low nibbles sub-block 2c, high 2c+1 */
            const int j = 4 * h + 2 * (s / 8);
            k->q[8 * j + s % 8] = _mm512_and_si512(v[s], m4);
            k->q[8 * (j + 1) + s % 8] = _mm512_and_si512(_mm512_srli_epi32(v[s], 4), m4);
            if (q5) {
                k->q[8 * j + s % 8] = _mm512_or_si512(k->q[8 * j + s % 8], mg__bit_to4(qh[s % 8], j));
                k->q[8 * (j + 1) + s % 8] = _mm512_or_si512(k->q[8 * (j + 1) + s % 8], mg__bit_to4(qh[s % 8], j + 1));
            }
        }
    }
    MG__UNROLL for (i = 0; i < 16; i++) v[i] = _mm512_cvtepu8_epi32(mg__q4k_sm(((const mg__block_q4_k *)(row[i] + off))->scales));
    mg__tr16(v);                /* v[j] = sc_j, v[8 + j] = m_j of every row */
    MG__UNROLL for (i = 0; i < 8; i++) { k->sc[i] = v[i]; k->ms[i] = mg__pair16(v[8 + i], v[8 + i]); }
    k->d = mg__f16x16(row, off + offsetof(mg__block_q4_k, d));
    k->dmin = mg__f16x16(row, off + offsetof(mg__block_q4_k, dmin));
}
static void mg__ktile_q4_k(const uint8_t *const *row, size_t off, mg__ktile *k) { mg__ktile_k4(row, off, 0, k); }
static void mg__ktile_q5_k(const uint8_t *const *row, size_t off, mg__ktile *k) { mg__ktile_k4(row, off, 1, k); }
/* Q6_K block at byte off of each of 16 rows, rows in lanes: quant 128h + 32c + 4s + b (quarter c) is sub-block
   8h + 2c + s/4, at k->q[32h + 8c + s]; its low 4 bits come from ql byte 64h + 32(c & 1) + 4s + b (nibble c/2),
   its high 2 from qh byte 32h + 4s + b (bits 2c, 2c+1). */
static void mg__ktile_q6_k(const uint8_t *const *row, size_t off, mg__ktile *k) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    __m512i v[16], qh[16];
    int i, h, s;
    MG__UNROLL for (i = 0; i < 16; i++) qh[i] = _mm512_loadu_si512((const void *)((const mg__block_q6_k *)(row[i] + off))->qh);
    mg__tr16(qh);               /* qh[8h + s] = qh dword 8h + s of every row */
    for (h = 0; h < 2; h++) {
        MG__UNROLL for (i = 0; i < 16; i++) v[i] = _mm512_loadu_si512((const void *)(((const mg__block_q6_k *)(row[i] + off))->ql + 64 * h));
        mg__tr16(v);            /* v[s] = ql dword s (quarters 0, 2), v[8 + s] = dword 8 + s (quarters 1, 3) */
        MG__UNROLL for (s = 0; s < 8; s++) {
            const __m512i hb = qh[8 * h + s];
            k->q[32 * h + s]      = _mm512_or_si512(_mm512_and_si512(v[s], m4), _mm512_and_si512(_mm512_slli_epi32(hb, 4), m30));
            k->q[32 * h + 8 + s]  = _mm512_or_si512(_mm512_and_si512(v[8 + s], m4), _mm512_and_si512(_mm512_slli_epi32(hb, 2), m30));
            k->q[32 * h + 16 + s] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(v[s], 4), m4), _mm512_and_si512(hb, m30));
            k->q[32 * h + 24 + s] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(v[8 + s], 4), m4), _mm512_and_si512(_mm512_srli_epi32(hb, 2), m30));
        }
    }
    MG__UNROLL for (i = 0; i < 16; i++) v[i] = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)((const mg__block_q6_k *)(row[i] + off))->scales));
    mg__tr16(v);                /* v[g] = scale g of every row */
    MG__UNROLL for (i = 0; i < 16; i++) k->sc[i] = v[i];
    MG__UNROLL for (i = 0; i < 8; i++) k->ms[i] = mg__pair16(v[2 * i], v[2 * i + 1]);
    k->d = mg__f16x16(row, off + offsetof(mg__block_q6_k, d));
}

/* ----- the same blocks from the lanes layout (>>kernels): every unit of 16 rows is one vector load ----- */
#define MG__LANE_LD(p, i) _mm512_loadu_si512((const void *)((p) + 64 * (i)))
/* Q4_K scales and mins of 16 rows from their scale words w0 = s[0..3], w1 = s[4..7], w2 = s[8..11] (lane r: row
   r): sc[j] = sc_j (int32), ms[j] = int16 pair (m_j, m_j); the unpacking of mg__q4k_scale_min. */
MG__INLINE void mg__q4k_lanes_sm(__m512i w0, __m512i w1, __m512i w2, __m512i *sc, __m512i *ms) {
    const __m512i m6 = _mm512_set1_epi32(63), m4 = _mm512_set1_epi32(15), m30 = _mm512_set1_epi32(0x30);
    __m512i m;
#define MG__SM(j)                                                                                                   \
    sc[j] = _mm512_and_si512(_mm512_srli_epi32(w0, 8 * (j)), m6);                                                   \
    m = _mm512_and_si512(_mm512_srli_epi32(w1, 8 * (j)), m6);                                                       \
    ms[j] = _mm512_or_si512(m, _mm512_slli_epi32(m, 16));                                                           \
    sc[4 + (j)] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 8 * (j)), m4),                             \
                                  _mm512_and_si512(_mm512_srli_epi32(w0, 8 * (j) + 2), m30));                       \
    m = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 8 * (j) + 4), m4),                                   \
                        _mm512_and_si512(_mm512_srli_epi32(w1, 8 * (j) + 2), m30));                                 \
    ms[4 + (j)] = _mm512_or_si512(m, _mm512_slli_epi32(m, 16));
    MG__SM(0) MG__SM(1) MG__SM(2) MG__SM(3)
#undef MG__SM
}
/* Q6_K scales of 16 rows from their scale words v[k] = scales 4k..4k+3: sc[g] = scale g (int32), ms[i] = int16
   pair (scale 2i, scale 2i+1) */
MG__INLINE void mg__q6k_lanes_sc(const __m512i *v, __m512i *sc, __m512i *ms) {
    /* bytes [-, b0, -, b1] and [-, b2, -, b3] of each word, then >> 8 keeping the sign */
    const __m512i lo = _mm512_set4_epi32((int)0x0D800C80, (int)0x09800880, (int)0x05800480, (int)0x01800080);
    const __m512i hi = _mm512_set4_epi32((int)0x0F800E80, (int)0x0B800A80, (int)0x07800680, (int)0x03800280);
    int k;
    MG__UNROLL for (k = 0; k < 4; k++) {
        sc[4 * k] = _mm512_srai_epi32(_mm512_slli_epi32(v[k], 24), 24);
        sc[4 * k + 1] = _mm512_srai_epi32(_mm512_slli_epi32(v[k], 16), 24);
        sc[4 * k + 2] = _mm512_srai_epi32(_mm512_slli_epi32(v[k], 8), 24);
        sc[4 * k + 3] = _mm512_srai_epi32(v[k], 24);
        ms[2 * k] = _mm512_srai_epi16(_mm512_shuffle_epi8(v[k], lo), 8);
        ms[2 * k + 1] = _mm512_srai_epi16(_mm512_shuffle_epi8(v[k], hi), 8);
    }
}
/* Quants 4s..4s+3 of quarter c (0..3) of half h of 16 Q6_K rows (6 bits, 0..63) from ql words l0 = 16h + s,
   l1 = 16h + 8 + s and qh word hb = 8h + s (mg__ktile_q6_k's unpacking). */
MG__INLINE __m512i mg__q6k_lanes_q(__m512i l0, __m512i l1, __m512i hb, int c) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    switch (c) {
    case 0: return _mm512_or_si512(_mm512_and_si512(l0, m4), _mm512_and_si512(_mm512_slli_epi32(hb, 4), m30));
    case 1: return _mm512_or_si512(_mm512_and_si512(l1, m4), _mm512_and_si512(_mm512_slli_epi32(hb, 2), m30));
    case 2: return _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(l0, 4), m4), _mm512_and_si512(hb, m30));
    default: return _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(l1, 4), m4), _mm512_and_si512(_mm512_srli_epi32(hb, 2), m30));
    }
}
/* The 16 blocks of a Q4_K group block g (lanes layout: d, dmin, 3 scale words, 32 quant words) as a tile. */
static void mg__ktile_q4_k_lanes(const uint8_t *g, mg__ktile *k) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    int c, s;
    for (c = 0; c < 4; c++)
        MG__UNROLL for (s = 0; s < 8; s++) {
            const __m512i v = MG__LANE_LD(g + 256, 8 * c + s);
            k->q[8 * (2 * c) + s] = _mm512_and_si512(v, m4);
            k->q[8 * (2 * c + 1) + s] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        }
    mg__q4k_lanes_sm(MG__LANE_LD(g + 64, 0), MG__LANE_LD(g + 64, 1), MG__LANE_LD(g + 64, 2), k->sc, k->ms);
    k->d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)g));
    k->dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(g + 32)));
}
/* The 16 blocks of a Q6_K group block g (lanes layout: 32 ql words, 16 qh words, 4 scale words, d) as a tile. */
static void mg__ktile_q6_k_lanes(const uint8_t *g, mg__ktile *k) {
    __m512i v[4];
    int h, c, s;
    for (h = 0; h < 2; h++)
        MG__UNROLL for (s = 0; s < 8; s++) {
            const __m512i l0 = MG__LANE_LD(g, 16 * h + s), l1 = MG__LANE_LD(g, 16 * h + 8 + s), hb = MG__LANE_LD(g + 2048, 8 * h + s);
            MG__UNROLL for (c = 0; c < 4; c++) k->q[32 * h + 8 * c + s] = mg__q6k_lanes_q(l0, l1, hb, c);
        }
    for (c = 0; c < 4; c++) v[c] = MG__LANE_LD(g + 3072, c);
    mg__q6k_lanes_sc(v, k->sc, k->ms);
    k->d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(g + 3328)));
}
/* Q3_K, Q2_K and IQ4_XS blocks of 16 rows, each row first unpacked on its own: quants in weight order as bytes
   (Q3_K q + 4, Q2_K q, IQ4_XS grid value + 128), the sub-block scales (Q3_K, IQ4_XS: minus 32) and the values
   paired with the block sums (Q2_K: the mins, else the scales), then laid out rows-in-lanes. */
typedef struct mg__kunpack {
    uint8_t q[MG__TILE_ROWS][256];
    int32_t sc[MG__TILE_ROWS][16], ms[MG__TILE_ROWS][16];
    float d[MG__TILE_ROWS], dmin[MG__TILE_ROWS];
} mg__kunpack;
static void mg__kunpack_row(int type, const uint8_t *w, mg__kunpack *u, int r) {
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    int h, k;
    if (type == MG_TYPE_IQ4_XS) {
        const mg__block_iq4_xs *b = (const mg__block_iq4_xs *)w;
        const __m256i tab = _mm256_add_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)mg__iq4_grid)), _mm256_set1_epi8((char)0x80));
        for (k = 0; k < 8; k++) {
            _mm256_storeu_si256((__m256i *)(u->q[r] + 32 * k), _mm256_shuffle_epi8(tab, mg__nib32(b->qs + 16 * k)));
            u->sc[r][k] = u->ms[r][k] = mg__iq4xs_scale(b, k);
        }
        u->d[r] = mg__h2f(b->d);
        u->dmin[r] = 0;
        return;
    }
    for (h = 0; h < 2; h++) {
        const __m256i qq = _mm256_loadu_si256((const __m256i *)(w + (type == MG_TYPE_Q3_K ? offsetof(mg__block_q3_k, qs) : offsetof(mg__block_q2_k, qs)) + 32 * h));
        for (k = 0; k < 4; k++) {
            __m256i v = _mm256_and_si256(_mm256_srli_epi16(qq, 2 * k), m3);
            if (type == MG_TYPE_Q3_K)
                v = _mm256_or_si256(v, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256((const __m256i *)w), 4 * h + k), one), 2));
            _mm256_storeu_si256((__m256i *)(u->q[r] + 128 * h + 32 * k), v);
        }
    }
    if (type == MG_TYPE_Q3_K) {
        const mg__block_q3_k *b = (const mg__block_q3_k *)w;
        const __m512i sc = _mm512_cvtepi8_epi32(mg__q3k_scales16(b->scales));
        _mm512_storeu_si512((void *)u->sc[r], sc);
        _mm512_storeu_si512((void *)u->ms[r], sc);
        u->d[r] = mg__h2f(b->d);
        u->dmin[r] = 0;
    } else {
        const mg__block_q2_k *b = (const mg__block_q2_k *)w;
        const __m128i s8 = _mm_loadu_si128((const __m128i *)b->scales);
        _mm512_storeu_si512((void *)u->sc[r], _mm512_cvtepu8_epi32(_mm_and_si128(s8, _mm_set1_epi8(0x0F))));
        _mm512_storeu_si512((void *)u->ms[r], _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(0x0F))));
        u->d[r] = mg__h2f(b->d);
        u->dmin[r] = mg__h2f(b->dmin);
    }
}
/* The unpacked rows as a tile: k->q[c] = dword c of every row's quants (quants 4c .. 4c + 3) */
static void mg__ktile_unpacked(int type, const uint8_t *const *row, size_t off, mg__ktile *k) {
    mg__kunpack u;
    __m512i v[16];
    int i, c;
    for (i = 0; i < MG__TILE_ROWS; i++) mg__kunpack_row(type, row[i] + off, &u, i);
    for (c = 0; c < 4; c++) {
        MG__UNROLL for (i = 0; i < 16; i++) v[i] = _mm512_loadu_si512((const void *)(u.q[i] + 64 * c));
        mg__tr16(v);
        MG__UNROLL for (i = 0; i < 16; i++) k->q[16 * c + i] = v[i];
    }
    MG__UNROLL for (i = 0; i < 16; i++) v[i] = _mm512_loadu_si512((const void *)u.sc[i]);
    mg__tr16(v);
    MG__UNROLL for (i = 0; i < 16; i++) k->sc[i] = v[i];
    MG__UNROLL for (i = 0; i < 16; i++) v[i] = _mm512_loadu_si512((const void *)u.ms[i]);
    mg__tr16(v);
    if (type == MG_TYPE_IQ4_XS) { MG__UNROLL for (i = 0; i < 8; i++) k->ms[i] = mg__pair16(v[i], v[i]); }
    else { MG__UNROLL for (i = 0; i < 8; i++) k->ms[i] = mg__pair16(v[2 * i], v[2 * i + 1]); }
    k->d = _mm512_loadu_ps(u.d);
    k->dmin = _mm512_loadu_ps(u.dmin);
}

/* One block, 16 rows x 8 tokens (a[t] = token t's activation block): s[16 t + r] += the block's term.
   sumi = sum_j sc_j (q . a over sub-block j) over nsub sub-blocks (8 of 32 or 16 of 16 quants) and
   acc = the int16 pairs ms x bsums pairs (ms: mins, or the scales when the stored quants carry an offset); then
   min = 1 (Q4_K, Q5_K, Q2_K): term = (d dx) sumi - (dmin dx) acc; min = 0 (Q6_K: shift 5, Q3_K: 2, IQ4_XS: 7):
   term = (d dx) (sumi - acc << shift), the stored quants being q + 2^shift. Exact in int32: |sumi| < 2^28. */
MG__INLINE void mg__tile8(const mg__ktile *k, int nsub, int min, int shift, const mg__block_q8_k *const *a, float *s) {
    const int steps = nsub == 16 ? 4 : 8;
    __m512i sumi[MG__TILE_TOKS], acc[MG__TILE_TOKS];
    int j, st, t;
    MG__UNROLL for (t = 0; t < MG__TILE_TOKS; t++) sumi[t] = _mm512_setzero_si512();
    for (j = 0; j < nsub; j++) {
        MG__UNROLL for (t = 0; t < MG__TILE_TOKS; t++) acc[t] = _mm512_setzero_si512();
        MG__UNROLL for (st = 0; st < steps; st++) {   /* acc_t += q . a over quants 4st..4st+3 of the sub-block */
            const __m512i w = k->q[steps * j + st];
            MG__UNROLL for (t = 0; t < MG__TILE_TOKS; t++) acc[t] = mg__dpbusd_bc(acc[t], w, a[t]->qs + steps * 4 * j + 4 * st);
        }
        MG__UNROLL for (t = 0; t < MG__TILE_TOKS; t++) sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(acc[t], k->sc[j]));
    }
    MG__UNROLL for (t = 0; t < MG__TILE_TOKS; t++) acc[t] = _mm512_setzero_si512();
    MG__UNROLL for (j = 0; j < 8; j++) {             /* acc_t = sum of the int16 pairs ms[j] x (bsums[2j], bsums[2j+1]) */
        const __m512i m = k->ms[j];
        MG__UNROLL for (t = 0; t < MG__TILE_TOKS; t++) acc[t] = mg__dpwssd_bc(acc[t], m, a[t]->bsums + 2 * j);
    }
    MG__UNROLL for (t = 0; t < MG__TILE_TOKS; t++) {
        const __m512 dx = _mm512_set1_ps(a[t]->d);
        __m512 term;
        if (!min) term = _mm512_mul_ps(_mm512_mul_ps(k->d, dx), _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi[t], _mm512_sll_epi32(acc[t], _mm_cvtsi32_si128(shift)))));
        else term = _mm512_sub_ps(_mm512_mul_ps(_mm512_mul_ps(k->d, dx), _mm512_cvtepi32_ps(sumi[t])),
                                  _mm512_mul_ps(_mm512_mul_ps(k->dmin, dx), _mm512_cvtepi32_ps(acc[t])));
        _mm512_storeu_ps(s + MG__TILE_ROWS * t, _mm512_add_ps(_mm512_loadu_ps(s + MG__TILE_ROWS * t), term));
    }
}
static void mg__tile8_k32_min(const mg__ktile *k, const mg__block_q8_k *const *a, float *s) { mg__tile8(k, 8, 1, 0, a, s); }
static void mg__tile8_q6_k(const mg__ktile *k, const mg__block_q8_k *const *a, float *s) { mg__tile8(k, 16, 0, 5, a, s); }
static void mg__tile8_q3_k(const mg__ktile *k, const mg__block_q8_k *const *a, float *s) { mg__tile8(k, 16, 0, 2, a, s); }
static void mg__tile8_q2_k(const mg__ktile *k, const mg__block_q8_k *const *a, float *s) { mg__tile8(k, 16, 1, 0, a, s); }
static void mg__tile8_iq4_xs(const mg__ktile *k, const mg__block_q8_k *const *a, float *s) { mg__tile8(k, 8, 0, 7, a, s); }

/* Q2_K..Q6_K or IQ4_XS, nr <= 16 rows (row_bytes rb apart) and nt <= MG__TOK_BLOCK tokens: y[t ys + r] = W_r . x_t.
   Lanes past nr repeat the last row and tokens past nt the last token; their results are dropped. */
static void mg__tiles_k(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n,
                        float *y, size_t ys, int lanes) {
    int blk = 1, bytes = 0;
    size_t bb;
    float s[MG__TILE_ROWS * MG__TOK_BLOCK];
    const uint8_t *row[MG__TILE_ROWS];
    const mg__block_q8_k *a[MG__TILE_TOKS];
    mg__ktile k;
    int64_t b;
    int i, t, t0;
    mg__type_geom(wtype, &blk, &bytes);
    bb = (size_t)bytes;
    for (i = 0; i < MG__TILE_ROWS; i++) row[i] = w + (size_t)(i < nr ? i : nr - 1) * rb;
    memset(s, 0, sizeof s);
    k.dmin = _mm512_setzero_ps();   /* Q6_K has none (set so that no compiler sees it read uninitialised) */
    for (b = 0; b < n / 256; b++) {
        /* the block after next (at the end: of the next 16 rows): a block's tiles take ~1 us */
        const size_t ahead = b + 2 < n / 256 ? (size_t)(b + 2) * bb : MG__TILE_ROWS * rb + (size_t)(b + 2 - n / 256) * bb;
        if (lanes) {   /* Q4_K, Q6_K */
            const uint8_t *g = w + (size_t)b * MG__TILE_ROWS * bb;
            mg__prefetch_span(g, 2 * MG__TILE_ROWS * bb, 3 * MG__TILE_ROWS * bb);
            if (wtype == MG_TYPE_Q4_K) mg__ktile_q4_k_lanes(g, &k);
            else mg__ktile_q6_k_lanes(g, &k);
        } else {
            for (i = 0; i < MG__TILE_ROWS; i++) mg__prefetch_span(row[i], ahead, ahead + bb);
            switch (wtype) {
            case MG_TYPE_Q4_K: mg__ktile_q4_k(row, (size_t)b * bb, &k); break;
            case MG_TYPE_Q5_K: mg__ktile_q5_k(row, (size_t)b * bb, &k); break;
            case MG_TYPE_Q6_K: mg__ktile_q6_k(row, (size_t)b * bb, &k); break;
            default:           mg__ktile_unpacked(wtype, row, (size_t)b * bb, &k); break;
            }
        }
        for (t0 = 0; t0 < nt; t0 += MG__TILE_TOKS) {
            for (t = 0; t < MG__TILE_TOKS; t++) {
                /* and the same lane of the next tile (or of the first tile of the next block): rows xs bytes
                   apart that no hardware prefetcher follows */
                const int tn = t0 + MG__TILE_TOKS + t;
                const size_t next = tn < nt ? (size_t)tn * xs + (size_t)b * sizeof(mg__block_q8_k)
                                            : (size_t)(t < nt ? t : nt - 1) * xs + (size_t)(b + 1) * sizeof(mg__block_q8_k);
                a[t] = MG__Q8K_AT(x, xs, t0 + t < nt ? t0 + t : nt - 1, b);
                mg__prefetch_span(x, next, next + sizeof(mg__block_q8_k));
            }
            switch (wtype) {
            case MG_TYPE_Q6_K:   mg__tile8_q6_k(&k, a, s + MG__TILE_ROWS * t0); break;
            case MG_TYPE_Q3_K:   mg__tile8_q3_k(&k, a, s + MG__TILE_ROWS * t0); break;
            case MG_TYPE_Q2_K:   mg__tile8_q2_k(&k, a, s + MG__TILE_ROWS * t0); break;
            case MG_TYPE_IQ4_XS: mg__tile8_iq4_xs(&k, a, s + MG__TILE_ROWS * t0); break;
            default:             mg__tile8_k32_min(&k, a, s + MG__TILE_ROWS * t0); break;
            }
        }
    }
    for (t = 0; t < nt; t++)
        for (i = 0; i < nr; i++) y[(size_t)t * ys + i] = s[MG__TILE_ROWS * t + i];
}

/* ----- decode from the lanes layout: one token, ng groups of 16 rows back to back (one sequential stream), each
   row's sum in its own lane: y[16 G + r] = the scalar kernel's sum for row r of group G. Per block the exact
   integer sums of the scalar kernel (vpdpbusd with four activation bytes broadcast; sub-block scales by vpmulld)
   and its float term, lane by lane. ----- */
#ifndef MG__LANES_AHEAD
#define MG__LANES_AHEAD 12288   /* bytes the lanes streams prefetch ahead */
#endif
static void mg__lanes_dec_q4_k(const uint8_t *w, int ng, const mg__block_q8_k *a, int nb, float *y) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    int G, b, c, st, j;
    for (G = 0; G < ng; G++) {
        __m512 s = _mm512_setzero_ps();
        for (b = 0; b < nb; b++, w += 16 * sizeof(mg__block_q4_k)) {
            const int8_t *q8 = a[b].qs;
            __m512i sc[8], ms[8], acc[8], sumi = _mm512_setzero_si512(), summ = _mm512_setzero_si512();
            __m512 dx = _mm512_set1_ps(a[b].d);
            mg__prefetch_span(w, MG__LANES_AHEAD, MG__LANES_AHEAD + 16 * sizeof(mg__block_q4_k));
            MG__UNROLL for (j = 0; j < 8; j++) acc[j] = _mm512_setzero_si512();
            MG__UNROLL for (st = 0; st < 8; st++)      /* eight independent sums: sub-blocks 2c (low nibbles), 2c + 1 */
                MG__UNROLL for (c = 0; c < 4; c++) {
                    const __m512i v = MG__LANE_LD(w + 256, 8 * c + st);
                    acc[2 * c] = mg__dpbusd_bc(acc[2 * c], _mm512_and_si512(v, m4), q8 + 64 * c + 4 * st);
                    acc[2 * c + 1] = mg__dpbusd_bc(acc[2 * c + 1], _mm512_and_si512(_mm512_srli_epi16(v, 4), m4), q8 + 64 * c + 32 + 4 * st);
                }
            mg__q4k_lanes_sm(MG__LANE_LD(w + 64, 0), MG__LANE_LD(w + 64, 1), MG__LANE_LD(w + 64, 2), sc, ms);
            MG__UNROLL for (j = 0; j < 8; j++) sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(acc[j], sc[j]));
            MG__UNROLL for (j = 0; j < 8; j++) summ = mg__dpwssd_bc(summ, ms[j], a[b].bsums + 2 * j);
            s = _mm512_add_ps(s, _mm512_sub_ps(
                _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)w)), dx), _mm512_cvtepi32_ps(sumi)),
                _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 32))), dx), _mm512_cvtepi32_ps(summ))));
        }
        _mm512_storeu_ps(y + 16 * G, s);
    }
}
static void mg__lanes_dec_q6_k(const uint8_t *w, int ng, const mg__block_q8_k *a, int nb, float *y) {
    int G, b, h, c, s4, st, i;
    for (G = 0; G < ng; G++) {
        __m512 s = _mm512_setzero_ps();
        for (b = 0; b < nb; b++, w += 16 * sizeof(mg__block_q6_k)) {
            const int8_t *q8 = a[b].qs;
            __m512i v[4], sc[16], ms[8], sumi = _mm512_setzero_si512(), corr = _mm512_setzero_si512();
            mg__prefetch_span(w, MG__LANES_AHEAD, MG__LANES_AHEAD + 16 * sizeof(mg__block_q6_k));
            __m512i acc[16];                              /* sub-block g = 8h + 2c + s/4 */
            MG__UNROLL for (i = 0; i < 16; i++) acc[i] = _mm512_setzero_si512();
            MG__UNROLL for (st = 0; st < 4; st++)         /* sixteen independent sums */
                MG__UNROLL for (h = 0; h < 2; h++)
                    MG__UNROLL for (s4 = 0; s4 < 2; s4++) {
                        const int q = 4 * s4 + st;
                        const __m512i l0 = MG__LANE_LD(w, 16 * h + q), l1 = MG__LANE_LD(w, 16 * h + 8 + q), hb = MG__LANE_LD(w + 2048, 8 * h + q);
                        MG__UNROLL for (c = 0; c < 4; c++)
                            acc[8 * h + 2 * c + s4] = mg__dpbusd_bc(acc[8 * h + 2 * c + s4], mg__q6k_lanes_q(l0, l1, hb, c), q8 + 128 * h + 32 * c + 4 * q);
                    }
            for (i = 0; i < 4; i++) v[i] = MG__LANE_LD(w + 3072, i);
            mg__q6k_lanes_sc(v, sc, ms);
            MG__UNROLL for (i = 0; i < 16; i++) sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(acc[i], sc[i]));
            MG__UNROLL for (i = 0; i < 8; i++) corr = mg__dpwssd_bc(corr, ms[i], a[b].bsums + 2 * i);
            sumi = _mm512_sub_epi32(sumi, _mm512_slli_epi32(corr, 5));   /* quants are stored + 32 */
            s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 3328))),
                                                             _mm512_set1_ps(a[b].d)), _mm512_cvtepi32_ps(sumi)));
        }
        _mm512_storeu_ps(y + 16 * G, s);
    }
}
/* A 32-weight block of 16 rows against the 32 activation quants q: wq[s] = the weights 4s..4s+3 stored unsigned,
   u = w + off (row r in lane r), so = off x the sum of q: sum u q - so = sum w q (exact in int32). Q8_0 off = 128. */
MG__INLINE __m512i mg__lanes_dot32(const __m512i *wq, const int8_t *q, int32_t so) {
    __m512i u0 = _mm512_setzero_si512(), u1 = _mm512_setzero_si512();
    int i;
    MG__UNROLL for (i = 0; i < 8; i += 2) {
        u0 = mg__dpbusd_bc(u0, wq[i], q + 4 * i);
        u1 = mg__dpbusd_bc(u1, wq[i + 1], q + 4 * i + 4);
    }
    return _mm512_sub_epi32(_mm512_add_epi32(u0, u1), _mm512_set1_epi32(so));
}
/* ----- prefill tiles for the 32-weight formats (Q8_0, Q4_0, IQ4_NL with Q8_0 activations, Q4_1 with Q8_1): 16
   weight rows in the int32 lanes, each block laid out once for all the tokens (mg__lanes_dot32). The weights are
   stored unsigned, u = w + off (Q8_0 and IQ4_NL: off 128, Q4_0: the stored q = w + 8, Q4_1: q, off 0), so that
   vpdpbusd takes four activation bytes broadcast as they are; sumi = sum u a - off sum a. ----- */
MG__INLINE int mg__off32(int type) { return type == MG_TYPE_Q4_0 ? 8 : type == MG_TYPE_Q4_1 ? 0 : 128; }
/* the 32 weights of the block at p as u = w + off */
MG__INLINE __m256i mg__wu32(const uint8_t *p, int type) {
    if (type == MG_TYPE_Q8_0) return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 2)), _mm256_set1_epi8((char)0x80));
    if (type == MG_TYPE_Q4_0) return mg__nib32(p + 2);
    if (type == MG_TYPE_Q4_1) return mg__nib32(p + 4);
    return _mm256_shuffle_epi8(_mm256_add_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)mg__iq4_grid)), _mm256_set1_epi8((char)0x80)),
                               mg__nib32(p + 2));
}
/* The scalar kernel's term of block b for 16 rows (row r in lane r) and one token, (float)sumi (d_w d_x) (Q4_1:
   + m_w s_x): wq as for mg__lanes_dot32, dw and mw the rows' scales d and m; xt the token's mg__quant_act row of nb
   blocks, co = mg__act_q8_0_sums(n). */
MG__INLINE __m512 mg__term32(int type, const __m512i *wq, __m512 dw, __m512 mw, const uint8_t *xt, int b, int nb, size_t co) {
    if (type == MG_TYPE_Q4_1) {
        const uint8_t *xb = xt + (size_t)b * sizeof(mg__block_q8_1);
        const __m512 dd = _mm512_mul_ps(dw, _mm512_set1_ps(mg__h2f(mg__le16(xb))));
        return _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(mg__lanes_dot32(wq, (const int8_t *)(xb + 4), 0)), dd),
                             _mm512_mul_ps(mw, _mm512_set1_ps(mg__h2f(mg__le16(xb + 2)))));
    } else {
        const int32_t *cs = (const int32_t *)(xt + co);
        return _mm512_mul_ps(_mm512_cvtepi32_ps(mg__lanes_dot32(wq, (const int8_t *)(xt + (size_t)b * sizeof(mg__block_q8_0) + 2), mg__off32(type) * cs[b])),
                             _mm512_mul_ps(dw, _mm512_set1_ps(((const float *)(cs + nb))[b])));
    }
}
/* Block gb of a group of 16 rows in the lanes layout: wq as for mg__lanes_dot32 (u = w + mg__off32), *dw and *mw
   (Q4_1) the rows' scales. A nibble word holds weights 4i..4i+3 (low nibbles) and 16 + 4i.. (high). */
MG__INLINE void mg__lanes_wq32(int type, const uint8_t *gb, __m512i *wq, __m512 *dw, __m512 *mw) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), c80 = _mm512_set1_epi8((char)0x80);
    int i;
    *dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)gb));
    *mw = type == MG_TYPE_Q4_1 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + 32))) : *dw;
    if (type == MG_TYPE_Q8_0) {
        MG__UNROLL for (i = 0; i < 8; i++) wq[i] = _mm512_xor_si512(MG__LANE_LD(gb + 32, i), c80);
        return;
    }
    MG__UNROLL for (i = 0; i < 4; i++) {
        const __m512i v = MG__LANE_LD(gb + (type == MG_TYPE_Q4_1 ? 64 : 32), i);
        wq[i] = _mm512_and_si512(v, m4);
        wq[i + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
    if (type == MG_TYPE_IQ4_NL) {
        const __m512i tab = _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)mg__iq4_grid)), c80);
        MG__UNROLL for (i = 0; i < 8; i++) wq[i] = _mm512_shuffle_epi8(tab, wq[i]);
    }
}
/* nr <= 16 rows and nt <= MG__TOK_BLOCK tokens: y[t ys + r] = W_r . x_t (lanes past nr repeat the last row; their
   results are dropped). x: rows of mg__quant_act. Per block the rows' weights u are put in lanes (a 16 x 16 word
   transpose of which words 0-7 are used; lanes: w is a group of 16 rows in the lanes layout, mg__lanes_wq32) once
   for all the tokens; s[16 t + r] += the scalar kernel's term (float)sumi (d_w d_x) (Q4_1: + m_w s_x). */
MG__INLINE void mg__tiles32(int type, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *y, size_t ys,
                            int lanes) {
    const size_t bb = mg__bb32(type), co = mg__act_q8_0_sums(n);
    const int nb = (int)(n / 32);
    float s[MG__TILE_ROWS * MG__TOK_BLOCK];
    const uint8_t *row[MG__TILE_ROWS];
    int b, i, t;
    for (i = 0; i < MG__TILE_ROWS; i++) row[i] = w + (size_t)(i < nr ? i : nr - 1) * rb;
    memset(s, 0, sizeof s);
    for (b = 0; b < nb; b++) {
        const size_t o = (size_t)b * bb;
        __m512i wq[16];
        __m512 dw, mw;
        if (lanes) mg__lanes_wq32(type, w + 16 * o, wq, &dw, &mw);
        else {
            for (i = 0; i < 16; i++) {
                mg__prefetch_span(row[i], o + 4 * bb, o + 5 * bb);
                wq[i] = _mm512_castsi256_si512(mg__wu32(row[i] + o, type));
            }
            mg__tr16(wq);
            dw = mg__f16x16(row, o);
            mw = type == MG_TYPE_Q4_1 ? mg__f16x16(row, o + 2) : dw;
        }
        for (t = 0; t < nt; t++)
            _mm512_storeu_ps(s + MG__TILE_ROWS * t, _mm512_add_ps(_mm512_loadu_ps(s + MG__TILE_ROWS * t), mg__term32(type, wq, dw, mw, x + (size_t)t * xs, b, nb, co)));
    }
    for (t = 0; t < nt; t++)
        for (i = 0; i < nr; i++) y[(size_t)t * ys + i] = s[MG__TILE_ROWS * t + i];
}
/* Decode from the lanes layout (as mg__lanes_dec_q4_k) for the 32-weight formats; xt: the token's mg__quant_act row. */
MG__INLINE void mg__lanes_dec32(int type, const uint8_t *w, int ng, const uint8_t *xt, int64_t n, float *y) {
    const size_t gbb = 16 * mg__bb32(type), co = mg__act_q8_0_sums(n);
    const int nb = (int)(n / 32);
    int G, b;
    for (G = 0; G < ng; G++) {
        __m512 s = _mm512_setzero_ps();
        for (b = 0; b < nb; b++, w += gbb) {
            __m512i wq[8];
            __m512 dw, mw;
            mg__prefetch_span(w, MG__LANES_AHEAD, MG__LANES_AHEAD + gbb);
            mg__lanes_wq32(type, w, wq, &dw, &mw);
            s = _mm512_add_ps(s, mg__term32(type, wq, dw, mw, xt, b, nb, co));
        }
        _mm512_storeu_ps(y + 16 * G, s);
    }
}
/* A 32-weight format from the lanes layout: nt < MG__TILE_MIN_TOKS tokens one at a time through the stream of ng
   groups, else group by group through the tiles (mg__tiles32). */
MG__INLINE void mg__lanes32(int type, const uint8_t *w, size_t rb, int ng, const uint8_t *x, size_t xs, int nt, int64_t n, float *y, size_t ys) {
    int t, G;
    if (nt < MG__TILE_MIN_TOKS) for (t = 0; t < nt; t++) mg__lanes_dec32(type, w, ng, x + (size_t)t * xs, n, y + (size_t)t * ys);
    else for (G = 0; G < ng; G++) mg__tiles32(type, w + (size_t)G * 16 * rb, rb, 16, x, xs, nt, n, y + 16 * G, ys, 1);
}
/* mg__mat_block on nr rows (a multiple of 16) in the lanes layout from the group at w: the decode streams below
   MG__TILE_MIN_TOKS tokens, else the tiles. x: rows of mg__quant_act. */
static void mg__mat_block_lanes_vnni(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt,
                                     int64_t n, float *y, size_t ys) {
    const int ng = nr / 16;
    int t, G;
    switch (wtype) {
    case MG_TYPE_Q8_0: mg__lanes32(MG_TYPE_Q8_0, w, rb, ng, x, xs, nt, n, y, ys); return;
    case MG_TYPE_Q4_0: mg__lanes32(MG_TYPE_Q4_0, w, rb, ng, x, xs, nt, n, y, ys); return;
    case MG_TYPE_IQ4_NL: mg__lanes32(MG_TYPE_IQ4_NL, w, rb, ng, x, xs, nt, n, y, ys); return;
    case MG_TYPE_Q4_1: mg__lanes32(MG_TYPE_Q4_1, w, rb, ng, x, xs, nt, n, y, ys); return;
    default: break;
    }
    if (nt < MG__TILE_MIN_TOKS) {
        for (t = 0; t < nt; t++) {
            const mg__block_q8_k *a = (const mg__block_q8_k *)(x + (size_t)t * xs);
            if (wtype == MG_TYPE_Q4_K) mg__lanes_dec_q4_k(w, ng, a, (int)(n / 256), y + (size_t)t * ys);
            else mg__lanes_dec_q6_k(w, ng, a, (int)(n / 256), y + (size_t)t * ys);
        }
        return;
    }
    for (G = 0; G < ng; G++) mg__tiles_k(wtype, w + (size_t)G * 16 * rb, rb, 16, x, xs, nt, n, y + 16 * G, ys, 1);
}
static void mg__tiles32_q8_0(const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *y, size_t ys) {
    mg__tiles32(MG_TYPE_Q8_0, w, rb, nr, x, xs, nt, n, y, ys, 0);
}
static void mg__tiles32_q4_0(const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *y, size_t ys) {
    mg__tiles32(MG_TYPE_Q4_0, w, rb, nr, x, xs, nt, n, y, ys, 0);
}
static void mg__tiles32_iq4_nl(const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *y, size_t ys) {
    mg__tiles32(MG_TYPE_IQ4_NL, w, rb, nr, x, xs, nt, n, y, ys, 0);
}
static void mg__tiles32_q4_1(const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n, float *y, size_t ys) {
    mg__tiles32(MG_TYPE_Q4_1, w, rb, nr, x, xs, nt, n, y, ys, 0);
}

/* mg__mat_block for Q8_0 (rows in lanes), Q4_K and Q6_K (decode streams below MG__TILE_MIN_TOKS tokens, tiles
   above). 0 for the other types. */
static int mg__mat_block_vnni(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n,
                              float *y, size_t ys) {
    int r = 0, t, i;
    float s[8 * MG__TOK_BLOCK];
    if ((mg__act_type(wtype) == MG_TYPE_Q8_0 || wtype == MG_TYPE_Q4_1) && nt >= MG__TILE_MIN_TOKS) {
        for (; r < nr; r += MG__TILE_ROWS) {
            const int m = nr - r < MG__TILE_ROWS ? nr - r : MG__TILE_ROWS;
            switch (wtype) {
            case MG_TYPE_Q8_0: mg__tiles32_q8_0(w + (size_t)r * rb, rb, m, x, xs, nt, n, y + r, ys); break;
            case MG_TYPE_Q4_0: mg__tiles32_q4_0(w + (size_t)r * rb, rb, m, x, xs, nt, n, y + r, ys); break;
            case MG_TYPE_IQ4_NL: mg__tiles32_iq4_nl(w + (size_t)r * rb, rb, m, x, xs, nt, n, y + r, ys); break;
            default: mg__tiles32_q4_1(w + (size_t)r * rb, rb, m, x, xs, nt, n, y + r, ys); break;
            }
        }
        return 1;
    }
    if (mg__act_type(wtype) == MG_TYPE_Q8_0 || wtype == MG_TYPE_Q4_1) {
        for (; r < nr; r += 8) {
            const uint8_t *wr = w + (size_t)r * rb;
            int m = nr - r < 8 ? nr - r : 8;
            for (i = 0; i < 8 * nt; i++) s[i] = 0;
            switch (wtype) {
            case MG_TYPE_Q8_0: mg__blk8_q8_0(wr, rb, m, x, xs, nt, n, s); break;
            case MG_TYPE_Q4_0: mg__blk8_q4_0(wr, rb, m, x, xs, nt, n, s); break;
            case MG_TYPE_IQ4_NL: mg__blk8_iq4_nl(wr, rb, m, x, xs, nt, n, s); break;
            default: mg__blk8_q4_1(wr, rb, m, x, xs, nt, n, s); break;
            }
            for (t = 0; t < nt; t++)
                for (i = 0; i < m; i++) y[(size_t)t * ys + r + i] = s[8 * t + i];
        }
        return 1;
    }
    if (mg__act_type(wtype) == MG_TYPE_Q8_K) {
        const int nb = (int)(n / 256);
        if (nt < MG__TILE_MIN_TOKS && (wtype == MG_TYPE_Q4_K || wtype == MG_TYPE_Q5_K) && nb <= MG__DEC_NB &&
            rb == (size_t)nb * (wtype == MG_TYPE_Q4_K ? sizeof(mg__block_q4_k) : sizeof(mg__block_q5_k))) {
            mg__dec_act d;          /* decode, short batches: one sequential pass over the rows per token */
            for (t = 0; t < nt; t++) {
                mg__dec_act_q4_k((const mg__block_q8_k *)(x + (size_t)t * xs), nb, &d);
                if (wtype == MG_TYPE_Q4_K) mg__rows_q4_k(w, nr, &d, nb, y + (size_t)t * ys);
                else mg__rows_q5_k(w, nr, &d, nb, y + (size_t)t * ys);
            }
            return 1;
        }
        if (nt < MG__TILE_MIN_TOKS && wtype != MG_TYPE_Q4_K && wtype != MG_TYPE_Q5_K && rb == mg__row_bytes(wtype, n)) {
            for (t = 0; t < nt; t++) {
                const mg__block_q8_k *a = (const mg__block_q8_k *)(x + (size_t)t * xs);
                switch (wtype) {
                case MG_TYPE_Q6_K: mg__rows_q6_k(w, nr, a, nb, y + (size_t)t * ys); break;
                case MG_TYPE_Q3_K: mg__rows_q3_k(w, nr, a, nb, y + (size_t)t * ys); break;
                case MG_TYPE_Q2_K: mg__rows_q2_k(w, nr, a, nb, y + (size_t)t * ys); break;
                default:           mg__rows_iq4_xs(w, nr, a, nb, y + (size_t)t * ys); break;
                }
            }
            return 1;
        }
        for (; r < nr; r += MG__TILE_ROWS)
            mg__tiles_k(wtype, w + (size_t)r * rb, rb, nr - r < MG__TILE_ROWS ? nr - r : MG__TILE_ROWS, x, xs, nt, n, y + r, ys, 0);
        return 1;
    }
    return 0;
}
#endif
#ifdef MG__AVX512
/* Tile registers: s0[r], s1[r] = columns 0-15 and 16-31 of row r, loaded as C0 and stored under column masks. */
#define MG__ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define MG__LD(r) \
    if (mode == MG__INIT || (r) >= nr) { s0[r] = i0; s1[r] = i1; } \
    else { s0[r] = _mm512_add_ps(i0, _mm512_maskz_loadu_ps(m0, c + (size_t)(r) * ldc)); \
           s1[r] = _mm512_add_ps(i1, _mm512_maskz_loadu_ps(m1, c + (size_t)(r) * ldc + 16)); }
#define MG__ST(r) \
    if ((r) < nr) { _mm512_mask_storeu_ps(c + (size_t)(r) * ldc, m0, s0[r]); _mm512_mask_storeu_ps(c + (size_t)(r) * ldc + 16, m1, s1[r]); }
#ifdef MG__BF16
/* vdpbf16ps: 16 pair products per instruction, the tile's 24 sums in zmm registers */
static void mg__tile_bf16_avx512(const uint32_t *a, const uint32_t *b, int kp, float *c, size_t ldc, int nr, int nc,
                                 const float *init, int mode) {
    __m512 s0[MG__TR], s1[MG__TR], i0 = _mm512_setzero_ps(), i1 = _mm512_setzero_ps();
    __mmask16 m0 = (__mmask16)(nc >= 16 ? 0xffffu : (1u << nc) - 1);
    __mmask16 m1 = (__mmask16)(nc >= 32 ? 0xffffu : nc > 16 ? (1u << (nc - 16)) - 1 : 0u);
    int p;
    if (init && mode != MG__ACC) { i0 = _mm512_maskz_loadu_ps(m0, init); i1 = _mm512_maskz_loadu_ps(m1, init + 16); }
#define MG__DP(r) { __m512bh br_ = (__m512bh)_mm512_set1_epi32((int)b[r]); \
                    s0[r] = _mm512_dpbf16_ps(s0[r], a0, br_); s1[r] = _mm512_dpbf16_ps(s1[r], a1, br_); }
    MG__ROWS(MG__LD)
    for (p = 0; p < kp; p++, a += MG__TC, b += MG__TR) {
        __m512bh a0 = (__m512bh)_mm512_loadu_si512(a), a1 = (__m512bh)_mm512_loadu_si512(a + 16);
        MG__ROWS(MG__DP)
    }
    MG__ROWS(MG__ST)
#undef MG__DP
}
#endif
static void mg__tile_f32_avx512(const float *a, const float *b, size_t ldb, int kn, float *c, size_t ldc, int nr, int nc,
                                const float *init, int mode) {
    __m512 s0[MG__TR], s1[MG__TR], i0 = _mm512_setzero_ps(), i1 = _mm512_setzero_ps();
    __mmask16 m0 = (__mmask16)(nc >= 16 ? 0xffffu : (1u << nc) - 1);
    __mmask16 m1 = (__mmask16)(nc >= 32 ? 0xffffu : nc > 16 ? (1u << (nc - 16)) - 1 : 0u);
    int p;
    if (init && mode != MG__ACC) { i0 = _mm512_maskz_loadu_ps(m0, init); i1 = _mm512_maskz_loadu_ps(m1, init + 16); }
    MG__ROWS(MG__LD)
    for (p = 0; p < kn; p++, a += MG__TC, b++) {
        __m512 a0 = _mm512_loadu_ps(a), a1 = _mm512_loadu_ps(a + 16);
#define MG__FMA(r) { __m512 br_ = _mm512_set1_ps(b[(r) * ldb]); s0[r] = _mm512_fmadd_ps(a0, br_, s0[r]); s1[r] = _mm512_fmadd_ps(a1, br_, s1[r]); }
        MG__ROWS(MG__FMA)
#undef MG__FMA
    }
    MG__ROWS(MG__ST)
}
#undef MG__ROWS
#undef MG__LD
#undef MG__ST
#ifdef MG__BF16
static void mg__bf16_pairs_avx512(uint32_t *dst, const float *x, int k) {   /* cvtne2ps(hi, lo): lo's 16 bf16 first */
    int i = 0;
    for (; i + 32 <= k; i += 32)
        _mm512_storeu_si512(dst + i / 2, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i)));
    mg__bf16_pairs_scalar(dst + i / 2, x + i, k - i);
}
static void mg__bf16_interleave_avx512(uint32_t *dst, const float *x0, const float *x1, int k) {
    const __m512i ilv = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    int i = 0;
    for (; i + 16 <= k; i += 16)
        _mm512_storeu_si512(dst + i, _mm512_permutexvar_epi16(ilv, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x1 + i), _mm512_loadu_ps(x0 + i))));
    mg__bf16_interleave_scalar(dst + i, x0 + i, x1 + i, k - i);
}
#endif
#ifdef MG__BF16
#define MG__BF16_PAIRS mg__bf16_pairs_avx512
#else
#define MG__BF16_PAIRS mg__bf16_pairs_scalar
#endif
/* F16 weight rows: f16 -> f32 is exact, 16 at a time */
static void mg__wrow_avx512(const mg__mat *w, int64_t o, void *dst, float *tmp, int f32) {
    const uint8_t *src = w->data + (size_t)o * w->row_bytes;
    int k = (int)w->n_in;
    if (w->type == MG_TYPE_F16) {   /* f16 -> f32 is exact */
        float *y = f32 ? (float *)dst : tmp;
        int i = 0;
        for (; i + 16 <= k; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + 2 * (size_t)i))));
        for (; i < k; i++) y[i] = mg__h2f(mg__le16(src + 2 * (size_t)i));
        if (!f32) MG__BF16_PAIRS((uint32_t *)dst, tmp, k);
        return;
    }
    mg__wrow_scalar(w, o, dst, tmp, f32);
}
#ifdef MG__BF16
/* 2^x for 16 floats: x = n + f, |f| <= 1/2, 2^f by its degree-4 Taylor polynomial (relative error < 5e-5,
   far below the bf16 rounding of the probabilities; rescale factors err alike on O and l and cancel),
   scaled by 2^n; x below -127 gives ~0. */
static __m512 mg__exp2_16(__m512 x) {
    __m512 n, f, p;
    x = _mm512_max_ps(x, _mm512_set1_ps(-127.0f));
    n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    f = _mm512_sub_ps(x, n);
    p = _mm512_fmadd_ps(_mm512_set1_ps(9.6181291e-3f), f, _mm512_set1_ps(5.5504109e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022651e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static void mg__softmax_block_bf16(const float *st, int nk, float c2, float *m, float *l, float *ot, int no, uint32_t *pp) {
    int v, k, r;
    /* 16-bit lane order of the pairs: e0[i] then e1[i], from cvtne2ps's [e0[0..15], e1[0..15]] */
    const __m512i ilv = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512 vc2 = _mm512_set1_ps(c2);
    for (v = 0; v < MG__TC; v += 16) {
        __m512 mx = _mm512_set1_ps(-INFINITY), mx1 = mx, mo = _mm512_loadu_ps(m + v), mn, alpha, lv;
        for (k = 0; k + 1 < nk; k += 2) {   /* two chains of max */
            mx = _mm512_max_ps(mx, _mm512_loadu_ps(st + (size_t)k * MG__TC + v));
            mx1 = _mm512_max_ps(mx1, _mm512_loadu_ps(st + (size_t)(k + 1) * MG__TC + v));
        }
        if (k < nk) mx = _mm512_max_ps(mx, _mm512_loadu_ps(st + (size_t)k * MG__TC + v));
        mn = _mm512_max_ps(mo, _mm512_mul_ps(_mm512_max_ps(mx, mx1), vc2));
        alpha = mg__exp2_16(_mm512_sub_ps(mo, mn));
        _mm512_storeu_ps(m + v, mn);
        lv = _mm512_mul_ps(_mm512_loadu_ps(l + v), alpha);
        for (r = 0; r < no; r++) _mm512_storeu_ps(ot + (size_t)r * MG__TC + v, _mm512_mul_ps(_mm512_loadu_ps(ot + (size_t)r * MG__TC + v), alpha));
        for (k = 0; k < nk; k += 2) {
            __m512 e0 = mg__exp2_16(_mm512_fmsub_ps(_mm512_loadu_ps(st + (size_t)k * MG__TC + v), vc2, mn));
            __m512 e1 = k + 1 < nk ? mg__exp2_16(_mm512_fmsub_ps(_mm512_loadu_ps(st + (size_t)(k + 1) * MG__TC + v), vc2, mn))
                                   : _mm512_setzero_ps();
            lv = _mm512_add_ps(lv, e0);
            lv = _mm512_add_ps(lv, e1);
            _mm512_storeu_si512(pp + (size_t)(k / 2) * MG__TC + v, _mm512_permutexvar_epi16(ilv, (__m512i)_mm512_cvtne2ps_pbh(e1, e0)));
        }
        _mm512_storeu_ps(l + v, lv);
    }
}
#endif
static void mg__col_scale_avx512(float *o, const float *ot, int c, int hd, float inv) {   /* 16-lane gathers down the column */
    const __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(MG__TC));
    int i = 0;
    for (; i + 16 <= hd; i += 16) _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_i32gather_ps(idx, ot + (size_t)i * MG__TC + c, 4), _mm512_set1_ps(inv)));
    mg__col_scale_scalar(o + i, ot + (size_t)i * MG__TC + c, 0, hd - i, inv);
}
/* e^x for 16 floats x <= 0 (x < -87 and NaN give 0): x = n ln2 + r with ln2 in two parts, |r| <= ln2 / 2,
   e^r by Cephes' expf polynomial (about 1 ulp), scaled by 2^n. */
static __m512 mg__exp16(__m512 x) {
    __mmask16 ok = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
    __m512 n, r, p;
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    p = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);                /* e^r - 1 */
    return _mm512_maskz_scalef_ps(ok, _mm512_add_ps(p, _mm512_set1_ps(1.0f)), n);
}

/* Lanes [lo, hi] of 16 as a mask (empty when hi < lo). */
static __mmask16 mg__lanes(int lo, int hi) {
    if (lo < 0) lo = 0;
    if (hi > 15) hi = 15;
    return (__mmask16)(hi < lo ? 0u : (0xffffu >> (15 - hi)) & (0xffffu << lo));
}

/* Lane i of the result = the sum of the 16 lanes of v[i], by one tree for every i: P_l = x_l + x_(l+8),
   Q_l = P_l + P_(l+4), R_l = Q_l + Q_(l+2), sum = R_0 + R_1. The shuffles leave the sum of tree input w_n in
   lane 4 (n % 4) + n / 4, so w_n = v[4 (n % 4) + n / 4]. */
MG__INLINE __m512 mg__hsum16x16(const __m512 *v) {
    __m512 t0, t1, t2, t3, t4, t5, t6, t7, u0, u1, u2, u3, r0, r1;
#define MG__H1(a, b) _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE))
#define MG__H2(a, b) _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD))
#define MG__H3(a, b) _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x44), _mm512_shuffle_ps(a, b, 0xEE))
#define MG__H4(a, b) _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD))
    t0 = MG__H1(v[0], v[4]);   t1 = MG__H1(v[8], v[12]);  t2 = MG__H1(v[1], v[5]);   t3 = MG__H1(v[9], v[13]);   /* w0..w7 */
    t4 = MG__H1(v[2], v[6]);   t5 = MG__H1(v[10], v[14]); t6 = MG__H1(v[3], v[7]);   t7 = MG__H1(v[11], v[15]);  /* w8..w15 */
    u0 = MG__H2(t0, t1); u1 = MG__H2(t2, t3); u2 = MG__H2(t4, t5); u3 = MG__H2(t6, t7);
    r0 = MG__H3(u0, u1); r1 = MG__H3(u2, u3);
    return MG__H4(r0, r1);
#undef MG__H1
#undef MG__H2
#undef MG__H3
#undef MG__H4
}

/* s0[i] = q0 . k_i and s1[i] = q1 . k_i for 8 key rows k_i = k + i hd: 16 channel lanes, then mg__hsum16x16. */
static void mg__dot2x8(const float *q0, const float *q1, const float *k, int hd, float *s0, float *s1) {
    __m512 a[16], x0, x1, kv, r;
    int d, i;
    for (i = 0; i < 16; i++) a[i] = _mm512_setzero_ps();
    for (d = 0; d < hd; d += 16) {                        /* the last step masked when hd % 16 */
        __mmask16 mk = d + 16 <= hd ? (__mmask16)0xffffu : mg__lanes(0, hd - d - 1);
        x0 = _mm512_maskz_loadu_ps(mk, q0 + d);
        x1 = _mm512_maskz_loadu_ps(mk, q1 + d);
#define MG__K(i) kv = _mm512_maskz_loadu_ps(mk, k + (size_t)(i) * hd + d); \
                 a[i] = _mm512_fmadd_ps(x0, kv, a[i]); a[8 + (i)] = _mm512_fmadd_ps(x1, kv, a[8 + (i)]);
        MG__K(0) MG__K(1) MG__K(2) MG__K(3) MG__K(4) MG__K(5) MG__K(6) MG__K(7)
#undef MG__K
    }
    r = mg__hsum16x16(a);
    _mm256_storeu_ps(s0, _mm512_castps512_ps256(r));
    _mm256_storeu_ps(s1, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r), 1)));
}

/* 16 floats from the f16 values at p, lanes outside mk zero: the f32 row mg__kv_row_f32 writes, loaded as mg__dot2x8
   and mg__pv2 load it. */
MG__INLINE __m512 mg__ld16h(const uint8_t *p, __mmask16 mk) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mk, p)); }
/* mg__dot2x8 over 8 F16 cache rows read in place (kp[i] = key row i or NULL for a zero row): the same FMAs on
   the same values, so the same sums, without converting the block first. */
static void mg__dot2x8_f16(const float *q0, const float *q1, const uint8_t *const *kp, int hd, float *s0, float *s1) {
    __m512 a[16], x0, x1, kv, r;
    const uint8_t *k[8];
    __mmask16 mz[8];
    int d, i;
    for (i = 0; i < 8; i++) {   /* a zero row: its loads masked off (the pointer is any valid one) */
        k[i] = kp[i] ? kp[i] : (const uint8_t *)q0;
        mz[i] = kp[i] ? (__mmask16)0xffffu : 0;
    }
    for (i = 0; i < 16; i++) a[i] = _mm512_setzero_ps();
    for (d = 0; d < hd; d += 16) {
        __mmask16 mk = d + 16 <= hd ? (__mmask16)0xffffu : mg__lanes(0, hd - d - 1);
        x0 = _mm512_maskz_loadu_ps(mk, q0 + d);
        x1 = _mm512_maskz_loadu_ps(mk, q1 + d);
        MG__UNROLL for (i = 0; i < 8; i++) {   /* unrolled: the 16 sums stay in registers */
            kv = mg__ld16h(k[i] + 2 * (size_t)d, mk & mz[i]);
            a[i] = _mm512_fmadd_ps(x0, kv, a[i]);
            a[8 + i] = _mm512_fmadd_ps(x1, kv, a[8 + i]);
        }
    }
    r = mg__hsum16x16(a);
    _mm256_storeu_ps(s0, _mm512_castps512_ps256(r));
    _mm256_storeu_ps(s1, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r), 1)));
}

/* s_r[i] = q_r . k_i for 4 rows q_r = q + r hd and 4 key rows k_i = k + i hd, stored at s + r KB + i. */
static void mg__dot4x4(const float *q, const float *k, int hd, float *s) {
    __m512 a[16], x0, x1, x2, x3, kv, r;
    int d;
    for (d = 0; d < 16; d++) a[d] = _mm512_setzero_ps();
    for (d = 0; d < hd; d += 16) {                        /* the last step masked when hd % 16 */
        __mmask16 mk = d + 16 <= hd ? (__mmask16)0xffffu : mg__lanes(0, hd - d - 1);
        x0 = _mm512_maskz_loadu_ps(mk, q + d);                 x1 = _mm512_maskz_loadu_ps(mk, q + (size_t)hd + d);
        x2 = _mm512_maskz_loadu_ps(mk, q + 2 * (size_t)hd + d); x3 = _mm512_maskz_loadu_ps(mk, q + 3 * (size_t)hd + d);
#define MG__K(i) kv = _mm512_maskz_loadu_ps(mk, k + (size_t)(i) * hd + d); \
                 a[i] = _mm512_fmadd_ps(x0, kv, a[i]); a[4 + (i)] = _mm512_fmadd_ps(x1, kv, a[4 + (i)]); \
                 a[8 + (i)] = _mm512_fmadd_ps(x2, kv, a[8 + (i)]); a[12 + (i)] = _mm512_fmadd_ps(x3, kv, a[12 + (i)]);
        MG__K(0) MG__K(1) MG__K(2) MG__K(3)
#undef MG__K
    }
    r = mg__hsum16x16(a);                                   /* lane 4 r + i */
    _mm_storeu_ps(s, _mm512_castps512_ps128(r));
    _mm_storeu_ps(s + MG__KQ_KB, _mm512_extractf32x4_ps(r, 1));
    _mm_storeu_ps(s + 2 * MG__KQ_KB, _mm512_extractf32x4_ps(r, 2));
    _mm_storeu_ps(s + 3 * MG__KQ_KB, _mm512_extractf32x4_ps(r, 3));
}

/* Rows of O (stride hd), channels [c, c + 64) below hd: O[r] = alpha_r O[r] + sum_{j = ja..jb} P[r][j] v_j,
   for 4 rows (mg__pv4) or 2 (mg__pv2); every element is the same chain of FMAs in either. */
#define MG__PV_LD(r) { __m512 a_ = _mm512_set1_ps(al[r]); const float *o_ = o + (size_t)(r) * hd + c; \
    s[r][0] = _mm512_mul_ps(a_, _mm512_maskz_loadu_ps(m0, o_));      s[r][1] = _mm512_mul_ps(a_, _mm512_maskz_loadu_ps(m1, o_ + 16)); \
    s[r][2] = _mm512_mul_ps(a_, _mm512_maskz_loadu_ps(m2, o_ + 32)); s[r][3] = _mm512_mul_ps(a_, _mm512_maskz_loadu_ps(m3, o_ + 48)); }
#define MG__PV_FMA(r) { __m512 p_ = _mm512_set1_ps(p[(size_t)(r) * MG__KQ_KB + j]); \
    s[r][0] = _mm512_fmadd_ps(p_, x0, s[r][0]); s[r][1] = _mm512_fmadd_ps(p_, x1, s[r][1]); \
    s[r][2] = _mm512_fmadd_ps(p_, x2, s[r][2]); s[r][3] = _mm512_fmadd_ps(p_, x3, s[r][3]); }
#define MG__PV_ST(r) { float *o_ = o + (size_t)(r) * hd + c; \
    _mm512_mask_storeu_ps(o_, m0, s[r][0]); _mm512_mask_storeu_ps(o_ + 16, m1, s[r][1]); \
    _mm512_mask_storeu_ps(o_ + 32, m2, s[r][2]); _mm512_mask_storeu_ps(o_ + 48, m3, s[r][3]); }
#define MG__PV_DEF(NAME, ROWS) \
static void NAME(const float *p, const float *al, const float *vb, int hd, int c, int ja, int jb, float *o) { \
    __mmask16 m0 = mg__lanes(0, hd - c - 1), m1 = mg__lanes(0, hd - c - 17), m2 = mg__lanes(0, hd - c - 33), m3 = mg__lanes(0, hd - c - 49); \
    __m512 s[4][4], x0, x1, x2, x3; \
    int j; \
    ROWS(MG__PV_LD) \
    for (j = ja; j <= jb; j++) { \
        const float *v_ = vb + (size_t)j * hd + c; \
        x0 = _mm512_maskz_loadu_ps(m0, v_); x1 = _mm512_maskz_loadu_ps(m1, v_ + 16); \
        x2 = _mm512_maskz_loadu_ps(m2, v_ + 32); x3 = _mm512_maskz_loadu_ps(m3, v_ + 48); \
        ROWS(MG__PV_FMA) \
    } \
    ROWS(MG__PV_ST) \
}
#define MG__ROWS2(X) X(0) X(1)
#define MG__ROWS4(X) X(0) X(1) X(2) X(3)
MG__PV_DEF(mg__pv2, MG__ROWS2)
MG__PV_DEF(mg__pv4, MG__ROWS4)
/* mg__pv2 with the value rows read in place from an F16 cache (vp[j]: value row j), channels [c, c + 128): the
   same chain of FMAs per element, in half the passes over the rows. */
static void mg__pv2_f16(const float *p, const float *al, const uint8_t *const *vp, int hd, int c, int ja, int jb, float *o) {
    const __m512 a0 = _mm512_set1_ps(al[0]), a1 = _mm512_set1_ps(al[1]);
    __mmask16 mk[8];
    __m512 s0[8], s1[8];
    int j, v;
    MG__UNROLL for (v = 0; v < 8; v++) {
        mk[v] = mg__lanes(0, hd - c - 16 * v - 1);
        s0[v] = _mm512_mul_ps(a0, _mm512_maskz_loadu_ps(mk[v], o + c + 16 * v));
        s1[v] = _mm512_mul_ps(a1, _mm512_maskz_loadu_ps(mk[v], o + hd + c + 16 * v));
    }
    for (j = ja; j <= jb; j++) {
        const uint8_t *v_ = vp[j] + 2 * (size_t)c;
        const __m512 p0 = _mm512_set1_ps(p[j]), p1 = _mm512_set1_ps(p[MG__KQ_KB + j]);
        MG__UNROLL for (v = 0; v < 8; v++) {
            const __m512 x = mg__ld16h(v_ + 32 * v, mk[v]);
            s0[v] = _mm512_fmadd_ps(p0, x, s0[v]);
            s1[v] = _mm512_fmadd_ps(p1, x, s1[v]);
        }
    }
    MG__UNROLL for (v = 0; v < 8; v++) {
        _mm512_mask_storeu_ps(o + c + 16 * v, mk[v], s0[v]);
        _mm512_mask_storeu_ps(o + hd + c + 16 * v, mk[v], s1[v]);
    }
}
#undef MG__PV_DEF
#undef MG__PV_LD
#undef MG__PV_FMA
#undef MG__PV_ST
#undef MG__ROWS2
#undef MG__ROWS4
/* One row's softmax step, 16 keys per vector: masked max, e^(s - m') by mg__exp16 */
static void mg__attn_softmax_row_avx512(float *s, int a, int b, float *m, float *l, float *alpha) {
    __m512 x[MG__KQ_KB / 16], e = _mm512_setzero_ps(), vm = _mm512_set1_ps(-INFINITY);
    __mmask16 mk[MG__KQ_KB / 16];
    float mn;
    int i;
    if (!mg__attn_row_keys(s, &a, &b, alpha)) return;
    for (i = 0; i < MG__KQ_KB / 16; i++) {
        mk[i] = mg__lanes(a - 16 * i, b - 16 * i);
        x[i] = _mm512_loadu_ps(s + 16 * i);
        vm = _mm512_mask_max_ps(vm, mk[i], vm, x[i]);
    }
    mn = _mm512_reduce_max_ps(vm);
    mn = *m > mn ? *m : mn;
    for (i = 0; i < MG__KQ_KB / 16; i++) {
        __m512 ei = _mm512_maskz_mov_ps(mk[i], mg__exp16(_mm512_sub_ps(x[i], _mm512_set1_ps(mn))));
        _mm512_storeu_ps(s + 16 * i, ei);
        e = _mm512_add_ps(e, ei);
    }
    mg__attn_row_update(mn, _mm512_reduce_add_ps(e), m, l, alpha);
}
/* Scores 4 rows x 4 keys (a last 2 rows x 8), softmax per row, then O = alpha O + P V 4 (or 2) rows x 64 channels. */
static void mg__attn_block_avx512(const float *qt, int rp, int hd, int b0, const int *lo, const int *hi, const float *kb,
                                  const float *vb, float *sc, float *m, float *l, float *al, float *o) {
    int k8, cc, r, b1 = b0 + MG__KQ_KB - 1;
    for (k8 = 0; k8 < MG__KQ_KB; k8 += 8)
        for (r = 0; r < rp; r += 4) {
            const float *q = qt + (size_t)r * hd, *k = kb + (size_t)k8 * hd;
            float *sr = sc + (size_t)r * MG__KQ_KB + k8;
            if (rp - r < 4) {
                if (lo[r] <= b0 + k8 + 7 && hi[r + 1] >= b0 + k8) mg__dot2x8(q, q + hd, k, hd, sr, sr + MG__KQ_KB);
                continue;
            }
            if (lo[r] <= b0 + k8 + 3 && hi[r + 3] >= b0 + k8) mg__dot4x4(q, k, hd, sr);
            if (lo[r] <= b0 + k8 + 7 && hi[r + 3] >= b0 + k8 + 4) mg__dot4x4(q, k + 4 * (size_t)hd, hd, sr + 4);
        }
    for (r = 0; r < rp; r++) mg__attn_softmax_row_avx512(sc + (size_t)r * MG__KQ_KB, lo[r] - b0, hi[r] - b0, &m[r], &l[r], &al[r]);
    for (cc = 0; cc < hd; cc += 64)
        for (r = 0; r < rp; r += 4) {
            int nr = rp - r >= 4 ? 4 : 2, a = lo[r] > b0 ? lo[r] - b0 : 0;
            int b = hi[r + nr - 1] < b1 ? hi[r + nr - 1] - b0 : MG__KQ_KB - 1;
            if (a > b) continue;                    /* no keys here: alpha = 1, P = 0 */
            if (nr == 4) mg__pv4(sc + (size_t)r * MG__KQ_KB, al + r, vb, hd, cc, a, b, o + (size_t)r * hd);
            else mg__pv2(sc + (size_t)r * MG__KQ_KB, al + r, vb, hd, cc, a, b, o + (size_t)r * hd);
        }
}
/* One token (rp = 2 rows: the query heads of a KV head pair group) over an F16 cache, key and value rows read in
   place: kc/vc = the head's rows at slot p % ring, kv_row bytes apart. */
static void mg__attn_block_f16_avx512(const float *qt, int hd, int b0, const int *lo, const int *hi, const uint8_t *kc,
                                      const uint8_t *vc, int ring, size_t kv_row, float *sc, float *m, float *l, float *al, float *o) {
    const uint8_t *kp[MG__KQ_KB], *vp[MG__KQ_KB];
    int i, r, k8, cc, b1 = b0 + MG__KQ_KB - 1, a = lo[0] > b0 ? lo[0] - b0 : 0, b = hi[1] < b1 ? hi[1] - b0 : MG__KQ_KB - 1;
    for (i = 0; i < MG__KQ_KB; i++) {
        int p = b0 + i, in = p >= lo[0] && p <= hi[1], pn = p + MG__KQ_KB;
        kp[i] = in ? kc + (size_t)(p % ring) * kv_row : NULL;
        vp[i] = in ? vc + (size_t)(p % ring) * kv_row : NULL;
        if (in) mg__prefetch_span(vp[i], 0, 2 * (size_t)hd);   /* this block's value rows, read after the scores */
        if (pn <= hi[1])    /* the next block's key rows */
            mg__prefetch_span(kc + (size_t)(pn % ring) * kv_row, 0, 2 * (size_t)hd);
    }
    for (k8 = 0; k8 < MG__KQ_KB; k8 += 8)
        if (lo[0] <= b0 + k8 + 7 && hi[1] >= b0 + k8) mg__dot2x8_f16(qt, qt + hd, kp + k8, hd, sc + k8, sc + MG__KQ_KB + k8);
    for (r = 0; r < 2; r++) mg__attn_softmax_row_avx512(sc + (size_t)r * MG__KQ_KB, lo[r] - b0, hi[r] - b0, &m[r], &l[r], &al[r]);
    if (a <= b)
        for (cc = 0; cc < hd; cc += 128) mg__pv2_f16(sc, al, vp, hd, cc, a, b, o);
}
static void mg__kv_row_f32_avx512(int kt, const uint8_t *src, float *y, int n) {
    int i = 0;
    if (kt != MG_TYPE_F16) { mg__dequant_row(kt, src, y, n); return; }
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + 2 * i))));
    for (; i < n; i++) y[i] = mg__h2f(mg__le16(src + 2 * i));
}
#ifndef MG_EXACT_GELU
static void mg__gelu_f16tab_avx512(float *x, int64_t n, const uint16_t *tab) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i), y;
        __m512i idx = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        y = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(idx, (const void *)tab, 2)));
        y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_set1_ps(-10.0f), _CMP_LE_OQ), y, _mm512_setzero_ps());
        y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_set1_ps(10.0f), _CMP_GE_OQ), y, v);
        _mm512_storeu_ps(x + i, y);
    }
    mg__gelu_f16tab_scalar(x + i, n - i, tab);
}
#endif
#endif /* MG__AVX512 */

/* ===== >>kernels: ARM ================================================================================ */
/* AArch64 Advanced SIMD for every entry (MG__NEON), with sdot (MG__DOTPROD) in the integer dot products, smmla
   (MG__I8MM) in the prefill tiles and bfdot/bfcvt (MG__ARM_BF16) in the bf16 vision tiles and conversions.
   Each function computes what its _scalar namesake computes; the comments say how. The integer formats give the
   scalar kernel's bits: integer sums are exact in any order, and each float term is formed lane by lane with the
   scalar expression's multiplies and adds (no fused multiply-add; GCC contracts none in ISO C mode, clang none
   across intrinsics). */
#ifdef MG__NEON
/* the first n floats at p (all four when n >= 4, none when n <= 0), other lanes 0; and the store of the first n lanes */
MG__INLINE float32x4_t mg__ld4n(const float *p, int n) {
    float t[4] = { 0, 0, 0, 0 };
    if (n >= 4) return vld1q_f32(p);
    if (n > 0) memcpy(t, p, (size_t)n * sizeof(float));
    return vld1q_f32(t);
}
MG__INLINE void mg__st4n(float *p, float32x4_t v, int n) {
    float t[4];
    if (n >= 4) { vst1q_f32(p, v); return; }
    vst1q_f32(t, v);
    if (n > 0) memcpy(p, t, (size_t)n * sizeof(float));
}
/* [sum of the lanes of v[0], of v[1], of v[2], of v[3]], each as (l0 + l1) + (l2 + l3) */
MG__INLINE int32x4_t mg__sum4x4(const int32x4_t *v) { return vpaddq_s32(vpaddq_s32(v[0], v[1]), vpaddq_s32(v[2], v[3])); }
MG__INLINE float32x4_t mg__fsum4x4(const float32x4_t *v) { return vpaddq_f32(vpaddq_f32(v[0], v[1]), vpaddq_f32(v[2], v[3])); }
/* four halves at p0..p3 as floats (exact) */
MG__INLINE float32x4_t mg__h4x(const uint16_t *p0, const uint16_t *p1, const uint16_t *p2, const uint16_t *p3) {
    uint16x4_t h = vld1_dup_u16(p0);
    h = vld1_lane_u16(p1, h, 1);
    h = vld1_lane_u16(p2, h, 2);
    h = vld1_lane_u16(p3, h, 3);
    return vcvt_f32_f16(vreinterpret_f16_u16(h));
}
/* n halves at byte address src as floats, 8 at a time (f16 -> f32 is exact) */
static void mg__h2f_row_neon(const uint8_t *src, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float16x8_t h = vreinterpretq_f16_u8(vld1q_u8(src + 2 * i));
        vst1q_f32(y + i, vcvt_f32_f16(vget_low_f16(h)));
        vst1q_f32(y + i + 4, vcvt_high_f32_f16(h));
    }
    for (; i < n; i++) y[i] = mg__h2f(mg__le16(src + 2 * i));
}
/* n floats as halves at byte address y (round to nearest even, as mg__f2h), 8 at a time */
static void mg__f2h_row_neon(const float *x, uint8_t *y, int64_t n) {
    for (; n >= 8; n -= 8, x += 8, y += 16)
        vst1q_u8(y, vreinterpretq_u8_f16(vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(x)), vld1q_f32(x + 4))));
    for (; n > 0; n--, x++, y += 2) {
        const uint16_t h = mg__f2h(*x);
        memcpy(y, &h, 2);
    }
}
/* four floats to bfloat16 as mg__f2bf rounds (nearest even, NaN quieted): bfcvtn, or the same bit operations */
MG__INLINE uint16x4_t mg__bf4(float32x4_t v) {
#ifdef MG__ARM_BF16
    return vreinterpret_u16_bf16(vcvt_bf16_f32(v));
#else
    const uint32x4_t x = vreinterpretq_u32_f32(v);
    const uint32x4_t r = vaddq_u32(x, vaddq_u32(vdupq_n_u32(0x7fff), vandq_u32(vshrq_n_u32(x, 16), vdupq_n_u32(1))));
    const uint32x4_t nan = vcgtq_u32(vandq_u32(x, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));
    return vshrn_n_u32(vbslq_u32(nan, vorrq_u32(x, vdupq_n_u32(0x400000)), r), 16);
#endif
}
/* [bf(lo_i) | bf(hi_i) << 16]: four bf16 pairs */
MG__INLINE uint32x4_t mg__bf4x2(float32x4_t lo, float32x4_t hi) { return vorrq_u32(vmovl_u16(mg__bf4(lo)), vshll_n_u16(mg__bf4(hi), 16)); }

/* ----- activation conversion ----- */
/* Q8_K: the largest magnitude by maxnm (a NaN is never the maximum, as in the scalar loop), the first value that
   reaches it, then per value round_even(iscale x) by the same float operations, narrowed like the C conversion. */
static void mg__quant_q8_k_neon(const float *x, mg__block_q8_k *y, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 256; i++, x += 256, y++) {
        float32x4_t m = vdupq_n_f32(0.0f), sc;
        float amax, max = 0, iscale;
        for (j = 0; j < 256; j += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + j)));
        amax = vmaxnmvq_f32(m);
        if (amax == 0.0f) { memset(y, 0, sizeof *y); continue; }
        for (j = 0; j < 256; j++) if (fabsf(x[j]) == amax) { max = x[j]; break; }
        iscale = -127.0f / max;
        sc = vdupq_n_f32(iscale);
        for (j = 0; j < 256; j += 16) {
            int32x4_t v[4];
            int8x16_t q;
            int k;
            MG__UNROLL for (k = 0; k < 4; k++) {
                const int32x4_t t = vreinterpretq_s32_f32(vaddq_f32(vmulq_f32(sc, vld1q_f32(x + j + 4 * k)), vdupq_n_f32(12582912.0f)));
                v[k] = vminq_s32(vsubq_s32(vandq_s32(t, vdupq_n_s32(0x007fffff)), vdupq_n_s32(0x00400000)), vdupq_n_s32(127));
            }
            q = vcombine_s8(vmovn_s16(vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]))), vmovn_s16(vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]))));
            vst1q_s8(y->qs + j, q);
            y->bsums[j / 16] = vaddlvq_s8(q);
        }
        y->d = 1.0f / iscale;
    }
}

/* ----- float dot products (F32, F16, BF16 weights): four chains of fused multiply-adds ----- */
MG__KERNEL float mg__dot_f32_neon(const float *w, const float *x, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(w + i), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, vld1q_f32(w + i + 4), vld1q_f32(x + i + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(w + i + 8), vld1q_f32(x + i + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(w + i + 12), vld1q_f32(x + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, vld1q_f32(w + i), vld1q_f32(x + i));
    return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) + mg__dot_f32_scalar(w + i, x + i, n - i);
}
/* halves and bfloat16 widen exactly to floats: vcvt, or a shift into the high half */
MG__KERNEL float mg__dot_f16_neon(const uint16_t *w, const uint16_t *x, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const float16x8_t w0 = vreinterpretq_f16_u16(vld1q_u16(w + i)), x0 = vreinterpretq_f16_u16(vld1q_u16(x + i));
        const float16x8_t w1 = vreinterpretq_f16_u16(vld1q_u16(w + i + 8)), x1 = vreinterpretq_f16_u16(vld1q_u16(x + i + 8));
        a0 = vfmaq_f32(a0, vcvt_f32_f16(vget_low_f16(w0)), vcvt_f32_f16(vget_low_f16(x0)));
        a1 = vfmaq_f32(a1, vcvt_high_f32_f16(w0), vcvt_high_f32_f16(x0));
        a2 = vfmaq_f32(a2, vcvt_f32_f16(vget_low_f16(w1)), vcvt_f32_f16(vget_low_f16(x1)));
        a3 = vfmaq_f32(a3, vcvt_high_f32_f16(w1), vcvt_high_f32_f16(x1));
    }
    return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) + mg__dot_f16_scalar(w + i, x + i, n - i);
}
MG__INLINE float32x4_t mg__bf_lo(uint16x8_t v) { return vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(v), 16)); }
MG__INLINE float32x4_t mg__bf_hi(uint16x8_t v) { return vreinterpretq_f32_u32(vshll_high_n_u16(v, 16)); }
MG__KERNEL float mg__dot_bf16_neon(const uint16_t *w, const uint16_t *x, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const uint16x8_t w0 = vld1q_u16(w + i), x0 = vld1q_u16(x + i), w1 = vld1q_u16(w + i + 8), x1 = vld1q_u16(x + i + 8);
        a0 = vfmaq_f32(a0, mg__bf_lo(w0), mg__bf_lo(x0));
        a1 = vfmaq_f32(a1, mg__bf_hi(w0), mg__bf_hi(x0));
        a2 = vfmaq_f32(a2, mg__bf_lo(w1), mg__bf_lo(x1));
        a3 = vfmaq_f32(a3, mg__bf_hi(w1), mg__bf_hi(x1));
    }
    return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) + mg__dot_bf16_scalar(w + i, x + i, n - i);
}

/* ----- quantized rows (decode; prefill without I8MM): four weight rows . one activation row, each row's float sum
   in a lane. Per block the four rows' exact integer sums come out in lanes (mg__sum4x4), then lane r gets
   the scalar kernel's term for row r and adds it to its sum, block after block. Rows past nr repeat the
   last. ----- */
/* acc + the 16 products a_i b_i, summed exactly in four int32 lanes: sdot, or (ARMv8.0) widening multiplies of
   which pairs meet in int16 (|a_i b_i| <= 128 * 127: the activations are quantized to |q| <= 127) */
MG__INLINE int32x4_t mg__dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#ifdef MG__DOTPROD
    return vdotq_s32(acc, a, b);
#else
    return vpadalq_s16(acc, vmlal_high_s8(vmull_s8(vget_low_s8(a), vget_low_s8(b)), a, b));
#endif
}
/* Q8_0, Q4_0 / IQ4_NL and Q4_1 rows (blocks of 32 weights, bw bytes, quants at qo after the f16 d): per block the
   four rows' q . qx, term (float)sumi (d_w dx) as mg__dot_q8_0_scalar and mg__dot_lut4_scalar, plus m_w s_x for Q4_1
   (activations Q8_1) as mg__dot_q4_1_scalar. The nibble formats' bytes give weights l (low) and l + 16 (high),
   through lut for Q4_0 / IQ4_NL. */
MG__INLINE void mg__rows4_b32(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, int64_t nb, const int8_t *lut, float *s) {
    MG__NO_FMA
    const int q41 = wtype == MG_TYPE_Q4_1, q80 = wtype == MG_TYPE_Q8_0;
    const size_t bw = q80 ? sizeof(mg__block_q8_0) : q41 ? sizeof(mg__block_q4_1) : sizeof(mg__block_q4_0), qo = q41 ? 4 : 2;
    const size_t bx = q41 ? sizeof(mg__block_q8_1) : sizeof(mg__block_q8_0);
    const int8x16_t tab = vld1q_s8(lut);
    const uint8_t *row[4];
    float32x4_t acc = vdupq_n_f32(0.0f);
    int64_t b;
    int r;
    MG__UNROLL for (r = 0; r < 4; r++) row[r] = w + (size_t)(r < nr ? r : nr - 1) * rb;
    for (b = 0; b < nb; b++, x += bx) {
        const int8x16x2_t ax = vld1q_s8_x2((const int8_t *)x + bx - 32);
        const uint16_t *d[4];
        float32x4_t term;
        int32x4_t p[4];
        MG__UNROLL for (r = 0; r < 4; r++) {
            const uint8_t *q = row[r] + (size_t)b * bw;
            int8x16x2_t v;
            if (q80) v = vld1q_s8_x2((const int8_t *)q + qo);
            else {
                const uint8x16_t u = vld1q_u8(q + qo), lo = vandq_u8(u, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(u, 4);
                v.val[0] = q41 ? vreinterpretq_s8_u8(lo) : vqtbl1q_s8(tab, lo);
                v.val[1] = q41 ? vreinterpretq_s8_u8(hi) : vqtbl1q_s8(tab, hi);
            }
            p[r] = mg__dot16(mg__dot16(vdupq_n_s32(0), v.val[0], ax.val[0]), v.val[1], ax.val[1]);
            d[r] = (const uint16_t *)q;
        }
        term = vmulq_f32(vcvtq_f32_s32(mg__sum4x4(p)), vmulq_f32(mg__h4x(d[0], d[1], d[2], d[3]), vdupq_n_f32(mg__h2f(mg__le16(x)))));
        if (q41) term = vaddq_f32(term, vmulq_f32(mg__h4x(d[0] + 1, d[1] + 1, d[2] + 1, d[3] + 1), vdupq_n_f32(mg__h2f(mg__le16(x + 2)))));
        acc = vaddq_f32(acc, term);
    }
    vst1q_f32(s, acc);
}
MG__KERNEL void mg__rows4_q8_0(const uint8_t *w, size_t rb, int nr, const uint8_t *x, int64_t nb, float *s) { mg__rows4_b32(MG_TYPE_Q8_0, w, rb, nr, x, nb, mg__q4_0_lut, s); }
MG__KERNEL void mg__rows4_lut4(const uint8_t *w, size_t rb, int nr, const uint8_t *x, int64_t nb, const int8_t *lut, float *s) { mg__rows4_b32(MG_TYPE_Q4_0, w, rb, nr, x, nb, lut, s); }
MG__KERNEL void mg__rows4_q4_1(const uint8_t *w, size_t rb, int nr, const uint8_t *x, int64_t nb, float *s) { mg__rows4_b32(MG_TYPE_Q4_1, w, rb, nr, x, nb, mg__q4_0_lut, s); }
/* Q4_K / Q5_K block headers of four rows (the same first 16 bytes), rows in lanes: the words [d | dmin << 16,
   w0, w1, w2] (the scale words of mg__q4k_sm), transposed (hw lane r = d | dmin << 16 of row r); then the
   bytes sc0..7 of rows 0, 1 in zs[0] and of rows 2, 3 in zs[1], the mins alike in zm. */
MG__INLINE uint32x4_t mg__q4k_head4(const uint8_t *const *w, uint8x16_t *zs, uint8x16_t *zm) {
    const uint32x4_t r0 = vreinterpretq_u32_u8(vld1q_u8(w[0])), r1 = vreinterpretq_u32_u8(vld1q_u8(w[1]));
    const uint32x4_t r2 = vreinterpretq_u32_u8(vld1q_u8(w[2])), r3 = vreinterpretq_u32_u8(vld1q_u8(w[3]));
    const uint64x2_t t0 = vreinterpretq_u64_u32(vtrn1q_u32(r0, r1)), t1 = vreinterpretq_u64_u32(vtrn2q_u32(r0, r1));
    const uint64x2_t t2 = vreinterpretq_u64_u32(vtrn1q_u32(r2, r3)), t3 = vreinterpretq_u64_u32(vtrn2q_u32(r2, r3));
    const uint32x4_t m3f = vdupq_n_u32(0x3f3f3f3f), m0f = vdupq_n_u32(0x0f0f0f0f), m30 = vdupq_n_u32(0x30303030);
    const uint32x4_t w0 = vreinterpretq_u32_u64(vzip1q_u64(t1, t3)), w1 = vreinterpretq_u32_u64(vzip2q_u64(t0, t2));
    const uint32x4_t w2 = vreinterpretq_u32_u64(vzip2q_u64(t1, t3));
    const uint32x4_t s03 = vandq_u32(w0, m3f), m03 = vandq_u32(w1, m3f);
    const uint32x4_t s47 = vorrq_u32(vandq_u32(w2, m0f), vandq_u32(vshrq_n_u32(w0, 2), m30));
    const uint32x4_t m47 = vorrq_u32(vandq_u32(vshrq_n_u32(w2, 4), m0f), vandq_u32(vshrq_n_u32(w1, 2), m30));
    zs[0] = vreinterpretq_u8_u32(vzip1q_u32(s03, s47)); zs[1] = vreinterpretq_u8_u32(vzip2q_u32(s03, s47));
    zm[0] = vreinterpretq_u8_u32(vzip1q_u32(m03, m47)); zm[1] = vreinterpretq_u8_u32(vzip2q_u32(m03, m47));
    return vreinterpretq_u32_u64(vzip1q_u64(t0, t2));
}
/* the 8 bytes of row r (0..3) in z (rows 0, 1 | 2, 3) widened to 16 bits */
MG__INLINE uint16x8_t mg__row8(const uint8x16_t *z, int r) { return r & 1 ? vmovl_high_u8(z[r / 2]) : vmovl_u8(vget_low_u8(z[r / 2])); }
/* [S_0, S_1, S_2, S_3]: four sub-blocks of 32 quants (sub-block c in u[2c], u[2c + 1], weight order) . the 128
   activations ax */
MG__INLINE int32x4_t mg__dot4x32(const uint8x16_t *u, const int8x16x4_t *ax) {
    const int32x4_t z = vdupq_n_s32(0);
    const int32x4_t s0 = mg__dot16(mg__dot16(z, vreinterpretq_s8_u8(u[0]), ax[0].val[0]), vreinterpretq_s8_u8(u[1]), ax[0].val[1]);
    const int32x4_t s1 = mg__dot16(mg__dot16(z, vreinterpretq_s8_u8(u[2]), ax[0].val[2]), vreinterpretq_s8_u8(u[3]), ax[0].val[3]);
    const int32x4_t s2 = mg__dot16(mg__dot16(z, vreinterpretq_s8_u8(u[4]), ax[1].val[0]), vreinterpretq_s8_u8(u[5]), ax[1].val[1]);
    const int32x4_t s3 = mg__dot16(mg__dot16(z, vreinterpretq_s8_u8(u[6]), ax[1].val[2]), vreinterpretq_s8_u8(u[7]), ax[1].val[3]);
    return vpaddq_s32(vpaddq_s32(s0, s1), vpaddq_s32(s2, s3));
}
/* the four sub-blocks of 64 quant bytes q as 0..15: low nibbles of bytes 0..31, their high nibbles, the same of
   bytes 32..63 */
MG__INLINE void mg__q4k_nib(uint8x16x4_t q, uint8x16_t *u) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    u[0] = vandq_u8(q.val[0], m4); u[1] = vandq_u8(q.val[1], m4); u[2] = vshrq_n_u8(q.val[0], 4); u[3] = vshrq_n_u8(q.val[1], 4);
    u[4] = vandq_u8(q.val[2], m4); u[5] = vandq_u8(q.val[3], m4); u[6] = vshrq_n_u8(q.val[2], 4); u[7] = vshrq_n_u8(q.val[3], 4);
}
/* Q5_K: the fifth bits of sub-blocks 4h + c (bit 4h + c of qh[l], l = 0..15 in qh[0], 16..31 in qh[1]) into bit 4 */
MG__INLINE void mg__q5k_bit4(const uint8x16_t *qh, int h, uint8x16_t *u) {
    const uint8x16_t m = vdupq_n_u8(0x10);
    int k;
    MG__UNROLL for (k = 0; k < 2; k++) {
        const uint8x16_t b = h ? vshrq_n_u8(qh[k], 4) : qh[k];
        u[k] = vbslq_u8(m, vshlq_n_u8(b, 4), u[k]);
        u[2 + k] = vbslq_u8(m, vshlq_n_u8(b, 3), u[2 + k]);
        u[4 + k] = vbslq_u8(m, vshlq_n_u8(b, 2), u[4 + k]);
        u[6 + k] = vbslq_u8(m, vshlq_n_u8(b, 1), u[6 + k]);
    }
}
/* Q4_K (q5 = 0) and Q5_K (q5 = 1): sumi_r = sum_j sc_j (q . a over sub-block j): per half h (quant bytes 64h..64h+63)
   [S_4h .. S_4h+3] times their scales (the activations loaded once for the four rows); summ_r = sum_j m_j
   (bsums[2j] + bsums[2j+1]). Term: (d dx) sumi - (dmin dx) summ. */
MG__INLINE void mg__rows4_k4(int q5, const uint8_t *w, size_t rb, int nr, const mg__block_q8_k *a, int64_t nb, float *s) {
    MG__NO_FMA
    const size_t bb = q5 ? sizeof(mg__block_q5_k) : sizeof(mg__block_q4_k), qo = q5 ? offsetof(mg__block_q5_k, qs) : offsetof(mg__block_q4_k, qs);
    const uint8_t *row[4];
    float32x4_t acc = vdupq_n_f32(0.0f);
    int64_t b;
    int r, h, k;
    MG__UNROLL for (r = 0; r < 4; r++) row[r] = w + (size_t)(r < nr ? r : nr - 1) * rb;
    for (b = 0; b < nb; b++, a++) {
        const uint8_t *blk[4];
        const int16x8_t ps = vpaddq_s16(vld1q_s16(a->bsums), vld1q_s16(a->bsums + 8));   /* activation sum per sub-block */
        const float32x4_t dx = vdupq_n_f32(a->d);
        uint8x16_t zs[2], zm[2];
        uint32x4_t hw;
        int32x4_t part[4], sumi[4], summ;
        float32x4_t d, dmin;
        MG__UNROLL for (r = 0; r < 4; r++) blk[r] = row[r] + (size_t)b * bb;
        hw = mg__q4k_head4(blk, zs, zm);
        MG__UNROLL for (r = 0; r < 4; r++) {
            const int16x8_t mn = vreinterpretq_s16_u16(mg__row8(zm, r));
            part[r] = vmlal_high_s16(vmull_s16(vget_low_s16(mn), vget_low_s16(ps)), mn, ps);
            sumi[r] = vdupq_n_s32(0);
        }
        summ = mg__sum4x4(part);
        for (h = 0; h < 2; h++) {
            int8x16x4_t ax[2];
            ax[0] = vld1q_s8_x4(a->qs + 128 * h); ax[1] = vld1q_s8_x4(a->qs + 128 * h + 64);
            MG__UNROLL for (r = 0; r < 4; r++) {
                uint8x16_t u[8];
                mg__q4k_nib(vld1q_u8_x4(blk[r] + qo + 64 * h), u);
                if (q5) {
                    const uint8x16x2_t qh = vld1q_u8_x2(blk[r] + offsetof(mg__block_q5_k, qh));
                    mg__q5k_bit4(qh.val, h, u);
                }
                sumi[r] = vmlaq_s32(sumi[r], mg__dot4x32(u, ax), vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(mg__row8(zs, r)))));
            }
            MG__UNROLL for (k = 0; k < 2; k++)   /* each row's scales 4..7 down to 0..3 */
                zs[k] = vreinterpretq_u8_u64(vshrq_n_u64(vreinterpretq_u64_u8(zs[k]), 32));
        }
        d = vcvt_f32_f16(vreinterpret_f16_u16(vmovn_u32(hw)));
        dmin = vcvt_f32_f16(vreinterpret_f16_u16(vshrn_n_u32(hw, 16)));
        acc = vaddq_f32(acc, vsubq_f32(vmulq_f32(vmulq_f32(d, dx), vcvtq_f32_s32(mg__sum4x4(sumi))),
                                       vmulq_f32(vmulq_f32(dmin, dx), vcvtq_f32_s32(summ))));
    }
    vst1q_f32(s, acc);
}
MG__KERNEL void mg__rows4_q4_k(const uint8_t *w, size_t rb, int nr, const mg__block_q8_k *a, int64_t nb, float *s) { mg__rows4_k4(0, w, rb, nr, a, nb, s); }
MG__KERNEL void mg__rows4_q5_k(const uint8_t *w, size_t rb, int nr, const mg__block_q8_k *a, int64_t nb, float *s) { mg__rows4_k4(1, w, rb, nr, a, nb, s); }
/* Q6_K quants of one half (128 weights: ql 64 bytes, qh 32) in weight order, 16 per vector (group g = 16
   weights): low 4 bits from ql (low nibbles for quarters 0, 1, high for 2, 3), bits 4-5 from qh (bits 2c, 2c+1
   for quarter c), inserted with sli or selected with bsl (quarters 2, 3 first: 0, 1 may then overwrite ql) */
MG__INLINE void mg__q6k_half(uint8x16x4_t ql, uint8x16x2_t qh, uint8x16_t *q) {
    const uint8x16_t m3f = vdupq_n_u8(0x3F), m30 = vdupq_n_u8(0x30);
    int k;
    MG__UNROLL for (k = 0; k < 2; k++) {        /* positions l = 16k .. 16k+15 of each quarter */
        const uint8x16_t l0 = ql.val[k], l1 = ql.val[2 + k], h = qh.val[k];
        q[4 + k] = vbslq_u8(m30, h, vshrq_n_u8(l0, 4));                         /* quarter 2: qh bits 4-5 */
        q[6 + k] = vsliq_n_u8(vshrq_n_u8(l1, 4), vshrq_n_u8(h, 6), 4);          /* quarter 3: bits 6-7 */
        q[k]     = vandq_u8(vsliq_n_u8(l0, h, 4), m3f);                         /* quarter 0: bits 0-1 */
        q[2 + k] = vandq_u8(vsliq_n_u8(l1, vshrq_n_u8(h, 2), 4), m3f);          /* quarter 1: bits 2-3 */
    }
}
/* The 16-weight groups of a K-quant block (Q6_K, Q3_K, Q2_K; IQ4_XS as 16 groups, each scale twice): sum_g sc_g D_g
   for the group sums D_g of one row, by parts: one running sdot sum C_g = D_0 + .. + D_g (*c) and sum_g (sc_g -
   sc_g+1) C_g (sc_16 = 0), each C_g taken as it passes (int32 lanes wrap, the total is exact). One call per half
   h: q = its 8 groups (unsigned quants), sc = scales 8h..8h+7, next = 8h+8..8h+15 (0 for the last half). */
MG__INLINE int32x4_t mg__sc16_half(int32x4_t sumi, int32x4_t *c, const uint8x16_t *q, int16x8_t sc, int16x8_t next, const int8_t *a) {
    const int16x8_t dh = vsubq_s16(sc, vextq_s16(sc, next, 1));
    const int32x4_t d0 = vmovl_s16(vget_low_s16(dh)), d1 = vmovl_high_s16(dh);
    const int8x16x4_t a0 = vld1q_s8_x4(a), a1 = vld1q_s8_x4(a + 64);
    int32x4_t t = *c;
    t = mg__dot16(t, vreinterpretq_s8_u8(q[0]), a0.val[0]); sumi = vmlaq_laneq_s32(sumi, t, d0, 0);
    t = mg__dot16(t, vreinterpretq_s8_u8(q[1]), a0.val[1]); sumi = vmlaq_laneq_s32(sumi, t, d0, 1);
    t = mg__dot16(t, vreinterpretq_s8_u8(q[2]), a0.val[2]); sumi = vmlaq_laneq_s32(sumi, t, d0, 2);
    t = mg__dot16(t, vreinterpretq_s8_u8(q[3]), a0.val[3]); sumi = vmlaq_laneq_s32(sumi, t, d0, 3);
    t = mg__dot16(t, vreinterpretq_s8_u8(q[4]), a1.val[0]); sumi = vmlaq_laneq_s32(sumi, t, d1, 0);
    t = mg__dot16(t, vreinterpretq_s8_u8(q[5]), a1.val[1]); sumi = vmlaq_laneq_s32(sumi, t, d1, 1);
    t = mg__dot16(t, vreinterpretq_s8_u8(q[6]), a1.val[2]); sumi = vmlaq_laneq_s32(sumi, t, d1, 2);
    t = mg__dot16(t, vreinterpretq_s8_u8(q[7]), a1.val[3]); sumi = vmlaq_laneq_s32(sumi, t, d1, 3);
    *c = t;
    return sumi;
}
/* sum_g sc_g bsums_g in four lanes (sc = s0 | s1) */
MG__INLINE int32x4_t mg__sc16_bsums(int16x8_t s0, int16x8_t s1, const int16_t *bsums) {
    const int16x8_t b0 = vld1q_s16(bsums), b1 = vld1q_s16(bsums + 8);
    return vmlal_high_s16(vmlal_s16(vmlal_high_s16(vmull_s16(vget_low_s16(s0), vget_low_s16(b0)), s0, b0), vget_low_s16(s1), vget_low_s16(b1)), s1, b1);
}
/* the 16-weight groups of a whole block: q[16] in weight order, sumi0 + sum_g sc_g D_g */
MG__INLINE int32x4_t mg__sc16(int32x4_t sumi, const uint8x16_t *q, int16x8_t s0, int16x8_t s1, const int8_t *a) {
    int32x4_t c = vdupq_n_s32(0);
    sumi = mg__sc16_half(sumi, &c, q, s0, s1, a);
    return mg__sc16_half(sumi, &c, q + 8, s1, vdupq_n_s16(0), a + 128);
}
/* Q6_K: q stored 0..63, so the row's sumi is sum_g sc_g D_g - 32 sum_g sc_g bsums_g */
static int32x4_t mg__q6k_sumi(const uint8_t *blk, const mg__block_q8_k *a) {
    const mg__block_q6_k *w = (const mg__block_q6_k *)blk;
    const int8x16_t sc = vld1q_s8(w->scales);
    const int16x8_t s0 = vmovl_s8(vget_low_s8(sc)), s1 = vmovl_high_s8(sc);
    int32x4_t c = vdupq_n_s32(0), sumi = vnegq_s32(vshlq_n_s32(mg__sc16_bsums(s0, s1, a->bsums), 5));
    uint8x16_t q[8];
    mg__q6k_half(vld1q_u8_x4(w->ql), vld1q_u8_x2(w->qh), q);
    sumi = mg__sc16_half(sumi, &c, q, s0, s1, a->qs);
    mg__q6k_half(vld1q_u8_x4(w->ql + 64), vld1q_u8_x2(w->qh + 32), q);
    return mg__sc16_half(sumi, &c, q, s1, vdupq_n_s16(0), a->qs + 128);
}
/* Q2_K / Q3_K 2-bit fields k = 0..3 of the bytes v (weights 32k + l) into u[0], u[2], u[4], u[6] */
MG__INLINE void mg__2bit4(uint8x16_t v, uint8x16_t *u) {
    const uint8x16_t m3 = vdupq_n_u8(3);
    u[0] = vandq_u8(v, m3); u[2] = vandq_u8(vshrq_n_u8(v, 2), m3); u[4] = vandq_u8(vshrq_n_u8(v, 4), m3); u[6] = vshrq_n_u8(v, 6);
}
/* the 256 2-bit fields of qs in weight order (mg__unpack_2bit), 16 per vector */
MG__INLINE void mg__2bit_all(const uint8_t *qs, uint8x16_t *u) {
    const uint8x16x4_t v = vld1q_u8_x4(qs);
    mg__2bit4(v.val[0], u); mg__2bit4(v.val[1], u + 1); mg__2bit4(v.val[2], u + 8); mg__2bit4(v.val[3], u + 9);
}
/* Q2_K: sumi = sum_g (scales_g & 15) D_g; summ (lanes) = sum_g (scales_g >> 4) bsums_g */
static int32x4_t mg__q2k_sumi(const uint8_t *blk, const mg__block_q8_k *a, int32x4_t *summ) {
    const mg__block_q2_k *w = (const mg__block_q2_k *)blk;
    const uint8x16_t sc = vld1q_u8(w->scales), lo = vandq_u8(sc, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(sc, 4);
    uint8x16_t q[16];
    *summ = mg__sc16_bsums(vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(hi))), vreinterpretq_s16_u16(vmovl_high_u8(hi)), a->bsums);
    mg__2bit_all(w->qs, q);
    return mg__sc16(vdupq_n_s32(0), q, vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(lo))), vreinterpretq_s16_u16(vmovl_high_u8(lo)), a->qs);
}
/* Q3_K: q + 4 = 2-bit field + 4 (high bit: bit 4h + k of hmask[l] for weight 128h + 32k + l), in 0..7, weight order */
MG__INLINE void mg__q3k_q(const mg__block_q3_k *w, uint8x16_t *q) {
    const uint8x16_t m4 = vdupq_n_u8(4);
    const uint8x16x2_t hm = vld1q_u8_x2(w->hmask);
    int h;
    mg__2bit_all(w->qs, q);
    MG__UNROLL for (h = 0; h < 4; h++) {   /* half h / 2, bytes 16 (h % 2).. */
        uint8x16_t *u = q + 8 * (h / 2) + h % 2;
        const uint8x16_t hb = h / 2 ? vshrq_n_u8(hm.val[h % 2], 4) : hm.val[h % 2];
        u[0] = vbslq_u8(m4, vshlq_n_u8(hb, 2), u[0]); u[2] = vbslq_u8(m4, vshlq_n_u8(hb, 1), u[2]);
        u[4] = vbslq_u8(m4, hb, u[4]);                u[6] = vbslq_u8(m4, vshrq_n_u8(hb, 1), u[6]);
    }
}
/* Q3_K's 16 scales (mg__q3k_scale): low nibbles of bytes 0..7 then their high nibbles, bits 2(g/4).. of byte
   8 + g%4 at bit 4, minus 32 */
MG__INLINE int8x16_t mg__q3k_sc(const mg__block_q3_k *w) {
    static const int8_t sh[16] = { 0, 0, 0, 0, -2, -2, -2, -2, -4, -4, -4, -4, -6, -6, -6, -6 };
    const uint8x8_t s8 = vld1_u8(w->scales);
    const uint8x16_t lo = vcombine_u8(vand_u8(s8, vdup_n_u8(0x0F)), vshr_n_u8(s8, 4));
    const uint8x16_t h4 = vreinterpretq_u8_u32(vdupq_n_u32((uint32_t)w->scales[8] | (uint32_t)w->scales[9] << 8 | (uint32_t)w->scales[10] << 16 | (uint32_t)w->scales[11] << 24));
    return vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo, vshlq_n_u8(vandq_u8(vshlq_u8(h4, vld1q_s8(sh)), vdupq_n_u8(3)), 4))), vdupq_n_s8(32));
}
/* Q3_K: sumi = sum_g sc_g D_g - 4 sum_g sc_g bsums_g with the quants q + 4 */
static int32x4_t mg__q3k_sumi(const uint8_t *blk, const mg__block_q8_k *a) {
    const mg__block_q3_k *w = (const mg__block_q3_k *)blk;
    const int8x16_t sc = mg__q3k_sc(w);
    const int16x8_t s0 = vmovl_s8(vget_low_s8(sc)), s1 = vmovl_high_s8(sc);
    uint8x16_t q[16];
    mg__q3k_q(w, q);
    return mg__sc16(vnegq_s32(vshlq_n_s32(mg__sc16_bsums(s0, s1, a->bsums), 2)), q, s0, s1, a->qs);
}
/* IQ4_XS: the scales ls_j - 32 (ls_j: nibble j%2 of scales_l[j/2] | bits 2j, 2j+1 of scales_h << 4) */
MG__INLINE int16x8_t mg__iq4xs_ls(const mg__block_iq4_xs *w) {
    static const int16_t sh[8] = { 0, -2, -4, -6, -8, -10, -12, -14 };
    const uint8x8_t l = vld1_u8(w->scales_l);   /* bytes 4..11 of the block: scales_l and qs[0..3] */
    const uint16x8_t hi = vshlq_n_u16(vandq_u16(vshlq_u16(vdupq_n_u16(w->scales_h), vld1q_s16(sh)), vdupq_n_u16(3)), 4);
    return vsubq_s16(vreinterpretq_s16_u16(vorrq_u16(vmovl_u8(vzip1_u8(vand_u8(l, vdup_n_u8(0x0F)), vshr_n_u8(l, 4))), hi)), vdupq_n_s16(32));
}
/* IQ4_XS: the grid values of sub-block j (bytes 16j..: low nibbles, then high) in q[2j], q[2j + 1] */
MG__INLINE void mg__iq4xs_q(const mg__block_iq4_xs *w, uint8x16_t *q) {
    const int8x16_t tab = vld1q_s8(mg__iq4_grid);
    int j;
    MG__UNROLL for (j = 0; j < 8; j++) {
        const uint8x16_t v = vld1q_u8(w->qs + 16 * j);
        q[2 * j] = vreinterpretq_u8_s8(vqtbl1q_s8(tab, vandq_u8(v, vdupq_n_u8(0x0F))));
        q[2 * j + 1] = vreinterpretq_u8_s8(vqtbl1q_s8(tab, vshrq_n_u8(v, 4)));
    }
}
/* IQ4_XS as 16 groups of 16, each scale twice */
static int32x4_t mg__iq4xs_sumi(const uint8_t *blk, const mg__block_q8_k *a) {
    const mg__block_iq4_xs *w = (const mg__block_iq4_xs *)blk;
    const int16x8_t ls = mg__iq4xs_ls(w);
    uint8x16_t q[16];
    mg__iq4xs_q(w, q);
    return mg__sc16(vdupq_n_s32(0), q, vzip1q_s16(ls, ls), vzip2q_s16(ls, ls), a->qs);
}
/* Q6_K, Q3_K, Q2_K, IQ4_XS: per row the lanes of its sumi (and Q2_K's summ), the four rows' sums in lanes; term
   (d dx) sumi, Q2_K's minus (dmin dx) summ */
MG__INLINE void mg__rows4_sb(int wtype, const uint8_t *w, size_t rb, int nr, const mg__block_q8_k *a, int64_t nb, float *s) {
    MG__NO_FMA
    const size_t bb = wtype == MG_TYPE_Q6_K ? sizeof(mg__block_q6_k) : wtype == MG_TYPE_Q3_K ? sizeof(mg__block_q3_k)
                    : wtype == MG_TYPE_Q2_K ? sizeof(mg__block_q2_k) : sizeof(mg__block_iq4_xs);
    const size_t od = wtype == MG_TYPE_Q6_K ? offsetof(mg__block_q6_k, d) : wtype == MG_TYPE_Q3_K ? offsetof(mg__block_q3_k, d)
                    : wtype == MG_TYPE_Q2_K ? offsetof(mg__block_q2_k, d) : offsetof(mg__block_iq4_xs, d);
    const uint8_t *row[4];
    float32x4_t acc = vdupq_n_f32(0.0f);
    int64_t b;
    int r;
    MG__UNROLL for (r = 0; r < 4; r++) row[r] = w + (size_t)(r < nr ? r : nr - 1) * rb;
    for (b = 0; b < nb; b++, a++) {
        const uint16_t *d[4];
        int32x4_t sumi[4], summ[4];
        float32x4_t dx = vdupq_n_f32(a->d), term;
        for (r = 0; r < 4; r++) {
            const uint8_t *blk = row[r] + (size_t)b * bb;
            d[r] = (const uint16_t *)(blk + od);
            sumi[r] = wtype == MG_TYPE_Q6_K ? mg__q6k_sumi(blk, a) : wtype == MG_TYPE_Q3_K ? mg__q3k_sumi(blk, a)
                    : wtype == MG_TYPE_Q2_K ? mg__q2k_sumi(blk, a, &summ[r]) : mg__iq4xs_sumi(blk, a);
        }
        term = vmulq_f32(vmulq_f32(mg__h4x(d[0], d[1], d[2], d[3]), dx), vcvtq_f32_s32(mg__sum4x4(sumi)));
        if (wtype == MG_TYPE_Q2_K)
            term = vsubq_f32(term, vmulq_f32(vmulq_f32(mg__h4x(d[0] + 1, d[1] + 1, d[2] + 1, d[3] + 1), dx), vcvtq_f32_s32(mg__sum4x4(summ))));
        acc = vaddq_f32(acc, term);
    }
    vst1q_f32(s, acc);
}
MG__KERNEL void mg__rows4_q6_k(const uint8_t *w, size_t rb, int nr, const mg__block_q8_k *a, int64_t nb, float *s) { mg__rows4_sb(MG_TYPE_Q6_K, w, rb, nr, a, nb, s); }
MG__KERNEL void mg__rows4_q3_k(const uint8_t *w, size_t rb, int nr, const mg__block_q8_k *a, int64_t nb, float *s) { mg__rows4_sb(MG_TYPE_Q3_K, w, rb, nr, a, nb, s); }
MG__KERNEL void mg__rows4_q2_k(const uint8_t *w, size_t rb, int nr, const mg__block_q8_k *a, int64_t nb, float *s) { mg__rows4_sb(MG_TYPE_Q2_K, w, rb, nr, a, nb, s); }
MG__KERNEL void mg__rows4_iq4_xs(const uint8_t *w, size_t rb, int nr, const mg__block_q8_k *a, int64_t nb, float *s) { mg__rows4_sb(MG_TYPE_IQ4_XS, w, rb, nr, a, nb, s); }
/* the weight types with a row kernel: every quantized type */
static int mg__rows4_has(int wtype) {
    switch (wtype) {
    case MG_TYPE_Q8_0: case MG_TYPE_Q4_0: case MG_TYPE_IQ4_NL: case MG_TYPE_Q4_1: case MG_TYPE_Q4_K: case MG_TYPE_Q5_K:
    case MG_TYPE_Q6_K: case MG_TYPE_Q3_K: case MG_TYPE_Q2_K: case MG_TYPE_IQ4_XS: return 1;
    default: return 0;
    }
}
static void mg__rows4_neon(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, int64_t n, float *s) {
    const mg__block_q8_k *a = (const mg__block_q8_k *)x;
    switch (wtype) {
    case MG_TYPE_Q8_0:   mg__rows4_q8_0(w, rb, nr, x, n / 32, s); break;
    case MG_TYPE_Q4_0:   mg__rows4_lut4(w, rb, nr, x, n / 32, mg__q4_0_lut, s); break;
    case MG_TYPE_IQ4_NL: mg__rows4_lut4(w, rb, nr, x, n / 32, mg__iq4_grid, s); break;
    case MG_TYPE_Q4_1:   mg__rows4_q4_1(w, rb, nr, x, n / 32, s); break;
    case MG_TYPE_Q4_K:   mg__rows4_q4_k(w, rb, nr, a, n / 256, s); break;
    case MG_TYPE_Q5_K:   mg__rows4_q5_k(w, rb, nr, a, n / 256, s); break;
    case MG_TYPE_Q3_K:   mg__rows4_q3_k(w, rb, nr, a, n / 256, s); break;
    case MG_TYPE_Q2_K:   mg__rows4_q2_k(w, rb, nr, a, n / 256, s); break;
    case MG_TYPE_IQ4_XS: mg__rows4_iq4_xs(w, rb, nr, a, n / 256, s); break;
    default:             mg__rows4_q6_k(w, rb, nr, a, n / 256, s); break;
    }
}
#ifdef MG__I8MM
/* ----- prefill tiles (every quantized type): 8 weight rows x 2 tokens per step with smmla, which multiplies a 2x8
   int8 matrix by an 8x2 one into the four int32 lanes [row 0 tok 0, row 0 tok 1, row 1 tok 0, row 1 tok 1].
   Each block of an 8-row group is laid out once (mg__mpanel: signed quants of a row pair as [8 of row 2p | 8 of
   row 2p+1], Q6_K minus 32, Q3_K in -4..3, the lookup formats' table values; scales widened for lanes), then
   serves every token pair; the activations of a pair are interleaved the same way. Lane by lane these are the
   integer sums and the float term of the scalar kernel, so the results are its bits whatever the rows and tokens
   around them. ----- */
#define MG__MM_ROWS 8
#define MG__MM_MIN_TOKS 4     /* fewer tokens go to the row kernels (decode) */
typedef struct mg__mpanel {
    int8x16_t q[4][32];       /* row pair p: quants 8k..8k+7 of rows 2p and 2p+1 (blocks of 32: q[p][0..3]) */
    int32x4_t sc[4][16];      /* row pair p, scale group g: [sc(2p), sc(2p), sc(2p+1), sc(2p+1)] */
    int8x16_t mn[4][2];       /* mins of row pair p, 8 groups per vector: [m_0..7 of row 2p | of row 2p+1] */
    float32x4_t d[4], dmin[4];/* [d(2p), d(2p), d(2p+1), d(2p+1)]; dmin: Q4_1's m */
} mg__mpanel;
MG__INLINE int8x16_t mg__lo64(int8x16_t a, int8x16_t b) { return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b))); }
MG__INLINE int8x16_t mg__hi64(int8x16_t a, int8x16_t b) { return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b))); }
MG__INLINE int32x4_t mg__pair32(int a, int b) { return vcombine_s32(vdup_n_s32(a), vdup_n_s32(b)); }
MG__INLINE float32x4_t mg__tokf(float a, float b) {                                                           /* per token */
    const float32x2_t v = vset_lane_f32(b, vdup_n_f32(a), 1);
    return vcombine_f32(v, v);
}
/* the f16 at byte o of the blocks of rows u, v as a per-row pair */
MG__INLINE float32x4_t mg__pairh(const uint8_t *u, const uint8_t *v, size_t o) {
    return mg__h4x((const uint16_t *)(u + o), (const uint16_t *)(u + o), (const uint16_t *)(v + o), (const uint16_t *)(v + o));
}
/* rows u, v (nvec vectors of 16 quants each, weight order) as 2 nvec row-pair vectors */
MG__INLINE void mg__mpair(const int8x16_t *u, const int8x16_t *v, int nvec, int8x16_t *q) {
    int k;
    for (k = 0; k < nvec; k++) { q[2 * k] = mg__lo64(u[k], v[k]); q[2 * k + 1] = mg__hi64(u[k], v[k]); }
}
/* Q4_K (q5 = 0), Q5_K: the quants 0..15 (0..31), the 6-bit scales and mins */
MG__INLINE void mg__mpanel_k4(int q5, const uint8_t *const *row, size_t off, mg__mpanel *k) {
    const size_t qo = q5 ? offsetof(mg__block_q5_k, qs) : offsetof(mg__block_q4_k, qs);
    int8x16_t q[2][16];
    int p, i, j, h, sc[2][8];
    uint8_t m[2][8];
    for (p = 0; p < 4; p++) {
        for (i = 0; i < 2; i++) {
            const uint8_t *b = row[2 * p + i] + off;
            MG__UNROLL for (h = 0; h < 2; h++) {
                uint8x16_t u[8];
                mg__q4k_nib(vld1q_u8_x4(b + qo + 64 * h), u);
                if (q5) {
                    const uint8x16x2_t qh = vld1q_u8_x2(b + offsetof(mg__block_q5_k, qh));
                    mg__q5k_bit4(qh.val, h, u);
                }
                MG__UNROLL for (j = 0; j < 8; j++) q[i][8 * h + j] = vreinterpretq_s8_u8(u[j]);
            }
            MG__UNROLL for (j = 0; j < 8; j++) { int s_, m_; mg__q4k_scale_min(j, b + 4, &s_, &m_); sc[i][j] = s_; m[i][j] = (uint8_t)m_; }
        }
        mg__mpair(q[0], q[1], 16, k->q[p]);
        MG__UNROLL for (j = 0; j < 8; j++) k->sc[p][j] = mg__pair32(sc[0][j], sc[1][j]);
        k->mn[p][0] = vreinterpretq_s8_u8(vcombine_u8(vld1_u8(m[0]), vld1_u8(m[1])));
        k->d[p] = mg__pairh(row[2 * p] + off, row[2 * p + 1] + off, 0);
        k->dmin[p] = mg__pairh(row[2 * p] + off, row[2 * p + 1] + off, 2);
    }
}
MG__KERNEL void mg__mpanel_q4_k(const uint8_t *const *row, size_t off, mg__mpanel *k) { mg__mpanel_k4(0, row, off, k); }
MG__KERNEL void mg__mpanel_q5_k(const uint8_t *const *row, size_t off, mg__mpanel *k) { mg__mpanel_k4(1, row, off, k); }
/* Q6_K, Q3_K, Q2_K (scales and mins of 16 groups) and IQ4_XS (scales of its 8 sub-blocks) */
MG__KERNEL void mg__mpanel_sb(int wtype, const uint8_t *const *row, size_t off, mg__mpanel *k) {
    const size_t od = wtype == MG_TYPE_Q6_K ? offsetof(mg__block_q6_k, d) : wtype == MG_TYPE_Q3_K ? offsetof(mg__block_q3_k, d)
                    : wtype == MG_TYPE_Q2_K ? offsetof(mg__block_q2_k, d) : offsetof(mg__block_iq4_xs, d);
    int8x16_t q[2][16];
    int16_t sc[2][16];
    uint8_t mn[2][16];
    int p, i, g;
    for (p = 0; p < 4; p++) {
        for (i = 0; i < 2; i++) {
            const uint8_t *b = row[2 * p + i] + off;
            uint8x16_t u[16];
            int8x16_t s8, c = vdupq_n_s8(0);
            if (wtype == MG_TYPE_Q6_K) {
                mg__q6k_half(vld1q_u8_x4(b), vld1q_u8_x2(b + offsetof(mg__block_q6_k, qh)), u);
                mg__q6k_half(vld1q_u8_x4(b + 64), vld1q_u8_x2(b + offsetof(mg__block_q6_k, qh) + 32), u + 8);
                s8 = vld1q_s8((const int8_t *)b + offsetof(mg__block_q6_k, scales));
                c = vdupq_n_s8(32);
            } else if (wtype == MG_TYPE_Q3_K) {
                mg__q3k_q((const mg__block_q3_k *)b, u);
                s8 = mg__q3k_sc((const mg__block_q3_k *)b);
                c = vdupq_n_s8(4);
            } else if (wtype == MG_TYPE_Q2_K) {
                const uint8x16_t v = vld1q_u8(b);
                mg__2bit_all(b + offsetof(mg__block_q2_k, qs), u);
                s8 = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F)));
                vst1q_u8(mn[i], vshrq_n_u8(v, 4));
            } else {
                const int16x8_t ls = mg__iq4xs_ls((const mg__block_iq4_xs *)b);
                mg__iq4xs_q((const mg__block_iq4_xs *)b, u);
                s8 = vcombine_s8(vmovn_s16(ls), vdup_n_s8(0));
            }
            MG__UNROLL for (g = 0; g < 16; g++) q[i][g] = vsubq_s8(vreinterpretq_s8_u8(u[g]), c);
            vst1q_s16(sc[i], vmovl_s8(vget_low_s8(s8)));
            vst1q_s16(sc[i] + 8, vmovl_high_s8(s8));
        }
        mg__mpair(q[0], q[1], 16, k->q[p]);
        MG__UNROLL for (g = 0; g < 16; g++) k->sc[p][g] = mg__pair32(sc[0][g], sc[1][g]);
        k->d[p] = mg__pairh(row[2 * p] + off, row[2 * p + 1] + off, od);
        if (wtype == MG_TYPE_Q2_K) {
            k->mn[p][0] = vreinterpretq_s8_u8(vcombine_u8(vld1_u8(mn[0]), vld1_u8(mn[1])));
            k->mn[p][1] = vreinterpretq_s8_u8(vcombine_u8(vld1_u8(mn[0] + 8), vld1_u8(mn[1] + 8)));
            k->dmin[p] = mg__pairh(row[2 * p] + off, row[2 * p + 1] + off, od + 2);
        }
    }
}
/* Q8_0, Q4_0 / IQ4_NL (the nibbles through lut), Q4_1 (its m in dmin) */
MG__KERNEL void mg__mpanel_b32(int wtype, const int8_t *lut, const uint8_t *const *row, size_t off, mg__mpanel *k) {
    const int8x16_t tab = vld1q_s8(lut);
    const size_t qo = wtype == MG_TYPE_Q4_1 ? 4 : 2;
    int p, i;
    for (p = 0; p < 4; p++) {
        int8x16_t u[2][2];
        for (i = 0; i < 2; i++) {
            const uint8_t *b = row[2 * p + i] + off + qo;
            if (wtype == MG_TYPE_Q8_0) { u[i][0] = vld1q_s8((const int8_t *)b); u[i][1] = vld1q_s8((const int8_t *)b + 16); }
            else {
                const uint8x16_t v = vld1q_u8(b), lo = vandq_u8(v, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(v, 4);
                u[i][0] = wtype == MG_TYPE_Q4_1 ? vreinterpretq_s8_u8(lo) : vqtbl1q_s8(tab, lo);
                u[i][1] = wtype == MG_TYPE_Q4_1 ? vreinterpretq_s8_u8(hi) : vqtbl1q_s8(tab, hi);
            }
        }
        mg__mpair(u[0], u[1], 2, k->q[p]);
        k->d[p] = mg__pairh(row[2 * p] + off, row[2 * p + 1] + off, 0);
        if (wtype == MG_TYPE_Q4_1) k->dmin[p] = mg__pairh(row[2 * p] + off, row[2 * p + 1] + off, 2);
    }
}
/* the activations of tokens a0, a1 at qs (n bytes) as pairs [8 of a0 | 8 of a1] */
MG__INLINE void mg__mtok(const int8_t *a0, const int8_t *a1, int n, int8x16_t *ab) {
    int k;
    for (k = 0; k < n / 16; k++) {
        const int8x16_t u = vld1q_s8(a0 + 16 * k), v = vld1q_s8(a1 + 16 * k);
        ab[2 * k] = mg__lo64(u, v);
        ab[2 * k + 1] = mg__hi64(u, v);
    }
}
/* One block of a 256-weight type, 8 rows x tokens a0, a1: sumi = sum_g sc_g (q . a)_g over groups of gs (16 or 32),
   s[4p + lane] += (d dx) sumi, minus (dmin dx) summ for the nm > 0 steps of 8 mins: summ = sum_j m_j P_j with
   P_j the activation sum of min group j (Q4_K / Q5_K, nm = 1: bsums[2j] + bsums[2j+1]; Q2_K, nm = 2: bsums[j]).
   P_j = 128 H_j + L_j (H_j = P_j >> 7 in -32..31, L_j in 0..127: both int8), so two smmla give it exactly. */
MG__INLINE void mg__mtile_k(const mg__mpanel *k, int gs, int nm, const uint8_t *x0, const uint8_t *x1, float *s) {
    MG__NO_FMA
    const mg__block_q8_k *a0 = (const mg__block_q8_k *)x0, *a1 = (const mg__block_q8_k *)x1;
    const float32x4_t dx = mg__tokf(a0->d, a1->d);
    int32x4_t sumi[4], summ[4];
    int p, g, j;
    MG__UNROLL for (p = 0; p < 4; p++) sumi[p] = summ[p] = vdupq_n_s32(0);
    MG__UNROLL for (g = 0; g < 256 / gs; g++) {            /* group g: quants gs g.., gs / 8 k steps */
        int8x16_t ab[4];
        mg__mtok(a0->qs + gs * g, a1->qs + gs * g, gs, ab);
        MG__UNROLL for (p = 0; p < 4; p++) {
            const int8x16_t *q = k->q[p] + gs / 8 * g;
            int32x4_t t = vmmlaq_s32(vmmlaq_s32(vdupq_n_s32(0), q[0], ab[0]), q[1], ab[1]);
            if (gs == 32) t = vmmlaq_s32(vmmlaq_s32(t, q[2], ab[2]), q[3], ab[3]);
            sumi[p] = vmlaq_s32(sumi[p], t, k->sc[p][g]);
        }
    }
    MG__UNROLL for (j = 0; j < nm; j++) {
        const int16x8_t p0 = nm == 1 ? vpaddq_s16(vld1q_s16(a0->bsums), vld1q_s16(a0->bsums + 8)) : vld1q_s16(a0->bsums + 8 * j);
        const int16x8_t p1 = nm == 1 ? vpaddq_s16(vld1q_s16(a1->bsums), vld1q_s16(a1->bsums + 8)) : vld1q_s16(a1->bsums + 8 * j);
        const int8x16_t ph = vcombine_s8(vmovn_s16(vshrq_n_s16(p0, 7)), vmovn_s16(vshrq_n_s16(p1, 7)));
        const int8x16_t pl = vcombine_s8(vmovn_s16(vandq_s16(p0, vdupq_n_s16(127))), vmovn_s16(vandq_s16(p1, vdupq_n_s16(127))));
        MG__UNROLL for (p = 0; p < 4; p++)
            summ[p] = vaddq_s32(summ[p], vaddq_s32(vshlq_n_s32(vmmlaq_s32(vdupq_n_s32(0), k->mn[p][j], ph), 7), vmmlaq_s32(vdupq_n_s32(0), k->mn[p][j], pl)));
    }
    MG__UNROLL for (p = 0; p < 4; p++) {
        float32x4_t term = vmulq_f32(vmulq_f32(k->d[p], dx), vcvtq_f32_s32(sumi[p]));
        if (nm) term = vsubq_f32(term, vmulq_f32(vmulq_f32(k->dmin[p], dx), vcvtq_f32_s32(summ[p])));
        vst1q_f32(s + 4 * p, vaddq_f32(vld1q_f32(s + 4 * p), term));
    }
}
typedef void mg__mtile_fn(const mg__mpanel *k, const uint8_t *a0, const uint8_t *a1, float *s);
MG__KERNEL void mg__mtile_q4_k(const mg__mpanel *k, const uint8_t *a0, const uint8_t *a1, float *s) { mg__mtile_k(k, 32, 1, a0, a1, s); }
MG__KERNEL void mg__mtile_q6_k(const mg__mpanel *k, const uint8_t *a0, const uint8_t *a1, float *s) { mg__mtile_k(k, 16, 0, a0, a1, s); }
MG__KERNEL void mg__mtile_q2_k(const mg__mpanel *k, const uint8_t *a0, const uint8_t *a1, float *s) { mg__mtile_k(k, 16, 2, a0, a1, s); }
MG__KERNEL void mg__mtile_iq4_xs(const mg__mpanel *k, const uint8_t *a0, const uint8_t *a1, float *s) { mg__mtile_k(k, 32, 0, a0, a1, s); }
/* One block of 32: s[4p + lane] += (float)sumi (dw dx), Q4_1 (q41; activations Q8_1) (float)sumi (dw dx) + m_w s_x */
MG__INLINE void mg__mtile_b32(const mg__mpanel *k, int q41, const uint8_t *a0, const uint8_t *a1, float *s) {
    MG__NO_FMA
    const size_t qo = q41 ? 4 : 2;
    const uint16_t *h0 = (const uint16_t *)a0, *h1 = (const uint16_t *)a1;   /* d, then Q8_1's s */
    const float32x4_t dx = mg__h4x(h0, h1, h0, h1), sx = q41 ? mg__h4x(h0 + 1, h1 + 1, h0 + 1, h1 + 1) : dx;
    int8x16_t ab[4];
    int p;
    mg__mtok((const int8_t *)a0 + qo, (const int8_t *)a1 + qo, 32, ab);
    MG__UNROLL for (p = 0; p < 4; p++) {
        const int8x16_t *q = k->q[p];
        const int32x4_t t = vmmlaq_s32(vmmlaq_s32(vmmlaq_s32(vmmlaq_s32(vdupq_n_s32(0), q[0], ab[0]), q[1], ab[1]), q[2], ab[2]), q[3], ab[3]);
        float32x4_t term = vmulq_f32(vcvtq_f32_s32(t), vmulq_f32(k->d[p], dx));
        if (q41) term = vaddq_f32(term, vmulq_f32(k->dmin[p], sx));
        vst1q_f32(s + 4 * p, vaddq_f32(vld1q_f32(s + 4 * p), term));
    }
}
MG__KERNEL void mg__mtile_q8_0(const mg__mpanel *k, const uint8_t *a0, const uint8_t *a1, float *s) { mg__mtile_b32(k, 0, a0, a1, s); }
MG__KERNEL void mg__mtile_q4_1(const mg__mpanel *k, const uint8_t *a0, const uint8_t *a1, float *s) { mg__mtile_b32(k, 1, a0, a1, s); }
/* One weight block of 8 rows laid out, then its tile for every token pair (an odd last token paired with itself) */
static void mg__mmla_step(int wtype, const uint8_t *const *row, size_t off, const uint8_t *x, size_t xs, size_t xo, int nt, mg__mpanel *k, float *s) {
    mg__mtile_fn *tile = wtype == MG_TYPE_Q4_K || wtype == MG_TYPE_Q5_K ? mg__mtile_q4_k : wtype == MG_TYPE_Q6_K || wtype == MG_TYPE_Q3_K ? mg__mtile_q6_k
                       : wtype == MG_TYPE_Q2_K ? mg__mtile_q2_k : wtype == MG_TYPE_IQ4_XS ? mg__mtile_iq4_xs : wtype == MG_TYPE_Q4_1 ? mg__mtile_q4_1 : mg__mtile_q8_0;
    int tp;
    switch (wtype) {
    case MG_TYPE_Q4_K: mg__mpanel_q4_k(row, off, k); break;
    case MG_TYPE_Q5_K: mg__mpanel_q5_k(row, off, k); break;
    case MG_TYPE_Q6_K: case MG_TYPE_Q3_K: case MG_TYPE_Q2_K: case MG_TYPE_IQ4_XS: mg__mpanel_sb(wtype, row, off, k); break;
    default: mg__mpanel_b32(wtype, wtype == MG_TYPE_IQ4_NL ? mg__iq4_grid : mg__q4_0_lut, row, off, k); break;
    }
    for (tp = 0; tp < (nt + 1) / 2; tp++, s += 16) {
        const uint8_t *x0 = x + (size_t)(2 * tp) * xs + xo;
        tile(k, x0, 2 * tp + 1 < nt ? x0 + xs : x0, s);
    }
}
/* nr rows (row_bytes rb apart) x nt <= MG__TOK_BLOCK tokens, in groups of 8 rows, block after block; rows past nr
   repeat the last, their results dropped. */
static void mg__mmla_block(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n,
                           float *y, size_t ys) {
    const int b32 = wtype == MG_TYPE_Q8_0 || wtype == MG_TYPE_Q4_0 || wtype == MG_TYPE_IQ4_NL || wtype == MG_TYPE_Q4_1, qk = b32 ? 32 : 256;
    const size_t bw = mg__row_bytes(wtype, qk);
    const size_t ba = !b32 ? sizeof(mg__block_q8_k) : wtype == MG_TYPE_Q4_1 ? sizeof(mg__block_q8_1) : sizeof(mg__block_q8_0);
    const int ntp = (nt + 1) / 2;
    float s[16 * ((MG__TOK_BLOCK + 1) / 2)];
    const uint8_t *row[MG__MM_ROWS];
    mg__mpanel k;
    int64_t b;
    int r0, i, tp;
    for (r0 = 0; r0 < nr; r0 += MG__MM_ROWS) {
        for (i = 0; i < MG__MM_ROWS; i++) row[i] = w + (size_t)(r0 + i < nr ? r0 + i : nr - 1) * rb;
        memset(s, 0, sizeof(float) * 16 * (size_t)ntp);
        for (b = 0; b < n / qk; b++) mg__mmla_step(wtype, row, (size_t)b * bw, x, xs, (size_t)b * ba, nt, &k, s);
        for (tp = 0; tp < ntp; tp++)            /* lane 4p + 2i + j: row r0 + 2p + i, token 2tp + j */
            for (i = 0; i < 16; i++) {
                const int r = r0 + 2 * (i / 4) + (i % 4) / 2, t = 2 * tp + i % 2;
                if (r < nr && t < nt) y[(size_t)t * ys + r] = s[16 * tp + i];
            }
    }
}
#endif
/* mg__mat_block for the quantized types: the I8MM tiles from MG__MM_MIN_TOKS tokens on, else
   four rows at a time for each token (the rows stay in L1 across the tokens). 0 for the other types. */
static int mg__mat_block_neon(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n,
                              float *y, size_t ys) {
    float s[4];
    int r, t, i;
    if (!mg__rows4_has(wtype)) return 0;
#ifdef MG__I8MM
    if (nt >= MG__MM_MIN_TOKS) { mg__mmla_block(wtype, w, rb, nr, x, xs, nt, n, y, ys); return 1; }
#endif
    for (r = 0; r < nr; r += 4)
        for (t = 0; t < nt; t++) {
            mg__rows4_neon(wtype, w + (size_t)r * rb, rb, nr - r, x + (size_t)t * xs, n, s);
            for (i = 0; i < 4 && r + i < nr; i++) y[(size_t)t * ys + r + i] = s[i];
        }
    return 1;
}
static float mg__vec_dot_neon(int wtype, const void *w, const void *x, int64_t n) {
    float s[4];
    switch (wtype) {
    case MG_TYPE_F16:  return mg__dot_f16_neon((const uint16_t *)w, (const uint16_t *)x, n);
    case MG_TYPE_BF16: return mg__dot_bf16_neon((const uint16_t *)w, (const uint16_t *)x, n);
    case MG_TYPE_F32:  return mg__dot_f32_neon((const float *)w, (const float *)x, n);
    default:
        if (!mg__rows4_has(wtype)) return mg__vec_dot_scalar(wtype, w, x, n);
        mg__rows4_neon(wtype, (const uint8_t *)w, 0, 1, (const uint8_t *)x, n, s);
        return s[0];
    }
}

/* ----- vision tiles. Float: 4 rows x 16 columns at a time (16 accumulators), four k steps per load of the
   rows (fmla by lane). bf16: bfdot (12 rows x 8 columns, the pair of row r broadcast by lane), or without
   BF16 each pair widened to two floats and two fmla. C0 and the stores respect nr and nc; the panels are
   zero past the matrix, so the loads need no bounds. ----- */
/* the tile's accumulators of rows r0.., columns c0.. (nr, nc left of each) from C0 and init, as mode says */
MG__INLINE float32x4_t mg__tile_c0(const float *c, size_t ldc, int r, int col, int nr, int nc, const float *init, int mode) {
    float32x4_t v = vdupq_n_f32(0.0f);
    if (mode != MG__INIT && r < nr && col < nc) v = mg__ld4n(c + (size_t)r * ldc + col, nc - col);
    if (mode != MG__ACC && init && col < nc) v = vaddq_f32(v, mg__ld4n(init + col, nc - col));
    return v;
}
MG__INLINE void mg__tile_st(float *c, size_t ldc, int r, int col, int nr, int nc, float32x4_t v) {
    if (r < nr && col < nc) mg__st4n(c + (size_t)r * ldc + col, v, nc - col);
}
MG__KERNEL void mg__tile_f32_neon(const float *a, const float *b, size_t ldb, int kn, float *c, size_t ldc, int nr, int nc,
                              const float *init, int mode) {
    int r0, c0, r, v, p;
    for (r0 = 0; r0 < nr; r0 += 4)
        for (c0 = 0; c0 < nc; c0 += 16) {
            float32x4_t s[4][4];
            const float *br = b + (size_t)r0 * ldb, *ap = a + c0;
            MG__UNROLL for (r = 0; r < 4; r++)
                MG__UNROLL for (v = 0; v < 4; v++) s[r][v] = mg__tile_c0(c, ldc, r0 + r, c0 + 4 * v, nr, nc, init, mode);
            for (p = 0; p + 4 <= kn; p += 4, ap += 4 * MG__TC) {
                float32x4_t bv[4], av[4];
                MG__UNROLL for (r = 0; r < 4; r++) bv[r] = vld1q_f32(br + (size_t)r * ldb + p);
                MG__UNROLL for (v = 0; v < 4; v++) av[v] = vld1q_f32(ap + 4 * v);
                MG__UNROLL for (r = 0; r < 4; r++) MG__UNROLL for (v = 0; v < 4; v++) s[r][v] = vfmaq_laneq_f32(s[r][v], av[v], bv[r], 0);
                MG__UNROLL for (v = 0; v < 4; v++) av[v] = vld1q_f32(ap + MG__TC + 4 * v);
                MG__UNROLL for (r = 0; r < 4; r++) MG__UNROLL for (v = 0; v < 4; v++) s[r][v] = vfmaq_laneq_f32(s[r][v], av[v], bv[r], 1);
                MG__UNROLL for (v = 0; v < 4; v++) av[v] = vld1q_f32(ap + 2 * MG__TC + 4 * v);
                MG__UNROLL for (r = 0; r < 4; r++) MG__UNROLL for (v = 0; v < 4; v++) s[r][v] = vfmaq_laneq_f32(s[r][v], av[v], bv[r], 2);
                MG__UNROLL for (v = 0; v < 4; v++) av[v] = vld1q_f32(ap + 3 * MG__TC + 4 * v);
                MG__UNROLL for (r = 0; r < 4; r++) MG__UNROLL for (v = 0; v < 4; v++) s[r][v] = vfmaq_laneq_f32(s[r][v], av[v], bv[r], 3);
            }
            for (; p < kn; p++, ap += MG__TC)
                MG__UNROLL for (r = 0; r < 4; r++) {
                    const float bs = br[(size_t)r * ldb + p];
                    MG__UNROLL for (v = 0; v < 4; v++) s[r][v] = vfmaq_n_f32(s[r][v], vld1q_f32(ap + 4 * v), bs);
                }
            MG__UNROLL for (r = 0; r < 4; r++)
                MG__UNROLL for (v = 0; v < 4; v++) mg__tile_st(c, ldc, r0 + r, c0 + 4 * v, nr, nc, s[r][v]);
        }
}
#ifdef MG__ARM_BF16
MG__KERNEL void mg__tile_bf16_neon(const uint32_t *a, const uint32_t *b, int kp, float *c, size_t ldc, int nr, int nc,
                               const float *init, int mode) {
    int c0, r, v, g, p;
    for (c0 = 0; c0 < nc; c0 += 8) {
        float32x4_t s[MG__TR][2];
        const uint32_t *ap = a + c0, *bp = b;
        MG__UNROLL for (r = 0; r < MG__TR; r++)
            MG__UNROLL for (v = 0; v < 2; v++) s[r][v] = mg__tile_c0(c, ldc, r, c0 + 4 * v, nr, nc, init, mode);
        for (p = 0; p < kp; p++, ap += MG__TC, bp += MG__TR) {
            const bfloat16x8_t a0 = vreinterpretq_bf16_u32(vld1q_u32(ap)), a1 = vreinterpretq_bf16_u32(vld1q_u32(ap + 4));
            MG__UNROLL for (g = 0; g < 3; g++) {
                const bfloat16x8_t bg = vreinterpretq_bf16_u32(vld1q_u32(bp + 4 * g));
                float32x4_t *s0 = s[4 * g], *s1 = s[4 * g + 1], *s2 = s[4 * g + 2], *s3 = s[4 * g + 3];
                s0[0] = vbfdotq_laneq_f32(s0[0], a0, bg, 0); s0[1] = vbfdotq_laneq_f32(s0[1], a1, bg, 0);
                s1[0] = vbfdotq_laneq_f32(s1[0], a0, bg, 1); s1[1] = vbfdotq_laneq_f32(s1[1], a1, bg, 1);
                s2[0] = vbfdotq_laneq_f32(s2[0], a0, bg, 2); s2[1] = vbfdotq_laneq_f32(s2[1], a1, bg, 2);
                s3[0] = vbfdotq_laneq_f32(s3[0], a0, bg, 3); s3[1] = vbfdotq_laneq_f32(s3[1], a1, bg, 3);
            }
        }
        MG__UNROLL for (r = 0; r < MG__TR; r++)
            MG__UNROLL for (v = 0; v < 2; v++) mg__tile_st(c, ldc, r, c0 + 4 * v, nr, nc, s[r][v]);
    }
}
#else
/* a pair's two bfloat16 as floats: the even k (low half) and the odd k (high half) */
MG__INLINE float32x4_t mg__bf_even(uint32x4_t v) { return vreinterpretq_f32_u32(vshlq_n_u32(v, 16)); }
MG__INLINE float32x4_t mg__bf_odd(uint32x4_t v) { return vreinterpretq_f32_u32(vandq_u32(v, vdupq_n_u32(0xffff0000u))); }
MG__KERNEL void mg__tile_bf16_neon(const uint32_t *a, const uint32_t *b, int kp, float *c, size_t ldc, int nr, int nc,
                               const float *init, int mode) {
    int r0, c0, r, v, p;
    for (r0 = 0; r0 < nr; r0 += 4)
        for (c0 = 0; c0 < nc; c0 += 16) {
            float32x4_t s[4][4];
            const uint32_t *ap = a + c0, *bp = b + r0;
            MG__UNROLL for (r = 0; r < 4; r++)
                MG__UNROLL for (v = 0; v < 4; v++) s[r][v] = mg__tile_c0(c, ldc, r0 + r, c0 + 4 * v, nr, nc, init, mode);
            for (p = 0; p < kp; p++, ap += MG__TC, bp += MG__TR) {
                const uint32x4_t bv = vld1q_u32(bp);
                const float32x4_t be = mg__bf_even(bv), bo = mg__bf_odd(bv);
                MG__UNROLL for (v = 0; v < 4; v++) {
                    const uint32x4_t av = vld1q_u32(ap + 4 * v);
                    const float32x4_t ae = mg__bf_even(av), ao = mg__bf_odd(av);
                    s[0][v] = vfmaq_laneq_f32(vfmaq_laneq_f32(s[0][v], ae, be, 0), ao, bo, 0);
                    s[1][v] = vfmaq_laneq_f32(vfmaq_laneq_f32(s[1][v], ae, be, 1), ao, bo, 1);
                    s[2][v] = vfmaq_laneq_f32(vfmaq_laneq_f32(s[2][v], ae, be, 2), ao, bo, 2);
                    s[3][v] = vfmaq_laneq_f32(vfmaq_laneq_f32(s[3][v], ae, be, 3), ao, bo, 3);
                }
            }
            MG__UNROLL for (r = 0; r < 4; r++)
                MG__UNROLL for (v = 0; v < 4; v++) mg__tile_st(c, ldc, r0 + r, c0 + 4 * v, nr, nc, s[r][v]);
        }
}
#endif
/* floats to bf16 pairs, 8 at a time: the pairs of consecutive values are consecutive bf16 in memory */
static void mg__bf16_pairs_neon(uint32_t *dst, const float *x, int k) {
    int i = 0;
    for (; i + 8 <= k; i += 8)
        vst1q_u32(dst + i / 2, vreinterpretq_u32_u16(vcombine_u16(mg__bf4(vld1q_f32(x + i)), mg__bf4(vld1q_f32(x + i + 4)))));
    mg__bf16_pairs_scalar(dst + i / 2, x + i, k - i);
}
static void mg__bf16_interleave_neon(uint32_t *dst, const float *x0, const float *x1, int k) {
    int i = 0;
    for (; i + 4 <= k; i += 4) vst1q_u32(dst + i, mg__bf4x2(vld1q_f32(x0 + i), vld1q_f32(x1 + i)));
    mg__bf16_interleave_scalar(dst + i, x0 + i, x1 + i, k - i);
}
/* F16 weight rows widen by vcvt (exact) */
static void mg__wrow_neon(const mg__mat *w, int64_t o, void *dst, float *tmp, int f32) {
    if (w->type == MG_TYPE_F16) {
        mg__h2f_row_neon(w->data + (size_t)o * w->row_bytes, f32 ? (float *)dst : tmp, w->n_in);
        if (!f32) mg__bf16_pairs_neon((uint32_t *)dst, tmp, (int)w->n_in);
        return;
    }
    mg__wrow_scalar(w, o, dst, tmp, f32);
}
/* ----- exponentials: e^r for |r| <= ln2 / 2 by its Taylor polynomial to degree 6 (relative error < 2e-7),
   scaled by 2^n through the exponent bits (n >= -125: the result stays a normal float) ----- */
MG__INLINE float32x4_t mg__exp_scaled(float32x4_t r, float32x4_t n) {
    float32x4_t p = vdupq_n_f32(1.0f / 720);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    return vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p), vshlq_n_s32(vcvtq_s32_f32(n), 23)));
}
/* e^x for x <= 0 (below -87, and NaN: 0): n = round(x / ln2), r = x - n ln2 with ln2 in two parts */
static float32x4_t mg__exp4(float32x4_t x) {
    const uint32x4_t ok = vcgeq_f32(x, vdupq_n_f32(-87.0f));
    float32x4_t n, r;
    x = vmaxq_f32(x, vdupq_n_f32(-87.0f));
    n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    r = vfmsq_f32(x, n, vdupq_n_f32(0.693145751953125f));
    r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187e-6f));
    return vreinterpretq_f32_u32(vandq_u32(ok, vreinterpretq_u32_f32(mg__exp_scaled(r, n))));
}
/* 2^x for x <= 0 (clamped at -125): x = n + f, 2^f = e^(f ln2) */
static float32x4_t mg__exp2_4(float32x4_t x) {
    float32x4_t n;
    x = vmaxq_f32(x, vdupq_n_f32(-125.0f));
    n = vrndnq_f32(x);
    return mg__exp_scaled(vmulq_f32(vsubq_f32(x, n), vdupq_n_f32(0.693147180559945f)), n);
}

/* ----- vision attention: the online-softmax step, four queries per vector; probabilities rounded to bf16 pairs
   as mg__f2bf ----- */
static void mg__softmax_block_neon(const float *st, int nk, float c2, float *m, float *l, float *ot, int no, uint32_t *pp) {
    const float32x4_t vc2 = vdupq_n_f32(c2);
    int v, k, r;
    for (v = 0; v < MG__TC; v += 4) {
        float32x4_t mx = vdupq_n_f32(-INFINITY), mx1 = mx, mo = vld1q_f32(m + v), mn, alpha, lv;
        for (k = 0; k + 1 < nk; k += 2) {       /* two chains of max (maxnm: a NaN score is passed over, as in the scalar loop) */
            mx = vmaxnmq_f32(mx, vld1q_f32(st + (size_t)k * MG__TC + v));
            mx1 = vmaxnmq_f32(mx1, vld1q_f32(st + (size_t)(k + 1) * MG__TC + v));
        }
        if (k < nk) mx = vmaxnmq_f32(mx, vld1q_f32(st + (size_t)k * MG__TC + v));
        mn = vmaxnmq_f32(mo, vmulq_f32(vmaxnmq_f32(mx, mx1), vc2));
        alpha = mg__exp2_4(vsubq_f32(mo, mn));
        vst1q_f32(m + v, mn);
        lv = vmulq_f32(vld1q_f32(l + v), alpha);
        for (r = 0; r < no; r++) vst1q_f32(ot + (size_t)r * MG__TC + v, vmulq_f32(vld1q_f32(ot + (size_t)r * MG__TC + v), alpha));
        for (k = 0; k < nk; k += 2) {
            const float32x4_t e0 = mg__exp2_4(vsubq_f32(vmulq_f32(vld1q_f32(st + (size_t)k * MG__TC + v), vc2), mn));
            const float32x4_t e1 = k + 1 < nk ? mg__exp2_4(vsubq_f32(vmulq_f32(vld1q_f32(st + (size_t)(k + 1) * MG__TC + v), vc2), mn))
                                              : vdupq_n_f32(0.0f);
            lv = vaddq_f32(lv, e0);
            lv = vaddq_f32(lv, e1);
            vst1q_u32(pp + (size_t)(k / 2) * MG__TC + v, mg__bf4x2(e0, e1));
        }
        vst1q_f32(l + v, lv);
    }
}
static void mg__col_scale_neon(float *o, const float *ot, int c, int hd, float inv) {   /* four loads down the column */
    int i = 0;
    for (; i + 4 <= hd; i += 4) {
        const float *col = ot + (size_t)i * MG__TC + c;
        float32x4_t v = vld1q_dup_f32(col);
        v = vld1q_lane_f32(col + MG__TC, v, 1);
        v = vld1q_lane_f32(col + 2 * MG__TC, v, 2);
        v = vld1q_lane_f32(col + 3 * MG__TC, v, 3);
        vst1q_f32(o + i, vmulq_n_f32(v, inv));
    }
    mg__col_scale_scalar(o + i, ot + (size_t)i * MG__TC + c, 0, hd - i, inv);
}

/* ----- decoder attention. Key and value rows by pointer: f32 rows of the converted block, or F16 cache rows read
   in place (NULL: a zero row). Whether f32 or F16, 2 or 4 rows at a time, a score is the same four lane sums
   over channels (fused multiply-adds in channel order, then (l0 + l1) + (l2 + l3)) and an output element the
   same chain alpha O + sum_j p_j v_j in key order: the same bits for a token fed alone or in a batch. ----- */
/* four floats of row p from channel d (n of them valid, the rest 0) */
MG__INLINE float32x4_t mg__kv4(const void *p, int f16, int d, int n) {
    if (!p) return vdupq_n_f32(0.0f);
    if (f16) {
        const uint8_t *h = (const uint8_t *)p + 2 * (size_t)d;
        uint8_t t[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
        if (n >= 4) return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(h)));
        if (n > 0) memcpy(t, h, 2 * (size_t)n);
        return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(t)));
    }
    return mg__ld4n((const float *)p + d, n);
}
/* acc[r][i] += q_r[d..d+3] k_i[d..d+3] for R rows q + r hd and the four key rows kr[i] */
MG__INLINE void mg__qk_step(float32x4_t (*acc)[4], const float *q, int R, const void *const *kr, int f16, int hd, int d, int n) {
    float32x4_t kv[4];
    int r, i;
    MG__UNROLL for (i = 0; i < 4; i++) kv[i] = mg__kv4(kr[i], f16, d, n);
    MG__UNROLL for (r = 0; r < R; r++) {
        const float32x4_t qv = mg__ld4n(q + (size_t)r * hd + d, n);
        MG__UNROLL for (i = 0; i < 4; i++) acc[r][i] = vfmaq_f32(acc[r][i], qv, kv[i]);
    }
}
/* s[r KB + i] = q_r . k_i for R (2 or 4) rows and 4 keys */
MG__INLINE void mg__qk(const float *q, int R, const void *const *kr, int f16, int hd, float *s) {
    float32x4_t acc[4][4];
    int r, i, d;
    MG__UNROLL for (r = 0; r < R; r++) MG__UNROLL for (i = 0; i < 4; i++) acc[r][i] = vdupq_n_f32(0.0f);
    for (d = 0; d + 4 <= hd; d += 4) mg__qk_step(acc, q, R, kr, f16, hd, d, 4);
    if (d < hd) mg__qk_step(acc, q, R, kr, f16, hd, d, hd - d);
    MG__UNROLL for (r = 0; r < R; r++) vst1q_f32(s + (size_t)r * MG__KQ_KB, mg__fsum4x4(acc[r]));
}
/* O[r] channels [c, c + wd) (wd <= 16) for R rows: alpha_r O[r] + sum_{j = ja..jb} P[r][j] v_j */
MG__INLINE void mg__pv(const float *p, const float *al, const void *const *vr, int f16, int hd, int c, int wd, int ja, int jb,
                       float *o, int R) {
    float32x4_t acc[4][4], x[4];
    int r, v, j;
    MG__UNROLL for (r = 0; r < R; r++)
        MG__UNROLL for (v = 0; v < 4; v++) acc[r][v] = vmulq_n_f32(mg__ld4n(o + (size_t)r * hd + c + 4 * v, wd - 4 * v), al[r]);
    for (j = ja; j <= jb; j++) {
        MG__UNROLL for (v = 0; v < 4; v++) x[v] = mg__kv4(vr[j], f16, c + 4 * v, wd - 4 * v);
        MG__UNROLL for (r = 0; r < R; r++) {
            const float pj = p[(size_t)r * MG__KQ_KB + j];
            MG__UNROLL for (v = 0; v < 4; v++) acc[r][v] = vfmaq_n_f32(acc[r][v], x[v], pj);
        }
    }
    MG__UNROLL for (r = 0; r < R; r++)
        MG__UNROLL for (v = 0; v < 4; v++) mg__st4n(o + (size_t)r * hd + c + 4 * v, acc[r][v], wd - 4 * v);
}
/* One row's softmax step: lanes outside [a, b] are -inf for the max and 0 after */
MG__INLINE uint32x4_t mg__in4(int i, int a, int b) {   /* lanes 4i .. 4i+3 within [a, b] */
    static const int32_t k0123[4] = { 0, 1, 2, 3 };
    const int32x4_t idx = vaddq_s32(vld1q_s32(k0123), vdupq_n_s32(4 * i));
    return vandq_u32(vcgeq_s32(idx, vdupq_n_s32(a)), vcleq_s32(idx, vdupq_n_s32(b)));
}
static void mg__attn_softmax_row_neon(float *s, int a, int b, float *m, float *l, float *alpha) {
    float32x4_t vm = vdupq_n_f32(-INFINITY), e = vdupq_n_f32(0.0f), mnv;
    float mn;
    int i;
    if (!mg__attn_row_keys(s, &a, &b, alpha)) return;
    for (i = 0; i < MG__KQ_KB / 4; i++) vm = vbslq_f32(mg__in4(i, a, b), vmaxq_f32(vm, vld1q_f32(s + 4 * i)), vm);
    mn = vmaxvq_f32(vm);
    mn = *m > mn ? *m : mn;
    mnv = vdupq_n_f32(mn);
    for (i = 0; i < MG__KQ_KB / 4; i++) {
        const float32x4_t ei = vreinterpretq_f32_u32(vandq_u32(mg__in4(i, a, b), vreinterpretq_u32_f32(mg__exp4(vsubq_f32(vld1q_f32(s + 4 * i), mnv)))));
        vst1q_f32(s + 4 * i, ei);
        e = vaddq_f32(e, ei);
    }
    mg__attn_row_update(mn, vaddvq_f32(e), m, l, alpha);
}
/* Scores 4 rows x 4 keys (a last 2 rows x 4) where the rows' ranges meet the keys, softmax per row, then
   O = alpha O + P V for 4 (or 2) rows x 16 channels. */
MG__INLINE void mg__attn_rows_neon(const float *qt, int rp, int hd, int b0, const int *lo, const int *hi, const void *const *kr,
                                   const void *const *vr, int f16, float *sc, float *m, float *l, float *al, float *o) {
    int k4, r, c, b1 = b0 + MG__KQ_KB - 1;
    for (k4 = 0; k4 < MG__KQ_KB; k4 += 4)
        for (r = 0; r < rp; r += 4) {
            const int R = rp - r >= 4 ? 4 : 2;
            if (lo[r] > b0 + k4 + 3 || hi[r + R - 1] < b0 + k4) continue;
            if (R == 4) mg__qk(qt + (size_t)r * hd, 4, kr + k4, f16, hd, sc + (size_t)r * MG__KQ_KB + k4);
            else mg__qk(qt + (size_t)r * hd, 2, kr + k4, f16, hd, sc + (size_t)r * MG__KQ_KB + k4);
        }
    for (r = 0; r < rp; r++) mg__attn_softmax_row_neon(sc + (size_t)r * MG__KQ_KB, lo[r] - b0, hi[r] - b0, &m[r], &l[r], &al[r]);
    for (r = 0; r < rp; r += 4) {
        const int R = rp - r >= 4 ? 4 : 2, a = lo[r] > b0 ? lo[r] - b0 : 0, b = hi[r + R - 1] < b1 ? hi[r + R - 1] - b0 : MG__KQ_KB - 1;
        const float *p = sc + (size_t)r * MG__KQ_KB;
        float *orow = o + (size_t)r * hd;
        if (a > b) continue;                    /* no keys here: alpha = 1, P = 0 */
        for (c = 0; c + 16 <= hd; c += 16) {
            if (R == 4) mg__pv(p, al + r, vr, f16, hd, c, 16, a, b, orow, 4);
            else mg__pv(p, al + r, vr, f16, hd, c, 16, a, b, orow, 2);
        }
        if (c < hd) {                           /* the last channels, fewer than 16 */
            if (R == 4) mg__pv(p, al + r, vr, f16, hd, c, hd - c, a, b, orow, 4);
            else mg__pv(p, al + r, vr, f16, hd, c, hd - c, a, b, orow, 2);
        }
    }
}
static void mg__attn_block_neon(const float *qt, int rp, int hd, int b0, const int *lo, const int *hi, const float *kb,
                                const float *vb, float *sc, float *m, float *l, float *al, float *o) {
    const void *kr[MG__KQ_KB], *vr[MG__KQ_KB];
    int i;
    for (i = 0; i < MG__KQ_KB; i++) { kr[i] = kb + (size_t)i * hd; vr[i] = vb + (size_t)i * hd; }
    mg__attn_rows_neon(qt, rp, hd, b0, lo, hi, kr, vr, 0, sc, m, l, al, o);
}
/* One token's two rows over an F16 cache read in place: the rows of positions outside [lo[0], hi[1]] are zero
   rows, as mg__attn_load makes them. */
static void mg__attn_block_f16_neon(const float *qt, int hd, int b0, const int *lo, const int *hi, const uint8_t *kc,
                                    const uint8_t *vc, int ring, size_t kv_row, float *sc, float *m, float *l, float *al, float *o) {
    const void *kr[MG__KQ_KB], *vr[MG__KQ_KB];
    int i;
    for (i = 0; i < MG__KQ_KB; i++) {
        const int p = b0 + i, in = p >= lo[0] && p <= hi[1];
        kr[i] = in ? kc + (size_t)(p % ring) * kv_row : NULL;
        vr[i] = in ? vc + (size_t)(p % ring) * kv_row : NULL;
    }
    mg__attn_rows_neon(qt, 2, hd, b0, lo, hi, kr, vr, 1, sc, m, l, al, o);
}
static void mg__kv_row_f32_neon(int kt, const uint8_t *src, float *y, int n) {
    if (kt == MG_TYPE_F16) mg__h2f_row_neon(src, y, n);
    else mg__dequant_row(kt, src, y, n);
}
#ifndef MG_EXACT_GELU
/* four at a time: f16 indices by vcvt, four table reads, back by vcvt; the clamps by selects */
static void mg__gelu_f16tab_neon(float *x, int64_t n, const uint16_t *tab) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        uint16_t h[4], g[4];
        float32x4_t y;
        vst1_u16(h, vreinterpret_u16_f16(vcvt_f16_f32(v)));
        g[0] = tab[h[0]]; g[1] = tab[h[1]]; g[2] = tab[h[2]]; g[3] = tab[h[3]];
        y = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(g)));
        y = vbslq_f32(vcleq_f32(v, vdupq_n_f32(-10.0f)), vdupq_n_f32(0.0f), y);
        y = vbslq_f32(vcgeq_f32(v, vdupq_n_f32(10.0f)), v, y);
        vst1q_f32(x + i, y);
    }
    mg__gelu_f16tab_scalar(x + i, n - i, tab);
}
#endif
#endif /* MG__NEON */

/* ===== >>kernels: seam =============================================================================== */
/* One function per seam entry: the fastest kernel the build has, else the scalar reference. */
MG__SEAM void mg__quant_q8_k(const float *x, mg__block_q8_k *y, int64_t n) {
#if defined(MG__AVX512)
    mg__quant_q8_k_avx512(x, y, n);
#elif defined(MG__NEON)
    mg__quant_q8_k_neon(x, y, n);
#else
    mg__quant_q8_k_scalar(x, y, n);
#endif
}
/* Converts one activation row to the partner format of weight type wtype. */
static void mg__quant_row(int wtype, const float *x, void *y, int64_t n) {
    int64_t i;
    switch (mg__act_type(wtype)) {
#ifdef MG__NEON
    case MG_TYPE_F16:  mg__f2h_row_neon(x, (uint8_t *)y, n); break;
#elif defined(MG__F16C)
    case MG_TYPE_F16:  mg__f2h_row_f16c(x, (uint8_t *)y, n); break;
#else
    case MG_TYPE_F16:  for (i = 0; i < n; i++) ((uint16_t *)y)[i] = mg__f2h(x[i]); break;
#endif
    case MG_TYPE_BF16: for (i = 0; i < n; i++) ((uint16_t *)y)[i] = mg__f2bf(x[i]); break;
    case MG_TYPE_Q8_0: mg__quant_q8_0(x, (mg__block_q8_0 *)y, n); break;
    case MG_TYPE_Q8_K: mg__quant_q8_k(x, (mg__block_q8_k *)y, n); break;
    case MG_TYPE_Q8_1: mg__quant_q8_1(x, (mg__block_q8_1 *)y, n); break;
    default:           memcpy(y, x, (size_t)n * 4); break;
    }
}
/* One activation row for a matrix product: mg__quant_row, and for Q8_0 activations the block sums and scales
   (mg__act_row_bytes). */
static void mg__quant_act(int wtype, const float *x, void *y, int64_t n) {
    mg__quant_row(wtype, x, y, n);
    if (mg__act_type(wtype) == MG_TYPE_Q8_0) {
        const mg__block_q8_0 *q = (const mg__block_q8_0 *)y;
        int32_t *cs = (int32_t *)((uint8_t *)y + mg__act_q8_0_sums(n));
        float *dx = (float *)(cs + n / 32);
        int64_t b;
        int i;
        for (b = 0; b < n / 32; b++) {
            int32_t sum = 0;
            for (i = 0; i < 32; i++) sum += q[b].qs[i];
            cs[b] = sum;
            dx[b] = mg__h2f(q[b].d);
        }
    }
}
static float mg__vec_dot(int wtype, const void *w, const void *x, int64_t n) {
#ifdef MG__AVX2
    switch (wtype) {
#ifdef MG__F16C
    case MG_TYPE_F16:  return mg__dot_f16_avx2((const uint16_t *)w, (const uint16_t *)x, n);
#endif
    case MG_TYPE_Q8_0: return mg__dot_q8_0_avx2((const mg__block_q8_0 *)w, (const mg__block_q8_0 *)x, n);
    case MG_TYPE_Q4_K: return mg__dot_q4_k_avx2((const mg__block_q4_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q6_K: return mg__dot_q6_k_avx2((const mg__block_q6_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q5_K: return mg__dot_q5_k_avx2((const mg__block_q5_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q3_K: return mg__dot_q3_k_avx2((const mg__block_q3_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q2_K: return mg__dot_q2_k_avx2((const mg__block_q2_k *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_IQ4_XS: return mg__dot_iq4_xs_avx2((const mg__block_iq4_xs *)w, (const mg__block_q8_k *)x, n);
    case MG_TYPE_Q4_0: return mg__dot_lut4_avx2((const mg__block_q4_0 *)w, (const mg__block_q8_0 *)x, n, mg__q4_0_lut);
    case MG_TYPE_IQ4_NL: return mg__dot_lut4_avx2((const mg__block_q4_0 *)w, (const mg__block_q8_0 *)x, n, mg__iq4_grid);
    case MG_TYPE_Q4_1: return mg__dot_q4_1_avx2((const mg__block_q4_1 *)w, (const mg__block_q8_1 *)x, n);
    case MG_TYPE_F32:  return mg__dot_f32_avx2((const float *)w, (const float *)x, n);
    default: break;
    }
#endif
#ifdef MG__NEON
    return mg__vec_dot_neon(wtype, w, x, n);
#else
    return mg__vec_dot_scalar(wtype, w, x, n);
#endif
}
/* y[t ys + r] = W_r . x_t for nr weight rows (row_bytes rb apart, from w) and nt <= MG__TOK_BLOCK activation rows
   x_t = x + t xs converted by mg__quant_act. */
MG__SEAM void mg__mat_block(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n,
                          float *y, size_t ys) {
    int r, t;
#if defined(MG__VNNI)
    if (mg__mat_block_vnni(wtype, w, rb, nr, x, xs, nt, n, y, ys)) return;
#elif defined(MG__NEON)
    if (mg__mat_block_neon(wtype, w, rb, nr, x, xs, nt, n, y, ys)) return;
#endif
    for (r = 0; r < nr; r++)
        for (t = 0; t < nt; t++) y[(size_t)t * ys + r] = mg__vec_dot(wtype, w + (size_t)r * rb, x + (size_t)t * xs, n);
}
/* Whether matrices of type wtype go faster in the lanes layout: the build has kernels for it. */
static int mg__lanes_wanted(int wtype) {
#ifdef MG__VNNI
    const int have = 1;
#else
    const int have = 0;
#endif
    return have && mg__lanes_type(wtype);
}
/* mg__mat_block for nr rows (a multiple of 16) of a matrix in the lanes layout, w at the group of the first row;
   x: rows of mg__quant_act (xs bytes apart). */
MG__SEAM void mg__mat_block_lanes(int wtype, const uint8_t *w, size_t rb, int nr, const uint8_t *x, size_t xs, int nt, int64_t n,
                                float *y, size_t ys) {
#ifdef MG__VNNI
    mg__mat_block_lanes_vnni(wtype, w, rb, nr, x, xs, nt, n, y, ys);
#else
    mg__mat_block_lanes_scalar(wtype, w, rb, nr, x, xs, nt, n, y, ys);
#endif
}
MG__SEAM void mg__tile_bf16(const uint32_t *a, const uint32_t *b, int kp, float *c, size_t ldc, int nr, int nc, const float *init, int mode) {
#if defined(MG__BF16)
    mg__tile_bf16_avx512(a, b, kp, c, ldc, nr, nc, init, mode);
#elif defined(MG__NEON)
    mg__tile_bf16_neon(a, b, kp, c, ldc, nr, nc, init, mode);
#else
    mg__tile_bf16_scalar(a, b, kp, c, ldc, nr, nc, init, mode);
#endif
}
MG__SEAM void mg__tile_f32(const float *a, const float *b, size_t ldb, int kn, float *c, size_t ldc, int nr, int nc,
                         const float *init, int mode) {
#if defined(MG__AVX512)
    mg__tile_f32_avx512(a, b, ldb, kn, c, ldc, nr, nc, init, mode);
#elif defined(MG__NEON)
    mg__tile_f32_neon(a, b, ldb, kn, c, ldc, nr, nc, init, mode);
#else
    mg__tile_f32_scalar(a, b, ldb, kn, c, ldc, nr, nc, init, mode);
#endif
}
MG__SEAM void mg__bf16_pairs(uint32_t *dst, const float *x, int k) {
#if defined(MG__BF16)
    mg__bf16_pairs_avx512(dst, x, k);
#elif defined(MG__NEON)
    mg__bf16_pairs_neon(dst, x, k);
#else
    mg__bf16_pairs_scalar(dst, x, k);
#endif
}
MG__SEAM void mg__bf16_interleave(uint32_t *dst, const float *x0, const float *x1, int k) {
#if defined(MG__BF16)
    mg__bf16_interleave_avx512(dst, x0, x1, k);
#elif defined(MG__NEON)
    mg__bf16_interleave_neon(dst, x0, x1, k);
#else
    mg__bf16_interleave_scalar(dst, x0, x1, k);
#endif
}
/* Row o of a weight matrix as floats (f32 = 1) or bf16 pairs (f32 = 0); tmp holds n_in floats. */
MG__SEAM void mg__wrow(const mg__mat *w, int64_t o, void *dst, float *tmp, int f32) {
#if defined(MG__AVX512)
    mg__wrow_avx512(w, o, dst, tmp, f32);
#elif defined(MG__NEON)
    mg__wrow_neon(w, o, dst, tmp, f32);
#else
    mg__wrow_scalar(w, o, dst, tmp, f32);
#endif
}
MG__SEAM void mg__softmax_block(const float *st, int nk, float c2, float *m, float *l, float *ot, int no, uint32_t *pp) {
#if defined(MG__BF16)
    mg__softmax_block_bf16(st, nk, c2, m, l, ot, no, pp);
#elif defined(MG__NEON)
    mg__softmax_block_neon(st, nk, c2, m, l, ot, no, pp);
#else
    mg__softmax_block_scalar(st, nk, c2, m, l, ot, no, pp);
#endif
}
MG__SEAM void mg__col_scale(float *o, const float *ot, int c, int hd, float inv) {
#if defined(MG__AVX512)
    mg__col_scale_avx512(o, ot, c, hd, inv);
#elif defined(MG__NEON)
    mg__col_scale_neon(o, ot, c, hd, inv);
#else
    mg__col_scale_scalar(o, ot, c, hd, inv);
#endif
}
MG__SEAM void mg__attn_block(const float *qt, int rp, int hd, int b0, const int *lo, const int *hi, const float *kb,
                           const float *vb, float *sc, float *m, float *l, float *al, float *o) {
#if defined(MG__AVX512)
    mg__attn_block_avx512(qt, rp, hd, b0, lo, hi, kb, vb, sc, m, l, al, o);
#elif defined(MG__NEON)
    mg__attn_block_neon(qt, rp, hd, b0, lo, hi, kb, vb, sc, m, l, al, o);
#else
    mg__attn_block_scalar(qt, rp, hd, b0, lo, hi, kb, vb, sc, m, l, al, o);
#endif
}
/* A block of one token's two rows over an F16 cache read in place: 1 when a kernel does that, else 0 (the caller
   converts the block with mg__kv_row_f32 and calls mg__attn_block). */
MG__SEAM int mg__attn_block_f16(const float *qt, int hd, int b0, const int *lo, const int *hi, const uint8_t *kc, const uint8_t *vc,
                              int ring, size_t kv_row, float *sc, float *m, float *l, float *al, float *o) {
#if defined(MG__AVX512)
    mg__attn_block_f16_avx512(qt, hd, b0, lo, hi, kc, vc, ring, kv_row, sc, m, l, al, o);
    return 1;
#elif defined(MG__NEON)
    mg__attn_block_f16_neon(qt, hd, b0, lo, hi, kc, vc, ring, kv_row, sc, m, l, al, o);
    return 1;
#else
    (void)qt; (void)hd; (void)b0; (void)lo; (void)hi; (void)kc; (void)vc; (void)ring; (void)kv_row;
    (void)sc; (void)m; (void)l; (void)al; (void)o;
    return 0;
#endif
}
/* One cached row of n values of type kt as floats (exact for F16 and Q8_0). */
MG__SEAM void mg__kv_row_f32(int kt, const uint8_t *src, float *y, int n) {
#if defined(MG__AVX512)
    mg__kv_row_f32_avx512(kt, src, y, n);
#elif defined(MG__NEON)
    mg__kv_row_f32_neon(kt, src, y, n);
#else
    mg__dequant_row(kt, src, y, n);
#endif
}
MG__SEAM void mg__gelu_f16tab(float *x, int64_t n, const uint16_t *tab) {
#if defined(MG__AVX512) && !defined(MG_EXACT_GELU)
    mg__gelu_f16tab_avx512(x, n, tab);
#elif defined(MG__NEON) && !defined(MG_EXACT_GELU)
    mg__gelu_f16tab_neon(x, n, tab);
#else
    mg__gelu_f16tab_scalar(x, n, tab);
#endif
}

/* ===== >>thread pool ================================================================================= */
/* Persistent workers. A job is fn(ctx, ith, nth) on every thread; each job splits its work by index ranges that
   depend only on (ith, nth), and each output element is computed by the same code whatever thread runs it, so
   results do not depend on the thread count. Between jobs a worker first spins on the job counter for a short
   while (a decode step runs some 200 jobs, mostly a few microseconds apart) and then sleeps on a
   condition variable, so an idle pool takes no CPU; the caller likewise spins, then sleeps, waiting for the end. */
typedef void (*mg__task_fn)(void *ctx, int ith, int nth);

#define MG__SPIN_ROUNDS 2000  /* polls (with a pause each) before sleeping: some tens of microseconds */

typedef struct mg__pool {
    int n;                   /* threads including the caller */
#ifndef MG_NO_THREADS
    pthread_t *th;           /* [n-1] workers */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    mg__task_fn fn;          /* current job (written before gen is published) */
    void *ctx;
    unsigned gen;            /* job generation (atomic when MG__SPIN) */
    int pending;             /* workers still running the job (atomic when MG__SPIN) */
    int quit;
    int started;             /* workers created */
#endif
} mg__pool;

#ifndef MG_NO_THREADS
typedef struct mg__worker_arg { mg__pool *p; int ith; } mg__worker_arg;

static void mg__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__) && defined(__GNUC__)
    __asm__ __volatile__("yield");
#endif
}
/* Spins until the job generation differs from seen (1) or the spin budget is spent (0). */
static int mg__pool_spin_gen(mg__pool *p, unsigned seen) {
#ifdef MG__SPIN
    int i;
    for (i = 0; i < MG__SPIN_ROUNDS; i++) {
        if (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) != seen || __atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) return 1;
        mg__cpu_relax();
    }
#else
    (void)p; (void)seen;
#endif
    return 0;
}

static void *mg__worker(void *arg) {
    mg__pool *p = ((mg__worker_arg *)arg)->p;
    int ith = ((mg__worker_arg *)arg)->ith;
    unsigned seen = 0;
    MG_FREE(arg);
    for (;;) {
        mg__task_fn fn;
        void *ctx;
        int left;
        if (mg__pool_spin_gen(p, seen)) {      /* a new job (fn, ctx published before gen) or quit */
#ifdef MG__SPIN
            if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) return NULL;
            seen = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
#endif
            fn = p->fn; ctx = p->ctx;
        } else {                               /* sleep until the next job */
            pthread_mutex_lock(&p->mu);
            while (p->gen == seen && !p->quit) pthread_cond_wait(&p->wake, &p->mu);
            if (p->quit) { pthread_mutex_unlock(&p->mu); return NULL; }
            seen = p->gen; fn = p->fn; ctx = p->ctx;
            pthread_mutex_unlock(&p->mu);
        }
        fn(ctx, ith, p->n);
#ifdef MG__SPIN
        left = __atomic_sub_fetch(&p->pending, 1, __ATOMIC_ACQ_REL);
        if (left == 0) {                     /* the caller may be asleep: signal under the mutex */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
#else
        pthread_mutex_lock(&p->mu);
        left = --p->pending;
        if (left == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
#endif
    }
}
#endif

static void mg__pool_stop(mg__pool *p) {
#ifndef MG_NO_THREADS
    int i;
    if (p->n > 1 && p->th) {
        pthread_mutex_lock(&p->mu);
#ifdef MG__SPIN
        __atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
#else
        p->quit = 1;
#endif
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        for (i = 0; i < p->started; i++) pthread_join(p->th[i], NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->wake);
        pthread_cond_destroy(&p->done);
    }
    MG_FREE(p->th);
    p->th = NULL;
#endif
    p->n = 1;
}

static mg_result mg__pool_start(mg__pool *p, int n) {
#ifndef MG_NO_THREADS
    pthread_attr_t attr;
    mg_result r = MG_OK;
#endif
    memset(p, 0, sizeof *p);
    p->n = 1;
#ifndef MG_NO_THREADS
    if (n <= 1) return MG_OK;
    if (!(p->th = (pthread_t *)mg__calloc((size_t)n - 1, sizeof(pthread_t)))) return MG_ERR_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = n;
    /* kernels keep up to ~64 KiB of blocks on the stack: ask for 1 MiB whatever the platform's default (musl: 128 KiB) */
    if (pthread_attr_init(&attr) != 0) { mg__pool_stop(p); return MG_ERR_THREAD; }
    pthread_attr_setstacksize(&attr, (size_t)1 << 20);
    for (p->started = 0; p->started < n - 1; p->started++) {
        mg__worker_arg *a = (mg__worker_arg *)mg__malloc(sizeof *a);
        if (!a) { r = MG_ERR_NOMEM; break; }
        a->p = p; a->ith = p->started + 1;
        if (pthread_create(&p->th[p->started], &attr, mg__worker, a) != 0) { MG_FREE(a); r = MG_ERR_THREAD; break; }
    }
    pthread_attr_destroy(&attr);
    if (r != MG_OK) mg__pool_stop(p);
    return r;
#else
    (void)n;
#endif
    return MG_OK;
}

/* Bytes a pool of n threads keeps allocated (the worker handles). */
static size_t mg__pool_bytes(int n) {
#ifndef MG_NO_THREADS
    return n > 1 ? (size_t)(n - 1) * sizeof(pthread_t) : 0;
#else
    (void)n;
    return 0;
#endif
}

/* Runs fn on every thread of the pool (the caller is thread 0) and waits for all of them. */
static void mg__pool_run(mg__pool *p, mg__task_fn fn, void *ctx) {
#ifndef MG_NO_THREADS
    if (p->n > 1) {
        pthread_mutex_lock(&p->mu);
        p->fn = fn; p->ctx = ctx;
#ifdef MG__SPIN
        __atomic_store_n(&p->pending, p->n - 1, __ATOMIC_RELAXED);
        __atomic_store_n(&p->gen, p->gen + 1, __ATOMIC_RELEASE);     /* publishes fn, ctx, pending */
#else
        p->pending = p->n - 1; p->gen++;
#endif
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        fn(ctx, 0, p->n);
#ifdef MG__SPIN
        {
            int i;
            for (i = 0; i < MG__SPIN_ROUNDS && __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0; i++) mg__cpu_relax();
            if (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) == 0) return;
        }
        pthread_mutex_lock(&p->mu);
        while (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
#else
        pthread_mutex_lock(&p->mu);
        while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
#endif
        return;
    }
#else
    (void)p;
#endif
    fn(ctx, 0, 1);
}

/* The share [*lo, *hi) of n items that thread ith of nth takes. */
static void mg__split(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi) {
    *lo = n * ith / nth;
    *hi = n * (ith + 1) / nth;
}

/* ----- the default thread count (mg_cpu_count: the sources per system) -----
   The CPUs this process may run on, not the machine's: a container limited to 2 CPUs on a 64-core host must not
   start 64 spinning workers. A cgroup quota counts from the process's cgroup up through its ancestors (the
   tightest wins), rounded up to whole CPUs. */
#define MG__MAX_THREADS 256
#if defined(__linux__) && !defined(MG_NO_THREADS)
/* Up to cap-1 bytes of a small file (cgroup and proc files), NUL-terminated; 0 when it cannot be read. */
static int mg__read_small(const char *path, char *buf, size_t cap) {
    size_t got = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    while (got + 1 < cap) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    return got > 0;
}
/* CPUs allowed by a quota of `quota` microseconds per `period`, rounded up; 0: no limit or unreadable. */
static int mg__quota_cpus(long long quota, long long period) {
    long long n;
    if (quota <= 0 || period <= 0) return 0;
    n = (quota + period - 1) / period;
    return n > MG__MAX_THREADS ? MG__MAX_THREADS : (int)n;
}
/* The tightest quota on the cgroup `dir` (under root) and its ancestors; 0 when none is set. v2 keeps
   "quota period" or "max period" in cpu.max; v1 keeps the two numbers in cpu.cfs_quota_us and cpu.cfs_period_us. */
static int mg__cgroup_quota(const char *root, const char *dir, int v2) {
    char path[4096], a[64], b[64];
    size_t len = strlen(dir);
    int best = 0;
    for (;;) {
        int n = 0;
        long long q = 0, per = 0;
        while (len > 0 && dir[len - 1] == '/') len--;
        if (v2) {
            if (snprintf(path, sizeof path, "%s%.*s/cpu.max", root, (int)len, dir) < (int)sizeof path &&
                mg__read_small(path, a, sizeof a) && strncmp(a, "max", 3) != 0 && sscanf(a, "%lld %lld", &q, &per) == 2)
                n = mg__quota_cpus(q, per);
        } else if (snprintf(path, sizeof path, "%s/cpu%.*s/cpu.cfs_quota_us", root, (int)len, dir) < (int)sizeof path &&
                   mg__read_small(path, a, sizeof a) && sscanf(a, "%lld", &q) == 1 &&
                   snprintf(path, sizeof path, "%s/cpu%.*s/cpu.cfs_period_us", root, (int)len, dir) < (int)sizeof path &&
                   mg__read_small(path, b, sizeof b) && sscanf(b, "%lld", &per) == 1) {
            n = mg__quota_cpus(q, per);
        }
        if (n > 0 && (best == 0 || n < best)) best = n;
        if (len == 0) return best;
        while (len > 0 && dir[len - 1] != '/') len--;      /* the parent cgroup */
    }
}
/* Whether a v1 controller list ("cpu,cpuacct") names the cpu controller. */
static int mg__names_cpu(const char *list) {
    while (*list) {
        size_t k = strcspn(list, ",");
        if (k == 3 && memcmp(list, "cpu", 3) == 0) return 1;
        list += k + (list[k] == ',');
    }
    return 0;
}
/* The CPU quota of this process's cgroup: `self` lists its cgroups ("0::/path" for v2, "N:cpu,cpuacct:/path" for
   v1), `root` is where the hierarchy is mounted. In a container the path may name the host's view while the mount
   holds the container's own cgroup: every ancestor is looked at, so the container's quota is found either way. */
static int mg__cgroup_cpus(const char *self, const char *root) {
    char text[4096], *line, *next;
    int best = 0;
    if (!mg__read_small(self, text, sizeof text)) return 0;
    for (line = text; *line; line = next) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        int n = 0;
        next = strchr(line, '\n');
        if (next) *next++ = 0; else next = line + strlen(line);
        if (!c2) continue;
        *c2 = 0;                                   /* c1 + 1: the controllers, c2 + 1: the path */
        if (c1 == line + 1 && line[0] == '0' && c2 == c1 + 1) n = mg__cgroup_quota(root, c2 + 1, 1);
        else if (mg__names_cpu(c1 + 1)) n = mg__cgroup_quota(root, c2 + 1, 0);
        if (n > 0 && (best == 0 || n < best)) best = n;
    }
    return best;
}
static int mg__affinity_cpus(void) {
    unsigned long mask[1024 / (8 * sizeof(unsigned long))];      /* CPU_SETSIZE bits */
    int n = 0;
    size_t i;
    memset(mask, 0, sizeof mask);
    if (sched_getaffinity(0, sizeof mask, (MG__CPU_SET *)(void *)mask) != 0) return 0;
    for (i = 0; i < sizeof mask / sizeof mask[0]; i++) { unsigned long w = mask[i]; while (w) { w &= w - 1; n++; } }
    return n;
}
#endif
#if defined(_WIN32) && !defined(MG_NO_THREADS)
static int mg__windows_cpus(void) {
    DWORD_PTR proc = 0, sys = 0;
    int n, a = 0;
#if defined(_WIN32_WINNT) && _WIN32_WINNT >= 0x0601
    n = (int)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
#else
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    n = (int)si.dwNumberOfProcessors;
#endif
    if (GetProcessAffinityMask(GetCurrentProcess(), &proc, &sys)) while (proc) { proc &= proc - 1; a++; }
    return a > 0 && a < n ? a : n;       /* the mask covers one processor group: it only ever lowers the count */
}
#endif
static int mg__cpu_count(void) {
    long n = 0;
#if defined(MG_NO_THREADS)
    n = 1;
#elif defined(__linux__)
    int quota = mg__cgroup_cpus("/proc/self/cgroup", "/sys/fs/cgroup");
    if ((n = mg__affinity_cpus()) <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
    if (quota > 0 && quota < n) n = quota;
#elif defined(__APPLE__)
    int c = 0;
    size_t len = sizeof c;
    if (sysctlbyname("hw.activecpu", &c, &len, NULL, 0) == 0 || sysctlbyname("hw.ncpu", &c, &len, NULL, 0) == 0) n = c;
#elif defined(_WIN32)
    n = mg__windows_cpus();
#elif defined(_SC_NPROCESSORS_ONLN)
    n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    return n < 1 ? 1 : n > MG__MAX_THREADS ? MG__MAX_THREADS : (int)n;
}
MGDEF int mg_cpu_count(void) { return mg__cpu_count(); }

/* ===== >>ops ========================================================================================= */
/* The model's elementwise math (norms, GELU, RoPE), the debug taps, and the matrix products of both towers spread
   over the thread pool on top of the kernel seam. */
/* Hands a named intermediate to the session's tap (llama.cpp's tensor names; ne in ggml order). */
static void mg__tap(const mg_session_options *o, const char *name, int layer, const float *data, int64_t ne0, int64_t ne1, int64_t ne2) {
    int64_t ne[4];
    if (!o->tap) return;
    ne[0] = ne0; ne[1] = ne1; ne[2] = ne2; ne[3] = 1;
    o->tap(o->tap_user, name, layer, data, ne);
}
/* sum_i (x_i - c)^p in double for p = 1 or 2 (x_i - c rounded to float first): eight partial sums, value i in
   sum i % 8, added in one fixed tree. The sum depends only on the row; eight chains instead of one make a norm of
   a 1152-wide row ~3x faster (a double add waits for the previous one). */
static double mg__row_sum(const float *x, int64_t n, float c, int p) {
    double s[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    int64_t i;
    int k;
    float dv;
    for (i = 0; i + 8 <= n; i += 8)
        for (k = 0; k < 8; k++) { dv = x[i + k] - c; s[k] += p == 2 ? (double)dv * dv : dv; }
    for (k = 0; i + k < n; k++) { dv = x[i + k] - c; s[k] += p == 2 ? (double)dv * dv : dv; }
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}
/* RMSNorm of one row: y = x / sqrt(mean(x^2) + eps) * w  (w already holds Gemma's 1 + weight). */
static void mg__rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps) {
    float scale = 1.0f / sqrtf((float)(mg__row_sum(x, n, 0.0f, 2) / (double)n) + eps);
    int64_t i;
    for (i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
}
/* LayerNorm of one row, as ggml computes it: y = (x - mean) / sqrt(var + eps) * w + b. */
static void mg__layernorm(float *y, const float *x, const float *w, const float *b, int64_t n, float eps) {
    float mean = (float)(mg__row_sum(x, n, 0.0f, 1) / (double)n);
    float scale = 1.0f / sqrtf((float)(mg__row_sum(x, n, mean, 2) / (double)n + eps));
    int64_t i;
    for (i = 0; i < n; i++) y[i] = (x[i] - mean) * scale * w[i] + b[i];
}
/* GELU, tanh approximation: gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
static float mg__gelu(float x) {
    const float c = 0.79788456080286535588f;
    return 0.5f * x * (1.0f + tanhf(c * x * (1.0f + 0.044715f * x * x)));
}
/* Like ggml's CPU backend (a 64K-entry table), the model path rounds GELU's input and result to f16 and clamps
   |x| >= 10 (to 0 or x): this is what llama.cpp computes, and matching it takes the F32 logit difference from
   ~5e-3 to ~1e-3 and makes Q8_0 bit-identical on short prompts (MG_EXACT_GELU keeps float throughout).
   tab[h] = f16(gelu(f16 value h)); one spare entry for 4-byte gathers. Built once per model. */
static void mg__gelu_table(uint16_t *tab) {
    int h;
    for (h = 0; h < 65536; h++) tab[h] = mg__f2h(mg__gelu(mg__h2f((uint16_t)h)));
    tab[65536] = 0;
}
/* GEGLU of one row: g[i] = gelu(g[i]) * u[i] (GELU through the f16 table). */
static void mg__geglu(float *g, const float *u, int64_t n, const uint16_t *tab) {
    int64_t i;
    mg__gelu_f16tab(g, n, tab);
    for (i = 0; i < n; i++) g[i] *= u[i];
}
/* NeoX rotary embedding of one head vector (rotate-half pairs i, i + d/2):
     theta_i = p * scale * base^(-2i/d), computed as ggml does (theta *= base^(-2/d) per pair, in float)
     (x_i, x_{i+d/2}) <- (x_i cos - x_{i+d/2} sin, x_i sin + x_{i+d/2} cos)
   cs holds the d/2 (cos, sin) pairs for one position. */
static void mg__rope_cache(float *cs, int d, int pos, float base, float scale) {
    float theta = (float)pos, step = powf(base, -2.0f / (float)d);
    int i;
    for (i = 0; i < d / 2; i++) {
        float t = scale * theta;
        cs[2 * i] = cosf(t);
        cs[2 * i + 1] = sinf(t);
        theta *= step;
    }
}
static void mg__rope(float *x, const float *cs, int d) {
    int i, h = d / 2;
    for (i = 0; i < h; i++) {
        float a = x[i], b = x[i + h], c = cs[2 * i], s = cs[2 * i + 1];
        x[i] = a * c - b * s;
        x[i + h] = a * s + b * c;
    }
}

/* ----- weights from a file: matrices as stored, vectors as floats, each checked against the config ----- */
static int mg__is_matmul_type(int t) {
    switch (t) {
    case MG_TYPE_F32: case MG_TYPE_F16: case MG_TYPE_BF16: case MG_TYPE_Q8_0: case MG_TYPE_Q4_0: case MG_TYPE_Q4_1:
    case MG_TYPE_IQ4_NL: case MG_TYPE_Q2_K: case MG_TYPE_Q3_K: case MG_TYPE_Q4_K: case MG_TYPE_Q5_K: case MG_TYPE_Q6_K:
    case MG_TYPE_IQ4_XS: return 1;
    default: return 0;
    }
}
#define MG__MATMUL_TYPES "F32, F16, BF16, Q8_0, Q4_0, Q4_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS"
/* A 2-D weight [n_in, n_out] by name, checked against the config; its bytes are added to *bytes. */
static mg_result mg__get_mat(const mg_gguf *g, const char *name, int64_t n_in, int64_t n_out, mg__mat *out, size_t *bytes,
                             mg_error *e) {
    int64_t i = mg__gguf_tensor_find(g, name);
    const mg__tinfo *t;
    if (i < 0) return mg__fail(e, MG_ERR_MODEL, "tensor '%s' is missing", name);
    t = &g->t[i];
    if (t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != 1 || t->ne[3] != 1)
        return mg__fail(e, MG_ERR_MODEL, "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", name,
                        (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                        (long long)n_in, (long long)n_out);
    if (!mg__is_matmul_type(t->type))
        return mg__fail(e, MG_ERR_UNSUPPORTED, "tensor '%s' has type %s (" MG__MATMUL_TYPES " run)",
                        name, mg_type_name(t->type));
    out->data = g->data + g->data_off + t->offset;
    out->type = t->type;
    out->n_in = n_in;
    out->n_out = n_out;
    out->row_bytes = mg__row_bytes(t->type, n_in);
    out->lanes = 0;
    *bytes += (size_t)t->nbytes;
    return MG_OK;
}
/* n1 rows of n0 floats (ne[0] = n0, the other dims n1 in all) by name, dequantized into an arena (*used of cap
   floats taken) and checked finite: norm weights, biases, position embeddings. */
static mg_result mg__get_floats(const mg_gguf *g, const char *name, int64_t n0, int64_t n1, float *arena, size_t *used,
                                size_t cap, const float **out, mg_error *e) {
    int64_t i = mg__gguf_tensor_find(g, name), r;
    const mg__tinfo *t;
    float *dst = arena + *used;
    size_t k;
    if (i < 0) return mg__fail(e, MG_ERR_MODEL, "tensor '%s' is missing", name);
    t = &g->t[i];
    if (t->ne[0] != n0 || t->ne[1] * t->ne[2] * t->ne[3] != n1)
        return mg__fail(e, MG_ERR_MODEL, "tensor '%s' has %lld x %lld values, expected %lld x %lld", name, (long long)t->ne[0],
                        (long long)(t->ne[1] * t->ne[2] * t->ne[3]), (long long)n0, (long long)n1);
    if (*used + (size_t)(n0 * n1) > cap) return mg__fail(e, MG_ERR_MODEL, "tensor '%s': more data than the config implies", name);
    for (r = 0; r < n1; r++)
        if (!mg__dequant_row(t->type, g->data + g->data_off + t->offset + (size_t)r * mg__row_bytes(t->type, n0), dst + r * n0, n0))
            return mg__fail(e, MG_ERR_UNSUPPORTED, "tensor '%s' has type %s", name, mg_type_name(t->type));
    for (k = 0; k < (size_t)(n0 * n1); k++)
        if (!isfinite(dst[k])) return mg__fail(e, MG_ERR_MODEL, "tensor '%s' holds NaN or Inf at %lld", name, (long long)k);
    *used += (size_t)(n0 * n1);
    *out = dst;
    return MG_OK;
}

/* ----- decoder matrix products: Y = X W^T over the pool (mg__mat_block per row chunk) ----- */
/* y_i[t][r] = sum_k W_i[r][k] x[t][k] for t < n_tok and nw matrices W_i that read the same input (same n_in and
   partner format, e.g. Q, K, V): the input rows are converted once, then one job splits each matrix's rows
   across threads. */
typedef struct mg__matmul_job {
    const mg__mat *const *w; /* [nw] weights */
    float *const *y;         /* [nw] outputs, [n_tok][n_out of w_i] */
    int nw;
    const float *x;          /* [n_tok][n_in] input rows */
    uint8_t *xq;             /* n_tok input rows converted to the partner format */
    size_t xq_stride;        /* bytes per converted row */
    int n_tok;
    int per;                 /* row chunks per matrix */
    int next;                /* next chunk to take, 0 .. nw * per (atomic) */
} mg__matmul_job;
/* Converts this thread's share of the input rows. */
static void mg__quant_task(void *ctx, int ith, int nth) {
    const mg__matmul_job *j = (const mg__matmul_job *)ctx;
    int64_t t, lo, hi, n_in = j->w[0]->n_in;
    mg__split(j->n_tok, ith, nth, &lo, &hi);
    for (t = lo; t < hi; t++) mg__quant_act(j->w[0]->type, j->x + t * n_in, j->xq + (size_t)t * j->xq_stride, n_in);
}
/* Rows [lo, hi) of matrix i for every token. */
static void mg__matmul_rows(const mg__matmul_job *j, int i, int64_t lo, int64_t hi) {
    const mg__mat *w = j->w[i];
    int t0, t1;
    for (t0 = 0; t0 < j->n_tok; t0 = t1) {           /* blocks of activation rows stay in cache */
        t1 = t0 + MG__TOK_BLOCK < j->n_tok ? t0 + MG__TOK_BLOCK : j->n_tok;
        (w->lanes ? mg__mat_block_lanes : mg__mat_block)(w->type, w->data + (size_t)lo * w->row_bytes, w->row_bytes, (int)(hi - lo),
            j->xq + (size_t)t0 * j->xq_stride, j->xq_stride, t1 - t0, w->n_in, j->y[i] + (size_t)t0 * w->n_out + lo, (size_t)w->n_out);
    }
}
/* Each matrix is cut into per chunks of rows (multiples of 16); threads take chunks from a shared counter, so a
   thread that the system delays leaves its work to the others. Every output element is computed by the same
   code whichever thread or chunk it falls in. Without atomics, thread ith takes chunks ith, ith + nth, ... */
static void mg__matmul_task(void *ctx, int ith, int nth) {
    mg__matmul_job *j = (mg__matmul_job *)ctx;
    int c, total = j->nw * j->per;
#ifdef MG__SPIN
    (void)ith; (void)nth;
    while ((c = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < total) {
#else
    for (c = ith; c < total; c += nth) {
#endif
        const int64_t n = j->w[c / j->per]->n_out, step = (n / j->per + 15) / 16 * 16;
        int64_t lo = step * (c % j->per), hi = lo + step < n ? lo + step : n;
        if (c % j->per == j->per - 1) hi = n;
        if (lo < hi) mg__matmul_rows(j, c / j->per, lo, hi);
    }
}
/* Row chunks per matrix for nth threads: 8 per thread, and more for a large matrix, so that none holds more than
   MG__CHUNK_BYTES of weights (the last chunk taken ends the job: small chunks keep the threads' finishing times
   close); at least 16 rows each. */
#ifndef MG__CHUNK_BYTES
#define MG__CHUNK_BYTES ((size_t)1 << 20)
#endif
static int mg__chunks(const mg__mat *w, int nth) {
    size_t per = (size_t)w->n_out * w->row_bytes / MG__CHUNK_BYTES, most = (size_t)(w->n_out / 16);
    if (per < 8 * (size_t)nth) per = 8 * (size_t)nth;
    if (per > most) per = most > 0 ? most : 1;
    return (int)(per < 65536 ? per : 65536);
}
/* y_i = W_i x over n rows for nw matrices with the same input (no bias): one conversion of the input (across
   threads for several rows) and one job when the matrices share n_in and the partner format, else one each. */
static void mg__linear_n(mg__pool *pool, uint8_t *xq, const mg__mat *const *w, float *const *y, int nw, const float *x, int n) {
    mg__matmul_job j;
    int i;
    for (i = 1; i < nw; i++)
        if (w[i]->n_in != w[0]->n_in || mg__act_type(w[i]->type) != mg__act_type(w[0]->type)) {
            for (i = 0; i < nw; i++) mg__linear_n(pool, xq, w + i, y + i, 1, x, n);
            return;
        }
    j.w = w; j.y = y; j.nw = nw; j.x = x; j.xq = xq; j.n_tok = n;
    j.per = pool->n > 1 ? mg__chunks(w[0], pool->n) : 1; j.next = 0;
    j.xq_stride = mg__act_row_bytes(w[0]->type, w[0]->n_in);
    if (n >= 4) mg__pool_run(pool, mg__quant_task, &j);
    else mg__quant_task(&j, 0, 1);
    mg__pool_run(pool, mg__matmul_task, &j);
}
/* y = W x + b over n rows, with a caller-sized conversion buffer. With MG_USE_BLAS, F32 weights and 8 rows or
   more go to cblas_sgemm (OpenBLAS's own threads; its summation order differs from ours). */
static void mg__linear(mg__pool *pool, uint8_t *xq, const mg__mat *w, const float *b, const float *x, int n, float *y) {
    int t, i;
#ifdef MG_USE_BLAS
    if (w->type == MG_TYPE_F32 && n >= 8) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)w->n_out, (int)w->n_in, 1.0f, x, (int)w->n_in,
                    (const float *)w->data, (int)w->n_in, 0.0f, y, (int)w->n_out);
        if (b) for (t = 0; t < n; t++) for (i = 0; i < w->n_out; i++) y[(size_t)t * w->n_out + i] += b[i];
        return;
    }
#endif
    mg__linear_n(pool, xq, &w, &y, 1, x, n);
    if (b) for (t = 0; t < n; t++) for (i = 0; i < w->n_out; i++) y[(size_t)t * w->n_out + i] += b[i];
}

/* ----- vision matrix products: packed panels and tiles (>>kernels: mg__tile_f32, mg__tile_bf16) over the pool ----- */
enum { MG__GEMM_KB = 2400, MG__GEMM_CB = 1, MG__GEMM_RB = 16 };   /* GEMM blocks: k steps (at most), A panels, B panels */
/* Y[t][o] = C0 + b[o] + sum_i X[t][i] W[o][i] over up to 3 weight matrices of one input width stacked along
   the outputs (Q, K and V in one pass). C0 = Y[t][o] when accumulating (residual), else 0. Float weight panels
   a[32 i + c] and the activation rows as they are by default; bf16 pair panels of both when bf16 is set. */
typedef struct mg__gemm_job {
    const mg__mat *w[3];     /* weights, n_in each */
    int nw;
    const float *bias;       /* [n_out] stacked, or NULL */
    const float *x;          /* [n][n_in] */
    float *y;                /* [n][n_out] */
    int n, n_in, n_out;
    int kp;                  /* panel steps: n_in floats, or ceil(n_in / 2) pairs */
    int bf16, accumulate;
    void *ap;                /* [ceil(n_out / 32)][kp][32] packed weights */
    void *bp;                /* bf16: [ceil(n / 12)][kp][12] packed activations; float: [12][n_in] last rows */
    float *tmp;              /* [threads][(MG__TC + 1) n_in + 64]: a row as floats, then up to MG__TC rows of kp words */
} mg__gemm_job;
/* Scratch sizes (bytes, enough for both panel formats) of a GEMM of n rows, n_in inputs, n_out outputs. */
static size_t mg__gemm_a_bytes(int64_t n_in, int64_t n_out) { return (size_t)((n_out + MG__TC - 1) / MG__TC) * MG__TC * (size_t)n_in * 4; }
static size_t mg__gemm_b_bytes(int64_t n, int64_t n_in) { return (size_t)((n + MG__TR - 1) / MG__TR) * MG__TR * (size_t)n_in * 4; }
static size_t mg__gemm_tmp_bytes(int64_t n_in, int nth) { return (size_t)nth * ((MG__TC + 1) * (size_t)n_in + 64) * sizeof(float); }
/* Scratch of the vision products: packed panels and per-thread rows (mg__vrun_init sizes them). */
typedef struct mg__vscratch {
    void *ap, *bp;           /* GEMM panels */
    float *tmp;              /* GEMM per-thread rows */
    uint32_t *kv;            /* attention: packed keys and values of every head */
    float *work;             /* attention: per-thread tiles */
    float *bias;             /* stacked biases [3 d] */
} mg__vscratch;
#ifndef MG_REFERENCE
/* panel[p w + c] = rows[c kp + p] for c < w, p < kp: w rows of kp words interleaved into a panel, written in
   order (a column at a time would touch a cache line per word). */
static void mg__panel_rows(uint32_t *panel, const uint32_t *rows, int w, int kp) {
    int p, c;
    for (p = 0; p < kp; p++)
        for (c = 0; c < w; c++) panel[(size_t)p * w + c] = rows[(size_t)c * kp + p];
}
/* Weight panels of this thread's share (rows as floats, or bf16 pairs), then the activation panels (bf16). */
static void mg__gemm_pack_task(void *ctx, int ith, int nth) {
    const mg__gemm_job *j = (const mg__gemm_job *)ctx;
    float *tmp = j->tmp + (size_t)ith * ((MG__TC + 1) * (size_t)j->n_in + 64);
    uint32_t *rows = (uint32_t *)(tmp + j->n_in + 32);
    int64_t lo, hi, pn;
    int c, kp = j->kp;
    mg__split((j->n_out + MG__TC - 1) / MG__TC, ith, nth, &lo, &hi);
    for (pn = lo; pn < hi; pn++) {
        for (c = 0; c < MG__TC; c++) {
            int64_t o = pn * MG__TC + c, base = 0;
            int wi = 0;
            if (o < j->n_out) {
                while (o - base >= j->w[wi]->n_out) base += j->w[wi++]->n_out;
                mg__wrow(j->w[wi], o - base, rows + (size_t)c * kp, tmp, !j->bf16);
            } else memset(rows + (size_t)c * kp, 0, (size_t)kp * 4);
        }
        mg__panel_rows((uint32_t *)j->ap + (size_t)pn * kp * MG__TC, rows, MG__TC, kp);
    }
    if (!j->bf16) {   /* float tiles read the activation rows in place; only a last part-panel is copied (zero-padded) */
        int r0 = j->n / MG__TR * MG__TR;
        if (ith == 0 && r0 < j->n) {
            memset(j->bp, 0, (size_t)MG__TR * j->n_in * sizeof(float));
            memcpy(j->bp, j->x + (size_t)r0 * j->n_in, (size_t)(j->n - r0) * j->n_in * sizeof(float));
        }
        return;
    }
    mg__split((j->n + MG__TR - 1) / MG__TR, ith, nth, &lo, &hi);
    for (pn = lo; pn < hi; pn++) {
        for (c = 0; c < MG__TR; c++) {
            int64_t t = pn * MG__TR + c;
            if (t < j->n) mg__bf16_pairs(rows + (size_t)c * kp, j->x + (size_t)t * j->n_in, j->n_in);
            else memset(rows + (size_t)c * kp, 0, (size_t)kp * 4);
        }
        mg__panel_rows((uint32_t *)j->bp + (size_t)pn * kp * MG__TR, rows, MG__TR, kp);
    }
}
/* Thread ith takes a fixed range of 32-column weight panels. Blocking as in BLIS: a k block of MG__GEMM_KB
   steps, within it MG__GEMM_CB weight panels (kept in L2) swept by each activation panel in turn (kept in L1),
   over MG__GEMM_RB activation panels (L3). k blocks run in order: the order of every sum. */
static void mg__gemm_task(void *ctx, int ith, int nth) {
    const mg__gemm_job *j = (const mg__gemm_job *)ctx;
    int64_t lo, hi, cb, cp;
    int nrp = (j->n + MG__TR - 1) / MG__TR, rb, rp, kb, kp = j->kp;
    int kblk = (kp + (kp + MG__GEMM_KB - 1) / MG__GEMM_KB - 1) / ((kp + MG__GEMM_KB - 1) / MG__GEMM_KB);   /* equal k blocks */
    mg__split((j->n_out + MG__TC - 1) / MG__TC, ith, nth, &lo, &hi);
    for (rb = 0; rb < nrp; rb += MG__GEMM_RB)
        for (kb = 0; kb < kp; kb += kblk) {
            int nk = kp - kb < kblk ? kp - kb : kblk;
            int mode = kb > 0 ? MG__ACC : j->accumulate ? MG__ACC_INIT : MG__INIT;
            for (cb = lo; cb < hi; cb += MG__GEMM_CB)
                for (rp = rb; rp < nrp && rp < rb + MG__GEMM_RB; rp++) {
                    int nr = j->n - rp * MG__TR < MG__TR ? j->n - rp * MG__TR : MG__TR;
                    size_t bo = ((size_t)rp * kp + kb) * MG__TR;
                    for (cp = cb; cp < hi && cp < cb + MG__GEMM_CB; cp++) {
                        size_t ao = ((size_t)cp * kp + kb) * MG__TC;
                        int nc = j->n_out - (int)cp * MG__TC < MG__TC ? j->n_out - (int)cp * MG__TC : MG__TC;
                        const float *bias = j->bias ? j->bias + cp * MG__TC : NULL;
                        float *y = j->y + (size_t)rp * MG__TR * j->n_out + (size_t)cp * MG__TC;
                        if (j->bf16) mg__tile_bf16((const uint32_t *)j->ap + ao, (const uint32_t *)j->bp + bo, nk, y, (size_t)j->n_out, nr, nc, bias, mode);
                        else mg__tile_f32((const float *)j->ap + ao, (nr == MG__TR ? j->x + (size_t)rp * MG__TR * j->n_in : (const float *)j->bp) + kb,
                                      (size_t)j->n_in, nk, y, (size_t)j->n_out, nr, nc, bias, mode);
                    }
                }
        }
}
/* Y = X W^T + b (+ Y when accumulate) for w[0..nw) stacked, all of one n_in; bf16: bfloat16 products. */
static void mg__gemm(mg__pool *pool, const mg__vscratch *sc, const mg__mat *const *w, int nw, const float *bias,
                     const float *x, int n, float *y, int accumulate, int bf16) {
    mg__gemm_job j;
    int i;
    memset(&j, 0, sizeof j);
    j.nw = nw;
    for (i = 0; i < nw; i++) { j.w[i] = w[i]; j.n_out += (int)w[i]->n_out; }
    j.bias = bias; j.x = x; j.y = y; j.n = n; j.n_in = (int)w[0]->n_in;
    j.bf16 = bf16; j.kp = bf16 ? (j.n_in + 1) / 2 : j.n_in;
    j.accumulate = accumulate; j.ap = sc->ap; j.bp = sc->bp; j.tmp = sc->tmp;
    mg__pool_run(pool, mg__gemm_pack_task, &j);
    mg__pool_run(pool, mg__gemm_task, &j);
}
#endif
/* Row jobs of the tower, split over rows: LayerNorm y[t] = LN(x[t]) and, in place, GELU of every value. */
typedef struct mg__vrows_job {
    float *y;                /* [n][d] */
    const float *x;          /* [n][d] (LayerNorm input) */
    const float *w, *b;      /* [d] LayerNorm weight and bias */
    const uint16_t *gelu;    /* [65537] GELU table */
    int n, d;
    float eps;
} mg__vrows_job;
static void mg__vln_task(void *ctx, int ith, int nth) {
    const mg__vrows_job *j = (const mg__vrows_job *)ctx;
    int64_t lo, hi, t;
    mg__split(j->n, ith, nth, &lo, &hi);
    for (t = lo; t < hi; t++) mg__layernorm(j->y + (size_t)t * j->d, j->x + (size_t)t * j->d, j->w, j->b, j->d, j->eps);
}
static void mg__vgelu_task(void *ctx, int ith, int nth) {
    const mg__vrows_job *j = (const mg__vrows_job *)ctx;
    int64_t lo, hi;
    mg__split(j->n, ith, nth, &lo, &hi);
    mg__gelu_f16tab(j->y + (size_t)lo * j->d, (hi - lo) * j->d, j->gelu);
}

/* ===== >>tokenizer =================================================================================== */
/* SentencePiece-style BPE as llama.cpp runs it for tokenizer.ggml.model = "llama":
   1. split the text at special tokens (USER_DEFINED always; CONTROL and UNKNOWN only when parsing specials),
      leftmost and longest first;
   2. in each remaining piece replace ' ' by U+2581, start from single UTF-8 characters, and repeatedly merge
      the adjacent pair whose concatenation is a vocabulary piece with the highest score (ties: leftmost);
   3. a final symbol that is not a piece is emitted as its bytes (<0xXX> tokens). No dummy prefix. */
enum { MG__TT_NORMAL = 1, MG__TT_UNKNOWN = 2, MG__TT_CONTROL = 3, MG__TT_USER = 4, MG__TT_UNUSED = 5,
       MG__TT_BYTE = 6 };

typedef struct mg__vocab {
    int32_t n;                /* tokens */
    const char **piece;       /* [n] text in the file, not NUL-terminated */
    uint32_t *len;            /* [n] bytes */
    float *score;             /* [n] merge priority */
    uint8_t *type;            /* [n] MG__TT_* (after llama.cpp's re-typing of end-of-generation pieces) */
    uint8_t *eog;             /* [n] 1 = ends generation */
    int16_t *byte_val;        /* [n] byte of a <0xXX> token, else -1 */
    mg__strmap map;           /* piece -> id (the last id wins for a repeated piece) */
    int32_t byte_tok[256];    /* <0xXX> ids, -1 if absent */
    int32_t bos, eos, unk;    /* -1 if absent */
    int add_bos;
    uint8_t special_first[256];   /* a special token starts with this byte */
    int special_lens[64];     /* distinct special-token lengths, longest first */
    int n_special_lens;
} mg__vocab;

static const char *mg__vkey(const void *ctx, int32_t i, size_t *len) {
    const mg__vocab *v = (const mg__vocab *)ctx;
    *len = v->len[i];
    return v->piece[i];
}
static int32_t mg__vocab_find(const mg__vocab *v, const char *s, size_t n) {
    return mg__strmap_find(&v->map, s, n, mg__vkey, v, NULL);
}

static void mg__vocab_free(mg__vocab *v) {
    MG_FREE(v->piece); MG_FREE(v->len); MG_FREE(v->score); MG_FREE(v->type); MG_FREE(v->eog);
    MG_FREE(v->byte_val); MG_FREE(v->map.slot);
    memset(v, 0, sizeof *v);
}

static int32_t mg__vocab_id(const mg_gguf *g, const char *key, int32_t n) {
    double d;
    if (!mg__gguf_num(g, key, &d) || d < 0 || d >= n) return -1;
    return (int32_t)d;
}

/* Reads the vocabulary arrays, builds the piece map, byte table, specials and end-of-generation set. */
static mg_result mg__vocab_load(mg__vocab *v, const mg_gguf *g, mg_error *e) {
    int64_t ki = mg__gguf_find(g, MG__KEY_TOKENS), ks = mg__gguf_find(g, MG__KEY_SCORES),
            kt = mg__gguf_find(g, MG__KEY_TOKTYPES);
    static const char *eog_texts[] = { "<eos>", "<end_of_turn>", "</s>" };
    size_t p, mlen;
    const char *model = mg__gguf_str(g, MG__KEY_TOK_MODEL, &mlen);
    int32_t i;
    int k;
    double d;
    memset(v, 0, sizeof *v);
    if (!model || mlen != 5 || memcmp(model, "llama", 5) != 0)
        return mg__fail(e, MG_ERR_UNSUPPORTED, "tokenizer: tokenizer.ggml.model must be \"llama\" (SentencePiece)");
    if (ki < 0 || g->kv[ki].type != MG_GGUF_ARRAY || g->kv[ki].arr_type != MG_GGUF_STRING)
        return mg__fail(e, MG_ERR_MODEL, "tokenizer: %s missing or not a string array", MG__KEY_TOKENS);
    if (g->kv[ki].arr_n == 0 || g->kv[ki].arr_n > MG_MAX_VOCAB)
        return mg__fail(e, MG_ERR_LIMIT, "tokenizer: %llu tokens (1..%d allowed)", (unsigned long long)g->kv[ki].arr_n, MG_MAX_VOCAB);
    v->n = (int32_t)g->kv[ki].arr_n;
    if (ks >= 0 && (g->kv[ks].arr_type != MG_GGUF_F32 || g->kv[ks].arr_n != (uint64_t)v->n))
        return mg__fail(e, MG_ERR_MODEL, "tokenizer: %s must be %d f32 values", MG__KEY_SCORES, v->n);
    if (kt >= 0 && (g->kv[kt].arr_type != MG_GGUF_I32 || g->kv[kt].arr_n != (uint64_t)v->n))
        return mg__fail(e, MG_ERR_MODEL, "tokenizer: %s must be %d i32 values", MG__KEY_TOKTYPES, v->n);
    v->piece = (const char **)mg__calloc((size_t)v->n, sizeof(char *));
    v->len = (uint32_t *)mg__calloc((size_t)v->n, sizeof(uint32_t));
    v->score = (float *)mg__calloc((size_t)v->n, sizeof(float));
    v->type = (uint8_t *)mg__calloc((size_t)v->n, 1);
    v->eog = (uint8_t *)mg__calloc((size_t)v->n, 1);
    v->byte_val = (int16_t *)mg__calloc((size_t)v->n, sizeof(int16_t));
    if (!v->piece || !v->len || !v->score || !v->type || !v->eog || !v->byte_val || !mg__strmap_init(&v->map, v->n))
        return mg__fail(e, MG_ERR_NOMEM, "tokenizer: out of memory");
    for (k = 0; k < 256; k++) v->byte_tok[k] = -1;
    for (i = 0, p = g->kv[ki].off; i < v->n; i++) {
        uint32_t where = 0;
        int32_t old;
        v->len[i] = (uint32_t)mg__le64(g->data + p);
        v->piece[i] = (const char *)g->data + p + 8;
        p += 8 + v->len[i];
        v->score[i] = ks >= 0 ? mg__f32_of(mg__le32(g->data + g->kv[ks].off + 4 * (size_t)i)) : 0.0f;
        v->type[i] = (uint8_t)(kt >= 0 ? mg__le32(g->data + g->kv[kt].off + 4 * (size_t)i) : (uint32_t)MG__TT_NORMAL);
        v->byte_val[i] = -1;
        old = mg__strmap_find(&v->map, v->piece[i], v->len[i], mg__vkey, v, &where);
        if (old >= 0) {   /* repeated piece: the later id wins, as in llama.cpp */
            uint32_t h;
            for (h = mg__hash(v->piece[i], v->len[i]) & (v->map.cap - 1); v->map.slot[h] != old + 1; h = (h + 1) & (v->map.cap - 1)) {}
            v->map.slot[h] = i + 1;
        } else v->map.slot[where] = i + 1;
        if (v->type[i] == MG__TT_BYTE && v->len[i] == 6 && memcmp(v->piece[i], "<0x", 3) == 0) {
            unsigned b;
            char hex[3];
            hex[0] = v->piece[i][3]; hex[1] = v->piece[i][4]; hex[2] = 0;
            /* b < 256: "%2x" also reads "-F" (as 2^32 - 15) */
            if (v->piece[i][5] == '>' && sscanf(hex, "%2x", &b) == 1 && b < 256) { v->byte_val[i] = (int16_t)b; v->byte_tok[b] = i; }
        }
    }
    v->bos = mg__vocab_id(g, MG__KEY_BOS_ID, v->n);
    v->eos = mg__vocab_id(g, MG__KEY_EOS_ID, v->n);
    v->unk = mg__vocab_id(g, MG__KEY_UNK_ID, v->n);
    v->add_bos = mg__gguf_num(g, MG__KEY_ADD_BOS, &d) ? d != 0 : 1;
    if (v->eos >= 0) v->eog[v->eos] = 1;
    if ((i = mg__vocab_id(g, MG__KEY_EOT_ID, v->n)) >= 0) v->eog[i] = 1;
    /* llama.cpp treats these pieces as end-of-generation and re-types them CONTROL ("</s>" is USER_DEFINED
       in Gemma 3's vocabulary; after this it is matched only when special tokens are parsed). */
    for (k = 0; k < 3; k++) {
        int32_t id = mg__vocab_find(v, eog_texts[k], strlen(eog_texts[k]));
        if (id >= 0) { v->eog[id] = 1; v->type[id] = MG__TT_CONTROL; }
    }
    for (i = 0; i < v->n; i++) {
        int L = (int)v->len[i], j;
        if ((v->type[i] != MG__TT_CONTROL && v->type[i] != MG__TT_USER && v->type[i] != MG__TT_UNKNOWN) || L == 0) continue;
        v->special_first[(uint8_t)v->piece[i][0]] = 1;
        for (j = 0; j < v->n_special_lens && v->special_lens[j] != L; j++) {}
        if (j == v->n_special_lens) {
            if (v->n_special_lens == 64) return mg__fail(e, MG_ERR_LIMIT, "tokenizer: special tokens of more than 64 different lengths (the limit is 64)");
            v->special_lens[v->n_special_lens++] = L;
        }
    }
    for (k = 1; k < v->n_special_lens; k++) {     /* longest first */
        int x = v->special_lens[k], j = k;
        while (j > 0 && v->special_lens[j - 1] < x) { v->special_lens[j] = v->special_lens[j - 1]; j--; }
        v->special_lens[j] = x;
    }
    return MG_OK;
}

/* Output id list with a hard cap. */
typedef struct mg__ids {
    int32_t *ids;    /* caller's buffer (may be NULL) */
    int cap;         /* its capacity */
    int n;           /* ids produced (may exceed cap: counting only) */
    int max;         /* the most ids allowed (MG_MAX_PROMPT_TOKENS): tokenizing stops there */
    int over;        /* 1 once an id past max was refused */
} mg__ids;
static void mg__ids_init(mg__ids *o, int32_t *ids, int cap, int max) { o->ids = ids; o->cap = cap; o->n = 0; o->max = max; o->over = 0; }
static void mg__ids_push(mg__ids *o, int32_t id) {
    if (o->n >= o->max) { o->over = 1; return; }
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}
/* Text longer than this many bytes is refused before tokenizing (every token covers at least one byte in
   practice; 4 bytes per token is the budget). */
#define MG__MAX_PROMPT_BYTES ((size_t)MG_MAX_PROMPT_TOKENS * 4)

/* BPE work items. */
typedef struct mg__sym { int start, n, prev, next; } mg__sym;
typedef struct mg__bigram { float score; int left, right, size; } mg__bigram;

static int mg__bigram_before(const mg__bigram *a, const mg__bigram *b) {   /* a pops before b */
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}
static void mg__heap_push(mg__bigram *h, int *n, mg__bigram b) {
    int i = (*n)++;
    while (i > 0 && mg__bigram_before(&b, &h[(i - 1) / 2])) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
    h[i] = b;
}
static mg__bigram mg__heap_pop(mg__bigram *h, int *n) {
    mg__bigram top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && mg__bigram_before(&h[c + 1], &h[c])) c++;
        if (!mg__bigram_before(&h[c], &last)) break;
        h[i] = h[c]; i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}
static void mg__try_bigram(const mg__vocab *v, const char *t, const mg__sym *s, int l, int r, mg__bigram *h, int *nh) {
    int32_t id;
    mg__bigram b;
    if (l < 0 || r < 0) return;
    id = mg__vocab_find(v, t + s[l].start, (size_t)(s[l].n + s[r].n));
    if (id < 0) return;
    b.score = v->score[id]; b.left = l; b.right = r; b.size = s[l].n + s[r].n;
    mg__heap_push(h, nh, b);
}

static int mg__utf8_len(uint8_t c) {
    static const int lens[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    return lens[c >> 4];
}

/* BPE on one raw piece of text (spaces already escaped). 0 on allocation failure. */
static int mg__bpe(const mg__vocab *v, const char *t, int n, mg__ids *out) {
    mg__sym *s;
    mg__bigram *h;
    int ns = 0, nh = 0, i, off;
    if (n == 0) return 1;
    s = (mg__sym *)mg__malloc((size_t)n * sizeof *s);
    h = (mg__bigram *)mg__malloc((size_t)n * 2 * sizeof *h + sizeof *h);
    if (!s || !h) { MG_FREE(s); MG_FREE(h); return 0; }
    for (off = 0; off < n; ns++) {
        int len = mg__utf8_len((uint8_t)t[off]);
        s[ns].start = off;
        s[ns].n = len < n - off ? len : n - off;
        s[ns].prev = ns - 1;
        off += s[ns].n;
        s[ns].next = off == n ? -1 : ns + 1;
    }
    for (i = 1; i < ns; i++) mg__try_bigram(v, t, s, i - 1, i, h, &nh);
    while (nh > 0) {
        mg__bigram b = mg__heap_pop(h, &nh);
        mg__sym *L = &s[b.left], *R = &s[b.right];
        if (L->n == 0 || R->n == 0 || L->n + R->n != b.size) continue;   /* stale */
        L->n += R->n; R->n = 0;
        L->next = R->next;
        if (R->next >= 0) s[R->next].prev = b.left;
        mg__try_bigram(v, t, s, L->prev, b.left, h, &nh);
        mg__try_bigram(v, t, s, b.left, L->next, h, &nh);
    }
    for (i = 0; i != -1; i = s[i].next) {
        int32_t id = mg__vocab_find(v, t + s[i].start, (size_t)s[i].n);
        if (id >= 0) mg__ids_push(out, id);
        else {
            int j;
            for (j = 0; j < s[i].n; j++) {
                int32_t bt = v->byte_tok[(uint8_t)t[s[i].start + j]];
                mg__ids_push(out, bt >= 0 ? bt : (v->unk >= 0 ? v->unk : 0));
            }
        }
    }
    MG_FREE(s); MG_FREE(h);
    return 1;
}

/* Escapes spaces (U+2581) into a scratch buffer and runs BPE. */
static int mg__bpe_raw(const mg__vocab *v, const char *t, size_t n, mg__ids *out) {
    size_t i, k = 0, spaces = 0;
    char *buf;
    int ok;
    for (i = 0; i < n; i++) spaces += t[i] == ' ';
    if (n + 2 * spaces > (size_t)0x3fffffff) return 0;
    if (!(buf = (char *)mg__malloc(n + 2 * spaces))) return 0;
    for (i = 0; i < n; i++) {
        if (t[i] == ' ') { buf[k++] = '\xe2'; buf[k++] = '\x96'; buf[k++] = '\x81'; }
        else buf[k++] = t[i];
    }
    ok = mg__bpe(v, buf, (int)k, out);
    MG_FREE(buf);
    return ok;
}

/* The special token (id) starting at t[i], longest first; -1 if none. */
static int32_t mg__special_at(const mg__vocab *v, const char *t, size_t n, size_t i, int parse_special) {
    int k;
    if (!v->special_first[(uint8_t)t[i]]) return -1;
    for (k = 0; k < v->n_special_lens; k++) {
        size_t L = (size_t)v->special_lens[k];
        int32_t id;
        if (L > n - i) continue;
        id = mg__vocab_find(v, t + i, L);
        if (id < 0) continue;
        if (v->type[id] == MG__TT_USER || (parse_special && (v->type[id] == MG__TT_CONTROL || v->type[id] == MG__TT_UNKNOWN)))
            return id;
    }
    return -1;
}

static int mg__tokenize(const mg__vocab *v, const char *t, size_t n, unsigned flags, mg__ids *out) {
    size_t i = 0, raw = 0;
    if ((flags & MG_TOKENIZE_BOS) && v->add_bos && v->bos >= 0) mg__ids_push(out, v->bos);
    while (i < n && !out->over) {
        int32_t id = mg__special_at(v, t, n, i, (flags & MG_TOKENIZE_SPECIAL) != 0);
        if (id < 0) { i++; continue; }
        if (!mg__bpe_raw(v, t + raw, i - raw, out)) return 0;
        mg__ids_push(out, id);
        i += v->len[id];
        raw = i;
    }
    return out->over || mg__bpe_raw(v, t + raw, n - raw, out);
}

/* Text of one token; writes up to cap bytes, returns the length. */
static size_t mg__piece(const mg__vocab *v, int32_t id, unsigned flags, char *buf, size_t cap) {
    size_t n = 0, i;
    const char *p;
    if (id < 0 || id >= v->n) return 0;
    p = v->piece[id];
    switch (v->type[id]) {
    case MG__TT_BYTE:
        if (v->byte_val[id] >= 0) { if (cap) buf[0] = (char)v->byte_val[id]; return 1; }
        break;
    case MG__TT_UNKNOWN:
        if (cap >= 3) memcpy(buf, "\xe2\x96\x85", 3);
        return 3;
    case MG__TT_CONTROL: case MG__TT_UNUSED:
        if (!(flags & MG_DETOK_SPECIAL)) return 0;
        break;
    case MG__TT_NORMAL:
        for (i = 0; i < v->len[id]; i++) {
            if (i + 2 < v->len[id] && memcmp(p + i, "\xe2\x96\x81", 3) == 0) { if (n < cap) buf[n] = ' '; n++; i += 2; }
            else { if (n < cap) buf[n] = p[i]; n++; }
        }
        return n;
    default: break;
    }
    for (i = 0; i < v->len[id]; i++) { if (n < cap) buf[n] = p[i]; n++; }
    return n;
}

/* ===== >>image preprocessing ========================================================================= */
/* Two recipes, both ending in side x side RGB bytes:
   MG_IMAGE_MEDGEMMA (default): pad to a centered black square (extra pixel right/bottom), then Pillow's
     antialiased bilinear resize: separable, horizontal then vertical, triangle filter widened by the
     downscale factor, weights normalised and rounded to 22-bit fixed point, 8-bit result per pass.
   MG_IMAGE_LLAMACPP: llama.cpp's letterbox: keep the aspect ratio (new size = ceil(W*s), ceil(H*s)),
     bilinear with source coordinate x*(W-1)/new_w, lerp in float and truncate, pasted centered on black. */
typedef struct mg__coeffs {
    int *lo;         /* [out] first source index */
    int *n;          /* [out] taps */
    int32_t *k;      /* [out][ksize] fixed-point weights */
    int ksize;
} mg__coeffs;

static int mg__pil_coeffs(mg__coeffs *c, int in, int out) {
    double scale = (double)in / out, fscale = scale > 1 ? scale : 1, support = fscale, ss = 1.0 / fscale;
    int xx, x;
    double *w;
    c->ksize = (int)ceil(support) * 2 + 1;
    c->lo = (int *)mg__malloc(sizeof(int) * (size_t)out);
    c->n = (int *)mg__malloc(sizeof(int) * (size_t)out);
    c->k = (int32_t *)mg__calloc((size_t)out * (size_t)c->ksize, sizeof(int32_t));
    w = (double *)mg__malloc(sizeof(double) * (size_t)c->ksize);
    if (!c->lo || !c->n || !c->k || !w) { MG_FREE(w); return 0; }
    for (xx = 0; xx < out; xx++) {
        double center = (xx + 0.5) * scale, sum = 0;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in) xmax = in;
        xmax -= xmin;
        if (xmax > c->ksize) xmax = c->ksize;
        for (x = 0; x < xmax; x++) {
            double t = fabs((x + xmin - center + 0.5) * ss);
            w[x] = t < 1.0 ? 1.0 - t : 0.0;
            sum += w[x];
        }
        for (x = 0; x < xmax; x++) {
            double v = sum != 0 ? w[x] / sum : 0;
            c->k[(size_t)xx * c->ksize + x] = (int32_t)(v * (1 << 22) + (v < 0 ? -0.5 : 0.5));
        }
        c->lo[xx] = xmin; c->n[xx] = xmax;
    }
    MG_FREE(w);
    return 1;
}
static void mg__coeffs_free(mg__coeffs *c) { MG_FREE(c->lo); MG_FREE(c->n); MG_FREE(c->k); }
static uint8_t mg__clip8(int32_t v) { v >>= 22; return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* One separable pass over RGB bytes along x (horizontal) or y. */
static void mg__pil_pass(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh, const mg__coeffs *c, int horizontal) {
    int x, y, ch, i;
    for (y = 0; y < dh; y++)
        for (x = 0; x < dw; x++) {
            int o = horizontal ? x : y, lo = c->lo[o], n = c->n[o];
            const int32_t *k = c->k + (size_t)o * c->ksize;
            for (ch = 0; ch < 3; ch++) {
                int32_t acc = 1 << 21;
                for (i = 0; i < n; i++) {
                    int sx = horizontal ? lo + i : x, sy = horizontal ? y : lo + i;
                    acc += src[((size_t)sy * sw + sx) * 3 + ch] * k[i];
                }
                dst[((size_t)y * dw + x) * 3 + ch] = mg__clip8(acc);
            }
        }
    (void)sh;
}

/* The image as RGB bytes (grey replicated, alpha composited on white). */
static uint8_t *mg__to_rgb(const mg_image *img) {
    size_t n = (size_t)img->w * img->h, i;
    uint8_t *rgb = (uint8_t *)mg__malloc(n * 3);
    if (!rgb) return NULL;
    for (i = 0; i < n; i++) {
        const uint8_t *p = img->pixels + i * (size_t)img->channels;
        int c;
        for (c = 0; c < 3; c++) {
            int v = img->channels >= 3 ? p[c] : p[0];
            if (img->channels == 2 || img->channels == 4) {
                int a = p[img->channels - 1];
                v = (v * a + 255 * (255 - a) + 127) / 255;
            }
            rgb[i * 3 + c] = (uint8_t)v;
        }
    }
    return rgb;
}

static mg_result mg__preprocess(const mg_image *img, int mode, int side, uint8_t *out) {
    uint8_t *rgb;
    int w = img->w, h = img->h;
    memset(out, 0, (size_t)side * side * 3);
    if (!(rgb = mg__to_rgb(img))) return MG_ERR_NOMEM;
    if (mode == MG_IMAGE_LLAMACPP) {
        double s = (double)side / w < (double)side / h ? (double)side / w : (double)side / h;
        int nw = (int)ceil(w * s), nh = (int)ceil(h * s), x, y, c, ox, oy;
        float xr, yr;
        if (nw > side) nw = side;
        if (nh > side) nh = side;
        ox = (side - nw) / 2; oy = (side - nh) / 2;
        xr = nw > 1 ? (float)(w - 1) / (float)(nw - 1) : 0; yr = nh > 1 ? (float)(h - 1) / (float)(nh - 1) : 0;
        for (y = 0; y < nh; y++)
            for (x = 0; x < nw; x++) {
                float px = xr * (float)x, py = yr * (float)y;
                int x0 = (int)px, y0 = (int)py, x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
                float fx = px - (float)x0, fy = py - (float)y0;
                for (c = 0; c < 3; c++) {
                    float a = rgb[((size_t)y0 * w + x0) * 3 + c], b = rgb[((size_t)y0 * w + x1) * 3 + c];
                    float d = rgb[((size_t)y1 * w + x0) * 3 + c], e = rgb[((size_t)y1 * w + x1) * 3 + c];
                    float top = a + fx * (b - a), bot = d + fx * (e - d);
                    out[((size_t)(y + oy) * side + (x + ox)) * 3 + c] = (uint8_t)(top + fy * (bot - top));
                }
            }
        if (w == side && h == side) memcpy(out, rgb, (size_t)side * side * 3);
    } else {
        int sq = w > h ? w : h, ox = (sq - w) / 2, oy = (sq - h) / 2, y;
        uint8_t *pad = (uint8_t *)mg__calloc((size_t)sq * sq, 3), *tmp = NULL;
        mg__coeffs c;
        memset(&c, 0, sizeof c);
        if (!pad) { MG_FREE(rgb); return MG_ERR_NOMEM; }
        for (y = 0; y < h; y++) memcpy(pad + ((size_t)(y + oy) * sq + ox) * 3, rgb + (size_t)y * w * 3, (size_t)w * 3);
        if (sq == side) memcpy(out, pad, (size_t)side * side * 3);
        else {
            tmp = (uint8_t *)mg__malloc((size_t)side * sq * 3);
            if (!tmp || !mg__pil_coeffs(&c, sq, side)) { MG_FREE(tmp); MG_FREE(pad); MG_FREE(rgb); mg__coeffs_free(&c); return MG_ERR_NOMEM; }
            mg__pil_pass(pad, sq, sq, tmp, side, sq, &c, 1);      /* horizontal: sq x sq -> side x sq */
            mg__pil_pass(tmp, side, sq, out, side, side, &c, 0);  /* vertical: side x sq -> side x side */
            mg__coeffs_free(&c);
            MG_FREE(tmp);
        }
        MG_FREE(pad);
    }
    MG_FREE(rgb);
    return MG_OK;
}

/* ===== >>SigLIP ====================================================================================== */
/* The vision tower (SigLIP so400m for MedGemma), from llama.cpp's mmproj file or Ollama's single file:
     x = Wpatch . patches(image) + bpatch + pos            patches: 14x14x3 pixels, conv as a matmul
     per block:  x = x + Wo attn(LN1(x)) + bo              full (bidirectional) attention over all patches
                 x = x + W2 gelu(W1 LN2(x) + b1) + b2
     x = post_LN(x) */
typedef struct mg__vlayer {
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;  /* [d] */
    mg__mat q, k, v, o;                          /* [d -> d] */
    const float *bq, *bk, *bv, *bo;              /* [d] */
    mg__mat up, down;                            /* [d -> ff], [ff -> d] */
    const float *b_up, *b_down;                  /* [ff], [d] */
} mg__vlayer;
typedef struct mg__vision {
    int image_size;          /* 896 */
    int patch;               /* 14 */
    int side;                /* patches per side, 64 */
    int n_patches;           /* 4096 */
    int d, ff, n_layer, n_head, head_dim;
    int pool;                /* avg-pool kernel, 4 */
    int n_tokens;            /* tokens per image after pooling, 256 */
    int n_out;               /* projection width = text n_embd */
    float eps;
    float mean[3], std[3];
    mg__mat patch_w;         /* [3*patch*patch -> d], input index c*p*p + ky*p + kx */
    const float *patch_b;    /* [d] */
    const float *pos;        /* [n_patches][d] */
    const float *post_w, *post_b;  /* [d] */
    const float *soft_norm;  /* [d] (1 + w baked in) */
    mg__mat proj;            /* [d -> n_out] */
    uint8_t *proj_t;         /* owned transposed copy of input_projection when stored [n_out, d] */
    mg__vlayer *layer;       /* [n_layer] */
    float *arena;            /* owned: every vector above, dequantized */
    size_t used, cap;
    uint16_t *gelu;          /* owned: [65537] f16 GELU table (mg__gelu_table) */
} mg__vision;
/* Tensor and key names of the two layouts: [0] llama.cpp mmproj, [1] Ollama single file. */
static const char *const mg__vnames[][2] = {
    { "v.patch_embd.weight", "v.patch_embedding.weight" }, { "v.patch_embd.bias", "v.patch_embedding.bias" },
    { "v.position_embd.weight", "v.position_embedding.weight" },
    { "v.post_ln.weight", "v.post_layernorm.weight" }, { "v.post_ln.bias", "v.post_layernorm.bias" },
    { "mm.soft_emb_norm.weight", "mm.mm_soft_emb_norm.weight" }, { "mm.input_projection.weight", "mm.mm_input_projection.weight" },
    { "ln1", "layer_norm1" }, { "ln2", "layer_norm2" }, { "attn_out", "attn_output" },
    { "ffn_up", "mlp.fc1" }, { "ffn_down", "mlp.fc2" } };
enum { MG__VN_PATCH_W, MG__VN_PATCH_B, MG__VN_POS, MG__VN_POST_W, MG__VN_POST_B, MG__VN_SOFT, MG__VN_PROJ,
       MG__VN_LN1, MG__VN_LN2, MG__VN_OUT, MG__VN_UP, MG__VN_DOWN };
/* Reads a vision hyperparameter: the llama.cpp key (clip.vision.X) or Ollama's (<arch>.vision.X). */
static int mg__vision_key(const mg_gguf *g, int ollama, const char *x, double *out) {
    char key[160];
    snprintf(key, sizeof key, ollama ? "gemma3.vision.%s" : "clip.vision.%s", x);
    return mg__gguf_num(g, key, out);
}
/* Pixel normalisation (x / 255 - mean) / std: a std below this makes every patch value huge (MedGemma: 0.5). */
#define MG__MIN_IMAGE_STD 1e-3
static mg_result mg__vision_int(const mg_gguf *g, int ollama, const char *x, int def, int lo, int hi, int *out, mg_error *e) {
    char key[160];
    snprintf(key, sizeof key, ollama ? "gemma3.vision.%s" : "clip.vision.%s", x);
    return mg__key_int(g, key, def, lo, hi, out, e);
}

/* Hyperparameters from the keys (image and patch size, width, depth, heads, epsilon, pixel normalisation, tokens
   per image and so the pooling) and from tensor shapes (feed-forward and projection widths). */
static mg_result mg__vision_hparams(mg__vision *v, const mg_gguf *g, int L, mg_error *e) {
    double d;
    int64_t ti;
    int c;
    char nm[96];
    mg_result r;
    if ((r = mg__vision_int(g, L, "image_size", 896, 14, 4096, &v->image_size, e)) ||
        (r = mg__vision_int(g, L, "patch_size", 14, 1, 64, &v->patch, e)) ||
        (r = mg__vision_int(g, L, "embedding_length", -1, 8, 16384, &v->d, e)) ||
        (r = mg__vision_int(g, L, "block_count", -1, 1, MG_MAX_LAYERS, &v->n_layer, e)) ||
        (r = mg__vision_int(g, L, "attention.head_count", -1, 1, 256, &v->n_head, e)))
        return r;
    v->eps = mg__vision_key(g, L, "attention.layer_norm_epsilon", &d) && d > 0 ? (float)d : 1e-6f;
    if (v->image_size % v->patch || v->d % v->n_head)
        return mg__fail(e, MG_ERR_MODEL, "vision: image %d not a multiple of patch %d, or width %d of heads %d", v->image_size, v->patch, v->d, v->n_head);
    v->side = v->image_size / v->patch;
    v->n_patches = v->side * v->side;
    v->head_dim = v->d / v->n_head;
    if (v->head_dim > MG__ATT_MAXHD) return mg__fail(e, MG_ERR_UNSUPPORTED, "vision: head width %d above %d", v->head_dim, (int)MG__ATT_MAXHD);
    for (c = 0; c < 3; c++) { v->mean[c] = 0.5f; v->std[c] = 0.5f; }
    if (!L) {   /* image_mean / image_std arrays */
        int64_t km = mg__gguf_find(g, "clip.vision.image_mean"), ks = mg__gguf_find(g, "clip.vision.image_std");
        if (km >= 0 && g->kv[km].arr_type == MG_GGUF_F32 && g->kv[km].arr_n == 3)
            for (c = 0; c < 3; c++) v->mean[c] = mg__f32_of(mg__le32(g->data + g->kv[km].off + 4 * (size_t)c));
        if (ks >= 0 && g->kv[ks].arr_type == MG_GGUF_F32 && g->kv[ks].arr_n == 3)
            for (c = 0; c < 3; c++) v->std[c] = mg__f32_of(mg__le32(g->data + g->kv[ks].off + 4 * (size_t)c));
        for (c = 0; c < 3; c++)
            if (!isfinite(v->mean[c]) || !isfinite(v->std[c]) || !(v->std[c] >= MG__MIN_IMAGE_STD))
                return mg__fail(e, MG_ERR_MODEL, "vision: image_mean[%d] = %g, image_std[%d] = %g (finite, std >= %g required)", c,
                                v->mean[c], c, v->std[c], MG__MIN_IMAGE_STD);
    }
    /* pooled tokens: 256 for MedGemma (64x64 patches, 4x4 average pool) */
    v->n_tokens = 256;
    if (mg__gguf_num(g, "gemma3.mm.tokens_per_image", &d) || mg__gguf_num(g, "gemma3.mm_tokens_per_image", &d)) {
        if (!(d >= 1 && d <= v->n_patches)) return mg__fail(e, MG_ERR_MODEL, "vision: %g tokens per image (1..%d patches)", d, v->n_patches);
        v->n_tokens = (int)d;
    }
    if (!L && mg__gguf_num(g, "clip.vision.projector.scale_factor", &d) && d >= 1) {
        if (d > v->side) return mg__fail(e, MG_ERR_MODEL, "vision: scale_factor %g exceeds the %d-patch side", d, v->side);
        v->n_tokens = (int)((v->side / (int)d) * (v->side / (int)d));
    }
    for (v->pool = 1; v->pool <= v->side && (v->side / v->pool) * (v->side / v->pool) > v->n_tokens; v->pool++) {}
    if (v->side % v->pool || (v->side / v->pool) * (v->side / v->pool) != v->n_tokens)
        return mg__fail(e, MG_ERR_MODEL, "vision: %d tokens per image do not pool a %dx%d patch grid", v->n_tokens, v->side, v->side);
    /* feed-forward width from the first block's up projection (Ollama files lack the key; fc1/fc2 by shape) */
    snprintf(nm, sizeof nm, "v.blk.0.%s.weight", mg__vnames[MG__VN_UP][L]);
    if ((ti = mg__gguf_tensor_find(g, nm)) < 0) return mg__fail(e, MG_ERR_MODEL, "vision tensor '%s' is missing", nm);
    v->ff = (int)(g->t[ti].ne[0] == v->d ? g->t[ti].ne[1] : g->t[ti].ne[0]);
    /* projection: stored [n_out, d] (llama.cpp, used as x W) or [d, n_out] */
    if ((ti = mg__gguf_tensor_find(g, mg__vnames[MG__VN_PROJ][L])) < 0)
        return mg__fail(e, MG_ERR_MODEL, "vision tensor '%s' is missing", mg__vnames[MG__VN_PROJ][L]);
    v->n_out = (int)(g->t[ti].ne[1] == v->d ? g->t[ti].ne[0] : g->t[ti].ne[1]);
    return MG_OK;
}

/* The patch convolution [P, P, 3, d] is a matrix of d rows of 3*P*P (index c*P*P + ky*P + kx). */
static mg_result mg__vision_patch_embd(mg__vision *v, const mg_gguf *g, int L, mg_error *e) {
    const char *pn = mg__vnames[MG__VN_PATCH_W][L];
    const mg__tinfo *t;
    int64_t ti;
    if ((ti = mg__gguf_tensor_find(g, pn)) < 0) return mg__fail(e, MG_ERR_MODEL, "vision tensor '%s' is missing", pn);
    t = &g->t[ti];
    if (t->ne[0] != v->patch || t->ne[1] != v->patch || t->ne[2] != 3 || t->ne[3] != v->d)
        return mg__fail(e, MG_ERR_MODEL, "vision tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%d, %d, 3, %d]", pn,
                        (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], v->patch, v->patch, v->d);
    if (!mg__is_matmul_type(t->type)) return mg__fail(e, MG_ERR_UNSUPPORTED, "vision tensor '%s' has type %s", pn, mg_type_name(t->type));
    if ((3 * v->patch * v->patch) % (t->type == MG_TYPE_F32 || t->type == MG_TYPE_F16 || t->type == MG_TYPE_BF16 ? 1 : 256))
        return mg__fail(e, MG_ERR_UNSUPPORTED, "vision tensor '%s': quantized patch kernels are not supported", pn);
    v->patch_w.data = g->data + g->data_off + t->offset; v->patch_w.type = t->type;
    v->patch_w.n_in = 3 * (int64_t)v->patch * v->patch; v->patch_w.n_out = v->d;
    v->patch_w.row_bytes = mg__row_bytes(t->type, v->patch_w.n_in);
    return MG_OK;
}

/* The projection to the text width: stored [n_out, d] (llama.cpp, used as x W) it is transposed once into rows
   of d (F32 stays F32, other types become F16: exact for the F16 files); stored [d, n_out] it is used in place. */
static mg_result mg__vision_projection(mg__vision *v, const mg_gguf *g, int L, size_t *bytes, mg_error *e) {
    const mg__tinfo *t = &g->t[mg__gguf_tensor_find(g, mg__vnames[MG__VN_PROJ][L])];
    int64_t i, j;
    float *row;
    int ty = t->type == MG_TYPE_F32 ? MG_TYPE_F32 : MG_TYPE_F16;
    size_t es = ty == MG_TYPE_F32 ? 4 : 2;
    if (!(t->ne[0] == v->n_out && t->ne[1] == v->d)) return mg__get_mat(g, mg__vnames[MG__VN_PROJ][L], v->d, v->n_out, &v->proj, bytes, e);
    row = (float *)mg__malloc(sizeof(float) * (size_t)v->n_out);
    v->proj_t = (uint8_t *)mg__malloc((size_t)v->n_out * v->d * es);
    if (!row || !v->proj_t) { MG_FREE(row); return mg__fail(e, MG_ERR_NOMEM, "out of memory for the projection"); }
    for (i = 0; i < v->d; i++) {
        if (!mg__dequant_row(t->type, g->data + g->data_off + t->offset + (size_t)i * mg__row_bytes(t->type, v->n_out), row, v->n_out)) {
            MG_FREE(row);
            return mg__fail(e, MG_ERR_UNSUPPORTED, "projection type %s", mg_type_name(t->type));
        }
        for (j = 0; j < v->n_out; j++) {
            if (ty == MG_TYPE_F32) memcpy(v->proj_t + ((size_t)j * v->d + i) * 4, &row[j], 4);
            else { uint16_t h = mg__f2h(row[j]); memcpy(v->proj_t + ((size_t)j * v->d + i) * 2, &h, 2); }
        }
    }
    MG_FREE(row);
    v->proj.data = v->proj_t; v->proj.type = ty; v->proj.n_in = v->d; v->proj.n_out = v->n_out;
    v->proj.row_bytes = (size_t)v->d * es;
    return MG_OK;
}

/* Block il: its two LayerNorms, Q K V O with biases, and the MLP (up and down told apart by shape: up is [d, ff]). */
static mg_result mg__vision_block(mg__vision *v, const mg_gguf *g, int L, int il, size_t *bytes, mg_error *e) {
    mg__vlayer *Y = &v->layer[il];
    const char *a = mg__vnames[MG__VN_UP][L], *b = mg__vnames[MG__VN_DOWN][L];
    char nm[96];
    int64_t ti;
    mg_result r;
#define MG__VT(part, suffix) (snprintf(nm, sizeof nm, "v.blk.%d.%s.%s", il, part, suffix), nm)
#define MG__VF(part, suffix, n, dst) mg__get_floats(g, MG__VT(part, suffix), n, 1, v->arena, &v->used, v->cap, dst, e)
    snprintf(nm, sizeof nm, "v.blk.%d.%s.weight", il, a);
    if ((ti = mg__gguf_tensor_find(g, nm)) >= 0 && g->t[ti].ne[0] != v->d) { const char *x = a; a = b; b = x; }
    if ((r = MG__VF(mg__vnames[MG__VN_LN1][L], "weight", v->d, &Y->ln1_w)) || (r = MG__VF(mg__vnames[MG__VN_LN1][L], "bias", v->d, &Y->ln1_b)) ||
        (r = MG__VF(mg__vnames[MG__VN_LN2][L], "weight", v->d, &Y->ln2_w)) || (r = MG__VF(mg__vnames[MG__VN_LN2][L], "bias", v->d, &Y->ln2_b)) ||
        (r = mg__get_mat(g, MG__VT("attn_q", "weight"), v->d, v->d, &Y->q, bytes, e)) ||
        (r = mg__get_mat(g, MG__VT("attn_k", "weight"), v->d, v->d, &Y->k, bytes, e)) ||
        (r = mg__get_mat(g, MG__VT("attn_v", "weight"), v->d, v->d, &Y->v, bytes, e)) ||
        (r = mg__get_mat(g, MG__VT(mg__vnames[MG__VN_OUT][L], "weight"), v->d, v->d, &Y->o, bytes, e)) ||
        (r = MG__VF("attn_q", "bias", v->d, &Y->bq)) || (r = MG__VF("attn_k", "bias", v->d, &Y->bk)) ||
        (r = MG__VF("attn_v", "bias", v->d, &Y->bv)) || (r = MG__VF(mg__vnames[MG__VN_OUT][L], "bias", v->d, &Y->bo)) ||
        (r = mg__get_mat(g, MG__VT(a, "weight"), v->d, v->ff, &Y->up, bytes, e)) || (r = MG__VF(a, "bias", v->ff, &Y->b_up)) ||
        (r = mg__get_mat(g, MG__VT(b, "weight"), v->ff, v->d, &Y->down, bytes, e)) || (r = MG__VF(b, "bias", v->d, &Y->b_down)))
        return r;
#undef MG__VF
#undef MG__VT
    return MG_OK;
}

/* The tower and projector of a vision file (ollama: the text file holds them under Ollama's names). */
static mg_result mg__vision_load(mg__vision *v, const mg_gguf *g, int ollama, size_t *bytes, mg_error *e) {
    int il, L = ollama;
    mg_result r;
    if (!ollama) {
        size_t len;
        const char *pt = mg__gguf_str(g, "clip.projector_type", &len);
        if (!pt || len != 6 || memcmp(pt, "gemma3", 6) != 0)
            return mg__fail(e, MG_ERR_UNSUPPORTED, "vision file: clip.projector_type must be \"gemma3\"");
    }
    if ((r = mg__vision_hparams(v, g, L, e))) return r;
    v->cap = (size_t)v->d * (5 + (size_t)v->n_patches) + (size_t)v->n_layer * (9 * (size_t)v->d + (size_t)v->ff);
    if (!(v->arena = (float *)mg__calloc(v->cap, sizeof(float)))) return mg__fail(e, MG_ERR_NOMEM, "out of memory for the vision tower");
#define MG__VF(name, n0, n1, dst) mg__get_floats(g, mg__vnames[name][L], n0, n1, v->arena, &v->used, v->cap, dst, e)
    if ((r = mg__vision_patch_embd(v, g, L, e)) || (r = MG__VF(MG__VN_PATCH_B, v->d, 1, &v->patch_b)) ||
        (r = MG__VF(MG__VN_POS, v->d, v->n_patches, &v->pos)) || (r = MG__VF(MG__VN_POST_W, v->d, 1, &v->post_w)) ||
        (r = MG__VF(MG__VN_POST_B, v->d, 1, &v->post_b)) || (r = MG__VF(MG__VN_SOFT, v->d, 1, &v->soft_norm)) ||
        (r = mg__vision_projection(v, g, L, bytes, e)))
        return r;
#undef MG__VF
    if (!(v->layer = (mg__vlayer *)mg__calloc((size_t)v->n_layer, sizeof(mg__vlayer)))) return mg__fail(e, MG_ERR_NOMEM, "out of memory");
    for (il = 0; il < v->n_layer; il++)
        if ((r = mg__vision_block(v, g, L, il, bytes, e))) return r;
    return MG_OK;
}
static void mg__vision_free(mg__vision *v) {
    if (!v) return;
    MG_FREE(v->arena); MG_FREE(v->layer); MG_FREE(v->proj_t);
    MG_FREE(v);
}

/* ----- attention over all patches -----
     out[t][h hd + c] = sum_j softmax_j(q_t . k_j / sqrt(hd)) v_j[c]     for every head h; q, k, v: [n][3 d] rows
   The plain form (MG_REFERENCE) computes it as written; the blocked form keeps 32 queries of one head against
   blocks of keys with an online softmax in base 2, both products in bf16 tiles (>>kernels). */
typedef struct mg__vattn_job {
    const float *qkv;        /* [n][3 d]: q | k | v */
    float *out;              /* [n][d] */
    uint32_t *kp;            /* [n_head][nkp][hp][12] keys as B panels */
    uint32_t *vp;            /* [n_head][ncg][nvp][12] values by channel as B panels, pairs of keys */
    float *work;             /* [threads][mg__vattn_work_floats]; MG_REFERENCE: [threads][n] scores */
    int n, d, n_head, hd;
    int hp, nkp, ncg, nvp;   /* pairs per head, key panels, channel groups, key pairs (even-padded) */
} mg__vattn_job;
MG__REF void mg__vattn_ref_task(void *ctx, int ith, int nth) {
    const mg__vattn_job *j = (const mg__vattn_job *)ctx;
    float *s = j->work + (size_t)ith * (size_t)j->n, scale = 1.0f / sqrtf((float)j->hd);
    int64_t lo, hi, it;
    int d3 = 3 * j->d, k, c;
    mg__split((int64_t)j->n_head * j->n, ith, nth, &lo, &hi);
    for (it = lo; it < hi; it++) {
        int h = (int)(it / j->n), t = (int)(it % j->n);
        const float *q = j->qkv + (size_t)t * d3 + (size_t)h * j->hd;
        float *o = j->out + (size_t)t * j->d + (size_t)h * j->hd, mx = -INFINITY, sum = 0;
        for (k = 0; k < j->n; k++) {                       /* s_k = q . k_k / sqrt(hd) */
            const float *kr = j->qkv + (size_t)k * d3 + j->d + (size_t)h * j->hd;
            float acc = 0;
            for (c = 0; c < j->hd; c++) acc += q[c] * kr[c];
            s[k] = acc * scale;
            mx = s[k] > mx ? s[k] : mx;
        }
        for (k = 0; k < j->n; k++) { s[k] = expf(s[k] - mx); sum += s[k]; }
        for (c = 0; c < j->hd; c++) o[c] = 0;
        for (k = 0; k < j->n; k++) {                       /* out = sum_k p_k v_k */
            const float *vr = j->qkv + (size_t)k * d3 + 2 * (size_t)j->d + (size_t)h * j->hd;
            for (c = 0; c < j->hd; c++) o[c] += s[k] * vr[c];
        }
        for (c = 0; c < j->hd; c++) o[c] /= sum;
    }
}
static void mg__vattn_dims(mg__vattn_job *j, int n, int d, int n_head) {
    j->n = n; j->d = d; j->n_head = n_head; j->hd = d / n_head;
    j->hp = (j->hd + 1) / 2; j->nkp = (n + MG__TR - 1) / MG__TR; j->ncg = (j->hd + MG__TR - 1) / MG__TR;
    j->nvp = (n + 1) / 2;
}
static size_t mg__vattn_kv_words(const mg__vattn_job *j) {
    return (size_t)j->n_head * ((size_t)j->nkp * j->hp * MG__TR + (size_t)j->ncg * j->nvp * MG__TR);
}
#ifndef MG_REFERENCE
/* per thread: Q panel [hp][32], S^T [KB][32], P [KB/2][32], O^T [ncg*12][32], m [32], l [32] */
static size_t mg__vattn_work_floats(const mg__vattn_job *j) {
    return (size_t)MG__TC * ((size_t)j->hp + MG__ATT_KB + MG__ATT_KB / 2 + (size_t)j->ncg * MG__TR + 2);
}
/* Packs keys (per head: B panels of 12 keys over channel pairs) and values (per head and 12 channels: B panels
   over key pairs), split over heads x (key panels + value pair blocks). */
static void mg__vattn_pack_task(void *ctx, int ith, int nth) {
    const mg__vattn_job *j = (const mg__vattn_job *)ctx;
    int64_t lo, hi, it, nvb = (j->nvp + 63) / 64, per = j->nkp + nvb;
    uint32_t pairs[MG__ATT_MAXHD + MG__TR];
    int d3 = 3 * j->d, r, p, c;
    mg__split((int64_t)j->n_head * per, ith, nth, &lo, &hi);
    for (it = lo; it < hi; it++) {
        int h = (int)(it / per), i = (int)(it % per);
        if (i < j->nkp) {   /* key panel i */
            uint32_t keys[MG__TR * (MG__ATT_MAXHD / 2)];
            for (r = 0; r < MG__TR; r++) {
                int t = i * MG__TR + r;
                if (t < j->n) mg__bf16_pairs(keys + (size_t)r * j->hp, j->qkv + (size_t)t * d3 + j->d + (size_t)h * j->hd, j->hd);
                else memset(keys + (size_t)r * j->hp, 0, (size_t)j->hp * 4);
            }
            mg__panel_rows(j->kp + ((size_t)h * j->nkp + i) * j->hp * MG__TR, keys, MG__TR, j->hp);
        } else {            /* value key pairs [64 i', 64 i' + 64) of every channel group */
            int p0 = (i - j->nkp) * 64, p1 = p0 + 64 < j->nvp ? p0 + 64 : j->nvp, g;
            float row[2][MG__ATT_MAXHD];
            for (c = j->hd; c < j->ncg * MG__TR; c++) pairs[c] = 0;
            for (p = p0; p < p1; p++) {
                for (r = 0; r < 2; r++) {
                    int t = 2 * p + r;
                    if (t < j->n) memcpy(row[r], j->qkv + (size_t)t * d3 + 2 * (size_t)j->d + (size_t)h * j->hd, (size_t)j->hd * sizeof(float));
                    else memset(row[r], 0, (size_t)j->hd * sizeof(float));
                }
                mg__bf16_interleave(pairs, row[0], row[1], j->hd);
                for (g = 0; g < j->ncg; g++)
                    memcpy(j->vp + (((size_t)h * j->ncg + g) * j->nvp + p) * MG__TR, pairs + g * MG__TR, MG__TR * sizeof(uint32_t));
            }
        }
    }
}
static void mg__vattn_task(void *ctx, int ith, int nth) {
    const mg__vattn_job *j = (const mg__vattn_job *)ctx;
    float *w = j->work + (size_t)ith * mg__vattn_work_floats(j);
    uint32_t *qp = (uint32_t *)w, *pp = qp + (size_t)j->hp * MG__TC + MG__ATT_KB * MG__TC;
    float *st = w + (size_t)j->hp * MG__TC, *ot = (float *)(pp + MG__ATT_KB / 2 * MG__TC);
    float *m = ot + (size_t)j->ncg * MG__TR * MG__TC, *l = m + MG__TC;
    float c2 = 1.4426950408889634f / sqrtf((float)j->hd);
    int nqb = (j->n + MG__TC - 1) / MG__TC, d3 = 3 * j->d, no = j->ncg * MG__TR;
    int64_t lo, hi, it;
    uint32_t queries[MG__TC * (MG__ATT_MAXHD / 2)];
    mg__split((int64_t)j->n_head * nqb, ith, nth, &lo, &hi);
    for (it = lo; it < hi; it++) {
        int h = (int)(it / nqb), q0 = (int)(it % nqb) * MG__TC, c, k0, i, g;
        for (c = 0; c < MG__TC; c++) {   /* queries of the block as an A panel */
            if (q0 + c < j->n) mg__bf16_pairs(queries + (size_t)c * j->hp, j->qkv + (size_t)(q0 + c) * d3 + (size_t)h * j->hd, j->hd);
            else memset(queries + (size_t)c * j->hp, 0, (size_t)j->hp * 4);
            m[c] = -INFINITY; l[c] = 0;
        }
        mg__panel_rows(qp, queries, MG__TC, j->hp);
        memset(ot, 0, sizeof(float) * (size_t)no * MG__TC);
        for (k0 = 0; k0 < j->n; k0 += MG__ATT_KB) {
            int nk = j->n - k0 < MG__ATT_KB ? j->n - k0 : MG__ATT_KB;
            for (i = 0; i * MG__TR < nk; i++)           /* S^T = K Q^T */
                mg__tile_bf16(qp, j->kp + ((size_t)h * j->nkp + k0 / MG__TR + i) * j->hp * MG__TR, j->hp, st + (size_t)i * MG__TR * MG__TC,
                         MG__TC, MG__TR, MG__TC, NULL, MG__INIT);
            mg__softmax_block(st, nk, c2, m, l, ot, no, pp);
            for (g = 0; g < j->ncg; g++)                /* O^T += V^T P^T */
                mg__tile_bf16(pp, j->vp + (((size_t)h * j->ncg + g) * j->nvp + k0 / 2) * MG__TR, (nk + 1) / 2,
                         ot + (size_t)g * MG__TR * MG__TC, MG__TC, MG__TR, MG__TC, NULL, MG__ACC);
        }
        for (c = 0; c < MG__TC && q0 + c < j->n; c++)   /* out = O / l, O^T read down its column */
            mg__col_scale(j->out + (size_t)(q0 + c) * j->d + (size_t)h * j->hd, ot, c, j->hd, 1.0f / l[c]);
    }
}
#endif

/* ----- the tower ----- */
/* One image's pass: the tower, the threads, the taps, the kind of weight products and the buffers. */
typedef struct mg__vrun {
    const mg__vision *V;
    mg__pool *pool;
    const mg_session_options *opt;
    int bf16;                /* weight products in bfloat16 */
    float *x;                /* [n][d] the residual stream */
    float *h;                /* [n][d] normed input / attention output */
    float *qkv;              /* [n][3 d] */
    float *big;              /* [n][max(ff, 3 P^2, d)] patches, MLP hidden */
    mg__vscratch sc;
    mg__vattn_job aj;
    mg__vrows_job rj;
} mg__vrun;

/* Y = X W^T + b (+ Y when accumulating) for w[0..nw) stacked along the outputs, as written: one float dot product
   per output, each weight row converted to floats (row: n_in floats). */
MG__REF void mg__vlinear_ref(const mg__mat *const *w, int nw, const float *bias, const float *x, int n, float *y, int accumulate,
                            float *row) {
    int64_t t, o, base = 0, i, n_out = 0, k;
    for (i = 0; i < nw; i++) n_out += w[i]->n_out;
    for (i = 0; i < nw; base += w[i]->n_out, i++)
        for (o = 0; o < w[i]->n_out; o++) {
            mg__dequant_row(w[i]->type, w[i]->data + (size_t)o * w[i]->row_bytes, row, w[i]->n_in);
            for (t = 0; t < n; t++) {
                float *yo = y + (size_t)t * n_out + base + o, acc = (accumulate ? *yo : 0.0f) + (bias ? bias[base + o] : 0.0f);
                for (k = 0; k < w[i]->n_in; k++) acc += x[(size_t)t * w[i]->n_in + k] * row[k];
                *yo = acc;
            }
        }
}
/* The tower's products: the plain form with MG_REFERENCE, else packed tiles (mg__gemm). */
static void mg__vlinear(mg__vrun *R, const mg__mat *const *w, int nw, const float *bias, const float *x, int n, float *y,
                        int accumulate) {
#ifdef MG_REFERENCE
    mg__vlinear_ref(w, nw, bias, x, n, y, accumulate, R->sc.tmp);
#else
    mg__gemm(R->pool, &R->sc, w, nw, bias, x, n, y, accumulate, R->bf16);
#endif
}

/* R->h = attention over all patches of R->qkv (above). */
static void mg__vision_attention(mg__vrun *R) {
#ifdef MG_REFERENCE
    mg__pool_run(R->pool, mg__vattn_ref_task, &R->aj);
#else
    mg__pool_run(R->pool, mg__vattn_pack_task, &R->aj);
    mg__pool_run(R->pool, mg__vattn_task, &R->aj);
#endif
}

/* LayerNorm of every row: y = LN(x) with weight w, bias b. */
static void mg__vision_ln(mg__vrun *R, float *y, const float *x, const float *w, const float *b) {
    R->rj.y = y; R->rj.x = x; R->rj.w = w; R->rj.b = b; R->rj.d = R->V->d;
    mg__pool_run(R->pool, mg__vln_task, &R->rj);
}

/* One encoder block:
     x = x + Wo attn(LN1(x)) + bo,   attn = softmax(q k^T / sqrt(hd)) v,  [q k v] = LN1(x) [Wq Wk Wv]^T + b
     x = x + W2 gelu(W1 LN2(x) + b1) + b2 */
static void mg__vision_layer(mg__vrun *R, const mg__vlayer *Y) {
    const mg__vision *V = R->V;
    const mg__mat *w[3];
    int n = V->n_patches, d = V->d;
    mg__vision_ln(R, R->h, R->x, Y->ln1_w, Y->ln1_b);                               /* h = LN1(x) */
    w[0] = &Y->q; w[1] = &Y->k; w[2] = &Y->v;
    memcpy(R->sc.bias, Y->bq, d * sizeof(float)); memcpy(R->sc.bias + d, Y->bk, d * sizeof(float));
    memcpy(R->sc.bias + 2 * d, Y->bv, d * sizeof(float));
    mg__vlinear(R, w, 3, R->sc.bias, R->h, n, R->qkv, 0);                           /* [q k v] = h [Wq Wk Wv]^T + b */
    mg__vision_attention(R);                                                         /* h = attn(q, k, v) */
    w[0] = &Y->o;
    mg__vlinear(R, w, 1, Y->bo, R->h, n, R->x, 1);                                   /* x = x + h Wo^T + bo */
    mg__vision_ln(R, R->h, R->x, Y->ln2_w, Y->ln2_b);                               /* h = LN2(x) */
    w[0] = &Y->up;
    mg__vlinear(R, w, 1, Y->b_up, R->h, n, R->big, 0);                              /* big = gelu(h Wup^T + b_up) */
    R->rj.y = R->big; R->rj.d = V->ff;
    mg__pool_run(R->pool, mg__vgelu_task, &R->rj);
    w[0] = &Y->down;
    mg__vlinear(R, w, 1, Y->b_down, R->big, n, R->x, 1);                            /* x = x + big Wdown^T + b_down */
}

/* Patch p = py * side + px as a row of 3 P^2 values, element c P^2 + ky P + kx = (pixel / 255 - mean_c) / std_c. */
static void mg__vision_patches(const mg__vision *V, const uint8_t *rgb, float *out) {
    int P = V->patch, S = V->image_size, pin = 3 * P * P, t, c, ky, kx;
    for (t = 0; t < V->n_patches; t++) {
        int py = t / V->side, px = t % V->side;
        float *row = out + (size_t)t * pin;
        for (c = 0; c < 3; c++)
            for (ky = 0; ky < P; ky++)
                for (kx = 0; kx < P; kx++) {
                    uint8_t u = rgb[((size_t)(py * P + ky) * S + (px * P + kx)) * 3 + c];
                    row[(c * P + ky) * P + kx] = ((float)u / 255.0f - V->mean[c]) / V->std[c];
                }
    }
}

/* x = post_LN(blocks(Wpatch patches + bpatch + pos)) for one preprocessed image (image_size^2 RGB bytes). */
static void mg__vision_encoder(mg__vrun *R, const uint8_t *rgb) {
    const mg__vision *V = R->V;
    const mg__mat *w = &V->patch_w;
    int il;
    mg__vision_patches(V, rgb, R->big);
    memcpy(R->x, V->pos, (size_t)V->n_patches * V->d * sizeof(float));
    mg__vlinear(R, &w, 1, V->patch_b, R->big, V->n_patches, R->x, 1);               /* x = pos + (Wpatch patches + b) */
    mg__tap(R->opt, "v_inp", -1, R->x, V->d, V->n_patches, 1);
    for (il = 0; il < V->n_layer; il++) {
        mg__vision_layer(R, &V->layer[il]);
        mg__tap(R->opt, "v_l_out", il, R->x, V->d, V->n_patches, 1);
    }
    mg__vision_ln(R, R->x, R->x, V->post_w, V->post_b);
    mg__tap(R->opt, "v_post_ln", -1, R->x, V->d, V->n_patches, 1);
}

/* ===== >>projector =================================================================================== */
/* Gemma 3's multimodal projector: the side x side patch grid average-pooled pool x pool (64 -> 16 x 16 = 256
   tokens), each token RMS-normed with soft_emb_norm (1 + w baked in) and projected to the text width:
     out[t] = RMSNorm(avgpool(x)[t]) Wproj */
static void mg__projector(mg__vrun *R, float *out) {
    const mg__vision *V = R->V;
    const mg__mat *w = &V->proj;
    int side = V->side, po = V->pool, os = side / po, d = V->d, oy, ox, ky, kx, c, t;
    float *h = R->h;
    for (oy = 0; oy < os; oy++)
        for (ox = 0; ox < os; ox++)
            for (c = 0; c < d; c++) {
                float acc = 0;
                for (ky = 0; ky < po; ky++)
                    for (kx = 0; kx < po; kx++) acc += R->x[((size_t)(oy * po + ky) * side + (ox * po + kx)) * d + c];
                h[((size_t)oy * os + ox) * d + c] = acc / (float)(po * po);
            }
    for (t = 0; t < V->n_tokens; t++) mg__rmsnorm(h + (size_t)t * d, h + (size_t)t * d, V->soft_norm, d, V->eps);
    mg__tap(R->opt, "mm_soft_emb_norm", -1, h, d, V->n_tokens, 1);
    mg__vlinear(R, &w, 1, NULL, h, V->n_tokens, out, 0);
    mg__tap(R->opt, "mm_out", -1, out, V->n_out, V->n_tokens, 1);
}

/* Whether the weight products of an image pass are bf16: by default where the CPU has bf16 dot products (without
   them the float products are also the fast ones), never with vision_f32. */
static int mg__vision_bf16(const mg_session_options *opt) {
#if defined(MG__BF16) || defined(MG__ARM_BF16)
    return !opt->vision_f32;
#else
    (void)opt;
    return 0;
#endif
}
static void mg__vrun_free(mg__vrun *R) {
    MG_FREE(R->x); MG_FREE(R->h); MG_FREE(R->qkv); MG_FREE(R->big);
    MG_FREE(R->sc.ap); MG_FREE(R->sc.bp); MG_FREE(R->sc.tmp); MG_FREE(R->sc.kv); MG_FREE(R->sc.work); MG_FREE(R->sc.bias);
}

/* The buffers of one pass (all sized from the tower), or MG_ERR_NOMEM. */
static mg_result mg__vrun_init(mg__vrun *R, const mg__vision *V, mg__pool *pool, const mg_session_options *opt) {
    int n = V->n_patches, d = V->d, pin = 3 * V->patch * V->patch, maxin = V->ff > pin ? V->ff : pin, nth = pool->n, i;
    size_t nd = (size_t)n * d, ab[5], abytes = 0, work;
    memset(R, 0, sizeof *R);
    R->V = V; R->pool = pool; R->opt = opt;
    R->bf16 = mg__vision_bf16(opt);
    if (maxin < d) maxin = d;
    /* weight panels: the widest of patch [pin -> d], QKV [d -> 3d], up [d -> ff], down [ff -> d], projection */
    ab[0] = mg__gemm_a_bytes(pin, d); ab[1] = mg__gemm_a_bytes(d, 3 * (int64_t)d); ab[2] = mg__gemm_a_bytes(d, V->ff);
    ab[3] = mg__gemm_a_bytes(V->ff, d); ab[4] = mg__gemm_a_bytes(d, V->n_out);
    for (i = 0; i < 5; i++) abytes = ab[i] > abytes ? ab[i] : abytes;
    mg__vattn_dims(&R->aj, n, d, V->n_head);
#ifdef MG_REFERENCE
    work = (size_t)n;
#else
    work = mg__vattn_work_floats(&R->aj);
#endif
    R->x = (float *)mg__malloc(nd * sizeof(float)); R->h = (float *)mg__malloc(nd * sizeof(float));
    R->qkv = (float *)mg__malloc(3 * nd * sizeof(float)); R->big = (float *)mg__malloc((size_t)n * maxin * sizeof(float));
    R->sc.ap = mg__malloc(abytes);
    R->sc.bp = mg__malloc(mg__gemm_b_bytes(n, maxin));
    R->sc.tmp = (float *)mg__malloc(mg__gemm_tmp_bytes(maxin, nth));
    R->sc.kv = (uint32_t *)mg__malloc(mg__vattn_kv_words(&R->aj) * 4);
    R->sc.work = (float *)mg__malloc((size_t)nth * work * sizeof(float));
    R->sc.bias = (float *)mg__malloc(3 * (size_t)d * sizeof(float));
    if (!R->x || !R->h || !R->qkv || !R->big || !R->sc.ap || !R->sc.bp || !R->sc.tmp || !R->sc.kv || !R->sc.work || !R->sc.bias) {
        mg__vrun_free(R);
        return MG_ERR_NOMEM;
    }
    R->aj.qkv = R->qkv; R->aj.out = R->h; R->aj.kp = R->sc.kv;
    R->aj.vp = R->sc.kv + (size_t)R->aj.n_head * R->aj.nkp * R->aj.hp * MG__TR; R->aj.work = R->sc.work;
    R->rj.n = n; R->rj.d = d; R->rj.eps = V->eps; R->rj.gelu = V->gelu;
    return MG_OK;
}

/* One preprocessed image (image_size^2 RGB bytes) -> n_tokens x n_out embeddings. */
static mg_result mg__vision_encode(const mg__vision *V, mg__pool *pool, const mg_session_options *opt, const uint8_t *rgb, float *out) {
    mg__vrun R;
    if (mg__vrun_init(&R, V, pool, opt) != MG_OK) return MG_ERR_NOMEM;
    mg__vision_encoder(&R, rgb);
    mg__projector(&R, out);
    mg__vrun_free(&R);
    return MG_OK;
}

/* ===== >>Gemma 3 ===================================================================================== */
/* The text decoder. For a chunk of n tokens at positions pos0..:
     x = embed(ids) * sqrt(n_embd)   (or given embeddings: an image's 256 rows, attending to each other)
     per layer: x = x + post_attn_norm(Wo attention(rope(q_norm(Wq xn)), rope(k_norm(Wk xn)), Wv xn)),  xn = attn_norm(x)
                x = x + post_ffn_norm(Wdown (gelu(Wgate xn) * Wup xn)),                                 xn = ffn_norm(x)
     logits = output_norm(x_last) Wout^T        (Wout = token_embd: tied)
   RMSNorm weights hold Gemma's 1 + w; local (sliding-window) layers use RoPE base 10000, global ones 1e6 with the
   positions scaled by 1/8. */
typedef struct mg__hparams {
    int n_vocab;             /* rows of token_embd */
    int n_layer, n_embd, n_ff;
    int n_head, n_head_kv, head_dim;
    int n_ctx_train;
    int swa;                 /* sliding window of local layers (tokens) */
    int swa_period;          /* layer i global iff (i+1) % period == 0 (0: per-layer flags from the file) */
    float eps;               /* RMSNorm epsilon */
    float rope_base;         /* global layers */
    float rope_base_swa;     /* local layers */
    float rope_scale;        /* global layers: position multiplier = 1 / linear scaling factor */
} mg__hparams;
typedef struct mg__layer {
    mg__mat wq;              /* [n_embd -> n_head*head_dim] */
    mg__mat wk, wv;          /* [n_embd -> n_head_kv*head_dim] */
    mg__mat wo;              /* [n_head*head_dim -> n_embd] */
    mg__mat gate, up;        /* [n_embd -> n_ff] */
    mg__mat down;            /* [n_ff -> n_embd] */
    const float *attn_norm;      /* [n_embd] */
    const float *q_norm, *k_norm;/* [head_dim] */
    const float *post_attn_norm; /* [n_embd] */
    const float *ffn_norm;       /* [n_embd] */
    const float *post_ffn_norm;  /* [n_embd] */
    int global;              /* 1: full attention, RoPE base rope_base scaled; 0: sliding window */
} mg__layer;
struct mg_model {
    mg_gguf *g;              /* text model file */
    mg_gguf *gv;             /* vision file (mmproj) or NULL */
    mg__hparams hp;
    mg__vocab vocab;
    int has_weights;
    mg__mat tok_embd;        /* [n_embd -> n_vocab] rows = token embeddings */
    mg__mat output;          /* tied: same as tok_embd unless output.weight exists */
    const float *output_norm;/* [n_embd] */
    mg__layer *layer;        /* [n_layer] */
    float *norms;            /* arena holding every norm vector (dequantized, checked finite) */
    size_t norms_used, norms_cap;
    uint16_t *gelu;          /* [65537] f16 GELU table (mg__gelu_table), for both towers */
    size_t weight_bytes;
    char arch[64], name[128];
    int32_t tok_start_turn, tok_end_turn, tok_start_image, tok_end_image, tok_image_soft;
    int32_t tok_think_begin, tok_think_end;
    int image_tokens;        /* 256 with vision, else 0 */
    mg__vision *vision;      /* SigLIP tower + projector, or NULL */
    uint8_t fingerprint[32];        /* SHA-256 identity of the text file (see mg__gguf_fingerprint) */
    uint8_t vision_fingerprint[32]; /* ... of the vision file (zero without vision) */
};

/* ----- loading ----- */
/* Identity of a GGUF file for snapshots and caches: SHA-256 over the header (every key, value and tensor
   info) and 3 x 64 bytes (start, middle, end) of each tensor's data. A re-trained or re-quantized file
   changes both; reading ~200 bytes per tensor keeps loading instant. */
static void mg__gguf_fingerprint(const mg_gguf *g, uint8_t out[32]) {
    mg__sha256 c;
    int64_t i;
    mg__sha256_init(&c);
    mg__sha256_add(&c, g->data, g->data_off);
    for (i = 0; i < g->n_t; i++) {
        const uint8_t *d = g->data + g->data_off + g->t[i].offset;
        uint64_t n = g->t[i].nbytes, k = n < 64 ? n : 64;
        mg__sha256_add(&c, d, (size_t)k);
        mg__sha256_add(&c, d + (n - k) / 2, (size_t)k);
        mg__sha256_add(&c, d + n - k, (size_t)k);
    }
    mg__sha256_end(&c, out);
}
/* Integer hyperparameter "<arch>.<key>": required (def < 0) or defaulted, within [lo, hi]. */
static mg_result mg__hp_int(const mg_model *m, const char *fmt, int def, int lo, int hi, int *out, mg_error *e) {
    char key[160];
    snprintf(key, sizeof key, fmt, m->arch);
    return mg__key_int(m->g, key, def, lo, hi, out, e);
}
static float mg__hp_float(const mg_model *m, const char *fmt, float def) {
    char key[160];
    double d;
    snprintf(key, sizeof key, fmt, m->arch);
    return mg__gguf_num(m->g, key, &d) && d > 0 && isfinite(d) ? (float)d : def;
}
static mg_result mg__load_hparams(mg_model *m, mg_error *e) {
    mg__hparams *hp = &m->hp;
    char key[160];
    size_t len;
    const char *stype;
    mg_result r;
    if ((r = mg__hp_int(m, MG__KEY_BLOCKS, -1, 1, MG_MAX_LAYERS, &hp->n_layer, e)) ||
        (r = mg__hp_int(m, MG__KEY_EMBD, -1, 1, 65536, &hp->n_embd, e)) ||
        (r = mg__hp_int(m, MG__KEY_FF, -1, 1, 1 << 18, &hp->n_ff, e)) ||
        (r = mg__hp_int(m, MG__KEY_HEADS, -1, 1, 1024, &hp->n_head, e)) ||
        (r = mg__hp_int(m, MG__KEY_HEADS_KV, hp->n_head, 1, hp->n_head, &hp->n_head_kv, e)) ||
        (r = mg__hp_int(m, MG__KEY_KEY_LEN, hp->n_embd / hp->n_head, 2, 4096, &hp->head_dim, e)) ||
        (r = mg__hp_int(m, MG__KEY_CTX, MG__DEF_CTX, 1, MG_MAX_CTX, &hp->n_ctx_train, e)) ||
        (r = mg__hp_int(m, MG__KEY_SWA, MG__DEF_SLIDING_WINDOW, 1, MG_MAX_CTX, &hp->swa, e)))
        return r;
    {
        int vlen;
        if ((r = mg__hp_int(m, MG__KEY_VAL_LEN, hp->head_dim, 1, 4096, &vlen, e))) return r;
        if (vlen != hp->head_dim)
            return mg__fail(e, MG_ERR_UNSUPPORTED, "value_length %d differs from key_length %d", vlen, hp->head_dim);
    }
    if (hp->head_dim % 2) return mg__fail(e, MG_ERR_MODEL, "head_dim %d is odd (RoPE needs pairs)", hp->head_dim);
    if (hp->n_head % hp->n_head_kv)
        return mg__fail(e, MG_ERR_MODEL, "head_count %d not a multiple of head_count_kv %d", hp->n_head, hp->n_head_kv);
    hp->eps = mg__hp_float(m, MG__KEY_RMS_EPS, MG__DEF_RMS_EPS);
    hp->rope_base = mg__hp_float(m, MG__KEY_ROPE_BASE, mg__hp_float(m, MG__KEY_ROPE_GLOBAL, MG__DEF_ROPE_BASE));
    hp->rope_base_swa = mg__hp_float(m, MG__KEY_ROPE_BASE_SWA, mg__hp_float(m, MG__KEY_ROPE_LOCAL, MG__DEF_ROPE_BASE_SWA));
    /* linear RoPE scaling of the global layers: factor from the file; "none" = 1; both keys absent: x8 */
    snprintf(key, sizeof key, MG__KEY_ROPE_STYPE, m->arch);
    stype = mg__gguf_str(m->g, key, &len);
    if (stype && !(len == 6 && memcmp(stype, "linear", 6) == 0) && !(len == 4 && memcmp(stype, "none", 4) == 0))
        return mg__fail(e, MG_ERR_UNSUPPORTED, "rope scaling type '%.*s' (linear or none run)", (int)(len < 32 ? len : 32), stype);
    if (stype && len == 4) hp->rope_scale = 1.0f;
    else hp->rope_scale = 1.0f / mg__hp_float(m, MG__KEY_ROPE_SFACTOR, stype ? 1.0f : MG__DEF_ROPE_SCALE);
    snprintf(key, sizeof key, MG__KEY_SWA_PATTERN, m->arch);
    hp->swa_period = MG__DEF_SWA_PERIOD;
    {
        int64_t ki = mg__gguf_find(m->g, key);
        if (ki >= 0 && m->g->kv[ki].type == MG_GGUF_ARRAY) hp->swa_period = 0;     /* per-layer flags */
        else if ((r = mg__hp_int(m, MG__KEY_SWA_PATTERN, MG__DEF_SWA_PERIOD, 1, MG_MAX_LAYERS, &hp->swa_period, e))) return r;
    }
    return MG_OK;
}
/* Whether layer il uses full attention: every swa_period-th layer, or the file's per-layer flags
   (llama.cpp's array form: true = sliding window). */
static int mg__layer_is_global(const mg_model *m, int il) {
    char key[160];
    int64_t ki;
    if (m->hp.swa_period > 0) return (il + 1) % m->hp.swa_period == 0;
    snprintf(key, sizeof key, MG__KEY_SWA_PATTERN, m->arch);
    ki = mg__gguf_find(m->g, key);
    if (ki < 0 || (uint64_t)il >= m->g->kv[ki].arr_n) return 0;
    switch (mg__gguf_scalar_size(m->g->kv[ki].arr_type)) {
    case 1: return m->g->data[m->g->kv[ki].off + (size_t)il] == 0;
    case 4: return mg__le32(m->g->data + m->g->kv[ki].off + 4 * (size_t)il) == 0;
    default: return 0;
    }
}
static mg_result mg__load_weights(mg_model *m, mg_error *e) {
    const mg__hparams *hp = &m->hp;
    const mg_gguf *g = m->g;
    int64_t qd = (int64_t)hp->n_head * hp->head_dim, kvd = (int64_t)hp->n_head_kv * hp->head_dim, ti;
    int il;
    mg_result r;
#define MG__NORM(name, n, dst) mg__get_floats(g, name, n, 1, m->norms, &m->norms_used, m->norms_cap, dst, e)
    ti = mg__gguf_tensor_find(g, "token_embd.weight");
    if (ti < 0) return mg__fail(e, MG_ERR_MODEL, "tensor 'token_embd.weight' is missing");
    m->hp.n_vocab = (int)(g->t[ti].ne[1] < MG_MAX_VOCAB ? g->t[ti].ne[1] : MG_MAX_VOCAB + 1);
    if (m->hp.n_vocab > MG_MAX_VOCAB) return mg__fail(e, MG_ERR_LIMIT, "token_embd has more than %d rows", MG_MAX_VOCAB);
    if (m->hp.n_vocab < m->vocab.n)
        return mg__fail(e, MG_ERR_MODEL, "token_embd has %d rows but the vocabulary %d tokens", m->hp.n_vocab, m->vocab.n);
    if ((r = mg__get_mat(g, "token_embd.weight", hp->n_embd, hp->n_vocab, &m->tok_embd, &m->weight_bytes, e))) return r;
    if (mg__gguf_tensor_find(g, "output.weight") >= 0) {
        if ((r = mg__get_mat(g, "output.weight", hp->n_embd, hp->n_vocab, &m->output, &m->weight_bytes, e))) return r;
    } else m->output = m->tok_embd;
    m->norms_cap = (size_t)hp->n_embd * (1 + 4 * (size_t)hp->n_layer) + 2 * (size_t)hp->head_dim * hp->n_layer;
    m->norms = (float *)mg__calloc(m->norms_cap, sizeof(float));
    m->layer = (mg__layer *)mg__calloc((size_t)hp->n_layer, sizeof(mg__layer));
    if (!m->norms || !m->layer) return mg__fail(e, MG_ERR_NOMEM, "out of memory for the model");
    if ((r = MG__NORM("output_norm.weight", hp->n_embd, &m->output_norm))) return r;
    for (il = 0; il < hp->n_layer; il++) {
        mg__layer *L = &m->layer[il];
        char nm[96];
#define MG__T(suffix) (snprintf(nm, sizeof nm, "blk.%d." suffix ".weight", il), nm)
        if ((r = MG__NORM(MG__T("attn_norm"), hp->n_embd, &L->attn_norm)) ||
            (r = mg__get_mat(g, MG__T("attn_q"), hp->n_embd, qd, &L->wq, &m->weight_bytes, e)) ||
            (r = mg__get_mat(g, MG__T("attn_k"), hp->n_embd, kvd, &L->wk, &m->weight_bytes, e)) ||
            (r = mg__get_mat(g, MG__T("attn_v"), hp->n_embd, kvd, &L->wv, &m->weight_bytes, e)) ||
            (r = MG__NORM(MG__T("attn_q_norm"), hp->head_dim, &L->q_norm)) ||
            (r = MG__NORM(MG__T("attn_k_norm"), hp->head_dim, &L->k_norm)) ||
            (r = mg__get_mat(g, MG__T("attn_output"), qd, hp->n_embd, &L->wo, &m->weight_bytes, e)) ||
            (r = MG__NORM(MG__T("post_attention_norm"), hp->n_embd, &L->post_attn_norm)) ||
            (r = MG__NORM(MG__T("ffn_norm"), hp->n_embd, &L->ffn_norm)) ||
            (r = mg__get_mat(g, MG__T("ffn_gate"), hp->n_embd, hp->n_ff, &L->gate, &m->weight_bytes, e)) ||
            (r = mg__get_mat(g, MG__T("ffn_up"), hp->n_embd, hp->n_ff, &L->up, &m->weight_bytes, e)) ||
            (r = mg__get_mat(g, MG__T("ffn_down"), hp->n_ff, hp->n_embd, &L->down, &m->weight_bytes, e)) ||
            (r = MG__NORM(MG__T("post_ffw_norm"), hp->n_embd, &L->post_ffn_norm)))
            return r;
#undef MG__T
        L->global = mg__layer_is_global(m, il);
    }
#undef MG__NORM
    m->has_weights = 1;
    return MG_OK;
}
#ifndef MG_NO_STDIO
static mg_result mg__open_file(mg_gguf **out, const char *path, int no_mmap, mg_error *e);
#endif
/* Loads the SigLIP tower from g (ollama: inside the text file) into the model; it must project to the text width. */
static mg_result mg__model_tower(mg_model *m, const mg_gguf *g, int ollama, mg_error *e) {
    mg_result r;
    if (!(m->vision = (mg__vision *)mg__calloc(1, sizeof *m->vision))) return mg__fail(e, MG_ERR_NOMEM, "out of memory");
    m->vision->gelu = m->gelu;
    if ((r = mg__vision_load(m->vision, g, ollama, &m->weight_bytes, e)) != MG_OK) return r;
    if (m->has_weights && m->vision->n_out != m->hp.n_embd)
        return mg__fail(e, MG_ERR_MODEL, "the vision projector outputs %d values per token but the text model is %d wide: "
                        "this mmproj file belongs to another model", m->vision->n_out, m->hp.n_embd);
    m->image_tokens = m->vision->n_tokens;
    return MG_OK;
}
/* The vision tower: from the separate mmproj file when one is given, else from inside the text file
   (Ollama's layout), else none. */
static mg_result mg__model_vision(mg_model *m, const mg_model_options *opt, mg_error *e) {
    mg_result r;
    size_t len;
    const char *arch;
    if (opt && (opt->mmproj_path || opt->mmproj_data)) {
        if (opt->mmproj_data) r = mg_gguf_open_mem(&m->gv, opt->mmproj_data, opt->mmproj_size, e);
#ifndef MG_NO_STDIO
        else r = mg__open_file(&m->gv, opt->mmproj_path, opt->no_mmap, e);
#else
        else r = mg__fail(e, MG_ERR_INVALID_ARG, "built with MG_NO_STDIO: pass the vision file as mmproj_data");
#endif
        if (r != MG_OK) return r;
        arch = mg__gguf_str(m->gv, MG__KEY_ARCH, &len);
        if (!arch || len != 4 || memcmp(arch, "clip", 4) != 0)
            return mg__fail(e, MG_ERR_UNSUPPORTED, "the vision file's architecture must be \"clip\" (an mmproj file)");
        return mg__model_tower(m, m->gv, 0, e);
    }
    if (mg__gguf_tensor_find(m->g, "v.patch_embedding.weight") >= 0) return mg__model_tower(m, m->g, 1, e);
    return MG_OK;
}
static mg_result mg__model_init(mg_model *m, const mg_model_options *opt, mg_error *e) {
    size_t len;
    const char *s = mg__gguf_str(m->g, MG__KEY_ARCH, &len);
    mg_result r;
    if (!s) return mg__fail(e, MG_ERR_MODEL, "metadata key 'general.architecture' is missing");
    if (!(m->gelu = (uint16_t *)mg__malloc(65537 * sizeof(uint16_t)))) return mg__fail(e, MG_ERR_NOMEM, "out of memory");
    mg__gelu_table(m->gelu);
    if (len == 4 && memcmp(s, "clip", 4) == 0) {      /* an mmproj file alone: a vision-only model */
        memcpy(m->arch, s, len);
        return mg__model_tower(m, m->g, 0, e);
    }
    if (!(len == 6 && memcmp(s, "gemma3", 6) == 0))
        return mg__fail(e, MG_ERR_UNSUPPORTED, "architecture '%.*s' (this runtime runs gemma3 and its clip vision file)",
                        (int)(len < 40 ? len : 40), s);
    memcpy(m->arch, s, len);
    if ((s = mg__gguf_str(m->g, MG__KEY_NAME, &len)) != NULL) memcpy(m->name, s, len < sizeof m->name - 1 ? len : sizeof m->name - 1);
    if ((r = mg__vocab_load(&m->vocab, m->g, e))) return r;
    m->tok_start_turn = mg__vocab_find(&m->vocab, "<start_of_turn>", 15);
    m->tok_end_turn = mg__vocab_find(&m->vocab, "<end_of_turn>", 13);
    m->tok_start_image = mg__vocab_find(&m->vocab, "<start_of_image>", 16);
    m->tok_end_image = mg__vocab_find(&m->vocab, "<end_of_image>", 14);
    m->tok_image_soft = mg__vocab_find(&m->vocab, "<image_soft_token>", 18);
    m->tok_think_begin = mg__vocab_find(&m->vocab, "<unused94>", 10);
    m->tok_think_end = mg__vocab_find(&m->vocab, "<unused95>", 10);
    if ((r = mg__load_hparams(m, e))) return r;
    m->hp.n_vocab = m->vocab.n;
    if ((opt && opt->vocab_only) || m->g->n_t == 0) return MG_OK;
    if ((r = mg__load_weights(m, e))) return r;
    return mg__model_vision(m, opt, e);
}
MGDEF void mg_model_free(mg_model *m) {
    if (!m) return;
    mg__vocab_free(&m->vocab);
    mg__vision_free(m->vision);
    MG_FREE(m->layer);
    MG_FREE(m->norms);
    MG_FREE(m->gelu);
    mg_gguf_close(m->g);
    mg_gguf_close(m->gv);
    MG_FREE(m);
}
/* A model read into memory: its matrices that the build's kernels run faster in the lanes layout (>>kernels) are
   rearranged in place, after the fingerprint is taken; the tensor table marks them (mg_gguf_dequantize reads them
   as stored). Results are the same bit for bit. */
static mg_result mg__model_lanes(mg_model *m, mg_error *e) {
    mg__mat *w[2 + 7 * MG_MAX_LAYERS];
    uint8_t *tmp = NULL;
    size_t cap = 0;
    int n = 0, i, il;
    int64_t G, ti;
    w[n++] = &m->tok_embd;
    if (m->output.data != m->tok_embd.data) w[n++] = &m->output;
    for (il = 0; il < m->hp.n_layer && il < MG_MAX_LAYERS; il++) {
        mg__layer *L = &m->layer[il];
        w[n++] = &L->wq; w[n++] = &L->wk; w[n++] = &L->wv; w[n++] = &L->wo; w[n++] = &L->gate; w[n++] = &L->up; w[n++] = &L->down;
    }
    for (i = 0; i < n; i++) {
        mg__mat *a = w[i];
        if (!mg__lanes_wanted(a->type) || a->n_out % 16 || a->lanes) continue;
        if (16 * a->row_bytes > cap) {
            MG_FREE(tmp);
            if (!(tmp = (uint8_t *)mg__malloc(cap = 16 * a->row_bytes))) return mg__fail(e, MG_ERR_NOMEM, "out of memory rearranging the weights");
        }
        for (G = 0; G < a->n_out / 16; G++) {
            uint8_t *grp = (uint8_t *)(uintptr_t)(a->data + (size_t)G * 16 * a->row_bytes);
            memcpy(tmp, grp, 16 * a->row_bytes);
            mg__lanes_pack(a->type, tmp, a->row_bytes, grp);
        }
        a->lanes = 1;
        for (ti = 0; ti < m->g->n_t; ti++)
            if (m->g->data + m->g->data_off + m->g->t[ti].offset == a->data) m->g->t[ti].lanes = 1;
    }
    if (m->output.data == m->tok_embd.data) m->output.lanes = m->tok_embd.lanes;
    MG_FREE(tmp);
    return MG_OK;
}
/* Takes ownership of g (closed on failure). */
static mg_result mg__model_from_gguf(mg_model **out, mg_gguf *g, const mg_model_options *opt, mg_error *e) {
    mg_model *m = (mg_model *)mg__calloc(1, sizeof *m);
    mg_result r;
    if (!m) { mg_gguf_close(g); return mg__fail(e, MG_ERR_NOMEM, "out of memory"); }
    m->g = g;
    if ((r = mg__model_init(m, opt, e)) != MG_OK) { mg_model_free(m); return r; }
    mg__gguf_fingerprint(m->g, m->fingerprint);
    if (m->has_weights && m->g->owned && !m->g->owned_mapped && (r = mg__model_lanes(m, e)) != MG_OK) { mg_model_free(m); return r; }
    if (m->vision) mg__gguf_fingerprint(m->gv ? m->gv : m->g, m->vision_fingerprint);
    *out = m;
    return MG_OK;
}
MGDEF mg_result mg_model_load_mem(mg_model **out, const void *data, size_t size, const mg_model_options *opt, mg_error *err) {
    mg_gguf *g;
    mg_result r;
    if (!out) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_model_load_mem: out is NULL");
    *out = NULL;
    if ((r = mg_gguf_open_mem(&g, data, size, err)) != MG_OK) return r;
    return mg__model_from_gguf(out, g, opt, err);
}
#ifndef MG_NO_STDIO
/* ----- files -----
   A whole file in memory, the same way on POSIX (open, fstat, mmap, read), Windows (CreateFile, GetFileSizeEx,
   MapViewOfFile, ReadFile) and any other C library (fopen, ftell, fread). Sizes are 64-bit throughout: a file
   larger than this build can address is refused by name and size (MG_ERR_LIMIT), never truncated; reads go in
   pieces of at most 1 GiB; a failure names the file and the system's reason. */
typedef struct mg__file {
    const char *path;
    uint64_t size;
#if defined(MG__FILES_POSIX)
    int fd;
#elif defined(MG__FILES_WIN32)
    HANDLE h;
#else
    FILE *f;
#endif
} mg__file;
#ifndef MG__IO_PIECE
#define MG__IO_PIECE ((size_t)1 << 30)      /* tests/test_platform makes it small to read in many pieces */
#endif

/* The reason the last system call failed, as the system words it, copied to buf. */
static const char *mg__os_error(char *buf, size_t cap) {
#if defined(MG__FILES_WIN32)
    DWORD code = GetLastError();
    size_t n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, buf,
                              (DWORD)cap, NULL);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '.')) buf[--n] = 0;
    if (n == 0) snprintf(buf, cap, "Windows error %lu", (unsigned long)code);
    return buf;
#else
    snprintf(buf, cap, "%s", strerror(errno));
    return buf;
#endif
}
static mg_result mg__file_fail(mg_error *e, mg_result code, const char *what, const mg__file *f) {
    char buf[128];
    return mg__fail(e, code, "cannot %s '%s': %s", what, f->path, mg__os_error(buf, sizeof buf));
}
static void mg__file_close(mg__file *f) {
#if defined(MG__FILES_POSIX)
    close(f->fd);
#elif defined(MG__FILES_WIN32)
    CloseHandle(f->h);
#else
    fclose(f->f);
#endif
}
/* Opens a regular file for reading and measures it. */
static mg_result mg__file_open(mg__file *f, const char *path, mg_error *e) {
    f->path = path;
#if defined(MG__FILES_POSIX)
    {
        struct stat st;
        if ((f->fd = open(path, O_RDONLY)) < 0) return mg__file_fail(e, MG_ERR_IO, "open", f);
        if (fstat(f->fd, &st) != 0) {
            mg_result r = mg__file_fail(e, MG_ERR_IO, "measure", f);
#ifdef EOVERFLOW
            if (errno == EOVERFLOW)
                r = mg__fail(e, MG_ERR_LIMIT, "'%s' is 2 GiB or more, past this build's 32-bit off_t (compile with "
                             "-D_FILE_OFFSET_BITS=64)", path);
#endif
            close(f->fd);
            return r;
        }
        if (!S_ISREG(st.st_mode)) { close(f->fd); return mg__fail(e, MG_ERR_IO, "'%s' is not a regular file", path); }
        f->size = (uint64_t)st.st_size;
    }
#elif defined(MG__FILES_WIN32)
    {
        LARGE_INTEGER n;
        f->h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        if (f->h == INVALID_HANDLE_VALUE) return mg__file_fail(e, MG_ERR_IO, "open", f);
        if (GetFileType(f->h) != FILE_TYPE_DISK) { CloseHandle(f->h); return mg__fail(e, MG_ERR_IO, "'%s' is not a regular file", path); }
        if (!GetFileSizeEx(f->h, &n)) { mg_result r = mg__file_fail(e, MG_ERR_IO, "measure", f); CloseHandle(f->h); return r; }
        f->size = (uint64_t)n.QuadPart;
    }
#else
    {   /* ftell answers in a long: a size it cannot hold fails, and a byte past the answer means it wrapped */
        long n;
        if (!(f->f = fopen(path, "rb"))) return mg__file_fail(e, MG_ERR_IO, "open", f);
        if (fseek(f->f, 0, SEEK_END) != 0 || (n = ftell(f->f)) < 0 || fseek(f->f, n, SEEK_SET) != 0 ||
            fgetc(f->f) != EOF || fseek(f->f, 0, SEEK_SET) != 0) {
            fclose(f->f);
            return mg__fail(e, MG_ERR_LIMIT, "cannot measure '%s': larger than this C library's ftell reaches", path);
        }
        f->size = (uint64_t)n;
    }
#endif
    if (sizeof(size_t) < sizeof(uint64_t) && f->size > (uint64_t)SIZE_MAX) {
        mg__file_close(f);
        return mg__fail(e, MG_ERR_LIMIT, "'%s' is %llu bytes, more than a %d-bit build can address (a 64-bit build "
                        "reads it)", path, (unsigned long long)f->size, (int)(8 * sizeof(size_t)));
    }
    return MG_OK;
}
/* Reads the next n bytes. */
static mg_result mg__file_read(mg__file *f, void *buf, size_t n, mg_error *e) {
    uint8_t *p = (uint8_t *)buf;
    while (n > 0) {
        size_t want = n < MG__IO_PIECE ? n : MG__IO_PIECE, got;
#if defined(MG__FILES_POSIX)
        ssize_t k = read(f->fd, p, want);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return mg__file_fail(e, MG_ERR_IO, "read", f);
        got = (size_t)k;
#elif defined(MG__FILES_WIN32)
        DWORD k = 0;
        if (!ReadFile(f->h, p, (DWORD)want, &k, NULL)) return mg__file_fail(e, MG_ERR_IO, "read", f);
        got = k;
#else
        got = fread(p, 1, want, f->f);
        if (got == 0 && ferror(f->f)) return mg__file_fail(e, MG_ERR_IO, "read", f);
#endif
        if (got == 0) return mg__fail(e, MG_ERR_IO, "cannot read '%s': it ends %llu bytes early (changed while read?)",
                                      f->path, (unsigned long long)n);
        p += got; n -= got;
    }
    return MG_OK;
}
#ifdef MG__MAP
/* Maps the whole (measured, non-empty) file read-only. */
static mg_result mg__file_map(mg__file *f, void **out, mg_error *e) {
    char why[128];
    int nomem;
#if defined(MG__FILES_POSIX)
    void *p = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (p == MAP_FAILED) p = NULL;
    nomem = !p && errno == ENOMEM;
    if (!p) mg__os_error(why, sizeof why);
#else
    HANDLE m = CreateFileMappingA(f->h, NULL, PAGE_READONLY, 0, 0, NULL);
    void *p = m ? MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0) : NULL;
    nomem = !p && GetLastError() == ERROR_NOT_ENOUGH_MEMORY;
    if (!p) mg__os_error(why, sizeof why);
    if (m) CloseHandle(m);                    /* the view keeps the mapping alive */
#endif
    if (!p)
        return mg__fail(e, nomem ? MG_ERR_NOMEM : MG_ERR_IO, "cannot map '%s' (%llu bytes): %s", f->path,
                        (unsigned long long)f->size, why);
    *out = p;
    return MG_OK;
}
#endif
/* A buffer for a file read into memory. Without allocation hooks, on Linux: aligned to 2 MiB with transparent
   huge pages requested (decode streams the whole buffer per token; with 4 KiB pages every page is a TLB miss and
   a point where the hardware prefetcher stops). Released with MG_FREE either way. */
#if defined(__linux__) && defined(MG__FILES_POSIX) && defined(MG__LIBC_ALLOC)
MG__LIBC int madvise(void *addr, size_t len, int advice);   /* <sys/mman.h> declares it only outside strict POSIX, */
MG__LIBC int posix_memalign(void **p, size_t align, size_t size);   /* <stdlib.h> only with POSIX features on */
#define MG__MADV_HUGEPAGE 14                       /* its value on every Linux architecture */
#endif
static void *mg__weights_alloc(size_t size) {
#ifdef MG__MADV_HUGEPAGE
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (size >= huge && posix_memalign(&p, huge, size) == 0) {
        madvise(p, size / huge * huge, MG__MADV_HUGEPAGE);   /* advice only: 4 KiB pages still work */
        return p;
    }
#endif
    return mg__malloc(size);
}
/* Reads the whole (measured) file into a weights buffer with 64 bytes to spare after it (mg__open_file moves the
   tensor data to a 64-byte boundary). */
static mg_result mg__file_slurp(mg__file *f, void **out, mg_error *e) {
    mg_result r;
    if (f->size > (uint64_t)(SIZE_MAX - 64) || !(*out = mg__weights_alloc((size_t)f->size + 64)))
        return mg__fail(e, MG_ERR_NOMEM, "out of memory reading '%s' (%llu bytes)", f->path, (unsigned long long)f->size);
    if ((r = mg__file_read(f, *out, (size_t)f->size, e)) != MG_OK) { MG_FREE(*out); *out = NULL; }
    return r;
}
/* Maps (or reads) a whole GGUF file; the buffer is handed to the gguf, which releases it. */
static mg_result mg__open_file(mg_gguf **out, const char *path, int no_mmap, mg_error *e) {
    mg__file f;
    void *buf = NULL;
    int mapped = 0;
    mg_result r;
    *out = NULL;
    if ((r = mg__file_open(&f, path, e)) != MG_OK) return r;
    if (f.size == 0) { mg__file_close(&f); return mg__fail(e, MG_ERR_IO, "'%s' is empty", path); }
#ifdef MG__MAP
    if (!no_mmap) { mapped = 1; r = mg__file_map(&f, &buf, e); } else
#else
    (void)no_mmap;
#endif
    r = mg__file_slurp(&f, &buf, e);
    mg__file_close(&f);
    if (r != MG_OK) return r;
    if ((r = mg_gguf_open_mem(out, buf, (size_t)f.size, e)) != MG_OK) { mg__release_buffer(buf, (size_t)f.size, mapped); return r; }
    if (!mapped && (uintptr_t)((*out)->data + (*out)->data_off) % 64) {
        /* the tensor data moved to a 64-byte boundary (into mg__file_slurp's slack): the kernels' vector loads
           then stay within cache lines */
        const size_t pad = 64 - (size_t)((uintptr_t)((*out)->data + (*out)->data_off) % 64);
        mg_gguf_close(*out);
        memmove((uint8_t *)buf + pad, buf, (size_t)f.size);
        if ((r = mg_gguf_open_mem(out, (uint8_t *)buf + pad, (size_t)f.size, e)) != MG_OK) { mg__release_buffer(buf, (size_t)f.size, mapped); return r; }
    }
    (*out)->owned = buf;
    (*out)->owned_size = (size_t)f.size;
    (*out)->owned_mapped = mapped;
    return MG_OK;
}
MGDEF mg_result mg_model_load_file(mg_model **out, const char *path, const mg_model_options *opt, mg_error *err) {
    mg_gguf *g;
    mg_result r;
    if (!out || !path) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_model_load_file: NULL argument");
    *out = NULL;
    if ((r = mg__open_file(&g, path, opt ? opt->no_mmap : 0, err)) != MG_OK) return r;
    return mg__model_from_gguf(out, g, opt, err);
}
#endif
MGDEF void mg_model_get_info(const mg_model *m, mg_model_info *info) {
    if (!info) return;
    memset(info, 0, sizeof *info);
    if (!m) return;
    info->arch = m->arch; info->name = m->name;
    info->n_vocab = m->hp.n_vocab; info->n_layer = m->hp.n_layer; info->n_embd = m->hp.n_embd;
    info->n_ff = m->hp.n_ff; info->n_head = m->hp.n_head; info->n_head_kv = m->hp.n_head_kv;
    info->head_dim = m->hp.head_dim; info->n_ctx_train = m->hp.n_ctx_train;
    info->sliding_window = m->hp.swa; info->swa_period = m->hp.swa_period;
    info->has_weights = m->has_weights; info->has_vision = m->vision != NULL;
    info->image_tokens = m->image_tokens; info->weight_bytes = m->weight_bytes;
    memcpy(info->fingerprint, m->fingerprint, 32);
    memcpy(info->vision_fingerprint, m->vision_fingerprint, 32);
}
MGDEF const mg_gguf *mg_model_gguf(const mg_model *m) { return m ? m->g : NULL; }
MGDEF const mg_gguf *mg_model_gguf_vision(const mg_model *m) { return !m || !m->vision ? NULL : m->gv ? m->gv : m->g; }

/* ----- session state: KV cache, per-chunk scratch, thread pool ----- */
/* KV cache of one layer: keys and values for positions [pos - cap_max + 1, pos] at slot = pos % cap_max.
   Global layers keep every position (cap_max = n_ctx); sliding-window layers keep a ring of
   window + chunk positions, enough for the oldest query of a chunk to see its whole window. The buffer grows
   with use up to cap_max. Layout [slot][n_head_kv][head_dim], element type F32, F16 or Q8_0 blocks. */
typedef struct mg__kvcache {
    uint8_t *k, *v;          /* [cap][n_head_kv][head_dim] */
    int cap;                 /* slots allocated */
    int cap_max;             /* ring size */
} mg__kvcache;
struct mg_session {
    const mg_model *m;
    mg_session_options opt;
    int n_ctx;               /* positions the session may hold */
    int chunk;               /* tokens per forward chunk (largest bidirectional block too) */
    int kv_type;             /* cache element type: MG_TYPE_F32, MG_TYPE_F16 or MG_TYPE_Q8_0 */
    size_t kv_row;           /* bytes of one position's K (or V) row: n_head_kv*head_dim values of kv_type */
    int pos;                 /* positions filled */
    mg__kvcache *kv;         /* [n_layer] */
    int32_t *hist;           /* [pos] ids fed (-1 for embeddings) */
    int64_t hist_cap;
    float *x;                /* [chunk][n_embd] residual stream */
    float *xn;               /* [chunk][max(n_embd, n_ff)] normed input / scratch */
    float *q;                /* [chunk][n_head*head_dim] */
    float *k, *v;            /* [chunk][n_head_kv*head_dim] */
    float *att;              /* [chunk][n_head*head_dim] attention output */
    float *t;                /* [chunk][n_embd] projection output */
    float *g, *u;            /* [chunk][n_ff] */
    uint8_t *xq;             /* [chunk][activation row bytes] converted activations */
    float *attw;             /* [n_threads][mg__attn_work_floats] attention tiles */
    float *rope;             /* [chunk][head_dim] (cos, sin) pairs */
    uint8_t *scratch;        /* the block the buffers above and below are carved from (mg__scratch) */
    float *logits;           /* [n_vocab] last position */
    int has_logits;
    int32_t *sample_ids;     /* [n_vocab] sampler work */
    float *sample_p;         /* [n_vocab] sampler work */
    uint64_t rng;            /* sampler RNG state */
    int prompt_done, prompt_total; /* progress through the prompt mg_eval_prompt_from feeds (total 0: none) */
    mg__pool pool;
    char err[256];
};
static mg_result mg__sfail(mg_session *s, mg_result code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return code;
}
MGDEF void mg_session_free(mg_session *s) {
    int i;
    if (!s) return;
    mg__pool_stop(&s->pool);
    if (s->kv) for (i = 0; i < s->m->hp.n_layer; i++) { MG_FREE(s->kv[i].k); MG_FREE(s->kv[i].v); }
    MG_FREE(s->kv); MG_FREE(s->hist); MG_FREE(s->scratch);
    MG_FREE(s);
}
MGDEF void mg_session_seed(mg_session *s, uint64_t seed) { if (s) s->rng = seed ? seed : 0x853c49e6748fea9bULL; }
/* What a session's options come to: mg_session_new allocates by it, mg_session_memory_estimate counts by it. */
typedef struct mg__splan {
    int n_ctx, chunk, n_threads;
    int kv_type;             /* MG_TYPE_F32 / F16 / Q8_0 */
    size_t kv_row;           /* bytes of one position's K (or V) row */
} mg__splan;
static mg_result mg__session_plan(const mg_model *m, const mg_session_options *o, mg__splan *pl, mg_error *e) {
    const mg__hparams *hp = &m->hp;
    if (o->n_ctx < 0 || o->n_ctx > MG_MAX_CTX)
        return mg__fail(e, MG_ERR_INVALID_ARG, "session: n_ctx %d outside 0..MG_MAX_CTX = %d", o->n_ctx, MG_MAX_CTX);
    if (o->n_batch < 0 || o->n_threads < 0)
        return mg__fail(e, MG_ERR_INVALID_ARG, "session: negative n_batch (%d) or n_threads (%d)", o->n_batch, o->n_threads);
    if (o->kv_type < MG_KV_DEFAULT || o->kv_type > MG_KV_Q8_0)
        return mg__fail(e, MG_ERR_INVALID_ARG, "session: unknown kv_type %d (MG_KV_DEFAULT, F32, F16 or Q8_0)", o->kv_type);
    if (o->kv_type == MG_KV_Q8_0 && hp->head_dim % 32 != 0)
        return mg__fail(e, MG_ERR_UNSUPPORTED, "session: a Q8_0 KV cache needs head_dim %% 32 == 0 (head_dim %d)", hp->head_dim);
    pl->n_ctx = o->n_ctx ? o->n_ctx : hp->n_ctx_train;
    pl->chunk = o->n_batch ? o->n_batch : MG__DEF_BATCH;
    if (pl->chunk < 256) pl->chunk = 256;               /* an image block (256 tokens) always fits one chunk */
    if (m->image_tokens > pl->chunk) pl->chunk = m->image_tokens;
    if (pl->chunk > pl->n_ctx) pl->chunk = pl->n_ctx;
    pl->n_threads = o->n_threads ? o->n_threads : mg__cpu_count();
    if (pl->n_threads > MG__MAX_THREADS) pl->n_threads = MG__MAX_THREADS;
    pl->kv_type = o->kv_type == MG_KV_F32 ? MG_TYPE_F32 : o->kv_type == MG_KV_Q8_0 ? MG_TYPE_Q8_0 : MG_TYPE_F16;
    pl->kv_row = mg__row_bytes(pl->kv_type, (int64_t)hp->n_head_kv * hp->head_dim);
    return MG_OK;
}
/* Ring size of layer il: global layers keep every position, local ones window + chunk (a chunk's queries
   reach back one window from its first position). */
static int mg__ring(const mg_model *m, const mg__splan *pl, int il) {
    int ring = m->hp.swa + pl->chunk;
    return m->layer[il].global || ring > pl->n_ctx ? pl->n_ctx : ring;
}
#ifndef MG_REFERENCE
/* Tokens per attention tile (mg__attention): MG__KQ_ROWS query rows of one KV head, at least one token. */
static int mg__attn_tile_tokens(const mg__hparams *hp) {
    int group = hp->n_head / hp->n_head_kv;
    return group < MG__KQ_ROWS ? MG__KQ_ROWS / group : 1;
}
/* Floats of one thread's attention work, in 16-float pieces: rows Rp = tile rows rounded up to even;
   queries [Rp][hd], outputs O [Rp][hd], scores/probabilities [Rp][KB], m, l, alpha [Rp], keys, values [KB][hd],
   the rows' first and last positions [Rp] (ints). None without a decoder (a vision file alone). */
static size_t mg__attn_work_floats(const mg__hparams *hp) {
    size_t rows, rp, r16, hd16 = ((size_t)hp->head_dim + 15) & ~(size_t)15;
    if (!hp->n_head_kv) return 0;
    rows = (size_t)mg__attn_tile_tokens(hp) * (size_t)(hp->n_head / hp->n_head_kv);
    rp = rows + (rows & 1); r16 = (rp + 15) & ~(size_t)15;
    return 2 * rp * hd16 + rp * MG__KQ_KB + 5 * r16 + 2 * (size_t)MG__KQ_KB * hd16;
}
#endif
static void *mg__carve(uint8_t *base, size_t *off, size_t count, size_t size) {
    void *p = base ? base + *off : NULL;
    *off += (count * size + 63) & ~(size_t)63;          /* 64-byte aligned pieces */
    return p;
}
/* The per-chunk buffers, carved from one block: returns its size; with s, points s's buffers into s->scratch.
     x, t [chunk][n_embd]; xn, xq [chunk][max(n_embd, n_ff, q width)] floats; q, att [chunk][n_head*head_dim];
     k, v [chunk][n_head_kv*head_dim]; g, u [chunk][n_ff]; rope [chunk][head_dim]; logits, sampler [n_vocab];
     attention tiles [n_threads][mg__attn_work_floats] */
static size_t mg__scratch(const mg__hparams *hp, const mg__splan *pl, mg_session *s) {
    size_t C = (size_t)pl->chunk, qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    size_t maxin = (size_t)hp->n_embd, off = 0, V = (size_t)hp->n_vocab, F = (size_t)hp->n_ff, E = (size_t)hp->n_embd;
    uint8_t *b = s ? s->scratch : NULL;
    float *f[14];
    if (F > maxin) maxin = F;
    if (qd > maxin) maxin = qd;
    f[0] = (float *)mg__carve(b, &off, C * E, 4);        f[1] = (float *)mg__carve(b, &off, C * maxin, 4);
    f[2] = (float *)mg__carve(b, &off, C * qd, 4);       f[3] = (float *)mg__carve(b, &off, C * kvd, 4);
    f[4] = (float *)mg__carve(b, &off, C * kvd, 4);      f[5] = (float *)mg__carve(b, &off, C * qd, 4);
    f[6] = (float *)mg__carve(b, &off, C * E, 4);        f[7] = (float *)mg__carve(b, &off, C * F, 4);
    f[8] = (float *)mg__carve(b, &off, C * F, 4);        f[9] = (float *)mg__carve(b, &off, C * maxin, 4);
    f[10] = (float *)mg__carve(b, &off, C * (size_t)hp->head_dim, 4);
    f[11] = (float *)mg__carve(b, &off, V, 4);           f[12] = (float *)mg__carve(b, &off, V, 4);
    if (s) {
        s->x = f[0]; s->xn = f[1]; s->q = f[2]; s->k = f[3]; s->v = f[4]; s->att = f[5]; s->t = f[6];
        s->g = f[7]; s->u = f[8]; s->xq = (uint8_t *)f[9]; s->rope = f[10]; s->logits = f[11];
        s->sample_p = f[12]; s->sample_ids = (int32_t *)mg__carve(b, &off, V, 4);
    } else mg__carve(NULL, &off, V, 4);
#ifdef MG_REFERENCE
    f[13] = (float *)mg__carve(b, &off, (size_t)pl->n_ctx + 2 * (size_t)hp->head_dim, 4);   /* mg__attention_ref */
#else
    f[13] = (float *)mg__carve(b, &off, (size_t)pl->n_threads * mg__attn_work_floats(hp), 4);
#endif
    if (s) s->attw = f[13];
    return off;
}
/* Slots a cache holding `have` grows to for `need` positions (ring cap): doubling from 256, or exact. */
static int mg__kv_grow_to(int have, int need, int cap_max, int exact) {
    int cap = have ? have : 256;
    if (need > cap_max) need = cap_max;
    if (need <= have) return have;
    if (exact) return need;
    while (cap < need) cap = cap > cap_max / 2 ? cap_max : cap * 2;
    return cap > cap_max ? cap_max : cap;
}
MGDEF mg_result mg_session_memory_estimate(const mg_model *m, const mg_session_options *opt, int n_pos,
                                           mg_memory_estimate *out, mg_error *err) {
    mg_session_options o;
    mg__splan pl;
    mg_result r;
    int il;
    if (!m || !out || n_pos < 0) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_session_memory_estimate: a NULL model or output, or n_pos < 0");
    memset(out, 0, sizeof *out);
    if (!m->has_weights) return mg__fail(err, MG_ERR_STATE, "this model has no text decoder (a vision or vocabulary file alone)");
    memset(&o, 0, sizeof o);
    if (opt) o = *opt;
    if ((r = mg__session_plan(m, &o, &pl, err)) != MG_OK) return r;
    if (n_pos > pl.n_ctx) n_pos = pl.n_ctx;
    for (il = 0; il < m->hp.n_layer && n_pos > 0; il++) {
        int slots = mg__kv_grow_to(0, n_pos, mg__ring(m, &pl, il), 1);
        out->kv += 2 * (size_t)slots * pl.kv_row;
    }
    out->scratch = mg__scratch(&m->hp, &pl, NULL);
    out->history = (size_t)n_pos * sizeof(int32_t);
    out->total = out->kv + out->scratch + out->history + sizeof(mg_session) +
                 (size_t)m->hp.n_layer * sizeof(mg__kvcache) + mg__pool_bytes(pl.n_threads);
    return MG_OK;
}
MGDEF mg_result mg_session_new(mg_session **out, const mg_model *m, const mg_session_options *opt, mg_error *err) {
    mg_session *s;
    mg__splan pl;
    int il;
    mg_result r;
    if (!out || !m) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_session_new: a NULL model or output");
    *out = NULL;
    if (!m->has_weights && !m->vision) return mg__fail(err, MG_ERR_STATE, "session: a vocabulary-only model has nothing to run");
    if (!(s = (mg_session *)mg__calloc(1, sizeof *s))) return mg__fail(err, MG_ERR_NOMEM, "session: out of memory");
    s->m = m;
    if (opt) s->opt = *opt;
    if ((r = mg__session_plan(m, &s->opt, &pl, err)) != MG_OK) { MG_FREE(s); return r; }
    s->n_ctx = pl.n_ctx;
    s->chunk = pl.chunk;
    s->kv_type = pl.kv_type;
    s->kv_row = pl.kv_row;
    mg_session_seed(s, s->opt.seed);
    s->kv = (mg__kvcache *)mg__calloc((size_t)m->hp.n_layer, sizeof(mg__kvcache));
    s->scratch = (uint8_t *)mg__calloc(mg__scratch(&m->hp, &pl, NULL), 1);
    if (!s->kv || !s->scratch) {
        mg_session_free(s);
        return mg__fail(err, MG_ERR_NOMEM, "session: out of memory for %llu bytes of scratch", (unsigned long long)mg__scratch(&m->hp, &pl, NULL));
    }
    mg__scratch(&m->hp, &pl, s);
    for (il = 0; il < m->hp.n_layer; il++) s->kv[il].cap_max = mg__ring(m, &pl, il);
    if ((r = mg__pool_start(&s->pool, pl.n_threads)) != MG_OK) {
        mg_session_free(s);
        return mg__fail(err, r, "session: cannot start %d threads (%s)", pl.n_threads, r == MG_ERR_NOMEM ? "out of memory" : "pthread_create failed");
    }
    *out = s;
    return MG_OK;
}
MGDEF void mg_session_reset(mg_session *s) { if (s) { s->pos = 0; s->has_logits = 0; } }
MGDEF int mg_session_pos(const mg_session *s) { return s ? s->pos : 0; }
MGDEF const char *mg_session_error(const mg_session *s) { return s ? s->err : "no session"; }
MGDEF int mg_session_vision_bf16(const mg_session *s) { return s ? mg__vision_bf16(&s->opt) : 0; }
MGDEF const float *mg_logits(const mg_session *s) { return s && s->has_logits ? s->logits : NULL; }
/* Makes room for positions up to pos_end (exclusive) in every layer's cache and the token history: doubling
   as a prompt grows, exactly when reserving. */
static mg_result mg__kv_reserve(mg_session *s, int pos_end, int exact) {
    const mg__hparams *hp = &s->m->hp;
    size_t row = s->kv_row;
    int il;
    for (il = 0; il < hp->n_layer; il++) {
        mg__kvcache *c = &s->kv[il];
        int cap = mg__kv_grow_to(c->cap, pos_end, c->cap_max, exact);
        if (cap > c->cap) {
            uint8_t *k, *v;
            k = (uint8_t *)MG_REALLOC(c->k, (size_t)cap * row);
            if (!k) return mg__sfail(s, MG_ERR_NOMEM, "out of memory growing the KV cache to %d positions", cap);
            c->k = k;
            v = (uint8_t *)MG_REALLOC(c->v, (size_t)cap * row);
            if (!v) return mg__sfail(s, MG_ERR_NOMEM, "out of memory growing the KV cache to %d positions", cap);
            c->v = v;
            if (exact) {                          /* touch it now: an overcommitting OS fails here, not mid-prompt */
                memset(k + (size_t)c->cap * row, 0, (size_t)(cap - c->cap) * row);
                memset(v + (size_t)c->cap * row, 0, (size_t)(cap - c->cap) * row);
            }
            c->cap = cap;
        }
    }
    if (exact && pos_end > s->hist_cap) {          /* reserving: exactly pos_end ids (feeding: mg__grow doubles) */
        int32_t *h = (int32_t *)MG_REALLOC(s->hist, (size_t)pos_end * sizeof(int32_t));
        if (!h) return mg__sfail(s, MG_ERR_NOMEM, "out of memory for the token history");
        s->hist = h;
        s->hist_cap = pos_end;
    }
    if (!mg__grow((void **)&s->hist, &s->hist_cap, pos_end, sizeof(int32_t)))
        return mg__sfail(s, MG_ERR_NOMEM, "out of memory for the token history");
    return MG_OK;
}
MGDEF mg_result mg_session_reserve(mg_session *s, int n_pos) {
    if (!s || n_pos < 0) return MG_ERR_INVALID_ARG;
    if (n_pos > s->n_ctx) return mg__sfail(s, MG_ERR_CONTEXT_FULL, "%d positions exceed n_ctx %d", n_pos, s->n_ctx);
    if (!s->m->has_weights) return mg__sfail(s, MG_ERR_STATE, "this model has no text decoder (a vision file alone)");
    return n_pos ? mg__kv_reserve(s, n_pos, 1) : MG_OK;
}
MGDEF size_t mg_session_kv_bytes(const mg_session *s) {
    size_t n = 0;
    int il;
    if (!s || !s->kv) return 0;
    for (il = 0; il < s->m->hp.n_layer; il++) n += 2 * (size_t)s->kv[il].cap * s->kv_row;
    return n;
}

/* ----- attention -----
   Each query head h of token t (position p) reads KV head g = h / (n_head / n_head_kv) over the positions
   [lo, hi]: lo = 0 (global layers) or p - window + 1 (local layers), hi = p, or the end of the chunk when the
   chunk is one bidirectional block (an image's tokens see each other):
     s_j = q . k_j  (q carries 1/sqrt(head_dim)),   p_j = exp(s_j - max s) / sum_i exp(s_i - max s),   out = sum_j p_j v_j
   q is first rounded to the cache type's partner format, as ggml does (f16 for an F16 cache, Q8_0 blocks for Q8_0). */
typedef struct mg__attn_args {
    const float *q;          /* [n][n_head * hd] the chunk's queries */
    float *out;              /* [n][n_head * hd] */
    const uint8_t *k, *v;    /* the layer's cache: position p at slot p % ring, kv_row bytes per slot, [n_head_kv][hd] */
    int ring;
    size_t kv_row;
    int kv_type;             /* MG_TYPE_F32, F16 or Q8_0 */
    int n_head, n_head_kv, hd;
    int n, pos0;             /* chunk tokens, position of the first */
    int window;              /* local layers: the sliding window; 0 for global layers */
    int bidir;               /* 1: the chunk is one bidirectional block */
} mg__attn_args;

/* Positions chunk token t attends to: [*lo, *hi]. */
static void mg__attn_span(const mg__attn_args *a, int t, int *lo, int *hi) {
    int p = a->pos0 + t;
    *hi = a->bidir ? a->pos0 + a->n - 1 : p;
    *lo = !a->window || p - a->window + 1 < 0 ? 0 : p - a->window + 1;
}

/* The plain form (MG_REFERENCE), as written above; work holds ring + 2 head_dim floats. */
MG__REF void mg__attention_ref(const mg__attn_args *a, float *work) {
    int grp = a->n_head / a->n_head_kv, hd = a->hd, t, h, j, c, lo, hi;
    size_t qd = (size_t)a->n_head * hd, head = mg__row_bytes(a->kv_type, hd);
    float *q = work, *row = work + hd, *s = work + 2 * hd;
    uint8_t qc[4096 * 4];
    for (t = 0; t < a->n; t++) {
        mg__attn_span(a, t, &lo, &hi);
        for (h = 0; h < a->n_head; h++) {
            const uint8_t *kc = a->k + (size_t)(h / grp) * head, *vc = a->v + (size_t)(h / grp) * head;
            float *o = a->out + (size_t)t * qd + (size_t)h * hd, mx = -INFINITY, sum = 0;
            mg__quant_row(a->kv_type, a->q + (size_t)t * qd + (size_t)h * hd, qc, hd);
            mg__dequant_row(a->kv_type, qc, q, hd);
            for (j = lo; j <= hi; j++) {                               /* s_j = q . k_j */
                float acc = 0;
                mg__dequant_row(a->kv_type, kc + (size_t)(j % a->ring) * a->kv_row, row, hd);
                for (c = 0; c < hd; c++) acc += q[c] * row[c];
                s[j - lo] = acc;
                mx = acc > mx ? acc : mx;
            }
            for (j = lo; j <= hi; j++) { s[j - lo] = expf(s[j - lo] - mx); sum += s[j - lo]; }
            for (c = 0; c < hd; c++) o[c] = 0;
            for (j = lo; j <= hi; j++) {                               /* out = sum_j p_j v_j */
                mg__dequant_row(a->kv_type, vc + (size_t)(j % a->ring) * a->kv_row, row, hd);
                for (c = 0; c < hd; c++) o[c] += s[j - lo] * row[c];
            }
            for (c = 0; c < hd; c++) o[c] /= sum;
        }
    }
}

/* The blocked form. A work item is one KV head g and a tile of consecutive chunk tokens (mg__attn_tile_tokens);
   its rows are those tokens' query heads that read head g (token-major), each q in the partner format held as
   floats. Keys come in blocks of absolute positions [64 b, 64 b + 64) over the union of the rows' ranges; a
   block's K and V rows are converted to floats once and serve every row (mg__attn_block: an online softmax,
   m' = max(m, max_j s_j), alpha = exp(m - m'), l' = alpha l + sum_j e_j, O' = alpha O + sum_j e_j v_j), and
   out = O / l after the last block. A row's floats do not depend on the other rows of its tile: each sum has one
   fixed order, a block outside the row's range leaves it as it was (alpha = 1, e = 0) and keys outside every
   range are zero rows, so results are the same for any thread count, chunk size or token-by-token feed. */
#ifndef MG_REFERENCE
/* K and V rows [KB][hd] of head g for positions [b0, b0 + KB); positions outside [ulo, uhi] give zero rows. */
static void mg__attn_load(const mg__attn_args *a, int g, int b0, int ulo, int uhi, float *kb, float *vb) {
    int hd = a->hd, i;
    size_t off = (size_t)g * mg__row_bytes(a->kv_type, hd);
    for (i = 0; i < MG__KQ_KB; i++) {
        int p = b0 + i;
        float *kr = kb + (size_t)i * hd, *vr = vb + (size_t)i * hd;
        if (p < ulo || p > uhi) { memset(kr, 0, (size_t)hd * sizeof(float)); memset(vr, 0, (size_t)hd * sizeof(float)); continue; }
        mg__kv_row_f32(a->kv_type, a->k + (size_t)(p % a->ring) * a->kv_row + off, kr, hd);
        mg__kv_row_f32(a->kv_type, a->v + (size_t)(p % a->ring) * a->kv_row + off, vr, hd);
    }
}

/* Work item: KV head g, chunk tokens [t0, t0 + nt) (tq per tile), in one thread's work area. */
static void mg__attn_item(const mg__attn_args *a, float *work, int tq, int t0, int g) {
    int hd = a->hd, grp = a->n_head / a->n_head_kv, kt = a->kv_type;
    int nt = a->n - t0 < tq ? a->n - t0 : tq, R = nt * grp, rp = R + (R & 1), r, i, b0;
    size_t qd = (size_t)a->n_head * hd, rmax = (size_t)tq * grp, hd16 = ((size_t)hd + 15) & ~(size_t)15;
    size_t rpm = rmax + (rmax & 1), r16 = (rpm + 15) & ~(size_t)15, off = (size_t)g * mg__row_bytes(kt, hd);
    float *qt = work, *o = qt + rpm * hd16, *sc = o + rpm * hd16;
    float *m = sc + rpm * MG__KQ_KB, *l = m + r16, *al = l + r16, *kb = al + r16, *vb = kb + (size_t)MG__KQ_KB * hd16;
    int *lo = (int *)(vb + (size_t)MG__KQ_KB * hd16), *hi = lo + r16;   /* each row's positions [lo, hi] */
    uint8_t qc[4096 * 4];                                   /* one q in the partner format */
    for (r = 0; r < rp; r++) {                              /* rows; an odd count gets a copy of the last */
        int rr = r < R ? r : R - 1;
        mg__quant_row(kt, a->q + (size_t)(t0 + rr / grp) * qd + (size_t)(g * grp + rr % grp) * hd, qc, hd);
        mg__dequant_row(kt, qc, qt + (size_t)r * hd, hd);
        mg__attn_span(a, t0 + rr / grp, &lo[r], &hi[r]);
        m[r] = -INFINITY; l[r] = 0;
    }
    memset(o, 0, (size_t)rp * hd * sizeof(float));
    /* blocks over the tile's positions [lo[0], hi[rp - 1]]; rows' lo and hi grow with r */
    for (b0 = lo[0] / MG__KQ_KB * MG__KQ_KB; b0 <= hi[rp - 1]; b0 += MG__KQ_KB) {
        if (kt == MG_TYPE_F16 && rp == 2 &&                 /* one token (decode): F16 rows read in place */
            mg__attn_block_f16(qt, hd, b0, lo, hi, a->k + off, a->v + off, a->ring, a->kv_row, sc, m, l, al, o))
            continue;
        mg__attn_load(a, g, b0, lo[0], hi[rp - 1], kb, vb);
        mg__attn_block(qt, rp, hd, b0, lo, hi, kb, vb, sc, m, l, al, o);
    }
    for (r = 0; r < R; r++) {                               /* out = O / l */
        float inv = 1.0f / l[r], *out = a->out + (size_t)(t0 + r / grp) * qd + (size_t)(g * grp + r % grp) * hd;
        for (i = 0; i < hd; i++) out[i] = o[(size_t)r * hd + i] * inv;
    }
}

typedef struct mg__attn_job {
    const mg__attn_args *a;
    float *work;             /* [threads][wf] */
    size_t wf;
    int tq, ntile;           /* tokens per tile, tiles */
    int next;                /* next item to take (atomic) */
} mg__attn_job;

/* Items are (tile, KV head), latest tiles (the most keys) first; threads take them from a shared counter.
   Without atomics, thread ith takes items ith, ith + nth, ... */
static void mg__attn_task(void *ctx, int ith, int nth) {
    mg__attn_job *j = (mg__attn_job *)ctx;
    int nkv = j->a->n_head_kv, total = j->ntile * nkv, it;
#ifdef MG__SPIN
    (void)nth;
    while ((it = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < total)
#else
    for (it = ith; it < total; it += nth)
#endif
        mg__attn_item(j->a, j->work + (size_t)ith * j->wf, j->tq, (j->ntile - 1 - it / nkv) * j->tq, it % nkv);
}
#endif

/* s->att = attention of the chunk's n queries (s->q) over layer il's cache, positions pos0.. */
static void mg__attention(mg_session *s, int il, int n, int pos0, int bidir) {
    const mg__hparams *hp = &s->m->hp;
    mg__attn_args a;
    a.q = s->q; a.out = s->att; a.k = s->kv[il].k; a.v = s->kv[il].v; a.ring = s->kv[il].cap_max;
    a.kv_row = s->kv_row; a.kv_type = s->kv_type;
    a.n_head = hp->n_head; a.n_head_kv = hp->n_head_kv; a.hd = hp->head_dim;
    a.n = n; a.pos0 = pos0; a.window = s->m->layer[il].global ? 0 : hp->swa; a.bidir = bidir;
#ifdef MG_REFERENCE
    mg__attention_ref(&a, s->attw);
#else
    {
        mg__attn_job j;
        j.a = &a; j.work = s->attw; j.wf = mg__attn_work_floats(hp); j.next = 0;
        j.tq = mg__attn_tile_tokens(hp);
        j.ntile = (n + j.tq - 1) / j.tq;
        mg__pool_run(&s->pool, mg__attn_task, &j);
    }
#endif
}

/* ----- one decoder layer over a chunk of n tokens at positions pos0.. ----- */
/* Y = X W^T for n rows of X, on the pool. */
static void mg__matmul(mg_session *s, const mg__mat *w, const float *x, int n, float *y) {
    mg__linear(&s->pool, s->xq, w, NULL, x, n, y);
}
/* Y_i = X W_i^T for two or three matrices reading the same X (one conversion of X, one job). */
static void mg__matmul3(mg_session *s, const mg__mat *w0, float *y0, const mg__mat *w1, float *y1, const mg__mat *w2, float *y2,
                        const float *x, int n) {
    const mg__mat *w[3];
    float *y[3];
    w[0] = w0; w[1] = w1; w[2] = w2; y[0] = y0; y[1] = y1; y[2] = y2;
    mg__linear_n(&s->pool, s->xq, w, y, w2 ? 3 : 2, x, n);
}
/* The per-token steps between the matrix products, in order. Each reads and writes only token t's rows (and
   its own KV cache slot: the ring holds more than a chunk), so the tokens of a chunk are split across threads
   and every value is computed by the same code whatever the split. */
enum { MG__ST_ATTN_NORM, MG__ST_QK_NORM, MG__ST_ROPE, MG__ST_KV, MG__ST_POST_ATTN_NORM, MG__ST_ATTN_ADD, MG__ST_FFN_NORM,
       MG__ST_GEGLU, MG__ST_POST_FFN_NORM, MG__ST_FFN_ADD };
typedef struct mg__step_job {
    mg_session *s;
    int il, n, pos0;
    int first, last;         /* steps to run, in order, for each token */
} mg__step_job;
static void mg__layer_step(mg_session *s, int il, int step, int t, int pos) {
    const mg__hparams *hp = &s->m->hp;
    const mg__layer *L = &s->m->layer[il];
    int E = hp->n_embd, hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv, F = hp->n_ff, h, i;
    size_t qd = (size_t)nh * hd, kvd = (size_t)nkv * hd;
    float *x = s->x + (size_t)t * E, *xn = s->xn + (size_t)t * E, *tt = s->t + (size_t)t * E;
    float *q = s->q + t * qd, *k = s->k + t * kvd;
    switch (step) {
    case MG__ST_ATTN_NORM: mg__rmsnorm(xn, x, L->attn_norm, E, hp->eps); break;
    case MG__ST_QK_NORM:                          /* per-head RMSNorm of q and k (QK-norm) */
        for (h = 0; h < nh; h++) mg__rmsnorm(q + (size_t)h * hd, q + (size_t)h * hd, L->q_norm, hd, hp->eps);
        for (h = 0; h < nkv; h++) mg__rmsnorm(k + (size_t)h * hd, k + (size_t)h * hd, L->k_norm, hd, hp->eps);
        break;
    case MG__ST_ROPE: {                           /* RoPE at position pos */
        float *cs = s->rope + (size_t)t * hd;
        mg__rope_cache(cs, hd, pos, L->global ? hp->rope_base : hp->rope_base_swa, L->global ? hp->rope_scale : 1.0f);
        for (h = 0; h < nh; h++) mg__rope(q + (size_t)h * hd, cs, hd);
        for (h = 0; h < nkv; h++) mg__rope(k + (size_t)h * hd, cs, hd);
        break;
    }
    case MG__ST_KV: {                             /* q scaled; k, v appended at slot pos % ring, in the cache type */
        const mg__kvcache *c = &s->kv[il];
        size_t slot = (size_t)(pos % c->cap_max) * s->kv_row;
        float qscale = 1.0f / sqrtf((float)hd);
        for (i = 0; i < (int)qd; i++) q[i] *= qscale;
        mg__quant_row(s->kv_type, k, c->k + slot, (int64_t)kvd);
        mg__quant_row(s->kv_type, s->v + t * kvd, c->v + slot, (int64_t)kvd);
        break;
    }
    case MG__ST_POST_ATTN_NORM: mg__rmsnorm(tt, tt, L->post_attn_norm, E, hp->eps); break;
    case MG__ST_FFN_NORM: mg__rmsnorm(xn, x, L->ffn_norm, E, hp->eps); break;
    case MG__ST_GEGLU: mg__geglu(s->g + (size_t)t * F, s->u + (size_t)t * F, F, s->m->gelu); break;
    case MG__ST_POST_FFN_NORM: mg__rmsnorm(tt, tt, L->post_ffn_norm, E, hp->eps); break;
    default: for (i = 0; i < E; i++) x[i] += tt[i]; break;   /* MG__ST_ATTN_ADD, MG__ST_FFN_ADD */
    }
}
static void mg__step_task(void *ctx, int ith, int nth) {
    const mg__step_job *j = (const mg__step_job *)ctx;
    int64_t lo, hi, t;
    int st;
    mg__split(j->n, ith, nth, &lo, &hi);
    for (t = lo; t < hi; t++)
        for (st = j->first; st <= j->last; st++) mg__layer_step(j->s, j->il, st, (int)t, j->pos0 + (int)t);
}
/* What the trace sees after each step. */
static void mg__step_tap(mg_session *s, int il, int n, int step) {
    const mg__hparams *hp = &s->m->hp;
    int E = hp->n_embd, hd = hp->head_dim;
    switch (step) {
    case MG__ST_ATTN_NORM: mg__tap(&s->opt, "attn_norm", il, s->xn, E, n, 1); break;
    case MG__ST_QK_NORM: mg__tap(&s->opt, "Qcur_normed", il, s->q, hd, hp->n_head, n); mg__tap(&s->opt, "Kcur_normed", il, s->k, hd, hp->n_head_kv, n); break;
    case MG__ST_ROPE:
        mg__tap(&s->opt, "Qcur", il, s->q, hd, hp->n_head, n);
        mg__tap(&s->opt, "Kcur", il, s->k, hd, hp->n_head_kv, n);
        mg__tap(&s->opt, "Vcur", il, s->v, (int64_t)hp->n_head_kv * hd, n, 1);
        break;
    case MG__ST_POST_ATTN_NORM: mg__tap(&s->opt, "attn_post_norm", il, s->t, E, n, 1); break;
    case MG__ST_ATTN_ADD: mg__tap(&s->opt, "sa_out", il, s->x, E, n, 1); break;
    case MG__ST_FFN_NORM: mg__tap(&s->opt, "ffn_norm", il, s->xn, E, n, 1); break;
    case MG__ST_GEGLU: mg__tap(&s->opt, "ffn_geglu", il, s->g, hp->n_ff, n, 1); break;
    case MG__ST_POST_FFN_NORM: mg__tap(&s->opt, "ffn_post_norm", il, s->t, E, n, 1); break;
    case MG__ST_FFN_ADD: mg__tap(&s->opt, "l_out", il, s->x, E, n, 1); break;
    default: break;
    }
}
/* Steps first..last for every token (across the pool from 4 tokens on); with a trace, one step at a time. */
static void mg__layer_steps(mg_session *s, int il, int n, int pos0, int first, int last) {
    mg__step_job j;
    j.s = s; j.il = il; j.n = n; j.pos0 = pos0; j.first = first; j.last = last;
    if (s->opt.tap)
        for (j.first = first; j.first <= last; j.first++) {
            j.last = j.first;
            if (n >= 4) mg__pool_run(&s->pool, mg__step_task, &j);
            else mg__step_task(&j, 0, 1);
            mg__step_tap(s, il, n, j.first);
        }
    else if (n >= 4) mg__pool_run(&s->pool, mg__step_task, &j);
    else mg__step_task(&j, 0, 1);
}
/* Layer il over the chunk (the equations in the >>Gemma 3 banner). */
static void mg__decoder_layer(mg_session *s, int il, int n, int pos0, int bidir) {
    const mg__layer *L = &s->m->layer[il];
    const mg__hparams *hp = &s->m->hp;

    /* attention block: x = x + post_attn_norm(Wo attn(rope(qnorm(Wq xn)), rope(knorm(Wk xn)), Wv xn)),
       xn = attn_norm(x) */
    mg__layer_steps(s, il, n, pos0, MG__ST_ATTN_NORM, MG__ST_ATTN_NORM);
    mg__matmul3(s, &L->wq, s->q, &L->wk, s->k, &L->wv, s->v, s->xn, n);     /* q = Wq xn, k = Wk xn, v = Wv xn */
    mg__layer_steps(s, il, n, pos0, MG__ST_QK_NORM, MG__ST_KV);
    mg__attention(s, il, n, pos0, bidir);
    mg__tap(&s->opt, "kqv_out", il, s->att, (int64_t)hp->n_head * hp->head_dim, n, 1);
    mg__matmul(s, &L->wo, s->att, n, s->t);
    /* ... then the feed-forward block: x = x + post_ffn_norm(Wdown (gelu(Wgate xn) * Wup xn)), xn = ffn_norm(x) */
    mg__layer_steps(s, il, n, pos0, MG__ST_POST_ATTN_NORM, MG__ST_FFN_NORM);
    mg__matmul3(s, &L->gate, s->g, &L->up, s->u, NULL, NULL, s->xn, n);      /* g = Wgate xn, u = Wup xn */
    mg__layer_steps(s, il, n, pos0, MG__ST_GEGLU, MG__ST_GEGLU);
    mg__matmul(s, &L->down, s->g, n, s->t);
    mg__tap(&s->opt, "ffn_out", il, s->t, hp->n_embd, n, 1);
    mg__layer_steps(s, il, n, pos0, MG__ST_POST_FFN_NORM, MG__ST_FFN_ADD);
}
/* The first NaN or Inf among n floats (its index), or -1. */
static int64_t mg__nonfinite(const float *x, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) if (!isfinite(x[i])) return i;
    return -1;
}

/* One chunk through the decoder. ids (text) or embd (raw vectors) gives the input; logits of the last
   position are computed when want_logits. A layer whose output holds NaN or Inf stops the chunk (the session
   keeps its positions): sampling from such logits would be an answer from nothing. */
static mg_result mg__decoder_forward(mg_session *s, const int32_t *ids, const float *embd, int n, int bidir, int want_logits,
                                     float *all_logits) {
    const mg_model *m = s->m;
    const mg__hparams *hp = &m->hp;
    int E = hp->n_embd, t, il;
    mg_result r;
    if ((r = mg__kv_reserve(s, s->pos + n, 0)) != MG_OK) return r;
    if (ids) {                                    /* x = token_embd[id] * sqrt(n_embd) */
        float scale = sqrtf((float)E);
        for (t = 0; t < n; t++) {
            if (ids[t] < 0 || ids[t] >= hp->n_vocab) return mg__sfail(s, MG_ERR_INVALID_ARG, "token id %d out of range", ids[t]);
            mg__dequant_row(m->tok_embd.type, mg__mat_row(&m->tok_embd, ids[t], s->xq), s->x + (size_t)t * E, E);   /* xq: free here */
        }
        mg__tap(&s->opt, "embd", -1, s->x, E, n, 1);
        for (t = 0; t < n * E; t++) s->x[t] *= scale;
        mg__tap(&s->opt, "inp_scaled", -1, s->x, E, n, 1);
    } else {                                      /* x = given embeddings, unscaled */
        memcpy(s->x, embd, (size_t)n * E * sizeof(float));
        mg__tap(&s->opt, "embd", -1, s->x, E, n, 1);
    }
    for (t = 0; t < n; t++) s->hist[s->pos + t] = ids ? ids[t] : -1;
    for (il = 0; il < hp->n_layer; il++) {
        int64_t bad;
        mg__decoder_layer(s, il, n, s->pos, bidir);
        if ((bad = mg__nonfinite(s->x, (int64_t)n * E)) >= 0)
            return mg__sfail(s, MG_ERR_NUMERIC, "decoder layer %d produced %g at position %d (value %d of %d): the model file or its "
                             "input is broken", il, s->x[bad], s->pos + (int)(bad / E), (int)(bad % E), E);
    }
    s->pos += n;
    s->has_logits = 0;
    if (want_logits) {                            /* logits = output_norm(x) W_out^T: the last position, or every one */
        int first = all_logits ? 0 : n - 1, rows = n - first;
        float *dst = all_logits ? all_logits : s->logits;
        size_t V = (size_t)hp->n_vocab;
        for (t = 0; t < rows; t++) mg__rmsnorm(s->xn + (size_t)t * E, s->x + (size_t)(first + t) * E, m->output_norm, E, hp->eps);
        mg__tap(&s->opt, "result_norm", -1, s->xn, E, rows, 1);
        mg__matmul(s, &m->output, s->xn, rows, dst);
        if (all_logits) memcpy(s->logits, dst + (size_t)(rows - 1) * V, V * sizeof(float));
        mg__tap(&s->opt, "result_output", -1, s->logits, hp->n_vocab, 1, 1);
        if (mg__nonfinite(dst, (int64_t)rows * (int64_t)V) >= 0)
            return mg__sfail(s, MG_ERR_NUMERIC, "the output projection produced NaN or Inf logits at position %d", s->pos - 1);
        s->has_logits = 1;
    }
    return MG_OK;
}
/* Reports progress: of this feed, or of the whole prompt when mg_eval_prompt_from is feeding one. Nonzero: cancel. */
static int mg__progress(mg_session *s, int done, int n) {
    if (!s->opt.progress) return 0;
    return s->prompt_total ? s->opt.progress(s->opt.progress_user, s->prompt_done + done, s->prompt_total)
                           : s->opt.progress(s->opt.progress_user, done, n);
}
/* Feeds n inputs in chunks; bidirectional inputs go as one block. */
static mg_result mg__feed(mg_session *s, const int32_t *ids, const float *embd, int n, int bidir) {
    int done = 0;
    mg_result r;
    if (!s || n < 0 || (!ids && !embd && n > 0)) return MG_ERR_INVALID_ARG;
    s->err[0] = 0;
    if (!s->m->has_weights) return mg__sfail(s, MG_ERR_STATE, "this model has no text decoder (a vision file alone)");
    if (n == 0) return MG_OK;
    if (n > s->n_ctx - s->pos)
        return mg__sfail(s, MG_ERR_CONTEXT_FULL, "%d positions do not fit: %d of %d are used", n, s->pos, s->n_ctx);
    if (bidir && n > s->chunk)
        return mg__sfail(s, MG_ERR_LIMIT, "a bidirectional block of %d exceeds the chunk size %d", n, s->chunk);
    while (done < n) {
        int k = n - done < s->chunk ? n - done : s->chunk;
        r = mg__decoder_forward(s, ids ? ids + done : NULL, embd ? embd + (size_t)done * s->m->hp.n_embd : NULL, k, bidir,
                                done + k == n, NULL);
        if (r != MG_OK) return r;
        done += k;
        if (done < n && mg__progress(s, done, n))
            return mg__sfail(s, MG_ERR_CANCELLED, "cancelled after %d of %d positions", done, n);
    }
    return MG_OK;
}
MGDEF mg_result mg_eval(mg_session *s, const int32_t *ids, int n) { return mg__feed(s, ids, NULL, n, 0); }
MGDEF mg_result mg_eval_embd(mg_session *s, const float *embd, int n, int bidirectional) {
    return mg__feed(s, NULL, embd, n, bidirectional);
}
static mg_result mg__eval_runs(mg_session *s, const mg_prompt *p, int from) {
    int i = 0, img = 0, per = s->m->image_tokens ? s->m->image_tokens : 256;
    mg_result r;
    while (i < p->n_ids) {
        int j = i;
        if (p->ids[i] == s->m->tok_image_soft && s->m->tok_image_soft >= 0) {
            const mg_image_embd *e;
            while (j < p->n_ids && p->ids[j] == s->m->tok_image_soft) j++;
            if (j - i != per) return mg__sfail(s, MG_ERR_INVALID_ARG, "image placeholder run of %d tokens (expected %d)", j - i, per);
            if (img >= p->n_images || !(e = p->images[img]) || !e->data)
                return mg__sfail(s, MG_ERR_INVALID_ARG, "prompt has more image places than images (%d)", p->n_images);
            if (e->n_tokens != per || e->n_embd != s->m->hp.n_embd)
                return mg__sfail(s, MG_ERR_INVALID_ARG, "image %d is %d x %d, expected %d x %d", img, e->n_tokens, e->n_embd,
                                 per, s->m->hp.n_embd);
            if (from > i && from < j) return mg__sfail(s, MG_ERR_INVALID_ARG, "position %d is inside image %d", from, img);
            if (from <= i) {
                if ((r = mg_eval_embd(s, e->data, per, 1)) != MG_OK) return r;
                s->prompt_done += per;
                if (mg__progress(s, 0, 0)) return mg__sfail(s, MG_ERR_CANCELLED, "cancelled after %d positions", s->prompt_done);
            }
            img++;
        } else {
            int k;
            while (j < p->n_ids && p->ids[j] != s->m->tok_image_soft) j++;
            k = from > i ? from : i;
            if (k < j) {
                if ((r = mg_eval(s, p->ids + k, j - k)) != MG_OK) return r;
                s->prompt_done += j - k;
                if (mg__progress(s, 0, 0)) return mg__sfail(s, MG_ERR_CANCELLED, "cancelled after %d positions", s->prompt_done);
            }
        }
        i = j;
    }
    return MG_OK;
}
/* Walks a prompt's runs: text runs go as tokens, each run of image_tokens soft tokens as the next image's
   bidirectional block; positions before `from` are skipped (they are already in the context). */
MGDEF mg_result mg_eval_prompt_from(mg_session *s, const mg_prompt *p, int from) {
    mg_result r;
    if (!s) return MG_ERR_INVALID_ARG;
    if (!p || (p->n_ids > 0 && !p->ids) || p->n_ids < 0 || from < 0 || from > p->n_ids)
        return mg__sfail(s, MG_ERR_INVALID_ARG, "mg_eval_prompt: a NULL or malformed prompt, or from outside 0..n_ids");
    if (p->n_ids - from > s->n_ctx - s->pos)
        return mg__sfail(s, MG_ERR_CONTEXT_FULL, "the prompt's %d positions do not fit the context: %d of its %d positions are used, "
                         "%d free", p->n_ids - from, s->pos, s->n_ctx, s->n_ctx - s->pos);
    s->prompt_done = 0;
    s->prompt_total = p->n_ids - from;
    r = mg__eval_runs(s, p, from);
    s->prompt_total = 0;
    return r;
}
MGDEF mg_result mg_eval_prompt(mg_session *s, const mg_prompt *p) { return mg_eval_prompt_from(s, p, 0); }
/* The image index of each position is the count of soft-token runs before it; two image runs match when
   their embeddings are the same object or hold the same numbers. */
static int mg__same_embd(const mg_image_embd *a, const mg_image_embd *b) {
    if (a == b) return 1;
    if (!a || !b || !a->data || !b->data || a->n_tokens != b->n_tokens || a->n_embd != b->n_embd) return 0;
    return memcmp(a->data, b->data, (size_t)a->n_tokens * (size_t)a->n_embd * sizeof(float)) == 0;
}
MGDEF int mg_prompt_common_prefix(const mg_model *m, const mg_prompt *a, const mg_prompt *b) {
    int i = 0, img = 0, soft;
    if (!m || !a || !b || a->n_ids < 0 || b->n_ids < 0 || (!a->ids && a->n_ids) || (!b->ids && b->n_ids)) return 0;
    soft = m->tok_image_soft;
    while (i < a->n_ids && i < b->n_ids && a->ids[i] == b->ids[i]) {
        if (soft >= 0 && a->ids[i] == soft) {             /* an image run is shared whole or not at all */
            int ja = i, jb = i;
            while (ja < a->n_ids && a->ids[ja] == soft) ja++;
            while (jb < b->n_ids && b->ids[jb] == soft) jb++;
            if (ja != jb || img >= a->n_images || img >= b->n_images || !mg__same_embd(a->images[img], b->images[img]))
                break;
            img++;
            i = ja;
        } else i++;
    }
    return i;
}

/* ===== >>snapshots ================================================================================== */
/* Serialised layout (little-endian), which is also the in-memory form:
     0  "MGSNAPSH"            8  u32 format (1)        12 u32 KV type (MG_TYPE_F32 / F16 / Q8_0)
     16 u8[32] model fingerprint (mg__gguf_fingerprint of the text file)
     48 u32 n_layer, n_head_kv, head_dim, n_vocab, sliding_window, pos, has_logits, 0
     80 u64 sampler RNG state
     88 i32 history[pos]      then f32 logits[n_vocab] when has_logits
     per layer: u32 kept, K rows [kept][row], V rows [kept][row]  (positions pos-kept .. pos-1; kept = pos for
     global layers, min(pos, sliding_window) for local ones; row = n_head_kv*head_dim values of the KV type)
     u64 mg__checksum of every byte before it */
#define MG__SNAP_FORMAT 1
#define MG__SNAP_HEADER 88

struct mg_snapshot {
    uint8_t *bytes;          /* the serialised form */
    size_t size;
    int pos;                 /* positions it holds */
};

static int mg__snap_kept(const mg_model *m, int il, int pos) {
    return m->layer[il].global || pos < m->hp.swa ? pos : m->hp.swa;
}

/* Bytes of a snapshot of pos positions (0 when it would not fit a size_t). */
static size_t mg__snap_size(const mg_model *m, size_t row, int pos, int has_logits) {
    uint64_t n = MG__SNAP_HEADER + 4 * (uint64_t)pos + (has_logits ? 4 * (uint64_t)m->hp.n_vocab : 0) + 8, k;
    int il;
    for (il = 0; il < m->hp.n_layer; il++) {
        if (!mg__mul_ok(2 * (uint64_t)mg__snap_kept(m, il, pos), row, &k)) return 0;
        n += 4 + k;
    }
    return n > (uint64_t)(size_t)-1 ? 0 : (size_t)n;
}

MGDEF mg_result mg_snapshot_take(mg_session *s, mg_snapshot **out) {
    const mg_model *m;
    mg_snapshot *sn;
    uint8_t *b;
    size_t size, o;
    int il, p, i;
    if (!s || !out) return MG_ERR_INVALID_ARG;
    *out = NULL;
    m = s->m;
    if (!m->has_weights) return mg__sfail(s, MG_ERR_STATE, "this model has no text decoder");
    if (!(size = mg__snap_size(m, s->kv_row, s->pos, s->has_logits)))
        return mg__sfail(s, MG_ERR_LIMIT, "a snapshot of %d positions does not fit this machine's %u-bit sizes", s->pos,
                         (unsigned)(sizeof(size_t) * 8));
    if (!(sn = (mg_snapshot *)mg__calloc(1, sizeof *sn)) || !(sn->bytes = (uint8_t *)mg__malloc(size))) {
        MG_FREE(sn);
        return mg__sfail(s, MG_ERR_NOMEM, "out of memory for a snapshot of %zu bytes", size);
    }
    b = sn->bytes; sn->size = size; sn->pos = s->pos;
    memcpy(b, "MGSNAPSH", 8);
    mg__put32(b + 8, MG__SNAP_FORMAT); mg__put32(b + 12, (uint32_t)s->kv_type);
    memcpy(b + 16, m->fingerprint, 32);
    mg__put32(b + 48, (uint32_t)m->hp.n_layer); mg__put32(b + 52, (uint32_t)m->hp.n_head_kv);
    mg__put32(b + 56, (uint32_t)m->hp.head_dim); mg__put32(b + 60, (uint32_t)m->hp.n_vocab);
    mg__put32(b + 64, (uint32_t)m->hp.swa); mg__put32(b + 68, (uint32_t)s->pos);
    mg__put32(b + 72, (uint32_t)s->has_logits); mg__put32(b + 76, 0);
    mg__put64(b + 80, s->rng);
    o = MG__SNAP_HEADER;
    for (i = 0; i < s->pos; i++, o += 4) mg__put32(b + o, (uint32_t)s->hist[i]);
    if (s->has_logits) for (i = 0; i < m->hp.n_vocab; i++, o += 4) { uint32_t u; memcpy(&u, &s->logits[i], 4); mg__put32(b + o, u); }
    for (il = 0; il < m->hp.n_layer; il++) {
        const mg__kvcache *c = &s->kv[il];
        int kept = mg__snap_kept(m, il, s->pos);
        mg__put32(b + o, (uint32_t)kept); o += 4;
        for (p = s->pos - kept; p < s->pos; p++, o += s->kv_row) memcpy(b + o, c->k + (size_t)(p % c->cap_max) * s->kv_row, s->kv_row);
        for (p = s->pos - kept; p < s->pos; p++, o += s->kv_row) memcpy(b + o, c->v + (size_t)(p % c->cap_max) * s->kv_row, s->kv_row);
    }
    mg__put64(b + o, mg__checksum(b, o));
    *out = sn;
    return MG_OK;
}

/* Checks the 88-byte header against the model and gives the total size it implies. */
static mg_result mg__snap_header(const mg_model *m, const uint8_t *b, size_t *size, mg_error *e) {
    uint32_t kt = mg__le32(b + 12), pos = mg__le32(b + 68), hl = mg__le32(b + 72);
    if (memcmp(b, "MGSNAPSH", 8) != 0) return mg__fail(e, MG_ERR_FORMAT, "not a medgemma.h snapshot");
    if (mg__le32(b + 8) != MG__SNAP_FORMAT)
        return mg__fail(e, MG_ERR_UNSUPPORTED, "snapshot format %u (this build reads %d)", mg__le32(b + 8), MG__SNAP_FORMAT);
    if (!m->has_weights) return mg__fail(e, MG_ERR_STATE, "the model has no text decoder");
    if (memcmp(b + 16, m->fingerprint, 32) != 0) return mg__fail(e, MG_ERR_MODEL, "the snapshot was made with another model file");
    if (kt != MG_TYPE_F32 && kt != MG_TYPE_F16 && kt != MG_TYPE_Q8_0) return mg__fail(e, MG_ERR_FORMAT, "snapshot KV type %u", kt);
    if (kt == MG_TYPE_Q8_0 && m->hp.head_dim % 32) return mg__fail(e, MG_ERR_FORMAT, "Q8_0 snapshot of a head_dim %d model", m->hp.head_dim);
    if (mg__le32(b + 48) != (uint32_t)m->hp.n_layer || mg__le32(b + 52) != (uint32_t)m->hp.n_head_kv ||
        mg__le32(b + 56) != (uint32_t)m->hp.head_dim || mg__le32(b + 60) != (uint32_t)m->hp.n_vocab ||
        mg__le32(b + 64) != (uint32_t)m->hp.swa)
        return mg__fail(e, MG_ERR_MODEL, "snapshot shape (layers, heads, vocabulary, window) differs from the model's");
    if (pos > MG_MAX_CTX || hl > 1 || mg__le32(b + 76) != 0) return mg__fail(e, MG_ERR_FORMAT, "snapshot header: bad position count or flags");
    *size = mg__snap_size(m, mg__row_bytes((int)kt, (int64_t)m->hp.n_head_kv * m->hp.head_dim), (int)pos, (int)hl);
    return *size ? MG_OK : mg__fail(e, MG_ERR_LIMIT, "a snapshot of %u positions does not fit this machine's %u-bit sizes",
                                    pos, (unsigned)(sizeof(size_t) * 8));
}

/* Checks serialised bytes against the model: the header, the exact size, the checksum, every count. */
static mg_result mg__snap_check(const mg_model *m, const uint8_t *b, size_t n, mg_error *e) {
    uint32_t pos, i;
    size_t want, row, o;
    int il;
    mg_result r;
    if (n < MG__SNAP_HEADER + 8) return mg__fail(e, MG_ERR_FORMAT, "%zu bytes: too short for a snapshot", n);
    if ((r = mg__snap_header(m, b, &want, e)) != MG_OK) return r;
    pos = mg__le32(b + 68);
    if (want != n) return mg__fail(e, MG_ERR_FORMAT, "snapshot of %u positions should be %zu bytes, not %zu", pos, want, n);
    if (mg__le64(b + n - 8) != mg__checksum(b, n - 8)) return mg__fail(e, MG_ERR_FORMAT, "snapshot checksum mismatch (corrupted)");
    row = mg__row_bytes((int)mg__le32(b + 12), (int64_t)m->hp.n_head_kv * m->hp.head_dim);
    for (i = 0, o = MG__SNAP_HEADER; i < pos; i++, o += 4) {
        int32_t id = (int32_t)mg__le32(b + o);
        if (id < -1 || id >= m->hp.n_vocab) return mg__fail(e, MG_ERR_FORMAT, "snapshot history: token %d out of range", (int)id);
    }
    if (mg__le32(b + 72)) o += 4 * (size_t)m->hp.n_vocab;
    for (il = 0; il < m->hp.n_layer; il++) {
        uint32_t kept = mg__le32(b + o);
        if (kept != (uint32_t)mg__snap_kept(m, il, (int)pos)) return mg__fail(e, MG_ERR_FORMAT, "snapshot layer %d: %u rows", il, kept);
        o += 4 + 2 * (size_t)kept * row;
    }
    return MG_OK;
}

MGDEF mg_result mg_snapshot_read_mem(mg_snapshot **out, const mg_model *m, const void *data, size_t size, mg_error *err) {
    mg_snapshot *sn;
    mg_result r;
    if (!out || !m || (!data && size)) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_snapshot_read_mem: NULL argument");
    *out = NULL;
    if ((r = mg__snap_check(m, (const uint8_t *)data, size, err)) != MG_OK) return r;
    if (!(sn = (mg_snapshot *)mg__calloc(1, sizeof *sn)) || !(sn->bytes = (uint8_t *)mg__malloc(size))) {
        MG_FREE(sn);
        return mg__fail(err, MG_ERR_NOMEM, "out of memory for a snapshot of %zu bytes", size);
    }
    memcpy(sn->bytes, data, size);
    sn->size = size;
    sn->pos = (int)mg__le32(sn->bytes + 68);
    *out = sn;
    return MG_OK;
}

MGDEF mg_result mg_snapshot_restore(mg_session *s, const mg_snapshot *sn) {
    const mg_model *m;
    const uint8_t *b;
    size_t o = MG__SNAP_HEADER;
    int il, p, i, hl;
    mg_result r;
    if (!s || !sn) return MG_ERR_INVALID_ARG;
    m = s->m; b = sn->bytes;
    s->err[0] = 0;
    if (!m->has_weights) return mg__sfail(s, MG_ERR_STATE, "this model has no text decoder");
    if (memcmp(b + 16, m->fingerprint, 32) != 0) return mg__sfail(s, MG_ERR_MODEL, "the snapshot was made with another model file");
    if ((int)mg__le32(b + 12) != s->kv_type)
        return mg__sfail(s, MG_ERR_INVALID_ARG, "the snapshot's KV type (%s) differs from the session's (%s)",
                         mg_type_name((int)mg__le32(b + 12)), mg_type_name(s->kv_type));
    if (sn->pos > s->n_ctx) return mg__sfail(s, MG_ERR_CONTEXT_FULL, "the snapshot holds %d positions, n_ctx is %d", sn->pos, s->n_ctx);
    if ((r = mg__kv_reserve(s, sn->pos, 0)) != MG_OK) return r;
    hl = (int)mg__le32(b + 72);
    for (i = 0; i < sn->pos; i++, o += 4) s->hist[i] = (int32_t)mg__le32(b + o);
    if (hl) for (i = 0; i < m->hp.n_vocab; i++, o += 4) { uint32_t u = mg__le32(b + o); memcpy(&s->logits[i], &u, 4); }
    for (il = 0; il < m->hp.n_layer; il++) {
        mg__kvcache *c = &s->kv[il];
        int kept = (int)mg__le32(b + o);
        o += 4;
        for (p = sn->pos - kept; p < sn->pos; p++, o += s->kv_row) memcpy(c->k + (size_t)(p % c->cap_max) * s->kv_row, b + o, s->kv_row);
        for (p = sn->pos - kept; p < sn->pos; p++, o += s->kv_row) memcpy(c->v + (size_t)(p % c->cap_max) * s->kv_row, b + o, s->kv_row);
    }
    s->pos = sn->pos;
    s->has_logits = hl;
    s->rng = mg__le64(b + 80);
    return MG_OK;
}

MGDEF void mg_snapshot_free(mg_snapshot *sn) { if (sn) { MG_FREE(sn->bytes); MG_FREE(sn); } }
MGDEF int mg_snapshot_pos(const mg_snapshot *sn) { return sn ? sn->pos : 0; }
MGDEF size_t mg_snapshot_size(const mg_snapshot *sn) { return sn ? sn->size : 0; }
MGDEF const void *mg_snapshot_data(const mg_snapshot *sn) { return sn ? sn->bytes : NULL; }

#ifndef MG_NO_STDIO
/* Writes the serialised bytes. After a failure the file may hold a part of them, which loading refuses. */
MGDEF mg_result mg_snapshot_save(const mg_snapshot *sn, const char *path, mg_error *err) {
    FILE *f;
    size_t done = 0;
    int ok, why;
    if (!sn || !path) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_snapshot_save: a NULL snapshot or path");
    if (!(f = fopen(path, "wb"))) return mg__fail(err, MG_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    while (done < sn->size) {
        size_t n = sn->size - done < MG__IO_PIECE ? sn->size - done : MG__IO_PIECE;
        if (fwrite(sn->bytes + done, 1, n, f) != n) break;
        done += n;
    }
    ok = done == sn->size && fflush(f) == 0;
    why = errno;
    if (fclose(f) != 0 && ok) { ok = 0; why = errno; }
    return ok ? MG_OK : mg__fail(err, MG_ERR_IO, "cannot write '%s': %s", path, strerror(why));
}

/* Reads the header first and allocates only the size it implies (a huge or short file fails before that). */
MGDEF mg_result mg_snapshot_load(mg_snapshot **out, const mg_model *m, const char *path, mg_error *err) {
    uint8_t head[MG__SNAP_HEADER], *buf = NULL;
    mg__file f;
    size_t want = 0;
    mg_result r;
    if (!out || !m || !path) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_snapshot_load: NULL argument");
    *out = NULL;
    if ((r = mg__file_open(&f, path, err)) != MG_OK) return r;
    if (f.size < sizeof head) r = mg__fail(err, MG_ERR_FORMAT, "'%s': too short for a snapshot", path);
    else if ((r = mg__file_read(&f, head, sizeof head, err)) == MG_OK && (r = mg__snap_header(m, head, &want, err)) == MG_OK) {
        if (f.size != want)
            r = mg__fail(err, MG_ERR_FORMAT, "'%s': %llu bytes, the header implies %llu", path,
                         (unsigned long long)f.size, (unsigned long long)want);
        else if (!(buf = (uint8_t *)mg__malloc(want)))
            r = mg__fail(err, MG_ERR_NOMEM, "out of memory reading '%s' (%llu bytes)", path, (unsigned long long)want);
        else {
            memcpy(buf, head, sizeof head);
            r = mg__file_read(&f, buf + sizeof head, want - sizeof head, err);
        }
    }
    mg__file_close(&f);
    if (r == MG_OK) r = mg__snap_check(m, buf, want, err);
    if (r == MG_OK && !(*out = (mg_snapshot *)mg__calloc(1, sizeof **out))) r = mg__fail(err, MG_ERR_NOMEM, "out of memory");
    if (r != MG_OK) { MG_FREE(buf); return r; }
    (*out)->bytes = buf; (*out)->size = want; (*out)->pos = (int)mg__le32(buf + 68);
    return MG_OK;
}
#endif

/* ===== >>sampler ===================================================================================== */
/* splitmix64: a small, well-mixed generator owned by the session. */
static uint64_t mg__rand64(uint64_t *st) {
    uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double mg__rand_unit(uint64_t *st) { return (double)(mg__rand64(st) >> 11) * (1.0 / 9007199254740992.0); }

static int mg__cand_cmp(const void *a, const void *b, const float *p) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (p[x] != p[y]) return p[x] > p[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}
/* insertion into a small sorted prefix / heap-free selection for top-k */
static void mg__sort_cands(int32_t *ids, int n, const float *key) {
    /* shell sort: no recursion, no global comparator state */
    int gap, i, j;
    for (gap = n / 2; gap > 0; gap /= 2)
        for (i = gap; i < n; i++) {
            int32_t t = ids[i];
            for (j = i; j >= gap && mg__cand_cmp(&ids[j - gap], &t, key) > 0; j -= gap) ids[j] = ids[j - gap];
            ids[j] = t;
        }
}

/* The chain, in llama.cpp's order: repetition penalty, top-k, top-p, min-p, temperature, draw.
   logits is modified in place. ids and p are n-element work arrays. */
/* Greedy's choice from one row of logits: argmax, ties to the lowest id. */
static int32_t mg__argmax(const float *x, int n) {
    int32_t b = 0, i;
    for (i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

static int32_t mg__sample(float *logits, int n, const mg_sampler_options *o, uint64_t *rng, const int32_t *hist,
                          int n_hist, int32_t *ids, float *p) {
    int i, nc = 0, k;
    float mx = -INFINITY;
    double sum = 0, r, acc;
    if (o->repeat_penalty > 0 && o->repeat_penalty != 1.0f && hist) {
        int look = o->repeat_last_n > 0 ? o->repeat_last_n : 64, j;
        for (i = n_hist - 1; i >= 0 && i >= n_hist - look; i--) {
            int32_t id = hist[i];
            int seen = 0;
            if (id < 0 || id >= n) continue;
            for (j = n_hist - 1; j > i; j--) if (hist[j] == id) { seen = 1; break; }
            if (seen) continue;
            logits[id] = logits[id] > 0 ? logits[id] / o->repeat_penalty : logits[id] * o->repeat_penalty;
        }
    }
    if (o->temperature <= 0) return mg__argmax(logits, n);
    for (i = 0; i < n; i++) mx = logits[i] > mx ? logits[i] : mx;
    /* candidates: every token whose probability is at least e^-30 of the top one (the rest carry < 1e-13 each) */
    for (i = 0; i < n; i++) if (logits[i] >= mx - 30.0f) ids[nc++] = i;
    for (i = 0; i < n; i++) p[i] = 0;
    for (i = 0; i < nc; i++) p[ids[i]] = logits[ids[i]];
    mg__sort_cands(ids, nc, p);
    if (o->top_k > 0 && o->top_k < nc) nc = o->top_k;
    for (i = 0; i < nc; i++) { p[ids[i]] = expf(logits[ids[i]] - mx); sum += p[ids[i]]; }
    if (o->top_p > 0 && o->top_p < 1) {           /* smallest prefix with cumulative probability >= top_p */
        acc = 0;
        for (k = 0; k < nc; k++) { acc += p[ids[k]] / sum; if (acc >= o->top_p) { k++; break; } }
        nc = k < 1 ? 1 : k;
    }
    if (o->min_p > 0) {                           /* keep p >= min_p * p_max */
        float pmax = p[ids[0]];
        for (k = 1; k < nc && p[ids[k]] >= o->min_p * pmax; k++) {}
        nc = k;
    }
    sum = 0;                                      /* temperature, then draw */
    for (i = 0; i < nc; i++) { p[ids[i]] = expf((logits[ids[i]] - mx) / o->temperature); sum += p[ids[i]]; }
    r = mg__rand_unit(rng) * sum;
    for (i = 0, acc = 0; i < nc; i++) { acc += p[ids[i]]; if (r < acc) return ids[i]; }
    return ids[nc - 1];
}

MGDEF int32_t mg_sample(mg_session *s, const mg_sampler_options *opt, const int32_t *history, int n_history) {
    mg_sampler_options zero;
    int n;
    if (!s || !s->has_logits) return -1;
    memset(&zero, 0, sizeof zero);
    n = s->m->hp.n_vocab;
    memcpy(s->sample_p, s->logits, (size_t)n * sizeof(float));   /* keep the session's logits intact */
    {
        float *work = (float *)s->xq;   /* n floats of scratch: xq holds at least chunk * n_embd floats */
        int32_t r;
        if ((size_t)n <= (size_t)s->chunk * (size_t)s->m->hp.n_embd) {
            r = mg__sample(s->sample_p, n, opt ? opt : &zero, &s->rng, history, n_history, s->sample_ids, work);
            return r;
        }
        work = (float *)mg__malloc((size_t)n * sizeof(float));
        if (!work) return -1;
        r = mg__sample(s->sample_p, n, opt ? opt : &zero, &s->rng, history, n_history, s->sample_ids, work);
        MG_FREE(work);
        return r;
    }
}

/* ===== >>chat prompts ================================================================================ */
typedef struct mg__pb {           /* prompt builder */
    const mg_model *m;
    int32_t *ids; int64_t n, cap;
    const mg_image_embd **img; int64_t n_img, img_cap;
    char *text; int64_t tn, tcap;  /* pending text, tokenized at the next control token */
    int bad;                       /* 0, or the mg_result of the first failure */
} mg__pb;

static void mg__pb_text(mg__pb *b, const char *s, size_t n) {
    if (b->bad) return;
    if (!mg__grow((void **)&b->text, &b->tcap, b->tn + (int64_t)n + 1, 1)) { b->bad = MG_ERR_NOMEM; return; }
    memcpy(b->text + b->tn, s, n);
    b->tn += (int64_t)n;
}
static void mg__pb_flush(mg__pb *b) {
    mg__ids o;
    if (b->bad || b->tn == 0) return;
    mg__ids_init(&o, NULL, 0, MG_MAX_PROMPT_TOKENS - (int)b->n);
    if (!mg__tokenize(&b->m->vocab, b->text, (size_t)b->tn, 0, &o)) { b->bad = MG_ERR_NOMEM; return; }
    if (o.over) { b->bad = MG_ERR_LIMIT; return; }
    if (!mg__grow((void **)&b->ids, &b->cap, b->n + o.n, sizeof(int32_t))) { b->bad = MG_ERR_NOMEM; return; }
    mg__ids_init(&o, b->ids + b->n, o.n, o.n);
    if (!mg__tokenize(&b->m->vocab, b->text, (size_t)b->tn, 0, &o)) { b->bad = MG_ERR_NOMEM; return; }   /* this pass allocates scratch too */
    b->n += o.n;
    b->tn = 0;
}
static void mg__pb_tok(mg__pb *b, int32_t id) {
    mg__pb_flush(b);
    if (b->bad) return;
    if (id < 0) { b->bad = MG_ERR_MODEL; return; }
    if (b->n >= MG_MAX_PROMPT_TOKENS) { b->bad = MG_ERR_LIMIT; return; }
    if (!mg__grow((void **)&b->ids, &b->cap, b->n + 1, sizeof(int32_t))) { b->bad = MG_ERR_NOMEM; return; }
    b->ids[b->n++] = id;
}
static int mg__is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static void mg__pb_trimmed(mg__pb *b, const char *s) {
    size_t n = strlen(s), a = 0;
    while (a < n && mg__is_space(s[a])) a++;
    while (n > a && mg__is_space(s[n - 1])) n--;
    mg__pb_text(b, s + a, n - a);
}

/* The text bytes of a chat (system and text items): refused above MG__MAX_PROMPT_BYTES before any tokenizing. */
static mg_result mg__chat_bytes(const char *system, const mg_chat_turn *turns, int n_turns, mg_error *err) {
    size_t bytes = system ? strlen(system) : 0;
    int i, k;
    for (i = 0; i < n_turns; i++) {
        if (!turns[i].role || turns[i].n_items < 0 || (turns[i].n_items > 0 && !turns[i].items))
            return mg__fail(err, MG_ERR_INVALID_ARG, "chat: turn %d has no role or a bad item list", i);
        for (k = 0; k < turns[i].n_items; k++)
            if (turns[i].items[k].text && (bytes += strlen(turns[i].items[k].text)) > MG__MAX_PROMPT_BYTES)
                return mg__fail(err, MG_ERR_LIMIT, "chat: the prompt's text exceeds %llu bytes (4 x MG_MAX_PROMPT_TOKENS) at turn %d, "
                                "item %d", (unsigned long long)MG__MAX_PROMPT_BYTES, i, k);
    }
    return bytes > MG__MAX_PROMPT_BYTES ? mg__fail(err, MG_ERR_LIMIT, "chat: the system text has %llu bytes (limit %llu)",
                                                    (unsigned long long)bytes, (unsigned long long)MG__MAX_PROMPT_BYTES) : MG_OK;
}

MGDEF mg_result mg_chat_build(const mg_model *m, const char *system, const mg_chat_turn *turns, int n_turns,
                              int add_generation_prompt, mg_prompt *out, mg_error *err) {
    mg__pb b;
    int i, k, j;
    mg_result r;
    if (!m || !out || n_turns < 0 || (n_turns > 0 && !turns))
        return mg__fail(err, MG_ERR_INVALID_ARG, "mg_chat_build: a NULL model, prompt or turn list, or a negative turn count");
    memset(out, 0, sizeof *out);
    memset(&b, 0, sizeof b);
    b.m = m;
    if (m->tok_start_turn < 0 || m->tok_end_turn < 0)
        return mg__fail(err, MG_ERR_MODEL, "chat: the vocabulary has no <start_of_turn> / <end_of_turn> tokens");
    if ((r = mg__chat_bytes(system, turns, n_turns, err)) != MG_OK) return r;
    if (m->vocab.add_bos && m->vocab.bos >= 0) mg__pb_tok(&b, m->vocab.bos);
    for (i = 0; i < n_turns; i++) {
        const mg_chat_turn *t = &turns[i];
        if (!t->role || (t->n_items > 0 && !t->items) || t->n_items < 0) { b.bad = MG_ERR_INVALID_ARG; break; }
        mg__pb_tok(&b, m->tok_start_turn);
        mg__pb_text(&b, strcmp(t->role, "assistant") == 0 ? "model" : t->role, strlen(strcmp(t->role, "assistant") == 0 ? "model" : t->role));
        mg__pb_text(&b, "\n", 1);
        if (i == 0 && system && system[0]) { mg__pb_text(&b, system, strlen(system)); mg__pb_text(&b, "\n\n", 2); }
        for (k = 0; k < t->n_items; k++) {
            const mg_chat_item *it = &t->items[k];
            if (it->text) { mg__pb_trimmed(&b, it->text); continue; }
            if (!m->image_tokens) { b.bad = MG_ERR_NO_VISION; break; }
            mg__pb_text(&b, "\n\n", 2);
            mg__pb_tok(&b, m->tok_start_image);
            for (j = 0; j < m->image_tokens; j++) mg__pb_tok(&b, m->tok_image_soft);
            mg__pb_tok(&b, m->tok_end_image);
            mg__pb_text(&b, "\n\n", 2);
            if (!b.bad && !mg__grow((void **)&b.img, &b.img_cap, b.n_img + 1, sizeof(void *))) b.bad = MG_ERR_NOMEM;
            if (!b.bad) b.img[b.n_img++] = it->image;
        }
        mg__pb_tok(&b, m->tok_end_turn);
        mg__pb_text(&b, "\n", 1);
    }
    if (add_generation_prompt) { mg__pb_tok(&b, m->tok_start_turn); mg__pb_text(&b, "model\n", 6); }
    mg__pb_flush(&b);
    MG_FREE(b.text);
    if (b.bad) {
        MG_FREE(b.ids); MG_FREE(b.img);
        switch (b.bad) {
        case MG_ERR_NO_VISION: return mg__fail(err, MG_ERR_NO_VISION, "chat: an image item, but the model has no vision tower (load the mmproj file)");
        case MG_ERR_LIMIT:     return mg__fail(err, MG_ERR_LIMIT, "chat: the prompt needs more than MG_MAX_PROMPT_TOKENS = %d tokens", MG_MAX_PROMPT_TOKENS);
        case MG_ERR_NOMEM:     return mg__fail(err, MG_ERR_NOMEM, "chat: out of memory");
        default:               return mg__fail(err, (mg_result)b.bad, "chat: a turn has no role or a bad item list");
        }
    }
    out->ids = b.ids; out->n_ids = (int)b.n;
    out->images = b.img; out->n_images = (int)b.n_img;
    return MG_OK;
}

MGDEF void mg_prompt_free(mg_prompt *p) {
    if (!p) return;
    MG_FREE(p->ids);
    MG_FREE((void *)p->images);
    memset(p, 0, sizeof *p);
}

MGDEF const char *mg_split_thinking(const char *text, const char **thought, size_t *thought_len) {
    const char *a, *b;
    if (thought) *thought = NULL;
    if (thought_len) *thought_len = 0;
    if (!text) return NULL;
    b = strstr(text, "<unused95>");
    if (!b) return text;
    a = strstr(text, "<unused94>");
    if (a && a < b) {
        if (thought) *thought = a + 10;
        if (thought_len) *thought_len = (size_t)(b - (a + 10));
    }
    return b + 10;
}

/* ===== >>public API ================================================================================== */
/* The entry points that join the stages: images (preprocess, the embedding cache, encode), tokens, generation. */
static mg_result mg__check_image(const mg_image *img, int i, mg_error *e) {
    if (!img || !img->pixels) return mg__fail(e, MG_ERR_INVALID_ARG, "image %d: no pixels", i);
    if (img->w <= 0 || img->h <= 0 || img->channels < 1 || img->channels > 4)
        return mg__fail(e, MG_ERR_INVALID_ARG, "image %d: %dx%d with %d channels (positive sizes, 1 to 4 channels)", i, img->w, img->h, img->channels);
    if ((uint64_t)img->w * (uint64_t)img->h > MG_MAX_IMAGE_PIXELS)
        return mg__fail(e, MG_ERR_LIMIT, "image %d: %dx%d = %llu pixels exceed MG_MAX_IMAGE_PIXELS = %llu", i, img->w, img->h,
                        (unsigned long long)img->w * (unsigned long long)img->h, (unsigned long long)MG_MAX_IMAGE_PIXELS);
    return MG_OK;
}
MGDEF mg_result mg_image_preprocess(const mg_model *m, const mg_image *img, int mode, uint8_t *out, int *side, mg_error *err) {
    mg_result r;
    if (!m) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_image_preprocess: no model");
    if (mode != MG_IMAGE_MEDGEMMA && mode != MG_IMAGE_LLAMACPP)
        return mg__fail(err, MG_ERR_INVALID_ARG, "image: unknown preprocessing mode %d (MG_IMAGE_MEDGEMMA or MG_IMAGE_LLAMACPP)", mode);
    if (!m->vision) return mg__fail(err, MG_ERR_NO_VISION, "this model has no vision tower: load the mmproj file (mg_model_options.mmproj_path)");
    if (side) *side = m->vision->image_size;
    if (!out) return MG_OK;
    if ((r = mg__check_image(img, 0, err)) != MG_OK) return r;
    if ((r = mg__preprocess(img, mode, m->vision->image_size, out)) != MG_OK) return mg__fail(err, r, "image: out of memory resizing");
    return MG_OK;
}
MGDEF void mg_image_embd_free(mg_image_embd *e) {
    if (!e) return;
    MG_FREE(e->data);
    memset(e, 0, sizeof *e);
}
MGDEF void mg_sha256(const void *data, size_t n, uint8_t out[32]) {
    mg__sha256 c;
    mg__sha256_init(&c);
    mg__sha256_add(&c, data, n);
    mg__sha256_end(&c, out);
}
/* ----- the image-embedding cache ----- */
typedef struct mg__cached {
    uint8_t key[32];         /* SHA-256(vision fingerprint, side, pixels) */
    float *data;             /* [n_tokens][n_embd] */
    int n_tokens, n_embd;
    uint64_t used;           /* clock of the last use (least recent goes first) */
} mg__cached;

struct mg_embd_cache {
    mg__cached *e;           /* [n] entries */
    int n, cap;
    size_t bytes, max_bytes;
    uint64_t clock, hits, misses;
#ifndef MG_NO_THREADS
    pthread_mutex_t mu;      /* sessions on several threads share the cache */
#endif
};

static void mg__cache_lock(mg_embd_cache *c) {
#ifndef MG_NO_THREADS
    pthread_mutex_lock(&c->mu);
#else
    (void)c;
#endif
}
static void mg__cache_unlock(mg_embd_cache *c) {
#ifndef MG_NO_THREADS
    pthread_mutex_unlock(&c->mu);
#else
    (void)c;
#endif
}

MGDEF mg_result mg_embd_cache_new(mg_embd_cache **out, size_t max_bytes, mg_error *err) {
    mg_embd_cache *c;
    if (!out) return mg__fail(err, MG_ERR_INVALID_ARG, "mg_embd_cache_new: no output");
    if (!(*out = c = (mg_embd_cache *)mg__calloc(1, sizeof *c))) return mg__fail(err, MG_ERR_NOMEM, "embedding cache: out of memory");
    c->max_bytes = max_bytes;
#ifndef MG_NO_THREADS
    if (pthread_mutex_init(&c->mu, NULL) != 0) { MG_FREE(c); *out = NULL; return mg__fail(err, MG_ERR_THREAD, "embedding cache: no mutex"); }
#endif
    return MG_OK;
}

MGDEF void mg_embd_cache_free(mg_embd_cache *c) {
    int i;
    if (!c) return;
    for (i = 0; i < c->n; i++) MG_FREE(c->e[i].data);
    MG_FREE(c->e);
#ifndef MG_NO_THREADS
    pthread_mutex_destroy(&c->mu);
#endif
    MG_FREE(c);
}

MGDEF void mg_embd_cache_stats_get(mg_embd_cache *c, mg_embd_cache_stats *st) {
    if (!st) return;
    memset(st, 0, sizeof *st);
    if (!c) return;
    mg__cache_lock(c);
    st->hits = c->hits; st->misses = c->misses; st->entries = c->n; st->bytes = c->bytes;
    mg__cache_unlock(c);
}

/* Copies the entry for key into out (allocated) and returns 1, or returns 0 (a miss, counted). */
static int mg__cache_get(mg_embd_cache *c, const uint8_t key[32], mg_image_embd *out, int *nomem) {
    int i, hit = 0;
    mg__cache_lock(c);
    for (i = 0; i < c->n; i++) {
        mg__cached *x = &c->e[i];
        size_t bytes;
        if (memcmp(x->key, key, 32) != 0) continue;
        bytes = (size_t)x->n_tokens * x->n_embd * sizeof(float);
        if ((out->data = (float *)mg__malloc(bytes)) != NULL) {
            memcpy(out->data, x->data, bytes);
            out->n_tokens = x->n_tokens; out->n_embd = x->n_embd;
            x->used = ++c->clock;
            c->hits++;
            hit = 1;
        } else *nomem = 1;
        break;
    }
    if (!hit && !*nomem) c->misses++;
    mg__cache_unlock(c);
    return hit;
}

/* Stores a copy of e under key, dropping least recently used entries beyond max_bytes. A failed
   allocation only means the entry is not kept. */
static void mg__cache_put(mg_embd_cache *c, const uint8_t key[32], const mg_image_embd *e) {
    size_t bytes = (size_t)e->n_tokens * e->n_embd * sizeof(float);
    mg__cached *x;
    int i;
    if (c->max_bytes && bytes > c->max_bytes) return;
    mg__cache_lock(c);
    for (i = 0; i < c->n; i++) if (memcmp(c->e[i].key, key, 32) == 0) { mg__cache_unlock(c); return; }
    while (c->n > 0 && c->max_bytes && c->bytes + bytes > c->max_bytes) {
        int lru = 0;
        for (i = 1; i < c->n; i++) if (c->e[i].used < c->e[lru].used) lru = i;
        c->bytes -= (size_t)c->e[lru].n_tokens * c->e[lru].n_embd * sizeof(float);
        MG_FREE(c->e[lru].data);
        c->e[lru] = c->e[--c->n];
    }
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        mg__cached *p = (mg__cached *)MG_REALLOC(c->e, (size_t)cap * sizeof *p);
        if (!p) { mg__cache_unlock(c); return; }
        c->e = p; c->cap = cap;
    }
    x = &c->e[c->n];
    if (!(x->data = (float *)mg__malloc(bytes))) { mg__cache_unlock(c); return; }
    memcpy(x->data, e->data, bytes);
    memcpy(x->key, key, 32);
    x->n_tokens = e->n_tokens; x->n_embd = e->n_embd;
    x->used = ++c->clock;
    c->bytes += bytes;
    c->n++;
    mg__cache_unlock(c);
}

/* Cache key of one preprocessed image: SHA-256(vision file fingerprint, side (u32 LE), 1 if the products are bf16
   else 0 (one byte), side^2 RGB bytes). */
static void mg__image_key(const mg_model *m, const mg_session_options *opt, const uint8_t *rgb, int side, uint8_t key[32]) {
    mg__sha256 c;
    uint8_t sb[5];
    mg__put32(sb, (uint32_t)side);
    sb[4] = (uint8_t)mg__vision_bf16(opt);   /* bf16 and float products give different embeddings */
    mg__sha256_init(&c);
    mg__sha256_add(&c, m->vision_fingerprint, 32);
    mg__sha256_add(&c, sb, 5);
    mg__sha256_add(&c, rgb, (size_t)side * side * 3);
    mg__sha256_end(&c, key);
}
MGDEF mg_result mg_encode_images(mg_session *s, const mg_image *imgs, int n, int mode, mg_image_embd *out) {
    const mg__vision *V;
    mg_embd_cache *cache;
    mg_error e;
    uint8_t *rgb, key[32];
    int i, j;
    mg_result r = MG_OK;
    if (!s || !out || n < 0 || (n > 0 && !imgs)) return MG_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) memset(&out[i], 0, sizeof out[i]);
    if (!(V = s->m->vision))
        return mg__sfail(s, MG_ERR_NO_VISION, "this model has no vision tower: load the mmproj file (mg_model_options.mmproj_path)");
    if (mode != MG_IMAGE_MEDGEMMA && mode != MG_IMAGE_LLAMACPP) return mg__sfail(s, MG_ERR_INVALID_ARG, "unknown image mode %d", mode);
    if (!(rgb = (uint8_t *)mg__malloc((size_t)V->image_size * V->image_size * 3))) return mg__sfail(s, MG_ERR_NOMEM, "out of memory");
    cache = s->opt.embd_cache;
    for (i = 0; i < n && r == MG_OK; i++) {
        int nomem = 0;
        if ((r = mg__check_image(&imgs[i], i, &e)) != MG_OK) { mg__sfail(s, r, "%s", e.message); break; }
        if ((r = mg__preprocess(&imgs[i], mode, V->image_size, rgb)) != MG_OK) { mg__sfail(s, r, "out of memory"); break; }
        if (cache) mg__image_key(s->m, &s->opt, rgb, V->image_size, key);
        if (!cache || !mg__cache_get(cache, key, &out[i], &nomem)) {
            if (nomem) { r = mg__sfail(s, MG_ERR_NOMEM, "out of memory"); break; }
            out[i].n_tokens = V->n_tokens;
            out[i].n_embd = V->n_out;
            if (!(out[i].data = (float *)mg__malloc((size_t)V->n_tokens * V->n_out * sizeof(float)))) { r = mg__sfail(s, MG_ERR_NOMEM, "out of memory"); break; }
            if ((r = mg__vision_encode(V, &s->pool, &s->opt, rgb, out[i].data)) != MG_OK) { mg__sfail(s, r, "out of memory encoding an image"); break; }
            if (mg__nonfinite(out[i].data, (int64_t)V->n_tokens * V->n_out) >= 0) {
                r = mg__sfail(s, MG_ERR_NUMERIC, "image %d: the vision encoder produced NaN or Inf (is the mmproj file broken?)", i);
                break;
            }
            if (cache) mg__cache_put(cache, key, &out[i]);
        }
        if (s->opt.progress && s->opt.progress(s->opt.progress_user, i + 1, n)) r = mg__sfail(s, MG_ERR_CANCELLED, "cancelled after %d of %d images", i + 1, n);
    }
    MG_FREE(rgb);
    if (r != MG_OK) for (j = 0; j < n; j++) mg_image_embd_free(&out[j]);
    return r;
}
MGDEF mg_result mg_encode_image(mg_session *s, const mg_image *img, int mode, mg_image_embd *out) {
    return mg_encode_images(s, img, 1, mode, out);
}
MGDEF mg_result mg_tokenize(const mg_model *m, const char *text, size_t len, unsigned flags, int32_t *ids, int cap, int *n_ids,
                            mg_error *err) {
    mg__ids o;
    if (n_ids) *n_ids = 0;
    if (!m || (!text && len) || cap < 0 || (cap > 0 && !ids))
        return mg__fail(err, MG_ERR_INVALID_ARG, "mg_tokenize: a NULL model, text or id buffer, or a negative capacity");
    if (len > MG__MAX_PROMPT_BYTES)
        return mg__fail(err, MG_ERR_LIMIT, "tokenize: %llu bytes of text exceed the limit of %llu (4 x MG_MAX_PROMPT_TOKENS)",
                        (unsigned long long)len, (unsigned long long)MG__MAX_PROMPT_BYTES);
    mg__ids_init(&o, ids, cap, MG_MAX_PROMPT_TOKENS);
    if (!mg__tokenize(&m->vocab, text ? text : "", len, flags, &o)) return mg__fail(err, MG_ERR_NOMEM, "tokenize: out of memory");
    if (o.over)
        return mg__fail(err, MG_ERR_LIMIT, "tokenize: the text needs more than MG_MAX_PROMPT_TOKENS = %d tokens", MG_MAX_PROMPT_TOKENS);
    if (n_ids) *n_ids = o.n;
    return o.n > cap ? mg__fail(err, MG_ERR_BUFFER, "tokenize: %d ids need a buffer of %d (it holds %d)", o.n, o.n, cap) : MG_OK;
}

MGDEF mg_result mg_detokenize(const mg_model *m, const int32_t *ids, int n, unsigned flags, char *buf, size_t cap, size_t *len,
                              mg_error *err) {
    size_t at = 0;
    int i;
    if (len) *len = 0;
    if (!m || n < 0 || (n > 0 && !ids) || (cap > 0 && !buf))
        return mg__fail(err, MG_ERR_INVALID_ARG, "mg_detokenize: a NULL model, ids or buffer, or a negative count");
    for (i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= m->vocab.n)
            return mg__fail(err, MG_ERR_INVALID_ARG, "detokenize: id %d at %d is outside the vocabulary (0..%d)", ids[i], i, m->vocab.n - 1);
        at += mg__piece(&m->vocab, ids[i], flags, at < cap ? buf + at : NULL, at < cap ? cap - at : 0);
    }
    if (len) *len = at;
    if (at < cap) { buf[at] = 0; return MG_OK; }
    if (cap) buf[cap - 1] = 0;
    return mg__fail(err, MG_ERR_BUFFER, "detokenize: %llu bytes need a buffer of %llu (it holds %llu)", (unsigned long long)at,
                    (unsigned long long)at + 1, (unsigned long long)cap);
}
MGDEF int32_t mg_token_lookup(const mg_model *m, const char *text) {
    return m && text ? mg__vocab_find(&m->vocab, text, strlen(text)) : -1;
}
MGDEF const char *mg_token_text(const mg_model *m, int32_t id, size_t *len) {
    if (len) *len = 0;
    if (!m || id < 0 || id >= m->vocab.n) return NULL;
    if (len) *len = m->vocab.len[id];
    return m->vocab.piece[id];
}
MGDEF int mg_token_is_eog(const mg_model *m, int32_t id) { return m && id >= 0 && id < m->vocab.n && m->vocab.eog[id]; }
MGDEF int32_t mg_token_bos(const mg_model *m) { return m ? m->vocab.bos : -1; }

/* Length of the longest prefix of b[0..n) that does not end inside a UTF-8 sequence. */
static size_t mg__utf8_complete(const char *b, size_t n) {
    size_t i = n, k = 0;
    while (i > 0 && k < 3 && ((uint8_t)b[i - 1] & 0xC0) == 0x80) { i--; k++; }
    if (i > 0) {
        uint8_t c = (uint8_t)b[i - 1];
        int need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (need > 1 && (size_t)need > k + 1) return i - 1;
    }
    return n;
}

/* The streaming state of one mg_generate call. */
typedef struct mg__gen {
    mg_session *s;
    const mg_generate_options *o;
    char pend[64];           /* bytes of a UTF-8 character not yet complete */
    size_t np;
    int channel, stop, n;    /* current channel, on_text asked to stop, tokens sampled */
} mg__gen;

/* Counts and streams one sampled token (an end-of-generation token never comes here): the thinking markers
   switch channels, text goes out in whole UTF-8 characters. */
static mg_result mg__gen_emit(mg__gen *G, int32_t id) {
    const mg_model *m = G->s->m;
    const mg_generate_options *o = G->o;
    if (o->out_ids && G->n < o->out_cap) o->out_ids[G->n] = id;
    G->n++;
    if (id == m->tok_think_begin || id == m->tok_think_end) {
        if (G->np && o->on_text) G->stop = o->on_text(o->user, G->pend, G->np, G->channel) != 0;
        G->np = 0;
        G->channel = id == m->tok_think_begin ? MG_CHANNEL_THOUGHT : MG_CHANNEL_ANSWER;
    } else if (o->on_text) {
        char piece[64];
        size_t len = mg__piece(&m->vocab, id, 0, piece, sizeof piece), done;
        if (len > sizeof piece || G->np + len > sizeof G->pend) {     /* long piece: flush everything as is */
            char *big = (char *)mg__malloc(G->np + len);
            if (!big) return mg__sfail(G->s, MG_ERR_NOMEM, "out of memory");
            memcpy(big, G->pend, G->np);
            mg__piece(&m->vocab, id, 0, big + G->np, len);
            G->stop = o->on_text(o->user, big, G->np + len, G->channel) != 0;
            MG_FREE(big);
            G->np = 0;
        } else {
            memcpy(G->pend + G->np, piece, len);
            G->np += len;
            done = mg__utf8_complete(G->pend, G->np);
            if (done > 0) {
                G->stop = o->on_text(o->user, G->pend, done, G->channel) != 0;
                memmove(G->pend, G->pend + done, G->np - done);
                G->np -= done;
            }
        }
    }
    return MG_OK;
}

/* Prompt lookup: up to k tokens that followed the most recent earlier occurrence of the last ng tokens of
   h[0..n) (ng = 3, then 2, then 1), into draft; their count (0: no match). */
static int mg__lookup_draft(const int32_t *h, int n, int k, int32_t *draft) {
    int ng, i, j, c;
    for (ng = 3; ng >= 1; ng--) {
        if (n <= ng) continue;
        for (i = n - ng - 1; i >= 0; i--) {              /* h[i .. i + ng) against the last ng */
            for (j = 0; j < ng && h[i + j] == h[n - ng + j] && h[i + j] >= 0; j++) {}
            if (j < ng) continue;
            for (c = 0; c < k && i + ng + c < n; c++) draft[c] = h[i + ng + c];
            if (c > 0) return c;
        }
    }
    return 0;
}


/* One lookup step after the sampled token id: id and a draft from the context go through the decoder as one
   batch with the logits of every position; draft token j stands when greedy would have chosen it after the
   tokens before it. The cache keeps id and the accepted tokens (the rest is rolled back), and the session's logits
   become those after the last kept token: exactly the state plain greedy reaches, token for token. Returns the
   accepted count in *acc, or 0 drafted (*acc = -1: nothing fed, feed id plainly). */
static mg_result mg__lookup_step(mg__gen *G, int32_t id, int k, float *all, int32_t *batch, int *acc, int *why) {
    mg_session *s = G->s;
    const mg_model *m = s->m;
    int V = m->hp.n_vocab, nd, a, pos0 = s->pos;
    mg_result r;
    *acc = -1;
    if (!mg__grow((void **)&s->hist, &s->hist_cap, (int64_t)s->pos + 1, sizeof(int32_t)))
        return mg__sfail(s, MG_ERR_NOMEM, "out of memory for the token history");
    s->hist[s->pos] = id;
    if ((nd = mg__lookup_draft(s->hist, s->pos + 1, k, batch + 1)) == 0) return MG_OK;
    batch[0] = id;
    if ((r = mg__decoder_forward(s, batch, NULL, nd + 1, 0, 1, all)) != MG_OK) return r;
    for (a = 0; a < nd && mg__argmax(all + (size_t)a * V, V) == batch[1 + a]; a++) {}
    *acc = 0;
    while (*acc < a && !G->stop) {                       /* stream the accepted tokens, as plain greedy would */
        int32_t t = batch[1 + *acc];
        if (mg_token_is_eog(m, t)) { *why = MG_STOP_EOG; break; }
        if (G->o->max_tokens && G->n >= G->o->max_tokens) break;
        if ((r = mg__gen_emit(G, t)) != MG_OK) return r;
        ++*acc;
    }
    s->pos = pos0 + 1 + *acc;
    memcpy(s->logits, all + (size_t)*acc * V, (size_t)V * sizeof(float));
    s->has_logits = 1;
    return MG_OK;
}

MGDEF mg_result mg_generate(mg_session *s, const mg_generate_options *opt, int *n_generated) {
    mg_generate_options zero;
    mg__gen G;
    float *all = NULL;
    int32_t *batch = NULL;
    mg_result r = MG_OK;
    int why = MG_STOP_MAX_TOKENS, steps = 0, greedy;
    if (n_generated) *n_generated = 0;
    if (!s) return MG_ERR_INVALID_ARG;
    if (!opt) { memset(&zero, 0, sizeof zero); opt = &zero; }
    if (opt->stop_reason) *opt->stop_reason = MG_STOP_ERROR;
    if (opt->n_forward) *opt->n_forward = 0;
    if (opt->max_tokens < 0) return mg__sfail(s, MG_ERR_INVALID_ARG, "mg_generate: max_tokens %d < 0", opt->max_tokens);
    if (opt->lookup < 0) return mg__sfail(s, MG_ERR_INVALID_ARG, "mg_generate: lookup %d < 0", opt->lookup);
    if (!s->has_logits) return mg__sfail(s, MG_ERR_STATE, "mg_generate: evaluate a prompt first");
    memset(&G, 0, sizeof G);
    G.s = s; G.o = opt; G.channel = MG_CHANNEL_ANSWER;
    greedy = opt->sampler.temperature <= 0 && (opt->sampler.repeat_penalty == 0 || opt->sampler.repeat_penalty == 1.0f);
    if (opt->lookup > 0 && greedy) {
        int k = opt->lookup < s->chunk - 1 ? opt->lookup : s->chunk - 1;
        all = (float *)mg__malloc((size_t)(k + 1) * (size_t)s->m->hp.n_vocab * sizeof(float));
        batch = (int32_t *)mg__malloc((size_t)(k + 1) * sizeof(int32_t));
        if (!all || !batch) { MG_FREE(all); MG_FREE(batch); return mg__sfail(s, MG_ERR_NOMEM, "out of memory for prompt lookup"); }
    }
    while (!G.stop && (opt->max_tokens == 0 || G.n < opt->max_tokens)) {
        int32_t id = mg_sample(s, &opt->sampler, s->hist, s->pos);
        int acc = -1;
        if (id < 0) { r = mg__sfail(s, MG_ERR_NOMEM, "sampler out of memory"); break; }
        if (mg_token_is_eog(s->m, id)) { why = MG_STOP_EOG; break; }
        if ((r = mg__gen_emit(&G, id)) != MG_OK) break;
        if (s->pos >= s->n_ctx) { why = MG_STOP_CONTEXT; break; }   /* sampled but no room to feed it */
        if (all && !G.stop) {
            int k = opt->lookup, room = s->n_ctx - s->pos - 1, left = opt->max_tokens ? opt->max_tokens - G.n : k;
            if (k > s->chunk - 1) k = s->chunk - 1;
            if (k > room) k = room;
            if (k > left) k = left;
            if (k > 0 && (r = mg__lookup_step(&G, id, k, all, batch, &acc, &why)) != MG_OK) break;
            if (why == MG_STOP_EOG) { steps++; break; }
        }
        if (acc < 0 && (r = mg_eval(s, &id, 1)) != MG_OK) break;
        steps++;
    }
    if (G.stop && r == MG_OK && why != MG_STOP_EOG) why = MG_STOP_CALLBACK;
    if (G.np && opt->on_text && r == MG_OK) opt->on_text(opt->user, G.pend, G.np, G.channel);
    if (n_generated) *n_generated = G.n;
    if (opt->n_forward) *opt->n_forward = steps;
    if (opt->stop_reason) *opt->stop_reason = r != MG_OK ? MG_STOP_ERROR : why;
    MG_FREE(all); MG_FREE(batch);
    return r;
}

#endif /* MEDGEMMA_IMPLEMENTATION_DONE */
#endif /* MEDGEMMA_IMPLEMENTATION */

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
