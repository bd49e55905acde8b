/* kernels.h (private) — Dense forward kernels of our own over packed weights, one file
 * per instruction set, and the dispatch that picks one at run time.
 *
 * The packed layout (pack.c). W is (out, in) as in PyTorch; the kernels want, for a block
 * of outputs, all of their weights for input k next to each other, so one vector load
 * per k feeds 16 outputs. Outputs are cut into panels of TMLP_PANEL = 64:
 *
 *     panel p = outputs [64p, 64p + wp)       wp = 64, or for the last panel the rest
 *                                             rounded up to 16 (zero padded)
 *     wp[p][k][j] = W[64p + j][k]             k in [0, in), j in [0, wp)
 *
 *        W (out, in)                     packed: panel 0 | panel 1 | ...  (64-byte aligned)
 *        row 0   w00 w01 w02 ...           k=0: W[0][0] W[1][0] ... W[63][0]   <- 256 bytes
 *        row 1   w10 w11 w12 ...           k=1: W[0][1] W[1][1] ... W[63][1]
 *        ...                               ...
 *
 * Panel p starts at p * 64 * in floats, so every panel is 64-byte aligned when the base is.
 * The bias is padded the same way (n_panels * 64 floats, zeros past `out`).
 *
 * A kernel computes  y:(B,out) = x:(B,in) . W^T + b,  then max(., 0) if relu. Rows of x
 * and y are contiguous (strides in and out); x need not be aligned. Each kernel streams a
 * panel once per group of rows and keeps its outputs in registers until the epilogue.
 *
 * Next: scalar.c (the reference: read it first), avx2.c, avx512.c, dispatch.c.
 */
#ifndef TMLP_KERNELS_H
#define TMLP_KERNELS_H

#include "tinymlp/kernels.h"

#include <stddef.h>
#include <stdint.h>

#define TMLP_PANEL 64

typedef struct tmlp_packed {
    int64_t in, out;
    int64_t n_panels;  /* ceil(out / 64) */
    float *w;          /* packed weights, 64-byte aligned (see above) */
    float *bias;       /* (n_panels * 64), zero padded */
    void *block;       /* the one allocation holding w and bias */
    size_t bytes;      /* bytes of `block` */
} tmlp_packed;

/* Width of panel p (64, or the rest rounded up to 16 for the last one). */
static inline int64_t tmlp_panel_width(const tmlp_packed *p, int64_t panel)
{
    const int64_t rest = p->out - panel * TMLP_PANEL;
    return rest >= TMLP_PANEL ? TMLP_PANEL : (rest + 15) / 16 * 16;
}

typedef void (*tmlp_kernel_fn)(const tmlp_packed *p, const float *x, float *y, int64_t batch,
                               int relu);

void tmlp_kernel_scalar(const tmlp_packed *p, const float *x, float *y, int64_t batch, int relu);
void tmlp_kernel_avx2(const tmlp_packed *p, const float *x, float *y, int64_t batch, int relu);
void tmlp_kernel_avx512(const tmlp_packed *p, const float *x, float *y, int64_t batch, int relu);

/* Sum of x[0..n) (x 64-byte aligned) with the widest loads of kernel k: a streaming read as
 * fast as that kernel could stream weights (bench_mlp profile's bandwidth probe). */
float tmlp_stream_sum(tmlp_kernel k, const float *x, size_t n);
float tmlp_stream_sum_avx2(const float *x, size_t n);
float tmlp_stream_sum_avx512(const float *x, size_t n);

/* pack.c: fill *p from W (out, in) and b (out) through allocator a. TMLP_ERR_NOMEM on
 * failure (size overflow included), *p then owns nothing. */
tmlp_status tmlp_packed_create(const tmlp_allocator *a, int64_t in, int64_t out,
                               const float *weight, const float *bias, tmlp_packed *p);
void tmlp_packed_destroy(const tmlp_allocator *a, tmlp_packed *p);

/* dispatch.c: the function of a kernel (NULL for BLAS, AUTO or one the CPU lacks). */
tmlp_kernel_fn tmlp_kernel_function(tmlp_kernel k);
/* Turn a request (model options; AUTO = look at TMLP_KERNELS, then cpuid) into a kernel the
 * CPU has. *source: "model options", "TMLP_KERNELS" or "cpuid" (static). TMLP_ERR_ARG with
 * err filled if the request is unknown or unavailable. */
tmlp_status tmlp_kernel_resolve(tmlp_kernel requested, tmlp_kernel *chosen, const char **source,
                                tmlp_error *err);
/* Largest batch a Dense(in -> out) layer runs on kernel k (above it: BLAS). forced (chosen
 * by options or TMLP_KERNELS): every batch. BLAS: 0. */
int64_t tmlp_kernel_crossover(tmlp_kernel k, int forced, int64_t in, int64_t out);
/* "scalar,avx2,avx512,blas": the kernels this machine can run. */
void tmlp_kernel_available_list(char *buf, size_t cap);

#endif
