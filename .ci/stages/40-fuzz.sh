#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: the libFuzzer targets in fuzz/ (clang, AddressSanitizer +
# UndefinedBehaviorSanitizer), in build-fuzz: first the corpus kept in the
# repository is replayed (meson suite 'fuzz'), then each target fuzzes for
# FUZZ_SECONDS (default 30) from that corpus. A crash, a sanitizer report or
# a broken invariant fails the stage; the input is saved in
# build-fuzz/fuzz-findings/. New corpus entries go to
# build-fuzz/fuzz-corpus/, never into the repository.
#
# Nothing hides a finding: replays run with -error_exitcode=1 (libFuzzer's
# own code, 77, is a skip to meson), the counts come from meson's log
# (passed, failed and skipped), a replay that skips fails the stage, the
# LeakSanitizer suppressions (fuzz/lsan.supp) name only the sanitizer
# runtime's own allocation, and the canary fuzz-canary-leak-fails (a target
# that leaks on purpose, should_fail) proves a leak still fails a replay.
#
#   bash .ci/stages/40-fuzz.sh
#   FUZZ_SECONDS=600 bash .ci/stages/40-fuzz.sh     # a longer run
source "$(dirname "$0")/common.bash"

BUILD=build-fuzz
SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
stage_packages clang libclang-rt-dev

# Coverage instrumentation for the library as well as the targets; the
# parts that do not feed the fuzzers are not built.
CC=clang stage_setup "$BUILD" -Dfuzzing=enabled \
  -Db_sanitize=address,undefined -Db_lundef=false \
  -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" \
  -Dtests=false -Dexamples=false -Dintrospection=disabled -Ddocumentation=disabled \
  || stage_build_failed

export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:fast_unwind_on_malloc=0
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=1
export G_SLICE=always-malloc

status=0
meson test -C "$BUILD" --no-rebuild --print-errorlogs --suite fuzz || status=$?
counts=$(python3 .ci/count-tests.py "$BUILD/meson-logs/testlog.json")
passed=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$counts")
failed=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$counts")
skipped=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$counts"); skipped=${skipped:-0}
if [ "$skipped" -gt 0 ]; then
  # A replay does not skip: a skip is a finding meson misread.
  echo "stage: $skipped replay(s) reported SKIP (a libFuzzer exit code meson took for a skip):" >&2
  grep -E '^ *[0-9]+/[0-9]+ .* SKIP' "$BUILD/meson-logs/testlog.txt" >&2 || true
  failed=$((failed + skipped))
  status=1
fi

mkdir -p "$BUILD/fuzz-findings"
for target in search-path config provider scan-records; do
  exe=$BUILD/fuzz/fuzz-$target
  work=$BUILD/fuzz-corpus/$target
  mkdir -p "$work"
  echo "=== fuzzing $target for ${SECONDS_PER_TARGET} s"
  # The first directory receives new inputs; the repository's is read only.
  if "$exe" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
       -print_final_stats=1 -artifact_prefix="$BUILD/fuzz-findings/$target-" \
       "$work" "fuzz/corpus/$target" > "$BUILD/fuzz-$target.log" 2>&1; then
    passed=$((passed + 1))
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$BUILD/fuzz-$target.log" | tr '\n' ' '
    echo
  else
    failed=$((failed + 1))
    status=1
    tail -40 "$BUILD/fuzz-$target.log"
  fi
done

echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
