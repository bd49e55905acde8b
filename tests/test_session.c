/* test_session.c — the forward pass's contract: input checks (NULL, dtype, width, batch),
 * 1-D inputs, output views, forward_u8 preprocessing, profiled timings, and that the
 * caller's input is never written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "layers/model_internal.h"

#include <math.h>
#include <string.h>

static tmlp_model *small_model(void)
{
    const int64_t widths[3] = {6, 5, 3};
    tmlp_model *m;
    assert_int_equal(tmlp_model_random(widths, 3, 9, NULL, &m, NULL), TMLP_OK);
    return m;
}

static void test_create_errors(void **state)
{
    (void)state;
    tmlp_model *m = small_model();
    tmlp_session *s = (tmlp_session *)&s;
    assert_int_equal(tmlp_session_create(NULL, 4, &s, NULL), TMLP_ERR_ARG);
    assert_null(s);
    assert_int_equal(tmlp_session_create(m, 4, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_create(m, 0, &s, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_create(m, -3, &s, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_create(m, INT64_MAX, &s, NULL), TMLP_ERR_NOMEM); /* size overflow */
    tmlp_model *empty;
    assert_int_equal(tmlp_model_create(6, NULL, &empty, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_create(empty, 4, &s, NULL), TMLP_ERR_STATE); /* no layers */
    tmlp_model_destroy(empty);
    assert_int_equal(tmlp_session_create(m, 4, &s, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_max_batch(s), 4);
    /* two activation buffers of 4 x 6 floats and a 4 x 6 staging buffer, at least */
    assert_true(tmlp_session_bytes(s) >= 3 * 4 * 6 * sizeof(float));
    assert_int_equal(tmlp_session_max_batch(NULL), 0);
    assert_int_equal(tmlp_session_bytes(NULL), 0);
    tmlp_session_destroy(s);
    tmlp_session_destroy(NULL);
    tmlp_model_destroy(m);
}

static void test_forward_errors(void **state)
{
    (void)state;
    tmlp_model *m = small_model();
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 4, &s, NULL), TMLP_OK);
    float x[5 * 6] = {0};
    tmlp_tensor in = tmlp_tensor_2d(x, 2, 6), out;
    uint64_t ns[4];
    uint8_t raw[5 * 6] = {0};

    assert_int_equal(tmlp_session_forward(NULL, &in, &out, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward(s, NULL, &out, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward(s, &in, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward_profiled(NULL, &in, &out, ns, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward_profiled(s, NULL, &out, ns, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward_profiled(s, &in, NULL, ns, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward_profiled(s, &in, &out, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward_u8(NULL, raw, 1, &out, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward_u8(s, NULL, 1, &out, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_forward_u8(s, raw, 1, NULL, NULL), TMLP_ERR_ARG);
    tmlp_tensor nodata = tmlp_tensor_2d(NULL, 2, 6);
    assert_int_equal(tmlp_session_forward(s, &nodata, &out, NULL), TMLP_ERR_ARG);

    /* batch above max_batch */
    tmlp_tensor big = tmlp_tensor_2d(x, 5, 6);
    assert_int_equal(tmlp_session_forward(s, &big, &out, NULL), TMLP_ERR_BATCH);
    assert_int_equal(tmlp_session_forward_profiled(s, &big, &out, ns, NULL), TMLP_ERR_BATCH);
    assert_int_equal(tmlp_session_forward_u8(s, raw, 5, &out, NULL), TMLP_ERR_BATCH);
    /* wrong width, empty batch, wrong rank, wrong dtype */
    tmlp_tensor narrow = tmlp_tensor_2d(x, 2, 5);
    assert_int_equal(tmlp_session_forward(s, &narrow, &out, NULL), TMLP_ERR_SHAPE);
    tmlp_tensor empty = tmlp_tensor_2d(x, 0, 6);
    assert_int_equal(tmlp_session_forward(s, &empty, &out, NULL), TMLP_ERR_SHAPE);
    assert_int_equal(tmlp_session_forward_u8(s, raw, 0, &out, NULL), TMLP_ERR_SHAPE);
    tmlp_tensor rank3 = {TMLP_DTYPE_F32, 3, {1, 2, 6, 0}, x};
    assert_int_equal(tmlp_session_forward(s, &rank3, &out, NULL), TMLP_ERR_SHAPE);
    tmlp_tensor rank0 = {TMLP_DTYPE_F32, 0, {0, 0, 0, 0}, x};
    assert_int_equal(tmlp_session_forward(s, &rank0, &out, NULL), TMLP_ERR_SHAPE);
    tmlp_tensor vec5 = {TMLP_DTYPE_F32, 1, {5, 0, 0, 0}, x};
    assert_int_equal(tmlp_session_forward(s, &vec5, &out, NULL), TMLP_ERR_SHAPE);
    tmlp_tensor u8 = in;
    u8.dtype = TMLP_DTYPE_U8;
    assert_int_equal(tmlp_session_forward(s, &u8, &out, NULL), TMLP_ERR_SHAPE);
    u8.dtype = TMLP_DTYPE_F16;
    assert_int_equal(tmlp_session_forward(s, &u8, &out, NULL), TMLP_ERR_SHAPE);
    assert_int_equal(tmlp_session_forward_profiled(s, &narrow, &out, ns, NULL), TMLP_ERR_SHAPE);

    /* a max-size batch is fine */
    tmlp_tensor full = tmlp_tensor_2d(x, 4, 6);
    assert_int_equal(tmlp_session_forward(s, &full, &out, NULL), TMLP_OK);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_vector_input_and_outputs(void **state)
{
    (void)state;
    tmlp_model *m = small_model();
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 2, &s, NULL), TMLP_OK);
    float x[6] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f}, copy[6];
    memcpy(copy, x, sizeof x);
    tmlp_tensor vec = {TMLP_DTYPE_F32, 1, {6, 0, 0, 0}, x}, in = tmlp_tensor_2d(x, 1, 6), a, b;
    assert_int_equal(tmlp_session_forward(s, &vec, &a, NULL), TMLP_OK);
    float ya[3];
    memcpy(ya, a.data, sizeof ya);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], 1);
    assert_int_equal(a.shape[1], 3);
    assert_int_equal(tmlp_session_forward(s, &in, &b, NULL), TMLP_OK);
    assert_int_equal(check_tensor("1-D vs 2-D", b.data, ya, 3, 0, 0), 0);
    /* softmax output: a probability vector */
    float sum = 0;
    for (int j = 0; j < 3; j++) {
        assert_true(b.data[j] > 0 && b.data[j] < 1);
        sum += b.data[j];
    }
    assert_float_equal(sum, 1.0f, 1e-6f);
    assert_int_equal(tmlp_argmax(b.data, 3), tmlp_argmax(ya, 3));
    assert_memory_equal(x, copy, sizeof x); /* input untouched */
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

/* A model that starts with in-place layers must not write into the caller's input. */
static void test_in_place_first_layer_keeps_input(void **state)
{
    (void)state;
    tmlp_model *m;
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_softmax(m, NULL), TMLP_OK);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 2, &s, NULL), TMLP_OK);
    float x[8] = {-1, 0, 1, 2, 3, -3, 0, 0}, copy[8];
    memcpy(copy, x, sizeof x);
    tmlp_tensor in = tmlp_tensor_2d(x, 2, 4), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    assert_memory_equal(x, copy, sizeof x);
    assert_ptr_not_equal(out.data, x);
    /* relu(row 0) = [0,0,1,2]: softmax = [1,1,e,e^2]/(2+e+e^2) */
    const double z = 2 + exp(1.0) + exp(2.0);
    const float expect0[4] = {(float)(1 / z), (float)(1 / z), (float)(exp(1.0) / z), (float)(exp(2.0) / z)};
    assert_int_equal(check_tensor("row 0", out.data, expect0, 4, 1e-6, 0), 0);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_forward_u8_preprocess(void **state)
{
    (void)state;
    const int64_t widths[3] = {6, 5, 3};
    tmlp_model *m;
    assert_int_equal(tmlp_model_create(6, NULL, &m, NULL), TMLP_OK);
    tmlp_model *r;
    assert_int_equal(tmlp_model_random(widths, 3, 9, NULL, &r, NULL), TMLP_OK);
    for (int i = 0; i < 4; i += 2) { /* copy r's dense layers into m, then the activations */
        const float *w, *b;
        tmlp_layer_info li;
        assert_int_equal(tmlp_model_dense_params(r, i, &w, &b, NULL), TMLP_OK);
        assert_int_equal(tmlp_model_layer_info(r, i, &li, NULL), TMLP_OK);
        assert_int_equal(tmlp_model_add_dense(m, li.in_width, li.out_width, w, b, NULL), TMLP_OK);
        assert_int_equal(i == 0 ? tmlp_model_add_relu(m, NULL) : tmlp_model_add_softmax(m, NULL), TMLP_OK);
    }
    tmlp_model_destroy(r);
    const double scale = 1.0 / 255, mean = 0.1307, sd = 0.3081;
    assert_int_equal(tmlp_model_set_preprocess(m, scale, mean, sd, NULL), TMLP_OK);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 2, &s, NULL), TMLP_OK);
    const uint8_t raw[12] = {0, 17, 128, 255, 3, 99, 250, 1, 64, 200, 0, 255};
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)(((double)raw[i] * scale - mean) / sd);
    tmlp_tensor in = tmlp_tensor_2d(x, 2, 6), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    float expect[6];
    memcpy(expect, out.data, sizeof expect);
    assert_int_equal(tmlp_session_forward_u8(s, raw, 2, &out, NULL), TMLP_OK);
    assert_int_equal(out.shape[0], 2);
    assert_int_equal(out.shape[1], 3);
    assert_int_equal(check_tensor("u8 vs float", out.data, expect, 6, 0, 0), 0);
    /* the same rows by pointer from separate arrays, second row first in memory: gather
     * and preprocessing in one pass, the same bits */
    uint8_t r1[6], r0[6];
    float f1[6], f0[6];
    memcpy(r0, raw, 6), memcpy(r1, raw + 6, 6), memcpy(f0, x, sizeof f0), memcpy(f1, x + 6, sizeof f1);
    const uint8_t *rows[2] = {r0, r1};
    assert_int_equal(tmlp_session_forward_u8_rows(s, rows, 2, &out, NULL), TMLP_OK);
    assert_memory_equal(out.data, expect, sizeof expect);
    const float *frows[2] = {f0, f1};
    assert_int_equal(tmlp_session_forward_rows(s, frows, 2, &out, NULL), TMLP_OK);
    assert_memory_equal(out.data, expect, sizeof expect);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_profiled(void **state)
{
    (void)state;
    const int64_t widths[4] = {64, 256, 256, 8};
    tmlp_model *m;
    assert_int_equal(tmlp_model_random(widths, 4, 5, NULL, &m, NULL), TMLP_OK);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 3, &s, NULL), TMLP_OK);
    float x[3 * 64];
    for (int i = 0; i < 3 * 64; i++) x[i] = (float)(i % 13) / 13.0f - 0.5f;
    tmlp_tensor in = tmlp_tensor_2d(x, 3, 64), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    float plain[24];
    memcpy(plain, out.data, sizeof plain);
    uint64_t ns[6];
    for (int i = 0; i < 6; i++) ns[i] = 12345;
    assert_int_equal(tmlp_session_forward_profiled(s, &in, &out, ns, NULL), TMLP_OK);
    assert_int_equal(check_tensor("profiled", out.data, plain, 24, 0, 0), 0);
    /* linear,relu,linear,relu,linear,softmax: the ReLUs are fused into the Dense before */
    assert_true(ns[0] > 0 && ns[2] > 0 && ns[4] > 0);
    assert_int_equal(ns[1], 0);
    assert_int_equal(ns[3], 0);
    assert_true(ns[5] != 12345);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

