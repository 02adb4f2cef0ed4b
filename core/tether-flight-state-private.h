/* tether-flight-state-private.h: what a flight is made of, and the steps
 * its three files share: tether-flight.c (the flight, the synchronous
 * callers, completion), tether-flight-async.c (asynchronous callers) and
 * tether-flight-prepared.c (the flights a manager's enter prepares).
 * Private to those three files; never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-flight-state-private.h is private to libtether"
#endif

#include "tether-context-record-private.h"
#include "tether-entry-private.h"
#include "tether-flight-private.h"

G_BEGIN_DECLS

/* Where the provider's start is, for a flight started by an asynchronous
 * caller that could not own the context. */
typedef enum
{
  START_NONE,      /* started on the leader's thread, or not deferred */
  START_PENDING,   /* an idle in the context will start it */
  START_RUNNING,   /* that idle ran */
  START_DROPPED,   /* every caller left first: the idle will do nothing */
} StartState;

struct _TetherFlight
{
  gint             ref_count;     /* atomic */

  /* Read-only after creation */
  TetherTemplate  *template;      /* owned */
  GMainContext    *context;       /* owned: a context cannot die under an acquire */
  GCancellable    *cancellable;   /* owned; given to the provider's acquire_async */
  gboolean         uses_async;    /* the provider's acquire_async runs */
  GThread         *creator;       /* thread that started the flight */
  gboolean         for_thread_default; /* @context was the creator's thread-default */

  /* Protected by the state lock */
  TetherEntry     *entry;         /* the entry in the table while acquiring */
  TetherContextRecord *record;    /* @context's; alive while @entry is in
                                   * the table (it counts in n_entries) */
  TetherCond      *cond;          /* signalled when done; allocated by the
                                   * first synchronous caller that waits */
  GThread         *leader;        /* thread inside a provider call of this flight */
  StartState       start;
  GSource         *start_source;  /* owned while START_PENDING, if recorded */
  GPtrArray       *waiters;       /* asynchronous callers (tether-flight-async.c) */
  const struct _TetherFlightWaiterOps *waiter_ops; /* set with @waiters */
  guint            n_async;       /* waiters that have not left */
  guint            n_sync;        /* synchronous callers, the leader included */
  gboolean         abandoned;     /* every caller left before the end */
  gint             prepared;      /* atomic: made by a manager's enter, whose
                                   * thread (@leader) has not started it */
  gint             done;          /* atomic */
  gpointer         resource;
  GError          *error;

  /* A prepared flight's (see tether-flight-prepared.c) */
  TetherFlightBlock *block;       /* the enter's allocation, or NULL */
  GThread         *taken_by;      /* state lock: who took the prepared
                                   * flight over from the enter, or NULL */
  GError          *enter_error;   /* the enter's copy of @error, prefixed */
};

/* The flights one manager's enter prepares, in one allocation. Each lives
 * as long as any flight in it: the block holds the context for all of
 * them, and a flight in a block holds no reference on its template (its
 * entry does, until the flight completes, and no one reads the template
 * through the flight after that, but a joiner, which holds it itself). */
struct _TetherFlightBlock
{
  gint          ref_count;   /* atomic: the enter's, and one per flight */
  GMainContext *context;     /* owned */
  guint         n_used;      /* the enter's thread only */
  guint         n_flights;   /* this enter's */
  guint         capacity;    /* allocated (a spare block is reused) */
  TetherFlight  flights[];
};

/* How a completing flight hands its outcome to its asynchronous callers:
 * registered on the flight by tether-flight-async.c with its first waiter,
 * so that control goes up to that file only through it. */
typedef struct _TetherFlightWaiterOps
{
  /* Under the state lock: takes the waiters off the flight; the result is
   * given to finish(), or NULL for nothing to finish. */
  gpointer (*take_locked) (TetherFlight *flight,
                           gpointer      resource);
  /* Unlocked, after the completion. */
  void     (*finish)      (TetherFlight *flight,
                           gpointer      taken,
                           gpointer      resource,
                           const GError *error);
} TetherFlightWaiterOps;

/* tether-flight.c */
/* With @block, the flight is the block's next one. */
TetherFlight *_tether_flight_alloc_locked  (TetherFlightBlock   *block,
                                            TetherContextRecord *record,
                                            TetherTemplate      *self,
                                            GMainContext        *context,
                                            gboolean             uses_async,
                                            GThread             *creator,
                                            gboolean             for_thread_default);
/* Creates the entry and flight for a first acquire; *@out_warn: give the
 * unmanaged warning once unlocked. */
TetherFlight *_tether_flight_new_locked    (TetherTemplate      *self,
                                            GMainContext        *context,
                                            gboolean             uses_async,
                                            gboolean            *out_warn);
void          _tether_flight_run_provider  (TetherFlight        *flight);
/* @elapsed: how long the provider's acquire took, counted in the
 * completion's hold, or TETHER_TRACE_UNTIMED (counted, not timed), or
 * TETHER_TRACE_NOT_RUN when no provider acquire ran (nothing counted). */
void          _tether_flight_complete      (TetherFlight        *flight,
                                            gpointer             resource,
                                            GError              *provider_error,
                                            gint64               elapsed);
void          _tether_flight_complete_full (TetherFlight        *flight,
                                            gpointer             resource,
                                            GError              *provider_error,
                                            gint64               elapsed,
                                            gboolean             leader_leaves);
TetherFlight *_tether_flight_ref           (TetherFlight        *flight);
/* Never under the state lock: it may drop the last reference of a context. */
void          _tether_flight_unref         (TetherFlight        *flight);
/* Drops the caller's reference on @flight, done and in a block. TRUE: it
 * was the last, and its reference on the block passes to the caller (a
 * manager's enter drops all of them in one _tether_flight_block_unref()). */
gboolean      _tether_flight_unref_done_in_block (TetherFlight  *flight);
void          _tether_flight_wait_done_locked (TetherFlight     *flight);
void          _tether_flight_set_no_provider_error (TetherTemplate  *self,
                                                    GError         **error);
void          _tether_flight_set_recursive_error   (TetherTemplate  *self,
                                                    GMainContext    *context,
                                                    GError         **error);

/* Runs a prepared flight's provider on this thread, its leader (the enter,
 * or a provider of it that asked for the flight), which claimed it; with
 * @leaves, the caller stops counting in the completion's hold. @run and
 * @next: the enter's (see _tether_flight_run_prepared()), or NULL. */
gpointer      _tether_flight_lead_prepared (TetherFlight        *flight,
                                            gboolean             leaves,
                                            TetherEnterRun      *run,
                                            TetherFlight        *next,
                                            GError             **error);

G_END_DECLS
