/* test_onnx_import.c — ONNX files to models (src/io/onnx_*.c, src/layers/graph.c).
 *
 *   fixtures    every .onnx under tests/fixtures/layers and tests/fixtures/onnx/graphs that
 *               is not a refusal case loads and matches its *_io.safetensors reference
 *               (float64, from PyTorch or the formula) within 1e-5 x max|y_ref|, on every
 *               Dense kernel this CPU has, at batch 1 and at the fixture's batch, through
 *               forward and (where the fixture has x_u8) forward_u8; the same file loaded
 *               with no_fusion (one GRAPH layer) agrees with the fused model;
 *   kinds       the fusion pass gives the expected layers (no GRAPH layer where a pattern
 *               is known; the GRAPH layer is named by its ONNX ops);
 *   refusals    each malformed or unsupported file is refused with its status and a
 *               message naming the node / value / op;
 *   IR cases    graphs built as IR structs (no file) for rules no fixture covers: absurd
 *               widths, opsets, domains, axes, a residual block run by the interpreter;
 *   save        tmlp_model_save refuses a GRAPH layer; opts.layers refuses an ONNX file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "io/onnx_build.h"
#include "io/safetensors.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Fixture files ------------------------------------------------------------------- */

/* A fixture's io: x (rows, in), y_ref (rows, out) as float, and x_u8 if present. */
typedef struct io_data {
    int64_t rows, in, out;
    float *x, *y_ref;
    uint8_t *x_u8;
} io_data;

static void io_free(io_data *io)
{
    free(io->x);
    free(io->y_ref);
    free(io->x_u8);
    memset(io, 0, sizeof *io);
}

/* Read x, y_ref (F64 -> float) and x_u8 from an io file. */
static void io_read(const char *path, io_data *io)
{
    tmlp_st_file *f = NULL;
    tmlp_error err = {TMLP_OK, ""};
    memset(io, 0, sizeof *io);
    if (tmlp_st_read(path, NULL, &f, &err) != TMLP_OK) fail_msg("%s: %s", path, err.message);
    const tmlp_st_tensor *x = tmlp_st_find(f, "x"), *y = tmlp_st_find(f, "y_ref");
    const tmlp_st_tensor *u = tmlp_st_find(f, "x_u8");
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(y->dtype, TMLP_ST_F64);
    io->rows = (int64_t)x->shape[0];
    io->in = (int64_t)(x->numel / x->shape[0]);
    io->out = (int64_t)(y->numel / y->shape[0]);
    io->x = malloc(x->numel * sizeof(float));
    io->y_ref = malloc(y->numel * sizeof(float));
    assert_int_equal(tmlp_st_to_f32(x, io->x, NULL), TMLP_OK);
    for (uint64_t i = 0; i < y->numel; i++) {
        double d;
        memcpy(&d, y->data + 8 * i, 8);
        io->y_ref[i] = (float)d;
    }
    if (u) {
        io->x_u8 = malloc(u->numel);
        memcpy(io->x_u8, u->data, u->numel);
    }
    tmlp_st_free(f);
}

/* The io file of fixture dir/name.onnx: name_io, else with "_opsetNN..." cut off. */
static int io_path(const char *dir, const char *name, char *buf, size_t cap)
{
    char stem[200];
    snprintf(stem, sizeof stem, "%.*s", (int)(strlen(name) - 5), name);
    snprintf(buf, cap, "%s/%s_io.safetensors", dir, stem);
    if (access(buf, R_OK) == 0) return 1;
    char *cut = strstr(stem, "_opset");
    if (!cut) return 0;
    *cut = '\0';
    snprintf(buf, cap, "%s/%s_io.safetensors", dir, stem);
    return access(buf, R_OK) == 0;
}

/* Files the importer must refuse (checked in test_refusals), skipped by the match test. */
static int is_refusal(const char *name)
{
    return !strncmp(name, "bad_", 4) || strstr(name, "torch_invalid");
}

static tmlp_model *load(const char *path, tmlp_kernel k, int no_fusion)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.kernel = k;
    o.no_fusion = no_fusion;
    tmlp_model *m = NULL;
    tmlp_error err = {TMLP_OK, ""};
    if (tmlp_model_load(path, &o, &m, &err) != TMLP_OK) fail_msg("%s: %s", path, err.message);
    return m;
}

/* max |got - ref| <= 1e-5 * max |ref| over n values; prints the worst on failure. */
static int close_enough(const char *what, const float *got, const float *ref, int64_t n)
{
    double scale = 0.0, worst = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= worst)) worst = d, at = i;
    }
    if (worst <= 1e-5 * scale) return 1;
    fprintf(stderr, "  %s: |diff| %.3g at %lld (got %.9g, want %.9g), bound %.3g\n", what, worst,
            (long long)at, got[at], ref[at], 1e-5 * scale);
    return 0;
}

