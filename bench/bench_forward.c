/* bench_forward.c — forward-pass micro-benchmark: the engine against a hand-written
 * OpenBLAS forward on the same weights, side by side in one run.
 *
 * Models (tmlp_model_random, seed 1): small 784-128-10, mnist 784-512-512-10,
 * large 1024-4096-4096-1024; every one is Dense+ReLU ... Dense+Softmax.
 * Metrics, 1 BLAS thread: batch-1 latency (median and p99 of per-call times) and
 * batch-32 / batch-256 throughput (samples/s, median over rounds).
 *
 * "hand" is what one would write with no framework: plain arrays (weights copied out of
 * the model), sgemv at batch 1, sgemm above, a branch-free bias+ReLU loop, softmax at the
 * end. The engine differs only by its API: input checks, the layer table, the session.
 * Drift (turbo, neighbours on a shared machine) is cancelled by interleaving: each round
 * runs an engine block and a hand block, alternating which goes first, and the ratio
 * engine/hand is computed from the same rounds.
 *
 * Usage: bench_forward [--quick]     (~60 s; --quick ~5 s with fewer, shorter rounds)
 * Not a test: numbers depend on the machine; nothing here is asserted.
 */
#include "tinymlp.h"
#include "layers/model_internal.h"

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
        tmlp_model_layer_info(m, 2 * i, &li);
        tmlp_model_dense_params(m, 2 * i, &w, &b);
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

typedef struct subject {
    tmlp_session *s;
    const hand_mlp *h;
    const float *x;
    int64_t in;
} subject;

/* This thread's CPU time: unlike wall time it does not count the time the thread sat
 * descheduled on a busy machine, so its engine/hand ratio survives neighbours' load. */
static uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static volatile float sink; /* keeps the compiler from discarding results */

/* One forward of side `hand` (0 = engine, 1 = hand) at `batch`. */
static void one(const subject *sub, int hand, int batch)
{
    if (hand) {
        sink = hand_forward(sub->h, sub->x, batch)[0];
    } else {
        tmlp_tensor in = tmlp_tensor_2d((float *)sub->x, batch, sub->in), out;
        if (tmlp_session_forward(sub->s, &in, &out) != TMLP_OK) {
            fprintf(stderr, "bench_forward: forward failed\n");
            exit(1);
        }
        sink = out.data[0];
    }
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    if (k < 1) k = 1;
    return v[k - 1];
}

/* Mean seconds per call, from a warm-up of at least 3 calls and ~min_s seconds. */
static double warmup(const subject *sub, int batch, double min_s)
{
    for (int side = 0; side < 2; side++) one(sub, side, batch);
    uint64_t t0 = tmlp_time_now_ns();
    long n = 0;
    do {
        one(sub, n & 1, batch);
        n++;
    } while (n < 3 || (double)(tmlp_time_now_ns() - t0) * 1e-9 < min_s);
    return (double)(tmlp_time_now_ns() - t0) * 1e-9 / (double)n;
}

typedef struct lat_result {
    double p50_us[2], p99_us[2];
    double cpu_ratio; /* median over rounds of engine/hand CPU time per call */
    long calls;
} lat_result;

