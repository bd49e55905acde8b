#!/bin/bash
# cli_reliability.sh — end to end: outputs are atomic and checked, inputs (named or only
# opened: the default model, a labels file found beside the data) are never overwritten,
# replacing keeps a file's mode, hard links and dangling symlinks are refused, report
# directories are replaced whole, SIGINT / SIGTERM (once or twice) leave nothing behind.
#   usage: cli_reliability.sh BENCH_MLP
# Write failures are injected with RLIMIT_FSIZE (ulimit -f, SIGXFSZ ignored): write(2) then
# fails with EFBIG exactly as on a full disk, without root or a tmpfs.
B="$1"
T=$(mktemp -d "${TMPDIR:-/tmp}/tmlp_rel_XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1 ($(head -c 300 "$T/err" 2>/dev/null))"; fi; }
NULLQ="--model null --quick --quiet --monitor-interval-ms 0"
# no temporaries (".NAME.PID.N.tmp") left in $T
no_tmp() { ! ls -a "$T" | grep -q '\.tmp$'; }

# a good previous results file that every failure below must leave byte for byte
"$B" $NULLQ --scenario offline --format json --output "$T/prev.json" 2>"$T/err" || bad "setup run"
cp "$T/prev.json" "$T/prev.orig"
same_prev() { cmp -s "$T/prev.json" "$T/prev.orig"; }

# --- input = output, output = output: exit 2, nothing touched ------------------------------
"$B" $NULLQ --output "$T/prev.json" --baseline "$T/prev.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = --baseline refused (exit 2), baseline intact" '[ $rc -eq 2 ] && same_prev && grep -q "same file as --baseline" "$T/err"'
ln -s prev.json "$T/alias.json"
"$B" $NULLQ --output "$T/prev.json" --baseline "$T/alias.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = --baseline through a symlink refused" '[ $rc -eq 2 ] && same_prev'
"$B" $NULLQ --output "$T/same.json" --trace "$T/./same.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = --trace refused (exit 2)" '[ $rc -eq 2 ] && [ ! -e "$T/same.json" ]'
"$B" $NULLQ --output - --trace - >/dev/null 2>"$T/err"; rc=$?
check "--output - --trace - refused (exit 2)" '[ $rc -eq 2 ]'
"$B" $NULLQ --data "$T/prev.json" --output "$T/prev.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = --data refused (exit 2)" '[ $rc -eq 2 ] && same_prev'
"$B" $NULLQ --model "$T/prev.json" --format json --output "$T/prev.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = --model refused (exit 2)" '[ $rc -eq 2 ] && same_prev'

# --- a later failure leaves the previous file --------------------------------------------
"$B" $NULLQ --output "$T/prev.json" --baseline "$T/nonexist.json" >/dev/null 2>"$T/err"; rc=$?
check "missing --baseline: exit 1, --output untouched" '[ $rc -eq 1 ] && same_prev && no_tmp'
"$B" $NULLQ --output "$T/prev.json" --trace "$T" >/dev/null 2>"$T/err"; rc=$?
check "--trace DIR: exit 1, --output untouched" '[ $rc -eq 1 ] && same_prev && no_tmp'

# --- full disk (RLIMIT_FSIZE) -----------------------------------------------------------
(trap '' XFSZ; ulimit -f 2; exec "$B" $NULLQ --format json --output "$T/prev.json" 2>/dev/null); rc=$?
check "--output on a full disk: exit 1, previous file intact, no temporary" '[ $rc -eq 1 ] && same_prev && no_tmp'
# stdout on a full disk: exit 1 and a message (stderr goes to a file made before the limit)
(trap '' XFSZ; ulimit -f 1; exec "$B" $NULLQ --format json >"$T/stdout.json" 2>>"$T/err2"); rc=$?
check "stdout on a full disk: exit 1 with a message" '[ $rc -eq 1 ] && grep -q "cannot write" "$T/err2"'
if [ -c /dev/full ]; then
    "$B" $NULLQ --scenario offline >/dev/full 2>"$T/err"; rc=$?
    check "stdout to /dev/full: exit 1" '[ $rc -eq 1 ] && grep -q "No space" "$T/err"'
fi

