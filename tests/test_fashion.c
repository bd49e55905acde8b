/* test_fashion.c — the shipped Fashion-MNIST model, cross-checked against PyTorch.
 *
 * models/fashion_mlp.safetensors is a 784-256-128-10 MLP
 *     "linear,relu,linear,relu,linear,softmax"
 * trained by tools/train_fashion_mlp.py, whose preprocessing x = (raw * scale - mean) / std
 * lives in the file's __metadata__. The same script wrote the fixture
 * tests/fixtures/fashion_ref_256.safetensors:
 *     x            U8  [256, 784]  the first 256 test images, raw pixels
 *     y            I32 [256]       their labels
 *     logits       F32 [256, 10]   PyTorch's output of module 4 (the last Linear, pre-softmax)
 *     probs        F32 [256, 10]   softmax(logits) = the full model's output
 *     test_correct I32 []          PyTorch's correct count over all 10,000 test images
 *
 * What is checked:
 *   - the engine, fed RAW uint8 images through tmlp_session_forward_u8 (so the model's own
 *     preprocessing is exercised), reproduces PyTorch's logits to max |d| <= 1e-4 with the
 *     same argmax, at batch 1 and at batch 256. The logits come from loading the file with
 *     the explicit layer list "linear,relu,linear,relu,linear" (`tmlp_model_options.layers`
 *     overrides the metadata), the probabilities from the file's own list;
 *   - over all 10,000 test images from /usr/share/datasets/fashion-mnist the engine's
 *     correct count is within 2 of PyTorch's (summation order may flip a near tie);
 *     skipped, with a message, only when the data set package is not installed
 *     (TMLP_FASHION_MNIST_DIR in the environment overrides the directory);
 *   - when meson runs it for one SIMD kernel (TMLP_KERNELS = avx2, avx512, neon, ...): the same
 *     10,000 images with BF16 and with INT8 weights on that kernel, whose counts must be within
 *     2 of the scalar reference kernel's (8,972 and 8,974, on x86-64 and under qemu on arm64).
 *
 * Paths: the test gets TMLP_FIXTURES = <source>/tests/fixtures from meson; the model is
 * $TMLP_FIXTURES/../../models/fashion_mlp.safetensors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/safetensors.h"
#include "tinymlp/data.h"
#include "tinymlp/model.h"
#include "tmpdir.h" /* test_path_join */

#define N_REF 256
#define IN_W 784
#define OUT_W 10
#define LOGIT_TOL 1e-4f
#define PROB_TOL 1e-4f
#define ACCURACY_SLACK 2
#define LAYERS_FULL "linear,relu,linear,relu,linear,softmax"
#define LAYERS_LOGITS "linear,relu,linear,relu,linear"

/* The fixture, copied out of the file into aligned arrays. */
typedef struct fixture {
    uint8_t x[N_REF * IN_W];
    int32_t y[N_REF];
    float logits[N_REF * OUT_W];
    float probs[N_REF * OUT_W];
    int32_t test_correct;
    char model_path[4096];
    /* Objects of the running test, released by release_objects() even when an assertion
     * fails part-way (cmocka runs a test's teardown after a failure). */
    tmlp_model *model;
    tmlp_session *session;
    tmlp_dataset *data;
} fixture;

/* The fixture's tensor `name`, or NULL (with a message) if absent or of the wrong kind. */
static const tmlp_st_tensor *fixture_tensor(const tmlp_st_file *f, const char *name,
                                            tmlp_st_dtype dtype, uint64_t numel)
{
    const tmlp_st_tensor *t = tmlp_st_find(f, name);
    if (t == NULL) {
        print_error("fixture has no tensor `%s`\n", name);
        return NULL;
    }
    if (t->dtype != dtype || t->numel != numel) {
        print_error("fixture tensor `%s`: dtype %s with %llu elements, expected %s with %llu\n",
                    name, tmlp_st_dtype_name(t->dtype), (unsigned long long)t->numel,
                    tmlp_st_dtype_name(dtype), (unsigned long long)numel);
        return NULL;
    }
    return t;
}

