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
 * machine without a spare core it takes the CPU from the SUT it waits for (the
 * measurements: docs/harness.md section 4, docs/performance.md). So both waits block, and spin first
 * only for the budget decided once at the run start (settings.wait_spin_ns; by default
 * 100 us for a closed loop and 20 us for the server's arrivals when the usable CPUs leave a
 * core free beside the issuer and the SUT's workers, else 0 — wait.c says why; the two
 * values: SPIN_WAIT_NS, SPIN_ARRIVAL_NS). The server issuer sleeps to each arrival with the thread's
 * timer slack cut from the default 50 us to 1 ns (restored after), so without a spin its
 * issue delay is the wake-up latency (bench_harness measures it) instead of up to 50 us
 * of slack; with a spin budget it wakes that much early and
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
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <sys/mman.h>
#include <sys/prctl.h>
#endif

#define RING_SIZE 1024                    /* recent latencies for the running p90 */
#define PROGRESS_EVERY_NS 250000000ULL
/* The closed loop's auto budget (single- and multi-stream): a fast SUT completes inside
 * it, so it costs nothing but the query's own time. 20 us was too short on this project's
 * VMs, where a futex wake-up takes ~25-30 us: one late hand-off (the cold first queries, a
 * timer tick) made the issuer block, the next queries paid wake-ups, and runs of the
 * shipped model spent ~50 ms at ~30 us per query (p99 24-29 us, p50 6.3). With 100 us:
 * p99 6.7-8.8 us in 6 of 6 runs. Spins only when a core is free for each spinning thread
 * (wait.c), so it steals nothing. */
#define SPIN_WAIT_NS 100000LL
/* The server issuer's (and offline's) auto budget. The server pays it on every arrival:
 * the issuer wakes this much early and spins up to the arrival time, so at 2000 QPS 100 us
 * would be 20% of a core; with it (and the worker's idle spin at 100 us) the server's p99
 * at 2000 QPS was 173-206 us in 3 runs against 68-80 us at 20 us. */
#define SPIN_ARRIVAL_NS 20000LL
#define SPIN_MAX_NS 1000000LL             /* the largest settings.wait_spin_ns */
#define SETTLE_MAX_NS 200000000LL         /* longest wait for our own threads before a run */
#define WAKE_STEP_NS 2000LL               /* server: step of the wake-up latency estimate */
#define WAKE_MAX_NS 100000LL              /* server: the estimate's cap (bounds the spin) */
#define WAIT_SLICE_NS 5000000ULL          /* longest single condvar sleep (stop flag checks) */
#define OVERLOAD_CHECK_NS 1000000ULL      /* server: the overload rule runs at most this often */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

struct tmlp_bench_run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int waiters;         /* threads in pthread_cond_timedwait (the issuing thread) */
    int64_t wake_target; /* what they wait for: q_completed >= it, or (< 0) nothing
                          * outstanding; completions wake them only then (see wait_for) */
    int finished;        /* the harness is done: completions only release samples */
    int release_on_zero; /* the last outstanding completion frees the run */

    const int32_t *labels;
    int64_t sample_count;
    int32_t *pred;       /* accuracy mode: pred[index] */

    int64_t n_warm;      /* queries [0, n_warm) are warm-up (INT64_MAX while warming up) */

    /* Per query (issue order, warm-up first) — what the statistics need, compactly
     * (a null single-stream run keeps 17 bytes per query
     * while it runs and 17 while the result is built, docs/reliability.md):
     *   q_lat     while in flight the latency origin (absolute ns: issue or scheduled
     *             time); once its last sample completed, the latency (ns). At the end its
     *             measured part is copied into the result's latencies_ns and it is freed.
     *   q_left    samples not yet complete.
     *   q_first   first sample id of each query; NULL while every query has `uniform`
     *             samples (then query = id / uniform).
     *   q_issue   server only: actual issue time (absolute ns), for the issue delay.
     *   q_origin  with settings.keep_records only: the origin again, for start_ns.
     * A query of more than one sample is only ever in flight as the newest query (closed
     * loops issue one at a time; the offline query is the last), so the latest completion
     * of its samples is tracked in one variable, open_max, not per query. */
    int64_t q_n, q_cap;
    int64_t *q_lat;
    int32_t *q_left;
    int64_t *q_first;
    int64_t *q_issue;
    int64_t *q_origin;
    int64_t uniform;     /* samples per query while all agree (-1: no query yet; 0: they differ) */
    int64_t open_max;    /* latest completion of a sample of the newest query */

    /* per sample (id = position): the data set index, whether done, and (keep_records or
     * offline, whose percentiles are over samples) the completion time */
    int64_t s_n, s_cap;
    int32_t *s_index;    /* < TMLP_BENCH_MAX_SUT_SAMPLES */
    uint8_t *s_done;
    int64_t *s_tdone;    /* absolute ns, 0 = not yet; NULL when not kept */
    int server, sample_times, records;

    _Atomic int64_t q_completed;   /* all completed queries, warm-up included */
    int64_t q_completed_meas;
    int64_t s_outstanding;         /* issued, not completed */
    int64_t s_completed_meas;
    int64_t errors;                /* unknown or repeated ids */
    int64_t correct, labeled;
    int64_t nonfinite;             /* measured samples predicted TMLP_PRED_NONFINITE */
    int64_t last_query_done;       /* absolute ns, measured queries */
    int64_t last_sample_done;      /* absolute ns, measured samples */
    int64_t calls;                 /* tmlp_bench_complete calls with a known id (progress) */
    int64_t first_call, last_call; /* absolute ns of the first and the latest of them */

    double ring[RING_SIZE];
    int64_t ring_n;

    /* What the overload rule needs (server; overload.c), kept by the completions: */
    tmlp_scenario scenario;
    int64_t bound_ns;              /* settings.target_latency_ns */
    int64_t late;                  /* measured queries that completed over bound_ns */
    int64_t busy_ns, busy_n;       /* time and samples of completion calls that found work still
                                    * outstanding after the previous call: the SUT was busy in
                                    * between, so busy_n / busy_ns is its service rate */
    int64_t left_after_call;       /* s_outstanding after the previous completion call */
    int64_t cancelled;             /* measured samples the SUT cancelled (tmlp_bench_cancelled) */
};

/* --- the run object ------------------------------------------------------------------ */

static void rec_free(void *p, size_t elem, int64_t cap);

