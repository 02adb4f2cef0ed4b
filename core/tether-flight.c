/* tether-flight.c: acquiring. One provider call per (template, context) at
 * a time, shared by every caller, synchronous or not ("single flight").
 *
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

#include "tether-context-private.h"
#include "tether-flight-private.h"
#include "tether-janitor-private.h"
#include "tether-template-private.h"

/* Where the provider's start is, for a flight started by an asynchronous
 * caller that could not own the context. */
typedef enum
{
  START_NONE,      /* started on the leader's thread, or not deferred */
  START_PENDING,   /* an idle in the context will start it */
  START_RUNNING,   /* that idle ran */
  START_DROPPED,   /* every caller left first: the idle will do nothing */
} StartState;

/* An asynchronous caller. One reference is the flight's, one the
 * cancellable connection's: a handler that already ran is not disconnected
 * (see flight_complete()), so its data must outlive the flight.
 *
 * @left: the caller's cancellable fired; it no longer counts as a caller.
 * @done: @task was taken, to be returned by whoever took it.
 * A plain waiter is done when it leaves; a settling one (a manager, which
 * must know what its flights produced to roll back exactly) stays until the
 * flight ends and gets its outcome. */
typedef struct
{
  gint          ref_count;   /* atomic */
  TetherFlight *flight;      /* no reference; only read while !done */
  GTask        *task;        /* owned until returned */
  GCancellable *cancellable; /* the caller's, owned */
  gulong        handler;
  gboolean      settle;      /* read-only */
  gboolean      left;        /* protected by the state lock */
  gboolean      done;        /* protected by the state lock */
} Waiter;

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
  GPtrArray       *waiters;       /* Waiter*, asynchronous callers */
  guint            n_async;       /* waiters that have not left */
  guint            n_sync;        /* synchronous callers, the leader included */
  gboolean         abandoned;     /* every caller left before the end */
  gint             prepared;      /* atomic: made by a manager's enter, whose
                                   * thread (@leader) has not started it */
  gint             done;          /* atomic */
  gpointer         resource;
  GError          *error;
};

/* Forward declarations */
static TetherFlight *flight_alloc_locked   (TetherContextRecord *record,
                                            TetherTemplate *self,
                                            GMainContext   *context,
                                            gboolean        uses_async,
                                            GThread        *creator,
                                            gboolean        for_thread_default);
static TetherFlight *flight_new_locked     (TetherTemplate *self,
                                            GMainContext   *context,
                                            gboolean        uses_async,
                                            gboolean       *out_warn);
static gboolean      flight_needs_context_locked (TetherFlight *flight);
static gpointer      flight_join_and_unlock (TetherFlight  *flight,
                                             gboolean       owned,
                                             gboolean      *out_retry,
                                             GError       **error);
static void          flight_lead_sync      (TetherFlight   *flight,
                                            gboolean        owned);
static gpointer      flight_run_prepared_and_unlock (TetherFlight  *flight,
                                                     GError       **error);
static void          flight_start_async    (TetherFlight   *flight);
static gboolean      flight_start_in_context (gpointer      data);
static void          flight_run_provider   (TetherFlight   *flight);
static void          flight_async_done     (GObject        *source_object,
                                            GAsyncResult   *result,
                                            gpointer        user_data);
static void          flight_complete       (TetherFlight   *flight,
                                            gpointer        resource,
                                            GError         *provider_error);
static void          flight_complete_full  (TetherFlight   *flight,
                                            gpointer        resource,
                                            GError         *provider_error,
                                            gboolean        leader_leaves);
static void          on_waiter_cancelled   (GCancellable   *cancellable,
                                            gpointer        user_data);
static TetherFlight *flight_ref            (TetherFlight   *flight);
static void          flight_unref          (TetherFlight   *flight);
static void          waiter_unref          (gpointer        data);

static void
set_no_provider_error (TetherTemplate  *self,
                       GError         **error)
{
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ACQUIRE,
               "TetherTemplate %p has no provider: it was made with g_object_new(); "
               "make templates with tether_template_new(), "
               "tether_template_new_for_object() or tether_load_provider()",
               self);
}

