#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The hit path with tether's debug log off and on: callgrind instructions
# per hit must be the same (a hit neither logs nor counts), and the same as
# another build's, e.g. one without the logging code, when given.
#
#   bench/callgrind-logging.sh [BUILD_DIR] [ITERATIONS] [BASELINE_BUILD_DIR]
#
# Prints the two tether rows of bench/callgrind-hit-path.sh for each run and
# exits 1 if any differs from the first.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-bench}
iterations=${2:-100000}
baseline_dir=${3:-}

rows() {
  # $1: label, $2: build dir; the rest: environment assignments
  local label=$1 dir=$2
  shift 2
  env "$@" bench/callgrind-hit-path.sh "$dir" "$iterations" |
    awk -v label="$label" '/^tether_template_acquire/ {
      printf "%s|%s %s %s|%s\n", label, $1, $2, $3, $4 }'
}

{
  if [ -n "$baseline_dir" ]; then
    rows "baseline ($baseline_dir)" "$baseline_dir" -u G_MESSAGES_DEBUG
  fi
  rows "log off" "$build_dir" -u G_MESSAGES_DEBUG
  rows "log on (G_MESSAGES_DEBUG)" "$build_dir" G_MESSAGES_DEBUG=Tether
} >"${TMPDIR:-/tmp}/callgrind-logging.$$"

echo "Hit path, instructions per call under callgrind ($iterations calls each):"
awk -F'|' '{ printf "  %-34s %-36s %8s\n", $1, $2, $3 }' "${TMPDIR:-/tmp}/callgrind-logging.$$"
# Each variant must count the same in every run.
awk -F'|' '{ if (($2 in first) && first[$2] != $3) bad = 1; if (!($2 in first)) first[$2] = $3 }
     END { exit bad }' "${TMPDIR:-/tmp}/callgrind-logging.$$" && status=0 || status=1
rm -f "${TMPDIR:-/tmp}/callgrind-logging.$$"
if [ "$status" -ne 0 ]; then
  echo "DIFFERENT: the hit path's cost depends on the build or the log" >&2
else
  echo "same in every run"
fi
exit "$status"
