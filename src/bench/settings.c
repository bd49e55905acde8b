/* settings.c — scenario and mode names, and the default settings of each scenario.
 *
 * Where each default comes from (LoadGen = MLPerf Inference LoadGen's TestSettings and the
 * mlperf.conf it ships; "ours" = a choice of this project):
 *   min_duration_ms 600000        mlperf.conf (*.*.min_duration = 600000; LoadGen's own
 *                                 TestSettings default is 10000). bench_mlp passes 2000
 *                                 (--quick 100) for interactive use.
 *   min_query_count               single-stream 1024: ours (the mlperf.conf of MLPerf v1.x;
 *                                   today's sets none and LoadGen's default is 100);
 *                                 multi-stream 662: mlperf.conf (*.MultiStream.min_query_count);
 *                                 server 270336: ours (the mlperf.conf of MLPerf v1.x; today's
 *                                   sets none);
 *                                 offline 1: LoadGen's offline minimum counts SAMPLES of the
 *                                   one query; mlperf.conf sets it per model (24576 for
 *                                   resnet50); 1 here, ours.
 *   target_latency_percentile     0.90 single-stream and offline, 0.99 multi-stream and
 *                                 server: mlperf.conf.
 *   target_latency_ns 10 ms       mlperf.conf (*.Server.target_latency = 10).
 *   samples_per_query 8           mlperf.conf (*.MultiStream.samples_per_query = 8).
 *   target_qps 1000               ours (mlperf.conf leaves it to user.conf, placeholder 1.0).
 *   offline_expected_qps 0        ours: 0 = one pass over the SUT's samples; LoadGen sizes
 *                                 the query from it (user.conf's Offline.target_qps).
 *   offline_batch_size 32         ours (LoadGen issues the whole query; the SUT batches).
 *   sample_seed, schedule_seed    the sample_index_rng_seed and schedule_rng_seed of the
 *                                 MLPerf Inference v4.0 mlperf.conf (10688027786191513374,
 *                                 14962580496156340209); today's mlperf.conf has new ones.
 *   early_stopping_confidence     0.99: LoadGen's early-stopping default.
 *   max_outstanding_queries 65536, drain_timeout_ms 10000, find_peak_*: ours (LoadGen has
 *                                 no overload bound and waits forever for a lost sample).
 *   overload_stop 1               ours: LoadGen issues the whole schedule of an overloaded
 *                                 run and finds the overload after it (overload.c).
 */
#include "harness_internal.h"
#include "internal.h"

#include <string.h>
#include <strings.h>

const char *tmlp_scenario_name(tmlp_scenario s)
{
    switch (s) {
    case TMLP_SCENARIO_SINGLE_STREAM: return "single-stream";
    case TMLP_SCENARIO_MULTI_STREAM: return "multi-stream";
    case TMLP_SCENARIO_SERVER: return "server";
    case TMLP_SCENARIO_OFFLINE: return "offline";
    }
    return "unknown";
}

tmlp_status tmlp_scenario_parse(const char *name, tmlp_scenario *out, tmlp_error *err)
{
    /* Our labels, LoadGen's spellings (SingleStream, ...) and snake_case. */
    static const struct { const char *name; tmlp_scenario s; } names[] = {
        {"single-stream", TMLP_SCENARIO_SINGLE_STREAM}, {"singlestream", TMLP_SCENARIO_SINGLE_STREAM},
        {"single_stream", TMLP_SCENARIO_SINGLE_STREAM}, {"multi_stream", TMLP_SCENARIO_MULTI_STREAM},
        {"multi-stream", TMLP_SCENARIO_MULTI_STREAM},   {"multistream", TMLP_SCENARIO_MULTI_STREAM},
        {"server", TMLP_SCENARIO_SERVER},               {"offline", TMLP_SCENARIO_OFFLINE},
    };
    if (!name) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: scenario_parse: name is NULL");
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: scenario_parse: out is NULL");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].s;
            return TMLP_OK;
        }
    return tmlp_error_set(err, TMLP_ERR_ARG,
                          "bench: scenario_parse: name \"%.64s\" is not one of single-stream, multi-stream, "
                          "server, offline",
                          name);
}

const char *tmlp_mode_name(tmlp_mode m)
{
    switch (m) {
    case TMLP_MODE_PERFORMANCE: return "performance";
    case TMLP_MODE_ACCURACY: return "accuracy";
    case TMLP_MODE_FIND_PEAK: return "find-peak";
    }
    return "unknown";
}

tmlp_status tmlp_mode_parse(const char *name, tmlp_mode *out, tmlp_error *err)
{
    static const struct { const char *name; tmlp_mode m; } names[] = {
        {"performance", TMLP_MODE_PERFORMANCE}, {"performanceonly", TMLP_MODE_PERFORMANCE},
        {"accuracy", TMLP_MODE_ACCURACY},       {"accuracyonly", TMLP_MODE_ACCURACY},
        {"find-peak", TMLP_MODE_FIND_PEAK},     {"findpeakperformance", TMLP_MODE_FIND_PEAK},
    };
    if (!name) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: mode_parse: name is NULL");
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: mode_parse: out is NULL");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].m;
            return TMLP_OK;
        }
    return tmlp_error_set(err, TMLP_ERR_ARG,
                          "bench: mode_parse: name \"%.64s\" is not one of performance, accuracy, find-peak",
                          name);
}

tmlp_bench_settings tmlp_bench_settings_default(tmlp_scenario sc)
{
    tmlp_bench_settings s;
    memset(&s, 0, sizeof s);
    s.scenario = sc;
    s.mode = TMLP_MODE_PERFORMANCE;
    s.min_duration_ms = 600000;
    s.max_duration_ms = 0;
    switch (sc) {
    case TMLP_SCENARIO_SINGLE_STREAM: s.min_query_count = 1024; break;
    case TMLP_SCENARIO_MULTI_STREAM: s.min_query_count = 662; break;
    case TMLP_SCENARIO_SERVER: s.min_query_count = 270336; break;
    case TMLP_SCENARIO_OFFLINE: s.min_query_count = 1; break;
    }
    s.max_query_count = 0;
    s.warmup_queries = 0;
    s.target_qps = 1000.0;
    s.target_latency_ns = 10000000ULL;
    s.target_latency_percentile = sc == TMLP_SCENARIO_SINGLE_STREAM || sc == TMLP_SCENARIO_OFFLINE ? 0.90 : 0.99;
    s.samples_per_query = 8;
    s.offline_batch_size = 32;
    s.offline_sample_count = 0;
    s.workers = 1;
    s.blas_threads = 1;
    s.sample_seed = 10688027786191513374ULL;
    s.schedule_seed = 14962580496156340209ULL;
    s.max_outstanding_queries = 65536;
    s.drain_timeout_ms = 10000;
    s.schedule_stride = 1;
    s.early_stopping_confidence = 0.99;
    s.percentile_method = TMLP_PCT_LOADGEN;
    s.find_peak_precision = 0.02;
    s.find_peak_max_runs = 20;
    s.find_peak_min_qps = 0.0;
    s.find_peak_budget_ms = 0;
    s.offline_expected_qps = 0.0;
    s.wait_spin_ns = -1; /* our choice: spin only with a core to spare (wait.c) */
    s.keep_records = 1;  /* traces and merges need them; bench_mlp clears it when neither is asked */
    s.overload_stop = 1; /* ours: an overloaded server run ends once it cannot be VALID */
    s.stop = NULL;
    s.progress = NULL;
    s.progress_user = NULL;
    return s;
}
