/* svg.c — latency and throughput plots as self-contained SVG, no plotting library.
 *
 * Every plot is the same frame: a 720x420 canvas, a plot area inset by margins, an x and a
 * y axis mapping data to pixels (linear, or log for the CDF tail and the batch axis), and
 * "nice" ticks. Nice ticks: for a span S and about k ticks the raw step S/k is rounded up
 * to 1, 2 or 5 x 10^floor(log10(S/k)), so labels read 0, 20, 40 ... not 0, 17.3, 34.6.
 *
 * Latency axes pick one unit for the whole axis (ns below 10 us, us below 10 ms, else ms)
 * from the largest value shown. Percentile markers follow the run's percentile method
 * (tmlp_stats_percentile_sorted_i64: the rule of the results table).
 *
 * Log axes: a long-tailed sample (p99 > 3 x p50, or p99.9 > 10 x p50) gets a log latency
 * axis in the histogram (log-spaced bins, edge_k = lo (hi/lo)^(k/40)) and the CDF, so a
 * 20 us bulk and a 2 ms tail are both visible; the offline sweep puts batch sizes 1, 8,
 * 32, 256 on a log axis. The server timeline's y axis fits the data; the latency bound is
 * drawn when it is near the data and noted in words when far above it.
 *
 * Every plot carries <desc id="axes" data-x="lo hi linear|log" data-y="..."> with the
 * data range of its axes (in the axis unit), which tests/test_svg.c checks against the
 * data.
 *
 * The CDF tail axis: y = -log10(1 - F). F = 0.9 is y = 1, F = 0.99 is y = 2 and so on, so
 * the tail, where a server's latency bound lives, gets as much height as the bulk.
 * Where next: report.c embeds these strings in the HTML page.
 */
#include "tinymlp/svg.h"

#include "internal.h"
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { W = 720, H = 420, ML = 86, MR = 24, MT = 44, MB = 62 };

typedef struct axis {
    double lo, hi;  /* data range mapped to the pixel range */
    double p0, p1;  /* pixel range */
    int log10;      /* map log10(v) instead of v */
} axis;

static double axis_px(const axis *a, double v)
{
    double lo = a->lo, hi = a->hi;
    if (a->log10) {
        v = log10(v);
        lo = log10(lo);
        hi = log10(hi);
    }
    if (hi <= lo) return a->p0;
    return a->p0 + (v - lo) / (hi - lo) * (a->p1 - a->p0);
}

/* 1, 2 or 5 x 10^k, the smallest such step >= raw. */
static double nice_step(double raw)
{
    if (!(raw > 0)) return 1;
    double e = pow(10, floor(log10(raw)));
    double f = raw / e;
    double m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return m * e;
}

/* 1, 2 or 5 x 10^k, the largest such value <= v (v > 0). */
static double nice_floor125(double v)
{
    double e = pow(10, floor(log10(v)));
    double f = v / e;
    return (f >= 5 ? 5 : f >= 2 ? 2 : 1) * e;
}

/* Widen [lo, hi] to multiples of a nice step; returns the step. */
static double nice_range(double *lo, double *hi, int k)
{
    if (!(*hi > *lo)) *hi = *lo + (*lo != 0 ? fabs(*lo) * 0.1 : 1);
    double step = nice_step((*hi - *lo) / k);
    *lo = floor(*lo / step) * step;
    *hi = ceil(*hi / step) * step;
    return step;
}

