/* tinymlp/bench_limits.h — the limits of the benchmark settings, in one place.
 *
 * tmlp_bench_run_scenario refuses a setting outside these limits with TMLP_ERR_ARG and a
 * message naming the field; bench_mlp refuses the matching option with exit 2 before it
 * calls the library. Both read the numbers from here, so the CLI and the library can never
 * disagree (a CLI that capped --target-qps at 1e8 while the library accepted 1e300
 * would let a program grow its schedule toward 31 GB).
 *
 * Why these values: each keeps one run's plan within what a machine can hold and what the
 * harness's arithmetic can represent, while leaving every realistic run possible.
 */
#ifndef TINYMLP_BENCH_LIMITS_H
#define TINYMLP_BENCH_LIMITS_H

#include <stdint.h>

/* server target_qps: (0, 1e8] queries/s — the harness's own ceiling is ~3 M/s */
#define TMLP_BENCH_MAX_TARGET_QPS 1e8
/* offline_expected_qps: [0, 1e9] samples/s */
#define TMLP_BENCH_MAX_EXPECTED_QPS 1e9
/* min_duration_ms, max_duration_ms, drain_timeout_ms, find_peak_budget_ms: at most 30 days */
#define TMLP_BENCH_MAX_DURATION_MS (INT64_C(30) * 24 * 3600 * 1000)
/* min_query_count, max_query_count: at most 2^40 */
#define TMLP_BENCH_MAX_QUERY_COUNT (INT64_C(1) << 40)
/* warmup_queries: at most 1e6 */
#define TMLP_BENCH_MAX_WARMUP 1000000
/* samples_per_query (multi-stream) and offline_batch_size: at most 65536 */
#define TMLP_BENCH_MAX_SAMPLES_PER_QUERY 65536
#define TMLP_BENCH_MAX_BATCH 65536
/* samples of the one offline query (offline_sample_count, or as sized): at most 2^30 */
#define TMLP_BENCH_MAX_OFFLINE_SAMPLES (INT64_C(1) << 30)
/* max_outstanding_queries (server): at most 2^24 */
#define TMLP_BENCH_MAX_OUTSTANDING (INT64_C(1) << 24)
/* find_peak_max_runs: at most 64 (the result keeps 64 trials) */
#define TMLP_BENCH_MAX_PEAK_RUNS 64
/* workers, blas_threads: at most 256 */
#define TMLP_BENCH_MAX_THREADS 256
/* repetitions of one run (bench_mlp --repeat): at most 100 */
#define TMLP_BENCH_MAX_REPEAT 100
/* sut.sample_count: at most 2^31 - 1 (the harness keeps a sample index in 4 bytes) */
#define TMLP_BENCH_MAX_SUT_SAMPLES INT32_MAX

#endif
