#!/bin/sh
# cli_kernels.sh — bench_mlp's --kernels option (every command) and the OpenBLAS core
# choice, end to end: the JSON context's "kernels" and "blas" blocks say what ran and who
# chose it. Usage: cli_kernels.sh BENCH_MLP
B="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
M="synthetic:64x20x10"
run_json() { "$B" --quick --quiet --model "$M" --scenario offline --monitor-interval-ms 0 --format json "$@"; }
field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['context']; print(eval(sys.argv[2]))" "$@"; }

"$B" --kernels avx9 --quick > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "not one of" "$T/err" || fail "--kernels avx9: exit $rc, $(cat "$T/err")"
"$B" profile --kernels > /dev/null 2>&1; [ $? -eq 2 ] || fail "--kernels without a value must be a usage error"
ok "unknown kernel or missing value: exit 2 with a message"

for k in scalar avx2 avx512 blas; do
    if run_json --kernels "$k" > "$T/$k.json" 2> "$T/err"; then
        [ "$(field "$T/$k.json" "d['kernels']['kernel']")" = "$k" ] || fail "--kernels $k: context says otherwise"
        [ "$(field "$T/$k.json" "d['kernels']['source']")" = "model options" ] || fail "--kernels $k: source"
        ok "--kernels $k recorded in the context"
    else
        grep -q "not available on this CPU" "$T/err" || fail "--kernels $k failed: $(cat "$T/err")"
        echo "SKIP: --kernels $k: this CPU lacks it (clear error checked)"
    fi
done
TMLP_KERNELS=blas "$B" profile --model "$M" --data synthetic --iterations 10 --warmup 1 > "$T/prof" 2>&1 ||
    fail "profile under TMLP_KERNELS=blas: $(cat "$T/prof")"
grep -q "| 0 dense 64->20 | blas |" "$T/prof" || fail "profile does not show the kernel per layer"
"$B" profile --kernels scalar --model "$M" --data synthetic --iterations 10 --warmup 1 > "$T/prof" 2>&1 ||
    fail "profile --kernels scalar: $(cat "$T/prof")"
grep -q "| 0 dense 64->20 | scalar |" "$T/prof" || fail "profile --kernels scalar not honoured"
ok "profile: kernel per layer, --kernels and TMLP_KERNELS honoured"

# The OpenBLAS core: never override the user; say who chose; check the core once.
OPENBLAS_CORETYPE=Haswell run_json > "$T/user.json" || fail "run with OPENBLAS_CORETYPE=Haswell"
[ "$(field "$T/user.json" "d['blas']['core_source']")" = "user (OPENBLAS_CORETYPE)" ] || fail "user core not recorded"
[ "$(field "$T/user.json" "d['blas']['coretype_env']")" = "Haswell" ] || fail "user core overridden"
[ "$(field "$T/user.json" "d['blas']['core_check']['ok']")" = "True" ] || fail "core check failed"
env -u OPENBLAS_CORETYPE -u TMLP_BLAS_CORE_SOURCE "$B" --quick --quiet --model "$M" --scenario offline \
    --monitor-interval-ms 0 --format json > "$T/auto.json" || fail "run with OPENBLAS_CORETYPE unset"
src=$(field "$T/auto.json" "d['blas']['core_source']")
case "$src" in
"OpenBLAS (its own cpuid)")
    [ -z "$(field "$T/auto.json" "d['blas'].get('advice', '')")" ] || fail "OpenBLAS kept a weak core without re-exec"
    ok "OPENBLAS_CORETYPE unset: OpenBLAS's own core $(field "$T/auto.json" "d['blas']['core']") is fine here" ;;
"bench_mlp (cpuid, re-executed)")
    [ "$(field "$T/auto.json" "d['blas']['core']")" = "$(field "$T/auto.json" "d['blas']['best_core']")" ] ||
        fail "re-executed but not on the best core"
    ok "OPENBLAS_CORETYPE unset: bench_mlp re-executed on $(field "$T/auto.json" "d['blas']['core']")" ;;
*) fail "unexpected core_source '$src'" ;;
esac
# What the re-executed child records (simulated: the variables bench_mlp sets)
OPENBLAS_CORETYPE=Haswell TMLP_BLAS_CORE_SOURCE=bench_mlp run_json > "$T/child.json" || fail "child run"
[ "$(field "$T/child.json" "d['blas']['core_source']")" = "bench_mlp (cpuid, re-executed)" ] || fail "child source"
ok "a core chosen by bench_mlp is recorded as such and checked"
