/* tether-scan.c: examining provider modules out of process
 *
 * Each module is examined in a fresh tether-scanner process (as GStreamer
 * examines plugins in gst-plugin-scanner), so that a module that crashes,
 * aborts, exits or hangs in its ELF constructors, its entry point or its
 * init is reported, with the stage it died in, instead of taking the
 * caller down. One process per module: a crash never costs the other
 * modules anything, and no module sees another's constructors.
 *
 * The helper writes records (tether-scan-protocol.c) to its stdout; this
 * file collects them and the helper's stderr on a private main context,
 * with a deadline after which the helper is killed. No lock, no global
 * state.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "tether-loader-private.h"

/* How long the pipes may stay open after the helper died: only a process
 * the module forked can hold them, and it is not waited for. */
#define PIPE_GRACE_MS 500

static void
take_str (char **slot,
                char  *value)
{
  g_free (*slot);
  *slot = value;
}

/* The last lines of the module's output quoted in a crash report. */
#define OUTPUT_TAIL_LINES 3
#define OUTPUT_TAIL_MAX 600

void
_tether_scan_result_free (TetherScanResult *result)
{
  if (result == NULL)
    return;

  g_free (result->path);
  g_free (result->real_path);
  g_free (result->name);
  g_free (result->description);
  g_free (result->resource_type);
  g_clear_error (&result->error);
  g_clear_error (&result->exercise_error);
  g_free (result->output_tail);
  g_free (result);
}

char *
_tether_scan_get_helper_path (void)
{
  const char *env = _tether_loader_is_secure_mode () ? NULL : g_getenv (TETHER_SCANNER_ENV);

  return g_strdup (env != NULL && env[0] != '\0' ? env : TETHER_SCANNER_PATH);
}

typedef struct
{
  GInputStream *stream;
  GByteArray   *data;
  gboolean      done;
} Pipe;

typedef struct
{
  GCancellable *cancellable;
  Pipe          out;
  Pipe          err;
  gboolean      exited;
  gboolean      timed_out;
  gboolean      grace_over;
} Scan;

static void read_more (Scan *scan, Pipe *pipe);

static void
read_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Scan *scan = user_data;
  Pipe *pipe = G_INPUT_STREAM (source) == scan->out.stream ? &scan->out : &scan->err;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (pipe->stream, result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      pipe->done = TRUE;
      return;
    }

  g_byte_array_append (pipe->data, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  read_more (scan, pipe);
}

static void
read_more (Scan *scan,
           Pipe *pipe)
{
  g_input_stream_read_bytes_async (pipe->stream, 8192, G_PRIORITY_DEFAULT,
                                   scan->cancellable, read_done, scan);
}

static void
wait_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Scan *scan = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  scan->exited = TRUE;
}

static gboolean
set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static GSource *
add_timeout (GMainContext *context,
             guint         ms,
             gboolean     *flag)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, set_flag, flag, NULL);
  g_source_attach (source, context);
  return source;
}

/* The last few lines the module printed, for a crash report. */
static char *
output_tail (GByteArray *data)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) tail = g_string_new (NULL);
  guint n;

  if (data->len == 0)
    return NULL;
  text = g_utf8_make_valid ((const char *) data->data, (gssize) data->len);
  lines = g_strsplit (g_strstrip (text), "\n", -1);
  n = g_strv_length (lines);

  for (guint i = n > OUTPUT_TAIL_LINES ? n - OUTPUT_TAIL_LINES : 0; i < n; i++)
    {
      if (tail->len > 0)
        g_string_append (tail, " | ");
      g_string_append (tail, g_strstrip (lines[i]));
    }
  if (tail->len > OUTPUT_TAIL_MAX)
    g_string_erase (tail, 0, (gssize) (tail->len - OUTPUT_TAIL_MAX));

  return tail->len > 0 ? g_string_free (g_steal_pointer (&tail), FALSE) : NULL;
}

