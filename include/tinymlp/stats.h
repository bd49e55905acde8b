/* tinymlp/stats.h — the statistical validator: summaries, percentiles, distributions,
 * two-sample tests, effect sizes, outliers, LoadGen early stopping, and an A-vs-B verdict.
 *
 * (The declarations in the "contract" section below are used by the benchmark harness
 * and must keep their signatures; the rest of this header is the statistics module's.)
 */
#ifndef TINYMLP_STATS_H
#define TINYMLP_STATS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===== contract used by src/bench ===================================================== */

/* Percentile methods. LOADGEN is the default for latency tables: sorted[floor(N*p)],
 * clamped to N-1 (0-based, no interpolation). The others follow NumPy's `method=` names;
 * NEAREST_RANK is type 1 / inverted CDF: sorted[ceil(N*p) - 1]. */
typedef enum tmlp_percentile_method {
    TMLP_PCT_LOADGEN = 0,
    TMLP_PCT_LINEAR,
    TMLP_PCT_LOWER,
    TMLP_PCT_HIGHER,
    TMLP_PCT_NEAREST,
    TMLP_PCT_MIDPOINT,
    TMLP_PCT_NEAREST_RANK
} tmlp_percentile_method;

/* "loadgen", "linear", ... */
TMLP_API const char *tmlp_percentile_method_name(tmlp_percentile_method m);
/* Parse a name; TMLP_ERR_ARG if NULL or unknown. `err` (may be NULL) gets a message naming
 * the accepted names ("stats: percentile_method_parse: name "p95" is not one of loadgen, ..."). */
TMLP_API tmlp_status tmlp_percentile_method_parse(const char *name, tmlp_percentile_method *out,
                                                 tmlp_error *err);

/* p in [0, 1] of an ascending-sorted array of n >= 1 values. NaN if n < 1 or p outside [0,1]. */
TMLP_API double tmlp_stats_percentile_sorted(const double *sorted, int64_t n, double p,
                                             tmlp_percentile_method m);
/* The same over int64 values (latencies in ns; bench_mlp and the SVG plots use it), as a
 * double: the one rule, so a plot's p99 marker is the table's p99. */
TMLP_API double tmlp_stats_percentile_sorted_i64(const int64_t *sorted, int64_t n, double p,
                                                 tmlp_percentile_method m);
/* The rule itself, for n ascending values of any type: percentile p under method m is
 *     x[lo]                                  when lo == hi, else
 *     lerp(x[lo], x[hi], t) = t >= 0.5 ? x[hi] - (x[hi] - x[lo]) (1 - t) : x[lo] + (x[hi] - x[lo]) t
 * with 0 <= lo <= hi <= n - 1 (hi != lo only for LINEAR and MIDPOINT). Returns 1, or 0
 * (nothing written) when n < 1, p is NaN or outside [0, 1], m is unknown or a pointer NULL. */
TMLP_API int tmlp_stats_percentile_rank(int64_t n, double p, tmlp_percentile_method m, int64_t *lo,
                                        int64_t *hi, double *t);

/* LoadGen early stopping (c = confidence, 0.99 in LoadGen; p = the percentile, e.g. 0.90).
 * h(t): the smallest number of under-latency queries h with I_p(h, t+1) <= 1 - c.
 * Returns -1 on invalid arguments. Pinned: p=0.90,c=0.99: h(0)=44, h(1)=63. */
TMLP_API int64_t tmlp_early_stop_h(double p, double c, int64_t t);
/* Minimum queries for a single/multi-stream estimate: h(1) + 1 (64 for p=0.90). */
TMLP_API int64_t tmlp_early_stop_min_queries(double p, double c);
/* Single/multi-stream: with q queries, the largest t with q >= h(t) + t (0 if q < h(1)+1,
 * meaning "not enough queries"). The estimate is sorted_ascending[q - t] (0-based). */