static void run_free(tmlp_bench_run *run)
{
    if (!run) return;
    pthread_cond_destroy(&run->cv);
    pthread_mutex_destroy(&run->mu);
    rec_free(run->q_lat, sizeof(int64_t), run->q_cap);
    rec_free(run->q_left, sizeof(int32_t), run->q_cap);
    rec_free(run->q_first, sizeof(int64_t), run->q_cap);
    rec_free(run->q_issue, sizeof(int64_t), run->q_cap);
    rec_free(run->q_origin, sizeof(int64_t), run->q_cap);
    rec_free(run->s_index, sizeof(int32_t), run->s_cap);
    rec_free(run->s_done, 1, run->s_cap);
    rec_free(run->s_tdone, sizeof(int64_t), run->s_cap);
    free(run->pred);
    free(run);
}

/* Record arrays live in their own pages (mmap/mremap on Linux): growing one moves its
 * pages instead of copying them, the new part stays untouched until a query is recorded
 * there (an untouched page costs no memory), and freeing one gives its pages back at once.
 * Through malloc/realloc the doubled copies of arrays that stay below glibc's mmap
 * threshold (up to 32 MB) remain resident in the heap: measured ~8 bytes per query more
 * (bench/bench_memory.sh). `cap` is the capacity in elements. */
static void rec_free(void *p, size_t elem, int64_t cap)
{
    if (!p) return;
#ifdef __linux__
    munmap(p, (size_t)cap * elem);
#else
    (void)elem;
    (void)cap;
    free(p);
#endif
}

static int grow(void *p, size_t elem, int64_t old_n, int64_t n)
{
    size_t bytes;
    if (n < 1 || !tmlp_size_mul((size_t)n, elem, &bytes)) return 0;
    void *old = *(void **)p, *q;
#ifdef __linux__
    q = old ? mremap(old, (size_t)old_n * elem, bytes, MREMAP_MAYMOVE)
            : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) return 0;
#else
    (void)old_n;
    q = realloc(old, bytes);
    if (!q) return 0;
#endif
    *(void **)p = q;
    return 1;
}

/* Capacity for `nq` queries and `ns` samples. Caller holds the lock (or owns the run).
 * On failure the arrays that did grow keep their size; the capacities stay the minimum. */
static int reserve_exact(tmlp_bench_run *run, int64_t nq, int64_t ns)
{
    if (nq > run->q_cap) {
        /* A failure ends the run (out of memory). Arrays grown before it keep their larger
         * mapping while q_cap stays the old size: freeing then unmaps only the first q_cap
         * elements, so the tail stays mapped until exit — a leak of address space on a
         * path that already failed, never an access out of bounds. */
        int64_t c = run->q_cap;
        int ok = grow(&run->q_lat, sizeof(int64_t), c, nq) && grow(&run->q_left, sizeof(int32_t), c, nq) &&
                 (!run->q_first || grow(&run->q_first, sizeof(int64_t), c, nq)) &&
                 (!run->server || grow(&run->q_issue, sizeof(int64_t), c, nq)) &&
                 (!run->records || grow(&run->q_origin, sizeof(int64_t), c, nq));
        if (!ok) return 0;
        run->q_cap = nq;
    }
    if (ns > run->s_cap) {
        int64_t c = run->s_cap;
        if (!grow(&run->s_index, sizeof(int32_t), c, ns) || !grow(&run->s_done, 1, c, ns) ||
            (run->sample_times && !grow(&run->s_tdone, sizeof(int64_t), c, ns)))
            return 0;
        run->s_cap = ns;
    }
    return 1;
}

/* Make room for one more query of n samples, by doubling. Caller holds the lock. */
static int reserve(tmlp_bench_run *run, int64_t n)
{
    int64_t qc = run->q_cap, sc = run->s_cap ? run->s_cap : 1024;
    if (run->q_n + 1 > qc) qc = qc ? qc * 2 : 1024;
    while (sc < run->s_n + n) {
        if (sc > INT64_MAX / 2) return 0;
        sc *= 2;
    }
    if (!reserve_exact(run, qc, sc)) return 0;
    /* the first query of another size ends the uniform layout: record where each starts */
    if (run->uniform < 0) run->uniform = n;
    if (run->uniform != n && run->uniform > 0) {
        if (!grow(&run->q_first, sizeof(int64_t), 0, run->q_cap)) return 0;
        for (int64_t q = 0; q < run->q_n; q++) run->q_first[q] = q * run->uniform;
        run->uniform = 0;
    }
    return 1;
}

