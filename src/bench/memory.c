/* memory.c — how much memory a run will keep, from its settings alone.
 *
 * The byte counts follow the records of harness.c (struct tmlp_bench_run, build_result),
 * per query of k samples (k = samples_per_query for multi-stream, else 1); docs/reliability.md
 * has the table:
 *   while the run goes:   latency/origin 8, samples left 4, per sample index 4 + done 1;
 *                         server: actual issue time 8; keep_records: origin 8, per sample
 *                         completion time 8; accuracy multi-stream (a short last query):
 *                         first sample id 8.
 *   building the result:  the latency array 8 + its sorted copy 8 + done flags k; server:
 *                         issue times 8; keep_records: origin 8 + start 8 + samples 8 +
 *                         per sample 8 + 8, server issue delay 8.
 *   the server schedule:  8 per planned arrival, for the whole run.
 *   offline (per sample): index 4 + done 1 + completion 8 while running; per-sample
 *                         latencies 8 + completion 8 + done 1 (+ keep_records 8) at the end.
 * The peak is the larger of the two phases. Warm-up queries are recorded like measured ones
 * while the run goes. Accuracy mode keeps 4 bytes of prediction per data set sample.
 */
#include "harness_internal.h"
#include "internal.h"

#include <math.h>

static uint64_t to_bytes(double b)
{
    if (!(b > 0.0)) return 0;
    return b >= 1.8e19 ? UINT64_MAX : (uint64_t)ceil(b);
}

static double min_d(double a, double b) { return a < b ? a : b; }
static double max_d(double a, double b) { return a > b ? a : b; }

tmlp_status tmlp_bench_estimate_memory(const tmlp_bench_settings *s, int64_t sample_count, double closed_loop_qps,
                                       tmlp_bench_memory_estimate *out, tmlp_error *err)
{
    if (!s || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: estimate_memory: NULL settings or out");
    if (sample_count < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: estimate_memory: sample_count must be >= 1 (got %lld)",
                              (long long)sample_count);
    if ((unsigned)s->scenario > TMLP_SCENARIO_OFFLINE)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: estimate_memory: unknown scenario %d", (int)s->scenario);
    *out = (tmlp_bench_memory_estimate){0};

    int server = s->scenario == TMLP_SCENARIO_SERVER;
    int accuracy = s->mode == TMLP_MODE_ACCURACY;
    int rec = s->keep_records != 0;
    double k = s->scenario == TMLP_SCENARIO_MULTI_STREAM && s->samples_per_query > 1 ? (double)s->samples_per_query
                                                                                     : 1.0;
    double warm = s->warmup_queries > 0 ? (double)s->warmup_queries : 0.0;
    double min_s = (double)s->min_duration_ms * 1e-3, max_s = (double)s->max_duration_ms * 1e-3;
    double want = s->min_query_count > 1 ? (double)s->min_query_count : 1.0;
    if (s->max_query_count > 0) want = min_d(want, (double)s->max_query_count);
    double pred = accuracy ? 4.0 * (double)sample_count : 0.0;

    if (s->scenario == TMLP_SCENARIO_OFFLINE) {
        double n = (double)tmlp_workload_offline_samples(s, sample_count);
        double per = max_d(13.0, 17.0 + 8.0 * rec);
        double b = s->offline_batch_size > 0 ? (double)s->offline_batch_size : 1.0;
        double peak = (n + warm * b) * per + pred;
        out->queries = out->queries_min = 1 + (int64_t)warm;
        out->bytes_per_query = per; /* per sample: the query is one */
        out->peak_bytes = out->peak_bytes_min = to_bytes(peak);
        out->result_bytes = to_bytes(8.0 * rec * n + pred);
        return TMLP_OK;
    }

    /* measured queries: at most (nq) and at least (nq_min); sched = planned arrivals */
    double nq, nq_min, sched = 0.0;
    if (accuracy) {
        nq = nq_min = ceil((double)sample_count / k);
        if (server) sched = nq;
    } else if (server) {
        /* arrivals until both minimums are met, cut at the maximums (schedule.c) */
        double n = max_d(want, floor(s->target_qps * min_s) + 1.0);
        if (s->max_query_count > 0) n = min_d(n, (double)s->max_query_count);
        if (max_s > 0) n = min_d(n, floor(s->target_qps * max_s) + 1.0);
        sched = n;
        double stride = s->schedule_stride > 1 ? (double)s->schedule_stride : 1.0;
        nq = nq_min = ceil(n / stride);
    } else {
        double r = closed_loop_qps > 0.0 && isfinite(closed_loop_qps) ? closed_loop_qps : TMLP_BENCH_ESTIMATE_QPS;
        nq = max_d(want, ceil(r * min_s));
        nq_min = want;
        if (s->max_query_count > 0) nq = min_d(nq, (double)s->max_query_count);
        if (max_s > 0) {
            nq = min_d(nq, ceil(r * max_s) + 1.0);
            nq_min = min_d(nq_min, nq);
        }
    }

    double first = accuracy && k > 1.0 ? 8.0 : 0.0;
    double running = 12.0 + 5.0 * k + 8.0 * server + rec * (8.0 + 8.0 * k) + first;
    double building = 16.0 + k + 8.0 * server + rec * (16.0 + 16.0 * k + 8.0 * server) + first;
    double per = max_d(running, building);
    double fixed = 8.0 * sched + pred;
    out->queries = (int64_t)min_d(nq + warm, 9e18);
    out->queries_min = (int64_t)min_d(nq_min + warm, 9e18);
    out->bytes_per_query = per + (nq > 0 ? 8.0 * sched / nq : 0.0);
    out->peak_bytes = to_bytes((nq + warm) * per + fixed);
    out->peak_bytes_min = to_bytes((nq_min + warm) * per + fixed);
    out->result_bytes = to_bytes(nq * (8.0 + rec * (16.0 + 8.0 * k + 8.0 * server)) + pred);
    return TMLP_OK;
}
