/* tether-trace-private.h: what tether tells about its slow paths: the
 * structured debug log, the per-template counters and the Sysprof marks.
 * Private to libtether, never installed; layer 0 (docs/design.md): it calls
 * no other core file, and every other one may call it.
 *
 * Nothing here is reached from the hit path: a cache hit neither counts nor
 * logs, so it costs what it cost before (bench/callgrind-hit-path.sh).
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

G_BEGIN_DECLS

/* A template's counters. Every field is read atomically (relaxed: each is
 * a tally of its own, read as a snapshot) and written only by the
 * functions below: @acquires and @ungraceful_releases with atomic adds
 * where the provider is called; the others under the state lock, by its
 * one holder (a plain add published with an atomic store: no locked
 * instruction). A manager's enter claims its prepared flights, and a
 * release list ends, in a hold it takes anyway: those acquires and
 * releases are counted there, in words of their own (a plain add and an
 * atomic add on one word could lose one). Lives in the template's
 * TetherProviderCall. */
typedef struct
{
  guint64 acquires;            /* atomic add: provider acquires started */
  guint64 acquires_claimed;    /* state lock: ... of prepared flights, claimed in a hold */
  guint64 acquires_done;       /* state lock: ... and completed, successfully or not */
  guint64 failures;            /* state lock: ... completed without a resource */
  guint64 joins;               /* state lock: callers that joined a flight under way */
  guint64 graceful_releases;   /* state lock: counted when their list ends */
  guint64 ungraceful_releases; /* atomic add */
  guint64 purged;              /* state lock: resources of dead contexts queued */
  guint64 acquire_ticks_total; /* state lock: provider acquire time, start to completion,
                                * in ticks of the acquire clock */
  guint64 acquire_ticks_max;   /* state lock */
  guint64 acquires_timed;      /* state lock: acquires done whose time the two above hold */
} TetherTraceCounters;

/* The journal fields a message carries, beyond MESSAGE and PRIORITY. */
#define TETHER_TRACE_FIELD_TEMPLATE    "TETHER_TEMPLATE"
#define TETHER_TRACE_FIELD_CONTEXT     "TETHER_CONTEXT"
#define TETHER_TRACE_FIELD_EVENT       "TETHER_EVENT"
#define TETHER_TRACE_FIELD_DURATION_US "TETHER_DURATION_US"
#define TETHER_TRACE_FIELD_OUTCOME     "TETHER_OUTCOME"
#define TETHER_TRACE_FIELD_COUNT       "TETHER_COUNT"
#define TETHER_TRACE_FIELD_MODULE      "TETHER_MODULE"

/* Whether the debug log of domain "Tether" is on: G_MESSAGES_DEBUG names
 * it (or "all"; read once), or g_log_set_debug_enabled (TRUE). */
gboolean _tether_trace_enabled             (void);

/* CLOCK_MONOTONIC in nanoseconds: the clock of Sysprof captures. */
static inline gint64
_tether_trace_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* The acquire clock, which provider acquires are timed with: the CPU's
 * time-stamp counter where the kernel keeps its own time with it (the
 * clocksource is "tsc": a constant rate, the same on every CPU) and lets
 * this process read it; one instruction, which costs about half of a
 * clock_gettime() (docs/performance.md). Otherwise, or with
 * TETHER_ACQUIRE_TIMING=monotonic, CLOCK_MONOTONIC in nanoseconds.
 * Durations stay in its ticks until _tether_trace_ticks_to_ns(). Atomic:
 * -1 until decided (once, tether-trace.c), then one of these. */
typedef enum
{
  TETHER_TRACE_CLOCK_MONOTONIC = 0,
  TETHER_TRACE_CLOCK_TSC = 1,
} TetherTraceClock;

extern gint _tether_trace_clock;
TetherTraceClock _tether_trace_clock_slow  (void);

/* The time-stamp counter itself (0 where there is none to read). */
static inline gint64
_tether_trace_read_tsc (void)
{
#if defined (__x86_64__) || defined (__i386__)
  return (gint64) __builtin_ia32_rdtsc ();
#else
  return 0;
#endif
}

static inline gint64
_tether_trace_ticks (void)
{
#if defined (__x86_64__) || defined (__i386__)
  gint clock = g_atomic_int_get (&_tether_trace_clock);

  if (G_UNLIKELY (clock < 0))
    clock = _tether_trace_clock_slow ();
  if (G_LIKELY (clock == TETHER_TRACE_CLOCK_TSC))
    return _tether_trace_read_tsc ();
#endif

  return _tether_trace_now ();
}

/* Nanoseconds per tick of the acquire clock: 1 for CLOCK_MONOTONIC; for
 * the time-stamp counter, its rate measured from when the clock was
 * decided to now. A call less than 2 ms after that sleeps the rest of
 * the 2 ms first (an error of about 1 in 20,000 at worst; less the longer
 * the process runs). Not under the state lock. */
