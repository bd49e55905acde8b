/* cmd_report.c — `bench_mlp report --output DIR [run options]` and
 * `bench_mlp report --from results.json --output DIR`: a benchmark read at a glance.
 *
 * Live mode runs the default benchmark in this process (workload.h: the run options
 * parsed once and adjusted in C; its document written to DIR/results.json) under the
 * resource monitor, adds an offline batch sweep (1,8,32,256) when no --batch is given,
 * and profiles the model layer by layer. --from reads a saved results file instead (no
 * resource figures or profile unless asked: they were not recorded there).
 *
 * Output: DIR/report.md, DIR/index.html (self-contained: CSS and SVG inline, no scripts,
 * no network) and DIR/<plot>.svg, all written into a temporary sibling of DIR and swapped
 * in whole at the end (tmlp_cli_outdir, cli.h): a failure or a signal leaves DIR's previous
 * report as it was. Every statement is computed from the results; a
 * section whose data is missing says so instead of guessing. Sections: summary in
 * numbers, methodology, environment, per scenario (latency table, validity checks, early
 * stopping, outliers and soundness warnings, plots), offline sweep, accuracy, per-layer
 * profile, resource usage, recommendations (each with the number that triggers it).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "history.h"
#include "reports_util.h"
#include "result_check.h"
#include "run.h"
#include "workload.h"

#define MAX_RUNS 64

typedef struct report_ctx {
    tmlp_report *r;
    const char *dir;
    int n_recs;
    char recs[32][512];        /* recommendations, each with its number */
    int have_monitor;
    tmlp_monitor_summary mon;
    double mon_interval_ms;    /* sampling interval of the figures (from the file or 10) */
    int have_profile[2];
    ru_profile prof[2];        /* batch 1, batch N */
    int n_fig;
    int n_names;
    char names[MAX_RUNS][48];  /* figure stems used so far (one per run: its scenario) */
} report_ctx;

static void addf(report_ctx *c, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* kind: 'p' paragraph, 'b' bullet, '2'/'3' heading */
static void addf(report_ctx *c, int kind, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (kind == 'p') tmlp_report_paragraph(c->r, buf, NULL);
    else if (kind == 'b') tmlp_report_bullet(c->r, buf, NULL);
    else tmlp_report_heading(c->r, kind - '0', buf, NULL);
}

/* One row "name | value" of a two-column report table, the value printf-formatted. */
static void rowf(report_ctx *c, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void rowf(report_ctx *c, const char *name, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    const char *row[2] = {name, v};
    tmlp_report_table_row(c->r, row, NULL);
}

static void rec(report_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec(report_ctx *c, const char *fmt, ...)
{
    if (c->n_recs >= 32) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->recs[c->n_recs++], sizeof c->recs[0], fmt, ap);
    va_end(ap);
}

static const char *ns(double v, char *buf) { return tmlp_cli_fmt_ns(v, buf, 24); }

static void figure(report_ctx *c, const char *name, const char *caption, tmlp_status st, char *svg,
                   const tmlp_error *err)
{
    if (st == TMLP_OK) tmlp_report_figure(c->r, name, caption, svg, NULL);
    else addf(c, 'p', "Plot %s not drawn: %s.", name, err->message);
    tmlp_report_string_free(svg);
}

/* ---- sections -------------------------------------------------------------------------- */

static const char *check_word(const cJSON *checks, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(checks, k);
    return cJSON_IsTrue(x) ? "Yes" : cJSON_IsFalse(x) ? "No" : "n/a";
}

/* The run's headline, one line with its number. */
static void headline(const cJSON *run, char *out, size_t cap)
{
    char a[24], b[24];
    const char *sc = ru_str(run, "scenario"), *label = ru_str(run, "label");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(run, "latency_ns");
    int valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "valid"));
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(run, "settings");
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(run, "find_peak");
    if (!sc) sc = "?";
    if (cJSON_IsObject(fp)) {
        snprintf(out, cap, "%s: highest VALID target %.0f QPS at a p%g bound of %s", label,
                 ru_num(fp, "peak_qps"), 100 * ru_num(set, "target_latency_percentile"),
                 ns(ru_num(set, "target_latency_ns"), a));
    } else if (!strcmp(sc, "single-stream")) {
        snprintf(out, cap, "%s: p90 latency %s (p50 %s), %s", label, ns(ru_num(lat, "p90"), a),
                 ns(ru_num(lat, "p50"), b), valid ? "VALID" : "INVALID");
    } else if (!strcmp(sc, "multi-stream")) {
        snprintf(out, cap, "%s: p99 query latency %s (%.0f samples per query), %s", label, ns(ru_num(lat, "p99"), a),
                 ru_num(set, "samples_per_query"), valid ? "VALID" : "INVALID");
    } else if (!strcmp(sc, "server")) {
        snprintf(out, cap, "%s: %.0f QPS offered, %.0f completed; p99 %s against a bound of %s, %s", label,
                 ru_num(run, "scheduled_qps"), ru_num(run, "completed_qps"), ns(ru_num(lat, "p99"), a),
                 ns(ru_num(set, "target_latency_ns"), b), valid ? "VALID" : "INVALID");
    } else {
        snprintf(out, cap, "%s: %.0f samples/s (batch %.0f), %s", label, ru_num(run, "throughput_samples_per_s"),
                 ru_num(set, "offline_batch_size"), valid ? "VALID" : "INVALID");
    }
}

static void section_environment(report_ctx *c, const cJSON *ctx)
{
    addf(c, '2', "Environment");
    if (!cJSON_IsObject(ctx)) {
        addf(c, 'p', "The results file has no context block: the environment is unknown.");
        return;
    }
    const cJSON *blas = cJSON_GetObjectItemCaseSensitive(ctx, "blas");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(ctx, "version");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(ctx, "model");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ctx, "data");
    const char *h[2] = {"item", "value"};
    tmlp_report_table(c->r, 2, h, NULL);
    rowf(c, "host", "%s", ru_str(ctx, "host") ? ru_str(ctx, "host") : "unknown");
    rowf(c, "CPU", "%s, %.0f cores online", ru_str(ctx, "cpu") ? ru_str(ctx, "cpu") : "unknown", ru_num(ctx, "cores"));
    rowf(c, "OS", "%s", ru_str(ctx, "os") ? ru_str(ctx, "os") : "unknown");
    rowf(c, "compiler / build", "%s, %s", ru_str(ctx, "compiler") ? ru_str(ctx, "compiler") : "?",
        ru_str(ctx, "build_type") ? ru_str(ctx, "build_type") : "?");
    if (cJSON_IsObject(ver))
        rowf(c, "tinymlp", "%s (git %s)", ru_str(ver, "library") ? ru_str(ver, "library") : "?",
            ru_str(ver, "git") ? ru_str(ver, "git") : "?");
    if (cJSON_IsObject(blas))
        rowf(c, "BLAS", "%s, core %s, %.0f thread(s), OPENBLAS_CORETYPE=%s", ru_str(blas, "version") ? ru_str(blas, "version") : "?",
            ru_str(blas, "core") ? ru_str(blas, "core") : "?", ru_num(blas, "threads"),
            ru_str(blas, "coretype_env") && *ru_str(blas, "coretype_env") ? ru_str(blas, "coretype_env") : "(unset)");
    rowf(c, "workers", "%.0f worker thread(s), %.0f BLAS thread(s)", ru_num(ctx, "workers"), ru_num(ctx, "blas_threads"));
    if (cJSON_IsObject(model))
        rowf(c, "model", "%s `%s` (%s), %.0f -> %.0f, %.0f parameters", ru_str(model, "kind") ? ru_str(model, "kind") : "?",
            ru_str(model, "source") ? ru_str(model, "source") : "?", ru_str(model, "layers") ? ru_str(model, "layers") : "?",
            ru_num(model, "input_width"), ru_num(model, "output_width"), ru_num(model, "params"));
    if (cJSON_IsObject(data))
        rowf(c, "data", "%s `%s`: %.0f samples x %.0f %s, %s", ru_str(data, "kind") ? ru_str(data, "kind") : "?",
            ru_str(data, "source") ? ru_str(data, "source") : "?", ru_num(data, "count"), ru_num(data, "width"),
            ru_str(data, "dtype") ? ru_str(data, "dtype") : "?",
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "labeled")) ? "labelled" : "no labels");
    if (ru_str(ctx, "command_line")) rowf(c, "command line", "`%s`", ru_str(ctx, "command_line"));
    addf(c, 'p', "The full context block of the results file:");
    char *txt = cJSON_Print(ctx);
    if (txt) {
        tmlp_report_code(c->r, txt, NULL);
        cJSON_free(txt);
    }
}

/* Seeds above 2^53 are written as decimal strings (JSON numbers would lose bits). */
static void seed_text(const cJSON *o, const char *key, char *buf, size_t cap)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(x)) snprintf(buf, cap, "%s", x->valuestring);
    else if (cJSON_IsNumber(x)) snprintf(buf, cap, "%.0f", x->valuedouble);
    else snprintf(buf, cap, "not recorded");
}

