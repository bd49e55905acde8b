/* output.c — how bench_mlp prints results: the LoadGen-style summary of each run, the
 * latency table (text, Markdown, CSV), the JSON document, the confusion matrix of an
 * accuracy run, and a Chrome trace.
 *
 * The latency table has one row per run and the columns
 *     queries | p50 | p90 | p95 | p99 | p99.9 | mean (µs) | throughput (samples/s) |
 *     accuracy | VALID
 * Latency is per query, from its issue time (server: its SCHEDULED arrival, so queueing
 * counts) to the completion of its last sample. Percentiles are computed by the harness
 * with the run's method (LoadGen's sorted[floor(N*p)] by default) and the method is named
 * under every table, because p99 of 1,000 values differs between methods.
 *
 * Resource figures (the monitor of tinymlp/monitor.h, sampled during the runs) follow the
 * table as a short summary, go into the JSON as "resources" (tmlp_out_resources_json, the
 * one writer of those names) and into the trace as counter events. A figure the monitor
 * could not read is left out, never printed as 0.
 */
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "precision.h"
#include "result_check.h"

static const char *yes_no_na(int check)
{
    if (check == TMLP_CHECK_NA) return "n/a";
    return check ? "Yes" : "No";
}

static const char *method_description(tmlp_percentile_method m)
{
    switch (m) {
    case TMLP_PCT_LOADGEN: return "sorted[floor(N*p)], 0-based, no interpolation (MLPerf LoadGen)";
    case TMLP_PCT_LINEAR: return "linear interpolation (NumPy default, type 7)";
    case TMLP_PCT_LOWER: return "lower neighbour (NumPy 'lower')";
    case TMLP_PCT_HIGHER: return "higher neighbour (NumPy 'higher')";
    case TMLP_PCT_NEAREST: return "nearest neighbour (NumPy 'nearest')";
    case TMLP_PCT_MIDPOINT: return "midpoint of neighbours (NumPy 'midpoint')";
    case TMLP_PCT_NEAREST_RANK: return "nearest rank sorted[ceil(N*p)-1] (type 1)";
    }
    return "unknown";
}

/* The figure LoadGen puts first for each scenario. */
static void headline(FILE *f, const tmlp_bench_result *r)
{
    char b[32];
    const tmlp_bench_settings *s = &r->settings;
    if (s->mode == TMLP_MODE_FIND_PEAK) {
        fprintf(f, "Peak target QPS (VALID)           : %.1f\n", r->peak_qps);
        return;
    }
    switch (s->scenario) {
    case TMLP_SCENARIO_SINGLE_STREAM:
        /* LoadGen's single-stream result is the early-stopping p90 estimate when early
         * stopping holds, the plain p90 otherwise; it prints the p99 estimate beside it. */
        fprintf(f, "90th percentile latency (ns)      : %.0f  (%s)\n", r->latency.p90,
                tmlp_cli_fmt_ns(r->latency.p90, b, sizeof b));
        if (isfinite(r->es_estimate_ns) && r->es_estimate_ns > 0)
            fprintf(f, "Early stopping 90th pct (ns)      : %.0f  <- the result\n", r->es_estimate_ns);
        if (isfinite(r->es_estimate_p99_ns) && r->es_estimate_p99_ns > 0)
            fprintf(f, "Early stopping 99th pct (ns)      : %.0f\n", r->es_estimate_p99_ns);
        else if (r->es_p99_min_queries > 0)
            fprintf(f, "Early stopping 99th pct (ns)      : n/a (needs >= %lld queries)\n",
                    (long long)r->es_p99_min_queries);
        break;
    case TMLP_SCENARIO_MULTI_STREAM:
        fprintf(f, "99th percentile latency (ns)      : %.0f  (%s)\n", r->latency.p99,
                tmlp_cli_fmt_ns(r->latency.p99, b, sizeof b));
        if (isfinite(r->es_estimate_ns) && r->es_estimate_ns > 0)
            fprintf(f, "Early stopping 99th pct (ns)      : %.0f  <- the result\n", r->es_estimate_ns);
        break;
    case TMLP_SCENARIO_SERVER:
        fprintf(f, "Completed samples per second      : %.2f  <- the result\n", r->completed_qps);
        break;
    case TMLP_SCENARIO_OFFLINE:
        fprintf(f, "Samples per second                : %.2f  <- the result\n", r->throughput_samples_per_s);
        break;
    }
}

static void stat_line(FILE *f, const char *prefix, const char *what, double v)
{
    char key[64];
    snprintf(key, sizeof key, "%s %s", prefix, what);
    fprintf(f, "%-34s: %.0f\n", key, v);
}

static void latency_lines(FILE *f, const char *what, const tmlp_latency_summary *l)
{
    stat_line(f, "Min", what, l->min);
    stat_line(f, "Max", what, l->max);
    stat_line(f, "Mean", what, l->mean);
    stat_line(f, "50.00 percentile", what, l->p50);
    stat_line(f, "90.00 percentile", what, l->p90);
    stat_line(f, "95.00 percentile", what, l->p95);
    stat_line(f, "97.00 percentile", what, l->p97);
    stat_line(f, "99.00 percentile", what, l->p99);
    stat_line(f, "99.90 percentile", what, l->p999);
}

