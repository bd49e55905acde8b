/* model_io.c — a model from a .safetensors file, and back.
 *
 * What a model file holds (see docs/formats.md for the format, docs/internals.md for the tour):
 *
 *     [u64 N][JSON header, N bytes][data block]           <- src/io/safetensors.c parses this
 *     header = { "__metadata__": { "tinymlp.layers": "linear,relu,linear,softmax", ... },
 *                "0.weight": {dtype F32, shape [out, in]}, "0.bias": {shape [out]},
 *                "2.weight": ..., "2.bias": ... }
 *
 * The architecture is a comma-separated list of PyTorch nn.Sequential modules (the grammar
 * is in layer_list.h); module i owns the tensors PyTorch's model.state_dict() gives it
 * (i counts every module, activations included):
 *     linear      "<i>.weight" (out, in), "<i>.bias" (out) — no bias: nn.Linear(bias=False)
 *     layernorm   "<i>.weight", "<i>.bias" (n) — both or neither (elementwise_affine)
 *     batchnorm   "<i>.running_mean", "<i>.running_var" (n); "<i>.weight", "<i>.bias" (n),
 *                 both or neither (affine); "<i>.num_batches_tracked" (I64) ignored
 *     the others  nothing
 * Shapes chain: the in-width of each linear must equal the width before it, and a norm's
 * tensors have that width. The input width is the in-width of the first module whose
 * tensors tell it (every module before it keeps the width).
 *
 * Loading happens in two passes so that a bad file is rejected before anything is built:
 *   1. check   — every entry parses, every module finds its tensors with a usable dtype
 *                (F32, F16, BF16) and shapes that chain, and no tensor is left over. Each
 *                failure has its own status and a message naming the tensor.
 *   2. build   — tmlp_model_create + the public tmlp_model_add_* builders, widening each
 *                tensor to F32 (tmlp_st_to_f32) into a scratch buffer that the builder
 *                copies, after checking the values (finite; var + eps > 0). The file
 *                buffer (whose data may be unaligned) is freed before returning: the model
 *                keeps no pointer into it.
 * Every allocation goes through the caller's allocator, and every error path frees
 * everything it allocated (tests/test_oom_load.c fails each allocation in turn).
 *
 * Saving writes the same layout: each layer's F32 tensors as it holds them (a Dense that a
 * BatchNorm was folded into writes its unfolded W and b; src/layers/batchnorm.c) in layer
 * order, and __metadata__ {"tinymlp.layers" (tmlp_model_layers_string), "format": "pt",
 * and the preprocessing keys written with "%.17g" so that strtod gives back the same
 * double}. Floats are stored as their raw bytes, so a save/load round trip is bit-exact.
 * Like the rest of the library this assumes a little-endian host (the format is
 * little-endian).
 */
#include "io/layer_list.h"
#include "io/safetensors.h"
#include "layers/model_internal.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest name we build: "<i>.num_batches_tracked" with i < 100000 (layer_list.c). */
#define MODEL_IO_NAME_MAX 32

static const char META_LAYERS[] = "tinymlp.layers";
static const char META_SCALE[] = "tinymlp.input_scale";
static const char META_MEAN[] = "tinymlp.input_mean";
static const char META_STD[] = "tinymlp.input_std";

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

/* Module i's tensor "<i>.<what>", or NULL. */
static const tmlp_st_tensor *find_tensor(const tmlp_st_file *f, int i, const char *what)
{
    char name[MODEL_IO_NAME_MAX];
    snprintf(name, sizeof name, "%d.%s", i, what);
    return tmlp_st_find(f, name);
}

/* Module i's tensor "<i>.<what>" with a usable dtype: *out NULL (and TMLP_OK) if it is
 * absent and optional; rank and shape are checked by the caller. */
