#!/bin/bash
# cli_schema.sh BENCH_MLP — results files are checked on every read (bench/result_check.c):
# malformed documents are refused by every reader (report --from, compare, regress,
# --baseline) with exit 1 and one line naming the file and the JSON pointer of the field;
# a file above 64 MiB is refused before it is parsed; a version-0 document (no
# "schema_version", written before the key existed) is still read; a gate with no metric
# on both sides exits 2, never 0.
B="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }

"$B" --model synthetic:16x8x3 --quick --quiet --min-duration-ms 30 --repeat 2 --raw-latencies \
    --format json --output "$T/good.json" >/dev/null 2>"$T/err" || { cat "$T/err"; echo "cannot make a result"; exit 1; }

# mutate NAME PYTHON: good.json with one change (d is the document) -> $T/NAME.json
mutate() {
    /usr/bin/python3 - "$T/good.json" "$T/$1.json" "$2" <<'PY' || { echo "cannot write $1"; exit 1; }
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
text = json.dumps(d).replace("123456789.5", "1e999")  # a number Python cannot write
open(sys.argv[2], "w").write(text)
PY
}
echo '{"runs":[{"scenario":"single-stream"}]}' >"$T/bare_run.json"
mutate p50_inf 'd["runs"][0]["latency_ns"]["p50"] = 123456789.5'
mutate rep_inf 'd["runs"][1]["repetitions"][1]["latency_ns"]["p99"] = 123456789.5'
mutate nan_throughput 'd["runs"][2]["throughput_samples_per_s"] = "NaN"'
mutate negative_latencies 'd["runs"][0]["latencies_ns"] = [-1, -5, 0, 1e300]'
mutate huge_latency 'd["runs"][0]["latencies_ns"] = [-1, 0, 1e300]'
mutate reps_object 'd["runs"][0]["repetitions"] = {"1": d["runs"][0]["repetitions"][0]}'
mutate negative_throughput 'd["runs"][1]["throughput_samples_per_s"] = -3'
mutate future_version 'd["schema_version"] = 2'
mutate version_string 'd["schema_version"] = "1"'
mutate unknown_scenario 'd["runs"][0]["scenario"] = "batch"'
mutate bad_accuracy 'd["runs"][0]["accuracy"] = {"correct": 9, "total": 4, "value": 2.25}'
truncate -s 65M "$T/oversized.json"

# case file pointer: the line every reader must print
cases="bare_run:/runs/0/label
p50_inf:/runs/0/latency_ns/p50
rep_inf:/runs/1/repetitions/1/latency_ns/p99
nan_throughput:/runs/2/throughput_samples_per_s
negative_latencies:/runs/0/latencies_ns/1
huge_latency:/runs/0/latencies_ns/2
reps_object:/runs/0/repetitions
negative_throughput:/runs/1/throughput_samples_per_s
future_version:/schema_version
version_string:/schema_version
unknown_scenario:/runs/0/scenario
bad_accuracy:/runs/0/accuracy/correct
oversized:above the 64 MiB"
while IFS=: read -r name want; do
    f="$T/$name.json"
    for cmd in "report --from $f --output $T/rep_$name" "compare $T/good.json $f" "compare --per-query $f $T/good.json" \
               "regress $T/good.json $f" "regress $f $T/good.json" \
               "--model synthetic:16x8x3 --quick --quiet --min-duration-ms 30 --baseline $f"; do
        "$B" $cmd >"$T/out" 2>"$T/err"; rc=$?
        if [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF "$name.json: " "$T/err" && grep -qF -- "$want" "$T/err"; then
            :
        else
            bad "$name: '${cmd%% *} ${cmd#* }' exit $rc (want 1 and one line naming $name.json and $want): $(cat "$T/err")"
        fi
    done
    [ ! -e "$T/rep_$name" ] || bad "$name: report --from left a directory"
    ok "$name refused by report, compare, regress and --baseline naming $want"
done <<<"$cases"

# a FIFO (no size to stat) is cut one byte past the cap, not read whole
mkfifo "$T/fifo.json"
(head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/fifo.json" 2>/dev/null &)
"$B" regress "$T/good.json" "$T/fifo.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "fifo.json: more than the 64 MiB" "$T/err" && ok "a stream above 64 MiB is refused" \
    || bad "FIFO above the cap: exit $rc: $(cat "$T/err")"

# version 0: the same document without "schema_version" is read by every reader
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["schema_version"]; json.dump(d, open(sys.argv[2], "w"))' \
    "$T/good.json" "$T/legacy.json"
"$B" regress "$T/legacy.json" "$T/good.json" >"$T/out" 2>&1; rc=$?
"$B" compare "$T/good.json" "$T/legacy.json" >/dev/null 2>&1; rc2=$?
"$B" report --from "$T/legacy.json" --output "$T/rep_legacy" >/dev/null 2>&1; rc3=$?
[ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 0 ] && ok "a version-0 document (no schema_version) is read" \
    || bad "legacy document: regress $rc, compare $rc2, report $rc3: $(tail -3 "$T/out")"

# -1 in latencies_ns is a query that never completed: accepted, and compare --per-query skips it
mutate never_completed 'd["runs"][0]["latencies_ns"][0] = -1'
"$B" compare --per-query "$T/good.json" "$T/never_completed.json" >"$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] && ok "-1 (never completed) is read and left out of compare --per-query" || bad "never completed: exit $rc: $(cat "$T/out")"

# a gate that compares nothing: no latency, throughput or accuracy on both sides -> exit 2
mutate nothing 'for r in d["runs"]:
    r.pop("repetitions", None); r.pop("aggregate", None); r["throughput_samples_per_s"] = None; r["accuracy"] = None
    r["latency_ns"] = {k: (v if k in ("count", "method") else None) for k, v in r["latency_ns"].items()}'
"$B" regress "$T/nothing.json" "$T/nothing.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "nothing to compare, no verdict" "$T/err" && ok "regress with no metric on both sides: exit 2" \
    || bad "regress on a file without figures: exit $rc: $(cat "$T/err")"
"$B" regress "$T/good.json" "$T/nothing.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && ok "regress against a file without figures: exit 2" || bad "one side without figures: exit $rc"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
