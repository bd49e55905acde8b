#!/usr/bin/env bash
# cli_compare.sh BENCH_MLP — end-to-end test of `bench_mlp compare` on small files whose
# answers are known: the samples of stats_vectors.json cases ts_negative_t and
# ts_lognormal_50_outliers (Welch t, df, p and Mann-Whitney U, p computed by SciPy 1.10),
# real bench_mlp JSON results (repetitions; the comparability guard), and bad input (exit
# codes 1 and 2, messages).
set -u
BENCH=${1:?usage: cli_compare.sh path/to/bench_mlp}
F="$(cd "$(dirname "$0")" && pwd)/compare_fixtures"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0

ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }

# expect_rc NAME CODE CMD...: run, keep stdout/stderr in $TMP/out, $TMP/err
expect_rc() {
    local name=$1 want=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, expected $want"; cat "$TMP/err"; fi
}

# json_num KEY_PATH: the number after "key": inside the object "obj" of $TMP/out
json_num() { # obj key
    grep -o "\"$1\": {[^}]*}" "$TMP/out" | head -1 | grep -o "\"$2\": [^,}]*" | head -1 | sed 's/.*: //'
}

# close NAME GOT EXPECTED REL
close() {
    if [ -z "$2" ]; then bad "$1: missing"; return; fi
    if awk -v g="$2" -v e="$3" -v r="$4" 'BEGIN { d = g - e; if (d < 0) d = -d; a = e < 0 ? -e : e; exit !(d <= r * a) }'; then
        ok "$1 = $2"
    else
        bad "$1: got $2, expected $3 (rel $4)"
    fi
}

has() { # NAME FILE PATTERN
    if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: '$3' not found in:"; cat "$2"; fi
}

# 1. text files: B slower than A (SciPy: t = +7.0710678118654 for B - A, df = 10,
#    p = 3.411401014278324e-05; exact Mann-Whitney p = 0.0021645021645021645, U1 = 0)
expect_rc "text files, json" 0 "$BENCH" compare --format json "$F/fast_a.txt" "$F/slow_b.txt"
has "verdict slower" "$TMP/out" '"verdict": "slower"'
close "welch.t" "$(json_num welch t)" 7.071067811865494 1e-12
close "welch.df" "$(json_num welch df)" 10 1e-12
close "welch.p" "$(json_num welch p)" 3.411401014278324e-05 1e-10
close "student.p" "$(json_num student p)" 3.411401014278324e-05 1e-10
close "mann_whitney.u1" "$(json_num mann_whitney u1)" 0 0
close "mann_whitney.p" "$(json_num mann_whitney p)" 0.0021645021645021645 1e-12
close "a.mean" "$(json_num a mean)" 9.908333333333333 1e-14
has "17 significant digits" "$TMP/out" '"t": 7\.[0-9]\{16\},'
has "few_samples warning" "$TMP/out" 'A few_samples'

expect_rc "text files, table" 0 "$BENCH" compare "$F/fast_a.txt" "$F/slow_b.txt"
has "table verdict sentence" "$TMP/out" 'verdict: B is 5.9% slower (95% CI 4.0%.7.8%), p = 3.4e-05'
has "table summary rows" "$TMP/out" 'mean +- 95% CI'
has "table Welch row" "$TMP/out" 'Welch t-test           t = 7.071, df = 10'

expect_rc "swapped: B faster" 0 "$BENCH" compare --format json "$F/slow_b.txt" "$F/fast_a.txt"
has "verdict faster" "$TMP/out" '"verdict": "faster"'
close "welch.t swapped" "$(json_num welch t)" -7.071067811865494 1e-12

# 2. heavy tails: Welch p = 0.636895001093606 (t of B - A = -0.4735332654137792), but
#    Mann-Whitney p = 0.006467733565671201 -> no_change and a tests_disagree warning
expect_rc "spiky samples" 0 "$BENCH" compare --format=json "$F/spiky_a.txt" "$F/spiky_b.txt"
has "verdict no_change" "$TMP/out" '"verdict": "no_change"'
close "welch.t spiky" "$(json_num welch t)" -0.4735332654137792 1e-11
close "welch.df spiky" "$(json_num welch df)" 97.16367506486041 1e-11
close "welch.p spiky" "$(json_num welch p)" 0.636895001093606 1e-11
close "mann_whitney.u1 spiky" "$(json_num mann_whitney u1)" 1645.5 0
close "mann_whitney.p spiky" "$(json_num mann_whitney p)" 0.006467733565671201 1e-11
has "tests_disagree warning" "$TMP/out" 'tests_disagree'