/* The query that sample `id` belongs to (caller holds the lock). */
static int64_t query_of(const tmlp_bench_run *run, int64_t id)
{
    if (run->uniform > 0) return id / run->uniform;
    int64_t lo = 0, hi = run->q_n - 1; /* last q with q_first[q] <= id */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (run->q_first[mid] <= id) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static int64_t query_first(const tmlp_bench_run *run, int64_t q)
{
    return run->uniform > 0 ? q * run->uniform : run->q_first[q];
}

static int64_t query_nsamp(const tmlp_bench_run *run, int64_t q)
{
    if (run->uniform > 0) return run->uniform;
    return (q + 1 < run->q_n ? run->q_first[q + 1] : run->s_n) - run->q_first[q];
}

static tmlp_bench_run *run_create(const tmlp_sut *sut, const tmlp_bench_settings *s)
{
    int accuracy = s->mode == TMLP_MODE_ACCURACY;
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
    run->uniform = -1;
    run->scenario = s->scenario;
    run->bound_ns = s->target_latency_ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)s->target_latency_ns;
    run->server = s->scenario == TMLP_SCENARIO_SERVER;
    run->records = s->keep_records != 0;
    run->sample_times = run->records || s->scenario == TMLP_SCENARIO_OFFLINE;
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

/* Wake the issuer if what it waits for now holds. Caller holds the lock. */
static void wake_waiters(tmlp_bench_run *run)
{
    if (run->waiters > 0 &&
        (run->wake_target >= 0
             ? atomic_load_explicit(&run->q_completed, memory_order_relaxed) >= run->wake_target
             : run->s_outstanding == 0))
        pthread_cond_broadcast(&run->cv);
}

tmlp_scenario tmlp_bench_run_get_scenario(const tmlp_bench_run *run)
{
    return run ? run->scenario : TMLP_SCENARIO_SINGLE_STREAM;
}

/* Mark sample `id` done (run->mu held): 1 if it was issued and not yet done, else 0 and,
 * while the run lasts, an error (an unknown or repeated id: "fix the SUT"). */
static int take_sample(tmlp_bench_run *run, uint64_t id)
{
    if (id >= (uint64_t)run->s_n || run->s_done[id]) {
        if (!run->finished) run->errors++;
        return 0;
    }
    run->s_done[id] = 1;
    run->s_outstanding--;
    return 1;
}

void tmlp_bench_complete(tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n,
                         const int32_t *predictions)
{
    int64_t now = (int64_t)tmlp_time_now_ns(); /* first: the lock is not the SUT's latency */
    if (!run || !samples || n <= 0) return;
    int release = 0;
    pthread_mutex_lock(&run->mu);
    /* the SUT was busy since its previous completion call if that call left work behind */
    int64_t prev_call = run->last_call, done_here = 0;
    int busy = !run->finished && run->calls > 0 && run->left_after_call > 0;
    if (!run->finished) {
        if (run->calls++ == 0) run->first_call = now;
        run->last_call = now;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t id = samples[i].id;
        if (!take_sample(run, id) || run->finished) continue;
        done_here++;
        if (run->s_tdone) run->s_tdone[id] = now;
        int64_t q = query_of(run, (int64_t)id);
        int measured = q >= run->n_warm;
        if (measured) {
            run->s_completed_meas++;
            if (now > run->last_sample_done) run->last_sample_done = now;
            if (predictions) {
                int64_t idx = run->s_index[id];
                if (run->pred) run->pred[idx] = predictions[i];
                if (predictions[i] == TMLP_PRED_NONFINITE) run->nonfinite++;
                if (run->labels) {
                    run->labeled++;
                    if (predictions[i] == run->labels[idx]) run->correct++;
                }
            }
        }
        int newest = q == run->q_n - 1;
        if (newest && now > run->open_max) run->open_max = now;
        if (--run->q_left[q] == 0) {
            int64_t done = newest ? run->open_max : now; /* older queries have one sample */
            run->q_lat[q] = done - run->q_lat[q];    /* origin -> latency */
            atomic_fetch_add_explicit(&run->q_completed, 1, memory_order_release);
            if (measured) {
                run->q_completed_meas++;
                if (run->q_lat[q] > run->bound_ns) run->late++;
                if (done > run->last_query_done) run->last_query_done = done;
                run->ring[run->ring_n % RING_SIZE] = (double)run->q_lat[q];
                run->ring_n++;
            }
        }
    }
    if (!run->finished) {
        if (busy && done_here > 0 && now > prev_call) {
            run->busy_ns += now - prev_call;
            run->busy_n += done_here;
        }
        run->left_after_call = run->s_outstanding;
    }
    wake_waiters(run);
    if (run->release_on_zero && run->s_outstanding == 0) release = 1;
    pthread_mutex_unlock(&run->mu);
    if (release) run_free(run);
}

void tmlp_bench_cancelled(tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n)
{
    if (!run || !samples || n <= 0) return;
    int release = 0;
    pthread_mutex_lock(&run->mu);
    for (int64_t i = 0; i < n; i++) {
        uint64_t id = samples[i].id;
        /* accounted for, never completed: its query keeps q_left > 0 (latency -1) */
        if (!take_sample(run, id)) continue;
        if (!run->finished && query_of(run, (int64_t)id) >= run->n_warm) run->cancelled++;
    }
    wake_waiters(run);
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
    int64_t last_issue;       /* closed loops: the last measured issue, absolute ns */
    uint64_t next_progress;
    int nomem;
    int met;                  /* settings.on_start has been called */
    tmlp_bench_outcome out;
    double ring_copy[RING_SIZE];
    int64_t spin_ns;          /* waits spin at most this long, then block (0: block) */
    int64_t wake_ns;          /* server: estimated wake-up latency (sleep_until) */
    char wait_policy[192];
    /* server: the overload rule (overload.c, settings.overload_stop) */
    int watch;                /* the rule applies to this run */
    int drain_watch;          /* ... and is checked while draining too */
    uint64_t next_check;      /* absolute ns of the next check */
    int64_t scan_from;        /* every query before it has completed */
    int64_t allowed;          /* late queries early stopping allows for the whole schedule */
    int64_t total;            /* queries in the whole schedule (all parts) */
    int cancel_called;        /* sut->cancel has been called */
    char cancel_error[160];   /* its error message, if it failed */
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
static int64_t begin_query(ctx *c, tmlp_sampler *smp, int64_t n, int64_t origin, int64_t *issued)
{
    tmlp_bench_run *run = c->run;
    pthread_mutex_lock(&run->mu);
    if (n > INT32_MAX || !reserve(run, n)) {
        pthread_mutex_unlock(&run->mu);
        c->nomem = 1;
        return -1;
    }
    int64_t q = run->q_n++;
    int64_t first = run->s_n;
    if (run->q_first) run->q_first[q] = first;
    for (int64_t i = 0; i < n; i++) {
        run->s_index[first + i] = (int32_t)tmlp_sampler_next(smp);
        run->s_done[first + i] = 0;
        if (run->s_tdone) run->s_tdone[first + i] = 0;
    }
    run->s_n += n;
    run->s_outstanding += n;
    run->q_left[q] = (int32_t)n;
    run->open_max = 0;
    int64_t now = (int64_t)tmlp_time_now_ns();
    run->q_lat[q] = origin ? origin : now;
    if (run->q_issue) run->q_issue[q] = now;
    if (run->q_origin) run->q_origin[q] = run->q_lat[q];
    pthread_mutex_unlock(&run->mu);
    if (issued) *issued = now;
    return q;
}

/* Issue query q's samples in calls of at most `chunk`. Only the issuing thread writes
 * the arrays read here, so no lock is needed. */
static void issue_samples(ctx *c, int64_t q, int64_t chunk)
{
    tmlp_bench_run *run = c->run;
    int64_t first = query_first(run, q); /* only the issuing thread adds queries */
    int64_t n = run->s_n - first;         /* q is the newest query */
    for (int64_t off = 0; off < n; off += chunk) {
        int64_t k = n - off < chunk ? n - off : chunk;
        for (int64_t i = 0; i < k; i++) {
            c->buf[i].id = (uint64_t)(first + off + i);
            c->buf[i].index = run->s_index[first + off + i];
        }
        c->sut->issue(c->sut->user, run, c->buf, k);
    }
}

/* The overload rule (overload.c), at most every OVERLOAD_CHECK_NS: 1 if the server run can
 * no longer be VALID, with the counts and the time in c->out. */
static int overload_check(ctx *c, uint64_t now)
{
    if (!c->watch || now < c->next_check) return 0;
    c->next_check = now + OVERLOAD_CHECK_NS;
    tmlp_bench_run *run = c->run;
    tmlp_overload o = {.allowed = c->allowed};
    pthread_mutex_lock(&run->mu);
    if (c->scan_from < run->n_warm) c->scan_from = run->n_warm;
    while (c->scan_from < run->q_n && run->q_left[c->scan_from] == 0) c->scan_from++;
    o.late_done = run->late;
    o.service_qps = run->busy_n >= TMLP_OVERLOAD_MIN_BUSY && run->busy_ns > 0
                        ? (double)run->busy_n * 1e9 / (double)run->busy_ns : NAN;
    tmlp_overload_scan(&o, run->q_lat, run->q_left, c->scan_from, run->q_n, run->bound_ns, (int64_t)now);
    pthread_mutex_unlock(&run->mu);
    int v = tmlp_overload_verdict(&o);
    if (v == TMLP_OVERLOAD_NONE) return 0;
    c->out.overloaded = 1;
    c->out.overload_rule = v;
    c->out.overload = o;
    c->out.overload_total = c->total;
    c->out.overload_outstanding = o.outstanding;
    c->out.overload_at_s = (double)(now - (uint64_t)c->t0) * 1e-9;
    return 1;
}

/* Cancel what the SUT has queued (tmlp_sut.cancel), once; without the callback the
 * drain waits for everything. */
static void cancel_queued(ctx *c)
{
    if (c->cancel_called || !c->sut->cancel) return;
    c->cancel_called = 1;
    tmlp_error e = {0};
    if (c->sut->cancel(c->sut->user, c->run, &e) != TMLP_OK)
        snprintf(c->cancel_error, sizeof c->cancel_error, "%.150s", e.message[0] ? e.message : "failed");
}

/* Wait until `target` queries completed (target >= 0) or, with target < 0, until no
 * sample is outstanding. deadline: absolute ns. Returns 1 done, 0 deadline, -1 stop,
 * -2 the overload rule fired (only while c->drain_watch). */
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
            /* Woken when the condition holds, not at every completion: an offline query of
             * a million samples completes in thousands of calls, and waking the issuer for
             * each cost the SUT's worker a futex wake (~1.6% of its time at batch 256).
             * The slice bounds the sleep for the stop flag and the stall check. */
            run->wake_target = target;
            run->waiters++;
            pthread_cond_timedwait(&run->cv, &run->mu, &ts);
            run->waiters--;
            done = target >= 0 ? atomic_load_explicit(&run->q_completed, memory_order_acquire) >= target
                               : run->s_outstanding == 0;
        }
        pthread_mutex_unlock(&run->mu);
        if (done) return 1;
        if (honour_stop && stop_requested(c)) return -1;
        now = tmlp_time_now_ns();
        if (c->drain_watch && overload_check(c, now)) return -2;
        if (now >= deadline) return 0;
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

/* Wait while the SUT makes progress: until `target` queries completed (target >= 0) or
 * nothing is outstanding (target < 0). The SUT has stalled when it completed nothing for
 * the stall bound: now - max(its latest completion, the start of this wait) >= bound.
 * The first deadline is the bound's floor (drain_timeout_ms, which the bound never
 * undercuts), so the common case — a query done in microseconds — reads neither the
 * completion rate nor the latest completion (no extra lock on the closed loop's path).
 * 1 done, 0 stalled (stall_ns set), -1 stopped. */
static int wait_progress(ctx *c, int64_t target)
{
    uint64_t start = tmlp_time_now_ns();
    uint64_t deadline = start + c->s->drain_timeout_ms * 1000000ULL;
    for (;;) {
        int r = wait_for(c, target, deadline, 1);
        if (r != 0) return r;
        int64_t last = last_progress(c);
        uint64_t from = last > (int64_t)start ? (uint64_t)last : start;
        uint64_t bound = stall_bound_ns(c);
        deadline = from + bound;
        if (tmlp_time_now_ns() >= deadline) {
            c->out.stall_ns = bound;
            return 0; /* nothing at all completed for a whole stall bound */
        }
    }
}

/* Wait for the closed-loop query q (the drain's rule). 1 done, 0 stalled, -1 stopped. */
static int wait_query(ctx *c, int64_t q) { return wait_progress(c, q + 1); }

/* After the last issue: wait for every outstanding sample as long as the SUT completes
 * something within each stall bound. A run stopped early (overload, a stop request) first
 * has its queued samples cancelled (tmlp_sut.cancel); a server run whose backlog breaks
 * the overload rule while it drains is cancelled then. Honours the stop flag at once (the
 * SUT's drain callback then waits for the samples in flight). */
static void drain_run(ctx *c)
{
    if (c->out.stalled) return; /* a closed-loop query already waited a whole bound */
    if (c->out.overloaded || c->out.interrupted || stop_requested(c)) cancel_queued(c);
    c->drain_watch = c->watch && !c->out.overloaded;
    int r;
    while ((r = wait_progress(c, -1)) == -2) { /* the backlog cannot be VALID: stop waiting for it */
        c->drain_watch = 0;
        cancel_queued(c);
    }
    if (r == -1) {
        c->out.interrupted = 1;
        cancel_queued(c);
    }
}

/* One closed-loop query: issue n samples, wait for all of them. 1 done, 0 stalled,
 * -1 stopped, -2 out of memory. */
static int closed_query(ctx *c, tmlp_sampler *smp, int64_t n, int64_t chunk)
{
    int64_t q = begin_query(c, smp, n, 0, NULL);
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
        int64_t issued;
        int64_t q = begin_query(c, &smp, k, 0, &issued);
        if (q < 0) break;
        last_issue = (uint64_t)(issued - c->t0);
        c->last_issue = issued;
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
        if (overload_check(c, now)) break;
        int64_t outstanding = run->q_n - atomic_load_explicit(&run->q_completed, memory_order_acquire);
        if (outstanding >= s->max_outstanding_queries) {
            c->out.overloaded = 1;
            c->out.overload_outstanding = outstanding;
            c->out.overload_at_s = (double)(now - (uint64_t)c->t0) * 1e-9;
            break;
        }
        int64_t q = begin_query(c, &smp, 1, (int64_t)target, NULL);
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
    int64_t q = begin_query(c, &smp, n_samples, 0, NULL);
    if (q < 0) return;
    meet(c);
    pthread_mutex_lock(&c->run->mu);
    c->t0 = (int64_t)tmlp_time_now_ns();
    c->run->q_lat[q] = c->t0;
    if (c->run->q_issue) c->run->q_issue[q] = c->t0;
    if (c->run->q_origin) c->run->q_origin[q] = c->t0;
    pthread_mutex_unlock(&c->run->mu);
    issue_samples(c, q, B);
}

/* --- result ------------------------------------------------------------------------------ */

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

static int64_t *alloc_i64(int64_t n)
{
    size_t bytes;
    if (!tmlp_size_mul((size_t)(n > 0 ? n : 1), sizeof(int64_t), &bytes)) return NULL;
    return malloc(bytes);
}

/* build_result, phase 1: the result with its record arrays (keep_records) and the settings
 * as run (hooks cleared); NULL when out of memory. */
static tmlp_bench_result *result_create(const ctx *c, int64_t m, int64_t n_meas)
{
    const tmlp_bench_settings *s = c->s;
    const int server = s->scenario == TMLP_SCENARIO_SERVER;
    tmlp_bench_result *r = calloc(1, sizeof *r);
    int ok = r != NULL;
    if (ok && s->keep_records) {
        r->start_ns = alloc_i64(m);
        r->query_samples = alloc_i64(m);
        r->sample_done_ns = alloc_i64(n_meas);
        if (server) r->issue_delay_ns = alloc_i64(m);
        ok = r->start_ns && r->query_samples && r->sample_done_ns && (!server || r->issue_delay_ns);
    }
    if (!ok) {
        tmlp_bench_result_destroy(r);
        return NULL;
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
    return r;
}

/* Phase 2: per measured query [w, w + m) its counts and records; q_lat's measured part
 * becomes r->latencies_ns (NULL if out of memory), and the run's records the statistics no
 * longer need are freed first (completions after `finished` touch only s_done). */
static void result_take_records(ctx *c, tmlp_bench_result *r, int64_t w, int64_t m, int64_t s_first,
                                int64_t n_meas)
{
    tmlp_bench_run *run = c->run;
    const int64_t t0 = c->t0;
    int64_t n_done = 0, samples = 0, incomplete = 0;
    for (int64_t i = 0; i < m; i++) {
        int64_t q = w + i, ns = query_nsamp(run, q);
        samples += ns;
        if (r->query_samples) r->query_samples[i] = ns;
        if (r->start_ns) r->start_ns[i] = run->q_origin[q] - t0;
        if (r->issue_delay_ns) r->issue_delay_ns[i] = run->q_issue[q] - run->q_origin[q];
        if (run->q_left[q] == 0) {
            n_done++;
        } else {
            run->q_lat[q] = -1;
            incomplete++;
        }
    }
    rec_free(run->q_left, sizeof(int32_t), run->q_cap);
    run->q_left = NULL;
    rec_free(run->s_index, sizeof(int32_t), run->s_cap);
    run->s_index = NULL;
    r->latencies_ns = alloc_i64(m);
    if (r->latencies_ns && m > 0) memcpy(r->latencies_ns, run->q_lat + w, (size_t)m * sizeof(int64_t));
    rec_free(run->q_lat, sizeof(int64_t), run->q_cap);
    run->q_lat = NULL;
    if (r->sample_done_ns)
        for (int64_t i = 0; i < n_meas; i++) {
            int64_t done = run->s_tdone[s_first + i];
            r->sample_done_ns[i] = done ? done - t0 : -1;
        }
    r->n_sample_done = r->sample_done_ns ? n_meas : 0;
    r->n_latencies = m;
    r->queries = m;
    r->samples = samples;
    r->completed_queries = n_done;
    c->out.incomplete_queries = incomplete;
}

/* Phase 3: the ascending completed latencies into a new array (*sorted, n_done of them),
 * after the server's issue delays, which reuse the same array first; r->latency and
 * r->issue_delay. TMLP_ERR_NOMEM (nothing to free) when an array cannot be had. */
static tmlp_status result_sorted(ctx *c, tmlp_bench_result *r, const int64_t *sched, int64_t w, int64_t m,
                                 double **sorted, int64_t *n_done)
{
    const tmlp_bench_settings *s = c->s;
    tmlp_bench_run *run = c->run;
    double *v = NULL;
    if (s->scenario == TMLP_SCENARIO_SERVER) {
        v = malloc((size_t)(m > 0 ? m : 1) * sizeof(double));
        if (!v) return TMLP_ERR_NOMEM;
        /* origin of measured query i = t0 + sched[i]: the server issues the schedule in order */
        for (int64_t i = 0; i < m; i++) v[i] = (double)(run->q_issue[w + i] - (c->t0 + sched[i]));
        tmlp_sort_doubles(v, m); /* in place: qsort would malloc a copy */
        r->issue_delay = tmlp_bench_summarize(v, m, s->percentile_method);
    }
    rec_free(run->q_issue, sizeof(int64_t), run->q_cap);
    run->q_issue = NULL;
    if (!v) v = malloc((size_t)(m > 0 ? m : 1) * sizeof(double));
    if (!r->latencies_ns || !v) {
        free(v);
        return TMLP_ERR_NOMEM;
    }
    int64_t n = 0;
    for (int64_t i = 0; i < m; i++)
        if (r->latencies_ns[i] >= 0) v[n++] = (double)r->latencies_ns[i];
    tmlp_sort_doubles(v, n);
    r->latency = tmlp_bench_summarize(v, n, s->percentile_method);
    *sorted = v;
    *n_done = n;
    return TMLP_OK;
}

/* Phase 4: the scenario's duration (what the min-duration check reads) and throughput;
 * offline's percentiles over its samples. TMLP_ERR_NOMEM for offline's per-sample array. */
static tmlp_status result_scenario(ctx *c, tmlp_bench_result *r, const int64_t *sched, int64_t m, int64_t n_done,
                                   int64_t s_first, int64_t n_meas)
{
    const tmlp_bench_settings *s = c->s;
    const tmlp_bench_run *run = c->run;
    const int64_t t0 = c->t0;
    switch (s->scenario) {
    case TMLP_SCENARIO_SINGLE_STREAM:
    case TMLP_SCENARIO_MULTI_STREAM:
        r->duration_ns = m > 0 ? (uint64_t)(c->last_issue - t0) : 0;
        r->throughput_samples_per_s = run->last_query_done > t0
            ? (double)run->s_completed_meas / ((double)(run->last_query_done - t0) * 1e-9) : 0.0;
        break;
    case TMLP_SCENARIO_SERVER:
        r->duration_ns = m > 0 ? (uint64_t)sched[m - 1] : 0;
        r->scheduled_qps = m > 1 && r->duration_ns > 0 ? (double)(m - 1) / ((double)r->duration_ns * 1e-9) : NAN;
        r->completed_qps = n_done > 1 && run->last_query_done > t0
            ? (double)(n_done - 1) / ((double)(run->last_query_done - t0) * 1e-9) : NAN;
        r->throughput_samples_per_s = isfinite(r->completed_qps) ? r->completed_qps : 0.0;
        break;
    case TMLP_SCENARIO_OFFLINE: {
        r->duration_ns = run->last_sample_done > t0 ? (uint64_t)(run->last_sample_done - t0) : 0;
        r->throughput_samples_per_s = r->duration_ns > 0
            ? (double)run->s_completed_meas / ((double)r->duration_ns * 1e-9) : 0.0;
        r->offline_samples_planned = s->offline_sample_count;
        /* LoadGen's offline percentiles: over the SAMPLES, each from the query's start
         * (t = 0) to its completion; one query's latency would be the whole run. */
        double *per = malloc((size_t)(n_meas > 0 ? n_meas : 1) * sizeof(double));
        if (!per) return TMLP_ERR_NOMEM;
        int64_t k = 0;
        for (int64_t i = 0; i < n_meas; i++) {
            int64_t done = run->s_tdone[s_first + i];
            if (done) per[k++] = (double)(done - t0);
        }
        tmlp_sort_doubles(per, k);
        r->latency = tmlp_bench_summarize(per, k, s->percentile_method);
        free(per);
        break;
    }
    }
    return TMLP_OK;
}

/* Phase 5: errors, overload, accuracy, predictions (moved from the run) and the digest. */
static void result_counts(ctx *c, tmlp_bench_result *r, const int64_t *sched, int64_t n_sched, int64_t m)
{
    const tmlp_bench_settings *s = c->s;
    tmlp_bench_run *run = c->run;
    r->errors = run->errors + c->out.never_completed + (s->mode == TMLP_MODE_ACCURACY ? run->nonfinite : 0);
    r->never_completed = c->out.never_completed;
    r->cancelled = run->cancelled;
    r->unissued_queries = s->scenario == TMLP_SCENARIO_SERVER && n_sched > m ? n_sched - m : 0;
    r->service_qps = run->busy_n >= TMLP_OVERLOAD_MIN_BUSY && run->busy_ns > 0
                         ? (double)run->busy_n * 1e9 / (double)run->busy_ns : NAN;
    r->stopped_at_ns = c->out.overloaded ? (uint64_t)(c->out.overload_at_s * 1e9) : 0;
    snprintf(c->out.cancel_error, sizeof c->out.cancel_error, "%s", c->cancel_error);
    r->correct = run->correct;
    r->labeled = run->labeled;
    r->nonfinite = run->nonfinite;
    if (run->pred) {
        r->predictions = run->pred;
        r->n_predictions = run->sample_count;
        run->pred = NULL;
    }
    r->workload_digest = tmlp_workload_digest(&r->settings, run->sample_count, sched, n_sched);
}

/* Fill the result from the finished run. Completions after `finished` only touch
 * s_done / s_outstanding, so the records read here are stable. The measured part of
 * q_lat is copied into r->latencies_ns and unmapped, and the records
 * the statistics no longer need are freed before the sorted copy is made: the peak is
 * 8 bytes of latency + 8 of sorted copy per query (plus keep_records' arrays). */
static tmlp_status build_result(ctx *c, const int64_t *sched, int64_t n_sched, tmlp_bench_result **out,
                                tmlp_error *err)
{
    tmlp_bench_run *run = c->run;
    int64_t w = run->n_warm == INT64_MAX ? run->q_n : run->n_warm;
    int64_t m = run->q_n - w;
    int64_t s_first = w < run->q_n ? query_first(run, w) : run->s_n; /* measured samples follow */
    int64_t n_meas = run->s_n - s_first;
    tmlp_bench_result *r = result_create(c, m, n_meas);
    if (!r)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: cannot allocate the result of %lld queries",
                              (long long)m);
    result_take_records(c, r, w, m, s_first, n_meas);
    double *sorted = NULL;
    int64_t n_done = 0;
    if (result_sorted(c, r, sched, w, m, &sorted, &n_done) != TMLP_OK ||
        result_scenario(c, r, sched, m, n_done, s_first, n_meas) != TMLP_OK) {
        free(sorted);
        tmlp_bench_result_destroy(r);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: cannot allocate the statistics of %lld queries",
                              (long long)m);
    }
    result_counts(c, r, sched, n_sched, m);
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
    if (sut->sample_count > TMLP_BENCH_MAX_SUT_SAMPLES)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: sut.sample_count must be <= %lld (got %lld)",
                              (long long)TMLP_BENCH_MAX_SUT_SAMPLES, (long long)sut->sample_count);
    /* The limits are bench_mlp's too (include/tinymlp/bench_limits.h). */
    static const struct { const char *name; size_t off; } ms_fields[] = {
        {"min_duration_ms", offsetof(tmlp_bench_settings, min_duration_ms)},
        {"max_duration_ms", offsetof(tmlp_bench_settings, max_duration_ms)},
        {"drain_timeout_ms", offsetof(tmlp_bench_settings, drain_timeout_ms)},
        {"find_peak_budget_ms", offsetof(tmlp_bench_settings, find_peak_budget_ms)},
    };
    for (size_t i = 0; i < sizeof ms_fields / sizeof ms_fields[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)s + ms_fields[i].off, sizeof v);
        if (v > (uint64_t)TMLP_BENCH_MAX_DURATION_MS)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: %s must be <= %lld (30 days; got %llu)",
                                  ms_fields[i].name, (long long)TMLP_BENCH_MAX_DURATION_MS,
                                  (unsigned long long)v);
    }
    if (s->min_query_count < 0 || s->min_query_count > TMLP_BENCH_MAX_QUERY_COUNT)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: min_query_count must be in [0, 2^40] (got %lld)",
                              (long long)s->min_query_count);
    if (s->max_query_count < 0 || s->max_query_count > TMLP_BENCH_MAX_QUERY_COUNT)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: max_query_count must be in [0, 2^40] (got %lld)",
                              (long long)s->max_query_count);
    if (s->warmup_queries > TMLP_BENCH_MAX_WARMUP)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: warmup_queries must be <= %d (got %lld)",
                              TMLP_BENCH_MAX_WARMUP, (long long)s->warmup_queries);
    if (s->workers < 0 || s->workers > TMLP_BENCH_MAX_THREADS || s->blas_threads < 0 ||
        s->blas_threads > TMLP_BENCH_MAX_THREADS)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: workers and blas_threads must be in [0, %d] (got %d "
                              "and %d)", TMLP_BENCH_MAX_THREADS, s->workers, s->blas_threads);
    if (s->warmup_queries < 0)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: warmup_queries must be >= 0 (got %lld)",
                              (long long)s->warmup_queries);
    if (s->scenario == TMLP_SCENARIO_SERVER &&
        (!(s->target_qps > 0.0) || !(s->target_qps <= TMLP_BENCH_MAX_TARGET_QPS)))
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: target_qps must be in (0, %g] queries/s (got %g)",
                              TMLP_BENCH_MAX_TARGET_QPS, s->target_qps);
    if (!(s->target_latency_percentile > 0.0 && s->target_latency_percentile < 1.0))
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "bench: target_latency_percentile must be a fraction in (0, 1), e.g. 0.99 "
                              "(got %g)", s->target_latency_percentile);
    if (s->scenario == TMLP_SCENARIO_SERVER && s->target_latency_ns == 0)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: target_latency_ns must be > 0");
    if (s->scenario == TMLP_SCENARIO_MULTI_STREAM && (s->samples_per_query < 1 || s->samples_per_query > TMLP_BENCH_MAX_SAMPLES_PER_QUERY))
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: samples_per_query must be in [1, %d] (got %lld)",
                              TMLP_BENCH_MAX_SAMPLES_PER_QUERY, (long long)s->samples_per_query);
    if (s->scenario == TMLP_SCENARIO_OFFLINE) {
        if (s->offline_batch_size < 1 || s->offline_batch_size > TMLP_BENCH_MAX_BATCH)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: offline_batch_size must be in [1, %d] (got %lld)",
                                  TMLP_BENCH_MAX_BATCH, (long long)s->offline_batch_size);
        if (s->offline_sample_count < 0)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: offline_sample_count must be >= 0 (0 = sized from "
                                  "offline_expected_qps)");
        if (!(s->offline_expected_qps >= 0.0) || !(s->offline_expected_qps <= TMLP_BENCH_MAX_EXPECTED_QPS))
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: offline_expected_qps must be in [0, %g] samples/s "
                                  "(got %g)", TMLP_BENCH_MAX_EXPECTED_QPS, s->offline_expected_qps);
        if (s->offline_sample_count > TMLP_BENCH_MAX_OFFLINE_SAMPLES)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: offline_sample_count must be <= 2^30 (got %lld)",
                                  (long long)s->offline_sample_count);
        int64_t planned = tmlp_workload_offline_samples(s, sut->sample_count);
        if (planned > TMLP_OFFLINE_MAX_PLANNED)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: the offline query would hold %lld samples (more than "
                                  "2^30, ~33 bytes each): lower offline_expected_qps, min_duration_ms or "
                                  "offline_sample_count", (long long)planned);
    }
    if (s->schedule_stride > 1 && (s->schedule_offset < 0 || s->schedule_offset >= s->schedule_stride))
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: schedule_offset must be in [0, schedule_stride) "
                              "(got %lld of %lld)", (long long)s->schedule_offset, (long long)s->schedule_stride);
    if (s->max_outstanding_queries < 1 || s->max_outstanding_queries > TMLP_BENCH_MAX_OUTSTANDING)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: max_outstanding_queries must be in [1, 2^24] (got %lld)",
                              (long long)s->max_outstanding_queries);
    if (!(s->early_stopping_confidence > 0.0 && s->early_stopping_confidence < 1.0))
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: early_stopping_confidence must be in (0, 1) (got %g)",
                              s->early_stopping_confidence);
    if ((unsigned)s->percentile_method > TMLP_PCT_NEAREST_RANK)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: unknown percentile_method %d", (int)s->percentile_method);
    if (s->mode == TMLP_MODE_FIND_PEAK) {
        if (!(s->find_peak_precision > 0.0) || !isfinite(s->find_peak_precision))
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_precision must be > 0");
        if (s->find_peak_max_runs < 1 || s->find_peak_max_runs > TMLP_BENCH_MAX_PEAK_RUNS)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_max_runs must be in [1, %d] (got %lld)",
                                  TMLP_BENCH_MAX_PEAK_RUNS, (long long)s->find_peak_max_runs);
        if (!(s->find_peak_min_qps >= 0.0) || !isfinite(s->find_peak_min_qps))
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_min_qps must be a finite number >= 0 "
                                  "(0 = target_qps / 64)");
        if (s->find_peak_min_qps > s->target_qps)
            return tmlp_error_set(err, TMLP_ERR_ARG, "bench: find_peak_min_qps (%g) exceeds target_qps (%g)",
                                  s->find_peak_min_qps, s->target_qps);
    }
    if (s->wait_spin_ns < -1 || s->wait_spin_ns > SPIN_MAX_NS)
        return tmlp_error_set(err, TMLP_ERR_ARG, "bench: wait_spin_ns must be -1 (auto), 0 (never spin) or a "
                              "spin budget <= %lld ns (got %lld)", (long long)SPIN_MAX_NS, (long long)s->wait_spin_ns);
    return TMLP_OK;
}

