/* test_onnx_parse.c — the protobuf reader (src/io/pb.c) and the ONNX ModelProto decoder
 * (src/io/onnx_read.c, IR in src/io/onnx_ir.h).
 *
 * Models are built in memory with a small protobuf WRITER below (pbw_*), so the tests
 * need no Python: each case writes exactly the bytes it wants, valid or not. Then the
 * files PyTorch exported (tests/fixtures/onnx/parse/, made by
 * tools/make_onnx_parse_fixtures.py) are parsed and checked op by op and weight by weight.
 * Every refusal of the decoder has a case that triggers it, with its status and a piece of
 * its message; every allocation is failed in turn; the fuzzer's seed corpus is replayed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "corpus.h"
#include "io/onnx_ir.h"
#include "io/pb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a protobuf writer ---------------------------------------------------------------- */

typedef struct pbw {
    uint8_t *p;
    size_t n, cap;
} pbw;

static pbw *pbw_new(void)
{
    pbw *w = calloc(1, sizeof *w);
    assert_non_null(w);
    return w;
}

static void pbw_free(pbw *w)
{
    if (w) free(w->p);
    free(w);
}

static void put(pbw *w, const void *d, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 16;
        w->p = realloc(w->p, w->cap);
        assert_non_null(w->p);
    }
    if (n) memcpy(w->p + w->n, d, n);
    w->n += n;
}

static void put_varint(pbw *w, uint64_t v)
{
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b |= 0x80;
        put(w, &b, 1);
    } while (v);
}

static void put_tag(pbw *w, uint32_t field, int wire) { put_varint(w, (uint64_t)field << 3 | (uint64_t)wire); }

/* Each f_* appends one field and returns w, so messages read as one expression. */
static pbw *f_varint(pbw *w, uint32_t field, uint64_t v)
{
    put_tag(w, field, 0);
    put_varint(w, v);
    return w;
}

static pbw *f_fixed32(pbw *w, uint32_t field, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_tag(w, field, 5);
    put(w, b, 4);
    return w;
}

static pbw *f_float(pbw *w, uint32_t field, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return f_fixed32(w, field, u);
}

static pbw *f_fixed64(pbw *w, uint32_t field, uint64_t v)
{
    put_tag(w, field, 1);
    for (int i = 0; i < 8; i++) {
        uint8_t b = (uint8_t)(v >> (8 * i));
        put(w, &b, 1);
    }
    return w;
}

static pbw *f_bytes(pbw *w, uint32_t field, const void *d, size_t n)
{
    put_tag(w, field, 2);
    put_varint(w, n);
    put(w, d, n);
    return w;
}

static pbw *f_str(pbw *w, uint32_t field, const char *s) { return f_bytes(w, field, s, strlen(s)); }

/* Embed sub as a message field and free it. */
static pbw *f_msg(pbw *w, uint32_t field, pbw *sub)
{
    f_bytes(w, field, sub->p, sub->n);
    pbw_free(sub);
    return w;
}

/* A packed repeated varint field. */
static pbw *f_packed_varints(pbw *w, uint32_t field, const int64_t *v, size_t n)
{
    pbw *p = pbw_new();
    for (size_t i = 0; i < n; i++) put_varint(p, (uint64_t)v[i]);
    return f_msg(w, field, p);
}

/* ---- ONNX builders (field numbers of onnx/onnx.proto) ---------------------------------- */

enum { FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7, STRING = 8,
       BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, COMPLEX64 = 14, BFLOAT16 = 16 };

static pbw *tensor_head(const char *name, int32_t dt, const int64_t *dims, int ndim)
{
    pbw *t = pbw_new();
    if (ndim) f_packed_varints(t, 1, dims, (size_t)ndim);
    f_varint(t, 2, (uint64_t)(int64_t)dt);
    if (name) f_str(t, 8, name);
    return t;
}

static pbw *tensor_raw(const char *name, int32_t dt, const int64_t *dims, int ndim, const void *raw, size_t n)
{
    return f_bytes(tensor_head(name, dt, dims, ndim), 9, raw, n);
}

/* FLOAT values as raw_data (little-endian: this host). */
static pbw *tensor_f32(const char *name, const int64_t *dims, int ndim, const float *v, size_t n)
{
    return tensor_raw(name, FLOAT, dims, ndim, v, n * sizeof(float));
}

static pbw *tensor_i64(const char *name, const int64_t *dims, int ndim, const int64_t *v, size_t n)
{
    return f_packed_varints(tensor_head(name, INT64, dims, ndim), 7, v, n);
}

static pbw *node(const char *op, const char *name, const char *const *in, int nin,
                 const char *const *out, int nout)
{
    pbw *n = pbw_new();
    for (int i = 0; i < nin; i++) f_str(n, 1, in[i]);
    for (int i = 0; i < nout; i++) f_str(n, 2, out[i]);
    if (name) f_str(n, 3, name);
    f_str(n, 4, op);
    return n;
}

static pbw *attr_head(const char *name, int type)
{
    pbw *a = f_str(pbw_new(), 1, name);
    return type ? f_varint(a, 20, (uint64_t)type) : a;
}
static pbw *attr_int(const char *name, int64_t v) { return f_varint(attr_head(name, 2), 3, (uint64_t)v); }
static pbw *attr_float(const char *name, float v) { return f_float(attr_head(name, 1), 2, v); }
static pbw *attr_str(const char *name, const char *v) { return f_str(attr_head(name, 3), 4, v); }
static pbw *attr_tensor(const char *name, pbw *t) { return f_msg(attr_head(name, 4), 5, t); }
static pbw *attr_ints(const char *name, const int64_t *v, size_t n)
{
    return f_packed_varints(attr_head(name, 7), 8, v, n);
}

/* A tensor value_info: dims[d] >= 0 is a dim_value, -1 uses params[d] (NULL: an empty Dimension). */
static pbw *value(const char *name, int elem, const int64_t *dims, const char *const *params, int ndim)
{
    pbw *shape = pbw_new();
    for (int d = 0; d < ndim; d++) {
        pbw *dim = pbw_new();
        if (dims[d] >= 0) f_varint(dim, 1, (uint64_t)dims[d]);
        else if (params && params[d]) f_str(dim, 2, params[d]);
        f_msg(shape, 1, dim);
    }
    pbw *tt = f_msg(f_varint(pbw_new(), 1, (uint64_t)elem), 2, shape);
    pbw *type = f_msg(pbw_new(), 1, tt);
    return f_msg(f_str(pbw_new(), 1, name), 2, type);
}

/* ModelProto: ir_version 8, producer "test", opset_import {"" : opset}, the graph. */
static pbw *model(pbw *graph, int64_t opset)
{
    pbw *m = f_str(f_varint(pbw_new(), 1, 8), 2, "test");
    f_msg(m, 7, graph);
    return f_msg(m, 8, f_varint(f_str(pbw_new(), 1, ""), 2, (uint64_t)opset));
}

/* A graph "g": x (batch, 4) -> Relu "r" -> y, with an initializer w (2x2 FLOAT). Tests
 * append what they examine. */
static pbw *base_graph(void)
{
    static const char *in[] = {"x"}, *out[] = {"y"};
    static const int64_t dims[] = {-1, 4}, wd[] = {2, 2};
    static const char *params[] = {"batch", NULL};
    static const float w[] = {1, 2, 3, 4};
    pbw *g = f_msg(pbw_new(), 1, node("Relu", "r", in, 1, out, 1));
    f_str(g, 2, "g");
    f_msg(g, 5, tensor_f32("w", wd, 2, w, 4));
    f_msg(g, 11, value("x", FLOAT, dims, params, 2));
    return f_msg(g, 12, value("y", FLOAT, dims, params, 2));
}

/* ---- parsing helpers ------------------------------------------------------------------ */

static tmlp_error last_err;

