/* bootstrap.c — percentile-method bootstrap confidence interval for any statistic.
 *
 * Draw `resamples` samples of size n with replacement from x (indices from tmlp_rng,
 * xoshiro256** seeded with `seed`, so the same seed gives the same interval on every
 * machine), compute the statistic on each, and take the type-7 percentiles
 * (1-level)/2 and 1-(1-level)/2 of those values (criterion.rs's method). The point
 * estimate is the statistic of x itself. Use it where no formula exists (a p99, a
 * median); for the mean, the t-interval (ttest.c) is exact for normal data and the
 * bootstrap agrees with it on large samples.
 */
#include "tinymlp/stats.h"
#include "stats_internal.h"
#include "tinymlp/rng.h"

#include <math.h>
#include <stdlib.h>

double tmlp_stats_fn_mean(const double *x, int64_t n, void *user)
{
    (void)user;
    return tmlp_stats_mean(x, n);
}

tmlp_status tmlp_stats_bootstrap_ci(const double *x, int64_t n, tmlp_stats_fn fn, void *user,
                                    int64_t resamples, double level, uint64_t seed,
                                    tmlp_stats_interval *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "bootstrap_ci", "x", x, n, 1));
    if (!fn) return tmlp_error_set(err, TMLP_ERR_ARG, "stats: bootstrap_ci: fn is NULL");
    if (resamples < 2)
        return tmlp_error_set(err, TMLP_ERR_ARG, "stats: bootstrap_ci: resamples needs >= 2, got %lld",
                              (long long)resamples);
    TMLP_STATS_TRY(tmlp_stats_check_open01(err, "bootstrap_ci", "level", level));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "bootstrap_ci", "out", out));
    if ((uint64_t)n > SIZE_MAX / sizeof(double) || (uint64_t)resamples > SIZE_MAX / sizeof(double))
        return tmlp_stats_nomem(err, "bootstrap_ci");
    double *buf = malloc((size_t)n * sizeof(double));
    double *stat = malloc((size_t)resamples * sizeof(double));
    if (!buf || !stat) {
        free(buf);
        free(stat);
        return tmlp_stats_nomem(err, "bootstrap_ci");
    }
    tmlp_rng rng;
    tmlp_rng_seed(&rng, seed);
    for (int64_t r = 0; r < resamples; r++) {
        for (int64_t i = 0; i < n; i++) buf[i] = x[tmlp_rng_below(&rng, (uint64_t)n)];
        stat[r] = fn(buf, n, user);
    }
    free(buf);
    double *sorted = tmlp_stats_sorted_copy(stat, resamples);
    free(stat);
    if (!sorted) return tmlp_stats_nomem(err, "bootstrap_ci");
    tmlp_stats_interval ci;
    ci.level = level;
    ci.df = NAN;
    ci.crit = NAN;
    ci.estimate = fn(x, n, user);
    ci.low = tmlp_stats_percentile_sorted(sorted, resamples, (1.0 - level) / 2.0, TMLP_PCT_LINEAR);
    ci.high = tmlp_stats_percentile_sorted(sorted, resamples, (1.0 + level) / 2.0, TMLP_PCT_LINEAR);
    ci.half_width = 0.5 * (ci.high - ci.low);
    free(sorted);
    *out = ci;
    return TMLP_OK;
}

