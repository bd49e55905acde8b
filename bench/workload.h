/* workload.h — "run this workload -> results", the one function every subcommand that
 * measures calls in-process: the default run (cmd_run.c), `report` (cmd_report.c) and
 * `regress --baseline` (cmd_regress.c).
 *
 * A workload is described ONCE, by a tmlp_run_opts: the run options parsed by one
 * getopt_long table (workload_opts.c), then adjusted in C by a caller that needs more
 * (report adds a batch sweep, a find-peak search, a weight precision). Nothing travels
 * between subcommands as an argv, a temporary file or an environment variable; the only
 * argv ever built is the one of a repetition's fresh process (--repeat-mode exec,
 * fresh.c), generated from the options struct (tmlp_run_opts_child_argv).
 *
 * Phases, in order (tmlp_cmd_run calls them one by one because it opens its output files
 * and prints its header between them; tmlp_workload_results calls them all):
 *   tmlp_workload_start    MPI, the rank's share of the outputs
 *   tmlp_workload_build    model, data, the model SUT, offline sizing, this rank's shard
 *   tmlp_workload_ready    memory check, then every rank agrees to go on
 *   tmlp_workload_measure  the rows, their repetitions (fresh processes or this one),
 *                          the resource monitor, the paired comparison with F32
 *   tmlp_workload_doc      the results document {"context", "runs", "resources"} that
 *                          `run --format json` writes
 *   tmlp_workload_end      every rank agrees on the exit code; everything freed
 * Invariant: a tmlp_workload holds everything a phase made; tmlp_workload_end frees it
 * whichever phase failed (memset the struct to 0 before the first phase).
 */
#ifndef TMLP_BENCH_WORKLOAD_H
#define TMLP_BENCH_WORKLOAD_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "mpi_ranks.h"
#include "precision.h"
#include "run.h"

#define TMLP_RUN_MAX_BATCHES 16
#define TMLP_RUN_MAX_ROWS 32
#define TMLP_RUN_SYNTHETIC_MODEL_SEED 42
#define TMLP_RUN_DEFAULT_SYNTHETIC_MODEL "synthetic:784x512x512x10"
/* Bits of tmlp_run_opts.given. */
#define TMLP_RUN_GIVEN_SCENARIO 1u
#define TMLP_RUN_GIVEN_MODE 2u
#define TMLP_RUN_GIVEN_BATCH 4u

/* Every run option; -1 / 0 / NULL mean "not given" so --quick and per-scenario defaults
 * apply only to what the user left out. Strings point into the caller's argv. */
typedef struct tmlp_run_opts {
    /* the workload */
    const char *model, *layers, *data;
    tmlp_kernel kernel;         /* Dense kernel (--kernels); AUTO = the library's choice */
    tmlp_precision precision;   /* weight precision (--precision); AUTO = the library's default */
    unsigned scenarios;         /* bit i = tmlp_scenario i; 0 = default for the mode */
    tmlp_mode mode;
    int64_t min_duration_ms, max_duration_ms; /* -1 = default */
    int64_t min_queries, max_queries, warmup; /* -1 = default */
    double target_qps;
    uint64_t latency_bound_ns;
    double percentile;          /* 0 = per-scenario default */
    tmlp_percentile_method method;
    int64_t samples_per_query;
    int64_t batches[TMLP_RUN_MAX_BATCHES];
    int n_batches;
    int64_t workers, blas_threads;
    int64_t threads;            /* intra-op threads per session; 0 = auto */
    uint64_t sample_seed, schedule_seed;
    int sample_seed_set, schedule_seed_set;
    tmlp_sut_dispatch dispatch; /* --dispatch: where the model SUT computes (AUTO) */
    int quick;
    double find_peak_min_qps;     /* 0 = target / 16 */
    int64_t find_peak_budget_ms;  /* -1 = default */
    int64_t repeat;               /* repetitions of each scenario (1) */
    int repeat_exec;              /* --repeat-mode: 1 exec (each repetition a fresh process),
                                     0 process; -1 = the default: exec, process under mpirun */
    int64_t offline_samples;      /* 0 = sized from the expected QPS */
    double offline_expected_qps;  /* 0 = the default: the rule of sizing.c, per batch */
    /* what is written */
    tmlp_out_format format;
    const char *output, *trace;
    const char *summary;          /* --summary FILE: the LoadGen-style summaries go there */
    const char *history;          /* --history DB: record the run there (cmd_history.c) */
    int quiet, verbose;
    int64_t monitor_interval_ms;  /* 0 = no resource monitor */
    int raw_latencies;            /* --raw-latencies: per-query arrays in the JSON (off) */
    /* the regression gate */
    const char *baseline;         /* --baseline FILE or NULL */
    double threshold, alpha;
    int force;                    /* --baseline: compare different workloads anyway */
    /* a repetition's child (fresh.c) */
    int results_fd;               /* hidden --results-fd; -1 */
    int results_records;          /* hidden --results-records: the child keeps per-query records */
    /* which of --scenario, --mode, --batch the command line gave (their fields are filled
     * with defaults by tmlp_run_opts_check, so a caller cannot tell otherwise) */
    unsigned given;
    /* derived by the phases, not options */
    int keep_records;             /* per-query records in the result: --trace or MPI ranks */
    const tmlp_model *sizing_model; /* what the offline sizing rule reads (NULL: the null SUT) ... */
    int sizing_ranks;             /* ... and how many MPI ranks share the offline query */
    double default_expected_qps;  /* the rule at the largest batch: the memory estimate's rate */
    int argc;                     /* the command line, for the JSON context */
    char **argv;
} tmlp_run_opts;

