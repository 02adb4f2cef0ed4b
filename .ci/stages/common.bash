# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the sanitizer, valgrind and fuzz stages (sourced, not run: the
# CI runner only runs *.sh). Each stage builds in its own directory under
# the checkout, runs its tests, prints "N passed, N failed, N skipped" last
# and exits non-zero on any failure or sanitizer finding.

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# Installs what a stage needs that is missing (the same list is in
# .ci/extra-packages, so ./dev deps installs it on a fresh machine too).
stage_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "stage: installing ${missing[*]}" >&2
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# stage_setup BUILDDIR MESON-OPTIONS...: configures (or reconfigures with
# the same options) and builds with two jobs.
stage_setup() {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
  else
    rm -rf "$dir"
    meson setup "$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" -j2 >/dev/null || { ninja -C "$dir" -j1 | tail -40; return 1; }
}

# stage_findings BUILDDIR [LOGNAME]: sanitizer or valgrind reports anywhere
# in the test log count as failures even if a test process exited 0 (a
# recovered UBSan report, say). Prints the number found.
stage_findings() {
  local log=$1/meson-logs/${2:-testlog}.txt
  [ -f "$log" ] || { echo 0; return; }
  grep -cE 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|definitely lost: [1-9]|indirectly lost: [1-9]|== Invalid (read|write|free)|uninitialised value' "$log"
}

# stage_report BUILDDIR STATUS [LOGNAME]: prints the closing count line,
# adding one failure for findings that no test reported, and exits. LOGNAME
# is meson's log name: testlog, or testlog-valgrind under --wrap=valgrind.
stage_report() {
  local dir=$1 status=$2 name=${3:-testlog} counts findings p f s
  if [ -f "$dir/meson-logs/$name.json" ]; then
    counts=$(python3 .ci/count-tests.py "$dir/meson-logs/$name.json")
  else
    counts="0 passed, 1 failed, 0 skipped"
    status=1
  fi
  findings=$(stage_findings "$dir" "$name")
  if [ "$findings" -gt 0 ]; then
    echo "stage: $findings sanitizer/valgrind finding line(s) in $dir/meson-logs/$name.txt:" >&2
    grep -nE 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|definitely lost: [1-9]|indirectly lost: [1-9]|== Invalid (read|write|free)|uninitialised value' \
      "$dir/meson-logs/$name.txt" | head -20 >&2
    status=1
  fi
  p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$counts")
  f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$counts")
  s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$counts"); s=${s:-0}
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
  fi
  echo "$p passed, $f failed, $s skipped"
  exit "$status"
}

# A stage whose build fails still ends with a count line.
stage_build_failed() {
  echo "stage: the build failed" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
}
