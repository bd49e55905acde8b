/* tinymlp/report.h — reading a benchmark at a glance and acting on it: SVG plots, a
 * resource monitor, queueing-model predictions, a sample-ratio-mismatch test, an A/B
 * router, the regression gate's decision rule, and a Markdown + HTML report writer.
 *
 * Everything here is measured or computed from its inputs; nothing is simulated. A figure
 * that cannot be measured (a /proc file that is missing) is flagged absent, never zero.
 *
 * Ownership: strings returned through `char **out` are allocated with malloc; free them
 * with tmlp_report_string_free(). Handles (tmlp_monitor, tmlp_report) have create/destroy
 * pairs and every destroy accepts NULL.
 * Errors: every call that returns a tmlp_status reports a message through a trailing
 * optional `tmlp_error *err` (NULL is fine): "regress: holm: n -1 is negative".
 * Thread-safety: every function is reentrant; one handle belongs to one thread, except
 * that a running tmlp_monitor samples from its own thread.
 */
#ifndef TINYMLP_REPORT_H
#define TINYMLP_REPORT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Free a string returned by this module (NULL is fine). */
TMLP_API void tmlp_report_string_free(char *s);

/* ===== SVG plots ==========================================================================
 * Each function writes one self-contained SVG document (UTF-8, width 720 x height 420,
 * no scripts, no external references) into *out_svg. Axes carry units; tick values are
 * "nice" (1, 2, 5 x 10^k); text is XML-escaped. Latencies are in nanoseconds and are shown
 * in ns, us or ms, whichever reads best. Errors: TMLP_ERR_ARG (NULL pointer, n < 1,
 * negative values), TMLP_ERR_NOMEM. `title` may be NULL. Every plot carries
 * <desc id="axes" data-x="lo hi linear|log" data-y="lo hi linear|log"> with the data range
 * of its axes, in the axis unit. */

/* Histogram of latencies (n >= 1) with vertical markers at p50, p90 and p99 (LoadGen
 * percentiles: sorted[floor(n p)]). Bins cover [min, p99.9]; slower samples are counted
 * in a final "tail" bar so the bulk stays readable. A long tail (p99 > 3 x p50 or
 * p99.9 > 10 x p50) switches to log-spaced bins over [min, max] on a log-scale axis instead. */
TMLP_API tmlp_status tmlp_svg_latency_histogram(const int64_t *latencies_ns, int64_t n,
                                                const char *title, char **out_svg,
                                                tmlp_error *err);

/* Empirical CDF with a log-scale tail: y = -log10(1 - F), labelled as percentiles
 * 0, 90, 99, 99.9, 99.99 so the tail gets as much room as the bulk. The latency (x) axis
 * covers [min, max]; it is log-scale when the tail is long (as for the histogram). */
TMLP_API tmlp_status tmlp_svg_latency_cdf(const int64_t *latencies_ns, int64_t n,
                                          const char *title, char **out_svg, tmlp_error *err);

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

/* Write `text` to `path` (the helper the CLI uses for *.svg). TMLP_ERR_IO names the path. */
TMLP_API tmlp_status tmlp_report_write_file(const char *path, const char *text, tmlp_error *err);

/* ===== Resource monitor ===================================================================
 * A sampler thread reads, every interval_ms (default 10):
 *   /proc/self/stat    utime, stime (clock ticks), num_threads
 *   /proc/self/status  VmRSS, VmHWM, voluntary_ctxt_switches, nonvoluntary_ctxt_switches
 *   /proc/stat         per-core busy time (user+nice+system+irq+softirq+steal)
 *   getrusage(SELF)    ru_minflt, ru_majflt, ru_maxrss
 * CPU utilization is given as a percentage of ONE core (200% = two cores busy), so a
 * single busy thread reads ~100%. Fields a source could not provide are flagged absent
 * with has_* = 0. */

#define TMLP_MONITOR_MAX_CORES 64

