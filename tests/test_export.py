#!/usr/bin/python3
"""test_export.py — tools/export_safetensors.py writes files the C library loads.

    test_export.py plain|torch TOOLS_DIR LOAD_PYTORCH_EXE

plain: the writer on plain Python values (no torch, no NumPy): a 3 -> 2 dense + softmax
       model written from lists; the C example loads it (both ways) and its outputs match
       the softmax computed here; dtypes, padding and offsets of the header are checked.
torch: needs python3-torch (exit 77 = skipped without it): a seeded nn.Sequential written
       by save_sequential and by the command line; the C outputs match PyTorch's.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

mode, tools_dir, exe = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, tools_dir)
import export_safetensors as ex  # noqa: E402


def c_outputs(path):
    """The outputs load_pytorch prints for an input of 0.5s (and that load == load_weights)."""
    r = subprocess.run([exe, path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("load_pytorch failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr))
    lines = r.stdout.splitlines()
    assert lines[-1].endswith("agree: yes"), r.stdout
    return [float(v) for v in lines[-2].split(":")[1].split()]


def close(a, b, tol=1e-3):
    assert len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b)), (a, b)


def plain(tmp):
    W = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]
    b = [0.1, -0.2]
    path = os.path.join(tmp, "plain.safetensors")
    ex.write_safetensors(path, [("0.weight", W), ("0.bias", b)],
                         {"tinymlp.layers": "linear,softmax", "format": "pt"})
    logits = [sum(w * 0.5 for w in row) + bb for row, bb in zip(W, b)]
    z = [math.exp(v - max(logits)) for v in logits]
    close(c_outputs(path), [v / sum(z) for v in z])

    # The header: 8-byte aligned data, offsets back to back, the dtypes asked for.
    path2 = os.path.join(tmp, "dtypes.safetensors")
    ex.write_safetensors(path2, {"a": ("U8", [3], bytes([1, 2, 3])), "b": [1.0, 2.0]},
                         {"k": 1})
    raw = open(path2, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0, n
    h = json.loads(raw[8:8 + n])
    assert h["__metadata__"] == {"k": "1"}, h
    assert h["a"] == {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]}, h
    assert h["b"] == {"dtype": "F32", "shape": [2], "data_offsets": [3, 11]}, h
    assert raw[8 + n:] == bytes([1, 2, 3]) + struct.pack("<2f", 1.0, 2.0)
    assert ex.tensor_record([[1, 2], [3, 4]], "I64")[1] == [2, 2]
    for bad in ([[1, 2], [3]],):
        try:
            ex.tensor_record(bad)
        except ValueError:
            pass
        else:
            sys.exit("a ragged list was accepted")
    print("plain: ok")


def with_torch(tmp):
    try:
        import torch
    except ImportError:
        print("python3-torch is not installed: skipped")
        sys.exit(77)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3),
                                torch.nn.Softmax(dim=1)).eval()
    with torch.no_grad():
        want = model(torch.full((1, 8), 0.5))[0].tolist()
    path = os.path.join(tmp, "seq.safetensors")
    ex.save_sequential(model, path)
    close(c_outputs(path), want, 1e-4)
    # The command on a torch.save'd model, and on a state_dict with --layers.
    pt, sd = os.path.join(tmp, "m.pt"), os.path.join(tmp, "sd.pt")
    torch.save(model, pt)
    torch.save(model.state_dict(), sd)
    tool = os.path.join(tools_dir, "export_safetensors.py")
    for src, extra in ((pt, []), (sd, ["--layers", "linear,relu,linear,softmax"])):
        out = os.path.join(tmp, "cli.safetensors")
        subprocess.run([sys.executable, tool, src, out] + extra, check=True)
        close(c_outputs(out), want, 1e-4)
    print("torch: ok")


with tempfile.TemporaryDirectory() as tmp:
    plain(tmp) if mode == "plain" else with_torch(tmp)
