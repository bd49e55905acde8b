/* harness.c — one benchmark run: issue queries to a system under test (SUT) the way
 * MLPerf LoadGen does, timestamp every completion, and turn the per-query latencies into
 * a result (statistics on sorted copies; the issue-order arrays are kept).
 *
 * Scenarios (docs/harness.md):
 *   single-stream / multi-stream: closed loop. Issue a query (1 or samples_per_query
 *     samples), wait for its last sample on a condition variable, issue the next.
 *     latency = last sample done - issue time. Duration = last issue - start.
 *   server: open loop. The arrival schedule (schedule.c) is generated before the clock
 *     starts; the issuer sleeps until each scheduled time with clock_nanosleep to the
 *     absolute deadline (timer slack cut to 1 ns for the run), issues late queries at
 *     once, and never waits for completions.
 *     latency = done - SCHEDULED time (queueing counts: no coordinated omission);
 *     issue delay = actual issue - scheduled. Duration = last scheduled time.
 *   offline: one query of N samples issued at t = 0 as ceil(N/B) issue calls of <= B
 *     samples. N is a setting, never measured (tmlp_workload_offline_samples: LoadGen's
 *     max(min_query_count, expected QPS x min duration x 1.1)), so the workload is the same
 *     in every run. Duration = last completion; throughput = N / duration; latency
 *     percentiles over the samples (completion - query start), as LoadGen reports them.
 * Every completion is timestamped per sample too (sample_done_ns in the result, issue
 * order), so a trace can draw one event per sample of a multi-sample query.
 * Warm-up: warmup_queries queries (offline: batches) are issued and completed in a closed
 * loop before the clock starts, and are excluded from everything measured.
 * End: both min_duration and min_query_count met; max_* end the run early.
 *
 * Bounded waits — a run always returns on time:
 *   - server: at max_outstanding_queries issued-but-incomplete queries the issuer stops
 *     (INVALID, "overloaded");
 *   - after the last issue the harness waits for the rest as long as the SUT makes
 *     progress: it gives up only when NOTHING completed for the stall bound,
 *     max(drain_timeout_ms, 20 x the mean interval between the SUT's completion calls so
 *     far) — derived from the SUT's own rate, so a healthy run of any length is never cut
 *     off and a stuck one still ends. A closed-loop query gets the same bound. Samples
 *     still outstanding then are errors ("never completed").
 * Late completions (after the run ended) are safe: the run object stays allocated until
 * the SUT's `drain` callback has quiesced it, or, without one, until its last outstanding
 * sample completes (bench.h, tmlp_sut.drain).
 *
 * Waiting without stealing the CPU: a spinning waiter is a running thread, and on a
 * machine without a spare core it takes the CPU from the SUT it waits for (2 cores, one
 * busy elsewhere: single-stream p50 of the shipped model 42.8 us with a 20 us spin here
 * and the worker's own, 17.1 us without; issue 9). So both waits block, and spin first
 * only for the budget decided once at the run start (settings.wait_spin_ns; by default
 * 20 us when the usable CPUs leave a core free beside the issuer and the SUT's workers,
 * else 0 — wait.c says why). The server issuer sleeps to each arrival with the thread's
 * timer slack cut from the default 50 us to 1 ns (restored after), so without a spin its
 * issue delay is the wake-up latency (a few us on an idle core; bench_harness measures
 * it) instead of up to 50 us of slack; with a spin budget it wakes that much early and
 * spins the rest. The budget and its reason are in the result (wait_spin_ns,
 * wait_policy).
 *
 * Concurrency: one mutex guards the run's arrays; tmlp_bench_complete takes the
 * timestamp before the lock. The count of completed queries is also an atomic so the
 * closed-loop issuer can spin on it without the lock. Arrays grow by doubling (only the
 * issuing thread grows them, under the lock).
 */
#include "harness_internal.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define RING_SIZE 1024                    /* recent latencies for the running p90 */
#define PROGRESS_EVERY_NS 250000000ULL
#define SPIN_WAIT_NS 20000LL              /* auto budget: a fast SUT completes inside it */
#define SPIN_MAX_NS 1000000LL             /* the largest settings.wait_spin_ns */
#define WAKE_STEP_NS 2000LL               /* server: step of the wake-up latency estimate */
#define WAKE_MAX_NS 100000LL              /* server: the estimate's cap (bounds the spin) */
#define WAIT_SLICE_NS 5000000ULL          /* longest single condvar sleep (stop flag checks) */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

struct tmlp_bench_run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int waiters;         /* threads in pthread_cond_timedwait */
    int finished;        /* the harness is done: completions only release samples */
    int release_on_zero; /* the last outstanding completion frees the run */

    const int32_t *labels;
    int64_t sample_count;
    int32_t *pred;       /* accuracy mode: pred[index] */

    int64_t n_warm;      /* queries [0, n_warm) are warm-up (INT64_MAX while warming up) */

    /* per query (issue order, warm-up first) */
    int64_t q_n, q_cap;
    int64_t *q_origin;   /* latency origin, absolute ns: issue or scheduled time */
    int64_t *q_issue;    /* actual issue time, absolute ns */
    int64_t *q_done;     /* last sample completion, absolute ns; 0 = not yet */
    int64_t *q_left;     /* samples not yet complete */
    int64_t *q_nsamp;

    /* per sample (id = position) */
    int64_t s_n, s_cap;
    int64_t *s_query;
    int64_t *s_index;
    int64_t *s_tdone;    /* completion time, absolute ns; 0 = not yet */
    uint8_t *s_done;

    _Atomic int64_t q_completed;   /* all completed queries, warm-up included */
    int64_t q_completed_meas;
    int64_t s_outstanding;         /* issued, not completed */
    int64_t s_completed_meas;
    int64_t errors;                /* unknown or repeated ids */
    int64_t correct, labeled;
    int64_t last_query_done;       /* absolute ns, measured queries */
    int64_t last_sample_done;      /* absolute ns, measured samples */
    int64_t calls;                 /* tmlp_bench_complete calls with a known id (progress) */
    int64_t first_call, last_call; /* absolute ns of the first and the latest of them */

    double ring[RING_SIZE];
    int64_t ring_n;
};

