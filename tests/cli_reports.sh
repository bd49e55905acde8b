#!/bin/sh
# cli_reports.sh — smoke tests of bench_mlp's report, regress, ab, profile and plan.
# Usage: cli_reports.sh /path/to/bench_mlp   (meson passes it; suite 'cli')
# Each check prints what it asserts; the first failure exits 1.
set -u
B="$1"
T=$(mktemp -d /tmp/tmlp_cli_reports.XXXXXX)
trap 'rm -rf "$T"' EXIT
export OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# run_json FILE LABEL SCENARIO THROUGHPUT MEAN P50 P90 P99 "LATENCIES" [ACCURACY]
run_json() {
    acc=${10:-null}
    [ "$acc" = null ] || acc="{\"correct\": 0, \"total\": 0, \"value\": $acc}"
    cat > "$1" <<JSON
{"context": {"host": "test"}, "runs": [{"label": "$2", "scenario": "$3", "valid": true,
 "throughput_samples_per_s": $4, "accuracy": $acc,
 "latency_ns": {"count": 1, "mean": $5, "p50": $6, "p90": $7, "p99": $8},
 "latencies_ns": [$9]}]}
JSON
}
# 1000 latencies 100..110 us; the same x1.2; 20 alternating 50/150 us; the same +8 us
L1=$(awk 'BEGIN{for(i=0;i<1000;i++) printf "%s%d", (i?",":""), 100000+(i%100)*100}')
L2=$(awk 'BEGIN{for(i=0;i<1000;i++) printf "%s%d", (i?",":""), 1.2*(100000+(i%100)*100)}')
# noisy: 30 values uniform in 50..150 us from an LCG; the current run from another seed, +8 us
lcg() { awk -v seed="$1" -v add="$2" 'BEGIN{x=seed; for(i=0;i<30;i++){x=(x*1103515245+12345)%2147483648;
    printf "%s%d", (i?",":""), 50000+int(x/2147483648*100000)+add}}'; }
# summary "mean p50 p90 p99" of a comma list, LoadGen percentiles sorted[floor(n p)]
summ() { echo "$1" | tr ',' '\n' | sort -n | awk '{v[NR-1]=$1; s+=$1} END{n=NR;
    printf "%d %d %d %d", s/n, v[int(n*0.5)], v[int(n*0.9)], v[int(n*0.99)]}'; }
N1=$(lcg 1 0)
N2=$(lcg 7 8000)

# --- regress: direction, threshold, significance, exit codes ----------------------------
run_json "$T/base.json" server server 1000 105000 105000 109000 110000 "$L1" 0.90
run_json "$T/drop.json" server server 800 105000 105000 109000 110000 "$L1" 0.90
"$B" regress "$T/base.json" "$T/drop.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 3 ] || fail "throughput drop 1000 -> 800 should exit 3, got $rc"
grep -q "throughput .*REGRESSION (higher is better)" "$T/out" || fail "throughput drop not named a regression"
grep -q "improvement (" "$T/out" && fail "a drop was called an improvement"
ok "throughput drop is a regression (exit 3)"

run_json "$T/up.json" server server 1200 105000 105000 109000 110000 "$L1" 0.90
"$B" regress "$T/base.json" "$T/up.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "throughput gain should exit 0, got $rc"
grep -q "throughput .*improvement" "$T/out" || fail "throughput gain not named an improvement"
ok "throughput gain is an improvement (exit 0)"

run_json "$T/slow.json" server server 1000 126000 126000 130800 132000 "$L2" 0.90
"$B" regress "$T/base.json" "$T/slow.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 3 ] || fail "significant +20% latency should exit 3, got $rc"
grep -Eq "p99 .*Mann-Whitney p [=<] .*REGRESSION \(lower is better\)" "$T/out" || fail "p99 increase not a significant regression"
grep -Eq "mean .*Welch p [=<] .*REGRESSION" "$T/out" || fail "mean increase not a Welch regression"
ok "latency +20% with significance is a regression"

set -- "$1" $(summ "$N1"); run_json "$T/nb.json" server server 1000 "$2" "$3" "$4" "$5" "$N1"
set -- "$1" $(summ "$N2"); run_json "$T/nc.json" server server 1000 "$2" "$3" "$4" "$5" "$N2"
"$B" regress "$T/nb.json" "$T/nc.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || { cat "$T/out"; fail "a shift within noise should exit 0, got $rc"; }
grep -q "mean .*Welch p = .*unchanged" "$T/out" || fail "noisy shift not unchanged"
ok "a noisy latency shift (not significant) is unchanged"

