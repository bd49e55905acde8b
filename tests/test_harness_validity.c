/* test_harness_validity.c — validity and early-stopping verdicts on hand-worked cases
 * (docs/harness.md's pinned values: p = 0.90 needs 64 queries; p = 0.99 needs 662; a server
 * run with 1 query over the bound needs 662 queries; q = 100 at p90 allows t = 3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/harness_internal.h"
#include "tinymlp/bench.h"
#include "fake_sut.h" /* has_reason */

static double *ramp(int64_t n) /* 1, 2, ..., n (ns), ascending */
{
    double *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = (double)(i + 1);
    return x;
}

static tmlp_bench_result *result(tmlp_scenario sc, int64_t queries, uint64_t duration_ns)
{
    tmlp_bench_result *r = calloc(1, sizeof *r);
    r->settings = tmlp_bench_settings_default(sc);
    r->settings.min_duration_ms = 0;
    r->settings.min_query_count = 1;
    r->queries = queries;
    r->samples = queries;
    r->duration_ns = duration_ns;
    return r;
}

static const tmlp_bench_outcome NONE = {0};

static void test_single_stream_too_few(void **state)
{
    (void)state;
    double *x = ramp(63);
    tmlp_bench_result *r = result(TMLP_SCENARIO_SINGLE_STREAM, 63, 1000);
    tmlp_bench_validate(r, x, 63, &NONE);
    assert_int_equal(r->check_min_duration, 1);
    assert_int_equal(r->check_min_queries, 1);
    assert_int_equal(r->check_latency_bound, TMLP_CHECK_NA);
    assert_int_equal(r->check_early_stopping, 0);
    assert_int_equal(r->es_min_queries, 64);
    assert_false(r->valid);
    assert_true(has_reason(r, "need >= 64 queries"));
    assert_true(has_reason(r, "run longer"));
    assert_non_null(strstr(r->es_text, "at least 64"));
    free(r);
    free(x);
}

static void test_single_stream_estimates(void **state)
{
    (void)state;
    const int64_t q[] = {64, 100, 1000, 10000};
    const int64_t t[] = {1, 3, 78, 930};
    for (int k = 0; k < 4; k++) {
        double *x = ramp(q[k]);
        tmlp_bench_result *r = result(TMLP_SCENARIO_SINGLE_STREAM, q[k], 1000);
        tmlp_bench_validate(r, x, q[k], &NONE);
        assert_int_equal(r->check_early_stopping, 1);
        assert_int_equal(r->es_overlatency_queries, t[k]);
        /* sorted[q - t] (0-based) of 1..q is q - t + 1 */
        assert_true(r->es_estimate_ns == (double)(q[k] - t[k] + 1));
        assert_true(r->valid);
        assert_int_equal(r->n_reasons, 0);
        free(r);
        free(x);
    }
}

static void test_multi_stream_662(void **state)
{
    (void)state;
    double *x = ramp(662);
    tmlp_bench_result *r = result(TMLP_SCENARIO_MULTI_STREAM, 661, 1000);
    tmlp_bench_validate(r, x, 661, &NONE);
    assert_int_equal(r->check_early_stopping, 0);
    assert_true(has_reason(r, "need >= 662 queries"));
    free(r);
    r = result(TMLP_SCENARIO_MULTI_STREAM, 662, 1000);
    tmlp_bench_validate(r, x, 662, &NONE);
    assert_int_equal(r->check_early_stopping, 1);
    assert_int_equal(r->es_overlatency_queries, 1);
    assert_true(r->es_estimate_ns == 662.0); /* sorted[661]: t - 1 = 0 dropped */
    assert_true(r->valid);
    free(r);
    free(x);
}

/* Server: latencies 1..q ns with the bound placed so that exactly `over` exceed it. */
static tmlp_bench_result *server_case(int64_t q, int64_t over, double **xs)
{
    double *x = ramp(q);
    tmlp_bench_result *r = result(TMLP_SCENARIO_SERVER, q, 1000);
    r->settings.target_latency_ns = (uint64_t)(q - over);
    tmlp_bench_validate(r, x, q, &NONE);
    *xs = x;
    return r;
}

static void test_server_early_stopping(void **state)
{
    (void)state;
    double *x;
    tmlp_bench_result *r = server_case(459, 0, &x); /* t = 0 needs 459 */
    assert_int_equal(r->check_early_stopping, 1);
    assert_int_equal(r->check_latency_bound, 1);
    assert_true(r->valid);
    free(r);
    free(x);
    r = server_case(458, 0, &x);
    assert_int_equal(r->check_early_stopping, 0);
    assert_false(r->valid);
    free(r);
    free(x);
    r = server_case(662, 1, &x); /* t = 1 needs 662 */
    assert_int_equal(r->es_overlatency_queries, 1);
    assert_int_equal(r->check_early_stopping, 1);
    assert_int_equal(r->check_latency_bound, 1); /* p99 = sorted[655], under the bound */
    assert_true(r->valid);
    free(r);
    free(x);
    r = server_case(661, 1, &x);
    assert_int_equal(r->check_early_stopping, 0);
    assert_true(has_reason(r, ">= 662 queries"));
    assert_non_null(strstr(r->es_text, "NOT met"));
    free(r);
    free(x);
    r = server_case(2010, 10, &x); /* t = 10 needs 2010 */
    assert_int_equal(r->check_early_stopping, 1);
    free(r);
    free(x);
    r = server_case(2009, 10, &x);
    assert_int_equal(r->check_early_stopping, 0);
    free(r);
    free(x);
}

