/* tether-trace-private.h: what tether tells about its slow paths: the
 * structured debug log, the per-template counters and the Sysprof marks.
 * Private to libtether, never installed.
 *
 * Nothing here is reached from the hit path: a cache hit neither counts nor
 * logs (bench/callgrind-hit-path.sh). Nothing here is called under the
 * state lock but the *_locked counting functions; messages are logged by
 * their callers after unlocking.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-trace-private.h is private to libtether"
#endif

#include <time.h>

#include <glib.h>

#include "tether-lock-private.h"

G_BEGIN_DECLS

/* A template's counters, read atomically as a snapshot (relaxed: each is a
 * tally of its own). Each word has one kind of writer, named at the field:
 * atomic adds where the provider is called, or plain adds under the state
 * lock published with an atomic store (a plain add and an atomic add on one
 * word could lose one). Lives in the template's TetherProviderCall. */
typedef struct
{
  guint64 acquires;            /* state lock: provider acquires started, counted in
                                * the hold that decides to start them */
  guint64 acquires_done;       /* state lock: ... completed, with a resource or not;
                                * stored last, with release */
  guint64 failures;            /* state lock: ... completed without a resource */
  guint64 joins;               /* state lock: callers that joined a flight under way */
  guint64 graceful_releases;   /* state lock: counted in the hold after the release */
  guint64 ungraceful_releases; /* state lock: the same */
  guint64 purged;              /* state lock: resources of dead contexts queued */
  guint64 acquire_ns_total;    /* state lock: provider acquire time, start to completion */
  guint64 acquire_ns_max;      /* state lock */
  guint64 acquires_timed;      /* state lock: acquires whose time the two above hold */
} TetherTraceCounters;

/* The journal fields a message carries, beyond MESSAGE and PRIORITY. */
#define TETHER_TRACE_FIELD_TEMPLATE    "TETHER_TEMPLATE"
#define TETHER_TRACE_FIELD_CONTEXT     "TETHER_CONTEXT"
#define TETHER_TRACE_FIELD_EVENT       "TETHER_EVENT"
#define TETHER_TRACE_FIELD_DURATION_US "TETHER_DURATION_US"
#define TETHER_TRACE_FIELD_OUTCOME     "TETHER_OUTCOME"
#define TETHER_TRACE_FIELD_COUNT       "TETHER_COUNT"
#define TETHER_TRACE_FIELD_MODULE      "TETHER_MODULE"

/* The clock of every time tether measures, in nanoseconds: the kernel's
 * CLOCK_MONOTONIC, as Sysprof's captures use (g_get_monotonic_time() reads
 * the same clock, rounded to microseconds, too coarse for an acquire that
 * takes one). */
static inline gint64
_tether_trace_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* Decided once, from the environment (-1 until then; atomic): whether
 * G_MESSAGES_DEBUG names the domain "Tether", whether Sysprof records
 * marks, whether provider acquires are timed (TETHER_ACQUIRE_TIMING is not
 * "0"), and the duration over which a release is logged as slow
 * (TETHER_SLOW_RELEASE_MS, 0: never). */
extern gint _tether_trace_debug_from_env;
extern gint _tether_trace_marks_wanted;
extern gint _tether_trace_timing;
extern gint _tether_trace_slow_release_ms;
void     _tether_trace_decide              (void);

static inline void
_tether_trace_ensure_decided (void)
{
  if (G_UNLIKELY (g_atomic_int_get (&_tether_trace_slow_release_ms) < 0))
    _tether_trace_decide ();
}

/* Whether the debug log of domain "Tether" is on: G_MESSAGES_DEBUG names
 * it, or g_log_set_debug_enabled (TRUE). */
static inline gboolean
_tether_trace_enabled (void)
{
  _tether_trace_ensure_decided ();
  return g_atomic_int_get (&_tether_trace_debug_from_env) || g_log_get_debug_enabled ();
}

/* Whether a provider call's events show anywhere (the debug log or a
 * Sysprof mark): asked once per provider call. */
static inline gboolean
_tether_trace_showing (void)
{
  return _tether_trace_enabled () || g_atomic_int_get (&_tether_trace_marks_wanted);
}

void     _tether_trace_counters_read       (const TetherTraceCounters *counters,
                                            TetherTraceCounters       *out);

/* What the provider layer hands the completion instead of a duration: no
 * provider acquire ran (nothing is counted), or one ran untimed (it is
 * counted, its time is not). */
#define TETHER_TRACE_NOT_RUN ((gint64) -1)
#define TETHER_TRACE_UNTIMED ((gint64) -2)

void     _tether_trace_acquire_begin_shown (const char          *name,
                                            GMainContext        *context);
