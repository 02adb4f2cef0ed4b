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
 * Acquire: synchronous (GInitable) for synchronous callers; asynchronous
 * (GAsyncInitable) for tether_template_acquire_async() and the other
 * asynchronous callers, so that nothing blocks the context while the bus
 * is slow or never answers: the session bus address is looked up in a
 * worker thread (it may start dbus-launch), and the authentication and
 * Hello run in GIO's own threads.
 *
 * Dies on its own: when the bus goes away (or anything closes the
 * connection), GDBusConnection::closed is emitted in the context; the
 * provider then discards the connection (provider ABI 1.2 `watch`), so
 * the next acquire for that context makes a new one: a closed connection
 * is never handed out again once `closed` was emitted.
 *
 * Graceful release: disconnects the `closed` handler, flushes outgoing
 * messages and closes the connection (both synchronously, on the releasing
 * thread; skipped if it is closed already), waits until GDBus has queued
 * the `closed` emission in the context (see wait_for_closed_queued()), and
 * drops the reference. That emission holds the connection: whoever ends
 * the scope lets the context run it (tether_run_in_new_context() and a
 * manager's release outside a dispatch do), or the context and the
 * connection are never freed.
 * Ungraceful release (context == NULL, janitor thread; reached when the
 * connection was discarded, since it keeps its context alive otherwise):
 * disconnects the `closed` handler and drops the reference without
 * closing. A connection that is not closed yet is then stopped by its own
 * dispose once the last reference goes, which queues nothing in any
 * context (an explicit close would queue the `closed` emission in a
 * context that may never be iterated again).
 *
 * Acquire fails (TETHER_ERROR_WRONG_CONTEXT) when another thread owns
 * @context: tether could not push it, or it is the global default context
 * a thread without a context of its own fell back to while the main thread
 * iterates it.
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

#include "../provider-context-private.h"

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

static GDBusConnectionFlags
connection_flags (DBusConfig *config)
{
  GDBusConnectionFlags flags = G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT;

  if (config->message_bus)
    flags |= G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION;
  return flags;
}

/* GDBus queues a connection's `closed` emission as an idle in the
 * connection's context, holding the connection (which holds the context),
 * from its worker thread, when that thread sees the stream end: possibly
 * just after g_dbus_connection_close_sync() returned, or after a failed
 * Hello returned its error. Whoever ends the scope dispatches what is
 * queued in the context; what is queued a moment later is never
 * dispatched, and the connection and its context are never freed.
 *
 * GDBus sets the closed flag and queues the emission in one section under
 * the connection's lock (checked in gdbusconnection.c, on_worker_closed(),
 * from 2.74 to 2.89); g_dbus_connection_get_last_serial() takes that lock.
 * So once the flag is seen set, taking the lock means the emission is
 * queued. Bounded: a connection whose worker never notices is left as it
 * is. */
static void
wait_for_closed_queued (GDBusConnection *connection,
                        gint64           timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  while (!g_dbus_connection_is_closed (connection))
    {
      if (timeout_us == 0 || g_get_monotonic_time () > deadline)
        return;
      g_usleep (100);
    }
  (void) g_dbus_connection_get_last_serial (connection);
}

/* A connection made by hand rather than with
 * g_dbus_connection_new_for_address*(), so that a failed one is still in
 * hand: one whose Hello failed because the stream closed has its `closed`
 * emission on the way. */
static GDBusConnection *
connection_new (const char           *address,
                GDBusConnectionFlags  flags)
{
  return g_object_new (G_TYPE_DBUS_CONNECTION,
                       "address", address,
                       "flags", flags,
                       /* A bus going away must not end the application. */
                       "exit-on-close", FALSE,
                       NULL);
}

static void
connection_failed (GDBusConnection *connection)
{
  wait_for_closed_queued (connection, 0);
  g_object_unref (connection);
}

static gpointer
dbus_provider_acquire (GMainContext  *context,
                       gpointer       provider_data,
                       GError       **error)
{
  DBusConfig *config = provider_data;
  g_autofree char *session_address = NULL;
  GDBusConnection *connection;
  const char *address = config->address;

  if (!provider_check_context_owned (context, "a D-Bus connection", error))
    return NULL;

  if (address == NULL)
    {
      session_address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, error);
      if (session_address == NULL)
        return NULL;
      address = session_address;
    }

  connection = connection_new (address, connection_flags (config));
  if (!g_initable_init (G_INITABLE (connection), NULL, error))
    {
      connection_failed (connection);
      return NULL;
    }

  return connection;
}