/* Tick label: as many decimals as the step needs, no more. */
static void fmt_tick(char *buf, size_t cap, double v, double step)
{
    int dec = 0;
    if (step < 1) dec = (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    if (fabs(v) < step * 1e-9) v = 0;
    if (fabs(v) >= 1e6 && dec == 0) snprintf(buf, cap, "%.3g", v);
    else snprintf(buf, cap, "%.*f", dec, v);
}

typedef struct unit {
    const char *name;
    double div; /* ns per unit */
} unit;

static unit latency_unit(double max_ns)
{
    if (max_ns < 1e4) return (unit){"ns", 1};
    if (max_ns < 1e7) return (unit){"\xC2\xB5s", 1e3};
    return (unit){"ms", 1e6};
}

/* 3 significant digits without exponents: "812 ns", "41.2 µs", "1100 µs" -> "1.10 ms" */
static void fmt_latency(char *buf, size_t cap, double ns)
{
    unit u = ns < 1e3 ? (unit){"ns", 1} : ns < 1e6 ? (unit){"\xC2\xB5s", 1e3} : ns < 1e9 ? (unit){"ms", 1e6} : (unit){"s", 1e9};
    double v = ns / u.div;
    snprintf(buf, cap, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, u.name);
}

static void svg_begin(tmlp_strbuf *b, const char *title)
{
    tmlp_strbuf_printf(b,
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                       "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
                       "font-size=\"12\">\n",
                       W, H, W, H);
    tmlp_strbuf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H);
    if (title) {
        tmlp_strbuf_printf(b, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" "
                              "font-weight=\"bold\">", W / 2);
        tmlp_strbuf_xml(b, title);
        tmlp_strbuf_puts(b, "</text>\n");
    }
}

static void svg_end(tmlp_strbuf *b) { tmlp_strbuf_puts(b, "</svg>\n"); }

/* Frame, grid, ticks and the two axis labels. The x ticks are either linear from
 * [x->lo, x->hi] by xstep, or (xticks != NULL) at the given values with the given labels. */
static void svg_axes(tmlp_strbuf *b, const axis *x, double xstep, const double *xticks,
                     const char *const *xlabels, int nxt, const char *xname, const axis *y,
                     double ystep, const double *yticks, const char *const *ylabels, int nyt,
                     const char *yname)
{
    char buf[64];
    /* The data range of each axis, machine-readable: tests check that it covers the data,
     * and a reader of the file can tell a log axis without parsing the ticks. */
    tmlp_strbuf_printf(b, "<desc id=\"axes\" data-x=\"%.17g %.17g %s\" data-y=\"%.17g %.17g %s\">axes: x %s, "
                          "y %s</desc>\n", x->lo, x->hi, x->log10 ? "log" : "linear", y->lo, y->hi,
                       y->log10 ? "log" : "linear", xname, yname);
    tmlp_strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                          "stroke=\"#444\"/>\n", ML, MT, W - ML - MR, H - MT - MB);
    /* y ticks and horizontal grid */
    int ny = yticks ? nyt : (int)floor((y->hi - y->lo) / ystep + 0.5) + 1;
    for (int i = 0; i < ny && i < 64; i++) {
        double v = yticks ? yticks[i] : y->lo + i * ystep;
        double py = axis_px(y, v);
        tmlp_strbuf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n",
                           ML, py, W - MR, py);
        if (ylabels) snprintf(buf, sizeof buf, "%s", ylabels[i]);
        else fmt_tick(buf, sizeof buf, v, ystep);
        tmlp_strbuf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", ML - 6, py + 4);
        tmlp_strbuf_xml(b, buf);
        tmlp_strbuf_puts(b, "</text>\n");
    }
    int nx = xticks ? nxt : (int)floor((x->hi - x->lo) / xstep + 0.5) + 1;
    for (int i = 0; i < nx && i < 64; i++) {
        double v = xticks ? xticks[i] : x->lo + i * xstep;
        double px = axis_px(x, v);
        tmlp_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>\n",
                           px, H - MB, px, H - MB + 5);
        if (xlabels) snprintf(buf, sizeof buf, "%s", xlabels[i]);
        else fmt_tick(buf, sizeof buf, v, xstep);
        tmlp_strbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", px, H - MB + 19);
        tmlp_strbuf_xml(b, buf);
        tmlp_strbuf_puts(b, "</text>\n");
    }
    tmlp_strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">",
                       ML + (W - ML - MR) / 2, H - 16);
    tmlp_strbuf_xml(b, xname);
    tmlp_strbuf_puts(b, "</text>\n");
    tmlp_strbuf_printf(b, "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\" "
                          "transform=\"rotate(-90 18 %d)\">",
                       MT + (H - MT - MB) / 2, MT + (H - MT - MB) / 2);
    tmlp_strbuf_xml(b, yname);
    tmlp_strbuf_puts(b, "</text>\n");
}

