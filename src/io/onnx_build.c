/* onnx_build.c — a tmlp_model from a parsed ONNX model: normalise the graph
 * (onnx_graph.h), cut it into segments, and turn each segment into layers (onnx_build.h
 * says which). The model is built through the same builders a C program calls
 * (tmlp_model_add_dense, _gelu, ...), so an imported model fuses its activations into the
 * Dense epilogues and folds its BatchNorms exactly like one built by hand.
 *
 * Cutting. Along g->order, a value is live from its producer to its last reader (the
 * graph output: to the end). After node k, if exactly one value is live, every later node
 * depends on the earlier ones only through it: a cut. Example, torch's GELU after a Gemm:
 *     Gemm | Div Erf Add Mul | Mul | Gemm      (h stays live until the Mul that reads it)
 * gives four segments: dense, two that the fusion pass takes together as a gelu, dense.
 */
#include "io/onnx_build.h"

#include "internal.h"
#include "layers/layer.h"
#include "layers/model_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static tmlp_status ob_nomem(tmlp_error *err)
{
    return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory building the model");
}

/* ---- Segments ----------------------------------------------------------------------- */

/* Cut g->order into segments (see the top); *segs holds up to n_order entries. */
static tmlp_status ob_segments(tmlp_og *g, const tmlp_allocator *a, tmlp_og_segment **segs,
                               int32_t *n_segs, tmlp_error *err)
{
    const int32_t n = g->n_order;
    *n_segs = 0;
    int32_t *last = tmlp_mem_alloc(a, (size_t)g->n_values * sizeof *last);
    int32_t *dies = tmlp_mem_calloc(a, (size_t)n + 1, sizeof *dies);
    *segs = tmlp_mem_calloc(a, (size_t)n + 1, sizeof **segs);
    if (!last || !dies || !*segs) {
        tmlp_mem_free(a, last);
        tmlp_mem_free(a, dies);
        tmlp_mem_free(a, *segs);
        *segs = NULL;
        return ob_nomem(err);
    }
    for (int32_t v = 0; v < g->n_values; v++) last[v] = -1;
    for (int32_t k = 0; k < n; k++) {
        const tmlp_og_node *node = &g->nodes[g->order[k]];
        for (int32_t i = 0; i < node->n_in; i++)
            if (node->in[i] >= 0 && !g->values[node->in[i]].is_const) last[tmlp_og_root(g, node->in[i])] = k;
    }
    last[tmlp_og_root(g, g->output)] = n; /* read after the end */
    for (int32_t v = 0; v < g->n_values; v++)
        if (last[v] >= 0 && last[v] < n) dies[last[v]]++;
    int32_t live = 1, start = 0, in = tmlp_og_root(g, g->input);
    *n_segs = 0;
    for (int32_t k = 0; k < n; k++) {
        live += 1 - dies[k];
        if (live != 1) continue;
        tmlp_og_segment *s = &(*segs)[(*n_segs)++];
        s->first = start;
        s->last = k;
        s->in = in;
        s->out = in = tmlp_og_root(g, g->nodes[g->order[k]].out[0]);
        start = k + 1;
    }
    tmlp_mem_free(a, last);
    tmlp_mem_free(a, dies);
    return TMLP_OK;
}

/* ---- Checks before building ------------------------------------------------------------ */

/* Every float constant a running node reads is finite, unless the options allow others
 * (the safetensors loader's rule for weights). */
static tmlp_status ob_check_finite(const tmlp_og *g, const tmlp_model_options *o, tmlp_error *err)
{
    if (o->allow_nonfinite) return TMLP_OK;
    for (int32_t k = 0; k < g->n_order; k++) {
        const tmlp_og_node *n = &g->nodes[g->order[k]];
        for (int32_t i = 0; i < n->n_in; i++) {
            const tmlp_og_value *c = n->in[i] >= 0 ? &g->values[n->in[i]] : NULL;
            if (!c || !c->is_const || !c->f32) continue;
            for (int64_t j = 0; j < c->numel; j++)
                if (!isfinite(c->f32[j]))
                    return tmlp_error_set(err, TMLP_ERR_FORMAT,
                                          "tensor `%.60s`: element %lld is %s (non-finite weights "
                                          "are refused; set allow_nonfinite in tmlp_model_options "
                                          "to load anyway)", c->name, (long long)j,
                                          isnan(c->f32[j]) ? "NaN" : c->f32[j] > 0 ? "+Inf" : "-Inf");
        }
    }
    return TMLP_OK;
}

/* ---- Segments to layers ---------------------------------------------------------------- */

