/* relu.c — the rectifier: y = max(x, 0), elementwise.  x:(B, n) -> y:(B, n).
 *
 * It works in place (y == x), so the session runs it on the activation buffer the
 * previous layer wrote. After a Dense layer the session does not run it at all: its
 * epilogue (TMLP_ACT_RELU) makes the Dense clamp while adding the bias (see dense.c). The loop is branch-free
 * (SSE maxps) for the same reason as there: a data-dependent branch mispredicts.
 * max(NaN, 0) is 0 here and in dense.c's fused path, so both give identical bits.
 */
#include "layer.h"

#include "internal.h"

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

static void relu_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                         float *scratch)
{
    (void)scratch;
    const int64_t n = batch * l->out_width;
    int64_t i = 0;
#if defined(__SSE__)
    const __m128 zero = _mm_setzero_ps();
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _mm_max_ps(_mm_loadu_ps(x + i), zero));
#endif
    for (; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static tmlp_epilogue relu_epilogue(const tmlp_layer *l)
{
    (void)l;
    return TMLP_EPILOGUE_RELU;
}

static int64_t relu_flops(const tmlp_layer *l) { return l->out_width; }

static const tmlp_layer_ops relu_ops = {
    .name = "relu",
    .kind = TMLP_LAYER_RELU,
    .in_place = true,
    .forward = relu_forward,
    .epilogue = relu_epilogue,
    .param_count = tmlp_layer_plain_param_count,
    .flops_per_sample = relu_flops,
    .destroy = tmlp_layer_plain_destroy,
};

tmlp_status tmlp_relu_create(const tmlp_allocator *a, int64_t width, tmlp_layer **out_layer,
                             tmlp_error *err)
{
    return tmlp_layer_plain_create(a, &relu_ops, width, out_layer, err);
}