static void section_methodology(report_ctx *c, const cJSON *runs, const cJSON *ctx)
{
    addf(c, '2', "Methodology");
    addf(c, 'p', "Scenarios follow MLPerf LoadGen: single-stream and multi-stream are closed loops (latency from "
                 "the actual issue time); server is an open loop with Poisson arrivals generated before the clock "
                 "starts, latency measured from the scheduled time so queueing counts; offline issues every sample "
                 "at t = 0 in batches. Warm-up queries are excluded from the statistics.");
    const char *h[9] = {"run", "min duration", "min queries", "warm-up", "target QPS", "latency bound",
                        "percentile", "sample seed", "schedule seed"};
    tmlp_report_table(c->r, 9, h, NULL);
    const cJSON *run;
    const char *method = NULL;
    double conf = NAN;
    cJSON_ArrayForEach(run, runs) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(run, "settings");
        const char *sc = ru_str(run, "scenario");
        int server = sc && !strcmp(sc, "server");
        char f[9][64];
        snprintf(f[0], 64, "%s", ru_str(run, "label") ? ru_str(run, "label") : "?");
        snprintf(f[1], 64, "%.0f ms", ru_num(s, "min_duration_ms"));
        snprintf(f[2], 64, "%.0f", ru_num(s, "min_query_count"));
        snprintf(f[3], 64, "%.0f", ru_num(s, "warmup_queries"));
        if (server) snprintf(f[4], 64, "%.0f", ru_num(s, "target_qps"));
        else snprintf(f[4], 64, "n/a");
        if (server) ns(ru_num(s, "target_latency_ns"), f[5]);
        else snprintf(f[5], 64, "n/a");
        snprintf(f[6], 64, "p%g", 100 * ru_num(s, "target_latency_percentile"));
        seed_text(s, "sample_seed", f[7], 64);
        seed_text(s, "schedule_seed", f[8], 64);
        const char *row[9] = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]};
        tmlp_report_table_row(c->r, row, NULL);
        if (!method) method = ru_str(s, "percentile_method");
        if (isnan(conf)) conf = ru_num(s, "early_stopping_confidence");
    }
    addf(c, 'p', "Percentiles: method `%s`%s. Early stopping at confidence %g.", method ? method : "unknown",
         method && !strcmp(method, "loadgen") ? " (LoadGen: sorted[floor(N p)], no interpolation)" : "", conf);
    addf(c, 'p', "Validity rules (a run is VALID only if each applicable check holds): 1. minimum duration met; "
                 "2. minimum query count met; 3. server only: latency at the target percentile within the bound; "
                 "4. early stopping: enough queries for the percentile estimate at the stated confidence.");
    addf(c, 'p', "Outliers (Tukey fences on quartiles, MAD scores) and soundness warnings come from the statistics "
                 "module on the per-query latencies; outliers are reported, never dropped.");
    /* --repeat: the spread between repetitions, the run's own noise */
    int any = 0;
    cJSON_ArrayForEach(run, runs) any |= cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(run, "aggregate"));
    if (any) {
        addf(c, 'p', "Repetitions: each scenario ran several times back to back; the figures of this report are "
                     "medians over the repetitions (the plots show repetition 1). The between-repetition CV is the "
                     "run's own noise and the noise floor the smallest change a comparison of two such runs can "
                     "detect at alpha 0.05 (Welch on log per-repetition values).");
        const char *hr[7] = {"run", "repetitions", "CV p50", "CV p99", "CV throughput", "noise floor p50",
                             "noise floor throughput"};
        tmlp_report_table(c->r, 7, hr, NULL);
        cJSON_ArrayForEach(run, runs) {
            const cJSON *ag = cJSON_GetObjectItemCaseSensitive(run, "aggregate");
            if (!cJSON_IsObject(ag)) continue;
            const cJSON *cv = cJSON_GetObjectItemCaseSensitive(ag, "cv");
            const cJSON *fl = cJSON_GetObjectItemCaseSensitive(ag, "noise_floor");
            char f[7][64];
            snprintf(f[0], 64, "%s", ru_str(run, "label") ? ru_str(run, "label") : "?");
            snprintf(f[1], 64, "%.0f", ru_num(ag, "repetitions"));
            const double v[5] = {ru_num(cv, "p50"), ru_num(cv, "p99"), ru_num(cv, "throughput"), ru_num(fl, "p50"),
                                 ru_num(fl, "throughput")};
            for (int k = 0; k < 5; k++)
                if (isfinite(v[k])) snprintf(f[2 + k], 64, "%.1f%%", 100 * v[k]);
                else snprintf(f[2 + k], 64, "n/a");
            const char *row[7] = {f[0], f[1], f[2], f[3], f[4], f[5], f[6]};
            tmlp_report_table_row(c->r, row, NULL);
        }
    }
    (void)ctx;
}

static int is_offline(const cJSON *run)
{
    const char *sc = ru_str(run, "scenario");
    return sc && !strcmp(sc, "offline");
}

/* The stem of a run's figure files: its label as a file name ("single-stream",
 * "offline_b256", "server_peak"), so DIR/ reads by scenario; a second run with the same
 * label gets "_2", a third "_3". */
static void figure_stem(report_ctx *c, const char *label, char *out, size_t cap)
{
    char base[32];
    size_t k = 0;
    for (const char *p = label; *p && k + 1 < sizeof base; p++) {
        char ch = *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') base[k++] = ch;
        else if (ch >= 'A' && ch <= 'Z') base[k++] = (char)(ch - 'A' + 'a');
        else if ((ch == ' ' || ch == '_' || ch == '(') && k > 0 && base[k - 1] != '_') base[k++] = '_';
    }
    while (k > 0 && base[k - 1] == '_') k--;
    base[k] = '\0';
    if (!k) snprintf(base, sizeof base, "run");
    int seen = 0;
    for (int i = 0; i < c->n_names; i++)
        if (!strcmp(c->names[i], base)) seen++;
    if (c->n_names < MAX_RUNS) snprintf(c->names[c->n_names++], sizeof c->names[0], "%s", base);
    if (seen) snprintf(out, cap, "%.31s_%d", base, seen % 1000 + 1);
    else snprintf(out, cap, "%s", base);
}

/* The latency table of one run: offline's throughput row, else the query percentiles. */
static void run_latency_table(report_ctx *c, const cJSON *run, const char *sc)
{
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(run, "latency_ns");
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(run, "settings");
    if (cJSON_IsObject(lat) && !strcmp(sc, "offline")) {
        /* Offline's headline is its throughput; its one query's latency is the run. */
        const char *h[5] = {"samples", "batch size", "duration", "throughput (samples/s)", "per-sample completion p50 / p99"};
        tmlp_report_table(c->r, 5, h, NULL);
        char f[5][48];
        snprintf(f[0], sizeof f[0], "%.0f", ru_num(run, "samples"));
        snprintf(f[1], sizeof f[1], "%.0f", ru_num(set, "offline_batch_size"));
        ns(ru_num(run, "duration_ns"), f[2]);
        snprintf(f[3], sizeof f[3], "%.1f", ru_num(run, "throughput_samples_per_s"));
        char p50[24], p99[24];
        snprintf(f[4], sizeof f[4], "%s / %s", ns(ru_num(lat, "p50"), p50), ns(ru_num(lat, "p99"), p99));
        const char *row[5] = {f[0], f[1], f[2], f[3], f[4]};
        tmlp_report_table_row(c->r, row, NULL);
        addf(c, 'p', "Offline issues all samples as one query at t = 0: its result is the throughput. The "
                     "per-sample completion times (from the query's start) say when in the run samples finished, "
                     "not how long one took.");
    } else if (cJSON_IsObject(lat)) {
        const char *h[10] = {"queries", "min", "mean", "p50", "p90", "p95", "p97", "p99", "p99.9", "max"};
        tmlp_report_table(c->r, 10, h, NULL);
        static const char *const keys[9] = {"min", "mean", "p50", "p90", "p95", "p97", "p99", "p999", "max"};
        char f[10][24];
        snprintf(f[0], 24, "%.0f", ru_num(lat, "count"));
        for (int i = 0; i < 9; i++) ns(ru_num(lat, keys[i]), f[i + 1]);
        const char *row[10];
        for (int i = 0; i < 10; i++) row[i] = f[i];
        tmlp_report_table_row(c->r, row, NULL);
        addf(c, 'p', "Query latency%s; percentiles by the `%s` method.",
                 !strcmp(sc, "server") ? " from the scheduled arrival time (queueing included)" : " from the issue time",
                 ru_str(lat, "method") ? ru_str(lat, "method") : "unrecorded");
    }
}

/* The find-peak trials of one run, when it searched. */
static void run_find_peak(report_ctx *c, const cJSON *run)
{
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(run, "find_peak");
    if (cJSON_IsObject(fp)) {
        const char *note = ru_str(fp, "note");
        addf(c, 'p', "Find-peak search (double until a run fails or halve until one passes, down to a QPS floor, "
                     "then bisect); the figures above are of the last passing run.%s%s%s Trials in order:",
             note && note[0] ? " The search ended: " : "", note && note[0] ? note : "", note && note[0] ? "." : "");
        const char *h[3] = {"trial", "target QPS", "result"};
        tmlp_report_table(c->r, 3, h, NULL);
        const cJSON *t;
        int k = 0;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(fp, "trials")) {
            char f[3][32];
            snprintf(f[0], 32, "%d", ++k);
            snprintf(f[1], 32, "%.0f", ru_num(t, "target_qps"));
            snprintf(f[2], 32, "%s", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "valid")) ? "VALID" : "INVALID");
            const char *row[3] = {f[0], f[1], f[2]};
            tmlp_report_table_row(c->r, row, NULL);
        }
    }
}

/* Validity checks, why INVALID, early stopping and (server) the issue delay of one run. */
static void run_checks(report_ctx *c, const cJSON *run, const char *sc)
{
    char a[24], b[24], m[24];
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(run, "checks");
    if (cJSON_IsObject(checks)) {
        const char *h[2] = {"validity check", "result"};
        tmlp_report_table(c->r, 2, h, NULL);
        const char *r1[2] = {"min duration met", check_word(checks, "min_duration")};
        const char *r2[2] = {"min queries met", check_word(checks, "min_queries")};
        const char *r3[2] = {"latency bound met (server)", check_word(checks, "latency_bound")};
        const char *r4[2] = {"early stopping met", check_word(checks, "early_stopping")};
        tmlp_report_table_row(c->r, r1, NULL);
        tmlp_report_table_row(c->r, r2, NULL);
        tmlp_report_table_row(c->r, r3, NULL);
        tmlp_report_table_row(c->r, r4, NULL);
    }
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(run, "invalid_reasons"), *x;
    cJSON_ArrayForEach(x, reasons) {
        if (cJSON_IsString(x)) addf(c, 'b', "Why INVALID: %s", x->valuestring);
    }
    const cJSON *es = cJSON_GetObjectItemCaseSensitive(run, "early_stopping");
    if (cJSON_IsObject(es) && ru_str(es, "text") && *ru_str(es, "text"))
        addf(c, 'p', "%s%s", strncmp(ru_str(es, "text"), "Early stopping", 14) ? "Early stopping: " : "",
             ru_str(es, "text"));
    if (!strcmp(sc, "server"))
        addf(c, 'p', "Issue delay (actual minus scheduled issue time): p50 %s, p99 %s, max %s.",
             ns(ru_num(cJSON_GetObjectItemCaseSensitive(run, "issue_delay_ns"), "p50"), a),
             ns(ru_num(cJSON_GetObjectItemCaseSensitive(run, "issue_delay_ns"), "p99"), b),
             ns(ru_num(cJSON_GetObjectItemCaseSensitive(run, "issue_delay_ns"), "max"), m));
}

/* Outliers (Tukey fences, MADs) and the soundness warnings of n >= 2 raw latencies v; their
 * coefficient of variation into *cv_out when not NULL. */
