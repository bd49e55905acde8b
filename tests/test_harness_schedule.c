/* test_harness_schedule.c — the harness's workload without a clock: the Poisson arrival
 * schedule, sample choice, the workload digest, settings defaults, names and checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/harness_internal.h"
#include "tinymlp/bench.h"

/* The schedule's mean rate, (N-1)/t[N-1], is within 3% of the target over 10,000
 * arrivals (the relative standard error of the mean gap is 1/sqrt(N) = 1%). */
/* A run starts when this process's other threads are idle (wait.c): a thread spinning for
 * 30 ms holds the wait about that long, not the cap; with none running it returns at once. */
static void *spin_30ms(void *arg)
{
    const uint64_t end = tmlp_time_now_ns() + 30000000ULL;
    while (tmlp_time_now_ns() < end) continue;
    return arg;
}

static void test_own_threads_idle(void **state)
{
    (void)state;
    assert_true(tmlp_wait_own_threads_idle(200000000LL) < 5000000LL);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, spin_30ms, NULL), 0);
    const struct timespec ts = {0, 2000000L}; /* let it start */
    nanosleep(&ts, NULL);
    const int64_t waited = tmlp_wait_own_threads_idle(200000000LL);
    pthread_join(t, NULL);
    assert_true(waited >= 15000000LL);
    assert_true(waited < 200000000LL);
}

static void test_schedule_rate(void **state)
{
    (void)state;
    const double rates[] = {10.0, 1000.0, 10000.0, 123456.0};
    for (int k = 0; k < 4; k++) {
        for (uint64_t seed = 1; seed <= 5; seed++) {
            int64_t *t = NULL, n = 0;
            assert_int_equal(tmlp_schedule_generate(seed, rates[k], 10000, 0, 0, 0, 0, &t, &n, NULL), TMLP_OK);
            assert_int_equal(n, 10000);
            assert_int_equal(t[0], 0);
            for (int64_t i = 1; i < n; i++) assert_true(t[i] >= t[i - 1]);
            double rate = (double)(n - 1) / ((double)t[n - 1] * 1e-9);
            assert_true(fabs(rate / rates[k] - 1.0) < 0.03);
            free(t);
        }
    }
}

/* Gaps are exponential: the coefficient of variation is ~1 (a fixed-interval schedule
 * would give 0), and about e^-1 of the gaps exceed the mean. */
static void test_schedule_is_poisson(void **state)
{
    (void)state;
    int64_t *t = NULL, n = 0;
    assert_int_equal(tmlp_schedule_generate(7, 1000.0, 20000, 0, 0, 0, 0, &t, &n, NULL), TMLP_OK);
    double sum = 0, sum2 = 0;
    for (int64_t i = 1; i < n; i++) {
        double g = (double)(t[i] - t[i - 1]);
        sum += g;
        sum2 += g * g;
    }
    double mean = sum / (double)(n - 1);
    double cv = sqrt(sum2 / (double)(n - 1) - mean * mean) / mean;
    int64_t over = 0;
    for (int64_t i = 1; i < n; i++) over += (double)(t[i] - t[i - 1]) > mean;
    assert_true(fabs(cv - 1.0) < 0.05);
    assert_true(fabs((double)over / (double)(n - 1) - exp(-1.0)) < 0.02);
    free(t);
}

static void test_schedule_deterministic(void **state)
{
    (void)state;
    int64_t *a = NULL, *b = NULL, *c = NULL, na = 0, nb = 0, nc = 0;
    assert_int_equal(tmlp_schedule_generate(42, 500.0, 1000, 0, 0, 0, 0, &a, &na, NULL), TMLP_OK);
    assert_int_equal(tmlp_schedule_generate(42, 500.0, 1000, 0, 0, 0, 0, &b, &nb, NULL), TMLP_OK);
    assert_int_equal(tmlp_schedule_generate(43, 500.0, 1000, 0, 0, 0, 0, &c, &nc, NULL), TMLP_OK);
    assert_memory_equal(a, b, (size_t)na * sizeof *a);
    assert_true(memcmp(a, c, (size_t)na * sizeof *a) != 0);
    free(a);
    free(b);
    free(c);
}

