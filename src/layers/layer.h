/* layer.h (private) — the interface every layer implements.
 *
 * A layer is a struct whose FIRST member is a tmlp_layer header; the header points to a
 * `static const tmlp_layer_ops` table defined in the layer's own file (dense.c, relu.c,
 * activation.c, softmax.c, log_softmax.c, layernorm.c, batchnorm.c, identity.c). Code that
 * runs layers (session.c) only sees the header and calls through the table, so adding a
 * layer kind touches no central switch:
 *
 *     typedef struct { tmlp_layer base; float *w; ... } dense;     // dense.c
 *     dense *d = ...;  d->base.ops = &dense_ops;                    // "is a" tmlp_layer
 *     l->ops->forward(l, x, y, batch, scratch);                     // session.c
 *
 * Shapes: every layer maps a row-major batch x:(B, in_width) to y:(B, out_width).
 * Layers are immutable after the model is built (forward takes a const layer), so one
 * model may serve many sessions on many threads at once.
 *
 * Fusion (decided once, by model.c, as each layer is appended; see docs/internals.md):
 *   - an activation with an `epilogue` directly after a Dense runs in the Dense's epilogue:
 *     the Dense's header gets .epilogue, the activation .fused_into = the Dense's index;
 *   - a layer with `fold` (BatchNorm) directly after a Dense (or after norms already folded
 *     into it) is folded into the W and b the Dense runs, at once, and .fused_into says
 *     where; the Dense keeps the file's W and b for save and load_weights.
 * The session runs no layer whose fused_into >= 0 and no `passthrough` layer.
 */
#ifndef TMLP_LAYER_H
#define TMLP_LAYER_H

#include "tinymlp/model.h"
#include "tinymlp/kernels.h"
#include "kernels/act.h"
#include "model_internal.h"

#include <math.h>
#include <stdbool.h>

typedef struct tmlp_layer tmlp_layer;

typedef struct tmlp_layer_ops {
    const char *name;      /* as in the "tinymlp.layers" list: "linear", "relu", "layernorm", ... */
    tmlp_layer_kind kind;
    /* true if forward may run with y == x (elementwise and row-wise layers). */
    bool in_place;
    /* true if the layer's output is its input (dropout and identity at inference): the
     * session skips it, copying nothing. */
    bool passthrough;
    /* y:(B,out) = layer(x:(B,in)). x and y do not overlap unless in_place. scratch holds
     * scratch_floats(l) * B floats (NULL if the layer asks for none). Cannot fail: all
     * shapes were checked when the layer was added. */
    void (*forward)(const tmlp_layer *l, const float *x, float *y, int64_t batch, float *scratch);
    /* Optional (Dense): forward followed by the activation ep, in one pass over y. The
     * session calls it with the header's .epilogue when an activation was fused in. */
    void (*forward_act)(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                        tmlp_epilogue ep);
    /* Optional (NULL if unsupported): forward, then the activation ep, over rows that need
     * not be contiguous (row r of x is xp[r]): the session's zero-copy input. Only for a
     * batch rows_ok accepts (else the session gathers the rows and calls forward). */
    bool (*rows_ok)(const tmlp_layer *l, int64_t batch);
    void (*forward_rows)(const tmlp_layer *l, const float *const *xp, float *y, int64_t batch,
                         tmlp_epilogue ep);
    /* Optional (elementwise activations): the epilogue computing exactly this layer, so a
     * Dense before it can apply it in its epilogue instead. */
    tmlp_epilogue (*epilogue)(const tmlp_layer *l);
    /* Optional (BatchNorm): fold this layer into the Dense `dense` before it (its running
     * W and b rewritten, weights re-packed; tmlp_dense_fold_batchnorm). The layer itself
     * keeps its parameters (save writes them) but never runs again. TMLP_ERR_NOMEM with
     * both layers unchanged if the Dense cannot keep a copy of its file weights. */
    tmlp_status (*fold)(tmlp_layer *l, tmlp_layer *dense, const tmlp_allocator *a, tmlp_error *err);
    /* Optional: floats of per-session scratch forward needs per batch row (0 = none). */
    size_t (*scratch_floats)(const tmlp_layer *l);
    /* Optional: the number in the layer string, "leaky_relu(0.2)", "layernorm(1e-05)". */
    float (*param)(const tmlp_layer *l);
    /* Optional (layers with parameters): describe every tensor the layer can hold into
     * t[0 .. n), n <= TMLP_LAYER_MAX_TENSORS returned; set_present then records which
     * optional ones a file provided (bit k = t[k]); absent ones take their neutral value
     * (bias 0, weight 1). Call prepare after writing the data. */
    int (*tensors)(const tmlp_layer *l, tmlp_layer_tensor *t);
    void (*set_present)(tmlp_layer *l, unsigned present);
    /* Optional: the layer's name in tmlp_layer_info when it says more than `name`
     * ("graph (3 ops: Mul,Sub,Div)"); owned by the layer. */
    const char *(*describe)(const tmlp_layer *l);
    /* Parameters held and FLOPs per sample, for tmlp_layer_info. */
    int64_t (*param_count)(const tmlp_layer *l);
    int64_t (*flops_per_sample)(const tmlp_layer *l);
    /* Optional (NULL if nothing to do): called when the layer is appended to a model, and
     * again whenever its parameters were rewritten. Dense packs its weights for kernel k
     * here and sets its crossover (forced: k was asked for, so it runs at every batch
     * size), converting the weights to precision prec (BF16 / INT8: our kernel at every
     * batch size); activations remember k (tmlp_act_apply's vector unit); BatchNorm
     * derives its scale and shift. */
    tmlp_status (*prepare)(tmlp_layer *l, const tmlp_allocator *a, tmlp_kernel k, int forced,
                           tmlp_precision prec, tmlp_error *err);
    /* Optional: the kernel running this layer at small batches, its crossover and the bytes
     * of packed weights (for tmlp_layer_info / tmlp_model_kernel_info). */
    void (*kernel_info)(const tmlp_layer *l, tmlp_kernel *k, int64_t *crossover,
                        size_t *packed_bytes);
    /* Optional: the weight precision, its instruction path (static) and the bytes of
     * weights one forward streams. */
    void (*precision_info)(const tmlp_layer *l, tmlp_precision *prec, const char **isa,
                           size_t *stream_bytes);
    /* Optional (Dense): part `part` of `parts` of forward_act (xp NULL) or forward_rows (x
     * NULL), for the session's thread pool (pool.h): at batch 1 a range of output panels,
     * above it a range of rows (multiples of 4). split_ok: whether batch rows are worth
     * splitting at all (enough multiply-adds to pay for waking the workers). */
    void (*forward_part)(const tmlp_layer *l, const float *x, const float *const *xp, float *y,
                         int64_t batch, tmlp_epilogue ep, int part, int parts);
    bool (*split_ok)(const tmlp_layer *l, int64_t batch);
    /* Free the layer and everything it owns, through the model's allocator. */
    void (*destroy)(tmlp_layer *l, const tmlp_allocator *a);
} tmlp_layer_ops;

