/* test_harness_server.c — the server scenario (open loop) and find-peak against the
 * scripted fake SUT: queueing delay is measured (M/D/1), latency starts at the scheduled
 * time, overload and lost samples end on time as INVALID (an overloaded run stops issuing
 * once it cannot be VALID, by query counts), late completions are safe.
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
#include "fake_sut.h"
#include "tinymlp/bench.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static tmlp_bench_settings server_settings(double qps, int64_t n)
{
    tmlp_bench_settings s = fake_settings(TMLP_SCENARIO_SERVER, n);
    s.target_qps = qps;
    s.target_latency_ns = 1000 * MS;
    return s;
}

/* Find-peak from `qps`, trials of n queries, bound at p90, at most `outstanding` queries in
 * flight (so an overloaded trial fails fast) and a 500 ms drain. */
static tmlp_bench_settings find_peak_settings(double qps, int64_t n, uint64_t bound_ns,
                                              int64_t outstanding)
{
    tmlp_bench_settings s = server_settings(qps, n);
    s.mode = TMLP_MODE_FIND_PEAK;
    s.target_latency_ns = bound_ns;
    s.target_latency_percentile = 0.90;
    s.max_outstanding_queries = outstanding;
    s.drain_timeout_ms = 500;
    return s;
}

/* Mean waiting time of an ideal FIFO single server with fixed service D on arrivals t[]:
 * Lindley's recursion W[0] = 0, W[i] = max(0, W[i-1] + D - (t[i] - t[i-1])). */
static double lindley_mean_wait(const int64_t *t, int64_t n, double D)
{
    double w = 0, sum = 0;
    for (int64_t i = 1; i < n; i++) {
        w = w + D - (double)(t[i] - t[i - 1]);
        if (w < 0) w = 0;
        sum += w;
    }
    return sum / (double)n;
}

/* The schedule is a Poisson process: an ideal M/D/1 queue fed by 200,000 of its arrivals
 * at 80% load waits Wq = ρ D / (2(1-ρ)) = ρ/(2μ(1-ρ)) on average, within 5% (no clock). */
static void test_md1_schedule_theory(void **state)
{
    (void)state;
    const double D = 500e3, qps = 1600.0, rho = qps * D * 1e-9;
    int64_t *t = NULL, n = 0;
    assert_int_equal(tmlp_schedule_generate(11, qps, 200000, 0, 0, 0, 0, &t, &n, NULL), TMLP_OK);
    double theory = rho * D / (2.0 * (1.0 - rho));
    double w = lindley_mean_wait(t, n, D);
    print_message("M/D/1 rho=%.2f over %lld arrivals: Wq theory %.1f us, Lindley %.1f us\n", rho, (long long)n,
                  theory * 1e-3, w * 1e-3);
    assert_true(fabs(w / theory - 1.0) < 0.05);
    free(t);
}

/* The harness measures that queueing. Fixed service D = 500 us at 80% load (1600 QPS):
 *   - every query's latency is (its completion) - (its SCHEDULED time): checked against
 *     the fake's own completion timestamps (median difference < 20 us), so the queueing
 *     delay and any issue delay are inside the latency (no coordinated omission);
 *   - the mean waiting time (latency - D) is at least 90% of the ideal queue's on this
 *     very schedule (a closed loop would show ~0), and at most 110% of it plus the delays
 *     the machine itself added (the fake thread's mean lateness against its virtual clock
 *     and the mean issue delay, both measured) times 1/(1-ρ): on a quiet machine that is
 *     within ~10% + 20 us; a loaded machine widens only the upper bound;
 *   - the same SUT in a closed loop shows ~0 waiting. */
