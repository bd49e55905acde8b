/* early_stop.c — MLPerf LoadGen's early-stopping criterion (a post-hoc validity check).
 *
 * Each query is a Bernoulli trial "under the latency in question" with probability p.
 * Seeing at least h under-latency queries and t over-latency ones is unlikely (< 1-c)
 * for a system whose true rate is only p when the binomial tail
 *     P(at least h successes in h+t trials) = I_p(h, t+1) <= 1 - c
 * (regularized incomplete beta). h(t) is the smallest such h; I_p(h, t+1) decreases in h,
 * so h(t) is found by doubling then bisection.
 *   Single/multi-stream: need q >= h(1) + 1 queries; allowed overlatency t = the largest t
 *     with q >= h(t) + t; the percentile estimate is sorted_ascending[q - t].
 *   Server: t queries over the target pass iff q >= h(t) + t.
 * Pinned (docs/harness.md): p = 0.90: h(0) = 44, h(1) = 63 -> 64 queries; p = 0.99: 662;
 *   server totals for t = 0, 1, 10, 100, 1000: 459, 662, 2010, 12571, 107569;
 *   p90 estimate t: q = 100 -> 3, 1000 -> 78, 10000 -> 930.
 */
#include "tinymlp/stats.h"

#include <math.h>

static int h_ok(double p, double c, int64_t h, int64_t t)
{
    return tmlp_stats_betainc((double)h, (double)t + 1.0, p) <= 1.0 - c;
}

int64_t tmlp_early_stop_h(double p, double c, int64_t t)
{
    if (!(p > 0 && p < 1) || !(c > 0 && c < 1) || t < 0) return -1;
    int64_t lo = 1, hi = 1;
    while (!h_ok(p, c, hi, t)) {
        lo = hi + 1;
        if (hi > INT64_MAX / 4) return -1;
        hi *= 2;
    }
    /* smallest h in [lo, hi] with h_ok */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (h_ok(p, c, mid, t)) hi = mid;
        else lo = mid + 1;
    }
    return hi;
}

int64_t tmlp_early_stop_min_queries(double p, double c)
{
    int64_t h1 = tmlp_early_stop_h(p, c, 1);
    return h1 < 0 ? -1 : h1 + 1;
}

int64_t tmlp_early_stop_server_queries_needed(double p, double c, int64_t t)
{
    int64_t h = tmlp_early_stop_h(p, c, t);
    return h < 0 ? -1 : h + t;
}

int tmlp_early_stop_server_pass(double p, double c, int64_t q, int64_t t)
{
    if (q < 0 || t < 0 || t > q) return 0;
    int64_t need = tmlp_early_stop_server_queries_needed(p, c, t);
    return need >= 0 && q >= need;
}

int64_t tmlp_early_stop_overlatency_allowed(double p, double c, int64_t q)
{
    int64_t min_q = tmlp_early_stop_min_queries(p, c);
    if (min_q < 0 || q < 0) return -1;
    if (q < min_q) return 0;
    /* h(t) + t increases with t: bisect for the largest t in [1, q] with q >= h(t) + t. */
    int64_t lo = 1, hi = q;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        int64_t need = tmlp_early_stop_server_queries_needed(p, c, mid);
        if (need >= 0 && q >= need) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}
