/* test_kernels.c — our Dense kernels (src/kernels/) against the scalar reference and BLAS.
 *
 * For every kernel this machine has (the others are skipped and say so):
 *   - odd widths: in and out in {1, 3, 17, 63, 65, 1000}, batch 1, 6 and 11 (groups of 4
 *     rows and remainders of 1, 2 and 3), ReLU on and off;
 *   - every batch 1..300 on a 17 -> 65 layer (65 = a full panel and a 1-wide tail);
 *   - batch 1 on layers of 512 KB..1 MB of panels (784 -> 256, 784 -> 200: avx512 runs
 *     them two panels at a time, then the panels left over one at a time);
 *   - inputs and outputs at addresses that are not 16-byte aligned, and guard values
 *     around y proving that padding outputs are never stored;
 *   - the row-pointer twin of each kernel (rows scattered, not contiguous) gives the
 *     contiguous call's outputs bit for bit, and so does tmlp_session_forward_rows
 *     (zero copy on our kernels, gathered on BLAS) against tmlp_session_forward;
 *   - through the model API (tmlp_model_options.kernel): same argmax, the same error
 *     bound as below against the engine's BLAS path, at batch 1..300 in one session;
 *   - every activation of act.h in the epilogue of every path (F32, BF16, INT8), and
 *     tmlp_act_apply, against tmlp_act_scalar (bounds at "Activations in the epilogue").
 * Scalar itself is checked against float64 arithmetic. The error bound is the one a float
 * dot product can promise: |got - exact| <= 1e-5 * (|b| + sum_k |x_k w_jk|), i.e. relative
 * to the magnitude of the terms (a relative error next to a cancelling sum means nothing;
 * see test_reference.c). PyTorch agreement per kernel: meson runs test_reference and
 * test_fashion again with TMLP_KERNELS set to each kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "check.h"
#include "kernels/kernels.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-5
#define GUARD 16
#define GUARD_VALUE -12345.0f

static const int64_t WIDTHS[] = {1, 3, 17, 63, 65, 1000};
#define N_WIDTHS (sizeof WIDTHS / sizeof WIDTHS[0])

static void fill(float *v, int64_t n, uint64_t seed)
{
    tmlp_rng r;
    tmlp_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) v[i] = (float)(2.0 * tmlp_rng_uniform(&r) - 1.0);
}

/* exact[r][j] = b[j] + sum_k x[r][k] W[j][k] in double, mag = |b| + sum |terms|. */
static void exact(const float *x, const float *w, const float *b, int64_t batch, int64_t in,
                  int64_t out, int relu, double *y, double *mag)
{
    for (int64_t r = 0; r < batch; r++)
        for (int64_t j = 0; j < out; j++) {
            double s = b[j], m = fabs((double)b[j]);
            for (int64_t k = 0; k < in; k++) {
                s += (double)x[r * in + k] * w[j * in + k];
                m += fabs((double)x[r * in + k] * w[j * in + k]);
            }
            y[r * out + j] = relu && !(s > 0) ? 0.0 : s;
            mag[r * out + j] = m;
        }
}

/* Number of outputs outside the bound (first few printed). */
static int check_bound(const char *what, const float *got, const double *y, const double *mag,
                       int64_t n)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - y[i]) <= TOL * (mag[i] + 1e-30))) {
            if (bad++ < 5)
                fprintf(stderr, "  %s[%lld]: got %.9g exact %.9g (terms %.3g)\n", what, (long long)i,
                        got[i], y[i], mag[i]);
        }
    return bad;
}

