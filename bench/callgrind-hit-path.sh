#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Instructions per hit-path call, counted by callgrind: repeatable where wall
# time is not (same binary, same count on every run and on any machine load).
#
#   bench/callgrind-hit-path.sh [BUILD_DIR] [ITERATIONS]
#
# Runs bench-hit-path under valgrind --tool=callgrind in its --callgrind mode:
# one thread, its context pushed and its resource held, each variant called
# ITERATIONS times between a CALLGRIND_ZERO_STATS and a CALLGRIND_DUMP_STATS_AT
# named after it. Prints instructions (Ir) per call, gross (loop and call
# included) and net of an empty loop that makes one out-of-line call, and the
# ratios of tether's variants to the baselines.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-bench}
iterations=${2:-100000}
exe="$build_dir/bench/bench-hit-path"

if ! command -v valgrind >/dev/null; then
  echo "valgrind is not installed (Debian package: valgrind)" >&2
  exit 2
fi
if [ ! -x "$exe" ]; then
  echo "$exe not found; build first: ninja -C $build_dir" >&2
  exit 2
fi

out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT

G_SLICE=always-malloc TETHER_UNMANAGED_WARNING=0 \
  valgrind --tool=callgrind --quiet --dump-instr=no --dump-line=no \
    --callgrind-out-file="$out_dir/callgrind.out.%p" \
    "$exe" --callgrind="$iterations" >"$out_dir/stdout" 2>"$out_dir/stderr" || {
  cat "$out_dir/stderr" >&2
  exit 1
}

# Each dump: "desc: Trigger: Client Request: variant=KEY iterations=N" and
# "totals: IR" (older valgrind writes "summary:").
for f in "$out_dir"/callgrind.out.*; do
  awk '
    /^desc: Trigger: Client Request: variant=/ {
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^variant=/)    { sub(/^variant=/, "", $i); key = $i }
        if ($i ~ /^iterations=/) { sub(/^iterations=/, "", $i); n = $i }
      }
    }
    /^(totals|summary):/ { ir = $2 }
    END { if (key != "") printf "%s %s %s\n", key, n, ir }
  ' "$f"
done | sort >"$out_dir/counts"

if [ "$(wc -l <"$out_dir/counts")" -lt 7 ]; then
  echo "callgrind produced $(wc -l <"$out_dir/counts") of 7 dumps" >&2
  cat "$out_dir/stderr" >&2
  exit 1
fi

valgrind_version=$(valgrind --version)
echo "Hit path, instructions per call under callgrind ($valgrind_version, $iterations calls each, 1 thread)"
echo "binary: $exe"
echo
awk '
  { key[NR] = $1; per[$1] = $3 / $2 }
  END {
    empty = per["empty"]
    names["tether-explicit"] = "tether_template_acquire (t, ctx)"
    names["tether-default"] = "tether_template_acquire (t, NULL)"
    names["mutex-hash"] = "GMutex + GHashTable lookup"
    names["private"] = "g_private_get"
    names["get-thread-default"] = "g_main_context_get_thread_default"
    names["mutex-hash-default"] = "get_thread_default + GMutex + hash"
    names["empty"] = "empty loop (one call)"
    order[1] = "tether-explicit"; order[2] = "tether-default"; order[3] = "mutex-hash"
    order[4] = "private"; order[5] = "get-thread-default"; order[6] = "mutex-hash-default"
    order[7] = "empty"
    printf "%-36s %10s %10s %16s %16s\n", "variant", "Ir/call", "net Ir", "net x private", "mutex / net"
    for (i = 1; i <= 7; i++) {
      k = order[i]; net = per[k] - empty
      if (k == "empty")
        printf "%-36s %10.1f %10s %16s %16s\n", names[k], per[k], "-", "-", "-"
      else
        printf "%-36s %10.1f %10.1f %15.2fx %15.2fx\n", names[k], per[k], net,
               net / (per["private"] - empty), (per["mutex-hash"] - empty) / net
    }
  }
' "$out_dir/counts"
