/* tether-error.c
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
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
GQuark
tether_error_quark (void)
{
  /* G_DEFINE_QUARK's plain static is a benign race that ThreadSanitizer
   * reports (threads racing to create the first error); an atomic is not. */
  static gint quark;   /* atomic */
  GQuark value = (GQuark) g_atomic_int_get (&quark);

  if (G_UNLIKELY (value == 0))
    {
      value = g_quark_from_static_string ("tether-error-quark");
      g_atomic_int_set (&quark, (gint) value);
    }

  return value;
}
