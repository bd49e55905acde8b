/* onnx_fold.c — evaluate at load a node whose inputs are all constant: Constant (value,
 * value_float(s), value_int(s)), Identity, Dropout, Cast, Flatten, Reshape, Squeeze,
 * Unsqueeze, Transpose, and the elementwise ops (the same float functions the GRAPH interpreter runs,
 * graph.h, so a folded value equals what running the node would give). Exporters write
 * such nodes for constants (Constant(1.41421) before a Div), for weights stored in another
 * type (FLOAT16 initializer -> Cast to FLOAT) and for shapes (Constant [-1, 784] ->
 * Reshape). A constant node of another op (a Gemm of two constants) is refused.
 *
 * Shape ops share the input's numbers (no copy); new numbers live in tmlp_og_alloc blocks.
 * Broadcasting is numpy's; a result may not be larger than its larger operand unless it
 * is small (2^20 elements), so no file can make the loader allocate more than it holds.
 */
#include "io/onnx_graph.h"

#include "internal.h"
#include "layers/graph.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define OG_FOLD_SMALL (1 << 20)

static tmlp_status og_fold_refuse(const tmlp_og_node *n, tmlp_status code, const char *why,
                                  tmlp_error *err)
{
    char lab[128];
    return tmlp_error_set(err, code, "%s on constants: %s", tmlp_og_node_label(n, lab, sizeof lab),
                          why);
}

static tmlp_status og_nomem(tmlp_error *err)
{
    return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory for a folded constant");
}

/* y takes x's numbers and type with the shape (ndim, dims). */
static void og_const_share(tmlp_og_value *y, const tmlp_og_value *x, int32_t ndim, const int64_t *dims)
{
    y->is_const = 1;
    y->known = 1;
    y->ndim = ndim;
    memset(y->dims, 0, sizeof y->dims);
    memcpy(y->dims, dims, (size_t)ndim * sizeof *dims);
    y->data_type = x->data_type;
    y->numel = x->numel;
    y->f32 = x->f32;
    y->i64 = x->i64;
}

/* ---- Constant --------------------------------------------------------------------------- */

static tmlp_status og_fold_constant(const tmlp_og_node *n, tmlp_og_value *y, tmlp_error *err)
{
    const tmlp_onnx_attr *at = NULL;
    for (int64_t i = 0; i < n->ir->n_attrs; i++) {
        const tmlp_onnx_attr *c = &n->ir->attrs[i];
        if (strncmp(c->name, "value", 5) && strcmp(c->name, "sparse_value")) continue;
        if (at) return og_fold_refuse(n, TMLP_ERR_FORMAT, "more than one value attribute", err);
        at = c;
    }
    if (!at) return og_fold_refuse(n, TMLP_ERR_FORMAT, "no value attribute", err);
    tmlp_onnx_tensor t;
    memset(&t, 0, sizeof t);
    t.numel = 1;
    if (!strcmp(at->name, "value") && at->type == TMLP_ONNX_ATTR_TENSOR) {
        t = *at->t;
    } else if (!strcmp(at->name, "value_float") && at->type == TMLP_ONNX_ATTR_FLOAT) {
        t.data_type = TMLP_ONNX_FLOAT;
        t.f32 = (float *)&at->f;
    } else if (!strcmp(at->name, "value_floats") && at->type == TMLP_ONNX_ATTR_FLOATS) {
        t.data_type = TMLP_ONNX_FLOAT;
        t.ndim = 1;
        t.dims[0] = t.numel = at->n;
        t.f32 = at->floats;
    } else if (!strcmp(at->name, "value_int") && at->type == TMLP_ONNX_ATTR_INT) {
        t.data_type = TMLP_ONNX_INT64;
        t.i64 = (int64_t *)&at->i;
    } else if (!strcmp(at->name, "value_ints") && at->type == TMLP_ONNX_ATTR_INTS) {
        t.data_type = TMLP_ONNX_INT64;
        t.ndim = 1;
        t.dims[0] = t.numel = at->n;
        t.i64 = at->ints;
    } else {
        char why[96];
        snprintf(why, sizeof why, "attribute `%.40s` is not a numeric value tinymlp reads", at->name);
        return og_fold_refuse(n, TMLP_ERR_UNSUPPORTED, why, err);
    }
    tmlp_og_value src;
    memset(&src, 0, sizeof src);
    src.data_type = t.data_type;
    src.numel = t.numel;
    src.f32 = t.f32;
    src.i64 = t.i64;
    og_const_share(y, &src, t.ndim, t.dims);
    return TMLP_OK;
}