"$B" regress --threshold 25% "$T/base.json" "$T/slow.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "--threshold 25% should tolerate +20%, got $rc"
ok "--threshold 25% tolerates +20%"

"$B" regress "$T/base.json" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "one file is a usage error (2), got $rc"
"$B" regress "$T/base.json" "$T/missing.json" > /dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || fail "missing file is a runtime error (1), got $rc"
echo "not json" > "$T/bad.json"
"$B" regress "$T/base.json" "$T/bad.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 1 ] || fail "bad JSON is a runtime error (1), got $rc"
grep -q "not valid JSON" "$T/out" || fail "bad JSON not named"
ok "regress usage (2) and runtime (1) errors"

# --- report from a real run -------------------------------------------------------------
M="synthetic:784x64x10"
"$B" --quick --quiet --model "$M" --batch 1,16 --format json --output "$T/run.json" > /dev/null 2>&1 \
    || fail "bench_mlp --format json run failed"
"$B" report --from "$T/run.json" --output "$T/rep" > "$T/out" 2>&1 || { cat "$T/out"; fail "report --from failed"; }
for f in report.md index.html offline_sweep.svg run0_histogram.svg run0_cdf.svg; do
    [ -s "$T/rep/$f" ] || fail "report --from: $f missing"
done
grep -q "{{" "$T/rep/report.md" "$T/rep/index.html" && fail "unfilled placeholder in the report"
grep -qi "TODO" "$T/rep/report.md" && fail "TODO in the report"
grep -q "<script" "$T/rep/index.html" && fail "script in index.html"
grep -Eq "(src|href)=" "$T/rep/index.html" && fail "external reference in index.html"
grep -q "<svg" "$T/rep/index.html" || fail "SVGs not inline in index.html"
awk '/^## Recommendations/{on=1; next} /^## /{on=0} on && /^- / {n++; if ($0 !~ /[0-9]/) {print "no digit: " $0; bad=1}}
     END{exit (bad || n < 1)}' "$T/rep/report.md" || fail "a recommendation line has no number (or none at all)"
grep -q "^## Resource usage" "$T/rep/report.md" || fail "resource section missing"
grep -q 'From the "resources" block' "$T/rep/report.md" && grep -q "process CPU" "$T/rep/report.md" \
    || fail "--from must report the run's resource figures"
ok "report --from: files, no placeholders, self-contained HTML, every recommendation has a number"
# the run's "resources" block: present, CPU figures numbers, no absent figure written as null
python3 - "$T/run.json" <<'PY' || fail "run JSON: bad resources block"
import json, sys
r = json.load(open(sys.argv[1]))["resources"]
for k in ["duration_ns", "interval_ms", "cpu_user_pct", "cpu_system_pct", "rss_peak_bytes", "core_busy_pct"]:
    assert k in r, k
assert r["interval_ms"] == 10 and r["duration_ns"] > 0
assert all(isinstance(r[k], (int, float)) and r[k] >= 0 for k in ["cpu_user_pct", "cpu_system_pct"])
assert r["cpu_user_pct"] + r["cpu_system_pct"] > 0, r
assert all(v is not None for v in r.values())
PY
ok "run JSON has a numeric resources block"
"$B" --quick --quiet --model "$M" --scenario single-stream --monitor-interval-ms 0 --format json \
    --output "$T/nomon.json" > /dev/null 2>&1 || fail "--monitor-interval-ms 0 run failed"
grep -q '"resources"' "$T/nomon.json" && fail "--monitor-interval-ms 0 still wrote resources"
"$B" report --from "$T/nomon.json" --output "$T/rep0" --no-profile > /dev/null 2>&1 || fail "report --from nomon failed"
grep -q "Not recorded" "$T/rep0/report.md" || fail "--from without resources must say they were not recorded"
ok "--monitor-interval-ms 0: no resources block; the report says so"

# --- --baseline on a run: the regress code path, exit 3 on a regression -------------------
"$B" --quick --quiet --model "$M" --scenario single-stream,multi-stream --baseline "$T/run.json" \
    --threshold 1000% > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || { cat "$T/out"; fail "--baseline an earlier run of the same model, threshold 1000%: exit $rc"; }
grep -q "^Regression check: baseline $T/run.json vs current this run" "$T/out" || fail "--baseline: no regress output"
awk '/^Percentiles:/{t=NR} /^Regression check:/{g=NR} END{exit !(t && g > t)}' "$T/out" \
    || fail "--baseline: the verdict must follow the table"
