/* model_sut.c — a tmlp_model over a data set as a system under test.
 *
 * Two paths, chosen per run by the dispatch setting (tmlp_model_sut_set_dispatch):
 *
 * inline (the default for single-stream and multi-stream): issue() runs the forward in
 *   the issuing thread, on a session of its own, and completes the query before it
 *   returns — LoadGen allows a SUT to call QuerySamplesComplete inside IssueQuery. A
 *   closed loop has one query in flight, so a worker thread buys nothing there and costs
 *   two hand-offs per query (the issuer wakes the worker, the worker wakes the issuer;
 *   with one core busy elsewhere they share the other: docs/performance.md).
 *
 * workers (the default for server and offline, where queries overlap):
 *   issue(samples[n])  ->  split into work items of <= max_batch samples
 *                      ->  a bounded FIFO queue (mutex + two condition variables)
 *   worker thread w    ->  pop an item, point at its rows of the data set, ONE forward on
 *                          w's own session, argmax of each output row,
 *                          tmlp_bench_complete(predictions)
 *
 * Every worker, and the issuing thread for the inline path, owns a tmlp_session
 * (sessions are per thread; the model is shared
 * read-only) and an array of max_batch row pointers, so a forward allocates nothing and
 * copies no sample: F32 data sets go through tmlp_session_forward_rows (the first layer
 * reads each row where it lies), U8 ones through tmlp_session_forward_u8_rows (each row
 * preprocessed straight into the session's input buffer).
 *
 * Idle workers sleep on a condition variable. Spinning first (30 us) saves the futex
 * wake-up, which costs about as much as a batch-1 forward of a small model — but only
 * with a core to spare: a spinning worker is a running thread, and with the issuer
 * and a busy neighbour on a 2-core machine it takes the CPU from the forward pass (docs/harness.md, section 4,
 * has the measurements). So the spin budget is
 * decided once at creation by the rule in wait.c (workers + the issuer + 1 free CPUs,
 * else 0), can be set by the caller (tmlp_model_sut_set_idle_spin_ns), and
 * bench/bench_handoff measures both sides of the trade.
 *
 * The queue is bounded (2^20 work items, 2^26 samples) but starts small and grows by
 * doubling (a ring of work items and a ring of their samples), so `issue` does not block
 * below that bound: an overloaded server run shows up as outstanding queries — which the
 * harness bounds with max_outstanding_queries (default 65536) — and not as an issuer
 * stuck in `issue` past the end of the run. At the bound (or if growing fails) `issue`
 * waits for a free slot.
 * cancel(): reports every queued sample as cancelled (tmlp_bench_cancelled) and empties
 * the queue — an overloaded server run stops on time without computing its backlog.
 * drain(): drops queued items and waits for the workers' items in flight — after it
 * returns no worker touches the run (the harness's late-completion contract).
 */
#include "harness_internal.h"
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IDLE_SPIN_NS 30000LL          /* the auto budget, when a core is free */
#define IDLE_SPIN_MAX_NS 1000000LL
#define MAX_QUEUED_ITEMS (1LL << 20)   /* the queue's bound: past it `issue` waits */
#define MAX_QUEUED_SAMPLES (1LL << 26)

typedef struct work_item {
    tmlp_bench_run *run;
    int64_t n;                  /* its samples are the next n in the sample ring */
} work_item;

typedef struct worker {
    struct tmlp_model_sut *owner;
    pthread_t thread;
    tmlp_session *session;
    void *rows;                 /* max_batch row pointers into the data set (const uint8_t *
                                 * or const float *, like the data set) */
    int32_t *predictions;       /* max_batch */
    tmlp_query_sample *mine;    /* the popped item's samples (max_batch) */
} worker;

