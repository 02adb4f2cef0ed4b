/* test-bus.c: a private dbus-daemon that a test can kill and start again
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "test-bus.h"

struct _TestBus
{
  char        *dir;          /* owned temporary directory */
  char        *config_path;
  char        *socket_path;
  char        *address;
  GSubprocess *daemon;       /* NULL while killed */
};

gboolean
test_bus_available (void)
{
  g_autofree char *path = g_find_program_in_path ("dbus-daemon");

  return path != NULL;
}

/* A session-bus policy that lets every client talk to every other; limits
 * well above what a test makes, so that a test measures the client. */
static const char config_template[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<busconfig>\n"
  "  <type>session</type>\n"
  "  <listen>unix:path=%s</listen>\n"
  "  <auth>EXTERNAL</auth>\n"
  "  <policy context=\"default\">\n"
  "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
  "    <allow eavesdrop=\"true\"/>\n"
  "    <allow own=\"*\"/>\n"
  "  </policy>\n"
  "  <limit name=\"max_incomplete_connections\">1000</limit>\n"
  "  <limit name=\"max_completed_connections\">10000</limit>\n"
  "  <limit name=\"max_connections_per_user\">10000</limit>\n"
  "  <limit name=\"auth_timeout\">60000</limit>\n"
  "</busconfig>\n";

static gboolean
bus_spawn (TestBus  *bus,
           GError  **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *config_arg = g_strconcat ("--config-file=", bus->config_path, NULL);
  g_autofree char *line = NULL;

  g_assert_null (bus->daemon);

  /* A killed daemon leaves its socket behind. */
  g_unlink (bus->socket_path);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  bus->daemon = g_subprocess_launcher_spawn (launcher, error, "dbus-daemon", config_arg,
                                             "--nofork", "--nopidfile", "--nosyslog",
                                             "--print-address=1", NULL);
  if (bus->daemon == NULL)
    return FALSE;

  /* The address is printed once the daemon listens. */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bus->daemon));
  line = g_data_input_stream_read_line (out, NULL, NULL, error);
  if (line == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "dbus-daemon exited at start");
      g_subprocess_force_exit (bus->daemon);
      g_subprocess_wait (bus->daemon, NULL, NULL);
      g_clear_object (&bus->daemon);
      return FALSE;
    }

  /* It writes nothing more there: no pipe kept open in the test. */
  g_input_stream_close (g_subprocess_get_stdout_pipe (bus->daemon), NULL, NULL);
  return TRUE;
}

TestBus *
test_bus_new (GError **error)
{
  g_autofree char *config = NULL;
  TestBus *bus = g_new0 (TestBus, 1);

  bus->dir = g_dir_make_tmp ("tether-bus-XXXXXX", error);
  if (bus->dir == NULL)
    {
      g_free (bus);
      return NULL;
    }
  bus->config_path = g_build_filename (bus->dir, "bus.conf", NULL);
  bus->socket_path = g_build_filename (bus->dir, "bus", NULL);
  bus->address = g_strconcat ("unix:path=", bus->socket_path, NULL);

  config = g_strdup_printf (config_template, bus->socket_path);
  if (!g_file_set_contents (bus->config_path, config, -1, error) || !bus_spawn (bus, error))
    {
      test_bus_free (bus);
      return NULL;
    }

  return bus;
}

const char *
test_bus_get_address (TestBus *bus)
{
  return bus->address;
}

void
test_bus_kill (TestBus *bus)
{
  if (bus->daemon == NULL)
    return;

  g_subprocess_force_exit (bus->daemon);
  g_subprocess_wait (bus->daemon, NULL, NULL);
  g_clear_object (&bus->daemon);
}

gboolean
test_bus_restart (TestBus  *bus,
                  GError  **error)
{
  test_bus_kill (bus);
  return bus_spawn (bus, error);
}

void
test_bus_free (TestBus *bus)
{
  if (bus == NULL)
    return;

  test_bus_kill (bus);
  if (bus->socket_path != NULL)
    g_unlink (bus->socket_path);
  if (bus->config_path != NULL)
    g_unlink (bus->config_path);
  if (bus->dir != NULL)
    g_rmdir (bus->dir);
  g_free (bus->dir);
  g_free (bus->config_path);
  g_free (bus->socket_path);
  g_free (bus->address);
  g_free (bus);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

gboolean
test_bus_list_names (GDBusConnection *connection,
                     GMainContext    *context,
                     GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "ListNames", NULL, G_VARIANT_TYPE ("(as)"),
                          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  reply = g_dbus_connection_call_finish (connection, result, error);
  return reply != NULL;
}

static void
on_closed (GDBusConnection *connection,
           gboolean         remote_peer_vanished,
           GError          *error,
           gpointer         user_data)
{
  g_atomic_int_set ((gint *) user_data, 1);
}

void
test_bus_watch_closed (GDBusConnection *connection,
                       gint            *closed)
{
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), closed);
}
