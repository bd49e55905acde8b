/* onnx_load.c — tmlp_model_load for an ONNX file: read it whole (file_read.h, the size
 * from fstat), parse it (onnx_read.c), build the model (onnx_build.c), and honour the
 * metadata_props keys tinymlp.input_scale / input_mean / input_std exactly like the
 * .safetensors __metadata__ (model_io.c's reader). Every message starts with the path.
 */
#include "io/file_read.h"
#include "io/model_io.h"
#include "io/onnx_build.h"
#include "io/onnx_ir.h"

#include "internal.h"

#include <stdio.h>
#include <string.h>

static const char *onnx_meta_get(const void *src, const char *key)
{
    const tmlp_onnx_model *ir = src;
    for (int64_t i = 0; i < ir->n_metadata; i++)
        if (!strcmp(ir->metadata[i].key, key)) return ir->metadata[i].value;
    return NULL;
}

/* "<path>: <message>" unless the message already names the path. */
static tmlp_status onnx_named(tmlp_status st, const char *path, tmlp_error *err)
{
    if (st == TMLP_OK || !err || strstr(err->message, path)) return st;
    char msg[TMLP_ERROR_MAX];
    snprintf(msg, sizeof msg, "%s", err->message);
    return tmlp_error_set(err, st, "%.120s: %s", path, msg);
}

tmlp_status tmlp_onnx_load(const char *path, const tmlp_model_options *o, tmlp_model **out,
                           tmlp_error *err)
{
    const tmlp_allocator *a = &o->allocator;
    unsigned char *buf;
    size_t size;
    tmlp_onnx_model *ir = NULL;
    tmlp_model *m = NULL;
    tmlp_preprocess pre;
    *out = NULL;
    if (o->layers)
        return tmlp_error_set(err, TMLP_ERR_ARG, "%.120s: an ONNX file carries its graph; "
                              "tmlp_model_options.layers applies to .safetensors files", path);
    tmlp_status st = tmlp_file_read(path, a, &buf, &size, err);
    if (st != TMLP_OK) return st;
    st = tmlp_onnx_parse(a, buf, size, &ir, err);
    tmlp_mem_free(a, buf);
    if (st == TMLP_OK) st = tmlp_onnx_build_model(ir, o, &m, err);
    if (st == TMLP_OK) st = tmlp_model_meta_preprocess(onnx_meta_get, ir, "metadata_props", &pre, err);
    if (st == TMLP_OK && pre.has_preprocess)
        st = tmlp_model_set_preprocess(m, pre.scale, pre.mean, pre.std, err);
    tmlp_onnx_model_destroy(a, ir);
    if (st != TMLP_OK) {
        tmlp_model_destroy(m);
        return onnx_named(st, path, err);
    }
    *out = m;
    return TMLP_OK;
}
