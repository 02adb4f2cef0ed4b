/* test-longrun-dbus.c: the dbus provider over many jobs, and across a bus
 * that dies and comes back
 *
 * The bus is a private dbus-daemon the test starts (TestBus). Each job, in
 * a context of its own from tether_run_in_new_context() on a pool of 4
 * threads, lists the bus's names through the connection the provider gives
 * its context (odd jobs acquire asynchronously). At the end: every
 * connection finalized, every job's context finalized, the open files back
 * where they were, and the stats balanced.
 *
 * /longrun/dbus/bus-restart kills the daemon in the middle of the run and
 * starts it again at the same address. Jobs in the restart window fail
 * (counted and bounded); every job outside it succeeds with a connection
 * that is not closed. Meanwhile a long-lived context (a GTK application's,
 * say) keeps acquiring and calling: it is never handed a connection whose
 * `closed` signal was emitted, and it gets a new, working one once the bus
 * is back.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "longrun-util.h"
#include "test-bus.h"

/* A job that fails waits this long before its worker takes the next one,
 * as a service backs off. */
#define BACKOFF_MS  10
/* How long the bus stays down. */
#define DOWNTIME_MS 100

typedef struct
{
  TetherTemplate  *template;
  LongrunContexts  contexts;
  gint             connections;            /* atomic: acquired by a job */
  gint             connections_finalized;  /* atomic */
  gint             handed_out_closed;      /* atomic: a job that started with the bus
                                            * up got a closed connection */
  gint             ok;                     /* atomic */
  gint             failed;                 /* atomic */

  /* The restart window, in monotonic microseconds (0: none); written
   * before or after the jobs that read them, under @lock. */
  GMutex           lock;
  gint64           killed_at;
  gint64           ready_at;
  guint            failed_outside_window;  /* protected by @lock */
} Run;

typedef struct
{
  Run             *run;
  guint            number;
  gint64           started;      /* monotonic */
  GVariant        *reply;
  GError          *error;
  gboolean         done;
} Job;

static void
job_listed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Job *job = user_data;

  job->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &job->error);
  job->done = TRUE;
}

static gboolean
job_scope (gpointer   user_data,
           GError   **error)
{
  Job *job = user_data;
  Run *run = job->run;
  GMainContext *context = g_main_context_get_thread_default ();
  GDBusConnection *connection;

  longrun_watch_context (&run->contexts, context);

  connection = longrun_acquire (run->template, job->number, &job->error);
  if (connection == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  g_atomic_int_inc (&run->connections);
  longrun_count_finalized (G_OBJECT (connection), &run->connections_finalized);

  /* Started with the bus up, before it was killed or after it was back:
   * its connection is a new one, never closed. (Made just before the
   * kill, it may close before the job looks.) */
  g_mutex_lock (&run->lock);
  if (g_dbus_connection_is_closed (connection) &&
      (run->killed_at == 0 || (run->ready_at != 0 && job->started > run->ready_at)))
    g_atomic_int_inc (&run->handed_out_closed);
  g_mutex_unlock (&run->lock);

  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "ListNames", NULL, G_VARIANT_TYPE ("(as)"),
                          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, job_listed, job);
  while (!job->done)
    g_main_context_iteration (context, TRUE);
  if (job->reply == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  g_variant_unref (job->reply);
  return TRUE;
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  Job job = { .run = user_data, .number = GPOINTER_TO_UINT (data) };
  Run *run = job.run;
  g_autoptr(GError) error = NULL;

  job.started = g_get_monotonic_time ();

  if (tether_run_in_new_context (job_scope, &job, &error))
    {
      g_atomic_int_inc (&run->ok);
      return;
    }

  if (g_atomic_int_add (&run->failed, 1) < 5)
    g_test_message ("job %u failed: %s", job.number, error->message);

  /* A failure is expected only if the job overlapped the restart: it
   * started before the new bus was ready and ended after the kill. */
  g_mutex_lock (&run->lock);
  if (run->killed_at == 0 || g_get_monotonic_time () < run->killed_at ||
      (run->ready_at != 0 && job.started > run->ready_at))
    run->failed_outside_window++;
  g_mutex_unlock (&run->lock);

  g_usleep (BACKOFF_MS * 1000);
}

/* ------------------------------------------------------------------------ */
/* The long-lived context                                                   */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  gint            stop;                 /* atomic */
  GHashTable     *seen;                 /* GDBusConnection -> gint *closed; this thread */
  guint           acquires;
  guint           acquire_failures;
  guint           calls_ok;
  guint           calls_failed;
  guint           handed_out_closed;    /* acquires that returned a closed-emitted one */
  gint            connections;          /* distinct connections seen */
  gint            finalized;            /* atomic */
  gint            restarted;            /* atomic: the bus is back */
  gint            ok_after_restart;     /* atomic: a call started after that worked */
} LongLived;

