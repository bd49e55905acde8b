#!/bin/bash
# aa_rate.sh — how often does the regression gate cry wolf, and does it still catch a real
# slowdown? For each repetition mode (--repeat-mode process: the
# repetitions in one process; exec: each repetition a fresh process):
#   A/A:  PAIRS back-to-back pairs of the same command (A, then B), `bench_mlp regress A B`
#         on each: a false alarm is exit 3 (a REGRESSION verdict on an unchanged system);
#         any metric flagged either way is counted too;
#   slow: SLOW_PAIRS pairs where B runs a wider model than A — the shipped model's shape
#         784-256-128-10 against 784-292-128-10, on the same synthetic data — and
#         `regress --force` (the workloads differ by design); caught = exit 3. 292 was
#         chosen for the TIME it takes, not its FLOPs: 267,584 vs 234,752 multiply-adds per
#         sample is 1.14x, but the packed kernels work in 64-output panels, and on the
#         development machine it measured ~1.2x the single-stream p50 (1.22, 1.23 in two
#         500 ms runs; multi-stream 1.17). The slowdown each pair actually showed is
#         printed (median B/A of the single-stream p50).
# Every run is `bench_mlp --quick --repeat REPS` of all four scenarios (the gate's
# recommended use), JSON to a temporary directory.
#   usage: bench/aa_rate.sh [BENCH_MLP] [PAIRS (40)] [MODES (process,exec)] [SLOW_PAIRS (PAIRS)]
#          [REPS (5)] [extra bench_mlp options...]
# Prints one line per pair as it goes, then a table per mode. Not a test: the shared machine
# decides how noisy it is; the load average is printed with every pair.
cd "$(dirname "$0")/.." || exit 1
B=${1:-build/bench/bench_mlp}
pairs=${2:-40}
modes=${3:-process,exec}
slow=${4:-$pairs}
reps=${5:-5}
shift 5 2>/dev/null
python3 - "$B" "$pairs" "$modes" "$slow" "$reps" "$@" <<'PY'
import json, os, statistics, subprocess, sys, tempfile, time
b, pairs, modes, slow, reps, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4]), sys.argv[5], sys.argv[6:]
MODEL_A, MODEL_B = "synthetic:784x256x128x10", "synthetic:784x292x128x10"
tmp = tempfile.mkdtemp(prefix="aa_rate_")

def load():
    return open("/proc/loadavg").read().split()[0]

def run(mode, model, out):
    cmd = [b, "--quick", "--quiet", "--repeat", reps, "--repeat-mode", mode, "--model", model, "--data", "synthetic",
           "--format", "json", "--output", out] + extra
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"aa_rate: {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")

def p50(path):
    d = json.load(open(path))
    return next(r["latency_ns"]["p50"] for r in d["runs"] if r["scenario"] == "single-stream")

def gate(a, bb, force):
    p = subprocess.run([b, "regress"] + (["--force"] if force else []) + [a, bb], capture_output=True, text=True)
    flagged = sum(1 for l in p.stdout.splitlines() if l.endswith("REGRESSION") or " REGRESSION (" in l
                  or l.endswith("improvement") or " improvement (" in l)
    if p.returncode not in (0, 3):
        sys.exit(f"aa_rate: regress exited {p.returncode}: {p.stderr.strip()}")
    return p.returncode == 3, flagged

results = {m: {"aa": 0, "aa_any": 0, "aa_n": 0, "slow": 0, "slow_n": 0, "ratio": [], "secs": 0.0} for m in modes}
t0 = time.time()
# The modes take turns pair by pair, so a burst of someone else's work on the shared machine
# lands on both rather than on whichever mode happened to run then.
for i in range(pairs):
    for mode in modes:
        r, start = results[mode], time.time()
        a, bb = f"{tmp}/{mode}_aa_{i}_a.json", f"{tmp}/{mode}_aa_{i}_b.json"
        run(mode, MODEL_A, a)
        run(mode, MODEL_A, bb)
        alarm, flagged = gate(a, bb, False)
        r["aa"] += alarm
        r["aa_any"] += flagged > 0
        r["aa_n"] += 1
        r["secs"] += time.time() - start
        print(f"{mode:7s} A/A  pair {i + 1:2d}/{pairs}: {'FALSE ALARM' if alarm else 'pass':11s} "
              f"({flagged} metrics flagged), load {load()}", flush=True)
for i in range(slow):
    for mode in modes:
        r, start = results[mode], time.time()
        a, bb = f"{tmp}/{mode}_slow_{i}_a.json", f"{tmp}/{mode}_slow_{i}_b.json"
        run(mode, MODEL_A, a)
        run(mode, MODEL_B, bb)
        caught, flagged = gate(a, bb, True)
        r["slow"] += caught
        r["slow_n"] += 1
        r["ratio"].append(p50(bb) / p50(a))
        r["secs"] += time.time() - start
        print(f"{mode:7s} slow pair {i + 1:2d}/{slow}: {'caught' if caught else 'MISSED':11s} "
              f"(p50 B/A {r['ratio'][-1]:.3f}), load {load()}", flush=True)

print(f"\naa_rate: {pairs} A/A pairs and {slow} slowdown pairs per mode, --quick --repeat {reps}, all scenarios; "
      f"{time.time() - t0:.0f} s in all")
print(f"{'mode':8s} {'A/A false alarms (exit 3)':>26s} {'A/A any metric flagged':>23s} "
      f"{'~1.2x slower caught':>20s} {'measured p50 B/A':>17s} {'time':>7s}")
for mode, r in results.items():
    fa = f"{r['aa']}/{r['aa_n']} ({100 * r['aa'] / max(r['aa_n'], 1):.0f}%)"
    an = f"{r['aa_any']}/{r['aa_n']}"
    ca = f"{r['slow']}/{r['slow_n']} ({100 * r['slow'] / max(r['slow_n'], 1):.0f}%)" if r["slow_n"] else "-"
    ra = f"{statistics.median(r['ratio']):.3f}" if r["ratio"] else "-"
    print(f"{mode:8s} {fa:>26s} {an:>23s} {ca:>20s} {ra:>17s} {r['secs']:6.0f}s")
PY
