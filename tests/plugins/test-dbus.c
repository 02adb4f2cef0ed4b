/* test-dbus.c: the dbus provider on a private bus
 *
 * GTestDBus starts a dbus-daemon of its own. Worker threads, each in its
 * own context with a manager, get a private connection each: distinct
 * unique names, replies dispatched in the worker's own context, and every
 * connection closed when its context's scope ends. Then: many jobs leave
 * no connection and no context behind; a worker without a context of its
 * own is refused the main thread's; an asynchronous acquire never blocks
 * the context, even on a bus that never answers; and a bus that dies and
 * comes back (a daemon of the test's own, TestBus) gives a long-lived
 * context a new connection, never the closed one.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "plugin-test-util.h"
#include "test-gtask-worker.h"
#include "test-bus.h"

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

/* The dbus module, loaded afresh with address=@address. */
static TetherTemplate *
load_dbus_for (const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = g_strdup_printf ("[provider dbus]\naddress=%s\n", address);
  TetherTemplate *template;

  test_reset_global_state ();
  template = plugin_test_load ("dbus", config, &error);
  g_assert_no_error (error);
  return template;
}

static void
test_dbus_configured_address (gconstpointer data)
{
  g_autoptr(TetherTemplate) template = load_dbus_for (data);

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

/* ------------------------------------------------------------------------ */
/* Many jobs: nothing left behind                                           */
/* ------------------------------------------------------------------------ */

#define N_JOBS     120
#define N_POOL     4

typedef struct
{
  TetherTemplate *template;
  gint            context_finalized[N_JOBS];
  gint            connection_finalized[N_JOBS];
  gint            ok;                 /* atomic: jobs whose call succeeded */
} Jobs;

typedef struct
{
  Jobs            *jobs;
  guint            index;
  GDBusConnection *connection;        /* from the asynchronous acquire */
  GError          *error;
  gboolean         acquired;
  gboolean         called;
} Job;

static void
set_flag (gpointer  data,
          GObject  *where_the_object_was)
{
  g_atomic_int_set ((gint *) data, 1);
}

static void
job_acquired (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Job *job = user_data;

  job->connection = tether_template_acquire_finish (TETHER_TEMPLATE (source), result,
                                                    &job->error);
  job->acquired = TRUE;
}

static void
job_called (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &job->error);
  job->called = TRUE;
}

/* Odd jobs acquire asynchronously, even ones synchronously; each lists the
 * bus's names through its connection. */
static gboolean
job_scope (gpointer   user_data,
           GError   **error)
{
  Job *job = user_data;
  GMainContext *context = g_main_context_get_thread_default ();
  GDBusConnection *connection;

  test_watch_context (context, &job->jobs->context_finalized[job->index]);

  if (job->index % 2 == 1)
    {
      tether_template_acquire_async (job->jobs->template, NULL, NULL, job_acquired, job);
      while (!job->acquired)
        g_main_context_iteration (context, TRUE);
      connection = job->connection;
    }
  else
    connection = tether_template_acquire (job->jobs->template, NULL, &job->error);
  if (connection == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  g_object_weak_ref (G_OBJECT (connection), set_flag,
                     &job->jobs->connection_finalized[job->index]);

  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "ListNames", NULL, G_VARIANT_TYPE ("(as)"),
                          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, job_called, job);
  while (!job->called)
    g_main_context_iteration (context, TRUE);
  if (job->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  g_atomic_int_inc (&job->jobs->ok);
  return TRUE;
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  Job job = { .jobs = user_data, .index = GPOINTER_TO_UINT (data) - 1 };
  g_autoptr(GError) error = NULL;

  if (!tether_run_in_new_context (job_scope, &job, &error))
    g_test_message ("job %u: %s", job.index, error->message);
}

static guint
count_set (const gint *flags,
           guint       n)
{
  guint count = 0;

  for (guint i = 0; i < n; i++)
    count += g_atomic_int_get (&flags[i]) != 0;
  return count;
}

/* Every job's connection and context are finalized once its scope ended:
 * GDBus queues the `closed` emission in the connection's context, holding
 * the connection, which holds the context; the scope's end must let the
 * context run it. */
static void
test_dbus_jobs_leave_nothing (gconstpointer data)
{
  const char *address = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = load_dbus_for (address);
  g_autofree Jobs *jobs = g_new0 (Jobs, 1);
  g_autoptr(TetherTemplateStats) stats = NULL;
  GThreadPool *pool;
  guint contexts = 0, connections = 0;

  jobs->template = template;

  pool = g_thread_pool_new (run_job, jobs, N_POOL, TRUE, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < N_JOBS; i++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (i + 1), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);

  /* A closed connection's last reference may be GDBus's worker thread's,
   * dropped just after: a bounded moment. */
  for (guint tries = 0; tries < 500; tries++)
    {
      contexts = count_set (jobs->context_finalized, N_JOBS);
      connections = count_set (jobs->connection_finalized, N_JOBS);
      if (contexts == N_JOBS && connections == N_JOBS)
        break;
      g_usleep (10 * 1000);
    }
  g_test_message ("%u jobs: %d ok, %u connections and %u contexts finalized",
                  N_JOBS, g_atomic_int_get (&jobs->ok), connections, contexts);
  g_assert_cmpint (g_atomic_int_get (&jobs->ok), ==, N_JOBS);
  g_assert_cmpuint (connections, ==, N_JOBS);
  g_assert_cmpuint (contexts, ==, N_JOBS);

  stats = tether_template_get_stats (template);
  g_assert_cmpuint (stats->acquires_done, ==, N_JOBS);
  g_assert_cmpuint (stats->failures, ==, 0);
  g_assert_cmpuint (stats->graceful_releases, ==, N_JOBS);
  g_assert_cmpuint (stats->n_held, ==, 0);
  tether_template_unregister (template);
}

/* ------------------------------------------------------------------------ */
/* A worker without a context of its own                                    */
/* ------------------------------------------------------------------------ */

/* A GTask worker without a context of its own is refused the main
 * thread's (test-gtask-worker.h). */
static void
test_dbus_gtask_worker (gconstpointer data)
{
  g_autoptr(TetherTemplate) template = load_dbus_for (data);

  test_gtask_worker_check (template);
  tether_template_unregister (template);
}

/* ------------------------------------------------------------------------ */
/* An asynchronous acquire never blocks                                     */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  GCancellable   *cancellable;
  GError         *error;
  gpointer        resource;
  gint            started;        /* atomic: acquire_async returned */
  gint            ticks;          /* atomic: the context's timeout fired */
  gint            completed;      /* atomic */
  gint            quit;           /* atomic */
} Silent;

static gboolean
on_tick (gpointer data)
{
  Silent *silent = data;

  g_atomic_int_inc (&silent->ticks);
  return G_SOURCE_CONTINUE;
}

static void
silent_acquired (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Silent *silent = user_data;

  silent->resource = tether_template_acquire_finish (silent->template, result, &silent->error);
  g_atomic_int_set (&silent->completed, 1);
}

/* The thread that owns the context, as a UI thread would: it starts the
 * acquire, then goes on iterating. */
static gpointer
silent_thread (gpointer data)
{
  Silent *silent = data;
  GSource *tick = g_timeout_source_new (5);

  g_main_context_push_thread_default (silent->context);
  g_source_set_callback (tick, on_tick, silent, NULL);
  g_source_attach (tick, silent->context);

  tether_template_acquire_async (silent->template, silent->context, silent->cancellable,
                                 silent_acquired, silent);
  g_atomic_int_set (&silent->started, 1);
  while (!g_atomic_int_get (&silent->quit))
    g_main_context_iteration (silent->context, TRUE);

  g_source_destroy (tick);
  g_source_unref (tick);
  g_main_context_pop_thread_default (silent->context);
  return NULL;
}

static gboolean
wait_for (gint  *flag,
          gint   at_least,
          guint  timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;

  while (g_atomic_int_get (flag) < at_least)
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (1000);
    }
  return TRUE;
}

/* A "bus" that accepts connections (the kernel does, into the backlog) and
 * never answers: the authentication waits forever. The acquire must leave
 * the context free meanwhile, and end when its caller cancels. */
static void
test_dbus_async_never_blocks (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(TetherTemplateStats) stats = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tether-silent-bus-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "bus", NULL);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", path);
  Silent silent = { 0 };
  GThread *thread;

  g_assert_no_error (error);
  listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                           &error);
  g_assert_no_error (error);
  socket_address = g_unix_socket_address_new (path);
  g_assert_true (g_socket_bind (listener, socket_address, TRUE, &error));
  g_assert_true (g_socket_listen (listener, &error));

  template = load_dbus_for (address);
  silent.template = template;
  silent.context = g_main_context_new ();
  silent.cancellable = g_cancellable_new ();
  thread = g_thread_new ("silent-bus-owner", silent_thread, &silent);

  /* acquire_async returned, and the context goes on dispatching while the
   * connection waits for the bus: 20 ticks of 5 ms. */
  g_assert_true (wait_for (&silent.started, 1, 10000));
  g_assert_true (wait_for (&silent.ticks, 20, 10000));
  g_assert_false (g_atomic_int_get (&silent.completed));

  /* The only caller leaves: tether cancels the provider's acquire, which
   * stops waiting for the bus. */
  g_cancellable_cancel (silent.cancellable);
  g_assert_true (wait_for (&silent.completed, 1, 10000));
  g_assert_null (silent.resource);
  g_assert_error (silent.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The flight ends too (its own completion is dispatched in the
   * context). */
  for (guint tries = 0; tries < 1000; tries++)
    {
      g_clear_pointer (&stats, tether_template_stats_free);
      stats = tether_template_get_stats (template);
      if (stats->acquires_done == stats->acquires)
        break;
      g_usleep (1000);
    }
  g_assert_cmpuint (stats->acquires, ==, 1);
  g_assert_cmpuint (stats->acquires_done, ==, 1);
  g_assert_cmpuint (stats->failures, ==, 1);
  g_assert_cmpuint (stats->n_held, ==, 0);

  g_atomic_int_set (&silent.quit, 1);
  g_main_context_wakeup (silent.context);
  g_thread_join (thread);
  g_clear_error (&silent.error);
  g_object_unref (silent.cancellable);
  g_main_context_unref (silent.context);
  tether_template_unregister (template);
  g_socket_close (listener, NULL);
  g_unlink (path);
  g_rmdir (dir);
}

/* ------------------------------------------------------------------------ */
/* A bus that dies and comes back                                           */
/* ------------------------------------------------------------------------ */

/* A long-lived context (a GTK application's, say) holds its connection
 * across the bus's death: once GDBusConnection::closed was emitted in it,
 * the next acquire makes a new connection (an error while the bus is
 * down), never the closed one; once the bus is back, it works. */
static void
test_dbus_bus_restart (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(TestBus) bus = NULL;
  g_autoptr(TetherTemplateStats) stats = NULL;
  GMainContext *context = g_main_context_new ();
  GDBusConnection *before, *during, *after;
  gint before_closed = 0;
  gint finalized = 0;

  bus = test_bus_new (&error);
  g_assert_no_error (error);
  template = load_dbus_for (test_bus_get_address (bus));

  g_main_context_push_thread_default (context);

  before = tether_template_acquire (template, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (test_bus_list_names (before, context, &error));
  g_assert_no_error (error);
  test_bus_watch_closed (before, &before_closed);
  g_object_weak_ref (G_OBJECT (before), set_flag, &finalized);

  test_bus_kill (bus);
  g_assert_true (test_iterate_until (context, &before_closed, 10000));

  /* Closed, and discarded: the bus is down, so the new one fails. */
  during = tether_template_acquire (template, NULL, &error);
  g_assert_true (during != before);
  g_assert_null (during);
  g_assert_nonnull (error);
  g_test_message ("while the bus is down: %s", error->message);
  g_clear_error (&error);

  g_assert_true (test_bus_restart (bus, &error));
  g_assert_no_error (error);
  after = tether_template_acquire (template, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (after != before);
  g_assert_false (g_dbus_connection_is_closed (after));
  g_assert_true (test_bus_list_names (after, context, &error));
  g_assert_no_error (error);
  g_assert_true (tether_template_acquire (template, NULL, NULL) == after);

  /* The discarded one was released by the janitor (the global default
   * context, which nobody iterates here: purge runs it now). */
  tether_purge ();
  g_assert_true (test_iterate_until (context, &finalized, 10000));

  g_assert_true (tether_template_release (template, NULL, &error));
  g_assert_no_error (error);
  stats = tether_template_get_stats (template);
  g_test_message ("acquires_done %" G_GUINT64_FORMAT ", failures %" G_GUINT64_FORMAT
                  ", graceful %" G_GUINT64_FORMAT ", purged %" G_GUINT64_FORMAT
                  ", ungraceful %" G_GUINT64_FORMAT,
                  stats->acquires_done, stats->failures, stats->graceful_releases,
                  stats->purged, stats->ungraceful_releases);
  g_assert_cmpuint (stats->acquires_done, ==, 3);
  g_assert_cmpuint (stats->failures, ==, 1);
  g_assert_cmpuint (stats->purged, ==, 1);
  g_assert_cmpuint (stats->ungraceful_releases, ==, 1);
  g_assert_cmpuint (stats->graceful_releases, ==, 1);
  g_assert_cmpuint (stats->n_held, ==, 0);

  g_main_context_pop_thread_default (context);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_unref (context);
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
  g_test_add_data_func ("/providers/dbus/jobs-leave-nothing", g_test_dbus_get_bus_address (bus),
                        test_dbus_jobs_leave_nothing);
  g_test_add_data_func ("/providers/dbus/gtask-worker-global-default",
                        g_test_dbus_get_bus_address (bus), test_dbus_gtask_worker);
  g_test_add_func ("/providers/dbus/async-never-blocks", test_dbus_async_never_blocks);
  g_test_add_func ("/providers/dbus/bus-restart", test_dbus_bus_restart);

  status = g_test_run ();
  g_test_dbus_down (bus);
  return status;
}
