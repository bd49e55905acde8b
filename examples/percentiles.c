/* percentiles.c — step 7: percentiles of latencies, and is B faster than A?
 *
 * A percentile of n sorted values: LoadGen's rule takes sorted[floor(n * p)], other
 * methods interpolate (tinymlp/stats.h lists them; docs/statistics.md says when each is
 * used). Then tmlp_stats_compare asks whether two samples differ by more than the noise:
 * Welch's t-test on the means AND a confidence interval of the relative change that lies
 * wholly outside +-1%. Small samples are not an error: the verdict says
 * "insufficient_data".
 *
 *     cc percentiles.c $(pkg-config --cflags --libs tinymlp) -o percentiles
 * This is the last step; docs/bench_mlp.md shows the same questions from the command line.
 */
#include <stdio.h>
#include <tinymlp.h>

enum { N = 200 };

int main(void)
{
    /* Two seeded samples of latencies in microseconds: B is ~5% faster than A, and both
     * have a slow tail (one query in 50 waits 40 us longer). */
    static double a[N], b[N];
    tmlp_rng rng;
    tmlp_rng_seed(&rng, 2024);
    for (int i = 0; i < N; i++) {
        a[i] = 100.0 + 5.0 * tmlp_rng_normal(&rng) + (i % 50 == 0 ? 40.0 : 0.0);
        b[i] = 95.0 + 5.0 * tmlp_rng_normal(&rng) + (i % 50 == 0 ? 40.0 : 0.0);
    }

    const double ps[] = {0.50, 0.90, 0.99};
    for (int k = 0; k < 3; k++) {
        double pa, pb;
        if (tmlp_stats_percentile(a, N, ps[k], TMLP_PCT_LOADGEN, &pa, NULL) != TMLP_OK ||
            tmlp_stats_percentile(b, N, ps[k], TMLP_PCT_LOADGEN, &pb, NULL) != TMLP_OK)
            return 1;
        printf("p%-4g A %7.1f us   B %7.1f us\n", ps[k] * 100, pa, pb);
    }

    tmlp_stats_compare_opts o = tmlp_stats_compare_opts_default(); /* alpha 0.05, noise 1% */
    tmlp_stats_compare_result r;
    if (tmlp_stats_compare(a, N, b, N, &o, &r, NULL) != TMLP_OK) return 1;
    char line[256];
    tmlp_stats_verdict_sentence(&r, r.confidence, line, sizeof line);
    printf("verdict: %s — %s\n", tmlp_stats_verdict_name(r.verdict), line);
    return 0;
}
