#!/usr/bin/python3
"""make_layer_fixtures.py — one small PyTorch model per layer kind, as .safetensors and as ONNX.

    /usr/bin/python3 tools/make_layer_fixtures.py [OUT_DIR]     # default: tests/fixtures/layers

For each seeded nn.Sequential M below (widths 4-9; every layer kind of the tinymlp layer list,
then four realistic mixtures) it writes:

  M.safetensors           the state dict + __metadata__ tinymlp.layers, by
                          export_safetensors.save_sequential (the layer list derived from the
                          module types; leaky_relu_default and layernorm_noaffine are written
                          with the default parameter left out: "leaky_relu", "layernorm").
  M_opset11.onnx, M_opset13.onnx, M_opset17.onnx
                          torch.onnx.export(model.eval(), x, opset_version=OP, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
                          (export_onnx.torch_export; x is a (2, in) batch of zeros: the graph
                          does not depend on its values). LayerNorm without affine at opset 17:
                          torch 1.13 writes LayerNormalization with an empty Scale, which
                          onnx.checker refuses; that file is kept as M_opset17_torch_invalid.onnx
                          and M_opset17.onnx is the graph repaired (export_onnx.repair_layernorm:
                          a Scale initializer of ones).
                          mix_ln_gelu also has M_opset17_fixed3.onnx: no dynamic_axes, so the
                          batch dimension is the fixed 3 of the export input.
  M_io.safetensors        x      F32 [3, in]   row 0 ~ N(0,1); row 1 ~ 50 N(0,1) (large
                                               magnitude); row 2 a fixed mix of signs and
                                               magnitudes from 0.01 to 120
                          y      F32 [3, out]  PyTorch's float32 output, model(x)
                          y_ref  F64 [3, out]  the float64 reference: model.double()(x.double())
                                               (the float32 weights and x are exact in float64)
                          __metadata__: source, model, layers, and
                          torch_f32_max_abs_err = max |y - y_ref| (a scale for tolerances).
                          The C reader parses F64 but tmlp_st_to_f32 does not convert it:
                          read y_ref with memcpy of 8 bytes per element (little-endian, as
                          tests/test_reference.c reads the I64 argmax).
  MANIFEST.tsv            file, format, opset, layer list, ONNX op list (as exported, in node
                          order), notes.

Every ONNX file passes onnx.checker (full_check) and is evaluated by tools/onnx_ref.py in
float64; the script fails if that differs from y_ref by more than 1e-6 relative to the
largest |y_ref| (the graph's float32 constants and epsilons are the only difference; the
figure is in MANIFEST.tsv's notes). The script also checks that the .safetensors file reads
back (read_safetensors + sequential_from_layers) into a model that gives y_ref again.
Seeded and single-threaded: a second run writes byte-identical files.
"""
import copy
import os
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_safetensors import (read_safetensors, save_sequential,  # noqa: E402
                                sequential_from_layers, write_safetensors)
from export_onnx import repair_layernorm, torch_export  # noqa: E402
from onnx_ref import run  # noqa: E402

SEED = 20261128
OPSETS = (11, 13, 17)
nn = torch.nn


def kind(name, inner, w_in=6, w_mid=8, w_out=5):
    """Linear(in, mid) -> inner -> Linear(mid, out): the layer under test between two denses."""
    return name, [nn.Linear(w_in, w_mid), inner(w_mid), nn.Linear(w_mid, w_out)]


