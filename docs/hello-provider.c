/* hello-provider.c: the provider of docs/writing-a-provider.md
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Resource: a HelloGreeter, one per GMainContext: a greeting read from the
 * configuration and the number of the context it was made for.
 * Refs its context: no.
 * Graceful and ungraceful release: free the greeter; the context is never
 * touched.
 *
 * This file is the C blocks of the guide, in order: the test
 * guide-matches-hello-provider checks that it stays so.
 */

#include <tether/tether.h>

/* The resource, as its users see it: a real provider puts this in a
 * header of its own, installed for them. */
typedef struct
{
  char  *greeting;
  guint  serial;
} HelloGreeter;

/* Provider data, shared by every thread: read-only after init, but for
 * the atomic counter. */
typedef struct
{
  char *greeting;
  gint  next_serial;   /* atomic */
} HelloData;

static gpointer
hello_init (GKeyFile    *config,
            const char  *group,
            GError     **error)
{
  g_autofree char *greeting = NULL;
  HelloData *data;

  /* config is never NULL; the group may be absent, and so may the key. */
  greeting = g_key_file_get_string (config, group, "greeting", NULL);
  if (greeting != NULL && greeting[0] == '\0')
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "[%s] greeting must not be empty", group);
      return NULL;
    }

  data = g_new0 (HelloData, 1);
  data->greeting = greeting != NULL ? g_steal_pointer (&greeting) : g_strdup ("hello");
  return data;
}

static void
hello_shutdown (gpointer provider_data)
{
  HelloData *data = provider_data;

  g_free (data->greeting);
  g_free (data);
}

static gpointer
hello_acquire (GMainContext  *context,
               gpointer       provider_data,
               GError       **error)
{
  HelloData *data = provider_data;
  HelloGreeter *greeter = g_new0 (HelloGreeter, 1);

  greeter->greeting = g_strdup (data->greeting);
  greeter->serial = (guint) g_atomic_int_add (&data->next_serial, 1) + 1;
  return greeter;
}

static void
hello_release (gpointer      resource,
               GMainContext *context,
               gboolean      graceful,
               gpointer      provider_data)
{
  HelloGreeter *greeter = resource;

  /* context is NULL when graceful is FALSE: never touch it then. */
  g_free (greeter->greeting);
  g_free (greeter);
}

static const TetherProvider hello_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "hello",
  .description = "a greeting per context (the provider of the guide)",
  .acquire = hello_acquire,
  .release = hello_release,
  .init = hello_init,
  .shutdown = hello_shutdown,
};

TETHER_DEFINE_PROVIDER (hello_provider)
