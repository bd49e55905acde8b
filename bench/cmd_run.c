/* cmd_run.c — `bench_mlp [options]`: the default run. Builds the workload (model + data
 * set), runs the requested LoadGen scenarios through the harness (tmlp_bench_run_scenario)
 * and prints one latency table and a verdict per run (or Markdown / CSV / JSON).
 *
 * The pipeline, in order:
 *   1. parse options (cli.c: strict numbers and units, one-line errors, exit 2);
 *   2. resolve the model: a .safetensors or ONNX file, `synthetic:784x512x512x10` (tmlp_model_random,
 *      seeded) or `null` (tmlp_null_sut: measures the harness itself);
 *      default: models/fashion_mlp.safetensors next to the executable's source tree;
 *   3. resolve the data: Fashion-MNIST IDX, a .safetensors (x [N,in], optional y [N]),
 *      any IDX images file (labels found beside it) or seeded synthetic inputs;
 *   4. one tmlp_model_sut (closed loops in the issuing thread, server and offline on
 *      workers x sessions of max_batch rows; --dispatch) serves every run;
 *   5. runs: single-stream, multi-stream, server, then offline once per --batch size;
 *      with --repeat N that whole sequence N times, round-robin (repeat.c aggregates the
 *      repetitions of each run), each repetition a fresh process by default (fresh.c,
 *      --repeat-mode); offline's one query is sized from settings only, LoadGen's rule:
 *      max(--min-queries, expected QPS x min duration x 1.1) samples, the expected QPS
 *      from --offline-expected-qps or the fixed rule of sizing.c (ISA class and batch;
 *      never a timed calibration: the same settings give the same workload);
 *   6. print: table (+ confusion matrix in accuracy mode) + verdicts + resource summary,
 *      or JSON (with a "resources" block); the LoadGen-style summaries to --summary FILE
 *      (and with --verbose before the table); --trace (queries, samples, resource
 *      counters);
 *   7. --baseline FILE: the regression gate of `bench_mlp regress` (tmlp_regress_docs) on
 *      this run's JSON document against FILE; exit 3 on a regression.
 * The resource monitor (tinymlp/monitor.h) samples the process every --monitor-interval-ms
 * (default 10) from before the first run to after the last.
 * Under mpirun (mpi.c, README "More than one machine") every rank runs steps 2-5 on its
 * share (offline: a contiguous shard of the samples; server: every N-th arrival; closed
 * loops: one stream per rank) and rank 0 alone prints the merged results, with per-rank
 * figures; the others write to /dev/null.
 * SIGINT / SIGTERM set a flag the harness polls (settings.stop; handler in cli.c): the run
 * stops issuing, drains, is printed INVALID (interrupted) on stdout, later runs are skipped,
 * files named by --output / --trace are left as they were, and the exit code is 130 / 143.
 * Output files are written atomically (cli.h, tmlp_cli_output): complete or not at all.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_config.h"
#include "cli.h"
#include "precision.h"
#include "commands.h"
#include "mpi_ranks.h"
#include "reports_util.h"
#include "run.h"
#include "tinymlp/blas.h"
#include "tinymlp/rng.h"

#define MAX_BATCHES 16
#define MAX_ROWS 32
#define SYNTHETIC_DATA_COUNT 4096
#define SYNTHETIC_MODEL_SEED 42
#define SYNTHETIC_DATA_SEED 7
#define DEFAULT_SYNTHETIC_MODEL "synthetic:784x512x512x10"
#define DEFAULT_MODEL_FILE "fashion_mlp.safetensors"

/* Set by the SIGINT / SIGTERM handler (cli.c), polled by the harness through settings.stop. */
#define g_stop tmlp_cli_stop

/* Every option; -1 / 0 / NULL mean "not given" so --quick and per-scenario defaults
 * apply only to what the user left out. */
typedef struct run_opts {
    const char *model, *layers, *data;
    unsigned scenarios;         /* bit i = tmlp_scenario i; 0 = default for the mode */
    tmlp_mode mode;
    int64_t min_duration_ms, max_duration_ms; /* -1 = default */
    int64_t min_queries, max_queries, warmup; /* -1 = default */
    double target_qps;
    uint64_t latency_bound_ns;
    double percentile;          /* 0 = per-scenario default */
    tmlp_percentile_method method;
    int64_t samples_per_query;
    int64_t batches[MAX_BATCHES];
    int n_batches;
    int64_t workers, blas_threads;
    int64_t threads;            /* intra-op threads per session; 0 = auto */
    uint64_t sample_seed, schedule_seed;
    int sample_seed_set, schedule_seed_set;
    tmlp_out_format format;
    const char *output, *trace;
    const char *summary;          /* --summary FILE: the LoadGen-style summaries go there */
    int quick, quiet, verbose;
    int64_t monitor_interval_ms;  /* 0 = no resource monitor */
    const char *baseline;         /* --baseline FILE or NULL */
    double threshold, alpha;      /* regression gate */
    double find_peak_min_qps;     /* 0 = target / 16 */
    int64_t find_peak_budget_ms;  /* -1 = default */
    int64_t repeat;               /* repetitions of each scenario (1) */
    int force;                    /* --baseline: compare different workloads anyway */
    int64_t offline_samples;      /* 0 = sized from the expected QPS */
    double offline_expected_qps;  /* 0 = the default: the rule of sizing.c, per batch */
    const tmlp_model *sizing_model; /* what that rule reads (NULL: the null SUT) ... */
    int sizing_ranks;             /* ... and how many MPI ranks share the offline query */
    double default_expected_qps;  /* the rule at the largest batch: the memory estimate's rate */
    int raw_latencies;            /* --raw-latencies: per-query arrays in the JSON (off) */
    tmlp_sut_dispatch dispatch;   /* --dispatch: where the model SUT computes (AUTO) */
    int repeat_exec;              /* --repeat-mode: 1 exec (each repetition a fresh process),
                                     0 process; -1 = the default: exec, process under mpirun */
    int results_fd;               /* hidden --results-fd: a repetition's child (fresh.c); -1 */
    int results_records;          /* hidden --results-records: the child keeps per-query records */
    int keep_records;             /* per-query records in the result: --trace or MPI ranks */
} run_opts;

