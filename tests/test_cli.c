/* test_cli.c — the option-value parsers every bench_mlp subcommand shares (bench/cli.c).
 *
 * Each parser returns 0 on success and TMLP_EXIT_USAGE (2) after printing one error
 * line; on failure the output variable must be left untouched. Cases: units and bare
 * numbers in the option's unit, k/M suffixes, overflow, negative and empty values, the
 * percentile percent-vs-fraction trap, list parsing, and the human-readable ns format.
 * Also the inputs of the run (tmlp_cli_inputs_*), which every output is checked against,
 * and the getopt_long loop the subcommands share (tmlp_cli_getopt).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../bench/cli.h"

static void test_i64(void **state)
{
    (void)state;
    int64_t v = -7;
    assert_int_equal(tmlp_cli_parse_i64("--n", "42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(tmlp_cli_parse_i64("--n", "10k", 0, INT64_MAX, &v), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(tmlp_cli_parse_i64("--n", "3M", 0, INT64_MAX, &v), 0);
    assert_int_equal(v, 3000000);
    assert_int_equal(tmlp_cli_parse_i64("--n", "0x10", 0, 100, &v), 0);
    assert_int_equal(v, 16);
    v = -7;
    assert_int_equal(tmlp_cli_parse_i64("--n", "101", 0, 100, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64("--n", "-1", 0, 100, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64("--n", "abc", 0, 100, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64("--n", "", 0, 100, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64("--n", "12x", 0, 100, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64("--n", "1.5", 0, 100, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64("--n", "99999999999999999999", 0, INT64_MAX, &v),
                     TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64("--n", "9223372036854776k", 0, INT64_MAX, &v),
                     TMLP_EXIT_USAGE); /* the suffix overflows */
    assert_int_equal(v, -7);
}

static void test_u64(void **state)
{
    (void)state;
    uint64_t v = 5;
    assert_int_equal(tmlp_cli_parse_u64("--seed", "18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(tmlp_cli_parse_u64("--seed", "0x2a", &v), 0);
    assert_true(v == 42);
    v = 5;
    assert_int_equal(tmlp_cli_parse_u64("--seed", "-1", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_u64("--seed", "18446744073709551616", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_u64("--seed", "7 ", &v), TMLP_EXIT_USAGE);
    assert_true(v == 5);
}

static void test_duration(void **state)
{
    (void)state;
    const uint64_t ms = 1000000u;
    uint64_t v = 1;
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "2000", ms, &v), 0);
    assert_true(v == 2000u * ms); /* a bare number is in the option's unit */
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "2s", ms, &v), 0);
    assert_true(v == 2000u * ms);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "250ms", ms, &v), 0);
    assert_true(v == 250u * ms);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "500us", ms, &v), 0);
    assert_true(v == 500000u);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "1.5\xC2\xB5s", ms, &v), 0);
    assert_true(v == 1500u);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "7ns", ms, &v), 0);
    assert_true(v == 7u);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "1min", ms, &v), 0);
    assert_true(v == 60000u * ms);
    v = 1;
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "2sec", ms, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "2 s", ms, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "-5", ms, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "nan", ms, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "1e30s", ms, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_duration_ns("--d", "", ms, &v), TMLP_EXIT_USAGE);
    assert_true(v == 1);
}

