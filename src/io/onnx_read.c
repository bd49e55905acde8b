/* onnx_read.c — decode a serialized ONNX ModelProto into the IR of onnx_ir.h.
 *
 * The messages read, with their field numbers from onnx/onnx.proto (any other field is
 * skipped whole by pb.c, so newer files with fields we do not know still parse):
 *
 *   ModelProto        1 ir_version, 2 producer_name, 7 graph, 8 opset_import, 14 metadata_props
 *   OperatorSetIdProto 1 domain, 2 version        StringStringEntryProto 1 key, 2 value
 *   GraphProto        1 node, 2 name, 5 initializer, 11 input, 12 output, 13 value_info,
 *                     15 sparse_initializer (refused)
 *   NodeProto         1 input, 2 output, 3 name, 4 op_type, 5 attribute, 7 domain
 *   AttributeProto    1 name, 20 type, 2 f, 3 i, 4 s, 5 t, 7 floats, 8 ints, 9 strings;
 *                     refused: 6 g, 10 tensors, 11 graphs, 14 tp, 15 type_protos,
 *                     21 ref_attr_name, 22 sparse_tensor, 23 sparse_tensors
 *   TensorProto       1 dims, 2 data_type, 3 segment (refused), 4 float_data, 5 int32_data,
 *                     6 string_data, 7 int64_data, 8 name, 9 raw_data, 10 double_data,
 *                     11 uint64_data, 13 external_data / 14 data_location = 1 (refused)
 *   ValueInfoProto    1 name, 2 type
 *   TypeProto         1 tensor_type {1 elem_type, 2 shape}, 4 sequence_type {1 elem_type},
 *                     5 map_type {2 value_type}, 9 optional_type {1 elem_type}
 *   TensorShapeProto  1 dim {1 dim_value, 2 dim_param}
 *
 * Each message is read in two passes over its bytes: the first validates the wire format,
 * reads the scalars and strings and counts the repeated fields; then the arrays are
 * allocated at exactly those counts and the second pass fills them. A count is a number of
 * fields or elements actually present, so every allocation is bounded by the bytes that
 * encode it (an int64 from a 1-byte varint is the largest ratio: 8 to 1). Tensor sizes are
 * checked against their dims before the values are allocated.
 *
 * Nesting: subgraphs are refused and unknown fields are skipped without descending into
 * them, so every message read sits at a fixed depth except TypeProto (a sequence of
 * sequences of ...), whose walk stops at ONNX_MAX_TYPE_DEPTH levels.
 *
 * Memory: every string and array lives in blocks chained from model->blocks_ (a bump
 * allocator over tmlp_mem_alloc), so a failure anywhere frees everything with one walk.
 */
#include "onnx_ir.h"

#include "internal.h"
#include "pb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8,
    MODEL_METADATA_PROPS = 14,
    OPSET_DOMAIN = 1, OPSET_VERSION = 2,
    ENTRY_KEY = 1, ENTRY_VALUE = 2,
    GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12,
    GRAPH_VALUE_INFO = 13, GRAPH_SPARSE_INITIALIZER = 15,
    NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5,
    NODE_DOMAIN = 7,
    ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_T = 5, ATTR_G = 6, ATTR_FLOATS = 7,
    ATTR_INTS = 8, ATTR_STRINGS = 9, ATTR_TENSORS = 10, ATTR_GRAPHS = 11, ATTR_TP = 14,
    ATTR_TYPE_PROTOS = 15, ATTR_TYPE = 20, ATTR_REF_ATTR_NAME = 21, ATTR_SPARSE_TENSOR = 22,
    ATTR_SPARSE_TENSORS = 23,
    TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_SEGMENT = 3, TENSOR_FLOAT_DATA = 4,
    TENSOR_INT32_DATA = 5, TENSOR_STRING_DATA = 6, TENSOR_INT64_DATA = 7, TENSOR_NAME = 8,
    TENSOR_RAW_DATA = 9, TENSOR_DOUBLE_DATA = 10, TENSOR_UINT64_DATA = 11,
    TENSOR_EXTERNAL_DATA = 13, TENSOR_DATA_LOCATION = 14,
    VALUE_NAME = 1, VALUE_TYPE = 2,
    TYPE_TENSOR = 1, TYPE_SEQUENCE = 4, TYPE_MAP = 5, TYPE_OPTIONAL = 9,
    TENSOR_TYPE_ELEM_TYPE = 1, TENSOR_TYPE_SHAPE = 2, SEQUENCE_ELEM_TYPE = 1,
    MAP_VALUE_TYPE = 2, OPTIONAL_ELEM_TYPE = 1,
    SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2
};

/* AttributeProto.AttributeType values that are refused; TensorProto.DataLocation.EXTERNAL */
enum { ATTR_TYPE_GRAPH = 5, ATTR_TYPE_TENSORS = 9, ATTR_TYPE_GRAPHS = 10,
       ATTR_TYPE_SPARSE_TENSOR = 11, ATTR_TYPE_SPARSE_TENSORS = 12, ATTR_TYPE_TYPE_PROTO = 13,
       ATTR_TYPE_TYPE_PROTOS = 14, DATA_LOCATION_EXTERNAL = 1 };

/* TypeProto may nest (a sequence of sequences of ...): at most this many levels. */
#define ONNX_MAX_TYPE_DEPTH 16
/* Largest initializer dimension (exclusive). */
#define ONNX_MAX_DIM ((int64_t)1 << 31)

#define TRY(expr)                                                                            \
    do {                                                                                     \
        tmlp_status try_s_ = (expr);                                                         \
        if (try_s_ != TMLP_OK) return try_s_;                                                \
    } while (0)

typedef struct onnx_ctx {
    const tmlp_allocator *a;
    tmlp_onnx_model *m;  /* owns the blocks */
    tmlp_error *err;
    char *empty;         /* the shared "" of absent strings */
} onnx_ctx;

/* ---- memory: bump allocation in blocks chained from m->blocks_ ---- */

#define ONNX_BLOCK_BYTES 16384

typedef union onnx_block {
    struct {
        union onnx_block *next;
        size_t used, cap;
    } h;
    max_align_t align; /* the payload after the header is aligned for any type */
} onnx_block;

/* size bytes, aligned for any type, zeroed; NULL (error set) when out of memory. Requests
 * above a quarter block get a block of their own, chained behind the current one. */
static void *onnx_alloc(onnx_ctx *c, size_t size)
{
    const size_t align = _Alignof(max_align_t);
    if (size > SIZE_MAX - align - sizeof(onnx_block)) goto nomem;
    size = (size + align - 1) / align * align;
    onnx_block *b = c->m->blocks_;
    if (b && b->h.cap - b->h.used >= size) {
        void *p = (char *)(b + 1) + b->h.used;
        b->h.used += size;
        memset(p, 0, size);
        return p;
    }
    const int own = size > ONNX_BLOCK_BYTES / 4;
    const size_t cap = own ? size : ONNX_BLOCK_BYTES;
    onnx_block *n = tmlp_mem_alloc(c->a, sizeof *n + cap);
    if (!n) goto nomem;
    n->h.cap = cap;
    n->h.used = size;
    if (own && b) {
        n->h.next = b->h.next;
        b->h.next = n;
    } else {
        n->h.next = b;
        c->m->blocks_ = n;
    }
    memset(n + 1, 0, size);
    return n + 1;
nomem:
    tmlp_error_set(c->err, TMLP_ERR_NOMEM, "out of memory (%zu bytes for the ONNX model)", size);
    return NULL;
}

