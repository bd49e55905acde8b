#!/usr/bin/python3
"""test_peers.py — bench/peers/peers.py's NumPy forward against the float64 references.

    test_peers.py ROOT

For each layer-kind mixture in tests/fixtures/layers (mix_ln_gelu: Linear LayerNorm GELU
Linear Softmax; mix_bn_silu, mix_deep, mix_nobias_tanh: BatchNorm, SiLU, Dropout,
LogSoftmax, LeakyReLU, tanh-GELU, Identity, bias-free Linear, Tanh, Sigmoid), peers.py
loads NAME.safetensors and runs NAME_io.safetensors's x through numpy_forward; every output
must be within 1e-5 of max|y_ref| of y_ref (the PyTorch float64 reference), so the NumPy
column of run_peers.sh computes the same function as bench_mlp. Also: dump-raw's layer check
refuses a model hand_blas.c cannot run. Exit 77 (skipped) without NumPy. A few ms.
"""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("test_peers: numpy not installed: skipped")
    sys.exit(77)

ROOT = sys.argv[1]
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
import peers  # noqa: E402

FIX = os.path.join(ROOT, "tests", "fixtures", "layers")
failed = 0
for name in ("mix_ln_gelu", "mix_bn_silu", "mix_deep", "mix_nobias_tanh"):
    tensors, meta = peers.load_safetensors(os.path.join(FIX, name + ".safetensors"))
    io, _ = peers.load_safetensors(os.path.join(FIX, name + "_io.safetensors"))
    layers = peers.build_layers(tensors, meta)
    y = peers.numpy_forward(layers)(io["x"].copy())
    ref = io["y_ref"].astype(np.float64)
    err = float(np.abs(y - ref).max() / np.abs(ref).max())
    ok = y.shape == ref.shape and err <= 1e-5
    print("%-16s %-60s max|y - y_ref| / max|y_ref| = %.2e %s"
          % (name, meta["tinymlp.layers"][:60], err, "ok" if ok else "FAIL"))
    failed += not ok

# dump-raw: hand_blas.c runs linear/relu/softmax only; a LayerNorm+GELU model is refused.
out = os.path.join(os.environ.get("TMPDIR", "/tmp"), "test_peers_%d.raw" % os.getpid())
r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "peers", "peers.py"), "dump-raw",
                    os.path.join(FIX, "mix_ln_gelu.safetensors"), out],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
if os.path.exists(out):
    os.remove(out)
if r.returncode == 0 or "not layernorm" not in r.stderr:
    print("dump-raw of mix_ln_gelu: want a refusal naming layernorm, got %d %r" % (r.returncode, r.stderr))
    failed += 1
sys.exit(1 if failed else 0)
