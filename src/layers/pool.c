/* pool.c — the session's intra-op thread pool (pool.h).
 *
 * Protocol. One mutex guards { fn, arg, generation, pending, stop }.
 *   run:    lock; job = (fn, arg); pending = T - 1; generation++; broadcast `go`; unlock;
 *           run part 0; wait (poll, then `done`) until pending == 0.
 *   worker: wait (poll, then `go`) until generation differs from the last one it ran;
 *           run its part; lock; if --pending == 0 signal `done`; unlock.
 * generation and pending are also atomics so the optional polling reads them without the
 * lock; every change is made under the lock, so a thread that finds nothing while polling
 * and then blocks cannot miss the wake-up. A job's memory effects are published by the
 * mutex (release on unlock, acquire on lock) before the caller returns.
 *
 * Spinning (spin_ns > 0) is decided once by the caller (tmlp_wait_spin_budget, wait.c):
 * a poller is a running thread, harmless only when each of ours has a core to itself.
 */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

typedef struct pool_worker {
    struct tmlp_pool *pool;
    int part;
    pthread_t tid;
} pool_worker;

struct tmlp_pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    tmlp_pool_fn fn;
    void *arg;
    _Atomic uint64_t generation;
    _Atomic int pending;
    int stop;
    int threads;        /* T, the caller included */
    int started;        /* workers running (for a partial create) */
    int64_t spin_ns;
    pool_worker *workers; /* T - 1 of them, in the same allocation */
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Poll `*v != old` (generation) or `*v == 0` (pending) for up to spin_ns; 1 if it came. */
static int poll_gen(const tmlp_pool *p, uint64_t seen)
{
    if (p->spin_ns <= 0) return 0;
    const uint64_t t0 = mono_ns();
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&p->generation, memory_order_acquire) != seen) return 1;
        if ((i & 63) == 0 && mono_ns() - t0 > (uint64_t)p->spin_ns) return 0;
        CPU_RELAX();
    }
}

static int poll_done(const tmlp_pool *p)
{
    if (p->spin_ns <= 0) return 0;
    const uint64_t t0 = mono_ns();
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return 1;
        if ((i & 63) == 0 && mono_ns() - t0 > (uint64_t)p->spin_ns) return 0;
        CPU_RELAX();
    }
}

static void *worker_main(void *varg)
{
    pool_worker *w = varg;
    tmlp_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        (void)poll_gen(p, seen);
        pthread_mutex_lock(&p->mu);
        while (!p->stop && atomic_load_explicit(&p->generation, memory_order_relaxed) == seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load_explicit(&p->generation, memory_order_relaxed);
        const tmlp_pool_fn fn = p->fn;
        void *arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        fn(arg, w->part, p->threads);
        pthread_mutex_lock(&p->mu);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void pool_stop(tmlp_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++) pthread_join(p->workers[i].tid, NULL);
    p->started = 0;
}

tmlp_status tmlp_pool_create(const tmlp_allocator *a, int threads, int64_t spin_ns,
                             tmlp_pool **out, tmlp_error *err)
{
    *out = NULL;
    if (threads < 2) return tmlp_error_set(err, TMLP_ERR_ARG, "pool: %d threads, at least 2", threads);
    size_t bytes;
    if (!tmlp_size_mul((size_t)(threads - 1), sizeof(pool_worker), &bytes) ||
        __builtin_add_overflow(bytes, sizeof(tmlp_pool), &bytes))
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "pool: %d threads overflow", threads);
    tmlp_pool *p = tmlp_mem_calloc(a, 1, bytes);
    if (!p)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "tmlp_session_set_threads: out of memory for a pool of %d threads",
                              threads);
    p->threads = threads;
    p->spin_ns = spin_ns;
    p->workers = (pool_worker *)(p + 1);
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    if (pthread_mutex_init(&p->mu, NULL) != 0) goto fail_mu;
    if (pthread_cond_init(&p->go, NULL) != 0) goto fail_go;
    if (pthread_cond_init(&p->done, NULL) != 0) goto fail_done;
    for (int i = 0; i < threads - 1; i++) {
        p->workers[i].pool = p;
        p->workers[i].part = i + 1;
        if (pthread_create(&p->workers[i].tid, NULL, worker_main, &p->workers[i]) != 0) {
            pool_stop(p);
            pthread_cond_destroy(&p->done);
            pthread_cond_destroy(&p->go);
            pthread_mutex_destroy(&p->mu);
            tmlp_mem_free(a, p);
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "tmlp_session_set_threads: cannot start thread %d of %d",
                                  i + 2, threads);
        }
        p->started++;
    }
    *out = p;
    return TMLP_OK;
fail_done:
    pthread_cond_destroy(&p->go);
fail_go:
    pthread_mutex_destroy(&p->mu);
fail_mu:
    tmlp_mem_free(a, p);
    return tmlp_error_set(err, TMLP_ERR_NOMEM, "tmlp_session_set_threads: cannot create the pool's locks");
}

void tmlp_pool_run(tmlp_pool *p, tmlp_pool_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->threads);
    (void)poll_done(p);
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_relaxed) != 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int tmlp_pool_threads(const tmlp_pool *p) { return p ? p->threads : 1; }

void tmlp_pool_destroy(tmlp_pool *p, const tmlp_allocator *a)
{
    if (!p) return;
    pool_stop(p);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    tmlp_mem_free(a, p);
}
