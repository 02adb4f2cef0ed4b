#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The C blocks of docs/writing-a-provider.md, built as written (by meson,
# from extract-guide.py): the provider module passes tether-inspect, and the
# application loads it from TETHER_PROVIDER_PATH, greets, and tears down.
#
#   test-guide-snippets.sh MODULE APP TETHER_INSPECT
#
# Prints TAP.
set -uo pipefail

module=$1
app=$2
inspect=$3
# The loader refuses what group or others can write; the build tree may
# have been made under umask 002.
umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tether-guide.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
install -m 0755 "$module" "$tmp/hello.so"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
  for l in "$@"; do echo "# $l"; done
}
expect() {   # NAME WANTED-STATUS WANTED-TEXT COMMAND...
  local name=$1 status=$2 text=$3 out rc; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$status" ] && grep -qF -- "$text" <<<"$out"; then
    ok "$name"
  else
    not_ok "$name" "exit $rc (wanted $status), wanted the text: $text" "$out"
  fi
}

echo "TAP version 13"
expect "tether-inspect accepts the guide's module" 0 "Provider hello" "$inspect" "$tmp/hello.so"
expect "and acquires and releases it" 0 "verdict      valid: loaded, initialised, acquired and released" \
  "$inspect" "$tmp/hello.so"
expect "the guide's application greets from its context" 0 "hello from context #1" \
  env TETHER_PROVIDER_PATH="$tmp" "$app"
printf '[provider hello]\ngreeting=bonjour\n' >"$tmp/app.conf"
expect "the application passes its configuration to init" 0 "bonjour from context #1" \
  env TETHER_PROVIDER_PATH="$tmp" "$app" "$tmp/app.conf"
printf '[provider hello]\ngreeting=\n' >"$tmp/empty.conf"
expect "a bad configuration is the provider's error, naming the key" 1 "greeting must not be empty" \
  env TETHER_PROVIDER_PATH="$tmp" "$app" "$tmp/empty.conf"

echo "1..$n"
[ $failed -eq 0 ]
