/* tether-flight-async.c: asynchronous callers of a flight: joining or
 * starting it from any thread, starting a provider from the context when
 * another thread owns it, and leaving when the caller's cancellable fires
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-flight-private.h"
#include "tether-flight-state-private.h"
#include "tether-janitor-private.h"
#include "tether-template-private.h"

/* An asynchronous caller. One reference is the flight's, one the
 * cancellable connection's: a handler that already ran is not disconnected
 * (see waiters_take_locked()), so its data must outlive the flight.
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

static void     flight_start_async      (TetherFlight *flight);
static gboolean flight_start_in_context (gpointer      data);
static void     on_waiter_cancelled     (GCancellable *cancellable,
                                         gpointer      user_data);
static void     waiter_unref            (gpointer      data);
static const struct _TetherFlightWaiterOps waiter_ops;

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

      _tether_flight_set_no_provider_error (self, &error);
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
          _tether_flight_set_recursive_error (self, context, &error);
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
      _tether_trace_joined_locked (&self->call.counters, self->call.name, context);
    }
  else
    {
      flight = _tether_flight_new_locked (self, context, _tether_provider_has_async (&self->call), &warn);
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
    {
      flight->waiters = g_ptr_array_new ();
      flight->waiter_ops = &waiter_ops;
    }
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
      _tether_flight_unref (flight);
    }
}

gboolean
_tether_flight_task_led (GTask *task)
{
  return GPOINTER_TO_INT (g_task_get_task_data (task));
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
      _tether_flight_run_provider (flight);
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
                         _tether_flight_ref (flight), (GDestroyNotify) _tether_flight_unref);
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
    _tether_flight_run_provider (flight);

  return G_SOURCE_REMOVE;
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
              _tether_flight_ref (flight);
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

  /* These may complete the flight synchronously; waiters_take_locked() leaves
   * the connection of this (left) waiter alone, so no deadlock. */
  if (dropped)
    {
      if (dropped_source != NULL)
        {
          /* Its destroy notify drops the idle's flight reference. */
          g_source_destroy (dropped_source);
          g_source_unref (dropped_source);
        }
      _tether_flight_complete (flight,
                       NULL,
                       g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                            "Every caller of the acquire cancelled it "
                                            "before it started"),
                       TETHER_TRACE_NOT_RUN);
      _tether_flight_unref (flight);
    }
  if (abandon != NULL)
    {
      g_cancellable_cancel (abandon);
      g_object_unref (abandon);
    }
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

/* ------------------------------------------------------------------------ */
/* Completion, for the waiters (registered on the flight as its waiter ops) */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GPtrArray *waiters;   /* every Waiter, each with the flight's reference */
  GPtrArray *tasks;     /* to return the outcome to */
  GPtrArray *restarts;  /* joined an abandoned flight: start a new one */
} TakenWaiters;

/* Under the state lock, as the flight completes: every waiter not done is
 * done now. */
static gpointer
waiters_take_locked (TetherFlight *flight,
                     gpointer      resource)
{
  TakenWaiters *taken;

  if (flight->waiters == NULL)
    return NULL;

  taken = g_new (TakenWaiters, 1);
  taken->waiters = g_steal_pointer (&flight->waiters);
  taken->tasks = g_ptr_array_new_with_free_func (g_object_unref);
  taken->restarts = g_ptr_array_new ();

  for (guint i = 0; i < taken->waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (taken->waiters, i);

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
        g_ptr_array_add (taken->restarts, waiter);
      else
        g_ptr_array_add (taken->tasks, g_steal_pointer (&waiter->task));
    }

  return taken;
}

/* Unlocked, after the completion: restarts, disconnects, and returns the
 * outcome (@resource, or @error) to the tasks. */
static void
waiters_finish (TetherFlight *flight,
                gpointer      data,
                gpointer      resource,
                const GError *error)
{
  TakenWaiters *taken = data;

  for (guint i = 0; i < taken->restarts->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (taken->restarts, i);

      if (waiter->cancellable != NULL && waiter->handler != 0)
        g_cancellable_disconnect (waiter->cancellable, waiter->handler);
      waiter->handler = 0;
      _tether_flight_acquire_async (flight->template, flight->context, waiter->cancellable,
                                    waiter->settle, g_steal_pointer (&waiter->task));
    }

  for (guint i = 0; i < taken->waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (taken->waiters, i);

      /* Waits for a handler running in another thread; it will see done. */
      if (waiter->cancellable != NULL && waiter->handler != 0)
        g_cancellable_disconnect (waiter->cancellable, waiter->handler);
      waiter_unref (waiter);
    }

  for (guint i = 0; i < taken->tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (taken->tasks, i);

      if (resource != NULL)
        g_task_return_pointer (task, resource, NULL);
      else
        g_task_return_error (task, g_error_copy (error));
    }

  g_ptr_array_unref (taken->restarts);
  g_ptr_array_unref (taken->tasks);
  g_ptr_array_unref (taken->waiters);
  g_free (taken);
}

static const TetherFlightWaiterOps waiter_ops = {
  waiters_take_locked,
  waiters_finish,
};

/* ------------------------------------------------------------------------ */
/* For tests                                                                */
/* ------------------------------------------------------------------------ */

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
