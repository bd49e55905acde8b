/* test_bench_merge.c — one run in several parts, without MPI: the shard split, merging k
 * part results equals computing over their union (arrays, summaries, validity, early
 * stopping), pack/unpack round trips, stragglers, the shard SUT view in accuracy mode, and
 * the harness hooks (schedule stride, on_start, on_result) on real runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/harness_internal.h"
#include "fake_sut.h"
#include "tinymlp/bench.h"
#include "tinymlp/rng.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_shard_split(void **state)
{
    (void)state;
    static const int64_t ns[] = {0, 1, 2, 10, 10000, 10001};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
        for (int k = 1; k <= 7; k++) {
            int64_t next = 0, lo = INT64_MAX, hi = 0;
            for (int p = 0; p < k; p++) {
                int64_t first, count;
                tmlp_bench_shard(ns[t], p, k, &first, &count);
                assert_int_equal(first, next); /* contiguous, in part order, no gap or overlap */
                next = first + count;
                if (count < lo) lo = count;
                if (count > hi) hi = count;
            }
            assert_int_equal(next, ns[t]);
            assert_true(hi - lo <= 1);
        }
    int64_t f, c;
    tmlp_bench_shard(10000, 1, 3, &f, &c);
    assert_int_equal(f, 3334);
    assert_int_equal(c, 3333);
}

/* A hand-made server result of n queries: arrivals every ~1 ms, latencies from a seeded
 * stream with a tail, query i lost (-1) when lost_every divides i + 1. */
static tmlp_bench_result *make_union(int64_t n, int64_t lost_every)
{
    tmlp_bench_result *u = calloc(1, sizeof *u);
    assert_non_null(u);
    u->settings = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    u->settings.min_duration_ms = 0;
    u->settings.min_query_count = 100;
    u->settings.target_latency_ns = 2 * MS;
    u->latencies_ns = calloc((size_t)n, sizeof(int64_t));
    u->start_ns = calloc((size_t)n, sizeof(int64_t));
    u->query_samples = calloc((size_t)n, sizeof(int64_t));
    u->issue_delay_ns = calloc((size_t)n, sizeof(int64_t));
    u->sample_done_ns = calloc((size_t)n, sizeof(int64_t));
    tmlp_rng rng;
    tmlp_rng_seed(&rng, 11);
    int64_t t = 0;
    for (int64_t i = 0; i < n; i++) {
        t += 500 * (int64_t)US + (int64_t)tmlp_rng_below(&rng, 1000 * US);
        u->start_ns[i] = t;
        u->query_samples[i] = 1;
        u->issue_delay_ns[i] = (int64_t)tmlp_rng_below(&rng, 50 * US);
        int64_t lat = 100 * (int64_t)US + (int64_t)tmlp_rng_below(&rng, 900 * US);
        if (i % 37 == 0) lat += 3 * (int64_t)MS; /* the tail */
        if (lost_every && (i + 1) % lost_every == 0) lat = -1;
        u->latencies_ns[i] = lat;
        u->sample_done_ns[i] = lat >= 0 ? t + lat : -1;
    }
    u->n_latencies = u->n_sample_done = u->queries = u->samples = n;
    u->duration_ns = (uint64_t)u->start_ns[n - 1];
    return u;
}

/* Part p of k of u: every k-th query from p (what schedule_stride/offset issue), with the
 * part's own counts, duration (its last arrival) and verdict, as the harness fills them. */
static tmlp_bench_result *make_part(const tmlp_bench_result *u, int p, int k)
{
    tmlp_bench_result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->settings = u->settings;
    int64_t n = (u->n_latencies - p + k - 1) / k;
    r->latencies_ns = calloc((size_t)n + 1, sizeof(int64_t));
    r->start_ns = calloc((size_t)n + 1, sizeof(int64_t));
    r->query_samples = calloc((size_t)n + 1, sizeof(int64_t));
    r->issue_delay_ns = calloc((size_t)n + 1, sizeof(int64_t));
    r->sample_done_ns = calloc((size_t)n + 1, sizeof(int64_t));
    double *sorted = calloc((size_t)n + 1, sizeof(double));
    int64_t j = 0, done = 0, lost = 0;
    for (int64_t i = p; i < u->n_latencies; i += k, j++) {
        r->latencies_ns[j] = u->latencies_ns[i];
        r->start_ns[j] = u->start_ns[i];
        r->query_samples[j] = 1;
        r->issue_delay_ns[j] = u->issue_delay_ns[i];
        r->sample_done_ns[j] = u->sample_done_ns[i];
        if (u->latencies_ns[i] >= 0) sorted[done++] = (double)u->latencies_ns[i];
        else lost++;
    }
    r->n_latencies = r->n_sample_done = r->queries = r->samples = n;
    r->never_completed = r->errors = lost;
    r->duration_ns = (uint64_t)r->start_ns[n - 1];
    r->workload_digest = 1000u + (uint64_t)p;
    qsort(sorted, (size_t)done, sizeof *sorted, cmp_double);
    r->latency = tmlp_bench_summarize(sorted, done, r->settings.percentile_method);
    tmlp_bench_outcome o = {0};
    o.never_completed = lost;
    o.incomplete_queries = lost;
    tmlp_bench_validate(r, sorted, done, &o);
    free(sorted);
    return r;
}

