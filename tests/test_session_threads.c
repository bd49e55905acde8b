/* test_session_threads.c — intra-op threads (tmlp_session_set_threads).
 *
 * Every T in 1..4 gives the one-thread result: bit for bit where the summation order is the
 * same (our kernels: panels at batch 1, rows in groups of 4 above), within 1e-6 relative
 * where OpenBLAS blocks the rows differently (the blas kernel, or above the crossover).
 * Also: forward_rows, BF16 / INT8, bad arguments, destroying a session whose pool is
 * running, a pool that cannot be allocated, and a threaded forward allocating nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tinymlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An allocator that counts, and fails every call once `fail` is set. */
typedef struct counting {
    long calls;
    int fail;
} counting;

static void *count_malloc(void *user, size_t n)
{
    counting *c = user;
    c->calls++;
    return c->fail ? NULL : malloc(n);
}

static void count_free(void *user, void *p)
{
    (void)user;
    free(p);
}

static tmlp_model *make(const int64_t *w, int n, tmlp_kernel k, tmlp_precision prec, counting *c)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.kernel = k;
    o.precision = prec;
    if (c) o.allocator = (tmlp_allocator){count_malloc, count_free, c};
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_random(w, n, 3, &o, &m, NULL), TMLP_OK);
    return m;
}

static float *inputs(int64_t n)
{
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    uint32_t s = 12345;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((int32_t)(s >> 8) - (1 << 23)) / (float)(1 << 23);
    }
    return x;
}

/* Forward x (batch rows; as rows if `rows`) on a session with T threads into y. */
static void run(tmlp_session *s, int T, const float *x, int64_t batch, int64_t in, int rows, float *y,
                int64_t outw)
{
    assert_int_equal(tmlp_session_set_threads(s, T, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_threads(s), T);
    tmlp_tensor out;
    if (rows) {
        const float *xp[300];
        for (int64_t r = 0; r < batch; r++) xp[r] = x + (batch - 1 - r) * in; /* reversed */
        assert_int_equal(tmlp_session_forward_rows(s, xp, batch, &out, NULL), TMLP_OK);
    } else {
        tmlp_tensor t = tmlp_tensor_2d((float *)x, batch, in);
        assert_int_equal(tmlp_session_forward(s, &t, &out, NULL), TMLP_OK);
    }
    memcpy(y, out.data, (size_t)(batch * outw) * sizeof(float));
}

/* T = 2..4 against T = 1 on every batch size; exact: bit for bit, else 1e-6 relative. */
static void compare(const int64_t *w, int n, tmlp_kernel k, tmlp_precision prec, int exact)
{
    if (!tmlp_kernel_available(k)) return;
    static const int64_t batches[] = {1, 2, 3, 5, 8, 17, 64, 100, 256};
    tmlp_model *m = make(w, n, k, prec, NULL);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 256, &s, NULL), TMLP_OK);
    const int64_t in = w[0], outw = w[n - 1];
    float *x = inputs(256 * in), *y1 = malloc(256 * (size_t)outw * 4), *yt = malloc(256 * (size_t)outw * 4);
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++)
        for (int rows = 0; rows < 2; rows++) {
            const int64_t batch = batches[b];
            run(s, 1, x, batch, in, rows, y1, outw);
            for (int T = 2; T <= 4; T++) {
                run(s, T, x, batch, in, rows, yt, outw);
                if (exact) {
                    if (memcmp(y1, yt, (size_t)(batch * outw) * 4) != 0)
                        fail_msg("%s %s batch %lld rows %d T %d: not bit-exact", tmlp_kernel_name(k),
                                 tmlp_precision_name(prec), (long long)batch, rows, T);
                } else {
                    for (int64_t i = 0; i < batch * outw; i++)
                        if (fabsf(y1[i] - yt[i]) > 1e-6f * fmaxf(1.0f, fabsf(y1[i])))
                            fail_msg("%s batch %lld T %d: %g vs %g", tmlp_kernel_name(k), (long long)batch, T,
                                     (double)y1[i], (double)yt[i]);
                }
            }
        }
    free(x);
    free(y1);
    free(yt);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

static const int64_t mnist[] = {784, 512, 512, 10}, odd[] = {100, 200, 130, 70, 10};

static void test_avx512_exact(void **st)
{
    (void)st;
    compare(mnist, 4, TMLP_KERNEL_AVX512, TMLP_PRECISION_F32, 1);
    compare(odd, 5, TMLP_KERNEL_AVX512, TMLP_PRECISION_F32, 1);
}

static void test_avx2_exact(void **st)
{
    (void)st;
    compare(mnist, 4, TMLP_KERNEL_AVX2, TMLP_PRECISION_F32, 1);
    compare(odd, 5, TMLP_KERNEL_AVX2, TMLP_PRECISION_F32, 1);
}

