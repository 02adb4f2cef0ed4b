/* tether-flight-private.h: acquiring, one provider call per (template,
 * context) shared by every caller. Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-flight-private.h is private to libtether"
#endif

#include "tether.h"
#include "tether-context-record-private.h"
#include "tether-entry-private.h"

G_BEGIN_DECLS

typedef struct _TetherFlightBlock TetherFlightBlock;

/* The slow path of every synchronous acquire: joins the acquire under way
 * or leads a new one. @context is resolved and alive for the duration of
 * the call (the caller's guarantee). *@out_led, if not NULL, tells whether
 * this call ran the provider. */
gpointer _tether_flight_acquire       (TetherTemplate  *self,
                                       GMainContext    *context,
                                       gboolean        *out_led,
                                       GError         **error);
void     _tether_flight_acquire_async (TetherTemplate  *self,
                                       GMainContext    *context,
                                       GCancellable    *cancellable,
                                       gboolean         settle,
                                       GTask           *task);
gboolean _tether_flight_task_led      (GTask           *task);

/* A manager's synchronous enter (tether-scope.c): under the hold that
 * claims @context, the flight the enter will run for @self, or NULL when
 * it must use _tether_flight_acquire() instead; then, unlocked, in order,
 * each prepared flight is run (its error prefixed as
 * _tether_flight_prefix_error() does) or dropped after an earlier
 * failure. */
TetherFlight      *_tether_flight_prepare_locked (TetherFlightBlock    *block,
                                                  TetherContextRecord  *record,
                                                  TetherTemplate       *self,
                                                  GMainContext         *context,
                                                  GThread              *thread);
/* What the enter carries from one prepared flight to the next. */
typedef struct
{
  gint64   clock;       /* the end of the provider acquire it ran last, or 0 */
  guint    block_refs;  /* references on the block that passed to the enter
                         * (see _tether_flight_block_unref()) */
  gboolean claimed;     /* the flight it runs next is claimed: in the hold
                         * that published the one before, or that prepared it */
} TetherEnterRun;

/* Under the hold that prepared @flight, or that publishes the flight the
 * enter ran before it: claims it for the enter (counting its acquire),
 * unless a caller took it over. Returns whether it did. */
gboolean           _tether_flight_claim_prepared_locked (TetherFlight  *flight);
/* Runs @flight (consumed) at the enter's turn; @next, if not NULL, is the
 * prepared flight of the enter's next template, claimed (run->claimed) in
 * the hold that publishes @flight when @flight produced a resource. */
gpointer           _tether_flight_run_prepared   (TetherFlight         *flight,
                                                  TetherFlight         *next,
                                                  TetherEnterRun       *run,
                                                  gboolean             *out_led,
                                                  GError              **error);
gboolean           _tether_flight_drop_prepared  (TetherFlight         *flight);
/* The allocation of an enter's prepared flights (at most @n_flights); the
 * enter holds its reference to its end, and drops with it those of the
 * flights it was the last to use (@n_refs in all: one atomic operation). */
TetherFlightBlock *_tether_flight_block_new      (GMainContext         *context,
                                                  guint                 n_flights);
void               _tether_flight_block_unref    (TetherFlightBlock    *block,
                                                  guint                 n_refs);
/* A manager's error for a template that failed: "Acquiring 'NAME' for
 * context 0x…: " and the provider's message. */
void               _tether_flight_prefix_error   (GError              **error,
                                                  TetherTemplate       *self,
                                                  GMainContext         *context);
/* For tests: the callers of the flight of (@self, @context) under way (sync
 * callers and async ones that have not left), and whether there is one. */
guint    _tether_flight_count_callers (TetherTemplate  *self,
                                       GMainContext    *context);
gboolean _tether_flight_is_under_way  (TetherTemplate  *self,
                                       GMainContext    *context);

G_END_DECLS
