/* merge.c — one run in several parts: merge the parts' results into the result one
 * process would report, carry a result between processes as bytes, flag stragglers.
 *
 * Why the union and not an average: percentiles do not average. The p99 of a run split
 * over k parts is the p99 of the k sets of latencies put together, so the parts ship every
 * per-query record (8 bytes of latency plus the start time, sample count and, for the
 * server, the issue delay) and the merge recomputes every statistic — summary, latency
 * bound, early stopping — with the same code a one-process run uses (validity.c).
 *
 * Time: each part's start_ns and completion times are relative to its own clock start.
 * The caller makes those starts common (settings.on_start, a barrier); then the merged
 * duration is the longest part's and throughput = completed samples / last completion.
 *
 * Pack format (one build, one byte order — the fixed part is the struct's bytes):
 *     "TMLPRES1" | tmlp_bench_result (pointers zeroed) | latencies_ns[n_latencies]
 *     | start_ns[n] | query_samples[n] (if the start_ns flag word says the result keeps its
 *     records) | issue_delay_ns[n] (if its flag word says so)
 *     | sample_done_ns[n_sample_done] | predictions[n_predictions] (int32)
 */
#include "harness_internal.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PACK_MAGIC "TMLPRES1"

void tmlp_bench_shard(int64_t n, int part, int parts, int64_t *first, int64_t *count)
{
    if (parts < 1 || part < 0 || part >= parts || n < 0) {
        *first = 0;
        *count = 0;
        return;
    }
    int64_t base = n / parts, extra = n % parts;
    *first = (int64_t)part * base + (part < extra ? part : extra);
    *count = base + (part < extra ? 1 : 0);
}

tmlp_bench_part_summary tmlp_bench_part_summarize(const tmlp_bench_result *r)
{
    tmlp_bench_part_summary p;
    memset(&p, 0, sizeof p);
    p.queries = r->queries;
    p.samples = r->samples;
    p.throughput_samples_per_s = r->throughput_samples_per_s;
    p.p50_ns = r->latency.p50;
    p.p99_ns = r->latency.p99;
    p.duration_ns = r->duration_ns;
    p.valid = r->valid;
    return p;
}

/* --- stragglers --------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Mark parts whose value (get(i)) is > 3 MAD and > 5% away from the median. NaNs are skipped. */
static void flag_outliers(tmlp_bench_part_summary *p, int k, int p99)
{
    double v[k], d[k];
    int n = 0;
    for (int i = 0; i < k; i++) {
        double x = p99 ? p[i].p99_ns : p[i].throughput_samples_per_s;
        if (isfinite(x)) v[n++] = x;
    }
    if (n < 3) return;
    double med = median_of(v, n);
    for (int i = 0; i < n; i++) d[i] = fabs(v[i] - med);
    double mad = median_of(d, n);
    for (int i = 0; i < k; i++) {
        double x = p99 ? p[i].p99_ns : p[i].throughput_samples_per_s;
        if (!isfinite(x)) continue;
        double dev = fabs(x - med);
        if (dev > 3.0 * mad && dev > 0.05 * fabs(med)) p[i].straggler = 1;
    }
}

int tmlp_bench_stragglers(tmlp_bench_part_summary *parts, int k)
{
    if (!parts || k < 1) return 0;
    for (int i = 0; i < k; i++) parts[i].straggler = 0;
    if (k < 3) return 0; /* with two parts the median sits between them: nobody is "out of line" */
    flag_outliers(parts, k, 1);
    flag_outliers(parts, k, 0);
    int n = 0;
    for (int i = 0; i < k; i++) n += parts[i].straggler;
    return n;
}

/* --- merge -------------------------------------------------------------------------------- */

typedef struct qref {
    int64_t start;
    int part;
    int64_t q;       /* query index in its part */
    int64_t sfirst;  /* its first sample in the part's sample_done_ns */
} qref;

static int cmp_qref(const void *a, const void *b)
{
    const qref *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->part != y->part) return x->part < y->part ? -1 : 1;
    return (x->q > y->q) - (x->q < y->q);
}

static void *alloc_n(int64_t n, size_t size)
{
    size_t bytes;
    if (n < 1) n = 1;
    if (!tmlp_size_mul((size_t)n, size, &bytes)) return NULL;
    return malloc(bytes);
}

/* Keep a part's reasons that the merged figures cannot show again: overload and stall. */
static void keep_part_reasons(tmlp_bench_result *r, const tmlp_bench_result *p, int i)
{
    for (int j = 0; j < p->n_reasons; j++)
        if (!strncmp(p->reasons[j], "overloaded", 10) || !strncmp(p->reasons[j], "a query did not complete", 24))
            tmlp_bench_add_reason(r, "part %d: %.200s", i, p->reasons[j]);
}

