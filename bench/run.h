/* run.h — what the default run (cmd_run.c) hands to its writers: the context of the
 * invocation (context.c) and the table / markdown / CSV / JSON / trace writers (output.c).
 *
 * A "row" is one finished harness run (tmlp_bench_result) plus the label it gets in the
 * latency table ("server", "offline b=256"). Rows are kept in the order they ran.
 * The JSON document is {"context": {...}, "runs": [R, ...]} with the names docs/bench_mlp.md lists;
 * docs/bench_mlp.md ("Output formats") documents every field.
 */
#ifndef TMLP_BENCH_RUN_H
#define TMLP_BENCH_RUN_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "tinymlp/bench.h"
#include "tinymlp.h"

/* Output formats of --format. */
typedef enum tmlp_out_format {
    TMLP_OUT_TABLE = 0,
    TMLP_OUT_MARKDOWN,
    TMLP_OUT_CSV,
    TMLP_OUT_JSON
} tmlp_out_format;

/* Everything about the workload that a reader needs to reproduce the run. */
typedef struct tmlp_run_info {
    int argc;
    char **argv;                /* the full command line */
    const char *model_kind;     /* "file", "synthetic" or "null" */
    const char *model_source;   /* the path, "synthetic:784x512x512x10" or "null" */
    char model_layers[256];     /* "linear,relu,linear,softmax" ("" for null) */
    int64_t model_input_width;  /* 0 for null */
    int64_t model_output_width;
    int64_t model_params;
    int model_has_file_hash;
    uint64_t model_file_hash;   /* FNV-1a 64 of the model file's bytes */
    uint64_t model_seed;        /* synthetic models */
    const char *data_kind;      /* "synthetic", "safetensors" or "idx" */
    const char *data_source;    /* path of the data file (images for IDX) or "synthetic" */
    const char *data_labels;    /* IDX labels path or NULL */
    int64_t data_count, data_width;
    const char *data_dtype;     /* "f32" or "u8" */
    int data_labeled;
    int data_classes;
    uint64_t data_seed;         /* synthetic data */
    uint64_t sample_seed, schedule_seed;
    int workers, blas_threads;
    int threads;                /* intra-op threads per session (--threads) */
    int fashion_names;          /* labels are Fashion-MNIST classes: print their names */
    int mpi_ranks;              /* > 1 under mpirun (mpi_ranks.h); 0 otherwise */
    const char **mpi_hosts;     /* host of each rank, mpi_ranks of them */
    const tmlp_model *model;    /* the model run (for the "kernels" context), NULL for null */
    const char *dispatch;       /* the model SUT's dispatch ("auto", ...), NULL for null */
    const char *repeat_mode;    /* "process" or "exec" (--repeat-mode) */
    /* --mode accuracy at a reduced precision: the paired comparison with the same model at
     * F32 (precision.h), written as the document's "paired_vs_f32"; NULL otherwise. */
    const struct tmlp_paired_acc *paired;
    const char *paired_name;    /* the precision compared ("int8") */
    double paired_alpha;
} tmlp_run_info;

/* --- repetitions (repeat.c) -------------------------------------------------------------
 * `--repeat N` runs each scenario N times, round-robin. Each repetition is a full run with
 * its own validity; the row keeps one tmlp_rep_summary per repetition and, in `result`,
 * repetition 1's raw arrays (latencies, trace) with its summary figures REPLACED by the
 * aggregate: the median over repetitions of every latency figure, of the throughput and
 * of the early-stopping estimates; queries and samples summed; valid only if every
 * repetition is. The between-repetition CV of each metric is the run's own noise. */
#define TMLP_MAX_REPEAT TMLP_BENCH_MAX_REPEAT /* include/tinymlp/bench_limits.h */
#define TMLP_REP_ALPHA 0.05 /* the level of the noise floor written with a run */

typedef struct tmlp_rep_summary {
    int valid, interrupted, n_reasons;
    char reason[256];               /* the first INVALID reason, "" if valid */
    int64_t queries, samples, correct, labeled;
    uint64_t duration_ns, digest;
    double throughput;              /* samples/s */
    tmlp_latency_summary latency;
    double es_estimate_ns, es_estimate_p99_ns;
    int pid;                        /* the process it ran in (--repeat-mode exec: a child's) */
} tmlp_rep_summary;

/* The metrics a repeated run aggregates and the regression gate compares, with their
 * JSON names: latency mean/p50/p90/p99 (ns, lower is better), throughput (samples/s,
 * higher is better). */
typedef enum tmlp_rep_metric {
    TMLP_RM_MEAN = 0, TMLP_RM_P50, TMLP_RM_P90, TMLP_RM_P99, TMLP_RM_THROUGHPUT, TMLP_RM_COUNT
} tmlp_rep_metric;

