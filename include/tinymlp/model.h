/* tinymlp/model.h — models (immutable weights + layers) and sessions (per-thread buffers).
 *
 * Life of an inference:
 *     tmlp_model_load()  -> a tmlp_model: layers + weights, read-only from now on
 *     tmlp_session_create(model, max_batch, ...) -> buffers sized once for max_batch rows
 *     tmlp_session_forward(session, in:(B,in), out, ...) -> out:(B,out), a view into the session
 *
 * Ownership: whoever creates/loads an object destroys it; destroy functions accept NULL.
 * Threads: a finished model may be shared by any number of threads; a session belongs
 * to one thread at a time. Build a model completely (all tmlp_model_add_* calls) before
 * creating its first session; adding a layer after that returns TMLP_ERR_STATE.
 */
#ifndef TINYMLP_MODEL_H
#define TINYMLP_MODEL_H

#include "common.h"
#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tmlp_model tmlp_model;
typedef struct tmlp_session tmlp_session;

/* Layer kinds. The library calls the fully connected layer "dense" everywhere (API,
 * tmlp_layer_info.name, docs); only the FILE FORMAT keeps PyTorch's name "linear" (from
 * nn.Linear) in the "tinymlp.layers" metadata and tmlp_model_layers_string, so files stay
 * what PyTorch users expect. Every other kind has one name in both ("relu", "gelu", ...).
 * All map x:(B,n) -> y:(B,n) except Dense; the math is PyTorch's (eval mode). */
typedef enum tmlp_layer_kind {
    TMLP_LAYER_DENSE = 0,       /* dense:   y = x W^T + b;  x:(B,in) W:(out,in) b:(out) y:(B,out) */
    TMLP_LAYER_RELU = 1,        /* "relu":    y = max(x, 0), elementwise */
    TMLP_LAYER_SOFTMAX = 2,     /* "softmax": y_ij = exp(x_ij - max_j x_ij) / sum_j exp(...), per row */
    TMLP_LAYER_LEAKY_RELU = 3,  /* "leaky_relu": y = x >= 0 ? x : slope * x */
    TMLP_LAYER_GELU = 4,        /* "gelu":      y = 0.5 x (1 + erf(x / sqrt 2)) */
    TMLP_LAYER_GELU_TANH = 5,   /* "gelu_tanh": y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    TMLP_LAYER_TANH = 6,        /* "tanh" */
    TMLP_LAYER_SIGMOID = 7,     /* "sigmoid":   y = 1 / (1 + exp(-x)) */
    TMLP_LAYER_SILU = 8,        /* "silu":      y = x * sigmoid(x) */
    TMLP_LAYER_LOG_SOFTMAX = 9, /* "log_softmax": y_ij = x_ij - m_i - log sum_j exp(x_ij - m_i) */
    TMLP_LAYER_LAYERNORM = 10,  /* "layernorm": per row, y = (x - mean) / sqrt(var + eps) * gamma + beta
                                 * (mean and biased variance over the n features) */
    TMLP_LAYER_BATCHNORM = 11,  /* "batchnorm": per feature j, y = (x - mean_j) / sqrt(var_j + eps)
                                 * * gamma_j + beta_j (running statistics; BatchNorm1d in eval) */
    TMLP_LAYER_DROPOUT = 12,    /* "dropout":  y = x (inference) */
    TMLP_LAYER_IDENTITY = 13,   /* "identity": y = x */
    TMLP_LAYER_GRAPH = 14       /* "graph": part of an ONNX graph no other kind covers (input
                                 * preprocessing, a residual block), evaluated op by op in
                                 * float; ONNX-only: tmlp_model_save refuses it */
} tmlp_layer_kind;

/* Optional settings for building or loading a model. Zero-initialise (or use
 * tmlp_model_options_default()) and set what you need. */
