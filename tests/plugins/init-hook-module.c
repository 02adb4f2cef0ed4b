/* init-hook-module.c: a provider whose init calls back into the test
 * program (scopes_test_init_hook(), found with dlsym), which waits for
 * another thread's tether_load_provider(). It proves that init runs with no
 * lock of tether's held.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <dlfcn.h>

#include <tether/tether.h>

static gpointer
hook_acquire (GMainContext  *context,
              gpointer       provider_data,
              GError       **error)
{
  return g_strdup ("hooked");
}

static void
hook_release (gpointer      resource,
              GMainContext *context,
              gboolean      graceful,
              gpointer      provider_data)
{
  g_free (resource);
}

static gpointer
hook_init (GKeyFile    *config,
           const char  *group,
           GError     **error)
{
  gboolean (*hook) (void) = (gboolean (*) (void)) dlsym (RTLD_DEFAULT, "scopes_test_init_hook");

  if (hook == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED,
                   "scopes_test_init_hook() is not in the program");
      return NULL;
    }
  if (!hook ())
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED,
                   "another thread's tether_load_provider() did not finish while init ran");
      return NULL;
    }
  return GINT_TO_POINTER (1);
}

static const TetherProvider init_hook_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "init-hook",
  .description = "calls the test program from its init",
  .acquire = hook_acquire,
  .release = hook_release,
  .init = hook_init,
};

TETHER_DEFINE_PROVIDER (init_hook_provider)