static gboolean
tick (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static gpointer
long_lived_thread (gpointer data)
{
  LongLived *ll = data;

  g_main_context_push_thread_default (ll->context);

  while (!g_atomic_int_get (&ll->stop))
    {
      g_autoptr(GError) error = NULL;
      gboolean after_restart = g_atomic_int_get (&ll->restarted);
      GDBusConnection *connection;
      gint *closed;

      ll->acquires++;
      connection = tether_template_acquire (ll->template, NULL, &error);
      if (connection == NULL)
        ll->acquire_failures++;
      else
        {
          closed = g_hash_table_lookup (ll->seen, connection);
          if (closed == NULL)
            {
              closed = g_new0 (gint, 1);
              g_hash_table_insert (ll->seen, connection, closed);
              test_bus_watch_closed (connection, closed);
              longrun_count_finalized (G_OBJECT (connection), &ll->finalized);
              ll->connections++;
            }
          else if (g_atomic_int_get (closed))
            ll->handed_out_closed++;

          if (test_bus_list_names (connection, ll->context, NULL))
            {
              ll->calls_ok++;
              if (after_restart)
                g_atomic_int_set (&ll->ok_after_restart, 1);
            }
          else
            ll->calls_failed++;
        }

      /* Every 2 ms or so, having dispatched what came meanwhile (such as
       * `closed`). */
      {
        GSource *pause = g_timeout_source_new (2);

        g_source_set_callback (pause, tick, NULL, NULL);
        g_source_attach (pause, ll->context);
        g_main_context_iteration (ll->context, TRUE);
        while (g_main_context_iteration (ll->context, FALSE))
          ;
        g_source_destroy (pause);
        g_source_unref (pause);
      }
    }

  g_main_context_pop_thread_default (ll->context);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The tests                                                                */
/* ------------------------------------------------------------------------ */

typedef struct
{
  Run        run;
  TestBus   *bus;
  LongrunFds fds;
  guint      n_jobs;
  guint      n_left;    /* after the warm-up */
  gint64     start;
} Fixture;

static void
fixture_start (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;

  f->n_jobs = longrun_n_jobs ();
  g_mutex_init (&f->run.lock);
  test_reset_global_state ();
  f->bus = test_bus_new (&error);
  g_assert_no_error (error);
  config = g_strdup_printf ("[provider dbus]\naddress=%s\n", test_bus_get_address (f->bus));
  f->run.template = plugin_test_load ("dbus", config, &error);
  g_assert_no_error (error);

  f->start = g_get_monotonic_time ();
  f->n_left = longrun_warm_up (f->n_jobs, run_job, &f->run, &f->fds);
}

/* Waits for the finalizations, counts the open files, reports, and checks
 * what every run must end with. */
static void
fixture_end (Fixture    *f,
             const char *what)
{
  Run *run = &f->run;

  /* A closed connection's last reference may be GDBus's worker thread's,
   * dropped just after the job. */
  longrun_settle_end (&run->connections_finalized, &run->connections, &run->contexts, &f->fds);

  g_test_message ("%s: %u jobs in %.1f s: %d ok, %d failed; connections %d acquired, "
                  "%d finalized, %d handed out closed",
                  what, f->n_jobs,
                  (g_get_monotonic_time () - f->start) / (double) G_USEC_PER_SEC,
                  run->ok, run->failed, run->connections, run->connections_finalized,
                  run->handed_out_closed);
  longrun_check_end (what, run->template, &f->fds, &run->contexts);
  g_assert_cmpint (run->ok + run->failed, ==, (gint) f->n_jobs);
  g_assert_cmpint (run->contexts.made, ==, (gint) f->n_jobs);
  g_assert_cmpint (run->connections_finalized, ==, run->connections);
  g_assert_cmpint (run->handed_out_closed, ==, 0);

  tether_template_unregister (run->template);
  g_clear_object (&run->template);
  g_clear_pointer (&f->bus, test_bus_free);
  g_mutex_clear (&run->lock);
}

static void
test_longrun_dbus_jobs (void)
{
  Fixture f = { 0 };

  fixture_start (&f);
  longrun_run_pool (LONGRUN_WARM_UP + 1, f.n_left, run_job, &f.run);
  fixture_end (&f, "dbus");
  g_assert_cmpint (f.run.ok, ==, (gint) f.n_jobs);
  g_assert_cmpint (f.run.connections, ==, (gint) f.n_jobs);
}

typedef struct
{
  Fixture *fixture;
  guint    n_jobs;
} RestartData;

static gpointer
jobs_thread (gpointer data)
{
  RestartData *restart = data;

  longrun_run_pool (LONGRUN_WARM_UP + 1, restart->n_jobs, run_job, &restart->fixture->run);
  return NULL;
}

static void
test_longrun_dbus_bus_restart (void)
{
  g_autoptr(GError) error = NULL;
  Fixture f = { 0 };
  Run *run = &f.run;
  LongLived ll = { 0 };
  RestartData restart = { &f, 0 };
  GThread *jobs, *long_lived;
  gint *restarted_ok[1], *finalized[1];
  const gint one[1] = { 1 };
  gint n_connections[1];
  guint64 window_ms;
  guint bound;

  fixture_start (&f);
  restart.n_jobs = f.n_left;

  ll.template = run->template;
  ll.context = g_main_context_new ();
  ll.seen = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  long_lived = g_thread_new ("long-lived", long_lived_thread, &ll);
  jobs = g_thread_new ("jobs", jobs_thread, &restart);

  /* A third of the way: kill the bus, leave it down, start it again. */
  while (g_atomic_int_get (&run->ok) + g_atomic_int_get (&run->failed) <
         (gint) (LONGRUN_WARM_UP + restart.n_jobs / 3))
    g_usleep (1000);
  g_mutex_lock (&run->lock);
  run->killed_at = g_get_monotonic_time ();
  g_mutex_unlock (&run->lock);
  test_bus_kill (f.bus);
  g_usleep (DOWNTIME_MS * 1000);
  g_assert_true (test_bus_restart (f.bus, &error));
  g_assert_no_error (error);
  g_mutex_lock (&run->lock);
  run->ready_at = g_get_monotonic_time ();
  g_mutex_unlock (&run->lock);
  g_atomic_int_set (&ll.restarted, 1);

  g_thread_join (jobs);

  /* The long-lived context has a working connection on the new bus. */
  restarted_ok[0] = &ll.ok_after_restart;
  g_assert_true (longrun_settle (restarted_ok, one, 1, 10000));
  g_atomic_int_set (&ll.stop, 1);
  g_main_context_wakeup (ll.context);
  g_thread_join (long_lived);

  /* Its connection is released, and the one discarded when the bus died
   * (by the janitor, in the global default context, which nobody iterates
   * here: tether_purge() runs it). */
  g_main_context_push_thread_default (ll.context);
  g_assert_true (tether_template_release (run->template, NULL, &error));
  g_assert_no_error (error);
  g_main_context_pop_thread_default (ll.context);
  tether_purge ();
  while (g_main_context_iteration (ll.context, FALSE))
    ;
  finalized[0] = &ll.finalized;
  n_connections[0] = ll.connections;
  g_assert_true (longrun_settle (finalized, n_connections, 1, 5000));
  g_hash_table_unref (ll.seen);
  g_main_context_unref (ll.context);

  window_ms = (guint64) (run->ready_at - run->killed_at) / 1000;
  /* Each worker fails at most the job the kill interrupted, then one job
   * per back-off while the bus is down, and one racing the restart. */
  bound = LONGRUN_WORKERS * (guint) (window_ms / BACKOFF_MS + 2);
  g_test_message ("bus restart: down for %" G_GUINT64_FORMAT " ms; %d jobs failed (bound %u), "
                  "%u outside the restart window",
                  window_ms, run->failed, bound,
                  run->failed_outside_window);
  g_test_message ("long-lived context: %u acquires (%u failed), %u calls ok, %u failed, "
                  "%d connections, %d finalized, %u handed out after `closed`",
                  ll.acquires, ll.acquire_failures, ll.calls_ok, ll.calls_failed,
                  ll.connections, ll.finalized, ll.handed_out_closed);

  fixture_end (&f, "dbus, bus restarted");
  g_assert_cmpuint (run->failed_outside_window, ==, 0);
  g_assert_cmpuint ((guint) run->failed, <=, bound);
  g_assert_cmpuint (ll.handed_out_closed, ==, 0);
  g_assert_cmpint (ll.connections, >=, 2);
  g_assert_cmpint (ll.finalized, ==, ll.connections);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  longrun_init ();
  tether_set_unmanaged_warning_enabled (FALSE);

  if (!test_bus_available ())
    {
      /* Install Debian's dbus-daemon (./dev deps does). */
      g_test_skip ("dbus-daemon is not installed");
      return g_test_run ();
    }

  g_test_add_func ("/longrun/dbus/jobs", test_longrun_dbus_jobs);
  g_test_add_func ("/longrun/dbus/bus-restart", test_longrun_dbus_bus_restart);

  return g_test_run ();
}
