/* test_api.c — the error convention and the calls added for users of the C API:
 * every session/model call reports a message through its trailing tmlp_error *, shape
 * errors name the expected and the actual value, tmlp_model_load_weights fills a model
 * built in C and leaves it unchanged on any error, the public safetensors reader, the
 * BLAS thread calls and the one layer name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinymlp.h"
#include "tmpdir.h"

/* st is `code` and err.message contains every non-NULL needle. */
static void expect_msg(tmlp_status st, const tmlp_error *err, tmlp_status code, const char *a,
                       const char *b)
{
    if (st != code || (a && !strstr(err->message, a)) || (b && !strstr(err->message, b)))
        fprintf(stderr, "status %d (want %d), message \"%s\" (want \"%s\", \"%s\")\n", st, code,
                err->message, a ? a : "", b ? b : "");
    assert_int_equal(st, code);
    assert_int_equal(err->code, code);
    if (a) assert_non_null(strstr(err->message, a));
    if (b) assert_non_null(strstr(err->message, b));
}

/* A seeded 4 -> 3 -> 2 MLP (dense, relu, dense, softmax). */
static tmlp_model *random_model(uint64_t seed)
{
    const int64_t widths[] = {4, 3, 2};
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_random(widths, 3, seed, NULL, &m, NULL), TMLP_OK);
    return m;
}

/* The same architecture built by hand with zero weights. */
static tmlp_model *built_model(int64_t hidden)
{
    float w1[4 * 8] = {0}, w2[8 * 2] = {0};
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 4, hidden, w1, NULL, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, hidden, 2, w2, NULL, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_softmax(m, NULL), TMLP_OK);
    return m;
}

