/* onnx_program.c — compile a segment of the normalised graph into a GRAPH program
 * (layers/graph.h): one slot per data value, one instruction per elementwise / row op,
 * constants expanded to what they are along a row (a scalar, or a row of `width`).
 *
 * Ops that are formulas in ONNX are written out in the formula's order and precision:
 *   Gemm                dense with W = alpha * B' as (out, in) and b = beta * C
 *   MatMul              dense with W = B^T
 *   BatchNormalization  ((x - mean) / sqrt(var + eps)) * scale + B       (per channel)
 *   LayerNormalization  D = x - mean(x); inv = 1 / sqrt(mean(D * D) + eps);
 *                       (D * inv) * Scale [+ B]       (the function body of the ONNX spec)
 * The segment's input value is slot 0 and its output value slot 1 (graph.h); every other
 * value gets its own slot (the program is SSA).
 */
#include "io/onnx_build.h"

#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct og_compiler {
    tmlp_og *g;
    const tmlp_og_segment *s;
    tmlp_gprogram *p;
    int32_t *slot;          /* per value: its slot, or -1 */
} og_compiler;

static tmlp_status og_nomem(tmlp_error *err)
{
    return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory compiling a graph segment");
}

/* ---- Parameters shared with the layer mapping (onnx_build.c) ------------------------- */

/* W (out, in) and b (out, or NULL) of a Gemm / MatMul node, in graph-owned blocks. */
tmlp_status tmlp_onnx_dense_params(tmlp_og *g, const tmlp_og_node *n, float **w, float **b,
                                   int64_t *out_w, int64_t *in_w, tmlp_error *err)
{
    const tmlp_og_value *x = &g->values[n->in[0]], *bm = &g->values[n->in[1]];
    const tmlp_og_value *c = n->op == TMLP_OG_GEMM && n->n_in > 2 && n->in[2] >= 0 ? &g->values[n->in[2]] : NULL;
    const int64_t k = x->width, m = g->values[n->out[0]].width;
    /* B as stored: Gemm transB=1 and no transpose needed is (m, k); otherwise (k, m). */
    const int stored_out_in = n->op == TMLP_OG_GEMM && n->a.trans_b;
    const float alpha = n->op == TMLP_OG_GEMM ? n->a.alpha : 1.0f;
    *w = tmlp_og_alloc(g, (size_t)(m * k) * sizeof **w);
    if (!*w) return og_nomem(err);
    for (int64_t j = 0; j < m; j++)
        for (int64_t i = 0; i < k; i++) {
            float v = stored_out_in ? bm->f32[j * k + i] : bm->f32[i * m + j];
            (*w)[j * k + i] = alpha == 1.0f ? v : alpha * v;
        }
    *b = NULL;
    if (c) {
        const float *row;
        const int64_t dims[2] = {TMLP_OG_BATCH, m};
        int kind = tmlp_og_const_row(g, c, 2, dims, m, &row);
        *b = tmlp_og_alloc(g, (size_t)m * sizeof **b);
        if (kind == -2 || !*b) return og_nomem(err);
        for (int64_t j = 0; j < m; j++) {
            float v = kind == 0 ? c->f32[0] : row[j];
            (*b)[j] = n->a.beta == 1.0f ? v : n->a.beta * v;
        }
    }
    *out_w = m;
    *in_w = k;
    return TMLP_OK;
}

/* A constant as a full row of `width` (a scalar repeated), graph-owned; NULL when out of
 * memory. c must broadcast to x's shape (checked by onnx_infer.c). */
const float *tmlp_onnx_const_full_row(tmlp_og *g, const tmlp_og_value *c, const tmlp_og_value *x)
{
    const float *row = NULL;
    int kind = tmlp_og_const_row(g, c, x->ndim, x->dims, x->width, &row);
    if (kind != 0) return kind == 1 ? row : NULL;
    float *r = tmlp_og_alloc(g, (size_t)x->width * sizeof *r);
    for (int64_t j = 0; r && j < x->width; j++) r[j] = c->f32[0];
    return r;
}

