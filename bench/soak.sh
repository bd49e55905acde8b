#!/bin/bash
# soak.sh — a long server run at the highest rate this machine sustains,
# first with the null SUT (the harness alone), then with the shipped model; the process's
# RSS sampled every second. Passes when each run is VALID and its RSS grows by no more
# than the stated bytes per query (docs/reliability.md) over the measured part.
#   usage: bench/soak.sh [--minutes M] [--bench PATH] [--null-qps Q] [--model-qps Q]
#   default: 10 minutes per run; rates found with a short find-peak (x 0.8) unless given,
#   lowered to what half of MemAvailable holds for the whole run (see mem_cap below).
# Prints one Markdown table row per run (the table of docs/reliability.md).
set -u
cd "$(dirname "$0")/.." || exit 1
MODEL=models/fashion_mlp.safetensors
minutes=10
B=build/bench/bench_mlp
null_qps=""
model_qps=""
budget=40    # allowed bytes per query of RSS growth (server: ~25 B of records + 8 B schedule)
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        --bench) B="$2"; shift 2 ;;
        --null-qps) null_qps="$2"; shift 2 ;;
        --model-qps) model_qps="$2"; shift 2 ;;
        *) echo "usage: $0 [--minutes M] [--bench PATH] [--null-qps Q] [--model-qps Q]" >&2; exit 2 ;;
    esac
done
T=$(mktemp -d "${TMPDIR:-/tmp}/tmlp_soak_XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
ms=$((minutes * 60000))

peak() { # $1 = model spec: 0.8 x the find-peak of a short search
    "$B" --model "$1" --scenario server --mode find-peak --target-qps "$2" --min-duration-ms 1000 \
        --find-peak-budget-ms 30000 --quiet --format json --no-raw-latencies --monitor-interval-ms 0 \
        --output "$T/peak.json" >/dev/null 2>&1
    python3 -c "import json,sys; r=json.load(open('$T/peak.json'))['runs'][0]; print(int(0.8*float(r.get('peak_qps') or r['find_peak']['peak_qps'])))" 2>/dev/null
}

soak() { # $1 = name, $2 = model spec, $3 = qps
    local name="$1" model="$2" qps="$3"
    "$B" --model "$model" --scenario server --target-qps "$qps" --min-duration-ms "$ms" \
        --max-duration-ms $((ms + 60000)) --min-queries 1 --quiet --format json --no-raw-latencies \
        --monitor-interval-ms 0 --output "$T/$name.json" >"$T/$name.out" 2>"$T/$name.err" &
    local pid=$! t=0
    : >"$T/$name.rss"
    while kill -0 $pid 2>/dev/null; do
        rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null)
        [ -n "$rss" ] && echo "$t $rss" >>"$T/$name.rss"
        sleep 1
        t=$((t + 1))
    done
    wait $pid
    local rc=$?
    python3 - "$T/$name.json" "$T/$name.rss" "$name" "$qps" "$rc" "$budget" <<'PY'
import json, sys
doc, rssf, name, qps, rc, budget = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
try:
    r = json.load(open(doc))["runs"][0]
except Exception as e:
    print(f"| {name} | {qps:.0f} | - | - | - | - | - | FAIL (exit {rc}: no results) |"); sys.exit(1)
pts = [tuple(map(int, l.split())) for l in open(rssf) if l.strip()]
# growth over the measured part: from 10% of the samples (warm, schedule allocated) to the
# last sample taken while the run was still issuing (before the result is built)
dur = r["duration_ns"] / 1e9 if "duration_ns" in r else 0
issuing = [p for p in pts if p[0] <= dur] or pts
a = issuing[len(issuing) // 10]
b = issuing[-1]
q = r["queries"]
dq = q * (b[0] - a[0]) / max(dur, 1e-9)
per_q = (b[1] - a[1]) * 1024 / max(dq, 1)
peak = max(p[1] for p in pts) / 1024
valid = r["valid"]
ok = valid and per_q <= budget and rc == 0
p99 = r["latency_ns"]["p99"] / 1e3 if r.get("latency_ns") else float("nan")
print(f"| {name} | {qps:.0f} | {q} | {dur:.0f} s | {p99:.1f} us | {peak:.0f} MiB | {per_q:.1f} B/query | "
      f"{'VALID' if valid else 'INVALID'}{'' if ok else ' FAIL'} |")
sys.exit(0 if ok else 1)
PY
}

# A run keeps ~33 bytes per server query until it ends (tmlp_bench_estimate_memory), so over
# M minutes memory caps the rate as much as the CPU does: the null SUT sustains millions of
# queries/s, but 10 minutes of 6M QPS would need ~120 GB. Cap each rate so the whole run
# (with the extra minute --max-duration-ms allows) fits in half of MemAvailable.
mem_cap() {
    awk -v s=$((minutes * 60 + 60)) '/MemAvailable/ { printf "%d\n", $2 * 1024 * 0.5 / (40 * s) }' /proc/meminfo
}
cap=$(mem_cap)
capped() { # $1 = rate from find-peak: the lower of it and the memory cap
    if [ -n "$1" ] && [ -n "$cap" ] && [ "$1" -gt "$cap" ]; then
        echo "soak: $1 QPS would not fit in memory for $minutes min; capped at $cap QPS" >&2
        echo "$cap"
    else echo "$1"; fi
}
[ -n "$null_qps" ] || null_qps=$(capped "$(peak null 1000000)")
[ -n "$model_qps" ] || model_qps=$(capped "$(peak "$MODEL" 100000)")
echo "soak: $minutes min per run; null at ${null_qps:-?} QPS, model at ${model_qps:-?} QPS" >&2
echo "| SUT | target QPS | queries | duration | p99 | peak RSS | RSS growth | verdict |"
echo "|---|---|---|---|---|---|---|---|"
st=0
soak null null "${null_qps:-100000}" || st=1
soak model "$MODEL" "${model_qps:-10000}" || st=1
exit $st
