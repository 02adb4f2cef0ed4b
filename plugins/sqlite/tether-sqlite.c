/* tether-sqlite.c: the "sqlite" provider
 *
 * Resource: one sqlite3 connection (`sqlite3 *`) per GMainContext, so
 * every context has its own connection and its own transactions; SQLite's
 * locking (with the busy timeout) arbitrates between them.
 *
 * Refs its context: no. A connection has nothing to do with main contexts;
 * it never keeps its context alive, so when a context dies unreleased its
 * connection is purged (closed) from the janitor.
 *
 * Connections are opened in SQLite's serialized mode (SQLITE_OPEN_FULLMUTEX)
 * unless the configuration says `nomutex`: an ungraceful release closes the
 * connection from another thread than the one that used it.
 *
 * Graceful release: runs `PRAGMA optimize` (cheap; lets SQLite refresh
 * statistics it found missing during the connection's life), then
 * sqlite3_close_v2().
 * Ungraceful release (context == NULL, janitor thread): sqlite3_close_v2()
 * only; an open transaction is rolled back by SQLite, statements still
 * alive defer the close until they are finalized.
 *
 * Acquire: opens the connection and runs the configured pragmas, on the
 * calling thread for a synchronous caller, in a worker thread (GTask) for
 * an asynchronous one: a connection is not bound to any context, and an
 * open can wait on the disk and on other connections' locks. A pragma that
 * finds the database locked (SQLITE_BUSY or SQLITE_LOCKED) is retried until
 * the busy timeout has passed: switching a new file to WAL needs a lock
 * that SQLite does not wait for (its busy handler is not called there), so
 * connections opening one new file at once would otherwise fail with
 * "database is locked" despite the busy timeout.
 *
 * Dies on its own: never detected here. SQLite reports a fatal error
 * (SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_NOTADB) to the statement that met
 * it, and has no per-connection notification; the application that gets
 * one calls tether_template_discard() so that the next acquire for its
 * context opens a new connection.
 *
 * Configuration, group [provider sqlite]:
 *   path=FILE           database file, or :memory: (default), or a URI with `uri`
 *   open-flags=LIST     of readwrite, readonly, create, uri, memory, nomutex,
 *                       fullmutex, sharedcache, privatecache, nofollow
 *                       (default readwrite;create)
 *   busy-timeout=MS     how long a locked database is retried, by SQLite
 *                       for statements, by the provider for the pragmas
 *                       (default 5000)
 *   pragmas=LIST        of NAME=VALUE run on each new connection, e.g.
 *                       journal_mode=WAL;synchronous=NORMAL
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <sqlite3.h>

#include <tether/tether.h>

typedef struct
{
  char  *path;
  int    flags;
  gint   busy_timeout_ms;
  char **pragmas;          /* validated "name=value" statements */
} SqliteConfig;

static void
config_free (gpointer data)
{
  SqliteConfig *config = data;

  g_free (config->path);
  g_strfreev (config->pragmas);
  g_free (config);
}

static const struct
{
  const char *name;
  int         flag;
} open_flags[] = {
  { "readwrite", SQLITE_OPEN_READWRITE },
  { "readonly", SQLITE_OPEN_READONLY },
  { "create", SQLITE_OPEN_CREATE },
  { "uri", SQLITE_OPEN_URI },
  { "memory", SQLITE_OPEN_MEMORY },
  { "nomutex", SQLITE_OPEN_NOMUTEX },
  { "fullmutex", SQLITE_OPEN_FULLMUTEX },
  { "sharedcache", SQLITE_OPEN_SHAREDCACHE },
  { "privatecache", SQLITE_OPEN_PRIVATECACHE },
#ifdef SQLITE_OPEN_NOFOLLOW
  { "nofollow", SQLITE_OPEN_NOFOLLOW },
#endif
};

/* Pragmas are concatenated into SQL, so only a plain identifier and a plain
 * value are accepted. */
