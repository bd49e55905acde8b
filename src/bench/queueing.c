/* queueing.c — how long queries wait when c workers serve Poisson arrivals.
 *
 * Notation: lambda arrivals/s, c servers, each serving at mu/s (mean service 1/mu),
 * offered load a = lambda/mu (in "busy servers"), utilisation rho = a/c < 1.
 *
 * Erlang C, the probability that an arrival finds all c servers busy, from the Erlang B
 * recursion (stable for large c, no factorials):
 *     B(0) = 1,  B(k) = a B(k-1) / (k + a B(k-1)),  C = c B(c) / (c - a (1 - B(c))).
 * M/M/c: the wait is 0 with probability 1 - C and otherwise exponential with rate
 * theta = c mu - lambda, so Wq = C / theta; the response T = Wq + S with S ~ Exp(mu):
 *     P(T > t) = (1-C) e^{-mu t} + C (theta e^{-mu t} - mu e^{-theta t}) / (theta - mu)
 * (the second term is the tail of a sum of two exponentials; (1 + mu t) e^{-mu t} when
 * theta = mu). A quantile is found by bisection on this exact tail.
 *
 * M/G/c, Allen-Cunneen approximation: Wq ~= Wq(M/M/c with the same mean service) x
 * (Ca^2 + Cs^2) / 2, Ca^2 = 1 for Poisson arrivals, Cs^2 = Var(S)/E[S]^2 measured. For the
 * p99 we keep the M/M/c shape of the wait (0 w.p. 1-C, else exponential with mean Wq/C)
 * and convolve it with the EMPIRICAL service times s_1..s_n:
 *     P(T > t) = (1/n) sum_i P(Wq > t - s_i),  P(Wq > x) = 1 if x < 0 else C e^{-x C / Wq}.
 * Where next: bench/cmd_plan.c checks these predictions against measured runs.
 */
#include "tinymlp/queue.h"

#include "internal.h"

#include <math.h>

double tmlp_queue_erlang_c(int c, double a)
{
    if (c < 1 || !(a > 0) || !(a < c)) return NAN;
    double B = 1;
    for (int k = 1; k <= c; k++) B = a * B / (k + a * B);
    return c * B / (c - a * (1 - B));
}

/* Bisection for t with tail(t) = q on [0, hi], doubling hi until tail(hi) < q. */
static double solve_tail(double (*tail)(const void *, double), const void *ctx, double q, double scale)
{
    double lo = 0, hi = scale > 0 ? scale : 1;
    for (int i = 0; i < 200 && tail(ctx, hi) > q; i++) hi *= 2;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (tail(ctx, mid) > q) lo = mid;
        else hi = mid;
        if (hi - lo <= 1e-12 * hi) break;
    }
    return 0.5 * (lo + hi);
}

typedef struct mmc_ctx {
    double pw, mu, theta;
} mmc_ctx;

static double mmc_tail(const void *p, double t)
{
    const mmc_ctx *c = p;
    double sum;
    if (fabs(c->theta - c->mu) < 1e-9 * c->mu) sum = (1 + c->mu * t) * exp(-c->mu * t);
    else sum = (c->theta * exp(-c->mu * t) - c->mu * exp(-c->theta * t)) / (c->theta - c->mu);
    return (1 - c->pw) * exp(-c->mu * t) + c->pw * sum;
}

static tmlp_status check_args(double lambda, double mu, int c, double p, tmlp_queue_result *out, tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "queue: NULL result pointer");
    if (!(lambda > 0) || !(mu > 0) || c < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "queue: need lambda > 0, mu > 0, c >= 1 (got %g, %g, %d)", lambda, mu, c);
    if (!(p == 0 || (p > 0 && p < 1))) return tmlp_error_set(err, TMLP_ERR_ARG, "queue: quantile %g not in (0,1)", p);
    double rho = lambda / (c * mu);
    if (!(rho < 1))
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "queue: utilisation %.3f >= 1 with %d workers: the queue grows without bound", rho, c);
    return TMLP_OK;
}

tmlp_status tmlp_queue_mmc(double lambda, double mu, int c, double p, tmlp_queue_result *out, tmlp_error *err)
{
    tmlp_status st = check_args(lambda, mu, c, p, out, err);
    if (st) return st;
    double a = lambda / mu;
    mmc_ctx ctx = {tmlp_queue_erlang_c(c, a), mu, c * mu - lambda};
    out->rho = a / c;
    out->p_wait = ctx.pw;
    out->mean_wait_s = ctx.pw / ctx.theta;
    out->mean_response_s = out->mean_wait_s + 1 / mu;
    out->response_quantile_s = p > 0 ? solve_tail(mmc_tail, &ctx, 1 - p, 1 / mu) : NAN;
    return TMLP_OK;
}

typedef struct mgc_ctx {
    double pw, cond_mean; /* P(wait), mean wait given a wait (s) */
    const int64_t *s;
    int64_t n;
} mgc_ctx;

static double mgc_tail(const void *p, double t)
{
    const mgc_ctx *c = p;
    double acc = 0;
    for (int64_t i = 0; i < c->n; i++) {
        double x = t - (double)c->s[i] * 1e-9;
        acc += x < 0 ? 1.0 : (c->cond_mean > 0 ? c->pw * exp(-x / c->cond_mean) : 0.0);
    }
    return acc / (double)c->n;
}

tmlp_status tmlp_queue_mgc(double lambda, const int64_t *service_ns, int64_t n, int c, double p,
                           tmlp_queue_result *out, tmlp_error *err)
{
    if (!service_ns || n < 2) return tmlp_error_set(err, TMLP_ERR_ARG, "queue: need at least 2 service-time samples");
    double mean = 0, m2 = 0;
    for (int64_t i = 0; i < n; i++) {
        if (service_ns[i] < 0) return tmlp_error_set(err, TMLP_ERR_ARG, "queue: service time %lld is negative", (long long)i);
        /* Welford: numerically stable mean and variance */
        double x = (double)service_ns[i] * 1e-9, d = x - mean;
        mean += d / (double)(i + 1);
        m2 += d * (x - mean);
    }
    if (!(mean > 0)) return tmlp_error_set(err, TMLP_ERR_ARG, "queue: mean service time is 0");
    double var = m2 / (double)(n - 1), cs2 = var / (mean * mean);
    tmlp_status st = check_args(lambda, 1 / mean, c, p, out, err);
    if (st) return st;
    double mu = 1 / mean, a = lambda / mu;
    double pw = tmlp_queue_erlang_c(c, a);
    double wq = pw / (c * mu - lambda) * (1 + cs2) / 2;
    out->rho = a / c;
    out->p_wait = pw;
    out->mean_wait_s = wq;
    out->mean_response_s = wq + mean;
    mgc_ctx ctx = {pw, pw > 0 ? wq / pw : 0, service_ns, n};
    out->response_quantile_s = p > 0 ? solve_tail(mgc_tail, &ctx, 1 - p, mean) : NAN;
    return TMLP_OK;
}