static void test_session_messages(void **state)
{
    (void)state;
    tmlp_error err;
    tmlp_session *s = NULL;
    tmlp_model *m = random_model(1), *empty = NULL;
    expect_msg(tmlp_session_create(NULL, 1, &s, &err), &err, TMLP_ERR_ARG, "model is NULL", NULL);
    assert_null(s);
    expect_msg(tmlp_session_create(m, 0, &s, &err), &err, TMLP_ERR_ARG, "max_batch 0", NULL);
    assert_int_equal(tmlp_model_create(4, NULL, &empty, NULL), TMLP_OK);
    expect_msg(tmlp_session_create(empty, 1, &s, &err), &err, TMLP_ERR_STATE, "no layers", NULL);
    tmlp_model_destroy(empty);
    /* Without an err (NULL) the call gives the same code. */
    assert_int_equal(tmlp_session_create(m, 0, &s, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_create(m, 2, &s, &err), TMLP_OK);

    float x[3 * 5] = {0};
    tmlp_tensor out, in = tmlp_tensor_2d(x, 1, 3);
    expect_msg(tmlp_session_forward(s, &in, &out, &err), &err, TMLP_ERR_SHAPE,
               "input width 3", "the model takes 4");
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_ERR_SHAPE);
    in = tmlp_tensor_2d(x, 3, 4);
    expect_msg(tmlp_session_forward(s, &in, &out, &err), &err, TMLP_ERR_BATCH, "batch 3",
               "at most 2");
    in = tmlp_tensor_2d(x, 0, 4);
    expect_msg(tmlp_session_forward(s, &in, &out, &err), &err, TMLP_ERR_SHAPE, "batch 0", NULL);
    in = tmlp_tensor_2d(x, 1, 4);
    in.ndim = 3;
    expect_msg(tmlp_session_forward(s, &in, &out, &err), &err, TMLP_ERR_SHAPE, "3 dimensions", NULL);
    in = tmlp_tensor_2d(x, 1, 4);
    in.dtype = TMLP_DTYPE_U8;
    expect_msg(tmlp_session_forward(s, &in, &out, &err), &err, TMLP_ERR_SHAPE, "dtype U8", NULL);
    in = tmlp_tensor_2d(NULL, 1, 4);
    expect_msg(tmlp_session_forward(s, &in, &out, &err), &err, TMLP_ERR_ARG, "NULL", NULL);
    expect_msg(tmlp_session_forward(s, NULL, &out, &err), &err, TMLP_ERR_ARG, "in is NULL", NULL);

    uint64_t ns[4];
    in = tmlp_tensor_2d(x, 1, 5);
    in.shape[1] = 5;
    expect_msg(tmlp_session_forward_profiled(s, &in, &out, ns, &err), &err, TMLP_ERR_SHAPE,
               "input width 5", "takes 4");
    uint8_t raw[3 * 4] = {0};
    expect_msg(tmlp_session_forward_u8(s, raw, 3, &out, &err), &err, TMLP_ERR_BATCH, "batch 3",
               "at most 2");
    expect_msg(tmlp_session_forward_u8(s, raw, 0, &out, &err), &err, TMLP_ERR_SHAPE, "batch 0", NULL);
    /* rows by pointer: NULL rows, rows inside the session (an earlier output), batch */
    const float *fr[3] = {x, NULL, x};
    const uint8_t *ur[3] = {raw, raw, NULL};
    expect_msg(tmlp_session_forward_rows(s, NULL, 1, &out, &err), &err, TMLP_ERR_ARG, "rows is NULL", NULL);
    expect_msg(tmlp_session_forward_rows(s, fr, 2, &out, &err), &err, TMLP_ERR_ARG, "rows[1] is NULL", NULL);
    expect_msg(tmlp_session_forward_rows(s, fr, 3, &out, &err), &err, TMLP_ERR_BATCH, "batch 3", "at most 2");
    expect_msg(tmlp_session_forward_rows(s, fr, 0, &out, &err), &err, TMLP_ERR_SHAPE, "batch 0", NULL);
    expect_msg(tmlp_session_forward_u8_rows(s, ur + 1, 2, &out, &err), &err, TMLP_ERR_ARG, "rows[1] is NULL", NULL);
    expect_msg(tmlp_session_forward_u8_rows(s, ur, 3, &out, &err), &err, TMLP_ERR_BATCH, "batch 3", NULL);
    expect_msg(tmlp_session_forward_u8_rows(NULL, ur, 1, &out, &err), &err, TMLP_ERR_ARG, "session is NULL", NULL);
    in = tmlp_tensor_2d(x, 1, 4);
    assert_int_equal(tmlp_session_forward(s, &in, &out, &err), TMLP_OK);
    const float *own[1] = {out.data};
    expect_msg(tmlp_session_forward_rows(s, own, 1, &out, &err), &err, TMLP_ERR_ARG,
               "rows[0] points into the session", NULL);

    /* Success leaves err untouched. */
    err.code = TMLP_ERR_IO;
    in = tmlp_tensor_2d(x, 2, 4);
    assert_int_equal(tmlp_session_forward(s, &in, &out, &err), TMLP_OK);
    assert_int_equal(err.code, TMLP_ERR_IO);
    assert_int_equal(out.shape[0], 2);
    assert_int_equal(out.shape[1], 2);

    /* The model is frozen now. */
    expect_msg(tmlp_model_set_preprocess(m, 1, 0, 1, &err), &err, TMLP_ERR_STATE, "frozen", NULL);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static void test_preprocess_and_blas_messages(void **state)
{
    (void)state;
    tmlp_error err;
    tmlp_model *m = built_model(3);
    expect_msg(tmlp_model_set_preprocess(m, 1, 0, 0, &err), &err, TMLP_ERR_ARG, "std 0", NULL);
    expect_msg(tmlp_model_set_preprocess(NULL, 1, 0, 1, &err), &err, TMLP_ERR_ARG, "NULL", NULL);
    assert_int_equal(tmlp_model_set_preprocess(m, 1.0 / 255, 0.5, 0.25, &err), TMLP_OK);
    tmlp_model_destroy(m);

    expect_msg(tmlp_blas_set_threads(0, &err), &err, TMLP_ERR_ARG, "0 threads", NULL);
    const int before = tmlp_blas_get_threads();
    assert_true(before >= 1);
    assert_int_equal(tmlp_blas_set_threads(1, NULL), TMLP_OK);
    assert_int_equal(tmlp_blas_get_threads(), 1);
    tmlp_blas_set_threads(before, NULL);
}

static void test_layer_name(void **state)
{
    (void)state;
    tmlp_model *m = random_model(2);
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(m, 0, &li, NULL), TMLP_OK);
    assert_int_equal(li.kind, TMLP_LAYER_DENSE);
    assert_string_equal(li.name, "dense");
    char buf[64];
    assert_int_equal(tmlp_model_layers_string(m, buf, sizeof buf, NULL), TMLP_OK);
    assert_string_equal(buf, "linear,relu,linear,softmax"); /* the file format's names */
    tmlp_model_destroy(m);
}