typedef struct tmlp_run_row {
    tmlp_bench_result *result;
    char label[48];
    int n_reps;                     /* 0 or 1: a single run (no "repetitions" in the JSON) */
    tmlp_rep_summary *reps;         /* n_reps entries, malloc'ed; NULL when n_reps <= 1 */
    int no_raw_latencies;           /* bench_mlp --no-raw-latencies: no "latencies_ns" in the JSON */
} tmlp_run_row;

const char *tmlp_rep_metric_name(tmlp_rep_metric m);      /* "mean", "p50", ... "throughput" */
const char *tmlp_rep_metric_unit(tmlp_rep_metric m);      /* "ns" or "samples/s" */
/* Value of metric m of one repetition (NaN if absent). */
double tmlp_rep_value(const tmlp_rep_summary *s, tmlp_rep_metric m);
/* A repetition's figures, copied out of its result. */
void tmlp_rep_from_result(const tmlp_bench_result *r, tmlp_rep_summary *out);
/* Overwrite row->result's summary figures with the aggregate of row->reps (see above).
 * No-op when n_reps <= 1. */
void tmlp_rep_aggregate(tmlp_run_row *row);
/* Between-repetition CV (sd/mean) of metric m; NaN when n_reps < 2. */
double tmlp_rep_cv(const tmlp_run_row *row, tmlp_rep_metric m);
/* The row's "repetitions" array and "aggregate" object (n, median, cv, noise_floor at
 * alpha) added to its JSON object o. No-op when n_reps <= 1. 0, or -1 on out-of-memory. */
int tmlp_rep_add_json(cJSON *o, const tmlp_run_row *row, double alpha);
/* After the table: each repeated row's spread (CV per metric) and its noise floor. */
void tmlp_rep_table(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n, double alpha);
/* Free row->reps. */
void tmlp_rep_free(tmlp_run_row *row);

/* What the resource monitor (tinymlp/monitor.h) saw while the runs ran. */
typedef struct tmlp_run_resources {
    int have;                       /* 1 when `summary` holds a completed window */
    uint32_t interval_ms;           /* sampling interval */
    tmlp_monitor_summary summary;
    const tmlp_monitor *monitor;    /* its time series (trace counters); may be NULL */
    uint64_t start_ns;              /* tmlp_time_now_ns() when the window began */
} tmlp_run_resources;

/* --- workload_opts.c: the kernel and precision of every model the CLI loads ------------------
 * --kernels K and --precision P are options of every command: bench_mlp.c takes them out
 * of the command line once, checks them and hands them here before the command runs. Every
 * model the CLI loads is then loaded with them through tmlp_model_options (never through the
 * environment), and a run's options (workload.h) start from them. AUTO, the default, is the
 * library's own choice (the user's TMLP_KERNELS / TMLP_PRECISION, else cpuid and F32). */
void tmlp_cli_models_set(tmlp_kernel kernel, tmlp_precision precision);
/* tmlp_model_options_default() with that kernel and precision. */
tmlp_model_options tmlp_cli_model_options(void);

/* --- context.c ------------------------------------------------------------------------ */

/* The "context" object: host, cpu, cores, os, compiler, build_type, version, blas, timer,
 * seeds, command_line, model, data. NULL on out-of-memory. */
cJSON *tmlp_context_json(const tmlp_run_info *info);
/* The median of back-to-back tmlp_time_now_ns() differences, measured now. */
uint64_t tmlp_context_timer_overhead_ns(void);
/* The git revision recorded at configure time ("76fb816-dirty", "unknown"). */
const char *tmlp_context_git(void);
/* The shipped model's path into out (workload.c): beside the executable (build tree or
 * installed prefix), the configured install location, the source tree. 1 if found. */
int tmlp_find_default_model(char *out, size_t cap);
/* /proc/loadavg's 1, 5 and 15 minute figures; 0 if unreadable. */
int tmlp_context_load_average(double out[3]);
/* The CPU model name from /proc/cpuinfo into buf; 0 if unknown. */
int tmlp_context_cpu_name(char *buf, size_t cap);

/* --- output.c ------------------------------------------------------------------------- */

/* LoadGen-style summary of one run (mlperf_log_summary.txt order). */
void tmlp_out_summary(FILE *f, const tmlp_run_row *row, const tmlp_run_info *info);
/* After the table (table and markdown formats): one line per run — VALID or INVALID, the
 * figure it is judged by, repetitions VALID — and each reason it is INVALID with what to
 * change; then where the full summaries are (`summary` = --summary's path, or NULL). */
