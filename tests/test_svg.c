/* test_svg.c — every plot is well-formed SVG: rsvg-convert renders it to a non-trivial
 * PNG, and its axes cover the data (read from the plot's <desc id="axes">). Also: a long
 * tail gets log latency axes, the server timeline fits its data and notes a bound far
 * above it, labels are XML-escaped, bad arguments are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tinymlp/report.h"
#include "tinymlp/stats.h"
#include "tinymlp/svg.h"
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

/* The data range of axis 'x' or 'y' from <desc id="axes" data-x="lo hi linear|log">, and
 * the axis's latency unit in ns (1, 1e3, 1e6; 0 when it is not a latency axis). */
static void axis_of(const char *svg, char which, double *lo, double *hi, int *logscale, double *unit_ns)
{
    char key[16], scale[16];
    snprintf(key, sizeof key, "data-%c=\"", which);
    const char *p = strstr(svg, key);
    assert_non_null(p);
    assert_int_equal(sscanf(p + strlen(key), "%lf %lf %15[a-z]", lo, hi, scale), 3);
    *logscale = !strcmp(scale, "log");
    /* the axis names follow in the desc text: "axes: x NAME, y NAME" */
    const char *d = strstr(p, ">axes: x ");
    assert_non_null(d);
    const char *name = which == 'x' ? d + 9 : strstr(d, ", y ") + 4;
    *unit_ns = 0;
    if (!strncmp(name, "latency (ns", 11)) *unit_ns = 1;
    else if (!strncmp(name, "latency (\xC2\xB5s", 12)) *unit_ns = 1e3;
    else if (!strncmp(name, "latency (ms", 11)) *unit_ns = 1e6;
}

/* The latency axis `which` of svg covers [min, max] of v (the histogram may put values
 * past its axis into a labelled tail bar instead). */
static void assert_latency_axis_covers(const char *svg, char which, const int64_t *v, int64_t n, int tail_ok)
{
    double lo, hi, u;
    int lg;
    axis_of(svg, which, &lo, &hi, &lg, &u);
    assert_true(u > 0);
    int64_t mn = v[0], mx = v[0];
    for (int64_t i = 0; i < n; i++) {
        if (v[i] < mn) mn = v[i];
        if (v[i] > mx) mx = v[i];
    }
    assert_true(lo * u <= (double)mn * (1 + 1e-12));
    if (!(hi * u >= (double)mx * (1 - 1e-12))) {
        if (!tail_ok || !strstr(svg, "tail &gt;")) fail_msg("axis [%g, %g] x %g ns misses max %lld", lo, hi, u, (long long)mx);
    }
    if (lg) assert_true(lo > 0);
}

/* The case: a 13-60 us body with a 30% mode near 15 us, and a 512 us tail. */
static int64_t *body_and_tail(int64_t n)
{
    int64_t *v = malloc((size_t)n * sizeof *v);
    tmlp_rng r;
    tmlp_rng_seed(&r, 7);
    for (int64_t i = 0; i < n; i++) {
        double u = tmlp_rng_uniform(&r);
        v[i] = u < 0.3 ? 15000 + (int64_t)(1000 * tmlp_rng_uniform(&r))
                       : 13000 + (int64_t)(47000 * tmlp_rng_uniform(&r));
        if (i % 500 == 7) v[i] = 512000;
    }
    return v;
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
    /* a body with 4 slow queries (fewer than 0.1%): a linear axis and a tail bar */
    for (int64_t i = 0; i < 5000; i++)
        if (v[i] > 120000) v[i] = 120000;
    for (int64_t i = 0; i < 4; i++) v[i * 1000] = 2000000;
    char *svg = NULL;
    assert_int_equal(tmlp_svg_latency_histogram(v, 5000, TMLP_PCT_LOADGEN, "Latency <histogram> & \"tail\"", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "&lt;histogram&gt; &amp; &quot;tail&quot;"));
    assert_non_null(strstr(svg, "p99"));
    assert_non_null(strstr(svg, "latency (\xC2\xB5s)"));
    assert_latency_axis_covers(svg, 'x', v, 5000, 1);
    assert_renders(tmp, svg, "hist");
    tmlp_report_string_free(svg);
    /* a long tail (p99 > 3 x p50) switches to a log-scale x axis */
    for (int64_t i = 0; i < 5000; i++)
        if (i % 20 == 0) v[i] *= 10;
    assert_int_equal(tmlp_svg_latency_histogram(v, 5000, TMLP_PCT_LOADGEN, "Long tail", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "log scale"));
    assert_latency_axis_covers(svg, 'x', v, 5000, 0);
    assert_renders(tmp, svg, "hist_log");
    tmlp_report_string_free(svg);
    /* one value: degenerate range still renders */
    assert_int_equal(tmlp_svg_latency_histogram(v, 1, TMLP_PCT_LOADGEN, NULL, &svg, NULL), TMLP_OK);
    assert_renders(tmp, svg, "hist1");
    tmlp_report_string_free(svg);
    free(v);
}

