/* harness_null.c — step 6: the benchmark harness on a system that does nothing.
 *
 * The harness (tinymlp/bench.h) plays MLPerf LoadGen's part: it issues queries to a
 * "system under test" (a tmlp_sut: callbacks and a user pointer), timestamps each
 * completion and turns the latencies into percentiles, validity checks and early
 * stopping. The null SUT completes every sample inside `issue`, so what this measures is
 * the harness itself: the floor under any latency it reports. docs/harness.md follows
 * one query through each scenario.
 *
 *     cc harness_null.c $(pkg-config --cflags --libs tinymlp) -o harness_null
 * Next: percentiles.c.
 */
#include <stdio.h>
#include <tinymlp.h>

int main(void)
{
    tmlp_sut sut = tmlp_null_sut(1000);          /* 1000 "samples", nothing loaded */
    tmlp_bench_settings st = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    st.min_duration_ms = 200;                    /* LoadGen's default is 10 minutes */
    st.min_query_count = 1000;
    st.warmup_queries = 10;
    tmlp_bench_result *r = NULL;
    tmlp_error err;
    if (tmlp_bench_run_scenario(&st, &sut, &r, &err) != TMLP_OK) {
        fprintf(stderr, "harness_null: %s\n", err.message);
        return 1;
    }
    /* Single-stream: one query at a time, the next issued when the last completes. */
    printf("%lld queries in %.0f ms, %s\n", (long long)r->queries, r->duration_ns / 1e6,
           r->valid ? "VALID" : "INVALID");
    printf("latency p50 %.0f ns, p90 %.0f ns, p99 %.0f ns, max %.0f ns\n", r->latency.p50,
           r->latency.p90, r->latency.p99, r->latency.max);
    printf("early stopping: %s\n", r->es_text);
    for (int i = 0; i < r->n_reasons; i++) printf("  why INVALID: %s\n", r->reasons[i]);
    const int ok = r->queries >= 1000 && r->errors == 0;
    tmlp_bench_result_destroy(r);
    return ok ? 0 : 1;
}
