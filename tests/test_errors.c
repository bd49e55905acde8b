/* test_errors.c — every fallible call reports a message.
 *
 * One row per bad call: the call made with a bad argument, the status it must return, the
 * start of its message (module and call) and a phrase naming the argument and the rule.
 * Each row runs twice: with a tmlp_error as the trailing `err` (status, err.code and
 * message checked) and with err == NULL (the same status).
 * tests/check_api_errors.py checks that every call of its TABLED list has a row here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tinymlp.h"

/* ---- fixtures the rows refer to ---------------------------------------------------- */

static tmlp_model *g_model;     /* dense 4->3, relu, dense 3->2, softmax: four layers */
static tmlp_monitor *g_monitor; /* started, never stopped: no summary, still running */
static tmlp_report *g_report;   /* empty: no table open */

static const double A[3] = {1.0, 2.0, 3.0};
static const double B_NAN[2] = {NAN, 1.0};
static const double B_INF[2] = {1.0, INFINITY};
static const double X_NAN[3] = {1.0, 2.0, NAN};
static const double RUNS_ZERO[2] = {1.0, 0.0};
static const double ONE[1] = {1.0};

static tmlp_percentile_method g_method;
static tmlp_stats_summary g_summary;
static double g_value;
static tmlp_stats_quantile_ci g_qci;
static tmlp_stats_ttest g_ttest;
static tmlp_stats_mwu g_mwu;
static tmlp_stats_interval g_interval;
static tmlp_stats_outliers g_outliers;
static tmlp_stats_sample g_sample;
static tmlp_stats_compare_result g_compare;
static tmlp_stats_compare_opts g_opts_alpha, g_opts_noise;
static tmlp_monitor_summary g_msummary;
static char *g_str;
static tmlp_srm_result g_srm;
static tmlp_regress_runs g_runs;
static double g_adj[3];
static tmlp_layer_info g_layer;
static char g_buf[64];
static tmlp_scenario g_scenario;
static tmlp_mode g_mode;
static tmlp_kernel g_kernel;
static tmlp_precision g_precision;
static const char *const g_cells[1] = {"x"};

/* ---- the table ----------------------------------------------------------------------
 * X(id, call, status, prefix, phrase, arguments...): the row calls
 * call(arguments..., err), once with a tmlp_error and once with NULL. */
