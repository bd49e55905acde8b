/* test_model_io.c — tmlp_model_load / tmlp_model_save: round trips and every error.
 *
 * A model file is a safetensors container whose tensors are named as PyTorch's
 * nn.Sequential names them ("<i>.weight" (out, in), "<i>.bias" (out)) plus a layer list.
 * These tests build small files with tmlp_st_write in a fresh mkdtemp directory (removed
 * at the end), then check that:
 *   - save -> load is bit-exact (memcmp of every weight and bias, preprocessing doubles),
 *     and the saved file is valid safetensors with a header length that is a multiple of 8;
 *   - a plain PyTorch file (no __metadata__) loads when the caller passes the layer list,
 *     and its weights are used in the right orientation (a 2x3 Dense checked on paper);
 *   - F16 and BF16 tensors are widened exactly, and unaligned data (an unpadded header
 *     from another writer) loads correctly;
 *   - each model-assembly error returns its own status and a message naming the tensor
 *     (and both shapes when shapes do not chain).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/safetensors.h"
#include "layers/model_internal.h"
#include "tinymlp/model.h"
#include "tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Fixture: a temporary directory --------------------------------------------------- */

/* Each test runs in a fresh directory of its own (TEST_IN_TMPDIR, tests/tmpdir.h), removed
 * with all it holds. file_in(t, name) is "<dir>/f_<name>.safetensors" in t's scratch
 * buffer, valid until the next call. */
static const char *file_in(test_tmpdir *t, const char *name)
{
    char file[128];
    snprintf(file, sizeof file, "f_%s.safetensors", name);
    return test_tmpdir_path(t, file);
}

/* ---- Helpers to write small files ----------------------------------------------------- */

static tmlp_st_write_tensor f32_tensor(const char *name, int ndim, uint64_t d0, uint64_t d1,
                                       uint64_t d2, const void *data)
{
    tmlp_st_write_tensor w;
    memset(&w, 0, sizeof w);
    w.name = name;
    w.dtype = TMLP_ST_F32;
    w.ndim = ndim;
    w.shape[0] = d0;
    w.shape[1] = d1;
    w.shape[2] = d2;
    w.data = data;
    return w;
}

static void write_file(const char *path, const tmlp_st_write_tensor *ts, int64_t n,
                       const tmlp_st_meta *meta, int64_t n_meta)
{
    tmlp_error err = {TMLP_OK, ""};
    tmlp_status st = tmlp_st_write(path, ts, n, meta, n_meta, NULL, &err);
    if (st != TMLP_OK) fail_msg("tmlp_st_write(%s): %s", path, err.message);
}

/* Zero-filled floats, enough for every tensor below. */
static float zeros[784 * 20];

/* Weights of a "linear,relu,linear" MLP 3 -> 4 -> 2 with recognisable values. */
static float w0[4 * 3], b0[4], w2[2 * 4], b2[2];

static void fill_params(void)
{
    for (int i = 0; i < 12; i++) w0[i] = 0.25f * (float)(i - 5);
    for (int i = 0; i < 4; i++) b0[i] = 0.5f - (float)i;
    for (int i = 0; i < 8; i++) w2[i] = 1.0f / (float)(i + 1);
    b2[0] = -0.125f;
    b2[1] = 3.0f;
}

/* Write the 3 -> 4 -> 2 MLP, with `skip` (a tensor name) left out and `extra` appended. */
static void write_mlp(const char *path, const char *skip, const tmlp_st_write_tensor *extra,
                      const tmlp_st_meta *meta, int64_t n_meta)
{
    tmlp_st_write_tensor all[5] = {
        f32_tensor("0.weight", 2, 4, 3, 0, w0), f32_tensor("0.bias", 1, 4, 0, 0, b0),
        f32_tensor("2.weight", 2, 2, 4, 0, w2), f32_tensor("2.bias", 1, 2, 0, 0, b2),
    };
    tmlp_st_write_tensor ts[5];
    int64_t n = 0;
    for (int i = 0; i < 4; i++)
        if (!skip || strcmp(all[i].name, skip) != 0) ts[n++] = all[i];
    if (extra) ts[n++] = *extra;
    write_file(path, ts, n, meta, n_meta);
}

