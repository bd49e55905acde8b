/* workload_opts.c — the run options: ONE getopt_long table, parsed into a tmlp_run_opts
 * (workload.h) by the default run and `regress --baseline`, and written back out as the
 * argv of a repetition's fresh process (--repeat-mode exec).
 *
 * Values are checked strictly (cli.c: numbers, units, ranges; one error line, exit 2).
 * Invariant: tmlp_run_opts_child_argv(o) parsed again gives the same workload as o (every
 * option that changes what runs is written; outputs, format, gate and monitor are not).
 */
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_config.h"
#include "cli.h"
#include "workload.h"

#define MAX_BATCHES TMLP_RUN_MAX_BATCHES

enum {
    OPT_MODEL = 256, OPT_LAYERS, OPT_DATA, OPT_SCENARIO, OPT_MODE, OPT_MIN_DURATION,
    OPT_MAX_DURATION, OPT_MIN_QUERIES, OPT_MAX_QUERIES, OPT_WARMUP, OPT_TARGET_QPS,
    OPT_LATENCY_BOUND, OPT_PERCENTILE, OPT_PERCENTILE_METHOD, OPT_SAMPLES_PER_QUERY, OPT_BATCH,
    OPT_WORKERS, OPT_BLAS_THREADS, OPT_THREADS, OPT_SAMPLE_SEED, OPT_SCHEDULE_SEED, OPT_FORMAT, OPT_OUTPUT,
    OPT_NO_RAW_LATENCIES, OPT_RAW_LATENCIES, OPT_TRACE, OPT_QUICK, OPT_QUIET, OPT_VERSION, OPT_HELP, OPT_MONITOR_INTERVAL, OPT_BASELINE,
    OPT_THRESHOLD, OPT_ALPHA, OPT_FIND_PEAK_MIN_QPS, OPT_FIND_PEAK_BUDGET, OPT_REPEAT,
    OPT_OFFLINE_SAMPLES, OPT_OFFLINE_EXPECTED_QPS, OPT_FORCE, OPT_DISPATCH, OPT_REPEAT_MODE, OPT_RESULTS_FD,
    OPT_RESULTS_RECORDS, OPT_SUMMARY, OPT_VERBOSE, OPT_HISTORY
};

static const struct option long_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"layers", required_argument, NULL, OPT_LAYERS},
    {"data", required_argument, NULL, OPT_DATA},
    {"scenario", required_argument, NULL, OPT_SCENARIO},
    {"mode", required_argument, NULL, OPT_MODE},
    {"min-duration-ms", required_argument, NULL, OPT_MIN_DURATION},
    {"max-duration-ms", required_argument, NULL, OPT_MAX_DURATION},
    {"min-queries", required_argument, NULL, OPT_MIN_QUERIES},
    {"max-queries", required_argument, NULL, OPT_MAX_QUERIES},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"target-qps", required_argument, NULL, OPT_TARGET_QPS},
    {"latency-bound-ms", required_argument, NULL, OPT_LATENCY_BOUND},
    {"percentile", required_argument, NULL, OPT_PERCENTILE},
    {"percentile-method", required_argument, NULL, OPT_PERCENTILE_METHOD},
    {"samples-per-query", required_argument, NULL, OPT_SAMPLES_PER_QUERY},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"blas-threads", required_argument, NULL, OPT_BLAS_THREADS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"sample-seed", required_argument, NULL, OPT_SAMPLE_SEED},
    {"schedule-seed", required_argument, NULL, OPT_SCHEDULE_SEED},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"quick", no_argument, NULL, OPT_QUICK},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"raw-latencies", no_argument, NULL, OPT_RAW_LATENCIES},
    /* the default since 0.2.0; kept so scripts written for 0.1 still run (CHANGELOG) */
    {"no-raw-latencies", no_argument, NULL, OPT_NO_RAW_LATENCIES},
    {"monitor-interval-ms", required_argument, NULL, OPT_MONITOR_INTERVAL},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {"find-peak-min-qps", required_argument, NULL, OPT_FIND_PEAK_MIN_QPS},
    {"find-peak-budget-ms", required_argument, NULL, OPT_FIND_PEAK_BUDGET},
    {"repeat", required_argument, NULL, OPT_REPEAT},
    {"force", no_argument, NULL, OPT_FORCE},
    {"offline-samples", required_argument, NULL, OPT_OFFLINE_SAMPLES},
    {"offline-expected-qps", required_argument, NULL, OPT_OFFLINE_EXPECTED_QPS},
    {"dispatch", required_argument, NULL, OPT_DISPATCH},
    {"repeat-mode", required_argument, NULL, OPT_REPEAT_MODE},
    /* hidden: how a parent in --repeat-mode exec talks to the repetition it started */
    {"results-fd", required_argument, NULL, OPT_RESULTS_FD},
    {"results-records", no_argument, NULL, OPT_RESULTS_RECORDS},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