typedef struct tmlp_monitor_sample {
    uint64_t t_ns;              /* since tmlp_monitor_start */
    double cpu_user_pct;        /* over the interval ending here, % of one core; NaN if absent */
    double cpu_system_pct;
    int64_t rss_bytes;          /* VmRSS; -1 if absent */
    int32_t threads;            /* num_threads; -1 if absent */
} tmlp_monitor_sample;

typedef struct tmlp_monitor_summary {
    uint64_t duration_ns;       /* start .. stop */
    int64_t n_samples;
    int has_cpu;                /* /proc/self/stat readable at start and stop */
    double cpu_user_pct, cpu_system_pct; /* mean over the window, % of one core */
    int has_per_core;           /* /proc/stat readable at start and stop */
    int n_cores;
    double core_busy_pct[TMLP_MONITOR_MAX_CORES]; /* each core, all processes, % busy */
    int has_rss;
    double rss_mean_bytes;      /* mean of the sampled VmRSS */
    int64_t rss_start_bytes;    /* VmRSS at start */
    int64_t rss_peak_bytes;     /* max sampled VmRSS */
    int64_t vm_hwm_bytes;       /* VmHWM at stop (kernel's peak; includes pre-start history) */
    int has_ctx;
    int64_t voluntary_ctx, involuntary_ctx; /* switches during the window */
    int has_rusage;
    int64_t minor_faults, major_faults;     /* during the window */
    int64_t maxrss_bytes;       /* getrusage ru_maxrss at stop (process lifetime peak) */
    int max_threads;            /* -1 if absent */
} tmlp_monitor_summary;

typedef struct tmlp_monitor tmlp_monitor;

/* interval_ms = 0 means 10 ms. Errors: TMLP_ERR_NOMEM. */
TMLP_API tmlp_status tmlp_monitor_create(uint32_t interval_ms, tmlp_monitor **out,
                                         tmlp_error *err);
/* Take the baseline reading and start the sampler thread. TMLP_ERR_STATE if already
 * running; TMLP_ERR_IO if the thread cannot start. A monitor may be started again after
 * a stop; the samples of the previous window are discarded. */
TMLP_API tmlp_status tmlp_monitor_start(tmlp_monitor *m, tmlp_error *err);
/* Stop the sampler, take the final reading and compute the summary. */
TMLP_API tmlp_status tmlp_monitor_stop(tmlp_monitor *m, tmlp_error *err);
/* The summary of the last completed window (TMLP_ERR_STATE before the first stop; `err`
 * gets "monitor: get_summary: no window has ended yet ..."). */
TMLP_API tmlp_status tmlp_monitor_get_summary(const tmlp_monitor *m, tmlp_monitor_summary *out,
                                              tmlp_error *err);
/* The time series of the last window: *n samples, valid until the next start/destroy. */
TMLP_API const tmlp_monitor_sample *tmlp_monitor_samples(const tmlp_monitor *m, int64_t *n);
TMLP_API void tmlp_monitor_destroy(tmlp_monitor *m);
/* The time series as Chrome trace counter events ("ph":"C": "cpu %" with user/system,
 * "rss MB", "threads"), comma-separated WITHOUT the enclosing brackets so a trace writer
 * can append them to its "traceEvents" array. ts = ts_offset_us + sample time in us.
 * Absent figures are omitted. *out is "" when there are no samples. */
TMLP_API tmlp_status tmlp_monitor_trace_events(const tmlp_monitor *m, long pid,
                                               double ts_offset_us, char **out, tmlp_error *err);