static tmlp_status ob_add_graph(tmlp_og *g, const tmlp_og_segment *s, const tmlp_model_options *o,
                                tmlp_model *m, tmlp_error *err)
{
    tmlp_gprogram *p;
    tmlp_layer *l;
    tmlp_status st = tmlp_onnx_compile(g, s, &o->allocator, &p, err);
    if (st == TMLP_OK) st = tmlp_graph_create(&o->allocator, p, &l, err);
    return st == TMLP_OK ? tmlp_model_add_layer(m, l, err) : st;
}

/* The one node of a one-node segment, or NULL. */
static const tmlp_og_node *ob_single(const tmlp_og *g, const tmlp_og_segment *s)
{
    return s && s->first == s->last ? &g->nodes[g->order[s->first]] : NULL;
}

/* Is segment `next` a bias for the dense whose output is y: one Add (either operand order)
 * or Sub (data first) of a constant over y that keeps y's row? */
static int ob_is_bias(const tmlp_og *g, const tmlp_og_segment *next, int32_t y)
{
    const tmlp_og_node *n = ob_single(g, next);
    if (!n || (n->op != TMLP_OG_ADD && n->op != TMLP_OG_SUB)) return 0;
    const int c_first = g->values[n->in[0]].is_const;
    const int32_t data = c_first ? n->in[1] : n->in[0], cst = c_first ? n->in[0] : n->in[1];
    if (n->op == TMLP_OG_SUB && c_first) return 0;
    return g->values[cst].is_const && tmlp_og_root(g, data) == y &&
           g->values[tmlp_og_root(g, n->out[0])].width == g->values[y].width;
}

/* Gemm / MatMul -> dense; `bias` (or NULL) is the bias segment the plan gave it. */
static tmlp_status ob_add_dense(tmlp_og *g, const tmlp_og_segment *s, const tmlp_og_segment *bias,
                                tmlp_model *m, tmlp_error *err)
{
    const tmlp_og_node *n = ob_single(g, s);
    float *w, *b;
    int64_t out, in;
    tmlp_status st = tmlp_onnx_dense_params(g, n, &w, &b, &out, &in, err);
    if (st != TMLP_OK) return st;
    if (bias) {
        const tmlp_og_node *a = ob_single(g, bias);
        const int c_first = g->values[a->in[0]].is_const;
        const float sign = a->op == TMLP_OG_SUB ? -1.0f : 1.0f, *row;
        row = tmlp_onnx_const_full_row(g, &g->values[a->in[c_first ? 0 : 1]], &g->values[s->out]);
        const int fresh = b == NULL;
        if (fresh) b = tmlp_og_alloc(g, (size_t)out * sizeof *b);
        if (!row || !b) return ob_nomem(err);
        for (int64_t j = 0; j < out; j++) b[j] = (fresh ? 0.0f : b[j]) + sign * row[j];
    }
    return tmlp_model_add_dense(m, in, out, w, b, err);
}

/* The result of a builder that may refuse its parameters (TMLP_ERR_ARG: *done = 0, the
 * caller falls back to a GRAPH layer that evaluates them as ONNX does). */
static tmlp_status ob_soft(tmlp_status st, const tmlp_error *e, int *done, tmlp_error *err)
{
    *done = st != TMLP_ERR_ARG;
    if (st == TMLP_OK || st == TMLP_ERR_ARG) return TMLP_OK;
    return tmlp_error_set(err, st, "%s", e->message);
}

/* A one-node segment whose op is a built-in layer: that layer (TMLP_ERR_ARG from its
 * builder, e.g. a LayerNormalization epsilon of 0, leaves *done 0: the caller falls back
 * to a GRAPH layer). */