/* Forward io through m at the full batch, row by row, and from x_u8; into y (rows, out). */
static int run_checks(const char *label, tmlp_model *m, const io_data *io, float *y)
{
    tmlp_session *s = NULL;
    tmlp_error err = {TMLP_OK, ""};
    if (tmlp_session_create(m, io->rows, &s, &err) != TMLP_OK) fail_msg("%s: %s", label, err.message);
    tmlp_tensor in = tmlp_tensor_2d(io->x, io->rows, io->in), out;
    if (tmlp_session_forward(s, &in, &out, &err) != TMLP_OK) fail_msg("%s: %s", label, err.message);
    memcpy(y, out.data, (size_t)(io->rows * io->out) * sizeof *y);
    int ok = close_enough(label, y, io->y_ref, io->rows * io->out);
    for (int64_t r = 0; r < io->rows; r++) {
        tmlp_tensor row = tmlp_tensor_2d(io->x + r * io->in, 1, io->in);
        assert_int_equal(tmlp_session_forward(s, &row, &out, NULL), TMLP_OK);
        ok &= close_enough(label, out.data, io->y_ref + r * io->out, io->out);
    }
    if (io->x_u8) {
        assert_int_equal(tmlp_session_forward_u8(s, io->x_u8, io->rows, &out, NULL), TMLP_OK);
        ok &= close_enough(label, out.data, io->y_ref, io->rows * io->out);
    }
    tmlp_session_destroy(s);
    return ok;
}

/* One fixture on every kernel, fused and with no_fusion. */
static int check_fixture(const char *dir, const char *name)
{
    char path[1400], iop[1400], label[1600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!io_path(dir, name, iop, sizeof iop)) fail_msg("%s: no io file", path);
    io_data io;
    io_read(iop, &io);
    float *y = malloc((size_t)(io.rows * io.out) * sizeof *y), *y0 = malloc((size_t)(io.rows * io.out) * sizeof *y0);
    static const tmlp_kernel kernels[] = {TMLP_KERNEL_SCALAR, TMLP_KERNEL_AVX2, TMLP_KERNEL_AVX512, TMLP_KERNEL_BLAS,
                                          TMLP_KERNEL_NEON};
    int ok = 1;
    tmlp_model *m = load(path, TMLP_KERNEL_SCALAR, 1);
    snprintf(label, sizeof label, "%s (no_fusion)", name);
    assert_int_equal(tmlp_model_layer_count(m), 1);
    ok &= run_checks(label, m, &io, y0);
    tmlp_model_destroy(m);
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (!tmlp_kernel_available(kernels[k])) continue;
        m = load(path, kernels[k], 0);
        snprintf(label, sizeof label, "%s (%s)", name, tmlp_kernel_name(kernels[k]));
        ok &= run_checks(label, m, &io, y);
        snprintf(label, sizeof label, "%s (%s vs no_fusion)", name, tmlp_kernel_name(kernels[k]));
        ok &= close_enough(label, y, y0, io.rows * io.out);
        tmlp_model_destroy(m);
    }
    free(y);
    free(y0);
    io_free(&io);
    return ok;
}

static int check_dir(const char *sub)
{
    const char *dir = test_fixture(sub);
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    DIR *h = opendir(d);
    if (!h) fail_msg("cannot list %s", d);
    int n = 0, bad = 0;
    for (struct dirent *e; (e = readdir(h));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".onnx") || is_refusal(e->d_name)) continue;
        n++;
        bad += !check_fixture(d, e->d_name);
    }
    closedir(h);
    print_message("  %s: %d models, %d mismatched\n", sub, n, bad);
    assert_int_equal(bad, 0);
    return n;
}

static void test_layer_fixtures(void **state)
{
    (void)state;
    assert_true(check_dir("layers") >= 60);
}

static void test_graph_fixtures(void **state)
{
    (void)state;
    assert_true(check_dir("onnx/graphs") >= 30);
}

/* ---- What the fusion pass makes ------------------------------------------------------- */

/* The layers of m as "name,name,..." (fused-away layers marked '*'). */
static void layer_names(const tmlp_model *m, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < tmlp_model_layer_count(m); i++) {
        tmlp_layer_info li;
        assert_int_equal(tmlp_model_layer_info(m, i, &li, NULL), TMLP_OK);
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? "," : "", li.name);
    }
}

