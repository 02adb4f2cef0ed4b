/* tether-lock.c: the state lock (rules in tether-lock-private.h)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-lock-private.h"

TetherMutex _tether_state_lock = TETHER_MUTEX_INIT;