/* Without an exact count the schedule covers both minimums and respects the maximums. */
static void test_schedule_length(void **state)
{
    (void)state;
    int64_t *t = NULL, n = 0;
    /* 1000 QPS for 2 s needs ~2000 arrivals; min 100 queries is the weaker condition. */
    assert_int_equal(tmlp_schedule_generate(3, 1000.0, 0, 100, 2000000000ULL, 0, 0, &t, &n, NULL), TMLP_OK);
    assert_true(n >= 100);
    assert_true(t[n - 1] >= 2000000000LL);
    assert_true(t[n - 2] < 2000000000LL);
    free(t);
    /* count dominates */
    assert_int_equal(tmlp_schedule_generate(3, 1000.0, 0, 5000, 1000000ULL, 0, 0, &t, &n, NULL), TMLP_OK);
    assert_int_equal(n, 5000);
    free(t);
    /* max_queries cuts */
    assert_int_equal(tmlp_schedule_generate(3, 1000.0, 0, 5000, 0, 300, 0, &t, &n, NULL), TMLP_OK);
    assert_int_equal(n, 300);
    free(t);
    /* max_duration cuts: every arrival at or before 0.1 s */
    assert_int_equal(tmlp_schedule_generate(3, 1000.0, 0, 5000, 0, 0, 100000000ULL, &t, &n, NULL), TMLP_OK);
    assert_true(n > 50 && n < 200);
    assert_true(t[n - 1] <= 100000000LL);
    free(t);
    /* bad rate */
    tmlp_error e = {0};
    assert_int_equal(tmlp_schedule_generate(3, 0.0, 10, 0, 0, 0, 0, &t, &n, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "target_qps"));
}

static void test_sampler(void **state)
{
    (void)state;
    tmlp_sampler s;
    tmlp_sampler_init(&s, 99, 10, 0);
    int hist[10] = {0};
    for (int i = 0; i < 10000; i++) {
        int64_t k = tmlp_sampler_next(&s);
        assert_true(k >= 0 && k < 10);
        hist[k]++;
    }
    for (int i = 0; i < 10; i++) assert_true(hist[i] > 850 && hist[i] < 1150); /* ~±5 sigma */
    tmlp_sampler_init(&s, 99, 4, 1);
    for (int i = 0; i < 8; i++) assert_int_equal(tmlp_sampler_next(&s), i % 4);
}

/* The digest names the workload: same seeds and settings -> same value (pinned, so a
 * change in the generator shows up here and on every machine), other seeds -> other. */
static void test_digest(void **state)
{
    (void)state;
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.sample_seed = 1;
    s.min_query_count = 100;
    uint64_t d1 = tmlp_workload_digest(&s, 1000, NULL, 0);
    assert_true(d1 == tmlp_workload_digest(&s, 1000, NULL, 0));
    assert_true(d1 == 0xf2680d9294c34f2bULL);
    s.sample_seed = 2;
    assert_true(d1 != tmlp_workload_digest(&s, 1000, NULL, 0));
    s.sample_seed = 1;
    s.schedule_seed = 12345; /* irrelevant to single-stream */
    assert_true(d1 == tmlp_workload_digest(&s, 1000, NULL, 0));
    s.scenario = TMLP_SCENARIO_MULTI_STREAM;
    assert_true(d1 != tmlp_workload_digest(&s, 1000, NULL, 0));

    tmlp_bench_settings v = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    int64_t *t = NULL, n = 0;
    assert_int_equal(tmlp_schedule_generate(v.schedule_seed, 2000.0, 0, 500, 0, 0, 0, &t, &n, NULL), TMLP_OK);
    uint64_t ds = tmlp_workload_digest(&v, 1000, t, n);
    assert_true(ds == 0xa2bc31bec33fe14cULL);
    t[n - 1] += 1; /* one nanosecond later */
    assert_true(ds != tmlp_workload_digest(&v, 1000, t, n));
    free(t);
}