/* Ticks of a log axis over [lo, hi]: 1, 2, 5 x 10^k inside it. Returns the count (<= 60). */
static int log_ticks(double lo, double hi, double *xt, char (*xlab)[24], const char **xlp)
{
    int nxt = 0;
    for (double dec = pow(10, floor(log10(lo) + 1e-9)); dec <= hi * 1.0001 && nxt < 60; dec *= 10) {
        static const double m125[3] = {1, 2, 5};
        for (int j = 0; j < 3 && nxt < 60; j++) {
            double v = dec * m125[j];
            if (v > hi * 1.0001) break;
            if (v < lo * 0.9999) continue;
            xt[nxt] = v;
            fmt_tick(xlab[nxt], sizeof xlab[nxt], v, v);
            xlp[nxt] = xlab[nxt];
            nxt++;
        }
    }
    return nxt;
}

/* A latency axis goes log when the tail is long: p99 > 3 x p50 or p99.9 > 10 x p50 (a 512 us
 * tail on a 13-60 us body would squeeze the body into a tenth of a linear axis). */
static int wants_log(double pmin, double p50, double p99, double p999)
{
    return pmin > 0 && (p99 > 3 * p50 || p999 > 10 * p50);
}

static tmlp_status finish(tmlp_strbuf *b, char **out, tmlp_error *err)
{
    svg_end(b);
    char *s = tmlp_strbuf_take(b);
    if (!s) return tmlp_error_set(err, TMLP_ERR_NOMEM, "svg: out of memory building the plot");
    *out = s;
    return TMLP_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A sorted copy of the latencies; NULL on OOM. */
static int64_t *sorted_copy(const int64_t *v, int64_t n)
{
    size_t bytes;
    if (!tmlp_size_mul((size_t)n, sizeof *v, &bytes)) return NULL;
    int64_t *s = tmlp_mem_alloc(NULL, bytes);
    if (!s) return NULL;
    memcpy(s, v, bytes);
    qsort(s, (size_t)n, sizeof *s, cmp_i64);
    return s;
}

static tmlp_status check_latencies(const int64_t *v, int64_t n, char **out, tmlp_error *err)
{
    if (!v || !out || n < 1) return tmlp_error_set(err, TMLP_ERR_ARG, "svg: need n >= 1 latencies and an output pointer");
    for (int64_t i = 0; i < n; i++)
        if (v[i] < 0) return tmlp_error_set(err, TMLP_ERR_ARG, "svg: latency %lld is negative", (long long)i);
    return TMLP_OK;
}

/* The latency plots' common start: check the arguments, then an ascending copy (*sorted,
 * the caller frees it). */
static tmlp_status sorted_latencies(const int64_t *v, int64_t n, char **out, int64_t **sorted, tmlp_error *err)
{
    tmlp_status st = check_latencies(v, n, out, err);
    if (st) return st;
    *sorted = sorted_copy(v, n);
    if (!*sorted) return tmlp_error_set(err, TMLP_ERR_NOMEM, "svg: out of memory sorting %lld latencies", (long long)n);
    return TMLP_OK;
}

tmlp_status tmlp_svg_latency_histogram(const int64_t *latencies_ns, int64_t n, tmlp_percentile_method m,
                                       const char *title, char **out_svg, tmlp_error *err)
{
    int64_t *s = NULL;
    tmlp_status st = sorted_latencies(latencies_ns, n, out_svg, &s, err);
    if (st) return st;
    double pmin = (double)s[0], p999 = tmlp_stats_percentile_sorted_i64(s, n, 0.999, m), pmax = (double)s[n - 1];
    double marks[3] = {tmlp_stats_percentile_sorted_i64(s, n, 0.50, m), tmlp_stats_percentile_sorted_i64(s, n, 0.90, m), tmlp_stats_percentile_sorted_i64(s, n, 0.99, m)};
    /* A long tail (p99 > 3 x p50) gets a log-scale x axis over [min, max] so the bulk and
     * the tail are both readable. Otherwise linear bins over [min, p99.9], but no wider
     * than 2 x p99; what lies beyond goes into a separate tail bar. */
    int logx = wants_log(pmin, marks[0], marks[2], p999);
    double top = logx ? pmax : (p999 < 2 * marks[2] ? p999 : 2 * marks[2]);
    if (top < marks[2]) top = marks[2];
    unit u = latency_unit(top);
    double lo = pmin / u.div, hi = top / u.div, step = 0;
    if (logx) {
        lo = nice_floor125(lo);
        hi = nice_step(hi);
        if (hi <= lo) hi = lo * 2;
    } else {
        step = nice_range(&lo, &hi, 6);
        if (lo < 0) lo = 0;
    }
    enum { NB = 40 };
    int64_t counts[NB + 1] = {0}; /* [NB] = tail beyond hi */
    double edge[NB + 1];
    for (int k = 0; k <= NB; k++) edge[k] = logx ? lo * pow(hi / lo, (double)k / NB) : lo + (hi - lo) * k / NB;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)s[i] / u.div;
        int k;
        if (v > hi) k = NB;
        else if (logx) k = v <= lo ? 0 : (int)(log(v / lo) / log(hi / lo) * NB);
        else k = (int)((v - lo) / (hi - lo) * NB);
        if (k >= NB && v <= hi) k = NB - 1;
        if (k < 0) k = 0;
        counts[k]++;
    }
    int64_t cmax = 1;
    for (int k = 0; k <= NB; k++)
        if (counts[k] > cmax) cmax = counts[k];
    int tail = counts[NB] > 0;

    axis x = {lo, hi, ML, W - MR - (tail ? 60 : 0), logx};
    double ylo = 0, yhi = (double)cmax * 1.12;
    double ystep = nice_range(&ylo, &yhi, 5);
    axis y = {ylo, yhi, H - MB, MT, 0};
    /* log ticks: 1, 2, 5 x 10^k inside [lo, hi] */
    double xt[64];
    char xlab[64][24];
    const char *xlp[64];
    int nxt = logx ? log_ticks(lo, hi, xt, xlab, xlp) : 0;

    tmlp_strbuf b = {0};
    svg_begin(&b, title);
    char xname[64];
    snprintf(xname, sizeof xname, logx ? "latency (%s, log scale)" : "latency (%s)", u.name);
    svg_axes(&b, &x, step, logx ? xt : NULL, logx ? xlp : NULL, nxt, xname, &y, ystep, NULL, NULL, 0,
             "queries per bin");
    for (int k = 0; k < NB; k++) {
        if (!counts[k]) continue;
        double x0 = axis_px(&x, edge[k]), x1 = axis_px(&x, edge[k + 1]);
        double y0 = axis_px(&y, (double)counts[k]);
        tmlp_strbuf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                               "fill=\"#4c78a8\" stroke=\"#ffffff\" stroke-width=\"0.5\"/>\n",
                           x0, y0, x1 - x0, (H - MB) - y0);
    }
    if (tail) {
        double x0 = W - MR - 50, y0 = axis_px(&y, (double)counts[NB]);
        char lab[64], edge[64];
        fmt_latency(lab, sizeof lab, pmax);
        fmt_latency(edge, sizeof edge, hi * u.div);
        tmlp_strbuf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"40\" height=\"%.1f\" fill=\"#e45756\"/>\n",
                           x0, y0, (H - MB) - y0);
        tmlp_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%lld</text>\n",
                           x0 + 20, y0 - 4, (long long)counts[NB]);
        tmlp_strbuf_printf(&b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">tail &gt; ",
                           W - MR - 2, y0 - 30);
        tmlp_strbuf_xml(&b, edge);
        tmlp_strbuf_puts(&b, "</text>\n");
        tmlp_strbuf_printf(&b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">max ", W - MR - 2,
                           y0 - 17);
        tmlp_strbuf_xml(&b, lab);
        tmlp_strbuf_puts(&b, "</text>\n");
    }
    /* percentile markers, with a legend box in the top-right corner */
    static const char *const names[3] = {"p50", "p90", "p99"};
    static const char *const colors[3] = {"#54a24b", "#f58518", "#e45756"};
    double lx = W - MR - (tail ? 60 : 0) - 150;
    tmlp_strbuf_printf(&b, "<rect x=\"%.1f\" y=\"%d\" width=\"144\" height=\"56\" fill=\"#ffffff\" "
                           "fill-opacity=\"0.9\" stroke=\"#bbb\"/>\n", lx, MT + 6);
    for (int i = 0; i < 3; i++) {
        double v = marks[i] / u.div;
        if (v > hi) v = hi;
        double px = axis_px(&x, v);
        char lab[64];
        fmt_latency(lab, sizeof lab, marks[i]);
        tmlp_strbuf_printf(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
                               "stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n",
                           px, MT, px, H - MB, colors[i]);
        double ly = MT + 22 + 16 * i;
        tmlp_strbuf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                               "stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n",
                           lx + 8, ly - 4, lx + 30, ly - 4, colors[i]);
        tmlp_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s = ", lx + 36, ly, names[i]);
        tmlp_strbuf_xml(&b, lab);
        tmlp_strbuf_puts(&b, "</text>\n");
    }
    tmlp_mem_free(NULL, s);
    return finish(&b, out_svg, err);
}

