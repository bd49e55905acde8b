/* distributions.c — the special functions behind every p-value and interval.
 *
 * Regularized incomplete beta  I_x(a,b) = B(x; a,b) / B(a,b),  a, b > 0, 0 <= x <= 1.
 *   For x below the mean (a+1)/(a+b+2) the continued fraction
 *       I_x(a,b) = x^a (1-x)^b / (a B(a,b)) * 1/(1+ d1/(1+ d2/(1+ ...)))
 *       d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)),  d_{2m} = m(b-m) x / ((a+2m-1)(a+2m))
 *   converges fast; it is evaluated by the modified Lentz method. Above the mean we use
 *   the symmetry I_x(a,b) = 1 - I_{1-x}(b,a). The prefactor is computed in logs so that
 *   p-values down to 1e-300 do not underflow on the way; for large a or b (Student t
 *   with df up to 1e6 gives a = df/2) log B(a,b) is never formed as a difference of
 *   huge lgamma values: Stirling's series with its correction term delta(x) lets the
 *   large parts cancel analytically (see lbeta_prefix below).
 *
 * Student t with df degrees of freedom (fractional df allowed):
 *   P(|T| > |t|) = I_x(df/2, 1/2),  x = df/(df+t^2),  and 1-x = t^2/(df+t^2) is passed
 *   separately so that small t keeps its digits. sf(t) = P(T > t), cdf(t) = sf(-t).
 *   Quantile: a Cornish-Fisher guess, a bracket, then Newton steps on the survival
 *   function safeguarded by bisection, to full double precision.
 *
 * Normal: cdf/sf from erfc; the quantile from Acklam's rational approximation
 *   (relative error 1.15e-9) refined by Halley steps on the erfc form.
 *
 * Next: ttest.c and mannwhitney.c turn these into p-values.
 */
#include "tinymlp/stats.h"

#include <float.h>
#include <math.h>

#define TMLP_LN_SQRT_2PI 0.91893853320467274178 /* log(sqrt(2 pi)) */

/* Stirling correction: lgamma(x) = (x-1/2) log x - x + log sqrt(2 pi) + delta(x).
 * The asymptotic series is used for x >= 10 (8 terms: error < 1e-17 there). */
static double stirling_delta(double x)
{
    if (x >= 10.0) {
        double r = 1.0 / x, r2 = r * r;
        return r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 * (-1.0 / 1680
               + r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 + r2 * (1.0 / 156
               + r2 * (-3617.0 / 122400))))))));
    }
    return lgamma(x) - ((x - 0.5) * log(x) - x + TMLP_LN_SQRT_2PI);
}

double tmlp_stats_lgamma_ratio(double x, double h)
{
    if (!(x > 0) || !(x + h > 0)) return NAN;
    if (x >= 10.0 && x + h >= 10.0) {
        /* (x+h-1/2) log(x+h) - (x-1/2) log x - h + delta(x+h) - delta(x), regrouped so
         * that nothing of size x log x is ever subtracted. */
        return (x - 0.5) * log1p(h / x) + h * log(x + h) - h
               + (stirling_delta(x + h) - stirling_delta(x));
    }
    return lgamma(x + h) - lgamma(x);
}

/* log( x^a y^b / B(a,b) ), y = 1 - x, without cancellation between large terms. */
static double lbeta_prefix(double a, double b, double x, double y)
{
    double lx = x > 0.5 ? log1p(-y) : log(x);
    double ly = y > 0.5 ? log1p(-x) : log(y);
    double small = a < b ? a : b, big = a < b ? b : a;
    if (big < 10.0) return a * lx + b * ly - (lgamma(a) + lgamma(b) - lgamma(a + b));
    if (small < 10.0) {
        /* log B = lgamma(small) - [lgamma(big+small) - lgamma(big)] */
        return a * lx + b * ly - lgamma(small) + tmlp_stats_lgamma_ratio(big, small);
    }
    /* Both large: with x0 = a/(a+b), y0 = b/(a+b),
     * a log x + b log y - log B = a log(x/x0) + b log(y/y0)
     *                             + 1/2 log(ab/(a+b)) - log sqrt(2pi) - delta(a) - delta(b) + delta(a+b). */
    double s = a + b, x0 = a / s, y0 = b / s;
    double d = (x * b - y * a) / s; /* x - x0 */
    return a * log1p(d / x0) + b * log1p(-d / y0) + 0.5 * log(a * b / s) - TMLP_LN_SQRT_2PI
           - stirling_delta(a) - stirling_delta(b) + stirling_delta(s);
}