# 3. bench_mlp JSON results, real ones: two runs of the same workload with 3 repetitions
#    each. The values compared are one per repetition (the run is the unit), the scenario
#    both files have is chosen, README's spelling single_stream names it too.
W=(--quick --quiet --model synthetic:64x32x10 --scenario single-stream,offline --repeat 3 --format json --raw-latencies)
"$BENCH" "${W[@]}" --output "$TMP/run_a.json" >/dev/null 2>&1 || bad "bench_mlp run A failed"
"$BENCH" "${W[@]}" --output "$TMP/run_b.json" >/dev/null 2>&1 || bad "bench_mlp run B failed"
expect_rc "json results" 0 "$BENCH" compare --format json "$TMP/run_a.json" "$TMP/run_b.json"
has "scenario chosen" "$TMP/out" '"scenario": "single-stream"'
python3 - "$TMP/out" <<'PY' && ok "json: n = 3 repetition values a side" || bad "json: n is not the repetition count"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["a"]["n"] == 3 and d["b"]["n"] == 3, (d["a"]["n"], d["b"]["n"])
PY
expect_rc "json --scenario single_stream" 0 "$BENCH" compare --scenario single_stream --percentile-method linear "$TMP/run_a.json" "$TMP/run_b.json"
has "method shown" "$TMP/out" 'linear method'
has "unit is the run" "$TMP/out" 'one per RUN, the p50 latency of each repetition (3 vs 3 repetitions)'
expect_rc "--metric p99" 0 "$BENCH" compare --metric p99 "$TMP/run_a.json" "$TMP/run_b.json"
has "p99 named" "$TMP/out" 'the p99 latency of each repetition'
expect_rc "--per-query" 0 "$BENCH" compare --per-query "$TMP/run_a.json" "$TMP/run_b.json"
has "per-query labelled" "$TMP/out" 'per-QUERY latencies of one run'
"$BENCH" --quick --quiet --model synthetic:64x32x10 --scenario single-stream --format json \
    --output "$TMP/run_1.json" >/dev/null 2>&1 || bad "bench_mlp run (1 repetition) failed"
expect_rc "one repetition a side" 0 "$BENCH" compare "$TMP/run_1.json" "$TMP/run_1.json"
has "not enough repetitions" "$TMP/out" 'not enough repetitions for a test (1 vs 1'
has "threshold only, as regress" "$TMP/out" 'threshold only)  \[no_change\]'
"$BENCH" --quick --quiet --model synthetic:64x16x10 --scenario single-stream,offline --format json \
    --output "$TMP/other.json" >/dev/null 2>&1 || bad "bench_mlp run (other model) failed"
expect_rc "different workloads refused" 2 "$BENCH" compare "$TMP/run_a.json" "$TMP/other.json"
has "difference named" "$TMP/err" 'not comparable: .* model parameters: 2410 vs 1210'
expect_rc "--force compares anyway" 0 "$BENCH" compare --force "$TMP/run_a.json" "$TMP/other.json"
has "--force said" "$TMP/out" 'WARNING: --force'

# 3b. compare = regress: on results files compare's verdict IS the gate's — the
#     one rule (tmlp_regress_decide: run-level Welch on logs, bar max(threshold, noise
#     floor), Holm over every metric of every matched run). For each fixture pair
#     (tests/make_gate_fixtures.py) and each scenario and metric, compare's verdict equals
#     regress's line for it, and compare's family counts equal regress's summary.
python3 - "$BENCH" "$F" <<'PY' && ok "compare = regress on every fixture pair, scenario and metric" || bad "compare and regress disagree"
import json, re, subprocess, sys
bench, F = sys.argv[1], sys.argv[2]
pairs = [("gate_base", "gate_aa"), ("gate_base", "gate_slow"), ("gate_slow", "gate_base"),
         ("gate_base", "gate_two"), ("gate_aa", "gate_slow")]
word = {"REGRESSION": "regression", "improvement": "improvement", "unchanged": "unchanged"}
checked = 0
for a, b in pairs:
    fa, fb = f"{F}/{a}.json", f"{F}/{b}.json"
    reg = subprocess.run([bench, "regress", fa, fb], capture_output=True, text=True).stdout
    lines = {}
    for line in reg.splitlines():
        m = re.match(r"^  (\S+)\s+(mean|p50|p90|p99|throughput)\s.*\s(REGRESSION|improvement|unchanged)( \(threshold only\))?$", line)
        if m:
            lines[(m.group(1), m.group(2))] = word[m.group(3)]
    n_reg = int(re.search(r"Summary: (\d+) regression", reg).group(1))
    for scen in ["single-stream", "multi-stream", "offline"]:
        for metric in ["mean", "p50", "p90", "p99"]:
            out = subprocess.run([bench, "compare", "--format", "json", "--scenario", scen, "--metric", metric, fa, fb],
                                 capture_output=True, text=True)
            assert out.returncode == 0, (a, b, scen, metric, out.stderr)
            g = json.loads(out.stdout)["gate"]
            key = (scen, "throughput" if scen == "offline" else metric)
            assert g["regress_verdict"] == lines[key], (a, b, key, g["regress_verdict"], lines[key])
            assert g["family_regressions"] == n_reg, (a, b, g["family_regressions"], n_reg)
            want = {"regression": "slower", "improvement": "faster", "unchanged": "no_change"}[lines[key]]
            assert json.loads(out.stdout)["verdict"] == want
            checked += 1
