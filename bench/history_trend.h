/* history_trend.h — change points in a metric's history (`bench_mlp history trend`).
 *
 * Input: one value per recorded run, in recording order (a run's median over its
 * repetitions). The unit is the RUN, as in `regress`: the question is whether a later
 * group of runs differs from an earlier one, and runs are what vary between commits.
 *
 * Method: binary segmentation with a run-level two-sample t-test on log values.
 *   1. For a segment of n runs, every split k leaving >= min_seg runs on each side is a
 *      candidate; the t statistic between the two windows (log values: multiplicative
 *      noise) is computed at each, and the split with the largest |t| is kept.
 *   2. Its two-sided p is Bonferroni-corrected by the number of candidate splits m:
 *      p_adj = min(1, m p). The split is a change point when p_adj < alpha.
 *   3. A found change point splits the segment and both halves are searched again.
 * The t-test is Student's (pooled variance), not Welch's: under "no change" both windows
 * come from one distribution, so the pooled t is exact there and the Bonferroni bound
 * holds; Welch's approximation is anti-conservative when a window has 3 runs (the rates
 * measured on flat series are in docs/history.md).
 * Rate: on a series with no change, step 2 is the only test made, so a change point is
 * reported with probability <= alpha (Bonferroni; less in practice, since the m tests
 * overlap). tests/test_history.c measures it on flat noisy series and checks that a 20%
 * shift is found at its place.
 */
#ifndef TMLP_BENCH_HISTORY_TREND_H
#define TMLP_BENCH_HISTORY_TREND_H

#define TMLP_CHANGEPOINT_MIN_SEG 3 /* runs on each side of a change point, at least */

typedef struct tmlp_changepoint {
    int index;          /* the first run of the new level (0-based in the series) */
    double rel_change;  /* geometric mean after / before - 1 (within the segment searched) */
    double p;           /* two-sided p of the t-test at this split */
    double p_adj;       /* Bonferroni-adjusted over the segment's candidate splits */
    int candidates;     /* m */
} tmlp_changepoint;

/* Find the change points of x[0..n) (values > 0; others make the function return -1).
 * At most `cap` are written to out, sorted by index. Returns how many were found (may
 * exceed cap), or -1 on bad input or out of memory. alpha in (0, 0.5]; min_seg >= 2. */
int tmlp_changepoints_find(const double *x, int n, int min_seg, double alpha, tmlp_changepoint *out, int cap);

#endif
