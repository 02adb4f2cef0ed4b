/* test-sqlite.c: the sqlite provider on a real database file
 *
 * Several worker threads, each in its own context with a manager, write
 * rows concurrently through the connection the provider gives their
 * context; at the end every row written is in the file. Then: many
 * contexts opening one new file at once all switch it to WAL (SQLite does
 * not wait for that lock by itself), and an asynchronous acquire opens in
 * a worker thread, leaving the context free while the database is locked.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <sqlite3.h>

#include <glib/gstdio.h>

#include "plugin-test-util.h"

#define N_WRITERS 4
#define N_ROWS    60

typedef struct
{
  guint           id;
  TetherTemplate *template;
  sqlite3        *db;          /* identity only once the scope ended */
  guint           n_written;
} Writer;

static void
exec_or_fail (sqlite3    *db,
              const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static gboolean
writer_scope (gpointer   user_data,
              GError   **error)
{
  Writer *writer = user_data;
  sqlite3_stmt *insert = NULL;
  sqlite3 *db;

  db = tether_template_acquire (writer->template, NULL, error);
  if (db == NULL)
    return FALSE;
  writer->db = db;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO rows (writer, seq) VALUES (?, ?)", -1,
                                       &insert, NULL), ==, SQLITE_OK);
  for (guint i = 0; i < N_ROWS; i++)
    {
      /* One transaction per row: maximum contention between contexts.
       * BEGIN IMMEDIATE takes the write lock up front, so the busy
       * timeout (not a deadlock error) arbitrates. */
      exec_or_fail (db, "BEGIN IMMEDIATE");
      sqlite3_bind_int (insert, 1, (int) writer->id);
      sqlite3_bind_int (insert, 2, (int) i);
      g_assert_cmpint (sqlite3_step (insert), ==, SQLITE_DONE);
      sqlite3_reset (insert);
      exec_or_fail (db, "COMMIT");
      writer->n_written++;
      if (i % 16 == 0)
        g_thread_yield ();
    }
  sqlite3_finalize (insert);

  /* The same connection for the whole scope. */
  g_assert_true (tether_template_acquire (writer->template, NULL, NULL) == db);
  return TRUE;
}

static gpointer
writer_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_run_in_new_context (writer_scope, data, &error));
  g_assert_no_error (error);
  return NULL;
}

static gboolean
create_table (gpointer   user_data,
              GError   **error)
{
  sqlite3 *db = tether_template_acquire (user_data, NULL, error);

  if (db == NULL)
    return FALSE;
  exec_or_fail (db, "CREATE TABLE rows (writer INTEGER NOT NULL, seq INTEGER NOT NULL, "
                    "PRIMARY KEY (writer, seq))");
  return TRUE;
}

static void
test_sqlite_concurrent_writers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tether-sqlite-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "test.db", NULL);
  g_autofree char *config = NULL;
  Writer writers[N_WRITERS] = { 0 };
  GThread *threads[N_WRITERS];
  sqlite3 *check = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_no_error (error);
  test_reset_global_state ();
  config = g_strdup_printf ("[provider sqlite]\n"
                            "path=%s\n"
                            "open-flags=readwrite;create\n"
                            "busy-timeout=20000\n"
                            "pragmas=journal_mode=WAL;synchronous=NORMAL\n",
                            path);
  template = plugin_test_load ("sqlite", config, &error);
  g_assert_no_error (error);

  g_assert_true (tether_run_in_new_context (create_table, template, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < N_WRITERS; i++)
    {
      writers[i].id = i + 1;
      writers[i].template = template;
      threads[i] = g_thread_new ("sqlite-writer", writer_thread, &writers[i]);
    }
  for (guint i = 0; i < N_WRITERS; i++)
    g_thread_join (threads[i]);

  for (guint i = 0; i < N_WRITERS; i++)
    g_assert_cmpuint (writers[i].n_written, ==, N_ROWS);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  /* Every row is there, read through a connection of our own. */
  g_assert_cmpint (sqlite3_open_v2 (path, &check, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (check,
                                       "SELECT COUNT(*), COUNT(DISTINCT writer), MIN(seq), MAX(seq) "
                                       "FROM rows", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, N_WRITERS * N_ROWS);
  g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, N_WRITERS);
  g_assert_cmpint (sqlite3_column_int (stmt, 2), ==, 0);
  g_assert_cmpint (sqlite3_column_int (stmt, 3), ==, N_ROWS - 1);
  sqlite3_finalize (stmt);

  /* The pragmas reached the connections. */
  g_assert_cmpint (sqlite3_prepare_v2 (check, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
  sqlite3_finalize (stmt);
  sqlite3_close (check);

  tether_template_unregister (template);
  g_clear_object (&template);
  g_unlink (path);
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);

    g_unlink (wal);
    g_unlink (shm);
  }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A context that dies unreleased: the connection does not ref it, so the
 * connection is purged and closed from the janitor side. */
static void
test_sqlite_ungraceful (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  GMainContext *context = g_main_context_new ();
  sqlite3 *db;

  test_reset_global_state ();
  template = plugin_test_load ("sqlite", NULL, &error);
  g_assert_no_error (error);

  db = tether_template_acquire (template, context, &error);
  g_assert_no_error (error);
  /* Default: a private in-memory database. */
  exec_or_fail (db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)");
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 1);

  g_main_context_unref (context);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  g_assert_cmpuint (tether_template_purge (template), ==, 1);
  tether_template_unregister (template);
}

static void
test_sqlite_bad_config (void)
{
  static const char *configs[] = {
    "[provider sqlite]\nopen-flags=readwrite;sideways\n",
    "[provider sqlite]\npragmas=journal_mode=WAL; DROP TABLE x\n",
    "[provider sqlite]\npragmas=noequals\n",
    "[provider sqlite]\nbusy-timeout=soon\n",
  };

  test_reset_global_state ();
  for (guint i = 0; i < G_N_ELEMENTS (configs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherTemplate) template = plugin_test_load ("sqlite", configs[i], &error);

      g_assert_null (template);
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED);
      g_test_message ("%s", error->message);
    }
}