struct tmlp_model_sut {
    tmlp_sut sut;
    const tmlp_model *model;
    const tmlp_dataset *data;
    int64_t max_batch, width, out_width;
    int n_workers, started;
    worker *workers;
    worker issuer;              /* the inline path's session and buffers (issuing thread only) */
    _Atomic int dispatch;       /* tmlp_sut_dispatch */

    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full, idle;
    work_item *items;           /* ring: icap slots from ihead, icount used */
    int64_t icap, ihead, icount;
    tmlp_query_sample *samples; /* ring: scap slots from shead, scount used */
    int64_t scap, shead, scount;
    _Atomic int64_t pending;    /* == icount, readable without the lock (idle spin) */
    _Atomic int64_t idle_spin_ns; /* an idle worker spins this long, then sleeps (0: sleeps) */
    int busy;
    int stop;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* A copy of a ring with at least `need` slots (capacity doubled), unwrapped to start at
 * 0; the old ring is freed. NULL (old ring untouched) if allocation fails. */
static void *ring_grow(void *ring, size_t elem, int64_t *cap, int64_t *head, int64_t count, int64_t need)
{
    int64_t c = *cap;
    while (c < need) {
        if (c > INT64_MAX / 4) return NULL;
        c *= 2;
    }
    size_t bytes;
    if (!tmlp_size_mul((size_t)c, elem, &bytes)) return NULL;
    char *n = malloc(bytes);
    if (!n) return NULL;
    const char *o = ring;
    int64_t first = *cap - *head < count ? *cap - *head : count; /* up to the wrap */
    memcpy(n, o + (size_t)*head * elem, (size_t)first * elem);
    memcpy(n + (size_t)first * elem, o, (size_t)(count - first) * elem);
    free(ring);
    *cap = c;
    *head = 0;
    return n;
}

static void compute(worker *w, tmlp_bench_run *run, int64_t n)
{
    tmlp_model_sut *m = w->owner;
    const tmlp_dataset *d = m->data;
    size_t row = (size_t)m->width;
    tmlp_tensor out;
    tmlp_status st;
    if (d->dtype == TMLP_DTYPE_U8) {
        const uint8_t **x = w->rows;
        for (int64_t i = 0; i < n; i++) x[i] = d->u8 + (size_t)w->mine[i].index * row;
        st = tmlp_session_forward_u8_rows(w->session, x, n, &out, NULL);
    } else {
        const float **x = w->rows;
        for (int64_t i = 0; i < n; i++) x[i] = d->f32 + (size_t)w->mine[i].index * row;
        st = tmlp_session_forward_rows(w->session, x, n, &out, NULL);
    }
    /* No prediction for a failed forward (TMLP_PRED_NONE) or a row with a NaN / Inf output
     * (TMLP_PRED_NONFINITE: argmax of NaN would pick a class by accident); accuracy counts
     * both wrong, and the harness marks an accuracy run with a non-finite row INVALID. */
    for (int64_t i = 0; i < n; i++) {
        const float *row_out = st == TMLP_OK ? out.data + (size_t)i * (size_t)m->out_width : NULL;
        int finite = row_out != NULL;
        for (int64_t j = 0; finite && j < m->out_width; j++) finite = isfinite(row_out[j]);
        w->predictions[i] = finite ? (int32_t)tmlp_argmax(row_out, m->out_width)
                                   : row_out ? TMLP_PRED_NONFINITE : TMLP_PRED_NONE;
    }
    tmlp_bench_complete(run, w->mine, n, w->predictions);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    tmlp_model_sut *m = w->owner;
    for (;;) {
        int64_t spin = atomic_load_explicit(&m->idle_spin_ns, memory_order_relaxed);
        if (spin > 0) {
            uint64_t spin_end = tmlp_time_now_ns() + (uint64_t)spin;
            while (atomic_load_explicit(&m->pending, memory_order_relaxed) == 0 && tmlp_time_now_ns() < spin_end)
                cpu_relax();
        }
        pthread_mutex_lock(&m->mu);
        while (m->icount == 0 && !m->stop) pthread_cond_wait(&m->not_empty, &m->mu);
        if (m->icount == 0 && m->stop) {
            pthread_mutex_unlock(&m->mu);
            break;
        }
        work_item it = m->items[m->ihead];
        tmlp_bench_run *run = it.run;
        int64_t n = it.n;
        for (int64_t i = 0; i < n; i++) w->mine[i] = m->samples[(m->shead + i) % m->scap];
        m->shead = (m->shead + n) % m->scap;
        m->scount -= n;
        m->ihead = (m->ihead + 1) % m->icap;
        m->icount--;
        atomic_store_explicit(&m->pending, m->icount, memory_order_relaxed);
        m->busy++;
        pthread_cond_signal(&m->not_full);
        pthread_mutex_unlock(&m->mu);

        compute(w, run, n);

        pthread_mutex_lock(&m->mu);
        m->busy--;
        if (m->busy == 0 && m->icount == 0) pthread_cond_broadcast(&m->idle);
        pthread_mutex_unlock(&m->mu);
    }
    return NULL;
}

/* Whether this run's queries are computed in the issuing thread. */
static int runs_inline(const tmlp_model_sut *m, const tmlp_bench_run *run)
{
    int d = atomic_load_explicit(&m->dispatch, memory_order_relaxed);
    if (d == TMLP_DISPATCH_INLINE) return 1;
    if (d == TMLP_DISPATCH_WORKERS) return 0;
    tmlp_scenario sc = tmlp_bench_run_get_scenario(run);
    return sc == TMLP_SCENARIO_SINGLE_STREAM || sc == TMLP_SCENARIO_MULTI_STREAM;
}

static void model_issue(void *user, tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n)
{
    tmlp_model_sut *m = user;
    if (runs_inline(m, run)) { /* one forward per max_batch samples, here and now */
        for (int64_t off = 0; off < n; off += m->max_batch) {
            int64_t k = n - off < m->max_batch ? n - off : m->max_batch;
            memcpy(m->issuer.mine, samples + off, (size_t)k * sizeof *samples);
            compute(&m->issuer, run, k);
        }
        return;
    }
    for (int64_t off = 0; off < n; off += m->max_batch) {
        int64_t k = n - off < m->max_batch ? n - off : m->max_batch;
        pthread_mutex_lock(&m->mu);
        for (;;) { /* room for one item of k samples: grow, or (only if that fails) wait */
            if (m->stop) break;
            if (m->icount == m->icap && m->icap < MAX_QUEUED_ITEMS) {
                void *p = ring_grow(m->items, sizeof *m->items, &m->icap, &m->ihead, m->icount, m->icount + 1);
                if (p) m->items = p;
            }
            if (m->scount + k > m->scap && m->scount + k <= MAX_QUEUED_SAMPLES) {
                void *p = ring_grow(m->samples, sizeof *m->samples, &m->scap, &m->shead, m->scount, m->scount + k);
                if (p) m->samples = p;
            }
            if (m->icount < m->icap && m->scount + k <= m->scap) break;
            pthread_cond_wait(&m->not_full, &m->mu);
        }
        if (m->stop) {
            pthread_mutex_unlock(&m->mu);
            return;
        }
        m->items[(m->ihead + m->icount) % m->icap] = (work_item){run, k};
        for (int64_t i = 0; i < k; i++) m->samples[(m->shead + m->scount + i) % m->scap] = samples[off + i];
        m->icount++;
        m->scount += k;
        atomic_store_explicit(&m->pending, m->icount, memory_order_relaxed);
        pthread_cond_signal(&m->not_empty);
        pthread_mutex_unlock(&m->mu);
    }
}

/* Cancel: every queued item belongs to `run` (one run at a time per SUT); report their
 * samples as cancelled and empty the queue. Items a worker has popped finish as usual.
 * Lock order: the queue's, then the run's (tmlp_bench_cancelled); no path takes them the
 * other way round (the harness never calls into the SUT holding its lock). */
static tmlp_status model_cancel(void *user, tmlp_bench_run *run, tmlp_error *err)
{
    (void)err; /* cannot fail */
    tmlp_model_sut *m = user;
    pthread_mutex_lock(&m->mu);
    int64_t first = m->scap - m->shead < m->scount ? m->scap - m->shead : m->scount; /* up to the wrap */
    tmlp_bench_cancelled(run, m->samples + m->shead, first);
    tmlp_bench_cancelled(run, m->samples, m->scount - first);
    m->icount = 0;
    m->scount = 0;
    atomic_store_explicit(&m->pending, 0, memory_order_relaxed);
    pthread_cond_broadcast(&m->not_full);
    pthread_mutex_unlock(&m->mu);
    return TMLP_OK;
}

static void model_drain(void *user, tmlp_bench_run *run)
{
    (void)run; /* one run at a time per SUT: everything queued belongs to it */
    tmlp_model_sut *m = user;
    pthread_mutex_lock(&m->mu);
    m->icount = 0;
    m->scount = 0;
    atomic_store_explicit(&m->pending, 0, memory_order_relaxed);
    pthread_cond_broadcast(&m->not_full);
    while (m->busy > 0) pthread_cond_wait(&m->idle, &m->mu);
    pthread_mutex_unlock(&m->mu);
}

void tmlp_model_sut_destroy(tmlp_model_sut *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->stop = 1;
    pthread_cond_broadcast(&m->not_empty);
    pthread_cond_broadcast(&m->not_full);
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < m->started; i++) pthread_join(m->workers[i].thread, NULL);
    /* workers is NULL when its calloc failed (create calls us on every failure) */
    for (int i = 0; m->workers && i < m->n_workers; i++) {
        tmlp_session_destroy(m->workers[i].session);
        free(m->workers[i].rows);
        free(m->workers[i].predictions);
        free(m->workers[i].mine);
    }
    tmlp_session_destroy(m->issuer.session);
    free(m->issuer.rows);
    free(m->issuer.predictions);
    free(m->issuer.mine);
    pthread_cond_destroy(&m->idle);
    pthread_cond_destroy(&m->not_full);
    pthread_cond_destroy(&m->not_empty);
    pthread_mutex_destroy(&m->mu);
    free(m->workers);
    free(m->items);
    free(m->samples);
    free(m);
}

