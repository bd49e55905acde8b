#!/bin/sh
# run_peers.sh — bench_mlp against ONNX Runtime, NumPy, PyTorch and a hand-written OpenBLAS
# forward on the same model files, in one invocation, one table with all figures and ratios.
#
#     bench/peers/run_peers.sh [--bench PATH/TO/bench_mlp] [--seconds S] [--rounds R]
#                              [--no-onnx] [MODEL.onnx | MODEL.safetensors ...]
#
# Files: bench_mlp (--model X.onnx) and ONNX Runtime run the SAME .onnx file. A .onnx argument
# is used as it is; its .safetensors twin (same name beside it, same weights) if present feeds
# NumPy, PyTorch and the hand-written forward, else their columns say n/a (an .onnx whose
# graph holds the input preprocessing, as models/fashion_mlp.onnx: NumPy and PyTorch apply
# the twin's tinymlp.input_* first, the hand-written forward is n/a). A .safetensors
# argument is first exported to a plain NAME_plain.onnx (tools/export_onnx.py --opset 17 --preprocess
# none: no preprocessing nodes, the graph takes the float rows the peers feed) in a
# temporary directory, and that .onnx is what both engines run.
# Default models: models/fashion_mlp.safetensors exported that way (the shipped
# models/fashion_mlp.onnx has its input normalisation in the graph and expects raw 0..255
# pixels, while every peer feeds uniform [0,1) rows, so it is not used here), and the two
# seeded models of tools/make_peer_models.py (opset 17, with .safetensors twins):
# 784-512-512-10 ReLU + softmax, and the same widths with LayerNorm+GELU after each hidden
# Linear. NumPy and PyTorch (peers.py) run every layer kind of the tinymlp.layers grammar;
# the hand-written OpenBLAS forward only linear/relu/softmax (n/a otherwise).
# Every framework runs on ONE thread
# (OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1, torch.set_num_threads(1), ONNX Runtime
# intraOpNumThreads 1 / interOpNumThreads 1 / sequential, bench_mlp --workers 1
# --blas-threads 1) with OPENBLAS_CORETYPE=Haswell unless already set.
# Peers: ONNX Runtime (npm onnxruntime-node, installed on first use into bench/peers/.onnx/,
#   or $TMLP_ORT_DIR; version $TMLP_ORT_VERSION, default 1.30.0; the same .onnx file as
#   bench_mlp; run by ort_peer.js; without node/npm or the package its column is "n/a");
#   NumPy and PyTorch (peers.py, on the .safetensors twin); the hand-written
#   OpenBLAS forward (hand_blas.c, compiled here with cc; "n/a" without a compiler).
# Metrics, per model:
#   single-stream  batch-1 latency p50 and p99 (LoadGen rule sorted[floor(N*p)]), µs
#   offline        batch-8 and batch-256 throughput, samples/s
#   ONNX Runtime's binding overhead: batch-1 p50 of an identity model (y = x, same width)
#   through the same binding, and ORT's p50 with that subtracted.
# Ratios are "peer / bench_mlp" for latency and "bench_mlp / peer" for throughput, so a
# ratio above 1 always means bench_mlp is faster. Drift: the frameworks are INTERLEAVED in
# R rounds (default 3) of S seconds per scenario (default 1; fractions allowed, e.g. 0.3)
# and each figure is the median over the rounds, with the range. The machine may be shared
# (the load average is printed): re-run before believing a difference under ~10%.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
BENCH=
SECONDS_PER=1
ROUNDS=3
ONNX=1
ORT_DIR=${TMLP_ORT_DIR:-$HERE/.onnx}
ORT_VERSION=${TMLP_ORT_VERSION:-1.30.0}
need_arg() { [ $# -ge 2 ] || { echo "run_peers.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
    case $1 in
    --bench) need_arg "$@"; BENCH=$2; shift 2 ;;
    --seconds) need_arg "$@"; SECONDS_PER=$2; shift 2 ;;
    --rounds) need_arg "$@"; ROUNDS=$2; shift 2 ;;
    --no-onnx) ONNX=0; shift ;;
    -h | --help) sed -n '2,41p' "$0"; exit 0 ;;
    --*) echo "run_peers.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