static void
test_sqlite_open_fails (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();

  test_reset_global_state ();
  template = plugin_test_load ("sqlite",
                               "[provider sqlite]\npath=/nonexistent/dir/x.db\n", &error);
  g_assert_no_error (error);

  g_assert_null (tether_template_acquire (template, context, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "/nonexistent/dir/x.db"));
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  tether_template_unregister (template);
}

/* ------------------------------------------------------------------------ */
/* Many contexts opening one new file                                       */
/* ------------------------------------------------------------------------ */

#define N_OPENERS 4
#define N_ROUNDS  100

typedef struct
{
  TetherTemplate *template;
  GMutex          lock;
  GCond           cond;
  guint           waiting;    /* protected by @lock: openers at the gate */
  gint            failures;   /* atomic */
  GError         *first_error; /* protected by @lock */
} Openers;

static gboolean
open_scope (gpointer   user_data,
            GError   **error)
{
  Openers *openers = user_data;
  sqlite3 *db;

  /* All at once: the last one in opens the gate. */
  g_mutex_lock (&openers->lock);
  if (++openers->waiting == N_OPENERS)
    g_cond_broadcast (&openers->cond);
  while (openers->waiting < N_OPENERS)
    g_cond_wait (&openers->cond, &openers->lock);
  g_mutex_unlock (&openers->lock);

  db = tether_template_acquire (openers->template, NULL, error);
  if (db == NULL)
    return FALSE;
  exec_or_fail (db, "CREATE TABLE IF NOT EXISTS t (x)");
  return TRUE;
}

static gpointer
opener_thread (gpointer data)
{
  Openers *openers = data;
  GError *error = NULL;

  if (!tether_run_in_new_context (open_scope, openers, &error))
    {
      g_atomic_int_inc (&openers->failures);
      g_mutex_lock (&openers->lock);
      if (openers->first_error == NULL)
        openers->first_error = g_steal_pointer (&error);
      g_mutex_unlock (&openers->lock);
      g_clear_error (&error);
    }
  return NULL;
}

static void
remove_database (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autofree char *journal = g_strconcat (path, "-journal", NULL);

  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  g_unlink (journal);
}

/* The configuration docs/plugins.md recommends, on a file nobody opened
 * yet, by many contexts at once, round after round: switching the file to
 * WAL takes a lock SQLite does not wait for, so without the provider's
 * retry some first opens fail with "database is locked". */
