#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs the build into a staging directory and checks what a user of the
# installed tether gets: the versioned library and its soname, the headers
# under include/tether-1/tether/, tether-1.pc, the providers directory, and
# that a program compiles and links with `pkg-config --cflags --libs tether-1`
# alone and runs against the staged library.
#
#   test-install.sh BUILD_ROOT SOURCE_ROOT
#
# Prints TAP.
set -uo pipefail

build_root=$1
source_root=$2
here=$(cd "$(dirname "$0")" && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/tether-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
  for l in "$@"; do echo "# $l"; done
}
check() {
  local name=$1; shift
  if "$@" >"$stage/.out" 2>&1; then ok "$name"; else not_ok "$name" "$(tail -n 20 "$stage/.out")"; fi
}

echo "TAP version 13"

if ! meson install -C "$build_root" --no-rebuild --quiet --destdir "$stage/root" \
     >"$stage/install.log" 2>&1; then
  not_ok "meson install --destdir" "$(tail -n 20 "$stage/install.log")"
  echo "1..$n"
  exit 1
fi
ok "meson install --destdir"

pc=$(find "$stage/root" -name tether-1.pc -path '*/pkgconfig/*' | head -n 1)
if [ -z "$pc" ]; then
  not_ok "tether-1.pc is installed"
  echo "1..$n"
  exit 1
fi
ok "tether-1.pc is installed"

pcdir=$(dirname "$pc")
prefix=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=prefix tether-1)
libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir tether-1)
includedir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=includedir tether-1)
providerdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=providerdir tether-1)
root=$stage/root
# A relocated copy of the .pc (as a packager's sysroot would give), so that
# only tether's paths move and its dependencies still resolve in /usr.
mkdir -p "$stage/pc"
sed "s|^prefix=.*|prefix=$root$prefix|" "$pc" >"$stage/pc/tether-1.pc"
pkgconf() { PKG_CONFIG_PATH=$stage/pc pkg-config "$@" tether-1; }

version=$(PKG_CONFIG_PATH=$pcdir pkg-config --modversion tether-1)
check "library is installed with its full version ($version)" \
  test -f "$root$libdir/libtether-1.so.0.${version#*.}"
