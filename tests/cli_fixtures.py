#!/usr/bin/python3
"""cli_fixtures.py — writes the tiny, deterministic fixtures tests/cli_smoke.sh uses.

    /usr/bin/python3 tests/cli_fixtures.py [OUTDIR]      (default: tests/fixtures)

No third-party packages: safetensors and IDX are written by hand with struct and json.

The data: 3 classes in 16 dimensions, 20 samples each, drawn around 3 centroids in
[0, 1]^16 with a fixed seed. Each sample exists as raw uint8 pixels (raw = round(255 x))
and as float32 x = raw / 255, so the same samples go through both input paths.

The model (cli_tiny_mlp.safetensors, layers linear,relu,linear,softmax, 16 -> 8 -> 3) is a
nearest-centroid classifier written as an MLP:
    hidden_k = relu(c_k . x - |c_k|^2 / 2 + 10)   for k < 3 (the other 5 units are 0)
    out = softmax(hidden[:3])
argmax_k (c_k . x - |c_k|^2/2) is argmax of -|x - c_k|^2 / 2: the nearest centroid. The +10
keeps every hidden unit positive so ReLU never clips. Its metadata sets input_scale 1/255
so raw uint8 inputs are scaled the same way as the float32 copy.

Files written:
    cli_tiny_mlp.safetensors        the model
    cli_tiny_data.safetensors       x [60,16] F32, y [60] I64
    cli_tiny-images-idx3-ubyte      60 x 4 x 4 uint8 (plain IDX)
    cli_tiny-labels-idx1-ubyte      60 labels (plain IDX)
"""
import json
import os
import random
import struct
import sys

IN, HID, K, PER = 16, 8, 3, 20


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    off = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, _, data in tensors:
            f.write(data)


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261128)
    cent = [[rng.uniform(0.2, 0.8) for _ in range(IN)] for _ in range(K)]
    raw, labels = [], []
    for i in range(K * PER):
        k = i % K
        px = [min(255, max(0, round(255 * (c + rng.gauss(0, 0.22))))) for c in cent[k]]
        raw.append(px)
        labels.append(k)

    # model: 0 = linear(16 -> 8), 1 = relu, 2 = linear(8 -> 3), 3 = softmax
    w0 = [0.0] * (HID * IN)
    b0 = [0.0] * HID
    for k in range(K):
        for j in range(IN):
            w0[k * IN + j] = cent[k][j]
        b0[k] = -sum(c * c for c in cent[k]) / 2 + 10.0
    w2 = [0.0] * (K * HID)
    for k in range(K):
        w2[k * HID + k] = 1.0
    b2 = [0.0] * K
    write_safetensors(os.path.join(out, "cli_tiny_mlp.safetensors"), [
        ("0.weight", "F32", [HID, IN], f32(w0)),
        ("0.bias", "F32", [HID], f32(b0)),
        ("2.weight", "F32", [K, HID], f32(w2)),
        ("2.bias", "F32", [K], f32(b2)),
    ], {"tinymlp.layers": "linear,relu,linear,softmax",
        "tinymlp.input_scale": repr(1.0 / 255.0), "format": "pt"})

    n = len(raw)
    x = [v / 255.0 for row in raw for v in row]
    write_safetensors(os.path.join(out, "cli_tiny_data.safetensors"), [
        ("x", "F32", [n, IN], f32(x)),
        ("y", "I64", [n], struct.pack("<%dq" % n, *labels)),
    ])
    with open(os.path.join(out, "cli_tiny-images-idx3-ubyte"), "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", n, 4, 4))
        f.write(bytes(v for row in raw for v in row))
    with open(os.path.join(out, "cli_tiny-labels-idx1-ubyte"), "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", n))
        f.write(bytes(labels))

    # the expected accuracy, for the reader (the C engine must agree)
    correct = 0
    for px, k in zip(raw, labels):
        xs = [v / 255.0 for v in px]
        score = [sum(c * v for c, v in zip(cent[j], xs)) - sum(c * c for c in cent[j]) / 2
                 for j in range(K)]
        correct += max(range(K), key=lambda j: score[j]) == k
    print("wrote fixtures to %s; nearest-centroid accuracy %d/%d" % (out, correct, n))


if __name__ == "__main__":
    main()