if [ -z "$BENCH" ]; then
    for b in "$ROOT"/build/bench/bench_mlp "$ROOT"/build*/bench/bench_mlp; do
        [ -x "$b" ] && { BENCH=$b; break; }
    done
fi
[ -n "$BENCH" ] && [ -x "$BENCH" ] || { echo "run_peers.sh: bench_mlp not found; pass --bench PATH" >&2; exit 1; }
# --seconds: a positive decimal number (0.3, 2, 1.5); bench_mlp takes whole milliseconds.
case $SECONDS_PER in
'' | . | *[!0-9.]* | *.*.*)
    echo "run_peers.sh: --seconds wants a positive number of seconds such as 0.3 or 2, not '$SECONDS_PER'" >&2
    exit 2 ;;
esac
MS=$(awk -v s="$SECONDS_PER" 'BEGIN { printf "%d", s * 1000 + 0.5 }')
[ "$MS" -ge 1 ] || { echo "run_peers.sh: --seconds must be at least 0.001, not '$SECONDS_PER'" >&2; exit 2; }
case $ROUNDS in
'' | *[!0-9]* | 0) echo "run_peers.sh: --rounds wants a positive whole number, not '$ROUNDS'" >&2; exit 2 ;;
esac

export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# ONNX Runtime: onnxruntime-node from npm into $ORT_DIR (its CPU binaries ship inside the
# package; --ignore-scripts skips the install script, which only fetches CUDA binaries).
ORT_OK=0
ort_setup() {
    [ "$ONNX" = 1 ] || { echo "run_peers.sh: --no-onnx: ONNX Runtime column n/a" >&2; return 1; }
    command -v node >/dev/null 2>&1 || { echo "run_peers.sh: node not found: ONNX Runtime column n/a" >&2; return 1; }
    have=$(NODE_PATH="$ORT_DIR/node_modules" node -p "require('onnxruntime-node/package.json').version" 2>/dev/null || true)
    if [ "$have" != "$ORT_VERSION" ]; then
        command -v npm >/dev/null 2>&1 || { echo "run_peers.sh: npm not found: ONNX Runtime column n/a" >&2; return 1; }
        echo "run_peers.sh: installing onnxruntime-node@$ORT_VERSION into $ORT_DIR (npm) ..." >&2
        mkdir -p "$ORT_DIR"
        TO=; command -v timeout >/dev/null 2>&1 && TO="timeout 600"
        if ! ONNXRUNTIME_NODE_INSTALL=skip $TO npm install --prefix "$ORT_DIR" --no-save --no-audit --no-fund \
            --ignore-scripts --loglevel=error "onnxruntime-node@$ORT_VERSION" >"$TMP/npm.log" 2>&1; then
            echo "run_peers.sh: npm install onnxruntime-node@$ORT_VERSION failed: ONNX Runtime column n/a" >&2
            tail -n 5 "$TMP/npm.log" | sed 's/^/    npm: /' >&2
            return 1
        fi
    fi
    NODE_PATH="$ORT_DIR/node_modules" node -e "require('onnxruntime-node')" 2>"$TMP/ort.err" || {
        echo "run_peers.sh: onnxruntime-node does not load: ONNX Runtime column n/a" >&2
        sed 's/^/    node: /' "$TMP/ort.err" | head -n 5 >&2
        return 1
    }
}
ort_setup && ORT_OK=1

# The hand-written OpenBLAS forward, compiled for this run.
HAND_OK=0
CC=${CC:-cc}
BLAS_FLAGS=$(pkg-config --cflags --libs openblas 2>/dev/null || echo -lopenblas)
# shellcheck disable=SC2086
if $CC -O2 -std=c11 "$HERE/hand_blas.c" -o "$TMP/hand_blas" $BLAS_FLAGS -lm 2>"$TMP/cc.log"; then
    HAND_OK=1
