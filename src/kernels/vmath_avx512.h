/* vmath_avx512.h (private) — exp, tanh, erf, erfc, sigmoid, GELU, GELU_TANH, SiLU on 16
 * floats (__m512), static inline so a kernel's store epilogue inlines them. Include only
 * from files compiled with -mavx512f. vmath_avx2.h is the same code on 8 floats; the
 * constants and the reasons are in vmath_coef.h, the measured errors in docs/kernels.md.
 *
 * Edges (every function): NaN in -> NaN out; exp overflows to +inf and underflows to 0
 * (denormal results are produced, not flushed); tanh, erf, sigmoid saturate to exactly
 * +-1 / 0 / 1; GELU, GELU_TANH and SiLU go to -0 at -inf and to x at +inf.
 *
 * NaN survives the clamps because min/max return their second operand when either is NaN:
 * min(C, x) and max(C, x) return x when x is NaN.
 */
#ifndef TMLP_VMATH_AVX512_H
#define TMLP_VMATH_AVX512_H

#include "act.h"
#include "vmath_coef.h"

#include <float.h>
#include <immintrin.h>

#define TMLP_V16(c) _mm512_set1_ps(c)

/* |x| and x's sign bit. */
static inline __m512 tmlp_v16_abs(__m512 x) { return _mm512_abs_ps(x); }
static inline __m512 tmlp_v16_copysign(__m512 mag, __m512 x)
{
    const __m512i s = _mm512_set1_epi32((int)0x80000000u);
    /* bitwise select: sign bit from x, the rest from mag (0xac: s ? x : mag) */
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(s, _mm512_castps_si512(mag),
                                                         _mm512_castps_si512(x), 0xac));
}

/* e^x = p 2^n with p = e^r in [0.7, 1.42] and n integral (a float): n = rint(x log2 e),
 * r = x - n ln2 in [-ln2/2, ln2/2] by two FMAs, e^r by its polynomial. The parts let a
 * caller form m e^x as scalef(m p, n) without a denormal or overflowing intermediate. */
static inline __m512 tmlp_v16_exp_parts(__m512 x, __m512 *n)
{
    x = _mm512_max_ps(TMLP_V16(TMLP_VM_EXP_LO), _mm512_min_ps(TMLP_V16(TMLP_VM_EXP_HI), x));
    *n = _mm512_roundscale_ps(_mm512_mul_ps(x, TMLP_V16(TMLP_VM_LOG2E)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(*n, TMLP_V16(TMLP_VM_LN2_HI), x);
    r = _mm512_fnmadd_ps(*n, TMLP_V16(TMLP_VM_LN2_LO), r);
    __m512 q = _mm512_fmadd_ps(TMLP_V16(TMLP_VM_EXP_Q4), r, TMLP_V16(TMLP_VM_EXP_Q3));
    q = _mm512_fmadd_ps(q, r, TMLP_V16(TMLP_VM_EXP_Q2));
    q = _mm512_fmadd_ps(q, r, TMLP_V16(TMLP_VM_EXP_Q1));
    q = _mm512_fmadd_ps(q, r, TMLP_V16(TMLP_VM_EXP_Q0));
    return _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r), TMLP_V16(1.0f));
}

/* m 2^n (n integral): vscalefps rounds once, so overflow gives inf and small results come
 * out denormal or 0 exactly as the true product would. */
static inline __m512 tmlp_v16_scale(__m512 m, __m512 n) { return _mm512_scalef_ps(m, n); }

static inline __m512 tmlp_v16_exp(__m512 x)
{
    __m512 n;
    const __m512 p = tmlp_v16_exp_parts(x, &n);
    return tmlp_v16_scale(p, n);
}

/* tanh x: x + x^3 p(x^2) for |x| < 0.625, else (1 - e)/(1 + e), e = e^(-2|x|); then x's sign
 * (last, because x + x^3 p is +0, not -0, at x = -0). */