static void assert_summary_equal(const tmlp_latency_summary *a, const tmlp_latency_summary *b)
{
    assert_int_equal(a->count, b->count);
    assert_true(a->min == b->min && a->max == b->max && a->p50 == b->p50 && a->p90 == b->p90);
    assert_true(a->p95 == b->p95 && a->p97 == b->p97 && a->p99 == b->p99 && a->p999 == b->p999);
    assert_true(fabs(a->mean - b->mean) <= 1e-9 * fabs(b->mean));
}

/* Merging k parts = computing over the union, for k = 1..5, with and without lost queries. */
static void test_merge_equals_union(void **state)
{
    (void)state;
    for (int lost = 0; lost <= 1; lost++) {
        tmlp_bench_result *u = make_union(997, lost ? 250 : 0);
        /* what one process reports from the union */
        double *sorted = calloc(997, sizeof(double));
        int64_t done = 0, incomplete = 0;
        for (int64_t i = 0; i < u->n_latencies; i++) {
            if (u->latencies_ns[i] >= 0) sorted[done++] = (double)u->latencies_ns[i];
            else incomplete++;
        }
        qsort(sorted, (size_t)done, sizeof *sorted, cmp_double);
        u->latency = tmlp_bench_summarize(sorted, done, u->settings.percentile_method);
        u->never_completed = u->errors = incomplete;
        tmlp_bench_outcome o = {0};
        o.never_completed = o.incomplete_queries = incomplete;
        tmlp_bench_validate(u, sorted, done, &o);

        for (int k = 1; k <= 5; k++) {
            tmlp_bench_result *parts[5];
            for (int p = 0; p < k; p++) parts[p] = make_part(u, p, k);
            tmlp_bench_result *m = NULL;
            tmlp_error err = {0};
            assert_int_equal(tmlp_bench_merge((const tmlp_bench_result *const *)parts, k, &m, &err), TMLP_OK);
            assert_int_equal(m->n_latencies, u->n_latencies);
            assert_int_equal(m->queries, u->queries);
            assert_int_equal(m->samples, u->samples);
            assert_int_equal(m->completed_queries, done);
            assert_int_equal(m->never_completed, u->never_completed);
            assert_int_equal(m->duration_ns, u->duration_ns);
            for (int64_t i = 0; i < u->n_latencies; i++) { /* back in global schedule order */
                assert_int_equal(m->start_ns[i], u->start_ns[i]);
                assert_int_equal(m->latencies_ns[i], u->latencies_ns[i]);
                assert_int_equal(m->issue_delay_ns[i], u->issue_delay_ns[i]);
                assert_int_equal(m->sample_done_ns[i], u->sample_done_ns[i]);
            }
            assert_summary_equal(&m->latency, &u->latency);
            assert_int_equal(m->valid, u->valid);
            assert_int_equal(m->check_latency_bound, u->check_latency_bound);
            assert_int_equal(m->check_early_stopping, u->check_early_stopping);
            assert_int_equal(m->es_overlatency_queries, u->es_overlatency_queries);
            assert_int_equal(m->n_reasons, u->n_reasons);
            assert_string_equal(m->es_text, u->es_text);
            assert_int_equal(m->n_parts, k);
            int64_t sum = 0;
            for (int p = 0; p < k; p++) {
                assert_int_equal(m->parts[p].queries, parts[p]->queries);
                assert_true(m->parts[p].p99_ns == parts[p]->latency.p99);
                sum += m->parts[p].queries;
            }
            assert_int_equal(sum, m->queries);
            /* the digest names the split: same parts -> same digest, another k -> another */
            tmlp_bench_result *m2 = NULL;
            assert_int_equal(tmlp_bench_merge((const tmlp_bench_result *const *)parts, k, &m2, NULL), TMLP_OK);
            assert_true(m2->workload_digest == m->workload_digest);
            tmlp_bench_result_destroy(m2);
            tmlp_bench_result_destroy(m);
            for (int p = 0; p < k; p++) tmlp_bench_result_destroy(parts[p]);
        }
        free(sorted);
        tmlp_bench_result_destroy(u);
    }
}

