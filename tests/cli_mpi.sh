#!/bin/sh
# cli_mpi.sh — bench_mlp under mpirun on localhost (meson suite 'cli'; docs/bench_mlp.md, "More than
# one machine").
#
#     tests/cli_mpi.sh path/to/bench_mlp HAVE_MPI(1|0)
#
# Checks, each mpirun bounded by `timeout` so a hang fails instead of blocking CI:
#   - --mode accuracy on 3 ranks: merged 8,971 of 10,000 and the same confusion matrix as
#     one process; 3 per-rank entries whose samples add up to 10,000;
#   - --quick offline and server on 2 ranks: merged queries and samples = the sum of the
#     per-rank ones; the merged server percentiles equal those recomputed here from the
#     gathered latencies (LoadGen's sorted[floor(N p)]; offline's are over samples, which
#     the JSON does not hold: there the slowest sample must end the run); --offline-samples
#     is the total over the ranks; context.mpi names 2 ranks and their hosts;
#     the server digest is the same on a second run and differs on 3 ranks;
#   - single- and multi-stream on 2 ranks: labelled as 2 streams, per-rank figures;
#   - one rank that cannot load its model: every rank exits 1 within 30 s and one line
#     names the failing rank and its host.
# Without MPI (HAVE_MPI=0) it checks that a launch as several ranks is refused, then exits
# 77 (meson: SKIP) saying why.
BIN=${1:?usage: cli_mpi.sh path/to/bench_mlp HAVE_MPI}
HAVE_MPI=${2:?usage: cli_mpi.sh path/to/bench_mlp HAVE_MPI}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OPENBLAS_NUM_THREADS=1
# Root in CI containers; oversubscribe: 3 ranks on 2 cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
PY=python3
# Under ASan (the CI's second build): Open MPI's own allocations at exit are suppressed by
# library (lsan_mpi.supp); full malloc stacks so the suppression sees those frames.
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan_mpi.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }

if [ "$HAVE_MPI" != 1 ]; then
    OMPI_COMM_WORLD_SIZE=3 "$BIN" --quick --model null >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q "built without MPI" "$TMP/err"; then
        echo "ok   - without MPI, a launch as 3 ranks is refused (exit 1, says why)"
    else
        echo "FAIL - without MPI, a launch as 3 ranks: exit $rc"; cat "$TMP/err"; exit 1
    fi
    echo "SKIP: bench_mlp was built without MPI (meson -Dmpi=disabled or libopenmpi-dev missing): mpirun tests not run"
    exit 77
fi
MPIRUN=$(command -v mpirun) || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }

# mpirun N ARGS...: bench_mlp on N local ranks, at most 60 s.
run() {
    n=$1
    shift
    timeout -k 5 60 "$MPIRUN" --oversubscribe -n "$n" "$BIN" "$@"
}

# --- accuracy: 3 ranks = 1 process --------------------------------------------------------
if [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    "$BIN" --mode accuracy --format json --quiet -o "$TMP/acc1.json" 2>"$TMP/err1"
    run 3 --mode accuracy --format json --quiet -o "$TMP/acc3.json" 2>"$TMP/err3"
    rc=$?
    if [ $rc -eq 0 ] && $PY - "$TMP/acc1.json" "$TMP/acc3.json" <<'PYEOF'
import json, sys
one = json.load(open(sys.argv[1]))["runs"][0]
doc = json.load(open(sys.argv[2]))
three = doc["runs"][0]
assert doc["context"]["mpi"]["ranks"] == 3, doc["context"].get("mpi")
assert three["accuracy"]["correct"] == 8971 and three["accuracy"]["total"] == 10000, three["accuracy"]
assert three["confusion_matrix"] == one["confusion_matrix"], "confusion matrices differ"
assert one["accuracy"] == three["accuracy"]
pr = three["per_rank"]
assert len(pr) == 3 and sum(p["samples"] for p in pr) == 10000, pr
assert [p["samples"] for p in pr] == [3334, 3333, 3333], [p["samples"] for p in pr]
PYEOF
    then ok "accuracy on 3 ranks: 8971 of 10000, confusion matrix = one process, shards 3334/3333/3333"
    else bad "accuracy on 3 ranks (exit $rc)"; cat "$TMP/err3"; fi
else
    echo "skip - accuracy on 3 ranks: Fashion-MNIST not installed (scripts/setup.sh installs it)"
fi

# --- offline and server --quick on 2 ranks: merged = union of the ranks' records ---------
check_merged() { # file ranks
    $PY - "$1" "$2" <<'PYEOF'
import json, math, sys
doc = json.load(open(sys.argv[1]))
k = int(sys.argv[2])
ctx = doc["context"]["mpi"]
assert ctx["ranks"] == k and len(ctx["hosts"]) == k, ctx
for r in doc["runs"]:
    pr = r["per_rank"]
    assert len(pr) == k, (r["label"], len(pr))
    assert r["queries"] == sum(p["queries"] for p in pr), (r["label"], r["queries"])
    assert r["samples"] == sum(p["samples"] for p in pr), (r["label"], r["samples"])
    lat = sorted(x for x in r["latencies_ns"] if x >= 0)
    assert len(r["latencies_ns"]) == r["queries"]
    if r["scenario"] == "offline":
        # offline percentiles are over the samples (not in the JSON); the slowest sample
        # of all ranks ends the run: its latency from the common start is the duration
        assert r["latency_ns"]["max"] == r["duration_ns"], (r["latency_ns"]["max"], r["duration_ns"])
        assert r["duration_ns"] == max(p["duration_ns"] for p in pr)
        assert r["settings"]["offline_sample_count"] == 0 or r["samples"] == r["settings"]["offline_sample_count"]
        continue
    for key, p in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99)):
        want = lat[min(int(math.floor(len(lat) * p)), len(lat) - 1)]  # LoadGen: sorted[floor(N p)]
        got = r["latency_ns"][key]
        assert got == want, (r["label"], key, got, want)
    if r["scenario"] == "server":
        assert r["settings"]["target_qps"] == r["target_qps"]
        print("server digest", r["workload_digest"])
