#!/usr/bin/python3
"""export_safetensors.py — write .safetensors files that tinymlp loads, with no extra package.

Debian's python3-torch is enough: the `safetensors` package (`from safetensors.torch import
save_file`) is not in Debian, and the format is simple enough to write by hand (docs/formats.md):

    [u64 little-endian N][N bytes of JSON header, padded with spaces to a multiple of 8][data]

As a module (put tools/ on sys.path):

    from export_safetensors import save_sequential, write_safetensors
    save_sequential(model, "mlp.safetensors")          # an nn.Sequential (layer list below)
    write_safetensors("x.safetensors", {"x": tensor})  # any tensors (torch, NumPy or lists)
    sequential_layers(model)    # "linear,layernorm(1e-05),gelu,linear,softmax"
    read_safetensors(path)      # (dict name -> NumPy array, metadata)
    sequential_from_layers(layers, tensors)   # and back to an nn.Sequential

As a command, on a model saved with torch.save (the whole nn.Sequential, or its state_dict
with --layers):

    python3 tools/export_safetensors.py model.pt mlp.safetensors
    python3 tools/export_safetensors.py weights.pt mlp.safetensors --layers linear,relu,linear,softmax

The layer list ("tinymlp.layers" metadata) is derived from the module types: Linear (with or
without bias), ReLU, LeakyReLU, GELU (erf or tanh), Tanh, Sigmoid, SiLU, Softmax and
LogSoftmax over dim 1 / -1, LayerNorm over the features, BatchNorm1d (inference, running
statistics), Dropout, Identity and Flatten() (the identity on (N, C) rows). Any other
module is refused: exit status 1 and one line "module <i> (<Type>): <why>".

Then, in C: tmlp_model_load("mlp.safetensors", NULL, &m, &err) (examples/load_pytorch.c).

The writer itself (write_safetensors) needs neither torch nor NumPy: a value may be a
torch.Tensor, a NumPy array, or plain Python numbers in nested lists (written as F32), so
tests/test_export.py checks the format without either installed.
"""
import argparse
import json
import re
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


# ---------------------------------------------------------------------------------------------
# The layer list ("tinymlp.layers"): module i of the nn.Sequential is entry i.
#
#   linear             nn.Linear; bias-free when "<i>.bias" is absent       owns i.weight [out,in], i.bias [out]
#   relu  tanh  sigmoid  silu  gelu  gelu_tanh  softmax  log_softmax  dropout  identity
#   leaky_relu(SLOPE)  nn.LeakyReLU(SLOPE), default 0.01
#   layernorm(EPS)     nn.LayerNorm over the features, default 1e-05     owns i.weight, i.bias [C] if affine
#   batchnorm(EPS)     nn.BatchNorm1d at inference, default 1e-05         owns i.weight, i.bias [C] if affine,
#                                                                         i.running_mean, i.running_var [C],
#                                                                         i.num_batches_tracked (I64, unused)
#
# A parenthesised parameter may be left out for PyTorch's default. Numbers are written as the
# shortest decimal that reads back as the same float32 (0.2, 1e-05, 0.001).
# ---------------------------------------------------------------------------------------------

# name -> PyTorch's default of its parameter (None: the layer takes no parameter)
LAYER_DEFAULTS = {
    "linear": None, "relu": None, "leaky_relu": 0.01, "gelu": None, "gelu_tanh": None,
    "tanh": None, "sigmoid": None, "silu": None, "softmax": None, "log_softmax": None,
    "layernorm": 1e-05, "batchnorm": 1e-05, "dropout": None, "identity": None,
}


def _f32(v):
    return struct.unpack("<f", struct.pack("<f", float(v)))[0]


def float32_text(v):
    """The shortest decimal text that reads back as float32(v): 0.2 -> "0.2", 1e-5 -> "1e-05"."""
    f = _f32(v)
    for digits in range(1, 10):
        s = "%.*g" % (digits, f)
        if _f32(float(s)) == f:
            return s
    return "%.9g" % f  # 9 significant digits always round-trip a float32


def parse_layers(text):
    """[(name, parameter or None)] of a layer list; ValueError names the bad entry.

    A parameter left out becomes PyTorch's default (leaky_relu 0.01, layernorm/batchnorm 1e-05)."""
    out = []
    for i, entry in enumerate(text.split(",")):
        m = re.fullmatch(r"\s*([a-z_]+)\s*(?:\(\s*([^()]*?)\s*\))?\s*", entry)
        if not m or m.group(1) not in LAYER_DEFAULTS:
            raise ValueError("layer %d: %r is not a tinymlp layer (%s)"
                             % (i, entry.strip(), ", ".join(LAYER_DEFAULTS)))
        name, arg = m.group(1), m.group(2)
        default = LAYER_DEFAULTS[name]
        if arg is not None and default is None:
            raise ValueError("layer %d: %s takes no parameter, got %r" % (i, name, entry.strip()))
        if arg is None:
            out.append((name, default))
            continue
        try:
            value = float(arg)
        except ValueError:
            raise ValueError("layer %d: %r: the parameter is not a number" % (i, entry.strip())) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("layer %d: %r: the parameter is not finite" % (i, entry.strip()))
        out.append((name, value))
    return out


