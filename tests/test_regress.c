/* test_regress.c — the regression rule respects each metric's direction, the threshold
 * and significance; the SRM chi-square matches hand-computed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tinymlp/ab.h"
#include "tinymlp/regress.h"
#include "tinymlp/rng.h"
#include "tinymlp/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_throughput_drop_is_regression(void **state)
{
    (void)state;
    double r;
    /* 100k -> 80k samples/s: -20%, higher is better -> regression, never an improvement */
    assert_int_equal(tmlp_regress_classify(TMLP_HIGHER_IS_BETTER, 100000, 80000, 0.05, NAN, 0.05, &r),
                     TMLP_REGRESS_REGRESSION);
    assert_float_equal(r, -0.2, 1e-12);
    assert_int_equal(tmlp_regress_classify(TMLP_HIGHER_IS_BETTER, 100000, 120000, 0.05, NAN, 0.05, NULL),
                     TMLP_REGRESS_IMPROVEMENT);
    /* accuracy 0.90 -> 0.80 */
    assert_int_equal(tmlp_regress_classify(TMLP_HIGHER_IS_BETTER, 0.9, 0.8, 0.05, NAN, 0.05, NULL),
                     TMLP_REGRESS_REGRESSION);
}

static void test_latency_increase(void **state)
{
    (void)state;
    /* p99 40 us -> 48 us (+20%) and significant: regression */
    assert_int_equal(tmlp_regress_classify(TMLP_LOWER_IS_BETTER, 40000, 48000, 0.05, 1e-6, 0.05, NULL),
                     TMLP_REGRESS_REGRESSION);
    /* same change, not significant (p = 0.4): within noise */
    assert_int_equal(tmlp_regress_classify(TMLP_LOWER_IS_BETTER, 40000, 48000, 0.05, 0.4, 0.05, NULL),
                     TMLP_REGRESS_UNCHANGED);
    /* significant but below the threshold (+3%): unchanged */
    assert_int_equal(tmlp_regress_classify(TMLP_LOWER_IS_BETTER, 40000, 41200, 0.05, 1e-9, 0.05, NULL),
                     TMLP_REGRESS_UNCHANGED);
    /* latency drop: improvement */
    assert_int_equal(tmlp_regress_classify(TMLP_LOWER_IS_BETTER, 40000, 30000, 0.05, 1e-9, 0.05, NULL),
                     TMLP_REGRESS_IMPROVEMENT);
    /* a custom threshold of 25% tolerates +20% */
    assert_int_equal(tmlp_regress_classify(TMLP_LOWER_IS_BETTER, 40000, 48000, 0.25, NAN, 0.05, NULL),
                     TMLP_REGRESS_UNCHANGED);
    /* no baseline figure: nothing to say */
    assert_int_equal(tmlp_regress_classify(TMLP_LOWER_IS_BETTER, 0, 48000, 0.05, NAN, 0.05, NULL),
                     TMLP_REGRESS_UNCHANGED);
    assert_string_equal(tmlp_regress_verdict_name(TMLP_REGRESS_REGRESSION), "regression");
}

/* --- run-level verdicts: simulated repeated runs with run-level drift ------ */

#define SIM_PAIRS 100
#define SIM_REPS 5
#define SIM_QUERIES 400

enum { M_MEAN, M_P50, M_P90, M_P99, M_THR, N_METRICS };

/* One simulated run of a fake SUT: its own mean shifts at random by up to +-10% (the run's
 * clock, neighbours, cache placement), then SIM_QUERIES latencies around it (lognormal,
 * sigma 0.25). Returns the run's mean, p50, p90, p99 and throughput. */
static void sim_run(tmlp_rng *rng, double base_ns, double slowdown, double out[N_METRICS])
{
    double shift = 1.0 + 0.2 * (tmlp_rng_uniform(rng) - 0.5); /* U(0.9, 1.1) */
    double x[SIM_QUERIES], sum = 0;
    for (int i = 0; i < SIM_QUERIES; i++) {
        x[i] = base_ns * slowdown * shift * exp(0.25 * tmlp_rng_normal(rng));
        sum += x[i];
    }
    double *s = tmlp_stats_sorted_copy(x, SIM_QUERIES);
    assert_non_null(s);
    out[M_MEAN] = sum / SIM_QUERIES;
    out[M_P50] = tmlp_stats_percentile_sorted(s, SIM_QUERIES, 0.50, TMLP_PCT_LOADGEN);
    out[M_P90] = tmlp_stats_percentile_sorted(s, SIM_QUERIES, 0.90, TMLP_PCT_LOADGEN);
    out[M_P99] = tmlp_stats_percentile_sorted(s, SIM_QUERIES, 0.99, TMLP_PCT_LOADGEN);
    out[M_THR] = 1e9 / out[M_MEAN];
    free(s);
}

