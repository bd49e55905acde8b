/* test_regress.c — the regression rule respects each metric's direction, the threshold
 * and significance; the SRM chi-square matches hand-computed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tinymlp/report.h"

#include <math.h>

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

static void test_srm(void **state)
{
    (void)state;
    tmlp_srm_result s;
    /* 0.5 split routed 70/30 over 1000: e = 500/500, X^2 = 200^2/500 * 2 = 160 */
    assert_int_equal(tmlp_srm_check(700, 300, 0.5, 0.001, &s), TMLP_OK);
    assert_float_equal(s.chi2, 160.0, 1e-9);
    assert_true(s.p_value < 1e-30);
    assert_true(s.mismatch);
    /* 510/490: X^2 = 0.4, p = erfc(sqrt(0.2)) = 0.527089 (chi2.sf(0.4, 1) in SciPy) */
    assert_int_equal(tmlp_srm_check(510, 490, 0.5, 0.001, &s), TMLP_OK);
    assert_float_equal(s.chi2, 0.4, 1e-12);
    assert_float_equal(s.p_value, 0.5270892568655381, 1e-9);
    assert_false(s.mismatch);
    /* 0.3 split to B: 700 A / 300 B is exactly on target */
    assert_int_equal(tmlp_srm_check(700, 300, 0.3, 0.001, &s), TMLP_OK);
    assert_float_equal(s.chi2, 0.0, 1e-9);
    assert_int_equal(tmlp_srm_check(0, 0, 0.5, 0.001, &s), TMLP_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_throughput_drop_is_regression),
        cmocka_unit_test(test_latency_increase),
        cmocka_unit_test(test_srm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