void tmlp_out_verdicts(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n, const char *summary,
                       int verbose);
/* The latency table: one row per run; units in headers; the percentile method below. */
void tmlp_out_table(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n);
/* Runs merged from several ranks (result->parts): one line per rank with its samples,
 * throughput, p50, p99 and host, and the ranks flagged as stragglers (> 3 MAD from the
 * median p99 or throughput, tmlp_bench_stragglers). Nothing for one-process runs. */
void tmlp_out_per_rank(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n);
/* Accuracy and a confusion matrix (rows = true class, columns = predicted) from an
 * accuracy-mode run. Prints nothing when the run has no labels/predictions. */
void tmlp_out_confusion(FILE *f, const tmlp_run_row *row, const int32_t *labels,
                        int n_classes, int fashion_names);
/* One element of "runs". `labels`/`n_classes` add a confusion matrix in accuracy mode. */
/* Checked JSON building (a failed allocation inside cJSON must not leave a
 * valid-looking document missing keys, written with exit 0). cJSON allocates through
 * hooks that count every failed allocation; a builder takes the count before it starts
 * and, if it changed, discards its document and reports out of memory — so a document is
 * complete or absent, whichever Add* call's result was not checked. The first call
 * installs the hooks (cJSON's hooks are process-wide by cJSON's design; the count is the
 * one piece of global state, atomic). */
unsigned long tmlp_json_failures(void);
/* A builder's own allocation (outside cJSON) failed: counted like cJSON's. */
void tmlp_json_fail(void);
/* cJSON_AddItemToObject / ToArray that never leak: an item that cannot be attached (no
 * parent, the key's copy failed) is deleted and counted as a failure; a NULL item is one. */
void tmlp_json_add(cJSON *parent, const char *key, cJSON *item);
void tmlp_json_append(cJSON *array, cJSON *item);

cJSON *tmlp_out_run_json(const tmlp_run_row *row, const int32_t *labels, int n_classes,
                         int fashion_names);
/* The whole document {"context", "runs", "resources"} ("resources" only when res->have);
 * NULL on out-of-memory. */
cJSON *tmlp_out_json_doc(const tmlp_run_info *info, const tmlp_run_row *rows, int n,
                         const int32_t *labels, const tmlp_run_resources *res);
/* tmlp_out_json_doc printed to f; returns 0, or -1 on out-of-memory / write error. */
int tmlp_out_json(FILE *f, const tmlp_run_info *info, const tmlp_run_row *rows, int n,
                  const int32_t *labels, const tmlp_run_resources *res);
/* The "resources" object — THE writer of resource figures (the run's JSON and the
 * report's resources.json both use it): duration_ns, interval_ms, n_samples,
 * cpu_user_pct, cpu_system_pct (% of one core), core_busy_pct[], rss_peak_bytes,
 * rss_mean_bytes, rss_start_bytes, vm_hwm_bytes, maxrss_bytes, voluntary_ctx,
 * involuntary_ctx, minor_faults, major_faults, max_threads. A figure the monitor could
 * not read is left out (never 0). With `series` non-NULL, also "series": one object per
 * sample {t_ns, cpu_user_pct, cpu_system_pct, rss_bytes, threads}. NULL on OOM. */
cJSON *tmlp_out_resources_json(const tmlp_monitor_summary *s, uint32_t interval_ms,
                               const tmlp_monitor *series);
/* A short resource summary after the latency table (table and markdown formats). */
void tmlp_out_resources(FILE *f, tmlp_out_format fmt, const tmlp_run_resources *res);
/* Chrome trace-event JSON on the real time line (ts in us from the first run's start, or
 * from the monitor's start when there is one):
 *   - one complete ("X") event per measured query that completed, from its start
 *     (server: scheduled time) to completion; tid = 1 + row index, named after the run;
 *   - where queries hold several samples (multi-stream, offline), one "X" event per
 *     SAMPLE from its query's start to the sample's completion on tid 1001 + row index;
 *     at most TMLP_TRACE_MAX_SAMPLE_EVENTS per run: beyond that every k-th sample is
 *     written and the thread name and each event's "stride" arg say k;
 *   - the resource monitor's counter events ("cpu %", "rss MB", "threads").
 * 0 on success, -1 (errno set) on failure. */
#define TMLP_TRACE_MAX_SAMPLE_EVENTS 200000
int tmlp_out_trace(FILE *f, const tmlp_run_row *rows, int n, const tmlp_run_resources *res);

/* --- gate.c: the regression gate ---------------------------------------------------------- */

