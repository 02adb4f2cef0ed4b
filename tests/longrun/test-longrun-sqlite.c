/* test-longrun-sqlite.c: the sqlite provider over many jobs
 *
 * A database file in a temporary directory, in WAL mode (the configuration
 * docs/plugins.md recommends). Each job, in a context of its own from
 * tether_run_in_new_context() on a pool of 4 threads, inserts a row
 * through the connection the provider gives its context and reads it back
 * (odd jobs acquire asynchronously, which opens in a worker thread). At the
 * end: every connection closed (SQLITE_TRACE_CLOSE), every job's context
 * finalized, the open files back where they were, the stats balanced, and
 * every row in the file.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <sqlite3.h>

#include <glib/gstdio.h>

#include "longrun-util.h"

typedef struct
{
  TetherTemplate  *template;
  LongrunContexts  contexts;
  gint             connections;          /* atomic: acquired by a job */
  gint             connections_closed;   /* atomic */
  gint             ok;                   /* atomic */
  gint             failed;               /* atomic */
} Run;

typedef struct
{
  Run      *run;
  guint     number;
  GError   *error;
} Job;

/* SQLite says so when a connection really closes (sqlite3_close_v2()
 * defers it while statements are alive). */
static int
on_trace (unsigned  type,
          void     *data,
          void     *p,
          void     *x)
{
  if (type == SQLITE_TRACE_CLOSE)
    g_atomic_int_inc ((gint *) data);
  return 0;
}

static gboolean
sqlite_failed (sqlite3     *db,
               int          rc,
               const char  *what,
               GError     **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s (%d)", what, sqlite3_errmsg (db),
               rc);
  return FALSE;
}

static gboolean
job_scope (gpointer   user_data,
           GError   **error)
{
  Job *job = user_data;
  Run *run = job->run;
  GMainContext *context = g_main_context_get_thread_default ();
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db;
  int rc;

  longrun_watch_context (&run->contexts, context);

  db = longrun_acquire (run->template, job->number, &job->error);
  if (db == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  g_atomic_int_inc (&run->connections);
  sqlite3_trace_v2 (db, SQLITE_TRACE_CLOSE, on_trace, &run->connections_closed);

  rc = sqlite3_prepare_v2 (db, "INSERT INTO jobs (number, thread) VALUES (?, ?)", -1, &stmt,
                           NULL);
  if (rc != SQLITE_OK)
    return sqlite_failed (db, rc, "prepare INSERT", error);
  sqlite3_bind_int (stmt, 1, (int) job->number);
  sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) GPOINTER_TO_SIZE (g_thread_self ()));
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return sqlite_failed (db, rc, "INSERT", error);

  rc = sqlite3_prepare_v2 (db, "SELECT number FROM jobs WHERE number = ?", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return sqlite_failed (db, rc, "prepare SELECT", error);
  sqlite3_bind_int (stmt, 1, (int) job->number);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW || sqlite3_column_int (stmt, 0) != (int) job->number)
    {
      sqlite3_finalize (stmt);
      return sqlite_failed (db, rc, "SELECT", error);
    }
  sqlite3_finalize (stmt);
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

static guint
count_rows (const char *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint n;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT COUNT(DISTINCT number) FROM jobs", -1, &stmt,
                                       NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = (guint) sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

static void
test_longrun_sqlite (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tether-longrun-sqlite-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "jobs.db", NULL);
  g_autofree char *config = NULL;
  guint n_jobs = longrun_n_jobs ();
  guint n_left;
  LongrunFds fds = { 0 };
  Run run = { 0 };
  sqlite3 *db = NULL;
  gint64 start;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE jobs (number INTEGER PRIMARY KEY, "
                                     "thread INTEGER NOT NULL)",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);

  test_reset_global_state ();
  config = g_strdup_printf ("[provider sqlite]\npath=%s\nbusy-timeout=10000\n"
                            "pragmas=journal_mode=WAL;synchronous=NORMAL\n",
                            path);
  run.template = plugin_test_load ("sqlite", config, &error);
  g_assert_no_error (error);

  start = g_get_monotonic_time ();
  n_left = longrun_warm_up (n_jobs, run_job, &run, &fds);
  longrun_run_pool (LONGRUN_WARM_UP + 1, n_left, run_job, &run);

  longrun_settle_end (&run.connections_closed, &run.connections, &run.contexts, &fds);

  g_test_message ("sqlite: %u jobs in %.1f s: %d ok, %d failed; connections %d opened, "
                  "%d closed",
                  n_jobs,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC,
                  run.ok, run.failed, run.connections, run.connections_closed);
  longrun_check_end ("sqlite", run.template, &fds, &run.contexts);
  g_assert_cmpint (run.ok, ==, (gint) n_jobs);
  g_assert_cmpint (run.failed, ==, 0);
  g_assert_cmpint (run.connections, ==, (gint) n_jobs);
  g_assert_cmpint (run.connections_closed, ==, run.connections);
  g_assert_cmpint (run.contexts.made, ==, (gint) n_jobs);
  g_assert_cmpuint (count_rows (path), ==, n_jobs);

  tether_template_unregister (run.template);
  g_clear_object (&run.template);
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);

    g_unlink (path);
    g_unlink (wal);
    g_unlink (shm);
  }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  longrun_init ();
  tether_set_unmanaged_warning_enabled (FALSE);

  g_test_add_func ("/longrun/sqlite/jobs", test_longrun_sqlite);

  return g_test_run ();
}
