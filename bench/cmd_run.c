/* cmd_run.c — `bench_mlp [options]`: the default run. Runs the workload of its options
 * (workload.h: model + data set, the LoadGen scenarios through the harness) and prints
 * one latency table and a verdict per run (or Markdown / CSV / JSON).
 *
 * Phases, in order:
 *   1. parse the options (workload_opts.c: one getopt_long table; exit 2 on a bad one);
 *   2. start (MPI) and check that no output names an input or another output;
 *   3. build the workload (workload.c), then open --output / --trace / --summary and read
 *      --baseline, so a bad path fails in a second, not after the benchmark;
 *   4. print the header (machine, BLAS, kernels, model, data, settings, offline sizing);
 *   5. measure (tmlp_workload_measure: rows, repetitions, monitor);
 *   6. write: table (+ confusion matrix in accuracy mode) + verdicts + resource summary, or
 *      JSON (the document of tmlp_workload_doc); --trace; the LoadGen-style summaries;
 *   7. --baseline FILE: the regression gate (gate.c, tmlp_regress_docs) on this run's
 *      document against FILE; exit 3 on a regression.
 * Under mpirun rank 0 alone prints the merged results; the others write to /dev/null.
 * SIGINT / SIGTERM: the run stops issuing, drains, is printed INVALID (interrupted) on
 * stdout, later runs are skipped, files named by --output / --trace are left as they were,
 * and the exit code is 130 / 143. Output files are written atomically (cli.h,
 * tmlp_cli_output): complete or not at all.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_config.h"
#include "cli.h"
#include "commands.h"
#include "history.h"
#include "reports_util.h"
#include "tinymlp/blas.h"
#include "workload.h"

/* Set by the SIGINT / SIGTERM handler (cli.c), polled by the harness through settings.stop. */
#define g_stop tmlp_cli_stop

