/* tether-jobs.c: a GApplication running each threaded job in its own context
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The application starts a small line-echo service on 127.0.0.1 in its main
 * context, then runs --jobs jobs with g_task_run_in_thread(). Each job calls
 * tether_run_in_new_context(): a fresh GMainContext, pushed as the worker's
 * thread-default, with a manager around the job. Inside, the job acquires
 * its GSocketClient from an object template (one per context, made on the
 * worker with the job's context pushed), connects asynchronously, sends a
 * line and reads the echo, iterating its own context until done. When the
 * job returns, the client is released on the worker thread and the context
 * is freed. The result goes back to the main thread through the GTask.
 *
 * Exit status 0 when every job succeeded, every client was released
 * gracefully exactly once, and none is left.
 *
 *   tether-jobs [--jobs N]
 */

#include <string.h>

#include <tether/tether.h>

#define JOB_TIMEOUT_SECONDS 20

/* Counters shared by the workers; atomic. */
static gint n_clients_made;
static gint n_clients_released_graceful;
static gint n_clients_released_ungraceful;
static gint n_acquired_without_context;

static TetherTemplate *client_template;

/* ------------------------------------------------------------------------ */
/* The provider: one GSocketClient per context                              */
/* ------------------------------------------------------------------------ */

static GObject *
client_acquire (GMainContext  *context,
                gpointer       user_data,
                GError       **error)
{
  GSocketClient *client;

  /* tether pushed the job's context: async operations started with this
   * client from this thread complete in it. */
  if (g_main_context_get_thread_default () != context)
    g_atomic_int_inc (&n_acquired_without_context);

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, JOB_TIMEOUT_SECONDS);
  g_atomic_int_inc (&n_clients_made);
  return G_OBJECT (client);
}

static void
client_release (GObject      *object,
                GMainContext *context,
                gboolean      graceful,
                gpointer      user_data)
{
  /* The template drops its reference right after; nothing to close. */
  if (graceful)
    g_atomic_int_inc (&n_clients_released_graceful);
  else
    g_atomic_int_inc (&n_clients_released_ungraceful);
}

/* ------------------------------------------------------------------------ */
/* The echo service, in the main context                                     */
/* ------------------------------------------------------------------------ */

static void
on_echo_line (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GSocketConnection *connection = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  GOutputStream *out;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  if (line != NULL)
    {
      g_autofree char *reply = g_strdup_printf ("echo %s\n", line);

      out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
      g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_object_unref (source);
  g_object_unref (connection);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  GDataInputStream *in;

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, NULL, on_echo_line,
                                       g_object_ref (connection));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* A job                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct
{
  guint         number;
  guint16       port;
  /* Results, read by the main thread once the task returns */
  char         *reply;
  GMainContext *context;      /* identity only: the job's context */
  GObject      *client;       /* identity only: the job's client */
  char         *thread_name;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_free (job->reply);
  g_free (job->thread_name);
  g_free (job);
}

typedef struct
{
  GSocketConnection *connection;
  GError            *error;
  gboolean           done;
} Pending;

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Pending *pending = user_data;

  pending->connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source),
                                                                result, &pending->error);
  pending->done = TRUE;
}

/* Runs on the worker, with the job's own context pushed and managed. */
static gboolean
job_scope (gpointer   user_data,
           GError   **error)
{
  Job *job = user_data;
  GMainContext *context = g_main_context_get_thread_default ();
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", job->port);
  g_autofree char *line = g_strdup_printf ("job %u\n", job->number);
  g_autoptr(GDataInputStream) in = NULL;
  Pending pending = { 0 };
  GOutputStream *out;
  GObject *client;

  client = tether_template_acquire_object (client_template, NULL, error);
  if (client == NULL)
    return FALSE;
  job->client = client;
  job->context = context;
  job->thread_name = g_strdup_printf ("%p", (gpointer) g_thread_self ());

  /* Asynchronous I/O, completed in this job's own context. */
  g_socket_client_connect_to_host_async (G_SOCKET_CLIENT (client), address, 0, NULL,
                                         on_connected, &pending);
  while (!pending.done)
    g_main_context_iteration (context, TRUE);
  if (pending.connection == NULL)
    {
      g_propagate_error (error, pending.error);
      return FALSE;
    }

  out = g_io_stream_get_output_stream (G_IO_STREAM (pending.connection));
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (pending.connection)));
  if (!g_output_stream_write_all (out, line, strlen (line), NULL, NULL, error))
    {
      g_object_unref (pending.connection);
      return FALSE;
    }
  job->reply = g_data_input_stream_read_line (in, NULL, NULL, error);
  g_io_stream_close (G_IO_STREAM (pending.connection), NULL, NULL);
  g_object_unref (pending.connection);

  return job->reply != NULL;
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;

  if (tether_run_in_new_context (job_scope, task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* ------------------------------------------------------------------------ */
/* The application                                                           */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GApplication   *app;
  guint           n_jobs;
  guint           n_done;
  guint           n_failed;
  GPtrArray      *jobs;        /* Job*, owned by their tasks; identity only */
  GSocketService *service;
} Run;

static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Run *run = user_data;
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = g_strdup_printf ("echo job %u", job->number);

  /* Back on the main thread, in the default context. */
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_printerr ("job %u failed: %s\n", job->number, error->message);
      run->n_failed++;
    }
  else if (g_strcmp0 (job->reply, expected) != 0)
    {
      g_printerr ("job %u: got '%s', expected '%s'\n", job->number, job->reply, expected);
      run->n_failed++;
    }
  else
    {
      g_print ("job %u: context %p, client %p, thread %s: %s\n", job->number,
               (gpointer) job->context, (gpointer) job->client, job->thread_name, job->reply);
    }

  if (++run->n_done == run->n_jobs)
    g_application_release (run->app);
}

