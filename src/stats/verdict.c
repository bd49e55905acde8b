/* verdict.c — from two samples of latencies to one sentence a user can act on.
 *
 * tmlp_stats_sample_describe: the summary, the t-interval of the mean, p50/p90/p99,
 *   outliers, and named soundness warnings for ONE sample (too few samples, cv too high,
 *   CI of the mean too wide, extremes far from the mean, many outliers, slow first run,
 *   zero spread), each threshold a field of tmlp_stats_check_settings.
 * tmlp_stats_compare (A = baseline, B = candidate, lower latency is better):
 *   diff = mean(B) - mean(A); Welch and Student t of B - A; Mann-Whitney with A first
 *   (u1 = A's U); effect sizes of B - A; Welch CI of the difference; Fieller CI of the
 *   relative change mean(B)/mean(A) - 1.
 *   verdict = insufficient_data  if n < min_samples on a side, or both sides have zero spread
 *             faster  if Welch p < alpha and the whole relative-change CI is below -noise
 *             slower  if Welch p < alpha and the whole relative-change CI is above +noise
 *             no_change otherwise (criterion.rs's noise threshold, default 1%).
 *   Welch and Mann-Whitney disagreeing at alpha becomes a warning (heavy tails or a
 *   shift in shape rather than in the mean).
 */
#include "tinymlp/stats.h"
#include "stats_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const warn_names[TMLP_WARN_COUNT] = {
    "few_samples", "high_cv", "wide_ci", "far_extremes", "many_outliers",
    "slow_first_sample", "zero_spread", "tests_disagree", "non_finite", "ratio_unbounded"};
static const char *const warn_texts[TMLP_WARN_COUNT] = {
    "too few samples for a reliable estimate",
    "coefficient of variation above the threshold: the measurements are noisy",
    "the confidence interval of the mean is wide relative to the mean",
    "the minimum or maximum lies many standard deviations from the mean",
    "many Tukey outliers: the distribution has heavy tails or several modes",
    "the first sample is much slower than the rest: add warm-up",
    "all values are equal: no statistical test is meaningful",
    "Welch's t-test and Mann-Whitney U disagree at alpha: the distributions differ in shape",
    "a reported value is not a finite number",
    "the confidence interval of the relative change is unbounded (baseline mean not clearly nonzero)"};

static int bit_index(unsigned bit)
{
    for (int i = 0; i < TMLP_WARN_COUNT; i++)
        if (bit == (1u << i)) return i;
    return -1;
}

const char *tmlp_stats_warning_name(unsigned bit)
{
    int i = bit_index(bit);
    return i < 0 ? "unknown" : warn_names[i];
}

const char *tmlp_stats_warning_text(unsigned bit)
{
    int i = bit_index(bit);
    return i < 0 ? "unknown warning" : warn_texts[i];
}

tmlp_stats_check_settings tmlp_stats_check_settings_default(void)
{
    tmlp_stats_check_settings s;
    s.min_samples = 10;
    s.max_cv = 0.10;
    s.ci_level = 0.95;
    s.max_ci_rel = 0.05;
    s.max_extreme_sd = 6.0;
    s.max_outlier_fraction = 0.05;
    s.mad_threshold = TMLP_STATS_MAD_THRESHOLD;
    return s;
}

const char *tmlp_stats_verdict_name(tmlp_stats_verdict v)
{
    switch (v) {
    case TMLP_VERDICT_NO_CHANGE: return "no_change";
    case TMLP_VERDICT_FASTER: return "faster";
    case TMLP_VERDICT_SLOWER: return "slower";
    case TMLP_VERDICT_INSUFFICIENT_DATA: return "insufficient_data";
    }
    return "unknown";
}

tmlp_stats_compare_opts tmlp_stats_compare_opts_default(void)
{
    tmlp_stats_compare_opts o;
    o.alpha = 0.05;
    o.noise = 0.01;
    o.confidence = 0.95;
    o.min_samples = 5;
    o.method = TMLP_PCT_LOADGEN;
    o.checks = tmlp_stats_check_settings_default();
    return o;
}

