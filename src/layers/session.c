/* session.c — tmlp_session: the per-thread working memory of a model, and the forward pass.
 *
 * Memory: ONE allocation at tmlp_session_create, carved into (each 64-byte aligned)
 *     [ struct | act[0]: max_batch x max_width | act[1]: same | staging: max_batch x in
 *       | scratch: max_batch x (largest scratch_floats of any layer) ]
 * act[0] and act[1] are ping-pong activation buffers: a Dense layer reads one and writes
 * the other; elementwise and row-wise layers work in place on whichever holds the current
 * activations. `staging` receives preprocessed uint8 input (forward_u8) and rows gathered
 * for a layer that cannot read them in place (forward_rows). `scratch` is for layers that
 * need working memory of their own (none of the built-in kinds does; usually empty). The
 * forward pass itself allocates nothing, so its cost is the math alone and it cannot fail
 * for lack of memory.
 *
 * The pass, for  Dense -> ReLU -> Dense -> Softmax  on input x:
 *     act[0] = max(x W1^T + b1, 0)     the ReLU runs in the Dense's epilogue (model.c fused
 *                                      it: the Dense's header has .epilogue = RELU)
 *     act[1] = act[0] W2^T + b2
 *     act[1] = softmax(act[1])         in place
 *     out    = view of act[1], (B, 10): valid until the next forward on this session
 * Layers that run nothing are skipped: one fused into a Dense (an activation in its
 * epilogue, a BatchNorm folded into its weights: fused_into >= 0) and passthrough ones
 * (dropout, identity). The caller's input is only read, never written, even by an
 * in-place layer; a model that runs nothing at all copies it into act[0].
 *
 * Rows that are not one block (a batch of samples picked from a data set): forward_rows
 * hands the row pointers to the first Dense layer, whose kernel reads each sample where
 * it lies, so the batch is never copied (a 256 x 784 batch is 800 KB, read once more and
 * written once per copy). When that layer cannot (BLAS above the crossover, BF16 / INT8)
 * the rows are gathered into `staging` and the pass runs as usual.
 *
 * Intra-op threads (tmlp_session_set_threads): the session may own a pool (pool.h) of
 * T - 1 workers, made once. A Dense layer whose split_ok says the batch is worth it runs
 * as T parts (forward_part: panel pairs at batch 1, 4-row groups above), the caller being
 * part 0; every other layer runs on the caller. The pool lives outside the session's one
 * block (its own allocation, freed by destroy after the workers are joined).
 */
#include "layer.h"

#include "bench/harness_internal.h"
#include "internal.h"
#include "kernels/kernels.h"
#include "pool.h"
#include "tinymlp/blas.h"

#include <sched.h>
#include <string.h>
#include <unistd.h>

struct tmlp_session {
    const tmlp_model *model;
    int64_t max_batch;
    size_t bytes;        /* the whole block, as allocated */
    float *act[2];       /* (max_batch, model->max_width) each */
    float *staging;      /* (max_batch, model->input_width) */
    float *scratch;      /* (max_batch, model->scratch_floats); NULL if no layer needs any */
    float u8_table[TMLP_U8_TABLE_FLOATS]; /* [v] = (float)((v * scale - mean) / std), in double; byte planes */
    tmlp_u8_lookup_fn u8_lookup; /* applies it: VBMI, AVX-512, AVX2 or scalar, from cpuid (same bits) */
    tmlp_pool *pool;     /* intra-op threads (tmlp_session_set_threads); NULL = one thread */
};

static size_t round_up64(size_t n) { return (n + 63) & ~(size_t)63; }