static void
on_activate (GApplication *app,
             gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;
  guint16 port;

  run->service = g_socket_service_new ();
  port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (run->service), NULL, &error);
  if (port == 0)
    {
      g_printerr ("tether-jobs: cannot listen: %s\n", error->message);
      run->n_failed = run->n_jobs;
      return;
    }
  g_signal_connect (run->service, "incoming", G_CALLBACK (on_incoming), NULL);
  g_socket_service_start (run->service);

  g_application_hold (app);
  for (guint i = 0; i < run->n_jobs; i++)
    {
      g_autoptr(GTask) task = g_task_new (app, NULL, on_job_done, run);
      Job *job = g_new0 (Job, 1);

      job->number = i + 1;
      job->port = port;
      g_ptr_array_add (run->jobs, job);
      g_task_set_task_data (task, job, job_free);
      g_task_run_in_thread (task, job_thread);
    }
}

static gint
on_handle_local_options (GApplication *app,
                         GVariantDict *options,
                         gpointer      user_data)
{
  Run *run = user_data;
  gint n_jobs = 6;

  g_variant_dict_lookup (options, "jobs", "i", &n_jobs);
  if (n_jobs < 1 || n_jobs > 64)
    {
      g_printerr ("tether-jobs: --jobs must be between 1 and 64\n");
      return 2;
    }
  run->n_jobs = (guint) n_jobs;
  return -1;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { 0 };
  int status;

  client_template = tether_template_new_for_object ("socket-client",
                                                    "a GSocketClient per context",
                                                    G_TYPE_SOCKET_CLIENT,
                                                    client_acquire, NULL, NULL,
                                                    client_release, NULL, NULL,
                                                    &error);
  g_assert_no_error (error);

  app = g_application_new ("org.example.TetherJobs", G_APPLICATION_NON_UNIQUE);
  run.app = app;
  run.jobs = g_ptr_array_new ();
  g_application_add_main_option (app, "jobs", 'j', G_OPTION_FLAG_NONE, G_OPTION_ARG_INT,
                                 "Number of jobs to run (default 6)", "N");
  g_signal_connect (app, "handle-local-options", G_CALLBACK (on_handle_local_options), &run);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), &run);

  status = g_application_run (app, argc, argv);

  if (run.service != NULL)
    {
      g_socket_service_stop (run.service);
      g_socket_listener_close (G_SOCKET_LISTENER (run.service));
      g_object_unref (run.service);
    }
  g_ptr_array_unref (run.jobs);

  tether_template_unregister (client_template);
  g_print ("%u jobs, %u failed; clients: %d made, %d released gracefully, "
           "%d ungracefully, %u still held\n",
           run.n_jobs, run.n_failed, g_atomic_int_get (&n_clients_made),
           g_atomic_int_get (&n_clients_released_graceful),
           g_atomic_int_get (&n_clients_released_ungraceful),
           tether_template_get_n_held (client_template));

  if (status == 0 &&
      (run.n_failed != 0 || run.n_done != run.n_jobs ||
       n_clients_made != (gint) run.n_jobs ||
       n_clients_released_graceful != n_clients_made ||
       n_clients_released_ungraceful != 0 ||
       n_acquired_without_context != 0 ||
       tether_template_get_n_held (client_template) != 0))
    status = 1;

  g_object_unref (client_template);
  return status;
}