static void test_md1_queueing(void **state)
{
    (void)state;
    const double D = 500e3, qps = 1600.0, rho = qps * D * 1e-9;
    const int64_t N = 2400;
    fake_sut *f = fake_new(100, (uint64_t)D, N);
    tmlp_bench_settings s = server_settings(qps, N);
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->queries, N);
    assert_int_equal(r->completed_queries, N);

    int64_t *t = NULL, n = 0;
    assert_int_equal(tmlp_schedule_generate(s.schedule_seed, qps, 0, N, 0, N, 0, &t, &n, NULL), TMLP_OK);
    assert_int_equal(n, N);
    int64_t *diff = malloc((size_t)n * sizeof *diff);
    for (int64_t i = 0; i < n; i++) {
        assert_int_equal(r->start_ns[i], t[i]); /* latency origin = the scheduled time */
        int64_t fake_latency = (int64_t)(f->rec_done[i] - r->run_start_ns) - t[i];
        assert_true(r->latencies_ns[i] >= fake_latency);
        diff[i] = r->latencies_ns[i] - fake_latency;
        /* issued before the fake saw it */
        assert_true(r->issue_delay_ns[i] <= (int64_t)(f->rec_arrival[i] - r->run_start_ns) - t[i]);
    }
    qsort(diff, (size_t)n, sizeof *diff, cmp_i64);
    assert_true(diff[n / 2] < 20000); /* median: robust to a few preemptions */
    free(diff);
    double ideal = lindley_mean_wait(t, n, D);
    free(t);
    /* How late the machine let the fake's thread complete (vs its virtual clock). */
    double late = 0;
    for (int64_t i = 0; i < n; i++) late += (double)(f->rec_done[i] - f->rec_due[i]);
    late /= (double)n;

    double measured = r->latency.mean - D;
    double theory = rho * D / (2.0 * (1.0 - rho));
    print_message("M/D/1 rho=%.2f, %lld queries: Wq theory %.1f us, ideal queue on this schedule %.1f us, "
                  "measured %.1f us (issue delay mean %.1f us, SUT thread late by %.1f us on average)\n", rho,
                  (long long)N, theory * 1e-3, ideal * 1e-3, measured * 1e-3, r->issue_delay.mean * 1e-3, late * 1e-3);
    assert_true(measured >= 0.9 * ideal);
    /* Upper bound: within 10% of the ideal queue plus what the machine added (the SUT's
     * lateness and the issue delays, both measured above), which a queue at load ρ
     * amplifies by about 1/(1-ρ): capacity lost while a thread waits for a CPU is made
     * up only at rate 1-ρ. Tight on a quiet machine (~10%), wider on a loaded one. */
    assert_true(measured <= 1.1 * ideal + (late + r->issue_delay.mean) / (1.0 - rho) + 20e3);
    assert_true(r->latency.min >= D);
    assert_true(fabs(r->scheduled_qps / qps - 1.0) < 0.1);
    tmlp_bench_result_destroy(r);

    /* The same SUT in a closed loop: no queue ever forms. */
    tmlp_bench_settings c = fake_settings(TMLP_SCENARIO_SINGLE_STREAM, 200);
    assert_int_equal(tmlp_bench_run_scenario(&c, &f->sut, &r, NULL), TMLP_OK);
    print_message("closed loop on the same SUT: mean wait %.1f us\n", (r->latency.mean - D) * 1e-3);
    assert_true(r->latency.p50 - D < 0.5 * theory);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* Service much slower than arrivals with a small max_outstanding: the run stops issuing
 * at the bound and returns promptly, INVALID "overloaded". */
static void test_overload_ends_on_time(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 5 * MS, 0);
    tmlp_bench_settings s = server_settings(2000.0, 100000);
    s.max_outstanding_queries = 8;
    tmlp_bench_result *r = NULL;
    uint64_t t0 = tmlp_time_now_ns();
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    uint64_t el = tmlp_time_now_ns() - t0;
    assert_true(el < 1000 * MS);
    assert_true(r->overloaded);
    assert_false(r->valid);
    assert_true(has_reason(r, "overloaded: 8 queries outstanding"));
    assert_true(has_reason(r, "reduce target QPS"));
    assert_true(f->issued <= 8 + 1);
    assert_int_equal(r->never_completed, 0); /* 8 x 5 ms drain well inside the timeout */
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* The overload rule's arithmetic, no clock (overload.c). allowed = the most over-bound
 * queries early stopping accepts for the whole schedule: the server's pinned totals
 * 459, 662, 2010, 12571 for t = 0, 1, 10, 100 read backwards. */