/* Runs SIM_PAIRS simulated comparisons (SIM_REPS repetitions a side) and counts the pairs
 * in which any metric (or, with only_p50, the p50) was called a regression. */
static int sim_pairs(uint64_t seed, double slowdown, int only_p50, int *ci_covered_zero)
{
    tmlp_rng rng;
    tmlp_rng_seed(&rng, seed);
    int flagged = 0;
    if (ci_covered_zero) *ci_covered_zero = 0;
    for (int pair = 0; pair < SIM_PAIRS; pair++) {
        double a[N_METRICS][SIM_REPS], b[N_METRICS][SIM_REPS], v[N_METRICS];
        /* interleaved ABAB..., as bench_mlp ab does */
        for (int r = 0; r < SIM_REPS; r++) {
            sim_run(&rng, 20000.0, 1.0, v);
            for (int m = 0; m < N_METRICS; m++) a[m][r] = v[m];
            sim_run(&rng, 20000.0, slowdown, v);
            for (int m = 0; m < N_METRICS; m++) b[m][r] = v[m];
        }
        /* the gate's one rule (tmlp_regress_decide): every metric compared, p-values
         * Holm-adjusted across the family, the pair flagged if any metric (or the p50
         * alone) regressed */
        tmlp_regress_metric fam[N_METRICS];
        for (int m = 0; m < N_METRICS; m++)
            fam[m] = (tmlp_regress_metric){.dir = m == M_THR ? TMLP_HIGHER_IS_BETTER : TMLP_LOWER_IS_BETTER,
                                           .base = a[m], .n_base = SIM_REPS, .cur = b[m], .n_cur = SIM_REPS};
        assert_int_equal(tmlp_regress_decide(fam, N_METRICS, 0.05, 0.05, NULL), TMLP_OK);
        int any = 0;
        for (int m = 0; m < N_METRICS; m++) {
            const tmlp_regress_runs *rr = &fam[m].runs;
            assert_true(rr->tested);
            assert_true(rr->ci_low <= rr->rel_change && rr->rel_change <= rr->ci_high);
            assert_true(fam[m].adj_p >= rr->p);
            if (m == M_P50 && ci_covered_zero && rr->ci_low <= 0 && 0 <= rr->ci_high) (*ci_covered_zero)++;
            if (only_p50 && m != M_P50) continue;
            if (fam[m].verdict == TMLP_REGRESS_REGRESSION) any = 1;
        }
        flagged += any;
    }
    return flagged;
}

static void test_runs_aa_no_false_regressions(void **state)
{
    (void)state;
    int covered = 0;
    /* no true difference: <= 5 of 100 pairs may flag anything (alpha 0.05) */
    int flagged = sim_pairs(0xA11A, 1.0, 0, &covered);
    print_message("A/A: %d of %d pairs flagged a regression; p50 interval covered 0 in %d\n", flagged, SIM_PAIRS,
                  covered);
    assert_true(flagged <= SIM_PAIRS / 20);
    /* the 95% interval of the relative change covers the true change (0) at about its rate */
    assert_true(covered >= 88);
}

static void test_runs_true_slowdown_flagged(void **state)
{
    (void)state;
    /* a true 20% slowdown: the gate flags >= 90 of 100 pairs */
    int flagged = sim_pairs(0x51017, 1.2, 0, NULL);
    print_message("20%% slower: the gate flagged %d of %d pairs\n", flagged, SIM_PAIRS);
    assert_true(flagged >= 90);
}

