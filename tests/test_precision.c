/* test_precision.c — BF16 and INT8 weights (docs/precision.md).
 *
 * For each reduced precision and every kernel path this machine has (scalar, avx2
 * emulated, avx512 emulated, avx512 native BF16/VNNI; the others skip and say so):
 *   - odd widths in and out in {1, 3, 17, 63, 65, 257}, batch 1, 6, 11, ReLU on and off,
 *     misaligned x and y with guard values around y;
 *   - every batch 1..300 on a 17 -> 65 layer;
 *   - against the scalar reference of the precision: INT8 bit-exact (the integer sums and
 *     the shared float epilogue), BF16 within 1e-3 relative of the scalar result (plus
 *     1e-6 of the terms' magnitude, for outputs that cancel to ~0);
 *   - the scalar references against float64 within the format's error bound;
 *   - INT8 saturation: the largest |w| of a row maps to +-127, an outlier squeezes the
 *     rest; an activation row spanning a huge range still quantizes inside [0, 255];
 *   - a zero input row gives the bias exactly; a layer whose weights are all zero too;
 *   - BF16 round to nearest even (ties, NaN), and every finite bf16 value survives the
 *     load path (widen to F32, round back) bit for bit: a BF16 file is not re-rounded;
 *   - the model API: options.precision and TMLP_PRECISION, kernel info, blas refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "check.h"
#include "kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 16
#define GUARD_VALUE -12345.0f

static const int64_t WIDTHS[] = {1, 3, 17, 63, 65, 257};
#define N_WIDTHS (sizeof WIDTHS / sizeof WIDTHS[0])

/* A kernel path: a function of a precision, and whether this CPU runs it. */
typedef struct path {
    const char *name;
    tmlp_kernel_fn bf16, int8;
    int (*have)(void);
} path;

static int have_always(void) { return 1; }
#if defined(__x86_64__) && defined(__GNUC__)
static int have_avx2(void) { return tmlp_kernel_available(TMLP_KERNEL_AVX2); }
static int have_avx512e(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }
static int have_avx512n(void)
{
    return have_avx512e() && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni");
}
#endif
#if defined(__aarch64__) && defined(__linux__)
static int have_dotprod(void) { return tmlp_kernel_available(TMLP_KERNEL_NEON_DOTPROD); }
static int have_bf16(void) { return tmlp_kernel_available(TMLP_KERNEL_NEON_BF16); }
#endif

static const path PATHS[] = {
    {"scalar", tmlp_kernel_scalar_bf16, tmlp_kernel_scalar_int8, have_always},
#if defined(__x86_64__) && defined(__GNUC__)
    {"avx2", tmlp_kernel_avx2_bf16, tmlp_kernel_avx2_int8, have_avx2},
    {"avx512-emulated", tmlp_kernel_avx512e_bf16, tmlp_kernel_avx512e_int8, have_avx512e},
    {"avx512-native", tmlp_kernel_avx512n_bf16, tmlp_kernel_avx512n_int8, have_avx512n},
#endif
#if defined(__aarch64__) && defined(__linux__)
    {"neon", tmlp_kernel_neon_bf16_widen, tmlp_kernel_neon_int8_widen, have_always},
    {"neon_dotprod", tmlp_kernel_scalar_bf16, tmlp_kernel_neon_int8_sdot, have_dotprod},
    {"neon_bf16", tmlp_kernel_neon_bf16_bfdot, tmlp_kernel_scalar_int8, have_bf16},
#endif
};

static void fill(float *v, int64_t n, uint64_t seed)
{
    tmlp_rng r;
    tmlp_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) v[i] = (float)(2.0 * tmlp_rng_uniform(&r) - 1.0);
}

