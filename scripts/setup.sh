#!/usr/bin/env bash
# setup.sh — install tinymlp's Debian 12 build dependencies (when missing) and configure
# the build directory. Idempotent and non-interactive; run as root (or with sudo).
#
#   scripts/setup.sh [BUILD_DIR] [extra meson options...]     (BUILD_DIR defaults to build)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
shift || true

# Build and test dependencies; Open MPI for bench_mlp under mpirun (meson -Dmpi=disabled
# builds without it). (tools/ needs python3-numpy/python3-torch; not installed here).
packages=(gcc meson ninja-build pkg-config libopenblas-dev libcmocka-dev libcjson-dev
          zlib1g-dev dataset-fashion-mnist librsvg2-bin libopenmpi-dev openmpi-bin)

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

if [ -f "$build_dir/build.ninja" ]; then
    meson setup --reconfigure "$build_dir" "$@" >/dev/null
else
    meson setup "$build_dir" "$@" >/dev/null
fi
echo "setup: configured $build_dir"