/* BatchNormalization's scale, B, mean, var (inputs 1..4) as rows of x's width: per element
 * when a statistic has width values, else per channel (axis 1, repeated over the rest). */
tmlp_status tmlp_onnx_bn_rows(tmlp_og *g, const tmlp_og_node *n, const float *rows[4],
                              tmlp_error *err)
{
    const tmlp_og_value *x = &g->values[n->in[0]];
    const int64_t ch = x->ndim >= 2 ? x->dims[1] : 1, inner = x->width / ch;
    for (int32_t i = 0; i < 4; i++) {
        const tmlp_og_value *v = &g->values[n->in[i + 1]];
        if (v->numel == x->width) {
            rows[i] = v->f32;
            continue;
        }
        float *r = tmlp_og_alloc(g, (size_t)x->width * sizeof *r);
        if (!r) return og_nomem(err);
        for (int64_t j = 0; j < x->width; j++) r[j] = v->f32[j / inner];
        rows[i] = r;
    }
    return TMLP_OK;
}

/* ---- Emitting ----------------------------------------------------------------------------- */

static tmlp_garg og_slot_arg(int32_t slot)
{
    tmlp_garg a = {slot, -1};
    return a;
}

/* A constant operand of n floats (1 = scalar). */
static tmlp_status og_const_arg(og_compiler *c, const float *data, int64_t n, tmlp_garg *a,
                                tmlp_error *err)
{
    a->slot = -1;
    a->cst = tmlp_gprogram_const(c->p, data, n);
    return a->cst < 0 ? og_nomem(err) : TMLP_OK;
}

/* Operand for value v of a node whose result y has shape (ndim, dims, width). */
static tmlp_status og_value_arg(og_compiler *c, int32_t v, const tmlp_og_value *y, tmlp_garg *a,
                                tmlp_error *err)
{
    const tmlp_og_value *val = &c->g->values[v];
    if (!val->is_const) {
        *a = og_slot_arg(c->slot[tmlp_og_root(c->g, v)]);
        return TMLP_OK;
    }
    const float *row = NULL;
    int kind = tmlp_og_const_row(c->g, val, y->ndim, y->dims, y->width, &row);
    if (kind == -2) return og_nomem(err);
    return og_const_arg(c, kind == 0 ? val->f32 : row, kind == 0 ? 1 : y->width, a, err);
}

/* A fresh slot of `width`, or slot 1 when this is the segment's output value. */
static tmlp_status og_new_slot(og_compiler *c, int64_t width, int32_t *slot, tmlp_error *err)
{
    *slot = tmlp_gprogram_slot(c->p, width);
    return *slot < 0 ? og_nomem(err) : TMLP_OK;
}

static tmlp_status og_emit(og_compiler *c, int op, int32_t dst, tmlp_garg a, tmlp_garg b,
                           float alpha, tmlp_error *err)
{
    tmlp_ginstr in;
    memset(&in, 0, sizeof in);
    in.op = op;
    in.dst = dst;
    in.a = a;
    in.b = b;
    in.alpha = alpha;
    in.w = in.bias = -1;
    return tmlp_gprogram_emit(c->p, &in) ? og_nomem(err) : TMLP_OK;
}

/* dst = a (op) b with b a constant row (or scalar when n == 1), into a new slot unless
 * dst >= 0 is given. */
static tmlp_status og_emit_const(og_compiler *c, int op, tmlp_garg a, const float *k, int64_t n,
                                 int64_t width, int32_t *dst, tmlp_error *err)
{
    tmlp_garg b;
    tmlp_status st = og_const_arg(c, k, n, &b, err);
    if (st == TMLP_OK && *dst < 0) st = og_new_slot(c, width, dst, err);
    return st == TMLP_OK ? og_emit(c, op, *dst, a, b, 0.0f, err) : st;
}

