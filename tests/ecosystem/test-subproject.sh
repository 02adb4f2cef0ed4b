#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds a tiny consumer project that takes tether as a meson subproject,
# through dependency('tether-1') and the library's override_dependency(), and
# runs the consumer.
#
#   test-subproject.sh SOURCE_ROOT CONSUMER_C
#
# Prints TAP.
set -uo pipefail

source_root=$(cd "$1" && pwd)
consumer_c=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tether-subproject.XXXXXX")
trap 'rm -rf "$work"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
  for l in "$@"; do echo "# $l"; done
}

echo "TAP version 13"

mkdir -p "$work/consumer/subprojects"
ln -s "$source_root" "$work/consumer/subprojects/tether"
cp "$consumer_c" "$work/consumer/consumer.c"
cat >"$work/consumer/meson.build" <<'MESON'
project('tether-consumer', 'c', meson_version: '>= 1.0.0')
# The subproject's own tests, examples and generated files are not needed.
tether_dep = dependency('tether-1',
  fallback: ['tether'],
  default_options: ['tests=false', 'examples=false',
                    'introspection=disabled', 'documentation=disabled'],
)
executable('consumer', 'consumer.c', dependencies: tether_dep)
MESON

if meson setup "$work/build" "$work/consumer" --wrap-mode=nodownload >"$work/setup.log" 2>&1; then
  ok "meson setup with tether as a subproject"
else
  not_ok "meson setup with tether as a subproject" "$(tail -n 20 "$work/setup.log")"
  echo "1..$n"
  exit 1
fi

# meson 1.12 (Debian testing) says "Dependency tether-1 for host machine
# found: YES 0.2.0 (overridden)"; earlier versions have no "for host machine".
if grep -qE "Dependency tether-1 (for host machine )?found: YES .* \(overridden\)" "$work/setup.log"; then
  ok "dependency('tether-1') resolves to the subproject's override"
else
  not_ok "dependency('tether-1') resolves to the subproject's override" \
    "$(grep -i 'tether-1' "$work/setup.log" | head -n 5)"
fi

# A project that embeds tether builds none of its benchmarks.
bench_targets=$(meson introspect "$work/build" --targets |
  /usr/bin/python3 -c 'import json, sys; print("\n".join(t["name"] for t in json.load(sys.stdin) if t["subproject"]))' |
  grep '^bench')
if [ -z "$bench_targets" ]; then
  ok "the subproject builds no benchmark"
else
  not_ok "the subproject builds no benchmark" $bench_targets
fi

if ninja -C "$work/build" -j 2 consumer >"$work/build.log" 2>&1; then
  ok "the consumer builds"
else
  not_ok "the consumer builds" "$(tail -n 20 "$work/build.log")"
  echo "1..$n"
  exit 1
fi

out=$("$work/build/consumer" 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q "in scope: resource-1" <<<"$out"; then
  ok "the consumer runs a scope"
else
  not_ok "the consumer runs a scope" "exit $rc" "$out"
fi

echo "1..$n"
[ $failed -eq 0 ]