/* The invariants onnx_ir.h promises for any model that parsed. */
static void check_invariants(const tmlp_onnx_model *m)
{
    assert_non_null(m->producer_name);
    assert_non_null(m->graph_name);
    for (int64_t i = 0; i < m->n_nodes; i++) {
        const tmlp_onnx_node *n = &m->nodes[i];
        assert_non_null(n->name);
        assert_true(n->op_type[0] != '\0');
        assert_non_null(n->domain);
        for (int64_t k = 0; k < n->n_inputs; k++) assert_non_null(n->inputs[k]);
        for (int64_t k = 0; k < n->n_outputs; k++) assert_non_null(n->outputs[k]);
        for (int64_t k = 0; k < n->n_attrs; k++) {
            assert_non_null(n->attrs[k].name);
            assert_non_null(tmlp_onnx_node_attr(n, n->attrs[k].name));
        }
    }
    for (int64_t i = 0; i < m->n_initializers; i++) {
        const tmlp_onnx_tensor *t = &m->initializers[i];
        assert_true(t->ndim >= 0 && t->ndim <= TMLP_ONNX_MAX_DIMS);
        int64_t n = 1;
        for (int d = 0; d < t->ndim; d++) {
            assert_true(t->dims[d] >= 0 && t->dims[d] < ((int64_t)1 << 31));
            n *= t->dims[d];
        }
        assert_int_equal(n, t->numel);
        assert_true((t->f32 != NULL) != (t->i64 != NULL));
        assert_ptr_equal(tmlp_onnx_find_initializer(m, t->name), t);
    }
}

static tmlp_status parse_bytes(const uint8_t *b, size_t n, tmlp_onnx_model **out)
{
    memset(&last_err, 0, sizeof last_err);
    tmlp_status s = tmlp_onnx_parse(NULL, b, n, out, &last_err);
    if (s == TMLP_OK) {
        assert_non_null(*out);
        check_invariants(*out);
    } else {
        assert_null(*out);
        assert_int_equal(last_err.code, s);
        assert_true(last_err.message[0] != '\0');
    }
    return s;
}

/* Parse w's bytes (then free w); the model stays in *out (destroy it) when out != NULL. */
static tmlp_status parse_w(pbw *w, tmlp_onnx_model **out)
{
    tmlp_onnx_model *m = NULL;
    tmlp_status s = parse_bytes(w->p, w->n, &m);
    pbw_free(w);
    if (out) *out = m;
    else tmlp_onnx_model_destroy(NULL, m);
    return s;
}

/* w must fail with `code` and a message containing `part`. */
static void expect_fail(pbw *w, tmlp_status code, const char *part)
{
    tmlp_status s = parse_w(w, NULL);
    if (s != code || !strstr(last_err.message, part)) {
        print_error("status %d (want %d), message \"%s\" (want \"%s\")\n", s, code, last_err.message, part);
        fail();
    }
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *b = malloc(1 << 20);
    assert_non_null(b);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

/* ---- the wire format ------------------------------------------------------------------ */

static void test_pb_varint(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[12];
        size_t n;
        tmlp_status s;
        uint64_t v;
        const char *msg;
    } cases[] = {
        {{0x00}, 1, TMLP_OK, 0, NULL},
        {{0x01}, 1, TMLP_OK, 1, NULL},
        {{0xac, 0x02}, 2, TMLP_OK, 300, NULL},
        {{0x80, 0x00}, 2, TMLP_OK, 0, NULL}, /* non-minimal, still valid */
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10, TMLP_OK, UINT64_MAX, NULL},
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 10, TMLP_ERR_FORMAT, 0, "exceeds 64 bits"},
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 11, TMLP_ERR_FORMAT, 0,
         "longer than 10 bytes"},
        {{0x80}, 1, TMLP_ERR_FORMAT, 0, "runs past the end"},
        {{0}, 0, TMLP_ERR_FORMAT, 0, "runs past the end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 12345;
        size_t next = 0;
        tmlp_error e = {0};
        tmlp_status s = tmlp_pb_varint(cases[i].b, 0, cases[i].n, &v, &next, &e);
        assert_int_equal(s, cases[i].s);
        if (s == TMLP_OK) {
            assert_true(v == cases[i].v);
            assert_int_equal(next, cases[i].n);
        } else {
            assert_non_null(strstr(e.message, cases[i].msg));
            assert_non_null(strstr(e.message, "byte 0"));
        }
    }
}

