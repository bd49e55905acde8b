/* bench_forward.c — forward-pass micro-benchmark: the engine with each of its Dense
 * kernels against a hand-written OpenBLAS forward on the same weights, in one run.
 *
 * Models (tmlp_model_random, seed 1): 784-128-10, 784-256-128-10 (the shipped model's
 * shape), 784-512-512-10, and with --large 1024-4096-4096-1024; every one is
 * Dense+ReLU ... Dense+Softmax. 1 BLAS thread.
 *
 * Columns ("sides"), all on the same weights and input:
 *   hand    what one would write with no framework: plain arrays, sgemv at batch 1, sgemm
 *           above, a branch-free bias+ReLU loop, softmax at the end;
 *   engine  the engine as shipped (kernel from cpuid up to the crossover, BLAS above);
 *   scalar, avx2, avx512, blas   the engine with that kernel forced at every batch size
 *           (tmlp_model_options.kernel); a kernel this CPU lacks prints "n/a";
 *   read    one plain read of as many bytes as the model's F32 weights, and the roof:
 *           engine time / read time (1.00 = the forward runs at the memory roof).
 * Above each model's rows, the dispatch rule: the caches read (tmlp_cpu_cache_get), where
 * the weights live, and each Dense layer's kernel up to its crossover.
 * Drift (turbo, neighbours on a shared machine) is cancelled by interleaving: each round
 * runs one block of calls per side, in an order rotated every round, and each ratio
 * hand/side is taken per round (same seconds of the machine) and then the median.
 * Time is this thread's CPU time, which does not count time spent descheduled.
 *
 * Usage: bench_forward [--quick] [--large] [--threads N] [--sweep[=avx2|scalar]] [--lowp] [--u8] [--p99]
 *   --threads N  one more column, "engine xN": the engine's session on N intra-op threads
 *             (tmlp_session_set_threads), timed in wall time (its workers' CPU time is not
 *             this thread's); engine / engine xN is the speed-up of N threads.
 *   --sweep   instead of the table, the crossover: the best own kernel (or the one named)
 *             vs blas per batch size, per model (docs/kernels.md: how the rule was chosen).
 *   --lowp    instead of the table, batch 1 at F32, BF16 and INT8 on each vector kernel
 *             (avx2, avx512) of 784-256-128-10 and 784-512-512-10: us per forward and the
 *             ratios F32/BF16 and F32/INT8 (median of the per-round ratios).
 *   --u8      instead of the table, the u8 input stage at batch 256: tmlp_session_forward_u8_rows
 *             on rows picked at random from a 60,000 x 784 u8 set (Fashion-MNIST's shape)
 *             against the stage alone (the same gather + table lookup into a buffer) and the
 *             f32 forward on already preprocessed rows; share = stage / u8 forward.
 *   --p99     instead of the table, batch-1 wall latency percentiles per call of the hand
 *             sgemv forward and the engine (same 64 rows, and rows picked at random from
 *             4096), interleaved in blocks of 1000 calls: where a tail comes from.
 * Not a test: numbers depend on the machine; nothing here is asserted.
 */
#include "tinymlp.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

/* --- The hand-written forward --------------------------------------------------------- */

typedef struct hand_layer {
    int in, out;
    float *w; /* (out, in) */
    float *b; /* (out) */
} hand_layer;

typedef struct hand_mlp {
    int n;
    hand_layer *l;
    float *buf[2]; /* (max_batch, widest) */
} hand_mlp;

static void hand_bias_relu(float *restrict y, const float *restrict b, int n)
{
    int j = 0;
#if defined(__SSE__)
    const __m128 z = _mm_setzero_ps();
    for (; j + 4 <= n; j += 4)
        _mm_storeu_ps(y + j, _mm_max_ps(_mm_add_ps(_mm_loadu_ps(y + j), _mm_loadu_ps(b + j)), z));
#endif
    for (; j < n; j++) {
        float v = y[j] + b[j];
        y[j] = v > 0.0f ? v : 0.0f;
    }
}

static void hand_bias_softmax(float *restrict y, const float *restrict b, int n)
{
    float m = -INFINITY, s = 0.0f;
    for (int j = 0; j < n; j++) {
        y[j] += b[j];
        m = y[j] > m ? y[j] : m;
    }
    for (int j = 0; j < n; j++) {
        y[j] = expf(y[j] - m);
        s += y[j];
    }
    for (int j = 0; j < n; j++) y[j] /= s;
}

static const float *hand_forward(const hand_mlp *h, const float *x, int batch)
{
    const float *cur = x;
    for (int i = 0; i < h->n; i++) {
        const hand_layer *L = &h->l[i];
        float *y = h->buf[i & 1];
        if (batch == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, L->out, L->in, 1.0f, L->w, L->in, cur, 1, 0.0f, y, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, L->out, L->in, 1.0f, cur, L->in,
                        L->w, L->in, 0.0f, y, L->out);
        for (int r = 0; r < batch; r++) {
            if (i + 1 < h->n) hand_bias_relu(y + (size_t)r * L->out, L->b, L->out);
            else hand_bias_softmax(y + (size_t)r * L->out, L->b, L->out);
        }
        cur = y;
    }
    return cur;
}

