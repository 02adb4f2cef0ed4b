/* longrun-util.c: what the long-run tests share
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "longrun-util.h"

void
longrun_init (void)
{
  struct rlimit limit;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  limit.rlim_cur = MIN ((rlim_t) LONGRUN_FD_LIMIT, limit.rlim_max);
  if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
    g_error ("setrlimit (RLIMIT_NOFILE, %lu): %s", (gulong) limit.rlim_cur,
             g_strerror (errno));
  g_test_message ("open files limited to %lu", (gulong) limit.rlim_cur);

  /* Thousands of jobs: GIO's debug messages (a dozen per HTTP request)
   * would bury the figures. */
  g_log_set_debug_enabled (FALSE);
}

guint
longrun_n_jobs (void)
{
  const char *value = g_getenv ("TETHER_LONGRUN_JOBS");
  guint64 n;

  if (value == NULL || *value == '\0')
    return LONGRUN_JOBS;
  if (!g_ascii_string_to_unsigned (value, 10, 1, 1000000, &n, NULL))
    g_error ("TETHER_LONGRUN_JOBS=%s: not a number of jobs from 1 to 1000000", value);
  return (guint) n;
}

guint
longrun_count_fds (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, &error);
  guint n = 0;

  g_assert_no_error (error);
  while (g_dir_read_name (dir) != NULL)
    n++;
  /* Less the one GDir reads through. */
  return n - 1;
}

/* A source that never dispatches, whose callback data is the counter: its
 * destroy notify runs in the context's last unref, before its memory is
 * freed. */
static gboolean
never_dispatched (gpointer data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

static GSourceFuncs watch_funcs = { NULL, NULL, NULL, NULL, NULL, NULL };

static void
on_context_finalized (gpointer data)
{
  g_atomic_int_inc ((gint *) data);
}

void
longrun_watch_context (LongrunContexts *contexts,
                       GMainContext    *context)
{
  GSource *source = g_source_new (&watch_funcs, sizeof (GSource));

  g_atomic_int_inc (&contexts->made);
  g_source_set_static_name (source, "[longrun] context watch");
  g_source_set_callback (source, never_dispatched, &contexts->finalized, on_context_finalized);
  g_source_attach (source, context);
  g_source_unref (source);
}

static void
on_object_finalized (gpointer  data,
                     GObject  *where_the_object_was)
{
  g_atomic_int_inc ((gint *) data);
}

void
longrun_count_finalized (GObject *object,
                         gint    *counter)
{
  g_object_weak_ref (object, on_object_finalized, counter);
}

typedef struct
{
  gpointer resource;
  GError  *error;
  gboolean done;
} AsyncAcquire;

static void
async_acquired (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  AsyncAcquire *acquire = user_data;

  acquire->resource = tether_template_acquire_finish (TETHER_TEMPLATE (source), result,
                                                      &acquire->error);
  acquire->done = TRUE;
}

gpointer
longrun_acquire (TetherTemplate  *template,
                 guint            number,
                 GError         **error)
{
  GMainContext *context = g_main_context_get_thread_default ();
  AsyncAcquire acquire = { 0 };

  if (number % 2 == 0)
    return tether_template_acquire (template, NULL, error);

  tether_template_acquire_async (template, NULL, NULL, async_acquired, &acquire);
  while (!acquire.done)
    g_main_context_iteration (context, TRUE);
  if (acquire.error != NULL)
    g_propagate_error (error, acquire.error);
  return acquire.resource;
}

void
longrun_run_pool (guint    first,
                  guint    n_jobs,
                  GFunc    job,
                  gpointer job_data)
{
  g_autoptr(GError) error = NULL;
  GThreadPool *pool = g_thread_pool_new (job, job_data, LONGRUN_WORKERS, TRUE, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < n_jobs; i++)
    {
      g_thread_pool_push (pool, GUINT_TO_POINTER (first + i), &error);
      g_assert_no_error (error);
    }
  g_thread_pool_free (pool, FALSE, TRUE);
}

guint
longrun_warm_up (guint       n_jobs,
                 GFunc       job,
                 gpointer    job_data,
                 LongrunFds *fds)
{
  guint n_warm_up = MIN (LONGRUN_WARM_UP, n_jobs);

  fds->fds_start = longrun_count_fds ();
  longrun_run_pool (1, n_warm_up, job, job_data);
  fds->fds_warm = longrun_count_fds ();

  return n_jobs - n_warm_up;
}

gboolean
longrun_settle (gint       **values,
                const gint  *targets,
                guint        n,
                guint        timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;

  for (;;)
    {
      gboolean all = TRUE;

      for (guint i = 0; i < n; i++)
        all = all && g_atomic_int_get (values[i]) >= targets[i];
      if (all)
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (5 * 1000);
    }
}

void
longrun_settle_end (gint            *resources_finalized,
                    gint            *resources_made,
                    LongrunContexts *contexts,
                    LongrunFds      *fds)
{
  gint *values[2] = { resources_finalized, &contexts->finalized };
  gint targets[2] = { g_atomic_int_get (resources_made), g_atomic_int_get (&contexts->made) };

  longrun_settle (values, targets, G_N_ELEMENTS (values), 5000);
  fds->fds_end = longrun_count_fds ();
}

void
longrun_check_end (const char       *what,
                   TetherTemplate   *template,
                   const LongrunFds *fds,
                   LongrunContexts  *contexts)
{
  g_autoptr(TetherTemplateStats) stats = tether_template_get_stats (template);
  gint made = g_atomic_int_get (&contexts->made);
  gint finalized = g_atomic_int_get (&contexts->finalized);

  g_test_message ("%s: open files %u at the start, %u after the warm-up, %u at the end",
                  what, fds->fds_start, fds->fds_warm, fds->fds_end);
  g_test_message ("%s: job contexts %d made, %d finalized, %d alive",
                  what, made, finalized, made - finalized);
  g_test_message ("%s: stats: acquires %" G_GUINT64_FORMAT ", done %" G_GUINT64_FORMAT
                  ", failures %" G_GUINT64_FORMAT ", graceful releases %" G_GUINT64_FORMAT
                  ", purged %" G_GUINT64_FORMAT ", ungraceful releases %" G_GUINT64_FORMAT
                  ", held %u",
                  what, stats->acquires, stats->acquires_done, stats->failures,
                  stats->graceful_releases, stats->purged, stats->ungraceful_releases,
                  stats->n_held);

  g_assert_cmpuint (fds->fds_end, <=, fds->fds_warm + LONGRUN_FD_SLACK);
  g_assert_cmpuint (fds->fds_end, <=, fds->fds_start + 2 * LONGRUN_FD_SLACK);
  g_assert_cmpint (finalized, ==, made);

  g_assert_cmpuint (stats->n_held, ==, 0);
  g_assert_cmpuint (stats->acquires, ==, stats->acquires_done);
  g_assert_cmpuint (stats->acquires_done - stats->failures, ==,
                    stats->graceful_releases + stats->purged + stats->n_held);
  g_assert_cmpuint (stats->purged, ==, stats->ungraceful_releases);
}
