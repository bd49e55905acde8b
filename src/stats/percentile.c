/* percentile.c — the p-quantile of a sample, by a named method, and its
 * distribution-free confidence interval.
 *
 * With x sorted ascending (0-based), n values, q = p in [0, 1] and h = (n-1) q:
 *   loadgen       x[min(floor(n q), n-1)]          MLPerf LoadGen (our latency default)
 *   linear        x[lo] + (x[lo+1]-x[lo]) g         type 7, NumPy's default; lo = floor(h),
 *                 g = h - lo, with NumPy's lerp: for g >= 0.5 it computes
 *                 b - (b-a)(1-g) instead, so both ends are exact
 *   lower         x[floor(h)]
 *   higher        x[ceil(h)]
 *   nearest       x[round_half_even(h)]            as np.around
 *   midpoint      lerp(x[floor h], x[ceil h], 1/2) (x[h] when h is whole)
 *   nearest_rank  x[ceil(n q) - 1]                 type 1 / inverted CDF (rank >= 1)
 *
 * CI of a quantile from order statistics: the number B of values below the true
 * p-quantile is Binomial(n, p), so P(x_(l) <= xi_p <= x_(u)) = P(l <= B <= u-1) exactly,
 * whatever the distribution. P(B <= k) = I_{1-p}(n-k, k+1) (incomplete beta).
 */
#include "tinymlp/stats.h"
#include "stats_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[] = {"loadgen", "linear", "lower", "higher",
                                           "nearest", "midpoint", "nearest_rank"};

const char *tmlp_percentile_method_name(tmlp_percentile_method m)
{
    if ((int)m < 0 || (int)m >= (int)(sizeof method_names / sizeof method_names[0]))
        return "unknown";
    return method_names[m];
}

tmlp_status tmlp_percentile_method_parse(const char *name, tmlp_percentile_method *out,
                                           tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "percentile_method_parse", "name", name));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "percentile_method_parse", "out", out));
    for (int i = 0; i < (int)(sizeof method_names / sizeof method_names[0]); i++) {
        if (!strcmp(name, method_names[i])) {
            *out = (tmlp_percentile_method)i;
            return TMLP_OK;
        }
    }
    /* NumPy's spellings of the same methods */
    if (!strcmp(name, "inverted_cdf")) {
        *out = TMLP_PCT_NEAREST_RANK;
        return TMLP_OK;
    }
    return tmlp_error_set(err, TMLP_ERR_ARG,
                          "stats: percentile_method_parse: name \"%.64s\" is not one of loadgen, "
                          "linear, lower, higher, nearest, midpoint, nearest_rank, inverted_cdf",
                          name);
}

