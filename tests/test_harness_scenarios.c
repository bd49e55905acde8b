/* test_harness_scenarios.c — the closed-loop and offline scenarios against a scripted
 * fake SUT (tests/fake_sut.h): issue discipline, batching, warm-up, accuracy scoring,
 * interrupts and stalls. Service times are known, so the latencies are predictable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fake_sut.h"
#include "tinymlp/bench.h"

/* Single-stream: the next query is issued only after the previous one completed. */
static void test_single_stream_closed_loop(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 200 * US, 0);
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_SINGLE_STREAM, 80);
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(f->overlaps, 0);
    assert_int_equal(f->issue_calls, 80);
    assert_int_equal(r->queries, 80);
    assert_int_equal(r->samples, 80);
    assert_int_equal(r->n_latencies, 80);
    for (int64_t i = 0; i < r->n_latencies; i++) {
        assert_true(r->latencies_ns[i] >= (int64_t)(200 * US));
        assert_int_equal(r->query_samples[i], 1);
        if (i > 0) /* issued after the previous query's completion */
            assert_true(r->start_ns[i] >= r->start_ns[i - 1] + r->latencies_ns[i - 1]);
    }
    assert_true(r->latency.min >= 200e3);
    assert_int_equal(r->check_early_stopping, 1); /* 80 >= 64 */
    assert_true(r->valid);
    assert_int_equal(r->labeled, 0); /* no labels: accuracy is null, not 0 */
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* Multi-stream: one issue call of samples_per_query samples; latency = last sample done
 * - issue, so with one FIFO server it is at least 4 service times. */
static void test_multi_stream(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 100 * US, 0);
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_MULTI_STREAM, 20);
    s.samples_per_query = 4;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(f->issue_calls, 20);
    assert_int_equal(f->max_call, 4);
    assert_int_equal(f->min_call, 4);
    assert_int_equal(r->queries, 20);
    assert_int_equal(r->samples, 80);
    for (int64_t i = 0; i < 20; i++) {
        assert_int_equal(r->query_samples[i], 4);
        assert_true(r->latencies_ns[i] >= (int64_t)(400 * US));
    }
    assert_int_equal(r->check_early_stopping, 0); /* 20 < 662 at p99 */
    assert_false(r->valid);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* Per-sample completion times (the trace's per-sample events): one per measured sample in
 * issue order; the last sample of a query completes exactly at start + query latency, and
 * a FIFO server completes a query's samples in order. Offline: the last one ends the run. */
static void test_sample_done_times(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 100 * US, 0);
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_MULTI_STREAM, 10);
    s.samples_per_query = 4;
    s.warmup_queries = 3; /* their samples must not appear */
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->n_sample_done, 40);
    assert_non_null(r->sample_done_ns);
    int64_t k = 0;
    for (int64_t q = 0; q < r->n_latencies; q++) {
        int64_t last = -1;
        for (int64_t j = 0; j < r->query_samples[q]; j++, k++) {
            assert_true(r->sample_done_ns[k] >= r->start_ns[q]);
            assert_true(r->sample_done_ns[k] >= last); /* FIFO */
            last = r->sample_done_ns[k];
        }
        assert_true(last == r->start_ns[q] + r->latencies_ns[q]);
    }
    assert_int_equal(k, 40);
    tmlp_bench_result_destroy(r);
    fake_free(f);

    fake_sut *g = fake_new(500, 0, 0);
    s = fake_settings(TMLP_SCENARIO_OFFLINE, 1);
    s.offline_batch_size = 64;
    assert_int_equal(tmlp_bench_run_scenario(&s, &g->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->n_sample_done, 500);
    int64_t mx = -1;
    for (int64_t i = 0; i < 500; i++) {
        assert_true(r->sample_done_ns[i] >= 0);
        if (r->sample_done_ns[i] > mx) mx = r->sample_done_ns[i];
    }
    assert_true(mx == (int64_t)r->duration_ns);
    tmlp_bench_result_destroy(r);
    fake_free(g);
}

