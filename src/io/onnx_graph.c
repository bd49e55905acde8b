/* onnx_graph.c — the structure of an ONNX graph: names to values, topological order,
 * liveness, then the per-node walk that folds constants and checks shapes (onnx_fold.c,
 * onnx_infer.c). See onnx_graph.h for the rules and the result.
 *
 * Values are numbered: initializers first (0 .. n_init), then the graph input, then the
 * outputs of each node in file order. A name table (open addressing, FNV-1a, at least
 * twice as many slots as names) maps a name to its value; it lives only during the build.
 * Indices are int32: the counts are checked against INT32_MAX / 4 before anything is sized
 * from them.
 */
#include "io/onnx_graph.h"

#include "internal.h"

#include <stdio.h>
#include <string.h>

/* ---- The op table --------------------------------------------------------------------- */

/* since: first opset of the op; in_min: inputs that must be present (non-empty);
 * in_max: inputs read; out_max: outputs the op may have (the first is the result; the
 * others must be unused). */
typedef struct og_op_def {
    const char *name;
    int32_t since, in_min, in_max, out_max;
} og_op_def;

static const og_op_def OG_OPS[TMLP_OG_N_OPS] = {
    [TMLP_OG_GEMM] = {"Gemm", 7, 2, 3, 1},
    [TMLP_OG_MATMUL] = {"MatMul", 1, 2, 2, 1},
    [TMLP_OG_ADD] = {"Add", 7, 2, 2, 1},
    [TMLP_OG_SUB] = {"Sub", 7, 2, 2, 1},
    [TMLP_OG_MUL] = {"Mul", 7, 2, 2, 1},
    [TMLP_OG_DIV] = {"Div", 7, 2, 2, 1},
    [TMLP_OG_POW] = {"Pow", 7, 2, 2, 1},
    [TMLP_OG_SQRT] = {"Sqrt", 6, 1, 1, 1},
    [TMLP_OG_EXP] = {"Exp", 6, 1, 1, 1},
    [TMLP_OG_LOG] = {"Log", 6, 1, 1, 1},
    [TMLP_OG_NEG] = {"Neg", 6, 1, 1, 1},
    [TMLP_OG_RECIPROCAL] = {"Reciprocal", 6, 1, 1, 1},
    [TMLP_OG_ERF] = {"Erf", 9, 1, 1, 1},
    [TMLP_OG_RELU] = {"Relu", 6, 1, 1, 1},
    [TMLP_OG_LEAKY_RELU] = {"LeakyRelu", 6, 1, 1, 1},
    [TMLP_OG_SIGMOID] = {"Sigmoid", 6, 1, 1, 1},
    [TMLP_OG_TANH] = {"Tanh", 6, 1, 1, 1},
    [TMLP_OG_GELU] = {"Gelu", 20, 1, 1, 1},
    [TMLP_OG_SOFTMAX] = {"Softmax", 1, 1, 1, 1},
    [TMLP_OG_LOG_SOFTMAX] = {"LogSoftmax", 1, 1, 1, 1},
    [TMLP_OG_REDUCE_MEAN] = {"ReduceMean", 1, 1, 2, 1},
    [TMLP_OG_BATCHNORM] = {"BatchNormalization", 7, 5, 5, 5},
    [TMLP_OG_LAYERNORM] = {"LayerNormalization", 17, 2, 3, 3},
    [TMLP_OG_FLATTEN] = {"Flatten", 1, 1, 1, 1},
    [TMLP_OG_RESHAPE] = {"Reshape", 5, 2, 2, 1},
    [TMLP_OG_SQUEEZE] = {"Squeeze", 1, 1, 2, 1},
    [TMLP_OG_UNSQUEEZE] = {"Unsqueeze", 1, 1, 2, 1},
    [TMLP_OG_IDENTITY] = {"Identity", 1, 1, 1, 1},
    [TMLP_OG_DROPOUT] = {"Dropout", 7, 1, 3, 2},
    [TMLP_OG_CAST] = {"Cast", 6, 1, 1, 1},
    [TMLP_OG_CONSTANT] = {"Constant", 1, 0, 0, 1},
    [TMLP_OG_TRANSPOSE] = {"Transpose", 1, 1, 1, 1},
};

