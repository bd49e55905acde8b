/* model.c — tmlp_model: a Sequential container of layers, built once, then read-only.
 *
 * Building is shape inference as you go: the model remembers the current output width;
 * tmlp_model_add_dense(in, out) must have in == that width, and then it becomes out.
 * Activations keep the width. The largest width seen is what a session sizes its two
 * activation buffers by (session.c).
 *
 *     tmlp_model_create(784)          widths: 784
 *     add_dense(784, 512) + add_relu  784 -> 512 -> 512
 *     add_dense(512, 10) + softmax    ... -> 10 -> 10        max_width 512
 *
 * After the first session is created the model is frozen (TMLP_ERR_STATE on add_*), so
 * any number of threads can share it. tmlp_model_random builds the standard MLP from a
 * width list with PyTorch's nn.Linear init drawn from our own PRNG (see model.h for the
 * exact draw order, which tools/ reproduce in Python).
 */
#include "layer.h"
#include "model_internal.h"

#include "internal.h"
#include "kernels/kernels.h"
#include "tinymlp/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tmlp_model_options tmlp_model_options_default(void)
{
    tmlp_model_options o;
    memset(&o, 0, sizeof o);
    return o;
}

tmlp_status tmlp_model_create(int64_t input_width, const tmlp_model_options *opts,
                              tmlp_model **out, tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_create: out is NULL");
    *out = NULL;
    if (input_width < 1 || input_width > INT32_MAX)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_create: input width %lld not in [1, 2^31)",
                              (long long)input_width);
    tmlp_allocator a = {0};
    if (opts) a = opts->allocator;
    const int allow_nonfinite = opts ? opts->allow_nonfinite : 0;
    tmlp_model *m = tmlp_mem_alloc(&a, sizeof *m);
    if (!m) return tmlp_error_set(err, TMLP_ERR_NOMEM, "tmlp_model_create: out of memory");
    memset(m, 0, sizeof *m);
    m->alloc = a;
    m->allow_nonfinite = allow_nonfinite;
    m->input_width = m->output_width = m->max_width = input_width;
    m->pre.has_preprocess = 0;
    m->pre.scale = 1.0;
    m->pre.mean = 0.0;
    m->pre.std = 1.0;
    tmlp_status st = tmlp_kernel_resolve(opts ? opts->kernel : TMLP_KERNEL_AUTO, &m->kernel,
                                         &m->kernel_source, err);
    if (st != TMLP_OK) {
        tmlp_mem_free(&a, m);
        return st;
    }
    m->kernel_forced = strcmp(m->kernel_source, "cpuid") != 0;
    st = tmlp_precision_resolve(opts ? opts->precision : TMLP_PRECISION_AUTO, &m->precision,
                                &m->precision_source, err);
    if (st == TMLP_OK && m->precision != TMLP_PRECISION_F32 && m->kernel == TMLP_KERNEL_BLAS &&
        m->kernel_forced)
        st = tmlp_error_set(err, TMLP_ERR_ARG,
                            "precision %s (from %s) needs our kernels; kernel 'blas' (from %s) has "
                            "no %s path", tmlp_precision_name(m->precision), m->precision_source,
                            m->kernel_source, tmlp_precision_name(m->precision));
    if (st != TMLP_OK) {
        tmlp_mem_free(&a, m);
        return st;
    }
    atomic_init(&m->sessions_created, 0);
    *out = m;
    return TMLP_OK;
}

void tmlp_model_destroy(tmlp_model *m)
{
    if (!m) return;
    const tmlp_allocator a = m->alloc; /* copy: m itself is freed last, through it */
    for (int i = 0; i < m->n_layers; i++) m->layers[i]->ops->destroy(m->layers[i], &a);
    tmlp_mem_free(&a, m->layers);
    tmlp_mem_free(&a, m);
}

/* Common checks before appending: a live, not yet frozen model. */
static tmlp_status check_building(const tmlp_model *m, const char *fn, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "%s: model is NULL", fn);
    if (atomic_load_explicit(&m->sessions_created, memory_order_relaxed))
        return tmlp_error_set(err, TMLP_ERR_STATE,
                              "%s: the model already has a session; add every layer before "
                              "tmlp_session_create", fn);
    if (m->n_layers == INT32_MAX)
        return tmlp_error_set(err, TMLP_ERR_ARG, "%s: too many layers", fn);
    return TMLP_OK;
}

