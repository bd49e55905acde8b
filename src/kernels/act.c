/* act.c — the activations of act.h: the scalar reference and tmlp_act_apply.
 *
 * tmlp_act_scalar is the oracle every vector path and every kernel epilogue is tested
 * against, so it computes in double with libm (exp, tanh, erfc) and rounds once to float:
 * its result is within about half a float ulp of the true value. Edge behaviour, which
 * every vector path reproduces:
 *
 *     NaN in  -> NaN out, except ReLU (max(NaN, 0) = 0, the maxps rule)
 *     GELU, GELU_TANH, SILU at -inf -> -0 (x * P(x) with P -> 0 faster than x grows)
 *     TANH, SIGMOID saturate exactly: +-1, 0 and 1
 *
 * GELU uses 1 + erf(z) = erfc(-z) so that its negative tail keeps relative accuracy
 * (1 + erf(z) cancels to 0 long before GELU does); GELU_TANH uses
 * 0.5 (1 + tanh(w)) = 1 / (1 + exp(-2w)) for the same reason; both are the same function.
 */
#include "act.h"

#include "kernels.h"
#include "norm.h"

#include <math.h>

/* sqrt(2/pi), the GELU_TANH constant */
#define TMLP_GELU_TANH_K 0.7978845608028654

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

float tmlp_act_scalar(tmlp_epilogue ep, float x)
{
    const double d = x;
    switch (ep.act) {
    case TMLP_ACT_NONE: return x;
    case TMLP_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case TMLP_ACT_LEAKY_RELU: return x >= 0.0f ? x : ep.alpha * x;
    case TMLP_ACT_TANH: return (float)tanh(d);
    case TMLP_ACT_SIGMOID: return (float)sigmoid_d(d);
    case TMLP_ACT_SILU:
        if (isinf(x) && x < 0.0f) return -0.0f;
        return (float)(d * sigmoid_d(d));
    case TMLP_ACT_GELU:
        if (isinf(x) && x < 0.0f) return -0.0f;
        return (float)(0.5 * d * erfc(-d * M_SQRT1_2));
    case TMLP_ACT_GELU_TANH: {
        if (isinf(x) && x < 0.0f) return -0.0f;
        const double w = TMLP_GELU_TANH_K * d * (1.0 + 0.044715 * d * d);
        return (float)(d * sigmoid_d(2.0 * w));
    }
    }
    return x;
}

/* The vector unit kernel k asks for, if the CPU has it; BLAS and AUTO: the best it has.
 * A k the CPU lacks falls back the same way (tmlp_kernel_resolve never lets one through). */
static tmlp_kernel act_unit(tmlp_kernel k)
{
    if (k == TMLP_KERNEL_SCALAR) return k;
    if (k == TMLP_KERNEL_AVX2 && tmlp_kernel_available(k)) return k;
    if (tmlp_kernel_available(TMLP_KERNEL_AVX512)) return TMLP_KERNEL_AVX512;
    if (tmlp_kernel_available(TMLP_KERNEL_AVX2)) return TMLP_KERNEL_AVX2;
    return TMLP_KERNEL_SCALAR;
}

void tmlp_act_apply(tmlp_kernel k, tmlp_epilogue ep, float *y, int64_t n)
{
    if (ep.act == TMLP_ACT_NONE || n <= 0) return;
    switch (act_unit(k)) {
#if defined(__x86_64__) && defined(__GNUC__)
    case TMLP_KERNEL_AVX512: tmlp_act_apply_avx512(ep, y, n); return;
    case TMLP_KERNEL_AVX2: tmlp_act_apply_avx2(ep, y, n); return;
#endif
    default:
        for (int64_t i = 0; i < n; i++) y[i] = tmlp_act_scalar(ep, y[i]);
        return;
    }
}

int tmlp_layernorm_rows(tmlp_kernel k, const float *x, float *y, int64_t batch, int64_t n,
                        const float *gamma, const float *beta, float eps)
{
    switch (act_unit(k)) {
#if defined(__x86_64__) && defined(__GNUC__)
    case TMLP_KERNEL_AVX512: tmlp_layernorm_rows_avx512(x, y, batch, n, gamma, beta, eps); return 0;
    case TMLP_KERNEL_AVX2: tmlp_layernorm_rows_avx2(x, y, batch, n, gamma, beta, eps); return 0;
#endif
    default:
        (void)x, (void)y, (void)batch, (void)n, (void)gamma, (void)beta, (void)eps;
        return -1;
    }
}

int tmlp_vmath_eval(tmlp_kernel k, tmlp_vmath_fn f, const float *x, float *y, int64_t n)
{
    if ((unsigned)f >= TMLP_VMATH_COUNT || !tmlp_kernel_available(k)) return -1;
#if defined(__x86_64__) && defined(__GNUC__)
    if (k == TMLP_KERNEL_AVX512) {
        tmlp_vmath_eval_avx512(f, x, y, n);
        return 0;
    }
    if (k == TMLP_KERNEL_AVX2) {
        tmlp_vmath_eval_avx2(f, x, y, n);
        return 0;
    }
#endif
    (void)x;
    (void)y;
    (void)n;
    return -1;
}
