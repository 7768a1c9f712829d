#!/bin/sh
# systemd/satcheld.service as systemd reads it: `systemd-analyze verify`
# finds nothing wrong (its ExecStart pointed at the satcheld just built,
# as /usr/bin/satcheld is not installed here), and `systemd-analyze
# security --offline=true` rates its exposure at most 2.0 ("OK"; the
# README gives the score). Skipped (77) without systemd-analyze.
# Usage: test_systemd_unit.sh BIN_DIR SOURCE_DIR
set -eu
bin=$1
src=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "test_systemd_unit: no systemd-analyze; skipped"
    exit 77
fi
work=$(mktemp -d /tmp/satchel-unit-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
unit="$work/satcheld.service"
sed "s|^ExecStart=/usr/bin/satcheld|ExecStart=$bin/satcheld|" "$src/systemd/satcheld.service" > "$unit"
grep -q "^ExecStart=$bin/satcheld" "$unit" || { echo "no ExecStart=/usr/bin/satcheld in the unit" >&2; exit 1; }

# --man=no: the man page is not installed on the build machine.
if ! systemd-analyze verify --man=no "$unit" > "$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
    echo "systemd-analyze verify:" >&2
    cat "$work/verify.log" >&2
    exit 1
fi
systemd-analyze security --offline=true --no-pager "$unit" > "$work/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for satcheld.service: \([0-9.]*\).*/\1/p' "$work/security.log")
if [ -z "$score" ]; then
    echo "systemd-analyze security gave no score:" >&2
    cat "$work/security.log" >&2
    exit 1
fi
echo "exposure level: $score"
grep "✗" "$work/security.log" || true
if ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    echo "exposure $score is above 2.0: the hardening lost something" >&2
    exit 1
fi
