/* vmath_coef.h (private) — the constants of the vector math in vmath_avx2.h and
 * vmath_avx512.h, one set for both so the two ISAs compute the same approximations.
 *
 * Polynomials from tools/vmath_fit.py (minimax relative error against mpmath, each coefficient
 * rounded to float with the later ones refitted); the fit error in exact arithmetic is in
 * brackets, the float evaluation adds its roundings (docs/kernels.md has the measured table).
 *
 *   exp    e^r = 1 + r + r^2 q(r),          |r| <= ln2/2, q degree 4          [7e-9]
 *   tanh   tanh x = x + x^3 p(x^2),         |x| < 0.625,  p degree 5          [6e-10]
 *   erf    erf x = x (c0 + c0lo + x^2 p(x^2)), |x| < 1,   p degree 5          [1.2e-9]
 *   erfc   erfc z = t exp(-z^2) s(t),       t = 2/(2+z), 0 <= z <= 9.5, s degree 10 [3.7e-9]
 */
#ifndef TMLP_VMATH_COEF_H
#define TMLP_VMATH_COEF_H

/* exp: n = rint(x / ln2), r = x - n ln2 with ln2 = LN2_HI + LN2_LO (LN2_HI = float(ln2),
 * so x - n LN2_HI is exact in one FMA: a multiple of 2^-24 below 1/2), e^x = 2^n e^r. */
#define TMLP_VM_LOG2E 1.44269502163e+00f
#define TMLP_VM_LN2_HI 6.93147182465e-01f
#define TMLP_VM_LN2_LO -1.90465429995e-09f
/* x is clamped to [EXP_LO, EXP_HI] first (n in [-245, 129]): above, 2^n overflows to +inf
 * (e^88.73 > FLT_MAX); below, e^x < 2^-245, so even m e^x with |m| <= 2^20 (SiLU's x e^x,
 * GELU's tail) rounds to 0. */
#define TMLP_VM_EXP_HI 89.0f
#define TMLP_VM_EXP_LO -170.0f
#define TMLP_VM_EXP_Q0 4.999999404e-01f
#define TMLP_VM_EXP_Q1 1.666652262e-01f
#define TMLP_VM_EXP_Q2 4.166829214e-02f
#define TMLP_VM_EXP_Q3 8.368532173e-03f
#define TMLP_VM_EXP_Q4 1.381829614e-03f

/* tanh: the polynomial below TANH_SMALL, (1 - e) / (1 + e), e = exp(-2|x|), above (no
 * cancellation there: e <= 0.29); e < 2^-25 gives exactly 1. */
#define TMLP_VM_TANH_SMALL 0.625f
#define TMLP_VM_TANH_P0 -3.333333135e-01f
#define TMLP_VM_TANH_P1 1.333322078e-01f
#define TMLP_VM_TANH_P2 -5.394817889e-02f
#define TMLP_VM_TANH_P3 2.170689404e-02f
#define TMLP_VM_TANH_P4 -8.190012537e-03f
#define TMLP_VM_TANH_P5 2.152681118e-03f

/* erf: the polynomial below ERF_SMALL (C0 = float(2/sqrt(pi)); C0LO carries its rounding,
 * 0.9 ulp on its own near 0), 1 - erfc(|x|) above; |x| is clamped to ERF_CLAMP, where
 * erfc(4) = 1.5e-8 < 2^-25, so 1 - erfc rounds to exactly 1 from 3.92 on. */
#define TMLP_VM_ERF_SMALL 1.0f
#define TMLP_VM_ERF_CLAMP 4.0f
#define TMLP_VM_ERF_C0 1.128379226e+00f
#define TMLP_VM_ERF_C0LO -6.000311714e-08f
#define TMLP_VM_ERF_P0 -3.761262596e-01f
#define TMLP_VM_ERF_P1 1.128358617e-01f
#define TMLP_VM_ERF_P2 -2.685383707e-02f
#define TMLP_VM_ERF_P3 5.188347772e-03f
#define TMLP_VM_ERF_P4 -8.010162855e-04f
#define TMLP_VM_ERF_P5 7.853152783e-05f

/* erfc(z), z >= 0: t exp(-z^2) s(t). exp(-z^2) takes z^2 as hi + lo (an FMA gives lo
 * exactly): the rounding of z^2 alone would cost z^2 * 2^-24 relative, 80 ulp at z = 9. */
#define TMLP_VM_ERFC_S0 2.820865512e-01f
#define TMLP_VM_ERFC_S1 2.822976708e-01f
#define TMLP_VM_ERFC_S2 2.447307706e-01f
#define TMLP_VM_ERFC_S3 1.881186515e-01f
#define TMLP_VM_ERFC_S4 4.592071846e-02f
#define TMLP_VM_ERFC_S5 5.640192330e-02f
#define TMLP_VM_ERFC_S6 -5.495856702e-02f
#define TMLP_VM_ERFC_S7 -2.551714182e-01f
#define TMLP_VM_ERFC_S8 3.585590720e-01f
#define TMLP_VM_ERFC_S9 -1.822839528e-01f
#define TMLP_VM_ERFC_S10 3.429858387e-02f

/* GELU: x Phi(x), Phi(x) = erfc(-x/sqrt2)/2; |x| is clamped to GELU_CLAMP (x Phi(x) at
 * -14.5 is 1e-46, below the least denormal, and x^2 cannot overflow). */
#define TMLP_VM_SQRT1_2 7.071067691e-01f
#define TMLP_VM_2SQRT2 2.828427125e+00f
#define TMLP_VM_GELU_CLAMP 14.5f
/* below |x| = GELU_MID (|z| = 1/2) GELU takes 1/2 + erf(z)/2 from the erf polynomial */
#define TMLP_VM_GELU_MID 0.7071067691e+00f
/* GELU_TANH: x sigmoid(a), a = 2 sqrt(2/pi) (x + 0.044715 x^3) = x (K1 + K3 x^2), with
 * K1, K3 and a itself as float pairs hi + lo: the result's relative error is the absolute
 * error of a, and a reaches 87 before the result underflows; a in plain float (constants
 * rounded, 2^-25 each) would be ~200 ulp off there. |x| is clamped to GELU_TANH_CLAMP for a
 * (a(20) = 603: e^-a is 0 from there on). */
#define TMLP_VM_GELU_K1 1.595769167e+00f
#define TMLP_VM_GELU_K1_LO -4.534068054e-08f
#define TMLP_VM_GELU_K3 7.135481387e-02f
#define TMLP_VM_GELU_K3_LO 2.398832466e-09f
#define TMLP_VM_GELU_TANH_CLAMP 20.0f

#endif
