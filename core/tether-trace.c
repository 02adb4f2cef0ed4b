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
#include <time.h>
#include <unistd.h>
#ifdef __linux__
# include <sys/prctl.h>
#endif

#ifdef HAVE_SYSPROF
# include <sysprof-capture.h>
#endif

#include "tether-trace-private.h"

/* ------------------------------------------------------------------------ */
/* Whether to log                                                           */
/* ------------------------------------------------------------------------ */

/* Atomic: -1 until G_MESSAGES_DEBUG is read, then whether it names us. It
 * is read once, not on every event as g_log_writer_default_would_drop()
 * does: a getenv() per slow-path event would cost more than the event. */
gint _tether_trace_debug_from_env = -1;

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

/* Inline for this file's events, which ask on every provider call; the
 * environment is read by the first call. */
static inline gboolean
trace_enabled (void)
{
  gint value = g_atomic_int_get (&_tether_trace_debug_from_env);

  if (G_UNLIKELY (value < 0))
    {
      value = env_names_tether ();
      g_atomic_int_set (&_tether_trace_debug_from_env, value);
    }

  return value || g_log_get_debug_enabled ();
}

gboolean
_tether_trace_enabled (void)
{
  return trace_enabled ();
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

/* Messages noticed under the state lock, sent by the unlock of the same
 * thread. A short fixed buffer: one lock hold notices one or two events,
 * and nothing is allocated under the lock. */
#define N_DEFERRED 8

typedef struct
{
  const char   *event;        /* static string */
  char          name[129];    /* a copy: the template may go once unlocked */
  gconstpointer context;
  gconstpointer manager;
} DeferredEvent;

__thread guint _tether_trace_n_deferred __attribute__((tls_model ("initial-exec")));
static __thread DeferredEvent deferred[N_DEFERRED];
static __thread guint n_deferred_dropped;

static void
defer_locked (const char    *event,
              const char    *name,
              gconstpointer  context,
              gconstpointer  manager)
{
  DeferredEvent *d;

  if (_tether_trace_n_deferred == N_DEFERRED)
    {
      n_deferred_dropped++;
      return;
    }

  d = &deferred[_tether_trace_n_deferred++];
  d->event = event;
  g_strlcpy (d->name, name != NULL ? name : "", sizeof d->name);
  d->context = context;
  d->manager = manager;
}

void
_tether_trace_flush_deferred_slow (void)
{
  DeferredEvent pending[N_DEFERRED];
  guint n = _tether_trace_n_deferred;
  guint dropped = n_deferred_dropped;

  /* Copied out first: a writer that calls tether defers anew. */
  memcpy (pending, deferred, n * sizeof *pending);
  _tether_trace_n_deferred = 0;
  n_deferred_dropped = 0;

  for (guint i = 0; i < n; i++)
    {
      DeferredEvent *d = &pending[i];
      g_autofree char *message = NULL;
      TraceMessage m = { d->event, d->name[0] ? d->name : NULL, d->context, -1, NULL, -1, NULL };

      if (g_str_equal (d->event, "flight-joined"))
        message = g_strdup_printf ("%s: joined the acquire under way for context %p",
                                   d->name, d->context);
      else if (g_str_equal (d->event, "context-first-served"))
        message = g_strdup_printf ("context %p: first served, watching it", d->context);
      else if (g_str_equal (d->event, "manager-enter"))
        message = g_strdup_printf ("context %p: manager %p entered", d->context, d->manager);
      else if (g_str_equal (d->event, "manager-leave"))
        message = g_strdup_printf ("context %p: manager %p left", d->context, d->manager);
      else
        message = g_strdup_printf ("context %p: %s", d->context, d->event);

      m.message = message;
      trace_log (&m);
    }

  if (dropped > 0)
    {
      g_autofree char *message = g_strdup_printf ("%u debug messages dropped", dropped);
      TraceMessage m = { "dropped", NULL, NULL, -1, NULL, dropped, message };

      trace_log (&m);
    }
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
      const char *path = g_getenv ("TETHER_SYSPROF_CAPTURE");

      if (path != NULL && path[0] != '\0')
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

/* Atomic: -1 until decided, then whether anyone records marks. Sysprof
 * gives a program it records the collector's socket in SYSPROF_CONTROL_FD,
 * which the collector reads once too; without either variable a mark
 * costs one load instead of a collector lookup per call. Without Sysprof
 * support, nobody ever does. */
#ifdef HAVE_SYSPROF
gint _tether_trace_marks_wanted = -1;
#else
gint _tether_trace_marks_wanted = 0;
#endif

/* Whether marks are recorded at all. */
static gboolean
marks_are_wanted (void)
{
#ifdef HAVE_SYSPROF
  gint wanted = g_atomic_int_get (&_tether_trace_marks_wanted);

  if (G_UNLIKELY (wanted < 0))
    {
      wanted = g_getenv ("SYSPROF_CONTROL_FD") != NULL || capture_get () != NULL;
      g_atomic_int_set (&_tether_trace_marks_wanted, wanted);
    }
  return wanted;
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
  if (!marks_are_wanted ())
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

void
_tether_trace_counters_read (const TetherTraceCounters *c,
                             TetherTraceCounters       *out)
{
  /* First, pairing with the release in _tether_trace_acquire_end(). */
  out->acquires_done = __atomic_load_n (&c->acquires_done, __ATOMIC_ACQUIRE);
  out->acquires_claimed = __atomic_load_n (&c->acquires_claimed, __ATOMIC_RELAXED);
  out->acquires = __atomic_load_n (&c->acquires, __ATOMIC_RELAXED) + out->acquires_claimed;
  out->failures = __atomic_load_n (&c->failures, __ATOMIC_RELAXED);
  out->joins = __atomic_load_n (&c->joins, __ATOMIC_RELAXED);
  out->graceful_releases = __atomic_load_n (&c->graceful_releases, __ATOMIC_RELAXED);
  out->ungraceful_releases = __atomic_load_n (&c->ungraceful_releases, __ATOMIC_RELAXED);
  out->purged = __atomic_load_n (&c->purged, __ATOMIC_RELAXED);
  out->acquire_ticks_total = __atomic_load_n (&c->acquire_ticks_total, __ATOMIC_RELAXED);
  out->acquire_ticks_max = __atomic_load_n (&c->acquire_ticks_max, __ATOMIC_RELAXED);
  out->acquires_timed = __atomic_load_n (&c->acquires_timed, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------ */
/* The acquire clock                                                        */
/* ------------------------------------------------------------------------ */

gint _tether_trace_clock = -1;

/* Where the time-stamp counter's rate is measured from: a tick count and
 * the CLOCK_MONOTONIC time it was read at, first read before
 * _tether_trace_clock says TETHER_TRACE_CLOCK_TSC; and the last rate
 * measured, 0 before the first. Under tsc_lock after that. */
static GMutex tsc_lock;
static gint64 tsc_base_ticks;
static gint64 tsc_base_ns;
static double tsc_rate;

/* A tick count and the time it was read at, read between two clock reads
 * that are close: a reading interrupted in between (preempted, migrated)
 * is taken again. */
static void
tsc_read_pair (gint64 *out_ticks,
               gint64 *out_ns)
{
  gint64 best = G_MAXINT64;

  for (guint i = 0; i < 5; i++)
    {
      gint64 before = _tether_trace_now ();
      gint64 ticks = _tether_trace_read_tsc ();
      gint64 after = _tether_trace_now ();

      if (after - before < best)
        {
          best = after - before;
          *out_ticks = ticks;
          *out_ns = before + (after - before) / 2;
        }
      if (best < 1000)
        break;
    }
}

/* Whether this process may use the time-stamp counter as its acquire
 * clock: the kernel keeps time with it, so it runs at a constant rate and
 * agrees between CPUs; and reading it does not trap (PR_SET_TSC). */
static gboolean
tsc_usable (void)
{
#if defined (__linux__) && (defined (__x86_64__) || defined (__i386__))
  g_autofree char *source = NULL;
  int state = 0;

  if (!g_file_get_contents ("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                            &source, NULL, NULL))
    return FALSE;
  if (!g_str_equal (g_strstrip (source), "tsc"))
    return FALSE;

  return prctl (PR_GET_TSC, &state, 0, 0, 0) == 0 && state == PR_TSC_ENABLE;
#else
  return FALSE;
#endif
}

TetherTraceClock
_tether_trace_clock_slow (void)
{
  static gsize decided = 0;

  if (g_once_init_enter (&decided))
    {
      const char *env = g_getenv ("TETHER_ACQUIRE_TIMING");
      TetherTraceClock clock = TETHER_TRACE_CLOCK_MONOTONIC;

      if (g_strcmp0 (env, "monotonic") != 0 && tsc_usable ())
        {
          /* Before the clock says so: a conversion finds the base. */
          tsc_read_pair (&tsc_base_ticks, &tsc_base_ns);
          clock = TETHER_TRACE_CLOCK_TSC;
        }
      g_atomic_int_set (&_tether_trace_clock, clock);
      g_once_init_leave (&decided, 1);
    }

  return g_atomic_int_get (&_tether_trace_clock);
}

double
_tether_trace_ns_per_tick (void)
{
  const gint64 min_span_ns = 2 * G_TIME_SPAN_MILLISECOND * 1000;
  gint64 now_ticks = 0, now_ns = 0;
  double rate;

  if (_tether_trace_clock_slow () != TETHER_TRACE_CLOCK_TSC)
    return 1.0;

  g_mutex_lock (&tsc_lock);
  tsc_read_pair (&now_ticks, &now_ns);
  /* A counter that went back started over (firmware may reset it in a
   * suspend): the rate is measured from here on, and until that span is
   * long enough the last rate stands (the counter's rate is constant). */
  if (now_ticks <= tsc_base_ticks)
    {
      tsc_base_ticks = now_ticks;
      tsc_base_ns = now_ns;
    }
  if (now_ns - tsc_base_ns < min_span_ns)
    {
      if (tsc_rate > 0)
        {
          rate = tsc_rate;
          g_mutex_unlock (&tsc_lock);
          return rate;
        }
      g_usleep ((min_span_ns - (now_ns - tsc_base_ns)) / 1000 + 1);
      tsc_read_pair (&now_ticks, &now_ns);
    }
  tsc_rate = (double) (now_ns - tsc_base_ns) / (double) MAX (now_ticks - tsc_base_ticks, 1);
  rate = tsc_rate;
  g_mutex_unlock (&tsc_lock);

  return rate;
}

void
_tether_trace_clock_restart_for_tests (void)
{
  g_mutex_lock (&tsc_lock);
  tsc_base_ticks = G_MAXINT64;
  g_mutex_unlock (&tsc_lock);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

gint _tether_trace_timing = -1;

gboolean
_tether_trace_timing_slow (void)
{
  const char *env = g_getenv ("TETHER_ACQUIRE_TIMING");
  gint timing = !(env != NULL && g_str_equal (env, "0"));

  g_atomic_int_set (&_tether_trace_timing, timing);
  return timing;
}

gboolean
_tether_trace_showing_slow (void)
{
  return marks_are_wanted () || trace_enabled ();
}

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
                                 guint64       ticks,
                                 gboolean      succeeded,
                                 const GError *error)
{
  gint64 end = _tether_trace_now ();
  guint64 elapsed = _tether_trace_ticks_to_ns (ticks, _tether_trace_ns_per_tick ());
  gint64 start = end - (gint64) elapsed;

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

void
_tether_trace_release_shown (const char   *name,
                             GMainContext *context,
                             gboolean      graceful,
                             gint64        start)
{
  gint64 elapsed = MAX (_tether_trace_now () - start, 0);

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

void
_tether_trace_joined_locked (TetherTraceCounters *counters,
                             const char          *name,
                             GMainContext        *context)
{
  _tether_trace_count_add_locked (&counters->joins, 1);

  if (trace_enabled ())
    defer_locked ("flight-joined", name, context, NULL);
}

void
_tether_trace_purge_queued_locked (TetherTraceCounters *counters)
{
  _tether_trace_count_add_locked (&counters->purged, 1);
}

void
_tether_trace_context_event_locked (const char    *event,
                                    GMainContext  *context,
                                    gconstpointer  manager)
{
  if (trace_enabled ())
    defer_locked (event, NULL, context, manager);
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
