/* repeat.c — `--repeat N`: every scenario run N times (round-robin over the scenarios, so
 * each one's repetitions span the invocation), and what a reader needs from the N runs.
 *
 * Why: the queries of one run share that run's state — clock frequency, neighbours, cache
 * and page placement — so the run, not the query, is the unit of replication. A verdict
 * about two configurations needs several runs of each, and a run's own noise is the
 * spread of its repetitions:
 *     aggregate value  = median over the repetitions (robust to one disturbed run)
 *     CV               = sd / mean over the repetitions
 *     noise floor      = the smallest relative change a comparison of two runs like this
 *                        one could detect at alpha (tmlp_regress_noise_floor, report.h).
 * The row's `result` keeps repetition 1's raw arrays (per-query latencies, trace) with
 * its summary figures replaced by the aggregate (run.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

static const char *const metric_names[TMLP_RM_COUNT] = {"mean", "p50", "p90", "p99", "throughput"};

const char *tmlp_rep_metric_name(tmlp_rep_metric m)
{
    return (unsigned)m < TMLP_RM_COUNT ? metric_names[m] : "unknown";
}

const char *tmlp_rep_metric_unit(tmlp_rep_metric m) { return m == TMLP_RM_THROUGHPUT ? "samples/s" : "ns"; }

double tmlp_rep_value(const tmlp_rep_summary *s, tmlp_rep_metric m)
{
    switch (m) {
    case TMLP_RM_MEAN: return s->latency.mean;
    case TMLP_RM_P50: return s->latency.p50;
    case TMLP_RM_P90: return s->latency.p90;
    case TMLP_RM_P99: return s->latency.p99;
    case TMLP_RM_THROUGHPUT: return s->throughput;
    default: return NAN;
    }
}

void tmlp_rep_from_result(const tmlp_bench_result *r, tmlp_rep_summary *o)
{
    memset(o, 0, sizeof *o);
    o->valid = r->valid;
    o->interrupted = r->interrupted;
    o->n_reasons = r->n_reasons;
    if (r->n_reasons > 0) snprintf(o->reason, sizeof o->reason, "%s", r->reasons[0]);
    o->queries = r->queries;
    o->samples = r->samples;
    o->correct = r->correct;
    o->labeled = r->labeled;
    o->duration_ns = r->duration_ns;
    o->digest = r->workload_digest;
    o->throughput = r->throughput_samples_per_s;
    o->latency = r->latency;
    o->es_estimate_ns = r->es_estimate_ns;
    o->es_estimate_p99_ns = r->es_estimate_p99_ns;
    o->pid = (int)getpid();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the finite values among n doubles (NaN if none); v is reordered. */
static double median_of(double *v, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) v[k++] = v[i];
    if (k == 0) return NAN;
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

/* Median over the repetitions of the double at byte offset `off` of tmlp_rep_summary. */
static double median_field(const tmlp_run_row *row, size_t off)
{
    double v[TMLP_MAX_REPEAT];
    for (int i = 0; i < row->n_reps; i++) memcpy(&v[i], (const char *)&row->reps[i] + off, sizeof(double));
    return median_of(v, row->n_reps);
}

#define MED(field) median_field(row, offsetof(tmlp_rep_summary, field))

void tmlp_rep_aggregate(tmlp_run_row *row)
{
    if (!row || row->n_reps <= 1 || !row->result) return;
    tmlp_bench_result *r = row->result;
    r->latency.min = MED(latency.min);
    r->latency.max = MED(latency.max);
    r->latency.mean = MED(latency.mean);
    r->latency.p50 = MED(latency.p50);
    r->latency.p90 = MED(latency.p90);
    r->latency.p95 = MED(latency.p95);
    r->latency.p97 = MED(latency.p97);
    r->latency.p99 = MED(latency.p99);
    r->latency.p999 = MED(latency.p999);
    r->throughput_samples_per_s = MED(throughput);
    r->es_estimate_ns = MED(es_estimate_ns);
    r->es_estimate_p99_ns = MED(es_estimate_p99_ns);
    int64_t q = 0, smp = 0, cnt = 0;
    int all_valid = 1, any_interrupted = 0;
    for (int i = 0; i < row->n_reps; i++) {
        const tmlp_rep_summary *s = &row->reps[i];
        q += s->queries;
        smp += s->samples;
        cnt += s->latency.count;
        all_valid &= s->valid;
        any_interrupted |= s->interrupted;
        /* repetition 1's reasons are already in r; add the first reason of the others */
        if (i > 0 && !s->valid)
            tmlp_bench_add_reason(r, "repetition %d: %s", i + 1, s->reason[0] ? s->reason : "INVALID");
    }
    r->queries = q;
    r->samples = smp;
    r->latency.count = cnt;
    r->valid = all_valid;
    r->interrupted = any_interrupted;
}

