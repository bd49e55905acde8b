/* test_vmath.c — the vector exp, tanh, erf, sigmoid, GELU, GELU_TANH and SiLU
 * (src/kernels/vmath_avx2.h, vmath_avx512.h) against libm in double.
 *
 * Metric. The reference is the double function of the float input (libm's double
 * functions are within an ulp of double, 2^-29 of a float ulp). For a finite reference
 * with |ref| >= 2^-126 (FLT_MIN) the error is counted in float ulps of the reference:
 *
 *     ulp error = |got - ref| / 2^(e - 23),   2^e <= |ref| < 2^(e+1)
 *
 * (a correctly rounded result is within 0.5). Below FLT_MIN the float spacing is fixed at
 * 2^-149 and the ulp stops measuring precision, so the error there is absolute. Overflow
 * counts as the IEEE rounding does: +inf stands for 2^128 (one ulp above FLT_MAX). Apart from
 * the numbers: NaN in gives NaN out; tanh, erf, sigmoid never leave [-1, 1] / [0, 1]; and
 * the special values below (saturation, -inf tails) are exact.
 *
 * Fast (the default, well under a second): every 2053rd float bit pattern plus the special
 * values, each function on each ISA this CPU has (others skip). `test_vmath --full` or
 * TMLP_VMATH_FULL=1 sweeps all 2^32 patterns on two threads and prints the table of
 * docs/kernels.md (function x ISA: max ulp error and where, max absolute error below
 * FLT_MIN and where).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/act.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const FN_NAMES[TMLP_VMATH_COUNT] = {"exp", "tanh", "erf", "sigmoid", "gelu",
                                                       "gelu_tanh", "silu"};

/* The documented bounds (docs/kernels.md), per function, for both ISAs: max ulp error for
 * |ref| >= FLT_MIN and max absolute error below it. The all-2^32 sweep measured exp 1.013,
 * tanh 1.509, erf 1.431, sigmoid 2.402, GELU 6.382, GELU_TANH 3.792, SiLU 3.394 ulp and at
 * most 3.9e-45 below FLT_MIN, identical on both ISAs. */
static const double MAX_ULP[TMLP_VMATH_COUNT] = {1.1, 1.6, 1.5, 2.5, 6.5, 4.0, 3.5};
static const double MAX_ABS = 0x1p-126;

/* --- the reference -------------------------------------------------------------------- */

static double ref_fn(tmlp_vmath_fn f, float xf)
{
    const double x = xf;
    switch (f) {
    case TMLP_VMATH_EXP: return exp(x);
    case TMLP_VMATH_TANH: return tanh(x);
    case TMLP_VMATH_ERF: return erf(x);
    case TMLP_VMATH_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case TMLP_VMATH_GELU: return isinf(x) && x < 0 ? -0.0 : 0.5 * x * erfc(-x * M_SQRT1_2);
    case TMLP_VMATH_GELU_TANH: {
        if (isinf(x) && x < 0) return -0.0;
        const double a = 2.0 * sqrt(2.0 / M_PI) * x * (1.0 + 0.044715 * x * x);
        return x / (1.0 + exp(-a));
    }
    case TMLP_VMATH_SILU: return isinf(x) && x < 0 ? -0.0 : x / (1.0 + exp(-x));
    }
    return NAN;
}

/* --- error bookkeeping ---------------------------------------------------------------- */

typedef struct vm_err {
    double max_ulp;  /* |ref| >= FLT_MIN */
    float ulp_at;
    double max_abs;  /* |ref| < FLT_MIN */
    float abs_at;
    int64_t bad;     /* NaN / range / overflow violations */
    float bad_at;
    int64_t n;
} vm_err;

static void vm_err_init(vm_err *e) { memset(e, 0, sizeof *e); }

static void vm_err_merge(vm_err *into, const vm_err *e)
{
    if (e->max_ulp > into->max_ulp) into->max_ulp = e->max_ulp, into->ulp_at = e->ulp_at;
    if (e->max_abs > into->max_abs) into->max_abs = e->max_abs, into->abs_at = e->abs_at;
    if (e->bad && !into->bad) into->bad_at = e->bad_at;
    into->bad += e->bad;
    into->n += e->n;
}

