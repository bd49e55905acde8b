/* regress.c — the regression gate's decision rule for one metric.
 *
 * A metric has a direction: latency and its percentiles are lower-is-better, throughput
 * and accuracy higher-is-better. (Treating every metric as "higher is worse" reads a
 * throughput drop as an improvement — a classic CI bug.) With r = (cur - base) / |base|:
 *     worse   = r >  threshold (lower-is-better)   or  r < -threshold (higher-is-better)
 *     better  = r < -threshold (lower-is-better)   or  r >  threshold (higher-is-better)
 * When raw samples exist the caller also passes a p-value (Welch's t-test on the
 * latencies); a change beyond the threshold that is not significant (p >= alpha) is noise
 * and the metric stays UNCHANGED.
 *
 * tmlp_regress_compare_runs is the run-level rule (report.h): one value per repetition,
 * Welch on logarithms, an interval of the relative change, a noise floor, and the verdict
 * above with threshold = max(threshold, noise floor). tmlp_regress_decide applies it to a
 * family of metrics with Holm's correction across them: the one function every run-level
 * verdict (regress, --baseline, compare on results files) goes through.
 */
#include "tinymlp/regress.h"
#include "tinymlp/stats.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>

const char *tmlp_regress_verdict_name(tmlp_regress_verdict v)
{
    switch (v) {
    case TMLP_REGRESS_IMPROVEMENT: return "improvement";
    case TMLP_REGRESS_REGRESSION: return "regression";
    default: return "unchanged";
    }
}

tmlp_regress_verdict tmlp_regress_classify(tmlp_metric_direction dir, double base, double cur, double threshold,
                                           double p_value, double alpha, double *rel_change)
{
    double r = (isfinite(base) && isfinite(cur) && base != 0) ? (cur - base) / fabs(base) : NAN;
    if (rel_change) *rel_change = r;
    if (isnan(r) || !(threshold >= 0)) return TMLP_REGRESS_UNCHANGED;
    if (!isnan(p_value) && !(p_value < alpha)) return TMLP_REGRESS_UNCHANGED;
    double worse = dir == TMLP_LOWER_IS_BETTER ? r : -r;
    if (worse > threshold) return TMLP_REGRESS_REGRESSION;
    if (worse < -threshold) return TMLP_REGRESS_IMPROVEMENT;
    return TMLP_REGRESS_UNCHANGED;
}

/* Mean and sample sd of log(x). */
static void log_moments(const double *x, int64_t n, double *mean, double *sd)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m += log(x[i]);
    m /= (double)n;
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (log(x[i]) - m) * (log(x[i]) - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
}

static double cv_of(const double *x, int64_t n)
{
    if (n < 2) return NAN;
    double m = tmlp_stats_mean(x, n);
    return m != 0 ? sqrt(tmlp_stats_variance(x, n)) / fabs(m) : NAN;
}

double tmlp_regress_noise_floor(double cv, int64_t n, double alpha)
{
    if (n < 2 || !isfinite(cv) || cv < 0 || !(alpha > 0 && alpha < 1)) return NAN;
    double df = 2.0 * (double)n - 2.0;
    double sd_log = sqrt(log1p(cv * cv)); /* sd of log(x) for a lognormal with this CV */
    double se = sd_log * sqrt(2.0 / (double)n);
    return expm1(tmlp_stats_t_quantile(1.0 - alpha / 2.0, df) * se);
}

/* One side of a comparison: non-NULL, n >= 1, every value finite and > 0. */
static tmlp_status check_runs(const char *arg, const double *x, int64_t n, tmlp_error *err)
{
    if (!x) return tmlp_error_set(err, TMLP_ERR_ARG, "regress: compare_runs: %s is NULL", arg);
    if (n < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "regress: compare_runs: %s needs >= 1 value, got %lld", arg,
                              (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (!(x[i] > 0) || !isfinite(x[i]))
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "regress: compare_runs: %s[%lld] is %g, values must be finite and > 0", arg,
                                  (long long)i, x[i]);
    return TMLP_OK;
}

tmlp_status tmlp_regress_compare_runs(tmlp_metric_direction dir, const double *base, int64_t nb,
                                      const double *cur, int64_t nc, double threshold, double alpha,
                                      tmlp_regress_runs *out, tmlp_error *err)
{
    tmlp_status st;
    if ((st = check_runs("base", base, nb, err)) != TMLP_OK) return st;
    if ((st = check_runs("cur", cur, nc, err)) != TMLP_OK) return st;
    if (!(threshold >= 0))
        return tmlp_error_set(err, TMLP_ERR_ARG, "regress: compare_runs: threshold %g must be >= 0", threshold);
    if (!(alpha > 0 && alpha <= 0.5))
        return tmlp_error_set(err, TMLP_ERR_ARG, "regress: compare_runs: alpha %g is outside (0, 0.5]", alpha);
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "regress: compare_runs: out is NULL");
    tmlp_regress_runs r;
    r.n_base = nb;
    r.n_cur = nc;
    double mb, sb, mc, sc;
    log_moments(base, nb, &mb, &sb);
    log_moments(cur, nc, &mc, &sc);
    r.base = exp(mb);
    r.cur = exp(mc);
    r.rel_change = expm1(mc - mb);
    r.cv_base = cv_of(base, nb);
    r.cv_cur = cv_of(cur, nc);
    r.ci_low = r.ci_high = r.p = r.noise_floor = NAN;
    r.threshold_used = threshold;
    r.floor_applied = 0;
    r.tested = nb >= TMLP_REGRESS_MIN_REPS && nc >= TMLP_REGRESS_MIN_REPS;
    if (r.tested) {
        double vb = sb * sb / (double)nb, vc = sc * sc / (double)nc, se = sqrt(vb + vc);
        if (!(se > 0)) {
            /* no spread at all: the values are what they are */
            r.p = mc == mb ? 1.0 : 0.0;
            r.ci_low = r.ci_high = r.rel_change;
            r.noise_floor = 0.0;
        } else {
            /* Welch-Satterthwaite df; p and interval on the log scale */
            double df = (vb + vc) * (vb + vc) /
                        (vb * vb / (double)(nb - 1) + vc * vc / (double)(nc - 1));
            double t = (mc - mb) / se;
            r.p = 2.0 * tmlp_stats_t_sf(fabs(t), df);
            if (r.p > 1.0) r.p = 1.0;
            double crit = tmlp_stats_t_quantile(1.0 - alpha / 2.0, df);
            r.ci_low = expm1(mc - mb - crit * se);
            r.ci_high = expm1(mc - mb + crit * se);
            r.noise_floor = expm1(crit * se);
        }
        if (r.noise_floor > threshold) {
            r.threshold_used = r.noise_floor;
            r.floor_applied = 1;
        }
    }
    r.verdict = tmlp_regress_runs_verdict(&r, dir, r.p, alpha);
    *out = r;
    return TMLP_OK;
}

