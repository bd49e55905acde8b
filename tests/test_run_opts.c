/* test_run_opts.c — the run options of bench_mlp (bench/workload_opts.c): one getopt_long
 * table parsed into a tmlp_run_opts, and the argv of a repetition's fresh process written
 * back from the struct.
 *
 * The invariant under test: parsing tmlp_run_opts_child_argv(o) gives the same workload as
 * o, also when a caller changed o in C after parsing (report's batch sweep and precision),
 * and the child's argv carries no output, format or gate. Also: a caller's own options
 * (report's --output DIR) win over the run option of the same name.
 */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "workload.h"

/* The workload fields of two option sets are equal. */
static void assert_same_workload(const tmlp_run_opts *a, const tmlp_run_opts *b)
{
    assert_string_equal(a->model ? a->model : "", b->model ? b->model : "");
    assert_string_equal(a->layers ? a->layers : "", b->layers ? b->layers : "");
    assert_string_equal(a->data ? a->data : "", b->data ? b->data : "");
    assert_int_equal(a->scenarios, b->scenarios);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->min_duration_ms, b->min_duration_ms);
    assert_int_equal(a->max_duration_ms, b->max_duration_ms);
    assert_int_equal(a->min_queries, b->min_queries);
    assert_int_equal(a->max_queries, b->max_queries);
    assert_int_equal(a->warmup, b->warmup);
    assert_true(a->target_qps == b->target_qps);
    assert_int_equal(a->latency_bound_ns, b->latency_bound_ns);
    assert_true(a->percentile == b->percentile);
    assert_int_equal(a->method, b->method);
    assert_int_equal(a->samples_per_query, b->samples_per_query);
    assert_int_equal(a->n_batches, b->n_batches);
    for (int i = 0; i < a->n_batches; i++) assert_int_equal(a->batches[i], b->batches[i]);
    assert_int_equal(a->workers, b->workers);
    assert_int_equal(a->blas_threads, b->blas_threads);
    assert_int_equal(a->threads, b->threads);
    assert_int_equal(a->sample_seed_set, b->sample_seed_set);
    assert_int_equal(a->sample_seed, b->sample_seed);
    assert_int_equal(a->schedule_seed_set, b->schedule_seed_set);
    assert_int_equal(a->schedule_seed, b->schedule_seed);
    assert_int_equal(a->dispatch, b->dispatch);
    assert_int_equal(a->quick, b->quick);
    assert_true(a->find_peak_min_qps == b->find_peak_min_qps);
    assert_int_equal(a->find_peak_budget_ms, b->find_peak_budget_ms);
    assert_int_equal(a->offline_samples, b->offline_samples);
    assert_true(a->offline_expected_qps == b->offline_expected_qps);
}

/* The child's argv without "bench_mlp run" (what tmlp_cmd_run gets after dispatch) and
 * with the descriptor slot filled; --kernels / --precision, which bench_mlp.c takes out
 * of every command line, are checked and dropped here. back's strings point into the
 * argv, kept in g_child until the next call. */
static char **g_child;
static int child_parse(const tmlp_run_opts *o, tmlp_run_opts *back, const char *kernels, const char *precision)
{
    char **v = NULL;
    free(g_child);
    int slot = -1, done = 0;
    assert_int_equal(tmlp_run_opts_child_argv(o, &v, &slot), 0);
    assert_string_equal(v[0], "bench_mlp");
    assert_string_equal(v[1], "run");
    v[slot] = "3";
    char *args[128];
    int n = 0, saw_k = 0, saw_p = 0;
    for (int i = 1; v[i]; i++) {
        const char *x = v[i];
        assert_true(strcmp(x, "--output") && strcmp(x, "--trace") && strcmp(x, "--baseline") &&
                    strcmp(x, "--format") && strcmp(x, "--summary"));
        if (!strcmp(x, "--kernels") || !strcmp(x, "--precision")) {
            const char *want = x[2] == 'k' ? kernels : precision;
            assert_non_null(want);
            assert_string_equal(v[i + 1], want);
            *(x[2] == 'k' ? &saw_k : &saw_p) = 1;
            i++;
            continue;
        }
        assert_true(n < 127);
        args[n++] = v[i];
    }
    args[n] = NULL;
    assert_int_equal(saw_k, kernels != NULL);
    assert_int_equal(saw_p, precision != NULL);
    int rc = tmlp_run_opts_parse(n, args, back, &done);
    assert_int_equal(done, 0);
    assert_int_equal(back->repeat, 1);
    assert_int_equal(back->quiet, 1);
    assert_int_equal(back->monitor_interval_ms, 0);
    assert_int_equal(back->results_fd, 3);
    g_child = v;
    return rc;
}

