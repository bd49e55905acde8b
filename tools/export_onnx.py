#!/usr/bin/python3
"""export_onnx.py — an nn.Sequential or a tinymlp .safetensors model as an ONNX file.

    /usr/bin/python3 tools/export_onnx.py MODEL OUT.onnx [--opset 17] [--layers L]
        [--preprocess auto|none] [--input-scale S --input-mean M --input-std D]
        [--fixed-batch B] [--check-fashion [DIR]]

MODEL is a .safetensors file (its tinymlp.layers metadata, or --layers) or a .pt file
(torch.save of a whole nn.Sequential, or of its state_dict with --layers). The graph is what
torch.onnx.export writes for the nn.Sequential (input "x" FLOAT [N, in], output "y"
FLOAT [N, out]; N symbolic unless --fixed-batch), with the model's tensor names as
initializer names ("0.weight", ...), and, if there is preprocessing, three nodes in front:

    x_scaled = Mul(x, input_scale); x_centred = Sub(x_scaled, input_mean);
    x_normalized = Div(x_centred, input_std)          (0-d FLOAT initializers)

so the graph takes raw values (pixels 0..255 as floats) like tinymlp's uint8 input.
--preprocess auto (the default) takes scale/mean/std from the .safetensors metadata
(tinymlp.input_*) when present, or from --input-scale/--input-mean/--input-std; none leaves
them out. Metadata: the model's other tinymlp.* keys (classes, accuracy, ...) are copied into
metadata_props; tinymlp.layers and tinymlp.input_* are not (the graph says both), and
tinymlp.preprocessing says where the normalisation went.

torch 1.13 writes an invalid LayerNormalization (empty Scale) for LayerNorm without affine
at opset 17; the export gives such nodes a Scale initializer of ones (repair_layernorm).

Before writing, the graph passes onnx.checker (full_check) and tools/onnx_ref.py evaluates it
in float64 on seeded inputs against the nn.Sequential in float64 (the preprocessing
applied in float64 as well): the export fails if they differ by more than 1e-5 relative
to the largest output.

--check-fashion [DIR] (default /usr/share/datasets/fashion-mnist): evaluate the written graph
in NumPy on the 10,000 Fashion-MNIST test images (raw pixels), in float32 and in float64,
print the correct counts, and exit 1 unless both equal the model's tinymlp.test_correct
(when the model has it).

As a module: export_sequential_onnx(model, path, opset=17, preprocess=None, fixed_batch=None,
metadata=None) -> onnx.ModelProto, and repair_layernorm(model, onnx_model).
"""
import argparse
import gzip
import io
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_safetensors import read_safetensors, sequential_from_layers  # noqa: E402

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def input_width(model):
    for m in model:
        for attr in ("in_features", "num_features"):
            if hasattr(m, attr):
                return getattr(m, attr)
        if hasattr(m, "normalized_shape"):
            return m.normalized_shape[-1]
    raise ValueError("no module of the model says its input width (Linear, LayerNorm, BatchNorm1d)")


def repair_layernorm(model, m):
    """torch 1.13 exports LayerNorm(elementwise_affine=False) at opset 17 as LayerNormalization
    with an empty Scale, which ONNX requires: give each such node an initializer of ones (and
    drop the empty optional B). Returns the names of the nodes repaired."""
    import onnx
    fixed = []
    for node in m.graph.node:
        if node.op_type == "LayerNormalization" and len(node.input) > 1 and node.input[1] == "":
            i = int(node.name.split("/")[1])            # "/<module index>/LayerNormalization"
            c = model[i].normalized_shape[0]
            scale = "/%d/LayerNormalization_scale_ones" % i
            m.graph.initializer.append(onnx.helper.make_tensor(scale, onnx.TensorProto.FLOAT, [c], [1.0] * c))
            x = node.input[0]
            del node.input[:]
            node.input.extend([x, scale])
            fixed.append(node.name)
    return fixed


