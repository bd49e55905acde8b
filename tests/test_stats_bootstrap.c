/* test_stats_bootstrap.c — the bootstrap is random, so it is tested statistically
 * (stats_vectors.json bootstrap_note): same seed -> same CI; point estimate exactly the
 * sample statistic; on a large near-normal sample the percentile CI of the mean agrees
 * with the t-interval to a few percent of the half-width. Also the distribution-free
 * CI of a percentile (order statistics, exact binomial coverage).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "tinymlp/rng.h"
#include "tinymlp/stats.h"

#define N 2000

static double *normal_sample(uint64_t seed, int64_t n)
{
    tmlp_rng r;
    tmlp_rng_seed(&r, seed);
    double *x = malloc((size_t)n * sizeof(double));
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++) x[i] = 100.0 + 5.0 * tmlp_rng_normal(&r);
    return x;
}

static void test_same_seed_same_ci(void **state)
{
    (void)state;
    double *x = normal_sample(7, 200);
    tmlp_stats_interval a, b, c;
    assert_int_equal(tmlp_stats_bootstrap_ci(x, 200, tmlp_stats_fn_mean, NULL, 1000, 0.95, 42, &a, NULL), TMLP_OK);
    assert_int_equal(tmlp_stats_bootstrap_ci(x, 200, tmlp_stats_fn_mean, NULL, 1000, 0.95, 42, &b, NULL), TMLP_OK);
    assert_int_equal(tmlp_stats_bootstrap_ci(x, 200, tmlp_stats_fn_mean, NULL, 1000, 0.95, 43, &c, NULL), TMLP_OK);
    assert_true(a.low == b.low && a.high == b.high);
    assert_true(a.low != c.low || a.high != c.high);
    assert_true(a.estimate == tmlp_stats_mean(x, 200)); /* exactly the sample statistic */
    assert_true(a.low < a.estimate && a.estimate < a.high);
    free(x);
}

static void test_agrees_with_t_interval(void **state)
{
    (void)state;
    double *x = normal_sample(2024, N);
    tmlp_stats_interval boot, t;
    assert_int_equal(tmlp_stats_ci_mean(x, N, 0.95, &t, NULL), TMLP_OK);
    assert_int_equal(tmlp_stats_bootstrap_ci(x, N, tmlp_stats_fn_mean, NULL, 20000, 0.95, 1, &boot, NULL), TMLP_OK);
    double hw = t.half_width;
    print_message("t-interval [%.5f, %.5f], bootstrap [%.5f, %.5f]: endpoints differ by %.1f%% / %.1f%% of the half-width\n",
                  t.low, t.high, boot.low, boot.high, 100 * fabs(boot.low - t.low) / hw,
                  100 * fabs(boot.high - t.high) / hw);
    assert_true(fabs(boot.low - t.low) < 0.05 * hw);
    assert_true(fabs(boot.high - t.high) < 0.05 * hw);
    free(x);
}

static double median_fn(const double *x, int64_t n, void *user)
{
    (void)user;
    double m;
    return tmlp_stats_percentile(x, n, 0.5, TMLP_PCT_LINEAR, &m, NULL) == TMLP_OK ? m : NAN;
}

static void test_any_statistic(void **state)
{
    (void)state;
    double *x = normal_sample(5, 301);
    tmlp_stats_interval ci;
    assert_int_equal(tmlp_stats_bootstrap_ci(x, 301, median_fn, NULL, 500, 0.90, 3, &ci, NULL), TMLP_OK);
    assert_true(ci.low <= ci.estimate && ci.estimate <= ci.high);
    assert_true(ci.low > 98.0 && ci.high < 102.0);
    assert_int_equal(tmlp_stats_bootstrap_ci(x, 0, median_fn, NULL, 500, 0.9, 3, &ci, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_stats_bootstrap_ci(x, 301, NULL, NULL, 500, 0.9, 3, &ci, NULL), TMLP_ERR_ARG);
    free(x);
}

static void test_percentile_ci_order_statistics(void **state)
{
    (void)state;
    /* n = 100, median, 95%: the classical ranks are 40 and 61 (coverage 0.9648). */
    double s[100];
    for (int i = 0; i < 100; i++) s[i] = i + 1.0;
    tmlp_stats_quantile_ci ci;
    assert_int_equal(tmlp_stats_percentile_ci_sorted(s, 100, 0.5, 0.95, TMLP_PCT_LINEAR, &ci, NULL), TMLP_OK);
    assert_int_equal(ci.low_rank, 40);
    assert_int_equal(ci.high_rank, 61);
    assert_true(fabs(ci.coverage - 0.9647998) < 1e-6);
    assert_true(ci.coverage >= 0.95);
    assert_true(ci.estimate == 50.5);
    /* too few values for a 99% CI of p99: ranks clamp, coverage says what was reached */
    assert_int_equal(tmlp_stats_percentile_ci_sorted(s, 10, 0.99, 0.99, TMLP_PCT_LOADGEN, &ci, NULL), TMLP_OK);
    assert_int_equal(ci.high_rank, 10);
    assert_true(ci.coverage < 0.99);
    /* large n: p99 of 1e5 */
    double *big = malloc(100000 * sizeof(double));
    assert_non_null(big);
    for (int i = 0; i < 100000; i++) big[i] = i;
    assert_int_equal(tmlp_stats_percentile_ci_sorted(big, 100000, 0.99, 0.95, TMLP_PCT_LOADGEN, &ci, NULL), TMLP_OK);
    assert_true(ci.low_rank < 99000 && ci.high_rank > 99000);
    assert_true(ci.coverage >= 0.95 && ci.coverage < 0.96);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_ci),
        cmocka_unit_test(test_agrees_with_t_interval),
        cmocka_unit_test(test_any_statistic),
        cmocka_unit_test(test_percentile_ci_order_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
