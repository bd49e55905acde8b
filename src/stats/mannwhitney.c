/* mannwhitney.c — the Mann-Whitney U test (Wilcoxon rank-sum), two-sided.
 *
 * Pool a (n1 values) and b (n2), rank them 1..N (N = n1+n2) giving tied values the
 * average of their ranks. R1 = sum of a's ranks;  U1 = R1 - n1(n1+1)/2 counts the
 * pairs (a_i, b_j) with a_i > b_j (ties count 1/2); U2 = n1 n2 - U1.
 * Asymptotic: U = max(U1, U2), mu = n1 n2 / 2,
 *   sigma = sqrt(n1 n2 / 12 * ((N+1) - sum_groups(t^3 - t) / (N (N-1)))),
 *   z = (U - mu - 0.5)/sigma (continuity correction), p = min(1, 2 * normal_sf(z)).
 * Exact (no ties): the number of arrangements with U = k is the coefficient of q^k
 * in the Gaussian binomial [N choose n1]_q = prod_{i=1..m} (1 - q^{n+i})/(1 - q^i)
 * (m = min(n1,n2), n = max); p = min(1, 2 P(U <= min(U1,U2))). SciPy 1.10's 'auto'
 * uses it when min(n1, n2) <= 8 and there are no ties; so do we.
 * prob_superiority = U1/(n1 n2): P(a > b) + P(a = b)/2, the "common language" effect.
 */
#include "tinymlp/stats.h"
#include "stats_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double v;
    int from_a;
} tagged;

static int cmp_tagged(const void *pa, const void *pb)
{
    double a = ((const tagged *)pa)->v, b = ((const tagged *)pb)->v;
    return (a > b) - (a < b);
}

/* P(U <= u) for untied samples of sizes m, n; NaN if too large to tabulate. */
static double mwu_exact_cdf(int64_t m, int64_t n, int64_t u)
{
    if (m > n) { int64_t t = m; m = n; n = t; }
    int64_t deg = m * n;
    if (deg > 100000000) return NAN;
    double *c = calloc((size_t)deg + 1, sizeof(double));
    if (!c) return NAN;
    c[0] = 1.0;
    for (int64_t i = 1; i <= m; i++) {
        int64_t top = i * n; /* degree of [n+i choose i]_q */
        for (int64_t k = top; k >= n + i; k--) c[k] -= c[k - n - i];
        for (int64_t k = i; k <= top; k++) c[k] += c[k - i];
    }
    double total = 0.0, below = 0.0;
    for (int64_t k = 0; k <= deg; k++) {
        total += c[k];
        if (k <= u) below += c[k];
    }
    free(c);
    return below / total;
}

tmlp_status tmlp_stats_mannwhitney(const double *a, int64_t na, const double *b, int64_t nb,
                                   tmlp_stats_mwu *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "mannwhitney", "a", a, na, 1));
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "mannwhitney", "b", b, nb, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "mannwhitney", "out", out));
    int64_t N = na + nb;
    if ((uint64_t)N > SIZE_MAX / sizeof(tagged)) return tmlp_stats_nomem(err, "mannwhitney");
    tagged *t = malloc((size_t)N * sizeof(tagged));
    if (!t) return tmlp_stats_nomem(err, "mannwhitney");
    for (int64_t i = 0; i < na; i++) t[i] = (tagged){a[i], 1};
    for (int64_t i = 0; i < nb; i++) t[na + i] = (tagged){b[i], 0};
    qsort(t, (size_t)N, sizeof(tagged), cmp_tagged);

    tmlp_stats_mwu r;
    double r1 = 0.0, tie = 0.0;
    for (int64_t i = 0; i < N;) {
        int64_t j = i;
        while (j + 1 < N && t[j + 1].v == t[i].v) j++;
        double rank = 0.5 * (double)(i + 1 + j + 1); /* average of ranks i+1..j+1 */
        double g = (double)(j - i + 1);
        tie += g * g * g - g;
        for (int64_t k = i; k <= j; k++)
            if (t[k].from_a) r1 += rank;
        i = j + 1;
    }
    free(t);
    double n1 = (double)na, n2 = (double)nb, n = (double)N;
    r.r1 = r1;
    r.u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    r.u2 = n1 * n2 - r.u1;
    r.tie_term = tie;
    r.has_ties = tie > 0.0;
    r.prob_superiority = r.u1 / (n1 * n2);
    double U = r.u1 > r.u2 ? r.u1 : r.u2, mu = n1 * n2 / 2.0;
    double var = n1 * n2 / 12.0 * ((n + 1.0) - (N > 1 ? tie / (n * (n - 1.0)) : 0.0));
    r.sigma = var > 0 ? sqrt(var) : 0.0;
    if (r.sigma > 0) {
        r.z = (U - mu - 0.5) / r.sigma;
        r.p_asymptotic = fmin(1.0, 2.0 * tmlp_stats_normal_sf(r.z));
        r.p_asymptotic_nocc = fmin(1.0, 2.0 * tmlp_stats_normal_sf((U - mu) / r.sigma));
    } else {
        /* All values tied: U = mu, z = -0.5/0 = -inf, p = 1 (SciPy); no-cc z is 0/0. */
        r.z = -INFINITY;
        r.p_asymptotic = 1.0;
        r.p_asymptotic_nocc = NAN;
    }
    r.p_exact = NAN;
    r.exact_used = 0;
    if (!r.has_ties && (na <= 8 || nb <= 8)) {
        double umin = r.u1 < r.u2 ? r.u1 : r.u2;
        double cdf = mwu_exact_cdf(na, nb, (int64_t)umin);
        if (!isnan(cdf)) {
            r.p_exact = fmin(1.0, 2.0 * cdf);
            r.exact_used = 1;
        }
    }
    r.p = r.exact_used ? r.p_exact : r.p_asymptotic;
    *out = r;
    return TMLP_OK;
}