ok "--baseline with an earlier run and a wide threshold: table, then the verdict, exit 0"
python3 - "$T/run.json" "$T/better.json" <<'PY' || fail "cannot make the better baseline"
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["runs"]:
    r["throughput_samples_per_s"] *= 100
    for k, v in list(r["latency_ns"].items()):
        if isinstance(v, (int, float)) and k != "count": r["latency_ns"][k] = v / 100
    r["latencies_ns"] = [max(1, x // 100) for x in r["latencies_ns"]]
json.dump(d, open(sys.argv[2], "w"))
PY
"$B" --quick --quiet --model "$M" --scenario single-stream,multi-stream --baseline "$T/better.json" \
    > "$T/out" 2>&1; rc=$?
[ $rc -eq 3 ] || { cat "$T/out"; fail "--baseline 100x better: want exit 3, got $rc"; }
grep -q "REGRESSION (exit 3)" "$T/out" || fail "--baseline: no REGRESSION summary"
"$B" --quick --quiet --model "$M" --scenario single-stream --baseline "$T/better.json" --format json \
    --output "$T/cur.json" > "$T/gate" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "REGRESSION" "$T/gate" && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/cur.json" \
    || fail "--baseline with --format json: exit 3, verdict on stdout, JSON intact (got $rc)"
ok "--baseline with 100x better figures: REGRESSION, exit 3 (also with --format json)"
"$B" --quick --quiet --model "$M" --baseline "$T/missing.json" > /dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || fail "--baseline missing file: want exit 1, got $rc"
"$B" --quick --quiet --model "$M" --threshold 10% > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--threshold without --baseline: want exit 2, got $rc"
ok "--baseline errors: missing file 1, --threshold alone 2"
if command -v rsvg-convert > /dev/null 2>&1; then
    for s in "$T"/rep/*.svg; do rsvg-convert -o "$T/x.png" "$s" || fail "$s does not render"; done
    ok "every report SVG renders"
fi

# --- report, live mode (short) ------------------------------------------------------------
"$B" report --output "$T/live" --quick --model "$M" --scenario single-stream,offline --batch 1,8 > "$T/out" 2>&1 \
    || { cat "$T/out"; fail "live report failed"; }
grep -q "^## Per-layer profile" "$T/live/report.md" || fail "live report lacks the profile"
grep -q "process CPU" "$T/live/report.md" || fail "live report lacks resource figures"
[ -s "$T/live/resources.json" ] || fail "resources.json missing"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["cpu_user_pct"] >= 0 and len(r["series"]) > 0;
d=json.load(open(sys.argv[2])); assert d["resources"]["duration_ns"] > 0' "$T/live/resources.json" "$T/live/results.json" \
    || fail "live report: resources.json series or the results.json resources block missing"
ok "live report with profile and resource usage"
"$B" report --output "$T/x" --from "$T/run.json" --quick > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--from with run options is a usage error, got $rc"
"$B" report --quick > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "report without --output is a usage error, got $rc"
ok "report usage errors"

# --- ab, profile, plan --------------------------------------------------------------------
"$B" ab --model synthetic:784x32x10 --model-b "$M" --queries 600 --warmup 20 > "$T/out" 2>&1 \
    || { cat "$T/out"; fail "ab failed"; }
grep -q "Sample ratio: .*-> ok" "$T/out" || fail "ab: no SRM line"
grep -q "^Recommendation: " "$T/out" || fail "ab: no recommendation"
ok "ab runs, checks the split and recommends"
"$B" ab --model "$M" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "ab without --model-b is a usage error, got $rc"

"$B" profile --model "$M" --iterations 200 --svg "$T/layers.svg" > "$T/out" 2>&1 || { cat "$T/out"; fail "profile failed"; }
grep -q "^Bottleneck: " "$T/out" || fail "profile names no bottleneck"
grep -q "GFLOP/s" "$T/out" || fail "profile: no roofline"
[ -s "$T/layers.svg" ] || fail "profile --svg wrote nothing"
ok "profile: layers, roofline, pipeline, bottleneck"

"$B" plan --model synthetic:784x32x10 --target-qps 500 --trial-ms 100ms > "$T/out" 2>&1; rc=$?
[ $rc -le 1 ] || { cat "$T/out"; fail "plan crashed or usage error ($rc)"; }
grep -q "^Find-peak, 1 worker" "$T/out" || fail "plan: no find-peak line"
if [ $rc -eq 0 ]; then
    grep -q "prediction error" "$T/out" || fail "plan: no model check"
fi
ok "plan (exit $rc)"
"$B" plan > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "plan without --target-qps is a usage error, got $rc"
echo "all reports CLI checks passed"
