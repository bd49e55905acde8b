/* schedule.c — the workload of a run: which samples each query carries, when each server
 * query arrives, and the digest that identifies both.
 *
 * Sample choice (LoadGen): a performance query picks its sample indices uniformly with
 * replacement from [0, N) — tmlp_rng_below on a tmlp_rng seeded with sample_seed. Accuracy
 * mode issues every index exactly once, in order 0, 1, ..., N-1.
 *
 * Server arrivals are a Poisson process at rate λ = target_qps: the gaps are exponential
 * with mean 1/λ, drawn by inversion (tmlp_rng_exponential) from their own seed. Each gap
 * is rounded to an integer number of nanoseconds and summed in integers, so the schedule
 * is the same on every machine (the only floating-point step is one log1p per gap):
 *     t[0] = 0,   t[i] = t[i-1] + round(1e9 · (-log1p(-u_i) / λ)).
 * The whole schedule exists before the clock starts: the issuer only reads it.
 *
 * The workload digest is FNV-1a 64 (tmlp_hash64) over little-endian u64s:
 *     scenario, mode (0 perf / 1 accuracy), samples per query (multi), batch size and
 *     sample count (offline), the SUT's sample count, then every planned query's sample
 *     indices in order, then (server) every scheduled time in ns.
 * "Planned" = the queries the settings ask for: max(min_query_count, 1) capped by
 * max_query_count for the closed loops, the whole schedule for the server, the one query
 * for offline, every sample for accuracy. A closed loop that runs longer than planned
 * issues the same first queries (the stream is prefix-stable), so the digest still names
 * its workload; warm-up queries draw from a separate stream and are not hashed.
 */
#include "harness_internal.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>

void tmlp_sampler_init(tmlp_sampler *s, uint64_t seed, int64_t count, int sequential)
{
    tmlp_rng_seed(&s->rng, seed);
    s->count = count;
    s->sequential = sequential;
    s->next = 0;
}

int64_t tmlp_sampler_next(tmlp_sampler *s)
{
    if (s->sequential) {
        int64_t i = s->next % s->count;
        s->next++;
        return i;
    }
    return (int64_t)tmlp_rng_below(&s->rng, (uint64_t)s->count);
}

tmlp_status tmlp_schedule_generate(uint64_t seed, double qps, int64_t exact_count, int64_t min_queries,
                                   uint64_t min_duration_ns, int64_t max_queries,
                                   uint64_t max_duration_ns, int64_t **out, int64_t *n_out,
                                   tmlp_error *err)
{
    if (!out || !n_out) return tmlp_error_set(err, TMLP_ERR_ARG, "schedule: NULL output");
    *out = NULL;
    *n_out = 0;
    if (!(qps > 0.0) || !isfinite(qps))
        return tmlp_error_set(err, TMLP_ERR_ARG, "target_qps must be a finite number > 0 (got %g)", qps);
    int64_t want = exact_count > 0 ? exact_count : (min_queries > 1 ? min_queries : 1);
    if (exact_count <= 0 && max_queries > 0 && want > max_queries) want = max_queries;

    /* Start from the expected size and grow by doubling (the count needed to cover the
     * minimum duration is random). */
    double expect = (double)min_duration_ns * 1e-9 * qps * 1.05 + 16.0;
    int64_t cap = want + 16;
    if (exact_count <= 0 && expect > (double)cap && expect < 1e9) cap = (int64_t)expect;
    size_t bytes;
    if (!tmlp_size_mul((size_t)cap, sizeof(int64_t), &bytes))
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "schedule: %lld arrivals overflow", (long long)cap);
    int64_t *t = malloc(bytes);
    if (!t) return tmlp_error_set(err, TMLP_ERR_NOMEM, "schedule: cannot allocate %lld arrivals", (long long)cap);

    tmlp_rng rng;
    tmlp_rng_seed(&rng, seed);
    int64_t n = 0;
    int64_t now = 0;
    for (;;) {
        if (n > 0) {
            double gap = tmlp_rng_exponential(&rng, qps) * 1e9;
            if (gap > 9e18) gap = 9e18;
            now += (int64_t)llround(gap);
        }
        if (exact_count > 0) {
            if (n >= exact_count) break;
        } else {
            if (n >= want && (uint64_t)(n > 0 ? t[n - 1] : 0) >= min_duration_ns) break;
            if (max_queries > 0 && n >= max_queries) break;
            if (max_duration_ns > 0 && n > 0 && (uint64_t)now > max_duration_ns) break;
        }
        if (n == cap) {
            int64_t ncap = cap * 2;
            size_t nb;
            if (!tmlp_size_mul((size_t)ncap, sizeof(int64_t), &nb)) {
                free(t);
                return tmlp_error_set(err, TMLP_ERR_NOMEM, "schedule: too many arrivals");
            }
            int64_t *nt = realloc(t, nb);
            if (!nt) {
                free(t);
                return tmlp_error_set(err, TMLP_ERR_NOMEM, "schedule: cannot grow to %lld arrivals",
                                      (long long)ncap);
            }
            t = nt;
            cap = ncap;
        }
        t[n++] = now;
    }
    *out = t;
    *n_out = n;
    return TMLP_OK;
}

