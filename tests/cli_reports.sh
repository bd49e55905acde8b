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

# --- regress: real bench_mlp results -------------------------------------------------------
# Every input is bench_mlp's own JSON. Where a test needs a known change, a copy of a real
# file is edited (tweak: every repetition's latencies x F and throughput / F), so the
# decision rule is tested on exact numbers; the rule itself is unit-tested in
# test_regress.c (simulated drift: A/A and a true 20% slowdown).
RM="synthetic:64x32x10"
W="--quick --quiet --scenario single-stream,offline --model $RM --format json"
"$B" $W --repeat 3 --output "$T/r3.json" > /dev/null 2>&1 || fail "bench_mlp --repeat 3 run failed"
"$B" $W --output "$T/r1.json" > /dev/null 2>&1 || fail "bench_mlp run failed"
python3 - "$T/r3.json" <<'PY' || fail "--repeat 3: repetitions/aggregate missing from the JSON"
import json, sys
for r in json.load(open(sys.argv[1]))["runs"]:
    reps = r["repetitions"]
    assert len(reps) == 3 and [x["repetition"] for x in reps] == [1, 2, 3], reps
    assert all(x["workload_digest"] == r["workload_digest"] for x in reps)
    ag = r["aggregate"]
    assert ag["repetitions"] == 3 and ag["same_workload"] is True
    for k in ["mean", "p50", "p90", "p99", "throughput"]:
        assert k in ag["median"] and k in ag["cv"] and k in ag["noise_floor"], k
    med = sorted(x["latency_ns"]["p50"] for x in reps)[1]
    assert r["latency_ns"]["p50"] == med, (r["latency_ns"]["p50"], med)
    assert r["valid"] == all(x["valid"] for x in reps)
PY
ok "--repeat 3: every repetition in the JSON, the top-level figure is their median"

# --repeat-mode exec (the default): each repetition a fresh process (bench_mlp re-executes
# itself); the same workload, each repetition from its own pid, the JSON says which mode;
# with --repeat-mode process the repetitions all share one pid. The gate reads both alike.
"$B" $W --repeat 3 --repeat-mode process --output "$T/r3p.json" > /dev/null 2>&1 || fail "--repeat-mode process run failed"
python3 - "$T/r3p.json" "$T/r3.json" <<'PY' || fail "--repeat-mode exec: repetitions not from fresh processes"
import json, sys
same, fresh = (json.load(open(p)) for p in sys.argv[1:])
assert same["context"]["repeat_mode"] == "process" and fresh["context"]["repeat_mode"] == "exec"
for a, b in zip(same["runs"], fresh["runs"]):
    assert len({x["pid"] for x in a["repetitions"]}) == 1
    pids = [x["pid"] for x in b["repetitions"]]
    assert len(set(pids)) == 3, pids
    assert b["workload_digest"] == a["workload_digest"] and b["aggregate"]["same_workload"] is True
    assert [x["repetition"] for x in b["repetitions"]] == [1, 2, 3]
PY
"$B" regress "$T/r3p.json" "$T/r3.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 3 ] || { cat "$T/out"; fail "regress process vs exec: exit $rc"; }
grep -q "repeat mode: process vs exec" "$T/out" || fail "regress does not show the repeat modes"
"$B" --repeat-mode fork --quick > "$T/out" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q -- "--repeat-mode: unknown mode" "$T/out" || fail "--repeat-mode fork: exit $rc"
ok "--repeat-mode exec (default): every repetition from its own process, the same workload; bad modes refused"