# --- signals: the previous file survives, the exit code names the signal ---------------------
for sig in TERM INT; do
    "$B" --model null --quiet --monitor-interval-ms 0 --scenario server --min-duration-ms 20s \
        --format json --output "$T/prev.json" --trace "$T/new_trace.json" >"$T/out" 2>"$T/err" &
    pid=$!
    sleep 1
    kill -$sig $pid
    wait $pid; rc=$?
    want=$([ $sig = TERM ] && echo 143 || echo 130)
    check "SIG$sig mid-run: exit $want, one line naming it, outputs unchanged, no temporary" \
        '[ $rc -eq $want ] && grep -q "interrupted by SIG$sig" "$T/err" && [ $(wc -l <"$T/err") -eq 1 ] && same_prev && [ ! -e "$T/new_trace.json" ] && no_tmp'
done
# kill -9 cannot be handled: the temporary may stay, the previous file must
"$B" --model null --quiet --monitor-interval-ms 0 --scenario server --min-duration-ms 20s \
    --format json --output "$T/prev.json" >/dev/null 2>&1 &
pid=$!
sleep 1
kill -KILL $pid
wait $pid 2>/dev/null
check "kill -9 mid-run: previous file intact" 'same_prev'
rm -f "$T"/.prev.json.*.tmp

# an offline run stops within 0.5 s of the signal and blames the interrupt, not the SUT.
# A query that outlives the 1.5 s before the signal with any kernel — 220k samples
# (--offline-expected-qps 10k x 20 s x 1.1) of 784-512-512-10 one at a time (--batch 1,
# ~40k samples/s) — and small enough that giving up on it stays well inside the 0.5 s,
# also under ASan on a busy machine (1.1M samples took 0.6 s there).
"$B" --model synthetic:784x512x512x10 --data synthetic --quiet --monitor-interval-ms 0 --scenario offline --batch 1 --offline-expected-qps 10k \
    --min-duration-ms 20s --format json >"$T/off.json" 2>"$T/err" &
pid=$!
sleep 1.5
t0=$(date +%s%N)
kill -INT $pid
wait $pid; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "offline SIGINT: stopped in ${ms} ms (< 500), exit 130, reason names the interrupt" \
    '[ $rc -eq 130 ] && [ $ms -lt 500 ] && grep -q "interrupted" "$T/off.json" && ! grep -q "lost them" "$T/off.json"'

# --- report: nothing left behind ------------------------------------------------------------
"$B" report --from "$T/nonexist.json" --output "$T/rep_missing" >/dev/null 2>"$T/err"; rc=$?
check "report --from missing file: exit 1, no empty directory" '[ $rc -eq 1 ] && [ ! -e "$T/rep_missing" ]'
echo '{"runs": [1, {"x": 2}]}' >"$T/nonsense.json"
"$B" report --from "$T/nonsense.json" --output "$T/rep_bad" >/dev/null 2>"$T/err"; rc=$?
check "report --from nonsense runs: exit 1" '[ $rc -eq 1 ] && grep -q "is not a run" "$T/err" && [ ! -e "$T/rep_bad" ]'
"$B" report --output "$T/rep_int" --model null --min-duration-ms 20s --no-profile >/dev/null 2>"$T/err" &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid; rc=$?
check "report SIGINT: exit 130, no report and no directory left" '[ $rc -eq 130 ] && [ ! -e "$T/rep_int" ] && ! ls -a "$T" | grep -q "^\.rep_int\."'

# --- a results file without runs is an error everywhere it is read (exit 1) -----------------
echo '{"context": {}, "runs": []}' >"$T/noruns.json"
for cmd in "compare $T/noruns.json $T/prev.json" "compare $T/prev.json $T/noruns.json" \
           "regress $T/noruns.json $T/prev.json" "regress $T/prev.json $T/noruns.json" \
           "report --from $T/noruns.json --output $T/rep_noruns"; do
    "$B" $cmd >/dev/null 2>"$T/err"; rc=$?
    check "no runs: '${cmd%% *}' exits 1 naming the file" '[ $rc -eq 1 ] && grep -q "noruns.json.*holds no run" "$T/err"'
done
[ ! -e "$T/rep_noruns" ] || bad "report --from without runs left a directory"
"$B" $NULLQ --baseline "$T/noruns.json" >/dev/null 2>"$T/err"; rc=$?
check "--baseline without runs: exit 1" '[ $rc -eq 1 ] && grep -q "holds no run" "$T/err"'

# --- a run that cannot fit in memory is refused before it starts (exit 1, one line) ---------
# 1e8 QPS for a day: ~8.6e12 arrivals x 33 bytes, more than any MemAvailable; refused from the
# settings, before the schedule is generated (a second, not an out-of-memory crash)
start=$(date +%s)
"$B" $NULLQ --scenario server --target-qps 1e8 --min-duration-ms 86400000 --max-duration-ms 86400000 \
    --format json --output "$T/prev.json" >/dev/null 2>"$T/err"; rc=$?