/* Expect `status` and a message containing each of the NULL-terminated substrings. */
static void expect_error(tmlp_status got, const tmlp_error *err, tmlp_status want, ...)
{
    if (got != want)
        fail_msg("status %d (%s), expected %d (%s); message: %s", got, tmlp_status_str(got), want,
                 tmlp_status_str(want), err->message);
    assert_int_equal(err->code, want);
    va_list ap;
    va_start(ap, want);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!strstr(err->message, s)) fail_msg("message \"%s\" lacks \"%s\"", err->message, s);
    va_end(ap);
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- Round trip ----------------------------------------------------------------------- */

static void assert_same_model(const tmlp_model *a, const tmlp_model *b)
{
    assert_int_equal(tmlp_model_layer_count(a), tmlp_model_layer_count(b));
    assert_int_equal(tmlp_model_input_width(a), tmlp_model_input_width(b));
    assert_int_equal(tmlp_model_output_width(a), tmlp_model_output_width(b));
    for (int i = 0; i < tmlp_model_layer_count(a); i++) {
        tmlp_layer_info ia, ib;
        assert_int_equal(tmlp_model_layer_info(a, i, &ia, NULL), TMLP_OK);
        assert_int_equal(tmlp_model_layer_info(b, i, &ib, NULL), TMLP_OK);
        assert_int_equal(ia.kind, ib.kind);
        assert_int_equal(ia.in_width, ib.in_width);
        assert_int_equal(ia.out_width, ib.out_width);
        if (ia.kind != TMLP_LAYER_DENSE) continue;
        const float *wa, *ba, *wb, *bb;
        assert_int_equal(tmlp_model_dense_params(a, i, &wa, &ba, NULL), TMLP_OK);
        assert_int_equal(tmlp_model_dense_params(b, i, &wb, &bb, NULL), TMLP_OK);
        size_t nw = (size_t)(ia.in_width * ia.out_width), nb = (size_t)ia.out_width;
        assert_memory_equal(wa, wb, nw * sizeof(float));
        assert_memory_equal(ba, bb, nb * sizeof(float));
    }
}

static void test_roundtrip_bit_exact(void **state)
{
    test_tmpdir *t = *state;
    const int64_t widths[] = {37, 29, 13, 7};
    tmlp_model *m = NULL, *back = NULL;
    tmlp_error err = {TMLP_OK, ""};
    assert_int_equal(tmlp_model_random(widths, 4, 42, NULL, &m, &err), TMLP_OK);
    /* Doubles that do not print exactly with fewer than 17 digits. */
    assert_int_equal(tmlp_model_set_preprocess(m, 1.0 / 255.0, 0.1 + 0.2, 0.3530, NULL), TMLP_OK);

    const char *path = file_in(t, "a");
    assert_int_equal(tmlp_model_save(m, path, &err), TMLP_OK);
    if (tmlp_model_load(path, NULL, &back, &err) != TMLP_OK) fail_msg("load: %s", err.message);
    assert_same_model(m, back);

    char la[128], lb[128];
    tmlp_model_layers_string(m, la, sizeof la, NULL);
    tmlp_model_layers_string(back, lb, sizeof lb, NULL);
    assert_string_equal(la, "linear,relu,linear,relu,linear,softmax");
    assert_string_equal(la, lb);

    tmlp_preprocess pa = tmlp_model_preprocess(m), pb = tmlp_model_preprocess(back);
    assert_int_equal(pb.has_preprocess, 1);
    assert_memory_equal(&pa.scale, &pb.scale, sizeof(double));
    assert_memory_equal(&pa.mean, &pb.mean, sizeof(double));
    assert_memory_equal(&pa.std, &pb.std, sizeof(double));

    /* Saving the loaded model again gives the same bytes. */
    const char *path2 = file_in(t, "b");
    assert_int_equal(tmlp_model_save(back, path2, &err), TMLP_OK);
    FILE *fa = fopen(file_in(t, "a"), "rb"), *fb = fopen(file_in(t, "b"), "rb");
    assert_non_null(fa);
    assert_non_null(fb);
    int ca, cb;
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
        assert_int_equal(ca, cb);
    } while (ca != EOF);
    fclose(fa);
    fclose(fb);

    tmlp_model_destroy(back);
    tmlp_model_destroy(m);
}