typedef struct tmlp_model_options {
    tmlp_allocator allocator; /* all allocations of the model and its sessions */
    /* Loading refuses a weight or bias that is NaN or +-Inf (TMLP_ERR_FORMAT naming the
     * tensor and the first bad index): one such value makes every output NaN, and a
     * benchmark of that model measures nothing useful. 1 = accept them (experiments). */
    int allow_nonfinite;
    tmlp_kernel kernel;       /* Dense kernel; TMLP_KERNEL_AUTO (0) = TMLP_KERNELS, else cpuid
                               * (tinymlp/kernels.h) */
    tmlp_precision precision; /* weight precision; TMLP_PRECISION_AUTO (0) = TMLP_PRECISION,
                               * else F32 (tinymlp/kernels.h, docs/precision.md) */
    /* tmlp_model_load only: the architecture as a comma-separated list of module names
     * ("linear,relu,linear,softmax"), overriding the file's; NULL (the default) reads the
     * file's __metadata__ key "tinymlp.layers". Read during the call, never kept.
     * tmlp_model_create and tmlp_model_random ignore it (their layers are given in C). */
    const char *layers;
    /* ONNX files only (tests and debugging): 1 = evaluate the whole graph op by op with the
     * GRAPH layer (float, in ONNX's order of operations) instead of mapping it onto the
     * built-in and fused layers; 0 (the default) = map and fuse. A model loaded both ways
     * must give the same outputs (within float rounding). */
    int no_fusion;
} tmlp_model_options;

TMLP_API tmlp_model_options tmlp_model_options_default(void);

/* --- Loading and saving ------------------------------------------------------------- */

/* Load a .safetensors file. The architecture is opts->layers or, when `opts` or that field
 * is NULL, the file's __metadata__ key "tinymlp.layers": a comma-separated list of module
 * names ("linear,relu,linear,softmax"; every kind of tmlp_layer_kind but GRAPH, numbers
 * as "leaky_relu(0.2)", "layernorm(1e-05)": docs/formats.md), module i owning PyTorch's
 * tensors "<i>.weight" [out,in] and "<i>.bias" [out] (a linear without it is bias-free),
 * "<i>.running_mean" / "<i>.running_var" for a batchnorm, as in nn.Sequential's
 * state_dict(). F16/BF16 tensors are widened to F32.
 * `opts` (may be NULL: the defaults) also chooses the allocator, kernel and precision.
 * Errors: TMLP_ERR_ARG (NULL path or out, a kernel or precision this CPU cannot run),
 * TMLP_ERR_IO, any safetensors TMLP_ERR_HEADER_* .. TMLP_ERR_DUPLICATE,
 * TMLP_ERR_MISSING_TENSOR, TMLP_ERR_EXTRA_TENSOR, TMLP_ERR_LAYERS, TMLP_ERR_SHAPE,
 * TMLP_ERR_UNSUPPORTED (dtype), TMLP_ERR_FORMAT (non-finite), TMLP_ERR_NOMEM; `err` (may be
 * NULL) gets a message naming the tensor and shapes. *out is NULL on error.
 *
 * An ONNX file (recognised by its content; the name is only a tie-break for bytes that are
 * neither format) is read as a graph of opset 7..21 with one input [N, features] and one
 * output: the ops MLPs export to become built-in layers, known decompositions (GELU, SiLU,
 * LayerNorm) fused layers, and the rest GRAPH layers (opts->no_fusion: one GRAPH layer).
 * metadata_props "tinymlp.input_scale/mean/std" set the preprocessing as __metadata__
 * does. opts->layers must be NULL (TMLP_ERR_ARG). Refusals name the node, op and reason:
 * TMLP_ERR_FORMAT (malformed, dangling or duplicate names, cycles, bad attributes),
 * TMLP_ERR_UNSUPPORTED (an op, opset, domain, external data, more than one input, an op
 * across the batch axis), TMLP_ERR_SHAPE (sizes that disagree). */
TMLP_API tmlp_status tmlp_model_load(const char *path, const tmlp_model_options *opts,
                                     tmlp_model **out, tmlp_error *err);

