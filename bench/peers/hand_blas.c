/* hand_blas.c — the hand-written OpenBLAS forward as a peer: what one writes with no
 * framework (plain arrays, sgemv at batch 1, sgemm above, a bias+ReLU loop, softmax at the
 * end), on the weights `peers.py dump-raw` extracted from the same .safetensors file. The
 * same forward as bench/bench_forward.c's "hand" side, measured like peers.py measures.
 *
 *     cc -O2 hand_blas.c -o hand_blas $(pkg-config --cflags --libs openblas) -lm
 *     OPENBLAS_NUM_THREADS=1 ./hand_blas MODEL.raw SECONDS BATCH SMALL_BATCH
 *
 * MODEL.raw: "TMHB", int32 n; per Dense layer int32 in, out, act (0 none, 1 ReLU,
 * 2 softmax), then float32 W (out, in) row-major and b (out); little-endian.
 * Prints one JSON line: framework "hand", single_stream (batch-1 latency p50/p99, LoadGen
 * rule sorted[floor(N*p)]), offline_small and offline (samples/s). Wall time, monotonic.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { int in, out, act; float *w, *b; } layer;
static int n_layers;
static layer *L;
static float *buf[2];

static void *xalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) { fprintf(stderr, "hand_blas: out of memory\n"); exit(1); }
    return p;
}

static void rd(FILE *f, void *p, size_t n)
{
    if (fread(p, 1, n, f) != n) { fprintf(stderr, "hand_blas: short read\n"); exit(1); }
}

static const float *forward(const float *x, int batch)
{
    const float *cur = x;
    for (int i = 0; i < n_layers; i++) {
        const layer *l = &L[i];
        float *y = buf[i & 1];
        if (batch == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, l->out, l->in, 1.0f, l->w, l->in, cur, 1, 0.0f, y, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, l->out, l->in, 1.0f, cur, l->in,
                        l->w, l->in, 0.0f, y, l->out);
        for (int r = 0; r < batch; r++) {
            float *v = y + (size_t)r * l->out;
            if (l->act == 1) {
                for (int j = 0; j < l->out; j++) { float t = v[j] + l->b[j]; v[j] = t > 0.0f ? t : 0.0f; }
            } else if (l->act == 2) {
                float m = -INFINITY, s = 0.0f;
                for (int j = 0; j < l->out; j++) { v[j] += l->b[j]; m = v[j] > m ? v[j] : m; }
                for (int j = 0; j < l->out; j++) { v[j] = expf(v[j] - m); s += v[j]; }
                for (int j = 0; j < l->out; j++) v[j] /= s;
            } else {
                for (int j = 0; j < l->out; j++) v[j] += l->b[j];
            }
        }
        cur = y;
    }
    return cur;
}

static int64_t now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static uint32_t seed = 7;
static float *inputs(int n, int width)
{
    float *a = xalloc((size_t)n * (size_t)width * sizeof(float));
    for (size_t i = 0; i < (size_t)n * (size_t)width; i++) {
        seed = seed * 1664525u + 1013904223u;
        a[i] = (float)(seed >> 8) / 16777216.0f;
    }
    return a;
}

static volatile float sink;

static double offline(const float *xs, int nb, int batch, int width, double seconds)
{
    for (int i = 0; i < 5; i++) sink = forward(xs + (size_t)(i % nb) * batch * width, batch)[0];
    int64_t t0 = now(), end = t0 + (int64_t)(seconds * 1e9), t1;
    long n = 0;
    for (;;) {
        sink = forward(xs + (size_t)(n % nb) * batch * width, batch)[0];
        n++;
        t1 = now();
        if (t1 >= end && n >= 8) break;
    }
    return (double)n * batch / ((double)(t1 - t0) / 1e9);
}

int main(int argc, char **argv)
{
    if (argc != 5) { fprintf(stderr, "usage: hand_blas MODEL.raw SECONDS BATCH SMALL_BATCH\n"); return 2; }
    double seconds = atof(argv[2]);
    int batch = atoi(argv[3]), small = atoi(argv[4]);
    FILE *f = fopen(argv[1], "rb");
    char magic[4];
    if (!f) { perror(argv[1]); return 1; }
    rd(f, magic, 4);
    if (memcmp(magic, "TMHB", 4)) { fprintf(stderr, "hand_blas: not a dump-raw file\n"); return 1; }
    int32_t n;
    rd(f, &n, 4);
    n_layers = n;
    L = xalloc((size_t)n * sizeof *L);
    int widest = 0;
    for (int i = 0; i < n; i++) {
        int32_t h[3];
        rd(f, h, sizeof h);
        L[i].in = h[0], L[i].out = h[1], L[i].act = h[2];
        L[i].w = xalloc((size_t)h[0] * (size_t)h[1] * sizeof(float));
        L[i].b = xalloc((size_t)h[1] * sizeof(float));
        rd(f, L[i].w, (size_t)h[0] * (size_t)h[1] * sizeof(float));
        rd(f, L[i].b, (size_t)h[1] * sizeof(float));
        if (h[1] > widest) widest = h[1];
    }
    fclose(f);
    int maxb = batch > small ? batch : small;
    buf[0] = xalloc((size_t)maxb * (size_t)widest * sizeof(float));
    buf[1] = xalloc((size_t)maxb * (size_t)widest * sizeof(float));
    int width = L[0].in;
    float *x1 = inputs(64, width), *xs = inputs(16 * small, width), *xb = inputs(4 * batch, width);

    for (int i = 0; i < 200; i++) sink = forward(x1 + (size_t)(i % 64) * width, 1)[0];
    size_t cap = 1 << 16, q = 0;
    int64_t *lat = malloc(cap * sizeof *lat), end = now() + (int64_t)(seconds * 1e9);
    for (;;) {
        int64_t t0 = now();
        sink = forward(x1 + (size_t)(q % 64) * width, 1)[0];
        int64_t t1 = now();
        if (q == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
        if (!lat) { fprintf(stderr, "hand_blas: out of memory\n"); return 1; }
        lat[q++] = t1 - t0;
        if (t1 >= end && q >= 1024) break;
    }
    qsort(lat, q, sizeof *lat, cmp64);
    int64_t p50 = lat[(size_t)(q * 0.5)], p99 = lat[(size_t)(q * 0.99)];
    double thr_small = offline(xs, 16, small, width, seconds);
    double thr = offline(xb, 4, batch, width, seconds);
    printf("{\"framework\": \"hand\", \"name\": \"hand-written OpenBLAS forward (%s)\", "
           "\"single_stream\": {\"queries\": %zu, \"p50_ns\": %lld, \"p99_ns\": %lld}, "
           "\"offline_small\": {\"batch\": %d, \"samples_per_s\": %.1f}, "
           "\"offline\": {\"batch\": %d, \"samples_per_s\": %.1f}}\n",
           openblas_get_config(), q, (long long)p50, (long long)p99, small, thr_small, batch, thr);
    return 0;
}
