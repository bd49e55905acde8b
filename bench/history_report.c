/* history_report.c — reading the history: `history trend` and `history gate`.
 *
 * Both work on COMPARABLE runs: runs of the database with the same workload key as a
 * reference (history_db.h) that the comparability guard of `regress` accepts
 * (tmlp_comparable_differences, comparable.c) — a trend or a gate across different
 * workloads would show the workload change, not the system's.
 *
 * trend: one point per run, the median of its repetitions, with the between-repetition
 *   spread (min..max and CV); change points by binary segmentation with run-level t-tests
 *   on logs and a Bonferroni bound (history_trend.h). Text on stdout; --svg FILE a line
 *   chart; --html DIR a report (tmlp_report_*) with the table and the chart.
 * gate: the new result against the last N comparable runs, by THE run-level rule of
 *   `regress` (tmlp_regress_docs: the guard, Welch on logs, noise floor, Holm over the
 *   metrics): the baseline document is the newest comparable run's guard view (context,
 *   settings, digests) with the per-repetition figures of all N runs pooled as its
 *   repetitions. Exit 3 regression, 0 none, 2 when nothing comparable is recorded.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "history.h"
#include "history_db.h"
#include "history_trend.h"
#include "reports_util.h"

enum { OPT_METRIC = 256, OPT_WORKLOAD, OPT_ALPHA, OPT_SVG, OPT_HTML, OPT_LAST, OPT_THRESHOLD, OPT_HELP, OPT_QUICK };

static int sql_fail(tmlp_history *h)
{
    tmlp_cli_error("history: %s: %s", h->path, sqlite3_errmsg(h->db));
    return TMLP_EXIT_RUNTIME;
}

/* Does some run label of a appear in b? */
static int shares_label(const cJSON *a, const cJSON *b)
{
    const cJSON *x, *y;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(a, "runs")) {
        const char *la = ru_str(x, "label");
        cJSON_ArrayForEach(y, cJSON_GetObjectItemCaseSensitive(b, "runs")) {
            const char *lb = ru_str(y, "label");
            if (la && lb && !strcmp(la, lb)) return 1;
        }
    }
    return 0;
}

/* The runs comparable with `ref` (a results document or a guard view): ids into ids[]
 * (at most cap, in the order of `order`: "ASC" or "DESC"), and the guard of the first one
 * taken into *first (caller deletes; may be NULL). `skip_hash` (may be NULL) excludes the
 * run recorded from that very document. Returns the count, or -1 after an error line. */
static int comparable_runs(tmlp_history *h, const cJSON *ref, const char *skip_hash, const char *order, int64_t *ids,
                           int cap, cJSON **first)
{
    char key[17], sql[160];
    tmlp_history_workload_key(ref, key);
    snprintf(sql, sizeof sql, "SELECT id, guard FROM runs WHERE workload_key = ? AND doc_hash <> ? ORDER BY id %s",
             order);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) return sql_fail(h), -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, skip_hash ? skip_hash : "", -1, SQLITE_TRANSIENT);
    int n = 0, rc = SQLITE_DONE;
    if (first) *first = NULL;
    while (n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *g = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
        if (g && tmlp_comparable_differences(g, ref) == 0 && shares_label(g, ref)) {
            ids[n++] = sqlite3_column_int64(st, 0);
            if (first && !*first) {
                *first = g;
                g = NULL;
            }
        }
        cJSON_Delete(g);
    }
    sqlite3_finalize(st);
    if (n < cap && rc != SQLITE_DONE) return sql_fail(h), -1;
    return n;
}

/* ===== trend ============================================================================ */

#define TREND_MAX_RUNS 100000