static void run_outliers(report_ctx *c, const int64_t *v, int64_t n, double *cv_out)
{
    char a[24], b[24], s1[24], s2[24];
    double *d = ru_to_double(v, n);
    tmlp_stats_check_settings cs = tmlp_stats_check_settings_default();
    tmlp_stats_sample smp;
    if (d && tmlp_stats_sample_describe(d, n, &cs, TMLP_PCT_LOADGEN, &smp, NULL) == TMLP_OK) {
        const tmlp_stats_outliers *o = &smp.outliers;
        addf(c, 'p', "Outliers (reported, not removed): Tukey fences [%s, %s] mild / [%s, %s] severe: %" PRId64
                     " mild and %" PRId64 " severe of %" PRId64 " queries (%.2f%%), %" PRId64
                     " beyond 10 scaled MADs of the median. Coefficient of variation %.3f.",
             ns(o->low_mild, a), ns(o->high_mild, b), ns(o->low_severe, s1), ns(o->high_severe, s2), o->mild,
             o->severe, n, 100.0 * (double)(o->mild + o->severe) / (double)n, o->n_mad, smp.summary.cv);
        if (cv_out) *cv_out = smp.summary.cv;
        if (!smp.warnings) addf(c, 'p', "Soundness: no warning raised by the %d checks.", TMLP_WARN_COUNT);
        for (unsigned bit = 0; bit < TMLP_WARN_COUNT; bit++)
            if (smp.warnings & (1u << bit))
                addf(c, 'b', "Soundness warning `%s`: %s", tmlp_stats_warning_name(1u << bit),
                     tmlp_stats_warning_text(1u << bit));
    }
    free(d);
}

/* Histogram, CDF and (server) timeline of the raw latencies v of one run. */
static void run_plots(report_ctx *c, const cJSON *run, const char *label, const int64_t *v, int64_t n)
{
    char name[64], cap[256];
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(run, "settings");
    const char *sc = ru_str(run, "scenario") ? ru_str(run, "scenario") : "?";
    tmlp_error err = {0};
    char *svg = NULL;
    tmlp_status st;
    char stem[48];
    figure_stem(c, label, stem, sizeof stem);
    snprintf(name, sizeof name, "%s_histogram", stem);
    snprintf(cap, sizeof cap, "%s: latency histogram with p50/p90/p99", label);
    tmlp_percentile_method pm = TMLP_PCT_LOADGEN; /* the run's method: markers = its table */
    if (ru_str(set, "percentile_method")) (void)tmlp_percentile_method_parse(ru_str(set, "percentile_method"), &pm, NULL);
    st = tmlp_svg_latency_histogram(v, n, pm, cap, &svg, &err);
    figure(c, name, cap, st, svg, &err);
    svg = NULL;
    snprintf(name, sizeof name, "%s_cdf", stem);
    snprintf(cap, sizeof cap, "%s: latency CDF, log-scale tail", label);
    st = tmlp_svg_latency_cdf(v, n, pm, cap, &svg, &err);
    figure(c, name, cap, st, svg, &err);
    if (!strcmp(sc, "server")) {
        svg = NULL;
        snprintf(name, sizeof name, "%s_timeline", stem);
        snprintf(cap, sizeof cap, "%s: latency of each query in issue order, with the bound", label);
        /* scheduled start times when the results carry them, else the issue order */
        int64_t ns_n = 0;
        int64_t *starts = ru_i64_array(run, "start_ns", &ns_n);
        st = tmlp_svg_latency_timeline(ns_n == n ? starts : NULL, v, n, (uint64_t)ru_num(set, "target_latency_ns"),
                                       cap, &svg, &err);
        free(starts);
        figure(c, name, cap, st, svg, &err);
    }
}

static void section_run(report_ctx *c, const cJSON *run, double *cv_out)
{
    const char *label = ru_str(run, "label") ? ru_str(run, "label") : "run";
    const char *sc = ru_str(run, "scenario") ? ru_str(run, "scenario") : "?";
    int valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "valid"));
    addf(c, '3', "%s — %s", label, valid ? "VALID" : "INVALID");
    char hl[512];
    headline(run, hl, sizeof hl);
    addf(c, 'p', "%s. %.0f queries, %.0f samples, %.0f errors over %.3f s; throughput %.1f samples/s.", hl,
         ru_num(run, "queries"), ru_num(run, "samples"), ru_num(run, "errors"), ru_num(run, "duration_ns") / 1e9,
         ru_num(run, "throughput_samples_per_s"));
    run_latency_table(c, run, sc);
    run_find_peak(c, run);
    run_checks(c, run, sc);

    /* outliers and soundness from the raw latencies */
    int64_t n = 0;
    int64_t *v = ru_i64_array(run, "latencies_ns", &n);
    if (!v && !is_offline(run))
        addf(c, 'p', "No per-query latencies in this results file (bench_mlp writes them with --raw-latencies): "
                     "no outlier analysis and no latency plots for this run.");
    if (n >= 2 && !is_offline(run)) {
        run_outliers(c, v, n, cv_out);
        run_plots(c, run, label, v, n);
    } else if (!is_offline(run)) {
        addf(c, 'p', "No per-query latencies in the results: outliers, soundness checks and plots omitted.");
    }
    free(v);
}

/* ---- recommendations from the data ------------------------------------------------------ */

static void recommend_runs(report_ctx *c, const cJSON *runs)
{
    char a[24], b[24];
    const cJSON *run;
    int n = 0, n_valid = 0;
    double found_peak = 0;
    cJSON_ArrayForEach(run, runs) {
        const cJSON *fp = cJSON_GetObjectItemCaseSensitive(run, "find_peak");
        if (cJSON_IsObject(fp) && ru_num(fp, "peak_qps") > found_peak) found_peak = ru_num(fp, "peak_qps");
    }
    cJSON_ArrayForEach(run, runs) {
        n++;
        const char *sc = ru_str(run, "scenario");
        const char *label = ru_str(run, "label") ? ru_str(run, "label") : "run";
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(run, "settings");
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(run, "latency_ns");
        const cJSON *checks = cJSON_GetObjectItemCaseSensitive(run, "checks");
        int valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "valid"));
        n_valid += valid;
        const cJSON *fp = cJSON_GetObjectItemCaseSensitive(run, "find_peak");
        if (cJSON_IsObject(fp)) {
            double lo_fail = NAN, peak = ru_num(fp, "peak_qps");
            const cJSON *t;
            cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(fp, "trials")) {
                double q = ru_num(t, "target_qps");
                if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(t, "valid")) && q > peak && (isnan(lo_fail) || q < lo_fail))
                    lo_fail = q;
            }
            if (peak > 0 && !isnan(lo_fail))
                rec(c, "%s: p%g latency exceeds the %s bound above %.0f QPS (the first failing trial was %.0f QPS); "
                       "plan for at most %.0f QPS per instance, or add workers.",
                    label, 100 * ru_num(set, "target_latency_percentile"), ns(ru_num(set, "target_latency_ns"), a), peak,
                    lo_fail, peak);
            continue;
        }
        if (sc && !strcmp(sc, "server") && cJSON_IsObject(lat)) {
            double p99 = ru_num(lat, "p99"), bound = ru_num(set, "target_latency_ns"), qps = ru_num(set, "target_qps");
            if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(checks, "latency_bound")))
                rec(c, "%s: p99 %s exceeds the %s bound at %.0f QPS (%.1fx the bound): lower the target QPS or add "
                       "workers; run `bench_mlp --mode find-peak` to find the highest valid rate.",
                    label, ns(p99, a), ns(bound, b), qps, p99 / bound);
            else if (bound > 0 && p99 < 0.25 * bound && found_peak > 0)
                rec(c, "%s: p99 %s uses only %.1f%% of the %s bound at %.0f QPS; find-peak reached %.0f QPS "
                       "(%.1fx this rate) within the bound.",
                    label, ns(p99, a), 100 * p99 / bound, ns(bound, b), qps, found_peak, found_peak / qps);
            else if (bound > 0 && p99 < 0.25 * bound)
                rec(c, "%s: p99 %s uses only %.1f%% of the %s bound at %.0f QPS: the instance has headroom; "
                       "`--mode find-peak` measures how much.",
                    label, ns(p99, a), 100 * p99 / bound, ns(bound, b), qps);
        }
        /* an INVALID run: the harness's first reason names the number and what to change */
        const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(run, "invalid_reasons");
        const cJSON *r0 = NULL, *ri;
        cJSON_ArrayForEach(ri, reasons) {
            /* the latency bound has its own recommendation above */
            if (cJSON_IsString(ri) && strncmp(ri->valuestring, "latency bound", 13) != 0) {
                r0 = ri;
                break;
            }
        }
        if (!valid && r0) rec(c, "%s is INVALID: %s.", label, r0->valuestring);
        if (ru_num(run, "errors") > 0)
            rec(c, "%s: %.0f errors (unknown, repeated or never-completed samples): the figures of this run are "
                   "suspect until they are 0.",
                label, ru_num(run, "errors"));
    }
    /* offline batch sweep: the best batch, and the smallest batch already within 5% of it */
    double best = 0, b1 = NAN, bs_tp[64];
    int64_t bbest = 0, bsz[64], bmax = 0;
    int nb = 0;
    cJSON_ArrayForEach(run, runs) {
        if (!is_offline(run) || nb >= 64) continue;
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(run, "settings");
        double tp = ru_num(run, "throughput_samples_per_s");
        int64_t bs = (int64_t)ru_num(set, "offline_batch_size");
        if (isnan(tp) || bs < 1) continue;
        bsz[nb] = bs;
        bs_tp[nb++] = tp;
        if (bs == 1) b1 = tp;
        if (bs > bmax) bmax = bs;
        if (tp > best) {
            best = tp;
            bbest = bs;
        }
    }
    if (bbest > 1 && !isnan(b1) && b1 > 0 && best >= 1.5 * b1)
        rec(c, "offline: batch %" PRId64 " gives the highest throughput, %.0f samples/s = %.2fx batch 1 (%.0f "
               "samples/s): for throughput-bound work use the largest batch the latency budget allows.",
            bbest, best, best / b1, b1);
    else if (bbest > 1 && !isnan(b1) && b1 > 0)
        rec(c, "offline: the best batch (%" PRId64 ", %.0f samples/s) is only %.2fx batch 1 (%.0f samples/s): "
               "batching buys little for this model here, so keep batches small where latency matters.",
            bbest, best, best / b1, b1);
    int64_t enough = 0;
    double enough_tp = 0;
    for (int i = 0; i < nb; i++)
        if (bs_tp[i] >= 0.95 * best && (!enough || bsz[i] < enough)) {
            enough = bsz[i];
            enough_tp = bs_tp[i];
        }
    if (nb >= 2 && enough && enough < bmax)
        rec(c, "offline: batch %" PRId64 " already reaches %.1f%% of the best throughput (%.0f of %.0f samples/s); "
               "batches above it add latency for at most %.1f%% more.",
            enough, 100 * enough_tp / best, enough_tp, best, 100 * (best / enough_tp - 1));
    if (n > 0 && n_valid == n && c->n_recs == 0)
        rec(c, "All %d runs are VALID and no figure crossed a threshold: no change suggested by this data.", n);
}

