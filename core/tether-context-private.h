/* tether-context-private.h: which GMainContext a call means, and calling
 * into one from any thread. Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-context-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

/* The one definition of what a NULL context means everywhere in tether:
 * the calling thread's thread-default context, else the global default (as
 * g_main_context_ref_thread_default() resolves it, without the reference).
 * Inline for the hit path, which pays one
 * g_main_context_get_thread_default() call; g_main_context_default() is
 * lock-free after its first call, and its context is never freed. */
static inline GMainContext *
_tether_context_resolve (GMainContext *context)
{
  if (context != NULL)
    return context;

  context = g_main_context_get_thread_default ();
  if (G_LIKELY (context != NULL))
    return context;

  return g_main_context_default ();
}

/* A span of provider calls into one context (_tether_context_enter() to
 * _tether_context_leave()); on the caller's stack. */
typedef struct
{
  GMainContext *outer;    /* the span this one is nested in, or NULL */
  gboolean      pushed;   /* this span pushed (and acquired) the context */
} TetherContextSpan;

/* Calls into a context from any thread: pushes @context as thread-default
 * when this thread can own it and it is not already its owned
 * thread-default. Spans nest; one nested in a span of the same context,
 * still its thread-default, costs no GLib call beyond
 * g_main_context_get_thread_default() (a manager's enter enters once for
 * all its providers). */
void          _tether_context_enter          (GMainContext      *context,
                                              TetherContextSpan *span);
/* The same, with the calling thread's thread-default context as
 * g_main_context_get_thread_default() just returned it. */
void          _tether_context_enter_known    (GMainContext      *context,
                                              GMainContext      *thread_default,
                                              TetherContextSpan *span);
void          _tether_context_leave          (GMainContext      *context,
                                              TetherContextSpan *span);

/* Dispatches, without waiting or polling, what is ready in @context
 * (what releases just queued there: a GDBusConnection's closing, a GTask's
 * completion), so that it runs and lets go of its references before the
 * context is dropped: at most 100 iterations, or 50 ms. Costs one
 * g_main_context_prepare() when nothing is ready. Does nothing unless this
 * thread can own @context. */
void          _tether_context_drain          (GMainContext *context);

/* g_thread_self(), without its lookup after the first call. */
GThread      *_tether_thread_self            (void);

/* Iterates @context, which the caller owns, until *@done (read atomically)
 * becomes non-zero. */
void          _tether_context_iterate_until  (GMainContext *context,
                                              gint         *done);

G_END_DECLS