static void test_pb_fields(void **state)
{
    (void)state;
    pbw *w = f_varint(pbw_new(), 1, 150);
    f_fixed64(w, 2, 0x0102030405060708ull);
    f_str(w, 3, "abc");
    f_fixed32(w, 4, 0xdeadbeefu);
    f_varint(w, TMLP_PB_MAX_FIELD, 7);
    tmlp_pb_reader r = tmlp_pb_reader_init(w->p, w->n);
    tmlp_pb_field f;
    assert_int_equal(tmlp_pb_next(&r, &f, NULL), TMLP_OK);
    assert_true(f.number == 1 && f.wire == TMLP_PB_VARINT && f.value == 150 && f.offset == 0);
    assert_int_equal(tmlp_pb_next(&r, &f, NULL), TMLP_OK);
    assert_true(f.number == 2 && f.wire == TMLP_PB_I64 && f.value == 0x0102030405060708ull && f.offset == 3);
    assert_int_equal(tmlp_pb_next(&r, &f, NULL), TMLP_OK);
    assert_true(f.number == 3 && f.wire == TMLP_PB_LEN && f.len == 3 && !memcmp(w->p + f.data, "abc", 3));
    tmlp_pb_reader sub = tmlp_pb_reader_sub(&r, &f);
    assert_int_equal(sub.pos, f.data);
    assert_int_equal(sub.end, f.data + 3);
    assert_int_equal(tmlp_pb_next(&r, &f, NULL), TMLP_OK);
    assert_true(f.number == 4 && f.wire == TMLP_PB_I32 && f.value == 0xdeadbeefu);
    assert_int_equal(tmlp_pb_next(&r, &f, NULL), TMLP_OK);
    assert_true(f.number == TMLP_PB_MAX_FIELD && f.value == 7);
    assert_false(tmlp_pb_more(&r));
    pbw_free(w);

    static const struct {
        uint8_t b[8];
        size_t n;
        const char *msg;
    } bad[] = {
        {{0x00}, 1, "byte 0: invalid field number 0"},
        {{0x0b}, 1, "group wire type 3"},
        {{0x0c}, 1, "group wire type 4"},
        {{0x0e}, 1, "invalid wire type 6"},
        {{0x0f}, 1, "invalid wire type 7"},
        {{0x80, 0x80, 0x80, 0x80, 0x10}, 5, "invalid field number 536870912"},
        {{0x12, 0x05, 'a'}, 3, "byte 0: field 2 has length 5, only 1 bytes are left"},
        {{0x25, 1, 2}, 3, "needs 4 bytes"},
        {{0x21, 1, 2, 3, 4, 5, 6, 7}, 8, "needs 8 bytes"},
        {{0x08, 0x01, 0x12, 0x09}, 4, "byte 2: field 2 has length 9"},
        {{0x08, 0x80}, 2, "byte 1: varint runs past the end"},
        {{0x12}, 1, "varint runs past the end"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tmlp_pb_reader br = tmlp_pb_reader_init(bad[i].b, bad[i].n);
        tmlp_error e = {0};
        tmlp_status s = TMLP_OK;
        while (s == TMLP_OK && tmlp_pb_more(&br)) s = tmlp_pb_next(&br, &f, &e);
        assert_int_equal(s, TMLP_ERR_FORMAT);
        if (!strstr(e.message, bad[i].msg)) {
            print_error("case %zu: \"%s\" lacks \"%s\"\n", i, e.message, bad[i].msg);
            fail();
        }
    }
}

/* Iterate field f of kind over a one-field message; returns the status, values in v. */
static tmlp_status rep_values(const pbw *w, tmlp_pb_scalar kind, uint64_t *v, size_t *n, tmlp_error *e)
{
    tmlp_pb_reader r = tmlp_pb_reader_init(w->p, w->n);
    tmlp_pb_field f;
    tmlp_pb_rep it;
    size_t k = 0, count = 0;
    while (tmlp_pb_more(&r)) {
        tmlp_status s = tmlp_pb_next(&r, &f, e);
        if (s == TMLP_OK) s = tmlp_pb_rep_begin(&r, &f, kind, &it, &count, e);
        if (s != TMLP_OK) return s;
        size_t before = k;
        while (tmlp_pb_rep_next(&it, &v[k])) k++;
        assert_int_equal(k - before, count);
    }
    *n = k;
    return TMLP_OK;
}

static void test_pb_repeated(void **state)
{
    (void)state;
    uint64_t v[16];
    size_t n;
    tmlp_error e;
    /* packed varints, then an unpacked one, then another packed run: one list of 5 */
    static const int64_t a[] = {1, 300, -1}, b[] = {4};
    pbw *w = f_packed_varints(pbw_new(), 1, a, 3);
    f_varint(w, 1, 7);
    f_packed_varints(w, 1, b, 1);
    f_bytes(w, 1, "", 0); /* an empty packed run is no element */
    assert_int_equal(rep_values(w, TMLP_PB_SCALAR_VARINT, v, &n, &e), TMLP_OK);
    assert_int_equal(n, 5);
    assert_true(v[0] == 1 && v[1] == 300 && v[2] == UINT64_MAX && v[3] == 7 && v[4] == 4);
    pbw_free(w);
    /* fixed32: packed 8 bytes = 2 elements, plus one unpacked */
    w = f_bytes(pbw_new(), 2, "\x01\x00\x00\x00\x02\x00\x00\x80", 8);
    f_fixed32(w, 2, 3);
    assert_int_equal(rep_values(w, TMLP_PB_SCALAR_FIXED32, v, &n, &e), TMLP_OK);
    assert_true(n == 3 && v[0] == 1 && v[1] == 0x80000002u && v[2] == 3);
    pbw_free(w);
    /* fixed64 */
    w = f_bytes(pbw_new(), 3, "\x01\x00\x00\x00\x00\x00\x00\x02", 8);
    f_fixed64(w, 3, 9);
    assert_int_equal(rep_values(w, TMLP_PB_SCALAR_FIXED64, v, &n, &e), TMLP_OK);
    assert_true(n == 2 && v[0] == 0x0200000000000001ull && v[1] == 9);
    pbw_free(w);
    /* refusals: a packed fixed32 run of 5 bytes, a truncated varint in a packed run,
     * a wire type that is neither the scalar's nor LEN */
    w = f_bytes(pbw_new(), 2, "\x01\x02\x03\x04\x05", 5);
    assert_int_equal(rep_values(w, TMLP_PB_SCALAR_FIXED32, v, &n, &e), TMLP_ERR_FORMAT);
    assert_non_null(strstr(e.message, "5 bytes, not a multiple of 4"));
    pbw_free(w);
    w = f_bytes(pbw_new(), 1, "\x01\x80", 2);
    assert_int_equal(rep_values(w, TMLP_PB_SCALAR_VARINT, v, &n, &e), TMLP_ERR_FORMAT);
    assert_non_null(strstr(e.message, "byte 3: varint runs past the end"));
    pbw_free(w);
    w = f_fixed64(pbw_new(), 1, 5);
    assert_int_equal(rep_values(w, TMLP_PB_SCALAR_VARINT, v, &n, &e), TMLP_ERR_FORMAT);
    assert_non_null(strstr(e.message, "wire type 1, expected 0 or 2"));
    pbw_free(w);
}

/* ---- valid models --------------------------------------------------------------------- */

/* A two-layer MLP written field by field: every part of the IR checked. */
static void test_parse_mlp(void **state)
{
    (void)state;
    static const char *in1[] = {"x", "w1", "b1"}, *out1[] = {"h"}, *in2[] = {"h"}, *out2[] = {"y"};
    static const int64_t wd[] = {3, 2}, bd[] = {3}, xd[] = {-1, 2}, yd[] = {-1, 3}, hd[] = {7, 3};
    static const char *params[] = {"N", NULL};
    static const float w1[] = {1, 2, 3, 4, 5, 6};
    pbw *gemm = node("Gemm", "fc", in1, 3, out1, 1);
    f_msg(gemm, 5, attr_int("transB", 1));
    f_msg(gemm, 5, attr_float("alpha", 0.5f));
    pbw *g = f_msg(pbw_new(), 1, gemm);
    f_msg(g, 1, node("Relu", NULL, in2, 1, out2, 1));
    f_str(g, 2, "main");
    f_msg(g, 5, tensor_f32("w1", wd, 2, w1, 6));
    /* b1 in float_data, packed */
    pbw *b = tensor_head("b1", FLOAT, bd, 1);
    f_bytes(b, 4, "\x00\x00\x80\x3f\x00\x00\x00\xc0\x00\x00\x00\x00", 12); /* 1, -2, 0 */
    f_msg(g, 5, b);
    f_msg(g, 11, value("x", FLOAT, xd, params, 2));
    f_msg(g, 12, value("y", FLOAT, yd, params, 2));
    f_msg(g, 13, value("h", FLOAT, hd, NULL, 2));
    pbw *m = model(g, 13);
    f_msg(m, 8, f_varint(f_str(pbw_new(), 1, "com.example"), 2, 2));
    f_msg(m, 14, f_str(f_str(pbw_new(), 1, "author"), 2, "me"));

    tmlp_onnx_model *o = NULL;
    assert_int_equal(parse_w(m, &o), TMLP_OK);
    assert_int_equal(o->ir_version, 8);
    assert_int_equal(o->opset, 13);
    assert_string_equal(o->producer_name, "test");
    assert_string_equal(o->graph_name, "main");
    assert_int_equal(o->n_opsets, 2);
    assert_string_equal(o->opsets[1].domain, "com.example");
    assert_int_equal(o->opsets[1].version, 2);
    assert_int_equal(o->n_metadata, 1);
    assert_string_equal(o->metadata[0].key, "author");
    assert_string_equal(o->metadata[0].value, "me");

    assert_int_equal(o->n_nodes, 2);
    const tmlp_onnx_node *n0 = &o->nodes[0], *n1 = &o->nodes[1];
    assert_string_equal(n0->op_type, "Gemm");
    assert_string_equal(n0->name, "fc");
    assert_string_equal(n0->domain, "");
    assert_int_equal(n0->n_inputs, 3);
    assert_string_equal(n0->inputs[2], "b1");
    assert_string_equal(n0->outputs[0], "h");
    const tmlp_onnx_attr *tb = tmlp_onnx_node_attr(n0, "transB"), *al = tmlp_onnx_node_attr(n0, "alpha");
    assert_true(tb && tb->type == TMLP_ONNX_ATTR_INT && tb->i == 1);
    assert_true(al && al->type == TMLP_ONNX_ATTR_FLOAT && al->f == 0.5f);
    assert_null(tmlp_onnx_node_attr(n0, "beta"));
    assert_string_equal(n1->op_type, "Relu");
    assert_string_equal(n1->name, "");
    assert_int_equal(n1->n_attrs, 0);

    assert_int_equal(o->n_initializers, 2);
    const tmlp_onnx_tensor *tw = tmlp_onnx_find_initializer(o, "w1"), *tbias = tmlp_onnx_find_initializer(o, "b1");
    assert_non_null(tw);
    assert_true(tw->data_type == FLOAT && tw->ndim == 2 && tw->dims[0] == 3 && tw->dims[1] == 2 && tw->numel == 6);
    assert_null(tw->i64);
    assert_int_equal(check_tensor("w1", tw->f32, w1, 6, 0, 0), 0);
    static const float bexp[] = {1, -2, 0};
    assert_int_equal(check_tensor("b1", tbias->f32, bexp, 3, 0, 0), 0);
    assert_null(tmlp_onnx_find_initializer(o, "x"));

    assert_int_equal(o->n_inputs, 1);
    const tmlp_onnx_value *x = &o->inputs[0];
    assert_string_equal(x->name, "x");
    assert_true(x->is_tensor && x->elem_type == FLOAT && x->ndim == 2);
    assert_true(x->dims[0] == -1 && x->dims[1] == 2);
    assert_string_equal(x->dim_params[0], "N");
    assert_null(x->dim_params[1]);
    assert_int_equal(o->n_outputs, 1);
    assert_int_equal(o->outputs[0].dims[1], 3);
    assert_int_equal(o->n_value_info, 1);
    assert_true(o->value_info[0].dims[0] == 7 && o->value_info[0].dims[1] == 3);
    tmlp_onnx_model_destroy(NULL, o);
    tmlp_onnx_model_destroy(NULL, NULL);
}

/* Every supported data type, through raw_data and through its typed field. */
static void test_parse_dtypes(void **state)
{
    (void)state;
    static const int64_t d3[] = {3}, d2[] = {2};
    pbw *g = base_graph();
    /* FLOAT16 raw: 1, -2, 2^-24 (smallest subnormal); then typed (int32_data): inf, 65504 */
    f_msg(g, 5, tensor_raw("h_raw", FLOAT16, d3, 1, "\x00\x3c\x00\xc0\x01\x00", 6));
    static const int64_t h_typed[] = {0x7c00, 0x7bff};
    f_msg(g, 5, f_packed_varints(tensor_head("h_typed", FLOAT16, d2, 1), 5, h_typed, 2));
    /* BFLOAT16 raw: 1, -2.5 */
    f_msg(g, 5, tensor_raw("bf", BFLOAT16, d2, 1, "\x80\x3f\x20\xc0", 4));
    /* DOUBLE: typed double_data 0.25, -3 (unpacked) */
    pbw *dd = tensor_head("dbl", DOUBLE, d2, 1);
    double dv[] = {0.25, -3};
    uint64_t bits[2];
    memcpy(bits, dv, sizeof bits);
    f_fixed64(f_fixed64(dd, 10, bits[0]), 10, bits[1]);
    f_msg(g, 5, dd);
    /* INT8 via int32_data: -5 (sign-extended on the wire), 7; UINT8 raw; BOOL raw */
    static const int64_t i8[] = {-5, 7};
    f_msg(g, 5, f_packed_varints(tensor_head("i8", INT8, d2, 1), 5, i8, 2));
    f_msg(g, 5, tensor_raw("u8", UINT8, d3, 1, "\x00\x80\xff", 3));
    f_msg(g, 5, tensor_raw("bool", BOOL, d2, 1, "\x01\x00", 2));
    /* INT16 / UINT16 raw, INT32 raw, INT64 typed (negative) and raw */
    f_msg(g, 5, tensor_raw("i16", INT16, d2, 1, "\xff\xff\x00\x80", 4));
    f_msg(g, 5, tensor_raw("u16", UINT16, d2, 1, "\xff\xff\x00\x80", 4));
    f_msg(g, 5, tensor_raw("i32", INT32, d2, 1, "\xfe\xff\xff\xff\x05\x00\x00\x00", 8));
    static const int64_t i64[] = {-1, INT64_MAX};
    f_msg(g, 5, tensor_i64("i64", d2, 1, i64, 2));
    f_msg(g, 5, tensor_raw("i64raw", INT64, d2, 1, "\xff\xff\xff\xff\xff\xff\xff\xff\x02\0\0\0\0\0\0\0", 16));
    /* UINT32 / UINT64 via uint64_data; a rank-0 scalar; a zero-size tensor with no data */
    static const int64_t u32[] = {4000000000LL, 1};
    f_msg(g, 5, f_packed_varints(tensor_head("u32", UINT32, d2, 1), 11, u32, 2));
    f_msg(g, 5, f_varint(tensor_head("u64", UINT64, NULL, 0), 11, 42));
    static const int64_t dz[] = {0, 5};
    f_msg(g, 5, tensor_head("empty", FLOAT, dz, 2));

    tmlp_onnx_model *o = NULL;
    assert_int_equal(parse_w(model(g, 13), &o), TMLP_OK);
#define F32(name) (tmlp_onnx_find_initializer(o, name)->f32)
#define I64(name) (tmlp_onnx_find_initializer(o, name)->i64)
    static const float h_raw[] = {1, -2, 0x1p-24f}, h_t[] = {INFINITY, 65504}, bf[] = {1, -2.5f}, dbl[] = {0.25f, -3};
    assert_int_equal(check_tensor("h_raw", F32("h_raw"), h_raw, 3, 0, 0), 0);
    assert_int_equal(check_tensor("h_typed", F32("h_typed"), h_t, 2, 0, 0), 0);
    assert_int_equal(check_tensor("bf", F32("bf"), bf, 2, 0, 0), 0);
    assert_int_equal(check_tensor("dbl", F32("dbl"), dbl, 2, 0, 0), 0);
    assert_true(I64("i8")[0] == -5 && I64("i8")[1] == 7);
    assert_true(I64("u8")[0] == 0 && I64("u8")[1] == 128 && I64("u8")[2] == 255);
    assert_true(I64("bool")[0] == 1 && I64("bool")[1] == 0);
    assert_true(I64("i16")[0] == -1 && I64("i16")[1] == -32768);
    assert_true(I64("u16")[0] == 65535 && I64("u16")[1] == 32768);
    assert_true(I64("i32")[0] == -2 && I64("i32")[1] == 5);
    assert_true(I64("i64")[0] == -1 && I64("i64")[1] == INT64_MAX);
    assert_true(I64("i64raw")[0] == -1 && I64("i64raw")[1] == 2);
    assert_true(I64("u32")[0] == 4000000000LL && I64("u32")[1] == 1);
    const tmlp_onnx_tensor *s = tmlp_onnx_find_initializer(o, "u64");
    assert_true(s->ndim == 0 && s->numel == 1 && s->i64[0] == 42);
    const tmlp_onnx_tensor *z = tmlp_onnx_find_initializer(o, "empty");
    assert_true(z->numel == 0 && z->f32 != NULL);
#undef F32
#undef I64
    assert_string_equal(tmlp_onnx_dtype_name(BFLOAT16), "BFLOAT16");
    assert_string_equal(tmlp_onnx_dtype_name(99), "?");
    tmlp_onnx_model_destroy(NULL, o);
}

/* Constant nodes and attribute kinds: value (tensor), value_float(s), value_int(s),
 * strings, an attribute without type (IR version 1), unpacked ints, omitted inputs. */
static void test_parse_attrs(void **state)
{
    (void)state;
    static const char *none[] = {0}, *c_out[] = {"shape"}, *clip_in[] = {"x", "", "hi"}, *clip_out[] = {"z"};
    static const int64_t shp[] = {-1, 4}, d2[] = {2};
    pbw *g = base_graph();
    f_msg(g, 1, f_msg(node("Constant", "c0", none, 0, c_out, 1), 5, attr_tensor("value", tensor_i64(NULL, d2, 1, shp, 2))));
    pbw *c1 = node("Constant", "c1", none, 0, c_out, 1);
    pbw *fl = attr_head("value_floats", 6);
    f_bytes(fl, 7, "\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
    f_float(fl, 7, 3.0f); /* an unpacked element after a packed run */
    f_msg(c1, 5, fl);
    pbw *in = attr_head("value_ints", 7);
    f_varint(f_varint(in, 8, 5), 8, (uint64_t)-6); /* unpacked */
    f_msg(c1, 5, in);
    f_msg(c1, 5, f_str(f_str(attr_head("names", 8), 9, "a"), 9, "bc"));
    f_msg(c1, 5, f_varint(attr_head("untyped", 0), 3, 9)); /* no type field: INT from `i` */
    f_msg(c1, 5, attr_str("mode", "constant"));
    f_msg(c1, 5, attr_head("empty_ints", 7));
    f_msg(g, 1, c1);
    f_msg(g, 1, node("Clip", "clip", clip_in, 3, clip_out, 1));
    static const int64_t sq_axes[] = {0, -1};
    f_msg(g, 1, f_msg(node("Squeeze", "sq", clip_out, 1, c_out, 1), 5, attr_ints("axes", sq_axes, 2)));

    tmlp_onnx_model *o = NULL;
    assert_int_equal(parse_w(model(g, 13), &o), TMLP_OK);
    assert_int_equal(o->n_nodes, 5);
    const tmlp_onnx_attr *v = tmlp_onnx_node_attr(&o->nodes[1], "value");
    assert_true(v && v->type == TMLP_ONNX_ATTR_TENSOR && v->t);
    assert_true(v->t->data_type == INT64 && v->t->ndim == 1 && v->t->numel == 2);
    assert_true(v->t->i64[0] == -1 && v->t->i64[1] == 4);
    assert_string_equal(v->t->name, "");
    const tmlp_onnx_node *n = &o->nodes[2];
    const tmlp_onnx_attr *a = tmlp_onnx_node_attr(n, "value_floats");
    static const float fl_exp[] = {1, 2, 3};
    assert_true(a && a->type == TMLP_ONNX_ATTR_FLOATS && a->n == 3);
    assert_int_equal(check_tensor("value_floats", a->floats, fl_exp, 3, 0, 0), 0);
    a = tmlp_onnx_node_attr(n, "value_ints");
    assert_true(a && a->type == TMLP_ONNX_ATTR_INTS && a->n == 2 && a->ints[0] == 5 && a->ints[1] == -6);
    a = tmlp_onnx_node_attr(n, "names");
    assert_true(a && a->type == TMLP_ONNX_ATTR_STRINGS && a->n == 2);
    assert_string_equal(a->strings[1], "bc");
    a = tmlp_onnx_node_attr(n, "untyped");
    assert_true(a && a->type == TMLP_ONNX_ATTR_INT && a->i == 9);
    a = tmlp_onnx_node_attr(n, "mode");
    assert_true(a && a->type == TMLP_ONNX_ATTR_STRING);
    assert_string_equal(a->s, "constant");
    a = tmlp_onnx_node_attr(n, "empty_ints");
    assert_true(a && a->type == TMLP_ONNX_ATTR_INTS && a->n == 0 && a->ints != NULL);
    const tmlp_onnx_node *clip = &o->nodes[3];
    assert_int_equal(clip->n_inputs, 3);
    assert_string_equal(clip->inputs[1], ""); /* omitted optional input */
    a = tmlp_onnx_node_attr(&o->nodes[4], "axes"); /* Squeeze before opset 13: an attribute */
    assert_true(a && a->type == TMLP_ONNX_ATTR_INTS && a->n == 2 && a->ints[0] == 0 && a->ints[1] == -1);
    tmlp_onnx_model_destroy(NULL, o);
}

/* Opset 18: ReduceMean takes its axes as an INT64 input; "ai.onnx" names the default
 * domain; shapes without dims, with an empty Dimension and of a non-tensor type. */
static void test_parse_opset18(void **state)
{
    (void)state;
    static const char *in[] = {"y", "axes"}, *out[] = {"m"};
    static const int64_t ad[] = {1}, axes[] = {1}, unk[] = {-1};
    pbw *g = base_graph();
    f_msg(g, 1, f_msg(node("ReduceMean", "rm", in, 2, out, 1), 5, attr_int("keepdims", 0)));
    f_msg(g, 5, tensor_i64("axes", ad, 1, axes, 1));
    f_msg(g, 13, value("m", FLOAT, unk, NULL, 1));
    /* value_info "s": a sequence of tensors; "t": a tensor type without shape */
    pbw *seq = f_msg(pbw_new(), 4, f_msg(pbw_new(), 1, f_msg(pbw_new(), 1, f_varint(pbw_new(), 1, FLOAT))));
    f_msg(g, 13, f_msg(f_str(pbw_new(), 1, "s"), 2, seq));
    f_msg(g, 13, f_msg(f_str(pbw_new(), 1, "t"), 2, f_msg(pbw_new(), 1, f_varint(pbw_new(), 1, INT64))));
    pbw *m = f_str(f_varint(pbw_new(), 1, 9), 2, "test");
    f_msg(m, 7, g);
    f_msg(m, 8, f_varint(f_str(pbw_new(), 1, "ai.onnx"), 2, 18));
    tmlp_onnx_model *o = NULL;
    assert_int_equal(parse_w(m, &o), TMLP_OK);
    assert_int_equal(o->opset, 18);
    assert_int_equal(o->ir_version, 9);
    const tmlp_onnx_tensor *ax = tmlp_onnx_find_initializer(o, "axes");
    assert_true(ax && ax->data_type == INT64 && ax->numel == 1 && ax->i64[0] == 1);
    assert_int_equal(o->n_value_info, 3);
    assert_true(o->value_info[0].ndim == 1 && o->value_info[0].dims[0] == -1);
    assert_null(o->value_info[0].dim_params[0]);
    assert_true(!o->value_info[1].is_tensor && o->value_info[1].ndim == -1 && o->value_info[1].elem_type == 0);
    assert_true(o->value_info[2].is_tensor && o->value_info[2].elem_type == INT64 && o->value_info[2].ndim == -1);
    tmlp_onnx_model_destroy(NULL, o);
}

/* Fields the decoder does not know, of every skippable wire type, at every level. */
static pbw *unknowns(pbw *w)
{
    f_varint(w, 1000, 5);
    f_fixed64(w, 1001, 6);
    f_str(w, 1002, "skip me");
    return f_fixed32(w, 1003, 7);
}

static void test_parse_unknown_fields(void **state)
{
    (void)state;
    static const char *in[] = {"x"}, *out[] = {"y"};
    static const int64_t d[] = {2};
    static const float v[] = {1, 2};
    pbw *n = unknowns(node("Relu", "r", in, 1, out, 1));
    f_msg(n, 5, unknowns(attr_int("k", 3)));
    f_str(n, 6, "a doc string");
    pbw *g = unknowns(f_msg(pbw_new(), 1, n));
    f_msg(g, 5, unknowns(tensor_f32("w", d, 1, v, 2)));
    f_msg(g, 11, unknowns(value("x", FLOAT, d, NULL, 1)));
    f_msg(g, 14, f_str(pbw_new(), 1, "quantization annotation: skipped"));
    pbw *m = model(g, 13);
    unknowns(m);
    f_str(m, 6, "model doc");
    f_msg(m, 25, f_str(pbw_new(), 1, "a FunctionProto: skipped"));
    tmlp_onnx_model *o = NULL;
    assert_int_equal(parse_w(m, &o), TMLP_OK);
    assert_true(o->n_nodes == 1 && o->n_initializers == 1 && o->n_inputs == 1);
    assert_int_equal(tmlp_onnx_node_attr(&o->nodes[0], "k")->i, 3);
    assert_int_equal(check_tensor("w", o->initializers[0].f32, v, 2, 0, 0), 0);
    tmlp_onnx_model_destroy(NULL, o);
}

/* ---- files exported by PyTorch -------------------------------------------------------- */

/* tools/make_onnx_parse_fixtures.py: Linear layer k has W[o][i] = 0.01 (10 o + i + 1)(k + 1)
 * and b[o] = -0.5 + 0.25 o. */
static void check_linear(const tmlp_onnx_model *m, const char *w, const char *b, int64_t out, int64_t in, int k)
{
    const tmlp_onnx_tensor *tw = tmlp_onnx_find_initializer(m, w), *tb = tmlp_onnx_find_initializer(m, b);
    assert_non_null(tw);
    assert_non_null(tb);
    assert_true(tw->data_type == FLOAT && tw->ndim == 2 && tw->dims[0] == out && tw->dims[1] == in);
    assert_true(tb->ndim == 1 && tb->dims[0] == out);
    float we[64], be[8];
    for (int64_t o = 0; o < out; o++) {
        be[o] = (float)(-0.5 + 0.25 * (double)o);
        for (int64_t i = 0; i < in; i++) we[o * in + i] = (float)(0.01 * (double)(10 * o + i + 1) * (k + 1));
    }
    assert_int_equal(check_tensor(w, tw->f32, we, out * in, 0, 0), 0);
    assert_int_equal(check_tensor(b, tb->f32, be, out, 0, 0), 0);
}

static tmlp_onnx_model *parse_fixture(const char *name)
{
    size_t n;
    uint8_t *b = read_file(test_fixture(name), &n);
    assert_int_equal(tmlp_onnx_looks_like(b, n), 1);
    tmlp_onnx_model *m = NULL;
    tmlp_status s = parse_bytes(b, n, &m);
    if (s != TMLP_OK) print_error("%s: %s\n", name, last_err.message);
    assert_int_equal(s, TMLP_OK);
    free(b);
    return m;
}

static void test_pytorch_mlp(void **state)
{
    (void)state;
    tmlp_onnx_model *m = parse_fixture("onnx/parse/mlp.onnx");
    assert_int_equal(m->opset, 13);
    assert_string_equal(m->producer_name, "pytorch");
    static const char *ops[] = {"Gemm", "Relu", "Gemm"};
    assert_int_equal(m->n_nodes, 3);
    for (int i = 0; i < 3; i++) assert_string_equal(m->nodes[i].op_type, ops[i]);
    assert_string_equal(m->nodes[0].inputs[1], "0.weight");
    assert_int_equal(tmlp_onnx_node_attr(&m->nodes[0], "transB")->i, 1);
    assert_string_equal(m->nodes[2].outputs[0], "y");
    check_linear(m, "0.weight", "0.bias", 3, 4, 0);
    check_linear(m, "2.weight", "2.bias", 2, 3, 1);
    assert_int_equal(m->n_inputs, 1);
    assert_true(m->inputs[0].elem_type == FLOAT && m->inputs[0].ndim == 2);
    assert_true(m->inputs[0].dims[0] == -1 && m->inputs[0].dims[1] == 4);
    assert_string_equal(m->inputs[0].dim_params[0], "batch");
    assert_true(m->outputs[0].ndim == 2 && m->outputs[0].dims[1] == 2);
    assert_int_equal(m->n_metadata, 1);
    assert_string_equal(m->metadata[0].key, "tinymlp.fixture");
    assert_string_equal(m->metadata[0].value, "mlp");
    tmlp_onnx_model_destroy(NULL, m);
}

static void test_pytorch_reshape(void **state)
{
    (void)state;
    tmlp_onnx_model *m = parse_fixture("onnx/parse/reshape_mlp.onnx");
    static const char *ops[] = {"Constant", "Reshape", "Gemm", "Constant", "Unsqueeze", "Softmax"};
    assert_int_equal(m->n_nodes, 6);
    for (int i = 0; i < 6; i++) assert_string_equal(m->nodes[i].op_type, ops[i]);
    const tmlp_onnx_attr *shape = tmlp_onnx_node_attr(&m->nodes[0], "value");
    assert_true(shape && shape->type == TMLP_ONNX_ATTR_TENSOR);
    assert_true(shape->t->data_type == INT64 && shape->t->numel == 2);
    assert_true(shape->t->i64[0] == -1 && shape->t->i64[1] == 4);
    const tmlp_onnx_attr *axes = tmlp_onnx_node_attr(&m->nodes[3], "value");
    assert_true(axes && axes->t->data_type == INT64 && axes->t->numel == 1 && axes->t->i64[0] == 1);
    assert_string_equal(m->nodes[4].inputs[1], m->nodes[3].outputs[0]);
    assert_int_equal(tmlp_onnx_node_attr(&m->nodes[5], "axis")->i, -1);
    check_linear(m, "fc.weight", "fc.bias", 2, 4, 0);
    assert_true(m->inputs[0].ndim == 4 && m->inputs[0].dims[0] == -1 && m->inputs[0].dims[3] == 2);
    tmlp_onnx_model_destroy(NULL, m);
}

/* ---- sniffing ------------------------------------------------------------------------- */

static void test_looks_like(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = read_file(test_fixture("onnx/parse/mlp.onnx"), &n);
    assert_int_equal(tmlp_onnx_looks_like(b, n), 1);
    assert_int_equal(tmlp_onnx_looks_like(b, 16), 1); /* a prefix is enough */
    assert_int_equal(tmlp_onnx_looks_like(b, 0), 0);
    assert_int_equal(tmlp_onnx_looks_like(NULL, 0), 0);
    free(b);
    static const char *safetensors[] = {"ref_mlp.safetensors", "cli_tiny_mlp.safetensors", "ref_half.safetensors",
                                        "fashion_ref_256.safetensors", "cli_tiny_data.safetensors"};
    for (size_t i = 0; i < sizeof safetensors / sizeof safetensors[0]; i++) {
        b = read_file(test_fixture(safetensors[i]), &n);
        assert_int_equal(tmlp_onnx_looks_like(b, n), 0);
        tmlp_onnx_model *m = NULL;
        assert_int_equal(parse_bytes(b, n, &m), TMLP_ERR_FORMAT);
        assert_non_null(strstr(last_err.message, "not an ONNX model"));
        free(b);
    }
    /* safetensors headers whose first byte is 0x08 (an ir_version tag): the zero high bytes
     * of the 8-byte length are not a valid field */
    static const uint8_t st1[] = {0x08, 0x01, 0, 0, 0, 0, 0, 0, '{', '}'};
    static const uint8_t st2[] = {0x08, 0x3a, 0x01, 0, 0, 0, 0, 0, '{', '"'};
    static const uint8_t st3[] = {0x08, 0x05, 0x3a, 0x00, 0, 0, 0, 0, '{', '"'};
    assert_int_equal(tmlp_onnx_looks_like(st1, sizeof st1), 0);
    assert_int_equal(tmlp_onnx_looks_like(st2, sizeof st2), 0);
    assert_int_equal(tmlp_onnx_looks_like(st3, sizeof st3), 0);
    static const uint8_t text[] = "hello, world", idx[] = {0, 0, 8, 3, 0, 0, 0, 1};
    assert_int_equal(tmlp_onnx_looks_like(text, sizeof text - 1), 0);
    assert_int_equal(tmlp_onnx_looks_like(idx, sizeof idx), 0);
    static const uint8_t zero_ir[] = {0x08, 0x00, 0x12, 0x00}, unknown_field[] = {0x08, 0x07, 0x48, 0x01};
    assert_int_equal(tmlp_onnx_looks_like(zero_ir, sizeof zero_ir), 0);
    assert_int_equal(tmlp_onnx_looks_like(unknown_field, sizeof unknown_field), 0);
    static const uint8_t graph_first[] = {0x3a, 0x00, 0x08, 0x07};
    assert_int_equal(tmlp_onnx_looks_like(graph_first, sizeof graph_first), 0);
}

/* ---- refusals: the wire format --------------------------------------------------------- */

/* Every prefix of a valid model either parses (it ends at a field boundary after the graph)
 * or fails with TMLP_ERR_FORMAT; the named cut points give their messages. */
static void test_truncated(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = read_file(test_fixture("onnx/parse/mlp.onnx"), &n);
    int ok = 0;
    for (size_t k = 0; k < n; k++) {
        tmlp_onnx_model *m = NULL;
        tmlp_status s = parse_bytes(b, k, &m);
        assert_true(s == TMLP_OK || s == TMLP_ERR_FORMAT);
        ok += s == TMLP_OK;
        tmlp_onnx_model_destroy(NULL, m);
    }
    assert_true(ok <= 2); /* only the cuts before / inside the trailing metadata field */
    tmlp_onnx_model *m = NULL;
    /* inside producer_name (08 07 12 07 "pytorch"): its length runs past the end */
    assert_int_equal(parse_bytes(b, 6, &m), TMLP_ERR_FORMAT);
    assert_non_null(strstr(last_err.message, "byte 2: field 2 has length 7, only 2 bytes are left"));
    /* just before the graph: no graph */
    assert_int_equal(parse_bytes(b, 19, &m), TMLP_ERR_FORMAT);
    assert_non_null(strstr(last_err.message, "no graph"));
    /* inside the graph's length varint (3a e8 03) */
    assert_int_equal(parse_bytes(b, 20, &m), TMLP_ERR_FORMAT);
    assert_non_null(strstr(last_err.message, "byte 20: varint runs past the end"));
    /* half of the graph */
    assert_int_equal(parse_bytes(b, n / 2, &m), TMLP_ERR_FORMAT);
    assert_non_null(strstr(last_err.message, "byte 19: field 7 has length"));
    free(b);
}

static void test_bad_wire(void **state)
{
    (void)state;
    /* an 11-byte varint as a node's field tag */
    pbw *g = base_graph();
    pbw *n = node("Relu", "bad", NULL, 0, NULL, 0);
    put(n, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11);
    f_msg(g, 1, n);
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "varint longer than 10 bytes");
    /* a varint above 2^64 - 1 as a dim */
    g = base_graph();
    pbw *t = pbw_new();
    put_tag(t, 1, 0);
    put(t, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10);
    f_msg(g, 5, t);
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "exceeds 64 bits");
    /* a node whose length runs past the graph (the graph itself is consistent) */
    g = base_graph();
    put(g, "\x0a\x7f\x01\x02", 4);
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "field 1 has length 127, only 2 bytes are left");
    /* group wire types 3 and 4, and 6 and 7, inside a graph */
    static const uint8_t tags[] = {0x33, 0x34, 0x36, 0x37};
    static const char *msgs[] = {"group wire type 3", "group wire type 4", "invalid wire type 6", "invalid wire type 7"};
    for (int i = 0; i < 4; i++) {
        g = base_graph();
        put(g, &tags[i], 1);
        expect_fail(model(g, 13), TMLP_ERR_FORMAT, msgs[i]);
    }
    /* known fields with the wrong wire type */
    g = f_varint(base_graph(), 2, 5); /* GraphProto.name as a varint */
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "GraphProto.name has wire type 0, expected 2");
    g = base_graph();
    f_msg(g, 1, f_float(node("Relu", "r2", NULL, 0, NULL, 0), 4, 1.0f));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "NodeProto.op_type has wire type 5");
    g = base_graph();
    f_msg(g, 5, f_str(tensor_head("t", FLOAT, NULL, 0), 2, "x"));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "TensorProto.data_type has wire type 2");
    /* int32 fields out of range */
    g = base_graph();
    f_msg(g, 5, tensor_head("t", (int32_t)0, NULL, 0));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 't': no data_type");
    g = base_graph();
    f_msg(g, 5, f_varint(pbw_new(), 2, (uint64_t)1 << 40));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "is not an int32");
}

