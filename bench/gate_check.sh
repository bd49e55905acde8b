#!/usr/bin/env bash
# gate_check.sh — the regression gate on the real binary, end to end (a benchmark, not a
# test: it runs for a few minutes and its outcome depends on the machine's noise).
#
#   bench/gate_check.sh [build/bench/bench_mlp] [REPEAT]        (REPEAT defaults to 5)
#
# 1. Three back-to-back A/A pairs: the same command twice, `regress` between them. With
#    run-level statistics these must pass (exit 0): drift between two runs of one
#    workload is what the repetitions measure, not a regression.
# 2. A model with twice the FLOPs (784-256-10 vs 784-128-10, --force since the workloads
#    differ): must fail the gate (exit 3).
# 3. The same pair without --force: refused (exit 2), each difference named.
# 4. LoadGen-exact offline: --min-duration-ms 10000 finishes VALID; --min-queries 24576
#    counts samples and finishes VALID with >= 24576 of them; two runs, one digest.
# Prints one line per check with the exit codes and the summaries.
set -u
B=${1:-build/bench/bench_mlp}
N=${2:-5}
T=$(mktemp -d /tmp/tmlp_gate.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
line() { printf '%-58s %s\n' "$1" "$2"; }
run() { "$B" --quick --quiet --repeat "$N" --format json "$@"; }
summary() { grep '^Summary:' "$1" | sed 's/^Summary: //'; }

echo "gate_check: $("$B" --version), --repeat $N, load average $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores"
for p in 1 2 3; do
    run --output "$T/a$p.json" && run --output "$T/b$p.json" || { echo "run failed"; exit 1; }
    "$B" regress "$T/a$p.json" "$T/b$p.json" > "$T/g$p" 2>&1; rc=$?
    [ $rc -eq 0 ] || fails=$((fails + 1))
    line "A/A pair $p (shipped model, all scenarios): exit $rc" "$(summary "$T/g$p")"
done
run --model synthetic:784x128x10 --output "$T/small.json" && run --model synthetic:784x256x10 --output "$T/big.json" \
    || { echo "run failed"; exit 1; }
"$B" regress --force "$T/small.json" "$T/big.json" > "$T/g2x" 2>&1; rc=$?
[ $rc -eq 3 ] || fails=$((fails + 1))
line "2x FLOPs (784-128-10 -> 784-256-10, --force): exit $rc" "$(summary "$T/g2x")"
"$B" regress "$T/small.json" "$T/big.json" > "$T/gdiff" 2>&1; rc=$?
[ $rc -eq 2 ] || fails=$((fails + 1))
line "different workloads, no --force: exit $rc" "$(grep -c 'not comparable' "$T/gdiff") differences named"

"$B" --quiet --scenario offline --min-duration-ms 10000 --format json --output "$T/o10.json"; rc=$?
v=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]; print(r["valid"], r["samples"], round(r["duration_ns"]/1e9, 2), "s")' "$T/o10.json")
case "$v" in True*) ;; *) fails=$((fails + 1)) ;; esac
line "offline --min-duration-ms 10000: exit $rc" "valid, samples, duration: $v"
for k in 1 2; do
    "$B" --quiet --scenario offline --min-duration-ms 100 --min-queries 24576 --format json --output "$T/q$k.json"
done
v=$(python3 -c 'import json,sys; a,b=[json.load(open(f))["runs"][0] for f in sys.argv[1:]]; print(a["valid"], a["samples"], a["workload_digest"] == b["workload_digest"])' "$T/q1.json" "$T/q2.json")
case "$v" in "True "*" True") ;; *) fails=$((fails + 1)) ;; esac
line "offline --min-queries 24576 (twice)" "valid, samples, same digest: $v"
echo "gate_check: $fails unexpected outcome(s)"
exit $((fails > 0))