typedef struct trend_point {
    int64_t id;
    char time[24], git[48];
    double median, lo, hi, cv;
    int n;
} trend_point;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A run's point: the median of its repetitions' values, their range and CV. 0 if none. */
static int run_point(tmlp_history *h, int64_t id, const char *label, const char *metric, trend_point *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h->db, "SELECT r.time, r.git, m.value FROM runs r JOIN metrics m ON m.run_id = r.id "
                                  "WHERE r.id = ? AND m.label = ? AND m.metric = ? ORDER BY m.repetition",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_TRANSIENT);
    double v[TMLP_MAX_REPEAT];
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < TMLP_MAX_REPEAT) {
        if (!n) {
            snprintf(p->time, sizeof p->time, "%s", (const char *)sqlite3_column_text(st, 0));
            snprintf(p->git, sizeof p->git, "%s", (const char *)sqlite3_column_text(st, 1));
        }
        v[n++] = sqlite3_column_double(st, 2);
    }
    sqlite3_finalize(st);
    if (!n) return 0;
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    p->id = id;
    p->n = n;
    p->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    p->lo = v[0];
    p->hi = v[n - 1];
    p->cv = n >= 2 ? sqrt(tmlp_stats_variance(v, n)) / tmlp_stats_mean(v, n) : NAN;
    return 1;
}

/* The reference run of a trend: the newest run with this metric (of workload `wl`). */
static cJSON *trend_reference(tmlp_history *h, const char *label, const char *metric, const char *wl)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h->db, "SELECT guard FROM runs r WHERE (?3 IS NULL OR r.workload_key = ?3) AND EXISTS "
                                  "(SELECT 1 FROM metrics m WHERE m.run_id = r.id AND m.label = ?1 AND m.metric = ?2) "
                                  "ORDER BY r.id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_TRANSIENT);
    if (wl) sqlite3_bind_text(st, 3, wl, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 3);
    cJSON *g = sqlite3_step(st) == SQLITE_ROW ? cJSON_Parse((const char *)sqlite3_column_text(st, 0)) : NULL;
    sqlite3_finalize(st);
    return g;
}

static void fmt_metric(char *buf, size_t cap, const char *metric, double v)
{
    if (isnan(v)) snprintf(buf, cap, "-");
    else if (!strcmp(metric, "throughput")) snprintf(buf, cap, v >= 100 ? "%.0f/s" : "%.3g/s", v);
    else if (!strcmp(metric, "accuracy")) snprintf(buf, cap, "%.4f", v);
    else tmlp_cli_fmt_ns(v, buf, cap);
}

/* XML text: & < > " escaped. */
static void svg_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

/* The chart: one point per run (median) with its min..max bar, the level of each segment
 * between change points as a horizontal line, and a dashed line at each change point. */
static char *trend_svg(const trend_point *p, int n, const tmlp_changepoint *cp, int ncp, const char *title,
                       const char *metric)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    const double W = 720, H = 420, L = 90, R = 20, T = 40, B = 60;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        lo = fmin(lo, p[i].lo);
        hi = fmax(hi, p[i].hi);
    }
    double pad = hi > lo ? 0.08 * (hi - lo) : fmax(fabs(hi) * 0.05, 1);
    lo -= pad;
    hi += pad;
#define X(i) (L + (n > 1 ? (double)(i) / (n - 1) : 0.5) * (W - L - R))
#define Y(v) (T + (hi - (v)) / (hi - lo) * (H - T - B))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fputs("<text x=\"360\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">", f);
    svg_text(f, title);
    fputs("</text>\n", f);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", L, T, L, H - B);
    for (int k = 0; k <= 4; k++) { /* five y ticks */
        double v = lo + (hi - lo) * k / 4;
        char t[32];
        fmt_metric(t, sizeof t, metric, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                L, Y(v), W - R, Y(v), L - 6, Y(v) + 4, t);
    }
    int step = n > 12 ? (n + 11) / 12 : 1; /* at most ~12 x labels */
    for (int i = 0; i < n; i += step)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%" PRId64 "</text>\n", X(i), H - B + 16, p[i].id);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">run id (recording order)</text>\n", (L + W - R) / 2,
            H - 18);
    for (int i = 0; i < n; i++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#89a\" stroke-width=\"2\"/>\n", X(i),
                Y(p[i].lo), X(i), Y(p[i].hi));
    fputs("<polyline fill=\"none\" stroke=\"#246\" points=\"", f);
    for (int i = 0; i < n; i++) fprintf(f, "%.1f,%.1f ", X(i), Y(p[i].median));
    fputs("\"/>\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#246\"/>\n", X(i), Y(p[i].median));
    /* segment levels: geometric mean of the medians between change points */
    for (int s = 0, a = 0; s <= ncp; s++) {
        int b = s < ncp ? cp[s].index : n;
        double lm = 0;
        for (int i = a; i < b; i++) lm += log(p[i].median) / (b - a);
        if (b > a)
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c60\" stroke-width=\"2\" "
                       "opacity=\"0.7\"/>\n", X(a), Y(exp(lm)), X(b - 1), Y(exp(lm)));
        a = b;
    }
    for (int s = 0; s < ncp; s++) {
        double x = 0.5 * (X(cp[s].index - 1) + X(cp[s].index));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c00\" stroke-dasharray=\"5,4\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\" text-anchor=\"middle\">%+.1f%%</text>\n",
                x, T, x, H - B, x, T + 12, 100 * cp[s].rel_change);
    }
