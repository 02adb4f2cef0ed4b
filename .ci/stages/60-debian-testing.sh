#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: tether on Debian testing (forky) from a fresh root, as
# 50-debian13.sh does for Debian 13 (gcc 16, clang 21 there). Debian 12's
# debootstrap has no "forky" script; the sid script serves testing. The
# mirror serves testing as a snapshot past its Valid-Until date, which
# distro-root.bash tells apt in the root to accept.
#
#   bash .ci/stages/60-debian-testing.sh
source "$(dirname "$0")/distro-root.bash"
distro_stage forky "Debian testing" sid