/* --- one run ------------------------------------------------------------------------------ */

/* The plan, phase 1 (server): the arrival schedule, generated before the clock starts;
 * one part of a multi-part run keeps every stride-th arrival of the global schedule (times
 * unchanged: they are offsets from the common start). *n_total: arrivals of all parts. */
static tmlp_status plan_schedule(const tmlp_bench_settings *s, const tmlp_sut *sut, int accuracy, int64_t **sched,
                                 int64_t *n_sched, int64_t *n_total, tmlp_error *err)
{
    tmlp_status st = tmlp_schedule_generate(s->schedule_seed, s->target_qps, accuracy ? sut->sample_count : 0,
                                            s->min_query_count, s->min_duration_ms * 1000000ULL,
                                            s->max_query_count, s->max_duration_ms * 1000000ULL, sched, n_sched,
                                            err);
    if (st != TMLP_OK) return st;
    *n_total = *n_sched;
    int64_t stride = s->schedule_stride > 1 ? s->schedule_stride : 1;
    if (stride > 1 && !accuracy) {
        int64_t k = 0;
        for (int64_t i = s->schedule_offset; i < *n_sched; i += stride) (*sched)[k++] = (*sched)[i];
        *n_sched = k;
    }
    return TMLP_OK;
}

/* Phase 2: how long the issuer may spin (settings.wait_spin_ns, or decided now once our own
 * threads are idle: wait.c), with the line that says why. */