/* Group setup: read the fixture once (no cmocka asserts here: a failure returns -1 and
 * cmocka reports the group as failed). */
static int fixture_setup(void **state)
{
    const char *dir = getenv("TMLP_FIXTURES");
    if (dir == NULL) {
        print_error("TMLP_FIXTURES is not set (run through meson test)\n");
        return -1;
    }
    fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL) {
        return -1;
    }
    char path[4096];
    if (!test_path_join(path, sizeof path, dir, "fashion_ref_256.safetensors") ||
        !test_path_join(fx->model_path, sizeof fx->model_path, dir,
                   "../../models/fashion_mlp.safetensors")) {
        print_error("TMLP_FIXTURES path too long\n");
        free(fx);
        return -1;
    }

    tmlp_st_file *f = NULL;
    tmlp_error err = {0};
    tmlp_status s = tmlp_st_read(path, NULL, &f, &err);
    if (s != TMLP_OK) {
        print_error("cannot read %s: %s\n", path, err.message);
        free(fx);
        return -1;
    }
    const tmlp_st_tensor *x = fixture_tensor(f, "x", TMLP_ST_U8, (uint64_t)N_REF * IN_W);
    const tmlp_st_tensor *y = fixture_tensor(f, "y", TMLP_ST_I32, N_REF);
    const tmlp_st_tensor *lg = fixture_tensor(f, "logits", TMLP_ST_F32, (uint64_t)N_REF * OUT_W);
    const tmlp_st_tensor *pr = fixture_tensor(f, "probs", TMLP_ST_F32, (uint64_t)N_REF * OUT_W);
    const tmlp_st_tensor *tc = fixture_tensor(f, "test_correct", TMLP_ST_I32, 1);
    int ok = x && y && lg && pr && tc;
    if (ok) {
        /* The file is little-endian and so is every machine this project targets (x86-64). */
        memcpy(fx->x, x->data, sizeof fx->x);
        memcpy(fx->y, y->data, sizeof fx->y);
        memcpy(&fx->test_correct, tc->data, sizeof fx->test_correct);
        ok = tmlp_st_to_f32(lg, fx->logits, NULL) == TMLP_OK &&
             tmlp_st_to_f32(pr, fx->probs, NULL) == TMLP_OK;
    }
    tmlp_st_free(f);
    if (!ok) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    free(*state);
    return 0;
}

static int release_objects(void **state)
{
    fixture *fx = *state;
    tmlp_session_destroy(fx->session);
    tmlp_model_destroy(fx->model);
    tmlp_dataset_destroy(fx->data);
    fx->session = NULL;
    fx->model = NULL;
    fx->data = NULL;
    return 0;
}

/* Load the shipped model into fx->model (released by release_objects). */
static tmlp_model *load_model(fixture *fx, const char *layers)
{
    tmlp_model *m = NULL;
    tmlp_error err = {0};
    tmlp_model_options o = tmlp_model_options_default();
    o.layers = layers;
    tmlp_status s = tmlp_model_load(fx->model_path, &o, &m, &err);
    if (s != TMLP_OK) {
        fail_msg("tmlp_model_load(%s, layers %s): %s: %s", fx->model_path, layers ? layers : "NULL",
                 tmlp_status_str(s), err.message);
    }
    fx->model = m;
    return m;
}

/* Compare rows [row0, row0 + rows) of got (rows, OUT_W) with want; print the first few
 * mismatches (index, got, expected); return the largest |difference|. Also count rows
 * whose argmax differs. */