#undef X
#undef Y
    fputs("</svg>\n", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static const char *method_text =
    "Each point is one recorded run: the median of its repetitions, the bar their range. Change points: binary "
    "segmentation; in each segment the split with the largest run-level t statistic (Student's, on log values; at "
    "least 3 runs a side) is a change point when its p, Bonferroni-corrected over the segment's candidate splits, is below alpha; "
    "both halves are searched again. On a series without change a change point is reported with probability at most "
    "alpha.";

static int trend_html(const char *dir, const char *title, const trend_point *p, int n, const tmlp_changepoint *cp,
                      int ncp, const char *svg, const char *metric, double alpha)
{
    tmlp_report *r = NULL;
    tmlp_error e = {0};
    char line[256];
    tmlp_status s = tmlp_report_create(title, &r, &e);
    if (!s) s = tmlp_report_paragraph(r, method_text, &e);
    snprintf(line, sizeof line, "alpha %g; %d runs; %d change point%s.", alpha, n, ncp, ncp == 1 ? "" : "s");
    if (!s) s = tmlp_report_paragraph(r, line, &e);
    for (int i = 0; !s && i < ncp; i++) {
        snprintf(line, sizeof line, "from run %" PRId64 ": %+.1f%% (t-test p %.2g, Bonferroni p %.2g over %d splits)",
                 p[cp[i].index].id, 100 * cp[i].rel_change, cp[i].p, cp[i].p_adj, cp[i].candidates);
        s = tmlp_report_bullet(r, line, &e);
    }
    if (!s) s = tmlp_report_figure(r, "trend", title, svg, &e);
    static const char *const head[] = {"run", "time (UTC)", "git", "median", "min", "max", "CV", "repetitions"};
    if (!s) s = tmlp_report_table(r, 8, head, &e);
    for (int i = 0; !s && i < n; i++) {
        char c[8][48];
        const char *cells[8];
        snprintf(c[0], 48, "%" PRId64, p[i].id);
        snprintf(c[1], 48, "%s", p[i].time);
        snprintf(c[2], 48, "%s", p[i].git);
        fmt_metric(c[3], 48, metric, p[i].median);
        fmt_metric(c[4], 48, metric, p[i].lo);
        fmt_metric(c[5], 48, metric, p[i].hi);
        if (isnan(p[i].cv)) snprintf(c[6], 48, "-");
        else snprintf(c[6], 48, "%.1f%%", 100 * p[i].cv);
        snprintf(c[7], 48, "%d", p[i].n);
        for (int k = 0; k < 8; k++) cells[k] = c[k];
        s = tmlp_report_table_row(r, cells, &e);
    }
    if (!s) s = tmlp_report_write_dir(r, dir, &e);
    tmlp_report_destroy(r);
    if (s) {
        tmlp_cli_error("--html %s: %s", dir, e.message);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

static void trend_print(const trend_point *p, int n, const tmlp_changepoint *cp, int ncp, const char *title,
                        const char *metric, double alpha)
{
    printf("%s\n%-6s %-20s %-16s %12s  %s\n", title, "run", "time (UTC)", "git", "median", "spread (min..max, CV, n)");
    for (int i = 0, c = 0; i < n; i++) {
        char m[32], a[32], b[32], cv[16];
        if (c < ncp && cp[c].index == i) {
            printf("  ---- change point: %+.1f%% (t-test p %.2g, Bonferroni p %.2g over %d splits)\n",
                   100 * cp[c].rel_change, cp[c].p, cp[c].p_adj, cp[c].candidates);
            c++;
        }
        fmt_metric(m, sizeof m, metric, p[i].median);
        fmt_metric(a, sizeof a, metric, p[i].lo);
        fmt_metric(b, sizeof b, metric, p[i].hi);
        if (isnan(p[i].cv)) snprintf(cv, sizeof cv, "-");
        else snprintf(cv, sizeof cv, "%.1f%%", 100 * p[i].cv);
        printf("%-6" PRId64 " %-20s %-16s %12s  %s..%s, CV %s, %d\n", p[i].id, p[i].time, p[i].git, m, a, b, cv,
               p[i].n);
    }
    if (n < 2 * TMLP_CHANGEPOINT_MIN_SEG)
        printf("Change points: none searched (%d run%s; the method needs %d)\n", n, n == 1 ? "" : "s",
               2 * TMLP_CHANGEPOINT_MIN_SEG);
    else
        printf("Change points: %d (binary segmentation, run-level t-test on log medians, Bonferroni per segment, "
               "alpha %g)\n", ncp, alpha);
}

static int trend_parse(int argc, char **argv, const char **metric, const char **wl, double *alpha, const char **svg,
                       const char **html, int *help)
{
    static const struct option opts[] = {
        {"metric", required_argument, NULL, OPT_METRIC}, {"workload", required_argument, NULL, OPT_WORKLOAD},
        {"alpha", required_argument, NULL, OPT_ALPHA},   {"svg", required_argument, NULL, OPT_SVG},
        {"html", required_argument, NULL, OPT_HTML},     {"help", no_argument, NULL, OPT_HELP},
        {"quick", no_argument, NULL, OPT_QUICK},         {NULL, 0, NULL, 0}};
    int c, rc = 0;
    optind = 1;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_METRIC: *metric = optarg; break;
        case OPT_WORKLOAD: *wl = optarg; break;
        case OPT_ALPHA: rc = tmlp_cli_parse_double("--alpha", optarg, 1e-12, 0.5, alpha); break;
        case OPT_SVG: *svg = optarg; break;
        case OPT_HTML: *html = optarg; break;
        case 'h':
        case OPT_HELP: *help = 1; break;
        case OPT_QUICK: break;
        case ':': return tmlp_cli_usage_error("history trend: %s needs a value", argv[optind - 1]);
        default: return tmlp_cli_usage_error("history trend: unknown option \"%s\"", argv[optind - 1]);
        }
    }
    return rc;
}

/* The points of every run comparable with `ref` that has the metric, oldest first. */
static int trend_points(tmlp_history *h, const cJSON *ref, const char *label, const char *metric, trend_point **out,
                        int *n)
{
    int64_t *ids = malloc(sizeof *ids * TREND_MAX_RUNS);
    int k = ids ? comparable_runs(h, ref, NULL, "ASC", ids, TREND_MAX_RUNS, NULL) : -1;
    trend_point *p = k > 0 ? calloc((size_t)k, sizeof *p) : NULL;
    if (k < 0 || (k > 0 && !p)) {
        free(ids);
        if (k >= 0) tmlp_cli_error("history trend: out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    *n = 0;
    for (int i = 0; i < k; i++) *n += run_point(h, ids[i], label, metric, &p[*n]);
    free(ids);
    *out = p;
    return 0;
}

int tmlp_history_trend(int argc, char **argv)
{
    const char *metric_opt = NULL, *wl = NULL, *svg_path = NULL, *html = NULL;
    double alpha = 0.05;
    int help = 0, rc = trend_parse(argc, argv, &metric_opt, &wl, &alpha, &svg_path, &html, &help);
    if (rc) return rc;
    if (help) {
        printf("Usage: bench_mlp history trend DB --metric LABEL.METRIC [--workload KEY] [--alpha A] [--svg FILE] "
               "[--html DIR]\n(see bench_mlp history --help)\n");
        return 0;
    }
    if (argc - optind != 1) return tmlp_cli_usage_error("history trend: needs DB");
    if (!metric_opt) return tmlp_cli_usage_error("history trend: --metric LABEL.METRIC is required (single-stream.p50)");
    const char *dot = strrchr(metric_opt, '.');
    if (!dot || dot == metric_opt || !dot[1] || (size_t)(dot - metric_opt) >= 48)
        return tmlp_cli_usage_error("--metric: '%s' is not LABEL.METRIC (single-stream.p50, offline.throughput)",
                                    metric_opt);
    char label[48];
    snprintf(label, sizeof label, "%.*s", (int)(dot - metric_opt), metric_opt);
    const char *metric = dot + 1;
    tmlp_history *h = NULL;
    if ((rc = tmlp_history_open_existing(argv[optind], &h))) return rc;
    trend_point *p = NULL;
    int n = 0;
    cJSON *ref = trend_reference(h, label, metric, wl);
    if (!ref) {
        tmlp_cli_error("history trend: no run in %s has %s%s%s", h->path, metric_opt, wl ? " for workload " : "",
                       wl ? wl : "");
        tmlp_history_close(h);
        return TMLP_EXIT_RUNTIME;
    }
    char key[17];
    tmlp_history_workload_key(ref, key);
    rc = trend_points(h, ref, label, metric, &p, &n);
    cJSON_Delete(ref);
    tmlp_history_close(h);
    if (rc) return rc;
    tmlp_changepoint cp[64];
    int ncp = 0;
    if (n >= 2 * TMLP_CHANGEPOINT_MIN_SEG) {
        double *x = malloc(sizeof *x * (size_t)n);
        for (int i = 0; x && i < n; i++) x[i] = p[i].median;
        ncp = x ? tmlp_changepoints_find(x, n, TMLP_CHANGEPOINT_MIN_SEG, alpha, cp, 64) : -1;
        free(x);
        if (ncp < 0) {
            tmlp_cli_error("history trend: %s has values <= 0 or out of memory: no change-point search", metric_opt);
            free(p);
            return TMLP_EXIT_RUNTIME;
        }
        if (ncp > 64) ncp = 64;
    }
    char title[160];
    snprintf(title, sizeof title, "%s over %d run%s of workload %s", metric_opt, n, n == 1 ? "" : "s", key);
    trend_print(p, n, cp, ncp, title, metric, alpha);
    char *svg = (svg_path || html) ? trend_svg(p, n, cp, ncp, title, metric) : NULL;
    tmlp_error e = {0};
    if ((svg_path || html) && !svg) {
        tmlp_cli_error("history trend: out of memory drawing the chart");
        rc = TMLP_EXIT_RUNTIME;
    } else if (svg_path && tmlp_report_write_file(svg_path, svg, &e) != TMLP_OK) {
        tmlp_cli_error("--svg: %s", e.message);
        rc = TMLP_EXIT_RUNTIME;
    }
    if (!rc && html) rc = trend_html(html, title, p, n, cp, ncp, svg, metric, alpha);
    free(svg);
    free(p);
    return rc;
}

/* ===== gate ============================================================================= */

/* The baseline document: the guard view `base` (context, each run's label, scenario,
 * settings, digest) with, per run label, the per-repetition figures of runs ids[0..n)
 * (newest first) as its "repetitions", at most TMLP_MAX_REPEAT. */
static int gate_baseline(tmlp_history *h, cJSON *base, const int64_t *ids, int n, int *pooled)
{
    char sql[4096] = "SELECT run_id, repetition, metric, value FROM metrics WHERE label = ? AND metric IN ('mean', "
                     "'p50', 'p90', 'p99', 'throughput') AND run_id IN (";
    size_t len = strlen(sql);
    for (int i = 0; i < n && len < sizeof sql - 64; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%" PRId64, i ? "," : "", ids[i]);
    snprintf(sql + len, sizeof sql - len, ") ORDER BY run_id DESC, repetition");
    cJSON *run;
    *pooled = 0;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(base, "runs")) {
        const char *label = ru_str(run, "label");
        sqlite3_stmt *st;
        if (!label) continue;
        if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) return sql_fail(h);
        sqlite3_bind_text(st, 1, label, -1, SQLITE_TRANSIENT);
        cJSON *reps = cJSON_AddArrayToObject(run, "repetitions"), *rep = NULL, *lat = NULL;
        int64_t cur_run = -1;
        int cur_rep = -1, k = 0, s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t rid = sqlite3_column_int64(st, 0);
            int r = sqlite3_column_int(st, 1);
            if (rid != cur_run || r != cur_rep) {
                if (k >= TMLP_MAX_REPEAT) break;
                rep = cJSON_CreateObject();
                lat = cJSON_AddObjectToObject(rep, "latency_ns");
                cJSON_AddItemToArray(reps, rep);
                cur_run = rid;
                cur_rep = r;
                k++;
            }
            const char *m = (const char *)sqlite3_column_text(st, 2);
            double v = sqlite3_column_double(st, 3);
            if (!strcmp(m, "throughput")) cJSON_AddNumberToObject(rep, "throughput_samples_per_s", v);
            else cJSON_AddNumberToObject(lat, m, v);
        }
        sqlite3_finalize(st);
        if (s != SQLITE_ROW && s != SQLITE_DONE) return sql_fail(h);
        if (k > *pooled) *pooled = k;
    }
    return 0;
}

int tmlp_history_gate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"last", required_argument, NULL, OPT_LAST}, {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"alpha", required_argument, NULL, OPT_ALPHA}, {"help", no_argument, NULL, OPT_HELP},
        {"quick", no_argument, NULL, OPT_QUICK},       {NULL, 0, NULL, 0}};
    int64_t last = 5;
    double thr = 0.05, alpha = 0.05;
    int c, rc = 0;
    optind = 1;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LAST: rc = tmlp_cli_parse_i64("--last", optarg, 1, 100, &last); break;
        case OPT_THRESHOLD: rc = tmlp_regress_parse_threshold(optarg, &thr); break;
        case OPT_ALPHA: rc = tmlp_cli_parse_double("--alpha", optarg, 1e-12, 0.5, &alpha); break;
        case 'h':
        case OPT_HELP:
            printf("Usage: bench_mlp history gate DB RESULT.json [--last N] [--threshold X] [--alpha A]\n"
                   "(see bench_mlp history --help)\n");
            return 0;
        case OPT_QUICK: break;
        case ':': return tmlp_cli_usage_error("history gate: %s needs a value", argv[optind - 1]);
        default: return tmlp_cli_usage_error("history gate: unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (rc) return rc;
    if (argc - optind != 2) return tmlp_cli_usage_error("history gate: needs DB RESULT.json");
    const char *dbp = argv[optind], *file = argv[optind + 1];
    cJSON *doc = ru_read_json(file);
    if (!doc) return TMLP_EXIT_RUNTIME;
    if (!tmlp_results_runs(doc, file)) {
        cJSON_Delete(doc);
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_history *h = NULL;
    if ((rc = tmlp_history_open_existing(dbp, &h))) {
        cJSON_Delete(doc);
        return rc;
    }
    int64_t ids[100];
    char hash[17] = "";
    cJSON *base = NULL;
    tmlp_history_doc_hash(doc, hash);
    int n = comparable_runs(h, doc, hash, "DESC", ids, (int)last, &base);
    int pooled = 0;
    if (n == 0) {
        tmlp_cli_error("history gate: no run in %s is comparable with %s (same model, data, seeds, settings, workload "
                       "digest): nothing to gate against; record runs of this workload first", dbp, file);
        rc = TMLP_EXIT_USAGE;
    } else if (n < 0 || (rc = gate_baseline(h, base, ids, n, &pooled))) {
        rc = TMLP_EXIT_RUNTIME;
    } else {
        printf("History gate: %s against the last %d comparable run%s of %s (ids", file, n, n == 1 ? "" : "s", dbp);
        for (int i = 0; i < n; i++) printf(" %" PRId64, ids[i]);
        printf("; up to %d repetitions pooled per run label)\n", pooled);
        char bname[64];
        snprintf(bname, sizeof bname, "history (%d run%s)", n, n == 1 ? "" : "s");
        rc = tmlp_regress_docs(stdout, base, doc, thr, alpha, bname, file, 0);
    }
    cJSON_Delete(base);
    cJSON_Delete(doc);
    tmlp_history_close(h);
    return rc;
}