/* dst = (op) a over the row: unary ops, reductions (into a new width-1 slot if needed). */
static tmlp_status og_emit_unary(og_compiler *c, int op, tmlp_garg a, int64_t width, int32_t *dst,
                                 tmlp_error *err)
{
    tmlp_status st = *dst < 0 ? og_new_slot(c, width, dst, err) : TMLP_OK;
    return st == TMLP_OK ? og_emit(c, op, *dst, a, a, 0.0f, err) : st;
}

/* ---- One node ----------------------------------------------------------------------------- */

static int og_elementwise_gop(const tmlp_og_node *n)
{
    static const int map[TMLP_OG_N_OPS] = {
        [TMLP_OG_ADD] = TMLP_GOP_ADD, [TMLP_OG_SUB] = TMLP_GOP_SUB, [TMLP_OG_MUL] = TMLP_GOP_MUL,
        [TMLP_OG_DIV] = TMLP_GOP_DIV, [TMLP_OG_POW] = TMLP_GOP_POW, [TMLP_OG_SQRT] = TMLP_GOP_SQRT,
        [TMLP_OG_EXP] = TMLP_GOP_EXP, [TMLP_OG_LOG] = TMLP_GOP_LOG, [TMLP_OG_NEG] = TMLP_GOP_NEG,
        [TMLP_OG_RECIPROCAL] = TMLP_GOP_RECIPROCAL, [TMLP_OG_ERF] = TMLP_GOP_ERF,
        [TMLP_OG_RELU] = TMLP_GOP_RELU, [TMLP_OG_LEAKY_RELU] = TMLP_GOP_LEAKY_RELU,
        [TMLP_OG_SIGMOID] = TMLP_GOP_SIGMOID, [TMLP_OG_TANH] = TMLP_GOP_TANH,
        [TMLP_OG_SOFTMAX] = TMLP_GOP_SOFTMAX, [TMLP_OG_LOG_SOFTMAX] = TMLP_GOP_LOG_SOFTMAX,
        [TMLP_OG_REDUCE_MEAN] = TMLP_GOP_REDUCE_MEAN,
    };
    if (n->op == TMLP_OG_GELU) return n->a.approx ? TMLP_GOP_GELU_TANH : TMLP_GOP_GELU;
    return map[n->op];
}

static tmlp_status og_compile_dense(og_compiler *c, const tmlp_og_node *n, int32_t dst,
                                    tmlp_error *err)
{
    float *w, *b;
    int64_t m, k;
    tmlp_status st = tmlp_onnx_dense_params(c->g, n, &w, &b, &m, &k, err);
    tmlp_ginstr in;
    memset(&in, 0, sizeof in);
    in.op = TMLP_GOP_DENSE;
    in.dst = dst;
    in.a = og_slot_arg(c->slot[tmlp_og_root(c->g, n->in[0])]);
    in.b = in.a;
    in.bias = -1;
    if (st != TMLP_OK) return st;
    in.w = tmlp_gprogram_const(c->p, w, m * k);
    if (b) in.bias = tmlp_gprogram_const(c->p, b, m);
    if (in.w < 0 || (b && in.bias < 0) || tmlp_gprogram_emit(c->p, &in)) return og_nomem(err);
    return TMLP_OK;
}

/* ((x - mean) / sqrt(var + eps)) * scale + B, per element of the row. */
static tmlp_status og_compile_batchnorm(og_compiler *c, const tmlp_og_node *n, int32_t dst,
                                        tmlp_error *err)
{
    const float *rows[4]; /* scale, B, mean, var */
    const int64_t w = c->g->values[n->in[0]].width;
    tmlp_status st = tmlp_onnx_bn_rows(c->g, n, rows, err);
    float *den = st == TMLP_OK ? tmlp_og_alloc(c->g, (size_t)w * sizeof *den) : NULL;
    if (st != TMLP_OK) return st;
    if (!den) return og_nomem(err);
    for (int64_t j = 0; j < w; j++) den[j] = sqrtf(rows[3][j] + n->a.eps);
    int32_t t1 = -1, t2 = -1, t3 = -1;
    tmlp_garg x = og_slot_arg(c->slot[tmlp_og_root(c->g, n->in[0])]);
    st = og_emit_const(c, TMLP_GOP_SUB, x, rows[2], w, w, &t1, err);
    if (st == TMLP_OK) st = og_emit_const(c, TMLP_GOP_DIV, og_slot_arg(t1), den, w, w, &t2, err);
    if (st == TMLP_OK) st = og_emit_const(c, TMLP_GOP_MUL, og_slot_arg(t2), rows[0], w, w, &t3, err);
    if (st == TMLP_OK) st = og_emit_const(c, TMLP_GOP_ADD, og_slot_arg(t3), rows[1], w, w, &dst, err);
    return st;
}