/* Continued fraction of I_x(a,b) (without the prefactor), modified Lentz.
 * Evaluated in long double: for large a near the switch point x ~ a/(a+b) the fraction
 * is ill-conditioned (its value grows like sqrt(a)) and double rounding alone costs
 * ~1e-11 at df = 1e6; x86-64's 64-bit-mantissa long double brings that back to ~1e-15.
 * Where long double is just double the code is still correct, only less precise there.
 * x is rebuilt as 1 - y in long double when y is small: near the switch point the
 * fraction's sensitivity to x is ~a/(distance to the switch point), so the rounding of
 * x to double alone would cost 1e-11 at df = 1e6. */
static double betacf(double a_, double b_, double x_, double y_)
{
    const long double tiny = 1e-300L;
    /* x near 1 is better known through y = 1 - x: the fraction is sensitive to x there */
    long double a = a_, b = b_, x = y_ < 0.5 ? 1.0L - (long double)y_ : (long double)x_;
    long double qab = a + b, qap = a + 1.0L, qam = a - 1.0L;
    long double c = 1.0L, d = 1.0L - qab * x / qap;
    if (fabsl(d) < tiny) d = tiny;
    d = 1.0L / d;
    long double h = d;
    for (int m = 1; m <= 200000; m++) {
        long double m2 = 2.0L * m;
        long double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0L + aa * d;
        if (fabsl(d) < tiny) d = tiny;
        c = 1.0L + aa / c;
        if (fabsl(c) < tiny) c = tiny;
        d = 1.0L / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0L + aa * d;
        if (fabsl(d) < tiny) d = tiny;
        c = 1.0L + aa / c;
        if (fabsl(c) < tiny) c = tiny;
        d = 1.0L / d;
        long double del = d * c;
        h *= del;
        if (fabsl(del - 1.0L) <= 2.0L * LDBL_EPSILON) break;
    }
    return (double)h;
}

double tmlp_stats_betainc2(double a, double b, double x, double y)
{
    if (isnan(a) || isnan(b) || isnan(x) || isnan(y) || !(a > 0) || !(b > 0)) return NAN;
    if (x < 0 || x > 1 || y < 0 || y > 1) return NAN;
    if (x == 0) return 0.0;
    if (y == 0) return 1.0;
    if (isinf(a) || isinf(b)) return NAN;
    if (x <= (a + 1.0) / (a + b + 2.0))
        return exp(lbeta_prefix(a, b, x, y)) * betacf(a, b, x, y) / a;
    return 1.0 - exp(lbeta_prefix(b, a, y, x)) * betacf(b, a, y, x) / b;
}

double tmlp_stats_betainc(double a, double b, double x)
{
    return tmlp_stats_betainc2(a, b, x, 1.0 - x);
}

/* ---- normal ---- */

double tmlp_stats_normal_cdf(double z) { return 0.5 * erfc(-z / M_SQRT2); }
double tmlp_stats_normal_sf(double z) { return 0.5 * erfc(z / M_SQRT2); }