tmlp_status tmlp_session_create(const tmlp_model *model, int64_t max_batch,
                                tmlp_session **out, tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_session_create: out is NULL");
    *out = NULL;
    if (!model) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_session_create: model is NULL");
    if (max_batch < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "tmlp_session_create: max_batch %lld, it must be at least 1",
                              (long long)max_batch);
    if (model->n_layers == 0) /* nothing to run */
        return tmlp_error_set(err, TMLP_ERR_STATE,
                              "tmlp_session_create: the model has no layers yet (add one first)");

    /* Sizes table, then one allocation (+63 so the buffers can start on a cache line). */
    size_t act_elems, stage_elems, scratch_elems, act_bytes, stage_bytes, scratch_bytes, total;
    if (!tmlp_size_mul((size_t)max_batch, (size_t)model->max_width, &act_elems) ||
        !tmlp_size_mul((size_t)max_batch, (size_t)model->input_width, &stage_elems) ||
        !tmlp_size_mul((size_t)max_batch, model->scratch_floats, &scratch_elems) ||
        !tmlp_size_mul(act_elems, sizeof(float), &act_bytes) ||
        !tmlp_size_mul(stage_elems, sizeof(float), &stage_bytes) ||
        !tmlp_size_mul(scratch_elems, sizeof(float), &scratch_bytes) || act_bytes > SIZE_MAX / 8 ||
        stage_bytes > SIZE_MAX / 8 || scratch_bytes > SIZE_MAX / 8)
        return tmlp_error_set(err, TMLP_ERR_NOMEM,
                              "tmlp_session_create: buffers for max_batch %lld x width %lld "
                              "overflow the address space", (long long)max_batch,
                              (long long)model->max_width);
    act_bytes = round_up64(act_bytes);
    stage_bytes = round_up64(stage_bytes);
    scratch_bytes = round_up64(scratch_bytes);
    const size_t head = round_up64(sizeof(tmlp_session));
    total = head + 2 * act_bytes + stage_bytes + scratch_bytes + 63;

    void *block = tmlp_mem_alloc(&model->alloc, total);
    if (!block)
        return tmlp_error_set(err, TMLP_ERR_NOMEM,
                              "tmlp_session_create: out of memory for %zu bytes (max_batch %lld)",
                              total, (long long)max_batch);
    /* The struct sits at the block's start (so destroy frees the struct pointer); the
     * buffers start at the first cache line after it. */
    tmlp_session *s = block;
    memset(s, 0, sizeof *s);
    unsigned char *base = (unsigned char *)(((uintptr_t)block + head + 63) & ~(uintptr_t)63);
    s->model = model;
    s->max_batch = max_batch;
    s->bytes = total;
    s->act[0] = (float *)base;
    s->act[1] = (float *)(base + act_bytes);
    s->staging = (float *)(base + 2 * act_bytes);
    s->scratch = scratch_bytes ? (float *)(base + 2 * act_bytes + stage_bytes) : NULL;
    const tmlp_preprocess p = model->pre;
    tmlp_u8_table(p.scale, p.mean, p.std, s->u8_table);
    s->u8_lookup = tmlp_u8_lookup_function();

    /* Freeze the model: its shapes are now baked into this session. The model is never
     * defined const (create/load return a mutable object), so writing through the cast
     * is well defined; the flag is atomic so concurrent session_create calls are fine. */
    atomic_store_explicit(&((tmlp_model *)model)->sessions_created, 1, memory_order_relaxed);
    *out = s;
    return TMLP_OK;
}

void tmlp_session_destroy(tmlp_session *s)
{
    if (!s) return;
    tmlp_pool_destroy(s->pool, &s->model->alloc);
    tmlp_mem_free(&s->model->alloc, s);
}

/* CPUs this process may run on (affinity mask; else the online count; at least 1). */
static int usable_cpus(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

tmlp_status tmlp_session_set_threads(tmlp_session *s, int threads, tmlp_error *err)
{
    if (!s) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_session_set_threads: s is NULL");
    if (threads < 0 || threads > TMLP_SESSION_MAX_THREADS)
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "tmlp_session_set_threads: %d threads, expected 0 (auto) to %d", threads,
                              TMLP_SESSION_MAX_THREADS);
    if (threads == 0) threads = usable_cpus();
    if (threads > TMLP_SESSION_MAX_THREADS) threads = TMLP_SESSION_MAX_THREADS;
    if (threads == tmlp_pool_threads(s->pool)) return TMLP_OK;
    tmlp_pool_destroy(s->pool, &s->model->alloc);
    s->pool = NULL;
    if (threads == 1) return TMLP_OK;
    /* Spin before blocking only if every thread of ours can have a core (wait.c). */
    const int64_t spin = tmlp_wait_spin_budget(threads, 50000, NULL, 0);
    tmlp_status st = tmlp_pool_create(&s->model->alloc, threads, spin, &s->pool, err);
    if (st != TMLP_OK) return st;
    /* Our T threads may each call OpenBLAS (above the crossover): one BLAS thread each,
     * so the two pools never run more threads than T (process-wide: docs/c-api.md). */
    (void)tmlp_blas_set_threads(1, NULL);
    return TMLP_OK;
}