static int bounded_fn(tmlp_vmath_fn f)
{
    return f == TMLP_VMATH_TANH || f == TMLP_VMATH_ERF || f == TMLP_VMATH_SIGMOID;
}

/* One result against its reference. */
static void vm_err_add(vm_err *e, tmlp_vmath_fn f, float x, float got, double ref)
{
    e->n++;
    if (isnan(ref) || isnan(got) || (bounded_fn(f) && fabsf(got) > 1.0f) ||
        (f == TMLP_VMATH_SIGMOID && got < 0.0f)) {
        if (!(isnan(ref) && isnan(got))) {
            if (!e->bad++) e->bad_at = x;
        }
        return;
    }
    double g = got;
    if (isinf(got)) g = copysign(0x1p128, got);
    if (fabs(ref) > 0x1p128) ref = copysign(0x1p128, ref);
    const double a = fabs(ref);
    if (a < FLT_MIN) {
        const double d = fabs(g - ref);
        if (d > e->max_abs) e->max_abs = d, e->abs_at = x;
        return;
    }
    int ex;
    frexp(a > FLT_MAX ? FLT_MAX : a, &ex); /* a = m 2^ex, m in [0.5, 1) */
    const double u = fabs(g - ref) / ldexp(1.0, ex - 24);
    if (u > e->max_ulp) e->max_ulp = u, e->ulp_at = x;
}

static float float_of_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Patterns [lo, hi] with the given stride, in blocks, through kernel k's vector code. */
static void vm_sweep(tmlp_kernel k, tmlp_vmath_fn f, uint64_t lo, uint64_t hi, uint64_t stride,
                     vm_err *e)
{
    enum { BLOCK = 4096 };
    float x[BLOCK], y[BLOCK];
    uint64_t u = lo;
    while (u <= hi) {
        int n = 0;
        for (; n < BLOCK && u <= hi; n++, u += stride) x[n] = float_of_bits((uint32_t)u);
        assert_int_equal(tmlp_vmath_eval(k, f, x, y, n), 0);
        for (int i = 0; i < n; i++) vm_err_add(e, f, x[i], y[i], ref_fn(f, x[i]));
    }
}

/* --- special values ------------------------------------------------------------------- */

static const float SPECIALS[] = {
    0.0f, -0.0f, 0x1p-149f, -0x1p-149f, 0x1p-127f, -0x1p-127f, FLT_MIN, -FLT_MIN, 1e-30f, -1e-30f,
    1e-10f, -1e-10f, 1e-4f, -1e-4f, 0.5f, -0.5f, 0.62499994f, 0.625f, -0.625f, 0.62500006f,
    0.99999994f, 1.0f, -1.0f, 1.0000001f, 2.0f, -2.0f, 3.9193f, -3.9193f, 4.0f, -4.0f, 5.0f, -5.0f,
    8.0f, -8.0f, 9.0f, -9.0f, 9.1f, -9.1f, 10.0f, -10.0f, 13.2f, -13.2f, 14.5f, -14.5f, 16.6f, -16.6f,
    20.0f, -20.0f, 44.0f, -44.0f, 87.33654f, -87.33654f, 88.0f, -88.0f, 88.72283f, 88.72284f,
    -88.72284f, 89.0f, -89.0f, 100.0f, -100.0f, -103.9f, -103.97f, -104.0f, -104.5f, 200.0f,
    -200.0f, 1e20f, -1e20f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN, -NAN};
#define N_SPECIALS ((int)(sizeof SPECIALS / sizeof SPECIALS[0]))

static float eval1(tmlp_kernel k, tmlp_vmath_fn f, float x)
{
    float y;
    assert_int_equal(tmlp_vmath_eval(k, f, &x, &y, 1), 0);
    return y;
}