/* Fill the weights of a model built in C (tmlp_model_create + tmlp_model_add_*) from a
 * .safetensors file, as tmlp_model_load would read it: layer i (counting every layer, as
 * nn.Sequential does) takes PyTorch's tensors at the model's shapes — a dense "<i>.weight"
 * [out, in] and "<i>.bias" [out] (absent: bias-free), a layernorm or batchnorm "<i>.weight"
 * and "<i>.bias" [n] (both absent: no affine), a batchnorm "<i>.running_mean" and
 * "<i>.running_var" [n] ("<i>.num_batches_tracked" is ignored); F16/BF16 are widened. A
 * batchnorm folded into its dense is folded again from the new values, with the eps it
 * was built with. Every tensor is checked (present, float dtype, exact shape, finite
 * unless the model's options allow non-finite values, var + eps > 0) and the file must
 * hold no other tensor, BEFORE any weight is written: on error the model is unchanged.
 * The file's layer list, if any, is not read (the model's layers are the architecture).
 * Call it before the first session (TMLP_ERR_STATE after).
 * Errors: TMLP_ERR_ARG, TMLP_ERR_STATE, TMLP_ERR_IO, the safetensors TMLP_ERR_HEADER_* ..
 * TMLP_ERR_DUPLICATE, TMLP_ERR_MISSING_TENSOR, TMLP_ERR_EXTRA_TENSOR, TMLP_ERR_SHAPE
 * ("tensor `2.weight`: shape 10x64, layer 2 (dense 128 -> 10) takes 10x128"),
 * TMLP_ERR_UNSUPPORTED (dtype), TMLP_ERR_FORMAT (non-finite, var + eps <= 0), TMLP_ERR_NOMEM. */
TMLP_API tmlp_status tmlp_model_load_weights(tmlp_model *m, const char *path, tmlp_error *err);

/* Write the model as .safetensors (header padded with spaces to a multiple of 8) with its
 * layer list and preprocessing in __metadata__: every layer's tensors as it was given them
 * (a dense with a batchnorm folded in writes its unfolded W and b). Loading the file gives
 * bit-identical weights and outputs. TMLP_ERR_ARG for a model without any parameter. */
TMLP_API tmlp_status tmlp_model_save(const tmlp_model *m, const char *path, tmlp_error *err);

/* --- Building from C ---------------------------------------------------------------- */

/* An empty Sequential taking rows of `input_width` floats (in [1, 2^31)). `opts` may be
 * NULL. The builder calls below check shapes as layers are appended (shape inference):
 * errors leave the model as it was, so the caller may fix the call or destroy the model.
 * Errors: TMLP_ERR_ARG (NULL pointer, bad width), TMLP_ERR_SHAPE (does not chain),
 * TMLP_ERR_STATE (a session already exists), TMLP_ERR_NOMEM. Not thread-safe: build a
 * model on one thread, then share it. */
TMLP_API tmlp_status tmlp_model_create(int64_t input_width, const tmlp_model_options *opts,
                                       tmlp_model **out, tmlp_error *err);
/* Append Dense(in -> out). `weight` is (out, in) row-major, `bias` is (out) or NULL for a
 * bias-free layer (nn.Linear(bias=False): runs as zeros, and tmlp_model_save writes no
 * "<i>.bias"); both are copied. `in` must equal the current output width (TMLP_ERR_SHAPE). */
TMLP_API tmlp_status tmlp_model_add_dense(tmlp_model *m, int64_t in, int64_t out,
                                          const float *weight, const float *bias,
                                          tmlp_error *err);
TMLP_API tmlp_status tmlp_model_add_relu(tmlp_model *m, tmlp_error *err);
TMLP_API tmlp_status tmlp_model_add_softmax(tmlp_model *m, tmlp_error *err);

/* The layers of PyTorch MLPs (eval mode), each of the current width n: x:(B,n) -> y:(B,n).
 * The math of each is at tmlp_layer_kind. Every call copies what it is given, checks it
 * and leaves the model unchanged on error: TMLP_ERR_ARG (NULL model, a bad parameter: the
 * message names it), TMLP_ERR_STATE (a session exists), TMLP_ERR_NOMEM. Parameters must
 * be finite unless the model's options.allow_nonfinite is set.
 *
 * An elementwise activation (relu, leaky_relu, gelu, gelu_tanh, tanh, sigmoid, silu)
 * directly after a Dense runs inside the Dense's epilogue; a BatchNorm directly after a
 * Dense is folded into its weights when added (tmlp_layer_info.fused_into says so). */
