/* test_harness_model.c — tmlp_model_sut: a real model behind the harness. Predictions
 * must equal argmax of a direct forward (checked through accuracy mode with the direct
 * predictions as labels), for F32 and U8 data, one or two workers, batches larger than
 * max_batch (split), and an overloaded server run must drain without a hang. The wait
 * policies (spin then block, block only) and the dispatches (inline, workers) give the
 * same predictions; the wait policy is recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tinymlp/bench.h"
#include "tinymlp/data.h"
#include "tinymlp/model.h"

enum { N = 300, IN = 16, OUT = 5 };

typedef struct fixture {
    tmlp_model *model;
    tmlp_dataset *f32;
    tmlp_dataset u8;
    uint8_t raw[N * IN];
    int32_t ref_f32[N], ref_u8[N];
} fixture;

static void reference(tmlp_model *m, const float *x, int32_t *pred)
{
    tmlp_session *s = NULL;
    assert_int_equal(tmlp_session_create(m, 1, &s, NULL), TMLP_OK);
    for (int i = 0; i < N; i++) {
        tmlp_tensor in = tmlp_tensor_2d((float *)x + (size_t)i * IN, 1, IN), out;
        assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
        pred[i] = (int32_t)tmlp_argmax(out.data, OUT);
    }
    tmlp_session_destroy(s);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    const int64_t widths[] = {IN, 32, OUT};
    assert_int_equal(tmlp_model_random(widths, 3, 7, NULL, &fx->model, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_synthetic(N, IN, 9, NULL, &fx->f32, NULL), TMLP_OK);
    reference(fx->model, fx->f32->f32, fx->ref_f32);
    /* U8 copy: raw bytes; the random model has no preprocessing, so x = raw. */
    float *xf = malloc(sizeof(float) * N * IN);
    for (int i = 0; i < N * IN; i++) {
        fx->raw[i] = (uint8_t)((i * 37 + 11) % 251);
        xf[i] = (float)fx->raw[i];
    }
    reference(fx->model, xf, fx->ref_u8);
    free(xf);
    fx->u8.count = N;
    fx->u8.width = IN;
    fx->u8.dtype = TMLP_DTYPE_U8;
    fx->u8.u8 = fx->raw;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    tmlp_dataset_destroy(fx->f32);
    tmlp_model_destroy(fx->model);
    free(fx);
    return 0;
}

/* Accuracy run of `sc` with labels = the direct predictions: every sample correct. */
static void accuracy_run(fixture *fx, const tmlp_dataset *d, const int32_t *ref, int workers, int64_t max_batch,
                         tmlp_scenario sc)
{
    tmlp_model_sut *ms = NULL;
    assert_int_equal(tmlp_model_sut_create(fx->model, d, workers, max_batch, &ms, NULL), TMLP_OK);
    tmlp_sut sut = *tmlp_model_sut_callbacks(ms);
    assert_int_equal(sut.sample_count, N);
    sut.labels = ref;
    tmlp_bench_settings s = tmlp_bench_settings_default(sc);
    s.mode = TMLP_MODE_ACCURACY;
    s.samples_per_query = 8;
    s.offline_batch_size = 64; /* > max_batch in some calls: split by the SUT */
    s.target_qps = 50000;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->samples, N);
    assert_int_equal(r->labeled, N);
    assert_int_equal(r->correct, N);
    assert_memory_equal(r->predictions, ref, sizeof(int32_t) * N);
    assert_int_equal(r->errors, 0);
    assert_true(r->valid);
    tmlp_bench_result_destroy(r);
    tmlp_model_sut_destroy(ms);
}

static void test_predictions_f32(void **state)
{
    fixture *fx = *state;
    accuracy_run(fx, fx->f32, fx->ref_f32, 1, 8, TMLP_SCENARIO_SINGLE_STREAM);
    accuracy_run(fx, fx->f32, fx->ref_f32, 2, 8, TMLP_SCENARIO_MULTI_STREAM);
    accuracy_run(fx, fx->f32, fx->ref_f32, 1, 64, TMLP_SCENARIO_OFFLINE);
    accuracy_run(fx, fx->f32, fx->ref_f32, 2, 16, TMLP_SCENARIO_OFFLINE); /* 64 -> 4 x 16 */
    accuracy_run(fx, fx->f32, fx->ref_f32, 2, 1, TMLP_SCENARIO_SERVER);
}

