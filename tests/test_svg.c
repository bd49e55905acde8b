/* test_svg.c — every plot is well-formed SVG: rsvg-convert renders it to a non-trivial
 * PNG. Also: labels are XML-escaped, bad arguments are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tinymlp/report.h"
#include "tinymlp/rng.h"
#include "tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int have_rsvg(void) { return system("command -v rsvg-convert >/dev/null 2>&1") == 0; }

/* Render svg to PNG in the group's temporary directory (<name>.svg, <name>.png); assert
 * exit status 0 and a PNG of more than 2 kB. TMLP_KEEP_SVG=1 in the environment keeps the
 * directory to look at the plots (its path is printed at the end). */
static void assert_renders(test_tmpdir *tmp, const char *svg, const char *name)
{
    char file[128], svgp[512], pngp[512], cmd[1100];
    snprintf(file, sizeof file, "%s.svg", name);
    test_tmpdir_join(tmp, file, svgp, sizeof svgp);
    snprintf(file, sizeof file, "%s.png", name);
    test_tmpdir_join(tmp, file, pngp, sizeof pngp);
    if (getenv("TMLP_KEEP_SVG")) tmp->keep = 1;
    assert_int_equal(tmlp_report_write_file(svgp, svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "</svg>"));
    if (!have_rsvg()) {
        fprintf(stderr, "  (rsvg-convert not found: %s not rendered)\n", name);
        return;
    }
    snprintf(cmd, sizeof cmd, "rsvg-convert -o %s %s", pngp, svgp);
    assert_int_equal(system(cmd), 0);
    struct stat st;
    assert_int_equal(stat(pngp, &st), 0);
    assert_true(st.st_size > 2000);
    FILE *f = fopen(pngp, "rb");
    assert_non_null(f);
    unsigned char sig[8];
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
}

/* Lognormal-ish latencies around 40 us with a slow tail. */
static int64_t *fake_latencies(int64_t n, uint64_t seed)
{
    int64_t *v = malloc((size_t)n * sizeof *v);
    tmlp_rng r;
    tmlp_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        double x = 40000.0 * exp(0.25 * tmlp_rng_normal(&r));
        if (tmlp_rng_uniform(&r) < 0.003) x *= 20;
        v[i] = (int64_t)x;
    }
    return v;
}

static void test_histogram(void **state)
{
    test_tmpdir *tmp = *state;
    int64_t *v = fake_latencies(5000, 1);
    char *svg = NULL;
    assert_int_equal(tmlp_svg_latency_histogram(v, 5000, "Latency <histogram> & \"tail\"", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "&lt;histogram&gt; &amp; &quot;tail&quot;"));
    assert_non_null(strstr(svg, "p99"));
    assert_non_null(strstr(svg, "latency (\xC2\xB5s)"));
    assert_renders(tmp, svg, "hist");
    tmlp_report_string_free(svg);
    /* a long tail (p99 > 3 x p50) switches to a log-scale x axis */
    for (int64_t i = 0; i < 5000; i++)
        if (i % 20 == 0) v[i] *= 10;
    assert_int_equal(tmlp_svg_latency_histogram(v, 5000, "Long tail", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "log scale"));
    assert_renders(tmp, svg, "hist_log");
    tmlp_report_string_free(svg);
    /* one value: degenerate range still renders */
    assert_int_equal(tmlp_svg_latency_histogram(v, 1, NULL, &svg, NULL), TMLP_OK);
    assert_renders(tmp, svg, "hist1");
    tmlp_report_string_free(svg);
    free(v);
}

static void test_cdf(void **state)
{
    test_tmpdir *tmp = *state;
    int64_t *v = fake_latencies(20000, 2);
    char *svg = NULL;
    assert_int_equal(tmlp_svg_latency_cdf(v, 20000, "CDF", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, ">99.9<"));
    assert_renders(tmp, svg, "cdf");
    tmlp_report_string_free(svg);
    free(v);
}

static void test_timeline(void **state)
{
    test_tmpdir *tmp = *state;
    int64_t n = 3000;
    int64_t *v = fake_latencies(n, 3), *t = malloc((size_t)n * sizeof *t);
    for (int64_t i = 0; i < n; i++) t[i] = i * 1000000;
    char *svg = NULL;
    assert_int_equal(tmlp_svg_latency_timeline(t, v, n, 100000, "Server", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "latency bound"));
    assert_renders(tmp, svg, "timeline");
    tmlp_report_string_free(svg);
    free(v);
    /* many queries: drawn as buckets, no start times */
    v = fake_latencies(50000, 4);
    assert_int_equal(tmlp_svg_latency_timeline(NULL, v, 50000, 0, "Buckets", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "query (issue order)"));
    assert_renders(tmp, svg, "timeline_buckets");
    tmlp_report_string_free(svg);
    free(v);
    free(t);
}

static void test_throughput(void **state)
{
    test_tmpdir *tmp = *state;
    int64_t b[6] = {1, 2, 8, 32, 128, 256};
    double q[6] = {20000, 35000, 90000, 300000, 500000, 540000};
    char *svg = NULL;
    assert_int_equal(tmlp_svg_throughput_batch(b, q, 6, "Offline", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "thousand samples/s"));
    assert_renders(tmp, svg, "throughput");
    tmlp_report_string_free(svg);
    q[2] = -1;
    tmlp_error e = {0};
    assert_int_equal(tmlp_svg_throughput_batch(b, q, 6, "x", &svg, &e), TMLP_ERR_ARG);
    assert_non_null(strstr(e.message, "point 2"));
}

static void test_layers(void **state)
{
    test_tmpdir *tmp = *state;
    const char *names[4] = {"0 linear 784->512", "1 relu", "2 linear 512->10", "3 softmax"};
    double t[4] = {31000, 0, 900, 150};
    char *svg = NULL;
    assert_int_equal(tmlp_svg_layer_breakdown(names, t, 4, "Layers", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "784-&gt;512"));
    assert_non_null(strstr(svg, "%)"));
    assert_renders(tmp, svg, "layers");
    tmlp_report_string_free(svg);
}

static void test_bad_args(void **state)
{
    (void)state;
    char *svg = NULL;
    int64_t v[2] = {5, -1};
    assert_int_equal(tmlp_svg_latency_cdf(v, 0, NULL, &svg, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_svg_latency_cdf(v, 2, NULL, &svg, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_svg_latency_histogram(NULL, 2, NULL, &svg, NULL), TMLP_ERR_ARG);
    assert_null(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram), cmocka_unit_test(test_cdf),    cmocka_unit_test(test_timeline),
        cmocka_unit_test(test_throughput), cmocka_unit_test(test_layers), cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
