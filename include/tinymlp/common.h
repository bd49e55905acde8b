/* tinymlp/common.h — status codes, the error struct, the allocator hook, tensors, time.
 *
 * Everything else in the library builds on these few types. Read this file first.
 *
 * Errors: every fallible call returns a tmlp_status (TMLP_OK == 0, errors < 0) and
 * writes its results through out-parameters. ONE convention for the message: the call's
 * last parameter is an optional caller-owned `tmlp_error *err` ("input width 783, the model
 * takes 784"; pass NULL if you only want the code). One signature per call: there are no
 * `_ex` twins (0.1 had them; docs/c-api.md, "Migrating from 0.1"). docs/c-api.md says why
 * a caller-owned struct rather than a per-session "last error".
 *
 * The library never prints, exits or aborts on bad input, a bad file or out-of-memory.
 */
#ifndef TINYMLP_COMMON_H
#define TINYMLP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TMLP_API marks the public, exported symbols (the build hides everything else). */
#if defined(TMLP_BUILDING) && defined(__GNUC__)
#define TMLP_API __attribute__((visibility("default")))
#else
#define TMLP_API
#endif

#define TMLP_VERSION_MAJOR 0
#define TMLP_VERSION_MINOR 2
#define TMLP_VERSION_PATCH 0
#define TMLP_VERSION_STRING "0.2.0"

/* Status codes. Generic codes first; the loader's codes name one validation rule each
 * (docs/formats.md, in the reference reader's order). */
typedef enum tmlp_status {
    TMLP_OK = 0,
    TMLP_ERR_ARG = -1,          /* a NULL pointer, a negative size, an unknown enum value */
    TMLP_ERR_NOMEM = -2,        /* an allocation failed (or a size product overflowed) */
    TMLP_ERR_IO = -3,           /* open/read/write failed; the message carries strerror */
    TMLP_ERR_FORMAT = -4,       /* a file is not what it claims to be (generic) */
    TMLP_ERR_SHAPE = -5,        /* shapes do not chain, or an input has the wrong width */
    TMLP_ERR_UNSUPPORTED = -6,  /* valid but not handled here (e.g. an I64 weight tensor) */
    TMLP_ERR_STATE = -7,        /* call made at the wrong time (e.g. adding a layer after a session exists) */
    TMLP_ERR_BATCH = -8,        /* batch larger than the session's max_batch */
    /* safetensors validation, one code per rule */
    TMLP_ERR_HEADER_TOO_SMALL = -20,  /* file shorter than 8 bytes */
    TMLP_ERR_HEADER_TOO_LARGE = -21,  /* header length N > 100,000,000 */
    TMLP_ERR_HEADER_LENGTH = -22,     /* 8 + N overflows or exceeds the file */
    TMLP_ERR_HEADER_UTF8 = -23,       /* header is not valid UTF-8 */
    TMLP_ERR_HEADER_JSON = -24,       /* header is not a JSON object of the expected shape */
    TMLP_ERR_OFFSET = -25,            /* data_offsets leave a gap, overlap, or end < begin */
    TMLP_ERR_OVERFLOW = -26,          /* element count or byte size overflows */
    TMLP_ERR_MISALIGNED = -27,        /* element count x bits is not a whole number of bytes */
    TMLP_ERR_TENSOR_INFO = -28,       /* end - begin differs from the size shape and dtype imply */
    TMLP_ERR_INCOMPLETE = -29,        /* file length differs from 8 + N + last end */
    TMLP_ERR_DUPLICATE = -30,         /* the same tensor name twice */
    /* model assembly from a file */
    TMLP_ERR_MISSING_TENSOR = -40,    /* a layer's weight or bias is not in the file */
    TMLP_ERR_EXTRA_TENSOR = -41,      /* the file has a tensor no layer uses */
    TMLP_ERR_LAYERS = -42,            /* the layer list is missing or names an unknown layer */
    /* data sets (IDX) */
    TMLP_ERR_TRUNCATED = -50,         /* the file ends before its header says it should */
    TMLP_ERR_MAGIC = -51,             /* bad magic number */
    TMLP_ERR_COUNT_MISMATCH = -52     /* images and labels disagree in count */
} tmlp_status;

/* A static, human-readable name for a status ("out of memory"). Never NULL. */
TMLP_API const char *tmlp_status_str(tmlp_status s);

/* Caller-owned error detail. The library fills it on failure (code + one-line message)
 * and leaves it untouched on success. */
#define TMLP_ERROR_MAX 512
typedef struct tmlp_error {
    tmlp_status code;
    char message[TMLP_ERROR_MAX];
} tmlp_error;

/* Allocator hook (Lua's lua_Alloc idea, split in two). A model owns the allocator it was
 * built with; its sessions allocate through it too. Tests use it to count allocations
 * and to fail the k-th one. NULL fields mean the C library's malloc/free.
 * Thread-safety: called from whichever thread builds a model or creates a session. */
typedef struct tmlp_allocator {
    void *(*malloc_fn)(void *user, size_t size);
    void (*free_fn)(void *user, void *ptr);
    void *user;
} tmlp_allocator;

/* Element types of stored data. The engine computes in F32; F16/BF16 weights are widened
 * on load; U8 is the type of raw image data sets (tmlp_dataset.u8, data.h), which reach a
 * session through tmlp_session_forward_u8. A tmlp_tensor is always F32 (below). */
typedef enum tmlp_dtype {
    TMLP_DTYPE_F32 = 0,
    TMLP_DTYPE_F16 = 1,
    TMLP_DTYPE_BF16 = 2,
    TMLP_DTYPE_U8 = 3
} tmlp_dtype;

/* A tensor is a VIEW: it describes memory it does not own. Row-major, no strides.
 * A user may put one on the stack and point `data` at an array:
 *     float x[2 * 784];  tmlp_tensor in = tmlp_tensor_2d(x, 2, 784);
 * It views floats only: `dtype` is TMLP_DTYPE_F32 (tmlp_tensor_2d sets it, every output
 * view has it), and tmlp_session_forward refuses any other with TMLP_ERR_SHAPE naming the
 * call for it ("U8 (use tmlp_session_forward_u8)"). The field stays so that a view built
 * by hand over the wrong memory is caught instead of read as floats. */
typedef struct tmlp_tensor {
    tmlp_dtype dtype; /* TMLP_DTYPE_F32 */
    int32_t ndim;
    int64_t shape[4];
    float *data;
} tmlp_tensor;

/* A (rows, cols) F32 view of `data`. `data` is const because an input is only read; like
 * strchr, the view holds a plain pointer: do not write through a view of const memory.
 * (The library never writes through an input view; an output view points into a session.) */
TMLP_API tmlp_tensor tmlp_tensor_2d(const float *data, int64_t rows, int64_t cols);

/* Number of elements (product of the shape); -1 if ndim is out of range, a dimension is
 * negative, or the product overflows int64. */
TMLP_API int64_t tmlp_tensor_numel(const tmlp_tensor *t);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
TMLP_API uint64_t tmlp_time_now_ns(void);

/* "0.2.0" (TMLP_VERSION_STRING) */
TMLP_API const char *tmlp_version(void);

/* Free a string a tinymlp call returned through `char **out` (an SVG, a rendered report,
 * trace events); NULL is fine. */
TMLP_API void tmlp_report_string_free(char *s);

#ifdef __cplusplus
}
#endif
#endif