/* LayerNormalization's function body: D = x - mean(x), inv = 1 / sqrt(mean(D * D) + eps),
 * y = (D * inv) * Scale (+ B). */
static tmlp_status og_compile_layernorm(og_compiler *c, const tmlp_og_node *n, int32_t dst,
                                        tmlp_error *err)
{
    const tmlp_og_value *xv = &c->g->values[n->in[0]];
    const int64_t w = xv->width;
    const int has_b = n->n_in > 2 && n->in[2] >= 0;
    const float *scale = tmlp_onnx_const_full_row(c->g, &c->g->values[n->in[1]], xv);
    const float *bias = has_b ? tmlp_onnx_const_full_row(c->g, &c->g->values[n->in[2]], xv) : NULL;
    if (!scale || (has_b && !bias)) return og_nomem(err);
    tmlp_garg x = og_slot_arg(c->slot[tmlp_og_root(c->g, n->in[0])]);
    int32_t mean = -1, d = -1, dd = -1, var = -1, ve = -1, sd = -1, inv = -1, nrm = -1, ns = has_b ? -1 : dst;
    tmlp_status st = og_emit_unary(c, TMLP_GOP_REDUCE_MEAN, x, 1, &mean, err);
    if (st == TMLP_OK) st = og_new_slot(c, w, &d, err);
    if (st == TMLP_OK) st = og_emit(c, TMLP_GOP_SUB, d, x, og_slot_arg(mean), 0.0f, err);
    if (st == TMLP_OK) st = og_new_slot(c, w, &dd, err);
    if (st == TMLP_OK) st = og_emit(c, TMLP_GOP_MUL, dd, og_slot_arg(d), og_slot_arg(d), 0.0f, err);
    if (st == TMLP_OK) st = og_emit_unary(c, TMLP_GOP_REDUCE_MEAN, og_slot_arg(dd), 1, &var, err);
    if (st == TMLP_OK) st = og_emit_const(c, TMLP_GOP_ADD, og_slot_arg(var), &n->a.eps, 1, 1, &ve, err);
    if (st == TMLP_OK) st = og_emit_unary(c, TMLP_GOP_SQRT, og_slot_arg(ve), 1, &sd, err);
    if (st == TMLP_OK) st = og_emit_unary(c, TMLP_GOP_RECIPROCAL, og_slot_arg(sd), 1, &inv, err);
    if (st == TMLP_OK) st = og_new_slot(c, w, &nrm, err);
    if (st == TMLP_OK) st = og_emit(c, TMLP_GOP_MUL, nrm, og_slot_arg(d), og_slot_arg(inv), 0.0f, err);
    if (st == TMLP_OK) st = og_emit_const(c, TMLP_GOP_MUL, og_slot_arg(nrm), scale, w, w, &ns, err);
    if (st == TMLP_OK && has_b) st = og_emit_const(c, TMLP_GOP_ADD, og_slot_arg(ns), bias, w, w, &dst, err);
    return st;
}