tmlp_status tmlp_model_sut_create(const tmlp_model *model, const tmlp_dataset *data, int workers,
                                  int64_t max_batch, tmlp_model_sut **out, tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: out is NULL");
    *out = NULL;
    if (!model || !data) return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: model and data must not be NULL");
    if (workers < 1 || workers > 256)
        return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: workers must be in [1, 256] (got %d)", workers);
    if (max_batch < 1 || max_batch > (1 << 24))
        return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: max_batch must be in [1, 2^24] (got %lld)",
                              (long long)max_batch);
    if (data->count < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: the data set is empty");
    if ((data->dtype == TMLP_DTYPE_U8 && !data->u8) || (data->dtype == TMLP_DTYPE_F32 && !data->f32) ||
        (data->dtype != TMLP_DTYPE_U8 && data->dtype != TMLP_DTYPE_F32))
        return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: the data set must hold u8 or f32 samples");
    int64_t in_w = tmlp_model_input_width(model);
    if (data->width != in_w)
        return tmlp_error_set(err, TMLP_ERR_SHAPE, "model_sut: data width %lld does not match the model input %lld",
                              (long long)data->width, (long long)in_w);

    /* A label the model cannot predict is a mismatched data set, not an accuracy of 0 for
     * that class (labels up to 255 against 3 outputs would draw a 256 x 256 matrix). */
    int64_t classes = tmlp_model_output_width(model);
    for (int64_t i = 0; data->labels && i < data->count; i++)
        if (data->labels[i] < 0 || data->labels[i] >= classes)
            return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: label %d of sample %lld is outside the model's "
                                  "%lld classes (0..%lld): wrong data set for this model?", (int)data->labels[i],
                                  (long long)i, (long long)classes, (long long)(classes - 1));

    tmlp_model_sut *m = calloc(1, sizeof *m);
    if (!m) return tmlp_error_set(err, TMLP_ERR_NOMEM, "model_sut: out of memory");
    m->model = model;
    m->data = data;
    m->max_batch = max_batch;
    m->width = in_w;
    m->out_width = tmlp_model_output_width(model);
    m->n_workers = workers;
    atomic_init(&m->pending, 0);
    atomic_init(&m->dispatch, TMLP_DISPATCH_AUTO);
    atomic_init(&m->idle_spin_ns, tmlp_wait_spin_budget(workers + 1, IDLE_SPIN_NS, NULL, 0));
    /* tmlp_model_sut_destroy (called on every later failure) destroys all four: a failed
     * init is undone here, before destroy can see a half-initialised object */
    int made = 0;
    if (pthread_mutex_init(&m->mu, NULL) == 0 && ++made && pthread_cond_init(&m->not_empty, NULL) == 0 &&
        ++made && pthread_cond_init(&m->not_full, NULL) == 0 && ++made && pthread_cond_init(&m->idle, NULL) == 0)
        made++;
    if (made < 4) {
        if (made > 2) pthread_cond_destroy(&m->not_full);
        if (made > 1) pthread_cond_destroy(&m->not_empty);
        if (made > 0) pthread_mutex_destroy(&m->mu);
        free(m);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "model_sut: cannot create the queue's mutex");
    }

    /* Queue: starts at 256 items / max(1024, 4 x max_batch) samples and grows on demand. */
    size_t rows_bytes;
    if (!tmlp_size_mul((size_t)max_batch, sizeof(const float *), &rows_bytes)) {
        tmlp_model_sut_destroy(m);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "model_sut: buffer sizes overflow");
    }
    m->icap = 256;
    m->scap = 4 * max_batch > 1024 ? 4 * max_batch : 1024;
    m->items = malloc((size_t)m->icap * sizeof *m->items);
    m->samples = malloc((size_t)m->scap * sizeof *m->samples);
    m->workers = calloc((size_t)workers, sizeof *m->workers);
    if (!m->items || !m->samples || !m->workers) {
        tmlp_model_sut_destroy(m);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "model_sut: out of memory for the queue");
    }

    /* workers 0..n-1, then the issuing thread's own (the inline path) */
    for (int i = 0; i <= workers; i++) {
        worker *w = i < workers ? &m->workers[i] : &m->issuer;
        w->owner = m;
        tmlp_status st = tmlp_session_create(model, max_batch, &w->session, NULL);
        if (st != TMLP_OK) {
            tmlp_model_sut_destroy(m);
            return tmlp_error_set(err, st, "model_sut: cannot create the session of %s (max_batch %lld): %s",
                                  i < workers ? "a worker" : "the issuing thread", (long long)max_batch,
                                  tmlp_status_str(st));
        }
        w->rows = malloc(rows_bytes);
        w->predictions = malloc((size_t)max_batch * sizeof(int32_t));
        w->mine = malloc((size_t)max_batch * sizeof(tmlp_query_sample));
        if (!w->rows || !w->predictions || !w->mine) {
            tmlp_model_sut_destroy(m);
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "model_sut: out of memory for the buffers of %s",
                                  i < workers ? "a worker" : "the issuing thread");
        }
    }
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&m->workers[i].thread, NULL, worker_main, &m->workers[i]) != 0) {
            tmlp_model_sut_destroy(m);
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "model_sut: cannot start worker thread %d", i);
        }
        m->started++;
    }

    m->sut.user = m;
    m->sut.name = "model";
    m->sut.sample_count = data->count;
    m->sut.labels = data->labels;
    m->sut.issue = model_issue;
    m->sut.flush = NULL;
    m->sut.drain = model_drain;
    m->sut.cancel = model_cancel;
    *out = m;
    return TMLP_OK;
}

