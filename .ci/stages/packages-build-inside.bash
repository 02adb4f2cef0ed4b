# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs inside a fresh root made by 70-debian-packages.sh (chrooted, in the
# clone at /root/tether): builds tether's Debian packages as a packager
# does, then checks them with lintian. Leaves the .debs in /root/debs.
# Prints each step's time; the last line counts the checks:
# "total: N passed, N failed, N skipped".
set -uo pipefail
cd /root/tether

passed=0 failed=0 status=0
export DEBIAN_FRONTEND=noninteractive

say() {
  echo "[$(date -u +%H:%M:%S)] $DISTRO_LABEL: $*"
}
pass() { passed=$((passed + 1)); say "ok: $*"; }
fail() { failed=$((failed + 1)); status=1; say "FAILED: $*"; }

# step LIMIT LOG COMMAND...: runs COMMAND with a time limit, its output
# appended to LOG; says how long it took; returns its status.
step() {
  local limit=$1 log=$2; shift 2
  local start=$SECONDS rc
  timeout --kill-after=30 "$limit" "$@" >>"$log" 2>&1 </dev/null
  rc=$?
  [ "$rc" -eq 124 ] && echo "packages: '$*' did not finish within $limit s" >&2
  say "'$*' exited $rc after $((SECONDS - start)) s"
  return "$rc"
}

finish() {
  echo "total: $passed passed, $failed failed, 0 skipped"
  exit "$status"
}

say "$(. /etc/os-release && echo "$PRETTY_NAME"), commit ${DISTRO_COMMIT:0:12}"

# dpkg need not fsync every file in a root that is thrown away afterwards.
echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/tether-ci-unsafe-io

cp -r packaging/debian debian

apt_get=(apt-get -q -y -o Dpkg::Use-Pty=0 --no-install-recommends)

if step "$DISTRO_APT_TIMEOUT" /tmp/apt.log "${apt_get[@]}" update &&
   step "$DISTRO_APT_TIMEOUT" /tmp/apt.log "${apt_get[@]}" build-dep ./; then
  pass "Build-Depends of debian/control installed ($(dpkg-query -W | wc -l) packages in the root)"
else
  tail -n 30 /tmp/apt.log
  fail "installing the Build-Depends"
  finish
fi
say "GLib $(pkg-config --modversion glib-2.0), gobject-introspection $(pkg-config --modversion gobject-introspection-1.0), meson $(meson --version), debhelper $(dpkg-query -W -f='${Version}' debhelper), valac $(valac --version | cut -d' ' -f2)"

# The package's version is the project's.
changelog_version=$(dpkg-parsechangelog -S Version)
project_version=$(grep -m1 -E "^ *version: '" meson.build | sed -E "s/^ *version: '([^']+)'.*/\1/")
if [ "${changelog_version%-*}" = "$project_version" ]; then
  pass "debian/changelog's version $changelog_version is meson.build's $project_version"
else
  fail "debian/changelog's version $changelog_version is not meson.build's $project_version: add a changelog entry (dch -v $project_version-1)"
fi

# The build, as a packager runs it; dh_auto_test runs the test suite.
export DEB_BUILD_OPTIONS="parallel=2 ${DISTRO_DEB_BUILD_OPTIONS:-}"
say "DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS dpkg-buildpackage -us -uc -b"
if step "$DISTRO_BUILD_TIMEOUT" /tmp/build.log dpkg-buildpackage -us -uc -b; then
  grep -E '^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass): ' /tmp/build.log | tr '\n' ' '; echo
  pass "dpkg-buildpackage -us -uc -b"
else
  tail -n 60 /tmp/build.log
  fail "dpkg-buildpackage -us -uc -b"
  finish
fi
# What dpkg-shlibdeps and dpkg-gensymbols had to say.
grep -E 'dpkg-(shlibdeps|gensymbols|gencontrol): (warning|error)' /tmp/build.log | sort -u | head -20

for deb in ../*.deb; do
  echo "  $(basename "$deb"): $(dpkg-deb -c "$deb" | grep -vc '/$') files, $(du -k "$deb" | cut -f1) KiB"
  dpkg-deb -c "$deb" | awk '$NF !~ /\/$/ {print "      " $NF}' | grep -vE '/usr/share/doc/tether-1/[^/]+\.(html|js|css|png|svg)$' | head -20
done

if step "$DISTRO_APT_TIMEOUT" /tmp/apt.log "${apt_get[@]}" install lintian; then
  say "lintian $(dpkg-query -W -f='${Version}' lintian)"
  step "$DISTRO_LINTIAN_TIMEOUT" /tmp/lintian.log lintian --fail-on error --display-info ../tether_*.changes
  rc=$?
  grep -v '^running with root privileges' /tmp/lintian.log | sort | uniq -c | sort -rn
  errors=$(grep -c '^E: ' /tmp/lintian.log)
  warnings=$(grep -c '^W: ' /tmp/lintian.log)
  infos=$(grep -c '^I: ' /tmp/lintian.log)
  if [ "$rc" -eq 0 ] && [ "$errors" -eq 0 ]; then
    pass "lintian: $errors errors, $warnings warnings, $infos info tags"
  else
    fail "lintian: $errors errors, $warnings warnings, $infos info tags (exit $rc)"
  fi
else
  tail -n 20 /tmp/apt.log
  fail "installing lintian"
fi

mkdir -p /root/debs
cp ../*.deb /root/debs/

finish