TMLP_API int64_t tmlp_early_stop_overlatency_allowed(double p, double c, int64_t q);
/* Server: with q queries of which t exceeded the target latency, pass iff q >= h(t) + t. */
TMLP_API int tmlp_early_stop_server_pass(double p, double c, int64_t q, int64_t t);
/* Server: queries needed for t over-latency queries: h(t) + t (459, 662, 2010, ...). */
TMLP_API int64_t tmlp_early_stop_server_queries_needed(double p, double c, int64_t t);

/* ===== end of contract ================================================================= */

/* ===== statistics module =================================================================
 *
 * Errors: every call that returns a tmlp_status takes a trailing optional
 * `tmlp_error *err` (NULL is fine) that receives a message naming the call, the argument
 * and the rule: "stats: welch: a needs >= 1 value, got 0", "stats: summarize: x[3] is nan,
 * samples must be finite", "stats: ci_mean: level 1.5 is outside (0, 1)" (docs/c-api.md,
 * "Errors").
 * The calls returning a number (tmlp_stats_mean, _percentile_sorted, _betainc, the
 * distributions, tmlp_early_stop_*) have no failure but NaN or -1, as documented on each.
 *
 * All result structs below are transparent value structs: put them on the stack.
 * Functions take const input arrays and never reorder them; those that need a sorted
 * copy or ranks allocate scratch with malloc and return TMLP_ERR_NOMEM if that fails.
 * Everything is re-entrant (no global state) and thread-safe on distinct outputs.
 *
 * Samples must be finite: a NaN or infinity anywhere in an input array makes the call
 * return TMLP_ERR_ARG (it would make sorting and every statistic meaningless).
 * Undefined quantities (the sd of one value, a t statistic with zero spread on both
 * sides) are NaN *and* flagged: by a `defined` field, a warning bit or a verdict of
 * TMLP_VERDICT_INSUFFICIENT_DATA — never silently.
 */

/* ---- summary (summary.c) ---- */

/* Summary of one sample. sd uses n-1 (NumPy ddof=1), two-pass: mean first, then
 * sum((x-mean)^2). sem = sd/sqrt(n), cv = sd/mean. mad = median(|x - median|) raw and
 * mad_scaled = 1.4826*mad (consistent sd estimator for normal data). For n == 1 the
 * sd, sem and cv are NaN (undefined). */
typedef struct tmlp_stats_summary {
    int64_t n;
    double mean, var, sd, sem, cv;
    double min, max, median, mad, mad_scaled;
} tmlp_stats_summary;

/* TMLP_ERR_ARG if x is NULL or n < 1, TMLP_ERR_NOMEM if the sorted copy fails. */
TMLP_API tmlp_status tmlp_stats_summarize(const double *x, int64_t n, tmlp_stats_summary *out,
                                          tmlp_error *err);
/* Two-pass mean and sample variance (ddof = 1; NaN for n < 2). n >= 1. */
TMLP_API double tmlp_stats_mean(const double *x, int64_t n);
TMLP_API double tmlp_stats_variance(const double *x, int64_t n);
/* Ascending sorted copy of x; the caller frees it with free(). NULL on OOM or n < 1. */
TMLP_API double *tmlp_stats_sorted_copy(const double *x, int64_t n);

/* ---- percentiles (percentile.c) ---- */

/* p in [0, 1] of an unsorted sample (works on a sorted copy). TMLP_ERR_ARG for n < 1 or
 * p outside [0, 1]. */
TMLP_API tmlp_status tmlp_stats_percentile(const double *x, int64_t n, double p,
                                           tmlp_percentile_method m, double *out,
                                           tmlp_error *err);

/* Distribution-free CI for the p-quantile from order statistics: with B ~ Binomial(n, p),
 * [x_(l), x_(u)] (1-based ranks) covers the true quantile with probability
 * P(l <= B <= u-1). l is the largest rank with P(B <= l-1) <= (1-level)/2 and u the
 * smallest with P(B <= u-1) >= 1-(1-level)/2 (exact binomial via the incomplete beta).
 * When n is too small to reach the level, the ranks are clamped to 1 and n and
 * `coverage` says what was reached (less than `level`). */
