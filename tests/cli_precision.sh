#!/bin/sh
# cli_precision.sh — bench_mlp's --precision (every command) end to end: the JSON context's
# "kernels" block records the precision and the instruction path, --mode accuracy at
# bf16/int8 prints the paired comparison with f32, ab --precision-b reports both answers,
# and a bad value or blas with a reduced precision fails cleanly. Usage: cli_precision.sh BENCH_MLP
B="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
M="synthetic:64x20x10"
field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['context']; print(eval(sys.argv[2]))" "$@"; }

"$B" --precision fp7 --quick > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "not one of" "$T/err" || fail "--precision fp7: exit $rc, $(cat "$T/err")"
"$B" profile --precision > /dev/null 2>&1; [ $? -eq 2 ] || fail "--precision without a value must be a usage error"
ok "unknown precision or missing value: exit 2 with a message"

for p in f32 bf16 int8; do
    "$B" --quick --quiet --model "$M" --scenario offline --monitor-interval-ms 0 --format json --precision "$p" \
        > "$T/$p.json" 2> "$T/err" || fail "--precision $p: $(cat "$T/err")"
    [ "$(field "$T/$p.json" "d['kernels']['precision']")" = "$p" ] || fail "--precision $p: context says otherwise"
    [ -n "$(field "$T/$p.json" "d['kernels']['isa']")" ] || fail "--precision $p: no isa in the context"
done
ok "--precision f32|bf16|int8 recorded in the context with the instruction path"

"$B" --kernels blas --precision int8 --quick --model "$M" > /dev/null 2> "$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "blas" "$T/err" || fail "blas + int8 must fail with a message (exit $rc)"
ok "blas with int8 refused"

# accuracy at int8 on the default (Fashion-MNIST) model and data when installed
"$B" --mode accuracy --precision int8 --quick --monitor-interval-ms 0 > "$T/acc" 2> "$T/err" ||
    fail "--mode accuracy --precision int8: $(cat "$T/err")"
if grep -q "^data     : synthetic" "$T/acc"; then
    echo "SKIP: paired accuracy: no labelled data set (install dataset-fashion-mnist)"
else
    grep -q "^Paired comparison, int8 vs f32" "$T/acc" || fail "no paired comparison: $(tail -20 "$T/acc")"
    grep -q "McNemar" "$T/acc" && grep -q "top-1 agreement" "$T/acc" && grep -q "logit error" "$T/acc" ||
        fail "paired block incomplete"
    ok "--mode accuracy --precision int8: paired comparison with f32"
    "$B" --mode accuracy --precision int8 --quick --monitor-interval-ms 0 --format json > "$T/acc.json" 2> "$T/err" ||
        fail "--mode accuracy --precision int8 --format json: $(cat "$T/err")"
    /usr/bin/python3 - "$T/acc.json" <<'PY' || fail "paired_vs_f32 missing or incomplete in the JSON"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["paired_vs_f32"]
assert p["reference"] == "f32" and p["precision"] == "int8", p
assert p["samples"] == p["labeled"] == d["runs"][0]["accuracy"]["total"], p
assert abs(p["accuracy"] - d["runs"][0]["accuracy"]["value"]) < 1e-12, p
assert p["ci_low"] <= p["difference"] <= p["ci_high"] and p["confidence"] == 0.95, p
n = p["discordant"]["reference_only"] + p["discordant"]["precision_only"]
assert abs(p["difference"] - (p["discordant"]["precision_only"] - p["discordant"]["reference_only"]) / p["labeled"]) < 1e-12
assert 0 <= p["mcnemar"]["p"] <= 1 and p["mcnemar"]["method"] == ("exact_binomial" if n < 25 else "chi_square_cc"), p
assert 0 < p["top1_agreement"] <= 1 and p["logit_error"]["max"] >= p["logit_error"]["mean"] >= 0, p
PY
    "$B" --mode accuracy --quick --monitor-interval-ms 0 --format json > "$T/acc32.json" 2> "$T/err" ||
        fail "--mode accuracy --format json: $(cat "$T/err")"
    /usr/bin/python3 -c "import json,sys; assert 'paired_vs_f32' not in json.load(open(sys.argv[1]))" "$T/acc32.json" ||
        fail "an f32 accuracy run has no paired comparison"
    ok "--mode accuracy --precision int8 --format json: paired_vs_f32 complete and consistent with the run"
    "$B" ab --precision-b bf16 --quick > "$T/ab" 2> "$T/err" || fail "ab --precision-b bf16: $(cat "$T/err")"
    grep -q "\[bf16, " "$T/ab" && grep -q "^Together: latency" "$T/ab" || fail "ab: $(tail -12 "$T/ab")"
    ok "ab --precision-b bf16: both arms named, latency and paired accuracy together"
fi
"$B" profile --precision int8 --model "$M" --data synthetic --iterations 10 --warmup 1 > "$T/prof" 2>&1 ||
    fail "profile --precision int8: $(cat "$T/prof")"
ok "profile --precision int8 runs"
