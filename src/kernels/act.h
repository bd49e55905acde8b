/* act.h (private) — the activations a Dense layer applies in its epilogue.
 *
 * A kernel computes t = x . W^T + b for a block of outputs in registers, then applies
 * the epilogue's activation to t before its one store, so an activation that follows a
 * Dense layer costs no extra pass over y. The same activations exist as standalone
 * layers (src/layers/) for when no Dense precedes them; both use the functions below.
 *
 *     NONE        t
 *     RELU        max(t, 0)                      (max(NaN, 0) = 0, as maxps)
 *     LEAKY_RELU  t >= 0 ? t : alpha * t
 *     GELU        0.5 t (1 + erf(t / sqrt 2))
 *     GELU_TANH   0.5 t (1 + tanh(sqrt(2/pi) (t + 0.044715 t^3)))
 *     TANH        tanh(t)
 *     SIGMOID     1 / (1 + exp(-t))
 *     SILU        t * sigmoid(t)
 */
#ifndef TMLP_ACT_H
#define TMLP_ACT_H

#include "tinymlp/kernels.h"

#include <stdint.h>

typedef enum tmlp_act {
    TMLP_ACT_NONE = 0,
    TMLP_ACT_RELU = 1,
    TMLP_ACT_LEAKY_RELU = 2,
    TMLP_ACT_GELU = 3,
    TMLP_ACT_GELU_TANH = 4,
    TMLP_ACT_TANH = 5,
    TMLP_ACT_SIGMOID = 6,
    TMLP_ACT_SILU = 7
} tmlp_act;

/* What a kernel applies before its store: the activation and its parameter (LEAKY_RELU's
 * negative slope; unused otherwise). Passed by value (8 bytes). */
typedef struct tmlp_epilogue {
    tmlp_act act;
    float alpha;
} tmlp_epilogue;

#define TMLP_EPILOGUE_NONE ((tmlp_epilogue){TMLP_ACT_NONE, 0.0f})
#define TMLP_EPILOGUE_RELU ((tmlp_epilogue){TMLP_ACT_RELU, 0.0f})

/* y[0..n) = act(y[0..n)), with the vector unit of kernel k (scalar, avx2, avx512; blas
 * uses the best one cpuid allows). In place; any alignment. */
void tmlp_act_apply(tmlp_kernel k, tmlp_epilogue ep, float *y, int64_t n);

/* The reference for one value (the scalar path; tests compare every vector path to it). */
float tmlp_act_scalar(tmlp_epilogue ep, float x);

/* act_avx2.c / act_avx512.c: tmlp_act_apply on one vector unit (the caller checked cpuid). */
void tmlp_act_apply_avx2(tmlp_epilogue ep, float *y, int64_t n);
void tmlp_act_apply_avx512(tmlp_epilogue ep, float *y, int64_t n);

/* The vector functions behind the activations (vmath_avx2.h, vmath_avx512.h), one at a
 * time over an array, for tests/test_vmath.c and docs/kernels.md's error table. */
typedef enum tmlp_vmath_fn {
    TMLP_VMATH_EXP = 0,
    TMLP_VMATH_TANH = 1,
    TMLP_VMATH_ERF = 2,
    TMLP_VMATH_SIGMOID = 3,
    TMLP_VMATH_GELU = 4,
    TMLP_VMATH_GELU_TANH = 5,
    TMLP_VMATH_SILU = 6
} tmlp_vmath_fn;
#define TMLP_VMATH_COUNT 7

/* y[i] = f(x[i]), i < n, with the vector code of kernel k (AVX2 or AVX512 only). Returns 0,
 * or -1 (y untouched) if k is another kernel or the CPU lacks its instructions. */
int tmlp_vmath_eval(tmlp_kernel k, tmlp_vmath_fn f, const float *x, float *y, int64_t n);
void tmlp_vmath_eval_avx2(tmlp_vmath_fn f, const float *x, float *y, int64_t n);
void tmlp_vmath_eval_avx512(tmlp_vmath_fn f, const float *x, float *y, int64_t n);

#endif