/* ---- refusals: ONNX ------------------------------------------------------------------- */

static void test_external_sparse_subgraph(void **state)
{
    (void)state;
    static const int64_t d[] = {2};
    /* external data: data_location = EXTERNAL, or external_data entries */
    pbw *g = base_graph();
    pbw *t = f_varint(tensor_head("big", FLOAT, d, 1), 14, 1);
    f_msg(t, 13, f_str(f_str(pbw_new(), 1, "location"), 2, "weights.bin"));
    f_msg(g, 5, t);
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "initializer 'big': external data is not supported");
    g = base_graph();
    f_msg(g, 5, f_msg(tensor_head("big2", FLOAT, d, 1), 13, f_str(pbw_new(), 1, "location")));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "external data is not supported");
    /* a sparse initializer */
    g = f_msg(base_graph(), 15, f_msg(pbw_new(), 3, pbw_new()));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "sparse initializer");
    /* a subgraph attribute (If's then_branch), by field and by type */
    g = base_graph();
    f_msg(g, 1, f_msg(node("If", "branch", NULL, 0, NULL, 0), 5, f_msg(attr_head("then_branch", 5), 6, base_graph())));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "node 'branch' attribute 'then_branch' holds a subgraph");
    g = base_graph();
    f_msg(g, 1, f_msg(node("Loop", NULL, NULL, 0, NULL, 0), 5, attr_head("body", 5)));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "node #1 (Loop) attribute 'body' holds a subgraph");
    g = base_graph();
    f_msg(g, 1, f_msg(node("Scan", "s", NULL, 0, NULL, 0), 5, f_msg(attr_head("bodies", 10), 11, pbw_new())));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "holds a subgraph");
    /* sparse tensor attribute, tensor list, type attribute, ref_attr_name */
    g = base_graph();
    f_msg(g, 1, f_msg(node("Constant", "sp", NULL, 0, NULL, 0), 5, f_msg(attr_head("sparse_value", 11), 22, pbw_new())));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "node 'sp' attribute 'sparse_value' holds a sparse tensor");
    g = base_graph();
    f_msg(g, 1, f_msg(node("X", "ts", NULL, 0, NULL, 0), 5, f_msg(attr_head("list", 9), 10, pbw_new())));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "list of tensors");
    g = base_graph();
    f_msg(g, 1, f_msg(node("X", "tp", NULL, 0, NULL, 0), 5, f_msg(attr_head("type", 13), 14, pbw_new())));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "type attributes");
    g = base_graph();
    f_msg(g, 1, f_msg(node("Relu", "ref", NULL, 0, NULL, 0), 5, f_str(attr_head("alpha", 1), 21, "a")));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "node 'ref' attribute 'alpha' refers to a function");
    /* segmented tensors */
    g = base_graph();
    f_msg(g, 5, f_msg(tensor_head("seg", FLOAT, d, 1), 3, f_varint(pbw_new(), 1, 0)));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "initializer 'seg': segmented");
}