static int parse_scenarios(const char *s, unsigned *mask)
{
    char item[32];
    const char *p = s;
    unsigned m = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof item)
            return tmlp_cli_usage_error("--scenario: bad list \"%s\" (e.g. single-stream,server)", s);
        memcpy(item, p, len);
        item[len] = '\0';
        tmlp_scenario sc;
        if (!strcmp(item, "all")) m |= 0xFu;
        else if (tmlp_scenario_parse(item, &sc, NULL) == TMLP_OK) m |= 1u << sc;
        else
            return tmlp_cli_usage_error("--scenario: unknown scenario \"%s\" (use single-stream, "
                                        "multi-stream, server, offline or all)", item);
        if (!comma) break;
        p = comma + 1;
    }
    *mask = m;
    return 0;
}


/* Set once by bench_mlp.c before the command runs; read-only afterwards. */
static tmlp_kernel g_kernel = TMLP_KERNEL_AUTO;
static tmlp_precision g_precision = TMLP_PRECISION_AUTO;

void tmlp_cli_models_set(tmlp_kernel kernel, tmlp_precision precision)
{
    g_kernel = kernel;
    g_precision = precision;
}

tmlp_model_options tmlp_cli_model_options(void)
{
    tmlp_model_options mo = tmlp_model_options_default();
    mo.kernel = g_kernel;
    mo.precision = g_precision;
    return mo;
}

void tmlp_run_opts_default(tmlp_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->kernel = g_kernel;
    o->precision = g_precision;
    o->min_duration_ms = o->max_duration_ms = -1;
    o->min_queries = o->max_queries = o->warmup = -1;
    o->target_qps = 2000.0;
    o->latency_bound_ns = 10000000u;
    o->method = TMLP_PCT_LOADGEN;
    o->samples_per_query = 8;
    o->workers = 1;
    o->blas_threads = 1;
    o->threads = 1;
    o->monitor_interval_ms = 10;
    o->threshold = 0.05;
    o->alpha = 0.05;
    o->find_peak_budget_ms = -1;
    o->repeat = 1;
    o->results_fd = -1;
    o->repeat_exec = -1;
}

/* The options that say what runs: model, data, scenarios, durations, counts, rates,
 * seeds, threads. 0, an exit code, or -1 when c is not one of them. */