/* The Dense a layer appended now would fuse into: the last layer, looking through norms
 * already folded into it; -1 unless that is a Dense whose epilogue is still free. */
static int fuse_target(const tmlp_model *m)
{
    int i = m->n_layers - 1;
    while (i >= 0 && m->layers[i]->ops->fold && m->layers[i]->fused_into >= 0) i--;
    if (i < 0 || m->layers[i]->ops->kind != TMLP_LAYER_DENSE || !m->layers[i]->ops->forward_act ||
        m->layers[i]->epilogue.act != TMLP_ACT_NONE)
        return -1;
    return i;
}

/* Room for one more layer in the list. */
static tmlp_status reserve_one(tmlp_model *m, tmlp_error *err)
{
    if (m->n_layers < m->cap_layers) return TMLP_OK;
    int cap = m->cap_layers ? m->cap_layers * 2 : 8;
    if (cap < m->cap_layers) cap = INT32_MAX; /* doubling past INT32_MAX */
    tmlp_layer **grown = tmlp_mem_calloc(&m->alloc, (size_t)cap, sizeof *grown);
    if (!grown) return tmlp_error_set(err, TMLP_ERR_NOMEM, "model: out of memory for the layer list");
    if (m->n_layers) memcpy(grown, m->layers, (size_t)m->n_layers * sizeof *grown);
    tmlp_mem_free(&m->alloc, m->layers);
    m->layers = grown;
    m->cap_layers = cap;
    return TMLP_OK;
}

/* Append a built layer whose parameters are final (prepare packs them), fusing it into the
 * Dense before it where it can (layer.h, "Fusion"). On failure the layer is destroyed (the
 * caller never leaks it) and the model is as it was: the fold, which rewrites the Dense,
 * comes after everything that can fail. */
tmlp_status tmlp_model_add_layer(tmlp_model *m, tmlp_layer *l, tmlp_error *err)
{
    if (!l) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_add_layer: layer is NULL");
    tmlp_status st = check_building(m, "tmlp_model_add_layer", err);
    if (st == TMLP_OK && l->in_width != m->output_width)
        st = tmlp_error_set(err, TMLP_ERR_SHAPE,
                            "layer %d (%s): input width %lld does not match the previous output width %lld",
                            m->n_layers, l->ops->name, (long long)l->in_width, (long long)m->output_width);
    const size_t scratch = l->ops->scratch_floats ? l->ops->scratch_floats(l) : 0;
    if (st == TMLP_OK && l->ops->prepare)
        st = l->ops->prepare(l, &m->alloc, m->kernel, m->kernel_forced, m->precision, err);
    if (st == TMLP_OK) st = reserve_one(m, err);
    if (st != TMLP_OK) {
        if (m) l->ops->destroy(l, &m->alloc);
        return st;
    }
    l->fused_into = -1;
    l->epilogue = TMLP_EPILOGUE_NONE;
    const int target = fuse_target(m);
    if (target >= 0 && l->ops->fold) {
        st = l->ops->fold(l, m->layers[target], &m->alloc, err);
        if (st != TMLP_OK) {
            l->ops->destroy(l, &m->alloc);
            return st;
        }
        l->fused_into = target;
    } else if (target >= 0 && l->ops->epilogue) {
        m->layers[target]->epilogue = l->ops->epilogue(l);
        l->fused_into = target;
    }
    m->layers[m->n_layers++] = l;
    m->output_width = l->out_width;
    if (l->out_width > m->max_width) m->max_width = l->out_width;
    if (scratch > m->scratch_floats) m->scratch_floats = scratch;
    return TMLP_OK;
}

static tmlp_status append(tmlp_model *m, tmlp_layer *l, tmlp_error *err)
{
    return tmlp_model_add_layer(m, l, err);
}

tmlp_status tmlp_model_add_dense(tmlp_model *m, int64_t in, int64_t out, const float *weight,
                                 const float *bias, tmlp_error *err)
{
    tmlp_status st = check_building(m, "tmlp_model_add_dense", err);
    if (st != TMLP_OK) return st;
    if (!weight) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_add_dense: weight is NULL");
    if (in != m->output_width)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "dense layer %d: input width %lld does not match the previous "
                              "output width %lld (weight is (out=%lld, in=%lld))",
                              m->n_layers, (long long)in, (long long)m->output_width,
                              (long long)out, (long long)in);
    tmlp_layer *l;
    st = tmlp_dense_create(&m->alloc, in, out, weight, bias, &l, err);
    if (st != TMLP_OK) return st;
    return append(m, l, err);
}

