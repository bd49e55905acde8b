/* onnx_infer.c — what each supported op means for a node with a data input: its
 * attributes (with the defaults of the model's opset), which inputs must be constant, and
 * the shape of its result under the rule of onnx_graph.h (every op acts on each row alone).
 *
 * Opset-dependent meanings handled here:
 *   Softmax / LogSoftmax  < 13: the input is seen as 2-D [d0*..*d(axis-1), d(axis)*..]
 *                         (axis default 1); from 13: along `axis` only (default -1);
 *   ReduceMean            axes an attribute before 18, an optional input from 18 (with
 *                         noop_with_empty_axes); no axes = every axis (refused: the batch);
 *   Squeeze / Unsqueeze   axes an attribute before 13, an input from 13;
 *   Dropout               training_mode an input from 12 (must be a constant false);
 *   BatchNormalization    `spatial` before 9, training_mode from 14 (must be 0);
 *   Reshape               allowzero from 14.
 * A shape op on data (Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout, Cast to
 * FLOAT) is accepted when its result still has the batch as axis 0 and the same row, and
 * becomes an alias of its input.
 */
#include "io/onnx_graph.h"

#include "internal.h"

#include <stdio.h>
#include <string.h>

/* ---- Attributes ------------------------------------------------------------------------ */

/* Attribute `name` of node n if present with type `type`; NULL if absent; *bad set (and
 * err filled) if present with another type. */
static const tmlp_onnx_attr *og_attr(const tmlp_og_node *n, const char *name,
                                     tmlp_onnx_attr_type type, tmlp_status *st, tmlp_error *err)
{
    const tmlp_onnx_attr *at = tmlp_onnx_node_attr(n->ir, name);
    if (!at || at->type == type) return at;
    char lab[128];
    *st = tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: attribute `%s` has type %d, expected %d",
                         tmlp_og_node_label(n, lab, sizeof lab), name, (int)at->type, (int)type);
    return NULL;
}

static tmlp_status og_attr_int(const tmlp_og_node *n, const char *name, int64_t *v, tmlp_error *err)
{
    tmlp_status st = TMLP_OK;
    const tmlp_onnx_attr *at = og_attr(n, name, TMLP_ONNX_ATTR_INT, &st, err);
    if (at) *v = at->i;
    return st;
}

static tmlp_status og_attr_float(const tmlp_og_node *n, const char *name, float *v, tmlp_error *err)
{
    tmlp_status st = TMLP_OK;
    const tmlp_onnx_attr *at = og_attr(n, name, TMLP_ONNX_ATTR_FLOAT, &st, err);
    if (at) *v = at->f;
    return st;
}

/* A list of axes from an INTS attribute or a constant INT64 input `in` (-1: none). */
static tmlp_status og_axes(tmlp_og *g, tmlp_og_node *n, int from_input, tmlp_error *err)
{
    char lab[128];
    const int64_t *vals = NULL;
    int64_t count = 0;
    if (from_input) {
        int32_t v = n->n_in > 1 ? n->in[1] : -1;
        if (v < 0) return TMLP_OK;
        const tmlp_og_value *c = &g->values[v];
        if (!c->is_const || !c->i64)
            return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: axes `%.60s` %s; tinymlp reads "
                                  "constant INT64 axes", tmlp_og_node_label(n, lab, sizeof lab),
                                  c->name, c->is_const ? "are not integers" : "are computed at run time");
        vals = c->i64;
        count = c->numel;
    } else {
        tmlp_status st = TMLP_OK;
        const tmlp_onnx_attr *at = og_attr(n, "axes", TMLP_ONNX_ATTR_INTS, &st, err);
        if (st != TMLP_OK || !at) return st;
        vals = at->ints;
        count = at->n;
    }
    if (count > TMLP_ONNX_MAX_DIMS)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: %lld axes, more than %d",
                              tmlp_og_node_label(n, lab, sizeof lab), (long long)count,
                              TMLP_ONNX_MAX_DIMS);
    n->a.has_axes = 1;
    n->a.n_axes = (int32_t)count;
    for (int64_t i = 0; i < count; i++) n->a.axes[i] = vals[i];
    return TMLP_OK;
}

/* Gelu's approximate: "none" (0) or "tanh" (1). */
static tmlp_status og_gelu_approx(tmlp_og_node *n, tmlp_error *err)
{
    tmlp_status st = TMLP_OK;
    const tmlp_onnx_attr *at = og_attr(n, "approximate", TMLP_ONNX_ATTR_STRING, &st, err);
    if (st != TMLP_OK || !at || !strcmp(at->s, "none")) return st;
    if (!strcmp(at->s, "tanh")) {
        n->a.approx = 1;
        return TMLP_OK;
    }
    char lab[128];
    return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: approximate \"%.20s\" is neither \"none\" "
                          "nor \"tanh\"", tmlp_og_node_label(n, lab, sizeof lab), at->s);
}