/* Lower-tail quantile for 0 < q <= 0.5 (result <= 0). */
static double normal_quantile_lower(double q)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    double x;
    if (q < 0.02425) {
        double r = sqrt(-2.0 * log(q));
        x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
            ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1.0);
    } else {
        double r = q - 0.5, s = r * r;
        x = (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r /
            (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1.0);
    }
    /* Halley steps on f(x) = Phi(x) - q; Phi'(x) = phi(x). Two steps reach the
     * rounding level from Acklam's 1e-9 start (cubic convergence). */
    for (int i = 0; i < 3; i++) {
        double e = tmlp_stats_normal_cdf(x) - q;
        double u = e * sqrt(2.0 * M_PI) * exp(0.5 * x * x);
        if (!isfinite(u)) break; /* q below ~1e-300: keep the rational guess */
        double step = u / (1.0 + 0.5 * x * u);
        x -= step;
        if (fabs(step) <= 1e-17 * fabs(x)) break;
    }
    return x;
}

double tmlp_stats_normal_quantile(double q)
{
    if (isnan(q) || q < 0 || q > 1) return NAN;
    if (q == 0) return -INFINITY;
    if (q == 1) return INFINITY;
    if (q == 0.5) return 0.0;
    if (q < 0.5) return normal_quantile_lower(q);
    return -normal_quantile_lower(1.0 - q); /* exact for q >= 0.5 (Sterbenz) */
}

/* ---- Student t ---- */

double tmlp_stats_t_sf(double t, double df)
{
    if (isnan(t) || isnan(df) || !(df > 0)) return NAN;
    if (isinf(df)) return tmlp_stats_normal_sf(t);
    if (t == INFINITY) return 0.0;
    if (t == -INFINITY) return 1.0;
    if (t == 0) return 0.5;
    double tt = t * t, x, y;
    if (isinf(tt) || isinf(df + tt)) {
        x = 0.0;
        y = 1.0;
    } else {
        x = df / (df + tt);
        y = tt / (df + tt);
    }
    double half = 0.5 * tmlp_stats_betainc2(0.5 * df, 0.5, x, y); /* P(T > |t|) */
    return t > 0 ? half : 1.0 - half;
}

double tmlp_stats_t_cdf(double t, double df) { return tmlp_stats_t_sf(-t, df); }

static double t_pdf(double t, double df)
{
    double lc = tmlp_stats_lgamma_ratio(0.5 * df, 0.5) - 0.5 * log(df * M_PI);
    return exp(lc - 0.5 * (df + 1.0) * log1p(t * t / df));
}

/* t > 0 with sf(t) = alpha, 0 < alpha < 0.5. */
static double t_quantile_upper(double alpha, double df)
{
    double z = -normal_quantile_lower(alpha);
    /* Cornish-Fisher expansion: good for df >= 3, a fair start below. */
    double z2 = z * z;
    double g = z + z * (z2 + 1.0) / (4.0 * df)
               + z * ((5.0 * z2 + 16.0) * z2 + 3.0) / (96.0 * df * df);
    if (!(g > 0) || !isfinite(g)) g = z > 0 ? z : 1.0;
    double lo = 0.0, hi = g;
    /* Bracket: sf(lo) > alpha >= sf(hi). */
    while (tmlp_stats_t_sf(hi, df) > alpha) {
        lo = hi;
        hi *= 2.0;
        if (!isfinite(hi)) return INFINITY;
    }
    double t = g < hi ? g : hi;
    if (t <= lo) t = 0.5 * (lo + hi);
    for (int i = 0; i < 200; i++) {
        double f = tmlp_stats_t_sf(t, df) - alpha;
        if (f == 0) return t;
        if (f > 0) lo = t; else hi = t;
        double pdf = t_pdf(t, df);
        double next = t + f / pdf;
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (fabs(next - t) <= 2.0 * DBL_EPSILON * fabs(t) || lo >= hi) return next;
        t = next;
    }
    return t;
}

double tmlp_stats_t_quantile(double q, double df)
{
    if (isnan(q) || isnan(df) || !(df > 0) || q < 0 || q > 1) return NAN;
    if (q == 0) return -INFINITY;
    if (q == 1) return INFINITY;
    if (q == 0.5) return 0.0;
    if (isinf(df)) return tmlp_stats_normal_quantile(q);
    if (q > 0.5) return t_quantile_upper(1.0 - q, df);
    return -t_quantile_upper(q, df);
}
