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
 */
#include "tinymlp/report.h"

#include <math.h>

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
