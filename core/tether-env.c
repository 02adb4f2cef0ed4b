/* tether-env.c: the one place that decides whether the environment may
 * choose a file, a directory or a program
 *
 * A set-user-ID program's environment is written by the user who runs it:
 * a variable naming a file to write, a directory to load code from or a
 * program to run would let that user act with the program's privileges.
 * GIO ignores GIO_MODULE_DIR and its like there; tether does the same for
 * every variable of that kind, here. No lock: the decision is made once
 * and never changes for the life of the process.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "tether-env-private.h"

static gboolean
secure_mode_from_kernel (void)
{
  unsigned long secure;

  errno = 0;
  secure = getauxval (AT_SECURE);
  if (secure != 0)
    return TRUE;
  if (errno != ENOENT)
    return FALSE;

  /* No auxiliary vector entry (not Linux): compare the identities, as
   * g_check_setuid () does where it has nothing better. */
  return getuid () != geteuid () || getgid () != getegid ();
}

gboolean
_tether_env_is_secure_mode (void)
{
  static gsize decided = 0;   /* 1 + the answer, once known */

  if (g_once_init_enter (&decided))
    g_once_init_leave (&decided, 1 + (gsize) secure_mode_from_kernel ());

  return decided == 2;
}

const char *
_tether_env_get_path (const char *name)
{
  const char *value;

  if (_tether_env_is_secure_mode ())
    return NULL;

  value = g_getenv (name);
  return value != NULL && value[0] != '\0' ? value : NULL;
}

gboolean
_tether_env_is_ignored (const char *name)
{
  const char *value;

  if (!_tether_env_is_secure_mode ())
    return FALSE;

  value = g_getenv (name);
  return value != NULL && value[0] != '\0';
}