# tweak IN OUT FACTOR [FIELD]: every repetition (or the run) slower by FACTOR
tweak() {
    python3 - "$@" <<'PY'
import json, sys
src, dst, f = sys.argv[1], sys.argv[2], float(sys.argv[3])
d = json.load(open(src))
for r in d["runs"]:
    for x in r.get("repetitions", []) + [r]:
        x["throughput_samples_per_s"] /= f
        for k in ["mean", "p50", "p90", "p95", "p97", "p99", "p999", "min", "max"]:
            if isinstance(x["latency_ns"].get(k), (int, float)): x["latency_ns"][k] *= f
json.dump(d, open(dst, "w"))
PY
}
# the same file against itself: nothing changed, exit 0 (A/A on one file is exact)
"$B" regress "$T/r3.json" "$T/r3.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || { cat "$T/out"; fail "a file against itself should exit 0, got $rc"; }
grep -q "Summary: 0 regressions, 0 improvements" "$T/out" || fail "A/A: not all unchanged"
grep -q "tested across repetitions (Welch on logs, Holm over" "$T/out" || fail "A/A: the test is not named"
ok "a repeated run against itself: unchanged, exit 0"

# one repetition a side: no test, the threshold alone decides, and says so
tweak "$T/r1.json" "$T/r1_slow.json" 1.25
"$B" regress "$T/r1.json" "$T/r1_slow.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 3 ] || { cat "$T/out"; fail "+25% with one repetition a side should exit 3, got $rc"; }
grep -q "throughput .*not enough repetitions for a test (1 vs 1 runs, need 3).*REGRESSION (threshold only)" "$T/out" \
    || fail "throughput drop (1 vs 1) not a labelled threshold-only regression"
grep -Eq "  improvement$" "$T/out" && fail "a slowdown was called an improvement"
ok "1 vs 1 repetitions: threshold-only REGRESSION, labelled, exit 3 (throughput is higher-is-better)"
tweak "$T/r1.json" "$T/r1_fast.json" 0.8
"$B" regress "$T/r1.json" "$T/r1_fast.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "a speed-up should exit 0, got $rc"
grep -q "throughput .*improvement" "$T/out" || fail "throughput gain not named an improvement"
ok "a speed-up is an improvement (exit 0)"
"$B" regress --threshold 30% "$T/r1.json" "$T/r1_slow.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "--threshold 30% should tolerate +25%, got $rc"
ok "--threshold 30% tolerates +25%"

# 3 repetitions a side and a 2x slowdown of every repetition: a tested regression with
# its own interval per percentile. The spread of a real run on a busy machine can be
# anything, so the repetitions get a known one first: the run's median x (1, 1.02, 0.98).
python3 - "$T/r3.json" "$T/r3_known.json" <<'PY' || fail "cannot set the known spread"
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["runs"]:
    for x, f in zip(r["repetitions"], (1.0, 1.02, 0.98)):
        x["throughput_samples_per_s"] = r["throughput_samples_per_s"] / f
        for k in ["mean", "p50", "p90", "p95", "p99", "p999", "max"]:
            if isinstance(r["latency_ns"].get(k), (int, float)): x["latency_ns"][k] = r["latency_ns"][k] * f
json.dump(d, open(sys.argv[2], "w"))
PY
tweak "$T/r3_known.json" "$T/r3_slow.json" 2
"$B" regress "$T/r3_known.json" "$T/r3_slow.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 3 ] || { cat "$T/out"; fail "2x slower (3 vs 3) should exit 3, got $rc"; }
grep -Eq "single-stream +p50 .*\+100\.00%  95% CI \[\+[0-9.]+%, \+[0-9.]+%\], p [0-9.e-]+ \(Holm [0-9.e-]+\), bar .* REGRESSION$" "$T/out" \
    || { cat "$T/out"; fail "p50 2x (3 vs 3): no tested REGRESSION line with its interval"; }
grep -Eq "single-stream +p99 .*95% CI" "$T/out" || fail "p99 has no interval of its own"
ok "2x slower, 3 vs 3 repetitions: tested REGRESSION with an interval per percentile, exit 3"

# the comparability guard: another model is another workload -> exit 2, each difference named
"$B" --quick --quiet --scenario single-stream,offline --model synthetic:64x16x10 --format json \
    --output "$T/other.json" > /dev/null 2>&1 || fail "bench_mlp run (other model) failed"
