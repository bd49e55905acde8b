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
 * 64-output panels, with the bias and the epilogue (ReLU, GELU, ...) applied in registers
 * before the one store.
 * Larger batches go to OpenBLAS, through one of two calls chosen by batch size:
 *   B == 1  cblas_sgemv: y(out) = W(out,in) . x(in). A matrix-vector product streams W
 *           once; OpenBLAS's sgemm with M = 1 is several times slower on this shape,
 *           because its packing and blocking are built for big M (internals.md,
 *           exercise 3, measures it).
 *   B  > 1  cblas_sgemm(RowMajor, NoTrans, Trans): y(B,out) = x(B,in) . W(out,in)^T.
 * Then one pass over y adds the bias — and, when an activation was fused in (the header's
 * .epilogue, set by model.c), applies it to each row while it is still in cache
 * (forward_act). ReLU is added and clamped in the same pass, branch-free (SSE maxps): a
 * compare-and-jump per element mispredicts on half-negative data; the other activations
 * use tmlp_act_apply.
 *
 * A bias-free layer (nn.Linear(bias=False)) holds a bias of zeros and runs exactly as
 * before; only tensors() (what save writes) knows it has none. A BatchNorm after the layer
 * is folded into the W and b it runs (tmlp_dense_fold_batchnorm); the file's W and b are
 * then kept aside (`orig`), so that save writes what PyTorch had and load_weights can
 * fold new statistics into new weights.
 *
 * W (out, in) stays in the layer as well: tmlp_model_save and the BLAS path read it.
 * forward_rows runs the same kernel over row pointers (each row of x anywhere): the
 * session's zero-copy input for samples picked from a data set (session.c).
 *
 * Next: relu.c, activation.c, softmax.c; model.c decides what to fuse; session.c runs it;
 * src/kernels/kernels.h.
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
    int has_bias;        /* 0: nn.Linear(bias=False): the file's bias is zeros */
    float *w_orig, *b_orig; /* with a BatchNorm folded in: the file's W and b (else NULL) */
    void *orig_block;       /* their one allocation */
    int forced;          /* the kernel was asked for (prepare's argument, kept for re-packing) */
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

/* Our kernel on rows x (contiguous) or xp (row pointers); it applies the epilogue in
 * registers before its one store. */
static void dense_run_kernel(const dense *d, const float *x, const float *const *xp, float *y,
                             int64_t batch, tmlp_epilogue ep)
{
    if (xp) d->rows_fn(&d->packed, xp, y, batch, ep);
    else d->fn(&d->packed, x, y, batch, ep);
}

static void dense_forward_blas(const dense *d, const float *x, float *y, int64_t batch, tmlp_epilogue ep);

/* y = act(x W^T + b): our kernel up to the crossover, else BLAS and one pass per row. */
static void dense_forward_act(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                              tmlp_epilogue ep)
{
    const dense *d = (const dense *)l;
    if (d->fn && batch <= d->crossover) {
        dense_run_kernel(d, x, NULL, y, batch, ep);
        return;
    }
    dense_forward_blas(d, x, y, batch, ep);
}

/* y = act(x W^T + b) through BLAS, then one pass per row for the bias and activation. */
static void dense_forward_blas(const dense *d, const float *x, float *y, int64_t batch, tmlp_epilogue ep)
{
    const int64_t out = d->base.out_width;
    dense_matmul(d, x, y, batch);
    for (int64_t r = 0; r < batch; r++) {
        float *yr = y + r * out;
        if (ep.act == TMLP_ACT_RELU) {
            bias_relu_row(yr, d->bias, out);
        } else {
            bias_add_row(yr, d->bias, out);
            tmlp_act_apply(d->kernel, ep, yr, out);
        }
    }
}

static void dense_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                          float *scratch)
{
    (void)scratch;
    dense_forward_act(l, x, y, batch, TMLP_EPILOGUE_NONE);
}

/* Rows in place (no gathered copy) when our F32 kernel runs this batch; BLAS wants one
 * contiguous x, so larger batches (and BF16 / INT8, which convert rows anyway) say no. */
static bool dense_rows_ok(const tmlp_layer *l, int64_t batch)
{
    const dense *d = (const dense *)l;
    return d->rows_fn && batch <= d->crossover;
}

