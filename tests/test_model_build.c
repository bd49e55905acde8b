/* test_model_build.c — building models from C: argument and state errors, shape
 * inference and its messages, inspection, preprocessing, and tmlp_model_random's
 * documented, machine-independent weights. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "layers/model_internal.h"

#include <string.h>

static const float W[12] = {0};

static void test_null_arguments(void **state)
{
    (void)state;
    tmlp_model *m = (tmlp_model *)&m; /* non-NULL garbage: must be reset to NULL */
    tmlp_error err = {0};
    const int64_t widths[3] = {4, 3, 2};
    assert_int_equal(tmlp_model_create(4, NULL, NULL, &err), TMLP_ERR_ARG);
    assert_int_equal(err.code, TMLP_ERR_ARG);
    assert_true(strlen(err.message) > 0);
    assert_int_equal(tmlp_model_create(0, NULL, &m, NULL), TMLP_ERR_ARG);
    assert_null(m);
    assert_int_equal(tmlp_model_create(-5, NULL, &m, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_add_dense(NULL, 4, 3, W, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_add_relu(NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_add_softmax(NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_set_preprocess(NULL, 1, 0, 1, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_random(NULL, 3, 1, NULL, &m, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_random(widths, 3, 1, NULL, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_random(widths, 1, 1, NULL, &m, NULL), TMLP_ERR_ARG);
    const int64_t bad[3] = {4, 0, 2};
    assert_int_equal(tmlp_model_random(bad, 3, 1, NULL, &m, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "widths[1]"));

    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 4, 3, NULL, NULL, NULL), TMLP_ERR_ARG); /* no weight */
    assert_int_equal(tmlp_model_add_dense(m, 4, 0, W, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_layer_count(m), 0);
    tmlp_layer_info info;
    assert_int_equal(tmlp_model_layer_info(NULL, 0, &info, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_layer_info(m, 0, &info, NULL), TMLP_ERR_ARG); /* no layer 0 yet */
    assert_int_equal(tmlp_model_layer_info(m, 0, NULL, NULL), TMLP_ERR_ARG);
    char buf[8];
    assert_int_equal(tmlp_model_layers_string(NULL, buf, sizeof buf, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_layers_string(m, NULL, 8, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_layers_string(m, buf, 0, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_input_width(NULL), 0);
    assert_int_equal(tmlp_model_output_width(NULL), 0);
    assert_int_equal(tmlp_model_layer_count(NULL), 0);
    assert_int_equal(tmlp_model_param_bytes(NULL), 0);
    tmlp_model_destroy(m);
    tmlp_model_destroy(NULL); /* accepted */
}

static void test_shapes_must_chain(void **state)
{
    (void)state;
    tmlp_model *m;
    tmlp_error err = {0};
    float w43[12] = {0}, w32[6] = {0};
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 4, 3, w43, NULL, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(m, &err), TMLP_OK);
    /* next layer claims 5 inputs, but the previous output is 3 */
    assert_int_equal(tmlp_model_add_dense(m, 5, 2, w32, NULL, &err), TMLP_ERR_SHAPE);
    assert_int_equal(err.code, TMLP_ERR_SHAPE);
    assert_non_null(strstr(err.message, "5"));
    assert_non_null(strstr(err.message, "3"));
    assert_non_null(strstr(err.message, "input width 5"));
    assert_non_null(strstr(err.message, "output width 3"));
    assert_int_equal(tmlp_model_layer_count(m), 2); /* the failed add changed nothing */
    assert_int_equal(tmlp_model_add_dense(m, 3, 2, w32, NULL, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_softmax(m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_input_width(m), 4);
    assert_int_equal(tmlp_model_output_width(m), 2);
    assert_int_equal(tmlp_model_layer_count(m), 4);
    tmlp_model_destroy(m);
}

static void test_add_after_session_is_state_error(void **state)
{
    (void)state;
    tmlp_model *m;
    tmlp_error err = {0};
    float w[6] = {0};
    assert_int_equal(tmlp_model_create(3, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 3, 2, w, NULL, NULL), TMLP_OK);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 1, &s, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(m, &err), TMLP_ERR_STATE);
    assert_int_equal(err.code, TMLP_ERR_STATE);
    assert_int_equal(tmlp_model_add_softmax(m, NULL), TMLP_ERR_STATE);
    assert_int_equal(tmlp_model_add_dense(m, 2, 2, w, NULL, NULL), TMLP_ERR_STATE);
    assert_int_equal(tmlp_model_set_preprocess(m, 1, 0, 1, NULL), TMLP_ERR_STATE);
    assert_int_equal(tmlp_model_layer_count(m), 1);
    /* still frozen after the session is gone: sessions may exist on other threads */
    tmlp_session_destroy(s);
    assert_int_equal(tmlp_model_add_relu(m, NULL), TMLP_ERR_STATE);
    tmlp_model_destroy(m);
}

static void test_inspection(void **state)
{
    (void)state;
    const int64_t widths[4] = {784, 512, 512, 10};
    tmlp_model *m;
    assert_int_equal(tmlp_model_random(widths, 4, 1, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_layer_count(m), 6);
    char buf[64];
    assert_int_equal(tmlp_model_layers_string(m, buf, sizeof buf, NULL), TMLP_OK);
    assert_string_equal(buf, "linear,relu,linear,relu,linear,softmax");
    char small[12];
    assert_int_equal(tmlp_model_layers_string(m, small, sizeof small, NULL), TMLP_OK);
    assert_string_equal(small, "linear,relu"); /* truncated at a whole name */
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(m, 0, &li, NULL), TMLP_OK);
    assert_int_equal(li.kind, TMLP_LAYER_DENSE);
    assert_string_equal(li.name, "dense"); /* the file format says "linear" */
    assert_int_equal(li.in_width, 784);
    assert_int_equal(li.out_width, 512);
    assert_int_equal(li.param_count, 784 * 512 + 512);
    assert_int_equal(li.flops_per_sample, 2 * 784 * 512 + 512);
    assert_int_equal(li.weight_bytes, (784 * 512 + 512) * 4);
    assert_int_equal(tmlp_model_layer_info(m, 1, &li, NULL), TMLP_OK);
    assert_int_equal(li.kind, TMLP_LAYER_RELU);
    assert_int_equal(li.param_count, 0);
    assert_int_equal(li.flops_per_sample, 512);
    assert_int_equal(tmlp_model_layer_info(m, 5, &li, NULL), TMLP_OK);
    assert_int_equal(li.kind, TMLP_LAYER_SOFTMAX);
    assert_string_equal(li.name, "softmax");
    assert_int_equal(li.in_width, 10);
    assert_int_equal(tmlp_model_layer_info(m, 6, &li, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_layer_info(m, -1, &li, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_param_bytes(m), (size_t)(784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10) * 4);
    tmlp_model_destroy(m);
}

static void test_preprocess(void **state)
{
    (void)state;
    tmlp_model *m;
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    tmlp_preprocess p = tmlp_model_preprocess(m);
    assert_int_equal(p.has_preprocess, 0);
    assert_true(p.scale == 1.0 && p.mean == 0.0 && p.std == 1.0);
    assert_int_equal(tmlp_model_set_preprocess(m, 1.0 / 255, 0.1307, 0.0, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_set_preprocess(m, NAN, 0.1307, 0.3081, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_set_preprocess(m, 1.0 / 255, 0.1307, 0.3081, NULL), TMLP_OK);
    p = tmlp_model_preprocess(m);
    assert_int_equal(p.has_preprocess, 1);
    assert_true(p.scale == 1.0 / 255 && p.mean == 0.1307 && p.std == 0.3081);
    tmlp_model_destroy(m);
}

/* The documented algorithm, reproduced independently in Python (xoshiro256** seeded by
 * splitmix64, u = (x >> 11) * 2^-53, w = (float)((2u - 1) / sqrt(in)); all of layer 1's
 * W row-major, then its b, then layer 2's): widths 4-3-2, seed 42. */
static void test_random_pinned_values(void **state)
{
    (void)state;
    const int64_t widths[3] = {4, 3, 2};
    tmlp_model *m;
    assert_int_equal(tmlp_model_random(widths, 3, 42, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_layer_count(m), 4); /* linear,relu,linear,softmax */
    const float *w, *b;
    assert_int_equal(tmlp_model_dense_params(m, 0, &w, &b, NULL), TMLP_OK);
    const float w0[12] = {-0x1.aa1fd4p-2f, -0x1.efb268p-4f, 0x1.70ba9ap-3f, 0x1.b2e2b6p-2f,
                          0x1.f79b72p-2f,  0x1.143694p-2f,  0x1.c10aa4p-3f, 0x1.66689ep-2f,
                          0x1.0ba5bap-2f,  0x1.556616p-4f,  0x1.75a9dap-3f, -0x1.acb124p-3f};
    const float b0[3] = {0x1.343fb6p-2f, -0x1.6dbfbcp-3f, 0x1.b06f62p-3f};
    assert_int_equal(check_tensor("W1", w, w0, 12, 0, 0), 0);
    assert_int_equal(check_tensor("b1", b, b0, 3, 0, 0), 0);
    assert_int_equal(tmlp_model_dense_params(m, 2, &w, &b, NULL), TMLP_OK);
    const float w1[6] = {0x1.bead5p-2f, 0x1.141eeep-3f, 0x1.9f7d02p-2f,
                         0x1.eacc18p-3f, 0x1.eb7afp-3f, -0x1.e1685ep-2f};
    const float b1[2] = {-0x1.7b8718p-2f, -0x1.2dc4e8p-4f};
    assert_int_equal(check_tensor("W2", w, w1, 6, 0, 0), 0);
    assert_int_equal(check_tensor("b2", b, b1, 2, 0, 0), 0);
    /* bounds: |w| <= 1/sqrt(in) */
    for (int i = 0; i < 6; i++) assert_true(fabsf(w[i]) <= 1.0f / sqrtf(3.0f));
    assert_int_equal(tmlp_model_dense_params(m, 1, &w, &b, NULL), TMLP_ERR_ARG); /* a ReLU */
    assert_int_equal(tmlp_model_dense_params(m, 4, &w, &b, NULL), TMLP_ERR_ARG);
    tmlp_model_destroy(m);
}

static void test_random_determinism(void **state)
{
    (void)state;
    const int64_t widths[4] = {30, 20, 20, 5};
    tmlp_model *a, *b, *c;
    assert_int_equal(tmlp_model_random(widths, 4, 123, NULL, &a, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_random(widths, 4, 123, NULL, &b, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_random(widths, 4, 124, NULL, &c, NULL), TMLP_OK);
    for (int i = 0; i < 6; i += 2) {
        const float *wa, *ba, *wb, *bb, *wc, *bc;
        assert_int_equal(tmlp_model_dense_params(a, i, &wa, &ba, NULL), TMLP_OK);
        assert_int_equal(tmlp_model_dense_params(b, i, &wb, &bb, NULL), TMLP_OK);
        assert_int_equal(tmlp_model_dense_params(c, i, &wc, &bc, NULL), TMLP_OK);
        const size_t nw = (size_t)(widths[i / 2] * widths[i / 2 + 1]) * sizeof(float);
        const size_t nb = (size_t)widths[i / 2 + 1] * sizeof(float);
        assert_memory_equal(wa, wb, nw);
        assert_memory_equal(ba, bb, nb);
        assert_memory_not_equal(wa, wc, nw);
        assert_memory_not_equal(ba, bc, nb);
    }
    tmlp_model_destroy(a);
    tmlp_model_destroy(b);
    tmlp_model_destroy(c);
}

static void test_argmax(void **state)
{
    (void)state;
    const float x[5] = {0.1f, 0.7f, -2.0f, 0.7f, 0.2f};
    assert_int_equal(tmlp_argmax(x, 5), 1); /* first of the tie */
    assert_int_equal(tmlp_argmax(x, 1), 0);
    assert_int_equal(tmlp_argmax(x, 0), -1);
    assert_int_equal(tmlp_argmax(NULL, 5), -1);
    const float neg[3] = {-3.0f, -1.0f, -2.0f};
    assert_int_equal(tmlp_argmax(neg, 3), 1);
}

static void test_options_default(void **state)
{
    (void)state;
    tmlp_model_options o = tmlp_model_options_default();
    assert_null(o.allocator.malloc_fn);
    assert_null(o.allocator.free_fn);
    assert_null(o.allocator.user);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_shapes_must_chain),
        cmocka_unit_test(test_add_after_session_is_state_error),
        cmocka_unit_test(test_inspection),
        cmocka_unit_test(test_preprocess),
        cmocka_unit_test(test_random_pinned_values),
        cmocka_unit_test(test_random_determinism),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_options_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
