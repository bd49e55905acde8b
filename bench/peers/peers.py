#!/usr/bin/python3
"""peers.py — the same MLP, run by NumPy and PyTorch, measured the way bench_mlp measures.

    /usr/bin/python3 bench/peers/peers.py measure MODEL.safetensors [--seconds S] [--batch B]
    /usr/bin/python3 bench/peers/peers.py make-model 784x512x512x10 OUT.safetensors [--seed N]
    /usr/bin/python3 bench/peers/peers.py export-onnx MODEL.safetensors OUT.onnx IDENTITY.onnx
    /usr/bin/python3 bench/peers/peers.py dump-raw MODEL.safetensors OUT.raw

`measure` loads the .safetensors file BY HAND (no safetensors package: an 8-byte
little-endian header length, a JSON header, raw little-endian tensors), builds the layer
list from __metadata__["tinymlp.layers"] (PyTorch nn.Sequential naming: module i owns
"<i>.weight" [out,in] and "<i>.bias" [out]) and prints one JSON line per framework:

  single-stream  batch-1 forward calls back to back for S seconds (after a warm-up);
                 p50/p99 of the per-call latency by LoadGen's rule sorted[floor(N*p)]
  offline        batch-B forwards back to back for S seconds; samples/s
  offline_small  the same at batch --small-batch (default 8)

Threads: call with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 (run_peers.sh does) so NumPy's
OpenBLAS runs on one thread; PyTorch gets torch.set_num_threads(1) as well.
Inputs are uniform [0,1) float32 rows of the model's width, like bench_mlp --data synthetic.

`make-model` writes a seeded random MLP (ReLU between Dense layers, softmax last,
nn.Linear's U(+-1/sqrt(in)) init) so the peers and bench_mlp read the same file.

`export-onnx` builds the same nn.Sequential from the .safetensors weights (the loader above)
and writes it with torch.onnx.export (opset 13, batch dimension dynamic, input "x", output
"y"), plus IDENTITY.onnx: y = x at the model's input width (one Identity node), on which
ort_peer.js measures what the Node binding itself costs per call.

`dump-raw` writes the Dense layers as hand_blas.c reads them ("TMHB", int32 n; per layer
int32 in, out, act (0 none, 1 ReLU, 2 softmax), float32 W (out, in), float32 b).
"""
import argparse
import json
import struct
import sys
import time

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def load_safetensors(path):
    """Return (tensors: dict name -> np.ndarray float32, metadata: dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        buf = raw[base + b: base + e]
        dt = info["dtype"]
        if dt == "BF16":
            u16 = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        elif dt in DTYPES:
            arr = np.frombuffer(buf, dtype=np.dtype(DTYPES[dt]).newbyteorder("<")).astype(np.float32)
        else:
            raise SystemExit("peers.py: tensor %s has dtype %s, not a float" % (name, dt))
        tensors[name] = arr.reshape(info["shape"]).copy()
    return tensors, meta


def build_layers(tensors, meta, layers=None):
    names = (layers or meta.get("tinymlp.layers", "")).split(",")
    if not names or names == [""]:
        raise SystemExit("peers.py: no layer list (metadata tinymlp.layers)")
    out = []
    for i, kind in enumerate(names):
        kind = kind.strip()
        if kind == "linear":
            out.append(("linear", tensors["%d.weight" % i], tensors["%d.bias" % i]))
        elif kind in ("relu", "softmax"):
            out.append((kind, None, None))
        else:
            raise SystemExit("peers.py: unknown layer %r" % kind)
    return out


def numpy_forward(layers):
    # W^T stored contiguous once, so the timed loop is one sgemm/sgemv per layer
    prepared = [(k, None if w is None else np.ascontiguousarray(w.T), b) for k, w, b in layers]

    def fwd(x):
        for kind, wt, b in prepared:
            if kind == "linear":
                x = x @ wt
                x += b
            elif kind == "relu":
                np.maximum(x, 0, out=x)
            else:
                x = x - x.max(axis=1, keepdims=True)
                np.exp(x, out=x)
                x /= x.sum(axis=1, keepdims=True)
        return x
    return fwd


def torch_sequential(layers):
    import torch
    mods = []
    for kind, w, b in layers:
        if kind == "linear":
            lin = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
            mods.append(lin)
        elif kind == "relu":
            mods.append(torch.nn.ReLU())
        else:
            mods.append(torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*mods).eval()


def torch_forward(layers):
    import torch
    torch.set_num_threads(1)
    net = torch_sequential(layers)

    def fwd(x):
        with torch.inference_mode():
            return net(x)
    return fwd, torch


def loadgen_pct(sorted_ns, p):
    return sorted_ns[min(int(len(sorted_ns) * p), len(sorted_ns) - 1)]


def single_stream(fwd, rows, seconds):
    for i in range(200):
        fwd(rows[i % len(rows)])
    lat = []
    clock = time.perf_counter_ns
    end = clock() + int(seconds * 1e9)
    i = 0
    while True:
        t0 = clock()
        fwd(rows[i % len(rows)])
        t1 = clock()
        lat.append(t1 - t0)
        i += 1
        if t1 >= end and i >= 1024:
            break
    lat.sort()
    return {"queries": len(lat), "p50_ns": loadgen_pct(lat, 0.5), "p99_ns": loadgen_pct(lat, 0.99)}


def offline(fwd, batches, batch, seconds):
    for i in range(5):
        fwd(batches[i % len(batches)])
    clock = time.perf_counter_ns
    t0 = clock()
    end = t0 + int(seconds * 1e9)
    n = 0
    while True:
        fwd(batches[n % len(batches)])
        n += 1
        t1 = clock()
        if t1 >= end and n >= 8:
            break
    return {"batches": n, "batch": batch, "samples_per_s": n * batch / ((t1 - t0) / 1e9)}


def cmd_measure(args):
    tensors, meta = load_safetensors(args.model)
    layers = build_layers(tensors, meta, args.layers)
    width = next(w.shape[1] for k, w, _ in layers if k == "linear")
    rng = np.random.default_rng(7)
    x1 = [rng.random((1, width), dtype=np.float32) for _ in range(64)]
    xb = [rng.random((args.batch, width), dtype=np.float32) for _ in range(4)]
    xs = [rng.random((args.small_batch, width), dtype=np.float32) for _ in range(16)]

    results = []
    fwd = numpy_forward(layers)
    import numpy
    results.append(("numpy", "NumPy %s" % numpy.__version__, fwd, x1, xs, xb))
    tfwd, torch = torch_forward(layers)
    results.append(("torch", "PyTorch %s (%d thread)" % (torch.__version__, torch.get_num_threads()),
                    tfwd, [torch.from_numpy(a) for a in x1], [torch.from_numpy(a) for a in xs],
                    [torch.from_numpy(a) for a in xb]))
    for key, name, f, ones, smalls, bs in results:
        ss = single_stream(f, ones, args.seconds)
        small = offline(f, smalls, args.small_batch, args.seconds)
        off = offline(f, bs, args.batch, args.seconds)
        print(json.dumps({"framework": key, "name": name, "single_stream": ss, "offline": off,
                          "offline_small": small}))
        sys.stdout.flush()


def cmd_export_onnx(args):
    import torch
    tensors, meta = load_safetensors(args.model)
    layers = build_layers(tensors, meta, args.layers)
    width = next(w.shape[1] for k, w, _ in layers if k == "linear")
    net = torch_sequential(layers)

    class Identity(torch.nn.Module):
        def forward(self, x):
            return x.clone()  # exported as one ONNX Identity node
    for module, out in ((net, args.out), (Identity().eval(), args.identity)):
        with torch.no_grad():
            torch.onnx.export(module, torch.zeros(1, width), out, input_names=["x"],
                              output_names=["y"], opset_version=13,
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    print(json.dumps({"model": args.out, "identity": args.identity, "width": width,
                      "torch": torch.__version__}))


def cmd_dump_raw(args):
    tensors, meta = load_safetensors(args.model)
    layers = build_layers(tensors, meta, args.layers)
    dense = []
    for i, (kind, w, b) in enumerate(layers):
        if kind == "linear":
            dense.append([w, b, 0])
        elif dense and dense[-1][2] == 0 and (i == 0 or layers[i - 1][0] == "linear"):
            dense[-1][2] = 1 if kind == "relu" else 2
        else:
            raise SystemExit("peers.py dump-raw: %s not right after a linear layer" % kind)
    with open(args.out, "wb") as f:
        f.write(b"TMHB" + struct.pack("<i", len(dense)))
        for w, b, act in dense:
            f.write(struct.pack("<3i", w.shape[1], w.shape[0], act))
            f.write(w.astype("<f4").tobytes() + b.astype("<f4").tobytes())


def cmd_make_model(args):
    widths = [int(w) for w in args.widths.split("x")]
    rng = np.random.default_rng(args.seed)
    tensors, layers = [], []
    idx = 0
    for i in range(len(widths) - 1):
        fan_in, fan_out = widths[i], widths[i + 1]
        bound = 1.0 / np.sqrt(fan_in)
        tensors.append(("%d.weight" % idx, rng.uniform(-bound, bound, (fan_out, fan_in)).astype("<f4")))
        tensors.append(("%d.bias" % idx, rng.uniform(-bound, bound, (fan_out,)).astype("<f4")))
        layers.append("linear")
        idx += 1
        if i < len(widths) - 2:
            layers.append("relu")
            idx += 1
    layers.append("softmax")
    header = {"__metadata__": {"tinymlp.layers": ",".join(layers), "format": "pt"}}
    off = 0
    for name, a in tensors:
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(args.out, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for _, a in tensors:
            f.write(a.tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("model")
    m.add_argument("--layers")
    m.add_argument("--seconds", type=float, default=2.0)
    m.add_argument("--batch", type=int, default=256)
    m.add_argument("--small-batch", type=int, default=8)
    m.set_defaults(fn=cmd_measure)
    o = sub.add_parser("export-onnx")
    o.add_argument("model")
    o.add_argument("out")
    o.add_argument("identity")
    o.add_argument("--layers")
    o.set_defaults(fn=cmd_export_onnx)
    d = sub.add_parser("dump-raw")
    d.add_argument("model")
    d.add_argument("out")
    d.add_argument("--layers")
    d.set_defaults(fn=cmd_dump_raw)
    g = sub.add_parser("make-model")
    g.add_argument("widths")
    g.add_argument("out")
    g.add_argument("--seed", type=int, default=42)
    g.set_defaults(fn=cmd_make_model)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