else
    echo "run_peers.sh: cannot compile hand_blas.c: hand-written OpenBLAS column n/a" >&2
    head -n 5 "$TMP/cc.log" | sed 's/^/    cc: /' >&2
fi

if [ $# -eq 0 ]; then
    [ -r "$ROOT/models/fashion_mlp.safetensors" ] && set -- "$ROOT/models/fashion_mlp.safetensors"
    "$PY" "$ROOT/tools/make_peer_models.py" "$TMP/peer" >/dev/null
    set -- "$@" "$TMP/peer/mlp_784x512x512x10.onnx" "$TMP/peer/mlp_784x512x512x10_ln_gelu.onnx"
fi

i=0
for m in "$@"; do
    i=$((i + 1))
    pre=
    [ -r "$m" ] || { echo "run_peers.sh: cannot read $m" >&2; exit 1; }
    # onnx: the file bench_mlp and ONNX Runtime both run; st: the .safetensors twin of the peers
    case $m in
    *.onnx)
        onnx=$m
        st=${m%.onnx}.safetensors
        [ -r "$st" ] || { st=; echo "run_peers.sh: no $(basename "${m%.onnx}").safetensors beside $(basename "$m"): NumPy, PyTorch, hand OpenBLAS n/a for it" >&2; }
        if [ -n "$st" ] && "$PY" "$HERE/peers.py" onnx-preprocess "$m" 2>/dev/null; then
            pre=--preprocess
            echo "run_peers.sh: $(basename "$m") has its input preprocessing in the graph: NumPy and PyTorch apply it too, hand OpenBLAS n/a" >&2
        fi ;;
    *)
        st=$m
        base=$(basename "$m")
        onnx=$TMP/onnx_$i/${base%.*}_plain.onnx
        mkdir -p "$TMP/onnx_$i"
        if ! "$PY" "$ROOT/tools/export_onnx.py" "$m" "$onnx" --opset 17 --preprocess none >/dev/null 2>"$TMP/export.err"; then
            echo "run_peers.sh: tools/export_onnx.py failed for $base: bench_mlp runs the .safetensors, ONNX Runtime n/a for it" >&2
            tail -n 3 "$TMP/export.err" | sed 's/^/    /' >&2
            onnx=
        fi ;;
    esac
    engine_model=${onnx:-$st}
    printf '%s\n%s\n%s\n' "$(basename "$engine_model")" "$([ -n "$st" ] && basename "$st" || echo n/a)" \
        "$([ -n "$onnx" ] && echo onnx || echo safetensors)" >"$TMP/model_$i"
    ort_model=0
    if [ "$ORT_OK" = 1 ] && [ -n "$onnx" ]; then
        if "$PY" "$HERE/peers.py" identity-onnx "$onnx" "$TMP/identity_$i.onnx" 2>"$TMP/ident.err"; then
            ort_model=1
        else
            echo "run_peers.sh: no identity model for $(basename "$onnx"): ONNX Runtime n/a for it" >&2
            tail -n 3 "$TMP/ident.err" | sed 's/^/    /' >&2
        fi
    fi
    hand_model=0
    if [ "$HAND_OK" = 1 ] && [ -n "$st" ] && [ -z "$pre" ]; then
        if "$PY" "$HERE/peers.py" dump-raw "$st" "$TMP/model_$i.raw" 2>"$TMP/raw.err"; then
            hand_model=1
        else
            echo "run_peers.sh: hand-written OpenBLAS n/a for $(basename "$st"): $(tail -n 1 "$TMP/raw.err")" >&2
        fi
    fi
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        r=$((r + 1))
        echo "[model $i/$#, round $r/$ROUNDS] $(basename "$engine_model"): bench_mlp, ONNX Runtime, NumPy, PyTorch, hand-written OpenBLAS ..." >&2
        "$BENCH" --model "$engine_model" --data synthetic --scenario single-stream,offline --batch 8,256 \
            --min-duration-ms "$MS" --min-queries 1024 --workers 1 --blas-threads 1 \
            --format json --quiet --output "$TMP/engine_${i}_$r.json"
        : >"$TMP/peers_${i}_$r.jsonl"
        if [ "$ort_model" = 1 ]; then
            NODE_PATH="$ORT_DIR/node_modules" node "$HERE/ort_peer.js" "$onnx" "$TMP/identity_$i.onnx" \
                --seconds "$SECONDS_PER" --batch 256 --small-batch 8 >>"$TMP/peers_${i}_$r.jsonl" ||
                echo "run_peers.sh: ort_peer.js failed (round $r)" >&2
        fi
        if [ -n "$st" ]; then
            # shellcheck disable=SC2086 # $pre: empty or one word
            "$PY" "$HERE/peers.py" measure "$st" $pre --seconds "$SECONDS_PER" --batch 256 --small-batch 8 >>"$TMP/peers_${i}_$r.jsonl" ||
                echo "run_peers.sh: peers.py failed (round $r)" >&2
        fi
        if [ "$hand_model" = 1 ]; then
            "$TMP/hand_blas" "$TMP/model_$i.raw" "$SECONDS_PER" 256 8 >>"$TMP/peers_${i}_$r.jsonl" ||
                echo "run_peers.sh: hand_blas failed (round $r)" >&2
        fi
    done