const char *tmlp_og_op_name(int32_t op)
{
    return op >= 0 && op < TMLP_OG_N_OPS ? OG_OPS[op].name : "?";
}

const char *tmlp_og_supported_list(void)
{
    return "Gemm MatMul Add Sub Mul Div Pow Sqrt Exp Log Neg Reciprocal Erf Relu LeakyRelu "
           "Sigmoid Tanh Gelu Softmax LogSoftmax ReduceMean BatchNormalization "
           "LayerNormalization Flatten Reshape Squeeze Unsqueeze Identity Dropout Cast Constant "
           "Transpose (before a Gemm with transA=1)";
}

static int32_t og_op_lookup(const char *op_type)
{
    for (int32_t k = 0; k < TMLP_OG_N_OPS; k++)
        if (!strcmp(op_type, OG_OPS[k].name)) return k;
    return -1;
}

const char *tmlp_og_node_label(const tmlp_og_node *n, char *buf, size_t cap)
{
    if (n->ir->name[0])
        snprintf(buf, cap, "node `%.60s` (%.30s)", n->ir->name, n->ir->op_type);
    else
        snprintf(buf, cap, "node #%d (%.30s)", (int)n->index, n->ir->op_type);
    return buf;
}

const char *tmlp_og_shape_str(const tmlp_og_value *v, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, cap, "[");
    for (int32_t d = 0; d < v->ndim && used < cap; d++) {
        if (!v->is_const && d == 0)
            used += (size_t)snprintf(buf + used, cap - used, "N");
        else
            used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? ", " : "",
                                     (long long)v->dims[d]);
    }
    if (used < cap) snprintf(buf + used, cap - used, "]");
    return buf;
}

/* ---- Blocks owned by the graph ---------------------------------------------------------- */

typedef struct og_block {
    struct og_block *next;
    max_align_t data[];
} og_block;

void *tmlp_og_alloc(tmlp_og *g, size_t bytes)
{
    if (bytes > SIZE_MAX - sizeof(og_block)) return NULL;
    og_block *b = tmlp_mem_alloc(g->alloc, sizeof(og_block) + (bytes ? bytes : 1));
    if (!b) return NULL;
    b->next = g->blocks;
    g->blocks = b;
    return b->data;
}

void tmlp_og_destroy(tmlp_og *g)
{
    if (!g) return;
    const tmlp_allocator *a = g->alloc;
    for (og_block *b = g->blocks, *next; b; b = next) {
        next = b->next;
        tmlp_mem_free(a, b);
    }
    tmlp_mem_free(a, g);
}

/* ---- Names ------------------------------------------------------------------------------ */

typedef struct og_names {
    const char **key;
    int32_t *val;
    size_t mask;
} og_names;

static size_t og_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static int32_t og_names_find(const og_names *t, const char *name)
{
    for (size_t i = og_hash(name) & t->mask;; i = (i + 1) & t->mask) {
        if (!t->key[i]) return -1;
        if (!strcmp(t->key[i], name)) return t->val[i];
    }
}

/* Insert name -> v; returns the existing value if the name is already there, else -1. */
static int32_t og_names_put(og_names *t, const char *name, int32_t v)
{
    size_t i = og_hash(name) & t->mask;
    for (; t->key[i]; i = (i + 1) & t->mask)
        if (!strcmp(t->key[i], name)) return t->val[i];
    t->key[i] = name;
    t->val[i] = v;
    return -1;
}

/* ---- Values ----------------------------------------------------------------------------- */

static void og_value_init(tmlp_og_value *v, const char *name, int32_t index)
{
    memset(v, 0, sizeof *v);
    v->name = name;
    v->alias = index;
    v->producer = -1;
}

