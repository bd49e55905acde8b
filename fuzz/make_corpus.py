#!/usr/bin/python3
"""Regenerate the seed corpora in fuzz/corpus/{safetensors,idx,onnx}/ (stdlib only).

Valid files of each shape the parsers handle plus a few invalid ones, kept small so
libFuzzer mutates them quickly. Run from anywhere: python3 fuzz/make_corpus.py
(fuzz/corpus/onnx/ also holds two PyTorch exports, copied there by
tools/make_onnx_parse_fixtures.py; files named bad_* must be refused.)
"""
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def st(header, data=b"", pad=True):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def write(kind, name, blob):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


# --- safetensors -------------------------------------------------------------------------
ref = b'{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}'
write("safetensors", "ref_i32", st(ref, bytes(16), pad=False))
write("safetensors", "empty", st({}))
write("safetensors", "metadata_only", st({"__metadata__": {"framework": "pt"}}))
write("safetensors", "whitespace", st(b"\r \t\n{}\r \t\n", pad=False))
write("safetensors", "zero_size_rank0", st(
    {"z": {"dtype": "F32", "shape": [2, 0], "data_offsets": [0, 0]},
     "s": {"dtype": "I32", "shape": [], "data_offsets": [0, 4]}}, struct.pack("<i", 7)))
f16 = struct.pack("<6H", 0x3C00, 0xC100, 0x7BFF, 0x0001, 0x7C00, 0x7E00)
bf16 = struct.pack("<3H", 0x3F80, 0xC020, 0x7FC0)
write("safetensors", "f16_bf16_u8", st(
    {"h": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
     "b": {"dtype": "BF16", "shape": [3], "data_offsets": [12, 18]},
     "u": {"dtype": "U8", "shape": [3], "data_offsets": [18, 21]}}, f16 + bf16 + bytes([0, 128, 255])))
w = struct.pack("<6f", 1, -2, 3.5, 0.25, -0.5, 7)
b = struct.pack("<3f", 0.1, 0.2, 0.3)
write("safetensors", "model", st(
    {"__metadata__": {"tinymlp.layers": "linear,relu,linear,softmax", "tinymlp.input_scale": "0.00392156862745098"},
     "0.weight": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 24]},
     "0.bias": {"dtype": "F32", "shape": [3], "data_offsets": [24, 36]},
     "2.weight": {"dtype": "F32", "shape": [1, 3], "data_offsets": [36, 48]},
     "2.bias": {"dtype": "F32", "shape": [1], "data_offsets": [48, 52]}}, w + b + b + b[:4]))
write("safetensors", "unaligned", st(
    {"u": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
     "w": {"dtype": "F32", "shape": [2], "data_offsets": [1, 9]}}, b"\x01" + w[:8], pad=False))
write("safetensors", "f4_f6", st(
    {"q": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]},
     "r": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [2, 5]}}, bytes(5)))