static void test_names(void **state)
{
    (void)state;
    const char *names[] = {"single-stream", "multi-stream", "server", "offline"};
    for (int i = 0; i < 4; i++) {
        tmlp_scenario sc;
        assert_string_equal(tmlp_scenario_name((tmlp_scenario)i), names[i]);
        assert_int_equal(tmlp_scenario_parse(names[i], &sc, NULL), TMLP_OK);
        assert_int_equal(sc, i);
    }
    tmlp_scenario sc;
    assert_int_equal(tmlp_scenario_parse("SingleStream", &sc, NULL), TMLP_OK);
    assert_int_equal(sc, TMLP_SCENARIO_SINGLE_STREAM);
    assert_int_equal(tmlp_scenario_parse("stream", &sc, NULL), TMLP_ERR_ARG);
    const char *modes[] = {"performance", "accuracy", "find-peak"};
    for (int i = 0; i < 3; i++) {
        tmlp_mode m;
        assert_string_equal(tmlp_mode_name((tmlp_mode)i), modes[i]);
        assert_int_equal(tmlp_mode_parse(modes[i], &m, NULL), TMLP_OK);
        assert_int_equal(m, i);
    }
    tmlp_mode m;
    assert_int_equal(tmlp_mode_parse("fast", &m, NULL), TMLP_ERR_ARG);
}

static void test_defaults(void **state)
{
    (void)state;
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    assert_int_equal(s.min_duration_ms, 600000);
    assert_int_equal(s.min_query_count, 1024);
    assert_true(s.target_latency_percentile == 0.90);
    s = tmlp_bench_settings_default(TMLP_SCENARIO_MULTI_STREAM);
    assert_int_equal(s.min_query_count, 662);
    assert_true(s.target_latency_percentile == 0.99);
    assert_int_equal(s.samples_per_query, 8);
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    assert_int_equal(s.min_query_count, 270336);
    assert_true(s.target_qps == 1000.0);
    assert_int_equal(s.target_latency_ns, 10000000);
    assert_int_equal(s.max_outstanding_queries, 65536);
    assert_int_equal(s.drain_timeout_ms, 10000);
    s = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    assert_int_equal(s.min_query_count, 1);
    assert_int_equal(s.offline_batch_size, 32);
    assert_int_equal(s.percentile_method, TMLP_PCT_LOADGEN);
    assert_true(s.early_stopping_confidence == 0.99);
}

static void dummy_issue(void *u, tmlp_bench_run *r, const tmlp_query_sample *s, int64_t n)
{
    (void)u;
    (void)r;
    (void)s;
    (void)n;
}

/* Bad settings are TMLP_ERR_ARG with a message naming the field; nothing runs. */
static void test_settings_check(void **state)
{
    (void)state;
    tmlp_sut sut = {0};
    sut.sample_count = 10;
    sut.issue = dummy_issue;
    tmlp_error e = {0};
    tmlp_bench_result *r = (tmlp_bench_result *)1;
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.target_qps = 0;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &e), TMLP_ERR_ARG);
    assert_null(r);
    assert_non_null(strstr(e.message, "target_qps"));
    s.target_qps = -5;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &e), TMLP_ERR_ARG);
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.target_latency_percentile = 99.0; /* the percent-vs-fraction trap */
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "target_latency_percentile"));
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.mode = TMLP_MODE_FIND_PEAK;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "find-peak"));
    s = tmlp_bench_settings_default(TMLP_SCENARIO_MULTI_STREAM);
    s.samples_per_query = 0;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "samples_per_query"));
    s = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    s.offline_batch_size = 0;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "offline_batch_size"));
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.max_outstanding_queries = 0;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &e), TMLP_ERR_ARG);
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    assert_int_equal(tmlp_bench_run_scenario(&s, NULL, &r, &e), TMLP_ERR_ARG);
    sut.sample_count = 0;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "sample_count"));
    tmlp_bench_result_destroy(NULL);
}

/* The library refuses what bench_mlp refuses, with the same limits
 * (tinymlp/bench_limits.h), naming the field. 1e300 QPS used to be accepted and grew
 * the schedule without bound. */
static void expect_arg(const tmlp_bench_settings *s, const tmlp_sut *sut, const char *field)
{
    tmlp_bench_result *r = NULL;
    tmlp_error e = {0};
    assert_int_equal(tmlp_bench_run_scenario(s, sut, &r, &e), TMLP_ERR_ARG);
    assert_null(r);
    if (!strstr(e.message, field)) fail_msg("message \"%s\" does not name %s", e.message, field);
}