/* count elements of elem bytes each, zeroed. */
static tmlp_status onnx_array(onnx_ctx *c, size_t count, size_t elem, void **out)
{
    size_t bytes;
    if (!tmlp_size_mul(count, elem, &bytes))
        return tmlp_error_set(c->err, TMLP_ERR_NOMEM, "out of memory (%zu x %zu bytes)", count, elem);
    *out = onnx_alloc(c, bytes);
    return *out ? TMLP_OK : TMLP_ERR_NOMEM;
}

/* ---- fields ---- */

static tmlp_status onnx_wire(onnx_ctx *c, const tmlp_pb_field *f, tmlp_pb_wire w, const char *what)
{
    if (f->wire == w) return TMLP_OK;
    return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "byte %zu: %s has wire type %d, expected %d",
                          f->offset, what, (int)f->wire, (int)w);
}

/* A string or bytes field copied NUL-terminated; an embedded NUL is refused (a C string
 * cannot hold it, and no name or attribute in ONNX needs one). */
static tmlp_status onnx_string(onnx_ctx *c, const tmlp_pb_reader *r, const tmlp_pb_field *f,
                               const char *what, char **out)
{
    TRY(onnx_wire(c, f, TMLP_PB_LEN, what));
    const uint8_t *p = r->buf + f->data;
    if (f->len && memchr(p, 0, f->len))
        return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "byte %zu: %s contains a NUL byte",
                              f->offset, what);
    char *s = onnx_alloc(c, f->len + 1);
    if (!s) return TMLP_ERR_NOMEM;
    if (f->len) memcpy(s, p, f->len);
    *out = s;
    return TMLP_OK;
}

static tmlp_status onnx_int64(onnx_ctx *c, const tmlp_pb_field *f, const char *what, int64_t *out)
{
    TRY(onnx_wire(c, f, TMLP_PB_VARINT, what));
    *out = (int64_t)f->value; /* two's complement, as protobuf encodes a negative int64 */
    return TMLP_OK;
}

/* An int32 field: protobuf sign-extends negative values to 64 bits. */
static tmlp_status onnx_int32(onnx_ctx *c, const tmlp_pb_field *f, const char *what, int32_t *out)
{
    int64_t v;
    TRY(onnx_int64(c, f, what, &v));
    if (v < INT32_MIN || v > INT32_MAX)
        return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "byte %zu: %s = %" PRId64 " is not an int32",
                              f->offset, what, v);
    *out = (int32_t)v;
    return TMLP_OK;
}

/* A singular message field seen twice would be merged by protobuf; no ONNX writer does it. */
static tmlp_status onnx_once(onnx_ctx *c, const tmlp_pb_field *f, tmlp_pb_field *seen, int *has,
                             const char *what)
{
    TRY(onnx_wire(c, f, TMLP_PB_LEN, what));
    if (*has)
        return tmlp_error_set(c->err, TMLP_ERR_UNSUPPORTED,
                              "byte %zu: a second %s (protobuf would merge the two; not supported)",
                              f->offset, what);
    *seen = *f;
    *has = 1;
    return TMLP_OK;
}

/* Count the LEN fields numbered `number` (a repeated message or string). */
static tmlp_status onnx_count(onnx_ctx *c, tmlp_pb_reader r, uint32_t number, const char *what,
                              int64_t *n)
{
    tmlp_pb_field f;
    *n = 0;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number != number) continue;
        TRY(onnx_wire(c, &f, TMLP_PB_LEN, what));
        ++*n;
    }
    return TMLP_OK;
}

/* ---- data types ---- */

/* Per data type: bytes per element in raw_data, the typed field that may hold the values
 * instead, and whether the values become f32 (else i64). 0 bytes = not supported. */
typedef struct onnx_dtype_info {
    const char *name;
    uint8_t bytes;
    uint8_t field;
    uint8_t is_float;
} onnx_dtype_info;

static const onnx_dtype_info onnx_dtypes[] = {
    [TMLP_ONNX_UNDEFINED] = {"UNDEFINED", 0, 0, 0},
    [TMLP_ONNX_FLOAT] = {"FLOAT", 4, TENSOR_FLOAT_DATA, 1},
    [TMLP_ONNX_UINT8] = {"UINT8", 1, TENSOR_INT32_DATA, 0},
    [TMLP_ONNX_INT8] = {"INT8", 1, TENSOR_INT32_DATA, 0},
    [TMLP_ONNX_UINT16] = {"UINT16", 2, TENSOR_INT32_DATA, 0},
    [TMLP_ONNX_INT16] = {"INT16", 2, TENSOR_INT32_DATA, 0},
    [TMLP_ONNX_INT32] = {"INT32", 4, TENSOR_INT32_DATA, 0},
    [TMLP_ONNX_INT64] = {"INT64", 8, TENSOR_INT64_DATA, 0},
    [TMLP_ONNX_STRING] = {"STRING", 0, 0, 0},
    [TMLP_ONNX_BOOL] = {"BOOL", 1, TENSOR_INT32_DATA, 0},
    [TMLP_ONNX_FLOAT16] = {"FLOAT16", 2, TENSOR_INT32_DATA, 1},
    [TMLP_ONNX_DOUBLE] = {"DOUBLE", 8, TENSOR_DOUBLE_DATA, 1},
    [TMLP_ONNX_UINT32] = {"UINT32", 4, TENSOR_UINT64_DATA, 0},
    [TMLP_ONNX_UINT64] = {"UINT64", 8, TENSOR_UINT64_DATA, 0},
    [TMLP_ONNX_COMPLEX64] = {"COMPLEX64", 0, 0, 0},
    [TMLP_ONNX_COMPLEX128] = {"COMPLEX128", 0, 0, 0},
    [TMLP_ONNX_BFLOAT16] = {"BFLOAT16", 2, TENSOR_INT32_DATA, 1},
};
#define ONNX_N_DTYPES ((int32_t)(sizeof onnx_dtypes / sizeof onnx_dtypes[0]))

const char *tmlp_onnx_dtype_name(int32_t data_type)
{
    return data_type >= 0 && data_type < ONNX_N_DTYPES ? onnx_dtypes[data_type].name : "?";
}

static const char *onnx_field_name(uint32_t field)
{
    switch (field) {
    case TENSOR_FLOAT_DATA: return "float_data";
    case TENSOR_INT32_DATA: return "int32_data";
    case TENSOR_STRING_DATA: return "string_data";
    case TENSOR_INT64_DATA: return "int64_data";
    case TENSOR_RAW_DATA: return "raw_data";
    case TENSOR_DOUBLE_DATA: return "double_data";
    case TENSOR_UINT64_DATA: return "uint64_data";
    }
    return "?";
}