static tmlp_status find_param(const tmlp_st_file *f, int i, const char *kind, const char *what,
                              int optional, const tmlp_st_tensor **out, tmlp_error *err)
{
    const tmlp_st_tensor *t = find_tensor(f, i, what);
    *out = t;
    if (!t && optional) return TMLP_OK;
    if (!t)
        return tmlp_error_set(err, TMLP_ERR_MISSING_TENSOR,
                              "layer %d (%s): tensor `%d.%s` not found in the file", i, kind, i, what);
    if (!dtype_is_float(t->dtype))
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "tensor `%d.%s`: dtype %s is not supported (use F32, F16 or BF16)", i,
                              what, tmlp_st_dtype_name(t->dtype));
    return TMLP_OK;
}

/* Check linear module i against the running width *width (0 = not known yet: every module
 * before it keeps the width, so its in-width is the model's input width). On success
 * *width is the module's out-width and *in its in-width. */
static tmlp_status check_linear(const tmlp_st_file *f, int i, int64_t *width, int64_t *in_out,
                                tmlp_error *err)
{
    const tmlp_st_tensor *w, *b;
    char s1[96];
    tmlp_status st = find_param(f, i, "linear", "weight", 0, &w, err);
    if (st == TMLP_OK) st = find_param(f, i, "linear", "bias", 1, &b, err);
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
    if (b && b->ndim != 1)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.bias`: rank %d (shape %s), expected rank 1 [out]", i,
                              b->ndim, shape_str(b, s1, sizeof s1));
    if (b && b->shape[0] != (uint64_t)out)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.bias`: shape %llu does not match layer output %lld "
                              "(`%d.weight` is %lldx%lld)",
                              i, (unsigned long long)b->shape[0], (long long)out, i,
                              (long long)out, (long long)in);
    *width = out;
    *in_out = in;
    return TMLP_OK;
}

/* A norm's vector "<i>.<what>" (present, float): rank 1 of the running width, or, while the
 * width is unknown, of a width it then fixes (*width, and *input_width: see check_linear). */