/* ---- Cast --------------------------------------------------------------------------------- */

/* Round a float to the nearest IEEE binary16 value (ties to even), as a float. */
static float og_round_f16(float x)
{
    if (!isfinite(x) || x == 0.0f) return x;
    const float ax = fabsf(x);
    if (ax >= 65520.0f) return copysignf(INFINITY, x); /* beyond the largest half + half ulp */
    int e;
    frexpf(ax, &e);                         /* ax = m 2^e, m in [0.5, 1) */
    int q = e - 11 < -24 ? -24 : e - 11;   /* ulp exponent: 10 fraction bits, subnormals 2^-24 */
    const float ulp = ldexpf(1.0f, q);
    return copysignf(nearbyintf(ax / ulp) * ulp, x); /* exact: ax / ulp < 2^24 */
}

static float og_round_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if (isnan(x)) u |= 0x00400000u;
    else u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

static int og_is_float_type(int64_t t)
{
    return t == TMLP_ONNX_FLOAT || t == TMLP_ONNX_DOUBLE || t == TMLP_ONNX_FLOAT16 ||
           t == TMLP_ONNX_BFLOAT16;
}

/* An integer of type t from v, wrapping as the ONNX Cast rules say (two's complement). */
static int64_t og_wrap_int(int64_t v, int64_t t)
{
    switch (t) {
    case TMLP_ONNX_BOOL: return v != 0;
    case TMLP_ONNX_INT8: return (int8_t)v;
    case TMLP_ONNX_UINT8: return (uint8_t)v;
    case TMLP_ONNX_INT16: return (int16_t)v;
    case TMLP_ONNX_UINT16: return (uint16_t)v;
    case TMLP_ONNX_INT32: return (int32_t)v;
    case TMLP_ONNX_UINT32: return (uint32_t)v;
    default: return v;
    }
}

static tmlp_status og_fold_cast(tmlp_og *g, const tmlp_og_node *n, const tmlp_og_value *x,
                                tmlp_og_value *y, tmlp_error *err)
{
    const int64_t to = n->a.to, cnt = x->numel;
    const int is_int = to == TMLP_ONNX_INT64 || to == TMLP_ONNX_INT32 || to == TMLP_ONNX_INT16 ||
                       to == TMLP_ONNX_INT8 || to == TMLP_ONNX_UINT8 || to == TMLP_ONNX_UINT16 ||
                       to == TMLP_ONNX_UINT32 || to == TMLP_ONNX_BOOL;
    if (!is_int && !og_is_float_type(to))
        return og_fold_refuse(n, TMLP_ERR_UNSUPPORTED, "Cast to a type tinymlp does not fold", err);
    og_const_share(y, x, x->ndim, x->dims);
    y->data_type = (int32_t)to;
    void *buf = tmlp_og_alloc(g, (size_t)cnt * 8);
    if (!buf) return og_nomem(err);
    if (!is_int) {
        float *f = buf;
        for (int64_t i = 0; i < cnt; i++) {
            float v = x->f32 ? x->f32[i] : (float)x->i64[i];
            f[i] = to == TMLP_ONNX_FLOAT16 ? og_round_f16(v) : to == TMLP_ONNX_BFLOAT16 ? og_round_bf16(v) : v;
        }
        y->f32 = f;
        y->i64 = NULL;
        return TMLP_OK;
    }
    int64_t *q = buf;
    for (int64_t i = 0; i < cnt; i++) {
        if (x->i64) {
            q[i] = og_wrap_int(x->i64[i], to);
            continue;
        }
        const float v = x->f32[i];
        if (to == TMLP_ONNX_BOOL) q[i] = v != 0.0f;
        else if (!(fabsf(v) < 9.2e18f))
            return og_fold_refuse(n, TMLP_ERR_UNSUPPORTED, "a value is NaN or out of range for an "
                                  "integer type", err);
        else q[i] = og_wrap_int((int64_t)v, to);
    }
    y->i64 = q;
    y->f32 = NULL;
    return TMLP_OK;
}

