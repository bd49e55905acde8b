/* act_avx2.c — tmlp_act_apply and tmlp_vmath_eval on AVX2 + FMA (compiled alone with
 * -mavx2 -mfma; act.c calls it only when cpuid reports both). One loop per function,
 * chosen once outside the loop; the last n % 8 elements by masked load and store. */
#include "act.h"
#include "vmath_avx2.h"

/* Lane mask for the first `left` (1..7) of 8 lanes. */
static __m256i tail_mask(int64_t left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), idx);
}

/* dst[i] = EXPR(v) over i < n, v = src[i] as a vector; src and dst may be the same. */
#define TMLP_V8_LOOP(src, dst, n, EXPR)                                                  \
    do {                                                                                 \
        int64_t i_ = 0;                                                                  \
        for (; i_ + 8 <= (n); i_ += 8) {                                                 \
            const __m256 v = _mm256_loadu_ps((src) + i_);                                \
            _mm256_storeu_ps((dst) + i_, (EXPR));                                        \
        }                                                                                \
        if (i_ < (n)) {                                                                  \
            const __m256i m_ = tail_mask((n) - i_);                                      \
            const __m256 v = _mm256_maskload_ps((src) + i_, m_);                         \
            _mm256_maskstore_ps((dst) + i_, m_, (EXPR));                                 \
        }                                                                                \
    } while (0)

void tmlp_act_apply_avx2(tmlp_epilogue ep, float *y, int64_t n)
{
    switch (ep.act) {
    case TMLP_ACT_NONE: break;
    case TMLP_ACT_RELU: TMLP_V8_LOOP(y, y, n, _mm256_max_ps(v, _mm256_setzero_ps())); break;
    case TMLP_ACT_LEAKY_RELU: TMLP_V8_LOOP(y, y, n, tmlp_v8_leaky_relu(v, ep.alpha)); break;
    case TMLP_ACT_GELU: TMLP_V8_LOOP(y, y, n, tmlp_v8_gelu(v)); break;
    case TMLP_ACT_GELU_TANH: TMLP_V8_LOOP(y, y, n, tmlp_v8_gelu_tanh(v)); break;
    case TMLP_ACT_TANH: TMLP_V8_LOOP(y, y, n, tmlp_v8_tanh(v)); break;
    case TMLP_ACT_SIGMOID: TMLP_V8_LOOP(y, y, n, tmlp_v8_sigmoid(v)); break;
    case TMLP_ACT_SILU: TMLP_V8_LOOP(y, y, n, tmlp_v8_silu(v)); break;
    }
}

void tmlp_vmath_eval_avx2(tmlp_vmath_fn f, const float *x, float *y, int64_t n)
{
    switch (f) {
    case TMLP_VMATH_EXP: TMLP_V8_LOOP(x, y, n, tmlp_v8_exp(v)); break;
    case TMLP_VMATH_TANH: TMLP_V8_LOOP(x, y, n, tmlp_v8_tanh(v)); break;
    case TMLP_VMATH_ERF: TMLP_V8_LOOP(x, y, n, tmlp_v8_erf(v)); break;
    case TMLP_VMATH_SIGMOID: TMLP_V8_LOOP(x, y, n, tmlp_v8_sigmoid(v)); break;
    case TMLP_VMATH_GELU: TMLP_V8_LOOP(x, y, n, tmlp_v8_gelu(v)); break;
    case TMLP_VMATH_GELU_TANH: TMLP_V8_LOOP(x, y, n, tmlp_v8_gelu_tanh(v)); break;
    case TMLP_VMATH_SILU: TMLP_V8_LOOP(x, y, n, tmlp_v8_silu(v)); break;
    }
}
