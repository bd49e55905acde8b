/* validity.c — is a run's result VALID, and if not, why and what to change.
 *
 * The four checks (docs/harness.md; each is Yes/No, or TMLP_CHECK_NA where it does not apply):
 *   min_duration   duration_ns >= min_duration_ms, where the duration is what the scenario
 *                  measures: last issue (single/multi), last SCHEDULED arrival (server),
 *                  last completion (offline).
 *   min_queries    measured queries >= min_query_count; offline: measured SAMPLES (LoadGen
 *                  maps the offline minimum to the samples of its one query).
 *   latency_bound  server only: the latency at target_latency_percentile (by the run's
 *                  percentile method) <= target_latency_ns.
 *   early_stopping LoadGen's post-hoc confidence check with p = target_latency_percentile
 *                  and c = early_stopping_confidence. Each query is a Bernoulli trial
 *                  "under the latency"; h(t) = the fewest under-latency queries with
 *                  I_p(h, t+1) <= 1 - c (tinymlp/stats.h).
 *                  single/multi: needs q >= h(1) + 1; t = the largest i with q >= h(i) + i;
 *                    the estimate is sorted[q - t] (drop the t-1 slowest, report the max).
 *                    Single-stream also gets LoadGen's second estimate at p = 0.99
 *                    (es_estimate_p99_ns; needs 662 queries; informational, not a check).
 *                  server: t = queries over target_latency_ns (never-completed ones count
 *                    as over); passes iff q >= h(t) + t.
 * VALID iff every applicable check is Yes and nothing else went wrong (interrupt,
 * overload — the issuer stopped at max_outstanding_queries or by the overload rule of
 * overload.c —, samples that never completed, completion errors). Accuracy mode measures
 * correctness, not performance: its duration, count and latency checks are NA and it is
 * VALID iff every sample completed exactly once.
 */
#include "harness_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

void tmlp_bench_add_reason(tmlp_bench_result *r, const char *fmt, ...)
{
    if (r->n_reasons >= TMLP_MAX_REASONS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reasons[r->n_reasons], sizeof r->reasons[0], fmt, ap);
    va_end(ap);
    r->n_reasons++;
}

tmlp_latency_summary tmlp_bench_summarize(const double *sorted, int64_t n, tmlp_percentile_method m)
{
    tmlp_latency_summary s;
    s.count = n;
    if (n < 1) {
        s.min = s.max = s.mean = s.p50 = s.p90 = s.p95 = s.p97 = s.p99 = s.p999 = NAN;
        return s;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += sorted[i];
    s.min = sorted[0];
    s.max = sorted[n - 1];
    s.mean = sum / (double)n;
    s.p50 = tmlp_stats_percentile_sorted(sorted, n, 0.50, m);
    s.p90 = tmlp_stats_percentile_sorted(sorted, n, 0.90, m);
    s.p95 = tmlp_stats_percentile_sorted(sorted, n, 0.95, m);
    s.p97 = tmlp_stats_percentile_sorted(sorted, n, 0.97, m);
    s.p99 = tmlp_stats_percentile_sorted(sorted, n, 0.99, m);
    s.p999 = tmlp_stats_percentile_sorted(sorted, n, 0.999, m);
    return s;
}

/* "1.234 ms" style, for sentences. */
static void fmt_ns(char *buf, size_t cap, double ns)
{
    if (!isfinite(ns)) snprintf(buf, cap, "n/a");
    else if (ns >= 1e9) snprintf(buf, cap, "%.3f s", ns * 1e-9);
    else if (ns >= 1e6) snprintf(buf, cap, "%.3f ms", ns * 1e-6);
    else if (ns >= 1e3) snprintf(buf, cap, "%.3f us", ns * 1e-3);
    else snprintf(buf, cap, "%.0f ns", ns);
}

/* English ordinal suffix: 90 -> "th", 1 -> "st", 2 -> "nd", 3 -> "rd", 13 -> "th". */
static const char *ordinal(int n)
{
    if (n % 100 >= 11 && n % 100 <= 13) return "th";
    switch (n % 10) {
    case 1: return "st";
    case 2: return "nd";
    case 3: return "rd";
    default: return "th";
    }
}

/* "90th", "99.9th" for a fraction p. */
static void pct_label(char *buf, size_t cap, double p)
{
    double v = p * 100.0;
    long r = lround(v);
    if (fabs(v - (double)r) < 1e-9) snprintf(buf, cap, "%ld%s", r, ordinal((int)r));
    else snprintf(buf, cap, "%gth", v);
}

/* Number of values > bound in an ascending array (binary search). */
static int64_t count_over(const double *sorted, int64_t n, double bound)
{
    int64_t lo = 0, hi = n; /* first index with sorted[i] > bound */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] > bound) hi = mid;
        else lo = mid + 1;
    }
    return n - lo;
}