static void test_sizes_and_dims(void **state)
{
    (void)state;
    float v[16] = {0};
    static const int64_t d34[] = {3, 4};
    /* the size mismatch named in full */
    pbw *g = f_msg(base_graph(), 5, tensor_f32("fc.weight", d34, 2, v, 10));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 'fc.weight': raw_data has 40 bytes, dims 3x4 FLOAT need 48");
    g = f_msg(base_graph(), 5, f_bytes(tensor_head("fd", FLOAT, d34, 2), 4, v, 44));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 'fd': float_data has 11 values, dims 3x4 FLOAT need 12");
    g = f_msg(base_graph(), 5, tensor_head("nodata", FLOAT, d34, 2));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 'nodata': no data field has 0 values");
    /* an empty packed float_data beside raw_data is no second data field */
    g = f_msg(base_graph(), 5, f_bytes(tensor_f32("one", d34, 2, v, 12), 4, v, 0));
    assert_int_equal(parse_w(model(g, 13), NULL), TMLP_OK);
    g = f_msg(base_graph(), 5, f_bytes(tensor_f32("two", d34, 2, v, 12), 4, v, 48));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 'two': data in both float_data and raw_data");
    static const int64_t one[] = {1}, d1[] = {1};
    g = f_msg(base_graph(), 5, f_packed_varints(tensor_head("wrong", FLOAT, d1, 1), 7, one, 1));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 'wrong': int64_data cannot hold FLOAT values");
    /* a packed float_data whose length is not a multiple of 4 */
    g = f_msg(base_graph(), 5, f_bytes(tensor_head("odd", FLOAT, d1, 1), 4, v, 5));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "not a multiple of 4");
    /* dims: negative, 2^31, nine of them, a product past int64 */
    static const int64_t neg[] = {2, -3}, big[] = {(int64_t)1 << 31}, nine[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const int64_t huge[] = {2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2147483647};
    g = f_msg(base_graph(), 5, tensor_f32("neg", neg, 2, v, 0));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 'neg': dim 1 is -3, must be in [0, 2^31)");
    g = f_msg(base_graph(), 5, tensor_f32("big", big, 1, v, 0));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "dim 0 is 2147483648");
    g = f_msg(base_graph(), 5, tensor_f32("nine", nine, 9, v, 1));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "initializer 'nine': more than 8 dims");
    g = f_msg(base_graph(), 5, tensor_f32("huge", huge, 8, v, 1));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 'huge': the product of its dims overflows");
    /* a large claimed size with a few bytes: refused before anything that size is allocated */
    static const int64_t large[] = {1 << 30, 1 << 30};
    g = f_msg(base_graph(), 5, tensor_f32("large", large, 2, v, 4));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "raw_data has 16 bytes, dims 1073741824x1073741824 FLOAT need");
    /* a zero dim makes any other dim fine: no data needed */
    static const int64_t zero[] = {0, 2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2147483647};
    g = f_msg(base_graph(), 5, tensor_head("zero", FLOAT, zero, 8));
    assert_int_equal(parse_w(model(g, 13), NULL), TMLP_OK);
    /* types we do not convert; UINT64 above INT64_MAX */
    g = f_msg(base_graph(), 5, f_str(tensor_head("str", STRING, d1, 1), 6, "hi"));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "initializer 'str': data type STRING (8) is not supported");
    g = f_msg(base_graph(), 5, tensor_raw("c64", COMPLEX64, d1, 1, v, 8));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "COMPLEX64");
    g = f_msg(base_graph(), 5, tensor_raw("f8", 17, d1, 1, v, 1));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "data type ? (17)");
    g = f_msg(base_graph(), 5, f_varint(tensor_head("u64", UINT64, d1, 1), 11, UINT64_MAX));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "value 18446744073709551615 does not fit in int64");
    g = f_msg(base_graph(), 5, tensor_raw("u64r", UINT64, d1, 1, "\xff\xff\xff\xff\xff\xff\xff\xff", 8));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "does not fit in int64");
    /* the same initializer name twice */
    g = f_msg(base_graph(), 5, tensor_f32("w", d1, 1, v, 1));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "initializer 'w' appears twice");
}

