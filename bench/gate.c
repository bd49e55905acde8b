/* gate.c — the regression gate: two results documents compared run by run.
 *
 * Used by `bench_mlp regress BASE CUR`, `regress --baseline`, a run's `--baseline` and
 * (tmlp_gate_build only) `compare` on results files, so they cannot disagree on the same
 * files. The rule:
 *   1. the comparability guard (comparable.c) first: different workloads are exit 2;
 *   2. runs are matched by label; each matched run gives latency mean, p50, p90, p99
 *      (lower is better) and throughput (higher is better), offline its throughput only,
 *      ONE VALUE PER REPETITION (a run without "repetitions" is one repetition);
 *   3. tmlp_regress_decide (report.h): Welch on log values per metric, the noise floor,
 *      Holm over the family; fewer than TMLP_REGRESS_MIN_REPS repetitions a side: the
 *      threshold alone, labelled so;
 *   4. accuracy: the two-proportion z-test on the counts;
 *   5. soundness warnings (load, governor, CV, outliers) are printed, never a verdict.
 * Invariant: the gate reads only the two documents; it never runs anything.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reports_util.h"
#include "run.h"

static void fmt_value(char *buf, size_t cap, double v, const char *unit)
{
    if (isnan(v)) snprintf(buf, cap, "-");
    else if (!strcmp(unit, "ns")) tmlp_cli_fmt_ns(v, buf, cap);
    else if (!strcmp(unit, "samples/s")) snprintf(buf, cap, v >= 100 ? "%.0f/s" : "%.3g/s", v);
    else snprintf(buf, cap, "%.4f", v);
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
        const cJSON *br = ru_find_by(bruns, "label", label);
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
        const cJSON *br = label ? ru_find_by(bruns, "label", label) : NULL;
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