/* Sets @result->error for a helper that did not reach its "done" record. */
static void
explain_death (TetherScanResult *result,
               GSubprocess      *process,
               const char       *helper,
               guint             timeout_ms)
{
  const char *where = _tether_load_stage_describe (result->stage);
  g_autofree char *said = g_strdup ("");

  if (result->output_tail != NULL)
    take_str (&said, g_strdup_printf ("; its last output: %s", result->output_tail));
  result->crashed = TRUE;

  if (result->timed_out)
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s hung %s: it did not finish within %u ms and was "
                   "killed; look for a blocking call or an endless loop there%s",
                   result->path, where, timeout_ms, said);
    }
  else if (g_subprocess_get_if_signaled (process))
    {
      result->signal = g_subprocess_get_term_sig (process);
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s crashed %s: the process examining it was killed "
                   "by signal %d (%s); run the module under a debugger or valgrind "
                   "to find why%s",
                   result->path, where, result->signal, g_strsignal (result->signal), said);
    }
  else if (result->stage == TETHER_LOAD_STAGE_NONE)
    {
      /* Not even the version line: the helper itself is broken or another
       * program. */
      result->crashed = FALSE;
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_FAILED,
                   "Cannot examine provider module %s: %s is not a working tether-scanner "
                   "(exit status %d, no protocol %d output); reinstall tether, or point "
                   "%s at the build's tools/tether-scanner%s",
                   result->path, helper, g_subprocess_get_exit_status (process),
                   TETHER_SCAN_PROTOCOL_VERSION, TETHER_SCANNER_ENV, said);
    }
  else
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s made the process examining it exit with status %d "
                   "%s: a module must never call exit ()%s",
                   result->path, g_subprocess_get_exit_status (process), where, said);
    }
}

TetherScanResult *
_tether_scan_module (const char      *path,
                     TetherScanMode   mode,
                     TetherLoadFlags  flags,
                     const char      *config_path,
                     guint            timeout_ms,
                     gint64          *out_elapsed_us)
{
  g_autoptr(TetherScanResult) result = g_new0 (TetherScanResult, 1);
  g_autofree char *helper = _tether_scan_get_helper_path ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) timeout = NULL;
  g_autoptr(GSource) grace = NULL;
  Scan scan = { 0 };
  gboolean finished;
  gint64 start = g_get_monotonic_time ();

  result->path = g_strdup (path);
  result->open_us = result->init_us = result->acquire_us = -1;
  result->release_us = result->shutdown_us = -1;
  if (timeout_ms == 0)
    timeout_ms = TETHER_LIST_DEFAULT_TIMEOUT_MS;

  g_ptr_array_add (argv, helper);
  if (mode & TETHER_SCAN_LOAD)
    g_ptr_array_add (argv, (gpointer) "--load");
  if (mode & TETHER_SCAN_EXERCISE)
    g_ptr_array_add (argv, (gpointer) "--exercise");
  if (flags & TETHER_LOAD_ALLOW_INSECURE_PATH)
    g_ptr_array_add (argv, (gpointer) "--allow-insecure");
  if (config_path != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--config");
      g_ptr_array_add (argv, (gpointer) config_path);
    }
  g_ptr_array_add (argv, (gpointer) "--");
  g_ptr_array_add (argv, (gpointer) path);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  if (process == NULL)
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_FAILED,
                   "Cannot examine provider module %s: the helper %s cannot run: %s; "
                   "install tether's tether-scanner, or point %s at it",
                   path, helper, error->message, TETHER_SCANNER_ENV);
      return g_steal_pointer (&result);
    }

  /* Everything below dispatches in @context, iterated by this thread only. */
  g_main_context_push_thread_default (context);
  scan.cancellable = g_cancellable_new ();
  scan.out.stream = g_subprocess_get_stdout_pipe (process);
  scan.out.data = g_byte_array_new ();
  scan.err.stream = g_subprocess_get_stderr_pipe (process);
  scan.err.data = g_byte_array_new ();
  read_more (&scan, &scan.out);
  read_more (&scan, &scan.err);
  g_subprocess_wait_async (process, NULL, wait_done, &scan);
  timeout = add_timeout (context, timeout_ms, &scan.timed_out);

  while (!(scan.exited && scan.out.done && scan.err.done))
    {
      if (scan.timed_out && !scan.exited)
        g_subprocess_force_exit (process);   /* SIGKILL: wait_done follows */
      if (scan.exited && grace == NULL)
        grace = add_timeout (context, PIPE_GRACE_MS, &scan.grace_over);
      if (scan.grace_over)
        g_cancellable_cancel (scan.cancellable);
      g_main_context_iteration (context, TRUE);
    }

  g_source_destroy (timeout);
  if (grace != NULL)
    g_source_destroy (grace);
  g_main_context_pop_thread_default (context);

  /* A source may still hold a reference to its callback's data: drain. */
  while (g_main_context_iteration (context, FALSE))
    ;

  finished = _tether_scan_parse_records ((const char *) scan.out.data->data, scan.out.data->len,
                                         result);
  result->output_tail = output_tail (scan.err.data);
  /* The module's own output is the caller's to see, as if it had been
   * loaded in-process. */
  if (scan.err.data->len > 0)
    fwrite (scan.err.data->data, 1, scan.err.data->len, stderr);

  if (!finished)
    {
      result->timed_out = scan.timed_out;
      g_clear_error (&result->error);
      explain_death (result, process, helper, timeout_ms);
    }

  if (out_elapsed_us != NULL)
    *out_elapsed_us = g_get_monotonic_time () - start;

  g_byte_array_unref (scan.out.data);
  g_byte_array_unref (scan.err.data);
  g_object_unref (scan.cancellable);
  return g_steal_pointer (&result);
}

