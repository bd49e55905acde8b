#!/bin/sh
# cli_smoke.sh — smoke suite for the bench_mlp command line (meson suite 'cli').
#
#     tests/cli_smoke.sh path/to/bench_mlp [fixtures_dir]
#
# Checks: every option is parsed at least once; every bad input is rejected with ONE
# line "bench_mlp: ..." on stderr and the right exit code (2 usage, 1 runtime); the JSON
# document has the documented names and parses; --trace writes valid Chrome trace JSON;
# same seeds give the same workload digest and different seeds a different one;
# --mode accuracy prints the accuracy and a confusion matrix (the tiny fixture model is a
# nearest-centroid classifier: 59 of its 60 samples are classified correctly, whether
# the data arrives as F32 safetensors or as uint8 IDX); Ctrl-C exits 130 with the
# measured run marked INVALID (interrupted).
# Fast: runs use --model null or the 16-8-3 fixture model with tiny minimums.
# Fixtures: tests/fixtures/cli_tiny_* (regenerate with tests/cli_fixtures.py).
# Ends with "N passed, M failed" and exits non-zero on any failure.

BIN=${1:?usage: cli_smoke.sh path/to/bench_mlp [fixtures_dir]}
FIX=${2:-${TMLP_FIXTURES:-$(dirname "$0")/fixtures}}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OPENBLAS_NUM_THREADS=1

TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
OUT=$TMP/out
ERR=$TMP/err
pass=0
fail=0
skip=0

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
skipped() { skip=$((skip + 1)); echo "skip - $1"; }

MODEL=$FIX/cli_tiny_mlp.safetensors
DATA=$FIX/cli_tiny_data.safetensors
IDX=$FIX/cli_tiny-images-idx3-ubyte
# Fast settings for a real (tiny) model and for the null model.
FAST="--quiet --min-duration-ms 5 --max-duration-ms 3s --min-queries 64 --warmup 2 --target-qps 5000"
NULLFAST="--model null $FAST"
# The same without --quiet, for what --quiet leaves out (the resources block)
NULLLOUD="--model null ${FAST#--quiet }"

# run DESC ARGS... : run bench_mlp with a 20 s guard; sets $rc, output in $OUT/$ERR
run() {
    timeout 20 "$BIN" "$@" >"$OUT" 2>"$ERR"
    rc=$?
}

# expect CODE DESC ARGS... : exit code must be CODE
expect() {
    want=$1
    desc=$2
    shift 2
    run "$@"
    if [ "$rc" -eq "$want" ]; then
        ok "$desc"
    else
        bad "$desc: exit $rc, want $want; stderr: $(head -c 300 "$ERR")"
    fi
}

# reject CODE DESC ARGS... : exit code CODE and exactly one stderr line "bench_mlp: ..."
reject() {
    want=$1
    desc=$2
    shift 2
    run "$@"
    lines=$(wc -l <"$ERR")
    if [ "$rc" -ne "$want" ]; then
        bad "$desc: exit $rc, want $want; stderr: $(head -c 300 "$ERR")"
    elif [ "$lines" -ne 1 ] || ! grep -q '^bench_mlp: ' "$ERR"; then
        bad "$desc: stderr must be one line starting 'bench_mlp: ', got $lines: $(head -c 300 "$ERR")"
    else
        ok "$desc -> $want: $(cat "$ERR")"
    fi
}

# pycheck DESC FILE PYTHON : run a Python check on a JSON document (d = parsed JSON)
pycheck() {
    desc=$1
    file=$2
    code=$3
    if [ -z "$PY" ]; then
        skipped "$desc (no /usr/bin/python3)"
        return
    fi
    if "$PY" - "$file" >"$TMP/py" 2>&1 <<EOF
import json, sys
d = json.load(open(sys.argv[1]))
$code
EOF
    then
        ok "$desc"
    else
        bad "$desc: $(tail -c 400 "$TMP/py")"
    fi
}