/* --- the run object ------------------------------------------------------------------ */

static void run_free(tmlp_bench_run *run)
{
    if (!run) return;
    pthread_cond_destroy(&run->cv);
    pthread_mutex_destroy(&run->mu);
    free(run->q_origin);
    free(run->q_issue);
    free(run->q_done);
    free(run->q_left);
    free(run->q_nsamp);
    free(run->s_query);
    free(run->s_index);
    free(run->s_tdone);
    free(run->s_done);
    free(run->pred);
    free(run);
}

static int grow_i64(int64_t **p, int64_t old_n, int64_t new_n)
{
    size_t bytes;
    if (!tmlp_size_mul((size_t)new_n, sizeof(int64_t), &bytes)) return 0;
    int64_t *q = realloc(*p, bytes);
    if (!q) return 0;
    memset(q + old_n, 0, (size_t)(new_n - old_n) * sizeof(int64_t));
    *p = q;
    return 1;
}

/* Make room for one more query and n more samples. Caller holds the lock. */
static int reserve(tmlp_bench_run *run, int64_t n)
{
    if (run->q_n + 1 > run->q_cap) {
        int64_t c = run->q_cap ? run->q_cap * 2 : 1024;
        if (!grow_i64(&run->q_origin, run->q_cap, c) || !grow_i64(&run->q_issue, run->q_cap, c) ||
            !grow_i64(&run->q_done, run->q_cap, c) || !grow_i64(&run->q_left, run->q_cap, c) ||
            !grow_i64(&run->q_nsamp, run->q_cap, c))
            return 0; /* arrays that did grow keep their new size; q_cap stays consistent (min) */
        run->q_cap = c;
    }
    if (run->s_n + n > run->s_cap) {
        int64_t c = run->s_cap ? run->s_cap : 1024;
        while (c < run->s_n + n) {
            if (c > INT64_MAX / 2) return 0;
            c *= 2;
        }
        if (!grow_i64(&run->s_query, run->s_cap, c) || !grow_i64(&run->s_index, run->s_cap, c) ||
            !grow_i64(&run->s_tdone, run->s_cap, c))
            return 0;
        uint8_t *d = realloc(run->s_done, (size_t)c);
        if (!d) return 0;
        memset(d + run->s_cap, 0, (size_t)(c - run->s_cap));
        run->s_done = d;
        run->s_cap = c;
    }
    return 1;
}

/* Size the arrays for nq queries and ns samples before the clock starts, so a planned
 * run never reallocates while it measures. Caller holds the lock (or owns the run). */
static int reserve_initial(tmlp_bench_run *run, int64_t nq, int64_t ns)
{
    if (nq > run->q_cap) {
        if (!grow_i64(&run->q_origin, run->q_cap, nq) || !grow_i64(&run->q_issue, run->q_cap, nq) ||
            !grow_i64(&run->q_done, run->q_cap, nq) || !grow_i64(&run->q_left, run->q_cap, nq) ||
            !grow_i64(&run->q_nsamp, run->q_cap, nq))
            return 0;
        run->q_cap = nq;
    }
    if (ns > run->s_cap) {
        if (!grow_i64(&run->s_query, run->s_cap, ns) || !grow_i64(&run->s_index, run->s_cap, ns) ||
            !grow_i64(&run->s_tdone, run->s_cap, ns))
            return 0;
        uint8_t *d = realloc(run->s_done, (size_t)ns);
        if (!d) return 0;
        memset(d + run->s_cap, 0, (size_t)(ns - run->s_cap));
        run->s_done = d;
        run->s_cap = ns;
    }
    return 1;
}

static tmlp_bench_run *run_create(const tmlp_sut *sut, int accuracy)
{
    tmlp_bench_run *run = calloc(1, sizeof *run);
    if (!run) return NULL;
    pthread_condattr_t ca;
    if (pthread_mutex_init(&run->mu, NULL) != 0) {
        free(run);
        return NULL;
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&run->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        pthread_mutex_destroy(&run->mu);
        free(run);
        return NULL;
    }
    run->labels = sut->labels;
    run->sample_count = sut->sample_count;
    run->n_warm = INT64_MAX;
    atomic_init(&run->q_completed, 0);
    if (accuracy) {
        run->pred = malloc((size_t)sut->sample_count * sizeof(int32_t));
        if (!run->pred) {
            run_free(run);
            return NULL;
        }
        for (int64_t i = 0; i < sut->sample_count; i++) run->pred[i] = -1;
    }
    return run;
}

/* --- completion ------------------------------------------------------------------------ */

void tmlp_bench_complete(tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n,
                         const int32_t *predictions)
{
    int64_t now = (int64_t)tmlp_time_now_ns(); /* first: the lock is not the SUT's latency */
    if (!run || !samples || n <= 0) return;
    int release = 0;
    pthread_mutex_lock(&run->mu);
    if (!run->finished) {
        if (run->calls++ == 0) run->first_call = now;
        run->last_call = now;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t id = samples[i].id;
        if (id >= (uint64_t)run->s_n || run->s_done[id]) {
            if (!run->finished) run->errors++;
            continue;
        }
        run->s_done[id] = 1;
        run->s_outstanding--;
        if (run->finished) continue;
        run->s_tdone[id] = now;
        int64_t q = run->s_query[id];
        int measured = q >= run->n_warm;
        if (measured) {
            run->s_completed_meas++;
            if (now > run->last_sample_done) run->last_sample_done = now;
            if (predictions) {
                int64_t idx = run->s_index[id];
                if (run->pred) run->pred[idx] = predictions[i];
                if (run->labels) {
                    run->labeled++;
                    if (predictions[i] == run->labels[idx]) run->correct++;
                }
            }
        }
        if (now > run->q_done[q]) run->q_done[q] = now;
        if (--run->q_left[q] == 0) {
            atomic_fetch_add_explicit(&run->q_completed, 1, memory_order_release);
            if (measured) {
                run->q_completed_meas++;
                if (now > run->last_query_done) run->last_query_done = now;
                run->ring[run->ring_n % RING_SIZE] = (double)(now - run->q_origin[q]);
                run->ring_n++;
            }
        }
    }
    if (run->waiters > 0) pthread_cond_broadcast(&run->cv);
    if (run->release_on_zero && run->s_outstanding == 0) release = 1;
    pthread_mutex_unlock(&run->mu);
    if (release) run_free(run);
}

