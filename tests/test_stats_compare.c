/* test_stats_compare.c — the A-vs-B verdict, its direction conventions, soundness
 * warnings, and degenerate inputs (n = 0, 1, 2, all equal, zero variance on one side,
 * underflowing p, NaN in the input, 1e5 elements).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinymlp/rng.h"
#include "tinymlp/stats.h"

static void fill(double *x, int64_t n, double mean, double sd, uint64_t seed)
{
    tmlp_rng r;
    tmlp_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) x[i] = mean + sd * tmlp_rng_normal(&r);
}

static void test_faster_and_direction(void **state)
{
    (void)state;
    double a[60], b[60];
    fill(a, 60, 100.0, 2.0, 1);
    fill(b, 60, 88.0, 2.0, 2);
    tmlp_stats_compare_opts o = tmlp_stats_compare_opts_default();
    tmlp_stats_compare_result r;
    assert_int_equal(tmlp_stats_compare(a, 60, b, 60, &o, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_VERDICT_FASTER);
    assert_string_equal(tmlp_stats_verdict_name(r.verdict), "faster");
    /* B - A everywhere: negative means B is faster */
    assert_true(r.welch.t < 0 && r.student.t < 0);
    assert_true(r.effect.cohen_d < 0 && r.effect.hedges_g < 0);
    assert_int_equal(r.effect.magnitude, TMLP_MAGNITUDE_LARGE);
    assert_true(r.ci_mean_diff.high < 0);
    assert_true(r.relative_change.estimate < -0.1 && r.relative_change.high < -0.01);
    assert_true(r.relative_change.low < r.relative_change.estimate);
    /* u1 is A's U: A is the slower side, so almost every (a, b) pair has a > b */
    assert_true(r.mwu.u1 > 0.99 * 60 * 60);
    assert_true(r.mwu.prob_superiority > 0.99);
    char line[256];
    tmlp_stats_verdict_sentence(&r, o.confidence, line, sizeof line);
    print_message("%s\n", line);
    assert_true(strncmp(line, "B is 1", 6) == 0);
    assert_non_null(strstr(line, "% faster (95% CI "));
    assert_non_null(strstr(line, "p = "));
}