/* The output view stays valid (and unchanged) until the next forward on the session,
 * and two sessions on one model are independent. */
static void test_two_sessions(void **state)
{
    (void)state;
    tmlp_model *m = small_model();
    tmlp_session *s1, *s2;
    assert_int_equal(tmlp_session_create(m, 1, &s1, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_create(m, 1, &s2, NULL), TMLP_OK);
    float x1[6] = {1, 2, 3, 4, 5, 6}, x2[6] = {-6, 5, -4, 3, -2, 1};
    tmlp_tensor i1 = tmlp_tensor_2d(x1, 1, 6), i2 = tmlp_tensor_2d(x2, 1, 6), o1, o2, o3;
    assert_int_equal(tmlp_session_forward(s1, &i1, &o1, NULL), TMLP_OK);
    float keep[3];
    memcpy(keep, o1.data, sizeof keep);
    assert_int_equal(tmlp_session_forward(s2, &i2, &o2, NULL), TMLP_OK);
    assert_int_equal(check_tensor("s1 untouched by s2", o1.data, keep, 3, 0, 0), 0);
    assert_int_equal(tmlp_session_forward(s2, &i1, &o3, NULL), TMLP_OK);
    assert_int_equal(check_tensor("same input, other session", o3.data, keep, 3, 0, 0), 0);
    tmlp_session_destroy(s1);
    tmlp_session_destroy(s2);
    tmlp_model_destroy(m);
}

/* Feeding a session's own output back into it (a view into its activation buffer) must
 * give the same result as feeding a copy: no layer may overwrite what it reads. */
static void test_output_fed_back(void **state)
{
    (void)state;
    const int64_t widths[4] = {8, 8, 8, 8}; /* in == out, so out can be the next input */
    tmlp_model *m;
    assert_int_equal(tmlp_model_random(widths, 4, 4, NULL, &m, NULL), TMLP_OK);
    tmlp_session *s, *ref;
    assert_int_equal(tmlp_session_create(m, 2, &s, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_create(m, 2, &ref, NULL), TMLP_OK);
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i % 5) - 2.0f;
    for (int64_t batch = 1; batch <= 2; batch++) {
        tmlp_tensor in = tmlp_tensor_2d(x, batch, 8), out, out2, rout;
        assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
        float copy[16];
        memcpy(copy, out.data, (size_t)batch * 8 * sizeof(float));
        tmlp_tensor cin = tmlp_tensor_2d(copy, batch, 8);
        assert_int_equal(tmlp_session_forward(ref, &cin, &rout, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward(s, &out, &out2, NULL), TMLP_OK); /* its own output */
        assert_int_equal(check_tensor("fed back", out2.data, rout.data, batch * 8, 0, 0), 0);
    }
    tmlp_session_destroy(s);
    tmlp_session_destroy(ref);
    tmlp_model_destroy(m);
}

/* Rows the softmax formula leaves undefined (softmax.c): NaN in -> NaN out; all -Inf ->
 * uniform; k entries +Inf -> 1/k on them. */
static void test_softmax_nonfinite_rows(void **state)
{
    (void)state;
    tmlp_model *m = NULL;
    tmlp_session *s = NULL;
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_softmax(m, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_create(m, 4, &s, NULL), TMLP_OK);
    float x[4 * 4] = {
        1, NAN, 2, 3,
        -INFINITY, -INFINITY, -INFINITY, -INFINITY,
        INFINITY, 0, INFINITY, -INFINITY,
        -INFINITY, 0, 0, -INFINITY,
    };
    tmlp_tensor in = tmlp_tensor_2d(x, 4, 4), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    const float *y = out.data;
    for (int j = 0; j < 4; j++) assert_true(isnan(y[j]));
    const float want[12] = {0.25f, 0.25f, 0.25f, 0.25f, 0.5f, 0, 0.5f, 0, 0, 0.5f, 0.5f, 0};
    assert_int_equal(check_tensor("softmax", y + 4, want, 12, 1e-7f, 0), 0);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_nonfinite_rows),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_forward_errors),
        cmocka_unit_test(test_vector_input_and_outputs),
        cmocka_unit_test(test_in_place_first_layer_keeps_input),
        cmocka_unit_test(test_forward_u8_preprocess),
        cmocka_unit_test(test_profiled),
        cmocka_unit_test(test_two_sessions),
        cmocka_unit_test(test_output_fed_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