static float onnx_bits_f32(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* IEEE binary16 -> binary32, exact: rebias the exponent (15 -> 127) and widen the
 * mantissa; a subnormal half is man * 2^-24, a normal float. */
static float onnx_f16(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return onnx_bits_f32(sign | 0x7f800000u | man << 13);
    if (exp) return onnx_bits_f32(sign | (exp + 112) << 23 | man << 13);
    const float v = (float)man * 0x1p-24f;
    return sign ? -v : v;
}

/* bfloat16 is the top half of a binary32. */
static float onnx_bf16(uint16_t h) { return onnx_bits_f32((uint32_t)h << 16); }

static float onnx_f64_to_f32(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return (float)d;
}

/* "3x4" ("scalar" for rank 0) into buf. */
static const char *onnx_dims_str(char *buf, size_t n, const int64_t *dims, int ndim)
{
    if (ndim == 0) return "scalar";
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < ndim && used < n; d++) {
        int w = snprintf(buf + used, n - used, d ? "x%" PRId64 : "%" PRId64, dims[d]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

/* ---- TensorProto ---- */

/* What the first pass over a TensorProto found. */
typedef struct onnx_tensor_scan {
    int32_t data_type;
    int ndim;                            /* all dims seen, even past the limit */
    int64_t dims[TMLP_ONNX_MAX_DIMS];
    size_t count[TENSOR_UINT64_DATA + 1]; /* elements per typed data field number */
    int present[TENSOR_UINT64_DATA + 1];  /* typed data fields and raw_data present */
    tmlp_pb_field raw;                   /* the last raw_data (protobuf: the last one wins) */
    int external, segment;
    char *name;
} onnx_tensor_scan;

static tmlp_status onnx_tensor_field(onnx_ctx *c, const tmlp_pb_reader *r, const tmlp_pb_field *f,
                                     onnx_tensor_scan *t)
{
    tmlp_pb_rep it;
    size_t n;
    uint64_t v;
    switch (f->number) {
    case TENSOR_DIMS:
        TRY(tmlp_pb_rep_begin(r, f, TMLP_PB_SCALAR_VARINT, &it, NULL, c->err));
        while (tmlp_pb_rep_next(&it, &v)) {
            if (t->ndim < TMLP_ONNX_MAX_DIMS) t->dims[t->ndim] = (int64_t)v;
            if (t->ndim <= TMLP_ONNX_MAX_DIMS) t->ndim++;
        }
        return TMLP_OK;
    case TENSOR_DATA_TYPE: return onnx_int32(c, f, "TensorProto.data_type", &t->data_type);
    case TENSOR_SEGMENT: t->segment = 1; return TMLP_OK;
    case TENSOR_FLOAT_DATA:
    case TENSOR_INT32_DATA:
    case TENSOR_INT64_DATA:
    case TENSOR_DOUBLE_DATA:
    case TENSOR_UINT64_DATA: {
        const tmlp_pb_scalar k = f->number == TENSOR_FLOAT_DATA    ? TMLP_PB_SCALAR_FIXED32
                               : f->number == TENSOR_DOUBLE_DATA ? TMLP_PB_SCALAR_FIXED64
                                                                 : TMLP_PB_SCALAR_VARINT;
        TRY(tmlp_pb_rep_begin(r, f, k, &it, &n, c->err));
        t->count[f->number] += n;
        t->present[f->number] |= n > 0; /* an empty packed run is no data, as in protobuf */
        return TMLP_OK;
    }
    case TENSOR_STRING_DATA:
        TRY(onnx_wire(c, f, TMLP_PB_LEN, "TensorProto.string_data"));
        t->present[f->number] = 1;
        return TMLP_OK;
    case TENSOR_NAME: return onnx_string(c, r, f, "TensorProto.name", &t->name);
    case TENSOR_RAW_DATA:
        TRY(onnx_wire(c, f, TMLP_PB_LEN, "TensorProto.raw_data"));
        t->raw = *f;
        t->present[TENSOR_RAW_DATA] = 1;
        return TMLP_OK;
    case TENSOR_EXTERNAL_DATA:
        TRY(onnx_wire(c, f, TMLP_PB_LEN, "TensorProto.external_data"));
        t->external = 1;
        return TMLP_OK;
    case TENSOR_DATA_LOCATION: {
        int32_t loc;
        TRY(onnx_int32(c, f, "TensorProto.data_location", &loc));
        if (loc == DATA_LOCATION_EXTERNAL) t->external = 1;
        return TMLP_OK;
    }
    }
    return TMLP_OK;
}

/* The rules a tensor's header must pass before its values are allocated, in order:
 * storage we do not take, rank, dims, data type, element count, which data field, size. */
static tmlp_status onnx_tensor_check(onnx_ctx *c, const onnx_tensor_scan *t, const char *label,
                                     int64_t *numel, uint32_t *source)
{
    tmlp_error *e = c->err;
    if (t->external)
        return tmlp_error_set(e, TMLP_ERR_UNSUPPORTED, "%s: external data is not supported", label);
    if (t->segment)
        return tmlp_error_set(e, TMLP_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", label);
    if (t->ndim > TMLP_ONNX_MAX_DIMS)
        return tmlp_error_set(e, TMLP_ERR_UNSUPPORTED, "%s: more than %d dims are not supported",
                              label, TMLP_ONNX_MAX_DIMS);
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->dims[d] < 0 || t->dims[d] >= ONNX_MAX_DIM)
            return tmlp_error_set(e, TMLP_ERR_FORMAT, "%s: dim %d is %" PRId64 ", must be in [0, 2^31)",
                                  label, d, t->dims[d]);
        if (!tmlp_i64_mul(n, t->dims[d], &n))
            return tmlp_error_set(e, TMLP_ERR_FORMAT, "%s: the product of its dims overflows int64", label);
    }
    const int32_t dt = t->data_type;
    if (dt == TMLP_ONNX_UNDEFINED)
        return tmlp_error_set(e, TMLP_ERR_FORMAT, "%s: no data_type", label);
    if (dt < 0 || dt >= ONNX_N_DTYPES || onnx_dtypes[dt].bytes == 0)
        return tmlp_error_set(e, TMLP_ERR_UNSUPPORTED, "%s: data type %s (%d) is not supported",
                              label, tmlp_onnx_dtype_name(dt), (int)dt);
    const onnx_dtype_info *info = &onnx_dtypes[dt];
    uint32_t src = 0;
    for (uint32_t k = TENSOR_FLOAT_DATA; k <= TENSOR_UINT64_DATA; k++) {
        if (!t->present[k]) continue;
        if (src)
            return tmlp_error_set(e, TMLP_ERR_FORMAT, "%s: data in both %s and %s", label,
                                  onnx_field_name(src), onnx_field_name(k));
        src = k;
    }
    if (src && src != TENSOR_RAW_DATA && src != info->field)
        return tmlp_error_set(e, TMLP_ERR_FORMAT, "%s: %s cannot hold %s values", label,
                              onnx_field_name(src), info->name);
    char dims[128];
    onnx_dims_str(dims, sizeof dims, t->dims, t->ndim);
    if (src == TENSOR_RAW_DATA) {
        /* n < 2^63 and bytes <= 8, so the product is checked in unsigned 64 bits */
        uint64_t need;
        if (__builtin_mul_overflow((uint64_t)n, (uint64_t)info->bytes, &need))
            return tmlp_error_set(e, TMLP_ERR_FORMAT, "%s: dims %s %s overflow the byte count", label,
                                  dims, info->name);
        if (t->raw.len != need)
            return tmlp_error_set(e, TMLP_ERR_FORMAT, "%s: raw_data has %zu bytes, dims %s %s need %" PRIu64,
                                  label, t->raw.len, dims, info->name, need);
    } else if ((src ? t->count[src] : 0) != (uint64_t)n) {
        return tmlp_error_set(e, TMLP_ERR_FORMAT, "%s: %s has %zu values, dims %s %s need %" PRId64,
                              label, src ? onnx_field_name(src) : "no data field",
                              src ? t->count[src] : 0, dims, info->name, n);
    }
    *numel = n;
    *source = src;
    return TMLP_OK;
}

static uint16_t onnx_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Element i of a raw_data payload (little-endian, onnx_dtypes[].bytes each at p). */
static tmlp_status onnx_raw_value(onnx_ctx *c, tmlp_onnx_tensor *t, const uint8_t *p, int64_t i,
                                  const char *label)
{
    switch (t->data_type) {
    case TMLP_ONNX_FLOAT: t->f32[i] = onnx_bits_f32(tmlp_pb_le32(p)); break;
    case TMLP_ONNX_FLOAT16: t->f32[i] = onnx_f16(onnx_le16(p)); break;
    case TMLP_ONNX_BFLOAT16: t->f32[i] = onnx_bf16(onnx_le16(p)); break;
    case TMLP_ONNX_DOUBLE: t->f32[i] = onnx_f64_to_f32(tmlp_pb_le64(p)); break;
    case TMLP_ONNX_UINT8: t->i64[i] = p[0]; break;
    case TMLP_ONNX_INT8: t->i64[i] = (int8_t)p[0]; break;
    case TMLP_ONNX_BOOL: t->i64[i] = p[0] != 0; break;
    case TMLP_ONNX_UINT16: t->i64[i] = onnx_le16(p); break;
    case TMLP_ONNX_INT16: t->i64[i] = (int16_t)onnx_le16(p); break;
    case TMLP_ONNX_INT32: t->i64[i] = (int32_t)tmlp_pb_le32(p); break;
    case TMLP_ONNX_UINT32: t->i64[i] = tmlp_pb_le32(p); break;
    case TMLP_ONNX_INT64: t->i64[i] = (int64_t)tmlp_pb_le64(p); break;
    case TMLP_ONNX_UINT64: {
        const uint64_t v = tmlp_pb_le64(p);
        if (v > INT64_MAX)
            return tmlp_error_set(c->err, TMLP_ERR_UNSUPPORTED, "%s: value %" PRIu64 " does not fit in int64",
                                  label, v);
        t->i64[i] = (int64_t)v;
        break;
    }
    }
    return TMLP_OK;
}

/* Element i from a typed field's element v (fixed32 bits, fixed64 bits or a varint). */
static tmlp_status onnx_typed_value(onnx_ctx *c, tmlp_onnx_tensor *t, uint64_t v, int64_t i,
                                    const char *label)
{
    const uint32_t u32 = (uint32_t)v; /* int32_data: the int32, sign-extended on the wire */
    switch (t->data_type) {
    case TMLP_ONNX_FLOAT: t->f32[i] = onnx_bits_f32(u32); break;
    case TMLP_ONNX_FLOAT16: t->f32[i] = onnx_f16((uint16_t)u32); break;
    case TMLP_ONNX_BFLOAT16: t->f32[i] = onnx_bf16((uint16_t)u32); break;
    case TMLP_ONNX_DOUBLE: t->f32[i] = onnx_f64_to_f32(v); break;
    case TMLP_ONNX_UINT8: t->i64[i] = (uint8_t)u32; break;
    case TMLP_ONNX_INT8: t->i64[i] = (int8_t)(uint8_t)u32; break;
    case TMLP_ONNX_BOOL: t->i64[i] = u32 != 0; break;
    case TMLP_ONNX_UINT16: t->i64[i] = (uint16_t)u32; break;
    case TMLP_ONNX_INT16: t->i64[i] = (int16_t)(uint16_t)u32; break;
    case TMLP_ONNX_INT32: t->i64[i] = (int32_t)u32; break;
    case TMLP_ONNX_UINT32: t->i64[i] = u32; break;
    case TMLP_ONNX_INT64: t->i64[i] = (int64_t)v; break;
    case TMLP_ONNX_UINT64:
        if (v > INT64_MAX)
            return tmlp_error_set(c->err, TMLP_ERR_UNSUPPORTED, "%s: value %" PRIu64 " does not fit in int64",
                                  label, v);
        t->i64[i] = (int64_t)v;
        break;
    }
    return TMLP_OK;
}

/* Second pass: the values, from raw_data or from every occurrence of the typed field. */
static tmlp_status onnx_tensor_values(onnx_ctx *c, tmlp_pb_reader r, const onnx_tensor_scan *s,
                                      uint32_t source, tmlp_onnx_tensor *t, const char *label)
{
    const onnx_dtype_info *info = &onnx_dtypes[t->data_type];
    void *values = NULL;
    TRY(onnx_array(c, (size_t)t->numel, info->is_float ? sizeof(float) : sizeof(int64_t), &values));
    if (info->is_float) t->f32 = values;
    else t->i64 = values;
    if (source == TENSOR_RAW_DATA) {
        const uint8_t *p = r.buf + s->raw.data;
        for (int64_t i = 0; i < t->numel; i++)
            TRY(onnx_raw_value(c, t, p + (size_t)i * info->bytes, i, label));
        return TMLP_OK;
    }
    const tmlp_pb_scalar kind = source == TENSOR_FLOAT_DATA    ? TMLP_PB_SCALAR_FIXED32
                              : source == TENSOR_DOUBLE_DATA ? TMLP_PB_SCALAR_FIXED64
                                                             : TMLP_PB_SCALAR_VARINT;
    int64_t i = 0;
    tmlp_pb_field f;
    while (source && tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number != source) continue;
        tmlp_pb_rep it;
        uint64_t v;
        TRY(tmlp_pb_rep_begin(&r, &f, kind, &it, NULL, c->err));
        while (i < t->numel && tmlp_pb_rep_next(&it, &v)) TRY(onnx_typed_value(c, t, v, i++, label));
    }
    return TMLP_OK;
}

/* Decode a TensorProto. label names it in messages ("node 'c' attribute 'value'"); NULL
 * for an initializer, which is then named "initializer '<its name>'". */
static tmlp_status onnx_tensor(onnx_ctx *c, tmlp_pb_reader r, const char *label, tmlp_onnx_tensor *t)
{
    onnx_tensor_scan s;
    memset(&s, 0, sizeof s);
    s.name = c->empty;
    tmlp_pb_reader scan = r;
    tmlp_pb_field f;
    while (tmlp_pb_more(&scan)) {
        TRY(tmlp_pb_next(&scan, &f, c->err));
        TRY(onnx_tensor_field(c, &scan, &f, &s));
    }
    char buf[160];
    if (!label) {
        snprintf(buf, sizeof buf, "initializer '%.120s'", s.name);
        label = buf;
    }
    int64_t numel = 0;
    uint32_t source = 0;
    TRY(onnx_tensor_check(c, &s, label, &numel, &source));
    t->name = s.name;
    t->data_type = s.data_type;
    t->ndim = s.ndim;
    memcpy(t->dims, s.dims, sizeof t->dims);
    t->numel = numel;
    return onnx_tensor_values(c, r, &s, source, t, label);
}

/* ---- ValueInfoProto and TypeProto ---- */

/* A non-tensor TypeProto: only its wire format is checked, and its nesting depth. */
static tmlp_status onnx_type_walk(onnx_ctx *c, tmlp_pb_reader r, int depth)
{
    if (depth > ONNX_MAX_TYPE_DEPTH)
        return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "byte %zu: types nested deeper than %d levels",
                              r.pos, ONNX_MAX_TYPE_DEPTH);
    tmlp_pb_field f, g;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number != TYPE_SEQUENCE && f.number != TYPE_MAP && f.number != TYPE_OPTIONAL) continue;
        TRY(onnx_wire(c, &f, TMLP_PB_LEN, "TypeProto element type"));
        const uint32_t inner = f.number == TYPE_MAP ? MAP_VALUE_TYPE : SEQUENCE_ELEM_TYPE;
        tmlp_pb_reader sub = tmlp_pb_reader_sub(&r, &f);
        while (tmlp_pb_more(&sub)) {
            TRY(tmlp_pb_next(&sub, &g, c->err));
            if (g.number != inner) continue;
            TRY(onnx_wire(c, &g, TMLP_PB_LEN, "TypeProto element type"));
            TRY(onnx_type_walk(c, tmlp_pb_reader_sub(&sub, &g), depth + 1));
        }
    }
    return TMLP_OK;
}

