#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: the test suite under valgrind memcheck, in build-vg (a plain
# debugoptimized build). Any memcheck error, and any "definitely lost" or
# "indirectly lost" block, fails the test that caused it.
#
#   bash .ci/stages/30-valgrind.sh
#
# Suites: 'core' (the library's own suites, with the stress at 50
# iterations per thread: valgrind runs one thread at a time) and the
# provider plugins, the loader and the tools ('plugins'). Not run here:
# 'examples', 'docs', 'ecosystem' and 'bindings' run other processes (a
# nested meson build, python, gi-docgen, a compiler) whose own leaks are not
# tether's; the demo and the libraries they exercise are covered by 'core'
# and 'plugins'.
source "$(dirname "$0")/common.bash"

BUILD=build-vg
stage_packages valgrind

stage_setup "$BUILD" -Dstress_iterations="${STRESS_ITERATIONS:-50}" || stage_build_failed

# glib.supp is GLib's own suppression file (type system and other
# process-lifetime allocations); tests/suppressions/valgrind.supp holds the
# few more GLib 2.74 needs, each explained there.
wrapper="valgrind --quiet --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
  --track-origins=yes --num-callers=30 --child-silent-after-fork=yes \
  --suppressions=/usr/share/glib-2.0/valgrind/glib.supp \
  --suppressions=$PWD/tests/suppressions/valgrind.supp"
export G_SLICE=always-malloc
export G_DEBUG=gc-friendly

# Not run under valgrind, by name:
# - test-soup-session: libsoup 3.2's soup_server_listen_local() (called by
#   the test's own HTTP server, not by tether or its provider) loses the
#   listener's local GSocketAddress: 144 bytes "definitely lost", every frame
#   in libsoup/gio. The soup provider still runs under ASan and in the main
#   stage.
excluded='^(test-soup-session)$'
tests=()
for suite in core plugins; do
  while read -r name; do
    name=${name##* / }
    [ -n "$name" ] && ! [[ "$name" =~ $excluded ]] && tests+=("$name")
  done < <(meson test -C "$BUILD" --no-rebuild --list --suite "$suite" 2>/dev/null)
done
mapfile -t tests < <(printf '%s\n' "${tests[@]}" | sort -u)

status=0
meson test -C "$BUILD" --no-rebuild --print-errorlogs "${tests[@]}" \
  --wrap="$wrapper" --timeout-multiplier 10 || status=$?
stage_report "$BUILD" "$status" testlog-valgrind