static void test_fused_kinds(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"layers/mix_ln_gelu_opset11.onnx", "dense,layernorm,gelu,dense,softmax"},
        {"layers/mix_ln_gelu_opset13.onnx", "dense,layernorm,gelu,dense,softmax"},
        {"layers/mix_ln_gelu_opset17.onnx", "dense,layernorm,gelu,dense,softmax"},
        {"layers/gelu_opset11.onnx", "dense,gelu,dense"},
        {"layers/gelu_tanh_opset13.onnx", "dense,gelu_tanh,dense"},
        {"layers/silu_opset17.onnx", "dense,silu,dense"},
        {"layers/layernorm_noaffine_eps1e3_opset11.onnx", "dense,layernorm,dense"},
        {"layers/mix_bn_silu_opset11.onnx", "dense,batchnorm,silu,dense,log_softmax"},
        {"layers/mix_deep_opset11.onnx",
         "dense,leaky_relu,dense,batchnorm,gelu_tanh,dense,layernorm,relu,dense,softmax"},
        {"layers/linear_nobias_opset13.onnx", "dense,relu,dense"},
        {"onnx/graphs/layernorm_decomposed_opset18.onnx", "dense,layernorm,relu,dense"},
        {"onnx/graphs/gelu_opset20.onnx", "dense,gelu,dense"},
        {"onnx/graphs/layernorm_opset21.onnx", "dense,layernorm,relu,dense,layernorm"},
        {"onnx/graphs/matmul_add.onnx", "dense,relu,dense"},
        {"onnx/graphs/reshape_squeeze_opset13.onnx", "dense,relu,dense"},
        {"onnx/graphs/identity_dropout.onnx", "dense,relu,dense"},
        {"onnx/graphs/weights_fp16.onnx", "dense,relu,dense"},
        {"onnx/graphs/gemm_transA_transposed_input.onnx", "dense,sigmoid,dense"},
        {"onnx/graphs/preprocess_scalar.onnx", "graph (3 ops: Mul,Sub,Div),dense,relu,dense,softmax"},
        {"../../models/fashion_mlp.onnx", "graph (3 ops: Mul,Sub,Div),dense,relu,dense,relu,dense,softmax"},
    };
    char got[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tmlp_model *m = load(test_fixture(cases[i][0]), TMLP_KERNEL_AUTO, 0);
        layer_names(m, got, sizeof got);
        if (strcmp(got, cases[i][1])) fail_msg("%s: layers %s, expected %s", cases[i][0], got, cases[i][1]);
        tmlp_model_destroy(m);
    }
    /* MatMul + Add became dense layers with biases (in*out + out parameters). */
    tmlp_model *m = load(test_fixture("onnx/graphs/matmul_add.onnx"), TMLP_KERNEL_AUTO, 0);
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(m, 0, &li, NULL), TMLP_OK);
    assert_int_equal(li.param_count, li.in_width * li.out_width + li.out_width);
    tmlp_model_destroy(m);
    /* no_fusion: one GRAPH layer for the whole graph, named by its ops. */
    m = load(test_fixture("layers/relu_opset13.onnx"), TMLP_KERNEL_AUTO, 1);
    layer_names(m, got, sizeof got);
    assert_string_equal(got, "graph (3 ops: Gemm,Relu,Gemm)");
    assert_int_equal(tmlp_model_layer_info(m, 0, &li, NULL), TMLP_OK);
    assert_int_equal(li.kind, TMLP_LAYER_GRAPH);
    tmlp_model_destroy(m);
}

/* ---- Refusals --------------------------------------------------------------------------- */

/* Load path, expect `code` and every piece of `parts` (NULL-terminated) in the message. */
static void expect_refusal(const char *path, const tmlp_model_options *o, tmlp_status code,
                           const char *const *parts)
{
    tmlp_model *m = (tmlp_model *)&m;
    tmlp_error err = {TMLP_OK, ""};
    tmlp_status st = tmlp_model_load(path, o, &m, &err);
    if (st != code) fail_msg("%s: status %d (%s), expected %d: %s", path, st, tmlp_status_str(st), code, err.message);
    assert_null(m);
    assert_int_equal(err.code, code);
    for (; *parts; parts++)
        if (!strstr(err.message, *parts)) fail_msg("%s: message lacks \"%s\": %s", path, *parts, err.message);
}

#define REFUSE(file, code, ...) \
    expect_refusal(test_fixture(file), NULL, code, (const char *const[]){__VA_ARGS__, NULL})

