/* fail_alloc.h — make the k-th malloc/calloc of a test fail, to walk every allocation site.
 *
 * For tests linked with -Wl,--wrap=malloc -Wl,--wrap=calloc (tests/meson.build): every call
 * counts in g_count, and the one numbered g_fail_at (0-based) returns NULL. Set g_count = 0
 * and g_fail_at = k before the code under test, g_fail_at = -1 after; g_count then says how
 * many allocations the code made, i.e. when to stop raising k. Include it in one file per
 * test program: it defines the wrappers. */
#ifndef TMLP_TESTS_FAIL_ALLOC_H
#define TMLP_TESTS_FAIL_ALLOC_H

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);

/* Test-only state: the wrappers have no user pointer. -1 = never fail. */
static long g_fail_at = -1, g_count;

static int should_fail(void) { return g_fail_at >= 0 && g_count++ == g_fail_at; }
void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }

#endif