static tmlp_status ob_add_single(tmlp_og *g, const tmlp_og_segment *s, const tmlp_og_segment *bias,
                                 tmlp_model *m, int *done, tmlp_error *err)
{
    const tmlp_og_node *n = ob_single(g, s);
    const tmlp_og_value *x = &g->values[n->in[0]];
    tmlp_status st = TMLP_OK;
    tmlp_error e = {TMLP_OK, ""};
    *done = 1;
    switch (n->op) {
    case TMLP_OG_GEMM: case TMLP_OG_MATMUL: return ob_add_dense(g, s, bias, m, err);
    case TMLP_OG_RELU: return tmlp_model_add_relu(m, err);
    case TMLP_OG_LEAKY_RELU: return tmlp_model_add_leaky_relu(m, n->a.alpha, err);
    case TMLP_OG_SIGMOID: return tmlp_model_add_sigmoid(m, err);
    case TMLP_OG_TANH: return tmlp_model_add_tanh(m, err);
    case TMLP_OG_GELU: return n->a.approx ? tmlp_model_add_gelu_tanh(m, err) : tmlp_model_add_gelu(m, err);
    case TMLP_OG_SOFTMAX: return tmlp_model_add_softmax(m, err);
    case TMLP_OG_LOG_SOFTMAX: return tmlp_model_add_log_softmax(m, err);
    case TMLP_OG_BATCHNORM: {
        const float *r[4]; /* scale, B, mean, var */
        if (x->ndim != 2) break;
        st = tmlp_onnx_bn_rows(g, n, r, err);
        if (st != TMLP_OK) return st;
        return ob_soft(tmlp_model_add_batchnorm(m, r[2], r[3], r[0], r[1], n->a.eps, &e), &e, done, err);
    }
    case TMLP_OG_LAYERNORM: {
        const float *gam = tmlp_onnx_const_full_row(g, &g->values[n->in[1]], x);
        const int has_b = n->n_in > 2 && n->in[2] >= 0;
        const float *bet = has_b ? tmlp_onnx_const_full_row(g, &g->values[n->in[2]], x) : NULL;
        float *zeros = has_b ? NULL : tmlp_og_alloc(g, (size_t)x->width * sizeof *zeros);
        if (!gam || !(bet || zeros)) return ob_nomem(err);
        if (zeros) memset(zeros, 0, (size_t)x->width * sizeof *zeros);
        return ob_soft(tmlp_model_add_layernorm(m, gam, bet ? bet : zeros, n->a.eps, &e), &e, done, err);
    }
    default: break;
    }
    *done = 0;
    return TMLP_OK;
}

/* ---- The plan ---------------------------------------------------------------------------- */

/* What a run of segments first .. last becomes (OB_BIAS: the bias Add of the dense in
 * the step before, which takes it in). */
enum { OB_GRAPH, OB_SINGLE, OB_FUSED, OB_BIAS };
typedef struct ob_step {
    int kind;
    int32_t first, last;    /* segments */
    tmlp_onnx_fused fused;
} ob_step;

/* The most nodes a fused pattern spans (tanh GELU written with Pow: 9). */
#define OB_FUSE_MAX_NODES 12

/* Segments first .. last as one segment. */
static tmlp_og_segment ob_merge(const tmlp_og_segment *segs, int32_t first, int32_t last)
{
    tmlp_og_segment m = {segs[first].first, segs[last].last, segs[first].in, segs[last].out};
    return m;
}

/* A one-node segment whose op has a built-in layer (onnx_build.c maps it). */
static int ob_is_single(const tmlp_og *g, const tmlp_og_segment *s)
{
    const tmlp_og_node *n = ob_single(g, s);
    if (!n) return 0;
    switch (n->op) {
    case TMLP_OG_GEMM: case TMLP_OG_MATMUL: case TMLP_OG_RELU: case TMLP_OG_LEAKY_RELU:
    case TMLP_OG_SIGMOID: case TMLP_OG_TANH: case TMLP_OG_GELU: case TMLP_OG_SOFTMAX:
    case TMLP_OG_LOG_SOFTMAX: case TMLP_OG_LAYERNORM:
        return 1;
    case TMLP_OG_BATCHNORM: return g->values[n->in[0]].ndim == 2;
    default: return 0;
    }
}

/* The longest run of segments from i that a fused layer computes (*step filled), or 0. */
static tmlp_status ob_find_fusion(tmlp_og *g, const tmlp_og_segment *segs, int32_t n_segs,
                                  int32_t i, const tmlp_model_options *o, ob_step *step,
                                  tmlp_error *err)
{
    int32_t j = i;
    while (j + 1 < n_segs && segs[j + 1].last - segs[i].first + 1 <= OB_FUSE_MAX_NODES) j++;
    for (; j >= i; j--) {
        const tmlp_og_segment run = ob_merge(segs, i, j);
        tmlp_status st = tmlp_onnx_fuse_find(g, &run, o, &step->fused, err);
        if (st != TMLP_OK) return st;
        if (step->fused.kind) {
            step->kind = OB_FUSED;
            step->first = i;
            step->last = j;
            return TMLP_OK;
        }
    }
    return TMLP_OK;
}

