/* fake_sut.h — a scripted system under test for the harness tests.
 *
 * One server thread, FIFO: samples wait in a queue in issue order; the server takes the
 * oldest, works on it for its service time (fixed, or scripted per sample sequence
 * number), then completes it through tmlp_bench_complete. Service of a sample starts at
 * max(its arrival, the previous sample's end) on a virtual clock, so completions follow
 * the single-server recursion even when the thread wakes up late. Because the service times are
 * known, a test can predict the latencies the harness must report (M/D/1 queueing,
 * warm-up exclusion, ...).
 *
 * Instrumentation: issue calls and their sizes, samples issued, and `overlaps` — issues
 * that arrived while an earlier sample was still in flight (a closed loop must show 0).
 * Faults: samples with sequence number >= never_from are dropped (never completed);
 * stop_after > 0 sets *stop_flag after that many completions.
 * drain() empties the queue and waits until the server thread is between samples;
 * cancel() reports every queued sample with tmlp_bench_cancelled (counted in `cancelled`)
 * and empties the queue (set sut.cancel = NULL for a SUT without it).
 *
 * Also shared by the harness tests: US and MS (nanoseconds, for readable times such as
 * 200 * US); has_reason(r, needle), whether one of a result's INVALID reasons names the
 * expected cause; fake_run_stalled(s, f), a run that must give up on lost samples after
 * drain_timeout_ms (it asserts, so include cmocka.h before this header).
 */
#ifndef TMLP_FAKE_SUT_H
#define TMLP_FAKE_SUT_H

#include "tinymlp/bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define US 1000ULL
#define MS 1000000ULL

/* 1 if one of r's reasons (why the run is INVALID) contains needle. */
static inline int has_reason(const tmlp_bench_result *r, const char *needle)
{
    for (int i = 0; i < r->n_reasons; i++)
        if (strstr(r->reasons[i], needle)) return 1;
    return 0;
}

typedef struct fake_item {
    tmlp_bench_run *run;
    tmlp_query_sample s;
    int64_t seq;
    uint64_t arrival;   /* when issue() received it */
} fake_item;

typedef struct fake_sut {
    tmlp_sut sut;
    /* configuration (set before the run) */
    uint64_t service_ns;                        /* per sample */
    uint64_t (*script)(int64_t seq, void *ctx); /* optional: service time of sample seq */
    void *script_ctx;
    int64_t never_from;                         /* -1: complete everything */
    const int32_t *predict;                     /* optional: prediction by sample index */
    int64_t stop_after;                         /* 0: never */
    volatile int *stop_flag;
    uint64_t first_issue_block_ns;              /* the first issue() call blocks this long */
    int64_t rec_cap;                            /* > 0: record the first rec_cap samples */
    uint64_t *rec_arrival, *rec_done;           /* issue() time, time just before complete */
    uint64_t *rec_due;                          /* the virtual clock's completion time */
    /* instrumentation */
    int64_t issue_calls, issued, completed, overlaps, max_call, min_call, cancelled;
    int64_t in_flight;
    /* machinery */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fake_item *q;
    int64_t head, tail, cap;
    int busy, quit;
} fake_sut;