/* ---- Shape ops ------------------------------------------------------------------------ */

/* Normalise axis k of rank r (k in [-r, r)); -1 if out of range. */
static int32_t og_fold_axis(int64_t k, int32_t r)
{
    if (k < 0) k += r;
    return k >= 0 && k < r ? (int32_t)k : -1;
}

/* numpy.reshape with ONNX's 0 (copy, unless allowzero) and -1 (infer). */
static int og_reshape_dims(const tmlp_og_value *x, const tmlp_og_value *s, int64_t allowzero,
                           int64_t *dims, int32_t *r)
{
    if (!s->i64 || s->ndim != 1 || s->numel > TMLP_ONNX_MAX_DIMS) return -1;
    int64_t known = 1;
    int32_t infer = -1;
    for (int32_t i = 0; i < (int32_t)s->numel; i++) {
        int64_t v = s->i64[i];
        if (v == 0 && !allowzero) v = i < x->ndim ? x->dims[i] : -2;
        if (v == -1 && infer < 0) infer = i;
        else if (v < 0 || !tmlp_i64_mul(known, v, &known)) return -1;
        dims[i] = v;
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known) return -1;
        dims[infer] = x->numel / known;
        known = x->numel;
    }
    *r = (int32_t)s->numel;
    return known == x->numel ? 0 : -1;
}

static int og_squeeze_dims(const tmlp_og_node *n, const tmlp_og_value *x, int64_t *dims, int32_t *r)
{
    const int unsq = n->op == TMLP_OG_UNSQUEEZE;
    const int32_t rank = unsq ? x->ndim + n->a.n_axes : x->ndim;
    int mark[2 * TMLP_ONNX_MAX_DIMS] = {0};
    if (rank > TMLP_ONNX_MAX_DIMS || (unsq && n->a.n_axes == 0)) return -1;
    for (int32_t i = 0; i < n->a.n_axes; i++) {
        int32_t k = og_fold_axis(n->a.axes[i], rank);
        if (k < 0 || mark[k] || (!unsq && x->dims[k] != 1)) return -1;
        mark[k] = 1;
    }
    if (!unsq && n->a.n_axes == 0)
        for (int32_t d = 0; d < x->ndim; d++) mark[d] = x->dims[d] == 1;
    *r = 0;
    for (int32_t d = 0, src = 0; d < rank; d++) {
        if (unsq) dims[(*r)++] = mark[d] ? 1 : x->dims[src++];
        else if (!mark[d]) dims[(*r)++] = x->dims[d];
    }
    return 0;
}

static tmlp_status og_fold_shape(const tmlp_og *g, const tmlp_og_node *n, const tmlp_og_value *x,
                                 tmlp_og_value *y, tmlp_error *err)
{
    int64_t dims[TMLP_ONNX_MAX_DIMS] = {0};
    int32_t r = x->ndim;
    int bad = 0;
    memcpy(dims, x->dims, sizeof dims);
    if (n->op == TMLP_OG_FLATTEN) {
        int64_t k = n->a.axis < 0 ? n->a.axis + x->ndim : n->a.axis, outer = 1;
        bad = k < 0 || k > x->ndim;
        for (int32_t d = 0; !bad && d < k; d++) outer *= x->dims[d];
        dims[0] = outer;
        dims[1] = outer ? x->numel / outer : 0;
        r = 2;
    } else if (n->op == TMLP_OG_RESHAPE) {
        bad = og_reshape_dims(x, &g->values[n->in[1]], n->a.allowzero, dims, &r);
    } else if (n->op == TMLP_OG_SQUEEZE || n->op == TMLP_OG_UNSQUEEZE) {
        bad = og_squeeze_dims(n, x, dims, &r);
    }
    if (bad) return og_fold_refuse(n, TMLP_ERR_FORMAT, "the new shape does not fit the tensor", err);
    og_const_share(y, x, r, dims);
    return TMLP_OK;
}

