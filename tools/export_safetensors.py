#!/usr/bin/python3
"""export_safetensors.py — write .safetensors files that tinymlp loads, with no extra package.

Debian's python3-torch is enough: the `safetensors` package (`from safetensors.torch import
save_file`) is not in Debian, and the format is simple enough to write by hand (docs/formats.md):

    [u64 little-endian N][N bytes of JSON header, padded with spaces to a multiple of 8][data]

As a module (put tools/ on sys.path):

    from export_safetensors import save_sequential, write_safetensors
    save_sequential(model, "mlp.safetensors")          # an nn.Sequential of Linear/ReLU/Softmax
    write_safetensors("x.safetensors", {"x": tensor})  # any tensors (torch, NumPy or lists)

As a command, on a model saved with torch.save (the whole nn.Sequential, or its state_dict
with --layers):

    python3 tools/export_safetensors.py model.pt mlp.safetensors
    python3 tools/export_safetensors.py weights.pt mlp.safetensors --layers linear,relu,linear,softmax

Then, in C: tmlp_model_load("mlp.safetensors", NULL, &m, &err) (examples/load_pytorch.c).

The writer itself (write_safetensors) needs neither torch nor NumPy: a value may be a
torch.Tensor, a NumPy array, or plain Python numbers in nested lists (written as F32), so
tests/test_export.py checks the format without either installed.
"""
import argparse
import json
import struct
import sys

# Element types by name; each value: (safetensors dtype, struct code or None, bytes).
_FORMATS = {
    "F32": ("F32", "f", 4), "F64": ("F64", "d", 8), "F16": ("F16", "e", 2),
    "BF16": ("BF16", None, 2), "U8": ("U8", "B", 1), "I8": ("I8", "b", 1),
    "I16": ("I16", "h", 2), "I32": ("I32", "i", 4), "I64": ("I64", "q", 8), "BOOL": ("BOOL", "?", 1),
}
_TORCH_DTYPES = {  # str(torch dtype) -> safetensors dtype
    "torch.float32": "F32", "torch.float64": "F64", "torch.float16": "F16",
    "torch.bfloat16": "BF16", "torch.uint8": "U8", "torch.int8": "I8", "torch.int16": "I16",
    "torch.int32": "I32", "torch.int64": "I64", "torch.bool": "BOOL",
}
_NUMPY_DTYPES = {"float32": "F32", "float64": "F64", "float16": "F16", "uint8": "U8",
                 "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64", "bool": "BOOL"}


def _shape_of_list(v):
    shape = []
    while isinstance(v, (list, tuple)):
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return shape


def _flatten(v, shape, depth=0):
    if depth == len(shape):
        return [v]
    if not isinstance(v, (list, tuple)) or len(v) != shape[depth]:
        raise ValueError("ragged nested list: every row must have the same length")
    out = []
    for item in v:
        out.extend(_flatten(item, shape, depth + 1))
    return out


def tensor_record(value, dtype=None):
    """(safetensors dtype, shape list, raw little-endian bytes) of one value.

    value: a torch.Tensor, a NumPy array, or a number / nested list of numbers (F32 unless
    dtype names another of F32 F64 F16 U8 I8 I16 I32 I64 BOOL)."""
    if sys.byteorder != "little":
        raise RuntimeError("this writer assumes a little-endian host (the format is little-endian)")
    tname = type(value).__module__ + "." + type(value).__name__
    if tname.startswith("torch") and hasattr(value, "detach"):          # torch.Tensor
        t = value.detach().contiguous().cpu()
        st = _TORCH_DTYPES.get(str(t.dtype))
        if st is None:
            raise ValueError("torch dtype %s has no safetensors name here" % t.dtype)
        if st == "BF16":  # NumPy has no bfloat16: reinterpret the bits
            import torch
            t = t.view(torch.int16)
        return st, list(value.shape), t.numpy().tobytes()
    if tname.startswith("numpy") and hasattr(value, "dtype"):           # numpy.ndarray
        st = _NUMPY_DTYPES.get(str(value.dtype))
        if st is None:
            raise ValueError("NumPy dtype %s has no safetensors name here" % value.dtype)
        import numpy
        return st, list(value.shape), numpy.ascontiguousarray(value).tobytes()
    st = dtype or "F32"                                                 # plain Python
    if st not in _FORMATS or _FORMATS[st][1] is None:
        raise ValueError("dtype %r cannot be written from Python numbers" % st)
    shape = _shape_of_list(value)
    flat = _flatten(value, shape)
    return st, shape, struct.pack("<%d%s" % (len(flat), _FORMATS[st][1]), *flat)


