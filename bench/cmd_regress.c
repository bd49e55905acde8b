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
 * Exit: 3 if any metric regressed, 0 otherwise, 1 runtime error or a malformed file (refused
 * by result_check.c), 2 usage error, different workloads, or no metric with a value on both
 * sides (a gate that compared nothing never passes).
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
          "Exit status: 0 no regression, 3 regression found, 1 runtime error or a malformed\n"
          "file, 2 usage error, different workloads, or no metric on both sides (no verdict).\n",
          f);
}

static void fmt_value(char *buf, size_t cap, double v, const char *unit)
{
    if (isnan(v)) snprintf(buf, cap, "-");
    else if (!strcmp(unit, "ns")) tmlp_cli_fmt_ns(v, buf, cap);
    else if (!strcmp(unit, "samples/s")) snprintf(buf, cap, v >= 100 ? "%.0f/s" : "%.3g/s", v);
    else snprintf(buf, cap, "%.4f", v);
}

static const cJSON *find_run(const cJSON *runs, const char *label)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, runs) {
        const char *l = ru_str(r, "label");
        if (l && !strcmp(l, label)) return r;
    }
    return NULL;
}

/* The values of metric m, one per repetition, from a run object: its "repetitions"
 * array, or the run itself as one repetition. Returns the count (0 if none usable). */
static int rep_values(const cJSON *run, tmlp_rep_metric m, double *v, int cap)
{
    const cJSON *reps = cJSON_GetObjectItemCaseSensitive(run, "repetitions"), *x;
    int n = 0;
    const char *name = tmlp_rep_metric_name(m);
    if (cJSON_IsArray(reps) && cJSON_GetArraySize(reps) > 0) {
        cJSON_ArrayForEach(x, reps) {
            double y = m == TMLP_RM_THROUGHPUT ? ru_num(x, "throughput_samples_per_s")
                                               : ru_num(cJSON_GetObjectItemCaseSensitive(x, "latency_ns"), name);
            if (isfinite(y) && y > 0 && n < cap) v[n++] = y;
        }
        return n;
    }
    double y = m == TMLP_RM_THROUGHPUT ? ru_num(run, "throughput_samples_per_s")
                                       : ru_num(cJSON_GetObjectItemCaseSensitive(run, "latency_ns"), name);
    if (isfinite(y) && y > 0) v[n++] = y;
    return n;
}

static void print_metric(FILE *f, const tmlp_gate_item *c, double thr, double alpha)
{
    const tmlp_regress_runs *r = &c->m.runs;
    const char *unit = tmlp_rep_metric_unit(c->metric);
    char b[32], k[32], why[160];
    fmt_value(b, sizeof b, r->base, unit);
    fmt_value(k, sizeof k, r->cur, unit);
    if (r->tested)
        snprintf(why, sizeof why, "%.0f%% CI [%+.1f%%, %+.1f%%], p %.2g (Holm %.2g), bar %.1f%%%s",
                 100 * (1 - alpha), 100 * r->ci_low, 100 * r->ci_high, r->p, c->m.adj_p, 100 * r->threshold_used,
                 r->floor_applied ? " = noise floor" : " = threshold");
    else
        snprintf(why, sizeof why, "not enough repetitions for a test (%lld vs %lld runs, need %d): threshold %.1f%% alone",
                 (long long)r->n_base, (long long)r->n_cur, TMLP_REGRESS_MIN_REPS, 100 * thr);
    tmlp_regress_verdict v = c->m.verdict;
    const char *tag = v == TMLP_REGRESS_REGRESSION ? "REGRESSION" : v == TMLP_REGRESS_IMPROVEMENT ? "improvement" : "unchanged";
    fprintf(f, "  %-16s %-10s %10s -> %-10s %+7.2f%%  %s  %s%s\n", c->label, tmlp_rep_metric_name(c->metric), b, k,
            100 * r->rel_change, why, tag, r->tested || v == TMLP_REGRESS_UNCHANGED ? "" : " (threshold only)");
}

