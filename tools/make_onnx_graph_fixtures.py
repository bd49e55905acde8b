#!/usr/bin/python3
"""make_onnx_graph_fixtures.py — hand-built ONNX graphs for what torch 1.13's exporter does not write.

    /usr/bin/python3 tools/make_onnx_graph_fixtures.py [OUT_DIR]   # default: tests/fixtures/onnx/graphs

tests/fixtures/layers/ holds what torch.onnx.export writes for each PyTorch layer. Other
exporters (tf2onnx, skl2onnx, newer torch, hand-edited graphs) write other, equally valid
patterns; these graphs, built with onnx.helper, cover them, and a set of malformed-but-parseable
graphs covers what an importer must refuse. Every graph is y = f(x), input "x" FLOAT [N, in],
output "y" FLOAT [N, out] unless its notes say otherwise; small widths (4-9).

Files:
  NAME.onnx               the graph.
  NAME_io.safetensors     (graphs expected to load) x F32 [3, in]: rows of mixed sign and
                          large magnitude (raw pixel values 0..255 for the preprocessing cases,
                          which also carry x_u8 U8 [3, in]); y_ref F64 [3, out]: the graph's
                          output computed in float64 from its own numbers (float32 weights,
                          float32 attributes such as epsilon and alpha, FLOAT16 / BFLOAT16
                          weights widened exactly, DOUBLE weights rounded by their Cast to
                          FLOAT). The C reader parses F64; read it with memcpy (tmlp_st_to_f32
                          converts F32/F16/BF16/U8 only).
  bad_external_data.bin   the external weights of bad_external_data.onnx (present, so that the
                          only reason to refuse is that the data is external).
  MANIFEST.tsv            file, opset, ir_version, expected (ok, or refuse: the reason),
                          onnx.checker's verdict, the node list, notes.

Each y_ref is computed twice, by a formula written out for that graph below and by
tools/onnx_ref.py's interpreter; the script fails unless they agree to 1e-12 (relative to
max |y_ref|). onnx 1.12 (Debian 12) knows opsets up to 17: for the opset 18/20/21 graphs the
checker column says so, and only the interpreter and the formula vouch for them.
"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_safetensors import write_safetensors  # noqa: E402
from onnx_ref import bf16_round, run  # noqa: E402

SEED = 20261128
IR_OF_OPSET = {7: 3, 11: 6, 13: 7, 15: 8, 17: 8, 18: 8, 20: 9, 21: 10}
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


# ---- building blocks -------------------------------------------------------------------------

class Net:
    """A graph under construction: nodes, initializers, the seeded generator for its numbers."""

    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def weight(self, out_f, in_f):
        bound = 1.0 / math.sqrt(in_f)
        return self.rng.uniform(-bound, bound, (out_f, in_f)).astype(np.float32)

    def vector(self, n, scale=0.5):
        return (scale * self.rng.randn(n)).astype(np.float32)

    def init(self, name, arr, raw=True):
        """An initializer: raw_data (numpy_helper) or the typed field (float_data, ...)."""
        arr = np.asarray(arr)
        if raw:
            t = numpy_helper.from_array(arr, name)
        else:
            t = helper.make_tensor(name, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype], arr.shape,
                                   arr.flatten().tolist())
        self.inits.append(t)
        return name

    def node(self, op, inputs, n_out=1, **attrs):
        outs = ["t%d" % (self.n + k) for k in range(n_out)]
        self.n += n_out
        self.nodes.append(helper.make_node(op, inputs, outs, name="n%d_%s" % (len(self.nodes), op), **attrs))
        return outs[0] if n_out == 1 else outs

    def last_is_y(self):
        """Rename the last node's first output to the graph output "y"."""
        self.nodes[-1].output[0] = "y"

    def model(self, opset, in_w, out_w, batch="N", out_shape=None, ir=None, more_inputs=(),
              inits_as_inputs=False, meta=None):
        inputs = [helper.make_tensor_value_info("x", T.FLOAT, [batch, in_w])] + list(more_inputs)
        if inits_as_inputs:
            inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in self.inits]
        outputs = [helper.make_tensor_value_info("y", T.FLOAT, out_shape or [batch, out_w])]
        g = helper.make_graph(self.nodes, "tinymlp_fixture", inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tools/make_onnx_graph_fixtures.py")
        m.ir_version = ir or IR_OF_OPSET[opset]
        if meta:
            helper.set_model_props(m, meta)
        return m


def x_rows(seed, width):
    """(3, width) float32: N(0,1); 30 N(0,1); a fixed mix of signs and magnitudes."""
    rng = np.random.RandomState(seed + 7)
    mags = [0.02, -1.5, 90.0, -35.0, 0.25, -0.004, 6.0, -70.0, 2.5]
    return np.stack([rng.randn(width), 30.0 * rng.randn(width),
                     [mags[j % len(mags)] for j in range(width)]]).astype(np.float32)


def pixels(seed, width):
    return np.random.RandomState(seed + 9).randint(0, 256, (3, width)).astype(np.uint8)


# float64 formulas for the references (inputs: float32 arrays, widened here)
def d(a):
    return np.asarray(a, np.float64)


def relu(v):
    return np.maximum(v, 0.0)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def softmax(v):
    e = np.exp(v - v.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(v):
    z = v - v.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def layernorm(v, gamma, beta, eps):
    mu = v.mean(axis=1, keepdims=True)
    var = ((v - mu) ** 2).mean(axis=1, keepdims=True)
    out = (v - mu) / np.sqrt(var + d(np.float32(eps)))
    return out * d(gamma) + (0.0 if beta is None else d(beta))


def erf(v):
    return np.vectorize(math.erf)(v)


def lin(v, w, b=None):
    """x W^T + b with W [out, in] (PyTorch's layout)."""
    return v @ d(w).T + (0.0 if b is None else d(b))


def mlp_tail(net, h, hid, out_w, act="Relu"):
    """act -> Gemm(transB=1) into "y"; returns the float64 formula's closure parameters."""
    w, b = net.weight(out_w, hid), net.vector(out_w)
    a = net.node(act, [h]) if act else h
    net.node("Gemm", [a, net.init("w_out", w), net.init("b_out", b)], transB=1)
    net.last_is_y()
    return w, b


# ---- graphs expected to load (ok) ------------------------------------------------------------
# Each returns (model, x, ref(x) -> float64 y, notes[, extra io tensors]).

@case
def gemm_alpha_beta_opset7(seed):
    """opset 7, IR 3 (initializers listed among the inputs, as IR 3 requires): Gemm with
    alpha 0.5, beta 2 and B stored [in, out] (transB=0); then Gemm alpha 1.5, beta 0.25, transB=1."""
    net = Net(seed)
    w1, b1 = net.weight(7, 6), net.vector(7)
    h = net.node("Gemm", ["x", net.init("w1_in_out", w1.T.copy()), net.init("b1", b1)],
                 alpha=0.5, beta=2.0, transB=0)
    r = net.node("Relu", [h])
    w2, b2 = net.weight(4, 7), net.vector(4)
    net.node("Gemm", [r, net.init("w2", w2), net.init("b2", b2)], alpha=1.5, beta=0.25, transB=1)
    net.last_is_y()
    m = net.model(7, 6, 4, inits_as_inputs=True)
    return m, x_rows(seed, 6), lambda x: 1.5 * (relu(0.5 * (d(x) @ d(w1).T) + 2.0 * d(b1)) @ d(w2).T) \
        + 0.25 * d(b2), "Gemm-7: C required, alpha/beta scale the product and C"


@case
def gemm_transA_transposed_input(seed):
    """Transpose(x, perm=[1,0]) -> [in, N], then Gemm(transA=1, transB=1): the pair is x W^T + b."""
    net = Net(seed)
    w1, b1 = net.weight(8, 5), net.vector(8)
    xt = net.node("Transpose", ["x"], perm=[1, 0])
    h = net.node("Gemm", [xt, net.init("w1", w1), net.init("b1", b1)], transA=1, transB=1)
    w2, b2 = mlp_tail(net, h, 8, 4, "Sigmoid")
    return net.model(13, 5, 4), x_rows(seed, 5), \
        lambda x: lin(sigmoid(lin(d(x), w1, b1)), w2, b2), \
        "the only meaningful transA=1: on the transposed data (a constant A would make the output [const, N]); " \
        "an importer may fold Transpose+transA or refuse the Transpose"


@case
def gemm_transB0_no_bias(seed):
    """Gemm with B stored [in, out] (transB=0, the default) and bias; then a Gemm with no C
    (optional since opset 11)."""
    net = Net(seed)
    w1, b1 = net.weight(9, 7), net.vector(9)
    h = net.node("Gemm", ["x", net.init("w1_in_out", w1.T.copy()), net.init("b1", b1)])
    t = net.node("Tanh", [h])
    w2 = net.weight(5, 9)
    net.node("Gemm", [t, net.init("w2_in_out", w2.T.copy())])
    net.last_is_y()
    return net.model(13, 7, 5), x_rows(seed, 7), lambda x: lin(np.tanh(lin(d(x), w1, b1)), w2), \
        "Gemm attributes all default (alpha 1, beta 1, transA 0, transB 0)"


@case
def matmul_add(seed):
    """MatMul(x, W [in, out]) + Add(bias) (tf2onnx's dense), the second Add with the bias first."""
    net = Net(seed)
    w1, b1 = net.weight(8, 6), net.vector(8)
    h = net.node("Add", [net.node("MatMul", ["x", net.init("w1_in_out", w1.T.copy())]), net.init("b1", b1)])
    r = net.node("Relu", [h])
    w2, b2 = net.weight(5, 8), net.vector(5)
    net.node("Add", [net.init("b2", b2), net.node("MatMul", [r, net.init("w2_in_out", w2.T.copy())])])
    net.last_is_y()
    return net.model(13, 6, 5), x_rows(seed, 6), lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2), \
        "bias as Add's second input, then as its first"


@case
def layernorm_decomposed_opset18(seed):
    """LayerNorm written out with opset 18's ReduceMean (axes as an input), as newer exporters
    do: mean, centre, Pow 2, mean, + eps, Sqrt, Div, * gamma, + beta."""
    net = Net(seed)
    w1, b1 = net.weight(8, 6), net.vector(8)
    gamma, beta = (net.rng.uniform(0.5, 1.5, 8) * np.sign(net.rng.randn(8))).astype(np.float32), net.vector(8)
    h = net.node("Gemm", ["x", net.init("w1", w1), net.init("b1", b1)], transB=1)
    axes = net.init("axes", np.array([-1], np.int64))
    mu = net.node("ReduceMean", [h, axes])
    c = net.node("Sub", [h, mu])
    var = net.node("ReduceMean", [net.node("Pow", [c, net.init("two", np.array(2.0, np.float32))]), axes])
    std = net.node("Sqrt", [net.node("Add", [var, net.init("eps", np.array(1e-5, np.float32))])])
    n = net.node("Add", [net.node("Mul", [net.node("Div", [c, std]), net.init("gamma", gamma)]),
                         net.init("beta", beta)])
    w2, b2 = mlp_tail(net, n, 8, 5, "Relu")
    return net.model(18, 6, 5), x_rows(seed, 6), \
        lambda x: lin(relu(layernorm(lin(d(x), w1, b1), gamma, beta, 1e-5)), w2, b2), \
        "ReduceMean-18: axes input [-1] (an int64 initializer), keepdims default 1"


def _gelu_case(seed, approximate):
    net = Net(seed)
    w1, b1 = net.weight(9, 7), net.vector(9, 2.0)
    h = net.node("Gemm", ["x", net.init("w1", w1), net.init("b1", b1)], transB=1)
    g = net.node("Gelu", [h], approximate=approximate) if approximate != "none" else net.node("Gelu", [h])
    w2, b2 = mlp_tail(net, g, 9, 5, None)

    def act(v):
        if approximate == "tanh":
            return 0.5 * v * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))
        return 0.5 * v * (1.0 + erf(v / math.sqrt(2.0)))
    return net.model(20, 7, 5), x_rows(seed, 7), lambda x: lin(act(lin(d(x), w1, b1)), w2, b2)