static void test_round_trip(void **state)
{
    (void)state;
    char *argv[] = {"bench_mlp", "--model", "synthetic:64x32x10", "--data", "synthetic", "--scenario",
                    "single-stream,server,offline", "--quick", "--min-duration-ms", "250ms", "--max-duration-ms", "3s",
                    "--min-queries", "700", "--max-queries", "5k", "--warmup", "3", "--target-qps", "3000.5",
                    "--latency-bound-ms", "2500us", "--percentile", "95%", "--percentile-method", "linear",
                    "--samples-per-query", "4", "--batch", "1,8,32", "--workers", "2", "--blas-threads", "1",
                    "--threads", "auto", "--sample-seed", "5", "--schedule-seed", "18446744073709551615",
                    "--dispatch", "workers", "--offline-expected-qps", "12345.25", "--repeat", "4",
                    "--repeat-mode", "exec", "--format", "json", "--output", "x.json", "--trace", "t.json",
                    "--raw-latencies", NULL};
    int argc = (int)(sizeof argv / sizeof argv[0]) - 1, done = 0;
    tmlp_run_opts o, back;
    assert_int_equal(tmlp_run_opts_parse(argc, argv, &o, &done), 0);
    assert_int_equal(o.latency_bound_ns, 2500000);
    assert_int_equal(o.threads, 0);
    assert_int_equal(child_parse(&o, &back, NULL, NULL), 0);
    assert_same_workload(&o, &back);
}

/* report's adjustments in C (a batch sweep, the accuracy mode, a precision) reach the child. */
static void test_adjusted_in_c(void **state)
{
    (void)state;
    char *argv[] = {"report", "--model", "synthetic:16x8x4", "--find-peak-min-qps", "100", "--find-peak-budget-ms",
                    "0", NULL};
    int done = 0;
    tmlp_run_opts o, back;
    assert_int_equal(tmlp_run_opts_parse(7, argv, &o, &done), 0);
    static const int64_t sweep[] = {1, 8, 32, 256};
    memcpy(o.batches, sweep, sizeof sweep);
    o.n_batches = 4;
    o.min_duration_ms = 1000;
    o.offline_samples = 77;
    assert_int_equal(child_parse(&o, &back, NULL, NULL), 0);
    assert_same_workload(&o, &back);
    o.mode = TMLP_MODE_ACCURACY;
    o.scenarios = 0;
    o.n_batches = 0;
    o.kernel = TMLP_KERNEL_SCALAR;
    o.precision = TMLP_PRECISION_INT8;
    assert_int_equal(tmlp_run_opts_check(&o), 0);
    assert_int_equal(o.scenarios, 1u << TMLP_SCENARIO_OFFLINE);
    assert_int_equal(child_parse(&o, &back, "scalar", "int8"), 0);
    assert_same_workload(&o, &back);
}

static void test_defaults_and_checks(void **state)
{
    (void)state;
    char *argv[] = {"bench_mlp", NULL};
    int done = 0;
    tmlp_run_opts o, back;
    assert_int_equal(tmlp_run_opts_parse(1, argv, &o, &done), 0);
    assert_int_equal(o.scenarios, 0xFu);
    assert_int_equal(o.n_batches, 1);
    assert_int_equal(o.batches[0], 256);
    assert_int_equal(child_parse(&o, &back, NULL, NULL), 0);
    assert_same_workload(&o, &back);
    char *bad[] = {"bench_mlp", "--threshold", "10%", NULL};
    assert_int_equal(tmlp_run_opts_parse(3, bad, &o, &done), TMLP_EXIT_USAGE);
    char *peak[] = {"bench_mlp", "--mode", "find-peak", "--repeat", "2", NULL};
    assert_int_equal(tmlp_run_opts_parse(5, peak, &o, &done), TMLP_EXIT_USAGE);
    char *help[] = {"bench_mlp", "--help", NULL};
    assert_int_equal(tmlp_run_opts_parse(2, help, &o, &done), 0);
    assert_int_equal(done, 2);
}

/* A caller's options are searched first: report's --output is its directory. */
static const char *g_dir;
static int g_profile;
static int extra_fn(void *user, int val, const char *arg)
{
    (void)user;
    if (val == TMLP_RUN_OPT_EXTRA) g_dir = arg;
    else g_profile = 1;
    return 0;
}

static void test_extra_options(void **state)
{
    (void)state;
    static const struct option extra[] = {{"output", required_argument, NULL, TMLP_RUN_OPT_EXTRA},
                                          {"profile", no_argument, NULL, TMLP_RUN_OPT_EXTRA + 1},
                                          {NULL, 0, NULL, 0}};
    char *argv[] = {"report", "--output", "DIR", "--quick", "--profile", "--batch", "8", NULL};
    int done = 0;
    tmlp_run_opts o;
    assert_int_equal(tmlp_run_opts_parse_with(7, argv, extra, extra_fn, NULL, &o, &done), 0);
    assert_string_equal(g_dir, "DIR");
    assert_int_equal(g_profile, 1);
    assert_null(o.output);
    assert_int_equal(o.quick, 1);
    assert_int_equal(o.batches[0], 8);
    char *unknown[] = {"report", "--bogus", NULL};
    assert_int_equal(tmlp_run_opts_parse_with(2, unknown, extra, extra_fn, NULL, &o, &done), TMLP_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_adjusted_in_c),
        cmocka_unit_test(test_defaults_and_checks),
        cmocka_unit_test(test_extra_options),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_child);
    return rc;
}
