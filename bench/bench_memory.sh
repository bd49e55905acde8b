#!/bin/bash
# bench_memory.sh — bytes kept per query: peak resident memory (VmHWM,
# the child's ru_maxrss) of a default null single-stream run with JSON output, at two
# durations; the difference over the difference in queries cancels the fixed costs
# (program, BLAS, the JSON of the summary). Target: <= 24 bytes per query by default
# (docs/reliability.md). Extra options are passed on: `--raw-latencies` shows what the
# per-query arrays in the JSON cost.
#   usage: bench/bench_memory.sh [BENCH_MLP] [SHORT_S] [LONG_S] [extra bench_mlp options]
# Prints: queries and peak KiB of each run, then bytes/query; exit 1 above the target.
cd "$(dirname "$0")/.." || exit 1
B=${1:-build/bench/bench_mlp}
short=${2:-1}
long=${3:-5}
shift 3 2>/dev/null
python3 - "$B" "$short" "$long" "$@" <<'PY'
import json, os, resource, subprocess, sys, tempfile
b, short, long_, extra = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
def run(sec):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        cmd = [b, "--model", "null", "--scenario", "single-stream", "--min-duration-ms", str(int(sec * 1000)),
               "--max-duration-ms", str(int(sec * 1000) + 1000), "--quiet", "--monitor-interval-ms", "0",
               "--format", "json", "--output", out] + extra
        # one child per measurement: ru_maxrss of RUSAGE_CHILDREN is the largest child's so
        # far, so run the short one first, the long one second (it is the larger)
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL)
        if p.returncode != 0:
            sys.exit(f"bench_memory: {' '.join(cmd)} exited {p.returncode}")
        q = json.load(open(out))["runs"][0]["queries"]
    return q, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
q1, h1 = run(short)
q2, h2 = run(long_)
per = (h2 - h1) * 1024 / max(q2 - q1, 1)
print(f"short: {q1} queries, peak {h1} KiB")
print(f"long:  {q2} queries, peak {h2} KiB")
print(f"bytes per query at peak: {per:.1f} (target <= 24 by default){' with ' + ' '.join(extra) if extra else ''}")
sys.exit(0 if per <= 24 else 1)
PY
