/* norm.h (private) — the row statistics of LayerNorm on the vector units.
 *
 *     per row:  mean = (1/n) sum_j x[j],   var = (1/n) sum_j (x[j] - mean)^2   (biased)
 *               y[j] = (x[j] - mean) * rstd * gamma[j] + beta[j],   rstd = 1/sqrt(var + eps)
 *     x, y:(n) (y may be x), gamma, beta:(n), any alignment.
 *
 * The reference (src/layers/layernorm.c, the scalar path) sums in double. The vector rows
 * sum in float lanes with the corrected two-pass algorithm (Chan, Golub and LeVeque):
 *
 *     pass 1:  m  = (1/n) sum x[j]                         (16 or 32 float partial sums)
 *     pass 2:  d_j = x[j] - m,  s1 = sum d_j,  s2 = sum d_j^2
 *              mean = m + s1/n,  var = s2/n - (s1/n)^2     (s1, s2 taken to double)
 *     pass 3:  y[j] = fma(((x[j] - m) - s1/n) * rstd, gamma[j], beta[j])
 *
 * Pass 2 measures the deviations from m, so a shared offset (x = 1e4 + noise) does not
 * cancel as E[x^2] - E[x]^2 would, and s1 corrects the rounding of m to first order. Pass 3
 * subtracts m and the correction separately: x[j] - m is exact when x[j] is near m
 * (Sterbenz), while m + s1/n rounded to one float would lose the correction again.
 * tests/test_layers.c holds each unit to the formula in double within 1e-5 (1 + |y|), offsets
 * up to 1e4 included. NaN and inf give NaN rows as in the reference. Range: float sums, so
 * a row whose deviations exceed ~1e19 (their squares overflow) gets rstd 0 (y = beta) where
 * the double reference still normalises; activations of a working model are far from it.
 */
#ifndef TMLP_NORM_H
#define TMLP_NORM_H

#include "tinymlp/kernels.h"

#include <stdint.h>

/* LayerNorm of `batch` rows of width n (row stride n) on the vector unit of kernel k
 * (avx2 or avx512; blas and auto: the best one cpuid reports). Returns 0, or -1 (y
 * untouched) when that unit is the scalar one: the caller then runs the double reference.
 * Defined in act.c, beside tmlp_act_apply, whose choice of vector unit it shares. */
int tmlp_layernorm_rows(tmlp_kernel k, const float *x, float *y, int64_t batch, int64_t n,
                        const float *gamma, const float *beta, float eps);
void tmlp_layernorm_rows_avx2(const float *x, float *y, int64_t batch, int64_t n,
                              const float *gamma, const float *beta, float eps);
void tmlp_layernorm_rows_avx512(const float *x, float *y, int64_t batch, int64_t n,
                                const float *gamma, const float *beta, float eps);

#endif