void tmlp_out_summary(FILE *f, const tmlp_run_row *row, const tmlp_run_info *info)
{
    const tmlp_bench_result *r = row->result;
    const tmlp_bench_settings *s = &r->settings;
    static const char *const bar = "================================================";

    fprintf(f, "%s\nbench_mlp results summary — %s\n%s\n", bar, row->label, bar);
    fprintf(f, "SUT name : %s%s\n", info->model_source,
            strcmp(info->model_kind, "null") ? "" : " (no-op SUT: the harness alone)");
    fprintf(f, "Scenario : %s\n", tmlp_scenario_name(s->scenario));
    fprintf(f, "Mode     : %s\n", tmlp_mode_name(s->mode));
    headline(f, r);
    fprintf(f, "Result is : %s%s\n", r->valid ? "VALID" : "INVALID",
            r->interrupted ? " (interrupted)" : "");
    if (row->n_reps > 1) {
        int nv = 0;
        for (int i = 0; i < row->n_reps; i++) nv += row->reps[i].valid;
        fprintf(f, "Repetitions : %d (round-robin with the other scenarios), %d VALID; figures are medians "
                   "over them (VALID only if all are)\n", row->n_reps, nv);
    }
    fprintf(f, "  Min duration satisfied : %s\n", yes_no_na(r->check_min_duration));
    fprintf(f, "  Min queries satisfied : %s\n", yes_no_na(r->check_min_queries));
    fprintf(f, "  Latency bound satisfied : %s\n", yes_no_na(r->check_latency_bound));
    fprintf(f, "  Early stopping satisfied: %s\n", yes_no_na(r->check_early_stopping));
    for (int i = 0; i < r->n_reasons && i < TMLP_MAX_REASONS; i++)
        fprintf(f, "  INVALID because: %s\n", r->reasons[i]);
    if (r->es_text[0]) {
        /* es_text opens with "Early stopping: " (it is also read alone); the heading says it */
        const char *es = strncmp(r->es_text, "Early stopping: ", 16) ? r->es_text : r->es_text + 16;
        fprintf(f, "Early Stopping Result:\n * %s\n", es);
    }

    fprintf(f, "\n%s\nAdditional Stats\n%s\n", bar, bar);
    fprintf(f, "Queries measured                  : %" PRId64 "\n", r->queries);
    fprintf(f, "Samples measured                  : %" PRId64 "\n", r->samples);
    fprintf(f, "Duration (ns)                     : %" PRIu64 "\n", r->duration_ns);
    fprintf(f, "Samples per second                : %.2f\n", r->throughput_samples_per_s);
    if (s->scenario == TMLP_SCENARIO_SERVER) {
        fprintf(f, "Scheduled samples per second      : %.2f\n", r->scheduled_qps);
        fprintf(f, "Completed samples per second      : %.2f\n", r->completed_qps);
        if (isfinite(r->service_qps))
            fprintf(f, "SUT samples per second while busy : %.2f\n", r->service_qps);
    }
    if (r->stopped_at_ns > 0 || r->unissued_queries > 0 || r->cancelled > 0) {
        fprintf(f, "Issuing stopped at (ns)           : %" PRIu64 "%s\n", r->stopped_at_ns,
                r->stopped_at_ns ? "" : " (not stopped early)");
        fprintf(f, "Queries not issued                : %" PRId64 "\n", r->unissued_queries);
        fprintf(f, "Samples cancelled by the SUT      : %" PRId64 "\n", r->cancelled);
        fprintf(f, "Samples never completed           : %" PRId64 "\n", r->never_completed);
    }
    latency_lines(f, "latency (ns)", &r->latency);
    if (s->scenario == TMLP_SCENARIO_SERVER && r->issue_delay.count > 0)
        latency_lines(f, "issue delay (ns)", &r->issue_delay);
    if (r->labeled > 0)
        fprintf(f, "Accuracy                          : %.4f (%" PRId64 "/%" PRId64 ")\n",
                (double)r->correct / (double)r->labeled, r->correct, r->labeled);
    else
        fprintf(f, "Accuracy                          : n/a (data set has no labels)\n");
    if (s->mode == TMLP_MODE_FIND_PEAK) {
        fprintf(f, "Find-peak trials (target QPS -> verdict):");
        for (int i = 0; i < r->n_peak_trials && i < 64; i++)
            fprintf(f, " %.6g:%s", r->peak_trial_qps[i], r->peak_trial_valid[i] ? "VALID" : "INVALID");
        fputc('\n', f);
        if (r->peak_note[0]) fprintf(f, "Find-peak search ended            : %s\n", r->peak_note);
    }
    fprintf(f, "Workload digest                   : %016" PRIx64 "\n", r->workload_digest);
    for (int i = 0; i < row->n_reps; i++) {
        const tmlp_rep_summary *p = &row->reps[i];
        char p50[32], p99[32];
        fprintf(f, "  repetition %2d: %s p50 %s p99 %s, %.1f samples/s, %" PRId64 " queries%s\n", i + 1,
                p->valid ? "VALID  " : "INVALID", tmlp_cli_fmt_ns(p->latency.p50, p50, sizeof p50),
                tmlp_cli_fmt_ns(p->latency.p99, p99, sizeof p99), p->throughput, p->queries,
                p->digest != r->workload_digest ? " (other workload digest!)" : "");
    }

    fprintf(f, "\n%s\nTest Parameters Used\n%s\n", bar, bar);
    fprintf(f, "samples_per_query : %" PRId64 "\n",
            s->scenario == TMLP_SCENARIO_MULTI_STREAM ? s->samples_per_query : 1);
    if (s->scenario == TMLP_SCENARIO_OFFLINE) {
        fprintf(f, "offline_batch_size : %" PRId64 "\n", s->offline_batch_size);
        fprintf(f, "offline_sample_count : %" PRId64 "\n", s->offline_sample_count);
        fprintf(f, "offline_expected_qps : %g\n", s->offline_expected_qps);
    }
    fprintf(f, "target_qps : %g\n", s->target_qps);
    fprintf(f, "target_latency (ns): %" PRIu64 "\n", s->target_latency_ns);
    fprintf(f, "target_latency_percentile : %g\n", s->target_latency_percentile);
    fprintf(f, "min_duration (ms): %" PRIu64 "\n", s->min_duration_ms);
    fprintf(f, "max_duration (ms): %" PRIu64 "\n", s->max_duration_ms);
    fprintf(f, "min_query_count : %" PRId64 "\n", s->min_query_count);
    fprintf(f, "max_query_count : %" PRId64 "\n", s->max_query_count);
    fprintf(f, "warmup_queries : %" PRId64 "\n", s->warmup_queries);
    fprintf(f, "sample_seed : %" PRIu64 "\n", s->sample_seed);
    fprintf(f, "schedule_seed : %" PRIu64 "\n", s->schedule_seed);
    fprintf(f, "workers : %d\n", s->workers);
    fprintf(f, "blas_threads : %d\n", s->blas_threads);
    fprintf(f, "percentile_method : %s\n", tmlp_percentile_method_name(s->percentile_method));
    fprintf(f, "\n%" PRId64 " %s.\n", r->errors,
            r->errors == 1 ? "error encountered" : "errors encountered");
    fprintf(f, "%s\n\n", bar);
}

/* --- verdicts ---------------------------------------------------------------------------- */

static const char *valid_cell(const tmlp_bench_result *r);

