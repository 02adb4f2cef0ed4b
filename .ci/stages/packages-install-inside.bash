# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs inside a second fresh root made by 70-debian-packages.sh, which holds
# tether's .debs in /root/debs and, in /root/examples, the seed's C example,
# the Python example and the Vala test program as a user would copy them.
# Installs the packages with apt-get and uses them with no environment
# variable set (env -i): no GI_TYPELIB_PATH, LD_LIBRARY_PATH, PYTHONPATH or
# TETHER_*, not even PATH. Prints each step's time; the last line counts
# the checks: "total: N passed, N failed, N skipped".
set -uo pipefail
cd /root/examples

passed=0 failed=0 status=0
export DEBIAN_FRONTEND=noninteractive

say() {
  echo "[$(date -u +%H:%M:%S)] $DISTRO_LABEL: $*"
}
pass() { passed=$((passed + 1)); say "ok: $*"; }
fail() { failed=$((failed + 1)); status=1; say "FAILED: $*"; }
finish() {
  echo "total: $passed passed, $failed failed, 0 skipped"
  exit "$status"
}

# check NAME COMMAND...: runs COMMAND with a time limit, output shown;
# passes if it exits 0.
check() {
  local name=$1; shift
  local start=$SECONDS rc
  timeout --kill-after=10 "$DISTRO_RUN_TIMEOUT" "$@" >/tmp/check.log 2>&1 </dev/null
  rc=$?
  sed 's/^/    /' /tmp/check.log | tail -n 25
  if [ "$rc" -eq 0 ]; then
    pass "$name ($((SECONDS - start)) s)"
  else
    fail "$name (exit $rc)"
  fi
  return "$rc"
}

say "$(. /etc/os-release && echo "$PRETTY_NAME"): installing $(ls /root/debs | wc -l) packages"
echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/tether-ci-unsafe-io

# The packages, with what building the examples needs: a compiler,
# pkg-config, and the development files of libsoup and json-glib (the
# seed's example fetches JSON with a SoupSession), and valac.
start=$SECONDS
if timeout "$DISTRO_APT_TIMEOUT" apt-get -q -y -o Dpkg::Use-Pty=0 update >/tmp/apt.log 2>&1 &&
   timeout "$DISTRO_APT_TIMEOUT" apt-get -q -y -o Dpkg::Use-Pty=0 --no-install-recommends install \
     /root/debs/*.deb gcc libc6-dev pkgconf libsoup-3.0-dev libjson-glib-dev valac >>/tmp/apt.log 2>&1; then
  pass "apt-get install of the .debs and the examples' tools ($((SECONDS - start)) s)"
else
  tail -n 30 /tmp/apt.log
  fail "apt-get install of the .debs"
  finish
fi
dpkg-query -W 'libtether*' 'gir1.2-tether*' 'python3-tether' 'tether-*' | sed 's/^/    /'

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
version=$(dpkg-query -W -f='${Version}' libtether-1-0)

check "pkg-config --modversion tether-1 is ${version%-*}" \
  sh -c "test \"\$(pkg-config --modversion tether-1)\" = '${version%-*}'"

# The seed's example in C, built against the installed tether-1.pc. It
# loads the soup-session provider from the installed provider directory,
# which runs the installed scanner helper first.
check "the seed's C example builds with pkg-config tether-1 libsoup-3.0 json-glib-1.0" \
  sh -c 'gcc -Wall -o /root/tether-demo tether-demo.c $(pkg-config --cflags --libs tether-1 libsoup-3.0 json-glib-1.0)'
if check "the seed's C example runs with no environment" env -i /root/tether-demo --threads 3; then
  grep -q 'leaked 0' /tmp/check.log && pass "the C example leaked 0 sessions" ||
    fail "the C example's closing line does not say 'leaked 0'"
fi

# The Python example: typelib, overrides and library found where Debian's
# python3, GObject introspection and ld.so look, with nothing set.
check "the Python example runs with no environment" env -i /usr/bin/python3 tether_example.py

check "tether-inspect lists and checks the installed providers" \
  env -i /usr/bin/tether-inspect --dir "/usr/lib/$multiarch/tether-1/providers"

# The Vala test program, against the installed tether-1.vapi.
check "the Vala test program builds with valac --pkg tether-1" \
  valac --pkg tether-1 --pkg gio-2.0 -o /root/test-tether-vala test-tether.vala
[ -x /root/test-tether-vala ] &&
  check "the Vala test program runs with no environment" env -i /root/test-tether-vala --tap

finish