typedef struct tmlp_stats_quantile_ci {
    double p, level, estimate, low, high, coverage;
    int64_t low_rank, high_rank; /* 1-based order statistics */
} tmlp_stats_quantile_ci;
TMLP_API tmlp_status tmlp_stats_percentile_ci_sorted(const double *sorted, int64_t n, double p,
                                                     double level, tmlp_percentile_method m,
                                                     tmlp_stats_quantile_ci *out,
                                                     tmlp_error *err);

/* ---- distributions (distributions.c) ---- */

/* Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1]: continued fraction
 * (modified Lentz) with the prefactor x^a (1-x)^b / (a B(a,b)) taken in logs, and the
 * symmetry I_x(a,b) = 1 - I_{1-x}(b,a). NaN on invalid arguments. */
TMLP_API double tmlp_stats_betainc(double a, double b, double x);
/* Same, given both x and y = 1 - x (pass y computed without cancellation, e.g.
 * t^2/(df+t^2) next to df/(df+t^2)); x + y must be 1 up to rounding. */
TMLP_API double tmlp_stats_betainc2(double a, double b, double x, double y);
/* Student t with df > 0 degrees of freedom (fractional allowed; df = inf is normal). */
TMLP_API double tmlp_stats_t_cdf(double t, double df);
TMLP_API double tmlp_stats_t_sf(double t, double df);   /* P(T > t), no cancellation */
TMLP_API double tmlp_stats_t_quantile(double q, double df); /* inverse cdf, q in (0,1) */
/* Standard normal: cdf/sf via erfc; quantile by Acklam's rational guess refined by
 * Halley steps on the erfc form (full double precision). */
TMLP_API double tmlp_stats_normal_cdf(double z);
TMLP_API double tmlp_stats_normal_sf(double z);
TMLP_API double tmlp_stats_normal_quantile(double q);
/* log Gamma(x + h) - log Gamma(x) without cancellation for large x (x, x+h > 0). */
TMLP_API double tmlp_stats_lgamma_ratio(double x, double h);

/* ---- two-sample tests (ttest.c, mannwhitney.c) ---- */

/* t-test of mean(a) - mean(b) (SciPy's sign convention: t > 0 when a is larger).
 * Welch: se = sqrt(s_a^2/n_a + s_b^2/n_b), Welch-Satterthwaite df (fractional, never
 * rounded). Student: pooled variance, df = n_a + n_b - 2.
 * p_greater is the one-sided p for H1: mean(a) > mean(b); p_less for mean(a) < mean(b).
 * Degenerate input gives SciPy's values (t = nan or +-inf; when the Welch df is 0/0 the
 * p-value uses df = 1, as SciPy) and defined = 0 whenever t or p is not a finite number. */
typedef struct tmlp_stats_ttest {
    double t, df, p_two_sided, p_greater, p_less;
    double mean_diff, se;
    double pooled_var; /* Student only (NaN for Welch) */
    int defined;
} tmlp_stats_ttest;
TMLP_API tmlp_status tmlp_stats_welch(const double *a, int64_t na, const double *b, int64_t nb,
                                      tmlp_stats_ttest *out, tmlp_error *err);
TMLP_API tmlp_status tmlp_stats_student(const double *a, int64_t na, const double *b,
                                        int64_t nb, tmlp_stats_ttest *out, tmlp_error *err);

/* Mann-Whitney U (two-sided). Average ranks of a ++ b; R1 = rank sum of a;
 * U1 = R1 - n1(n1+1)/2 (a's U, reported as SciPy does), U2 = n1 n2 - U1, U = max(U1, U2).
 * sigma = sqrt(n1 n2/12 * ((N+1) - sum(t^3-t)/(N(N-1)))), z = (U - n1 n2/2 - 0.5)/sigma,
 * p_asymptotic = min(1, 2 sf(z)). p_exact (NaN when not computed) is the exact
 * permutation p for untied data, computed when min(n1, n2) <= 8 (SciPy's 'auto' rule);
 * p is the one SciPy's method='auto' reports. prob_superiority = U1/(n1 n2) = P(a > b)
 * + P(a == b)/2. */
