#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Draws the figures of docs/performance.md from the summary bench/run.sh
# wrote: hit-path ns/op against thread count, and purge time per dead
# context against N. Needs gnuplot (Debian: gnuplot-nox).
#
#   bench/plot.sh RESULTS_DIR [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

results=${1:?usage: bench/plot.sh RESULTS_DIR [OUTPUT_DIR]}
out=${2:-docs}
summary="$results/summary.tsv"

if ! command -v gnuplot >/dev/null; then
  echo "gnuplot is not installed (Debian package: gnuplot-nox)" >&2
  exit 2
fi
[ -f "$summary" ] || { echo "$summary not found; run bench/run.sh first" >&2; exit 2; }
mkdir -p "$out"

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

# One data file per series: x, median, min, max.
series() {
  local benchmark=$1 prefix=$2 metric=$3 file=$4
  awk -F'\t' -v b="$benchmark" -v p="$prefix/" -v m="$metric" '
    $1 == b && $3 == m && index($2, p) == 1 {
      x = substr($2, length(p) + 1); print x "\t" $4 "\t" $5 "\t" $6
    }' "$summary" | sort -g >"$data/$file"
  [ -s "$data/$file" ] || { echo "no data for $benchmark $prefix $metric" >&2; exit 1; }
}

series hit-path tether-explicit ns_per_op explicit
series hit-path tether-default ns_per_op default
series hit-path mutex-hash ns_per_op mutex
series hit-path private ns_per_op private

series purge death-purge ns_per_context death-purge
series purge death ns_per_context death
series purge purge ns_per_context purge
series purge bare-unref ns_per_context bare-unref
series purge first-acquire ns_per_context first-acquire

# What tether adds per dead context: its death overhead plus the purge,
# the figure the 1 us target is about (medians only).
paste "$data/death" "$data/bare-unref" "$data/purge" |
  awk -F'\t' '{ print $1 "\t" ($2 - $6 + $10) }' >"$data/tether-share"

machine=$(sed -n 's/^cpu: //p' "$results/machine.txt" 2>/dev/null || true)
cores=$(sed -n 's/^cores: //p' "$results/machine.txt" 2>/dev/null || true)

gnuplot <<GNUPLOT
set terminal pngcairo size 900,560 font "Sans,11"
set datafile separator "\t"
set grid ytics mytics lc rgb "#dddddd"
set key top left box opaque
set border 3
set tics nomirror

set output "$out/performance-hit-path.png"
set title "Hit path: ns per call against threads ($cores cores, $machine)\nmedian of runs, bars: lowest and highest run median"
set xlabel "threads (8 threads on $cores cores: core time per call)"
set ylabel "ns per call (log scale)"
set logscale y
set yrange [1:200]
set xrange [0.5:9]
set xtics ("1" 1, "2" 2, "8" 8)
plot "$data/mutex" using 1:2:3:4 with yerrorlines lw 2 pt 5 lc rgb "#c0392b" title "GMutex + GHashTable lookup", \
     "$data/default" using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#2980b9" title "tether\\\\_template\\\\_acquire (t, NULL)", \
     "$data/explicit" using 1:2:3:4 with yerrorlines lw 2 pt 9 lc rgb "#27ae60" title "tether\\\\_template\\\\_acquire (t, ctx)", \
     "$data/private" using 1:2:3:4 with yerrorlines lw 2 pt 13 lc rgb "#7f8c8d" title "g\\\\_private\\\\_get (the floor)"

set output "$out/performance-purge.png"
set title "Per context, against the number of contexts N (one template)\nmedian of runs, bars: lowest and highest run median; flat = linear in N"
set xlabel "N contexts (log scale)"
set ylabel "ns per context (log scale)"
set logscale xy
set xrange [700:140000]
set yrange [30:300000]
set xtics ("1,000" 1000, "10,000" 10000, "100,000" 100000)
set key top left
plot "$data/tether-share" using 1:2 with linespoints lw 3 pt 7 ps 1.3 lc rgb "#000000" title "tether's share: death - bare unref + purge", \
     1000 with lines dt 2 lw 2 lc rgb "#000000" title "target: 1 us per dead entry", \
     "$data/death-purge" using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#c0392b" title "death + tether\\\\_purge", \
     "$data/purge" using 1:2:3:4 with yerrorlines lw 2 pt 5 lc rgb "#e67e22" title "tether\\\\_purge (release of the queue)", \
     "$data/death" using 1:2:3:4 with yerrorlines lw 2 pt 9 lc rgb "#8e44ad" title "death: last g\\\\_main\\\\_context\\\\_unref", \
     "$data/bare-unref" using 1:2:3:4 with yerrorlines lw 2 pt 13 lc rgb "#7f8c8d" title "unref of a context tether never saw", \
     "$data/first-acquire" using 1:2:3:4 with yerrorlines lw 2 pt 11 lc rgb "#27ae60" title "first acquire (cold path)"
GNUPLOT

echo "Wrote $out/performance-hit-path.png and $out/performance-purge.png" >&2