static gboolean
pragma_is_safe (const char *pragma)
{
  const char *eq = strchr (pragma, '=');

  if (eq == NULL || eq == pragma || eq[1] == '\0')
    return FALSE;
  for (const char *p = pragma; p < eq; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  for (const char *p = eq + 1; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static gpointer
sqlite_provider_init (GKeyFile    *keyfile,
                      const char  *group,
                      GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) flag_names = NULL;
  SqliteConfig *config = g_new0 (SqliteConfig, 1);

  config->path = g_key_file_get_string (keyfile, group, "path", NULL);
  if (config->path == NULL)
    config->path = g_strdup (":memory:");

  flag_names = g_key_file_get_string_list (keyfile, group, "open-flags", NULL, NULL);
  if (flag_names == NULL)
    config->flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  for (guint i = 0; flag_names != NULL && flag_names[i] != NULL; i++)
    {
      gboolean known = FALSE;

      for (guint j = 0; j < G_N_ELEMENTS (open_flags); j++)
        if (strcmp (flag_names[i], open_flags[j].name) == 0)
          {
            config->flags |= open_flags[j].flag;
            known = TRUE;
          }
      if (!known)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "[%s] open-flags: unknown flag '%s'", group, flag_names[i]);
          config_free (config);
          return NULL;
        }
    }
  if ((config->flags & (SQLITE_OPEN_READWRITE | SQLITE_OPEN_READONLY)) == 0)
    config->flags |= SQLITE_OPEN_READWRITE;
  if ((config->flags & SQLITE_OPEN_NOMUTEX) == 0)
    config->flags |= SQLITE_OPEN_FULLMUTEX;

  config->busy_timeout_ms = 5000;
  if (g_key_file_has_key (keyfile, group, "busy-timeout", NULL))
    {
      config->busy_timeout_ms = g_key_file_get_integer (keyfile, group, "busy-timeout", &local_error);
      if (local_error != NULL || config->busy_timeout_ms < 0)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "[%s] busy-timeout must be a non-negative number of milliseconds", group);
          config_free (config);
          return NULL;
        }
    }

  config->pragmas = g_key_file_get_string_list (keyfile, group, "pragmas", NULL, NULL);
  for (guint i = 0; config->pragmas != NULL && config->pragmas[i] != NULL; i++)
    if (!pragma_is_safe (config->pragmas[i]))
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                     "[%s] pragmas: '%s' is not of the form name=value", group, config->pragmas[i]);
        config_free (config);
        return NULL;
      }

  return config;
}

/* Runs @sql, again while the database is locked and the busy timeout has
 * not passed (see the top of the file). The first failure may come at once
 * (the journal-mode switch) or after SQLite's own busy wait: the deadline
 * counts from the first attempt either way. */
static int
exec_retrying_locked (sqlite3       *db,
                      const char    *sql,
                      gint           busy_timeout_ms,
                      GCancellable  *cancellable,
                      char         **message)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) busy_timeout_ms * G_TIME_SPAN_MILLISECOND;
  gulong delay_us = 200;

  for (;;)
    {
      int rc = sqlite3_exec (db, sql, NULL, NULL, message);
      int primary = rc & 0xff;

      if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) ||
          g_get_monotonic_time () + (gint64) delay_us > deadline ||
          g_cancellable_is_cancelled (cancellable))
        return rc;

      g_clear_pointer (message, sqlite3_free);
      g_usleep (delay_us);
      delay_us = MIN (delay_us * 2, 10 * 1000);
    }
}

static sqlite3 *
sqlite_open (SqliteConfig  *config,
             GCancellable  *cancellable,
             GError       **error)
{
  sqlite3 *db = NULL;
  int rc;

  rc = sqlite3_open_v2 (config->path, &db, config->flags, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot open SQLite database %s: %s",
                   config->path, db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
      sqlite3_close_v2 (db);
      return NULL;
    }

  sqlite3_extended_result_codes (db, 1);
  sqlite3_busy_timeout (db, config->busy_timeout_ms);

  for (guint i = 0; config->pragmas != NULL && config->pragmas[i] != NULL; i++)
    {
      g_autofree char *sql = g_strdup_printf ("PRAGMA %s", config->pragmas[i]);
      char *message = NULL;

      if (exec_retrying_locked (db, sql, config->busy_timeout_ms, cancellable,
                                &message) != SQLITE_OK)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "SQLite database %s: %s failed: %s",
                       config->path, sql, message != NULL ? message : sqlite3_errmsg (db));
          sqlite3_free (message);
          sqlite3_close_v2 (db);
          return NULL;
        }
    }

  return db;
}

static gpointer
sqlite_provider_acquire (GMainContext  *context,
                         gpointer       provider_data,
                         GError       **error)
{
  return sqlite_open (provider_data, NULL, error);
}

/* A connection the task never handed over. */
static void
close_unused (gpointer db)
{
  sqlite3_close_v2 (db);
}

static void
open_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GError *error = NULL;
  sqlite3 *db = sqlite_open (task_data, cancellable, &error);

  if (db == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, db, close_unused);
}

/* The task is made here, with @context pushed by tether, so its callback
 * runs in @context. @provider_data outlives the task: tether holds the
 * template until the acquire completes. */
static void
sqlite_provider_acquire_async (GMainContext        *context,
                               gpointer             provider_data,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, sqlite_provider_acquire_async);
  /* A connection opened after all is still returned: tether caches it. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, provider_data, NULL);
  g_task_run_in_thread (task, open_in_thread);
}

static gpointer
sqlite_provider_acquire_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sqlite_provider_release (gpointer      resource,
                         GMainContext *context,
                         gboolean      graceful,
                         gpointer      provider_data)
{
  sqlite3 *db = resource;

  if (graceful)
    sqlite3_exec (db, "PRAGMA optimize", NULL, NULL, NULL);
  sqlite3_close_v2 (db);
}

static const TetherProvider sqlite_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "sqlite",
  .description = "one SQLite connection per context",
  .acquire = sqlite_provider_acquire,
  .acquire_async = sqlite_provider_acquire_async,
  .acquire_finish = sqlite_provider_acquire_finish,
  .release = sqlite_provider_release,
  .init = sqlite_provider_init,
  .shutdown = config_free,
};

TETHER_DEFINE_PROVIDER (sqlite_provider)
