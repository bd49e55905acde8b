#!/usr/bin/python3
"""make_onnx_parse_fixtures.py — small ONNX files exported by PyTorch for tests/test_onnx_parse.c.

Writes into tests/fixtures/onnx/parse/ (and copies into fuzz/corpus/onnx/ as fuzzer seeds):

  mlp.onnx          Linear(4,3) -> ReLU -> Linear(3,2), opset 13, dynamic batch axis "batch":
                    Gemm, Relu, Gemm; initializers 0.weight (3x4), 0.bias (3), 2.weight (2x3),
                    2.bias (2); metadata_props {"tinymlp.fixture": "mlp"}.
  reshape_mlp.onnx  x (N,1,2,2) -> reshape(-1, 4) -> Linear(4,2) -> unsqueeze(1) -> softmax,
                    opset 13: Constant (INT64 shape tensor), Reshape, Gemm, Unsqueeze (axes
                    from a Constant or initializer, as opset 13 takes them as an input), Softmax.

Every weight is set to a formula, not drawn at random, so the C test checks values without a
table: Linear layer k (k = 0, 1, ...) has W[o][i] = 0.01 * (10 * o + i + 1) * (k + 1) and
b[o] = -0.5 + 0.25 * o. The script prints each model's node list and checks the weights it
wrote by reading the file back with the onnx package when it is installed.

Run with Debian's interpreter (python3-torch; python3-onnx only for the read-back check):

    /usr/bin/python3 tools/make_onnx_parse_fixtures.py
"""
import os
import shutil
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "onnx", "parse")
CORPUS = os.path.join(ROOT, "fuzz", "corpus", "onnx")


def set_weights(linears):
    """W[o][i] = 0.01 * (10 o + i + 1) * (k + 1), b[o] = -0.5 + 0.25 o for layer k."""
    with torch.no_grad():
        for k, lin in enumerate(linears):
            out_f, in_f = lin.weight.shape
            for o in range(out_f):
                for i in range(in_f):
                    lin.weight[o, i] = 0.01 * (10 * o + i + 1) * (k + 1)
                lin.bias[o] = -0.5 + 0.25 * o


class ReshapeMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        y = self.fc(x.reshape(-1, 4))
        return torch.softmax(y.unsqueeze(1), dim=-1)


def export(model, example, name, dynamic):
    path = os.path.join(OUT, name)
    model.eval()
    torch.onnx.export(model, example, path, opset_version=13, input_names=["x"],
                      output_names=["y"], dynamic_axes=dynamic, do_constant_folding=True)
    return path


def add_metadata(path, key, value):
    """metadata_props is a ModelProto field torch.onnx.export does not write: append it.

    A serialized message may be extended by appending fields, so this needs no protobuf
    library: field 14, wire type 2, holding a StringStringEntryProto {1: key, 2: value}."""
    def ld(field, payload):
        return varint(field << 3 | 2) + varint(len(payload)) + payload

    def varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                return bytes(out)

    entry = ld(1, key.encode()) + ld(2, value.encode())
    with open(path, "ab") as f:
        f.write(ld(14, entry))


def describe(path):
    try:
        import onnx
        import onnx.numpy_helper
    except ImportError:
        print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes (no onnx package to read it back)")
        return
    m = onnx.load(path)
    onnx.checker.check_model(m)
    print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes, ir_version {m.ir_version}, "
          f"opset {[(o.domain, o.version) for o in m.opset_import]}")
    print("  nodes:", [(n.op_type, list(n.input), list(n.output)) for n in m.graph.node])
    for t in m.graph.initializer:
        a = onnx.numpy_helper.to_array(t)
        print(f"  initializer {t.name} {a.dtype} {list(a.shape)} {a.flatten()[:4]}")
    print("  metadata:", [(p.key, p.value) for p in m.metadata_props])


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(CORPUS, exist_ok=True)

    mlp = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    set_weights([mlp[0], mlp[2]])
    p1 = export(mlp, torch.zeros(2, 4), "mlp.onnx", {"x": {0: "batch"}, "y": {0: "batch"}})
    add_metadata(p1, "tinymlp.fixture", "mlp")

    rm = ReshapeMLP()
    set_weights([rm.fc])
    p2 = export(rm, torch.zeros(2, 1, 2, 2), "reshape_mlp.onnx", {"x": {0: "batch"}, "y": {0: "batch"}})

    for p in (p1, p2):
        describe(p)
        shutil.copy(p, os.path.join(CORPUS, os.path.basename(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