/* ------------------------------------------------------------------------ */
/* tether_list_providers_full                                               */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherLoadFlags  flags;
  guint            timeout_ms;
  GPtrArray       *infos;
  GHashTable      *first_file;   /* provider name -> path of its first module */
} ScanAll;

static void
scan_one (const char *path,
          gpointer    user_data,
          GPtrArray  *failures)
{
  ScanAll *all = user_data;
  g_autoptr(TetherScanResult) result = NULL;
  const char *first;

  result = _tether_scan_module (path, TETHER_SCAN_LIST, all->flags, NULL, all->timeout_ms, NULL);
  if (result->error != NULL)
    {
      g_ptr_array_add (failures, _tether_load_failure_new_take (path, result->stage,
                                                                g_steal_pointer (&result->error)));
      return;
    }

  first = g_hash_table_lookup (all->first_file, result->name);
  if (first != NULL)
    {
      g_ptr_array_add (failures,
                       _tether_load_failure_new_take (path, TETHER_LOAD_STAGE_REGISTER,
                         _tether_loader_duplicate_error (path, result->name, first, TRUE)));
      return;
    }
  g_hash_table_insert (all->first_file, g_strdup (result->name), g_strdup (path));

  g_ptr_array_add (all->infos,
                   _tether_provider_info_new_take (g_steal_pointer (&result->name),
                                                   g_steal_pointer (&result->description),
                                                   g_steal_pointer (&result->real_path),
                                                   result->abi_version,
                                                   !result->has_sync,
                                                   g_steal_pointer (&result->resource_type)));
}

/**
 * tether_list_providers_full:
 * @dirs: (nullable) (array zero-terminated=1) (element-type filename): the
 *   directories to list, or %NULL for the search path
 * @flags: #TetherLoadFlags
 * @timeout_ms: how long one module may take, in milliseconds, before its
 *   helper process is killed; 0 for %TETHER_LIST_DEFAULT_TIMEOUT_MS
 * @failures: (out) (optional) (transfer container) (element-type TetherLoadFailure):
 *   one [struct@Tether.LoadFailure] per file or directory that is not a
 *   valid provider module
 *
 * Lists the provider modules of @dirs as [func@Tether.list_providers]
 * does, with the same checks, order, duplicate rule and results, but
 * examines each module in a helper process of its own (`tether-scanner`,
 * installed in `$libexecdir/tether-1/`; the environment variable
 * `TETHER_SCANNER` names another one, except in setuid and setgid
 * programs). Nothing of a module runs in the calling process: its ELF
 * constructors and entry point run in the helper, so a module that
 * crashes, aborts, exits or hangs there is a failure like any other, whose
 * message names the file, the signal or the timeout, and the stage
 * ([method@Tether.LoadFailure.get_stage]: %TETHER_LOAD_STAGE_OPEN for
 * its constructors, %TETHER_LOAD_STAGE_ENTRY for its entry point), and
 * every other module is still listed. Such a failure has the code
 * %TETHER_ERROR_MODULE_LOAD; a helper that cannot run gives
 * %TETHER_ERROR_FAILED for each module.
 *
 * Costs one process start per module (a few milliseconds). Loading a
 * provider into the application, [func@Tether.load_providers] and the
 * other load functions, stays in the calling process.
 *
 * Callable from any thread; blocks until every module has been examined.
 * It iterates a private main context of its own, and dispatches nothing
 * in the caller's.
 *
 * Returns: (transfer container) (element-type TetherProviderInfo): one
 *   [struct@Tether.ProviderInfo] per valid module, in search order
 *
 * Since: 0.2
 */
GPtrArray *
tether_list_providers_full (const char *const  *dirs,
                            TetherLoadFlags      flags,
                            guint                timeout_ms,
                            GPtrArray          **failures)
{
  g_autoptr(GPtrArray) failed = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
  g_autoptr(GHashTable) first_file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ScanAll all = { flags, timeout_ms,
                  g_ptr_array_new_with_free_func ((GDestroyNotify) tether_provider_info_free),
                  first_file };

  _tether_loader_foreach_module (dirs, flags, scan_one, &all, failed);

  if (failures != NULL)
    *failures = g_steal_pointer (&failed);

  return all.infos;
}
