# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs inside a fresh root made by distro-root.bash (chrooted, in the
# clone at /root/tether): what a newcomer on that release does — the
# README's two quick-start commands, unchanged — then what CI adds there:
# the sentinel check, the -Werror builds of the library and its providers
# with gcc and clang, and the TSan stage. Prints the release's versions and
# each step's own closing line; the last line counts everything:
# "total: N passed, N failed, N skipped".
set -uo pipefail
cd /root/tether

passed=0 failed=0 skipped=0 status=0
step_log=/tmp/tether-step.log

say() {
  echo "[$(date -u +%H:%M:%S)] $DISTRO_LABEL: $*"
}

# add_counts: adds the last "N passed, N failed[, N skipped]" line of the
# step's output (one failure when there is none) and keeps it in $counts.
add_counts() {
  local p f s
  counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$step_log" | tail -n 1)
  if [ -z "$counts" ]; then
    failed=$((failed + 1))
    counts="(no count line: counted as 1 failed)"
    return
  fi
  p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$counts")
  f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$counts")
  s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$counts")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

# run_step LIMIT COMMAND...: runs COMMAND with a time limit, its output
# shown and kept in $step_log; returns its status (124: limit reached).
run_step() {
  local limit=$1; shift
  local start=$SECONDS rc
  timeout --kill-after=30 "$limit" "$@" 2>&1 | tee "$step_log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "distro: '$*' did not finish within $limit s" >&2
  fi
  say "'$*' exited $rc after $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || status=1
  return "$rc"
}

say "$(. /etc/os-release && echo "$PRETTY_NAME"), commit ${DISTRO_COMMIT:0:12}"

# 1. The README's first command. Installs every package tether needs
# (from ./dev and .ci/extra-packages: nothing else is installed here).
say "./dev demo"
if run_step "$DISTRO_DEMO_TIMEOUT" ./dev demo; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi
say "./dev demo closing line: $(tail -n 1 "$step_log")"

# The versions this release brings (the demo installed them).
ver_py() { python3 -c "import gi; print(gi.__version__)" 2>/dev/null || echo none; }
ver_pc() { pkg-config --modversion "$1" 2>/dev/null || echo none; }
ver_cc() { "$1" --version 2>/dev/null | head -n 1 || echo none; }
say "GLib $(ver_pc glib-2.0), PyGObject $(ver_py), GTK $(ver_pc gtk4), libsoup $(ver_pc libsoup-3.0), meson $(meson --version 2>/dev/null || echo none)"
say "gcc: $(ver_cc gcc)"
say "clang: $(ver_cc clang)"

# 2. The README's second command.
say "./dev test"
run_step "$DISTRO_TEST_TIMEOUT" ./dev test
add_counts
say "./dev test closing line: $counts"

# 3. The sentinel: the context's destroy notify must run inside its last
# unref, before the memory can be reused; test-purge's reused-address case
# must have run and passed, not skipped (see .ci/check-sentinel.py).
python3 .ci/check-sentinel.py build/meson-logs/testlog.json > "$step_log" 2>&1 || status=1
cat "$step_log"
add_counts
say "sentinel closing line: $counts"

# 4. The library and its providers with every warning an error, gcc and
# clang.
say "bash .ci/stages/45-warnings.sh"
run_step "$DISTRO_TEST_TIMEOUT" bash .ci/stages/45-warnings.sh
add_counts
say "warnings closing line: $counts"

# 5. The TSan stage, as on the CI machine.
say "bash .ci/stages/20-tsan.sh"
run_step "$DISTRO_TSAN_TIMEOUT" bash .ci/stages/20-tsan.sh
add_counts
say "TSan closing line: $counts"

echo "total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit "$status"
