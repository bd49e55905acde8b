/* model_io.c — a model from a .safetensors file, and back.
 *
 * What a model file holds (see docs/internals.md for the whole tour):
 *
 *     [u64 N][JSON header, N bytes][data block]           <- src/io/safetensors.c parses this
 *     header = { "__metadata__": { "tinymlp.layers": "linear,relu,linear,softmax", ... },
 *                "0.weight": {dtype F32, shape [out, in]}, "0.bias": {shape [out]},
 *                "2.weight": ..., "2.bias": ... }
 *
 * The architecture is a comma-separated list of PyTorch nn.Sequential modules; module i
 * owns "<i>.weight" (out, in) and "<i>.bias" (out) when it is a "linear", nothing when it
 * is a "relu" or a "softmax" (i counts every module, activations included, exactly as
 * model.state_dict() names them). Shapes chain: the in-width of each linear must equal the
 * out-width of the previous one; the first linear's in-width is the model's input width.
 *
 * Loading happens in two passes so that a bad file is rejected before anything is built:
 *   1. check   — every module name is known, every linear finds its two tensors with a
 *                usable dtype (F32, F16, BF16) and shapes that chain, and no tensor is left
 *                over. Each failure has its own status and a message naming the tensor.
 *   2. build   — tmlp_model_create + tmlp_model_add_dense/relu/softmax through the public
 *                builder, widening each tensor to F32 (tmlp_st_to_f32) into a scratch
 *                buffer that the builder copies. The file buffer (whose data may be
 *                unaligned) is freed before returning: the model keeps no pointer into it.
 * Every allocation goes through the caller's allocator, and every error path frees
 * everything it allocated (tests/test_oom_load.c fails each allocation in turn).
 *
 * Saving writes the same layout: F32 tensors "<i>.weight"/"<i>.bias" in layer order and
 * __metadata__ {"tinymlp.layers", "format": "pt", and the preprocessing keys written with
 * "%.17g" so that strtod gives back the same double}. Floats are stored as their raw bytes,
 * so a save/load round trip is bit-exact. Like the rest of the library this assumes a
 * little-endian host (the format is little-endian).
 */
#include "io/safetensors.h"
#include "layers/model_internal.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound on the number of modules in a layer list: far beyond any real MLP, low
 * enough that module indices and name buffers stay small. */
#define MODEL_IO_MAX_MODULES 100000

/* Longest name we build: "<i>.weight" with i < MODEL_IO_MAX_MODULES. */
#define MODEL_IO_NAME_MAX 32

static const char META_LAYERS[] = "tinymlp.layers";
static const char META_SCALE[] = "tinymlp.input_scale";
static const char META_MEAN[] = "tinymlp.input_mean";
static const char META_STD[] = "tinymlp.input_std";

/* ---- The layer list ------------------------------------------------------------------ */

/* A layer kind's name in the file format ("linear" for dense, after PyTorch's nn.Linear). */
static const char *file_layer_name(tmlp_layer_kind k)
{
    return k == TMLP_LAYER_DENSE ? "linear" : k == TMLP_LAYER_RELU ? "relu" : "softmax";
}

/* Next comma-separated token of `s` starting at *pos, with spaces and tabs trimmed; an
 * empty token ("linear,,relu" or a trailing comma) is returned as length 0. *pos becomes
 * SIZE_MAX after the last token. Returns 0 when there are no more tokens. */
static int layers_next(const char *s, size_t *pos, const char **tok, size_t *len)
{
    if (*pos == SIZE_MAX) return 0;
    size_t p = *pos, start = p;
    while (s[p] != '\0' && s[p] != ',') p++;
    size_t end = p;
    while (start < end && (s[start] == ' ' || s[start] == '\t')) start++;
    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) end--;
    *tok = s + start;
    *len = end - start;
    *pos = s[p] == ',' ? p + 1 : SIZE_MAX;
    return 1;
}

static int token_is(const char *tok, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(tok, word, len) == 0;
}