/* Forward one fixed batch through m; out2 receives (3, 2). */
static void forward3(const tmlp_model *m, float out2[6])
{
    const float x[12] = {0.1f, -0.2f, 0.3f, 0.4f, 1, 2, 3, 4, -1, 0.5f, 0, 0.25f};
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 3, &s, NULL), TMLP_OK);
    tmlp_tensor in = tmlp_tensor_2d(x, 3, 4), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    memcpy(out2, out.data, 6 * sizeof(float));
    tmlp_session_destroy(s);
}

static void test_load_weights(void **state)
{
    test_tmpdir *t = *state;
    char path[4096], other[4096];
    test_tmpdir_join(t, "w.safetensors", path, sizeof path);
    tmlp_error err;
    tmlp_model *ref = random_model(7);
    assert_int_equal(tmlp_model_save(ref, path, &err), TMLP_OK);

    /* A model built in C, filled from the file, computes what the saved model computes. */
    tmlp_model *m = built_model(3);
    assert_int_equal(tmlp_model_load_weights(m, path, &err), TMLP_OK);
    float a[6], b[6];
    forward3(ref, a);
    forward3(m, b);
    assert_memory_equal(a, b, sizeof a);
    /* Frozen now. */
    expect_msg(tmlp_model_load_weights(m, path, &err), &err, TMLP_ERR_STATE, "frozen", NULL);
    tmlp_model_destroy(m);

    /* Wrong hidden width: the message names the tensor, its shape and what the layer takes;
     * the model is unchanged (still all zeros: uniform softmax). */
    m = built_model(5);
    expect_msg(tmlp_model_load_weights(m, path, &err), &err, TMLP_ERR_SHAPE, "`0.weight`: shape 3x4",
               "takes 5x4");
    forward3(m, b);
    for (int i = 0; i < 6; i++) assert_float_equal(b[i], 0.5f, 1e-7);
    tmlp_model_destroy(m);

    /* Missing tensor: a model with one more dense layer. */
    float w[4 * 3] = {0}; /* the largest weight below is 3x4 */
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 4, 3, w, NULL, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 3, 2, w, NULL, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 2, 3, w, NULL, NULL), TMLP_OK);
    expect_msg(tmlp_model_load_weights(m, path, &err), &err, TMLP_ERR_MISSING_TENSOR, "`3.weight`",
               "not found");
    tmlp_model_destroy(m);

    /* Extra tensor: a model with only the first dense layer and its relu... of the file's
     * four-layer list, layer 2's tensors are left over. */
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 4, 3, w, NULL, NULL), TMLP_OK);
    expect_msg(tmlp_model_load_weights(m, path, &err), &err, TMLP_ERR_EXTRA_TENSOR, "`2.", "not used");
    tmlp_model_destroy(m);

    /* A file that is not there, or not safetensors: the message names the file. */
    test_tmpdir_join(t, "missing.safetensors", other, sizeof other);
    m = built_model(3);
    expect_msg(tmlp_model_load_weights(m, other, &err), &err, TMLP_ERR_IO, "missing.safetensors", NULL);
    expect_msg(tmlp_model_load_weights(m, NULL, &err), &err, TMLP_ERR_ARG, "path is NULL", NULL);
    tmlp_model_destroy(m);
    tmlp_model_destroy(ref);
}