static int parse_workload_opt(int c, const char *a, tmlp_run_opts *o)
{
    int rc = 0;
    uint64_t ns;
    switch (c) {
        case OPT_MODEL: o->model = a; break;
        case OPT_LAYERS: o->layers = a; break;
        case OPT_DATA: o->data = a; break;
        case OPT_SCENARIO:
            rc = parse_scenarios(a, &o->scenarios);
            o->given |= TMLP_RUN_GIVEN_SCENARIO;
            break;
        case OPT_MODE:
            o->given |= TMLP_RUN_GIVEN_MODE;
            if (tmlp_mode_parse(a, &o->mode, NULL) != TMLP_OK)
                rc = tmlp_cli_usage_error("--mode: unknown mode \"%s\" (use performance, accuracy "
                                          "or find-peak)", a);
            break;
        case OPT_MIN_DURATION:
        case OPT_MAX_DURATION:
            rc = tmlp_cli_parse_duration_ns(c == OPT_MIN_DURATION ? "--min-duration-ms"
                                                                  : "--max-duration-ms",
                                            a, 1000000u, &ns);
            if (!rc && ns % 1000000u) {
                rc = tmlp_cli_usage_error("%s: \"%s\" is not a whole number of milliseconds",
                                          c == OPT_MIN_DURATION ? "--min-duration-ms"
                                                                : "--max-duration-ms", a);
            } else if (!rc && ns / 1000000u > (uint64_t)TMLP_BENCH_MAX_DURATION_MS) {
                rc = tmlp_cli_usage_error("%s: at most 30 days (got \"%s\")",
                                          c == OPT_MIN_DURATION ? "--min-duration-ms"
                                                                : "--max-duration-ms", a);
            } else if (!rc) {
                if (c == OPT_MIN_DURATION) o->min_duration_ms = (int64_t)(ns / 1000000u);
                else o->max_duration_ms = (int64_t)(ns / 1000000u);
            }
            break;
        case OPT_MIN_QUERIES:
            rc = tmlp_cli_parse_i64("--min-queries", a, 1, TMLP_BENCH_MAX_QUERY_COUNT, &o->min_queries);
            break;
        case OPT_MAX_QUERIES:
            rc = tmlp_cli_parse_i64("--max-queries", a, 0, TMLP_BENCH_MAX_QUERY_COUNT, &o->max_queries);
            break;
        case OPT_WARMUP: rc = tmlp_cli_parse_i64("--warmup", a, 0, TMLP_BENCH_MAX_WARMUP, &o->warmup); break;
        case OPT_TARGET_QPS:
            rc = tmlp_cli_parse_rate("--target-qps", a, &o->target_qps);
            if (!rc && o->target_qps > TMLP_BENCH_MAX_TARGET_QPS)
                rc = tmlp_cli_usage_error("--target-qps: at most %g queries/s (got \"%s\")",
                                          TMLP_BENCH_MAX_TARGET_QPS, a);
            break;
        case OPT_LATENCY_BOUND:
            rc = tmlp_cli_parse_duration_ns("--latency-bound-ms", a, 1000000u, &o->latency_bound_ns);
            if (!rc && o->latency_bound_ns == 0)
                rc = tmlp_cli_usage_error("--latency-bound-ms: must be > 0 (got \"%s\")", a);
            break;
        case OPT_PERCENTILE: rc = tmlp_cli_parse_percentile("--percentile", a, &o->percentile); break;
        case OPT_PERCENTILE_METHOD:
            if (tmlp_percentile_method_parse(a, &o->method, NULL) != TMLP_OK)
                rc = tmlp_cli_usage_error("--percentile-method: unknown method \"%s\" (use loadgen, "
                                          "linear, lower, higher, nearest, midpoint or nearest_rank)",
                                          a);
            break;
        case OPT_SAMPLES_PER_QUERY:
            rc = tmlp_cli_parse_i64("--samples-per-query", a, 1, TMLP_BENCH_MAX_SAMPLES_PER_QUERY, &o->samples_per_query);
            break;
        case OPT_BATCH:
            o->given |= TMLP_RUN_GIVEN_BATCH;
            rc = tmlp_cli_parse_i64_list("--batch", a, 1, TMLP_BENCH_MAX_BATCH, o->batches, MAX_BATCHES,
                                         &o->n_batches);
            break;
        case OPT_WORKERS: rc = tmlp_cli_parse_i64("--workers", a, 1, TMLP_BENCH_MAX_THREADS, &o->workers); break;
        case OPT_BLAS_THREADS:
            rc = tmlp_cli_parse_i64("--blas-threads", a, 1, TMLP_BENCH_MAX_THREADS, &o->blas_threads);
            break;
        case OPT_THREADS:
            if (!strcmp(a, "auto")) o->threads = 0;
            else rc = tmlp_cli_parse_i64("--threads", a, 1, TMLP_SESSION_MAX_THREADS, &o->threads);
            break;
        case OPT_SAMPLE_SEED:
            rc = tmlp_cli_parse_u64("--sample-seed", a, &o->sample_seed);
            o->sample_seed_set = 1;
            break;
        case OPT_SCHEDULE_SEED:
            rc = tmlp_cli_parse_u64("--schedule-seed", a, &o->schedule_seed);
            o->schedule_seed_set = 1;
            break;
    default: return -1;
    }
    return rc;
}

