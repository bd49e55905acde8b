#!/bin/sh
# cli_uniform.sh BENCH_MLP BENCH_FORWARD MANPAGE COMPLETION — what every command offers:
#   --help and --version on every subcommand and on bench_forward (exit 0), --quick accepted
#   everywhere (and a real quick profile and compare), --quiet prints only the results (no
#   resources block), every option of every --help is in the man page and in the bash
#   completion, and the completion completes commands and options.
set -u
BENCH=$1 FORWARD=$2 MAN=$3 COMP=$4
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for c in "" compare report ab regress profile plan history; do
    # shellcheck disable=SC2086
    "$BENCH" $c --help >"$tmp/help" 2>&1 || fail "bench_mlp $c --help: exit $?"
    # shellcheck disable=SC2086
    out=$("$BENCH" $c --version 2>&1) || fail "bench_mlp $c --version: exit $?"
    case $out in "bench_mlp (tinymlp) "*) ;; *) fail "bench_mlp $c --version printed: $out" ;; esac
    # --quick is an option of every command: accepted before --help
    # shellcheck disable=SC2086
    "$BENCH" $c --quick --help >/dev/null 2>&1 || fail "bench_mlp $c --quick --help: exit $?"
    # every option of this --help is in the man page and the completion
    for o in $(grep -o -E '(^|[^a-z-])--[a-z][a-z0-9-]*' "$tmp/help" | grep -o -E -- '--[a-z][a-z0-9-]*' | sort -u); do
        esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        grep -q -- "$esc" "$MAN" || fail "man page lacks $o (bench_mlp $c --help)"
        grep -q -- "$o" "$COMP" || fail "completion lacks $o (bench_mlp $c --help)"
    done
done
"$FORWARD" --help >/dev/null || fail "bench_forward --help"
case $("$FORWARD" --version) in "bench_forward (tinymlp) "*) ;; *) fail "bench_forward --version" ;; esac
"$FORWARD" --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "bench_forward --bogus: not a usage error"

# --quick really runs short
"$BENCH" profile --quick --model synthetic:16x8x4 --data synthetic >"$tmp/p" 2>&1 || fail "profile --quick: $(cat "$tmp/p")"
printf '1\n2\n3\n4\n5\n6\n' >"$tmp/a"; printf '2\n3\n4\n5\n6\n7\n' >"$tmp/b"
"$BENCH" compare --quick "$tmp/a" "$tmp/b" >/dev/null 2>&1 || fail "compare --quick A B"

# --quiet: the results table, no resources block
"$BENCH" --quick --quiet --scenario single-stream --model synthetic:16x8x4 --data synthetic >"$tmp/q" 2>&1 ||
    fail "--quiet run: exit $?"
grep -q -i "resources" "$tmp/q" && fail "--quiet still prints the resources block"
grep -q "single-stream" "$tmp/q" || fail "--quiet printed no results: $(cat "$tmp/q")"

# the completion completes commands and options
if command -v bash >/dev/null; then
    got=$(bash -c '. "$1"; COMP_WORDS=(bench_mlp pro); COMP_CWORD=1; _bench_mlp; echo "${COMPREPLY[*]}"' _ "$COMP")
    [ "$got" = profile ] || fail "completion of 'bench_mlp pro': '$got'"
    got=$(bash -c '. "$1"; COMP_WORDS=(bench_mlp ab --qui); COMP_CWORD=2; _bench_mlp; echo "${COMPREPLY[*]}"' _ "$COMP")
    [ "$got" = --quick ] || fail "completion of 'bench_mlp ab --qui': '$got'"
fi
# the man page renders without warnings
if command -v man >/dev/null; then
    warn=$(MANWIDTH=80 man -l "$MAN" 2>&1 >/dev/null)
    [ -z "$warn" ] || fail "man -l: $warn"
fi
[ $fails -eq 0 ] && echo "cli_uniform: ok"
exit $((fails > 0))