static void test_scalar_exact(void **st)
{
    (void)st;
    compare(odd, 5, TMLP_KERNEL_SCALAR, TMLP_PRECISION_F32, 1);
}

/* Auto: our kernel up to the crossover, OpenBLAS above (rows cut differently: 1e-6). */
static void test_auto_and_blas(void **st)
{
    (void)st;
    compare(mnist, 4, TMLP_KERNEL_AUTO, TMLP_PRECISION_F32, 0);
    compare(odd, 5, TMLP_KERNEL_BLAS, TMLP_PRECISION_F32, 0);
}

static void test_lowp_exact(void **st)
{
    (void)st;
    compare(mnist, 4, TMLP_KERNEL_AUTO, TMLP_PRECISION_BF16, 1);
    compare(mnist, 4, TMLP_KERNEL_AUTO, TMLP_PRECISION_INT8, 1);
    compare(odd, 5, TMLP_KERNEL_AVX2, TMLP_PRECISION_INT8, 1);
}

static void test_args(void **st)
{
    (void)st;
    tmlp_error err;
    assert_int_equal(tmlp_session_set_threads(NULL, 2, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "s is NULL"));
    tmlp_model *m = make(mnist, 4, TMLP_KERNEL_AUTO, TMLP_PRECISION_F32, NULL);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 4, &s, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_threads(s), 1);
    assert_int_equal(tmlp_session_set_threads(s, -1, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "-1 threads"));
    assert_int_equal(tmlp_session_set_threads(s, TMLP_SESSION_MAX_THREADS + 1, &err), TMLP_ERR_ARG);
    assert_int_equal(tmlp_session_set_threads(s, 0, NULL), TMLP_OK); /* auto */
    assert_true(tmlp_session_threads(s) >= 1);
    assert_int_equal(tmlp_session_threads(NULL), 0);
    assert_int_equal(tmlp_model_sut_set_threads(NULL, 2, &err), TMLP_ERR_ARG);
    assert_non_null(strstr(err.message, "m is NULL"));
    assert_int_equal(tmlp_model_sut_threads(NULL), 1);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

/* Destroy a session with its pool running (workers waiting), after forwards. */
static void test_destroy_running(void **st)
{
    (void)st;
    tmlp_model *m = make(mnist, 4, TMLP_KERNEL_AUTO, TMLP_PRECISION_F32, NULL);
    float *x = inputs(8 * 784);
    for (int i = 0; i < 20; i++) {
        tmlp_session *s;
        assert_int_equal(tmlp_session_create(m, 8, &s, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_set_threads(s, 2 + i % 3, NULL), TMLP_OK);
        tmlp_tensor t = tmlp_tensor_2d(x, 1 + i % 8, 784), out;
        if (i % 2) assert_int_equal(tmlp_session_forward(s, &t, &out, NULL), TMLP_OK);
        tmlp_session_destroy(s);
    }
    free(x);
    tmlp_model_destroy(m);
}

/* The pool cannot be allocated: NOMEM, and the session still runs on one thread; a forward
 * with a pool allocates nothing. */
static void test_pool_nomem_and_no_alloc(void **st)
{
    (void)st;
    counting c = {0, 0};
    tmlp_model *m = make(mnist, 4, TMLP_KERNEL_AUTO, TMLP_PRECISION_F32, &c);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 8, &s, NULL), TMLP_OK);
    tmlp_error err;
    c.fail = 1;
    assert_int_equal(tmlp_session_set_threads(s, 3, &err), TMLP_ERR_NOMEM);
    assert_non_null(strstr(err.message, "out of memory"));
    c.fail = 0;
    assert_int_equal(tmlp_session_threads(s), 1);
    float *x = inputs(8 * 784);
    tmlp_tensor t = tmlp_tensor_2d(x, 8, 784), out;
    assert_int_equal(tmlp_session_forward(s, &t, &out, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_set_threads(s, 2, NULL), TMLP_OK);
    const long before = c.calls;
    for (int b = 1; b <= 8; b++) {
        t = tmlp_tensor_2d(x, b, 784);
        assert_int_equal(tmlp_session_forward(s, &t, &out, NULL), TMLP_OK);
    }
    assert_int_equal(c.calls, before); /* no allocation in a threaded forward */
    free(x);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args),           cmocka_unit_test(test_avx512_exact),
        cmocka_unit_test(test_avx2_exact),     cmocka_unit_test(test_scalar_exact),
        cmocka_unit_test(test_auto_and_blas),  cmocka_unit_test(test_lowp_exact),
        cmocka_unit_test(test_destroy_running), cmocka_unit_test(test_pool_nomem_and_no_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