static void test_cdf(void **state)
{
    test_tmpdir *tmp = *state;
    int64_t *v = fake_latencies(20000, 2);
    char *svg = NULL;
    assert_int_equal(tmlp_svg_latency_cdf(v, 20000, TMLP_PCT_LOADGEN, "CDF", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, ">99.9<"));
    assert_latency_axis_covers(svg, 'x', v, 20000, 0);
    assert_renders(tmp, svg, "cdf");
    tmlp_report_string_free(svg);
    free(v);
    /* p99.9 / p50 large (a 512 us tail on a 13-60 us body): log-scale x, covering both */
    int64_t n = 20000;
    v = body_and_tail(n);
    assert_int_equal(tmlp_svg_latency_cdf(v, n, TMLP_PCT_LOADGEN, "CDF, long tail", &svg, NULL), TMLP_OK);
    double lo, hi, u;
    int lg;
    axis_of(svg, 'x', &lo, &hi, &lg, &u);
    assert_true(lg);
    assert_non_null(strstr(svg, "log scale"));
    assert_latency_axis_covers(svg, 'x', v, n, 0);
    assert_renders(tmp, svg, "cdf_log");
    tmlp_report_string_free(svg);
    /* and the histogram of the same data */
    assert_int_equal(tmlp_svg_latency_histogram(v, n, TMLP_PCT_LOADGEN, "Histogram, long tail", &svg, NULL), TMLP_OK);
    axis_of(svg, 'x', &lo, &hi, &lg, &u);
    assert_true(lg);
    assert_latency_axis_covers(svg, 'x', v, n, 0);
    assert_renders(tmp, svg, "hist_long_tail");
    tmlp_report_string_free(svg);
    /* a narrow distribution stays linear */
    for (int64_t i = 0; i < n; i++) v[i] = 40000 + i % 1000;
    assert_int_equal(tmlp_svg_latency_cdf(v, n, TMLP_PCT_LOADGEN, "CDF, narrow", &svg, NULL), TMLP_OK);
    axis_of(svg, 'x', &lo, &hi, &lg, &u);
    assert_false(lg);
    assert_latency_axis_covers(svg, 'x', v, n, 0);
    assert_renders(tmp, svg, "cdf_linear");
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
    assert_null(strstr(svg, "above this axis"));  /* 100 us is inside the data's range: drawn */
    assert_latency_axis_covers(svg, 'y', v, n, 0);
    double lo, hi, u;
    int lg;
    axis_of(svg, 'x', &lo, &hi, &lg, &u);
    assert_true(lo <= 0 && hi >= (double)t[n - 1] / 1e9);
    assert_renders(tmp, svg, "timeline");
    tmlp_report_string_free(svg);
    /* the case: p99 ~0.5 ms under a 10 ms bound. The axis fits the data (not the
     * bound), and the bound is noted in words. */
    for (int64_t i = 0; i < n; i++) v[i] = 200000 + (i * 7919) % 350000;
    assert_int_equal(tmlp_svg_latency_timeline(t, v, n, 10000000, "Server, far bound", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "latency bound 10.0 ms is above this axis"));
    axis_of(svg, 'y', &lo, &hi, &lg, &u);
    assert_true(hi * u < 1e6); /* under 1 ms: the data fill the plot */
    assert_latency_axis_covers(svg, 'y', v, n, 0);
    assert_renders(tmp, svg, "timeline_far_bound");
    tmlp_report_string_free(svg);
    free(v);
    /* many queries: drawn as buckets, no start times */
    v = fake_latencies(50000, 4);
    assert_int_equal(tmlp_svg_latency_timeline(NULL, v, 50000, 0, "Buckets", &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "query (issue order)"));
    assert_latency_axis_covers(svg, 'y', v, 50000, 0);
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
    {
        double lo, hi, u;
        int lg;
        axis_of(svg, 'x', &lo, &hi, &lg, &u);
        assert_true(lo <= 1 && hi >= 256);
        axis_of(svg, 'y', &lo, &hi, &lg, &u);
        assert_true(lo <= 20 && hi >= 540); /* thousand samples/s */
    }
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
    assert_int_equal(tmlp_svg_latency_cdf(v, 0, TMLP_PCT_LOADGEN, NULL, &svg, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_svg_latency_cdf(v, 2, TMLP_PCT_LOADGEN, NULL, &svg, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_svg_latency_histogram(NULL, 2, TMLP_PCT_LOADGEN, NULL, &svg, NULL), TMLP_ERR_ARG);
    assert_null(svg);
}

/* The markers follow the run's percentile method, by the library's one rule: over
 * {100, 200} ns LoadGen's p50 is sorted[floor(2 x 0.5)] = 200 ns, linear's 150 ns. */
static void test_marker_method(void **state)
{
    (void)state;
    const int64_t v[2] = {100, 200};
    char *svg = NULL;
    assert_int_equal(tmlp_svg_latency_histogram(v, 2, TMLP_PCT_LOADGEN, NULL, &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "p50 = 200"));
    tmlp_report_string_free(svg);
    assert_int_equal(tmlp_svg_latency_histogram(v, 2, TMLP_PCT_LINEAR, NULL, &svg, NULL), TMLP_OK);
    assert_non_null(strstr(svg, "p50 = 150"));
    tmlp_report_string_free(svg);
    /* the int64 and double forms agree for every method and p */
    const int64_t w[7] = {1, 3, 3, 8, 20, 21, 400};
    const double d[7] = {1, 3, 3, 8, 20, 21, 400};
    for (int m = TMLP_PCT_LOADGEN; m <= TMLP_PCT_NEAREST_RANK; m++)
        for (double p = 0; p <= 1.0; p += 0.05)
            assert_true(tmlp_stats_percentile_sorted_i64(w, 7, p, (tmlp_percentile_method)m) ==
                        tmlp_stats_percentile_sorted(d, 7, p, (tmlp_percentile_method)m));
    int64_t lo, hi;
    double t;
    assert_int_equal(tmlp_stats_percentile_rank(0, 0.5, TMLP_PCT_LOADGEN, &lo, &hi, &t), 0);
    assert_int_equal(tmlp_stats_percentile_rank(4, 0.5, TMLP_PCT_LINEAR, &lo, &hi, &t), 1);
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 2);
    assert_true(t == 0.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram), cmocka_unit_test(test_cdf),    cmocka_unit_test(test_timeline),
        cmocka_unit_test(test_throughput), cmocka_unit_test(test_layers), cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_marker_method),
    };
    return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
