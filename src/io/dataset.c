/* dataset.c — data sets for inference: N samples of `width` values plus optional labels.
 *
 * Three sources, one struct (include/tinymlp/data.h):
 *   - IDX images (N, rows, cols) + labels (N)  -> U8 samples of width rows*cols, int32 labels.
 *     The pixel block is adopted from the IDX loader, not copied (47 MB for MNIST train).
 *   - .safetensors with "x" [N, width] (F32 or U8) and optional "y" [N] (any integer dtype,
 *     each value checked to lie in 0 .. 2^31-1) -> F32 or U8 samples, int32 labels.
 *   - synthetic: N x width floats uniform in [0, 1) from tmlp_rng (xoshiro256**) seeded with
 *     `seed`; each value is the top 24 bits of one draw times 2^-24, exact in a float, so the
 *     same seed gives bit-identical inputs everywhere.
 * n_classes = 1 + the largest label (0 without labels). An empty data set (N = 0 or
 * width = 0) is rejected with TMLP_ERR_FORMAT: nothing downstream can use it.
 */
#include "tinymlp/data.h"
#include "tinymlp/rng.h"

#include "internal.h"
#include "io/safetensors.h"

#include <math.h>
#include <string.h>

static const char *const fashion_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

const char *tmlp_fashion_class_name(int label)
{
    return (label >= 0 && label < 10) ? fashion_names[label] : "unknown";
}

void tmlp_dataset_destroy(tmlp_dataset *d)
{
    if (!d) return;
    tmlp_allocator a = d->alloc;
    tmlp_mem_free(&a, d->u8);
    tmlp_mem_free(&a, d->f32);
    tmlp_mem_free(&a, d->labels);
    tmlp_mem_free(&a, d);
}

static tmlp_dataset *ds_new(const tmlp_allocator *alloc)
{
    tmlp_dataset *d = tmlp_mem_calloc(alloc, 1, sizeof *d);
    if (d && alloc) d->alloc = *alloc;
    return d;
}

/* ---- IDX -------------------------------------------------------------------------------- */

tmlp_status tmlp_dataset_load_idx(const char *images_path, const char *labels_path,
                                  const tmlp_allocator *alloc, tmlp_dataset **out,
                                  tmlp_error *err)
{
    if (out) *out = NULL;
    if (!images_path || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "dataset: NULL argument");

    tmlp_idx *img = NULL, *lab = NULL;
    tmlp_dataset *d = NULL;
    tmlp_status s = tmlp_idx_load(images_path, alloc, &img, err);
    if (s != TMLP_OK) goto fail;
    if (img->ndim < 2) {
        s = tmlp_error_set(err, TMLP_ERR_SHAPE,
                           "%.120s: images IDX is 1-D; expected (N, rows, cols)", images_path);
        goto fail;
    }
    int64_t n = img->dims[0], width = 1;
    for (int i = 1; i < img->ndim; i++) width *= img->dims[i]; /* product <= 2^31: no overflow */
    if (n == 0 || width == 0) {
        s = tmlp_error_set(err, TMLP_ERR_FORMAT, "%.120s: empty data set (%lld samples of %lld "
                           "values)", images_path, (long long)n, (long long)width);
        goto fail;
    }

    if (labels_path) {
        s = tmlp_idx_load(labels_path, alloc, &lab, err);
        if (s != TMLP_OK) goto fail;
        if (lab->ndim != 1) {
            s = tmlp_error_set(err, TMLP_ERR_SHAPE, "%.120s: labels IDX has %d dimensions, "
                               "expected 1", labels_path, lab->ndim);
            goto fail;
        }
        if (lab->dims[0] != n) {
            s = tmlp_error_set(err, TMLP_ERR_COUNT_MISMATCH,
                               "%lld images in %.80s but %lld labels in %.80s", (long long)n,
                               images_path, (long long)lab->dims[0], labels_path);
            goto fail;
        }
    }

    d = ds_new(alloc);
    if (!d) {
        s = tmlp_error_set(err, TMLP_ERR_NOMEM, "dataset: out of memory");
        goto fail;
    }
    if (lab) {
        d->labels = tmlp_mem_calloc(alloc, (size_t)n, sizeof *d->labels);
        if (!d->labels) {
            s = tmlp_error_set(err, TMLP_ERR_NOMEM, "dataset: out of memory for %lld labels",
                               (long long)n);
            goto fail;
        }
        int32_t max = 0;
        for (int64_t i = 0; i < n; i++) {
            d->labels[i] = lab->data[i];
            if (d->labels[i] > max) max = d->labels[i];
        }
        d->n_classes = max + 1;
    }
    d->count = n;
    d->width = width;
    d->dtype = TMLP_DTYPE_U8;
    d->u8 = img->data; /* adopt the pixel block; both come from `alloc` */
    img->data = NULL;
    tmlp_idx_destroy(img);
    tmlp_idx_destroy(lab);
    *out = d;
    return TMLP_OK;

fail:
    tmlp_idx_destroy(img);
    tmlp_idx_destroy(lab);
    tmlp_dataset_destroy(d);
    return s;
}