def torch_export(model, width, opset, fixed_batch=None):
    """(bytes torch wrote, the checker's complaint or None). torch 1.13 writes the file before
    it runs onnx.checker, so an invalid export still leaves its bytes."""
    import onnx
    import torch
    f = io.BytesIO()
    x = torch.zeros(fixed_batch or 2, width)
    complaint = None
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model.eval(), x, f, opset_version=opset, input_names=["x"],
                              output_names=["y"],
                              dynamic_axes=None if fixed_batch else {"x": {0: "N"}, "y": {0: "N"}})
        except (onnx.checker.ValidationError, torch.onnx.errors.CheckerError) as e:
            complaint = str(e).splitlines()[0]
    return f.getvalue(), complaint


def add_preprocessing(m, scale, mean, std):
    """Put Mul(input_scale) Sub(input_mean) Div(input_std) between the input "x" and its users."""
    import onnx
    from onnx import helper
    for node in m.graph.node:
        for k, name in enumerate(node.input):
            if name == "x":
                node.input[k] = "x_normalized"
    pre = [helper.make_node("Mul", ["x", "input_scale"], ["x_scaled"], name="/preprocess/Mul"),
           helper.make_node("Sub", ["x_scaled", "input_mean"], ["x_centred"], name="/preprocess/Sub"),
           helper.make_node("Div", ["x_centred", "input_std"], ["x_normalized"], name="/preprocess/Div")]
    nodes = pre + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    for name, v in (("input_scale", scale), ("input_mean", mean), ("input_std", std)):
        m.graph.initializer.append(helper.make_tensor(name, onnx.TensorProto.FLOAT, [], [float(v)]))


def export_sequential_onnx(model, path, opset=17, preprocess=None, fixed_batch=None, metadata=None):
    """Write model (an nn.Sequential) to path as ONNX; returns the onnx.ModelProto.

    preprocess: None, or a dict with scale, mean, std: the graph then takes raw values and
    normalises them first. metadata: str -> str written to metadata_props."""
    import onnx
    import torch
    from onnx import helper
    from onnx_ref import run
    model = model.eval()
    width = input_width(model)
    blob, complaint = torch_export(model, width, opset, fixed_batch)
    m = onnx.load_from_string(blob)
    if complaint:
        fixed = repair_layernorm(model, m)
        if not fixed:
            raise ValueError("torch.onnx.export wrote an invalid graph: %s" % complaint)
        print("export_onnx: torch %s wrote %s without Scale (invalid ONNX); gave it ones"
              % (torch.__version__, ", ".join(fixed)), file=sys.stderr)
    if preprocess:
        add_preprocessing(m, preprocess["scale"], preprocess["mean"], preprocess["std"])
        m.graph.doc_string = ("x: raw values (e.g. pixels 0..255 as floats); the graph normalises them: "
                              "(x * input_scale - input_mean) / input_std")
    if metadata:
        helper.set_model_props(m, {str(k): str(v) for k, v in metadata.items()})
    onnx.checker.check_model(m, full_check=True)

    # The graph against the nn.Sequential, both in float64.
    g = np.random.RandomState(7)
    raw = np.concatenate([g.rand(4, width) * 255.0, 30.0 * g.randn(2, width)]).astype(np.float32)
    if fixed_batch:
        raw = np.resize(raw, (fixed_batch, width))
    xin = raw.astype(np.float64)
    if preprocess:
        f32 = lambda v: float(np.float32(v))  # noqa: E731 -- the graph holds float32 constants
        xin = (xin * f32(preprocess["scale"]) - f32(preprocess["mean"])) / f32(preprocess["std"])
    import copy
    with torch.no_grad():
        want = copy.deepcopy(model).double()(torch.from_numpy(xin)).numpy()
    got = run(m, {"x": raw})["y"]
    err = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-300))
    if err > 1e-5:
        raise ValueError("the ONNX graph and the model differ by %.3g (relative); not written" % err)
    onnx.save(m, path)
    return m


