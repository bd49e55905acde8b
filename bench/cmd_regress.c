/* cmd_regress.c — `bench_mlp regress BASELINE.json CURRENT.json`: the CI regression gate.
 *
 * The question is "did my change make it slower?", and the unit of replication for that
 * question is the RUN: the queries of one run share its clock frequency, neighbours and
 * cache placement, so their number says nothing about run-to-run drift. So:
 *   1. Comparability guard (comparable.c): the two files must run the same workload
 *      (model file hash, layers, data, seeds, scenario settings, workload digest), else
 *      exit 2 with one line per difference (--force compares anyway, saying so). System
 *      differences are printed as context.
 *   2. Runs are matched by label. For each metric (latency mean, p50, p90, p99: lower is
 *      better; throughput: higher is better) the values are ONE PER REPETITION
 *      (`--repeat N` writes "repetitions"; a file without them is one repetition).
 *      tmlp_regress_compare_runs (src/bench/regress.c): Welch on log values, the interval
 *      of the relative change, the noise floor; each percentile its own test and interval.
 *   3. With >= 3 repetitions a side a metric is a REGRESSION only if it is worse than
 *      max(--threshold, noise floor) AND significant after Holm's correction over every
 *      tested metric of the comparison (the gate says "regression" if ANY metric does, so
 *      its false-alarm rate is family-wise <= alpha). With fewer, "not enough repetitions
 *      for a test": the threshold alone decides, labelled so.
 *   4. Accuracy: the two-proportion z-test on the counts, and the threshold.
 *   5. Soundness warnings: high between-repetition CV, many outliers in a run, a load
 *      average above the core count, a CPU frequency governor that is not "performance".
 *
 * The comparison itself is gate.c. `bench_mlp regress --baseline BASE.json [run options]`
 * first runs the benchmark in this process (workload.h: the default run's options,
 * --repeat included) and compares its results document against BASE.json; --output FILE
 * keeps that document (written atomically, as the default run writes it).
 * Exit: 3 if any metric regressed, 0 otherwise, 1 runtime error or a malformed file (refused
 * by result_check.c), 2 usage error, different workloads, or no metric with a value on both
 * sides (a gate that compared nothing never passes).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "reports_util.h"
#include "run.h"
#include "workload.h"


static void print_help(FILE *f)
{
    fputs("Usage: bench_mlp regress [OPTIONS] BASELINE.json CURRENT.json\n"
          "       bench_mlp regress [OPTIONS] --baseline BASELINE.json [run options]\n"
          "Compare two results files of `bench_mlp --format json` run by run (matched by label).\n"
          "The unit is the RUN: each metric (latency mean, p50, p90, p99 lower-is-better;\n"
          "throughput higher-is-better) is tested from its per-repetition values (--repeat N):\n"
          "Welch's t on log values, an interval of the relative change, Holm's correction over\n"
          "all metrics. A metric regresses when it is worse than max(threshold, noise floor) and\n"
          "significant. With fewer than 3 repetitions a side there is no test: the threshold\n"
          "alone decides (labelled). Run both sides with --repeat 5 to gate.\n"
          "The files must run the same workload (model, data, seeds, settings, workload digest):\n"
          "otherwise exit 2 naming each difference.\n"
          "  --threshold X   relative threshold, a fraction (0.05) or a percent (5%); default 5%\n"
          "  --alpha A       significance level, default 0.05\n"
          "  --force         compare different workloads anyway (the output says so)\n"
          "  --baseline F    run the benchmark now (the other options are run options) and\n"
          "                  compare it against F\n"
          "  --output FILE   with --baseline: also write the new run's JSON results there\n"
          "  --quick         with --baseline: a short run (bench_mlp --quick); else nothing\n"
          "  --version       library version and git revision\n"
          "Exit status: 0 no regression, 3 regression found, 1 runtime error or a malformed\n"
          "file, 2 usage error, different workloads, or no metric on both sides (no verdict).\n",
          f);
}

/* `regress [--threshold X] [--alpha A] [--force] BASE CUR`: two saved files. */
static int regress_files(int argc, char **argv)
{
    enum { OPT_THRESHOLD = 256, OPT_ALPHA, OPT_FORCE, OPT_QUICK, OPT_HELP };
    static const struct option opts[] = {{"threshold", required_argument, NULL, OPT_THRESHOLD},
                                         {"alpha", required_argument, NULL, OPT_ALPHA},
                                         {"force", no_argument, NULL, OPT_FORCE},
                                         {"quick", no_argument, NULL, OPT_QUICK}, /* two files need no shortening */
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {NULL, 0, NULL, 0}};
    double thr = 0.05, alpha = 0.05;
    int force = 0, c, rc = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == OPT_THRESHOLD) rc = tmlp_regress_parse_threshold(optarg, &thr);
        else if (c == OPT_ALPHA) rc = tmlp_cli_parse_double("--alpha", optarg, 1e-12, 0.5, &alpha);
        else if (c == OPT_FORCE) force = 1;
        else if (c == 'h' || c == OPT_HELP) {
            print_help(stdout);
            return 0;
        } else if (c == ':') return tmlp_cli_usage_error("%s: needs a value", argv[optind - 1]);
        else if (c != OPT_QUICK) return tmlp_cli_usage_error("regress: unknown option \"%s\"", argv[optind - 1]);
        if (rc) return rc;
    }
    if (argc - optind != 2) return tmlp_cli_usage_error("regress: needs BASELINE.json CURRENT.json (or --baseline FILE)");
    cJSON *b = ru_read_json(argv[optind]);
    if (!b) return TMLP_EXIT_RUNTIME;
    cJSON *cur = ru_read_json(argv[optind + 1]);
    if (!cur) {
        cJSON_Delete(b);
        return TMLP_EXIT_RUNTIME;
    }
    rc = tmlp_regress_docs(stdout, b, cur, thr, alpha, argv[optind], argv[optind + 1], force);
    cJSON_Delete(b);
    cJSON_Delete(cur);
    return rc;
}