/* ---- safetensors ------------------------------------------------------------------------ */

/* Integer label `i` of a "y" tensor as int64 (little-endian, possibly unaligned). */
static int ds_label_at(const tmlp_st_tensor *t, uint64_t i, int64_t *v)
{
    const unsigned char *p = t->data + i * (uint64_t)(tmlp_st_dtype_bits(t->dtype) / 8);
    uint64_t u = 0;
    int bytes = tmlp_st_dtype_bits(t->dtype) / 8;
    for (int b = bytes - 1; b >= 0; b--) u = (u << 8) | p[b];
    switch (t->dtype) {
    case TMLP_ST_U8: case TMLP_ST_U16: case TMLP_ST_U32:
        *v = (int64_t)u;
        return 1;
    case TMLP_ST_U64:
        *v = u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
        return 1;
    case TMLP_ST_I8: *v = (int8_t)u; return 1;
    case TMLP_ST_I16: *v = (int16_t)u; return 1;
    case TMLP_ST_I32: *v = (int32_t)u; return 1;
    case TMLP_ST_I64: *v = (int64_t)u; return 1;
    default: return 0;
    }
}

tmlp_status tmlp_dataset_load_safetensors(const char *path, const tmlp_allocator *alloc,
                                          tmlp_dataset **out, tmlp_error *err)
{
    if (out) *out = NULL;
    if (!path || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "dataset: NULL argument");

    tmlp_st_file *f = NULL;
    tmlp_dataset *d = NULL;
    tmlp_status s = tmlp_st_read(path, alloc, &f, err);
    if (s != TMLP_OK) return s;

    const tmlp_st_tensor *x = tmlp_st_find(f, "x"), *y = tmlp_st_find(f, "y");
    if (!x) {
        s = tmlp_error_set(err, TMLP_ERR_MISSING_TENSOR, "%.120s: no tensor `x` [N, width]", path);
        goto fail;
    }
    if (x->ndim != 2) {
        s = tmlp_error_set(err, TMLP_ERR_SHAPE, "%.120s: tensor `x` has %d dimensions, expected "
                           "2 [N, width]", path, x->ndim);
        goto fail;
    }
    if (x->dtype != TMLP_ST_F32 && x->dtype != TMLP_ST_U8) {
        s = tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%.120s: tensor `x` is %s; F32 or U8 "
                           "expected", path, tmlp_st_dtype_name(x->dtype));
        goto fail;
    }
    if (x->shape[0] == 0 || x->shape[1] == 0) {
        s = tmlp_error_set(err, TMLP_ERR_FORMAT, "%.120s: empty data set, `x` is [%llu, %llu]",
                           path, (unsigned long long)x->shape[0], (unsigned long long)x->shape[1]);
        goto fail;
    }
    /* The parser proved numel * element size fits in the file, so these cannot overflow. */
    uint64_t n = x->shape[0], width = x->shape[1];

    if (y) {
        if (y->ndim != 1) {
            s = tmlp_error_set(err, TMLP_ERR_SHAPE, "%.120s: tensor `y` has %d dimensions, "
                               "expected 1 [N]", path, y->ndim);
            goto fail;
        }
        if (y->shape[0] != n) {
            s = tmlp_error_set(err, TMLP_ERR_COUNT_MISMATCH, "%.120s: `x` has %llu samples but "
                               "`y` has %llu labels", path, (unsigned long long)n,
                               (unsigned long long)y->shape[0]);
            goto fail;
        }
        int64_t probe;
        if (!ds_label_at(y, 0, &probe)) {
            s = tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%.120s: tensor `y` is %s; an integer "
                               "dtype expected", path, tmlp_st_dtype_name(y->dtype));
            goto fail;
        }
    }

    d = ds_new(alloc);
    if (!d) goto nomem;
    d->count = (int64_t)n;
    d->width = (int64_t)width;
    if (x->dtype == TMLP_ST_U8) {
        d->dtype = TMLP_DTYPE_U8;
        d->u8 = tmlp_mem_alloc(alloc, (size_t)x->numel);
        if (!d->u8) goto nomem;
        memcpy(d->u8, x->data, (size_t)x->numel);
    } else {
        d->dtype = TMLP_DTYPE_F32;
        d->f32 = tmlp_mem_calloc(alloc, (size_t)x->numel, sizeof *d->f32);
        if (!d->f32) goto nomem;
        s = tmlp_st_to_f32(x, d->f32, err);
        if (s != TMLP_OK) goto fail;
        /* A NaN or Inf input makes that sample's outputs NaN: refuse it here, by index,
         * rather than report an accuracy computed on garbage. */
        for (uint64_t k = 0; k < x->numel; k++)
            if (!isfinite(d->f32[k])) {
                s = tmlp_error_set(err, TMLP_ERR_FORMAT, "%.120s: x[%llu][%llu] is %s: non-finite "
                                   "inputs are refused", path, (unsigned long long)(k / width),
                                   (unsigned long long)(k % width), isnan(d->f32[k]) ? "NaN" : "Inf");
                goto fail;
            }
    }
    if (y) {
        d->labels = tmlp_mem_calloc(alloc, (size_t)n, sizeof *d->labels);
        if (!d->labels) goto nomem;
        int64_t max = 0;
        for (uint64_t i = 0; i < n; i++) {
            int64_t v = 0;
            ds_label_at(y, i, &v);
            if (v < 0 || v > INT32_MAX) {
                s = tmlp_error_set(err, TMLP_ERR_FORMAT, "%.120s: label y[%llu] = %lld is outside "
                                   "0..2147483647", path, (unsigned long long)i, (long long)v);
                goto fail;
            }
            d->labels[i] = (int32_t)v;
            if (v > max) max = v;
        }
        /* 1 + max could exceed int32 for a label of 2^31-1: cap, the caller checks range. */
        d->n_classes = max >= INT32_MAX ? INT32_MAX : (int32_t)max + 1;
    }
    tmlp_st_free(f);
    *out = d;
    return TMLP_OK;