static void check_early_stopping(tmlp_bench_result *r, const double *sorted, int64_t n,
                                 const tmlp_bench_outcome *o)
{
    const tmlp_bench_settings *s = &r->settings;
    double p = s->target_latency_percentile, c = s->early_stopping_confidence;
    char pct[24];
    pct_label(pct, sizeof pct, p);
    r->es_percentile = p;
    r->es_estimate_ns = NAN;
    char est[32], bound[32];

    if (s->scenario == TMLP_SCENARIO_SERVER) {
        int64_t q = n + o->incomplete_queries;
        int64_t t = count_over(sorted, n, (double)s->target_latency_ns) + o->incomplete_queries;
        int64_t need = tmlp_early_stop_server_queries_needed(p, c, t);
        r->es_min_queries = tmlp_early_stop_server_queries_needed(p, c, 0);
        r->es_overlatency_queries = t;
        int pass = tmlp_early_stop_server_pass(p, c, q, t) == 1;
        r->check_early_stopping = pass;
        fmt_ns(bound, sizeof bound, (double)s->target_latency_ns);
        snprintf(r->es_text, sizeof r->es_text,
                 "Early stopping: %lld of %lld queries over the %s bound; %lld queries are needed to show "
                 "the %s percentile meets it with %.0f%% confidence: %s.",
                 (long long)t, (long long)q, bound, (long long)need, pct,
                 c * 100.0, pass ? "met" : "NOT met");
        if (!pass) {
            if (need > 0 && t * 20 < q)
                tmlp_bench_add_reason(r, "early stopping not met: %lld queries over the latency bound need "
                                      ">= %lld queries, have %lld: run longer (raise min_query_count)",
                                      (long long)t, (long long)need, (long long)q);
            else
                tmlp_bench_add_reason(r, "early stopping not met: %lld of %lld queries over the latency bound "
                                      "(need >= %lld queries): reduce target QPS",
                                      (long long)t, (long long)q, (long long)need);
        }
        return;
    }

    int64_t need = tmlp_early_stop_min_queries(p, c);
    r->es_min_queries = need;
    if (need < 0 || n < need) {
        r->check_early_stopping = 0;
        r->es_overlatency_queries = 0;
        snprintf(r->es_text, sizeof r->es_text,
                 "Early stopping: %lld queries are too few for a %s-percentile latency estimate with "
                 "%.0f%% confidence; at least %lld are needed.",
                 (long long)n, pct, c * 100.0, (long long)need);
        tmlp_bench_add_reason(r, "early stopping not met: run longer: need >= %lld queries for early "
                              "stopping, have %lld", (long long)need, (long long)n);
        return;
    }
    int64_t t = tmlp_early_stop_overlatency_allowed(p, c, n);
    r->es_overlatency_queries = t;
    int64_t pos = n - t;
    if (pos > n - 1) pos = n - 1;
    if (pos < 0) pos = 0;
    r->es_estimate_ns = sorted[pos];
    r->check_early_stopping = 1;
    if (s->scenario == TMLP_SCENARIO_SINGLE_STREAM) {
        /* LoadGen's single-stream summary also gives the p99 early-stopping estimate. */
        int64_t need99 = tmlp_early_stop_min_queries(0.99, c);
        r->es_p99_min_queries = need99;
        if (need99 > 0 && n >= need99) {
            int64_t t99 = tmlp_early_stop_overlatency_allowed(0.99, c, n);
            int64_t pos99 = n - t99;
            if (pos99 > n - 1) pos99 = n - 1;
            if (pos99 < 0) pos99 = 0;
            r->es_estimate_p99_ns = sorted[pos99];
        }
    }
    fmt_ns(est, sizeof est, r->es_estimate_ns);
    snprintf(r->es_text, sizeof r->es_text,
             "Early stopping: %lld queries give a %s-percentile latency estimate of %s with %.0f%% "
             "confidence (%lld %s may exceed it).",
             (long long)n, pct, est, c * 100.0, (long long)t, t == 1 ? "query" : "queries");
}

