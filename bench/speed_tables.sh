#!/bin/bash
# speed_tables.sh — every table of docs/performance.md's "Speed tables" section in one run,
# with the machine's load beside each (a shared machine moves every figure; the tables are
# only comparable at the load they were taken under).
#
#   usage: bench/speed_tables.sh [BUILD_DIR (build)] [--quick]
#
#   1. bench_forward --threads 2: the engine (kernel from cpuid, BLAS above the crossover)
#      and each kernel forced (scalar, avx2, avx512, blas) against a hand-written OpenBLAS
#      forward, the roof (engine / one plain read of the weight bytes at batch 1) and the
#      engine on 2 intra-op threads (wall time); the avx2 column is the AVX2 class of CPUs
#      run on this one (forced), not an AVX2-only machine;
#   2. bench_forward --lowp: batch 1 at F32, BF16 and INT8 on avx2 (forced) and avx512;
#   3. bench_forward --u8: the u8 input stage's share of a batch-256 query;
#   4. bench_mlp with TMLP_KERNELS=avx2 against the default kernel: single-stream and
#      offline b256 on the shipped model, interleaved, 3 rounds;
#   5. bench_forward --p99: batch-1 wall latency percentiles, engine against the hand-written
#      sgemv forward in one process (where a p99 gap comes from);
#   6. bench/peers/run_peers.sh --rounds 3: bench_mlp against ONNX Runtime, NumPy, PyTorch
#      and the hand-written OpenBLAS forward (b1 p50 and p99, b8, b256) on the shipped
#      model, 784-512-512-10 and its LayerNorm+GELU twin.
# ~8 minutes on 2 cores (--quick: ~2, for checking the script, not for figures).
# OPENBLAS_CORETYPE=Haswell unless set (docs/performance.md, "OpenBLAS's kernels").
set -u
cd "$(dirname "$0")/.." || exit 1
B=build
QUICK=
for a in "$@"; do
    case $a in
    --quick) QUICK=--quick ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    *) B=$a ;;
    esac
done
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
BF=$B/bench/bench_forward
BM=$B/bench/bench_mlp
[ -x "$BF" ] && [ -x "$BM" ] || { echo "speed_tables.sh: build $B first (meson compile -C $B)" >&2; exit 1; }
load() { echo "load average (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M:%SZ)"; }

echo "# speed tables $(date -u +%Y-%m-%d) | git $(git rev-parse --short HEAD 2>/dev/null || echo ?)" \
     "| CPU:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')" \
     "model $(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' '))," \
     "$(nproc) cores | OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
echo "# vector extensions: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512bw|avx512vl|avx512_bf16|avx512_vnni|avx512vbmi|avx_vnni)$' | tr '\n' ' ')"
load

echo; echo "## 1. bench_forward $QUICK --threads 2"
"$BF" $QUICK --threads 2
load

echo; echo "## 2. bench_forward $QUICK --lowp"
"$BF" $QUICK --lowp
load

echo; echo "## 3. bench_forward $QUICK --u8"
"$BF" $QUICK --u8
load

echo; echo "## 4. bench_mlp, shipped model, synthetic data: cpuid's kernel vs TMLP_KERNELS=avx2 (forced)"
ms=1000; [ -n "$QUICK" ] && ms=300
printf '%-8s %-6s %14s %14s %18s\n' round kernel "b1 p50 (us)" "b1 p99 (us)" "b256 samples/s"
for r in 1 2 3; do
    for k in cpuid avx2; do
        if [ $k = avx2 ]; then env_k="TMLP_KERNELS=avx2"; else env_k="TMLP_KERNELS="; fi
        out=$(env $env_k "$BM" run --data synthetic --scenario single-stream,offline --batch 256 \
              --min-duration-ms $ms --format json 2>/dev/null)
        echo "$out" | python3 -c '
import json, sys
r, k = sys.argv[1], sys.argv[2]
try:
    d = json.load(sys.stdin)
except Exception:
    print("%-8s %-6s %14s %14s %18s" % (r, k, "n/a", "n/a", "n/a")); sys.exit(0)
p50 = p99 = sps = float("nan")
for x in d.get("runs", []):
    if x["scenario"] == "single-stream":
        p50, p99 = x["latency_ns"]["p50"] / 1e3, x["latency_ns"]["p99"] / 1e3
    elif x["scenario"] == "offline":
        sps = x["throughput_samples_per_s"]
print("%-8s %-6s %14.2f %14.2f %18.0f" % (r, k, p50, p99, sps))
' "$r" "$k"
    done
done
load

echo; echo "## 5. bench_forward $QUICK --p99"
"$BF" $QUICK --p99
load

echo; echo "## 6. bench/peers/run_peers.sh --rounds 3"
if [ -n "$QUICK" ]; then bench/peers/run_peers.sh --rounds 1 --seconds 0.3 --bench "$BM"
else bench/peers/run_peers.sh --rounds 3 --bench "$BM"; fi
load