/* The options of the output, the gate, repetitions, sizing and find-peak bounds. 0, an
 * exit code, or -1 when c is not one of them. */
static int parse_run_opt(int c, const char *a, tmlp_run_opts *o)
{
    int rc = 0;
    uint64_t ns;
    switch (c) {
        case OPT_FORMAT:
            if (!strcmp(a, "table")) o->format = TMLP_OUT_TABLE;
            else if (!strcmp(a, "markdown") || !strcmp(a, "md")) o->format = TMLP_OUT_MARKDOWN;
            else if (!strcmp(a, "csv")) o->format = TMLP_OUT_CSV;
            else if (!strcmp(a, "json")) o->format = TMLP_OUT_JSON;
            else
                rc = tmlp_cli_usage_error("--format: unknown format \"%s\" (use table, markdown, csv "
                                          "or json)", a);
            break;
        case 'o':
        case OPT_OUTPUT: o->output = a; break;
        case OPT_TRACE: o->trace = a; break;
        case OPT_SUMMARY: o->summary = a; break;
        case OPT_HISTORY: o->history = a; break;
        case 'v':
        case OPT_VERBOSE: o->verbose = 1; break;
        case OPT_QUICK: o->quick = 1; break;
        case OPT_MONITOR_INTERVAL:
            rc = tmlp_cli_parse_duration_ns("--monitor-interval-ms", a, 1000000u, &ns);
            if (!rc && (ns % 1000000u || ns > 60000000000ull))
                rc = tmlp_cli_usage_error("--monitor-interval-ms: \"%s\" must be a whole number of "
                                          "milliseconds from 0 (off) to 60000", a);
            else if (!rc) o->monitor_interval_ms = (int64_t)(ns / 1000000u);
            break;
        case OPT_BASELINE: o->baseline = a; break;
        case OPT_THRESHOLD: rc = tmlp_regress_parse_threshold(a, &o->threshold); break;
        case OPT_ALPHA: rc = tmlp_cli_parse_double("--alpha", a, 1e-12, 0.5, &o->alpha); break;
        case OPT_FIND_PEAK_MIN_QPS:
            rc = tmlp_cli_parse_rate("--find-peak-min-qps", a, &o->find_peak_min_qps);
            break;
        case OPT_FIND_PEAK_BUDGET:
            rc = tmlp_cli_parse_duration_ns("--find-peak-budget-ms", a, 1000000u, &ns);
            if (!rc && ns % 1000000u)
                rc = tmlp_cli_usage_error("--find-peak-budget-ms: \"%s\" is not a whole number of "
                                          "milliseconds", a);
            else if (!rc && ns / 1000000u > (uint64_t)TMLP_BENCH_MAX_DURATION_MS)
                rc = tmlp_cli_usage_error("--find-peak-budget-ms: at most 30 days (got \"%s\")", a);
            else if (!rc) o->find_peak_budget_ms = (int64_t)(ns / 1000000u);
            break;
        case OPT_FORCE: o->force = 1; break;
        case OPT_REPEAT_MODE:
            if (!strcmp(a, "process")) o->repeat_exec = 0;
            else if (!strcmp(a, "exec")) o->repeat_exec = 1;
            else rc = tmlp_cli_usage_error("--repeat-mode: unknown mode \"%s\" (use process or exec)", a);
            break;
        case OPT_RESULTS_FD: {
            int64_t fd = -1;
            rc = tmlp_cli_parse_i64("--results-fd", a, 0, 1 << 20, &fd);
            o->results_fd = (int)fd;
            break;
        }
        case OPT_RESULTS_RECORDS: o->results_records = 1; break;
        case OPT_DISPATCH:
            if (tmlp_sut_dispatch_parse(a, &o->dispatch, NULL) != TMLP_OK)
                rc = tmlp_cli_usage_error("--dispatch: unknown dispatch \"%s\" (use auto, inline or workers)", a);
            break;
        case OPT_REPEAT:
            rc = tmlp_cli_parse_i64("--repeat", a, 1, TMLP_MAX_REPEAT, &o->repeat);
            break;
        case OPT_OFFLINE_SAMPLES:
            rc = tmlp_cli_parse_i64("--offline-samples", a, 1, TMLP_BENCH_MAX_OFFLINE_SAMPLES, &o->offline_samples);
            break;
        case OPT_OFFLINE_EXPECTED_QPS:
            rc = tmlp_cli_parse_rate("--offline-expected-qps", a, &o->offline_expected_qps);
            if (!rc && o->offline_expected_qps > TMLP_BENCH_MAX_EXPECTED_QPS)
                rc = tmlp_cli_usage_error("--offline-expected-qps: at most %g samples/s (got \"%s\")",
                                          TMLP_BENCH_MAX_EXPECTED_QPS, a);
            break;
        case 'q':
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_RAW_LATENCIES: o->raw_latencies = 1; break;
        case OPT_NO_RAW_LATENCIES: o->raw_latencies = 0; break;
    default: return -1;
    }
    return rc;
}

