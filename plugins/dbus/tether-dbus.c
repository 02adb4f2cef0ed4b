/* tether-dbus.c: the "dbus" provider
 *
 * Resource: one private GDBusConnection per GMainContext (not the shared
 * g_bus_get() singleton): each context has its own unique name, its own
 * signal subscriptions and its own message ordering. The connection is
 * created with the context pushed as thread-default, so its signal
 * callbacks and method call replies are dispatched in that context.
 *
 * Refs its context: YES. A GDBusConnection refs the context it was created
 * in, and every subscription, filter, exported object and GTask-based call
 * refs its caller's context. The connection keeps its context alive: a
 * manager (or tether_template_release) must release it.
 *
 * Graceful release: flushes outgoing messages, closes the connection (both
 * synchronously, on the releasing thread) and drops the reference.
 * Ungraceful release (context == NULL, janitor thread): starts closing
 * without waiting and without a callback, and drops the reference; nothing
 * is dispatched to the dead context. Because the connection refs its
 * context, this path is reached only if something else dropped that
 * reference.
 *
 * Acquire fails (G_IO_ERROR_FAILED) when @context is not the acquiring
 * thread's thread-default context.
 *
 * Configuration, group [provider dbus]:
 *   address=ADDRESS     a D-Bus address (default: the session bus, as
 *                       DBUS_SESSION_BUS_ADDRESS or the user's bus says)
 *   message-bus=BOOL    whether ADDRESS is a message bus to register
 *                       with (Hello) or a peer (default true)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <tether/tether.h>

typedef struct
{
  char     *address;       /* NULL: the session bus, looked up at acquire */
  gboolean  message_bus;
} DBusConfig;

static void
config_free (gpointer data)
{
  DBusConfig *config = data;

  g_free (config->address);
  g_free (config);
}

static gpointer
dbus_provider_init (GKeyFile    *keyfile,
                    const char  *group,
                    GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  DBusConfig *config = g_new0 (DBusConfig, 1);

  config->message_bus = TRUE;
  config->address = g_key_file_get_string (keyfile, group, "address", NULL);
  if (config->address != NULL && !g_dbus_is_address (config->address))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "[%s] address '%s' is not a D-Bus address", group, config->address);
      config_free (config);
      return NULL;
    }

  if (g_key_file_has_key (keyfile, group, "message-bus", NULL))
    {
      config->message_bus = g_key_file_get_boolean (keyfile, group, "message-bus", &local_error);
      if (local_error != NULL)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "[%s] message-bus must be true or false", group);
          config_free (config);
          return NULL;
        }
    }

  return config;
}

static gpointer
dbus_provider_acquire (GMainContext  *context,
                       gpointer       provider_data,
                       GError       **error)
{
  DBusConfig *config = provider_data;
  g_autofree char *session_address = NULL;
  GMainContext *thread_default = g_main_context_ref_thread_default ();
  gboolean bound = thread_default == context;
  GDBusConnectionFlags flags = G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT;
  GDBusConnection *connection;
  const char *address = config->address;

  g_main_context_unref (thread_default);
  if (!bound)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot create a D-Bus connection for context %p from a thread that "
                   "cannot own it: the connection would bind to another context",
                   context);
      return NULL;
    }

  if (address == NULL)
    {
      session_address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, error);
      if (session_address == NULL)
        return NULL;
      address = session_address;
    }

  if (config->message_bus)
    flags |= G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION;

  connection = g_dbus_connection_new_for_address_sync (address, flags, NULL, NULL, error);
  if (connection == NULL)
    return NULL;

  /* A bus going away must not end the application. */
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  return connection;
}

static void
dbus_provider_release (gpointer      resource,
                       GMainContext *context,
                       gboolean      graceful,
                       gpointer      provider_data)
{
  GDBusConnection *connection = resource;

  if (graceful)
    {
      g_autoptr(GError) error = NULL;

      if (!g_dbus_connection_is_closed (connection) &&
          (!g_dbus_connection_flush_sync (connection, NULL, &error) ||
           !g_dbus_connection_close_sync (connection, NULL, &error)) &&
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
        g_debug ("Closing D-Bus connection %p: %s", connection, error->message);
    }
  else if (!g_dbus_connection_is_closed (connection))
    g_dbus_connection_close (connection, NULL, NULL, NULL);

  g_object_unref (connection);
}

static const TetherProvider dbus_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "dbus",
  .description = "one private GDBusConnection per context; refs its context",
  .acquire = dbus_provider_acquire,
  .release = dbus_provider_release,
  .init = dbus_provider_init,
  .shutdown = config_free,
  /* ABI 1.1: the resource is a GDBusConnection, so bindings get the object. */
  .resource_type = g_dbus_connection_get_type,
};

TETHER_DEFINE_PROVIDER (dbus_provider)