/* --- the issuing side ------------------------------------------------------------------- */

typedef struct ctx {
    const tmlp_bench_settings *s;
    const tmlp_sut *sut;
    tmlp_bench_run *run;
    tmlp_query_sample *buf;   /* one issue call's samples */
    int64_t t0;               /* run start, absolute ns (0 during warm-up) */
    uint64_t next_progress;
    int nomem;
    int met;                  /* settings.on_start has been called */
    tmlp_bench_outcome out;
    double ring_copy[RING_SIZE];
    int64_t spin_ns;          /* waits spin at most this long, then block (0: block) */
    int64_t wake_ns;          /* server: estimated wake-up latency (sleep_until) */
    char wait_policy[192];
} ctx;

/* settings.stop may be set by a signal handler or another thread: read it atomically. */
static int stop_requested(const ctx *c) { return c->s->stop && __atomic_load_n(c->s->stop, __ATOMIC_RELAXED); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Report progress at most every 250 ms; the p90 is over the last RING_SIZE completed
 * measured queries, so one report costs one small sort. */
static void maybe_progress(ctx *c)
{
    if (!c->s->progress) return;
    uint64_t now = tmlp_time_now_ns();
    if (now < c->next_progress) return;
    c->next_progress = now + PROGRESS_EVERY_NS;
    tmlp_bench_run *run = c->run;
    tmlp_bench_progress p;
    pthread_mutex_lock(&run->mu);
    int64_t k = run->ring_n < RING_SIZE ? run->ring_n : RING_SIZE;
    memcpy(c->ring_copy, run->ring, (size_t)k * sizeof(double));
    p.queries_completed = run->q_completed_meas;
    p.queries_issued = run->n_warm == INT64_MAX ? 0 : run->q_n - run->n_warm;
    pthread_mutex_unlock(&run->mu);
    qsort(c->ring_copy, (size_t)k, sizeof(double), cmp_double);
    p.scenario = c->s->scenario;
    p.elapsed_ns = c->t0 ? now - (uint64_t)c->t0 : 0;
    p.min_duration_ns = c->s->min_duration_ms * 1000000ULL;
    p.running_p90_ns = k > 0 ? tmlp_stats_percentile_sorted(c->ring_copy, k, 0.90, c->s->percentile_method) : NAN;
    c->s->progress(c->s->progress_user, &p);
}

/* Register a query of n samples drawn from smp; the latency origin is `origin` (absolute
 * ns) or, when origin == 0, the issue time taken here. Returns the query number or -1
 * (out of memory). */
static int64_t begin_query(ctx *c, tmlp_sampler *smp, int64_t n, int64_t origin)
{
    tmlp_bench_run *run = c->run;
    pthread_mutex_lock(&run->mu);
    if (!reserve(run, n)) {
        pthread_mutex_unlock(&run->mu);
        c->nomem = 1;
        return -1;
    }
    int64_t q = run->q_n++;
    int64_t first = run->s_n;
    for (int64_t i = 0; i < n; i++) {
        run->s_query[first + i] = q;
        run->s_index[first + i] = tmlp_sampler_next(smp);
        run->s_tdone[first + i] = 0;
        run->s_done[first + i] = 0;
    }
    run->s_n += n;
    run->s_outstanding += n;
    run->q_left[q] = n;
    run->q_nsamp[q] = n;
    run->q_done[q] = 0;
    int64_t now = (int64_t)tmlp_time_now_ns();
    run->q_issue[q] = now;
    run->q_origin[q] = origin ? origin : now;
    pthread_mutex_unlock(&run->mu);
    return q;
}

/* Issue query q's samples in calls of at most `chunk`. Only the issuing thread writes
 * the arrays read here, so no lock is needed. */
static void issue_samples(ctx *c, int64_t q, int64_t chunk)
{
    tmlp_bench_run *run = c->run;
    int64_t n = run->q_nsamp[q];
    int64_t first = run->s_n - n; /* q is the newest query */
    for (int64_t off = 0; off < n; off += chunk) {
        int64_t k = n - off < chunk ? n - off : chunk;
        for (int64_t i = 0; i < k; i++) {
            c->buf[i].id = (uint64_t)(first + off + i);
            c->buf[i].index = run->s_index[first + off + i];
        }
        c->sut->issue(c->sut->user, run, c->buf, k);
    }
}

/* Wait until `target` queries completed (target >= 0) or, with target < 0, until no
 * sample is outstanding. deadline: absolute ns. Returns 1 done, 0 deadline, -1 stop. */
static int wait_for(ctx *c, int64_t target, uint64_t deadline, int honour_stop)
{
    tmlp_bench_run *run = c->run;
    if (target >= 0 && c->spin_ns > 0) {
        uint64_t spin_end = tmlp_time_now_ns() + (uint64_t)c->spin_ns;
        while (atomic_load_explicit(&run->q_completed, memory_order_acquire) < target) {
            if (tmlp_time_now_ns() >= spin_end) break;
            cpu_relax();
        }
        if (atomic_load_explicit(&run->q_completed, memory_order_acquire) >= target) return 1;
    }
    for (;;) {
        pthread_mutex_lock(&run->mu);
        int done = target >= 0 ? atomic_load_explicit(&run->q_completed, memory_order_acquire) >= target
                               : run->s_outstanding == 0;
        uint64_t now = tmlp_time_now_ns();
        if (!done && now < deadline && !(honour_stop && stop_requested(c))) {
            uint64_t wake = now + WAIT_SLICE_NS;
            if (wake > deadline) wake = deadline;
            struct timespec ts = {(time_t)(wake / 1000000000ULL), (long)(wake % 1000000000ULL)};
            run->waiters++;
            pthread_cond_timedwait(&run->cv, &run->mu, &ts);
            run->waiters--;
            done = target >= 0 ? atomic_load_explicit(&run->q_completed, memory_order_acquire) >= target
                               : run->s_outstanding == 0;
        }
        pthread_mutex_unlock(&run->mu);
        if (done) return 1;
        if (honour_stop && stop_requested(c)) return -1;
        if (tmlp_time_now_ns() >= deadline) return 0;
        maybe_progress(c);
    }
}

/* The stall bound: how long the SUT may complete nothing before the run gives up on it.
 * max(drain_timeout_ms, 20 x the mean interval between its completion calls so far): a
 * SUT that completes a batch every 2 s gets 40 s, one that completes every 20 us gets
 * the floor. Never a cap on a SUT that keeps completing. */
static uint64_t stall_bound_ns(ctx *c)
{
    tmlp_bench_run *run = c->run;
    pthread_mutex_lock(&run->mu);
    int64_t calls = run->calls, first = run->first_call, last = run->last_call;
    pthread_mutex_unlock(&run->mu);
    double bound = (double)c->s->drain_timeout_ms * 1e6;
    if (calls >= 2) {
        double mean = (double)(last - first) / (double)(calls - 1);
        if (20.0 * mean > bound) bound = 20.0 * mean;
    }
    return bound > 1.8e19 ? UINT64_MAX / 2 : (uint64_t)bound;
}

/* Absolute ns of the SUT's latest completion call (0 = none yet). */
static int64_t last_progress(ctx *c)
{
    pthread_mutex_lock(&c->run->mu);
    int64_t t = c->run->last_call;
    pthread_mutex_unlock(&c->run->mu);
    return t;
}

/* Wait for the closed-loop query q while the SUT makes progress (same rule as the
 * drain). 1 done, 0 stalled, -1 stopped. */
static int wait_query(ctx *c, int64_t q)
{
    for (;;) {
        int64_t before = last_progress(c);
        uint64_t bound = stall_bound_ns(c);
        int r = wait_for(c, q + 1, tmlp_time_now_ns() + bound, 1);
        if (r != 0) return r;
        if (last_progress(c) == before) {
            c->out.stall_ns = bound;
            return 0; /* nothing at all completed for a whole stall bound */
        }
    }
}

/* After the last issue: wait for every outstanding sample as long as the SUT completes
 * something within each stall bound. Honours the stop flag at once (the SUT's drain
 * callback then drops what is queued). */
static void drain_run(ctx *c)
{
    if (c->out.stalled) return; /* a closed-loop query already waited a whole bound */
    for (;;) {
        int64_t before = last_progress(c);
        uint64_t bound = stall_bound_ns(c);
        int r = wait_for(c, -1, tmlp_time_now_ns() + bound, 1);
        if (r == 1) return;
        if (r == -1) {
            c->out.interrupted = 1;
            return;
        }
        if (last_progress(c) == before) {
            c->out.stall_ns = bound;
            return;
        }
    }
}

/* One closed-loop query: issue n samples, wait for all of them. 1 done, 0 stalled,
 * -1 stopped, -2 out of memory. */
static int closed_query(ctx *c, tmlp_sampler *smp, int64_t n, int64_t chunk)
{
    int64_t q = begin_query(c, smp, n, 0);
    if (q < 0) return -2;
    issue_samples(c, q, chunk);
    return wait_query(c, q);
}

/* Sleep until the absolute time `target`: clock_nanosleep(TIMER_ABSTIME) to `lead`
 * before it (in slices of <= 50 ms, checking the stop flag), then spin the rest.
 * lead = spin_ns + wake_ns, where wake_ns tracks the 10th percentile of the observed
 * wake-up latency (how late clock_nanosleep returns even with 1 ns of slack: ~20 us on
 * a virtual machine, a few us on bare metal). Aiming that much early makes the issuer
 * wake about on time; in 9 wakes of 10 it is already late and does not spin at all, in
 * the tenth it spins the few us it woke early. So with spin_ns = 0 the spin per arrival
 * is bounded by the spread of the wake-up latency, not by a fixed lead. */
static void sleep_until(ctx *c, uint64_t target)
{
    for (;;) {
        uint64_t now = tmlp_time_now_ns();
        if (now >= target) return;
        uint64_t lead = (uint64_t)c->spin_ns + (uint64_t)c->wake_ns;
        if (target - now > lead) {
            uint64_t wake = target - lead;
            if (wake - now > 50000000ULL) wake = now + 50000000ULL;
            struct timespec ts = {(time_t)(wake / 1000000000ULL), (long)(wake % 1000000000ULL)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
            /* quantile tracking: up 0.1 step when later than the estimate, down 0.9 step
             * when earlier, so it settles where 10% of wake-ups are earlier */
            int64_t late = (int64_t)(tmlp_time_now_ns() - wake);
            c->wake_ns += late > c->wake_ns ? WAKE_STEP_NS / 10 : -(WAKE_STEP_NS * 9 / 10);
            if (c->wake_ns < 0) c->wake_ns = 0;
            if (c->wake_ns > WAKE_MAX_NS) c->wake_ns = WAKE_MAX_NS;
            if (stop_requested(c)) return;
            maybe_progress(c);
        } else {
            cpu_relax();
        }
    }
}

/* The kernel delays a normal thread's timer expiry by up to its timer slack (50 us by
 * default) to batch wake-ups; the server issuer wants its arrivals on time without
 * spinning for them, so it runs with 1 ns and puts the old value back. Returns the old
 * slack (-1 if unknown: nothing to restore). Linux only; elsewhere a no-op. */
static long timer_slack_tighten(void)
{
#ifdef PR_SET_TIMERSLACK
    int old = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (old > 0 && prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) == 0) return old;
#endif
    return -1;
}

static void timer_slack_restore(long old)
{
#ifdef PR_SET_TIMERSLACK
    if (old > 0) prctl(PR_SET_TIMERSLACK, (unsigned long)old, 0, 0, 0);
#else
    (void)old;
#endif
}

static int warm_up(ctx *c, int64_t per_query, int64_t chunk)
{
    tmlp_sampler smp;
    tmlp_sampler_init(&smp, c->s->sample_seed ^ TMLP_WARMUP_SEED_XOR, c->sut->sample_count, 0);
    for (int64_t i = 0; i < c->s->warmup_queries; i++) {
        int r = closed_query(c, &smp, per_query, chunk);
        if (r == -2) return -2;
        if (r == -1) {
            c->out.interrupted = 1;
            return -1;
        }
        if (r == 0) {
            c->out.stalled = 1;
            return 0;
        }
    }
    return 1;
}

/* Call settings.on_start once per run: right before the clock starts, or at the end of a
 * run that never got there (a failed warm-up), so that peers waiting in it are released. */
static void meet(ctx *c)
{
    if (c->met) return;
    c->met = 1;
    if (c->s->on_start) c->s->on_start(c->s->hook_user);
}

static void start_clock(ctx *c)
{
    meet(c);
    pthread_mutex_lock(&c->run->mu);
    c->run->n_warm = c->run->q_n;
    pthread_mutex_unlock(&c->run->mu);
    c->t0 = (int64_t)tmlp_time_now_ns();
}

static void run_closed_loop(ctx *c)
{
    const tmlp_bench_settings *s = c->s;
    int accuracy = s->mode == TMLP_MODE_ACCURACY;
    int64_t per_query = s->scenario == TMLP_SCENARIO_MULTI_STREAM ? s->samples_per_query : 1;
    int64_t N = c->sut->sample_count;
    int64_t need_q = s->min_query_count > 1 ? s->min_query_count : 1;
    uint64_t min_ns = s->min_duration_ms * 1000000ULL, max_ns = s->max_duration_ms * 1000000ULL;

    if (warm_up(c, per_query, per_query) != 1) return;
    tmlp_sampler smp;
    tmlp_sampler_init(&smp, s->sample_seed, N, accuracy);
    start_clock(c);
    int64_t measured = 0;
    uint64_t last_issue = 0; /* relative to t0 */
    for (;;) {
        uint64_t now = tmlp_time_now_ns();
        if (accuracy) {
            if (smp.next >= N) break;
        } else {
            if (s->max_query_count > 0 && measured >= s->max_query_count) break;
            if (measured >= need_q && last_issue >= min_ns) break;
            if (max_ns > 0 && now - (uint64_t)c->t0 >= max_ns) break;
        }
        if (stop_requested(c)) {
            c->out.interrupted = 1;
            break;
        }
        int64_t k = accuracy && N - smp.next < per_query ? N - smp.next : per_query;
        int64_t q = begin_query(c, &smp, k, 0);
        if (q < 0) break;
        last_issue = (uint64_t)(c->run->q_issue[q] - c->t0);
        measured++;
        issue_samples(c, q, k);
        int r = wait_query(c, q);
        if (r == 0) {
            c->out.stalled = 1;
            break;
        }
        if (r < 0) {
            c->out.interrupted = 1;
            break;
        }
        maybe_progress(c);
    }
}

static void run_server(ctx *c, const int64_t *sched, int64_t n_sched)
{
    const tmlp_bench_settings *s = c->s;
    int accuracy = s->mode == TMLP_MODE_ACCURACY;
    uint64_t max_ns = s->max_duration_ms * 1000000ULL;

    if (warm_up(c, 1, 1) != 1) return;
    tmlp_sampler smp;
    tmlp_sampler_init(&smp, s->sample_seed, c->sut->sample_count, accuracy);
    long slack = timer_slack_tighten();
    start_clock(c);
    tmlp_bench_run *run = c->run;
    for (int64_t i = 0; i < n_sched; i++) {
        uint64_t target = (uint64_t)c->t0 + (uint64_t)sched[i];
        sleep_until(c, target);
        if (stop_requested(c)) {
            c->out.interrupted = 1;
            break;
        }
        uint64_t now = tmlp_time_now_ns();
        if (max_ns > 0 && !accuracy && now - (uint64_t)c->t0 >= max_ns) break;
        int64_t outstanding = run->q_n - atomic_load_explicit(&run->q_completed, memory_order_acquire);
        if (outstanding >= s->max_outstanding_queries) {
            c->out.overloaded = 1;
            c->out.overload_outstanding = outstanding;
            c->out.overload_at_s = (double)(now - (uint64_t)c->t0) * 1e-9;
            break;
        }
        int64_t q = begin_query(c, &smp, 1, (int64_t)target);
        if (q < 0) break;
        issue_samples(c, q, 1);
        maybe_progress(c);
    }
    timer_slack_restore(slack);
}

static void run_offline(ctx *c, int64_t n_samples)
{
    const tmlp_bench_settings *s = c->s;
    int accuracy = s->mode == TMLP_MODE_ACCURACY;
    int64_t B = s->offline_batch_size;
    int64_t warm_n = B < c->sut->sample_count ? B : c->sut->sample_count;
    if (warm_up(c, warm_n, B) != 1) return;
    tmlp_sampler smp;
    tmlp_sampler_init(&smp, s->sample_seed, c->sut->sample_count, accuracy);
    /* Draw all sample indices before the clock starts, then restamp the query at t = 0. */
    pthread_mutex_lock(&c->run->mu);
    c->run->n_warm = c->run->q_n;
    pthread_mutex_unlock(&c->run->mu);
    int64_t q = begin_query(c, &smp, n_samples, 0);
    if (q < 0) return;
    meet(c);
    pthread_mutex_lock(&c->run->mu);
    c->t0 = (int64_t)tmlp_time_now_ns();
    c->run->q_issue[q] = c->run->q_origin[q] = c->t0;
    pthread_mutex_unlock(&c->run->mu);
    issue_samples(c, q, B);
}

/* --- result ------------------------------------------------------------------------------ */

static tmlp_bench_result *result_alloc(int64_t m, int64_t n_samples, int server)
{
    tmlp_bench_result *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    size_t bytes = (size_t)(m > 0 ? m : 1) * sizeof(int64_t), sbytes;
    if (!tmlp_size_mul((size_t)(n_samples > 0 ? n_samples : 1), sizeof(int64_t), &sbytes)) {
        free(r);
        return NULL;
    }
    r->latencies_ns = malloc(bytes);
    r->start_ns = malloc(bytes);
    r->query_samples = malloc(bytes);
    r->sample_done_ns = malloc(sbytes);
    if (server) r->issue_delay_ns = malloc(bytes);
    if (!r->latencies_ns || !r->start_ns || !r->query_samples || !r->sample_done_ns ||
        (server && !r->issue_delay_ns)) {
        tmlp_bench_result_destroy(r);
        return NULL;
    }
    return r;
}

void tmlp_bench_result_destroy(tmlp_bench_result *r)
{
    if (!r) return;
    free(r->predictions);
    free(r->latencies_ns);
    free(r->start_ns);
    free(r->query_samples);
    free(r->issue_delay_ns);
    free(r->sample_done_ns);
    free(r->parts);
    free(r);
}

/* Fill the result from the finished run. Completions after `finished` only touch
 * s_done / s_outstanding, so the query arrays are stable here. */
static tmlp_status build_result(ctx *c, const int64_t *sched, int64_t n_sched, tmlp_bench_result **out,
                                tmlp_error *err)
{
    const tmlp_bench_settings *s = c->s;
    tmlp_bench_run *run = c->run;
    int server = s->scenario == TMLP_SCENARIO_SERVER;
    int64_t w = run->n_warm == INT64_MAX ? run->q_n : run->n_warm;
    int64_t m = run->q_n - w;
    /* measured samples follow the warm-up ones in id order */
    int64_t s_first = run->s_n;
    for (int64_t q = w; q < run->q_n; q++) s_first -= run->q_nsamp[q];
    tmlp_bench_result *r = result_alloc(m, run->s_n - s_first, server);
    double *sorted = malloc((size_t)(m > 0 ? m : 1) * sizeof(double));
    if (!r || !sorted) {
        tmlp_bench_result_destroy(r);
        free(sorted);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: cannot allocate the result of %lld queries",
                              (long long)m);
    }
    r->settings = *s;
    r->settings.stop = NULL;
    r->settings.progress = NULL;
    r->settings.progress_user = NULL;
    r->settings.on_start = NULL;
    r->settings.on_result = NULL;
    r->settings.hook_user = NULL;
    r->interrupted = c->out.interrupted;
    r->overloaded = c->out.overloaded;
    r->es_estimate_p99_ns = NAN;
    r->run_start_ns = (uint64_t)c->t0;

    int64_t t0 = c->t0, n_done = 0, samples = 0, incomplete = 0;
    for (int64_t i = 0; i < m; i++) {
        int64_t q = w + i;
        samples += run->q_nsamp[q];
        r->query_samples[i] = run->q_nsamp[q];
        r->start_ns[i] = run->q_origin[q] - t0;
        if (run->q_left[q] == 0) {
            r->latencies_ns[i] = run->q_done[q] - run->q_origin[q];
            sorted[n_done++] = (double)r->latencies_ns[i];
        } else {
            r->latencies_ns[i] = -1;
            incomplete++;
        }
        if (server) r->issue_delay_ns[i] = run->q_issue[q] - run->q_origin[q];
    }
    qsort(sorted, (size_t)n_done, sizeof(double), cmp_double);
    r->n_sample_done = run->s_n - s_first;
    for (int64_t i = 0; i < r->n_sample_done; i++) {
        int64_t done = run->s_tdone[s_first + i];
        r->sample_done_ns[i] = done ? done - t0 : -1;
    }
    r->n_latencies = m;
    r->queries = m;
    r->samples = samples;
    r->completed_queries = n_done;
    r->latency = tmlp_bench_summarize(sorted, n_done, s->percentile_method);
    c->out.incomplete_queries = incomplete;

    switch (s->scenario) {
    case TMLP_SCENARIO_SINGLE_STREAM:
    case TMLP_SCENARIO_MULTI_STREAM:
        r->duration_ns = m > 0 ? (uint64_t)(run->q_issue[w + m - 1] - t0) : 0;
        r->throughput_samples_per_s = run->last_query_done > t0
            ? (double)run->s_completed_meas / ((double)(run->last_query_done - t0) * 1e-9) : 0.0;
        break;
    case TMLP_SCENARIO_SERVER: {
        r->duration_ns = m > 0 ? (uint64_t)(run->q_origin[w + m - 1] - t0) : 0;
        r->scheduled_qps = m > 1 && r->duration_ns > 0 ? (double)(m - 1) / ((double)r->duration_ns * 1e-9) : NAN;
        r->completed_qps = n_done > 1 && run->last_query_done > t0
            ? (double)(n_done - 1) / ((double)(run->last_query_done - t0) * 1e-9) : NAN;
        r->throughput_samples_per_s = isfinite(r->completed_qps) ? r->completed_qps : 0.0;
        /* issue delays: a sorted copy in `sorted` (latencies are summarized already) */
        for (int64_t i = 0; i < m; i++) sorted[i] = (double)r->issue_delay_ns[i];
        qsort(sorted, (size_t)m, sizeof(double), cmp_double);
        r->issue_delay = tmlp_bench_summarize(sorted, m, s->percentile_method);
        /* the validity checks need the latencies again */
        n_done = 0;
        for (int64_t i = 0; i < m; i++)
            if (r->latencies_ns[i] >= 0) sorted[n_done++] = (double)r->latencies_ns[i];
        qsort(sorted, (size_t)n_done, sizeof(double), cmp_double);
        break;
    }
    case TMLP_SCENARIO_OFFLINE: {
        r->duration_ns = run->last_sample_done > t0 ? (uint64_t)(run->last_sample_done - t0) : 0;
        r->throughput_samples_per_s = r->duration_ns > 0
            ? (double)run->s_completed_meas / ((double)r->duration_ns * 1e-9) : 0.0;
        r->offline_samples_planned = s->offline_sample_count;
        /* LoadGen's offline percentiles: over the SAMPLES, each from the query's start
         * (t = 0) to its completion; one query's latency would be the whole run. */
        double *per = malloc((size_t)(r->n_sample_done > 0 ? r->n_sample_done : 1) * sizeof(double));
        if (!per) {
            tmlp_bench_result_destroy(r);
            free(sorted);
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: cannot allocate %lld sample latencies",
                                  (long long)r->n_sample_done);
        }
        int64_t k = 0;
        for (int64_t i = 0; i < r->n_sample_done; i++)
            if (r->sample_done_ns[i] >= 0) per[k++] = (double)(r->sample_done_ns[i] - r->start_ns[0]);
        qsort(per, (size_t)k, sizeof(double), cmp_double);
        r->latency = tmlp_bench_summarize(per, k, s->percentile_method);
        free(per);
        break;
    }
    }

    r->errors = run->errors + c->out.never_completed;
    r->never_completed = c->out.never_completed;
    r->correct = run->correct;
    r->labeled = run->labeled;
    if (run->pred) {
        r->predictions = run->pred;
        r->n_predictions = run->sample_count;
        run->pred = NULL;
    }
    r->workload_digest = tmlp_workload_digest(&r->settings, run->sample_count, sched, n_sched);
    tmlp_bench_validate(r, sorted, n_done, &c->out);
    free(sorted);
    *out = r;
    return TMLP_OK;
}