static inline __m512 tmlp_v16_tanh(__m512 x)
{
    const __m512 ax = tmlp_v16_abs(x), x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_fmadd_ps(TMLP_V16(TMLP_VM_TANH_P5), x2, TMLP_V16(TMLP_VM_TANH_P4));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_TANH_P3));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_TANH_P2));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_TANH_P1));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_TANH_P0));
    const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(x, x2), p, x);
    const __m512 e = tmlp_v16_exp(_mm512_mul_ps(ax, TMLP_V16(-2.0f)));
    const __m512 big = _mm512_div_ps(_mm512_sub_ps(TMLP_V16(1.0f), e), _mm512_add_ps(TMLP_V16(1.0f), e));
    const __mmask16 is_small = _mm512_cmp_ps_mask(ax, TMLP_V16(TMLP_VM_TANH_SMALL), _CMP_LT_OQ);
    return tmlp_v16_copysign(_mm512_mask_blend_ps(is_small, big, small), x);
}

/* erfc z = m 2^n for z >= 0 (or NaN), given t = 2/(2+z) and z^2 = hi + lo: m = t s(t) p (1 - lo)
 * with p 2^n = e^-hi, so e^(-z^2) = p 2^n (1 - lo) to first order (|lo| <= 2^-24 hi). */
static inline __m512 tmlp_v16_erfc_parts(__m512 t, __m512 hi, __m512 lo, __m512 *n)
{
    __m512 s = _mm512_fmadd_ps(TMLP_V16(TMLP_VM_ERFC_S10), t, TMLP_V16(TMLP_VM_ERFC_S9));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S8));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S7));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S6));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S5));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S4));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S3));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S2));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S1));
    s = _mm512_fmadd_ps(s, t, TMLP_V16(TMLP_VM_ERFC_S0));
    __m512 p = tmlp_v16_exp_parts(_mm512_sub_ps(_mm512_setzero_ps(), hi), n);
    p = _mm512_fnmadd_ps(p, lo, p);
    return _mm512_mul_ps(_mm512_mul_ps(t, s), p);
}

/* erf x for |x| < 1: x (c0 + c0lo + x^2 p(x^2)). */
static inline __m512 tmlp_v16_erf_small(__m512 x)
{
    const __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_fmadd_ps(TMLP_V16(TMLP_VM_ERF_P5), x2, TMLP_V16(TMLP_VM_ERF_P4));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_ERF_P3));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_ERF_P2));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_ERF_P1));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_ERF_P0));
    p = _mm512_fmadd_ps(p, x2, TMLP_V16(TMLP_VM_ERF_C0LO));
    return _mm512_fmadd_ps(x, TMLP_V16(TMLP_VM_ERF_C0), _mm512_mul_ps(x, p));
}

/* erf x: the polynomial for |x| < 1, else 1 - erfc(min(|x|, 4)); then x's sign. */
static inline __m512 tmlp_v16_erf(__m512 x)
{
    const __m512 small = tmlp_v16_erf_small(x);
    const __m512 z = _mm512_min_ps(TMLP_V16(TMLP_VM_ERF_CLAMP), tmlp_v16_abs(x));
    const __m512 hi = _mm512_mul_ps(z, z), lo = _mm512_fmsub_ps(z, z, hi);
    __m512 n;
    const __m512 t = _mm512_div_ps(TMLP_V16(2.0f), _mm512_add_ps(TMLP_V16(2.0f), z));
    const __m512 m = tmlp_v16_erfc_parts(t, hi, lo, &n);
    const __m512 big = _mm512_sub_ps(TMLP_V16(1.0f), tmlp_v16_scale(m, n));
    const __mmask16 is_small = _mm512_cmp_ps_mask(tmlp_v16_abs(x), TMLP_V16(TMLP_VM_ERF_SMALL), _CMP_LT_OQ);
    return tmlp_v16_copysign(_mm512_mask_blend_ps(is_small, big, small), x);
}

/* sigmoid x = (x < 0 ? e : 1) / (1 + e), e = e^-|x| <= 1: 1 + e never rounds away a large
 * part of the result, and -inf, +inf give exactly 0 and 1. */
static inline __m512 tmlp_v16_sigmoid(__m512 x)
{
    const __m512 e = tmlp_v16_exp(_mm512_sub_ps(_mm512_setzero_ps(), tmlp_v16_abs(x)));
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 num = _mm512_mask_blend_ps(neg, TMLP_V16(1.0f), e);
    return _mm512_div_ps(num, _mm512_add_ps(TMLP_V16(1.0f), e));
}