static void test_refusals(void **state)
{
    (void)state;
    REFUSE("onnx/graphs/bad_unsupported_op_conv.onnx", TMLP_ERR_UNSUPPORTED, "n1_Conv", "op Conv is not supported",
           "supported: Gemm MatMul", "Dropout Cast Constant");
    REFUSE("onnx/graphs/bad_dangling_input.onnx", TMLP_ERR_FORMAT, "n0_Gemm", "b1_never_defined", "not produced");
    REFUSE("onnx/graphs/bad_cycle.onnx", TMLP_ERR_FORMAT, "cycle", "cyc_");
    REFUSE("onnx/graphs/bad_duplicate_output.onnx", TMLP_ERR_FORMAT, "`t0`", "already produced");
    REFUSE("onnx/graphs/bad_output_undefined.onnx", TMLP_ERR_FORMAT, "graph output `y`");
    REFUSE("onnx/graphs/bad_two_inputs.onnx", TMLP_ERR_UNSUPPORTED, "more than one input", "`x`", "`z`");
    REFUSE("onnx/graphs/bad_softmax_axis0.onnx", TMLP_ERR_UNSUPPORTED, "(Softmax)", "axis 0", "[N, 8]");
    REFUSE("onnx/graphs/bad_softmax_axis0_opset11.onnx", TMLP_ERR_UNSUPPORTED, "(Softmax)", "axis 0");
    REFUSE("onnx/graphs/bad_gemm_dims.onnx", TMLP_ERR_SHAPE, "n2_Gemm", "`w2` [5, 9]", "[N, 8]");
    REFUSE("onnx/graphs/bad_reshape_shape.onnx", TMLP_ERR_UNSUPPORTED, "(Reshape)", "batch", "[N, 8]");
    REFUSE("onnx/graphs/bad_external_data.onnx", TMLP_ERR_UNSUPPORTED, "external data", "w1");
    REFUSE("onnx/graphs/bad_raw_data_size.onnx", TMLP_ERR_FORMAT, "w1", "192");
    REFUSE("onnx/graphs/bad_dropout_training.onnx", TMLP_ERR_UNSUPPORTED, "(Dropout)", "training_mode");
    REFUSE("layers/layernorm_noaffine_opset17_torch_invalid.onnx", TMLP_ERR_FORMAT, "(LayerNormalization)",
           "input 1 is empty");
}

/* Bytes into a temporary file named `name` (in the build dir's cwd); returns its path. */
static const char *write_temp(const char *name, const void *bytes, size_t n)
{
    static char path[256];
    snprintf(path, sizeof path, "onnx_import_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
    return path;
}

static void test_truncated_and_foreign(void **state)
{
    (void)state;
    FILE *f = fopen(test_fixture("layers/relu_opset13.onnx"), "rb");
    assert_non_null(f);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 200);
    /* Cut in the middle: recognised as ONNX by its first fields, refused by the parser. */
    const char *p = write_temp("cut.onnx", buf, n / 2);
    expect_refusal(p, NULL, TMLP_ERR_FORMAT, (const char *const[]){p, NULL});
    unlink(p);
    /* The same bytes under another name: still read as ONNX (content, not extension). */
    p = write_temp("cut.bin", buf, n / 2);
    expect_refusal(p, NULL, TMLP_ERR_FORMAT, (const char *const[]){p, NULL});
    unlink(p);
    /* A whole ONNX file named .safetensors loads. */
    p = write_temp("relu.safetensors", buf, n);
    tmlp_model *m = NULL;
    assert_int_equal(tmlp_model_load(p, NULL, &m, NULL), TMLP_OK);
    tmlp_model_destroy(m);
    unlink(p);
    /* Text named .onnx: neither format; the ONNX parser says why. */
    static const char text[] = "this is not a model, only some text\n";
    p = write_temp("text.onnx", text, sizeof text - 1);
    expect_refusal(p, NULL, TMLP_ERR_FORMAT, (const char *const[]){p, NULL});
    unlink(p);
}

static void test_save_and_layers_option(void **state)
{
    (void)state;
    tmlp_model *m = load(test_fixture("onnx/graphs/preprocess_scalar.onnx"), TMLP_KERNEL_AUTO, 0);
    tmlp_error err = {TMLP_OK, ""};
    assert_int_equal(tmlp_model_save(m, "onnx_import_never_written.safetensors", &err), TMLP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "ONNX-only"));
    assert_int_equal(access("onnx_import_never_written.safetensors", F_OK), -1);
    tmlp_model_destroy(m);
    /* A model without GRAPH layers saves and loads back with the same outputs. */
    m = load(test_fixture("layers/mix_ln_gelu_opset11.onnx"), TMLP_KERNEL_SCALAR, 0);
    const char *p = "onnx_import_roundtrip.safetensors";
    assert_int_equal(tmlp_model_save(m, p, &err), TMLP_OK);
    tmlp_model *back = NULL;
    tmlp_model_options o = tmlp_model_options_default();
    o.kernel = TMLP_KERNEL_SCALAR;
    assert_int_equal(tmlp_model_load(p, &o, &back, &err), TMLP_OK);
    io_data io;
    io_read(test_fixture("layers/mix_ln_gelu_io.safetensors"), &io);
    float *y = malloc((size_t)(io.rows * io.out) * sizeof *y);
    assert_true(run_checks("mix_ln_gelu saved", back, &io, y));
    free(y);
    io_free(&io);
    tmlp_model_destroy(back);
    tmlp_model_destroy(m);
    unlink(p);
    o.layers = "linear,relu,linear";
    expect_refusal(test_fixture("layers/relu_opset13.onnx"), &o, TMLP_ERR_ARG,
                   (const char *const[]){"tmlp_model_options.layers", NULL});
}

