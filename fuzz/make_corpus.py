#!/usr/bin/env python3
"""Regenerate the seed corpora in fuzz/corpus/{safetensors,idx}/ (stdlib only).

Valid files of each shape the parsers handle plus a few invalid ones, kept small so
libFuzzer mutates them quickly. Run from anywhere: python3 fuzz/make_corpus.py
"""
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def st(header, data=b"", pad=True):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def write(kind, name, blob):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


# --- safetensors -------------------------------------------------------------------------
ref = b'{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}'
write("safetensors", "ref_i32", st(ref, bytes(16), pad=False))
write("safetensors", "empty", st({}))
write("safetensors", "metadata_only", st({"__metadata__": {"framework": "pt"}}))
write("safetensors", "whitespace", st(b"\r \t\n{}\r \t\n", pad=False))
write("safetensors", "zero_size_rank0", st(
    {"z": {"dtype": "F32", "shape": [2, 0], "data_offsets": [0, 0]},
     "s": {"dtype": "I32", "shape": [], "data_offsets": [0, 4]}}, struct.pack("<i", 7)))
f16 = struct.pack("<6H", 0x3C00, 0xC100, 0x7BFF, 0x0001, 0x7C00, 0x7E00)
bf16 = struct.pack("<3H", 0x3F80, 0xC020, 0x7FC0)
write("safetensors", "f16_bf16_u8", st(
    {"h": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
     "b": {"dtype": "BF16", "shape": [3], "data_offsets": [12, 18]},
     "u": {"dtype": "U8", "shape": [3], "data_offsets": [18, 21]}}, f16 + bf16 + bytes([0, 128, 255])))
w = struct.pack("<6f", 1, -2, 3.5, 0.25, -0.5, 7)
b = struct.pack("<3f", 0.1, 0.2, 0.3)
write("safetensors", "model", st(
    {"__metadata__": {"tinymlp.layers": "linear,relu,linear,softmax", "tinymlp.input_scale": "0.00392156862745098"},
     "0.weight": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 24]},
     "0.bias": {"dtype": "F32", "shape": [3], "data_offsets": [24, 36]},
     "2.weight": {"dtype": "F32", "shape": [1, 3], "data_offsets": [36, 48]},
     "2.bias": {"dtype": "F32", "shape": [1], "data_offsets": [48, 52]}}, w + b + b + b[:4]))
write("safetensors", "unaligned", st(
    {"u": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
     "w": {"dtype": "F32", "shape": [2], "data_offsets": [1, 9]}}, b"\x01" + w[:8], pad=False))
write("safetensors", "f4_f6", st(
    {"q": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]},
     "r": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [2, 5]}}, bytes(5)))
write("safetensors", "utf8_name", st({"caf\u00e9\u20ac\U0001F600": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\x05"))
# invalid
write("safetensors", "bad_truncated", st(ref, bytes(14), pad=False))
write("safetensors", "bad_json", st(b"{", pad=False))
write("safetensors", "bad_dup", st(
    b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', bytes(2)))
write("safetensors", "bad_overflow", st(
    b'{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}', bytes(16)))
write("safetensors", "bad_offsets", st(
    b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', bytes(3)))

# --- idx -------------------------------------------------------------------------------
def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


write("idx", "images_2x3x2", idx([2, 3, 2], bytes(range(12))))
write("idx", "labels_5", idx([5], bytes([9, 2, 1, 1, 6])))
write("idx", "four_d", idx([1, 2, 1, 3], bytes(6)))
write("idx", "empty_dim", idx([0, 784], b""))
src = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
if os.path.exists(src):  # two real Fashion-MNIST test images
    with gzip.open(src) as g:
        g.read(16)
        write("idx", "fashion_2x28x28", idx([2, 28, 28], g.read(2 * 784)))
write("idx", "bad_magic", bytes([1, 0]) + idx([2], b"ab")[2:])
write("idx", "bad_dtype", bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 1) + bytes(4))
write("idx", "bad_truncated", idx([3, 4], bytes(10)))
write("idx", "bad_trailing", idx([3], bytes(4)))
write("idx", "bad_absurd", idx([65536, 65536], b""))