double tmlp_rep_cv(const tmlp_run_row *row, tmlp_rep_metric m)
{
    if (!row || row->n_reps < 2) return NAN;
    double sum = 0, ss = 0;
    int n = 0;
    for (int i = 0; i < row->n_reps; i++) {
        double v = tmlp_rep_value(&row->reps[i], m);
        if (!isfinite(v)) continue;
        sum += v;
        n++;
    }
    if (n < 2) return NAN;
    double mean = sum / n;
    for (int i = 0; i < row->n_reps; i++) {
        double v = tmlp_rep_value(&row->reps[i], m);
        if (isfinite(v)) ss += (v - mean) * (v - mean);
    }
    return mean != 0 ? sqrt(ss / (n - 1)) / fabs(mean) : NAN;
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* Checked: every cJSON call's result is tested; -1 on the first failure. */
static int add(cJSON *o, const char *k, cJSON *v)
{
    if (!v) return -1;
    if (!cJSON_AddItemToObject(o, k, v)) {
        cJSON_Delete(v);
        return -1;
    }
    return 0;
}

static cJSON *latency_obj(const tmlp_latency_summary *l)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    if (add(o, "count", cJSON_CreateNumber((double)l->count)) || add(o, "mean", num_or_null(l->mean)) ||
        add(o, "p50", num_or_null(l->p50)) || add(o, "p90", num_or_null(l->p90)) ||
        add(o, "p95", num_or_null(l->p95)) || add(o, "p99", num_or_null(l->p99)) ||
        add(o, "p999", num_or_null(l->p999)) || add(o, "max", num_or_null(l->max))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *rep_json(const tmlp_rep_summary *s, int index)
{
    char digest[24];
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    snprintf(digest, sizeof digest, "%016" PRIx64, s->digest);
    if (add(o, "repetition", cJSON_CreateNumber(index + 1)) || add(o, "valid", cJSON_CreateBool(s->valid)) ||
        add(o, "interrupted", cJSON_CreateBool(s->interrupted)) ||
        add(o, "invalid_reason", s->reason[0] ? cJSON_CreateString(s->reason) : cJSON_CreateNull()) ||
        add(o, "queries", cJSON_CreateNumber((double)s->queries)) ||
        add(o, "samples", cJSON_CreateNumber((double)s->samples)) ||
        add(o, "duration_ns", cJSON_CreateNumber((double)s->duration_ns)) ||
        add(o, "throughput_samples_per_s", num_or_null(s->throughput)) ||
        add(o, "latency_ns", latency_obj(&s->latency)) ||
        add(o, "early_stopping_estimate_ns", num_or_null(s->es_estimate_ns)) ||
        add(o, "workload_digest", cJSON_CreateString(digest)) || add(o, "pid", cJSON_CreateNumber(s->pid))) {
        cJSON_Delete(o);
        return NULL;
    }
    if (s->labeled > 0 &&
        (add(o, "accuracy", cJSON_CreateNumber((double)s->correct / (double)s->labeled)) ||
         add(o, "correct", cJSON_CreateNumber((double)s->correct)) ||
         add(o, "labeled", cJSON_CreateNumber((double)s->labeled)))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int tmlp_rep_add_json(cJSON *o, const tmlp_run_row *row, double alpha)
{
    if (!row || row->n_reps <= 1) return 0;
    cJSON *reps = cJSON_CreateArray();
    if (add(o, "repetitions", reps)) return -1;
    for (int i = 0; i < row->n_reps; i++) {
        cJSON *x = rep_json(&row->reps[i], i);
        if (!x || !cJSON_AddItemToArray(reps, x)) {
            cJSON_Delete(x);
            return -1;
        }
    }
    cJSON *agg = cJSON_CreateObject(), *med, *cv, *floor;
    if (add(o, "aggregate", agg)) return -1;
    if (add(agg, "repetitions", cJSON_CreateNumber(row->n_reps)) ||
        add(agg, "statistic", cJSON_CreateString("median over repetitions")) ||
        add(agg, "alpha", cJSON_CreateNumber(alpha)) || add(agg, "median", med = cJSON_CreateObject()) ||
        add(agg, "cv", cv = cJSON_CreateObject()) || add(agg, "noise_floor", floor = cJSON_CreateObject()))
        return -1;
    for (int m = 0; m < TMLP_RM_COUNT; m++) {
        double v[TMLP_MAX_REPEAT];
        for (int i = 0; i < row->n_reps; i++) v[i] = tmlp_rep_value(&row->reps[i], (tmlp_rep_metric)m);
        double c = tmlp_rep_cv(row, (tmlp_rep_metric)m);
        const char *k = tmlp_rep_metric_name((tmlp_rep_metric)m);
        if (add(med, k, num_or_null(median_of(v, row->n_reps))) || add(cv, k, num_or_null(c)) ||
            add(floor, k, num_or_null(tmlp_regress_noise_floor(c, row->n_reps, alpha))))
            return -1;
    }
    /* all repetitions of one row run the same workload: say so if not */
    int same = 1;
    for (int i = 1; i < row->n_reps; i++) same &= row->reps[i].digest == row->reps[0].digest;
    if (add(agg, "same_workload", cJSON_CreateBool(same))) return -1;
    return 0;
}

static void pct_cell(char *buf, size_t cap, double v)
{
    if (isfinite(v)) snprintf(buf, cap, "%.1f%%", 100.0 * v);
    else snprintf(buf, cap, "-");
}

void tmlp_rep_table(FILE *f, tmlp_out_format fmt, const tmlp_run_row *rows, int n, double alpha)
{
    int any = 0;
    for (int i = 0; i < n; i++) any |= rows[i].n_reps > 1;
    if (!any || fmt == TMLP_OUT_CSV || fmt == TMLP_OUT_JSON) return;
    int md = fmt == TMLP_OUT_MARKDOWN;
    fprintf(f, "\n%sSpread between repetitions (CV = sd/mean of the per-repetition values; the table "
               "above shows their medians)%s\n", md ? "**" : "", md ? "**" : "");
    if (md) fputs("\n| scenario | runs | CV mean | CV p50 | CV p90 | CV p99 | CV throughput | noise floor p50 | "
                  "noise floor throughput |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
    else fprintf(f, "%-16s %4s  %8s %8s %8s %8s %13s  %15s %22s\n", "scenario", "runs", "CV mean", "CV p50",
                 "CV p90", "CV p99", "CV throughput", "noise floor p50", "noise floor throughput");
    for (int i = 0; i < n; i++) {
        const tmlp_run_row *row = &rows[i];
        if (row->n_reps <= 1) continue;
        char c[TMLP_RM_COUNT][16], f50[16], fthr[16];
        for (int m = 0; m < TMLP_RM_COUNT; m++) pct_cell(c[m], sizeof c[m], tmlp_rep_cv(row, (tmlp_rep_metric)m));
        pct_cell(f50, sizeof f50, tmlp_regress_noise_floor(tmlp_rep_cv(row, TMLP_RM_P50), row->n_reps, alpha));
        pct_cell(fthr, sizeof fthr,
                 tmlp_regress_noise_floor(tmlp_rep_cv(row, TMLP_RM_THROUGHPUT), row->n_reps, alpha));
        if (md)
            fprintf(f, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", row->label, row->n_reps, c[0], c[1], c[2],
                    c[3], c[4], f50, fthr);
        else
            fprintf(f, "%-16s %4d  %8s %8s %8s %8s %13s  %15s %22s\n", row->label, row->n_reps, c[0], c[1], c[2],
                    c[3], c[4], f50, fthr);
    }
    fprintf(f, "Noise floor: the smallest change a comparison of two runs like this one can detect at alpha "
               "%g (Welch on log repetition values, %s). Gate with --repeat 5 or more.\n",
            alpha, "docs/statistics.md, \"Is B faster than A?\"");
}

void tmlp_rep_free(tmlp_run_row *row)
{
    if (!row) return;
    free(row->reps);
    row->reps = NULL;
    row->n_reps = 0;
}
