/* safetensors.h (private) — read and write the safetensors container.
 *
 * Format: [u64 little-endian N][N bytes UTF-8 JSON header][data block]. See
 * docs/formats.md (safetensors); tmlp_st_parse enforces every rule there, in order,
 * each with its own tmlp_status.
 *
 * This layer knows nothing about layers or models: src/io/model_io.c builds a model from
 * the tensors it returns, and src/io/dataset.c reads data sets (x, y) from it.
 */
#ifndef TMLP_IO_SAFETENSORS_H
#define TMLP_IO_SAFETENSORS_H

#include "tinymlp/common.h"

/* Every dtype of the format (the parser accepts all, so a valid file never fails to parse;
 * the model loader rejects what it cannot use). */
typedef enum tmlp_st_dtype {
    TMLP_ST_BOOL, TMLP_ST_U8, TMLP_ST_I8, TMLP_ST_I16, TMLP_ST_U16, TMLP_ST_F16, TMLP_ST_BF16,
    TMLP_ST_I32, TMLP_ST_U32, TMLP_ST_F32, TMLP_ST_F64, TMLP_ST_I64, TMLP_ST_U64, TMLP_ST_C64,
    TMLP_ST_F4, TMLP_ST_F6_E2M3, TMLP_ST_F6_E3M2, TMLP_ST_F8_E5M2, TMLP_ST_F8_E4M3,
    TMLP_ST_F8_E8M0
} tmlp_st_dtype;

#define TMLP_ST_MAX_DIMS 8

typedef struct tmlp_st_tensor {
    char *name;                       /* NUL-terminated, owned by the file */
    tmlp_st_dtype dtype;
    int ndim;                         /* 0 .. TMLP_ST_MAX_DIMS */
    uint64_t shape[TMLP_ST_MAX_DIMS];
    uint64_t numel;                   /* product of shape (1 for rank 0) */
    uint64_t begin, end;              /* byte offsets in the data block, end one past */
    const unsigned char *data;        /* = file data block + begin; may be UNALIGNED: copy out */
} tmlp_st_tensor;

typedef struct tmlp_st_meta {
    char *key, *value;                /* owned by the file */
} tmlp_st_meta;

/* A parsed file: the whole file in memory plus its tensor table and metadata. */
typedef struct tmlp_st_file {
    unsigned char *bytes;             /* whole file */
    size_t size;
    const unsigned char *data;        /* start of the data block (bytes + 8 + N) */
    tmlp_st_tensor *tensors;          /* in header order */
    int64_t n_tensors;
    tmlp_st_meta *meta;
    int64_t n_meta;
    tmlp_allocator alloc;             /* copied from the caller (NULL fields = libc) */
} tmlp_st_file;

/* Bits per element of a dtype (F4 = 4, F6_* = 6, F32 = 32, ...). */
int tmlp_st_dtype_bits(tmlp_st_dtype d);
const char *tmlp_st_dtype_name(tmlp_st_dtype d);

/* Parse and validate a file already in memory. On success *out owns a copy of `bytes`
 * (or takes ownership when `take` is non-zero: then `bytes` must come from `alloc`).
 * On failure nothing is leaked and `err` names the rule and the tensor; with `take` the
 * buffer is freed on failure too (ownership passes whatever the outcome). */
tmlp_status tmlp_st_parse(const unsigned char *bytes, size_t size, int take,
                          const tmlp_allocator *alloc, tmlp_st_file **out, tmlp_error *err);

/* Read a file from disk (fstat size checked before allocating) and parse it. */
tmlp_status tmlp_st_read(const char *path, const tmlp_allocator *alloc, tmlp_st_file **out,
                         tmlp_error *err);
/* tmlp_st_read for the public loaders: whatever rule fired, the message names the file
 * ("m.safetensors: tensor `0.weight`: ..."), as a user needs to know which file. */
tmlp_status tmlp_st_read_named(const char *path, const tmlp_allocator *alloc, tmlp_st_file **out,
                               tmlp_error *err);

/* Look up by name; NULL if absent. */
const tmlp_st_tensor *tmlp_st_find(const tmlp_st_file *f, const char *name);
const char *tmlp_st_meta_get(const tmlp_st_file *f, const char *key);

void tmlp_st_free(tmlp_st_file *f);

/* Copy a tensor's elements out as F32 (F32 little-endian copied with memcpy; F16 and BF16
 * widened exactly; U8 converted). `dst` holds numel floats. TMLP_ERR_UNSUPPORTED for other
 * dtypes. */
tmlp_status tmlp_st_to_f32(const tmlp_st_tensor *t, float *dst, tmlp_error *err);

/* Writing: describe tensors (name, dtype, shape, raw little-endian bytes) and metadata;
 * the writer lays them out back to back in the given order and pads the header with
 * spaces to a multiple of 8. */
typedef struct tmlp_st_write_tensor {
    const char *name;
    tmlp_st_dtype dtype;
    int ndim;
    uint64_t shape[TMLP_ST_MAX_DIMS];
    const void *data;                 /* numel * bits / 8 bytes */
} tmlp_st_write_tensor;

tmlp_status tmlp_st_write(const char *path, const tmlp_st_write_tensor *tensors, int64_t n,
                          const tmlp_st_meta *meta, int64_t n_meta,
                          const tmlp_allocator *alloc, tmlp_error *err);

#endif