tmlp_status tmlp_model_add_relu(tmlp_model *m, tmlp_error *err)
{
    tmlp_status st = check_building(m, "tmlp_model_add_relu", err);
    if (st != TMLP_OK) return st;
    tmlp_layer *l;
    st = tmlp_relu_create(&m->alloc, m->output_width, &l, err);
    if (st != TMLP_OK) return st;
    return append(m, l, err);
}

tmlp_status tmlp_model_add_softmax(tmlp_model *m, tmlp_error *err)
{
    tmlp_status st = check_building(m, "tmlp_model_add_softmax", err);
    if (st != TMLP_OK) return st;
    tmlp_layer *l;
    st = tmlp_softmax_create(&m->alloc, m->output_width, &l, err);
    if (st != TMLP_OK) return st;
    return append(m, l, err);
}

/* --- The layers of PyTorch MLPs (model.h) ---------------------------------------------- */

/* The first non-finite p[0..n) as TMLP_ERR_ARG naming fn and the array, unless the model
 * accepts non-finite parameters. */
static tmlp_status check_finite_params(const tmlp_model *m, const char *fn, const char *what,
                                       const float *p, int64_t n, tmlp_error *err)
{
    if (!p || m->allow_nonfinite) return TMLP_OK;
    for (int64_t j = 0; j < n; j++)
        if (!isfinite(p[j]))
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "%s: %s[%lld] is %s (non-finite parameters are refused; set "
                                  "allow_nonfinite in tmlp_model_options to build anyway)", fn, what,
                                  (long long)j, isnan(p[j]) ? "NaN" : p[j] > 0 ? "+Inf" : "-Inf");
    return TMLP_OK;
}

static tmlp_status add_activation(tmlp_model *m, tmlp_act act, float alpha, const char *fn,
                                  tmlp_error *err)
{
    tmlp_status st = check_building(m, fn, err);
    if (st != TMLP_OK) return st;
    if (!isfinite(alpha)) return tmlp_error_set(err, TMLP_ERR_ARG, "%s: slope %g is not finite", fn, (double)alpha);
    tmlp_layer *l;
    st = tmlp_activation_create(&m->alloc, m->output_width, (tmlp_epilogue){act, alpha}, &l, err);
    if (st != TMLP_OK) return st;
    return append(m, l, err);
}

tmlp_status tmlp_model_add_leaky_relu(tmlp_model *m, float slope, tmlp_error *err)
{
    return add_activation(m, TMLP_ACT_LEAKY_RELU, slope, "tmlp_model_add_leaky_relu", err);
}
tmlp_status tmlp_model_add_gelu(tmlp_model *m, tmlp_error *err)
{
    return add_activation(m, TMLP_ACT_GELU, 0.0f, "tmlp_model_add_gelu", err);
}
tmlp_status tmlp_model_add_gelu_tanh(tmlp_model *m, tmlp_error *err)
{
    return add_activation(m, TMLP_ACT_GELU_TANH, 0.0f, "tmlp_model_add_gelu_tanh", err);
}
tmlp_status tmlp_model_add_tanh(tmlp_model *m, tmlp_error *err)
{
    return add_activation(m, TMLP_ACT_TANH, 0.0f, "tmlp_model_add_tanh", err);
}
tmlp_status tmlp_model_add_sigmoid(tmlp_model *m, tmlp_error *err)
{
    return add_activation(m, TMLP_ACT_SIGMOID, 0.0f, "tmlp_model_add_sigmoid", err);
}
tmlp_status tmlp_model_add_silu(tmlp_model *m, tmlp_error *err)
{
    return add_activation(m, TMLP_ACT_SILU, 0.0f, "tmlp_model_add_silu", err);
}

tmlp_status tmlp_model_add_log_softmax(tmlp_model *m, tmlp_error *err)
{
    tmlp_status st = check_building(m, "tmlp_model_add_log_softmax", err);
    if (st != TMLP_OK) return st;
    tmlp_layer *l;
    st = tmlp_log_softmax_create(&m->alloc, m->output_width, &l, err);
    if (st != TMLP_OK) return st;
    return append(m, l, err);
}