enum {
    OPT_MODEL = 256, OPT_LAYERS, OPT_DATA, OPT_SCENARIO, OPT_MODE, OPT_MIN_DURATION,
    OPT_MAX_DURATION, OPT_MIN_QUERIES, OPT_MAX_QUERIES, OPT_WARMUP, OPT_TARGET_QPS,
    OPT_LATENCY_BOUND, OPT_PERCENTILE, OPT_PERCENTILE_METHOD, OPT_SAMPLES_PER_QUERY, OPT_BATCH,
    OPT_WORKERS, OPT_BLAS_THREADS, OPT_THREADS, OPT_SAMPLE_SEED, OPT_SCHEDULE_SEED, OPT_FORMAT, OPT_OUTPUT,
    OPT_NO_RAW_LATENCIES, OPT_RAW_LATENCIES, OPT_TRACE, OPT_QUICK, OPT_QUIET, OPT_VERSION, OPT_HELP, OPT_MONITOR_INTERVAL, OPT_BASELINE,
    OPT_THRESHOLD, OPT_ALPHA, OPT_FIND_PEAK_MIN_QPS, OPT_FIND_PEAK_BUDGET, OPT_REPEAT,
    OPT_OFFLINE_SAMPLES, OPT_OFFLINE_EXPECTED_QPS, OPT_FORCE, OPT_DISPATCH, OPT_REPEAT_MODE, OPT_RESULTS_FD,
    OPT_RESULTS_RECORDS, OPT_SUMMARY, OPT_VERBOSE
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

static void print_help(FILE *f)
{
    fputs(
"Usage: bench_mlp [OPTIONS]            run LoadGen scenarios on a model (this page)\n"
"       bench_mlp compare|report|ab|regress|profile|plan ...   (see bench_mlp CMD --help)\n"
"\n"
"With no options: single-stream, multi-stream, server and offline on\n"
"models/fashion_mlp.safetensors over the Fashion-MNIST test set (10,000 images), or on\n"
"synthetic:784x512x512x10 with random inputs when those are missing (a note says so).\n"
"\n"
"Workload\n"
"  --model PATH|synthetic:AxBx..|null\n"
"                         .safetensors or ONNX model; a seeded random MLP with those widths (ReLU\n"
"                         between, softmax last); or null, a no-op that measures the\n"
"                         harness itself. Default: models/fashion_mlp.safetensors, else\n"
"                         " DEFAULT_SYNTHETIC_MODEL "\n"
"  --layers LIST          layer list of a .safetensors model, e.g. linear,relu,linear,softmax\n"
"                         (default: the file's \"tinymlp.layers\" metadata)\n"
"  --data synthetic|fashion|PATH\n"
"                         synthetic: 4096 seeded random inputs of the model's width, no\n"
"                         labels; fashion: " TMLP_FASHION_MNIST_DIR "/t10k-*;\n"
"                         PATH: .safetensors with x [N,in] (F32 or U8) and optional y [N],\n"
"                         or an IDX images file (labels file found beside it).\n"
"                         Default: fashion for an image model (784 inputs, preprocessing\n"
"                         metadata) when the files exist, else synthetic\n"
"\n", f);
    fputs(
"Scenarios and mode\n"
"  --scenario LIST        comma list of single-stream, multi-stream, server, offline, or all\n"
"                         (default: all; offline for --mode accuracy; server for find-peak)\n"
"  --mode MODE            performance | accuracy (every sample once, accuracy and a confusion\n"
"                         matrix) | find-peak (server: highest VALID QPS, from --target-qps\n"
"                         doubling or halving, then bisecting; at most 12 runs of >= 662\n"
"                         queries, each ending by max(3 x --min-duration-ms, 662 queries at\n"
"                         target/16) unless --max-duration-ms; halving stops at\n"
"                         --find-peak-min-qps, no trial starts after --find-peak-budget-ms).\n"
"                         Default performance\n"
"  --find-peak-min-qps RATE  find-peak: lowest QPS tried; if it fails too there is no peak\n"
"                         (default --target-qps / 16, the lowest rate a trial's duration cap\n"
"                         is sized for)\n"
"  --find-peak-budget-ms DUR  find-peak: start no new trial after this long (default 60 s;\n"
"                         0 = no budget)\n"
"  --min-duration-ms DUR  minimum run length per scenario (default 2000 ms; --quick 100 ms).\n"
"                         DUR is a number in ms or has a unit: 500us, 250ms, 2s, 1min\n"
"  --max-duration-ms DUR  end a run after this long, INVALID if minimums unmet (default 0 =\n"
"                         none; --quick 2000 ms)\n"
"  --min-queries N        minimum measured queries (default single-stream 1024, multi-stream\n"
"                         662, server 1024, offline 1; --quick 64/662/662/1). N may use k, M.\n"
"                         Offline counts SAMPLES of its one query (LoadGen)\n"
"  --max-queries N        end a run after N queries (default 0 = none)\n"
"  --warmup N             warm-up queries, excluded from statistics (default 32; --quick 8)\n"
"  --target-qps RATE      server arrival rate, queries/s, > 0 (default 2000; 2k, 2000/s ok)\n"
"  --latency-bound-ms DUR server latency bound (default 10 ms)\n"
"  --percentile P         percentile of the latency bound and early stopping, a fraction in\n"
"                         (0,1) like 0.99 or a percent like 99% (a bare 99 is refused).\n"
"                         Default 0.90 single-stream, 0.99 multi-stream and server\n"
"  --percentile-method M  loadgen | linear | lower | higher | nearest | midpoint |\n"
"                         nearest_rank (default loadgen: sorted[floor(N*p)])\n"
"  --samples-per-query N  multi-stream samples per query (default 8)\n"
"  --batch LIST           offline batch size; a list sweeps, one offline run per size:\n"
"                         --batch 1,8,32,256 (default 256)\n"
"  --offline-samples N    offline: samples in the one query (default: sized as LoadGen does,\n"
"                         max(--min-queries, expected QPS x min duration x 1.1))\n"
"  --offline-expected-qps RATE\n"
"                         offline: the expected samples/s that sizes the query (default: a\n"
"                         fixed rule, printed in the header: FLOPs per sample / an assumed\n"
"                         GFLOP/s by the kernels' ISA class (avx512, avx2, scalar, blas)\n"
"                         and the batch, + 1 us per batch; x2 bf16, x4 int8; at most 1M/s;\n"
"                         whatever --workers). A faster SUT ends early: INVALID, with the\n"
"                         rate to use\n"
"  --repeat N             run every scenario N times, round-robin (default 1): each repetition\n"
"                         is a full run with its own validity; the table shows the medians\n"
"                         and the spread, the JSON every repetition. Use 5 or more for\n"
"                         regression gating (docs/statistics.md, \"Is B faster than A?\")\n"
"  --repeat-mode M        where the repetitions run: exec (each repetition a fresh process:\n"
"                         bench_mlp re-executes itself, as hyperfine runs each command\n"
"                         anew, so the repetitions' spread includes what differs between\n"
"                         processes) | process (all in this one). Default exec (process\n"
"                         under mpirun)\n"
"", f);
    fputs(
"  --workers N            worker threads, each with its own session (default 1)\n"
"  --dispatch D           where the model computes: auto (default: in the issuing thread for\n"
"                         single-stream and multi-stream, on the workers for server and\n"
"                         offline) | inline (always in the issuing thread) | workers (always\n"
"                         queued to the worker threads)\n"
"  --blas-threads N       OpenBLAS threads (default 1)\n"
"  --threads N|auto       intra-op threads: each forward split over N threads (default 1;\n"
"                         auto = the CPUs this process may use; above 1, OpenBLAS runs 1)\n"
"", f);
    fputs(
"  --kernels K            Dense kernel at every batch size: scalar | avx2 | avx512 | blas |\n"
"                         auto (default auto: the best the CPU has up to the crossover,\n"
"                         OpenBLAS above). Same as TMLP_KERNELS=K; every command takes it\n"
"  --precision P          weight precision f32 | bf16 | int8 (default f32; same as\n"
"                         TMLP_PRECISION=P; every command). --mode accuracy at bf16/int8\n"
"                         adds a paired comparison with f32 (agreement, logit error, McNemar)\n"
"  --sample-seed N        seed of the sample choice (default: the harness default)\n"
"  --schedule-seed N      seed of the server arrival schedule (default: harness default)\n"
"\n", f);
    fputs(
"Output\n"
"  --format FMT           table (header, latency table, verdicts, resources) | markdown |\n"
"                         csv | json (default table)\n"
"  --output FILE          write the results there instead of stdout\n"
"  --trace FILE           Chrome trace-event JSON (chrome://tracing, Perfetto): one event per\n"
"                         query from its start (server: scheduled time) to completion; for\n"
"                         multi-stream and offline also one per sample (at most 200,000 per\n"
"                         run: beyond that every k-th, k named in the trace); the resource\n"
"                         monitor's CPU, RSS and thread counters\n"
"  --monitor-interval-ms DUR\n"
"                         resource monitor sampling interval (default 10 ms; 0 = off). CPU\n"
"                         (user/system, per core), RSS, context switches and page faults go\n"
"                         below the table, into the JSON (\"resources\") and the trace\n"

"  --summary FILE         write the LoadGen-style summary of every run there (every check,\n"
"                         early stopping, min/max/mean and percentiles in ns, the parameters\n"
"                         and seeds: mlperf_log_summary.txt's order); - = stdout\n"
"  --verbose, -v          also print those summaries on the terminal, before the table\n"
"  --quick                short runs for tests and CI (explicit options still win)\n"
"  --quiet                only the results: no progress, notes, verdicts or resources block\n"
"  --raw-latencies        also write every query's latency (\"latencies_ns\", server\n"
"                         \"issue_delays_ns\") into the JSON: ~100 bytes per query while the\n"
"                         document is built (default off: the summaries, repetitions and\n"
"                         gate need none of it; compare --per-query and report --from's\n"
"                         plots do). --no-raw-latencies is accepted and means the default\n"
"  --version              library version and git revision\n"
"  --help                 this text\n""\n"
"Regression gate\n"
"  --baseline FILE        after the runs, compare them with FILE (a --format json results\n"
"                         file) exactly as `bench_mlp regress FILE CURRENT` does; exit 3 on a\n"
"                         regression. The verdict follows the table (with csv/json on stdout:\n"
"                         on stderr)\n"
"  --threshold X          with --baseline: relative threshold, 0.05 or 5% (default 5%)\n"
"  --alpha A              with --baseline: significance level (default 0.05)\n"
"  --force                with --baseline: compare even when the workloads differ (model,\n"
"                         data, seeds, settings); otherwise that is a usage error (exit 2)\n"
"\n"
"Exit status: 0 done (also when a run is INVALID: read the VALID column), 1 runtime error\n"
"(missing or bad file, width mismatch, out of memory), 2 usage error, 3 regression against\n"
"--baseline, 130 interrupted.\n",
        f);
}

/* --- option parsing --------------------------------------------------------------------- */

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

static int parse_options(int argc, char **argv, run_opts *o, int *done)
{
    int c, rc = 0;
    uint64_t ns;
    memset(o, 0, sizeof *o);
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
    *done = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hqvo:", long_options, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case OPT_MODEL: o->model = a; break;
        case OPT_LAYERS: o->layers = a; break;
        case OPT_DATA: o->data = a; break;
        case OPT_SCENARIO: rc = parse_scenarios(a, &o->scenarios); break;
        case OPT_MODE:
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
        case OPT_VERSION:
            printf("bench_mlp (tinymlp) %s, git %s, %s build\n", tmlp_version(), tmlp_context_git(),
                   TMLP_BUILD_TYPE);
            *done = 1;
            return 0;
        case 'h':
        case OPT_HELP:
            print_help(stdout);
            *done = 1;
            return 0;
        case ':':
            return tmlp_cli_usage_error("option %s needs a value", argv[optind - 1]);
        default:
            return tmlp_cli_usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
        if (rc) return rc;
    }
    if (optind < argc)
        return tmlp_cli_usage_error("unexpected argument \"%s\" (options start with --; "
                                    "subcommands: compare, report, ab, regress, profile, plan)",
                                    argv[optind]);
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

/* --- workload ----------------------------------------------------------------------------- */

typedef struct workload {
    tmlp_model *model;          /* NULL for null */
    tmlp_dataset *data;
    tmlp_model_sut *msut;
    tmlp_sut sut;
    int is_null;
    char model_source[4096];
    char data_source[4096];
    char data_labels[4096];
    tmlp_run_info info;
} workload;

static int file_exists(const char *p) { return access(p, R_OK) == 0; }

/* models/fashion_mlp.safetensors: beside the executable's tree (build dir inside the
 * source dir, or an installed prefix: bin/../share/tinymlp/models/), then the configured
 * install location, then the source dir recorded at configure time. */
int tmlp_find_default_model(char *out, size_t cap)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            static const char *const rel[] = {"/../models/", "/../../models/", "/../share/tinymlp/models/"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                int k = snprintf(out, cap, "%s%s%s", exe, rel[i], DEFAULT_MODEL_FILE);
                if (k > 0 && (size_t)k < cap && file_exists(out)) {
                    char *canon = realpath(out, NULL); /* drop the "build/bench/../.." */
                    if (canon && strlen(canon) < cap) snprintf(out, cap, "%s", canon);
                    free(canon);
                    return 1;
                }
            }
        }
    }
    snprintf(out, cap, "%s/models/%s", TMLP_DATA_DIR, DEFAULT_MODEL_FILE);
    if (file_exists(out)) return 1;
    snprintf(out, cap, "%s/models/%s", TMLP_SOURCE_DIR, DEFAULT_MODEL_FILE);
    return file_exists(out);
}

