/* vmath_avx2.h (private) — exp, tanh, erf, erfc, sigmoid, GELU, GELU_TANH, SiLU on 8
 * floats (__m256), static inline so a kernel's store epilogue inlines them. Include only
 * from files compiled with -mavx2 -mfma. The same approximations as vmath_avx512.h (read
 * that file first; constants and reasons in vmath_coef.h); the one difference is 2^n:
 * AVX2 has no vscalefps, so exp builds 2^n from exponent bits in two halves (below).
 *
 * Edges as in vmath_avx512.h: NaN propagates, exp gives +inf / denormals / 0, tanh, erf,
 * sigmoid saturate exactly, GELU, GELU_TANH and SiLU are -0 at -inf.
 */
#ifndef TMLP_VMATH_AVX2_H
#define TMLP_VMATH_AVX2_H

#include "act.h"
#include "vmath_coef.h"

#include <float.h>
#include <immintrin.h>

#define TMLP_V8(c) _mm256_set1_ps(c)

static inline __m256 tmlp_v8_abs(__m256 x)
{
    return _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7fffffff)));
}

/* mag with the sign bit of x */
static inline __m256 tmlp_v8_copysign(__m256 mag, __m256 x)
{
    const __m256 s = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, x));
}

/* m 2^n for integral n in [-252, 254] (exp_parts gives [-245, 129]): 2^n as two normal
 * factors 2^(n>>1) and 2^(n - (n>>1)) built from exponent bits; m s1 is exact for the m
 * callers pass, so only the last multiply rounds, and overflow (inf), denormal results and
 * 0 come out as the true product would (vscalefps in vmath_avx512.h). */
static inline __m256 tmlp_v8_scale(__m256 m, __m256 n)
{
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(m, s1), s2);
}

/* e^x = p 2^n as tmlp_v16_exp_parts. */
static inline __m256 tmlp_v8_exp_parts(__m256 x, __m256 *n)
{
    x = _mm256_max_ps(TMLP_V8(TMLP_VM_EXP_LO), _mm256_min_ps(TMLP_V8(TMLP_VM_EXP_HI), x));
    *n = _mm256_round_ps(_mm256_mul_ps(x, TMLP_V8(TMLP_VM_LOG2E)),
                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(*n, TMLP_V8(TMLP_VM_LN2_HI), x);
    r = _mm256_fnmadd_ps(*n, TMLP_V8(TMLP_VM_LN2_LO), r);
    __m256 q = _mm256_fmadd_ps(TMLP_V8(TMLP_VM_EXP_Q4), r, TMLP_V8(TMLP_VM_EXP_Q3));
    q = _mm256_fmadd_ps(q, r, TMLP_V8(TMLP_VM_EXP_Q2));
    q = _mm256_fmadd_ps(q, r, TMLP_V8(TMLP_VM_EXP_Q1));
    q = _mm256_fmadd_ps(q, r, TMLP_V8(TMLP_VM_EXP_Q0));
    return _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(r, r), q, r), TMLP_V8(1.0f));
}

static inline __m256 tmlp_v8_exp(__m256 x)
{
    __m256 n;
    const __m256 p = tmlp_v8_exp_parts(x, &n);
    return tmlp_v8_scale(p, n);
}

static inline __m256 tmlp_v8_tanh(__m256 x)
{
    const __m256 ax = tmlp_v8_abs(x), x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(TMLP_V8(TMLP_VM_TANH_P5), x2, TMLP_V8(TMLP_VM_TANH_P4));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_TANH_P3));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_TANH_P2));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_TANH_P1));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_TANH_P0));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, x2), p, x);
    const __m256 e = tmlp_v8_exp(_mm256_mul_ps(ax, TMLP_V8(-2.0f)));
    const __m256 big = _mm256_div_ps(_mm256_sub_ps(TMLP_V8(1.0f), e), _mm256_add_ps(TMLP_V8(1.0f), e));
    const __m256 is_small = _mm256_cmp_ps(ax, TMLP_V8(TMLP_VM_TANH_SMALL), _CMP_LT_OQ);
    return tmlp_v8_copysign(_mm256_blendv_ps(big, small, is_small), x);
}

static inline __m256 tmlp_v8_erfc_parts(__m256 t, __m256 hi, __m256 lo, __m256 *n)
{
    __m256 s = _mm256_fmadd_ps(TMLP_V8(TMLP_VM_ERFC_S10), t, TMLP_V8(TMLP_VM_ERFC_S9));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S8));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S7));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S6));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S5));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S4));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S3));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S2));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S1));
    s = _mm256_fmadd_ps(s, t, TMLP_V8(TMLP_VM_ERFC_S0));
    __m256 p = tmlp_v8_exp_parts(_mm256_sub_ps(_mm256_setzero_ps(), hi), n);
    p = _mm256_fnmadd_ps(p, lo, p);
    return _mm256_mul_ps(_mm256_mul_ps(t, s), p);
}

