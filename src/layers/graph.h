/* graph.h (private) — the GRAPH layer's program: a small interpreter for the part of an
 * ONNX graph that no fused layer covers (input preprocessing, a residual block, an
 * activation written in elementwise ops that the fusion pass did not recognise).
 *
 * A program is a list of instructions over SLOTS. A slot is a (B, width) block of floats,
 * one row per sample; slot 0 is the layer's input x (read only), slot 1 its output y, and
 * slots 2.. live in the session's scratch (tmlp_gprogram_scratch_floats per batch row).
 * Each slot is written by exactly one instruction (the program is in SSA form), so no
 * instruction reads the slot it writes.
 *
 *     unary   dst = f(a)                   RELU .. GELU_TANH, elementwise
 *     binary  dst = a (op) b               ADD SUB MUL DIV POW, elementwise
 *     row     dst = mean(a) (width 1) | softmax(a) | log_softmax(a), over each row
 *     dense   dst = a W^T + b              W: (out, in) constant, b: (out) or none
 *
 * An operand is a slot or a constant. Broadcasting is only within a row: a slot operand
 * has the destination's width or width 1 (one number per row, e.g. a ReduceMean result);
 * a constant has the destination's width (a row vector) or length 1 (a scalar).
 * Arithmetic is float with libm (expf, erff, tanhf, powf), in the order ONNX writes each
 * op: this is the correctness floor the fused layers are checked against.
 *
 * Next: graph.c (builder, interpreter, the layer), src/io/onnx_program.c (the compiler).
 */
#ifndef TMLP_LAYERS_GRAPH_H
#define TMLP_LAYERS_GRAPH_H

#include "tinymlp/common.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tmlp_gop {
    TMLP_GOP_COPY, TMLP_GOP_RELU, TMLP_GOP_LEAKY_RELU, TMLP_GOP_SIGMOID, TMLP_GOP_TANH,
    TMLP_GOP_ERF, TMLP_GOP_EXP, TMLP_GOP_LOG, TMLP_GOP_NEG, TMLP_GOP_SQRT, TMLP_GOP_RECIPROCAL,
    TMLP_GOP_GELU, TMLP_GOP_GELU_TANH,                       /* last unary */
    TMLP_GOP_ADD, TMLP_GOP_SUB, TMLP_GOP_MUL, TMLP_GOP_DIV, TMLP_GOP_POW, /* binary */
    TMLP_GOP_REDUCE_MEAN, TMLP_GOP_SOFTMAX, TMLP_GOP_LOG_SOFTMAX,          /* row */
    TMLP_GOP_DENSE,
    TMLP_GOP_N
} tmlp_gop;

static inline int tmlp_gop_is_unary(int op) { return op >= TMLP_GOP_COPY && op <= TMLP_GOP_GELU_TANH; }
static inline int tmlp_gop_is_binary(int op) { return op >= TMLP_GOP_ADD && op <= TMLP_GOP_POW; }

/* One element of a unary op (alpha: LEAKY_RELU's slope). Relu maps NaN to 0 like the relu
 * layer (maxps). Also used to fold constants at load, so both agree bit for bit. */