def _with_param(name, value, omit_default):
    if omit_default and _f32(value) == _f32(LAYER_DEFAULTS[name]):
        return name
    return "%s(%s)" % (name, float32_text(value))


def module_layer(i, module, omit_default=False):
    """The layer-list entry of module i; ValueError "module i (Type): why" if tinymlp cannot
    express it."""
    kind = type(module).__name__

    def refuse(why):
        raise ValueError("module %d (%s): %s" % (i, kind, why))
    simple = {"Linear": "linear", "ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid",
              "SiLU": "silu", "Dropout": "dropout", "Identity": "identity"}
    if kind in simple:
        return simple[kind]
    if kind == "LeakyReLU":
        return _with_param("leaky_relu", module.negative_slope, omit_default)
    if kind == "GELU":
        approximate = getattr(module, "approximate", "none")
        if approximate not in ("none", "tanh"):
            refuse("approximate=%r; tinymlp has gelu (exact, erf) and gelu_tanh" % approximate)
        return "gelu" if approximate == "none" else "gelu_tanh"
    if kind in ("Softmax", "LogSoftmax"):
        if module.dim not in (1, -1):
            refuse("dim=%r; tinymlp normalises each row over its features (dim=1 or dim=-1)"
                   % (module.dim,))
        return "softmax" if kind == "Softmax" else "log_softmax"
    if kind == "Flatten":
        if module.start_dim != 1 or module.end_dim != -1:
            refuse("start_dim=%d, end_dim=%d; only Flatten() (start_dim=1, end_dim=-1), the "
                   "identity on (N, C) rows, is a tinymlp layer" % (module.start_dim, module.end_dim))
        return "identity"
    if kind == "LayerNorm":
        if len(module.normalized_shape) != 1:
            refuse("normalized_shape=%s; tinymlp normalises over the last dimension only"
                   % (tuple(module.normalized_shape),))
        return _with_param("layernorm", module.eps, omit_default)
    if kind == "BatchNorm1d":
        if module.running_mean is None or module.running_var is None:
            refuse("track_running_stats=False: at inference it would use each batch's own "
                   "statistics, which tinymlp does not compute")
        return _with_param("batchnorm", module.eps, omit_default)
    refuse("no tinymlp layer for it (tinymlp runs %s)" % ", ".join(LAYER_DEFAULTS))


def sequential_layers(model, omit_defaults=False):
    """tinymlp's layer list of an nn.Sequential, e.g. "linear,layernorm(1e-05),gelu,linear,softmax".

    omit_defaults: write "leaky_relu" rather than "leaky_relu(0.01)" (and the same for the eps of
    layernorm/batchnorm) where the value is PyTorch's default. ValueError on the first module
    the grammar cannot express, naming its index and type."""
    import torch
    if not isinstance(model, torch.nn.Sequential):
        raise ValueError("%s is not an nn.Sequential: its modules have no order to list "
                         "(pass --layers with a state_dict)" % type(model).__name__)
    return ",".join(module_layer(i, m, omit_defaults) for i, m in enumerate(model))


def sequential_from_layers(layers, tensors):
    """The nn.Sequential (eval mode, float32) a layer list and its tensors describe.

    layers: a layer-list string; tensors: name -> torch.Tensor or NumPy array (as
    read_safetensors returns). The inverse of save_sequential: the widths come from the
    tensors, and a layer without tensors keeps the width of the one before it."""
    import torch
    nn = torch.nn
    mods, width = [], None

    def t(name):
        v = tensors[name]
        return v if isinstance(v, torch.Tensor) else torch.from_numpy(_as_f32(v))
    for i, (name, p) in enumerate(parse_layers(layers)):
        w, b = "%d.weight" % i, "%d.bias" % i
        if name == "linear":
            if w not in tensors:
                raise ValueError("layer %d (linear): tensor %s is missing" % (i, w))
            out_f, in_f = t(w).shape
            m = nn.Linear(in_f, out_f, bias=b in tensors)
            width = out_f
        elif name in ("layernorm", "batchnorm"):
            c = t(w).shape[0] if w in tensors else (
                t("%d.running_mean" % i).shape[0] if "%d.running_mean" % i in tensors else width)
            if c is None:
                raise ValueError("layer %d (%s): its width is unknown (no tensor, nothing before it)"
                                 % (i, name))
            if name == "layernorm":
                m = nn.LayerNorm(c, eps=p, elementwise_affine=w in tensors)
            else:
                m = nn.BatchNorm1d(c, eps=p, affine=w in tensors)
            width = c
        else:
            m = {"relu": nn.ReLU(), "gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"),
                 "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(), "silu": nn.SiLU(),
                 "softmax": nn.Softmax(dim=1), "log_softmax": nn.LogSoftmax(dim=1),
                 "dropout": nn.Dropout(), "identity": nn.Identity()}.get(name)
            if name == "leaky_relu":
                m = nn.LeakyReLU(p)
        own = {k.split(".", 1)[1]: t(k) for k in tensors if k.split(".", 1)[0] == str(i)}
        with torch.no_grad():
            state = m.state_dict()
            for k in own:
                if k not in state:
                    raise ValueError("tensor %d.%s: layer %d (%s) has no such tensor" % (i, k, i, name))
                state[k] = own[k].to(state[k].dtype).reshape(state[k].shape)
            missing = [k for k in state if k not in own and k != "num_batches_tracked"]
            if missing:
                raise ValueError("layer %d (%s): tensor %d.%s is missing" % (i, name, i, missing[0]))
            m.load_state_dict(state)
        mods.append(m)
    stray = [k for k in tensors if not (k.split(".", 1)[0].isdigit() and int(k.split(".", 1)[0]) < len(mods))]
    if stray:
        raise ValueError("tensor %s belongs to no layer of %r" % (stray[0], layers))
    return nn.Sequential(*mods).eval()


