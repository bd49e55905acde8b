#!/bin/sh
# cli_history.sh — bench_mlp's results history end to end: --history on a run and on a
# report, `history import` of every JSON kind bench_mlp writes (results documents are
# recorded; the others are refused with one line, exit 1), list/show/export in each
# format, trend (a +20% shift imported as a series is found, SVG and HTML written), gate
# (A/A passes with exit 0, the scalar kernel on the same workload exits 3, nothing
# comparable exits 2), and the usage errors (exit 2) and runtime failures (exit 1).
# Usage: cli_history.sh /path/to/bench_mlp   (meson passes it; suite 'cli')
# Each check prints what it asserts; the first failure exits 1.
set -u
B="$1"
T=$(mktemp -d /tmp/tmlp_cli_history.XXXXXX)
trap 'rm -rf "$T"' EXIT
export OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
DB="$T/h.db"

# --- recording: a run and a report ----------------------------------------------------------
# The gate's workload: offline batch 64, judged by its throughput, which the scalar kernel
# cuts several-fold (a fixed --offline-samples: the default sizing depends on the kernels,
# which would make the scalar run another workload). The A/A run (aa.json) runs between
# the recorded ones, so a load that drifts (the suite runs tests in parallel) hits both
# sides alike.
M="--model synthetic:256x256x256x10 --data synthetic"
RUN="--quick --quiet --scenario offline --batch 64 --offline-samples 8192 --min-duration-ms 60 --repeat 3 --repeat-mode process $M"
"$B" $RUN --history "$DB" >"$T/out" 2>"$T/err" || fail "run --history: $(cat "$T/err")"
grep -q "recorded as run 1 in" "$T/err" || fail "run --history did not say what it recorded: $(cat "$T/err")"
"$B" $RUN --format json --output "$T/aa.json" 2>/dev/null || fail "A/A run"
"$B" $RUN --history "$DB" --format json --output "$T/a2.json" 2>"$T/err" || fail "run --history --output: $(cat "$T/err")"
"$B" $RUN --history "$DB" 2>/dev/null >/dev/null || fail "third run --history"
"$B" $RUN --kernels scalar --format json --output "$T/slow.json" 2>/dev/null || fail "scalar run"
ok "--history on a run records it (ids 1..3)"

"$B" report --quick --no-profile --scenario single-stream,offline --batch 8 --model synthetic:32x16x4 --data synthetic \
    --min-duration-ms 30 --output "$T/rep" --history "$DB" >/dev/null 2>"$T/err" || fail "report --history: $(cat "$T/err")"
grep -q "recorded as run 4 in" "$T/err" || fail "report --history: $(cat "$T/err")"
ok "--history on a report records its results document"

# --- import: every JSON kind ---------------------------------------------------------------
S="--quick --quiet --model synthetic:32x16x4 --data synthetic --min-duration-ms 30"
"$B" $S --scenario single-stream,multi-stream,server,offline --format json --output "$T/all.json" \
    --trace "$T/trace.json" 2>/dev/null || fail "run for import"
"$B" --quiet --mode accuracy --data fashion --format json --output "$T/acc.json" 2>/dev/null ||
    fail "accuracy run for import"
"$B" $S --mode find-peak --target-qps 2000 --find-peak-budget-ms 500 --format json --output "$T/peak.json" \
    2>/dev/null || fail "find-peak run for import"
printf '1\n2\n3\n4\n5\n6\n' >"$T/x"; printf '2\n3\n4\n5\n6\n7\n' >"$T/y"
"$B" compare --format json "$T/x" "$T/y" >"$T/compare.json" 2>/dev/null || fail "compare --format json"
"$B" history import "$DB" "$T/all.json" "$T/acc.json" "$T/peak.json" "$T/rep/results.json" >"$T/out" 2>"$T/err" ||
    fail "import of results documents: $(cat "$T/err")"
