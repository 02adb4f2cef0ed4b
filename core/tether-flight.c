/* tether-flight.c: acquiring. One provider call per (template, context) at
 * a time, shared by every caller, synchronous or not ("single flight").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-flight-private.h"
#include "tether-janitor-private.h"
#include "tether-template-private.h"

/* An asynchronous caller waiting for a flight. One reference is the
 * flight's, one the cancellable connection's: a handler that already ran is
 * not disconnected (see flight_complete()), so its data must outlive the
 * flight. */
typedef struct
{
  gint          ref_count;   /* atomic */
  TetherFlight *flight;      /* no reference; only read while !done */
  GTask        *task;        /* owned until returned */
  GCancellable *cancellable; /* the caller's, owned */
  gulong        handler;
  gboolean      done;        /* protected by the state lock */
} Waiter;

struct _TetherFlight
{
  gint             ref_count;     /* atomic */

  /* Read-only after creation */
  TetherTemplate  *template;      /* owned */
  GMainContext    *context;       /* owned: a context cannot die under an acquire */
  GCancellable    *cancellable;   /* owned; given to the provider's acquire_async */

  /* Protected by the state lock */
  TetherEntry     *entry;         /* the entry in the table while acquiring */
  TetherCond       cond;          /* signalled when done */
  GThread         *leader;        /* thread inside a synchronous provider acquire */
  GThread         *creator;       /* thread that started the flight */
  gboolean         for_thread_default; /* @context was the creator's thread-default */
  GPtrArray       *waiters;       /* Waiter*, asynchronous callers */
  guint            n_live_waiters; /* waiters not yet cancelled */
  guint            n_sync_waiters;
  gboolean         async_driven;  /* the result arrives through @context */
  gboolean         abandoned;     /* every caller left; the provider was cancelled */
  gint             done;          /* atomic */
  gpointer         resource;
  GError          *error;
};

/* Forward declarations */
static TetherFlight *flight_new_locked   (TetherTemplate *self,
                                          GMainContext   *context,
                                          gboolean        async_driven,
                                          gboolean       *out_warn);
static gpointer      flight_wait_locked  (TetherFlight   *flight,
                                          gboolean       *out_retry,
                                          GError        **error);
static void          flight_run_provider (TetherFlight   *flight);
static void          flight_start_async  (TetherFlight   *flight);
static void          flight_async_done   (GObject        *source_object,
                                          GAsyncResult   *result,
                                          gpointer        user_data);
static void          flight_complete     (TetherFlight   *flight,
                                          gpointer        resource,
                                          GError         *provider_error);
static void          on_waiter_cancelled (GCancellable   *cancellable,
                                          gpointer        user_data);
static TetherFlight *flight_ref          (TetherFlight   *flight);
static void          flight_unref        (TetherFlight   *flight);
static void          waiter_unref        (gpointer        data);

/* ------------------------------------------------------------------------ */
/* Entry points                                                             */
/* ------------------------------------------------------------------------ */

/* The slow path of every synchronous acquire. @context is alive for the
 * duration of the call (the caller's guarantee). */
gpointer
_tether_flight_acquire (TetherTemplate  *self,
                        GMainContext    *context,
                        gboolean        *out_led,
                        GError         **error)
{
  TetherFlight *flight;
  TetherEntry *entry;
  gboolean warn;
  gpointer resource;

  if (out_led != NULL)
    *out_led = FALSE;

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

      if (entry->flight->leader == g_thread_self ())
        {
          TETHER_STATE_UNLOCK ();
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_RECURSIVE,
                       "Template '%s' was asked for context %p from inside its own acquire",
                       self->call.name, context);
          return NULL;
        }

      resource = flight_wait_locked (entry->flight, &again, error);
      if (again)
        goto retry;
      return resource;
    }

  /* An async-only provider can serve a synchronous caller only if this
   * thread can own the context and iterate it until the result arrives.
   * Checked before a flight is published: WOULD_BLOCK is this caller's
   * answer, not an outcome to share with callers that join (an async caller
   * or the context's owner could be served). */
  if (_tether_provider_is_async (&self->call) && !g_main_context_acquire (context))
    {
      TETHER_STATE_UNLOCK ();
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK,
                   "Template '%s' only acquires asynchronously and context %p "
                   "is owned by another thread; use "
                   "tether_template_acquire_async() or acquire from that thread",
                   self->call.name, context);
      return NULL;
    }

  flight = flight_new_locked (self, context, FALSE, &warn);

  TETHER_STATE_UNLOCK ();

  if (warn)
    _tether_janitor_warn_unmanaged (self->call.name, context);

  if (out_led != NULL)
    *out_led = TRUE;

  if (!_tether_provider_is_async (&self->call))
    {
      flight_run_provider (flight);
    }
  else
    {
      /* We own the context (acquired above): start the async acquire with
       * the context pushed, and iterate it until the flight is done. */
      g_main_context_push_thread_default (context);
      flight_run_provider (flight);
      _tether_context_iterate_until (context, &flight->done);
      g_main_context_pop_thread_default (context);
      g_main_context_release (context);
    }

  g_assert (g_atomic_int_get (&flight->done));

  TETHER_STATE_LOCK ();
  resource = flight->resource;
  if (resource == NULL)
    g_propagate_error (error, g_error_copy (flight->error));
  else
    _tether_entry_cache_if_held_locked (self, context, resource);
  TETHER_STATE_UNLOCK ();

  flight_unref (flight);

  return resource;
}