for f in "$MODEL" "$DATA" "$IDX"; do
    [ -r "$f" ] || { echo "missing fixture $f (run tests/cli_fixtures.py)"; echo "0 passed, 1 failed"; exit 1; }
done

# --- help and version --------------------------------------------------------------------
expect 0 "--help" --help
missing=
for o in model layers data scenario mode min-duration-ms max-duration-ms min-queries max-queries \
    warmup target-qps latency-bound-ms percentile percentile-method samples-per-query batch \
    workers blas-threads sample-seed schedule-seed format output trace quick quiet version help \
    monitor-interval-ms baseline threshold alpha find-peak-min-qps find-peak-budget-ms; do
    grep -q -- "--$o" "$OUT" || missing="$missing --$o"
done
[ -z "$missing" ] && ok "--help documents every option" || bad "--help lacks:$missing"
grep -q "default" "$OUT" && ok "--help states defaults" || bad "--help states no defaults"
expect 0 "-h (short --help)" -h
grep -q -- "--percentile-method" "$OUT" && ok "-h prints the option list" || bad "-h: $(head -3 "$OUT")"
expect 0 "--version" --version
grep -q "git" "$OUT" && grep -q "0\.2\.0" "$OUT" && ok "--version names library version and git" ||
    bad "--version output: $(cat "$OUT")"

# --- every option, all scenarios, JSON ------------------------------------------------------
J=$TMP/all.json
T=$TMP/trace.json
expect 0 "every option at once (JSON, trace)" --model "$MODEL" --layers linear,relu,linear,softmax \
    --data "$DATA" --scenario single-stream,multi-stream,server,offline --mode performance \
    --min-duration-ms 10ms --max-duration-ms 3s --min-queries 64 --max-queries 5k --warmup 4 \
    --target-qps 2k --latency-bound-ms 5ms --percentile 99% --percentile-method linear \
    --samples-per-query 4 --batch 1,8 --workers 2 --blas-threads 1 --sample-seed 7 \
    --schedule-seed 0x2a --monitor-interval-ms 5 --format json --output "$J" --trace "$T" --quick --quiet \
    --raw-latencies
pycheck "JSON document: context and run fields" "$J" '
c = d["context"]
for k in ["host", "cpu", "cores", "os", "compiler", "build_type", "version", "blas", "timer",
          "seeds", "command_line"]:
    assert k in c, "context lacks " + k
assert c["version"]["library"] == "0.2.0" and c["version"]["git"], c["version"]
assert c["timer"]["resolution_ns"] > 0 and c["timer"]["overhead_ns"] >= 0, c["timer"]
assert c["seeds"]["sample"] == 7 and c["seeds"]["schedule"] == 42, c["seeds"]
assert "--percentile 99%" in c["command_line"], c["command_line"]
runs = d["runs"]
assert [r["scenario"] for r in runs] == ["single-stream", "multi-stream", "server", "offline",
                                         "offline"], [r["scenario"] for r in runs]
for r in runs:
    for k in ["scenario", "mode", "valid", "checks", "invalid_reasons", "settings", "queries",
              "samples", "duration_ns", "throughput_samples_per_s", "latency_ns",
              "early_stopping", "workload_digest", "accuracy", "latencies_ns"]:
        assert k in r, r["scenario"] + " lacks " + k
    assert set(r["checks"]) >= {"min_duration", "min_queries", "latency_bound", "early_stopping"}
    for k in ["min", "max", "mean", "p50", "p90", "p95", "p97", "p99", "p999", "method"]:
        assert k in r["latency_ns"], "latency_ns lacks " + k
    assert r["latency_ns"]["method"] == "linear"
    assert len(r["latencies_ns"]) == r["queries"], (len(r["latencies_ns"]), r["queries"])
    assert r["accuracy"]["total"] > 0 and 0 <= r["accuracy"]["value"] <= 1, r["accuracy"]
    s = r["settings"]
    assert s["workers"] == 2 and s["target_qps"] == 2000 and s["warmup_queries"] in (0, 4), s
    assert s["target_latency_ns"] == 5000000 and s["target_latency_percentile"] == 0.99, s
    assert s["max_query_count"] == 5000 and s["min_duration_ms"] == 10, s
    assert int(r["workload_digest"], 16) >= 0 and len(r["workload_digest"]) == 16
