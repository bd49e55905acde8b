/* onnx_graph.h (private) — an ONNX graph checked and normalised into a DAG of row values:
 * what the model builder (onnx_build.c) segments and maps onto layers.
 *
 * tmlp_og_build reads a parsed model (onnx_ir.h) and
 *   1. names:   gives every name one value: an initializer, THE graph input (the one input
 *               that is not an initializer), or one node output. A name produced twice, a
 *               node input or graph output that nothing produces, more than one real
 *               input, or more than one graph output is refused, naming node and name;
 *   2. order:   sorts the nodes topologically (Kahn, smallest file index first, so a file
 *               in valid order keeps its order); a cycle is refused naming a node on it;
 *   3. liveness: keeps only the nodes the graph output depends on (the rest are ignored,
 *               never evaluated nor refused for their ops);
 *   4. meaning: walks the live nodes in order. A node whose inputs are all constant is
 *               evaluated at load (onnx_fold.c: Constant, Cast, shape ops, elementwise
 *               arithmetic): its output becomes a constant. Any other node is checked by
 *               onnx_infer.c: op supported at this opset, attributes, and the shape rule
 *               below. A shape-only node on data (Identity, Dropout, Cast to FLOAT,
 *               Flatten, Reshape, Squeeze, Unsqueeze) becomes an alias of its input; so
 *               does a Transpose of [N, C], marked `transposed`, which only a Gemm with
 *               transA=1 may read (the pair is x W^T: what some exporters write).
 *
 * The shape rule. Every non-constant ("data") value is [N, d1, ..., dk] where axis 0 is the
 * batch (symbolic, or fixed in the file: tinymlp runs any batch either way) and d1..dk are
 * fixed; in memory a value is B rows of `width` = d1*...*dk floats (1 for [N]). The graph
 * input has k >= 1 (a rank-1 input, with no batch or no feature axis, is refused). Every op
 * must act on each row alone: nothing may reduce, broadcast or reshape across axis 0, and
 * a constant operand may only vary along the row (scalar, [W], [1, W], ...). A node that
 * breaks this is refused naming the node, the op and the shapes.
 *
 * After tmlp_og_build: `order` lists the data nodes to run (not folded, not aliases, not
 * dead), topologically; tmlp_og_root(g, v) follows aliases to the value that holds v's
 * numbers. The graph keeps pointers into the IR (names, initializer data): the IR must
 * outlive it. Constants made at load live in blocks the graph owns.
 *
 * Next: onnx_infer.c (per-op rules), onnx_fold.c (constants), onnx_build.c (layers).
 */
#ifndef TMLP_IO_ONNX_GRAPH_H
#define TMLP_IO_ONNX_GRAPH_H

#include "io/onnx_ir.h"

#include <stdint.h>

/* The ONNX operator sets this reader knows: the ops below with their meaning at every
 * version in this range (opset-dependent attributes handled in onnx_infer.c). */
#define TMLP_OG_OPSET_MIN 7
#define TMLP_OG_OPSET_MAX 21

/* dims[0] of every data value: the batch axis. */
#define TMLP_OG_BATCH (-1)

/* The supported ops, in the order tmlp_og_supported_list names them. */
typedef enum tmlp_og_op {
    TMLP_OG_GEMM, TMLP_OG_MATMUL,
    TMLP_OG_ADD, TMLP_OG_SUB, TMLP_OG_MUL, TMLP_OG_DIV, TMLP_OG_POW,
    TMLP_OG_SQRT, TMLP_OG_EXP, TMLP_OG_LOG, TMLP_OG_NEG, TMLP_OG_RECIPROCAL, TMLP_OG_ERF,
    TMLP_OG_RELU, TMLP_OG_LEAKY_RELU, TMLP_OG_SIGMOID, TMLP_OG_TANH, TMLP_OG_GELU,
    TMLP_OG_SOFTMAX, TMLP_OG_LOG_SOFTMAX, TMLP_OG_REDUCE_MEAN,
    TMLP_OG_BATCHNORM, TMLP_OG_LAYERNORM,
    TMLP_OG_FLATTEN, TMLP_OG_RESHAPE, TMLP_OG_SQUEEZE, TMLP_OG_UNSQUEEZE,
    TMLP_OG_IDENTITY, TMLP_OG_DROPOUT, TMLP_OG_CAST, TMLP_OG_CONSTANT, TMLP_OG_TRANSPOSE,
    TMLP_OG_N_OPS
} tmlp_og_op;

typedef struct tmlp_og_value {
    const char *name;       /* the ONNX name (owned by the IR) */
    int32_t is_const;       /* 1: initializer, Constant or folded; 0: data (or never set) */
    int32_t known;          /* 1 once the value's shape / contents are set */
    int32_t ndim;           /* const: 0..8; data: 1..8 */
    int64_t dims[TMLP_ONNX_MAX_DIMS]; /* data: dims[0] == TMLP_OG_BATCH */
    /* data */
    int64_t width;          /* floats per row: product of dims[1..ndim) */
    int32_t alias;          /* the value this one is an alias of (itself if none) */
    int32_t transposed;     /* the [C, N] view of a Transpose: only Gemm's transA reads it */
    /* const */
    int32_t data_type;      /* tmlp_onnx_dtype; FLOAT-family types are held in f32 */
    int64_t numel;
    const float *f32;       /* numel values (float types), else NULL */
    const int64_t *i64;     /* numel values (integer and bool types), else NULL; an integer
                             * exponent of Pow also gets f32 (its values as floats) */

    int32_t producer;       /* node index, or -1 (initializer, graph input) */
    int32_t n_uses;         /* reads by live nodes, + 1 for the graph output */
} tmlp_og_value;

