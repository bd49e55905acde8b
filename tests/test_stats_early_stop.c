/* test_stats_early_stop.c — LoadGen early stopping pinned to every value in docs/harness.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tinymlp/stats.h"

static void test_h_pins(void **state)
{
    (void)state;
    assert_int_equal(tmlp_early_stop_h(0.90, 0.99, 0), 44);
    assert_int_equal(tmlp_early_stop_h(0.90, 0.99, 1), 63);
    assert_int_equal(tmlp_early_stop_h(0.99, 0.99, 0), 459);
    assert_int_equal(tmlp_early_stop_h(0.99, 0.99, 1), 661);
}

static void test_min_queries(void **state)
{
    (void)state;
    assert_int_equal(tmlp_early_stop_min_queries(0.90, 0.99), 64);
    assert_int_equal(tmlp_early_stop_min_queries(0.99, 0.99), 662);
}

static void test_server_queries_needed(void **state)
{
    (void)state;
    static const int64_t t[] = {0, 1, 10, 100, 1000};
    static const int64_t need[] = {459, 662, 2010, 12571, 107569};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tmlp_early_stop_server_queries_needed(0.99, 0.99, t[i]), need[i]);
        assert_true(tmlp_early_stop_server_pass(0.99, 0.99, need[i], t[i]));
        assert_false(tmlp_early_stop_server_pass(0.99, 0.99, need[i] - 1, t[i]));
    }
}

static void test_single_stream_estimate_position(void **state)
{
    (void)state;
    assert_int_equal(tmlp_early_stop_overlatency_allowed(0.90, 0.99, 100), 3);
    assert_int_equal(tmlp_early_stop_overlatency_allowed(0.90, 0.99, 1000), 78);
    assert_int_equal(tmlp_early_stop_overlatency_allowed(0.90, 0.99, 10000), 930);
    assert_int_equal(tmlp_early_stop_overlatency_allowed(0.90, 0.99, 63), 0); /* too few */
    assert_int_equal(tmlp_early_stop_overlatency_allowed(0.90, 0.99, 64), 1);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(tmlp_early_stop_h(0.0, 0.99, 1), -1);
    assert_int_equal(tmlp_early_stop_h(1.0, 0.99, 1), -1);
    assert_int_equal(tmlp_early_stop_h(0.9, 1.5, 1), -1);
    assert_int_equal(tmlp_early_stop_h(0.9, 0.99, -1), -1);
    assert_false(tmlp_early_stop_server_pass(0.99, 0.99, 10, 20)); /* t > q */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h_pins),
        cmocka_unit_test(test_min_queries),
        cmocka_unit_test(test_server_queries_needed),
        cmocka_unit_test(test_single_stream_estimate_position),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
