/* graph.c — the GRAPH layer: a program of elementwise, row and dense instructions over
 * slots (graph.h says what a program is), evaluated one instruction at a time over the
 * whole batch. It is the correctness floor of ONNX import: every graph tinymlp accepts
 * runs through it, and the fusion pass (src/io/onnx_fuse.c) replaces a program by a fused
 * layer only after both agree on probe rows.
 *
 * Slot s of a batch of B rows lives at: x (s = 0), y (s = 1), or
 * scratch + offset[s] * B (s >= 2), each a contiguous (B, width[s]) block.
 */
#include "layers/graph.h"

#include "internal.h"
#include "layers/layer.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

/* ---- Building ----------------------------------------------------------------------- */

/* Grow an array of n elements of `size` bytes to hold one more (doubling from 8). */
static int grow(tmlp_gprogram *p, void **arr, int32_t n, int32_t *cap, size_t size)
{
    if (n < *cap) return 0;
    if (*cap >= INT32_MAX / 2) return -1;
    int32_t c = *cap ? *cap * 2 : 8;
    void *g = tmlp_mem_calloc(&p->alloc, (size_t)c, size);
    if (!g) return -1;
    if (n) memcpy(g, *arr, (size_t)n * size);
    tmlp_mem_free(&p->alloc, *arr);
    *arr = g;
    *cap = c;
    return 0;
}

int32_t tmlp_gprogram_slot(tmlp_gprogram *p, int64_t width)
{
    if (width < 1 || width > INT32_MAX || p->scratch > INT64_MAX / 4 - width) return -1;
    if (grow(p, (void **)&p->slots, p->n_slots, &p->cap_slots, sizeof *p->slots)) return -1;
    int32_t s = p->n_slots++;
    p->slots[s].width = width;
    p->slots[s].offset = s >= 2 ? p->scratch : 0;
    if (s >= 2) p->scratch += width;
    return s;
}

int32_t tmlp_gprogram_const(tmlp_gprogram *p, const float *data, int64_t n)
{
    if (n < 1 || (uint64_t)n > SIZE_MAX / sizeof(float)) return -1;
    if (grow(p, (void **)&p->consts, p->n_consts, &p->cap_consts, sizeof *p->consts)) return -1;
    float *copy = tmlp_mem_alloc(&p->alloc, (size_t)n * sizeof(float));
    if (!copy) return -1;
    memcpy(copy, data, (size_t)n * sizeof(float));
    p->consts[p->n_consts].len = n;
    p->consts[p->n_consts].data = copy;
    return p->n_consts++;
}

int tmlp_gprogram_emit(tmlp_gprogram *p, const tmlp_ginstr *ins)
{
    if (grow(p, (void **)&p->instr, p->n_instr, &p->cap_instr, sizeof *p->instr)) return -1;
    p->instr[p->n_instr++] = *ins;
    return 0;
}

int tmlp_gprogram_set_label(tmlp_gprogram *p, const char *label, int32_t n_ops)
{
    char *s = tmlp_mem_strdup(&p->alloc, label);
    if (!s) return -1;
    tmlp_mem_free(&p->alloc, p->label);
    p->label = s;
    p->n_onnx_ops = n_ops;
    return 0;
}

tmlp_status tmlp_gprogram_create(const tmlp_allocator *a, int64_t in_width, int64_t out_width,
                                 tmlp_gprogram **out, tmlp_error *err)
{
    *out = NULL;
    if (in_width < 1 || in_width > INT32_MAX || out_width < 1 || out_width > INT32_MAX)
        return tmlp_error_set(err, TMLP_ERR_ARG, "graph: widths %lld -> %lld not in [1, 2^31)",
                              (long long)in_width, (long long)out_width);
    tmlp_gprogram *p = tmlp_mem_calloc(a, 1, sizeof *p);
    if (!p) return tmlp_error_set(err, TMLP_ERR_NOMEM, "graph: out of memory for a program");
    if (a) p->alloc = *a;
    if (tmlp_gprogram_slot(p, in_width) != 0 || tmlp_gprogram_slot(p, out_width) != 1) {
        tmlp_gprogram_destroy(p);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "graph: out of memory for a program");
    }
    *out = p;
    return TMLP_OK;
}

void tmlp_gprogram_destroy(tmlp_gprogram *p)
{
    if (!p) return;
    const tmlp_allocator a = p->alloc;
    for (int32_t c = 0; c < p->n_consts; c++) tmlp_mem_free(&a, p->consts[c].data);
    tmlp_mem_free(&a, p->consts);
    tmlp_mem_free(&a, p->instr);
    tmlp_mem_free(&a, p->slots);
    tmlp_mem_free(&a, p->label);
    tmlp_mem_free(&a, p);
}

size_t tmlp_gprogram_scratch_floats(const tmlp_gprogram *p) { return (size_t)p->scratch; }

int64_t tmlp_gprogram_flops(const tmlp_gprogram *p)
{
    int64_t f = 0;
    for (int32_t i = 0; i < p->n_instr; i++) {
        const tmlp_ginstr *in = &p->instr[i];
        const int64_t wd = p->slots[in->dst].width;
        const int64_t wa = in->a.slot >= 0 ? p->slots[in->a.slot].width : wd;
        f += in->op == TMLP_GOP_DENSE ? 2 * wa * wd : wa > wd ? wa : wd;
    }
    return f;
}

