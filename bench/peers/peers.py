#!/usr/bin/python3
"""peers.py — the same MLP, run by NumPy and PyTorch, measured the way bench_mlp measures.

    /usr/bin/python3 bench/peers/peers.py measure MODEL.safetensors [--seconds S] [--batch B]
    /usr/bin/python3 bench/peers/peers.py make-model 784x512x512x10 OUT.safetensors [--seed N]
    /usr/bin/python3 bench/peers/peers.py export-onnx MODEL.safetensors OUT.onnx IDENTITY.onnx
    /usr/bin/python3 bench/peers/peers.py dump-raw MODEL.safetensors OUT.raw
    /usr/bin/python3 bench/peers/peers.py identity-onnx MODEL.onnx OUT.onnx
    /usr/bin/python3 bench/peers/peers.py onnx-preprocess MODEL.onnx

`measure` loads the .safetensors file BY HAND (no safetensors package: an 8-byte
little-endian header length, a JSON header, raw little-endian tensors), builds the layer
list from __metadata__["tinymlp.layers"] (the grammar of docs/formats.md, parsed by
tools/export_safetensors.py's parse_layers: linear, relu, leaky_relu(S), gelu, gelu_tanh,
tanh, sigmoid, silu, softmax, log_softmax, layernorm(EPS), batchnorm(EPS), dropout, identity;
PyTorch nn.Sequential naming: module i owns "<i>.weight" [out,in], "<i>.bias" [out] (absent:
bias-free), "<i>.running_mean", "<i>.running_var") and prints one JSON line per framework
(NumPy: numpy_forward below, erf by Abramowitz-Stegun 7.1.26 as NumPy has none; PyTorch:
the nn.Sequential of tools/export_safetensors.py's sequential_from_layers):

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
int32 in, out, act (0 none, 1 ReLU, 2 softmax), float32 W (out, in), float32 b); a model
with any other layer kind is refused (exit status 1): hand_blas.c has no such layer.

`measure --preprocess` runs the model's input preprocessing first (x = (raw * scale - mean)
/ std from the metadata tinymlp.input_*): for the .safetensors twin of an .onnx file whose
graph has it; `onnx-preprocess MODEL.onnx` exits 0 when the file says so (metadata
tinymlp.preprocessing "in the graph: ...", as tools/export_onnx.py writes it), else 1.

`identity-onnx` writes y = x (one Identity node) at MODEL.onnx's input width (python3-onnx),
for ort_peer.js's binding-overhead measurement next to a given .onnx model.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from export_safetensors import parse_layers, sequential_from_layers  # noqa: E402

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
        if dt == "I64" and name.endswith(".num_batches_tracked"):
            continue  # BatchNorm's training counter, not used at inference
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
    """[(kind, param, tensors of module i)] from the "tinymlp.layers" grammar (parse_layers of
    tools/export_safetensors.py): linear (bias-free without i.bias), relu, leaky_relu(S), gelu,
    gelu_tanh, tanh, sigmoid, silu, softmax, log_softmax, layernorm(EPS), batchnorm(EPS),
    dropout, identity. Module i owns "<i>.weight", "<i>.bias", "<i>.running_mean", "<i>.running_var"."""
    text = layers or meta.get("tinymlp.layers", "")
    if not text.strip():
        raise SystemExit("peers.py: no layer list (metadata tinymlp.layers)")
    try:
        parsed = parse_layers(text)
    except ValueError as e:
        raise SystemExit("peers.py: %s" % e)
    out = []
    for i, (kind, param) in enumerate(parsed):
        own = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.split(".", 1)[0] == str(i)}
        if kind == "linear" and "weight" not in own:
            raise SystemExit("peers.py: layer %d (linear): tensor %d.weight not found" % (i, i))
        if kind == "batchnorm" and not ("running_mean" in own and "running_var" in own):
            raise SystemExit("peers.py: layer %d (batchnorm): running_mean/running_var not found" % i)
        out.append((kind, param, own))
    return out


def layer_text(meta, layers=None):
    return layers or meta.get("tinymlp.layers", "")


def input_width(layers):
    for kind, _, own in layers:
        if kind == "linear":
            return own["weight"].shape[1]
        if kind in ("layernorm", "batchnorm") and own:
            return next(iter(own.values())).shape[0]
    raise SystemExit("peers.py: cannot tell the input width (no linear or normalisation layer)")


def np_erf(x):
    """erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7; Debian's NumPy has no erf and
    SciPy is not installed): float32 in, float32 out, a handful of vector passes."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    y = ((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t + np.float32(1.421413741)) * t
          - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t
    return s * (1.0 - y * np.exp(-a * a))


