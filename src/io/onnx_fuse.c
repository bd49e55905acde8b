/* onnx_fuse.c — the fusion pass: a segment of several nodes (onnx_build.h) that spells an
 * activation or a normalisation in elementwise ops becomes that one layer.
 *
 * Two steps, both required:
 *  1. recognise — from the segment's ops and constants, not from their order (exporters
 *     commute operands and reorder products):
 *       silu       Sigmoid, Mul                           no constants
 *       gelu       Erf and Mul/Div/Add/Sub/Pow/Neg        scalar constants only
 *       gelu_tanh  Tanh and Mul/Div/Add/Sub/Pow/Neg       scalar constants only
 *       layernorm  2 ReduceMean, Sub, Pow 2 (or Mul), Add eps, Sqrt, Div (or Reciprocal,
 *                  Mul) [, Mul gamma] [, Add beta]        eps the Add after a ReduceMean
 *  2. verify — run the segment's program (the GRAPH interpreter, ONNX's float arithmetic)
 *     and the candidate layer (a throwaway model with the same options: same kernel, so
 *     the same vector code) on probe rows, and accept only if, in every row r and column j,
 *         |layer - program| <= 1e-6 * max(max_j |x_rj|, max_j |program_rj|) + 1e-20
 *     (NaN only where the program has NaN). The probes: rows uniform in [-4, 4],
 *     [-0.01, 0.01] (a LayerNorm's eps matters there), [-1000, 1000], [1, 100] and
 *     [-100, -1]; a row of zeros; a ramp from -8 to 8. An erf GELU and a tanh GELU differ
 *     by up to 2e-4 on [-4, 4], far above the bound; float evaluation of the decomposed
 *     ops stays within a few 1e-7 of it.
 * A candidate that fails the check leaves the segment to a GRAPH layer: correct, slower.
 */
#include "io/onnx_build.h"

#include "internal.h"

#include <math.h>
#include <string.h>

#define FUSE_RTOL 1e-6
#define FUSE_ATOL 1e-20

#define FUSE_NONE TMLP_ONNX_FUSE_NONE
#define FUSE_SILU TMLP_ONNX_FUSE_SILU
#define FUSE_GELU TMLP_ONNX_FUSE_GELU
#define FUSE_GELU_TANH TMLP_ONNX_FUSE_GELU_TANH
#define FUSE_LAYERNORM TMLP_ONNX_FUSE_LAYERNORM

typedef tmlp_onnx_fused og_candidate;

static const tmlp_og_node *og_seg_node(const tmlp_og *g, int32_t k)
{
    return &g->nodes[g->order[k]];
}

/* The op of the node producing data value v (through aliases), or -1. */
static int og_producer_op(const tmlp_og *g, int32_t v)
{
    int32_t p = g->values[tmlp_og_root(g, v)].producer;
    return p >= 0 ? g->nodes[p].op : -1;
}

/* The constant operand of binary node n, or NULL (also for other ops: ReduceMean's axes
 * are not an operand). */
static const tmlp_og_value *og_const_input(const tmlp_og *g, const tmlp_og_node *n)
{
    if (n->op < TMLP_OG_ADD || n->op > TMLP_OG_POW) return NULL;
    for (int32_t i = 0; i < n->n_in && i < 2; i++)
        if (n->in[i] >= 0 && g->values[n->in[i]].is_const) return &g->values[n->in[i]];
    return NULL;
}

/* ---- Recognise ------------------------------------------------------------------------- */

/* silu / gelu / gelu_tanh: elementwise ops of one width with scalar constants and one
 * transcendental core. */
static int og_match_activation(const tmlp_og *g, const tmlp_og_segment *s)
{
    const int64_t w = g->values[s->in].width;
    int erf = 0, tanh_ = 0, sig = 0, nodes = s->last - s->first + 1;
    if (g->values[s->out].width != w || nodes > 12) return FUSE_NONE;
    for (int32_t k = s->first; k <= s->last; k++) {
        const tmlp_og_node *n = og_seg_node(g, k);
        switch (n->op) {
        case TMLP_OG_ERF: erf++; break;
        case TMLP_OG_TANH: tanh_++; break;
        case TMLP_OG_SIGMOID: sig++; break;
        case TMLP_OG_ADD: case TMLP_OG_SUB: case TMLP_OG_MUL: case TMLP_OG_DIV: case TMLP_OG_POW:
        case TMLP_OG_NEG: break;
        default: return FUSE_NONE;
        }
        const tmlp_og_value *c = og_const_input(g, n);
        if ((c && c->numel != 1) || g->values[n->out[0]].width != w) return FUSE_NONE;
    }
    if (sig == 1 && !erf && !tanh_ && nodes == 2) return FUSE_SILU;
    if (erf == 1 && !tanh_ && !sig) return FUSE_GELU;
    if (tanh_ == 1 && !erf && !sig) return FUSE_GELU_TANH;
    return FUSE_NONE;
}

