/* dense.c — the fully connected layer: y = x W^T + b.
 *
 * Shapes (row-major, PyTorch nn.Linear's convention):
 *     x:(B, in)   W:(out, in)   b:(out)   y:(B, out)
 *     y[r][j] = b[j] + sum_k x[r][k] * W[j][k]
 * Row j of W holds the weights of output j, so W^T is never materialised: BLAS reads W
 * "transposed" through its leading dimension.
 *
 * Small batches (B <= the layer's crossover) run a kernel of our own (src/kernels/:
 * scalar, AVX2, AVX-512, picked from cpuid) over a copy of W packed at build time into
 * 64-output panels, with the bias and ReLU applied in registers before the one store.
 * Larger batches go to OpenBLAS, through one of two calls chosen by batch size:
 *   B == 1  cblas_sgemv: y(out) = W(out,in) . x(in). A matrix-vector product streams W
 *           once; OpenBLAS's sgemm with M = 1 is ~6x slower on this shape (99 us vs 16 us
 *           for 784->512) because its packing and blocking are built for big M.
 *   B  > 1  cblas_sgemm(RowMajor, NoTrans, Trans): y(B,out) = x(B,in) . W(out,in)^T.
 * Then one pass over y adds the bias — or, when a ReLU follows, adds the bias AND clamps
 * at zero in the same pass (forward_relu), so y is read and written once, not twice.
 * The epilogue is branch-free (SSE maxps): a compare-and-jump per element mispredicts on
 * half-negative data and cost 28% at batch 256 when measured against this loop.
 *
 * W (out, in) stays in the layer as well: tmlp_model_save and the BLAS path read it.
 * forward_rows runs the same kernel over row pointers (each row of x anywhere): the
 * session's zero-copy input for samples picked from a data set (session.c).
 *
 * Next: relu.c, softmax.c; session.c decides when to fuse; src/kernels/kernels.h.
 */
#include "layer.h"

#include "internal.h"
#include "kernels/kernels.h"

#include <cblas.h>
#include <string.h>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

typedef struct dense {
    tmlp_layer base; /* must be first: a dense* is a tmlp_layer* */
    float *weight;   /* (out, in), 64-byte aligned inside `block` */
    float *bias;     /* (out), right after weight */
    void *block;     /* the one allocation holding weight and bias */
    tmlp_packed packed;  /* W and b packed for `fn` (empty when the kernel is BLAS) */
    tmlp_kernel kernel;  /* which kernel `fn` is */
    tmlp_kernel_fn fn;   /* our kernel for batch <= crossover; NULL = always BLAS */
    tmlp_kernel_rows_fn rows_fn; /* fn over row pointers (F32 only; NULL otherwise) */
    int64_t crossover;
    tmlp_precision precision; /* of the packed weights (F32, BF16, INT8) */
    const char *isa;     /* instruction path of fn at that precision (static) */
} dense;

/* y[0..n) += b[0..n) */
static void bias_add_row(float *restrict y, const float *restrict b, int64_t n)
{
    int64_t j = 0;
#if defined(__SSE__)
    for (; j + 4 <= n; j += 4)
        _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j), _mm_loadu_ps(b + j)));
#endif
    for (; j < n; j++) y[j] += b[j];
}

/* y[0..n) = max(y + b, 0). Same rounding as a bias add then a separate ReLU: the sum is
 * rounded once to float, then clamped (max(NaN, 0) gives 0 on both paths). */
static void bias_relu_row(float *restrict y, const float *restrict b, int64_t n)
{
    int64_t j = 0;
#if defined(__SSE__)
    const __m128 zero = _mm_setzero_ps();
    for (; j + 4 <= n; j += 4) {
        __m128 v = _mm_add_ps(_mm_loadu_ps(y + j), _mm_loadu_ps(b + j));
        _mm_storeu_ps(y + j, _mm_max_ps(v, zero)); /* maxps(v, 0): 0 when v is NaN */
    }
#endif
    for (; j < n; j++) {
        float v = y[j] + b[j];
        y[j] = v > 0.0f ? v : 0.0f;
    }
}