/* gamma and beta: both or neither. */
static tmlp_status check_affine_pair(const float *gamma, const float *beta, const char *fn,
                                     tmlp_error *err)
{
    if ((gamma == NULL) != (beta == NULL))
        return tmlp_error_set(err, TMLP_ERR_ARG, "%s: gamma is %s but beta is %s: pass both (affine) "
                              "or neither", fn, gamma ? "set" : "NULL", beta ? "set" : "NULL");
    return TMLP_OK;
}

tmlp_status tmlp_model_add_layernorm(tmlp_model *m, const float *gamma, const float *beta,
                                     float eps, tmlp_error *err)
{
    static const char fn[] = "tmlp_model_add_layernorm";
    tmlp_status st = check_building(m, fn, err);
    if (st == TMLP_OK) st = check_affine_pair(gamma, beta, fn, err);
    if (st == TMLP_OK && !(isfinite(eps) && eps > 0.0f))
        st = tmlp_error_set(err, TMLP_ERR_ARG, "%s: eps %g, it must be finite and > 0", fn, (double)eps);
    if (st == TMLP_OK) st = check_finite_params(m, fn, "gamma", gamma, m->output_width, err);
    if (st == TMLP_OK) st = check_finite_params(m, fn, "beta", beta, m->output_width, err);
    if (st != TMLP_OK) return st;
    tmlp_layer *l;
    st = tmlp_layernorm_create(&m->alloc, m->output_width, gamma, beta, eps, &l, err);
    if (st != TMLP_OK) return st;
    return append(m, l, err);
}

/* var[j] + eps > 0 for every j (NaN passes only when non-finite values are allowed). */
static tmlp_status check_bn_var(const tmlp_model *m, const char *fn, const float *var, float eps,
                                tmlp_error *err)
{
    for (int64_t j = 0; j < m->output_width; j++) {
        const double v = (double)var[j] + (double)eps;
        if (!(v > 0.0) && !(m->allow_nonfinite && isnan(v)))
            return tmlp_error_set(err, TMLP_ERR_ARG, "%s: var[%lld] + eps = %g, it must be > 0", fn,
                                  (long long)j, v);
    }
    return TMLP_OK;
}

tmlp_status tmlp_model_add_batchnorm(tmlp_model *m, const float *mean, const float *var,
                                     const float *gamma, const float *beta, float eps,
                                     tmlp_error *err)
{
    static const char fn[] = "tmlp_model_add_batchnorm";
    tmlp_status st = check_building(m, fn, err);
    if (st == TMLP_OK && (!mean || !var))
        st = tmlp_error_set(err, TMLP_ERR_ARG, "%s: %s is NULL", fn, mean ? "var" : "mean");
    if (st == TMLP_OK) st = check_affine_pair(gamma, beta, fn, err);
    if (st == TMLP_OK && !(isfinite(eps) && eps >= 0.0f))
        st = tmlp_error_set(err, TMLP_ERR_ARG, "%s: eps %g, it must be finite and >= 0", fn, (double)eps);
    if (st == TMLP_OK) st = check_finite_params(m, fn, "mean", mean, m->output_width, err);
    if (st == TMLP_OK) st = check_finite_params(m, fn, "var", var, m->output_width, err);
    if (st == TMLP_OK) st = check_finite_params(m, fn, "gamma", gamma, m->output_width, err);
    if (st == TMLP_OK) st = check_finite_params(m, fn, "beta", beta, m->output_width, err);
    if (st == TMLP_OK) st = check_bn_var(m, fn, var, eps, err);
    if (st != TMLP_OK) return st;
    tmlp_layer *l;
    st = tmlp_batchnorm_create(&m->alloc, m->output_width, mean, var, gamma, beta, eps, &l, err);
    if (st != TMLP_OK) return st;
    return append(m, l, err);
}

static tmlp_status add_identity(tmlp_model *m, tmlp_layer_kind kind, const char *fn, tmlp_error *err)
{
    tmlp_status st = check_building(m, fn, err);
    if (st != TMLP_OK) return st;
    tmlp_layer *l;
    st = tmlp_identity_create(&m->alloc, m->output_width, kind, &l, err);
    if (st != TMLP_OK) return st;
    return append(m, l, err);
}

tmlp_status tmlp_model_add_dropout(tmlp_model *m, tmlp_error *err)
{
    return add_identity(m, TMLP_LAYER_DROPOUT, "tmlp_model_add_dropout", err);
}
tmlp_status tmlp_model_add_identity(tmlp_model *m, tmlp_error *err)
{
    return add_identity(m, TMLP_LAYER_IDENTITY, "tmlp_model_add_identity", err);
}