int tmlp_gate_build(FILE *f, const cJSON *base, const cJSON *cur, double thr, double alpha, tmlp_gate *g)
{
    const cJSON *bruns = cJSON_GetObjectItemCaseSensitive(base, "runs");
    const cJSON *cruns = cJSON_GetObjectItemCaseSensitive(cur, "runs");
    memset(g, 0, sizeof *g);
    const cJSON *cr;
    cJSON_ArrayForEach(cr, cruns) {
        const char *label = ru_str(cr, "label");
        if (!label) continue;
        const cJSON *br = find_run(bruns, label);
        if (!br) {
            if (f) fprintf(f, "  %-16s only in the current file: not compared\n", label);
            continue;
        }
        g->matched++;
        if (f) {
            const cJSON *bv = cJSON_GetObjectItemCaseSensitive(br, "valid");
            const cJSON *cv = cJSON_GetObjectItemCaseSensitive(cr, "valid");
            if (cJSON_IsFalse(bv) || cJSON_IsFalse(cv))
                fprintf(f, "  %-16s warning: the %s run is INVALID; its figures are compared anyway\n", label,
                        cJSON_IsFalse(bv) ? "baseline" : "current");
        }
        /* offline percentiles follow from its throughput; server throughput is the offered
         * load unless the run is overloaded: each scenario's gate metrics */
        const char *scen = ru_str(cr, "scenario");
        int offline = scen && !strcmp(scen, "offline");
        for (int m = 0; m < TMLP_RM_COUNT && g->n < TMLP_GATE_MAX; m++) {
            if (offline && m != TMLP_RM_THROUGHPUT) continue;
            tmlp_gate_item *c = &g->item[g->n];
            int nb = rep_values(br, (tmlp_rep_metric)m, c->base, TMLP_MAX_REPEAT);
            int nc = rep_values(cr, (tmlp_rep_metric)m, c->cur, TMLP_MAX_REPEAT);
            if (nb < 1 || nc < 1) continue;
            snprintf(c->label, sizeof c->label, "%s", label);
            snprintf(c->scenario, sizeof c->scenario, "%s", scen ? scen : "");
            c->metric = (tmlp_rep_metric)m;
            c->m = (tmlp_regress_metric){.dir = m == TMLP_RM_THROUGHPUT ? TMLP_HIGHER_IS_BETTER : TMLP_LOWER_IS_BETTER,
                                         .base = c->base, .n_base = nb, .cur = c->cur, .n_cur = nc};
            g->n++;
        }
    }
    tmlp_regress_metric fam[TMLP_GATE_MAX];
    for (int i = 0; i < g->n; i++) fam[i] = g->item[i].m;
    tmlp_error e = {0};
    if (tmlp_regress_decide(fam, g->n, thr, alpha, &e) != TMLP_OK) {
        tmlp_cli_error("%s", e.message);
        return TMLP_EXIT_RUNTIME;
    }
    for (int i = 0; i < g->n; i++) {
        g->item[i].m = fam[i];
        g->tested += fam[i].runs.tested;
    }
    return 0;
}

const tmlp_gate_item *tmlp_gate_find(const tmlp_gate *g, const char *label, tmlp_rep_metric m)
{
    for (int i = 0; label && i < g->n; i++)
        if (g->item[i].metric == m && !strcmp(g->item[i].label, label)) return &g->item[i];
    return NULL;
}

/* Soundness warnings of one file (printed, never a verdict). */
static int file_warnings(FILE *f, const cJSON *doc, const char *name)
{
    int n = 0;
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(doc, "context");
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(ctx, "load_average");
    double cores = ru_num(ctx, "cores");
    if (cJSON_IsArray(la) && cJSON_GetArraySize(la) > 0 && isfinite(cores)) {
        double l1 = cJSON_GetArrayItem(la, 0)->valuedouble;
        if (l1 > cores) {
            fprintf(f, "  warning: %s: load average %.2f above the %g cores: other work shared the CPUs\n", name, l1,
                    cores);
            n++;
        }
    }
    const char *gov = ru_str(ctx, "cpu_governor");
    if (gov && strcmp(gov, "performance")) {
        fprintf(f, "  warning: %s: CPU frequency governor \"%s\", not \"performance\": the clock may move between "
                   "runs\n", name, gov);
        n++;
    }
    /* one line per kind: the noisy metrics, then the runs with many outliers */
    char noisy[1024] = "", tails[512] = "";
    size_t ln = 0, lt = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(doc, "runs")) {
        const char *label = ru_str(run, "label");
        const cJSON *cv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "aggregate"), "cv");
        for (int m = 0; cv && m < TMLP_RM_COUNT; m++) {
            double c = ru_num(cv, tmlp_rep_metric_name((tmlp_rep_metric)m));
            if (isfinite(c) && c > 0.10 && ln < sizeof noisy)
                ln += (size_t)snprintf(noisy + ln, sizeof noisy - ln, "%s%s %s %.0f%%", ln ? ", " : "",
                                       label ? label : "?", tmlp_rep_metric_name((tmlp_rep_metric)m), 100 * c);
        }
        int64_t k = 0;
        int64_t *lat = ru_i64_array(run, "latencies_ns", &k);
        double *d = lat && k >= 10 ? ru_to_double(lat, k) : NULL;
        tmlp_stats_check_settings cs = tmlp_stats_check_settings_default();
        tmlp_stats_sample smp;
        if (d && tmlp_stats_sample_describe(d, k, &cs, TMLP_PCT_LOADGEN, &smp, NULL) == TMLP_OK &&
            (smp.warnings & TMLP_WARN_MANY_OUTLIERS) && lt < sizeof tails)
            lt += (size_t)snprintf(tails + lt, sizeof tails - lt, "%s%s", lt ? ", " : "", label ? label : "?");
        free(d);
        free(lat);
    }
    if (ln) {
        fprintf(f, "  warning: %s: between-repetition CV above 10%% (a noisy machine: only large changes can be "
                   "detected): %s\n", name, noisy);
        n++;
    }
    if (lt) {
        fprintf(f, "  warning: %s: %s in %s\n", name, tmlp_stats_warning_text(TMLP_WARN_MANY_OUTLIERS), tails);
        n++;
    }
    return n;
}

