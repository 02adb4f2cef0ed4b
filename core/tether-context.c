/* tether-context.c: which GMainContext a call means, and calling into one
 * from any thread
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"

/* The context of the innermost span of this thread that runs with it as
 * its owned thread-default, or NULL. initial-exec: one pointer of static
 * TLS, read with one %fs-relative load on every provider call. */
static __thread GMainContext *span_context __attribute__((tls_model ("initial-exec")));

void
_tether_context_enter (GMainContext      *context,
                       TetherContextSpan *span)
{
  _tether_context_enter_known (context, g_main_context_get_thread_default (), span);
}

void
_tether_context_enter_known (GMainContext      *context,
                             GMainContext      *thread_default,
                             TetherContextSpan *span)
{
  span->outer = span_context;
  span->pushed = FALSE;

  if (context == NULL)
    return;

  /* Inside a span of this context that is still the thread-default: the
   * thread owns it (only it could have released it, and spans pair). */
  if (context == span_context && context == thread_default)
    return;

  /* Already this thread's thread-default context, and owned by it (the
   * usual case inside a manager): nothing to push. The thread-default stack
   * holds a reference, so the context outlives the call. */
  if (context == thread_default && g_main_context_is_owner (context))
    {
      span_context = context;
      return;
    }

  if (!g_main_context_acquire (context))
    return;

  /* Our own reference for the span: what runs inside may drop the last
   * other one (a resource that referenced its context, released). */
  g_main_context_ref (context);
  g_main_context_push_thread_default (context);
  span->pushed = TRUE;
  span_context = context;
}

void
_tether_context_leave (GMainContext      *context,
                       TetherContextSpan *span)
{
  span_context = span->outer;

  if (!span->pushed)
    return;

  g_main_context_pop_thread_default (context);
  g_main_context_release (context);
  g_main_context_unref (context);
}

static __thread GThread *thread_self __attribute__((tls_model ("initial-exec")));

GThread *
_tether_thread_self (void)
{
  /* g_thread_self() looks the thread up in a GPrivate; the result never
   * changes for a thread. */
  if (G_UNLIKELY (thread_self == NULL))
    thread_self = g_thread_self ();
  return thread_self;
}

/* An asynchronous acquire completes only when its context is iterated: the
 * owner of the context iterates it rather than wait for a thread that may
 * never come. */
void
_tether_context_iterate_until (GMainContext *context,
                               gint         *done)
{
  while (!g_atomic_int_get (done))
    g_main_context_iteration (context, TRUE);
}

void
_tether_context_drain (GMainContext *context)
{
  const guint max_iterations = 100;
  gint64 deadline = 0;
  gint priority;

  if (!g_main_context_acquire (context))
    return;

  /* g_main_context_prepare() says whether a source is ready without
   * polling: an idle, an expired timeout, a source made ready from another
   * thread (a GTask's completion, GDBus's "closed"). Usually nothing is,
   * and a scope's end then costs no poll() system call. A prepare that
   * finds nothing leaves no state behind (no source is flagged ready, no
   * dispatch is pending); one that finds something is followed by an
   * iteration, whose own prepare sees the same sources ready. I/O that has
   * arrived on a descriptor but not been polled for is not dispatched:
   * the context's next iteration will. */
  for (guint i = 0; i < max_iterations; i++)
    {
      if (!g_main_context_prepare (context, &priority))
        break;
      if (deadline == 0)
        deadline = g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND;
      else if (g_get_monotonic_time () >= deadline)
        break;
      g_main_context_iteration (context, FALSE);
    }

  g_main_context_release (context);
}