static lat_result measure_latency(const subject *sub, int rounds, double budget_s)
{
    const double per_call = warmup(sub, 1, budget_s * 0.05);
    long per_block = (long)(budget_s / (2.0 * rounds) / per_call);
    if (per_block < 5) per_block = 5;
    const size_t total = (size_t)per_block * (size_t)rounds;
    uint64_t *t[2] = {xalloc(total * sizeof(uint64_t)), xalloc(total * sizeof(uint64_t))};
    size_t k[2] = {0, 0};
    double *cpu_ratio = xalloc((size_t)rounds * sizeof(double));
    for (int r = 0; r < rounds; r++) {
        uint64_t cpu[2];
        for (int o = 0; o < 2; o++) {
            const int side = (r + o) & 1; /* alternate who goes first */
            const uint64_t c0 = cpu_now_ns();
            for (long i = 0; i < per_block; i++) {
                const uint64_t a = tmlp_time_now_ns();
                one(sub, side, 1);
                t[side][k[side]++] = tmlp_time_now_ns() - a;
            }
            cpu[side] = cpu_now_ns() - c0;
        }
        cpu_ratio[r] = (double)cpu[0] / (double)cpu[1];
    }
    lat_result res;
    res.calls = (long)total;
    qsort(cpu_ratio, (size_t)rounds, sizeof(double), cmp_dbl);
    res.cpu_ratio = cpu_ratio[rounds / 2];
    free(cpu_ratio);
    for (int side = 0; side < 2; side++) {
        qsort(t[side], total, sizeof(uint64_t), cmp_u64);
        res.p50_us[side] = (double)pct(t[side], total, 50) * 1e-3;
        res.p99_us[side] = (double)pct(t[side], total, 99) * 1e-3;
        free(t[side]);
    }
    return res;
}

typedef struct tput_result {
    double sps[2];   /* median over rounds of samples/s */
    double ratio;    /* median over rounds of engine/hand samples/s, paired per round */
    double cpu_ratio;/* same, from CPU time (engine/hand samples per CPU second) */
    long calls;
} tput_result;

static tput_result measure_throughput(const subject *sub, int batch, int rounds, double budget_s)
{
    const double per_call = warmup(sub, batch, budget_s * 0.05);
    long per_block = (long)(budget_s / (2.0 * rounds) / per_call);
    if (per_block < 1) per_block = 1;
    double *sps[2] = {xalloc((size_t)rounds * sizeof(double)), xalloc((size_t)rounds * sizeof(double))};
    double *ratio = xalloc((size_t)rounds * sizeof(double));
    double *cpu_ratio = xalloc((size_t)rounds * sizeof(double));
    for (int r = 0; r < rounds; r++) {
        uint64_t cpu[2];
        for (int o = 0; o < 2; o++) {
            const int side = (r + o) & 1;
            const uint64_t a = tmlp_time_now_ns(), c0 = cpu_now_ns();
            for (long i = 0; i < per_block; i++) one(sub, side, batch);
            cpu[side] = cpu_now_ns() - c0;
            const double s = (double)(tmlp_time_now_ns() - a) * 1e-9;
            sps[side][r] = (double)batch * (double)per_block / s;
        }
        ratio[r] = sps[0][r] / sps[1][r];
        cpu_ratio[r] = (double)cpu[1] / (double)cpu[0]; /* samples per CPU-second, engine/hand */
    }
    tput_result res;
    res.calls = per_block * rounds;
    for (int side = 0; side < 2; side++) {
        qsort(sps[side], (size_t)rounds, sizeof(double), cmp_dbl);
        res.sps[side] = sps[side][rounds / 2];
        free(sps[side]);
    }
    qsort(ratio, (size_t)rounds, sizeof(double), cmp_dbl);
    res.ratio = ratio[rounds / 2];
    free(ratio);
    qsort(cpu_ratio, (size_t)rounds, sizeof(double), cmp_dbl);
    res.cpu_ratio = cpu_ratio[rounds / 2];
    free(cpu_ratio);
    return res;
}

static void fmt_sps(char *buf, size_t cap, double v)
{
    if (v >= 1e6) snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e3) snprintf(buf, cap, "%.1fk", v / 1e3);
    else snprintf(buf, cap, "%.0f", v);
}

