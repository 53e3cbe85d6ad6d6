#!/usr/bin/env bash
# The upstream base: fetch and verify the pinned CPython 3.11.2 tarball, keep the build tree
# (upstream + patches/, one git commit per patch) in sync, and export edits back to patches/.
#
#   Tools/upstream.sh fetch [TARBALL]   verify TARBALL, or fetch it from Debian's source archive
#   Tools/upstream.sh sync              create or update the build tree from the tarball + series
#   Tools/upstream.sh export [PATCH]    write the build tree's commits back to patches/; with
#                                       PATCH, first fold uncommitted edits into that patch (an
#                                       existing name) or into a new patch named PATCH
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
tree=$build/cpython
patches=$top/patches
cache=$build/python3.11_3.11.2.orig.tar.gz
sha256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
# Commits made by this script carry a fixed identity and date, so exports are stable.
export GIT_AUTHOR_NAME=cinder GIT_AUTHOR_EMAIL=cinder@localhost
export GIT_COMMITTER_NAME=cinder GIT_COMMITTER_EMAIL=cinder@localhost
export GIT_COMMITTER_DATE="2023-02-08T00:00:00Z"
stamp=$tree/.git/cinder-synced   # "<patch-set hash> <commit>" of the last sync

die() { echo "upstream.sh: error: $*" >&2; exit 1; }
note() { echo "upstream.sh: $*" >&2; }
g() { git -C "$tree" "$@"; }

# --- fetch -------------------------------------------------------------------------------

check_tarball() {
    [ -f "$1" ] || die "no tarball at $1"
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$got" = "$sha256" ] || die "$1 has sha256 $got, expected $sha256 (CPython 3.11.2)"
}

# Fetch python3.11's orig tarball with apt-get source. The deb-src entries are derived from
# the machine's own deb entries and used through a private apt state, so this needs neither
# root nor changes to the system's apt configuration.
fetch_from_debian() {
    command -v apt-get >/dev/null || die "apt-get not found; download Python-3.11.2.tgz \
and run ./configure --with-cpython-tarball=PATH"
    local apt=$build/apt
    rm -rf "$apt"
    mkdir -p "$apt/etc/sources.list.d" "$apt/lists/partial" "$apt/dl"
    local n=0 f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        sed -e 's/^Types:.*/Types: deb-src/' "$f" >"$apt/etc/sources.list.d/$n.sources"
        n=$((n + 1))
    done
    if [ -f /etc/apt/sources.list ]; then
        sed -n -e 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list \
            >"$apt/etc/sources.list.d/list.list"
        mv "$apt/etc/sources.list.d/list.list" "$apt/etc/sources.list.d/$n.list"
    fi
    local opts=(-o "Dir::Etc::SourceList=/dev/null"
                -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d"
                -o "Dir::State::Lists=$apt/lists" -o "Debug::NoLocking=1"
                -o "APT::Sandbox::User=$(id -un)")
    note "fetching python3.11 sources with apt-get source"
    apt-get "${opts[@]}" -qq update || die "apt-get update of the deb-src lists failed"
    # Only the orig tarball matters; a missing .dsc or Debian diff on a mirror is harmless.
    (cd "$apt/dl" && apt-get "${opts[@]}" -qq source --download-only python3.11 >/dev/null 2>&1) \
        || true
    [ -f "$apt/dl/python3.11_3.11.2.orig.tar.gz" ] \
        || die "apt-get source did not deliver python3.11_3.11.2.orig.tar.gz; download \
Python-3.11.2.tgz and run ./configure --with-cpython-tarball=PATH"
    check_tarball "$apt/dl/python3.11_3.11.2.orig.tar.gz"
    mv "$apt/dl/python3.11_3.11.2.orig.tar.gz" "$cache"
    rm -rf "$apt"
}

