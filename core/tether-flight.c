/* tether-flight.c: acquiring. One provider call per (template, context) at
 * a time, shared by every caller, synchronous or not ("single flight").
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rules where callers meet a flight (README, "Thread and context
 * rules"; tests/test-async-matrix.c checks every combination):
 *
 * - The caller that starts a flight picks the provider function: `acquire`
 *   for a synchronous caller, `acquire_async` for an asynchronous one, each
 *   falling back to the other when the provider lacks it.
 * - A flight "needs its context" while its result can only arrive by
 *   iterating the context: it runs `acquire_async`, or its start waits in an
 *   idle of the context. A synchronous caller then iterates the context
 *   itself, which it may only do if it can own it; otherwise it gets
 *   WOULD_BLOCK, before it is counted as a caller, whether it would lead or
 *   join.
 * - Every caller is counted: sync callers (the leader too) never leave; an
 *   async caller leaves when its cancellable fires. When the last caller has
 *   left, the flight is abandoned: a start still waiting in the context is
 *   dropped and the flight ends at once, cancelled; a running
 *   `acquire_async` is cancelled; a running `acquire` runs to its end.
 * - A thread inside a provider call of a flight (acquire, acquire_async,
 *   acquire_finish) that asks for that flight's own resource gets RECURSIVE.
 */

#include "config.h"

#include <string.h>

#include "tether-context-private.h"
#include "tether-flight-private.h"
#include "tether-janitor-private.h"
#include "tether-flight-state-private.h"
#include "tether-template-private.h"

static gboolean flight_needs_context_locked (TetherFlight  *flight);
static gpointer flight_join_and_unlock      (TetherFlight  *flight,
                                             gboolean       owned,
                                             gboolean      *out_retry,
                                             GError       **error);
static void     flight_lead_sync            (TetherFlight  *flight,
                                             gboolean       owned);
static gpointer flight_run_prepared_and_unlock (TetherFlight  *flight,
                                                GError       **error);
static void     flight_async_done           (GObject       *source_object,
                                             GAsyncResult  *result,
                                             gpointer       user_data);

/* Waits, under the state lock, until @flight is done (the wait object is
 * made by the first waiter). */
void
_tether_flight_wait_done_locked (TetherFlight *flight)
{
  /* The wait object exists only once somebody waits: a flight nobody
   * joins (every acquire of a manager's enter, as a rule) costs no
   * allocation and no wakeup for it. */
  if (!g_atomic_int_get (&flight->done) && flight->cond == NULL)
    {
      flight->cond = g_new (TetherCond, 1);
      tether_cond_init (flight->cond);
    }
  while (!g_atomic_int_get (&flight->done))
    tether_cond_wait (flight->cond, &_tether_state_lock);
}

void
_tether_flight_set_no_provider_error (TetherTemplate  *self,
                       GError         **error)
{
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ACQUIRE,
               "TetherTemplate %p has no provider: it was made with g_object_new(); "
               "make templates with tether_template_new(), "
               "tether_template_new_for_object() or tether_load_provider()",
               self);
}

void
_tether_flight_set_recursive_error (TetherTemplate  *self,
                     GMainContext    *context,
                     GError         **error)
{
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_RECURSIVE,
               "Template '%s' was asked for context %p from inside its own acquire",
               self->call.name, context);
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                             */
/* ------------------------------------------------------------------------ */

/* The slow path of every synchronous acquire. @context is alive for the
 * duration of the call (the caller's guarantee). *@out_led tells whether
 * this call started the flight that produced the result. */