PYEOF
}
run 2 --quick --scenario offline,server --offline-samples 5000 --format json --raw-latencies --quiet -o "$TMP/q2.json" 2>"$TMP/err"
rc=$?
if [ $rc -eq 0 ] && check_merged "$TMP/q2.json" 2 >"$TMP/d1"; then
    ok "offline + server on 2 ranks: counts = sum of per-rank, percentiles = recomputed from gathered latencies"
else bad "offline + server on 2 ranks (exit $rc)"; cat "$TMP/err" "$TMP/d1"; fi

run 2 --quick --scenario server --format json --raw-latencies --quiet -o "$TMP/s2.json" 2>"$TMP/err" &&
    check_merged "$TMP/s2.json" 2 >"$TMP/d2"
run 3 --quick --scenario server --format json --raw-latencies --quiet -o "$TMP/s3.json" 2>>"$TMP/err" &&
    check_merged "$TMP/s3.json" 3 >"$TMP/d3"
if [ -s "$TMP/d1" ] && cmp -s "$TMP/d1" "$TMP/d2" && [ -s "$TMP/d3" ] && ! cmp -s "$TMP/d2" "$TMP/d3"; then
    ok "server digest: same on 2 ranks twice, different on 3 ranks (covers the split)"
else bad "server digest"; cat "$TMP/d1" "$TMP/d2" "$TMP/d3" "$TMP/err"; fi

# --- closed loops: one stream per rank -----------------------------------------------------
run 2 --quick --scenario single-stream,multi-stream -o "$TMP/ss.txt" 2>"$TMP/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "single-stream (2 streams)" "$TMP/ss.txt" &&
   grep -q "multi-stream (2 streams)" "$TMP/ss.txt" && grep -q "^Per rank" "$TMP/ss.txt" &&
   [ "$(grep -c 'rank [01] (' "$TMP/ss.txt")" -eq 4 ] && grep -q "^mpi      : 2 ranks" "$TMP/ss.txt"; then
    ok "single/multi-stream on 2 ranks: labelled 2 streams, 2 per-rank lines each"
else bad "single/multi-stream on 2 ranks (exit $rc)"; cat "$TMP/ss.txt" "$TMP/err"; fi

# --- one rank cannot load: all exit 1, no hang ----------------------------------------------
start=$(date +%s)
timeout -k 5 30 "$MPIRUN" --oversubscribe -n 2 "$BIN" --quick --model null --scenario offline : \
    -n 1 "$BIN" --quick --model "$TMP/missing.safetensors" --scenario offline >"$TMP/out" 2>"$TMP/err"
rc=$?
took=$(( $(date +%s) - start ))
if [ $rc -eq 1 ] && grep -q "rank 2 of 3 on .*missing.safetensors" "$TMP/err" &&
   grep -q "1 of 3 ranks could not start (rank 2 on " "$TMP/err" && [ $took -lt 30 ]; then
    ok "one bad rank: exit 1 after ${took} s, the message names rank 2 and its host"
else bad "one bad rank: exit $rc after ${took} s"; cat "$TMP/err"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