static float compare_rows(const float *got, const float *want, int64_t row0, int64_t rows,
                          float tol, int *argmax_diffs, int *printed)
{
    float worst = 0.0f;
    for (int64_t r = 0; r < rows; r++) {
        const float *g = got + r * OUT_W;
        const float *w = want + (row0 + r) * OUT_W;
        for (int j = 0; j < OUT_W; j++) {
            float d = g[j] > w[j] ? g[j] - w[j] : w[j] - g[j];
            if (!(d <= worst)) {
                worst = d; /* also catches NaN: NaN <= x is false */
            }
            if (!(d <= tol) && *printed < 5) {
                print_error("  image %lld class %d: got %.8g expected %.8g (|d| %.3g)\n",
                            (long long)(row0 + r), j, (double)g[j], (double)w[j], (double)d);
                (*printed)++;
            }
        }
        if (tmlp_argmax(g, OUT_W) != tmlp_argmax(w, OUT_W)) {
            (*argmax_diffs)++;
        }
    }
    return worst;
}

/* The model file says what it is: shape, layer list, preprocessing, parameter count. */
static void test_model_metadata(void **state)
{
    fixture *fx = *state;
    tmlp_model *m = load_model(fx, NULL);
    assert_int_equal(tmlp_model_input_width(m), IN_W);
    assert_int_equal(tmlp_model_output_width(m), OUT_W);
    assert_int_equal(tmlp_model_layer_count(m), 6);
    char buf[128];
    assert_int_equal(tmlp_model_layers_string(m, buf, sizeof buf, NULL), TMLP_OK);
    assert_string_equal(buf, LAYERS_FULL);

    int64_t params = 0;
    for (int i = 0; i < tmlp_model_layer_count(m); i++) {
        tmlp_layer_info info;
        assert_int_equal(tmlp_model_layer_info(m, i, &info, NULL), TMLP_OK);
        params += info.param_count;
    }
    /* 784*256+256 + 256*128+128 + 128*10+10 */
    assert_int_equal(params, 235146);

    tmlp_preprocess p = tmlp_model_preprocess(m);
    assert_int_equal(p.has_preprocess, 1);
    assert_true(p.scale == 1.0 / 255.0);
    /* The training set's pixel mean and std of raw/255 (Fashion-MNIST: ~0.286, ~0.353). */
    assert_true(p.mean > 0.28 && p.mean < 0.29);
    assert_true(p.std > 0.35 && p.std < 0.36);
}

/* Forward the 256 raw images in batches of `batch` through a model loaded with `layers`
 * and compare with `want`. */
static void check_against(fixture *fx, const char *layers, int64_t batch,
                          const float *want, float tol, const char *what)
{
    tmlp_model *m = load_model(fx, layers);
    assert_int_equal(tmlp_session_create(m, batch, &fx->session, NULL), TMLP_OK);
    tmlp_session *s = fx->session;

    float worst = 0.0f;
    int argmax_diffs = 0, printed = 0;
    for (int64_t b0 = 0; b0 < N_REF; b0 += batch) {
        int64_t rows = N_REF - b0 < batch ? N_REF - b0 : batch;
        tmlp_tensor out;
        assert_int_equal(tmlp_session_forward_u8(s, fx->x + b0 * IN_W, rows, &out, NULL), TMLP_OK);
        assert_int_equal(out.dtype, TMLP_DTYPE_F32);
        assert_int_equal(out.shape[0], rows);
        assert_int_equal(out.shape[out.ndim - 1], OUT_W);
        float d = compare_rows(out.data, want, b0, rows, tol, &argmax_diffs, &printed);
        if (!(d <= worst)) {
            worst = d;
        }
    }
    print_message("%s, batch %lld: max |d| = %.3g over %d images, %d argmax differences\n",
                  what, (long long)batch, (double)worst, N_REF, argmax_diffs);
    assert_true(worst <= tol);
    assert_int_equal(argmax_diffs, 0);
}

/* Batch 1 and batch 256 take different BLAS kernels (sgemv vs sgemm): both must agree. */
static void test_logits_batch1(void **state)
{
    fixture *fx = *state;
    check_against(fx, LAYERS_LOGITS, 1, fx->logits, LOGIT_TOL, "logits vs PyTorch");
}