static void *xalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "bench_forward: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* Copy the Dense layers of a tmlp_model_random model (linear,relu,...,linear,softmax). */
static hand_mlp hand_from_model(const tmlp_model *m, int max_batch)
{
    hand_mlp h;
    h.n = (tmlp_model_layer_count(m) + 1) / 2;
    h.l = xalloc((size_t)h.n * sizeof *h.l);
    int64_t widest = 0;
    for (int i = 0; i < h.n; i++) {
        tmlp_layer_info li;
        const float *w, *b;
        tmlp_model_layer_info(m, 2 * i, &li, NULL);
        tmlp_model_dense_params(m, 2 * i, &w, &b, NULL);
        hand_layer *L = &h.l[i];
        L->in = (int)li.in_width;
        L->out = (int)li.out_width;
        L->w = xalloc((size_t)L->in * (size_t)L->out * sizeof(float));
        L->b = xalloc((size_t)L->out * sizeof(float));
        memcpy(L->w, w, (size_t)L->in * (size_t)L->out * sizeof(float));
        memcpy(L->b, b, (size_t)L->out * sizeof(float));
        if (li.out_width > widest) widest = li.out_width;
    }
    for (int k = 0; k < 2; k++) h.buf[k] = xalloc((size_t)max_batch * (size_t)widest * sizeof(float));
    return h;
}

static void hand_free(hand_mlp *h)
{
    for (int i = 0; i < h->n; i++) {
        free(h->l[i].w);
        free(h->l[i].b);
    }
    free(h->l);
    free(h->buf[0]);
    free(h->buf[1]);
}

/* --- Measurement ---------------------------------------------------------------------- */

/* SIDE_READ is no forward: one plain read of as many bytes as the model's F32 weights
 * (tmlp_stream_sum with the engine's widest loads), the memory roof of the shape. */
enum { SIDE_HAND, SIDE_ENGINE, SIDE_SCALAR, SIDE_AVX2, SIDE_AVX512, SIDE_BLAS, SIDE_READ, SIDE_THREADS, N_SIDES };
static const char *const side_names[N_SIDES] = {"hand", "engine", "scalar", "avx2", "avx512", "blas", "read", "engine xN"};
static const tmlp_kernel side_kernel[N_SIDES] = {TMLP_KERNEL_BLAS, TMLP_KERNEL_AUTO,
                                                 TMLP_KERNEL_SCALAR, TMLP_KERNEL_AVX2,
                                                 TMLP_KERNEL_AVX512, TMLP_KERNEL_BLAS,
                                                 TMLP_KERNEL_AUTO, TMLP_KERNEL_AUTO};
static int g_threads; /* --threads N (0: no such column) */

typedef struct bench_model {
    tmlp_model *m[N_SIDES];   /* NULL for hand, or for a kernel the CPU lacks */
    tmlp_session *s[N_SIDES];
    hand_mlp h;
    float *x;
    int64_t in;
    double flops_per_sample;
    float *wread;        /* SIDE_READ's buffer: the bytes of the model's F32 weights */
    size_t wread_n;      /* its floats */
    tmlp_kernel read_k;  /* the kernel whose loads read it (the engine's) */
} bench_model;

/* This thread's CPU time: unlike wall time it does not count the time the thread sat
 * descheduled on a busy machine, so ratios survive neighbours' load. */
static uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Wall time, for the threaded side (its workers' CPU time is not this thread's). */
static uint64_t wall_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t side_now_ns(int side) { return side == SIDE_THREADS ? wall_now_ns() : cpu_now_ns(); }

static volatile float sink; /* keeps the compiler from discarding results */

static void one(const bench_model *b, int side, int batch)
{
    if (side == SIDE_HAND) {
        sink = hand_forward(&b->h, b->x, batch)[0];
        return;
    }
    if (side == SIDE_READ) {
        sink = tmlp_stream_sum(b->read_k, b->wread, b->wread_n);
        return;
    }
    tmlp_tensor in = tmlp_tensor_2d(b->x, batch, b->in), out;
    if (tmlp_session_forward(b->s[side], &in, &out, NULL) != TMLP_OK) {
        fprintf(stderr, "bench_forward: forward failed\n");
        exit(1);
    }
    sink = out.data[0];
}