tmlp_status tmlp_svg_latency_cdf(const int64_t *latencies_ns, int64_t n, tmlp_percentile_method m,
                                 const char *title, char **out_svg, tmlp_error *err)
{
    int64_t *s = NULL;
    tmlp_status st = sorted_latencies(latencies_ns, n, out_svg, &s, err);
    if (st) return st;
    unit u = latency_unit((double)s[n - 1]);
    double lo = (double)s[0] / u.div, hi = (double)s[n - 1] / u.div, xstep = 0;
    int logx = wants_log((double)s[0], tmlp_stats_percentile_sorted_i64(s, n, 0.5, m), tmlp_stats_percentile_sorted_i64(s, n, 0.99, m), tmlp_stats_percentile_sorted_i64(s, n, 0.999, m));
    double xt[64];
    char xlab[64][24];
    const char *xlp[64];
    int nxt = 0;
    if (logx) {
        lo = nice_floor125(lo);
        hi = nice_step(hi);
        if (hi <= lo) hi = lo * 2;
        nxt = log_ticks(lo, hi, xt, xlab, xlp);
    } else {
        xstep = nice_range(&lo, &hi, 6);
        if (lo < 0) lo = 0;
    }
    /* 1 - F ranges down to 1/n: y up to log10(n), at least "99%" */
    int ytop = (int)ceil(log10((double)n));
    if (ytop < 2) ytop = 2;
    if (ytop > 6) ytop = 6;
    axis x = {lo, hi, ML, W - MR, logx};
    axis y = {0, ytop, H - MB, MT, 0};
    static const char *const ylab[7] = {"0", "90", "99", "99.9", "99.99", "99.999", "99.9999"};
    double yt[7];
    for (int i = 0; i <= ytop; i++) yt[i] = i;

    tmlp_strbuf b = {0};
    svg_begin(&b, title);
    char xname[64];
    snprintf(xname, sizeof xname, logx ? "latency (%s, log scale)" : "latency (%s)", u.name);
    svg_axes(&b, &x, xstep, logx ? xt : NULL, logx ? xlp : NULL, nxt, xname, &y, 1, yt, ylab, ytop + 1,
             "percentile (log tail: -log10(1-F))");
    /* steps of the empirical CDF; F after the i-th smallest is (i+1)/n, plotted until
     * 1-F = 1/n; points closer than half a pixel to the last one are skipped */
    tmlp_strbuf_puts(&b, "<polyline fill=\"none\" stroke=\"#4c78a8\" stroke-width=\"2\" points=\"");
    double lx = -1, ly = -1;
    for (int64_t i = 0; i < n; i++) {
        double F = (double)i / (double)n; /* before this sample */
        double yv = -log10(1 - F);
        if (yv > ytop) yv = ytop;
        double px = axis_px(&x, (double)s[i] / u.div), py = axis_px(&y, yv);
        if (i > 0 && i < n - 1 && fabs(px - lx) < 0.5 && fabs(py - ly) < 0.5) continue;
        tmlp_strbuf_printf(&b, "%.1f,%.1f ", px, py);
        lx = px;
        ly = py;
    }
    tmlp_strbuf_puts(&b, "\"/>\n");
    static const double ps[3] = {0.5, 0.9, 0.99};
    for (int i = 0; i < 3; i++) {
        double v = tmlp_stats_percentile_sorted_i64(s, n, ps[i], m);
        char lab[64];
        fmt_latency(lab, sizeof lab, v);
        double py = axis_px(&y, -log10(1 - ps[i]));
        double px = axis_px(&x, v / u.div);
        tmlp_strbuf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#e45756\"/>\n", px, py);
        tmlp_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">p%g = ", px + 7, py - 5, ps[i] * 100);
        tmlp_strbuf_xml(&b, lab);
        tmlp_strbuf_puts(&b, "</text>\n");
    }
    tmlp_mem_free(NULL, s);
    return finish(&b, out_svg, err);
}