static void test_overload_rule_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(tmlp_overload_allowed_late(0.99, 0.99, 458), -1);
    assert_int_equal(tmlp_overload_allowed_late(0.99, 0.99, 459), 0);
    assert_int_equal(tmlp_overload_allowed_late(0.99, 0.99, 661), 0);
    assert_int_equal(tmlp_overload_allowed_late(0.99, 0.99, 662), 1);
    assert_int_equal(tmlp_overload_allowed_late(0.99, 0.99, 2009), 9);
    assert_int_equal(tmlp_overload_allowed_late(0.99, 0.99, 2010), 10);
    assert_int_equal(tmlp_overload_allowed_late(0.99, 0.99, 12571), 100);

    /* six queries scheduled 1 ms apart from t = 0, bound 2 ms, now = 4.5 ms; query 1 has
     * completed: outstanding are 0, 2, 3, 4, 5 (deadlines 2, 4, 5, 6, 7 ms) */
    const int64_t origin[6] = {0, 1 * MS, 2 * MS, 3 * MS, 4 * MS, 5 * MS};
    const int32_t left[6] = {1, 0, 1, 1, 1, 1};
    tmlp_overload o = {.allowed = 2, .late_done = 0, .service_qps = NAN};
    tmlp_overload_scan(&o, origin, left, 0, 6, 2 * MS, 4500 * US);
    assert_int_equal(o.outstanding, 5);
    assert_int_equal(o.late_open, 2);      /* deadlines 2 and 4 ms have passed */
    assert_int_equal(o.late_predicted, 2); /* no measured rate: no prediction */
    assert_int_equal(tmlp_overload_verdict(&o), TMLP_OVERLOAD_NONE); /* 2 <= allowed */
    o.late_done = 1;
    assert_int_equal(tmlp_overload_verdict(&o), TMLP_OVERLOAD_CERTAIN); /* 3 > 2 */
    /* measured 250 samples/s: at twice that, the j-th outstanding finishes at 4.5 + 2j ms:
     * j = 3 (query 3, deadline 5) at 10.5 ms, j = 4 (6) at 12.5, j = 5 (7) at 14.5: all late */
    o.late_done = 0;
    o.service_qps = 250.0;
    tmlp_overload_scan(&o, origin, left, 0, 6, 2 * MS, 4500 * US);
    assert_int_equal(o.late_open, 2);
    assert_int_equal(o.late_predicted, 5);
    assert_int_equal(tmlp_overload_verdict(&o), TMLP_OVERLOAD_PREDICTED);
    /* a fast SUT (1e6/s) finishes them all in time: only the two past deadlines count */
    o.service_qps = 1e6;
    tmlp_overload_scan(&o, origin, left, 0, 6, 2 * MS, 4500 * US);
    assert_int_equal(o.late_predicted, 2);
    assert_int_equal(tmlp_overload_verdict(&o), TMLP_OVERLOAD_NONE);
    /* a run too short for early stopping has no rule to break */
    o.allowed = -1;
    o.late_done = 100;
    assert_int_equal(tmlp_overload_verdict(&o), TMLP_OVERLOAD_NONE);
}

/* Accounting of a run the overload rule stopped: every scheduled query is issued or
 * counted as not issued; every issued sample completed, was cancelled or is counted as
 * never completed. */
static void check_overload_accounting(const tmlp_bench_result *r, const fake_sut *f, int64_t n)
{
    assert_true(r->overloaded);
    assert_false(r->valid);
    assert_int_equal(r->queries + r->unissued_queries, n);
    assert_int_equal(f->issued, r->queries);
    assert_int_equal(f->completed + r->cancelled + r->never_completed, r->queries);
    assert_int_equal(r->completed_queries, f->completed);
    assert_int_equal(r->cancelled, f->cancelled);
    assert_true(r->stopped_at_ns > 0);
    int64_t incomplete = 0;
    for (int64_t i = 0; i < r->n_latencies; i++) incomplete += r->latencies_ns[i] < 0;
    assert_int_equal(incomplete, r->cancelled + r->never_completed);
}

/* The issue's case in miniature: a SUT that serves 200 queries/s offered 2000 QPS for 10 s
 * with a 20 ms bound. Early stopping allows ~170 late queries of 20000, so the run can no
 * longer be VALID a fraction of a second in; it stops issuing then, the SUT cancels its
 * queue, and the SUT computes only the few queries it had started — asserted by counts
 * (a drain of the whole backlog would compute thousands). */