/* Dropout from opset 12: training_mode (input 2), when given, must be a constant false. */
static tmlp_status og_dropout_mode(const tmlp_og *g, const tmlp_og_node *n, tmlp_error *err)
{
    int32_t v = n->n_in > 2 ? n->in[2] : -1;
    if (v < 0) return TMLP_OK;
    const tmlp_og_value *c = &g->values[v];
    char lab[128];
    if (!c->is_const || c->numel != 1)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: training_mode `%.60s` is not a "
                              "constant scalar", tmlp_og_node_label(n, lab, sizeof lab), c->name);
    if (c->i64 ? c->i64[0] != 0 : c->f32[0] != 0.0f)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: training_mode is true; tinymlp "
                              "runs inference", tmlp_og_node_label(n, lab, sizeof lab));
    return TMLP_OK;
}

/* Per-op attributes; later steps read only n->a. */
static tmlp_status og_prepare_op(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    tmlp_og_attrs *a = &n->a;
    int64_t training = 0;
    tmlp_status st = TMLP_OK;
    switch (n->op) {
    case TMLP_OG_GEMM:
        st = og_attr_float(n, "alpha", &a->alpha, err);
        if (st == TMLP_OK) st = og_attr_float(n, "beta", &a->beta, err);
        if (st == TMLP_OK) st = og_attr_int(n, "transA", &a->trans_a, err);
        if (st == TMLP_OK) st = og_attr_int(n, "transB", &a->trans_b, err);
        return st;
    case TMLP_OG_LEAKY_RELU: a->alpha = 0.01f; return og_attr_float(n, "alpha", &a->alpha, err);
    case TMLP_OG_GELU: return og_gelu_approx(n, err);
    case TMLP_OG_SOFTMAX:
    case TMLP_OG_LOG_SOFTMAX: a->axis = g->opset < 13 ? 1 : -1; return og_attr_int(n, "axis", &a->axis, err);
    case TMLP_OG_FLATTEN: a->axis = 1; return og_attr_int(n, "axis", &a->axis, err);
    case TMLP_OG_LAYERNORM:
        a->axis = -1;
        st = og_attr_int(n, "axis", &a->axis, err);
        return st == TMLP_OK ? og_attr_float(n, "epsilon", &a->eps, err) : st;
    case TMLP_OG_BATCHNORM:
        st = og_attr_float(n, "epsilon", &a->eps, err);
        if (st == TMLP_OK) st = og_attr_int(n, "spatial", &a->keepdims, err);
        if (st == TMLP_OK) st = og_attr_int(n, "training_mode", &training, err);
        if (st == TMLP_OK && training) {
            char lab[128];
            st = tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: training_mode=1; tinymlp runs "
                                "inference", tmlp_og_node_label(n, lab, sizeof lab));
        }
        return st;
    case TMLP_OG_REDUCE_MEAN:
        st = og_attr_int(n, "keepdims", &a->keepdims, err);
        if (st == TMLP_OK) st = og_attr_int(n, "noop_with_empty_axes", &a->noop_empty, err);
        return st == TMLP_OK ? og_axes(g, n, g->opset >= 18, err) : st;
    case TMLP_OG_SQUEEZE:
    case TMLP_OG_UNSQUEEZE: return og_axes(g, n, g->opset >= 13, err);
    case TMLP_OG_RESHAPE: return og_attr_int(n, "allowzero", &a->allowzero, err);
    case TMLP_OG_TRANSPOSE: {
        const tmlp_onnx_attr *perm = og_attr(n, "perm", TMLP_ONNX_ATTR_INTS, &st, err);
        if (perm && perm->n <= TMLP_ONNX_MAX_DIMS) {
            a->has_axes = 1;
            a->n_axes = (int32_t)perm->n;
            memcpy(a->axes, perm->ints, (size_t)perm->n * sizeof *a->axes);
        } else if (perm) {
            char lab[128];
            st = tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: perm has %lld entries",
                                tmlp_og_node_label(n, lab, sizeof lab), (long long)perm->n);
        }
        return st;
    }
    case TMLP_OG_DROPOUT: return g->opset >= 12 ? og_dropout_mode(g, n, err) : TMLP_OK;
    case TMLP_OG_CAST: {
        char lab[128];
        a->to = -1;
        st = og_attr_int(n, "to", &a->to, err);
        if (st == TMLP_OK && a->to < 0)
            st = tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: no `to` attribute",
                                tmlp_og_node_label(n, lab, sizeof lab));
        return st;
    }
    default: return TMLP_OK;
    }
}

