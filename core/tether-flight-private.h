/* tether-flight-private.h: acquiring: one provider call per (template,
 * context) at a time, shared by every caller. Private to libtether, never
 * installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-flight-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

/* The slow path of every synchronous acquire: joins the acquire under way
 * for (@self, @context) or leads a new one. @context is resolved and alive
 * for the duration of the call (the caller's guarantee). */
gpointer _tether_flight_acquire       (TetherTemplate  *self,
                                       GMainContext    *context,
                                       GError         **error);
/* Queues @task (consumed) on the flight for (@self, @context), starting one
 * if there is none; @task gets the resource (transfer none) or an error,
 * never before this returns to its caller's main loop. When @cancellable
 * fires, the caller leaves the flight: a plain caller's @task fails at once
 * with CANCELLED, a settling one's (@settle: a manager, which must know
 * what its flights produced to roll back exactly) gets the flight's outcome
 * when it ends. */
void     _tether_flight_acquire_async (TetherTemplate  *self,
                                       GMainContext    *context,
                                       GCancellable    *cancellable,
                                       gboolean         settle,
                                       GTask           *task);
/* Whether @task's caller started the flight that completed it. */
gboolean _tether_flight_task_led      (GTask           *task);

/* A manager's synchronous enter, on the stack of the thread that runs it:
 * every flight that completes on this thread for @context while the frame
 * is open (the enter's own, and those a provider of the enter asked for
 * out of order) is noted in it, so that a failed enter releases exactly
 * what it produced, and acquires no template twice. */
typedef struct _TetherEnterFrame TetherEnterFrame;
struct _TetherEnterFrame
{
  GMainContext     *context;   /* identity only */
  struct _TetherContextRecord *record; /* @context's, claimed by the enter's manager */
  gint64            clock;     /* the end of the acquire the enter ran last, or 0 */
  GPtrArray        *produced;  /* templates, no references: compared only */
  GPtrArray        *failed;    /* TetherTemplate*, GError* pairs, or NULL */
  TetherEnterFrame *outer;
};

void          _tether_flight_enter_frame_push (TetherEnterFrame    *frame,
                                               GMainContext        *context,
                                               struct _TetherContextRecord *record,
                                               guint                n_templates);
void          _tether_flight_enter_frame_pop  (TetherEnterFrame *frame);
/* The error of @self's acquire that failed in @frame, or NULL. */
const GError *_tether_flight_enter_frame_failure (TetherEnterFrame *frame,
                                                  TetherTemplate   *self);

/* A manager's error for a template that failed: "Acquiring 'NAME' for
 * context 0x…: " and the provider's message. */
void     _tether_flight_prefix_error  (GError         **error,
                                       TetherTemplate  *self,
                                       GMainContext    *context);

/* For tests: the callers of the flight of (@self, @context) under way (sync
 * callers and async ones that have not left), and whether there is one. */
guint    _tether_flight_count_callers (TetherTemplate  *self,
                                       GMainContext    *context);
gboolean _tether_flight_is_under_way  (TetherTemplate  *self,
                                       GMainContext    *context);

G_END_DECLS