static int cmp_dbl(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct cell {
    double us[N_SIDES];     /* median over rounds of CPU us per call; 0 = not run */
    double ratio[N_SIDES];  /* median over rounds of hand/side (> 1: side faster than hand) */
} cell;

/* Interleaved rounds over the sides in `use`, each block ~budget_s / (rounds * sides). */
static cell measure(const bench_model *b, const int *use, int batch, int rounds, double budget_s)
{
    int n_use = 0;
    double per_call[N_SIDES] = {0};
    for (int sd = 0; sd < N_SIDES; sd++) {
        if (!use[sd]) continue;
        n_use++;
        const uint64_t c0 = side_now_ns(sd);
        long n = 0;
        do { /* warm-up: caches, page faults, turbo */
            one(b, sd, batch);
            n++;
        } while (n < 3 || (double)(side_now_ns(sd) - c0) * 1e-9 < budget_s * 0.02);
        per_call[sd] = (double)(side_now_ns(sd) - c0) * 1e-9 / (double)n;
    }
    double us[N_SIDES][64], ratio[N_SIDES][64];
    if (rounds > 64) rounds = 64;
    for (int r = 0; r < rounds; r++) {
        for (int o = 0; o < N_SIDES; o++) {
            const int sd = (o + r) % N_SIDES; /* rotate who goes first */
            if (!use[sd]) continue;
            long calls = (long)(budget_s / rounds / n_use / per_call[sd]);
            if (calls < 2) calls = 2;
            const uint64_t c0 = side_now_ns(sd);
            for (long i = 0; i < calls; i++) one(b, sd, batch);
            us[sd][r] = (double)(side_now_ns(sd) - c0) * 1e-3 / (double)calls;
        }
        for (int sd = 0; sd < N_SIDES; sd++)
            if (use[sd]) ratio[sd][r] = us[SIDE_HAND][r] / us[sd][r];
    }
    cell c;
    memset(&c, 0, sizeof c);
    for (int sd = 0; sd < N_SIDES; sd++)
        if (use[sd]) {
            c.us[sd] = median(us[sd], rounds);
            c.ratio[sd] = median(ratio[sd], rounds);
        }
    return c;
}

static int bench_model_init(bench_model *b, const int64_t *widths, int n, int max_batch)
{
    memset(b, 0, sizeof *b);
    for (int sd = SIDE_ENGINE; sd < SIDE_READ; sd++) {
        if (!tmlp_kernel_available(side_kernel[sd])) continue;
        tmlp_model_options o = tmlp_model_options_default();
        o.kernel = side_kernel[sd];
        tmlp_error err;
        if (tmlp_model_random(widths, n, 1, &o, &b->m[sd], &err) != TMLP_OK) {
            fprintf(stderr, "bench_forward: %s\n", err.message);
            return -1;
        }
        if (tmlp_session_create(b->m[sd], max_batch, &b->s[sd], NULL) != TMLP_OK) {
            fprintf(stderr, "bench_forward: cannot create a session\n");
            return -1;
        }
    }
    if (g_threads > 0) { /* the engine's model, a second session on g_threads threads */
        tmlp_error err;
        if (tmlp_session_create(b->m[SIDE_ENGINE], max_batch, &b->s[SIDE_THREADS], NULL) != TMLP_OK ||
            tmlp_session_set_threads(b->s[SIDE_THREADS], g_threads, &err) != TMLP_OK) {
            fprintf(stderr, "bench_forward: --threads %d: %s\n", g_threads, err.message);
            return -1;
        }
    }
    b->h = hand_from_model(b->m[SIDE_BLAS], max_batch);
    b->in = widths[0];
    b->x = xalloc((size_t)max_batch * (size_t)b->in * sizeof(float));
    tmlp_rng r;
    tmlp_rng_seed(&r, 7);
    for (int64_t i = 0; i < max_batch * b->in; i++) b->x[i] = (float)tmlp_rng_normal(&r);
    for (int i = 0; i + 1 < n; i++) {
        b->flops_per_sample += 2.0 * (double)widths[i] * (double)widths[i + 1];
        b->wread_n += (size_t)widths[i] * (size_t)widths[i + 1];
    }
    b->wread = xalloc(b->wread_n * sizeof(float));
    tmlp_mem_advise_huge(b->wread, b->wread_n * sizeof(float)); /* as the engine's weights */
    for (size_t i = 0; i < b->wread_n; i++) b->wread[i] = 1.0f;
    tmlp_kernel_info ki;
    tmlp_model_kernel_info(b->m[SIDE_ENGINE], &ki, NULL);
    b->read_k = ki.kernel;
    return 0;
}

static void bench_model_free(bench_model *b)
{
    for (int sd = 0; sd < N_SIDES; sd++) tmlp_session_destroy(b->s[sd]); /* before their models */
    for (int sd = 0; sd < N_SIDES; sd++)
        if (sd != SIDE_THREADS) tmlp_model_destroy(b->m[sd]); /* THREADS shares ENGINE's */
    hand_free(&b->h);
    free(b->x);
    free(b->wread);
}

/* Largest |side - hand| over a batch of 5 rows (4-row group + remainder), every side. */
static double max_diff(const bench_model *b)
{
    const float *hy = hand_forward(&b->h, b->x, 5);
    double d = 0;
    const int64_t outw = tmlp_model_output_width(b->m[SIDE_BLAS]);
    for (int sd = SIDE_ENGINE; sd < N_SIDES; sd++) {
        if (!b->s[sd]) continue;
        tmlp_tensor in = tmlp_tensor_2d(b->x, 5, b->in), out;
        tmlp_session_forward(b->s[sd], &in, &out, NULL);
        for (int64_t i = 0; i < 5 * outw; i++) d = fmax(d, fabs((double)out.data[i] - (double)hy[i]));
    }
    return d;
}

typedef struct model_def {
    const char *name;
    const int64_t *w;
    int n;
} model_def;

/* The dispatch rule as the engine applied it to this model: where its weights live between
 * forwards (tmlp_weights_residency on the model's total bytes) and each Dense layer's path. */
static void print_rule(const char *name, const tmlp_model *m)
{
    tmlp_cpu_cache c;
    tmlp_cpu_cache_get(&c);
    size_t total = 0;
    const int n = tmlp_model_layer_count(m);
    for (int i = 0; i < n; i++) {
        tmlp_layer_info li;
        tmlp_model_layer_info(m, i, &li, NULL);
        total += li.weight_bytes;
    }
    printf("%-22s rule: weights %.1f MB -> %s;", name, (double)total / 1048576.0,
           tmlp_weights_residency(total, &c));
    for (int i = 0; i < n; i++) {
        tmlp_layer_info li;
        tmlp_model_layer_info(m, i, &li, NULL);
        if (li.kind != TMLP_LAYER_DENSE) continue;
        if (li.crossover == INT64_MAX) /* forced (options or TMLP_KERNELS): every batch */
            printf(" %lldx%lld: %s at every batch;", (long long)li.in_width, (long long)li.out_width,
                   tmlp_kernel_name(li.kernel));
        else
            printf(" %lldx%lld: %s b1..%lld, blas above;", (long long)li.in_width, (long long)li.out_width,
                   tmlp_kernel_name(li.kernel), (long long)li.crossover);
    }
    printf("\n");
}

static void run_table(const model_def *models, size_t n_models, int rounds, double cell_s)
{
    static const int batches[] = {1, 8, 32, 256};
    printf("\nCPU us per forward call (median of %d interleaved rounds); in brackets hand/column, "
           ">1 = faster than hand;\nread: one plain read of the model's F32 weight bytes; roof: "
           "engine / read (1.00 = at the memory roof at batch 1)\n", rounds);
    if (g_threads)
        printf("engine x%d: the engine on %d intra-op threads, WALL us per call (the other columns: "
               "this thread's CPU us); in brackets engine/engine x%d\n", g_threads, g_threads, g_threads);
    printf("%-22s %5s", "model", "batch");
    for (int sd = 0; sd < N_SIDES; sd++) {
        if (sd == SIDE_THREADS && !g_threads) continue;
        char name[32];
        snprintf(name, sizeof name, "engine x%d", g_threads);
        printf(" %17s", sd == SIDE_READ ? "read  roof" : sd == SIDE_THREADS ? name : side_names[sd]);
    }
    printf("\n");
    for (size_t mi = 0; mi < n_models; mi++) {
        bench_model b;
        if (bench_model_init(&b, models[mi].w, models[mi].n, 256) != 0) exit(1);
        print_rule(models[mi].name, b.m[SIDE_ENGINE]);
        for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
            const int batch = batches[bi];
            int use[N_SIDES];
            for (int sd = 0; sd < N_SIDES; sd++) use[sd] = sd == SIDE_HAND || sd == SIDE_READ || b.s[sd] != NULL;
            /* the scalar kernel at large batches of large models would take minutes */
            if (b.flops_per_sample * batch > 2e8) use[SIDE_SCALAR] = 0;
            cell c = measure(&b, use, batch, rounds, cell_s);
            printf("%-22s %5d", bi ? "" : models[mi].name, batch);
            for (int sd = 0; sd < N_SIDES; sd++) {
                if (sd == SIDE_THREADS && !g_threads) continue;
                if (sd == SIDE_THREADS) printf(" %9.2f (%5.2fx)", c.us[sd], c.us[SIDE_ENGINE] / c.us[sd]);
                else if (!use[sd]) printf(" %17s", "n/a");
                else if (sd == SIDE_HAND) printf(" %17.2f", c.us[sd]);
                else if (sd == SIDE_READ && batch == 1) /* roof: engine / one plain read of the weights */
                    printf(" %9.2f %5.2fx", c.us[sd], c.ratio[SIDE_READ] / c.ratio[SIDE_ENGINE]);
                else if (sd == SIDE_READ) printf(" %9.2f %6s", c.us[sd], "-");
                else printf(" %9.2f (%5.2fx)", c.us[sd], c.ratio[sd]);
            }
            printf("\n");
            fflush(stdout);
        }
        printf("%-22s max |column - hand| at batch 5: %.1e\n", "", max_diff(&b));
        bench_model_free(&b);
    }
}