/* y = x >= 0 ? x : slope * x; slope finite (PyTorch's default is 0.01). */
TMLP_API tmlp_status tmlp_model_add_leaky_relu(tmlp_model *m, float slope, tmlp_error *err);
/* nn.GELU() (the erf form). */
TMLP_API tmlp_status tmlp_model_add_gelu(tmlp_model *m, tmlp_error *err);
/* nn.GELU(approximate='tanh'). */
TMLP_API tmlp_status tmlp_model_add_gelu_tanh(tmlp_model *m, tmlp_error *err);
TMLP_API tmlp_status tmlp_model_add_tanh(tmlp_model *m, tmlp_error *err);
TMLP_API tmlp_status tmlp_model_add_sigmoid(tmlp_model *m, tmlp_error *err);
/* nn.SiLU: x * sigmoid(x). */
TMLP_API tmlp_status tmlp_model_add_silu(tmlp_model *m, tmlp_error *err);
/* nn.LogSoftmax(dim=-1): x - max - log(sum exp(x - max)), per row. */
TMLP_API tmlp_status tmlp_model_add_log_softmax(tmlp_model *m, tmlp_error *err);
/* nn.LayerNorm(n, eps): per row, mean and biased variance over the n features (computed
 * in double, two-pass), y = (x - mean) / sqrt(var + eps) * gamma + beta. gamma and beta
 * are (n) floats, both NULL for elementwise_affine=False (one NULL alone: TMLP_ERR_ARG).
 * eps finite and > 0 (PyTorch's default 1e-5). */
TMLP_API tmlp_status tmlp_model_add_layernorm(tmlp_model *m, const float *gamma, const float *beta,
                                              float eps, tmlp_error *err);
/* nn.BatchNorm1d(n, eps) in eval mode, from its running statistics: per feature j,
 * y = (x - mean_j) / sqrt(var_j + eps) * gamma_j + beta_j. mean, var, gamma, beta are (n)
 * floats; gamma and beta both NULL for affine=False. eps finite and >= 0, and var_j + eps
 * > 0 for every j. Directly after a Dense it is folded into the weights that Dense runs
 * (computed in double, rounded once; see docs/internals.md) and runs nothing itself; the
 * Dense keeps its unfolded weights too, so tmlp_model_save writes both layers as given. */
TMLP_API tmlp_status tmlp_model_add_batchnorm(tmlp_model *m, const float *mean, const float *var,
                                              const float *gamma, const float *beta, float eps,
                                              tmlp_error *err);
/* nn.Dropout at inference: y = x (the session skips it). */
TMLP_API tmlp_status tmlp_model_add_dropout(tmlp_model *m, tmlp_error *err);
/* nn.Identity: y = x (the session skips it). */
TMLP_API tmlp_status tmlp_model_add_identity(tmlp_model *m, tmlp_error *err);

/* A seeded random MLP: widths[0] -> widths[1] -> ... -> widths[n-1], ReLU between Dense
 * layers and Softmax at the end. Weights and biases uniform in +-1/sqrt(in) (PyTorch's
 * nn.Linear default), drawn from tmlp_rng so a seed gives the same model on every machine.
 * n >= 2, every width in [1, 2^31). `opts` may be NULL.
 * The exact algorithm (tools reproduce it in Python; a test pins its first values):
 *     tmlp_rng_seed(&r, seed);                      one generator for the whole model
 *     for each Dense layer i = 0 .. n-2, in order:  in = widths[i], out = widths[i+1]
 *         k = 1 / sqrt((double)in)
 *         W[j][c] for j = 0..out-1, c = 0..in-1:    (float)((2 * tmlp_rng_uniform(&r) - 1) * k)
 *         b[j]    for j = 0..out-1:                 same formula, drawn after all of W
 * i.e. layer 1's W (row-major, (out, in)), then its b, then layer 2's W, its b, ...
 * Layers: "linear,relu,linear,relu,...,linear,softmax" (2n-2 of them).
 * Errors: TMLP_ERR_ARG (NULL, n < 2, a bad width), TMLP_ERR_NOMEM; *out is NULL on error. */
