/* onnx_ir.h (private) — an ONNX model decoded into plain C structs: the small IR that
 * a model builder reads. Parse only: nothing here knows what a Gemm or a Relu computes.
 *
 * tmlp_onnx_parse decodes a serialized ModelProto (onnx/onnx.proto; field numbers in
 * onnx_read.c) from memory into a tmlp_onnx_model:
 *
 *     model ── ir_version, opset (default domain), opsets[], producer_name, metadata[]
 *       ├── nodes[]        name, op_type, domain, inputs[], outputs[], attrs[]
 *       ├── initializers[] name, data_type, dims, values as F32 or I64
 *       └── inputs[], outputs[], value_info[]   name, elem_type, dims (-1 = unknown)
 *
 * Invariants a consumer may rely on once tmlp_onnx_parse returned TMLP_OK:
 *   - every char * is non-NULL and NUL-terminated (absent strings are ""), except
 *     tmlp_onnx_value.dim_params[d], which is NULL where the dimension is not symbolic;
 *   - every tensor has 0 <= ndim <= TMLP_ONNX_MAX_DIMS, dims in [0, 2^31), numel equal to
 *     the product of dims (1 for a scalar), and exactly one of f32 / i64 non-NULL holding
 *     numel values (a pointer is non-NULL even when numel is 0);
 *   - initializer names are unique; nodes are in file order (ONNX requires topological
 *     order, but the parser does not check it);
 *   - there are no subgraphs, sparse tensors or external data: those are refused.
 * Attributes and values are kept as the file has them; checking that an op has the
 * attributes it needs is the builder's job.
 *
 * Memory: the whole model lives in blocks allocated through the allocator given to
 * tmlp_onnx_parse; tmlp_onnx_model_destroy with the same allocator frees it. The model
 * keeps no pointer into the caller's buffer. It is immutable after parsing, so threads
 * may read it concurrently.
 *
 * Next: onnx_read.c (the decoder), pb.h (the protobuf wire-format reader under it).
 */
#ifndef TMLP_IO_ONNX_IR_H
#define TMLP_IO_ONNX_IR_H

#include "tinymlp/common.h"

#include <stddef.h>
#include <stdint.h>

#define TMLP_ONNX_MAX_DIMS 8

/* TensorProto.DataType, with onnx.proto's numbers (used for tensor data_type and for a
 * value's elem_type). The parser converts the types marked * ; a tensor of any other
 * type is refused with TMLP_ERR_UNSUPPORTED. elem_type of a value may be any number. */
typedef enum tmlp_onnx_dtype {
    TMLP_ONNX_UNDEFINED = 0,
    TMLP_ONNX_FLOAT = 1,     /* * to f32 */
    TMLP_ONNX_UINT8 = 2,     /* * to i64 */
    TMLP_ONNX_INT8 = 3,      /* * to i64 */
    TMLP_ONNX_UINT16 = 4,    /* * to i64 */
    TMLP_ONNX_INT16 = 5,     /* * to i64 */
    TMLP_ONNX_INT32 = 6,     /* * to i64 */
    TMLP_ONNX_INT64 = 7,     /* * to i64 */
    TMLP_ONNX_STRING = 8,
    TMLP_ONNX_BOOL = 9,      /* * to i64 (0 or 1) */
    TMLP_ONNX_FLOAT16 = 10,  /* * to f32 (exact) */
    TMLP_ONNX_DOUBLE = 11,   /* * to f32 (rounded) */
    TMLP_ONNX_UINT32 = 12,   /* * to i64 */
    TMLP_ONNX_UINT64 = 13,   /* * to i64 (values above INT64_MAX refused) */
    TMLP_ONNX_COMPLEX64 = 14,
    TMLP_ONNX_COMPLEX128 = 15,
    TMLP_ONNX_BFLOAT16 = 16  /* * to f32 (exact) */
} tmlp_onnx_dtype;

/* AttributeProto.AttributeType, with onnx.proto's numbers. Only the types listed here are
 * ever stored; GRAPH(S), SPARSE_TENSOR(S), TENSORS and TYPE_PROTO(S) are refused. */
typedef enum tmlp_onnx_attr_type {
    TMLP_ONNX_ATTR_FLOAT = 1,
    TMLP_ONNX_ATTR_INT = 2,
    TMLP_ONNX_ATTR_STRING = 3,
    TMLP_ONNX_ATTR_TENSOR = 4,
    TMLP_ONNX_ATTR_FLOATS = 6,
    TMLP_ONNX_ATTR_INTS = 7,
    TMLP_ONNX_ATTR_STRINGS = 8
} tmlp_onnx_attr_type;

/* A tensor with its values (an initializer, or a TENSOR attribute such as Constant's
 * `value`). Row-major. Float types are widened/rounded to f32, integer and bool types to
 * i64: Reshape shapes, Squeeze/Unsqueeze axes and ReduceMean axes (opset 18 inputs) are
 * INT64 initializers or Constant tensors read from i64. */
typedef struct tmlp_onnx_tensor {
    char *name;                         /* "" for an unnamed attribute tensor */
    int32_t data_type;                  /* tmlp_onnx_dtype as stored in the file */
    int32_t ndim;                       /* 0 (scalar) .. TMLP_ONNX_MAX_DIMS */
    int64_t dims[TMLP_ONNX_MAX_DIMS];   /* each in [0, 2^31); unused entries 0 */
    int64_t numel;                      /* product of dims, 1 for a scalar */
    float *f32;                         /* numel values, or NULL (an integer type) */
    int64_t *i64;                       /* numel values, or NULL (a float type) */
} tmlp_onnx_tensor;

