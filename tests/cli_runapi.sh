#!/bin/bash
# cli_runapi.sh — subcommands share the run in-process: `regress --baseline` writes no
# temporary file (none in $TMPDIR, none at the old predictable /tmp name, which a planted
# symlink or FIFO must not affect), honours --output (atomically, also on exit 3), and no
# "/tmp/" path is left in the C sources of bench/ and src/.
#   usage: cli_runapi.sh BENCH_MLP SOURCE_ROOT
B="$1"
SRC="$2"
T=$(mktemp -d "${TMPDIR:-/tmp}/tmlp_runapi_XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1 ($(head -c 300 "$T/err" 2>/dev/null))"; fi; }
RUN="--model null --quick --scenario offline --monitor-interval-ms 0"

# shellcheck disable=SC2086
"$B" $RUN --quiet --format json --output "$T/base.json" 2>"$T/err" || bad "setup: the baseline run"

# --- no temporary file: $TMPDIR stays empty ----------------------------------------------------
mkdir "$T/tmpdir"
# shellcheck disable=SC2086
TMPDIR="$T/tmpdir" "$B" regress --threshold 100000% --baseline "$T/base.json" $RUN >"$T/out" 2>"$T/err"; rc=$?
check "regress --baseline: exit 0 with a wide threshold" '[ $rc -eq 0 ] && grep -q "^Summary:" "$T/out"'
check "regress --baseline: nothing written to \$TMPDIR" '[ -z "$(ls -A "$T/tmpdir")" ]'

# --- the old predictable name: a symlink and a FIFO planted there are ignored -------------------
# The old code wrote /tmp/bench_mlp_regress_<pid>.json; `exec` keeps the shell's pid, so the
# planted name is exactly the one the process would have used.
echo "precious" >"$T/victim"
# shellcheck disable=SC2016,SC2086
timeout 60 sh -c 'p=/tmp/bench_mlp_regress_$$.json; ln -s "$1" "$p" && echo "$p" >"$2" &&
    exec "$3" regress --threshold 100000% --baseline "$4" '"$RUN" \
    _ "$T/victim" "$T/planted" "$B" "$T/base.json" >"$T/out" 2>"$T/err"; rc=$?
planted=$(cat "$T/planted" 2>/dev/null)
check "symlink at the old temporary name: exit 0, its target untouched" \
    '[ $rc -eq 0 ] && [ "$(cat "$T/victim")" = precious ] && [ -L "$planted" ]'
[ -n "$planted" ] && rm -f "$planted"
# shellcheck disable=SC2016,SC2086
timeout 60 sh -c 'p=/tmp/bench_mlp_regress_$$.json; mkfifo "$p" && echo "$p" >"$1" &&
    exec "$2" regress --threshold 100000% --baseline "$3" '"$RUN" \
    _ "$T/planted" "$B" "$T/base.json" >"$T/out" 2>"$T/err"; rc=$?
planted=$(cat "$T/planted" 2>/dev/null)
check "FIFO at the old temporary name: not opened (no hang), exit 0, the verdict from the real run" \
    '[ $rc -eq 0 ] && [ -p "$planted" ] && grep -q "vs current this run" "$T/out"'
[ -n "$planted" ] && rm -f "$planted"

# --- regress --baseline --output ----------------------------------------------------------------
# shellcheck disable=SC2086
"$B" regress --threshold 100000% --baseline "$T/base.json" $RUN --output "$T/new.json" >"$T/out" 2>"$T/err"; rc=$?
check "regress --baseline --output: exit 0, the new run's results document written" \
    '[ $rc -eq 0 ] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"runs\"][0][\"scenario\"] == \"offline\"" "$T/new.json"'
check "regress --baseline --output: no temporary left beside it" '! ls -a "$T" | grep -q "\.tmp$"'
python3 - "$T/base.json" "$T/better.json" <<'PY' || bad "cannot make the better baseline"
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["runs"]:
    r["throughput_samples_per_s"] *= 100
json.dump(d, open(sys.argv[2], "w"))
PY
rm -f "$T/new.json"
# shellcheck disable=SC2086
"$B" regress --baseline "$T/better.json" $RUN --output "$T/new.json" >"$T/out" 2>"$T/err"; rc=$?
check "regress --baseline --output on a regression: exit 3, the document still written" \
    '[ $rc -eq 3 ] && [ -s "$T/new.json" ]'
cp "$T/base.json" "$T/base.orig"
# shellcheck disable=SC2086
"$B" regress --baseline "$T/base.json" $RUN --output "$T/base.json" >"$T/out" 2>"$T/err"; rc=$?
check "regress --baseline F --output F refused (exit 2), F intact" '[ $rc -eq 2 ] && cmp -s "$T/base.json" "$T/base.orig"'
# shellcheck disable=SC2086
"$B" regress --baseline "$T/base.json" $RUN --output "$T/no/such/dir/x.json" >"$T/out" 2>"$T/err"; rc=$?
check "regress --baseline --output into a missing directory: exit 1 before the run" \
    '[ $rc -eq 1 ] && ! grep -q "^Regression check" "$T/out"'

# --- no /tmp path in the C sources ---------------------------------------------------------------
hits=$(grep -rn --include='*.c' --include='*.h' --include='*.in' '/tmp/' "$SRC/bench" "$SRC/src")
check "no \"/tmp/\" in bench/ and src/ C sources" '[ -z "$hits" ] || { echo "$hits"; false; }'

echo "cli_runapi: $pass passed, $fail failed"
exit $((fail > 0))