/* The saved file is valid safetensors, header padded to 8, with the documented metadata,
 * and no preprocessing keys when the model has none. */
static void test_saved_file_is_valid_safetensors(void **state)
{
    test_tmpdir *t = *state;
    const int64_t widths[] = {5, 3};
    tmlp_model *m = NULL;
    tmlp_error err = {TMLP_OK, ""};
    assert_int_equal(tmlp_model_random(widths, 2, 7, NULL, &m, &err), TMLP_OK);
    const char *path = file_in(t, "a");
    assert_int_equal(tmlp_model_save(m, path, &err), TMLP_OK);

    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char buf[4096];
    size_t size = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    assert_true(size > 8 && size < sizeof buf);
    uint64_t n = le64(buf);
    assert_int_equal(n % 8, 0);
    assert_int_equal(8 + n + (5 * 3 + 3) * sizeof(float), size);

    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(buf, size, 0, NULL, &f, &err), TMLP_OK);
    assert_int_equal(f->n_tensors, 2);
    const tmlp_st_tensor *w = tmlp_st_find(f, "0.weight"), *b = tmlp_st_find(f, "0.bias");
    assert_non_null(w);
    assert_non_null(b);
    assert_int_equal(w->dtype, TMLP_ST_F32);
    assert_int_equal(w->ndim, 2);
    assert_int_equal(w->shape[0], 3);
    assert_int_equal(w->shape[1], 5);
    assert_int_equal(b->ndim, 1);
    assert_int_equal(b->shape[0], 3);
    assert_string_equal(tmlp_st_meta_get(f, "tinymlp.layers"), "linear,softmax");
    assert_string_equal(tmlp_st_meta_get(f, "format"), "pt");
    assert_null(tmlp_st_meta_get(f, "tinymlp.input_scale"));
    assert_null(tmlp_st_meta_get(f, "tinymlp.input_mean"));
    assert_null(tmlp_st_meta_get(f, "tinymlp.input_std"));
    tmlp_st_free(f);
    tmlp_model_destroy(m);
}

/* ---- Plain PyTorch files: the caller passes the layer list ---------------------------- */

