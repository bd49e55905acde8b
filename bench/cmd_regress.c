/* cmd_regress.c — `bench_mlp regress BASELINE.json CURRENT.json`: the CI regression gate.
 *
 * Runs are matched by their label ("single-stream", "server", "offline b=256"). For each
 * pair, every metric is compared with its DIRECTION:
 *     latency mean, p50, p90, p99   lower is better
 *     throughput (samples/s)        higher is better
 *     accuracy                      higher is better
 * A metric is a regression when it got worse by more than --threshold (relative, default
 * 5%) AND, where both files hold the raw per-query latencies, the change is significant
 * at --alpha (default 0.05): Welch's t-test for the mean, Mann-Whitney U for the
 * percentiles (a shift of the distribution). Without raw data the threshold alone
 * decides. The decision rule is tmlp_regress_classify (src/bench/regress.c).
 *
 * `bench_mlp regress --baseline BASE.json [run options]` first runs the benchmark (the
 * default run's options) and compares that run against BASE.json.
 * Exit: 3 if any metric regressed, 0 otherwise, 1 runtime error, 2 usage error.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "reports_util.h"
#include "run.h"

typedef struct metric_def {
    const char *name;
    tmlp_metric_direction dir;
    const char *unit;
} metric_def;

/* Lines grouped by verdict, printed after the per-metric table. */
#define MAX_LINES 256
typedef struct counts {
    int regress, improve, same, skipped;
    char lines[3][MAX_LINES][200]; /* [verdict][i] */
    int n[3];
} counts;

static void print_help(FILE *f)
{
    fputs("Usage: bench_mlp regress [OPTIONS] BASELINE.json CURRENT.json\n"
          "       bench_mlp regress [OPTIONS] --baseline BASELINE.json [run options]\n"
          "Compare two results files of `bench_mlp --format json` run by run (matched by label).\n"
          "Latency (mean, p50, p90, p99) is lower-is-better; throughput and accuracy are\n"
          "higher-is-better. A metric regresses when it is worse by more than the threshold and,\n"
          "where per-query latencies exist, the change is significant (Welch t for the mean,\n"
          "Mann-Whitney U for percentiles).\n"
          "  --threshold X   relative threshold, a fraction (0.05) or a percent (5%); default 5%\n"
          "  --alpha A       significance level, default 0.05\n"
          "  --baseline F    run the benchmark now (remaining options are run options) and\n"
          "                  compare it against F\n"
          "Exit status: 0 no regression, 3 regression found, 1 runtime error, 2 usage error.\n",
          f);
}

static void fmt_value(char *buf, size_t cap, double v, const char *unit)
{
    if (isnan(v)) snprintf(buf, cap, "-");
    else if (!strcmp(unit, "ns")) tmlp_cli_fmt_ns(v, buf, cap);
    else if (!strcmp(unit, "samples/s")) snprintf(buf, cap, v >= 100 ? "%.0f/s" : "%.3g/s", v);
    else snprintf(buf, cap, "%.4f", v);
}

/* Compare one metric and print its line. */
static void compare_metric(FILE *f, const char *label, const metric_def *m, double base, double cur, double p, double thr,
                           double alpha, const char *test, counts *c)
{
    char b[32], k[32], pv[40];
    if (isnan(base) || isnan(cur)) {
        c->skipped++;
        return;
    }
    double rel;
    tmlp_regress_verdict v = tmlp_regress_classify(m->dir, base, cur, thr, p, alpha, &rel);
    fmt_value(b, sizeof b, base, m->unit);
    fmt_value(k, sizeof k, cur, m->unit);
    if (isnan(p)) snprintf(pv, sizeof pv, "no raw data");
    else if (p < 1e-300) snprintf(pv, sizeof pv, "%s p < 1e-300", test);
    else snprintf(pv, sizeof pv, "%s p = %.3g", test, p);
    const char *tag = v == TMLP_REGRESS_REGRESSION ? "REGRESSION" : v == TMLP_REGRESS_IMPROVEMENT ? "improvement" : "unchanged";
    fprintf(f, "  %-16s %-11s %10s -> %-10s %+7.2f%%  %-24s %s (%s)\n", label, m->name, b, k, 100 * rel, pv, tag,
           m->dir == TMLP_LOWER_IS_BETTER ? "lower is better" : "higher is better");
    if (v == TMLP_REGRESS_REGRESSION) c->regress++;
    else if (v == TMLP_REGRESS_IMPROVEMENT) c->improve++;
    else c->same++;
    if (c->n[v] < MAX_LINES)
        snprintf(c->lines[v][c->n[v]++], sizeof c->lines[0][0], "%s %s: %s -> %s (%+.2f%%%s%s)", label, m->name, b, k,
                 100 * rel, isnan(p) ? "" : ", ", isnan(p) ? "" : pv);
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

static double accuracy_of(const cJSON *run)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(run, "accuracy");
    return cJSON_IsObject(a) ? ru_num(a, "value") : NAN;
}