static void plan_wait_policy(ctx *c, const tmlp_bench_settings *s)
{
    const int64_t settled_ns = tmlp_wait_own_threads_idle(SETTLE_MAX_NS);
    if (s->wait_spin_ns < 0) {
        const int closed = s->scenario == TMLP_SCENARIO_SINGLE_STREAM || s->scenario == TMLP_SCENARIO_MULTI_STREAM;
        c->spin_ns = tmlp_wait_spin_budget(1 + s->workers, closed ? SPIN_WAIT_NS : SPIN_ARRIVAL_NS,
                                           c->wait_policy, sizeof c->wait_policy);
    } else {
        c->spin_ns = s->wait_spin_ns;
        snprintf(c->wait_policy, sizeof c->wait_policy, "set: %s %.0f us (settings.wait_spin_ns)",
                 c->spin_ns > 0 ? "spin" : "block, spin", (double)c->spin_ns * 1e-3);
    }
    if (settled_ns >= 1000000) {
        const size_t used = strlen(c->wait_policy);
        snprintf(c->wait_policy + used, sizeof c->wait_policy - used,
                 "; waited %.0f ms for this process's other threads to go idle%s",
                 (double)settled_ns * 1e-6, settled_ns >= SETTLE_MAX_NS ? " (gave up)" : "");
    }
}