static void test_explicit_layers(void **state)
{
    test_tmpdir *t = *state;
    const char *path = file_in(t, "a");
    write_mlp(path, NULL, NULL, NULL, 0);

    tmlp_model *m = NULL;
    tmlp_error err = {TMLP_OK, ""};
    tmlp_status st = tmlp_model_load(path, NULL, &m, &err);
    expect_error(st, &err, TMLP_ERR_LAYERS, "no layer list", "tinymlp.layers", NULL);
    assert_null(m);

    assert_null(tmlp_model_options_default().layers);
    tmlp_model_options o = tmlp_model_options_default();
    o.layers = "linear, relu ,linear";
    if (tmlp_model_load(path, &o, &m, &err) != TMLP_OK)
        fail_msg("load: %s", err.message);
    assert_int_equal(tmlp_model_layer_count(m), 3);
    assert_int_equal(tmlp_model_input_width(m), 3);
    assert_int_equal(tmlp_model_output_width(m), 2);
    assert_int_equal(tmlp_model_preprocess(m).has_preprocess, 0);
    const float *w, *b;
    assert_int_equal(tmlp_model_dense_params(m, 0, &w, &b, NULL), TMLP_OK);
    assert_memory_equal(w, w0, sizeof w0);
    assert_memory_equal(b, b0, sizeof b0);
    assert_int_equal(tmlp_model_dense_params(m, 2, &w, &b, NULL), TMLP_OK);
    assert_memory_equal(w, w2, sizeof w2);
    assert_memory_equal(b, b2, sizeof b2);
    tmlp_model_destroy(m);

    /* An activation after the last linear needs no tensor; opts.layers overrides the
     * file's own list. */
    tmlp_st_meta meta[] = {{(char *)"tinymlp.layers", (char *)"linear,relu,linear"}};
    write_mlp(path, NULL, NULL, meta, 1);
    o.layers = "linear,relu,linear,softmax";
    assert_int_equal(tmlp_model_load(path, &o, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_layer_count(m), 4);
    tmlp_model_destroy(m);
    assert_int_equal(tmlp_model_load(path, NULL, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_layer_count(m), 3);
    tmlp_model_destroy(m);
}

/* A 2x3 Dense checked on paper: the loaded W is used as (out, in), y = x W^T + b.
 *   W = [[1 2 3], [4 5 6]], b = [0.5, -1], x = [1, -1, 2]
 *   y0 = 1 - 2 + 6 + 0.5 = 5.5,  y1 = 4 - 5 + 12 - 1 = 10 */
static void test_loaded_dense_on_paper(void **state)
{
    test_tmpdir *t = *state;
    const float w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {0.5f, -1.0f};
    tmlp_st_write_tensor ts[] = {f32_tensor("0.weight", 2, 2, 3, 0, w),
                                 f32_tensor("0.bias", 1, 2, 0, 0, b)};
    const char *path = file_in(t, "a");
    write_file(path, ts, 2, NULL, 0);

    tmlp_model *m = NULL;
    tmlp_session *s = NULL;
    tmlp_error err = {TMLP_OK, ""};
    assert_int_equal(tmlp_model_load(path, &(tmlp_model_options){.layers = "linear"}, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_session_create(m, 1, &s, NULL), TMLP_OK);
    float x[3] = {1, -1, 2};
    tmlp_tensor in = tmlp_tensor_2d(x, 1, 3), out;
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    assert_int_equal(out.shape[0], 1);
    assert_int_equal(out.shape[1], 2);
    assert_true(out.data[0] == 5.5f);
    assert_true(out.data[1] == 10.0f);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
}

/* F16 and BF16 are widened exactly:
 *   F16  0x3C00 = 1, 0xC000 = -2, 0x3800 = 0.5, 0x0001 = 2^-24 (subnormal), 0x7BFF = 65504
 *   BF16 0x3F80 = 1, 0xC040 = -3, 0x3E80 = 0.25                                           */
static void test_f16_bf16_widened(void **state)
{
    test_tmpdir *t = *state;
    const uint16_t wh[4] = {0x3C00, 0xC000, 0x3800, 0x0001}; /* (2, 2) F16 */
    const uint16_t bh[2] = {0x7BFF, 0x3800};                 /* (2) F16 */
    const uint16_t wb[2] = {0x3F80, 0xC040};                 /* (1, 2) BF16 */
    const uint16_t bb[1] = {0x3E80};                         /* (1) BF16 */
    tmlp_st_write_tensor ts[4] = {
        f32_tensor("0.weight", 2, 2, 2, 0, wh), f32_tensor("0.bias", 1, 2, 0, 0, bh),
        f32_tensor("2.weight", 2, 1, 2, 0, wb), f32_tensor("2.bias", 1, 1, 0, 0, bb),
    };
    ts[0].dtype = ts[1].dtype = TMLP_ST_F16;
    ts[2].dtype = ts[3].dtype = TMLP_ST_BF16;
    const char *path = file_in(t, "a");
    write_file(path, ts, 4, NULL, 0);

    tmlp_model *m = NULL;
    tmlp_error err = {TMLP_OK, ""};
    if (tmlp_model_load(path, &(tmlp_model_options){.layers = "linear,relu,linear"}, &m, &err) != TMLP_OK)
        fail_msg("load: %s", err.message);
    const float *w, *b;
    const float want_w0[4] = {1.0f, -2.0f, 0.5f, 0x1p-24f}, want_b0[2] = {65504.0f, 0.5f};
    const float want_w2[2] = {1.0f, -3.0f}, want_b2[1] = {0.25f};
    assert_int_equal(tmlp_model_dense_params(m, 0, &w, &b, NULL), TMLP_OK);
    assert_memory_equal(w, want_w0, sizeof want_w0);
    assert_memory_equal(b, want_b0, sizeof want_b0);
    assert_int_equal(tmlp_model_dense_params(m, 2, &w, &b, NULL), TMLP_OK);
    assert_memory_equal(w, want_w2, sizeof want_w2);
    assert_memory_equal(b, want_b2, sizeof want_b2);
    tmlp_model_destroy(m);
}

/* Files from other writers need not pad the header: here N is odd, so the data block and
 * every float in it start at odd file offsets. The loader must copy bytes out, never cast
 * a pointer into the file to float * (UBSan's alignment check would fire). */
static void test_unaligned_data(void **state)
{
    test_tmpdir *t = *state;
    const char *json = "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                       "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
    size_t n = strlen(json);
    if (n % 2 == 0) n++; /* one trailing space makes N odd */
    unsigned char buf[256];
    memset(buf, ' ', sizeof buf);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, json, strlen(json));
    const float vals[3] = {1.5f, -2.0f, 0.25f}; /* W = [[1.5, -2]], b = [0.25] */
    for (int i = 0; i < 3; i++) {
        uint32_t u;
        memcpy(&u, &vals[i], 4);
        for (int k = 0; k < 4; k++) buf[8 + n + 4 * (size_t)i + (size_t)k] = (unsigned char)(u >> (8 * k));
    }
    assert_int_equal((8 + n) % 4 != 0, 1);
    FILE *fp = fopen(file_in(t, "a"), "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, 8 + n + 12, fp), 8 + n + 12);
    fclose(fp);

    tmlp_model *m = NULL;
    tmlp_error err = {TMLP_OK, ""};
    if (tmlp_model_load(file_in(t, "a"), &(tmlp_model_options){.layers = "linear"}, &m, &err) != TMLP_OK)
        fail_msg("load: %s", err.message);
    const float *w, *b;
    assert_int_equal(tmlp_model_dense_params(m, 0, &w, &b, NULL), TMLP_OK);
    assert_memory_equal(w, vals, 2 * sizeof(float));
    assert_memory_equal(b, vals + 2, sizeof(float));
    tmlp_model_destroy(m);
}

/* ---- Model-assembly errors ------------------------------------------------------------ */

static tmlp_status load_bad(test_tmpdir *t, const char *layers, tmlp_error *err)
{
    tmlp_model *m = (tmlp_model *)&m; /* must be reset to NULL on failure */
    tmlp_model_options o = tmlp_model_options_default();
    o.layers = layers;
    tmlp_status st = tmlp_model_load(file_in(t, "a"), &o, &m, err);
    if (st != TMLP_OK) assert_null(m);
    tmlp_model_destroy(m);
    return st;
}

static void test_missing_weight_and_bias(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {TMLP_OK, ""};
    write_mlp(file_in(t, "a"), "2.weight", NULL, NULL, 0);
    expect_error(load_bad(t, "linear,relu,linear", &err), &err, TMLP_ERR_MISSING_TENSOR,
                 "`2.weight`", NULL);
    /* No "0.bias" is not an error: module 0 is nn.Linear(bias=False) (tests/test_layers.c). */
    /* The list says module 1 is a linear: it needs "1.weight". */
    write_mlp(file_in(t, "a"), NULL, NULL, NULL, 0);
    expect_error(load_bad(t, "linear,linear,linear", &err), &err, TMLP_ERR_MISSING_TENSOR,
                 "`1.weight`", NULL);
}

static void test_extra_tensor(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {TMLP_OK, ""};
    /* Module 1 is a relu, so "1.weight" belongs to nobody. */
    tmlp_st_write_tensor extra = f32_tensor("1.weight", 1, 3, 0, 0, zeros);
    write_mlp(file_in(t, "a"), NULL, &extra, NULL, 0);
    expect_error(load_bad(t, "linear,relu,linear", &err), &err, TMLP_ERR_EXTRA_TENSOR,
                 "`1.weight`", NULL);
    /* Beyond the last module. */
    extra = f32_tensor("3.bias", 1, 2, 0, 0, zeros);
    write_mlp(file_in(t, "a"), NULL, &extra, NULL, 0);
    expect_error(load_bad(t, "linear,relu,linear", &err), &err, TMLP_ERR_EXTRA_TENSOR,
                 "`3.bias`", NULL);
    /* Not a parameter name at all (e.g. an optimizer's state saved by mistake). */
    extra = f32_tensor("step", 0, 0, 0, 0, zeros);
    write_mlp(file_in(t, "a"), NULL, &extra, NULL, 0);
    expect_error(load_bad(t, "linear,relu,linear", &err), &err, TMLP_ERR_EXTRA_TENSOR, "`step`",
                 NULL);
    /* A leading zero does not make "02.bias" module 2's bias. */
    extra = f32_tensor("02.bias", 1, 2, 0, 0, zeros);
    write_mlp(file_in(t, "a"), NULL, &extra, NULL, 0);
    expect_error(load_bad(t, "linear,relu,linear", &err), &err, TMLP_ERR_EXTRA_TENSOR,
                 "`02.bias`", NULL);
}

static void test_bad_layer_list(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {TMLP_OK, ""};
    write_mlp(file_in(t, "a"), NULL, NULL, NULL, 0);
    expect_error(load_bad(t, "linear,swish,linear", &err), &err, TMLP_ERR_LAYERS, "`swish`",
                 "layer 1", "known: linear, relu, leaky_relu", NULL);
    expect_error(load_bad(t, "Linear,relu,linear", &err), &err, TMLP_ERR_LAYERS, "`Linear`",
                 NULL);
    expect_error(load_bad(t, "", &err), &err, TMLP_ERR_LAYERS, "empty", NULL);
    expect_error(load_bad(t, "  ", &err), &err, TMLP_ERR_LAYERS, "empty", NULL);
    expect_error(load_bad(t, "linear,,linear", &err), &err, TMLP_ERR_LAYERS, "layer 1", "empty",
                 NULL);
    expect_error(load_bad(t, "linear,relu,linear,", &err), &err, TMLP_ERR_LAYERS, "layer 3",
                 NULL);
    /* No linear at all: nothing says how wide an input row is (and every tensor is extra). */
    write_file(file_in(t, "a"), NULL, 0, NULL, 0);
    expect_error(load_bad(t, "relu,softmax", &err), &err, TMLP_ERR_LAYERS, "no linear", NULL);
    /* A bad list in the file's metadata is reported the same way. */
    tmlp_st_meta meta[] = {{(char *)"tinymlp.layers", (char *)"linear,mish,linear"}};
    write_mlp(file_in(t, "a"), NULL, NULL, meta, 1);
    expect_error(load_bad(t, NULL, &err), &err, TMLP_ERR_LAYERS, "`mish`", NULL);
}

static void test_shapes_not_chaining(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {TMLP_OK, ""};
    /* 20 -> 784, then a 128x256 weight that expects 256 inputs: the message of the
     * contract, naming the tensor and both shapes. */
    static float big_w[784 * 20], w_next[128 * 256];
    tmlp_st_write_tensor ts[] = {
        f32_tensor("0.weight", 2, 784, 20, 0, big_w), f32_tensor("0.bias", 1, 784, 0, 0, zeros),
        f32_tensor("2.weight", 2, 128, 256, 0, w_next), f32_tensor("2.bias", 1, 128, 0, 0, zeros),
    };
    write_file(file_in(t, "a"), ts, 4, NULL, 0);
    tmlp_status st = load_bad(t, "linear,relu,linear", &err);
    expect_error(st, &err, TMLP_ERR_SHAPE, "`2.weight`", "128x256", "784", NULL);
    assert_string_equal(err.message, "tensor `2.weight`: shape 128x256 does not match layer input 784");

    /* A bias whose length is not the weight's out. */
    ts[1] = f32_tensor("0.bias", 1, 783, 0, 0, zeros);
    write_file(file_in(t, "a"), ts, 2, NULL, 0);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_SHAPE, "`0.bias`", "783", "784x20",
                 NULL);
}

static void test_wrong_rank(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {TMLP_OK, ""};
    tmlp_st_write_tensor ts[] = {f32_tensor("0.weight", 3, 2, 3, 4, zeros),
                                 f32_tensor("0.bias", 1, 2, 0, 0, zeros)};
    write_file(file_in(t, "a"), ts, 2, NULL, 0);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_SHAPE, "`0.weight`", "rank 3",
                 "2x3x4", NULL);

    ts[0] = f32_tensor("0.weight", 1, 6, 0, 0, zeros);
    write_file(file_in(t, "a"), ts, 2, NULL, 0);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_SHAPE, "`0.weight`", "rank 1", NULL);

    ts[0] = f32_tensor("0.weight", 2, 2, 3, 0, zeros);
    ts[1] = f32_tensor("0.bias", 2, 2, 1, 0, zeros);
    write_file(file_in(t, "a"), ts, 2, NULL, 0);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_SHAPE, "`0.bias`", "rank 2", "2x1",
                 NULL);

    ts[1] = f32_tensor("0.bias", 0, 0, 0, 0, zeros); /* a scalar */
    write_file(file_in(t, "a"), ts, 2, NULL, 0);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_SHAPE, "`0.bias`", "rank 0", NULL);

    /* An empty dimension: a Dense with no outputs is not a layer. */
    ts[0] = f32_tensor("0.weight", 2, 0, 3, 0, zeros);
    ts[1] = f32_tensor("0.bias", 1, 0, 0, 0, zeros);
    write_file(file_in(t, "a"), ts, 2, NULL, 0);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_SHAPE, "`0.weight`", "0x3", NULL);
}