@case
def gelu_opset20(seed):
    """opset 20's Gelu node, approximate left at its default "none" (erf)."""
    return _gelu_case(seed, "none") + ("Gelu-20, no approximate attribute (default none)",)


@case
def gelu_tanh_opset20(seed):
    """opset 20's Gelu node with approximate="tanh"."""
    return _gelu_case(seed, "tanh") + ("Gelu-20, approximate=tanh",)


@case
def layernorm_opset21(seed):
    """LayerNormalization in an opset-21 model: with Scale and B (epsilon 1e-3), then with Scale
    alone (B is optional; epsilon default 1e-5)."""
    net = Net(seed)
    w1, b1 = net.weight(8, 6), net.vector(8)
    g1, be1 = net.rng.uniform(0.5, 1.5, 8).astype(np.float32), net.vector(8)
    h = net.node("Gemm", ["x", net.init("w1", w1), net.init("b1", b1)], transB=1)
    n1 = net.node("LayerNormalization", [h, net.init("ln1_scale", g1), net.init("ln1_bias", be1)],
                  axis=-1, epsilon=1e-3)
    w2, b2 = net.weight(5, 8), net.vector(5)
    h2 = net.node("Gemm", [net.node("Relu", [n1]), net.init("w2", w2), net.init("b2", b2)], transB=1)
    g2 = net.rng.uniform(0.5, 1.5, 5).astype(np.float32)
    net.node("LayerNormalization", [h2, net.init("ln2_scale", g2)])
    net.last_is_y()
    return net.model(21, 6, 5), x_rows(seed, 6), \
        lambda x: layernorm(lin(relu(layernorm(lin(d(x), w1, b1), g1, be1, 1e-3)), w2, b2), g2, None, 1e-5), \
        "LayerNormalization-17 semantics (the opset-21 domain keeps it); stash_type default"