tmlp_status tmlp_svg_latency_timeline(const int64_t *start_ns, const int64_t *latencies_ns, int64_t n,
                                      uint64_t bound_ns, const char *title, char **out_svg,
                                      tmlp_error *err)
{
    tmlp_status st = check_latencies(latencies_ns, n, out_svg, err);
    if (st) return st;
    /* The y axis fits the data. The bound joins the axis only when it is near the data
     * (<= 1.5 x the largest latency); above that it would flatten the data to a line at
     * zero (a p99 of 0.54 ms under a 10 ms bound), so it is noted in words instead. */
    double dmax = 0;
    for (int64_t i = 0; i < n; i++)
        if ((double)latencies_ns[i] > dmax) dmax = (double)latencies_ns[i];
    double vmax = dmax > 0 ? dmax : 1;
    int bound_in = bound_ns > 0 && (double)bound_ns <= 1.5 * vmax;
    if (bound_in && (double)bound_ns > vmax) vmax = (double)bound_ns;
    unit u = latency_unit(vmax);
    double xlo = 0, xhi = (double)(n - 1);
    if (start_ns) {
        xlo = (double)start_ns[0] / 1e9;
        xhi = (double)start_ns[n - 1] / 1e9;
        for (int64_t i = 0; i < n; i++) {
            double t = (double)start_ns[i] / 1e9;
            if (t < xlo) xlo = t;
            if (t > xhi) xhi = t;
        }
    }
    double xstep = nice_range(&xlo, &xhi, 6);
    double ylo = 0, yhi = vmax / u.div * 1.05;
    double ystep = nice_range(&ylo, &yhi, 5);
    axis x = {xlo, xhi, ML, W - MR, 0};
    axis y = {ylo, yhi, H - MB, MT, 0};

    tmlp_strbuf b = {0};
    svg_begin(&b, title);
    char yname[64];
    snprintf(yname, sizeof yname, "latency (%s)", u.name);
    svg_axes(&b, &x, xstep, NULL, NULL, 0, start_ns ? "scheduled issue time (s)" : "query (issue order)",
             &y, ystep, NULL, NULL, 0, yname);
    if (n <= 4000) {
        for (int64_t i = 0; i < n; i++) {
            double xv = start_ns ? (double)start_ns[i] / 1e9 : (double)i;
            tmlp_strbuf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"#4c78a8\" "
                                   "fill-opacity=\"0.6\"/>\n",
                               axis_px(&x, xv), axis_px(&y, (double)latencies_ns[i] / u.div));
        }
    } else {
        /* one vertical min..max bar per pixel column bucket */
        enum { NBK = 600 };
        for (int k = 0; k < NBK; k++) {
            int64_t i0 = n * k / NBK, i1 = n * (k + 1) / NBK;
            if (i1 <= i0) continue;
            int64_t mn = latencies_ns[i0], mx = latencies_ns[i0];
            for (int64_t i = i0; i < i1; i++) {
                if (latencies_ns[i] < mn) mn = latencies_ns[i];
                if (latencies_ns[i] > mx) mx = latencies_ns[i];
            }
            double xv = start_ns ? (double)start_ns[i0] / 1e9 : (double)i0;
            double px = axis_px(&x, xv);
            tmlp_strbuf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#4c78a8\"/>\n",
                               px, axis_px(&y, (double)mn / u.div), px,
                               axis_px(&y, (double)mx / u.div) - 0.8);
        }
    }
    if (bound_ns > 0 && !bound_in) {
        char lab[64], mx[64];
        fmt_latency(lab, sizeof lab, (double)bound_ns);
        fmt_latency(mx, sizeof mx, dmax);
        tmlp_strbuf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#e45756\">latency bound ",
                           W - MR - 4, MT + 16);
        tmlp_strbuf_xml(&b, lab);
        tmlp_strbuf_puts(&b, " is above this axis (slowest query ");
        tmlp_strbuf_xml(&b, mx);
        tmlp_strbuf_puts(&b, ")</text>\n");
    }
    if (bound_in) {
        double py = axis_px(&y, (double)bound_ns / u.div);
        char lab[64];
        fmt_latency(lab, sizeof lab, (double)bound_ns);
        tmlp_strbuf_printf(&b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e45756\" "
                               "stroke-width=\"2\" stroke-dasharray=\"8 4\"/>\n",
                           ML, py, W - MR, py);
        tmlp_strbuf_printf(&b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#e45756\">latency bound ",
                           W - MR - 4, py - 5);
        tmlp_strbuf_xml(&b, lab);
        tmlp_strbuf_puts(&b, "</text>\n");
    }
    return finish(&b, out_svg, err);
}