double   _tether_trace_ns_per_tick         (void);
/* For tests: as if the time-stamp counter had started over (a resume from
 * suspend), from the next _tether_trace_ns_per_tick() on. */
void     _tether_trace_clock_restart_for_tests (void);

static inline guint64
_tether_trace_ticks_to_ns (guint64 ticks,
                           double  ns_per_tick)
{
  return ns_per_tick == 1.0 ? ticks : (guint64) ((double) ticks * ns_per_tick + 0.5);
}

void     _tether_trace_counters_read       (const TetherTraceCounters *counters,
                                            TetherTraceCounters       *out);

/* Atomic, -1 until decided (tether-trace.c reads the environment once):
 * whether G_MESSAGES_DEBUG names the domain, whether Sysprof records marks. */
extern gint _tether_trace_debug_from_env;
extern gint _tether_trace_marks_wanted;
gboolean _tether_trace_showing_slow        (void);

/* Whether a provider call's events show anywhere (the debug log or a
 * Sysprof mark): inline, since every provider call asks, twice. */
static inline gboolean
_tether_trace_showing (void)
{
  gint from_env = g_atomic_int_get (&_tether_trace_debug_from_env);
  gint marks = g_atomic_int_get (&_tether_trace_marks_wanted);

  if (G_UNLIKELY ((from_env | marks) < 0))
    return _tether_trace_showing_slow ();

  return from_env || marks || g_log_get_debug_enabled ();
}

/* Atomic, -1 until TETHER_ACQUIRE_TIMING is read: whether provider
 * acquires are timed (two clock reads each; on unless the variable is
 * "0"). */
extern gint _tether_trace_timing;
gboolean _tether_trace_timing_slow         (void);

static inline gboolean
_tether_trace_timing_enabled (void)
{
  gint timing = g_atomic_int_get (&_tether_trace_timing);

  if (G_UNLIKELY (timing < 0))
    return _tether_trace_timing_slow ();

  return timing;
}

/* What the provider layer hands the completion instead of a duration:
 * no provider acquire ran (nothing is counted), or one ran untimed (it is
 * counted, its time is not). */
#define TETHER_TRACE_NOT_RUN ((gint64) -1)
#define TETHER_TRACE_UNTIMED ((gint64) -2)

void     _tether_trace_acquire_begin_shown (const char          *name,
                                            GMainContext        *context);
/* @elapsed: in ticks of the acquire clock; it ended now. */
void     _tether_trace_acquire_end_shown   (const char          *name,
                                            GMainContext        *context,
                                            guint64              ticks,
                                            gboolean             succeeded,
                                            const GError        *error);
void     _tether_trace_release_shown       (const char          *name,
                                            GMainContext        *context,
                                            gboolean             graceful,
                                            gint64               start);

/* A provider acquire about to start, counted outside the state lock. */
static inline void
_tether_trace_acquire_started (TetherTraceCounters *counters)
{
  (void) __atomic_fetch_add (&counters->acquires, 1, __ATOMIC_RELAXED);
}

/* The start of a provider acquire of @name for @context on the acquire
 * clock, or 0 when neither the timing nor anything showing wants it (the
 * clock is then not read). With @clock not 0 (the end of the acquire
 * before it, in a manager's enter) that is the start, unless the acquire
 * shows: its marks and messages then get a start of their own. */
static inline gint64
_tether_trace_acquire_start (const char   *name,
                             GMainContext *context,
                             gboolean      showing,
                             gint64        clock)
{
  if (G_UNLIKELY (showing))
    {
      _tether_trace_acquire_begin_shown (name, context);
      return _tether_trace_ticks ();
    }
  if (clock != 0)
    return clock;

  return _tether_trace_timing_enabled () ? _tether_trace_ticks () : 0;
}

/* The provider layer (tether-provider.c): one acquire of @name for
 * @context. Begin counts it and returns its start on the acquire clock,
 * or 0 when
 * neither the timing nor anything showing wants it (the clock is then not
 * read); the provider layer then takes the duration with
 * _tether_trace_acquire_duration(), shows it with
 * _tether_trace_acquire_end_shown() when _tether_trace_showing(), and
 * leaves the rest of the counting to _tether_trace_acquire_counted_locked(). */
static inline gint64
_tether_trace_acquire_begin (TetherTraceCounters *counters,
                             const char          *name,
                             GMainContext        *context)
{
  _tether_trace_acquire_started (counters);

  return _tether_trace_acquire_start (name, context, _tether_trace_showing (), 0);
}

/* Ticks of the acquire clock since @start (never negative), or
 * TETHER_TRACE_UNTIMED when @start is 0. *@out_end, if not NULL: the
 * clock read, 0 when @start is 0. */