static void test_server_latency_bound(void **state)
{
    (void)state;
    double *x;
    /* 2% over the bound: p99 (sorted[990] of 1000) is over it -> reduce QPS. */
    tmlp_bench_result *r = server_case(1000, 20, &x);
    assert_int_equal(r->check_latency_bound, 0);
    assert_int_equal(r->check_early_stopping, 0);
    assert_false(r->valid);
    assert_true(has_reason(r, "latency bound not met"));
    assert_true(has_reason(r, "reduce target QPS"));
    free(r);
    free(x);
}

static void test_min_duration_and_queries(void **state)
{
    (void)state;
    double *x = ramp(100);
    tmlp_bench_result *r = result(TMLP_SCENARIO_SINGLE_STREAM, 100, 500000000ULL);
    r->settings.min_duration_ms = 1000;
    r->settings.min_query_count = 200;
    tmlp_bench_validate(r, x, 100, &NONE);
    assert_int_equal(r->check_min_duration, 0);
    assert_int_equal(r->check_min_queries, 0);
    assert_int_equal(r->check_early_stopping, 1);
    assert_false(r->valid);
    assert_true(has_reason(r, "min duration not met: 500.000 ms < 1.000 s"));
    assert_true(has_reason(r, "min query count not met: 100 < 200"));
    free(r);
    /* offline: no early stopping, no latency bound; too short means "more samples" */
    r = result(TMLP_SCENARIO_OFFLINE, 1, 500000000ULL);
    r->settings.min_duration_ms = 1000;
    tmlp_bench_validate(r, x, 1, &NONE);
    assert_int_equal(r->check_early_stopping, TMLP_CHECK_NA);
    assert_int_equal(r->check_latency_bound, TMLP_CHECK_NA);
    assert_true(has_reason(r, "raise offline_expected_qps"));
    free(r);
    r = result(TMLP_SCENARIO_OFFLINE, 1, 500000000ULL);
    tmlp_bench_validate(r, x, 1, &NONE);
    assert_true(r->valid);
    free(r);
    free(x);
}

static void test_outcomes(void **state)
{
    (void)state;
    double *x = ramp(1000);
    tmlp_bench_outcome o = {0};
    o.overloaded = 1;
    o.overload_outstanding = 8;
    o.overload_at_s = 0.25;
    tmlp_bench_result *r = result(TMLP_SCENARIO_SERVER, 1000, 1000);
    r->settings.target_latency_ns = 2000;
    tmlp_bench_validate(r, x, 1000, &o);
    assert_false(r->valid);
    assert_true(has_reason(r, "overloaded: 8 queries outstanding"));
    free(r);

    tmlp_bench_outcome o2 = {0};
    o2.never_completed = 3;
    o2.interrupted = 1;
    r = result(TMLP_SCENARIO_SINGLE_STREAM, 1000, 1000);
    r->errors = 3;
    tmlp_bench_validate(r, x, 1000, &o2);
    assert_false(r->valid);
    /* interrupted: the samples are not blamed on the SUT */
    assert_true(has_reason(r, "3 samples were not completed when the run was interrupted"));
    assert_false(has_reason(r, "never completed"));
    assert_true(has_reason(r, "interrupted"));
    assert_false(has_reason(r, "lost them")); /* an interrupt is not the SUT's fault */
    assert_false(has_reason(r, "unknown or repeated"));
    free(r);

    r = result(TMLP_SCENARIO_SINGLE_STREAM, 1000, 1000);
    r->errors = 2;
    tmlp_bench_validate(r, x, 1000, &NONE);
    assert_true(has_reason(r, "2 completions with an unknown or repeated id"));
    free(r);

    /* accuracy mode: performance checks do not apply */
    r = result(TMLP_SCENARIO_SERVER, 10, 10);
    r->settings.mode = TMLP_MODE_ACCURACY;
    r->settings.min_query_count = 1000;
    tmlp_bench_validate(r, x, 10, &NONE);
    assert_int_equal(r->check_min_duration, TMLP_CHECK_NA);
    assert_int_equal(r->check_min_queries, TMLP_CHECK_NA);
    assert_int_equal(r->check_latency_bound, TMLP_CHECK_NA);
    assert_int_equal(r->check_early_stopping, TMLP_CHECK_NA);
    assert_true(r->valid);
    free(r);
    free(x);
}

static void test_summary(void **state)
{
    (void)state;
    double *x = ramp(1000);
    tmlp_latency_summary s = tmlp_bench_summarize(x, 1000, TMLP_PCT_LOADGEN);
    assert_int_equal(s.count, 1000);
    assert_true(s.min == 1.0 && s.max == 1000.0 && s.mean == 500.5);
    assert_true(s.p50 == 501.0 && s.p90 == 901.0 && s.p99 == 991.0 && s.p999 == 1000.0); /* sorted[floor(N p)] */
    s = tmlp_bench_summarize(x, 0, TMLP_PCT_LOADGEN);
    assert_int_equal(s.count, 0);
    assert_true(isnan(s.p50));
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_stream_too_few), cmocka_unit_test(test_single_stream_estimates),
        cmocka_unit_test(test_multi_stream_662),      cmocka_unit_test(test_server_early_stopping),
        cmocka_unit_test(test_server_latency_bound),  cmocka_unit_test(test_min_duration_and_queries),
        cmocka_unit_test(test_outcomes),              cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