static tmlp_status check_vector(const tmlp_st_tensor *t, int i, const char *kind, const char *what,
                                int64_t *width, int64_t *input_width, tmlp_error *err)
{
    char s1[96];
    if (t->ndim != 1 || t->shape[0] == 0 || t->shape[0] > INT32_MAX)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.%s`: shape %s, layer %d (%s) takes a vector of its width "
                              "(rank 1, in [1, 2^31))", i, what, shape_str(t, s1, sizeof s1), i, kind);
    if (*width == 0) *width = *input_width = (int64_t)t->shape[0];
    if (t->shape[0] != (uint64_t)*width)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tensor `%d.%s`: shape %s, layer %d (%s) takes %lld (the width before it)",
                              i, what, shape_str(t, s1, sizeof s1), i, kind, (long long)*width);
    return TMLP_OK;
}

/* PyTorch's BatchNorm counter "<i>.num_batches_tracked": absent, or an I64 scalar. */
static tmlp_status check_batch_counter(const tmlp_st_file *f, int i, tmlp_error *err)
{
    const tmlp_st_tensor *t = find_tensor(f, i, "num_batches_tracked");
    if (!t) return TMLP_OK;
    if (t->dtype != TMLP_ST_I64 || t->numel > 1)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "tensor `%d.num_batches_tracked`: dtype %s, %llu elements; PyTorch's "
                              "counter is one I64 (its value is not used)", i,
                              tmlp_st_dtype_name(t->dtype), (unsigned long long)t->numel);
    return TMLP_OK;
}

/* Layernorm or batchnorm module i: weight and bias both or neither, batchnorm's running
 * statistics, all vectors of the running width. */
static tmlp_status check_norm(const tmlp_st_file *f, int i, tmlp_layer_kind kind, int64_t *width,
                              int64_t *input_width, tmlp_error *err)
{
    const int bn = kind == TMLP_LAYER_BATCHNORM;
    const char *name = bn ? "batchnorm" : "layernorm";
    static const char *const what[4] = {"weight", "bias", "running_mean", "running_var"};
    const tmlp_st_tensor *t[4] = {NULL};
    tmlp_status st = TMLP_OK;
    for (int k = 0; k < (bn ? 4 : 2) && st == TMLP_OK; k++) st = find_param(f, i, name, what[k], k < 2, &t[k], err);
    if (st == TMLP_OK && (t[0] == NULL) != (t[1] == NULL))
        st = tmlp_error_set(err, TMLP_ERR_MISSING_TENSOR,
                            "layer %d (%s): tensor `%d.%s` is in the file but `%d.%s` is not: a %s "
                            "has both (affine) or neither", i, name, i, t[0] ? "weight" : "bias", i,
                            t[0] ? "bias" : "weight", name);
    for (int k = 0; k < 4 && st == TMLP_OK; k++)
        if (t[k]) st = check_vector(t[k], i, name, what[k], width, input_width, err);
    if (st == TMLP_OK && bn) st = check_batch_counter(f, i, err);
    return st;
}

/* Is `name` a tensor that module i = its number owns ("<i>.<suffix>", no leading zero)? */
static int name_is_used(const char *name, const tmlp_layer_spec *specs, int n)
{
    char *end;
    if (name[0] < '0' || name[0] > '9') return 0;
    errno = 0;
    unsigned long i = strtoul(name, &end, 10);
    if (errno != 0 || i >= (unsigned long)n || *end != '.') return 0;
    if (name[0] == '0' && end != name + 1) return 0; /* "01.weight" is not module 1's */
    const tmlp_layer_kind_info *k = tmlp_layer_kind_info_of(specs[i].kind);
    for (const char *const *s = k->tensors; s && *s; s++)
        if (strcmp(end + 1, *s) == 0) return 1;
    return 0;
}

/* Pass 1. On success *input_width is the model's input width. */
static tmlp_status check_tensors(const tmlp_st_file *f, const tmlp_layer_spec *specs, int n,
                                 int64_t *input_width, tmlp_error *err)
{
    int64_t width = 0;
    *input_width = 0;
    for (int i = 0; i < n; i++) {
        tmlp_status st = TMLP_OK;
        const int64_t before = width;
        int64_t in = 0;
        if (specs[i].kind == TMLP_LAYER_DENSE) st = check_linear(f, i, &width, &in, err);
        if (specs[i].kind == TMLP_LAYER_LAYERNORM || specs[i].kind == TMLP_LAYER_BATCHNORM)
            st = check_norm(f, i, specs[i].kind, &width, input_width, err);
        if (st != TMLP_OK) return st;
        if (before == 0 && in != 0) *input_width = in;
    }
    if (width == 0)
        return tmlp_error_set(err, TMLP_ERR_LAYERS,
                              "layer list has no linear layer (nor a layernorm or batchnorm with "
                              "tensors), so the input width is unknown");
    /* Every module found its tensors and names are unique (the parser rejects duplicates),
     * so anything else in the file is a leftover. */
    for (int64_t t = 0; t < f->n_tensors; t++) {
        if (!name_is_used(f->tensors[t].name, specs, n))
            return tmlp_error_set(err, TMLP_ERR_EXTRA_TENSOR,
                                  "tensor `%s` is not used by any layer (%d modules; linear module i "
                                  "owns <i>.weight and <i>.bias, layernorm and batchnorm their "
                                  "PyTorch names)", f->tensors[t].name, n);
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

/* running_var + eps > 0 for every feature, as TMLP_ERR_FORMAT naming the tensor (NaN
 * passes where non-finite values are allowed). */
static tmlp_status check_bn_var(const float *var, uint64_t n, float eps, int layer, int allow_nonfinite,
                                tmlp_error *err)
{
    for (uint64_t k = 0; k < n; k++) {
        const double v = (double)var[k] + (double)eps;
        if (!(v > 0.0) && !(allow_nonfinite && isnan(v)))
            return tmlp_error_set(err, TMLP_ERR_FORMAT,
                                  "tensor `%d.running_var`: element %llu is %g, and var + eps = %g must "
                                  "be > 0", layer, (unsigned long long)k, (double)var[k], v);
    }
    return TMLP_OK;
}

/* The float tensors a module may own, in the order build_module's p[] holds them. */
static const char *const PARAM_NAMES[4] = {"weight", "bias", "running_mean", "running_var"};

/* Elements of module i's float tensors present in the file, in total. */
static uint64_t module_floats(const tmlp_st_file *f, int i)
{
    uint64_t total = 0;
    for (int k = 0; k < 4; k++) {
        const tmlp_st_tensor *t = find_tensor(f, i, PARAM_NAMES[k]);
        if (t && dtype_is_float(t->dtype)) total += t->numel;
    }
    return total;
}

/* Widen module i's float tensors into scratch, one after the other: p[k] = PARAM_NAMES[k]'s
 * values, or NULL if absent. Values are checked to be finite unless allowed. */
static tmlp_status widen_module(const tmlp_st_file *f, int i, float *scratch, int allow_nonfinite,
                                float *p[4], tmlp_error *err)
{
    for (int k = 0; k < 4; k++) {
        const tmlp_st_tensor *t = find_tensor(f, i, PARAM_NAMES[k]);
        p[k] = NULL;
        if (!t || !dtype_is_float(t->dtype)) continue;
        tmlp_status st = tmlp_st_to_f32(t, scratch, err);
        if (st == TMLP_OK && !allow_nonfinite) st = check_finite(scratch, t->numel, i, PARAM_NAMES[k], err);
        if (st != TMLP_OK) return st;
        p[k] = scratch;
        scratch += t->numel;
    }
    return TMLP_OK;
}

/* Append a module without tensors. */
static tmlp_status add_plain(tmlp_model *m, const tmlp_layer_spec *sp, tmlp_error *err)
{
    switch (sp->kind) {
    case TMLP_LAYER_RELU: return tmlp_model_add_relu(m, err);
    case TMLP_LAYER_LEAKY_RELU: return tmlp_model_add_leaky_relu(m, sp->param, err);
    case TMLP_LAYER_GELU: return tmlp_model_add_gelu(m, err);
    case TMLP_LAYER_GELU_TANH: return tmlp_model_add_gelu_tanh(m, err);
    case TMLP_LAYER_TANH: return tmlp_model_add_tanh(m, err);
    case TMLP_LAYER_SIGMOID: return tmlp_model_add_sigmoid(m, err);
    case TMLP_LAYER_SILU: return tmlp_model_add_silu(m, err);
    case TMLP_LAYER_SOFTMAX: return tmlp_model_add_softmax(m, err);
    case TMLP_LAYER_LOG_SOFTMAX: return tmlp_model_add_log_softmax(m, err);
    case TMLP_LAYER_DROPOUT: return tmlp_model_add_dropout(m, err);
    case TMLP_LAYER_IDENTITY: return tmlp_model_add_identity(m, err);
    default: return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer kind %d cannot be read from a file", (int)sp->kind);
    }
}

/* Append module i, its tensors widened through scratch (module_floats(f, i) floats). */
static tmlp_status build_module(const tmlp_st_file *f, const tmlp_layer_spec *sp, int i, tmlp_model *m,
                                float *scratch, int allow_nonfinite, tmlp_error *err)
{
    float *p[4];
    tmlp_status st = widen_module(f, i, scratch, allow_nonfinite, p, err);
    if (st != TMLP_OK) return st;
    switch (sp->kind) {
    case TMLP_LAYER_DENSE: {
        const int64_t out = (int64_t)find_tensor(f, i, "weight")->shape[0];
        return tmlp_model_add_dense(m, tmlp_model_output_width(m), out, p[0], p[1], err);
    }
    case TMLP_LAYER_LAYERNORM: return tmlp_model_add_layernorm(m, p[0], p[1], sp->param, err);
    case TMLP_LAYER_BATCHNORM:
        st = check_bn_var(p[3], find_tensor(f, i, "running_var")->numel, sp->param, i, allow_nonfinite, err);
        if (st != TMLP_OK) return st;
        return tmlp_model_add_batchnorm(m, p[2], p[3], p[0], p[1], sp->param, err);
    default: return add_plain(m, sp, err);
    }
}

static tmlp_status build_model(const tmlp_st_file *f, const tmlp_layer_spec *specs, int n,
                               int64_t input_width, const tmlp_preprocess *pre,
                               const tmlp_model_options *opts, tmlp_model **out, tmlp_error *err)
{
    const tmlp_allocator *alloc = &opts->allocator;
    /* One scratch block for the F32 copy of the largest module's tensors; the builders
     * copy from it, so it is reused for every module. */
    uint64_t most = 1;
    for (int i = 0; i < n; i++) {
        const uint64_t k = module_floats(f, i);
        if (k > most) most = k;
    }
    size_t bytes;
    if (most > SIZE_MAX || !tmlp_size_mul((size_t)most, sizeof(float), &bytes))
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "weights too large for this machine");
    float *scratch = tmlp_mem_alloc(alloc, bytes);
    if (!scratch) return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory for %zu bytes of weights", bytes);

    tmlp_model *m = NULL;
    tmlp_status st = tmlp_model_create(input_width, opts, &m, err);
    for (int i = 0; i < n && st == TMLP_OK; i++)
        st = build_module(f, &specs[i], i, m, scratch, opts->allow_nonfinite, err);
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
    tmlp_layer_spec *specs = NULL;
    int n = 0;
    int64_t input_width = 0;
    tmlp_preprocess pre = {0, 1.0, 0.0, 1.0};
    if (!layers)
        st = tmlp_error_set(err, TMLP_ERR_LAYERS,
                            "no layer list: pass layers or set __metadata__ tinymlp.layers");
    if (st == TMLP_OK) st = tmlp_layer_list_parse(layers, alloc, &specs, &n, err);
    if (st == TMLP_OK) st = check_tensors(f, specs, n, &input_width, err);
    if (st == TMLP_OK) st = read_preprocess(f, &pre, err);
    if (st == TMLP_OK) st = build_model(f, specs, n, input_width, &pre, &o, out, err);

    tmlp_mem_free(alloc, specs);
    tmlp_st_free(f);
    return st;
}

/* ---- Weights into a model built in C --------------------------------------------------- */

/* "layer 2 (dense 128 -> 10)" into buf. */
static const char *layer_label(const tmlp_model *m, int i, char *buf, size_t cap)
{
    tmlp_layer_info info;
    tmlp_model_layer_info(m, i, &info, NULL);
    snprintf(buf, cap, "layer %d (%s %lld -> %lld)", i, info.name, (long long)info.in_width,
             (long long)info.out_width);
    return buf;
}

/* The file's tensor for t (layer i): absent and optional, or present, float and of t's
 * exact shape. *found is the file's tensor or NULL. */
static tmlp_status check_layer_tensor(const tmlp_st_file *f, const char *path, const tmlp_model *m, int i,
                                      const tmlp_layer_tensor *t, const tmlp_st_tensor **found,
                                      tmlp_error *err)
{
    char label[96], s1[96];
    const tmlp_st_tensor *ft = *found = find_tensor(f, i, t->suffix);
    if (!ft && t->optional) return TMLP_OK;
    if (!ft)
        return tmlp_error_set(err, TMLP_ERR_MISSING_TENSOR, "%s: tensor `%d.%s` (%s) not found in the file",
                              path, i, t->suffix, layer_label(m, i, label, sizeof label));
    if (!dtype_is_float(ft->dtype))
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "%s: tensor `%d.%s`: dtype %s is not supported (use F32, F16 or BF16)",
                              path, i, t->suffix, tmlp_st_dtype_name(ft->dtype));
    int ok = ft->ndim == t->ndim;
    for (int d = 0; d < t->ndim && ok; d++) ok = ft->shape[d] == (uint64_t)t->shape[d];
    if (!ok) {
        char want[64];
        if (t->ndim == 2) snprintf(want, sizeof want, "%lldx%lld", (long long)t->shape[0], (long long)t->shape[1]);
        else snprintf(want, sizeof want, "%lld", (long long)t->shape[0]);
        return tmlp_error_set(err, TMLP_ERR_SHAPE, "%s: tensor `%d.%s`: shape %s, %s takes %s", path, i,
                              t->suffix, shape_str(ft, s1, sizeof s1), layer_label(m, i, label, sizeof label), want);
    }
    return TMLP_OK;
}

/* Layer i's tensors in the file: each present one checked, optional groups complete.
 * *present gets bit k for t[k]; *used counts the file tensors the layer takes. */
static tmlp_status check_layer_tensors(const tmlp_st_file *f, const char *path, const tmlp_model *m, int i,
                                       unsigned *present, int64_t *used, tmlp_error *err)
{
    tmlp_layer_tensor t[TMLP_LAYER_MAX_TENSORS];
    const int nt = tmlp_model_layer_tensors(m, i, t);
    *present = 0;
    for (int k = 0; k < nt; k++) {
        const tmlp_st_tensor *ft;
        tmlp_status st = check_layer_tensor(f, path, m, i, &t[k], &ft, err);
        if (st != TMLP_OK) return st;
        if (ft) *present |= 1u << k, ++*used;
    }
    for (int k = 0; k < nt; k++)
        for (int j = 0; j < nt; j++)
            if (t[k].group && t[k].group == t[j].group && (*present >> k & 1u) && !(*present >> j & 1u))
                return tmlp_error_set(err, TMLP_ERR_MISSING_TENSOR,
                                      "%s: tensor `%d.%s` is in the file but `%d.%s` is not (both or neither)",
                                      path, i, t[k].suffix, i, t[j].suffix);
    tmlp_layer_info info;
    tmlp_model_layer_info(m, i, &info, NULL);
    if (info.kind == TMLP_LAYER_BATCHNORM && find_tensor(f, i, "num_batches_tracked")) {
        tmlp_status st = check_batch_counter(f, i, err);
        if (st != TMLP_OK) return st;
        ++*used;
    }
    return TMLP_OK;
}

/* The first file tensor no layer takes (the file has more than `used`). */
static tmlp_status find_extra_tensor(const tmlp_st_file *f, const char *path, const tmlp_model *m,
                                     tmlp_error *err)
{
    const int n = tmlp_model_layer_count(m);
    for (int64_t k = 0; k < f->n_tensors; k++) {
        const char *name = f->tensors[k].name;
        char *end;
        errno = 0;
        unsigned long i = strtoul(name, &end, 10);
        int mine = 0;
        if (end != name && *end == '.' && i < (unsigned long)n && !(name[0] == '0' && end != name + 1)) {
            tmlp_layer_tensor t[TMLP_LAYER_MAX_TENSORS];
            const int nt = tmlp_model_layer_tensors(m, (int)i, t);
            for (int j = 0; j < nt; j++) mine |= !strcmp(end + 1, t[j].suffix);
            tmlp_layer_info info;
            tmlp_model_layer_info(m, (int)i, &info, NULL);
            mine |= info.kind == TMLP_LAYER_BATCHNORM && !strcmp(end + 1, "num_batches_tracked");
        }
        if (!mine)
            return tmlp_error_set(err, TMLP_ERR_EXTRA_TENSOR,
                                  "%s: tensor `%s` is not used by any layer of the model (%d layers; "
                                  "dense layer i takes <i>.weight and <i>.bias, layernorm and "
                                  "batchnorm their PyTorch names)", path, name, n);
    }
    return TMLP_ERR_EXTRA_TENSOR; /* not reached: the caller knows one is left over */
}

/* Pass 2 for layer i: every present tensor widened into a scratch copy and its values
 * checked (finite unless allowed; batchnorm's var + eps > 0), nothing written. */
static tmlp_status check_layer_values(const tmlp_st_file *f, const char *path, tmlp_model *m, int i,
                                      unsigned present, tmlp_error *err)
{
    const tmlp_allocator *alloc = tmlp_model_allocator(m);
    const int allow_nonfinite = tmlp_model_allows_nonfinite(m);
    tmlp_layer_tensor t[TMLP_LAYER_MAX_TENSORS];
    const int nt = tmlp_model_layer_tensors(m, i, t);
    tmlp_status st = TMLP_OK;
    for (int k = 0; k < nt && st == TMLP_OK; k++) {
        if (!(present >> k & 1u)) continue;
        const tmlp_st_tensor *ft = find_tensor(f, i, t[k].suffix);
        size_t bytes;
        if (!tmlp_size_mul((size_t)ft->numel, sizeof(float), &bytes))
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "%s: tensor `%d.%s` too large", path, i, t[k].suffix);
        float *tmp = tmlp_mem_alloc(alloc, bytes ? bytes : 1);
        if (!tmp)
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "%s: out of memory for %zu bytes of `%d.%s`", path,
                                  bytes, i, t[k].suffix);
        st = tmlp_st_to_f32(ft, tmp, err);
        if (st == TMLP_OK && !allow_nonfinite) st = check_finite(tmp, ft->numel, i, t[k].suffix, err);
        float eps;
        if (st == TMLP_OK && !strcmp(t[k].suffix, "running_var") && tmlp_model_layer_param(m, i, &eps))
            st = check_bn_var(tmp, ft->numel, eps, i, allow_nonfinite, err);
        tmlp_mem_free(alloc, tmp);
    }
    return st;
}

/* Pass 3 for layer i: the values into the layer, then the layer re-derives (and re-folds). */
static void write_layer(const tmlp_st_file *f, tmlp_model *m, int i, unsigned present)
{
    tmlp_layer_tensor t[TMLP_LAYER_MAX_TENSORS];
    const int nt = tmlp_model_layer_tensors(m, i, t);
    for (int k = 0; k < nt; k++)
        if (present >> k & 1u) (void)tmlp_st_to_f32(find_tensor(f, i, t[k].suffix), t[k].data, NULL);
    if (nt) tmlp_model_layer_tensors_written(m, i, present);
}

/* Which tensors each layer takes (bit masks), or an error naming the first problem. */
static tmlp_status check_weights_file(const tmlp_st_file *f, const char *path, tmlp_model *m,
                                      unsigned *present, tmlp_error *err)
{
    const int n = tmlp_model_layer_count(m);
    int64_t used = 0;
    int with_params = 0;
    for (int i = 0; i < n; i++) {
        tmlp_layer_tensor t[TMLP_LAYER_MAX_TENSORS];
        with_params += tmlp_model_layer_tensors(m, i, t) > 0;
        tmlp_status st = check_layer_tensors(f, path, m, i, &present[i], &used, err);
        if (st != TMLP_OK) return st;
    }
    if (!with_params)
        return tmlp_error_set(err, TMLP_ERR_STATE,
                              "tmlp_model_load_weights: the model has no dense layer (nor any layer "
                              "with parameters) to fill");
    /* Names are unique (the parser rejects duplicates), so some tensor is unused. */
    if (f->n_tensors != used) return find_extra_tensor(f, path, m, err);
    for (int i = 0; i < n; i++) {
        tmlp_status st = check_layer_values(f, path, m, i, present[i], err);
        if (st != TMLP_OK) return st;
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
    const int n = tmlp_model_layer_count(m);
    unsigned *present = tmlp_mem_calloc(alloc, n ? (size_t)n : 1, sizeof *present);
    if (!present) return tmlp_error_set(err, TMLP_ERR_NOMEM, "tmlp_model_load_weights: out of memory");
    tmlp_st_file *f = NULL;
    tmlp_status st = tmlp_st_read_named(path, alloc, &f, err);
    /* Passes 1 and 2 check everything before pass 3 writes anything: an error leaves the
     * model as it was. Layers are written in order, so a Dense is rewritten before the
     * BatchNorms folded into it fold again. */
    if (st == TMLP_OK) st = check_weights_file(f, path, m, present, err);
    for (int i = 0; i < n && st == TMLP_OK; i++) write_layer(f, m, i, present[i]);
    tmlp_st_free(f);
    tmlp_mem_free(alloc, present);
    return st;
}

/* ---- Save ----------------------------------------------------------------------------- */

/* Describe layer i's present tensors into tensors[*k ..], their names in names. */
static void describe_layer(const tmlp_model *m, int i, tmlp_st_write_tensor *tensors, char *names, size_t *k)
{
    tmlp_layer_tensor t[TMLP_LAYER_MAX_TENSORS];
    const int nt = tmlp_model_layer_tensors(m, i, t);
    for (int j = 0; j < nt; j++) {
        if (!t[j].present) continue;
        char *name = names + *k * MODEL_IO_NAME_MAX;
        snprintf(name, MODEL_IO_NAME_MAX, "%d.%s", i, t[j].suffix);
        tensors[*k].name = name;
        tensors[*k].dtype = TMLP_ST_F32;
        tensors[*k].ndim = t[j].ndim;
        tensors[*k].shape[0] = (uint64_t)t[j].shape[0];
        tensors[*k].shape[1] = t[j].ndim == 2 ? (uint64_t)t[j].shape[1] : 0;
        tensors[*k].data = t[j].data;
        ++*k;
    }
}

/* Write the described tensors with the layer list and preprocessing as metadata. */
static tmlp_status write_model_file(const tmlp_model *m, const char *path, const tmlp_st_write_tensor *tensors,
                                    size_t n, char *layer_str, tmlp_error *err)
{
    /* %.17g: 17 significant digits identify every double, so strtod reads back the same
     * bits. */
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
    return tmlp_st_write(path, tensors, (int64_t)n, meta, pre.has_preprocess ? 5 : 2,
                         tmlp_model_allocator(m), err);
}

/* Longest layer-string entry: the longest name, "(", a "%.9g" float (<= 15), ")", ",". */
#define LAYER_ENTRY_MAX 32

tmlp_status tmlp_model_save(const tmlp_model *m, const char *path, tmlp_error *err)
{
    if (!m || !path)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_save: %s is NULL", m ? "path" : "model");
    const tmlp_allocator *alloc = tmlp_model_allocator(m);
    const int n = tmlp_model_layer_count(m);
    size_t n_tensors = 0;
    for (int i = 0; i < n; i++) {
        tmlp_layer_tensor t[TMLP_LAYER_MAX_TENSORS];
        const int nt = tmlp_model_layer_tensors(m, i, t);
        for (int j = 0; j < nt; j++) n_tensors += t[j].present;
    }
    if (n_tensors == 0)
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "tmlp_model_save: the model has no dense layer (no layer with "
                              "parameters), so a file could not record its input width");
    const size_t layers_cap = (size_t)n * LAYER_ENTRY_MAX + 1;
    tmlp_st_write_tensor *tensors = tmlp_mem_calloc(alloc, n_tensors, sizeof *tensors);
    char *names = tmlp_mem_calloc(alloc, n_tensors, MODEL_IO_NAME_MAX);
    char *layer_str = tmlp_mem_alloc(alloc, layers_cap);
    tmlp_status st = TMLP_OK;
    if (!tensors || !names || !layer_str)
        st = tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory saving %s", path);
    size_t k = 0;
    for (int i = 0; i < n && st == TMLP_OK; i++) describe_layer(m, i, tensors, names, &k);
    if (st == TMLP_OK) st = tmlp_model_layers_string(m, layer_str, layers_cap, err);
    if (st == TMLP_OK) st = write_model_file(m, path, tensors, k, layer_str, err);
    tmlp_mem_free(alloc, layer_str);
    tmlp_mem_free(alloc, names);
    tmlp_mem_free(alloc, tensors);
    return st;
}
