/* overload.c — can a server run still be VALID? The rule that lets an overloaded run stop
 * issuing on time instead of queueing its whole schedule (docs/harness.md, "Overload").
 *
 * A server run of N scheduled queries passes early stopping only if the queries over the
 * latency bound number at most
 *     allowed = the largest t with N >= h(t) + t        (-1 when even t = 0 fails)
 * (tinymlp/stats.h, tmlp_early_stop_server_pass: a necessary condition of VALID, so a
 * run past it cannot pass whatever its percentile does). N is the whole
 * schedule: the most queries the run can have, so `allowed` is the most lenient value
 * the run could ever get. Two counts are compared with it while the run goes on:
 *
 *   certain    late_done + late_open: measured queries that completed over the bound, and
 *              outstanding queries whose deadline (scheduled time + bound) has passed —
 *              whatever happens next, their latency is over the bound (or they never
 *              complete, which early stopping counts as over). certain > allowed: the
 *              run cannot be VALID.
 *   predicted  late_done + the outstanding queries that, served in order at TWICE the
 *              SUT's measured service rate, would still finish past their deadline: the
 *              j-th outstanding query (j = 1, 2, ...) finishes at now + j / (2 rate).
 *              predicted > allowed: the work already queued exceeds the bound even if
 *              the SUT became twice as fast as it has been. This catches an overload
 *              long before deadlines pass when the bound is long (a 10 s bound on a SUT
 *              that queues 30 s of work).
 *
 * The service rate is measured while the SUT was busy (completion calls that found work
 * still outstanding after the previous one: harness.c), so an idle SUT's low completion
 * rate is never mistaken for its capacity; with fewer than TMLP_OVERLOAD_MIN_BUSY such
 * completions there is no prediction. A healthy run is never stopped by `certain` (its
 * late queries stay within `allowed`, or it was INVALID anyway) and, through the factor
 * 2, by `predicted` only when its queue is twice as long as the bound can absorb.
 */
#include "harness_internal.h"

#include <math.h>

int64_t tmlp_overload_allowed_late(double p, double c, int64_t total)
{
    if (total < 1 || tmlp_early_stop_server_pass(p, c, total, 0) != 1) return -1;
    int64_t lo = 0, hi = total; /* pass(lo) holds; find the largest such t */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (tmlp_early_stop_server_pass(p, c, total, mid) == 1) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

void tmlp_overload_scan(tmlp_overload *o, const int64_t *origin, const int32_t *left, int64_t from, int64_t to,
                        int64_t bound_ns, int64_t now_ns)
{
    o->late_open = 0;
    o->late_predicted = 0;
    o->outstanding = 0;
    /* at twice the measured rate, one query more every ns_each nanoseconds */
    double ns_each = isfinite(o->service_qps) && o->service_qps > 0 ? 1e9 / (2.0 * o->service_qps) : NAN;
    for (int64_t q = from; q < to; q++) {
        if (left[q] == 0) continue;
        o->outstanding++;
        int64_t deadline = origin[q] + bound_ns;
        if (deadline < now_ns) {
            o->late_open++;
            o->late_predicted++;
        } else if (isfinite(ns_each) && (double)now_ns + (double)o->outstanding * ns_each > (double)deadline) {
            o->late_predicted++;
        }
    }
}

int tmlp_overload_verdict(const tmlp_overload *o)
{
    if (o->allowed < 0) return TMLP_OVERLOAD_NONE; /* early stopping fails anyway: no latency rule to apply */
    if (o->late_done + o->late_open > o->allowed) return TMLP_OVERLOAD_CERTAIN;
    if (o->late_done + o->late_predicted > o->allowed) return TMLP_OVERLOAD_PREDICTED;
    return TMLP_OVERLOAD_NONE;
}