static void recommend_profile(report_ctx *c)
{
    for (int k = 0; k < 2; k++) {
        if (!c->have_profile[k]) continue;
        const ru_profile *p = &c->prof[k];
        int bl = 0;
        for (int l = 1; l < p->n_layers; l++)
            if (p->layer[l].mean_ns > p->layer[bl].mean_ns) bl = l;
        double gf = p->flops[bl] / p->layer[bl].mean_ns;
        double ai = p->flops[bl] / p->bytes[bl], ridge = p->peak_gflops / p->dram_gbs;
        rec(c, "batch %" PRId64 ": layer \"%s\" takes %.1f%% of the forward at %.1f GFLOP/s = %.1f%% of the measured "
               "sgemm peak (%.1f GFLOP/s); at %.2f FLOP/byte it is %s-bound (ridge %.2f)%s.",
            p->batch, p->names[bl], 100 * p->share[bl], gf, 100 * gf / p->peak_gflops, p->peak_gflops, ai,
            ai < ridge ? "memory" : "compute", ridge,
            gf > p->peak_gflops ? " - above the probe's figure, so the probe ran while the machine was busier: "
                                  "treat the peak as a lower bound"
            : ai < ridge        ? ": larger batches reuse each weight more and raise its intensity"
                                : "");
    }
}

static void section_profile(report_ctx *c)
{
    if (!c->have_profile[0] && !c->have_profile[1]) return;
    addf(c, '2', "Per-layer profile");
    for (int k = 0; k < 2; k++) {
        if (!c->have_profile[k]) continue;
        const ru_profile *p = &c->prof[k];
        char a[24], b[24], d[24];
        double ridge = p->peak_gflops / p->dram_gbs;
        addf(c, '3', "Batch %" PRId64, p->batch);
        addf(c, 'p', "%" PRId64 " forwards timed layer by layer (a Dense fused with its ReLU reports the time on the "
                     "Dense). Measured on this machine: sgemm 512x512x512 %.1f GFLOP/s with %d BLAS thread(s) "
                     "(best of 4 rounds); streaming read of 64 MB %.1f GB/s; ridge point %.2f FLOP/byte.",
             p->iterations, p->peak_gflops, p->blas_threads, p->dram_gbs, ridge);
        const char *h[9] = {"layer", "mean", "p50", "p99", "share", "MFLOP", "FLOP/byte", "GFLOP/s", "% of peak"};
        tmlp_report_table(c->r, 9, h, NULL);
        for (int l = 0; l < p->n_layers; l++) {
            char f[9][64];
            double gf = p->layer[l].mean_ns > 0 ? p->flops[l] / p->layer[l].mean_ns : NAN;
            snprintf(f[0], 64, "%s", p->names[l]);
            ns(p->layer[l].mean_ns, f[1]);
            ns(p->layer[l].p50_ns, f[2]);
            ns(p->layer[l].p99_ns, f[3]);
            snprintf(f[4], 64, "%.1f%%", 100 * p->share[l]);
            snprintf(f[5], 64, "%.3f", p->flops[l] / 1e6);
            snprintf(f[6], 64, "%.2f", p->flops[l] / p->bytes[l]);
            if (isnan(gf)) snprintf(f[7], 64, "fused");
            else snprintf(f[7], 64, "%.2f", gf);
            if (isnan(gf)) snprintf(f[8], 64, "-");
            else snprintf(f[8], 64, "%.1f%%", 100 * gf / p->peak_gflops);
            const char *row[9] = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]};
            tmlp_report_table_row(c->r, row, NULL);
        }
        char e[24], f2[24], g[24];
        const ru_stage *st[3] = {&p->preprocess, &p->forward, &p->postprocess};
        int big = 0;
        for (int i = 1; i < 3; i++)
            if (st[i]->mean_ns > st[big]->mean_ns) big = i;
        static const char *const sn[3] = {"input preparation", "the forward pass", "postprocessing"};
        addf(c, 'p', "Pipeline per query (%s): input %s, forward %s, argmax %s (means; p99 %s, %s, %s). "
                     "Bottleneck: %s, %.1f%% of the query time.",
             p->input_kind, ns(p->preprocess.mean_ns, a), ns(p->forward.mean_ns, b), ns(p->postprocess.mean_ns, d),
             ns(p->preprocess.p99_ns, e), ns(p->forward.p99_ns, f2), ns(p->postprocess.p99_ns, g), sn[big],
             100 * st[big]->mean_ns / p->total.mean_ns);
        const char *names[RU_MAX_LAYERS];
        double t[RU_MAX_LAYERS];
        for (int l = 0; l < p->n_layers; l++) {
            names[l] = p->names[l];
            t[l] = p->layer[l].mean_ns;
        }
        char *svg = NULL, name[32], cap[96];
        tmlp_error err = {0};
        snprintf(name, sizeof name, "layers_b%" PRId64, p->batch);
        snprintf(cap, sizeof cap, "Mean time per layer, batch %" PRId64, p->batch);
        tmlp_status s2 = tmlp_svg_layer_breakdown(names, t, p->n_layers, cap, &svg, &err);
        figure(c, name, cap, s2, svg, &err);
    }
}

static void section_sweep(report_ctx *c, const cJSON *runs)
{
    int64_t bs[64];
    double tp[64];
    int n = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs) {
        if (!is_offline(run) || n >= 64) continue;
        bs[n] = (int64_t)ru_num(cJSON_GetObjectItemCaseSensitive(run, "settings"), "offline_batch_size");
        tp[n] = ru_num(run, "throughput_samples_per_s");
        if (bs[n] >= 1 && tp[n] >= 0) n++;
    }
    if (n < 2) return;
    addf(c, '2', "Offline throughput versus batch size");
    const char *h[3] = {"batch", "samples/s", "vs batch 1"};
    tmlp_report_table(c->r, 3, h, NULL);
    double b1 = NAN;
    for (int i = 0; i < n; i++)
        if (bs[i] == 1) b1 = tp[i];
    for (int i = 0; i < n; i++) {
        char f[3][32];
        snprintf(f[0], 32, "%" PRId64, bs[i]);
        snprintf(f[1], 32, "%.0f", tp[i]);
        if (isnan(b1)) snprintf(f[2], 32, "n/a");
        else snprintf(f[2], 32, "%.2fx", tp[i] / b1);
        const char *row[3] = {f[0], f[1], f[2]};
        tmlp_report_table_row(c->r, row, NULL);
    }
    char *svg = NULL;
    tmlp_error err = {0};
    tmlp_status st = tmlp_svg_throughput_batch(bs, tp, n, "Offline throughput vs batch size", &svg, &err);
    figure(c, "offline_sweep", "Offline throughput versus batch size (one offline run per size)", st, svg, &err);
}

static void section_accuracy(report_ctx *c, const cJSON *runs)
{
    addf(c, '2', "Accuracy");
    int any = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs) {
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(run, "accuracy");
        if (!cJSON_IsObject(acc)) continue;
        if (!any) {
            const char *h[4] = {"run", "correct", "scored", "accuracy"};
            tmlp_report_table(c->r, 4, h, NULL);
        }
        any = 1;
        char f[4][48];
        snprintf(f[0], 48, "%s", ru_str(run, "label") ? ru_str(run, "label") : "?");
        snprintf(f[1], 48, "%.0f", ru_num(acc, "correct"));
        snprintf(f[2], 48, "%.0f", ru_num(acc, "total"));
        snprintf(f[3], 48, "%.2f%%", 100 * ru_num(acc, "value"));
        const char *row[4] = {f[0], f[1], f[2], f[3]};
        tmlp_report_table_row(c->r, row, NULL);
    }
    if (!any)
        addf(c, 'p', "Not measured: the data set has no labels (or no run scored predictions). Run with "
                     "`--data fashion` or a labelled file to measure it.");
}

/* ---- weight precisions: latency versus accuracy ------------------------------------------- */

/* "precisions" (live mode with --precisions, kept in results.json): one entry per weight
 * precision with its single-stream and offline figures, its accuracy and the paired
 * comparison with f32 on the same samples (the accuracy run's "paired_vs_f32"). */