srv = runs[2]
for k in ["target_qps", "scheduled_qps", "completed_qps", "issue_delay_ns"]:
    assert k in srv, "server lacks " + k
assert srv["checks"]["latency_bound"] is not None and runs[0]["checks"]["latency_bound"] is None
assert runs[1]["settings"]["samples_per_query"] == 4 and runs[1]["samples"] == 4 * runs[1]["queries"]
assert [r["settings"]["offline_batch_size"] for r in runs[3:]] == [1, 8]
'
pycheck "--trace: Chrome trace JSON, one X event per query, pid/tid set" "$T" '
q = json.load(open(sys.argv[1].replace("trace.json", "all.json")))
ev = [e for e in d["traceEvents"] if e["ph"] == "X" and e["cat"] == "query"]
assert len(ev) == sum(r["queries"] for r in q["runs"]), (len(ev), [r["queries"] for r in q["runs"]])
assert all(e["dur"] >= 0 and e["pid"] > 0 and e["tid"] >= 1 for e in ev)
assert {e["tid"] for e in ev} == {1, 2, 3, 4, 5}
names = {e["tid"]: e["args"]["name"] for e in d["traceEvents"] if e["name"] == "thread_name"}
assert [names[i] for i in (1, 2, 3)] == ["single-stream", "multi-stream", "server"], names
'
pycheck "--trace: one X event per sample of multi-stream (4 per query) and offline, inside its query" "$T" '
q = json.load(open(sys.argv[1].replace("trace.json", "all.json")))
X = [e for e in d["traceEvents"] if e["ph"] == "X"]
ms = [e for e in X if e["cat"] == "sample" and e["tid"] == 1002]
assert len(ms) == q["runs"][1]["samples"] == 4 * q["runs"][1]["queries"], (len(ms), q["runs"][1]["samples"])
qs = {e["args"]["query"]: e for e in X if e["cat"] == "query" and e["tid"] == 2}
for e in ms:
    p = qs[e["args"]["query"]]
    assert abs(e["ts"] - p["ts"]) < 1e-3 and e["dur"] <= p["dur"] + 1e-3, (e, p)
ends = {}
for e in ms: ends[e["args"]["query"]] = max(ends.get(e["args"]["query"], 0), e["ts"] + e["dur"])
assert all(abs(ends[k] - (qs[k]["ts"] + qs[k]["dur"])) < 2e-3 for k in qs)
off = [e for e in X if e["cat"] == "sample" and e["tid"] == 1004]
assert len(off) == q["runs"][3]["samples"], (len(off), q["runs"][3]["samples"])
names = {e["tid"]: e["args"]["name"] for e in d["traceEvents"] if e["name"] == "thread_name"}
assert names[1002] == "multi-stream samples", names
assert d["otherData"]["sample_events_cap_per_run"] == 200000
'
pycheck "--trace: resource monitor counter events (cpu %, rss MB) on the run time line" "$T" '
C = [e for e in d["traceEvents"] if e["ph"] == "C"]
cpu = [e for e in C if e["name"] == "cpu %"]
rss = [e for e in C if e["name"] == "rss MB"]
assert len(cpu) >= 1 and len(rss) >= 1, len(C)
assert all(isinstance(e["args"]["user"], (int, float)) and e["args"]["user"] >= 0 for e in cpu)
assert all(e["args"]["rss"] > 0 for e in rss)
last = max(e["ts"] + e["dur"] for e in d["traceEvents"] if e["ph"] == "X")
assert max(e["ts"] for e in C) >= 0.5 * last, "counters do not span the runs"
'
pycheck "JSON: a resources block with numeric CPU figures, absent figures left out" "$J" '
r = d["resources"]
assert r["interval_ms"] == 5 and r["duration_ns"] > 0 and r["n_samples"] >= 1, r
for k in ["cpu_user_pct", "cpu_system_pct", "rss_peak_bytes", "rss_mean_bytes", "vm_hwm_bytes",
          "voluntary_ctx", "involuntary_ctx", "minor_faults", "major_faults", "core_busy_pct"]:
    assert k in r, "resources lacks " + k
