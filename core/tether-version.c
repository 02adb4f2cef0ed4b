/* tether-version.c: the version of the library a program runs against
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether.h"

/**
 * tether_get_major_version:
 *
 * Gets the major version of the tether library the program runs against,
 * which may differ from %TETHER_MAJOR_VERSION, the version of the headers
 * it was compiled with. Callable from any thread.
 *
 * Returns: the major version of the running library
 *
 * Since: 0.2
 */
guint
tether_get_major_version (void)
{
  return TETHER_MAJOR_VERSION;
}

/**
 * tether_get_minor_version:
 *
 * Gets the minor version of the tether library the program runs against,
 * which may differ from %TETHER_MINOR_VERSION, the version of the headers
 * it was compiled with. Callable from any thread.
 *
 * Returns: the minor version of the running library
 *
 * Since: 0.2
 */
guint
tether_get_minor_version (void)
{
  return TETHER_MINOR_VERSION;
}

/**
 * tether_get_micro_version:
 *
 * Gets the micro version of the tether library the program runs against,
 * which may differ from %TETHER_MICRO_VERSION, the version of the headers
 * it was compiled with. Callable from any thread.
 *
 * Returns: the micro version of the running library
 *
 * Since: 0.2
 */
guint
tether_get_micro_version (void)
{
  return TETHER_MICRO_VERSION;
}

/**
 * tether_check_version:
 * @required_major: the major version required
 * @required_minor: the minor version required
 * @required_micro: the micro version required
 *
 * Checks that the tether library the program runs against is compatible
 * with the given version: it has the same major version and is at least
 * @required_major.@required_minor.@required_micro. Compare
 * [func@Tether.CHECK_VERSION], which checks the headers at compile time.
 * Callable from any thread.
 *
 * Returns: (nullable): %NULL when the library is compatible, otherwise a
 *   static string (do not free it) saying what does not match
 *
 * Since: 0.2
 */
const char *
tether_check_version (guint required_major,
                      guint required_minor,
                      guint required_micro)
{
  if (required_major != TETHER_MAJOR_VERSION)
    return required_major > TETHER_MAJOR_VERSION
           ? "tether version too old (major mismatch)"
           : "tether version too new (major mismatch)";
  if (required_minor > TETHER_MINOR_VERSION)
    return "tether version too old (minor mismatch)";
  if (required_minor == TETHER_MINOR_VERSION && required_micro > TETHER_MICRO_VERSION)
    return "tether version too old (micro mismatch)";
  return NULL;
}