/* Pow's exponent may be an integer tensor (T1 from opset 12): give the constant a float
 * copy of its values (it keeps its integers too). */
static tmlp_status og_pow_exponent(tmlp_og *g, const tmlp_og_node *n, tmlp_error *err)
{
    tmlp_og_value *e = &g->values[n->in[1]];
    if (!e->is_const || e->f32 || !e->i64) return TMLP_OK;
    float *f = tmlp_og_alloc(g, (size_t)e->numel * sizeof *f);
    if (!f) return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory for an exponent");
    for (int64_t i = 0; i < e->numel; i++) f[i] = (float)e->i64[i];
    e->f32 = f;
    return TMLP_OK;
}

tmlp_status tmlp_og_prepare(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    if (n->op == TMLP_OG_POW) {
        tmlp_status st = og_pow_exponent(g, n, err);
        if (st != TMLP_OK) return st;
    }
    tmlp_og_attrs *a = &n->a;
    memset(a, 0, sizeof *a);
    a->alpha = a->beta = 1.0f;
    a->eps = 1e-5f;
    a->keepdims = 1; /* ReduceMean; BatchNormalization's `spatial` reuses it (default 1) */
    return og_prepare_op(g, n, err);
}

/* ---- Shapes ------------------------------------------------------------------------------ */

/* Set data value v to shape dims (dims[0] the batch); checks the row size. */
static tmlp_status og_set_data(const tmlp_og_node *n, tmlp_og_value *v, int32_t ndim,
                               const int64_t *dims, tmlp_error *err)
{
    int64_t w = 1;
    for (int32_t d = 1; d < ndim; d++)
        if (!tmlp_i64_mul(w, dims[d], &w) || w > INT32_MAX) {
            char lab[128];
            return tmlp_error_set(err, TMLP_ERR_SHAPE, "%s: a row of more than 2^31 floats",
                                  tmlp_og_node_label(n, lab, sizeof lab));
        }
    v->is_const = 0;
    v->known = 1;
    v->transposed = 0;
    v->ndim = ndim;
    memset(v->dims, 0, sizeof v->dims);
    memcpy(v->dims, dims, (size_t)ndim * sizeof *dims);
    v->dims[0] = TMLP_OG_BATCH;
    v->width = w;
    return TMLP_OK;
}

int tmlp_og_const_row(tmlp_og *g, const tmlp_og_value *c, int32_t ndim, const int64_t *dims,
                      int64_t width, const float **row)
{
    if (c->ndim > ndim) return -1;
    const int32_t off = ndim - c->ndim; /* c's axis j lines up with axis off + j */
    for (int32_t j = 0; j < c->ndim; j++) {
        int64_t want = off + j == 0 ? 1 : dims[off + j];
        if (c->dims[j] != 1 && c->dims[j] != want) return -1;
    }
    if (c->numel == 1) return 0;
    if (!row) return 1;
    float *r = tmlp_og_alloc(g, (size_t)width * sizeof *r);
    if (!r) return -2;
    /* Element k of the row: its index along each axis d >= 1 (row-major), mapped onto c
     * with stride 0 where c has extent 1. */
    for (int64_t k = 0; k < width; k++) {
        int64_t rem = k, ci = 0, cstride = 1;
        for (int32_t d = ndim - 1; d >= 1; d--) {
            int64_t idx = rem % dims[d];
            rem /= dims[d];
            int32_t j = d - off;
            if (j >= 0) {
                if (c->dims[j] != 1) ci += idx * cstride;
                cstride *= c->dims[j];
            }
        }
        r[k] = c->f32[ci];
    }
    *row = r;
    return 1;
}

/* The node's result (output 0) and the value of input i. */
static tmlp_og_value *og_out(tmlp_og *g, const tmlp_og_node *n) { return &g->values[n->out[0]]; }
static const tmlp_og_value *og_in(const tmlp_og *g, const tmlp_og_node *n, int32_t i)
{
    return i < n->n_in && n->in[i] >= 0 ? &g->values[n->in[i]] : NULL;
}

/* Input i must be a FLOAT-family constant (weights, statistics, operands). */
static tmlp_status og_need_float_const(const tmlp_og *g, const tmlp_og_node *n, int32_t i,
                                       const char *what, tmlp_error *err)
{
    const tmlp_og_value *c = og_in(g, n, i);
    char lab[128];
    if (!c) return TMLP_OK;
    if (!c->is_const)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: %s `%.60s` is computed from the "
                              "input; tinymlp needs it constant", tmlp_og_node_label(n, lab, sizeof lab),
                              what, c->name);
    if (!c->f32)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: %s `%.60s` is %s, not a float tensor",
                              tmlp_og_node_label(n, lab, sizeof lab), what, c->name,
                              tmlp_onnx_dtype_name(c->data_type));
    return TMLP_OK;
}

