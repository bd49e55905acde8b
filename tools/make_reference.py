#!/usr/bin/python3
"""make_reference.py — reference values that no one here computed by hand: PyTorch's.

Writes seeded PyTorch models, inputs and PyTorch's float32 outputs to tests/fixtures/ as
.safetensors files, which tests/test_reference.c compares the C engine against
(max relative error <= 1e-5, identical argmax) at batch 1, 7 and 64. The fixtures are
committed; the test suite never needs Python. Run with Debian's python3-torch:

    /usr/bin/python3 tools/make_reference.py [output_dir]      # default: tests/fixtures

Files (weights use nn.Sequential's own state_dict names, "<i>.weight" [out, in] and
"<i>.bias" [out], where i counts every module, activations included):

  ref_mlp.safetensors       784-64-32-10 MLP, F32, Linear/ReLU/.../Softmax.
                            __metadata__: tinymlp.layers, format, and Fashion-MNIST
                            preprocessing (tinymlp.input_scale/mean/std).
  ref_mlp_io.safetensors    x_u8 U8 [64,784] raw pixels; x F32 [64,784] =
                            (x_u8 * scale - mean) / std (computed in float64, cast to float32);
                            for B in 1, 7, 64: y_b<B> F32 [B,10] = model(x[:B]) (softmax
                            probabilities), logits_b<B> F32 [B,10] = the model without its final
                            Softmax, argmax_b<B> I64 [B].
  ref_half.safetensors      24-16-12-5 MLP "linear,relu,linear,relu,linear" (no softmax) with
                            module 0 in F16, module 2 in BF16, module 4 weight F16 + bias BF16,
                            to test widening on load. NO __metadata__ layer list: it is what
                            `safetensors.torch.save_file(model.state_dict(), path)` writes, so
                            the test passes the layer string.
  ref_half_io.safetensors   x F32 [64,24] standard normal; y_b<B> F32 [B,5] logits computed in
                            float32 from the F16/BF16-rounded weights (exactly the numbers the
                            C loader sees after widening); argmax_b<B> I64 [B].

PyTorch computes in float32 (its default), one forward call per batch size, one thread.

The safetensors package is not in Debian: files are written by export_safetensors.py
(beside this script), [u64 little-endian N][N bytes of JSON header, padded with spaces to a
multiple of 8][tensor bytes back to back, in header order].
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_safetensors import write_safetensors  # noqa: E402

SEED = 20261128
BATCHES = (1, 7, 64)
# Fashion-MNIST pixel statistics (of raw / 255), the usual Normalize((0.2860,), (0.3530,)).
SCALE, MEAN, STD = 1.0 / 255.0, 0.2860, 0.3530

def argmax_rows(y):
    # torch.argmax returns the first maximal index, like tmlp_argmax.
    return torch.argmax(y, dim=1).to(torch.int64)


def make_mlp(out_dir):
    torch.manual_seed(SEED)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 32), torch.nn.ReLU(),
        torch.nn.Linear(32, 10), torch.nn.Softmax(dim=1),
    ).eval()
    logits_model = model[:5]  # the same modules without the final Softmax

    gen = torch.Generator().manual_seed(SEED + 1)
    x_u8 = torch.randint(0, 256, (64, 784), generator=gen, dtype=torch.int64).to(torch.uint8)
    x64 = (x_u8.to(torch.float64) * SCALE - MEAN) / STD
    x = x64.to(torch.float32)

    layers = "linear,relu,linear,relu,linear,softmax"
    meta = {
        "tinymlp.layers": layers,
        "format": "pt",
        "tinymlp.input_scale": repr(SCALE),
        "tinymlp.input_mean": repr(MEAN),
        "tinymlp.input_std": repr(STD),
    }
    write_safetensors(os.path.join(out_dir, "ref_mlp.safetensors"),
                      list(model.state_dict().items()), meta)

    io = [("x_u8", x_u8), ("x", x)]
    with torch.no_grad():
        for b in BATCHES:
            y = model(x[:b])
            logits = logits_model(x[:b])
            io += [(f"y_b{b}", y), (f"logits_b{b}", logits), (f"argmax_b{b}", argmax_rows(y))]
    write_safetensors(os.path.join(out_dir, "ref_mlp_io.safetensors"), io,
                      {"source": f"tools/make_reference.py, torch {torch.__version__}, seed {SEED}"})


def make_half(out_dir):
    torch.manual_seed(SEED + 2)
    model = torch.nn.Sequential(
        torch.nn.Linear(24, 16), torch.nn.ReLU(),
        torch.nn.Linear(16, 12), torch.nn.ReLU(),
        torch.nn.Linear(12, 5),
    ).eval()
    storage = {"0.weight": torch.float16, "0.bias": torch.float16,
               "2.weight": torch.bfloat16, "2.bias": torch.bfloat16,
               "4.weight": torch.float16, "4.bias": torch.bfloat16}
    saved = []
    with torch.no_grad():
        for name, p in model.state_dict().items():
            low = p.to(storage[name])
            saved.append((name, low))
            # Compute with exactly the values the file holds: widening F16/BF16 to F32 is
            # exact, so the C engine sees these same float32 weights.
            p.copy_(low.to(torch.float32))
    write_safetensors(os.path.join(out_dir, "ref_half.safetensors"), saved)

    gen = torch.Generator().manual_seed(SEED + 3)
    x = torch.randn((64, 24), generator=gen, dtype=torch.float32)
    io = [("x", x)]
    with torch.no_grad():
        for b in BATCHES:
            y = model(x[:b])
            io += [(f"y_b{b}", y), (f"argmax_b{b}", argmax_rows(y))]
    write_safetensors(os.path.join(out_dir, "ref_half_io.safetensors"), io,
                      {"source": f"tools/make_reference.py, torch {torch.__version__}, seed {SEED}"})


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    make_mlp(out_dir)
    make_half(out_dir)
    for name in sorted(os.listdir(out_dir)):
        if name.startswith("ref_"):
            print(f"{name}: {os.path.getsize(os.path.join(out_dir, name))} bytes")


if __name__ == "__main__":
    main()
