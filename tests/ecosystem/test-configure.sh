#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What meson setup promises a packager, checked by configuring the source
# tree in throw-away build directories (configure only, nothing is built):
#
# - a static-only build with introspection asked for stops with an error
#   that says why; with introspection on auto it skips it, says so, and
#   generates no GIR or typelib (a typelib cannot load a static library);
# - -Dtests=false builds no benchmark;
# - -Dvapi=enabled without introspection stops with an error;
# - -Dpygobject_overrides_dir=DIR installs the overrides in DIR.
#
#   test-configure.sh SOURCE_ROOT
#
# Prints TAP.
set -uo pipefail

source_root=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tether-configure.XXXXXX")
trap 'rm -rf "$work"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
  for l in "$@"; do echo "# $l"; done
}
# setup NAME OPTIONS...: configures $work/NAME, its log in $work/NAME.log.
setup() {
  local name=$1; shift
  meson setup "$work/$name" "$source_root" -Dexamples=false -Ddocumentation=disabled "$@" \
    >"$work/$name.log" 2>&1
}
targets() {
  meson introspect "$work/$1" --targets |
    /usr/bin/python3 -c 'import json, sys; print("\n".join(t["name"] for t in json.load(sys.stdin)))'
}
have_scanner=0
command -v g-ir-scanner >/dev/null && have_scanner=1

echo "TAP version 13"

if setup static-gir -Ddefault_library=static -Dintrospection=enabled; then
  not_ok "static build with -Dintrospection=enabled is refused" "meson setup succeeded"
elif grep -q "introspection needs the shared library" "$work/static-gir.log"; then
  ok "static build with -Dintrospection=enabled is refused, saying why"
else
  not_ok "static build with -Dintrospection=enabled is refused, saying why" \
    "$(tail -n 5 "$work/static-gir.log")"
fi

if setup static -Ddefault_library=static -Dtests=false; then
  ok "static build with introspection on auto configures"
  if grep -q "introspection skipped: -Ddefault_library=static" "$work/static.log"; then
    ok "static build: the log says introspection is skipped and why"
  else
    not_ok "static build: the log says introspection is skipped and why" \
      "$(grep -i introspection "$work/static.log")"
  fi
  gir_targets=$(targets static | grep -E '\.(gir|typelib)$')
  if [ -z "$gir_targets" ]; then
    ok "static build: no GIR or typelib is generated"
  else
    not_ok "static build: no GIR or typelib is generated" "$gir_targets"
  fi
else
  not_ok "static build with introspection on auto configures" "$(tail -n 10 "$work/static.log")"
fi

overrides=$work/overrides/gi/overrides
if setup no-tests -Dtests=false -Dpygobject_overrides_dir="$overrides"; then
  ok "-Dtests=false configures"
  bench_targets=$(targets no-tests | grep '^bench')
  if [ -z "$bench_targets" ]; then
    ok "-Dtests=false: no benchmark is built"
  else
    not_ok "-Dtests=false: no benchmark is built" "$bench_targets"
  fi
  if [ "$have_scanner" = 1 ]; then
    installed=$(meson introspect "$work/no-tests" --installed |
      /usr/bin/python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin).values()))')
    if grep -qx "$overrides/Tether.py" <<<"$installed"; then
      ok "-Dpygobject_overrides_dir: the overrides are installed there"
    else
      not_ok "-Dpygobject_overrides_dir: the overrides are installed there" \
        "$(grep Tether.py <<<"$installed")"
    fi
  fi
else
  not_ok "-Dtests=false configures" "$(tail -n 10 "$work/no-tests.log")"
fi

if setup vapi-no-gir -Dvapi=enabled -Dintrospection=disabled -Dtests=false; then
  not_ok "-Dvapi=enabled without introspection is refused" "meson setup succeeded"
elif grep -q "vapi needs introspection" "$work/vapi-no-gir.log"; then
  ok "-Dvapi=enabled without introspection is refused, saying why"
else
  not_ok "-Dvapi=enabled without introspection is refused, saying why" \
    "$(tail -n 5 "$work/vapi-no-gir.log")"
fi

echo "1..$n"
[ $failed -eq 0 ]