/* y = x W^T, no bias. */
static void dense_matmul(const dense *d, const float *x, float *y, int64_t batch)
{
    const int in = (int)d->base.in_width, out = (int)d->base.out_width;
    if (batch == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, d->weight, in, x, 1, 0.0f, y, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)batch, out, in, 1.0f, x, in,
                    d->weight, in, 0.0f, y, out);
}

static void dense_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch)
{
    const dense *d = (const dense *)l;
    if (d->fn && batch <= d->crossover) {
        d->fn(&d->packed, x, y, batch, TMLP_EPILOGUE_NONE);
        return;
    }
    const int64_t out = l->out_width;
    dense_matmul(d, x, y, batch);
    for (int64_t r = 0; r < batch; r++) bias_add_row(y + r * out, d->bias, out);
}

static void dense_forward_relu(const tmlp_layer *l, const float *x, float *y, int64_t batch)
{
    const dense *d = (const dense *)l;
    if (d->fn && batch <= d->crossover) {
        d->fn(&d->packed, x, y, batch, TMLP_EPILOGUE_RELU);
        return;
    }
    const int64_t out = l->out_width;
    dense_matmul(d, x, y, batch);
    for (int64_t r = 0; r < batch; r++) bias_relu_row(y + r * out, d->bias, out);
}

/* Rows in place (no gathered copy) when our F32 kernel runs this batch; BLAS wants one
 * contiguous x, so larger batches (and BF16 / INT8, which convert rows anyway) say no. */
static bool dense_rows_ok(const tmlp_layer *l, int64_t batch)
{
    const dense *d = (const dense *)l;
    return d->rows_fn && batch <= d->crossover;
}

static void dense_forward_rows(const tmlp_layer *l, const float *const *xp, float *y, int64_t batch,
                               int relu)
{
    const dense *d = (const dense *)l;
    d->rows_fn(&d->packed, xp, y, batch, relu ? TMLP_EPILOGUE_RELU : TMLP_EPILOGUE_NONE);
}

static int64_t dense_param_count(const tmlp_layer *l)
{
    return l->out_width * l->in_width + l->out_width;
}

static int64_t dense_flops(const tmlp_layer *l)
{
    return 2 * l->in_width * l->out_width + l->out_width;
}

/* Pack W for kernel k (once, when the model is built or loaded: W is final by now). */
static tmlp_status dense_prepare(tmlp_layer *l, const tmlp_allocator *a, tmlp_kernel k, int forced,
                                 tmlp_precision prec, tmlp_error *err)
{
    dense *d = (dense *)l;
    tmlp_packed_destroy(a, &d->packed);
    d->precision = prec == TMLP_PRECISION_AUTO ? TMLP_PRECISION_F32 : prec;
    const int lowp = d->precision != TMLP_PRECISION_F32;
    if (lowp && l->in_width > TMLP_LOWP_MAX_IN)
        return tmlp_error_set(err, TMLP_ERR_ARG, "dense %lldx%lld: %s weights take inputs of at most %d values",
                              (long long)l->out_width, (long long)l->in_width,
                              tmlp_precision_name(d->precision), TMLP_LOWP_MAX_IN);
    /* BF16 and INT8 have no OpenBLAS path: a CPU without AVX2 (cpuid chose blas) runs them on
     * the scalar kernel; blas asked for explicitly is refused when the model is created. */
    if (lowp && k == TMLP_KERNEL_BLAS) k = TMLP_KERNEL_SCALAR;
    d->kernel = k;
    d->fn = tmlp_kernel_function_prec(k, d->precision, &d->isa);
    d->rows_fn = lowp ? NULL : tmlp_kernel_rows_function(k);
    d->crossover = d->fn ? (lowp ? INT64_MAX : tmlp_kernel_crossover(k, forced, l->in_width, l->out_width)) : 0;
    if (!d->fn) {
        d->isa = "blas";
        if (lowp)
            return tmlp_error_set(err, TMLP_ERR_ARG, "dense: kernel '%s' cannot run %s weights on this CPU",
                                  tmlp_kernel_name(k), tmlp_precision_name(d->precision));
        return TMLP_OK;
    }
    if (tmlp_packed_create_prec(a, l->in_width, l->out_width, d->weight, d->bias, d->precision, &d->packed) != TMLP_OK) {
        d->fn = NULL;
        d->rows_fn = NULL;
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "dense %lldx%lld: out of memory packing the weights",
                              (long long)l->out_width, (long long)l->in_width);
    }
    return TMLP_OK;
}

