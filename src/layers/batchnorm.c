/* batchnorm.c — batch normalisation at inference (nn.BatchNorm1d(n, eps) in eval mode).
 *
 *     per feature j:  s[j] = gamma[j] / sqrt(var[j] + eps)        (tmlp_bn_scale, double)
 *                     y[r][j] = (x[r][j] - mean[j]) * s[j] + beta[j]
 *     x:(B, n) -> y:(B, n); mean, var (the running statistics), gamma, beta:(n).
 *
 * At inference the statistics are constants, so the layer is a per-feature affine map.
 * Directly after a Dense (model.c decides) it costs nothing: `fold` rewrites the W and b
 * the Dense runs,
 *     W'[j][:] = W[j][:] * s[j],   b'[j] = (b[j] - mean[j]) * s[j] + beta[j]
 * (dense.c, in double, rounded once), while the Dense keeps the file's W and b and this
 * layer its own parameters: tmlp_model_save writes the file as it was, loading it folds
 * again to the same bits, and tmlp_model_load_weights folds new statistics into new
 * weights. Anywhere else the session runs forward: the formula above per element in
 * double, rounded once (x*s + shift in float would cancel when the mean is large against
 * the output).
 *
 * Without affine (affine=False) gamma holds 1 and beta -0 (x + -0 = x for every x, -0
 * included), and tensors() lists no weight and bias. PyTorch's num_batches_tracked is a training counter: the loader ignores it.
 *
 * Next: layernorm.c; dense.c (tmlp_dense_fold_batchnorm).
 */
#include "layer.h"

#include "internal.h"

#include <string.h>

typedef struct batchnorm {
    tmlp_layer base; /* must be first */
    float eps;
    int affine;      /* gamma and beta came from the caller (else 1 and -0) */
    double *s;       /* (n) gamma / sqrt(var + eps), derived by prepare */
    float *mean, *var, *gamma, *beta; /* (n) each; all in the struct's allocation */
} batchnorm;

static void batchnorm_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                              float *scratch)
{
    (void)scratch;
    const batchnorm *bn = (const batchnorm *)l;
    const int64_t n = l->out_width;
    for (int64_t r = 0; r < batch; r++) {
        const float *xr = x + r * n; /* row r */
        float *yr = y + r * n;
        for (int64_t j = 0; j < n; j++)
            yr[j] = (float)(((double)xr[j] - bn->mean[j]) * bn->s[j] + bn->beta[j]);
    }
}

/* Derive s from the parameters (at append, and after tmlp_model_load_weights). */
static tmlp_status batchnorm_prepare(tmlp_layer *l, const tmlp_allocator *a, tmlp_kernel k,
                                     int forced, tmlp_precision prec, tmlp_error *err)
{
    (void)a, (void)k, (void)forced, (void)prec, (void)err;
    batchnorm *bn = (batchnorm *)l;
    for (int64_t j = 0; j < l->out_width; j++) bn->s[j] = tmlp_bn_scale(bn->var[j], bn->gamma[j], bn->eps);
    return TMLP_OK;
}

/* Into the Dense before it (see the top); this layer keeps its parameters. */
static tmlp_status batchnorm_fold(tmlp_layer *l, tmlp_layer *dense, const tmlp_allocator *a,
                                  tmlp_error *err)
{
    const batchnorm *bn = (const batchnorm *)l;
    return tmlp_dense_fold_batchnorm(dense, a, bn->mean, bn->var, bn->affine ? bn->gamma : NULL,
                                     bn->affine ? bn->beta : NULL, bn->eps, err);
}

static float batchnorm_param(const tmlp_layer *l) { return ((const batchnorm *)l)->eps; }

/* PyTorch's state-dict order: weight, bias (optional, together), running_mean, running_var. */
static int batchnorm_tensors(const tmlp_layer *l, tmlp_layer_tensor *t)
{
    const batchnorm *bn = (const batchnorm *)l;
    const bool a = bn->affine != 0;
    const int64_t n = l->out_width;
    t[0] = (tmlp_layer_tensor){"weight", bn->gamma, 1, {n, 0}, true, a, 1};
    t[1] = (tmlp_layer_tensor){"bias", bn->beta, 1, {n, 0}, true, a, 1};
    t[2] = (tmlp_layer_tensor){"running_mean", bn->mean, 1, {n, 0}, false, true, 0};
    t[3] = (tmlp_layer_tensor){"running_var", bn->var, 1, {n, 0}, false, true, 0};
    return 4;
}

static void batchnorm_set_present(tmlp_layer *l, unsigned present)
{
    batchnorm *bn = (batchnorm *)l;
    bn->affine = (present & 3u) == 3u;
    if (bn->affine) return;
    for (int64_t j = 0; j < l->out_width; j++) {
        bn->gamma[j] = 1.0f;
        bn->beta[j] = -0.0f;
    }
}

static int64_t batchnorm_param_count(const tmlp_layer *l)
{
    return (((const batchnorm *)l)->affine ? 4 : 2) * l->out_width;
}

static int64_t batchnorm_flops(const tmlp_layer *l) { return 3 * l->out_width; }

static void batchnorm_destroy(tmlp_layer *l, const tmlp_allocator *a) { tmlp_mem_free(a, l); }

static const tmlp_layer_ops batchnorm_ops = {
    .name = "batchnorm",
    .kind = TMLP_LAYER_BATCHNORM,
    .in_place = true,
    .forward = batchnorm_forward,
    .fold = batchnorm_fold,
    .param = batchnorm_param,
    .tensors = batchnorm_tensors,
    .set_present = batchnorm_set_present,
    .param_count = batchnorm_param_count,
    .flops_per_sample = batchnorm_flops,
    .prepare = batchnorm_prepare,
    .destroy = batchnorm_destroy,
};

tmlp_status tmlp_batchnorm_create(const tmlp_allocator *a, int64_t width, const float *mean,
                                  const float *var, const float *gamma, const float *beta,
                                  float eps, tmlp_layer **out_layer, tmlp_error *err)
{
    /* struct | s: n doubles | mean, var, gamma, beta: n floats each */
    size_t bytes;
    if (width < 1 || width > INT32_MAX ||
        !tmlp_size_mul((size_t)width, sizeof(double) + 4 * sizeof(float), &bytes) ||
        bytes > SIZE_MAX - sizeof(batchnorm))
        return tmlp_error_set(err, TMLP_ERR_ARG, "batchnorm: width %lld not in [1, 2^31)", (long long)width);
    batchnorm *bn = tmlp_mem_alloc(a, sizeof *bn + bytes);
    if (!bn) return tmlp_error_set(err, TMLP_ERR_NOMEM, "batchnorm: out of memory for the layer");
    const size_t row = (size_t)width * sizeof(float);
    bn->base.ops = &batchnorm_ops;
    bn->base.in_width = bn->base.out_width = width;
    bn->eps = eps;
    bn->s = (double *)(bn + 1);
    bn->mean = (float *)(bn->s + width);
    bn->var = bn->mean + width;
    bn->gamma = bn->var + width;
    bn->beta = bn->gamma + width;
    memcpy(bn->mean, mean, row);
    memcpy(bn->var, var, row);
    if (gamma && beta) {
        memcpy(bn->gamma, gamma, row);
        memcpy(bn->beta, beta, row);
    }
    batchnorm_set_present(&bn->base, gamma && beta ? 3u : 0u);
    (void)batchnorm_prepare(&bn->base, a, TMLP_KERNEL_AUTO, 0, TMLP_PRECISION_AUTO, NULL);
    *out_layer = &bn->base;
    return TMLP_OK;
}