static inline float tmlp_gop_unary(int op, float x, float alpha)
{
    switch (op) {
    case TMLP_GOP_RELU: return x > 0.0f ? x : 0.0f;
    case TMLP_GOP_LEAKY_RELU: return x >= 0.0f ? x : alpha * x;
    case TMLP_GOP_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case TMLP_GOP_TANH: return tanhf(x);
    case TMLP_GOP_ERF: return erff(x);
    case TMLP_GOP_EXP: return expf(x);
    case TMLP_GOP_LOG: return logf(x);
    case TMLP_GOP_NEG: return -x;
    case TMLP_GOP_SQRT: return sqrtf(x);
    case TMLP_GOP_RECIPROCAL: return 1.0f / x;
    /* ONNX Gelu-20: 0.5 x (1 + erf(x / sqrt 2)) and 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    case TMLP_GOP_GELU: return 0.5f * x * (1.0f + erff(x / 1.41421356237309505f));
    case TMLP_GOP_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(0.797884560802865356f * (x + 0.044715f * x * x * x)));
    default: return x;
    }
}

/* One element of a binary op. Pow with exponent 2 is x * x (what powf returns, faster). */
static inline float tmlp_gop_binary(int op, float a, float b)
{
    switch (op) {
    case TMLP_GOP_ADD: return a + b;
    case TMLP_GOP_SUB: return a - b;
    case TMLP_GOP_MUL: return a * b;
    case TMLP_GOP_DIV: return a / b;
    default: return b == 2.0f ? a * a : powf(a, b);
    }
}

/* An operand: a slot (slot >= 0, cst == -1) or a constant (cst >= 0, slot == -1). */
typedef struct tmlp_garg {
    int32_t slot, cst;
} tmlp_garg;

typedef struct tmlp_ginstr {
    int32_t op;             /* tmlp_gop */
    int32_t dst;            /* slot written (>= 1) */
    tmlp_garg a, b;         /* b: binary ops only */
    float alpha;            /* LEAKY_RELU slope */
    int32_t w, bias;        /* DENSE: constant W (out x in), constant b (out) or -1 */
} tmlp_ginstr;

typedef struct tmlp_gslot {
    int64_t width;          /* floats per row */
    int64_t offset;         /* slots >= 2: where it starts in the scratch, in rows of floats */
} tmlp_gslot;

typedef struct tmlp_gconst {
    int64_t len;            /* 1 (a scalar), a row's width, or out * in for a dense W */
    float *data;
} tmlp_gconst;

typedef struct tmlp_gprogram {
    tmlp_allocator alloc;   /* for growing the arrays while it is built */
    int32_t n_slots, n_instr, n_consts;
    int32_t cap_slots, cap_instr, cap_consts;
    tmlp_gslot *slots;
    tmlp_ginstr *instr;
    tmlp_gconst *consts;
    int64_t scratch;        /* sum of the widths of slots 2.. */
    char *label;            /* the ONNX ops evaluated, "Mul,Sub,Div" (for profile) */
    int32_t n_onnx_ops;
} tmlp_gprogram;

/* An empty program taking rows of in_width floats and giving rows of out_width (slots 0
 * and 1). Errors: TMLP_ERR_ARG (a width outside [1, 2^31)), TMLP_ERR_NOMEM. */
tmlp_status tmlp_gprogram_create(const tmlp_allocator *a, int64_t in_width, int64_t out_width,
                                 tmlp_gprogram **out, tmlp_error *err);
void tmlp_gprogram_destroy(tmlp_gprogram *p);

/* A new scratch slot of `width` floats per row; its index, or -1 (out of memory / too big). */
int32_t tmlp_gprogram_slot(tmlp_gprogram *p, int64_t width);
/* A copy of n floats as a constant; its index, or -1 (out of memory). */
int32_t tmlp_gprogram_const(tmlp_gprogram *p, const float *data, int64_t n);
/* Append an instruction (checked by the compiler, asserted here); 0, or -1 out of memory. */
int tmlp_gprogram_emit(tmlp_gprogram *p, const tmlp_ginstr *ins);
/* Record the ONNX op names and count shown by profile ("Mul,Sub,Div", 3); copied. */
int tmlp_gprogram_set_label(tmlp_gprogram *p, const char *label, int32_t n_ops);

/* Floats of scratch per batch row that tmlp_gprogram_run needs. */
size_t tmlp_gprogram_scratch_floats(const tmlp_gprogram *p);

/* y:(B, width[1]) = program(x:(B, width[0])); scratch holds B * scratch_floats floats.
 * x and y must not overlap. Allocates nothing; cannot fail. */
void tmlp_gprogram_run(const tmlp_gprogram *p, const float *x, float *y, int64_t batch,
                       float *scratch);

/* The GRAPH layer (TMLP_LAYER_GRAPH, "graph") running program p: takes ownership of p (it
 * is destroyed on failure too). Its widths are p's slots 0 and 1; it allocates nothing
 * per forward (its slots are the session's scratch). tmlp_layer_info names it
 * "graph (N ops: Mul,Sub,Div)" from p's label. Errors: TMLP_ERR_NOMEM. */
typedef struct tmlp_layer tmlp_layer;
tmlp_status tmlp_graph_create(const tmlp_allocator *a, tmlp_gprogram *p, tmlp_layer **out_layer,
                              tmlp_error *err);

/* FLOPs per sample, roughly (one per element per op; 2 * in * out per dense). */
int64_t tmlp_gprogram_flops(const tmlp_gprogram *p);
/* Floats held by dense weights and constants. */
int64_t tmlp_gprogram_params(const tmlp_gprogram *p);

#endif