/* Run path `pi` at precision prec and compare with the scalar reference and float64. */
static void run_case(int pi, tmlp_precision prec, int64_t in, int64_t out, int64_t batch, int relu,
                     const float *wgt, const float *xin)
{
    /* outliers (the edge cases) cost INT8 its precision on purpose: there only the agreement
     * with the reference and the exact zero cases are checked */
    const int check_exact = !(wgt || xin) || prec == TMLP_PRECISION_BF16;
    const path *pa = &PATHS[pi];
    tmlp_kernel_fn fn = prec == TMLP_PRECISION_BF16 ? pa->bf16 : pa->int8;
    tmlp_kernel_fn ref = prec == TMLP_PRECISION_BF16 ? tmlp_kernel_scalar_bf16 : tmlp_kernel_scalar_int8;
    float *w = malloc((size_t)(in * out) * sizeof *w), *b = malloc((size_t)out * sizeof *b);
    float *xbuf = malloc((size_t)(batch * in + 1) * sizeof *xbuf);
    float *ybuf = malloc((size_t)(batch * out + 1 + 2 * GUARD) * sizeof *ybuf);
    float *yr = malloc((size_t)(batch * out) * sizeof *yr);
    assert_true(w && b && xbuf && ybuf && yr);
    float *x = xbuf + 1, *y = ybuf + 1 + GUARD;
    if (wgt) memcpy(w, wgt, (size_t)(in * out) * sizeof *w);
    else fill(w, in * out, 1000 + (uint64_t)in);
    fill(b, out, 2000 + (uint64_t)out);
    if (xin) memcpy(x, xin, (size_t)(batch * in) * sizeof *x);
    else fill(x, batch * in, 3000 + (uint64_t)batch);
    for (int64_t i = 0; i < batch * out + 1 + 2 * GUARD; i++) ybuf[i] = GUARD_VALUE;

    tmlp_packed p;
    assert_int_equal(tmlp_packed_create_prec(NULL, in, out, w, b, prec, &p), TMLP_OK);
    fn(&p, x, y, batch, relu ? TMLP_EPILOGUE_RELU : TMLP_EPILOGUE_NONE);
    ref(&p, x, yr, batch, relu ? TMLP_EPILOGUE_RELU : TMLP_EPILOGUE_NONE);
    char what[128];
    snprintf(what, sizeof what, "%s %s %lld->%lld b%lld relu%d", pa->name, tmlp_precision_name(prec),
             (long long)in, (long long)out, (long long)batch, relu);
    int bad = 0;
    for (int64_t r = 0; r < batch; r++)
        for (int64_t j = 0; j < out; j++) {
            const int64_t i = r * out + j;
            double mag = fabs((double)b[j]), exact = b[j];
            for (int64_t k = 0; k < in; k++) {
                mag += fabs((double)x[r * in + k] * w[j * in + k]);
                exact += (double)x[r * in + k] * w[j * in + k];
            }
            if (relu && !(exact > 0)) exact = 0;
            const int ok_ref = prec == TMLP_PRECISION_INT8
                                   ? memcmp(&y[i], &yr[i], sizeof(float)) == 0
                                   : fabs(y[i] - yr[i]) <= 1e-3 * fabs(yr[i]) + 1e-6 * mag;
            /* the reference against exact arithmetic: BF16 rounds x and w (2^-9 each) and
             * sums in F32; INT8 rounds each x to scale/2 of a 255-step range and each w to
             * ws/2 of a 127-step range: a few % of the terms' magnitude at worst */
            const double bound = (prec == TMLP_PRECISION_BF16 ? 8e-3 : 4e-2) * (mag + 1e-30) + 1e-6;
            int ok_exact = !check_exact || fabs(yr[i] - exact) <= bound;
            if (mag == fabs((double)b[j])) { /* zero row of x or zero weights: the bias, exactly */
                const float want = relu ? (b[j] > 0 ? b[j] : 0.0f) : b[j];
                ok_exact = ok_exact && y[i] == want;
            }
            if (!ok_ref || !ok_exact) {
                if (bad++ < 5)
                    fprintf(stderr, "  %s [%lld][%lld]: got %.9g ref %.9g exact %.9g (terms %.3g)\n", what,
                            (long long)r, (long long)j, y[i], yr[i], exact, mag);
            }
        }
    assert_int_equal(bad, 0);
    for (int g = 0; g < GUARD; g++) {
        assert_true(y[-1 - g] == GUARD_VALUE);
        assert_true(y[batch * out + g] == GUARD_VALUE);
    }
    tmlp_packed_destroy(NULL, &p);
    free(w), free(b), free(xbuf), free(ybuf), free(yr);
}

