/* tinymlp/ab.h — comparing two models on one interleaved stream: the A/B router and the
 * sample-ratio-mismatch (SRM) test that says whether its split can be trusted.
 *
 * Ownership: tmlp_ab_run allocates the result; free it with tmlp_ab_result_destroy
 * (accepts NULL).
 *
 * Errors: every call that returns a tmlp_status reports a message through a trailing
 * optional `tmlp_error *err` (NULL is fine). Thread-safety: every function is reentrant.
 */
#ifndef TINYMLP_AB_H
#define TINYMLP_AB_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif
