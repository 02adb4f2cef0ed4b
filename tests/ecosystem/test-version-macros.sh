#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The compile-time version checks, as GLib checks its own: small programs
# compiled (syntax only) against tether's headers with the C compiler of the
# build, each with its own TETHER_VERSION_MIN_REQUIRED / MAX_ALLOWED, and
# the compiler's warnings read:
#
# - API added in 0.2, used by a program whose MAX_ALLOWED is 0.1, gives a
#   "Not available before 0.2" warning naming the function; with MAX_ALLOWED
#   0.2, or the defaults, or TETHER_DISABLE_DEPRECATION_WARNINGS, none;
# - 0.1 API with MAX_ALLOWED 0.1 gives none;
# - a declaration marked TETHER_DEPRECATED_IN_0_2_FOR (f) warns, naming f,
#   only when MIN_REQUIRED is 0.2 or later;
# - MAX_ALLOWED older than MIN_REQUIRED, or MIN_REQUIRED newer than the
#   headers, is an #error.
#
#   test-version-macros.sh SOURCE_ROOT BUILD_ROOT CC...
#
# Prints TAP.
set -uo pipefail

source_root=$1
build_root=$2
shift 2
cc=("$@")
work=$(mktemp -d "${TMPDIR:-/tmp}/tether-version-macros.XXXXXX")
trap 'rm -rf "$work"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
  for l in "$@"; do echo "# $l"; done
}

echo "TAP version 13"

read -r -a glib_cflags <<<"$(pkg-config --cflags gio-2.0)"
includes=(-I"$source_root/include" -I"$source_root/include/tether"
          -I"$build_root/include" -I"$build_root/include/tether")

cat >"$work/new-api.c" <<'C'
#include <tether/tether.h>
int main (void) { return (int) tether_get_major_version (); }
C
cat >"$work/old-api.c" <<'C'
#include <tether/tether.h>
int main (void) { return (int) tether_purge (); }
C
cat >"$work/deprecated.c" <<'C'
#include <tether/tether.h>
TETHER_AVAILABLE_IN_0_2 void tether_test_new_way (void);
TETHER_DEPRECATED_IN_0_2_FOR (tether_test_new_way) void tether_test_old_way (void);
int main (void) { tether_test_old_way (); return 0; }
C

# compile NAME FILE DEFINES...: syntax-checks FILE; its diagnostics in
# $work/NAME.log; returns the compiler's status.
compile() {
  local name=$1 file=$2; shift 2
  "${cc[@]}" -fsyntax-only -Wdeprecated-declarations "${includes[@]}" "${glib_cflags[@]}" \
    "$@" "$work/$file" >"$work/$name.log" 2>&1
}
# expect_warning NAME FILE PATTERN... -- DEFINES...
expect_warning() {
  local name=$1 file=$2; shift 2
  local patterns=()
  while [ "$1" != -- ]; do patterns+=("$1"); shift; done
  shift
  if ! compile "$name" "$file" "$@"; then
    not_ok "$name" "did not compile:" "$(head -n 5 "$work/$name.log")"
    return
  fi
  for p in "${patterns[@]}"; do
    if ! grep -q -- "$p" "$work/$name.log"; then
      not_ok "$name" "no '$p' in the compiler's output:" "$(head -n 5 "$work/$name.log")"
      return
    fi
  done
  ok "$name"
}
expect_clean() {
  local name=$1 file=$2; shift 2
  if compile "$name" "$file" "$@" && [ ! -s "$work/$name.log" ]; then
    ok "$name"
  else
    not_ok "$name" "$(head -n 5 "$work/$name.log")"
  fi
}
expect_error() {
  local name=$1 file=$2 pattern=$3; shift 3
  if compile "$name" "$file" "$@"; then
    not_ok "$name" "compiled"
  elif grep -q -- "$pattern" "$work/$name.log"; then
    ok "$name"
  else
    not_ok "$name" "no '$pattern' in:" "$(head -n 5 "$work/$name.log")"
  fi
}

expect_warning "0.2 API with MAX_ALLOWED 0.1 warns" new-api.c \
  "tether_get_major_version" "Not available before 0.2" -- \
  -DTETHER_VERSION_MAX_ALLOWED=TETHER_VERSION_0_1 -DTETHER_VERSION_MIN_REQUIRED=TETHER_VERSION_0_1
expect_clean "0.2 API with MAX_ALLOWED 0.2 is quiet" new-api.c \
  -DTETHER_VERSION_MAX_ALLOWED=TETHER_VERSION_0_2 -DTETHER_VERSION_MIN_REQUIRED=TETHER_VERSION_0_1
expect_clean "0.2 API with the default version macros is quiet" new-api.c
expect_clean "0.2 API with MAX_ALLOWED 0.1 and TETHER_DISABLE_DEPRECATION_WARNINGS is quiet" new-api.c \
  -DTETHER_VERSION_MAX_ALLOWED=TETHER_VERSION_0_1 -DTETHER_VERSION_MIN_REQUIRED=TETHER_VERSION_0_1 \
  -DTETHER_DISABLE_DEPRECATION_WARNINGS
expect_clean "0.1 API with MAX_ALLOWED 0.1 is quiet" old-api.c \
  -DTETHER_VERSION_MAX_ALLOWED=TETHER_VERSION_0_1 -DTETHER_VERSION_MIN_REQUIRED=TETHER_VERSION_0_1
expect_warning "DEPRECATED_IN_0_2_FOR with MIN_REQUIRED 0.2 warns, naming the replacement" deprecated.c \
  "tether_test_old_way" "deprecated" "tether_test_new_way" -- \
  -DTETHER_VERSION_MIN_REQUIRED=TETHER_VERSION_0_2
expect_warning "DEPRECATED_IN_0_2_FOR with the default MIN_REQUIRED (the headers') warns" deprecated.c \
  "tether_test_old_way" "deprecated" --
expect_clean "DEPRECATED_IN_0_2_FOR with MIN_REQUIRED 0.1 is quiet" deprecated.c \
  -DTETHER_VERSION_MIN_REQUIRED=TETHER_VERSION_0_1
expect_error "MAX_ALLOWED older than MIN_REQUIRED is an error" old-api.c \
  "TETHER_VERSION_MAX_ALLOWED must be >= TETHER_VERSION_MIN_REQUIRED" \
  -DTETHER_VERSION_MIN_REQUIRED=TETHER_VERSION_0_2 -DTETHER_VERSION_MAX_ALLOWED=TETHER_VERSION_0_1
expect_error "MIN_REQUIRED newer than the headers is an error" old-api.c \
  "newer than these tether headers" \
  "-DTETHER_VERSION_MIN_REQUIRED=G_ENCODE_VERSION (0, 99)"

echo "1..$n"
[ $failed -eq 0 ]