static inline void fake_spin_until(uint64_t t)
{
    for (;;) {
        uint64_t now = tmlp_time_now_ns();
        if (now >= t) return;
        if (t - now > 150000) {
            uint64_t w = t - 80000;
            struct timespec ts = {(time_t)(w / 1000000000ULL), (long)(w % 1000000000ULL)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
    }
}

static void *fake_main(void *arg)
{
    fake_sut *f = arg;
    uint64_t free_at = 0; /* when the server finishes its current sample */
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (f->head == f->tail && !f->quit) pthread_cond_wait(&f->cv, &f->mu);
        if (f->quit) break;
        fake_item it = f->q[f->head++];
        f->busy = 1;
        pthread_mutex_unlock(&f->mu);

        uint64_t svc = f->script ? f->script(it.seq, f->script_ctx) : f->service_ns;
        /* Virtual single-server clock: service starts when the server is free and the
         * sample has arrived (Lindley), so thread wake-up jitter does not add up. */
        uint64_t start = free_at > it.arrival ? free_at : it.arrival;
        free_at = start + svc;
        fake_spin_until(free_at);
        int drop = f->never_from >= 0 && it.seq >= f->never_from;

        pthread_mutex_lock(&f->mu);
        f->in_flight--;
        pthread_mutex_unlock(&f->mu);
        if (it.seq < f->rec_cap) {
            f->rec_arrival[it.seq] = it.arrival;
            f->rec_done[it.seq] = tmlp_time_now_ns();
            f->rec_due[it.seq] = free_at;
        }
        if (!drop) {
            int32_t pred = f->predict ? f->predict[it.s.index] : 0;
            tmlp_bench_complete(it.run, &it.s, 1, f->predict ? &pred : NULL);
        }
        pthread_mutex_lock(&f->mu);
        if (!drop) f->completed++;
        if (f->stop_after > 0 && f->completed >= f->stop_after && f->stop_flag)
            __atomic_store_n(f->stop_flag, 1, __ATOMIC_RELAXED);
        f->busy = 0;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void fake_issue(void *user, tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n)
{
    fake_sut *f = user;
    if (f->first_issue_block_ns && f->issue_calls == 0) /* only the issuing thread writes issue_calls */
        fake_spin_until(tmlp_time_now_ns() + f->first_issue_block_ns);
    pthread_mutex_lock(&f->mu);
    f->issue_calls++;
    if (n > f->max_call) f->max_call = n;
    if (f->min_call == 0 || n < f->min_call) f->min_call = n;
    if (f->in_flight > 0) f->overlaps++;
    if (f->tail + n > f->cap) {
        int64_t c = f->cap ? f->cap : 1024;
        while (c < f->tail + n) c *= 2;
        fake_item *q = realloc(f->q, (size_t)c * sizeof *q);
        if (!q) abort(); /* test helper: OOM ends the test */
        f->q = q;
        f->cap = c;
    }
    uint64_t now = tmlp_time_now_ns();
    for (int64_t i = 0; i < n; i++) {
        f->q[f->tail].arrival = now;
        f->q[f->tail].run = run;
        f->q[f->tail].s = samples[i];
        f->q[f->tail].seq = f->issued++;
        f->tail++;
    }
    f->in_flight += n;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static tmlp_status fake_cancel(void *user, tmlp_bench_run *run, tmlp_error *err)
{
    (void)err;
    fake_sut *f = user;
    pthread_mutex_lock(&f->mu);
    for (int64_t i = f->head; i < f->tail; i++) tmlp_bench_cancelled(run, &f->q[i].s, 1);
    f->cancelled += f->tail - f->head;
    f->in_flight -= f->tail - f->head;
    f->head = f->tail;
    pthread_mutex_unlock(&f->mu);
    return TMLP_OK;
}

static void fake_drain(void *user, tmlp_bench_run *run)
{
    (void)run;
    fake_sut *f = user;
    pthread_mutex_lock(&f->mu);
    f->in_flight -= f->tail - f->head;
    f->head = f->tail;
    while (f->busy) pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

/* A fake with `sample_count` samples and a fixed service time, its thread started. On the
 * heap: a failed assertion leaves it (and its thread) behind without corrupting the next
 * test. `record` > 0 records arrival and completion times of the first `record` samples. */
static inline fake_sut *fake_new(int64_t sample_count, uint64_t service_ns, int64_t record)
{
    fake_sut *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->service_ns = service_ns;
    f->never_from = -1;
    f->sut.user = f;
    f->sut.name = "fake";
    f->sut.sample_count = sample_count;
    f->sut.issue = fake_issue;
    f->sut.drain = fake_drain;
    f->sut.cancel = fake_cancel;
    if (record > 0) {
        f->rec_cap = record;
        f->rec_arrival = calloc((size_t)record, sizeof(uint64_t));
        f->rec_done = calloc((size_t)record, sizeof(uint64_t));
        f->rec_due = calloc((size_t)record, sizeof(uint64_t));
        if (!f->rec_arrival || !f->rec_done || !f->rec_due) abort();
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_create(&f->th, NULL, fake_main, f);
    return f;
}

static inline void fake_free(fake_sut *f)
{
    pthread_mutex_lock(&f->mu);
    f->quit = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->q);
    free(f->rec_arrival);
    free(f->rec_done);
    free(f->rec_due);
    free(f);
}

/* Runs s on f, whose samples stop completing (never_from), and checks how the harness
 * gives up: it returns TMLP_OK no sooner than drain_timeout_ms after the start and well
 * within a second (no hang), with an INVALID result, which the caller examines and
 * destroys. Needs cmocka.h included first. */
static inline tmlp_bench_result *fake_run_stalled(const tmlp_bench_settings *s, fake_sut *f)
{
    tmlp_bench_result *r = NULL;
    uint64_t t0 = tmlp_time_now_ns();
    assert_int_equal(tmlp_bench_run_scenario(s, &f->sut, &r, NULL), TMLP_OK);
    uint64_t el = tmlp_time_now_ns() - t0;
    assert_true(el >= s->drain_timeout_ms * MS && el < 1000 * MS);
    assert_false(r->valid);
    return r;
}

/* Settings for short test runs: no minimum duration, n queries exactly. */
static inline tmlp_bench_settings fake_settings(tmlp_scenario sc, int64_t n)
{
    tmlp_bench_settings s = tmlp_bench_settings_default(sc);
    s.min_duration_ms = 0;
    s.min_query_count = n;
    s.max_query_count = n;
    s.drain_timeout_ms = 2000;
    return s;
}

#endif