/* ===== Queueing models ====================================================================
 * c identical servers, Poisson arrivals at rate lambda (1/s), service rate mu per server
 * (1/s, mean service time 1/mu); utilisation rho = lambda / (c mu) must be < 1.
 *   Erlang C (probability an arrival waits):
 *     a = lambda/mu,  P_w = [a^c / (c! (1-rho))] / [sum_{k<c} a^k/k! + a^c / (c! (1-rho))]
 *   M/M/c mean wait Wq = P_w / (c mu - lambda); P(Wq > t) = P_w exp(-(c mu - lambda) t).
 *   Response T = Wq + S, S ~ Exp(mu) independent; its quantiles are found by bisection on
 *   the exact tail P(T > t).
 *   M/G/c (Allen-Cunneen): Wq ~= Wq(M/M/c) * (Ca^2 + Cs^2) / 2 with Ca^2 = 1 (Poisson) and
 *   Cs^2 the squared coefficient of variation of the service time. For quantiles the wait
 *   is taken as 0 with prob. 1-P_w and exponential with mean Wq/P_w otherwise, convolved
 *   with the MEASURED service-time samples. */

typedef struct tmlp_queue_result {
    double rho;          /* utilisation */
    double p_wait;       /* Erlang C */
    double mean_wait_s;  /* Wq */
    double mean_response_s; /* Wq + 1/mu */
    double response_quantile_s; /* at the requested p (NaN if not asked) */
} tmlp_queue_result;

/* Erlang C probability of waiting for c servers and offered load a = lambda/mu (a < c).
 * NaN on bad arguments. Computed by the stable recursion on Erlang B. */
TMLP_API double tmlp_queue_erlang_c(int c, double a);

/* M/M/c. p in (0,1) is the response-time quantile to compute (e.g. 0.99), or 0 for none.
 * TMLP_ERR_ARG when lambda <= 0, mu <= 0, c < 1 or rho >= 1 (unstable: no steady state). */
TMLP_API tmlp_status tmlp_queue_mmc(double lambda, double mu, int c, double p,
                                    tmlp_queue_result *out, tmlp_error *err);

/* M/G/c by Allen-Cunneen from n >= 2 measured service times (ns). */
TMLP_API tmlp_status tmlp_queue_mgc(double lambda, const int64_t *service_ns, int64_t n, int c,
                                    double p, tmlp_queue_result *out, tmlp_error *err);

/* ===== Sample-ratio mismatch ==============================================================
 * Pearson chi-square, 1 degree of freedom, of the observed arm counts against the
 * intended split (fraction routed to B):
 *   e_A = N (1-split), e_B = N split, X^2 = sum (o - e)^2 / e,  p = erfc(sqrt(X^2 / 2)).
 * A p below 0.001 (the usual SRM threshold) means the router or the logging is broken
 * and the comparison must not be trusted. */
typedef struct tmlp_srm_result {
    double chi2, p_value;
    double expected_a, expected_b;
    int mismatch;        /* p_value < alpha */
} tmlp_srm_result;

TMLP_API tmlp_status tmlp_srm_check(int64_t n_a, int64_t n_b, double split_b, double alpha,
                                    tmlp_srm_result *out, tmlp_error *err);

/* ===== A/B router =========================================================================
 * One interleaved stream of queries: query k takes sample index[k] (seeded, uniform with
 * replacement) and goes to B with probability split_b (seeded tmlp_rng), else to A; both
 * arms see the same inputs in the same time window, so drift hits both equally. Each arm
 * is warmed with warmup_queries calls first. The callback runs one query synchronously
 * and returns its predicted class (or -1) and a status; the router times it. */
typedef tmlp_status (*tmlp_ab_infer_fn)(void *user, int64_t sample_index, int32_t *prediction);

typedef struct tmlp_ab_arm {
    const char *name;
    tmlp_ab_infer_fn infer;
    void *user;
} tmlp_ab_arm;

typedef struct tmlp_ab_settings {
    double split_b;          /* fraction of queries routed to B; default 0.5 */
    int64_t queries;         /* measured queries in the stream; default 2000 */
    int64_t warmup_queries;  /* per arm; default 100 */
    int64_t sample_count;    /* samples to choose from (>= 1) */
    const int32_t *labels;   /* optional labels[sample] for accuracy */
    uint64_t route_seed;     /* default 1 */
    uint64_t sample_seed;    /* default 2 */
    /* Optional clock (NULL = tmlp_time_now_ns): tests script a virtual clock that the
     * fake arms advance, so latencies are known exactly. */
    uint64_t (*now_ns)(void *clock_user);
    void *clock_user;
} tmlp_ab_settings;

