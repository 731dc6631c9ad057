#!/usr/bin/env bash
# Checks the KTAP the harness produced with Linux's own consumer, tools/testing/kunit's
# `kunit.py parse`, taken from Debian's linux-source package (139 MB, fetched once into
# target/linux-kunit/). Not a CI step: run it after `cargo xtask test`.
#
#   tests/linux-ktap-check.sh [RUN_DIR]      (default: target/xtask/runs/latest)
#
# It parses each arch's merged `<arch>.ktap` and every boot of each `<arch>.serial.log`
# that ran to its end (a boot cut short by a crash is a truncated stream by nature), and
# fails if kunit.py reports a crashed or malformed stream.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${1:-$root/target/xtask/runs/latest}
cache=$root/target/linux-kunit
kunit=$cache/linux-source-6.1/tools/testing/kunit/kunit.py

"$root/tests/tools/fetch-linux-kunit.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checked=0 bad=0
check() {
    local file=$1 label=$2 output
    output=$(cd "$(dirname "$kunit")" && python3 kunit.py parse "$file" 2>&1) || true
    checked=$((checked + 1))
    if ! grep -q "Testing complete" <<<"$output" || grep -qE "\[CRASHED\]|\[ERROR\]|Could not find any KTAP" <<<"$output"; then
        bad=$((bad + 1))
        printf 'NOT CLEAN: %s\n%s\n\n' "$label" "$output"
    else
        printf 'clean: %-40s %s\n' "$label" "$(grep 'Testing complete' <<<"$output" | sed 's/^\[[^]]*\] //')"
    fi
}

for merged in "$run_dir"/*.ktap; do
    check "$merged" "$(basename "$merged")"
done
for log in "$run_dir"/*.serial.log; do
    # Split the log at the harness's boot markers; keep the boots that ended by the
    # kernel's own exit after its whole plan (exit kernel 0 or 2).
    awk -v out="$work/$(basename "$log" .serial.log)" '
        /^# xtask: boot [0-9]+: / { n++; file = out ".boot" n; next }
        /^# xtask: boot [0-9]+ ended: exit kernel [02]$/ { print file > (file ".complete"); next }
        /^# xtask: / { next }
        file { print > file }' "$log"
done
for marker in "$work"/*.complete; do
    [ -e "$marker" ] || continue
    boot=${marker%.complete}
    check "$boot" "$(basename "$boot")"
done
echo "$checked stream(s) checked with Linux's kunit.py, $bad not clean"
[ "$bad" -eq 0 ]
