/* stats_internal.h (private) — helpers shared by the files of src/stats. */
#ifndef TMLP_STATS_INTERNAL_H
#define TMLP_STATS_INTERNAL_H

#include "tinymlp/stats.h"

/* 1 if x is non-NULL, n >= 1 and every value is finite (NaN or +-inf would make sorting
 * and every statistic meaningless: callers return TMLP_ERR_ARG instead). */
int tmlp_stats_valid_sample(const double *x, int64_t n);

#endif