TMLP_API tmlp_ab_settings tmlp_ab_settings_default(void);

typedef struct tmlp_ab_arm_result {
    int64_t attempts, errors;
    int64_t correct, labeled;
    int64_t n;               /* successful queries with a latency */
    int64_t *latencies_ns;   /* n, in stream order */
} tmlp_ab_arm_result;

typedef struct tmlp_ab_result {
    tmlp_ab_arm_result arm[2]; /* [0] = A, [1] = B */
    uint64_t duration_ns;
    int64_t queries;
    uint8_t *route;            /* route[k] = arm (0 or 1) of query k, stream order */
} tmlp_ab_result;

TMLP_API tmlp_status tmlp_ab_run(const tmlp_ab_settings *s, const tmlp_ab_arm *a,
                                 const tmlp_ab_arm *b, tmlp_ab_result **out, tmlp_error *err);
TMLP_API void tmlp_ab_result_destroy(tmlp_ab_result *r);

/* ===== Regression gate ====================================================================
 * One metric of a baseline and a current run. Relative change r = (cur - base) / |base|;
 * "worse" means r > threshold for a lower-is-better metric and r < -threshold for a
 * higher-is-better one. When a significance test applies (p_value not NaN), a change is
 * only called a regression or improvement if p_value < alpha too; otherwise the change is
 * within noise and the metric is UNCHANGED. */
typedef enum tmlp_metric_direction {
    TMLP_LOWER_IS_BETTER = 0,   /* latency and its percentiles */
    TMLP_HIGHER_IS_BETTER = 1   /* throughput, accuracy */
} tmlp_metric_direction;

typedef enum tmlp_regress_verdict {
    TMLP_REGRESS_UNCHANGED = 0,
    TMLP_REGRESS_IMPROVEMENT = 1,
    TMLP_REGRESS_REGRESSION = 2
} tmlp_regress_verdict;

/* "unchanged", "improvement", "regression" */
TMLP_API const char *tmlp_regress_verdict_name(tmlp_regress_verdict v);

/* threshold is a fraction (0.05 = 5%); p_value NaN = no test; alpha e.g. 0.05.
 * *rel_change (may be NULL) receives r. NaN inputs or base == 0 give UNCHANGED. */
TMLP_API tmlp_regress_verdict tmlp_regress_classify(tmlp_metric_direction dir, double base,
                                                    double cur, double threshold,
                                                    double p_value, double alpha,
                                                    double *rel_change);

/* ===== Run-level verdicts (issue 9) ========================================================
 * The unit of replication of a "did it get slower?" question is the RUN, not the query:
 * queries of one run share its clock frequency, neighbours and cache placement, so a test
 * over 10^5 queries of one run against 10^5 of another calls any run-to-run drift
 * "significant". These functions take ONE value per repetition (a run's p50, its
 * throughput, ...) for each side.
 *
 * Method (multiplicative noise, so on logarithms): Welch's t-test on log(value) gives p;
 * the (1 - alpha) interval of the difference of log means, exponentiated, is the interval
 * of the ratio of geometric means, so rel_change = GM(cur)/GM(base) - 1 and
 * [ci_low, ci_high] are relative changes too. The noise floor is the smallest relative
 * change this comparison can detect at alpha (the smallest one that would be significant):
 *     exp(t_{1-alpha/2, df} * se) - 1,   se = Welch's se of the log means, df Welch's.
 * Verdict: with >= 3 repetitions a side, REGRESSION (IMPROVEMENT) only when p < alpha AND
 * the change is worse (better) than threshold_used = max(threshold, noise_floor). With
 * fewer, `tested` is 0 and the threshold alone decides (label it so: "not enough
 * repetitions for a test"). Zero spread on both sides: p = 0 if the values differ, 1 if
 * not (a deterministic metric), floor 0. */