/* Dense(widths[i] -> widths[i+1]) with W then b drawn in order from rng. */
static tmlp_status add_random_dense(tmlp_model *m, int64_t in, int64_t out, tmlp_rng *rng,
                                    tmlp_error *err)
{
    tmlp_layer *l;
    /* NULL weight/bias = zeros; filled in place below, before anyone can see the layer. */
    tmlp_status st = tmlp_dense_create(&m->alloc, in, out, NULL, NULL, &l, err);
    if (st != TMLP_OK) return st;
    float *w = tmlp_dense_weight(l), *b = tmlp_dense_bias(l);
    const double k = 1.0 / sqrt((double)in);
    const int64_t nw = in * out;
    for (int64_t i = 0; i < nw; i++) w[i] = (float)((2.0 * tmlp_rng_uniform(rng) - 1.0) * k);
    for (int64_t j = 0; j < out; j++) b[j] = (float)((2.0 * tmlp_rng_uniform(rng) - 1.0) * k);
    tmlp_dense_set_has_bias(l);
    return append(m, l, err);
}

tmlp_status tmlp_model_random(const int64_t *widths, int n, uint64_t seed,
                              const tmlp_model_options *opts, tmlp_model **out, tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_random: out is NULL");
    *out = NULL;
    if (!widths) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_random: widths is NULL");
    if (n < 2) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_random: need n >= 2 widths, got %d", n);
    for (int i = 0; i < n; i++)
        if (widths[i] < 1 || widths[i] > INT32_MAX)
            return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_random: widths[%d] = %lld not in [1, 2^31)",
                                  i, (long long)widths[i]);
    tmlp_model *m;
    tmlp_status st = tmlp_model_create(widths[0], opts, &m, err);
    if (st != TMLP_OK) return st;
    tmlp_rng rng;
    tmlp_rng_seed(&rng, seed);
    for (int i = 0; i + 1 < n && st == TMLP_OK; i++) {
        st = add_random_dense(m, widths[i], widths[i + 1], &rng, err);
        if (st == TMLP_OK) st = (i + 2 < n) ? tmlp_model_add_relu(m, err) : tmlp_model_add_softmax(m, err);
    }
    if (st != TMLP_OK) {
        tmlp_model_destroy(m);
        return st;
    }
    *out = m;
    return TMLP_OK;
}

/* --- Inspecting ----------------------------------------------------------------------- */

int64_t tmlp_model_input_width(const tmlp_model *m) { return m ? m->input_width : 0; }
int64_t tmlp_model_output_width(const tmlp_model *m) { return m ? m->output_width : 0; }
int tmlp_model_layer_count(const tmlp_model *m) { return m ? m->n_layers : 0; }

tmlp_status tmlp_model_layer_info(const tmlp_model *m, int i, tmlp_layer_info *info, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "model: layer_info: m is NULL");
    if (!info) return tmlp_error_set(err, TMLP_ERR_ARG, "model: layer_info: info is NULL");
    if (i < 0 || i >= m->n_layers)
        return tmlp_error_set(err, TMLP_ERR_ARG, "model: layer_info: i %d is outside [0, %d) (the model has %d layer%s)",
                              i, m->n_layers, m->n_layers, m->n_layers == 1 ? "" : "s");
    const tmlp_layer *l = m->layers[i];
    info->kind = l->ops->kind;
    /* The API's name for the kind; the file format's name ("linear" for a Dense layer,
     * after PyTorch's nn.Linear) is what tmlp_model_layers_string writes. */
    info->name = l->ops->kind == TMLP_LAYER_DENSE ? "dense" : l->ops->describe ? l->ops->describe(l) : l->ops->name;
    info->in_width = l->in_width;
    info->out_width = l->out_width;
    info->param_count = l->ops->param_count(l);
    info->flops_per_sample = l->ops->flops_per_sample(l);
    info->weight_bytes = (size_t)info->param_count * sizeof(float);
    info->kernel = TMLP_KERNEL_AUTO;
    info->crossover = 0;
    info->packed_bytes = 0;
    if (l->ops->kernel_info) l->ops->kernel_info(l, &info->kernel, &info->crossover, &info->packed_bytes);
    info->precision = TMLP_PRECISION_AUTO;
    info->stream_bytes = 0;
    info->fused_into = l->fused_into;
    if (l->ops->precision_info) {
        const char *isa;
        l->ops->precision_info(l, &info->precision, &isa, &info->stream_bytes);
    }
    return TMLP_OK;
}