/* Input 0 must be data of rank 2 ([N, K]) for a matrix product. */
static tmlp_status og_need_rows(const tmlp_og *g, const tmlp_og_node *n, tmlp_error *err)
{
    const tmlp_og_value *x = og_in(g, n, 0);
    char lab[128], s[64];
    if (x->is_const)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: the data is its second operand "
                              "(`%.60s`); tinymlp multiplies [N, K] rows by constant weights",
                              tmlp_og_node_label(n, lab, sizeof lab), og_in(g, n, 1)->name);
    if (x->ndim != 2)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: input `%.60s` has shape %s; "
                              "tinymlp multiplies [N, K] rows", tmlp_og_node_label(n, lab, sizeof lab),
                              x->name, tmlp_og_shape_str(x, s, sizeof s));
    return TMLP_OK;
}

/* Y = alpha A' B' + beta C with A the data [N, K], B constant, C constant along the row. */
static tmlp_status og_infer_gemm(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    char lab[128], s1[64], s2[64];
    tmlp_og_node_label(n, lab, sizeof lab);
    tmlp_status st = og_need_rows(g, n, err);
    if (st == TMLP_OK) st = og_need_float_const(g, n, 1, "B", err);
    if (st == TMLP_OK) st = og_need_float_const(g, n, 2, "C", err);
    if (st != TMLP_OK) return st;
    const tmlp_og_value *x = og_in(g, n, 0), *b = og_in(g, n, 1), *c = og_in(g, n, 2);
    if (n->a.trans_a && !x->transposed)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: transA=1 would transpose the batch "
                              "axis of `%.60s` %s", lab, x->name, tmlp_og_shape_str(x, s1, sizeof s1));
    if (b->ndim != 2)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: B `%.60s` has rank %d, Gemm needs 2",
                              lab, b->name, (int)b->ndim);
    const int64_t k = n->a.trans_b ? b->dims[1] : b->dims[0];
    const int64_t m = n->a.trans_b ? b->dims[0] : b->dims[1];
    if (k != x->width || m < 1)
        return tmlp_error_set(err, TMLP_ERR_SHAPE, "%s: A %s times B `%.60s` %s (transB=%d): "
                              "inner sizes %lld and %lld differ", lab, tmlp_og_shape_str(x, s1, sizeof s1),
                              b->name, tmlp_og_shape_str(b, s2, sizeof s2), (int)n->a.trans_b,
                              (long long)x->width, (long long)k);
    const int64_t dims[2] = {TMLP_OG_BATCH, m};
    if (c && tmlp_og_const_row(g, c, 2, dims, m, NULL) < 0)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: C `%.60s` %s does not broadcast to "
                              "[N, %lld] along the row", lab, c->name,
                              tmlp_og_shape_str(c, s1, sizeof s1), (long long)m);
    return og_set_data(n, og_out(g, n), 2, dims, err);
}

/* [N, K] x B with B constant [K, M] (result [N, M]) or [K] (result [N]). */
static tmlp_status og_infer_matmul(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    char lab[128], s1[64], s2[64];
    tmlp_status st = og_need_rows(g, n, err);
    if (st == TMLP_OK) st = og_need_float_const(g, n, 1, "B", err);
    if (st != TMLP_OK) return st;
    const tmlp_og_value *x = og_in(g, n, 0), *b = og_in(g, n, 1);
    if (b->ndim < 1 || b->ndim > 2 || b->dims[0] != x->width || (b->ndim == 2 && b->dims[1] < 1))
        return tmlp_error_set(err, TMLP_ERR_SHAPE, "%s: A %s times B `%.60s` %s: tinymlp needs B "
                              "[%lld, M] or [%lld]", tmlp_og_node_label(n, lab, sizeof lab),
                              tmlp_og_shape_str(x, s1, sizeof s1), b->name,
                              tmlp_og_shape_str(b, s2, sizeof s2), (long long)x->width,
                              (long long)x->width);
    const int64_t dims[2] = {TMLP_OG_BATCH, b->ndim == 2 ? b->dims[1] : 1};
    return og_set_data(n, og_out(g, n), b->ndim == 2 ? 2 : 1, dims, err);
}

/* The shape of data x (op) constant c: numpy broadcasting, with c's batch-aligned extent 1
 * and c no higher in rank than x (else the batch would move). */
