/* stats_internal.h (private) — helpers shared by the files of src/stats. */
#ifndef TMLP_STATS_INTERNAL_H
#define TMLP_STATS_INTERNAL_H

#include "tinymlp/stats.h"
#include "internal.h"

/* The argument checks of every fallible call. A sample must be non-NULL, hold at least
 * min_n values and be finite (NaN or +-inf would make sorting and every statistic
 * meaningless). Each check fills `err` with a message that
 * names the call (`fn`, "welch"), the argument and the rule, e.g.
 *     stats: welch: a needs >= 1 value, got 0
 *     stats: summarize: x[3] is nan, samples must be finite
 * Each returns TMLP_OK or TMLP_ERR_ARG. */
tmlp_status tmlp_stats_check_sample(tmlp_error *err, const char *fn, const char *arg,
                                    const double *x, int64_t n, int64_t min_n);
tmlp_status tmlp_stats_check_ptr(tmlp_error *err, const char *fn, const char *arg, const void *p);
/* level (or any probability) strictly inside (0, 1). */
tmlp_status tmlp_stats_check_open01(tmlp_error *err, const char *fn, const char *arg, double v);
/* "stats: <fn>: out of memory" as TMLP_ERR_NOMEM. */
tmlp_status tmlp_stats_nomem(tmlp_error *err, const char *fn);

/* Return the status of `expr` if it is not TMLP_OK. */
#define TMLP_STATS_TRY(expr)                                                                   \
    do {                                                                                       \
        tmlp_status try_st_ = (expr);                                                          \
        if (try_st_ != TMLP_OK) return try_st_;                                                \
    } while (0)

#endif
