/* run.h — what the default run (cmd_run.c) hands to its writers: the context of the
 * invocation (context.c) and the table / markdown / CSV / JSON / trace writers (output.c).
 *
 * A "row" is one finished harness run (tmlp_bench_result) plus the label it gets in the
 * latency table ("server", "offline b=256"). Rows are kept in the order they ran.
 * The JSON document is {"context": {...}, "runs": [R, ...]} with the names of issue 4;
 * docs/readme/cli.md documents every field.
 */
#ifndef TMLP_BENCH_RUN_H
#define TMLP_BENCH_RUN_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "tinymlp/bench.h"

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
/* The whole document; returns 0, or -1 on out-of-memory / write error. */
int tmlp_out_json(FILE *f, const tmlp_run_info *info, const tmlp_run_row *rows, int n,
                  const int32_t *labels);
/* Chrome trace-event JSON: one complete ("X") event per measured query that completed,
 * from its start (scheduled time for server) to completion; pid = this process, tid = 1 + row index,
 * with thread_name metadata naming the run. 0 on success, -1 (errno set) on failure. */
int tmlp_out_trace(FILE *f, const tmlp_run_row *rows, int n);

#endif