static tmlp_status onnx_dim(onnx_ctx *c, tmlp_pb_reader r, const char *label, tmlp_onnx_value *v, int d)
{
    tmlp_pb_field f;
    v->dims[d] = -1;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == DIM_VALUE) { /* dim_value and dim_param are a oneof: the last wins */
            TRY(onnx_int64(c, &f, "Dimension.dim_value", &v->dims[d]));
            if (v->dims[d] < 0)
                return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "%s: dim %d is %" PRId64, label, d,
                                      v->dims[d]);
            v->dim_params[d] = NULL;
        } else if (f.number == DIM_PARAM) {
            TRY(onnx_string(c, &r, &f, "Dimension.dim_param", &v->dim_params[d]));
            v->dims[d] = -1;
        }
    }
    return TMLP_OK;
}

static tmlp_status onnx_shape(onnx_ctx *c, tmlp_pb_reader r, const char *label, tmlp_onnx_value *v)
{
    int64_t n;
    TRY(onnx_count(c, r, SHAPE_DIM, "TensorShapeProto.dim", &n));
    if (n > TMLP_ONNX_MAX_DIMS)
        return tmlp_error_set(c->err, TMLP_ERR_UNSUPPORTED, "%s: %" PRId64 " dims, at most %d are supported",
                              label, n, TMLP_ONNX_MAX_DIMS);
    v->ndim = (int32_t)n;
    tmlp_pb_field f;
    for (int d = 0; tmlp_pb_more(&r);) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == SHAPE_DIM) TRY(onnx_dim(c, tmlp_pb_reader_sub(&r, &f), label, v, d++));
    }
    return TMLP_OK;
}

