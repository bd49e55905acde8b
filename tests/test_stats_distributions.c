/* test_stats_distributions.c — the special functions at the edges the reference file
 * does not reach: df up to 1e6, tails down to 1e-273, quantiles at 1e-300, and
 * round trips. Expected values: mpmath 1.2.1 at 40 digits (betainc / ncdf / loggamma),
 * computed for this test and rounded to 20 digits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "tinymlp/stats.h"

static void near(const char *what, double got, double exp, double rel)
{
    double err = fabs(got - exp) / fabs(exp);
    if (!(err <= rel)) {
        print_error("%s: got %.17g expected %.17g (rel err %.3g > %.3g)\n", what, got, exp, err, rel);
        fail();
    }
}

static void test_t_sf_large_df_and_deep_tails(void **state)
{
    (void)state;
    near("sf(1.96, 1e6)", tmlp_stats_t_sf(1.96, 1e6), 0.024998033792634895343, 1e-13);
    near("sf(5, 1e6)", tmlp_stats_t_sf(5.0, 1e6), 2.8669989354453707845e-7, 1e-13);
    near("sf(1, 2.5e5)", tmlp_stats_t_sf(1.0, 2.5e5), 0.15865573787242214793, 1e-13);
    near("sf(36, 3)", tmlp_stats_t_sf(36.0, 3.0), 0.000023568296273062342434, 1e-13);
    near("sf(2000, 120)", tmlp_stats_t_sf(2000.0, 120.0), 1.537852367112137443e-273, 1e-12);
    /* cdf + sf = 1 and symmetry */
    for (double df = 0.7; df < 2e6; df *= 7.3) {
        for (double t = -40; t <= 40; t += 3.7) {
            assert_true(fabs(tmlp_stats_t_cdf(t, df) + tmlp_stats_t_sf(t, df) - 1.0) < 4e-16);
            assert_true(tmlp_stats_t_sf(-t, df) == tmlp_stats_t_cdf(t, df));
        }
    }
    /* infinite df is the normal distribution */
    near("sf(1.5, inf)", tmlp_stats_t_sf(1.5, INFINITY), tmlp_stats_normal_sf(1.5), 1e-15);
}

static void test_quantile_round_trips(void **state)
{
    (void)state;
    static const double dfs[] = {0.5, 1.0, 1.5, 2.0, 3.3, 9.0, 41.5, 1e3, 1e5, 1e6};
    static const double qs[] = {1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999, 0.999999};
    for (size_t i = 0; i < sizeof dfs / sizeof dfs[0]; i++) {
        for (size_t j = 0; j < sizeof qs / sizeof qs[0]; j++) {
            double t = tmlp_stats_t_quantile(qs[j], dfs[i]);
            assert_true(isfinite(t));
            double back = qs[j] < 0.5 ? tmlp_stats_t_cdf(t, dfs[i]) : tmlp_stats_t_sf(t, dfs[i]);
            double target = qs[j] < 0.5 ? qs[j] : 1.0 - qs[j];
            char what[64];
            snprintf(what, sizeof what, "round trip q=%g df=%g", qs[j], dfs[i]);
            near(what, back, target, 1e-12);
        }
    }
    near("t ppf df=1 (tan)", tmlp_stats_t_quantile(0.9, 1.0), tan(0.4 * M_PI), 1e-14);
    near("normal q=1e-300", tmlp_stats_normal_quantile(1e-300), -37.047096299361199237, 1e-14);
    near("normal q=1e-20", tmlp_stats_normal_quantile(1e-20), -9.2623400897984075796, 1e-14);
    near("normal q=1-1e-16", tmlp_stats_normal_quantile(1.0 - 0x1p-53), -tmlp_stats_normal_quantile(0x1p-53), 1e-15);
}

static void test_gamma_helpers(void **state)
{
    (void)state;
    near("lgamma_ratio(1e6, 0.5)", tmlp_stats_lgamma_ratio(1e6, 0.5), 6.9077551539821370521, 1e-15);
    near("lgamma_ratio(3, 2) = log 12", tmlp_stats_lgamma_ratio(3.0, 2.0), log(12.0), 1e-15);
    near("lgamma_ratio(12, 1) = log 12", tmlp_stats_lgamma_ratio(12.0, 1.0), log(12.0), 1e-15);
    /* Hedges' exact J for n_a + n_b = 5 (nu = 3) */
    double a[3] = {1, 2, 4}, b[2] = {3, 7};
    tmlp_stats_effect e;
    assert_int_equal(tmlp_stats_effect_size(a, 3, b, 2, &e, NULL), TMLP_OK);
    near("J(nu=3)", e.hedges_j, 0.72360125455826765936, 1e-14);
}

static void test_betainc_edges(void **state)
{
    (void)state;
    assert_true(tmlp_stats_betainc(2.0, 3.0, 0.0) == 0.0);
    assert_true(tmlp_stats_betainc(2.0, 3.0, 1.0) == 1.0);
    assert_true(isnan(tmlp_stats_betainc(2.0, 3.0, 1.5)));
    assert_true(isnan(tmlp_stats_betainc(0.0, 3.0, 0.5)));
    assert_true(isnan(tmlp_stats_betainc(NAN, 3.0, 0.5)));
    /* I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1, b) = 1 - (1-x)^b */
    near("I(1,1)", tmlp_stats_betainc(1.0, 1.0, 0.3), 0.3, 1e-15);
    near("I(5,1)", tmlp_stats_betainc(5.0, 1.0, 0.7), pow(0.7, 5.0), 1e-14);
    near("I(1,4)", tmlp_stats_betainc(1.0, 4.0, 0.2), 1.0 - pow(0.8, 4.0), 1e-14);
    /* symmetry I_x(a,b) = 1 - I_{1-x}(b,a) on both sides of the switch point */
    for (double x = 0.05; x < 1.0; x += 0.1) {
        double s = tmlp_stats_betainc(7.5, 2.5, x) + tmlp_stats_betainc2(2.5, 7.5, 1.0 - x, x);
        assert_true(fabs(s - 1.0) < 1e-15);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t_sf_large_df_and_deep_tails),
        cmocka_unit_test(test_quantile_round_trips),
        cmocka_unit_test(test_gamma_helpers),
        cmocka_unit_test(test_betainc_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
