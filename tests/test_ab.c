/* test_ab.c — the A/B router on scripted fake arms with a virtual clock: a B that is 10%
 * slower is detected and named by the compare verdict; the router's split is honest
 * (SRM passes) and a 0.5 split routed 70/30 trips the sample-ratio-mismatch check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tinymlp.h"
#include "tinymlp/ab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vclock {
    uint64_t t;
} vclock;

typedef struct fake_arm {
    vclock *clock;
    double mean_ns, sd_ns;
    tmlp_rng rng;
    int32_t answer_offset; /* prediction = label + offset (0 = always right) */
    const int32_t *labels;
    int64_t calls;
} fake_arm;

static uint64_t vnow(void *u) { return ((vclock *)u)->t; }

/* "Computes" by advancing the virtual clock by a seeded normal service time. */
static tmlp_status fake_infer(void *user, int64_t idx, int32_t *pred)
{
    fake_arm *a = user;
    double d = a->mean_ns + a->sd_ns * tmlp_rng_normal(&a->rng);
    if (d < 1) d = 1;
    a->clock->t += (uint64_t)d;
    *pred = a->labels ? a->labels[idx] + a->answer_offset : 0;
    a->calls++;
    return TMLP_OK;
}

static void run_ab(double split, double b_mean, tmlp_ab_result **out, int32_t *labels)
{
    static vclock clk;
    static fake_arm A, B;
    clk.t = 0;
    A = (fake_arm){&clk, 100000, 5000, {{0}}, 0, labels, 0};
    B = (fake_arm){&clk, b_mean, 5000, {{0}}, 0, labels, 0};
    tmlp_rng_seed(&A.rng, 11);
    tmlp_rng_seed(&B.rng, 12);
    tmlp_ab_settings s = tmlp_ab_settings_default();
    s.split_b = split;
    s.queries = 2000;
    s.warmup_queries = 10;
    s.sample_count = 100;
    s.labels = labels;
    s.now_ns = vnow;
    s.clock_user = &clk;
    tmlp_ab_arm a = {"A", fake_infer, &A}, b = {"B", fake_infer, &B};
    assert_int_equal(tmlp_ab_run(&s, &a, &b, out, NULL), TMLP_OK);
    assert_int_equal(A.calls + B.calls, 2000 + 2 * 10);
}

static double *to_d(const tmlp_ab_arm_result *r)
{
    double *d = malloc((size_t)r->n * sizeof *d);
    for (int64_t i = 0; i < r->n; i++) d[i] = (double)r->latencies_ns[i];
    return d;
}

static void test_b_ten_percent_slower(void **state)
{
    (void)state;
    int32_t labels[100];
    for (int i = 0; i < 100; i++) labels[i] = i % 10;
    tmlp_ab_result *r = NULL;
    run_ab(0.5, 110000, &r, labels);
    const tmlp_ab_arm_result *A = &r->arm[0], *B = &r->arm[1];
    assert_int_equal(A->attempts + B->attempts, 2000);
    assert_int_equal(A->errors + B->errors, 0);
    assert_int_equal(A->correct, A->labeled);
    /* interleaved, not all A then all B: both arms in the first 20 queries, and many
     * switches between arms along the stream */
    int seen[2] = {0, 0};
    for (int k = 0; k < 20; k++) seen[r->route[k]] = 1;
    assert_true(seen[0] && seen[1]);
    int64_t switches = 0;
    for (int64_t k = 1; k < r->queries; k++) switches += r->route[k] != r->route[k - 1];
    assert_true(switches > 800); /* ~1000 expected for a fair coin */
    double *a = to_d(A), *b = to_d(B);
    tmlp_stats_compare_opts o = tmlp_stats_compare_opts_default();
    tmlp_stats_compare_result c;
    assert_int_equal(tmlp_stats_compare(a, A->n, b, B->n, &o, &c, NULL), TMLP_OK);
    assert_int_equal(c.verdict, TMLP_VERDICT_SLOWER);
    assert_true(fabs(c.relative_change.estimate - 0.10) < 0.01);
    assert_true(c.relative_change.low > 0.05 && c.relative_change.high < 0.15);
    char sentence[256];
    tmlp_stats_verdict_sentence(&c, 0.95, sentence, sizeof sentence);
    fprintf(stderr, "  verdict: %s\n", sentence);
    assert_non_null(strstr(sentence, "B is"));
    assert_non_null(strstr(sentence, "slower"));
    tmlp_srm_result srm;
    assert_int_equal(tmlp_srm_check(A->attempts, B->attempts, 0.5, 0.001, &srm, NULL), TMLP_OK);
    assert_false(srm.mismatch);
    free(a);
    free(b);
    tmlp_ab_result_destroy(r);
}

static void test_equal_arms_no_change(void **state)
{
    (void)state;
    tmlp_ab_result *r = NULL;
    run_ab(0.5, 100000, &r, NULL);
    double *a = to_d(&r->arm[0]), *b = to_d(&r->arm[1]);
    tmlp_stats_compare_opts o = tmlp_stats_compare_opts_default();
    tmlp_stats_compare_result c;
    assert_int_equal(tmlp_stats_compare(a, r->arm[0].n, b, r->arm[1].n, &o, &c, NULL), TMLP_OK);
    assert_int_equal(c.verdict, TMLP_VERDICT_NO_CHANGE);
    assert_int_equal(r->arm[0].labeled, 0);
    free(a);
    free(b);
    tmlp_ab_result_destroy(r);
}

static void test_srm_trips_on_skewed_routing(void **state)
{
    (void)state;
    /* the router was asked for 0.5 but (misconfigured) routes 30% to B */
    tmlp_ab_result *r = NULL;
    run_ab(0.3, 100000, &r, NULL);
    int64_t na = r->arm[0].attempts, nb = r->arm[1].attempts;
    fprintf(stderr, "  routed %lld / %lld\n", (long long)na, (long long)nb);
    assert_true(fabs((double)nb / 2000.0 - 0.3) < 0.04);
    tmlp_srm_result srm;
    assert_int_equal(tmlp_srm_check(na, nb, 0.5, 0.001, &srm, NULL), TMLP_OK);
    assert_true(srm.mismatch);
    assert_true(srm.p_value < 1e-10);
    /* against the split it really used, the same counts are fine */
    assert_int_equal(tmlp_srm_check(na, nb, 0.3, 0.001, &srm, NULL), TMLP_OK);
    assert_false(srm.mismatch);
    tmlp_ab_result_destroy(r);
}

static void test_bad_settings(void **state)
{
    (void)state;
    tmlp_ab_settings s = tmlp_ab_settings_default();
    tmlp_ab_arm a = {"A", fake_infer, NULL};
    tmlp_ab_result *r = NULL;
    tmlp_error e = {0};
    s.split_b = 1.0;
    assert_int_equal(tmlp_ab_run(&s, &a, &a, &r, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "split_b"));
    assert_null(r);
    tmlp_ab_result_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b_ten_percent_slower),
        cmocka_unit_test(test_equal_arms_no_change),
        cmocka_unit_test(test_srm_trips_on_skewed_routing),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