def _shape_case(seed, opset):
    net = Net(seed)
    w1, b1 = net.weight(8, 6), net.vector(8)
    h = net.node("Gemm", ["x", net.init("w1", w1), net.init("b1", b1)], transB=1)
    if opset >= 13:
        axes = net.init("axes1", np.array([1], np.int64))
        u = net.node("Unsqueeze", [h, axes])            # [N, 1, 8]
        s = net.node("Squeeze", [u, axes])              # [N, 8]
    else:
        u = net.node("Unsqueeze", [h], axes=[1])
        s = net.node("Squeeze", [u], axes=[1])
    r1 = net.node("Reshape", [s, net.init("shape_m1_8", np.array([-1, 8], np.int64))])
    r2 = net.node("Reshape", [r1, net.init("shape_0_m1", np.array([0, -1], np.int64))])
    f = net.node("Flatten", [r2], axis=1)
    w2, b2 = mlp_tail(net, f, 8, 5, "Relu")
    return net.model(opset, 6, 5), x_rows(seed, 6), lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2)


@case
def reshape_squeeze_opset13(seed):
    """Unsqueeze/Squeeze (axes as inputs), Reshape [-1, C] and [0, -1], Flatten(axis=1): all keep [N, C]."""
    return _shape_case(seed, 13) + ("Unsqueeze [N,1,C] -> Squeeze -> Reshape [-1,8] -> Reshape [0,-1] -> Flatten",)