/* The regression gate of `bench_mlp regress`, for any caller (the run's --baseline): compare
 * two results documents run by run and print the per-metric lines and the summary to f.
 * Returns TMLP_EXIT_REGRESSION (3) if any metric regressed, TMLP_EXIT_OK, or
 * TMLP_EXIT_RUNTIME when the documents cannot be compared (error line printed). */
int tmlp_regress_docs(FILE *f, const cJSON *base, const cJSON *cur, double threshold, double alpha,
                      const char *base_name, const char *cur_name, int force);

/* The run-level gate's family, built once from two results documents and decided by the
 * ONE rule (tmlp_regress_decide, report.h): `regress`, `--baseline` and `compare` on results
 * files all read their verdicts from it, so they cannot disagree on the same files. Runs
 * are matched by label; each matched run contributes latency mean, p50, p90, p99 (lower is
 * better) and throughput (higher is better) — offline its throughput only — one value per
 * repetition. */
#define TMLP_GATE_MAX 256
typedef struct tmlp_gate_item {
    char label[48];                 /* the run's label ("single-stream", "offline b=256") */
    char scenario[32];
    tmlp_rep_metric metric;
    double base[TMLP_MAX_REPEAT], cur[TMLP_MAX_REPEAT];
    tmlp_regress_metric m;          /* the rule's input (pointing into base/cur) and output */
} tmlp_gate_item;
typedef struct tmlp_gate {
    tmlp_gate_item item[TMLP_GATE_MAX];
    int n;                          /* metrics in the family */
    int tested;                     /* of them with >= TMLP_REGRESS_MIN_REPS repetitions a side */
    int matched;                    /* runs found in both documents */
} tmlp_gate;
/* Build and decide g (caller-allocated: it is large). With f non-NULL, one line per run
 * only in `cur` and per INVALID run is printed there. 0, or TMLP_EXIT_RUNTIME (message
 * printed). The documents' comparability is the caller's to check first. */
int tmlp_gate_build(FILE *f, const cJSON *base, const cJSON *cur, double threshold, double alpha, tmlp_gate *g);
/* The item of run `label` and metric m, or NULL. */
const tmlp_gate_item *tmlp_gate_find(const tmlp_gate *g, const char *label, tmlp_rep_metric m);
/* --threshold: a fraction ("0.05") or a percent ("5%"); 0 or TMLP_EXIT_USAGE. */
int tmlp_regress_parse_threshold(const char *s, double *out);

/* --- fresh.c: repetitions in fresh processes (--repeat-mode exec) ------------------------ */

/* Child side: write the n results to fd (the frames fresh.c describes); 0 or -1. */
int tmlp_fresh_emit(int fd, tmlp_bench_result *const *results, int n);
/* Parent side: run /proc/self/exe with child_argv (NULL-terminated; child_argv[fd_slot] is
 * set here to the pipe's descriptor) and read its n_rows results into out[]; *pid gets the
 * child's process id. 0, or an exit code after an error line (out[] then holds nothing). */
int tmlp_fresh_run(char **child_argv, int fd_slot, int n_rows, tmlp_bench_result **out, int *pid);

/* --- sizing.c ----------------------------------------------------------------------------- */

/* The default offline expected QPS of model m (NULL: the null SUT) at this batch: the fixed
 * rule at the top of sizing.c (FLOPs per sample over an assumed GFLOP/s by the ISA class
 * of the kernels at that batch, plus 1 us per batch; x2 BF16, x4 INT8; at most 1M/s).
 * `why` (optional) gets the rule's terms, for the header. */
double tmlp_offline_expected_qps(const tmlp_model *m, int64_t batch, char *why, size_t cap);

/* --- comparable.c -------------------------------------------------------------------------- */

/* The comparability guard of regress and compare: 0 when documents a and b run the same
 * workload (model file hash, layers, data, seeds, each matched run's workload settings
 * and digest) — system differences (host, CPU, build, BLAS core, kernels, threads) are
 * printed to f as context. Otherwise one error line per difference and TMLP_EXIT_USAGE,
 * or, with force, the differences printed to f under a WARNING and 0. */
int tmlp_comparable_check(FILE *f, const cJSON *a, const cJSON *b, const char *a_name, const char *b_name,
                          int force);
/* The number of workload differences tmlp_comparable_check would refuse on, printing
 * nothing (0: the same workload). */
int tmlp_comparable_differences(const cJSON *a, const cJSON *b);
/* The "runs" of a results document, or NULL after one message naming `source` when there
 * are none: no "runs" array, an empty one, or an entry that is not a run (no "scenario").
 * A results file without runs is an error everywhere it is read (regress, compare,
 * report --from, --baseline): "0 differences" over nothing would look like a pass. */
const cJSON *tmlp_results_runs(const cJSON *doc, const char *source);

#endif