int tmlp_session_threads(const tmlp_session *s) { return s ? tmlp_pool_threads(s->pool) : 0; }

int64_t tmlp_session_max_batch(const tmlp_session *s) { return s ? s->max_batch : 0; }
size_t tmlp_session_bytes(const tmlp_session *s) { return s ? s->bytes : 0; }

/* A layer the session runs: not fused into a Dense, not a passthrough (layer.h). */
static int layer_runs(const tmlp_layer *l)
{
    return l->fused_into < 0 && !l->ops->passthrough;
}

/* One layer over the pool: the job every part reads (on the caller's stack). */
typedef struct split_job {
    const tmlp_layer *l;
    const float *x;
    const float *const *xp;
    float *y;
    int64_t batch;
} split_job;

static void split_part(void *arg, int part, int parts)
{
    const split_job *j = arg;
    j->l->ops->forward_part(j->l, j->x, j->xp, j->y, j->batch, j->l->epilogue, part, parts);
}

/* Run l on the pool if the session has one and the layer can split this batch; 1 if so. */
static int run_split(tmlp_session *s, const tmlp_layer *l, const float *x, const float *const *xp,
                     float *y, int64_t batch)
{
    if (!s->pool || !l->ops->forward_part || !l->ops->split_ok(l, batch)) return 0;
    split_job j = {l, x, xp, y, batch};
    tmlp_pool_run(s->pool, split_part, &j);
    return 1;
}

/* y = layer l (with its fused activation, if any) of x. */
static void run_layer(tmlp_session *s, const tmlp_layer *l, const float *x, float *y, int64_t batch)
{
    if (run_split(s, l, x, NULL, y, batch)) return;
    if (l->epilogue.act != TMLP_ACT_NONE)
        l->ops->forward_act(l, x, y, batch, l->epilogue);
    else
        l->ops->forward(l, x, y, batch, s->scratch);
}

/* Run layers first.. on cur, held by act[cur_buf] (-1: the caller's input or staging);
 * returns the final activations, always in the session's memory. If layer_ns is non-NULL,
 * layer i's wall time goes to layer_ns[i] (0 for a layer that runs nothing). */
static const float *run_layers(tmlp_session *s, const float *cur, int cur_buf, int first,
                               int64_t batch, uint64_t *layer_ns)
{
    const tmlp_model *m = s->model;
    for (int i = first; i < m->n_layers; i++) {
        const tmlp_layer *l = m->layers[i];
        if (!layer_runs(l)) {
            if (layer_ns) layer_ns[i] = 0;
            continue;
        }
        const uint64_t t0 = layer_ns ? tmlp_time_now_ns() : 0;
        /* In place when allowed and cur is ours; otherwise into the other buffer. */
        const int dst = (l->ops->in_place && cur_buf >= 0) ? cur_buf : (cur_buf == 0 ? 1 : 0);
        float *y = s->act[dst];
        run_layer(s, l, cur, y, batch);
        if (layer_ns) layer_ns[i] = tmlp_time_now_ns() - t0;
        cur = y;
        cur_buf = dst;
    }
    if (cur_buf < 0 && cur != s->staging) { /* nothing ran: the output is still the input */
        memcpy(s->act[0], cur, (size_t)(batch * m->output_width) * sizeof(float));
        cur = s->act[0];
    }
    return cur;
}

/* Which act[] holds p (-1: neither). The caller may pass a previous output of this very
 * session back in (a view into act[k]): the pass then starts from k so that no layer
 * writes the buffer it is reading. */
static int act_holding(const tmlp_session *s, const void *p)
{
    const uintptr_t px = (uintptr_t)p, act_span = (uintptr_t)s->act[1] - (uintptr_t)s->act[0];
    for (int k = 0; k < 2; k++)
        if (px >= (uintptr_t)s->act[k] && px - (uintptr_t)s->act[k] < act_span) return k;
    return -1;
}

/* Every layer on x:(batch, input_width). */
static const float *run(tmlp_session *s, const float *x, int64_t batch, uint64_t *layer_ns)
{
    return run_layers(s, x, act_holding(s, x), 0, batch, layer_ns);
}