def _as_f32(a):
    import numpy
    return numpy.ascontiguousarray(a, dtype=numpy.float32) if a.dtype.kind == "f" else a


def read_safetensors(path):
    """(tensors, metadata) of a .safetensors file: an ordered dict name -> NumPy array (BF16
    widened to float32, exactly; other dtypes as stored) and the __metadata__ dict."""
    import numpy
    np_types = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "U8": "u1", "I8": "i1", "I16": "<i2",
                "U16": "<u2", "I32": "<i4", "U32": "<u4", "I64": "<i8", "U64": "<u8", "BOOL": "?"}
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: not a safetensors file (shorter than 8 bytes)" % path)
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    base, tensors = 8 + n, {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        buf = raw[base + b:base + e]
        if info["dtype"] == "BF16":
            arr = (numpy.frombuffer(buf, "<u2").astype(numpy.uint32) << 16).view(numpy.float32)
        elif info["dtype"] in np_types:
            arr = numpy.frombuffer(buf, np_types[info["dtype"]])
        else:
            raise ValueError("%s: tensor %s: dtype %s is not read here" % (path, name, info["dtype"]))
        tensors[name] = arr.reshape(info["shape"]).copy()
    return tensors, meta


def save_sequential(model, path, layers=None, preprocess=None, omit_defaults=False, metadata=None):
    """Write an nn.Sequential (or a state_dict with `layers`) as a tinymlp model file.

    The tensors keep nn.Sequential's names ("<i>.weight", "<i>.bias", "<i>.running_mean", ...);
    __metadata__ gets "tinymlp.layers" (derived from the module types unless `layers` is
    given; ValueError "module i (Type): ..." for a module the layer list cannot express) and
    "format": "pt", and, if `preprocess` is a dict with scale, mean and std, how raw uint8
    pixels become inputs: x = (raw * scale - mean) / std. `metadata`: more str -> str keys
    (e.g. tinymlp.classes), written after those."""
    if hasattr(model, "state_dict"):
        state = model.state_dict()
        layers = layers or sequential_layers(model, omit_defaults)
    else:
        state = model
        if not layers:
            raise ValueError("a state_dict does not say its architecture: pass layers")
    parse_layers(layers)
    meta = {"tinymlp.layers": layers, "format": "pt"}
    if preprocess:
        for key in ("scale", "mean", "std"):
            meta["tinymlp.input_" + key] = repr(float(preprocess[key]))
    meta.update(metadata or {})
    write_safetensors(path, list(state.items()), meta)


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Write a PyTorch nn.Sequential (saved with torch.save) as a .safetensors "
                    "file tinymlp loads, with python3-torch alone.")
    p.add_argument("model", help="a .pt file: a whole nn.Sequential, or its state_dict (then --layers)")
    p.add_argument("output", help="the .safetensors file to write")
    p.add_argument("--layers", help="the architecture, e.g. linear,relu,linear,softmax "
                                    "(default: derived from the nn.Sequential's module types)")
    p.add_argument("--omit-defaults", action="store_true",
                   help="write leaky_relu / layernorm / batchnorm without their parameter where it "
                        "is PyTorch's default (0.01, 1e-05)")
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
        save_sequential(obj, a.output, layers=a.layers, preprocess=pre,
                        omit_defaults=a.omit_defaults)
    except (OSError, ValueError, RuntimeError) as e:
        print("export_safetensors: %s" % e, file=sys.stderr)
        return 1
    print("export_safetensors: wrote %s" % a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
