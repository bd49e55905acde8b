/* bench_harness.c — the harness's own overhead, measured with tmlp_null_sut (a SUT that
 * completes every sample inside `issue`), so every nanosecond reported is the harness's.
 *
 *   single-stream: latency = completion timestamp - issue timestamp of a query that does
 *     nothing (two clock reads, the run's bookkeeping and the completion lock), and the
 *     wall time per query of the whole closed loop (duration / queries).
 *   server at --qps (default 10,000): completed QPS vs scheduled QPS, latency from the
 *     scheduled time (the issuer's oversleep is all of it) and the issue delay.
 *
 * The server line also reports the CPU time the issuing thread used (getrusage of this
 * thread): a harness that spins for its arrivals takes that CPU from the SUT.
 *
 * Before the server run a 1 s probe reports how much CPU a spinning thread really gets:
 * on a shared machine the scheduler's millisecond gaps dominate every tail.
 *
 * Usage: bench_harness [--queries N] [--qps Q] [--seconds S]
 * Targets: single-stream p50 overhead < 1 us; server completed QPS within 1% of
 * scheduled and p99 latency < 50 us at 10,000 QPS.
 */
#include "tinymlp/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* How much of the CPU a spinning thread actually gets: on a shared machine the scheduler
 * takes it away in millisecond chunks, and those gaps land in every tail figure below.
 * Spin for `ns` reading the clock; count the gaps longer than 50 us. */
static void cpu_probe(uint64_t ns)
{
    uint64_t start = tmlp_time_now_ns(), prev = start, lost = 0, gaps = 0, max_gap = 0;
    while (prev - start < ns) {
        uint64_t t = tmlp_time_now_ns();
        if (t - prev > 50000) {
            lost += t - prev;
            gaps++;
            if (t - prev > max_gap) max_gap = t - prev;
        }
        prev = t;
    }
    printf("CPU probe: a spinning thread lost %.1f%% of %.1f s in %llu gaps > 50 us (longest %.2f ms)%s\n\n",
           100.0 * (double)lost / (double)ns, (double)ns * 1e-9, (unsigned long long)gaps, (double)max_gap * 1e-6,
           lost * 100 > ns ? ": the machine is shared, expect its gaps in the tails" : "");
}

/* CPU time (user + system) of the calling thread, ns; 0 if unknown. */
static uint64_t thread_cpu_ns(void)
{
#ifdef RUSAGE_THREAD
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) == 0)
        return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
               (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
#endif
    return 0;
}

static int run(const tmlp_bench_settings *s, tmlp_bench_result **r)
{
    tmlp_sut sut = tmlp_null_sut(1024);
    tmlp_error err = {0};
    if (tmlp_bench_run_scenario(s, &sut, r, &err) != TMLP_OK) {
        fprintf(stderr, "bench_harness: %s\n", err.message);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int64_t queries = 1000000;
    double qps = 10000.0, seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--queries") && i + 1 < argc) queries = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--qps") && i + 1 < argc) qps = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_harness [--queries N (1000000)] [--qps Q (10000)] [--seconds S (2)]\n");
            return 2;
        }
    }
    if (queries < 64 || qps <= 0 || seconds <= 0) {
        fprintf(stderr, "bench_harness: need --queries >= 64, --qps > 0, --seconds > 0\n");
        return 2;
    }

    tmlp_bench_result *r = NULL;
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 0;
    s.min_query_count = queries;
    s.max_query_count = queries;
    s.warmup_queries = 1000;
    if (run(&s, &r)) return 1;
    printf("harness overhead (null SUT), percentiles by the loadgen method\n\n");
    printf("single-stream, %lld queries:\n", (long long)r->queries);
    printf("  issue->complete latency  p50 %.0f ns  p90 %.0f ns  p99 %.0f ns  p99.9 %.0f ns  max %.0f ns\n",
           r->latency.p50, r->latency.p90, r->latency.p99, r->latency.p999, r->latency.max);
    printf("  closed-loop wall time per query %.0f ns (%.2f M queries/s)\n",
           (double)r->duration_ns / (double)(r->queries - 1), r->throughput_samples_per_s * 1e-6);
    printf("  target: p50 < 1 us: %s\n\n", r->latency.p50 < 1000.0 ? "met" : "NOT met");
    tmlp_bench_result_destroy(r);

    cpu_probe(1000000000ULL);
    s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.target_qps = qps;
    s.min_duration_ms = (uint64_t)(seconds * 1000.0);
    s.min_query_count = 100;
    s.warmup_queries = 100;
    uint64_t cpu0 = thread_cpu_ns(), wall0 = tmlp_time_now_ns();
    if (run(&s, &r)) return 1;
    double cpu_share = (double)(thread_cpu_ns() - cpu0) / (double)(tmlp_time_now_ns() - wall0);
    double rel = r->completed_qps / r->scheduled_qps - 1.0;
    printf("server at %.0f QPS target, %lld queries over %.2f s:\n", qps, (long long)r->queries,
           (double)r->duration_ns * 1e-9);
    printf("  scheduled %.1f QPS, completed %.1f QPS (%+.3f%%)\n", r->scheduled_qps, r->completed_qps, rel * 100.0);
    printf("  latency from scheduled time  p50 %.0f ns  p90 %.0f ns  p99 %.0f ns  p99.9 %.0f ns  max %.0f ns\n",
           r->latency.p50, r->latency.p90, r->latency.p99, r->latency.p999, r->latency.max);
    printf("  issue delay                  p50 %.0f ns  p99 %.0f ns  max %.0f ns\n", r->issue_delay.p50,
           r->issue_delay.p99, r->issue_delay.max);
    printf("  issuing thread's CPU time    %.1f%% of the run's wall time (null SUT: all of it is the harness)\n",
           cpu_share * 100.0);
    printf("  targets: completed within 1%% of scheduled: %s; p99 < 50 us: %s; run %s\n",
           rel < 0.01 && rel > -0.01 ? "met" : "NOT met", r->latency.p99 < 50000.0 ? "met" : "NOT met",
           r->valid ? "VALID" : "INVALID");
    tmlp_bench_result_destroy(r);
    return 0;
}