static void section_precisions(report_ctx *c, const cJSON *precs)
{
    if (cJSON_GetArraySize(precs) < 1) return;
    addf(c, '2', "Weight precision: latency versus accuracy");
    const cJSON *ref = ru_find_by(precs, "precision", "f32");
    const cJSON *rss = ref ? cJSON_GetObjectItemCaseSensitive(ref, "single_stream") : NULL;
    const cJSON *rof = ref ? cJSON_GetObjectItemCaseSensitive(ref, "offline") : NULL;
    const cJSON *p;
    double batch = NAN;
    cJSON_ArrayForEach(p, precs) {
        double b = ru_num(cJSON_GetObjectItemCaseSensitive(p, "offline"), "batch");
        if (!isnan(b)) batch = b;
    }
    addf(c, 'p', "Each precision ran in turn in this process with the same settings: single-stream and offline "
                 "(batch %.0f) for the latency, then `--mode accuracy` over the whole data set, whose paired "
                 "comparison puts the same model at f32 beside it on the same samples (McNemar on the discordant "
                 "samples; the difference with its paired %s interval; docs/precision.md). Each latency figure is "
                 "one run (with --repeat, the median of its repetitions): differences of a few percent may be "
                 "noise.",
         batch, "95%");
    const char *h[12] = {"precision", "instructions", "single-stream p50", "p99", "p50 vs f32",
                         "offline samples/s", "vs f32", "accuracy", "accuracy vs f32 (paired, 95% CI)",
                         "McNemar p", "top-1 agreement with f32", "VALID"};
    tmlp_report_table(c->r, 12, h, NULL);
    cJSON_ArrayForEach(p, precs) {
        const cJSON *ss = cJSON_GetObjectItemCaseSensitive(p, "single_stream");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(p, "offline");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(p, "paired_vs_f32");
        const cJSON *mc = cJSON_GetObjectItemCaseSensitive(pr, "mcnemar");
        const char *name = ru_str(p, "precision") ? ru_str(p, "precision") : "?";
        int is_ref = ref == p;
        char f[12][80];
        snprintf(f[0], 80, "%s", name);
        snprintf(f[1], 80, "%s", ru_str(p, "isa") ? ru_str(p, "isa") : "-");
        double p50 = ru_num(ss, "p50_ns"), p99 = ru_num(ss, "p99_ns"), tp = ru_num(of, "samples_per_s");
        if (isnan(p50)) snprintf(f[2], 80, "not measured");
        else ns(p50, f[2]);
        if (isnan(p99)) snprintf(f[3], 80, "-");
        else ns(p99, f[3]);
        double r50 = ru_num(rss, "p50_ns"), rtp = ru_num(rof, "samples_per_s");
        if (is_ref) snprintf(f[4], 80, "1.00x");
        else if (p50 > 0 && r50 > 0) snprintf(f[4], 80, "%.2fx faster", r50 / p50);
        else snprintf(f[4], 80, "n/a");
        if (isnan(tp)) snprintf(f[5], 80, "not measured");
        else snprintf(f[5], 80, "%.0f", tp);
        if (is_ref) snprintf(f[6], 80, "1.00x");
        else if (tp > 0 && rtp > 0) snprintf(f[6], 80, "%.2fx", tp / rtp);
        else snprintf(f[6], 80, "n/a");
        double acc = ru_num(p, "accuracy");
        if (isnan(acc)) snprintf(f[7], 80, "n/a");
        else snprintf(f[7], 80, "%.4f", acc);
        if (is_ref) {
            snprintf(f[8], 80, "reference");
            snprintf(f[9], 80, "-");
            snprintf(f[10], 80, "-");
        } else if (cJSON_IsObject(pr) && cJSON_IsObject(mc)) {
            snprintf(f[8], 80, "%+.2f points [%+.2f, %+.2f]", 100 * ru_num(pr, "difference"),
                     100 * ru_num(pr, "ci_low"), 100 * ru_num(pr, "ci_high"));
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(pr, "discordant");
            snprintf(f[9], 80, "%.3g (%s; %.0f discordant)", ru_num(mc, "p"),
                     ru_str(mc, "method") && !strcmp(ru_str(mc, "method"), "exact_binomial") ? "exact" : "chi-square",
                     ru_num(d, "reference_only") + ru_num(d, "precision_only"));
            snprintf(f[10], 80, "%.4f", ru_num(pr, "top1_agreement"));
        } else {
            snprintf(f[8], 80, "n/a");
            snprintf(f[9], 80, "n/a");
            snprintf(f[10], 80, "n/a");
        }
        int v1 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ss, "valid"));
        int v2 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(of, "valid"));
        if (isnan(p50) && isnan(tp)) snprintf(f[11], 80, "not measured");
        else snprintf(f[11], 80, "%s", v1 && v2 ? "VALID" : !v1 && !v2 ? "INVALID" : v1 ? "offline INVALID"
                                                                                  : "single-stream INVALID");
        const char *row[12];
        for (int i = 0; i < 12; i++) row[i] = f[i];
        tmlp_report_table_row(c->r, row, NULL);
    }
    cJSON_ArrayForEach(p, precs) {
        const char *note = ru_str(p, "note");
        if (note && *note) addf(c, 'b', "%s: %s", ru_str(p, "precision") ? ru_str(p, "precision") : "?", note);
    }
    addf(c, 'p', "The runs of this table are beside this report: precision_<p>.json (latency) and "
                 "precision_<p>_accuracy.json (accuracy, with its \"paired_vs_f32\").");
}

/* One answer per reduced precision: how much faster, at what accuracy cost. */
static void recommend_precisions(report_ctx *c, const cJSON *precs)
{
    const cJSON *ref = ru_find_by(precs, "precision", "f32"), *p;
    if (!ref) return;
    const double r50 = ru_num(cJSON_GetObjectItemCaseSensitive(ref, "single_stream"), "p50_ns");
    cJSON_ArrayForEach(p, precs) {
        if (p == ref) continue;
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(p, "paired_vs_f32");
        const cJSON *mc = cJSON_GetObjectItemCaseSensitive(pr, "mcnemar");
        const double p50 = ru_num(cJSON_GetObjectItemCaseSensitive(p, "single_stream"), "p50_ns");
        const char *name = ru_str(p, "precision") ? ru_str(p, "precision") : "?";
        if (!(p50 > 0 && r50 > 0) || !cJSON_IsObject(mc)) continue;
        const double pv = ru_num(mc, "p"), diff = ru_num(pr, "difference");
        rec(c, "%s: single-stream p50 %.2fx %s than f32, accuracy %+.2f points (95%% CI [%+.2f, %+.2f], McNemar p "
               "%.3g): %s.",
            name, r50 >= p50 ? r50 / p50 : p50 / r50, r50 >= p50 ? "faster" : "slower", 100 * diff,
            100 * ru_num(pr, "ci_low"), 100 * ru_num(pr, "ci_high"), pv,
            pv >= 0.05 ? (r50 > p50 ? "no significant accuracy cost on this data; worth it where this latency matters"
                                    : "no significant accuracy difference, and no speed-up here")
            : diff < 0 ? "a significant accuracy loss; weigh it against the speed-up"
                       : "significantly more accurate on this data (check it holds on other data)");
    }
}

static void section_resources(report_ctx *c)
{
    addf(c, '2', "Resource usage");
    if (!c->have_monitor) {
        addf(c, 'p', "Not recorded: the results file has no \"resources\" block (the run was made with "
                     "`--monitor-interval-ms 0`, or by a bench_mlp without the resource monitor).");
        return;
    }
    const tmlp_monitor_summary *m = &c->mon;
    if (m->n_samples > 0)
        addf(c, 'p', "Sampled every %.0f ms from /proc/self/stat, /proc/self/status, /proc/stat and getrusage over "
                     "the whole run (%.2f s, %" PRId64 " samples; series in resources.json and, as Chrome trace "
                     "counters, resources.trace.json). Absent figures could not be read.",
             c->mon_interval_ms, (double)m->duration_ns / 1e9, m->n_samples);
    else
        addf(c, 'p', "From the \"resources\" block of the results file (%.2f s sampled every %.0f ms by the resource "
                     "monitor). Absent figures could not be read.",
             (double)m->duration_ns / 1e9, c->mon_interval_ms);
    const char *h[2] = {"figure", "value"};
    tmlp_report_table(c->r, 2, h, NULL);
    if (m->has_cpu) rowf(c, "process CPU (% of one core)", "user %.1f%%, system %.1f%%", m->cpu_user_pct, m->cpu_system_pct);
    else rowf(c, "process CPU", "absent (/proc/self/stat unreadable)");
    if (m->has_per_core) {
        char v[256];
        char *p = v;
        size_t left = sizeof v;
        p[0] = 0;
        for (int i = 0; i < m->n_cores && left > 16; i++) {
            int k = snprintf(p, left, "%scpu%d %.1f%%", i ? ", " : "", i, m->core_busy_pct[i]);
            p += k;
            left -= (size_t)k;
        }
        rowf(c, "cores busy (all processes)", "%s", v);
    } else {
        rowf(c, "cores busy", "absent (/proc/stat unreadable)");
    }
    if (m->has_rss)
        rowf(c, "resident memory", "mean %.1f MB, peak %.1f MB (VmHWM %.1f MB)", m->rss_mean_bytes / 1048576.0,
            (double)m->rss_peak_bytes / 1048576.0, (double)m->vm_hwm_bytes / 1048576.0);
    else rowf(c, "resident memory", "absent (/proc/self/status unreadable)");
    if (m->has_ctx)
        rowf(c, "context switches", "%" PRId64 " voluntary, %" PRId64 " involuntary", m->voluntary_ctx, m->involuntary_ctx);
    if (m->has_rusage)
        rowf(c, "page faults", "%" PRId64 " minor, %" PRId64 " major", m->minor_faults, m->major_faults);
    if (m->max_threads > 0) rowf(c, "threads (max)", "%d", m->max_threads);
}

static void recommend_resources(report_ctx *c)
{
    if (!c->have_monitor || !c->mon.has_per_core || !c->mon.has_cpu) return;
    double busy = 0;
    for (int i = 0; i < c->mon.n_cores; i++) busy += c->mon.core_busy_pct[i];
    double own = c->mon.cpu_user_pct + c->mon.cpu_system_pct;
    if (busy - own > 50)
        rec(c, "the cores were %.0f%% busy in total (sum over %d cores) but this process used %.0f%%: about %.0f%% "
               "of a core went to other work, which inflates tails; rerun on a quiet machine for reference figures.",
            busy, c->mon.n_cores, own, busy - own);
    if (c->mon.major_faults > 0)
        rec(c, "%" PRId64 " major page faults during the run: the model or data was paged in from disk; warm up longer.",
            c->mon.major_faults);
}

/* ---- the whole document ----------------------------------------------------------------- */