cmd_fetch() {
    mkdir -p "$build"
    if [ $# -gt 0 ] && [ -n "$1" ]; then
        local src
        src=$(readlink -f "$1") || die "no tarball at $1"
        check_tarball "$src"
        if [ "$src" != "$cache" ]; then
            cp "$src" "$cache.tmp"
            mv "$cache.tmp" "$cache"
        fi
    elif [ -f "$cache" ]; then
        check_tarball "$cache"
    else
        fetch_from_debian
    fi
}

# --- sync --------------------------------------------------------------------------------

series() { grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$patches/series" || true; }

patchset_hash() {
    (cd "$patches" && cat series $(series)) | sha256sum | cut -d' ' -f1
}

create_tree() {
    [ -f "$cache" ] || die "no upstream tarball; run ./configure first"
    note "unpacking CPython 3.11.2 into build/cpython"
    rm -rf "$tree"
    mkdir -p "$tree"
    tar -xzf "$cache" -C "$tree" --strip-components=1
    g init -q -b cinder
    g config core.autocrlf false
    g config gc.auto 0
    g add -A -f .
    GIT_AUTHOR_DATE=$GIT_COMMITTER_DATE g commit -q -m "CPython 3.11.2 (release tarball)"
    g tag upstream
    echo "none $(g rev-parse HEAD)" >"$stamp"
}

# Build the commit chain upstream + series in a private index, without touching files.
build_chain() {
    local idx=$tree/.git/cinder-index parent tree_id p
    parent=$(g rev-parse upstream)
    rm -f "$idx"
    GIT_INDEX_FILE=$idx g read-tree upstream
    for p in $(series); do
        [ -f "$patches/$p" ] || die "patches/series names $p, which does not exist"
        GIT_INDEX_FILE=$idx g apply --cached "$patches/$p" \
            || die "patches/$p does not apply on top of the patches before it"
        tree_id=$(GIT_INDEX_FILE=$idx g write-tree)
        parent=$(commit_from_patch "$patches/$p" "$tree_id" "$parent")
    done
    rm -f "$idx"
    echo "$parent"
}

# Commit TREE with PARENT, taking the message and author from the patch's mail header.
commit_from_patch() {
    local msg info subject author email date
    msg=$(mktemp) info=$(mktemp)
    git mailinfo -k "$msg" /dev/null <"$1" >"$info"
    subject=$(sed -n 's/^Subject: //p' "$info")
    author=$(sed -n 's/^Author: //p' "$info")
    email=$(sed -n 's/^Email: //p' "$info")
    date=$(sed -n 's/^Date: //p' "$info")
    [ -n "$subject" ] || die "$1 has no Subject: header saying what it is for"
    {
        echo "$subject"
        if [ -s "$msg" ]; then echo; cat "$msg"; fi
    } | GIT_AUTHOR_NAME=${author:-cinder} GIT_AUTHOR_EMAIL=${email:-cinder@localhost} \
        GIT_AUTHOR_DATE=${date:-$GIT_COMMITTER_DATE} g commit-tree "$2" -p "$3"
    rm -f "$msg" "$info"
}

# Our Lib/ files appear in the build tree's Lib/ as symlinks, so ./python runs them in place
# and `make install` copies them like upstream's.
link_lib() {
    local f
    [ -d "$top/Lib" ] || return 0
    (cd "$top" && find Lib -type f) | while read -r f; do
        mkdir -p "$tree/$(dirname "$f")"
        ln -sfn "$top/$f" "$tree/$f"
    done
}

cmd_sync() {
    [ -d "$tree/.git" ] || create_tree
    local want have_hash have_commit new
    want=$(patchset_hash)
    read -r have_hash have_commit <"$stamp"
    if [ "$want" != "$have_hash" ]; then
        [ "$(g rev-parse HEAD)" = "$have_commit" ] \
            || die "build/cpython has commits that are not in patches/; run 'make patches' first"
        [ -z "$(g status --porcelain --untracked-files=no)" ] \
            || die "patches/ changed, but build/cpython has uncommitted edits; \
export them with 'make patches PATCH=name' or discard them"
        note "applying patches/series to build/cpython"
        new=$(build_chain)
        # A two-tree merge rewrites only the files whose content changes, so make rebuilds
        # no more than it must.
        g read-tree -m -u HEAD "$new"
        g update-ref refs/heads/cinder "$new"
        echo "$want $new" >"$stamp"
    fi
    link_lib
}

# --- export ------------------------------------------------------------------------------

# The build tree's commit for PATCH: a patch file named in series (by position), or a subject.
commit_for_patch() {
    local commits i=0 p
    mapfile -t commits < <(g rev-list --reverse upstream..HEAD)
    for p in $(series); do
        if [ "$p" = "$1" ] || [ "$p" = "$1.patch" ]; then
            echo "${commits[$i]}"
            return
        fi
        i=$((i + 1))
    done
    for p in "${commits[@]}"; do
        if [ "$(g log -1 --format=%s "$p")" = "$1" ]; then
            echo "$p"
            return
        fi
    done
}

cmd_export() {
    [ -d "$tree/.git" ] || die "no build tree; run ./configure first"
    local dirty target
    dirty=$(g status --porcelain --untracked-files=no)
    if [ -n "$dirty" ]; then
        [ $# -gt 0 ] || die "build/cpython has uncommitted edits:
$dirty
name the patch they belong to: make patches PATCH=<existing patch or new subject>"
        target=$(commit_for_patch "$1")
        if [ -n "$target" ]; then
            g commit -q -a --fixup="$target"
            GIT_SEQUENCE_EDITOR=: g rebase -q -i --autosquash upstream \
                || die "folding the edits into $1 conflicts with a later patch; resolve in build/cpython"
        else
            g commit -q -a -m "$1"
            note "new patch '$1': say why it exists with 'git -C build/cpython commit --amend'"
        fi
    fi
    local tmp
    tmp=$(mktemp -d)
    g format-patch -q -k --zero-commit --no-signature --no-stat -o "$tmp" upstream..HEAD
    rm -f "$patches"/*.patch
    mkdir -p "$patches"
    {
        echo "# Applied in this order on top of the CPython 3.11.2 release tarball."
        echo "# Generated by 'make patches' (Tools/upstream.sh export)."
        for p in "$tmp"/*.patch; do
            [ -f "$p" ] || continue
            cp "$p" "$patches/"
            basename "$p"
        done
    } >"$patches/series"
    rm -rf "$tmp"
    echo "$(patchset_hash) $(g rev-parse HEAD)" >"$stamp"
    note "exported $(series | wc -l) patches to patches/"
}

case ${1:-} in
    fetch) shift; cmd_fetch "$@" ;;
    sync) cmd_sync ;;
    export) shift; cmd_export "$@" ;;
    *) die "usage: Tools/upstream.sh fetch [TARBALL] | sync | export [PATCH]" ;;
esac