/* One node of a decomposed LayerNorm: counts ops, picks eps / gamma / beta. 1 = fits,
 * 0 = no match, -1 = out of memory. */
static int og_ln_node(tmlp_og *g, const tmlp_og_node *n, const tmlp_og_value *x, int *counts,
                      og_candidate *c)
{
    const tmlp_og_value *k = og_const_input(g, n);
    counts[n->op]++;
    switch (n->op) {
    case TMLP_OG_REDUCE_MEAN: case TMLP_OG_SUB: case TMLP_OG_SQRT: case TMLP_OG_DIV:
    case TMLP_OG_RECIPROCAL:
        return !k;
    case TMLP_OG_POW: return k && k->numel == 1 && k->f32[0] == 2.0f;
    case TMLP_OG_MUL:
        if (!k) return 1;
        if (c->gamma) return 0;
        return (c->gamma = tmlp_onnx_const_full_row(g, k, x)) != NULL ? 1 : -1;
    case TMLP_OG_ADD: {
        if (!k) return 0;
        const int32_t data = g->values[n->in[0]].is_const ? n->in[1] : n->in[0];
        if (og_producer_op(g, data) == TMLP_OG_REDUCE_MEAN) {
            if (c->eps != 0.0f || k->numel != 1) return 0;
            c->eps = k->f32[0];
            return c->eps > 0.0f;
        }
        if (c->beta) return 0;
        return (c->beta = tmlp_onnx_const_full_row(g, k, x)) != NULL ? 1 : -1;
    }
    default: return 0;
    }
}

/* FUSE_LAYERNORM with c's eps, gamma, beta; FUSE_NONE; or -1 (out of memory). */
static int og_match_layernorm(tmlp_og *g, const tmlp_og_segment *s, og_candidate *c)
{
    const tmlp_og_value *x = &g->values[s->in];
    int counts[TMLP_OG_N_OPS] = {0};
    if (g->values[s->out].width != x->width || s->last - s->first + 1 > 11) return FUSE_NONE;
    for (int32_t k = s->first; k <= s->last; k++) {
        int fits = og_ln_node(g, og_seg_node(g, k), x, counts, c);
        if (fits <= 0) return fits < 0 ? -1 : FUSE_NONE;
    }
    const int ok = counts[TMLP_OG_REDUCE_MEAN] == 2 && counts[TMLP_OG_SUB] == 1 &&
                   counts[TMLP_OG_SQRT] == 1 && c->eps > 0.0f &&
                   counts[TMLP_OG_DIV] + counts[TMLP_OG_RECIPROCAL] == 1;
    return ok ? FUSE_LAYERNORM : FUSE_NONE;
}

/* ---- Verify ---------------------------------------------------------------------------- */

tmlp_status tmlp_onnx_fuse_add(tmlp_model *m, const tmlp_onnx_fused *c, int64_t w,
                               const tmlp_allocator *a, tmlp_error *err)
{
    switch (c->kind) {
    case FUSE_SILU: return tmlp_model_add_silu(m, err);
    case FUSE_GELU: return tmlp_model_add_gelu(m, err);
    case FUSE_GELU_TANH: return tmlp_model_add_gelu_tanh(m, err);
    default: break;
    }
    float *ones = NULL, *zeros = NULL;
    if (!c->gamma || !c->beta) {
        ones = tmlp_mem_alloc(a, (size_t)w * 2 * sizeof *ones);
        if (!ones) return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory fusing a layernorm");
        zeros = ones + w;
        for (int64_t j = 0; j < w; j++) ones[j] = 1.0f, zeros[j] = 0.0f;
    }
    tmlp_status st = tmlp_model_add_layernorm(m, c->gamma ? c->gamma : ones,
                                              c->beta ? c->beta : zeros, c->eps, err);
    tmlp_mem_free(a, ones);
    return st;
}

/* Probe rows (see the top): 7 families, `per` rows each, of width w. */
static void og_probes(float *x, int64_t per, int64_t w)
{
    static const float lo[7] = {-4.0f, -0.01f, -1000.0f, 1.0f, -100.0f, 0.0f, -8.0f};
    static const float hi[7] = {4.0f, 0.01f, 1000.0f, 100.0f, -1.0f, 0.0f, 8.0f};
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int f = 0; f < 7; f++)
        for (int64_t r = 0; r < per; r++)
            for (int64_t j = 0; j < w; j++) {
                state = state * 6364136223846793005ull + 1442695040888963407ull;
                double u = (double)(state >> 11) / 9007199254740992.0; /* [0, 1) */
                if (f == 6) u = w > 1 ? (double)j / (double)(w - 1) : 0.5;
                x[(f * per + r) * w + j] = (float)(lo[f] + u * (hi[f] - lo[f]));
            }
}