static int build(report_ctx *c, const cJSON *doc, const char *source)
{
    /* A run without a scenario is not a run: a report of "0 recommendations" on nonsense
     * would look like a clean bill of health. */
    const cJSON *runs = tmlp_results_runs(doc, source);
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(doc, "context");
    if (!runs) return TMLP_EXIT_RUNTIME;
    if (tmlp_report_create("tinymlp benchmark report", &c->r, NULL) != TMLP_OK) {
        tmlp_cli_error("report: out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    /* summary first: one line per run with its headline number */
    addf(c, '2', "Summary of findings");
    const cJSON *run;
    int nrun = 0, nvalid = 0;
    double acc_correct = 0, acc_total = 0, acc_lo = 1, acc_hi = 0;
    cJSON_ArrayForEach(run, runs) {
        char hl[512];
        headline(run, hl, sizeof hl);
        addf(c, 'b', "%s", hl);
        nrun++;
        nvalid += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "valid"));
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(run, "accuracy");
        if (cJSON_IsObject(acc) && ru_num(acc, "total") > 0) {
            double v = ru_num(acc, "value");
            acc_correct += ru_num(acc, "correct");
            acc_total += ru_num(acc, "total");
            if (v < acc_lo) acc_lo = v;
            if (v > acc_hi) acc_hi = v;
        }
    }
    if (acc_total > 0)
        addf(c, 'b', "accuracy %.2f%% over %.0f scored predictions (all runs pooled; per run %.2f%%–%.2f%%)",
             100 * acc_correct / acc_total, acc_total, 100 * acc_lo, 100 * acc_hi);
    addf(c, 'p', "%d of %d runs VALID. Results from `%s`.", nvalid, nrun, source);
    if (c->have_profile[0]) {
        const ru_profile *p = &c->prof[0];
        char t[24];
        addf(c, 'p', "One batch-1 query takes %s end to end on average (forward %.1f%%).", ns(p->total.mean_ns, t),
             100 * p->forward.mean_ns / p->total.mean_ns);
    }
    section_methodology(c, runs, ctx);
    section_environment(c, ctx);
    addf(c, '2', "Scenarios");
    char noisy[400] = "";
    cJSON_ArrayForEach(run, runs) {
        double cv = NAN;
        section_run(c, run, &cv);
        if (cv > 0.5 && !is_offline(run) && strlen(noisy) < sizeof noisy - 64)
            snprintf(noisy + strlen(noisy), sizeof noisy - strlen(noisy), "%s%s %.2f", noisy[0] ? ", " : "",
                     ru_str(run, "label") ? ru_str(run, "label") : "run", cv);
    }
    if (noisy[0])
        rec(c, "latency coefficient of variation above 0.5 (%s): the spread is large; check for competing load, "
               "CPU frequency changes or thread migration before trusting small differences.",
            noisy);
    section_sweep(c, runs);
    section_accuracy(c, runs);
    const cJSON *precs = cJSON_GetObjectItemCaseSensitive(doc, "precisions");
    section_precisions(c, precs);
    section_profile(c);
    section_resources(c);
    recommend_runs(c, runs);
    recommend_precisions(c, precs);
    recommend_profile(c);
    recommend_resources(c);
    addf(c, '2', "Recommendations");
    addf(c, 'p', "Each follows from the figures above; none is generic advice.");
    for (int i = 0; i < c->n_recs; i++) addf(c, 'b', "%s", c->recs[i]);
    return 0;
}

/* Write the cJSON text `text` (NULL: it could not be made, out of memory) to path whole,
 * and free it; 0, or TMLP_EXIT_RUNTIME after an error line led by `who`. */
static int write_text(const char *path, char *text, const char *who)
{
    tmlp_error err = {0};
    int rc = 0;
    if (!text) {
        tmlp_cli_error("%scannot write %s: out of memory", who, path);
        rc = TMLP_EXIT_RUNTIME;
    } else if (tmlp_report_write_file(path, text, &err) != TMLP_OK) {
        tmlp_cli_error("%s%s", who, err.message);
        rc = TMLP_EXIT_RUNTIME;
    }
    cJSON_free(text);
    return rc;
}

/* DIR/resources.json: the summary and the series, by the one writer of those names
 * (tmlp_out_resources_json, bench/output.c) that also fills a run's "resources" block. */
static int write_resources_json(const char *dir, const tmlp_monitor *mon, const tmlp_monitor_summary *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/resources.json", dir);
    unsigned long failed = tmlp_json_failures();
    cJSON *o = tmlp_out_resources_json(s, 10, mon);
    if (o) tmlp_json_add(o, "schema_version", cJSON_CreateNumber(TMLP_RESULT_SCHEMA_VERSION));
    char *text = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (text && tmlp_json_failures() != failed) { /* a key went missing: write nothing */
        cJSON_free(text);
        text = NULL;
    }
    return write_text(path, text, "");
}

/* A "resources" object in a results file (same names as resources.json), if the run
 * that wrote it sampled them; absent or null figures stay absent. */
static void monitor_from_json(report_ctx *c, const cJSON *r)
{
    if (!cJSON_IsObject(r)) return;
    tmlp_monitor_summary *m = &c->mon;
    memset(m, 0, sizeof *m);
    m->duration_ns = (uint64_t)(ru_num(r, "duration_ns") > 0 ? ru_num(r, "duration_ns") : 0);
    m->cpu_user_pct = ru_num(r, "cpu_user_pct");
    m->cpu_system_pct = ru_num(r, "cpu_system_pct");
    m->has_cpu = !isnan(m->cpu_user_pct) && !isnan(m->cpu_system_pct);
    double peak = ru_num(r, "rss_peak_bytes"), mean = ru_num(r, "rss_mean_bytes"), hwm = ru_num(r, "vm_hwm_bytes");
    m->has_rss = !isnan(peak);
    m->rss_peak_bytes = m->has_rss ? (int64_t)peak : -1;
    m->rss_mean_bytes = isnan(mean) ? peak : mean;
    m->vm_hwm_bytes = isnan(hwm) ? (int64_t)peak : (int64_t)hwm;
    m->voluntary_ctx = (int64_t)ru_num(r, "voluntary_ctx");
    m->involuntary_ctx = (int64_t)ru_num(r, "involuntary_ctx");
    m->has_ctx = !isnan(ru_num(r, "voluntary_ctx")) && !isnan(ru_num(r, "involuntary_ctx"));
    m->minor_faults = (int64_t)ru_num(r, "minor_faults");
    m->major_faults = (int64_t)ru_num(r, "major_faults");
    m->has_rusage = !isnan(ru_num(r, "minor_faults")) && !isnan(ru_num(r, "major_faults"));
    const cJSON *cores = cJSON_GetObjectItemCaseSensitive(r, "core_busy_pct"), *x;
    cJSON_ArrayForEach(x, cores) {
        if (!cJSON_IsNumber(x) || m->n_cores >= TMLP_MONITOR_MAX_CORES) break;
        m->core_busy_pct[m->n_cores++] = x->valuedouble;
    }
    m->has_per_core = m->n_cores > 0;
    double thr = ru_num(r, "max_threads"), iv = ru_num(r, "interval_ms");
    m->max_threads = isnan(thr) ? -1 : (int)thr;
    if (iv > 0) c->mon_interval_ms = iv;
    c->have_monitor = m->has_cpu || m->has_rss;
}

static void print_help(FILE *f)
{
    fputs("Usage: bench_mlp report --output DIR [run options]\n"
          "       bench_mlp report --from results.json --output DIR [--profile]\n"
          "Write DIR/report.md, DIR/index.html (self-contained) and DIR/*.svg: summary in numbers,\n"
          "methodology, environment, per-scenario latency tables, validity, early stopping, outliers\n"
          "and soundness warnings, plots, offline batch sweep, accuracy, per-layer profile, resource\n"
          "usage and recommendations derived from the data.\n"
          "  --output DIR     where to write (created if missing, else replaced whole)\n"
          "  --from FILE      report on a saved `bench_mlp --format json` results file\n"
          "  --profile        with --from: also profile the model named in the file's context\n"
          "  --no-profile     skip the per-layer profile\n"
          "  --history DB     also record the results document in the results history DB\n"
          "                   (`bench_mlp history`, docs/history.md)\n"
          "  --precisions LIST\n"
          "                   live mode: also run single-stream, offline and --mode accuracy at each\n"
          "                   weight precision of LIST (f32,bf16,int8; two or more) and add a\n"
          "                   latency-vs-accuracy table with the paired comparison against f32\n"
          "  --no-find-peak   live mode: skip the server find-peak search (run unless --scenario\n"
          "                   or --mode is given; trials of 500 ms unless --min-duration-ms/--quick)\n"
          "  --quick          live mode: short runs (as bench_mlp --quick); --version, -h, --help\n"
          "Run options (live mode) are those of `bench_mlp --help`; without --batch the offline\n"
          "scenario sweeps --batch 1,8,32,256, and without --min-duration-ms (or --quick) each\n"
          "run lasts at least 1 s (bench_mlp's default is 2 s).\n",
          f);
}

static void run_profiles(report_ctx *c, const char *model, const char *layers, const char *data)
{
    tmlp_model *m = NULL;
    tmlp_dataset *d = NULL;
    char msrc[4096], dsrc[4096];
    if (ru_load_model(model, layers, &m, msrc, sizeof msrc) || ru_load_data(data, m, &d, dsrc, sizeof dsrc)) {
        tmlp_cli_error("report: per-layer profile skipped (see the error above)");
        tmlp_model_destroy(m);
        return;
    }
    tmlp_blas_set_threads(1, NULL);
    c->have_profile[0] = ru_profile_run(m, d, 1, 100, 2000, &c->prof[0]) == 0;
    c->have_profile[1] = ru_profile_run_with(m, d, 256, 5, 100, c->have_profile[0] ? &c->prof[0] : NULL,
                                             &c->prof[1]) == 0;
    tmlp_dataset_destroy(d);
    tmlp_model_destroy(m);
}

/* ---- live mode: the runs, in this process (workload.h) ---------------------------------- */

#define MAX_PRECISIONS 3

/* --precisions f32,bf16,int8: parse and check the list into names (at most MAX_PRECISIONS,
 * distinct, at least two). 0 or TMLP_EXIT_USAGE. */
static int parse_precisions(const char *list, char names[MAX_PRECISIONS][8], int *n)
{
    *n = 0;
    const char *s = list;
    while (*s) {
        size_t l = strcspn(s, ",");
        char one[16];
        snprintf(one, sizeof one, "%.*s", (int)(l < 15 ? l : 15), s);
        tmlp_precision p;
        if (tmlp_precision_parse(one, &p, NULL) != TMLP_OK || p == TMLP_PRECISION_AUTO)
            return tmlp_cli_usage_error("--precisions: '%s' is not one of f32, bf16, int8", one);
        for (int i = 0; i < *n; i++)
            if (!strcmp(names[i], tmlp_precision_name(p)))
                return tmlp_cli_usage_error("--precisions: %s is listed twice", one);
        if (*n >= MAX_PRECISIONS) return tmlp_cli_usage_error("--precisions: at most %d precisions", MAX_PRECISIONS);
        snprintf(names[(*n)++], 8, "%s", tmlp_precision_name(p));
        s += l;
        if (*s == ',') s++;
    }
    if (*n < 2)
        return tmlp_cli_usage_error("--precisions: list two or more (f32,bf16,int8); one precision is --precision P");
    return 0;
}

