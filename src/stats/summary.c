/* summary.c — one sample in a few numbers: n, mean, sd, sem, cv, min, max, median, MAD.
 *
 *   mean = sum(x)/n, then corrected once by sum(x - mean)/n (two passes keep the
 *          rounding error of a 1e5-element sum near one ulp of the mean);
 *   var  = sum((x - mean)^2) / (n - 1)     (NumPy ddof = 1; never E[x^2] - mean^2,
 *          which cancels catastrophically for latencies like 1000.0 +- 0.01);
 *   sd = sqrt(var), sem = sd / sqrt(n), cv = sd / mean;
 *   median = the middle of the sorted copy (mean of the two middle values for even n);
 *   MAD = median(|x - median|) (raw), and 1.4826 * MAD, which estimates sd for normal data.
 *
 * The input is never reordered: sorting happens on a private copy.
 */
#include "tinymlp/stats.h"
#include "stats_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double *tmlp_stats_sorted_copy(const double *x, int64_t n)
{
    if (!x || n < 1 || (uint64_t)n > SIZE_MAX / sizeof(double)) return NULL;
    double *s = malloc((size_t)n * sizeof(double));
    if (!s) return NULL;
    memcpy(s, x, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    return s;
}

double tmlp_stats_mean(const double *x, int64_t n)
{
    if (!x || n < 1) return NAN;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    double mean = sum / (double)n;
    if (!isfinite(mean)) return mean;
    double corr = 0.0;
    for (int64_t i = 0; i < n; i++) corr += x[i] - mean;
    return mean + corr / (double)n;
}

double tmlp_stats_variance(const double *x, int64_t n)
{
    if (!x || n < 2) return NAN;
    double mean = tmlp_stats_mean(x, n), ss = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        ss += d * d;
    }
    return ss / (double)(n - 1);
}

/* Median of an ascending array (n >= 1). */
static double median_sorted(const double *s, int64_t n)
{
    if (n % 2) return s[n / 2];
    return (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

tmlp_status tmlp_stats_summarize(const double *x, int64_t n, tmlp_stats_summary *out,
                                 tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "summarize", "x", x, n, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "summarize", "out", out));
    double *s = tmlp_stats_sorted_copy(x, n);
    if (!s) return tmlp_stats_nomem(err, "summarize");
    tmlp_stats_summary r;
    r.n = n;
    r.mean = tmlp_stats_mean(x, n);
    r.var = tmlp_stats_variance(x, n);
    r.sd = sqrt(r.var);
    r.sem = r.sd / sqrt((double)n);
    r.cv = r.sd / r.mean;
    r.min = s[0];
    r.max = s[n - 1];
    r.median = median_sorted(s, n);
    /* Reuse the copy for |x - median|, then sort it again. */
    for (int64_t i = 0; i < n; i++) s[i] = fabs(s[i] - r.median);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    r.mad = median_sorted(s, n);
    r.mad_scaled = 1.4826 * r.mad;
    free(s);
    *out = r;
    return TMLP_OK;
}

tmlp_status tmlp_stats_check_sample(tmlp_error *err, const char *fn, const char *arg,
                                    const double *x, int64_t n, int64_t min_n)
{
    if (!x) return tmlp_error_set(err, TMLP_ERR_ARG, "stats: %s: %s is NULL", fn, arg);
    if (n < min_n)
        return tmlp_error_set(err, TMLP_ERR_ARG, "stats: %s: %s needs >= %lld value%s, got %lld",
                              fn, arg, (long long)min_n, min_n == 1 ? "" : "s", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "stats: %s: %s[%lld] is %g, samples must be finite", fn, arg,
                                  (long long)i, x[i]);
    return TMLP_OK;
}

tmlp_status tmlp_stats_check_ptr(tmlp_error *err, const char *fn, const char *arg, const void *p)
{
    return p ? TMLP_OK : tmlp_error_set(err, TMLP_ERR_ARG, "stats: %s: %s is NULL", fn, arg);
}

tmlp_status tmlp_stats_check_open01(tmlp_error *err, const char *fn, const char *arg, double v)
{
    if (v > 0 && v < 1) return TMLP_OK;
    return tmlp_error_set(err, TMLP_ERR_ARG, "stats: %s: %s %g is outside (0, 1)", fn, arg, v);
}

tmlp_status tmlp_stats_nomem(tmlp_error *err, const char *fn)
{
    return tmlp_error_set(err, TMLP_ERR_NOMEM, "stats: %s: out of memory", fn);
}

