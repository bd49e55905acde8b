/* test_layers.c — the PyTorch MLP layers: LeakyReLU, GELU, tanh-GELU, Tanh,
 * Sigmoid, SiLU, LogSoftmax, LayerNorm, BatchNorm, Dropout, Identity, bias-free Linear.
 *
 *   1. each kind on a tiny case worked out by hand (values from the formula in double);
 *   2. every builder and loader refusal, with the status and the words of its message;
 *   3. fusion: an activation right after a Dense runs in its epilogue, and agrees with the
 *      same model with an identity in between (which stops the fusion), on every kernel;
 *      BatchNorm folding gives exactly (float)(W * s) and (float)((b - mean) * s + beta)
 *      computed in double, and outputs within float rounding of the unfolded float64 math;
 *   4. save -> load and save -> load_weights give bit-identical outputs for every kind;
 *   5. the `fixtures` branch's PyTorch models (tests/fixtures/layers/: one per kind and
 *      mixtures, with float64 reference outputs y_ref) load from their own metadata and
 *      match y_ref within 1e-5 * max|y_ref| on every kernel this CPU has, at batch 1 and 3
 *      (F32). BF16 and INT8 weights are held to 3e-2 and 6e-2 * max|y_ref|: they round
 *      every weight to 8 significant bits (docs/precision.md);
 *   6. a layer with per-session scratch (what the ONNX importer's GRAPH layer will use)
 *      gets it sized and allocated once; the new builders, the loader and load_weights
 *      free everything on every allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "tmpdir.h"

#include "internal.h"
#include "io/safetensors.h"
#include "layers/layer.h"
#include "layers/model_internal.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tmlp_kernel KERNELS[] = {TMLP_KERNEL_SCALAR, TMLP_KERNEL_AVX2, TMLP_KERNEL_AVX512,
                                      TMLP_KERNEL_BLAS, TMLP_KERNEL_NEON, TMLP_KERNEL_NEON_DOTPROD,
                                      TMLP_KERNEL_NEON_BF16};
#define N_KERNELS (sizeof KERNELS / sizeof *KERNELS)

/* ---- Helpers -------------------------------------------------------------------------- */

static tmlp_model *new_model(int64_t width, tmlp_kernel k)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.kernel = k;
    tmlp_model *m = NULL;
    tmlp_error err = {0};
    if (tmlp_model_create(width, &o, &m, &err) != TMLP_OK) fail_msg("create: %s", err.message);
    return m;
}

#define OK(call)                                                                                \
    do {                                                                                        \
        tmlp_error e_ = {0};                                                                    \
        tmlp_status s_ = (call);                                                                \
        if (s_ != TMLP_OK) fail_msg("%s: %s", #call, e_.message);                              \
    } while (0)
/* OK() for calls that take `&e_` as their error argument. */
#define E (&e_)

/* y[0 .. batch*out) = the model on x (batch rows), through a fresh session. */
static void run(const tmlp_model *m, const float *x, int64_t batch, float *y)
{
    tmlp_session *s = NULL;
    tmlp_error err = {0};
    if (tmlp_session_create(m, batch, &s, &err) != TMLP_OK) fail_msg("session: %s", err.message);
    const tmlp_tensor in = tmlp_tensor_2d(x, batch, tmlp_model_input_width(m));
    tmlp_tensor out;
    if (tmlp_session_forward(s, &in, &out, &err) != TMLP_OK) fail_msg("forward: %s", err.message);
    memcpy(y, out.data, (size_t)(batch * tmlp_model_output_width(m)) * sizeof(float));
    tmlp_session_destroy(s);
}

/* Expect `status` and a message containing each of the NULL-terminated substrings. */
static void expect(tmlp_status got, const tmlp_error *err, tmlp_status want, ...)
{
    if (got != want)
        fail_msg("status %d (%s), expected %d (%s); message: %s", got, tmlp_status_str(got), want,
                 tmlp_status_str(want), err->message);
    va_list ap;
    va_start(ap, want);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!strstr(err->message, s)) fail_msg("message \"%s\" lacks \"%s\"", err->message, s);
    va_end(ap);
}

static int fused_into(const tmlp_model *m, int i)
{
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(m, i, &li, NULL), TMLP_OK);
    return li.fused_into;
}

/* ---- 1. Each kind by hand -------------------------------------------------------------- */

/* An activation as the only layer (no Dense before it: it runs as a layer of its own). */
static void check_activation(tmlp_status (*add)(tmlp_model *, tmlp_error *), const float *want)
{
    static const float x[4] = {-2.0f, -0.5f, 0.0f, 1.5f};
    for (size_t k = 0; k < N_KERNELS; k++) {
        if (!tmlp_kernel_available(KERNELS[k])) continue;
        tmlp_model *m = new_model(4, KERNELS[k]);
        OK(add(m, E));
        float y[4];
        run(m, x, 1, y);
        assert_int_equal(check_tensor("activation", y, want, 4, 2e-7, 1e-7), 0);
        tmlp_model_destroy(m);
    }
}

static void test_activations_by_hand(void **state)
{
    (void)state;
    /* gelu(x) = 0.5 x (1 + erf(x / sqrt 2)), gelu_tanh with tanh(sqrt(2/pi)(x + 0.044715 x^3)),
     * in double at x = -2, -0.5, 0, 1.5 */
    static const float gelu[4] = {-0.04550026389635842f, -0.15426876936299344f, 0.0f, 1.399789198096713f};
    static const float gelu_tanh[4] = {-0.04540230591222494f, -0.15428599017485606f, 0.0f, 1.3995715769802328f};
    static const float tanh_[4] = {-0.9640275800758169f, -0.46211715726000974f, 0.0f, 0.9051482536448664f};
    static const float sigmoid[4] = {0.11920292202211755f, 0.3775406687981454f, 0.5f, 0.8175744761936437f};
    static const float silu[4] = {-0.2384058440442351f, -0.1887703343990727f, 0.0f, 1.2263617142904655f};
    check_activation(tmlp_model_add_gelu, gelu);
    check_activation(tmlp_model_add_gelu_tanh, gelu_tanh);
    check_activation(tmlp_model_add_tanh, tanh_);
    check_activation(tmlp_model_add_sigmoid, sigmoid);
    check_activation(tmlp_model_add_silu, silu);

    /* leaky_relu(0.25): the negative side scaled, the rest untouched */
    tmlp_model *m = new_model(4, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_leaky_relu(m, 0.25f, E));
    static const float x[4] = {-2.0f, -0.5f, 0.0f, 1.5f}, want[4] = {-0.5f, -0.125f, 0.0f, 1.5f};
    float y[4];
    run(m, x, 1, y);
    assert_int_equal(check_tensor("leaky_relu", y, want, 4, 0, 0), 0);
    tmlp_model_destroy(m);
}

static void test_log_softmax_by_hand(void **state)
{
    (void)state;
    tmlp_model *m = new_model(3, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_log_softmax(m, E));
    /* log(e^1 + e^2 + e^3) = 3 + log(1 + e^-1 + e^-2) = 3.4076059644443804; rows 2.. are the
     * special rows (log_softmax.c): huge logits, a NaN, all -inf, two +inf */
    const float x[5 * 3] = {1, 2, 3, 1001, 1002, 1003, 1, NAN, 3, -INFINITY, -INFINITY, -INFINITY,
                            INFINITY, 0, INFINITY};
    float y[5 * 3];
    run(m, x, 5, y);
    const float want[6] = {-2.4076059644443804f, -1.4076059644443804f, -0.4076059644443804f,
                           -2.4076059644443804f, -1.4076059644443804f, -0.4076059644443804f};
    assert_int_equal(check_tensor("log_softmax", y, want, 6, 1e-7, 0), 0);
    assert_true(isnan(y[6]) && isnan(y[7]) && isnan(y[8]));
    for (int j = 9; j < 12; j++) assert_float_equal(y[j], -log(3.0), 1e-7);
    assert_float_equal(y[12], -log(2.0), 1e-7);
    assert_true(isinf(y[13]) && y[13] < 0);
    tmlp_model_destroy(m);
}

