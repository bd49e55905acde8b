/* tinymlp/data.h — data sets: IDX files (MNIST / Fashion-MNIST), safetensors (x, y), and
 * seeded synthetic inputs.
 *
 * A tmlp_dataset holds N samples of `width` values each, either raw uint8 (images: the
 * model's tmlp_preprocess turns them into inputs) or float32, and optional int32 labels.
 * It owns its memory; destroy it with tmlp_dataset_destroy (NULL is fine).
 */
#ifndef TINYMLP_DATA_H
#define TINYMLP_DATA_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tmlp_dataset {
    int64_t count;      /* N samples */
    int64_t width;      /* values per sample (28*28 = 784 for MNIST) */
    tmlp_dtype dtype;   /* TMLP_DTYPE_U8 (u8 valid) or TMLP_DTYPE_F32 (f32 valid) */
    uint8_t *u8;        /* (N, width) when dtype == U8, else NULL */
    float *f32;         /* (N, width) when dtype == F32, else NULL */
    int32_t *labels;    /* (N) or NULL when the set has no labels */
    int32_t n_classes;  /* 1 + max label, 0 without labels */
    tmlp_allocator alloc;
} tmlp_dataset;

/* --- IDX (LeCun's format; gzip-compressed or plain, detected by the gzip magic) --------
 * Header: 0x00 0x00 <dtype> <ndim>, then ndim u32 big-endian sizes, then the data.
 * Only dtype 0x08 (unsigned byte) is accepted. Errors: TMLP_ERR_IO (open/read, corrupt or cut
 * gzip stream), TMLP_ERR_MAGIC (first two bytes not zero), TMLP_ERR_FORMAT (dtype, ndim outside
 * 1..4, or bytes after the data), TMLP_ERR_TRUNCATED (header or data cut short),
 * TMLP_ERR_OVERFLOW (product of dims above 2^31 bytes), TMLP_ERR_NOMEM. A dimension of 0 is a
 * valid, empty array here (the data set loaders reject empty sets with TMLP_ERR_FORMAT).
 * The loader allocates only what the header declares, so a gzip bomb costs no memory.
 * zlib's own stream buffers are allocated by zlib, outside `alloc`. */
typedef struct tmlp_idx {
    int ndim;
    int64_t dims[4];
    uint8_t *data;      /* product(dims) bytes */
    size_t size;
    tmlp_allocator alloc;
} tmlp_idx;

TMLP_API tmlp_status tmlp_idx_load(const char *path, const tmlp_allocator *alloc, tmlp_idx **out,
                                   tmlp_error *err);
/* Parse an in-memory, uncompressed IDX buffer (used by the fuzzer and tests). */
TMLP_API tmlp_status tmlp_idx_parse(const uint8_t *bytes, size_t size, const tmlp_allocator *alloc,
                                    tmlp_idx **out, tmlp_error *err);
TMLP_API void tmlp_idx_destroy(tmlp_idx *idx);

/* Images (N, rows, cols) + labels (N) -> a U8 data set of width rows*cols with labels.
 * (Images with 2 or 4 dimensions work too: width = product of all but the first.)
 * `labels_path` may be NULL. TMLP_ERR_COUNT_MISMATCH if the counts differ, TMLP_ERR_SHAPE if
 * the images are 1-D or the labels are not, TMLP_ERR_FORMAT for an empty set. */
TMLP_API tmlp_status tmlp_dataset_load_idx(const char *images_path, const char *labels_path,
                                           const tmlp_allocator *alloc, tmlp_dataset **out,
                                           tmlp_error *err);

/* A .safetensors file with "x" [N, width] (F32 or U8) and optional "y" [N] (any integer
 * dtype, values 0..2^31-1). Other tensors are ignored. Errors: the safetensors rules' codes,
 * TMLP_ERR_MISSING_TENSOR (no "x"), TMLP_ERR_SHAPE (ranks), TMLP_ERR_UNSUPPORTED (dtypes),
 * TMLP_ERR_COUNT_MISMATCH (len(y) != N), TMLP_ERR_FORMAT (a label out of range, empty x). */
TMLP_API tmlp_status tmlp_dataset_load_safetensors(const char *path, const tmlp_allocator *alloc,
                                                   tmlp_dataset **out, tmlp_error *err);

/* N seeded samples of `width` floats uniform in [0, 1), no labels: value i is the top 24
 * bits of the i-th tmlp_rng_next draw (seeded with `seed`) times 2^-24, so the same seed
 * gives the same bits on every machine. TMLP_ERR_ARG if count or width < 1. */
TMLP_API tmlp_status tmlp_dataset_synthetic(int64_t count, int64_t width, uint64_t seed,
                                            const tmlp_allocator *alloc, tmlp_dataset **out,
                                            tmlp_error *err);

TMLP_API void tmlp_dataset_destroy(tmlp_dataset *d);

/* Where Debian's dataset-fashion-mnist package puts the files. */
#define TMLP_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
/* The ten Fashion-MNIST class names, "T-shirt/top" .. "Ankle boot"; "unknown" outside 0..9. */
TMLP_API const char *tmlp_fashion_class_name(int label);

#ifdef __cplusplus
}
#endif
#endif