/* What the parts hold in all: queries m, recorded samples ns, predictions npred. */
typedef struct merge_sizes {
    int64_t m, ns, npred;
    int all_pred, server;
} merge_sizes;

/* What the union of the per-query records counts. */
typedef struct merge_tally {
    int64_t n_done, done_samples, incomplete, last_done;
} merge_tally;

/* Phase 1: every part can be merged with part 0 (records kept, same scenario and mode);
 * add up their sizes. */
static tmlp_status merge_check(const tmlp_bench_result *const *parts, int k, merge_sizes *z, tmlp_error *err)
{
    memset(z, 0, sizeof *z);
    z->all_pred = 1;
    z->server = parts[0] && parts[0]->settings.scenario == TMLP_SCENARIO_SERVER;
    for (int i = 0; i < k; i++) {
        const tmlp_bench_result *p = parts[i];
        if (!p) return tmlp_error_set(err, TMLP_ERR_ARG, "merge: part %d is NULL", i);
        if (p->n_latencies > 0 && (!p->start_ns || !p->query_samples || !p->sample_done_ns))
            return tmlp_error_set(err, TMLP_ERR_ARG, "merge: part %d has no per-query records (run it with "
                                  "settings.keep_records = 1)", i);
        if (p->settings.scenario != parts[0]->settings.scenario || p->settings.mode != parts[0]->settings.mode)
            return tmlp_error_set(err, TMLP_ERR_ARG, "merge: part %d ran %s/%s, part 0 %s/%s", i,
                                  tmlp_scenario_name(p->settings.scenario), tmlp_mode_name(p->settings.mode),
                                  tmlp_scenario_name(parts[0]->settings.scenario),
                                  tmlp_mode_name(parts[0]->settings.mode));
        if (z->server && !p->issue_delay_ns && p->n_latencies > 0)
            return tmlp_error_set(err, TMLP_ERR_ARG, "merge: server part %d has no issue delays", i);
        z->m += p->n_latencies;
        z->ns += p->n_sample_done;
        if (!p->predictions) z->all_pred = 0;
        z->npred += p->n_predictions;
    }
    return TMLP_OK;
}

/* Phase 2: the merged result's arrays (NULL, everything freed, on failure). */
static tmlp_bench_result *merge_alloc(const merge_sizes *z, int k)
{
    tmlp_bench_result *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->latencies_ns = alloc_n(z->m, sizeof(int64_t));
    r->start_ns = alloc_n(z->m, sizeof(int64_t));
    r->query_samples = alloc_n(z->m, sizeof(int64_t));
    r->sample_done_ns = alloc_n(z->ns, sizeof(int64_t));
    if (z->server) r->issue_delay_ns = alloc_n(z->m, sizeof(int64_t));
    if (z->all_pred) r->predictions = alloc_n(z->npred, sizeof(int32_t));
    r->parts = alloc_n(k, sizeof *r->parts);
    if (!r->latencies_ns || !r->start_ns || !r->query_samples || !r->sample_done_ns ||
        (z->server && !r->issue_delay_ns) || (z->all_pred && !r->predictions) || !r->parts) {
        tmlp_bench_result_destroy(r);
        return NULL;
    }
    return r;
}

/* Phase 3: the union of the per-query records, in start order; the completed latencies go
 * to sorted[0, t->n_done) (unsorted yet). */
static void merge_union(tmlp_bench_result *r, const tmlp_bench_result *const *parts, int k, const merge_sizes *z,
                        qref *order, double *sorted, merge_tally *t)
{
    int64_t n = 0;
    for (int i = 0; i < k; i++) {
        const tmlp_bench_result *p = parts[i];
        int64_t sf = 0;
        for (int64_t q = 0; q < p->n_latencies; q++) {
            order[n++] = (qref){p->start_ns[q], i, q, sf};
            sf += p->query_samples[q];
        }
    }
    qsort(order, (size_t)z->m, sizeof *order, cmp_qref);
    memset(t, 0, sizeof *t);
    int64_t s_out = 0;
    for (int64_t j = 0; j < z->m; j++) {
        const tmlp_bench_result *p = parts[order[j].part];
        int64_t q = order[j].q, nq = p->query_samples[q];
        r->latencies_ns[j] = p->latencies_ns[q];
        r->start_ns[j] = p->start_ns[q];
        r->query_samples[j] = nq;
        if (z->server) r->issue_delay_ns[j] = p->issue_delay_ns[q];
        for (int64_t s = 0; s < nq && order[j].sfirst + s < p->n_sample_done; s++) {
            int64_t d = p->sample_done_ns[order[j].sfirst + s];
            r->sample_done_ns[s_out++] = d;
            if (d >= 0) t->done_samples++;
        }
        if (p->latencies_ns[q] >= 0) {
            sorted[t->n_done++] = (double)p->latencies_ns[q];
            int64_t end = p->start_ns[q] + p->latencies_ns[q];
            if (end > t->last_done) t->last_done = end;
        } else {
            t->incomplete++;
        }
    }
    r->n_latencies = z->m;
    r->n_sample_done = s_out;
}

