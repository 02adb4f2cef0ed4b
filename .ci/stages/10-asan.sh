#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: the whole test suite under AddressSanitizer + UndefinedBehavior-
# Sanitizer (with LeakSanitizer at exit), in build-asan. Any report fails.
#
#   bash .ci/stages/10-asan.sh
#
# The ledger stress runs 1000 iterations per thread here (the default
# build runs 200); raise it with STRESS_ITERATIONS=N.
source "$(dirname "$0")/common.bash"

BUILD=build-asan
stage_packages gcc libasan8 libubsan1

# -Db_lundef=false: sanitized shared objects (provider plugins) leave the
# sanitizer runtime's symbols to the executable.
stage_setup "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
  -Dc_args=-fno-sanitize-recover=undefined \
  -Dstress_iterations="${STRESS_ITERATIONS:-1000}" || stage_build_failed

# fast_unwind_on_malloc=0: GLib is built without frame pointers, so the fast
# unwinder stops at g_malloc and leak reports would name no caller.
# detect_stack_use_after_return: a flight led by a synchronous caller lives on
# its stack, and the callers that joined it must be done with it first.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:fast_unwind_on_malloc=0:malloc_context_size=40:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/tests/suppressions/lsan.supp:print_suppressions=0
# GLib 2.74's slice allocator caches memory per thread: plain malloc lets the
# sanitizers see every block.
export G_SLICE=always-malloc
export G_DEBUG=gc-friendly

# Leak checking is off for two tests, which still run under ASan and UBSan:
# - test-soup-session and tether-demo run a SoupServer (the test's HTTP
#   server, not tether's code), and libsoup 3.2 loses the sockets its server
#   accepted and its listener's local address (GSocket / GSocketAddress
#   objects, every frame in libsoup/gio under soup_server_listen_local() and
#   the server's accept callback).
no_leak_check='^(test-soup-session|tether-demo)$'
checked=() unchecked=()
while read -r name; do
  name=${name##* / }
  [ -n "$name" ] || continue
  if [[ "$name" =~ $no_leak_check ]]; then unchecked+=("$name"); else checked+=("$name"); fi
done < <(meson test -C "$BUILD" --no-rebuild --list 2>/dev/null | sort -u)

status=0
meson test -C "$BUILD" --no-rebuild --print-errorlogs --timeout-multiplier 4 "${checked[@]}" || status=$?
if [ ${#unchecked[@]} -gt 0 ]; then
  mv "$BUILD/meson-logs/testlog.json" "$BUILD/meson-logs/testlog-checked.json"
  mv "$BUILD/meson-logs/testlog.txt" "$BUILD/meson-logs/testlog-checked.txt"
  ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0} \
    meson test -C "$BUILD" --no-rebuild --print-errorlogs --timeout-multiplier 4 "${unchecked[@]}" || status=$?
  cat "$BUILD/meson-logs/testlog-checked.json" >> "$BUILD/meson-logs/testlog.json"
  cat "$BUILD/meson-logs/testlog-checked.txt" >> "$BUILD/meson-logs/testlog.txt"
fi
stage_report "$BUILD" "$status"
