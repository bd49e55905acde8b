/* test_reference.c — the engine against PyTorch's own numbers.
 *
 * tools/make_reference.py (run once, with Debian's python3-torch) wrote seeded PyTorch
 * models, inputs and PyTorch's float32 outputs into tests/fixtures/ (see the script's
 * docstring for the exact contents). This test loads each model with tmlp_model_load,
 * runs the inputs through a session at batch 1, 7 and 64 and requires
 *
 *   - every output close to PyTorch's:  |got - exp| <= 1e-5 * max(|exp|, FLOOR)
 *     i.e. a relative error of at most 1e-5, where values smaller in magnitude than
 *     FLOOR are held to an absolute error of 1e-5 * FLOOR instead. A relative error is
 *     meaningless next to 0: a float32 dot product's rounding error scales with the
 *     magnitude of its terms, not of its (possibly cancelling) sum, and PyTorch and
 *     OpenBLAS add the products in different orders. Measured on these fixtures,
 *     PyTorch's own float32 logits differ from exact (float64) arithmetic by up to
 *     8.3e-8 absolute while the logits are ~0.08 in median magnitude (max 0.37), so:
 *       FLOOR_LOGITS = 0.05  -> at most 5e-7 absolute slack near 0 (~6x that error);
 *       FLOOR_PROBS  = 1e-3  -> at most 1e-8 absolute slack for softmax outputs
 *                               (probabilities of ~0.1; softmax damps logit errors by p);
 *   - the same argmax in every row (PyTorch's, stored as I64).
 *
 * Models:
 *   ref_mlp   784-64-32-10 Linear/ReLU/.../Softmax, F32, layer list and Fashion-MNIST
 *             preprocessing in __metadata__. Checked three ways: probabilities from
 *             float inputs, logits (loading the same file with an explicit list that omits
 *             the final softmax, as for a plain PyTorch file), and probabilities from raw
 *             uint8 pixels through tmlp_session_forward_u8 and the file's preprocessing.
 *   ref_half  24-16-12-5, weights stored F16 and BF16, no __metadata__ (a plain
 *             state_dict): the layer list is passed by the caller.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "check.h" /* test_fixture */
#include "io/safetensors.h"
#include "tinymlp/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int64_t BATCHES[] = {1, 7, 64};
#define REL_TOL 1e-5
#define FLOOR_LOGITS 0.05
#define FLOOR_PROBS 1e-3

/* The reference data file (inputs and PyTorch outputs), read as a safetensors container. */
static tmlp_st_file *open_io(const char *name)
{
    tmlp_st_file *f = NULL;
    tmlp_error err = {TMLP_OK, ""};
    if (tmlp_st_read(test_fixture(name), NULL, &f, &err) != TMLP_OK)
        fail_msg("%s: %s (regenerate with /usr/bin/python3 tools/make_reference.py)", name,
                 err.message);
    return f;
}

static const tmlp_st_tensor *need(const tmlp_st_file *f, const char *name, tmlp_st_dtype dtype,
                                  uint64_t numel)
{
    const tmlp_st_tensor *t = tmlp_st_find(f, name);
    if (!t) fail_msg("reference tensor `%s` missing", name);
    if (t->dtype != dtype || t->numel != numel)
        fail_msg("reference tensor `%s`: dtype %s numel %llu, expected %s numel %llu", name,
                 tmlp_st_dtype_name(t->dtype), (unsigned long long)t->numel,
                 tmlp_st_dtype_name(dtype), (unsigned long long)numel);
    return t;
}

/* A reference F32 tensor copied out (the file's data may be unaligned). Caller frees. */
static float *need_f32(const tmlp_st_file *f, const char *name, uint64_t numel)
{
    const tmlp_st_tensor *t = need(f, name, TMLP_ST_F32, numel);
    float *v = malloc(numel * sizeof *v);
    assert_non_null(v);
    memcpy(v, t->data, numel * sizeof *v);
    return v;
}

/* Compare got[0..n) with exp under the tolerance above; print the first few mismatches
 * (index, got, expected) and fail if there is any. Returns the largest error ratio
 * |got - exp| / (1e-5 * max(|exp|, floor)), <= 1 when everything passes. */
static double check_close(const char *what, const float *got, const float *exp, int64_t n,
                          double floor)
{
    int bad = 0;
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = exp[i], g = got[i];
        double ratio = fabs(g - e) / (REL_TOL * fmax(fabs(e), floor));
        if (!(ratio <= 1.0)) { /* also catches NaN */
            if (bad < 5)
                print_error("%s[%lld]: got %.9g expected %.9g (|diff| %.3g)\n", what, (long long)i,
                            g, e, fabs(g - e));
            bad++;
        }
        if (ratio > worst || isnan(ratio)) worst = ratio;
    }
    if (bad) fail_msg("%s: %d of %lld values outside the tolerance", what, bad, (long long)n);
    return worst;
}

static void check_argmax(const char *what, const float *y, int64_t batch, int64_t width,
                         const tmlp_st_tensor *ref)
{
    for (int64_t r = 0; r < batch; r++) {
        int64_t want;
        memcpy(&want, ref->data + r * 8, 8); /* I64, little-endian like the host */
        int64_t got = tmlp_argmax(y + r * width, width);
        if (got != want)
            fail_msg("%s: row %lld argmax %lld, PyTorch says %lld", what, (long long)r,
                     (long long)got, (long long)want);
    }
}