/* The best own kernel against blas, batch by batch: where does BLAS start to win? */
static void run_sweep(const model_def *models, size_t n_models, int rounds, double cell_s, int own)
{
    static const int batches[] = {1, 2, 3, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256};
    printf("\ncrossover sweep: %s vs blas (engine, forced), CPU us per call, median of %d rounds\n",
           side_names[own], rounds);
    for (size_t mi = 0; mi < n_models; mi++) {
        bench_model b;
        if (bench_model_init(&b, models[mi].w, models[mi].n, 256) != 0) exit(1);
        printf("%s\n%6s %12s %12s %8s\n", models[mi].name, "batch", side_names[own], "blas", "blas/own");
        for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
            int use[N_SIDES] = {0};
            use[SIDE_HAND] = use[own] = use[SIDE_BLAS] = 1;
            cell c = measure(&b, use, batches[bi], rounds, cell_s);
            printf("%6d %12.2f %12.2f %8.3f\n", batches[bi], c.us[own], c.us[SIDE_BLAS],
                   c.ratio[own] / c.ratio[SIDE_BLAS]);
            fflush(stdout);
        }
        bench_model_free(&b);
    }
}

/* --- --lowp: F32, BF16 and INT8 at batch 1 on each vector kernel ---------------------- */

/* One forward of batch rows of x through s (exit on failure: a benchmark, not a library). */
static void forward_once(tmlp_session *s, const float *x, int64_t batch, int64_t in)
{
    tmlp_tensor t = tmlp_tensor_2d(x, batch, in), out;
    if (tmlp_session_forward(s, &t, &out, NULL) != TMLP_OK) {
        fprintf(stderr, "bench_forward: forward failed\n");
        exit(1);
    }
    sink = out.data[0];
}