static void test_settings_limits(void **state)
{
    (void)state;
    tmlp_sut sut = tmlp_null_sut(16);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.target_qps = 1e300;
    expect_arg(&s, &sut, "target_qps");
    s.target_qps = TMLP_BENCH_MAX_TARGET_QPS * 1.0001;
    expect_arg(&s, &sut, "target_qps");
    s.target_qps = NAN;
    expect_arg(&s, &sut, "target_qps");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = (uint64_t)TMLP_BENCH_MAX_DURATION_MS + 1;
    expect_arg(&s, &sut, "min_duration_ms");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.max_duration_ms = UINT64_MAX;
    expect_arg(&s, &sut, "max_duration_ms");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.drain_timeout_ms = (uint64_t)TMLP_BENCH_MAX_DURATION_MS + 1;
    expect_arg(&s, &sut, "drain_timeout_ms");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_query_count = TMLP_BENCH_MAX_QUERY_COUNT + 1;
    expect_arg(&s, &sut, "min_query_count");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.max_query_count = -1;
    expect_arg(&s, &sut, "max_query_count");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.warmup_queries = TMLP_BENCH_MAX_WARMUP + 1;
    expect_arg(&s, &sut, "warmup_queries");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_MULTI_STREAM);
    s.samples_per_query = TMLP_BENCH_MAX_SAMPLES_PER_QUERY + 1;
    expect_arg(&s, &sut, "samples_per_query");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    s.offline_batch_size = TMLP_BENCH_MAX_BATCH + 1;
    expect_arg(&s, &sut, "offline_batch_size");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    s.offline_expected_qps = TMLP_BENCH_MAX_EXPECTED_QPS * 2;
    expect_arg(&s, &sut, "offline_expected_qps");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    s.offline_sample_count = TMLP_BENCH_MAX_OFFLINE_SAMPLES + 1;
    expect_arg(&s, &sut, "offline_sample_count");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.max_outstanding_queries = TMLP_BENCH_MAX_OUTSTANDING + 1;
    expect_arg(&s, &sut, "max_outstanding_queries");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.mode = TMLP_MODE_FIND_PEAK;
    s.find_peak_max_runs = TMLP_BENCH_MAX_PEAK_RUNS + 1;
    expect_arg(&s, &sut, "find_peak_max_runs");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.workers = TMLP_BENCH_MAX_THREADS + 1;
    expect_arg(&s, &sut, "workers");
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.target_latency_percentile = 1.0;
    expect_arg(&s, &sut, "target_latency_percentile");
    tmlp_sut big = tmlp_null_sut((int64_t)TMLP_BENCH_MAX_SUT_SAMPLES + 1);
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    expect_arg(&s, &big, "sample_count");
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* tmlp_sort_doubles against qsort: random, few distinct values, sorted, reversed, equal,
 * and an adversarial "organ pipe" that drives a plain quicksort quadratic (heapsort path). */
static void test_sort_doubles(void **state)
{
    (void)state;
    enum { N = 5000 };
    double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    tmlp_rng rng;
    tmlp_rng_seed(&rng, 7);
    for (int kind = 0; kind < 6; kind++) {
        for (int64_t n = 0; n <= N; n = n < 40 ? n + 1 : n * 3) {
            for (int64_t i = 0; i < n; i++) {
                switch (kind) {
                case 0: a[i] = (double)tmlp_rng_below(&rng, 1000000); break;
                case 1: a[i] = (double)tmlp_rng_below(&rng, 3); break;
                case 2: a[i] = (double)i; break;
                case 3: a[i] = (double)(n - i); break;
                case 4: a[i] = 42.0; break;
                default: a[i] = (double)(i < n / 2 ? i : n - i); break;
                }
            }
            memcpy(b, a, (size_t)n * sizeof *a);
            tmlp_sort_doubles(a, n);
            if (n > 0) qsort(b, (size_t)n, sizeof *b, cmp_d);
            for (int64_t i = 0; i < n; i++)
                if (a[i] != b[i]) fail_msg("kind %d n %lld: [%lld] = %g, expected %g", kind, (long long)n,
                                           (long long)i, a[i], b[i]);
        }
    }
    tmlp_sort_doubles(NULL, 0);
    free(a);
    free(b);
}

