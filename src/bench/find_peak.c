/* find_peak.c — the server's find-peak mode: the highest target QPS whose run is VALID.
 *
 * Search (LoadGen's FindPeakPerformance, bounded):
 *   1. run at target_qps. If VALID, double the QPS until a run fails;
 *      if not, halve it until a run passes.
 *   2. bisect between the last passing QPS `lo` and the first failing `hi` until
 *      (hi - lo) / lo <= find_peak_precision.
 * At most find_peak_max_runs runs (and at most 64, the size of the trial list). The
 * result is the last passing run's result with peak_qps = its QPS and the trial list;
 * if no run passed, the last run's (INVALID) result with peak_qps = 0. An interrupt
 * (settings.stop) ends the search with the runs done so far.
 * A run's validity is noisy near the peak, so the answer is "a QPS that passed once", to
 * the stated precision, not a guaranteed capacity: rerun it in performance mode.
 */
#include "harness_internal.h"
#include "internal.h"

typedef struct search {
    tmlp_bench_settings s;
    const tmlp_sut *sut;
    int runs, max_runs;
    double qps[64];
    int valid[64];
    tmlp_bench_result *best, *last_fail;
    double lo, hi; /* last pass, first fail (0 = none yet) */
    int interrupted;
} search;

/* Run at `qps`; keep the result as best (pass) or last_fail. Returns 1 pass, 0 fail,
 * -1 stop (budget, interrupt or error). */
static int trial(search *f, double qps, tmlp_status *st, tmlp_error *err)
{
    if (f->runs >= f->max_runs || f->interrupted) return -1;
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
    tmlp_status st = TMLP_OK;

    double qps = settings->target_qps;
    int r = trial(&f, qps, &st, err);
    if (r == 1) {
        while ((r = trial(&f, qps *= 2.0, &st, err)) == 1) {}
    } else if (r == 0) {
        while ((r = trial(&f, qps *= 0.5, &st, err)) == 0) {}
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
    if (f.interrupted && !res->interrupted) {
        res->interrupted = 1;
        res->valid = 0;
        tmlp_bench_add_reason(res, "interrupted: the find-peak search was stopped early; the peak is a lower bound");
    }
    *out = res;
    return TMLP_OK;
}