gpointer
_tether_flight_acquire (TetherTemplate  *self,
                        GMainContext    *context,
                        gboolean        *out_led,
                        GError         **error)
{
  TetherFlight *flight;
  TetherEntry *entry;
  gboolean uses_async;
  gboolean owned = FALSE;
  gboolean warn;
  gpointer resource;

  if (out_led != NULL)
    *out_led = FALSE;

  if (!_tether_provider_can_acquire (&self->call))
    {
      _tether_flight_set_no_provider_error (self, error);
      return NULL;
    }

retry:
  TETHER_STATE_LOCK ();

  entry = _tether_entry_lookup_locked (self, context);

  if (entry != NULL && entry->flight == NULL)
    {
      resource = entry->resource;
      _tether_entry_cache_locked (self, context, resource);
      TETHER_STATE_UNLOCK ();
      return resource;
    }

  if (entry != NULL)
    {
      gboolean again = FALSE;

      flight = entry->flight;

      /* A manager's enter prepared this flight and has not reached it:
       * this caller runs it now, on its own thread, and the enter shares
       * the outcome. Waiting instead could deadlock: the enter may be
       * inside a provider that waits for this very caller (or, on the
       * enter's thread, this caller is such a provider). */
      if (g_atomic_int_compare_and_exchange (&flight->prepared, TRUE, FALSE))
        return flight_run_prepared_and_unlock (flight, error);

      if (flight->leader == g_thread_self ())
        {
          TETHER_STATE_UNLOCK ();
          _tether_flight_set_recursive_error (self, context, error);
          return NULL;
        }

      /* Decided before this caller counts: WOULD_BLOCK is its own answer. */
      if (flight_needs_context_locked (flight))
        {
          owned = g_main_context_acquire (context);
          if (!owned)
            {
              TETHER_STATE_UNLOCK ();
              g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK,
                           "Template '%s' is being acquired asynchronously for context %p, "
                           "which another thread owns: its result only arrives there. Use "
                           "tether_template_acquire_async(), or acquire from that thread",
                           self->call.name, context);
              return NULL;
            }
        }

      _tether_trace_joined_locked (&self->call.counters, self->call.name, context);
      resource = flight_join_and_unlock (flight, owned, &again, error);
      if (again)
        goto retry;
      return resource;
    }

  /* No flight: this caller starts one. An async-only provider's result
   * arrives through the context, which this thread must then own. */
  uses_async = !_tether_provider_has_sync (&self->call);
  if (uses_async)
    {
      owned = g_main_context_acquire (context);
      if (!owned)
        {
          TETHER_STATE_UNLOCK ();
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK,
                       "Template '%s' only acquires asynchronously and context %p "
                       "is owned by another thread; use "
                       "tether_template_acquire_async() or acquire from that thread",
                       self->call.name, context);
          return NULL;
        }
    }

  flight = _tether_flight_new_locked (self, context, uses_async, &warn);
  flight->n_sync = 1;

  TETHER_STATE_UNLOCK ();

  if (warn)
    _tether_janitor_warn_unmanaged (self->call.name, context);

  if (out_led != NULL)
    *out_led = TRUE;

  flight_lead_sync (flight, owned);
  g_assert (g_atomic_int_get (&flight->done));

  /* _tether_flight_complete() put the resource in this thread's cache when
   * @context is its thread-default. */
  TETHER_STATE_LOCK ();
  flight->n_sync--;
  resource = flight->resource;
  if (resource == NULL)
    g_propagate_error (error, g_error_copy (flight->error));
  else if (!flight->for_thread_default)
    _tether_entry_cache_if_held_locked (self, context, resource);
  TETHER_STATE_UNLOCK ();

  _tether_flight_unref (flight);

  return resource;
}

/* ------------------------------------------------------------------------ */
/* Steps, in call order                                                     */
/* ------------------------------------------------------------------------ */

/* Zeroes what _tether_flight_alloc_locked() does not set. A memset (or a
 * compound literal) of the 184 bytes is a rep stos, whose start-up made
 * it the dearest line of a manager's enter under perf annotate; these are
 * plain stores. A new field must be added here: the assertion fails when
 * the struct's size changes. */
G_STATIC_ASSERT (sizeof (gpointer) != 8 || sizeof (TetherFlight) == 184);

static inline void
flight_clear_block_flight (TetherFlight *flight)
{
  flight->cancellable = NULL;
  flight->entry = NULL;
  flight->cond = NULL;
  flight->leader = NULL;
  flight->start = START_NONE;
  flight->start_source = NULL;
  flight->waiters = NULL;
  flight->waiter_ops = NULL;
  flight->n_async = 0;
  flight->n_sync = 0;
  flight->abandoned = FALSE;
  flight->prepared = FALSE;
  flight->done = FALSE;
  flight->resource = NULL;
  flight->error = NULL;
  flight->taken_by = NULL;
  flight->enter_error = NULL;
}

/* The flight and its entry; @record is @context's. */
TetherFlight *
_tether_flight_alloc_locked (TetherFlightBlock   *block,
                             TetherContextRecord *record,
                             TetherTemplate      *self,
                             GMainContext        *context,
                             gboolean             uses_async,
                             GThread             *creator,
                             gboolean             for_thread_default)
{
  TetherFlight *flight;

  if (block != NULL)
    {
      /* The block's references stand for this flight's. */
      g_assert (block->n_used < block->n_flights);
      flight = &block->flights[block->n_used++];
      /* The block is the enter's alone until its hold ends. */
      ref_count_inc_private (&block->ref_count);
      flight_clear_block_flight (flight);
      flight->block = block;
      flight->template = self;
      flight->context = block->context;
    }
  else
    {
      flight = g_new0 (TetherFlight, 1);
      flight->template = g_object_ref (self);
      flight->context = g_main_context_ref (context);
    }

  /* Reachable by others only through its entry, under this hold. */
  ref_count_init_private (&flight->ref_count, 1);
  flight->uses_async = uses_async;
  /* Only an asynchronous provider acquire can be cancelled. */
  if (uses_async)
    flight->cancellable = g_cancellable_new ();
  flight->creator = creator;
  flight->for_thread_default = for_thread_default;
  flight->record = record;
  flight->entry = _tether_entry_add_flight_locked (record, self, context, flight);

  return flight;
}