static void test_safetensors_reader(void **state)
{
    test_tmpdir *t = *state;
    char path[4096];
    test_tmpdir_join(t, "r.safetensors", path, sizeof path);
    tmlp_error err;
    tmlp_model *ref = random_model(3);
    assert_int_equal(tmlp_model_save(ref, path, &err), TMLP_OK);

    tmlp_safetensors *f = NULL;
    assert_int_equal(tmlp_safetensors_open(path, NULL, &f, &err), TMLP_OK);
    assert_int_equal(tmlp_safetensors_count(f), 4);
    tmlp_safetensors_info info;
    assert_int_equal(tmlp_safetensors_info_at(f, 0, &info, &err), TMLP_OK);
    assert_string_equal(info.name, "0.weight");
    assert_string_equal(info.dtype, "F32");
    assert_int_equal(info.ndim, 2);
    assert_int_equal(info.shape[0], 3);
    assert_int_equal(info.shape[1], 4);
    assert_int_equal(info.numel, 12);
    assert_int_equal(info.nbytes, 48);
    expect_msg(tmlp_safetensors_info_at(f, 4, &info, &err), &err, TMLP_ERR_ARG, "index 4", "4 tensors");
    assert_int_equal(tmlp_safetensors_find(f, "2.bias", &info, &err), TMLP_OK);
    assert_int_equal(info.ndim, 1);
    assert_int_equal(info.shape[0], 2);
    expect_msg(tmlp_safetensors_find(f, "nope", &info, &err), &err, TMLP_ERR_MISSING_TENSOR, "`nope`", NULL);

    /* The values are the model's weights, bit for bit. */
    float w[12], small[4];
    assert_int_equal(tmlp_safetensors_read_f32(f, "0.weight", w, 12, &err), TMLP_OK);
    tmlp_model *m = built_model(3);
    assert_int_equal(tmlp_model_load_weights(m, path, NULL), TMLP_OK);
    float a[6], b[6];
    forward3(ref, a);
    forward3(m, b);
    assert_memory_equal(a, b, sizeof a);
    tmlp_model_destroy(m);
    expect_msg(tmlp_safetensors_read_f32(f, "0.weight", small, 4, &err), &err, TMLP_ERR_SHAPE,
               "12 elements", "holds 4");
    assert_string_equal(tmlp_safetensors_metadata(f, "tinymlp.layers"), "linear,relu,linear,softmax");
    assert_null(tmlp_safetensors_metadata(f, "absent"));
    tmlp_safetensors_close(f);
    tmlp_safetensors_close(NULL);

    /* A file that is not safetensors: the rule's status and the path. */
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("abc", fp);
    fclose(fp);
    expect_msg(tmlp_safetensors_open(path, NULL, &f, &err), &err, TMLP_ERR_HEADER_TOO_SMALL,
               "r.safetensors", NULL);
    assert_null(f);
    tmlp_model_destroy(ref);
}

/* Every destroy of the public API accepts NULL and an object that was created but never
 * filled in (the states a failed *_create leaves behind). ASan/LSan in
 * CI report a leak or a bad free here. */
static void test_destroy_null_and_empty(void **state)
{
    (void)state;
    tmlp_model_destroy(NULL);
    tmlp_session_destroy(NULL);
    tmlp_dataset_destroy(NULL);
    tmlp_idx_destroy(NULL);
    tmlp_model_sut_destroy(NULL);
    tmlp_sut_shard_destroy(NULL);
    tmlp_bench_result_destroy(NULL);
    tmlp_report_destroy(NULL);
    tmlp_report_string_free(NULL);
    tmlp_monitor_destroy(NULL);
    tmlp_ab_result_destroy(NULL);

    tmlp_model *m = NULL; /* no layer yet */
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    tmlp_model_destroy(m);
    tmlp_report *r = NULL; /* no block yet */
    assert_int_equal(tmlp_report_create("t", &r, NULL), TMLP_OK);
    tmlp_report_destroy(r);
    tmlp_monitor *mon = NULL; /* never started */
    assert_int_equal(tmlp_monitor_create(10, &mon, NULL), TMLP_OK);
    tmlp_monitor_destroy(mon);
    mon = NULL; /* started, never stopped: destroy stops the sampler */
    assert_int_equal(tmlp_monitor_create(10, &mon, NULL), TMLP_OK);
    assert_int_equal(tmlp_monitor_start(mon, NULL), TMLP_OK);
    tmlp_monitor_destroy(mon);
    tmlp_bench_result *res = calloc(1, sizeof *res); /* a result before any array */
    assert_non_null(res);
    tmlp_bench_result_destroy(res);
}