/* The figure a run is judged by, in words: "p90 10.6 us (early-stopping estimate)". */
static void verdict_figure(char *buf, size_t cap, const tmlp_bench_result *r)
{
    char a[32], b[32];
    const tmlp_bench_settings *s = &r->settings;
    if (s->mode == TMLP_MODE_FIND_PEAK) {
        snprintf(buf, cap, "peak %.1f QPS", r->peak_qps);
        return;
    }
    if (r->settings.mode == TMLP_MODE_ACCURACY) {
        if (r->labeled > 0) snprintf(buf, cap, "accuracy %.4f", (double)r->correct / (double)r->labeled);
        else snprintf(buf, cap, "every sample once");
        return;
    }
    switch (s->scenario) {
    case TMLP_SCENARIO_SINGLE_STREAM:
    case TMLP_SCENARIO_MULTI_STREAM: {
        int p = s->scenario == TMLP_SCENARIO_SINGLE_STREAM ? 90 : 99;
        if (isfinite(r->es_estimate_ns) && r->es_estimate_ns > 0)
            snprintf(buf, cap, "p%d %s (early-stopping estimate)", p, tmlp_cli_fmt_ns(r->es_estimate_ns, a, sizeof a));
        else
            snprintf(buf, cap, "p%d %s", p, tmlp_cli_fmt_ns(p == 90 ? r->latency.p90 : r->latency.p99, a, sizeof a));
        break;
    }
    case TMLP_SCENARIO_SERVER:
        snprintf(buf, cap, "completed %.1f QPS (target %g), p99 %s (bound %s at p%g)", r->completed_qps, s->target_qps,
                 tmlp_cli_fmt_ns(r->latency.p99, a, sizeof a), tmlp_cli_fmt_ns((double)s->target_latency_ns, b, sizeof b),
                 100.0 * s->target_latency_percentile);
        break;
    case TMLP_SCENARIO_OFFLINE:
        snprintf(buf, cap, "%.1f samples/s", r->throughput_samples_per_s);
        break;
    }
}

void tmlp_out_verdicts(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n, const char *summary,
                       int verbose)
{
    if (n < 1 || (fmt != TMLP_OUT_TABLE && fmt != TMLP_OUT_MARKDOWN)) return;
    int md = fmt == TMLP_OUT_MARKDOWN, w = 0;
    for (int i = 0; i < n; i++)
        if ((int)strlen(rows[i].label) > w) w = (int)strlen(rows[i].label);
    fprintf(f, "\n%sVerdicts%s (MLPerf LoadGen's rules)\n%s", md ? "**" : "", md ? "**" : "", md ? "\n" : "");
    for (int i = 0; i < n; i++) {
        const tmlp_bench_result *r = rows[i].result;
        char fig[160], reps[64] = "";
        verdict_figure(fig, sizeof fig, r);
        if (rows[i].n_reps > 1) {
            int nv = 0;
            for (int k = 0; k < rows[i].n_reps; k++) nv += rows[i].reps[k].valid;
            snprintf(reps, sizeof reps, "; %d of %d repetitions VALID", nv, rows[i].n_reps);
        }
        fprintf(f, "%s%-*s  %-7s  %s%s\n", md ? "- " : "  ", w, rows[i].label, valid_cell(r), fig, reps);
        for (int k = 0; k < r->n_reasons && k < TMLP_MAX_REASONS; k++)
            fprintf(f, "%s  - %s\n", md ? "  " : "  ", r->reasons[k]);
    }
    if (summary && strcmp(summary, "-"))
        fprintf(f, "%sEvery check, early stopping and the parameters of each run: %s\n", md ? "\n" : "", summary);
    else if (!summary && !verbose)
        fprintf(f, "%sEvery check, early stopping and the parameters of each run: --summary FILE (or --verbose)\n",
                md ? "\n" : "");
}

/* --- latency table ---------------------------------------------------------------------- */

static void us_cell(char *buf, size_t cap, double ns)
{
    if (isnan(ns)) snprintf(buf, cap, "-");
    else snprintf(buf, cap, "%.2f", ns / 1e3);
}

static void acc_cell(char *buf, size_t cap, const tmlp_bench_result *r)
{
    if (r->labeled > 0) snprintf(buf, cap, "%.4f", (double)r->correct / (double)r->labeled);
    else snprintf(buf, cap, "-");
}

static const char *valid_cell(const tmlp_bench_result *r)
{
    if (r->interrupted) return "INVALID (interrupted)";
    return r->valid ? "VALID" : "INVALID";
}

enum { N_COLS = 11 };
static const char *const col_titles[N_COLS] = {
    "scenario", "queries", "p50 (µs)", "p90 (µs)", "p95 (µs)", "p99 (µs)", "p99.9 (µs)",
    "mean (µs)", "throughput (samples/s)", "accuracy", "VALID"};

/* Display width of a UTF-8 string (µ counts as one column). */
static int utf8_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

static void fill_row(char cells[N_COLS][48], const tmlp_run_row *row)
{
    const tmlp_bench_result *r = row->result;
    snprintf(cells[0], 48, "%s", row->label);
    snprintf(cells[1], 48, "%" PRId64, r->queries);
    us_cell(cells[2], 48, r->latency.p50);
    us_cell(cells[3], 48, r->latency.p90);
    us_cell(cells[4], 48, r->latency.p95);
    us_cell(cells[5], 48, r->latency.p99);
    us_cell(cells[6], 48, r->latency.p999);
    us_cell(cells[7], 48, r->latency.mean);
    snprintf(cells[8], 48, "%.1f", r->throughput_samples_per_s);
    acc_cell(cells[9], 48, r);
    snprintf(cells[10], 48, "%s", valid_cell(r));
}