/* Creates the entry and flight for a first acquire. */
TetherFlight *
_tether_flight_new_locked (TetherTemplate *self,
                   GMainContext   *context,
                   gboolean        uses_async,
                   gboolean       *out_warn)
{
  TetherContextRecord *record;

  record = _tether_janitor_watch_locked (context);

  /* A second distinct context with no manager. */
  *out_warn = !_tether_entry_table_is_empty_locked (self) &&
              _tether_janitor_unmanaged_warning_enabled () &&
              _tether_context_record_take_warning_locked (record);

  return _tether_flight_alloc_locked (NULL, record, self, context, uses_async, g_thread_self (),
                                      context == g_main_context_get_thread_default ());
}

static gboolean
flight_needs_context_locked (TetherFlight *flight)
{
  return flight->uses_async || flight->start == START_PENDING;
}

/* Waits, as a synchronous caller, for a flight another caller leads. Called
 * with the state lock held; returns with it released. With @owned, this
 * thread acquired the context (the flight needs it): it iterates the context
 * until the flight is done, then releases it. */
static gpointer
flight_join_and_unlock (TetherFlight  *flight,
                        gboolean       owned,
                        gboolean      *out_retry,
                        GError       **error)
{
  TetherTemplate *self = flight->template;
  gpointer resource;

  _tether_flight_ref (flight);
  flight->n_sync++;

  if (owned)
    {
      TETHER_STATE_UNLOCK ();
      _tether_context_iterate_until (flight->context, &flight->done);
      g_main_context_release (flight->context);
      TETHER_STATE_LOCK ();
    }

  _tether_flight_wait_done_locked (flight);

  flight->n_sync--;
  resource = flight->resource;
  *out_retry = flight->abandoned && resource == NULL;

  if (resource != NULL)
    _tether_entry_cache_if_held_locked (self, flight->context, resource);
  else if (!*out_retry)
    g_propagate_error (error, g_error_copy (flight->error));

  TETHER_STATE_UNLOCK ();

  _tether_flight_unref (flight);

  return resource;
}

/* Runs the provider for a flight a synchronous caller leads. With @owned,
 * this thread acquired the context (an async-only provider): the async
 * acquire starts with the context pushed, and the context is iterated until
 * the flight is done. */
static void
flight_lead_sync (TetherFlight *flight,
                  gboolean      owned)
{
  if (!owned)
    {
      _tether_flight_run_provider (flight);
      return;
    }

  g_main_context_push_thread_default (flight->context);
  _tether_flight_run_provider (flight);
  _tether_context_iterate_until (flight->context, &flight->done);
  g_main_context_pop_thread_default (flight->context);
  g_main_context_release (flight->context);
}

/* Runs the provider for @flight on this thread, with the flight's context
 * pushed as thread-default when this thread can own it. A synchronous
 * acquire completes the flight before this returns; an asynchronous one
 * completes it later, in the context. */
void
_tether_flight_run_provider (TetherFlight *flight)
{
  TetherTemplate *self = flight->template;
  TetherContextSpan span;

  _tether_context_enter (flight->context, &span);

  TETHER_STATE_LOCK ();
  flight->leader = g_thread_self ();
  TETHER_STATE_UNLOCK ();

  if (!flight->uses_async)
    {
      GError *error = NULL;
      gint64 elapsed;
      gpointer resource;

      resource = _tether_provider_acquire (&self->call, flight->context, &elapsed, &error);
      _tether_flight_complete (flight, resource, error, elapsed);
    }
  else
    {
      _tether_provider_acquire_async (&self->call,
                                      flight->context,
                                      flight->cancellable,
                                      flight_async_done,
                                      _tether_flight_ref (flight));

      /* The provider's synchronous part is over (it may have completed the
       * flight already, which cleared the leader). */
      TETHER_STATE_LOCK ();
      if (flight->leader == g_thread_self ())
        flight->leader = NULL;
      TETHER_STATE_UNLOCK ();
    }

  _tether_context_leave (flight->context, &span);
}