/* exact results at the edges: saturation, overflow, the -inf tails, signed zeros */
static void check_exact_edges(tmlp_kernel k)
{
    const tmlp_vmath_fn E = TMLP_VMATH_EXP, T = TMLP_VMATH_TANH, R = TMLP_VMATH_ERF,
                        S = TMLP_VMATH_SIGMOID, G = TMLP_VMATH_GELU, GT = TMLP_VMATH_GELU_TANH,
                        L = TMLP_VMATH_SILU;
    assert_true(eval1(k, E, 89.0f) == INFINITY && eval1(k, E, 1e30f) == INFINITY);
    assert_true(eval1(k, E, INFINITY) == INFINITY && eval1(k, E, 0.0f) == 1.0f);
    assert_true(eval1(k, E, -104.0f) == 0.0f && eval1(k, E, -1e30f) == 0.0f);
    assert_true(eval1(k, E, -INFINITY) == 0.0f && eval1(k, E, -103.0f) > 0.0f);
    const float sat[] = {9.1f, 10.0f, 44.0f, 100.0f, 1e30f, FLT_MAX, INFINITY};
    for (size_t i = 0; i < sizeof sat / sizeof sat[0]; i++) {
        assert_true(eval1(k, T, sat[i]) == 1.0f && eval1(k, T, -sat[i]) == -1.0f);
        assert_true(eval1(k, R, sat[i]) == 1.0f && eval1(k, R, -sat[i]) == -1.0f);
        assert_true(eval1(k, S, sat[i] + 17.0f) == 1.0f);
        assert_true(eval1(k, G, sat[i] + 5.0f) == sat[i] + 5.0f);
        assert_true(eval1(k, GT, sat[i] + 5.0f) == sat[i] + 5.0f);
        assert_true(eval1(k, L, sat[i] + 17.0f) == sat[i] + 17.0f);
    }
    assert_true(eval1(k, R, 4.0f) == 1.0f && eval1(k, R, -3.95f) == -1.0f);
    /* the -inf tails: 0 or -0 (never NaN) once the true value is below the least
     * denormal; at -100 sigmoid and SiLU are still denormals (3.7e-44, -3.7e-42) */
    const float tails[] = {-200.0f, -1e20f, -FLT_MAX, -INFINITY};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        assert_true(eval1(k, S, tails[i]) == 0.0f);
        assert_true(eval1(k, G, tails[i]) == 0.0f);
        assert_true(eval1(k, GT, tails[i]) == 0.0f);
        assert_true(eval1(k, L, tails[i]) == 0.0f);
    }
    assert_true(eval1(k, G, -20.0f) == 0.0f && eval1(k, GT, -20.0f) == 0.0f);
    const float s100 = eval1(k, S, -100.0f), l100 = eval1(k, L, -100.0f);
    assert_true(s100 >= 0.0f && s100 < FLT_MIN && l100 <= 0.0f && l100 > -FLT_MIN);
    /* odd functions keep the sign of zero; tanh and erf are x-like near 0 */
    assert_true(signbit(eval1(k, T, -0.0f)) && eval1(k, T, -0.0f) == 0.0f);
    assert_true(signbit(eval1(k, R, -0.0f)) && eval1(k, R, -0.0f) == 0.0f);
    assert_true(eval1(k, T, 1e-30f) == 1e-30f && eval1(k, T, 0x1p-149f) == 0x1p-149f);
    for (int f = 0; f < TMLP_VMATH_COUNT; f++) assert_true(isnan(eval1(k, (tmlp_vmath_fn)f, NAN)));
}

/* --- the tests ------------------------------------------------------------------------ */

static void print_row(const char *isa, tmlp_vmath_fn f, const vm_err *e)
{
    printf("  %-10s %-7s  max ulp %6.3f at %-14.9g  max abs (<FLT_MIN) %.3g at %-14.9g  %lld points\n",
           FN_NAMES[f], isa, e->max_ulp, (double)e->ulp_at, e->max_abs, (double)e->abs_at,
           (long long)e->n);
}

