/* tether-flight-prepared.c: the flights a manager's synchronous enter
 * prepares in the hold that claims its context, and runs in order, or out
 * of order when one of its providers asks for a later one
 *
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

/* The enter's turn for @flight (consumed): runs its provider, unless a
 * provider of this enter already ran it out of order, and returns the
 * resource, or NULL with @error set. Either way the enter started it. */
gpointer
_tether_flight_run_prepared (TetherFlight  *flight,
                             GError       **error)
{
  gpointer resource;

  /* Only this thread clears it (here, or nested in a provider it ran), so
   * no lock is needed to take the flight. */
  if (g_atomic_int_compare_and_exchange (&flight->prepared, TRUE, FALSE))
    resource = _tether_flight_lead_prepared (flight, TRUE, NULL);
  else
    {
      /* It ran nested, on this thread, inside an earlier provider call of
       * this enter, which has returned: its outcome is final. */
      g_assert (g_atomic_int_get (&flight->done));
      resource = flight->resource;

      TETHER_STATE_LOCK ();
      flight->n_sync--;
      TETHER_STATE_UNLOCK ();
    }

  /* Made by the completion, on this thread (only the enter's thread
   * completes a prepared flight). */
  if (resource == NULL)
    g_propagate_error (error, g_steal_pointer (&flight->enter_error));
  _tether_flight_unref (flight);

  return resource;
}

/* Gives up a prepared flight the enter will not run (an earlier template
 * failed). Consumed. If it is still unstarted, it ends with an error its
 * waiting callers never see: they start over, as after an abandoned flight.
 * Returns whether it ran, out of order, and produced a resource: the enter
 * started it, so its rollback releases it. */
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
                            TRUE);
    }
  else
    {
      produced = flight->resource != NULL;
      TETHER_STATE_LOCK ();
      flight->n_sync--;
      TETHER_STATE_UNLOCK ();
    }

  _tether_flight_unref (flight);

  return produced;
}