/* Instructions for node n, writing its result to slot dst. */
static tmlp_status og_compile_node(og_compiler *c, const tmlp_og_node *n, int32_t dst, tmlp_error *err)
{
    const tmlp_og_value *y = &c->g->values[n->out[0]];
    tmlp_garg a, b;
    tmlp_status st;
    switch (n->op) {
    case TMLP_OG_GEMM: case TMLP_OG_MATMUL: return og_compile_dense(c, n, dst, err);
    case TMLP_OG_BATCHNORM: return og_compile_batchnorm(c, n, dst, err);
    case TMLP_OG_LAYERNORM: return og_compile_layernorm(c, n, dst, err);
    case TMLP_OG_ADD: case TMLP_OG_SUB: case TMLP_OG_MUL: case TMLP_OG_DIV: case TMLP_OG_POW:
        st = og_value_arg(c, n->in[0], y, &a, err);
        if (st == TMLP_OK) st = og_value_arg(c, n->in[1], y, &b, err);
        return st == TMLP_OK ? og_emit(c, og_elementwise_gop(n), dst, a, b, 0.0f, err) : st;
    default:
        a = og_slot_arg(c->slot[tmlp_og_root(c->g, n->in[0])]);
        return og_emit(c, og_elementwise_gop(n), dst, a, a, n->a.alpha, err);
    }
}

/* "Mul,Sub,Div" (the ONNX ops of the segment, shortened to fit) as the program's label. */
static tmlp_status og_label(og_compiler *c, tmlp_error *err)
{
    char buf[96];
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t k = c->s->first; k <= c->s->last; k++) {
        const char *op = c->g->nodes[c->g->order[k]].ir->op_type;
        size_t need = strlen(op) + (used ? 1 : 0);
        if (used + need + 4 >= sizeof buf) {
            snprintf(buf + used, sizeof buf - used, ",...");
            break;
        }
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "", op);
    }
    return tmlp_gprogram_set_label(c->p, buf, c->s->last - c->s->first + 1) ? og_nomem(err) : TMLP_OK;
}

tmlp_status tmlp_onnx_compile(tmlp_og *g, const tmlp_og_segment *s, const tmlp_allocator *a,
                              tmlp_gprogram **out, tmlp_error *err)
{
    og_compiler c = {g, s, NULL, NULL};
    *out = NULL;
    tmlp_status st = tmlp_gprogram_create(a, g->values[s->in].width, g->values[s->out].width, &c.p, err);
    if (st != TMLP_OK) return st;
    c.slot = tmlp_mem_alloc(a, (size_t)g->n_values * sizeof *c.slot);
    if (!c.slot) st = og_nomem(err);
    for (int32_t v = 0; c.slot && v < g->n_values; v++) c.slot[v] = -1;
    if (c.slot) c.slot[s->in] = 0;
    for (int32_t k = s->first; st == TMLP_OK && k <= s->last; k++) {
        const tmlp_og_node *n = &g->nodes[g->order[k]];
        const int32_t y = tmlp_og_root(g, n->out[0]);
        int32_t dst = 1;
        if (y != s->out) st = og_new_slot(&c, g->values[y].width, &dst, err);
        if (st == TMLP_OK) st = og_compile_node(&c, n, dst, err);
        c.slot[y] = dst;
    }
    if (st == TMLP_OK) st = og_label(&c, err);
    tmlp_mem_free(a, c.slot);
    if (st != TMLP_OK) {
        tmlp_gprogram_destroy(c.p);
        return st;
    }
    *out = c.p;
    return TMLP_OK;
}

tmlp_status tmlp_onnx_run_segment(tmlp_og *g, const tmlp_og_segment *s, const tmlp_allocator *a,
                                  const float *x, float *y, int64_t rows, tmlp_error *err)
{
    tmlp_gprogram *p;
    tmlp_status st = tmlp_onnx_compile(g, s, a, &p, err);
    if (st != TMLP_OK) return st;
    size_t n = 0;
    float *scratch = NULL;
    if (!tmlp_size_mul(tmlp_gprogram_scratch_floats(p), (size_t)rows, &n) ||
        !tmlp_size_mul(n, sizeof(float), &n) || !(scratch = tmlp_mem_alloc(a, n ? n : 1)))
        st = og_nomem(err);
    if (st == TMLP_OK) tmlp_gprogram_run(p, x, y, rows, scratch);
    tmlp_mem_free(a, scratch);
    tmlp_gprogram_destroy(p);
    return st;
}