static void dense_kernel_info(const tmlp_layer *l, tmlp_kernel *k, int64_t *crossover,
                              size_t *packed_bytes)
{
    const dense *d = (const dense *)l;
    *k = d->fn ? d->kernel : TMLP_KERNEL_BLAS;
    *crossover = d->fn ? d->crossover : 0;
    *packed_bytes = d->packed.bytes;
}

static void dense_precision_info(const tmlp_layer *l, tmlp_precision *prec, const char **isa,
                                 size_t *stream_bytes)
{
    const dense *d = (const dense *)l;
    *prec = d->precision ? d->precision : TMLP_PRECISION_F32;
    *isa = d->isa ? d->isa : "blas";
    *stream_bytes = d->fn ? tmlp_packed_stream_bytes(&d->packed)
                          : (size_t)(l->in_width * l->out_width) * sizeof(float);
}

static void dense_destroy(tmlp_layer *l, const tmlp_allocator *a)
{
    dense *d = (dense *)l;
    if (!d) return;
    tmlp_packed_destroy(a, &d->packed);
    tmlp_mem_free(a, d->block);
    tmlp_mem_free(a, d);
}

static const tmlp_layer_ops dense_ops = {
    .name = "linear",
    .kind = TMLP_LAYER_DENSE,
    .in_place = false,
    .forward = dense_forward,
    .forward_relu = dense_forward_relu,
    .rows_ok = dense_rows_ok,
    .forward_rows = dense_forward_rows,
    .param_count = dense_param_count,
    .flops_per_sample = dense_flops,
    .prepare = dense_prepare,
    .kernel_info = dense_kernel_info,
    .precision_info = dense_precision_info,
    .destroy = dense_destroy,
};

tmlp_status tmlp_dense_create(const tmlp_allocator *a, int64_t in, int64_t out,
                              const float *weight, const float *bias, tmlp_layer **out_layer,
                              tmlp_error *err)
{
    /* BLAS takes int dimensions; widths must fit one (and W's element count a size_t). */
    if (in < 1 || out < 1 || in > INT32_MAX || out > INT32_MAX)
        return tmlp_error_set(err, TMLP_ERR_ARG, "dense: widths must be in [1, 2^31): in=%lld out=%lld",
                              (long long)in, (long long)out);
    size_t nw, nparams, bytes;
    if (!tmlp_size_mul((size_t)out, (size_t)in, &nw) || __builtin_add_overflow(nw, (size_t)out, &nparams) ||
        !tmlp_size_mul(nparams, sizeof(float), &bytes) || __builtin_add_overflow(bytes, (size_t)63, &bytes))
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "dense %lldx%lld: parameter size overflows",
                              (long long)out, (long long)in);

    dense *d = tmlp_mem_calloc(a, 1, sizeof *d);
    if (!d) return tmlp_error_set(err, TMLP_ERR_NOMEM, "dense: out of memory for the layer");
    d->block = tmlp_mem_alloc(a, bytes);
    if (!d->block) {
        tmlp_mem_free(a, d);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "dense %lldx%lld: out of memory for %zu bytes of parameters",
                              (long long)out, (long long)in, bytes);
    }
    /* Align W to a cache line: BLAS kernels stream it with full-line loads. */
    uintptr_t p = ((uintptr_t)d->block + 63) & ~(uintptr_t)63;
    d->weight = (float *)p;
    d->bias = d->weight + nw;
    d->base.ops = &dense_ops;
    d->base.in_width = in;
    d->base.out_width = out;
    if (weight) memcpy(d->weight, weight, nw * sizeof(float));
    else memset(d->weight, 0, nw * sizeof(float));
    if (bias) memcpy(d->bias, bias, (size_t)out * sizeof(float));
    else memset(d->bias, 0, (size_t)out * sizeof(float));
    *out_layer = &d->base;
    return TMLP_OK;
}

float *tmlp_dense_weight(tmlp_layer *l) { return ((dense *)l)->weight; }
float *tmlp_dense_bias(tmlp_layer *l) { return ((dense *)l)->bias; }