static void test_layernorm_by_hand(void **state)
{
    (void)state;
    /* x = 1 2 3 4: mean 2.5, biased var 1.25; (x - 2.5) / sqrt(1.25 + 1e-5) = -+1.34163542,
     * -+0.44721181. A shared offset of 1e4 (exact in float) must change nothing: two passes. */
    const float a = 1.3416354199689269f, b = 0.447211806656309f;
    const float x[2 * 4] = {1, 2, 3, 4, 10001, 10002, 10003, 10004};
    const float gamma[4] = {1, 2, 1, 1}, beta[4] = {0, 0, 1, 0};
    const float plain[4] = {-a, -b, b, a}, affine[4] = {-a, -2 * b, b + 1, a};
    float y[8];
    tmlp_model *m = new_model(4, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_layernorm(m, NULL, NULL, 1e-5f, E));
    run(m, x, 2, y);
    assert_int_equal(check_tensor("layernorm", y, plain, 4, 1e-6, 0), 0);
    assert_int_equal(check_tensor("layernorm +1e4", y + 4, plain, 4, 1e-6, 0), 0);
    tmlp_model_destroy(m);
    m = new_model(4, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_layernorm(m, gamma, beta, 1e-5f, E));
    run(m, x, 2, y);
    assert_int_equal(check_tensor("layernorm affine", y, affine, 4, 1e-6, 0), 0);
    assert_int_equal(check_tensor("layernorm affine +1e4", y + 4, affine, 4, 1e-6, 0), 0);
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(m, 0, &li, NULL), TMLP_OK);
    assert_string_equal(li.name, "layernorm");
    assert_int_equal(li.param_count, 8);
    assert_int_equal(li.fused_into, -1);
    tmlp_model_destroy(m);
}

/* Every kernel's LayerNorm (scalar: the double reference; avx2 and avx512: float lanes with
 * the corrected two-pass sums of src/kernels/norm.h) against the formula in double, on
 * widths around the vector lengths (masked tails, n = 1: var 0) and rows sharing an offset
 * up to 1e4 (the case a one-pass E[x^2] - E[x]^2 gets wrong): within 1e-5 (1 + |y|). */
static void test_layernorm_every_unit(void **state)
{
    (void)state;
    static const int64_t widths[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 47, 64, 100, 512};
    static const double offsets[] = {0.0, 1e4, -3e3, 0.5};
    static const double spreads[] = {1.0, 1e-2, 30.0};
    enum { ROWS = 12, MAXW = 512 };
    static float x[ROWS * MAXW], y[ROWS * MAXW], gamma[MAXW], beta[MAXW];
    uint32_t seed = 12345u;
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        const int64_t n = widths[wi];
        for (int64_t j = 0; j < n; j++) {
            seed = seed * 1664525u + 1013904223u;
            gamma[j] = 0.5f + (float)(seed >> 8) / 16777216.0f;
            seed = seed * 1664525u + 1013904223u;
            beta[j] = (float)(seed >> 8) / 8388608.0f - 1.0f;
        }
        for (int r = 0; r < ROWS; r++)
            for (int64_t j = 0; j < n; j++) {
                seed = seed * 1664525u + 1013904223u;
                const double u = (double)(seed >> 8) / 16777216.0 - 0.5;
                x[r * n + j] = (float)(offsets[r % 4] + spreads[r % 3] * u);
            }
        for (size_t k = 0; k < N_KERNELS; k++) {
            if (!tmlp_kernel_available(KERNELS[k])) continue;
            tmlp_model *m = new_model(n, KERNELS[k]);
            OK(tmlp_model_add_layernorm(m, gamma, beta, 1e-5f, E));
            run(m, x, ROWS, y);
            tmlp_model_destroy(m);
            for (int r = 0; r < ROWS; r++) {
                const float *xr = x + r * n;
                double mean = 0.0, var = 0.0;
                for (int64_t j = 0; j < n; j++) mean += xr[j];
                mean /= (double)n;
                for (int64_t j = 0; j < n; j++) var += ((double)xr[j] - mean) * ((double)xr[j] - mean);
                const double rstd = 1.0 / sqrt(var / (double)n + 1e-5);
                for (int64_t j = 0; j < n; j++) {
                    const double want = ((double)xr[j] - mean) * rstd * gamma[j] + beta[j];
                    const double got = y[r * n + j];
                    if (!(fabs(got - want) <= 1e-5 * (1.0 + fabs(want))))
                        fail_msg("layernorm kernel %d n %lld row %d [%lld]: got %.9g want %.9g",
                                 (int)KERNELS[k], (long long)n, r, (long long)j, got, want);
                }
            }
        }
    }
}

static void test_batchnorm_by_hand(void **state)
{
    (void)state;
    /* As a first layer (no Dense to fold into) it runs itself:
     *   (1 - 0.5) / sqrt(4) * 2 + 0.1 = 0.6;  (-2 + 1) / sqrt(0.25) * 1 + 0 = -2 */
    const float mean[2] = {0.5f, -1.0f}, var[2] = {4.0f, 0.25f}, gamma[2] = {2.0f, 1.0f}, beta[2] = {0.1f, 0.0f};
    const float x[2] = {1.0f, -2.0f}, want[2] = {0.6f, -2.0f}, want_plain[2] = {0.25f, -2.0f};
    float y[2];
    tmlp_model *m = new_model(2, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_batchnorm(m, mean, var, gamma, beta, 0.0f, E));
    run(m, x, 1, y);
    assert_int_equal(check_tensor("batchnorm", y, want, 2, 1e-7, 0), 0);
    assert_int_equal(fused_into(m, 0), -1);
    tmlp_model_destroy(m);
    m = new_model(2, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_batchnorm(m, mean, var, NULL, NULL, 0.0f, E));
    run(m, x, 1, y);
    assert_int_equal(check_tensor("batchnorm no affine", y, want_plain, 2, 1e-7, 0), 0);
    tmlp_model_destroy(m);
}

static void test_dropout_identity_bias_free(void **state)
{
    (void)state;
    /* A model that runs nothing still returns its input, in the session's memory. */
    tmlp_model *m = new_model(3, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_dropout(m, E));
    OK(tmlp_model_add_identity(m, E));
    const float x[3] = {1.5f, -2.0f, NAN};
    tmlp_session *s = NULL;
    OK(tmlp_session_create(m, 1, &s, E));
    const tmlp_tensor in = tmlp_tensor_2d(x, 1, 3);
    tmlp_tensor out;
    OK(tmlp_session_forward(s, &in, &out, E));
    assert_ptr_not_equal(out.data, x);
    assert_memory_equal(out.data, x, sizeof x);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);

    /* A bias-free Dense runs as zeros, holds no bias and says so. */
    const float w[2 * 3] = {1, 2, 3, -1, 0, 1}, zeros[2] = {0, 0};
    tmlp_model *a = new_model(3, TMLP_KERNEL_AUTO), *b = new_model(3, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_dense(a, 3, 2, w, NULL, E));
    OK(tmlp_model_add_dense(b, 3, 2, w, zeros, E));
    float ya[2], yb[2];
    const float x2[3] = {1, 1, 2};
    run(a, x2, 1, ya);
    run(b, x2, 1, yb);
    assert_memory_equal(ya, yb, sizeof ya);
    assert_float_equal(ya[0], 9.0f, 0);
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(a, 0, &li, NULL), TMLP_OK);
    assert_int_equal(li.param_count, 6);
    tmlp_model_destroy(a);
    tmlp_model_destroy(b);
}