static void table_note(FILE *f, const tmlp_run_row *rows, int n, const char *prefix)
{
    tmlp_percentile_method m = n > 0 ? rows[0].result->settings.percentile_method : TMLP_PCT_LOADGEN;
    fprintf(f, "%sPercentiles: method \"%s\" — %s. Latency per query from issue (server: from the "
               "scheduled arrival) to completion; offline: per sample, from the query's start to its "
               "completion; throughput in samples/s (server: completed).\n",
            prefix, tmlp_percentile_method_name(m), method_description(m));
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void tmlp_out_table(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n)
{
    char cells[N_COLS][48];
    if (fmt == TMLP_OUT_CSV) {
        fputs("scenario,label,mode,queries,samples,p50_us,p90_us,p95_us,p99_us,p999_us,mean_us,"
              "throughput_samples_per_s,accuracy,valid,interrupted,percentile_method\n", f);
        for (int i = 0; i < n; i++) {
            const tmlp_bench_result *r = rows[i].result;
            fill_row(cells, &rows[i]);
            fprintf(f, "%s,", tmlp_scenario_name(r->settings.scenario));
            csv_field(f, rows[i].label);
            fprintf(f, ",%s,%" PRId64 ",%" PRId64, tmlp_mode_name(r->settings.mode), r->queries,
                    r->samples);
            for (int c = 2; c <= 7; c++) fprintf(f, ",%s", strcmp(cells[c], "-") ? cells[c] : "");
            fprintf(f, ",%s,%s,%s,%s,%s\n", cells[8], strcmp(cells[9], "-") ? cells[9] : "",
                    r->valid ? "true" : "false", r->interrupted ? "true" : "false",
                    tmlp_percentile_method_name(r->settings.percentile_method));
        }
        return;
    }
    if (fmt == TMLP_OUT_MARKDOWN) {
        fputc('|', f);
        for (int c = 0; c < N_COLS; c++) fprintf(f, " %s |", col_titles[c]);
        fputs("\n|---|", f);
        for (int c = 1; c < N_COLS; c++) fputs(c == N_COLS - 1 ? ":---:|" : "---:|", f);
        fputc('\n', f);
        for (int i = 0; i < n; i++) {
            fill_row(cells, &rows[i]);
            fputc('|', f);
            for (int c = 0; c < N_COLS; c++) fprintf(f, " %s |", cells[c]);
            fputc('\n', f);
        }
        table_note(f, rows, n, "\n");
        return;
    }
    /* plain text: widths from the titles and the cells */
    int width[N_COLS];
    for (int c = 0; c < N_COLS; c++) width[c] = utf8_width(col_titles[c]);
    for (int i = 0; i < n; i++) {
        fill_row(cells, &rows[i]);
        for (int c = 0; c < N_COLS; c++)
            if (utf8_width(cells[c]) > width[c]) width[c] = utf8_width(cells[c]);
    }
    for (int c = 0; c < N_COLS; c++) {
        int pad = width[c] - utf8_width(col_titles[c]);
        if (c == 0) fprintf(f, "%s%*s", col_titles[c], pad, "");
        else if (c == N_COLS - 1) fputs(col_titles[c], f);
        else fprintf(f, "%*s%s", pad, "", col_titles[c]);
        fputs(c == N_COLS - 1 ? "\n" : "  ", f);
    }
    for (int c = 0; c < N_COLS; c++) {
        for (int k = 0; k < width[c]; k++) fputc('-', f);
        fputs(c == N_COLS - 1 ? "\n" : "  ", f);
    }
    for (int i = 0; i < n; i++) {
        fill_row(cells, &rows[i]);
        for (int c = 0; c < N_COLS; c++) {
            int pad = width[c] - utf8_width(cells[c]);
            if (c == 0 || c == N_COLS - 1) fprintf(f, "%s%*s", cells[c], c == N_COLS - 1 ? 0 : pad, "");
            else fprintf(f, "%*s%s", pad, "", cells[c]);
            fputs(c == N_COLS - 1 ? "\n" : "  ", f);
        }
    }
    table_note(f, rows, n, "");
}

/* --- accuracy --------------------------------------------------------------------------- */

/* counts[t * k + p] for true class t, predicted p; returns NULL without predictions. */
static int64_t *confusion_counts(const tmlp_bench_result *r, const int32_t *labels, int k)
{
    if (!r->predictions || !labels || k < 1 || k > 1000) return NULL;
    int64_t *m = calloc((size_t)k * (size_t)k, sizeof *m);
    if (!m) return NULL;
    for (int64_t i = 0; i < r->n_predictions; i++) {
        int32_t t = labels[i], p = r->predictions[i];
        if (t < 0 || t >= k || p < 0 || p >= k) continue;
        m[(size_t)t * (size_t)k + (size_t)p]++;
    }
    return m;
}

static void class_label(char *buf, size_t cap, int c, int fashion_names)
{
    if (fashion_names) snprintf(buf, cap, "%s", tmlp_fashion_class_name(c));
    else snprintf(buf, cap, "class %d", c);
}

void tmlp_out_confusion(FILE *f, const tmlp_run_row *row, const int32_t *labels, int n_classes,
                        int fashion_names)
{
    const tmlp_bench_result *r = row->result;
    if (r->labeled <= 0) {
        fprintf(f, "Accuracy (%s): n/a — the data set has no labels\n", row->label);
        return;
    }
    fprintf(f, "Accuracy (%s): %.4f  (%" PRId64 " of %" PRId64 " correct)\n", row->label,
            (double)r->correct / (double)r->labeled, r->correct, r->labeled);
    int64_t *m = confusion_counts(r, labels, n_classes);
    if (!m) return;
    int k = n_classes;
    char name[48];
    int nw = 5;
    for (int c = 0; c < k; c++) {
        class_label(name, sizeof name, c, fashion_names);
        if (utf8_width(name) > nw) nw = utf8_width(name);
    }
    fprintf(f, "\nConfusion matrix (rows = true class, columns = predicted class; diagonal = "
               "correct)\n");
    fprintf(f, "%*s", nw + 6, "");
    for (int c = 0; c < k; c++) fprintf(f, " %6d", c);
    fprintf(f, "  recall\n");
    for (int t = 0; t < k; t++) {
        int64_t row_total = 0;
        class_label(name, sizeof name, t, fashion_names);
        fprintf(f, "%2d %s%*s   ", t, name, nw - utf8_width(name), "");
        for (int p = 0; p < k; p++) {
            int64_t v = m[(size_t)t * (size_t)k + (size_t)p];
            row_total += v;
            fprintf(f, " %6" PRId64, v);
        }
        if (row_total) fprintf(f, "  %.3f\n", (double)m[(size_t)t * (size_t)k + (size_t)t] / (double)row_total);
        else fprintf(f, "  -\n");
    }
    fputc('\n', f);
    free(m);
}

/* --- JSON ------------------------------------------------------------------------------- */

static cJSON *check_json(int c)
{
    if (c == TMLP_CHECK_NA) return cJSON_CreateNull();
    return cJSON_CreateBool(c != 0);
}

static cJSON *num_or_null(double v)
{
    if (isnan(v) || isinf(v)) return cJSON_CreateNull();
    return cJSON_CreateNumber(v);
}

static cJSON *u64_json(uint64_t v)
{
    if (v <= (UINT64_C(1) << 53)) return cJSON_CreateNumber((double)v);
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateString(buf);
}

static cJSON *latency_json(const tmlp_latency_summary *l, tmlp_percentile_method m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "count", (double)l->count);
    tmlp_json_add(o, "min", num_or_null(l->min));
    tmlp_json_add(o, "max", num_or_null(l->max));
    tmlp_json_add(o, "mean", num_or_null(l->mean));
    tmlp_json_add(o, "p50", num_or_null(l->p50));
    tmlp_json_add(o, "p90", num_or_null(l->p90));
    tmlp_json_add(o, "p95", num_or_null(l->p95));
    tmlp_json_add(o, "p97", num_or_null(l->p97));
    tmlp_json_add(o, "p99", num_or_null(l->p99));
    tmlp_json_add(o, "p999", num_or_null(l->p999));
    cJSON_AddStringToObject(o, "method", tmlp_percentile_method_name(m));
    return o;
}