static void need(int pi)
{
    if (!PATHS[pi].have()) {
        print_message("SKIP: %s: this CPU lacks it\n", PATHS[pi].name);
        skip();
    }
}

static void odd_widths(int pi, tmlp_precision prec)
{
    need(pi);
    const int64_t batches[] = {1, 6, 11};
    for (size_t i = 0; i < N_WIDTHS; i++)
        for (size_t o = 0; o < N_WIDTHS; o++)
            for (size_t bi = 0; bi < 3; bi++) run_case(pi, prec, WIDTHS[i], WIDTHS[o], batches[bi], (int)(bi & 1), NULL, NULL);
}

static void every_batch(int pi, tmlp_precision prec)
{
    need(pi);
    for (int64_t batch = 1; batch <= 300; batch++) run_case(pi, prec, 17, 65, batch, (int)(batch & 1), NULL, NULL);
}

/* Zero input rows (among non-zero ones), a layer of zero weights, an outlier weight and a
 * huge-range activation row: the edge cases of the quantizer. */
static void edges(int pi, tmlp_precision prec)
{
    need(pi);
    const int64_t in = 37, out = 70, batch = 5;
    float x[5 * 37], w[70 * 37];
    fill(x, batch * in, 7);
    memset(x + in, 0, in * sizeof *x);             /* row 1: all zero */
    memset(x + 3 * in, 0, in * sizeof *x);         /* row 3: all zero */
    x[4 * in + 5] = 1e6f;                          /* row 4: one huge value (saturating range) */
    fill(w, in * out, 8);
    w[3 * in + 9] = 500.0f;                        /* row 3 of W: an outlier -> +127 */
    w[4 * in + 2] = -500.0f;                       /* row 4: -> -127 */
    run_case(pi, prec, in, out, batch, 0, w, x);
    run_case(pi, prec, in, out, batch, 1, w, x);
    memset(w, 0, sizeof w);                         /* all-zero weight layer */
    run_case(pi, prec, in, out, batch, 0, w, x);
}

#define PATH_TESTS(i)                                                                            \
    static void odd_bf16_##i(void **s) { (void)s; if ((size_t)i < sizeof PATHS / sizeof PATHS[0]) odd_widths(i, TMLP_PRECISION_BF16); else skip(); } \
    static void odd_int8_##i(void **s) { (void)s; if ((size_t)i < sizeof PATHS / sizeof PATHS[0]) odd_widths(i, TMLP_PRECISION_INT8); else skip(); } \
    static void batch_bf16_##i(void **s) { (void)s; if ((size_t)i < sizeof PATHS / sizeof PATHS[0]) every_batch(i, TMLP_PRECISION_BF16); else skip(); } \
    static void batch_int8_##i(void **s) { (void)s; if ((size_t)i < sizeof PATHS / sizeof PATHS[0]) every_batch(i, TMLP_PRECISION_INT8); else skip(); } \
    static void edges_bf16_##i(void **s) { (void)s; if ((size_t)i < sizeof PATHS / sizeof PATHS[0]) edges(i, TMLP_PRECISION_BF16); else skip(); } \
    static void edges_int8_##i(void **s) { (void)s; if ((size_t)i < sizeof PATHS / sizeof PATHS[0]) edges(i, TMLP_PRECISION_INT8); else skip(); }
PATH_TESTS(0)
PATH_TESTS(1)
PATH_TESTS(2)
PATH_TESTS(3)