static tmlp_status onnx_tensor_type(onnx_ctx *c, tmlp_pb_reader r, const char *label, tmlp_onnx_value *v)
{
    tmlp_pb_field f, shape = {0};
    int has_shape = 0;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == TENSOR_TYPE_ELEM_TYPE)
            TRY(onnx_int32(c, &f, "TypeProto.Tensor.elem_type", &v->elem_type));
        else if (f.number == TENSOR_TYPE_SHAPE)
            TRY(onnx_once(c, &f, &shape, &has_shape, "TypeProto.Tensor.shape"));
    }
    v->is_tensor = 1;
    return has_shape ? onnx_shape(c, tmlp_pb_reader_sub(&r, &shape), label, v) : TMLP_OK;
}

static tmlp_status onnx_type(onnx_ctx *c, tmlp_pb_reader r, const char *label, tmlp_onnx_value *v)
{
    tmlp_pb_field f, tensor = {0};
    int has_tensor = 0;
    TRY(onnx_type_walk(c, r, 1));
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == TYPE_TENSOR) TRY(onnx_once(c, &f, &tensor, &has_tensor, "TypeProto.tensor_type"));
    }
    return has_tensor ? onnx_tensor_type(c, tmlp_pb_reader_sub(&r, &tensor), label, v) : TMLP_OK;
}

/* kind: "graph input", "graph output" or "value_info" (for messages). */
static tmlp_status onnx_value(onnx_ctx *c, tmlp_pb_reader r, const char *kind, tmlp_onnx_value *v)
{
    tmlp_pb_field f, type = {0};
    int has_type = 0;
    v->name = c->empty;
    v->ndim = -1;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == VALUE_NAME) TRY(onnx_string(c, &r, &f, "ValueInfoProto.name", &v->name));
        else if (f.number == VALUE_TYPE) TRY(onnx_once(c, &f, &type, &has_type, "ValueInfoProto.type"));
    }
    char label[160];
    snprintf(label, sizeof label, "%s '%.120s'", kind, v->name);
    return has_type ? onnx_type(c, tmlp_pb_reader_sub(&r, &type), label, v) : TMLP_OK;
}

/* ---- AttributeProto ---- */

typedef struct onnx_attr_scan {
    int32_t type;
    int has_f, has_i, has_s, has_t;
    tmlp_pb_field f, i, s, t;            /* the last occurrence of each singular field */
    size_t n_floats, n_ints, n_strings;
    uint32_t refused;                    /* the first field we do not take, or 0 */
} onnx_attr_scan;

static tmlp_status onnx_attr_field(onnx_ctx *c, const tmlp_pb_reader *r, const tmlp_pb_field *f,
                                   onnx_attr_scan *s, tmlp_onnx_attr *a)
{
    size_t n;
    tmlp_pb_rep it;
    switch (f->number) {
    case ATTR_NAME: return onnx_string(c, r, f, "AttributeProto.name", &a->name);
    case ATTR_TYPE: return onnx_int32(c, f, "AttributeProto.type", &s->type);
    case ATTR_F: s->has_f = 1; s->f = *f; return onnx_wire(c, f, TMLP_PB_I32, "AttributeProto.f");
    case ATTR_I: s->has_i = 1; s->i = *f; return onnx_wire(c, f, TMLP_PB_VARINT, "AttributeProto.i");
    case ATTR_S: s->has_s = 1; s->s = *f; return onnx_wire(c, f, TMLP_PB_LEN, "AttributeProto.s");
    case ATTR_T: return onnx_once(c, f, &s->t, &s->has_t, "AttributeProto.t");
    case ATTR_FLOATS:
        TRY(tmlp_pb_rep_begin(r, f, TMLP_PB_SCALAR_FIXED32, &it, &n, c->err));
        s->n_floats += n;
        return TMLP_OK;
    case ATTR_INTS:
        TRY(tmlp_pb_rep_begin(r, f, TMLP_PB_SCALAR_VARINT, &it, &n, c->err));
        s->n_ints += n;
        return TMLP_OK;
    case ATTR_STRINGS:
        s->n_strings++;
        return onnx_wire(c, f, TMLP_PB_LEN, "AttributeProto.strings");
    case ATTR_G: case ATTR_TENSORS: case ATTR_GRAPHS: case ATTR_TP: case ATTR_TYPE_PROTOS:
    case ATTR_REF_ATTR_NAME: case ATTR_SPARSE_TENSOR: case ATTR_SPARSE_TENSORS:
        if (!s->refused) s->refused = f->number;
        return TMLP_OK;
    }
    return TMLP_OK;
}