static void check_against_bounds(const char *isa, tmlp_vmath_fn f, const vm_err *e)
{
    if (e->bad) fprintf(stderr, "  %s %s: %lld NaN/range violations, first at x = %.9g\n",
                        FN_NAMES[f], isa, (long long)e->bad, (double)e->bad_at);
    if (e->max_ulp > MAX_ULP[f])
        fprintf(stderr, "  %s %s: %.3f ulp at x = %.9g (bound %.1f)\n", FN_NAMES[f], isa,
                e->max_ulp, (double)e->ulp_at, MAX_ULP[f]);
    if (e->max_abs > MAX_ABS)
        fprintf(stderr, "  %s %s: abs error %.3g at x = %.9g\n", FN_NAMES[f], isa, e->max_abs,
                (double)e->abs_at);
    assert_int_equal(e->bad, 0);
    assert_true(e->max_ulp <= MAX_ULP[f]);
    assert_true(e->max_abs <= MAX_ABS);
}

static void run_isa(tmlp_kernel k)
{
    if (!tmlp_kernel_available(k)) {
        print_message("%s: this CPU lacks it\n", tmlp_kernel_name(k));
        skip();
    }
    check_exact_edges(k);
    for (int fi = 0; fi < TMLP_VMATH_COUNT; fi++) {
        const tmlp_vmath_fn f = (tmlp_vmath_fn)fi;
        vm_err e;
        vm_err_init(&e);
        vm_sweep(k, f, 0, UINT32_MAX, 2053, &e);
        float y[N_SPECIALS];
        assert_int_equal(tmlp_vmath_eval(k, f, SPECIALS, y, N_SPECIALS), 0);
        for (int i = 0; i < N_SPECIALS; i++) vm_err_add(&e, f, SPECIALS[i], y[i], ref_fn(f, SPECIALS[i]));
        print_row(tmlp_kernel_name(k), f, &e);
        check_against_bounds(tmlp_kernel_name(k), f, &e);
    }
}

static void test_vmath_avx2(void **state)
{
    (void)state;
    run_isa(TMLP_KERNEL_AVX2);
}

static void test_vmath_avx512(void **state)
{
    (void)state;
    run_isa(TMLP_KERNEL_AVX512);
}

/* The two ISAs run the same operations in the same order (vscalefps and AVX2's two-factor
 * 2^n both round m 2^n once), so they agree bit for bit: every 4099th pattern. */
static void test_vmath_isas_agree(void **state)
{
    (void)state;
    if (!tmlp_kernel_available(TMLP_KERNEL_AVX2) || !tmlp_kernel_available(TMLP_KERNEL_AVX512)) {
        print_message("needs both AVX2 and AVX-512F\n");
        skip();
    }
    enum { BLOCK = 4096 };
    static float x[BLOCK], y2[BLOCK], y5[BLOCK];
    for (int f = 0; f < TMLP_VMATH_COUNT; f++) {
        int64_t differ = 0;
        for (uint64_t u = 0; u <= UINT32_MAX;) {
            int n = 0;
            for (; n < BLOCK && u <= UINT32_MAX; n++, u += 4099) x[n] = float_of_bits((uint32_t)u);
            assert_int_equal(tmlp_vmath_eval(TMLP_KERNEL_AVX2, (tmlp_vmath_fn)f, x, y2, n), 0);
            assert_int_equal(tmlp_vmath_eval(TMLP_KERNEL_AVX512, (tmlp_vmath_fn)f, x, y5, n), 0);
            for (int i = 0; i < n; i++)
                if (memcmp(&y2[i], &y5[i], 4) != 0 && !(isnan(y2[i]) && isnan(y5[i])) && differ++ < 3)
                    fprintf(stderr, "  %s(%.9g): avx2 %.9g avx512 %.9g\n", FN_NAMES[f], (double)x[i],
                            (double)y2[i], (double)y5[i]);
        }
        assert_int_equal(differ, 0);
    }
}