static int fashion_paths(char *images, char *labels, size_t cap)
{
    snprintf(images, cap, "%s/t10k-images-idx3-ubyte.gz", TMLP_FASHION_MNIST_DIR);
    snprintf(labels, cap, "%s/t10k-labels-idx1-ubyte.gz", TMLP_FASHION_MNIST_DIR);
    return file_exists(images) && file_exists(labels);
}

static int hash_file(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char buf[65536];
    uint64_t h = TMLP_HASH64_INIT;
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) h = tmlp_hash64(h, buf, k);
    int bad = ferror(f);
    fclose(f);
    if (bad) return -1;
    *out = h;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (!strncasecmp(s, needle, n)) return 1;
    return 0;
}

/* An IDX images path -> its labels file beside it ("...images-idx3..." -> "...labels-idx1..."). */
static int idx_labels_beside(const char *images, char *out, size_t cap)
{
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    const char *m = strstr(base, "images-idx3");
    if (!m) m = strstr(base, "images.idx3");
    if (!m) return 0;
    size_t pre = (size_t)(m - images);
    if (pre + strlen("labels-idx1") + strlen(m + 11) + 1 > cap) return 0;
    memcpy(out, images, pre);
    snprintf(out + pre, cap - pre, "%s%s", m[6] == '.' ? "labels.idx1" : "labels-idx1", m + 11);
    return file_exists(out);
}

static int load_model(const run_opts *o, workload *w)
{
    tmlp_error err = {0};
    tmlp_status st;
    const char *spec = o->model;
    if (!spec) {
        if (tmlp_find_default_model(w->model_source, sizeof w->model_source)) {
            spec = w->model_source;
        } else {
            spec = DEFAULT_SYNTHETIC_MODEL;
            if (!o->quiet)
                tmlp_cli_error("note: models/" DEFAULT_MODEL_FILE " not found; using "
                               DEFAULT_SYNTHETIC_MODEL " (random weights) instead");
        }
    }
    if (spec != w->model_source) snprintf(w->model_source, sizeof w->model_source, "%s", spec);
    w->info.model_source = w->model_source;

    if (!strcmp(spec, "null")) {
        if (o->layers) return tmlp_cli_usage_error("--layers: applies to a .safetensors model, not null");
        w->is_null = 1;
        w->info.model_kind = "null";
        return 0;
    }
    if (!strncmp(spec, "synthetic:", 10)) {
        int64_t widths[16];
        int n = 0, rc;
        if (o->layers)
            return tmlp_cli_usage_error("--layers: applies to a .safetensors model; a synthetic "
                                        "model's layers follow from its widths");
        if ((rc = tmlp_cli_parse_synthetic(spec, widths, 16, &n))) return rc;
        st = tmlp_model_random(widths, n, SYNTHETIC_MODEL_SEED, NULL, &w->model, &err);
        if (st != TMLP_OK) {
            tmlp_cli_error("--model %s: %s", spec, err.message[0] ? err.message : tmlp_status_str(st));
            return TMLP_EXIT_RUNTIME;
        }
        w->info.model_kind = "synthetic";
        w->info.model_seed = SYNTHETIC_MODEL_SEED;
    } else {
        if (!file_exists(spec)) {
            tmlp_cli_error("--model: cannot read \"%s\": %s", spec, strerror(errno));
            return TMLP_EXIT_RUNTIME;
        }
        tmlp_model_options mo = tmlp_model_options_default();
        mo.layers = o->layers;
        st = tmlp_model_load(spec, &mo, &w->model, &err);
        if (st != TMLP_OK) {
            tmlp_cli_error("--model %s: %s", spec, err.message[0] ? err.message : tmlp_status_str(st));
            return TMLP_EXIT_RUNTIME;
        }
        w->info.model_kind = "file";
        if (hash_file(spec, &w->info.model_file_hash) == 0) w->info.model_has_file_hash = 1;
    }
    w->info.model = w->model;
    w->info.model_input_width = tmlp_model_input_width(w->model);
    w->info.model_output_width = tmlp_model_output_width(w->model);
    tmlp_model_layers_string(w->model, w->info.model_layers, sizeof w->info.model_layers, NULL);
    for (int i = 0; i < tmlp_model_layer_count(w->model); i++) {
        tmlp_layer_info li;
        if (tmlp_model_layer_info(w->model, i, &li, NULL) == TMLP_OK) w->info.model_params += li.param_count;
    }
    return 0;
}