/* metadata_props tinymlp.input_* become the model's preprocessing, like __metadata__. */
static void test_metadata(void **state)
{
    (void)state;
    tmlp_model *m = load(test_fixture("onnx/graphs/metadata_props.onnx"), TMLP_KERNEL_AUTO, 0);
    tmlp_preprocess p = tmlp_model_preprocess(m);
    assert_int_equal(p.has_preprocess, 1);
    assert_true(p.std != 1.0 || p.mean != 0.0 || p.scale != 1.0);
    tmlp_model_destroy(m);
    m = load(test_fixture("onnx/graphs/preprocess_scalar.onnx"), TMLP_KERNEL_AUTO, 0);
    assert_int_equal(tmlp_model_preprocess(m).has_preprocess, 0); /* it is in the graph */
    tmlp_model_destroy(m);
}

/* ---- Graphs built as IR ------------------------------------------------------------------ */

/* A graph under construction: input x [N, w] (FLOAT), output `y`, nodes and initializers
 * added in order. Strings are literals; arrays live in the struct. */
typedef struct irb {
    tmlp_onnx_model m;
    tmlp_onnx_node nodes[16];
    tmlp_onnx_tensor inits[8];
    tmlp_onnx_value in, out[2];
    tmlp_onnx_attr attrs[16];
    int n_attrs;
    char *names[64];
    int n_names;
    char *bufs[32];         /* the strdup'd lists names[] points into */
    int n_bufs;
} irb;

static void irb_init(irb *b, int64_t opset, int ndim, const int64_t *dims)
{
    memset(b, 0, sizeof *b);
    b->m.opset = opset;
    b->m.ir_version = 8;
    b->m.producer_name = b->m.graph_name = "";
    b->in.name = "x";
    b->in.is_tensor = 1;
    b->in.elem_type = TMLP_ONNX_FLOAT;
    b->in.ndim = ndim;
    b->in.dims[0] = -1;
    for (int d = 1; d < ndim; d++) b->in.dims[d] = dims[d - 1];
    b->out[0].name = "y";
    b->out[0].ndim = -1;
    b->m.inputs = &b->in;
    b->m.n_inputs = 1;
    b->m.outputs = b->out;
    b->m.n_outputs = 1;
    b->m.nodes = b->nodes;
    b->m.initializers = b->inits;
}

/* Node op(ins) -> outs; "a,b" lists; attrs taken from the last n_attr added by irb_attr. */
static tmlp_onnx_node *irb_node(irb *b, const char *op, const char *ins, const char *outs)
{
    tmlp_onnx_node *n = &b->nodes[b->m.n_nodes++];
    n->name = "";
    n->domain = "";
    n->op_type = (char *)op;
    char **lists[2];
    const char *src[2] = {ins, outs};
    int64_t *counts[2] = {&n->n_inputs, &n->n_outputs};
    for (int k = 0; k < 2; k++) {
        lists[k] = &b->names[b->n_names];
        char *copy = b->bufs[b->n_bufs++] = strdup(src[k]), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            b->names[b->n_names++] = strcmp(t, "_") ? t : (char *)"";
        *counts[k] = &b->names[b->n_names] - lists[k];
    }
    n->inputs = lists[0];
    n->outputs = lists[1];
    return n;
}

static void irb_attr_int(irb *b, tmlp_onnx_node *n, const char *name, int64_t v)
{
    tmlp_onnx_attr *a = &b->attrs[b->n_attrs++];
    a->name = (char *)name;
    a->type = TMLP_ONNX_ATTR_INT;
    a->i = v;
    if (!n->attrs) n->attrs = a;
    n->n_attrs++;
}

/* An initializer of rank ndim; data is used in place (f32, or i64 when ints). */
static void irb_init_tensor(irb *b, const char *name, int ndim, const int64_t *dims, float *f,
                            int64_t *ints)
{
    tmlp_onnx_tensor *t = &b->inits[b->m.n_initializers++];
    t->name = (char *)name;
    t->ndim = ndim;
    t->numel = 1;
    for (int d = 0; d < ndim; d++) t->dims[d] = dims[d], t->numel *= dims[d];
    t->f32 = f;
    t->i64 = ints;
    t->data_type = f ? TMLP_ONNX_FLOAT : TMLP_ONNX_INT64;
}

static void irb_free(irb *b)
{
    for (int i = 0; i < b->n_bufs; i++) free(b->bufs[i]);
}

/* Build b's model with options (kernel scalar); TMLP_OK and *m, or the error in err. */
static tmlp_status irb_build(irb *b, int no_fusion, tmlp_model **m, tmlp_error *err)
{
    tmlp_model_options o = tmlp_model_options_default();
    o.kernel = TMLP_KERNEL_SCALAR;
    o.no_fusion = no_fusion;
    return tmlp_onnx_build_model(&b->m, &o, m, err);
}