typedef struct tmlp_stats_mwu {
    double u1, u2, r1, tie_term, sigma, z;
    double p_asymptotic, p_asymptotic_nocc, p_exact, p;
    double prob_superiority;
    int has_ties, exact_used;
} tmlp_stats_mwu;
TMLP_API tmlp_status tmlp_stats_mannwhitney(const double *a, int64_t na, const double *b,
                                            int64_t nb, tmlp_stats_mwu *out, tmlp_error *err);

/* ---- intervals and effect sizes (ttest.c, effect.c) ---- */

/* A two-sided confidence interval: estimate, [low, high], the critical value used. */
typedef struct tmlp_stats_interval {
    double level, estimate, low, high, half_width, crit, df;
} tmlp_stats_interval;
/* mean +- t_{1-(1-level)/2, n-1} * sd/sqrt(n). n >= 2, level in (0,1). */
TMLP_API tmlp_status tmlp_stats_ci_mean(const double *x, int64_t n, double level,
                                        tmlp_stats_interval *out, tmlp_error *err);
/* CI of mean(b) - mean(a) with Welch's se and df. */
TMLP_API tmlp_status tmlp_stats_ci_mean_diff(const double *a, int64_t na, const double *b,
                                             int64_t nb, double level,
                                             tmlp_stats_interval *out, tmlp_error *err);
/* CI of the relative change mean(b)/mean(a) - 1 by Fieller's theorem (independent
 * samples, Welch df): exact for normal means and asymmetric. When mean(a) is not
 * significantly different from 0 the interval is unbounded: low and high are NaN and the
 * status is still TMLP_OK (tmlp_stats_compare then warns TMLP_WARN_RATIO_UNBOUNDED). */
TMLP_API tmlp_status tmlp_stats_ci_relative_change(const double *a, int64_t na,
                                                   const double *b, int64_t nb, double level,
                                                   tmlp_stats_interval *out, tmlp_error *err);

typedef enum tmlp_stats_magnitude {
    TMLP_MAGNITUDE_NEGLIGIBLE = 0, /* |d| < 0.2 */
    TMLP_MAGNITUDE_SMALL,          /* |d| < 0.5 */
    TMLP_MAGNITUDE_MEDIUM,         /* |d| < 0.8 */
    TMLP_MAGNITUDE_LARGE,          /* otherwise */
    TMLP_MAGNITUDE_UNDEFINED       /* d is NaN */
} tmlp_stats_magnitude;
TMLP_API const char *tmlp_stats_magnitude_name(tmlp_stats_magnitude m);
TMLP_API tmlp_stats_magnitude tmlp_stats_magnitude_of(double d);

/* Effect sizes of mean(a) - mean(b) (same sign as t):
 * cohen_d = diff/sp (pooled sd), hedges_g = d*J with the exact
 * J = Gamma(nu/2)/(sqrt(nu/2) Gamma((nu-1)/2)), nu = n_a+n_b-2 (and the approximation
 * 1 - 3/(4(n_a+n_b)-9)), d_av = diff/sqrt((s_a^2+s_b^2)/2), glass_delta = diff/s_b. */
typedef struct tmlp_stats_effect {
    double cohen_d, pooled_sd, hedges_j, hedges_g, hedges_j_approx, hedges_g_approx;
    double d_av, glass_delta;
    tmlp_stats_magnitude magnitude; /* of |cohen_d| */
} tmlp_stats_effect;
TMLP_API tmlp_status tmlp_stats_effect_size(const double *a, int64_t na, const double *b,
                                            int64_t nb, tmlp_stats_effect *out,
                                            tmlp_error *err);

/* ---- outliers (outliers.c): reported, never dropped ---- */

/* Tukey fences on type-7 quartiles: mild outside [q1-1.5 iqr, q3+1.5 iqr], severe
 * outside [q1-3 iqr, q3+3 iqr] (criterion.rs classes: a severe outlier is not also
 * counted as mild). MAD score (hyperfine): (x - median)/mad with mad = DBL_EPSILON when
 * it is 0; an outlier when |score| > mad_threshold (default 14.826 = 1.4826 * 10).
 * slow_first: the first sample's MAD score exceeds the threshold (a cold first run). */
