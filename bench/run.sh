#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs every benchmark RUNS times and the callgrind count once, keeps the
# tables, and writes summary.tsv: for each figure, the median of the per-run
# medians and the lowest and highest per-run median (the run-to-run spread).
#
#   bench/run.sh [BUILD_DIR] [OUT_DIR] [RUNS]
#
# Before each hit-path run it waits up to QUIET_WAIT seconds (default 60)
# for the machine to be 85% idle. Then bench/plot.sh OUT_DIR draws
# docs/performance-*.png from summary.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-bench}
out_dir=${2:-$build_dir/bench-results}
runs=${3:-3}

mkdir -p "$out_dir"
rm -f "$out_dir"/*.tsv "$out_dir"/*.txt

export G_SLICE=always-malloc TETHER_UNMANAGED_WARNING=0

benchmarks=(bench-hit-path bench-manager bench-purge bench-memory)
[ -x "$build_dir/bench/bench-loader" ] && benchmarks+=(bench-loader)

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cores: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "cpu MHz: $(grep -m1 'cpu MHz' /proc/cpuinfo | sed 's/.*: //')"
  echo "kernel: $(uname -r)"
  echo "glib: $(pkg-config --modversion glib-2.0)"
  echo "compiler: $(cc --version | head -n1)"
  echo "buildtype: $(meson introspect --buildoptions "$build_dir" 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))' 2>/dev/null || echo unknown)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "busiest processes at start:"
  # The second of two samples: top's first one averages since boot.
  top -bn2 -d 0.5 -o %CPU 2>/dev/null | awk '/^top -/ { n++ } n == 2' | sed -n '8,12p' | sed 's/^/  /'
} >"$out_dir/machine.txt"

# Waits (at most QUIET_WAIT seconds, default 60) until the machine is at
# least 85% idle over one second: on a shared machine the multi-threaded
# figures mean little while other work holds a core.
wait_for_quiet() {
  local deadline=$((SECONDS + ${QUIET_WAIT:-60}))
  while [ $SECONDS -lt $deadline ]; do
    local a b
    a=$(head -n1 /proc/stat); sleep 1; b=$(head -n1 /proc/stat)
    if awk -v a="$a" -v b="$b" 'BEGIN {
          split(a, x); split(b, y); total = 0; idle = 0
          for (i = 2; i <= 9; i++) total += y[i] - x[i]
          idle = (y[5] - x[5]) + (y[6] - x[6])
          exit !(total > 0 && idle / total >= 0.85) }'; then
      return 0
    fi
  done
  echo "   (the machine did not become quiet within ${QUIET_WAIT:-60} s; measuring anyway)" >&2
}

for run in $(seq 1 "$runs"); do
  for b in "${benchmarks[@]}"; do
    [ "$b" = bench-hit-path ] && wait_for_quiet
    echo "== $b, run $run of $runs: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >"$out_dir/$b-$run.txt"
    "$build_dir/bench/$b" --tsv "$out_dir/$b-$run.tsv" >>"$out_dir/$b-$run.txt"
    if [ "$b" = bench-manager ]; then
      # What the acquire timing costs: the same cycle without it.
      TETHER_ACQUIRE_TIMING=0 "$build_dir/bench/$b" --tsv "$out_dir/$b-untimed-$run.tsv" \
        >"$out_dir/$b-untimed-$run.txt"
    fi
  done
done

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out_dir/machine.txt"

if command -v valgrind >/dev/null; then
  bench/callgrind-hit-path.sh "$build_dir" >"$out_dir/callgrind-hit-path.txt"
fi

# summary.tsv: benchmark case metric median-of-medians min-of-medians max-of-medians runs
tail -q -n +2 "$out_dir"/bench-*-[0-9]*.tsv |
  sort -t$'\t' -k1,1 -k2,2 -k3,3 -k4,4g |
  awk -F'\t' -v OFS='\t' '
    function flush() {
      if (n == 0) return
      med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      print key, med, v[1], v[n], n
    }
    {
      k = $1 OFS $2 OFS $3
      if (k != key) { flush(); key = k; n = 0 }
      v[++n] = $4
    }
    END { flush() }
  ' >"$out_dir/summary.tsv.body"
{ printf 'benchmark\tcase\tmetric\tmedian\tmin\tmax\truns\n'; cat "$out_dir/summary.tsv.body"; } >"$out_dir/summary.tsv"
rm -f "$out_dir/summary.tsv.body"

echo "Results in $out_dir (summary.tsv, one .txt table per run)" >&2