"$B" regress "$T/r1.json" "$T/other.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 2 ] || { cat "$T/out"; fail "different workloads should exit 2, got $rc"; }
grep -q "not comparable: .*model parameters: 2410 vs 1210" "$T/out" || fail "the model difference is not named"
"$B" --quick --quiet --scenario single-stream,offline --model "$RM" --sample-seed 5 --format json \
    --output "$T/seed5.json" > /dev/null 2>&1 || fail "bench_mlp run (other seed) failed"
"$B" regress "$T/r1.json" "$T/seed5.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 2 ] || fail "another sample seed should exit 2, got $rc"
grep -q "not comparable: .*sample seed: " "$T/out" && grep -q "single-stream workload digest: " "$T/out" \
    || { cat "$T/out"; fail "the seed and digest differences are not named"; }
"$B" regress --force "$T/r1.json" "$T/other.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 3 ] || fail "--force: want a verdict (0 or 3), got $rc"
grep -q "WARNING: --force" "$T/out" || fail "--force does not say so"
ok "different workloads: exit 2 naming each difference; --force compares and says so"
"$B" --quick --quiet --scenario single-stream,offline --model "$RM" --workers 2 --format json \
    --output "$T/w2.json" > /dev/null 2>&1 || fail "bench_mlp run (2 workers) failed"
"$B" regress --threshold 100000% "$T/r1.json" "$T/w2.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 3 ] || { cat "$T/out"; fail "a system difference (workers) must not be refused, got $rc"; }
grep -q "Systems differ" "$T/out" && grep -q "workers: 1 vs 2" "$T/out" || fail "system difference not shown as context"
ok "system differences (workers) are context, not a refusal"

"$B" regress "$T/r1.json" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "one file is a usage error (2), got $rc"
"$B" regress "$T/r1.json" "$T/missing.json" > /dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || fail "missing file is a runtime error (1), got $rc"
echo "not json" > "$T/bad.json"
"$B" regress "$T/r1.json" "$T/bad.json" > "$T/out" 2>&1; rc=$?
[ $rc -eq 1 ] || fail "bad JSON is a runtime error (1), got $rc"
grep -q "not valid JSON" "$T/out" || fail "bad JSON not named"
ok "regress usage (2) and runtime (1) errors"

# --- report from a real run -------------------------------------------------------------
M="synthetic:784x64x10"
"$B" --quick --quiet --model "$M" --batch 1,16 --format json --raw-latencies --output "$T/run.json" > /dev/null 2>&1 \
    || fail "bench_mlp --format json run failed"
"$B" report --from "$T/run.json" --output "$T/rep" > "$T/out" 2>&1 || { cat "$T/out"; fail "report --from failed"; }
for f in report.md index.html offline_sweep.svg single-stream_histogram.svg single-stream_cdf.svg \
         multi-stream_histogram.svg server_timeline.svg; do
    [ -s "$T/rep/$f" ] || fail "report --from: $f missing"
done
grep -q "{{" "$T/rep/report.md" "$T/rep/index.html" && fail "unfilled placeholder in the report"
grep -qi "TODO" "$T/rep/report.md" && fail "TODO in the report"
grep -q "<script" "$T/rep/index.html" && fail "script in index.html"
grep -Eq '(src|href)="[^#]' "$T/rep/index.html" && fail "external reference in index.html"
grep -q '<nav class="toc">' "$T/rep/index.html" || fail "index.html has no table of contents"
grep -q 'href="#s[0-9]*">Scenarios' "$T/rep/index.html" || fail "the contents do not link the Scenarios section"
ls "$T/rep" | grep -q '^run[0-9]' && fail "figure files named run<N>_ instead of by scenario"
grep -q "| samples | batch size | duration | throughput (samples/s) |" "$T/rep/report.md" \
    || fail "offline runs must show a throughput table, not latency percentiles"
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
    --threshold 100000% > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] || { cat "$T/out"; fail "--baseline an earlier run of the same model, threshold 100000%: exit $rc"; }
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

# --- report --precisions: the latency-vs-accuracy table (default model and data: Fashion-MNIST
# when installed, else synthetic data without labels, where the table says accuracy is n/a)
"$B" report --precisions f32,int8 --output "$T/prec" --quick --no-find-peak --no-profile --scenario single-stream \
    > "$T/out" 2>&1 || { cat "$T/out"; fail "report --precisions f32,int8 failed"; }
