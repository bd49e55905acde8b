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
 * Usage: bench_forward [--quick] [--large] [--sweep[=avx2|scalar]]
 *   --sweep   instead of the table, the crossover: the best own kernel (or the one named)
 *             vs blas per batch size, per model (docs/kernels.md: how the rule was chosen).
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
enum { SIDE_HAND, SIDE_ENGINE, SIDE_SCALAR, SIDE_AVX2, SIDE_AVX512, SIDE_BLAS, SIDE_READ, N_SIDES };
static const char *const side_names[N_SIDES] = {"hand", "engine", "scalar", "avx2", "avx512", "blas", "read"};
static const tmlp_kernel side_kernel[N_SIDES] = {TMLP_KERNEL_BLAS, TMLP_KERNEL_AUTO,
                                                 TMLP_KERNEL_SCALAR, TMLP_KERNEL_AVX2,
                                                 TMLP_KERNEL_AVX512, TMLP_KERNEL_BLAS,
                                                 TMLP_KERNEL_AUTO};

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
        const uint64_t c0 = cpu_now_ns();
        long n = 0;
        do { /* warm-up: caches, page faults, turbo */
            one(b, sd, batch);
            n++;
        } while (n < 3 || (double)(cpu_now_ns() - c0) * 1e-9 < budget_s * 0.02);
        per_call[sd] = (double)(cpu_now_ns() - c0) * 1e-9 / (double)n;
    }
    double us[N_SIDES][64], ratio[N_SIDES][64];
    if (rounds > 64) rounds = 64;
    for (int r = 0; r < rounds; r++) {
        for (int o = 0; o < N_SIDES; o++) {
            const int sd = (o + r) % N_SIDES; /* rotate who goes first */
            if (!use[sd]) continue;
            long calls = (long)(budget_s / rounds / n_use / per_call[sd]);
            if (calls < 2) calls = 2;
            const uint64_t c0 = cpu_now_ns();
            for (long i = 0; i < calls; i++) one(b, sd, batch);
            us[sd][r] = (double)(cpu_now_ns() - c0) * 1e-3 / (double)calls;
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
    for (int sd = 0; sd < N_SIDES; sd++) {
        tmlp_session_destroy(b->s[sd]);
        tmlp_model_destroy(b->m[sd]);
    }
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
    for (int sd = SIDE_ENGINE; sd < SIDE_READ; sd++) {
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
    printf("%-22s %5s", "model", "batch");
    for (int sd = 0; sd < N_SIDES; sd++) printf(" %17s", sd == SIDE_READ ? "read  roof" : side_names[sd]);
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
                if (!use[sd]) printf(" %17s", "n/a");
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

int main(int argc, char **argv)
{
    int quick = 0, large = 0, sweep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--large") == 0) large = 1;
        else if (strcmp(argv[i], "--sweep") == 0) sweep = tmlp_kernel_available(TMLP_KERNEL_AVX512) ? SIDE_AVX512
                                                        : tmlp_kernel_available(TMLP_KERNEL_AVX2) ? SIDE_AVX2 : SIDE_SCALAR;
        else if (strcmp(argv[i], "--sweep=avx2") == 0) sweep = SIDE_AVX2;
        else if (strcmp(argv[i], "--sweep=scalar") == 0) sweep = SIDE_SCALAR;
        else if (strcmp(argv[i], "--version") == 0) {
            printf("bench_forward (tinymlp) %s\n", tmlp_version());
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--quick] [--large] [--sweep[=avx2|scalar]] [--version] [--help]\n"
                   "Forward latency and throughput: the engine against hand-written OpenBLAS calls\n"
                   "on the same weights, 1 BLAS thread. --quick: a few seconds instead of a minute.\n",
                   argv[0]);
            return 0;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--large] [--sweep[=avx2|scalar]] [--version] [--help]\n", argv[0]);
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
    if (sweep) run_sweep(models, n_models, rounds, cell_s / 2, sweep);
    else run_table(models, n_models, rounds, cell_s);
    return 0;
}