/* Transpose: out dims[d] = in dims[perm[d]] (perm default: reversed), numbers permuted. */
static tmlp_status og_fold_transpose(tmlp_og *g, const tmlp_og_node *n, const tmlp_og_value *x,
                                     tmlp_og_value *y, tmlp_error *err)
{
    int32_t perm[TMLP_ONNX_MAX_DIMS], seen[TMLP_ONNX_MAX_DIMS] = {0};
    int64_t dims[TMLP_ONNX_MAX_DIMS] = {0}, in_stride[TMLP_ONNX_MAX_DIMS];
    const int32_t r = x->ndim;
    if (n->a.has_axes && n->a.n_axes != r)
        return og_fold_refuse(n, TMLP_ERR_FORMAT, "perm does not match the rank", err);
    for (int32_t d = 0; d < r; d++) {
        int64_t p = n->a.has_axes ? n->a.axes[d] : r - 1 - d;
        if (p < 0 || p >= r || seen[p]++) return og_fold_refuse(n, TMLP_ERR_FORMAT, "perm is not a permutation", err);
        perm[d] = (int32_t)p;
        dims[d] = x->dims[p];
    }
    int64_t stride = 1;
    for (int32_t d = r - 1; d >= 0; d--) in_stride[d] = stride, stride *= x->dims[d];
    const size_t size = x->f32 ? sizeof(float) : sizeof(int64_t);
    unsigned char *buf = tmlp_og_alloc(g, (size_t)x->numel * size);
    if (!buf) return og_nomem(err);
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t rem = i, src = 0;
        for (int32_t d = r - 1; d >= 0; d--) {
            src += (rem % dims[d]) * in_stride[perm[d]];
            rem /= dims[d];
        }
        memcpy(buf + (size_t)i * size, x->f32 ? (const void *)&x->f32[src] : (const void *)&x->i64[src], size);
    }
    og_const_share(y, x, r, dims);
    y->f32 = x->f32 ? (const float *)buf : NULL;
    y->i64 = x->f32 ? NULL : (const int64_t *)buf;
    return TMLP_OK;
}

/* ---- Arithmetic ------------------------------------------------------------------------- */

/* The graph.h op that evaluates an ONNX elementwise op (LeakyRelu and Gelu need attrs). */
static int og_gop(const tmlp_og_node *n)
{
    switch (n->op) {
    case TMLP_OG_ADD: return TMLP_GOP_ADD;
    case TMLP_OG_SUB: return TMLP_GOP_SUB;
    case TMLP_OG_MUL: return TMLP_GOP_MUL;
    case TMLP_OG_DIV: return TMLP_GOP_DIV;
    case TMLP_OG_POW: return TMLP_GOP_POW;
    case TMLP_OG_SQRT: return TMLP_GOP_SQRT;
    case TMLP_OG_EXP: return TMLP_GOP_EXP;
    case TMLP_OG_LOG: return TMLP_GOP_LOG;
    case TMLP_OG_NEG: return TMLP_GOP_NEG;
    case TMLP_OG_RECIPROCAL: return TMLP_GOP_RECIPROCAL;
    case TMLP_OG_ERF: return TMLP_GOP_ERF;
    case TMLP_OG_RELU: return TMLP_GOP_RELU;
    case TMLP_OG_LEAKY_RELU: return TMLP_GOP_LEAKY_RELU;
    case TMLP_OG_SIGMOID: return TMLP_GOP_SIGMOID;
    case TMLP_OG_TANH: return TMLP_GOP_TANH;
    case TMLP_OG_GELU: return n->a.approx ? TMLP_GOP_GELU_TANH : TMLP_GOP_GELU;
    default: return -1;
    }
}

/* Flat index into operand v (rank vr, right-aligned in rank r) of result element i. */
static int64_t og_bcast_index(const tmlp_og_value *v, const int64_t *dims, int32_t r, int64_t i)
{
    int64_t idx = 0, stride = 1;
    for (int32_t d = r - 1; d >= 0; d--) {
        const int64_t pos = i % dims[d];
        i /= dims[d];
        const int32_t j = d - (r - v->ndim);
        if (j < 0) break;
        if (v->dims[j] != 1) idx += pos * stride;
        stride *= v->dims[j];
    }
    return idx;
}

