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

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "tether-loader-private.h"

/* How long the pipes may stay open after the helper's process group was
 * killed: only a process the module moved out of the group (setsid) can
 * hold them then, and it is not waited for. */
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

TetherScanResult *
_tether_scan_result_new (const char *path)
{
  TetherScanResult *result = g_new0 (TetherScanResult, 1);

  result->path = g_strdup (path);
  result->open_us = result->init_us = result->acquire_us = -1;
  result->release_us = result->ungraceful_release_us = result->shutdown_us = -1;
  return result;
}

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
  g_free (result->links_libtether);
  g_free (result->function);
  g_free (result->exercise_function);
  g_clear_error (&result->error);
  g_clear_error (&result->exercise_error);
  g_free (result->output_tail);
  g_free (result);
}

char *
_tether_scan_get_helper_path (void)
{
  const char *env = _tether_env_get_path (TETHER_SCANNER_ENV);

  return g_strdup (env != NULL ? env : TETHER_SCANNER_PATH);
}

typedef struct _Scan Scan;

typedef struct
{
  Scan         *scan;
  int           fd;         /* non-blocking; -1 once closed */
  GSource      *source;
  GByteArray   *data;
  gsize         limit;      /* bytes kept: all of them, or a tail */
  gboolean      tail_only;  /* past the limit, drop the oldest bytes */
  gboolean      capped;     /* past the limit, keep nothing more */
  guint64       total;      /* bytes read, kept or not */
  gboolean      done;
} Pipe;

struct _Scan
{
  GPid          pid;        /* the helper, leader of its process group */
  Pipe          out;        /* the records */
  Pipe          err;        /* the module's output */
  gboolean      exited;
  int           wait_status;
  gboolean      killed;     /* the group was killed (or is gone) */
  gboolean      timed_out;
  gboolean      flooded;    /* killed for its output */
  gboolean      flooded_records;
  gboolean      grace_over;
};

/* Kills the helper's whole process group: whatever the module forked dies
 * with it, unless it left the group. Safe after the helper was reaped: a
 * process group's id is not reused while any member lives, and with no
 * member left the kill finds nobody. */
static void
kill_group (Scan *scan)
{
  if (scan->killed)
    return;
  scan->killed = TRUE;
  if (kill (-scan->pid, SIGKILL) != 0 && errno == ESRCH && !scan->exited)
    kill (scan->pid, SIGKILL);
}

static void
pipe_close (Pipe *pipe)
{
  if (pipe->source != NULL)
    {
      g_source_destroy (pipe->source);
      g_clear_pointer (&pipe->source, g_source_unref);
    }
  if (pipe->fd >= 0)
    close (pipe->fd);
  pipe->fd = -1;
  pipe->done = TRUE;
}

static gboolean
pipe_ready (gint         fd,
            GIOCondition condition,
            gpointer     user_data)
{
  Pipe *pipe = user_data;
  Scan *scan = pipe->scan;
  char buffer[16384];
  gssize n;
  gsize size;

  n = read (fd, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      g_clear_pointer (&pipe->source, g_source_unref);
      close (pipe->fd);
      pipe->fd = -1;
      pipe->done = TRUE;
      return G_SOURCE_REMOVE;
    }

  size = (gsize) n;
  pipe->total += size;

  /* Past a limit the helper is killed; the pipe is still read to its end
   * (or the grace period's), so that a writer the kill missed never
   * blocks, but nothing more is kept: the records up to the limit, the
   * output's last TETHER_SCAN_OUTPUT_KEEP bytes. */
  if (pipe->capped)
    ;
  else if (pipe->tail_only)
    {
      g_byte_array_append (pipe->data, (const guint8 *) buffer, (guint) size);
      if (pipe->data->len > 2 * pipe->limit)
        g_byte_array_remove_range (pipe->data, 0, (guint) (pipe->data->len - pipe->limit));
    }
  else if (pipe->data->len + size > pipe->limit)
    {
      g_byte_array_append (pipe->data, (const guint8 *) buffer,
                           (guint) (pipe->limit - pipe->data->len));
      pipe->capped = TRUE;
      scan->flooded_records = TRUE;
      kill_group (scan);
    }
  else
    g_byte_array_append (pipe->data, (const guint8 *) buffer, (guint) size);

  if (pipe == &scan->err && pipe->total > TETHER_SCAN_OUTPUT_MAX && !scan->flooded)
    {
      scan->flooded = TRUE;
      kill_group (scan);
    }

  return G_SOURCE_CONTINUE;
}

