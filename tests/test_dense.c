/* test_dense.c — the layers' arithmetic on cases checkable on paper: a 2x3 Dense at
 * batch 1 (sgemv) and batch 2 (sgemm), softmax of huge logits, and the fused
 * bias+ReLU epilogue against the unfused path, bit for bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"

#include <string.h>

/* W (out=2, in=3), b (2):
 *     y0 = 1*x0 + 2*x1 + 3*x2 + 0.5
 *     y1 = 4*x0 + 5*x1 + 6*x2 - 1        */
static const float W23[6] = {1, 2, 3, 4, 5, 6};
static const float B2[2] = {0.5f, -1.0f};

static tmlp_model *dense23(int relu)
{
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_create(3, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 3, 2, W23, B2, NULL), TMLP_OK);
    if (relu) assert_int_equal(tmlp_model_add_relu(m, NULL), TMLP_OK);
    return m;
}

static void test_dense_2x3_batch1(void **state)
{
    (void)state;
    tmlp_model *m = dense23(0);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 4, &s, NULL), TMLP_OK);
    float x[3] = {0.5f, 1.0f, 2.0f}; /* y0 = .5+2+6+.5 = 9, y1 = 2+5+12-1 = 18 */
    tmlp_tensor in = tmlp_tensor_2d(x, 1, 3), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    assert_int_equal(out.ndim, 2);
    assert_int_equal(out.shape[0], 1);
    assert_int_equal(out.shape[1], 2);
    assert_int_equal(out.dtype, TMLP_DTYPE_F32);
    const float expect[2] = {9.0f, 18.0f};
    assert_int_equal(check_tensor("y", out.data, expect, 2, 0, 0), 0);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_dense_2x3_batch2(void **state)
{
    (void)state;
    tmlp_model *m = dense23(0);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 4, &s, NULL), TMLP_OK);
    /* row 0 as above; row 1: x = (1, 0, -1): y0 = 1-3+.5 = -1.5, y1 = 4-6-1 = -3 */
    float x[6] = {0.5f, 1.0f, 2.0f, 1.0f, 0.0f, -1.0f};
    tmlp_tensor in = tmlp_tensor_2d(x, 2, 3), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    assert_int_equal(out.shape[0], 2);
    assert_int_equal(out.shape[1], 2);
    const float expect[4] = {9.0f, 18.0f, -1.5f, -3.0f};
    assert_int_equal(check_tensor("y", out.data, expect, 4, 0, 0), 0);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_dense_2x3_relu(void **state)
{
    (void)state;
    tmlp_model *m = dense23(1);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 2, &s, NULL), TMLP_OK);
    float x[6] = {0.5f, 1.0f, 2.0f, 1.0f, 0.0f, -1.0f};
    tmlp_tensor in = tmlp_tensor_2d(x, 2, 3), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    const float expect[4] = {9.0f, 18.0f, 0.0f, 0.0f};
    assert_int_equal(check_tensor("relu(y)", out.data, expect, 4, 0, 0), 0);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_dense_null_bias_is_zero(void **state)
{
    (void)state;
    tmlp_model *m;
    assert_int_equal(tmlp_model_create(3, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 3, 2, W23, NULL, NULL), TMLP_OK);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 1, &s, NULL), TMLP_OK);
    float x[3] = {0.5f, 1.0f, 2.0f};
    tmlp_tensor in = tmlp_tensor_2d(x, 1, 3), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    const float expect[2] = {8.5f, 19.0f};
    assert_int_equal(check_tensor("y", out.data, expect, 2, 0, 0), 0);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

/* Softmax alone on rows of 2 (or n) logits. */
static void softmax_rows(const float *x, int64_t rows, int64_t n, float *y)
{
    tmlp_model *m;
    assert_int_equal(tmlp_model_create(n, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_softmax(m, NULL), TMLP_OK);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, rows, &s, NULL), TMLP_OK);
    tmlp_tensor in = tmlp_tensor_2d((float *)x, rows, n), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    memcpy(y, out.data, (size_t)(rows * n) * sizeof(float));
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_softmax_large_logits(void **state)
{
    (void)state;
    /* exp(0) = 1 exactly; exp(-1000) and exp(-2e4) underflow to exactly 0 in float, so
     * the rows are exactly one-hot; without the max subtraction they would be NaN. */
    const float x[6] = {1000.0f, 0.0f, -1e4f, 1e4f, 0.0f, 0.0f};
    float y[6];
    softmax_rows(x, 3, 2, y);
    const float expect[6] = {1.0f, 0.0f, 0.0f, 1.0f, 0.5f, 0.5f};
    assert_int_equal(check_tensor("softmax", y, expect, 6, 0, 0), 0);
    for (int i = 0; i < 6; i++) assert_true(isfinite(y[i]));
}