static void test_predictions_u8(void **state)
{
    fixture *fx = *state;
    accuracy_run(fx, &fx->u8, fx->ref_u8, 1, 64, TMLP_SCENARIO_OFFLINE);
    accuracy_run(fx, &fx->u8, fx->ref_u8, 2, 8, TMLP_SCENARIO_MULTI_STREAM);
}

static void test_performance_run(void **state)
{
    fixture *fx = *state;
    tmlp_model_sut *ms = NULL;
    assert_int_equal(tmlp_model_sut_create(fx->model, fx->f32, 1, 1, &ms, NULL), TMLP_OK);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 20;
    s.min_query_count = 100;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), &r, NULL), TMLP_OK);
    assert_true(r->valid);
    assert_true(r->queries >= 100);
    assert_int_equal(r->labeled, 0); /* synthetic data has no labels */
    assert_int_equal(r->errors, 0);
    tmlp_bench_result_destroy(r);
    tmlp_model_sut_destroy(ms);
}

/* Far more QPS than a model can serve, a small outstanding bound: INVALID, on time; the
 * SUT's drain callback empties its queue, so the run is freed before returning. */
static void test_overload_drains(void **state)
{
    fixture *fx = *state;
    tmlp_model_sut *ms = NULL;
    assert_int_equal(tmlp_model_sut_create(fx->model, fx->f32, 1, 1, &ms, NULL), TMLP_OK);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.min_duration_ms = 20;
    s.min_query_count = 1;
    s.target_qps = 5e6;
    s.max_outstanding_queries = 4;
    tmlp_bench_result *r = NULL;
    uint64_t t0 = tmlp_time_now_ns();
    assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), &r, NULL), TMLP_OK);
    assert_true(tmlp_time_now_ns() - t0 < 1000000000ULL);
    assert_true(r->overloaded);
    assert_false(r->valid);
    /* the SUT's cancel callback reported its queue: every issued query is accounted for */
    assert_int_equal(r->completed_queries + r->cancelled + r->never_completed, r->queries);
    assert_true(r->unissued_queries > 0);
    tmlp_bench_result_destroy(r);
    tmlp_model_sut_destroy(ms);
}

/* Both wait paths (spin budget forced on, forced off) on both sides, closed loop and
 * server: same predictions, and the result records the budget used. No timing asserted. */
static void test_wait_policies(void **state)
{
    fixture *fx = *state;
    static const int64_t budgets[] = {0, 20000};
    static const tmlp_scenario scs[] = {TMLP_SCENARIO_SINGLE_STREAM, TMLP_SCENARIO_SERVER};
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 2; k++) {
            tmlp_model_sut *ms = NULL;
            assert_int_equal(tmlp_model_sut_create(fx->model, fx->f32, 1, 1, &ms, NULL), TMLP_OK);
            tmlp_model_sut_set_idle_spin_ns(ms, budgets[b]);
            assert_int_equal(tmlp_model_sut_idle_spin_ns(ms), budgets[b]);
            tmlp_sut sut = *tmlp_model_sut_callbacks(ms);
            sut.labels = fx->ref_f32;
            tmlp_bench_settings s = tmlp_bench_settings_default(scs[k]);
            assert_int_equal(s.wait_spin_ns, -1); /* default: decided at the run start */
            s.mode = TMLP_MODE_ACCURACY;
            s.target_qps = 50000;
            s.wait_spin_ns = budgets[b];
            tmlp_bench_result *r = NULL;
            assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, NULL), TMLP_OK);
            assert_int_equal(r->correct, N);
            assert_true(r->valid);
            assert_int_equal(r->wait_spin_ns, budgets[b]);
            assert_non_null(strstr(r->wait_policy, budgets[b] ? "set: spin 20 us" : "set: block"));
            tmlp_bench_result_destroy(r);
            tmlp_model_sut_destroy(ms);
        }
    /* auto: some budget, recorded with its reason; the setter caps and re-decides */
    tmlp_model_sut *ms = NULL;
    assert_int_equal(tmlp_model_sut_create(fx->model, fx->f32, 1, 1, &ms, NULL), TMLP_OK);
    int64_t spin = tmlp_model_sut_idle_spin_ns(ms);
    assert_true(spin == 0 || spin == 30000);
    tmlp_model_sut_set_idle_spin_ns(ms, 5000000000LL);
    assert_int_equal(tmlp_model_sut_idle_spin_ns(ms), 1000000);
    tmlp_model_sut_set_idle_spin_ns(ms, -1);
    spin = tmlp_model_sut_idle_spin_ns(ms);
    assert_true(spin == 0 || spin == 30000);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 0;
    s.min_query_count = 10;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), &r, NULL), TMLP_OK);
    assert_true(r->wait_spin_ns == 0 || r->wait_spin_ns == 100000);
    assert_non_null(strstr(r->wait_policy, "auto: "));
    assert_non_null(strstr(r->wait_policy, "CPUs"));
    tmlp_bench_result_destroy(r);
    /* out of range */
    tmlp_error e = {0};
    s.wait_spin_ns = -2;
    assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "wait_spin_ns"));
    s.wait_spin_ns = 1000001;
    assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), &r, &e), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_sut_idle_spin_ns(NULL), 0);
    tmlp_model_sut_set_idle_spin_ns(NULL, 0);
    tmlp_model_sut_destroy(ms);
}