const tmlp_sut *tmlp_model_sut_callbacks(tmlp_model_sut *m) { return m ? &m->sut : NULL; }

tmlp_status tmlp_model_sut_set_threads(tmlp_model_sut *m, int threads, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_sut_set_threads: m is NULL");
    for (int i = 0; i < m->n_workers; i++) {
        tmlp_status st = tmlp_session_set_threads(m->workers[i].session, threads, err);
        if (st != TMLP_OK) return st;
    }
    /* the inline path computes on the issuing thread's own session: the same split there */
    return tmlp_session_set_threads(m->issuer.session, threads, err);
}

int tmlp_model_sut_threads(const tmlp_model_sut *m)
{
    return m && m->n_workers > 0 ? tmlp_session_threads(m->workers[0].session) : 1;
}

int64_t tmlp_model_sut_idle_spin_ns(const tmlp_model_sut *m)
{
    return m ? atomic_load_explicit(&m->idle_spin_ns, memory_order_relaxed) : 0;
}

void tmlp_model_sut_set_idle_spin_ns(tmlp_model_sut *m, int64_t ns)
{
    if (!m) return;
    if (ns < 0) ns = tmlp_wait_spin_budget(m->n_workers + 1, IDLE_SPIN_NS, NULL, 0);
    if (ns > IDLE_SPIN_MAX_NS) ns = IDLE_SPIN_MAX_NS;
    atomic_store_explicit(&m->idle_spin_ns, ns, memory_order_relaxed);
}