/* ------------------------------------------------------------------------ */
/* Asynchronous acquire                                                     */
/* ------------------------------------------------------------------------ */

/* The task's data: what the steps need. The task was created in @context
 * (tether pushed it), so every step's callback runs there, with @context
 * as thread-default (GTask pushes it around its callback). */
typedef struct
{
  GMainContext         *context;   /* owned */
  GDBusConnectionFlags  flags;
} AcquireData;

static void
acquire_data_free (gpointer data)
{
  AcquireData *acquire = data;

  g_main_context_unref (acquire->context);
  g_free (acquire);
}

static void
connection_ready (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GDBusConnection *connection = G_DBUS_CONNECTION (source);
  GError *error = NULL;

  if (!g_async_initable_init_finish (G_ASYNC_INITABLE (connection), result, &error))
    {
      connection_failed (connection);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, connection, g_object_unref);
}

static void
connect_to (GTask      *task,
            const char *address)
{
  AcquireData *acquire = g_task_get_task_data (task);

  /* The connection binds to the thread-default context of this call: this
   * runs in acquire_async (tether pushed the context) or in a callback of a
   * task made there (dispatched in the context, which this thread owns). */
  g_main_context_push_thread_default (acquire->context);
  g_async_initable_init_async (G_ASYNC_INITABLE (connection_new (address, acquire->flags)),
                               G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                               connection_ready, task);
  g_main_context_pop_thread_default (acquire->context);
}

static void
session_address_in_thread (GTask        *lookup,
                           gpointer      source_object,
                           gpointer      task_data,
                           GCancellable *cancellable)
{
  GError *error = NULL;
  char *address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, cancellable, &error);

  if (address == NULL)
    g_task_return_error (lookup, error);
  else
    g_task_return_pointer (lookup, address, g_free);
}