/* Where the forward runs (tmlp_model_sut_set_dispatch): every dispatch gives the direct
 * forward's predictions in every scenario; INLINE computes inside `issue`, so even a
 * server at a rate no forward keeps up with never has a query outstanding when the next
 * arrives (max_outstanding_queries = 1 is never reached) — the synchronous completion,
 * shown by counts. */
static void test_dispatch(void **state)
{
    fixture *fx = *state;
    static const tmlp_sut_dispatch ds[] = {TMLP_DISPATCH_AUTO, TMLP_DISPATCH_INLINE, TMLP_DISPATCH_WORKERS};
    tmlp_model_sut *ms = NULL;
    assert_int_equal(tmlp_model_sut_create(fx->model, fx->f32, 2, 8, &ms, NULL), TMLP_OK);
    assert_int_equal(tmlp_model_sut_dispatch(ms), TMLP_DISPATCH_AUTO);
    for (int d = 0; d < 3; d++) {
        assert_int_equal(tmlp_model_sut_set_dispatch(ms, ds[d], NULL), TMLP_OK);
        assert_int_equal(tmlp_model_sut_dispatch(ms), ds[d]);
        for (int sc = 0; sc < 4; sc++) {
            tmlp_sut sut = *tmlp_model_sut_callbacks(ms);
            sut.labels = fx->ref_f32;
            tmlp_bench_settings s = tmlp_bench_settings_default((tmlp_scenario)sc);
            s.mode = TMLP_MODE_ACCURACY;
            s.target_qps = 50000;
            s.offline_batch_size = 8;
            tmlp_bench_result *r = NULL;
            assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, NULL), TMLP_OK);
            assert_int_equal(r->correct, N);
            assert_true(r->valid);
            tmlp_bench_result_destroy(r);
        }
    }
    assert_int_equal(tmlp_model_sut_set_dispatch(ms, TMLP_DISPATCH_INLINE, NULL), TMLP_OK);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.min_duration_ms = 0;
    s.min_query_count = N;
    s.max_query_count = N;
    s.target_qps = 5e6;
    s.max_outstanding_queries = 1;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), &r, NULL), TMLP_OK);
    assert_false(r->overloaded);
    assert_int_equal(r->queries, N);
    assert_int_equal(r->completed_queries, N);
    tmlp_bench_result_destroy(r);

    tmlp_error e = {0};
    assert_int_equal(tmlp_model_sut_set_dispatch(ms, (tmlp_sut_dispatch)7, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "unknown dispatch 7"));
    assert_int_equal(tmlp_model_sut_set_dispatch(NULL, TMLP_DISPATCH_AUTO, &e), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_sut_dispatch(NULL), TMLP_DISPATCH_AUTO);
    tmlp_sut_dispatch got;
    for (int d = 0; d < 3; d++) {
        assert_int_equal(tmlp_sut_dispatch_parse(tmlp_sut_dispatch_name(ds[d]), &got, NULL), TMLP_OK);
        assert_int_equal(got, ds[d]);
    }
    assert_int_equal(tmlp_sut_dispatch_parse("threads", &got, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "auto, inline, workers"));
    assert_string_equal(tmlp_sut_dispatch_name((tmlp_sut_dispatch)9), "unknown");
    assert_int_equal(tmlp_bench_run_get_scenario(NULL), TMLP_SCENARIO_SINGLE_STREAM);
    tmlp_model_sut_destroy(ms);
}