static void
set_recursive_error (TetherTemplate  *self,
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
      set_no_provider_error (self, error);
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
      if (flight->leader == g_thread_self ())
        {
          /* A provider of this thread's manager enter asks for a template
           * the enter prepared but has not reached: it runs now, out of
           * order, and the enter finds it done. */
          if (g_atomic_int_get (&flight->prepared))
            return flight_run_prepared_and_unlock (flight, error);

          TETHER_STATE_UNLOCK ();
          set_recursive_error (self, context, error);
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

  flight = flight_new_locked (self, context, uses_async, &warn);
  flight->n_sync = 1;

  TETHER_STATE_UNLOCK ();

  if (warn)
    _tether_janitor_warn_unmanaged (self->call.name, context);

  if (out_led != NULL)
    *out_led = TRUE;

  flight_lead_sync (flight, owned);
  g_assert (g_atomic_int_get (&flight->done));

  /* flight_complete() put the resource in this thread's cache when
   * @context is its thread-default. */
  TETHER_STATE_LOCK ();
  flight->n_sync--;
  resource = flight->resource;
  if (resource == NULL)
    g_propagate_error (error, g_error_copy (flight->error));
  else if (!flight->for_thread_default)
    _tether_entry_cache_if_held_locked (self, context, resource);
  TETHER_STATE_UNLOCK ();

  flight_unref (flight);

  return resource;
}

/* Queues @task on the flight for (@self, @context), starting one if there
 * is none; @task gets the resource (transfer none) or an error. Consumes
 * @task. @cancellable is the caller's: when it fires, the caller leaves the
 * flight; a plain caller's @task then fails at once with CANCELLED, a
 * settling caller's @task gets the flight's outcome when it ends.
 * _tether_flight_task_led() tells whether @task's caller started the
 * flight. */
void
_tether_flight_acquire_async (TetherTemplate *self,
                              GMainContext   *context,
                              GCancellable   *cancellable,
                              gboolean        settle,
                              GTask          *task)
{
  TetherFlight *flight = NULL;
  TetherEntry *entry;
  Waiter *waiter;
  gboolean lead = FALSE;
  gboolean warn = FALSE;

  if (!_tether_provider_can_acquire (&self->call))
    {
      GError *error = NULL;

      set_no_provider_error (self, &error);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  TETHER_STATE_LOCK ();

  entry = _tether_entry_lookup_locked (self, context);
  if (entry != NULL && entry->flight == NULL)
    {
      gpointer resource = entry->resource;

      TETHER_STATE_UNLOCK ();
      g_task_return_pointer (task, resource, NULL);
      g_object_unref (task);
      return;
    }

  if (entry != NULL)
    {
      flight = entry->flight;
      /* A prepared flight of this thread's manager enter is not under way
       * yet: an async caller waits for it like any other. */
      if (flight->leader == g_thread_self () && !g_atomic_int_get (&flight->prepared))
        {
          GError *error = NULL;

          TETHER_STATE_UNLOCK ();
          set_recursive_error (self, context, &error);
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
      _tether_trace_joined_locked (&self->call.counters, self->call.name, context);
    }
  else
    {
      flight = flight_new_locked (self, context, _tether_provider_has_async (&self->call), &warn);
      lead = TRUE;
    }

  g_task_set_task_data (task, GINT_TO_POINTER (lead), NULL);

  waiter = g_new0 (Waiter, 1);
  ref_count_init (&waiter->ref_count);
  waiter->flight = flight;
  waiter->task = task;
  waiter->settle = settle;
  if (cancellable != NULL)
    waiter->cancellable = g_object_ref (cancellable);
  if (flight->waiters == NULL)
    flight->waiters = g_ptr_array_new ();
  g_ptr_array_add (flight->waiters, waiter);
  flight->n_async++;

  /* Once the lock is released, the flight may complete on another thread
   * and drop its reference, the only one so far: take ours first, one for
   * this function and one for the cancellable connection. */
  if (cancellable != NULL)
    {
      ref_count_inc (&waiter->ref_count);
      ref_count_inc (&waiter->ref_count);
    }

  TETHER_STATE_UNLOCK ();

  /* If the flight completes before this connects, the handler finds the
   * waiter done; if the cancellable is already cancelled, it runs now. */
  if (cancellable != NULL)
    {
      gboolean completed;
      gulong handler;

      handler = g_cancellable_connect (cancellable,
                                       G_CALLBACK (on_waiter_cancelled),
                                       waiter, waiter_unref);

      TETHER_STATE_LOCK ();
      completed = waiter->done;
      if (!completed)
        waiter->handler = handler;
      TETHER_STATE_UNLOCK ();

      /* Completed (or cancelled) while connecting: nobody else will
       * disconnect, and we are not inside the handler. */
      if (completed && handler != 0)
        g_cancellable_disconnect (cancellable, handler);

      waiter_unref (waiter);
    }

  if (warn)
    _tether_janitor_warn_unmanaged (self->call.name, context);

  if (lead)
    {
      flight_start_async (flight);
      flight_unref (flight);
    }
}

/* ------------------------------------------------------------------------ */
/* A manager's enter: flights prepared in one hold                          */
/* ------------------------------------------------------------------------ */

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
 * (flight_run_prepared_and_unlock()). */
TetherFlight *
_tether_flight_prepare_locked (TetherContextRecord *record,
                               TetherTemplate      *self,
                               GMainContext        *context,
                               GThread             *thread)
{
  TetherFlight *flight;

  if (!_tether_provider_has_sync (&self->call) ||
      _tether_entry_lookup_locked (self, context) != NULL)
    return NULL;

  flight = flight_alloc_locked (record, self, context, FALSE, thread, TRUE);
  flight->n_sync = 1;
  flight->leader = thread;
  flight->prepared = TRUE;

  return flight;
}

/* Runs the provider of a flight that was prepared and not yet started,
 * on this thread, its leader; the context is entered (the enter's, or an
 * outer provider's of the same enter). */
static gpointer
flight_run_prepared (TetherFlight  *flight,
                     gboolean       leaves,
                     GError       **error)
{
  GError *local_error = NULL;
  gpointer resource;

  resource = _tether_provider_acquire (&flight->template->call, flight->context, &local_error);
  flight_complete_full (flight, resource, local_error, leaves);

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
  gpointer resource;

  g_atomic_int_set (&flight->prepared, FALSE);
  flight_ref (flight);
  flight->n_sync++;
  _tether_trace_joined_locked (&flight->template->call.counters,
                               flight->template->call.name, flight->context);
  TETHER_STATE_UNLOCK ();

  resource = flight_run_prepared (flight, TRUE, error);
  flight_unref (flight);

  return resource;
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
    resource = flight_run_prepared (flight, TRUE, error);
  else
    {
      /* It ran nested, on this thread, inside an earlier provider call of
       * this enter, which has returned: its outcome is final. */
      g_assert (g_atomic_int_get (&flight->done));
      resource = flight->resource;
      if (resource == NULL)
        g_propagate_error (error, g_error_copy (flight->error));

      TETHER_STATE_LOCK ();
      flight->n_sync--;
      TETHER_STATE_UNLOCK ();
    }

  /* While the flight still holds the template, which may go with it. */
  if (resource == NULL)
    _tether_flight_prefix_error (error, flight->template, flight->context);
  flight_unref (flight);

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
      flight_complete_full (flight, NULL,
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

  flight_unref (flight);

  return produced;
}

void
_tether_flight_prefix_error (GError         **error,
                             TetherTemplate  *self,
                             GMainContext    *context)
{
  g_prefix_error (error, "Acquiring '%s' for context %p: ", self->call.name, context);
}

gboolean
_tether_flight_task_led (GTask *task)
{
  return GPOINTER_TO_INT (g_task_get_task_data (task));
}

guint
_tether_flight_count_callers (TetherTemplate *self,
                              GMainContext   *context)
{
  TetherEntry *entry;
  guint n = 0;

  TETHER_STATE_LOCK ();
  entry = _tether_entry_lookup_locked (self, context);
  if (entry != NULL && entry->flight != NULL)
    n = entry->flight->n_sync + entry->flight->n_async;
  TETHER_STATE_UNLOCK ();

  return n;
}

gboolean
_tether_flight_is_under_way (TetherTemplate *self,
                             GMainContext   *context)
{
  TetherEntry *entry;
  gboolean under_way;

  TETHER_STATE_LOCK ();
  entry = _tether_entry_lookup_locked (self, context);
  under_way = entry != NULL && entry->flight != NULL;
  TETHER_STATE_UNLOCK ();

  return under_way;
}

/* ------------------------------------------------------------------------ */
/* Steps, in call order                                                     */
/* ------------------------------------------------------------------------ */

/* The flight and its entry; @record is @context's. */
static TetherFlight *
flight_alloc_locked (TetherContextRecord *record,
                     TetherTemplate      *self,
                     GMainContext        *context,
                     gboolean        uses_async,
                     GThread        *creator,
                     gboolean        for_thread_default)
{
  TetherFlight *flight = g_new0 (TetherFlight, 1);

  ref_count_init (&flight->ref_count);
  flight->template = g_object_ref (self);
  flight->context = g_main_context_ref (context);
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
static TetherFlight *
flight_new_locked (TetherTemplate *self,
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

  return flight_alloc_locked (record, self, context, uses_async, g_thread_self (),
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

  flight_ref (flight);
  flight->n_sync++;

  if (owned)
    {
      TETHER_STATE_UNLOCK ();
      _tether_context_iterate_until (flight->context, &flight->done);
      g_main_context_release (flight->context);
      TETHER_STATE_LOCK ();
    }

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

  flight->n_sync--;
  resource = flight->resource;
  *out_retry = flight->abandoned && resource == NULL;

  if (resource != NULL)
    _tether_entry_cache_if_held_locked (self, flight->context, resource);
  else if (!*out_retry)
    g_propagate_error (error, g_error_copy (flight->error));

  TETHER_STATE_UNLOCK ();

  flight_unref (flight);

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
      flight_run_provider (flight);
      return;
    }

  g_main_context_push_thread_default (flight->context);
  flight_run_provider (flight);
  _tether_context_iterate_until (flight->context, &flight->done);
  g_main_context_pop_thread_default (flight->context);
  g_main_context_release (flight->context);
}

/* Starts the provider for an asynchronous caller. When another thread owns
 * the context, the provider starts from an idle source in the context, so it
 * binds to the context and never blocks the caller. */
static void
flight_start_async (TetherFlight *flight)
{
  GSource *source;
  gboolean dropped;

  if (g_main_context_acquire (flight->context))
    {
      flight_run_provider (flight);
      g_main_context_release (flight->context);
      return;
    }

  /* Pending before it is attached, so that callers joining meanwhile know
   * the result comes through the context. */
  TETHER_STATE_LOCK ();
  flight->start = START_PENDING;
  TETHER_STATE_UNLOCK ();

  source = g_idle_source_new ();
  g_source_set_static_name (source, "[tether] start acquire");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, flight_start_in_context,
                         flight_ref (flight), (GDestroyNotify) flight_unref);
  g_source_attach (source, flight->context);

  /* Recorded for an abandonment to destroy, unless that came first. */
  TETHER_STATE_LOCK ();
  dropped = flight->start == START_DROPPED;
  if (flight->start == START_PENDING)
    flight->start_source = g_source_ref (source);
  TETHER_STATE_UNLOCK ();

  if (dropped)
    g_source_destroy (source);
  g_source_unref (source);
}

static gboolean
flight_start_in_context (gpointer data)
{
  TetherFlight *flight = data;
  GSource *source = NULL;
  gboolean run;

  TETHER_STATE_LOCK ();
  run = flight->start == START_PENDING;
  if (run)
    {
      flight->start = START_RUNNING;
      source = g_steal_pointer (&flight->start_source);
    }
  TETHER_STATE_UNLOCK ();

  g_clear_pointer (&source, g_source_unref);
  if (run)
    flight_run_provider (flight);

  return G_SOURCE_REMOVE;
}

/* Runs the provider for @flight on this thread, with the flight's context
 * pushed as thread-default when this thread can own it. A synchronous
 * acquire completes the flight before this returns; an asynchronous one
 * completes it later, in the context. */
static void
flight_run_provider (TetherFlight *flight)
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
      gpointer resource;

      resource = _tether_provider_acquire (&self->call, flight->context, &error);
      flight_complete (flight, resource, error);
    }
  else
    {
      _tether_provider_acquire_async (&self->call,
                                      flight->context,
                                      flight->cancellable,
                                      flight_async_done,
                                      flight_ref (flight));

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
  gpointer resource;

  TETHER_STATE_LOCK ();
  flight->leader = g_thread_self ();
  TETHER_STATE_UNLOCK ();

  resource = _tether_provider_acquire_finish (&flight->template->call, result, &error);
  flight_complete (flight, resource, error);
  flight_unref (flight);
}

static void
flight_complete (TetherFlight *flight,
                 gpointer      resource,
                 GError       *provider_error)
{
  flight_complete_full (flight, resource, provider_error, FALSE);
}

/* Records the outcome of a flight and hands it to every waiter. Not under
 * the state lock. With @leader_leaves, the synchronous caller completing
 * it on its creator's thread (a manager's enter, or a provider of it)
 * stops counting as a caller in the same hold. */
static void
flight_complete_full (TetherFlight *flight,
                      gpointer      resource,
                      GError       *provider_error,
                      gboolean      leader_leaves)
{
  TetherTemplate *self = flight->template;
  GMainContext *context = flight->context;
  g_autoptr(GPtrArray) waiters = NULL;
  g_autoptr(GPtrArray) tasks = NULL;
  g_autoptr(GPtrArray) restarts = NULL;
  GError *error = NULL;
  GSource *detach = NULL;
  TetherEntry *failed_entry = NULL;
  gboolean wake;

  resource = _tether_provider_check_result (&self->call, context, resource, provider_error, &error);

  TETHER_STATE_LOCK ();
  {
    TetherEntry *entry = flight->entry;
    TetherContextRecord *record = flight->record;

    g_assert (entry != NULL);
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
            (leader_leaves || flight->creator == g_thread_self ()))
          {
            _tether_entry_cache_locked (self, context, resource);
            if (record->manager == NULL)
              _tether_janitor_watch_thread_locked (context, record->id);
          }
      }
    else
      {
        _tether_entry_remove_locked (self, entry);
        failed_entry = entry;
        detach = _tether_janitor_unwatch_if_idle_locked (record);
      }

    flight->resource = resource;
    flight->error = error;
    g_atomic_int_set (&flight->done, TRUE);
    if (flight->cond != NULL)
      tether_cond_broadcast (flight->cond);
    /* A synchronous caller may be iterating the context for this: only
     * when the result came through the context (a wakeup is a syscall,
     * which a manager's synchronous enter must not pay per template). */
    wake = flight->n_sync > 0 && (flight->uses_async || flight->start != START_NONE);

    /* Only asynchronous callers have waiters: a synchronous flight (a
     * manager's enter) allocates nothing here. */
    waiters = g_steal_pointer (&flight->waiters);
    if (waiters != NULL)
      {
        tasks = g_ptr_array_new_with_free_func (g_object_unref);
        restarts = g_ptr_array_new ();
      }
    for (guint i = 0; waiters != NULL && i < waiters->len; i++)
      {
        Waiter *waiter = g_ptr_array_index (waiters, i);

        /* A waiter that left had its handler run: it keeps its connection,
         * since disconnecting from inside that handler would deadlock and
         * the cancel that ran it cannot run it again until it is reset. */
        if (waiter->left)
          waiter->handler = 0;
        if (waiter->done)
          continue;

        waiter->done = TRUE;
        /* Callers who joined an abandoned flight start a new one. */
        if (flight->abandoned && resource == NULL && !waiter->left)
          g_ptr_array_add (restarts, waiter);
        else
          g_ptr_array_add (tasks, g_steal_pointer (&waiter->task));
      }
  }
  TETHER_STATE_UNLOCK ();

  if (wake)
    g_main_context_wakeup (context);

  for (guint i = 0; restarts != NULL && i < restarts->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (restarts, i);

      if (waiter->cancellable != NULL && waiter->handler != 0)
        g_cancellable_disconnect (waiter->cancellable, waiter->handler);
      waiter->handler = 0;
      _tether_flight_acquire_async (self, context, waiter->cancellable, waiter->settle,
                                    g_steal_pointer (&waiter->task));
    }

  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (waiters, i);

      /* Waits for a handler running in another thread; it will see done. */
      if (waiter->cancellable != NULL && waiter->handler != 0)
        g_cancellable_disconnect (waiter->cancellable, waiter->handler);
      waiter_unref (waiter);
    }
  for (guint i = 0; tasks != NULL && i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (resource != NULL)
        g_task_return_pointer (task, resource, NULL);
      else
        g_task_return_error (task, g_error_copy (error));
    }

  _tether_janitor_finish_unwatch (detach);

  if (failed_entry != NULL)
    {
      g_free (failed_entry);
      g_object_unref (self);   /* the entry's reference */
    }
}

