/* consumer.c: a program built against an installed or subproject tether,
 * using only what <tether/tether.h> and pkg-config give it.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <tether/tether.h>

#if !TETHER_CHECK_VERSION (0, 1, 0)
# error "tether.h is older than 0.1.0"
#endif

static int n_live;

static gpointer
counter_acquire (GMainContext  *context,
                 gpointer       provider_data,
                 GError       **error)
{
  n_live++;
  return g_strdup_printf ("resource-%d", n_live);
}

static void
counter_release (gpointer      resource,
                 GMainContext *context,
                 gboolean      graceful,
                 gpointer      provider_data)
{
  n_live--;
  g_free (resource);
}

static const TetherProvider counter_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "consumer-counter",
  .acquire = counter_acquire,
  .release = counter_release,
};

static gboolean
scope (gpointer   user_data,
       GError   **error)
{
  TetherTemplate *template = user_data;
  const char *resource = tether_template_lookup (template, NULL);

  if (resource == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED, "nothing held in scope");
      return FALSE;
    }
  g_print ("in scope: %s\n", resource);
  return TRUE;
}

int
main (void)
{
  g_autoptr(TetherTemplate) template = tether_template_new (&counter_provider, NULL);
  g_autoptr(GError) error = NULL;

  if (!tether_run_in_new_context (scope, template, &error))
    {
      g_printerr ("consumer: %s\n", error->message);
      return 1;
    }
  if (n_live != 0)
    {
      g_printerr ("consumer: %d resources left after the scope\n", n_live);
      return 1;
    }
  g_assert (G_TYPE_IS_ENUM (TETHER_TYPE_ERROR));
  tether_template_unregister (template);
  g_print ("consumer: tether %s ok\n", TETHER_VERSION_S);
  return 0;
}
