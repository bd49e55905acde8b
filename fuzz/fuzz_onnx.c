/* fuzz_onnx.c — libFuzzer target for the ONNX reader (src/io/pb.c, src/io/onnx_read.c).
 *
 * Feeds the input to tmlp_onnx_parse as a whole file. A refusal must come with a negative
 * status, a message and no model. A model that parses must keep the promises of
 * onnx_ir.h: every string non-NULL, every tensor with 0..8 dims in [0, 2^31), numel equal
 * to their product and exactly one value array, whose every element is read here (so ASan
 * sees an array shorter than numel); lookups by name find each node attribute and
 * initializer; and tmlp_onnx_looks_like agrees that the bytes look like ONNX. A violated
 * promise calls __builtin_trap so libFuzzer records the input; ASan and UBSan catch the
 * rest.
 *
 * Build and run: scripts/fuzz.sh onnx SECONDS
 */
#include "io/onnx_ir.h"

#include <stdint.h>
#include <string.h>

#define CHECK(c)                                                                             \
    do {                                                                                     \
        if (!(c)) __builtin_trap();                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every value so an out-of-bounds array shows up; the sum keeps the loads alive. */
static volatile double sink;

static void check_tensor(const tmlp_onnx_tensor *t)
{
    CHECK(t->name != NULL);
    CHECK(t->ndim >= 0 && t->ndim <= TMLP_ONNX_MAX_DIMS);
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) {
        CHECK(t->dims[d] >= 0 && t->dims[d] < ((int64_t)1 << 31));
        CHECK(!__builtin_mul_overflow(n, t->dims[d], &n));
    }
    CHECK(n == t->numel);
    CHECK((t->f32 != NULL) != (t->i64 != NULL));
    CHECK(strcmp(tmlp_onnx_dtype_name(t->data_type), "?") != 0);
    double s = 0;
    for (int64_t i = 0; i < t->numel; i++) s += t->f32 ? (double)t->f32[i] : (double)t->i64[i];
    sink = s;
}

static void check_attr(const tmlp_onnx_node *node, const tmlp_onnx_attr *a)
{
    CHECK(a->name != NULL);
    CHECK(tmlp_onnx_node_attr(node, a->name) != NULL);
    double s = 0;
    switch (a->type) {
    case TMLP_ONNX_ATTR_FLOAT: case TMLP_ONNX_ATTR_INT: break;
    case TMLP_ONNX_ATTR_STRING: CHECK(a->s != NULL); break;
    case TMLP_ONNX_ATTR_TENSOR: CHECK(a->t != NULL); check_tensor(a->t); break;
    case TMLP_ONNX_ATTR_FLOATS: CHECK(a->floats && a->n >= 0); for (int64_t i = 0; i < a->n; i++) s += a->floats[i]; break;
    case TMLP_ONNX_ATTR_INTS: CHECK(a->ints && a->n >= 0); for (int64_t i = 0; i < a->n; i++) s += (double)a->ints[i]; break;
    case TMLP_ONNX_ATTR_STRINGS: CHECK(a->strings && a->n >= 0); for (int64_t i = 0; i < a->n; i++) s += (double)strlen(a->strings[i]); break;
    default: CHECK(0);
    }
    sink = s;
}

static void check_value(const tmlp_onnx_value *v)
{
    CHECK(v->name != NULL);
    CHECK(v->ndim >= -1 && v->ndim <= TMLP_ONNX_MAX_DIMS);
    for (int d = 0; d < v->ndim; d++) {
        CHECK(v->dims[d] >= -1);
        if (v->dim_params[d]) CHECK(v->dims[d] == -1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tmlp_onnx_model *m = (tmlp_onnx_model *)&m; /* must be reset to NULL on failure */
    tmlp_error err;
    tmlp_status s = tmlp_onnx_parse(NULL, data, size, &m, &err);
    if (s != TMLP_OK) {
        CHECK(m == NULL && s < 0 && err.code == s && err.message[0] != '\0');
        return 0;
    }
    CHECK(m != NULL && tmlp_onnx_looks_like(data, size) == 1);
    CHECK(m->producer_name && m->graph_name);
    for (int64_t i = 0; i < m->n_opsets; i++) CHECK(m->opsets[i].domain != NULL);
    for (int64_t i = 0; i < m->n_metadata; i++) CHECK(m->metadata[i].key && m->metadata[i].value);
    for (int64_t i = 0; i < m->n_nodes; i++) {
        const tmlp_onnx_node *n = &m->nodes[i];
        CHECK(n->name && n->op_type && n->op_type[0] && n->domain);
        for (int64_t k = 0; k < n->n_inputs; k++) CHECK(n->inputs[k] != NULL);
        for (int64_t k = 0; k < n->n_outputs; k++) CHECK(n->outputs[k] != NULL);
        for (int64_t k = 0; k < n->n_attrs; k++) check_attr(n, &n->attrs[k]);
    }
    for (int64_t i = 0; i < m->n_initializers; i++) {
        check_tensor(&m->initializers[i]);
        CHECK(tmlp_onnx_find_initializer(m, m->initializers[i].name) == &m->initializers[i]);
    }
    for (int64_t i = 0; i < m->n_inputs; i++) check_value(&m->inputs[i]);
    for (int64_t i = 0; i < m->n_outputs; i++) check_value(&m->outputs[i]);
    for (int64_t i = 0; i < m->n_value_info; i++) check_value(&m->value_info[i]);
    tmlp_onnx_model_destroy(NULL, m);
    return 0;
}