static void og_value_from_tensor(tmlp_og_value *v, const tmlp_onnx_tensor *t)
{
    v->is_const = 1;
    v->known = 1;
    v->ndim = t->ndim;
    memcpy(v->dims, t->dims, sizeof v->dims);
    v->data_type = t->data_type;
    v->numel = t->numel;
    v->f32 = t->f32;
    v->i64 = t->i64;
}

/* The graph input: FLOAT, shape [N, d1, ..] (rank >= 2) with d1.. fixed. A rank-1 input is
 * refused: [784] would be one sample without a batch axis, [N] samples of one number; a
 * model for either is better exported as [N, C]. */
static tmlp_status og_input_value(tmlp_og_value *v, const tmlp_onnx_value *in, tmlp_error *err)
{
    if (!in->is_tensor || in->elem_type != TMLP_ONNX_FLOAT)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "graph input `%.60s`: element type %s; tinymlp reads FLOAT inputs",
                              in->name, in->is_tensor ? tmlp_onnx_dtype_name(in->elem_type)
                                                      : "(not a tensor)");
    if (in->ndim < 2)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "graph input `%.60s`: %s; tinymlp needs [N, features] with the batch "
                              "axis first", in->name, in->ndim < 0 ? "no shape" : in->ndim == 0
                              ? "a scalar" : "one axis (no batch axis, or no feature axis)");
    if (in->dims[0] == 0)
        return tmlp_error_set(err, TMLP_ERR_SHAPE, "graph input `%.60s`: batch dimension 0",
                              in->name);
    v->ndim = in->ndim;
    v->dims[0] = TMLP_OG_BATCH;
    v->width = 1;
    for (int32_t d = 1; d < in->ndim; d++) {
        if (in->dims[d] < 1)
            return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                                  "graph input `%.60s`: dimension %d is %s%s%s; tinymlp needs a "
                                  "fixed row size", in->name, (int)d,
                                  in->dims[d] == 0 ? "0" : "symbolic",
                                  in->dim_params[d] ? " " : "", in->dim_params[d] ? in->dim_params[d] : "");
        v->dims[d] = in->dims[d];
        if (!tmlp_i64_mul(v->width, in->dims[d], &v->width) || v->width > INT32_MAX)
            return tmlp_error_set(err, TMLP_ERR_SHAPE,
                                  "graph input `%.60s`: a row of more than 2^31 floats", in->name);
    }
    v->known = 1;
    return TMLP_OK;
}

/* Number the values and fill the name table: initializers, the one real input, outputs. */
static tmlp_status og_make_values(tmlp_og *g, og_names *t, tmlp_error *err)
{
    const tmlp_onnx_model *ir = g->ir;
    int32_t k = 0, real = -1;
    char lab[128];
    for (int64_t i = 0; i < ir->n_initializers; i++, k++) {
        og_value_init(&g->values[k], ir->initializers[i].name, k);
        og_value_from_tensor(&g->values[k], &ir->initializers[i]);
        og_names_put(t, ir->initializers[i].name, k); /* unique: the parser checked */
    }
    for (int64_t i = 0; i < ir->n_inputs; i++) {
        if (tmlp_onnx_find_initializer(ir, ir->inputs[i].name)) continue; /* IR < 4 lists them */
        if (real >= 0)
            return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                                  "the graph has more than one input (`%.60s` and `%.60s`); tinymlp "
                                  "models take one", ir->inputs[real].name, ir->inputs[i].name);
        real = (int32_t)i;
    }
    if (real < 0)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "the graph has no input (every input is an "
                              "initializer)");
    g->input = k;
    og_value_init(&g->values[k], ir->inputs[real].name, k);
    tmlp_status st = og_input_value(&g->values[k], &ir->inputs[real], err);
    if (st != TMLP_OK) return st;
    g->batch_fixed = ir->inputs[real].dims[0] > 0 ? ir->inputs[real].dims[0] : -1;
    og_names_put(t, ir->inputs[real].name, k++);
    for (int32_t n = 0; n < g->n_nodes; n++) {
        tmlp_og_node *node = &g->nodes[n];
        for (int32_t o = 0; o < node->n_out; o++) {
            const char *name = node->ir->outputs[o];
            node->out[o] = -1;
            if (!name[0]) continue;
            og_value_init(&g->values[k], name, k);
            g->values[k].producer = n;
            if (og_names_put(t, name, k) >= 0)
                return tmlp_error_set(err, TMLP_ERR_FORMAT,
                                      "%s: output `%.60s` is already produced by another node, "
                                      "an initializer or the graph input",
                                      tmlp_og_node_label(node, lab, sizeof lab), name);
            node->out[o] = k++;
        }
    }
    g->n_values = k;
    return TMLP_OK;
}

