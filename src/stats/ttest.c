/* ttest.c — Welch's and Student's two-sample t-tests and the t-based intervals.
 *
 * With means m_a, m_b, sample variances s_a^2, s_b^2 (n-1) and v = s^2/n:
 *   Welch:   t = (m_a - m_b) / sqrt(v_a + v_b)
 *            df = (v_a + v_b)^2 / (v_a^2/(n_a-1) + v_b^2/(n_b-1))   (fractional, never rounded)
 *   Student: sp2 = ((n_a-1) s_a^2 + (n_b-1) s_b^2) / (n_a+n_b-2),
 *            t = (m_a - m_b) / sqrt(sp2 (1/n_a + 1/n_b)),  df = n_a + n_b - 2
 *   two-sided p = I_x(df/2, 1/2), x = df/(df+t^2)  (= 2 sf(|t|)), one-sided via sf/cdf.
 * Degenerate inputs reproduce SciPy 1.10 exactly (t = nan or +-inf; a 0/0 Welch df makes
 * SciPy use df = 1 for the p-value) and set defined = 0 so nobody reads them as results.
 *
 * Intervals: mean +- t_{(1+level)/2, n-1} s/sqrt(n); the difference of means with Welch's
 * se and df; and the relative change m_b/m_a - 1 by Fieller's theorem: the set of
 * ratios theta with (m_b - theta m_a)^2 <= t^2 (v_b + theta^2 v_a), i.e.
 *   theta = [R +- (t/|m_a|) sqrt(v_b (1-g) + R^2 v_a)] / (1-g),  R = m_b/m_a,
 *   g = t^2 v_a / m_a^2   (bounded only when g < 1: m_a clearly nonzero).
 */
#include "tinymlp/stats.h"
#include "stats_internal.h"

#include <math.h>

/* p-values of an already computed t with df (df may be NaN only if t is non-finite). */
static void t_pvalues(tmlp_stats_ttest *r, double p_df)
{
    if (isnan(r->t) || isnan(p_df)) {
        r->p_two_sided = r->p_greater = r->p_less = NAN;
        return;
    }
    if (isinf(r->t)) {
        r->p_two_sided = 0.0;
        r->p_greater = r->t > 0 ? 0.0 : 1.0;
        r->p_less = 1.0 - r->p_greater;
        return;
    }
    r->p_greater = tmlp_stats_t_sf(r->t, p_df);
    r->p_less = tmlp_stats_t_cdf(r->t, p_df);
    r->p_two_sided = 2.0 * tmlp_stats_t_sf(fabs(r->t), p_df);
    if (r->p_two_sided > 1.0) r->p_two_sided = 1.0;
}

/* diff / se with IEEE semantics spelled out (0/0 = nan, x/0 = +-inf). */
static double safe_ratio(double num, double den)
{
    if (isnan(num) || isnan(den)) return NAN;
    if (den == 0.0) return num == 0.0 ? NAN : (num > 0 ? INFINITY : -INFINITY);
    return num / den;
}

tmlp_status tmlp_stats_welch(const double *a, int64_t na, const double *b, int64_t nb,
                             tmlp_stats_ttest *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "welch", "a", a, na, 1));
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "welch", "b", b, nb, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "welch", "out", out));
    tmlp_stats_ttest r;
    double ma = tmlp_stats_mean(a, na), mb = tmlp_stats_mean(b, nb);
    double va = tmlp_stats_variance(a, na) / (double)na; /* NaN for n = 1 */
    double vb = tmlp_stats_variance(b, nb) / (double)nb;
    r.mean_diff = ma - mb;
    r.se = sqrt(va + vb);
    r.pooled_var = NAN;
    r.t = safe_ratio(r.mean_diff, r.se);
    double den = va * va / (double)(na - 1) + vb * vb / (double)(nb - 1);
    if (na < 2 || nb < 2) r.df = NAN;
    else r.df = den == 0.0 ? NAN : (va + vb) * (va + vb) / den;
    /* SciPy: when the df is 0/0 (both variances zero), the p-value uses df = 1. */
    double p_df = (na >= 2 && nb >= 2 && den == 0.0) ? 1.0 : r.df;
    t_pvalues(&r, p_df);
    r.defined = isfinite(r.t) && isfinite(r.p_two_sided);
    *out = r;
    return TMLP_OK;
}