static void test_merge_rejects(void **state)
{
    (void)state;
    tmlp_bench_result *u = make_union(10, 0);
    tmlp_bench_result *a = make_part(u, 0, 2), *b = make_part(u, 1, 2), *m = NULL;
    b->settings.scenario = TMLP_SCENARIO_OFFLINE;
    const tmlp_bench_result *ps[2] = {a, b};
    tmlp_error err = {0};
    assert_int_equal(tmlp_bench_merge(ps, 2, &m, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "part 1"));
    assert_null(m);
    assert_int_equal(tmlp_bench_merge(ps, 0, &m, &err), TMLP_ERR_ARG);
    ps[1] = NULL;
    assert_int_equal(tmlp_bench_merge(ps, 2, &m, &err), TMLP_ERR_ARG);
    tmlp_bench_result_destroy(a);
    tmlp_bench_result_destroy(b);
    tmlp_bench_result_destroy(u);
}

static void test_pack_roundtrip(void **state)
{
    (void)state;
    tmlp_bench_result *u = make_union(300, 7);
    u->predictions = malloc(5 * sizeof(int32_t));
    for (int i = 0; i < 5; i++) u->predictions[i] = i * 3;
    u->n_predictions = 5;
    snprintf(u->reasons[0], sizeof u->reasons[0], "a reason");
    u->n_reasons = 1;
    void *buf = NULL;
    size_t len = 0;
    assert_int_equal(tmlp_bench_result_pack(u, &buf, &len, NULL), TMLP_OK);
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_result_unpack(buf, len, &r, NULL), TMLP_OK);
    assert_int_equal(r->n_latencies, 300);
    assert_memory_equal(r->latencies_ns, u->latencies_ns, 300 * sizeof(int64_t));
    assert_memory_equal(r->start_ns, u->start_ns, 300 * sizeof(int64_t));
    assert_memory_equal(r->issue_delay_ns, u->issue_delay_ns, 300 * sizeof(int64_t));
    assert_memory_equal(r->sample_done_ns, u->sample_done_ns, 300 * sizeof(int64_t));
    assert_memory_equal(r->predictions, u->predictions, 5 * sizeof(int32_t));
    assert_string_equal(r->reasons[0], "a reason");
    assert_int_equal(r->duration_ns, u->duration_ns);
    tmlp_bench_result_destroy(r);
    /* truncated, extended or foreign buffers are refused, never read past */
    tmlp_error err = {0};
    assert_int_equal(tmlp_bench_result_unpack(buf, len - 1, &r, &err), TMLP_ERR_FORMAT);
    assert_null(r);
    assert_int_equal(tmlp_bench_result_unpack(buf, 20, &r, &err), TMLP_ERR_FORMAT);
    ((char *)buf)[0] = 'X';
    assert_int_equal(tmlp_bench_result_unpack(buf, len, &r, &err), TMLP_ERR_FORMAT);
    free(buf);
    tmlp_bench_result_destroy(u);
}

static void test_stragglers(void **state)
{
    (void)state;
    tmlp_bench_part_summary p[4];
    memset(p, 0, sizeof p);
    double p99[4] = {1.00e6, 1.02e6, 0.99e6, 1.60e6}, thr[4] = {5000, 5050, 4980, 5010};
    for (int i = 0; i < 4; i++) {
        p[i].p99_ns = p99[i];
        p[i].throughput_samples_per_s = thr[i];
    }
    assert_int_equal(tmlp_bench_stragglers(p, 4), 1);
    assert_true(p[3].straggler && !p[0].straggler && !p[1].straggler && !p[2].straggler);
    p[3].p99_ns = 1.01e6; /* in line again */
    p[1].throughput_samples_per_s = 2000; /* slow part */
    assert_int_equal(tmlp_bench_stragglers(p, 4), 1);
    assert_true(p[1].straggler && !p[3].straggler);
    /* identical parts: MAD 0, nobody flagged; a 1% wobble under a zero MAD is not flagged */
    for (int i = 0; i < 4; i++) p[i].p99_ns = 1e6, p[i].throughput_samples_per_s = 5000;
    p[2].p99_ns = 1.01e6;
    assert_int_equal(tmlp_bench_stragglers(p, 4), 0);
    /* two parts: no median to be out of line with */
    p[0].p99_ns = 9e9;
    assert_int_equal(tmlp_bench_stragglers(p, 2), 0);
}

/* --- real runs through the hooks ---------------------------------------------------------- */

static int g_starts;
static void count_start(void *user) { (void)user; g_starts++; }

/* Server in 3 parts: each issues every 3rd arrival of the SAME global schedule; merged, the
 * start times are exactly the one-process schedule. */