static void dense_forward_rows(const tmlp_layer *l, const float *const *xp, float *y, int64_t batch,
                               tmlp_epilogue ep)
{
    dense_run_kernel((const dense *)l, NULL, xp, y, batch, ep);
}

/* --- Intra-op threads (session.c's pool) ------------------------------------------------
 * Batch 1 on our kernel: output panels [P0, P1) of part `part` (in pairs), as a view of the packed
 * weights that starts at panel P0 (every per-output array shifted by 64 * P0 outputs); the
 * kernel then writes y[64 P0 .. 64 P1). Each output's sum runs over k in the same order as
 * on one thread, so the split is bit-exact. Larger batches: rows [r0, r1), cut in multiples
 * of 4 (the kernels' row groups), each part running the same kernel or BLAS call on its rows
 * (BLAS's own blocking may then sum in another order: within rounding). */

/* Multiply-adds below which a layer runs on one thread: waking a worker costs ~5-30 us on
 * a busy machine, ~10 us of one core's work at this size. */
#define DENSE_SPLIT_MIN_MACS 32768

static bool dense_split_ok(const tmlp_layer *l, int64_t batch)
{
    const dense *d = (const dense *)l;
    if (batch == 1 && !(d->fn && d->packed.n_panels >= 3)) return false; /* sgemv or one pair */
    return (double)batch * (double)l->in_width * (double)l->out_width >= DENSE_SPLIT_MIN_MACS;
}

/* The packed panels [p0, p0 + n) of p, as a tmlp_packed of their own. */
static tmlp_packed packed_panels(const tmlp_packed *p, int64_t p0, int64_t n)
{
    tmlp_packed v = *p;
    const int64_t j0 = p0 * TMLP_PANEL;
    v.n_panels = n;
    v.out = (p0 + n) * TMLP_PANEL < p->out ? n * TMLP_PANEL : p->out - j0;
    if (v.w) v.w += j0 * p->in;
    if (v.wb) v.wb += j0 * p->kp;
    if (v.wq) v.wq += j0 * p->kp;
    if (v.wscale) v.wscale += j0;
    if (v.wsum) v.wsum += j0;
    v.bias += j0;
    return v;
}

static void dense_forward_part(const tmlp_layer *l, const float *x, const float *const *xp, float *y,
                               int64_t batch, tmlp_epilogue ep, int part, int parts)
{
    const dense *d = (const dense *)l;
    const int64_t in = l->in_width, out = l->out_width;
    if (batch == 1 && d->fn) {
        /* in pairs of panels: avx512.c streams full panels two at a time at batch 1 on some
         * sizes, each output summed in one chain; a view starting at an even panel pairs
         * exactly as the whole layer does */
        const int64_t np = d->packed.n_panels, units = (np + 1) / 2;
        const int64_t u0 = units * part / parts, u1 = units * (part + 1) / parts;
        const int64_t p0 = 2 * u0, p1 = 2 * u1 < np ? 2 * u1 : np;
        if (p1 <= p0) return;
        const tmlp_packed v = packed_panels(&d->packed, p0, p1 - p0);
        if (xp) d->rows_fn(&v, xp, y + p0 * TMLP_PANEL, 1, ep);
        else d->fn(&v, x, y + p0 * TMLP_PANEL, 1, ep);
        return;
    }
    const int64_t chunk = (batch + 4 * parts - 1) / (4 * parts) * 4;
    const int64_t r0 = chunk * part, r1 = r0 + chunk < batch ? r0 + chunk : batch;
    if (r1 <= r0) return;
    /* the path of the whole batch, so every part runs what one thread would */
    if (xp || (d->fn && batch <= d->crossover))
        dense_run_kernel(d, xp ? NULL : x + r0 * in, xp ? xp + r0 : NULL, y + r0 * out, r1 - r0, ep);
    else dense_forward_blas(d, x + r0 * in, y + r0 * out, r1 - r0, ep);
}

/* weight (out, in), then bias (out) if the layer has one: PyTorch's "<i>.weight", "<i>.bias"
 * — the file's values (before any BatchNorm was folded in). */
static int dense_tensors(const tmlp_layer *l, tmlp_layer_tensor *t)
{
    const dense *d = (const dense *)l;
    float *w = d->orig_block ? d->w_orig : d->weight, *b = d->orig_block ? d->b_orig : d->bias;
    t[0] = (tmlp_layer_tensor){"weight", w, 2, {l->out_width, l->in_width}, false, true, 0};
    t[1] = (tmlp_layer_tensor){"bias", b, 1, {l->out_width, 0}, true, d->has_bias != 0, 0};
    return 2;
}

