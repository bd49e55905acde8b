/* test_dataset.c — data sets (src/io/dataset.c): IDX image/label pairs, safetensors (x, y),
 * seeded synthetic inputs, and the real Fashion-MNIST test set when Debian's
 * dataset-fashion-mnist package is installed (skipped with a message otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "tmpdir.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Write an IDX file (gzip when gz != 0): dims big-endian, then `data`. */
static void write_idx(const char *path, int gz, int ndim, const uint32_t *dims,
                      const uint8_t *data, size_t n)
{
    uint8_t hdr[20] = {0, 0, 0x08, (uint8_t)ndim};
    for (int i = 0; i < ndim; i++) {
        hdr[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        hdr[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        hdr[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        hdr[7 + 4 * i] = (uint8_t)dims[i];
    }
    size_t hl = 4 + 4 * (size_t)ndim;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, hdr, (unsigned)hl), (int)hl);
        if (n) assert_int_equal(gzwrite(f, data, (unsigned)n), (int)n);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(hdr, 1, hl, f), hl);
        if (n) assert_int_equal(fwrite(data, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
    }
}

/* ---- IDX pairs -------------------------------------------------------------------------- */

static const uint8_t PIX[12] = {0, 1, 2, 3, 10, 11, 12, 13, 250, 251, 252, 255};
static const uint8_t LAB[3] = {4, 0, 7};

static void test_idx_pair(void **state)
{
    test_tmpdir *tmp = *state;
    char ip[512], lp[512];
    const uint32_t idims[3] = {3, 2, 2}, ldims[1] = {3};
    write_idx(test_tmpdir_join(tmp, "img.gz", ip, sizeof ip), 1, 3, idims, PIX, 12);
    write_idx(test_tmpdir_join(tmp, "lab", lp, sizeof lp), 0, 1, ldims, LAB, 3);
    tmlp_dataset *d = NULL;
    tmlp_error err;
    assert_int_equal(tmlp_dataset_load_idx(ip, lp, NULL, &d, &err), TMLP_OK);
    assert_int_equal(d->count, 3);
    assert_int_equal(d->width, 4);
    assert_int_equal(d->dtype, TMLP_DTYPE_U8);
    assert_null(d->f32);
    assert_memory_equal(d->u8, PIX, 12);
    assert_int_equal(d->labels[0], 4);
    assert_int_equal(d->labels[1], 0);
    assert_int_equal(d->labels[2], 7);
    assert_int_equal(d->n_classes, 8);
    tmlp_dataset_destroy(d);
    /* Without labels. */
    assert_int_equal(tmlp_dataset_load_idx(ip, NULL, NULL, &d, &err), TMLP_OK);
    assert_null(d->labels);
    assert_int_equal(d->n_classes, 0);
    tmlp_dataset_destroy(d);
    tmlp_dataset_destroy(NULL);
}

static void test_idx_pair_errors(void **state)
{
    test_tmpdir *tmp = *state;
    char ip[512], lp[512], p[512];
    const uint32_t idims[3] = {3, 2, 2}, l2[1] = {2}, lbad[2] = {3, 1}, i1[1] = {12},
                   i0[3] = {0, 2, 2};
    write_idx(test_tmpdir_join(tmp, "img", ip, sizeof ip), 0, 3, idims, PIX, 12);
    write_idx(test_tmpdir_join(tmp, "lab2", lp, sizeof lp), 0, 1, l2, LAB, 2);
    tmlp_dataset *d = NULL;
    tmlp_error err;
    assert_int_equal(tmlp_dataset_load_idx(ip, lp, NULL, &d, &err), TMLP_ERR_COUNT_MISMATCH);
    assert_null(d);
    assert_non_null(strstr(err.message, "3 images"));
    assert_non_null(strstr(err.message, "2 labels"));
    write_idx(test_tmpdir_join(tmp, "lab2d", lp, sizeof lp), 0, 2, lbad, LAB, 3);
    assert_int_equal(tmlp_dataset_load_idx(ip, lp, NULL, &d, &err), TMLP_ERR_SHAPE);
    write_idx(test_tmpdir_join(tmp, "img1d", p, sizeof p), 0, 1, i1, PIX, 12);
    assert_int_equal(tmlp_dataset_load_idx(p, NULL, NULL, &d, &err), TMLP_ERR_SHAPE);
    write_idx(test_tmpdir_join(tmp, "img0", p, sizeof p), 0, 3, i0, NULL, 0);
    assert_int_equal(tmlp_dataset_load_idx(p, NULL, NULL, &d, &err), TMLP_ERR_FORMAT);
    assert_non_null(strstr(err.message, "empty"));
    /* Errors of either file come through with their own status. */
    test_tmpdir_join(tmp, "nope", p, sizeof p);
    assert_int_equal(tmlp_dataset_load_idx(p, NULL, NULL, &d, &err), TMLP_ERR_IO);
    assert_int_equal(tmlp_dataset_load_idx(ip, p, NULL, &d, &err), TMLP_ERR_IO);
    assert_int_equal(tmlp_dataset_load_idx(NULL, NULL, NULL, &d, &err), TMLP_ERR_ARG);
    assert_int_equal(tmlp_dataset_load_idx(ip, NULL, NULL, NULL, &err), TMLP_ERR_ARG);
    assert_null(d);
}

static void test_idx_pair_oom(void **state)
{
    test_tmpdir *tmp = *state;
    char ip[512], lp[512];
    const uint32_t idims[3] = {3, 2, 2}, ldims[1] = {3};
    write_idx(test_tmpdir_join(tmp, "img", ip, sizeof ip), 0, 3, idims, PIX, 12);
    write_idx(test_tmpdir_join(tmp, "lab", lp, sizeof lp), 1, 1, ldims, LAB, 3);
    test_alloc ta;
    tmlp_allocator a = test_alloc_hook(&ta);
    tmlp_dataset *d = NULL;
    test_alloc_init(&ta, -1);
    assert_int_equal(tmlp_dataset_load_idx(ip, lp, &a, &d, NULL), TMLP_OK);
    tmlp_dataset_destroy(d);
    long total = ta.calls;
    assert_int_equal(ta.allocs, ta.frees);
    for (long k = 0; k < total; k++) {
        test_alloc_init(&ta, k);
        assert_int_equal(tmlp_dataset_load_idx(ip, lp, &a, &d, NULL), TMLP_ERR_NOMEM);
        assert_null(d);
        assert_int_equal(ta.allocs, ta.frees);
    }
}

/* ---- the real Fashion-MNIST test set ------------------------------------------------------ */

static void test_fashion_mnist_t10k(void **state)
{
    (void)state;
    const char *ip = TMLP_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz";
    const char *lp = TMLP_FASHION_MNIST_DIR "/t10k-labels-idx1-ubyte.gz";
    if (access(ip, R_OK) != 0 || access(lp, R_OK) != 0) {
        fprintf(stderr, "SKIP: %s not installed (apt-get install dataset-fashion-mnist)\n",
                TMLP_FASHION_MNIST_DIR);
        skip();
    }
    tmlp_dataset *d = NULL;
    tmlp_error err;
    tmlp_status s = tmlp_dataset_load_idx(ip, lp, NULL, &d, &err);
    if (s != TMLP_OK) print_error("%s\n", err.message);
    assert_int_equal(s, TMLP_OK);
    assert_int_equal(d->count, 10000);
    assert_int_equal(d->width, 28 * 28);
    assert_int_equal(d->n_classes, 10);
    /* Values read independently with Python's gzip module: the first ten test labels, the
     * pixel sum of the first image, and 1000 images per class. */
    const int32_t first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    for (int i = 0; i < 10; i++) assert_int_equal(d->labels[i], first[i]);
    assert_string_equal(tmlp_fashion_class_name(d->labels[0]), "Ankle boot");
    long sum = 0;
    for (int i = 0; i < 784; i++) sum += d->u8[i];
    assert_int_equal(sum, 33456);
    int per_class[10] = {0};
    for (int64_t i = 0; i < d->count; i++) {
        assert_in_range(d->labels[i], 0, 9);
        per_class[d->labels[i]]++;
    }
    for (int c = 0; c < 10; c++) assert_int_equal(per_class[c], 1000);
    tmlp_dataset_destroy(d);
}

static void test_fashion_class_names(void **state)
{
    (void)state;
    const char *want[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    for (int i = 0; i < 10; i++) assert_string_equal(tmlp_fashion_class_name(i), want[i]);
    assert_string_equal(tmlp_fashion_class_name(-1), "unknown");
    assert_string_equal(tmlp_fashion_class_name(10), "unknown");
}

/* ---- safetensors (x, y) -------------------------------------------------------------------- */

static tmlp_status write_xy(const char *path, tmlp_st_dtype xd, int xndim, uint64_t n,
                            uint64_t w, const void *x, const char *yname, tmlp_st_dtype yd,
                            uint64_t yn, const void *y)
{
    tmlp_st_write_tensor t[2] = {
        {"x", xd, xndim, {n, w}, x},
        {yname, yd, 1, {yn}, y},
    };
    return tmlp_st_write(path, t, yname ? 2 : 1, NULL, 0, NULL, NULL);
}

static void test_safetensors_f32_u8(void **state)
{
    test_tmpdir *tmp = *state;
    const char *p = test_tmpdir_path(tmp, "xy.safetensors");
    const float x[6] = {0.5f, -1, 2, 3, 1e-7f, 65504};
    const int64_t y[3] = {2, 0, 5};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, "y", TMLP_ST_I64, 3, y), TMLP_OK);
    tmlp_dataset *d = NULL;
    tmlp_error err;
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_OK);
    assert_int_equal(d->count, 3);
    assert_int_equal(d->width, 2);
    assert_int_equal(d->dtype, TMLP_DTYPE_F32);
    assert_null(d->u8);
    assert_int_equal(check_tensor("x", d->f32, x, 6, 0, 0), 0);
    assert_int_equal(d->labels[0], 2);
    assert_int_equal(d->labels[1], 0);
    assert_int_equal(d->labels[2], 5);
    assert_int_equal(d->n_classes, 6);
    tmlp_dataset_destroy(d);

    const uint8_t xu[4] = {0, 128, 255, 7};
    const uint8_t yu[2] = {1, 1};
    assert_int_equal(write_xy(p, TMLP_ST_U8, 2, 2, 2, xu, "y", TMLP_ST_U8, 2, yu), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_OK);
    assert_int_equal(d->dtype, TMLP_DTYPE_U8);
    assert_memory_equal(d->u8, xu, 4);
    assert_int_equal(d->n_classes, 2);
    tmlp_dataset_destroy(d);

    /* Without y; and with other integer label dtypes. */
    assert_int_equal(write_xy(p, TMLP_ST_U8, 2, 2, 2, xu, NULL, TMLP_ST_U8, 0, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_OK);
    assert_null(d->labels);
    assert_int_equal(d->n_classes, 0);
    tmlp_dataset_destroy(d);
    const int16_t y16[2] = {300, 3};
    assert_int_equal(write_xy(p, TMLP_ST_U8, 2, 2, 2, xu, "y", TMLP_ST_I16, 2, y16), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_OK);
    assert_int_equal(d->labels[0], 300);
    assert_int_equal(d->n_classes, 301);
    tmlp_dataset_destroy(d);
    const uint32_t y32[2] = {2147483647u, 0};
    assert_int_equal(write_xy(p, TMLP_ST_U8, 2, 2, 2, xu, "y", TMLP_ST_U32, 2, y32), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_OK);
    assert_int_equal(d->labels[0], 2147483647);
    tmlp_dataset_destroy(d);
}