/* Phase 4: counts, flags, predictions, digest and settings of the whole run. */
static void merge_counts(tmlp_bench_result *r, const tmlp_bench_result *const *parts, int k, const merge_sizes *z)
{
    const tmlp_bench_settings *s = &parts[0]->settings;
    r->settings = *s;
    r->settings.schedule_stride = 1;
    r->settings.schedule_offset = 0;
    r->run_start_ns = parts[0]->run_start_ns;
    r->service_qps = NAN; /* the parts' sum, where measured */
    uint64_t h = tmlp_hash64_u64(TMLP_HASH64_INIT, (uint64_t)k);
    int64_t p_off = 0;
    for (int i = 0; i < k; i++) {
        const tmlp_bench_result *p = parts[i];
        r->queries += p->queries;
        r->samples += p->samples;
        r->errors += p->errors;
        r->never_completed += p->never_completed;
        r->correct += p->correct;
        r->labeled += p->labeled;
        r->nonfinite += p->nonfinite;
        r->interrupted |= p->interrupted;
        r->offline_samples_planned += p->offline_samples_planned;
        r->overloaded |= p->overloaded;
        r->cancelled += p->cancelled;
        r->unissued_queries += p->unissued_queries;
        if (isfinite(p->service_qps)) r->service_qps = (isfinite(r->service_qps) ? r->service_qps : 0) + p->service_qps;
        if (p->stopped_at_ns && (!r->stopped_at_ns || p->stopped_at_ns < r->stopped_at_ns))
            r->stopped_at_ns = p->stopped_at_ns;
        if (p->duration_ns > r->duration_ns) r->duration_ns = p->duration_ns;
        if (z->all_pred) {
            memcpy(r->predictions + p_off, p->predictions, (size_t)p->n_predictions * sizeof(int32_t));
            p_off += p->n_predictions;
        }
        h = tmlp_hash64_u64(h, p->workload_digest);
        r->parts[i] = tmlp_bench_part_summarize(p);
        keep_part_reasons(r, p, i);
    }
    r->n_predictions = z->all_pred ? z->npred : 0;
    r->n_parts = k;
    r->workload_digest = h;
}

/* Phase 5: percentiles and throughput of the union by the one-process rules (sorted: the
 * ascending completed query latencies). TMLP_ERR_NOMEM for the server's issue delays or
 * offline's per-sample latencies. */
static tmlp_status merge_statistics(tmlp_bench_result *r, const double *sorted, const merge_tally *t, tmlp_error *err)
{
    const tmlp_bench_settings *s = &r->settings;
    const int64_t m = r->n_latencies;
    r->latency = tmlp_bench_summarize(sorted, t->n_done, s->percentile_method);
    r->es_estimate_p99_ns = NAN; /* validate fills it where it applies */
    double span_s = (double)t->last_done * 1e-9;
    switch (s->scenario) {
    case TMLP_SCENARIO_SINGLE_STREAM:
    case TMLP_SCENARIO_MULTI_STREAM:
        r->throughput_samples_per_s = t->last_done > 0 ? (double)t->done_samples / span_s : 0.0;
        break;
    case TMLP_SCENARIO_SERVER: {
        r->scheduled_qps = m > 1 && r->duration_ns > 0 ? (double)(m - 1) / ((double)r->duration_ns * 1e-9) : NAN;
        r->completed_qps = t->n_done > 1 && t->last_done > 0 ? (double)(t->n_done - 1) / span_s : NAN;
        r->throughput_samples_per_s = isfinite(r->completed_qps) ? r->completed_qps : 0.0;
        double *delays = alloc_n(m, sizeof *delays);
        if (!delays) return tmlp_error_set(err, TMLP_ERR_NOMEM, "merge: cannot allocate %lld issue delays", (long long)m);
        for (int64_t j = 0; j < m; j++) delays[j] = (double)r->issue_delay_ns[j];
        tmlp_sort_doubles(delays, m);
        r->issue_delay = tmlp_bench_summarize(delays, m, s->percentile_method);
        free(delays);
        break;
    }
    case TMLP_SCENARIO_OFFLINE: {
        r->throughput_samples_per_s = r->duration_ns > 0
            ? (double)t->done_samples / ((double)r->duration_ns * 1e-9) : 0.0;
        /* LoadGen's offline percentiles are over the SAMPLES (completion - query start),
         * as the harness reports them: the union of all parts' samples */
        double *per = alloc_n(r->n_sample_done, sizeof *per);
        if (!per)
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "merge: cannot allocate %lld sample latencies",
                                  (long long)r->n_sample_done);
        int64_t k = 0, at = 0;
        for (int64_t j = 0; j < m; j++)
            for (int64_t q = 0; q < r->query_samples[j] && at < r->n_sample_done; q++, at++)
                if (r->sample_done_ns[at] >= 0) per[k++] = (double)(r->sample_done_ns[at] - r->start_ns[j]);
        tmlp_sort_doubles(per, k);
        r->latency = tmlp_bench_summarize(per, k, s->percentile_method);
        free(per);
        break;
    }
    }
    return TMLP_OK;
}