took=$(($(date +%s) - start))
check "a run larger than MemAvailable: exit 1, one line naming the estimate, output untouched" \
    '[ $rc -eq 1 ] && [ $took -lt 20 ] && [ $(wc -l <"$T/err") -eq 1 ] && grep -q "MemAvailable" "$T/err" && grep -q "queries x 33 bytes" "$T/err" && same_prev && no_tmp'

# --- long paths are shortened in messages ----------------------------------------------------
long=$(printf 'x%.0s' $(seq 1 5000))
"$B" $NULLQ --output "$T/$long/out.json" >/dev/null 2>"$T/err"; rc=$?
check "a 5000-character path is shortened in the message" '[ $rc -eq 1 ] && [ $(wc -c <"$T/err") -lt 800 ]'

# --- the inputs of this run: what the run opens, not only what is named (device, inode) -----
# the default model (no --model): a link in $T to it is refused, the model untouched
def_model=$("$B" --quick --quiet --monitor-interval-ms 0 --scenario single-stream --min-duration-ms 10 --format json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["context"]["model"]["source"])' 2>/dev/null)
if [ -f "$def_model" ]; then
    sum0=$(md5sum <"$def_model")
    ln -s "$def_model" "$T/default_model_link"
    "$B" --quick --quiet --monitor-interval-ms 0 --scenario single-stream --min-duration-ms 10 --format json \
        --output "$T/default_model_link" >/dev/null 2>"$T/err"; rc=$?
    check "--output = the default model (no --model): exit 2, model intact" \
        '[ $rc -eq 2 ] && grep -q "same file as the default model" "$T/err" && [ "$(md5sum <"$def_model")" = "$sum0" ] && [ $(wc -l <"$T/err") -eq 1 ]'
    # profile --svg = the model it profiles
    cp "$def_model" "$T/m.safetensors"
    cp "$T/m.safetensors" "$T/m.orig"
    "$B" profile --model "$T/m.safetensors" --quick --svg "$T/m.safetensors" >/dev/null 2>"$T/err"; rc=$?
    check "profile --svg = --model: exit 2, model intact" \
        '[ $rc -eq 2 ] && grep -q -- "--svg .* same file as --model" "$T/err" && cmp -s "$T/m.safetensors" "$T/m.orig"'
    "$B" profile --quick --svg "$T/default_model_link" >/dev/null 2>"$T/err"; rc=$?
    check "profile --svg = the default model: exit 2, model intact" \
        '[ $rc -eq 2 ] && grep -q "same file as the default model" "$T/err" && [ "$(md5sum <"$def_model")" = "$sum0" ]'
else
    echo "skip default-model cases (no default model found)"
fi
F=/usr/share/datasets/fashion-mnist
if [ -f "$F/t10k-labels-idx1-ubyte.gz" ]; then
    # the labels file found beside --data images.gz, never named on the command line
    cp "$F/t10k-images-idx3-ubyte.gz" "$F/t10k-labels-idx1-ubyte.gz" "$T/"
    cp "$T/t10k-labels-idx1-ubyte.gz" "$T/labels.orig"
    "$B" $NULLQ --scenario single-stream --data "$T/t10k-images-idx3-ubyte.gz" --format json \
        --output "$T/t10k-labels-idx1-ubyte.gz" >/dev/null 2>"$T/err"; rc=$?
    check "--output = the labels file beside --data: exit 2, labels intact" \
        '[ $rc -eq 2 ] && grep -q "labels file beside it" "$T/err" && cmp -s "$T/t10k-labels-idx1-ubyte.gz" "$T/labels.orig"'
    # a file behind --data fashion, through a link
    sum0=$(md5sum <"$F/t10k-labels-idx1-ubyte.gz")
    ln -s "$F/t10k-labels-idx1-ubyte.gz" "$T/fashion_labels_link"
    "$B" $NULLQ --scenario single-stream --data fashion --format json --output "$T/fashion_labels_link" >/dev/null 2>"$T/err"; rc=$?
    check "--output = a file behind --data fashion: exit 2, data intact" \
        '[ $rc -eq 2 ] && grep -q "data fashion (labels)" "$T/err" && [ "$(md5sum <"$F/t10k-labels-idx1-ubyte.gz")" = "$sum0" ]'