/* Offline is sized like LoadGen, from settings only: max(min_query_count, ceil(expected
 * QPS x min duration x 1.1)); the minimum counts samples; percentiles are per sample. */
static void test_offline_sized_like_loadgen(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 0, 0);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    s.min_duration_ms = 10;
    s.offline_expected_qps = 100000; /* x 0.01 s x 1.1 = 1100 */
    s.offline_batch_size = 64;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->samples, 1100);
    assert_int_equal(r->offline_samples_planned, 1100);
    assert_int_equal(r->settings.offline_sample_count, 1100);
    tmlp_bench_result_destroy(r);
    fake_free(f);

    /* --min-queries 24576 for offline: the one query holds >= 24576 samples, VALID */
    f = fake_new(100, 0, 0);
    s.min_duration_ms = 0;
    s.min_query_count = 24576;
    s.offline_batch_size = 256;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->samples, 24576);
    assert_int_equal(r->queries, 1);
    assert_int_equal(r->check_min_queries, 1);
    assert_true(r->valid);
    /* per-sample percentiles: the median sample finished well before the last one */
    assert_int_equal(r->latency.count, 24576);
    assert_true(r->latency.p50 < r->latency.max);
    assert_true(r->latency.max == (double)r->duration_ns);
    tmlp_bench_result_destroy(r);
    fake_free(f);

    /* a query smaller than the minimum is INVALID and says so in samples */
    f = fake_new(100, 0, 0);
    s.offline_sample_count = 1000;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_false(r->valid);
    assert_true(has_reason(r, "min sample count not met: 1000 < 24576"));
    tmlp_bench_result_destroy(r);
    fake_free(f);

    /* a plan beyond 2^30 samples is refused up front */
    f = fake_new(100, 0, 0);
    s.offline_sample_count = 0;
    s.min_query_count = 1;
    s.min_duration_ms = 600000;
    s.offline_expected_qps = 1e7;
    tmlp_error err = {0};
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "offline query would hold"));
    fake_free(f);
}

/* A healthy offline run longer than drain_timeout_ms is never cut off (the stall bound
 * follows the SUT's own rate); a SUT that stops completing still ends the run. */
static void test_offline_no_constant_timeout(void **state)
{
    (void)state;
    /* 400 samples at 1 ms each = 400 ms of work, drain_timeout_ms 50 */
    fake_sut *f = fake_new(100, 1 * MS, 0);
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_OFFLINE, 1);
    s.offline_sample_count = 400;
    s.offline_batch_size = 8;
    s.drain_timeout_ms = 50;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->never_completed, 0);
    assert_true(r->duration_ns >= 400 * MS);
    assert_true(r->valid);
    tmlp_bench_result_destroy(r);
    fake_free(f);

    /* the SUT stops after 100 samples: the run ends INVALID, within the stall bound */
    f = fake_new(100, 100 * US, 0);
    f->never_from = 100;
    s.offline_sample_count = 400;
    s.drain_timeout_ms = 100;
    r = fake_run_stalled(&s, f);
    assert_int_equal(r->never_completed, 300);
    assert_true(has_reason(r, "300 samples never completed"));
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* Same seeds and settings: the same workload digest in all four scenarios, offline
 * included (its size is a setting, not a calibration). */