static inline __m256 tmlp_v8_erf_small(__m256 x)
{
    const __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(TMLP_V8(TMLP_VM_ERF_P5), x2, TMLP_V8(TMLP_VM_ERF_P4));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_ERF_P3));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_ERF_P2));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_ERF_P1));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_ERF_P0));
    p = _mm256_fmadd_ps(p, x2, TMLP_V8(TMLP_VM_ERF_C0LO));
    return _mm256_fmadd_ps(x, TMLP_V8(TMLP_VM_ERF_C0), _mm256_mul_ps(x, p));
}

static inline __m256 tmlp_v8_erf(__m256 x)
{
    const __m256 small = tmlp_v8_erf_small(x);
    const __m256 z = _mm256_min_ps(TMLP_V8(TMLP_VM_ERF_CLAMP), tmlp_v8_abs(x));
    const __m256 hi = _mm256_mul_ps(z, z), lo = _mm256_fmsub_ps(z, z, hi);
    const __m256 t = _mm256_div_ps(TMLP_V8(2.0f), _mm256_add_ps(TMLP_V8(2.0f), z));
    __m256 n;
    const __m256 m = tmlp_v8_erfc_parts(t, hi, lo, &n);
    const __m256 big = _mm256_sub_ps(TMLP_V8(1.0f), tmlp_v8_scale(m, n));
    const __m256 is_small = _mm256_cmp_ps(tmlp_v8_abs(x), TMLP_V8(TMLP_VM_ERF_SMALL), _CMP_LT_OQ);
    return tmlp_v8_copysign(_mm256_blendv_ps(big, small, is_small), x);
}

static inline __m256 tmlp_v8_sigmoid(__m256 x)
{
    const __m256 e = tmlp_v8_exp(_mm256_sub_ps(_mm256_setzero_ps(), tmlp_v8_abs(x)));
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 num = _mm256_blendv_ps(TMLP_V8(1.0f), e, neg);
    return _mm256_div_ps(num, _mm256_add_ps(TMLP_V8(1.0f), e));
}

static inline __m256 tmlp_v8_silu(__m256 x)
{
    __m256 n;
    const __m256 p = tmlp_v8_exp_parts(_mm256_sub_ps(_mm256_setzero_ps(), tmlp_v8_abs(x)), &n);
    const __m256 xn = _mm256_max_ps(TMLP_V8(TMLP_VM_EXP_LO), x);
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 num = _mm256_blendv_ps(x, tmlp_v8_scale(_mm256_mul_ps(xn, p), n), neg);
    return _mm256_div_ps(num, _mm256_add_ps(TMLP_V8(1.0f), tmlp_v8_scale(p, n)));
}

