#!/bin/sh
# The man pages name every flag the programs' --help names: each --flag
# of `satcheld --help` is in man/satcheld.8, each of `satchel run --help`,
# `satchel import --help`, `satchel keygen --help`, `satchel status
# --help` and `satchel admin --help` in man/satchel.1
# (written \-\-flag in roff). Also: groff reads both without a warning.
# Usage: test_man_pages.sh BIN_DIR SOURCE_DIR
set -u
bin=$1
src=$2
status=0

check() {
    page=$1
    shift
    # Option lines only: two to four spaces, then the flag.
    flags=$("$@" --help 2>&1 | grep -o -E -- '^ {2,4}--[a-z][a-z-]*' | tr -d ' ' | sort -u)
    if [ -z "$flags" ]; then
        echo "no flags in the help of: $*" >&2
        status=1
        return
    fi
    for flag in $flags; do
        roff=$(printf '%s' "$flag" | sed 's/-/\\\\-/g')
        if ! grep -q -- "$roff" "$page"; then
            echo "$page: $flag (from $* --help) is missing" >&2
            status=1
        fi
    done
}

check "$src/man/satcheld.8" "$bin/satcheld"
check "$src/man/satchel.1" "$bin/satchel" run
check "$src/man/satchel.1" "$bin/satchel" import
check "$src/man/satchel.1" "$bin/satchel" keygen
check "$src/man/satchel.1" "$bin/satchel" status
check "$src/man/satchel.1" "$bin/satchel" admin
check "$src/man/satchel.1" "$bin/satchel" builds
check "$src/man/satchel.1" "$bin/satchel" tests

if command -v groff >/dev/null 2>&1; then
    for page in "$src/man/satcheld.8" "$src/man/satchel.1"; do
        warnings=$(groff -man -ww -z "$page" 2>&1)
        if [ -n "$warnings" ]; then
            echo "$page: groff says: $warnings" >&2
            status=1
        fi
    done
fi
[ "$status" = 0 ] && echo "man pages name every flag"
exit $status
