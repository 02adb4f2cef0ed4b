#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: tether's Debian packages (packaging/debian/), built and installed
# from fresh roots of Debian 12 and Debian 13. For each release:
#
# 1. a minimal root made by debootstrap, kept as a pristine tarball;
# 2. in that root, the checkout cloned, packaging/debian copied to debian/,
#    the Build-Depends installed (apt-get build-dep), `dpkg-buildpackage
#    -us -uc -b` (the symbols file checked with -c4, the test suite run by
#    dh_auto_test), then lintian, which must report no error tag (its
#    warnings are printed);
# 3. a second root unpacked from the tarball, where the .debs are installed
#    with apt-get, and, with no environment variable set: the seed's C
#    example compiled against the installed tether-1.pc and run, the Python
#    example run, tether-inspect run on the installed providers, and the
#    Vala test program compiled against the installed tether-1.vapi and
#    run.
#
# Each step's time is printed; the last line counts every check of both
# releases, "N passed, N failed, N skipped". See distro-root.bash for how
# nothing stays mounted or on disk.
#
#   bash .ci/stages/70-debian-packages.sh [SUITE...]    (default: bookworm trixie)
source "$(dirname "$0")/distro-root.bash"

# Per-step limits in seconds (see distro-root.bash for the others), several
# times the time measured on the 2-core CI machine.
export DISTRO_APT_TIMEOUT=900
export DISTRO_BUILD_TIMEOUT=1500
export DISTRO_LINTIAN_TIMEOUT=600
export DISTRO_RUN_TIMEOUT=120

passed=0 failed=0 skipped=0 status=0

# add_counts LOG: adds the "total: N passed, N failed, N skipped" line of an
# inside script's log (one failure when there is none).
add_counts() {
  local counts p f s
  counts=$(sed -nE 's/^total: ([0-9]+ passed, [0-9]+ failed.*)/\1/p' "$1" | tail -n 1)
  if [ -z "$counts" ]; then
    failed=$((failed + 1))
    return
  fi
  p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$counts")
  f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$counts")
  s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$counts")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

# packages_release SUITE LABEL: the three steps above for one release.
packages_release() {
  local suite=$1 label=$2 start=$SECONDS t build_root install_root
  export DISTRO_LABEL=$label DISTRO_SUITE=$suite DISTRO_COMMIT=$DISTRO_HEAD

  t=$SECONDS
  distro_new_root "$suite"
  build_root=$DISTRO_ROOT
  distro_log "$label: debootstrap took $((SECONDS - t)) s"

  t=$SECONDS
  tar -C "$build_root" -cf "$build_root.tar" . || distro_fail "tar of the pristine root failed"
  distro_log "$label: pristine tarball ($(du -m "$build_root.tar" | cut -f1) MB) took $((SECONDS - t)) s"

  distro_clone_into "$build_root"
  distro_enter "$build_root" /root/tether/.ci/stages/packages-build-inside.bash || status=1
  add_counts "$build_root.log"

  if ! compgen -G "$build_root/root/debs/*.deb" >/dev/null; then
    distro_log "$label: no .debs were built: no install root"
    failed=$((failed + 1)) status=1
    distro_delete_root "$build_root" >/dev/null
    return
  fi

  t=$SECONDS
  distro_new_dir "$suite-install"
  install_root=$DISTRO_ROOT
  tar -C "$install_root" -xf "$build_root.tar" || distro_fail "unpacking the pristine root failed"
  mkdir -p "$install_root/root/debs" "$install_root/root/examples"
  cp "$build_root"/root/debs/*.deb "$install_root/root/debs/"
  # What the install root runs: the examples as a user would copy them from
  # the source, and the script; the packages provide everything else.
  cp "$build_root/root/tether/examples/tether-demo.c" \
     "$build_root/root/tether/bindings/python/tether_example.py" \
     "$build_root/root/tether/bindings/vala/test-tether.vala" \
     "$build_root/root/tether/.ci/stages/packages-install-inside.bash" \
     "$install_root/root/examples/"
  distro_log "$label: fresh install root unpacked, $(ls "$install_root/root/debs" | wc -l) .debs copied, $((SECONDS - t)) s"
  distro_delete_root "$build_root" >/dev/null || status=1

  distro_enter "$install_root" /root/examples/packages-install-inside.bash || status=1
  add_counts "$install_root.log"
  distro_delete_root "$install_root" >/dev/null || status=1
  distro_log "$label: took $((SECONDS - start)) s"
}

distro_host_ready
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm trixie)
for suite in "${suites[@]}"; do
  case "$suite" in
    bookworm) packages_release bookworm "Debian 12" ;;
    trixie) packages_release trixie "Debian 13" ;;
    *) distro_fail "unknown suite $suite (bookworm or trixie)" ;;
  esac
done
distro_cleanup || status=1
distro_log "Debian packages: stage took $SECONDS s"

# A failure the count does not show (a step's exit status, a root that could
# not be deleted) still counts as one.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
