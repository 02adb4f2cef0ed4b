# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the distribution stages (50-debian13.sh, 60-debian-testing.sh;
# sourced, not run). Each proves tether on one more Debian release the way a
# newcomer meets it: a fresh minimal root made by debootstrap from Debian's
# package mirror, the checkout cloned into it, the README's two quick-start
# commands (`./dev demo`, `./dev test`) run there unchanged, then the TSan
# stage there. Nothing is cached between runs: the root is made anew every
# time and deleted at the end.
#
#   distro_stage SUITE LABEL [DEBOOTSTRAP-SCRIPT]
#
# Its parts serve other stages that work in fresh roots (70-debian-packages.sh):
# distro_host_ready, distro_new_root (debootstrap), distro_new_dir,
# distro_prepare_root, distro_clone_into, distro_enter (run a script in a
# root, in the namespaces) and distro_delete_root; every root made is
# deleted at exit.
#
# Environment (all optional):
#   TETHER_MIRROR       the mirror (default: the host's deb.debian.org)
#   TETHER_ROOT_PARENT  where roots are made (default /var/tmp)
#   TETHER_KEEP_ROOT=1  keep the root for a look after the stage (it is
#                       still unmounted; delete it yourself)
#
# How nothing is left behind, even on failure: every mount of the root is
# made inside a private mount namespace (unshare --mount) with its own PID
# namespace (--pid --fork), so when the stage's process in it ends, for any
# reason, the kernel drops the mounts and kills whatever the tests left
# running there (a dbus-daemon, an Xvfb). The EXIT trap then checks with
# findmnt that nothing is mounted below the root — unmounting lazily what
# is, and refusing to delete the root if anything remains — and deletes it
# with rm --one-file-system.
#
# The stage's log shows the release's GLib (and PyGObject, GTK, gcc, clang,
# meson) versions, each command's own closing line, the sentinel test's
# result and the TSan result; its last line is "N passed, N failed,
# N skipped" over everything that ran in the root.

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

# Per-step limits, in seconds. Measured on the 2-core CI machine shared
# with other work (load ~15): debootstrap 75-146 s, ./dev demo (installing
# ~580 packages, then building) 345 s, ./dev test 41 s, the -Werror builds
# 115 s, TSan 40 s. Each limit is several times that, so only a hang or a
# mirror that stopped answering reaches one.
DISTRO_MIRROR_CHECK_TIMEOUT=30
DISTRO_DEBOOTSTRAP_TIMEOUT=600
DISTRO_CLONE_TIMEOUT=120
DISTRO_DEMO_TIMEOUT=1200
DISTRO_TEST_TIMEOUT=900
DISTRO_TSAN_TIMEOUT=900

distro_log() {
  echo "[$(date -u +%H:%M:%S)] $*"
}

# The stage failed before anything ran in the root.
distro_fail() {
  echo "distro: $*" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
}

# distro_bg LOG COMMAND...: runs COMMAND in the background, its output
# appended to LOG, and waits for it, so that a TERM or INT reaching the
# stage is handled at once (bash runs a trap only after a foreground
# command ends); returns its status. (The redirection is here, not on the
# call: on the call it would also catch the traps' messages.)
distro_bg() {
  local log=$1; shift
  "$@" >> "$log" 2>&1 < /dev/null &
  DISTRO_BG_PID=$!
  wait "$DISTRO_BG_PID"
  local rc=$?
  DISTRO_BG_PID=
  return "$rc"
}

# The TERM/INT trap: stops what distro_bg runs (timeout passes TERM on to
# debootstrap; unshare ignores it, and its KILL takes the namespaces and
# everything in them down through --kill-child), then exits, which runs the
# EXIT trap.
distro_interrupted() {
  local pid=${DISTRO_BG_PID:-} i
  echo "distro: interrupted; stopping and cleaning up" >&2
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  exit 130
}

distro_stop_tail() {
  [ -n "${DISTRO_TAIL_PID:-}" ] || return 0
  kill "$DISTRO_TAIL_PID" 2>/dev/null
  wait "$DISTRO_TAIL_PID" 2>/dev/null
  DISTRO_TAIL_PID=
}

# Lists what is mounted at or below $1 (deepest first).
distro_mounts_below() {
  findmnt -rn -o TARGET | awk -v r="$1" '$0 == r || index($0, r "/") == 1' | sort -r
}