/* NumPy 1.24 _lerp: a + (b-a) t, or b - (b-a)(1-t) when t >= 0.5. */
static double lerp(double a, double b, double t)
{
    double d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

int tmlp_stats_percentile_rank(int64_t n, double p, tmlp_percentile_method m, int64_t *lo, int64_t *hi,
                               double *t)
{
    if (!lo || !hi || !t || n < 1 || isnan(p) || p < 0 || p > 1) return 0;
    const double h = (double)(n - 1) * p;
    int64_t i;
    *t = 0.0;
    switch (m) {
    case TMLP_PCT_LOADGEN:
        i = (int64_t)floor((double)n * p);
        break;
    case TMLP_PCT_LINEAR:
        if (h >= (double)(n - 1)) {
            i = n - 1;
            break;
        }
        *lo = (int64_t)floor(h);
        *hi = *lo + 1;
        *t = h - floor(h);
        return 1;
    case TMLP_PCT_LOWER:
        i = (int64_t)floor(h);
        break;
    case TMLP_PCT_HIGHER:
        i = (int64_t)ceil(h);
        break;
    case TMLP_PCT_NEAREST:
        i = (int64_t)nearbyint(h); /* default rounding mode: half to even */
        break;
    case TMLP_PCT_MIDPOINT:
        i = (int64_t)floor(h);
        if ((double)i == h) break;
        *lo = i;
        *hi = i + 1 > n - 1 ? n - 1 : i + 1;
        *t = 0.5;
        return 1;
    case TMLP_PCT_NEAREST_RANK: {
        const double k = (double)n * p - 1.0, fk = floor(k);
        i = k == fk ? (int64_t)k : (int64_t)fk + 1;
        if (i < 0) i = 0;
        break;
    }
    default: return 0;
    }
    *lo = *hi = i > n - 1 ? n - 1 : i;
    return 1;
}

double tmlp_stats_percentile_sorted(const double *x, int64_t n, double p,
                                    tmlp_percentile_method m)
{
    int64_t lo, hi;
    double t;
    if (!x || !tmlp_stats_percentile_rank(n, p, m, &lo, &hi, &t)) return NAN;
    return lo == hi ? x[lo] : lerp(x[lo], x[hi], t);
}

double tmlp_stats_percentile_sorted_i64(const int64_t *x, int64_t n, double p,
                                        tmlp_percentile_method m)
{
    int64_t lo, hi;
    double t;
    if (!x || !tmlp_stats_percentile_rank(n, p, m, &lo, &hi, &t)) return NAN;
    return lo == hi ? (double)x[lo] : lerp((double)x[lo], (double)x[hi], t);
}

/* "stats: <fn>: p 1.5 is outside [0, 1]" / "m 9 is not a tmlp_percentile_method". */
static tmlp_status check_p_m(tmlp_error *err, const char *fn, double p, tmlp_percentile_method m)
{
    if (!(p >= 0 && p <= 1))
        return tmlp_error_set(err, TMLP_ERR_ARG, "stats: %s: p %g is outside [0, 1]", fn, p);
    if ((int)m < (int)TMLP_PCT_LOADGEN || (int)m > (int)TMLP_PCT_NEAREST_RANK)
        return tmlp_error_set(err, TMLP_ERR_ARG, "stats: %s: m %d is not a tmlp_percentile_method",
                              fn, (int)m);
    return TMLP_OK;
}

tmlp_status tmlp_stats_percentile(const double *x, int64_t n, double p,
                                  tmlp_percentile_method m, double *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "percentile", "x", x, n, 1));
    TMLP_STATS_TRY(check_p_m(err, "percentile", p, m));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "percentile", "out", out));
    double *s = tmlp_stats_sorted_copy(x, n);
    if (!s) return tmlp_stats_nomem(err, "percentile");
    *out = tmlp_stats_percentile_sorted(s, n, p, m);
    free(s);
    return TMLP_OK;
}

/* P(B <= k), B ~ Binomial(n, p). */
static double binom_cdf(int64_t k, int64_t n, double p)
{
    if (k < 0) return 0.0;
    if (k >= n) return 1.0;
    return tmlp_stats_betainc2((double)(n - k), (double)k + 1.0, 1.0 - p, p);
}

tmlp_status tmlp_stats_percentile_ci_sorted(const double *sorted, int64_t n, double p,
                                            double level, tmlp_percentile_method m,
                                            tmlp_stats_quantile_ci *out, tmlp_error *err)
{
    const char *fn = "percentile_ci_sorted";
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, fn, "sorted", sorted));
    if (n < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "stats: %s: sorted needs >= 1 value, got %lld",
                              fn, (long long)n);
    TMLP_STATS_TRY(check_p_m(err, fn, p, m));
    TMLP_STATS_TRY(tmlp_stats_check_open01(err, fn, "level", level));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, fn, "out", out));
    double tail = 0.5 * (1.0 - level);
    /* l: the largest rank in [1, n] with F(l-1) <= tail (F increases with its argument). */
    int64_t lo = 1, hi = n, l = 1;
    if (binom_cdf(0, n, p) <= tail) {
        while (lo <= hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (binom_cdf(mid - 1, n, p) <= tail) { l = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
    }
    /* u: the smallest rank in [1, n] with F(u-1) >= 1 - tail (n if none). */
    int64_t u = n;
    lo = 1;
    hi = n;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (binom_cdf(mid - 1, n, p) >= 1.0 - tail) { u = mid; hi = mid - 1; }
        else lo = mid + 1;
    }
    tmlp_stats_quantile_ci r;
    r.p = p;
    r.level = level;
    r.estimate = tmlp_stats_percentile_sorted(sorted, n, p, m);
    r.low_rank = l;
    r.high_rank = u;
    r.low = sorted[l - 1];
    r.high = sorted[u - 1];
    r.coverage = binom_cdf(u - 1, n, p) - binom_cdf(l - 1, n, p);
    *out = r;
    return TMLP_OK;
}