static cJSON *settings_json(const tmlp_bench_settings *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "scenario", tmlp_scenario_name(s->scenario));
    cJSON_AddStringToObject(o, "mode", tmlp_mode_name(s->mode));
    cJSON_AddNumberToObject(o, "min_duration_ms", (double)s->min_duration_ms);
    cJSON_AddNumberToObject(o, "max_duration_ms", (double)s->max_duration_ms);
    cJSON_AddNumberToObject(o, "min_query_count", (double)s->min_query_count);
    cJSON_AddNumberToObject(o, "max_query_count", (double)s->max_query_count);
    cJSON_AddNumberToObject(o, "warmup_queries", (double)s->warmup_queries);
    cJSON_AddNumberToObject(o, "target_qps", s->target_qps);
    cJSON_AddNumberToObject(o, "target_latency_ns", (double)s->target_latency_ns);
    cJSON_AddNumberToObject(o, "target_latency_percentile", s->target_latency_percentile);
    cJSON_AddNumberToObject(o, "samples_per_query", (double)s->samples_per_query);
    cJSON_AddNumberToObject(o, "offline_batch_size", (double)s->offline_batch_size);
    cJSON_AddNumberToObject(o, "offline_sample_count", (double)s->offline_sample_count);
    cJSON_AddNumberToObject(o, "offline_expected_qps", s->offline_expected_qps);
    cJSON_AddNumberToObject(o, "workers", s->workers);
    cJSON_AddNumberToObject(o, "blas_threads", s->blas_threads);
    tmlp_json_add(o, "sample_seed", u64_json(s->sample_seed));
    tmlp_json_add(o, "schedule_seed", u64_json(s->schedule_seed));
    cJSON_AddNumberToObject(o, "max_outstanding_queries", (double)s->max_outstanding_queries);
    cJSON_AddNumberToObject(o, "drain_timeout_ms", (double)s->drain_timeout_ms);
    cJSON_AddBoolToObject(o, "overload_stop", s->overload_stop);
    cJSON_AddNumberToObject(o, "early_stopping_confidence", s->early_stopping_confidence);
    cJSON_AddStringToObject(o, "percentile_method",
                            tmlp_percentile_method_name(s->percentile_method));
    cJSON_AddNumberToObject(o, "find_peak_precision", s->find_peak_precision);
    cJSON_AddNumberToObject(o, "find_peak_max_runs", (double)s->find_peak_max_runs);
    cJSON_AddNumberToObject(o, "find_peak_min_qps", s->find_peak_min_qps);
    cJSON_AddNumberToObject(o, "find_peak_budget_ms", (double)s->find_peak_budget_ms);
    return o;
}

static cJSON *i64_array(const int64_t *v, int64_t n)
{
    cJSON *a = cJSON_CreateArray();
    if (!a || !v) return a;
    for (int64_t i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateNumber((double)v[i]);
        if (!x) break;
        tmlp_json_append(a, x);
    }
    return a;
}

/* "early_stopping" of a run: the percentile, confidence and counts of the early-stopping
 * estimate, its estimate (null for server or when none was made) and its sentence. */
static void run_json_early_stopping(cJSON *o, const tmlp_bench_result *r)
{
    const tmlp_bench_settings *s = &r->settings;
    cJSON *es = cJSON_AddObjectToObject(o, "early_stopping");
    if (es) {
        cJSON_AddNumberToObject(es, "percentile", r->es_percentile);
        cJSON_AddNumberToObject(es, "confidence", s->early_stopping_confidence);
        cJSON_AddNumberToObject(es, "min_queries", (double)r->es_min_queries);
        cJSON_AddNumberToObject(es, "overlatency_queries", (double)r->es_overlatency_queries);
        if (s->scenario == TMLP_SCENARIO_SERVER || !(r->es_estimate_ns > 0))
            cJSON_AddNullToObject(es, "estimate_ns");
        else
            tmlp_json_add(es, "estimate_ns", num_or_null(r->es_estimate_ns));
        if (s->scenario == TMLP_SCENARIO_SINGLE_STREAM)
            tmlp_json_add(es, "estimate_p99_ns", num_or_null(r->es_estimate_p99_ns));
        cJSON_AddStringToObject(es, "text", r->es_text);
    }
}

/* "accuracy" (null without labels) and, in accuracy mode, "class_names" and the
 * n_classes x n_classes "confusion_matrix" (rows: true class). */
static void run_json_accuracy(cJSON *o, const tmlp_bench_result *r, const int32_t *labels, int n_classes,
                              int fashion_names)
{
    char buf[64];
    if (r->labeled > 0) {
        cJSON *acc = cJSON_AddObjectToObject(o, "accuracy");
        if (acc) {
            cJSON_AddNumberToObject(acc, "correct", (double)r->correct);
            cJSON_AddNumberToObject(acc, "total", (double)r->labeled);
            cJSON_AddNumberToObject(acc, "value", (double)r->correct / (double)r->labeled);
        }
    } else {
        cJSON_AddNullToObject(o, "accuracy");
    }
    if (r->settings.mode == TMLP_MODE_ACCURACY) {
        int64_t *m = confusion_counts(r, labels, n_classes);
        if (m) {
            cJSON *names = cJSON_AddArrayToObject(o, "class_names");
            for (int c = 0; names && c < n_classes; c++) {
                class_label(buf, sizeof buf, c, fashion_names);
                tmlp_json_append(names, cJSON_CreateString(buf));
            }
            cJSON *cm = cJSON_AddArrayToObject(o, "confusion_matrix");
            for (int t = 0; cm && t < n_classes; t++)
                tmlp_json_append(cm, i64_array(m + (size_t)t * (size_t)n_classes, n_classes));
            free(m);
        }
    }
}

/* "find_peak": the peak, the note that ended the search and at most 64 trials in order. */
static void run_json_find_peak(cJSON *o, const tmlp_bench_result *r)
{
    cJSON *fp = cJSON_AddObjectToObject(o, "find_peak");
    if (fp) {
        cJSON_AddNumberToObject(fp, "peak_qps", r->peak_qps);
        cJSON_AddStringToObject(fp, "note", r->peak_note);
        cJSON *tr = cJSON_AddArrayToObject(fp, "trials");
        for (int i = 0; tr && i < r->n_peak_trials && i < 64; i++) {
            cJSON *t = cJSON_CreateObject();
            if (!t) break;
            cJSON_AddNumberToObject(t, "target_qps", r->peak_trial_qps[i]);
            cJSON_AddBoolToObject(t, "valid", r->peak_trial_valid[i]);
            tmlp_json_append(tr, t);
        }
    }
}