#define TMLP_REGRESS_MIN_REPS 3
typedef struct tmlp_regress_runs {
    int64_t n_base, n_cur;
    double base, cur;            /* geometric means of the repetition values */
    double rel_change;           /* cur / base - 1 */
    double ci_low, ci_high;      /* (1 - alpha) interval of rel_change; NaN if untested */
    double p;                    /* Welch two-sided p on the logs; NaN if untested */
    double cv_base, cv_cur;      /* between-repetition CV, sd / mean; NaN if n < 2 */
    double noise_floor;          /* see above; NaN if untested */
    double threshold_used;       /* max(threshold, noise_floor) (threshold if untested) */
    int tested;                  /* both sides have >= TMLP_REGRESS_MIN_REPS repetitions */
    int floor_applied;           /* noise_floor > threshold decided the bar */
    tmlp_regress_verdict verdict;
} tmlp_regress_runs;

/* Values must be finite and > 0 (latencies, throughput); TMLP_ERR_ARG otherwise or when
 * a side is empty; alpha in (0, 0.5], threshold >= 0. */
TMLP_API tmlp_status tmlp_regress_compare_runs(tmlp_metric_direction dir, const double *base,
                                               int64_t n_base, const double *cur, int64_t n_cur,
                                               double threshold, double alpha,
                                               tmlp_regress_runs *out, tmlp_error *err);

/* The noise floor of ONE repeated run: the smallest relative change a comparison of two
 * runs like it (n repetitions each, between-repetition CV `cv`) can detect at alpha:
 * exp(t_{1-alpha/2, 2n-2} * sqrt(log(1 + cv^2)) * sqrt(2/n)) - 1.
 * NaN when n < 2 or cv is not finite. */
TMLP_API double tmlp_regress_noise_floor(double cv, int64_t n, double alpha);

/* Holm-Bonferroni: the gate calls a run a regression if ANY of its metrics regressed, so
 * its false-alarm rate is family-wise. adj[i] = the Holm-adjusted p of p[i] (monotone,
 * <= 1); NaN entries are skipped (stay NaN) and do not count in the family. Comparing
 * adj[i] < alpha keeps the chance of any false alarm across the n metrics <= alpha.
 * p and adj may alias. TMLP_ERR_NOMEM / TMLP_ERR_ARG (n < 0 or NULL). */
TMLP_API tmlp_status tmlp_regress_holm(const double *p, int64_t n, double *adj,
                                       tmlp_error *err);

/* tmlp_regress_compare_runs's verdict again with p replaced by an adjusted p (Holm): the
 * metric regresses only if adj_p < alpha and the change exceeds r->threshold_used.
 * Untested comparisons (r->tested == 0) keep their threshold-only verdict. */
TMLP_API tmlp_regress_verdict tmlp_regress_runs_verdict(const tmlp_regress_runs *r,
                                                        tmlp_metric_direction dir, double adj_p,
                                                        double alpha);

/* One metric of a comparison: the direction and the per-repetition values (input), and
 * what tmlp_regress_decide found (output). `base` and `cur` are read, never kept. */
typedef struct tmlp_regress_metric {
    tmlp_metric_direction dir;
    const double *base;              /* one value per repetition, finite and > 0 */
    int64_t n_base;
    const double *cur;
    int64_t n_cur;
    tmlp_regress_runs runs;          /* out: tmlp_regress_compare_runs of the two */
    double adj_p;                    /* out: Holm-adjusted p over the family's tested
                                        metrics; NaN when this one is untested */
    tmlp_regress_verdict verdict;    /* out: the verdict with adj_p (tmlp_regress_runs_verdict) */
} tmlp_regress_metric;