/* Parse "linear,relu,..." into a freshly allocated array of kinds. */
static tmlp_status layers_parse(const char *layers, const tmlp_allocator *alloc,
                                tmlp_layer_kind **kinds_out, int *n_out, tmlp_error *err)
{
    size_t n = 0, pos = 0, len;
    const char *tok;
    while (layers_next(layers, &pos, &tok, &len)) {
        if (++n > MODEL_IO_MAX_MODULES)
            return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer list has more than %d modules",
                                  MODEL_IO_MAX_MODULES);
    }
    if (layers[strspn(layers, " \t")] == '\0')
        return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer list is empty");

    tmlp_layer_kind *kinds = tmlp_mem_calloc(alloc, n, sizeof *kinds);
    if (!kinds)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory for a layer list of %zu modules",
                              n);
    pos = 0;
    for (size_t i = 0; layers_next(layers, &pos, &tok, &len); i++) {
        if (token_is(tok, len, "linear")) kinds[i] = TMLP_LAYER_DENSE;
        else if (token_is(tok, len, "relu")) kinds[i] = TMLP_LAYER_RELU;
        else if (token_is(tok, len, "softmax")) kinds[i] = TMLP_LAYER_SOFTMAX;
        else if (len == 0) {
            tmlp_error_set(err, TMLP_ERR_LAYERS, "layer %zu: empty name in the layer list", i);
            tmlp_mem_free(alloc, kinds);
            return TMLP_ERR_LAYERS;
        } else {
            int shown = len > 40 ? 40 : (int)len;
            tmlp_error_set(err, TMLP_ERR_LAYERS,
                           "layer %zu: unknown layer `%.*s`%s (known: linear, relu, softmax)", i,
                           shown, tok, len > 40 ? "..." : "");
            tmlp_mem_free(alloc, kinds);
            return TMLP_ERR_LAYERS;
        }
    }
    *kinds_out = kinds;
    *n_out = (int)n;
    return TMLP_OK;
}

/* ---- Pass 1: check the tensors against the layer list --------------------------------- */

