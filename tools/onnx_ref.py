#!/usr/bin/python3
"""onnx_ref.py — a small NumPy interpreter of ONNX graphs, the reference for tinymlp's fixtures.

No onnxruntime for Debian's Python: this evaluates, node by node in file order, the ops an
MLP exported to ONNX uses, by the ONNX operator definitions (their opset-dependent forms
included), in float64 by default so it can serve as the reference the C engine is compared
with. It is deliberately plain: one small function per op, no fusion, no shape inference.

    from onnx_ref import run, tensor_array
    y = run(onnx.load("m.onnx"), {"x": x})["y"]           # float64
    y32 = run(model, {"x": x}, dtype=numpy.float32)["y"]  # what a float32 engine computes

Ops: Gemm MatMul Add Sub Mul Div Pow Sqrt Erf Exp Log Neg Reciprocal Tanh Sigmoid Relu
LeakyRelu Gelu(20) ReduceMean (axes attribute, or input from opset 18) LayerNormalization
BatchNormalization (inference) Softmax LogSoftmax (opset < 13: the input seen as 2-D from
`axis`, default 1; from 13: along `axis`, default -1) Flatten Reshape Squeeze Unsqueeze (axes
attribute before 13, input from 13) Transpose Identity Dropout (inference) Cast Constant.

Floating-point values are held in `dtype`; a Cast to FLOAT / FLOAT16 / BFLOAT16 of a value
of another type rounds to that type (and comes back to `dtype`), so DOUBLE weights cast to
FLOAT count as the float32 numbers the graph computes with; a Cast to the value's own type
(FLOAT to FLOAT) is the identity. Element types are followed from the initializers and
inputs through the nodes (a node's output has its first input's type, except Cast and
Constant). Integer tensors (shapes, axes) stay int64.
Raises ValueError on an unknown op, a name used before it is defined, or external data.
"""
import math

import numpy as np
from onnx import TensorProto, numpy_helper

_CAST = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64,
         TensorProto.FLOAT16: np.float16, TensorProto.INT64: np.int64, TensorProto.INT32: np.int32}


def bf16_round(a):
    """float32 values rounded to the nearest bfloat16 (ties to even), as float32."""
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


def tensor_array(t):
    """A TensorProto's values as a NumPy array (BFLOAT16 widened to float32, exactly)."""
    if t.data_location == TensorProto.EXTERNAL:
        raise ValueError("tensor %s: external data" % t.name)
    if t.data_type == TensorProto.BFLOAT16:
        if t.raw_data:
            bits = np.frombuffer(t.raw_data, "<u2")
        else:
            bits = np.asarray(t.int32_data, np.uint32).astype(np.uint16)
        return (bits.astype(np.uint32) << 16).view(np.float32).reshape(tuple(t.dims))
    return numpy_helper.to_array(t)


def _opset(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    raise ValueError("no default-domain opset import")


def _attrs(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _softmax(x, axis, log, opset):
    if opset < 13:  # coerce to 2-D [prod(shape[:axis]), prod(shape[axis:])]
        shape = x.shape
        axis = axis % x.ndim
        x2 = x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), -1)
        return _softmax(x2, 1, log, 13).reshape(shape)
    z = x - np.max(x, axis=axis, keepdims=True)
    if log:
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype)


def _gelu(x, approximate):
    half, one = x.dtype.type(0.5), x.dtype.type(1)
    if approximate == "tanh":
        c = x.dtype.type(math.sqrt(2.0 / math.pi))
        return half * x * (one + np.tanh(c * (x + x.dtype.type(0.044715) * x * x * x)))
    return half * x * (one + _erf(x / x.dtype.type(math.sqrt(2.0))))


def _axes_of(node, inputs, a, opset, since):
    if opset >= since:
        return [int(v) for v in inputs[1]] if len(inputs) > 1 and inputs[1] is not None else None
    return a.get("axes")


def _reshape(x, shape, allowzero):
    shape = [int(v) for v in shape]
    out = [x.shape[i] if (v == 0 and not allowzero) else v for i, v in enumerate(shape)]
    return x.reshape(out)