/* New file values were written through dense_tensors: run them as they are (the folds are
 * then applied again, in order, by the BatchNorms after this layer). */
static void dense_set_present(tmlp_layer *l, unsigned present)
{
    dense *d = (dense *)l;
    const size_t nb = (size_t)l->out_width * sizeof(float);
    d->has_bias = (present & 2u) != 0;
    if (!d->has_bias) memset(d->orig_block ? d->b_orig : d->bias, 0, nb);
    if (!d->orig_block) return;
    memcpy(d->weight, d->w_orig, (size_t)l->out_width * (size_t)l->in_width * sizeof(float));
    memcpy(d->bias, d->b_orig, nb);
}

static int64_t dense_param_count(const tmlp_layer *l)
{
    return l->out_width * l->in_width + (((const dense *)l)->has_bias ? l->out_width : 0);
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
    d->forced = forced;
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
    tmlp_mem_free(a, d->orig_block);
    tmlp_mem_free(a, d->block);
    tmlp_mem_free(a, d);
}

static const tmlp_layer_ops dense_ops = {
    .name = "linear",
    .kind = TMLP_LAYER_DENSE,
    .in_place = false,
    .forward = dense_forward,
    .forward_act = dense_forward_act,
    .rows_ok = dense_rows_ok,
    .forward_rows = dense_forward_rows,
    .forward_part = dense_forward_part,
    .split_ok = dense_split_ok,
    .tensors = dense_tensors,
    .set_present = dense_set_present,
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
    tmlp_mem_advise_huge(d->block, bytes); /* 2 MB pages for the BLAS path too (pack.c) */
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
    d->has_bias = bias != NULL;
    *out_layer = &d->base;
    return TMLP_OK;
}

float *tmlp_dense_weight(tmlp_layer *l) { return ((dense *)l)->weight; }
float *tmlp_dense_bias(tmlp_layer *l) { return ((dense *)l)->bias; }
void tmlp_dense_set_has_bias(tmlp_layer *l) { ((dense *)l)->has_bias = 1; }


/* Keep the file's W and b aside before the first fold changes them. */
static tmlp_status dense_keep_orig(dense *d, const tmlp_allocator *a, tmlp_error *err)
{
    if (d->orig_block) return TMLP_OK;
    const size_t nw = (size_t)d->base.out_width * (size_t)d->base.in_width; /* fits: see create */
    const size_t bytes = (nw + (size_t)d->base.out_width) * sizeof(float);
    d->orig_block = tmlp_mem_alloc(a, bytes);
    if (!d->orig_block)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "dense %lldx%lld: out of memory for %zu bytes folding a batchnorm",
                              (long long)d->base.out_width, (long long)d->base.in_width, bytes);
    d->w_orig = d->orig_block;
    d->b_orig = d->w_orig + nw;
    memcpy(d->w_orig, d->weight, nw * sizeof(float));
    memcpy(d->b_orig, d->bias, (size_t)d->base.out_width * sizeof(float));
    return TMLP_OK;
}

tmlp_status tmlp_dense_fold_batchnorm(tmlp_layer *l, const tmlp_allocator *a, const float *mean,
                                      const float *var, const float *gamma, const float *beta,
                                      float eps, tmlp_error *err)
{
    dense *d = (dense *)l;
    tmlp_status st = dense_keep_orig(d, a, err);
    if (st != TMLP_OK) return st;
    const int64_t in = l->in_width;
    for (int64_t j = 0; j < l->out_width; j++) {
        const double s = tmlp_bn_scale(var[j], gamma ? gamma[j] : 1.0f, eps);
        float *wj = d->weight + j * in; /* row j of W: output j's weights */
        for (int64_t k = 0; k < in; k++) wj[k] = (float)((double)wj[k] * s);
        const double shift = beta ? (double)beta[j] : 0.0;
        d->bias[j] = (float)(((double)d->bias[j] - (double)mean[j]) * s + shift);
    }
    /* Out of memory leaves fn NULL: the BLAS path reads W itself (correct, slower). */
    (void)dense_prepare(l, a, d->kernel, d->forced, d->precision, NULL);
    return TMLP_OK;
}