static void test_overload_stops_when_invalid(void **state)
{
    (void)state;
    const int64_t n = 20000;
    fake_sut *f = fake_new(100, 5 * MS, 0);
    tmlp_bench_settings s = server_settings(2000.0, n);
    s.target_latency_ns = 20 * MS;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    print_message("stopped at %.3f s: %lld issued, %lld computed, %lld cancelled, %lld not issued\n",
                  (double)r->stopped_at_ns * 1e-9, (long long)r->queries, (long long)f->completed,
                  (long long)r->cancelled, (long long)r->unissued_queries);
    check_overload_accounting(r, f, n);
    assert_true(has_reason(r, "overloaded: stopped issuing at"));
    assert_true(r->queries < n / 10);       /* stopped in the first second of ten */
    assert_true(r->cancelled > 0);
    assert_true(f->completed < r->queries); /* the backlog was cancelled, not computed */
    assert_int_equal(r->never_completed, 0);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* A SUT without a cancel callback is drained: it computes every sample it was given, none
 * is cancelled or lost — but the issuer still stopped early. */
static void test_overload_without_cancel_drains(void **state)
{
    (void)state;
    const int64_t n = 20000;
    fake_sut *f = fake_new(100, 2 * MS, 0);
    f->sut.cancel = NULL;
    tmlp_bench_settings s = server_settings(5000.0, n);
    s.target_latency_ns = 10 * MS;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    check_overload_accounting(r, f, n);
    assert_int_equal(r->cancelled, 0);
    assert_int_equal(r->never_completed, 0);
    assert_int_equal(f->completed, r->queries);
    assert_true(r->queries < n / 10);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* A long bound (2 s): no deadline passes for two seconds, but the queue grows ~1800
 * queries/s at a measured 200 queries/s, and the rule's prediction (at twice that rate)
 * stops the run long before: by counts, far fewer than the 2 s worth of queries issued. */
static void test_overload_predicted(void **state)
{
    (void)state;
    const int64_t n = 20000;
    fake_sut *f = fake_new(100, 5 * MS, 0);
    tmlp_bench_settings s = server_settings(2000.0, n);
    s.target_latency_ns = 2000 * MS;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    print_message("predicted: stopped at %.3f s, %lld issued, %lld computed, service %.0f/s\n",
                  (double)r->stopped_at_ns * 1e-9, (long long)r->queries, (long long)f->completed, r->service_qps);
    check_overload_accounting(r, f, n);
    assert_true(has_reason(r, "even at twice the SUT's measured"));
    assert_true(r->queries < 4000); /* 2 s of the schedule: the certain rule's earliest stop */
    assert_true(isfinite(r->service_qps) && r->service_qps > 0);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* Healthy runs are never cut short: 70% load with a bound the queue never reaches, and
 * the same with the rule off — every scheduled query issued and completed, nothing
 * cancelled. */
static void test_overload_spares_healthy_runs(void **state)
{
    (void)state;
    const int64_t n = 700; /* early stopping allows 1 late query: the rule is armed */
    fake_sut *f = fake_new(100, 350 * US, 0);
    for (int rule = 1; rule >= 0; rule--) {
        tmlp_bench_settings s = server_settings(2000.0, n);
        s.target_latency_ns = 200 * MS;
        s.overload_stop = rule;
        tmlp_bench_result *r = NULL;
        int64_t issued0 = f->issued;
        assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
        assert_false(r->overloaded);
        assert_int_equal(r->queries, n);
        assert_int_equal(r->unissued_queries, 0);
        assert_int_equal(r->cancelled, 0);
        assert_int_equal(r->completed_queries, n);
        assert_int_equal(r->stopped_at_ns, 0);
        assert_int_equal(f->issued - issued0, n);
        tmlp_bench_result_destroy(r);
    }
    assert_int_equal(f->cancelled, 0);
    fake_free(f);
}

/* overload_stop = 0 is LoadGen's behaviour: the whole schedule is issued (here a short
 * one, drained), however late. */
static void test_overload_rule_off(void **state)
{
    (void)state;
    const int64_t n = 700; /* early stopping allows 1 late query */
    fake_sut *f = fake_new(100, 500 * US, 0);
    tmlp_bench_settings s = server_settings(5000.0, n);
    s.target_latency_ns = 2 * MS;
    s.overload_stop = 0;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_false(r->overloaded);
    assert_int_equal(r->queries, n);
    assert_int_equal(f->completed, n);
    assert_false(r->valid);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* A SUT that loses every sample: the run ends drain_timeout_ms after the last issue,
 * INVALID, each lost sample an error. No hang. */
static void test_never_completes(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 0, 0);
    f->never_from = 0;
    tmlp_bench_settings s = server_settings(1000.0, 50);
    s.drain_timeout_ms = 100;
    tmlp_bench_result *r = fake_run_stalled(&s, f);
    assert_int_equal(r->never_completed, 50);
    assert_int_equal(r->errors, 50);
    assert_int_equal(r->completed_queries, 0);
    assert_true(has_reason(r, "50 samples never completed"));
    assert_int_equal(r->latency.count, 0);
    assert_int_equal(r->n_sample_done, 50);
    for (int64_t i = 0; i < 50; i++) assert_true(r->sample_done_ns[i] == -1);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* Without a drain callback, completions that arrive after the run returned land on the
 * still-allocated run object, which the last one frees (ASan checks both). */
static void test_late_completions_without_drain(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 100 * MS, 0);
    f->sut.drain = NULL;
    tmlp_bench_settings s = server_settings(1000.0, 3);
    s.drain_timeout_ms = 20;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->never_completed, 3);
    assert_false(r->valid);
    tmlp_bench_result_destroy(r);
    /* wait for the fake to complete the three samples (300 ms) */
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&f->mu);
        int64_t done = f->completed;
        pthread_mutex_unlock(&f->mu);
        if (done == 3) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(f->completed, 3);
    fake_free(f);
}

/* A late arrival is issued at once, never skipped: the first issue call blocks 20 ms, so
 * the ~40 queries scheduled meanwhile go out late, back to back; their issue delay is
 * recorded and is part of their latency; the issuer then catches up. */
static void test_late_issue(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 0, 0);
    f->first_issue_block_ns = 20 * MS;
    tmlp_bench_settings s = server_settings(2000.0, 200);
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(f->issued, 200);
    assert_int_equal(r->queries, 200);
    int64_t late = 0;
    for (int64_t i = 0; i < r->n_latencies; i++) {
        assert_true(r->latencies_ns[i] >= r->issue_delay_ns[i]);
        if (r->start_ns[i] > 0 && r->start_ns[i] < (int64_t)(15 * MS)) {
            late++;
            assert_true(r->issue_delay_ns[i] > (int64_t)(20 * MS) - r->start_ns[i] - (int64_t)(1 * MS));
        }
    }
    assert_true(late > 10);
    assert_true(r->issue_delay.max >= 19e6);
    assert_true(r->issue_delay.p50 < r->issue_delay.max / 2);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* The harness's own server with the null SUT: the duration is the last scheduled time,
 * the completed rate follows the schedule, issue delays are recorded for every query, and
 * the digest depends on the schedule seed only through the schedule. Loose timing bounds:
 * tests share the machine (bench/bench_harness measures the overhead itself). */
static void test_null_server(void **state)
{
    (void)state;
    tmlp_sut sut = tmlp_null_sut(100);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.min_duration_ms = 200;
    s.min_query_count = 100;
    s.target_qps = 5000;
    s.target_latency_ns = 200 * MS; /* loose: the test machine is shared */
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, NULL), TMLP_OK);
    assert_true(r->duration_ns >= 200 * MS);
    /* never faster than the schedule; slower only by the last query's delay (loose: a
     * shared machine can stall it by tens of ms; bench_harness measures it properly) */
    assert_true(r->completed_qps <= r->scheduled_qps * 1.0001);
    assert_true(r->completed_qps > 0.5 * r->scheduled_qps);
    assert_true(fabs(r->scheduled_qps / 5000.0 - 1.0) < 0.15);
    assert_int_equal(r->issue_delay.count, r->queries);
    assert_true(r->issue_delay.p50 < 1e6);
    assert_true(r->issue_delay.min >= 0);
    assert_int_equal(r->check_latency_bound, 1);
    /* same seeds, same digest (the schedule is generated from settings alone) */
    tmlp_bench_result *r2 = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r2, NULL), TMLP_OK);
    assert_true(r->workload_digest == r2->workload_digest);
    assert_int_equal(r->queries, r2->queries);
    tmlp_bench_result_destroy(r2);
    s.schedule_seed++;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r2, NULL), TMLP_OK);
    assert_true(r->workload_digest != r2->workload_digest);
    tmlp_bench_result_destroy(r2);
    tmlp_bench_result_destroy(r);
}