/* THE rule of every run-level verdict — `bench_mlp regress`, `--baseline` and `compare` on
 * results files all call it, so they cannot disagree on the same files: for each of the n
 * metrics the run-level test (tmlp_regress_compare_runs: Welch on the logs of the
 * per-repetition values, the interval of the relative change, the noise floor), then
 * Holm's correction over the metrics tested (>= TMLP_REGRESS_MIN_REPS repetitions a
 * side), then each verdict: worse than max(threshold, noise floor) and Holm-significant ->
 * REGRESSION (better -> IMPROVEMENT); untested metrics decide by the threshold alone.
 * The family is whatever the caller passes: pass every metric it will report, since the
 * correction depends on how many there are. TMLP_ERR_ARG (a metric's values, threshold or
 * alpha as tmlp_regress_compare_runs; the message names the metric's index),
 * TMLP_ERR_NOMEM. */
TMLP_API tmlp_status tmlp_regress_decide(tmlp_regress_metric *metrics, int64_t n, double threshold, double alpha,
                                         tmlp_error *err);

/* Two-proportion z-test (pooled), two-sided: accuracy k1/n1 vs k2/n2. NaN if n < 1 or the
 * pooled proportion is 0 or 1 with equal counts (then nothing differs: returns 1). */
TMLP_API double tmlp_regress_two_proportion_p(int64_t k1, int64_t n1, int64_t k2, int64_t n2);

/* ===== Report writer ======================================================================
 * A report is an ordered list of blocks (headings, paragraphs, bullet lists, tables,
 * inline SVG figures) rendered twice: Markdown (figures as links to DIR/<name>.svg) and
 * one self-contained HTML page (CSS inline, SVGs inline, no scripts, no network).
 * The block calls below return TMLP_ERR_ARG or TMLP_ERR_STATE on a bad call (TMLP_ERR_NOMEM
 * when out of memory), and their `err` (may be NULL) gets a message: "report: heading:
 * level 4 is not 2 or 3", "report: table_row: no table is open (call tmlp_report_table
 * first)". */
typedef struct tmlp_report tmlp_report;

TMLP_API tmlp_status tmlp_report_create(const char *title, tmlp_report **out, tmlp_error *err);
TMLP_API void tmlp_report_destroy(tmlp_report *r);
/* level 2 or 3 */
TMLP_API tmlp_status tmlp_report_heading(tmlp_report *r, int level, const char *text,
                                         tmlp_error *err);
/* Plain text (escaped in HTML; `code` spans in backticks are kept in both). */
TMLP_API tmlp_status tmlp_report_paragraph(tmlp_report *r, const char *text, tmlp_error *err);
/* One bullet; consecutive bullets form one list. */
TMLP_API tmlp_status tmlp_report_bullet(tmlp_report *r, const char *text, tmlp_error *err);
/* A preformatted block (the environment JSON). */
TMLP_API tmlp_status tmlp_report_code(tmlp_report *r, const char *text, tmlp_error *err);
/* A table: `ncols` header cells, then rows added with tmlp_report_table_row. */
TMLP_API tmlp_status tmlp_report_table(tmlp_report *r, int ncols, const char *const *header,
                                       tmlp_error *err);
TMLP_API tmlp_status tmlp_report_table_row(tmlp_report *r, const char *const *cells,
                                           tmlp_error *err);
/* An SVG figure: `name` (e.g. "latency_hist") becomes DIR/name.svg; caption is shown. */
TMLP_API tmlp_status tmlp_report_figure(tmlp_report *r, const char *name, const char *caption,
                                        const char *svg, tmlp_error *err);
/* Render to strings (caller frees with tmlp_report_string_free). */
TMLP_API tmlp_status tmlp_report_render(const tmlp_report *r, char **markdown, char **html,
                                        tmlp_error *err);
/* Write DIR/report.md, DIR/index.html and DIR/<figure>.svg (DIR is created if missing). */
TMLP_API tmlp_status tmlp_report_write_dir(const tmlp_report *r, const char *dir, tmlp_error *err);

#ifdef __cplusplus
}
#endif
#endif
