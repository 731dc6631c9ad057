#!/usr/bin/env bash
# Fetches Linux's KUnit tooling (tools/testing/kunit: kunit.py, kunit_parser.py and its
# test_data logs) from Debian's linux-source-6.1 package into target/linux-kunit/, once.
# Used by tests/linux-ktap-check.sh and by the host test that compares our KTAP counts with
# kunit_parser's. Needs apt-get (Debian/Ubuntu) and python3 to use what it fetches.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=$root/target/linux-kunit
kunit=$cache/linux-source-6.1/tools/testing/kunit/kunit.py
if [ -f "$kunit" ]; then
    exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download linux-source-6.1 >/dev/null)
dpkg-deb -x "$work"/linux-source-6.1_*.deb "$work/deb"
tar -xJf "$work"/deb/usr/src/linux-source-6.1.tar.xz -C "$cache" linux-source-6.1/tools/testing/kunit/
echo "fetched Linux's KUnit tooling into $cache"