/* Packed INT8 weights: scale = max|w| / 127, the max maps to +-127, nothing beyond. */
static void int8_saturation(void **s)
{
    (void)s;
    const int64_t in = 9, out = 3;
    float w[27] = {0.01f, -0.02f, 0.03f, 0, 0, 0, 0, 0, 100.0f, /* outlier: the rest -> 0 */
                   -2.0f, 1.0f, 0.5f, 0, 0, 0, 0, 0, 0,         /* -2 -> -127 */
                   0, 0, 0, 0, 0, 0, 0, 0, 0};                   /* zero row: scale 1 */
    tmlp_packed p;
    assert_int_equal(tmlp_packed_create_prec(NULL, in, out, w, NULL, TMLP_PRECISION_INT8, &p), TMLP_OK);
    const int64_t wp = tmlp_panel_width(&p, 0);
#define Q(j, k) p.wq[((k) / 4 * wp + (j)) * 4 + ((k) & 3)]
    assert_int_equal(Q(0, 8), 127);
    assert_int_equal(Q(0, 0), 0);
    assert_int_equal(Q(1, 0), -127);
    assert_int_equal(Q(1, 1), 64); /* 1 / (2/127) = 63.5 -> 64 (ties to even) */
    assert_int_equal(Q(1, 2), 32); /* 31.75 -> 32 */
    for (int64_t k = 0; k < p.kp; k++)
        for (int64_t j = 0; j < out; j++) assert_true(Q(j, k) >= -127 && Q(j, k) <= 127);
#undef Q
    assert_true(fabsf(p.wscale[0] - 100.0f / 127.0f) < 1e-9f);
    assert_true(p.wscale[2] == 1.0f);
    assert_int_equal(p.wsum[1], -127 + 64 + 32);
    assert_int_equal(p.wsum[2], 0);
    tmlp_packed_destroy(NULL, &p);
    /* activations: a range of +-1e6 around small values still lands in [0, 255] */
    float sc, inv;
    int32_t z;
    tmlp_q8_params(-1e6f, 3.0f, &sc, &inv, &z);
    assert_int_equal(z, 255);
    assert_int_equal(tmlp_q8_one(-1e6f, inv, z), 0);
    assert_int_equal(tmlp_q8_one(3.0f, inv, z), 255);
    tmlp_q8_params(0.0f, 0.0f, &sc, &inv, &z);
    assert_true(sc == 1.0f && z == 0);
    tmlp_q8_params(0.5f, 2.0f, &sc, &inv, &z); /* positive row: the range starts at 0 */
    assert_int_equal(z, 0);
    assert_int_equal(tmlp_q8_one(2.0f, inv, z), 255);
}

/* Round to nearest even, NaN, and the BF16 -> F32 -> BF16 identity for every finite value. */
static void bf16_rounding(void **s)
{
    (void)s;
    assert_int_equal(tmlp_f32_to_bf16(1.0f), 0x3f80);
    float f;
    uint32_t u = 0x3f808000u; /* exactly half-way between 0x3f80 and 0x3f81: to even (0x3f80) */
    memcpy(&f, &u, 4);
    assert_int_equal(tmlp_f32_to_bf16(f), 0x3f80);
    u = 0x3f818000u; /* half-way between 0x3f81 and 0x3f82: to even (0x3f82) */
    memcpy(&f, &u, 4);
    assert_int_equal(tmlp_f32_to_bf16(f), 0x3f82);
    u = 0x3f808001u; /* above half-way: up */
    memcpy(&f, &u, 4);
    assert_int_equal(tmlp_f32_to_bf16(f), 0x3f81);
    assert_true(isnan(tmlp_bf16_to_f32(tmlp_f32_to_bf16(NAN))));
    assert_true(isinf(tmlp_bf16_to_f32(tmlp_f32_to_bf16(3.4e38f)))); /* rounds past the max */
    for (uint32_t h = 0; h < 65536; h++) {
        const float v = tmlp_bf16_to_f32((uint16_t)h);
        if (isnan(v)) continue;
        if (tmlp_f32_to_bf16(v) != h) fail_msg("bf16 0x%04x does not survive F32", h);
    }
}

/* A BF16 safetensors file at precision bf16 gives the same outputs as the same weights
 * handed over as F32 (no second rounding), and the model API reports the precision. */