tmlp_status tmlp_model_kernel_info(const tmlp_model *m, tmlp_kernel_info *info, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "model: kernel_info: m is NULL");
    if (!info) return tmlp_error_set(err, TMLP_ERR_ARG, "model: kernel_info: info is NULL");
    memset(info, 0, sizeof *info);
    info->kernel = m->kernel;
    snprintf(info->name, sizeof info->name, "%s", tmlp_kernel_name(m->kernel));
    snprintf(info->source, sizeof info->source, "%s", m->kernel_source);
    tmlp_kernel_available_list(info->available, sizeof info->available);
    info->precision = m->precision;
    snprintf(info->precision_source, sizeof info->precision_source, "%s", m->precision_source);
    snprintf(info->isa, sizeof info->isa, "%s", tmlp_kernel_name(m->kernel));
    int any = 0;
    for (int i = 0; i < m->n_layers; i++) {
        tmlp_layer_info li;
        tmlp_model_layer_info(m, i, &li, NULL);
        if (li.kind != TMLP_LAYER_DENSE) continue;
        if (!any || li.crossover < info->crossover_min) info->crossover_min = li.crossover;
        if (!any || li.crossover > info->crossover_max) info->crossover_max = li.crossover;
        info->packed_bytes += li.packed_bytes;
        if (!any && m->layers[i]->ops->precision_info) {
            tmlp_precision p;
            const char *isa;
            size_t sb;
            m->layers[i]->ops->precision_info(m->layers[i], &p, &isa, &sb);
            snprintf(info->isa, sizeof info->isa, "%s", isa);
        }
        any = 1;
    }
    return TMLP_OK;
}

/* The shortest "%.<p>g" (p <= 9) that strtof reads back as v: "0.1", "1e-05" rather than
 * "0.100000001"; nine significant digits identify every float, so p = 9 always does. */
static const char *float_text(float v, char *buf, size_t cap)
{
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, cap, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    return buf;
}

tmlp_status tmlp_model_layers_string(const tmlp_model *m, char *buf, size_t cap, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "model: layers_string: m is NULL");
    if (!buf) return tmlp_error_set(err, TMLP_ERR_ARG, "model: layers_string: buf is NULL");
    if (cap == 0) return tmlp_error_set(err, TMLP_ERR_ARG, "model: layers_string: cap is 0, it needs >= 1 for the NUL");
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->n_layers; i++) {
        const tmlp_layer *l = m->layers[i];
        char num[24];
        int k = l->ops->param ? snprintf(buf + len, cap - len, "%s%s(%s)", i ? "," : "", l->ops->name,
                                         float_text(l->ops->param(l), num, sizeof num))
                              : snprintf(buf + len, cap - len, "%s%s", i ? "," : "", l->ops->name);
        if (k < 0 || (size_t)k >= cap - len) {
            buf[len] = '\0'; /* truncated: whole entries only, still NUL-terminated */
            break;
        }
        len += (size_t)k;
    }
    return TMLP_OK;
}

size_t tmlp_model_param_bytes(const tmlp_model *m)
{
    if (!m) return 0;
    size_t total = 0;
    for (int i = 0; i < m->n_layers; i++)
        total += (size_t)m->layers[i]->ops->param_count(m->layers[i]) * sizeof(float);
    return total;
}

/* --- Preprocessing -------------------------------------------------------------------- */

tmlp_preprocess tmlp_model_preprocess(const tmlp_model *m)
{
    tmlp_preprocess p = {0, 1.0, 0.0, 1.0};
    return m ? m->pre : p;
}

_Static_assert(TMLP_PREPROCESS_TABLE_FLOATS == TMLP_U8_TABLE_FLOATS, "the public table size is the kernels' one");

void tmlp_preprocess_table(const tmlp_preprocess *p, float *table)
{
    tmlp_u8_table(p->scale, p->mean, p->std, table);
}

void tmlp_preprocess_u8(const float *table, const uint8_t *src, float *dst, int64_t n)
{
    tmlp_u8_lookup_function()(src, table, dst, n);
}