static void test_runs_few_repetitions_threshold_only(void **state)
{
    (void)state;
    double a[2] = {100, 101}, b[2] = {113, 114};
    tmlp_regress_runs r;
    assert_int_equal(tmlp_regress_compare_runs(TMLP_LOWER_IS_BETTER, a, 2, b, 2, 0.05, 0.05, &r, NULL), TMLP_OK);
    assert_false(r.tested);
    assert_true(isnan(r.p) && isnan(r.ci_low) && isnan(r.noise_floor));
    assert_float_equal(r.threshold_used, 0.05, 0);
    assert_int_equal(r.verdict, TMLP_REGRESS_REGRESSION); /* +12.9% > 5%, labelled threshold-only */
    /* 1 vs 1 and a 3% change: unchanged */
    double c = 100, d = 103;
    assert_int_equal(tmlp_regress_compare_runs(TMLP_LOWER_IS_BETTER, &c, 1, &d, 1, 0.05, 0.05, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_REGRESS_UNCHANGED);
    /* bad input */
    double z = 0;
    assert_int_equal(tmlp_regress_compare_runs(TMLP_LOWER_IS_BETTER, &z, 1, &d, 1, 0.05, 0.05, &r, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_regress_compare_runs(TMLP_LOWER_IS_BETTER, &c, 0, &d, 1, 0.05, 0.05, &r, NULL), TMLP_ERR_ARG);
}

static void test_runs_noise_floor_raises_the_bar(void **state)
{
    (void)state;
    /* very noisy runs (CV ~16%): a +12% change is beyond the 5% threshold but not beyond the
     * noise floor (~25%), so it is not a regression */
    double a[5] = {80, 100, 120, 90, 110}, b[5] = {92, 112, 134, 101, 123};
    tmlp_regress_runs r;
    assert_int_equal(tmlp_regress_compare_runs(TMLP_LOWER_IS_BETTER, a, 5, b, 5, 0.05, 0.05, &r, NULL), TMLP_OK);
    assert_true(r.tested);
    assert_true(r.noise_floor > 0.05);
    assert_true(r.floor_applied);
    assert_float_equal(r.threshold_used, r.noise_floor, 0);
    assert_int_equal(r.verdict, TMLP_REGRESS_UNCHANGED);
    /* quiet runs: the floor is small and a 12% change is a regression */
    double q[5] = {100, 100.5, 99.5, 100.2, 99.8}, w[5] = {112, 112.4, 111.6, 112.2, 111.8};
    assert_int_equal(tmlp_regress_compare_runs(TMLP_LOWER_IS_BETTER, q, 5, w, 5, 0.05, 0.05, &r, NULL), TMLP_OK);
    assert_false(r.floor_applied);
    assert_true(r.p < 1e-6);
    assert_int_equal(r.verdict, TMLP_REGRESS_REGRESSION);
    /* throughput is higher-is-better: the same drop is a regression */
    assert_int_equal(tmlp_regress_compare_runs(TMLP_HIGHER_IS_BETTER, w, 5, q, 5, 0.05, 0.05, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_REGRESS_REGRESSION);
    /* deterministic metric, no spread, equal: p = 1, unchanged */
    double e[3] = {0.8971, 0.8971, 0.8971};
    assert_int_equal(tmlp_regress_compare_runs(TMLP_HIGHER_IS_BETTER, e, 3, e, 3, 0.05, 0.05, &r, NULL), TMLP_OK);
    assert_float_equal(r.p, 1.0, 0);
    assert_int_equal(r.verdict, TMLP_REGRESS_UNCHANGED);
    /* the per-run floor: CV 2%, 5 repetitions, alpha 0.05: t_{0.975,8} * 0.02 * sqrt(2/5)
     * = 2.306 * 0.01265 -> about 2.9% */
    double f = tmlp_regress_noise_floor(0.02, 5, 0.05);
    assert_true(f > 0.027 && f < 0.031);
    assert_true(isnan(tmlp_regress_noise_floor(0.02, 1, 0.05)));
    /* two proportions: 8971/10000 vs 8971/10000 -> 1; 0.90 vs 0.85 of 1000 -> tiny */
    assert_float_equal(tmlp_regress_two_proportion_p(8971, 10000, 8971, 10000), 1.0, 1e-12);
    assert_true(tmlp_regress_two_proportion_p(900, 1000, 850, 1000) < 0.01);
}

/* Order-statistic intervals of a percentile cover the true percentile at their stated
 * rate: exponential latencies (p90 = ln 10 / rate), 1000 simulated runs of 300 queries. */
/* tmlp_regress_decide is the family rule: its per-metric results are exactly
 * compare_runs + Holm + runs_verdict; bad input names the metric. */
static void test_decide_is_the_family_rule(void **state)
{
    (void)state;
    double a[5] = {100, 101, 99, 100.5, 99.5}, b[5] = {112, 113, 111, 112.5, 111.5};
    double c[5] = {50, 51, 49, 50.5, 49.5}, d[5] = {50.2, 51.1, 49.3, 50.4, 49.9};
    tmlp_regress_metric fam[2] = {{.dir = TMLP_LOWER_IS_BETTER, .base = a, .n_base = 5, .cur = b, .n_cur = 5},
                                  {.dir = TMLP_HIGHER_IS_BETTER, .base = c, .n_base = 5, .cur = d, .n_cur = 5}};
    assert_int_equal(tmlp_regress_decide(fam, 2, 0.05, 0.05, NULL), TMLP_OK);
    double p[2], adj[2];
    for (int i = 0; i < 2; i++) {
        tmlp_regress_runs r;
        assert_int_equal(tmlp_regress_compare_runs(fam[i].dir, fam[i].base, 5, fam[i].cur, 5, 0.05, 0.05, &r, NULL),
                         TMLP_OK);
        assert_float_equal(fam[i].runs.p, r.p, 0);
        p[i] = r.p;
    }
    assert_int_equal(tmlp_regress_holm(p, 2, adj, NULL), TMLP_OK);
    for (int i = 0; i < 2; i++) {
        assert_float_equal(fam[i].adj_p, adj[i], 0);
        assert_int_equal(fam[i].verdict, tmlp_regress_runs_verdict(&fam[i].runs, fam[i].dir, adj[i], 0.05));
    }
    assert_int_equal(fam[0].verdict, TMLP_REGRESS_REGRESSION);
    assert_int_equal(fam[1].verdict, TMLP_REGRESS_UNCHANGED);
    tmlp_error e = {0};
    double z = -1;
    fam[1].cur = &z;
    fam[1].n_cur = 1;
    assert_int_equal(tmlp_regress_decide(fam, 2, 0.05, 0.05, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "metric 1"));
    assert_int_equal(tmlp_regress_decide(NULL, 2, 0.05, 0.05, &e), TMLP_ERR_ARG);
    assert_int_equal(tmlp_regress_decide(fam, -1, 0.05, 0.05, &e), TMLP_ERR_ARG);
    assert_int_equal(tmlp_regress_decide(NULL, 0, 0.05, 0.05, &e), TMLP_OK);
}

static void test_holm(void **state)
{
    (void)state;
    /* p = 0.01, 0.04, 0.03, NaN: m = 3; sorted 0.01, 0.03, 0.04 -> 0.03, 0.06, 0.06 */
    double p[4] = {0.01, 0.04, 0.03, NAN}, adj[4];
    assert_int_equal(tmlp_regress_holm(p, 4, adj, NULL), TMLP_OK);
    assert_float_equal(adj[0], 0.03, 1e-15);
    assert_float_equal(adj[2], 0.06, 1e-15);
    assert_float_equal(adj[1], 0.06, 1e-15);
    assert_true(isnan(adj[3]));
    assert_int_equal(tmlp_regress_holm(NULL, 2, adj, NULL), TMLP_ERR_ARG);
}

static void test_percentile_interval_coverage(void **state)
{
    (void)state;
    tmlp_rng rng;
    tmlp_rng_seed(&rng, 0xC0FE);
    const int sims = 1000, n = 300;
    double truth = log(10.0), x[300];
    int covered = 0;
    for (int k = 0; k < sims; k++) {
        for (int i = 0; i < n; i++) x[i] = tmlp_rng_exponential(&rng, 1.0);
        double *s = tmlp_stats_sorted_copy(x, n);
        assert_non_null(s);
        tmlp_stats_quantile_ci ci;
        assert_int_equal(tmlp_stats_percentile_ci_sorted(s, n, 0.90, 0.95, TMLP_PCT_LOADGEN, &ci, NULL), TMLP_OK);
        if (ci.low <= truth && truth <= ci.high) covered++;
        free(s);
    }
    print_message("p90 95%% interval covered the true p90 in %d of %d runs\n", covered, sims);
    /* binomial(1000, >= 0.95): [930, 1000] holds with overwhelming probability */
    assert_true(covered >= 930);
}

static void test_srm(void **state)
{
    (void)state;
    tmlp_srm_result s;
    /* 0.5 split routed 70/30 over 1000: e = 500/500, X^2 = 200^2/500 * 2 = 160 */
    assert_int_equal(tmlp_srm_check(700, 300, 0.5, 0.001, &s, NULL), TMLP_OK);
    assert_float_equal(s.chi2, 160.0, 1e-9);
    assert_true(s.p_value < 1e-30);
    assert_true(s.mismatch);
    /* 510/490: X^2 = 0.4, p = erfc(sqrt(0.2)) = 0.527089 (chi2.sf(0.4, 1) in SciPy) */
    assert_int_equal(tmlp_srm_check(510, 490, 0.5, 0.001, &s, NULL), TMLP_OK);
    assert_float_equal(s.chi2, 0.4, 1e-12);
    assert_float_equal(s.p_value, 0.5270892568655381, 1e-9);
    assert_false(s.mismatch);
    /* 0.3 split to B: 700 A / 300 B is exactly on target */
    assert_int_equal(tmlp_srm_check(700, 300, 0.3, 0.001, &s, NULL), TMLP_OK);
    assert_float_equal(s.chi2, 0.0, 1e-9);
    assert_int_equal(tmlp_srm_check(0, 0, 0.5, 0.001, &s, NULL), TMLP_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_throughput_drop_is_regression),
        cmocka_unit_test(test_latency_increase),
        cmocka_unit_test(test_srm),
        cmocka_unit_test(test_runs_aa_no_false_regressions),
        cmocka_unit_test(test_runs_true_slowdown_flagged),
        cmocka_unit_test(test_runs_few_repetitions_threshold_only),
        cmocka_unit_test(test_runs_noise_floor_raises_the_bar),
        cmocka_unit_test(test_percentile_interval_coverage),
        cmocka_unit_test(test_holm),
        cmocka_unit_test(test_decide_is_the_family_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