void     _tether_trace_acquire_end_shown   (const char          *name,
                                            GMainContext        *context,
                                            gint64               start,
                                            gint64               elapsed,
                                            gboolean             succeeded,
                                            const GError        *error);

/* A provider acquire of @name for @context starts (@showing: asked once,
 * for both ends): shows it, and returns its start, or 0 when
 * neither the timing nor anything showing wants it (the clock is then not
 * read). @start_hint, if not 0, is a clock read just taken (the end of the
 * acquire before it in a manager's enter): it is the start, unless the
 * acquire shows, which reads its own. */
static inline gint64
_tether_trace_acquire_begin (TetherTraceCounters *counters,
                             const char          *name,
                             GMainContext        *context,
                             gboolean             showing,
                             gint64               start_hint)
{
  if (G_UNLIKELY (showing))
    {
      _tether_trace_acquire_begin_shown (name, context);
      return _tether_trace_now ();
    }
  if (start_hint != 0)
    return start_hint;

  return g_atomic_int_get (&_tether_trace_timing) ? _tether_trace_now () : 0;
}

/* It ended: shows it (@succeeded is read only then), and returns its
 * duration in nanoseconds for the completion to count, or
 * TETHER_TRACE_UNTIMED. */
static inline gint64
_tether_trace_acquire_end (const char    *name,
                           GMainContext  *context,
                           gint64         start,
                           gboolean       showing,
                           gboolean       succeeded,
                           const GError  *error,
                           gint64        *out_end)
{
  gint64 end, elapsed;

  *out_end = 0;
  if (start == 0)
    return TETHER_TRACE_UNTIMED;

  end = _tether_trace_now ();
  elapsed = MAX (end - start, 0);
  *out_end = end;
  if (G_UNLIKELY (showing))
    _tether_trace_acquire_end_shown (name, context, start, elapsed, succeeded, error);

  return g_atomic_int_get (&_tether_trace_timing) ? elapsed : TETHER_TRACE_UNTIMED;
}

/* The completion of a flight, in the hold that publishes its outcome. */
void     _tether_trace_acquire_done_locked (TetherTraceCounters *counters,
                                            gint64               elapsed,
                                            gboolean             succeeded);

/* The clock of release times: CLOCK_MONOTONIC while they show (the
 * debug log, Sysprof marks); otherwise they only serve to notice a slow
 * release, which CLOCK_MONOTONIC_COARSE does at a quarter of the cost per
 * read (one tick of the kernel, a few milliseconds, against a threshold of
 * a second). */
static inline gint64
_tether_trace_release_now (gboolean showing)
{
  struct timespec ts;

  if (G_UNLIKELY (showing))
    return _tether_trace_now ();

  clock_gettime (CLOCK_MONOTONIC_COARSE, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* The start of a list of provider releases, or 0 when nothing wants
 * their times (the clock is then not read). */
static inline gint64
_tether_trace_release_start (void)
{
  gboolean showing = _tether_trace_showing ();

  if (g_atomic_int_get (&_tether_trace_slow_release_ms) > 0 || showing)
    return _tether_trace_release_now (showing);
  return 0;
}

/* A provider's release returned; @context is NULL when ungraceful. With
 * @start (from _tether_trace_release_start(), or the end of
 * the release before it in the same list) shows it, and logs it as slow
 * past the threshold, naming its template and duration. Returns its end,
 * the next release's start. */
gint64   _tether_trace_release_end         (TetherTraceCounters *counters,
                                            const char          *name,
                                            GMainContext        *context,
                                            gboolean             graceful,
                                            gint64               start);

void     _tether_trace_acquire_started_locked (TetherTraceCounters *counters);
void     _tether_trace_released_locked     (TetherTraceCounters *counters,
                                            gboolean             graceful);
void     _tether_trace_joined_locked       (TetherTraceCounters *counters);
void     _tether_trace_purge_queued_locked (TetherTraceCounters *counters);

/* Unlocked, after the hold that noticed them. */
void     _tether_trace_joined              (const char          *name,
                                            GMainContext        *context);
/* "context-first-served", "manager-enter", "manager-leave". */
void     _tether_trace_context_event       (const char          *event,
                                            GMainContext        *context,
                                            gconstpointer        manager);
void     _tether_trace_context_died        (GMainContext        *context,
                                            guint                n_queued);
void     _tether_trace_purge               (const char          *only,
                                            guint                n_released,
                                            gint64               start);

/* The loader: @path loaded as template @name, or refused with @error. */
void     _tether_trace_module              (const char          *path,
                                            const char          *name,
                                            const GError        *error);

G_END_DECLS