static void
flight_async_done (GObject      *source_object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  TetherFlight *flight = user_data;
  GError *error = NULL;
  gint64 elapsed;
  gpointer resource;

  TETHER_STATE_LOCK ();
  flight->leader = g_thread_self ();
  TETHER_STATE_UNLOCK ();

  resource = _tether_provider_acquire_finish (&flight->template->call, result, &elapsed,
                                              &error);
  _tether_flight_complete (flight, resource, error, elapsed);
  _tether_flight_unref (flight);
}

void
_tether_flight_complete (TetherFlight *flight,
                         gpointer      resource,
                         GError       *provider_error,
                         gint64        elapsed)
{
  _tether_flight_complete_full (flight, resource, provider_error, elapsed, FALSE);
}

/* Records the outcome of a flight and hands it to every waiter. Not under
 * the state lock. With @leader_leaves, the synchronous caller completing
 * it on its creator's thread (a manager's enter, or a provider of it)
 * stops counting as a caller in the same hold. When it produced a
 * resource, that hold also claims @claim_next (not NULL: the prepared
 * flight a manager's enter runs next), and returns whether it did. */
static gboolean
flight_complete (TetherFlight *flight,
                 gpointer      resource,
                 GError       *provider_error,
                 gint64        elapsed,
                 gboolean      leader_leaves,
                 TetherFlight *claim_next)
{
  TetherTemplate *self = flight->template;
  GMainContext *context = flight->context;
  gpointer taken = NULL;
  GError *error = NULL;
  GSource *detach = NULL;
  TetherTemplate *failed_ref = NULL;
  gboolean claimed = FALSE;
  gboolean wake;

  resource = _tether_provider_check_result (&self->call, context, resource, provider_error, &error);

  TETHER_STATE_LOCK ();
  {
    TetherEntry *entry = flight->entry;
    TetherContextRecord *record = flight->record;

    g_assert (entry != NULL);
    if (elapsed != TETHER_TRACE_NOT_RUN)
      _tether_trace_acquire_counted_locked (&self->call.counters, elapsed, resource != NULL);
    flight->entry = NULL;
    flight->leader = NULL;
    if (leader_leaves)
      flight->n_sync--;

    if (resource != NULL)
      {
        _tether_entry_set_held_locked (record, entry, resource);

        /* The creating thread's thread-default context: its next acquire
         * is a hit. And, for the thread-exit leak check, an unmanaged
         * resource of that context is remembered (decided before tether
         * pushed the context for the provider). */
        if (flight->for_thread_default &&
            (leader_leaves ? (flight->taken_by == NULL || flight->taken_by == flight->creator)
                           : flight->creator == g_thread_self ()))
          {
            _tether_entry_cache_locked (self, context, resource);
            if (record->manager == NULL)
              _tether_janitor_watch_thread_locked (context, record->id);
          }
      }
    else
      {
        failed_ref = _tether_entry_remove_flight_locked (self, entry);
        detach = _tether_janitor_unwatch_if_idle_locked (record);
      }

    flight->resource = resource;
    flight->error = error;
    /* The enter's error names the template: made while the failed entry
     * still holds it (a flight in a block does not), and before done,
     * for an enter waiting on another thread's completion. */
    if (flight->block != NULL && resource == NULL)
      {
        flight->enter_error = g_error_copy (error);
        _tether_flight_prefix_error (&flight->enter_error, self, context);
      }
    /* A release store (g_atomic_int_set() would be a full barrier): the
     * readers' loads acquire it. */
    __atomic_store_n (&flight->done, TRUE, __ATOMIC_RELEASE);
    if (flight->cond != NULL)
      tether_cond_broadcast (flight->cond);
    /* A synchronous caller may be iterating the context for this: only
     * when the result came through the context (a wakeup is a syscall,
     * which a manager's synchronous enter must not pay per template). */
    wake = flight->n_sync > 0 && (flight->uses_async || flight->start != START_NONE);

    /* Only asynchronous callers have waiters: a synchronous flight (a
     * manager's enter) allocates nothing here. */
    if (flight->waiter_ops != NULL)
      taken = flight->waiter_ops->take_locked (flight, resource);

    /* The enter's next turn, in this hold rather than with an atomic
     * exchange of its own: every other claim is made under the lock. */
    if (claim_next != NULL && resource != NULL)
      claimed = _tether_flight_claim_prepared_locked (claim_next);
  }
  TETHER_STATE_UNLOCK ();

  if (wake)
    g_main_context_wakeup (context);

  if (taken != NULL)
    flight->waiter_ops->finish (flight, taken, resource, error);

  _tether_janitor_finish_unwatch (detach);

  if (failed_ref != NULL)
    g_object_unref (failed_ref);

  return claimed;
}