@case
def reshape_squeeze_opset11(seed):
    """The same with opset 11's axes attributes."""
    return _shape_case(seed, 11) + ("as reshape_squeeze_opset13, axes as attributes",)


@case
def cast_float(seed):
    """Cast(to=FLOAT) of the float input and of a Gemm output: no-ops."""
    net = Net(seed)
    w1, b1 = net.weight(7, 5), net.vector(7)
    c = net.node("Cast", ["x"], to=T.FLOAT)
    h = net.node("Cast", [net.node("Gemm", [c, net.init("w1", w1), net.init("b1", b1)], transB=1)], to=T.FLOAT)
    w2, b2 = mlp_tail(net, h, 7, 4, "Relu")
    return net.model(13, 5, 4), x_rows(seed, 5), lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2), \
        "Cast-13 to=1 (FLOAT) twice"


@case
def constant_nodes(seed):
    """Weights and scalars from Constant nodes: value (a tensor), value_float, value_floats."""
    net = Net(seed)
    w1, b1 = net.weight(8, 6), net.vector(8)
    cw = net.node("Constant", [], value=numpy_helper.from_array(w1, "w1"))
    cb = net.node("Constant", [], value_floats=b1.tolist())
    h = net.node("Gemm", ["x", cw, cb], transB=1)
    half = net.node("Constant", [], value_float=0.5)
    one = net.node("Constant", [], value=numpy_helper.from_array(np.array(1.0, np.float32), "one"))
    s = net.node("Add", [net.node("Mul", [h, half]), one])
    w2, b2 = mlp_tail(net, s, 8, 5, "Relu")
    return net.model(13, 6, 5), x_rows(seed, 6), lambda x: lin(relu(lin(d(x), w1, b1) * 0.5 + 1.0), w2, b2), \
        "Constant value (2-D weight; 0-d scalar 1.0), value_floats (bias), value_float (0.5); no initializer in layer 1"


@case
def init_float_data_vs_raw(seed):
    """Layer 1's initializers in the typed field float_data, layer 2's in raw_data."""
    net = Net(seed)
    w1, b1 = net.weight(8, 6), net.vector(8)
    h = net.node("Gemm", ["x", net.init("w1_float_data", w1, raw=False), net.init("b1_float_data", b1, raw=False)],
                 transB=1)
    w2, b2 = mlp_tail(net, h, 8, 5, "Relu")
    return net.model(13, 6, 5), x_rows(seed, 6), lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2), \
        "w1_float_data, b1_float_data: TensorProto.float_data; w_out, b_out: raw_data"


@case
def weights_fp16(seed):
    """FLOAT16 weights, each Cast to FLOAT before use (what keep_io_types fp16 conversion writes):
    the weight in int32_data (ONNX's typed field for FLOAT16), the bias in raw_data."""
    net = Net(seed)
    w1, b1 = net.weight(8, 6).astype(np.float16), net.vector(8).astype(np.float16)
    net.inits.append(helper.make_tensor("w1_fp16", T.FLOAT16, w1.shape, w1.flatten().tolist()))
    wc = net.node("Cast", ["w1_fp16"], to=T.FLOAT)
    bc = net.node("Cast", [net.init("b1_fp16", b1)], to=T.FLOAT)
    h = net.node("Gemm", ["x", wc, bc], transB=1)
    w2, b2 = mlp_tail(net, h, 8, 5, "Relu")
    return net.model(13, 6, 5), x_rows(seed, 6), lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2), \
        "w1_fp16: FLOAT16 in int32_data; b1_fp16: FLOAT16 in raw_data; exact in FLOAT"


@case
def weights_bf16(seed):
    """BFLOAT16 weights, each Cast to FLOAT: the weight in raw_data, the bias in int32_data."""
    net = Net(seed)
    w1, b1 = bf16_round(net.weight(8, 6)), bf16_round(net.vector(8))
    bits = lambda a: (a.view(np.uint32) >> 16).astype(np.uint16)  # noqa: E731
    net.inits.append(helper.make_tensor("w1_bf16", T.BFLOAT16, w1.shape, bits(w1).tobytes(), raw=True))
    tb = helper.make_tensor("b1_bf16", T.BFLOAT16, b1.shape, [0] * b1.size)
    del tb.int32_data[:]
    tb.int32_data.extend(int(v) for v in bits(b1))
    net.inits.append(tb)
    h = net.node("Gemm", ["x", net.node("Cast", ["w1_bf16"], to=T.FLOAT),
                          net.node("Cast", ["b1_bf16"], to=T.FLOAT)], transB=1)
    w2, b2 = mlp_tail(net, h, 8, 5, "Relu")
    return net.model(13, 6, 5), x_rows(seed, 6), lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2), \
        "w1_bf16: BFLOAT16 raw_data (uint16 bits, little-endian); b1_bf16: BFLOAT16 bits in int32_data"


