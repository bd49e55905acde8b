#!/usr/bin/env bash
# setup.sh — install tinymlp's Debian 12 build dependencies (when missing) and configure
# the build directory. Idempotent and non-interactive; run as root (or with sudo).
#
#   scripts/setup.sh [BUILD_DIR] [extra meson options...]     (BUILD_DIR defaults to build)
#   scripts/setup.sh --fuzz [BUILD_DIR] [extra meson options...]
#       also clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes), and
#       configure BUILD_DIR (default build-fuzz) with CC=clang -Dfuzz=true: the fuzzers of
#       fuzz/ (scripts/fuzz.sh runs them). The default setup installs neither.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz=no
if [ "${1:-}" = --fuzz ]; then
    fuzz=yes
    shift
fi
build_dir=${1:-build}
[ "$fuzz" = no ] || build_dir=${1:-build-fuzz}
shift || true

# Build and test dependencies; Open MPI for bench_mlp under mpirun (meson -Dmpi=disabled
# builds without it). (tools/ needs python3-numpy/python3-torch; not installed here).
packages=(gcc meson ninja-build pkg-config libopenblas-dev libcmocka-dev libcjson-dev
          zlib1g-dev libsqlite3-dev dataset-fashion-mnist librsvg2-bin libopenmpi-dev openmpi-bin)
[ "$fuzz" = no ] || packages+=(clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# OpenBLAS 0.3.21 does not know this CPU; Haswell (AVX2) kernels are the tested choice.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}

if [ "$fuzz" = yes ]; then
    # -fsanitize=fuzzer must link (Debian's clang alone lacks libFuzzer: libclang-rt-14-dev)
    probe=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return (int)(n & 0); }\n' \
        >"$probe/probe.c"
    if ! clang -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" 2>"$probe/log"; then
        echo "setup: clang cannot link -fsanitize=fuzzer (is libclang-rt-14-dev installed?):" >&2
        cat "$probe/log" >&2
        rm -rf "$probe"
        exit 1
    fi
    rm -rf "$probe"
    export CC=clang CXX=clang++
    set -- -Dfuzz=true "$@"
fi

if [ -f "$build_dir/build.ninja" ]; then
    meson setup --reconfigure "$build_dir" "$@" >/dev/null
else
    meson setup "$build_dir" "$@" >/dev/null
fi
echo "setup: configured $build_dir"
