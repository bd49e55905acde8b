/* test_oom_load.c — out-of-memory during tmlp_model_load, at every allocation.
 *
 * SQLite's OOM testing: run the operation with an allocator that fails its k-th request,
 * for k = 1, 2, 3, ... until the operation succeeds without hitting the failure. Every
 * failing run must return TMLP_ERR_NOMEM (not crash, not report some other error) and
 * leave allocations == frees: no error path leaks.
 *
 * Scope: this counts the allocations made through tmlp_model_options.allocator — the
 * file buffer, the tensor table and metadata (src/io/safetensors.c), the layer list and
 * scratch (src/io/model_io.c) and the model's layers (src/layers/). cJSON allocates its
 * parse tree through its own global hooks, which we deliberately do not replace
 * (cJSON_InitHooks sets process-wide state), so an out-of-memory inside cJSON itself is
 * not exercised here; ASan's leak checker still covers cJSON's frees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "check.h"

#include <stdio.h>
#include <stdlib.h>

/* Load `name` failing allocation k (0-based) for k = 0, 1, ... until the load completes
 * without reaching allocation k; returns the number of allocations a successful load
 * makes. */
static long oom_sweep(const char *name, const char *layers)
{
    for (long k = 0;; k++) {
        test_alloc ta;
        test_alloc_init(&ta, k);
        tmlp_model_options opts = tmlp_model_options_default();
        opts.allocator = test_alloc_hook(&ta);
        opts.layers = layers;
        tmlp_model *m = (tmlp_model *)&ta; /* must be reset to NULL on failure */
        tmlp_error err = {TMLP_OK, ""};
        tmlp_status st = tmlp_model_load(test_fixture(name), &opts, &m, &err);
        if (ta.failed == 0) {
            if (st != TMLP_OK) fail_msg("%s: load failed without OOM: %s", name, err.message);
            assert_non_null(m);
            tmlp_model_destroy(m);
            assert_int_equal(ta.allocs, ta.frees);
            return ta.calls;
        }
        if (st != TMLP_ERR_NOMEM)
            fail_msg("%s: allocation %ld failed, load returned %d (%s): %s", name, k, st,
                     tmlp_status_str(st), err.message);
        assert_int_equal(err.code, TMLP_ERR_NOMEM);
        assert_null(m);
        if (ta.allocs != ta.frees)
            fail_msg("%s: allocation %ld failed, %ld blocks leaked", name, k, ta.allocs - ta.frees);
    }
}

static void test_oom_every_allocation_mlp(void **state)
{
    (void)state;
    long n = oom_sweep("ref_mlp.safetensors", NULL);
    print_message("  ref_mlp: %ld allocations per load, each failed once\n", n);
    assert_true(n > 3); /* file, tensor table, layers at least: the sweep did something */
}

static void test_oom_every_allocation_half(void **state)
{
    (void)state;
    long n = oom_sweep("ref_half.safetensors", "linear,relu,linear,relu,linear");
    print_message("  ref_half: %ld allocations per load, each failed once\n", n);
    assert_true(n > 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_every_allocation_mlp),
        cmocka_unit_test(test_oom_every_allocation_half),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