for f in precision_f32.json precision_int8.json; do [ -s "$T/prec/$f" ] || fail "report --precisions: $f missing"; done
grep -q "^## Weight precision: latency versus accuracy" "$T/prec/report.md" || fail "no precision section"
grep -q "^| precision | instructions | single-stream p50 | p99 | p50 vs f32 | offline samples/s | vs f32 | accuracy | accuracy vs f32 (paired, 95% CI) | McNemar p |" \
    "$T/prec/report.md" || fail "precision table header"
grep -q "^| f32 | .* | 1.00x | .* | reference |" "$T/prec/report.md" || fail "no f32 reference row"
grep -q "<h2[^>]*>Weight precision: latency versus accuracy</h2>" "$T/prec/index.html" || fail "no precision section in HTML"
python3 - "$T/prec/results.json" "$T/prec/report.md" <<'PY' || fail "results.json precisions block or the int8 row"
import json, re, sys
d = json.load(open(sys.argv[1]))
ps = {p["precision"]: p for p in d["precisions"]}
assert list(ps) == ["f32", "int8"], list(ps)
for p in ps.values():
    assert p["single_stream"]["p50_ns"] > 0 and p["offline"]["samples_per_s"] > 0 and p["offline"]["batch"] == 256, p
md = open(sys.argv[2]).read()
row = [l for l in md.splitlines() if l.startswith("| int8 |")][0]
i8 = ps["int8"]
if i8["accuracy"] is None:  # no labels
    assert i8["paired_vs_f32"] is None and "no labels" in i8["note"] and "| n/a |" in row, row
else:
    pr = i8["paired_vs_f32"]
    assert pr["precision"] == "int8" and 0 <= pr["mcnemar"]["p"] <= 1 and pr["accuracy"] == i8["accuracy"], pr
    assert re.search(r"\| [+-]\d+\.\d\d points \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\] \| [0-9.e-]+ \((exact|chi-square); \d+ discordant\) \|", row), row
    assert "int8: single-stream p50 " in md and "McNemar p" in md, "no precision recommendation"
    print("ok: labelled data: int8 row with the paired difference, its CI and McNemar p")
PY
"$B" report --from "$T/prec/results.json" --output "$T/prec2" --no-profile > /dev/null 2>&1 || fail "report --from precision results"
[ "$(grep '^| int8 |' "$T/prec2/report.md")" = "$(grep '^| int8 |' "$T/prec/report.md")" ] \
    || fail "report --from does not reproduce the precision table"
ok "report --precisions f32,int8: the table in Markdown and HTML, kept in results.json, reproduced by --from"
# a precision that cannot run (blas has no int8 path) costs its row, not the report
"$B" report --precisions f32,int8 --kernels blas --output "$T/precb" --quick --no-find-peak --no-profile \
    --scenario single-stream --model "$M" > "$T/out" 2>&1 || { cat "$T/out"; fail "report with a failing precision"; }
grep -q "^| int8 | - | not measured | .* | not measured |$" "$T/precb/report.md" && \
    grep -q "^- int8: not measured: its latency run failed" "$T/precb/report.md" || fail "the failed int8 row is not said"
ok "report --precisions: a precision whose runs fail is a row marked not measured, with the reason"
"$B" report --precisions f32 --output "$T/x" --quick > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--precisions with one precision is a usage error, got $rc"
"$B" report --precisions f32,fp7 --output "$T/x" --quick > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--precisions f32,fp7 is a usage error, got $rc"
"$B" report --precisions f32,int8 --from "$T/run.json" --output "$T/x" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--precisions with --from is a usage error, got $rc"
"$B" report --precision f32,int8 --output "$T/x" --quick > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--precisions" "$T/err" || fail "--precision LIST: exit $rc, $(cat "$T/err")"
[ -e "$T/x" ] && fail "a refused report left $T/x behind"
ok "--precisions usage errors (one precision, unknown name, with --from; --precision LIST points to --precisions)"

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
