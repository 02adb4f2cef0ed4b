#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: tether on Debian 13 (trixie) from a fresh root: debootstrap
# --variant=minbase from Debian's package mirror, the checkout cloned in,
# `./dev demo` and `./dev test` as the README says, the sentinel check, the
# -Werror builds (gcc 14, clang 19) and the TSan stage, then the root is
# unmounted and deleted. See distro-root.bash.
#
#   bash .ci/stages/50-debian13.sh
source "$(dirname "$0")/distro-root.bash"
distro_stage trixie "Debian 13"