write("safetensors", "utf8_name", st({"caf\u00e9\u20ac\U0001F600": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\x05"))
# invalid
write("safetensors", "bad_truncated", st(ref, bytes(14), pad=False))
write("safetensors", "bad_json", st(b"{", pad=False))
write("safetensors", "bad_dup", st(
    b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', bytes(2)))
write("safetensors", "bad_overflow", st(
    b'{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}', bytes(16)))
write("safetensors", "bad_offsets", st(
    b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', bytes(3)))

# --- idx -------------------------------------------------------------------------------
def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


write("idx", "images_2x3x2", idx([2, 3, 2], bytes(range(12))))
write("idx", "labels_5", idx([5], bytes([9, 2, 1, 1, 6])))
write("idx", "four_d", idx([1, 2, 1, 3], bytes(6)))
write("idx", "empty_dim", idx([0, 784], b""))
src = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
if os.path.exists(src):  # two real Fashion-MNIST test images
    with gzip.open(src) as g:
        g.read(16)
        write("idx", "fashion_2x28x28", idx([2, 28, 28], g.read(2 * 784)))
write("idx", "bad_magic", bytes([1, 0]) + idx([2], b"ab")[2:])
write("idx", "bad_dtype", bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 1) + bytes(4))
write("idx", "bad_truncated", idx([3, 4], bytes(10)))
write("idx", "bad_trailing", idx([3], bytes(4)))
write("idx", "bad_absurd", idx([65536, 65536], b""))


# --- onnx --------------------------------------------------------------------------------
# A protobuf writer: each function returns the bytes of one field (field numbers of
# onnx/onnx.proto; see src/io/onnx_read.c).
def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fv(field, v):
    return varint(field << 3) + varint(v)


def fb(field, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def ff32(field, x):
    return varint(field << 3 | 5) + struct.pack("<f", x)


def packed(field, values):
    return fb(field, b"".join(varint(v) for v in values))


def tensor(name, dtype, dims, raw=None, extra=b""):
    t = (packed(1, dims) if dims else b"") + fv(2, dtype) + fb(8, name)
    return t + (fb(9, raw) if raw is not None else b"") + extra


def node(op, ins, outs, name="", attrs=()):
    n = b"".join(fb(1, i) for i in ins) + b"".join(fb(2, o) for o in outs)
    n += (fb(3, name) if name else b"") + fb(4, op)
    return n + b"".join(fb(5, a) for a in attrs)


def value(name, elem, dims):
    shape = b"".join(fb(1, fv(1, d) if isinstance(d, int) else fb(2, d)) for d in dims)
    return fb(1, name) + fb(2, fb(1, fv(1, elem) + fb(2, shape)))


def onnx_model(graph, opset=13, extra=b""):
    return fv(1, 8) + fb(2, "fuzz") + fb(7, graph) + fb(8, fb(1, "") + fv(2, opset)) + extra


def mlp_graph(w_extra=b"", node_extra=b""):
    w = struct.pack("<6f", 1, -2, 3.5, 0.25, -0.5, 7)
    g = fb(1, node("Gemm", ["x", "w", "b"], ["h"], "fc", [fb(1, "transB") + fv(20, 2) + fv(3, 1)]) + node_extra)
    g += fb(1, node("Relu", ["h"], ["y"]))
    g += fb(2, "g") + fb(5, tensor("w", 1, [3, 2], w, w_extra)) + fb(5, tensor("b", 1, [3], struct.pack("<3f", 0.1, 0.2, 0.3)))
    return g + fb(11, value("x", 1, ["N", 2])) + fb(12, value("y", 1, ["N", 3]))


write("onnx", "mlp_hand", onnx_model(mlp_graph(), extra=fb(14, fb(1, "k") + fb(2, "v"))))
# every converted data type, raw and typed
g = mlp_graph()
g += fb(5, tensor("h", 10, [2], struct.pack("<2H", 0x3C00, 0x0001)))
g += fb(5, tensor("bf", 16, [2], struct.pack("<2H", 0x3F80, 0xC020)))
g += fb(5, tensor("d", 11, [1], extra=fb(10, struct.pack("<d", 0.25))))
g += fb(5, tensor("i8", 3, [2], extra=packed(5, [-5, 7])))
g += fb(5, tensor("u8", 2, [2], b"\x00\xff")) + fb(5, tensor("bool", 9, [1], b"\x01"))
g += fb(5, tensor("i16", 5, [1], b"\xff\xff")) + fb(5, tensor("u16", 4, [1], b"\x00\x80"))
g += fb(5, tensor("i32", 6, [1], struct.pack("<i", -2))) + fb(5, tensor("i64", 7, [2], extra=packed(7, [-1, 4])))
g += fb(5, tensor("u32", 12, [1], extra=packed(11, [4000000000]))) + fb(5, tensor("u64", 13, [], extra=fv(11, 42)))
g += fb(5, tensor("f32typed", 1, [2], extra=fb(4, struct.pack("<2f", 1, 2))))
write("onnx", "dtypes", onnx_model(g))
# attributes, Constant, omitted inputs, opset 18 ReduceMean with an axes input
consts = node("Constant", [], ["shape"], "c", [fb(1, "value") + fv(20, 4) + fb(5, tensor("", 7, [2], extra=packed(7, [-1, 4])))])
attrs = node("Foo", ["x", "", "y"], ["z"], "attrs", [
    fb(1, "fs") + fv(20, 6) + fb(7, struct.pack("<2f", 1, 2)) + ff32(7, 3),
    fb(1, "is") + fv(20, 7) + fv(8, 5) + fv(8, -6),
    fb(1, "ss") + fv(20, 8) + fb(9, "a") + fb(9, "bc"),
    fb(1, "f") + fv(20, 1) + ff32(2, 0.5),
    fb(1, "s") + fv(20, 3) + fb(4, "constant"),
    fb(1, "untyped") + fv(3, 9)])
rm = node("ReduceMean", ["y", "axes"], ["m"], "rm", [fb(1, "keepdims") + fv(20, 2) + fv(3, 0)])
g = mlp_graph() + fb(1, consts) + fb(1, attrs) + fb(1, rm) + fb(5, tensor("axes", 7, [1], extra=packed(7, [1])))
seq = fb(4, fb(1, fb(1, fv(1, 1))))
g += fb(13, fb(1, "s") + fb(2, seq)) + fb(13, value("m", 1, ["N"]))
write("onnx", "attrs_opset18", fv(1, 9) + fb(7, g) + fb(8, fb(1, "ai.onnx") + fv(2, 18)))
# unknown fields of each skippable wire type, at model level
unknown = fv(1000, 5) + varint(1001 << 3 | 1) + bytes(8) + fb(1002, "skip") + varint(1003 << 3 | 5) + bytes(4)
write("onnx", "unknown_fields", onnx_model(mlp_graph(w_extra=unknown, node_extra=unknown), extra=unknown))
write("onnx", "empty_graph", onnx_model(b""))

# invalid: one per refusal of the decoder
good = onnx_model(mlp_graph())
write("onnx", "bad_empty", b"")
write("onnx", "bad_truncated", good[: len(good) // 2])
write("onnx", "bad_varint", onnx_model(mlp_graph(node_extra=b"\x80" * 10 + b"\x01")))
write("onnx", "bad_length", fv(1, 8) + varint(7 << 3 | 2) + varint(1000) + b"\x0a\x00")
write("onnx", "bad_group", onnx_model(mlp_graph() + varint(3 << 3 | 3)))
write("onnx", "bad_wiretype7", onnx_model(mlp_graph() + varint(3 << 3 | 7)))
write("onnx", "bad_external", onnx_model(mlp_graph(w_extra=fv(14, 1) + fb(13, fb(1, "location") + fb(2, "w.bin")))))
write("onnx", "bad_sparse", onnx_model(mlp_graph() + fb(15, fb(3, b""))))
write("onnx", "bad_subgraph", onnx_model(mlp_graph() + fb(1, node("If", ["c"], ["o"], "if", [fb(1, "then_branch") + fv(20, 5) + fb(6, mlp_graph())]))))
write("onnx", "bad_size", onnx_model(mlp_graph() + fb(5, tensor("fc.weight", 1, [3, 4], bytes(40)))))
write("onnx", "bad_dims", onnx_model(mlp_graph() + fb(5, tensor("big", 1, [1 << 31], b""))))
write("onnx", "bad_overflow", onnx_model(mlp_graph() + fb(5, tensor("huge", 1, [(1 << 31) - 1] * 8, bytes(4)))))
deep = fb(1, fv(1, 1))
for _ in range(40):
    deep = fb(4, fb(1, deep))
write("onnx", "bad_deep", onnx_model(mlp_graph() + fb(13, fb(1, "deep") + fb(2, deep))))
write("onnx", "bad_nul", onnx_model(mlp_graph() + fb(1, node("Relu", ["x"], ["q"], "a\0b"))))
write("onnx", "bad_safetensors", st({"__metadata__": {"format": "pt"}}))
