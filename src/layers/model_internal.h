/* model_internal.h (private) — what the file loader/saver and profiler need to see of a
 * model beyond the public API. Implemented in src/layers/model.c. */
#ifndef TMLP_MODEL_INTERNAL_H
#define TMLP_MODEL_INTERNAL_H

#include "tinymlp/model.h"

#include <stdbool.h>

typedef struct tmlp_layer tmlp_layer; /* layer.h: the interface every layer implements */

/* Append layer l (built by one of layer.h's constructors, or by another module against
 * layer.h) to the model: checks that the model is still being built and that l's input
 * width is the current output width (TMLP_ERR_SHAPE), prepares l for the model's kernel
 * and precision, and fuses it into the Dense before it where it can (layer.h, "Fusion").
 * Takes ownership: on any error (m != NULL) l is destroyed and the model is unchanged.
 * Every tmlp_model_add_* goes through it. */
tmlp_status tmlp_model_add_layer(tmlp_model *m, tmlp_layer *l, tmlp_error *err);

/* The most parameter tensors any layer has (BatchNorm: weight, bias, running_mean/var). */
#define TMLP_LAYER_MAX_TENSORS 4

/* One parameter tensor of a layer, named as PyTorch names it in a state dict ("<i>.weight").
 * `data` is the layer's own storage (writable only while the model is built:
 * tmlp_model_load_weights). Optional tensors (a Linear's bias, a norm's weight and bias)
 * may be absent from a file; `present` says whether the layer holds one now (save writes
 * only those); tensors with the same nonzero `group` are present together or not at all. */
typedef struct tmlp_layer_tensor {
    const char *suffix; /* "weight", "bias", "running_mean", "running_var" (static) */
    float *data;
    int ndim;           /* 1 or 2 */
    int64_t shape[2];
    bool optional;
    bool present;
    int group;
} tmlp_layer_tensor;

/* Every tensor layer i can hold, into t[0 .. n), n returned (0: a layer without parameters,
 * or i out of range). */
int tmlp_model_layer_tensors(const tmlp_model *m, int i, tmlp_layer_tensor *t);

/* After layer i's tensors were written through tmlp_model_layer_tensors (model not yet
 * frozen): record which were present (bit k = t[k]; absent optional ones take their
 * neutral value), re-derive what the layer computes from them (Dense: re-pack; BatchNorm:
 * its scale) and, for a BatchNorm folded into a Dense, fold the new values again (so the
 * Dense must be written first: go in layer order). Out of memory while re-packing leaves
 * a Dense on BLAS (correct, slower), as tmlp_model_dense_repack. */
void tmlp_model_layer_tensors_written(tmlp_model *m, int i, unsigned present);

/* The allocator the model was built with (never NULL; fields may be NULL = libc). */
const tmlp_allocator *tmlp_model_allocator(const tmlp_model *m);

/* Layer i's number in the layer string (leaky_relu's slope, a norm's eps) into *value:
 * 1 if it has one, else 0. */
int tmlp_model_layer_param(const tmlp_model *m, int i, float *value);

/* 1 once a session exists (the model is frozen), else 0. */
int tmlp_model_frozen(const tmlp_model *m);
/* The model's options.allow_nonfinite. */
int tmlp_model_allows_nonfinite(const tmlp_model *m);

#endif