static int og_broadcast_const(const tmlp_og_value *x, const tmlp_og_value *c, int64_t *dims)
{
    if (c->ndim > x->ndim) return -1;
    const int32_t off = x->ndim - c->ndim;
    for (int32_t d = 0; d < x->ndim; d++) {
        int64_t xd = x->dims[d], cd = d >= off ? c->dims[d - off] : 1;
        if (d == 0) {
            if (cd != 1) return -1;
            dims[0] = TMLP_OG_BATCH;
        } else if (xd == cd || cd == 1) {
            dims[d] = xd;
        } else if (xd == 1) {
            dims[d] = cd;
        } else {
            return -1;
        }
    }
    return 0;
}

/* The shape of data a (op) data b: same rank, extents equal or 1. */
static int og_broadcast_data(const tmlp_og_value *a, const tmlp_og_value *b, int64_t *dims)
{
    if (a->ndim != b->ndim) return -1;
    dims[0] = TMLP_OG_BATCH;
    for (int32_t d = 1; d < a->ndim; d++) {
        if (a->dims[d] != b->dims[d] && a->dims[d] != 1 && b->dims[d] != 1) return -1;
        dims[d] = a->dims[d] > b->dims[d] ? a->dims[d] : b->dims[d];
    }
    return 0;
}

/* Add, Sub, Mul, Div, Pow with at least one data operand. A data operand must fill the
 * result's row or be one number per row (the interpreter broadcasts only those). */
static tmlp_status og_infer_binary(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    char lab[128], s1[64], s2[64];
    const tmlp_og_value *a = og_in(g, n, 0), *b = og_in(g, n, 1);
    const tmlp_og_value *x = a->is_const ? b : a, *o = a->is_const ? a : b;
    int64_t dims[TMLP_ONNX_MAX_DIMS];
    tmlp_og_node_label(n, lab, sizeof lab);
    if (o->is_const) {
        tmlp_status st = og_need_float_const(g, n, a->is_const ? 0 : 1, "operand", err);
        if (st != TMLP_OK) return st;
    }
    if (o->is_const ? og_broadcast_const(x, o, dims) : og_broadcast_data(x, o, dims))
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: `%.60s` %s and `%.60s` %s do not "
                              "broadcast within a row (the batch axis must stay axis 0)", lab,
                              a->name, tmlp_og_shape_str(a, s1, sizeof s1), b->name,
                              tmlp_og_shape_str(b, s2, sizeof s2));
    tmlp_status st = og_set_data(n, og_out(g, n), x->ndim, dims, err);
    if (st != TMLP_OK) return st;
    const int64_t w = og_out(g, n)->width;
    for (int32_t i = 0; i < 2; i++) {
        const tmlp_og_value *v = og_in(g, n, i);
        if (!v->is_const && v->width != w && v->width != 1)
            return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: `%.60s` %s would be repeated "
                                  "inside a row of %s; tinymlp broadcasts a row value only from "
                                  "width 1", lab, v->name, tmlp_og_shape_str(v, s1, sizeof s1),
                                  tmlp_og_shape_str(og_out(g, n), s2, sizeof s2));
    }
    return TMLP_OK;
}

/* Product of dims[from .. to) of a data value. */
static int64_t og_extent(const tmlp_og_value *v, int32_t from, int32_t to)
{
    int64_t p = 1;
    for (int32_t d = from; d < to; d++) p *= v->dims[d];
    return p;
}

/* Normalise axis k of rank r (k in [-r, r + extra)); -1 if out of range. */
static int32_t og_axis(int64_t k, int32_t r, int32_t extra)
{
    if (k < 0) k += r;
    return k >= 0 && k < r + extra ? (int32_t)k : -1;
}

/* Refusal for an op that would work across the batch axis or within part of a row. */
static tmlp_status og_not_row(const tmlp_og_node *n, const tmlp_og_value *x, const char *what,
                              tmlp_error *err)
{
    char lab[128], s[64];
    return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: %s of `%.60s` %s is not over the "
                          "whole row; tinymlp evaluates ops that act on each sample's row",
                          tmlp_og_node_label(n, lab, sizeof lab), what, x->name,
                          tmlp_og_shape_str(x, s, sizeof s));
}

/* Softmax / LogSoftmax: must be over each row (see the top for the opset rule). */
static tmlp_status og_infer_softmax(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    const tmlp_og_value *x = og_in(g, n, 0);
    const int32_t k = og_axis(n->a.axis, x->ndim, 0);
    char what[48];
    snprintf(what, sizeof what, "axis %lld", (long long)n->a.axis);
    if (k <= 0) return og_not_row(n, x, what, err);
    /* < 13: [d0 * .. * d(k-1), rest]; from 13: along axis k only. */
    const int ok = g->opset < 13 ? og_extent(x, 1, k) == 1
                                 : og_extent(x, 1, k) * og_extent(x, k + 1, x->ndim) == 1;
    if (!ok) return og_not_row(n, x, what, err);
    return og_set_data(n, og_out(g, n), x->ndim, x->dims, err);
}