@case
def weights_double(seed):
    """DOUBLE weights, each Cast to FLOAT: the float32 rounding is part of the graph."""
    net = Net(seed)
    w1 = net.rng.uniform(-0.4, 0.4, (8, 6))
    b1 = 0.5 * net.rng.randn(8)
    wc = net.node("Cast", [net.init("w1_f64", w1)], to=T.FLOAT)
    bc = net.node("Cast", [net.init("b1_f64", b1, raw=False)], to=T.FLOAT)
    h = net.node("Gemm", ["x", wc, bc], transB=1)
    w2, b2 = mlp_tail(net, h, 8, 5, "Relu")
    return net.model(13, 6, 5), x_rows(seed, 6), \
        lambda x: lin(relu(lin(d(x), w1.astype(np.float32), b1.astype(np.float32))), w2, b2), \
        "w1_f64: DOUBLE raw_data, b1_f64: DOUBLE double_data; y_ref uses their float32 roundings (the Cast)"


def _batch_case(seed, batch):
    net = Net(seed)
    w1, b1 = net.weight(7, 5), net.vector(7)
    h = net.node("Gemm", ["x", net.init("w1", w1), net.init("b1", b1)], transB=1)
    w2, b2 = mlp_tail(net, h, 7, 4, "Relu")
    return net.model(13, 5, 4, batch=batch), x_rows(seed, 5), lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2)


@case
def batch_fixed3(seed):
    """x [3, 5] and y [3, 4]: the batch dimension fixed at 3."""
    return _batch_case(seed, 3) + ("batch dim_value 3 (as torch.onnx.export without dynamic_axes)",)


@case
def batch_symbolic(seed):
    """The batch dimension a dim_param named batch_size."""
    return _batch_case(seed, "batch_size") + ("batch dim_param 'batch_size'",)


@case
def batch_unknown(seed):
    """The batch dimension with neither dim_value nor dim_param."""
    return _batch_case(seed, None) + ("batch dim with no value and no name",)


def _preprocess_case(seed, per_feature):
    net = Net(seed)
    width = 9
    if per_feature:
        scale = np.array([1.0 / 255.0], np.float32)
        mean = net.rng.uniform(0.2, 0.4, width).astype(np.float32)
        std = net.rng.uniform(0.25, 0.45, width).astype(np.float32)
    else:
        scale = np.array(1.0 / 255.0, np.float32)
        mean, std = np.array(0.2860406, np.float32), np.array(0.3530242, np.float32)
    p = net.node("Div", [net.node("Sub", [net.node("Mul", ["x", net.init("input_scale", scale)]),
                                          net.init("input_mean", mean)]), net.init("input_std", std)])
    w1, b1 = net.weight(8, width), net.vector(8)
    h = net.node("Gemm", [p, net.init("w1", w1), net.init("b1", b1)], transB=1)
    w2, b2 = net.weight(6, 8), net.vector(6)
    g = net.node("Gemm", [net.node("Relu", [h]), net.init("w2", w2), net.init("b2", b2)], transB=1)
    net.node("Softmax", [g], axis=1)
    net.last_is_y()
    u8 = pixels(seed, width)
    x = u8.astype(np.float32)
    return net.model(13, width, 6), x, \
        lambda x: softmax(lin(relu(lin((d(x) * d(scale) - d(mean)) / d(std), w1, b1)), w2, b2)), u8


@case
def preprocess_scalar(seed):
    """Input normalisation in the graph: Mul(1/255) Sub(mean) Div(std), 0-d initializers, then
    Gemm-Relu-Gemm-Softmax; x is raw pixel values 0..255 as floats."""
    m, x, ref, u8 = _preprocess_case(seed, False)
    return m, x, ref, "input_scale/input_mean/input_std: 0-d FLOAT initializers (Fashion-MNIST values); " \
        "x = x_u8 as floats; float32 Mul/Sub/Div in the graph, y_ref in float64", {"x_u8": u8}


@case
def preprocess_per_feature(seed):
    """The same normalisation with a [1] scale and per-feature [in] mean and std."""
    m, x, ref, u8 = _preprocess_case(seed, True)
    return m, x, ref, "input_scale [1], input_mean [9], input_std [9]", {"x_u8": u8}


@case
def metadata_props(seed):
    """An MLP with tinymlp.* metadata_props (preprocessing of raw uint8 inputs, class names)
    and a foreign key; the graph itself has no preprocessing."""
    net = Net(seed)
    w1, b1 = net.weight(7, 8), net.vector(7)
    h = net.node("Gemm", ["x", net.init("w1", w1), net.init("b1", b1)], transB=1)
    w2, b2 = mlp_tail(net, h, 7, 4, "Relu")
    meta = {"tinymlp.input_scale": "0.00392156862745098", "tinymlp.input_mean": "0.2860405969887955",
            "tinymlp.input_std": "0.35302424451492237", "tinymlp.classes": "a,b,c,d",
            "author": "tools/make_onnx_graph_fixtures.py"}
    u8 = pixels(seed, 8)
    x = ((u8.astype(np.float64) * float(meta["tinymlp.input_scale"]) - float(meta["tinymlp.input_mean"]))
         / float(meta["tinymlp.input_std"])).astype(np.float32)
    return net.model(13, 8, 4, meta=meta), x, lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2), \
        "metadata_props as in a .safetensors __metadata__: x = (x_u8 * scale - mean) / std " \
        "(float64, then float32), which the engine applies to uint8 input; y_ref = graph(x)", {"x_u8": u8}