/* Why an overloaded server run stopped, with the numbers (overload.c): the rule that
 * fired, the late queries against what early stopping allows, the backlog and the SUT's
 * measured rate — so the reader knows how far below target_qps to go. */
static void overload_reason(tmlp_bench_result *r, const tmlp_bench_outcome *o)
{
    const tmlp_bench_settings *s = &r->settings;
    const tmlp_overload *v = &o->overload;
    char bound[32], rate[96] = "";
    fmt_ns(bound, sizeof bound, (double)s->target_latency_ns);
    if (isfinite(v->service_qps))
        snprintf(rate, sizeof rate, " (the SUT completed %.0f samples/s while busy)", v->service_qps);
    if (o->overload_rule == TMLP_OVERLOAD_CERTAIN)
        tmlp_bench_add_reason(r, "overloaded: stopped issuing at %.3f s: %lld queries already over the %s bound "
                              "(%lld completed late, %lld waiting past it), more than the %lld early stopping "
                              "allows for %lld queries; %lld outstanding: reduce target QPS%s", o->overload_at_s,
                              (long long)(v->late_done + v->late_open), bound, (long long)v->late_done,
                              (long long)v->late_open, (long long)v->allowed, (long long)o->overload_total,
                              (long long)v->outstanding, rate);
    else if (o->overload_rule == TMLP_OVERLOAD_PREDICTED)
        tmlp_bench_add_reason(r, "overloaded: stopped issuing at %.3f s: the %lld queries outstanding need "
                              "%.3f s even at twice the SUT's measured %.0f samples/s, so %lld will exceed the %s "
                              "bound (%lld completed late already), more than the %lld early stopping allows for "
                              "%lld queries: reduce target QPS", o->overload_at_s, (long long)v->outstanding,
                              (double)v->outstanding / (2.0 * v->service_qps), v->service_qps,
                              (long long)v->late_predicted, bound, (long long)v->late_done, (long long)v->allowed,
                              (long long)o->overload_total);
    else
        tmlp_bench_add_reason(r, "overloaded: %lld queries outstanding at %.3f s (max_outstanding_queries = %lld): "
                              "reduce target QPS", (long long)o->overload_outstanding, o->overload_at_s,
                              (long long)s->max_outstanding_queries);
}

