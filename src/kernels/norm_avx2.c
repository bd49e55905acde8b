/* norm_avx2.c — LayerNorm rows on AVX2 + FMA (compiled alone with -mavx2 -mfma; called
 * only when cpuid reports both). The algorithm and its accuracy: norm.h. Two accumulators
 * per sum (16 floats a step); the last n % 8 by masked loads (zeros) and stores. */
#include "norm.h"

#include <immintrin.h>
#include <math.h>

/* Lane mask for the first `left` (0..7) of 8 lanes. */
static __m256i tail8(int64_t left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), idx);
}

static double hsum(__m256 v)
{
    float t[8];
    _mm256_storeu_ps(t, v);
    return (double)(((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7])));
}

static void row(const float *x, float *y, int64_t n, const float *gamma, const float *beta,
                float eps)
{
    /* pass 1: the provisional mean m */
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + j + 8));
    }
    for (; j + 8 <= n; j += 8) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
    const __m256i tm = tail8(n - j);
    if (j < n) a1 = _mm256_add_ps(a1, _mm256_maskload_ps(x + j, tm));
    const float m = (float)(hsum(_mm256_add_ps(a0, a1)) / (double)n);

    /* pass 2: deviations from m, their sum (the correction) and their squares */
    const __m256 vm = _mm256_set1_ps(m);
    __m256 s1a = _mm256_setzero_ps(), s1b = _mm256_setzero_ps();
    __m256 s2a = _mm256_setzero_ps(), s2b = _mm256_setzero_ps();
    for (j = 0; j + 16 <= n; j += 16) {
        const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), vm);
        const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), vm);
        s1a = _mm256_add_ps(s1a, d0);
        s1b = _mm256_add_ps(s1b, d1);
        s2a = _mm256_fmadd_ps(d0, d0, s2a);
        s2b = _mm256_fmadd_ps(d1, d1, s2b);
    }
    for (; j + 8 <= n; j += 8) {
        const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), vm);
        s1a = _mm256_add_ps(s1a, d0);
        s2a = _mm256_fmadd_ps(d0, d0, s2a);
    }
    if (j < n) {
        /* lanes past n: 0 - m, masked back to 0 */
        const __m256 d0 = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, tm), vm),
                                        _mm256_castsi256_ps(tm));
        s1b = _mm256_add_ps(s1b, d0);
        s2b = _mm256_fmadd_ps(d0, d0, s2b);
    }
    const double c = hsum(_mm256_add_ps(s1a, s1b)) / (double)n;
    double var = hsum(_mm256_add_ps(s2a, s2b)) / (double)n - c * c;
    var = var > 0.0 ? var : 0.0;
    const __m256 vc = _mm256_set1_ps((float)c);
    const __m256 rstd = _mm256_set1_ps((float)(1.0 / sqrt(var + (double)eps)));

    /* pass 3: normalise, scale, shift (reads x[j] before writing y[j]: in place is fine) */
    for (j = 0; j + 8 <= n; j += 8) {
        const __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm), vc), rstd);
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(t, _mm256_loadu_ps(gamma + j), _mm256_loadu_ps(beta + j)));
    }
    if (j < n) {
        const __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, tm), vm), vc), rstd);
        _mm256_maskstore_ps(y + j, tm, _mm256_fmadd_ps(t, _mm256_maskload_ps(gamma + j, tm),
                                                       _mm256_maskload_ps(beta + j, tm)));
    }
}

void tmlp_layernorm_rows_avx2(const float *x, float *y, int64_t batch, int64_t n,
                              const float *gamma, const float *beta, float eps)
{
    for (int64_t r = 0; r < batch; r++) row(x + r * n, y + r * n, n, gamma, beta, eps);
}