/* The common header, embedded as the first member of every layer struct. Constructors
 * set ops and the widths; tmlp_model_add_layer sets the two fusion fields. */
struct tmlp_layer {
    const tmlp_layer_ops *ops;
    int64_t in_width;  /* per sample */
    int64_t out_width;
    int fused_into;        /* -1, or the index of the Dense that runs this layer */
    tmlp_epilogue epilogue; /* a Dense's fused activation (TMLP_ACT_NONE: none) */
};

/* BatchNorm's per-feature scale s = gamma / sqrt(var + eps), in double (batchnorm.c and
 * the fold into a Dense in dense.c use the same expression, so both round alike). */
static inline double tmlp_bn_scale(float var, float gamma, float eps)
{
    return (double)gamma / sqrt((double)var + (double)eps);
}

/* Constructors (one per file). Each validates its widths, allocates through `a` and
 * returns TMLP_OK with *out set, or an error code with err filled and nothing leaked.
 * Parameter values are checked by the public builders (model.c). */

/* The largest of x[0..n) (n >= 1; NaNs do not win a comparison) and, in *has_nan, whether
 * any x is NaN: the scan softmax.c and log_softmax.c make before their formula. */
static inline float tmlp_row_max(const float *x, int64_t n, int *has_nan)
{
    float m = x[0];
    int nan = x[0] != x[0];
    for (int64_t j = 1; j < n; j++) {
        m = x[j] > m ? x[j] : m;
        nan |= x[j] != x[j];
    }
    *has_nan = nan;
    return m;
}

/* A layer that is only its header (no parameters: relu, softmax, log_softmax, dropout,
 * identity): allocated through `a` with `ops` and in = out = width. Errors name ops->name:
 * TMLP_ERR_ARG (width < 1), TMLP_ERR_NOMEM. Such a layer's ops use the two below. */
tmlp_status tmlp_layer_plain_create(const tmlp_allocator *a, const tmlp_layer_ops *ops,
                                    int64_t width, tmlp_layer **out_layer, tmlp_error *err);
int64_t tmlp_layer_plain_param_count(const tmlp_layer *l); /* 0 */
void tmlp_layer_plain_destroy(tmlp_layer *l, const tmlp_allocator *a);

/* dense.c: W (out, in) is copied; b (out) is copied, or NULL for a bias-free layer (runs
 * as zeros; tensors() then lists no bias). */
tmlp_status tmlp_dense_create(const tmlp_allocator *a, int64_t in, int64_t out,
                              const float *weight, const float *bias, tmlp_layer **out_layer,
                              tmlp_error *err);