/* Find-peak: D = 1 ms (capacity 1000 QPS), bound 30 ms at p90, at most 20 queries
 * outstanding (so an overloaded trial fails fast). Asserted: the search's structure
 * (doubling or halving from 300 QPS, then bisection), the answer = the highest VALID trial,
 * the final bracket within the precision, and a peak below twice the capacity (which can
 * never pass). Where exactly the peak falls depends on the machine's noise; it is printed. */
static void test_find_peak(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 1 * MS, 0);
    tmlp_bench_settings s = find_peak_settings(300.0, 150, 30 * MS, 20);
    s.find_peak_precision = 0.1;
    s.find_peak_max_runs = 12;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    double best = 0, fail_above = 0;
    for (int i = 0; i < r->n_peak_trials; i++) {
        print_message("trial %d: %.1f QPS %s\n", i, r->peak_trial_qps[i], r->peak_trial_valid[i] ? "VALID" : "INVALID");
        if (r->peak_trial_valid[i] && r->peak_trial_qps[i] > best) best = r->peak_trial_qps[i];
    }
    for (int i = 0; i < r->n_peak_trials; i++)
        if (!r->peak_trial_valid[i] && r->peak_trial_qps[i] > best &&
            (fail_above == 0 || r->peak_trial_qps[i] < fail_above))
            fail_above = r->peak_trial_qps[i];
    assert_true(r->n_peak_trials >= 3 && r->n_peak_trials <= 12);
    assert_true(r->peak_trial_qps[0] == 300.0);
    assert_true(r->peak_trial_qps[1] == (r->peak_trial_valid[0] ? 600.0 : 150.0));
    assert_int_equal(r->settings.mode, TMLP_MODE_FIND_PEAK);
    assert_true(best > 0);
    assert_true(r->peak_qps == best);
    assert_true(r->valid);
    assert_true(r->settings.target_qps == r->peak_qps);
    assert_true(r->peak_qps < 2000.0);
    assert_true(fail_above > 0);
    assert_true((fail_above - best) / best <= 0.1 || r->n_peak_trials == 12);
    assert_true(strstr(r->peak_note, "converged") || strstr(r->peak_note, "run limit"));
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

