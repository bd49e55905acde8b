#!/bin/sh
# fuzz.sh TARGET SECONDS — build and run one libFuzzer target for a fixed time.
#
#   scripts/fuzz.sh safetensors 600      # tmlp_st_parse + tmlp_st_to_f32
#   scripts/fuzz.sh idx 600              # tmlp_idx_parse
#   scripts/fuzz.sh model_load 600       # tmlp_model_load + a forward pass
#   scripts/fuzz.sh onnx 600             # tmlp_onnx_parse (protobuf reader + ModelProto decoder)
#   scripts/fuzz.sh result_json 600      # bench_mlp's results-file checks (bench/result_check.c)
#   scripts/fuzz.sh all 20               # each target in turn, 20 s each (CI does this)
#
# Needs clang and libclang-rt-14-dev (scripts/setup.sh --fuzz installs them).
# Configures build-fuzz/ with clang and -Dfuzz=true (once), builds fuzz/fuzz_TARGET, copies
# the committed seed corpus fuzz/corpus/TARGET/ into fuzz/corpus-run/TARGET/ (gitignored;
# new inputs found by the run accumulate there) and runs for SECONDS. Crash, leak, timeout
# and OOM inputs land in fuzz/corpus-run/artifacts-TARGET/. Prints the number of executions
# and of crashes; exits non-zero if the fuzzer found anything.
set -eu

targets="safetensors idx model_load onnx result_json"
if [ $# -ne 2 ]; then
    echo "usage: $0 TARGET SECONDS   (TARGET: safetensors | idx | model_load | onnx | result_json | all)" >&2
    exit 2
fi
target=$1
seconds=$2
case $seconds in '' | *[!0-9]*) echo "SECONDS must be a whole number: $seconds" >&2; exit 2 ;; esac
if [ "$target" = all ]; then
    failed=
    for t in $targets; do
        "$0" "$t" "$seconds" || failed="$failed $t"
    done
    [ -z "$failed" ] || { echo "FAIL: fuzz targets with findings or errors:$failed" >&2; exit 1; }
    exit 0
fi
case " $targets " in *" $target "*) ;; *) echo "unknown target: $target" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
# Configure (or repair an interrupted configuration) and build; retry a few times because
# a shared tree can be briefly broken while someone edits a meson.build.
built=no
for attempt in 1 2 3 4 5; do
    if [ -f "$build/build.ninja" ]; then
        :
    elif [ -d "$build/meson-private" ]; then
        CC=clang CXX=clang++ meson setup --reconfigure "$build" "$root" -Dfuzz=true >/dev/null || true
    else
        CC=clang CXX=clang++ meson setup "$build" "$root" -Dfuzz=true >/dev/null || true
    fi
    if ninja -C "$build" "fuzz/fuzz_$target" >/dev/null; then
        built=yes
        break
    fi
    echo "build failed (attempt $attempt), retrying in 20 s" >&2
    sleep 20
done
[ "$built" = yes ] || { echo "cannot build fuzz/fuzz_$target" >&2; exit 2; }

run=$root/fuzz/corpus-run/$target
artifacts=$root/fuzz/corpus-run/artifacts-$target
mkdir -p "$run" "$artifacts"
cp "$root/fuzz/corpus/$target/"* "$run/"

dict=
[ -f "$root/fuzz/$target.dict" ] && dict="-dict=$root/fuzz/$target.dict"
log=$root/fuzz/corpus-run/$target.log
before=$(ls "$artifacts" | wc -l)

echo "fuzz_$target: ${seconds}s, corpus $run" >&2
status=0
# shellcheck disable=SC2086
"$build/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" $dict "$run" \
    >"$log" 2>&1 || status=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
after=$(ls "$artifacts" | wc -l)
crashes=$((after - before))
echo "target:     fuzz_$target"
echo "time:       ${seconds} s"
echo "executions: ${execs:-unknown}"
echo "corpus:     $(ls "$run" | wc -l) inputs"
echo "crashes:    $crashes (artifacts in $artifacts)"
echo "log:        $log"
if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    echo "FAIL: the fuzzer exited with status $status" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