/* --help, first half: the workload, scenarios and mode. */
static void print_help_workload(FILE *f)
{
    fputs(
"Usage: bench_mlp [OPTIONS]            run LoadGen scenarios on a model (this page)\n"
"       bench_mlp compare|report|ab|regress|profile|plan|history ...   (see bench_mlp CMD --help)\n"
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
"                         " TMLP_RUN_DEFAULT_SYNTHETIC_MODEL "\n"
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
}

/* --help, second half: the system, output and the regression gate. */
static void print_help(FILE *f)
{
    print_help_workload(f);
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
"  --history DB           also record the run in the results history DB (SQLite, created if\n"
"                         missing; `bench_mlp history`, docs/history.md)\n"
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

/* --- the header ------------------------------------------------------------------------------ */

static void print_header(FILE *f, const tmlp_run_opts *o, const tmlp_workload *w)
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
    tmlp_bench_settings s = tmlp_run_settings(o, TMLP_SCENARIO_SERVER, o->batches[0]);
    fprintf(f, "settings : mode %s; min duration %" PRIu64 " ms, max ", tmlp_mode_name(o->mode),
            s.min_duration_ms);
    if (s.max_duration_ms) fprintf(f, "%" PRIu64 " ms", s.max_duration_ms);
    else fputs("none", f);
    fputs("; min queries", f);
    for (int sc = 0; sc < 4; sc++)
        if (o->scenarios & (1u << sc))
            fprintf(f, " %s %" PRId64, tmlp_scenario_name((tmlp_scenario)sc),
                    tmlp_run_settings(o, (tmlp_scenario)sc, 1).min_query_count);
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
            tmlp_bench_settings so = tmlp_run_settings(o, TMLP_SCENARIO_OFFLINE, o->batches[b]);
            char why[192];
            tmlp_run_expected_qps(o, o->batches[b], why, sizeof why);
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

/* The files this run writes and the baseline it reads. */
typedef struct run_files {
    FILE *out, *trace;
    tmlp_cli_output out_file, trace_file, summary_file;
    cJSON *baseline;
} run_files;

/* Open the output files before measuring: an unwritable path fails in a second, not after
 * the whole benchmark; the baseline too: a missing or malformed file fails first. */
static int open_files(const tmlp_run_opts *o, run_files *f)
{
    int rc;
    if (o->output && (rc = tmlp_cli_output_open(&f->out_file, "--output", o->output))) return rc;
    if (o->output) f->out = f->out_file.f;
    if (o->trace && (rc = tmlp_cli_output_open(&f->trace_file, "--trace", o->trace))) return rc;
    if (o->trace) f->trace = f->trace_file.f;
    if (o->summary && (rc = tmlp_cli_output_open(&f->summary_file, "--summary", o->summary))) return rc;
    if (!o->baseline) return 0;
    if (access(o->baseline, R_OK) != 0) {
        tmlp_cli_error("--baseline: cannot read \"%s\": %s", o->baseline, strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_cli_inputs_add("--baseline", o->baseline);
    if (!(f->baseline = ru_read_json(o->baseline))) return TMLP_EXIT_RUNTIME;
    if (!tmlp_results_runs(f->baseline, o->baseline)) return TMLP_EXIT_RUNTIME;
    return 0;
}

/* doc's text and a newline on f; -1 (errno set) on a failure. */
static int print_doc(FILE *f, const cJSON *doc)
{
    char *text = cJSON_Print(doc);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int rc = fputs(text, f) < 0 || fputc('\n', f) == EOF ? -1 : 0;
    cJSON_free(text);
    return rc;
}

/* The results on f->out: the JSON document (`doc` when the caller built it already, so the
 * file and the history hold the same bytes), or the tables, verdicts and resources. */
static int write_results(const tmlp_run_opts *o, const tmlp_workload *w, run_files *f, const cJSON *doc)
{
    const int32_t *labels = w->data ? w->data->labels : NULL;
    FILE *out = f->out;
    if (o->format == TMLP_OUT_JSON) {
        if (doc ? print_doc(out, doc) : tmlp_out_json(out, &w->info, w->rows, w->n_rows, labels, &w->res)) {
            tmlp_cli_error("%s: cannot write the JSON document: %s", o->output ? "--output" : "stdout", strerror(errno));
            return TMLP_EXIT_RUNTIME;
        }
        return 0;
    }
    if (o->mode == TMLP_MODE_ACCURACY && o->format != TMLP_OUT_CSV)
        for (int i = 0; i < w->n_rows; i++)
            tmlp_out_confusion(out, &w->rows[i], labels, w->info.data_classes, w->info.fashion_names);
    tmlp_out_table(out, o->format, w->rows, w->n_rows);
    if (w->info.paired) {
        fputc('\n', out);
        tmlp_paired_print(out, "f32", w->info.paired_name, w->info.paired, o->alpha);
    }
    tmlp_rep_table(out, o->format, w->rows, w->n_rows, o->alpha);
    tmlp_out_per_rank(out, o->format, w->rows, w->n_rows);
    if (o->quiet) return 0; /* --quiet: results only */
    tmlp_out_verdicts(out, o->format, w->rows, w->n_rows, o->summary, o->verbose);
    tmlp_out_resources(out, o->format, &w->res);
    if (w->exec_mode && w->res.have)
        fputs("  (--repeat-mode exec: the repetitions ran in child processes, which this block does not "
              "count)\n", out);
    return 0;
}

static int write_trace(const tmlp_workload *w, run_files *f)
{
    int bad = tmlp_out_trace(f->trace, w->rows, w->n_rows, &w->res);
    f->trace = NULL;
    if (bad) {
        tmlp_cli_error("--trace: cannot write the trace: %s", strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    return tmlp_cli_output_commit(&f->trace_file);
}

/* --baseline: the same comparison as `bench_mlp regress FILE CURRENT`, on this run's
 * document. It follows the table; it stays out of a csv/json stream on stdout. */
static int run_gate(const tmlp_run_opts *o, const tmlp_workload *w, run_files *f)
{
    FILE *gate = o->format == TMLP_OUT_TABLE || o->format == TMLP_OUT_MARKDOWN ? f->out
                 : f->out == stdout ? stderr : stdout;
    cJSON *cur = tmlp_workload_doc(w);
    if (!cur) {
        tmlp_cli_error("--baseline: out of memory building this run's results");
        return TMLP_EXIT_RUNTIME;
    }
    if (gate == f->out) fputc('\n', gate);
    int rc = tmlp_regress_docs(gate, f->baseline, cur, o->threshold, o->alpha, o->baseline, "this run", o->force);
    cJSON_Delete(cur);
    return rc;
}

/* After the runs: interrupted runs keep the files as they were (what was measured still
 * goes to stdout, marked INVALID (interrupted); main() names the signal); then the
 * results, the trace and the gate. */
static int write_all(const tmlp_run_opts *o, const tmlp_workload *w, run_files *f)
{
    int rc;
    if (g_stop) {
        tmlp_cli_output_abort(&f->out_file);
        tmlp_cli_output_abort(&f->trace_file);
        tmlp_cli_output_abort(&f->summary_file);
        if (o->trace && strcmp(o->trace, "-")) f->trace = NULL;
        if (o->output && strcmp(o->output, "-")) return 0;
    }
    /* --history records the very document --format json writes (built once: the context
     * holds live readings such as the load average, so two builds differ) */
    cJSON *doc = NULL;
    if (o->history && !g_stop &&
        !(doc = tmlp_out_json_doc(&w->info, w->rows, w->n_rows, w->data ? w->data->labels : NULL, &w->res))) {
        tmlp_cli_error("--history: out of memory building this run's results");
        return TMLP_EXIT_RUNTIME;
    }
    rc = write_results(o, w, f, doc);
    if (!rc && f->trace) rc = write_trace(w, f);
    if (!rc && doc) rc = tmlp_history_record_doc(o->history, doc, "run");
    cJSON_Delete(doc);
    if (rc) return rc;
    if (f->baseline && !g_stop) return run_gate(o, w, f);
    if (f->baseline && !o->quiet) tmlp_cli_error("--baseline: interrupted runs are not compared");
    return g_stop ? TMLP_EXIT_INTERRUPTED : TMLP_EXIT_OK;
}

/* The results file appears only now, complete, and only if everything before worked: a
 * failed run, a bad --baseline or a signal leaves the previous file in place. */
static int close_files(run_files *f, int rc)
{
    if (!g_stop && (rc == TMLP_EXIT_OK || rc == TMLP_EXIT_REGRESSION)) {
        int wrc = tmlp_cli_output_commit(&f->out_file);
        if (!wrc) wrc = tmlp_cli_output_commit(&f->summary_file);
        if (wrc) rc = wrc;
    }
    tmlp_cli_output_abort(&f->out_file);
    tmlp_cli_output_abort(&f->trace_file);
    tmlp_cli_output_abort(&f->summary_file);
    cJSON_Delete(f->baseline);
    return rc;
}

/* Phases 2-7 on parsed options. */
static int run_parsed(tmlp_run_opts *o, tmlp_workload *w)
{
    run_files f = {.out = stdout};
    int rc;
    tmlp_cli_polls = 1;
    if ((rc = tmlp_workload_start(o, w))) goto done;
    /* An output must not replace an input or another output (checked before any file is
     * opened; the temporary files make a clash invisible until the rename). */
    const tmlp_cli_path outs[] = {{"--output", o->output}, {"--trace", o->trace}, {"--summary", o->summary}};
    const tmlp_cli_path ins[] = {{"--model", o->model}, {"--data", o->data}, {"--baseline", o->baseline}};
    if ((rc = tmlp_cli_check_outputs(outs, 3, ins, 3))) goto done;
    if ((rc = tmlp_workload_build(o, w))) goto done;
    if ((rc = open_files(o, &f))) goto done;
    if ((rc = tmlp_workload_ready(o, w))) goto done;
    if (o->format == TMLP_OUT_TABLE && !o->quiet) print_header(f.out, o, w);
    if ((rc = tmlp_workload_measure(o, w, f.out, f.summary_file.f))) goto done;
    if (o->results_fd >= 0) goto done; /* a repetition's child prints nothing (fresh.c) */
    rc = write_all(o, w, &f);
done:
    rc = tmlp_workload_end(w, rc);
    rc = close_files(&f, rc);
    if (g_stop && rc == TMLP_EXIT_OK) rc = TMLP_EXIT_INTERRUPTED;
    return rc;
}

int tmlp_cmd_run(int argc, char **argv)
{
    tmlp_run_opts o;
    int done = 0, rc;
    if ((rc = tmlp_run_opts_parse(argc, argv, &o, &done))) return rc;
    if (done == 2) print_help(stdout);
    if (done) return 0;
    tmlp_workload *w = calloc(1, sizeof *w);
    if (!w) {
        tmlp_cli_error("out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    rc = run_parsed(&o, w);
    free(w);
    return rc;
}