#define ERROR_CASES(X)                                                                       \
    /* stats.h */                                                                            \
    X(method_unknown, tmlp_percentile_method_parse, TMLP_ERR_ARG,                            \
      "stats: percentile_method_parse: ", "name \"p95\" is not one of loadgen", "p95",         \
      &g_method)                                                                             \
    X(method_null, tmlp_percentile_method_parse, TMLP_ERR_ARG,                               \
      "stats: percentile_method_parse: ", "name is NULL", NULL, &g_method)                   \
    X(summarize_empty, tmlp_stats_summarize, TMLP_ERR_ARG, "stats: summarize: ",             \
      "x needs >= 1 value, got 0", A, 0, &g_summary)                                         \
    X(summarize_nan, tmlp_stats_summarize, TMLP_ERR_ARG, "stats: summarize: ",               \
      "x[2] is nan, samples must be finite", X_NAN, 3, &g_summary)                           \
    X(percentile_p, tmlp_stats_percentile, TMLP_ERR_ARG, "stats: percentile: ",              \
      "p 1.5 is outside [0, 1]", A, 3, 1.5, TMLP_PCT_LOADGEN, &g_value)                       \
    X(percentile_m, tmlp_stats_percentile, TMLP_ERR_ARG, "stats: percentile: ",              \
      "m 99 is not a tmlp_percentile_method", A, 3, 0.5, (tmlp_percentile_method)99, &g_value) \
    X(pct_ci_level, tmlp_stats_percentile_ci_sorted, TMLP_ERR_ARG,                            \
      "stats: percentile_ci_sorted: ", "level 1 is outside (0, 1)", A, 3, 0.5, 1.0,            \
      TMLP_PCT_LOADGEN, &g_qci)                                                              \
    X(pct_ci_empty, tmlp_stats_percentile_ci_sorted, TMLP_ERR_ARG,                            \
      "stats: percentile_ci_sorted: ", "sorted needs >= 1 value, got 0", A, 0, 0.5, 0.95,      \
      TMLP_PCT_LOADGEN, &g_qci)                                                              \
    X(welch_b_empty, tmlp_stats_welch, TMLP_ERR_ARG, "stats: welch: ",                       \
      "b needs >= 1 value, got 0", A, 3, A, 0, &g_ttest)                                     \
    X(student_a_null, tmlp_stats_student, TMLP_ERR_ARG, "stats: student: ", "a is NULL",     \
      NULL, 3, A, 3, &g_ttest)                                                               \
    X(mwu_b_inf, tmlp_stats_mannwhitney, TMLP_ERR_ARG, "stats: mannwhitney: ",               \
      "b[1] is inf, samples must be finite", A, 3, B_INF, 2, &g_mwu)                         \
    X(ci_mean_one, tmlp_stats_ci_mean, TMLP_ERR_ARG, "stats: ci_mean: ",                     \
      "x needs >= 2 values, got 1", ONE, 1, 0.95, &g_interval)                               \
    X(ci_diff_level, tmlp_stats_ci_mean_diff, TMLP_ERR_ARG, "stats: ci_mean_diff: ",         \
      "level 0 is outside (0, 1)", A, 3, A, 3, 0.0, &g_interval)                             \
    X(ci_rel_empty, tmlp_stats_ci_relative_change, TMLP_ERR_ARG,                             \
      "stats: ci_relative_change: ", "a needs >= 1 value, got 0", A, 0, A, 3, 0.95,          \
      &g_interval)                                                                           \
    X(effect_out, tmlp_stats_effect_size, TMLP_ERR_ARG, "stats: effect_size: ",              \
      "out is NULL", A, 3, A, 3, NULL)                                                       \
    X(outliers_empty, tmlp_stats_outliers_find, TMLP_ERR_ARG, "stats: outliers_find: ",      \
      "x needs >= 1 value, got -1", A, -1, 0.0, &g_outliers)                                 \
    X(boot_resamples, tmlp_stats_bootstrap_ci, TMLP_ERR_ARG, "stats: bootstrap_ci: ",        \
      "resamples needs >= 2, got 1", A, 3, tmlp_stats_fn_mean, NULL, 1, 0.95, 1,             \
      &g_interval)                                                                           \
    X(boot_fn, tmlp_stats_bootstrap_ci, TMLP_ERR_ARG, "stats: bootstrap_ci: ",               \
      "fn is NULL", A, 3, NULL, NULL, 100, 0.95, 1, &g_interval)                             \
    X(describe_null, tmlp_stats_sample_describe, TMLP_ERR_ARG, "stats: sample_describe: ",   \
      "x is NULL", NULL, 3, NULL, TMLP_PCT_LOADGEN, &g_sample)                               \
    X(compare_alpha, tmlp_stats_compare, TMLP_ERR_ARG, "stats: compare: ",                   \
      "opts->alpha 2 is outside (0, 1)", A, 3, A, 3, &g_opts_alpha, &g_compare)             \
    X(compare_noise, tmlp_stats_compare, TMLP_ERR_ARG, "stats: compare: ",                   \
      "opts->noise -1 must be >= 0", A, 3, A, 3, &g_opts_noise, &g_compare)                 \
    X(compare_b_nan, tmlp_stats_compare, TMLP_ERR_ARG, "stats: compare: ",                   \
      "b[0] is nan, samples must be finite", A, 3, B_NAN, 2, NULL, &g_compare)              \
    /* report.h */                                                                           \
    X(summary_early, tmlp_monitor_get_summary, TMLP_ERR_STATE, "monitor: get_summary: ",     \
      "no window has ended yet", g_monitor, &g_msummary)                                     \
    X(summary_null, tmlp_monitor_get_summary, TMLP_ERR_ARG, "monitor: get_summary: ",        \
      "m is NULL", NULL, &g_msummary)                                                        \
    X(trace_running, tmlp_monitor_trace_events, TMLP_ERR_STATE, "monitor: trace_events: ",   \
      "the monitor is running", g_monitor, 1, 0.0, &g_str)                                   \
    X(srm_split, tmlp_srm_check, TMLP_ERR_ARG, "srm: check: ", "split_b 1.5 is outside (0, 1)", \
      10, 10, 1.5, 0.001, &g_srm)                                                            \
    X(srm_negative, tmlp_srm_check, TMLP_ERR_ARG, "srm: check: ", "n_a -1 is negative", -1,  \
      10, 0.5, 0.001, &g_srm)                                                                \
    X(runs_zero, tmlp_regress_compare_runs, TMLP_ERR_ARG, "regress: compare_runs: ",         \
      "cur[1] is 0, values must be finite and > 0", TMLP_LOWER_IS_BETTER, A, 3, RUNS_ZERO, 2, \
      0.05, 0.05, &g_runs)                                                                   \
    X(runs_alpha, tmlp_regress_compare_runs, TMLP_ERR_ARG, "regress: compare_runs: ",        \
      "alpha 0.9 is outside (0, 0.5]", TMLP_LOWER_IS_BETTER, A, 3, A, 3, 0.05, 0.9, &g_runs)  \
    X(holm_negative, tmlp_regress_holm, TMLP_ERR_ARG, "regress: holm: ", "n -1 is negative",  \
      A, -1, g_adj)                                                                          \
    X(holm_null, tmlp_regress_holm, TMLP_ERR_ARG, "regress: holm: ", "p is NULL with n 3",    \
      NULL, 3, g_adj)                                                                        \
    X(heading_level, tmlp_report_heading, TMLP_ERR_ARG, "report: heading: ",                 \
      "level 4 is not 2 or 3", g_report, 4, "Title")                                         \
    X(paragraph_null, tmlp_report_paragraph, TMLP_ERR_ARG, "report: paragraph: ",            \
      "text is NULL", g_report, NULL)                                                        \
    X(bullet_report, tmlp_report_bullet, TMLP_ERR_ARG, "report: bullet: ", "r is NULL", NULL, \
      "item")                                                                                \
    X(code_null, tmlp_report_code, TMLP_ERR_ARG, "report: code: ", "text is NULL", g_report,  \
      NULL)                                                                                  \
    X(table_cols, tmlp_report_table, TMLP_ERR_ARG, "report: table: ",                        \
      "ncols 0 is outside [1, 32]", g_report, 0, g_cells)                                    \
    X(row_no_table, tmlp_report_table_row, TMLP_ERR_STATE, "report: table_row: ",            \
      "no table is open", g_report, g_cells)                                                 \
    X(figure_name, tmlp_report_figure, TMLP_ERR_ARG, "report: figure: ",                     \
      "name \"a/b\" has a character outside [A-Za-z0-9_-]", g_report, "a/b", "caption",      \
      "<svg/>")                                                                              \
    X(render_outputs, tmlp_report_render, TMLP_ERR_ARG, "report: render: ",                  \
      "markdown and html are both NULL", g_report, NULL, NULL)                               \
    /* model.h, bench.h, kernels.h */                                                        \
    X(layer_range, tmlp_model_layer_info, TMLP_ERR_ARG, "model: layer_info: ",               \
      "i 7 is outside [0, 4) (the model has 4 layers)", g_model, 7, &g_layer)                \
    X(layers_cap, tmlp_model_layers_string, TMLP_ERR_ARG, "model: layers_string: ",          \
      "cap is 0", g_model, g_buf, 0)                                                         \
    X(kernel_info_null, tmlp_model_kernel_info, TMLP_ERR_ARG, "model: kernel_info: ",        \
      "info is NULL", g_model, NULL)                                                         \
    X(scenario_unknown, tmlp_scenario_parse, TMLP_ERR_ARG, "bench: scenario_parse: ",        \
      "name \"fast\" is not one of single-stream, multi-stream, server, offline", "fast",    \
      &g_scenario)                                                                           \
    X(mode_null, tmlp_mode_parse, TMLP_ERR_ARG, "bench: mode_parse: ", "name is NULL", NULL, \
      &g_mode)                                                                               \
    X(kernel_unknown, tmlp_kernel_parse, TMLP_ERR_ARG, "kernels: kernel_parse: ",            \
      "name \"gpu\" is not one of auto, scalar, avx2, avx512, blas, neon, neon_dotprod, neon_bf16", "gpu", &g_kernel) \
    X(precision_unknown, tmlp_precision_parse, TMLP_ERR_ARG, "kernels: precision_parse: ",   \
      "name \"fp8\" is not one of auto, f32, bf16, int8", "fp8", &g_precision)

