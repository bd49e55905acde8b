/* dense_by_hand.c — step 2: a Dense layer as three nested loops, checked against the
 * engine and timed against it.
 *
 *     y = x W^T + b      x:(B, in)  W:(out, in)  b:(out)  y:(B, out)
 *     y[r][o] = b[o] + sum_i x[r][i] * W[o][i]
 *
 * The engine computes the same thing with one BLAS call (cblas_sgemm, or cblas_sgemv
 * when B == 1; src/layers/dense.c). The sums are added in another order there, so the
 * two agree to float rounding, not bit for bit. The loops are the lesson; BLAS is why the
 * engine is several times faster (blocking for the caches, SIMD, fused multiply-add).
 *
 *     cc dense_by_hand.c $(pkg-config --cflags --libs tinymlp) -o dense_by_hand
 * Next: build_model.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <tinymlp.h>

enum { B = 16, IN = 784, OUT = 256, REPS = 50 };

/* The naive layer: for each row r of the batch and each output o, one dot product. */
static void dense_naive(const float *x, const float *W, const float *b, float *y)
{
    for (int r = 0; r < B; r++)                 /* row r of x and of y */
        for (int o = 0; o < OUT; o++) {         /* output o: row o of W */
            float acc = b[o];
            for (int i = 0; i < IN; i++) acc += x[r * IN + i] * W[o * IN + i];
            y[r * OUT + o] = acc;
        }
}

int main(void)
{
    float *W = malloc(sizeof(float) * OUT * IN), *b = malloc(sizeof(float) * OUT);
    float *x = malloc(sizeof(float) * B * IN), *y = malloc(sizeof(float) * B * OUT);
    if (!W || !b || !x || !y) return 1;
    tmlp_rng rng;                               /* seeded: the same numbers everywhere */
    tmlp_rng_seed(&rng, 42);
    for (int k = 0; k < OUT * IN; k++) W[k] = (float)(tmlp_rng_uniform(&rng) - 0.5) * 0.07f;
    for (int k = 0; k < OUT; k++) b[k] = (float)(tmlp_rng_uniform(&rng) - 0.5);
    for (int k = 0; k < B * IN; k++) x[k] = (float)tmlp_rng_uniform(&rng);

    /* The engine: a model of this one layer (W and b are copied in). */
    tmlp_model *m = NULL;
    tmlp_session *s = NULL;
    tmlp_error err;
    tmlp_blas_set_threads(1, NULL);             /* one thread each: a fair race */
    if (tmlp_model_create(IN, NULL, &m, &err) != TMLP_OK ||
        tmlp_model_add_dense(m, IN, OUT, W, b, &err) != TMLP_OK ||
        tmlp_session_create(m, B, &s, &err) != TMLP_OK) {
        fprintf(stderr, "dense_by_hand: %s\n", err.message);
        return 1;
    }
    tmlp_tensor in = tmlp_tensor_2d(x, B, IN), out;

    /* Check: the largest difference, relative to the size of the outputs. */
    dense_naive(x, W, b, y);
    if (tmlp_session_forward(s, &in, &out, &err) != TMLP_OK) {
        fprintf(stderr, "dense_by_hand: %s\n", err.message);
        return 1;
    }
    double worst = 0;
    for (int k = 0; k < B * OUT; k++) {
        double d = fabs((double)y[k] - out.data[k]) / (1.0 + fabs((double)y[k]));
        if (d > worst) worst = d;
    }
    printf("largest relative difference: %.2e (float rounding: below 1e-5)\n", worst);

    /* Time: REPS runs each, the best one (the least disturbed by the rest of the machine). */
    uint64_t best_naive = UINT64_MAX, best_engine = UINT64_MAX;
    for (int rep = 0; rep < REPS; rep++) {
        uint64_t t0 = tmlp_time_now_ns();
        dense_naive(x, W, b, y);
        uint64_t t1 = tmlp_time_now_ns();
        tmlp_session_forward(s, &in, &out, NULL);
        uint64_t t2 = tmlp_time_now_ns();
        if (t1 - t0 < best_naive) best_naive = t1 - t0;
        if (t2 - t1 < best_engine) best_engine = t2 - t1;
    }
    printf("batch %d, %d -> %d: loops %.1f us, engine %.1f us (%.1fx)\n", B, IN, OUT,
           best_naive / 1e3, best_engine / 1e3, (double)best_naive / (double)best_engine);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    free(W), free(b), free(x), free(y);
    return worst < 1e-5 ? 0 : 1;
}