# distro_delete_root ROOT: unmount anything left below ROOT (there should be
# nothing: the mounts live in a namespace that is gone), then delete it only
# if nothing is mounted below it any more.
distro_delete_root() {
  local root=$1 left
  rm -f "$root.log" "$root.debootstrap.log" "$root.tar"
  [ -d "$root" ] || return 0
  left=$(distro_mounts_below "$root")
  if [ -n "$left" ]; then
    echo "distro: still mounted below $root, unmounting:" >&2
    echo "$left" >&2
    while read -r m; do umount -l "$m" 2>/dev/null; done <<<"$left"
    left=$(distro_mounts_below "$root")
  fi
  if [ -n "$left" ]; then
    echo "distro: NOT deleting $root: still mounted: $left" >&2
    return 1
  fi
  if [ "${TETHER_KEEP_ROOT:-0}" = 1 ]; then
    echo "distro: kept $root (TETHER_KEEP_ROOT=1)" >&2
    return 0
  fi
  rm -rf --one-file-system "$root" && echo "distro: unmounted and deleted $root"
}

# Every root (and pristine tarball, ROOT.tar) made by this stage, deleted
# by the EXIT trap if the stage has not deleted it already.
DISTRO_ROOTS=()

# The EXIT trap: deletes every root the stage made.
distro_cleanup() {
  local root status=0
  distro_stop_tail
  for root in "${DISTRO_ROOTS[@]}"; do
    distro_delete_root "$root" || status=1
  done
  DISTRO_ROOTS=()
  return "$status"
}

# distro_mirror_check MIRROR SUITE: the mirror answers for the suite, or a
# message that says so (rather than a debootstrap timeout much later).
distro_mirror_check() {
  local mirror=$1 suite=$2
  python3 - "$mirror/dists/$suite/InRelease" "$DISTRO_MIRROR_CHECK_TIMEOUT" <<'EOF'
import sys, urllib.request
url, timeout = sys.argv[1], float(sys.argv[2])
try:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        head = r.read(4096).decode("utf-8", "replace")
except Exception as e:
    sys.exit(f"distro: the package mirror is unreachable: {url}: {e}\n"
             f"distro: check the network, or set TETHER_MIRROR to a reachable Debian mirror")
for line in head.splitlines():
    if line.startswith(("Suite:", "Codename:", "Date:", "Valid-Until:")):
        print("mirror " + line)
EOF
}

# distro_host_ready: what the host needs to make roots (root, a git
# checkout, debootstrap, unshare); the commit to clone in DISTRO_HEAD. Sets
# the traps that delete every root however the stage ends.
distro_host_ready() {
  [ "$(id -u)" -eq 0 ] || distro_fail "must run as root (debootstrap, chroot, mount)"
  DISTRO_HEAD=$(git rev-parse HEAD 2>/dev/null) || distro_fail "not a git checkout: $PWD"
  stage_packages debootstrap
  command -v debootstrap >/dev/null || distro_fail "debootstrap could not be installed"
  command -v unshare >/dev/null || distro_fail "unshare (util-linux) is missing"
  trap distro_cleanup EXIT
  trap distro_interrupted INT TERM
}

# distro_new_dir SUITE: an empty directory for a root, registered for
# deletion, in DISTRO_ROOT.
distro_new_dir() {
  local parent=${TETHER_ROOT_PARENT:-/var/tmp}
  DISTRO_ROOT=$(mktemp -d "$parent/tether-$1.XXXXXX") || distro_fail "mktemp in $parent failed"
  # mktemp makes it 0700; as the root's "/" that would lock out every user
  # but root in it (apt's _apt, the tests' unprivileged helpers).
  chmod 755 "$DISTRO_ROOT"
  DISTRO_ROOTS+=("$DISTRO_ROOT")
}