# name -> modules; each model is built right after torch.manual_seed(SEED + its index).
MODELS = [
    ("linear", [nn.Linear(6, 5)]),
    ("linear_nobias", [nn.Linear(6, 7, bias=False), nn.ReLU(), nn.Linear(7, 5, bias=False)]),
    kind("relu", lambda c: nn.ReLU()),
    kind("leaky_relu", lambda c: nn.LeakyReLU(0.2), 5, 7, 4),
    kind("leaky_relu_default", lambda c: nn.LeakyReLU(), 5, 7, 4),
    kind("gelu", lambda c: nn.GELU(), 7, 9, 5),
    kind("gelu_tanh", lambda c: nn.GELU(approximate="tanh"), 7, 9, 5),
    kind("tanh", lambda c: nn.Tanh(), 5, 6, 4),
    kind("sigmoid", lambda c: nn.Sigmoid(), 5, 6, 4),
    kind("silu", lambda c: nn.SiLU(), 6, 9, 5),
    kind("layernorm", lambda c: nn.LayerNorm(c), 6, 8, 5),
    kind("layernorm_eps1e3", lambda c: nn.LayerNorm(c, eps=1e-3), 6, 8, 5),
    kind("layernorm_noaffine", lambda c: nn.LayerNorm(c, elementwise_affine=False), 6, 8, 5),
    kind("layernorm_noaffine_eps1e3", lambda c: nn.LayerNorm(c, eps=1e-3, elementwise_affine=False),
         6, 8, 5),
    kind("batchnorm", lambda c: nn.BatchNorm1d(c), 7, 8, 5),
    kind("batchnorm_noaffine_eps1e3", lambda c: nn.BatchNorm1d(c, eps=1e-3, affine=False), 7, 8, 5),
    kind("dropout", lambda c: nn.Dropout(0.3)),
    kind("identity", lambda c: nn.Identity()),
    kind("flatten", lambda c: nn.Flatten()),
    ("softmax", [nn.Linear(6, 7), nn.Softmax(dim=1)]),
    ("log_softmax", [nn.Linear(6, 7), nn.LogSoftmax(dim=-1)]),
    ("mix_ln_gelu", [nn.Linear(8, 9), nn.LayerNorm(9), nn.GELU(), nn.Linear(9, 5), nn.Softmax(dim=1)]),
    ("mix_bn_silu", [nn.Linear(7, 8), nn.BatchNorm1d(8), nn.SiLU(), nn.Dropout(0.3), nn.Linear(8, 5),
                     nn.LogSoftmax(dim=1)]),
    ("mix_nobias_tanh", [nn.Linear(5, 8, bias=False), nn.Tanh(), nn.Linear(8, 4, bias=False),
                         nn.Sigmoid()]),
    ("mix_deep", [nn.Linear(9, 8), nn.LeakyReLU(0.1), nn.Identity(), nn.Linear(8, 7),
                  nn.BatchNorm1d(7, affine=False), nn.GELU(approximate="tanh"), nn.Flatten(),
                  nn.Linear(7, 6, bias=False), nn.LayerNorm(6, eps=1e-3, elementwise_affine=False),
                  nn.ReLU(), nn.Dropout(0.1), nn.Linear(6, 5), nn.Softmax(dim=-1)]),
]
OMIT_DEFAULTS = {"leaky_relu_default", "layernorm_noaffine"}
FIXED_BATCH = "mix_ln_gelu"


def build(index, modules):
    """The model with fresh seeded parameters; norm layers get non-trivial statistics/affines."""
    torch.manual_seed(SEED + index)
    model = nn.Sequential(*[copy.deepcopy(m) for m in modules])
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                m.reset_parameters()
            if isinstance(m, (nn.LayerNorm, nn.BatchNorm1d)) and m.weight is not None:
                m.weight.uniform_(0.5, 1.5).mul_(torch.sign(torch.randn(m.weight.shape)))
                m.bias.normal_(0.0, 0.5)
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.normal_(0.0, 2.0)
                m.running_var.uniform_(0.25, 4.0)
                m.num_batches_tracked.fill_(57)
    return model.eval()


def make_input(index, width):
    g = torch.Generator().manual_seed(SEED + 1000 + index)
    x = torch.empty(3, width)
    x[0] = torch.randn(width, generator=g)
    x[1] = 50.0 * torch.randn(width, generator=g)
    mags = [0.01, -1.5, 120.0, -40.0, 0.25, -0.003, 7.0, -95.0, 2.0]
    x[2] = torch.tensor([mags[(j + index) % len(mags)] for j in range(width)])
    return x


def rel_err(a, ref):
    return float(np.max(np.abs(a - ref)) / max(float(np.max(np.abs(ref))), 1e-300))


