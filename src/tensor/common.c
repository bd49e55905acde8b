/* common.c — status names, tensor views, the clock, the version string. */
#include "tinymlp/common.h"

#include <time.h>

const char *tmlp_status_str(tmlp_status s)
{
    switch (s) {
    case TMLP_OK: return "ok";
    case TMLP_ERR_ARG: return "invalid argument";
    case TMLP_ERR_NOMEM: return "out of memory";
    case TMLP_ERR_IO: return "I/O error";
    case TMLP_ERR_FORMAT: return "bad file format";
    case TMLP_ERR_SHAPE: return "shape mismatch";
    case TMLP_ERR_UNSUPPORTED: return "unsupported";
    case TMLP_ERR_STATE: return "call not allowed in this state";
    case TMLP_ERR_BATCH: return "batch larger than the session's max_batch";
    case TMLP_ERR_HEADER_TOO_SMALL: return "safetensors: header too small";
    case TMLP_ERR_HEADER_TOO_LARGE: return "safetensors: header too large";
    case TMLP_ERR_HEADER_LENGTH: return "safetensors: invalid header length";
    case TMLP_ERR_HEADER_UTF8: return "safetensors: header is not valid UTF-8";
    case TMLP_ERR_HEADER_JSON: return "safetensors: invalid header";
    case TMLP_ERR_OFFSET: return "safetensors: invalid offset";
    case TMLP_ERR_OVERFLOW: return "safetensors: size overflow";
    case TMLP_ERR_MISALIGNED: return "safetensors: misaligned slice";
    case TMLP_ERR_TENSOR_INFO: return "safetensors: invalid tensor info";
    case TMLP_ERR_INCOMPLETE: return "safetensors: incomplete buffer";
    case TMLP_ERR_DUPLICATE: return "safetensors: duplicate tensor name";
    case TMLP_ERR_MISSING_TENSOR: return "model: missing tensor";
    case TMLP_ERR_EXTRA_TENSOR: return "model: unused tensor";
    case TMLP_ERR_LAYERS: return "model: bad layer list";
    case TMLP_ERR_TRUNCATED: return "truncated file";
    case TMLP_ERR_MAGIC: return "bad magic number";
    case TMLP_ERR_COUNT_MISMATCH: return "count mismatch";
    }
    return "unknown status";
}

/* Takes const data (an input is only read) and returns a view with a plain pointer, as
 * strchr does: the library never writes through an input view. */
tmlp_tensor tmlp_tensor_2d(const float *data, int64_t rows, int64_t cols)
{
    tmlp_tensor t = {TMLP_DTYPE_F32, 2, {rows, cols, 0, 0}, (float *)data};
    return t;
}

int64_t tmlp_tensor_numel(const tmlp_tensor *t)
{
    if (!t || t->ndim < 0 || t->ndim > 4) return -1;
    int64_t n = 1;
    for (int32_t i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0) return -1;
        if (__builtin_mul_overflow(n, t->shape[i], &n)) return -1;
    }
    return n;
}

uint64_t tmlp_time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *tmlp_version(void) { return TMLP_VERSION_STRING; }
