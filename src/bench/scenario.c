/* scenario.c — tmlp_bench_run_scenario, the harness's one public entry: check the settings
 * (harness.c, tmlp_bench_settings_check), then one run (harness.c, tmlp_bench_run_once) or,
 * in find-peak mode, a search over runs (find_peak.c).
 *
 * Invariant: this file calls harness.c and find_peak.c, find_peak.c calls harness.c, and
 * harness.c calls neither, so one run knows nothing of the search built on it.
 */
#include "harness_internal.h"
#include "internal.h"

tmlp_status tmlp_bench_run_scenario(const tmlp_bench_settings *settings, const tmlp_sut *sut,
                                    tmlp_bench_result **out, tmlp_error *err)
{
    if (out) *out = NULL;
    tmlp_status st = tmlp_bench_settings_check(settings, sut, err);
    if (st != TMLP_OK) return st;
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: out is NULL");
    if (settings->mode == TMLP_MODE_FIND_PEAK) return tmlp_bench_find_peak(settings, sut, out, err);
    return tmlp_bench_run_once(settings, sut, out, err);
}