/* The call with `err` last (NULL or a tmlp_error). */
#define DEFINE_CALL(id, call, status, prefix, phrase, ...)                                   \
    static tmlp_status call_##id(tmlp_error *err) { return call(__VA_ARGS__, err); }
ERROR_CASES(DEFINE_CALL)

typedef struct error_case {
    const char *call;   /* the call's name */
    tmlp_status status;
    const char *prefix; /* the message starts with "<module>: <call>: " */
    const char *phrase; /* ... and names the argument and the rule */
    tmlp_status (*run)(tmlp_error *err);
} error_case;

#define ROW(id, call, status, prefix, phrase, ...) {#call, status, prefix, phrase, call_##id},
static const error_case cases[] = {ERROR_CASES(ROW)};

static int setup(void **state)
{
    (void)state;
    const int64_t widths[3] = {4, 3, 2};
    if (tmlp_model_random(widths, 3, 42, NULL, &g_model, NULL) != TMLP_OK) return -1;
    if (tmlp_model_layer_count(g_model) != 4) return -1;
    if (tmlp_monitor_create(50, &g_monitor, NULL) != TMLP_OK) return -1;
    if (tmlp_monitor_start(g_monitor, NULL) != TMLP_OK) return -1;
    if (tmlp_report_create("errors", &g_report, NULL) != TMLP_OK) return -1;
    g_opts_alpha = tmlp_stats_compare_opts_default();
    g_opts_alpha.alpha = 2.0;
    g_opts_noise = tmlp_stats_compare_opts_default();
    g_opts_noise.noise = -1.0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tmlp_report_destroy(g_report);
    tmlp_monitor_destroy(g_monitor);
    tmlp_model_destroy(g_model);
    return 0;
}

