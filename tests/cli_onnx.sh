#!/bin/sh
# cli_onnx.sh — bench_mlp on an ONNX file: the shipped model exported with its
# input normalisation inside the graph (models/fashion_mlp.onnx) classifies the Fashion-
# MNIST test set exactly like models/fashion_mlp.safetensors (8,971 of 10,000) on every
# kernel this CPU has; profile names the GRAPH layer by its ops; the JSON context records
# the .onnx file; --layers with an ONNX file is refused with a message.
# Usage: cli_onnx.sh BENCH_MLP SOURCE_ROOT. The accuracy checks are skipped (said so) when
# the data set package is absent; the others always run.
B="$1"
ROOT="$2"
M="$ROOT/models/fashion_mlp.onnx"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} OPENBLAS_NUM_THREADS=1

if [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    for k in auto scalar avx2 avx512 blas; do
        "$B" --model "$M" --data fashion --mode accuracy --quiet --kernels "$k" > "$T/acc" 2> "$T/err"; rc=$?
        if [ $rc -ne 0 ] && grep -q "not available on this CPU" "$T/err"; then
            echo "SKIP: --kernels $k: this CPU lacks it"
            continue
        fi
        grep -q "(8971 of 10000 correct)" "$T/acc" || fail "accuracy --kernels $k (exit $rc): $(head -1 "$T/acc") $(cat "$T/err")"
        ok "fashion_mlp.onnx --kernels $k: 8971 of 10000, as the .safetensors"
    done
else
    echo "SKIP: Fashion-MNIST not installed (/usr/share/datasets/fashion-mnist): accuracy not checked"
fi

"$B" profile --model "$M" --data synthetic --iterations 20 --warmup 2 > "$T/prof" 2>&1 || fail "profile: $(cat "$T/prof")"
grep -q "| 0 graph (3 ops: Mul,Sub,Div) 784->784 |" "$T/prof" || fail "profile does not name the GRAPH layer: $(cat "$T/prof")"
grep -q "| 1 dense 784->256 |" "$T/prof" || fail "profile: no dense after the graph"
ok "profile: the GRAPH layer by its ONNX ops, then the dense layers"

"$B" --model "$M" --data synthetic --quick --quiet --scenario offline --monitor-interval-ms 0 \
    --format json -o "$T/run.json" 2> "$T/err" || fail "run: $(cat "$T/err")"
/usr/bin/python3 - "$T/run.json" <<'PYEOF' || fail "JSON context"
import json, sys
m = json.load(open(sys.argv[1]))["context"]["model"]
assert m["kind"] == "file" and m["source"].endswith("fashion_mlp.onnx"), m
assert m["layers"].startswith("graph,linear,relu"), m
assert m["input_width"] == 784 and m["output_width"] == 10 and m["file_fnv1a64"], m
PYEOF
ok "JSON context: the .onnx file, its layers and fingerprint"

"$B" --model "$M" --layers linear --quick > /dev/null 2> "$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "ONNX file carries its graph" "$T/err" || fail "--layers with .onnx: exit $rc, $(cat "$T/err")"
ok "--layers with an ONNX file: refused with a message"
