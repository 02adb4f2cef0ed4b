/* tether-counter.c: the "counter" provider, and the template to copy
 *
 * A minimal provider module: one small counter per GMainContext. Copy this
 * file to start a new provider; every part a provider needs is here and
 * nothing else.
 *
 * Resource: a `TetherCounter` (below): a serial number unique in the
 * process and a use count the caller may bump.
 *
 * Refs its context: no. The resource only remembers the context's address
 * for messages; it never takes a reference, so it never keeps its context
 * alive (see the core's cycle rule: a resource that refs its context keeps
 * it alive until released).
 *
 * Graceful release (a manager or tether_template_release): frees the
 * counter, on the releasing thread, with the context pushed.
 * Ungraceful release (the context died first; runs in the janitor context
 * or tether_purge, with context == NULL): frees the counter, the same way;
 * it never touches the context.
 *
 * Configuration, group [provider counter]:
 *   start=N   first serial number (default 1)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <tether/tether.h>

/* The resource type. A provider's resource type is its public contract:
 * users of the template cast the gpointer they get back to it, so it lives
 * in a header of its own. */
#include "tether-counter.h"

/* Provider data: what init makes from the configuration, handed to every
 * other function, freed by shutdown. Shared by all threads: atomics only. */
typedef struct
{
  guint64 next_serial;     /* atomic */
  gint    live;            /* atomic: counters acquired and not released */
} CounterData;

static gpointer
counter_init (GKeyFile    *config,
              const char  *group,
              GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  CounterData *data;
  gint64 start = 1;

  if (g_key_file_has_key (config, group, "start", NULL))
    {
      start = g_key_file_get_int64 (config, group, "start", &local_error);
      if (local_error != NULL || start < 0)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "[%s] start must be a non-negative integer", group);
          return NULL;
        }
    }

  data = g_new0 (CounterData, 1);
  data->next_serial = (guint64) start;
  return data;
}

static void
counter_shutdown (gpointer provider_data)
{
  CounterData *data = provider_data;

  if (g_atomic_int_get (&data->live) != 0)
    g_warning ("counter provider shut down with %d counters not released",
               g_atomic_int_get (&data->live));
  g_free (data);
}

static gpointer
counter_acquire (GMainContext  *context,
                 gpointer       provider_data,
                 GError       **error)
{
  CounterData *data = provider_data;
  TetherCounter *counter = g_new0 (TetherCounter, 1);

  counter->serial = __atomic_fetch_add (&data->next_serial, 1, __ATOMIC_RELAXED);
  counter->context = context;
  g_atomic_int_inc (&data->live);

  return counter;
}

static void
counter_release (gpointer      resource,
                 GMainContext *context,
                 gboolean      graceful,
                 gpointer      provider_data)
{
  CounterData *data = provider_data;

  /* Graceful or not, there is nothing to say to the context. */
  g_free (resource);
  g_atomic_int_add (&data->live, -1);
}

static const TetherProvider counter_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "counter",
  .description = "a serial number and a use count per context (the provider to copy)",
  .acquire = counter_acquire,
  .release = counter_release,
  .init = counter_init,
  .shutdown = counter_shutdown,
};

TETHER_DEFINE_PROVIDER (counter_provider)
