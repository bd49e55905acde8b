/* tinymlp/queue.h — queueing-model predictions for the server scenario: Erlang C, M/M/c
 * and M/G/c (Allen-Cunneen) waits and response-time quantiles from a measured service
 * time. Computed from the inputs only.
 *
 * Errors: every call that returns a tmlp_status reports a message through a trailing
 * optional `tmlp_error *err` (NULL is fine). Thread-safety: every function is reentrant.
 */
#ifndef TINYMLP_QUEUE_H
#define TINYMLP_QUEUE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif
