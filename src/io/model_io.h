/* model_io.h (private) — what model_io.c (the .safetensors loader) shares with the ONNX
 * loader (onnx_load.c), so both read a model's settings the same way. */
#ifndef TMLP_IO_MODEL_IO_H
#define TMLP_IO_MODEL_IO_H

#include "tinymlp/model.h"

/* A metadata lookup: the value of `key` in `src`, or NULL. */
typedef const char *(*tmlp_meta_get_fn)(const void *src, const char *key);

/* The preprocessing keys tinymlp.input_scale, tinymlp.input_mean, tinymlp.input_std (each
 * optional: scale 1, mean 0, std 1; has_preprocess set if any is present). A value must be
 * a whole finite decimal number and std not 0: TMLP_ERR_FORMAT "<where> `<key>`: ...",
 * where = "__metadata__" or "metadata_props". */
tmlp_status tmlp_model_meta_preprocess(tmlp_meta_get_fn get, const void *src, const char *where,
                                       tmlp_preprocess *p, tmlp_error *err);

/* Load an ONNX file (onnx_load.c): read, parse, build, apply the metadata. */
tmlp_status tmlp_onnx_load(const char *path, const tmlp_model_options *o, tmlp_model **out,
                           tmlp_error *err);

#endif
