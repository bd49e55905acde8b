/* test_oom_sut.c — tmlp_model_sut_create when each of its allocations fails in turn.
 *
 * The SUT allocates with libc (not the model's allocator hook), so this executable is
 * linked with -Wl,--wrap=malloc,--wrap=calloc: calls from the library's objects go
 * through the wrappers below, which fail the k-th one. For k = 0, 1, ... until create
 * succeeds, every failure must return TMLP_ERR_NOMEM cleanly (calloc(workers)
 * failing must not make destroy read workers[i] through NULL). ASan in CI checks no leak or crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "tinymlp.h"

#include "fail_alloc.h"

static void test_sut_create_each_failure(void **state)
{
    (void)state;
    int64_t widths[] = {8, 16, 4};
    tmlp_model *m = NULL;
    tmlp_dataset *d = NULL;
    assert_int_equal(tmlp_model_random(widths, 3, 1, NULL, &m, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_synthetic(32, 8, 2, NULL, &d, NULL), TMLP_OK);
    int succeeded = 0;
    for (long k = 0; k < 200 && !succeeded; k++) {
        tmlp_model_sut *s = NULL;
        tmlp_error err = {0};
        g_count = 0;
        g_fail_at = k;
        tmlp_status st = tmlp_model_sut_create(m, d, 3, 16, &s, &err);
        g_fail_at = -1;
        if (st == TMLP_OK) {
            succeeded = 1;
        } else {
            assert_int_equal(st, TMLP_ERR_NOMEM);
            assert_null(s);
            assert_true(err.message[0] != '\0');
        }
        tmlp_model_sut_destroy(s);
    }
    assert_true(succeeded);
    tmlp_dataset_destroy(d);
    tmlp_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sut_create_each_failure)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