static void test_digests_reproducible(void **state)
{
    (void)state;
    const tmlp_scenario scs[] = {TMLP_SCENARIO_SINGLE_STREAM, TMLP_SCENARIO_MULTI_STREAM,
                                 TMLP_SCENARIO_SERVER, TMLP_SCENARIO_OFFLINE};
    for (int k = 0; k < 4; k++) {
        uint64_t d[2];
        int64_t n[2];
        for (int rep = 0; rep < 2; rep++) {
            fake_sut *f = fake_new(1000, rep ? 20 * US : 0, 0); /* a different speed each time */
            tmlp_bench_settings s = tmlp_bench_settings_default(scs[k]);
            s.min_duration_ms = 20;
            s.min_query_count = 64;
            s.target_qps = 5000;
            s.offline_expected_qps = 50000;
            s.max_outstanding_queries = 1 << 20;
            tmlp_bench_result *r = NULL;
            assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
            d[rep] = r->workload_digest;
            n[rep] = scs[k] == TMLP_SCENARIO_OFFLINE ? r->samples : 0;
            tmlp_bench_result_destroy(r);
            fake_free(f);
        }
        assert_true(d[0] == d[1]);
        assert_int_equal(n[0], n[1]);
    }
}

/* Offline: one query of N samples issued as ceil(N/B) calls of <= B samples. */
static void test_offline_batches(void **state)
{
    (void)state;
    fake_sut *f = fake_new(1000, 0, 0);
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_OFFLINE, 1);
    s.offline_batch_size = 64;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(f->issue_calls, 16); /* ceil(1000 / 64) */
    assert_int_equal(f->max_call, 64);
    assert_int_equal(f->min_call, 1000 - 15 * 64);
    assert_int_equal(f->issued, 1000);
    assert_int_equal(r->queries, 1);
    assert_int_equal(r->samples, 1000);
    assert_int_equal(r->settings.offline_sample_count, 1000);
    assert_true(r->duration_ns > 0);
    assert_true(r->latencies_ns[0] == (int64_t)r->duration_ns);
    assert_true(r->latency.count == 1000 && r->latency.max == (double)r->duration_ns);
    assert_true(fabs(r->throughput_samples_per_s - 1000.0 / ((double)r->duration_ns * 1e-9)) < 1e-6);
    assert_true(r->valid);
    tmlp_bench_result_destroy(r);

    fake_sut *g = fake_new(1000, 0, 0);
    s.offline_sample_count = 100;
    s.offline_batch_size = 32;
    assert_int_equal(tmlp_bench_run_scenario(&s, &g->sut, &r, NULL), TMLP_OK);
    assert_int_equal(g->issue_calls, 4);
    assert_int_equal(r->samples, 100);
    tmlp_bench_result_destroy(r);
    fake_free(g);
    fake_free(f);
}

static uint64_t slow_warmup(int64_t seq, void *ctx)
{
    (void)ctx;
    return seq < 5 ? 50 * MS : 100 * US;
}

/* Warm-up queries are issued and completed but appear in no statistic. */
static void test_warmup_excluded(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 0, 0);
    f->script = slow_warmup;
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_SINGLE_STREAM, 20);
    s.warmup_queries = 5;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(f->issue_calls, 25);
    assert_int_equal(r->queries, 20);
    assert_int_equal(r->n_latencies, 20);
    assert_true(r->latency.max < 40e6);  /* no 50 ms warm-up query */
    assert_true(r->latency.p50 < 10e6);
    assert_true(r->latency.min >= 100e3);
    assert_int_equal(r->check_min_queries, 1);
    /* the measured workload does not depend on the warm-up */
    fake_sut *g = fake_new(100, 0, 0);
    tmlp_bench_settings s2 = fake_settings(TMLP_SCENARIO_SINGLE_STREAM, 20);
    tmlp_bench_result *r2 = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s2, &g->sut, &r2, NULL), TMLP_OK);
    assert_true(r->workload_digest == r2->workload_digest);
    tmlp_bench_result_destroy(r2);
    tmlp_bench_result_destroy(r);
    fake_free(g);
    fake_free(f);
}