/* Why an attribute field or type is refused (all are valid ONNX we do not take). */
static const char *onnx_attr_refusal(uint32_t field, int32_t type)
{
    if (field == ATTR_G || field == ATTR_GRAPHS || type == ATTR_TYPE_GRAPH || type == ATTR_TYPE_GRAPHS)
        return "holds a subgraph: subgraphs (If, Loop, Scan) are not supported";
    if (field == ATTR_SPARSE_TENSOR || field == ATTR_SPARSE_TENSORS || type == ATTR_TYPE_SPARSE_TENSOR ||
        type == ATTR_TYPE_SPARSE_TENSORS)
        return "holds a sparse tensor: sparse tensors are not supported";
    if (field == ATTR_REF_ATTR_NAME)
        return "refers to a function's attribute (ref_attr_name): functions are not supported";
    if (field == ATTR_TENSORS || type == ATTR_TYPE_TENSORS)
        return "holds a list of tensors: not supported";
    if (field == ATTR_TP || field == ATTR_TYPE_PROTOS || type == ATTR_TYPE_TYPE_PROTO ||
        type == ATTR_TYPE_TYPE_PROTOS)
        return "holds a type: type attributes are not supported";
    return NULL;
}

/* The attribute's type: as given, or (IR version 1 files have none) from the field present. */
static tmlp_status onnx_attr_type(onnx_ctx *c, const onnx_attr_scan *s, const char *label,
                                  tmlp_onnx_attr_type *type)
{
    const char *why = onnx_attr_refusal(s->refused, s->type);
    if (why) return tmlp_error_set(c->err, TMLP_ERR_UNSUPPORTED, "%s %s", label, why);
    int32_t t = s->type;
    if (t == 0)
        t = s->has_t ? TMLP_ONNX_ATTR_TENSOR : s->n_floats ? TMLP_ONNX_ATTR_FLOATS
          : s->n_ints ? TMLP_ONNX_ATTR_INTS : s->n_strings ? TMLP_ONNX_ATTR_STRINGS
          : s->has_s ? TMLP_ONNX_ATTR_STRING : s->has_f ? TMLP_ONNX_ATTR_FLOAT
          : s->has_i ? TMLP_ONNX_ATTR_INT : 0;
    switch (t) {
    case TMLP_ONNX_ATTR_FLOAT: case TMLP_ONNX_ATTR_INT: case TMLP_ONNX_ATTR_STRING:
    case TMLP_ONNX_ATTR_FLOATS: case TMLP_ONNX_ATTR_INTS: case TMLP_ONNX_ATTR_STRINGS:
        break;
    case TMLP_ONNX_ATTR_TENSOR:
        if (!s->has_t) return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "%s has type TENSOR but no tensor", label);
        break;
    case 0: return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "%s has no type and no value", label);
    default: return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "%s has unknown type %d", label, (int)t);
    }
    *type = (tmlp_onnx_attr_type)t;
    return TMLP_OK;
}

/* Second pass: the list named by the type (FLOATS, INTS or STRINGS). */
static tmlp_status onnx_attr_list(onnx_ctx *c, tmlp_pb_reader r, const onnx_attr_scan *s, tmlp_onnx_attr *a)
{
    const uint32_t field = a->type == TMLP_ONNX_ATTR_FLOATS ? ATTR_FLOATS
                         : a->type == TMLP_ONNX_ATTR_INTS   ? ATTR_INTS : ATTR_STRINGS;
    a->n = (int64_t)(field == ATTR_FLOATS ? s->n_floats : field == ATTR_INTS ? s->n_ints : s->n_strings);
    void *arr = NULL;
    TRY(onnx_array(c, (size_t)a->n, field == ATTR_FLOATS ? sizeof(float)
                                    : field == ATTR_INTS ? sizeof(int64_t) : sizeof(char *), &arr));
    a->floats = field == ATTR_FLOATS ? arr : NULL;
    a->ints = field == ATTR_INTS ? arr : NULL;
    a->strings = field == ATTR_STRINGS ? arr : NULL;
    tmlp_pb_field f;
    int64_t k = 0;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number != field) continue;
        if (field == ATTR_STRINGS) {
            TRY(onnx_string(c, &r, &f, "AttributeProto.strings", &a->strings[k++]));
            continue;
        }
        tmlp_pb_rep it;
        uint64_t v;
        TRY(tmlp_pb_rep_begin(&r, &f, field == ATTR_FLOATS ? TMLP_PB_SCALAR_FIXED32 : TMLP_PB_SCALAR_VARINT,
                              &it, NULL, c->err));
        for (; k < a->n && tmlp_pb_rep_next(&it, &v); k++) {
            if (field == ATTR_FLOATS) a->floats[k] = onnx_bits_f32((uint32_t)v);
            else a->ints[k] = (int64_t)v;
        }
    }
    return TMLP_OK;
}

static tmlp_status onnx_attr(onnx_ctx *c, tmlp_pb_reader r, const char *node_label, tmlp_onnx_attr *a)
{
    onnx_attr_scan s;
    memset(&s, 0, sizeof s);
    a->name = c->empty;
    tmlp_pb_reader scan = r;
    tmlp_pb_field f;
    while (tmlp_pb_more(&scan)) {
        TRY(tmlp_pb_next(&scan, &f, c->err));
        TRY(onnx_attr_field(c, &scan, &f, &s, a));
    }
    char label[240];
    snprintf(label, sizeof label, "%s attribute '%.60s'", node_label, a->name);
    TRY(onnx_attr_type(c, &s, label, &a->type));
    switch (a->type) {
    case TMLP_ONNX_ATTR_FLOAT: a->f = onnx_bits_f32((uint32_t)s.f.value); return TMLP_OK;
    case TMLP_ONNX_ATTR_INT: a->i = (int64_t)s.i.value; return TMLP_OK;
    case TMLP_ONNX_ATTR_STRING:
        a->s = c->empty; /* proto2: an absent s is "" */
        return s.has_s ? onnx_string(c, &r, &s.s, "AttributeProto.s", &a->s) : TMLP_OK;
    case TMLP_ONNX_ATTR_TENSOR:
        TRY(onnx_array(c, 1, sizeof *a->t, (void **)&a->t));
        return onnx_tensor(c, tmlp_pb_reader_sub(&r, &s.t), label, a->t);
    default: return onnx_attr_list(c, r, &s, a);
    }
}

/* ---- NodeProto ---- */

static void onnx_node_label(char *buf, size_t n, const tmlp_onnx_node *node, int64_t index)
{
    if (node->name[0]) snprintf(buf, n, "node '%.100s'", node->name);
    else snprintf(buf, n, "node #%" PRId64 " (%.60s)", index, node->op_type);
}

