/* test_queueing.c — queueing formulas against values computed by hand, and the M/M/c
 * response-time tail against a direct simulation of the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tinymlp/queue.h"
#include "tinymlp/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_erlang_c_hand_values(void **state)
{
    (void)state;
    /* c = 1: P_w = rho. c = 2, a = 1: P0 = 1/(1 + 1 + 1/(2 * 0.5)) = 1/3, P_w = 1/3.
     * c = 3, a = 2: sum = 1 + 2 + 2 = 5, tail = (8/6)/(1/3) = 4, P_w = 4/9. */
    assert_float_equal(tmlp_queue_erlang_c(1, 0.5), 0.5, 1e-12);
    assert_float_equal(tmlp_queue_erlang_c(2, 1.0), 1.0 / 3, 1e-12);
    assert_float_equal(tmlp_queue_erlang_c(3, 2.0), 4.0 / 9, 1e-12);
    /* c = 10, a = 8 (textbook table value 0.4092) */
    assert_float_equal(tmlp_queue_erlang_c(10, 8.0), 0.40918015079644354, 1e-12);
    assert_true(isnan(tmlp_queue_erlang_c(2, 2.0)));
    assert_true(isnan(tmlp_queue_erlang_c(0, 0.5)));
}

static void test_mm1(void **state)
{
    (void)state;
    tmlp_queue_result r;
    /* lambda = 0.5, mu = 1: rho 0.5, Wq = rho/(mu - lambda) = 1, W = 2, T ~ Exp(0.5):
     * p99 = ln(100)/0.5 = 9.2103 */
    assert_int_equal(tmlp_queue_mmc(0.5, 1.0, 1, 0.99, &r, NULL), TMLP_OK);
    assert_float_equal(r.rho, 0.5, 1e-12);
    assert_float_equal(r.p_wait, 0.5, 1e-12);
    assert_float_equal(r.mean_wait_s, 1.0, 1e-12);
    assert_float_equal(r.mean_response_s, 2.0, 1e-12);
    assert_float_equal(r.response_quantile_s, log(100) / 0.5, 1e-6);
}

static void test_mmc(void **state)
{
    (void)state;
    tmlp_queue_result r;
    /* M/M/2, lambda = 1, mu = 1: P_w = 1/3, theta = 1, Wq = 1/3, W = 4/3 */
    assert_int_equal(tmlp_queue_mmc(1.0, 1.0, 2, 0.99, &r, NULL), TMLP_OK);
    assert_float_equal(r.p_wait, 1.0 / 3, 1e-12);
    assert_float_equal(r.mean_wait_s, 1.0 / 3, 1e-12);
    assert_float_equal(r.mean_response_s, 4.0 / 3, 1e-12);
    /* tail (2/3)e^-t + (1/3)(1+t)e^-t = 0.01 at t = 5.66596 (bisection by hand in Python) */
    assert_float_equal(r.response_quantile_s, 5.665960683792997, 1e-6);
    tmlp_error e = {0};
    assert_int_equal(tmlp_queue_mmc(2.0, 1.0, 2, 0.99, &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "utilisation"));
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* FCFS c-server queue with exponential arrivals and service, simulated directly. */
static double simulate_p99(double lambda, double mu, int c, int64_t n, uint64_t seed)
{
    tmlp_rng r;
    tmlp_rng_seed(&r, seed);
    double free_at[8] = {0}, t = 0;
    double *resp = malloc((size_t)n * sizeof *resp);
    for (int64_t i = 0; i < n; i++) {
        t += tmlp_rng_exponential(&r, lambda);
        int k = 0;
        for (int j = 1; j < c; j++)
            if (free_at[j] < free_at[k]) k = j;
        double start = free_at[k] > t ? free_at[k] : t;
        free_at[k] = start + tmlp_rng_exponential(&r, mu);
        resp[i] = free_at[k] - t;
    }
    qsort(resp, (size_t)n, sizeof *resp, cmp);
    double p = resp[(int64_t)(0.99 * (double)n)];
    free(resp);
    return p;
}

static void test_mmc_tail_matches_simulation(void **state)
{
    (void)state;
    tmlp_queue_result r;
    assert_int_equal(tmlp_queue_mmc(1.5, 1.0, 2, 0.99, &r, NULL), TMLP_OK);
    double sim = simulate_p99(1.5, 1.0, 2, 400000, 7);
    assert_float_equal(r.response_quantile_s, 9.709503441786978, 1e-6);
    assert_true(fabs(sim - r.response_quantile_s) / r.response_quantile_s < 0.05);
}

static void test_mgc(void **state)
{
    (void)state;
    tmlp_queue_result r;
    /* M/D/1: every service exactly 1 ms, lambda = 500/s. Allen-Cunneen with Cs^2 = 0 is
     * Pollaczek-Khinchine, exact here: Wq = rho / (2 mu (1 - rho)) = 0.5 ms. */
    int64_t s[100];
    for (int i = 0; i < 100; i++) s[i] = 1000000;
    assert_int_equal(tmlp_queue_mgc(500, s, 100, 1, 0.99, &r, NULL), TMLP_OK);
    assert_float_equal(r.mean_wait_s, 0.0005, 1e-12);
    assert_float_equal(r.mean_response_s, 0.0015, 1e-12);
    /* wait ~ 0 w.p. 0.5, else Exp(mean 1 ms): P(W > x) = 0.5 e^{-x/1ms} = 0.01 at
     * x = ln(50) ms; T = W + 1 ms */
    assert_float_equal(r.response_quantile_s, 0.001 + 0.001 * log(50), 1e-8);
    /* exponential service samples: Cs^2 ~ 1, so M/G/c ~ M/M/c */
    tmlp_rng g;
    tmlp_rng_seed(&g, 3);
    int64_t *e = malloc(20000 * sizeof *e);
    for (int i = 0; i < 20000; i++) e[i] = (int64_t)(tmlp_rng_exponential(&g, 1000.0) * 1e9);
    tmlp_queue_result mm;
    assert_int_equal(tmlp_queue_mgc(1500, e, 20000, 2, 0.99, &r, NULL), TMLP_OK);
    assert_int_equal(tmlp_queue_mmc(1500, 1000, 2, 0.99, &mm, NULL), TMLP_OK);
    assert_true(fabs(r.mean_wait_s - mm.mean_wait_s) / mm.mean_wait_s < 0.06);
    assert_true(fabs(r.response_quantile_s - mm.response_quantile_s) / mm.response_quantile_s < 0.06);
    free(e);
    assert_int_equal(tmlp_queue_mgc(1500, s, 1, 2, 0.99, &r, NULL), TMLP_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_erlang_c_hand_values), cmocka_unit_test(test_mm1),
        cmocka_unit_test(test_mmc), cmocka_unit_test(test_mmc_tail_matches_simulation),
        cmocka_unit_test(test_mgc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