/* The defaults of every option (the values `bench_mlp --help` states); the kernel and
 * precision are the command line's (tmlp_cli_models_set). */
void tmlp_run_opts_default(tmlp_run_opts *o);
/* Parse run options argv[1..argc) into o (defaults first). --help / --version print and
 * set *done. 0 or TMLP_EXIT_USAGE after one error line. Checks the options together
 * (tmlp_run_opts_check) and resolves the default scenarios and batch. */
int tmlp_run_opts_parse(int argc, char **argv, tmlp_run_opts *o, int *done);
/* The same with a caller's own options (report's): `extra` (NULL-terminated getopt_long
 * entries whose val is >= TMLP_RUN_OPT_EXTRA) is searched before the run's table, and
 * fn(user, val, optarg) handles them (0 or an exit code after an error line). */
#define TMLP_RUN_OPT_EXTRA 1000
struct option;
typedef int (*tmlp_run_opts_extra_fn)(void *user, int val, const char *arg);
int tmlp_run_opts_parse_with(int argc, char **argv, const struct option *extra, tmlp_run_opts_extra_fn fn,
                             void *user, tmlp_run_opts *o, int *done);
/* The checks between options (--min-duration-ms <= --max-duration-ms, find-peak is one
 * server search, ...) after a caller changed o; fills the default scenarios and batch.
 * 0 or TMLP_EXIT_USAGE. */
int tmlp_run_opts_check(tmlp_run_opts *o);
/* The argv of a repetition's fresh process: "bench_mlp run", the workload options of o
 * (never the outputs, the format, the gate or the monitor), then "--repeat 1 --quiet
 * --monitor-interval-ms 0 --results-fd FD" (*fd_slot = FD's index, filled per child) and
 * --results-records when o keeps records. *out is one allocation (free it); its strings
 * live in it. 0 or TMLP_EXIT_RUNTIME on out-of-memory. */
int tmlp_run_opts_child_argv(const tmlp_run_opts *o, char ***out, int *fd_slot);

/* What the phases made. */
typedef struct tmlp_workload {
    tmlp_model *model;          /* NULL for null */
    tmlp_dataset *data;
    tmlp_model_sut *msut;
    tmlp_sut sut;
    int is_null;
    char model_source[4096];
    char data_source[4096];
    char data_labels[4096];
    tmlp_run_info info;
    tmlp_mpi *mpi;
    int agreed;                 /* every rank has said it is ready (tmlp_mpi_agree) */
    tmlp_sut_shard *shard;      /* this rank's offline samples under MPI; NULL otherwise */
    const char **hosts;
    tmlp_run_row rows[TMLP_RUN_MAX_ROWS];
    int n_rows;
    int exec_mode;              /* the repetitions ran in fresh processes */
    tmlp_monitor *mon;
    tmlp_run_resources res;
    tmlp_paired_acc paired;
} tmlp_workload;

int tmlp_workload_start(tmlp_run_opts *o, tmlp_workload *w);
int tmlp_workload_build(tmlp_run_opts *o, tmlp_workload *w);
int tmlp_workload_ready(const tmlp_run_opts *o, tmlp_workload *w);
/* The runs. `text` (NULL: none) gets each row's LoadGen summary after its last
 * repetition when o->verbose; `summary` (NULL: none) gets them always. */
int tmlp_workload_measure(const tmlp_run_opts *o, tmlp_workload *w, FILE *text, FILE *summary);
/* The results document; NULL on out-of-memory. */
cJSON *tmlp_workload_doc(const tmlp_workload *w);
/* Agree on rc across ranks (if the ready meeting was missed), free everything; returns
 * the exit code. */
int tmlp_workload_end(tmlp_workload *w, int rc);

/* The whole pipeline for a caller that wants the document and prints nothing: o's
 * outputs, trace and gate are not used (the caller writes what it wants). *doc gets the
 * results document, or NULL when rc != 0. 0 or an exit code (error line printed). */
int tmlp_workload_results(const tmlp_run_opts *o, cJSON **doc);

/* The offline run's settings of one row, as the harness gets them (the header prints them). */
tmlp_bench_settings tmlp_run_settings(const tmlp_run_opts *o, tmlp_scenario sc, int64_t batch);
/* The default offline expected QPS at this batch (sizing.c's rule times the ranks);
 * `why` (optional) gets the rule's terms. */
double tmlp_run_expected_qps(const tmlp_run_opts *o, int64_t batch, char *why, size_t cap);

#endif