/* "per_rank": each MPI rank's own figures, in rank order. */
static void run_json_per_rank(cJSON *o, const tmlp_bench_result *r)
{
    cJSON *pr = cJSON_AddArrayToObject(o, "per_rank");
    for (int i = 0; pr && i < r->n_parts; i++) {
        const tmlp_bench_part_summary *p = &r->parts[i];
        cJSON *x = cJSON_CreateObject();
        if (!x) break;
        cJSON_AddNumberToObject(x, "rank", i);
        cJSON_AddStringToObject(x, "host", p->host);
        cJSON_AddNumberToObject(x, "queries", (double)p->queries);
        cJSON_AddNumberToObject(x, "samples", (double)p->samples);
        tmlp_json_add(x, "throughput_samples_per_s", num_or_null(p->throughput_samples_per_s));
        tmlp_json_add(x, "p50_ns", num_or_null(p->p50_ns));
        tmlp_json_add(x, "p99_ns", num_or_null(p->p99_ns));
        cJSON_AddNumberToObject(x, "duration_ns", (double)p->duration_ns);
        cJSON_AddBoolToObject(x, "valid", p->valid);
        cJSON_AddBoolToObject(x, "straggler", p->straggler);
        tmlp_json_append(pr, x);
    }
}

cJSON *tmlp_out_run_json(const tmlp_run_row *row, const int32_t *labels, int n_classes,
                         int fashion_names)
{
    const tmlp_bench_result *r = row->result;
    const tmlp_bench_settings *s = &r->settings;
    char buf[64];
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "scenario", tmlp_scenario_name(s->scenario));
    cJSON_AddStringToObject(o, "label", row->label);
    cJSON_AddStringToObject(o, "mode", tmlp_mode_name(s->mode));
    cJSON_AddBoolToObject(o, "valid", r->valid);
    cJSON_AddBoolToObject(o, "interrupted", r->interrupted);
    cJSON *checks = cJSON_AddObjectToObject(o, "checks");
    if (checks) {
        tmlp_json_add(checks, "min_duration", check_json(r->check_min_duration));
        tmlp_json_add(checks, "min_queries", check_json(r->check_min_queries));
        tmlp_json_add(checks, "latency_bound", check_json(r->check_latency_bound));
        tmlp_json_add(checks, "early_stopping", check_json(r->check_early_stopping));
    }
    cJSON *reasons = cJSON_AddArrayToObject(o, "invalid_reasons");
    for (int i = 0; reasons && i < r->n_reasons && i < TMLP_MAX_REASONS; i++)
        tmlp_json_append(reasons, cJSON_CreateString(r->reasons[i]));
    tmlp_json_add(o, "settings", settings_json(s));
    cJSON_AddNumberToObject(o, "queries", (double)r->queries);
    cJSON_AddNumberToObject(o, "samples", (double)r->samples);
    cJSON_AddNumberToObject(o, "errors", (double)r->errors);
    cJSON_AddNumberToObject(o, "nonfinite", (double)r->nonfinite);
    cJSON_AddNumberToObject(o, "completed_queries", (double)r->completed_queries);
    cJSON_AddNumberToObject(o, "never_completed", (double)r->never_completed);
    cJSON_AddBoolToObject(o, "overloaded", r->overloaded);
    cJSON_AddNumberToObject(o, "unissued_queries", (double)r->unissued_queries);
    cJSON_AddNumberToObject(o, "cancelled_samples", (double)r->cancelled);
    cJSON_AddNumberToObject(o, "stopped_at_ns", (double)r->stopped_at_ns);
    tmlp_json_add(o, "service_samples_per_s", num_or_null(r->service_qps));
    cJSON_AddNumberToObject(o, "duration_ns", (double)r->duration_ns);
    tmlp_json_add(o, "throughput_samples_per_s", num_or_null(r->throughput_samples_per_s));
    tmlp_json_add(o, "latency_ns", latency_json(&r->latency, s->percentile_method));
    run_json_early_stopping(o, r);
    snprintf(buf, sizeof buf, "%016" PRIx64, r->workload_digest);
    cJSON_AddStringToObject(o, "workload_digest", buf);
    if (r->wait_policy[0]) cJSON_AddStringToObject(o, "wait_policy", r->wait_policy);
    run_json_accuracy(o, r, labels, n_classes, fashion_names);
    if (s->scenario == TMLP_SCENARIO_SERVER) {
        cJSON_AddNumberToObject(o, "target_qps", s->target_qps);
        tmlp_json_add(o, "scheduled_qps", num_or_null(r->scheduled_qps));
        tmlp_json_add(o, "completed_qps", num_or_null(r->completed_qps));
        tmlp_json_add(o, "issue_delay_ns", latency_json(&r->issue_delay, s->percentile_method));
    }
    if (s->mode == TMLP_MODE_FIND_PEAK) run_json_find_peak(o, r);
    if (tmlp_rep_add_json(o, row, TMLP_REP_ALPHA)) {
        cJSON_Delete(o);
        return NULL;
    }
    if (!row->no_raw_latencies) /* bench_mlp --no-raw-latencies leaves them out */
        tmlp_json_add(o, "latencies_ns", i64_array(r->latencies_ns, r->n_latencies));
    if (!row->no_raw_latencies && s->scenario == TMLP_SCENARIO_SERVER && r->issue_delay_ns)
        tmlp_json_add(o, "issue_delays_ns", i64_array(r->issue_delay_ns, r->n_latencies));
    if (r->n_parts > 0) run_json_per_rank(o, r); /* merged from MPI ranks: each rank's own figures */
    return o;
}

void tmlp_out_per_rank(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n)
{
    if (fmt != TMLP_OUT_TABLE && fmt != TMLP_OUT_MARKDOWN) return;
    int header = 0;
    for (int i = 0; i < n; i++) {
        const tmlp_bench_result *r = rows[i].result;
        if (!r || r->n_parts < 1) continue;
        if (!header) {
            fprintf(f, "\nPer rank (each run above is merged over all ranks' queries; a straggler lies > 3 MAD "
                       "from the ranks' median p99 or throughput):\n");
            header = 1;
        }
        for (int k = 0; k < r->n_parts; k++) {
            const tmlp_bench_part_summary *p = &r->parts[k];
            char p50[32], p99[32];
            fprintf(f, "  %-26s rank %d (%s): %" PRId64 " samples, %.1f samples/s, p50 %s, p99 %s%s\n",
                    rows[i].label, k, p->host[0] ? p->host : "?", p->samples, p->throughput_samples_per_s,
                    tmlp_cli_fmt_ns(p->p50_ns, p50, sizeof p50), tmlp_cli_fmt_ns(p->p99_ns, p99, sizeof p99),
                    p->straggler ? "  <- STRAGGLER" : "");
        }
        for (int k = 0; k < r->n_parts; k++)
            if (r->parts[k].straggler)
                fprintf(f, "  straggler: %s rank %d on %s is out of line with the other ranks (check its host's "
                           "load, binding, or network)\n", rows[i].label, k, r->parts[k].host);
    }
}