[ "$(grep -c "recorded as run" "$T/out")" -eq 4 ] || fail "import: $(cat "$T/out")"
grep -q "rep/results.json: already recorded as run 4" "$T/out" || fail "the report's results recorded twice: $(cat "$T/out")"
"$B" history import "$DB" "$T/a2.json" >"$T/out" 2>&1 || fail "import a2.json"
grep -q "already recorded as run 2" "$T/out" || fail "a run's own --output document was recorded again: $(cat "$T/out")"
for f in trace.json compare.json rep/resources.json; do
    "$B" history import "$DB" "$T/$f" >/dev/null 2>"$T/err"; rc=$?
    [ $rc -eq 1 ] || fail "import $f: exit $rc, not 1"
    [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "not a bench_mlp --format json results file" "$T/err" ||
        fail "import $f: $(cat "$T/err")"
done
echo '{"runs": [' >"$T/bad.json"
"$B" history import "$DB" "$T/bad.json" >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "import of broken JSON: not exit 1"
ok "import records results documents (run, accuracy, find-peak, report) once, refuses trace/compare/resources"

# --- list / show / export ------------------------------------------------------------------
"$B" history list "$DB" >"$T/list" || fail "list"
[ "$(grep -c -E '^[0-9]+ ' "$T/list")" -eq 7 ] || fail "list: 7 runs expected: $(cat "$T/list")"
"$B" history list "$DB" --format json >"$T/list.json" || fail "list --format json"
"$B" history list "$DB" --format csv >"$T/list.csv" || fail "list --format csv"
"$B" history show "$DB" 1 >"$T/show" || fail "show"
grep -q "^workload_key" "$T/show" && grep -q "^offline .* throughput " "$T/show" || fail "show: $(cat "$T/show")"
"$B" history show "$DB" 1 --format json >"$T/show.json" || fail "show --format json"
"$B" history export "$DB" --format json >"$T/export.json" || fail "export json"
"$B" history export "$DB" --format csv >"$T/export.csv" || fail "export csv"
python3 - "$T" <<'PY' || fail "list/show/export formats"
import csv, json, sys
t = sys.argv[1]
lst = json.load(open(t + "/list.json"))
assert lst["schema_version"] == 1 and lst["kind"] == "tinymlp-history-list", lst.keys()
runs = lst["runs"]
assert [r["id"] for r in runs] == list(range(1, 8)), runs
rows = list(csv.DictReader(open(t + "/list.csv")))
assert [int(r["id"]) for r in rows] == list(range(1, 8)) and rows[0]["source"] == "run", rows[0]
doc = json.load(open(t + "/show.json"))
assert doc["schema_version"] == 1 and doc["kind"] == "tinymlp-history-run", doc.keys()
show = doc["run"]
assert show["id"] == 1 and show["guard"]["runs"][0]["label"] == "offline", show.keys()
assert {m["repetition"] for m in show["metrics"]} == {1, 2, 3}
ex = json.load(open(t + "/export.json"))
assert ex["schema_version"] == 1 and ex["history_schema_version"] == 1 and len(ex["runs"]) == 7
n = sum(len(r["metrics"]) for r in ex["runs"])
rows = list(csv.DictReader(open(t + "/export.csv")))
assert len(rows) == n, (len(rows), n)
assert {"run_id", "label", "repetition", "metric", "value"} <= set(rows[0]), rows[0].keys()
assert any(r["metric"] == "accuracy" for r in rows)
PY
ok "list (table/json/csv), show (table/json), export (json/csv) agree"

# --- trend: a +20% shift imported as a series -----------------------------------------------
python3 - "$T/a2.json" "$T/series" <<'PY' || fail "making the series"
import json, os, random, sys
random.seed(5)
os.makedirs(sys.argv[2])
doc = json.load(open(sys.argv[1]))
for i in range(12):
    d = json.loads(json.dumps(doc))
    d["context"]["series_index"] = i  # distinct documents, same workload
    f = (1.2 if i >= 6 else 1.0)
    for run in d["runs"]:
        for rep in run.get("repetitions", []):
            for k in rep["latency_ns"]:
                if k not in ("count", "method"):
                    rep["latency_ns"][k] = rep["latency_ns"][k] * f * (1 + random.gauss(0, 0.01))
    json.dump(d, open("%s/s%02d.json" % (sys.argv[2], i), "w"))
PY
"$B" history import "$T/t.db" "$T"/series/s*.json >/dev/null 2>&1 || fail "import of the series"
"$B" history trend "$T/t.db" --metric offline.p50 --svg "$T/trend.svg" --html "$T/trend" >"$T/trend.txt" ||
    fail "trend: $(cat "$T/trend.txt")"
grep -q "^Change points: 1 " "$T/trend.txt" || fail "trend: the +20% shift was not found: $(cat "$T/trend.txt")"
grep -B1 -- "---- change point: +" "$T/trend.txt" | head -1 | grep -q "^6 " ||
    fail "trend: the change point is not before run 7: $(cat "$T/trend.txt")"
head -c 4 "$T/trend.svg" | grep -q "<svg" && [ -s "$T/trend/index.html" ] && [ -s "$T/trend/trend.svg" ] ||
    fail "trend: --svg / --html files"
"$B" history trend "$DB" --metric single-stream.p50 >"$T/trend2.txt" || fail "trend of the recorded runs"
grep -q "^single-stream.p50 over " "$T/trend2.txt" || fail "trend of the newest workload with the metric: $(cat "$T/trend2.txt")"
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["workload_key"])' "$T/list.json")
"$B" history trend "$DB" --metric offline.throughput --workload "$key" >"$T/trend2.txt" || fail "trend --workload"
grep -q "over 3 runs" "$T/trend2.txt" || fail "trend: the 3 comparable runs of run 1's workload: $(cat "$T/trend2.txt")"
ok "trend finds the +20% shift before run 7, writes the SVG and the HTML report"