static void test_create_errors(void **state)
{
    fixture *fx = *state;
    tmlp_model_sut *ms = (tmlp_model_sut *)1;
    tmlp_error e = {0};
    tmlp_dataset bad = fx->u8;
    bad.width = IN + 1;
    assert_int_equal(tmlp_model_sut_create(fx->model, &bad, 1, 8, &ms, &e), TMLP_ERR_SHAPE);
    assert_null(ms);
    assert_non_null(strstr(e.message, "width"));
    assert_int_equal(tmlp_model_sut_create(fx->model, fx->f32, 0, 8, &ms, &e), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_sut_create(fx->model, fx->f32, 1, 0, &ms, &e), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_sut_create(NULL, fx->f32, 1, 8, &ms, &e), TMLP_ERR_ARG);
    tmlp_model_sut_destroy(NULL);
    assert_null(tmlp_model_sut_callbacks(NULL));
}

/* A model whose outputs are NaN (loadable only with allow_nonfinite)
 * gives no predictions: accuracy mode counts every sample as an error and marks the run
 * INVALID with a reason naming how many samples; it used to report "VALID". */
static void test_nonfinite_accuracy_invalid(void **state)
{
    fixture *fx = *state;
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_create(IN, NULL, &m, NULL), TMLP_OK);
    float w[OUT * IN];
    for (int i = 0; i < OUT * IN; i++) w[i] = 0.01f * (float)(i % 7);
    w[3] = NAN; /* output 0 is NaN for every input */
    assert_int_equal(tmlp_model_add_dense(m, IN, OUT, w, NULL, NULL), TMLP_OK);
    int32_t *labels = calloc(N, sizeof *labels);
    tmlp_dataset d = *fx->f32;
    d.labels = labels;
    tmlp_model_sut *ms = NULL;
    assert_int_equal(tmlp_model_sut_create(m, &d, 1, 8, &ms, NULL), TMLP_OK);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    s.mode = TMLP_MODE_ACCURACY;
    s.min_duration_ms = 0;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), &r, NULL), TMLP_OK);
    assert_int_equal(r->nonfinite, N);
    assert_int_equal(r->correct, 0);
    assert_int_equal(r->errors, N);
    assert_false(r->valid);
    int found = 0;
    for (int i = 0; i < r->n_reasons; i++) found |= strstr(r->reasons[i], "300 of 300 samples gave non-finite") != NULL;
    assert_true(found);
    for (int i = 0; i < N; i++) assert_int_equal(r->predictions[i], TMLP_PRED_NONFINITE);
    tmlp_bench_result_destroy(r);
    tmlp_model_sut_destroy(ms);
    /* the finite model over the same labels is VALID: the reason is the NaN, nothing else */
    assert_int_equal(tmlp_model_sut_create(fx->model, &d, 1, 8, &ms, NULL), TMLP_OK);
    assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), &r, NULL), TMLP_OK);
    assert_int_equal(r->nonfinite, 0);
    assert_true(r->valid);
    tmlp_bench_result_destroy(r);
    tmlp_model_sut_destroy(ms);
    free(labels);
    tmlp_model_destroy(m);
}

/* A label the model cannot predict is an error naming the label and the
 * class count (it used to draw a 256 x 256 confusion matrix without a word). */
static void test_label_beyond_classes(void **state)
{
    fixture *fx = *state;
    int32_t *labels = calloc(N, sizeof *labels);
    labels[17] = OUT;
    tmlp_dataset d = *fx->f32;
    d.labels = labels;
    tmlp_model_sut *ms = NULL;
    tmlp_error e = {0};
    assert_int_equal(tmlp_model_sut_create(fx->model, &d, 1, 8, &ms, &e), TMLP_ERR_ARG);
    assert_null(ms);
    assert_non_null(strstr(e.message, "label 5 of sample 17"));
    assert_non_null(strstr(e.message, "5 classes"));
    labels[17] = OUT - 1;
    assert_int_equal(tmlp_model_sut_create(fx->model, &d, 1, 8, &ms, &e), TMLP_OK);
    tmlp_model_sut_destroy(ms);
    free(labels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predictions_f32), cmocka_unit_test(test_predictions_u8),
        cmocka_unit_test(test_performance_run), cmocka_unit_test(test_overload_drains),
        cmocka_unit_test(test_create_errors), cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_wait_policies),
        cmocka_unit_test(test_nonfinite_accuracy_invalid), cmocka_unit_test(test_label_beyond_classes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