/* ReduceMean over the whole row (the axes may leave out only extents of 1). */
static tmlp_status og_infer_reduce(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    const tmlp_og_value *x = og_in(g, n, 0);
    tmlp_og_value *y = og_out(g, n);
    if (!n->a.has_axes || n->a.n_axes == 0) {
        if (g->opset >= 18 && n->a.noop_empty) { /* reduce over no axis: the identity */
            n->state = TMLP_OG_ALIAS;
            tmlp_status st = og_set_data(n, y, x->ndim, x->dims, err);
            y->alias = n->in[0];
            return st;
        }
        return og_not_row(n, x, "the mean over every axis", err);
    }
    int reduced[TMLP_ONNX_MAX_DIMS] = {0};
    for (int32_t i = 0; i < n->a.n_axes; i++) {
        int32_t k = og_axis(n->a.axes[i], x->ndim, 0);
        if (k < 0) {
            char lab[128];
            return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: axis %lld is outside rank %d",
                                  tmlp_og_node_label(n, lab, sizeof lab),
                                  (long long)n->a.axes[i], (int)x->ndim);
        }
        reduced[k] = 1;
    }
    int64_t kept = 1, dims[TMLP_ONNX_MAX_DIMS];
    int32_t r = 0;
    for (int32_t d = 0; d < x->ndim; d++) {
        if (d > 0 && !reduced[d]) kept *= x->dims[d];
        if (!reduced[d] || n->a.keepdims) dims[r++] = reduced[d] ? 1 : x->dims[d];
    }
    if (reduced[0] || kept != 1) return og_not_row(n, x, "the mean", err);
    return og_set_data(n, y, r, dims, err);
}

/* BatchNormalization (inference): statistics per channel (axis 1) or, with spatial=0 before
 * opset 9, per element of the row. */
static tmlp_status og_infer_batchnorm(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    const tmlp_og_value *x = og_in(g, n, 0);
    const int64_t c = x->ndim >= 2 ? x->dims[1] : 1;
    static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    char lab[128], s[64];
    for (int32_t i = 1; i < 5; i++) {
        tmlp_status st = og_need_float_const(g, n, i, names[i], err);
        if (st != TMLP_OK) return st;
        const tmlp_og_value *v = og_in(g, n, i);
        if (v->numel != c && v->numel != x->width)
            return tmlp_error_set(err, TMLP_ERR_SHAPE, "%s: %s `%.60s` has %lld values; `%.60s` "
                                  "%s has %lld channels", tmlp_og_node_label(n, lab, sizeof lab),
                                  names[i], v->name, (long long)v->numel, x->name,
                                  tmlp_og_shape_str(x, s, sizeof s), (long long)c);
    }
    return og_set_data(n, og_out(g, n), x->ndim, x->dims, err);
}

/* LayerNormalization over axes axis.. (must be the whole row); Scale required, B optional. */
static tmlp_status og_infer_layernorm(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    const tmlp_og_value *x = og_in(g, n, 0);
    const int32_t k = og_axis(n->a.axis, x->ndim, 0);
    char what[48], lab[128], s[64];
    snprintf(what, sizeof what, "normalisation from axis %lld", (long long)n->a.axis);
    if (k <= 0 || og_extent(x, 1, k) != 1) return og_not_row(n, x, what, err);
    for (int32_t i = 1; i < 3; i++) {
        const tmlp_og_value *v = og_in(g, n, i);
        tmlp_status st = og_need_float_const(g, n, i, i == 1 ? "Scale" : "B", err);
        if (st != TMLP_OK) return st;
        if (v && tmlp_og_const_row(g, v, x->ndim, x->dims, x->width, NULL) < 0)
            return tmlp_error_set(err, TMLP_ERR_SHAPE, "%s: %s `%.60s` %s does not broadcast to "
                                  "the row of %s", tmlp_og_node_label(n, lab, sizeof lab),
                                  i == 1 ? "Scale" : "B", v->name, tmlp_og_shape_str(v, s, sizeof s),
                                  x->name);
    }
    return og_set_data(n, og_out(g, n), x->ndim, x->dims, err);
}

/* Flatten: [prod(d[:k]), prod(d[k:])] keeps the batch iff d[1..k) are all 1. */
static tmlp_status og_shape_flatten(const tmlp_og_node *n, const tmlp_og_value *x, int64_t *dims,
                                    int32_t *r)
{
    const int32_t k = og_axis(n->a.axis, x->ndim, 1);
    if (k <= 0 || og_extent(x, 1, k) != 1) return TMLP_ERR_UNSUPPORTED;
    dims[0] = TMLP_OG_BATCH;
    dims[1] = x->width;
    *r = 2;
    return TMLP_OK;
}