static void irb_expect(irb *b, tmlp_status code, const char *part)
{
    tmlp_model *m = NULL;
    tmlp_error err = {TMLP_OK, ""};
    tmlp_status st = irb_build(b, 0, &m, &err);
    if (st != code) fail_msg("status %d, expected %d: %s", st, code, err.message);
    if (!strstr(err.message, part)) fail_msg("message lacks \"%s\": %s", part, err.message);
    assert_null(m);
}

static void test_ir_refusals(void **state)
{
    (void)state;
    irb b;
    const int64_t big[2] = {70000, 70000}, w4[1] = {4};
    irb_init(&b, 13, 3, big);
    irb_node(&b, "Relu", "x", "y");
    irb_expect(&b, TMLP_ERR_SHAPE, "2^31");
    irb_free(&b);

    irb_init(&b, 6, 2, w4);
    irb_node(&b, "Relu", "x", "y");
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "opset 6");
    irb_free(&b);
    irb_init(&b, 22, 2, w4);
    irb_node(&b, "Relu", "x", "y");
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "opsets 7 to 21");
    irb_free(&b);

    irb_init(&b, 8, 2, w4);
    irb_node(&b, "Erf", "x", "y");
    irb_expect(&b, TMLP_ERR_FORMAT, "from opset 9");
    irb_free(&b);

    irb_init(&b, 13, 2, w4);
    irb_node(&b, "Relu", "x", "y")->domain = "com.microsoft";
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "domain `com.microsoft`");
    irb_free(&b);

    irb_init(&b, 13, 2, w4); /* no axes: the mean over every axis, batch included */
    irb_node(&b, "ReduceMean", "x", "y");
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "every axis");
    irb_free(&b);

    irb_init(&b, 13, 2, w4);
    irb_attr_int(&b, irb_node(&b, "Cast", "x", "y"), "to", TMLP_ONNX_DOUBLE);
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "DOUBLE");
    irb_free(&b);

    float w[16] = {0};
    const int64_t d44[2] = {4, 4};
    irb_init(&b, 13, 2, w4);
    irb_init_tensor(&b, "w", 2, d44, w, NULL);
    irb_attr_int(&b, irb_node(&b, "Gemm", "x,w", "y"), "transA", 1);
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "transA=1");
    irb_free(&b);

    irb_init(&b, 13, 2, w4);
    irb_init_tensor(&b, "w", 2, d44, w, NULL);
    irb_node(&b, "MatMul", "w,x", "y");
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "second operand");
    irb_free(&b);

    irb_init(&b, 13, 2, w4); /* the output does not depend on x */
    irb_init_tensor(&b, "w", 2, d44, w, NULL);
    irb_node(&b, "Relu", "w", "y");
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "does not depend");
    irb_free(&b);

    int64_t ax0[1] = {0};
    const int64_t d1[1] = {1};
    irb_init(&b, 13, 2, w4); /* Unsqueeze at axis 0 moves the batch */
    irb_init_tensor(&b, "axes", 1, d1, NULL, ax0);
    irb_node(&b, "Unsqueeze", "x,axes", "y");
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "batch");
    irb_free(&b);

    irb_init(&b, 13, 2, w4); /* a Transpose of the batch read by anything but Gemm's transA */
    irb_node(&b, "Transpose", "x", "t");
    irb_node(&b, "Relu", "t", "y");
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "Transpose of the batch axis");
    irb_free(&b);

    irb_init(&b, 13, 2, w4);
    irb_node(&b, "Relu", "x", "y");
    b.out[1].name = "y";
    b.m.n_outputs = 2;
    irb_expect(&b, TMLP_ERR_UNSUPPORTED, "2 outputs");
    irb_free(&b);
}

/* A 0-d FLOAT initializer `name` holding *k. */
static void irb_scalar(irb *b, const char *name, float *k) { irb_init_tensor(b, name, 0, NULL, k, NULL); }

/* Run model m on rows x (rows, in) into y. */
static void run_model(tmlp_model *m, const float *x, int64_t rows, float *y)
{
    tmlp_session *s = NULL;
    tmlp_tensor in = tmlp_tensor_2d(x, rows, tmlp_model_input_width(m)), out;
    assert_int_equal(tmlp_session_create(m, rows, &s, NULL), TMLP_OK);
    assert_int_equal(tmlp_session_forward(s, &in, &out, NULL), TMLP_OK);
    memcpy(y, out.data, (size_t)(rows * tmlp_model_output_width(m)) * sizeof *y);
    tmlp_session_destroy(s);
}

static const float ir_x[3][4] = {{0.5f, -1.25f, 2.0f, 0.0f}, {-3.0f, 4.5f, 0.125f, -0.75f},
                                 {10.0f, -10.0f, 1e-3f, 7.0f}};

