/* tether-flight-prepared.c: the flights a manager's synchronous enter
 * prepares in the hold that claims its context, and runs in order, or out
 * of order when one of its providers asks for a later one
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-flight-private.h"
#include "tether-flight-state-private.h"
#include "tether-template-private.h"

/* Under the hold in which a manager's enter claims @context (whose record
 * exists), from the manager's thread, whose thread-default context
 * @context is: creates the entry and flight of (@self, @context) for the
 * enter to run with _tether_flight_run_prepared(), and returns it (one
 * reference, the enter's). Returns NULL when the enter must take the
 * general path instead (_tether_flight_acquire()): the template holds a
 * resource or has a flight under way for @context, or its provider has no
 * synchronous `acquire`.
 *
 * Until the enter reaches it, the flight counts the enter as its one
 * synchronous caller and this thread as its leader: other threads join it
 * and wait; a provider of this enter that asks for it runs it at once
 * (flight_run_prepared_and_unlock() in tether-flight.c). */
TetherFlight *
_tether_flight_prepare_locked (TetherFlightBlock   *block,
                               TetherContextRecord *record,
                               TetherTemplate      *self,
                               GMainContext        *context,
                               GThread             *thread)
{
  TetherFlight *flight;

  if (!_tether_provider_has_sync (&self->call) ||
      _tether_entry_lookup_locked (self, context) != NULL)
    return NULL;

  flight = _tether_flight_alloc_locked (block, record, self, context, FALSE, thread, TRUE);
  flight->n_sync = 1;
  flight->leader = thread;
  flight->prepared = TRUE;

  return flight;
}

gboolean
_tether_flight_claim_prepared_locked (TetherFlight *flight)
{
  /* Every other claim is made under the lock too, but the enter's own
   * exchange below, on this thread: a load and a store are enough. */
  if (!g_atomic_int_get (&flight->prepared))
    return FALSE;

  __atomic_store_n (&flight->prepared, FALSE, __ATOMIC_RELAXED);
  _tether_trace_acquire_claimed_locked (&flight->template->call.counters);

  return TRUE;
}

/* The enter's turn for @flight (consumed): runs its provider, unless a
 * caller took it over first, and returns the resource, or NULL with
 * @error set. *@out_led: whether the enter started it (ran it, or a
 * provider of the enter on its thread did), for an exact rollback; a
 * flight another thread took over is joined, as the enter would have
 * joined it before flights were prepared. */
gpointer
_tether_flight_run_prepared (TetherFlight    *flight,
                             TetherFlight    *next,
                             TetherEnterRun  *run,
                             gboolean        *out_led,
                             GError         **error)
{
  gboolean claimed = run->claimed;
  gpointer resource;

  run->claimed = FALSE;

  /* Claimed in the hold before, or now: only this thread's enter and
   * callers that took the flight over clear it, each by this exchange or
   * under the lock that guards it. */
  if (!claimed && g_atomic_int_compare_and_exchange (&flight->prepared, TRUE, FALSE))
    {
      _tether_trace_acquire_started (&flight->template->call.counters);
      claimed = TRUE;
    }

  if (claimed)
    {
      resource = _tether_flight_lead_prepared (flight, TRUE, run, next, NULL);
      *out_led = TRUE;
    }
  else
    {
      /* Taken over: by a provider of this enter, on this thread (then it
       * is done), or by another thread (then it may still run). */
      TETHER_STATE_LOCK ();
      _tether_flight_wait_done_locked (flight);
      flight->n_sync--;
      resource = flight->resource;
      *out_led = flight->taken_by == flight->creator;
      TETHER_STATE_UNLOCK ();
      /* Its time is not the next acquire's. */
      run->clock = 0;
    }

  /* Made by the completion under the lock, before it set done. */
  if (resource == NULL)
    g_propagate_error (error, g_steal_pointer (&flight->enter_error));
  if (_tether_flight_unref_done_in_block (flight))
    run->block_refs++;

  return resource;
}

/* Gives up a prepared flight the enter will not run (an earlier template
 * failed). Consumed. If it is still unstarted, it ends with an error its
 * waiting callers never see: they start over, as after an abandoned flight.
 * Returns whether a provider of the enter ran it, out of order, and it
 * produced a resource: the enter started it, so its rollback releases
 * it. */
gboolean
_tether_flight_drop_prepared (TetherFlight *flight)
{
  gboolean produced = FALSE;

  if (g_atomic_int_compare_and_exchange (&flight->prepared, TRUE, FALSE))
    {
      TETHER_STATE_LOCK ();
      flight->abandoned = TRUE;
      TETHER_STATE_UNLOCK ();
      _tether_flight_complete_full (flight, NULL,
                            g_error_new (TETHER_ERROR, TETHER_ERROR_FAILED,
                                         "The manager entering context %p failed before "
                                         "it acquired '%s'",
                                         flight->context, flight->template->call.name),
                            TETHER_TRACE_NOT_RUN, TRUE);
    }
  else
    {
      /* Taken over. On this thread, by a provider of the enter: done, and
       * the enter's to roll back if it produced a resource. On another
       * thread: that caller's, maybe still running; the enter leaves it. */
      TETHER_STATE_LOCK ();
      if (flight->taken_by == flight->creator)
        produced = flight->resource != NULL;
      flight->n_sync--;
      TETHER_STATE_UNLOCK ();
    }

  _tether_flight_unref (flight);

  return produced;
}
