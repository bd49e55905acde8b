/* settings.c — scenario and mode names, and the default settings of each scenario.
 *
 * Defaults follow MLPerf LoadGen (mlperf.conf): 600 s minimum duration; minimum query
 * counts 1024 (single-stream), 662 (multi-stream: the early-stopping minimum at p99),
 * 270336 (server), 1 (offline); latency percentiles 0.90 (single-stream) and 0.99
 * (multi-stream, server). bench_mlp passes shorter durations for interactive use.
 * The seeds are LoadGen's default sample-index and schedule seeds (v1.1).
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

tmlp_status tmlp_scenario_parse(const char *name, tmlp_scenario *out)
{
    /* Our labels, plus LoadGen's spellings (SingleStream, ...). */
    static const struct { const char *name; tmlp_scenario s; } names[] = {
        {"single-stream", TMLP_SCENARIO_SINGLE_STREAM}, {"singlestream", TMLP_SCENARIO_SINGLE_STREAM},
        {"multi-stream", TMLP_SCENARIO_MULTI_STREAM},   {"multistream", TMLP_SCENARIO_MULTI_STREAM},
        {"server", TMLP_SCENARIO_SERVER},               {"offline", TMLP_SCENARIO_OFFLINE},
    };
    if (!name || !out) return TMLP_ERR_ARG;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].s;
            return TMLP_OK;
        }
    return TMLP_ERR_ARG;
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

tmlp_status tmlp_mode_parse(const char *name, tmlp_mode *out)
{
    static const struct { const char *name; tmlp_mode m; } names[] = {
        {"performance", TMLP_MODE_PERFORMANCE}, {"performanceonly", TMLP_MODE_PERFORMANCE},
        {"accuracy", TMLP_MODE_ACCURACY},       {"accuracyonly", TMLP_MODE_ACCURACY},
        {"find-peak", TMLP_MODE_FIND_PEAK},     {"findpeakperformance", TMLP_MODE_FIND_PEAK},
    };
    if (!name || !out) return TMLP_ERR_ARG;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].m;
            return TMLP_OK;
        }
    return TMLP_ERR_ARG;
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
    s.early_stopping_confidence = 0.99;
    s.percentile_method = TMLP_PCT_LOADGEN;
    s.find_peak_precision = 0.02;
    s.find_peak_max_runs = 20;
    s.find_peak_min_qps = 0.0;
    s.find_peak_budget_ms = 0;
    s.stop = NULL;
    s.progress = NULL;
    s.progress_user = NULL;
    return s;
}