/* Every node input and the graph output name a value. */
static tmlp_status og_resolve(tmlp_og *g, const og_names *t, tmlp_error *err)
{
    char lab[128];
    for (int32_t n = 0; n < g->n_nodes; n++) {
        tmlp_og_node *node = &g->nodes[n];
        for (int32_t i = 0; i < node->n_in; i++) {
            const char *name = node->ir->inputs[i];
            node->in[i] = name[0] ? og_names_find(t, name) : -1;
            if (name[0] && node->in[i] < 0)
                return tmlp_error_set(err, TMLP_ERR_FORMAT,
                                      "%s: input %d `%.60s` is not produced by any node, "
                                      "initializer or graph input",
                                      tmlp_og_node_label(node, lab, sizeof lab), (int)i, name);
        }
    }
    if (g->ir->n_outputs != 1)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "the graph has %lld outputs; tinymlp models have one",
                              (long long)g->ir->n_outputs);
    g->output = og_names_find(t, g->ir->outputs[0].name);
    if (g->output < 0)
        return tmlp_error_set(err, TMLP_ERR_FORMAT,
                              "graph output `%.60s` is not produced by any node",
                              g->ir->outputs[0].name);
    return TMLP_OK;
}

/* ---- Order ------------------------------------------------------------------------------ */

