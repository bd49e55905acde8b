/* tinymlp/regress.h — the regression gate's decision rule: one metric's relative change
 * against a threshold (tmlp_regress_classify) and the run-level verdict over repetitions
 * (Welch on the logs, the noise floor, Holm's correction: tmlp_regress_decide), which
 * `bench_mlp regress`, `--baseline` and `compare` all call.
 *
 * Errors: every call that returns a tmlp_status reports a message through a trailing
 * optional `tmlp_error *err` (NULL is fine). Thread-safety: every function is reentrant.
 */
#ifndef TINYMLP_REGRESS_H
#define TINYMLP_REGRESS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===== Regression gate ====================================================================
 * One metric of a baseline and a current run. Relative change r = (cur - base) / |base|;
 * "worse" means r > threshold for a lower-is-better metric and r < -threshold for a
 * higher-is-better one. When a significance test applies (p_value not NaN), a change is
 * only called a regression or improvement if p_value < alpha too; otherwise the change is
 * within noise and the metric is UNCHANGED. */
typedef enum tmlp_metric_direction {
    TMLP_LOWER_IS_BETTER = 0,   /* latency and its percentiles */
    TMLP_HIGHER_IS_BETTER = 1   /* throughput, accuracy */
} tmlp_metric_direction;

typedef enum tmlp_regress_verdict {
    TMLP_REGRESS_UNCHANGED = 0,
    TMLP_REGRESS_IMPROVEMENT = 1,
    TMLP_REGRESS_REGRESSION = 2
} tmlp_regress_verdict;

/* "unchanged", "improvement", "regression" */
TMLP_API const char *tmlp_regress_verdict_name(tmlp_regress_verdict v);

/* threshold is a fraction (0.05 = 5%); p_value NaN = no test; alpha e.g. 0.05.
 * *rel_change (may be NULL) receives r. NaN inputs or base == 0 give UNCHANGED. */
TMLP_API tmlp_regress_verdict tmlp_regress_classify(tmlp_metric_direction dir, double base,
                                                    double cur, double threshold,
                                                    double p_value, double alpha,
                                                    double *rel_change);

/* ===== Run-level verdicts ==============================================================
 * The unit of replication of a "did it get slower?" question is the RUN, not the query:
 * queries of one run share its clock frequency, neighbours and cache placement, so a test
 * over 10^5 queries of one run against 10^5 of another calls any run-to-run drift
 * "significant". These functions take ONE value per repetition (a run's p50, its
 * throughput, ...) for each side.
 *
 * Method (multiplicative noise, so on logarithms): Welch's t-test on log(value) gives p;
 * the (1 - alpha) interval of the difference of log means, exponentiated, is the interval
 * of the ratio of geometric means, so rel_change = GM(cur)/GM(base) - 1 and
 * [ci_low, ci_high] are relative changes too. The noise floor is the smallest relative
 * change this comparison can detect at alpha (the smallest one that would be significant):
 *     exp(t_{1-alpha/2, df} * se) - 1,   se = Welch's se of the log means, df Welch's.
 * Verdict: with >= 3 repetitions a side, REGRESSION (IMPROVEMENT) only when p < alpha AND
 * the change is worse (better) than threshold_used = max(threshold, noise_floor). With
 * fewer, `tested` is 0 and the threshold alone decides (label it so: "not enough
 * repetitions for a test"). Zero spread on both sides: p = 0 if the values differ, 1 if
 * not (a deterministic metric), floor 0. */
#define TMLP_REGRESS_MIN_REPS 3
typedef struct tmlp_regress_runs {
    int64_t n_base, n_cur;
    double base, cur;            /* geometric means of the repetition values */
    double rel_change;           /* cur / base - 1 */
    double ci_low, ci_high;      /* (1 - alpha) interval of rel_change; NaN if untested */
    double p;                    /* Welch two-sided p on the logs; NaN if untested */
    double cv_base, cv_cur;      /* between-repetition CV, sd / mean; NaN if n < 2 */
    double noise_floor;          /* see above; NaN if untested */
    double threshold_used;       /* max(threshold, noise_floor) (threshold if untested) */
    int tested;                  /* both sides have >= TMLP_REGRESS_MIN_REPS repetitions */
    int floor_applied;           /* noise_floor > threshold decided the bar */
    tmlp_regress_verdict verdict;
} tmlp_regress_runs;