TMLP_API tmlp_status tmlp_model_random(const int64_t *widths, int n, uint64_t seed,
                                       const tmlp_model_options *opts, tmlp_model **out,
                                       tmlp_error *err);

TMLP_API void tmlp_model_destroy(tmlp_model *m);

/* --- Inspecting --------------------------------------------------------------------- */

TMLP_API int64_t tmlp_model_input_width(const tmlp_model *m);
TMLP_API int64_t tmlp_model_output_width(const tmlp_model *m);
TMLP_API int tmlp_model_layer_count(const tmlp_model *m);

typedef struct tmlp_layer_info {
    tmlp_layer_kind kind;
    const char *name;        /* "dense", "relu", "gelu", "layernorm", ... (static; the file format
                              * says "linear" for "dense", and the same for every other kind);
                              * an ONNX subgraph says what it runs, "graph (3 ops: Mul,Sub,Div)"
                              * (valid as long as the model) */
    int64_t in_width;        /* per sample */
    int64_t out_width;
    int64_t param_count;     /* weights + biases (+ running statistics; 0 for activations) */
    int64_t flops_per_sample;/* Dense: 2*in*out (multiply-add) + out (bias); ReLU: out; Softmax: ~3*out;
                              * other activations: the formula's operations, a transcendental = 1 */
    size_t weight_bytes;     /* bytes of parameters read per forward (F32) */
    /* Dense only (else TMLP_KERNEL_AUTO, 0, 0): the kernel for batches <= crossover
     * (OpenBLAS above; INT64_MAX = every batch) and the bytes of its packed weights. */
    tmlp_kernel kernel;
    int64_t crossover;
    size_t packed_bytes;
    /* Dense only (else AUTO): the weight precision, and the bytes of weights one forward
     * streams at that precision (packed panels plus scales; the bias is F32). */
    tmlp_precision precision;
    size_t stream_bytes;
    /* -1, or the index of the Dense layer that runs this one: an activation computed in
     * that Dense's epilogue, or a BatchNorm folded into its weights when the model was
     * built. Such a layer runs nothing of its own (its time is the Dense's). */
    int fused_into;
} tmlp_layer_info;

/* Fill `info` for layer i (0-based). TMLP_ERR_ARG (NULL, i out of range); `err` (may be
 * NULL) gets "model: layer_info: i 7 is outside [0, 4) (the model has 4 layers)". */
TMLP_API tmlp_status tmlp_model_layer_info(const tmlp_model *m, int i, tmlp_layer_info *info,
                                           tmlp_error *err);
/* The layer list in the FILE FORMAT's names, "linear,relu,linear,softmax" (what
 * tmlp_model_save writes to "tinymlp.layers") — written into buf (NUL-terminated, truncated to cap).
 * TMLP_ERR_ARG (NULL, cap 0); `err` (may be NULL) gets "model: layers_string: cap is 0, ...". */
TMLP_API tmlp_status tmlp_model_layers_string(const tmlp_model *m, char *buf, size_t cap,
                                              tmlp_error *err);
/* Bytes held by the model's parameters. */
TMLP_API size_t tmlp_model_param_bytes(const tmlp_model *m);
/* For Dense layer i: the weight (out, in) and bias (out) it runs (any BatchNorm folded in;
 * zeros for a bias-free layer), read-only, owned by the model and valid as long as it. For
 * tools that compare the engine with a hand-written forward on the same weights (bench/
 * bench_forward.c). TMLP_ERR_ARG if m is NULL, i is out of range or layer i is not a Dense;
 * `err` (may be NULL) says which. Either out-pointer may be NULL. */
TMLP_API tmlp_status tmlp_model_dense_params(const tmlp_model *m, int i, const float **weight,
                                             const float **bias, tmlp_error *err);

/* --- Preprocessing: how raw uint8 pixels become inputs ------------------------------ */
/* x = (raw * scale - mean) / std, from __metadata__ "tinymlp.input_scale",
 * "tinymlp.input_mean", "tinymlp.input_std" (decimal strings). Without them the model has
 * scale 1, mean 0, std 1 and has_preprocess == 0. */