/* us per call of each of n sessions (ROUNDS interleaved rounds, order rotated each round)
 * into us[i][r]; calls per block sized from a warm-up so a block takes ~block_s. */
static void rounds_of(tmlp_session *const *s, int n, const float *x, int64_t batch, int64_t in,
                      int rounds, double block_s, double us[][64])
{
    double per[8];
    for (int i = 0; i < n; i++) {
        const uint64_t c0 = cpu_now_ns();
        long k = 0;
        do forward_once(s[i], x, batch, in), k++;
        while (k < 3 || (double)(cpu_now_ns() - c0) * 1e-9 < block_s * 0.2);
        per[i] = (double)(cpu_now_ns() - c0) * 1e-9 / (double)k;
    }
    for (int r = 0; r < rounds; r++)
        for (int o = 0; o < n; o++) {
            const int i = (o + r) % n;
            long calls = (long)(block_s / per[i]);
            if (calls < 2) calls = 2;
            const uint64_t c0 = cpu_now_ns();
            for (long k = 0; k < calls; k++) forward_once(s[i], x, batch, in);
            us[i][r] = (double)(cpu_now_ns() - c0) * 1e-3 / (double)calls;
        }
}

static void run_lowp(const model_def *models, size_t n_models, int rounds, double block_s)
{
    static const tmlp_kernel ks[] = {TMLP_KERNEL_AVX2, TMLP_KERNEL_AVX512};
    static const tmlp_precision ps[] = {TMLP_PRECISION_F32, TMLP_PRECISION_BF16, TMLP_PRECISION_INT8};
    printf("\nbatch 1, CPU us per forward (median of %d interleaved rounds); ratios: median of the "
           "per-round F32 / reduced-precision times\n", rounds);
    printf("%-16s %-7s %-42s %9s %9s %9s %9s %9s\n", "model", "kernel", "paths (f32 / bf16 / int8)",
           "f32", "bf16", "int8", "f32/bf16", "f32/int8");
    for (size_t mi = 1; mi < n_models && mi < 3; mi++)
        for (int ki = 0; ki < 2; ki++) {
            if (!tmlp_kernel_available(ks[ki])) continue;
            tmlp_model *m[3] = {0};
            tmlp_session *s[3] = {0};
            char paths[3][32];
            for (int pi = 0; pi < 3; pi++) {
                tmlp_model_options o = tmlp_model_options_default();
                o.kernel = ks[ki];
                o.precision = ps[pi];
                tmlp_error err;
                if (tmlp_model_random(models[mi].w, models[mi].n, 1, &o, &m[pi], &err) != TMLP_OK ||
                    tmlp_session_create(m[pi], 1, &s[pi], &err) != TMLP_OK) {
                    fprintf(stderr, "bench_forward: %s\n", err.message);
                    exit(1);
                }
                tmlp_kernel_info ki_;
                snprintf(paths[pi], sizeof paths[pi], "%s",
                         tmlp_model_kernel_info(m[pi], &ki_, NULL) == TMLP_OK ? ki_.isa : "?");
            }
            const int64_t in = models[mi].w[0];
            float *x = xalloc((size_t)in * sizeof *x);
            for (int64_t i = 0; i < in; i++) x[i] = (float)((i * 37) % 101) / 101.0f;
            double us[3][64], rb[64], ri[64];
            rounds_of(s, 3, x, 1, in, rounds, block_s, us);
            for (int r = 0; r < rounds; r++) rb[r] = us[0][r] / us[1][r], ri[r] = us[0][r] / us[2][r];
            char pl[112];
            snprintf(pl, sizeof pl, "%s / %s / %s", paths[0], paths[1], paths[2]);
            const double f = median(us[0], rounds), b = median(us[1], rounds), q = median(us[2], rounds);
            printf("%-16s %-7s %-42s %9.2f %9.2f %9.2f %8.2fx %8.2fx\n", models[mi].name,
                   tmlp_kernel_name(ks[ki]), pl, f, b, q, median(rb, rounds), median(ri, rounds));
            fflush(stdout);
            free(x);
            for (int pi = 0; pi < 3; pi++) tmlp_session_destroy(s[pi]), tmlp_model_destroy(m[pi]);
        }
}

