/* softmax.c — row-wise softmax: turns each row of logits into probabilities.
 *
 *     y[r][j] = exp(x[r][j] - m_r) / sum_k exp(x[r][k] - m_r),   m_r = max_k x[r][k]
 *     x:(B, n) -> y:(B, n), may run in place (y == x).
 *
 * Subtracting the row maximum changes nothing mathematically (it cancels between the
 * numerator and the sum) but keeps every exponent <= 0: exp never overflows, the largest
 * term is exactly exp(0) = 1, so the sum is in [1, n] and the division is safe. Without
 * it, softmax([1000, 0]) computes exp(1000) = inf and returns NaN.
 *
 * Rows the formula leaves undefined get the limit of the formula, or NaN:
 *   - a row containing NaN       -> every output NaN (garbage in is not hidden: accuracy
 *                                   mode counts a NaN output as an error);
 *   - a row of all -Inf          -> uniform 1/n (the limit of equal logits going to -Inf);
 *   - a row with k entries +Inf  -> 1/k on those entries, 0 elsewhere (the limit as they grow).
 * Any other row is finite after the max subtraction and takes the fast path.
 */
#include "layer.h"

#include "internal.h"

#include <math.h>

/* The rows the formula leaves undefined (see the top of the file). */
static void softmax_special_row(const float *xr, float *yr, int64_t n, int has_nan, float m)
{
    if (has_nan) {
        for (int64_t j = 0; j < n; j++) yr[j] = NAN;
    } else if (m < 0) { /* all -Inf */
        for (int64_t j = 0; j < n; j++) yr[j] = 1.0f / (float)n;
    } else { /* some +Inf */
        int64_t k = 0;
        for (int64_t j = 0; j < n; j++) k += isinf(xr[j]) && xr[j] > 0;
        for (int64_t j = 0; j < n; j++) yr[j] = isinf(xr[j]) && xr[j] > 0 ? 1.0f / (float)k : 0.0f;
    }
}

static void softmax_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                            float *scratch)
{
    (void)scratch;
    const int64_t n = l->out_width;
    for (int64_t r = 0; r < batch; r++) {
        const float *xr = x + r * n; /* row r of the input */
        float *yr = y + r * n;
        int has_nan;
        const float m = tmlp_row_max(xr, n, &has_nan);
        if (has_nan || isinf(m)) {
            softmax_special_row(xr, yr, n, has_nan, m);
            continue;
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < n; j++) {
            yr[j] = expf(xr[j] - m);
            sum += yr[j];
        }
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < n; j++) yr[j] *= inv;
    }
}

static int64_t softmax_flops(const tmlp_layer *l) { return 3 * l->out_width; }

static const tmlp_layer_ops softmax_ops = {
    .name = "softmax",
    .kind = TMLP_LAYER_SOFTMAX,
    .in_place = true,
    .forward = softmax_forward,
    .param_count = tmlp_layer_plain_param_count,
    .flops_per_sample = softmax_flops,
    .destroy = tmlp_layer_plain_destroy,
};

tmlp_status tmlp_softmax_create(const tmlp_allocator *a, int64_t width,
                                tmlp_layer **out_layer, tmlp_error *err)
{
    return tmlp_layer_plain_create(a, &softmax_ops, width, out_layer, err);
}