typedef struct tmlp_preprocess {
    int has_preprocess;
    double scale, mean, std;
} tmlp_preprocess;

TMLP_API tmlp_preprocess tmlp_model_preprocess(const tmlp_model *m);
/* Floats of a preprocessing table: the 256 entries, then the same bits again as four byte
 * planes (the form the AVX512_VBMI lookup reads). */
#define TMLP_PREPROCESS_TABLE_FLOATS 512
/* The preprocessing as a table of TMLP_PREPROCESS_TABLE_FLOATS floats, as every session
 * builds it for forward_u8: table[v] = (v * scale - mean) / std for v < 256, computed in
 * double and rounded to float once, then its byte planes. */
TMLP_API void tmlp_preprocess_table(const tmlp_preprocess *p, float *table);
/* dst[i] = table[src[i]] for i < n (table from tmlp_preprocess_table): the lookup tmlp_session_forward_u8 runs (AVX-512 where
 * the CPU has it, else scalar; the same bits either way). For a tool that times the input
 * stage apart from the forward (bench_mlp profile) and must preprocess exactly alike. */
TMLP_API void tmlp_preprocess_u8(const float *table, const uint8_t *src, float *dst, int64_t n);
/* Set the preprocessing of a model under construction (before any session). std != 0.
 * Errors: TMLP_ERR_ARG (NULL, non-finite, std == 0), TMLP_ERR_STATE (a session exists);
 * `err` (may be NULL) gets a message naming the values or the rule. */
TMLP_API tmlp_status tmlp_model_set_preprocess(tmlp_model *m, double scale, double mean,
                                               double std, tmlp_error *err);

/* --- Sessions ----------------------------------------------------------------------- */

/* Buffers for batches of up to `max_batch` rows, allocated once through the model's
 * allocator (one block: two (max_batch, widest layer) activation buffers and a
 * (max_batch, in_width) staging buffer for forward_u8). Freezes the model (see top).
 * Thread-safe with respect to other tmlp_session_create calls on the same model.
 * Errors: TMLP_ERR_ARG (NULL, max_batch < 1), TMLP_ERR_STATE (model has no layers),
 * TMLP_ERR_NOMEM (also when the buffer size overflows); *out is NULL on error. `err` (may
 * be NULL) gets a message ("tmlp_session_create: max_batch 0, it must be at least 1"). */
TMLP_API tmlp_status tmlp_session_create(const tmlp_model *model, int64_t max_batch,
                                         tmlp_session **out, tmlp_error *err);

/* in: F32 (B, in_width) with 1 <= B <= max_batch (a 1-D tensor of in_width is B = 1).
 * out: set to an F32 (B, out_width) view into the session, valid until the next forward
 * or destroy on this session. Allocates nothing; `in` is only read (it may even be a
 * previous output of this session). A 784-512-512-10 model at batch B runs, twice, a
 * Dense with its ReLU fused into the epilogue — our own kernel (scalar, AVX2, AVX-512) up
 * to the layer's crossover batch, OpenBLAS above it (sgemv at B == 1, sgemm otherwise;
 * kernels.h says which runs) — then a Dense and a row-wise Softmax.
 * Errors: TMLP_ERR_ARG (a NULL, in->data NULL), TMLP_ERR_SHAPE (not F32, ndim not 1 or 2,
 * wrong width, B < 1), TMLP_ERR_BATCH (B > max_batch). `err` (may be NULL) gets a message
 * naming the expected and actual value: "forward: input width 783, the model takes 784",
 * "forward: batch 65, the session was created for at most 64". */
TMLP_API tmlp_status tmlp_session_forward(tmlp_session *s, const tmlp_tensor *in,
                                          tmlp_tensor *out, tmlp_error *err);

/* Raw uint8 rows (B, in_width), preprocessed with the model's tmlp_preprocess into the
 * session's input buffer, then forwarded. Allocates nothing. Errors and messages as
 * tmlp_session_forward. */