void tmlp_bench_validate(tmlp_bench_result *r, const double *sorted, int64_t n, const tmlp_bench_outcome *o)
{
    const tmlp_bench_settings *s = &r->settings;
    int accuracy = s->mode == TMLP_MODE_ACCURACY;
    char a[32], b[32];

    r->check_min_duration = TMLP_CHECK_NA;
    r->check_min_queries = TMLP_CHECK_NA;
    r->check_latency_bound = TMLP_CHECK_NA;
    r->check_early_stopping = TMLP_CHECK_NA;
    r->es_percentile = s->target_latency_percentile;
    r->es_min_queries = 0;
    r->es_overlatency_queries = 0;
    r->es_estimate_ns = NAN;
    r->es_text[0] = '\0';

    if (o->interrupted) tmlp_bench_add_reason(r, "interrupted: the run was stopped before its end");
    if (o->overloaded) overload_reason(r, o);
    if (o->cancel_error[0])
        tmlp_bench_add_reason(r, "the SUT's cancel callback failed (%.120s): its queued samples were waited for "
                              "instead: fix the SUT", o->cancel_error);
    char stall[32];
    fmt_ns(stall, sizeof stall, (double)(o->stall_ns ? o->stall_ns : s->drain_timeout_ms * 1000000ULL));
    if (o->stalled)
        tmlp_bench_add_reason(r, "a query did not complete and the SUT completed nothing for %s (the stall "
                              "bound: max(drain_timeout_ms, 20 x its mean completion interval)): the SUT "
                              "stalled; fix the SUT (or raise drain_timeout_ms)", stall);
    if (o->never_completed > 0 && o->interrupted)
        tmlp_bench_add_reason(r, "%lld samples were not completed when the run was interrupted",
                              (long long)o->never_completed);
    else if (o->never_completed > 0)
        tmlp_bench_add_reason(r, "%lld samples never completed: the SUT completed nothing for %s after the "
                              "last issue (the stall bound): the SUT lost them or is stuck",
                              (long long)o->never_completed, stall);
    if (accuracy && r->nonfinite > 0)
        tmlp_bench_add_reason(r, "%lld of %lld samples gave non-finite outputs (NaN or Inf), counted as errors: "
                              "the model or its inputs are broken", (long long)r->nonfinite,
                              (long long)r->samples);
    int64_t bad = r->errors - o->never_completed - (accuracy ? r->nonfinite : 0);
    if (bad > 0)
        tmlp_bench_add_reason(r, "%lld completions with an unknown or repeated id: fix the SUT", (long long)bad);

    if (!accuracy) {
        uint64_t min_ns = s->min_duration_ms * 1000000ULL;
        r->check_min_duration = r->duration_ns >= min_ns;
        if (!r->check_min_duration && !o->overloaded) { /* an overload stop cut it: said above */
            fmt_ns(a, sizeof a, (double)r->duration_ns);
            fmt_ns(b, sizeof b, (double)min_ns);
            if (s->scenario == TMLP_SCENARIO_OFFLINE)
                tmlp_bench_add_reason(r, "min duration not met: %lld samples took %s < %s: the SUT is faster "
                                      "than expected; raise offline_expected_qps to at least %.0f (measured "
                                      "%.0f samples/s) or set offline_sample_count", (long long)r->samples, a, b,
                                      r->throughput_samples_per_s, r->throughput_samples_per_s);
            else
                tmlp_bench_add_reason(r, "min duration not met: %s < %s: run longer (raise or clear "
                                      "max_duration_ms / max_query_count)", a, b);
        }
        if (s->scenario == TMLP_SCENARIO_OFFLINE) {
            r->check_min_queries = r->samples >= s->min_query_count;
            if (!r->check_min_queries)
                tmlp_bench_add_reason(r, "min sample count not met: %lld < %lld samples in the offline query: "
                                      "raise offline_sample_count or offline_expected_qps",
                                      (long long)r->samples, (long long)s->min_query_count);
        } else {
            r->check_min_queries = r->queries >= s->min_query_count;
        }
        if (!r->check_min_queries && s->scenario != TMLP_SCENARIO_OFFLINE && !o->overloaded)
            tmlp_bench_add_reason(r, "min query count not met: %lld < %lld: run longer (raise or clear "
                                  "max_query_count / max_duration_ms)", (long long)r->queries,
                                  (long long)s->min_query_count);
        if (s->scenario == TMLP_SCENARIO_SERVER) {
            double lat = n > 0 ? tmlp_stats_percentile_sorted(sorted, n, s->target_latency_percentile,
                                                              s->percentile_method)
                               : NAN;
            r->check_latency_bound = n > 0 && o->incomplete_queries == 0 && lat <= (double)s->target_latency_ns;
            if (!r->check_latency_bound) {
                fmt_ns(a, sizeof a, lat);
                fmt_ns(b, sizeof b, (double)s->target_latency_ns);
                tmlp_bench_add_reason(r, "latency bound not met: p%g latency %s > %s: reduce target QPS "
                                      "(or raise target_latency_ns)", s->target_latency_percentile * 100.0, a, b);
            }
        }
        if (s->scenario != TMLP_SCENARIO_OFFLINE) check_early_stopping(r, sorted, n, o);
    }

    r->valid = r->n_reasons == 0 && r->check_min_duration != 0 && r->check_min_queries != 0 &&
               r->check_latency_bound != 0 && r->check_early_stopping != 0;
}
