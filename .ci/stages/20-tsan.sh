#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: the concurrency suite (meson suite 'concurrency': the template,
# stress, fault and hostile-provider tests) under ThreadSanitizer, in
# build-tsan. Any report fails.
#
#   bash .ci/stages/20-tsan.sh
#
# Under TSan, tether's state lock and the tests' locks are pthread mutexes
# (GMutex is a raw futex TSan cannot see; see GLIB-NOTES.md), and
# tests/suppressions/tsan.supp ignores only what GLib does inside itself.
source "$(dirname "$0")/common.bash"

BUILD=build-tsan
stage_packages gcc libtsan2

stage_setup "$BUILD" -Db_sanitize=thread -Db_lundef=false \
  -Dstress_iterations="${STRESS_ITERATIONS:-200}" || stage_build_failed

# exitcode=66 with halt_on_error=0: every report is printed, and the test
# still fails.
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:suppressions=$PWD/tests/suppressions/tsan.supp"
export G_SLICE=always-malloc

status=0
meson test -C "$BUILD" --no-rebuild --print-errorlogs --suite concurrency --timeout-multiplier 4 || status=$?
stage_report "$BUILD" "$status"