/* Every layer on rows xp[0..batch): layer 0 reads them in place if it can (see top), else
 * they are gathered into staging first. */
static const float *run_rows(tmlp_session *s, const float *const *xp, int64_t batch)
{
    const tmlp_model *m = s->model;
    int f = 0; /* the first layer that runs */
    while (f + 1 < m->n_layers && !layer_runs(m->layers[f])) f++;
    const tmlp_layer *l = m->layers[f];
    if (layer_runs(l) && l->ops->rows_ok && l->ops->rows_ok(l, batch)) {
        if (!run_split(s, l, NULL, xp, s->act[0], batch))
            l->ops->forward_rows(l, xp, s->act[0], batch, l->epilogue);
        return run_layers(s, s->act[0], 0, f + 1, batch, NULL);
    }
    const size_t row = (size_t)m->input_width * sizeof(float);
    for (int64_t i = 0; i < batch; i++) memcpy((char *)s->staging + (size_t)i * row, xp[i], row);
    return run(s, s->staging, batch, NULL);
}

/* Samples picked at random from a data set are in L3 or DRAM, and a 784-byte row is too
 * short for the hardware prefetcher to catch: asking for row i + U8_AHEAD while row i is
 * preprocessed took the forward of 256 random rows of a 7.8 MB u8 set from ~575 to
 * ~512 us on Zen 5 (rows in cache: ~505; 1, 2, 4, 8 ahead: 4 about best). */
#define U8_AHEAD 4
static void prefetch_row(const uint8_t *row, int64_t bytes)
{
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(row + b);
}

/* Every layer on raw u8 rows: each preprocessed straight into its row of staging (one pass
 * instead of a gather, then the preprocessing), then the pass. */
static const float *run_u8_rows(tmlp_session *s, const uint8_t *const *rows, int64_t batch)
{
    const int64_t w = s->model->input_width;
    for (int64_t i = 0; i < batch; i++) {
        if (i + U8_AHEAD < batch) prefetch_row(rows[i + U8_AHEAD], w);
        s->u8_lookup(rows[i], s->u8_table, s->staging + i * w, w);
    }
    return run(s, s->staging, batch, NULL);
}

/* 1 <= batch <= max_batch, else an error naming the call (fn) and both numbers. */
static tmlp_status check_batch(const tmlp_session *s, int64_t batch, const char *fn,
                               tmlp_error *err)
{
    if (batch < 1)
        return tmlp_error_set(err, TMLP_ERR_SHAPE, "%s: batch %lld, it must be at least 1", fn,
                              (long long)batch);
    if (batch > s->max_batch)
        return tmlp_error_set(err, TMLP_ERR_BATCH,
                              "%s: batch %lld, the session was created for at most %lld", fn,
                              (long long)batch, (long long)s->max_batch);
    return TMLP_OK;
}

/* Row pointers for forward_rows / forward_u8_rows: none NULL, none inside this session's
 * block (a layer would overwrite a row it has yet to read), batch in [1, max_batch]. */
static tmlp_status check_rows(const tmlp_session *s, const float *const *frows,
                              const uint8_t *const *urows, int64_t batch, const char *fn,
                              tmlp_error *err)
{
    tmlp_status st = check_batch(s, batch, fn, err);
    if (st != TMLP_OK) return st;
    const uintptr_t lo = (uintptr_t)s, hi = lo + s->bytes;
    for (int64_t i = 0; i < batch; i++) {
        const uintptr_t r = frows ? (uintptr_t)frows[i] : (uintptr_t)urows[i];
        if (!r) return tmlp_error_set(err, TMLP_ERR_ARG, "%s: rows[%lld] is NULL", fn, (long long)i);
        if (r >= lo && r < hi)
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "%s: rows[%lld] points into the session's own buffers (an "
                                  "earlier output?): copy it out first", fn, (long long)i);
    }
    return TMLP_OK;
}

/* Check `in` against the session: F32, (B, in_width) or (in_width), 1 <= B <= max_batch.
 * Shape errors name the expected and the actual value. */
