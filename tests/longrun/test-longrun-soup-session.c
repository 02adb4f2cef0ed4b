/* test-longrun-soup-session.c: the soup-session provider over many jobs
 *
 * A SoupServer on 127.0.0.1 runs in a process of its own (this program,
 * run with --server), so that the open files counted here are the
 * client's. Each job, in a context of its own from
 * tether_run_in_new_context() on a pool of 4 threads, GETs one page
 * through the session the provider gives its context (odd jobs acquire
 * asynchronously). At the end: every session finalized, every job's
 * context finalized, the open files back where they were, and the stats
 * balanced.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libsoup/soup.h>

#include "longrun-util.h"

/* ------------------------------------------------------------------------ */
/* The server process                                                       */
/* ------------------------------------------------------------------------ */

static void
page_handler (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  /* "/job/N" answers "job N". */
  g_autofree char *body = g_strdup_printf ("job %s", path + strlen ("/job/"));

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, body, strlen (body));
}

/* The parent closes our stdin, or dies: we end. */
static gpointer
watch_stdin (gpointer data)
{
  char buffer[64];

  while (read (STDIN_FILENO, buffer, sizeof buffer) > 0)
    ;
  _exit (0);
  return NULL;
}

static int
run_server (void)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  GSList *uris;

  soup_server_add_handler (server, "/job", page_handler, NULL, NULL);
  if (!soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("listen: %s", error->message);
  uris = soup_server_get_uris (server);
  printf ("%d\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_thread_unref (g_thread_new ("stdin", watch_stdin, NULL));
  g_main_loop_run (loop);
  return 0;
}

typedef struct
{
  GSubprocess *process;
  char        *base_uri;
} Server;

static void
server_start (Server *server)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  g_autofree char *asan = NULL;
  g_autofree char *line = NULL;

  g_assert_no_error (error);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  /* The server is libsoup's, not what this test checks: under
   * AddressSanitizer, its leaks at exit (libsoup 3.2 loses accepted
   * sockets) are not reported. */
  asan = g_strconcat (g_getenv ("ASAN_OPTIONS") != NULL ? g_getenv ("ASAN_OPTIONS") : "",
                      ":detect_leaks=0", NULL);
  g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", asan, TRUE);
  server->process = g_subprocess_launcher_spawn (launcher, &error, self, "--server", NULL);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_input_stream_close (g_subprocess_get_stdout_pipe (server->process), NULL, NULL);
  server->base_uri = g_strdup_printf ("http://127.0.0.1:%s/job/", line);
}

static void
server_stop (Server *server)
{
  g_subprocess_force_exit (server->process);
  g_subprocess_wait (server->process, NULL, NULL);
  g_clear_object (&server->process);
  g_free (server->base_uri);
}

/* ------------------------------------------------------------------------ */
/* The jobs                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate  *template;
  const char      *base_uri;
  LongrunContexts  contexts;
  gint             sessions;            /* atomic: acquired by a job */
  gint             sessions_finalized;  /* atomic */
  gint             ok;                  /* atomic */
  gint             failed;              /* atomic */
} Run;

typedef struct
{
  Run         *run;
  guint        number;
  GBytes      *body;
  GError      *error;
  gboolean     done;
} Job;

static void
job_got_page (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Job *job = user_data;

  job->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &job->error);
  job->done = TRUE;
}

static gboolean
job_scope (gpointer   user_data,
           GError   **error)
{
  Job *job = user_data;
  Run *run = job->run;
  GMainContext *context = g_main_context_get_thread_default ();
  g_autofree char *uri = g_strdup_printf ("%s%u", run->base_uri, job->number);
  g_autofree char *expected = g_strdup_printf ("job %u", job->number);
  g_autoptr(SoupMessage) msg = NULL;
  SoupSession *session;

  longrun_watch_context (&run->contexts, context);

  session = longrun_acquire (run->template, job->number, &job->error);
  if (session == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  g_atomic_int_inc (&run->sessions);
  longrun_count_finalized (G_OBJECT (session), &run->sessions_finalized);

  msg = soup_message_new ("GET", uri);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, job_got_page, job);
  while (!job->done)
    g_main_context_iteration (context, TRUE);
  if (job->body == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK ||
      g_bytes_get_size (job->body) != strlen (expected) ||
      memcmp (g_bytes_get_data (job->body, NULL), expected, strlen (expected)) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: status %u, unexpected body", uri,
                   soup_message_get_status (msg));
      g_bytes_unref (job->body);
      return FALSE;
    }
  g_bytes_unref (job->body);
  return TRUE;
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  Job job = { .run = user_data, .number = GPOINTER_TO_UINT (data) };
  g_autoptr(GError) error = NULL;

  if (tether_run_in_new_context (job_scope, &job, &error))
    g_atomic_int_inc (&job.run->ok);
  else if (g_atomic_int_add (&job.run->failed, 1) < 5)
    g_test_message ("job %u failed: %s", job.number, error->message);
}

static void
test_longrun_soup_session (void)
{
  g_autoptr(GError) error = NULL;
  guint n_jobs = longrun_n_jobs ();
  guint n_left;
  Server server = { 0 };
  LongrunFds fds = { 0 };
  Run run = { 0 };
  gint64 start;

  test_reset_global_state ();
  server_start (&server);
  run.base_uri = server.base_uri;
  run.template = plugin_test_load ("soup-session",
                                   "[provider soup-session]\nmax-conns=2\ntimeout=30\n",
                                   &error);
  g_assert_no_error (error);

  start = g_get_monotonic_time ();
  n_left = longrun_warm_up (n_jobs, run_job, &run, &fds);
  longrun_run_pool (LONGRUN_WARM_UP + 1, n_left, run_job, &run);

  longrun_settle_end (&run.sessions_finalized, &run.sessions, &run.contexts, &fds);

  g_test_message ("soup-session: %u jobs in %.1f s: %d ok, %d failed; sessions %d acquired, "
                  "%d finalized",
                  n_jobs,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC,
                  run.ok, run.failed, run.sessions, run.sessions_finalized);
  longrun_check_end ("soup-session", run.template, &fds, &run.contexts);
  g_assert_cmpint (run.ok, ==, (gint) n_jobs);
  g_assert_cmpint (run.failed, ==, 0);
  g_assert_cmpint (run.sessions, ==, (gint) n_jobs);
  g_assert_cmpint (run.sessions_finalized, ==, run.sessions);
  g_assert_cmpint (run.contexts.made, ==, (gint) n_jobs);

  tether_template_unregister (run.template);
  g_clear_object (&run.template);
  server_stop (&server);
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 2 && g_str_equal (argv[1], "--server"))
    return run_server ();

  g_test_init (&argc, &argv, NULL);
  longrun_init ();
  tether_set_unmanaged_warning_enabled (FALSE);

  g_test_add_func ("/longrun/soup-session/jobs", test_longrun_soup_session);

  return g_test_run ();
}