/* --- --u8: the u8 input stage's share of a batch-256 query ---------------------------- */

enum { U8_W = 784, U8_BATCH = 256, U8_AHEAD = 4 };

/* One data set of U8_ROWS rows: a table row per model. */
static void run_u8_set(const model_def *models, size_t n_models, int rounds, double block_s,
                       const int U8_ROWS)
{
    uint8_t *data = xalloc((size_t)U8_ROWS * U8_W);
    for (size_t i = 0; i < (size_t)U8_ROWS * U8_W; i++) data[i] = (uint8_t)((i * 2654435761u) >> 24);
    const uint8_t **rows = xalloc(U8_BATCH * sizeof *rows);
    uint64_t seed = 88172645463325252ull;
    float *staged = xalloc((size_t)U8_BATCH * U8_W * sizeof *staged), table[TMLP_PREPROCESS_TABLE_FLOATS];
    const tmlp_preprocess pp = {1, 1.0 / 255.0, 0.2860, 0.3530}; /* Fashion-MNIST's mean and std */
    tmlp_preprocess_table(&pp, table);
    printf("\nu8 input stage at batch %d: rows picked at random from a %d x %d u8 set (%.0f MB), "
           "CPU us per query, median of %d interleaved rounds\n"
           "stage: the gather + table lookup alone as the session runs it (tmlp_preprocess_u8, rows "
           "prefetched %d ahead); u8 query: tmlp_session_forward_u8_rows;\nf32 query: tmlp_session_forward on "
           "preprocessed rows; share = stage / u8 query; (u8-f32)/u8: the same by difference\n",
           U8_BATCH, U8_ROWS, U8_W, (double)U8_ROWS * U8_W / 1e6, rounds, U8_AHEAD);
    printf("%-16s %10s %10s %10s %8s %10s\n", "model", "stage", "u8 query", "f32 query", "share",
           "(u8-f32)/u8");
    for (size_t mi = 1; mi < n_models && mi < 3; mi++) {
        tmlp_model *m;
        tmlp_session *s;
        if (tmlp_model_random(models[mi].w, models[mi].n, 1, NULL, &m, NULL) != TMLP_OK ||
            tmlp_model_set_preprocess(m, 1.0 / 255.0, 0.2860, 0.3530, NULL) != TMLP_OK ||
            tmlp_session_create(m, U8_BATCH, &s, NULL) != TMLP_OK) {
            fprintf(stderr, "bench_forward: cannot build the u8 model\n");
            exit(1);
        }
        double us[3][64], share[64], ratio[64], per[3] = {0};
        for (int r = -1; r < rounds; r++) /* round -1: warm-up and sizing */
            for (int o = 0; o < 3; o++) {
                const int side = (o + (r < 0 ? 0 : r)) % 3;
                long calls = r < 0 ? 20 : (long)(block_s / per[side]);
                if (calls < 2) calls = 2;
                const uint64_t c0 = cpu_now_ns();
                for (long k = 0; k < calls; k++) {
                    for (int i = 0; i < U8_BATCH; i++) { /* a fresh random query each call */
                        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
                        rows[i] = data + (seed % U8_ROWS) * U8_W;
                    }
                    if (side == 0) {
                        for (int i = 0; i < U8_BATCH; i++) {
                            if (i + U8_AHEAD < U8_BATCH)
                                for (int b = 0; b < U8_W; b += 64) __builtin_prefetch(rows[i + U8_AHEAD] + b);
                            tmlp_preprocess_u8(table, rows[i], staged + i * U8_W, U8_W);
                        }
                        sink = staged[0];
                    } else if (side == 1) {
                        tmlp_tensor out;
                        if (tmlp_session_forward_u8_rows(s, rows, U8_BATCH, &out, NULL) != TMLP_OK) exit(1);
                        sink = out.data[0];
                    } else {
                        forward_once(s, staged, U8_BATCH, U8_W);
                    }
                }
                const double t = (double)(cpu_now_ns() - c0) * 1e-3 / (double)calls;
                if (r < 0) per[side] = t * 1e-6;
                else us[side][r] = t;
            }
        for (int r = 0; r < rounds; r++)
            share[r] = us[0][r] / us[1][r], ratio[r] = (us[1][r] - us[2][r]) / us[1][r];
        const double st = median(us[0], rounds), u8 = median(us[1], rounds), f = median(us[2], rounds);
        printf("%-16s %10.1f %10.1f %10.1f %7.1f%% %10.1f%%\n", models[mi].name, st, u8, f,
               100.0 * median(share, rounds), 100.0 * median(ratio, rounds));
        fflush(stdout);
        tmlp_session_destroy(s);
        tmlp_model_destroy(m);
    }
    free(data), free(rows), free(staged);
}