def _eval(node, inputs, a, opset, dt, src_type):
    op = node.op_type
    x = inputs[0] if inputs else None
    f = dt.type
    if op == "Gemm":
        A = x.T if a.get("transA", 0) else x
        B = inputs[1].T if a.get("transB", 0) else inputs[1]
        y = f(np.float32(a.get("alpha", 1.0))) * (A @ B)
        if len(inputs) > 2 and inputs[2] is not None:
            y = y + f(np.float32(a.get("beta", 1.0))) * inputs[2]
        return [y]
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
              "Pow": np.power, "MatMul": np.matmul}
    if op in binary:
        return [binary[op](x, inputs[1])]
    unary = {"Sqrt": np.sqrt, "Exp": np.exp, "Log": np.log, "Neg": np.negative, "Tanh": np.tanh,
             "Reciprocal": lambda v: f(1) / v, "Erf": _erf, "Identity": lambda v: v,
             "Relu": lambda v: np.maximum(v, f(0)),
             "Sigmoid": lambda v: f(1) / (f(1) + np.exp(-v))}
    if op in unary:
        return [unary[op](x)]
    if op == "LeakyRelu":
        return [np.where(x >= 0, x, f(np.float32(a.get("alpha", 0.01))) * x)]
    if op == "Gelu":
        approximate = a.get("approximate", b"none")
        return [_gelu(x, approximate.decode() if isinstance(approximate, bytes) else approximate)]
    if op in ("Softmax", "LogSoftmax"):
        return [_softmax(x, a.get("axis", 1 if opset < 13 else -1), op == "LogSoftmax", opset)]
    if op == "ReduceMean":
        axes = _axes_of(node, inputs, a, opset, 18)
        keep = bool(a.get("keepdims", 1))
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(x.ndim))
        return [np.mean(x, axis=tuple(axes), keepdims=keep)]
    if op == "LayerNormalization":
        if len(inputs) < 2 or inputs[1] is None:
            raise ValueError("LayerNormalization: no Scale input (ONNX requires one)")
        axis = a.get("axis", -1) % x.ndim
        red = tuple(range(axis, x.ndim))
        mean = np.mean(x, axis=red, keepdims=True)
        var = np.mean((x - mean) ** 2, axis=red, keepdims=True)
        y = (x - mean) / np.sqrt(var + f(np.float32(a.get("epsilon", 1e-5)))) * inputs[1]
        if len(inputs) > 2 and inputs[2] is not None:
            y = y + inputs[2]
        return [y]
    if op == "BatchNormalization":
        if a.get("training_mode", 0):
            raise ValueError("BatchNormalization: training_mode=1")
        scale, bias, mean, var = inputs[1:5]
        shp = (1, -1) + (1,) * (x.ndim - 2)
        inv = f(1) / np.sqrt(var.reshape(shp) + f(np.float32(a.get("epsilon", 1e-5))))
        return [(x - mean.reshape(shp)) * inv * scale.reshape(shp) + bias.reshape(shp)]
    if op == "Flatten":
        axis = a.get("axis", 1)
        axis = axis + x.ndim if axis < 0 else axis
        return [x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)]
    if op == "Reshape":
        return [_reshape(x, inputs[1], a.get("allowzero", 0))]
    if op == "Squeeze":
        axes = _axes_of(node, inputs, a, opset, 13)
        return [np.squeeze(x, axis=tuple(axes)) if axes is not None else np.squeeze(x)]
    if op == "Unsqueeze":
        axes = _axes_of(node, inputs, a, opset, 13)
        rank = x.ndim + len(axes)
        for v in sorted(v % rank for v in axes):
            x = np.expand_dims(x, v)
        return [x]
    if op == "Transpose":
        return [np.transpose(x, a.get("perm"))]
    if op == "Dropout":
        if len(inputs) > 2 and inputs[2] is not None and bool(inputs[2]):
            raise ValueError("Dropout: training_mode is true")
        return [x, np.ones(x.shape, bool)]
    if op == "Cast":
        to = a["to"]
        if to == src_type:  # a Cast to the value's own type is the identity
            return [x]
        if to == TensorProto.BFLOAT16:
            return [bf16_round(x).astype(dt)]
        if to in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE):
            return [x.astype(_CAST[to]).astype(dt)]
        if to in _CAST:
            return [x.astype(_CAST[to])]
        raise ValueError("Cast to %d is not evaluated here" % to)
    if op == "Constant":
        if "value" in a:
            return [tensor_array(a["value"])]
        if "value_float" in a:
            return [np.array(a["value_float"], np.float32)]
        if "value_floats" in a:
            return [np.array(a["value_floats"], np.float32)]
        if "value_int" in a:
            return [np.array(a["value_int"], np.int64)]
        if "value_ints" in a:
            return [np.array(a["value_ints"], np.int64)]
        raise ValueError("Constant node %s: no value attribute evaluated here" % node.name)
    raise ValueError("op %s is not evaluated here" % op)


def _to_compute(v, dt):
    v = np.asarray(v)
    return v.astype(dt) if v.dtype.kind == "f" else v


def run(model, feeds, dtype=np.float64):
    """Evaluate model's graph on feeds (name -> array); dict output name -> array (dtype)."""
    dt = np.dtype(dtype)
    opset = _opset(model)
    g = model.graph
    env = {init.name: _to_compute(tensor_array(init), dt) for init in g.initializer}
    types = {init.name: init.data_type for init in g.initializer}  # ONNX element types
    types.update({i.name: i.type.tensor_type.elem_type for i in g.input})
    for name, v in feeds.items():
        env[name] = _to_compute(v, dt)
    for i, node in enumerate(g.node):
        ins = []
        for name in node.input:
            if name == "":
                ins.append(None)
            elif name not in env:
                raise ValueError("node %d (%s): input %r is not defined before it" % (i, node.op_type, name))
            else:
                ins.append(env[name])
        a = _attrs(node)
        src = types.get(node.input[0]) if node.input else None
        outs = _eval(node, ins, a, opset, dt, src)
        if node.op_type == "Cast":
            out_type = a["to"]
        elif node.op_type == "Constant":
            out_type = a["value"].data_type if "value" in a else (
                TensorProto.FLOAT if "value_float" in a or "value_floats" in a else TensorProto.INT64)
        else:
            out_type = src
        for name, v in zip(node.output, outs):
            if name:
                env[name] = _to_compute(v, dt)
                types[name] = out_type
    missing = [o.name for o in g.output if o.name not in env]
    if missing:
        raise ValueError("graph output %r is never computed" % missing[0])
    return {o.name: env[o.name] for o in g.output}