else
    echo "skip --data fashion cases (Fashion-MNIST not installed)"
fi
# a hard link to the baseline is the baseline
ln "$T/prev.json" "$T/prev_hardlink.json"
"$B" $NULLQ --format json --output "$T/prev_hardlink.json" --baseline "$T/prev.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = a hard link to --baseline: exit 2" '[ $rc -eq 2 ] && same_prev && grep -q "same file as --baseline" "$T/err"'

# --- replacing keeps the file's mode; hard links and dangling symlinks are refused -----------
"$B" $NULLQ --format json --output "$T/private.json" 2>"$T/err" && chmod 0600 "$T/private.json"
"$B" $NULLQ --format json --output "$T/private.json" 2>"$T/err"; rc=$?
check "--output over a 0600 file: still 0600" '[ $rc -eq 0 ] && [ "$(stat -c %a "$T/private.json")" = 600 ] && no_tmp'
"$B" $NULLQ --format json --output "$T/prev_hardlink.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = a file with two hard links: exit 1, both names intact and linked" \
    '[ $rc -eq 1 ] && grep -q "has 2 hard links" "$T/err" && same_prev && [ "$(stat -c %h "$T/prev.json")" = 2 ] && no_tmp'
rm -f "$T/prev_hardlink.json"
ln -s "$T/nowhere.json" "$T/dangling.json"
"$B" $NULLQ --format json --output "$T/dangling.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = a dangling symlink: exit 1, link kept, nothing created" \
    '[ $rc -eq 1 ] && grep -q "dangling symbolic link" "$T/err" && [ -L "$T/dangling.json" ] && [ ! -e "$T/nowhere.json" ] && no_tmp'
ln -s prev.json "$T/good_link.json"
"$B" $NULLQ --format json --output "$T/good_link.json" >/dev/null 2>"$T/err"; rc=$?
check "--output = a symlink to a file: the file replaced, the link kept" \
    '[ $rc -eq 0 ] && [ -L "$T/good_link.json" ] && ! same_prev && no_tmp'
cp "$T/prev.orig" "$T/prev.json"

# --- messages: the reason of a long name, stdout named as stdout -----------------------------
long_name=$(printf 'n%.0s' $(seq 1 300))
"$B" $NULLQ --format json --output "$T/$long_name" >/dev/null 2>"$T/err"; rc=$?
check "a 300-character file name: exit 1, the message ends with \"File name too long\"" \
    '[ $rc -eq 1 ] && grep -q "File name too long$" "$T/err" && [ $(wc -l <"$T/err") -eq 1 ]'
if [ -c /dev/full ]; then
    "$B" $NULLQ --format json >/dev/full 2>"$T/err"; rc=$?
    check "stdout (no --output) full: the message says stdout, not --output" \
        '[ $rc -eq 1 ] && grep -q "stdout" "$T/err" && ! grep -q -- "--output" "$T/err"'
fi

# --- signals during a write: no temporary left -----------------------------------------------
# profile does not poll: the handler exits at once and removes the --svg temporary
"$B" profile --model synthetic:784x512x512x10 --data synthetic --iterations 10000000 --svg "$T/prof.svg" >/dev/null 2>"$T/err" &
pid=$!
sleep 1
ls -a "$T" | grep -q '^\.prof\.svg\..*\.tmp$' && had_tmp=1 || had_tmp=0
kill -INT $pid
wait $pid; rc=$?
check "profile --svg, SIGINT mid-run: exit 130, its temporary (present: $had_tmp) removed" \
    '[ $rc -eq 130 ] && [ $had_tmp -eq 1 ] && no_tmp && [ ! -e "$T/prof.svg" ]'
# a second SIGINT exits at once and cleans up like the first
"$B" --model null --quiet --monitor-interval-ms 0 --scenario server --min-duration-ms 20s \
    --format json --output "$T/prev.json" >/dev/null 2>"$T/err" &
pid=$!
sleep 1
kill -INT $pid; kill -INT $pid
wait $pid; rc=$?
check "two SIGINTs mid-run: exit 130, previous file intact, no temporary" '[ $rc -eq 130 ] && same_prev && no_tmp'

