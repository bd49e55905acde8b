/* ab.c — A/B runs: a seeded, interleaved router and the sample-ratio-mismatch check.
 *
 * Why interleave: running all of A and then all of B lets anything that drifts over time
 * (CPU frequency, a noisy neighbour, page cache) masquerade as a difference between the
 * arms. Here one stream of queries is split query by query: query k draws its sample
 * index from one seeded generator and its arm from another (B with probability split_b),
 * so both arms see the same input distribution over the same time window.
 *
 * Sample-ratio mismatch (SRM): if the router was asked for a split s but the arms got
 * counts far from N(1-s) : N s, queries were lost or misrouted and the latencies cannot
 * be compared. Pearson's chi-square with 1 degree of freedom:
 *     X^2 = (n_A - e_A)^2 / e_A + (n_B - e_B)^2 / e_B,
 * and the chi-square(1) tail is P(X^2 > x) = P(|Z| > sqrt x) = erfc(sqrt(x / 2)).
 * Where next: bench/cmd_ab.c runs two models through this and states the verdict.
 */
#include "tinymlp/ab.h"
#include "tinymlp/rng.h"

#include "internal.h"

#include <math.h>
#include <string.h>

tmlp_status tmlp_srm_check(int64_t n_a, int64_t n_b, double split_b, double alpha, tmlp_srm_result *out,
                           tmlp_error *err)
{
    if (n_a < 0 || n_b < 0)
        return tmlp_error_set(err, TMLP_ERR_ARG, "srm: check: %s %lld is negative", n_a < 0 ? "n_a" : "n_b",
                              (long long)(n_a < 0 ? n_a : n_b));
    if (n_a + n_b < 1) return tmlp_error_set(err, TMLP_ERR_ARG, "srm: check: n_a + n_b needs >= 1, got 0");
    if (!(split_b > 0 && split_b < 1))
        return tmlp_error_set(err, TMLP_ERR_ARG, "srm: check: split_b %g is outside (0, 1)", split_b);
    if (!(alpha > 0 && alpha < 1))
        return tmlp_error_set(err, TMLP_ERR_ARG, "srm: check: alpha %g is outside (0, 1)", alpha);
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "srm: check: out is NULL");
    double n = (double)(n_a + n_b);
    out->expected_a = n * (1 - split_b);
    out->expected_b = n * split_b;
    double da = (double)n_a - out->expected_a, db = (double)n_b - out->expected_b;
    out->chi2 = da * da / out->expected_a + db * db / out->expected_b;
    out->p_value = erfc(sqrt(out->chi2 / 2));
    out->mismatch = out->p_value < alpha;
    return TMLP_OK;
}

tmlp_ab_settings tmlp_ab_settings_default(void)
{
    tmlp_ab_settings s;
    memset(&s, 0, sizeof s);
    s.split_b = 0.5;
    s.queries = 2000;
    s.warmup_queries = 100;
    s.sample_count = 1;
    s.route_seed = 1;
    s.sample_seed = 2;
    return s;
}

void tmlp_ab_result_destroy(tmlp_ab_result *r)
{
    if (!r) return;
    tmlp_mem_free(NULL, r->arm[0].latencies_ns);
    tmlp_mem_free(NULL, r->arm[1].latencies_ns);
    tmlp_mem_free(NULL, r->route);
    tmlp_mem_free(NULL, r);
}

tmlp_status tmlp_ab_run(const tmlp_ab_settings *s, const tmlp_ab_arm *a, const tmlp_ab_arm *b, tmlp_ab_result **out,
                        tmlp_error *err)
{
    if (!s || !a || !b || !out || !a->infer || !b->infer)
        return tmlp_error_set(err, TMLP_ERR_ARG, "ab: NULL settings, arm, callback or output pointer");
    if (!(s->split_b > 0 && s->split_b < 1))
        return tmlp_error_set(err, TMLP_ERR_ARG, "ab: split_b = %g must be in (0, 1)", s->split_b);
    if (s->queries < 2 || s->warmup_queries < 0 || s->sample_count < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "ab: need queries >= 2, warmup_queries >= 0, sample_count >= 1");
    tmlp_ab_result *r = tmlp_mem_calloc(NULL, 1, sizeof *r);
    if (!r) return tmlp_error_set(err, TMLP_ERR_NOMEM, "ab: out of memory");
    for (int k = 0; k < 2; k++) {
        /* an arm can receive every query: size for the worst case */
        r->arm[k].latencies_ns = tmlp_mem_calloc(NULL, (size_t)s->queries, sizeof(int64_t));
        if (!r->arm[k].latencies_ns) {
            tmlp_ab_result_destroy(r);
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "ab: out of memory for %lld latencies", (long long)s->queries);
        }
    }
    r->route = tmlp_mem_calloc(NULL, (size_t)s->queries, 1);
    if (!r->route) {
        tmlp_ab_result_destroy(r);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "ab: out of memory for the route log");
    }
    r->queries = s->queries;
    const tmlp_ab_arm *arms[2] = {a, b};
    tmlp_rng route, pick;
    tmlp_rng_seed(&route, s->route_seed);
    tmlp_rng_seed(&pick, s->sample_seed);

    /* warm-up: alternate so both arms warm caches and page in weights the same way */
    for (int64_t i = 0; i < s->warmup_queries; i++) {
        for (int k = 0; k < 2; k++) {
            int32_t pred;
            (void)arms[k]->infer(arms[k]->user, (int64_t)tmlp_rng_below(&pick, (uint64_t)s->sample_count), &pred);
        }
    }
    tmlp_rng_seed(&pick, s->sample_seed); /* the measured stream starts from the seed */
#define NOW() (s->now_ns ? s->now_ns(s->clock_user) : tmlp_time_now_ns())
    uint64_t t0 = NOW();
    for (int64_t q = 0; q < s->queries; q++) {
        int64_t idx = (int64_t)tmlp_rng_below(&pick, (uint64_t)s->sample_count);
        int k = tmlp_rng_uniform(&route) < s->split_b ? 1 : 0;
        tmlp_ab_arm_result *ar = &r->arm[k];
        r->route[q] = (uint8_t)k;
        int32_t pred = -1;
        uint64_t t = NOW();
        tmlp_status st = arms[k]->infer(arms[k]->user, idx, &pred);
        uint64_t dt = NOW() - t;
        ar->attempts++;
        if (st != TMLP_OK) {
            ar->errors++;
            continue;
        }
        ar->latencies_ns[ar->n++] = (int64_t)dt;
        if (s->labels) {
            ar->labeled++;
            if (pred == s->labels[idx]) ar->correct++;
        }
    }
    r->duration_ns = NOW() - t0;
#undef NOW
    *out = r;
    return TMLP_OK;
}
