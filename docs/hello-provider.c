/* hello-provider.c: the provider built step by step in writing-a-provider.md
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Resource: a HelloGreeter, one per GMainContext: a greeting read from the
 * configuration and the number of the context it was made for.
 * Refs its context: no.
 */

#include <tether/tether.h>

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
  HelloData *data = g_new0 (HelloData, 1);
  g_autofree char *greeting = NULL;

  if (config != NULL && g_key_file_has_key (config, group, "greeting", NULL))
    greeting = g_key_file_get_string (config, group, "greeting", NULL);
  if (greeting != NULL && greeting[0] == '\0')
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "[%s] greeting must not be empty", group);
      g_free (data);
      return NULL;
    }

  data->greeting = greeting ? g_steal_pointer (&greeting) : g_strdup ("hello");
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