/* Accuracy mode: every sample exactly once, predictions scored against the labels. */
static void test_accuracy_mode(void **state)
{
    (void)state;
    enum { N = 50 };
    int32_t labels[N], predict[N];
    int64_t expect = 0;
    for (int i = 0; i < N; i++) {
        labels[i] = i % 10;
        predict[i] = i % 3 == 0 ? labels[i] : (labels[i] + 1) % 10;
        expect += i % 3 == 0;
    }
    const tmlp_scenario scs[] = {TMLP_SCENARIO_SINGLE_STREAM, TMLP_SCENARIO_MULTI_STREAM,
                                 TMLP_SCENARIO_SERVER, TMLP_SCENARIO_OFFLINE};
    const int64_t queries[] = {N, 7, N, 1};
    for (int k = 0; k < 4; k++) {
        fake_sut *f = fake_new(N, 10 * US, 0);
        f->sut.labels = labels;
        f->predict = predict;
        tmlp_bench_settings s = tmlp_bench_settings_default(scs[k]);
        s.mode = TMLP_MODE_ACCURACY;
        s.target_qps = 20000;
        s.offline_batch_size = 16;
        tmlp_bench_result *r = NULL;
        assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
        assert_int_equal(f->issued, N);
        assert_int_equal(r->queries, queries[k]);
        assert_int_equal(r->samples, N);
        assert_int_equal(r->labeled, N);
        assert_int_equal(r->correct, expect);
        assert_int_equal(r->n_predictions, N);
        assert_memory_equal(r->predictions, predict, sizeof predict);
        assert_true(r->valid);
        tmlp_bench_result_destroy(r);
        fake_free(f);
    }
}

/* Performance mode scores predictions too when labels exist. */
static void test_performance_scores(void **state)
{
    (void)state;
    int32_t labels[10], predict[10];
    for (int i = 0; i < 10; i++) {
        labels[i] = i;
        predict[i] = i < 5 ? i : 0;
    }
    fake_sut *f = fake_new(10, 0, 0);
    f->sut.labels = labels;
    f->predict = predict;
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_SINGLE_STREAM, 200);
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->labeled, 200);
    assert_true(r->correct > 60 && r->correct < 140); /* indices 0..5 of 10 are right */
    assert_null(r->predictions);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* The stop flag ends a long run promptly: INVALID (interrupted), what was measured kept. */
static void test_interrupt(void **state)
{
    (void)state;
    volatile int stop = 0;
    fake_sut *f = fake_new(100, 50 * US, 0);
    f->stop_after = 30;
    f->stop_flag = &stop;
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 60000;
    s.stop = &stop;
    tmlp_bench_result *r = NULL;
    uint64_t t0 = tmlp_time_now_ns();
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_true(tmlp_time_now_ns() - t0 < 2000 * MS);
    assert_true(r->interrupted);
    assert_false(r->valid);
    assert_true(has_reason(r, "interrupted"));
    assert_true(r->queries >= 30 && r->queries <= 32);
    assert_null(r->settings.stop);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* A closed-loop query that never completes ends the run once the SUT has completed nothing
 * for the stall bound, max(drain_timeout_ms, 20 x its mean completion interval). */
static void test_stalled_closed_loop(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 10 * US, 0);
    f->never_from = 10;
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_SINGLE_STREAM, 100);
    s.drain_timeout_ms = 100;
    tmlp_bench_result *r = fake_run_stalled(&s, f);
    assert_int_equal(r->queries, 11);
    assert_int_equal(r->completed_queries, 10);
    assert_int_equal(r->never_completed, 1);
    assert_int_equal(r->errors, 1);
    assert_int_equal(r->latencies_ns[10], -1);
    assert_true(has_reason(r, "the SUT completed nothing for 100.000 ms"));
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* max_duration ends a run early; unmet minimums make it INVALID with the reason. */
static void test_max_duration(void **state)
{
    (void)state;
    tmlp_sut sut = tmlp_null_sut(100);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 1000;
    s.max_duration_ms = 50;
    tmlp_bench_result *r = NULL;
    uint64_t t0 = tmlp_time_now_ns();
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, NULL), TMLP_OK);
    assert_true(tmlp_time_now_ns() - t0 < 500 * MS);
    assert_int_equal(r->check_min_duration, 0);
    assert_false(r->valid);
    assert_true(has_reason(r, "min duration not met"));
    tmlp_bench_result_destroy(r);
}

