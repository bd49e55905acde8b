#!/usr/bin/python3
"""train_fashion_mlp.py -- train tinymlp's shipped Fashion-MNIST model and its C cross-check.

What it does
  1. Reads the Fashion-MNIST IDX files (gzip) itself with gzip + numpy.
  2. Preprocesses raw uint8 pixels exactly as the C engine will:
         x = (raw * scale - mean) / std,   scale = 1/255,
     with mean and std the single global mean / standard deviation of raw*scale over all
     60,000 x 784 training pixels (float64), so a user hands the engine raw images.
  3. Trains a 784-256-128-10 MLP
         nn.Sequential(Linear(784,256), ReLU, Linear(256,128), ReLU, Linear(128,10))
     on all 60,000 training images (no validation split: the recipe below was fixed
     up front and the test set is evaluated once, at the end). Dropout is applied
     functionally during training only, so the exported tensors keep the plain
     nn.Sequential names 0.*, 2.*, 4.* and the inference graph has no dropout.
     Recipe: Adam(lr 1e-3, weight_decay 0), cosine decay of the learning rate per step
     from 1e-3 to 0 over all epochs, batch 128, cross-entropy, dropout 0.2 after each
     ReLU, random horizontal flips of the training images (clothes stay clothes when
     mirrored), 30 epochs, seed 20261128, CPU, 2 threads.
  4. Exports models/fashion_mlp.safetensors (F32 tensors 0.weight [256,784], 0.bias,
     2.weight [128,256], 2.bias, 4.weight [10,128], 4.bias) with __metadata__ carrying
     "tinymlp.layers" = "linear,relu,linear,relu,linear,softmax" (softmax is module 5,
     inference only), the preprocessing numbers and the PyTorch test accuracy.
  5. Writes tests/fixtures/fashion_ref_256.safetensors for the C test: the first 256
     test images as raw uint8 "x" [256,784], their labels "y" (I32 [256]), PyTorch's
     float32 "logits" [256,10] (the output of module 4, BEFORE softmax) and "probs"
     [256,10] (softmax of those logits, = the full model's output), and the PyTorch
     correct count over all 10,000 test images as "test_correct" (I32, rank 0).

Usage (Debian's python3-torch, not a pyenv python):
  /usr/bin/python3 tools/train_fashion_mlp.py                 # train + export (~2-4 min)
  /usr/bin/python3 tools/train_fashion_mlp.py --check         # evaluate the shipped model
  /usr/bin/python3 tools/train_fashion_mlp.py --epochs 5 --out /tmp/m.safetensors \
      --fixture /tmp/f.safetensors                            # a quick experiment

The safetensors files are written by hand (no safetensors package on Debian 12):
  [u64 LE header length N][N bytes JSON header, space-padded to a multiple of 8][data].
"""

import argparse
import gzip
import hashlib
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(REPO, "models", "fashion_mlp.safetensors")
DEFAULT_FIXTURE = os.path.join(REPO, "tests", "fixtures", "fashion_ref_256.safetensors")
LAYERS = "linear,relu,linear,relu,linear,softmax"
SCALE = 1.0 / 255.0
N_REF = 256

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


# --- IDX reading ---------------------------------------------------------------------------

