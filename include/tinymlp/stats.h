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
/* Parse a name; TMLP_ERR_ARG if unknown. */
TMLP_API tmlp_status tmlp_percentile_method_parse(const char *name, tmlp_percentile_method *out);

/* p in [0, 1] of an ascending-sorted array of n >= 1 values. NaN if n < 1 or p outside [0,1]. */
TMLP_API double tmlp_stats_percentile_sorted(const double *sorted, int64_t n, double p,
                                             tmlp_percentile_method m);

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

#ifdef __cplusplus
}
#endif
#endif