static void
pipe_open (Pipe         *pipe,
           Scan         *scan,
           int           fd,
           gsize         limit,
           gboolean      tail_only,
           GMainContext *context)
{
  pipe->scan = scan;
  pipe->fd = fd;
  pipe->data = g_byte_array_new ();
  pipe->limit = limit;
  pipe->tail_only = tail_only;
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  pipe->source = g_unix_fd_source_new (fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (pipe->source, (GSourceFunc) (void (*) (void)) pipe_ready, pipe, NULL);
  g_source_attach (pipe->source, context);
}

/* The helper was reaped: by this thread, iterating the scan's context
 * (the child watch is attached there), so the group is killed right
 * after, before anything else runs here. */
static void
child_exited (GPid     pid,
              gint     wait_status,
              gpointer user_data)
{
  Scan *scan = user_data;

  scan->wait_status = wait_status;
  scan->exited = TRUE;
  g_spawn_close_pid (pid);
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

/* In the child, before exec: a process group of its own, so that
 * everything it forks can be killed with it. Async-signal-safe. */
static void
child_setup (gpointer user_data)
{
  setpgid (0, 0);
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
    {
      const char *start = g_utf8_find_next_char (tail->str + tail->len - OUTPUT_TAIL_MAX, NULL);

      g_string_erase (tail, 0, start != NULL ? (gssize) (start - tail->str) : 0);
    }

  return tail->len > 0 ? g_string_free (g_steal_pointer (&tail), FALSE) : NULL;
}

/* "in its acquire_async (called, never returned)" and such: where the
 * helper was, in the words of the provider's functions when it had
 * reached one. */
static char *
describe_where (const TetherScanResult *result)
{
  const char *cycle = result->cycle == TETHER_SCAN_CYCLE_UNGRACEFUL
    ? ", in the ungraceful cycle (its context died while it held the resource, then a purge)"
    : "";

  if (result->function != NULL &&
      (result->stage == TETHER_LOAD_STAGE_ACQUIRE || result->stage == TETHER_LOAD_STAGE_RELEASE))
    {
      if (g_str_equal (result->function, "release-ungraceful"))
        return g_strdup ("in its release, called ungracefully (graceful FALSE, context NULL: "
                         "its context had died and the resource was purged); a release must "
                         "handle context == NULL");
      if (result->function_state == TETHER_SCAN_FUNCTION_RUNNING)
        return g_strdup_printf ("in its %s%s", result->function, cycle);
      if (result->function_state == TETHER_SCAN_FUNCTION_RETURNED &&
          g_str_equal (result->function, "acquire_async"))
        return g_strdup_printf ("after its acquire_async returned%s", cycle);
    }

  return g_strdup (_tether_load_stage_describe (result->stage));
}

/* Sets @result->error for a helper that did not finish cleanly. @finished:
 * its records were complete (it died at exit). @problem: what was wrong
 * with its records, or NULL. */
static void
explain_death (TetherScanResult *result,
               int               wait_status,
               const char       *helper,
               guint             timeout_ms,
               gboolean          finished,
               const char       *problem)
{
  g_autofree char *where = describe_where (result);
  g_autofree char *said = g_strdup ("");
  gboolean signaled = !result->timed_out && WIFSIGNALED (wait_status);
  int exit_status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;

  if (result->output_tail != NULL)
    take_str (&said, g_strdup_printf ("; its last output: %s", result->output_tail));
  result->crashed = TRUE;
  g_clear_error (&result->error);
  if (signaled)
    result->signal = WTERMSIG (wait_status);

  if (result->flooded)
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s flooded the process examining it with output %s: "
                   "it wrote more than %u KiB (%" G_GUINT64_FORMAT " bytes read) and was "
                   "killed; a module must not write in a loop%s",
                   result->path, where, TETHER_SCAN_OUTPUT_MAX / 1024, result->output_bytes,
                   said);
    }
  else if (result->invalid_records)
    {
      g_autofree char *then = signaled
        ? g_strdup_printf ("; then the process was killed by signal %d (%s)", result->signal,
                           g_strsignal (result->signal))
        : exit_status > 0 ? g_strdup_printf ("; then the process exited with status %d", exit_status)
        : g_strdup ("");

      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s corrupted the records of the process examining it "
                   "%s (%s), so nothing it reported is believed: a module must not write "
                   "to file descriptors it did not open (the records go to descriptor 3)%s%s",
                   result->path, where, problem, then, said);
    }
  else if (result->timed_out && result->function != NULL &&
           g_str_equal (result->function, "acquire_async") &&
           result->function_state == TETHER_SCAN_FUNCTION_RETURNED)
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s: acquire_async never completed its task: call the "
                   "callback or return the GTask (its callback had not come %u ms after "
                   "acquire_async returned%s, and the process examining it was killed)%s",
                   result->path, timeout_ms,
                   result->cycle == TETHER_SCAN_CYCLE_UNGRACEFUL ? ", in the ungraceful cycle" : "",
                   said);
    }
  else if (result->timed_out)
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s hung %s: it did not finish within %u ms and was "
                   "killed; look for a blocking call or an endless loop there%s",
                   result->path, where, timeout_ms, said);
    }
  else if (finished && signaled)
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s crashed at exit, after it was examined (in its ELF "
                   "destructors or an exit handler): the process examining it was killed "
                   "by signal %d (%s)%s",
                   result->path, result->signal, g_strsignal (result->signal), said);
    }
  else if (finished)
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s made the process examining it exit with status %d at "
                   "exit, after it was examined (in its ELF destructors or an exit handler): "
                   "a module must never call exit ()%s",
                   result->path, exit_status, said);
    }
  else if (signaled)
    {
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
                   result->path, helper, exit_status,
                   TETHER_SCAN_PROTOCOL_VERSION, TETHER_SCANNER_ENV, said);
    }
  else
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Provider module %s made the process examining it exit with status %d "
                   "%s: a module must never call exit ()%s",
                   result->path, exit_status, where, said);
    }

  _tether_loader_make_message_safe (&result->error);
}