static void test_logits_batch256(void **state)
{
    fixture *fx = *state;
    check_against(fx, LAYERS_LOGITS, N_REF, fx->logits, LOGIT_TOL, "logits vs PyTorch");
}

/* The file's own layer list ends in softmax: its output is PyTorch's probabilities. */
static void test_probs_batch256(void **state)
{
    fixture *fx = *state;
    check_against(fx, NULL, N_REF, fx->probs, PROB_TOL, "softmax vs PyTorch");
}

/* All 10,000 test images at batch 256; the fixture's first 256 images and labels must be
 * the data set's (guards against a stale fixture). */
static void test_accuracy_10000(void **state)
{
    fixture *fx = *state;
    /* TMLP_FASHION_MNIST_DIR in the environment overrides the Debian location (set it to a
     * missing directory to see the skip). */
    const char *dir = getenv("TMLP_FASHION_MNIST_DIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = TMLP_FASHION_MNIST_DIR;
    }
    char images[4096], labels[4096];
    assert_true(test_path_join(images, sizeof images, dir, "t10k-images-idx3-ubyte.gz"));
    assert_true(test_path_join(labels, sizeof labels, dir, "t10k-labels-idx1-ubyte.gz"));
    if (access(images, R_OK) != 0 || access(labels, R_OK) != 0) {
        print_message("SKIP: %s not found: install Debian's dataset-fashion-mnist package "
                      "to run the 10,000-image accuracy check\n", images);
        skip();
    }

    tmlp_error err = {0};
    tmlp_status st = tmlp_dataset_load_idx(images, labels, NULL, &fx->data, &err);
    if (st != TMLP_OK) {
        fail_msg("tmlp_dataset_load_idx: %s: %s", tmlp_status_str(st), err.message);
    }
    const tmlp_dataset *d = fx->data;
    assert_int_equal(d->count, 10000);
    assert_int_equal(d->width, IN_W);
    assert_int_equal(d->dtype, TMLP_DTYPE_U8);
    assert_non_null(d->labels);
    assert_memory_equal(d->u8, fx->x, sizeof fx->x);
    assert_memory_equal(d->labels, fx->y, sizeof fx->y);

    tmlp_model *m = load_model(fx, NULL);
    assert_int_equal(tmlp_session_create(m, N_REF, &fx->session, NULL), TMLP_OK);
    tmlp_session *s = fx->session;
    int64_t correct = 0;
    for (int64_t b0 = 0; b0 < d->count; b0 += N_REF) {
        int64_t rows = d->count - b0 < N_REF ? d->count - b0 : N_REF;
        tmlp_tensor out;
        assert_int_equal(tmlp_session_forward_u8(s, d->u8 + b0 * IN_W, rows, &out, NULL), TMLP_OK);
        for (int64_t r = 0; r < rows; r++) {
            if (tmlp_argmax(out.data + r * OUT_W, OUT_W) == d->labels[b0 + r]) {
                correct++;
            }
        }
    }
    print_message("C engine test accuracy: %lld/%lld = %.4f (PyTorch: %d/10000 = %.4f)\n",
                  (long long)correct, (long long)d->count, (double)correct / (double)d->count,
                  fx->test_correct, fx->test_correct / 10000.0);
    int64_t diff = correct - fx->test_correct;
    assert_true(diff >= -ACCURACY_SLACK && diff <= ACCURACY_SLACK);
    /* The shipped model beats the published "MLP 256-128-100" row (0.8833). */
    assert_true(correct >= 8850);
}

/* The 10,000 test images at BF16 and INT8 on the kernel TMLP_KERNELS names (SIMD kernels only:
 * the scalar one is the reference these counts come from, blas has no reduced precision). */