static void test_slower_and_no_change(void **state)
{
    (void)state;
    double a[40], b[40];
    fill(a, 40, 50.0, 1.0, 3);
    fill(b, 40, 55.0, 1.0, 4);
    tmlp_stats_compare_result r;
    assert_int_equal(tmlp_stats_compare(a, 40, b, 40, NULL, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_VERDICT_SLOWER);
    assert_true(r.welch.t > 0 && r.relative_change.low > 0.01);
    fill(b, 40, 50.0, 1.0, 5); /* same distribution */
    assert_int_equal(tmlp_stats_compare(a, 40, b, 40, NULL, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_VERDICT_NO_CHANGE);
    char line[256];
    tmlp_stats_verdict_sentence(&r, 0.95, line, sizeof line);
    assert_true(strncmp(line, "No significant change", 21) == 0);
}

/* Significant but inside the noise band: a 0.3% shift measured on 1e5 samples. */
static void test_noise_band(void **state)
{
    (void)state;
    int64_t n = 100000;
    double *a = malloc((size_t)n * sizeof(double)), *b = malloc((size_t)n * sizeof(double));
    assert_non_null(a);
    assert_non_null(b);
    fill(a, n, 1000.0, 10.0, 6);
    fill(b, n, 997.0, 10.0, 7);
    tmlp_stats_compare_result r;
    tmlp_stats_compare_opts o = tmlp_stats_compare_opts_default();
    assert_int_equal(tmlp_stats_compare(a, n, b, n, &o, &r, NULL), TMLP_OK);
    assert_true(r.welch.p_two_sided < 1e-100); /* very significant ... */
    assert_int_equal(r.verdict, TMLP_VERDICT_NO_CHANGE); /* ... but within +-1% */
    o.noise = 0.001;
    assert_int_equal(tmlp_stats_compare(a, n, b, n, &o, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_VERDICT_FASTER);
    free(a);
    free(b);
}

static void test_insufficient_data(void **state)
{
    (void)state;
    double a[4] = {10, 11, 12, 13}, b[10] = {5, 6, 5, 6, 5, 6, 5, 6, 5, 6};
    tmlp_stats_compare_result r;
    assert_int_equal(tmlp_stats_compare(a, 4, b, 10, NULL, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_VERDICT_INSUFFICIENT_DATA);
    assert_true(r.a.warnings & TMLP_WARN_FEW_SAMPLES);
    /* both constant (even if different): zero spread makes a test meaningless */
    double c[6] = {5, 5, 5, 5, 5, 5}, d[6] = {6, 6, 6, 6, 6, 6};
    assert_int_equal(tmlp_stats_compare(c, 6, d, 6, NULL, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_VERDICT_INSUFFICIENT_DATA);
    assert_true(r.a.warnings & TMLP_WARN_ZERO_SPREAD);
    assert_int_equal(tmlp_stats_compare(c, 6, c, 6, NULL, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_VERDICT_INSUFFICIENT_DATA);
    assert_false(r.welch.defined);
    char line[256];
    tmlp_stats_verdict_sentence(&r, 0.95, line, sizeof line);
    assert_true(strncmp(line, "Insufficient data", 17) == 0);
    /* one side constant: Welch still works (df = n_b - 1) */
    double e[6] = {7.1, 7.3, 7.2, 7.4, 7.0, 7.2};
    assert_int_equal(tmlp_stats_compare(c, 6, e, 6, NULL, &r, NULL), TMLP_OK);
    assert_true(r.welch.defined);
    assert_true(fabs(r.welch.df - 5.0) < 1e-12);
    assert_int_equal(r.verdict, TMLP_VERDICT_SLOWER);
}

static void test_tests_disagree_warning(void **state)
{
    (void)state;
    /* B is lower almost everywhere (Mann-Whitney: significant) but two huge values make
     * its mean higher with a large variance (Welch: not significant). */
    double a[40], b[40];
    for (int i = 0; i < 40; i++) a[i] = 10.0 + 0.01 * i;
    for (int i = 0; i < 38; i++) b[i] = 9.9 + 0.01 * i;
    b[38] = b[39] = 100.0;
    tmlp_stats_compare_result r;
    assert_int_equal(tmlp_stats_compare(a, 40, b, 40, NULL, &r, NULL), TMLP_OK);
    assert_true(r.mwu.p < 0.05);
    assert_true(r.welch.p_two_sided >= 0.05);
    assert_true(r.warnings & TMLP_WARN_TESTS_DISAGREE);
    assert_int_equal(r.verdict, TMLP_VERDICT_NO_CHANGE);
    assert_int_equal(r.b.outliers.severe, 2); /* reported, not dropped */
    assert_int_equal(r.b.summary.n, 40);
    assert_string_equal(tmlp_stats_warning_name(TMLP_WARN_TESTS_DISAGREE), "tests_disagree");
}

static void test_sample_warnings(void **state)
{
    (void)state;
    double x[20] = {48.0, 12.0, 12.03, 12.06, 12.02, 12.05, 12.01, 12.04, 12.0, 12.03,
                    12.06, 12.02, 12.05, 12.01, 12.04, 12.0, 12.03, 12.06, 12.02, 12.05};
    tmlp_stats_sample s;
    tmlp_stats_check_settings cs = tmlp_stats_check_settings_default();
    assert_int_equal(tmlp_stats_sample_describe(x, 20, &cs, TMLP_PCT_LOADGEN, &s, NULL), TMLP_OK);
    assert_true(s.warnings & TMLP_WARN_SLOW_FIRST);
    assert_true(s.warnings & TMLP_WARN_HIGH_CV);
    assert_true(s.warnings & TMLP_WARN_WIDE_CI);
    assert_false(s.warnings & TMLP_WARN_FEW_SAMPLES);
    assert_true(s.p99 == 48.0 && s.p50 == 12.03);
    /* thresholds are parameters */
    cs.max_cv = 10.0;
    cs.max_ci_rel = 10.0;
    assert_int_equal(tmlp_stats_sample_describe(x, 20, &cs, TMLP_PCT_LOADGEN, &s, NULL), TMLP_OK);
    assert_false(s.warnings & (TMLP_WARN_HIGH_CV | TMLP_WARN_WIDE_CI));
    /* one value 1000 among 99 tens: far from the mean (about 9.9 sd), but only 1% outliers */
    double y[100];
    for (int i = 0; i < 100; i++) y[i] = 10.0 + 0.01 * (i % 10);
    y[50] = 1000.0;
    assert_int_equal(tmlp_stats_sample_describe(y, 100, NULL, TMLP_PCT_LOADGEN, &s, NULL), TMLP_OK);
    assert_true(s.warnings & TMLP_WARN_FAR_EXTREMES);
    assert_false(s.warnings & TMLP_WARN_MANY_OUTLIERS);
    assert_false(s.warnings & TMLP_WARN_SLOW_FIRST);
    /* eight such values: many outliers (8% > 5%) */
    for (int i = 0; i < 8; i++) y[10 * i + 3] = 1000.0;
    assert_int_equal(tmlp_stats_sample_describe(y, 100, NULL, TMLP_PCT_LOADGEN, &s, NULL), TMLP_OK);
    assert_true(s.warnings & TMLP_WARN_MANY_OUTLIERS);
    assert_int_equal(s.outliers.n_high_severe, 9);
    for (unsigned i = 0; i < TMLP_WARN_COUNT; i++) {
        assert_string_not_equal(tmlp_stats_warning_name(1u << i), "unknown");
        assert_string_not_equal(tmlp_stats_warning_text(1u << i), "unknown warning");
    }
}

static void test_degenerate_inputs(void **state)
{
    (void)state;
    double one[1] = {3.0}, two[2] = {1.0, 2.0}, nan_in[3] = {1.0, NAN, 2.0};
    tmlp_stats_summary s;
    tmlp_stats_compare_result r;
    tmlp_stats_ttest t;
    double v;
    /* n = 0 */
    assert_int_equal(tmlp_stats_summarize(one, 0, &s, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_stats_compare(one, 0, two, 2, NULL, &r, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_stats_percentile(one, 0, 0.5, TMLP_PCT_LINEAR, &v, NULL), TMLP_ERR_ARG);
    assert_true(isnan(tmlp_stats_percentile_sorted(one, 0, 0.5, TMLP_PCT_LINEAR)));
    assert_int_equal(tmlp_stats_welch(NULL, 1, two, 2, &t, NULL), TMLP_ERR_ARG);
    /* n = 1: sd undefined, flagged */
    assert_int_equal(tmlp_stats_summarize(one, 1, &s, NULL), TMLP_OK);
    assert_true(s.mean == 3.0 && s.median == 3.0 && isnan(s.sd));
    assert_int_equal(tmlp_stats_compare(one, 1, two, 2, NULL, &r, NULL), TMLP_OK);
    assert_int_equal(r.verdict, TMLP_VERDICT_INSUFFICIENT_DATA);
    assert_false(r.welch.defined);
    assert_true(isnan(r.a.ci_mean.low));
    /* n = 2 */
    assert_int_equal(tmlp_stats_welch(two, 2, two, 2, &t, NULL), TMLP_OK);
    assert_true(t.t == 0.0 && t.p_two_sided == 1.0 && t.defined);
    /* NaN in the input is an argument error, not a NaN result */
    assert_int_equal(tmlp_stats_compare(nan_in, 3, two, 2, NULL, &r, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_stats_welch(two, 2, nan_in, 3, &t, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_stats_summarize(nan_in, 3, &s, NULL), TMLP_ERR_ARG);
    double inf_in[2] = {1.0, INFINITY};
    assert_int_equal(tmlp_stats_percentile(inf_in, 2, 0.5, TMLP_PCT_LINEAR, &v, NULL), TMLP_ERR_ARG);
    tmlp_stats_mwu u;
    assert_int_equal(tmlp_stats_mannwhitney(inf_in, 2, two, 2, &u, NULL), TMLP_ERR_ARG);
    /* bad options */
    tmlp_stats_compare_opts o = tmlp_stats_compare_opts_default();
    o.alpha = 0.0;
    assert_int_equal(tmlp_stats_compare(two, 2, two, 2, &o, &r, NULL), TMLP_ERR_ARG);
    /* percentile method names round-trip */
    for (int m = TMLP_PCT_LOADGEN; m <= TMLP_PCT_NEAREST_RANK; m++) {
        tmlp_percentile_method back;
        const char *name = tmlp_percentile_method_name((tmlp_percentile_method)m);
        assert_int_equal(tmlp_percentile_method_parse(name, &back, NULL), TMLP_OK);
        assert_int_equal(back, m);
    }
    tmlp_percentile_method pm;
    assert_int_equal(tmlp_percentile_method_parse("bogus", &pm, NULL), TMLP_ERR_ARG);
    /* special functions on bad arguments: NaN, never a crash */
    assert_true(isnan(tmlp_stats_betainc(-1.0, 1.0, 0.5)));
    assert_true(isnan(tmlp_stats_t_sf(1.0, 0.0)));
    assert_true(isnan(tmlp_stats_t_quantile(1.5, 3.0)));
    assert_true(tmlp_stats_t_quantile(1.0, 3.0) == INFINITY);
    assert_true(tmlp_stats_normal_quantile(0.0) == -INFINITY);
}

static void test_underflowing_p(void **state)
{
    (void)state;
    double a[30], b[30];
    for (int i = 0; i < 30; i++) {
        a[i] = 100.0 + 1e-7 * (i % 7);
        b[i] = 50.0 + 1e-7 * (i % 5);
    }
    tmlp_stats_compare_result r;
    assert_int_equal(tmlp_stats_compare(a, 30, b, 30, NULL, &r, NULL), TMLP_OK);
    assert_true(r.welch.p_two_sided == 0.0); /* underflows to exactly 0: still a result */
    assert_true(r.welch.defined);
    assert_int_equal(r.verdict, TMLP_VERDICT_FASTER);
}

static void test_input_not_modified(void **state)
{
    (void)state;
    double a[7] = {5, 1, 4, 2, 3, 9, 0}, b[7] = {3, 3, 8, 1, 2, 7, 6};
    double a0[7], b0[7];
    memcpy(a0, a, sizeof a);
    memcpy(b0, b, sizeof b);
    tmlp_stats_compare_result r;
    assert_int_equal(tmlp_stats_compare(a, 7, b, 7, NULL, &r, NULL), TMLP_OK);
    assert_memory_equal(a, a0, sizeof a);
    assert_memory_equal(b, b0, sizeof b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faster_and_direction), cmocka_unit_test(test_slower_and_no_change),
        cmocka_unit_test(test_noise_band),           cmocka_unit_test(test_insufficient_data),
        cmocka_unit_test(test_tests_disagree_warning), cmocka_unit_test(test_sample_warnings),
        cmocka_unit_test(test_degenerate_inputs),    cmocka_unit_test(test_underflowing_p),
        cmocka_unit_test(test_input_not_modified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