/* Phase 3: pre-size the per-query arrays for the planned run (closed loops may run longer
 * and then grow by doubling), capped so a huge plan only costs memory once it happens.
 * 0 when out of memory; *nq_out: the queries reserved. */
static int plan_reserve(tmlp_bench_run *run, const tmlp_bench_settings *s, const tmlp_sut *sut, int accuracy,
                        int64_t n_sched, int64_t *nq_out)
{
    int64_t per_query = s->scenario == TMLP_SCENARIO_MULTI_STREAM ? s->samples_per_query : 1;
    int64_t nq = s->scenario == TMLP_SCENARIO_SERVER ? n_sched
                 : s->scenario == TMLP_SCENARIO_OFFLINE ? 1
                 : accuracy ? (sut->sample_count + per_query - 1) / per_query
                            : tmlp_workload_planned_queries(s);
    if (nq > (1 << 22)) nq = 1 << 22;
    nq += s->warmup_queries < (1 << 20) ? s->warmup_queries : (1 << 20);
    *nq_out = nq;
    return reserve_exact(run, nq + 1, (nq + 1) * per_query);
}

/* Phase 4: issue the scenario, then drain as long as the SUT makes progress (stall bound)
 * or until a stop request; afterwards completions only release samples. */
static void run_and_drain(ctx *c, const int64_t *sched, int64_t n_sched)
{
    const tmlp_bench_settings *s = c->s;
    const tmlp_sut *sut = c->sut;
    tmlp_bench_run *run = c->run;
    switch (s->scenario) {
    case TMLP_SCENARIO_SINGLE_STREAM:
    case TMLP_SCENARIO_MULTI_STREAM: run_closed_loop(c); break;
    case TMLP_SCENARIO_SERVER: run_server(c, sched, n_sched); break;
    case TMLP_SCENARIO_OFFLINE: run_offline(c, s->offline_sample_count); break;
    }
    meet(c); /* no-op unless the scenario ended before its clock started */
    if (sut->flush) sut->flush(sut->user, run);
    drain_run(c);
    if (stop_requested(c) && !c->out.interrupted) c->out.interrupted = 1; /* e.g. during the offline wait */
    pthread_mutex_lock(&run->mu);
    run->finished = 1;
    c->out.never_completed = run->s_outstanding;
    pthread_mutex_unlock(&run->mu);
    if (sut->drain) sut->drain(sut->user, run);
}

