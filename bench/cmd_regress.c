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
 * `bench_mlp regress --baseline BASE.json [run options]` first runs the benchmark (the
 * default run's options, --repeat included) and compares that run against BASE.json.
 * Exit: 3 if any metric regressed, 0 otherwise, 1 runtime error, 2 usage error or
 * different workloads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "reports_util.h"
#include "run.h"


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
          "  --baseline F    run the benchmark now (remaining options are run options) and\n"
          "                  compare it against F\n"
          "  --quick         with --baseline: a short run (bench_mlp --quick); else nothing\n"
          "  --version       library version and git revision\n"
          "Exit status: 0 no regression, 3 regression found, 1 runtime error, 2 usage error or\n"
          "different workloads.\n",
          f);
}

int tmlp_cmd_regress(int argc, char **argv)
{
    double thr = 0.05, alpha = 0.05;
    int force = 0, quick = 0;
    const char *baseline = NULL;
    int i = 1;
    /* own options first; with --baseline everything after our options goes to the run */
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(stdout);
            return 0;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--quick")) {
            quick = 1; /* passed to the run with --baseline; two files need no shortening */
        } else if (!strcmp(a, "--threshold") || !strcmp(a, "--alpha") || !strcmp(a, "--baseline")) {
            if (i + 1 >= argc) return tmlp_cli_usage_error("%s: needs a value", a);
            const char *v = argv[++i];
            int rc = 0;
            if (!strcmp(a, "--threshold")) rc = tmlp_regress_parse_threshold(v, &thr);
            else if (!strcmp(a, "--alpha")) rc = tmlp_cli_parse_double("--alpha", v, 1e-12, 0.5, &alpha);
            else baseline = v;
            if (rc) return rc;
        } else {
            break;
        }
    }
    if (!baseline) {
        if (argc - i != 2) return tmlp_cli_usage_error("regress: needs BASELINE.json CURRENT.json (or --baseline FILE)");
        cJSON *b = ru_read_json(argv[i]);
        if (!b) return TMLP_EXIT_RUNTIME;
        cJSON *c = ru_read_json(argv[i + 1]);
        if (!c) {
            cJSON_Delete(b);
            return TMLP_EXIT_RUNTIME;
        }
        int rc = tmlp_regress_docs(stdout, b, c, thr, alpha, argv[i], argv[i + 1], force);
        cJSON_Delete(b);
        cJSON_Delete(c);
        return rc;
    }
    /* --baseline: run now with the remaining options, JSON to a temporary file */
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/bench_mlp_regress_%ld.json", (long)getpid());
    int n_run = argc - i;
    char **rargv = calloc((size_t)n_run + 8, sizeof *rargv);
    if (!rargv) {
        tmlp_cli_error("out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    int k = 0;
    rargv[k++] = "bench_mlp";
    for (int j = i; j < argc; j++) rargv[k++] = argv[j];
    if (quick) rargv[k++] = "--quick";
    rargv[k++] = "--format";
    rargv[k++] = "json";
    rargv[k++] = "--output";
    rargv[k++] = tmp;
    rargv[k] = NULL;
    int rc = tmlp_cmd_run(k, rargv);
    free(rargv);
    if (rc != 0) {
        unlink(tmp);
        return rc == TMLP_EXIT_USAGE ? rc : TMLP_EXIT_RUNTIME;
    }
    cJSON *b = ru_read_json(baseline), *c = ru_read_json(tmp);
    unlink(tmp);
    if (!b || !c) {
        cJSON_Delete(b);
        cJSON_Delete(c);
        return TMLP_EXIT_RUNTIME;
    }
    rc = tmlp_regress_docs(stdout, b, c, thr, alpha, baseline, "this run", force);
    cJSON_Delete(b);
    cJSON_Delete(c);
    return rc;
}
