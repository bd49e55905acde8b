#!/bin/sh
# run_peers.sh — bench_mlp against NumPy and PyTorch on the same model files, in one
# invocation, one table with all figures and the ratios.
#
#     bench/peers/run_peers.sh [--bench PATH/TO/bench_mlp] [--seconds S] [--rounds R]
#                              [MODEL.safetensors ...]
#
# Default models: models/fashion_mlp.safetensors (if present) and a seeded random
# 784-512-512-10 MLP written to a temporary file (the "mnist" shape of
# docs/performance.md). Every framework runs on ONE thread
# (OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1, torch.set_num_threads(1), bench_mlp
# --workers 1 --blas-threads 1) with OPENBLAS_CORETYPE=Haswell unless already set.
# Metrics, per model:
#   single-stream  batch-1 latency p50 and p99 (LoadGen rule sorted[floor(N*p)]), µs
#   offline        batch-256 throughput, samples/s
# Ratios are "peer / bench_mlp" for latency and "bench_mlp / peer" for throughput, so a
# ratio above 1 always means bench_mlp is faster. Drift: the three are INTERLEAVED in R
# rounds (default 3: bench_mlp, then NumPy and PyTorch, per round) of S seconds per
# scenario (default 1) and each figure is the median over the rounds, with the range.
# The machine may be shared (the load average is printed): re-run before believing a
# difference under ~10%.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
BENCH=
SECONDS_PER=1
ROUNDS=3
while [ $# -gt 0 ]; do
    case $1 in
    --bench) BENCH=$2; shift 2 ;;
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
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

export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

if [ $# -eq 0 ]; then
    [ -r "$ROOT/models/fashion_mlp.safetensors" ] && set -- "$ROOT/models/fashion_mlp.safetensors"
    "$PY" "$HERE/peers.py" make-model 784x512x512x10 "$TMP/mlp_784x512x512x10.safetensors"
    set -- "$@" "$TMP/mlp_784x512x512x10.safetensors"
fi

i=0
for m in "$@"; do
    i=$((i + 1))
    echo "$m" >"$TMP/model_$i"
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        r=$((r + 1))
        echo "[model $i/$#, round $r/$ROUNDS] $(basename "$m"): bench_mlp, NumPy, PyTorch ..." >&2
        "$BENCH" --model "$m" --data synthetic --scenario single-stream,offline --batch 256 \
            --min-duration-ms "$((SECONDS_PER * 1000))" --min-queries 1024 --workers 1 --blas-threads 1 \
            --format json --quiet --output "$TMP/engine_${i}_$r.json"
        "$PY" "$HERE/peers.py" measure "$m" --seconds "$SECONDS_PER" --batch 256 >"$TMP/peers_${i}_$r.jsonl"
    done
done

"$PY" - "$TMP" "$#" "$ROUNDS" <<'EOF'
import json, os, statistics, sys
tmp, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ctx = None
rows = []
versions = {}
loads = []
for i in range(1, n + 1):
    model = os.path.basename(open(os.path.join(tmp, "model_%d" % i)).read().strip())
    vals = {}  # (framework, metric) -> [one value per round]
    for r in range(1, rounds + 1):
        eng = json.load(open(os.path.join(tmp, "engine_%d_%d.json" % (i, r))))
        ctx = eng["context"]
        if ctx.get("load_average"):
            loads.append(ctx["load_average"][0])
        runs = {x["scenario"]: x for x in eng["runs"]}
        ss, off = runs["single-stream"], runs["offline"]
        vals.setdefault(("bench_mlp", "p50"), []).append(ss["latency_ns"]["p50"] / 1e3)
        vals.setdefault(("bench_mlp", "p99"), []).append(ss["latency_ns"]["p99"] / 1e3)
        vals.setdefault(("bench_mlp", "thr"), []).append(off["throughput_samples_per_s"])
        for line in open(os.path.join(tmp, "peers_%d_%d.jsonl" % (i, r))):
            if not line.strip():
                continue
            p = json.loads(line)
            versions[p["framework"]] = p["name"]
            vals.setdefault((p["framework"], "p50"), []).append(p["single_stream"]["p50_ns"] / 1e3)
            vals.setdefault((p["framework"], "p99"), []).append(p["single_stream"]["p99_ns"] / 1e3)
            vals.setdefault((p["framework"], "thr"), []).append(p["offline"]["samples_per_s"])
    med = {k: statistics.median(v) for k, v in vals.items()}
    for metric, label in [("p50", "batch-1 latency p50 (µs)"), ("p99", "batch-1 latency p99 (µs)"),
                          ("thr", "batch-256 throughput (samples/s)")]:
        fmt = "%.1f" if metric != "thr" else "%.0f"

        def cell(fw):
            v = vals.get((fw, metric))
            if not v:
                return "-"
            if len(v) == 1:
                return fmt % v[0]
            return (fmt + " (" + fmt + "–" + fmt + ")") % (statistics.median(v), min(v), max(v))

        def ratio(fw):
            a, e = med.get((fw, metric)), med.get(("bench_mlp", metric))
            if not a or not e:
                return "-"
            return "%.2fx" % (a / e if metric != "thr" else e / a)
        rows.append([model, label, cell("bench_mlp"), cell("numpy"), cell("torch"),
                     ratio("numpy"), ratio("torch")])

head = ["model", "metric", "bench_mlp", "NumPy", "PyTorch", "NumPy vs bench_mlp",
        "PyTorch vs bench_mlp"]
print("| " + " | ".join(head) + " |")
print("|---|---|" + "---:|" * (len(head) - 2))
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
print("Median of %d interleaved rounds (range in parentheses). One thread everywhere; "
      "OPENBLAS_CORETYPE=%s; bench_mlp %s (git %s, %s build), %s; %s; %s."
      % (rounds, ctx["blas"]["coretype_env"] or "(unset)", ctx["version"]["library"],
         ctx["version"]["git"], ctx["build_type"], ctx["blas"]["version"],
         versions.get("numpy", "NumPy ?"), versions.get("torch", "PyTorch ?")))
print("CPU: %s, %s cores; 1-min load average during the runs %.1f-%.1f. Ratio > 1: bench_mlp "
      "is faster (peer latency / bench_mlp latency; bench_mlp samples/s / peer samples/s). "
      "Percentiles: sorted[floor(N*p)]." % (ctx["cpu"], ctx["cores"], min(loads or [0]),
                                            max(loads or [0])))
EOF