static void test_server_stride_union_is_schedule(void **state)
{
    (void)state;
    tmlp_sut sut = tmlp_null_sut(100);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.min_duration_ms = 0;
    s.min_query_count = 300;
    s.max_query_count = 300;
    s.target_qps = 20000;
    s.on_start = count_start;
    tmlp_bench_result *whole = NULL, *parts[3];
    g_starts = 0;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &whole, NULL), TMLP_OK);
    assert_int_equal(g_starts, 1);
    s.schedule_stride = 3;
    for (int p = 0; p < 3; p++) {
        s.schedule_offset = p;
        assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &parts[p], NULL), TMLP_OK);
        assert_int_equal(parts[p]->queries, 100);
    }
    assert_int_equal(g_starts, 4);
    tmlp_bench_result *m = NULL;
    assert_int_equal(tmlp_bench_merge((const tmlp_bench_result *const *)parts, 3, &m, NULL), TMLP_OK);
    assert_int_equal(m->queries, whole->queries);
    assert_memory_equal(m->start_ns, whole->start_ns, 300 * sizeof(int64_t));
    assert_int_equal(m->duration_ns, whole->duration_ns);
    s.schedule_offset = 3; /* out of range */
    tmlp_bench_result *bad = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &bad, NULL), TMLP_ERR_ARG);
    tmlp_bench_result_destroy(m);
    tmlp_bench_result_destroy(whole);
    for (int p = 0; p < 3; p++) tmlp_bench_result_destroy(parts[p]);
}

/* Accuracy over 3 shard views = accuracy of one process: predictions concatenate back into
 * sample order and the correct count is the same. */
static void test_accuracy_shards(void **state)
{
    (void)state;
    enum { N = 101 };
    int32_t labels[N], predict[N];
    for (int i = 0; i < N; i++) {
        labels[i] = i % 5;
        predict[i] = (i * 7) % 5;
    }
    fake_sut *f = fake_new(N, 0, 0);
    f->sut.labels = labels;
    f->predict = predict;
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_OFFLINE, 1);
    s.mode = TMLP_MODE_ACCURACY;
    s.offline_batch_size = 8;
    tmlp_bench_result *whole = NULL, *parts[3];
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &whole, NULL), TMLP_OK);
    for (int p = 0; p < 3; p++) {
        int64_t first, count;
        tmlp_bench_shard(N, p, 3, &first, &count);
        tmlp_sut_shard *sh = NULL;
        assert_int_equal(tmlp_sut_shard_create(&f->sut, first, count, 3, &sh, NULL), TMLP_OK);
        assert_int_equal(tmlp_bench_run_scenario(&s, tmlp_sut_shard_callbacks(sh), &parts[p], NULL), TMLP_OK);
        assert_int_equal(parts[p]->labeled, count);
        tmlp_sut_shard_destroy(sh);
    }
    assert_null(tmlp_sut_shard_callbacks(NULL));
    tmlp_bench_result *m = NULL;
    assert_int_equal(tmlp_bench_merge((const tmlp_bench_result *const *)parts, 3, &m, NULL), TMLP_OK);
    assert_int_equal(m->labeled, N);
    assert_int_equal(m->correct, whole->correct);
    assert_int_equal(m->n_predictions, N);
    assert_memory_equal(m->predictions, whole->predictions, N * sizeof(int32_t));
    assert_int_equal(m->valid, 1);
    tmlp_sut_shard *sh = NULL;
    assert_int_equal(tmlp_sut_shard_create(&f->sut, 100, 2, 3, &sh, NULL), TMLP_ERR_ARG);
    tmlp_bench_result_destroy(m);
    tmlp_bench_result_destroy(whole);
    for (int p = 0; p < 3; p++) tmlp_bench_result_destroy(parts[p]);
    fake_free(f);
}

/* on_result sees every run (each find-peak trial) and its verdict is what the search uses. */
static int g_results;
static tmlp_status fail_all(void *user, tmlp_bench_result **r, tmlp_error *err)
{
    (void)user;
    (void)err;
    g_results++;
    if (*r) (*r)->valid = 0; /* "the merged run failed": the search must halve */
    return TMLP_OK;
}

static void test_on_result_drives_find_peak(void **state)
{
    (void)state;
    tmlp_sut sut = tmlp_null_sut(10);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.mode = TMLP_MODE_FIND_PEAK;
    s.min_duration_ms = 0;
    s.min_query_count = 50;
    s.max_query_count = 50;
    s.target_qps = 10000;
    s.find_peak_min_qps = 2500;
    s.on_result = fail_all;
    g_results = 0;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->n_peak_trials, 3); /* 10000, 5000, 2500 (floor): each "failed" */
    assert_int_equal(g_results, 3);
    assert_true(r->peak_qps == 0.0);
    tmlp_bench_result_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shard_split),
        cmocka_unit_test(test_merge_equals_union),
        cmocka_unit_test(test_merge_rejects),
        cmocka_unit_test(test_pack_roundtrip),
        cmocka_unit_test(test_stragglers),
        cmocka_unit_test(test_server_stride_union_is_schedule),
        cmocka_unit_test(test_accuracy_shards),
        cmocka_unit_test(test_on_result_drives_find_peak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