/* ---- 2. Builder refusals -------------------------------------------------------------- */

static void test_builder_refusals(void **state)
{
    (void)state;
    tmlp_error err = {0};
    const float ok[3] = {1, 1, 1}, bad[3] = {1, NAN, 1}, neg[3] = {1, -2, 1};
    expect(tmlp_model_add_gelu(NULL, &err), &err, TMLP_ERR_ARG, "model is NULL", NULL);
    expect(tmlp_model_add_layernorm(NULL, NULL, NULL, 1e-5f, &err), &err, TMLP_ERR_ARG, NULL);
    tmlp_model *m = new_model(3, TMLP_KERNEL_AUTO);
    expect(tmlp_model_add_leaky_relu(m, NAN, &err), &err, TMLP_ERR_ARG, "slope", NULL);
    expect(tmlp_model_add_leaky_relu(m, INFINITY, &err), &err, TMLP_ERR_ARG, "slope", NULL);
    expect(tmlp_model_add_layernorm(m, ok, NULL, 1e-5f, &err), &err, TMLP_ERR_ARG, "both", NULL);
    expect(tmlp_model_add_layernorm(m, NULL, NULL, 0.0f, &err), &err, TMLP_ERR_ARG, "eps 0", NULL);
    expect(tmlp_model_add_layernorm(m, NULL, NULL, -1.0f, &err), &err, TMLP_ERR_ARG, "eps -1", NULL);
    expect(tmlp_model_add_layernorm(m, NULL, NULL, NAN, &err), &err, TMLP_ERR_ARG, "eps", NULL);
    expect(tmlp_model_add_layernorm(m, bad, ok, 1e-5f, &err), &err, TMLP_ERR_ARG, "gamma[1] is NaN", NULL);
    expect(tmlp_model_add_batchnorm(m, NULL, ok, NULL, NULL, 1e-5f, &err), &err, TMLP_ERR_ARG, "mean is NULL", NULL);
    expect(tmlp_model_add_batchnorm(m, ok, NULL, NULL, NULL, 1e-5f, &err), &err, TMLP_ERR_ARG, "var is NULL", NULL);
    expect(tmlp_model_add_batchnorm(m, ok, ok, NULL, ok, 1e-5f, &err), &err, TMLP_ERR_ARG, "both", NULL);
    expect(tmlp_model_add_batchnorm(m, ok, ok, NULL, NULL, -1e-5f, &err), &err, TMLP_ERR_ARG, ">= 0", NULL);
    expect(tmlp_model_add_batchnorm(m, ok, neg, NULL, NULL, 1e-5f, &err), &err, TMLP_ERR_ARG, "var[1] + eps", NULL);
    expect(tmlp_model_add_batchnorm(m, bad, ok, NULL, NULL, 1e-5f, &err), &err, TMLP_ERR_ARG, "mean[1] is NaN", NULL);
    expect(tmlp_model_add_batchnorm(m, ok, ok, ok, bad, 1e-5f, &err), &err, TMLP_ERR_ARG, "beta[1] is NaN", NULL);
    /* var + eps = 0 exactly is refused too (division by zero) */
    const float zero[3] = {0, 0, 0};
    expect(tmlp_model_add_batchnorm(m, ok, zero, NULL, NULL, 0.0f, &err), &err, TMLP_ERR_ARG, "> 0", NULL);
    assert_int_equal(tmlp_model_layer_count(m), 0); /* nothing was added */

    /* A layer of the wrong width through tmlp_model_add_layer (it owns and frees it). */
    tmlp_layer *l = NULL;
    assert_int_equal(tmlp_identity_create(NULL, 4, TMLP_LAYER_IDENTITY, &l, NULL), TMLP_OK);
    expect(tmlp_model_add_layer(m, l, &err), &err, TMLP_ERR_SHAPE, "input width 4", "output width 3", NULL);

    /* Frozen once a session exists. */
    OK(tmlp_model_add_gelu(m, E));
    tmlp_session *s = NULL;
    OK(tmlp_session_create(m, 1, &s, E));
    expect(tmlp_model_add_silu(m, &err), &err, TMLP_ERR_STATE, NULL);
    expect(tmlp_model_add_batchnorm(m, ok, ok, NULL, NULL, 1e-5f, &err), &err, TMLP_ERR_STATE, NULL);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);

    /* allow_nonfinite lets NaN parameters in (but never a non-finite eps or slope). */
    tmlp_model_options o = tmlp_model_options_default();
    o.allow_nonfinite = 1;
    OK(tmlp_model_create(3, &o, &m, E));
    OK(tmlp_model_add_layernorm(m, bad, ok, 1e-5f, E));
    OK(tmlp_model_add_batchnorm(m, bad, bad, ok, ok, 1e-5f, E));
    expect(tmlp_model_add_leaky_relu(m, NAN, &err), &err, TMLP_ERR_ARG, NULL);
    tmlp_model_destroy(m);
}

/* ---- 3. Fusion and folding ------------------------------------------------------------ */

typedef tmlp_status (*add_fn)(tmlp_model *, tmlp_error *);
static tmlp_status add_leaky(tmlp_model *m, tmlp_error *err) { return tmlp_model_add_leaky_relu(m, 0.03f, err); }

static const struct {
    const char *name;
    add_fn add;
} ACTS[] = {
    {"relu", tmlp_model_add_relu}, {"leaky_relu", add_leaky}, {"gelu", tmlp_model_add_gelu},
    {"gelu_tanh", tmlp_model_add_gelu_tanh}, {"tanh", tmlp_model_add_tanh},
    {"sigmoid", tmlp_model_add_sigmoid}, {"silu", tmlp_model_add_silu},
};

/* Seeded values in [-scale, scale). */
static void fill(float *p, size_t n, uint32_t seed, float scale)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = scale * ((float)(seed >> 8) / 8388608.0f - 1.0f);
    }
}

enum { FI = 37, FO = 70, FB = 64 }; /* odd widths: a full panel, a partial one, tails */

/* Dense(FI -> FO) + act, with (gap = 1) or without an identity between them. */
static tmlp_model *dense_act(tmlp_kernel k, add_fn act, int gap)
{
    static float w[FO * FI], b[FO];
    fill(w, FO * FI, 1, 0.5f);
    fill(b, FO, 2, 0.5f);
    tmlp_model *m = new_model(FI, k);
    OK(tmlp_model_add_dense(m, FI, FO, w, b, E));
    if (gap) OK(tmlp_model_add_identity(m, E));
    OK(act(m, E));
    return m;
}

