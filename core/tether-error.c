/* tether-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether.h"

/**
 * tether_error_quark:
 *
 * Gets the quark of the %TETHER_ERROR domain. Callable from any thread.
 *
 * Returns: the error domain quark
 */
G_DEFINE_QUARK (tether-error-quark, tether_error)