static inline gint64
_tether_trace_acquire_duration (gint64  start,
                                gint64 *out_end)
{
  gint64 end = 0;
  gint64 elapsed = TETHER_TRACE_UNTIMED;

  if (start != 0)
    {
      end = _tether_trace_ticks ();
      elapsed = end > start ? end - start : 0;
    }
  if (out_end != NULL)
    *out_end = end;

  return elapsed;
}

/* Before a provider's release: the start time to give to
 * _tether_trace_release(), or 0 when nothing would show the duration
 * (no Sysprof marks, no debug log): the clock is then not read. */
static inline gint64
_tether_trace_release_begin (void)
{
  return G_UNLIKELY (_tether_trace_showing ()) ? _tether_trace_now () : 0;
}

/* After a provider's release returned; @context is NULL when ungraceful.
 * Counts an ungraceful one; a graceful one is counted when its list ends
 * (_tether_trace_released_locked()). */
static inline void
_tether_trace_release (TetherTraceCounters *counters,
                       const char          *name,
                       GMainContext        *context,
                       gboolean             graceful,
                       gint64               start)
{
  if (!graceful)
    (void) __atomic_fetch_add (&counters->ungraceful_releases, 1, __ATOMIC_RELAXED);
  if (G_UNLIKELY (start != 0))
    _tether_trace_release_shown (name, context, graceful, start);
}

/* Events noticed under the state lock are only counted there; their
 * messages wait in a per-thread buffer until TETHER_STATE_UNLOCK() sends
 * them (a log writer may call anything, tether included). */
/* A counter written only under the state lock: the holder is its one
 * writer, so a plain add, stored atomically for the readers, is enough. */
#define _tether_trace_count_add_locked(p, v) \
  __atomic_store_n ((p), __atomic_load_n ((p), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)

/* A prepared flight claimed in a hold (its provider acquire starts right
 * after it), and a graceful release whose list ended, counted in that
 * hold. */
static inline void
_tether_trace_acquire_claimed_locked (TetherTraceCounters *counters)
{
  _tether_trace_count_add_locked (&counters->acquires_claimed, 1);
}

static inline void
_tether_trace_released_locked (TetherTraceCounters *counters)
{
  _tether_trace_count_add_locked (&counters->graceful_releases, 1);
}
void     _tether_trace_joined_locked       (TetherTraceCounters *counters,
                                            const char          *name,
                                            GMainContext        *context);
void     _tether_trace_purge_queued_locked (TetherTraceCounters *counters);
/* The completion of a flight (tether-flight.c), in the hold that publishes
 * its outcome: an acquire done, with a resource or not, that took
 * @elapsed ticks of the acquire clock (timed when the timing is on), or
 * TETHER_TRACE_UNTIMED. Inline: every acquire completes here. */
static inline void
_tether_trace_acquire_counted_locked (TetherTraceCounters *counters,
                                      gint64               elapsed,
                                      gboolean             succeeded)
{
  if (elapsed >= 0 && _tether_trace_timing_enabled ())
    {
      guint64 ticks = (guint64) elapsed;

      _tether_trace_count_add_locked (&counters->acquire_ticks_total, ticks);
      if (ticks > __atomic_load_n (&counters->acquire_ticks_max, __ATOMIC_RELAXED))
        __atomic_store_n (&counters->acquire_ticks_max, ticks, __ATOMIC_RELAXED);
      _tether_trace_count_add_locked (&counters->acquires_timed, 1);
    }
  if (G_UNLIKELY (!succeeded))
    _tether_trace_count_add_locked (&counters->failures, 1);
  /* Last: a reader that sees the acquire done sees its time and outcome
   * counted (docs/debugging.md: acquires - acquires_done are under way). */
  __atomic_store_n (&counters->acquires_done,
                    __atomic_load_n (&counters->acquires_done, __ATOMIC_RELAXED) + 1,
                    __ATOMIC_RELEASE);
}
void     _tether_trace_context_event_locked (const char         *event,
                                            GMainContext        *context,
                                            gconstpointer        manager);

/* Outside the lock: the janitor's events. */
void     _tether_trace_context_died        (GMainContext        *context,
                                            guint                n_queued);
void     _tether_trace_purge               (const char          *only,
                                            guint                n_released,
                                            gint64               start);

/* The loader: @path loaded as template @name, or refused with @error. */
void     _tether_trace_module              (const char          *path,
                                            const char          *name,
                                            const GError        *error);

/* The per-thread buffer of messages noticed under the lock. */
/* initial-exec (4 bytes of static TLS): every TETHER_STATE_UNLOCK() reads
 * it, with one %fs-relative load instead of a __tls_get_addr() call. */
extern __thread guint _tether_trace_n_deferred __attribute__((tls_model ("initial-exec")));
void     _tether_trace_flush_deferred_slow (void);

static inline void
_tether_trace_flush_deferred (void)
{
  if (G_UNLIKELY (_tether_trace_n_deferred != 0))
    _tether_trace_flush_deferred_slow ();
}

G_END_DECLS