static void test_every_bad_call_names_its_argument(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const error_case *c = &cases[i];
        tmlp_error err = {TMLP_OK, "untouched"};
        tmlp_status st = c->run(&err);
        tmlp_status plain = c->run(NULL);
        int ok = st == c->status && err.code == c->status && plain == c->status &&
                 strncmp(err.message, c->prefix, strlen(c->prefix)) == 0 &&
                 strstr(err.message, c->phrase) != NULL;
        if (!ok) {
            print_message("FAIL %s: status %d (want %d), err.code %d, plain %d\n"
                          "     message \"%s\"\n     want \"%s...%s...\"\n",
                          c->call, (int)st, (int)c->status, (int)err.code, (int)plain,
                          err.message, c->prefix, c->phrase);
            failures++;
        }
    }
    print_message("%zu bad calls checked\n", sizeof cases / sizeof cases[0]);
    assert_int_equal(failures, 0);
}

/* On success err is left untouched, as everywhere in the library. */
static void test_success_leaves_err_untouched(void **state)
{
    (void)state;
    tmlp_error err = {TMLP_OK, "untouched"};
    tmlp_stats_summary s;
    assert_int_equal(tmlp_stats_summarize(A, 3, &s, &err), TMLP_OK);
    assert_int_equal(tmlp_model_layer_info(g_model, 2, &g_layer, &err), TMLP_OK);
    assert_int_equal(tmlp_scenario_parse("Offline", &g_scenario, &err), TMLP_OK);
    assert_int_equal(tmlp_report_heading(g_report, 2, "ok", &err), TMLP_OK);
    assert_int_equal(err.code, TMLP_OK);
    assert_string_equal(err.message, "untouched");
}

/* A nested call reports under the caller's names: tmlp_stats_compare runs Welch with a
 * and b swapped, yet a NaN in b is reported as b's. */
static void test_nested_calls_keep_the_callers_names(void **state)
{
    (void)state;
    tmlp_error err;
    assert_int_equal(tmlp_stats_compare(B_NAN, 2, A, 3, NULL, &g_compare, &err), TMLP_ERR_ARG);
    assert_string_equal(err.message, "stats: compare: a[0] is nan, samples must be finite");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_bad_call_names_its_argument),
        cmocka_unit_test(test_success_leaves_err_untouched),
        cmocka_unit_test(test_nested_calls_keep_the_callers_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