cJSON *tmlp_out_resources_json(const tmlp_monitor_summary *s, uint32_t interval_ms,
                               const tmlp_monitor *series)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "duration_ns", (double)s->duration_ns);
    cJSON_AddNumberToObject(o, "interval_ms", (double)interval_ms);
    cJSON_AddNumberToObject(o, "n_samples", (double)s->n_samples);
    if (s->has_cpu && !isnan(s->cpu_user_pct) && !isnan(s->cpu_system_pct)) {
        cJSON_AddNumberToObject(o, "cpu_user_pct", s->cpu_user_pct);
        cJSON_AddNumberToObject(o, "cpu_system_pct", s->cpu_system_pct);
    }
    if (s->has_per_core && s->n_cores > 0) {
        cJSON *c = cJSON_AddArrayToObject(o, "core_busy_pct");
        for (int i = 0; c && i < s->n_cores && i < TMLP_MONITOR_MAX_CORES; i++)
            tmlp_json_append(c, cJSON_CreateNumber(s->core_busy_pct[i]));
    }
    if (s->has_rss) {
        cJSON_AddNumberToObject(o, "rss_peak_bytes", (double)s->rss_peak_bytes);
        cJSON_AddNumberToObject(o, "rss_mean_bytes", s->rss_mean_bytes);
    }
    if (s->rss_start_bytes >= 0) cJSON_AddNumberToObject(o, "rss_start_bytes", (double)s->rss_start_bytes);
    if (s->vm_hwm_bytes >= 0) cJSON_AddNumberToObject(o, "vm_hwm_bytes", (double)s->vm_hwm_bytes);
    if (s->maxrss_bytes >= 0 && s->has_rusage) cJSON_AddNumberToObject(o, "maxrss_bytes", (double)s->maxrss_bytes);
    if (s->has_ctx) {
        cJSON_AddNumberToObject(o, "voluntary_ctx", (double)s->voluntary_ctx);
        cJSON_AddNumberToObject(o, "involuntary_ctx", (double)s->involuntary_ctx);
    }
    if (s->has_rusage) {
        cJSON_AddNumberToObject(o, "minor_faults", (double)s->minor_faults);
        cJSON_AddNumberToObject(o, "major_faults", (double)s->major_faults);
    }
    if (s->max_threads > 0) cJSON_AddNumberToObject(o, "max_threads", s->max_threads);
    if (series) {
        int64_t n = 0;
        const tmlp_monitor_sample *sm = tmlp_monitor_samples(series, &n);
        cJSON *a = cJSON_AddArrayToObject(o, "series");
        for (int64_t i = 0; a && sm && i < n; i++) {
            cJSON *x = cJSON_CreateObject();
            if (!x) break;
            cJSON_AddNumberToObject(x, "t_ns", (double)sm[i].t_ns);
            if (!isnan(sm[i].cpu_user_pct)) {
                cJSON_AddNumberToObject(x, "cpu_user_pct", sm[i].cpu_user_pct);
                cJSON_AddNumberToObject(x, "cpu_system_pct", sm[i].cpu_system_pct);
            }
            if (sm[i].rss_bytes >= 0) cJSON_AddNumberToObject(x, "rss_bytes", (double)sm[i].rss_bytes);
            if (sm[i].threads >= 0) cJSON_AddNumberToObject(x, "threads", sm[i].threads);
            tmlp_json_append(a, x);
        }
    }
    return o;
}

void tmlp_out_resources(FILE *f, tmlp_out_format fmt, const tmlp_run_resources *res)
{
    if (!res || !res->have || fmt == TMLP_OUT_CSV || fmt == TMLP_OUT_JSON) return;
    const tmlp_monitor_summary *s = &res->summary;
    int md = fmt == TMLP_OUT_MARKDOWN;
    const char *item = md ? "- " : "  ";
    fprintf(f, "\n%sResources%s (sampled every %u ms over %.2f s, %" PRId64 " samples; absent = could not be "
               "read)\n", md ? "**" : "", md ? "**" : "", (unsigned)res->interval_ms, (double)s->duration_ns / 1e9,
            s->n_samples);
    if (md) fputc('\n', f);
    if (s->has_cpu)
        fprintf(f, "%sprocess CPU     : user %.1f%%, system %.1f%% (of one core)\n", item, s->cpu_user_pct,
                s->cpu_system_pct);
    if (s->has_per_core && s->n_cores > 0) {
        fprintf(f, "%scores busy      :", item);
        for (int i = 0; i < s->n_cores && i < TMLP_MONITOR_MAX_CORES; i++)
            fprintf(f, "%s cpu%d %.0f%%", i ? "," : "", i, s->core_busy_pct[i]);
        fputs(" (all processes)\n", f);
    }
    if (s->has_rss)
        fprintf(f, "%sresident memory : mean %.1f MB, peak %.1f MB", item, s->rss_mean_bytes / 1048576.0,
                (double)s->rss_peak_bytes / 1048576.0);
    if (s->has_rss && s->vm_hwm_bytes >= 0) fprintf(f, " (VmHWM %.1f MB)", (double)s->vm_hwm_bytes / 1048576.0);
    if (s->has_rss) fputc('\n', f);
    if (s->has_ctx)
        fprintf(f, "%scontext switches: %" PRId64 " voluntary, %" PRId64 " involuntary\n", item, s->voluntary_ctx,
                s->involuntary_ctx);
    if (s->has_rusage)
        fprintf(f, "%spage faults     : %" PRId64 " minor, %" PRId64 " major\n", item, s->minor_faults,
                s->major_faults);
    if (s->max_threads > 0) fprintf(f, "%sthreads (max)   : %d\n", item, s->max_threads);
}