/* The calls a tool needs (bench/ uses them instead of private headers). */
static void test_tool_calls(void **state)
{
    (void)state;
    tmlp_error err;
    /* tmlp_model_dense_params: the weights a Dense runs, and what a bad index says */
    const float w1[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, b1[3] = {-1, 0, 1};
    const float w2[3 * 2] = {0};
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_create(4, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 4, 3, w1, b1, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(m, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 3, 2, w2, NULL, NULL), TMLP_OK);
    const float *w = NULL, *b = NULL;
    assert_int_equal(tmlp_model_dense_params(m, 0, &w, &b, &err), TMLP_OK);
    assert_memory_equal(w, w1, sizeof w1);
    assert_memory_equal(b, b1, sizeof b1);
    assert_int_equal(tmlp_model_dense_params(m, 2, &w, &b, &err), TMLP_OK);
    assert_true(b[0] == 0.0f && b[1] == 0.0f); /* bias-free: zeros */
    expect_msg(tmlp_model_dense_params(m, 1, &w, &b, &err), &err, TMLP_ERR_ARG, "layer 1 is relu", "not a Dense");
    expect_msg(tmlp_model_dense_params(m, 3, &w, &b, &err), &err, TMLP_ERR_ARG, "i 3 is outside [0, 3)", NULL);
    expect_msg(tmlp_model_dense_params(NULL, 0, &w, &b, &err), &err, TMLP_ERR_ARG, "m is NULL", NULL);

    /* tmlp_preprocess_table / tmlp_preprocess_u8: exactly the input forward_u8 runs on */
    assert_int_equal(tmlp_model_set_preprocess(m, 1.0 / 255, 0.5, 0.25, NULL), TMLP_OK);
    tmlp_preprocess pp = tmlp_model_preprocess(m);
    float table[TMLP_PREPROCESS_TABLE_FLOATS], x[4];
    tmlp_preprocess_table(&pp, table);
    assert_true(table[255] == (float)((255.0 / 255 - 0.5) / 0.25));
    const uint8_t raw[4] = {0, 17, 128, 255};
    tmlp_preprocess_u8(table, raw, x, 4);
    tmlp_session *s = NULL;
    assert_int_equal(tmlp_session_create(m, 1, &s, NULL), TMLP_OK);
    tmlp_tensor in = tmlp_tensor_2d(x, 1, 4), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    float y[2];
    memcpy(y, out.data, sizeof y);
    assert_int_equal(tmlp_session_forward_u8(s, raw, 1, &out, NULL), TMLP_OK);
    assert_memory_equal(out.data, y, sizeof y);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);

    /* tmlp_workload_offline_samples: LoadGen's rule, before any run */
    tmlp_bench_settings st = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    st.min_query_count = 1;
    assert_int_equal(tmlp_workload_offline_samples(&st, 500), 500);  /* one pass */
    st.offline_expected_qps = 1000;
    st.min_duration_ms = 2000;
    assert_int_equal(tmlp_workload_offline_samples(&st, 500), 2200); /* 1000 x 2 s x 1.1 */
    st.offline_sample_count = 77;
    assert_int_equal(tmlp_workload_offline_samples(&st, 500), 77);
    st.mode = TMLP_MODE_ACCURACY;
    assert_int_equal(tmlp_workload_offline_samples(&st, 500), 500);

    /* tmlp_bench_add_reason: appended, cut at 255 bytes, ignored past TMLP_MAX_REASONS */
    tmlp_bench_result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    tmlp_bench_add_reason(r, "repetition %d: %s", 2, "INVALID");
    assert_string_equal(r->reasons[0], "repetition 2: INVALID");
    char longer[400];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    tmlp_bench_add_reason(r, "%s", longer);
    assert_int_equal(strlen(r->reasons[1]), 255);
    for (int i = 0; i < 2 * TMLP_MAX_REASONS; i++) tmlp_bench_add_reason(r, "more");
    assert_int_equal(r->n_reasons, TMLP_MAX_REASONS);
    free(r);

    /* tmlp_stream_sum on every kernel (scalar for one this CPU lacks); residency */
    float *v = aligned_alloc(64, 1008 * sizeof(float)); /* a multiple of the alignment */
    assert_non_null(v);
    for (int i = 0; i < 1000; i++) v[i] = (float)(i & 7);
    for (int k = TMLP_KERNEL_SCALAR; k <= TMLP_KERNEL_BLAS; k++)
        assert_true(tmlp_stream_sum((tmlp_kernel)k, v, 1000) == 3500.0f); /* 125 x (0+...+7) */
    tmlp_mem_advise_huge(v, 1000 * sizeof(float)); /* under 4 MB: a no-op */
    free(v);
    tmlp_cpu_cache c;
    tmlp_cpu_cache_get(&c);
    assert_string_equal(tmlp_weights_residency(1, &c), "L2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_messages),
        cmocka_unit_test(test_preprocess_and_blas_messages),
        cmocka_unit_test(test_layer_name),
        cmocka_unit_test(test_destroy_null_and_empty),
        cmocka_unit_test(test_tool_calls),
        TEST_IN_TMPDIR(test_load_weights),
        TEST_IN_TMPDIR(test_safetensors_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