def load_model(path, layers=None):
    """(nn.Sequential, metadata dict) of a .safetensors or a torch.save'd .pt file."""
    import torch
    if path.endswith(".safetensors"):
        tensors, meta = read_safetensors(path)
        layers = layers or meta.get("tinymlp.layers")
        if not layers:
            raise ValueError("%s has no tinymlp.layers metadata: pass --layers" % path)
        return sequential_from_layers(layers, tensors), meta
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # torch < 1.13 has no weights_only
        obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Sequential):
        return obj.eval(), {}
    if not layers:
        raise ValueError("%s is not a whole nn.Sequential: pass --layers for a state_dict" % path)
    return sequential_from_layers(layers, obj), {}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def check_fashion(m, data_dir):
    """Correct counts of the graph on the Fashion-MNIST test set: {float32: n, float64: n}."""
    from onnx_ref import run
    images = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    x = images.reshape(len(images), -1).astype(np.float32)
    out = {}
    for dt in (np.float32, np.float64):
        y = run(m, {"x": x}, dtype=dt)["y"]
        out[np.dtype(dt).name] = int(np.sum(np.argmax(y, axis=1) == labels))
    return out, len(labels)


def main(argv=None):
    p = argparse.ArgumentParser(description="Write an nn.Sequential or a tinymlp .safetensors model as ONNX.")
    p.add_argument("model", help="a .safetensors model, or a .pt file (nn.Sequential or state_dict + --layers)")
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (torch 1.13: 7..17; default 17)")
    p.add_argument("--layers", help="the layer list, when the file does not say it")
    p.add_argument("--preprocess", choices=("auto", "none"), default="auto",
                   help="auto: Mul/Sub/Div nodes from the model's tinymlp.input_* metadata or the "
                        "--input-* options, if any; none: no preprocessing nodes")
    p.add_argument("--input-scale", type=float)
    p.add_argument("--input-mean", type=float)
    p.add_argument("--input-std", type=float)
    p.add_argument("--fixed-batch", type=int, help="a fixed batch dimension instead of the symbolic N")
    p.add_argument("--check-fashion", nargs="?", const=FASHION_DIR, metavar="DIR",
                   help="count correct predictions on the Fashion-MNIST test set (default DIR %s)" % FASHION_DIR)
    a = p.parse_args(argv)
    try:
        model, meta = load_model(a.model, a.layers)
        pre = None
        if a.preprocess == "auto":
            keys = {"scale": (a.input_scale, 1.0), "mean": (a.input_mean, 0.0), "std": (a.input_std, 1.0)}
            given = any(v is not None for v, _ in keys.values())
            from_meta = any("tinymlp.input_" + k in meta for k in keys)
            if given or from_meta:
                pre = {k: v if v is not None else float(meta.get("tinymlp.input_" + k, dflt))
                       for k, (v, dflt) in keys.items()}
        props = {k: v for k, v in meta.items()
                 if k.startswith("tinymlp.") and k != "tinymlp.layers" and not k.startswith("tinymlp.input_")}
        if meta:
            props["tinymlp.source"] = os.path.basename(a.model)
        props["tinymlp.preprocessing"] = (
            "in the graph: x = (raw * %r - %r) / %r, raw values as floats" % (pre["scale"], pre["mean"], pre["std"])
            if pre else "none: x is the model's input as it is")
        m = export_sequential_onnx(model, a.output, a.opset, pre, a.fixed_batch, props)
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        print("export_onnx: %s" % e, file=sys.stderr)
        return 1
    print("export_onnx: wrote %s (opset %d, %d nodes: %s)" % (a.output, a.opset, len(m.graph.node),
                                                            " ".join(n.op_type for n in m.graph.node)))
    if a.check_fashion:
        counts, total = check_fashion(m, a.check_fashion)
        want = meta.get("tinymlp.test_correct")
        print("export_onnx: Fashion-MNIST test set, correct of %d: float32 %d, float64 %d%s"
              % (total, counts["float32"], counts["float64"],
                 "; the model's tinymlp.test_correct: %s" % want if want else ""))
        if want and any(c != int(want) for c in counts.values()):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