/* tmlp_bench_estimate_memory: hand-counted records (src/bench/memory.c, docs/reliability.md). */
static void test_estimate_memory(void **state)
{
    (void)state;
    tmlp_bench_memory_estimate e;
    tmlp_error err = {0};
    /* single-stream without records: 17 B/query; 1 s at an assumed 1e6 queries/s */
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.keep_records = 0;
    s.min_duration_ms = 1000;
    s.min_query_count = 1024;
    s.warmup_queries = 0;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 1e6, &e, &err), TMLP_OK);
    assert_int_equal(e.queries, 1000000);
    assert_int_equal(e.queries_min, 1024);
    assert_true(e.bytes_per_query == 17.0);
    assert_int_equal(e.peak_bytes, 17000000);
    assert_int_equal(e.peak_bytes_min, 17 * 1024);
    assert_int_equal(e.result_bytes, 8000000);
    /* the default rate; max_query_count and max_duration_ms cut it */
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 0, &e, &err), TMLP_OK);
    assert_int_equal(e.queries, (int64_t)TMLP_BENCH_ESTIMATE_QPS);
    s.max_query_count = 5000;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 1e6, &e, &err), TMLP_OK);
    assert_int_equal(e.queries, 5000);
    s.max_query_count = 0;
    s.max_duration_ms = 1;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 1e6, &e, &err), TMLP_OK);
    assert_int_equal(e.queries, 1001); /* 1 ms at 1e6/s, +1 */
    assert_int_equal(e.queries_min, 1001);
    /* keep_records: origin and completion time while running, 4 arrays in the result */
    s.max_duration_ms = 0;
    s.keep_records = 1;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 1e6, &e, &err), TMLP_OK);
    assert_true(e.bytes_per_query == 49.0);
    assert_int_equal(e.result_bytes, 32000000);

    /* server: 10 s at 1000 QPS = 10001 arrivals (> min_query_count); 25 B of records + 8 of schedule */
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.keep_records = 0;
    s.target_qps = 1000;
    s.min_duration_ms = 10000;
    s.min_query_count = 100;
    s.warmup_queries = 0;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 1e6, &e, &err), TMLP_OK); /* rate ignored */
    assert_int_equal(e.queries, 10001);
    assert_int_equal(e.queries_min, 10001);
    assert_true(e.bytes_per_query == 33.0);
    assert_int_equal(e.peak_bytes, 10001 * 33);
    assert_int_equal(e.peak_bytes_min, e.peak_bytes);
    s.min_query_count = 50000; /* the count wins over the duration */
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 0, &e, &err), TMLP_OK);
    assert_int_equal(e.queries, 50000);
    /* 1e8 QPS for 30 days: more than any machine holds, no overflow */
    s.target_qps = TMLP_BENCH_MAX_TARGET_QPS;
    s.min_duration_ms = (uint64_t)TMLP_BENCH_MAX_DURATION_MS;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 0, &e, &err), TMLP_OK);
    assert_true(e.peak_bytes_min > (uint64_t)8e15 && e.peak_bytes_min < UINT64_MAX);
    /* accuracy: every sample once, plus 4 B of prediction each */
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.mode = TMLP_MODE_ACCURACY;
    s.keep_records = 0;
    s.warmup_queries = 0;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 300, 0, &e, &err), TMLP_OK);
    assert_int_equal(e.queries, 300);
    assert_int_equal(e.peak_bytes, 300 * 33 + 300 * 4);

    /* offline: per sample; warm-up batches count too */
    s = tmlp_bench_settings_default(TMLP_SCENARIO_OFFLINE);
    s.keep_records = 0;
    s.offline_sample_count = 1000;
    s.offline_batch_size = 32;
    s.warmup_queries = 2;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 0, &e, &err), TMLP_OK);
    assert_int_equal(e.queries, 3);
    assert_true(e.bytes_per_query == 17.0);
    assert_int_equal(e.peak_bytes, (1000 + 64) * 17);

    /* bad arguments */
    assert_int_equal(tmlp_bench_estimate_memory(NULL, 100, 0, &e, &err), TMLP_ERR_ARG);
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 0, NULL, &err), TMLP_ERR_ARG);
    assert_int_equal(tmlp_bench_estimate_memory(&s, 0, 0, &e, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "sample_count"));
    s.scenario = (tmlp_scenario)9;
    assert_int_equal(tmlp_bench_estimate_memory(&s, 100, 0, &e, &err), TMLP_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_rate),    cmocka_unit_test(test_schedule_is_poisson),
        cmocka_unit_test(test_schedule_deterministic), cmocka_unit_test(test_schedule_length),
        cmocka_unit_test(test_sampler),          cmocka_unit_test(test_digest),
        cmocka_unit_test(test_names),            cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_settings_check),   cmocka_unit_test(test_settings_limits),
        cmocka_unit_test(test_sort_doubles),     cmocka_unit_test(test_estimate_memory),
        cmocka_unit_test(test_own_threads_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