/* The table entry of one precision from its two results files (either may be NULL). */
static cJSON *precision_json(const char *name, const cJSON *lat, const cJSON *acc, const char *note)
{
    cJSON *e = cJSON_CreateObject();
    tmlp_json_add(e, "precision", cJSON_CreateString(name));
    const cJSON *kern = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(lat, "context"), "kernels");
    tmlp_json_add(e, "isa", ru_str(kern, "isa") ? cJSON_CreateString(ru_str(kern, "isa")) : cJSON_CreateNull());
    char file[64];
    snprintf(file, sizeof file, "precision_%s.json", name);
    tmlp_json_add(e, "results", lat ? cJSON_CreateString(file) : cJSON_CreateNull());
    snprintf(file, sizeof file, "precision_%s_accuracy.json", name);
    tmlp_json_add(e, "accuracy_results", acc ? cJSON_CreateString(file) : cJSON_CreateNull());
    const cJSON *run, *ss = NULL, *of = NULL;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(lat, "runs")) {
        const char *sc = ru_str(run, "scenario");
        double b = ru_num(cJSON_GetObjectItemCaseSensitive(run, "settings"), "offline_batch_size");
        if (sc && !strcmp(sc, "single-stream") && !ss) ss = run;
        if (sc && !strcmp(sc, "offline") &&
            (!of || b > ru_num(cJSON_GetObjectItemCaseSensitive(of, "settings"), "offline_batch_size")))
            of = run; /* the largest batch */
    }
    cJSON *o = cJSON_CreateObject();
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(ss, "latency_ns");
    tmlp_json_add(o, "p50_ns", ss && !isnan(ru_num(l, "p50")) ? cJSON_CreateNumber(ru_num(l, "p50")) : cJSON_CreateNull());
    tmlp_json_add(o, "p99_ns", ss && !isnan(ru_num(l, "p99")) ? cJSON_CreateNumber(ru_num(l, "p99")) : cJSON_CreateNull());
    tmlp_json_add(o, "valid", cJSON_CreateBool(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ss, "valid"))));
    tmlp_json_add(e, "single_stream", o);
    o = cJSON_CreateObject();
    double b = ru_num(cJSON_GetObjectItemCaseSensitive(of, "settings"), "offline_batch_size");
    double tp = ru_num(of, "throughput_samples_per_s");
    tmlp_json_add(o, "batch", of && !isnan(b) ? cJSON_CreateNumber(b) : cJSON_CreateNull());
    tmlp_json_add(o, "samples_per_s", of && !isnan(tp) ? cJSON_CreateNumber(tp) : cJSON_CreateNull());
    tmlp_json_add(o, "valid", cJSON_CreateBool(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(of, "valid"))));
    tmlp_json_add(e, "offline", o);
    const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(acc, "runs"), 0);
    double av = ru_num(cJSON_GetObjectItemCaseSensitive(a0, "accuracy"), "value");
    tmlp_json_add(e, "accuracy", isnan(av) ? cJSON_CreateNull() : cJSON_CreateNumber(av));
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(acc, "paired_vs_f32");
    tmlp_json_add(e, "paired_vs_f32", pr ? cJSON_Duplicate(pr, 1) : cJSON_CreateNull());
    tmlp_json_add(e, "note", cJSON_CreateString(note ? note : ""));
    return e;
}

/* The report's own options; everything else is a run option (workload_opts.c's table). */
typedef struct report_args {
    const char *dir, *from;
    const char *history;       /* --history DB or NULL */
    const char *work;          /* where files are written: a temporary sibling of dir, swapped in at the end */
    int profile;               /* -1 default, 0 --no-profile, 1 --profile */
    int find_peak;
    char prec_names[MAX_PRECISIONS][8];
    int n_prec;
    int argc;                  /* the command line, to name a run option --from refuses */
    char **argv;
} report_args;

enum { ROPT_OUTPUT = TMLP_RUN_OPT_EXTRA, ROPT_FROM, ROPT_PROFILE, ROPT_NO_PROFILE, ROPT_NO_FIND_PEAK,
       ROPT_PRECISIONS, ROPT_FORMAT, ROPT_TRACE, ROPT_HISTORY };
static const struct option report_options[] = {
    {"output", required_argument, NULL, ROPT_OUTPUT},   {"from", required_argument, NULL, ROPT_FROM},
    {"profile", no_argument, NULL, ROPT_PROFILE},       {"no-profile", no_argument, NULL, ROPT_NO_PROFILE},
    {"no-find-peak", no_argument, NULL, ROPT_NO_FIND_PEAK},
    {"precisions", required_argument, NULL, ROPT_PRECISIONS},
    {"format", required_argument, NULL, ROPT_FORMAT},   {"trace", required_argument, NULL, ROPT_TRACE},
    {"history", required_argument, NULL, ROPT_HISTORY},
    {NULL, 0, NULL, 0}};

static int report_opt(void *user, int val, const char *arg)
{
    report_args *a = user;
    switch (val) {
    case ROPT_OUTPUT: a->dir = arg; return 0;
    case ROPT_FROM: a->from = arg; return 0;
    case ROPT_HISTORY: a->history = arg; return 0;
    case ROPT_PROFILE: a->profile = 1; return 0;
    case ROPT_NO_PROFILE: a->profile = 0; return 0;
    case ROPT_NO_FIND_PEAK: a->find_peak = 0; return 0;
    case ROPT_PRECISIONS: return parse_precisions(arg, a->prec_names, &a->n_prec);
    default:
        return tmlp_cli_usage_error("report: %s is not a report option (the report writes its own files)",
                                    val == ROPT_FORMAT ? "--format" : "--trace");
    }
}

/* The first command-line word that is not a report option (for the --from error). */
static const char *first_run_option(const report_args *a)
{
    for (int i = 1; i < a->argc; i++) {
        const char *w = a->argv[i];
        int ours = 0;
        for (const struct option *r = report_options; r->name && !ours; r++)
            if (!strncmp(w, "--", 2) && !strcmp(w + 2, r->name)) {
                ours = 1;
                if (r->has_arg == required_argument) i++;
            } else if (!strncmp(w, "--", 2) && !strncmp(w + 2, r->name, strlen(r->name)) && w[2 + strlen(r->name)] == '=')
                ours = 1;
        if (!ours) return w;
    }
    return "?";
}

/* Parse the command line: report options into a, run options into o. 0, an exit code,
 * or -1 when --help was printed. */
static int parse_report(int argc, char **argv, report_args *a, tmlp_run_opts *o)
{
    int done = 0, rc;
    memset(a, 0, sizeof *a);
    a->profile = -1;
    a->find_peak = 1;
    a->argc = argc;
    a->argv = argv;
    if ((rc = tmlp_run_opts_parse_with(argc, argv, report_options, report_opt, a, o, &done))) return rc;
    if (done == 2) print_help(stdout);
    if (done) return -1;
    if (!a->dir) return tmlp_cli_usage_error("report: --output DIR is required");
    if (a->from && a->n_prec)
        return tmlp_cli_usage_error("report: --precisions runs the benchmark; it cannot be combined with --from "
                                    "(a results file of such a report keeps its table)");
    tmlp_run_opts d;
    tmlp_run_opts_default(&d);
    d.argc = o->argc;
    d.argv = o->argv;
    if (a->from && (tmlp_run_opts_check(&d) || memcmp(&d, o, sizeof d)))
        return tmlp_cli_usage_error("report: run options (\"%s\") cannot be combined with --from",
                                    first_run_option(a));
    return 0;
}

/* A results document written to dir/name (the report's copy of a run's results). */
static int write_json(const char *dir, const char *name, const cJSON *doc)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return write_text(path, cJSON_Print(doc), "report: ");
}

/* The options of a run inside the report: the report draws every query (histograms, CDFs,
 * the server timeline), so its runs keep their raw latencies; they get no sampler of
 * their own: the report's one covers them all and keeps its series for the trace. */
static tmlp_run_opts inner_run(const tmlp_run_opts *o)
{
    tmlp_run_opts r = *o;
    r.raw_latencies = 1;
    r.monitor_interval_ms = 0;
    r.baseline = NULL;
    return r;
}

/* The resources the report's monitor saw: DIR/resources.json and resources.trace.json.
 * A monitor that saw nothing costs the figures; a file that cannot be written fails the
 * report (one error line; DIR keeps its previous report). */
static int write_resources(report_ctx *c, const char *dir, tmlp_monitor *mon)
{
    if (!mon || tmlp_monitor_stop(mon, NULL) != TMLP_OK || tmlp_monitor_get_summary(mon, &c->mon, NULL) != TMLP_OK)
        return 0;
    c->have_monitor = 1;
    int rc = write_resources_json(dir, mon, &c->mon);
    char *ev = NULL;
    if (rc || tmlp_monitor_trace_events(mon, (long)getpid(), 0, &ev, NULL) != TMLP_OK) return rc;
    char tpath[4200];
    snprintf(tpath, sizeof tpath, "%s/resources.trace.json", dir);
    size_t len = strlen(ev) + 128;
    char *doc_text = malloc(len);
    tmlp_error err = {0};
    if (doc_text) {
        snprintf(doc_text, len, "{\"otherData\":{\"producer\":\"bench_mlp\",\"schema_version\":%d},"
                 "\"traceEvents\":[\n%s\n]}\n", TMLP_RESULT_SCHEMA_VERSION, ev);
        if (tmlp_report_write_file(tpath, doc_text, &err) != TMLP_OK) {
            tmlp_cli_error("report: %s", err.message);
            rc = TMLP_EXIT_RUNTIME;
        }
    } else {
        tmlp_cli_error("report: cannot write %s: out of memory", tpath);
        rc = TMLP_EXIT_RUNTIME;
    }
    free(doc_text);
    tmlp_report_string_free(ev);
    return rc;
}

/* The benchmark under the report's resource monitor: without --batch the offline sweep
 * 1,8,32,256; without --min-duration-ms (or --quick) runs of at least 1 s, which keeps
 * seven runs and a find-peak search near 20 s on one core. */
static int live_benchmark(report_ctx *c, const report_args *a, const tmlp_run_opts *o, cJSON **doc)
{
    static const int64_t sweep[] = {1, 8, 32, 256};
    tmlp_run_opts m = inner_run(o);
    tmlp_monitor *mon = NULL;
    if (!(o->given & TMLP_RUN_GIVEN_BATCH)) {
        memcpy(m.batches, sweep, sizeof sweep);
        m.n_batches = 4;
    }
    if (o->min_duration_ms < 0 && !o->quick) m.min_duration_ms = 1000;
    if (tmlp_monitor_create(10, &mon, NULL) != TMLP_OK || tmlp_monitor_start(mon, NULL) != TMLP_OK) {
        tmlp_cli_error("report: the resource monitor could not start; resource usage will be absent");
        tmlp_monitor_destroy(mon);
        mon = NULL;
    }
    fprintf(stderr, "bench_mlp report: running the benchmark (results in %s/results.json)\n", a->dir);
    int rc = tmlp_workload_results(&m, doc);
    if (!rc && !tmlp_cli_stop) rc = write_resources(c, a->work, mon); /* a failed run: its error is the one line */
    tmlp_monitor_destroy(mon);
    return rc;
}