tmlp_status tmlp_bench_merge(const tmlp_bench_result *const *parts, int k, tmlp_bench_result **out,
                             tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "merge: out is NULL");
    *out = NULL;
    if (!parts || k < 1) return tmlp_error_set(err, TMLP_ERR_ARG, "merge: need at least one part (got %d)", k);
    merge_sizes z;
    tmlp_status st = merge_check(parts, k, &z, err);
    if (st != TMLP_OK) return st;

    tmlp_bench_result *r = merge_alloc(&z, k);
    qref *order = alloc_n(z.m, sizeof *order);
    double *sorted = alloc_n(z.m, sizeof *sorted);
    if (!r || !order || !sorted) {
        tmlp_bench_result_destroy(r);
        free(order);
        free(sorted);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "merge: cannot allocate the union of %lld queries",
                              (long long)z.m);
    }
    merge_tally t;
    merge_union(r, parts, k, &z, order, sorted, &t);
    merge_counts(r, parts, k, &z);
    r->completed_queries = t.n_done;
    tmlp_sort_doubles(sorted, t.n_done);
    st = merge_statistics(r, sorted, &t, err);
    if (st == TMLP_OK) {
        /* The verdict over the union, by the one-process rules. */
        tmlp_bench_outcome o;
        memset(&o, 0, sizeof o);
        o.interrupted = r->interrupted;
        o.never_completed = r->never_completed;
        o.incomplete_queries = t.incomplete;
        tmlp_bench_validate(r, sorted, t.n_done, &o);
        *out = r;
    } else {
        tmlp_bench_result_destroy(r);
    }
    free(order);
    free(sorted);
    return st;
}

/* --- pack / unpack -------------------------------------------------------------------------- */

typedef struct span {
    void *p;
    int64_t n;
    size_t size;
} span;

/* The arrays of r in pack order; returns how many. */
static int spans_of(tmlp_bench_result *r, span out[6])
{
    int k = 0;
    out[k++] = (span){r->latencies_ns, r->n_latencies, sizeof(int64_t)};
    out[k++] = (span){r->start_ns, r->start_ns ? r->n_latencies : 0, sizeof(int64_t)};
    out[k++] = (span){r->query_samples, r->start_ns ? r->n_latencies : 0, sizeof(int64_t)};
    out[k++] = (span){r->issue_delay_ns, r->issue_delay_ns ? r->n_latencies : 0, sizeof(int64_t)};
    out[k++] = (span){r->sample_done_ns, r->n_sample_done, sizeof(int64_t)};
    out[k++] = (span){r->predictions, r->predictions ? r->n_predictions : 0, sizeof(int32_t)};
    return k;
}

static int add_size(size_t *total, int64_t n, size_t size)
{
    size_t b;
    if (n < 0 || !tmlp_size_mul((size_t)n, size, &b)) return 0;
    return !__builtin_add_overflow(*total, b, total);
}

