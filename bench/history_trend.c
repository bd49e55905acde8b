/* history_trend.c — change points by binary segmentation with run-level t-tests (Student's,
 * on logs) and a Bonferroni bound per segment (the method and its false-alarm rate:
 * history_trend.h and docs/history.md). */
#include "history_trend.h"

#include <math.h>
#include <stdlib.h>

#include "tinymlp/stats.h"

typedef struct cp_search {
    const double *y; /* log values */
    int min_seg;
    double alpha;
    tmlp_changepoint *out;
    int cap, found;
} cp_search;

/* The best split of y[a..b) by |t|; 0 when the segment is too short or no split has
 * a defined test. */
static int best_split(const cp_search *s, int a, int b, tmlp_changepoint *cp)
{
    int best = 0;
    double best_t = -1;
    for (int k = a + s->min_seg; k <= b - s->min_seg; k++) {
        tmlp_stats_ttest t;
        if (tmlp_stats_student(s->y + k, b - k, s->y + a, k - a, &t, NULL) != TMLP_OK) continue;
        double p = t.p_two_sided;
        double at = fabs(t.t);
        if (isnan(at) || isnan(p)) continue; /* both windows constant and equal: no change */
        if (at > best_t) {
            best_t = at;
            best = k;
            cp->index = k;
            cp->p = p;
            cp->rel_change = expm1(t.mean_diff);
        }
    }
    cp->candidates = b - a - 2 * s->min_seg + 1;
    return best;
}

static void segment(cp_search *s, int a, int b)
{
    if (b - a < 2 * s->min_seg) return;
    tmlp_changepoint cp;
    int k = best_split(s, a, b, &cp);
    if (!k) return;
    cp.p_adj = fmin(1.0, cp.p * cp.candidates);
    if (!(cp.p_adj < s->alpha)) return;
    segment(s, a, k); /* left first: the output stays sorted by index */
    if (s->found < s->cap) s->out[s->found] = cp;
    s->found++;
    segment(s, k, b);
}

int tmlp_changepoints_find(const double *x, int n, int min_seg, double alpha, tmlp_changepoint *out, int cap)
{
    if (!x || n < 0 || min_seg < 2 || !(alpha > 0 && alpha <= 0.5) || (cap > 0 && !out)) return -1;
    double *y = malloc(sizeof *y * (size_t)(n > 0 ? n : 1));
    if (!y) return -1;
    for (int i = 0; i < n; i++) {
        if (!(x[i] > 0) || !isfinite(x[i])) {
            free(y);
            return -1;
        }
        y[i] = log(x[i]);
    }
    cp_search s = {y, min_seg, alpha, out, cap, 0};
    segment(&s, 0, n);
    free(y);
    return s.found;
}