/* silu x = x sigmoid x: the numerator for x < 0 is x e^x = scale(x p, n), never formed from
 * a denormal e^x (x e^x is a normal float down to x = -94); x below EXP_LO reads as EXP_LO,
 * so -inf gives -0. */
static inline __m512 tmlp_v16_silu(__m512 x)
{
    __m512 n;
    const __m512 p = tmlp_v16_exp_parts(_mm512_sub_ps(_mm512_setzero_ps(), tmlp_v16_abs(x)), &n);
    const __m512 xn = _mm512_max_ps(TMLP_V16(TMLP_VM_EXP_LO), x);
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 num = _mm512_mask_blend_ps(neg, x, tmlp_v16_scale(_mm512_mul_ps(xn, p), n));
    return _mm512_div_ps(num, _mm512_add_ps(TMLP_V16(1.0f), tmlp_v16_scale(p, n)));
}

/* gelu x = x Phi(x), z = x/sqrt2:
 *   |z| < 1/2:  x (1/2 + erf(z)/2)      (the erf polynomial; erfc's t = 2/(2+z) would
 *                                        amplify its own rounding 2.3x near 0)
 *   x < 0:      x erfc(|z|)/2 = scale(x m/2, n): the negative tail keeps its relative
 *               accuracy (no 1 + erf cancellation, no denormal intermediate)
 *   x > 0:      x (1 - erfc(z)/2)
 * z^2 = x^2/2 exactly from hi + lo of x^2, and t = 2/(2+z) = 2sqrt2/(2sqrt2 + |x|) without
 * rounding z. */
static inline __m512 tmlp_v16_gelu(__m512 x)
{
    const __m512 a = _mm512_min_ps(TMLP_V16(TMLP_VM_GELU_CLAMP), tmlp_v16_abs(x));
    const __m512 half = TMLP_V16(0.5f), c = TMLP_V16(TMLP_VM_2SQRT2);
    const __m512 t = _mm512_div_ps(c, _mm512_add_ps(c, a));
    const __m512 hi = _mm512_mul_ps(a, a), lo = _mm512_fmsub_ps(a, a, hi);
    __m512 n;
    const __m512 m = _mm512_mul_ps(half, tmlp_v16_erfc_parts(t, _mm512_mul_ps(hi, half),
                                                            _mm512_mul_ps(lo, half), &n));
    const __m512 pos = _mm512_mul_ps(x, _mm512_sub_ps(TMLP_V16(1.0f), tmlp_v16_scale(m, n)));
    const __m512 neg = tmlp_v16_scale(_mm512_mul_ps(_mm512_max_ps(TMLP_V16(-TMLP_VM_GELU_CLAMP), x), m), n);
    const __m512 mid = _mm512_mul_ps(x, _mm512_fmadd_ps(half, tmlp_v16_erf_small(_mm512_mul_ps(x, TMLP_V16(TMLP_VM_SQRT1_2))), half));
    const __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), pos, neg);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, TMLP_V16(TMLP_VM_GELU_MID), _CMP_LT_OQ), r, mid);
}

/* gelu_tanh x = 0.5 x (1 + tanh(a/2)) = x sigmoid(a), a = x (K1 + K3 x^2) as ah + al (float
 * pairs, vmath_coef.h says why), then SiLU's scheme with e^-|a| = p 2^n (1 + bl). */
