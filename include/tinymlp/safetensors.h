/* tinymlp/safetensors.h — read your own tensors from a .safetensors file.
 *
 * The same validating reader the model loader uses (every rule of the format checked, each
 * with its own status; fuzzed), for tensors that are not a model: test inputs, embeddings,
 * a PyTorch export you want to inspect. The format is described in docs/formats.md;
 * tools/export_safetensors.py writes it from PyTorch or NumPy.
 *
 *     tmlp_safetensors *f;  tmlp_error err;
 *     if (tmlp_safetensors_open("inputs.safetensors", NULL, &f, &err) != TMLP_OK) {
 *         fprintf(stderr, "%s\n", err.message);  return 1;
 *     }
 *     tmlp_safetensors_info t;
 *     if (tmlp_safetensors_find(f, "x", &t, &err) == TMLP_OK) {   // shape, dtype, count
 *         float *x = malloc((size_t)t.numel * sizeof *x);
 *         if (x && tmlp_safetensors_read_f32(f, "x", x, t.numel, &err) == TMLP_OK) ...
 *     }
 *     tmlp_safetensors_close(f);
 *
 * Ownership: tmlp_safetensors_open reads the whole file into memory (through `alloc`, NULL
 * for malloc); tmlp_safetensors_close frees it. Names and metadata strings point into the
 * file object and live until it is closed. Reading copies out: your buffer owns its floats.
 * Threads: an open file is read-only; any number of threads may read from it at once.
 */
#ifndef TINYMLP_SAFETENSORS_H
#define TINYMLP_SAFETENSORS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tmlp_safetensors tmlp_safetensors;

#define TMLP_SAFETENSORS_MAX_DIMS 8

/* One tensor's description. */
typedef struct tmlp_safetensors_info {
    const char *name;        /* owned by the file */
    const char *dtype;       /* the format's name: "F32", "F16", "BF16", "U8", "I64", ... (static) */
    int ndim;                /* 0 (a scalar) .. TMLP_SAFETENSORS_MAX_DIMS */
    int64_t shape[TMLP_SAFETENSORS_MAX_DIMS];
    int64_t numel;           /* product of shape (1 for a scalar) */
    size_t nbytes;           /* bytes in the file */
} tmlp_safetensors_info;

/* Read and validate a file. Errors: TMLP_ERR_ARG, TMLP_ERR_IO, TMLP_ERR_NOMEM and one
 * TMLP_ERR_HEADER_* .. TMLP_ERR_DUPLICATE per rule of the format; `err` names the file,
 * the rule and the tensor. *out is NULL on error. */
TMLP_API tmlp_status tmlp_safetensors_open(const char *path, const tmlp_allocator *alloc,
                                           tmlp_safetensors **out, tmlp_error *err);
/* Number of tensors (0 for NULL). */
TMLP_API int64_t tmlp_safetensors_count(const tmlp_safetensors *f);
/* Tensor i in header order, 0 <= i < count. Errors: TMLP_ERR_ARG (NULL, i out of range). */
TMLP_API tmlp_status tmlp_safetensors_info_at(const tmlp_safetensors *f, int64_t i,
                                              tmlp_safetensors_info *out, tmlp_error *err);
/* The tensor called `name`. Errors: TMLP_ERR_ARG, TMLP_ERR_MISSING_TENSOR. */
TMLP_API tmlp_status tmlp_safetensors_find(const tmlp_safetensors *f, const char *name,
                                           tmlp_safetensors_info *out, tmlp_error *err);
/* Copy tensor `name` into dst[0 .. numel) as F32: F32 exactly, F16 and BF16 widened
 * exactly, U8 converted. `capacity` is the number of floats dst holds.
 * Errors: TMLP_ERR_ARG, TMLP_ERR_MISSING_TENSOR, TMLP_ERR_SHAPE ("tensor `x` has 1568
 * elements, the buffer holds 784"), TMLP_ERR_UNSUPPORTED (another dtype). */
TMLP_API tmlp_status tmlp_safetensors_read_f32(const tmlp_safetensors *f, const char *name,
                                               float *dst, int64_t capacity, tmlp_error *err);
/* The __metadata__ value for `key`, or NULL if absent. Owned by the file. */
TMLP_API const char *tmlp_safetensors_metadata(const tmlp_safetensors *f, const char *key);
/* Free the file. Accepts NULL. */
TMLP_API void tmlp_safetensors_close(tmlp_safetensors *f);

#ifdef __cplusplus
}
#endif
#endif