/* Does y (the layer) agree with ref (the program) on rows x, within the bound above? */
static int og_agree(const float *x, const float *y, const float *ref, int64_t rows, int64_t w)
{
    for (int64_t r = 0; r < rows; r++) {
        double scale = 0.0;
        for (int64_t j = 0; j < w; j++) {
            scale = fmax(scale, fabs(x[r * w + j]));
            if (isfinite(ref[r * w + j])) scale = fmax(scale, fabs(ref[r * w + j]));
        }
        const double tol = FUSE_RTOL * scale + FUSE_ATOL;
        for (int64_t j = 0; j < w; j++) {
            const float a = y[r * w + j], b = ref[r * w + j];
            if (isnan(b) ? !isnan(a) : !(fabs((double)a - (double)b) <= tol || a == b)) return 0;
        }
    }
    return 1;
}

/* The candidate alone in a throwaway model with options o, run on rows x into y. */
static tmlp_status og_run_candidate(const og_candidate *c, const tmlp_model_options *o,
                                    const float *x, float *y, int64_t rows, int64_t w,
                                    int *built, tmlp_error *err)
{
    tmlp_model_options mo = *o;
    tmlp_model *m = NULL;
    tmlp_session *s = NULL;
    tmlp_tensor in = tmlp_tensor_2d(x, rows, w), out;
    tmlp_error e = {TMLP_OK, ""};
    *built = 0;
    tmlp_status st = tmlp_model_create(w, &mo, &m, err);
    if (st != TMLP_OK) return st;
    st = tmlp_onnx_fuse_add(m, c, w, &mo.allocator, &e);
    *built = st == TMLP_OK;
    if (st == TMLP_ERR_ARG) st = TMLP_OK; /* parameters the layer refuses: no fusion */
    else if (st != TMLP_OK) tmlp_error_set(err, st, "%s", e.message);
    if (*built) st = tmlp_session_create(m, rows, &s, err);
    if (*built && st == TMLP_OK) st = tmlp_session_forward(s, &in, &out, err);
    if (*built && st == TMLP_OK) memcpy(y, out.data, (size_t)(rows * w) * sizeof *y);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    return st;
}

/* 1 in *ok when candidate c computes segment s (see the top). */
static tmlp_status og_verify(tmlp_og *g, const tmlp_og_segment *s, const og_candidate *c,
                             const tmlp_model_options *o, int *ok, tmlp_error *err)
{
    const int64_t w = g->values[s->in].width;
    const int64_t per = w >= 64 ? 1 : (64 + w - 1) / w, rows = 7 * per;
    const tmlp_allocator *a = &o->allocator;
    size_t n;
    *ok = 0;
    if (!tmlp_size_mul((size_t)(rows * w), 3 * sizeof(float), &n))
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: a segment too wide to check");
    float *x = tmlp_mem_alloc(a, n), *y = x ? x + rows * w : NULL, *ref = y ? y + rows * w : NULL;
    if (!x) return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory checking a fusion");
    og_probes(x, per, w);
    int built = 0;
    tmlp_status st = tmlp_onnx_run_segment(g, s, a, x, ref, rows, err);
    if (st == TMLP_OK) st = og_run_candidate(c, o, x, y, rows, w, &built, err);
    if (st == TMLP_OK && built) *ok = og_agree(x, y, ref, rows, w);
    tmlp_mem_free(a, x);
    return st;
}

tmlp_status tmlp_onnx_fuse_find(tmlp_og *g, const tmlp_og_segment *s, const tmlp_model_options *o,
                                tmlp_onnx_fused *f, tmlp_error *err)
{
    memset(f, 0, sizeof *f);
    if (s->last - s->first + 1 < 2) return TMLP_OK;
    f->kind = og_match_activation(g, s);
    if (f->kind == FUSE_NONE) f->kind = og_match_layernorm(g, s, f);
    if (f->kind < 0) {
        f->kind = FUSE_NONE;
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory matching a layernorm");
    }
    if (f->kind == FUSE_NONE) return TMLP_OK;
    int ok = 0;
    tmlp_status st = og_verify(g, s, f, o, &ok, err);
    if (st != TMLP_OK || !ok) f->kind = FUSE_NONE;
    return st;
}