/* "128x256" (or "scalar" for rank 0) into buf. */
static const char *shape_str(const tmlp_st_tensor *t, char *buf, size_t cap)
{
    if (t->ndim == 0) {
        snprintf(buf, cap, "scalar");
        return buf;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < t->ndim && used < cap; d++) {
        int w = snprintf(buf + used, cap - used, d ? "x%llu" : "%llu",
                         (unsigned long long)t->shape[d]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

static int dtype_is_float(tmlp_st_dtype d)
{
    return d == TMLP_ST_F32 || d == TMLP_ST_F16 || d == TMLP_ST_BF16;
}

/* Find module i's tensor "<i>.<what>" and check its dtype; rank and shape are checked by
 * the caller, which knows what to compare them with. */
static tmlp_status find_param(const tmlp_st_file *f, int i, const char *what,
                              const tmlp_st_tensor **out, tmlp_error *err)
{
    char name[MODEL_IO_NAME_MAX];
    snprintf(name, sizeof name, "%d.%s", i, what);
    const tmlp_st_tensor *t = tmlp_st_find(f, name);
    if (!t)
        return tmlp_error_set(err, TMLP_ERR_MISSING_TENSOR,
                              "layer %d (linear): tensor `%s` not found in the file", i, name);
    if (!dtype_is_float(t->dtype))
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "tensor `%s`: dtype %s is not supported (use F32, F16 or BF16)", name,
                              tmlp_st_dtype_name(t->dtype));
    *out = t;
    return TMLP_OK;
}

/* Check linear module i against the running width *width (0 = not known yet: this is the
 * first linear, whose in-width becomes the model's input width). On success *width is the
 * module's out-width and *in its in-width. */
static tmlp_status check_linear(const tmlp_st_file *f, int i, int64_t *width, int64_t *in_out,
                                tmlp_error *err)
{
    const tmlp_st_tensor *w, *b;
    char s1[96];
    tmlp_status st = find_param(f, i, "weight", &w, err);
    if (st == TMLP_OK) st = find_param(f, i, "bias", &b, err);
    if (st != TMLP_OK) return st;

    if (w->ndim != 2)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.weight`: rank %d (shape %s), expected rank 2 [out, in]", i,
                              w->ndim, shape_str(w, s1, sizeof s1));
    /* BLAS takes int dimensions, so a width must fit in [1, 2^31). */
    if (w->shape[0] == 0 || w->shape[1] == 0 || w->shape[0] > INT32_MAX ||
        w->shape[1] > INT32_MAX)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.weight`: shape %s has an empty or oversized dimension "
                              "(each must be in [1, 2^31))", i, shape_str(w, s1, sizeof s1));
    int64_t out = (int64_t)w->shape[0], in = (int64_t)w->shape[1];
    if (*width != 0 && in != *width)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.weight`: shape %s does not match layer input %lld", i,
                              shape_str(w, s1, sizeof s1), (long long)*width);
    if (b->ndim != 1)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.bias`: rank %d (shape %s), expected rank 1 [out]", i,
                              b->ndim, shape_str(b, s1, sizeof s1));
    if (b->shape[0] != (uint64_t)out)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.bias`: shape %llu does not match layer output %lld "
                              "(`%d.weight` is %lldx%lld)",
                              i, (unsigned long long)b->shape[0], (long long)out, i,
                              (long long)out, (long long)in);
    *width = out;
    *in_out = in;
    return TMLP_OK;
}

/* Is `name` the weight or bias of a linear module of the list? */
static int name_is_used(const char *name, const tmlp_layer_kind *kinds, int n)
{
    char *end;
    if (name[0] < '0' || name[0] > '9') return 0;
    errno = 0;
    unsigned long i = strtoul(name, &end, 10);
    if (errno != 0 || i >= (unsigned long)n || *end != '.') return 0;
    if (name[0] == '0' && end != name + 1) return 0; /* "01.weight" is not module 1's */
    if (strcmp(end + 1, "weight") != 0 && strcmp(end + 1, "bias") != 0) return 0;
    return kinds[i] == TMLP_LAYER_DENSE;
}

/* Pass 1. On success *input_width is the first linear's in-width. */
static tmlp_status check_tensors(const tmlp_st_file *f, const tmlp_layer_kind *kinds, int n,
                                 int64_t *input_width, tmlp_error *err)
{
    int64_t width = 0, in = 0;
    for (int i = 0; i < n; i++) {
        if (kinds[i] != TMLP_LAYER_DENSE) continue;
        int first = width == 0;
        tmlp_status st = check_linear(f, i, &width, &in, err);
        if (st != TMLP_OK) return st;
        if (first) *input_width = in;
    }
    if (width == 0)
        return tmlp_error_set(err, TMLP_ERR_LAYERS,
                              "layer list has no linear layer, so the input width is unknown");
    /* Every linear found its two tensors and names are unique (the parser rejects
     * duplicates), so anything else in the file is a leftover. */
    for (int64_t t = 0; t < f->n_tensors; t++) {
        if (!name_is_used(f->tensors[t].name, kinds, n))
            return tmlp_error_set(err, TMLP_ERR_EXTRA_TENSOR,
                                  "tensor `%s` is not used by any layer (%d modules; only linear "
                                  "modules own <i>.weight and <i>.bias)",
                                  f->tensors[t].name, n);
    }
    return TMLP_OK;
}

/* ---- Preprocessing metadata ----------------------------------------------------------- */

/* A metadata value as a finite double: the whole string must be a number (strtod stops
 * at the first character it cannot use, so "0.5x" would silently read as 0.5). */
static tmlp_status meta_double(const tmlp_st_file *f, const char *key, double *value,
                               int *present, tmlp_error *err)
{
    const char *s = tmlp_st_meta_get(f, key);
    if (!s) return TMLP_OK;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
        return tmlp_error_set(err, TMLP_ERR_FORMAT,
                              "__metadata__ `%s`: value \"%.60s\" is not a finite decimal number",
                              key, s);
    *value = v;
    *present = 1;
    return TMLP_OK;
}

/* Read tinymlp.input_scale/mean/std; any key may be absent (scale 1, mean 0, std 1). */
static tmlp_status read_preprocess(const tmlp_st_file *f, tmlp_preprocess *p, tmlp_error *err)
{
    tmlp_preprocess r = {0, 1.0, 0.0, 1.0};
    tmlp_status st = meta_double(f, META_SCALE, &r.scale, &r.has_preprocess, err);
    if (st == TMLP_OK) st = meta_double(f, META_MEAN, &r.mean, &r.has_preprocess, err);
    if (st == TMLP_OK) st = meta_double(f, META_STD, &r.std, &r.has_preprocess, err);
    if (st != TMLP_OK) return st;
    if (r.std == 0.0)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "__metadata__ `%s`: must not be 0", META_STD);
    *p = r;
    return TMLP_OK;
}

/* ---- Pass 2: build the model ---------------------------------------------------------- */

/* Widen module i's tensor "<i>.<what>" into dst (numel floats). */
static tmlp_status widen_param(const tmlp_st_file *f, int i, const char *what, float *dst,
                               tmlp_error *err)
{
    char name[MODEL_IO_NAME_MAX];
    snprintf(name, sizeof name, "%d.%s", i, what);
    return tmlp_st_to_f32(tmlp_st_find(f, name), dst, err);
}

/* Largest weight and bias of any linear module (in elements), for the scratch buffer. */
static void max_param_sizes(const tmlp_st_file *f, const tmlp_layer_kind *kinds, int n,
                            uint64_t *w_max, uint64_t *b_max)
{
    char name[MODEL_IO_NAME_MAX];
    *w_max = *b_max = 0;
    for (int i = 0; i < n; i++) {
        if (kinds[i] != TMLP_LAYER_DENSE) continue;
        snprintf(name, sizeof name, "%d.weight", i);
        uint64_t w = tmlp_st_find(f, name)->numel;
        snprintf(name, sizeof name, "%d.bias", i);
        uint64_t b = tmlp_st_find(f, name)->numel;
        if (w > *w_max) *w_max = w;
        if (b > *b_max) *b_max = b;
    }
}

/* The first non-finite value of p[0..n) as a TMLP_ERR_FORMAT naming the tensor; TMLP_OK
 * if all are finite. */
static tmlp_status check_finite(const float *p, uint64_t n, int layer, const char *part,
                                tmlp_error *err)
{
    for (uint64_t k = 0; k < n; k++)
        if (!isfinite(p[k]))
            return tmlp_error_set(err, TMLP_ERR_FORMAT,
                                  "tensor `%d.%s`: element %llu is %s (non-finite weights are "
                                  "refused; set allow_nonfinite in tmlp_model_options to load anyway)",
                                  layer, part, (unsigned long long)k, isnan(p[k]) ? "NaN"
                                  : p[k] > 0 ? "+Inf" : "-Inf");
    return TMLP_OK;
}

static tmlp_status build_model(const tmlp_st_file *f, const tmlp_layer_kind *kinds, int n,
                               int64_t input_width, const tmlp_preprocess *pre,
                               const tmlp_model_options *opts, tmlp_model **out, tmlp_error *err)
{
    const tmlp_allocator *alloc = &opts->allocator;
    uint64_t w_max, b_max;
    max_param_sizes(f, kinds, n, &w_max, &b_max);

    /* One scratch block for the F32 copy of the largest weight and bias; the builder
     * copies from it, so it is reused for every layer. */
    size_t w_bytes, b_bytes;
    if (w_max > SIZE_MAX || b_max > SIZE_MAX || !tmlp_size_mul((size_t)w_max, sizeof(float), &w_bytes) ||
        !tmlp_size_mul((size_t)b_max, sizeof(float), &b_bytes) || w_bytes > SIZE_MAX - b_bytes)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "weights too large for this machine");
    float *scratch = tmlp_mem_alloc(alloc, w_bytes + b_bytes);
    if (!scratch)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory for %zu bytes of weights",
                              w_bytes + b_bytes);
    float *wbuf = scratch, *bbuf = scratch + w_max;

    tmlp_model *m = NULL;
    tmlp_status st = tmlp_model_create(input_width, opts, &m, err);
    int64_t width = input_width;
    for (int i = 0; i < n && st == TMLP_OK; i++) {
        switch (kinds[i]) {
        case TMLP_LAYER_DENSE: {
            char name[MODEL_IO_NAME_MAX];
            snprintf(name, sizeof name, "%d.weight", i);
            int64_t o = (int64_t)tmlp_st_find(f, name)->shape[0];
            st = widen_param(f, i, "weight", wbuf, err);
            if (st == TMLP_OK) st = widen_param(f, i, "bias", bbuf, err);
            if (st == TMLP_OK && !opts->allow_nonfinite)
                st = check_finite(wbuf, tmlp_st_find(f, name)->numel, i, "weight", err);
            if (st == TMLP_OK && !opts->allow_nonfinite) st = check_finite(bbuf, (uint64_t)o, i, "bias", err);
            if (st == TMLP_OK) st = tmlp_model_add_dense(m, width, o, wbuf, bbuf, err);
            width = o;
            break;
        }
        case TMLP_LAYER_RELU: st = tmlp_model_add_relu(m, err); break;
        case TMLP_LAYER_SOFTMAX: st = tmlp_model_add_softmax(m, err); break;
        }
    }
    if (st == TMLP_OK && pre->has_preprocess) {
        st = tmlp_model_set_preprocess(m, pre->scale, pre->mean, pre->std, err);
    }
    tmlp_mem_free(alloc, scratch);
    if (st != TMLP_OK) {
        tmlp_model_destroy(m);
        return st;
    }
    *out = m;
    return TMLP_OK;
}

/* ---- Load ----------------------------------------------------------------------------- */

tmlp_status tmlp_model_load(const char *path, const tmlp_model_options *opts, tmlp_model **out,
                            tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_load: out is NULL");
    *out = NULL;
    if (!path) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_load: path is NULL");
    tmlp_model_options o = opts ? *opts : tmlp_model_options_default();
    const tmlp_allocator *alloc = &o.allocator;

    tmlp_st_file *f = NULL;
    tmlp_status st = tmlp_st_read_named(path, alloc, &f, err);
    if (st != TMLP_OK) return st;

    const char *layers = o.layers ? o.layers : tmlp_st_meta_get(f, META_LAYERS);
    tmlp_layer_kind *kinds = NULL;
    int n = 0;
    int64_t input_width = 0;
    tmlp_preprocess pre = {0, 1.0, 0.0, 1.0};
    if (!layers)
        st = tmlp_error_set(err, TMLP_ERR_LAYERS,
                            "no layer list: pass layers or set __metadata__ tinymlp.layers");
    if (st == TMLP_OK) st = layers_parse(layers, alloc, &kinds, &n, err);
    if (st == TMLP_OK) st = check_tensors(f, kinds, n, &input_width, err);
    if (st == TMLP_OK) st = read_preprocess(f, &pre, err);
    if (st == TMLP_OK) st = build_model(f, kinds, n, input_width, &pre, &o, out, err);

    tmlp_mem_free(alloc, kinds);
    tmlp_st_free(f);
    return st;
}

/* ---- Weights into a model built in C --------------------------------------------------- */

/* Check dense layer i's tensor "<i>.<what>" against the expected shape (rank 1 if cols is
 * 0, else rows x cols). */
static tmlp_status check_weight_tensor(const tmlp_st_file *f, const char *path, int i,
                                       const char *what, const tmlp_layer_info *info,
                                       tmlp_error *err)
{
    char name[MODEL_IO_NAME_MAX], s1[96];
    snprintf(name, sizeof name, "%d.%s", i, what);
    const int is_w = what[0] == 'w';
    const tmlp_st_tensor *t = tmlp_st_find(f, name);
    if (!t)
        return tmlp_error_set(err, TMLP_ERR_MISSING_TENSOR,
                              "%s: tensor `%s` (layer %d, dense %lld -> %lld) not found in the file",
                              path, name, i, (long long)info->in_width, (long long)info->out_width);
    if (!dtype_is_float(t->dtype))
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "%s: tensor `%s`: dtype %s is not supported (use F32, F16 or BF16)",
                              path, name, tmlp_st_dtype_name(t->dtype));
    const int ok = is_w ? (t->ndim == 2 && t->shape[0] == (uint64_t)info->out_width &&
                           t->shape[1] == (uint64_t)info->in_width)
                        : (t->ndim == 1 && t->shape[0] == (uint64_t)info->out_width);
    if (!ok) {
        if (is_w)
            return tmlp_error_set(err, TMLP_ERR_SHAPE,
                                  "%s: tensor `%s`: shape %s, layer %d (dense %lld -> %lld) takes "
                                  "%lldx%lld", path, name, shape_str(t, s1, sizeof s1), i,
                                  (long long)info->in_width, (long long)info->out_width,
                                  (long long)info->out_width, (long long)info->in_width);
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "%s: tensor `%s`: shape %s, layer %d (dense %lld -> %lld) takes %lld",
                              path, name, shape_str(t, s1, sizeof s1), i, (long long)info->in_width,
                              (long long)info->out_width, (long long)info->out_width);
    }
    return TMLP_OK;
}

tmlp_status tmlp_model_load_weights(tmlp_model *m, const char *path, tmlp_error *err)
{
    if (!m || !path)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_load_weights: %s is NULL",
                              m ? "path" : "model");
    if (tmlp_model_frozen(m))
        return tmlp_error_set(err, TMLP_ERR_STATE,
                              "tmlp_model_load_weights: a session exists, the model is frozen "
                              "(load weights before the first tmlp_session_create)");
    const tmlp_allocator *alloc = tmlp_model_allocator(m);
    const int allow_nonfinite = tmlp_model_allows_nonfinite(m);
    tmlp_st_file *f = NULL;
    tmlp_status st = tmlp_st_read_named(path, alloc, &f, err);
    if (st != TMLP_OK) return st;

    /* Pass 1: every dense layer's two tensors are there with the right dtype and shape,
     * and no tensor is left over; nothing is written yet. */
    const int n = tmlp_model_layer_count(m);
    int64_t used = 0;
    for (int i = 0; i < n && st == TMLP_OK; i++) {
        tmlp_layer_info info;
        tmlp_model_layer_info(m, i, &info, NULL);
        if (info.kind != TMLP_LAYER_DENSE) continue;
        st = check_weight_tensor(f, path, i, "weight", &info, err);
        if (st == TMLP_OK) st = check_weight_tensor(f, path, i, "bias", &info, err);
        used += 2;
    }
    if (st == TMLP_OK && used == 0)
        st = tmlp_error_set(err, TMLP_ERR_STATE,
                            "tmlp_model_load_weights: the model has no dense layer to fill");
    if (st == TMLP_OK && f->n_tensors != used) {
        /* Names are unique (the parser rejects duplicates), so some tensor is unused. */
        for (int64_t t = 0; t < f->n_tensors; t++) {
            char *end;
            errno = 0;
            unsigned long i = strtoul(f->tensors[t].name, &end, 10);
            tmlp_layer_info info;
            const int mine = end != f->tensors[t].name && *end == '.' && i < (unsigned long)n &&
                             tmlp_model_layer_info(m, (int)i, &info, NULL) == TMLP_OK &&
                             info.kind == TMLP_LAYER_DENSE &&
                             (!strcmp(end + 1, "weight") || !strcmp(end + 1, "bias"));
            if (!mine) {
                st = tmlp_error_set(err, TMLP_ERR_EXTRA_TENSOR,
                                    "%s: tensor `%s` is not used by any layer of the model "
                                    "(%d layers; dense layer i takes <i>.weight and <i>.bias)",
                                    path, f->tensors[t].name, n);
                break;
            }
        }
    }

    /* Pass 2: widen into a scratch copy, check finiteness, then copy into the model. Each
     * layer is checked before it is written, and all layers before the first is written
     * (two loops), so a failure leaves the model as it was. */
    for (int pass = 0; pass < 2 && st == TMLP_OK; pass++) {
        for (int i = 0; i < n && st == TMLP_OK; i++) {
            tmlp_layer_info info;
            tmlp_model_layer_info(m, i, &info, NULL);
            if (info.kind != TMLP_LAYER_DENSE) continue;
            float *w, *b;
            tmlp_model_dense_params_mut(m, i, &w, &b);
            for (int part = 0; part < 2 && st == TMLP_OK; part++) {
                char name[MODEL_IO_NAME_MAX];
                snprintf(name, sizeof name, "%d.%s", i, part ? "bias" : "weight");
                const tmlp_st_tensor *t = tmlp_st_find(f, name);
                size_t bytes;
                if (!tmlp_size_mul((size_t)t->numel, sizeof(float), &bytes)) {
                    st = tmlp_error_set(err, TMLP_ERR_NOMEM, "%s: tensor `%s` too large", path, name);
                    break;
                }
                float *tmp = tmlp_mem_alloc(alloc, bytes ? bytes : 1);
                if (!tmp) {
                    st = tmlp_error_set(err, TMLP_ERR_NOMEM,
                                        "%s: out of memory for %zu bytes of `%s`", path, bytes, name);
                    break;
                }
                st = tmlp_st_to_f32(t, tmp, err);
                if (st == TMLP_OK && pass == 0 && !allow_nonfinite)
                    st = check_finite(tmp, t->numel, i, part ? "bias" : "weight", err);
                if (st == TMLP_OK && pass == 1) memcpy(part ? b : w, tmp, bytes);
                tmlp_mem_free(alloc, tmp);
            }
            if (st == TMLP_OK && pass == 1) tmlp_model_dense_repack(m, i);
        }
    }
    tmlp_st_free(f);
    return st;
}

/* ---- Save ----------------------------------------------------------------------------- */

tmlp_status tmlp_model_save(const tmlp_model *m, const char *path, tmlp_error *err)
{
    if (!m || !path)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_save: %s is NULL", m ? "path" : "model");
    const tmlp_allocator *alloc = tmlp_model_allocator(m);
    int n = tmlp_model_layer_count(m);

    /* Per layer: its info, and for a Dense two tensor descriptions whose names live in
     * `names` (MODEL_IO_NAME_MAX bytes each). The layer string needs at most
     * strlen("softmax") + 1 bytes per layer. */
    size_t n_dense = 0, layers_cap = 1;
    for (int i = 0; i < n; i++) {
        tmlp_layer_info info;
        tmlp_status st = tmlp_model_layer_info(m, i, &info, NULL);
        if (st != TMLP_OK) return tmlp_error_set(err, st, "layer %d: cannot read its info", i);
        if (info.kind == TMLP_LAYER_DENSE) n_dense++;
        layers_cap += strlen(file_layer_name(info.kind)) + 1;
    }
    if (n_dense == 0)
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "tmlp_model_save: the model has no dense layer, so a file could not "
                              "record its input width");

    tmlp_st_write_tensor *tensors = tmlp_mem_calloc(alloc, 2 * n_dense, sizeof *tensors);
    char *names = tmlp_mem_calloc(alloc, 2 * n_dense, MODEL_IO_NAME_MAX);
    char *layer_str = tmlp_mem_alloc(alloc, layers_cap);
    tmlp_status st = TMLP_OK;
    if (!tensors || !names || !layer_str)
        st = tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory saving %s", path);

    size_t k = 0, used = 0;
    if (layer_str) layer_str[0] = '\0';
    for (int i = 0; i < n && st == TMLP_OK; i++) {
        tmlp_layer_info info;
        tmlp_model_layer_info(m, i, &info, NULL);
        const char *fname = file_layer_name(info.kind);
        size_t len = strlen(fname);
        if (i) layer_str[used++] = ',';
        memcpy(layer_str + used, fname, len + 1);
        used += len;
        if (info.kind != TMLP_LAYER_DENSE) continue;
        const float *w, *b;
        st = tmlp_model_dense_params(m, i, &w, &b);
        if (st == TMLP_OK && (!w || !b)) st = TMLP_ERR_STATE;
        if (st != TMLP_OK) {
            tmlp_error_set(err, st, "layer %d: cannot read its parameters", i);
            break;
        }
        for (int part = 0; part < 2; part++, k++) {
            char *name = names + k * MODEL_IO_NAME_MAX;
            snprintf(name, MODEL_IO_NAME_MAX, "%d.%s", i, part ? "bias" : "weight");
            tensors[k].name = name;
            tensors[k].dtype = TMLP_ST_F32;
            tensors[k].ndim = part ? 1 : 2;
            tensors[k].shape[0] = (uint64_t)info.out_width;
            tensors[k].shape[1] = part ? 0 : (uint64_t)info.in_width;
            tensors[k].data = part ? (const void *)b : (const void *)w;
        }
    }

    if (st == TMLP_OK) {
        /* %.17g: 17 significant digits identify every double, so strtod reads back the
         * same bits. */
        tmlp_preprocess pre = tmlp_model_preprocess(m);
        char k_layers[sizeof META_LAYERS], k_format[] = "format", v_pt[] = "pt";
        char k_scale[sizeof META_SCALE], k_mean[sizeof META_MEAN], k_std[sizeof META_STD];
        char v_scale[32], v_mean[32], v_std[32];
        memcpy(k_layers, META_LAYERS, sizeof META_LAYERS);
        memcpy(k_scale, META_SCALE, sizeof META_SCALE);
        memcpy(k_mean, META_MEAN, sizeof META_MEAN);
        memcpy(k_std, META_STD, sizeof META_STD);
        snprintf(v_scale, sizeof v_scale, "%.17g", pre.scale);
        snprintf(v_mean, sizeof v_mean, "%.17g", pre.mean);
        snprintf(v_std, sizeof v_std, "%.17g", pre.std);
        tmlp_st_meta meta[5] = {
            {k_layers, layer_str}, {k_format, v_pt},
            {k_scale, v_scale}, {k_mean, v_mean}, {k_std, v_std},
        };
        st = tmlp_st_write(path, tensors, (int64_t)k, meta, pre.has_preprocess ? 5 : 2, alloc, err);
    }
    tmlp_mem_free(alloc, layer_str);
    tmlp_mem_free(alloc, names);
    tmlp_mem_free(alloc, tensors);
    return st;
}