/* Queues @task on the flight for (@self, @context), starting one if there
 * is none. Consumes @task. */
void
_tether_flight_acquire_async (TetherTemplate *self,
                              GMainContext   *context,
                              GTask          *task)
{
  TetherFlight *flight = NULL;
  TetherEntry *entry;
  Waiter *waiter;
  GCancellable *cancellable = NULL;
  gboolean lead = FALSE;
  gboolean warn = FALSE;

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
    flight = entry->flight;
  else
    {
      flight = flight_new_locked (self, context, TRUE, &warn);
      lead = TRUE;
    }

  waiter = g_new0 (Waiter, 1);
  ref_count_init (&waiter->ref_count);
  waiter->flight = flight;
  waiter->task = task;
  if (g_task_get_cancellable (task) != NULL)
    waiter->cancellable = g_object_ref (g_task_get_cancellable (task));
  if (flight->waiters == NULL)
    flight->waiters = g_ptr_array_new ();
  g_ptr_array_add (flight->waiters, waiter);
  flight->n_live_waiters++;

  /* Once the lock is released, the flight may complete on another thread
   * and drop its reference, the only one so far: take ours first, one for
   * this function and one for the cancellable connection. */
  if (waiter->cancellable != NULL)
    {
      cancellable = g_object_ref (waiter->cancellable);
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

      g_object_unref (cancellable);
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
/* Steps, in call order                                                     */
/* ------------------------------------------------------------------------ */

/* Creates the entry and flight for a first acquire. */
static TetherFlight *
flight_new_locked (TetherTemplate *self,
                   GMainContext   *context,
                   gboolean        async_driven,
                   gboolean       *out_warn)
{
  TetherContextRecord *record;
  TetherFlight *flight;

  record = _tether_janitor_watch_locked (context);

  /* A second distinct context with no manager. */
  *out_warn = !_tether_entry_table_is_empty_locked (self) &&
              _tether_janitor_unmanaged_warning_enabled () &&
              _tether_context_record_take_warning_locked (record);

  flight = g_new0 (TetherFlight, 1);
  ref_count_init (&flight->ref_count);
  flight->template = g_object_ref (self);
  flight->context = g_main_context_ref (context);
  /* Only an asynchronous provider acquire can be cancelled. */
  if (_tether_provider_is_async (&self->call))
    flight->cancellable = g_cancellable_new ();
  flight->async_driven = async_driven || _tether_provider_is_async (&self->call);
  flight->creator = g_thread_self ();
  flight->for_thread_default = context == g_main_context_get_thread_default ();
  tether_cond_init (&flight->cond);

  flight->entry = _tether_entry_add_flight_locked (self, context, flight);

  return flight;
}

/* Waits, as a synchronous caller, for a flight another caller leads. Called
 * with the state lock held; returns with it released. */
static gpointer
flight_wait_locked (TetherFlight  *flight,
                    gboolean      *out_retry,
                    GError       **error)
{
  TetherTemplate *self = flight->template;
  gpointer resource;

  flight_ref (flight);
  flight->n_sync_waiters++;

  /* An asynchronous acquire completes only when its context is iterated.
   * If this thread can own the context, iterate it rather than wait for a
   * thread that may never come. */
  if (flight->async_driven && !g_atomic_int_get (&flight->done))
    {
      TETHER_STATE_UNLOCK ();
      if (g_main_context_acquire (flight->context))
        {
          _tether_context_iterate_until (flight->context, &flight->done);
          g_main_context_release (flight->context);
        }
      TETHER_STATE_LOCK ();
    }

  while (!g_atomic_int_get (&flight->done))
    tether_cond_wait (&flight->cond, &_tether_state_lock);

  flight->n_sync_waiters--;
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

/* Runs the provider for @flight on this thread, with the flight's context
 * pushed as thread-default when this thread can own it. A synchronous
 * provider completes the flight before this returns; an asynchronous one
 * completes it later, in the context. */
static void
flight_run_provider (TetherFlight *flight)
{
  TetherTemplate *self = flight->template;
  gboolean entered;

  entered = _tether_context_enter (flight->context);

  if (!_tether_provider_is_async (&self->call))
    {
      GError *error = NULL;
      gpointer resource;

      TETHER_STATE_LOCK ();
      flight->leader = g_thread_self ();
      TETHER_STATE_UNLOCK ();

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
    }

  _tether_context_leave (flight->context, entered);
}

static gboolean
flight_run_provider_in_context (gpointer data)
{
  flight_run_provider (data);
  return G_SOURCE_REMOVE;
}

/* Starts the provider for an asynchronous caller. When another thread owns
 * the context, the provider runs from an idle source in the context, so it
 * binds to the context and never blocks the caller. */
static void
flight_start_async (TetherFlight *flight)
{
  if (g_main_context_acquire (flight->context))
    {
      flight_run_provider (flight);
      g_main_context_release (flight->context);
    }
  else
    {
      GSource *source = g_idle_source_new ();

      g_source_set_static_name (source, "[tether] start acquire");
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, flight_run_provider_in_context,
                             flight_ref (flight), (GDestroyNotify) flight_unref);
      g_source_attach (source, flight->context);
      g_source_unref (source);
    }
}

static void
flight_async_done (GObject      *source_object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  TetherFlight *flight = user_data;
  GError *error = NULL;
  gpointer resource;

  resource = _tether_provider_acquire_finish (&flight->template->call, result, &error);
  flight_complete (flight, resource, error);
  flight_unref (flight);
}

/* Records the outcome of a flight and hands it to every waiter. Not under
 * the state lock. */
static void
flight_complete (TetherFlight *flight,
                 gpointer      resource,
                 GError       *provider_error)
{
  TetherTemplate *self = flight->template;
  GMainContext *context = flight->context;
  g_autoptr(GPtrArray) waiters = NULL;
  g_autoptr(GPtrArray) tasks = NULL;
  GError *error = NULL;
  GSource *detach = NULL;
  TetherEntry *failed_entry = NULL;
  gboolean restart = FALSE;

  resource = _tether_provider_check_result (&self->call, context, resource, provider_error, &error);

  TETHER_STATE_LOCK ();
  {
    TetherEntry *entry = flight->entry;
    TetherContextRecord *record = _tether_context_record_lookup_locked (context);

    flight->entry = NULL;
    flight->leader = NULL;

    if (resource != NULL)
      {
        _tether_entry_set_held_locked (entry, resource);

        /* Remember, for the thread-exit leak check, an unmanaged resource
         * of the creating thread's own thread-default context (decided
         * before tether pushed the context for the provider). */
        if (record != NULL && record->manager == NULL &&
            flight->for_thread_default && flight->creator == g_thread_self ())
          _tether_janitor_watch_thread_locked (context, record->id);
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
    tether_cond_broadcast (&flight->cond);

    restart = flight->abandoned && error != NULL;
    waiters = g_steal_pointer (&flight->waiters);
    tasks = g_ptr_array_new_with_free_func (g_object_unref);
    for (guint i = 0; waiters != NULL && i < waiters->len; i++)
      {
        Waiter *waiter = g_ptr_array_index (waiters, i);

        /* A waiter whose handler already ran (done) keeps its connection:
         * disconnecting from inside that handler would deadlock, and the
         * cancel that ran it cannot run it again until it is reset. Its
         * handler is 0 from here on so it is not disconnected below. */
        if (!waiter->done)
          {
            waiter->done = TRUE;
            g_ptr_array_add (tasks, g_steal_pointer (&waiter->task));
          }
        else
          waiter->handler = 0;
      }
  }
  TETHER_STATE_UNLOCK ();

  if (flight->async_driven)
    g_main_context_wakeup (context);

  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (waiters, i);

      if (waiter == NULL)
        continue;
      /* Waits for a handler running in another thread; it will see done. */
      if (waiter->cancellable != NULL && waiter->handler != 0)
        g_cancellable_disconnect (waiter->cancellable, waiter->handler);
      waiter_unref (waiter);
    }
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (resource != NULL)
        g_task_return_pointer (task, resource, NULL);
      else if (restart)
        _tether_flight_acquire_async (self, context, g_object_ref (task));
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
  GTask *task = NULL;

  TETHER_STATE_LOCK ();
  if (!waiter->done)
    {
      waiter->done = TRUE;
      task = g_steal_pointer (&waiter->task);
      flight->n_live_waiters--;

      /* The last caller left: cancel the provider's acquire too. A sync
       * caller that joins later retries once the cancelled flight ends. */
      if (flight->n_live_waiters == 0 && flight->n_sync_waiters == 0 &&
          flight->cancellable != NULL && !g_atomic_int_get (&flight->done))
        {
          flight->abandoned = TRUE;
          abandon = g_object_ref (flight->cancellable);
        }
    }
  TETHER_STATE_UNLOCK ();

  if (task != NULL)
    {
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
    }

  /* This may complete the flight synchronously; flight_complete() leaves
   * the connection of this (done) waiter alone, so no deadlock. */
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
  g_clear_pointer (&flight->waiters, g_ptr_array_unref);
  g_clear_error (&flight->error);
  g_clear_object (&flight->cancellable);
  tether_cond_clear (&flight->cond);
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
