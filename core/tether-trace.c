/* tether-trace.c: the structured debug log of domain "Tether", the
 * per-template counters and the Sysprof marks (docs/debugging.md)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_SYSPROF
# include <sysprof-capture.h>
#endif

#include "tether-env-private.h"
#include "tether-trace-private.h"

/* ------------------------------------------------------------------------ */
/* Whether to log                                                           */
/* ------------------------------------------------------------------------ */

/* See tether-trace-private.h. G_MESSAGES_DEBUG is read once, not on every
 * event as g_log_writer_default_would_drop() does: a getenv() per
 * slow-path event would cost more than the event. */
gint _tether_trace_debug_from_env = -1;
gint _tether_trace_marks_wanted = -1;
gint _tether_trace_timing = -1;
gint _tether_trace_slow_release_ms = -1;

static gboolean
env_names_tether (void)
{
  const char *domains = g_getenv ("G_MESSAGES_DEBUG");
  g_auto(GStrv) words = NULL;

  if (domains == NULL)
    return FALSE;

  words = g_strsplit_set (domains, " ,:", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (g_str_equal (words[i], "all") || g_str_equal (words[i], G_LOG_DOMAIN))
      return TRUE;

  return FALSE;
}

static gboolean marks_are_wanted (void);

void
_tether_trace_decide (void)
{
  static gsize decided = 0;

  if (g_once_init_enter (&decided))
    {
      const char *timing = g_getenv ("TETHER_ACQUIRE_TIMING");
      const char *slow = g_getenv ("TETHER_SLOW_RELEASE_MS");
      guint64 slow_ms = 1000;

      g_atomic_int_set (&_tether_trace_debug_from_env, env_names_tether ());
      g_atomic_int_set (&_tether_trace_marks_wanted, marks_are_wanted ());
      g_atomic_int_set (&_tether_trace_timing, !(timing != NULL && g_str_equal (timing, "0")));
      if (slow != NULL && !g_ascii_string_to_unsigned (slow, 10, 0, G_MAXINT, &slow_ms, NULL))
        {
          g_warning ("TETHER_SLOW_RELEASE_MS='%s' is not a number of milliseconds; "
                     "using 1000",
                     slow);
          slow_ms = 1000;
        }
      /* Last: the others are decided once this one is. */
      g_atomic_int_set (&_tether_trace_slow_release_ms, (gint) slow_ms);
      g_once_init_leave (&decided, 1);
    }
}

static inline gboolean
trace_enabled (void)
{
  return _tether_trace_enabled ();
}

/* ------------------------------------------------------------------------ */
/* The log                                                                  */
/* ------------------------------------------------------------------------ */

/* One message: the journal fields, each optional but @event. */
typedef struct
{
  const char   *event;
  const char   *name;        /* template, or NULL */
  gconstpointer context;     /* identity only, or NULL */
  gint64        duration_ns; /* < 0: none */
  const char   *outcome;     /* NULL: none */
  gint64        count;       /* < 0: none */
  const char   *message;
  const char   *module;      /* a module's path, or NULL */
} TraceMessage;

static void
add_field (GLogField  *fields,
           gsize      *n,
           const char *key,
           const char *value)
{
  fields[*n].key = key;
  fields[*n].value = value;
  fields[*n].length = -1;
  (*n)++;
}

static void
trace_log (const TraceMessage *m)
{
  char context[32], duration[32], count[32];
  GLogField fields[10];
  gsize n = 0;

  add_field (fields, &n, "MESSAGE", m->message);
  add_field (fields, &n, "PRIORITY", "7"); /* debug */
  add_field (fields, &n, "GLIB_DOMAIN", G_LOG_DOMAIN);
  add_field (fields, &n, TETHER_TRACE_FIELD_EVENT, m->event);
  if (m->name != NULL)
    add_field (fields, &n, TETHER_TRACE_FIELD_TEMPLATE, m->name);
  if (m->context != NULL)
    {
      g_snprintf (context, sizeof context, "%p", m->context);
      add_field (fields, &n, TETHER_TRACE_FIELD_CONTEXT, context);
    }
  if (m->duration_ns >= 0)
    {
      g_snprintf (duration, sizeof duration, "%" G_GINT64_FORMAT, m->duration_ns / 1000);
      add_field (fields, &n, TETHER_TRACE_FIELD_DURATION_US, duration);
    }
  if (m->outcome != NULL)
    add_field (fields, &n, TETHER_TRACE_FIELD_OUTCOME, m->outcome);
  if (m->count >= 0)
    {
      g_snprintf (count, sizeof count, "%" G_GINT64_FORMAT, m->count);
      add_field (fields, &n, TETHER_TRACE_FIELD_COUNT, count);
    }

  if (m->module != NULL)
    add_field (fields, &n, TETHER_TRACE_FIELD_MODULE, m->module);

  g_log_structured_array (G_LOG_LEVEL_DEBUG, fields, n);
}

/* ------------------------------------------------------------------------ */
/* Sysprof                                                                  */
/* ------------------------------------------------------------------------ */

#ifdef HAVE_SYSPROF
/* TETHER_SYSPROF_CAPTURE=FILE writes tether's marks to a capture file of
 * its own, for a recording without Sysprof running (open it in Sysprof
 * later). Under Sysprof, the marks go to its collector. */
static GMutex                capture_lock;  /* guards capture_writer's use */
static SysprofCaptureWriter *capture_writer;
static gsize                 capture_once;

static void
capture_finish (void)
{
  g_mutex_lock (&capture_lock);
  if (capture_writer != NULL)
    {
      sysprof_capture_writer_flush (capture_writer);
      g_clear_pointer (&capture_writer, sysprof_capture_writer_unref);
    }
  g_mutex_unlock (&capture_lock);
}

static SysprofCaptureWriter *
capture_get (void)
{
  if (g_once_init_enter (&capture_once))
    {
      const char *path = _tether_env_get_path ("TETHER_SYSPROF_CAPTURE");

      if (path != NULL)
        {
          capture_writer = sysprof_capture_writer_new (path, 0);
          if (capture_writer == NULL)
            g_warning ("TETHER_SYSPROF_CAPTURE: cannot write a capture to '%s': %s",
                       path, g_strerror (errno));
          else
            atexit (capture_finish);
        }
      g_once_init_leave (&capture_once, 1);
    }

  return capture_writer;
}

#endif

/* Whether anyone records marks: decided once. Sysprof gives a program it
 * records the collector's socket in SYSPROF_CONTROL_FD, which the
 * collector reads once too; without either variable a mark costs one load
 * instead of a collector lookup per call. Without Sysprof support, nobody
 * ever does. */
static gboolean
marks_are_wanted (void)
{
#ifdef HAVE_SYSPROF
  return _tether_env_get_path ("SYSPROF_CONTROL_FD") != NULL || capture_get () != NULL;
#else
  return FALSE;
#endif
}

/* A Sysprof mark: @group says what tether did ("tether acquire"), @name
 * for which template. */
static void
trace_mark (gint64      start,
            gint64      duration,
            const char *group,
            const char *name,
            const char *message)
{
#ifdef HAVE_SYSPROF
  if (!g_atomic_int_get (&_tether_trace_marks_wanted))
    return;

  sysprof_collector_mark (start, duration, group, name, message);

  if (capture_get () != NULL)
    {
      g_mutex_lock (&capture_lock);
      if (capture_writer != NULL)
        sysprof_capture_writer_add_mark (capture_writer, start, -1, getpid (),
                                         duration, group, name, message);
      g_mutex_unlock (&capture_lock);
    }
#endif
}

/* ------------------------------------------------------------------------ */
/* Counters                                                                 */
/* ------------------------------------------------------------------------ */

/* A counter written only under the state lock: the holder is its one
 * writer, so a plain add, stored atomically for the readers, is enough. */
#define count_add_locked(p, v) \
  __atomic_store_n ((p), __atomic_load_n ((p), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)

void
_tether_trace_counters_read (const TetherTraceCounters *c,
                             TetherTraceCounters       *out)
{
  /* First, pairing with the release in _tether_trace_acquire_done_locked():
   * every acquire it counts has its time and outcome counted. */
  out->acquires_done = __atomic_load_n (&c->acquires_done, __ATOMIC_ACQUIRE);
  out->acquires = __atomic_load_n (&c->acquires, __ATOMIC_RELAXED);
  out->failures = __atomic_load_n (&c->failures, __ATOMIC_RELAXED);
  out->joins = __atomic_load_n (&c->joins, __ATOMIC_RELAXED);
  out->graceful_releases = __atomic_load_n (&c->graceful_releases, __ATOMIC_RELAXED);
  out->ungraceful_releases = __atomic_load_n (&c->ungraceful_releases, __ATOMIC_RELAXED);
  out->purged = __atomic_load_n (&c->purged, __ATOMIC_RELAXED);
  out->acquire_ns_total = __atomic_load_n (&c->acquire_ns_total, __ATOMIC_RELAXED);
  out->acquire_ns_max = __atomic_load_n (&c->acquire_ns_max, __ATOMIC_RELAXED);
  out->acquires_timed = __atomic_load_n (&c->acquires_timed, __ATOMIC_RELAXED);
}

void
_tether_trace_acquire_done_locked (TetherTraceCounters *counters,
                                   gint64               elapsed,
                                   gboolean             succeeded)
{
  if (elapsed == TETHER_TRACE_NOT_RUN)
    return;

  if (elapsed >= 0)
    {
      count_add_locked (&counters->acquire_ns_total, (guint64) elapsed);
      if ((guint64) elapsed > __atomic_load_n (&counters->acquire_ns_max, __ATOMIC_RELAXED))
        __atomic_store_n (&counters->acquire_ns_max, (guint64) elapsed, __ATOMIC_RELAXED);
      count_add_locked (&counters->acquires_timed, 1);
    }
  if (!succeeded)
    count_add_locked (&counters->failures, 1);
  /* Last: a reader that sees the acquire done sees its time and outcome
   * counted (docs/debugging.md: acquires - acquires_done are under way). */
  __atomic_store_n (&counters->acquires_done,
                    __atomic_load_n (&counters->acquires_done, __ATOMIC_RELAXED) + 1,
                    __ATOMIC_RELEASE);
}

void
_tether_trace_acquire_started_locked (TetherTraceCounters *counters)
{
  count_add_locked (&counters->acquires, 1);
}

void
_tether_trace_released_locked (TetherTraceCounters *counters,
                               gboolean             graceful)
{
  count_add_locked (graceful ? &counters->graceful_releases : &counters->ungraceful_releases, 1);
}

void
_tether_trace_joined_locked (TetherTraceCounters *counters)
{
  count_add_locked (&counters->joins, 1);
}

void
_tether_trace_purge_queued_locked (TetherTraceCounters *counters)
{
  count_add_locked (&counters->purged, 1);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

void
_tether_trace_acquire_begin_shown (const char   *name,
                                   GMainContext *context)
{
  if (trace_enabled ())
    {
      g_autofree char *message = g_strdup_printf ("%s: acquiring for context %p", name, context);
      TraceMessage m = { "flight-started", name, context, -1, NULL, -1, message };

      trace_log (&m);
    }
}

void
_tether_trace_acquire_end_shown (const char   *name,
                                 GMainContext *context,
                                 gint64        start,
                                 gint64        elapsed,
                                 gboolean      succeeded,
                                 const GError *error)
{
  trace_mark (start, elapsed, "tether acquire", name,
              succeeded ? "acquired" : (error != NULL ? error->message : "result refused"));

  if (trace_enabled ())
    {
      g_autofree char *message = NULL;
      TraceMessage m = { "flight-finished", name, context, elapsed, NULL, -1, NULL };

      if (succeeded)
        message = g_strdup_printf ("%s: acquired for context %p in %.1f us",
                                   name, context, elapsed / 1e3);
      else
        message = g_strdup_printf ("%s: acquire for context %p failed in %.1f us: %s",
                                   name, context, elapsed / 1e3,
                                   error != NULL ? error->message : "its result was refused");
      m.outcome = succeeded ? "ok" : "error";
      m.message = message;
      trace_log (&m);
    }
}

static void
release_shown (const char   *name,
               GMainContext *context,
               gboolean      graceful,
               gint64        start,
               gint64        elapsed)
{
  trace_mark (start, elapsed, "tether release", name, graceful ? "graceful" : "ungraceful");

  if (trace_enabled ())
    {
      g_autofree char *message = NULL;
      TraceMessage m = { graceful ? "release-graceful" : "release-ungraceful",
                         name, context, elapsed, NULL, -1, NULL };

      if (graceful)
        message = g_strdup_printf ("%s: released for context %p in %.1f us",
                                   name, context, elapsed / 1e3);
      else
        message = g_strdup_printf ("%s: released ungracefully (its context is gone) in %.1f us",
                                   name, elapsed / 1e3);
      m.message = message;
      trace_log (&m);
    }
}

gint64
_tether_trace_release_end (TetherTraceCounters *counters,
                           const char          *name,
                           GMainContext        *context,
                           gboolean             graceful,
                           gint64               start)
{
  gboolean showing;
  gint threshold_ms;
  gint64 end, elapsed;

  if (start == 0)
    return 0;

  showing = _tether_trace_showing ();
  end = _tether_trace_release_now (showing);
  elapsed = MAX (end - start, 0);
  threshold_ms = g_atomic_int_get (&_tether_trace_slow_release_ms);

  if (G_UNLIKELY (threshold_ms > 0 && elapsed >= (gint64) threshold_ms * 1000000))
    g_warning ("Template '%s' took %.3f s to release its resource%s: a release should not "
               "block (close the resource asynchronously, or hand the blocking part to a "
               "worker). TETHER_SLOW_RELEASE_MS sets this threshold (now %d ms, 0 turns "
               "it off)",
               name, elapsed / 1e9,
               graceful ? " gracefully" : " ungracefully, after its context died",
               threshold_ms);

  if (G_UNLIKELY (showing))
    release_shown (name, context, graceful, start, elapsed);

  return end;
}

void
_tether_trace_joined (const char   *name,
                      GMainContext *context)
{
  if (G_UNLIKELY (trace_enabled ()))
    {
      g_autofree char *message =
        g_strdup_printf ("%s: joined the acquire under way for context %p", name, context);
      TraceMessage m = { "flight-joined", name, context, -1, NULL, -1, message };

      trace_log (&m);
    }
}

void
_tether_trace_context_event (const char    *event,
                             GMainContext  *context,
                             gconstpointer  manager)
{
  g_autofree char *message = NULL;
  TraceMessage m = { event, NULL, context, -1, NULL, -1, NULL };

  if (G_LIKELY (!trace_enabled ()))
    return;

  if (g_str_equal (event, "context-first-served"))
    message = g_strdup_printf ("context %p: first served, watching it", context);
  else if (g_str_equal (event, "manager-enter"))
    message = g_strdup_printf ("context %p: manager %p entered", context, manager);
  else if (g_str_equal (event, "manager-leave"))
    message = g_strdup_printf ("context %p: manager %p left", context, manager);
  else
    message = g_strdup_printf ("context %p: %s", context, event);

  m.message = message;
  trace_log (&m);
}

void
_tether_trace_context_died (GMainContext *context,
                            guint         n_queued)
{
  if (trace_enabled ())
    {
      g_autofree char *message =
        g_strdup_printf ("context %p: finalized, %u resources queued for the janitor",
                         context, n_queued);
      TraceMessage m = { "context-died", NULL, context, -1, NULL, n_queued, message };

      trace_log (&m);
    }
}

void
_tether_trace_purge (const char *only,
                     guint       n_released,
                     gint64      start)
{
  gint64 elapsed = MAX (_tether_trace_now () - start, 0);
  g_autofree char *message = NULL;

  message = g_strdup_printf ("released %u", n_released);
  trace_mark (start, elapsed, "tether purge", only != NULL ? only : "all", message);

  if (trace_enabled ())
    {
      TraceMessage m = { "purge", only, NULL, elapsed, NULL, n_released, NULL };

      g_free (message);
      if (only != NULL)
        message = g_strdup_printf ("%s: purge released %u resources of dead contexts",
                                   only, n_released);
      else
        message = g_strdup_printf ("purge released %u resources of dead contexts",
                                   n_released);
      m.message = message;
      trace_log (&m);
    }
}

void
_tether_trace_module (const char   *path,
                      const char   *name,
                      const GError *error)
{
  if (trace_enabled ())
    {
      g_autofree char *message = NULL;
      TraceMessage m = { error == NULL ? "module-loaded" : "module-refused",
                         name, NULL, -1, error == NULL ? "ok" : "error", -1, NULL };

      if (error == NULL)
        message = g_strdup_printf ("Loaded provider '%s' from %s", name, path);
      else
        message = g_strdup_printf ("Refused provider module %s: %s", path, error->message);
      m.message = message;
      m.module = path;
      trace_log (&m);
    }
}