void
_tether_flight_complete_full (TetherFlight *flight,
                              gpointer      resource,
                              GError       *provider_error,
                              gint64        elapsed,
                              gboolean      leader_leaves)
{
  (void) flight_complete (flight, resource, provider_error, elapsed, leader_leaves, NULL);
}

/* Runs the provider of a flight that was prepared and not yet started,
 * on this thread, its leader; the context is entered (the enter's, or an
 * outer provider's of the same enter). */
gpointer
_tether_flight_lead_prepared (TetherFlight    *flight,
                              gboolean         leaves,
                              TetherEnterRun  *run,
                              TetherFlight    *next,
                              GError         **error)
{
  GError *local_error = NULL;
  gint64 elapsed;
  gpointer resource;
  gboolean claimed;

  resource = _tether_provider_acquire_claimed (&flight->template->call, flight->context,
                                               run != NULL ? &run->clock : NULL,
                                               &elapsed, &local_error);
  claimed = flight_complete (flight, resource, local_error, elapsed, leaves, next);
  if (run != NULL)
    run->claimed = claimed;

  if (flight->resource == NULL)
    g_propagate_error (error, g_error_copy (flight->error));
  return flight->resource;
}

/* A nested caller (a provider of the same enter) takes a prepared flight
 * over: it becomes a caller, runs the provider, and returns its outcome.
 * Called with the state lock held; returns with it released. */
static gpointer
flight_run_prepared_and_unlock (TetherFlight  *flight,
                                GError       **error)
{
  TetherContextSpan span;
  gpointer resource;

  /* prepared was cleared by the caller's exchange, which the enter's
   * (tether-flight-prepared.c) races: exactly one of them runs it. */
  flight->leader = g_thread_self ();
  flight->taken_by = flight->leader;
  _tether_flight_ref (flight);
  flight->n_sync++;
  _tether_trace_joined_locked (&flight->template->call.counters,
                               flight->template->call.name, flight->context);
  _tether_trace_acquire_claimed_locked (&flight->template->call.counters);
  TETHER_STATE_UNLOCK ();

  /* On the enter's thread, usually inside the enter's own span; but the
   * asking provider may run with another context pushed (a manager of its
   * own on this thread). On another thread, as any synchronous leader:
   * with the context pushed if this thread can own it. */
  _tether_context_enter (flight->context, &span);
  resource = _tether_flight_lead_prepared (flight, TRUE, NULL, NULL, error);
  _tether_context_leave (flight->context, &span);
  _tether_flight_unref (flight);

  return resource;
}

/* ------------------------------------------------------------------------ */
/* Reference counts                                                         */
/* ------------------------------------------------------------------------ */

TetherFlight *
_tether_flight_ref (TetherFlight *flight)
{
  ref_count_inc (&flight->ref_count);
  return flight;
}

/* What the last reference of @flight owns, but its block's reference and
 * its own memory. */
static void
flight_clear_owned (TetherFlight *flight)
{
  g_assert (flight->waiters == NULL || flight->waiters->len == 0);
  g_assert (flight->start_source == NULL);
  g_clear_pointer (&flight->waiters, g_ptr_array_unref);
  if (flight->error != NULL)
    g_error_free (flight->error);
  g_clear_object (&flight->cancellable);
  if (flight->cond != NULL)
    {
      tether_cond_clear (flight->cond);
      g_free (flight->cond);
    }
  if (flight->enter_error != NULL)
    g_error_free (flight->enter_error);
}

/* Never under the state lock: it may drop the last reference of a context. */
void
_tether_flight_unref (TetherFlight *flight)
{
  if (!ref_count_dec (&flight->ref_count))
    return;

  flight_clear_owned (flight);
  if (flight->block != NULL)
    {
      _tether_flight_block_unref (flight->block, 1);
      return;
    }
  g_main_context_unref (flight->context);
  g_object_unref (flight->template);
  g_free (flight);
}

gboolean
_tether_flight_unref_done_in_block (TetherFlight *flight)
{
  g_assert (flight->block != NULL && g_atomic_int_get (&flight->done));

  /* Done: nobody can take a new reference (they come through the entry,
   * which no longer points here), so a count of one is the caller's
   * alone, dropped without a locked instruction. */
  if (g_atomic_int_get (&flight->ref_count) != 1)
    {
      _tether_flight_unref (flight);
      return FALSE;
    }

  flight_clear_owned (flight);
  return TRUE;
}