static void test_unsupported_dtype(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {TMLP_OK, ""};
    tmlp_st_write_tensor ts[] = {f32_tensor("0.weight", 2, 2, 3, 0, zeros),
                                 f32_tensor("0.bias", 1, 2, 0, 0, zeros)};
    ts[0].dtype = TMLP_ST_I32;
    write_file(file_in(t, "a"), ts, 2, NULL, 0);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_UNSUPPORTED, "`0.weight`", "I32",
                 NULL);
    ts[0].dtype = TMLP_ST_F32;
    ts[1].dtype = TMLP_ST_F64;
    write_file(file_in(t, "a"), ts, 2, NULL, 0);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_UNSUPPORTED, "`0.bias`", "F64",
                 NULL);
}

static void test_bad_preprocess_metadata(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {TMLP_OK, ""};
    const struct {
        const char *key, *value;
    } bad[] = {
        {"tinymlp.input_scale", "abc"}, {"tinymlp.input_scale", "0.5x"},
        {"tinymlp.input_scale", ""},    {"tinymlp.input_mean", "nan"},
        {"tinymlp.input_mean", "1e999"}, {"tinymlp.input_std", "0"},
        {"tinymlp.input_std", "-0.0"},  {"tinymlp.input_std", "inf"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tmlp_st_meta meta[] = {{(char *)"tinymlp.layers", (char *)"linear,relu,linear"},
                               {(char *)bad[i].key, (char *)bad[i].value}};
        write_mlp(file_in(t, "a"), NULL, NULL, meta, 2);
        expect_error(load_bad(t, NULL, &err), &err, TMLP_ERR_FORMAT, bad[i].key, NULL);
    }

    /* Good values, one key alone: the others keep their defaults. */
    tmlp_st_meta meta[] = {{(char *)"tinymlp.layers", (char *)"linear,relu,linear"},
                           {(char *)"tinymlp.input_mean", (char *)" -0.25"}};
    write_mlp(file_in(t, "a"), NULL, NULL, meta, 2);
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_load(file_in(t, "a"), NULL, &m, &err), TMLP_OK);
    tmlp_preprocess p = tmlp_model_preprocess(m);
    assert_int_equal(p.has_preprocess, 1);
    assert_true(p.scale == 1.0 && p.mean == -0.25 && p.std == 1.0);
    tmlp_model_destroy(m);
}