/* Array lengths 0..40 at offsets 0..3: the masked tail reads and writes only [0, n). */
static void test_vmath_tails(void **state)
{
    (void)state;
    const tmlp_kernel ks[] = {TMLP_KERNEL_AVX2, TMLP_KERNEL_AVX512};
    for (int ki = 0; ki < 2; ki++) {
        if (!tmlp_kernel_available(ks[ki])) continue;
        for (int n = 0; n <= 40; n++)
            for (int off = 0; off < 4; off++) {
                float x[48], y[48];
                for (int i = 0; i < 48; i++) x[i] = 0.1f * (float)(i - 20), y[i] = -7.0f;
                assert_int_equal(tmlp_vmath_eval(ks[ki], TMLP_VMATH_TANH, x + off, y + off, n), 0);
                for (int i = 0; i < 48; i++) {
                    if (i < off || i >= off + n) assert_true(y[i] == -7.0f);
                    else assert_true(fabsf(y[i] - tanhf(x[i])) <= 1e-6f);
                }
            }
    }
    assert_int_equal(tmlp_vmath_eval(TMLP_KERNEL_SCALAR, TMLP_VMATH_EXP, NULL, NULL, 0), -1);
}

/* --- --full: all 2^32 patterns on two threads ----------------------------------------- */

typedef struct full_job {
    uint64_t lo, hi;
    vm_err err[2][TMLP_VMATH_COUNT];
} full_job;

static void *full_worker(void *arg)
{
    full_job *j = arg;
    const tmlp_kernel ks[2] = {TMLP_KERNEL_AVX2, TMLP_KERNEL_AVX512};
    enum { BLOCK = 4096 };
    static _Thread_local float x[BLOCK], y[2][BLOCK];
    for (uint64_t u = j->lo; u <= j->hi; u += BLOCK) {
        const int n = (int)(j->hi - u + 1 < BLOCK ? j->hi - u + 1 : BLOCK);
        for (int i = 0; i < n; i++) x[i] = float_of_bits((uint32_t)(u + (uint64_t)i));
        for (int f = 0; f < TMLP_VMATH_COUNT; f++) {
            int ran[2];
            for (int k = 0; k < 2; k++) ran[k] = tmlp_vmath_eval(ks[k], (tmlp_vmath_fn)f, x, y[k], n) == 0;
            for (int i = 0; i < n; i++) {
                const double r = ref_fn((tmlp_vmath_fn)f, x[i]);
                for (int k = 0; k < 2; k++)
                    if (ran[k]) vm_err_add(&j->err[k][f], (tmlp_vmath_fn)f, x[i], y[k][i], r);
            }
        }
    }
    return NULL;
}

static int run_full(void)
{
    enum { T = 2 };
    static full_job jobs[T];
    pthread_t th[T];
    const uint64_t all = 1ull << 32;
    for (int t = 0; t < T; t++) {
        jobs[t].lo = all / T * (uint64_t)t;
        jobs[t].hi = all / T * (uint64_t)(t + 1) - 1;
        for (int k = 0; k < 2; k++)
            for (int f = 0; f < TMLP_VMATH_COUNT; f++) vm_err_init(&jobs[t].err[k][f]);
        if (pthread_create(&th[t], NULL, full_worker, &jobs[t]) != 0) return 1;
    }
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    int fails = 0;
    printf("| function | ISA | max ulp error | at x | max abs error, |ref| < FLT_MIN | at x | violations |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int f = 0; f < TMLP_VMATH_COUNT; f++)
        for (int k = 0; k < 2; k++) {
            vm_err e;
            vm_err_init(&e);
            for (int t = 0; t < T; t++) vm_err_merge(&e, &jobs[t].err[k][f]);
            if (!e.n) continue;
            printf("| %s | %s | %.3f | %.9g | %.3g | %.9g | %lld |\n", FN_NAMES[f],
                   k ? "avx512" : "avx2", e.max_ulp, (double)e.ulp_at, e.max_abs, (double)e.abs_at,
                   (long long)e.bad);
            fails += e.bad > 0 || e.max_ulp > MAX_ULP[f] || e.max_abs > MAX_ABS;
        }
    printf("%s\n", fails ? "FAIL: a bound above is exceeded" : "all within the documented bounds");
    return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *env = getenv("TMLP_VMATH_FULL");
    if ((argc > 1 && strcmp(argv[1], "--full") == 0) || (env && strcmp(env, "1") == 0))
        return run_full();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vmath_avx2),
        cmocka_unit_test(test_vmath_avx512),
        cmocka_unit_test(test_vmath_isas_agree),
        cmocka_unit_test(test_vmath_tails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