/* Build b fused and unfused; both give `want` (3 x out) within rtol 1e-5 of max|want|. */
static void irb_check(irb *b, const float *want, int64_t out, const char *layers)
{
    for (int nf = 0; nf < 2; nf++) {
        tmlp_model *m = NULL;
        tmlp_error err = {TMLP_OK, ""};
        if (irb_build(b, nf, &m, &err) != TMLP_OK) fail_msg("build: %s", err.message);
        char got[256];
        layer_names(m, got, sizeof got);
        if (!nf && layers && strcmp(got, layers)) fail_msg("layers %s, expected %s", got, layers);
        float y[3 * 8];
        run_model(m, &ir_x[0][0], 3, y);
        assert_true(close_enough(got, y, want, 3 * out));
        tmlp_model_destroy(m);
    }
}

/* A residual block, y = relu(x W^T + b) + x: no cut inside, so one GRAPH layer with a
 * dense instruction. */
static void test_ir_residual(void **state)
{
    (void)state;
    float w[16], bias[4], want[3][4];
    for (int i = 0; i < 16; i++) w[i] = (float)((i * 7) % 5 - 2) * 0.25f;
    for (int j = 0; j < 4; j++) bias[j] = 0.1f * (float)j - 0.15f;
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 4; j++) {
            double h = bias[j];
            for (int i = 0; i < 4; i++) h += (double)ir_x[r][i] * w[j * 4 + i];
            want[r][j] = (float)((h > 0 ? h : 0) + ir_x[r][j]);
        }
    irb b;
    const int64_t w4[1] = {4}, d44[2] = {4, 4}, d4[1] = {4};
    float wt[16]; /* W stored [in, out], turned back by a Transpose folded at load */
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 4; i++) wt[i * 4 + j] = w[j * 4 + i];
    irb_init(&b, 13, 2, w4);
    irb_init_tensor(&b, "wt", 2, d44, wt, NULL);
    irb_init_tensor(&b, "b", 1, d4, bias, NULL);
    irb_node(&b, "Transpose", "wt", "w");
    irb_attr_int(&b, irb_node(&b, "Gemm", "x,w,b", "h"), "transB", 1);
    irb_node(&b, "Relu", "h", "r");
    irb_node(&b, "Add", "r,x", "y");
    irb_check(&b, &want[0][0], 4, "graph (3 ops: Gemm,Relu,Add)");
    irb_free(&b);
}

/* MatMul, then the Add of a bias row, then a Mul: the Add is taken into the dense (which
 * then has in*out + out parameters) and only the Mul is left to a GRAPH layer. */
static void test_ir_bias_fold(void **state)
{
    (void)state;
    static float w[16], bias[4], two = 2.0f;
    float want[3][4];
    for (int i = 0; i < 16; i++) w[i] = (float)((i * 5) % 7 - 3) * 0.125f; /* [in, out] */
    for (int j = 0; j < 4; j++) bias[j] = 0.25f * (float)j - 0.5f;
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 4; j++) {
            double h = 0;
            for (int i = 0; i < 4; i++) h += (double)ir_x[r][i] * w[i * 4 + j];
            want[r][j] = (float)(2.0 * (h + bias[j]));
        }
    irb b;
    const int64_t w4[1] = {4}, d44[2] = {4, 4}, d14[2] = {1, 4};
    irb_init(&b, 13, 2, w4);
    irb_init_tensor(&b, "w", 2, d44, w, NULL);
    irb_init_tensor(&b, "b", 2, d14, bias, NULL);
    irb_scalar(&b, "two", &two);
    irb_node(&b, "MatMul", "x,w", "h");
    irb_node(&b, "Add", "b,h", "a");
    irb_node(&b, "Mul", "a,two", "y");
    irb_check(&b, &want[0][0], 4, "dense,graph (1 op: Mul)");
    tmlp_model *m = NULL;
    assert_int_equal(irb_build(&b, 0, &m, NULL), TMLP_OK);
    tmlp_layer_info li;
    assert_int_equal(tmlp_model_layer_info(m, 0, &li, NULL), TMLP_OK);
    assert_int_equal(li.param_count, 20);
    tmlp_model_destroy(m);
    irb_free(&b);
}

/* The interpreter's elementwise ops, in a chain whose value is known: LeakyRelu, then
 * sigmoid written as Exp(Neg(Log(Reciprocal(Sigmoid(.))))) ... squared by Pow with an
 * INT64 exponent after Sqrt. */
static void test_ir_elementwise(void **state)
{
    (void)state;
    float want[3][4];
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 4; j++) {
            double v = ir_x[r][j] >= 0 ? ir_x[r][j] : 0.1 * ir_x[r][j];
            want[r][j] = (float)(1.0 / (1.0 + exp(-v)));
        }
    irb b;
    int64_t two[1] = {2};
    const int64_t w4[1] = {4};
    irb_init(&b, 13, 2, w4);
    irb_init_tensor(&b, "two", 0, NULL, NULL, two);
    tmlp_onnx_node *lr = irb_node(&b, "LeakyRelu", "x", "a");
    static tmlp_onnx_attr alpha = {.name = "alpha", .type = TMLP_ONNX_ATTR_FLOAT, .f = 0.1f};
    lr->attrs = &alpha;
    lr->n_attrs = 1;
    irb_node(&b, "Sigmoid", "a", "s");
    irb_node(&b, "Reciprocal", "s", "r");  /* 1 + exp(-a) */
    irb_node(&b, "Log", "r", "l");
    irb_node(&b, "Neg", "l", "n");         /* log sigmoid(a) */
    irb_node(&b, "Exp", "n", "e");         /* sigmoid(a) */
    irb_node(&b, "Sqrt", "e", "q");
    irb_node(&b, "Pow", "q,two", "y");
    irb_check(&b, &want[0][0], 4, NULL);
    irb_free(&b);
}