tmlp_regress_verdict tmlp_regress_runs_verdict(const tmlp_regress_runs *r, tmlp_metric_direction dir, double adj_p,
                                               double alpha)
{
    if (!r || isnan(r->rel_change)) return TMLP_REGRESS_UNCHANGED;
    double worse = dir == TMLP_LOWER_IS_BETTER ? r->rel_change : -r->rel_change;
    int significant = !r->tested || adj_p < alpha;
    if (significant && worse > r->threshold_used) return TMLP_REGRESS_REGRESSION;
    if (significant && worse < -r->threshold_used) return TMLP_REGRESS_IMPROVEMENT;
    return TMLP_REGRESS_UNCHANGED;
}

typedef struct holm_item {
    double p;
    int64_t i;
} holm_item;

static int holm_cmp(const void *a, const void *b)
{
    double x = ((const holm_item *)a)->p, y = ((const holm_item *)b)->p;
    return (x > y) - (x < y);
}

tmlp_status tmlp_regress_holm(const double *p, int64_t n, double *adj, tmlp_error *err)
{
    if (n < 0) return tmlp_error_set(err, TMLP_ERR_ARG, "regress: holm: n %lld is negative", (long long)n);
    if (n > 0 && (!p || !adj))
        return tmlp_error_set(err, TMLP_ERR_ARG, "regress: holm: %s is NULL with n %lld", !p ? "p" : "adj",
                              (long long)n);
    holm_item *it = malloc((size_t)(n > 0 ? n : 1) * sizeof *it);
    if (!it) return tmlp_error_set(err, TMLP_ERR_NOMEM, "regress: holm: out of memory");
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(p[i])) it[m++] = (holm_item){p[i], i};
    qsort(it, (size_t)m, sizeof *it, holm_cmp);
    for (int64_t i = 0; i < n; i++)
        if (isnan(p[i])) adj[i] = NAN;
    /* step-down: adj_(k) = max_{j <= k} min(1, (m - j) p_(j)), 0-based ranks */
    double run = 0.0;
    for (int64_t k = 0; k < m; k++) {
        double a = (double)(m - k) * it[k].p;
        if (a > 1.0) a = 1.0;
        if (a > run) run = a;
        adj[it[k].i] = run;
    }
    free(it);
    return TMLP_OK;
}

double tmlp_regress_two_proportion_p(int64_t k1, int64_t n1, int64_t k2, int64_t n2)
{
    if (n1 < 1 || n2 < 1 || k1 < 0 || k2 < 0 || k1 > n1 || k2 > n2) return NAN;
    double p1 = (double)k1 / (double)n1, p2 = (double)k2 / (double)n2;
    double pool = (double)(k1 + k2) / (double)(n1 + n2);
    double se = sqrt(pool * (1.0 - pool) * (1.0 / (double)n1 + 1.0 / (double)n2));
    if (!(se > 0)) return p1 == p2 ? 1.0 : 0.0;
    return 2.0 * tmlp_stats_normal_sf(fabs(p1 - p2) / se);
}


tmlp_status tmlp_regress_decide(tmlp_regress_metric *metrics, int64_t n, double threshold, double alpha,
                                tmlp_error *err)
{
    if (n < 0 || (n > 0 && !metrics))
        return tmlp_error_set(err, TMLP_ERR_ARG, "regress: decide: %s", n < 0 ? "n is negative" : "metrics is NULL");
    double *p = calloc((size_t)(n > 0 ? n : 1) * 2, sizeof *p);
    if (!p) return tmlp_error_set(err, TMLP_ERR_NOMEM, "regress: decide: out of memory for %lld metrics", (long long)n);
    double *adj = p + (n > 0 ? n : 1);
    for (int64_t i = 0; i < n; i++) {
        tmlp_regress_metric *m = &metrics[i];
        tmlp_error e = {0};
        tmlp_status st = tmlp_regress_compare_runs(m->dir, m->base, m->n_base, m->cur, m->n_cur, threshold, alpha,
                                                   &m->runs, &e);
        if (st != TMLP_OK) {
            free(p);
            return tmlp_error_set(err, st, "regress: decide: metric %lld: %s", (long long)i, e.message);
        }
        p[i] = m->runs.tested ? m->runs.p : NAN;
    }
    tmlp_status st = tmlp_regress_holm(p, n, adj, err);
    for (int64_t i = 0; st == TMLP_OK && i < n; i++) {
        metrics[i].adj_p = adj[i];
        metrics[i].verdict = tmlp_regress_runs_verdict(&metrics[i].runs, metrics[i].dir, adj[i], alpha);
    }
    free(p);
    return st;
}