tmlp_status tmlp_stats_student(const double *a, int64_t na, const double *b, int64_t nb,
                               tmlp_stats_ttest *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "student", "a", a, na, 1));
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "student", "b", b, nb, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "student", "out", out));
    tmlp_stats_ttest r;
    double ma = tmlp_stats_mean(a, na), mb = tmlp_stats_mean(b, nb);
    double sa2 = tmlp_stats_variance(a, na), sb2 = tmlp_stats_variance(b, nb);
    r.df = (double)(na + nb - 2);
    r.mean_diff = ma - mb;
    r.pooled_var = r.df > 0 ? ((double)(na - 1) * sa2 + (double)(nb - 1) * sb2) / r.df : NAN;
    r.se = sqrt(r.pooled_var * (1.0 / (double)na + 1.0 / (double)nb));
    r.t = safe_ratio(r.mean_diff, r.se);
    t_pvalues(&r, r.df > 0 ? r.df : NAN);
    r.defined = isfinite(r.t) && isfinite(r.p_two_sided);
    *out = r;
    return TMLP_OK;
}

tmlp_status tmlp_stats_ci_mean(const double *x, int64_t n, double level,
                               tmlp_stats_interval *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "ci_mean", "x", x, n, 2));
    TMLP_STATS_TRY(tmlp_stats_check_open01(err, "ci_mean", "level", level));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "ci_mean", "out", out));
    tmlp_stats_interval r;
    double sem = sqrt(tmlp_stats_variance(x, n) / (double)n);
    r.level = level;
    r.df = (double)(n - 1);
    r.estimate = tmlp_stats_mean(x, n);
    r.crit = tmlp_stats_t_quantile((1.0 + level) / 2.0, r.df);
    r.half_width = r.crit * sem;
    r.low = r.estimate - r.half_width;
    r.high = r.estimate + r.half_width;
    *out = r;
    return TMLP_OK;
}

tmlp_status tmlp_stats_ci_mean_diff(const double *a, int64_t na, const double *b, int64_t nb,
                                    double level, tmlp_stats_interval *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "ci_mean_diff", "a", a, na, 1));
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "ci_mean_diff", "b", b, nb, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "ci_mean_diff", "out", out));
    TMLP_STATS_TRY(tmlp_stats_check_open01(err, "ci_mean_diff", "level", level));
    tmlp_stats_ttest w;
    tmlp_status st = tmlp_stats_welch(b, nb, a, na, &w, err);
    if (st != TMLP_OK) return st;
    tmlp_stats_interval r;
    r.level = level;
    r.df = w.df;
    r.estimate = w.mean_diff; /* mean(b) - mean(a) */
    r.crit = tmlp_stats_t_quantile((1.0 + level) / 2.0, w.df);
    r.half_width = w.se == 0.0 ? 0.0 : r.crit * w.se;
    r.low = r.estimate - r.half_width;
    r.high = r.estimate + r.half_width;
    *out = r;
    return TMLP_OK;
}

tmlp_status tmlp_stats_ci_relative_change(const double *a, int64_t na, const double *b,
                                          int64_t nb, double level, tmlp_stats_interval *out,
                                          tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "ci_relative_change", "a", a, na, 1));
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "ci_relative_change", "b", b, nb, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "ci_relative_change", "out", out));
    TMLP_STATS_TRY(tmlp_stats_check_open01(err, "ci_relative_change", "level", level));
    tmlp_stats_ttest w;
    tmlp_status st = tmlp_stats_welch(b, nb, a, na, &w, err);
    if (st != TMLP_OK) return st;
    double ma = tmlp_stats_mean(a, na), mb = tmlp_stats_mean(b, nb);
    double va = tmlp_stats_variance(a, na) / (double)na, vb = tmlp_stats_variance(b, nb) / (double)nb;
    tmlp_stats_interval r;
    r.level = level;
    r.df = w.df;
    r.estimate = ma != 0.0 ? (mb - ma) / ma : NAN;
    r.crit = tmlp_stats_t_quantile((1.0 + level) / 2.0, w.df);
    r.low = r.high = r.half_width = NAN;
    if (ma != 0.0 && isfinite(r.crit) && isfinite(va) && isfinite(vb)) {
        double R = mb / ma, t2 = r.crit * r.crit, g = t2 * va / (ma * ma);
        if (g < 1.0) {
            double h = (r.crit / fabs(ma)) * sqrt(vb * (1.0 - g) + R * R * va);
            r.low = (R - h) / (1.0 - g) - 1.0;
            r.high = (R + h) / (1.0 - g) - 1.0;
            r.half_width = 0.5 * (r.high - r.low);
        }
    } else if (ma != 0.0 && va == 0.0 && vb == 0.0 && isfinite(va)) {
        r.low = r.high = r.estimate; /* no spread: the ratio is known exactly */
        r.half_width = 0.0;
    }
    *out = r;
    return TMLP_OK;
}