/* The run's table with a caller's options in front (they win over a run option of the
 * same name: report's --output is a directory). One allocation; NULL on out-of-memory. */
static struct option *merged_table(const struct option *extra)
{
    size_t n_run = sizeof long_options / sizeof long_options[0], n_extra = 0;
    while (extra && extra[n_extra].name) n_extra++;
    struct option *t = malloc((n_run + n_extra) * sizeof *t);
    if (!t) return NULL;
    if (n_extra) memcpy(t, extra, n_extra * sizeof *t);
    memcpy(t + n_extra, long_options, n_run * sizeof *t); /* ends with the run table's {NULL} */
    return t;
}

int tmlp_run_opts_parse_with(int argc, char **argv, const struct option *extra, tmlp_run_opts_extra_fn fn,
                             void *user, tmlp_run_opts *o, int *done)
{
    int c, rc = 0;
    tmlp_run_opts_default(o);
    o->argc = argc;
    o->argv = argv;
    *done = 0;
    struct option *table = merged_table(extra);
    if (!table) {
        tmlp_cli_error("out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    optind = 1;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":hqvo:", table, NULL)) != -1) {
        const char *a = optarg;
        if (c == OPT_VERSION) {
            printf("bench_mlp (tinymlp) %s, git %s, %s build\n", tmlp_version(), tmlp_context_git(),
                   TMLP_BUILD_TYPE);
            *done = 1;
            break;
        }
        if (c == 'h' || c == OPT_HELP) {
            *done = 2; /* the caller prints its help */
            break;
        }
        if (c == ':') rc = tmlp_cli_usage_error("option %s needs a value", argv[optind - 1]);
        else if (c >= TMLP_RUN_OPT_EXTRA && fn) rc = fn(user, c, a);
        else if ((rc = parse_workload_opt(c, a, o)) == -1 && (rc = parse_run_opt(c, a, o)) == -1)
            rc = tmlp_cli_usage_error("unknown option \"%s\"", argv[optind - 1]);
    }
    free(table);
    if (rc || *done) return rc;
    if (optind < argc)
        return tmlp_cli_usage_error("unexpected argument \"%s\" (options start with --; "
                                    "subcommands: compare, report, ab, regress, profile, plan)",
                                    argv[optind]);
    return tmlp_run_opts_check(o);
}

int tmlp_run_opts_parse(int argc, char **argv, tmlp_run_opts *o, int *done)
{
    return tmlp_run_opts_parse_with(argc, argv, NULL, NULL, NULL, o, done);
}

int tmlp_run_opts_check(tmlp_run_opts *o)
{
    if (o->n_batches == 0) {
        o->batches[0] = 256;
        o->n_batches = 1;
    }
    if (o->mode == TMLP_MODE_FIND_PEAK) {
        if (o->scenarios && o->scenarios != (1u << TMLP_SCENARIO_SERVER))
            return tmlp_cli_usage_error("--mode find-peak: applies to the server scenario only "
                                        "(drop --scenario or use --scenario server)");
        o->scenarios = 1u << TMLP_SCENARIO_SERVER;
    }
    if (!o->scenarios)
        o->scenarios = o->mode == TMLP_MODE_ACCURACY ? 1u << TMLP_SCENARIO_OFFLINE : 0xFu;
    if (o->max_duration_ms > 0 && o->min_duration_ms > o->max_duration_ms)
        return tmlp_cli_usage_error("--min-duration-ms (%" PRId64 ") exceeds --max-duration-ms "
                                    "(%" PRId64 ")", o->min_duration_ms, o->max_duration_ms);
    if (o->max_queries > 0 && o->min_queries > o->max_queries)
        return tmlp_cli_usage_error("--min-queries (%" PRId64 ") exceeds --max-queries (%" PRId64 ")",
                                    o->min_queries, o->max_queries);
    if (o->find_peak_min_qps > o->target_qps)
        return tmlp_cli_usage_error("--find-peak-min-qps (%g) exceeds --target-qps (%g)",
                                    o->find_peak_min_qps, o->target_qps);
    if (o->offline_samples > 0 && o->offline_expected_qps > 0)
        return tmlp_cli_usage_error("--offline-samples and --offline-expected-qps both size the offline "
                                    "query: give one");
    if (o->repeat > 1 && o->mode == TMLP_MODE_FIND_PEAK)
        return tmlp_cli_usage_error("--repeat: find-peak is a search of its own; repeat performance runs "
                                    "at the QPS it found instead");
    if (!o->baseline && (o->threshold != 0.05 || o->alpha != 0.05 || o->force))
        return tmlp_cli_usage_error("--threshold, --alpha and --force apply to the regression gate: add "
                                    "--baseline FILE");
    return 0;
}
/* --- the argv of a repetition's fresh process ----------------------------------------------- */

/* Strings of the child's argv are formatted into one arena after the pointer array. */
typedef struct child_args {
    char **v;
    int n, cap;
    char *arena;
    size_t used, size;
} child_args;

static void arg(child_args *c, const char *s)
{
    if (c->n < c->cap) c->v[c->n++] = (char *)s;
}

static void argf(child_args *c, const char *opt, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void argf(child_args *c, const char *opt, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(c->arena + c->used, c->size - c->used, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= c->size - c->used) return; /* cannot happen: the arena is sized for it */
    arg(c, opt);
    arg(c, c->arena + c->used);
    c->used += (size_t)k + 1;
}

/* What runs: model, data, precision, scenarios, mode and every setting of settings_for. */
static void child_workload_args(child_args *c, const tmlp_run_opts *o)
{
    if (o->model) argf(c, "--model", "%s", o->model);
    if (o->layers) argf(c, "--layers", "%s", o->layers);
    if (o->data) argf(c, "--data", "%s", o->data);
    if (o->kernel != TMLP_KERNEL_AUTO) argf(c, "--kernels", "%s", tmlp_kernel_name(o->kernel));
    if (o->precision != TMLP_PRECISION_AUTO) argf(c, "--precision", "%s", tmlp_precision_name(o->precision));
    char list[128] = "";
    for (int sc = 0; sc < 4; sc++)
        if (o->scenarios & (1u << sc))
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? "," : "",
                     tmlp_scenario_name((tmlp_scenario)sc));
    if (list[0]) argf(c, "--scenario", "%s", list);
    argf(c, "--mode", "%s", tmlp_mode_name(o->mode));
    if (o->quick) arg(c, "--quick");
    if (o->min_duration_ms >= 0) argf(c, "--min-duration-ms", "%" PRId64, o->min_duration_ms);
    if (o->max_duration_ms >= 0) argf(c, "--max-duration-ms", "%" PRId64, o->max_duration_ms);
    if (o->min_queries > 0) argf(c, "--min-queries", "%" PRId64, o->min_queries);
    if (o->max_queries >= 0) argf(c, "--max-queries", "%" PRId64, o->max_queries);
    if (o->warmup >= 0) argf(c, "--warmup", "%" PRId64, o->warmup);
    argf(c, "--target-qps", "%.17g", o->target_qps);
    argf(c, "--latency-bound-ms", "%" PRIu64 "ns", o->latency_bound_ns);
    if (o->percentile > 0) argf(c, "--percentile", "%.17g", o->percentile);
    argf(c, "--percentile-method", "%s", tmlp_percentile_method_name(o->method));
    argf(c, "--samples-per-query", "%" PRId64, o->samples_per_query);
    list[0] = '\0';
    for (int b = 0; b < o->n_batches; b++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%" PRId64, b ? "," : "", o->batches[b]);
    if (list[0]) argf(c, "--batch", "%s", list);
    argf(c, "--workers", "%" PRId64, o->workers);
    argf(c, "--blas-threads", "%" PRId64, o->blas_threads);
    if (o->threads == 0) argf(c, "--threads", "auto");
    else argf(c, "--threads", "%" PRId64, o->threads);
    if (o->sample_seed_set) argf(c, "--sample-seed", "%" PRIu64, o->sample_seed);
    if (o->schedule_seed_set) argf(c, "--schedule-seed", "%" PRIu64, o->schedule_seed);
    argf(c, "--dispatch", "%s", tmlp_sut_dispatch_name(o->dispatch));
    if (o->find_peak_min_qps > 0) argf(c, "--find-peak-min-qps", "%.17g", o->find_peak_min_qps);
    if (o->find_peak_budget_ms >= 0) argf(c, "--find-peak-budget-ms", "%" PRId64, o->find_peak_budget_ms);
    if (o->offline_samples > 0) argf(c, "--offline-samples", "%" PRId64, o->offline_samples);
    if (o->offline_expected_qps > 0) argf(c, "--offline-expected-qps", "%.17g", o->offline_expected_qps);
}

int tmlp_run_opts_child_argv(const tmlp_run_opts *o, char ***out, int *fd_slot)
{
    enum { SLOTS = 96 };
    size_t strings = 4096 + (o->model ? strlen(o->model) : 0) + (o->layers ? strlen(o->layers) : 0) +
                     (o->data ? strlen(o->data) : 0);
    char **v = malloc(SLOTS * sizeof *v + strings);
    if (!v) {
        tmlp_cli_error("out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    child_args c = {v, 0, SLOTS - 1, (char *)(v + SLOTS), 0, strings};
    arg(&c, "bench_mlp");
    arg(&c, "run");
    child_workload_args(&c, o);
    arg(&c, "--repeat");
    arg(&c, "1");
    arg(&c, "--quiet");
    arg(&c, "--monitor-interval-ms");
    arg(&c, "0");
    arg(&c, "--results-fd");
    *fd_slot = c.n;
    arg(&c, "-1"); /* set per child */
    if (o->keep_records) arg(&c, "--results-records");
    v[c.n] = NULL;
    *out = v;
    return 0;
}