/* Reshape to a constant shape: axis 0 must be the batch (0 = copy it, -1 = inferred from
 * the row, or the file's fixed batch) and the rest must hold the row. */
static tmlp_status og_shape_reshape(const tmlp_og *g, const tmlp_og_node *n, const tmlp_og_value *x,
                                    int64_t *dims, int32_t *r)
{
    const tmlp_og_value *s = og_in(g, n, 1);
    if (!s->is_const || !s->i64 || s->ndim != 1 || s->numel < 1 || s->numel > TMLP_ONNX_MAX_DIMS)
        return TMLP_ERR_UNSUPPORTED;
    int64_t known = 1;
    int32_t infer = -1;
    for (int32_t i = 0; i < (int32_t)s->numel; i++) {
        int64_t v = s->i64[i];
        if (v == 0 && !n->a.allowzero) v = i < x->ndim ? x->dims[i] : -2;
        if (v == -1 && infer < 0 && i > 0) infer = i;
        else if (i == 0 && (v == TMLP_OG_BATCH || v == g->batch_fixed)) v = TMLP_OG_BATCH;
        else if (v < 1) return TMLP_ERR_UNSUPPORTED;
        dims[i] = v;
        if (i > 0 && i != infer && !tmlp_i64_mul(known, v, &known)) return TMLP_ERR_UNSUPPORTED;
    }
    if (s->i64[0] == -1 && infer >= 0) return TMLP_ERR_UNSUPPORTED; /* two unknowns */
    if (infer >= 0) {
        if (x->width % known) return TMLP_ERR_UNSUPPORTED;
        dims[infer] = x->width / known;
        known = x->width;
    }
    *r = (int32_t)s->numel;
    return dims[0] == TMLP_OG_BATCH && known == x->width ? TMLP_OK : TMLP_ERR_UNSUPPORTED;
}

/* Squeeze (axes, or every extent-1 axis) and Unsqueeze; axis 0 must stay the batch. */
static tmlp_status og_shape_squeeze(const tmlp_og *g, const tmlp_og_node *n, const tmlp_og_value *x,
                                    int64_t *dims, int32_t *r)
{
    int mark[2 * TMLP_ONNX_MAX_DIMS] = {0};
    const int unsq = n->op == TMLP_OG_UNSQUEEZE;
    const int32_t rank = unsq ? x->ndim + n->a.n_axes : x->ndim;
    if (rank > TMLP_ONNX_MAX_DIMS || (unsq && n->a.n_axes == 0)) return TMLP_ERR_UNSUPPORTED;
    for (int32_t i = 0; i < n->a.n_axes; i++) {
        int32_t k = og_axis(n->a.axes[i], rank, 0);
        if (k <= 0 || mark[k] || (!unsq && x->dims[k] != 1)) return TMLP_ERR_UNSUPPORTED;
        mark[k] = 1;
    }
    if (!unsq && n->a.n_axes == 0) { /* every extent-1 axis; a fixed batch of 1 too */
        if (g->batch_fixed == 1) return TMLP_ERR_UNSUPPORTED;
        for (int32_t d = 1; d < x->ndim; d++) mark[d] = x->dims[d] == 1;
    }
    *r = 0;
    for (int32_t d = 0, src = 0; d < rank; d++) {
        if (unsq) dims[(*r)++] = mark[d] ? 1 : x->dims[src++];
        else if (!mark[d]) dims[(*r)++] = x->dims[d];
    }
    return *r >= 1 ? TMLP_OK : TMLP_ERR_UNSUPPORTED;
}