static void test_fused_equals_unfused(void **state)
{
    (void)state;
    static float x[FB * FI], yf[FB * FO], yu[FB * FO];
    fill(x, FB * FI, 3, 3.0f);
    for (size_t k = 0; k < N_KERNELS; k++) {
        if (!tmlp_kernel_available(KERNELS[k])) continue;
        for (size_t a = 0; a < sizeof ACTS / sizeof *ACTS; a++) {
            tmlp_model *f = dense_act(KERNELS[k], ACTS[a].add, 0), *u = dense_act(KERNELS[k], ACTS[a].add, 1);
            assert_int_equal(fused_into(f, 1), 0);  /* runs in the Dense's epilogue */
            assert_int_equal(fused_into(u, 2), -1); /* the identity stops it: runs on its own */
            const int64_t batches[] = {1, 3, FB};
            for (size_t bi = 0; bi < 3; bi++) {
                run(f, x, batches[bi], yf);
                run(u, x, batches[bi], yu);
                char what[64];
                snprintf(what, sizeof what, "%s %s b%lld", tmlp_kernel_name(KERNELS[k]), ACTS[a].name,
                         (long long)batches[bi]);
                /* same activation code on the same sums: a few ulp at most */
                assert_int_equal(check_tensor(what, yf, yu, batches[bi] * FO, 1e-6, 1e-7), 0);
            }
            tmlp_model_destroy(f);
            tmlp_model_destroy(u);
        }
    }
}

/* forward_rows (rows read in place by the first Dense with its fused epilogue) gives the
 * bits tmlp_session_forward gives. */
static void test_fused_rows(void **state)
{
    (void)state;
    static float x[3 * FI];
    fill(x, 3 * FI, 4, 2.0f);
    const float *rows[3] = {x + 2 * FI, x, x + FI};
    float gathered[3 * FI], y1[3 * FO];
    memcpy(gathered, rows[0], sizeof(float) * FI);
    memcpy(gathered + FI, rows[1], sizeof(float) * FI);
    memcpy(gathered + 2 * FI, rows[2], sizeof(float) * FI);
    tmlp_model *m = dense_act(TMLP_KERNEL_AUTO, tmlp_model_add_gelu, 0);
    run(m, gathered, 3, y1);
    tmlp_session *s = NULL;
    OK(tmlp_session_create(m, 3, &s, E));
    tmlp_tensor out;
    OK(tmlp_session_forward_rows(s, rows, 3, &out, E));
    assert_memory_equal(out.data, y1, sizeof y1);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_batchnorm_folding(void **state)
{
    (void)state;
    enum { I = 5, O = 6 };
    float w[O * I], b[O], mean[O], var[O], gamma[O], beta[O], x[2 * I];
    fill(w, O * I, 5, 1.0f);
    fill(b, O, 6, 1.0f);
    fill(mean, O, 7, 2.0f);
    fill(var, O, 8, 1.0f);
    for (int j = 0; j < O; j++) var[j] = var[j] * var[j] + 0.1f;
    fill(gamma, O, 9, 2.0f);
    fill(beta, O, 10, 1.0f);
    fill(x, 2 * I, 11, 2.0f);
    const float eps = 1e-3f;
    for (size_t k = 0; k < N_KERNELS; k++) {
        if (!tmlp_kernel_available(KERNELS[k])) continue;
        tmlp_model *m = new_model(I, KERNELS[k]);
        OK(tmlp_model_add_dense(m, I, O, w, b, E));
        OK(tmlp_model_add_batchnorm(m, mean, var, gamma, beta, eps, E));
        assert_int_equal(fused_into(m, 1), 0);
        /* The Dense now runs W' = (float)(W * s) and b' = (float)((b - mean) * s + beta),
         * s = gamma / sqrt(var + eps), all in double: bit for bit. */
        const float *w2, *b2;
        assert_int_equal(tmlp_model_dense_params(m, 0, &w2, &b2, NULL), TMLP_OK);
        for (int j = 0; j < O; j++) {
            const double s = (double)gamma[j] / sqrt((double)var[j] + (double)eps);
            for (int c = 0; c < I; c++) assert_true(w2[j * I + c] == (float)((double)w[j * I + c] * s));
            assert_true(b2[j] == (float)(((double)b[j] - mean[j]) * s + beta[j]));
        }
        /* The output against the unfolded math in float64. */
        float y[2 * O], ref[2 * O];
        run(m, x, 2, y);
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < O; j++) {
                double t = b[j];
                for (int c = 0; c < I; c++) t += (double)x[r * I + c] * w[j * I + c];
                ref[r * O + j] = (float)((t - mean[j]) / sqrt((double)var[j] + eps) * gamma[j] + beta[j]);
            }
        assert_int_equal(check_tensor("folded batchnorm", y, ref, 2 * O, 1e-5, 1e-6), 0);
        tmlp_model_destroy(m);
    }

    /* After a ReLU it cannot fold: it runs on its own. Dense, BatchNorm, ReLU: both fold
     * and fuse into the Dense, as do two BatchNorms in a row. */
    tmlp_model *m = new_model(I, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_dense(m, I, O, w, b, E));
    OK(tmlp_model_add_relu(m, E));
    OK(tmlp_model_add_batchnorm(m, mean, var, gamma, beta, eps, E));
    assert_int_equal(fused_into(m, 1), 0);
    assert_int_equal(fused_into(m, 2), -1);
    tmlp_model_destroy(m);
    m = new_model(I, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_dense(m, I, O, w, NULL, E));
    OK(tmlp_model_add_batchnorm(m, mean, var, NULL, NULL, eps, E));
    OK(tmlp_model_add_batchnorm(m, mean, var, gamma, beta, eps, E));
    OK(tmlp_model_add_relu(m, E));
    assert_int_equal(fused_into(m, 1), 0);
    assert_int_equal(fused_into(m, 2), 0);
    assert_int_equal(fused_into(m, 3), 0);
    tmlp_model_destroy(m);
}

/* ---- 4. Save, load, load_weights: bit for bit ----------------------------------------- */

/* Every kind in one model (6 -> 5), parameters drawn from seed. Layer 3 (batchnorm) folds
 * into layer 2, layer 4 (gelu) and 13 (silu) fuse, layer 14 (batchnorm after silu) runs. */
static tmlp_model *every_kind(const tmlp_model_options *o, uint32_t seed)
{
    float w[8 * 8], b[8], p[4][8];
    tmlp_model *m = NULL;
    OK(tmlp_model_create(6, o, &m, E));
    fill(w, 8 * 6, seed, 0.6f);
    OK(tmlp_model_add_dense(m, 6, 8, w, NULL, E));
    OK(tmlp_model_add_leaky_relu(m, 0.2f, E));
    fill(w, 8 * 8, seed + 1, 0.5f);
    fill(b, 8, seed + 2, 0.5f);
    OK(tmlp_model_add_dense(m, 8, 8, w, b, E));
    for (int k = 0; k < 4; k++) fill(p[k], 8, seed + 3 + k, 1.0f);
    for (int j = 0; j < 8; j++) p[1][j] = p[1][j] * p[1][j] + 0.5f; /* variances */
    OK(tmlp_model_add_batchnorm(m, p[0], p[1], p[2], p[3], 1e-5f, E));
    OK(tmlp_model_add_gelu(m, E));
    fill(w, 7 * 8, seed + 7, 0.5f);
    OK(tmlp_model_add_dense(m, 8, 7, w, b, E));
    OK(tmlp_model_add_layernorm(m, p[2], p[3], 1e-5f, E));
    OK(tmlp_model_add_gelu_tanh(m, E));
    OK(tmlp_model_add_tanh(m, E));
    OK(tmlp_model_add_dropout(m, E));
    OK(tmlp_model_add_identity(m, E));
    OK(tmlp_model_add_sigmoid(m, E));
    fill(w, 7 * 7, seed + 8, 0.5f);
    OK(tmlp_model_add_dense(m, 7, 7, w, b, E));
    OK(tmlp_model_add_silu(m, E));
    OK(tmlp_model_add_batchnorm(m, p[0], p[1], NULL, NULL, 1e-3f, E));
    OK(tmlp_model_add_layernorm(m, NULL, NULL, 1e-3f, E));
    fill(w, 5 * 7, seed + 9, 0.5f);
    OK(tmlp_model_add_dense(m, 7, 5, w, b, E));
    OK(tmlp_model_add_log_softmax(m, E));
    OK(tmlp_model_add_softmax(m, E));
    return m;
}