static void model_api(void **s)
{
    (void)s;
    const int64_t widths[] = {63, 130, 17, 10};
    for (int pr = TMLP_PRECISION_F32; pr <= TMLP_PRECISION_INT8; pr++) {
        tmlp_model_options o = tmlp_model_options_default();
        o.precision = (tmlp_precision)pr;
        tmlp_model *m = NULL, *ref = NULL;
        tmlp_error err = {0};
        assert_int_equal(tmlp_model_random(widths, 4, 42, &o, &m, &err), TMLP_OK);
        assert_int_equal(tmlp_model_random(widths, 4, 42, NULL, &ref, &err), TMLP_OK);
        tmlp_kernel_info ki;
        assert_int_equal(tmlp_model_kernel_info(m, &ki, NULL), TMLP_OK);
        assert_int_equal(ki.precision, pr);
        assert_string_equal(ki.precision_source, "model options");
        tmlp_layer_info li;
        assert_int_equal(tmlp_model_layer_info(m, 0, &li, NULL), TMLP_OK);
        assert_int_equal(li.precision, pr);
        const size_t per = pr == TMLP_PRECISION_F32 ? 4 * 63 : pr == TMLP_PRECISION_BF16 ? 2 * 64 : 64 + 8;
        assert_int_equal(li.stream_bytes, (size_t)(64 + 80) * per); /* 130 = 64 + 66 -> 64 + 80 */
        tmlp_session *sa, *sb;
        assert_int_equal(tmlp_session_create(m, 300, &sa, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_create(ref, 300, &sb, NULL), TMLP_OK);
        float *x = malloc(300 * 63 * sizeof *x);
        fill(x, 300 * 63, 5);
        tmlp_tensor in = {.dtype = TMLP_DTYPE_F32, .ndim = 2, .shape = {300, 63}, .data = x}, ya, yb;
        assert_int_equal(tmlp_session_forward(sa, &in, &ya, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward(sb, &in, &yb, NULL), TMLP_OK);
        int agree = 0;
        double maxerr = 0;
        for (int r = 0; r < 300; r++) {
            agree += tmlp_argmax(ya.data + r * 10, 10) == tmlp_argmax(yb.data + r * 10, 10);
            for (int j = 0; j < 10; j++) maxerr = fmax(maxerr, fabs(ya.data[r * 10 + j] - yb.data[r * 10 + j]));
        }
        /* probabilities of a random net: the reduced precisions stay close to F32 */
        assert_true(maxerr < (pr == TMLP_PRECISION_INT8 ? 0.05 : 0.01));
        assert_true(agree >= 270);
        free(x);
        tmlp_session_destroy(sa);
        tmlp_session_destroy(sb);
        tmlp_model_destroy(m);
        tmlp_model_destroy(ref);
    }
    /* blas cannot run reduced precisions: refused at create, with a message */
    tmlp_model_options o = tmlp_model_options_default();
    o.precision = TMLP_PRECISION_INT8;
    o.kernel = TMLP_KERNEL_BLAS;
    tmlp_model *m = NULL;
    tmlp_error err = {0};
    assert_int_equal(tmlp_model_random(widths, 4, 42, &o, &m, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "blas"));
    /* TMLP_PRECISION when options say AUTO */
    setenv("TMLP_PRECISION", "bf16", 1);
    assert_int_equal(tmlp_model_random(widths, 4, 42, NULL, &m, &err), TMLP_OK);
    tmlp_kernel_info ki;
    tmlp_model_kernel_info(m, &ki, NULL);
    assert_int_equal(ki.precision, TMLP_PRECISION_BF16);
    assert_string_equal(ki.precision_source, "TMLP_PRECISION");
    tmlp_model_destroy(m);
    setenv("TMLP_PRECISION", "fp7", 1);
    assert_int_equal(tmlp_model_random(widths, 4, 42, NULL, &m, &err), TMLP_ERR_ARG);
    unsetenv("TMLP_PRECISION");
    tmlp_precision p;
    assert_int_equal(tmlp_precision_parse("int8", &p, NULL), TMLP_OK);
    assert_int_equal(p, TMLP_PRECISION_INT8);
    assert_string_equal(tmlp_precision_name(TMLP_PRECISION_BF16), "bf16");
    assert_int_equal(tmlp_precision_parse("fp16", &p, NULL), TMLP_ERR_ARG);
}

int main(void)
{
    unsetenv("TMLP_PRECISION");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int8_saturation), cmocka_unit_test(bf16_rounding), cmocka_unit_test(model_api),
#define T(i) cmocka_unit_test(odd_bf16_##i), cmocka_unit_test(odd_int8_##i), cmocka_unit_test(batch_bf16_##i), \
             cmocka_unit_test(batch_int8_##i), cmocka_unit_test(edges_bf16_##i), cmocka_unit_test(edges_int8_##i)
        T(0), T(1), T(2), T(3),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