static void test_rate(void **state)
{
    (void)state;
    double v = -1;
    assert_int_equal(tmlp_cli_parse_rate("--qps", "2000", &v), 0);
    assert_true(v == 2000.0);
    assert_int_equal(tmlp_cli_parse_rate("--qps", "2.5k", &v), 0);
    assert_true(v == 2500.0);
    assert_int_equal(tmlp_cli_parse_rate("--qps", "2000/s", &v), 0);
    assert_true(v == 2000.0);
    assert_int_equal(tmlp_cli_parse_rate("--qps", "1M/s", &v), 0);
    assert_true(v == 1e6);
    v = -1;
    assert_int_equal(tmlp_cli_parse_rate("--qps", "0", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_rate("--qps", "-5", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_rate("--qps", "5kHz", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_rate("--qps", "inf", &v), TMLP_EXIT_USAGE);
    assert_true(v == -1);
}

static void test_percentile(void **state)
{
    (void)state;
    double v = -1;
    assert_int_equal(tmlp_cli_parse_percentile("--p", "0.99", &v), 0);
    assert_true(v == 0.99);
    assert_int_equal(tmlp_cli_parse_percentile("--p", "99%", &v), 0);
    assert_true(v == 0.99);
    assert_int_equal(tmlp_cli_parse_percentile("--p", "99.9%", &v), 0);
    assert_true(v > 0.998999 && v < 0.999001);
    v = -1;
    /* the trap: 99 meant as a percent */
    assert_int_equal(tmlp_cli_parse_percentile("--p", "99", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_percentile("--p", "1", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_percentile("--p", "0", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_percentile("--p", "100%", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_percentile("--p", "0%", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_percentile("--p", "150", &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_percentile("--p", "0.9x", &v), TMLP_EXIT_USAGE);
    assert_true(v == -1);
}

static void test_list(void **state)
{
    (void)state;
    int64_t v[4] = {0};
    int n = -1;
    assert_int_equal(tmlp_cli_parse_i64_list("--batch", "1,8,32,256", 1, 65536, v, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[3], 256);
    assert_int_equal(tmlp_cli_parse_i64_list("--batch", "7", 1, 65536, v, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0], 7);
    n = -1;
    assert_int_equal(tmlp_cli_parse_i64_list("--batch", "1,2,3,4,5", 1, 9, v, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64_list("--batch", "1,,2", 1, 9, v, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64_list("--batch", "1,", 1, 9, v, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64_list("--batch", "", 1, 9, v, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_i64_list("--batch", "0", 1, 9, v, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(n, -1);
}

/* The one synthetic-spec parser every command's --model goes through. */
static void test_synthetic(void **state)
{
    (void)state;
    int64_t w[4];
    int n = 0;
    assert_int_equal(tmlp_cli_parse_synthetic("synthetic:784x512x10", w, 4, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(w[0], 784);
    assert_int_equal(w[2], 10);
    assert_int_equal(tmlp_cli_parse_synthetic("synthetic:784", w, 4, &n), TMLP_EXIT_USAGE);      /* one width */
    assert_int_equal(tmlp_cli_parse_synthetic("synthetic:1x2x3x4x5", w, 4, &n), TMLP_EXIT_USAGE); /* > cap */
    assert_int_equal(tmlp_cli_parse_synthetic("synthetic:0x4", w, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_synthetic("synthetic:65537x4", w, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_synthetic("synthetic:8,4", w, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_synthetic("synthetic:8x", w, 4, &n), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_synthetic("model.onnx", w, 4, &n), TMLP_EXIT_USAGE);
}

static void test_double(void **state)
{
    (void)state;
    double v = -1;
    assert_int_equal(tmlp_cli_parse_double("--x", "0.5", 0, 1, &v), 0);
    assert_true(v == 0.5);
    v = -1;
    assert_int_equal(tmlp_cli_parse_double("--x", "2", 0, 1, &v), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_parse_double("--x", "0.5s", 0, 1, &v), TMLP_EXIT_USAGE);
    assert_true(v == -1);
}

static void test_fmt_ns(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(tmlp_cli_fmt_ns(812, b, sizeof b), "812 ns");
    assert_string_equal(tmlp_cli_fmt_ns(33100, b, sizeof b), "33.1 \xC2\xB5s");
    assert_string_equal(tmlp_cli_fmt_ns(2050000, b, sizeof b), "2.05 ms");
    assert_string_equal(tmlp_cli_fmt_ns(1.5e9, b, sizeof b), "1.50 s");
    assert_string_equal(tmlp_cli_fmt_ns(999.6, b, sizeof b), "1.00 \xC2\xB5s");
    assert_string_equal(tmlp_cli_fmt_ns(NAN, b, sizeof b), "-");
}

/* The inputs of the run: matched by (device, inode) — the same path, "./" spelling, a
 * symlink, a hard link — when an output opens and when it commits; a new name, "-" and
 * /dev/null are never inputs. */
static void test_inputs(void **state)
{
    (void)state;
    char dir[] = "/tmp/tmlp_test_cli_XXXXXX", in[128], sym[128], hard[128], other[128], out[128];
    assert_non_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/model.bin", dir);
    snprintf(sym, sizeof sym, "%s/sym.bin", dir);
    snprintf(hard, sizeof hard, "%s/hard.bin", dir);
    snprintf(other, sizeof other, "%s/other.bin", dir);
    snprintf(out, sizeof out, "%s/late.bin", dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(symlink(in, sym), 0);
    assert_int_equal(link(in, hard), 0);
    assert_int_equal(tmlp_cli_inputs_check("--output", in), 0);
    tmlp_cli_inputs_add("--model", in);
    tmlp_cli_inputs_add("--data", "synthetic"); /* names no file: ignored */
    assert_int_equal(tmlp_cli_inputs_check("--output", in), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_inputs_check("--output", sym), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_inputs_check("--output", hard), TMLP_EXIT_USAGE);
    assert_int_equal(tmlp_cli_inputs_check("--output", other), 0);
    assert_int_equal(tmlp_cli_inputs_check("--output", "-"), 0);
    assert_int_equal(tmlp_cli_inputs_check("--output", "/dev/null"), 0);
    /* an output opened before its target became an input is refused at commit */
    tmlp_cli_output o;
    assert_int_equal(tmlp_cli_output_open(&o, "--output", out), 0);
    fputs("x", o.f);
    f = fopen(out, "w");
    assert_non_null(f);
    fclose(f);
    int fd = open(out, O_RDONLY);
    assert_true(fd >= 0);
    tmlp_cli_inputs_add_fd("--baseline", fd, out);
    close(fd);
    assert_int_equal(tmlp_cli_output_commit(&o), TMLP_EXIT_USAGE);
    assert_null(o.f);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_size, 0); /* untouched */
    tmlp_cli_inputs_clear();
    assert_int_equal(tmlp_cli_inputs_check("--output", in), 0);
    unlink(in);
    unlink(sym);
    unlink(hard);
    unlink(out);
    assert_int_equal(rmdir(dir), 0);
}

/* tmlp_cli_getopt: options to the callback in order (both "--x v" and "--x=v"), help,
 * a missing value, an unknown option (in the table or not), operands refused or handed back. */
enum { T_NUM = 256, T_FLAG, T_ODD, T_HELP };
static const struct option t_opts[] = {{"num", required_argument, NULL, T_NUM},
                                       {"flag", no_argument, NULL, T_FLAG},
                                       {"odd", no_argument, NULL, T_ODD},
                                       {"help", no_argument, NULL, T_HELP},
                                       {NULL, 0, NULL, 0}};
typedef struct { int64_t num; int flags; } t_ctx;
static int t_option(void *ctx, int c, const char *v)
{
    t_ctx *t = ctx;
    if (c == T_NUM) return tmlp_cli_parse_i64("--num", v, 0, 100, &t->num);
    if (c == T_FLAG) return ++t->flags, 0;
    return -1; /* T_ODD: in the table, not known to the command */
}
static int t_helped;
static void t_help(FILE *f) { (void)f; t_helped++; }
static int t_run(t_ctx *t, int *operands, int n, ...)
{
    char *argv[8] = {"cmd"};
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n && i < 7; i++) argv[i + 1] = va_arg(ap, char *);
    va_end(ap);
    memset(t, 0, sizeof *t);
    return tmlp_cli_getopt(n + 1, argv, "cmd", t_opts, T_HELP, t_help, t_option, t, operands);
}
static void test_getopt(void **state)
{
    (void)state;
    t_ctx t;
    int op = -1;
    assert_int_equal(t_run(&t, NULL, 3, "--num", "7", "--flag"), 0);
    assert_int_equal(t.num, 7);
    assert_int_equal(t.flags, 1);
    assert_int_equal(t_run(&t, NULL, 2, "--num=9", "--flag"), 0);
    assert_int_equal(t.num, 9);
    t_helped = 0;
    assert_int_equal(t_run(&t, NULL, 2, "--flag", "-h"), -1);
    assert_int_equal(t_run(&t, NULL, 1, "--help"), -1);
    assert_int_equal(t_helped, 2);
    assert_int_equal(t_run(&t, NULL, 1, "--num"), TMLP_EXIT_USAGE);
    assert_int_equal(t_run(&t, NULL, 1, "--num=x"), TMLP_EXIT_USAGE);
    assert_int_equal(t_run(&t, NULL, 1, "--bogus"), TMLP_EXIT_USAGE);
    assert_int_equal(t_run(&t, NULL, 1, "--odd"), TMLP_EXIT_USAGE);
    assert_int_equal(t_run(&t, NULL, 2, "--flag", "file"), TMLP_EXIT_USAGE);
    /* operands wanted: permuted behind the options, their index handed back */
    assert_int_equal(t_run(&t, &op, 3, "a", "--flag", "b"), 0);
    assert_int_equal(op, 2);
    assert_int_equal(t.flags, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_i64),        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_duration),   cmocka_unit_test(test_rate),
        cmocka_unit_test(test_percentile), cmocka_unit_test(test_list),
        cmocka_unit_test(test_double),     cmocka_unit_test(test_fmt_ns),
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_synthetic),   cmocka_unit_test(test_getopt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