static int load_data(const run_opts *o, workload *w)
{
    tmlp_error err = {0};
    tmlp_status st = TMLP_OK;
    const char *spec = o->data;
    int64_t width = w->is_null ? 784 : w->info.model_input_width;
    char images[4096], labels[4096];

    if (!spec) {
        int image_model = !w->is_null && width == 784 &&
                          tmlp_model_preprocess(w->model).has_preprocess;
        spec = image_model && fashion_paths(images, labels, sizeof images) ? "fashion" : "synthetic";
    }
    w->info.data_seed = SYNTHETIC_DATA_SEED;
    if (!strcmp(spec, "synthetic")) {
        st = tmlp_dataset_synthetic(SYNTHETIC_DATA_COUNT, width, SYNTHETIC_DATA_SEED, NULL, &w->data,
                                    &err);
        w->info.data_kind = "synthetic";
        snprintf(w->data_source, sizeof w->data_source, "synthetic");
    } else if (!strcmp(spec, "fashion")) {
        if (!fashion_paths(images, labels, sizeof images)) {
            tmlp_cli_error("--data fashion: %s not found (install the dataset-fashion-mnist package)",
                           images);
            return TMLP_EXIT_RUNTIME;
        }
        st = tmlp_dataset_load_idx(images, labels, NULL, &w->data, &err);
        w->info.data_kind = "idx";
        w->info.fashion_names = 1;
        snprintf(w->data_source, sizeof w->data_source, "%s", images);
        snprintf(w->data_labels, sizeof w->data_labels, "%s", labels);
        w->info.data_labels = w->data_labels;
    } else {
        if (!file_exists(spec)) {
            tmlp_cli_error("--data: cannot read \"%s\": %s", spec, strerror(errno));
            return TMLP_EXIT_RUNTIME;
        }
        snprintf(w->data_source, sizeof w->data_source, "%s", spec);
        if (ends_with(spec, ".safetensors")) {
            st = tmlp_dataset_load_safetensors(spec, NULL, &w->data, &err);
            w->info.data_kind = "safetensors";
        } else {
            int have_labels = idx_labels_beside(spec, labels, sizeof labels);
            st = tmlp_dataset_load_idx(spec, have_labels ? labels : NULL, NULL, &w->data, &err);
            w->info.data_kind = "idx";
            if (have_labels) {
                snprintf(w->data_labels, sizeof w->data_labels, "%s", labels);
                w->info.data_labels = w->data_labels;
            } else if (!o->quiet) {
                tmlp_cli_error("note: no labels file beside %s; accuracy will be null", spec);
            }
        }
        w->info.fashion_names = contains_ci(spec, "fashion");
    }
    if (st != TMLP_OK) {
        tmlp_cli_error("--data %s: %s", spec, err.message[0] ? err.message : tmlp_status_str(st));
        return TMLP_EXIT_RUNTIME;
    }
    w->info.data_source = w->data_source;
    w->info.data_count = w->data->count;
    w->info.data_width = w->data->width;
    w->info.data_dtype = w->data->dtype == TMLP_DTYPE_U8 ? "u8" : "f32";
    w->info.data_labeled = w->data->labels != NULL;
    w->info.data_classes = w->data->labels ? w->data->n_classes : 0;
    if (w->info.data_classes != 10) w->info.fashion_names = 0;
    if (!w->is_null && w->data->width != w->info.model_input_width) {
        tmlp_cli_error("--data %s: samples have %" PRId64 " values but the model takes %" PRId64
                       " inputs", spec, w->data->width, w->info.model_input_width);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

static int64_t max_batch_of(const run_opts *o)
{
    int64_t m = 1;
    if (o->scenarios & (1u << TMLP_SCENARIO_MULTI_STREAM) && o->samples_per_query > m)
        m = o->samples_per_query;
    if (o->scenarios & (1u << TMLP_SCENARIO_OFFLINE))
        for (int i = 0; i < o->n_batches; i++)
            if (o->batches[i] > m) m = o->batches[i];
    return m;
}

static int build_workload(const run_opts *o, workload *w)
{
    int rc;
    if ((rc = load_model(o, w))) return rc;
    if ((rc = load_data(o, w))) return rc;
    if (o->mode == TMLP_MODE_ACCURACY && w->is_null)
        return tmlp_cli_usage_error("--mode accuracy: the null model makes no predictions; "
                                    "give a real model");
    if (o->mode == TMLP_MODE_ACCURACY && !w->data->labels) {
        tmlp_cli_error("--mode accuracy: the data set %s has no labels (use --data fashion or a "
                       ".safetensors with y)", w->data_source);
        return TMLP_EXIT_RUNTIME;
    }
    if (tmlp_blas_set_threads((int)o->blas_threads, NULL) != TMLP_OK) {
        tmlp_cli_error("--blas-threads: cannot set %" PRId64 " OpenBLAS threads", o->blas_threads);
        return TMLP_EXIT_RUNTIME;
    }
    if (w->is_null) {
        w->sut = tmlp_null_sut(w->data->count);
    } else {
        tmlp_error err = {0};
        tmlp_status st = tmlp_model_sut_create(w->model, w->data, (int)o->workers, max_batch_of(o),
                                               &w->msut, &err);
        if (st != TMLP_OK) {
            tmlp_cli_error("cannot start the model: %s",
                           err.message[0] ? err.message : tmlp_status_str(st));
            return TMLP_EXIT_RUNTIME;
        }
        w->sut = *tmlp_model_sut_callbacks(w->msut);
        if (o->threads != 1 && (st = tmlp_model_sut_set_threads(w->msut, (int)o->threads, &err)) != TMLP_OK) {
            tmlp_cli_error("--threads: %s", err.message[0] ? err.message : tmlp_status_str(st));
            return TMLP_EXIT_RUNTIME;
        }
        tmlp_model_sut_set_dispatch(w->msut, o->dispatch, NULL); /* parsed: cannot fail */
    }
    w->info.dispatch = w->is_null ? NULL : tmlp_sut_dispatch_name(o->dispatch);
    w->info.repeat_mode = o->repeat_exec && o->repeat > 1 ? "exec" : "process";
    w->info.workers = (int)o->workers;
    w->info.threads = w->msut ? tmlp_model_sut_threads(w->msut) : 1;
    w->info.blas_threads = tmlp_blas_get_threads(); /* 1 under --threads > 1 */
    return 0;
}

static void destroy_workload(workload *w)
{
    tmlp_model_sut_destroy(w->msut);
    tmlp_dataset_destroy(w->data);
    tmlp_model_destroy(w->model);
}

/* --- settings and progress ------------------------------------------------------------------ */

typedef struct progress_state {
    int shown;
    const char *label;
} progress_state;

static void on_progress(void *user, const tmlp_bench_progress *p)
{
    progress_state *ps = user;
    char p90[32];
    if (p->elapsed_ns < 1000000000u) return;
    fprintf(stderr, "\r\033[K[%s] %.1f/%.1f s  queries %" PRId64 " issued, %" PRId64
                    " done  running p90 %s", ps->label, (double)p->elapsed_ns / 1e9,
            (double)p->min_duration_ns / 1e9, p->queries_issued, p->queries_completed,
            tmlp_cli_fmt_ns(p->running_p90_ns, p90, sizeof p90));
    fflush(stderr);
    ps->shown = 1;
}

static double default_expected_qps(const run_opts *o, int64_t batch, char *why, size_t cap);

static tmlp_bench_settings settings_for(const run_opts *o, tmlp_scenario sc, int64_t batch)
{
    tmlp_bench_settings s = tmlp_bench_settings_default(sc);
    static const int64_t min_q[4] = {1024, 662, 1024, 1};
    static const int64_t quick_min_q[4] = {64, 662, 662, 1};
    s.mode = o->mode;
    s.min_duration_ms = (uint64_t)(o->min_duration_ms >= 0 ? o->min_duration_ms
                                                           : (o->quick ? 100 : 2000));
    s.max_duration_ms = (uint64_t)(o->max_duration_ms >= 0 ? o->max_duration_ms
                                                           : (o->quick ? 2000 : 0));
    s.min_query_count = o->min_queries > 0 ? o->min_queries : (o->quick ? quick_min_q[sc] : min_q[sc]);
    s.max_query_count = o->max_queries > 0 ? o->max_queries : 0;
    s.warmup_queries = o->warmup >= 0 ? o->warmup : (o->quick ? 8 : 32);
    s.target_qps = o->target_qps;
    s.target_latency_ns = o->latency_bound_ns;
    if (o->percentile > 0) s.target_latency_percentile = o->percentile;
    s.samples_per_query = o->samples_per_query;
    s.offline_batch_size = batch;
    s.workers = (int)o->workers;
    s.blas_threads = (int)o->blas_threads;
    if (o->sample_seed_set) s.sample_seed = o->sample_seed;
    if (o->schedule_seed_set) s.schedule_seed = o->schedule_seed;
    s.percentile_method = o->method;
    if (o->mode == TMLP_MODE_FIND_PEAK) {
        /* A failing QPS halves, and a low QPS needs long to reach the minimum query count:
         * 662 queries (the fewest early stopping accepts at p99) and each trial ends by
         * max(3 x min duration, the time 662 queries take at target_qps / 16); at most 12
         * trials. */
        if (o->min_queries <= 0) s.min_query_count = 662;
        if (o->max_duration_ms < 0) {
            double slow_ms = 1e3 * (double)s.min_query_count * 16.0 / s.target_qps;
            double cap = 3.0 * (double)s.min_duration_ms;
            if (slow_ms > cap) cap = slow_ms;
            s.max_duration_ms = cap > 3.6e6 ? 3600000u : (uint64_t)ceil(cap);
        }
        s.find_peak_max_runs = 12;
        /* The floor matches the duration cap above: a trial below target/16 cannot gather
         * its queries before max_duration_ms, so halving further only wastes time. */
        s.find_peak_min_qps = o->find_peak_min_qps > 0 ? o->find_peak_min_qps : s.target_qps / 16.0;
        s.find_peak_budget_ms = (uint64_t)(o->find_peak_budget_ms >= 0 ? o->find_peak_budget_ms : 60000);
    }
    if (sc == TMLP_SCENARIO_OFFLINE) {
        s.offline_sample_count = o->offline_samples;
        s.offline_expected_qps = o->offline_samples > 0 ? 0.0
                                 : o->offline_expected_qps > 0 ? o->offline_expected_qps
                                                                : default_expected_qps(o, batch, NULL, 0);
    }
    s.stop = (const volatile int *)&g_stop;
    s.keep_records = o->keep_records; /* else the run keeps ~17 bytes per query (docs/reliability.md) */
    return s;
}

/* The default offline expected QPS at this batch: the fixed rule of sizing.c (the ISA
 * class of the kernels and the batch), times the MPI ranks that share the query (an
 * explicit --offline-expected-qps is the total). It does not depend on --workers: the
 * workload (and its digest) stays the same when only the system changes, so runs with 1
 * and 2 workers compare. */
static double default_expected_qps(const run_opts *o, int64_t batch, char *why, size_t cap)
{
    int ranks = o->sizing_ranks > 0 ? o->sizing_ranks : 1;
    return tmlp_offline_expected_qps(o->sizing_model, batch, why, cap) * (double)ranks;
}

/* MemAvailable of /proc/meminfo in bytes; 0 when unknown (not Linux, an old kernel). */
static uint64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return kb > UINT64_MAX / 1024 ? UINT64_MAX : (uint64_t)kb * 1024;
}

static const char *fmt_bytes(uint64_t b, char *buf, size_t n)
{
    double v = (double)b;
    if (v >= 1099511627776.0) snprintf(buf, n, "%.1f TiB", v / 1099511627776.0);
    else if (v >= 1073741824.0) snprintf(buf, n, "%.1f GiB", v / 1073741824.0);
    else snprintf(buf, n, "%.1f MiB", v / 1048576.0);
    return buf;
}

/* Before any run: what the runs of this invocation will keep (tmlp_bench_estimate_memory
 * per row; every row's result stays until the output is written, the largest run's working
 * records come on top, and raw latencies in a JSON document cost ~100 bytes per query
 * while it is built) against MemAvailable. Refused (exit 1) when even the fewest queries
 * the settings allow do not fit; a warning when the estimate at an assumed closed-loop
 * rate (the null SUT: TMLP_BENCH_ESTIMATE_QPS; a model: the offline expected QPS, above
 * what a closed loop of one query at a time reaches) does not. Per process: MPI ranks
 * check their own share. */
static int memory_check(const run_opts *o, const workload *w, tmlp_mpi *mpi)
{
    uint64_t avail = mem_available();
    if (avail == 0) return 0;
    double rate = w->is_null || !w->model ? 0.0 : o->default_expected_qps;
    double kept = 0, kept_min = 0, work = 0, work_min = 0;
    const char *worst = NULL;
    tmlp_bench_memory_estimate big = {0};
    for (int sc = 0; sc < 4; sc++) {
        if (!(o->scenarios & (1u << sc))) continue;
        int n_runs = sc == TMLP_SCENARIO_OFFLINE ? o->n_batches : 1;
        for (int b = 0; b < n_runs; b++) {
            tmlp_bench_settings s = settings_for(o, (tmlp_scenario)sc, o->batches[b]);
            tmlp_mpi_settings(mpi, &s, w->sut.sample_count);
            tmlp_bench_memory_estimate e;
            if (tmlp_bench_estimate_memory(&s, w->sut.sample_count, rate, &e, NULL) != TMLP_OK) continue;
            double json = o->format == TMLP_OUT_JSON && o->raw_latencies
                          ? 100.0 * (sc == TMLP_SCENARIO_SERVER && o->keep_records ? 2 : 1) : 0.0;
            kept += (double)e.result_bytes + json * (double)e.queries;
            kept_min += (double)e.result_bytes * ((double)e.queries_min / (double)(e.queries > 0 ? e.queries : 1)) +
                        json * (double)e.queries_min;
            if ((double)e.peak_bytes > work) work = (double)e.peak_bytes;
            if ((double)e.peak_bytes_min > work_min) {
                work_min = (double)e.peak_bytes_min;
                worst = tmlp_scenario_name((tmlp_scenario)sc);
                big = e;
            }
        }
    }
    double need_min = kept_min + work_min, need = kept + work;
    char b1[32], b2[32];
    if (need_min > (double)avail) {
        tmlp_cli_error("the runs need at least %s of memory (%s: %" PRId64 " %s x %.0f bytes), more than "
                       "MemAvailable %s: shorten --min-duration-ms, lower --min-queries or --target-qps%s",
                       fmt_bytes(need_min >= 1.8e19 ? UINT64_MAX : (uint64_t)need_min, b1, sizeof b1), worst,
                       big.queries_min, strcmp(worst, "offline") ? "queries" : "runs of samples",
                       big.bytes_per_query, fmt_bytes(avail, b2, sizeof b2),
                       o->format == TMLP_OUT_JSON && o->raw_latencies ? ", or drop --raw-latencies" : "");
        return TMLP_EXIT_RUNTIME;
    }
    if (need > (double)avail)
        tmlp_cli_error("warning: the runs may need up to %s of memory (closed loops at %.0f queries/s), more than "
                       "MemAvailable %s; --max-queries or --max-duration-ms bound them",
                       fmt_bytes(need >= 1.8e19 ? UINT64_MAX : (uint64_t)need, b1, sizeof b1),
                       rate > 0 ? rate : TMLP_BENCH_ESTIMATE_QPS, fmt_bytes(avail, b2, sizeof b2));
    return 0;
}

/* Under MPI the offline runs (and accuracy) see only this rank's contiguous shard of the
 * samples: every sample is scored exactly once across the ranks. NULL with one rank. */
static int shard_for_rank(const tmlp_mpi *mpi, const run_opts *o, const workload *w, tmlp_sut_shard **out)
{
    int64_t first, count;
    *out = NULL;
    if (tmlp_mpi_size(mpi) < 2 || !(o->scenarios & (1u << TMLP_SCENARIO_OFFLINE))) return 0;
    tmlp_bench_shard(w->sut.sample_count, tmlp_mpi_rank(mpi), tmlp_mpi_size(mpi), &first, &count);
    tmlp_error err = {0};
    if (count < 1 || tmlp_sut_shard_create(&w->sut, first, count, max_batch_of(o), out, &err) != TMLP_OK) {
        tmlp_cli_error("cannot take this rank's shard of %" PRId64 " samples over %d ranks: %s",
                       w->sut.sample_count, tmlp_mpi_size(mpi), count < 1 ? "fewer samples than ranks" : err.message);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* --mode accuracy at a reduced precision: the same model at F32 on the same samples, and
 * the paired comparison (bench/precision.c) into pr; *have = 1 when it was made. Nothing
 * for an F32 model. The text block and the JSON's "paired_vs_f32" both come from pr. */
static int paired_vs_f32(const run_opts *o, const workload *w, tmlp_paired_acc *pr, int *have)
{
    tmlp_kernel_info ki;
    *have = 0;
    if (w->is_null || tmlp_model_kernel_info(w->model, &ki, NULL) != TMLP_OK || ki.precision == TMLP_PRECISION_F32)
        return 0;
    tmlp_model *ref = NULL;
    int rc = tmlp_precision_load(w->model_source, o->layers, SYNTHETIC_MODEL_SEED, TMLP_PRECISION_F32, &ref);
    if (!rc) rc = tmlp_paired_run(ref, w->model, w->data, o->alpha, pr);
    *have = !rc;
    tmlp_model_destroy(ref);
    return rc;
}

/* --- main ----------------------------------------------------------------------------------- */

static void print_header(FILE *f, const run_opts *o, const workload *w)
{
    const tmlp_run_info *i = &w->info;
    char cpu[256];
    double load[3];
    fprintf(f, "bench_mlp %s (git %s, %s build)\n", tmlp_version(), tmlp_context_git(), TMLP_BUILD_TYPE);
    if (!tmlp_context_cpu_name(cpu, sizeof cpu)) snprintf(cpu, sizeof cpu, "unknown CPU");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(f, "machine  : %s, %ld cores", cpu, cores);
    if (tmlp_context_load_average(load)) {
        fprintf(f, ", load average %.2f", load[0]);
        if (load[0] > 0.5 * (double)cores) fprintf(f, " (busy: other work shares the CPUs; expect noise)");
    }
    fputc('\n', f);
    tmlp_blas_info bi;
    tmlp_blas_get_info(&bi);
    fprintf(f, "blas     : %s, core %s, %d thread%s%s%s; chosen by %s\n", bi.name, bi.core, bi.threads,
            bi.threads == 1 ? "" : "s", bi.coretype_env[0] ? ", OPENBLAS_CORETYPE=" : "",
            bi.coretype_env, bi.core_source);
    if (bi.advice[0]) fprintf(f, "warning  : %s\n", bi.advice);
    if (i->mpi_ranks > 1) {
        fprintf(f, "mpi      : %d ranks on", i->mpi_ranks);
        for (int r = 0; r < i->mpi_ranks; r++) fprintf(f, "%s %s", r ? "," : "", i->mpi_hosts[r]);
        fputs(" (results merged over all ranks)\n", f);
    }
    tmlp_kernel_info ki;
    if (!w->is_null && tmlp_model_kernel_info(w->model, &ki, NULL) == TMLP_OK) {
        fprintf(f, "kernels  : %s (%s)", ki.name, ki.source);
        if (ki.kernel != TMLP_KERNEL_BLAS) {
            if (ki.crossover_max == INT64_MAX) fprintf(f, " at every batch size");
            else fprintf(f, " up to batch %" PRId64 ", OpenBLAS above", ki.crossover_max);
            fprintf(f, "; packed weights %zu bytes", ki.packed_bytes);
        }
        fprintf(f, "; available %s\n", ki.available);
        char pd[256];
        tmlp_precision_describe(w->model, pd, sizeof pd);
        fprintf(f, "precision: %s\n", pd);
    }
    if (!w->is_null)
        fprintf(f, "dispatch : %s (%s)\n", tmlp_sut_dispatch_name(o->dispatch),
                o->dispatch == TMLP_DISPATCH_INLINE    ? "every query computed in the issuing thread"
                : o->dispatch == TMLP_DISPATCH_WORKERS ? "every query queued to the worker threads"
                                                       : "single-stream and multi-stream computed in the issuing "
                                                         "thread, server and offline on the worker threads");
    if (w->is_null)
        fprintf(f, "model    : null (no-op SUT: measures the harness itself)\n");
    else
        fprintf(f, "model    : %s %s — %" PRId64 " -> %" PRId64 ", layers %s, %" PRId64 " parameters\n",
                i->model_kind, i->model_source, i->model_input_width, i->model_output_width,
                i->model_layers, i->model_params);
    if (!strcmp(i->data_kind, "synthetic"))
        fprintf(f, "data     : synthetic (seed %" PRIu64 ") — %" PRId64 " x %" PRId64 " %s, ",
                i->data_seed, i->data_count, i->data_width, i->data_dtype);
    else
        fprintf(f, "data     : %s %s — %" PRId64 " x %" PRId64 " %s, ", i->data_kind, i->data_source,
                i->data_count, i->data_width, i->data_dtype);
    if (i->data_labeled) fprintf(f, "labels with %d classes\n", i->data_classes);
    else fprintf(f, "no labels (accuracy n/a)\n");
    tmlp_bench_settings s = settings_for(o, TMLP_SCENARIO_SERVER, o->batches[0]);
    fprintf(f, "settings : mode %s; min duration %" PRIu64 " ms, max ", tmlp_mode_name(o->mode),
            s.min_duration_ms);
    if (s.max_duration_ms) fprintf(f, "%" PRIu64 " ms", s.max_duration_ms);
    else fputs("none", f);
    fputs("; min queries", f);
    for (int sc = 0; sc < 4; sc++)
        if (o->scenarios & (1u << sc))
            fprintf(f, " %s %" PRId64, tmlp_scenario_name((tmlp_scenario)sc),
                    settings_for(o, (tmlp_scenario)sc, 1).min_query_count);
    fprintf(f, "; warm-up %" PRId64 " queries; server %g QPS, latency bound %.3f ms",
            s.warmup_queries, s.target_qps, (double)s.target_latency_ns / 1e6);
    if (o->percentile > 0) fprintf(f, " at p%g", o->percentile);
    fprintf(f, "; samples/query %" PRId64 "; offline batch", o->samples_per_query);
    for (int b = 0; b < o->n_batches; b++) fprintf(f, "%s%" PRId64, b ? "," : " ", o->batches[b]);
    fprintf(f, "; workers %" PRId64 "; BLAS threads %" PRId64 "; sample seed %" PRIu64
               ", schedule seed %" PRIu64 "; percentiles %s", o->workers, o->blas_threads,
            s.sample_seed, s.schedule_seed, tmlp_percentile_method_name(o->method));
    if (o->repeat > 1) fprintf(f, "; %" PRId64 " repetitions of each scenario", o->repeat);
    fputc('\n', f);
    if ((o->scenarios & (1u << TMLP_SCENARIO_OFFLINE)) && o->mode != TMLP_MODE_ACCURACY) {
        if (o->offline_samples > 0)
            fprintf(f, "offline  : %" PRId64 " samples per query (--offline-samples)\n", o->offline_samples);
        for (int b = 0; o->offline_samples <= 0 && b < o->n_batches; b++) {
            tmlp_bench_settings so = settings_for(o, TMLP_SCENARIO_OFFLINE, o->batches[b]);
            char why[192];
            default_expected_qps(o, o->batches[b], why, sizeof why);
            fprintf(f, "offline  : batch %" PRId64 ": max(min queries %" PRId64 ", %.0f samples/s x %.3f s x 1.1) = %"
                       PRId64 " samples; expected samples/s %s%s\n", o->batches[b], so.min_query_count,
                    so.offline_expected_qps, (double)so.min_duration_ms / 1e3,
                    tmlp_workload_offline_samples(&so, w->sut.sample_count),
                    o->offline_expected_qps > 0 ? "from --offline-expected-qps" : "by the rule: ",
                    o->offline_expected_qps > 0 ? "" : why);
        }
    }
    fputc('\n', f);
}

/* Repetition k of one row in this process: *out gets the result. 0 or an exit code. */
static int run_row_once(const run_opts *o, workload *w, tmlp_sut_shard *shard, const tmlp_run_row *row,
                        const tmlp_bench_settings *settings, int64_t k, int show_progress, tmlp_bench_result **out)
{
    tmlp_bench_settings s = *settings;
    char plabel[64];
    snprintf(plabel, sizeof plabel, o->repeat > 1 ? "%s %" PRId64 "/%" PRId64 : "%s", row->label, k + 1, o->repeat);
    progress_state ps = {0, plabel};
    if (show_progress) {
        s.progress = on_progress;
        s.progress_user = &ps;
    }
    tmlp_error err = {0};
    /* under MPI, offline runs on this rank's shard of the samples */
    const tmlp_sut *sut = s.scenario == TMLP_SCENARIO_OFFLINE && shard ? tmlp_sut_shard_callbacks(shard) : &w->sut;
    tmlp_status st = tmlp_bench_run_scenario(&s, sut, out, &err);
    if (ps.shown) fputs("\r\033[K", stderr);
    if (st != TMLP_OK) {
        tmlp_cli_error("%s: %s", row->label, err.message[0] ? err.message : tmlp_status_str(st));
        return st == TMLP_ERR_ARG ? TMLP_EXIT_USAGE : TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* The argv of a repetition's fresh process (--repeat-mode exec): "run", this invocation's
 * options without those only the parent acts on (outputs, format, repetitions, the gate,
 * the monitor, what it prints), then "--repeat 1 --quiet --monitor-interval-ms 0
 * --results-fd FD" (FD filled per child: *fd_slot) and, when the parent traces, keep the
 * per-query records. --kernels / --precision reach the child through the environment
 * bench_mlp.c set. One allocation: free(*out). */
static int fresh_child_argv(int argc, char **argv, const run_opts *o, char ***out, int *fd_slot)
{
    static const char *const parent_only[] = {"output", "trace", "baseline", "threshold", "alpha", "force", "format",
                                              "repeat", "repeat-mode", "quiet", "monitor-interval-ms",
                                              "results-fd", "results-records", "no-raw-latencies", "raw-latencies",
                                              "summary", "verbose"};
    char **a = calloc((size_t)argc + 12, sizeof *a);
    if (!a) {
        tmlp_cli_error("out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    int n = 0;
    a[n++] = "bench_mlp";
    a[n++] = "run";
    for (int i = 1; i < argc; i++) {
        const char *x = argv[i];
        int drop = 0, takes_value = 0;
        if (!strcmp(x, "-o")) drop = takes_value = 1;
        else if (!strcmp(x, "-q") || !strcmp(x, "-v")) drop = 1;
        else if (!strncmp(x, "--", 2)) {
            size_t len = strcspn(x + 2, "=");
            for (const struct option *lo = long_options; lo->name; lo++)
                if (strlen(lo->name) == len && !strncmp(lo->name, x + 2, len)) {
                    takes_value = lo->has_arg == required_argument && x[2 + len] != '=';
                    for (size_t p = 0; p < sizeof parent_only / sizeof parent_only[0]; p++)
                        drop |= !strcmp(lo->name, parent_only[p]);
                }
        }
        if (!drop) a[n++] = argv[i];
        if (takes_value && i + 1 < argc) {
            if (!drop) a[n++] = argv[i + 1];
            i++;
        }
    }
    a[n++] = "--repeat";
    a[n++] = "1";
    a[n++] = "--quiet";
    a[n++] = "--monitor-interval-ms";
    a[n++] = "0";
    a[n++] = "--results-fd";
    *fd_slot = n;
    a[n++] = "-1"; /* set per child */
    if (o->keep_records) a[n++] = "--results-records";
    a[n] = NULL;
    *out = a;
    return 0;
}

int tmlp_cmd_run(int argc, char **argv)
{
    run_opts o;
    int done = 0, rc;
    if ((rc = parse_options(argc, argv, &o, &done)) || done) return rc;
    tmlp_mpi *mpi = NULL;
    tmlp_sut_shard *shard = NULL;
    int agreed = 0; /* every rank has said it is ready (tmlp_mpi_agree) */
    if ((rc = tmlp_mpi_start(&mpi, &g_stop))) return rc;
    /* repetitions in fresh processes by default (bench/aa_rate.sh, docs/statistics.md), but
     * not under mpirun, where every rank would start its own */
    if (o.repeat_exec < 0) o.repeat_exec = tmlp_mpi_size(mpi) <= 1;
    if (tmlp_mpi_rank(mpi) > 0) { /* rank 0 alone writes results, traces and verdicts */
        o.output = "/dev/null";
        o.trace = o.baseline = NULL;
        o.quiet = 1;
        o.monitor_interval_ms = 0;
    }

    FILE *out = stdout, *trace = NULL;
    tmlp_cli_output out_file = {0}, trace_file = {0}, summary_file = {0};
    cJSON *baseline = NULL;
    tmlp_cli_polls = 1;
    tmlp_monitor *mon = NULL;
    tmlp_run_resources res;
    memset(&res, 0, sizeof res);
    workload w;
    memset(&w, 0, sizeof w);
    w.info.argc = argc;
    w.info.argv = argv;
    w.info.sample_seed = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM).sample_seed;
    w.info.schedule_seed = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER).schedule_seed;
    if (o.sample_seed_set) w.info.sample_seed = o.sample_seed;
    if (o.schedule_seed_set) w.info.schedule_seed = o.schedule_seed;

    tmlp_run_row rows[MAX_ROWS];
    int n_rows = 0;
    const char **hosts = NULL;
    /* An output must not replace an input or another output (checked before any file is
     * opened; the temporary files make a clash invisible until the rename). */
    const tmlp_cli_path outs[] = {{"--output", o.output}, {"--trace", o.trace}, {"--summary", o.summary}};
    const tmlp_cli_path ins[] = {{"--model", o.model}, {"--data", o.data}, {"--baseline", o.baseline}};
    if ((rc = tmlp_cli_check_outputs(outs, 3, ins, 3))) goto done;
    if ((rc = build_workload(&o, &w))) goto done;
    /* the offline sizing rule reads the model (its FLOPs, kernels, precision); N ranks offer
     * N times one process's assumed rate (an explicit rate is the total) */
    o.sizing_model = w.is_null ? NULL : w.model;
    o.sizing_ranks = tmlp_mpi_size(mpi);
    o.default_expected_qps = default_expected_qps(&o, 1, NULL, 0);
    for (int b = 0; b < o.n_batches; b++) {
        double q = default_expected_qps(&o, o.batches[b], NULL, 0);
        if (q > o.default_expected_qps) o.default_expected_qps = q;
    }
    if ((rc = shard_for_rank(mpi, &o, &w, &shard))) goto done;
    if (tmlp_mpi_size(mpi) > 1) {
        hosts = calloc((size_t)tmlp_mpi_size(mpi), sizeof *hosts);
        if (!hosts) {
            tmlp_cli_error("out of memory");
            rc = TMLP_EXIT_RUNTIME;
            goto done;
        }
        for (int r = 0; r < tmlp_mpi_size(mpi); r++) hosts[r] = tmlp_mpi_host(mpi, r);
        w.info.mpi_ranks = tmlp_mpi_size(mpi);
        w.info.mpi_hosts = hosts;
    }
    /* Open the output files before measuring: an unwritable path fails in a second, not
     * after the whole benchmark. */
    if (o.output && (rc = tmlp_cli_output_open(&out_file, "--output", o.output))) goto done;
    if (o.output) out = out_file.f;
    if (o.trace && (rc = tmlp_cli_output_open(&trace_file, "--trace", o.trace))) goto done;
    if (o.trace) trace = trace_file.f;
    if (o.summary && (rc = tmlp_cli_output_open(&summary_file, "--summary", o.summary))) goto done;
    /* the baseline too: a missing or malformed file fails before the benchmark */
    if (o.baseline && access(o.baseline, R_OK) != 0) {
        tmlp_cli_error("--baseline: cannot read \"%s\": %s", o.baseline, strerror(errno));
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }
    if (o.baseline && !(baseline = ru_read_json(o.baseline))) {
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }
    if (baseline && !tmlp_results_runs(baseline, o.baseline)) {
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }
    /* a trace draws every query and sample; MPI merges the ranks' records by start time */
    o.keep_records = o.trace != NULL || tmlp_mpi_size(mpi) > 1 || o.results_records;
    if (o.repeat_exec && o.repeat > 1 && tmlp_mpi_size(mpi) > 1) {
        rc = tmlp_cli_usage_error("--repeat-mode exec: not under mpirun (each rank would start its own processes); "
                                  "use --repeat-mode process");
        goto done;
    }
    if ((rc = memory_check(&o, &w, mpi))) goto done;
    /* Under MPI: a rank that failed above makes every rank stop here, not hang later. */
    agreed = 1;
    if ((rc = tmlp_mpi_agree(mpi, 0))) goto done;

    int show_progress = !o.quiet && isatty(STDERR_FILENO);
    int text = o.format == TMLP_OUT_TABLE;
    if (text && !o.quiet) print_header(out, &o, &w);

    /* The resource monitor covers every run. A
     * monitor that cannot start costs the resource figures, not the benchmark. */
    if (o.monitor_interval_ms > 0) {
        tmlp_error merr = {0};
        res.interval_ms = (uint32_t)o.monitor_interval_ms;
        res.start_ns = tmlp_time_now_ns();
        if (tmlp_monitor_create(res.interval_ms, &mon, &merr) != TMLP_OK ||
            tmlp_monitor_start(mon, &merr) != TMLP_OK) {
            if (!o.quiet)
                tmlp_cli_error("note: the resource monitor did not start (%s); resource figures are absent",
                               merr.message[0] ? merr.message : "unknown error");
            tmlp_monitor_destroy(mon);
            mon = NULL;
        }
    }

    /* The rows: one per scenario, offline one per batch size, in this order. */
    tmlp_bench_settings row_settings[MAX_ROWS];
    for (int sc = 0; sc < 4; sc++) {
        if (!(o.scenarios & (1u << sc))) continue;
        int n_runs = sc == TMLP_SCENARIO_OFFLINE ? o.n_batches : 1;
        for (int b = 0; b < n_runs && n_rows < MAX_ROWS; b++) {
            tmlp_run_row *row = &rows[n_rows];
            memset(row, 0, sizeof *row);
            row->no_raw_latencies = !o.raw_latencies;
            row_settings[n_rows] = settings_for(&o, (tmlp_scenario)sc, o.batches[b]);
            tmlp_mpi_settings(mpi, &row_settings[n_rows], w.sut.sample_count);
            if (sc == TMLP_SCENARIO_OFFLINE && o.n_batches > 1)
                snprintf(row->label, sizeof row->label, "offline b=%" PRId64, o.batches[b]);
            else
                snprintf(row->label, sizeof row->label, "%s", tmlp_scenario_name((tmlp_scenario)sc));
            if (o.mode == TMLP_MODE_FIND_PEAK) snprintf(row->label, sizeof row->label, "server find-peak");
            if (sc <= TMLP_SCENARIO_MULTI_STREAM && tmlp_mpi_size(mpi) > 1) /* one closed loop per rank */
                snprintf(row->label, sizeof row->label, "%s (%d streams)", tmlp_scenario_name((tmlp_scenario)sc),
                         tmlp_mpi_size(mpi));
            if (o.repeat > 1 && !(row->reps = calloc((size_t)o.repeat, sizeof *row->reps))) {
                tmlp_cli_error("out of memory");
                rc = TMLP_EXIT_RUNTIME;
                goto done;
            }
            n_rows++;
        }
    }
    /* Repetitions round-robin: repetition k of every row, then k + 1. Each is a full run
     * with its own validity. Round-robin rather than a row's N runs back to back, so the
     * repetitions of one row are spread over the whole invocation and their spread
     * includes the machine's slow drift (clock, neighbours) that a later comparison will
     * meet too. With --repeat-mode exec each repetition k is a fresh process that runs
     * every row once (fresh.c). Repetition 1 keeps its raw arrays in row->result, the others
     * only their figures. A row's summary is printed after its last repetition. */
    char **child_argv = NULL;
    int fd_slot = 0;
    int exec_mode = o.repeat_exec && o.repeat > 1;
    if (exec_mode && (rc = fresh_child_argv(argc, argv, &o, &child_argv, &fd_slot))) goto done;
    for (int64_t k = 0; k < o.repeat && !g_stop; k++) {
        tmlp_bench_result *fresh[MAX_ROWS] = {NULL};
        int child_pid = 0;
        if (exec_mode) {
            if (show_progress) {
                fprintf(stderr, "\r\033[K[repetition %" PRId64 "/%" PRId64 " in a fresh process]", k + 1, o.repeat);
                fflush(stderr);
            }
            rc = tmlp_fresh_run(child_argv, fd_slot, n_rows, fresh, &child_pid);
            if (show_progress) fputs("\r\033[K", stderr);
            if (rc) {
                if (g_stop) rc = 0; /* interrupted: what ran so far is printed */
                break;
            }
        }
        for (int i = 0; i < n_rows && !g_stop; i++) {
            tmlp_run_row *row = &rows[i];
            tmlp_bench_result *r = fresh[i];
            if (!exec_mode && (rc = run_row_once(&o, &w, shard, row, &row_settings[i], k, show_progress, &r)))
                goto done;
            if (row->reps) {
                tmlp_rep_from_result(r, &row->reps[row->n_reps]);
                if (exec_mode) row->reps[row->n_reps].pid = child_pid;
                row->n_reps++;
            }
            if (!row->result) row->result = r;
            else tmlp_bench_result_destroy(r);
            if (k == o.repeat - 1) { /* the row's last repetition: its summary */
                tmlp_rep_aggregate(row);
                if (summary_file.f) tmlp_out_summary(summary_file.f, row, &w.info);
                if (text && o.verbose && summary_file.f != out) tmlp_out_summary(out, row, &w.info);
                fflush(out);
            }
        }
    }
    free(child_argv);
    if (rc) goto done;
    /* A repetition's child: hand the results to the parent and print nothing (fresh.c). */
    if (o.results_fd >= 0) {
        tmlp_bench_result *res_of[MAX_ROWS];
        for (int i = 0; i < n_rows; i++) res_of[i] = rows[i].result;
        if (g_stop) goto done;
        if (tmlp_fresh_emit(o.results_fd, res_of, n_rows)) {
            tmlp_cli_error("--results-fd: cannot write the results: %s", strerror(errno));
            rc = TMLP_EXIT_RUNTIME;
        }
        goto done;
    }
    /* Interrupted: aggregate what ran; rows that never ran are dropped. */
    if (g_stop) {
        int kept = 0;
        for (int i = 0; i < n_rows; i++) {
            if (!rows[i].result) {
                tmlp_rep_free(&rows[i]);
                continue;
            }
            if (rows[i].n_reps < o.repeat) tmlp_rep_aggregate(&rows[i]);
            rows[kept++] = rows[i];
        }
        n_rows = kept;
    }
    if (mon && tmlp_monitor_stop(mon, NULL) == TMLP_OK &&
        tmlp_monitor_get_summary(mon, &res.summary, NULL) == TMLP_OK) {
        res.have = 1;
        res.monitor = mon;
    }
    /* Interrupted: the file outputs are dropped (the targets keep what they held); on
     * stdout what was measured is still printed, marked INVALID (interrupted). main()
     * prints the line naming the signal. */
    if (g_stop) {
        tmlp_cli_output_abort(&out_file);
        tmlp_cli_output_abort(&trace_file);
        tmlp_cli_output_abort(&summary_file);
        if (o.trace && strcmp(o.trace, "-")) trace = NULL;
        if (o.output && strcmp(o.output, "-")) goto done;
    }

    const int32_t *labels = w.data ? w.data->labels : NULL;
    tmlp_paired_acc paired;
    int have_paired = 0;
    if (o.mode == TMLP_MODE_ACCURACY && o.format != TMLP_OUT_CSV && !g_stop &&
        (rc = paired_vs_f32(&o, &w, &paired, &have_paired)))
        goto done;
    if (have_paired) {
        tmlp_kernel_info ki;
        w.info.paired = &paired;
        w.info.paired_name =
            tmlp_model_kernel_info(w.model, &ki, NULL) == TMLP_OK ? tmlp_precision_name(ki.precision) : "?";
        w.info.paired_alpha = o.alpha;
    }
    if (o.format == TMLP_OUT_JSON) {
        if (tmlp_out_json(out, &w.info, rows, n_rows, labels, &res)) {
            tmlp_cli_error("--output: cannot write the JSON document: %s", strerror(errno));
            rc = TMLP_EXIT_RUNTIME;
            goto done;
        }
    } else {
        if (o.mode == TMLP_MODE_ACCURACY && o.format != TMLP_OUT_CSV)
            for (int i = 0; i < n_rows; i++)
                tmlp_out_confusion(out, &rows[i], labels, w.info.data_classes, w.info.fashion_names);
        tmlp_out_table(out, o.format, rows, n_rows);
        if (have_paired) {
            fputc('\n', out);
            tmlp_paired_print(out, "f32", w.info.paired_name, &paired, o.alpha);
        }
        tmlp_rep_table(out, o.format, rows, n_rows, o.alpha);
        tmlp_out_per_rank(out, o.format, rows, n_rows);
        if (!o.quiet) tmlp_out_verdicts(out, o.format, rows, n_rows, o.summary, o.verbose);
        if (!o.quiet) tmlp_out_resources(out, o.format, &res); /* --quiet: results only */
        if (!o.quiet && exec_mode && res.have)
            fputs("  (--repeat-mode exec: the repetitions ran in child processes, which this block does not "
                  "count)\n", out);
    }
    if (trace) {
        int bad = tmlp_out_trace(trace, rows, n_rows, &res);
        trace = NULL;
        if (bad) {
            tmlp_cli_error("--trace: cannot write the trace: %s", strerror(errno));
            rc = TMLP_EXIT_RUNTIME;
            goto done;
        }
        if ((rc = tmlp_cli_output_commit(&trace_file))) goto done;
    }
    rc = g_stop ? TMLP_EXIT_INTERRUPTED : TMLP_EXIT_OK;
    if (baseline && !g_stop) {
        /* The same comparison as `bench_mlp regress FILE CURRENT`, on this run's document.
         * It follows the table; it stays out of a csv/json stream on stdout. */
        FILE *gate = o.format == TMLP_OUT_TABLE || o.format == TMLP_OUT_MARKDOWN ? out
                     : out == stdout ? stderr : stdout;
        cJSON *cur = tmlp_out_json_doc(&w.info, rows, n_rows, labels, &res);
        if (!cur) {
            tmlp_cli_error("--baseline: out of memory building this run's results");
            rc = TMLP_EXIT_RUNTIME;
            goto done;
        }
        if (gate == out) fputc('\n', gate);
        rc = tmlp_regress_docs(gate, baseline, cur, o.threshold, o.alpha, o.baseline, "this run", o.force);
        cJSON_Delete(cur);
    } else if (baseline && !o.quiet) {
        tmlp_cli_error("--baseline: interrupted runs are not compared");
    }

done:
    if (!agreed) {
        agreed = 1;
        int any = tmlp_mpi_agree(mpi, rc); /* this rank failed before the meeting point */
        if (!rc) rc = any;
    }
    /* The results file appears only now, complete, and only if everything before worked:
     * a failed run, a bad --baseline or a signal leaves the previous file in place. */
    if (!g_stop && (rc == TMLP_EXIT_OK || rc == TMLP_EXIT_REGRESSION)) {
        int wrc = tmlp_cli_output_commit(&out_file);
        if (!wrc) wrc = tmlp_cli_output_commit(&summary_file);
        if (wrc) rc = wrc;
    }
    tmlp_cli_output_abort(&out_file);
    tmlp_cli_output_abort(&trace_file);
    tmlp_cli_output_abort(&summary_file);
    for (int i = 0; i < n_rows; i++) {
        tmlp_bench_result_destroy(rows[i].result);
        tmlp_rep_free(&rows[i]);
    }
    tmlp_monitor_destroy(mon);
    cJSON_Delete(baseline);
    tmlp_sut_shard_destroy(shard);
    destroy_workload(&w);
    free(hosts);
    tmlp_mpi_finish(mpi);
    if (g_stop && rc == TMLP_EXIT_OK) rc = TMLP_EXIT_INTERRUPTED;
    return rc;
}
