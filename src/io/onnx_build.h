/* onnx_build.h (private) — from the normalised graph (onnx_graph.h) to a tmlp_model.
 *
 * The walk (onnx_build.c) cuts g->order into SEGMENTS at the points where exactly one data
 * value is live: a segment reads one value and leaves one value, so it is a layer
 * x:(B, in) -> y:(B, out). Each segment becomes
 *   - nothing         (only in a graph made of shape ops);
 *   - a built-in layer, when it is one node with a layer of the same meaning (Gemm,
 *                     MatMul [+ the Add of a bias in the next segment] -> dense, Relu ->
 *                     relu, BatchNormalization -> batchnorm, ...);
 *   - a fused layer   (onnx_fuse.c) when its nodes spell a known pattern (GELU, SiLU,
 *                     LayerNorm written in elementwise ops) AND the layer agrees with the
 *                     segment's program on probe rows;
 *   - a GRAPH layer   running the segment's program (onnx_program.c) otherwise.
 * With tmlp_model_options.no_fusion the whole graph is one segment and one GRAPH layer.
 */
#ifndef TMLP_IO_ONNX_BUILD_H
#define TMLP_IO_ONNX_BUILD_H

#include "io/onnx_graph.h"
#include "layers/graph.h"
#include "tinymlp/model.h"

/* Nodes g->order[first .. last] (inclusive); reads value `in`, leaves value `out` (roots). */
typedef struct tmlp_og_segment {
    int32_t first, last;
    int32_t in, out;
} tmlp_og_segment;

/* The program computing segment s (graph.h), with the ONNX op names as its label. Each
 * op is translated as ONNX defines it (BatchNormalization and LayerNormalization into
 * their formulas). Errors: TMLP_ERR_NOMEM. */
tmlp_status tmlp_onnx_compile(tmlp_og *g, const tmlp_og_segment *s, const tmlp_allocator *a,
                              tmlp_gprogram **out, tmlp_error *err);

/* A fused layer found for a run of segments (onnx_fuse.c). */
typedef struct tmlp_onnx_fused {
    int kind;                  /* 0 = none, else a TMLP_ONNX_FUSE_* */
    float eps;                 /* layernorm */
    const float *gamma, *beta; /* layernorm: rows of the width (graph-owned), NULL = 1 / 0 */
} tmlp_onnx_fused;

enum { TMLP_ONNX_FUSE_NONE, TMLP_ONNX_FUSE_SILU, TMLP_ONNX_FUSE_GELU, TMLP_ONNX_FUSE_GELU_TANH,
       TMLP_ONNX_FUSE_LAYERNORM };

/* Try the fusion patterns on segment s (several nodes: a run of segments merged). f->kind
 * is the layer that computes s, recognised AND checked on probe rows, or 0. Errors
 * (TMLP_ERR_NOMEM) only for failures to allocate. */
tmlp_status tmlp_onnx_fuse_find(tmlp_og *g, const tmlp_og_segment *s, const tmlp_model_options *o,
                                tmlp_onnx_fused *f, tmlp_error *err);
/* Append the fused layer f (of rows of `width`) to m. */
tmlp_status tmlp_onnx_fuse_add(tmlp_model *m, const tmlp_onnx_fused *f, int64_t width,
                               const tmlp_allocator *a, tmlp_error *err);

/* Parameters for the built-in layers, in graph-owned blocks (onnx_program.c):
 *   dense_params    a Gemm / MatMul node's W (out, in) and b (out, NULL if none):
 *                   W = alpha * B' (B transposed when stored [in, out]), b = beta * C;
 *   const_full_row  constant c broadcast to a row of x (NULL when out of memory);
 *   bn_rows         BatchNormalization's scale, B, mean, var as rows of its input. */
tmlp_status tmlp_onnx_dense_params(tmlp_og *g, const tmlp_og_node *n, float **w, float **b,
                                   int64_t *out_w, int64_t *in_w, tmlp_error *err);
const float *tmlp_onnx_const_full_row(tmlp_og *g, const tmlp_og_value *c, const tmlp_og_value *x);
tmlp_status tmlp_onnx_bn_rows(tmlp_og *g, const tmlp_og_node *n, const float *rows[4],
                              tmlp_error *err);

/* The model of a parsed ONNX file (onnx_build.c): graph, segments, layers. Preprocessing
 * metadata is the caller's (model_io.c reads it like the safetensors metadata). Errors:
 * those of tmlp_og_build, the builders', TMLP_ERR_NOMEM. */
tmlp_status tmlp_onnx_build_model(const tmlp_onnx_model *ir, const tmlp_model_options *o,
                                  tmlp_model **out, tmlp_error *err);

/* Run segment s's program on rows x:(rows, in) into y:(rows, out) (allocating its scratch):
 * the reference a fused layer is checked against. Errors: TMLP_ERR_NOMEM. */
tmlp_status tmlp_onnx_run_segment(tmlp_og *g, const tmlp_og_segment *s, const tmlp_allocator *a,
                                  const float *x, float *y, int64_t rows, tmlp_error *err);

#endif