static void test_accuracy_lowp(void **state)
{
    fixture *fx = *state;
    const char *kenv = getenv("TMLP_KERNELS");
    if (!kenv || !*kenv || !strcmp(kenv, "scalar") || !strcmp(kenv, "blas") || !strcmp(kenv, "auto")) {
        print_message("SKIP: BF16/INT8 accuracy: runs when TMLP_KERNELS names a SIMD kernel\n");
        skip();
    }
    const char *dir = getenv("TMLP_FASHION_MNIST_DIR");
    if (dir == NULL || dir[0] == '\0') dir = TMLP_FASHION_MNIST_DIR;
    char images[4096], labels[4096];
    assert_true(test_path_join(images, sizeof images, dir, "t10k-images-idx3-ubyte.gz"));
    assert_true(test_path_join(labels, sizeof labels, dir, "t10k-labels-idx1-ubyte.gz"));
    if (access(images, R_OK) != 0 || access(labels, R_OK) != 0) {
        print_message("SKIP: %s not found (dataset-fashion-mnist)\n", images);
        skip();
    }
    tmlp_error err = {0};
    if (tmlp_dataset_load_idx(images, labels, NULL, &fx->data, &err) != TMLP_OK) fail_msg("%s", err.message);
    const tmlp_dataset *d = fx->data;
    const tmlp_precision precs[2] = {TMLP_PRECISION_BF16, TMLP_PRECISION_INT8};
    const int64_t want[2] = {8972, 8974}; /* the scalar kernel's counts */
    for (int i = 0; i < 2; i++) {
        tmlp_model_options o = tmlp_model_options_default();
        o.precision = precs[i];
        tmlp_status st = tmlp_model_load(fx->model_path, &o, &fx->model, &err);
        if (st != TMLP_OK) fail_msg("load at %s: %s", tmlp_precision_name(precs[i]), err.message);
        tmlp_kernel_info ki;
        assert_int_equal(tmlp_model_kernel_info(fx->model, &ki, NULL), TMLP_OK);
        assert_int_equal(tmlp_session_create(fx->model, N_REF, &fx->session, NULL), TMLP_OK);
        int64_t correct = 0;
        for (int64_t b0 = 0; b0 < d->count; b0 += N_REF) {
            const int64_t rows = d->count - b0 < N_REF ? d->count - b0 : N_REF;
            tmlp_tensor out;
            assert_int_equal(tmlp_session_forward_u8(fx->session, d->u8 + b0 * IN_W, rows, &out, NULL), TMLP_OK);
            for (int64_t r = 0; r < rows; r++)
                correct += tmlp_argmax(out.data + r * OUT_W, OUT_W) == d->labels[b0 + r];
        }
        print_message("%s %s (%s): %lld/10000 (scalar reference %lld)\n", ki.name,
                      tmlp_precision_name(precs[i]), ki.isa, (long long)correct, (long long)want[i]);
        assert_true(correct >= want[i] - ACCURACY_SLACK && correct <= want[i] + ACCURACY_SLACK);
        tmlp_session_destroy(fx->session);
        fx->session = NULL;
        tmlp_model_destroy(fx->model);
        fx->model = NULL;
    }
}

int main(void)
{
    /* run again per kernel by meson (TMLP_KERNELS); SKIP (77) if this CPU lacks it */
    tmlp_kernel k;
    const char *kenv = getenv("TMLP_KERNELS");
    if (kenv && tmlp_kernel_parse(kenv, &k, NULL) == TMLP_OK && !tmlp_kernel_available(k)) {
        printf("SKIP: TMLP_KERNELS=%s: this CPU lacks that kernel\n", kenv);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_model_metadata, release_objects),
        cmocka_unit_test_teardown(test_logits_batch1, release_objects),
        cmocka_unit_test_teardown(test_logits_batch256, release_objects),
        cmocka_unit_test_teardown(test_probs_batch256, release_objects),
        cmocka_unit_test_teardown(test_accuracy_10000, release_objects),
        cmocka_unit_test_teardown(test_accuracy_lowp, release_objects),
    };
    return cmocka_run_group_tests_name("fashion", tests, fixture_setup, fixture_teardown);
}