done

"$PY" - "$TMP" "$#" "$ROUNDS" "$ORT_OK" <<'EOF'
import json, os, statistics, sys
tmp, n, rounds, ort_ok = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
FW = [("onnxruntime", "ONNX Runtime"), ("numpy", "NumPy"), ("torch", "PyTorch"),
      ("hand", "hand OpenBLAS")]
ctx = None
rows = []
versions = {}
loads = []
files = []  # (file bench_mlp and ONNX Runtime ran, the peers' .safetensors twin, "onnx"|"safetensors")
for i in range(1, n + 1):
    model, twin, kind = open(os.path.join(tmp, "model_%d" % i)).read().split("\n")[:3]
    files.append((model, twin, kind))
    vals = {}  # (framework, metric) -> [one value per round]

    def add(fw, metric, v):
        vals.setdefault((fw, metric), []).append(v)
    for r in range(1, rounds + 1):
        eng = json.load(open(os.path.join(tmp, "engine_%d_%d.json" % (i, r))))
        ctx = eng["context"]
        if ctx.get("load_average"):
            loads.append(ctx["load_average"][0])
        for x in eng["runs"]:
            if x["scenario"] == "single-stream":
                add("bench_mlp", "p50", x["latency_ns"]["p50"] / 1e3)
                add("bench_mlp", "p99", x["latency_ns"]["p99"] / 1e3)
            elif x["scenario"] == "offline":
                b = x["settings"]["offline_batch_size"]
                add("bench_mlp", "thr" if b == 256 else "thr8", x["throughput_samples_per_s"])
        for line in open(os.path.join(tmp, "peers_%d_%d.jsonl" % (i, r))):
            if not line.strip():
                continue
            p = json.loads(line)
            fw = p["framework"]
            versions[fw] = p["name"]
            add(fw, "p50", p["single_stream"]["p50_ns"] / 1e3)
            add(fw, "p99", p["single_stream"]["p99_ns"] / 1e3)
            add(fw, "thr", p["offline"]["samples_per_s"])
            if "offline_small" in p:
                add(fw, "thr8", p["offline_small"]["samples_per_s"])
            if "binding" in p:
                add(fw, "bind", p["binding"]["p50_ns"] / 1e3)
                # ORT's p50 less the identity model's p50, per round (same seconds of the machine)
                add(fw, "net", (p["single_stream"]["p50_ns"] - p["binding"]["p50_ns"]) / 1e3)
    med = {k: statistics.median(v) for k, v in vals.items()}
    for metric, label in [("p50", "b1 latency p50 (µs)"), ("p99", "b1 latency p99 (µs)"),
                          ("thr8", "b8 throughput (samples/s)"),
                          ("thr", "b256 throughput (samples/s)"),
                          ("bind", "ORT binding overhead: identity model b1 p50 (µs)"),
                          ("net", "b1 p50 less the binding overhead (µs)")]:
        fmt = "%.0f" if metric.startswith("thr") else "%.1f"
        if metric in ("bind", "net") and ("onnxruntime", metric) not in vals:
            continue

        def cell(fw):
            v = vals.get((fw, metric if metric != "net" or fw == "onnxruntime" else "p50"))
            if metric in ("bind", "net") and fw not in ("onnxruntime", "bench_mlp"):
                return ""
            if not v:
                return "n/a"
            if len(v) == 1:
                return fmt % v[0]
            return (fmt + " (" + fmt + "–" + fmt + ")") % (statistics.median(v), min(v), max(v))

        def ratio(fw):
            if metric == "bind" or (metric == "net" and fw != "onnxruntime"):
                return ""
            a = med.get((fw, metric))
            e = med.get(("bench_mlp", "p50" if metric == "net" else metric))
            if not a or not e:
                return "n/a"
            return "%.2fx" % (a / e if not metric.startswith("thr") else e / a)
        cells = [cell("bench_mlp") if metric not in ("bind", "net") else
                 (cell("bench_mlp") if metric == "net" else "")]
        rows.append([model, label] + cells + [cell(fw) for fw, _ in FW] + [ratio(fw) for fw, _ in FW])