int tmlp_regress_docs(FILE *f, const cJSON *base, const cJSON *cur, double thr, double alpha, const char *bname,
                      const char *cname, int force)
{
    const cJSON *bruns = tmlp_results_runs(base, bname);
    const cJSON *cruns = bruns ? tmlp_results_runs(cur, cname) : NULL;
    if (!bruns || !cruns) return TMLP_EXIT_RUNTIME;
    fprintf(f, "Regression check: baseline %s vs current %s (threshold %.1f%%, alpha %g)\n", bname, cname, 100 * thr,
            alpha);
    int rc = tmlp_comparable_check(f, base, cur, bname, cname, force);
    if (rc) return rc;
    tmlp_gate *g = calloc(1, sizeof *g);
    if (!g) {
        tmlp_cli_error("out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    if ((rc = tmlp_gate_build(f, base, cur, thr, alpha, g))) {
        free(g);
        return rc;
    }
    if (!g->matched) {
        tmlp_cli_error("no run of %s has a label found in %s: nothing to compare", cname, bname);
        free(g);
        return TMLP_EXIT_RUNTIME;
    }
    int regress = 0, improve = 0, same = 0, untested = 0, tested = g->tested;
    for (int i = 0; i < g->n; i++) {
        const tmlp_gate_item *c = &g->item[i];
        print_metric(f, c, thr, alpha);
        if (c->m.verdict == TMLP_REGRESS_REGRESSION) regress++;
        else if (c->m.verdict == TMLP_REGRESS_IMPROVEMENT) improve++;
        else same++;
        if (!c->m.runs.tested) untested++;
    }
    const cJSON *cr;
    /* accuracy: counts, two-proportion z-test */
    cJSON_ArrayForEach(cr, cruns) {
        const char *label = ru_str(cr, "label");
        const cJSON *br = label ? find_run(bruns, label) : NULL;
        const cJSON *ab = br ? cJSON_GetObjectItemCaseSensitive(br, "accuracy") : NULL;
        const cJSON *ac = cJSON_GetObjectItemCaseSensitive(cr, "accuracy");
        if (!cJSON_IsObject(ab) || !cJSON_IsObject(ac)) continue;
        double kb = ru_num(ab, "correct"), nb = ru_num(ab, "total"), kc = ru_num(ac, "correct"), nc = ru_num(ac, "total");
        if (!(nb > 0 && nc > 0)) continue;
        double pv = tmlp_regress_two_proportion_p((int64_t)kb, (int64_t)nb, (int64_t)kc, (int64_t)nc), rel;
        tmlp_regress_verdict v = tmlp_regress_classify(TMLP_HIGHER_IS_BETTER, kb / nb, kc / nc, thr, pv, alpha, &rel);
        fprintf(f, "  %-16s %-10s %10.4f -> %-10.4f %+7.2f%%  two-proportion z-test p %.2g (%.0f/%.0f vs %.0f/%.0f), "
                   "bar %.1f%%  %s\n", label, "accuracy", kb / nb, kc / nc, 100 * rel, pv, kb, nb, kc, nc, 100 * thr,
                v == TMLP_REGRESS_REGRESSION ? "REGRESSION" : v == TMLP_REGRESS_IMPROVEMENT ? "improvement"
                                                                                            : "unchanged");
        if (v == TMLP_REGRESS_REGRESSION) regress++;
        else if (v == TMLP_REGRESS_IMPROVEMENT) improve++;
        else same++;
    }
    if (regress + improve + same == 0) { /* a gate that compared nothing must not pass */
        free(g);
        tmlp_cli_error("%s vs %s: no metric has a value on both sides (latency, throughput or accuracy of a matched "
                       "run): nothing to compare, no verdict", bname, cname);
        return TMLP_EXIT_USAGE;
    }
    int w = file_warnings(f, base, bname) + file_warnings(f, cur, cname);
    (void)w;
    fprintf(f, "Summary: %d regression%s, %d improvement%s, %d unchanged; %d metric%s tested across repetitions "
               "(Welch on logs, Holm over %d), %d by the threshold alone%s -> %s\n",
            regress, regress == 1 ? "" : "s", improve, improve == 1 ? "" : "s", same, tested,
            tested == 1 ? "" : "s", tested, untested,
            untested ? " (not enough repetitions: run both sides with --repeat 5)" : "",
            regress ? "REGRESSION (exit 3)" : "no regression");
    int out = regress ? TMLP_EXIT_REGRESSION : TMLP_EXIT_OK;
    free(g);
    return out;
}

/* "5%" or "0.05" */
int tmlp_regress_parse_threshold(const char *s, double *out)
{
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '%') {
        char buf[64];
        if (n >= sizeof buf) return tmlp_cli_usage_error("--threshold: bad value \"%s\"", s);
        memcpy(buf, s, n - 1);
        buf[n - 1] = 0;
        double v;
        int rc = tmlp_cli_parse_double("--threshold", buf, 0, 100000, &v);
        if (rc) return rc;
        *out = v / 100;
        return 0;
    }
    return tmlp_cli_parse_double("--threshold", s, 0, 1000, out);
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
