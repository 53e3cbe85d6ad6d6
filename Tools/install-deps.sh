#!/usr/bin/env bash
# Install, with apt-get, what building and testing Cinder needs and the machine lacks.
# Packages already present are left alone; apt-get runs through sudo when not root.
set -euo pipefail

packages=(
    gcc g++ make pkg-config git ca-certificates   # toolchain; git keeps the build tree
    libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev
    libreadline-dev libgdbm-dev libncurses-dev uuid-dev   # CPython's optional modules
    libasmjit-dev                                  # the JIT's assembler
    libgtest-dev                                   # make testruntime
    python3-matplotlib                             # make bench's --plot, run by the system python3
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps.sh: all dependencies are installed"
    exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-deps.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
