/* test_docs_exercises.c — the outcomes the documents' exercises promise, asserted, so an
 * exercise cannot go stale: a reader who does what one says sees what it says.
 *
 * docs/harness.md, "Exercises" (the program at the top of the page: the server scenario on
 * the null SUT, 5000 QPS, 200 ms, 1000 queries):
 *   1. target_qps 2e7 with a 50 ms minimum: the one issuing thread cannot keep up, so the
 *      run is INVALID, overloaded (the latency bound is lost to issue delay);
 *   2. single-stream with exactly 50 queries and no minimum duration: early stopping fails
 *      (64 queries are needed at p90: h(1) = 63), and h(1) is 63;
 *   3. N = 200: loadgen's p99 is sorted[198]; linear interpolates sorted[197] and [198].
 * docs/internals.md, exercise 3 relies on a model loaded with kernel BLAS running sgemv at
 * batch 1 (layer info says kernel blas, crossover 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tinymlp.h"

/* The program of docs/harness.md, with the exercise's change applied by `change`. */
static tmlp_bench_result *run_harness_md(void (*change)(tmlp_bench_settings *s))
{
    tmlp_sut sut = tmlp_null_sut(1000);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.target_qps = 5000;
    s.min_duration_ms = 200;
    s.min_query_count = 1000;
    change(&s);
    tmlp_bench_result *r = NULL;
    tmlp_error err;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &err), TMLP_OK);
    return r;
}

static int has_reason(const tmlp_bench_result *r, const char *text)
{
    for (int i = 0; i < r->n_reasons; i++)
        if (strstr(r->reasons[i], text)) return 1;
    return 0;
}

static void exercise1(tmlp_bench_settings *s)
{
    s->target_qps = 2e7;
    s->min_duration_ms = 50;
}

static void test_harness_exercise1_overloaded(void **state)
{
    (void)state;
    tmlp_bench_result *r = run_harness_md(exercise1);
    assert_false(r->valid);
    assert_true(has_reason(r, "overloaded"));
    tmlp_bench_result_destroy(r);
}

static void exercise2(tmlp_bench_settings *s)
{
    *s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s->min_duration_ms = 0;
    s->min_query_count = 50;
    s->max_query_count = 50;
}

static void test_harness_exercise2_early_stopping(void **state)
{
    (void)state;
    tmlp_bench_result *r = run_harness_md(exercise2);
    assert_int_equal(r->queries, 50);
    assert_false(r->valid);
    assert_int_equal(r->check_early_stopping, 0);
    assert_int_equal(r->check_min_queries, 1);
    assert_int_equal(r->check_min_duration, 1);
    assert_int_equal(tmlp_early_stop_h(0.90, 0.99, 1), 63);
    tmlp_bench_result_destroy(r);
}

static void test_harness_exercise3_indices(void **state)
{
    (void)state;
    double x[200];
    for (int i = 0; i < 200; i++) x[i] = i;
    assert_true(tmlp_stats_percentile_sorted(x, 200, 0.99, TMLP_PCT_LOADGEN) == 198.0);
    int64_t lo, hi;
    double t;
    assert_int_equal(tmlp_stats_percentile_rank(200, 0.99, TMLP_PCT_LINEAR, &lo, &hi, &t), 1);
    assert_int_equal(lo, 197);
    assert_int_equal(hi, 198);
}

static void test_internals_exercise3_blas_at_batch1(void **state)
{
    (void)state;
    const int64_t widths[4] = {784, 512, 512, 10};
    tmlp_model_options o = tmlp_model_options_default();
    o.kernel = TMLP_KERNEL_BLAS;
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_random(widths, 4, 1, &o, &m, NULL), TMLP_OK);
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(m, 0, &li, NULL), TMLP_OK);
    assert_int_equal(li.kernel, TMLP_KERNEL_BLAS);
    assert_int_equal(li.crossover, 0); /* batch 1 too runs dense_matmul (sgemv) */
    tmlp_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harness_exercise1_overloaded),
        cmocka_unit_test(test_harness_exercise2_early_stopping),
        cmocka_unit_test(test_harness_exercise3_indices),
        cmocka_unit_test(test_internals_exercise3_blas_at_batch1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