/* One attribute of a node. The member that `type` names holds the value; the others are
 * zero / NULL. */
typedef struct tmlp_onnx_attr {
    char *name;
    tmlp_onnx_attr_type type;
    float f;                            /* FLOAT */
    int64_t i;                          /* INT */
    char *s;                            /* STRING (NUL-terminated, no embedded NUL) */
    tmlp_onnx_tensor *t;                /* TENSOR */
    int64_t n;                          /* FLOATS / INTS / STRINGS: element count (may be 0) */
    float *floats;                      /* FLOATS */
    int64_t *ints;                      /* INTS */
    char **strings;                     /* STRINGS */
} tmlp_onnx_attr;

/* One node. inputs[k] == "" is an omitted optional input (e.g. Clip without min). */
typedef struct tmlp_onnx_node {
    char *name;                         /* "" when the file gives none */
    char *op_type;                      /* "Gemm", "Relu", ... */
    char *domain;                       /* "" or "ai.onnx" = the default domain */
    int64_t n_inputs, n_outputs, n_attrs;
    char **inputs;
    char **outputs;
    tmlp_onnx_attr *attrs;              /* in file order */
} tmlp_onnx_node;

/* A graph input, output or value_info entry (ValueInfoProto). For a tensor type, elem_type
 * and the shape; a value of another type (sequence, map, optional, ...) has is_tensor 0,
 * elem_type 0 and ndim -1. */
typedef struct tmlp_onnx_value {
    char *name;
    int32_t is_tensor;                  /* 1: TypeProto.tensor_type; 0: another or no type */
    int32_t elem_type;                  /* tmlp_onnx_dtype number; 0 when unknown */
    int32_t ndim;                       /* -1 = shape unknown (no shape given); else 0..8 */
    int64_t dims[TMLP_ONNX_MAX_DIMS];   /* dim_value, or -1 for a symbolic / unknown dim */
    char *dim_params[TMLP_ONNX_MAX_DIMS]; /* the symbol ("batch") where dims[d] is symbolic, else NULL */
} tmlp_onnx_value;

/* metadata_props entry; an operator set import (domain "" = the default domain). */
typedef struct tmlp_onnx_prop {
    char *key, *value;
} tmlp_onnx_prop;

typedef struct tmlp_onnx_opset {
    char *domain;
    int64_t version;
} tmlp_onnx_opset;

typedef struct tmlp_onnx_model {
    int64_t ir_version;
    int64_t opset;                      /* version of the default domain ("" / "ai.onnx"); 0 if not imported */
    char *producer_name;                /* "pytorch", ... ("" if absent) */
    char *graph_name;
    int64_t n_opsets, n_metadata;
    tmlp_onnx_opset *opsets;            /* every opset_import entry, default domain included */
    tmlp_onnx_prop *metadata;           /* metadata_props in file order */

    int64_t n_nodes, n_initializers, n_inputs, n_outputs, n_value_info;
    tmlp_onnx_node *nodes;
    tmlp_onnx_tensor *initializers;
    /* Graph inputs. Exporters before IR 4 list the initializers here too: a consumer skips
     * the inputs that tmlp_onnx_find_initializer finds. */
    tmlp_onnx_value *inputs;
    tmlp_onnx_value *outputs;
    tmlp_onnx_value *value_info;

    void *blocks_;                      /* private: the memory blocks every pointer above lives in */
} tmlp_onnx_model;

/* Decode the ModelProto in buf[0..len) into *out (NULL on failure). Allocates through `a`
 * (NULL = libc). Errors, with a message naming the byte offset (wire-format errors) or the
 * node / initializer and the problem:
 *   TMLP_ERR_FORMAT       malformed: truncated, a bad varint, a length past the end, group
 *                         wire types, wrong wire type for a known field, a field number 0,
 *                         a tensor whose data size differs from its dims, dims out of range,
 *                         an embedded NUL in a string, nesting too deep, not a model;
 *   TMLP_ERR_UNSUPPORTED  valid ONNX this parser does not take: external data, sparse
 *                         tensors, subgraph attributes, attribute references, more than 8
 *                         dims, tensor types outside tmlp_onnx_dtype's starred list;
 *   TMLP_ERR_NOMEM        an allocation failed (nothing is leaked);
 *   TMLP_ERR_ARG          buf NULL with len > 0, or out NULL.
 * Thread-safe (no shared state). */
tmlp_status tmlp_onnx_parse(const tmlp_allocator *a, const uint8_t *buf, size_t len,
                            tmlp_onnx_model **out, tmlp_error *err);

/* Free a model from tmlp_onnx_parse with the same allocator. Accepts NULL. */
void tmlp_onnx_model_destroy(const tmlp_allocator *a, tmlp_onnx_model *m);

/* Content sniffing: 1 if buf starts like a serialized ModelProto (an ir_version varint,
 * then fields of ModelProto with their wire types; a prefix of a file is enough), else 0.
 * A safetensors file (8-byte little-endian header length, then '{') and an empty buffer
 * give 0. Reads at most the first few fields; allocates nothing. */
int tmlp_onnx_looks_like(const uint8_t *buf, size_t len);

/* The attribute called `name`, or NULL. */
const tmlp_onnx_attr *tmlp_onnx_node_attr(const tmlp_onnx_node *node, const char *name);

/* The initializer called `name`, or NULL. */
const tmlp_onnx_tensor *tmlp_onnx_find_initializer(const tmlp_onnx_model *m, const char *name);

/* "FLOAT", "INT64", ... for a tmlp_onnx_dtype number; "?" for others. Never NULL. */
const char *tmlp_onnx_dtype_name(int32_t data_type);

#endif