tmlp_status tmlp_svg_throughput_batch(const int64_t *batch, const double *samples_per_s, int64_t n,
                                      const char *title, char **out_svg, tmlp_error *err)
{
    if (!batch || !samples_per_s || !out_svg || n < 1 || n > 64)
        return tmlp_error_set(err, TMLP_ERR_ARG, "svg: throughput plot needs 1..64 points");
    double ymax = 0;
    int64_t bmin = batch[0], bmax = batch[0];
    for (int64_t i = 0; i < n; i++) {
        if (batch[i] < 1 || !(samples_per_s[i] >= 0))
            return tmlp_error_set(err, TMLP_ERR_ARG, "svg: point %lld has batch < 1 or a negative throughput",
                                  (long long)i);
        if (samples_per_s[i] > ymax) ymax = samples_per_s[i];
        if (batch[i] < bmin) bmin = batch[i];
        if (batch[i] > bmax) bmax = batch[i];
    }
    /* thousands of samples/s reads better once values pass 10^4 */
    double ydiv = ymax >= 1e4 ? 1e3 : 1;
    double ylo = 0, yhi = ymax / ydiv * 1.1;
    double ystep = nice_range(&ylo, &yhi, 5);
    double xlo = (double)bmin / 1.3, xhi = (double)bmax * 1.3;
    axis x = {xlo, xhi, ML, W - MR, 1};
    axis y = {ylo, yhi, H - MB, MT, 0};
    double xt[64];
    char lab[64][24];
    const char *labp[64];
    for (int64_t i = 0; i < n; i++) {
        xt[i] = (double)batch[i];
        snprintf(lab[i], sizeof lab[i], "%lld", (long long)batch[i]);
        labp[i] = lab[i];
    }
    tmlp_strbuf b = {0};
    svg_begin(&b, title);
    svg_axes(&b, &x, 0, xt, labp, (int)n, "batch size (samples, log scale)", &y, ystep, NULL, NULL, 0,
             ydiv > 1 ? "throughput (thousand samples/s)" : "throughput (samples/s)");
    tmlp_strbuf_puts(&b, "<polyline fill=\"none\" stroke=\"#4c78a8\" stroke-width=\"2\" points=\"");
    for (int64_t i = 0; i < n; i++)
        tmlp_strbuf_printf(&b, "%.1f,%.1f ", axis_px(&x, (double)batch[i]), axis_px(&y, samples_per_s[i] / ydiv));
    tmlp_strbuf_puts(&b, "\"/>\n");
    for (int64_t i = 0; i < n; i++) {
        double px = axis_px(&x, (double)batch[i]), py = axis_px(&y, samples_per_s[i] / ydiv);
        tmlp_strbuf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#4c78a8\"/>\n", px, py);
        tmlp_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%.3g</text>\n",
                           px, py - 8, samples_per_s[i] / ydiv);
    }
    return finish(&b, out_svg, err);
}