static const char EVERY_KIND_LAYERS[] =
    "linear,leaky_relu(0.2),linear,batchnorm(1e-05),gelu,linear,layernorm(1e-05),gelu_tanh,tanh,dropout,"
    "identity,sigmoid,linear,silu,batchnorm(0.001),layernorm(0.001),linear,log_softmax,softmax";

static void assert_same_outputs(const tmlp_model *a, const tmlp_model *b, const char *what)
{
    static float x[4 * 6];
    fill(x, 4 * 6, 99, 3.0f);
    float ya[4 * 5], yb[4 * 5];
    run(a, x, 4, ya);
    run(b, x, 4, yb);
    if (memcmp(ya, yb, sizeof ya) != 0) {
        check_tensor(what, yb, ya, 20, 0, 0);
        fail_msg("%s: outputs differ", what);
    }
}

static void test_every_kind_round_trip(void **state)
{
    test_tmpdir *t = *state;
    char path[4096];
    test_tmpdir_join(t, "all.safetensors", path, sizeof path);
    for (size_t k = 0; k < N_KERNELS; k++) {
        if (!tmlp_kernel_available(KERNELS[k])) continue;
        tmlp_model_options o = tmlp_model_options_default();
        o.kernel = KERNELS[k];
        tmlp_model *m = every_kind(&o, 1), *back = NULL, *filled = every_kind(&o, 500);
        char la[512], lb[512];
        OK(tmlp_model_layers_string(m, la, sizeof la, E));
        assert_string_equal(la, EVERY_KIND_LAYERS);
        const int fused[19] = {-1, 0, -1, 2, 2, -1, -1, -1, -1, -1, -1, -1, -1, 12, -1, -1, -1, -1, -1};
        for (int i = 0; i < 19; i++) assert_int_equal(fused_into(m, i), fused[i]);
        OK(tmlp_model_save(m, path, E));
        OK(tmlp_model_load(path, &o, &back, E));
        OK(tmlp_model_layers_string(back, lb, sizeof lb, E));
        assert_string_equal(la, lb);
        for (int i = 0; i < 19; i++) assert_int_equal(fused_into(back, i), fused[i]);
        assert_same_outputs(m, back, "save -> load");
        /* Other parameters, then the file's: the same model again (the batchnorm folds
         * the file's statistics into the file's weights). */
        OK(tmlp_model_load_weights(filled, path, E));
        assert_same_outputs(m, filled, "save -> load_weights");
        /* And saved again, the file is the same file. */
        char path2[4096];
        test_tmpdir_join(t, "again.safetensors", path2, sizeof path2);
        OK(tmlp_model_save(back, path2, E));
        tmlp_st_file *f1 = NULL, *f2 = NULL;
        OK(tmlp_st_read(path, NULL, &f1, E));
        OK(tmlp_st_read(path2, NULL, &f2, E));
        assert_int_equal(f1->size, f2->size);
        assert_memory_equal(f1->bytes, f2->bytes, f1->size);
        /* What it holds: a bias-free linear has no 0.bias; the non-affine norms no weight. */
        assert_null(tmlp_st_find(f1, "0.bias"));
        assert_non_null(tmlp_st_find(f1, "3.running_var"));
        assert_null(tmlp_st_find(f1, "14.weight"));
        assert_null(tmlp_st_find(f1, "15.weight"));
        assert_non_null(tmlp_st_find(f1, "6.bias"));
        tmlp_st_free(f1);
        tmlp_st_free(f2);
        tmlp_model_destroy(m);
        tmlp_model_destroy(back);
        tmlp_model_destroy(filled);
    }
}

/* ---- Files written by hand: the loader's and load_weights' refusals ------------------- */

typedef struct {
    const char *name;
    tmlp_st_dtype dtype;
    int ndim;
    uint64_t d0, d1;
} spec;

/* Write tensors (all values `value`, F32 unless said) and a layer list as metadata. */
static void write_specs(const char *path, const spec *s, int n, const char *layers, float value)
{
    static float data[8][64];
    tmlp_st_write_tensor ts[8];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 64; j++) data[i][j] = value;
        ts[i] = (tmlp_st_write_tensor){.name = s[i].name, .dtype = s[i].dtype ? s[i].dtype : TMLP_ST_F32,
                                       .ndim = s[i].ndim, .shape = {s[i].d0, s[i].d1}, .data = data[i]};
    }
    char k[] = "tinymlp.layers", v[256];
    snprintf(v, sizeof v, "%s", layers);
    tmlp_st_meta meta = {k, v};
    OK(tmlp_st_write(path, ts, n, &meta, 1, NULL, E));
}

static tmlp_status load_file(const char *path, const char *layers, tmlp_error *err)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.layers = layers;
    tmlp_model *m = NULL;
    tmlp_status st = tmlp_model_load(path, &o, &m, err);
    if (st != TMLP_OK) assert_null(m);
    tmlp_model_destroy(m);
    return st;
}