def write_safetensors(path, tensors, metadata=None):
    """Write `tensors` to `path`.

    tensors: a dict or a list of (name, value) pairs, written in that order; each value as
    tensor_record takes it, or a (dtype, shape, bytes) triple already encoded.
    metadata: optional dict of str -> str, stored under "__metadata__"."""
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in items:
        if name in header:
            raise ValueError("tensor name %r twice" % name)
        if isinstance(value, tuple) and len(value) == 3 and isinstance(value[2], bytes):
            st, shape, data = value
        else:
            st, shape, data = tensor_record(value)
        header[name] = {"dtype": st, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data block starts 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def sequential_layers(model):
    """tinymlp's layer list for an nn.Sequential: "linear,relu,...,softmax"."""
    names = []
    for i, module in enumerate(model):
        kind = type(module).__name__
        if kind == "Linear":
            names.append("linear")
        elif kind == "ReLU":
            names.append("relu")
        elif kind == "Softmax":
            if getattr(module, "dim", None) not in (1, -1):
                raise ValueError("module %d: Softmax(dim=%r); tinymlp's softmax is per row (dim=1)"
                                 % (i, module.dim))
            names.append("softmax")
        else:
            raise ValueError("module %d is %s; tinymlp runs Linear, ReLU and Softmax only" % (i, kind))
    return ",".join(names)


def save_sequential(model, path, layers=None, preprocess=None):
    """Write an nn.Sequential (or a state_dict with `layers`) as a tinymlp model file.

    The tensors keep nn.Sequential's names ("<i>.weight" [out, in], "<i>.bias" [out]);
    __metadata__ gets "tinymlp.layers" and "format": "pt", and, if `preprocess` is a dict
    with scale, mean and std, how raw uint8 pixels become inputs:
    x = (raw * scale - mean) / std."""
    if hasattr(model, "state_dict"):
        state = model.state_dict()
        layers = layers or sequential_layers(model)
    else:
        state = model
        if not layers:
            raise ValueError("a state_dict does not say its architecture: pass layers")
    meta = {"tinymlp.layers": layers, "format": "pt"}
    if preprocess:
        for key in ("scale", "mean", "std"):
            meta["tinymlp.input_" + key] = repr(float(preprocess[key]))
    write_safetensors(path, list(state.items()), meta)


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Write a PyTorch nn.Sequential (saved with torch.save) as a .safetensors "
                    "file tinymlp loads, with python3-torch alone.")
    p.add_argument("model", help="a .pt file: a whole nn.Sequential, or its state_dict (then --layers)")
    p.add_argument("output", help="the .safetensors file to write")
    p.add_argument("--layers", help="the architecture, e.g. linear,relu,linear,softmax "
                                    "(default: read from the nn.Sequential)")
    p.add_argument("--input-scale", type=float, help="preprocessing: x = (raw * scale - mean) / std")
    p.add_argument("--input-mean", type=float, default=0.0)
    p.add_argument("--input-std", type=float, default=1.0)
    a = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("export_safetensors: python3-torch is needed to read %s (apt install python3-torch)"
              % a.model, file=sys.stderr)
        return 1
    try:
        try:
            obj = torch.load(a.model, map_location="cpu", weights_only=False)
        except TypeError:  # torch < 1.13 has no weights_only
            obj = torch.load(a.model, map_location="cpu")
        pre = None
        if a.input_scale is not None:
            pre = {"scale": a.input_scale, "mean": a.input_mean, "std": a.input_std}
        save_sequential(obj, a.output, layers=a.layers, preprocess=pre)
    except (OSError, ValueError, RuntimeError) as e:
        print("export_safetensors: %s" % e, file=sys.stderr)
        return 1
    print("export_safetensors: wrote %s" % a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