typedef struct tmlp_stats_outliers {
    double q1, q3, iqr;
    double low_severe, low_mild, high_mild, high_severe; /* the four fences */
    int64_t n_low_severe, n_low_mild, n_high_mild, n_high_severe, total;
    int64_t mild, severe;                                /* both sides together */
    double median, mad;
    int64_t n_mad;   /* |MAD score| > mad_threshold */
    int64_t n_iglewicz; /* |0.6745 (x-median)/mad| > 3.5 (Iglewicz-Hoaglin) */
    int slow_first;
} tmlp_stats_outliers;
#define TMLP_STATS_MAD_THRESHOLD 14.826
TMLP_API tmlp_status tmlp_stats_outliers_find(const double *x, int64_t n, double mad_threshold,
                                              tmlp_stats_outliers *out, tmlp_error *err);

/* ---- bootstrap (bootstrap.c) ---- */

/* A statistic of a sample (the mean, a percentile...). */
typedef double (*tmlp_stats_fn)(const double *x, int64_t n, void *user);
/* Percentile-method bootstrap CI: `resamples` resamples with replacement drawn with
 * tmlp_rng seeded by `seed`; estimate = fn(x) exactly; [low, high] are the type-7
 * (1-level)/2 and 1-(1-level)/2 percentiles of the resampled statistics. Same seed, same
 * interval. Scratch: n + resamples doubles. */
TMLP_API tmlp_status tmlp_stats_bootstrap_ci(const double *x, int64_t n, tmlp_stats_fn fn,
                                             void *user, int64_t resamples, double level,
                                             uint64_t seed, tmlp_stats_interval *out,
                                             tmlp_error *err);
/* A tmlp_stats_fn computing the mean (user unused). */
TMLP_API double tmlp_stats_fn_mean(const double *x, int64_t n, void *user);

/* ---- soundness checks (verdict.c) ---- */

/* Warning bits. Each names one reason not to trust a number. */
enum {
    TMLP_WARN_FEW_SAMPLES = 1u << 0,    /* n < min_samples */
    TMLP_WARN_HIGH_CV = 1u << 1,        /* cv > max_cv */
    TMLP_WARN_WIDE_CI = 1u << 2,        /* CI half-width of the mean > max_ci_rel * mean */
    TMLP_WARN_FAR_EXTREMES = 1u << 3,   /* min or max more than max_extreme_sd sd from mean */
    TMLP_WARN_MANY_OUTLIERS = 1u << 4,  /* Tukey outliers > max_outlier_fraction * n */
    TMLP_WARN_SLOW_FIRST = 1u << 5,     /* the first sample is a MAD outlier on the slow side */
    TMLP_WARN_ZERO_SPREAD = 1u << 6,    /* all values equal: no test is meaningful */
    TMLP_WARN_TESTS_DISAGREE = 1u << 7, /* Welch and Mann-Whitney disagree at alpha */
    TMLP_WARN_NON_FINITE = 1u << 8,     /* a reported value is NaN or infinite */
    TMLP_WARN_RATIO_UNBOUNDED = 1u << 9 /* CI of the relative change is unbounded (Fieller) */
};
#define TMLP_WARN_COUNT 10
/* Short name of one warning bit ("high_cv"), and a sentence describing it. */
TMLP_API const char *tmlp_stats_warning_name(unsigned bit);
TMLP_API const char *tmlp_stats_warning_text(unsigned bit);

typedef struct tmlp_stats_check_settings {
    int64_t min_samples;         /* 10 */
    double max_cv;               /* 0.10 */
    double ci_level;             /* 0.95 */
    double max_ci_rel;           /* 0.05: CI half-width / mean */
    double max_extreme_sd;       /* 6: |extreme - mean| / sd */
    double max_outlier_fraction; /* 0.05: Tukey (mild + severe) / n */
    double mad_threshold;        /* 14.826 */
} tmlp_stats_check_settings;
TMLP_API tmlp_stats_check_settings tmlp_stats_check_settings_default(void);