static void test_values_and_nesting(void **state)
{
    (void)state;
    /* a value with 9 dims; a negative dim_value */
    static const int64_t nine[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, neg[] = {-5};
    pbw *g = f_msg(base_graph(), 13, value("v9", FLOAT, nine, NULL, 9));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "value_info 'v9': 9 dims, at most 8");
    pbw *dim = f_varint(pbw_new(), 1, (uint64_t)neg[0]);
    pbw *tt = f_msg(f_varint(pbw_new(), 1, FLOAT), 2, f_msg(pbw_new(), 1, dim));
    g = f_msg(base_graph(), 11, f_msg(f_str(pbw_new(), 1, "neg"), 2, f_msg(pbw_new(), 1, tt)));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "graph input 'neg': dim 0 is -5");
    /* types nested 40 deep: sequence(sequence(...)) */
    pbw *type = f_msg(pbw_new(), 1, f_varint(pbw_new(), 1, FLOAT));
    for (int i = 0; i < 40; i++) type = f_msg(pbw_new(), 4, f_msg(pbw_new(), 1, type));
    g = f_msg(base_graph(), 13, f_msg(f_str(pbw_new(), 1, "deep"), 2, type));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "types nested deeper than 16 levels");
    /* 15 levels are fine (map and optional count too) */
    type = f_msg(pbw_new(), 1, f_varint(pbw_new(), 1, FLOAT));
    for (int i = 0; i < 14; i++)
        type = i % 2 ? f_msg(pbw_new(), 9, f_msg(pbw_new(), 1, type))
                     : f_msg(pbw_new(), 5, f_msg(f_varint(pbw_new(), 1, INT64), 2, type));
    g = f_msg(base_graph(), 13, f_msg(f_str(pbw_new(), 1, "ok"), 2, type));
    assert_int_equal(parse_w(model(g, 13), NULL), TMLP_OK);
    /* two type fields, two graphs: protobuf would merge them */
    g = f_msg(base_graph(), 13, f_msg(f_msg(value("twice", FLOAT, NULL, NULL, 0), 2, pbw_new()), 2, pbw_new()));
    expect_fail(model(g, 13), TMLP_ERR_UNSUPPORTED, "a second ValueInfoProto.type");
    expect_fail(f_msg(model(base_graph(), 13), 7, base_graph()), TMLP_ERR_UNSUPPORTED, "a second ModelProto.graph");
}