/* --- settings ---------------------------------------------------------------------------- */

tmlp_status tmlp_bench_settings_check(const tmlp_bench_settings *s, const tmlp_sut *sut, tmlp_error *err)
{
    if (!s) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: settings is NULL");
    if (!sut) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: sut is NULL");
    if (!sut->issue) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: sut.issue is NULL");
    if (sut->sample_count < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: sut.sample_count must be >= 1 (got %lld)",
                              (long long)sut->sample_count);
    if ((unsigned)s->scenario > TMLP_SCENARIO_OFFLINE)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: unknown scenario %d", (int)s->scenario);
    if ((unsigned)s->mode > TMLP_MODE_FIND_PEAK)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: unknown mode %d", (int)s->mode);
    if (s->mode == TMLP_MODE_FIND_PEAK && s->scenario != TMLP_SCENARIO_SERVER)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: mode find-peak needs the server scenario");
    if (s->min_duration_ms > UINT64_MAX / 1000000ULL || s->max_duration_ms > UINT64_MAX / 1000000ULL ||
        s->drain_timeout_ms > UINT64_MAX / 4000000ULL)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: a *_ms setting is too large");
    if (s->min_query_count < 0 || s->max_query_count < 0)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: min_query_count and max_query_count must be >= 0");
    if (s->warmup_queries < 0)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: warmup_queries must be >= 0 (got %lld)",
                              (long long)s->warmup_queries);
    if (s->scenario == TMLP_SCENARIO_SERVER && (!(s->target_qps > 0.0) || !isfinite(s->target_qps)))
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: target_qps must be a finite number > 0 (got %g)",
                              s->target_qps);
    if (!(s->target_latency_percentile > 0.0 && s->target_latency_percentile < 1.0))
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "bench: target_latency_percentile must be a fraction in (0, 1), e.g. 0.99 "
                              "(got %g)", s->target_latency_percentile);
    if (s->scenario == TMLP_SCENARIO_SERVER && s->target_latency_ns == 0)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: target_latency_ns must be > 0");
    if (s->scenario == TMLP_SCENARIO_MULTI_STREAM && (s->samples_per_query < 1 || s->samples_per_query > (1 << 24)))
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: samples_per_query must be in [1, 2^24] (got %lld)",
                              (long long)s->samples_per_query);
    if (s->scenario == TMLP_SCENARIO_OFFLINE) {
        if (s->offline_batch_size < 1 || s->offline_batch_size > (1 << 24))
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: offline_batch_size must be in [1, 2^24] (got %lld)",
                                  (long long)s->offline_batch_size);
        if (s->offline_sample_count < 0)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: offline_sample_count must be >= 0 (0 = sized from "
                                  "offline_expected_qps)");
        if (!(s->offline_expected_qps >= 0.0) || !isfinite(s->offline_expected_qps))
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: offline_expected_qps must be a finite number >= 0 "
                                  "(got %g)", s->offline_expected_qps);
        int64_t planned = tmlp_workload_offline_samples(s, sut->sample_count);
        if (planned > TMLP_OFFLINE_MAX_PLANNED)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: the offline query would hold %lld samples (more than "
                                  "2^30, ~33 bytes each): lower offline_expected_qps, min_duration_ms or "
                                  "offline_sample_count", (long long)planned);
    }
    if (s->schedule_stride > 1 && (s->schedule_offset < 0 || s->schedule_offset >= s->schedule_stride))
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: schedule_offset must be in [0, schedule_stride) "
                              "(got %lld of %lld)", (long long)s->schedule_offset, (long long)s->schedule_stride);
    if (s->max_outstanding_queries < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: max_outstanding_queries must be >= 1");
    if (!(s->early_stopping_confidence > 0.0 && s->early_stopping_confidence < 1.0))
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: early_stopping_confidence must be in (0, 1) (got %g)",
                              s->early_stopping_confidence);
    if ((unsigned)s->percentile_method > TMLP_PCT_NEAREST_RANK)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: unknown percentile_method %d", (int)s->percentile_method);
    if (s->mode == TMLP_MODE_FIND_PEAK) {
        if (!(s->find_peak_precision > 0.0) || !isfinite(s->find_peak_precision))
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_precision must be > 0");
        if (s->find_peak_max_runs < 1)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_max_runs must be >= 1");
        if (!(s->find_peak_min_qps >= 0.0) || !isfinite(s->find_peak_min_qps))
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_min_qps must be a finite number >= 0 "
                                  "(0 = target_qps / 64)");
        if (s->find_peak_min_qps > s->target_qps)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_min_qps (%g) exceeds target_qps (%g)",
                                  s->find_peak_min_qps, s->target_qps);
        if (s->find_peak_budget_ms > UINT64_MAX / 1000000ULL)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_budget_ms is too large");
    }
    if (s->wait_spin_ns < -1 || s->wait_spin_ns > SPIN_MAX_NS)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: wait_spin_ns must be -1 (auto), 0 (never spin) or a "
                              "spin budget <= %lld ns (got %lld)", (long long)SPIN_MAX_NS, (long long)s->wait_spin_ns);
    return TMLP_OK;
}

