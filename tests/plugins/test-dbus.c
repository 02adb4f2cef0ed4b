/* test-dbus.c: the dbus provider on a private bus
 *
 * GTestDBus starts a dbus-daemon of its own. Worker threads, each in its
 * own context with a manager, get a private connection each: distinct
 * unique names, replies dispatched in the worker's own context, and every
 * connection closed when its context's scope ends.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "plugin-test-util.h"

#define N_WORKERS 3

typedef struct
{
  TetherTemplate  *template;
  GThread         *thread;
  GMainContext    *context;     /* identity only */
  GDBusConnection *connection;  /* a reference of the test's, to check closing */
  char            *unique_name;
  gboolean         reply_in_own_context;
  gboolean         saw_own_name;
  gboolean         done;
} Worker;

static void
list_names_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Worker *worker = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree const char **names = NULL;

  worker->reply_in_own_context = g_main_context_get_thread_default () == worker->context &&
                                 g_thread_self () == worker->thread;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(^a&s)", &names);
  worker->saw_own_name = g_strv_contains (names, worker->unique_name);
  worker->done = TRUE;
}

static gboolean
worker_scope (gpointer   user_data,
              GError   **error)
{
  Worker *worker = user_data;
  GDBusConnection *connection;

  worker->context = g_main_context_get_thread_default ();
  worker->thread = g_thread_self ();

  connection = tether_template_acquire (worker->template, NULL, error);
  if (connection == NULL)
    return FALSE;
  g_assert_true (G_IS_DBUS_CONNECTION (connection));
  g_assert_false (g_dbus_connection_is_closed (connection));
  worker->connection = g_object_ref (connection);
  worker->unique_name = g_strdup (g_dbus_connection_get_unique_name (connection));
  g_assert_nonnull (worker->unique_name);

  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "ListNames", NULL, G_VARIANT_TYPE ("(as)"),
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, list_names_done, worker);
  while (!worker->done)
    g_main_context_iteration (worker->context, TRUE);

  return TRUE;
}

static gpointer
worker_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_run_in_new_context (worker_scope, data, &error));
  g_assert_no_error (error);
  return NULL;
}

static void
run_workers (TetherTemplate *template)
{
  Worker workers[N_WORKERS] = { 0 };
  GThread *threads[N_WORKERS];

  for (guint i = 0; i < N_WORKERS; i++)
    {
      workers[i].template = template;
      threads[i] = g_thread_new ("dbus-worker", worker_thread, &workers[i]);
    }
  for (guint i = 0; i < N_WORKERS; i++)
    g_thread_join (threads[i]);

  for (guint i = 0; i < N_WORKERS; i++)
    {
      g_test_message ("worker %u: %s", i, workers[i].unique_name);
      g_assert_true (workers[i].reply_in_own_context);
      g_assert_true (workers[i].saw_own_name);
      /* Private connections: one per context, never shared. */
      for (guint j = 0; j < i; j++)
        {
          g_assert_cmpstr (workers[i].unique_name, !=, workers[j].unique_name);
          g_assert_true (workers[i].connection != workers[j].connection);
        }
      /* The scope's manager released it gracefully: closed. GDBus marks a
       * connection closed from its worker thread once the read side sees
       * the end of the stream, which can be just after close_sync()
       * returned; give it a bounded moment. */
      for (guint tries = 0; tries < 5000 && !g_dbus_connection_is_closed (workers[i].connection); tries++)
        g_usleep (1000);
      g_assert_true (g_dbus_connection_is_closed (workers[i].connection));
    }
  for (guint i = 0; i < N_WORKERS; i++)
    {
      g_object_unref (workers[i].connection);
      g_free (workers[i].unique_name);
    }
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
}

static void
test_dbus_configured_address (gconstpointer data)
{
  const char *address = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autofree char *config = g_strdup_printf ("[provider dbus]\naddress=%s\n", address);

  test_reset_global_state ();
  template = plugin_test_load ("dbus", config, &error);
  g_assert_no_error (error);
  run_workers (template);
  tether_template_unregister (template);
}

static void
test_dbus_session_default (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  /* No address: the session bus, which GTestDBus pointed at its daemon. */
  test_reset_global_state ();
  template = plugin_test_load ("dbus", NULL, &error);
  g_assert_no_error (error);
  run_workers (template);
  tether_template_unregister (template);
}

static void
test_dbus_bad_address (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  test_reset_global_state ();
  template = plugin_test_load ("dbus", "[provider dbus]\naddress=not an address\n", &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED);
}

static void
test_dbus_unreachable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();

  test_reset_global_state ();
  template = plugin_test_load ("dbus",
                               "[provider dbus]\naddress=unix:path=/nonexistent/tether-bus\n",
                               &error);
  g_assert_no_error (error);
  g_assert_null (tether_template_acquire (template, context, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  tether_template_unregister (template);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GTestDBus) bus = NULL;
  g_autofree char *dbus_daemon = g_find_program_in_path ("dbus-daemon");
  int status;

  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

  if (dbus_daemon == NULL)
    {
      /* Install Debian's dbus-daemon (./dev deps does). */
      g_test_skip ("dbus-daemon is not installed");
      return g_test_run ();
    }

  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);

  g_test_add_data_func ("/providers/dbus/configured-address",
                        g_test_dbus_get_bus_address (bus), test_dbus_configured_address);
  g_test_add_func ("/providers/dbus/session-default", test_dbus_session_default);
  g_test_add_func ("/providers/dbus/bad-address", test_dbus_bad_address);
  g_test_add_func ("/providers/dbus/unreachable", test_dbus_unreachable);

  status = g_test_run ();
  g_test_dbus_down (bus);
  return status;
}