static tmlp_status onnx_node(onnx_ctx *c, tmlp_pb_reader r, int64_t index, tmlp_onnx_node *node)
{
    node->name = node->op_type = node->domain = c->empty;
    tmlp_pb_reader scan = r;
    tmlp_pb_field f;
    while (tmlp_pb_more(&scan)) { /* pass 1: counts and the names */
        TRY(tmlp_pb_next(&scan, &f, c->err));
        switch (f.number) {
        case NODE_INPUT: TRY(onnx_wire(c, &f, TMLP_PB_LEN, "NodeProto.input")); node->n_inputs++; break;
        case NODE_OUTPUT: TRY(onnx_wire(c, &f, TMLP_PB_LEN, "NodeProto.output")); node->n_outputs++; break;
        case NODE_ATTRIBUTE: TRY(onnx_wire(c, &f, TMLP_PB_LEN, "NodeProto.attribute")); node->n_attrs++; break;
        case NODE_NAME: TRY(onnx_string(c, &scan, &f, "NodeProto.name", &node->name)); break;
        case NODE_OP_TYPE: TRY(onnx_string(c, &scan, &f, "NodeProto.op_type", &node->op_type)); break;
        case NODE_DOMAIN: TRY(onnx_string(c, &scan, &f, "NodeProto.domain", &node->domain)); break;
        }
    }
    char label[160];
    onnx_node_label(label, sizeof label, node, index);
    if (!node->op_type[0]) return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "%s has no op_type", label);
    TRY(onnx_array(c, (size_t)node->n_inputs, sizeof(char *), (void **)&node->inputs));
    TRY(onnx_array(c, (size_t)node->n_outputs, sizeof(char *), (void **)&node->outputs));
    TRY(onnx_array(c, (size_t)node->n_attrs, sizeof(tmlp_onnx_attr), (void **)&node->attrs));
    int64_t ni = 0, no = 0, na = 0;
    while (tmlp_pb_more(&r)) { /* pass 2 */
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == NODE_INPUT) TRY(onnx_string(c, &r, &f, "NodeProto.input", &node->inputs[ni++]));
        else if (f.number == NODE_OUTPUT) TRY(onnx_string(c, &r, &f, "NodeProto.output", &node->outputs[no++]));
        else if (f.number == NODE_ATTRIBUTE) TRY(onnx_attr(c, tmlp_pb_reader_sub(&r, &f), label, &node->attrs[na++]));
    }
    return TMLP_OK;
}

/* ---- GraphProto ---- */

static int onnx_cmp_names(const void *x, const void *y)
{
    return strcmp((*(const tmlp_onnx_tensor *const *)x)->name, (*(const tmlp_onnx_tensor *const *)y)->name);
}

/* tmlp_onnx_find_initializer needs unique names: sort pointers by name, compare neighbours. */
static tmlp_status onnx_unique_initializers(onnx_ctx *c, const tmlp_onnx_model *m)
{
    if (m->n_initializers < 2) return TMLP_OK;
    const tmlp_onnx_tensor **idx = tmlp_mem_calloc(c->a, (size_t)m->n_initializers, sizeof *idx);
    if (!idx) return tmlp_error_set(c->err, TMLP_ERR_NOMEM, "out of memory (initializer index)");
    for (int64_t i = 0; i < m->n_initializers; i++) idx[i] = &m->initializers[i];
    qsort(idx, (size_t)m->n_initializers, sizeof *idx, onnx_cmp_names);
    tmlp_status s = TMLP_OK;
    for (int64_t i = 1; i < m->n_initializers && s == TMLP_OK; i++)
        if (!strcmp(idx[i - 1]->name, idx[i]->name))
            s = tmlp_error_set(c->err, TMLP_ERR_FORMAT, "initializer '%.120s' appears twice", idx[i]->name);
    tmlp_mem_free(c->a, idx);
    return s;
}

static tmlp_status onnx_graph_counts(onnx_ctx *c, tmlp_pb_reader r, tmlp_onnx_model *m)
{
    tmlp_pb_field f;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        int64_t *n = f.number == GRAPH_NODE ? &m->n_nodes
                   : f.number == GRAPH_INITIALIZER ? &m->n_initializers
                   : f.number == GRAPH_INPUT ? &m->n_inputs
                   : f.number == GRAPH_OUTPUT ? &m->n_outputs
                   : f.number == GRAPH_VALUE_INFO ? &m->n_value_info : NULL;
        if (n) {
            TRY(onnx_wire(c, &f, TMLP_PB_LEN, "a GraphProto list"));
            ++*n;
        } else if (f.number == GRAPH_NAME) {
            TRY(onnx_string(c, &r, &f, "GraphProto.name", &m->graph_name));
        } else if (f.number == GRAPH_SPARSE_INITIALIZER) {
            return tmlp_error_set(c->err, TMLP_ERR_UNSUPPORTED,
                                  "byte %zu: the graph has a sparse initializer: sparse tensors are not supported",
                                  f.offset);
        }
    }
    return TMLP_OK;
}

static tmlp_status onnx_graph(onnx_ctx *c, tmlp_pb_reader r, tmlp_onnx_model *m)
{
    TRY(onnx_graph_counts(c, r, m));
    TRY(onnx_array(c, (size_t)m->n_nodes, sizeof *m->nodes, (void **)&m->nodes));
    TRY(onnx_array(c, (size_t)m->n_initializers, sizeof *m->initializers, (void **)&m->initializers));
    TRY(onnx_array(c, (size_t)m->n_inputs, sizeof *m->inputs, (void **)&m->inputs));
    TRY(onnx_array(c, (size_t)m->n_outputs, sizeof *m->outputs, (void **)&m->outputs));
    TRY(onnx_array(c, (size_t)m->n_value_info, sizeof *m->value_info, (void **)&m->value_info));
    int64_t nn = 0, ni = 0, nin = 0, nout = 0, nv = 0;
    tmlp_pb_field f;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        const tmlp_pb_reader sub = tmlp_pb_reader_sub(&r, &f);
        switch (f.number) {
        case GRAPH_NODE: TRY(onnx_node(c, sub, nn, &m->nodes[nn])); nn++; break;
        case GRAPH_INITIALIZER: TRY(onnx_tensor(c, sub, NULL, &m->initializers[ni++])); break;
        case GRAPH_INPUT: TRY(onnx_value(c, sub, "graph input", &m->inputs[nin++])); break;
        case GRAPH_OUTPUT: TRY(onnx_value(c, sub, "graph output", &m->outputs[nout++])); break;
        case GRAPH_VALUE_INFO: TRY(onnx_value(c, sub, "value_info", &m->value_info[nv++])); break;
        }
    }
    return onnx_unique_initializers(c, m);
}

/* ---- ModelProto ---- */

static tmlp_status onnx_opset(onnx_ctx *c, tmlp_pb_reader r, tmlp_onnx_model *m, tmlp_onnx_opset *o)
{
    tmlp_pb_field f;
    size_t offset = r.pos;
    o->domain = c->empty;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == OPSET_DOMAIN) TRY(onnx_string(c, &r, &f, "OperatorSetIdProto.domain", &o->domain));
        else if (f.number == OPSET_VERSION) TRY(onnx_int64(c, &f, "OperatorSetIdProto.version", &o->version));
    }
    if (o->domain[0] && strcmp(o->domain, "ai.onnx")) return TMLP_OK;
    if (m->opset)
        return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "byte %zu: opset_import lists the default domain twice",
                              offset);
    if (o->version < 1)
        return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "byte %zu: default-domain opset version %" PRId64,
                              offset, o->version);
    m->opset = o->version;
    return TMLP_OK;
}

static tmlp_status onnx_prop(onnx_ctx *c, tmlp_pb_reader r, tmlp_onnx_prop *p)
{
    tmlp_pb_field f;
    p->key = p->value = c->empty;
    while (tmlp_pb_more(&r)) {
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == ENTRY_KEY) TRY(onnx_string(c, &r, &f, "metadata_props key", &p->key));
        else if (f.number == ENTRY_VALUE) TRY(onnx_string(c, &r, &f, "metadata_props value", &p->value));
    }
    return TMLP_OK;
}

