/* test_oom_onnx.c — tmlp_model_load of ONNX files with each allocation failing in turn.
 *
 * Two walks, each for k = 0, 1, ... until the load succeeds without reaching failure k:
 *   - through the model options' allocator hook (check.h's test_alloc): every failing
 *     load returns TMLP_ERR_NOMEM with *out NULL and as many frees as allocations — the
 *     file buffer, the IR, the normalised graph, folded constants, GRAPH programs, the
 *     throwaway models of the fusion check and the model's layers;
 *   - at the C library (fail_alloc.h, this executable is linked with --wrap=malloc,calloc):
 *     also an allocation that bypassed the hook would fail here; every failing load must
 *     still return TMLP_ERR_NOMEM (ASan in CI checks that nothing leaks or crashes).
 * An out-of-memory must never change what is built: a load that reached failure k and
 * succeeded anyway must have the same layers as a load without failures (a fusion skipped
 * for lack of memory would not). The one success allowed is the Dense kernel's: a Dense
 * whose weights cannot be re-packed after a BatchNorm fold runs on BLAS (layer.h).
 * The files: a decomposed LayerNorm + GELU (fusion checks), the shipped model's
 * preprocessing (a GRAPH layer), opset 21 LayerNormalization, and the whole graph
 * interpreted (no_fusion).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "fail_alloc.h"

#include <stdio.h>
#include <string.h>

static const char *const files[] = {"layers/mix_ln_gelu_opset11.onnx", "onnx/graphs/preprocess_per_feature.onnx",
                                    "onnx/graphs/layernorm_opset21.onnx", "layers/mix_deep_opset13.onnx"};

/* One load of `name` with opts (no_fusion); the status, *m set or NULL. */
static tmlp_status load(const char *name, tmlp_model_options *o, tmlp_model **m, tmlp_error *err)
{
    *m = (tmlp_model *)o; /* must be reset to NULL on failure */
    tmlp_status st = tmlp_model_load(test_fixture(name), o, m, err);
    if (st != TMLP_OK) assert_null(*m);
    return st;
}

/* The layer names of m, "dense,layernorm,...". */
static void names_of(const tmlp_model *m, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < tmlp_model_layer_count(m); i++) {
        tmlp_layer_info li;
        assert_int_equal(tmlp_model_layer_info(m, i, &li, NULL), TMLP_OK);
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? "," : "", li.name);
    }
}

/* Loaded despite a failed allocation: the same layers as `want`. */
static void same_layers(const char *name, long k, tmlp_model *m, const char *want)
{
    char got[512];
    names_of(m, got, sizeof got);
    if (strcmp(got, want)) fail_msg("%s: allocation %ld failed and the load gave %s instead of %s", name, k, got, want);
    tmlp_model_destroy(m);
}

/* The layers of a load without failures. */
static void reference_layers(const char *name, int no_fusion, char *buf, size_t cap)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.no_fusion = no_fusion;
    tmlp_model *m;
    assert_int_equal(load(name, &o, &m, NULL), TMLP_OK);
    names_of(m, buf, cap);
    tmlp_model_destroy(m);
}

/* The walk through the allocator hook; returns the allocations of a successful load. */
static long hook_walk(const char *name, int no_fusion)
{
    char want[512];
    reference_layers(name, no_fusion, want, sizeof want);
    for (long k = 0;; k++) {
        test_alloc ta;
        test_alloc_init(&ta, k);
        tmlp_model_options o = tmlp_model_options_default();
        o.allocator = test_alloc_hook(&ta);
        o.no_fusion = no_fusion;
        tmlp_model *m;
        tmlp_error err = {TMLP_OK, ""};
        tmlp_status st = load(name, &o, &m, &err);
        if (ta.failed == 0) {
            if (st != TMLP_OK) fail_msg("%s: failed without OOM: %s", name, err.message);
            tmlp_model_destroy(m);
            assert_int_equal(ta.allocs, ta.frees);
            return ta.calls;
        }
        if (st == TMLP_OK) same_layers(name, k, m, want);
        else if (st != TMLP_ERR_NOMEM)
            fail_msg("%s: allocation %ld failed, load returned %d: %s", name, k, st, err.message);
        if (ta.allocs != ta.frees) fail_msg("%s: allocation %ld failed, %ld blocks leaked", name, k, ta.allocs - ta.frees);
    }
}

/* The walk at the C library; returns the mallocs of a successful load. */
static long libc_walk(const char *name, int no_fusion)
{
    char want[512];
    reference_layers(name, no_fusion, want, sizeof want);
    for (long k = 0;; k++) {
        tmlp_model_options o = tmlp_model_options_default();
        o.no_fusion = no_fusion;
        tmlp_model *m;
        tmlp_error err = {TMLP_OK, ""};
        g_count = 0;
        g_fail_at = k;
        tmlp_status st = load(name, &o, &m, &err);
        const long made = g_count;
        g_fail_at = -1;
        if (made <= k) {
            if (st != TMLP_OK) fail_msg("%s: failed without OOM: %s", name, err.message);
            tmlp_model_destroy(m);
            return made;
        }
        if (st == TMLP_OK) same_layers(name, k, m, want);
        else if (st != TMLP_ERR_NOMEM)
            fail_msg("%s: malloc %ld failed, load returned %d: %s", name, k, st, err.message);
    }
}

static void test_hook_walk(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        long n = hook_walk(files[i], 0), n1 = hook_walk(files[i], 1);
        print_message("  %s: %ld allocations (%ld with no_fusion), each failed once\n", files[i], n, n1);
        assert_true(n > 10);
    }
}

static void test_libc_walk(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        long n = libc_walk(files[i], 0);
        print_message("  %s: %ld mallocs, each failed once\n", files[i], n);
        assert_true(n > 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_walk),
        cmocka_unit_test(test_libc_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
