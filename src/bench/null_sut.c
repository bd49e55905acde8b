/* null_sut.c — a system under test that does nothing: every sample completes inside
 * `issue`, with no prediction. Running a scenario against it measures the harness
 * itself (issue bookkeeping + two clock reads + the completion lock): the floor under
 * every latency the harness reports.
 */
#include "tinymlp/bench.h"

static void null_issue(void *user, tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n)
{
    (void)user;
    tmlp_bench_complete(run, samples, n, NULL);
}

tmlp_sut tmlp_null_sut(int64_t sample_count)
{
    tmlp_sut s = {0};
    s.user = NULL;
    s.name = "null";
    s.sample_count = sample_count;
    s.labels = NULL;
    s.issue = null_issue;
    s.flush = NULL;
    s.drain = NULL;
    return s;
}