static inline __m512 tmlp_v16_gelu_tanh(__m512 x)
{
    const __m512 xa = _mm512_max_ps(TMLP_V16(-TMLP_VM_GELU_TANH_CLAMP),
                                    _mm512_min_ps(TMLP_V16(TMLP_VM_GELU_TANH_CLAMP), x));
    const __m512 k1 = TMLP_V16(TMLP_VM_GELU_K1), k3 = TMLP_V16(TMLP_VM_GELU_K3);
    /* u = K1 + K3 x^2 = uh + ul: x^2 = x2h + x2l, K3 x2h = ph + pe, ph + K1 = uh + ue (TwoSum) */
    const __m512 x2h = _mm512_mul_ps(xa, xa), x2l = _mm512_fmsub_ps(xa, xa, x2h);
    const __m512 ph = _mm512_mul_ps(k3, x2h), pe = _mm512_fmsub_ps(k3, x2h, ph);
    const __m512 uh = _mm512_add_ps(ph, k1), bb = _mm512_sub_ps(uh, ph);
    const __m512 ue = _mm512_add_ps(_mm512_sub_ps(ph, _mm512_sub_ps(uh, bb)), _mm512_sub_ps(k1, bb));
    __m512 ul = _mm512_fmadd_ps(k3, x2l, _mm512_add_ps(ue, pe));
    ul = _mm512_fmadd_ps(TMLP_V16(TMLP_VM_GELU_K3_LO), x2h, ul);
    ul = _mm512_add_ps(ul, TMLP_V16(TMLP_VM_GELU_K1_LO));
    /* a = x u = ah + al */
    const __m512 ah = _mm512_mul_ps(xa, uh);
    const __m512 al = _mm512_fmadd_ps(xa, ul, _mm512_fmsub_ps(xa, uh, ah));
    /* -|a| = b + bl, a has x's sign */
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 b = _mm512_sub_ps(_mm512_setzero_ps(), tmlp_v16_abs(ah));
    const __m512 bl = _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_setzero_ps(), al), al);
    __m512 n;
    __m512 p = tmlp_v16_exp_parts(b, &n);
    p = _mm512_fmadd_ps(p, bl, p);
    const __m512 num = _mm512_mask_blend_ps(neg, x, tmlp_v16_scale(_mm512_mul_ps(xa, p), n));
    return _mm512_div_ps(num, _mm512_add_ps(TMLP_V16(1.0f), tmlp_v16_scale(p, n)));
}

/* x >= 0 ? x : alpha x (NaN stays NaN: the compare is false, x kept). */
static inline __m512 tmlp_v16_leaky_relu(__m512 x, float alpha)
{
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(x, neg, x, _mm512_set1_ps(alpha));
}

/* The epilogue's activation on one vector (act.h). NONE and RELU are here for completeness:
 * the kernels keep them on their own path. */
static inline __m512 tmlp_v16_act(tmlp_epilogue ep, __m512 t)
{
    switch (ep.act) {
    case TMLP_ACT_NONE: return t;
    case TMLP_ACT_RELU: return _mm512_max_ps(t, _mm512_setzero_ps());
    case TMLP_ACT_LEAKY_RELU: return tmlp_v16_leaky_relu(t, ep.alpha);
    case TMLP_ACT_GELU: return tmlp_v16_gelu(t);
    case TMLP_ACT_GELU_TANH: return tmlp_v16_gelu_tanh(t);
    case TMLP_ACT_TANH: return tmlp_v16_tanh(t);
    case TMLP_ACT_SIGMOID: return tmlp_v16_sigmoid(t);
    case TMLP_ACT_SILU: return tmlp_v16_silu(t);
    }
    return t;
}

/* t[i] = act(t[i]) for i < n, the switch taken once: the kernels' epilogue calls this (out of
 * line, once per block of outputs) for the activations other than NONE and RELU. */
static inline void tmlp_v16_act_n(tmlp_epilogue ep, __m512 *t, int n)
{
    switch (ep.act) {
    case TMLP_ACT_NONE: break;
    case TMLP_ACT_RELU: for (int i = 0; i < n; i++) t[i] = tmlp_v16_act(ep, t[i]); break;
    case TMLP_ACT_LEAKY_RELU: for (int i = 0; i < n; i++) t[i] = tmlp_v16_leaky_relu(t[i], ep.alpha); break;
    case TMLP_ACT_GELU: for (int i = 0; i < n; i++) t[i] = tmlp_v16_gelu(t[i]); break;
    case TMLP_ACT_GELU_TANH: for (int i = 0; i < n; i++) t[i] = tmlp_v16_gelu_tanh(t[i]); break;
    case TMLP_ACT_TANH: for (int i = 0; i < n; i++) t[i] = tmlp_v16_tanh(t[i]); break;
    case TMLP_ACT_SIGMOID: for (int i = 0; i < n; i++) t[i] = tmlp_v16_sigmoid(t[i]); break;
    case TMLP_ACT_SILU: for (int i = 0; i < n; i++) t[i] = tmlp_v16_silu(t[i]); break;
    }
}

#endif