cJSON *tmlp_out_json_doc(const tmlp_run_info *info, const tmlp_run_row *rows, int n,
                         const int32_t *labels, const tmlp_run_resources *res)
{
    unsigned long failed = tmlp_json_failures();
    cJSON *doc = cJSON_CreateObject();
    if (!doc) return NULL;
    tmlp_json_add(doc, "schema_version", cJSON_CreateNumber(TMLP_RESULT_SCHEMA_VERSION));
    tmlp_json_add(doc, "context", tmlp_context_json(info));
    cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
    for (int i = 0; runs && i < n; i++)
        tmlp_json_append(runs, tmlp_out_run_json(&rows[i], labels, info->data_classes,
                                                     info->fashion_names));
    if (res && res->have)
        tmlp_json_add(doc, "resources", tmlp_out_resources_json(&res->summary, res->interval_ms, NULL));
    if (info->paired)
        tmlp_json_add(doc, "paired_vs_f32", tmlp_paired_json(info->paired, "f32", info->paired_name, info->paired_alpha));
    if (tmlp_json_failures() != failed) { /* some key is missing: no document rather than a partial one */
        cJSON_Delete(doc);
        errno = ENOMEM;
        return NULL;
    }
    return doc;
}

int tmlp_out_json(FILE *f, const tmlp_run_info *info, const tmlp_run_row *rows, int n,
                  const int32_t *labels, const tmlp_run_resources *res)
{
    cJSON *doc = tmlp_out_json_doc(info, rows, n, labels, res);
    if (!doc) return -1;
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int rc = fputs(text, f) < 0 || fputc('\n', f) == EOF ? -1 : 0;
    cJSON_free(text);
    return rc;
}

/* --- Chrome trace ----------------------------------------------------------------------- */

/* Per-sample events of one run (queries with several samples): from the query's start to
 * each sample's completion, every `stride`-th sample. */
static void trace_samples(FILE *f, const tmlp_bench_result *r, long pid, int tid, double offset_us,
                          int64_t stride)
{
    int64_t k = 0;
    for (int64_t q = 0; q < r->n_latencies && k < r->n_sample_done; q++) {
        int64_t ns = r->query_samples ? r->query_samples[q] : 1;
        for (int64_t j = 0; j < ns && k < r->n_sample_done; j++, k++) {
            int64_t done = r->sample_done_ns[k];
            if (k % stride != 0 || done < 0) continue; /* never completed: no end to draw */
            double ts = offset_us + (double)r->start_ns[q] / 1e3;
            fprintf(f, ",\n{\"name\":\"sample\",\"cat\":\"sample\",\"ph\":\"X\",\"pid\":%ld,\"tid\":%d,"
                       "\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"query\":%" PRId64 ",\"sample\":%" PRId64,
                    pid, tid, ts, (double)(done - r->start_ns[q]) / 1e3, q, k);
            if (stride > 1) fprintf(f, ",\"stride\":%" PRId64, stride);
            fputs("}}", f);
        }
    }
}

int tmlp_out_trace(FILE *f, const tmlp_run_row *rows, int n, const tmlp_run_resources *res)
{
    long pid = (long)getpid();
    /* The time line: runs are placed at their real start (calibration and model loading
     * show as gaps), relative to the monitor's start or else to the first run's start. */
    uint64_t base = 0;
    if (res && res->have && res->monitor && res->start_ns) base = res->start_ns;
    for (int i = 0; !base && i < n; i++)
        if (rows[i].result->run_start_ns) base = rows[i].result->run_start_ns;
    /* Hand-written rather than cJSON: a run can hold millions of queries. */
    fprintf(f, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"bench_mlp\",\"schema_version\":%d,"
               "\"sample_events_cap_per_run\":%d},\"traceEvents\":[\n", TMLP_RESULT_SCHEMA_VERSION,
            TMLP_TRACE_MAX_SAMPLE_EVENTS);
    fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":0,"
               "\"args\":{\"name\":\"bench_mlp\"}}", pid);
    double fallback_us = 0; /* a run without a start time follows the previous one */
    for (int i = 0; i < n; i++) {
        const tmlp_bench_result *r = rows[i].result;
        int tid = i + 1;
        double offset_us = r->run_start_ns >= base && base ? (double)(r->run_start_ns - base) / 1e3 : fallback_us;
        fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":%d,"
                   "\"args\":{\"name\":\"%s\"}}", pid, tid, rows[i].label);
        double end_us = offset_us;
        int multi = 0;
        for (int64_t q = 0; q < r->n_latencies; q++) {
            int64_t ns = r->query_samples ? r->query_samples[q] : 1;
            if (ns > 1) multi = 1;
            if (r->latencies_ns[q] < 0) continue; /* never completed: no end to draw */
            double ts = offset_us + (r->start_ns ? (double)r->start_ns[q] / 1e3 : 0.0);
            double dur = (double)r->latencies_ns[q] / 1e3;
            fprintf(f, ",\n{\"name\":\"%s\",\"cat\":\"query\",\"ph\":\"X\",\"pid\":%ld,\"tid\":%d,"
                       "\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"query\":%" PRId64 ",\"samples\":%" PRId64,
                    tmlp_scenario_name(r->settings.scenario), pid, tid, ts, dur, q, ns);
            if (r->issue_delay_ns)
                fprintf(f, ",\"issue_delay_ns\":%" PRId64, r->issue_delay_ns[q]);
            fputs("}}", f);
            if (ts + dur > end_us) end_us = ts + dur;
        }
        if (multi && r->sample_done_ns && r->start_ns && r->n_sample_done > 0) {
            int64_t stride = (r->n_sample_done + TMLP_TRACE_MAX_SAMPLE_EVENTS - 1) / TMLP_TRACE_MAX_SAMPLE_EVENTS;
            fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":%d,"
                       "\"args\":{\"name\":\"%s samples", pid, 1001 + i, rows[i].label);
            if (stride > 1)
                fprintf(f, " (1 in %" PRId64 " of %" PRId64 ": at most %d events per run)", stride,
                        r->n_sample_done, TMLP_TRACE_MAX_SAMPLE_EVENTS);
            fputs("\"}}", f);
            trace_samples(f, r, pid, 1001 + i, offset_us, stride);
        }
        fallback_us = end_us + 1000.0;
    }
    if (res && res->have && res->monitor) {
        char *ev = NULL;
        double off = res->start_ns >= base ? (double)(res->start_ns - base) / 1e3 : 0.0;
        if (tmlp_monitor_trace_events(res->monitor, pid, off, &ev, NULL) == TMLP_OK) {
            if (ev[0]) fprintf(f, ",\n%s", ev);
            tmlp_report_string_free(ev);
        }
    }
    fprintf(f, "\n]}\n");
    if (ferror(f)) {
        if (!errno) errno = EIO;
        return -1;
    }
    return 0;
}