static void test_io_and_argument_errors(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {TMLP_OK, ""};
    tmlp_model *m = NULL;
    const char *path = file_in(t, "missing");
    expect_error(tmlp_model_load(path, NULL, &m, &err), &err, TMLP_ERR_IO, path, NULL);
    assert_null(m);

    expect_error(tmlp_model_load(NULL, NULL, &m, &err), &err, TMLP_ERR_ARG, "path", NULL);
    assert_int_equal(tmlp_model_load(file_in(t, "a"), NULL, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_model_save(NULL, file_in(t, "a"), NULL), TMLP_ERR_ARG);

    /* A container error passes through with its own code (here: trailing bytes). */
    write_mlp(file_in(t, "a"), NULL, NULL, NULL, 0);
    FILE *fp = fopen(file_in(t, "a"), "ab");
    assert_non_null(fp);
    fputc(0, fp);
    fclose(fp);
    expect_error(load_bad(t, "linear,relu,linear", &err), &err, TMLP_ERR_INCOMPLETE, NULL);

    /* A header that is not UTF-8, read from disk (tmlp_st_read hands its buffer to the
     * parser, which frees it on failure: the error message must not read it afterwards,
     * which ASan checks here). */
    static const unsigned char not_utf8[16] = {8, 0, 0, 0, 0, 0, 0, 0,
                                               '{', '"', 0xff, '"', ':', '1', '}', ' '};
    fp = fopen(file_in(t, "a"), "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(not_utf8, 1, sizeof not_utf8, fp), sizeof not_utf8);
    fclose(fp);
    expect_error(load_bad(t, "linear", &err), &err, TMLP_ERR_HEADER_UTF8, file_in(t, "a"), NULL);

    /* A model without any Dense cannot be saved: the file could not say its input width. */
    assert_int_equal(tmlp_model_create(4, NULL, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_relu(m, &err), TMLP_OK);
    expect_error(tmlp_model_save(m, file_in(t, "b"), &err), &err, TMLP_ERR_ARG, "no dense", NULL);
    tmlp_model_destroy(m);

    /* Saving into a directory that does not exist is an I/O error. */
    const int64_t widths[] = {2, 2};
    assert_int_equal(tmlp_model_random(widths, 2, 1, NULL, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_save(m, "/nonexistent-dir/x.safetensors", &err), TMLP_ERR_IO);
    tmlp_model_destroy(m);
}

/* A NaN or Inf weight is refused at load, naming the tensor and the first bad index;
 * allow_nonfinite loads it anyway. */
static void test_nonfinite_weights(void **state)
{
    test_tmpdir *t = *state;
    const char *path = file_in(t, "nan.safetensors");
    float w[2 * 3] = {1, 2, 3, 4, NAN, 6}, b[2] = {0, INFINITY};
    tmlp_model *m = NULL, *back = NULL;
    tmlp_error err = {0};
    assert_int_equal(tmlp_model_create(3, NULL, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 3, 2, w, b, &err), TMLP_OK);
    assert_int_equal(tmlp_model_save(m, path, &err), TMLP_OK);
    assert_int_equal(tmlp_model_load(path, NULL, &back, &err), TMLP_ERR_FORMAT);
    assert_null(back);
    assert_non_null(strstr(err.message, "tensor `0.weight`: element 4 is NaN"));
    tmlp_model_options o = tmlp_model_options_default();
    o.allow_nonfinite = 1;
    assert_int_equal(tmlp_model_load(path, &o, &back, &err), TMLP_OK);
    tmlp_model_destroy(back);
    back = NULL;
    tmlp_model_destroy(m);
    w[4] = 5; /* only the bias is bad now */
    assert_int_equal(tmlp_model_create(3, NULL, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_add_dense(m, 3, 2, w, b, &err), TMLP_OK);
    assert_int_equal(tmlp_model_save(m, path, &err), TMLP_OK);
    assert_int_equal(tmlp_model_load(path, NULL, &back, &err), TMLP_ERR_FORMAT);
    assert_non_null(strstr(err.message, "tensor `0.bias`: element 1 is +Inf"));
    tmlp_model_destroy(m);
}

int main(void)
{
    fill_params();
    const struct CMUnitTest tests[] = {
        TEST_IN_TMPDIR(test_roundtrip_bit_exact),
        TEST_IN_TMPDIR(test_saved_file_is_valid_safetensors),
        TEST_IN_TMPDIR(test_explicit_layers),
        TEST_IN_TMPDIR(test_loaded_dense_on_paper),
        TEST_IN_TMPDIR(test_f16_bf16_widened),
        TEST_IN_TMPDIR(test_unaligned_data),
        TEST_IN_TMPDIR(test_missing_weight_and_bias),
        TEST_IN_TMPDIR(test_extra_tensor),
        TEST_IN_TMPDIR(test_bad_layer_list),
        TEST_IN_TMPDIR(test_shapes_not_chaining),
        TEST_IN_TMPDIR(test_wrong_rank),
        TEST_IN_TMPDIR(test_unsupported_dtype),
        TEST_IN_TMPDIR(test_bad_preprocess_metadata),
        TEST_IN_TMPDIR(test_io_and_argument_errors),
        TEST_IN_TMPDIR(test_nonfinite_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