/* dense.c: the layer's parameters, owned by the layer (writable only while building). */
float *tmlp_dense_weight(tmlp_layer *l);
float *tmlp_dense_bias(tmlp_layer *l);
/* dense.c: from now on the layer has a bias (its values were written through
 * tmlp_dense_bias). */
void tmlp_dense_set_has_bias(tmlp_layer *l);
/* dense.c: BatchNorm folded into the Dense, per output j, in double, rounded once:
 *     s = gamma[j] / sqrt(var[j] + eps)     (tmlp_bn_scale; gamma NULL = 1, beta NULL = 0)
 *     W'[j][:] = W[j][:] * s,  b'[j] = (b[j] - mean[j]) * s + beta[j]
 * applied to the W and b the layer runs (so two BatchNorms fold one after the other), then
 * the weights are re-packed (out of memory there: the layer falls back to BLAS). The
 * first fold keeps the file's W and b aside (tensors() then lists those); TMLP_ERR_NOMEM
 * if that copy cannot be made, and the layer is then unchanged. */
tmlp_status tmlp_dense_fold_batchnorm(tmlp_layer *l, const tmlp_allocator *a, const float *mean,
                                      const float *var, const float *gamma, const float *beta,
                                      float eps, tmlp_error *err);

/* relu.c */
tmlp_status tmlp_relu_create(const tmlp_allocator *a, int64_t width, tmlp_layer **out_layer,
                             tmlp_error *err);
/* activation.c: LEAKY_RELU (alpha = slope), GELU, GELU_TANH, TANH, SIGMOID, SILU. */
tmlp_status tmlp_activation_create(const tmlp_allocator *a, int64_t width, tmlp_epilogue ep,
                                   tmlp_layer **out_layer, tmlp_error *err);
/* softmax.c */
tmlp_status tmlp_softmax_create(const tmlp_allocator *a, int64_t width,
                                tmlp_layer **out_layer, tmlp_error *err);
/* log_softmax.c */
tmlp_status tmlp_log_softmax_create(const tmlp_allocator *a, int64_t width,
                                    tmlp_layer **out_layer, tmlp_error *err);
/* layernorm.c: gamma and beta (width) copied, both NULL = no affine. */
tmlp_status tmlp_layernorm_create(const tmlp_allocator *a, int64_t width, const float *gamma,
                                  const float *beta, float eps, tmlp_layer **out_layer,
                                  tmlp_error *err);
/* batchnorm.c: mean, var (width) copied; gamma and beta (width) copied, both NULL = no
 * affine. */
tmlp_status tmlp_batchnorm_create(const tmlp_allocator *a, int64_t width, const float *mean,
                                  const float *var, const float *gamma, const float *beta,
                                  float eps, tmlp_layer **out_layer, tmlp_error *err);
/* identity.c: kind TMLP_LAYER_DROPOUT or TMLP_LAYER_IDENTITY. */
tmlp_status tmlp_identity_create(const tmlp_allocator *a, int64_t width, tmlp_layer_kind kind,
                                 tmlp_layer **out_layer, tmlp_error *err);

/* --- The Sequential container (model.c), as session.c sees it ------------------------ */

#include <stdatomic.h>

/* A model is an ordered array of layers plus what shape inference found at build time.
 * `sessions_created` is the only field written after the model is finished: the first
 * tmlp_session_create sets it (through a cast: the model object itself is never const
 * storage) so that a later tmlp_model_add_* returns TMLP_ERR_STATE instead of silently
 * invalidating the sizes a session was built with. It is _Atomic because several threads
 * may create sessions on one shared model at the same time; no other field changes. */
struct tmlp_model {
    tmlp_allocator alloc;    /* the model's and its sessions' allocator */
    int64_t input_width;     /* floats per input row */
    int64_t output_width;    /* out_width of the last layer (input_width while empty) */
    int64_t max_width;       /* largest out_width of any layer: the activation row size */
    size_t scratch_floats;   /* largest scratch_floats of any layer (per batch row) */
    tmlp_layer **layers;     /* layers[0 .. n_layers) */
    int n_layers, cap_layers;
    tmlp_preprocess pre;     /* how raw uint8 becomes input (forward_u8) */
    tmlp_kernel kernel;      /* Dense kernel for small batches (resolved at create) */
    const char *kernel_source; /* "cpuid", "TMLP_KERNELS", "model options" (static) */
    int kernel_forced;       /* kernel asked for: run it at every batch size */
    tmlp_precision precision;  /* weight precision of the Dense layers (resolved at create) */
    const char *precision_source; /* "default", "TMLP_PRECISION", "model options" (static) */
    int allow_nonfinite;     /* from tmlp_model_options (tmlp_model_load_weights checks it) */
    atomic_int sessions_created;
};

#endif