/* The server's capacity at the bound (one search, not repeated; trials of 500 ms unless
 * --min-duration-ms or --quick), into DIR/find_peak.json. *peak NULL when the search
 * failed (the report goes on without it); a file that cannot be written fails the report. */
static int live_find_peak(const report_args *a, const tmlp_run_opts *o, cJSON **peak)
{
    tmlp_run_opts p = inner_run(o);
    p.repeat = 1;
    p.mode = TMLP_MODE_FIND_PEAK;
    p.scenarios = 0;
    if (o->min_duration_ms < 0 && !o->quick) p.min_duration_ms = 500;
    fprintf(stderr, "bench_mlp report: server find-peak (results in %s/find_peak.json)\n", a->dir);
    if (tmlp_run_opts_check(&p) || tmlp_workload_results(&p, peak)) {
        cJSON_Delete(*peak);
        *peak = NULL;
        if (!tmlp_cli_stop) tmlp_cli_error("report: the find-peak run failed; the report goes on without it");
        return 0;
    }
    return write_json(a->work, "find_peak.json", *peak);
}

/* One precision's two runs: single-stream and offline (the user's --batch, else 256; the
 * user's --repeat: their figures become medians) into DIR/precision_<p>.json, then
 * --mode accuracy (exact once) into DIR/precision_<p>_accuracy.json when the data is
 * labelled. A run that fails costs the row's figures (said in its note), not the report. */
static cJSON *run_precision(const report_args *a, const tmlp_run_opts *o, const char *name)
{
    char file[64], note[256] = "";
    tmlp_run_opts l = inner_run(o), acc_o;
    cJSON *lat = NULL, *acc = NULL;
    tmlp_precision_parse(name, &l.precision, NULL); /* checked by parse_precisions */
    acc_o = l;
    l.scenarios = 1u << TMLP_SCENARIO_SINGLE_STREAM | 1u << TMLP_SCENARIO_OFFLINE;
    l.mode = TMLP_MODE_PERFORMANCE;
    if (!(o->given & TMLP_RUN_GIVEN_BATCH)) {
        l.batches[0] = 256;
        l.n_batches = 1;
    }
    snprintf(file, sizeof file, "precision_%s.json", name);
    fprintf(stderr, "bench_mlp report: precision %s, single-stream and offline (results in %s/%s)\n", name, a->dir, file);
    if (tmlp_run_opts_check(&l) || tmlp_workload_results(&l, &lat) || write_json(a->work, file, lat)) {
        cJSON_Delete(lat);
        lat = NULL;
    }
    if (tmlp_cli_stop) {
        cJSON_Delete(lat);
        return NULL;
    }
    if (!lat) snprintf(note, sizeof note, "not measured: its latency run failed (bench_mlp printed why on stderr)");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(lat, "context"), "data");
    if (lat && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "labeled"))) {
        snprintf(note, sizeof note, "accuracy not measured: the data set has no labels (use --data fashion or a "
                                    "labelled file)");
    } else if (lat) {
        acc_o.mode = TMLP_MODE_ACCURACY;
        acc_o.scenarios = 0;
        acc_o.n_batches = 0;
        acc_o.repeat = 1;
        snprintf(file, sizeof file, "precision_%s_accuracy.json", name);
        fprintf(stderr, "bench_mlp report: precision %s, accuracy (results in %s/%s)\n", name, a->dir, file);
        if (tmlp_run_opts_check(&acc_o) || tmlp_workload_results(&acc_o, &acc) || write_json(a->work, file, acc)) {
            cJSON_Delete(acc);
            acc = NULL;
            if (!tmlp_cli_stop)
                snprintf(note, sizeof note,
                         "accuracy not measured: its accuracy run failed (bench_mlp printed why on stderr)");
        }
    }
    cJSON *e = precision_json(name, lat, acc, note);
    cJSON_Delete(lat);
    cJSON_Delete(acc);
    return e;
}

/* Every precision of --precisions: *out the "precisions" array. 0, or TMLP_EXIT_RUNTIME
 * when interrupted or out of memory (*out NULL). */
static int run_precisions(const report_args *a, const tmlp_run_opts *o, cJSON **out)
{
    unsigned long failed = tmlp_json_failures();
    int rc = 0;
    *out = cJSON_CreateArray();
    if (!*out) {
        tmlp_cli_error("report: out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    for (int k = 0; k < a->n_prec && !tmlp_cli_stop; k++) {
        cJSON *e = run_precision(a, o, a->prec_names[k]);
        if (e) tmlp_json_append(*out, e);
    }
    if (tmlp_cli_stop) rc = TMLP_EXIT_RUNTIME;
    else if (tmlp_json_failures() != failed) {
        tmlp_cli_error("report: out of memory building the precision table");
        rc = TMLP_EXIT_RUNTIME;
    }
    if (rc) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

/* Live mode: the benchmark, find-peak (unless the user chose scenarios or a mode), the
 * profile and the precision table; DIR/results.json gets the run's document with the
 * "resources" block a plain run writes and the "precisions" table, so a later `report
 * --from` on it has them too. *doc: that document with the find-peak runs appended,
 * relabelled. */
static int live_mode(report_ctx *c, const report_args *a, const tmlp_run_opts *o, cJSON **doc)
{
    cJSON *peak = NULL, *precs = NULL;
    int rc = live_benchmark(c, a, o, doc);
    if (rc || tmlp_cli_stop) return rc;
    if (a->find_peak && !(o->given & (TMLP_RUN_GIVEN_SCENARIO | TMLP_RUN_GIVEN_MODE))) {
        if ((rc = live_find_peak(a, o, &peak)) || tmlp_cli_stop) goto done;
    }
    if (a->profile != 0) {
        fprintf(stderr, "bench_mlp report: profiling the model layer by layer\n");
        run_profiles(c, o->model, o->layers, o->data);
        if (tmlp_cli_stop) goto done;
    }
    if (a->n_prec && (rc = run_precisions(a, o, &precs))) goto done;
    unsigned long failed = tmlp_json_failures();
    if (c->have_monitor && !cJSON_HasObjectItem(*doc, "resources"))
        tmlp_json_add(*doc, "resources", tmlp_out_resources_json(&c->mon, 10, NULL));
    if (precs) tmlp_json_add(*doc, "precisions", precs);
    precs = NULL;
    if (tmlp_json_failures() != failed) {
        tmlp_cli_error("report: out of memory adding the resource figures and the precision table");
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }
    if ((rc = write_json(a->work, "results.json", *doc))) goto done;
    cJSON *pruns = cJSON_GetObjectItemCaseSensitive(peak, "runs");
    cJSON *runs = cJSON_GetObjectItemCaseSensitive(*doc, "runs");
    while (cJSON_IsArray(runs) && cJSON_IsArray(pruns) && cJSON_GetArraySize(pruns) > 0) {
        cJSON *r0 = cJSON_DetachItemFromArray(pruns, 0);
        cJSON_ReplaceItemInObjectCaseSensitive(r0, "label", cJSON_CreateString("server find-peak"));
        cJSON_AddItemToArray(runs, r0);
    }
done:
    cJSON_Delete(peak);
    cJSON_Delete(precs);
    return rc;
}

/* --from: the saved document, its resources, and the profile of its model when asked. */
static int from_mode(report_ctx *c, const report_args *a, cJSON **doc)
{
    if (!(*doc = ru_read_json(a->from))) return TMLP_EXIT_RUNTIME;
    if (a->profile == 1) {
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(*doc, "context"), "model");
        const char *kind = ru_str(model, "kind"), *src = ru_str(model, "source");
        if (kind && src && strcmp(kind, "null")) run_profiles(c, src, NULL, NULL);
    }
    monitor_from_json(c, cJSON_GetObjectItemCaseSensitive(*doc, "resources"));
    return 0;
}

/* The report itself from the document: build, write report.md, index.html and the SVGs
 * into the temporary sibling, then swap it in for DIR whole (tmlp_cli_outdir, cli.h). */
static int write_report(report_ctx *c, const report_args *a, tmlp_cli_outdir *od, const cJSON *doc,
                        const char *source)
{
    int rc = build(c, doc, source);
    if (rc || tmlp_cli_stop) return rc;
    tmlp_error err = {0};
    if (tmlp_report_write_dir(c->r, a->work, &err) != TMLP_OK) {
        tmlp_cli_error("--output \"%s\": %s (the previous report, if any, is unchanged)", a->dir, err.message);
        return TMLP_EXIT_RUNTIME;
    }
    if ((rc = tmlp_cli_outdir_commit(od))) return rc;
    printf("Report written: %s/report.md, %s/index.html (%d recommendation%s)\n", a->dir, a->dir, c->n_recs,
           c->n_recs == 1 ? "" : "s");
    return 0;
}

int tmlp_cmd_report(int argc, char **argv)
{
    report_args a;
    tmlp_run_opts o;
    cJSON *doc = NULL;
    report_ctx c;
    memset(&c, 0, sizeof c);
    c.mon_interval_ms = 10;
    tmlp_cli_polls = 1; /* SIGINT/SIGTERM: stop between phases, write no report (cli.h) */
    tmlp_cli_outdir od = {0}; /* the report is written into od.work and swapped in whole */
    int rc = parse_report(argc, argv, &a, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (a.from) tmlp_cli_inputs_add("--from", a.from);
    if ((rc = tmlp_cli_outdir_open(&od, "--output", a.dir))) return rc;
    a.work = od.work;
    c.dir = a.dir;
    char json_path[4200];
    snprintf(json_path, sizeof json_path, "%s/results.json", a.dir);
    rc = a.from ? from_mode(&c, &a, &doc) : live_mode(&c, &a, &o, &doc);
    if (!rc && !tmlp_cli_stop && a.history) rc = tmlp_history_record_doc(a.history, doc, "report");
    if (!rc && !tmlp_cli_stop) rc = write_report(&c, &a, &od, doc, a.from ? a.from : json_path);
    if (tmlp_cli_stop) rc = tmlp_cli_interrupted_exit();
    tmlp_cli_outdir_abort(&od); /* not swapped in: DIR keeps the previous report */
    tmlp_report_destroy(c.r);
    cJSON_Delete(doc);
    return rc;
}
