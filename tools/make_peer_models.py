#!/usr/bin/python3
"""make_peer_models.py — seeded benchmark models, each as .safetensors and as ONNX (opset 17).

    /usr/bin/python3 tools/make_peer_models.py DIR [--seed 42] [--opset 17] [--only NAME ...]

Writes into DIR (not committed: they are large and seeded, so anyone can rebuild them):

  mlp_784x512x512x10.safetensors / .onnx
      Linear(784,512) ReLU Linear(512,512) ReLU Linear(512,10) Softmax:
      "linear,relu,linear,relu,linear,softmax". The .safetensors file is byte-identical to
      what `bench/peers/peers.py make-model 784x512x512x10 OUT --seed 42` writes (the model
      bench/peers/run_peers.sh makes today): NumPy default_rng(seed), for each Linear the
      weight [out,in] then the bias [out], uniform in +-1/sqrt(in) (nn.Linear's init).
  mlp_784x512x512x10_ln_gelu.safetensors / .onnx
      Linear(784,512) LayerNorm(512) GELU Linear(512,512) LayerNorm(512) GELU Linear(512,10)
      Softmax: "linear,layernorm(1e-05),gelu,linear,layernorm(1e-05),gelu,linear,softmax".
      The Linears drawn as above (default_rng(seed + 1)); each LayerNorm's weight uniform in
      [0.8, 1.2] and bias normal(0, 0.1), drawn after the Linear before it.
  identity_784.onnx
      y = x at width 784 (one Identity node), on which bench/peers/ort_peer.js measures what
      ONNX Runtime's binding costs per call.

The .onnx files come from tools/export_onnx.py (torch.onnx.export of the same nn.Sequential,
input "x" FLOAT [N, 784], output "y" FLOAT [N, 10], N symbolic, no preprocessing nodes: the
benchmarks feed float inputs, as bench_mlp --data synthetic does), checked by onnx.checker and
by a float64 NumPy evaluation against the model. bench_mlp and ONNX Runtime then run the same
weights: bench_mlp --model DIR/NAME.safetensors (or DIR/NAME.onnx where tinymlp reads ONNX),
ort_peer.js DIR/NAME.onnx DIR/identity_784.onnx. Prints one line per file written.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_onnx import export_sequential_onnx  # noqa: E402
from export_safetensors import read_safetensors, sequential_from_layers, write_safetensors  # noqa: E402


def linear(rng, fan_in, fan_out):
    bound = 1.0 / np.sqrt(fan_in)
    w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype("<f4")
    b = rng.uniform(-bound, bound, (fan_out,)).astype("<f4")
    return w, b


def relu_mlp(seed):
    """784-512-512-10 ReLU + softmax, exactly as peers.py make-model draws it."""
    rng = np.random.default_rng(seed)
    widths = [784, 512, 512, 10]
    tensors, layers = [], []
    for i in range(len(widths) - 1):
        w, b = linear(rng, widths[i], widths[i + 1])
        tensors += [("%d.weight" % len(layers), w), ("%d.bias" % len(layers), b)]
        layers.append("linear")
        if i < len(widths) - 2:
            layers.append("relu")
    layers.append("softmax")
    return tensors, ",".join(layers)


def ln_gelu_mlp(seed):
    """784-512-LayerNorm-GELU-512-LayerNorm-GELU-10-softmax."""
    rng = np.random.default_rng(seed + 1)
    tensors, layers = [], []
    for fan_in, fan_out, norm in ((784, 512, True), (512, 512, True), (512, 10, False)):
        w, b = linear(rng, fan_in, fan_out)
        tensors += [("%d.weight" % len(layers), w), ("%d.bias" % len(layers), b)]
        layers.append("linear")
        if norm:
            g = rng.uniform(0.8, 1.2, fan_out).astype("<f4")
            beta = rng.normal(0.0, 0.1, fan_out).astype("<f4")
            tensors += [("%d.weight" % len(layers), g), ("%d.bias" % len(layers), beta)]
            layers += ["layernorm(1e-05)", "gelu"]
    layers.append("softmax")
    return tensors, ",".join(layers)


MODELS = {"mlp_784x512x512x10": relu_mlp, "mlp_784x512x512x10_ln_gelu": ln_gelu_mlp}


def write_identity(path, width):
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="tools/make_peer_models.py")
    m.ir_version = 7
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


def main(argv=None):
    p = argparse.ArgumentParser(description="Write seeded benchmark models as .safetensors and .onnx.")
    p.add_argument("dir", help="output directory (created if missing)")
    p.add_argument("--seed", type=int, default=42, help="NumPy seed (default 42, as peers.py make-model)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--only", nargs="+", choices=sorted(MODELS), help="write these models only")
    a = p.parse_args(argv)
    os.makedirs(a.dir, exist_ok=True)
    for name in a.only or MODELS:
        tensors, layers = MODELS[name](a.seed)
        st = os.path.join(a.dir, name + ".safetensors")
        write_safetensors(st, tensors, {"tinymlp.layers": layers, "format": "pt"})
        print(st)
        back, meta = read_safetensors(st)
        model = sequential_from_layers(meta["tinymlp.layers"], back)
        path = os.path.join(a.dir, name + ".onnx")
        export_sequential_onnx(model, path, a.opset,
                               metadata={"tinymlp.source": name + ".safetensors",
                                         "tinymlp.generator": "tools/make_peer_models.py --seed %d" % a.seed})
        print(path)
    ident = os.path.join(a.dir, "identity_784.onnx")
    write_identity(ident, 784)
    print(ident)
    return 0


if __name__ == "__main__":
    sys.exit(main())