check "libtether-1.so.0 links to the versioned file" test -L "$root$libdir/libtether-1.so.0"
check "libtether-1.so (development link) is installed" test -L "$root$libdir/libtether-1.so"
soname=$(readelf -d "$root$libdir/libtether-1.so" 2>/dev/null |
         sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
check "soname is libtether-1.so.0 (got '$soname')" test "$soname" = "libtether-1.so.0"

for h in tether.h tether-enums.h tether-version.h tether-version-macros.h tether-error.h \
         tether-provider.h tether-template.h tether-manager.h tether-global.h; do
  check "header include/tether-1/tether/$h" test -f "$root$includedir/tether-1/tether/$h"
done
check "private headers are not installed" \
  test -z "$(find "$root" -name '*-private.h' -o -name 'config.h')"
check "providers directory $providerdir" test -d "$root$providerdir"

# Directories meson installed into that pkg-config does not give.
option() {
  meson introspect "$build_root" --buildoptions |
    /usr/bin/python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(abs "$(option bindir)")
libexecdir=$(abs "$(option libexecdir)")
scanner=$root$libdir/tether-1/tether-scanner

if [ -f "$source_root/tools/meson.build" ] &&
   grep -q "tether-inspect" "$source_root/tools/meson.build"; then
  check "tether-inspect is installed" test -x "$root$bindir/tether-inspect"
  check "tether-scanner is installed as a private helper in \$libdir/tether-1 (per architecture)" test -x "$scanner"
  check "tether-scanner is not on PATH (not in bindir)" test ! -e "$root$bindir/tether-scanner"
fi
staged_inspect() {
  env LD_LIBRARY_PATH="$root$libdir" TETHER_SCANNER="$scanner" "$root$bindir/tether-inspect" "$@"
}
if [ -f "$build_root/plugins/counter.so" ]; then
  check "provider modules are installed in providerdir" test -f "$root$providerdir/counter.so"
  if [ -x "$root$bindir/tether-inspect" ]; then
    check "the staged tether-inspect accepts the staged counter provider" \
      staged_inspect "$root$providerdir/counter.so"
    check "the staged tether-inspect lists the staged providers" \
      staged_inspect --dir "$root$providerdir"
  fi
fi
check "header include/tether-1/tether/tether-counter.h (the counter's resource)" \
  test -f "$root$includedir/tether-1/tether/tether-counter.h"

# Every header, program and file the docs name.
while IFS=$'\t' read -r status what why; do
  if [ "$status" = ok ]; then ok "docs: $what"; else not_ok "docs: $what" "$why"; fi
done < <(/usr/bin/python3 "$here/check-doc-files.py" "$source_root" "$build_root" "$root" \
           prefix="$prefix" bindir="$bindir" libdir="$libdir" includedir="$includedir" \
           libexecdir="$libexecdir" providerdir="$providerdir" pcdir="${pcdir#"$root"}")
typelib=$(find "$root" -name 'Tether-1.typelib' | head -n 1)
gir=$(find "$root" -name 'Tether-1.gir' | head -n 1)
if [ -n "$typelib$gir" ]; then
  check "Tether-1.gir is installed" test -n "$gir"
  check "Tether-1.typelib is installed" test -n "$typelib"
fi

override=$(find "$root" -path '*/gi/overrides/Tether.py' | head -n 1)
sanitize=${TETHER_SANITIZE:-none}
san_flags=()
[ "$sanitize" != none ] && san_flags=("-fsanitize=$sanitize")
if [ "$sanitize" = none ] && [ -n "$typelib" ] && [ -n "$override" ] &&
   /usr/bin/python3 -c 'import gi' 2>/dev/null; then
  # Python finds the staged typelib, library and overrides, and the overrides
  # make a manager a context manager.
  out=$(cd "$stage" && GI_TYPELIB_PATH=$(dirname "$typelib") LD_LIBRARY_PATH="$root$libdir" \
        PYTHONPATH=$(dirname "$(dirname "$(dirname "$override")")") /usr/bin/python3 -c '
import gi
gi.require_version("Tether", "1")
from gi.repository import GLib, Tether
context = GLib.MainContext.new()
context.push_thread_default()
with Tether.Manager.new(context, Tether.ManagerFlags.NONE) as manager:
    assert manager.is_active()
assert not manager.is_active()
print(Tether.run_in_new_context(lambda: "ok from the staged install"))
' 2>&1)
  if [ "$out" = "ok from the staged install" ]; then
    ok "PyGObject uses the staged typelib and overrides"
  else
    not_ok "PyGObject uses the staged typelib and overrides" "$out"
  fi
fi

if [ -f "$build_root/docs/tether-1/index.html" ]; then
  check "the API reference is installed (share/doc/tether-1)" \
    test -n "$(find "$root" -path '*/doc/tether-1/index.html' | head -n 1)"
fi

cflags=$(pkgconf --cflags)
libs=$(pkgconf --libs)
check "pkg-config --cflags --libs tether-1 resolves" test -n "$cflags" -a -n "$libs"
# shellcheck disable=SC2086
check "a program compiles and links with pkg-config tether-1 alone" \
  cc -std=gnu11 -Wall -Wextra -Wstrict-prototypes -Werror -Wno-unused-parameter \
     "${san_flags[@]}" -o "$stage/consumer" "$here/consumer.c" $cflags $libs

cat >"$stage/direct.c" <<'C'
#include <tether/tether-template.h>
int main (void) { return 0; }
C
# shellcheck disable=SC2086
if cc -c -o "$stage/direct.o" "$stage/direct.c" $cflags >"$stage/direct.log" 2>&1; then
  not_ok "including a sub-header directly is refused"
elif grep -q "Only <tether/tether.h> can be included directly" "$stage/direct.log"; then
  ok "including a sub-header directly is refused"
else
  not_ok "including a sub-header directly is refused" "$(head -n 5 "$stage/direct.log")"
fi

if [ -x "$stage/consumer" ]; then
  resolved=$(LD_LIBRARY_PATH="$root$libdir" ldd "$stage/consumer" |
             sed -n 's/.*libtether-1.so.0 => \([^ ]*\).*/\1/p')
  check "the program loads the staged libtether-1.so.0" \
    test "$resolved" = "$root$libdir/libtether-1.so.0"
  out=$(LD_LIBRARY_PATH="$root$libdir" "$stage/consumer" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] && grep -q "in scope: resource-1" <<<"$out" &&
     grep -q "consumer: tether $version ok" <<<"$out"; then
    ok "the program runs a scope against the staged library"
  else
    not_ok "the program runs a scope against the staged library" "exit $rc" "$out"
  fi
fi

# The guide, as a reader follows it against the install: its C blocks, the
# module built with its own cc line, checked by tether-inspect, and its
# application built with pkg-config and run against the module.
mkdir -p "$stage/guide" && chmod 0755 "$stage/guide"
if /usr/bin/python3 "$here/extract-guide.py" "$source_root/docs/writing-a-provider.md" \
     "$stage/guide/hello-provider.c" "$stage/guide/app.c" >"$stage/guide.log" 2>&1; then
  build_line=$(grep -m 1 '^cc -shared .* -o hello.so hello-provider.c' "$source_root/docs/writing-a-provider.md")
  # shellcheck disable=SC2086
  check "the guide's module builds with its own command line ($build_line)" \
    env PKG_CONFIG_PATH="$stage/pc" bash -c "cd '$stage/guide' && $build_line"
  if [ -x "$root$bindir/tether-inspect" ] && [ -f "$stage/guide/hello.so" ]; then
    chmod 0755 "$stage/guide/hello.so"
    check "the staged tether-inspect accepts the guide's module" staged_inspect "$stage/guide/hello.so"
  fi
  # shellcheck disable=SC2086
  check "the guide's application builds with pkg-config tether-1" \
    cc -std=gnu11 "${san_flags[@]}" -o "$stage/guide/app" "$stage/guide/app.c" $cflags $libs
  if [ -x "$stage/guide/app" ] && [ -f "$stage/guide/hello.so" ]; then
    out=$(LD_LIBRARY_PATH="$root$libdir" TETHER_PROVIDER_PATH="$stage/guide" "$stage/guide/app" 2>&1)
    if grep -q "hello from context #1" <<<"$out"; then
      ok "the guide's application loads the guide's module and greets"
    else
      not_ok "the guide's application loads the guide's module and greets" "$out"
    fi
  fi
else
  not_ok "the guide's C blocks extract" "$(cat "$stage/guide.log")"
fi

echo "1..$n"
[ $failed -eq 0 ]