/* The new run's document into out (opened before the run), committed atomically. */
static int write_doc(tmlp_cli_output *out, const cJSON *doc)
{
    char *text = cJSON_Print(doc);
    int rc = 0;
    if (!text || fputs(text, out->f) == EOF || fputc('\n', out->f) == EOF) {
        tmlp_cli_error("--output: cannot write the JSON document: %s", text ? strerror(errno) : "out of memory");
        rc = TMLP_EXIT_RUNTIME;
    }
    cJSON_free(text);
    return rc ? rc : tmlp_cli_output_commit(out);
}

/* `regress --baseline BASE [run options]`: the run's options are parsed by the run's own
 * table (--threshold, --alpha and --force are among them), the run happens in this
 * process, and its document is compared with BASE; --output FILE keeps that document.
 * The baseline is read and --output opened first: a bad path fails before the benchmark. */
static int regress_run(int argc, char **argv)
{
    tmlp_run_opts o;
    tmlp_cli_output out = {0};
    cJSON *base = NULL, *cur = NULL;
    int done = 0, rc;
    if ((rc = tmlp_run_opts_parse(argc, argv, &o, &done))) return rc;
    if (done == 2) print_help(stdout);
    if (done) return 0;
    if (o.trace || o.summary)
        return tmlp_cli_usage_error("regress --baseline: %s is an option of the run only (bench_mlp --baseline F %s ...)",
                                    o.trace ? "--trace" : "--summary", o.trace ? "--trace" : "--summary");
    const tmlp_cli_path outs[] = {{"--output", o.output}};
    const tmlp_cli_path ins[] = {{"--model", o.model}, {"--data", o.data}, {"--baseline", o.baseline}};
    if ((rc = tmlp_cli_check_outputs(outs, 1, ins, 3))) return rc;
    if (!(base = ru_read_json(o.baseline)) || !tmlp_results_runs(base, o.baseline)) rc = TMLP_EXIT_RUNTIME;
    if (!rc && o.output) rc = tmlp_cli_output_open(&out, "--output", o.output);
    if (!rc && (rc = tmlp_workload_results(&o, &cur))) rc = rc == TMLP_EXIT_USAGE ? rc : TMLP_EXIT_RUNTIME;
    if (!rc) rc = tmlp_regress_docs(stdout, base, cur, o.threshold, o.alpha, o.baseline, "this run", o.force);
    if ((rc == TMLP_EXIT_OK || rc == TMLP_EXIT_REGRESSION) && o.output) {
        int wrc = write_doc(&out, cur);
        if (wrc) rc = wrc;
    }
    tmlp_cli_output_abort(&out);
    cJSON_Delete(base);
    cJSON_Delete(cur);
    return rc;
}

int tmlp_cmd_regress(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--baseline") || !strncmp(argv[i], "--baseline=", 11)) return regress_run(argc, argv);
    return regress_files(argc, argv);
}