/* Find-peak stops at its QPS floor: a 5 ms service can never meet a 1 ms bound, so the
 * search halves 1000 -> 500 -> 250 -> 125, tries the floor (100) once and gives up with
 * no peak, INVALID, saying why; it does not halve on towards 0 QPS. */
static void test_find_peak_floor(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 5 * MS, 0);
    tmlp_bench_settings s = find_peak_settings(1000.0, 20, 1 * MS, 5);
    s.find_peak_max_runs = 20;
    s.find_peak_min_qps = 100.0;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->n_peak_trials, 5);
    const double want[5] = {1000.0, 500.0, 250.0, 125.0, 100.0};
    for (int i = 0; i < 5; i++) {
        assert_true(r->peak_trial_qps[i] == want[i]);
        assert_false(r->peak_trial_valid[i]);
    }
    assert_true(r->peak_qps == 0.0);
    assert_false(r->valid);
    assert_non_null(strstr(r->peak_note, "floor"));
    assert_true(has_reason(r, "none of the 5 trials was VALID"));
    tmlp_bench_result_destroy(r);

    /* the default floor is target_qps / 64 */
    s.find_peak_min_qps = 0.0;
    s.target_qps = 6400.0;
    s.find_peak_max_runs = 3;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->n_peak_trials, 3);
    assert_non_null(strstr(r->peak_note, "run limit"));
    tmlp_bench_result_destroy(r);

    /* a floor above target_qps is a settings error */
    tmlp_error e = {0};
    s.find_peak_min_qps = 7000.0;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "find_peak_min_qps"));
    fake_free(f);
}

/* The time budget: once spent, no new trial starts (the first always runs). */
static void test_find_peak_budget(void **state)
{
    (void)state;
    fake_sut *f = fake_new(100, 5 * MS, 0);
    tmlp_bench_settings s = find_peak_settings(1000.0, 20, 1 * MS, 5);
    s.find_peak_budget_ms = 1;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &f->sut, &r, NULL), TMLP_OK);
    assert_int_equal(r->n_peak_trials, 1);
    assert_non_null(strstr(r->peak_note, "time budget"));
    assert_false(r->valid);
    tmlp_bench_result_destroy(r);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md1_schedule_theory),
        cmocka_unit_test(test_md1_queueing),
        cmocka_unit_test(test_overload_ends_on_time),
        cmocka_unit_test(test_overload_rule_arithmetic),
        cmocka_unit_test(test_overload_stops_when_invalid),
        cmocka_unit_test(test_overload_without_cancel_drains),
        cmocka_unit_test(test_overload_predicted),
        cmocka_unit_test(test_overload_spares_healthy_runs),
        cmocka_unit_test(test_overload_rule_off),
        cmocka_unit_test(test_never_completes),
        cmocka_unit_test(test_late_completions_without_drain),
        cmocka_unit_test(test_late_issue),
        cmocka_unit_test(test_null_server),
        cmocka_unit_test(test_find_peak),
        cmocka_unit_test(test_find_peak_floor),
        cmocka_unit_test(test_find_peak_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