/* Min-heap of node indices (Kahn's algorithm picks the smallest ready index). */
static void heap_push(int32_t *h, int32_t *n, int32_t v)
{
    int32_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static int32_t heap_pop(int32_t *h, int32_t *n)
{
    int32_t top = h[0], v = h[--(*n)], i = 0;
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

/* Consumers of each value, as lists: the nodes reading value v are
 * list[first[v] .. first[v + 1]) (a node reading v twice appears twice). */
typedef struct og_users {
    int32_t *first, *list;
} og_users;

static void og_users_fill(const tmlp_og *g, og_users *u)
{
    memset(u->first, 0, ((size_t)g->n_values + 1) * sizeof *u->first);
    for (int32_t n = 0; n < g->n_nodes; n++)
        for (int32_t i = 0; i < g->nodes[n].n_in; i++)
            if (g->nodes[n].in[i] >= 0) u->first[g->nodes[n].in[i] + 1]++;
    for (int32_t v = 0; v < g->n_values; v++) u->first[v + 1] += u->first[v];
    for (int32_t n = 0; n < g->n_nodes; n++)
        for (int32_t i = 0; i < g->nodes[n].n_in; i++) {
            int32_t v = g->nodes[n].in[i];
            if (v >= 0) u->list[u->first[v]++] = n;
        }
    /* Placing moved first[v] to the end of v's list = the start of v + 1: shift back. */
    for (int32_t v = g->n_values; v > 0; v--) u->first[v] = u->first[v - 1];
    u->first[0] = 0;
}

/* A node on a cycle, starting from node n that Kahn's algorithm could not order: walk to
 * an unordered producer n_nodes times; the walk then runs around a cycle. */
static int32_t og_on_cycle(const tmlp_og *g, const int32_t *indeg, int32_t n)
{
    for (int32_t step = 0; step < g->n_nodes; step++) {
        const tmlp_og_node *node = &g->nodes[n];
        for (int32_t i = 0; i < node->n_in; i++) {
            int32_t v = node->in[i];
            int32_t p = v >= 0 ? g->values[v].producer : -1;
            if (p >= 0 && indeg[p] > 0) {
                n = p;
                break;
            }
        }
    }
    return n;
}

/* Topological order of all nodes into g->order. indeg and heap hold n_nodes each. */
static tmlp_status og_sort(tmlp_og *g, const og_users *u, int32_t *indeg, int32_t *heap,
                           tmlp_error *err)
{
    const int32_t nn = g->n_nodes;
    int32_t hn = 0, done = 0;
    for (int32_t n = 0; n < nn; n++) {
        indeg[n] = 0;
        for (int32_t i = 0; i < g->nodes[n].n_in; i++) {
            int32_t v = g->nodes[n].in[i];
            if (v >= 0 && g->values[v].producer >= 0) indeg[n]++;
        }
        if (indeg[n] == 0) heap_push(heap, &hn, n);
    }
    while (hn > 0) {
        int32_t n = heap_pop(heap, &hn);
        g->order[done++] = n;
        for (int32_t o = 0; o < g->nodes[n].n_out; o++) {
            int32_t v = g->nodes[n].out[o];
            for (int32_t k = v >= 0 ? u->first[v] : 0; v >= 0 && k < u->first[v + 1]; k++)
                if (--indeg[u->list[k]] == 0) heap_push(heap, &hn, u->list[k]);
        }
    }
    for (int32_t n = 0; done < nn && n < nn; n++)
        if (indeg[n] > 0) {
            char lab[128];
            return tmlp_error_set(err, TMLP_ERR_FORMAT, "the graph has a cycle through %s",
                                  tmlp_og_node_label(&g->nodes[og_on_cycle(g, indeg, n)], lab,
                                                     sizeof lab));
        }
    return TMLP_OK;
}

/* ---- Liveness and the walk ------------------------------------------------------------ */

/* Mark the nodes the graph output depends on (state RUN) and count live uses per value.
 * `stack` holds n_values entries: each value is pushed at most once. */
static void og_mark_live(tmlp_og *g, int32_t *stack)
{
    int32_t sp = 0;
    g->values[g->output].n_uses = 1;
    stack[sp++] = g->output;
    while (sp > 0) {
        int32_t p = g->values[stack[--sp]].producer;
        if (p < 0 || g->nodes[p].state == TMLP_OG_RUN) continue;
        g->nodes[p].state = TMLP_OG_RUN;
        for (int32_t i = 0; i < g->nodes[p].n_in; i++) {
            int32_t v = g->nodes[p].in[i];
            if (v < 0) continue;
            if (g->values[v].n_uses++ == 0) stack[sp++] = v;
        }
    }
}

/* Every present input of node n is a constant (true for Constant, which has none). */
static int og_all_const(const tmlp_og *g, const tmlp_og_node *n)
{
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && !g->values[n->in[i]].is_const) return 0;
    return 1;
}

/* The op of node n, its domain and opset, and its input and output counts. */
static tmlp_status og_check_node(tmlp_og *g, tmlp_og_node *n, tmlp_error *err)
{
    char lab[128];
    const tmlp_onnx_node *ir = n->ir;
    tmlp_og_node_label(n, lab, sizeof lab);
    if (ir->domain[0] && strcmp(ir->domain, "ai.onnx"))
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "%s: domain `%.40s` is not supported; tinymlp reads the default "
                              "ONNX domain", lab, ir->domain);
    n->op = og_op_lookup(ir->op_type);
    if (n->op < 0)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%s: op %.30s is not supported; "
                              "supported: %s", lab, ir->op_type, tmlp_og_supported_list());
    const og_op_def *d = &OG_OPS[n->op];
    if (g->opset < d->since)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: %s exists from opset %d; the model "
                              "imports opset %lld", lab, d->name, (int)d->since,
                              (long long)g->opset);
    for (int32_t i = 0; i < d->in_min; i++)
        if (i >= n->n_in || n->in[i] < 0)
            return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: input %d is %s; %s requires %d "
                                  "input%s", lab, (int)i, i >= n->n_in ? "missing" : "empty",
                                  d->name, (int)d->in_min, d->in_min == 1 ? "" : "s");
    if (n->n_in > d->in_max)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: %d inputs; %s takes at most %d", lab,
                              (int)n->n_in, d->name, (int)d->in_max);
    if (n->n_out < 1 || n->out[0] < 0 || n->n_out > d->out_max)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "%s: %d outputs%s; %s has 1 to %d", lab,
                              (int)n->n_out, n->n_out >= 1 ? " (the first unnamed)" : "",
                              d->name, (int)d->out_max);
    for (int32_t o = 1; o < n->n_out; o++)
        if (n->out[o] >= 0 && g->values[n->out[o]].n_uses > 0)
            return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                                  "%s: output %d `%.60s` is used; tinymlp computes only the "
                                  "first output of %s", lab, (int)o, g->values[n->out[o]].name,
                                  d->name);
    return TMLP_OK;
}