/* --- one run ------------------------------------------------------------------------------ */

tmlp_status tmlp_bench_run_once(const tmlp_bench_settings *s, const tmlp_sut *sut, tmlp_bench_result **out,
                                tmlp_error *err)
{
    tmlp_status st = tmlp_bench_settings_check(s, sut, err);
    if (st != TMLP_OK) return st;
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: out is NULL");
    *out = NULL;
    int accuracy = s->mode == TMLP_MODE_ACCURACY;
    tmlp_bench_settings eff = *s;
    eff.mode = accuracy ? TMLP_MODE_ACCURACY : TMLP_MODE_PERFORMANCE;
    if (s->scenario == TMLP_SCENARIO_OFFLINE)
        eff.offline_sample_count = tmlp_workload_offline_samples(s, sut->sample_count);

    /* The workload that does not depend on the clock exists before the clock starts. */
    int64_t *sched = NULL, n_sched = 0;
    if (s->scenario == TMLP_SCENARIO_SERVER) {
        st = tmlp_schedule_generate(s->schedule_seed, s->target_qps, accuracy ? sut->sample_count : 0,
                                    s->min_query_count, s->min_duration_ms * 1000000ULL, s->max_query_count,
                                    s->max_duration_ms * 1000000ULL, &sched, &n_sched, err);
        if (st != TMLP_OK) return st;
        /* One part of a multi-part run keeps every stride-th arrival of the global schedule
         * (times unchanged: they are offsets from the common start). */
        int64_t stride = s->schedule_stride > 1 ? s->schedule_stride : 1;
        if (stride > 1 && !accuracy) {
            int64_t k = 0;
            for (int64_t i = s->schedule_offset; i < n_sched; i += stride) sched[k++] = sched[i];
            n_sched = k;
        }
    }
    int64_t chunk = 1;
    if (s->scenario == TMLP_SCENARIO_MULTI_STREAM) chunk = s->samples_per_query;
    if (s->scenario == TMLP_SCENARIO_OFFLINE) chunk = s->offline_batch_size;

    ctx *c = calloc(1, sizeof *c);
    tmlp_bench_run *run = run_create(sut, accuracy);
    tmlp_query_sample *buf = malloc((size_t)chunk * sizeof *buf);
    if (!c || !run || !buf) {
        free(c);
        run_free(run);
        free(buf);
        free(sched);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: cannot allocate the run");
    }
    c->s = &eff;
    c->sut = sut;
    c->run = run;
    c->buf = buf;
    if (s->wait_spin_ns < 0) {
        c->spin_ns = tmlp_wait_spin_budget(1 + s->workers, SPIN_WAIT_NS, c->wait_policy, sizeof c->wait_policy);
    } else {
        c->spin_ns = s->wait_spin_ns;
        snprintf(c->wait_policy, sizeof c->wait_policy, "set: %s %.0f us (settings.wait_spin_ns)",
                 c->spin_ns > 0 ? "spin" : "block, spin", (double)c->spin_ns * 1e-3);
    }

    /* Pre-size the per-query arrays for the planned run (closed loops may run longer and
     * then grow by doubling). Capped so a huge plan only costs memory once it happens. */
    int64_t per_query = s->scenario == TMLP_SCENARIO_MULTI_STREAM ? s->samples_per_query : 1;
    int64_t nq = s->scenario == TMLP_SCENARIO_SERVER ? n_sched
                 : s->scenario == TMLP_SCENARIO_OFFLINE ? 1
                 : accuracy ? (sut->sample_count + per_query - 1) / per_query
                            : tmlp_workload_planned_queries(s);
    if (nq > (1 << 22)) nq = 1 << 22;
    nq += s->warmup_queries < (1 << 20) ? s->warmup_queries : (1 << 20);
    if (!reserve_initial(run, nq + 1, (nq + 1) * per_query)) {
        free(c);
        run_free(run);
        free(buf);
        free(sched);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: cannot allocate the records of %lld queries",
                              (long long)nq);
    }

    switch (s->scenario) {
    case TMLP_SCENARIO_SINGLE_STREAM:
    case TMLP_SCENARIO_MULTI_STREAM: run_closed_loop(c); break;
    case TMLP_SCENARIO_SERVER: run_server(c, sched, n_sched); break;
    case TMLP_SCENARIO_OFFLINE: run_offline(c, eff.offline_sample_count); break;
    }
    meet(c); /* no-op unless the scenario ended before its clock started */
    if (sut->flush) sut->flush(sut->user, run);

    /* Drain: as long as the SUT makes progress (stall bound), or until a stop request. */
    drain_run(c);
    if (stop_requested(c) && !c->out.interrupted) c->out.interrupted = 1; /* e.g. during the offline wait */
    pthread_mutex_lock(&run->mu);
    run->finished = 1;
    c->out.never_completed = run->s_outstanding;
    pthread_mutex_unlock(&run->mu);
    if (sut->drain) sut->drain(sut->user, run);

    if (c->nomem) st = tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: out of memory recording queries");
    else st = build_result(c, sched, n_sched, out, err);
    if (st == TMLP_OK) {
        (*out)->wait_spin_ns = c->spin_ns;
        snprintf((*out)->wait_policy, sizeof (*out)->wait_policy, "%s", c->wait_policy);
    }

    int keep = 0;
    pthread_mutex_lock(&run->mu);
    if (!sut->drain && run->s_outstanding > 0) {
        run->release_on_zero = 1;
        keep = 1;
    }
    pthread_mutex_unlock(&run->mu);
    if (!keep) run_free(run);
    free(buf);
    free(sched);
    free(c);
    if (s->on_result) {
        /* Called on failure too (with NULL): the other parts of the run are waiting. */
        if (st != TMLP_OK) *out = NULL;
        tmlp_status hs = s->on_result(s->hook_user, out, st == TMLP_OK ? err : NULL);
        if (st == TMLP_OK && hs != TMLP_OK) {
            tmlp_bench_result_destroy(*out);
            *out = NULL;
            st = hs;
        }
    }
    return st;
}

tmlp_status tmlp_bench_run_scenario(const tmlp_bench_settings *settings, const tmlp_sut *sut,
                                    tmlp_bench_result **out, tmlp_error *err)
{
    if (out) *out = NULL;
    tmlp_status st = tmlp_bench_settings_check(settings, sut, err);
    if (st != TMLP_OK) return st;
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "bench: out is NULL");
    if (settings->mode == TMLP_MODE_FIND_PEAK) return tmlp_bench_find_peak(settings, sut, out, err);
    return tmlp_bench_run_once(settings, sut, out, err);
}