/* A shape-only op on data: the result aliases the input when it keeps the batch and row. */
static tmlp_status og_infer_shape_op(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    const tmlp_og_value *x = og_in(g, n, 0);
    int64_t dims[TMLP_ONNX_MAX_DIMS];
    int32_t r = x->ndim;
    char lab[128], s[64];
    tmlp_status st = TMLP_OK;
    memcpy(dims, x->dims, sizeof dims);
    for (int32_t i = 1; i < n->n_in; i++) /* Reshape's shape, Squeeze's axes: constants */
        if (n->in[i] >= 0 && !g->values[n->in[i]].is_const)
            return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: input %d `%.60s` is computed "
                                  "at run time; tinymlp reads constant shapes",
                                  tmlp_og_node_label(n, lab, sizeof lab), (int)i,
                                  g->values[n->in[i]].name);
    if (n->op == TMLP_OG_CAST && n->a.to != TMLP_ONNX_FLOAT)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: Cast of the data to %s; tinymlp "
                              "computes in FLOAT", tmlp_og_node_label(n, lab, sizeof lab),
                              tmlp_onnx_dtype_name((int32_t)n->a.to));
    if (n->op == TMLP_OG_FLATTEN) st = og_shape_flatten(n, x, dims, &r);
    else if (n->op == TMLP_OG_RESHAPE) st = og_shape_reshape(g, n, x, dims, &r);
    else if (n->op == TMLP_OG_SQUEEZE || n->op == TMLP_OG_UNSQUEEZE) st = og_shape_squeeze(g, n, x, dims, &r);
    if (st != TMLP_OK)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: the result of `%.60s` %s would not "
                              "keep the batch as axis 0 with the row intact",
                              tmlp_og_node_label(n, lab, sizeof lab), x->name,
                              tmlp_og_shape_str(x, s, sizeof s));
    tmlp_og_value *y = og_out(g, n);
    st = og_set_data(n, y, r, dims, err);
    y->alias = n->in[0];
    n->state = TMLP_OG_ALIAS;
    return st;
}

/* Transpose of [N, C] (perm [1, 0] or none): an alias marked `transposed`, for a Gemm
 * with transA=1 (tmlp_og_infer refuses any other reader). */
static tmlp_status og_infer_transpose(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    const tmlp_og_value *x = og_in(g, n, 0);
    const int swap = !n->a.has_axes || (n->a.n_axes == 2 && n->a.axes[0] == 1 && n->a.axes[1] == 0);
    if (x->ndim != 2 || !swap) {
        char lab[128], s[64];
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: Transpose of `%.60s` %s moves the "
                              "batch axis; tinymlp reads it only as [N, C] -> [C, N] before a Gemm "
                              "with transA=1", tmlp_og_node_label(n, lab, sizeof lab), x->name,
                              tmlp_og_shape_str(x, s, sizeof s));
    }
    tmlp_og_value *y = og_out(g, n);
    tmlp_status st = og_set_data(n, y, 2, x->dims, err);
    y->transposed = !x->transposed;
    y->alias = n->in[0];
    n->state = TMLP_OG_ALIAS;
    return st;
}

/* A transposed value ([C, N]) feeds only a Gemm's A with transA=1 or another Transpose. */
static tmlp_status og_check_transposed(const tmlp_og *g, const tmlp_og_node *n, tmlp_error *err)
{
    for (int32_t i = 0; i < n->n_in; i++) {
        const tmlp_og_value *v = og_in(g, n, i);
        if (!v || v->is_const || !v->transposed) continue;
        if (n->op == TMLP_OG_TRANSPOSE || (n->op == TMLP_OG_GEMM && i == 0 && n->a.trans_a)) continue;
        char lab[128];
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: reads `%.60s`, a Transpose of the "
                              "batch axis; tinymlp reads that only as a Gemm's A with transA=1",
                              tmlp_og_node_label(n, lab, sizeof lab), v->name);
    }
    return TMLP_OK;
}

tmlp_status tmlp_og_infer(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    const tmlp_og_value *x = og_in(g, n, 0);
    tmlp_status st = og_check_transposed(g, n, err);
    if (st != TMLP_OK) return st;
    switch (n->op) {
    case TMLP_OG_TRANSPOSE: return og_infer_transpose(g, n, err);
    case TMLP_OG_GEMM: return og_infer_gemm(g, n, err);
    case TMLP_OG_MATMUL: return og_infer_matmul(g, n, err);
    case TMLP_OG_ADD: case TMLP_OG_SUB: case TMLP_OG_MUL: case TMLP_OG_DIV: case TMLP_OG_POW:
        return og_infer_binary(g, n, err);
    case TMLP_OG_SOFTMAX: case TMLP_OG_LOG_SOFTMAX: return og_infer_softmax(g, n, err);
    case TMLP_OG_REDUCE_MEAN: return og_infer_reduce(g, n, err);
    case TMLP_OG_BATCHNORM: return og_infer_batchnorm(g, n, err);
    case TMLP_OG_LAYERNORM: return og_infer_layernorm(g, n, err);
    case TMLP_OG_FLATTEN: case TMLP_OG_RESHAPE: case TMLP_OG_SQUEEZE: case TMLP_OG_UNSQUEEZE:
    case TMLP_OG_IDENTITY: case TMLP_OG_DROPOUT: case TMLP_OG_CAST:
        return og_infer_shape_op(g, n, err);
    default: /* elementwise unary: the shape of the input */
        return og_set_data(n, og_out(g, n), x->ndim, x->dims, err);
    }
}