static inline __m256 tmlp_v8_gelu(__m256 x)
{
    const __m256 a = _mm256_min_ps(TMLP_V8(TMLP_VM_GELU_CLAMP), tmlp_v8_abs(x));
    const __m256 half = TMLP_V8(0.5f), c = TMLP_V8(TMLP_VM_2SQRT2);
    const __m256 t = _mm256_div_ps(c, _mm256_add_ps(c, a));
    const __m256 hi = _mm256_mul_ps(a, a), lo = _mm256_fmsub_ps(a, a, hi);
    __m256 n;
    const __m256 m = _mm256_mul_ps(half, tmlp_v8_erfc_parts(t, _mm256_mul_ps(hi, half),
                                                          _mm256_mul_ps(lo, half), &n));
    const __m256 pos = _mm256_mul_ps(x, _mm256_sub_ps(TMLP_V8(1.0f), tmlp_v8_scale(m, n)));
    const __m256 neg = tmlp_v8_scale(_mm256_mul_ps(_mm256_max_ps(TMLP_V8(-TMLP_VM_GELU_CLAMP), x), m), n);
    const __m256 mid = _mm256_mul_ps(x, _mm256_fmadd_ps(half, tmlp_v8_erf_small(_mm256_mul_ps(x, TMLP_V8(TMLP_VM_SQRT1_2))), half));
    const __m256 r = _mm256_blendv_ps(pos, neg, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_blendv_ps(r, mid, _mm256_cmp_ps(a, TMLP_V8(TMLP_VM_GELU_MID), _CMP_LT_OQ));
}

static inline __m256 tmlp_v8_gelu_tanh(__m256 x)
{
    const __m256 xa = _mm256_max_ps(TMLP_V8(-TMLP_VM_GELU_TANH_CLAMP),
                                    _mm256_min_ps(TMLP_V8(TMLP_VM_GELU_TANH_CLAMP), x));
    const __m256 k1 = TMLP_V8(TMLP_VM_GELU_K1), k3 = TMLP_V8(TMLP_VM_GELU_K3);
    const __m256 x2h = _mm256_mul_ps(xa, xa), x2l = _mm256_fmsub_ps(xa, xa, x2h);
    const __m256 ph = _mm256_mul_ps(k3, x2h), pe = _mm256_fmsub_ps(k3, x2h, ph);
    const __m256 uh = _mm256_add_ps(ph, k1), bb = _mm256_sub_ps(uh, ph);
    const __m256 ue = _mm256_add_ps(_mm256_sub_ps(ph, _mm256_sub_ps(uh, bb)), _mm256_sub_ps(k1, bb));
    __m256 ul = _mm256_fmadd_ps(k3, x2l, _mm256_add_ps(ue, pe));
    ul = _mm256_fmadd_ps(TMLP_V8(TMLP_VM_GELU_K3_LO), x2h, ul);
    ul = _mm256_add_ps(ul, TMLP_V8(TMLP_VM_GELU_K1_LO));
    const __m256 ah = _mm256_mul_ps(xa, uh);
    const __m256 al = _mm256_fmadd_ps(xa, ul, _mm256_fmsub_ps(xa, uh, ah));
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 b = _mm256_sub_ps(_mm256_setzero_ps(), tmlp_v8_abs(ah));
    const __m256 bl = _mm256_blendv_ps(_mm256_sub_ps(_mm256_setzero_ps(), al), al, neg);
    __m256 n;
    __m256 p = tmlp_v8_exp_parts(b, &n);
    p = _mm256_fmadd_ps(p, bl, p);
    const __m256 num = _mm256_blendv_ps(x, tmlp_v8_scale(_mm256_mul_ps(xa, p), n), neg);
    return _mm256_div_ps(num, _mm256_add_ps(TMLP_V8(1.0f), tmlp_v8_scale(p, n)));
}

static inline __m256 tmlp_v8_leaky_relu(__m256 x, float alpha)
{
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(alpha)), neg);
}

static inline __m256 tmlp_v8_act(tmlp_epilogue ep, __m256 t)
{
    switch (ep.act) {
    case TMLP_ACT_NONE: return t;
    case TMLP_ACT_RELU: return _mm256_max_ps(t, _mm256_setzero_ps());
    case TMLP_ACT_LEAKY_RELU: return tmlp_v8_leaky_relu(t, ep.alpha);
    case TMLP_ACT_GELU: return tmlp_v8_gelu(t);
    case TMLP_ACT_GELU_TANH: return tmlp_v8_gelu_tanh(t);
    case TMLP_ACT_TANH: return tmlp_v8_tanh(t);
    case TMLP_ACT_SIGMOID: return tmlp_v8_sigmoid(t);
    case TMLP_ACT_SILU: return tmlp_v8_silu(t);
    }
    return t;
}

/* t[i] = act(t[i]) for i < n, the switch taken once: the kernels' epilogue calls this (out of
 * line, once per block of outputs) for the activations other than NONE and RELU. */
static inline void tmlp_v8_act_n(tmlp_epilogue ep, __m256 *t, int n)
{
    switch (ep.act) {
    case TMLP_ACT_NONE: break;
    case TMLP_ACT_RELU: for (int i = 0; i < n; i++) t[i] = tmlp_v8_act(ep, t[i]); break;
    case TMLP_ACT_LEAKY_RELU: for (int i = 0; i < n; i++) t[i] = tmlp_v8_leaky_relu(t[i], ep.alpha); break;
    case TMLP_ACT_GELU: for (int i = 0; i < n; i++) t[i] = tmlp_v8_gelu(t[i]); break;
    case TMLP_ACT_GELU_TANH: for (int i = 0; i < n; i++) t[i] = tmlp_v8_gelu_tanh(t[i]); break;
    case TMLP_ACT_TANH: for (int i = 0; i < n; i++) t[i] = tmlp_v8_tanh(t[i]); break;
    case TMLP_ACT_SIGMOID: for (int i = 0; i < n; i++) t[i] = tmlp_v8_sigmoid(t[i]); break;
    case TMLP_ACT_SILU: for (int i = 0; i < n; i++) t[i] = tmlp_v8_silu(t[i]); break;
    }
}

#endif