/* Run kernel k on one layer shape and batch; x and y deliberately misaligned by one float. */
static void run_case(tmlp_kernel k, int64_t in, int64_t out, int64_t batch, int relu)
{
    tmlp_kernel_fn fn = tmlp_kernel_function(k);
    assert_non_null(fn);
    float *w = malloc((size_t)(in * out) * sizeof *w), *b = malloc((size_t)out * sizeof *b);
    float *xbuf = malloc((size_t)(batch * in + 1) * sizeof *xbuf);
    float *ybuf = malloc((size_t)(batch * out + 1 + 2 * GUARD) * sizeof *ybuf);
    double *ye = malloc((size_t)(batch * out) * sizeof *ye), *mag = malloc((size_t)(batch * out) * sizeof *mag);
    assert_true(w && b && xbuf && ybuf && ye && mag);
    float *x = xbuf + 1, *y = ybuf + 1 + GUARD;
    fill(w, in * out, 1000 + (uint64_t)in);
    fill(b, out, 2000 + (uint64_t)out);
    fill(x, batch * in, 3000 + (uint64_t)batch);
    for (int64_t i = 0; i < batch * out + 1 + 2 * GUARD; i++) ybuf[i] = GUARD_VALUE;

    tmlp_packed p;
    assert_int_equal(tmlp_packed_create(NULL, in, out, w, b, &p), TMLP_OK);
    assert_int_equal((uintptr_t)p.w % 64, 0);
    fn(&p, x, y, batch, relu ? TMLP_EPILOGUE_RELU : TMLP_EPILOGUE_NONE);
    /* the same rows by pointer, copied last to first into a buffer with a stride of in + 3
     * (not contiguous, not aligned, not in address order). Same position in the batch, same
     * bits: a kernel's rounding may depend on a row's position (batch-1 remainders sum even
     * and odd k apart), never on where the row lies. */
    tmlp_kernel_rows_fn rfn = tmlp_kernel_rows_function(k);
    assert_non_null(rfn);
    const float **xp = malloc((size_t)batch * sizeof *xp);
    float *xs = malloc((size_t)(batch * (in + 3)) * sizeof *xs);
    float *yr = malloc((size_t)(batch * out) * sizeof *yr);
    assert_true(xp && xs && yr);
    for (int64_t r = 0; r < batch; r++) {
        xp[r] = xs + (batch - 1 - r) * (in + 3) + 1;
        memcpy((float *)xp[r], x + r * in, (size_t)in * sizeof *x);
    }
    rfn(&p, xp, yr, batch, relu ? TMLP_EPILOGUE_RELU : TMLP_EPILOGUE_NONE);
    assert_memory_equal(yr, y, (size_t)(batch * out) * sizeof *y);
    free(xp), free(xs), free(yr);
    exact(x, w, b, batch, in, out, relu, ye, mag);
    char what[96];
    snprintf(what, sizeof what, "%s %lld->%lld b%lld relu%d", tmlp_kernel_name(k), (long long)in,
             (long long)out, (long long)batch, relu);
    assert_int_equal(check_bound(what, y, ye, mag, batch * out), 0);
    for (int g = 0; g < GUARD; g++) {
        assert_true(y[-1 - g] == GUARD_VALUE);
        assert_true(y[batch * out + g] == GUARD_VALUE);
    }
    tmlp_packed_destroy(NULL, &p);
    free(w), free(b), free(xbuf), free(ybuf), free(ye), free(mag);
}

static void need(tmlp_kernel k)
{
    if (!tmlp_kernel_available(k)) {
        print_message("SKIP: kernel %s: this CPU lacks it\n", tmlp_kernel_name(k));
        skip();
    }
}

static void odd_widths(tmlp_kernel k)
{
    need(k);
    const int64_t batches[] = {1, 6, 11};
    for (size_t i = 0; i < N_WIDTHS; i++)
        for (size_t o = 0; o < N_WIDTHS; o++)
            for (size_t bi = 0; bi < 3; bi++) {
                /* the 1000 x 1000 layer at one batch only: it is slow under sanitizers */
                if (WIDTHS[i] == 1000 && WIDTHS[o] == 1000 && bi > 0) continue;
                run_case(k, WIDTHS[i], WIDTHS[o], batches[bi], (int)(bi & 1));
            }
}

static void paired_panels(tmlp_kernel k)
{
    need(k);
    for (int relu = 0; relu < 2; relu++) {
        run_case(k, 784, 256, 1, relu);
        run_case(k, 784, 200, 1, relu);
    }
}

static void every_batch(tmlp_kernel k)
{
    need(k);
    for (int64_t batch = 1; batch <= 300; batch++) run_case(k, 17, 65, batch, (int)(batch & 1));
}

/* tmlp_session_forward_u8_rows (rows by pointer, preprocessed in one pass with prefetching)
 * gives the bits of tmlp_session_forward_u8 on the gathered rows at every batch, on a
 * 784 -> 256 layer (the avx512 kernel's two-panel path at batch 1) with the auto kernel at
 * F32, BF16 and INT8, forced to avx2, and forced to BLAS. */
static void test_u8_rows(void **st)
{
    (void)st;
    const int64_t widths[] = {784, 256, 10};
    /* auto F32, blas, auto BF16, auto INT8, avx2 F32 */
    static const char *const names[5] = {"auto", "blas", "auto bf16", "auto int8", "avx2"};
    for (int v = 0; v < 5; v++) {
        tmlp_model_options o = tmlp_model_options_default();
        if (v == 1) o.kernel = TMLP_KERNEL_BLAS;
        if (v == 2) o.precision = TMLP_PRECISION_BF16;
        if (v == 3) o.precision = TMLP_PRECISION_INT8;
        if (v == 4) {
            if (!tmlp_kernel_available(TMLP_KERNEL_AVX2)) continue;
            o.kernel = TMLP_KERNEL_AVX2;
        }
        tmlp_model *m;
        assert_int_equal(tmlp_model_random(widths, 3, 11, &o, &m, NULL), TMLP_OK);
        assert_int_equal(tmlp_model_set_preprocess(m, 1.0 / 255, 0.2860, 0.3530, NULL), TMLP_OK);
        tmlp_session *s;
        assert_int_equal(tmlp_session_create(m, 300, &s, NULL), TMLP_OK);
        uint8_t *data = malloc(300 * 784), *g = malloc(300 * 784);
        const uint8_t **rows = malloc(300 * sizeof *rows);
        float *want = malloc(300 * 10 * sizeof *want);
        assert_true(data && g && rows && want);
        for (int i = 0; i < 300 * 784; i++) data[i] = (uint8_t)(i * 131 + i / 784);
        for (int64_t batch = 1; batch <= 300; batch += batch < 40 ? 1 : 37) {
            for (int64_t r = 0; r < batch; r++) {
                rows[r] = data + (r * 7 % 300) * 784;
                memcpy(g + r * 784, rows[r], 784);
            }
            tmlp_tensor out;
            assert_int_equal(tmlp_session_forward_u8(s, g, batch, &out, NULL), TMLP_OK);
            memcpy(want, out.data, (size_t)batch * 10 * sizeof *want);
            assert_int_equal(tmlp_session_forward_u8_rows(s, rows, batch, &out, NULL), TMLP_OK);
            if (memcmp(out.data, want, (size_t)batch * 10 * sizeof *want))
                fail_msg("u8 rows %s b%lld: not the bits of forward_u8", names[v], (long long)batch);
        }
        free(data), free(g), free(rows), free(want);
        tmlp_session_destroy(s);
        tmlp_model_destroy(m);
    }
}