static void run_u8(const model_def *models, size_t n_models, int rounds, double block_s)
{
    run_u8_set(models, n_models, rounds, block_s, 10000); /* t10k: bench_mlp --data fashion */
    run_u8_set(models, n_models, rounds, block_s, 60000); /* the training set's size */
}

/* --- --p99: batch-1 latency tails, engine against the hand-written sgemv forward ------- */

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* LoadGen's percentile: sorted[floor(n p)] (v sorted in place). */
static double pct_us(uint64_t *v, long n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    long i = (long)((double)n * p);
    return (double)v[i < n ? i : n - 1] * 1e-3;
}

enum { P99_ROWS = 4096, P99_BLOCK = 1000 };

/* Per-call wall latency at batch 1 of three sides, interleaved in blocks of P99_BLOCK calls:
 * hand (sgemv forward, 64 rotating input rows, as bench/peers/hand_blas.c), engine on the
 * same 64 rows, and engine on a row picked at random from P99_ROWS rows (12.8 MB at 784
 * wide, as bench_mlp --data synthetic picks them). Same process, same seconds of the
 * machine: a tail that only one side shows is that side's. */
static void run_p99(const model_def *models, size_t n_models, int rounds)
{
    printf("\nbatch-1 wall latency per call (us), %d interleaved rounds of %d calls per side; "
           "p-th = sorted[floor(N p)]\n", rounds, P99_BLOCK);
    printf("%-16s %-22s %9s %9s %9s %9s %9s\n", "model", "side", "p50", "p90", "p99", "p99.9", "max");
    for (size_t mi = 1; mi < n_models && mi < 3; mi++) {
        bench_model b;
        if (bench_model_init(&b, models[mi].w, models[mi].n, 1) != 0) exit(1);
        const int64_t in = b.in;
        float *rows = xalloc((size_t)P99_ROWS * (size_t)in * sizeof *rows);
        for (int64_t i = 0; i < P99_ROWS * in; i++) rows[i] = (float)((i * 2654435761u) >> 8) / 16777216.0f;
        const long n = (long)rounds * P99_BLOCK;
        uint64_t *lat[3];
        for (int sd = 0; sd < 3; sd++) lat[sd] = xalloc((size_t)n * sizeof(uint64_t));
        uint64_t seed = 0x9E3779B97F4A7C15ull;
        for (int r = -1; r < rounds; r++) /* round -1: warm-up */
            for (int o = 0; o < 3; o++) {
                const int sd = (o + (r < 0 ? 0 : r)) % 3;
                for (long i = 0; i < P99_BLOCK; i++) {
                    const float *x = rows + (i % 64) * in;
                    if (sd == 2) {
                        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
                        x = rows + (int64_t)(seed % P99_ROWS) * in;
                    }
                    const uint64_t t0 = wall_now_ns();
                    if (sd == 0) sink = hand_forward(&b.h, x, 1)[0];
                    else forward_once(b.s[SIDE_ENGINE], x, 1, in);
                    const uint64_t t1 = wall_now_ns();
                    if (r >= 0) lat[sd][(long)r * P99_BLOCK + i] = t1 - t0;
                }
            }
        static const char *const names[3] = {"hand (sgemv, 64 rows)", "engine (64 rows)", "engine (random of 4096)"};
        for (int sd = 0; sd < 3; sd++) {
            const double p50 = pct_us(lat[sd], n, 0.5), p90 = pct_us(lat[sd], n, 0.9),
                         p99 = pct_us(lat[sd], n, 0.99), p999 = pct_us(lat[sd], n, 0.999);
            printf("%-16s %-22s %9.2f %9.2f %9.2f %9.2f %9.1f\n", sd ? "" : models[mi].name, names[sd],
                   p50, p90, p99, p999, (double)lat[sd][n - 1] * 1e-3);
        }
        fflush(stdout);
        for (int sd = 0; sd < 3; sd++) free(lat[sd]);
        free(rows);
        bench_model_free(&b);
    }
}