static tmlp_status onnx_model(onnx_ctx *c, tmlp_pb_reader r, tmlp_onnx_model *m)
{
    tmlp_pb_field f, graph = {0};
    int has_graph = 0;
    tmlp_pb_reader scan = r;
    while (tmlp_pb_more(&scan)) { /* pass 1 */
        TRY(tmlp_pb_next(&scan, &f, c->err));
        switch (f.number) {
        case MODEL_IR_VERSION: TRY(onnx_int64(c, &f, "ModelProto.ir_version", &m->ir_version)); break;
        case MODEL_PRODUCER_NAME: TRY(onnx_string(c, &scan, &f, "ModelProto.producer_name", &m->producer_name)); break;
        case MODEL_GRAPH: TRY(onnx_once(c, &f, &graph, &has_graph, "ModelProto.graph")); break;
        case MODEL_OPSET_IMPORT: TRY(onnx_wire(c, &f, TMLP_PB_LEN, "ModelProto.opset_import")); m->n_opsets++; break;
        case MODEL_METADATA_PROPS: TRY(onnx_wire(c, &f, TMLP_PB_LEN, "ModelProto.metadata_props")); m->n_metadata++; break;
        }
    }
    if (!has_graph) return tmlp_error_set(c->err, TMLP_ERR_FORMAT, "the model has no graph");
    TRY(onnx_array(c, (size_t)m->n_opsets, sizeof *m->opsets, (void **)&m->opsets));
    TRY(onnx_array(c, (size_t)m->n_metadata, sizeof *m->metadata, (void **)&m->metadata));
    int64_t no = 0, nm = 0;
    while (tmlp_pb_more(&r)) { /* pass 2 */
        TRY(tmlp_pb_next(&r, &f, c->err));
        if (f.number == MODEL_OPSET_IMPORT) TRY(onnx_opset(c, tmlp_pb_reader_sub(&r, &f), m, &m->opsets[no++]));
        else if (f.number == MODEL_METADATA_PROPS) TRY(onnx_prop(c, tmlp_pb_reader_sub(&r, &f), &m->metadata[nm++]));
    }
    return onnx_graph(c, tmlp_pb_reader_sub(&r, &graph), m);
}

/* ---- public ---- */

tmlp_status tmlp_onnx_parse(const tmlp_allocator *a, const uint8_t *buf, size_t len,
                            tmlp_onnx_model **out, tmlp_error *err)
{
    if (out) *out = NULL;
    if (!out || (!buf && len)) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_onnx_parse: NULL argument");
    if (len == 0) return tmlp_error_set(err, TMLP_ERR_FORMAT, "not an ONNX model: the buffer is empty");
    if (!tmlp_onnx_looks_like(buf, len))
        return tmlp_error_set(err, TMLP_ERR_FORMAT,
                              "not an ONNX model: it does not start with an ir_version field and ModelProto fields");
    tmlp_onnx_model *m = tmlp_mem_alloc(a, sizeof *m);
    if (!m) return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory (ONNX model)");
    memset(m, 0, sizeof *m);
    onnx_ctx c = {a, m, err, NULL};
    tmlp_status s = (c.empty = onnx_alloc(&c, 1)) ? TMLP_OK : TMLP_ERR_NOMEM;
    if (s == TMLP_OK) {
        m->producer_name = m->graph_name = c.empty;
        s = onnx_model(&c, tmlp_pb_reader_init(buf, len), m);
    }
    if (s != TMLP_OK) {
        tmlp_onnx_model_destroy(a, m);
        return s;
    }
    *out = m;
    return TMLP_OK;
}

void tmlp_onnx_model_destroy(const tmlp_allocator *a, tmlp_onnx_model *m)
{
    if (!m) return;
    for (onnx_block *b = m->blocks_, *next; b; b = next) {
        next = b->h.next;
        tmlp_mem_free(a, b);
    }
    tmlp_mem_free(a, m);
}

/* The wire type of a ModelProto field, or -1 for a field number ModelProto does not have
 * (onnx.proto today; newer files may add fields). */
static int onnx_model_wire(uint64_t field)
{
    switch (field) {
    case 1: case 5: return TMLP_PB_VARINT;          /* ir_version, model_version */
    case 2: case 3: case 4: case 6: case 7: case 8: /* producer_*, domain, doc_string, graph, opset_import */
    case 14: case 20: case 25: case 26:             /* metadata_props, training_info, functions, configuration */
        return TMLP_PB_LEN;
    }
    return -1;
}

/* The first field must be ir_version (every writer emits fields in number order, and
 * ir_version is field 1) with a plausible value, the second a known ModelProto field; the
 * next ones (8 fields at most are read) must be well-formed, known fields with their own
 * wire type. A field cut by the end of the buffer (in its tag, its length or its payload)
 * ends the walk: a prefix of a file is enough. Zero bytes are field number 0 and never pass, which rejects a safetensors file
 * (its 8-byte length has zero high bytes). */
/* true if buf[pos..len) is the start of a varint (possibly none of it) that the end of the
 * buffer cut short */
static bool onnx_varint_cut(const uint8_t *buf, size_t pos, size_t len)
{
    if (pos > len || len - pos >= 10) return false;
    for (size_t i = pos; i < len; i++)
        if (!(buf[i] & 0x80)) return false;
    return true;
}

int tmlp_onnx_looks_like(const uint8_t *buf, size_t len)
{
    if (!buf || len < 2 || buf[0] != (MODEL_IR_VERSION << 3 | TMLP_PB_VARINT)) return 0;
    tmlp_pb_reader r = tmlp_pb_reader_init(buf, len);
    tmlp_pb_field f;
    for (int k = 0; k < 8 && tmlp_pb_more(&r); k++) {
        uint64_t tag, n;
        size_t next;
        if (onnx_varint_cut(buf, r.pos, len)) return k > 0;
        if (tmlp_pb_varint(buf, r.pos, len, &tag, &next, NULL) != TMLP_OK) return 0;
        const int wire = onnx_model_wire(tag >> 3);
        if (wire != (int)(tag & 7) && (wire >= 0 || k < 2)) return 0;
        if ((tag & 7) == TMLP_PB_LEN &&
            (onnx_varint_cut(buf, next, len) ||
             (tmlp_pb_varint(buf, next, len, &n, &next, NULL) == TMLP_OK && n > len - next)))
            return k > 0;
        if (tmlp_pb_next(&r, &f, NULL) != TMLP_OK) return 0;
        if (k == 0 && (f.value < 1 || f.value > 127)) return 0; /* ir_version: 1 .. 14 today */
    }
    return 1;
}

const tmlp_onnx_attr *tmlp_onnx_node_attr(const tmlp_onnx_node *node, const char *name)
{
    for (int64_t i = 0; node && name && i < node->n_attrs; i++)
        if (!strcmp(node->attrs[i].name, name)) return &node->attrs[i];
    return NULL;
}

const tmlp_onnx_tensor *tmlp_onnx_find_initializer(const tmlp_onnx_model *m, const char *name)
{
    for (int64_t i = 0; m && name && i < m->n_initializers; i++)
        if (!strcmp(m->initializers[i].name, name)) return &m->initializers[i];
    return NULL;
}