tmlp_status tmlp_model_set_preprocess(tmlp_model *m, double scale, double mean, double std,
                                      tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_model_set_preprocess: model is NULL");
    if (atomic_load_explicit(&m->sessions_created, memory_order_relaxed))
        return tmlp_error_set(err, TMLP_ERR_STATE,
                              "tmlp_model_set_preprocess: a session exists, the model is frozen "
                              "(set preprocessing before the first tmlp_session_create)");
    if (!isfinite(scale) || !isfinite(mean) || !isfinite(std) || std == 0.0)
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "tmlp_model_set_preprocess: scale %g, mean %g, std %g: all must be "
                              "finite and std must not be 0", scale, mean, std);
    m->pre.has_preprocess = 1;
    m->pre.scale = scale;
    m->pre.mean = mean;
    m->pre.std = std;
    return TMLP_OK;
}

/* --- model_internal.h ------------------------------------------------------------------ */

const tmlp_allocator *tmlp_model_allocator(const tmlp_model *m) { return &m->alloc; }

/* model.h */

tmlp_status tmlp_model_dense_params(const tmlp_model *m, int i, const float **weight,
                                    const float **bias, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "model: dense_params: m is NULL");
    if (i < 0 || i >= m->n_layers)
        return tmlp_error_set(err, TMLP_ERR_ARG, "model: dense_params: i %d is outside [0, %d)", i, m->n_layers);
    if (m->layers[i]->ops->kind != TMLP_LAYER_DENSE)
        return tmlp_error_set(err, TMLP_ERR_ARG, "model: dense_params: layer %d is %s, not a Dense layer", i,
                              m->layers[i]->ops->name);
    if (weight) *weight = tmlp_dense_weight(m->layers[i]);
    if (bias) *bias = tmlp_dense_bias(m->layers[i]);
    return TMLP_OK;
}

int tmlp_model_layer_tensors(const tmlp_model *m, int i, tmlp_layer_tensor *t)
{
    if (!m || i < 0 || i >= m->n_layers || !m->layers[i]->ops->tensors) return 0;
    return m->layers[i]->ops->tensors(m->layers[i], t);
}

void tmlp_model_layer_tensors_written(tmlp_model *m, int i, unsigned present)
{
    tmlp_layer *l = m->layers[i];
    if (l->ops->set_present) l->ops->set_present(l, present);
    /* Out of memory re-packing a Dense leaves it on BLAS (correct, slower); nothing else
     * prepare does can fail. */
    if (l->ops->prepare) (void)l->ops->prepare(l, &m->alloc, m->kernel, m->kernel_forced, m->precision, NULL);
    /* The Dense kept its file weights when it was first folded: nothing to allocate. */
    if (l->ops->fold && l->fused_into >= 0) (void)l->ops->fold(l, m->layers[l->fused_into], &m->alloc, NULL);
}

int tmlp_model_layer_param(const tmlp_model *m, int i, float *value)
{
    if (!m || i < 0 || i >= m->n_layers || !m->layers[i]->ops->param) return 0;
    *value = m->layers[i]->ops->param(m->layers[i]);
    return 1;
}

int tmlp_model_frozen(const tmlp_model *m)
{
    return atomic_load_explicit(&((tmlp_model *)m)->sessions_created, memory_order_relaxed) != 0;
}

int tmlp_model_allows_nonfinite(const tmlp_model *m) { return m->allow_nonfinite; }

int64_t tmlp_argmax(const float *x, int64_t n)
{
    if (!x || n < 1) return -1;
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i; /* strict: the first index wins ties */
    return best;
}

/* --- Layers that are only a header (layer.h) -------------------------------------------- */

tmlp_status tmlp_layer_plain_create(const tmlp_allocator *a, const tmlp_layer_ops *ops,
                                    int64_t width, tmlp_layer **out_layer, tmlp_error *err)
{
    if (width < 1) return tmlp_error_set(err, TMLP_ERR_ARG, "%s: width %lld < 1", ops->name, (long long)width);
    tmlp_layer *l = tmlp_mem_alloc(a, sizeof *l);
    if (!l) return tmlp_error_set(err, TMLP_ERR_NOMEM, "%s: out of memory for the layer", ops->name);
    l->ops = ops;
    l->in_width = l->out_width = width;
    *out_layer = l;
    return TMLP_OK;
}

int64_t tmlp_layer_plain_param_count(const tmlp_layer *l)
{
    (void)l;
    return 0;
}

void tmlp_layer_plain_destroy(tmlp_layer *l, const tmlp_allocator *a) { tmlp_mem_free(a, l); }