def make_one(out_dir, index, name, modules, manifest):
    model = build(index, modules)
    width = model[0].in_features
    x = make_input(index, width)
    with torch.no_grad():
        y = model(x)
        y_ref = copy.deepcopy(model).double()(x.double())
    y_ref_np = y_ref.numpy()
    err32 = float((y.double() - y_ref).abs().max())

    st_path = os.path.join(out_dir, name + ".safetensors")
    save_sequential(model, st_path, omit_defaults=name in OMIT_DEFAULTS)
    tensors, meta = read_safetensors(st_path)
    layers = meta["tinymlp.layers"]
    back = sequential_from_layers(layers, tensors).double()
    with torch.no_grad():
        if rel_err(back(x.double()).numpy(), y_ref_np) > 1e-12:
            raise SystemExit("%s: the .safetensors file does not read back to the same model" % name)
    notes = "module %s" % " ".join(type(m).__name__ for m in model)
    if name in OMIT_DEFAULTS:
        notes += "; defaults left out of the layer list"
    manifest.append((name + ".safetensors", "safetensors", "-", layers,
                     "-", notes + "; tensors " + " ".join(
                         "%s%s" % (k, list(v.shape)) for k, v in tensors.items())))

    io_path = os.path.join(out_dir, name + "_io.safetensors")
    write_safetensors(io_path, [("x", x), ("y", y), ("y_ref", y_ref)], {
        "source": "tools/make_layer_fixtures.py, torch %s, seed %d" % (torch.__version__, SEED + index),
        "model": name + ".safetensors", "layers": layers,
        "torch_f32_max_abs_err": "%.3g" % err32})
    manifest.append((name + "_io.safetensors", "io", "-", layers, "-",
                     "x F32 %s, y F32 %s (PyTorch float32), y_ref F64 %s; max|y - y_ref| = %.3g"
                     % (list(x.shape), list(y.shape), list(y_ref.shape), err32)))

    variants = [(op, True, "%s_opset%d.onnx" % (name, op)) for op in OPSETS]
    if name == FIXED_BATCH:
        variants.append((17, False, "%s_opset17_fixed3.onnx" % name))
    for opset, dynamic, fname in variants:
        blob, complaint = torch_export(model, width, opset, None if dynamic else 3)
        m = onnx.load_from_string(blob)
        extra = ""
        if complaint:
            bad = fname.replace(".onnx", "_torch_invalid.onnx")
            with open(os.path.join(out_dir, bad), "wb") as f:
                f.write(blob)
            manifest.append((bad, "onnx", str(opset), layers, " ".join(n.op_type for n in m.graph.node),
                             "INVALID, exactly as torch 1.13 writes it (onnx.checker: %s); expected: "
                             "refusal (a required input is empty); %s is the repaired graph"
                             % (complaint, fname)))
            extra = "; repaired from %s: %s got a Scale initializer of ones (B left out)" % (
                bad, ", ".join(repair_layernorm(model, m)))
            blob = m.SerializeToString()
        onnx.checker.check_model(m, full_check=True)
        got = run(m, {"x": x.numpy()})["y"]
        err = rel_err(got, y_ref_np)
        if err > 1e-6:
            raise SystemExit("%s: ONNX (numpy float64) differs from y_ref by %.3g (relative)" % (fname, err))
        batch = m.graph.input[0].type.tensor_type.shape.dim[0]
        with open(os.path.join(out_dir, fname), "wb") as f:
            f.write(blob)
        manifest.append((fname, "onnx", str(opset), layers, " ".join(n.op_type for n in m.graph.node),
                         "batch dim %s; initializers %s; max|onnx_f64 - y_ref| / max|y_ref| = %.2g%s"
                         % (batch.dim_param or batch.dim_value,
                            " ".join(i.name for i in m.graph.initializer) or "none", err, extra)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "layers")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    manifest = []
    for index, (name, modules) in enumerate(MODELS):
        make_one(out_dir, index, name, modules, manifest)
    with open(os.path.join(out_dir, "MANIFEST.tsv"), "w") as f:
        f.write("file\tformat\topset\tlayers\tonnx_ops\tnotes\n")
        for row in manifest:
            f.write("\t".join(row) + "\n")
    total = sum(os.path.getsize(os.path.join(out_dir, r[0])) for r in manifest)
    print("make_layer_fixtures: %d models, %d files, %d bytes in %s"
          % (len(MODELS), len(manifest), total, out_dir))


if __name__ == "__main__":
    main()