static void
test_sqlite_wal_first_open (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tether-sqlite-wal-XXXXXX", &error);
  Openers openers = { 0 };
  guint failures = 0;

  g_assert_no_error (error);
  g_mutex_init (&openers.lock);
  g_cond_init (&openers.cond);
  test_reset_global_state ();

  for (guint round = 0; round < N_ROUNDS; round++)
    {
      g_autofree char *name = g_strdup_printf ("round-%u.db", round);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *config = g_strdup_printf ("[provider sqlite]\n"
                                                 "path=%s\n"
                                                 "busy-timeout=5000\n"
                                                 "pragmas=journal_mode=WAL;synchronous=NORMAL\n",
                                                 path);
      GThread *threads[N_OPENERS];
      sqlite3 *check = NULL;
      sqlite3_stmt *stmt = NULL;

      openers.template = plugin_test_load ("sqlite", config, &error);
      g_assert_no_error (error);
      openers.waiting = 0;
      for (guint i = 0; i < N_OPENERS; i++)
        threads[i] = g_thread_new ("sqlite-opener", opener_thread, &openers);
      for (guint i = 0; i < N_OPENERS; i++)
        g_thread_join (threads[i]);
      g_assert_cmpuint (tether_template_get_n_held (openers.template), ==, 0);
      tether_template_unregister (openers.template);
      g_clear_object (&openers.template);

      g_assert_cmpint (sqlite3_open_v2 (path, &check, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
      g_assert_cmpint (sqlite3_prepare_v2 (check, "PRAGMA journal_mode", -1, &stmt, NULL), ==,
                       SQLITE_OK);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
      g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
      sqlite3_finalize (stmt);
      sqlite3_close (check);
      remove_database (path);
    }

  failures = (guint) g_atomic_int_get (&openers.failures);
  g_test_message ("%u rounds of %u contexts opening a new file: %u failed%s%s", N_ROUNDS,
                  N_OPENERS, failures, openers.first_error != NULL ? ", the first with: " : "",
                  openers.first_error != NULL ? openers.first_error->message : "");
  g_assert_no_error (openers.first_error);
  g_assert_cmpuint (failures, ==, 0);

  g_mutex_clear (&openers.lock);
  g_cond_clear (&openers.cond);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* ------------------------------------------------------------------------ */
/* An asynchronous acquire opens in a worker thread                         */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;
  sqlite3        *db;
  GError         *error;
  gint            ticks;       /* atomic */
  gboolean        completed;
} LockedOpen;

static gboolean
on_tick (gpointer data)
{
  LockedOpen *open = data;

  g_atomic_int_inc (&open->ticks);
  return G_SOURCE_CONTINUE;
}

static void
locked_open_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  LockedOpen *open = user_data;

  open->db = tether_template_acquire_finish (open->template, result, &open->error);
  open->completed = TRUE;
}

/* Another connection holds the file locked, so the provider's open waits
 * (its pragma needs to read the file). An asynchronous caller's context
 * goes on dispatching meanwhile: the open is in a worker thread, not in an
 * idle of the context. */
static void
test_sqlite_async_open_in_worker (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tether-sqlite-async-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "locked.db", NULL);
  g_autofree char *config = NULL;
  GMainContext *context = g_main_context_new ();
  GSource *tick = g_timeout_source_new (5);
  LockedOpen open = { 0 };
  sqlite3 *holder = NULL;
  gint ticks_while_locked;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open_v2 (path, &holder, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                    NULL),
                   ==, SQLITE_OK);
  exec_or_fail (holder, "CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)");

  config = g_strdup_printf ("[provider sqlite]\npath=%s\nbusy-timeout=20000\n"
                            "pragmas=journal_mode=WAL\n",
                            path);
  test_reset_global_state ();
  template = plugin_test_load ("sqlite", config, &error);
  g_assert_no_error (error);
  open.template = template;

  g_main_context_push_thread_default (context);
  g_source_set_callback (tick, on_tick, &open, NULL);
  g_source_attach (tick, context);

  tether_template_acquire_async (template, NULL, NULL, locked_open_done, &open);
  while (g_atomic_int_get (&open.ticks) < 20 && !open.completed)
    g_main_context_iteration (context, TRUE);
  ticks_while_locked = g_atomic_int_get (&open.ticks);
  g_assert_false (open.completed);
  g_assert_cmpint (ticks_while_locked, >=, 20);

  exec_or_fail (holder, "COMMIT");
  while (!open.completed)
    g_main_context_iteration (context, TRUE);
  g_assert_no_error (open.error);
  g_assert_nonnull (open.db);
  g_assert_true (tether_template_acquire (template, NULL, NULL) == open.db);
  exec_or_fail (open.db, "INSERT INTO t VALUES (2)");

  g_assert_true (tether_template_release (template, NULL, &error));
  g_assert_no_error (error);
  g_source_destroy (tick);
  g_source_unref (tick);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  sqlite3_close (holder);
  tether_template_unregister (template);
  remove_database (path);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

  g_test_add_func ("/providers/sqlite/concurrent-writers", test_sqlite_concurrent_writers);
  g_test_add_func ("/providers/sqlite/ungraceful", test_sqlite_ungraceful);
  g_test_add_func ("/providers/sqlite/bad-config", test_sqlite_bad_config);
  g_test_add_func ("/providers/sqlite/open-fails", test_sqlite_open_fails);
  g_test_add_func ("/providers/sqlite/wal-first-open", test_sqlite_wal_first_open);
  g_test_add_func ("/providers/sqlite/async-open-in-worker", test_sqlite_async_open_in_worker);

  return g_test_run ();
}