/* Walk the live nodes in order: fold or check each (onnx_fold.c, onnx_infer.c). */
static tmlp_status og_walk(tmlp_og *g, const int32_t *topo, tmlp_error *err)
{
    for (int32_t k = 0; k < g->n_nodes; k++) {
        tmlp_og_node *n = &g->nodes[topo[k]];
        if (n->state != TMLP_OG_RUN) continue;
        tmlp_status st = og_check_node(g, n, err);
        if (st == TMLP_OK) st = tmlp_og_prepare(g, n, err);
        if (st == TMLP_OK) st = og_all_const(g, n) ? tmlp_og_fold(g, n, err) : tmlp_og_infer(g, n, err);
        if (st != TMLP_OK) return st;
    }
    return TMLP_OK;
}

/* g->order = the RUN nodes of `topo`, in order. */
static tmlp_status og_finish(tmlp_og *g, const int32_t *topo, tmlp_error *err)
{
    const tmlp_og_value *out = &g->values[g->output];
    if (!out->is_const && out->transposed)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "graph output `%.60s` is transposed "
                              "([C, N]); tinymlp gives one row per sample", out->name);
    if (out->is_const)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "graph output `%.60s` is a constant: it does not depend on the "
                              "input `%.60s`", out->name, g->values[g->input].name);
    g->n_order = 0;
    for (int32_t k = 0; k < g->n_nodes; k++)
        if (g->nodes[topo[k]].state == TMLP_OG_RUN) g->order[g->n_order++] = topo[k];
    return TMLP_OK;
}

/* ---- Build ------------------------------------------------------------------------------- */

/* Allocate g's arrays from the IR's counts (each checked) and wire nodes to the IR. */
static tmlp_status og_alloc_arrays(tmlp_og *g, int64_t *n_edges, tmlp_error *err)
{
    const tmlp_onnx_model *ir = g->ir;
    const int64_t cap = INT32_MAX / 4;
    int64_t n_in = 0, n_out = 0;
    if (ir->n_nodes > cap || ir->n_initializers > cap)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "%lld nodes and %lld initializers: "
                              "more than tinymlp indexes", (long long)ir->n_nodes,
                              (long long)ir->n_initializers);
    for (int64_t n = 0; n < ir->n_nodes; n++) {
        n_in += ir->nodes[n].n_inputs;
        n_out += ir->nodes[n].n_outputs;
        if (n_in > cap || n_out > cap)
            return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED, "more node inputs or outputs than "
                                  "tinymlp indexes");
    }
    g->n_nodes = (int32_t)ir->n_nodes;
    g->n_values = (int32_t)(ir->n_initializers + 1 + n_out);
    g->values = tmlp_og_alloc(g, (size_t)g->n_values * sizeof *g->values);
    g->nodes = tmlp_og_alloc(g, (size_t)g->n_nodes * sizeof *g->nodes);
    int32_t *io = tmlp_og_alloc(g, (size_t)(n_in + n_out) * sizeof *io);
    g->order = tmlp_og_alloc(g, (size_t)g->n_nodes * sizeof *g->order);
    if (!g->values || !g->nodes || !io || !g->order)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory for a graph of %lld "
                              "nodes", (long long)ir->n_nodes);
    for (int32_t n = 0; n < g->n_nodes; n++) {
        tmlp_og_node *node = &g->nodes[n];
        memset(node, 0, sizeof *node);
        node->ir = &ir->nodes[n];
        node->index = n;
        node->op = -1;
        node->n_in = (int32_t)node->ir->n_inputs;
        node->n_out = (int32_t)node->ir->n_outputs;
        node->in = io;
        node->out = io + node->n_in;
        io += node->n_in + node->n_out;
    }
    *n_edges = n_in;
    return TMLP_OK;
}