/* The plan: fused runs, built-in layers, and maximal runs of GRAPH segments. */
static tmlp_status ob_plan(tmlp_og *g, const tmlp_og_segment *segs, int32_t n_segs,
                           const tmlp_model_options *o, ob_step *steps, int32_t *n_steps,
                           tmlp_error *err)
{
    *n_steps = 0;
    for (int32_t i = 0; i < n_segs;) {
        ob_step st;
        memset(&st, 0, sizeof st);
        tmlp_status rc = ob_find_fusion(g, segs, n_segs, i, o, &st, err);
        if (rc != TMLP_OK) return rc;
        if (!st.fused.kind) {
            st.kind = ob_is_single(g, &segs[i]) ? OB_SINGLE : OB_GRAPH;
            st.first = st.last = i;
        }
        ob_step *prev = *n_steps ? &steps[*n_steps - 1] : NULL;
        const int op = prev && prev->kind == OB_SINGLE ? ob_single(g, &segs[prev->first])->op : -1;
        if ((op == TMLP_OG_GEMM || op == TMLP_OG_MATMUL) && st.kind == OB_GRAPH &&
            ob_is_bias(g, &segs[i], segs[prev->first].out))
            st.kind = OB_BIAS;
        if (st.kind == OB_GRAPH && prev && prev->kind == OB_GRAPH) prev->last = i;
        else steps[(*n_steps)++] = st;
        i = st.last + 1;
    }
    return TMLP_OK;
}

/* Step k of the plan onto m. */
static tmlp_status ob_add_step(tmlp_og *g, const tmlp_og_segment *segs, const ob_step *steps,
                               int32_t n_steps, int32_t k, const tmlp_model_options *o,
                               tmlp_model *m, tmlp_error *err)
{
    const ob_step *st = &steps[k];
    const tmlp_og_segment run = ob_merge(segs, st->first, st->last);
    if (st->kind == OB_BIAS) return TMLP_OK; /* in the dense before it */
    if (st->kind == OB_FUSED)
        return tmlp_onnx_fuse_add(m, &st->fused, g->values[run.in].width, &o->allocator, err);
    if (st->kind == OB_SINGLE) {
        const int has_bias = k + 1 < n_steps && steps[k + 1].kind == OB_BIAS;
        int done = 0;
        tmlp_status rc = ob_add_single(g, &run, has_bias ? &segs[steps[k + 1].first] : NULL, m, &done, err);
        if (rc != TMLP_OK || done) return rc;
    }
    return ob_add_graph(g, &run, o, m, err);
}

/* Every layer of the graph into m (the whole graph as one GRAPH layer with no_fusion). */
static tmlp_status ob_add_layers(tmlp_og *g, const tmlp_model_options *o, tmlp_model *m,
                                 tmlp_error *err)
{
    if (g->n_order == 0) return tmlp_model_add_identity(m, err); /* the output is the input */
    if (o->no_fusion) {
        const tmlp_og_segment all = {0, g->n_order - 1, tmlp_og_root(g, g->input),
                                     tmlp_og_root(g, g->output)};
        return ob_add_graph(g, &all, o, m, err);
    }
    tmlp_og_segment *segs;
    int32_t n_segs, n_steps = 0;
    tmlp_status st = ob_segments(g, &o->allocator, &segs, &n_segs, err);
    if (st != TMLP_OK) return st;
    ob_step *steps = tmlp_mem_calloc(&o->allocator, (size_t)n_segs + 1, sizeof *steps);
    if (!steps) st = ob_nomem(err);
    if (st == TMLP_OK) st = ob_plan(g, segs, n_segs, o, steps, &n_steps, err);
    for (int32_t k = 0; st == TMLP_OK && k < n_steps; k++)
        st = ob_add_step(g, segs, steps, n_steps, k, o, m, err);
    tmlp_mem_free(&o->allocator, steps);
    tmlp_mem_free(&o->allocator, segs);
    return st;
}

tmlp_status tmlp_onnx_build_model(const tmlp_onnx_model *ir, const tmlp_model_options *o,
                                  tmlp_model **out, tmlp_error *err)
{
    tmlp_og *g = NULL;
    tmlp_model *m = NULL;
    *out = NULL;
    tmlp_status st = tmlp_og_build(&o->allocator, ir, &g, err);
    if (st == TMLP_OK) st = ob_check_finite(g, o, err);
    if (st == TMLP_OK) st = tmlp_model_create(g->values[g->input].width, o, &m, err);
    if (st == TMLP_OK) st = ob_add_layers(g, o, m, err);
    if (st == TMLP_OK && tmlp_model_output_width(m) != g->values[g->output].width)
        st = tmlp_error_set(err, TMLP_ERR_SHAPE, "onnx: the model gives rows of %lld, the graph "
                            "output `%.60s` has %lld", (long long)tmlp_model_output_width(m),
                            g->values[g->output].name, (long long)g->values[g->output].width);
    tmlp_og_destroy(g);
    if (st != TMLP_OK) {
        tmlp_model_destroy(m);
        return st;
    }
    *out = m;
    return TMLP_OK;
}