@case
def identity_dropout(seed):
    """Identity nodes and inference Dropout: Dropout-13 with a ratio input and no training_mode,
    and one with its optional mask output."""
    net = Net(seed)
    w1, b1 = net.weight(8, 6), net.vector(8)
    i = net.node("Identity", ["x"])
    h = net.node("Gemm", [i, net.init("w1", w1), net.init("b1", b1)], transB=1)
    dr = net.node("Dropout", [h, net.init("ratio", np.array(0.3, np.float32))])
    r = net.node("Relu", [net.node("Identity", [dr])])
    dm = net.node("Dropout", [r], n_out=2)[0]
    w2, b2 = mlp_tail(net, dm, 8, 5, None)
    return net.model(13, 6, 5), x_rows(seed, 6), lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2), \
        "Identity on the input and mid-graph; Dropout(ratio 0.3); Dropout with mask output (unused)"


@case
def batchnorm_opset15(seed):
    """BatchNormalization-15 written by hand (training_mode=0 explicit) after a MatMul."""
    net = Net(seed)
    w1 = net.weight(8, 6)
    sc, bi = net.rng.uniform(0.5, 1.5, 8).astype(np.float32), net.vector(8)
    mu, var = net.vector(8, 2.0), net.rng.uniform(0.25, 4.0, 8).astype(np.float32)
    h = net.node("MatMul", ["x", net.init("w1_in_out", w1.T.copy())])
    bn = net.node("BatchNormalization", [h, net.init("bn_scale", sc), net.init("bn_b", bi),
                                         net.init("bn_mean", mu), net.init("bn_var", var)],
                  epsilon=1e-3, training_mode=0)
    w2, b2 = mlp_tail(net, bn, 8, 5, "LeakyRelu")
    def ref(x):
        v = (lin(d(x), w1) - d(mu)) / np.sqrt(d(var) + d(np.float32(1e-3))) * d(sc) + d(bi)
        return lin(_leaky(v), w2, b2)
    return net.model(15, 6, 5), x_rows(seed, 6), ref, \
        "epsilon 1e-3; LeakyRelu with no alpha attribute (default 0.01)"


def _leaky(v, alpha=0.01):
    return np.where(v >= 0.0, v, d(np.float32(alpha)) * v)


def _softmax_case(seed, opset, op, axis):
    net = Net(seed)
    w1, b1 = net.weight(7, 6), net.vector(7, 3.0)
    h = net.node("Gemm", ["x", net.init("w1", w1), net.init("b1", b1)], transB=1)
    net.node(op, [h], **({} if axis is None else {"axis": axis}))
    net.last_is_y()
    f = softmax if op == "Softmax" else log_softmax
    return net.model(opset, 6, 7), x_rows(seed, 6), lambda x: f(lin(d(x), w1, b1))


@case
def softmax_axis1_opset13(seed):
    """Softmax(axis=1) at opset 13."""
    return _softmax_case(seed, 13, "Softmax", 1) + ("per row",)


@case
def softmax_axis_neg1_opset13(seed):
    """Softmax(axis=-1) at opset 13."""
    return _softmax_case(seed, 13, "Softmax", -1) + ("per row",)


@case
def softmax_default_opset13(seed):
    """Softmax with no axis at opset 13: the default is -1."""
    return _softmax_case(seed, 13, "Softmax", None) + ("opset >= 13 default axis -1: per row",)


@case
def softmax_default_opset11(seed):
    """Softmax with no axis at opset 11: the default is 1, and the input is seen as 2-D
    [prod(dims before axis), prod(dims from axis)], which for [N, C] is per row."""
    return _softmax_case(seed, 11, "Softmax", None) + ("opset < 13 default axis 1, coerced to 2-D: per row",)


@case
def softmax_axis_neg1_opset11(seed):
    """Softmax(axis=-1) at opset 11: for [N, C], the same 2-D view, per row."""
    return _softmax_case(seed, 11, "Softmax", -1) + ("opset < 13, axis -1 on rank 2 = axis 1: per row",)


@case
def logsoftmax_axis1_opset11(seed):
    """LogSoftmax(axis=1) at opset 11."""
    return _softmax_case(seed, 11, "LogSoftmax", 1) + ("per row",)


@case
def inputs_include_initializers(seed):
    """Every initializer also listed in graph.input (torch's keep_initializers_as_inputs=True,
    IR < 4 style): only x is a real input."""
    net = Net(seed)
    w1, b1 = net.weight(7, 5), net.vector(7)
    h = net.node("Gemm", ["x", net.init("w1", w1), net.init("b1", b1)], transB=1)
    w2, b2 = mlp_tail(net, h, 7, 4, "Relu")
    return net.model(13, 5, 4, inits_as_inputs=True), x_rows(seed, 5), \
        lambda x: lin(relu(lin(d(x), w1, b1)), w2, b2), "graph.input = x, w1, b1, w_out, b_out (IR 7)"


# ---- malformed but parseable graphs (refuse) -------------------------------------------------
# Each returns (model, reason, notes[, {extra file name: bytes}]).

def _plain(seed, in_w=6, hid=8):
    net = Net(seed)
    h = net.node("Gemm", ["x", net.init("w1", net.weight(hid, in_w)), net.init("b1", net.vector(hid))], transB=1)
    return net, h