#define F32_ 0
static void test_loader_refusals(void **state)
{
    test_tmpdir *t = *state;
    char p[4096];
    test_tmpdir_join(t, "r.safetensors", p, sizeof p);
    tmlp_error err = {0};
    const spec lin0 = {"0.weight", F32_, 2, 4, 3}, lin2 = {"2.weight", F32_, 2, 2, 4};
    const spec w1 = {"1.weight", F32_, 1, 4, 0}, b1 = {"1.bias", F32_, 1, 4, 0};
    const spec m1 = {"1.running_mean", F32_, 1, 4, 0}, v1 = {"1.running_var", F32_, 1, 4, 0};

    spec s[8] = {lin0, w1, lin2};
    write_specs(p, s, 3, "linear,layernorm,linear", 1.0f);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_MISSING_TENSOR, "`1.weight` is in the file but `1.bias`", NULL);
    s[1] = m1;
    write_specs(p, s, 3, "linear,batchnorm,linear", 1.0f);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_MISSING_TENSOR, "`1.running_var` not found", NULL);
    s[1] = (spec){"1.running_mean", F32_, 1, 5, 0};
    s[3] = v1;
    write_specs(p, s, 4, "linear,batchnorm,linear", 1.0f);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_SHAPE, "`1.running_mean`: shape 5", "takes 4", NULL);
    s[1] = (spec){"1.running_mean", F32_, 2, 4, 1};
    write_specs(p, s, 4, "linear,batchnorm,linear", 1.0f);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_SHAPE, "`1.running_mean`: shape 4x1", NULL);
    s[1] = m1;
    s[4] = (spec){"1.num_batches_tracked", F32_, 0, 0, 0};
    write_specs(p, s, 5, "linear,batchnorm,linear", 1.0f);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_UNSUPPORTED, "`1.num_batches_tracked`", "I64", NULL);
    s[4] = (spec){"1.num_batches_tracked", TMLP_ST_I64, 0, 0, 0};
    write_specs(p, s, 5, "linear,batchnorm,linear", 1.0f);
    assert_int_equal(load_file(p, NULL, &err), TMLP_OK); /* accepted and ignored */
    write_specs(p, s, 5, "linear,batchnorm,linear", -1.0f); /* running_var -1, eps 1e-5 */
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_FORMAT, "`1.running_var`: element 0", "> 0", NULL);
    s[4] = (spec){"1.foo", F32_, 1, 4, 0};
    write_specs(p, s, 5, "linear,batchnorm,linear", 1.0f);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_EXTRA_TENSOR, "`1.foo`", NULL);
    s[4] = (spec){"2.running_mean", F32_, 1, 4, 0};
    write_specs(p, s, 5, "linear,batchnorm,linear", 1.0f);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_EXTRA_TENSOR, "`2.running_mean`", NULL);
    s[1] = w1;
    s[3] = b1;
    write_specs(p, s, 4, "linear,layernorm,linear", NAN);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_FORMAT, "tensor `0.weight`: element 0 is NaN", NULL);

    /* The input width from the first module that has tensors, whatever its kind. */
    const spec bn_first[2] = {{"1.running_mean", F32_, 1, 3, 0}, {"1.running_var", F32_, 1, 3, 0}};
    write_specs(p, bn_first, 2, "relu,batchnorm(0),gelu", 1.0f);
    tmlp_model *m = NULL;
    OK(tmlp_model_load(p, NULL, &m, E));
    assert_int_equal(tmlp_model_input_width(m), 3);
    assert_int_equal(tmlp_model_layer_count(m), 3);
    tmlp_model_destroy(m);
    write_specs(p, s, 0, "layernorm,relu", 1.0f);
    expect(load_file(p, NULL, &err), &err, TMLP_ERR_LAYERS, "no linear", NULL);
}