/* A node's attributes, decoded with the defaults of the model's opset applied. */
typedef struct tmlp_og_attrs {
    float alpha, beta;      /* Gemm; LeakyRelu alpha (default 0.01) */
    float eps;              /* BatchNormalization / LayerNormalization epsilon */
    int64_t trans_a, trans_b;
    int64_t axis;           /* Softmax, LogSoftmax, Flatten, LayerNormalization */
    int64_t keepdims, noop_empty, allowzero;
    int64_t to;             /* Cast */
    int32_t approx;         /* Gelu: 0 "none", 1 "tanh" */
    int32_t has_axes;       /* axes given (attribute or constant input) */
    int32_t n_axes;
    int64_t axes[TMLP_ONNX_MAX_DIMS];
} tmlp_og_attrs;

enum { TMLP_OG_DEAD = 0, TMLP_OG_RUN, TMLP_OG_FOLDED, TMLP_OG_ALIAS };

typedef struct tmlp_og_node {
    const tmlp_onnx_node *ir;
    int32_t index;          /* position in the file */
    int32_t op;             /* tmlp_og_op, once known */
    int32_t state;          /* TMLP_OG_DEAD / RUN / FOLDED / ALIAS */
    int32_t n_in, n_out;
    int32_t *in;            /* value per IR input, -1 = omitted ("") */
    int32_t *out;           /* value per IR output, -1 = omitted */
    tmlp_og_attrs a;
} tmlp_og_node;

typedef struct tmlp_og {
    const tmlp_onnx_model *ir;
    const tmlp_allocator *alloc;
    int64_t opset;
    tmlp_og_value *values;
    int32_t n_values;
    tmlp_og_node *nodes;
    int32_t n_nodes;
    int32_t *order;         /* data nodes to run, topologically */
    int32_t n_order;
    int32_t input, output;  /* the graph input and output values */
    int64_t batch_fixed;    /* the input's batch dimension if the file fixes it, else -1 */
    void *blocks;           /* private: constants made at load */
} tmlp_og;

/* Build the normalised graph of `ir` (see the top). Errors: TMLP_ERR_FORMAT (invalid graph:
 * dangling or duplicate names, cycles, bad attributes or shapes), TMLP_ERR_UNSUPPORTED
 * (valid ONNX outside what tinymlp runs: ops, opsets, domains, shapes that cross the
 * batch axis), TMLP_ERR_SHAPE (sizes that disagree), TMLP_ERR_NOMEM. */
tmlp_status tmlp_og_build(const tmlp_allocator *a, const tmlp_onnx_model *ir, tmlp_og **out,
                          tmlp_error *err);
void tmlp_og_destroy(tmlp_og *g);

/* The value that holds v's numbers (follows alias links). */
static inline int32_t tmlp_og_root(const tmlp_og *g, int32_t v)
{
    while (g->values[v].alias != v) v = g->values[v].alias;
    return v;
}

/* "node `name` (Op)" or "node #k (Op)" into buf, for messages. Returns buf. */
const char *tmlp_og_node_label(const tmlp_og_node *n, char *buf, size_t cap);

/* The ONNX name of an op ("Gemm"). */
const char *tmlp_og_op_name(int32_t op);

/* "Add, Sub, ..." every supported op, static. */
const char *tmlp_og_supported_list(void);

/* A block of `bytes` owned by the graph (freed by tmlp_og_destroy); NULL when out of memory. */
void *tmlp_og_alloc(tmlp_og *g, size_t bytes);

/* Describe a value's shape as "[N, 784]" / "[3, 1]" into buf. Returns buf. */
const char *tmlp_og_shape_str(const tmlp_og_value *v, char *buf, size_t cap);

/* Node-level steps (onnx_infer.c): check the attributes and shapes of a node with a data
 * input and set its output; fold a node whose inputs are all constant (onnx_fold.c). */
tmlp_status tmlp_og_prepare(tmlp_og *g, tmlp_og_node *n, tmlp_error *err);
tmlp_status tmlp_og_infer(tmlp_og *g, tmlp_og_node *n, tmlp_error *err);
tmlp_status tmlp_og_fold(tmlp_og *g, tmlp_og_node *n, tmlp_error *err);

/* How constant c broadcasts to a data result of shape `dims` (ndim, dims[0] the batch):
 * 0 if c is one number, 1 if it varies along the row only (then *row, if not NULL,
 * receives the width-long row c expands to, allocated with tmlp_og_alloc; NULL and
 * return -2 when out of memory), -1 if c cannot broadcast to that shape or would vary
 * along the batch axis (refused by the caller). */
int tmlp_og_const_row(tmlp_og *g, const tmlp_og_value *c, int32_t ndim, const int64_t *dims,
                      int64_t width, const float **row);

#endif