@case
def bad_unsupported_op_conv(seed):
    """A Conv (kernel 1) between Unsqueeze and Squeeze: valid ONNX, not an MLP op."""
    net = Net(seed)
    u = net.node("Unsqueeze", ["x", net.init("axes2", np.array([2], np.int64))])       # [N, 6, 1]
    c = net.node("Conv", [u, net.init("conv_w", net.rng.randn(8, 6, 1).astype(np.float32))])
    net.node("Squeeze", [c, "axes2"])
    net.last_is_y()
    return net.model(13, 6, 8), "unsupported op Conv", "Conv-11 weight [8,6,1]: onnx.checker accepts it"


@case
def bad_dangling_input(seed):
    """A Gemm whose bias names a value nothing defines."""
    net = Net(seed)
    net.node("Gemm", ["x", net.init("w1", net.weight(5, 6)), "b1_never_defined"], transB=1)
    net.last_is_y()
    return net.model(13, 6, 5), "input 'b1_never_defined' of node n0_Gemm is not defined", \
        "not an input, initializer or node output"


@case
def bad_cycle(seed):
    """t_cycle_a = Add(h, t_cycle_b); t_cycle_b = Relu(t_cycle_a): a cycle."""
    net, h = _plain(seed)
    net.nodes.append(helper.make_node("Add", [h, "t_cycle_b"], ["t_cycle_a"], name="cyc_Add"))
    net.nodes.append(helper.make_node("Relu", ["t_cycle_a"], ["t_cycle_b"], name="cyc_Relu"))
    net.node("Gemm", ["t_cycle_b", net.init("w2", net.weight(5, 8)), net.init("b2", net.vector(5))], transB=1)
    net.last_is_y()
    return net.model(13, 6, 5), "cycle (cyc_Add <-> cyc_Relu)", \
        "a reader that only checks file order sees cyc_Add use t_cycle_b before it is defined"


@case
def bad_two_inputs(seed):
    """Two real (non-initializer) inputs, x and z, added after their Gemms."""
    net, h = _plain(seed)
    hz = net.node("Gemm", ["z", net.init("wz", net.weight(8, 4))], transB=1)
    net.node("Add", [h, hz])
    net.last_is_y()
    z = helper.make_tensor_value_info("z", T.FLOAT, ["N", 4])
    return net.model(13, 6, 8, more_inputs=[z]), "two graph inputs (x, z)", "z FLOAT [N, 4]"


@case
def bad_softmax_axis0(seed):
    """Softmax over axis 0 (across the batch) at opset 13."""
    net, h = _plain(seed)
    net.node("Softmax", [h], axis=0)
    net.last_is_y()
    return net.model(13, 6, 8), "Softmax axis 0 normalises across the batch", "opset 13"


@case
def bad_softmax_axis0_opset11(seed):
    """Softmax(axis=0) at opset 11: the 2-D view [1, N*C], one softmax over the whole batch."""
    net, h = _plain(seed)
    net.node("Softmax", [h], axis=0)
    net.last_is_y()
    return net.model(11, 6, 8), "Softmax-11 axis 0 normalises over the whole batch", "opset 11 coercion"


@case
def bad_gemm_dims(seed):
    """The second Gemm's B is [5, 9] (transB=1) but its input has 8 features."""
    net, h = _plain(seed)
    net.node("Gemm", [net.node("Relu", [h]), net.init("w2", net.weight(5, 9)), net.init("b2", net.vector(5))],
             transB=1)
    net.last_is_y()
    return net.model(13, 6, 5), "Gemm w2 [5,9] does not match its input width 8", \
        "onnx.checker accepts it (its shape inference is not strict): the importer must compare the shapes"


@case
def bad_reshape_shape(seed):
    """Reshape to [1, -1] (all rows into one), Softmax over that, Reshape back: rows mix."""
    net, h = _plain(seed)
    r = net.node("Reshape", [h, net.init("shape_1_m1", np.array([1, -1], np.int64))])
    s = net.node("Softmax", [r], axis=1)
    net.node("Reshape", [s, net.init("shape_m1_8", np.array([-1, 8], np.int64))])
    net.last_is_y()
    return net.model(13, 6, 8), "Reshape to [1, -1] is not [N, C]", \
        "the Softmax between the Reshapes normalises across rows"


@case
def bad_external_data(seed):
    """w1 stored outside the model in bad_external_data.bin (which is present)."""
    net = Net(seed)
    w1 = net.weight(5, 6)
    t = numpy_helper.from_array(w1, "w1")
    onnx.external_data_helper.set_external_data(t, "bad_external_data.bin", offset=0, length=w1.nbytes)
    t.ClearField("raw_data")
    t.data_location = T.EXTERNAL
    net.inits.append(t)
    net.node("Gemm", ["x", "w1", net.init("b1", net.vector(5))], transB=1)
    net.last_is_y()
    return net.model(13, 6, 5), "external data (w1 in bad_external_data.bin)", \
        "data_location EXTERNAL, location bad_external_data.bin, offset 0, length 120", \
        {"bad_external_data.bin": w1.astype("<f4").tobytes()}