TMLP_API tmlp_status tmlp_session_forward_u8(tmlp_session *s, const uint8_t *raw, int64_t batch,
                                             tmlp_tensor *out, tmlp_error *err);

/* A batch whose rows need not be contiguous: rows[i] points at in_width floats (F32, any
 * alignment), 1 <= batch <= max_batch, e.g. samples picked from a data set. Same output as
 * copying the rows into one (batch, in_width) tensor and calling tmlp_session_forward, but
 * without the copy: when the first layer runs one of our F32 kernels at this batch
 * (tmlp_model_kernel_info) it reads each row where it lies; otherwise (BLAS above the
 * crossover, BF16 / INT8) the rows are gathered into the session's staging buffer.
 * Allocates nothing; the rows are only read. Errors: TMLP_ERR_ARG (a NULL, rows[i] NULL,
 * rows[i] inside this session's buffers, e.g. an earlier output), TMLP_ERR_SHAPE (batch
 * < 1), TMLP_ERR_BATCH (batch > max_batch); `err` (may be NULL) gets a message naming
 * the row or the batch and its limit. */
TMLP_API tmlp_status tmlp_session_forward_rows(tmlp_session *s, const float *const *rows,
                                               int64_t batch, tmlp_tensor *out, tmlp_error *err);
/* Raw uint8 rows by pointer (rows[i]: in_width bytes): each is preprocessed straight into
 * its row of the staging buffer (gather and preprocessing in one pass), then forwarded.
 * Errors and messages as tmlp_session_forward_rows. */
TMLP_API tmlp_status tmlp_session_forward_u8_rows(tmlp_session *s, const uint8_t *const *rows,
                                                  int64_t batch, tmlp_tensor *out,
                                                  tmlp_error *err);

/* As tmlp_session_forward, and also writes the wall time of each model layer into
 * layer_ns[0 .. tmlp_model_layer_count-1] (a layer fused or folded into a Dense reports 0,
 * its time is the Dense's; dropout and identity report 0). For profilers; the timing adds two clock reads
 * per layer. Errors and messages as tmlp_session_forward, plus TMLP_ERR_ARG for a NULL
 * layer_ns. */
TMLP_API tmlp_status tmlp_session_forward_profiled(tmlp_session *s, const tmlp_tensor *in,
                                                   tmlp_tensor *out, uint64_t *layer_ns,
                                                   tmlp_error *err);

/* Intra-op threads: run each forward of s on `threads` threads (1 = the caller alone, the
 * default; 0 = auto, the CPUs this process may use; at most TMLP_SESSION_MAX_THREADS). The
 * session then owns a pool of threads - 1 persistent workers, created here (no thread is
 * created per forward, and a forward still allocates nothing); they block on a condition
 * variable between jobs and poll first only if every thread has a core to itself.
 * A Dense layer with enough work is split: at batch 1 by output panels (bit-exact with one
 * thread), above by rows in multiples of 4 (bit-exact on our kernels; through OpenBLAS,
 * above the crossover, within rounding). Other layers run on the caller. With more than one
 * thread this sets OpenBLAS to one thread per caller (tmlp_blas_set_threads(1), process-wide)
 * so the two pools never oversubscribe the cores. Call it between forwards, never during one.
 * Errors: TMLP_ERR_ARG (s NULL, threads out of range), TMLP_ERR_NOMEM (the pool or a thread
 * could not be created: the session is then left on one thread). */
#define TMLP_SESSION_MAX_THREADS 256
TMLP_API tmlp_status tmlp_session_set_threads(tmlp_session *s, int threads, tmlp_error *err);
/* Threads a forward of s runs on (1 without a pool; 0 for NULL). */
TMLP_API int tmlp_session_threads(const tmlp_session *s);

TMLP_API int64_t tmlp_session_max_batch(const tmlp_session *s);
/* Bytes the session allocated (activation buffers and scratch). */
TMLP_API size_t tmlp_session_bytes(const tmlp_session *s);
TMLP_API void tmlp_session_destroy(tmlp_session *s);

/* Index of the largest of n values (the first on ties); -1 if n < 1. */
TMLP_API int64_t tmlp_argmax(const float *x, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
