/* shard.c — a view of a SUT that holds one contiguous shard of its samples, so one part of
 * a multi-part run (an MPI rank) scores only its share of the sample set:
 *     view index i  ->  inner index first + i,     view labels = inner labels + first.
 * Ids pass through unchanged: the inner SUT completes (or cancels) samples on the
 * harness's run with the ids it was given, and the harness never sees the translation.
 * The translation buffer is sized once (max_issue samples); a larger issue call is
 * forwarded in pieces, which the SUT contract allows (it owns batching).
 */
#include "internal.h"
#include "tinymlp/bench.h"

#include <stdlib.h>

struct tmlp_sut_shard {
    tmlp_sut view;
    const tmlp_sut *inner;
    int64_t first;
    int64_t cap;
    tmlp_query_sample *buf;
};

static void shard_issue(void *user, tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n)
{
    tmlp_sut_shard *s = user;
    for (int64_t off = 0; off < n; off += s->cap) {
        int64_t k = n - off < s->cap ? n - off : s->cap;
        for (int64_t i = 0; i < k; i++) {
            s->buf[i].id = samples[off + i].id;
            s->buf[i].index = s->first + samples[off + i].index;
        }
        s->inner->issue(s->inner->user, run, s->buf, k);
    }
}

static void shard_flush(void *user, tmlp_bench_run *run)
{
    tmlp_sut_shard *s = user;
    if (s->inner->flush) s->inner->flush(s->inner->user, run);
}

static void shard_drain(void *user, tmlp_bench_run *run)
{
    tmlp_sut_shard *s = user;
    if (s->inner->drain) s->inner->drain(s->inner->user, run);
}

static tmlp_status shard_cancel(void *user, tmlp_bench_run *run, tmlp_error *err)
{
    tmlp_sut_shard *s = user; /* ids pass through: the inner SUT reports them to the run */
    return s->inner->cancel(s->inner->user, run, err);
}

tmlp_status tmlp_sut_shard_create(const tmlp_sut *inner, int64_t first, int64_t count, int64_t max_issue,
                                  tmlp_sut_shard **out, tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "shard: out is NULL");
    *out = NULL;
    if (!inner || !inner->issue) return tmlp_error_set(err, TMLP_ERR_ARG, "shard: inner SUT is NULL or has no issue");
    if (first < 0 || count < 1 || first > inner->sample_count - count)
        return tmlp_error_set(err, TMLP_ERR_ARG, "shard: samples [%lld, %lld) are not inside the SUT's %lld",
                              (long long)first, (long long)(first + count), (long long)inner->sample_count);
    if (max_issue < 1) return tmlp_error_set(err, TMLP_ERR_ARG, "shard: max_issue must be >= 1");
    tmlp_sut_shard *s = calloc(1, sizeof *s);
    size_t bytes;
    if (s && tmlp_size_mul((size_t)max_issue, sizeof *s->buf, &bytes)) s->buf = malloc(bytes);
    if (!s || !s->buf) {
        free(s);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "shard: cannot allocate a buffer of %lld samples",
                              (long long)max_issue);
    }
    s->inner = inner;
    s->first = first;
    s->cap = max_issue;
    s->view.user = s;
    s->view.name = inner->name;
    s->view.sample_count = count;
    s->view.labels = inner->labels ? inner->labels + first : NULL;
    s->view.issue = shard_issue;
    s->view.flush = shard_flush;
    s->view.drain = shard_drain;
    s->view.cancel = inner->cancel ? shard_cancel : NULL;
    *out = s;
    return TMLP_OK;
}

const tmlp_sut *tmlp_sut_shard_callbacks(tmlp_sut_shard *s) { return s ? &s->view : NULL; }

void tmlp_sut_shard_destroy(tmlp_sut_shard *s)
{
    if (!s) return;
    free(s->buf);
    free(s);
}