# distro_new_root SUITE [DEBOOTSTRAP-SCRIPT]: a fresh minimal root of SUITE
# made by debootstrap, ready for chroot (see distro_prepare_root), in
# DISTRO_ROOT.
distro_new_root() {
  local suite=$1 script=${2:-}
  local mirror=${TETHER_MIRROR:-http://deb.debian.org/debian}

  distro_log "checking the mirror $mirror for $suite"
  distro_mirror_check "$mirror" "$suite" || distro_fail "cannot reach the mirror for $suite"
  distro_new_dir "$suite"

  # A script name debootstrap lacks (Debian 12's has no "forky") is given
  # as the script of a suite it has: the sid script serves testing.
  [ -n "$script" ] && script=/usr/share/debootstrap/scripts/$script
  distro_log "debootstrap --variant=minbase $suite $DISTRO_ROOT $mirror ${script:+$script}"
  # debootstrap mounts /proc and /sys in the root while it installs; in a
  # private mount namespace those go away even if it is killed half-way.
  if ! distro_bg "$DISTRO_ROOT.debootstrap.log" unshare --mount --propagation private \
         timeout "$DISTRO_DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase \
         "$suite" "$DISTRO_ROOT" "$mirror" ${script:+"$script"}; then
    tail -20 "$DISTRO_ROOT.debootstrap.log" >&2
    [ -f "$DISTRO_ROOT/debootstrap/debootstrap.log" ] && tail -20 "$DISTRO_ROOT/debootstrap/debootstrap.log" >&2
    rm -f "$DISTRO_ROOT.debootstrap.log"
    distro_fail "debootstrap of $suite failed or took over $DISTRO_DEBOOTSTRAP_TIMEOUT s"
  fi
  rm -f "$DISTRO_ROOT.debootstrap.log"
  distro_prepare_root "$DISTRO_ROOT" "$suite"
  distro_log "root made ($(du -sm --one-file-system "$DISTRO_ROOT" | cut -f1) MB)"
}

# distro_prepare_root ROOT SUITE: what a chroot needs and a machine has:
# testing and sid are served as a snapshot whose Release file is past its
# Valid-Until date; services are not started by package scripts (no init
# runs in the root); the name server (debootstrap copies the host's
# resolv.conf; checked here).
distro_prepare_root() {
  local root=$1 suite=$2
  case "$suite" in
    bookworm|trixie) ;;
    *) echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99tether-ci-snapshot" ;;
  esac
  printf '#!/bin/sh\n# tether CI: no services are started in this root\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  [ -s "$root/etc/resolv.conf" ] || cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# distro_clone_into ROOT: the checkout, at DISTRO_HEAD, in ROOT/root/tether.
distro_clone_into() {
  local root=$1
  distro_log "git clone $PWD into the root (commit $DISTRO_HEAD)"
  timeout "$DISTRO_CLONE_TIMEOUT" git clone -q --no-hardlinks "$PWD" "$root/root/tether" \
    && git -C "$root/root/tether" checkout -q --detach "$DISTRO_HEAD" \
    || distro_fail "git clone into the root failed"
}

# distro_enter ROOT SCRIPT: runs SCRIPT (a path inside ROOT) with bash in
# ROOT, in the namespaces (see distro-enter.bash), with the exported
# DISTRO_* variables and nothing else of this environment. Its output goes
# to ROOT.log, shown as it comes by tail; returns its status.
distro_enter() {
  local root=$1 script=$2 status
  : > "$root.log"
  tail -n +1 -f "$root.log" &
  DISTRO_TAIL_PID=$!
  distro_bg "$root.log" unshare --mount --propagation private --pid --fork --kill-child \
    bash "$(dirname "${BASH_SOURCE[0]}")/distro-enter.bash" "$root" "$script"
  status=$?
  sleep 1   # tail polls once a second
  distro_stop_tail
  return "$status"
}

distro_stage() {
  local suite=$1 label=$2 script=${3:-}
  local start=$SECONDS

  distro_host_ready
  distro_log "$label ($suite)"
  distro_new_root "$suite" "$script"
  distro_log "debootstrap took $((SECONDS - start)) s"
  distro_clone_into "$DISTRO_ROOT"

  # Everything in the root runs inside the namespaces; the per-step limits
  # are passed in.
  local status=0 root=$DISTRO_ROOT
  export DISTRO_LABEL=$label DISTRO_SUITE=$suite DISTRO_COMMIT=$DISTRO_HEAD \
    DISTRO_DEMO_TIMEOUT DISTRO_TEST_TIMEOUT DISTRO_TSAN_TIMEOUT
  distro_enter "$root" /root/tether/.ci/stages/distro-inside.bash
  status=$?

  local counts
  counts=$(sed -nE 's/^total: ([0-9]+ passed, [0-9]+ failed.*)/\1/p' "$root.log" | tail -n 1)
  distro_cleanup || status=1
  distro_log "$label: stage took $((SECONDS - start)) s"
  if [ -z "$counts" ]; then
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
  fi
  # A failure the count does not show (a step's exit status, a root that
  # could not be deleted) still counts as one.
  if [ "$status" -ne 0 ] && grep -qE ', 0 failed' <<<"$counts"; then
    counts=$(sed -E 's/, 0 failed/, 1 failed/' <<<"$counts")
  fi
  echo "$counts"
  exit "$status"
}