static tmlp_status check_input(const tmlp_session *s, const tmlp_tensor *in, int64_t *batch,
                               tmlp_error *err)
{
    if (!in->data) return tmlp_error_set(err, TMLP_ERR_ARG, "forward: input data is NULL");
    if (in->dtype != TMLP_DTYPE_F32)
        return tmlp_error_set(err, TMLP_ERR_SHAPE, "forward: input dtype %s, the model takes F32",
                              in->dtype == TMLP_DTYPE_F16    ? "F16"
                              : in->dtype == TMLP_DTYPE_BF16 ? "BF16"
                              : in->dtype == TMLP_DTYPE_U8   ? "U8 (use tmlp_session_forward_u8)"
                                                             : "unknown");
    int64_t b, w;
    if (in->ndim == 1) {
        b = 1;
        w = in->shape[0];
    } else if (in->ndim == 2) {
        b = in->shape[0];
        w = in->shape[1];
    } else {
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "forward: input has %d dimensions, the model takes 1 (width) or "
                              "2 (batch, width)", (int)in->ndim);
    }
    if (w != s->model->input_width)
        return tmlp_error_set(err, TMLP_ERR_SHAPE, "forward: input width %lld, the model takes %lld",
                              (long long)w, (long long)s->model->input_width);
    tmlp_status st = check_batch(s, b, "forward", err);
    if (st == TMLP_OK) *batch = b;
    return st;
}

static void set_output(const tmlp_session *s, const float *y, int64_t batch, tmlp_tensor *out)
{
    *out = tmlp_tensor_2d(y, batch, s->model->output_width);
}

tmlp_status tmlp_session_forward(tmlp_session *s, const tmlp_tensor *in, tmlp_tensor *out,
                                 tmlp_error *err)
{
    if (!s || !in || !out)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_session_forward: %s is NULL",
                              !s ? "session" : !in ? "in" : "out");
    int64_t batch;
    tmlp_status st = check_input(s, in, &batch, err);
    if (st != TMLP_OK) return st;
    set_output(s, run(s, in->data, batch, NULL), batch, out);
    return TMLP_OK;
}

tmlp_status tmlp_session_forward_profiled(tmlp_session *s, const tmlp_tensor *in,
                                          tmlp_tensor *out, uint64_t *layer_ns,
                                          tmlp_error *err)
{
    if (!s || !in || !out || !layer_ns)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_session_forward_profiled: %s is NULL",
                              !s ? "session" : !in ? "in" : !out ? "out" : "layer_ns");
    int64_t batch;
    tmlp_status st = check_input(s, in, &batch, err);
    if (st != TMLP_OK) return st;
    set_output(s, run(s, in->data, batch, layer_ns), batch, out);
    return TMLP_OK;
}

tmlp_status tmlp_session_forward_u8(tmlp_session *s, const uint8_t *raw, int64_t batch,
                                    tmlp_tensor *out, tmlp_error *err)
{
    if (!s || !raw || !out)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_session_forward_u8: %s is NULL",
                              !s ? "session" : !raw ? "raw" : "out");
    tmlp_status st = check_batch(s, batch, "forward", err);
    if (st != TMLP_OK) return st;
    /* x = (raw * scale - mean) / std through a 256-entry table: exact (computed in double,
     * rounded once), looked up 16 pixels at a time where AVX-512 exists (avx512.c). */
    s->u8_lookup(raw, s->u8_table, s->staging, batch * s->model->input_width);
    set_output(s, run(s, s->staging, batch, NULL), batch, out);
    return TMLP_OK;
}

tmlp_status tmlp_session_forward_rows(tmlp_session *s, const float *const *rows, int64_t batch,
                                      tmlp_tensor *out, tmlp_error *err)
{
    if (!s || !rows || !out)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_session_forward_rows: %s is NULL",
                              !s ? "session" : !rows ? "rows" : "out");
    tmlp_status st = check_rows(s, rows, NULL, batch, "forward_rows", err);
    if (st != TMLP_OK) return st;
    set_output(s, run_rows(s, rows, batch), batch, out);
    return TMLP_OK;
}

tmlp_status tmlp_session_forward_u8_rows(tmlp_session *s, const uint8_t *const *rows,
                                         int64_t batch, tmlp_tensor *out, tmlp_error *err)
{
    if (!s || !rows || !out)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_session_forward_u8_rows: %s is NULL",
                              !s ? "session" : !rows ? "rows" : "out");
    tmlp_status st = check_rows(s, NULL, rows, batch, "forward_u8_rows", err);
    if (st != TMLP_OK) return st;
    set_output(s, run_u8_rows(s, rows, batch), batch, out);
    return TMLP_OK;
}