# --- report: the directory is replaced whole, or not at all ----------------------------------
"$B" $NULLQ --scenario single-stream --format json --raw-latencies --output "$T/r1.json" 2>"$T/err" || bad "setup r1"
"$B" report --from "$T/r1.json" --output "$T/rep" >/dev/null 2>"$T/err" || bad "setup report"
echo "my notes" >"$T/rep/notes.txt"
cp "$T/r1.json" "$T/rep/results.json"
chmod 0750 "$T/rep"
(cd "$T/rep" && md5sum * >"$T/rep.md5")
"$B" $NULLQ --scenario single-stream --min-duration-ms 300 --format json --raw-latencies --output "$T/r2.json" 2>"$T/err" || bad "setup r2"
(trap '' XFSZ; ulimit -f 20; exec "$B" report --from "$T/r2.json" --output "$T/rep" >/dev/null 2>"$T/err"); rc=$?
check "report into an existing report on a full disk: exit 1, one line, every old file intact, no sibling" \
    '[ $rc -eq 1 ] && [ $(wc -l <"$T/err") -eq 1 ] && (cd "$T/rep" && md5sum -c --quiet "$T/rep.md5") && [ $(ls "$T/rep" | wc -l) -eq $(wc -l <"$T/rep.md5") ] && ! ls -a "$T" | grep -q "^\.rep\."'
(trap '' XFSZ; ulimit -f 20; exec "$B" report --output "$T/rep" --model null --quick --no-profile >/dev/null 2>"$T/err"); rc=$?
check "live report into an existing report on a full disk: exit 1, one error line, every old file intact, no sibling" \
    '[ $rc -eq 1 ] && [ $(grep -c "^bench_mlp: " "$T/err") -eq 1 ] && (cd "$T/rep" && md5sum -c --quiet "$T/rep.md5") && ! ls -a "$T" | grep -q "^\.rep\."'
"$B" report --from "$T/rep/results.json" --output "$T/rep" >/dev/null 2>"$T/err"; rc=$?
check "report --from DIR/results.json --output DIR: replaced, the results and notes kept, mode kept" \
    '[ $rc -eq 0 ] && cmp -s "$T/rep/results.json" "$T/r1.json" && grep -q "my notes" "$T/rep/notes.txt" && [ "$(stat -c %a "$T/rep")" = 750 ] && ! (cd "$T/rep" && md5sum -c --quiet "$T/rep.md5" >/dev/null 2>&1) && ! ls -a "$T" | grep -q "^\.rep\."'
mkdir "$T/rep/sub"
"$B" report --from "$T/r1.json" --output "$T/rep" >/dev/null 2>"$T/err"; rc=$?
check "report into a directory holding a subdirectory: refused before anything runs" \
    '[ $rc -eq 1 ] && grep -q "holds the directory \"sub\"" "$T/err" && [ -d "$T/rep/sub" ]'
rmdir "$T/rep/sub"
"$B" report --from "$T/r1.json" --output "$T/prev.json" >/dev/null 2>"$T/err"; rc=$?
check "report --output FILE: exit 1, file intact" '[ $rc -eq 1 ] && grep -q "not a directory" "$T/err" && same_prev'
ln -s "$T/rep" "$T/rep_link"
"$B" report --from "$T/r1.json" --output "$T/rep_link" >/dev/null 2>"$T/err"; rc=$?
check "report --output LINK to a directory: the directory replaced, the link kept" \
    '[ $rc -eq 0 ] && [ -L "$T/rep_link" ] && [ -f "$T/rep/index.html" ] && ! ls -a "$T" | grep -q "^\.rep\."'
# kill -9 during a live report leaves its sibling; the next report into the same directory removes it
"$B" report --output "$T/rep" --model null --min-duration-ms 20s --no-profile >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -KILL $pid
wait $pid 2>/dev/null
ls -a "$T" | grep -q "^\.rep\.$pid\." && left=1 || left=0
"$B" report --from "$T/r1.json" --output "$T/rep" >/dev/null 2>"$T/err"; rc=$?
check "report after kill -9: its sibling (left: $left) removed by the next report, DIR intact" \
    '[ $rc -eq 0 ] && [ $left -eq 1 ] && ! ls -a "$T" | grep -q "^\.rep\." && [ -f "$T/rep/index.html" ]'
# a second SIGINT during a live report: no report, no sibling directory left
"$B" report --output "$T/rep_int2" --model null --min-duration-ms 20s --no-profile >/dev/null 2>"$T/err" &
pid=$!
sleep 1.5
kill -INT $pid; kill -INT $pid
wait $pid; rc=$?
check "report, two SIGINTs: exit 130, no directory and no sibling left" \
    '[ $rc -eq 130 ] && [ ! -e "$T/rep_int2" ] && ! ls -a "$T" | grep -q "^\.rep_int2\."'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