static void
on_waiter_cancelled (GCancellable *cancellable,
                     gpointer      user_data)
{
  Waiter *waiter = user_data;
  TetherFlight *flight = waiter->flight;
  GCancellable *abandon = NULL;
  GSource *dropped_source = NULL;
  gboolean dropped = FALSE;
  GTask *task = NULL;

  TETHER_STATE_LOCK ();
  if (!waiter->done && !waiter->left)
    {
      waiter->left = TRUE;
      flight->n_async--;
      if (!waiter->settle)
        {
          waiter->done = TRUE;
          task = g_steal_pointer (&waiter->task);
        }

      /* The last caller left: nobody wants the result any more. */
      if (flight->n_async == 0 && flight->n_sync == 0 && !g_atomic_int_get (&flight->done))
        {
          flight->abandoned = TRUE;
          if (flight->start == START_PENDING)
            {
              /* Not started: drop the start, end the flight now. */
              flight->start = START_DROPPED;
              dropped_source = g_steal_pointer (&flight->start_source);
              dropped = TRUE;
              flight_ref (flight);
            }
          else if (flight->cancellable != NULL)
            abandon = g_object_ref (flight->cancellable);
        }
    }
  TETHER_STATE_UNLOCK ();

  if (task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Operation was cancelled");
      g_object_unref (task);
    }

  /* These may complete the flight synchronously; flight_complete() leaves
   * the connection of this (left) waiter alone, so no deadlock. */
  if (dropped)
    {
      if (dropped_source != NULL)
        {
          /* Its destroy notify drops the idle's flight reference. */
          g_source_destroy (dropped_source);
          g_source_unref (dropped_source);
        }
      flight_complete (flight,
                       NULL,
                       g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                            "Every caller of the acquire cancelled it "
                                            "before it started"));
      flight_unref (flight);
    }
  if (abandon != NULL)
    {
      g_cancellable_cancel (abandon);
      g_object_unref (abandon);
    }
}

/* ------------------------------------------------------------------------ */
/* Reference counts                                                         */
/* ------------------------------------------------------------------------ */

static TetherFlight *
flight_ref (TetherFlight *flight)
{
  ref_count_inc (&flight->ref_count);
  return flight;
}

/* Never under the state lock: it may drop the last reference of a context. */
static void
flight_unref (TetherFlight *flight)
{
  if (!ref_count_dec (&flight->ref_count))
    return;

  g_assert (flight->waiters == NULL || flight->waiters->len == 0);
  g_assert (flight->start_source == NULL);
  g_clear_pointer (&flight->waiters, g_ptr_array_unref);
  g_clear_error (&flight->error);
  g_clear_object (&flight->cancellable);
  if (flight->cond != NULL)
    {
      tether_cond_clear (flight->cond);
      g_free (flight->cond);
    }
  g_main_context_unref (flight->context);
  g_object_unref (flight->template);
  g_free (flight);
}

static void
waiter_unref (gpointer data)
{
  Waiter *waiter = data;

  if (!ref_count_dec (&waiter->ref_count))
    return;

  g_assert (waiter->task == NULL);
  g_clear_object (&waiter->cancellable);
  g_free (waiter);
}