int main(int argc, char **argv)
{
    int quick = 0, large = 0, sweep = 0, lowp = 0, u8 = 0, p99 = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--lowp") == 0) lowp = 1;
        else if (strcmp(argv[i], "--u8") == 0) u8 = 1;
        else if (strcmp(argv[i], "--p99") == 0) p99 = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            g_threads = atoi(argv[++i]);
            if (g_threads < 1 || g_threads > 64) {
                fprintf(stderr, "bench_forward: --threads %s: need 1..64\n", argv[i]);
                return 2;
            }
        }
        else if (strcmp(argv[i], "--large") == 0) large = 1;
        else if (strcmp(argv[i], "--sweep") == 0) sweep = tmlp_kernel_available(TMLP_KERNEL_AVX512) ? SIDE_AVX512
                                                        : tmlp_kernel_available(TMLP_KERNEL_AVX2) ? SIDE_AVX2 : SIDE_SCALAR;
        else if (strcmp(argv[i], "--sweep=avx2") == 0) sweep = SIDE_AVX2;
        else if (strcmp(argv[i], "--sweep=scalar") == 0) sweep = SIDE_SCALAR;
        else if (strcmp(argv[i], "--version") == 0) {
            printf("bench_forward (tinymlp) %s\n", tmlp_version());
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--quick] [--large] [--threads N] [--sweep[=avx2|scalar]] [--lowp] [--u8] [--p99] [--version] [--help]\n"
                   "Forward latency and throughput: the engine against hand-written OpenBLAS calls\n"
                   "on the same weights, 1 BLAS thread. --quick: a few seconds instead of a minute.\n"
                   "--threads N: add the engine on N intra-op threads (wall time). --lowp: batch 1 at\n"
                   "F32/BF16/INT8 per vector kernel. --u8: the u8 input stage's share at batch 256.\n"
                   "--p99: batch-1 wall latency percentiles, engine vs hand-written sgemv.\n",
                   argv[0]);
            return 0;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--large] [--threads N] [--sweep[=avx2|scalar]] [--lowp] [--u8] [--p99] [--version] [--help]\n", argv[0]);
            return 2;
        }
    }
    if (sweep && !tmlp_kernel_available(side_kernel[sweep])) {
        fprintf(stderr, "bench_forward: kernel %s is not available on this CPU\n", side_names[sweep]);
        return 1;
    }
    tmlp_blas_set_threads(1, NULL);
    tmlp_blas_info bi;
    tmlp_blas_get_info(&bi);
    printf("bench_forward: engine kernels vs hand-written OpenBLAS forward, same weights, 1 BLAS thread%s\n",
           quick ? " (--quick)" : "");
    printf("BLAS: %s | core %s | OPENBLAS_CORETYPE=%s | threads %d\n", bi.version, bi.core,
           bi.coretype_env[0] ? bi.coretype_env : "(unset)", bi.threads);
    if (bi.advice[0]) printf("WARNING: %s\n", bi.advice);
    {
        tmlp_cpu_cache c;
        tmlp_cpu_cache_get(&c);
        printf("caches: L2 %zu KB, last level %zu KB (from %s); weights <= half a cache count as "
               "resident, beyond half the last level as streamed from DRAM (prefetched)\n",
               c.l2 >> 10, c.l3 >> 10, c.source);
    }
    {
        tmlp_model *m;
        static const int64_t w[] = {784, 128, 10};
        if (tmlp_model_random(w, 3, 1, NULL, &m, NULL) == TMLP_OK) {
            tmlp_kernel_info ki;
            tmlp_model_kernel_info(m, &ki, NULL);
            printf("kernels: engine runs %s (%s) up to batch %lld..%lld, available %s\n", ki.name,
                   ki.source, (long long)ki.crossover_min, (long long)ki.crossover_max, ki.available);
            tmlp_model_destroy(m);
        }
    }

    static const int64_t small[] = {784, 128, 10}, shipped[] = {784, 256, 128, 10},
                         mnist[] = {784, 512, 512, 10}, big[] = {1024, 4096, 4096, 1024};
    const model_def models[] = {{"784-128-10", small, 3},
                                {"784-256-128-10", shipped, 4},
                                {"784-512-512-10", mnist, 4},
                                {"1024-4096-4096-1024", big, 4}};
    const size_t n_models = large ? 4 : 3;
    const int rounds = quick ? 5 : 15;
    const double cell_s = quick ? 0.3 : 3.0;
    if (lowp) run_lowp(models, n_models, quick ? 5 : 21, quick ? 0.02 : 0.1);
    else if (u8) run_u8(models, n_models, quick ? 5 : 15, quick ? 0.03 : 0.2);
    else if (p99) run_p99(models, n_models, quick ? 5 : 40);
    else if (sweep) run_sweep(models, n_models, rounds, cell_s / 2, sweep);
    else run_table(models, n_models, rounds, cell_s);
    return 0;
}