tmlp_status tmlp_bench_result_pack(const tmlp_bench_result *r, void **buf, size_t *len, tmlp_error *err)
{
    if (!r || !buf || !len) return tmlp_error_set(err, TMLP_ERR_ARG, "pack: NULL argument");
    if (r->n_latencies > 0 && (!r->start_ns != !r->query_samples || (r->n_sample_done > 0 && !r->sample_done_ns)))
        return tmlp_error_set(err, TMLP_ERR_ARG, "pack: the result has part of its per-query records");
    *buf = NULL;
    *len = 0;
    tmlp_bench_result fixed = *r;
    fixed.n_parts = 0; /* a part's own parts are not carried */
    span sp[6];
    int k = spans_of((tmlp_bench_result *)r, sp);
    /* flag words in the fixed part say which optional arrays follow */
    fixed.latencies_ns = fixed.query_samples = fixed.sample_done_ns = NULL;
    fixed.start_ns = r->start_ns ? (int64_t *)(uintptr_t)1 : NULL; /* the records follow */
    fixed.issue_delay_ns = r->issue_delay_ns ? (int64_t *)(uintptr_t)1 : NULL;
    fixed.predictions = r->predictions ? (int32_t *)(uintptr_t)1 : NULL;
    fixed.parts = NULL;
    size_t total = sizeof PACK_MAGIC - 1 + sizeof fixed;
    for (int i = 0; i < k; i++)
        if (!add_size(&total, sp[i].n, sp[i].size))
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "pack: result too large");
    unsigned char *b = malloc(total), *w = b;
    if (!b) return tmlp_error_set(err, TMLP_ERR_NOMEM, "pack: cannot allocate %zu bytes", total);
    memcpy(w, PACK_MAGIC, sizeof PACK_MAGIC - 1);
    w += sizeof PACK_MAGIC - 1;
    memcpy(w, &fixed, sizeof fixed);
    w += sizeof fixed;
    for (int i = 0; i < k; i++) {
        size_t bytes = (size_t)sp[i].n * sp[i].size;
        if (bytes) memcpy(w, sp[i].p, bytes);
        w += bytes;
    }
    *buf = b;
    *len = total;
    return TMLP_OK;
}

tmlp_status tmlp_bench_result_unpack(const void *buf, size_t len, tmlp_bench_result **out, tmlp_error *err)
{
    if (!buf || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "unpack: NULL argument");
    *out = NULL;
    const unsigned char *b = buf;
    size_t head = sizeof PACK_MAGIC - 1 + sizeof(tmlp_bench_result);
    if (len < head || memcmp(b, PACK_MAGIC, sizeof PACK_MAGIC - 1) != 0)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "unpack: not a packed result (%zu bytes)", len);
    tmlp_bench_result *r = calloc(1, sizeof *r);
    if (!r) return tmlp_error_set(err, TMLP_ERR_NOMEM, "unpack: cannot allocate the result");
    memcpy(r, b + sizeof PACK_MAGIC - 1, sizeof *r);
    int has_delay = r->issue_delay_ns != NULL, has_pred = r->predictions != NULL, has_rec = r->start_ns != NULL;
    r->latencies_ns = r->start_ns = r->query_samples = r->issue_delay_ns = r->sample_done_ns = NULL;
    r->predictions = NULL;
    r->parts = NULL;
    r->n_parts = 0;
    size_t need = head;
    if (!add_size(&need, r->n_latencies, (has_rec ? 3 : 1) * sizeof(int64_t)) ||
        !add_size(&need, has_delay ? r->n_latencies : 0, sizeof(int64_t)) ||
        !add_size(&need, r->n_sample_done, sizeof(int64_t)) ||
        !add_size(&need, has_pred ? r->n_predictions : 0, sizeof(int32_t)) || need != len) {
        free(r);
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "unpack: %zu bytes do not hold the arrays the header names",
                              len);
    }
    r->latencies_ns = alloc_n(r->n_latencies, sizeof(int64_t));
    if (has_rec) {
        r->start_ns = alloc_n(r->n_latencies, sizeof(int64_t));
        r->query_samples = alloc_n(r->n_latencies, sizeof(int64_t));
    }
    if (r->n_sample_done > 0) r->sample_done_ns = alloc_n(r->n_sample_done, sizeof(int64_t));
    if (has_delay) r->issue_delay_ns = alloc_n(r->n_latencies, sizeof(int64_t));
    if (has_pred) r->predictions = alloc_n(r->n_predictions, sizeof(int32_t));
    if (!r->latencies_ns || (has_rec && (!r->start_ns || !r->query_samples)) ||
        (r->n_sample_done > 0 && !r->sample_done_ns) ||
        (has_delay && !r->issue_delay_ns) || (has_pred && !r->predictions)) {
        tmlp_bench_result_destroy(r);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "unpack: cannot allocate the arrays");
    }
    span sp[6];
    int k = spans_of(r, sp);
    const unsigned char *p = b + head;
    for (int i = 0; i < k; i++) {
        size_t bytes = (size_t)sp[i].n * sp[i].size;
        if (bytes) memcpy(sp[i].p, p, bytes);
        p += bytes;
    }
    *out = r;
    return TMLP_OK;
}