/* Values must be finite and > 0 (latencies, throughput); TMLP_ERR_ARG otherwise or when
 * a side is empty; alpha in (0, 0.5], threshold >= 0. */
TMLP_API tmlp_status tmlp_regress_compare_runs(tmlp_metric_direction dir, const double *base,
                                               int64_t n_base, const double *cur, int64_t n_cur,
                                               double threshold, double alpha,
                                               tmlp_regress_runs *out, tmlp_error *err);

/* The noise floor of ONE repeated run: the smallest relative change a comparison of two
 * runs like it (n repetitions each, between-repetition CV `cv`) can detect at alpha:
 * exp(t_{1-alpha/2, 2n-2} * sqrt(log(1 + cv^2)) * sqrt(2/n)) - 1.
 * NaN when n < 2 or cv is not finite. */
TMLP_API double tmlp_regress_noise_floor(double cv, int64_t n, double alpha);

/* Holm-Bonferroni: the gate calls a run a regression if ANY of its metrics regressed, so
 * its false-alarm rate is family-wise. adj[i] = the Holm-adjusted p of p[i] (monotone,
 * <= 1); NaN entries are skipped (stay NaN) and do not count in the family. Comparing
 * adj[i] < alpha keeps the chance of any false alarm across the n metrics <= alpha.
 * p and adj may alias. TMLP_ERR_NOMEM / TMLP_ERR_ARG (n < 0 or NULL). */
TMLP_API tmlp_status tmlp_regress_holm(const double *p, int64_t n, double *adj,
                                       tmlp_error *err);

/* tmlp_regress_compare_runs's verdict again with p replaced by an adjusted p (Holm): the
 * metric regresses only if adj_p < alpha and the change exceeds r->threshold_used.
 * Untested comparisons (r->tested == 0) keep their threshold-only verdict. */
TMLP_API tmlp_regress_verdict tmlp_regress_runs_verdict(const tmlp_regress_runs *r,
                                                        tmlp_metric_direction dir, double adj_p,
                                                        double alpha);

/* One metric of a comparison: the direction and the per-repetition values (input), and
 * what tmlp_regress_decide found (output). `base` and `cur` are read, never kept. */
typedef struct tmlp_regress_metric {
    tmlp_metric_direction dir;
    const double *base;              /* one value per repetition, finite and > 0 */
    int64_t n_base;
    const double *cur;
    int64_t n_cur;
    tmlp_regress_runs runs;          /* out: tmlp_regress_compare_runs of the two */
    double adj_p;                    /* out: Holm-adjusted p over the family's tested
                                        metrics; NaN when this one is untested */
    tmlp_regress_verdict verdict;    /* out: the verdict with adj_p (tmlp_regress_runs_verdict) */
} tmlp_regress_metric;

/* THE rule of every run-level verdict — `bench_mlp regress`, `--baseline` and `compare` on
 * results files all call it, so they cannot disagree on the same files: for each of the n
 * metrics the run-level test (tmlp_regress_compare_runs: Welch on the logs of the
 * per-repetition values, the interval of the relative change, the noise floor), then
 * Holm's correction over the metrics tested (>= TMLP_REGRESS_MIN_REPS repetitions a
 * side), then each verdict: worse than max(threshold, noise floor) and Holm-significant ->
 * REGRESSION (better -> IMPROVEMENT); untested metrics decide by the threshold alone.
 * The family is whatever the caller passes: pass every metric it will report, since the
 * correction depends on how many there are. TMLP_ERR_ARG (a metric's values, threshold or
 * alpha as tmlp_regress_compare_runs; the message names the metric's index),
 * TMLP_ERR_NOMEM. */
TMLP_API tmlp_status tmlp_regress_decide(tmlp_regress_metric *metrics, int64_t n, double threshold, double alpha,
                                         tmlp_error *err);

/* Two-proportion z-test (pooled), two-sided: accuracy k1/n1 vs k2/n2. NaN if n < 1 or the
 * pooled proportion is 0 or 1 with equal counts (then nothing differs: returns 1). */
TMLP_API double tmlp_regress_two_proportion_p(int64_t k1, int64_t n1, int64_t k2, int64_t n2);

#ifdef __cplusplus
}
#endif
#endif
