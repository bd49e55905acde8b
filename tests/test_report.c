/* test_report.c — the report writer: Markdown and HTML carry the same content, the HTML
 * is self-contained (inline CSS and SVG, no scripts, no external references), text is
 * escaped, and write_dir produces report.md, index.html and one .svg per figure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bench/report_internal.h"
#include "tinymlp/report.h"
#include "tinymlp/svg.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static tmlp_report *sample_report(void)
{
    tmlp_report *r = NULL;
    assert_int_equal(tmlp_report_create("Bench <report>", &r, NULL), TMLP_OK);
    assert_int_equal(tmlp_report_heading(r, 2, "Summary", NULL), TMLP_OK);
    assert_int_equal(tmlp_report_paragraph(r, "p99 is `41.2 us` & valid", NULL), TMLP_OK);
    assert_int_equal(tmlp_report_bullet(r, "one 1", NULL), TMLP_OK);
    assert_int_equal(tmlp_report_bullet(r, "two 2", NULL), TMLP_OK);
    const char *h[3] = {"metric", "value", "a|b"};
    assert_int_equal(tmlp_report_table(r, 3, h, NULL), TMLP_OK);
    const char *row[3] = {"p50", "12.0 us", "x<y"};
    assert_int_equal(tmlp_report_table_row(r, row, NULL), TMLP_OK);
    assert_int_equal(tmlp_report_table_row(r, row, NULL), TMLP_OK);
    int64_t lat[5] = {10, 20, 30, 40, 500};
    char *svg = NULL;
    assert_int_equal(tmlp_svg_latency_histogram(lat, 5, TMLP_PCT_LOADGEN, "h", &svg, NULL), TMLP_OK);
    assert_int_equal(tmlp_report_figure(r, "latency_hist", "Latency histogram", svg, NULL), TMLP_OK);
    assert_int_equal(tmlp_report_figure(r, "../evil", "bad name", svg, NULL), TMLP_ERR_ARG);
    tmlp_report_string_free(svg);
    assert_int_equal(tmlp_report_code(r, "{\"host\": \"x\"}", NULL), TMLP_OK);
    return r;
}

static void test_render(void **state)
{
    (void)state;
    tmlp_report *r = sample_report();
    char *md = NULL, *html = NULL;
    assert_int_equal(tmlp_report_render(r, &md, &html, NULL), TMLP_OK);
    assert_non_null(strstr(md, "# Bench <report>\n"));
    assert_non_null(strstr(md, "## Summary"));
    assert_non_null(strstr(md, "| metric | value | a\\|b |"));
    assert_non_null(strstr(md, "|---|---|---|"));
    assert_non_null(strstr(md, "- one 1\n- two 2\n"));
    assert_non_null(strstr(md, "![Latency histogram](latency_hist.svg)"));
    assert_non_null(strstr(html, "<title>Bench &lt;report&gt;</title>"));
    assert_non_null(strstr(html, "<code>41.2 us</code> &amp; valid"));
    assert_non_null(strstr(html, "<ul>\n<li>one 1</li>\n<li>two 2</li>\n</ul>"));
    assert_non_null(strstr(html, "<td>x&lt;y</td>"));
    assert_non_null(strstr(html, "<style>"));
    assert_non_null(strstr(html, "<svg xmlns"));
    /* self-contained: nothing to fetch, nothing to run */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "src="));
    /* links only to anchors of the page itself (the contents) */
    for (const char *h = strstr(html, "href="); h; h = strstr(h + 5, "href="))
        assert_true(h[5] == '"' && h[6] == '#');
    assert_non_null(strstr(html, "<nav class=\"toc\">"));
    assert_non_null(strstr(html, "<a href=\"#s0\">Summary</a>"));
    assert_non_null(strstr(html, "<h2 id=\"s0\">Summary</h2>"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(md, "{{"));
    assert_null(strstr(html, "{{"));
    assert_null(strstr(md, "TODO"));
    tmlp_report_string_free(md);
    tmlp_report_string_free(html);
    tmlp_report_destroy(r);
    tmlp_report_destroy(NULL);
}

/* write_dir makes the directory (here a new one inside the test's temporary directory,
 * removed with its files by the fixture) and writes the three files into it. */
static void test_write_dir(void **state)
{
    test_tmpdir *tmp = *state;
    tmlp_report *r = sample_report();
    char dir[512], p[1024];
    test_tmpdir_join(tmp, "report", dir, sizeof dir);
    assert_int_equal(tmlp_report_write_dir(r, dir, NULL), TMLP_OK);
    struct stat st;
    static const char *const files[3] = {"report.md", "index.html", "latency_hist.svg"};
    for (int i = 0; i < 3; i++) {
        assert_true(test_path_join(p, sizeof p, dir, files[i]));
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size > 100);
    }
    tmlp_error e = {0};
    assert_int_equal(tmlp_report_write_dir(r, "/proc/nonexistent/dir", &e), TMLP_ERR_IO);
    assert_non_null(strstr(e.message, "/proc/nonexistent/dir"));
    tmlp_report_destroy(r);
}

static void test_table_state(void **state)
{
    (void)state;
    tmlp_report *r = NULL;
    assert_int_equal(tmlp_report_create("t", &r, NULL), TMLP_OK);
    const char *row[1] = {"x"};
    assert_int_equal(tmlp_report_table_row(r, row, NULL), TMLP_ERR_STATE);
    assert_int_equal(tmlp_report_heading(r, 1, "h1 is the title", NULL), TMLP_ERR_ARG);
    tmlp_report_destroy(r);
}

/* tmlp_strbuf_free accepts NULL like every destroy, and an empty buffer */
static void test_strbuf_free(void **state)
{
    (void)state;
    tmlp_strbuf_free(NULL);
    tmlp_strbuf b = {0};
    tmlp_strbuf_free(&b);
    tmlp_strbuf_puts(&b, "x");
    tmlp_strbuf_free(&b);
    assert_null(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        TEST_IN_TMPDIR(test_write_dir),
        cmocka_unit_test(test_table_state),
        cmocka_unit_test(test_strbuf_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
