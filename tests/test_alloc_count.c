/* test_alloc_count.c — the forward pass allocates nothing. A counting allocator given to
 * the model sees every allocation of the model and its sessions; after the session is
 * created, thousands of forwards (plain, uint8, profiled; batch 1 and batch > 1) must
 * leave the count unchanged — for the plain MLP and for one with every layer kind (fused
 * activations, a folded BatchNorm, LayerNorm, skipped Dropout). Destroying everything frees
 * exactly what was allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"

static void test_forward_allocates_nothing(void **state)
{
    (void)state;
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_model_options o = tmlp_model_options_default();
    o.allocator = test_alloc_hook(&ta);
    const int64_t widths[4] = {784, 128, 64, 10};
    tmlp_model *m;
    assert_int_equal(tmlp_model_random(widths, 4, 1, &o, &m, NULL), TMLP_OK);
    const long after_model = ta.allocs;
    assert_true(after_model >= 4); /* model, layer list, 3 dense layers... all counted */
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 16, &s, NULL), TMLP_OK);
    assert_int_equal(ta.allocs, after_model + 1); /* a session is ONE allocation */
    const long before = ta.calls;

    static float x[16 * 784];
    static uint8_t raw[16 * 784];
    for (int i = 0; i < 16 * 784; i++) {
        x[i] = (float)(i % 29) / 29.0f;
        raw[i] = (uint8_t)(i * 31);
    }
    uint64_t ns[6];
    for (int it = 0; it < 500; it++) {
        const int64_t batch = it % 3 == 0 ? 1 : (it % 3 == 1 ? 7 : 16);
        tmlp_tensor in = tmlp_tensor_2d(x, batch, 784), out;
        assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward_u8(s, raw, batch, &out, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward_profiled(s, &in, &out, ns, NULL), TMLP_OK);
        tmlp_tensor bad = tmlp_tensor_2d(x, 17, 784); /* errors allocate nothing either */
        assert_int_equal(tmlp_session_forward(s, &bad, &out, NULL), TMLP_ERR_BATCH);
    }
    assert_int_equal(ta.calls, before); /* not a single allocation attempt */
    assert_int_equal(ta.frees, 0);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    assert_int_equal(ta.allocs, ta.frees);
}

/* Every layer kind, on every path: plain, rows, u8, profiled. */
static void test_every_kind_allocates_nothing(void **state)
{
    (void)state;
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_model_options o = tmlp_model_options_default();
    o.allocator = test_alloc_hook(&ta);
    static float w[64 * 64];
    float v[64];
    for (int i = 0; i < 64 * 64; i++) w[i] = (float)((i * 37) % 19 - 9) / 64.0f;
    for (int i = 0; i < 64; i++) v[i] = 1.0f + (float)(i % 5) / 8.0f;
    tmlp_model *m;
    tmlp_error err = {0};
    assert_int_equal(tmlp_model_create(48, &o, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 48, 64, w, NULL, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_batchnorm(m, v, v, v, v, 1e-5f, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_gelu(m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_dropout(m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_layernorm(m, v, v, 1e-5f, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_silu(m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_batchnorm(m, v, v, NULL, NULL, 1e-5f, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 64, 10, w, v, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_leaky_relu(m, 0.1f, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_tanh(m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_identity(m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_log_softmax(m, &err), TMLP_OK);
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, 16, &s, NULL), TMLP_OK);
    const long before = ta.calls;
    static float x[16 * 48];
    static uint8_t raw[16 * 48];
    const float *rows[16];
    for (int i = 0; i < 16 * 48; i++) {
        x[i] = (float)(i % 23) / 23.0f;
        raw[i] = (uint8_t)(i * 13);
    }
    for (int r = 0; r < 16; r++) rows[r] = x + (15 - r) * 48;
    uint64_t ns[12];
    for (int it = 0; it < 300; it++) {
        const int64_t batch = it % 3 == 0 ? 1 : (it % 3 == 1 ? 5 : 16);
        tmlp_tensor in = tmlp_tensor_2d(x, batch, 48), out;
        assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward_rows(s, rows, batch, &out, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward_u8(s, raw, batch, &out, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_forward_profiled(s, &in, &out, ns, NULL), TMLP_OK);
    }
    assert_int_equal(ta.calls, before);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    assert_int_equal(ta.allocs, ta.frees);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_allocates_nothing),
        cmocka_unit_test(test_every_kind_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