int64_t tmlp_gprogram_params(const tmlp_gprogram *p)
{
    int64_t n = 0;
    for (int32_t c = 0; c < p->n_consts; c++) n += p->consts[c].len;
    return n;
}

/* ---- Running ------------------------------------------------------------------------- */

/* Where an operand's numbers are: base pointer, step between rows and between columns
 * (0 = broadcast). A slot of width 1 under a wider destination repeats its one number. */
typedef struct garg_view {
    const float *base;
    int64_t row_step, col_step;
} garg_view;

static float *slot_ptr(const tmlp_gprogram *p, int32_t s, const float *x, float *y,
                       int64_t batch, float *scratch)
{
    if (s == 0) return (float *)x; /* read only: instructions never write slot 0 */
    if (s == 1) return y;
    return scratch + p->slots[s].offset * batch;
}

static garg_view arg_view(const tmlp_gprogram *p, tmlp_garg a, const float *x, float *y,
                          int64_t batch, float *scratch)
{
    garg_view v;
    if (a.slot >= 0) {
        v.base = slot_ptr(p, a.slot, x, y, batch, scratch);
        v.row_step = p->slots[a.slot].width;
        v.col_step = p->slots[a.slot].width > 1 ? 1 : 0;
    } else {
        v.base = p->consts[a.cst].data;
        v.row_step = 0;
        v.col_step = p->consts[a.cst].len > 1 ? 1 : 0;
    }
    return v;
}

/* d[j] = a (op) b for j < w, with step 0 or 1 through each operand: one loop per op and
 * stride pattern, so the compiler can vectorise the common cases (a row and a scalar). */
#define GRAPH_BINARY_LOOP(EXPR)                                                        \
    do {                                                                               \
        if (as && bs) {                                                                \
            for (int64_t j = 0; j < w; j++) { const float x = a[j], y = b[j]; d[j] = (EXPR); } \
        } else if (as) {                                                               \
            const float y = b[0];                                                      \
            for (int64_t j = 0; j < w; j++) { const float x = a[j]; d[j] = (EXPR); }  \
        } else {                                                                       \
            const float x = a[0];                                                      \
            for (int64_t j = 0; j < w; j++) { const float y = b[j * bs]; d[j] = (EXPR); } \
        }                                                                              \
    } while (0)

static void binary_row(int op, const float *a, int64_t as, const float *b, int64_t bs, float *d,
                       int64_t w)
{
    switch (op) {
    case TMLP_GOP_ADD: GRAPH_BINARY_LOOP(x + y); break;
    case TMLP_GOP_SUB: GRAPH_BINARY_LOOP(x - y); break;
    case TMLP_GOP_MUL: GRAPH_BINARY_LOOP(x * y); break;
    case TMLP_GOP_DIV: GRAPH_BINARY_LOOP(x / y); break;
    default: GRAPH_BINARY_LOOP(tmlp_gop_binary(TMLP_GOP_POW, x, y)); break;
    }
}

/* d[j] = f(a[j * as]) for j < w; Relu, LeakyRelu, Neg and Copy in loops of their own. */
static void unary_row(int op, float alpha, const float *a, int64_t as, float *d, int64_t w)
{
    if (!as) {
        const float v = tmlp_gop_unary(op, a[0], alpha);
        for (int64_t j = 0; j < w; j++) d[j] = v;
        return;
    }
    switch (op) {
    case TMLP_GOP_COPY: memcpy(d, a, (size_t)w * sizeof *d); break;
    case TMLP_GOP_RELU: for (int64_t j = 0; j < w; j++) d[j] = a[j] > 0.0f ? a[j] : 0.0f; break;
    case TMLP_GOP_LEAKY_RELU: for (int64_t j = 0; j < w; j++) d[j] = a[j] >= 0.0f ? a[j] : alpha * a[j]; break;
    case TMLP_GOP_NEG: for (int64_t j = 0; j < w; j++) d[j] = -a[j]; break;
    default: for (int64_t j = 0; j < w; j++) d[j] = tmlp_gop_unary(op, a[j], alpha); break;
    }
}

static void run_elementwise(const tmlp_ginstr *in, garg_view a, garg_view b, float *d,
                            int64_t w, int64_t batch)
{
    for (int64_t r = 0; r < batch; r++) {
        const float *ar = a.base + r * a.row_step, *br = b.base + r * b.row_step;
        if (tmlp_gop_is_unary(in->op))
            unary_row(in->op, in->alpha, ar, a.col_step, d + r * w, w);
        else
            binary_row(in->op, ar, a.col_step, br, b.col_step, d + r * w, w);
    }
}

