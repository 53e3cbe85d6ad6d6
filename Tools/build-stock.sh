#!/usr/bin/env bash
# Build stock CPython 3.11.2 (the same tarball, none of our patches or files) into build/stock
# with the options ./configure gave CPython, leaving build/stock/python: the baseline that
# benchmarks and test counts are compared against.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
stock=$top/build/stock
cpython_args=()
# shellcheck source=/dev/null
[ -f "$top/build/configure-args.sh" ] && . "$top/build/configure-args.sh"

"$top/Tools/upstream.sh" fetch
if [ ! -x "$stock/python" ]; then
    rm -rf "$stock"
    mkdir -p "$stock"
    tar -xzf "$top/build/python3.11_3.11.2.orig.tar.gz" -C "$stock" --strip-components=1
    (cd "$stock" && ./configure -q ${cpython_args[@]+"${cpython_args[@]}"})
fi
make -C "$stock" -s -j"$(nproc)"
echo "build-stock.sh: stock CPython 3.11.2 is $stock/python"