/* The grammar, through tmlp_model_options.layers on a PyTorch file (linear,relu,linear). */
static void test_layer_grammar(void **state)
{
    (void)state;
    const char *file = test_fixture("layers/relu.safetensors");
    tmlp_error err = {0};
    static const struct {
        const char *in, *out;
    } good[] = {
        {" linear , leaky_relu ( 0.2 ) ,\tlinear ", "linear,leaky_relu(0.2),linear"},
        {"linear,leaky_relu,linear", "linear,leaky_relu(0.01),linear"},
        {"linear,leaky_relu(-3),linear", "linear,leaky_relu(-3),linear"},
        {"linear,layernorm,linear", "linear,layernorm(1e-05),linear"},
        {"linear,batchnorm(0),identity", NULL}, /* no running stats in the file: refused below */
        {"linear,gelu_tanh,linear", "linear,gelu_tanh,linear"},
        {"linear,dropout,linear", "linear,dropout,linear"},
        {"linear,layernorm(3.4028234663852886e+38),linear", "linear,layernorm(3.4028235e+38),linear"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        if (!good[i].out) continue;
        tmlp_model_options o = tmlp_model_options_default();
        o.layers = good[i].in;
        tmlp_model *m = NULL;
        if (tmlp_model_load(file, &o, &m, &err) != TMLP_OK) fail_msg("%s: %s", good[i].in, err.message);
        char buf[256];
        OK(tmlp_model_layers_string(m, buf, sizeof buf, E));
        assert_string_equal(buf, good[i].out);
        tmlp_model_destroy(m);
    }
    static const struct {
        const char *in, *says;
    } bad[] = {
        {"linear,leaky_relu(abc),linear", "layer 1: `leaky_relu(abc)`: SLOPE `abc` is not a finite number"},
        {"linear,leaky_relu(nan),linear", "not a finite number"},
        {"linear,leaky_relu(1e99),linear", "not a finite number"},
        {"linear,leaky_relu(0.2x),linear", "`0.2x` is not"},
        {"linear,leaky_relu(),linear", "empty parentheses"},
        {"linear,leaky_relu(0.2,linear", "no closing"},
        {"linear,relu(2),linear", "layer 1: `relu(2)`: relu takes no number"},
        {"linear,layernorm(-1),linear", "`layernorm(-1)`: EPS -1, it must be > 0"},
        {"linear,layernorm(0),linear", "must be > 0"},
        {"linear,batchnorm(-1e-3),linear", "must be >= 0"},
        {"linear,Gelu,linear", "unknown layer `Gelu` (known: linear, relu, leaky_relu, gelu, gelu_tanh, tanh, "
                               "sigmoid, silu, softmax, log_softmax, layernorm, batchnorm, dropout, identity)"},
        {"linear,swish(1),linear", "unknown layer `swish`"},
        {"linear,,linear", "layer 1: empty name"},
        {"linear,batchnorm(0),identity", "`1.running_mean` not found"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tmlp_status want = strstr(bad[i].says, "not found") ? TMLP_ERR_MISSING_TENSOR : TMLP_ERR_LAYERS;
        expect(load_file(file, bad[i].in, &err), &err, want, bad[i].says, NULL);
    }
}

static void test_load_weights_new_kinds(void **state)
{
    test_tmpdir *t = *state;
    char p[4096];
    test_tmpdir_join(t, "w.safetensors", p, sizeof p);
    tmlp_error err = {0};
    /* A C-built Linear(7 -> 8), BatchNorm(8), Linear(8 -> 5) filled from PyTorch's file:
     * its reference outputs. */
    float w[8 * 8] = {0}, ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    tmlp_model *m = new_model(7, TMLP_KERNEL_AUTO);
    OK(tmlp_model_add_dense(m, 7, 8, w, NULL, E));
    OK(tmlp_model_add_batchnorm(m, w, ones, NULL, NULL, 1e-5f, E));
    OK(tmlp_model_add_dense(m, 8, 5, w, NULL, E));

    /* Refusals first: each leaves the model unchanged. */
    const spec full[7] = {{"0.weight", F32_, 2, 8, 7}, {"0.bias", F32_, 1, 8, 0},
                          {"1.running_mean", F32_, 1, 8, 0}, {"1.running_var", F32_, 1, 8, 0},
                          {"1.num_batches_tracked", TMLP_ST_I64, 0, 0, 0}, {"2.weight", F32_, 2, 5, 8},
                          {"1.weight", F32_, 1, 8, 0}};
    write_specs(p, full, 5, "x", 1.0f); /* no 2.weight */
    expect(tmlp_model_load_weights(m, p, &err), &err, TMLP_ERR_MISSING_TENSOR, "`2.weight`", NULL);
    spec s[7];
    memcpy(s, full, sizeof s);
    s[3] = (spec){"1.running_var", F32_, 1, 7, 0};
    write_specs(p, s, 6, "x", 1.0f);
    expect(tmlp_model_load_weights(m, p, &err), &err, TMLP_ERR_SHAPE, "`1.running_var`: shape 7",
           "layer 1 (batchnorm 8 -> 8) takes 8", NULL);
    write_specs(p, full, 7, "x", 1.0f); /* 1.weight without 1.bias */
    expect(tmlp_model_load_weights(m, p, &err), &err, TMLP_ERR_MISSING_TENSOR, "`1.weight` is in the file but `1.bias`", NULL);
    memcpy(s, full, sizeof s);
    s[4] = (spec){"1.num_batches_tracked", F32_, 1, 2, 0};
    write_specs(p, s, 6, "x", 1.0f);
    expect(tmlp_model_load_weights(m, p, &err), &err, TMLP_ERR_UNSUPPORTED, "num_batches_tracked", NULL);
    write_specs(p, full, 6, "x", -2.0f); /* running_var -2 */
    expect(tmlp_model_load_weights(m, p, &err), &err, TMLP_ERR_FORMAT, "`1.running_var`", "> 0", NULL);
    s[4] = (spec){"3.weight", F32_, 1, 2, 0};
    write_specs(p, s, 6, "x", 1.0f);
    expect(tmlp_model_load_weights(m, p, &err), &err, TMLP_ERR_EXTRA_TENSOR, "`3.weight`", NULL);
    const float *w0, *b0; /* still the zeros it was built with */
    assert_int_equal(tmlp_model_dense_params(m, 0, &w0, &b0, NULL), TMLP_OK);
    for (int i = 0; i < 8 * 7; i++) assert_true(w0[i] == 0.0f);
    for (int i = 0; i < 8; i++) assert_true(b0[i] == 0.0f);

    /* PyTorch's own file and its float64 reference. */
    OK(tmlp_model_load_weights(m, test_fixture("layers/batchnorm.safetensors"), E));
    tmlp_st_file *io = NULL;
    OK(tmlp_st_read(test_fixture("layers/batchnorm_io.safetensors"), NULL, &io, E));
    float xin[3 * 7], y[3 * 5], ref[3 * 5];
    memcpy(xin, tmlp_st_find(io, "x")->data, sizeof xin);
    double maxabs = 0;
    for (int i = 0; i < 15; i++) {
        double v;
        memcpy(&v, tmlp_st_find(io, "y_ref")->data + 8 * i, 8);
        ref[i] = (float)v;
        maxabs = fmax(maxabs, fabs(v));
    }
    run(m, xin, 3, y);
    assert_int_equal(check_tensor("load_weights batchnorm", y, ref, 15, 0, 1e-5 * maxabs), 0);
    tmlp_st_free(io);
    tmlp_model_destroy(m);
}

/* ---- 5. PyTorch's models (tests/fixtures/layers/, from the fixtures branch) ----------- */

typedef struct {
    float x[3 * 64];
    double y_ref[3 * 64];
    int64_t in, out;
} io_case;

static void read_io(const char *model_name, io_case *c)
{
    char name[256];
    snprintf(name, sizeof name, "layers/%.*s_io.safetensors", (int)(strlen(model_name) - strlen(".safetensors")),
             model_name);
    tmlp_st_file *f = NULL;
    tmlp_error err = {0};
    if (tmlp_st_read(test_fixture(name), NULL, &f, &err) != TMLP_OK) fail_msg("%s: %s", name, err.message);
    const tmlp_st_tensor *x = tmlp_st_find(f, "x"), *y = tmlp_st_find(f, "y_ref");
    assert_non_null(x);
    assert_non_null(y);
    assert_true(x->dtype == TMLP_ST_F32 && y->dtype == TMLP_ST_F64 && x->shape[0] == 3 && y->shape[0] == 3);
    assert_true(x->numel <= 3 * 64 && y->numel <= 3 * 64);
    c->in = (int64_t)x->shape[1];
    c->out = (int64_t)y->shape[1];
    memcpy(c->x, x->data, x->numel * sizeof(float));
    memcpy(c->y_ref, y->data, y->numel * sizeof(double));
    tmlp_st_free(f);
}

/* The model on the case's rows at batch 1 (each row alone) and 3, against y_ref within
 * tol * max|y_ref|. */
static void check_fixture(const char *file, const io_case *c, const tmlp_model_options *o, double tol)
{
    tmlp_model *m = NULL;
    tmlp_error err = {0};
    char path[512];
    snprintf(path, sizeof path, "layers/%s", file);
    if (tmlp_model_load(test_fixture(path), o, &m, &err) != TMLP_OK) fail_msg("%s: %s", file, err.message);
    assert_int_equal(tmlp_model_input_width(m), c->in);
    assert_int_equal(tmlp_model_output_width(m), c->out);
    double maxabs = 0;
    float ref[3 * 64], y[3 * 64];
    for (int64_t i = 0; i < 3 * c->out; i++) {
        ref[i] = (float)c->y_ref[i];
        maxabs = fmax(maxabs, fabs(c->y_ref[i]));
    }
    char what[160];
    snprintf(what, sizeof what, "%s %s %s b3", file, tmlp_kernel_name(o->kernel), tmlp_precision_name(o->precision));
    run(m, c->x, 3, y);
    assert_int_equal(check_tensor(what, y, ref, 3 * c->out, 0, tol * maxabs), 0);
    for (int r = 0; r < 3; r++) {
        snprintf(what, sizeof what, "%s %s %s b1 row %d", file, tmlp_kernel_name(o->kernel),
                 tmlp_precision_name(o->precision), r);
        run(m, c->x + r * c->in, 1, y);
        assert_int_equal(check_tensor(what, y, ref + r * c->out, c->out, 0, tol * maxabs), 0);
    }
    tmlp_model_destroy(m);
}

static void test_pytorch_fixtures(void **state)
{
    (void)state;
    DIR *d = opendir(test_fixture("layers"));
    if (!d) fail_msg("%s: cannot open (the fixtures branch's tests/fixtures/layers/)", test_fixture("layers"));
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const size_t len = strlen(e->d_name);
        const char *sfx = ".safetensors";
        if (len < strlen(sfx) || strcmp(e->d_name + len - strlen(sfx), sfx) || strstr(e->d_name, "_io.")) continue;
        static io_case c;
        read_io(e->d_name, &c);
        for (size_t k = 0; k < N_KERNELS; k++) {
            if (!tmlp_kernel_available(KERNELS[k])) continue;
            tmlp_model_options o = tmlp_model_options_default();
            o.kernel = KERNELS[k];
            o.precision = TMLP_PRECISION_F32;
            check_fixture(e->d_name, &c, &o, 1e-5);
            if (KERNELS[k] == TMLP_KERNEL_BLAS) continue; /* no BF16 / INT8 path */
            o.precision = TMLP_PRECISION_BF16;
            check_fixture(e->d_name, &c, &o, 3e-2);
            o.precision = TMLP_PRECISION_INT8;
            check_fixture(e->d_name, &c, &o, 6e-2);
        }
        n++;
    }
    closedir(d);
    assert_true(n >= 20); /* one per kind and the mixtures */
}

/* ---- 6. Scratch, allocation failures -------------------------------------------------- */

/* A test layer that needs scratch: y = x + (the row's sum, computed through scratch[0..n)). */
typedef struct {
    tmlp_layer base;
    int64_t *calls_with_scratch;
} scratch_layer;

static void scratch_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch, float *scratch)
{
    const int64_t n = l->out_width;
    assert_non_null(scratch);
    for (int64_t r = 0; r < batch; r++) {
        float *s = scratch + r * 2 * n; /* 2n floats per row: every byte of it is ours */
        float sum = 0;
        for (int64_t j = 0; j < 2 * n; j++) s[j] = x[r * n + j % n];
        for (int64_t j = 0; j < n; j++) sum += s[j];
        for (int64_t j = 0; j < n; j++) y[r * n + j] = x[r * n + j] + sum;
    }
    ++*((const scratch_layer *)l)->calls_with_scratch;
}
static size_t scratch_floats(const tmlp_layer *l) { return 2 * (size_t)l->out_width; }
static int64_t zero_count(const tmlp_layer *l) { (void)l; return 0; }
static void scratch_destroy(tmlp_layer *l, const tmlp_allocator *a) { tmlp_mem_free(a, l); }

