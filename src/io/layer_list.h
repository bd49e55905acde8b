/* layer_list.h (private) — the "tinymlp.layers" grammar: the architecture of a model file
 * as a comma-separated list of PyTorch nn.Sequential modules.
 *
 *     list   = entry { "," entry }
 *     entry  = name [ "(" number ")" ]          spaces and tabs allowed around each part
 *     name   = linear | relu | leaky_relu | gelu | gelu_tanh | tanh | sigmoid | silu
 *            | softmax | log_softmax | layernorm | batchnorm | dropout | identity
 *
 * Only leaky_relu (its negative slope, any finite number), layernorm (eps, finite, > 0)
 * and batchnorm (eps, finite, >= 0) take a number; without one they get PyTorch's default
 * (0.01, 1e-05, 1e-05). The number is read with strtof, so "%.9g" of a float reads back
 * the same float (tmlp_model_layers_string writes it that way). Module i of the list owns
 * the tensors "<i>.<suffix>" listed in its kind's `tensors`.
 */
#ifndef TMLP_LAYER_LIST_H
#define TMLP_LAYER_LIST_H

#include "tinymlp/model.h"

/* One entry of a parsed list. */
typedef struct tmlp_layer_spec {
    tmlp_layer_kind kind;
    float param; /* leaky_relu's slope or a norm's eps (the default if not written); else 0 */
} tmlp_layer_spec;

/* What the file format knows about a kind. */
typedef struct tmlp_layer_kind_info {
    const char *name;        /* the file's name: "linear", "relu", ... */
    tmlp_layer_kind kind;
    const char *param_name;  /* "SLOPE" or "EPS" if the entry takes a number, else NULL */
    float param_default;     /* PyTorch's default for it */
    /* the suffixes module i owns ("<i>.weight"), NULL-terminated (NULL: none) */
    const char *const *tensors;
} tmlp_layer_kind_info;

/* The entry for kind k (NULL for a kind the file format cannot express: GRAPH). */
const tmlp_layer_kind_info *tmlp_layer_kind_info_of(tmlp_layer_kind k);

/* Parse `layers` into a freshly allocated array of *n_out specs (free with tmlp_mem_free
 * through alloc). TMLP_ERR_LAYERS with a message naming the entry ("layer 3: `relu(2)`:
 * relu takes no number") for an empty list or entry, an unknown name (the message lists
 * the known ones), a malformed or out-of-range number; TMLP_ERR_NOMEM. */
tmlp_status tmlp_layer_list_parse(const char *layers, const tmlp_allocator *alloc,
                                  tmlp_layer_spec **specs_out, int *n_out, tmlp_error *err);

#endif