@case
def bad_raw_data_size(seed):
    """w1's dims say [8, 6] (48 floats) but raw_data holds 47."""
    net = Net(seed)
    t = numpy_helper.from_array(net.weight(8, 6), "w1")
    t.raw_data = t.raw_data[:-4]
    net.inits.append(t)
    net.node("Gemm", ["x", "w1", net.init("b1", net.vector(8))], transB=1)
    net.last_is_y()
    return net.model(13, 6, 8), "initializer w1: raw_data 188 bytes, dims [8,6] need 192", \
        "onnx.load parses it; reading the tensor must fail"


@case
def bad_duplicate_output(seed):
    """Two nodes both write t0 (ONNX values are single-assignment)."""
    net, h = _plain(seed)
    net.nodes.append(helper.make_node("Relu", ["x"], [h], name="dup_Relu"))
    net.node("Gemm", [h, net.init("w2", net.weight(5, 8)), net.init("b2", net.vector(5))], transB=1)
    net.last_is_y()
    return net.model(13, 6, 5), "value t0 written by two nodes", "n0_Gemm and dup_Relu"


@case
def bad_output_undefined(seed):
    """The graph output y is produced by no node."""
    net, h = _plain(seed)
    net.node("Relu", [h])
    return net.model(13, 6, 8), "graph output 'y' is never computed", ""


@case
def bad_dropout_training(seed):
    """Dropout with training_mode = true (a BOOL initializer): random at inference."""
    net, h = _plain(seed)
    net.node("Dropout", [h, net.init("ratio", np.array(0.3, np.float32)), net.init("training", np.array(True))])
    net.last_is_y()
    return net.model(13, 6, 8), "Dropout in training mode", "training_mode input is a BOOL initializer = true"


# ---- driver ----------------------------------------------------------------------------------

def checker_verdict(m, path):
    """onnx.checker's verdict on the file at path (by path, so that external data resolves)."""
    opset = m.opset_import[0].version
    if opset > onnx.defs.onnx_opset_version():
        return "n/a (opset %d; onnx %s knows <= %d)" % (opset, onnx.__version__, onnx.defs.onnx_opset_version())
    try:
        onnx.checker.check_model(path, full_check=True)
        return "ok"
    except Exception as e:  # noqa: BLE001 -- every checker complaint is a verdict here
        return "fails: " + str(e).strip().splitlines()[0]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "onnx", "graphs")
    os.makedirs(out_dir, exist_ok=True)
    rows, files = [], []
    for k, fn in enumerate(CASES):
        name, seed = fn.__name__, SEED + 100 * k
        r = fn(seed)
        m = r[0]
        blob = m.SerializeToString()
        onnx.load_from_string(blob)  # every fixture parses
        path = name + ".onnx"
        with open(os.path.join(out_dir, path), "wb") as f:
            f.write(blob)
        files.append(path)
        ops = " ".join(n.op_type for n in m.graph.node)
        doc = " ".join(fn.__doc__.split())
        if name.startswith("bad_"):
            reason, notes = r[1], r[2]
            for fname, data in (r[3] if len(r) > 3 else {}).items():
                with open(os.path.join(out_dir, fname), "wb") as f:
                    f.write(data)
                files.append(fname)
                rows.append((fname, "-", "-", "(data of bad_external_data.onnx)", "-", "-", "%d bytes" % len(data)))
            expected = "refuse: " + reason
            verdict = checker_verdict(m, os.path.join(out_dir, path))
        else:
            verdict = checker_verdict(m, os.path.join(out_dir, path))
            x, ref, notes = r[1], r[2], r[3]
            extra = r[4] if len(r) > 4 else {}
            want = ref(x)
            got = run(m, {"x": x})["y"]
            scale = max(float(np.max(np.abs(want))), 1e-300)
            diff = float(np.max(np.abs(got - want))) / scale
            if got.shape != want.shape or diff > 1e-12:
                raise SystemExit("%s: the interpreter and the formula differ (%.3g relative)" % (name, diff))
            if verdict != "ok" and not verdict.startswith("n/a"):
                raise SystemExit("%s: onnx.checker refuses a graph meant to load: %s" % (name, verdict))
            io = [("x", x)] + list(extra.items()) + [("y_ref", want)]
            write_safetensors(os.path.join(out_dir, name + "_io.safetensors"), io,
                              {"source": "tools/make_onnx_graph_fixtures.py, seed %d" % seed,
                               "model": path})
            files.append(name + "_io.safetensors")
            expected = "ok, or refuse: Transpose" if name == "gemm_transA_transposed_input" else "ok"
            notes = "%s; io: %s; formula vs interpreter %.1g" % (
                notes, ", ".join("%s %s" % (k2, list(np.shape(v))) for k2, v in io), diff)
        rows.append((path, str(m.opset_import[0].version), str(m.ir_version), expected, verdict, ops,
                                doc + (" " + notes if notes else "")))
    with open(os.path.join(out_dir, "MANIFEST.tsv"), "w") as f:
        f.write("file\topset\tir_version\texpected\tchecker\tonnx_ops\tnotes\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    total = sum(os.path.getsize(os.path.join(out_dir, p)) for p in files)
    print("make_onnx_graph_fixtures: %d graphs, %d files, %d bytes in %s" % (len(CASES), len(files), total, out_dir))


if __name__ == "__main__":
    main()