static tmlp_model *load(const char *name, const char *layers)
{
    tmlp_model *m = NULL;
    tmlp_error err = {TMLP_OK, ""};
    tmlp_model_options o = tmlp_model_options_default();
    o.layers = layers;
    if (tmlp_model_load(test_fixture(name), &o, &m, &err) != TMLP_OK)
        fail_msg("%s: %s", name, err.message);
    return m;
}

/* Forward x[:B] for each B, compare with "<prefix>_b<B>" (and argmax_b<B> if asked). */
static void run_batches(tmlp_model *m, const tmlp_st_file *io, const float *x,
                        const char *prefix, double floor, int with_argmax)
{
    const int64_t in_w = tmlp_model_input_width(m), out_w = tmlp_model_output_width(m);
    tmlp_session *s = NULL;
    assert_int_equal(tmlp_session_create(m, 64, &s, NULL), TMLP_OK);
    for (size_t k = 0; k < sizeof BATCHES / sizeof *BATCHES; k++) {
        const int64_t b = BATCHES[k];
        char name[64];
        snprintf(name, sizeof name, "%s_b%lld", prefix, (long long)b);
        float *exp = need_f32(io, name, (uint64_t)(b * out_w));
        tmlp_tensor in = tmlp_tensor_2d((float *)x, b, in_w), out;
        assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
        assert_int_equal(out.shape[0], b);
        assert_int_equal(out.shape[1], out_w);
        double worst = check_close(name, out.data, exp, b * out_w, floor);
        print_message("  %-12s worst error = %.3f of the tolerance\n", name, worst);
        if (with_argmax) {
            snprintf(name, sizeof name, "argmax_b%lld", (long long)b);
            check_argmax(name, out.data, b, out_w, need(io, name, TMLP_ST_I64, (uint64_t)b));
        }
        free(exp);
    }
    tmlp_session_destroy(s);
}

static void test_mlp_probabilities(void **state)
{
    (void)state;
    tmlp_st_file *io = open_io("ref_mlp_io.safetensors");
    tmlp_model *m = load("ref_mlp.safetensors", NULL);
    assert_int_equal(tmlp_model_input_width(m), 784);
    assert_int_equal(tmlp_model_output_width(m), 10);
    assert_int_equal(tmlp_model_layer_count(m), 6);
    float *x = need_f32(io, "x", 64 * 784);
    run_batches(m, io, x, "y", FLOOR_PROBS, 1);
    free(x);
    tmlp_model_destroy(m);
    tmlp_st_free(io);
}

static void test_mlp_logits_explicit_layers(void **state)
{
    (void)state;
    tmlp_st_file *io = open_io("ref_mlp_io.safetensors");
    tmlp_model *m = load("ref_mlp.safetensors", "linear,relu,linear,relu,linear");
    float *x = need_f32(io, "x", 64 * 784);
    /* Softmax is monotonic, so the logits' argmax is the probabilities' argmax. */
    run_batches(m, io, x, "logits", FLOOR_LOGITS, 1);
    free(x);
    tmlp_model_destroy(m);
    tmlp_st_free(io);
}

/* Raw pixels through the file's preprocessing x = (raw * scale - mean) / std. PyTorch
 * computed x in float64 and rounded once; the engine may round in between, so its
 * inputs can differ from PyTorch's by an ulp, which the tolerance absorbs. */
static void test_mlp_raw_pixels(void **state)
{
    (void)state;
    tmlp_st_file *io = open_io("ref_mlp_io.safetensors");
    tmlp_model *m = load("ref_mlp.safetensors", NULL);
    tmlp_preprocess p = tmlp_model_preprocess(m);
    assert_int_equal(p.has_preprocess, 1);
    assert_true(p.scale == 1.0 / 255.0 && p.mean == 0.2860 && p.std == 0.3530);

    const unsigned char *raw = need(io, "x_u8", TMLP_ST_U8, 64 * 784)->data;
    tmlp_session *s = NULL;
    assert_int_equal(tmlp_session_create(m, 64, &s, NULL), TMLP_OK);
    for (size_t k = 0; k < sizeof BATCHES / sizeof *BATCHES; k++) {
        const int64_t b = BATCHES[k];
        char name[32];
        snprintf(name, sizeof name, "y_b%lld", (long long)b);
        float *exp = need_f32(io, name, (uint64_t)(b * 10));
        tmlp_tensor out;
        assert_int_equal(tmlp_session_forward_u8(s, raw, b, &out, NULL), TMLP_OK);
        check_close(name, out.data, exp, b * 10, FLOOR_PROBS);
        snprintf(name, sizeof name, "argmax_b%lld", (long long)b);
        check_argmax(name, out.data, b, 10, need(io, name, TMLP_ST_I64, (uint64_t)b));
        free(exp);
    }
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    tmlp_st_free(io);
}

static void test_half_weights(void **state)
{
    (void)state;
    tmlp_st_file *io = open_io("ref_half_io.safetensors");
    tmlp_model *m = load("ref_half.safetensors", "linear,relu,linear,relu,linear");
    assert_int_equal(tmlp_model_input_width(m), 24);
    assert_int_equal(tmlp_model_output_width(m), 5);
    float *x = need_f32(io, "x", 64 * 24);
    run_batches(m, io, x, "y", FLOOR_LOGITS, 1);
    free(x);
    tmlp_model_destroy(m);
    tmlp_st_free(io);
}

int main(void)
{
    if (test_kernel_env_skip()) return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_probabilities),
        cmocka_unit_test(test_mlp_logits_explicit_layers),
        cmocka_unit_test(test_mlp_raw_pixels),
        cmocka_unit_test(test_half_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