int main(int argc, char **argv)
{
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    tmlp_blas_set_threads(1);
    tmlp_blas_info bi;
    tmlp_blas_get_info(&bi);
    printf("bench_forward: engine vs hand-written OpenBLAS forward, same weights, 1 BLAS thread%s\n",
           quick ? " (--quick)" : "");
    printf("BLAS: %s | core %s | OPENBLAS_CORETYPE=%s | threads %d\n", bi.version, bi.core,
           bi.coretype_env[0] ? bi.coretype_env : "(unset)", bi.threads);
    if (bi.advice[0]) printf("WARNING: %s\n", bi.advice);

    static const int64_t small[] = {784, 128, 10}, mnist[] = {784, 512, 512, 10},
                         large[] = {1024, 4096, 4096, 1024};
    const struct {
        const char *name;
        const int64_t *w;
        int n;
        double weight; /* share of the time budget */
    } models[] = {{"small 784-128-10", small, 3, 1.0},
                  {"mnist 784-512-512-10", mnist, 4, 1.0},
                  {"large 1024-4096-4096-1024", large, 4, 1.6}};
    const int rounds = quick ? 3 : 10;
    const double cell_s = quick ? 0.3 : 4.5; /* per (model, metric), both sides together */
    const int max_batch = 256;

    printf("\n%-26s %-20s %12s %12s %8s %8s\n", "model", "metric", "engine", "hand", "eng/hand",
           "cpu e/h");
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        tmlp_model *m;
        tmlp_error err;
        if (tmlp_model_random(models[mi].w, models[mi].n, 1, NULL, &m, &err) != TMLP_OK) {
            fprintf(stderr, "bench_forward: %s\n", err.message);
            return 1;
        }
        tmlp_session *s;
        if (tmlp_session_create(m, max_batch, &s) != TMLP_OK) {
            fprintf(stderr, "bench_forward: cannot create a session\n");
            return 1;
        }
        hand_mlp h = hand_from_model(m, max_batch);
        const int64_t in = tmlp_model_input_width(m);
        float *x = xalloc((size_t)max_batch * (size_t)in * sizeof(float));
        tmlp_rng r;
        tmlp_rng_seed(&r, 7);
        for (int64_t i = 0; i < max_batch * in; i++) x[i] = (float)tmlp_rng_normal(&r);
        subject sub = {s, &h, x, in};

        /* The two sides must compute the same thing (same BLAS calls, same epilogue). */
        tmlp_tensor tin = tmlp_tensor_2d(x, 4, in), tout;
        tmlp_session_forward(s, &tin, &tout);
        const float *hy = hand_forward(&h, x, 4);
        double maxdiff = 0;
        for (int64_t i = 0; i < 4 * tmlp_model_output_width(m); i++)
            maxdiff = fmax(maxdiff, fabs((double)tout.data[i] - (double)hy[i]));

        const double budget = cell_s * models[mi].weight;
        lat_result lr = measure_latency(&sub, rounds, budget);
        printf("%-26s %-20s %10.2fus %10.2fus %8.3f %8.3f\n", models[mi].name, "batch-1 p50",
               lr.p50_us[0], lr.p50_us[1], lr.p50_us[0] / lr.p50_us[1], lr.cpu_ratio);
        printf("%-26s %-20s %10.2fus %10.2fus %8.3f\n", "", "batch-1 p99", lr.p99_us[0], lr.p99_us[1],
               lr.p99_us[0] / lr.p99_us[1]);
        const int batches[2] = {32, 256};
        for (int bi2 = 0; bi2 < 2; bi2++) {
            tput_result tr = measure_throughput(&sub, batches[bi2], rounds, budget);
            char e[32], hs[32], label[32];
            fmt_sps(e, sizeof e, tr.sps[0]);
            fmt_sps(hs, sizeof hs, tr.sps[1]);
            snprintf(label, sizeof label, "batch-%d samples/s", batches[bi2]);
            printf("%-26s %-20s %12s %12s %8.3f %8.3f\n", "", label, e, hs, tr.ratio, tr.cpu_ratio);
        }
        printf("%-26s %-20s %12.1e\n", "", "max |engine-hand|", maxdiff);
        fflush(stdout);
        free(x);
        hand_free(&h);
        tmlp_session_destroy(s);
        tmlp_model_destroy(m);
    }
    printf("\neng/hand: latency ratio (>1 = engine slower); throughput ratio = paired per-round "
           "median (<1 = engine slower).\ncpu e/h: the same ratios from this thread's CPU time "
           "(mean per call for batch 1), which\nignores time spent descheduled on a loaded machine.\n");
    return 0;
}
