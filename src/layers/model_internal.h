/* model_internal.h (private) — what the file loader/saver and profiler need to see of a
 * model beyond the public API. Implemented in src/layers/model.c. */
#ifndef TMLP_MODEL_INTERNAL_H
#define TMLP_MODEL_INTERNAL_H

#include "tinymlp/model.h"

/* The allocator the model was built with (never NULL; fields may be NULL = libc). */
const tmlp_allocator *tmlp_model_allocator(const tmlp_model *m);

/* For a Dense layer i: its weight (out, in) and bias (out), read-only, owned by the model.
 * TMLP_ERR_ARG if i is out of range or not a Dense layer. */
tmlp_status tmlp_model_dense_params(const tmlp_model *m, int i, const float **weight,
                                    const float **bias);

/* The same, writable: only for filling a model that is still being built
 * (tmlp_model_load_weights). */
tmlp_status tmlp_model_dense_params_mut(tmlp_model *m, int i, float **weight, float **bias);

/* Re-pack dense layer i's weights for its kernel after they were written through
 * tmlp_model_dense_params_mut (the small-batch kernels read a packed copy). */
void tmlp_model_dense_repack(tmlp_model *m, int i);

/* 1 once a session exists (the model is frozen), else 0. */
int tmlp_model_frozen(const tmlp_model *m);
/* The model's options.allow_nonfinite. */
int tmlp_model_allows_nonfinite(const tmlp_model *m);

#endif