int tmlp_regress_docs(FILE *f, const cJSON *base, const cJSON *cur, double thr, double alpha, const char *bname,
                      const char *cname)
{
    const cJSON *bruns = cJSON_GetObjectItemCaseSensitive(base, "runs");
    const cJSON *cruns = cJSON_GetObjectItemCaseSensitive(cur, "runs");
    if (!cJSON_IsArray(bruns) || !cJSON_IsArray(cruns)) {
        tmlp_cli_error("%s: no \"runs\" array: not a bench_mlp --format json results file",
                       !cJSON_IsArray(bruns) ? bname : cname);
        return TMLP_EXIT_RUNTIME;
    }
    static const metric_def lat[4] = {{"mean", TMLP_LOWER_IS_BETTER, "ns"},
                                      {"p50", TMLP_LOWER_IS_BETTER, "ns"},
                                      {"p90", TMLP_LOWER_IS_BETTER, "ns"},
                                      {"p99", TMLP_LOWER_IS_BETTER, "ns"}};
    static const metric_def thr_m = {"throughput", TMLP_HIGHER_IS_BETTER, "samples/s"};
    static const metric_def acc_m = {"accuracy", TMLP_HIGHER_IS_BETTER, "fraction"};
    static counts c; /* large: keep it off the stack */
    memset(&c, 0, sizeof c);
    int matched = 0;
    fprintf(f, "Regression check: baseline %s vs current %s (threshold %.1f%%, alpha %g)\n", bname, cname, 100 * thr,
            alpha);
    const cJSON *cr;
    cJSON_ArrayForEach(cr, cruns) {
        const char *label = ru_str(cr, "label");
        if (!label) continue;
        const cJSON *br = find_run(bruns, label);
        if (!br) {
            fprintf(f, "  %-16s only in the current file: not compared\n", label);
            continue;
        }
        matched++;
        const cJSON *bv = cJSON_GetObjectItemCaseSensitive(br, "valid");
        const cJSON *cv = cJSON_GetObjectItemCaseSensitive(cr, "valid");
        if (cJSON_IsFalse(bv) || cJSON_IsFalse(cv))
            fprintf(f, "  %-16s warning: the %s run is INVALID; its figures are compared anyway\n", label,
                    cJSON_IsFalse(bv) ? "baseline" : "current");
        const cJSON *bl = cJSON_GetObjectItemCaseSensitive(br, "latency_ns");
        const cJSON *cl = cJSON_GetObjectItemCaseSensitive(cr, "latency_ns");
        int64_t nb = 0, nc = 0;
        int64_t *rb = ru_i64_array(br, "latencies_ns", &nb), *rc = ru_i64_array(cr, "latencies_ns", &nc);
        double p_mean = NAN, p_dist = NAN;
        if (nb >= 2 && nc >= 2) {
            double *db = ru_to_double(rb, nb), *dc = ru_to_double(rc, nc);
            tmlp_stats_ttest t;
            tmlp_stats_mwu u;
            if (db && dc && tmlp_stats_welch(db, nb, dc, nc, &t) == TMLP_OK && t.defined) p_mean = t.p_two_sided;
            if (db && dc && tmlp_stats_mannwhitney(db, nb, dc, nc, &u) == TMLP_OK) p_dist = u.p;
            free(db);
            free(dc);
        }
        free(rb);
        free(rc);
        /* offline runs hold one query: its latency is the run's length, not a sample */
        const char *scen = ru_str(cr, "scenario");
        int offline = scen && !strcmp(scen, "offline");
        if (!offline && cJSON_IsObject(bl) && cJSON_IsObject(cl)) {
            for (int i = 0; i < 4; i++)
                compare_metric(f, label, &lat[i], ru_num(bl, lat[i].name), ru_num(cl, lat[i].name),
                               i == 0 ? p_mean : p_dist, thr, alpha, i == 0 ? "Welch" : "Mann-Whitney", &c);
        }
        compare_metric(f, label, &thr_m, ru_num(br, "throughput_samples_per_s"), ru_num(cr, "throughput_samples_per_s"),
                       NAN, thr, alpha, "", &c);
        compare_metric(f, label, &acc_m, accuracy_of(br), accuracy_of(cr), NAN, thr, alpha, "", &c);
    }
    if (!matched) {
        tmlp_cli_error("no run of %s has a label found in %s: nothing to compare", cname, bname);
        return TMLP_EXIT_RUNTIME;
    }
    static const char *const heads[3] = {"Unchanged", "Improvements", "Regressions"};
    static const int order[3] = {TMLP_REGRESS_REGRESSION, TMLP_REGRESS_IMPROVEMENT, TMLP_REGRESS_UNCHANGED};
    for (int g = 0; g < 3; g++) {
        int v = order[g];
        fprintf(f, "%s (%d):%s\n", heads[v], c.n[v], c.n[v] ? "" : " none");
        for (int i = 0; i < c.n[v]; i++) fprintf(f, "  %s\n", c.lines[v][i]);
    }
    fprintf(f, "Summary: %d regression%s, %d improvement%s, %d unchanged", c.regress, c.regress == 1 ? "" : "s",
            c.improve, c.improve == 1 ? "" : "s", c.same);
    if (c.skipped) fprintf(f, ", %d not comparable (absent in a file)", c.skipped);
    fprintf(f, " -> %s\n", c.regress ? "REGRESSION (exit 3)" : "no regression");
    return c.regress ? TMLP_EXIT_REGRESSION : TMLP_EXIT_OK;
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
        int rc = tmlp_cli_parse_double("--threshold", buf, 0, 1000, &v);
        if (rc) return rc;
        *out = v / 100;
        return 0;
    }
    return tmlp_cli_parse_double("--threshold", s, 0, 10, out);
}

int tmlp_cmd_regress(int argc, char **argv)
{
    double thr = 0.05, alpha = 0.05;
    const char *baseline = NULL;
    int i = 1;
    /* own options first; with --baseline everything after our options goes to the run */
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(stdout);
            return 0;
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
        int rc = tmlp_regress_docs(stdout, b, c, thr, alpha, argv[i], argv[i + 1]);
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
    rc = tmlp_regress_docs(stdout, b, c, thr, alpha, baseline, "this run");
    cJSON_Delete(b);
    cJSON_Delete(c);
    return rc;
}