/* ReduceMean with keepdims=0 gives [N]; Unsqueeze brings back [N, 1]; x - that centres
 * each row. The identity graph (y = Identity(x)) is one identity layer. */
static void test_ir_reduce_and_identity(void **state)
{
    (void)state;
    float want[3][4];
    for (int r = 0; r < 3; r++) {
        double mean = 0;
        for (int j = 0; j < 4; j++) mean += ir_x[r][j] / 4.0;
        for (int j = 0; j < 4; j++) want[r][j] = (float)(ir_x[r][j] - mean);
    }
    irb b;
    int64_t axes[1] = {1};
    const int64_t w4[1] = {4}, d1[1] = {1};
    irb_init(&b, 13, 2, w4);
    irb_init_tensor(&b, "axes", 1, d1, NULL, axes);
    tmlp_onnx_node *rm = irb_node(&b, "ReduceMean", "x", "m");
    static int64_t rm_axes[1] = {-1};
    static tmlp_onnx_attr rm_attrs[2] = {{.name = "axes", .type = TMLP_ONNX_ATTR_INTS, .n = 1, .ints = rm_axes},
                                         {.name = "keepdims", .type = TMLP_ONNX_ATTR_INT, .i = 0}};
    rm->attrs = rm_attrs;
    rm->n_attrs = 2;
    irb_node(&b, "Unsqueeze", "m,axes", "u");
    irb_node(&b, "Sub", "x,u", "y");
    irb_check(&b, &want[0][0], 4, "graph (2 ops: ReduceMean,Sub)");
    irb_free(&b);

    irb_init(&b, 13, 2, w4);
    irb_node(&b, "Identity", "x", "y");
    irb_check(&b, &ir_x[0][0], 4, "identity");
    irb_free(&b);
}

/* The fusion pass checks what it recognises: GELU written another way (0.5 x first, Mul by
 * 1/sqrt 2, operands swapped) fuses; the same ops with erf(x / 2) do not (the numeric
 * check fails), and run as a GRAPH layer with the right values. */
static void test_ir_fusion_check(void **state)
{
    (void)state;
    static float half = 0.5f, one = 1.0f, rsqrt2 = 0.70710678f, two = 2.0f;
    float want[3][4], want2[3][4];
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 4; j++) {
            const double v = ir_x[r][j];
            want[r][j] = (float)(0.5 * v * (1.0 + erf(v / sqrt(2.0))));
            want2[r][j] = (float)(0.5 * v * (1.0 + erf(v / 2.0)));
        }
    irb b;
    const int64_t w4[1] = {4};
    irb_init(&b, 13, 2, w4);
    irb_scalar(&b, "half", &half);
    irb_scalar(&b, "one", &one);
    irb_scalar(&b, "k", &rsqrt2);
    irb_node(&b, "Mul", "half,x", "h");
    irb_node(&b, "Mul", "x,k", "s");
    irb_node(&b, "Erf", "s", "e");
    irb_node(&b, "Add", "one,e", "a");
    irb_node(&b, "Mul", "a,h", "y");
    irb_check(&b, &want[0][0], 4, "gelu");
    irb_free(&b);

    irb_init(&b, 13, 2, w4);
    irb_scalar(&b, "half", &half);
    irb_scalar(&b, "one", &one);
    irb_scalar(&b, "two", &two);
    irb_node(&b, "Div", "x,two", "s");
    irb_node(&b, "Erf", "s", "e");
    irb_node(&b, "Add", "e,one", "a");
    irb_node(&b, "Mul", "x,a", "p");
    irb_node(&b, "Mul", "p,half", "y");
    irb_check(&b, &want2[0][0], 4, "graph (5 ops: Div,Erf,Add,Mul,Mul)");
    irb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_fixtures),
        cmocka_unit_test(test_graph_fixtures),
        cmocka_unit_test(test_fused_kinds),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_truncated_and_foreign),
        cmocka_unit_test(test_save_and_layers_option),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_ir_refusals),
        cmocka_unit_test(test_ir_residual),
        cmocka_unit_test(test_ir_bias_fold),
        cmocka_unit_test(test_ir_elementwise),
        cmocka_unit_test(test_ir_reduce_and_identity),
        cmocka_unit_test(test_ir_fusion_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
