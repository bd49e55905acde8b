/* pool.h (private) — the intra-op thread pool a session may own (tmlp_session_set_threads).
 *
 * T threads run one job at a time: the caller is part 0 and T - 1 persistent workers are
 * parts 1..T-1. Workers are created once (set_threads) and wait for the next job on a
 * condition variable: they never spin unless the rule of src/bench/wait.c said, when the
 * pool was created, that every thread of ours has a core of its own (then each waits up to
 * spin_ns polling before it blocks). tmlp_pool_run allocates nothing.
 */
#ifndef TMLP_POOL_H
#define TMLP_POOL_H

#include "internal.h"

#include <stdint.h>

typedef struct tmlp_pool tmlp_pool;

/* One part of a job: fn(arg, part, parts), part in [0, parts). */
typedef void (*tmlp_pool_fn)(void *arg, int part, int parts);

/* A pool of `threads` (>= 2) through allocator a; workers poll up to spin_ns before they
 * block (0: block at once). TMLP_ERR_NOMEM / TMLP_ERR_SYSTEM-like failures return
 * TMLP_ERR_NOMEM with err filled and *out NULL (every thread started is joined). */
tmlp_status tmlp_pool_create(const tmlp_allocator *a, int threads, int64_t spin_ns,
                             tmlp_pool **out, tmlp_error *err);
/* Run fn over all parts (the caller runs part 0) and return when every part is done. */
void tmlp_pool_run(tmlp_pool *p, tmlp_pool_fn fn, void *arg);
int tmlp_pool_threads(const tmlp_pool *p);
/* Stop and join the workers, free the pool (NULL is fine). */
void tmlp_pool_destroy(tmlp_pool *p, const tmlp_allocator *a);

#endif
