/* tether-env-private.h: what tether takes from the environment, and when
 * it must not. Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-env-private.h is private to libtether"
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Whether the process runs in secure mode: set-user-ID or set-group-ID,
 * file capabilities, or anything else for which the kernel sets AT_SECURE
 * (getauxval (AT_SECURE), as GLib's g_check_setuid () asks). Then the
 * environment belongs to a less privileged user than the process, and
 * nothing in it may choose a file, a directory or a program. Decided once;
 * callable from any thread. */
gboolean     _tether_env_is_secure_mode   (void);

/* The value of @name, an environment variable that names a file, a
 * directory, a program or a file descriptor, or NULL when it is unset,
 * empty, or the process runs in secure mode. Every such variable tether
 * reads goes through this function (docs/environment.md lists them, and
 * the test docs/environment checks both). Reads the environment at each
 * call, as g_getenv () does. */
const char  *_tether_env_get_path         (const char *name);

/* Whether @name is set (non-empty) but _tether_env_get_path () ignores it
 * because the process runs in secure mode: for saying so, never for using
 * the value. */
gboolean     _tether_env_is_ignored       (const char *name);

G_END_DECLS
