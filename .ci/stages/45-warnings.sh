#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: the library (core/), its provider plugins (plugins/) and tools
# (tools/) built with every warning an error (meson's -Dwerror=true, on top
# of the project's warning flags in meson.build), once with gcc and once
# with clang, in build-werror-gcc and build-werror-clang. Tests, examples,
# introspection and docs are not built here: -Werror is for the code
# tether ships; users' default builds never get it.
#
#   bash .ci/stages/45-warnings.sh
#
# Each compiler's build counts as one test. The distribution stages run this
# too, so it covers gcc 12/14/16 and clang 14/19/21 (Debian 12/13/testing).
source "$(dirname "$0")/common.bash"

stage_packages gcc clang

passed=0 failed=0 status=0
for cc in gcc clang; do
  dir=build-werror-$cc
  version=$("$cc" --version | head -n 1)
  rm -rf "$dir"
  if CC=$cc meson setup "$dir" -Dwerror=true -Dtests=false -Dexamples=false \
       -Dintrospection=disabled -Ddocumentation=disabled > "$dir.setup.log" 2>&1 \
     && ninja -C "$dir" -j2 > "$dir.build.log" 2>&1; then
    passed=$((passed + 1))
    echo "ok: $version: core/, plugins/, tools/ build with -Werror"
  else
    failed=$((failed + 1))
    status=1
    echo "FAILED: $version: -Werror build of core/, plugins/, tools/:"
    cat "$dir.setup.log" 2>/dev/null | tail -n 20
    grep -E 'warning:|error:' -A3 "$dir.build.log" 2>/dev/null | head -n 80
  fi
  rm -f "$dir.setup.log" "$dir.build.log"
done

echo "$passed passed, $failed failed, 0 skipped"
exit "$status"