/* The null SUT: a valid single-stream run whose duration check uses the last issue;
 * same seeds give the same digest whatever the number of queries run. */
static void test_null_sut_single_stream(void **state)
{
    (void)state;
    tmlp_sut sut = tmlp_null_sut(1000);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 20;
    s.min_query_count = 100;
    tmlp_bench_result *a = NULL, *b = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &a, NULL), TMLP_OK);
    assert_true(a->valid);
    assert_true(a->queries >= 100);
    assert_true(a->duration_ns >= 20 * MS);
    assert_int_equal(a->latency.count, a->queries);
    assert_true(a->latency.p50 < 1e6); /* far under a millisecond */
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &b, NULL), TMLP_OK);
    assert_true(a->workload_digest == b->workload_digest);
    s.sample_seed++;
    tmlp_bench_result_destroy(b);
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &b, NULL), TMLP_OK);
    assert_true(a->workload_digest != b->workload_digest);
    tmlp_bench_result_destroy(a);
    tmlp_bench_result_destroy(b);
}

/* A buggy SUT: completes each sample twice and reports one id the harness never issued.
 * Each is counted as an error; the run is INVALID and says why. */
static void buggy_issue(void *user, tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n)
{
    (void)user;
    tmlp_query_sample bogus = {987654321u, 0};
    tmlp_bench_complete(run, samples, n, NULL);
    tmlp_bench_complete(run, samples, n, NULL); /* repeated */
    tmlp_bench_complete(run, &bogus, 1, NULL);  /* unknown */
    tmlp_bench_complete(run, NULL, 1, NULL);    /* ignored */
}

static void test_completion_errors(void **state)
{
    (void)state;
    tmlp_sut sut = {0};
    sut.sample_count = 10;
    sut.issue = buggy_issue;
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_SINGLE_STREAM, 100);
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->queries, 100);
    assert_int_equal(r->completed_queries, 100);
    assert_int_equal(r->errors, 200);
    assert_int_equal(r->never_completed, 0);
    assert_false(r->valid);
    assert_true(has_reason(r, "200 completions with an unknown or repeated id"));
    tmlp_bench_result_destroy(r);
    tmlp_bench_complete(NULL, NULL, 0, NULL); /* NULL run: ignored */
}

/* Progress reports arrive from the issuing thread about every 250 ms. */
static int n_progress;
static void on_progress(void *user, const tmlp_bench_progress *p)
{
    (void)user;
    assert_int_equal(p->scenario, TMLP_SCENARIO_SINGLE_STREAM);
    assert_true(p->queries_completed <= p->queries_issued);
    if (p->queries_completed > 0) assert_true(p->running_p90_ns > 0);
    n_progress++;
}

static void test_progress(void **state)
{
    (void)state;
    fake_sut *f = fake_new(10, 100 * US, 0);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 600;
    s.min_query_count = 1;
    s.progress = on_progress;
    n_progress = 0;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_true(n_progress >= 2 && n_progress <= 6);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_stream_closed_loop), cmocka_unit_test(test_multi_stream),
        cmocka_unit_test(test_sample_done_times),
        cmocka_unit_test(test_offline_batches),
        cmocka_unit_test(test_offline_sized_like_loadgen),
        cmocka_unit_test(test_offline_no_constant_timeout),
        cmocka_unit_test(test_digests_reproducible),           cmocka_unit_test(test_warmup_excluded),
        cmocka_unit_test(test_accuracy_mode),             cmocka_unit_test(test_performance_scores),
        cmocka_unit_test(test_interrupt),                 cmocka_unit_test(test_stalled_closed_loop),
        cmocka_unit_test(test_max_duration),              cmocka_unit_test(test_null_sut_single_stream),
        cmocka_unit_test(test_completion_errors),         cmocka_unit_test(test_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