/* Everything about one sample a report needs. */
typedef struct tmlp_stats_sample {
    tmlp_stats_summary summary;
    tmlp_stats_interval ci_mean; /* NaN bounds when n < 2 */
    double p50, p90, p99;        /* with the chosen percentile method */
    tmlp_stats_outliers outliers;
    unsigned warnings;           /* TMLP_WARN_* bits */
} tmlp_stats_sample;
TMLP_API tmlp_status tmlp_stats_sample_describe(const double *x, int64_t n,
                                                const tmlp_stats_check_settings *s,
                                                tmlp_percentile_method m,
                                                tmlp_stats_sample *out, tmlp_error *err);

/* ---- A vs B verdict (verdict.c) ---- */

typedef enum tmlp_stats_verdict {
    TMLP_VERDICT_NO_CHANGE = 0,
    TMLP_VERDICT_FASTER,            /* B is faster (lower latency) than A */
    TMLP_VERDICT_SLOWER,            /* B is slower than A */
    TMLP_VERDICT_INSUFFICIENT_DATA  /* fewer than min_samples on a side, or zero spread */
} tmlp_stats_verdict;
/* "faster", "slower", "no_change", "insufficient_data" */
TMLP_API const char *tmlp_stats_verdict_name(tmlp_stats_verdict v);

typedef struct tmlp_stats_compare_opts {
    double alpha;          /* 0.05: Welch p must be below it */
    double noise;          /* 0.01: the whole CI of the relative change must lie outside +-noise */
    double confidence;     /* 0.95: level of every CI */
    int64_t min_samples;   /* 5: fewer on either side -> insufficient_data */
    tmlp_percentile_method method; /* LOADGEN */
    tmlp_stats_check_settings checks;
} tmlp_stats_compare_opts;
TMLP_API tmlp_stats_compare_opts tmlp_stats_compare_opts_default(void);

/* A vs B with latencies (lower is better). Direction: everything is of B - A:
 * welch/student t, the effect sizes and ci_mean_diff use diff = mean(B) - mean(A), so
 * negative means B is faster; relative_change = mean(B)/mean(A) - 1. mwu.u1 is A's U.
 * Verdict: FASTER/SLOWER only when welch.p_two_sided < alpha AND the whole CI of the
 * relative change lies below -noise / above +noise; NO_CHANGE otherwise;
 * INSUFFICIENT_DATA when a side has fewer than min_samples values or both sides have
 * zero spread. warnings: TMLP_WARN_TESTS_DISAGREE when Welch and Mann-Whitney fall on
 * different sides of alpha, TMLP_WARN_RATIO_UNBOUNDED; per-sample warnings are in a/b. */
typedef struct tmlp_stats_compare_result {
    tmlp_stats_sample a, b;
    tmlp_stats_ttest welch, student;
    tmlp_stats_mwu mwu;
    tmlp_stats_effect effect;
    tmlp_stats_interval ci_mean_diff, relative_change;
    tmlp_stats_verdict verdict;
    unsigned warnings;
    double alpha, noise, confidence; /* the options the verdict used */
} tmlp_stats_compare_result;
/* TMLP_ERR_ARG if a pointer is NULL or a side is empty; TMLP_ERR_NOMEM. Small samples are
 * not an error: they give INSUFFICIENT_DATA. */
TMLP_API tmlp_status tmlp_stats_compare(const double *a, int64_t na, const double *b,
                                        int64_t nb, const tmlp_stats_compare_opts *opts,
                                        tmlp_stats_compare_result *out, tmlp_error *err);
/* One line in words: "B is 12.3% faster (95% CI 10.1%-14.6%), p = 3.1e-08" (the CI is
 * of the relative change; `confidence` is the level printed, normally r->confidence).
 * no_change says whether the change is not significant or significant but inside the
 * noise band. Always NUL-terminates buf (size >= 1). */
TMLP_API void tmlp_stats_verdict_sentence(const tmlp_stats_compare_result *r, double confidence,
                                          char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