nomem:
    s = tmlp_error_set(err, TMLP_ERR_NOMEM, "%.120s: out of memory for the data set", path);
fail:
    tmlp_st_free(f);
    tmlp_dataset_destroy(d);
    return s;
}

/* ---- synthetic ---------------------------------------------------------------------------- */

tmlp_status tmlp_dataset_synthetic(int64_t count, int64_t width, uint64_t seed,
                                   const tmlp_allocator *alloc, tmlp_dataset **out,
                                   tmlp_error *err)
{
    if (out) *out = NULL;
    if (!out || count < 1 || width < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "dataset: synthetic needs count >= 1 and width "
                              ">= 1 (got %lld x %lld)", (long long)count, (long long)width);
    size_t numel, bytes;
    if (!tmlp_size_mul((size_t)count, (size_t)width, &numel) ||
        !tmlp_size_mul(numel, sizeof(float), &bytes))
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "dataset: %lld x %lld floats overflow",
                              (long long)count, (long long)width);
    tmlp_dataset *d = ds_new(alloc);
    if (!d) return tmlp_error_set(err, TMLP_ERR_NOMEM, "dataset: out of memory");
    d->f32 = tmlp_mem_calloc(alloc, numel, sizeof *d->f32);
    if (!d->f32) {
        tmlp_dataset_destroy(d);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "dataset: out of memory for %lld x %lld floats",
                              (long long)count, (long long)width);
    }
    tmlp_rng r;
    tmlp_rng_seed(&r, seed);
    for (size_t i = 0; i < numel; i++)
        d->f32[i] = (float)(tmlp_rng_next(&r) >> 40) * 0x1p-24f; /* 24 bits: exact, < 1 */
    d->count = count;
    d->width = width;
    d->dtype = TMLP_DTYPE_F32;
    *out = d;
    return TMLP_OK;
}