tmlp_status tmlp_stats_sample_describe(const double *x, int64_t n,
                                       const tmlp_stats_check_settings *settings,
                                       tmlp_percentile_method m, tmlp_stats_sample *out,
                                       tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "sample_describe", "x", x, n, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "sample_describe", "out", out));
    tmlp_stats_check_settings s = settings ? *settings : tmlp_stats_check_settings_default();
    tmlp_stats_sample r;
    tmlp_status st = tmlp_stats_summarize(x, n, &r.summary, err);
    if (st != TMLP_OK) return st;
    if (n >= 2) {
        st = tmlp_stats_ci_mean(x, n, s.ci_level, &r.ci_mean, err);
        if (st != TMLP_OK) return st;
    } else {
        r.ci_mean = (tmlp_stats_interval){s.ci_level, r.summary.mean, NAN, NAN, NAN, NAN, NAN};
    }
    double *sorted = tmlp_stats_sorted_copy(x, n);
    if (!sorted) return tmlp_stats_nomem(err, "sample_describe");
    r.p50 = tmlp_stats_percentile_sorted(sorted, n, 0.50, m);
    r.p90 = tmlp_stats_percentile_sorted(sorted, n, 0.90, m);
    r.p99 = tmlp_stats_percentile_sorted(sorted, n, 0.99, m);
    free(sorted);
    st = tmlp_stats_outliers_find(x, n, s.mad_threshold, &r.outliers, err);
    if (st != TMLP_OK) return st;

    unsigned w = 0;
    const tmlp_stats_summary *su = &r.summary;
    if (n < s.min_samples) w |= TMLP_WARN_FEW_SAMPLES;
    if (n >= 2 && su->sd == 0.0) w |= TMLP_WARN_ZERO_SPREAD;
    if (n >= 2 && su->mean != 0.0 && fabs(su->cv) > s.max_cv) w |= TMLP_WARN_HIGH_CV;
    if (n >= 2 && r.ci_mean.half_width > s.max_ci_rel * fabs(su->mean)) w |= TMLP_WARN_WIDE_CI;
    if (n >= 2 && su->sd > 0.0 &&
        fmax(su->max - su->mean, su->mean - su->min) > s.max_extreme_sd * su->sd)
        w |= TMLP_WARN_FAR_EXTREMES;
    if ((double)r.outliers.total > s.max_outlier_fraction * (double)n) w |= TMLP_WARN_MANY_OUTLIERS;
    if (r.outliers.slow_first) w |= TMLP_WARN_SLOW_FIRST;
    r.warnings = w;
    *out = r;
    return TMLP_OK;
}

