/* test-sqlite.c: the sqlite provider on a real database file
 *
 * Several worker threads, each in its own context with a manager, write
 * rows concurrently through the connection the provider gives their
 * context; at the end every row written is in the file.
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

  return g_test_run ();
}