/* Mean (accumulated in double, rounded once), softmax or log-softmax of each row of a. */
static void run_row(int op, const float *a, int64_t wa, float *d, int64_t w, int64_t batch)
{
    for (int64_t r = 0; r < batch; r++) {
        const float *ar = a + r * wa;
        float *dr = d + r * w;
        if (op == TMLP_GOP_REDUCE_MEAN) {
            double s = 0.0;
            for (int64_t j = 0; j < wa; j++) s += ar[j];
            dr[0] = (float)(s / (double)wa);
            continue;
        }
        float m = ar[0], sum = 0.0f;
        for (int64_t j = 1; j < wa; j++) m = ar[j] > m ? ar[j] : m;
        for (int64_t j = 0; j < wa; j++) sum += expf(ar[j] - m);
        if (op == TMLP_GOP_SOFTMAX)
            for (int64_t j = 0; j < wa; j++) dr[j] = expf(ar[j] - m) / sum;
        else
            for (int64_t j = 0; j < wa; j++) dr[j] = (ar[j] - m) - logf(sum);
    }
}

/* d:(B, out) = a:(B, in) W^T + b, W (out, in) row-major (PyTorch's layout). */
static void run_dense(const tmlp_gprogram *p, const tmlp_ginstr *in, const float *a, float *d,
                      int64_t batch)
{
    const int64_t k = p->slots[in->a.slot].width, n = p->slots[in->dst].width;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)batch, (int)n, (int)k, 1.0f, a,
                (int)k, p->consts[in->w].data, (int)k, 0.0f, d, (int)n);
    if (in->bias < 0) return;
    const float *b = p->consts[in->bias].data;
    for (int64_t r = 0; r < batch; r++)
        for (int64_t j = 0; j < n; j++) d[r * n + j] += b[j];
}

void tmlp_gprogram_run(const tmlp_gprogram *p, const float *x, float *y, int64_t batch,
                       float *scratch)
{
    for (int32_t i = 0; i < p->n_instr; i++) {
        const tmlp_ginstr *in = &p->instr[i];
        float *d = slot_ptr(p, in->dst, x, y, batch, scratch);
        const int64_t w = p->slots[in->dst].width;
        if (in->op == TMLP_GOP_DENSE) {
            run_dense(p, in, slot_ptr(p, in->a.slot, x, y, batch, scratch), d, batch);
        } else if (in->op >= TMLP_GOP_REDUCE_MEAN) {
            run_row(in->op, slot_ptr(p, in->a.slot, x, y, batch, scratch), p->slots[in->a.slot].width,
                    d, w, batch);
        } else {
            garg_view a = arg_view(p, in->a, x, y, batch, scratch);
            garg_view b = tmlp_gop_is_binary(in->op) ? arg_view(p, in->b, x, y, batch, scratch) : a;
            run_elementwise(in, a, b, d, w, batch);
        }
    }
}

/* ---- The layer ------------------------------------------------------------------------- */

typedef struct graph_layer {
    tmlp_layer base;
    tmlp_gprogram *prog;
    char *describe;         /* "graph (3 ops: Mul,Sub,Div)" */
} graph_layer;

static void graph_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                          float *scratch)
{
    tmlp_gprogram_run(((const graph_layer *)l)->prog, x, y, batch, scratch);
}

static size_t graph_scratch_floats(const tmlp_layer *l)
{
    return tmlp_gprogram_scratch_floats(((const graph_layer *)l)->prog);
}

static int64_t graph_param_count(const tmlp_layer *l)
{
    return tmlp_gprogram_params(((const graph_layer *)l)->prog);
}

static int64_t graph_flops(const tmlp_layer *l) { return tmlp_gprogram_flops(((const graph_layer *)l)->prog); }

static const char *graph_describe(const tmlp_layer *l) { return ((const graph_layer *)l)->describe; }

static void graph_destroy(tmlp_layer *l, const tmlp_allocator *a)
{
    graph_layer *g = (graph_layer *)l;
    tmlp_gprogram_destroy(g->prog);
    tmlp_mem_free(a, g->describe);
    tmlp_mem_free(a, g);
}

static const tmlp_layer_ops graph_ops = {
    .name = "graph",
    .kind = TMLP_LAYER_GRAPH,
    .in_place = false,
    .forward = graph_forward,
    .scratch_floats = graph_scratch_floats,
    .param_count = graph_param_count,
    .flops_per_sample = graph_flops,
    .describe = graph_describe,
    .destroy = graph_destroy,
};

tmlp_status tmlp_graph_create(const tmlp_allocator *a, tmlp_gprogram *p, tmlp_layer **out_layer,
                              tmlp_error *err)
{
    graph_layer *g = tmlp_mem_calloc(a, 1, sizeof *g);
    char buf[160];
    snprintf(buf, sizeof buf, "graph (%d op%s: %s)", (int)p->n_onnx_ops, p->n_onnx_ops == 1 ? "" : "s",
             p->label ? p->label : "");
    char *d = g ? tmlp_mem_strdup(a, buf) : NULL;
    if (!d) {
        tmlp_mem_free(a, g);
        tmlp_gprogram_destroy(p);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "graph: out of memory for the layer");
    }
    g->base.ops = &graph_ops;
    g->base.in_width = p->slots[0].width;
    g->base.out_width = p->slots[1].width;
    g->prog = p;
    g->describe = d;
    *out_layer = &g->base;
    return TMLP_OK;
}
