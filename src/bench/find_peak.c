/* find_peak.c — the server's find-peak mode: the highest target QPS whose run is VALID.
 *
 * Search (LoadGen's FindPeakPerformance, bounded):
 *   1. run at target_qps. If VALID, double the QPS until a run fails;
 *      if not, halve it until a run passes.
 *   2. bisect between the last passing QPS `lo` and the first failing `hi` until
 *      (hi - lo) / lo <= find_peak_precision.
 * Bounds, so a SUT that cannot meet the bound (or a noisy machine) does not keep the
 * search halving for minutes:
 *   - at most find_peak_max_runs runs (and at most 64, the size of the trial list);
 *   - never below the QPS floor find_peak_min_qps (0 = target_qps / 64): the halving
 *     stops at the floor, which is tried once; if that fails too there is no peak;
 *   - no new trial once find_peak_budget_ms (0 = none) has passed since the search began.
 * The result is the last passing run's result with peak_qps = its QPS and the trial list;
 * if no run passed, the last run's (INVALID) result with peak_qps = 0. peak_note says in
 * one sentence which rule ended the search. An interrupt (settings.stop) ends the search
 * with the runs done so far.
 * A run's validity is noisy near the peak, so the answer is "a QPS that passed once", to
 * the stated precision, not a guaranteed capacity: rerun it in performance mode.
 */
#include "harness_internal.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>

typedef struct search {
    tmlp_bench_settings s;
    const tmlp_sut *sut;
    int runs, max_runs;
    double qps[64];
    int valid[64];
    tmlp_bench_result *best, *last_fail;
    double lo, hi; /* last pass, first fail (0 = none yet) */
    int interrupted;
    uint64_t t_begin, budget_ns; /* budget_ns 0 = none */
    int out_of_budget;
} search;

/* Run at `qps`; keep the result as best (pass) or last_fail. Returns 1 pass, 0 fail,
 * -1 stop (budget, interrupt or error). */
static int trial(search *f, double qps, tmlp_status *st, tmlp_error *err)
{
    if (f->runs >= f->max_runs || f->interrupted) return -1;
    if (f->budget_ns && f->runs > 0 && tmlp_time_now_ns() - f->t_begin >= f->budget_ns) {
        f->out_of_budget = 1;
        return -1;
    }
    f->s.target_qps = qps;
    tmlp_bench_result *r = NULL;
    *st = tmlp_bench_run_once(&f->s, f->sut, &r, err);
    if (*st != TMLP_OK) return -1;
    f->qps[f->runs] = qps;
    f->valid[f->runs] = r->valid;
    f->runs++;
    if (r->interrupted) f->interrupted = 1;
    if (r->valid) {
        tmlp_bench_result_destroy(f->best);
        f->best = r;
        f->lo = qps;
        return 1;
    }
    tmlp_bench_result_destroy(f->last_fail);
    f->last_fail = r;
    f->hi = qps;
    return f->interrupted ? -1 : 0;
}

tmlp_status tmlp_bench_find_peak(const tmlp_bench_settings *settings, const tmlp_sut *sut,
                                 tmlp_bench_result **out, tmlp_error *err)
{
    search f = {0};
    f.s = *settings;
    f.s.mode = TMLP_MODE_PERFORMANCE;
    f.sut = sut;
    f.max_runs = settings->find_peak_max_runs < 64 ? (int)settings->find_peak_max_runs : 64;
    f.t_begin = tmlp_time_now_ns();
    f.budget_ns = settings->find_peak_budget_ms * 1000000ULL;
    double floor_qps = settings->find_peak_min_qps > 0.0 ? settings->find_peak_min_qps
                                                         : settings->target_qps / 64.0;
    tmlp_status st = TMLP_OK;
    int at_floor = 0;

    double qps = settings->target_qps;
    int r = trial(&f, qps, &st, err);
    if (r == 1) {
        while ((r = trial(&f, qps *= 2.0, &st, err)) == 1) {}
    } else if (r == 0) {
        while (!at_floor) {
            qps *= 0.5;
            if (qps <= floor_qps) {
                qps = floor_qps;
                at_floor = 1;
            }
            if ((r = trial(&f, qps, &st, err)) != 0) break;
        }
    }
    while (st == TMLP_OK && f.lo > 0.0 && f.hi > 0.0 && (f.hi - f.lo) / f.lo > settings->find_peak_precision) {
        if (trial(&f, 0.5 * (f.lo + f.hi), &st, err) < 0) break;
    }
    if (st != TMLP_OK) {
        tmlp_bench_result_destroy(f.best);
        tmlp_bench_result_destroy(f.last_fail);
        return st;
    }

    tmlp_bench_result *res = f.best ? f.best : f.last_fail;
    if (f.best) tmlp_bench_result_destroy(f.last_fail);
    if (!res) return tmlp_error_set(err, TMLP_ERR_ARG, "find-peak: find_peak_max_runs allows no run");
    res->settings.mode = TMLP_MODE_FIND_PEAK;
    res->n_peak_trials = f.runs;
    for (int i = 0; i < f.runs; i++) {
        res->peak_trial_qps[i] = f.qps[i];
        res->peak_trial_valid[i] = f.valid[i];
    }
    res->peak_qps = f.best ? f.lo : 0.0;
    double width = f.lo > 0.0 && f.hi > 0.0 ? (f.hi - f.lo) / f.lo : NAN;
    if (f.interrupted)
        snprintf(res->peak_note, sizeof res->peak_note, "interrupted after %d trials", f.runs);
    else if (!f.best && at_floor && f.runs < f.max_runs && !f.out_of_budget)
        snprintf(res->peak_note, sizeof res->peak_note,
                 "QPS floor reached: no trial passed down to the floor of %.6g QPS "
                 "(find_peak_min_qps); the INVALID reasons are those of the last trial", floor_qps);
    else if (f.best && f.hi > 0.0 && width <= settings->find_peak_precision)
        snprintf(res->peak_note, sizeof res->peak_note,
                 "converged: peak bracketed in [%.6g, %.6g) QPS, within the %.3g%% precision, after %d trials",
                 f.lo, f.hi, 100.0 * settings->find_peak_precision, f.runs);
    else if (f.out_of_budget)
        snprintf(res->peak_note, sizeof res->peak_note,
                 "time budget of %.3g s spent after %d trials%s", (double)settings->find_peak_budget_ms / 1e3,
                 f.runs, f.best ? "; the peak is a lower bound" : "; no trial passed");
    else
        snprintf(res->peak_note, sizeof res->peak_note, "run limit of %d trials reached%s", f.max_runs,
                 f.best ? "; the peak is a lower bound" : "; no trial passed");
    if (!f.best && !res->interrupted) {
        res->valid = 0;
        tmlp_bench_add_reason(res, "find-peak: none of the %d trials was VALID (lowest %.6g QPS); address the "
                              "last trial's reasons, lower target_qps or raise the latency bound", f.runs, qps);
    }
    if (f.interrupted && !res->interrupted) {
        res->interrupted = 1;
        res->valid = 0;
        tmlp_bench_add_reason(res, "interrupted: the find-peak search was stopped early; the peak is a lower bound");
    }
    *out = res;
    return TMLP_OK;
}