assert all(isinstance(r[k], (int, float)) for k in ["cpu_user_pct", "cpu_system_pct"])
assert r["cpu_user_pct"] + r["cpu_system_pct"] > 0
assert all(v is not None for v in r.values())
'

# --- a big offline run: the per-sample trace events are capped ------------------------------
expect 0 "offline on the null model with --trace (up to 2M samples)" $NULLFAST --scenario offline \
    --format json --output "$TMP/big.json" --trace "$TMP/bigtrace.json"
pycheck "--trace caps per-sample events at 200,000 a run, every k-th sample, k named" "$TMP/bigtrace.json" '
n = json.load(open(sys.argv[1].replace("bigtrace.json", "big.json")))["runs"][0]["samples"]
k = -(-n // 200000)
ev = [e for e in d["traceEvents"] if e["ph"] == "X" and e["cat"] == "sample"]
assert len(ev) == -(-n // k) <= 200000, (len(ev), n, k)
assert all(e["args"]["sample"] % k == 0 for e in ev)
name = [e["args"]["name"] for e in d["traceEvents"] if e["name"] == "thread_name" and e["tid"] == 1001][0]
assert (k == 1) == ("1 in" not in name), name
assert k == 1 or all(e["args"]["stride"] == k for e in ev)
'
rm -f "$TMP/bigtrace.json"

# --- find-peak stops at its QPS floor -------------------------------------------------------
# A 1 us bound no real model meets: 1000 QPS fails, the floor (500) fails, the search stops.
expect 0 "find-peak with an impossible bound stops at --find-peak-min-qps" --model "$MODEL" --data "$DATA" \
    --mode find-peak --target-qps 1000 --find-peak-min-qps 500 --latency-bound-ms 1us --min-queries 20 \
    --min-duration-ms 10 --quick --quiet --format json --output "$TMP/fp.json"
pycheck "find-peak JSON: two trials, no peak, INVALID, the note names the floor" "$TMP/fp.json" '
r = d["runs"][0]
t = [x["target_qps"] for x in r["find_peak"]["trials"]]
assert t == [1000, 500], t
assert r["find_peak"]["peak_qps"] == 0 and r["valid"] is False
assert "floor" in r["find_peak"]["note"], r["find_peak"]["note"]
assert r["settings"]["find_peak_min_qps"] == 500 and r["settings"]["find_peak_budget_ms"] == 60000
'

# --- formats --------------------------------------------------------------------------------
# Bounded by default: raw per-query latencies only with --raw-latencies;
# --no-raw-latencies (the 0.1 spelling of the default) is still accepted.
expect 0 "default JSON" $NULLFAST --scenario single-stream,server --format json -o "$TMP/nr.json"
pycheck "default JSON: no per-query arrays, every summary" "$TMP/nr.json" '
for r in d["runs"]:
    assert "latencies_ns" not in r and "issue_delays_ns" not in r, r["label"]
    assert r["latency_ns"]["count"] == r["completed_queries"] and r["queries"] > 0, r["label"]'
expect 0 "--no-raw-latencies is accepted (the default)" $NULLFAST --scenario single-stream --no-raw-latencies \
    --format json -o "$TMP/nr2.json"
expect 1 "compare --per-query without raw latencies" compare --per-query "$TMP/nr.json" "$TMP/nr2.json"
grep -q -- "--raw-latencies" "$ERR" && ok "the error names --raw-latencies" || bad "the error names --raw-latencies"

expect 0 "--format table (default run shape, null model)" $NULLLOUD --scenario all
if grep -q "^single-stream " "$OUT" && grep -q "^multi-stream " "$OUT" && grep -q "^server " "$OUT" &&
    grep -q "^offline " "$OUT" && grep -q "p99.9 (µs)" "$OUT" && grep -q "VALID" "$OUT" &&
    grep -q 'Percentiles: method "loadgen"' "$OUT"; then
    ok "table: a row per scenario, units in headers, method named"
    awk '/^Percentiles:/{t=NR} /^Resources \(sampled every 10 ms over [0-9.]+ s, [0-9]+ samples/{r=NR}
         /^  process CPU +: user [0-9.]+%, system [0-9.]+% \(of one core\)/{c=NR}
         END{exit !(t && r > t && c > r)}' "$OUT" && ok "table: resource summary (CPU in numbers) after the table" ||
        bad "table resources: $(tail -n 10 "$OUT")"
else
    bad "table output: $(cat "$OUT")"
fi
expect 0 "--format markdown" $NULLLOUD --scenario single-stream,offline --format markdown
grep -q "^| scenario | queries | p50 (µs)" "$OUT" && grep -q "^|---|" "$OUT" &&
    grep -q "^| offline |" "$OUT" && ok "markdown table" || bad "markdown: $(cat "$OUT")"
awk '/^\*\*Resources\*\* \(sampled every 10 ms/{r=NR} /^\| offline \|/{t=NR} /^- process CPU +: user [0-9.]+%, system [0-9.]+%/{c=NR}
     END{exit !(t && r > t && c > r)}' "$OUT" && ok "markdown: resource summary (CPU in numbers) after the table" ||
    bad "markdown resources: $(tail -n 12 "$OUT")"
expect 0 "--format table --monitor-interval-ms 0" $NULLFAST --scenario single-stream --monitor-interval-ms 0
grep -q "Resources" "$OUT" && bad "--monitor-interval-ms 0 still printed resources" ||
    ok "--monitor-interval-ms 0: no resource summary"
expect 0 "--format csv -o FILE" $NULLFAST --scenario single-stream,server --format csv -o "$TMP/t.csv"
if [ "$(wc -l <"$TMP/t.csv")" -eq 3 ] && head -1 "$TMP/t.csv" | grep -q "^scenario,label,mode,queries" &&
    [ "$(awk -F, '{print NF}' "$TMP/t.csv" | sort -u | wc -l)" -eq 1 ]; then
    ok "csv: header + one line per run, same field count"
else
    bad "csv: $(cat "$TMP/t.csv")"
fi
expect 0 "percentile 0.95, method nearest_rank, -q" --model null --quick -q --scenario server \
    --percentile 0.95 --percentile-method nearest_rank --min-queries 64 --target-qps 5000
grep -q 'method "nearest_rank"' "$OUT" && ok "method printed under the table" ||
    bad "nearest_rank not printed: $(cat "$OUT")"
# Output a person reads: by default the header, the table, the verdicts and the
# resources; the LoadGen-style summaries go to --summary FILE, and with --verbose to the
# terminal too.
expect 0 "--format table, default output" --model null --quick --scenario single-stream,server \
    --min-queries 64 --target-qps 100k --latency-bound-ms 1us
grep -q "Result is : " "$OUT" && bad "the default output holds a LoadGen summary" ||
    ok "no LoadGen summary on the terminal by default"
awk '/^scenario /{t=NR} /^Verdicts/{v=NR} /^Resources/{r=NR} END{exit !(t && v > t && r > v)}' "$OUT" &&
    ok "table, then verdicts, then resources" || bad "order of the default output: $(head -c 800 "$OUT")"
grep -q "^  single-stream  VALID  " "$OUT" && grep -q "^  server *INVALID  " "$OUT" &&
    grep -q "^    - latency bound not met" "$OUT" && ok "a verdict line per run, each INVALID reason below" ||
    bad "verdicts: $(sed -n '/^Verdicts/,/^$/p' "$OUT")"
grep -q -- "--summary FILE (or --verbose)" "$OUT" && ok "the verdicts say where the summaries are" ||
    bad "no pointer to --summary"
[ "$(wc -l <"$OUT")" -le 40 ] && ok "default output fits a screen ($(wc -l <"$OUT") lines)" ||
    bad "default output: $(wc -l <"$OUT") lines"
expect 0 "--summary FILE" --model null --quick --scenario single-stream,server --min-queries 64 \
    --summary "$TMP/summary.txt" --format json -o "$TMP/s.json"
grep -q "Result is : " "$TMP/summary.txt" && grep -q "Early stopping satisfied" "$TMP/summary.txt" &&
    grep -q "Test Parameters Used" "$TMP/summary.txt" && [ "$(grep -c 'bench_mlp results summary' "$TMP/summary.txt")" -eq 2 ] &&
    ok "--summary FILE: one LoadGen-style summary per run" || bad "summary file: $(head -c 500 "$TMP/summary.txt")"
grep -A1 "^Early Stopping Result:" "$TMP/summary.txt" | grep -q "^ \* Early stopping:" &&
    bad "summary: \"Early stopping:\" doubled under \"Early Stopping Result:\"" ||
    ok "summary: the early-stopping sentence is not prefixed twice"
pycheck "--summary leaves the JSON as it was" "$TMP/s.json" '
assert [r["scenario"] for r in d["runs"]] == ["single-stream", "server"]
assert all("checks" in r and "early_stopping" in r for r in d["runs"])'
expect 0 "--verbose" --model null --quick --scenario single-stream --min-queries 64 --verbose
grep -q "Result is : " "$OUT" && grep -q "Test Parameters Used" "$OUT" &&
    awk '/bench_mlp results summary/{s=NR} /^scenario /{t=NR} END{exit !(s && t > s)}' "$OUT" &&
    ok "--verbose: the summaries on the terminal, before the table" || bad "--verbose: $(head -c 500 "$OUT")"
reject 2 "--summary naming the --output file" --model null --quick --output "$TMP/same" --summary "$TMP/same"

# --- determinism ----------------------------------------------------------------------------
digests() { # prints scenario:digest per run of the JSON in $1
    "$PY" -c 'import json,sys; print(" ".join(r["label"]+":"+r["workload_digest"] for r in json.load(open(sys.argv[1]))["runs"]))' "$1"
}
if [ -n "$PY" ]; then
    run $NULLFAST --scenario single-stream,server --sample-seed 11 --schedule-seed 12 --format json -o "$TMP/d1.json"
    run $NULLFAST --scenario single-stream,server --sample-seed 11 --schedule-seed 12 --format json -o "$TMP/d2.json"
    run $NULLFAST --scenario single-stream,server --sample-seed 13 --schedule-seed 14 --format json -o "$TMP/d3.json"
    a=$(digests "$TMP/d1.json")
    b=$(digests "$TMP/d2.json")
    c=$(digests "$TMP/d3.json")
    [ -n "$a" ] && [ "$a" = "$b" ] && ok "same seeds -> same workload digests ($a)" ||
        bad "same seeds gave '$a' and '$b'"
    [ -n "$a" ] && [ "$(echo "$a" | cut -d' ' -f1)" != "$(echo "$c" | cut -d' ' -f1)" ] &&
        [ "$(echo "$a" | cut -d' ' -f2)" != "$(echo "$c" | cut -d' ' -f2)" ] &&
        ok "different seeds -> different digests ($c)" || bad "different seeds gave '$a' and '$c'"
else
    skipped "digest determinism (no python3)"
fi

# --- accuracy mode --------------------------------------------------------------------------
expect 0 "--mode accuracy (F32 safetensors data)" --model "$MODEL" --data "$DATA" --mode accuracy --quick
grep -q "Accuracy (offline): 0.9833  (59 of 60 correct)" "$OUT" && grep -q "Confusion matrix" "$OUT" &&
    grep -q "class 2" "$OUT" && ok "accuracy 59/60 and a 3x3 confusion matrix" ||
    bad "accuracy output: $(cat "$OUT")"
expect 0 "--mode accuracy (uint8 IDX data, labels found beside)" --model "$MODEL" --data "$IDX" \
    --mode accuracy --quick --quiet --scenario single-stream
grep -q "(59 of 60 correct)" "$OUT" && ok "IDX uint8 path: same 59/60" || bad "IDX accuracy: $(cat "$OUT")"
expect 0 "--mode accuracy JSON" --model "$MODEL" --data "$DATA" --mode accuracy --quick --format json -o "$TMP/acc.json"
pycheck "accuracy JSON: correct/total/value and a confusion matrix that sums to 60" "$TMP/acc.json" '
r = d["runs"][0]
assert r["accuracy"] == {"correct": 59, "total": 60, "value": 59 / 60}, r["accuracy"]
m = r["confusion_matrix"]
assert len(m) == 3 and sum(map(sum, m)) == 60 and sum(m[i][i] for i in range(3)) == 59, m
'
expect 0 "performance run on synthetic data: accuracy is null" --model "$MODEL" --data synthetic \
    $FAST --scenario single-stream --format json -o "$TMP/syn.json"
pycheck "accuracy null without labels" "$TMP/syn.json" 'assert d["runs"][0]["accuracy"] is None'
if [ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    expect 0 "--data fashion with a synthetic 784-wide model" --model synthetic:784x16x10 --data fashion \
        $FAST --scenario offline --batch 256
    grep -q "^offline " "$OUT" && ok "fashion data loads" || bad "fashion: $(cat "$OUT")"
else
    skipped "--data fashion (dataset-fashion-mnist not installed)"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -r "$ROOT/models/fashion_mlp.safetensors" ] && [ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
    expect 0 "default workload (no --model/--data), --quick" --quick --quiet
    grep -q "^offline " "$OUT" && [ "$(grep -c '  0\.[0-9][0-9][0-9][0-9]  ' "$OUT")" -eq 4 ] &&
        ok "default: fashion model on Fashion-MNIST, accuracy in all 4 rows" || bad "default run: $(cat "$OUT")"
    expect 0 "--mode accuracy on the default workload" --mode accuracy --quiet
    grep -q "of 10000 correct" "$OUT" && grep -q "T-shirt/top" "$OUT" && grep -q "Ankle boot" "$OUT" &&
        ok "10x10 confusion matrix with Fashion-MNIST class names" || bad "fashion accuracy: $(cat "$OUT")"
else
    skipped "default workload (models/fashion_mlp.safetensors or dataset-fashion-mnist missing)"
fi

# --- find-peak ------------------------------------------------------------------------------
expect 0 "--mode find-peak (null model)" --model null --mode find-peak --quiet --min-duration-ms 20 \
    --min-queries 64 --target-qps 20k --latency-bound-ms 1ms --max-duration-ms 1s
grep -q "server find-peak" "$OUT" && ok "find-peak row printed" || bad "find-peak: $(cat "$OUT")"

# --- bad input: usage errors (2) --------------------------------------------------------------
reject 2 "unknown option" --bogus
reject 2 "stray argument" frobnicate
reject 2 "option without its value" --model
reject 2 "bad number" --min-queries abc
reject 2 "bad unit" --min-duration-ms 5parsecs
reject 2 "sub-millisecond duration for a -ms option" --min-duration-ms 1500us
reject 2 "negative count" --warmup -3
reject 2 "QPS = 0" --target-qps 0
reject 2 "QPS < 0" --target-qps -5
reject 2 "QPS with a bad unit" --target-qps 5kHz
reject 2 "percentile 99 without %" --percentile 99
grep -q "0.99" "$ERR" && ok "percentile 99 explains 0.99 / 99%" || bad "no hint: $(cat "$ERR")"
reject 2 "percentile 1.5" --percentile 1.5
reject 2 "percentile 100%" --percentile 100%
reject 2 "unknown percentile method" --percentile-method median
reject 2 "unknown format" --format xml
reject 2 "unknown scenario" --scenario single-stream,warp
reject 2 "unknown mode" --mode fast
reject 2 "batch 0" --batch 0
reject 2 "empty batch list item" --batch 1,,2
reject 2 "workers 0" --workers 0
reject 2 "blas threads 0" --blas-threads 0
reject 2 "negative seed" --sample-seed -1
reject 2 "seed with junk" --schedule-seed 12abc
reject 2 "latency bound 0" --latency-bound-ms 0
reject 2 "samples per query 0" --samples-per-query 0
reject 2 "min > max duration" --min-duration-ms 2s --max-duration-ms 1s
reject 2 "min > max queries" --min-queries 100 --max-queries 10
reject 2 "--layers with null" --model null --layers linear
reject 2 "find-peak on offline" --mode find-peak --scenario offline
reject 2 "bad synthetic spec" --model synthetic:784
reject 2 "bad synthetic width" --model synthetic:784x0x10
reject 2 "accuracy with the null model" --model null --mode accuracy
reject 2 "monitor interval not a duration" --monitor-interval-ms often
reject 2 "monitor interval below 1 ms" --monitor-interval-ms 500us
reject 2 "find-peak floor above the target" --mode find-peak --target-qps 100 --find-peak-min-qps 200
reject 2 "--threshold without --baseline" --threshold 10%

# --- bad input: runtime errors (1) ------------------------------------------------------------
reject 1 "missing model file" --model "$TMP/nope.safetensors" --quiet
reject 1 "missing --baseline file" $NULLFAST --baseline "$TMP/nope.json"
echo '{"context": {}}' > "$TMP/notruns.json"
reject 1 "--baseline not a results file (checked before the run)" $NULLFAST --baseline "$TMP/notruns.json"
reject 1 "missing data file" --model "$MODEL" --data "$TMP/nope.safetensors" --quiet
reject 1 "model/data width mismatch" --model synthetic:20x4 --data "$DATA" --quiet
grep -q "16" "$ERR" && grep -q "20" "$ERR" && ok "mismatch names both widths" || bad "mismatch: $(cat "$ERR")"
reject 1 "not a model file (data file as model)" --model "$DATA" --quiet
reject 1 "not a safetensors file" --model "$IDX" --quiet
reject 1 "accuracy without labels" --model "$MODEL" --data synthetic --mode accuracy --quiet
reject 1 "unwritable --output" $NULLFAST --scenario offline --output "$TMP/no/such/dir/out.txt"
reject 1 "unwritable --trace" $NULLFAST --scenario offline --trace "$TMP/no/such/dir/t.json"

# --- Ctrl-C ---------------------------------------------------------------------------------
"$BIN" --model null --scenario single-stream,server --min-duration-ms 20s --quiet >"$OUT" 2>"$ERR" &
pid=$!
sleep 1
kill -INT "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    bad "Ctrl-C: still running 5 s after SIGINT"
else
    wait "$pid"
    rc=$?
    if [ "$rc" -eq 130 ] && grep -q "INVALID (interrupted)" "$OUT" && ! grep -q "^server " "$OUT"; then
        ok "Ctrl-C: exit 130, measured run printed INVALID (interrupted), later runs skipped"
    else
        bad "Ctrl-C: exit $rc; stdout: $(head -c 400 "$OUT") stderr: $(head -c 200 "$ERR")"
    fi
fi

[ "$skip" -gt 0 ] && echo "($skip skipped)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
