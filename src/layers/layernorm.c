/* layernorm.c — layer normalisation over the feature axis (nn.LayerNorm(n, eps)).
 *
 *     per row r:  mean = (1/n) sum_j x[j],   var = (1/n) sum_j (x[j] - mean)^2   (biased)
 *                 y[j] = (x[j] - mean) / sqrt(var + eps) * gamma[j] + beta[j]
 *     x:(B, n) -> y:(B, n), gamma, beta:(n); may run in place (y == x).
 *
 * The scalar kernel runs the reference below; avx2 and avx512 (and blas/auto: the best unit
 * cpuid reports) run src/kernels/norm_avx2.c / norm_avx512.c, float lanes with the
 * corrected two-pass algorithm (norm.h), held to this reference by tests/test_layers.c.
 *
 * The reference: two passes in double: first the mean, then the squared deviations from it. The
 * one-pass E[x^2] - E[x]^2 cancels catastrophically when the features share a large
 * offset (x = 1e4 + noise: both terms are 1e8 and their difference is noise^2); in two
 * passes each deviation is exact and the variance keeps full precision. Each output is
 * rounded to float once.
 *
 * Without elementwise affine (PyTorch's elementwise_affine=False) gamma holds 1 and beta
 * 0, `affine` is 0, and tensors() lists no weight and bias (save writes none).
 *
 * Next: batchnorm.c (the per-feature normalisation with fixed statistics).
 */
#include "layer.h"

#include "internal.h"
#include "kernels/norm.h"

#include <math.h>
#include <string.h>

typedef struct layernorm {
    tmlp_layer base; /* must be first */
    float eps;
    int affine;      /* gamma and beta came from the caller (else 1 and 0) */
    tmlp_kernel kernel; /* whose vector unit runs it (from prepare; scalar until then) */
    float *gamma;    /* (n), in the same allocation as the struct */
    float *beta;     /* (n) */
} layernorm;

static void layernorm_row(const layernorm *ln, const float *xr, float *yr, int64_t n)
{
    double mean = 0.0;
    for (int64_t j = 0; j < n; j++) mean += xr[j];
    mean /= (double)n;
    double var = 0.0;
    for (int64_t j = 0; j < n; j++) {
        const double d = (double)xr[j] - mean;
        var += d * d;
    }
    var /= (double)n;
    const double rstd = 1.0 / sqrt(var + (double)ln->eps);
    for (int64_t j = 0; j < n; j++)
        yr[j] = (float)(((double)xr[j] - mean) * rstd * ln->gamma[j] + ln->beta[j]);
}

static void layernorm_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                              float *scratch)
{
    (void)scratch;
    const layernorm *ln = (const layernorm *)l;
    const int64_t n = l->out_width;
    if (tmlp_layernorm_rows(ln->kernel, x, y, batch, n, ln->gamma, ln->beta, ln->eps) == 0) return;
    for (int64_t r = 0; r < batch; r++) layernorm_row((const layernorm *)l, x + r * n, y + r * n, n);
}

static tmlp_status layernorm_prepare(tmlp_layer *l, const tmlp_allocator *al, tmlp_kernel k,
                                     int forced, tmlp_precision prec, tmlp_error *err)
{
    (void)al, (void)forced, (void)prec, (void)err;
    ((layernorm *)l)->kernel = k;
    return TMLP_OK;
}

static float layernorm_param(const tmlp_layer *l) { return ((const layernorm *)l)->eps; }

/* "weight" = gamma and "bias" = beta, both (n), present together or not at all. */
static int layernorm_tensors(const tmlp_layer *l, tmlp_layer_tensor *t)
{
    const layernorm *ln = (const layernorm *)l;
    const bool a = ln->affine != 0;
    t[0] = (tmlp_layer_tensor){"weight", ln->gamma, 1, {l->out_width, 0}, true, a, 1};
    t[1] = (tmlp_layer_tensor){"bias", ln->beta, 1, {l->out_width, 0}, true, a, 1};
    return 2;
}

static void layernorm_set_present(tmlp_layer *l, unsigned present)
{
    layernorm *ln = (layernorm *)l;
    ln->affine = (present & 3u) == 3u;
    if (ln->affine) return;
    for (int64_t j = 0; j < l->out_width; j++) {
        ln->gamma[j] = 1.0f;
        ln->beta[j] = 0.0f;
    }
}

static int64_t layernorm_param_count(const tmlp_layer *l)
{
    return ((const layernorm *)l)->affine ? 2 * l->out_width : 0;
}

/* mean n, variance 2n, normalise and scale 4n */
static int64_t layernorm_flops(const tmlp_layer *l) { return 7 * l->out_width; }

static void layernorm_destroy(tmlp_layer *l, const tmlp_allocator *a) { tmlp_mem_free(a, l); }

static const tmlp_layer_ops layernorm_ops = {
    .name = "layernorm",
    .kind = TMLP_LAYER_LAYERNORM,
    .in_place = true,
    .forward = layernorm_forward,
    .prepare = layernorm_prepare,
    .param = layernorm_param,
    .tensors = layernorm_tensors,
    .set_present = layernorm_set_present,
    .param_count = layernorm_param_count,
    .flops_per_sample = layernorm_flops,
    .destroy = layernorm_destroy,
};

tmlp_status tmlp_layernorm_create(const tmlp_allocator *a, int64_t width, const float *gamma,
                                  const float *beta, float eps, tmlp_layer **out_layer,
                                  tmlp_error *err)
{
    size_t bytes;
    if (width < 1 || width > INT32_MAX || !tmlp_size_mul(2 * (size_t)width, sizeof(float), &bytes) ||
        bytes > SIZE_MAX - sizeof(layernorm))
        return tmlp_error_set(err, TMLP_ERR_ARG, "layernorm: width %lld not in [1, 2^31)", (long long)width);
    layernorm *ln = tmlp_mem_alloc(a, sizeof *ln + bytes);
    if (!ln) return tmlp_error_set(err, TMLP_ERR_NOMEM, "layernorm: out of memory for the layer");
    ln->base.ops = &layernorm_ops;
    ln->base.in_width = ln->base.out_width = width;
    ln->eps = eps;
    ln->kernel = TMLP_KERNEL_SCALAR;
    ln->gamma = (float *)(ln + 1);
    ln->beta = ln->gamma + width;
    if (gamma && beta) {
        memcpy(ln->gamma, gamma, (size_t)width * sizeof(float));
        memcpy(ln->beta, beta, (size_t)width * sizeof(float));
    }
    layernorm_set_present(&ln->base, gamma && beta ? 3u : 0u);
    *out_layer = &ln->base;
    return TMLP_OK;
}