static tmlp_status og_fold_binary(tmlp_og *g, const tmlp_og_node *n, const tmlp_og_value *a,
                                  const tmlp_og_value *b, tmlp_og_value *y, tmlp_error *err)
{
    const int32_t r = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t dims[TMLP_ONNX_MAX_DIMS], cnt = 1;
    for (int32_t d = 0; d < r; d++) {
        int32_t ja = d - (r - a->ndim), jb = d - (r - b->ndim);
        int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
        if (da != db && da != 1 && db != 1)
            return og_fold_refuse(n, TMLP_ERR_SHAPE, "the operands do not broadcast", err);
        dims[d] = da == 1 ? db : da;
        if (!tmlp_i64_mul(cnt, dims[d], &cnt)) cnt = INT64_MAX;
    }
    if (cnt > OG_FOLD_SMALL && cnt > a->numel && cnt > b->numel)
        return og_fold_refuse(n, TMLP_ERR_UNSUPPORTED, "the result would be larger than both "
                              "operands", err);
    float *f = tmlp_og_alloc(g, (size_t)cnt * sizeof *f);
    if (!f) return og_nomem(err);
    const int op = og_gop(n);
    for (int64_t i = 0; i < cnt; i++)
        f[i] = tmlp_gop_binary(op, a->f32[og_bcast_index(a, dims, r, i)],
                               b->f32[og_bcast_index(b, dims, r, i)]);
    og_const_share(y, a, r, dims);
    y->data_type = TMLP_ONNX_FLOAT;
    y->numel = cnt;
    y->f32 = f;
    y->i64 = NULL;
    return TMLP_OK;
}

static tmlp_status og_fold_unary(tmlp_og *g, const tmlp_og_node *n, const tmlp_og_value *x,
                                 tmlp_og_value *y, tmlp_error *err)
{
    float *f = tmlp_og_alloc(g, (size_t)x->numel * sizeof *f);
    if (!f) return og_nomem(err);
    const int op = og_gop(n);
    for (int64_t i = 0; i < x->numel; i++) f[i] = tmlp_gop_unary(op, x->f32[i], n->a.alpha);
    og_const_share(y, x, x->ndim, x->dims);
    y->data_type = TMLP_ONNX_FLOAT;
    y->f32 = f;
    return TMLP_OK;
}

tmlp_status tmlp_og_fold(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    tmlp_og_value *y = &g->values[n->out[0]];
    const tmlp_og_value *x = n->n_in > 0 && n->in[0] >= 0 ? &g->values[n->in[0]] : NULL;
    const tmlp_og_value *b = n->n_in > 1 && n->in[1] >= 0 ? &g->values[n->in[1]] : NULL;
    n->state = TMLP_OG_FOLDED;
    switch (n->op) {
    case TMLP_OG_CONSTANT: return og_fold_constant(n, y, err);
    case TMLP_OG_IDENTITY: case TMLP_OG_DROPOUT: og_const_share(y, x, x->ndim, x->dims); return TMLP_OK;
    case TMLP_OG_CAST: return og_fold_cast(g, n, x, y, err);
    case TMLP_OG_FLATTEN: case TMLP_OG_RESHAPE: case TMLP_OG_SQUEEZE: case TMLP_OG_UNSQUEEZE:
        return og_fold_shape(g, n, x, y, err);
    case TMLP_OG_TRANSPOSE: return og_fold_transpose(g, n, x, y, err);
    default: break;
    }
    if (og_gop(n) < 0)
        return og_fold_refuse(n, TMLP_ERR_UNSUPPORTED, "tinymlp folds only Constant, Cast, shape "
                              "and elementwise ops", err);
    if (!x->f32 || (b && !b->f32))
        return og_fold_refuse(n, TMLP_ERR_UNSUPPORTED, "integer arithmetic is not folded", err);
    return b ? og_fold_binary(g, n, x, b, y, err) : og_fold_unary(g, n, x, y, err);
}
