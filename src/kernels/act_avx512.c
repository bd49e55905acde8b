/* act_avx512.c — tmlp_act_apply and tmlp_vmath_eval on AVX-512F (compiled alone with
 * -mavx512f; act.c calls it only when cpuid reports AVX-512F). One loop per function,
 * chosen once outside the loop; the last n % 16 elements by masked load and store. */
#include "act.h"
#include "vmath_avx512.h"

/* dst[i] = EXPR(v) over i < n, v = src[i] as a vector; src and dst may be the same. */
#define TMLP_V16_LOOP(src, dst, n, EXPR)                                                 \
    do {                                                                                 \
        int64_t i_ = 0;                                                                  \
        for (; i_ + 16 <= (n); i_ += 16) {                                               \
            const __m512 v = _mm512_loadu_ps((src) + i_);                                \
            _mm512_storeu_ps((dst) + i_, (EXPR));                                        \
        }                                                                                \
        if (i_ < (n)) {                                                                  \
            const __mmask16 m_ = (__mmask16)((1u << ((n) - i_)) - 1);                    \
            const __m512 v = _mm512_maskz_loadu_ps(m_, (src) + i_);                      \
            _mm512_mask_storeu_ps((dst) + i_, m_, (EXPR));                               \
        }                                                                                \
    } while (0)

void tmlp_act_apply_avx512(tmlp_epilogue ep, float *y, int64_t n)
{
    switch (ep.act) {
    case TMLP_ACT_NONE: break;
    case TMLP_ACT_RELU: TMLP_V16_LOOP(y, y, n, _mm512_max_ps(v, _mm512_setzero_ps())); break;
    case TMLP_ACT_LEAKY_RELU: TMLP_V16_LOOP(y, y, n, tmlp_v16_leaky_relu(v, ep.alpha)); break;
    case TMLP_ACT_GELU: TMLP_V16_LOOP(y, y, n, tmlp_v16_gelu(v)); break;
    case TMLP_ACT_GELU_TANH: TMLP_V16_LOOP(y, y, n, tmlp_v16_gelu_tanh(v)); break;
    case TMLP_ACT_TANH: TMLP_V16_LOOP(y, y, n, tmlp_v16_tanh(v)); break;
    case TMLP_ACT_SIGMOID: TMLP_V16_LOOP(y, y, n, tmlp_v16_sigmoid(v)); break;
    case TMLP_ACT_SILU: TMLP_V16_LOOP(y, y, n, tmlp_v16_silu(v)); break;
    }
}

void tmlp_vmath_eval_avx512(tmlp_vmath_fn f, const float *x, float *y, int64_t n)
{
    switch (f) {
    case TMLP_VMATH_EXP: TMLP_V16_LOOP(x, y, n, tmlp_v16_exp(v)); break;
    case TMLP_VMATH_TANH: TMLP_V16_LOOP(x, y, n, tmlp_v16_tanh(v)); break;
    case TMLP_VMATH_ERF: TMLP_V16_LOOP(x, y, n, tmlp_v16_erf(v)); break;
    case TMLP_VMATH_SIGMOID: TMLP_V16_LOOP(x, y, n, tmlp_v16_sigmoid(v)); break;
    case TMLP_VMATH_GELU: TMLP_V16_LOOP(x, y, n, tmlp_v16_gelu(v)); break;
    case TMLP_VMATH_GELU_TANH: TMLP_V16_LOOP(x, y, n, tmlp_v16_gelu_tanh(v)); break;
    case TMLP_VMATH_SILU: TMLP_V16_LOOP(x, y, n, tmlp_v16_silu(v)); break;
    }
}