static void test_safetensors_errors(void **state)
{
    test_tmpdir *tmp = *state;
    const char *p = test_tmpdir_path(tmp, "bad.safetensors");
    const float x[6] = {0};
    const uint8_t xu[4] = {0};
    tmlp_dataset *d = NULL;
    tmlp_error err;

    /* non-finite inputs are refused with the sample and column */
    const float xnan[6] = {0, 1, 2, NAN, 4, 5};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, xnan, NULL, TMLP_ST_U8, 0, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_FORMAT);
    assert_non_null(strstr(err.message, "x[1][1] is NaN"));
    const float xinf[6] = {0, 1, 2, 3, 4, -INFINITY};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, xinf, NULL, TMLP_ST_U8, 0, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_FORMAT);
    assert_non_null(strstr(err.message, "x[2][1] is Inf"));

    const int32_t neg[3] = {1, -1, 0};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, "y", TMLP_ST_I32, 3, neg), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_FORMAT);
    assert_non_null(strstr(err.message, "y[1] = -1"));
    const int64_t big[3] = {0, 0, 2147483648LL};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, "y", TMLP_ST_I64, 3, big), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_FORMAT);
    assert_non_null(strstr(err.message, "y[2] = 2147483648"));
    const uint64_t huge[3] = {0, UINT64_MAX, 0};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, "y", TMLP_ST_U64, 3, huge), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_FORMAT);
    const float yf[3] = {0};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, "y", TMLP_ST_F32, 3, yf), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_UNSUPPORTED);
    const int32_t y2[2] = {0};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, "y", TMLP_ST_I32, 2, y2), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_COUNT_MISMATCH);
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, "z", TMLP_ST_I32, 2, y2), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_OK); /* z ignored */
    tmlp_dataset_destroy(d);
    d = NULL;
    /* x: missing, wrong rank, wrong dtype, empty. */
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, NULL, TMLP_ST_U8, 0, NULL), TMLP_OK);
    tmlp_st_write_tensor only_w = {"w", TMLP_ST_F32, 1, {6}, x};
    assert_int_equal(tmlp_st_write(p, &only_w, 1, NULL, 0, NULL, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_MISSING_TENSOR);
    assert_int_equal(write_xy(p, TMLP_ST_F32, 1, 6, 0, x, NULL, TMLP_ST_U8, 0, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_SHAPE);
    assert_int_equal(write_xy(p, TMLP_ST_I8, 2, 2, 2, xu, NULL, TMLP_ST_U8, 0, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_UNSUPPORTED);
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 0, 5, NULL, NULL, TMLP_ST_U8, 0, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_load_safetensors(p, NULL, &d, &err), TMLP_ERR_FORMAT);
    /* File-level errors pass through. */
    assert_int_equal(tmlp_dataset_load_safetensors(test_tmpdir_path(tmp, "none"), NULL, &d, &err),
                     TMLP_ERR_IO);
    assert_int_equal(tmlp_dataset_load_safetensors(NULL, NULL, &d, &err), TMLP_ERR_ARG);
    assert_null(d);
}

static void test_safetensors_oom(void **state)
{
    test_tmpdir *tmp = *state;
    const char *p = test_tmpdir_path(tmp, "oom.safetensors");
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const int64_t y[3] = {2, 0, 5};
    assert_int_equal(write_xy(p, TMLP_ST_F32, 2, 3, 2, x, "y", TMLP_ST_I64, 3, y), TMLP_OK);
    test_alloc ta;
    tmlp_allocator a = test_alloc_hook(&ta);
    tmlp_dataset *d = NULL;
    test_alloc_init(&ta, -1);
    assert_int_equal(tmlp_dataset_load_safetensors(p, &a, &d, NULL), TMLP_OK);
    tmlp_dataset_destroy(d);
    long total = ta.calls;
    assert_int_equal(ta.allocs, ta.frees);
    for (long k = 0; k < total; k++) {
        test_alloc_init(&ta, k);
        assert_int_equal(tmlp_dataset_load_safetensors(p, &a, &d, NULL), TMLP_ERR_NOMEM);
        assert_null(d);
        assert_int_equal(ta.allocs, ta.frees);
    }
}

/* ---- synthetic --------------------------------------------------------------------------- */

static void test_synthetic(void **state)
{
    (void)state;
    tmlp_dataset *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(tmlp_dataset_synthetic(100, 784, 42, NULL, &a, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_synthetic(100, 784, 42, NULL, &b, NULL), TMLP_OK);
    assert_int_equal(tmlp_dataset_synthetic(100, 784, 43, NULL, &c, NULL), TMLP_OK);
    assert_int_equal(a->count, 100);
    assert_int_equal(a->width, 784);
    assert_int_equal(a->dtype, TMLP_DTYPE_F32);
    assert_null(a->labels);
    assert_int_equal(a->n_classes, 0);
    assert_memory_equal(a->f32, b->f32, 100 * 784 * sizeof(float));
    assert_memory_not_equal(a->f32, c->f32, 100 * 784 * sizeof(float));
    double sum = 0;
    for (int i = 0; i < 100 * 784; i++) {
        assert_true(a->f32[i] >= 0.0f && a->f32[i] < 1.0f);
        sum += a->f32[i];
    }
    /* Mean of 78,400 U(0,1) draws: 0.5 with standard error 0.001. */
    assert_true(fabs(sum / (100 * 784) - 0.5) < 0.01);
    /* Pinned to the generator: xoshiro256** seeded by splitmix64(42), top 24 bits. */
    tmlp_rng r;
    tmlp_rng_seed(&r, 42);
    float first = (float)(tmlp_rng_next(&r) >> 40) * 0x1p-24f;
    assert_true(a->f32[0] == first);
    tmlp_dataset_destroy(a);
    tmlp_dataset_destroy(b);
    tmlp_dataset_destroy(c);

    tmlp_dataset *d = NULL;
    assert_int_equal(tmlp_dataset_synthetic(0, 10, 1, NULL, &d, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_dataset_synthetic(10, -1, 1, NULL, &d, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_dataset_synthetic(10, 10, 1, NULL, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_dataset_synthetic(INT64_MAX, INT64_MAX, 1, NULL, &d, NULL), TMLP_ERR_NOMEM);
    assert_null(d);
    test_alloc ta;
    tmlp_allocator al = test_alloc_hook(&ta);
    for (long k = 0; k < 2; k++) {
        test_alloc_init(&ta, k);
        assert_int_equal(tmlp_dataset_synthetic(3, 3, 1, &al, &d, NULL), TMLP_ERR_NOMEM);
        assert_int_equal(ta.allocs, ta.frees);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_pair),
        cmocka_unit_test(test_idx_pair_errors),
        cmocka_unit_test(test_idx_pair_oom),
        cmocka_unit_test(test_fashion_mnist_t10k),
        cmocka_unit_test(test_fashion_class_names),
        cmocka_unit_test(test_safetensors_f32_u8),
        cmocka_unit_test(test_safetensors_errors),
        cmocka_unit_test(test_safetensors_oom),
        cmocka_unit_test(test_synthetic),
    };
    return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
