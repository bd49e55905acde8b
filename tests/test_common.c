/* test_common.c — the small shared pieces: status names, tensor views and numel, the
 * clock, the version, the error struct, and the BLAS wrapper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "internal.h"

#include <string.h>

static void test_status_str(void **state)
{
    (void)state;
    const tmlp_status all[] = {
        TMLP_OK, TMLP_ERR_ARG, TMLP_ERR_NOMEM, TMLP_ERR_IO, TMLP_ERR_FORMAT, TMLP_ERR_SHAPE,
        TMLP_ERR_UNSUPPORTED, TMLP_ERR_STATE, TMLP_ERR_BATCH, TMLP_ERR_HEADER_TOO_SMALL,
        TMLP_ERR_HEADER_TOO_LARGE, TMLP_ERR_HEADER_LENGTH, TMLP_ERR_HEADER_UTF8,
        TMLP_ERR_HEADER_JSON, TMLP_ERR_OFFSET, TMLP_ERR_OVERFLOW, TMLP_ERR_MISALIGNED,
        TMLP_ERR_TENSOR_INFO, TMLP_ERR_INCOMPLETE, TMLP_ERR_DUPLICATE, TMLP_ERR_MISSING_TENSOR,
        TMLP_ERR_EXTRA_TENSOR, TMLP_ERR_LAYERS, TMLP_ERR_TRUNCATED, TMLP_ERR_MAGIC,
        TMLP_ERR_COUNT_MISMATCH};
    const size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = tmlp_status_str(all[i]);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown status");
        for (size_t j = 0; j < i; j++) assert_string_not_equal(s, tmlp_status_str(all[j]));
    }
    assert_string_equal(tmlp_status_str(TMLP_OK), "ok");
    assert_string_equal(tmlp_status_str(TMLP_ERR_NOMEM), "out of memory");
    assert_string_equal(tmlp_status_str((tmlp_status)-999), "unknown status");
}

static void test_tensor(void **state)
{
    (void)state;
    float x[6] = {0};
    tmlp_tensor t = tmlp_tensor_2d(x, 2, 3);
    assert_int_equal(t.dtype, TMLP_DTYPE_F32);
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.shape[0], 2);
    assert_int_equal(t.shape[1], 3);
    assert_ptr_equal(t.data, x);
    assert_int_equal(tmlp_tensor_numel(&t), 6);
    assert_int_equal(tmlp_tensor_numel(NULL), -1);
    tmlp_tensor s = {TMLP_DTYPE_F32, 0, {0, 0, 0, 0}, x};
    assert_int_equal(tmlp_tensor_numel(&s), 1); /* a scalar */
    s.ndim = 5;
    assert_int_equal(tmlp_tensor_numel(&s), -1);
    s.ndim = -1;
    assert_int_equal(tmlp_tensor_numel(&s), -1);
    tmlp_tensor neg = {TMLP_DTYPE_F32, 2, {-1, 3, 0, 0}, x};
    assert_int_equal(tmlp_tensor_numel(&neg), -1);
    tmlp_tensor huge = {TMLP_DTYPE_F32, 3, {INT64_MAX / 2, 3, 1, 0}, x};
    assert_int_equal(tmlp_tensor_numel(&huge), -1);
    tmlp_tensor four = {TMLP_DTYPE_F32, 4, {2, 3, 4, 5}, x};
    assert_int_equal(tmlp_tensor_numel(&four), 120);
}

static void test_time_and_version(void **state)
{
    (void)state;
    const uint64_t a = tmlp_time_now_ns(), b = tmlp_time_now_ns();
    assert_true(a > 0 && b >= a);
    assert_string_equal(tmlp_version(), TMLP_VERSION_STRING);
}

static void test_error_set(void **state)
{
    (void)state;
    tmlp_error err;
    assert_int_equal(tmlp_error_set(&err, TMLP_ERR_SHAPE, "tensor `%s`: %d", "0.weight", 7), TMLP_ERR_SHAPE);
    assert_int_equal(err.code, TMLP_ERR_SHAPE);
    assert_string_equal(err.message, "tensor `0.weight`: 7");
    assert_int_equal(tmlp_error_set(NULL, TMLP_ERR_IO, "x"), TMLP_ERR_IO);
    char longer[400];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    tmlp_error_set(&err, TMLP_ERR_IO, "%s", longer);
    assert_int_equal(strlen(err.message), TMLP_ERROR_MAX - 1); /* truncated, terminated */
}

static void test_mem_helpers(void **state)
{
    (void)state;
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_allocator a = test_alloc_hook(&ta);
    assert_null(tmlp_mem_calloc(&a, SIZE_MAX / 2, 4)); /* overflow: no call at all */
    assert_int_equal(ta.calls, 0);
    int *p = tmlp_mem_calloc(&a, 4, sizeof(int));
    assert_non_null(p);
    for (int i = 0; i < 4; i++) assert_int_equal(p[i], 0);
    char *d = tmlp_mem_strdup(&a, "hello");
    assert_string_equal(d, "hello");
    tmlp_mem_free(&a, p);
    tmlp_mem_free(&a, d);
    tmlp_mem_free(&a, NULL);
    assert_int_equal(ta.allocs, 2);
    assert_int_equal(ta.frees, 2);
    void *z = tmlp_mem_alloc(NULL, 0); /* libc, zero size still unique and freeable */
    assert_non_null(z);
    tmlp_mem_free(NULL, z);
    size_t r;
    assert_false(tmlp_size_mul(SIZE_MAX, 2, &r));
    assert_true(tmlp_size_mul(6, 7, &r));
    assert_int_equal(r, 42);
}

static void test_blas(void **state)
{
    (void)state;
    assert_int_equal(tmlp_blas_set_threads(0, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_blas_set_threads(-2, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_blas_set_threads(1, NULL), TMLP_OK);
    tmlp_blas_info info;
    memset(&info, 0x55, sizeof info);
    tmlp_blas_get_info(&info);
    assert_string_equal(info.name, "OpenBLAS");
    assert_non_null(strstr(info.version, "OpenBLAS"));
    assert_true(strlen(info.core) > 0);
    assert_int_equal(info.threads, 1);
    assert_true(info.parallel >= 0 && info.parallel <= 2);
    const char *env = getenv("OPENBLAS_CORETYPE");
    assert_string_equal(info.coretype_env, env ? env : "");
    tmlp_blas_get_info(NULL); /* accepted */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_str),
        cmocka_unit_test(test_tensor),
        cmocka_unit_test(test_time_and_version),
        cmocka_unit_test(test_error_set),
        cmocka_unit_test(test_mem_helpers),
        cmocka_unit_test(test_blas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