/* The model API with options.kernel = k, against the same model on BLAS, batch 1..300. */
static void through_model(tmlp_kernel k)
{
    need(k);
    const int64_t widths[] = {63, 130, 17, 10};
    tmlp_model_options o = tmlp_model_options_default();
    tmlp_model *mk, *mb;
    o.kernel = k;
    assert_int_equal(tmlp_model_random(widths, 4, 7, &o, &mk, NULL), TMLP_OK);
    o.kernel = TMLP_KERNEL_BLAS;
    assert_int_equal(tmlp_model_random(widths, 4, 7, &o, &mb, NULL), TMLP_OK);

    tmlp_kernel_info ki;
    assert_int_equal(tmlp_model_kernel_info(mk, &ki, NULL), TMLP_OK);
    assert_int_equal(ki.kernel, k);
    assert_string_equal(ki.source, "model options");
    assert_true(ki.crossover_min == INT64_MAX); /* forced: every batch */
    assert_true(ki.packed_bytes > 0);
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(mk, 0, &li, NULL), TMLP_OK);
    assert_int_equal(li.kernel, k);
    assert_true(li.packed_bytes >= li.weight_bytes);

    tmlp_session *sk, *sb;
    assert_int_equal(tmlp_session_create(mk, 300, &sk, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_create(mb, 300, &sb, NULL), TMLP_OK);
    float *x = malloc(300 * 63 * sizeof *x + sizeof *x), *g = malloc(300 * 63 * sizeof *g);
    const float **xp = malloc(300 * sizeof *xp);
    assert_true(x && g && xp);
    fill(x + 1, 300 * 63, 99);
    for (int64_t batch = 1; batch <= 300; batch++) {
        /* rows by pointer (a stride-7 walk over the 300 rows) against the same rows gathered:
         * bit for bit, on the kernel (read in place) and on BLAS (gathered by the session) */
        for (int64_t r = 0; r < batch; r++) {
            xp[r] = x + 1 + (r * 7 % 300) * 63;
            memcpy(g + r * 63, xp[r], 63 * sizeof *g);
        }
        tmlp_tensor gin = tmlp_tensor_2d(g, batch, 63), yg, yp;
        for (int m = 0; m < 2; m++) {
            tmlp_session *sm = m ? sb : sk;
            assert_int_equal(tmlp_session_forward(sm, &gin, &yg, NULL), TMLP_OK);
            float first[300 * 10];
            memcpy(first, yg.data, (size_t)batch * 10 * sizeof *first);
            assert_int_equal(tmlp_session_forward_rows(sm, xp, batch, &yp, NULL), TMLP_OK);
            assert_memory_equal(yp.data, first, (size_t)batch * 10 * sizeof *first);
        }
        tmlp_tensor in = tmlp_tensor_2d(x + 1, batch, 63), yk, yb;
        assert_int_equal(tmlp_session_forward(sk, &in, &yk, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward(sb, &in, &yb, NULL), TMLP_OK);
        /* softmax outputs in (0, 1): 1e-5 relative with a 1e-3 floor as test_reference.c */
        for (int64_t i = 0; i < batch * 10; i++)
            if (!(fabs(yk.data[i] - yb.data[i]) <= TOL * fmax(fabs(yb.data[i]), 1e-3)))
                fail_msg("%s b%lld [%lld]: %.9g vs blas %.9g", tmlp_kernel_name(k), (long long)batch,
                         (long long)i, yk.data[i], yb.data[i]);
        for (int64_t r = 0; r < batch; r++)
            assert_int_equal(tmlp_argmax(yk.data + r * 10, 10), tmlp_argmax(yb.data + r * 10, 10));
    }
    free(x), free(g), free(xp);
    tmlp_session_destroy(sk);
    tmlp_session_destroy(sb);
    tmlp_model_destroy(mk);
    tmlp_model_destroy(mb);
}

/* forward_u8's table lookups: the AVX2, AVX-512 and VBMI ones (those this CPU has) give the
 * scalar loop's bits for every byte value, at every length 0..80 (tails of 0..15) and
 * unaligned ends; tmlp_u8_lookup_function picks the widest. */
static void test_u8_lookup(void **st)
{
    (void)st;
#if !(defined(__x86_64__) && defined(__GNUC__))
    print_message("SKIP: u8 lookup avx2/avx512/vbmi: not an x86-64 build (scalar is the only one)\n");
    skip();
#else
    if (!tmlp_kernel_available(TMLP_KERNEL_AVX2)) {
        print_message("SKIP: u8 lookup avx2/avx512: this CPU lacks them (scalar is the only one)\n");
        skip();
    }
    const int wide = tmlp_kernel_available(TMLP_KERNEL_AVX512) != 0;
    const int vbmi = wide && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
    assert_ptr_equal(tmlp_u8_lookup_function(), vbmi ? tmlp_u8_lookup_vbmi
                                                : wide ? tmlp_u8_lookup_avx512 : tmlp_u8_lookup_avx2);
    if (!vbmi) print_message("SKIP: u8 lookup vbmi: this CPU lacks AVX512_VBMI\n");
    const tmlp_u8_lookup_fn fns[3] = {tmlp_u8_lookup_avx2, tmlp_u8_lookup_avx512, tmlp_u8_lookup_vbmi};
    float table[TMLP_U8_TABLE_FLOATS], want[1 + 600], got[1 + 600 + GUARD];
    uint8_t src[1 + 600];
    fill(table, 256, 77); /* random entries; then their byte planes, as tmlp_u8_table writes */
    for (int v = 0; v < 256; v++) {
        uint32_t u;
        memcpy(&u, &table[v], 4);
        for (int p = 0; p < 4; p++) ((uint8_t *)(table + 256))[256 * p + v] = (uint8_t)(u >> (8 * p));
    }
    for (int i = 0; i < 601; i++) src[i] = (uint8_t)(i * 37 + (i >> 3)); /* all 256 values */
    for (int f = 0; f < 1 + wide + vbmi; f++)
        for (int64_t n = 0; n <= 600; n += n < 80 ? 1 : 520) {
            for (int i = 0; i < 1 + 600 + GUARD; i++) got[i] = GUARD_VALUE;
            tmlp_u8_lookup_scalar(src + 1, table, want, n);
            fns[f](src + 1, table, got + 1, n);
            if (n) assert_memory_equal(got + 1, want, (size_t)n * sizeof *want);
            assert_true(got[0] == GUARD_VALUE && got[1 + n] == GUARD_VALUE);
        }
#endif
}

/* --- Activations in the epilogue ---------------------------------------------------------
 *
 * Every kernel path the CPU has x F32/BF16/INT8 x every activation, against the scalar kernel
 * of the same precision with NONE followed by tmlp_act_scalar (act.h's reference). Bound on
 * |got - ref| for output i, linear part yl_i (scalar, NONE) and reference ref_i = act(yl_i):
 *
 *     L * d_i + (u + 1) 2^-23 |ref_i| + FLT_MIN
 *
 *   d_i    how far the path's linear output may be from the scalar one: F32 1e-5 * mag_i
 *          (mag_i = |b| + sum |x w|, the float dot product's bound, as above); BF16
 *          1e-3 |yl_i| + 1e-6 mag_i (test_precision.c: the same products, other sum order);
 *          INT8 0 (integer sums and one fixed float epilogue: bit for bit);
 *   L      the activation's largest slope (GELU 1.13, SiLU 1.10, sigmoid 1/4, others 1 or
 *          max(1, |alpha|)), so d_i moves act(yl_i) by at most L d_i;
 *   u      the vector function's documented ulp bound (docs/kernels.md, test_vmath.c), plus
 *          one for the reference's rounding and the ulp/2^-23 slack; FLT_MIN: the absolute
 *          error allowed below it.
 * The scalar path must give the reference's bits. Widths 1, 7, 16, 17, 63, 64, 65, 200 (in and
 * out) at batch 1 and 5; batches 1..9, 33, 300 on 17 -> 65 and 200 -> 63; guards around y. */

typedef struct act_path {
    const char *name;
    tmlp_kernel kernel;     /* for tmlp_kernel_available */
    tmlp_kernel_fn fn[3];   /* F32, BF16, INT8 (NULL: none on this path) */
    int need_bw_native;     /* 1: AVX-512 BF16+VNNI+BW, 2: AVX-512BW (emulated lowp),
                             * 3: AVX-VNNI, 4: AVX512VL + AVX512_VNNI (the EVEX twin) */
} act_path;

static const act_path ACT_PATHS[] = {
    {"scalar", TMLP_KERNEL_SCALAR, {tmlp_kernel_scalar, tmlp_kernel_scalar_bf16, tmlp_kernel_scalar_int8}, 0},
#if defined(__x86_64__) && defined(__GNUC__)
    {"avx2", TMLP_KERNEL_AVX2, {tmlp_kernel_avx2, tmlp_kernel_avx2_bf16, tmlp_kernel_avx2_int8}, 0},
    {"avx512", TMLP_KERNEL_AVX512, {tmlp_kernel_avx512, tmlp_kernel_avx512n_bf16, tmlp_kernel_avx512n_int8}, 1},
    {"avx512-emulated", TMLP_KERNEL_AVX512, {NULL, tmlp_kernel_avx512e_bf16, tmlp_kernel_avx512e_int8}, 2},
    {"avx-vnni", TMLP_KERNEL_AVX2, {NULL, NULL, tmlp_kernel_avxvnni_int8}, 3},
    {"avx-vnni (evex)", TMLP_KERNEL_AVX2, {NULL, NULL, tmlp_kernel_avxvnni_evex_int8}, 4},
#endif
#if defined(__aarch64__) && defined(__linux__)
    {"neon", TMLP_KERNEL_NEON, {tmlp_kernel_neon, tmlp_kernel_neon_bf16_widen, tmlp_kernel_neon_int8_widen}, 0},
    {"neon_dotprod", TMLP_KERNEL_NEON_DOTPROD, {NULL, NULL, tmlp_kernel_neon_int8_sdot}, 0},
    {"neon_bf16", TMLP_KERNEL_NEON_BF16, {NULL, tmlp_kernel_neon_bf16_bfdot, NULL}, 0},
#endif
};
#define N_ACT_PATHS ((int)(sizeof ACT_PATHS / sizeof ACT_PATHS[0]))

static int act_path_runs(const act_path *pa)
{
    if (!tmlp_kernel_available(pa->kernel)) return 0;
#if defined(__x86_64__) && defined(__GNUC__)
    if (pa->need_bw_native == 3) return tmlp_cpu_has_avx_vnni();
    if (pa->need_bw_native == 4)
        return __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    const int bw = __builtin_cpu_supports("avx512bw");
    if (pa->need_bw_native == 2) return bw;
    if (pa->need_bw_native == 1)
        return bw && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni");
#endif
    return 1;
}

static const tmlp_precision ACT_PRECS[3] = {TMLP_PRECISION_F32, TMLP_PRECISION_BF16, TMLP_PRECISION_INT8};
static const char *const ACT_NAMES[8] = {"none", "relu", "leaky_relu", "gelu", "gelu_tanh", "tanh", "sigmoid", "silu"};
/* largest slope, and the vector function's ulp bound (docs/kernels.md) */
static const double ACT_SLOPE[8] = {1, 1, 1, 1.13, 1.13, 1, 0.25, 1.10};
static const double ACT_ULP[8] = {0, 0, 0.5, 6.5, 4.0, 1.6, 2.5, 3.5};
#define ACT_ALPHA 0.0625f /* LEAKY_RELU's slope in these tests (slope bound: max(1, alpha) = 1) */

/* One layer shape and batch: every path x precision x activation. Returns the failures. */
static int act_case(int64_t in, int64_t out, int64_t batch)
{
    float *w = malloc((size_t)(in * out) * sizeof *w), *b = malloc((size_t)out * sizeof *b);
    float *x = malloc((size_t)(batch * in) * sizeof *x), *yl = malloc((size_t)(batch * out) * sizeof *yl);
    float *ybuf = malloc((size_t)(batch * out + 2 * GUARD) * sizeof *ybuf);
    double *mag = malloc((size_t)(batch * out) * sizeof *mag);
    assert_true(w && b && x && yl && ybuf && mag);
    float *y = ybuf + GUARD;
    fill(w, in * out, 4000 + (uint64_t)(in * 7 + out));
    fill(b, out, 5000 + (uint64_t)out);
    fill(x, batch * in, 6000 + (uint64_t)batch);
    for (int64_t i = 0; i < batch * in; i++) x[i] *= 3.0f; /* reach the activations' curved parts */
    for (int64_t r = 0; r < batch; r++)
        for (int64_t j = 0; j < out; j++) {
            double m = fabs((double)b[j]);
            for (int64_t k = 0; k < in; k++) m += fabs((double)x[r * in + k] * w[j * in + k]);
            mag[r * out + j] = m;
        }
    int bad = 0;
    for (int pr = 0; pr < 3; pr++) {
        tmlp_packed p;
        assert_int_equal(tmlp_packed_create_prec(NULL, in, out, w, b, ACT_PRECS[pr], &p), TMLP_OK);
        ACT_PATHS[0].fn[pr](&p, x, yl, batch, TMLP_EPILOGUE_NONE); /* the scalar reference */
        for (int pi = 0; pi < N_ACT_PATHS; pi++) {
            const act_path *pa = &ACT_PATHS[pi];
            if (!pa->fn[pr] || !act_path_runs(pa)) continue;
            for (int a = 0; a < 8; a++) {
                const tmlp_epilogue ep = {(tmlp_act)a, ACT_ALPHA};
                for (int64_t i = 0; i < batch * out + 2 * GUARD; i++) ybuf[i] = GUARD_VALUE;
                pa->fn[pr](&p, x, y, batch, ep);
                for (int64_t i = 0; i < batch * out; i++) {
                    const float ref = tmlp_act_scalar(ep, yl[i]);
                    const double d = pr == 0 ? 1e-5 * mag[i] : pr == 1 ? 1e-3 * fabs(yl[i]) + 1e-6 * mag[i] : 0.0;
                    const double tol = ACT_SLOPE[a] * d + (ACT_ULP[a] + 1) * 0x1p-23 * fabs(ref) + FLT_MIN;
                    const int ok = pi == 0 ? memcmp(&y[i], &ref, sizeof ref) == 0 : fabs((double)y[i] - ref) <= tol;
                    if (!ok && bad++ < 5)
                        fprintf(stderr, "  %s %s %s %lld->%lld b%lld [%lld]: got %.9g ref %.9g (linear %.9g, tol %.3g)\n",
                                pa->name, tmlp_precision_name(ACT_PRECS[pr]), ACT_NAMES[a], (long long)in,
                                (long long)out, (long long)batch, (long long)i, y[i], ref, yl[i], tol);
                }
                /* the row-pointer twin (F32), rows at the same positions: the same bits */
                tmlp_kernel_rows_fn rfn = pr == 0 ? tmlp_kernel_rows_function(pa->kernel) : NULL;
                if (rfn && pa->fn[0] == tmlp_kernel_function(pa->kernel)) {
                    const float **xp = malloc((size_t)batch * sizeof *xp);
                    float *yr = malloc((size_t)(batch * out) * sizeof *yr);
                    assert_true(xp && yr);
                    for (int64_t r = 0; r < batch; r++) xp[r] = x + r * in;
                    rfn(&p, xp, yr, batch, ep);
                    for (int64_t r = 0; r < batch; r++)
                        if (memcmp(yr + r * out, y + r * out, (size_t)out * sizeof *y) && bad++ < 5)
                            fprintf(stderr, "  %s rows %s %lld->%lld b%lld: row %lld differs\n", pa->name,
                                    ACT_NAMES[a], (long long)in, (long long)out, (long long)batch, (long long)r);
                    free(xp), free(yr);
                }
                for (int g = 0; g < GUARD; g++)
                    if (ybuf[g] != GUARD_VALUE || y[batch * out + g] != GUARD_VALUE) {
                        if (bad++ < 5)
                            fprintf(stderr, "  %s %s %s %lld->%lld b%lld: wrote outside y\n", pa->name,
                                    tmlp_precision_name(ACT_PRECS[pr]), ACT_NAMES[a], (long long)in,
                                    (long long)out, (long long)batch);
                        break;
                    }
            }
        }
        tmlp_packed_destroy(NULL, &p);
    }
    free(w), free(b), free(x), free(yl), free(ybuf), free(mag);
    return bad;
}

static void test_act_widths(void **s)
{
    (void)s;
    static const int64_t widths[] = {1, 7, 16, 17, 63, 64, 65, 200};
    for (int pi = 0; pi < N_ACT_PATHS; pi++)
        if (!act_path_runs(&ACT_PATHS[pi])) print_message("SKIP: path %s: this CPU lacks it\n", ACT_PATHS[pi].name);
    int bad = 0;
    for (int i = 0; i < 8; i++)
        for (int o = 0; o < 8; o++)
            for (int64_t batch = 1; batch <= 5; batch += 4) bad += act_case(widths[i], widths[o], batch);
    assert_int_equal(bad, 0);
}

static void test_act_batches(void **s)
{
    (void)s;
    static const int64_t batches[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 33, 300};
    int bad = 0;
    for (int bi = 0; bi < 11; bi++) bad += act_case(17, 65, batches[bi]) + act_case(200, 63, batches[bi]);
    assert_int_equal(bad, 0);
}

/* tmlp_act_apply on each vector unit (and blas -> the best) against tmlp_act_scalar, at
 * lengths 0..40 and one long one, in place, with guards. */
static void test_act_apply(void **s)
{
    (void)s;
    const tmlp_kernel ks[] = {TMLP_KERNEL_SCALAR, TMLP_KERNEL_AVX2, TMLP_KERNEL_AVX512, TMLP_KERNEL_BLAS,
                              TMLP_KERNEL_NEON};
    enum { N = 1000 };
    static float src[N], buf[N + 2 * GUARD];
    fill(src, N, 77);
    for (int i = 0; i < N; i++) src[i] *= 12.0f;
    for (int ki = 0; ki < (int)(sizeof ks / sizeof ks[0]); ki++) {
        if (!tmlp_kernel_available(ks[ki])) continue;
        for (int a = 0; a < 8; a++) {
            const tmlp_epilogue ep = {(tmlp_act)a, ACT_ALPHA};
            for (int n = 0; n <= N; n += n < 40 ? 1 : N - 40) {
                for (int i = 0; i < N + 2 * GUARD; i++) buf[i] = GUARD_VALUE;
                memcpy(buf + GUARD, src, (size_t)n * sizeof *src);
                tmlp_act_apply(ks[ki], ep, buf + GUARD, n);
                for (int i = 0; i < n; i++) {
                    const float ref = tmlp_act_scalar(ep, src[i]), got = buf[GUARD + i];
                    if (!(fabs((double)got - ref) <= (ACT_ULP[a] + 1) * 0x1p-23 * fabs(ref) + FLT_MIN))
                        fail_msg("act_apply %s %s n%d [%d]: %.9g vs %.9g", tmlp_kernel_name(ks[ki]),
                                 ACT_NAMES[a], n, i, got, ref);
                }
                for (int g = 0; g < GUARD; g++)
                    assert_true(buf[g] == GUARD_VALUE && buf[GUARD + n + g] == GUARD_VALUE);
            }
        }
    }
}

static void test_scalar_widths(void **s) { (void)s; odd_widths(TMLP_KERNEL_SCALAR); }
static void test_avx2_widths(void **s) { (void)s; odd_widths(TMLP_KERNEL_AVX2); }
static void test_avx512_widths(void **s) { (void)s; odd_widths(TMLP_KERNEL_AVX512); }
static void test_avx2_paired(void **s) { (void)s; paired_panels(TMLP_KERNEL_AVX2); }
static void test_avx512_paired(void **s) { (void)s; paired_panels(TMLP_KERNEL_AVX512); }
static void test_scalar_batches(void **s) { (void)s; every_batch(TMLP_KERNEL_SCALAR); }
static void test_avx2_batches(void **s) { (void)s; every_batch(TMLP_KERNEL_AVX2); }
static void test_avx512_batches(void **s) { (void)s; every_batch(TMLP_KERNEL_AVX512); }
static void test_scalar_model(void **s) { (void)s; through_model(TMLP_KERNEL_SCALAR); }
static void test_avx2_model(void **s) { (void)s; through_model(TMLP_KERNEL_AVX2); }
static void test_avx512_model(void **s) { (void)s; through_model(TMLP_KERNEL_AVX512); }
/* arm64: one F32 kernel behind the three names (the widths and batches run it once); the
 * model test runs each name, which the kernel info must report back */
static void test_neon_widths(void **s) { (void)s; odd_widths(TMLP_KERNEL_NEON); }
static void test_neon_paired(void **s) { (void)s; paired_panels(TMLP_KERNEL_NEON); }
static void test_neon_batches(void **s) { (void)s; every_batch(TMLP_KERNEL_NEON); }
static void test_neon_model(void **s) { (void)s; through_model(TMLP_KERNEL_NEON); }
static void test_neon_dotprod_model(void **s) { (void)s; through_model(TMLP_KERNEL_NEON_DOTPROD); }
static void test_neon_bf16_model(void **s) { (void)s; through_model(TMLP_KERNEL_NEON_BF16); }

/* Names, parsing, and a kernel the CPU lacks is a clear error, not a silent fallback. */
static void test_dispatch(void **s)
{
    (void)s;
    tmlp_kernel k;
    for (int i = TMLP_KERNEL_AUTO; i <= TMLP_KERNEL_NEON_BF16; i++) {
        assert_int_equal(tmlp_kernel_parse(tmlp_kernel_name((tmlp_kernel)i), &k, NULL), TMLP_OK);
        assert_int_equal(k, i);
    }
    assert_int_equal(tmlp_kernel_parse("sse9", &k, NULL), TMLP_ERR_ARG);
    assert_true(tmlp_kernel_available(TMLP_KERNEL_SCALAR) && tmlp_kernel_available(TMLP_KERNEL_BLAS));

    const int64_t widths[] = {4, 3};
    tmlp_model_options o = tmlp_model_options_default();
    tmlp_model *m = NULL;
    tmlp_error err = {0};
    for (int i = TMLP_KERNEL_AVX2; i <= TMLP_KERNEL_NEON_BF16; i++) {
        if (i == TMLP_KERNEL_BLAS || tmlp_kernel_available((tmlp_kernel)i)) continue;
        o.kernel = (tmlp_kernel)i;
        assert_int_equal(tmlp_model_random(widths, 2, 1, &o, &m, &err), TMLP_ERR_ARG);
        assert_null(m);
        assert_non_null(strstr(err.message, "not available"));
        print_message("  unavailable %s rejected: %s\n", tmlp_kernel_name((tmlp_kernel)i), err.message);
    }
    o.kernel = (tmlp_kernel)42;
    assert_int_equal(tmlp_model_random(widths, 2, 1, &o, &m, &err), TMLP_ERR_ARG);

    /* AUTO: the environment variable, checked the same way */
    o.kernel = TMLP_KERNEL_AUTO;
    setenv("TMLP_KERNELS", "sse9", 1);
    assert_int_equal(tmlp_model_random(widths, 2, 1, &o, &m, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "TMLP_KERNELS=sse9"));
    setenv("TMLP_KERNELS", "scalar", 1);
    assert_int_equal(tmlp_model_random(widths, 2, 1, &o, &m, &err), TMLP_OK);
    tmlp_kernel_info ki;
    assert_int_equal(tmlp_model_kernel_info(m, &ki, NULL), TMLP_OK);
    assert_int_equal(ki.kernel, TMLP_KERNEL_SCALAR);
    assert_string_equal(ki.source, "TMLP_KERNELS");
    tmlp_model_destroy(m);
    unsetenv("TMLP_KERNELS");
    assert_int_equal(tmlp_model_random(widths, 2, 1, &o, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_kernel_info(m, &ki, NULL), TMLP_OK);
    assert_string_equal(ki.source, "cpuid");
    print_message("  this machine: kernel %s, available %s, crossover %lld..%lld\n", ki.name,
                  ki.available, (long long)ki.crossover_min, (long long)ki.crossover_max);
    tmlp_model_destroy(m);
}

/* The OpenBLAS core in use agrees with the scalar kernel; the best core follows cpuid. */
/* The caches are read (plausible sizes, a named source) and the crossover follows them:
 * AVX2 keeps 64 rows while a 64-output panel fits half the L2, else 3 (dispatch.c). */
static void test_cache_rule(void **s)
{
    (void)s;
    tmlp_cpu_cache c;
    tmlp_cpu_cache_get(&c);
    assert_true(c.l2 >= ((size_t)64 << 10) && c.l3 >= c.l2);
    assert_true(c.source[0] != '\0');
    const int64_t small_in = 64, big_in = (int64_t)(c.l2 / (TMLP_PANEL * sizeof(float))) + 1;
    assert_int_equal(tmlp_kernel_crossover(TMLP_KERNEL_AVX2, 0, small_in, 10), 64);
    assert_int_equal(tmlp_kernel_crossover(TMLP_KERNEL_AVX2, 0, big_in, 10), 3);
    assert_int_equal(tmlp_kernel_crossover(TMLP_KERNEL_AVX512, 0, big_in, 10), 256);
    assert_true(tmlp_kernel_crossover(TMLP_KERNEL_AVX2, 1, big_in, 10) == INT64_MAX);
    assert_string_equal(tmlp_weights_residency(c.l2 / 2, &c), "L2");
    assert_string_equal(tmlp_weights_residency(c.l2 / 2 + 1, &c), c.l3 / 2 > c.l2 / 2 ? "L3" : "DRAM");
    assert_string_equal(tmlp_weights_residency(c.l3, &c), "DRAM");
    print_message("  caches: L2 %zu KB, L3 %zu KB (%s)\n", c.l2 >> 10, c.l3 >> 10, c.source);
}

static void test_blas_core(void **s)
{
    (void)s;
    double e = -1;
    assert_int_equal(tmlp_blas_check_core(&e, NULL), TMLP_OK);
    assert_true(e >= 0 && e <= 1e-5);
    tmlp_blas_info bi;
    tmlp_blas_get_info(&bi);
    const char *best = tmlp_blas_best_core();
    assert_string_equal(bi.best_core, best);
    if (tmlp_kernel_available(TMLP_KERNEL_AVX512)) assert_true(!strcmp(best, "SkylakeX") || !strcmp(best, "Haswell"));
    else if (tmlp_kernel_available(TMLP_KERNEL_AVX2)) assert_string_equal(best, "Haswell");
    print_message("  OpenBLAS core %s (%s), best for this CPU %s, check error %.2g\n", bi.core,
                  bi.core_source, best[0] ? best : "(none)", e);
}

int main(void)
{
    unsetenv("TMLP_KERNELS"); /* the model tests pick kernels through options */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),      cmocka_unit_test(test_blas_core),
        cmocka_unit_test(test_cache_rule),
        cmocka_unit_test(test_u8_lookup),  cmocka_unit_test(test_u8_rows),
        cmocka_unit_test(test_scalar_widths),  cmocka_unit_test(test_avx2_widths),
        cmocka_unit_test(test_avx512_widths),  cmocka_unit_test(test_scalar_batches),
        cmocka_unit_test(test_avx2_batches),   cmocka_unit_test(test_avx512_batches),
        cmocka_unit_test(test_scalar_model),   cmocka_unit_test(test_avx2_model),
        cmocka_unit_test(test_avx512_model),  cmocka_unit_test(test_avx2_paired),
        cmocka_unit_test(test_avx512_paired),  cmocka_unit_test(test_act_widths),
        cmocka_unit_test(test_act_batches),    cmocka_unit_test(test_act_apply),
        cmocka_unit_test(test_neon_widths),    cmocka_unit_test(test_neon_paired),
        cmocka_unit_test(test_neon_batches),   cmocka_unit_test(test_neon_model),
        cmocka_unit_test(test_neon_dotprod_model), cmocka_unit_test(test_neon_bf16_model),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
