#!/bin/sh
# install_check.sh — the installed tinymlp works with no source tree: clone this repository
# into a temporary directory, build and `meson install` it into a temporary prefix, delete
# the clone, then from / run the installed bench_mlp on its default (installed) model, read
# its man page, and build + run examples/quickstart.c against the installed pkg-config file
# and shared library. Run by .ci/run; needs what scripts/setup.sh installs.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/src"
cp "$root/examples/quickstart.c" "$work/quickstart.c"
meson setup "$work/build" "$work/src" --prefix "$work/prefix" -Dmpi=disabled >/dev/null
ninja -C "$work/build" >/dev/null
meson install -C "$work/build" >/dev/null
rm -rf "$work/src" "$work/build"                       # no source tree, no build tree

prefix=$work/prefix
cd /
"$prefix/bin/bench_mlp" --version
out=$("$prefix/bin/bench_mlp" --quick --quiet --scenario single-stream --data synthetic)
echo "$out" | grep -q "single-stream" || { echo "install_check: no results: $out" >&2; exit 1; }
"$prefix/bin/bench_mlp" --quick --scenario single-stream --data synthetic 2>&1 |
    grep -q "share/tinymlp/models/fashion_mlp.safetensors" ||
    { echo "install_check: the installed bench_mlp did not use the installed model" >&2; exit 1; }
test -f "$prefix/share/tinymlp/models/README.md"
MANWIDTH=80 man -l "$prefix/share/man/man1/bench_mlp.1" | grep -q "bench_mlp"
test -f "$prefix/share/bash-completion/completions/bench_mlp"

pc_dir=$(dirname "$(find "$prefix" -name tinymlp.pc | head -n 1)")
libdir=$(dirname "$pc_dir")
readelf -d "$libdir/libtinymlp.so" | grep -q "SONAME.*libtinymlp.so.0"
# shellcheck disable=SC2046
cc "$work/quickstart.c" $(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs tinymlp) -o "$work/quickstart"
LD_LIBRARY_PATH=$libdir "$work/quickstart" "$prefix/share/tinymlp/models/fashion_mlp.safetensors"
echo "install_check: ok (installed to a temporary prefix, run from / without the source tree)"
