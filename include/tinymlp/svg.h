/* tinymlp/svg.h — SVG plots of a benchmark: latency histogram, CDF and timeline, offline
 * throughput against batch size, per-layer time. Each call writes one self-contained SVG
 * document computed from its inputs only (nothing simulated); free it with
 * tmlp_report_string_free (common.h).
 *
 * Errors: every call that returns a tmlp_status reports a message through a trailing
 * optional `tmlp_error *err` (NULL is fine). Thread-safety: every function is reentrant.
 */
#ifndef TINYMLP_SVG_H
#define TINYMLP_SVG_H

#include "common.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===== SVG plots ==========================================================================
 * Each function writes one self-contained SVG document (UTF-8, width 720 x height 420,
 * no scripts, no external references) into *out_svg. Axes carry units; tick values are
 * "nice" (1, 2, 5 x 10^k); text is XML-escaped. Latencies are in nanoseconds and are shown
 * in ns, us or ms, whichever reads best. Errors: TMLP_ERR_ARG (NULL pointer, n < 1,
 * negative values), TMLP_ERR_NOMEM. `title` may be NULL. Every plot carries
 * <desc id="axes" data-x="lo hi linear|log" data-y="lo hi linear|log"> with the data range
 * of its axes, in the axis unit. */

/* Histogram of latencies (n >= 1) with vertical markers at p50, p90 and p99 (percentile
 * method m, as the run's results table: tmlp_stats_percentile_sorted_i64). Bins cover [min, p99.9]; slower samples are counted
 * in a final "tail" bar so the bulk stays readable. A long tail (p99 > 3 x p50 or
 * p99.9 > 10 x p50) switches to log-spaced bins over [min, max] on a log-scale axis instead. */
TMLP_API tmlp_status tmlp_svg_latency_histogram(const int64_t *latencies_ns, int64_t n,
                                                tmlp_percentile_method m, const char *title,
                                                char **out_svg, tmlp_error *err);

/* Empirical CDF with a log-scale tail: y = -log10(1 - F), labelled as percentiles
 * 0, 90, 99, 99.9, 99.99 so the tail gets as much room as the bulk. The latency (x) axis
 * covers [min, max]; it is log-scale when the tail is long (as for the histogram). The
 * p50, p90 and p99 marks use percentile method m. */
TMLP_API tmlp_status tmlp_svg_latency_cdf(const int64_t *latencies_ns, int64_t n,
                                          tmlp_percentile_method m, const char *title,
                                          char **out_svg, tmlp_error *err);

/* Latency of each query against its issue order (x = query start time in s when start_ns
 * is given, else the query index). The y axis fits the data; bound_ns (0 = none) is drawn
 * as a horizontal line when it is at most 1.5 x the slowest query, else noted in words
 * ("latency bound 10 ms is above this axis") so the data are not flattened to zero.
 * More than 4000 queries are drawn as per-bucket min..max bars. */
TMLP_API tmlp_status tmlp_svg_latency_timeline(const int64_t *start_ns,
                                               const int64_t *latencies_ns, int64_t n,
                                               uint64_t bound_ns, const char *title,
                                               char **out_svg, tmlp_error *err);

/* Offline throughput (samples/s) against batch size (log2 x axis), one point per batch. */
TMLP_API tmlp_status tmlp_svg_throughput_batch(const int64_t *batch, const double *samples_per_s,
                                               int64_t n, const char *title, char **out_svg,
                                               tmlp_error *err);

/* Horizontal bars: time of each layer (ns) with its share of the total in percent. */
TMLP_API tmlp_status tmlp_svg_layer_breakdown(const char *const *names, const double *time_ns,
                                              int64_t n, const char *title, char **out_svg,
                                              tmlp_error *err);

#ifdef __cplusplus
}
#endif
#endif
