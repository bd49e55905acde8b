/* norm_avx512.c — LayerNorm rows on AVX-512F (compiled alone with -mavx512f; called only
 * when cpuid reports it). The algorithm and its accuracy: norm.h. Two accumulators per sum
 * (32 floats a step) hide the add latency; the last n % 16 by masked loads and stores. */
#include "norm.h"

#include <immintrin.h>
#include <math.h>

static __mmask16 tail16(int64_t left) { return (__mmask16)((1u << left) - 1u); }

static void row(const float *x, float *y, int64_t n, const float *gamma, const float *beta,
                float eps)
{
    /* pass 1: the provisional mean m */
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 32 <= n; j += 32) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + j));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + j + 16));
    }
    for (; j + 16 <= n; j += 16) a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + j));
    if (j < n) a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(tail16(n - j), x + j));
    const float m = (float)((double)_mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) / (double)n);

    /* pass 2: deviations from m, their sum (the correction) and their squares */
    const __m512 vm = _mm512_set1_ps(m);
    __m512 s1a = _mm512_setzero_ps(), s1b = _mm512_setzero_ps();
    __m512 s2a = _mm512_setzero_ps(), s2b = _mm512_setzero_ps();
    for (j = 0; j + 32 <= n; j += 32) {
        const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + j), vm);
        const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + j + 16), vm);
        s1a = _mm512_add_ps(s1a, d0);
        s1b = _mm512_add_ps(s1b, d1);
        s2a = _mm512_fmadd_ps(d0, d0, s2a);
        s2b = _mm512_fmadd_ps(d1, d1, s2b);
    }
    for (; j + 16 <= n; j += 16) {
        const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + j), vm);
        s1a = _mm512_add_ps(s1a, d0);
        s2a = _mm512_fmadd_ps(d0, d0, s2a);
    }
    if (j < n) {
        const __mmask16 t = tail16(n - j);
        const __m512 d0 = _mm512_maskz_sub_ps(t, _mm512_maskz_loadu_ps(t, x + j), vm);
        s1b = _mm512_add_ps(s1b, d0);
        s2b = _mm512_fmadd_ps(d0, d0, s2b);
    }
    const double c = (double)_mm512_reduce_add_ps(_mm512_add_ps(s1a, s1b)) / (double)n;
    double var = (double)_mm512_reduce_add_ps(_mm512_add_ps(s2a, s2b)) / (double)n - c * c;
    var = var > 0.0 ? var : 0.0;
    const __m512 vc = _mm512_set1_ps((float)c);
    const __m512 rstd = _mm512_set1_ps((float)(1.0 / sqrt(var + (double)eps)));

    /* pass 3: normalise, scale, shift (reads x[j] before writing y[j]: in place is fine) */
    for (j = 0; j + 16 <= n; j += 16) {
        const __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), vm), vc), rstd);
        _mm512_storeu_ps(y + j, _mm512_fmadd_ps(t, _mm512_loadu_ps(gamma + j), _mm512_loadu_ps(beta + j)));
    }
    if (j < n) {
        const __mmask16 k = tail16(n - j);
        const __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), vm), vc), rstd);
        _mm512_mask_storeu_ps(y + j, k, _mm512_fmadd_ps(t, _mm512_maskz_loadu_ps(k, gamma + j),
                                                        _mm512_maskz_loadu_ps(k, beta + j)));
    }
}

void tmlp_layernorm_rows_avx512(const float *x, float *y, int64_t batch, int64_t n,
                                const float *gamma, const float *beta, float eps)
{
    for (int64_t r = 0; r < batch; r++) row(x + r * n, y + r * n, n, gamma, beta, eps);
}