static const char *const dispatch_names[] = {"auto", "inline", "workers"};

const char *tmlp_sut_dispatch_name(tmlp_sut_dispatch d)
{
    return (unsigned)d <= TMLP_DISPATCH_WORKERS ? dispatch_names[d] : "unknown";
}

tmlp_status tmlp_sut_dispatch_parse(const char *name, tmlp_sut_dispatch *out, tmlp_error *err)
{
    for (int d = 0; name && out && d <= TMLP_DISPATCH_WORKERS; d++)
        if (!strcmp(name, dispatch_names[d])) {
            *out = (tmlp_sut_dispatch)d;
            return TMLP_OK;
        }
    return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: dispatch \"%s\" is not one of auto, inline, workers",
                          name ? name : "(null)");
}

tmlp_status tmlp_model_sut_set_dispatch(tmlp_model_sut *m, tmlp_sut_dispatch d, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: set_dispatch: m is NULL");
    if ((unsigned)d > TMLP_DISPATCH_WORKERS)
        return tmlp_error_set(err, TMLP_ERR_ARG, "model_sut: set_dispatch: unknown dispatch %d", (int)d);
    atomic_store_explicit(&m->dispatch, (int)d, memory_order_relaxed);
    return TMLP_OK;
}

tmlp_sut_dispatch tmlp_model_sut_dispatch(const tmlp_model_sut *m)
{
    return m ? (tmlp_sut_dispatch)atomic_load_explicit(&m->dispatch, memory_order_relaxed) : TMLP_DISPATCH_AUTO;
}