static void test_softmax_values(void **state)
{
    (void)state;
    /* [1,2,3]: e^k / (e + e^2 + e^3) computed here in double. Shifting every logit by a
     * constant (here +500) must not change the result. */
    const float x[6] = {1, 2, 3, 501, 502, 503};
    float y[6], expect[6];
    const double z = exp(1.0) + exp(2.0) + exp(3.0);
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 3; j++) expect[r * 3 + j] = (float)(exp((double)(j + 1)) / z);
    softmax_rows(x, 2, 3, y);
    assert_int_equal(check_tensor("softmax", y, expect, 6, 1e-6, 0), 0);
}

/* Dense(37 -> 23) followed by ReLU, fused by the session, equals Dense alone followed
 * by a separate ReLU-only model, bit for bit (widths not multiples of 4 exercise the
 * vector loop's scalar tail). */
static void test_fused_bias_relu_equals_unfused(void **state)
{
    (void)state;
    enum { IN = 37, OUT = 23, B = 5 };
    tmlp_rng r;
    tmlp_rng_seed(&r, 7);
    float w[OUT * IN], b[OUT], x[B * IN];
    for (int i = 0; i < OUT * IN; i++) w[i] = (float)(tmlp_rng_uniform(&r) - 0.5);
    for (int i = 0; i < OUT; i++) b[i] = (float)(tmlp_rng_uniform(&r) - 0.5);
    for (int i = 0; i < B * IN; i++) x[i] = (float)(tmlp_rng_uniform(&r) * 2 - 1);

    tmlp_model *fused, *lin, *relu;
    assert_int_equal(tmlp_model_create(IN, NULL, &fused, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(fused, IN, OUT, w, b, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(fused, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_create(IN, NULL, &lin, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(lin, IN, OUT, w, b, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_create(OUT, NULL, &relu, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(relu, NULL), TMLP_OK);
    tmlp_session *sf, *sl, *sr;
    assert_int_equal(tmlp_session_create(fused, B, &sf, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_create(lin, B, &sl, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_create(relu, B, &sr, NULL), TMLP_OK);

    for (int64_t batch = 1; batch <= B; batch += B - 1) { /* 1 (sgemv) and 5 (sgemm) */
        tmlp_tensor in = tmlp_tensor_2d(x, batch, IN), yf, yl, yr;
        assert_int_equal(tmlp_session_forward(sf, &in, &yf, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward(sl, &in, &yl, NULL), TMLP_OK);
        int negatives = 0, positives = 0;
        float manual[B * OUT];
        for (int64_t i = 0; i < batch * OUT; i++) {
            negatives += yl.data[i] < 0;
            positives += yl.data[i] > 0;
            manual[i] = yl.data[i] > 0.0f ? yl.data[i] : 0.0f;
        }
        assert_true(negatives > 0 && positives > 0); /* the test sees both sides of 0 */
        assert_int_equal(tmlp_session_forward(sr, &yl, &yr, NULL), TMLP_OK);
        assert_int_equal(check_tensor("fused vs relu layer", yf.data, yr.data, batch * OUT, 0, 0), 0);
        assert_int_equal(check_tensor("fused vs scalar", yf.data, manual, batch * OUT, 0, 0), 0);
        assert_memory_equal(yf.data, yr.data, (size_t)(batch * OUT) * sizeof(float));
    }
    tmlp_session_destroy(sf);
    tmlp_session_destroy(sl);
    tmlp_session_destroy(sr);
    tmlp_model_destroy(fused);
    tmlp_model_destroy(lin);
    tmlp_model_destroy(relu);
}

/* batch 1 (sgemv) and batch > 1 (sgemm) agree within float rounding on a random layer. */
static void test_sgemv_matches_sgemm(void **state)
{
    (void)state;
    const int64_t widths[2] = {50, 30};
    tmlp_model *m;
    assert_int_equal(tmlp_model_random(widths, 2, 3, NULL, &m, NULL), TMLP_OK);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 3, &s, NULL), TMLP_OK);
    float x[3 * 50];
    for (int i = 0; i < 150; i++) x[i] = (float)((i * 37) % 11) - 5.0f;
    tmlp_tensor in3 = tmlp_tensor_2d(x, 3, 50), out;
    assert_int_equal(tmlp_session_forward(s, &in3, &out, NULL), TMLP_OK);
    float batched[90];
    memcpy(batched, out.data, sizeof batched);
    for (int r = 0; r < 3; r++) {
        tmlp_tensor in1 = tmlp_tensor_2d(x + r * 50, 1, 50);
        assert_int_equal(tmlp_session_forward(s, &in1, &out, NULL), TMLP_OK);
        assert_int_equal(check_tensor("row", out.data, batched + r * 30, 30, 1e-5, 1e-7), 0);
    }
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

/* Four Dense layers without activations between the first three (so the session
 * ping-pongs act[0] -> act[1] -> act[0] ...), a ReLU, then Softmax, against a naive
 * double-precision loop written out here. */
static void test_chain_matches_naive(void **state)
{
    (void)state;
    enum { B = 3 };
    const int w[5] = {4, 5, 3, 6, 2};
    tmlp_rng r;
    tmlp_rng_seed(&r, 11);
    float W[4][36], bias[4][6], x[B * 4];
    tmlp_model *m;
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    for (int l = 0; l < 4; l++) {
        for (int i = 0; i < w[l] * w[l + 1]; i++) W[l][i] = (float)(tmlp_rng_uniform(&r) - 0.5);
        for (int j = 0; j < w[l + 1]; j++) bias[l][j] = (float)(tmlp_rng_uniform(&r) - 0.5);
        assert_int_equal(tmlp_model_add_dense(m, w[l], w[l + 1], W[l], bias[l], NULL), TMLP_OK);
        if (l == 2) assert_int_equal(tmlp_model_add_relu(m, NULL), TMLP_OK);
    }
    assert_int_equal(tmlp_model_add_softmax(m, NULL), TMLP_OK);
    for (int i = 0; i < B * 4; i++) x[i] = (float)(tmlp_rng_uniform(&r) * 4 - 2);

    float expect[B * 2];
    for (int row = 0; row < B; row++) {
        double a[6], y[6];
        for (int k = 0; k < 4; k++) a[k] = x[row * 4 + k];
        for (int l = 0; l < 4; l++) {
            for (int j = 0; j < w[l + 1]; j++) {
                y[j] = bias[l][j];
                for (int k = 0; k < w[l]; k++) y[j] += (double)W[l][j * w[l] + k] * a[k];
                if (l == 2 && y[j] < 0) y[j] = 0;
            }
            memcpy(a, y, sizeof a);
        }
        const double mx = a[0] > a[1] ? a[0] : a[1];
        const double z = exp(a[0] - mx) + exp(a[1] - mx);
        for (int j = 0; j < 2; j++) expect[row * 2 + j] = (float)(exp(a[j] - mx) / z);
    }
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, B, &s, NULL), TMLP_OK);
    for (int64_t batch = 1; batch <= B; batch++) {
        tmlp_tensor in = tmlp_tensor_2d(x, batch, 4), out;
        assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
        assert_int_equal(out.shape[1], 2);
        assert_int_equal(check_tensor("chain", out.data, expect, batch * 2, 1e-5, 1e-7), 0);
    }
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_2x3_batch1),
        cmocka_unit_test(test_dense_2x3_batch2),
        cmocka_unit_test(test_dense_2x3_relu),
        cmocka_unit_test(test_dense_null_bias_is_zero),
        cmocka_unit_test(test_softmax_large_logits),
        cmocka_unit_test(test_softmax_values),
        cmocka_unit_test(test_fused_bias_relu_equals_unfused),
        cmocka_unit_test(test_sgemv_matches_sgemm),
        cmocka_unit_test(test_chain_matches_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
