/* layer.h (private) — the interface every layer implements.
 *
 * A layer is a struct whose FIRST member is a tmlp_layer header; the header points to a
 * `static const tmlp_layer_ops` table defined in the layer's own file (dense.c, relu.c,
 * softmax.c). Code that runs layers (session.c) only sees the header and calls through
 * the table, so adding a layer kind touches no central switch:
 *
 *     typedef struct { tmlp_layer base; float *w; ... } dense;     // dense.c
 *     dense *d = ...;  d->base.ops = &dense_ops;                    // "is a" tmlp_layer
 *     l->ops->forward(l, x, y, batch);                              // session.c
 *
 * Shapes: every layer maps a row-major batch x:(B, in_width) to y:(B, out_width).
 * Layers are immutable after construction (forward takes a const layer), so one model
 * may serve many sessions on many threads at once.
 */
#ifndef TMLP_LAYER_H
#define TMLP_LAYER_H

#include "tinymlp/model.h"
#include "tinymlp/kernels.h"

#include <stdbool.h>

typedef struct tmlp_layer tmlp_layer;

typedef struct tmlp_layer_ops {
    const char *name;      /* as in the "tinymlp.layers" list: "linear", "relu", "softmax" */
    tmlp_layer_kind kind;
    /* true if forward may run with y == x (elementwise and row-wise layers). */
    bool in_place;
    /* y:(B,out) = layer(x:(B,in)). x and y do not overlap unless in_place. Cannot fail:
     * all shapes were checked when the layer was added. */
    void (*forward)(const tmlp_layer *l, const float *x, float *y, int64_t batch);
    /* Optional (NULL if unsupported): forward followed by ReLU, fused into one pass over
     * y. The session uses it when a ReLU layer follows this one. */
    void (*forward_relu)(const tmlp_layer *l, const float *x, float *y, int64_t batch);
    /* Optional (NULL if unsupported): forward, then ReLU if relu, over rows that need not be
     * contiguous (row r of x is xp[r]): the session's zero-copy input. Only for a batch
     * rows_ok accepts (else the session gathers the rows and calls forward). */
    bool (*rows_ok)(const tmlp_layer *l, int64_t batch);
    void (*forward_rows)(const tmlp_layer *l, const float *const *xp, float *y, int64_t batch,
                         int relu);
    /* Parameters held (weights + biases) and FLOPs per sample, for tmlp_layer_info. */
    int64_t (*param_count)(const tmlp_layer *l);
    int64_t (*flops_per_sample)(const tmlp_layer *l);
    /* Optional (NULL if nothing to do): called once when the layer is appended to a model,
     * after its parameters are final. Dense packs its weights for kernel k here and sets its
     * crossover (forced: k was asked for, so it runs at every batch size), converting the
     * weights to precision prec (BF16 / INT8: our kernel at every batch size). */
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
    /* Free the layer and everything it owns, through the model's allocator. */
    void (*destroy)(tmlp_layer *l, const tmlp_allocator *a);
} tmlp_layer_ops;

/* The common header, embedded as the first member of every layer struct. */
struct tmlp_layer {
    const tmlp_layer_ops *ops;
    int64_t in_width;  /* per sample */
    int64_t out_width;
};

/* Constructors (one per file). Each validates its arguments, allocates through `a` and
 * returns TMLP_OK with *out set, or an error code with err filled and nothing leaked. */

/* dense.c: W (out, in) and b (out, or NULL = zeros) are copied. */
tmlp_status tmlp_dense_create(const tmlp_allocator *a, int64_t in, int64_t out,
                              const float *weight, const float *bias, tmlp_layer **out_layer,
                              tmlp_error *err);
/* dense.c: the layer's parameters, owned by the layer (writable only while building). */
float *tmlp_dense_weight(tmlp_layer *l);
float *tmlp_dense_bias(tmlp_layer *l);

/* relu.c */
tmlp_status tmlp_relu_create(const tmlp_allocator *a, int64_t width, tmlp_layer **out_layer,
                             tmlp_error *err);
/* softmax.c */
tmlp_status tmlp_softmax_create(const tmlp_allocator *a, int64_t width,
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
