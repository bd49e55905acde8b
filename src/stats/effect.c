/* effect.c — how big a difference is, in units of spread (sign kept: a - b).
 *
 *   Cohen's d   = (m_a - m_b) / sp,   sp = sqrt(((n_a-1)s_a^2 + (n_b-1)s_b^2)/(n_a+n_b-2))
 *   Hedges' g   = d * J, the small-sample bias correction, exactly
 *                 J = Gamma(nu/2) / (sqrt(nu/2) Gamma((nu-1)/2)),  nu = n_a+n_b-2
 *                 (via a cancellation-free log-gamma ratio), and approximately
 *                 J ~ 1 - 3/(4(n_a+n_b) - 9)
 *   d_av        = (m_a - m_b) / sqrt((s_a^2 + s_b^2)/2)  (no equal-variance assumption)
 *   Glass delta = (m_a - m_b) / s_b
 * Magnitude on |d| (Cohen 1988): < 0.2 negligible, < 0.5 small, < 0.8 medium, else large.
 * The sign names the direction; in tmlp_stats_compare d is of B - A, so d < 0 means B
 * has the lower latency (is faster).
 */
#include "tinymlp/stats.h"
#include "stats_internal.h"

#include <math.h>

const char *tmlp_stats_magnitude_name(tmlp_stats_magnitude m)
{
    switch (m) {
    case TMLP_MAGNITUDE_NEGLIGIBLE: return "negligible";
    case TMLP_MAGNITUDE_SMALL: return "small";
    case TMLP_MAGNITUDE_MEDIUM: return "medium";
    case TMLP_MAGNITUDE_LARGE: return "large";
    case TMLP_MAGNITUDE_UNDEFINED: return "undefined";
    }
    return "undefined";
}

tmlp_stats_magnitude tmlp_stats_magnitude_of(double d)
{
    if (isnan(d)) return TMLP_MAGNITUDE_UNDEFINED;
    double a = fabs(d);
    if (a < 0.2) return TMLP_MAGNITUDE_NEGLIGIBLE;
    if (a < 0.5) return TMLP_MAGNITUDE_SMALL;
    if (a < 0.8) return TMLP_MAGNITUDE_MEDIUM;
    return TMLP_MAGNITUDE_LARGE;
}

static double ratio(double num, double den)
{
    if (isnan(num) || isnan(den)) return NAN;
    if (den == 0.0) return num == 0.0 ? NAN : (num > 0 ? INFINITY : -INFINITY);
    return num / den;
}

tmlp_status tmlp_stats_effect_size(const double *a, int64_t na, const double *b, int64_t nb,
                                   tmlp_stats_effect *out, tmlp_error *err)
{
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "effect_size", "a", a, na, 1));
    TMLP_STATS_TRY(tmlp_stats_check_sample(err, "effect_size", "b", b, nb, 1));
    TMLP_STATS_TRY(tmlp_stats_check_ptr(err, "effect_size", "out", out));
    tmlp_stats_effect r;
    double diff = tmlp_stats_mean(a, na) - tmlp_stats_mean(b, nb);
    double sa2 = tmlp_stats_variance(a, na), sb2 = tmlp_stats_variance(b, nb);
    double nu = (double)(na + nb - 2);
    r.pooled_sd = nu > 0 ? sqrt(((double)(na - 1) * sa2 + (double)(nb - 1) * sb2) / nu) : NAN;
    r.cohen_d = ratio(diff, r.pooled_sd);
    r.hedges_j = nu > 1 ? exp(tmlp_stats_lgamma_ratio((nu - 1.0) / 2.0, 0.5)) / sqrt(nu / 2.0)
                        : NAN;
    r.hedges_g = r.cohen_d * r.hedges_j;
    r.hedges_j_approx = 1.0 - 3.0 / (4.0 * (double)(na + nb) - 9.0);
    r.hedges_g_approx = r.cohen_d * r.hedges_j_approx;
    r.d_av = ratio(diff, sqrt((sa2 + sb2) / 2.0));
    r.glass_delta = ratio(diff, sqrt(sb2));
    r.magnitude = tmlp_stats_magnitude_of(r.cohen_d);
    *out = r;
    return TMLP_OK;
}

