/* log_softmax.c — row-wise log-softmax (nn.LogSoftmax(dim=-1)): log-probabilities.
 *
 *     y[r][j] = x[r][j] - m_r - log(sum_k exp(x[r][k] - m_r)),   m_r = max_k x[r][k]
 *     x:(B, n) -> y:(B, n), may run in place (y == x).
 *
 * Never log(softmax(x)): a probability that underflows to 0 would give -inf where the true
 * value is, say, -120. With the maximum subtracted every exponent is <= 0 and the sum is
 * in [1, n], so its log is in [0, log n]; the row is computed in double and rounded once.
 *
 * Rows the formula leaves undefined get the log of what softmax.c gives them:
 *   - a row containing NaN       -> every output NaN;
 *   - a row of all -Inf          -> -log(n) everywhere (log of the uniform 1/n);
 *   - a row with k entries +Inf  -> -log(k) on those entries, -Inf elsewhere.
 *
 * Next: softmax.c (the same special rows, in probabilities).
 */
#include "layer.h"

#include "internal.h"

#include <math.h>

/* The rows the formula leaves undefined (see the top of the file). */
static void log_softmax_special_row(const float *xr, float *yr, int64_t n, int has_nan, float m)
{
    if (has_nan) {
        for (int64_t j = 0; j < n; j++) yr[j] = NAN;
    } else if (m < 0) { /* all -Inf */
        const float v = (float)-log((double)n);
        for (int64_t j = 0; j < n; j++) yr[j] = v;
    } else { /* some +Inf */
        int64_t k = 0;
        for (int64_t j = 0; j < n; j++) k += isinf(xr[j]) && xr[j] > 0;
        const float v = (float)-log((double)k);
        for (int64_t j = 0; j < n; j++) yr[j] = isinf(xr[j]) && xr[j] > 0 ? v : -INFINITY;
    }
}

static void log_softmax_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
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
            log_softmax_special_row(xr, yr, n, has_nan, m);
            continue;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < n; j++) sum += exp((double)xr[j] - (double)m);
        const double shift = (double)m + log(sum); /* y = x - shift */
        for (int64_t j = 0; j < n; j++) yr[j] = (float)((double)xr[j] - shift);
    }
}

static int64_t log_softmax_flops(const tmlp_layer *l) { return 3 * l->out_width; }

static const tmlp_layer_ops log_softmax_ops = {
    .name = "log_softmax",
    .kind = TMLP_LAYER_LOG_SOFTMAX,
    .in_place = true,
    .forward = log_softmax_forward,
    .param_count = tmlp_layer_plain_param_count,
    .flops_per_sample = log_softmax_flops,
    .destroy = tmlp_layer_plain_destroy,
};

tmlp_status tmlp_log_softmax_create(const tmlp_allocator *a, int64_t width,
                                    tmlp_layer **out_layer, tmlp_error *err)
{
    return tmlp_layer_plain_create(a, &log_softmax_ops, width, out_layer, err);
}
