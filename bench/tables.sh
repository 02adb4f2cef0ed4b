#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prints the Markdown tables of docs/performance.md from the summary
# bench/run.sh wrote. Each cell: the median of the per-run medians, then the
# lowest and highest per-run median.
#
#   bench/tables.sh RESULTS_DIR
set -euo pipefail

results=${1:?usage: bench/tables.sh RESULTS_DIR}
summary="$results/summary.tsv"
[ -f "$summary" ] || { echo "$summary not found; run bench/run.sh first" >&2; exit 2; }

# cell BENCHMARK CASE METRIC DECIMALS
cell() {
  awk -F'\t' -v b="$1" -v c="$2" -v m="$3" -v d="$4" '
    $1 == b && $2 == c && $3 == m { printf "%.*f (%.*f–%.*f)", d, $4, d, $5, d, $6; found = 1 }
    END { if (!found) printf "n/a" }' "$summary"
}

echo "### Hit path"
echo
echo "| threads | variant | ns/op | × g_private_get | faster than mutex+hash |"
echo "|---|---|---|---|---|"
for t in 1 2 8; do
  for v in "tether-explicit:tether_template_acquire (t, ctx)" \
           "tether-default:tether_template_acquire (t, NULL)" \
           "mutex-hash:GMutex + GHashTable lookup" \
           "private:g_private_get" \
           "get-thread-default:g_main_context_get_thread_default" \
           "mutex-hash-default:get_thread_default + GMutex + hash"; do
    key=${v%%:*}; name=${v#*:}
    echo "| $t | \`$name\` | $(cell hit-path "$key/$t" ns_per_op 2) | $(cell hit-path "$key/$t" x_private 2) | $(cell hit-path "$key/$t" faster_than_mutex 2) |"
  done
done
if grep -q 'clean_rounds' "$summary"; then
  echo
  echo "Rounds no other process disturbed, of 15 per run (median, lowest–highest over runs):" \
    "1 thread $(cell hit-path private/1 clean_rounds 0)," \
    "2 threads $(cell hit-path private/2 clean_rounds 0)," \
    "8 threads $(cell hit-path private/8 clean_rounds 0)." \
    "A run with fewer than 3 uses all its rounds."
fi
echo

# manager_table GROUP TITLE: bench-manager's table of one group.
manager_table() {
  echo "### $2"
  echo
  echo "| templates | tether µs/cycle | per-template caches µs/cycle | tether / per-template | one table µs/cycle | tether / one table |"
  echo "|---|---|---|---|---|---|"
  for k in 1 16 64; do
    echo "| $k | $(cell "$1" "$k" tether_us 3) | $(cell "$1" "$k" per_template_us 3) | $(cell "$1" "$k" per_template_ratio 2) | $(cell "$1" "$k" baseline_us 3) | $(cell "$1" "$k" ratio 1) |"
  done
  echo
}

manager_table manager "Manager cycle"
echo "One CLOCK_MONOTONIC read, in the same runs: $(cell manager clock clock_read_ns 1) ns;" \
  "each provider acquire reads it once, for the stats' acquire times."
echo
# bench/run.sh also runs it with the acquire timing off.
if grep -q "manager-untimed" "$summary"; then
  manager_table manager-untimed "Manager cycle, acquire timing off (TETHER_ACQUIRE_TIMING=0)"
fi

echo "### Cold path and purge (ns per context)"
echo
echo "| phase | N = 1,000 | N = 10,000 | N = 100,000 |"
echo "|---|---|---|---|"
for p in "first-acquire:first acquire (tether)" \
         "baseline-insert:hand-written: lock + insert" \
         "baseline-sentinel:hand-written: insert + sentinel source" \
         "death:death: last unref (tether)" \
         "bare-unref:unref of a context tether never saw" \
         "purge:tether_purge (release of the queue)" \
         "death-purge:death + purge (tether)"; do
  key=${p%%:*}; name=${p#*:}
  echo "| $name | $(cell purge "$key/1000" ns_per_context 0) | $(cell purge "$key/10000" ns_per_context 0) | $(cell purge "$key/100000" ns_per_context 0) |"
done
echo

echo "### Memory (bytes)"
echo
echo "| measure | bytes |"
echo "|---|---|"
echo "| per live entry, all in (mallinfo2) | $(cell memory per-entry bytes 1) |"
echo "| per extra entry, templates 2–16 | $(cell memory per-extra-entry bytes 1) |"
echo "| per context, once | $(cell memory per-context bytes 1) |"
echo "| per live entry, RSS delta | $(cell memory per-entry-rss bytes 1) |"
echo

if grep -q '^loader' "$summary"; then
  echo "### Plugin loading (µs)"
  echo
  echo "| modules | tether | GModule alone |"
  echo "|---|---|---|"
  for n in 1 50; do
    echo "| $n | $(cell loader "tether/$n" us 0) | $(cell loader "gmodule/$n" us 0) |"
  done
  echo
fi
