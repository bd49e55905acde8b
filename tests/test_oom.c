/* test_oom.c — out-of-memory handling, SQLite style: run a whole build with an allocator
 * that fails the k-th allocation, for k = 0, 1, 2, ... until the build succeeds. Every
 * failing run must return TMLP_ERR_NOMEM (and say so in the error) and, once everything
 * is destroyed, have freed exactly what it allocated.
 * (Loader OOM cases belong with the loader's tests; this file covers the builder and
 * sessions, and others may add cases here.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"

#include <string.h>

/* Builder: create + add_dense + add_relu + ... (enough layers to grow the layer list past
 * its first capacity) + session. Returns the first failing status. */
static tmlp_status build_by_hand(const tmlp_allocator *a, tmlp_error *err)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.allocator = *a;
    static float w[8 * 8];
    tmlp_model *m;
    tmlp_status st = tmlp_model_create(8, &o, &m, err);
    if (st != TMLP_OK) return st;
    for (int i = 0; i < 6 && st == TMLP_OK; i++) {
        st = tmlp_model_add_dense(m, 8, 8, w, NULL, err);
        if (st == TMLP_OK) st = tmlp_model_add_relu(m, err);
    }
    if (st == TMLP_OK) st = tmlp_model_add_softmax(m, err);
    tmlp_session *s = NULL;
    if (st == TMLP_OK) st = tmlp_session_create(m, 4, &s, NULL);
    if (st == TMLP_OK) {
        float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        tmlp_tensor in = tmlp_tensor_2d(x, 1, 8), out;
        st = tmlp_session_forward(s, &in, &out, NULL);
    }
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    return st;
}

static tmlp_status build_random(const tmlp_allocator *a, tmlp_error *err)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.allocator = *a;
    const int64_t widths[5] = {20, 16, 12, 8, 4};
    tmlp_model *m = (tmlp_model *)&m;
    tmlp_status st = tmlp_model_random(widths, 5, 7, &o, &m, err);
    if (st != TMLP_OK) {
        assert_null(m); /* *out is NULL on failure */
        return st;
    }
    tmlp_session *s = NULL;
    st = tmlp_session_create(m, 32, &s, NULL);
    if (st != TMLP_OK) assert_null(s);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    return st;
}

static void fail_every_k(tmlp_status (*build)(const tmlp_allocator *, tmlp_error *))
{
    long k;
    for (k = 0;; k++) {
        test_alloc ta;
        test_alloc_init(&ta, k);
        tmlp_allocator a = test_alloc_hook(&ta);
        tmlp_error err;
        memset(&err, 0, sizeof err);
        tmlp_status st = build(&a, &err);
        if (ta.allocs != ta.frees)
            fail_msg("k=%ld: %ld allocations, %ld frees (leak)", k, ta.allocs, ta.frees);
        if (ta.failed == 0) { /* the build needed fewer than k+1 allocations: done */
            assert_int_equal(st, TMLP_OK);
            break;
        }
        if (st != TMLP_ERR_NOMEM) fail_msg("k=%ld: status %d, expected TMLP_ERR_NOMEM", k, (int)st);
        /* builder calls (not session_create, which has no err) describe the failure */
        if (err.code != 0) {
            assert_int_equal(err.code, TMLP_ERR_NOMEM);
            assert_non_null(strstr(err.message, "memory"));
        }
    }
    assert_true(k >= 3); /* the loop really failed several distinct allocations */
}

static void test_oom_builder(void **state)
{
    (void)state;
    fail_every_k(build_by_hand);
}

static void test_oom_random(void **state)
{
    (void)state;
    fail_every_k(build_random);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_builder),
        cmocka_unit_test(test_oom_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