/* Phase 5: free the run, unless the SUT still holds samples of it and has no drain: then
 * its last completion frees it (never used after free). */
static void run_release(tmlp_bench_run *run, const tmlp_sut *sut)
{
    int keep = 0;
    pthread_mutex_lock(&run->mu);
    if (!sut->drain && run->s_outstanding > 0) {
        run->release_on_zero = 1;
        keep = 1;
    }
    pthread_mutex_unlock(&run->mu);
    if (!keep) run_free(run);
}

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
    int64_t *sched = NULL, n_sched = 0, n_total = 0;
    if (s->scenario == TMLP_SCENARIO_SERVER &&
        (st = plan_schedule(s, sut, accuracy, &sched, &n_sched, &n_total, err)) != TMLP_OK)
        return st;
    int64_t chunk = 1;
    if (s->scenario == TMLP_SCENARIO_MULTI_STREAM) chunk = s->samples_per_query;
    if (s->scenario == TMLP_SCENARIO_OFFLINE) chunk = s->offline_batch_size;

    ctx *c = calloc(1, sizeof *c);
    tmlp_bench_run *run = run_create(sut, &eff);
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
    if (s->scenario == TMLP_SCENARIO_SERVER && !accuracy && s->overload_stop) {
        /* the whole schedule (all parts): the most lenient allowance the run could get */
        c->total = n_total;
        c->allowed = tmlp_overload_allowed_late(s->target_latency_percentile, s->early_stopping_confidence, n_total);
        c->watch = c->allowed >= 0; /* a run too short for early stopping has no latency rule to break */
    }
    plan_wait_policy(c, s);
    int64_t nq;
    if (!plan_reserve(run, s, sut, accuracy, n_sched, &nq)) {
        free(c);
        run_free(run);
        free(buf);
        free(sched);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: cannot allocate the records of %lld queries",
                              (long long)nq);
    }

    run_and_drain(c, sched, n_sched);
    if (c->nomem) st = tmlp_error_set(err, TMLP_ERR_NOMEM, "bench: out of memory recording queries");
    else st = build_result(c, sched, n_sched, out, err);
    if (st == TMLP_OK) {
        (*out)->wait_spin_ns = c->spin_ns;
        snprintf((*out)->wait_policy, sizeof (*out)->wait_policy, "%s", c->wait_policy);
    }
    run_release(run, sut);
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