tmlp_status tmlp_svg_layer_breakdown(const char *const *names, const double *time_ns, int64_t n,
                                     const char *title, char **out_svg, tmlp_error *err)
{
    if (!names || !time_ns || !out_svg || n < 1 || n > 32)
        return tmlp_error_set(err, TMLP_ERR_ARG, "svg: layer breakdown needs 1..32 layers");
    double total = 0, vmax = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!names[i] || !(time_ns[i] >= 0))
            return tmlp_error_set(err, TMLP_ERR_ARG, "svg: layer %lld has no name or a negative time", (long long)i);
        total += time_ns[i];
        if (time_ns[i] > vmax) vmax = time_ns[i];
    }
    unit u = latency_unit(vmax);
    int left = 150;
    double xlo = 0, xhi = vmax / u.div * 1.35;
    double xstep = nice_range(&xlo, &xhi, 5);
    axis x = {xlo, xhi, left, W - MR, 0};
    tmlp_strbuf b = {0};
    svg_begin(&b, title);
    int ph = H - MT - MB;
    tmlp_strbuf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
                       left, MT, W - MR - left, ph);
    char buf[64];
    int nt = (int)floor((xhi - xlo) / xstep + 0.5) + 1;
    for (int i = 0; i < nt && i < 64; i++) {
        double v = xlo + i * xstep, px = axis_px(&x, v);
        tmlp_strbuf_printf(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e3e3e3\"/>\n", px, MT,
                           px, H - MB);
        fmt_tick(buf, sizeof buf, v, xstep);
        tmlp_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", px, H - MB + 19, buf);
    }
    tmlp_strbuf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">time per forward (%s)</text>\n",
                       left + (W - MR - left) / 2, H - 16, u.name);
    double slot = (double)ph / (double)n, bh = slot * 0.7;
    if (bh > 40) bh = 40;
    for (int64_t i = 0; i < n; i++) {
        double cy = MT + slot * ((double)i + 0.5);
        double x1 = axis_px(&x, time_ns[i] / u.div);
        tmlp_strbuf_printf(&b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", left - 8, cy + 4);
        tmlp_strbuf_xml(&b, names[i]);
        tmlp_strbuf_puts(&b, "</text>\n");
        tmlp_strbuf_printf(&b, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4c78a8\"/>\n", left,
                           cy - bh / 2, x1 - left, bh);
        fmt_latency(buf, sizeof buf, time_ns[i]);
        tmlp_strbuf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", x1 + 5, cy + 4);
        tmlp_strbuf_xml(&b, buf);
        tmlp_strbuf_printf(&b, " (%.1f%%)</text>\n", total > 0 ? 100.0 * time_ns[i] / total : 0.0);
    }
    return finish(&b, out_svg, err);
}