static const tmlp_layer_ops scratch_ops = {
    .name = "scratch_test", .kind = TMLP_LAYER_GRAPH, .forward = scratch_forward,
    .scratch_floats = scratch_floats, .param_count = zero_count, .flops_per_sample = zero_count,
    .destroy = scratch_destroy,
};

static void test_layer_scratch(void **state)
{
    (void)state;
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_model_options o = tmlp_model_options_default();
    o.allocator = test_alloc_hook(&ta);
    tmlp_model *m = NULL;
    OK(tmlp_model_create(3, &o, &m, E));
    int64_t calls = 0;
    scratch_layer *l = tmlp_mem_alloc(&o.allocator, sizeof *l);
    assert_non_null(l);
    *l = (scratch_layer){{&scratch_ops, 3, 3, 0, TMLP_EPILOGUE_NONE}, &calls};
    OK(tmlp_model_add_layer(m, &l->base, E));
    OK(tmlp_model_add_gelu(m, E));
    tmlp_session *s = NULL;
    OK(tmlp_session_create(m, 5, &s, E));
    const long allocs = ta.calls;
    const float x[5 * 3] = {1, 2, 3, 0, 0, 1, -1, 1, 0, 2, 2, 2, 0, 0, 0};
    tmlp_tensor in = tmlp_tensor_2d(x, 5, 3), out;
    OK(tmlp_session_forward(s, &in, &out, E));
    assert_int_equal(ta.calls, allocs); /* the scratch came with the session */
    assert_int_equal(calls, 1);
    assert_float_equal(out.data[0], 0.5 * 7 * (1 + erf(7 / sqrt(2))), 1e-5);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    assert_int_equal(ta.allocs, ta.frees);
}

/* Build a model of every new kind, save it, load it, fill it with load_weights and run
 * both, through an allocator that fails its k-th allocation. y gets both outputs (2 x 2 x 8)
 * when everything succeeded. */
static tmlp_status build_all_failing(const tmlp_allocator *a, const char *path, float *y)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.allocator = *a;
    tmlp_error err = {0};
    tmlp_model *m = NULL, *back = NULL;
    float w[8 * 8], b[8], p[4][8], x[2 * 8];
    fill(w, 64, 1, 0.5f);
    fill(b, 8, 2, 0.5f);
    fill(x, 16, 3, 2.0f);
    for (int k = 0; k < 4; k++) fill(p[k], 8, 3 + k, 1.0f);
    for (int j = 0; j < 8; j++) p[1][j] = p[1][j] * p[1][j] + 0.5f;
    tmlp_status st = tmlp_model_create(8, &o, &m, &err);
    if (st == TMLP_OK) st = tmlp_model_add_dense(m, 8, 8, w, NULL, &err);
    if (st == TMLP_OK) st = tmlp_model_add_batchnorm(m, p[0], p[1], p[2], p[3], 1e-5f, &err);
    if (st == TMLP_OK) st = tmlp_model_add_gelu(m, &err);
    if (st == TMLP_OK) st = tmlp_model_add_layernorm(m, p[2], p[3], 1e-5f, &err);
    if (st == TMLP_OK) st = tmlp_model_add_leaky_relu(m, 0.1f, &err);
    if (st == TMLP_OK) st = tmlp_model_add_tanh(m, &err);
    if (st == TMLP_OK) st = tmlp_model_add_sigmoid(m, &err);
    if (st == TMLP_OK) st = tmlp_model_add_silu(m, &err);
    if (st == TMLP_OK) st = tmlp_model_add_gelu_tanh(m, &err);
    if (st == TMLP_OK) st = tmlp_model_add_dropout(m, &err);
    if (st == TMLP_OK) st = tmlp_model_add_identity(m, &err);
    if (st == TMLP_OK) st = tmlp_model_add_batchnorm(m, p[0], p[1], NULL, NULL, 1e-3f, &err);
    if (st == TMLP_OK) st = tmlp_model_add_dense(m, 8, 8, w, b, &err);
    if (st == TMLP_OK) st = tmlp_model_add_log_softmax(m, &err);
    if (st == TMLP_OK) st = tmlp_model_save(m, path, &err);
    if (st == TMLP_OK) st = tmlp_model_load(path, &o, &back, &err);
    if (st == TMLP_OK) st = tmlp_model_load_weights(m, path, &err);
    const tmlp_model *both[2] = {m, back};
    for (int i = 0; i < 2 && st == TMLP_OK; i++) {
        tmlp_session *s = NULL;
        tmlp_tensor in = tmlp_tensor_2d(x, 2, 8), out;
        st = tmlp_session_create(both[i], 2, &s, &err);
        if (st == TMLP_OK) st = tmlp_session_forward(s, &in, &out, &err);
        if (st == TMLP_OK) memcpy(y + i * 16, out.data, 16 * sizeof(float));
        tmlp_session_destroy(s);
    }
    if (st != TMLP_OK && st != TMLP_ERR_NOMEM) fail_msg("status %d: %s", st, err.message);
    if (st == TMLP_ERR_NOMEM) assert_non_null(strstr(err.message, "memory"));
    tmlp_model_destroy(back);
    tmlp_model_destroy(m);
    return st;
}

/* Fail each allocation in turn: every run returns NOMEM and leaks nothing, or succeeds
 * with the same outputs (a Dense that could not re-pack its weights after a BatchNorm was
 * folded in, or after load_weights, runs them on BLAS: slower, not wrong). */
static void test_allocation_failures(void **state)
{
    test_tmpdir *t = *state;
    char path[4096];
    test_tmpdir_join(t, "oom.safetensors", path, sizeof path);
    float want[32], y[32];
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_allocator a = test_alloc_hook(&ta);
    assert_int_equal(build_all_failing(&a, path, want), TMLP_OK);
    const long total = ta.calls;
    int degraded = 0;
    for (long k = 0; k < total; k++) {
        test_alloc_init(&ta, k);
        a = test_alloc_hook(&ta);
        const tmlp_status st = build_all_failing(&a, path, y);
        assert_int_equal(ta.allocs, ta.frees);
        assert_int_equal(ta.failed, 1);
        if (st == TMLP_OK) {
            degraded++;
            assert_int_equal(check_tensor("after a tolerated failure", y, want, 32, 1e-5, 1e-6), 0);
        }
    }
    print_message("%ld allocations, each failed once (%d runs on BLAS instead)\n", total, degraded);
    assert_true(total > 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activations_by_hand),
        cmocka_unit_test(test_log_softmax_by_hand),
        cmocka_unit_test(test_layernorm_by_hand),
        cmocka_unit_test(test_layernorm_every_unit),
        cmocka_unit_test(test_batchnorm_by_hand),
        cmocka_unit_test(test_dropout_identity_bias_free),
        cmocka_unit_test(test_builder_refusals),
        cmocka_unit_test(test_fused_equals_unfused),
        cmocka_unit_test(test_fused_rows),
        cmocka_unit_test(test_batchnorm_folding),
        TEST_IN_TMPDIR(test_every_kind_round_trip),
        TEST_IN_TMPDIR(test_loader_refusals),
        cmocka_unit_test(test_layer_grammar),
        TEST_IN_TMPDIR(test_load_weights_new_kinds),
        cmocka_unit_test(test_pytorch_fixtures),
        cmocka_unit_test(test_layer_scratch),
        TEST_IN_TMPDIR(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