tmlp_status tmlp_stats_compare(const double *a, int64_t na, const double *b, int64_t nb,
                               const tmlp_stats_compare_opts *opts,
                               tmlp_stats_compare_result *out, tmlp_error *err)
{
    /* Check here, under the caller's names: the calls below see a and b swapped. */
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "compare", "a", a, na, 1));
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "compare", "b", b, nb, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "compare", "out", out));
    tmlp_stats_compare_opts o = opts ? *opts : tmlp_stats_compare_opts_default();
    TMLP_STATS_TRY(tmlp_stats_check_open01(err, "compare", "opts->alpha", o.alpha));
    TMLP_STATS_TRY(tmlp_stats_check_open01(err, "compare", "opts->confidence", o.confidence));
    if (!(o.noise >= 0))
        return tmlp_error_set(err, TMLP_ERR_ARG, "stats: compare: opts->noise %g must be >= 0",
                              o.noise);
    o.checks.ci_level = o.confidence;
    tmlp_stats_compare_result r;
    tmlp_status st;
    if ((st = tmlp_stats_sample_describe(a, na, &o.checks, o.method, &r.a, err)) != TMLP_OK)
        return st;
    if ((st = tmlp_stats_sample_describe(b, nb, &o.checks, o.method, &r.b, err)) != TMLP_OK)
        return st;
    /* Direction: B - A everywhere (A is the first argument of the tests below only for
     * Mann-Whitney, whose u1 is A's U). */
    if ((st = tmlp_stats_welch(b, nb, a, na, &r.welch, err)) != TMLP_OK) return st;
    if ((st = tmlp_stats_student(b, nb, a, na, &r.student, err)) != TMLP_OK) return st;
    if ((st = tmlp_stats_mannwhitney(a, na, b, nb, &r.mwu, err)) != TMLP_OK) return st;
    if ((st = tmlp_stats_effect_size(b, nb, a, na, &r.effect, err)) != TMLP_OK) return st;
    if ((st = tmlp_stats_ci_mean_diff(a, na, b, nb, o.confidence, &r.ci_mean_diff, err)) !=
        TMLP_OK)
        return st;
    if ((st = tmlp_stats_ci_relative_change(a, na, b, nb, o.confidence, &r.relative_change,
                                            err)) != TMLP_OK)
        return st;

    r.warnings = 0;
    r.alpha = o.alpha;
    r.noise = o.noise;
    r.confidence = o.confidence;
    int zero_spread = r.a.summary.n >= 2 && r.b.summary.n >= 2 && r.a.summary.sd == 0.0 &&
                      r.b.summary.sd == 0.0;
    if (na < o.min_samples || nb < o.min_samples || zero_spread || !r.welch.defined) {
        r.verdict = TMLP_VERDICT_INSUFFICIENT_DATA;
    } else {
        r.verdict = TMLP_VERDICT_NO_CHANGE;
        int significant = r.welch.p_two_sided < o.alpha;
        const tmlp_stats_interval *rc = &r.relative_change;
        if (isnan(rc->low) || isnan(rc->high)) r.warnings |= TMLP_WARN_RATIO_UNBOUNDED;
        else if (significant && rc->high < -o.noise) r.verdict = TMLP_VERDICT_FASTER;
        else if (significant && rc->low > o.noise) r.verdict = TMLP_VERDICT_SLOWER;
        if (!isnan(r.mwu.p) && (r.mwu.p < o.alpha) != significant)
            r.warnings |= TMLP_WARN_TESTS_DISAGREE;
    }
    *out = r;
    return TMLP_OK;
}

void tmlp_stats_verdict_sentence(const tmlp_stats_compare_result *r, double confidence,
                                 char *buf, size_t size)
{
    if (!buf || size == 0) return;
    if (!r) {
        buf[0] = '\0';
        return;
    }
    const tmlp_stats_interval *rc = &r->relative_change;
    double lvl = confidence * 100.0;
    /* A p-value that underflowed to 0 is reported as a bound, not as "p = 0". */
    char p[32];
    if (r->welch.p_two_sided == 0.0) snprintf(p, sizeof p, "p < 1e-300");
    else snprintf(p, sizeof p, "p = %.2g", r->welch.p_two_sided);
    switch (r->verdict) {
    case TMLP_VERDICT_FASTER:
        snprintf(buf, size, "B is %.1f%% faster (%g%% CI %.1f%%\u2013%.1f%%), %s",
                 -100.0 * rc->estimate, lvl, -100.0 * rc->high, -100.0 * rc->low, p);
        break;
    case TMLP_VERDICT_SLOWER:
        snprintf(buf, size, "B is %.1f%% slower (%g%% CI %.1f%%\u2013%.1f%%), %s",
                 100.0 * rc->estimate, lvl, 100.0 * rc->low, 100.0 * rc->high, p);
        break;
    case TMLP_VERDICT_NO_CHANGE:
        if (r->welch.p_two_sided < r->alpha)
            snprintf(buf, size,
                     "No change beyond the \u00b1%g%% noise band: B - A = %+.1f%% "
                     "(%g%% CI %+.1f%% to %+.1f%%), %s",
                     100.0 * r->noise, 100.0 * rc->estimate, lvl, 100.0 * rc->low,
                     100.0 * rc->high, p);
        else
            snprintf(buf, size,
                     "No significant change: B - A = %+.1f%% (%g%% CI %+.1f%% to %+.1f%%), %s",
                     100.0 * rc->estimate, lvl, 100.0 * rc->low, 100.0 * rc->high, p);
        break;
    case TMLP_VERDICT_INSUFFICIENT_DATA:
    default:
        snprintf(buf, size,
                 "Insufficient data: need enough samples with nonzero spread on both sides "
                 "(A: n = %lld, B: n = %lld)",
                 (long long)r->a.summary.n, (long long)r->b.summary.n);
        break;
    }
}

