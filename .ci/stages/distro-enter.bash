# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run by distro-root.bash as PID 1 of a private mount and PID namespace
# (unshare --mount --propagation private --pid --fork): mounts what a
# program in the root needs, then runs a script in the root with chroot
# (distro-inside.bash of the clone, unless another is given). The mounts
# exist only in this namespace: they go away with it, however the stage
# ends.
#
#   bash distro-enter.bash ROOT [SCRIPT]
#
# SCRIPT is a path inside ROOT (default: distro-inside.bash of the clone).
set -uo pipefail
root=$1
script=${2:-/root/tether/.ci/stages/distro-inside.bash}

# /proc for this PID namespace (ps, /proc/self in the tests); /sys; /dev
# and /dev/pts from the host (the tests open /dev/null, /dev/urandom and
# ptys); a fresh /dev/shm (POSIX shared memory and semaphores, used by
# Python and Xvfb).
mount -t proc proc "$root/proc" \
  && mount --bind /sys "$root/sys" \
  && mount --bind /dev "$root/dev" \
  && mount --bind /dev/pts "$root/dev/pts" \
  && mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm" \
  || { echo "distro: mounting /proc, /sys, /dev in $root failed" >&2
       echo "0 passed, 1 failed, 0 skipped"; exit 1; }

# A newcomer's environment: a login shell's variables, nothing of CI's
# (CI=true stays: the stages read it), and the DISTRO_* variables the
# stage exported for the script.
distro_vars=()
while read -r name; do
  distro_vars+=("$name=${!name}")
done < <(compgen -e | grep '^DISTRO_')
exec chroot "$root" /usr/bin/env -i \
  HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  CI="${CI:-}" \
  "${distro_vars[@]}" \
  /bin/bash "$script"