static void test_strings_and_nodes(void **state)
{
    (void)state;
    static const char *in[] = {"x"}, *out[] = {"z"};
    /* an embedded NUL in a node name, an input, an attribute string, a metadata value */
    pbw *g = base_graph();
    pbw *n = f_bytes(pbw_new(), 3, "a\0b", 3);
    f_msg(g, 1, f_str(n, 4, "Relu"));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "NodeProto.name contains a NUL byte");
    g = base_graph();
    f_msg(g, 1, f_str(f_bytes(pbw_new(), 1, "x\0", 2), 4, "Relu"));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "NodeProto.input contains a NUL byte");
    g = base_graph();
    f_msg(g, 1, f_msg(node("Pad", "p", in, 1, out, 1), 5, f_bytes(attr_head("mode", 3), 4, "re\0flect", 8)));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "AttributeProto.s contains a NUL byte");
    pbw *m = model(base_graph(), 13);
    f_msg(m, 14, f_bytes(f_str(pbw_new(), 1, "k"), 2, "v\0", 2));
    expect_fail(m, TMLP_ERR_FORMAT, "metadata_props value contains a NUL byte");
    /* a node without op_type; attributes without value or tensor */
    g = f_msg(base_graph(), 1, f_str(pbw_new(), 3, "noop"));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "node 'noop' has no op_type");
    g = f_msg(base_graph(), 1, f_msg(node("Relu", "r9", in, 1, out, 1), 5, attr_head("what", 0)));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "node 'r9' attribute 'what' has no type and no value");
    g = f_msg(base_graph(), 1, f_msg(node("Constant", "c", NULL, 0, out, 1), 5, attr_head("value", 4)));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "node 'c' attribute 'value' has type TENSOR but no tensor");
    g = f_msg(base_graph(), 1, f_msg(node("Relu", "r8", in, 1, out, 1), 5, attr_head("odd", 42)));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "has unknown type 42");
    /* a Constant's tensor is checked like an initializer, named by its node */
    static const int64_t d3[] = {3};
    g = f_msg(base_graph(), 1,
              f_msg(node("Constant", "k", NULL, 0, out, 1), 5, attr_tensor("value", tensor_f32(NULL, d3, 1, (float[]){1, 2}, 2))));
    expect_fail(model(g, 13), TMLP_ERR_FORMAT, "node 'k' attribute 'value': raw_data has 8 bytes, dims 3 FLOAT need 12");
    /* opsets: the default domain twice, or version 0 */
    m = model(base_graph(), 13);
    f_msg(m, 8, f_varint(f_str(pbw_new(), 1, "ai.onnx"), 2, 14));
    expect_fail(m, TMLP_ERR_FORMAT, "lists the default domain twice");
    expect_fail(model(base_graph(), 0), TMLP_ERR_FORMAT, "default-domain opset version 0");
    /* no graph; not ONNX at all; an empty buffer; bad arguments */
    expect_fail(f_str(f_varint(pbw_new(), 1, 8), 2, "test"), TMLP_ERR_FORMAT, "the model has no graph");
    expect_fail(f_str(pbw_new(), 2, "test"), TMLP_ERR_FORMAT, "not an ONNX model");
    static tmlp_onnx_model dummy;
    tmlp_onnx_model *o = &dummy;
    assert_int_equal(parse_bytes((const uint8_t *)"", 0, &o), TMLP_ERR_FORMAT);
    assert_non_null(strstr(last_err.message, "empty"));
    o = &dummy;
    assert_int_equal(tmlp_onnx_parse(NULL, NULL, 4, &o, NULL), TMLP_ERR_ARG);
    assert_null(o);
    assert_int_equal(tmlp_onnx_parse(NULL, (const uint8_t *)"\x08\x07", 2, NULL, NULL), TMLP_ERR_ARG);
    assert_null(tmlp_onnx_node_attr(NULL, "x"));
    assert_null(tmlp_onnx_find_initializer(NULL, "x"));
}