/* The build after the arrays exist, with one temporary block for the name table, the
 * consumer lists and Kahn's state. */
static tmlp_status og_build_steps(tmlp_og *g, int64_t n_edges, tmlp_error *err)
{
    size_t slots = 16;
    while (slots < 2 * (size_t)g->n_values) slots *= 2;
    const size_t n32 = (size_t)g->n_values + 1 + (size_t)n_edges + 3 * (size_t)g->n_nodes +
                       (size_t)g->n_values + slots;
    void *tmp = tmlp_mem_calloc(g->alloc, 1, slots * sizeof(char *) + n32 * sizeof(int32_t));
    if (!tmp) return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory for the name table");
    og_names t = {tmp, NULL, slots - 1};
    int32_t *w = (int32_t *)(t.key + slots);
    og_users u = {w, w + g->n_values + 1};
    int32_t *indeg = u.list + n_edges, *heap = indeg + g->n_nodes, *topo = heap + g->n_nodes;
    int32_t *stack = topo + g->n_nodes;
    t.val = stack + g->n_values;

    tmlp_status st = og_make_values(g, &t, err);
    if (st == TMLP_OK) st = og_resolve(g, &t, err);
    if (st == TMLP_OK) {
        og_users_fill(g, &u);
        st = og_sort(g, &u, indeg, heap, err);
    }
    if (st == TMLP_OK) {
        memcpy(topo, g->order, (size_t)g->n_nodes * sizeof *topo);
        og_mark_live(g, stack);
        st = og_walk(g, topo, err);
    }
    if (st == TMLP_OK) st = og_finish(g, topo, err);
    tmlp_mem_free(g->alloc, tmp);
    return st;
}

tmlp_status tmlp_og_build(const tmlp_allocator *a, const tmlp_onnx_model *ir, tmlp_og **out,
                          tmlp_error *err)
{
    if (!ir || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "onnx: NULL argument");
    *out = NULL;
    if (ir->opset < TMLP_OG_OPSET_MIN || ir->opset > TMLP_OG_OPSET_MAX)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "the model imports opset %lld of the default domain; tinymlp reads "
                              "opsets %d to %d", (long long)ir->opset, TMLP_OG_OPSET_MIN,
                              TMLP_OG_OPSET_MAX);
    tmlp_og *g = tmlp_mem_alloc(a, sizeof *g);
    if (!g) return tmlp_error_set(err, TMLP_ERR_NOMEM, "onnx: out of memory for the graph");
    memset(g, 0, sizeof *g);
    g->ir = ir;
    g->alloc = a;
    g->opset = ir->opset;
    int64_t n_edges = 0;
    tmlp_status st = og_alloc_arrays(g, &n_edges, err);
    if (st == TMLP_OK) st = og_build_steps(g, n_edges, err);
    if (st != TMLP_OK) {
        tmlp_og_destroy(g);
        return st;
    }
    *out = g;
    return TMLP_OK;
}