def read_idx(path):
    """An IDX file -> numpy uint8 array of its dims. Header: 0 0 <dtype=0x08> <ndim>,
    then ndim big-endian u32 sizes, then the bytes."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: bad IDX magic")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: IDX dtype 0x{raw[2]:02x} is not unsigned byte")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise ValueError(f"{path}: {len(body)} data bytes, header says {dims}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def load_split(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images.reshape(images.shape[0], -1), labels.astype(np.int64)


def preprocess(raw_u8, scale, mean, std):
    """x = (raw * scale - mean) / std, evaluated in float64 and rounded once to float32."""
    return torch.from_numpy(((raw_u8.astype(np.float64) * scale - mean) / std).astype(np.float32))


# --- safetensors, by hand ------------------------------------------------------------------

ST_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8", np.dtype(np.int32): "I32"}
ST_NUMPY = {"F32": np.float32, "U8": np.uint8, "I32": np.int32}


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array); metadata: dict str -> str."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": ST_DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """-> (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = np.dtype(ST_NUMPY[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[b:e], dtype=dt).reshape(info["shape"])
    return tensors, meta


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


# --- the model -----------------------------------------------------------------------------

def make_model():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def forward_train(net, x, p_drop):
    """The same modules as net(x), with dropout after each ReLU (training only)."""
    h = F.dropout(net[1](net[0](x)), p_drop, training=True)
    h = F.dropout(net[3](net[2](h)), p_drop, training=True)
    return net[4](h)


@torch.no_grad()
def logits_of(net, x, batch=1000):
    net.eval()
    return torch.cat([net(x[i:i + batch]) for i in range(0, x.shape[0], batch)])


def model_from_file(path):
    tensors, meta = read_safetensors(path)
    net = make_model()
    state = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in tensors.items()}
    net.load_state_dict(state)
    return net, meta


# --- modes ---------------------------------------------------------------------------------

def check(args):
    """Evaluate an existing model file on the 10,000 test images (and the fixture)."""
    net, meta = model_from_file(args.out)
    scale = float(meta["tinymlp.input_scale"])
    mean = float(meta["tinymlp.input_mean"])
    std = float(meta["tinymlp.input_std"])
    test_x, test_y = load_split(args.data, "test")
    logits = logits_of(net, preprocess(test_x, scale, mean, std))
    pred = logits.argmax(1).numpy()
    correct = int((pred == test_y).sum())
    print(f"model   {args.out}")
    print(f"sha256  {sha256(args.out)}")
    print(f"layers  {meta.get('tinymlp.layers')}")
    print(f"preproc x = (raw * {meta['tinymlp.input_scale']} - {meta['tinymlp.input_mean']})"
          f" / {meta['tinymlp.input_std']}")
    print(f"params  {sum(p.numel() for p in net.parameters())}")
    print(f"PyTorch test accuracy: {correct}/{len(test_y)} = {correct / len(test_y):.4f}")
    ok = True
    if "tinymlp.test_correct" in meta and int(meta["tinymlp.test_correct"]) != correct:
        print(f"MISMATCH: metadata says {meta['tinymlp.test_correct']} correct")
        ok = False
    conf = np.zeros((10, 10), dtype=np.int64)
    np.add.at(conf, (test_y, pred), 1)
    print("per-class accuracy:")
    for c in range(10):
        print(f"  {CLASSES[c]:<12} {conf[c, c] / conf[c].sum():.3f}")
    if os.path.exists(args.fixture):
        ref, _ = read_safetensors(args.fixture)
        diff = np.abs(logits[:N_REF].numpy() - ref["logits"]).max()
        same_x = np.array_equal(ref["x"], test_x[:N_REF])
        print(f"fixture {args.fixture}: images match: {same_x}, max |dlogit| = {diff:.3g}, "
              f"test_correct = {int(ref['test_correct'])}")
        ok = ok and same_x and diff <= 1e-4 and int(ref["test_correct"]) == correct
    return 0 if ok else 1


def train(args):
    t_start = time.time()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)

    train_x_u8, train_y = load_split(args.data, "train")
    test_x_u8, test_y = load_split(args.data, "test")
    pixels = train_x_u8.astype(np.float64) * SCALE
    mean = float(pixels.mean())
    std = float(pixels.std())
    del pixels
    print(f"data: {train_x_u8.shape[0]} train, {test_x_u8.shape[0]} test images; "
          f"mean {mean!r}, std {std!r}", flush=True)

    train_x = preprocess(train_x_u8, SCALE, mean, std)
    train_t = torch.from_numpy(train_y)
    test_x = preprocess(test_x_u8, SCALE, mean, std)

    net = make_model()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    n = train_x.shape[0]
    steps_per_epoch = math.ceil(n / args.batch)
    total_steps = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total_steps) / total_steps)))
    gen = torch.Generator().manual_seed(args.seed)

    for epoch in range(args.epochs):
        t0 = time.time()
        net.train()
        perm = torch.randperm(n, generator=gen)
        flip = torch.rand(n, generator=gen) < (0.5 if args.flip else 0.0)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            xb = train_x[idx]
            fb = flip[idx]
            if fb.any():
                xb = xb.clone()
                xb[fb] = xb[fb].view(-1, 28, 28).flip(2).reshape(-1, 784)
            yb = train_t[idx]
            out = forward_train(net, xb, args.dropout)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * len(idx)
            correct += int((out.argmax(1) == yb).sum())
        print(f"epoch {epoch + 1:2d}/{args.epochs}  loss {loss_sum / n:.4f}  "
              f"train acc (dropout on) {correct / n:.4f}  lr {sched.get_last_lr()[0]:.2e}  "
              f"{time.time() - t0:.1f} s", flush=True)

    test_logits = logits_of(net, test_x)
    test_correct = int((test_logits.argmax(1).numpy() == test_y).sum())
    test_acc = test_correct / len(test_y)
    train_time = time.time() - t_start
    print(f"PyTorch test accuracy: {test_correct}/{len(test_y)} = {test_acc:.4f} "
          f"(train + eval {train_time:.0f} s)", flush=True)

    state = net.state_dict()
    tensors = [(k, state[k].detach().numpy().astype(np.float32))
               for k in ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]]
    recipe = (f"Adam lr {args.lr} cosine-to-0 per step, weight_decay {args.weight_decay}, "
              f"batch {args.batch}, {args.epochs} epochs, dropout {args.dropout}, "
              f"hflip {'0.5' if args.flip else 'off'}, seed {args.seed}, all 60000 train images")
    metadata = {
        "tinymlp.layers": LAYERS,
        "tinymlp.input_scale": repr(SCALE),
        "tinymlp.input_mean": repr(mean),
        "tinymlp.input_std": repr(std),
        "tinymlp.dataset": "fashion-mnist (Zalando Research, MIT license)",
        "tinymlp.classes": ",".join(CLASSES),
        "tinymlp.test_accuracy": repr(test_acc),
        "tinymlp.test_correct": str(test_correct),
        "tinymlp.test_total": str(len(test_y)),
        "tinymlp.training": recipe,
        "tinymlp.trainer": f"tools/train_fashion_mlp.py, torch {torch.__version__}",
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, metadata)

    ref_logits = test_logits[:N_REF].numpy().astype(np.float32)
    ref_probs = torch.softmax(test_logits[:N_REF], dim=1).numpy().astype(np.float32)
    fixture = [
        ("x", np.ascontiguousarray(test_x_u8[:N_REF])),
        ("y", test_y[:N_REF].astype(np.int32)),
        ("logits", ref_logits),
        ("probs", ref_probs),
        ("test_correct", np.array(test_correct, dtype=np.int32)),
    ]
    fixture_meta = {
        "description": "first 256 Fashion-MNIST test images (raw uint8 x, labels y) with "
                       "PyTorch float32 outputs of models/fashion_mlp.safetensors",
        "logits": "output of module 4 (last Linear), BEFORE softmax",
        "probs": "softmax(logits): output of the full model (module 5 = softmax)",
        "test_correct": "PyTorch correct predictions over all 10000 test images",
        "model_sha256": sha256(args.out),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.fixture)), exist_ok=True)
    write_safetensors(args.fixture, fixture, fixture_meta)

    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, sha256 {sha256(args.out)})")
    print(f"wrote {args.fixture} ({os.path.getsize(args.fixture)} bytes)")
    print(f"total time {time.time() - t_start:.0f} s")
    if test_acc < 0.885:
        print("WARNING: test accuracy below the 0.885 target", file=sys.stderr)
        return 2
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="only evaluate an existing model file (--out) and fixture")
    ap.add_argument("--data", default=DATA_DIR, help="directory of the IDX .gz files")
    ap.add_argument("--out", default=DEFAULT_MODEL, help="model .safetensors path")
    ap.add_argument("--fixture", default=DEFAULT_FIXTURE, help="C test fixture path")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--no-flip", dest="flip", action="store_false",
                    help="disable random horizontal flips")
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    return check(args) if args.check else train(args)


if __name__ == "__main__":
    sys.exit(main())