assert checked == len(pairs) * 12
PY
# the issue's A/A case: the single-stream p50 values of gate_aa are ~4% below gate_base's
# with a small spread. A test of those five values alone (text files: Welch, 1% noise band)
# calls B faster; the gate — the same values, in the family of 11 metrics, bar max(5%,
# noise floor) — calls them unchanged, and compare on the results files says what regress says.
python3 - "$F" "$TMP" <<'PY'
import json, sys
F, T = sys.argv[1], sys.argv[2]
for name in ["gate_base", "gate_aa"]:
    d = json.load(open(f"{F}/{name}.json"))
    vals = [r["latency_ns"]["p50"] for r in d["runs"][0]["repetitions"]]
    open(f"{T}/{name}_p50.txt", "w").write("\n".join(map(str, vals)) + "\n")
PY
expect_rc "A/A p50 alone, text files" 0 "$BENCH" compare "$TMP/gate_base_p50.txt" "$TMP/gate_aa_p50.txt"
has "a test of five values calls it faster" "$TMP/out" '\[faster\]'
expect_rc "A/A results files" 0 "$BENCH" compare "$F/gate_base.json" "$F/gate_aa.json"
has "the gate calls it unchanged" "$TMP/out" 'Holm p = 0.072 over 11 metrics)  \[no_change\]'
expect_rc "A/A regress" 0 "$BENCH" regress "$F/gate_base.json" "$F/gate_aa.json"
has "regress: unchanged" "$TMP/out" 'single-stream    p50 .*Holm 0.072.*unchanged'
expect_rc "real slowdown, compare" 0 "$BENCH" compare --metric p99 "$F/gate_base.json" "$F/gate_slow.json"
has "20% slower" "$TMP/out" 'B is 20.4% slower (95% CI +17.7% to +23.1%.*\[slower\]'
expect_rc "real slowdown, regress" 3 "$BENCH" regress "$F/gate_base.json" "$F/gate_slow.json"
expect_rc "--threshold 25% tolerates it" 0 "$BENCH" compare --threshold 25% "$F/gate_base.json" "$F/gate_slow.json"
has "within the 25% bar" "$TMP/out" 'No change beyond the 25.0% bar'

# 4. options change the verdict as documented
expect_rc "wide noise band" 0 "$BENCH" compare --noise 10% "$F/fast_a.txt" "$F/slow_b.txt"
has "no change beyond noise" "$TMP/out" 'No change beyond the'
expect_rc "tiny alpha" 0 "$BENCH" compare --alpha 1e-6 "$F/fast_a.txt" "$F/slow_b.txt"
has "not significant at 1e-6" "$TMP/out" 'No significant change'
expect_rc "help" 0 "$BENCH" compare --help
has "usage text" "$TMP/out" 'usage: bench_mlp compare'

# 5. bad input: runtime errors exit 1 with a message naming the problem
expect_rc "missing file" 1 "$BENCH" compare "$F/does_not_exist.txt" "$F/slow_b.txt"
has "missing file named" "$TMP/err" 'does_not_exist.txt'
expect_rc "malformed line" 1 "$BENCH" compare "$F/fast_a.txt" "$F/malformed.txt"
has "file and line number" "$TMP/err" 'malformed.txt:5: not a number'
expect_rc "empty file" 1 "$BENCH" compare "$F/empty.txt" "$F/slow_b.txt"
expect_rc "scenario absent" 1 "$BENCH" compare --scenario offline "$TMP/run_1.json" "$TMP/run_1.json"
has "scenario named" "$TMP/err" "no run with scenario 'offline'"
printf '{"runs": [' >"$TMP/broken.json"
expect_rc "broken json" 1 "$BENCH" compare "$TMP/broken.json" "$F/slow_b.txt"

# 6. usage errors exit 2
expect_rc "unknown option" 2 "$BENCH" compare --bogus "$F/fast_a.txt" "$F/slow_b.txt"
has "option named" "$TMP/err" "unknown option '--bogus'"
expect_rc "bad number" 2 "$BENCH" compare --alpha abc "$F/fast_a.txt" "$F/slow_b.txt"
expect_rc "alpha out of range" 2 "$BENCH" compare --alpha 1.5 "$F/fast_a.txt" "$F/slow_b.txt"
expect_rc "missing value" 2 "$BENCH" compare "$F/fast_a.txt" "$F/slow_b.txt" --confidence
expect_rc "one file" 2 "$BENCH" compare "$F/fast_a.txt"
expect_rc "three files" 2 "$BENCH" compare "$F/fast_a.txt" "$F/slow_b.txt" "$F/slow_b.txt"
expect_rc "bad format" 2 "$BENCH" compare --format xml "$F/fast_a.txt" "$F/slow_b.txt"
expect_rc "bad method" 2 "$BENCH" compare --percentile-method p2 "$F/fast_a.txt" "$F/slow_b.txt"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
