/* outliers.c — find (never drop) outliers in one sample.
 *
 * Tukey fences on type-7 quartiles q1, q3 (iqr = q3 - q1), as criterion.rs classifies:
 *   x < q1 - 3 iqr            low severe      x > q3 + 3 iqr           high severe
 *   q1 - 3 iqr <= x < q1 - 1.5 iqr  low mild  q3 + 1.5 iqr < x <= q3 + 3 iqr  high mild
 * MAD score (hyperfine): s = (x - median) / MAD with the raw MAD = median(|x - median|),
 *   replaced by DBL_EPSILON when it is 0 (all-but-few identical values, where any other
 *   value is then an outlier); |s| > 14.826 (= 1.4826 * 10) is an outlier.
 * Iglewicz-Hoaglin modified z: M = 0.6745 (x - median)/MAD, |M| > 3.5 (same MAD guard).
 * Slow first sample: the first value's MAD score is above the threshold — the
 * "cold cache / lazy initialisation" pattern a warm-up should remove.
 */
#include "tinymlp/stats.h"
#include "stats_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

tmlp_status tmlp_stats_outliers_find(const double *x, int64_t n, double mad_threshold,
                                     tmlp_stats_outliers *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "outliers_find", "x", x, n, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "outliers_find", "out", out));
    if (!(mad_threshold > 0)) mad_threshold = TMLP_STATS_MAD_THRESHOLD;
    double *s = tmlp_stats_sorted_copy(x, n);
    if (!s) return tmlp_stats_nomem(err, "outliers_find");
    tmlp_stats_outliers r = {0};
    r.q1 = tmlp_stats_percentile_sorted(s, n, 0.25, TMLP_PCT_LINEAR);
    r.q3 = tmlp_stats_percentile_sorted(s, n, 0.75, TMLP_PCT_LINEAR);
    r.iqr = r.q3 - r.q1;
    r.low_severe = r.q1 - 3.0 * r.iqr;
    r.low_mild = r.q1 - 1.5 * r.iqr;
    r.high_mild = r.q3 + 1.5 * r.iqr;
    r.high_severe = r.q3 + 3.0 * r.iqr;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (v < r.low_severe) r.n_low_severe++;
        else if (v > r.high_severe) r.n_high_severe++;
        else if (v < r.low_mild) r.n_low_mild++;
        else if (v > r.high_mild) r.n_high_mild++;
    }
    r.mild = r.n_low_mild + r.n_high_mild;
    r.severe = r.n_low_severe + r.n_high_severe;
    r.total = r.mild + r.severe;

    r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    for (int64_t i = 0; i < n; i++) s[i] = fabs(x[i] - r.median);
    double *dev = tmlp_stats_sorted_copy(s, n);
    free(s);
    if (!dev) return tmlp_stats_nomem(err, "outliers_find");
    r.mad = n % 2 ? dev[n / 2] : (dev[n / 2 - 1] + dev[n / 2]) / 2.0;
    free(dev);
    double mad = r.mad == 0.0 ? DBL_EPSILON : r.mad;
    for (int64_t i = 0; i < n; i++) {
        double z = (x[i] - r.median) / mad;
        if (fabs(z) > mad_threshold) r.n_mad++;
        if (fabs(0.6745 * z) > 3.5) r.n_iglewicz++;
    }
    r.slow_first = n >= 2 && (x[0] - r.median) / mad > mad_threshold;
    *out = r;
    return TMLP_OK;
}

