#!/usr/bin/env bash
# Run CPython's test suite, which includes our Lib/test/test_cinder*.py, with one interpreter:
#   Tools/run-tests.sh "PYTHON [interpreter options]" [regrtest options...]
# for example Tools/run-tests.sh "./python -X jit" test_cinderjit
# Tests listed in Tools/test-skips.txt (each with its reason) are left out. The same command
# runs stock CPython (build/stock/python) for comparison.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: Tools/run-tests.sh PYTHON [regrtest options]" >&2; exit 2; }
read -r -a py <<<"$1"
shift

# The suite compares child processes' environments with its own: variables that the caller's
# shell exports (PYTHONUNBUFFERED, PYTHONDONTWRITEBYTECODE, ...) make such tests fail.
while read -r var; do unset "$var"; done < <(env | sed -n 's/^\(PYTHON[A-Z0-9_]*\)=.*/\1/p')

# Skip list: "<pattern> <reason>"; regrtest ignores every test whose id, or a dotted part of
# it, matches the glob pattern (a test module's name ignores the whole module).
# Under -X jit, Tools/test-skips-jit.txt adds the tests that check what only the
# interpreter does.
skip_files=("$top/Tools/test-skips.txt")
case " ${py[*]} " in *" -X jit"*) skip_files+=("$top/Tools/test-skips-jit.txt") ;; esac
skips=()
for f in "${skip_files[@]}"; do
    while read -r pattern reason; do
        case $pattern in ''|'#'*) continue ;; esac
        [ -n "$reason" ] || { echo "$f: '$pattern' has no reason" >&2; exit 2; }
        skips+=(-i "$pattern")
    done <"$f"
done

# regrtest starts its workers with its own interpreter and only a few of its flags (not
# -X jit, say): with interpreter options, name the whole command with --python so that
# every worker runs under them.
workers=()
if [ ${#py[@]} -gt 1 ]; then
    exe=${py[0]}
    case $exe in */*) exe=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe") ;; esac
    workers=(--python "$exe ${py[*]:1}")
fi

# A shell started in the background ignores SIGINT and cannot undo that; the interpreter
# restores the default before exec'ing regrtest, as the tests of Ctrl-C handling need.
# Interpreter options go through argv so that the exec'ed interpreter gets them too.
exec "${py[@]}" -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.executable, [sys.executable] + sys.argv[1:])' \
    "${py[@]:1}" -m test -j0 -w --timeout=900 -u all,-largefile,-audio,-gui,-network,-urlfetch,-cpu \
    ${workers[@]+"${workers[@]}"} ${skips[@]+"${skips[@]}"} "$@"
