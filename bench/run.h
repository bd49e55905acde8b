/* run.h — what the default run (cmd_run.c) hands to its writers: the context of the
 * invocation (context.c) and the table / markdown / CSV / JSON / trace writers (output.c).
 *
 * A "row" is one finished harness run (tmlp_bench_result) plus the label it gets in the
 * latency table ("server", "offline b=256"). Rows are kept in the order they ran.
 * The JSON document is {"context": {...}, "runs": [R, ...]} with the names of issue 4;
 * README.md ("Benchmarking with bench_mlp") documents every field.
 */
#ifndef TMLP_BENCH_RUN_H
#define TMLP_BENCH_RUN_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "tinymlp/bench.h"
#include "tinymlp/report.h"

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
    int fashion_names;          /* labels are Fashion-MNIST classes: print their names */
} tmlp_run_info;

typedef struct tmlp_run_row {
    tmlp_bench_result *result;
    char label[48];
} tmlp_run_row;

/* What the resource monitor (tinymlp/report.h) saw while the runs ran. */
typedef struct tmlp_run_resources {
    int have;                       /* 1 when `summary` holds a completed window */
    uint32_t interval_ms;           /* sampling interval */
    tmlp_monitor_summary summary;
    const tmlp_monitor *monitor;    /* its time series (trace counters); may be NULL */
    uint64_t start_ns;              /* tmlp_time_now_ns() when the window began */
} tmlp_run_resources;

/* --- context.c ------------------------------------------------------------------------ */

/* The "context" object: host, cpu, cores, os, compiler, build_type, version, blas, timer,
 * seeds, command_line, model, data. NULL on out-of-memory. */
cJSON *tmlp_context_json(const tmlp_run_info *info);
/* The median of back-to-back tmlp_time_now_ns() differences, measured now. */
uint64_t tmlp_context_timer_overhead_ns(void);
/* The git revision recorded at configure time ("76fb816-dirty", "unknown"). */
const char *tmlp_context_git(void);
/* /proc/loadavg's 1, 5 and 15 minute figures; 0 if unreadable. */
int tmlp_context_load_average(double out[3]);
/* The CPU model name from /proc/cpuinfo into buf; 0 if unknown. */
int tmlp_context_cpu_name(char *buf, size_t cap);

/* --- output.c ------------------------------------------------------------------------- */

/* LoadGen-style summary of one run (mlperf_log_summary.txt order). */
void tmlp_out_summary(FILE *f, const tmlp_run_row *row, const tmlp_run_info *info);
/* The latency table: one row per run; units in headers; the percentile method below. */
void tmlp_out_table(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n);
/* Accuracy and a confusion matrix (rows = true class, columns = predicted) from an
 * accuracy-mode run. Prints nothing when the run has no labels/predictions. */
void tmlp_out_confusion(FILE *f, const tmlp_run_row *row, const int32_t *labels,
                        int n_classes, int fashion_names);
/* One element of "runs". `labels`/`n_classes` add a confusion matrix in accuracy mode. */
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

/* --- cmd_regress.c ----------------------------------------------------------------------- */

/* The regression gate of `bench_mlp regress`, for any caller (the run's --baseline): compare
 * two results documents run by run and print the per-metric lines and the summary to f.
 * Returns TMLP_EXIT_REGRESSION (3) if any metric regressed, TMLP_EXIT_OK, or
 * TMLP_EXIT_RUNTIME when the documents cannot be compared (error line printed). */
int tmlp_regress_docs(FILE *f, const cJSON *base, const cJSON *cur, double threshold, double alpha,
                      const char *base_name, const char *cur_name);
/* --threshold: a fraction ("0.05") or a percent ("5%"); 0 or TMLP_EXIT_USAGE. */
int tmlp_regress_parse_threshold(const char *s, double *out);

#endif