int64_t tmlp_workload_planned_queries(const tmlp_bench_settings *s)
{
    int64_t k = s->min_query_count > 1 ? s->min_query_count : 1;
    if (s->max_query_count > 0 && k > s->max_query_count) k = s->max_query_count;
    return k;
}

int64_t tmlp_workload_offline_samples(const tmlp_bench_settings *s, int64_t sample_count)
{
    if (s->mode == TMLP_MODE_ACCURACY) return sample_count; /* every sample exactly once */
    if (s->offline_sample_count > 0) return s->offline_sample_count;
    double n = (double)sample_count;
    if (s->offline_expected_qps > 0.0) {
        /* LoadGen: expected QPS x min duration x 1.1 (slack for a faster-than-expected SUT) */
        n = ceil(s->offline_expected_qps * ((double)s->min_duration_ms / 1e3) * 1.1);
        if (n < 1.0) n = 1.0;
    }
    if (n < (double)s->min_query_count) n = (double)s->min_query_count; /* counts samples */
    if (n > (double)TMLP_OFFLINE_MAX_PLANNED) n = (double)TMLP_OFFLINE_MAX_PLANNED + 1.0; /* refused */
    return (int64_t)n;
}

uint64_t tmlp_workload_digest(const tmlp_bench_settings *s, int64_t sample_count,
                              const int64_t *schedule, int64_t n_schedule)
{
    int accuracy = s->mode == TMLP_MODE_ACCURACY;
    uint64_t h = TMLP_HASH64_INIT;
    h = tmlp_hash64_u64(h, (uint64_t)s->scenario);
    h = tmlp_hash64_u64(h, (uint64_t)accuracy);
    int64_t per_query = 1;
    int64_t queries;
    if (s->scenario == TMLP_SCENARIO_MULTI_STREAM) {
        per_query = s->samples_per_query;
        h = tmlp_hash64_u64(h, (uint64_t)per_query);
    }
    h = tmlp_hash64_u64(h, (uint64_t)sample_count);

    tmlp_sampler smp;
    tmlp_sampler_init(&smp, s->sample_seed, sample_count, accuracy);
    int64_t total; /* sample indices to hash */
    if (s->scenario == TMLP_SCENARIO_OFFLINE) {
        total = tmlp_workload_offline_samples(s, sample_count);
        h = tmlp_hash64_u64(h, (uint64_t)s->offline_batch_size);
        h = tmlp_hash64_u64(h, (uint64_t)total);
    } else if (accuracy) {
        total = sample_count;
    } else {
        queries = s->scenario == TMLP_SCENARIO_SERVER ? n_schedule : tmlp_workload_planned_queries(s);
        total = queries * per_query;
    }
    for (int64_t i = 0; i < total; i++) h = tmlp_hash64_u64(h, (uint64_t)tmlp_sampler_next(&smp));
    if (s->scenario == TMLP_SCENARIO_SERVER && schedule)
        for (int64_t i = 0; i < n_schedule; i++) h = tmlp_hash64_u64(h, (uint64_t)schedule[i]);
    return h;
}
