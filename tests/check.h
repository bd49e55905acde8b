/* check.h — helpers shared by the cmocka tests (header-only; include after cmocka.h).
 *
 *   check_tensor(label, got, expected, n, rtol, atol)
 *       Compares two float arrays element by element: |got - exp| <= atol + rtol * |exp|
 *       (NaN never matches; rtol = atol = 0 means bit-for-bit equal values). Prints the
 *       first few mismatches with index, got and expected (llm.c's check_tensor) and
 *       returns the number of mismatches:  assert_int_equal(check_tensor(...), 0);
 *
 *   test_alloc: a tmlp_allocator that counts allocations and frees and can fail the k-th
 *       allocation (0-based), for zero-allocation and out-of-memory tests:
 *           test_alloc ta;  test_alloc_init(&ta, -1);     // -1: never fail
 *           tmlp_model_options o = tmlp_model_options_default();
 *           o.allocator = test_alloc_hook(&ta);
 *           ... build, run, destroy ...
 *           assert_int_equal(ta.allocs, ta.frees);         // nothing leaked
 *       Not thread-safe: use it from one thread.
 *
 *   test_kernel_env_skip()
 *       1 if TMLP_KERNELS names a kernel this CPU lacks (the test's main then prints why
 *       and returns 77, which meson reports as SKIP), else 0.
 *
 *   test_fixture(name)
 *       "$TMLP_FIXTURES/<name>" (meson test sets TMLP_FIXTURES to tests/fixtures; without
 *       it, "tests/fixtures/<name>" relative to the source root). A static buffer: use the
 *       result before the next call.
 */
#ifndef TMLP_TEST_CHECK_H
#define TMLP_TEST_CHECK_H

#include "tinymlp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static inline int check_tensor(const char *label, const float *got, const float *expected,
                               int64_t n, double rtol, double atol)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const double g = got[i], e = expected[i];
        const int ok = (rtol == 0.0 && atol == 0.0) ? (got[i] == expected[i])
                                                    : (fabs(g - e) <= atol + rtol * fabs(e));
        if (!ok) {
            if (bad < 5)
                fprintf(stderr, "  %s[%lld]: got %.9g, expected %.9g (diff %.3g)\n", label,
                        (long long)i, g, e, g - e);
            bad++;
        }
    }
    if (bad) fprintf(stderr, "  %s: %d of %lld elements differ\n", label, bad, (long long)n);
    return bad;
}

typedef struct test_alloc {
    long allocs;  /* successful allocations */
    long frees;   /* frees of non-NULL pointers */
    long calls;   /* allocation attempts, including failed ones */
    long fail_at; /* attempt index (0-based) to fail, -1 = never */
    long failed;  /* attempts that were failed on purpose */
} test_alloc;

static inline void test_alloc_init(test_alloc *t, long fail_at)
{
    t->allocs = t->frees = t->calls = t->failed = 0;
    t->fail_at = fail_at;
}

static inline void *test_alloc_malloc(void *user, size_t size)
{
    test_alloc *t = user;
    if (t->calls++ == t->fail_at) {
        t->failed++;
        return NULL;
    }
    void *p = malloc(size);
    if (p) t->allocs++;
    return p;
}

static inline void test_alloc_free(void *user, void *p)
{
    test_alloc *t = user;
    if (p) t->frees++;
    free(p);
}

static inline tmlp_allocator test_alloc_hook(test_alloc *t)
{
    tmlp_allocator a = {test_alloc_malloc, test_alloc_free, t};
    return a;
}

static inline int test_kernel_env_skip(void)
{
    const char *env = getenv("TMLP_KERNELS");
    tmlp_kernel k;
    if (!env || !*env || tmlp_kernel_parse(env, &k, NULL) != TMLP_OK || tmlp_kernel_available(k)) return 0;
    printf("SKIP: TMLP_KERNELS=%s: this CPU lacks that kernel\n", env);
    return 1;
}

static inline const char *test_fixture(const char *name)
{
    static char path[1024];
    const char *dir = getenv("TMLP_FIXTURES");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fixtures", name);
    return path;
}

#endif