head = ["model", "metric", "bench_mlp"] + [name for _, name in FW] + \
       ["%s vs bench_mlp" % name for _, name in FW]
print("| " + " | ".join(head) + " |")
print("|---|---|" + "---:|" * (len(head) - 2))
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
print("Median of %d interleaved rounds (range in parentheses). One thread everywhere; "
      "OPENBLAS_CORETYPE=%s; bench_mlp %s (git %s, %s build, kernel %s), %s; %s; %s; %s; %s."
      % (rounds, ctx["blas"]["coretype_env"] or "(unset)", ctx["version"]["library"],
         ctx["version"]["git"], ctx["build_type"], (ctx.get("kernels") or {}).get("kernel", "?"),
         ctx["blas"]["version"],
         versions.get("onnxruntime", "ONNX Runtime n/a" if not ort_ok else "ONNX Runtime ?"),
         versions.get("numpy", "NumPy ?"), versions.get("torch", "PyTorch ?"),
         versions.get("hand", "hand-written OpenBLAS n/a")))
same = [m for m, _, k in files if k == "onnx"]
print("Files: bench_mlp (--model) and ONNX Runtime ran the same .onnx file, the one named in "
      "the model column%s; NumPy, PyTorch and the hand-written forward its .safetensors twin "
      "(same weights): %s. A .safetensors argument is exported to a plain NAME_plain.onnx first "
      "(tools/export_onnx.py --opset 17 --preprocess none). n/a: the peer cannot run that model "
      "(hand-written OpenBLAS: linear/relu/softmax only, no in-graph preprocessing) or has no file for it."
      % ("" if len(same) == len(files) else
         " (except %s: bench_mlp on the .safetensors, ONNX Runtime n/a)"
         % ", ".join(m for m, _, k in files if k != "onnx"),
         "; ".join("%s <- %s" % (m, t) for m, t, _ in files)))
print("CPU: %s, %s cores; 1-min load average during the runs %.1f-%.1f. Ratio > 1: bench_mlp "
      "is faster (peer latency / bench_mlp latency; bench_mlp samples/s / peer samples/s). "
      "Percentiles: sorted[floor(N*p)]. ONNX Runtime is called through its Node binding "
      "(await session.run); its binding overhead is the b1 p50 of an identity model of the same "
      "input width, and the last row subtracts it round by round." % (ctx["cpu"], ctx["cores"], min(loads or [0]),
                                            max(loads or [0])))
EOF