/* A result the records cannot be trusted for keeps only what says where
 * the helper was. */
static void
forget_reported (TetherScanResult *result)
{
  g_clear_pointer (&result->real_path, g_free);
  g_clear_pointer (&result->name, g_free);
  g_clear_pointer (&result->description, g_free);
  g_clear_pointer (&result->resource_type, g_free);
  g_clear_pointer (&result->links_libtether, g_free);
  g_clear_error (&result->exercise_error);
  g_clear_pointer (&result->exercise_function, g_free);
  result->exercised = FALSE;
}

TetherScanResult *
_tether_scan_module (const char      *path,
                     TetherScanMode   mode,
                     TetherLoadFlags  flags,
                     const char      *config_path,
                     guint            timeout_ms,
                     gint64          *out_elapsed_us)
{
  g_autoptr(TetherScanResult) result = _tether_scan_result_new (path);
  g_autofree char *helper = _tether_scan_get_helper_path ();
  g_autofree char *problem = NULL;
  g_autoptr(GSource) child_watch = NULL;
  int out_fd = -1, err_fd = -1;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) timeout = NULL;
  g_autoptr(GSource) grace = NULL;
  TetherScanRecords records;
  Scan scan = { 0 };
  gboolean clean_exit;
  gint64 start = g_get_monotonic_time ();

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

  /* Not GSubprocess: it reaps the helper on GLib's worker thread, at any
   * time, and its process id is gone with it; the group must be killed
   * by id once the helper is reaped. Standard input is /dev/null. */
  if (!g_spawn_async_with_pipes_and_fds (NULL, (const char *const *) argv->pdata, NULL,
                                         G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CLOEXEC_PIPES,
                                         child_setup, NULL, -1, -1, -1, NULL, NULL, 0,
                                         &scan.pid, NULL, &out_fd, &err_fd, &error))
    {
      g_set_error (&result->error, TETHER_ERROR, TETHER_ERROR_FAILED,
                   "Cannot examine provider module %s: the helper %s cannot run: %s; "
                   "install tether's tether-scanner%s",
                   path, helper, error->message,
                   _tether_env_is_secure_mode ()
                     ? " (" TETHER_SCANNER_ENV " is ignored: this program runs in secure mode)"
                     : ", or point " TETHER_SCANNER_ENV " at it");
      return g_steal_pointer (&result);
    }

  /* Everything below dispatches in @context, iterated by this thread only. */
  g_main_context_push_thread_default (context);
  pipe_open (&scan.out, &scan, out_fd, TETHER_SCAN_RECORDS_MAX, FALSE, context);
  pipe_open (&scan.err, &scan, err_fd, TETHER_SCAN_OUTPUT_KEEP, TRUE, context);
  child_watch = g_child_watch_source_new (scan.pid);
  g_source_set_callback (child_watch, (GSourceFunc) (void (*) (void)) child_exited, &scan, NULL);
  g_source_attach (child_watch, context);
  timeout = add_timeout (context, timeout_ms, &scan.timed_out);

  while (!(scan.exited && scan.out.done && scan.err.done))
    {
      if (scan.timed_out && !scan.exited)
        kill_group (&scan);   /* SIGKILL: wait_done follows */
      if (scan.exited)
        kill_group (&scan);   /* what the module forked, holding the pipes */
      if (scan.exited && grace == NULL)
        grace = add_timeout (context, PIPE_GRACE_MS, &scan.grace_over);
      if (scan.grace_over)
        {
          pipe_close (&scan.out);
          pipe_close (&scan.err);
          break;
        }
      g_main_context_iteration (context, TRUE);
    }

  g_source_destroy (timeout);
  g_source_destroy (child_watch);
  if (grace != NULL)
    g_source_destroy (grace);
  g_main_context_pop_thread_default (context);

  /* A source may still hold a reference to its callback's data: drain. */
  while (g_main_context_iteration (context, FALSE))
    ;

  records = _tether_scan_parse_records ((const char *) scan.out.data->data, scan.out.data->len,
                                        mode, result, &problem);
  result->output_tail = output_tail (scan.err.data);
  result->output_bytes = scan.err.total;
  result->timed_out = scan.timed_out && !scan.flooded && !scan.flooded_records;
  result->flooded = scan.flooded;
  clean_exit = !scan.timed_out && !scan.flooded && !scan.flooded_records &&
               WIFEXITED (scan.wait_status) && WEXITSTATUS (scan.wait_status) == 0;

  /* The module's own output is the caller's to see, as if it had been
   * loaded in-process: its last few KiB. */
  if (scan.err.total > scan.err.data->len)
    fprintf (stderr, "[tether: %" G_GUINT64_FORMAT " bytes of the output of %s left out]\n",
             scan.err.total - scan.err.data->len, path);
  if (scan.err.data->len > 0)
    fwrite (scan.err.data->data, 1, scan.err.data->len, stderr);

  if (scan.flooded_records)
    {
      result->invalid_records = TRUE;
      take_str (&problem, g_strdup_printf ("more than %u KiB of records",
                                           TETHER_SCAN_RECORDS_MAX / 1024));
    }
  else if (records == TETHER_SCAN_RECORDS_INVALID)
    result->invalid_records = TRUE;

  if (result->invalid_records || !clean_exit || records != TETHER_SCAN_RECORDS_COMPLETE)
    {
      if (result->invalid_records || records != TETHER_SCAN_RECORDS_COMPLETE)
        forget_reported (result);
      explain_death (result, scan.wait_status, helper, timeout_ms,
                     records == TETHER_SCAN_RECORDS_COMPLETE && !result->invalid_records,
                     problem);
    }

  if (out_elapsed_us != NULL)
    *out_elapsed_us = g_get_monotonic_time () - start;

  g_byte_array_unref (scan.out.data);
  g_byte_array_unref (scan.err.data);
  pipe_close (&scan.out);
  pipe_close (&scan.err);
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
 * installed in `$libdir/tether-1/`; the environment variable
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