def numpy_forward(layers):
    """The forward as a closure; every array float32. Shapes: x [N, C] -> [N, C']."""
    prep = []
    for kind, p, own in layers:
        if kind == "linear":
            # W^T stored contiguous once, so the timed loop is one sgemm/sgemv per layer
            prep.append((kind, np.ascontiguousarray(own["weight"].T), own.get("bias")))
        elif kind == "batchnorm":
            # eval: y = (x - mean) / sqrt(var + eps) * g + b = x * scale + shift
            scale = 1.0 / np.sqrt(own["running_var"].astype(np.float64) + p)
            if "weight" in own:
                scale = scale * own["weight"]
            shift = -own["running_mean"] * scale + (own["bias"] if "bias" in own else 0.0)
            prep.append((kind, scale.astype(np.float32), shift.astype(np.float32)))
        elif kind == "layernorm":
            prep.append((kind, own.get("weight"), own.get("bias"), np.float32(p)))
        elif kind == "leaky_relu":
            prep.append((kind, np.float32(p)))
        elif kind in ("dropout", "identity"):
            continue
        else:
            prep.append((kind,))
    c = np.float32(np.sqrt(2.0 / np.pi))
    r2 = np.float32(1.0 / np.sqrt(2.0))

    def fwd(x):
        for layer in prep:
            kind = layer[0]
            if kind == "linear":
                x = x @ layer[1]
                if layer[2] is not None:
                    x += layer[2]
            elif kind == "relu":
                np.maximum(x, 0, out=x)
            elif kind == "leaky_relu":
                x = np.where(x > 0, x, x * layer[1])
            elif kind == "gelu":
                x = 0.5 * x * (1.0 + np_erf(x * r2))
            elif kind == "gelu_tanh":
                x = 0.5 * x * (1.0 + np.tanh(c * (x + np.float32(0.044715) * x * x * x)))
            elif kind == "tanh":
                x = np.tanh(x)
            elif kind == "sigmoid":
                x = 1.0 / (1.0 + np.exp(-x))
            elif kind == "silu":
                x = x / (1.0 + np.exp(-x))
            elif kind == "softmax":
                x = x - x.max(axis=1, keepdims=True)
                np.exp(x, out=x)
                x /= x.sum(axis=1, keepdims=True)
            elif kind == "log_softmax":
                x = x - x.max(axis=1, keepdims=True)
                x -= np.log(np.exp(x).sum(axis=1, keepdims=True))
            elif kind == "layernorm":
                x = x - x.mean(axis=1, keepdims=True)
                x = x / np.sqrt((x * x).mean(axis=1, keepdims=True) + layer[3])
                if layer[1] is not None:
                    x *= layer[1]
                if layer[2] is not None:
                    x += layer[2]
            elif kind == "batchnorm":
                x = x * layer[1] + layer[2]
        return x
    return fwd


def torch_sequential(layers_text, tensors):
    """The same nn.Sequential, by tools/export_safetensors.py's sequential_from_layers."""
    try:
        return sequential_from_layers(layers_text, tensors)
    except ValueError as e:
        raise SystemExit("peers.py: %s" % e)


def torch_forward(layers_text, tensors):
    import torch
    torch.set_num_threads(1)
    net = torch_sequential(layers_text, tensors)

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


def input_preprocess(meta):
    """(scale, mean, std) of the .safetensors metadata tinymlp.input_*: x = (raw * scale - mean) / std."""
    try:
        return tuple(float(meta.get("tinymlp.input_" + k, d)) for k, d in
                     (("scale", 1.0), ("mean", 0.0), ("std", 1.0)))
    except ValueError as e:
        raise SystemExit("peers.py: tinymlp.input_*: %s" % e)