/* ---- memory --------------------------------------------------------------------------- */

/* Fail each allocation in turn: TMLP_ERR_NOMEM and nothing leaked, until the parse needs
 * no more allocations than the walk allows and succeeds. */
static void oom_walk(const uint8_t *b, size_t n)
{
    test_alloc ta;
    tmlp_allocator a = test_alloc_hook(&ta);
    for (long k = 0;; k++) {
        test_alloc_init(&ta, k);
        tmlp_onnx_model *m = NULL;
        tmlp_error e;
        tmlp_status s = tmlp_onnx_parse(&a, b, n, &m, &e);
        tmlp_onnx_model_destroy(&a, m);
        assert_int_equal(ta.allocs, ta.frees);
        if (s == TMLP_OK) {
            assert_int_equal(ta.failed, 0);
            assert_true(k > 1);
            return;
        }
        assert_int_equal(s, TMLP_ERR_NOMEM);
        assert_int_equal(e.code, TMLP_ERR_NOMEM);
        assert_null(m);
    }
}

static void test_oom_every_allocation(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = read_file(test_fixture("onnx/parse/reshape_mlp.onnx"), &n);
    oom_walk(b, n);
    free(b);
    /* a model with many initializers (blocks of their own and the name index) */
    pbw *g = base_graph();
    float big[2048] = {0};
    static const int64_t d[] = {2048};
    char name[16];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "t%d", i);
        f_msg(g, 5, tensor_f32(name, d, 1, big, 2048));
    }
    pbw *m = model(g, 13);
    oom_walk(m->p, m->n);
    pbw_free(m);
}

/* Every seed of the fuzzer's corpus (fuzz/corpus/onnx/) parses, except bad_* files which
 * must fail cleanly. */
static tmlp_status corpus_parse(const unsigned char *b, size_t n)
{
    tmlp_onnx_model *m = NULL;
    tmlp_status s = parse_bytes(b, n, &m);
    tmlp_onnx_model_destroy(NULL, m);
    return s;
}

static void test_fuzz_corpus(void **state)
{
    (void)state;
    test_corpus_replay("onnx", corpus_parse, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pb_varint),
        cmocka_unit_test(test_pb_fields),
        cmocka_unit_test(test_pb_repeated),
        cmocka_unit_test(test_parse_mlp),
        cmocka_unit_test(test_parse_dtypes),
        cmocka_unit_test(test_parse_attrs),
        cmocka_unit_test(test_parse_opset18),
        cmocka_unit_test(test_parse_unknown_fields),
        cmocka_unit_test(test_pytorch_mlp),
        cmocka_unit_test(test_pytorch_reshape),
        cmocka_unit_test(test_looks_like),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_wire),
        cmocka_unit_test(test_external_sparse_subgraph),
        cmocka_unit_test(test_sizes_and_dims),
        cmocka_unit_test(test_values_and_nesting),
        cmocka_unit_test(test_strings_and_nodes),
        cmocka_unit_test(test_oom_every_allocation),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