static void
session_address_ready (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  g_autofree char *address = g_task_propagate_pointer (G_TASK (result), &error);

  if (address == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  connect_to (task, address);
}

static void
dbus_provider_acquire_async (GMainContext        *context,
                             gpointer             provider_data,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  DBusConfig *config = provider_data;
  GError *error = NULL;
  AcquireData *acquire;
  GTask *task;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dbus_provider_acquire_async);
  /* A connection made after all is still returned: tether caches it. */
  g_task_set_check_cancellable (task, FALSE);

  if (!provider_check_context_owned (context, "a D-Bus connection", &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  acquire = g_new0 (AcquireData, 1);
  acquire->context = g_main_context_ref (context);
  acquire->flags = connection_flags (config);
  g_task_set_task_data (task, acquire, acquire_data_free);

  if (config->address != NULL)
    connect_to (task, config->address);
  else
    {
      /* g_dbus_address_get_for_bus_sync() may spawn dbus-launch and wait
       * for it: never on the context's thread. */
      g_autoptr(GTask) lookup = g_task_new (NULL, cancellable, session_address_ready, task);

      g_task_set_source_tag (lookup, session_address_in_thread);
      g_task_run_in_thread (lookup, session_address_in_thread);
    }
}

static gpointer
dbus_provider_acquire_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------------ */
/* Closed connections                                                       */
/* ------------------------------------------------------------------------ */

/* What the `closed` handler of one connection holds: tether's watch, until
 * the release takes it away. The lock makes that hand-over exact: a handler
 * running on the context's thread while the janitor releases the
 * connection either discards before the release goes on, or finds no
 * watch. Freed with the handler's closure (GLib keeps the closure alive
 * while it runs). */
typedef struct
{
  GMutex               lock;
  TetherResourceWatch *watch;   /* protected by @lock; NULL once released */
} ClosedWatch;

static GQuark
closed_watch_quark (void)
{
  return g_quark_from_static_string ("tether-dbus-closed-watch");
}

static void
closed_watch_free (gpointer  data,
                   GClosure *closure)
{
  ClosedWatch *closed_watch = data;

  g_mutex_clear (&closed_watch->lock);
  g_free (closed_watch);
}

static void
closed_watch_discard (ClosedWatch *closed_watch)
{
  g_mutex_lock (&closed_watch->lock);
  if (closed_watch->watch != NULL)
    closed_watch->watch->discard (closed_watch->watch);
  g_mutex_unlock (&closed_watch->lock);
}

static void
on_closed (GDBusConnection *connection,
           gboolean         remote_peer_vanished,
           GError          *error,
           gpointer         user_data)
{
  g_debug ("D-Bus connection %p closed%s: %s", connection,
           remote_peer_vanished ? " by the other end" : "",
           error != NULL ? error->message : "no error");
  closed_watch_discard (user_data);
}

static void
dbus_provider_watch (gpointer              resource,
                     GMainContext         *context,
                     TetherResourceWatch  *watch,
                     gpointer              provider_data)
{
  GDBusConnection *connection = resource;
  ClosedWatch *closed_watch = g_new0 (ClosedWatch, 1);

  g_mutex_init (&closed_watch->lock);
  closed_watch->watch = watch;
  g_object_set_qdata (G_OBJECT (connection), closed_watch_quark (), closed_watch);
  g_signal_connect_data (connection, "closed", G_CALLBACK (on_closed), closed_watch,
                         closed_watch_free, 0);

  /* Closed before the handler was there: its emission may be over. */
  if (g_dbus_connection_is_closed (connection))
    closed_watch_discard (closed_watch);
}

static void
unwatch (GDBusConnection *connection)
{
  ClosedWatch *closed_watch = g_object_steal_qdata (G_OBJECT (connection),
                                                    closed_watch_quark ());

  if (closed_watch == NULL)
    return;

  g_mutex_lock (&closed_watch->lock);
  closed_watch->watch = NULL;
  g_mutex_unlock (&closed_watch->lock);
  g_signal_handlers_disconnect_matched (connection, G_SIGNAL_MATCH_FUNC | G_SIGNAL_MATCH_DATA,
                                        0, 0, NULL, on_closed, closed_watch);
}

static void
dbus_provider_release (gpointer      resource,
                       GMainContext *context,
                       gboolean      graceful,
                       gpointer      provider_data)
{
  GDBusConnection *connection = resource;

  /* The watch is valid until this returns: nothing may call it later. */
  unwatch (connection);

  if (graceful && !g_dbus_connection_is_closed (connection))
    {
      g_autoptr(GError) error = NULL;

      if ((!g_dbus_connection_flush_sync (connection, NULL, &error) ||
           !g_dbus_connection_close_sync (connection, NULL, &error)) &&
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
        g_debug ("Closing D-Bus connection %p: %s", connection, error->message);
    }

  /* Closed by us or by the other end: its `closed` emission is queued in
   * the context before we let go, where the scope's end dispatches it. */
  if (graceful)
    wait_for_closed_queued (connection, G_USEC_PER_SEC);

  g_object_unref (connection);
}

static const TetherProvider dbus_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "dbus",
  .description = "one private GDBusConnection per context; refs its context",
  .acquire = dbus_provider_acquire,
  .acquire_async = dbus_provider_acquire_async,
  .acquire_finish = dbus_provider_acquire_finish,
  .release = dbus_provider_release,
  .init = dbus_provider_init,
  .shutdown = config_free,
  /* ABI 1.1: the resource is a GDBusConnection, so bindings get the object. */
  .resource_type = g_dbus_connection_get_type,
  /* ABI 1.2: a connection that closes on its own is discarded. */
  .watch = dbus_provider_watch,
};

TETHER_DEFINE_PROVIDER (dbus_provider)