# --- ab --history: both arms, one repetition per stream ---------------------------------------
"$B" ab --quick --model synthetic:32x16x4 --model-b synthetic:32x16x4 --data synthetic --queries 200 --repeat 3 \
    --history "$DB" >/dev/null 2>"$T/err" || fail "ab --history: $(cat "$T/err")"
id=$(sed -n 's/.*recorded as run \([0-9]*\) in.*/\1/p' "$T/err")
[ -n "$id" ] || fail "ab --history: $(cat "$T/err")"
"$B" history show "$DB" "$id" >"$T/show" || fail "show of the ab run"
grep -q "^source  *ab" "$T/show" && grep -q "^ab B .* 3 .* p99 " "$T/show" || fail "ab run: $(cat "$T/show")"
"$B" history trend "$DB" --metric "ab A.p50" >/dev/null || fail "trend of an ab arm"
ok "ab --history records both arms' repetitions"

# --- gate -----------------------------------------------------------------------------------
# A/A: a fourth run of the same workload against runs 1..3 (a 50% threshold: the machine
# is shared by parallel builds; the gate's noise floor does the rest). The scalar kernel
# on the same workload has a fraction of the throughput: exit 3.
"$B" history gate "$DB" "$T/aa.json" --threshold 50% >"$T/gate" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "gate A/A: exit $rc: $(cat "$T/gate")"
grep -q "against the last 3 comparable runs" "$T/gate" && grep -q "no regression" "$T/gate" || fail "gate A/A: $(cat "$T/gate")"
"$B" history gate "$DB" "$T/slow.json" --threshold 50% >"$T/gate" 2>&1; rc=$?
[ $rc -eq 3 ] || fail "gate of the scalar kernel: exit $rc, not 3: $(cat "$T/gate")"
grep -q "REGRESSION (exit 3)" "$T/gate" || fail "gate: $(cat "$T/gate")"
"$B" history gate "$DB" "$T/a2.json" >"$T/gate" 2>&1; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 3 ] || fail "gate of a recorded document: exit $rc"
grep -q "last 2 comparable runs" "$T/gate" || fail "gate compared a recorded document with itself: $(cat "$T/gate")"
"$B" $S --scenario single-stream --model synthetic:32x16x5 --format json --output "$T/other.json" 2>/dev/null
"$B" history gate "$DB" "$T/other.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "nothing to gate against" "$T/err" || fail "gate with nothing comparable: exit $rc: $(cat "$T/err")"
ok "gate: A/A exit 0, scalar kernel exit 3, nothing comparable exit 2"

# --- usage errors (2) and runtime failures (1) -------------------------------------------------
expect() { want=$1; shift; "$B" "$@" >/dev/null 2>"$T/err"; rc=$?
    [ $rc -eq "$want" ] || fail "bench_mlp $*: exit $rc, not $want: $(cat "$T/err")"
    [ "$(wc -l <"$T/err")" -le 1 ] || fail "bench_mlp $*: more than one error line: $(cat "$T/err")"; }
expect 2 history
expect 2 history bogus "$DB"
expect 2 history list
expect 2 history list "$DB" --format xml
expect 2 history list "$DB" --bogus
expect 2 history show "$DB"
expect 2 history show "$DB" abc
expect 2 history export "$DB"
expect 2 history trend "$DB"
expect 2 history trend "$DB" --metric p50
expect 2 history gate "$DB"
expect 2 history gate "$DB" "$T/aa.json" --last 0
expect 1 history list "$T/missing.db"
expect 1 history show "$DB" 999
expect 1 history trend "$DB" --metric nosuch.p50
expect 1 history list "$T/x"
expect 1 history gate "$DB" "$T/missing.json"
[ ! -e "$T/missing.db" ] || fail "a reading command created the database"
"$B" --quick --quiet $M --scenario single-stream --history "$T/x" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "not an SQLite database" "$T/err" || fail "run --history on a text file: exit $rc: $(cat "$T/err")"
ok "usage errors exit 2, runtime failures exit 1, one line each"
echo "cli_history: ok"