def with_preprocess(fwd, meta, lib):
    """fwd preceded by the model's input preprocessing, as three elementwise passes (Mul Sub
    Div, the nodes tools/export_onnx.py writes into a graph)."""
    scale, mean, std = input_preprocess(meta)
    if lib == "numpy":
        scale, mean, std = np.float32(scale), np.float32(mean), np.float32(std)
    return lambda x: fwd((x * scale - mean) / std)


def cmd_measure(args):
    tensors, meta = load_safetensors(args.model)
    layers = build_layers(tensors, meta, args.layers)
    width = input_width(layers)
    rng = np.random.default_rng(7)
    x1 = [rng.random((1, width), dtype=np.float32) for _ in range(64)]
    xb = [rng.random((args.batch, width), dtype=np.float32) for _ in range(4)]
    xs = [rng.random((args.small_batch, width), dtype=np.float32) for _ in range(16)]

    results = []
    fwd = numpy_forward(layers)
    if args.preprocess:
        fwd = with_preprocess(fwd, meta, "numpy")
    import numpy
    results.append(("numpy", "NumPy %s" % numpy.__version__, fwd, x1, xs, xb))
    tfwd, torch = torch_forward(layer_text(meta, args.layers), tensors)
    if args.preprocess:
        tfwd = with_preprocess(tfwd, meta, "torch")
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
    width = input_width(layers)
    net = torch_sequential(layer_text(meta, args.layers), tensors)

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
    for i, (kind, _, own) in enumerate(layers):
        if kind == "linear":
            w = own["weight"]
            dense.append([w, own.get("bias", np.zeros(w.shape[0], np.float32)), 0])
        elif kind in ("relu", "softmax") and dense and dense[-1][2] == 0 and layers[i - 1][0] == "linear":
            dense[-1][2] = 1 if kind == "relu" else 2
        elif kind in ("relu", "softmax"):
            raise SystemExit("peers.py dump-raw: %s not right after a linear layer" % kind)
        else:
            raise SystemExit("peers.py dump-raw: hand_blas.c runs linear, relu and softmax only, not %s" % kind)
    with open(args.out, "wb") as f:
        f.write(b"TMHB" + struct.pack("<i", len(dense)))
        for w, b, act in dense:
            f.write(struct.pack("<3i", w.shape[1], w.shape[0], act))
            f.write(w.astype("<f4").tobytes() + b.astype("<f4").tobytes())


def cmd_identity_onnx(args):
    import onnx
    from make_peer_models import write_identity
    g = onnx.load(args.model).graph
    inits = {t.name for t in g.initializer}
    real = [v for v in g.input if v.name not in inits]
    dims = real[0].type.tensor_type.shape.dim if len(real) == 1 else []
    if len(dims) != 2 or not dims[1].dim_value:
        raise SystemExit("peers.py identity-onnx: %s: want one input [N, C] with C fixed" % args.model)
    write_identity(args.out, dims[1].dim_value)


def cmd_onnx_preprocess(args):
    """Exit 0 if MODEL.onnx says (metadata tinymlp.preprocessing "in the graph...", as
    tools/export_onnx.py writes) that its graph starts with the input preprocessing, else 1."""
    import onnx
    meta = {p.key: p.value for p in onnx.load(args.model).metadata_props}
    sys.exit(0 if meta.get("tinymlp.preprocessing", "").startswith("in the graph") else 1)


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
    m.add_argument("--preprocess", action="store_true",
                   help="apply the tinymlp.input_* preprocessing first (for an .onnx twin that has it in its graph)")
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
    i = sub.add_parser("identity-onnx")
    i.add_argument("model")
    i.add_argument("out")
    i.set_defaults(fn=cmd_identity_onnx)
    pp = sub.add_parser("onnx-preprocess")
    pp.add_argument("model")
    pp.set_defaults(fn=cmd_onnx_preprocess)
    g = sub.add_parser("make-model")
    g.add_argument("widths")
    g.add_argument("out")
    g.add_argument("--seed", type=int, default=42)
    g.set_defaults(fn=cmd_make_model)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
