/* tether-flight.c: acquiring. One provider call per (template, context) at
 * a time, shared by every caller, synchronous or not ("single flight").
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rules where callers meet a flight (README, "Thread and context
 * rules"; tests/test-async-matrix.c checks every combination):
 *
 * - The caller that starts a flight decides, in the hold that makes the
 *   flight visible, how the provider runs:
 *   - a synchronous caller runs `acquire` on its own thread (or, for a
 *     provider with only `acquire_async`, starts it and iterates the
 *     context until it completes, which it may only do if it can own the
 *     context);
 *   - an asynchronous caller never runs provider code that may block: a
 *     provider's `acquire_async` starts at once when the caller can own
 *     the context, and otherwise from an idle source attached to the
 *     context; a provider with only `acquire` always runs from such an
 *     idle, on the thread that iterates the context.
 * - A flight "needs its context" while its result can only arrive by
 *   iterating the context: it runs `acquire_async`, or its start waits in
 *   an idle of the context. Both are fixed in the hold that creates the
 *   flight, so that a caller who meets it later, in any hold, sees them.
 *   A synchronous caller of such a flight iterates the context itself,
 *   which it may only do if it can own it; otherwise it gets WOULD_BLOCK,
 *   before it is counted as a caller.
 * - Ownership of the context that a caller takes to iterate it is given
 *   back in the same attempt, on every path.
 * - Every caller is counted: sync callers (the leader too) never leave; an
 *   async caller leaves when its cancellable fires. When the last caller has
 *   left, the flight is abandoned: a start still waiting in the context is
 *   dropped and the flight ends at once, cancelled; a running
 *   `acquire_async` is cancelled; a running `acquire` runs to its end. A
 *   caller who joined an abandoned flight that produced nothing starts
 *   over.
 * - A thread inside a provider call of a flight (acquire, acquire_async,
 *   acquire_finish) that asks for that flight's own resource gets RECURSIVE.
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-entry-private.h"
#include "tether-flight-private.h"
#include "tether-janitor-private.h"
#include "tether-template-private.h"

/* Where the provider's start is, for a flight whose provider runs from an
 * idle of its context. */
typedef enum
{
  START_NONE,      /* started by the caller that created the flight */
  START_PENDING,   /* an idle in the context will start it */
  START_RUNNING,   /* that idle ran */
  START_DROPPED,   /* every caller left first: the idle does nothing */
} StartState;

/* A flight led by a synchronous caller whose provider acquires
 * synchronously (the usual one) lives on that caller's stack, and holds no
 * reference: the caller keeps the template and the context alive for the
 * length of its call, and its completion waits, under the state lock, for
 * the synchronous callers that joined it to let it go (async callers never
 * touch a flight after it is done). Any other flight is on the heap,
 * reference-counted, and holds its template and context, since the
 * context's iteration or the provider's callback may come after its
 * starter's call. */
struct _TetherFlight
{
  gint                 ref_count;   /* atomic; heap flights only */

  /* Read-only after creation */
  gboolean             on_stack;    /* the leader's stack holds it (see above) */
  GMainContext        *thread_default; /* the creator's, at creation (identity only) */
  TetherTemplate      *template;    /* owned, unless @on_stack */
  GMainContext        *context;     /* owned, unless @on_stack: a context cannot
                                     * die under an acquire */
  TetherContextRecord *record;      /* @context's; alive while @entry is in the table */
  GCancellable        *cancellable; /* owned; with @uses_async, given to acquire_async */
  gboolean             uses_async;  /* the provider's acquire_async runs */
  GThread             *creator;     /* the thread that created the flight */
  gboolean             for_thread_default; /* @context was its thread-default */

  /* Protected by the state lock */
  TetherEntry         *entry;       /* the entry in the table while acquiring */
  TetherCond          *cond;        /* made by the first synchronous caller that waits */
  GThread             *leader;      /* the thread inside a provider call of this flight */
  StartState           start;
  GSource             *start_source; /* owned while START_PENDING */
  GPtrArray           *waiters;     /* asynchronous callers (Waiter) */
  guint                n_async;     /* waiters that have not left */
  guint                n_sync;      /* synchronous callers, the leader included */
  gboolean             abandoned;   /* every caller left before the end */
  gpointer             resource;
  GError              *error;

  gint                 done;        /* atomic: set last, in the completion's hold */
};

/* An asynchronous caller. One reference is the flight's, one the
 * cancellable connection's: a handler that already ran is not
 * disconnected (see waiters_take_locked()), so its data must outlive the
 * flight. A plain waiter is done when it leaves; a settling one stays until
 * the flight ends and gets its outcome. */
typedef struct
{
  gint          ref_count;   /* atomic */
  TetherFlight *flight;      /* no reference; only read while !done */
  GTask        *task;        /* owned until returned */
  GCancellable *cancellable; /* the caller's, owned */
  gulong        handler;     /* protected by the state lock */
  gboolean      settle;      /* read-only */
  gboolean      left;        /* protected by the state lock: the cancellable fired */
  gboolean      done;        /* protected by the state lock: @task was taken */
} Waiter;

static TetherFlight *flight_ref          (TetherFlight  *flight);
static void          flight_unref        (TetherFlight  *flight);
static void          flight_run_provider (TetherFlight  *flight,
                                          gboolean       leader_leaves);
static gboolean      flight_start_in_context (gpointer   data);
static void          flight_async_done   (GObject       *source_object,
                                          GAsyncResult  *result,
                                          gpointer       user_data);
static void          flight_complete     (TetherFlight  *flight,
                                          gpointer       resource,
                                          GError        *provider_error,
                                          gint64         elapsed,
                                          gboolean       leader_leaves);
static void          on_waiter_cancelled (GCancellable  *cancellable,
                                          gpointer       user_data);
static void          waiter_unref        (gpointer       data);

/* The innermost manager enter of this thread. initial-exec: one
 * %fs-relative load on every acquire. */
static __thread TetherEnterFrame *enter_frames __attribute__((tls_model ("initial-exec")));

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

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

/* A synchronous caller would have to iterate @context, which another
 * thread owns. */
static void
set_would_block_error (TetherTemplate  *self,
                       GMainContext    *context,
                       const char      *what,
                       GError         **error)
{
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK,
               "Template '%s' %s context %p, which another thread owns: its result only "
               "arrives there. Use tether_template_acquire_async(), or acquire from that "
               "thread",
               self->call.name, what, context);
}

void
_tether_flight_prefix_error (GError         **error,
                             TetherTemplate  *self,
                             GMainContext    *context)
{
  g_prefix_error (error, "Acquiring '%s' for context %p: ", self->call.name, context);
}

/* ------------------------------------------------------------------------ */
/* A flight's life                                                          */
/* ------------------------------------------------------------------------ */

/* Sets up @flight (zeroed; on the leader's stack with @on_stack) and the
 * entry of a first acquire of (@self, @context) by @thread, and fixes how
 * its provider starts: with @start_in_context, from an idle attached to
 * @context now, in the hold that makes the flight visible (the idle holds
 * a reference). A heap flight's first reference is the caller's. */
static void
flight_init_locked (TetherFlight        *flight,
                    gboolean             on_stack,
                    TetherContextRecord *record,
                    TetherTemplate      *self,
                    GMainContext        *context,
                    gboolean             uses_async,
                    gboolean             start_in_context,
                    GThread             *thread)
{
  flight->on_stack = on_stack;
  if (on_stack)
    {
      flight->template = self;
      flight->context = context;
    }
  else
    {
      ref_count_init (&flight->ref_count);
      flight->template = g_object_ref (self);
      flight->context = g_main_context_ref (context);
    }
  flight->record = record;
  flight->uses_async = uses_async;
  /* Only an asynchronous provider acquire can be cancelled. */
  if (uses_async)
    flight->cancellable = g_cancellable_new ();
  flight->creator = thread;
  flight->thread_default = g_main_context_get_thread_default ();
  flight->for_thread_default = context == flight->thread_default;
  flight->entry = _tether_entry_add_flight_locked (record, self, context, flight);

  /* Counted in the hold that decides to start it (for a start in the
   * context, the idle's). */
  if (!start_in_context)
    _tether_trace_acquire_started_locked (&self->call.counters);
  else
    {
      GSource *source = g_idle_source_new ();

      /* Attaching takes @context's lock under the state lock, which the
       * lock order allows. */
      g_source_set_static_name (source, "[tether] start acquire");
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, flight_start_in_context, flight_ref (flight),
                             (GDestroyNotify) flight_unref);
      flight->start = START_PENDING;
      flight->start_source = source;
      g_source_attach (source, context);
    }
}

/* What a flight owns besides its template and context: freed by the last
 * reference of a heap flight, by the leader of a stack one. */
static void
flight_clear (TetherFlight *flight)
{
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
}

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
  g_assert (!flight->on_stack);

  if (!ref_count_dec (&flight->ref_count))
    return;

  flight_clear (flight);
  g_main_context_unref (flight->context);
  g_object_unref (flight->template);
  g_free (flight);
}

static gboolean
flight_needs_context_locked (TetherFlight *flight)
{
  return flight->uses_async || flight->start == START_PENDING;
}

/* Waits, under the state lock, until @flight is done (the wait object is
 * made by the first waiter: a flight nobody joins allocates none). */
static void
flight_wait_done_locked (TetherFlight *flight)
{
  if (!g_atomic_int_get (&flight->done) && flight->cond == NULL)
    {
      flight->cond = g_new (TetherCond, 1);
      tether_cond_init (flight->cond);
    }
  while (!g_atomic_int_get (&flight->done))
    tether_cond_wait (flight->cond, &_tether_state_lock);
}

static TetherEnterFrame *
enter_frame_for (GMainContext *context)
{
  TetherEnterFrame *frame = enter_frames;

  while (frame != NULL && frame->context != context)
    frame = frame->outer;

  return frame;
}

/* Something other than a provider's acquire took time on this thread: the
 * next acquire of the enter reads its own start. */
static void
enter_frame_stop_clock (GMainContext *context)
{
  TetherEnterFrame *frame = enter_frame_for (context);

  if (frame != NULL)
    frame->clock = 0;
}

/* The first acquire of (@self, @context) in its hold: the context's record
 * (made and watched if new; a manager's enter has it already) and whether
 * this is the second distinct context of @self with no manager, to warn
 * about once unlocked. */
static TetherContextRecord *
flight_watch_locked (TetherTemplate *self,
                     GMainContext   *context,
                     gboolean       *out_first,
                     gboolean       *out_warn)
{
  TetherEnterFrame *frame = enter_frame_for (context);
  TetherContextRecord *record;

  if (frame != NULL)
    {
      /* Claimed by the frame's manager, so neither idle nor warned. */
      *out_first = *out_warn = FALSE;
      return frame->record;
    }

  record = _tether_janitor_watch_locked (context, out_first);
  *out_warn = !_tether_entry_table_is_empty_locked (self) &&
              _tether_janitor_take_warning_locked (record);

  return record;
}

static void
flight_announce (TetherTemplate *self,
                 GMainContext   *context,
                 gboolean        first,
                 gboolean        warn)
{
  if (first)
    _tether_trace_context_event ("context-first-served", context, NULL);
  if (warn)
    _tether_janitor_warn_unmanaged (self->call.name, context);
}

/* Runs the provider for @flight on this thread, its leader (set in the hold
 * that decided it), with the flight's context pushed as thread-default
 * when this thread can own it. A synchronous acquire completes the flight
 * before this returns (@leader_leaves: this thread is a synchronous caller
 * of the flight, and stops counting as one in the completion's hold); an
 * asynchronous one completes it later, in the context. */
static void
flight_run_provider (TetherFlight *flight,
                     gboolean      leader_leaves)
{
  TetherTemplate *self = flight->template;
  TetherContextSpan span;

  /* A stack flight runs in its creator's call, whose thread-default
   * context was read when it was made. */
  if (flight->on_stack)
    _tether_context_enter_known (flight->context, flight->thread_default, &span);
  else
    _tether_context_enter (flight->context, &span);

  if (!flight->uses_async)
    {
      /* In a manager's enter, the end of the acquire before this one is its
       * start: one clock read per acquire. */
      TetherEnterFrame *frame = leader_leaves ? enter_frame_for (flight->context) : NULL;
      GError *error = NULL;
      gint64 elapsed;
      gpointer resource;

      resource = _tether_provider_acquire (&self->call, flight->context,
                                           frame != NULL ? &frame->clock : NULL,
                                           &elapsed, &error);
      flight_complete (flight, resource, error, elapsed, leader_leaves);
    }
  else
    {
      _tether_provider_acquire_async (&self->call, flight->context, flight->cancellable,
                                      flight_async_done, flight_ref (flight));

      /* The provider's synchronous part is over (it may have completed the
       * flight already, which cleared the leader). */
      TETHER_STATE_LOCK ();
      if (flight->leader == _tether_thread_self ())
        flight->leader = NULL;
      TETHER_STATE_UNLOCK ();
    }

  _tether_context_leave (flight->context, &span);
}

/* The idle that starts a flight in its context, on the thread that
 * iterates it. */
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
      flight->leader = _tether_thread_self ();
      source = g_steal_pointer (&flight->start_source);
      _tether_trace_acquire_started_locked (&flight->template->call.counters);
    }
  TETHER_STATE_UNLOCK ();

  g_clear_pointer (&source, g_source_unref);
  if (run)
    flight_run_provider (flight, FALSE);

  return G_SOURCE_REMOVE;
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
  flight->leader = _tether_thread_self ();
  TETHER_STATE_UNLOCK ();

  resource = _tether_provider_acquire_finish (&flight->template->call, result, &elapsed,
                                              &error);
  flight_complete (flight, resource, error, elapsed, FALSE);
  flight_unref (flight);
}

/* ------------------------------------------------------------------------ */
/* A manager's enter frames                                                 */
/* ------------------------------------------------------------------------ */

void
_tether_flight_enter_frame_push (TetherEnterFrame    *frame,
                                 GMainContext        *context,
                                 TetherContextRecord *record,
                                 guint                n_templates)
{
  frame->context = context;
  frame->record = record;
  frame->clock = 0;
  frame->produced = g_ptr_array_sized_new (n_templates);
  frame->failed = NULL;
  frame->outer = enter_frames;
  enter_frames = frame;
}

void
_tether_flight_enter_frame_pop (TetherEnterFrame *frame)
{
  g_assert (enter_frames == frame);
  enter_frames = frame->outer;

  g_ptr_array_unref (frame->produced);
  if (frame->failed != NULL)
    {
      for (guint i = 1; i < frame->failed->len; i += 2)
        g_error_free (g_ptr_array_index (frame->failed, i));
      g_ptr_array_unref (frame->failed);
    }
}

const GError *
_tether_flight_enter_frame_failure (TetherEnterFrame *frame,
                                    TetherTemplate   *self)
{
  for (guint i = 0; frame->failed != NULL && i < frame->failed->len; i += 2)
    if (g_ptr_array_index (frame->failed, i) == self)
      return g_ptr_array_index (frame->failed, i + 1);

  return NULL;
}

/* Under the completion's hold: a flight whose provider ran on this thread
 * for the context of one of its open enters belongs to that enter. */
static void
enter_frame_note_locked (TetherFlight *flight,
                         gpointer      resource,
                         const GError *error)
{
  TetherEnterFrame *frame = enter_frame_for (flight->context);

  if (frame == NULL)
    return;

  if (resource != NULL)
    g_ptr_array_add (frame->produced, flight->template);
  else
    {
      if (frame->failed == NULL)
        frame->failed = g_ptr_array_new ();
      g_ptr_array_add (frame->failed, flight->template);
      g_ptr_array_add (frame->failed, g_error_copy (error));
    }
}

/* ------------------------------------------------------------------------ */
/* Completion                                                               */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GPtrArray *waiters;   /* every Waiter, each with the flight's reference */
  GPtrArray *tasks;     /* to return the outcome to */
  GPtrArray *restarts;  /* joined an abandoned flight: start a new one */
} TakenWaiters;

/* Under the state lock, as the flight completes: every waiter not done is
 * done now. */
static TakenWaiters *
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
                TakenWaiters *taken,
                gpointer      resource,
                const GError *error)
{
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
        {
          g_cancellable_disconnect (waiter->cancellable, waiter->handler);
          tether_tsan_acquire (waiter);
        }
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

/* Records the outcome of a flight and hands it to every caller. Not under
 * the state lock. @elapsed: how long the provider's acquire took, or
 * TETHER_TRACE_UNTIMED, or TETHER_TRACE_NOT_RUN when no provider acquire
 * ran (nothing is counted). With @leader_leaves, the synchronous caller
 * completing it stops counting as a caller in the same hold; on a stack
 * flight it then waits there for the callers that joined to let go. */
static void
flight_complete (TetherFlight *flight,
                 gpointer      resource,
                 GError       *provider_error,
                 gint64        elapsed,
                 gboolean      leader_leaves)
{
  TetherTemplate *self = flight->template;
  GMainContext *context = flight->context;
  TakenWaiters *taken = NULL;
  GError *error = NULL;
  GSource *detach = NULL;
  TetherTemplate *failed_ref = NULL;
  TetherHeldWatch *watch = NULL;
  gpointer died = NULL;
  gboolean wake;

  resource = _tether_provider_check_result (&self->call, context, resource, provider_error,
                                            flight->uses_async ? "acquire_finish" : "acquire",
                                            &error);

  /* A provider that watches its resources (ABI 1.2) gets the watch before
   * anyone sees the resource. */
  if (resource != NULL && _tether_provider_has_watch (&self->call))
    {
      watch = _tether_janitor_held_watch_new (self, context, resource);
      _tether_provider_watch (&self->call, resource, context, &watch->public);
    }

  TETHER_STATE_LOCK ();
  {
    TetherEntry *entry = flight->entry;
    TetherContextRecord *record = flight->record;

    g_assert (entry != NULL);

    /* It died before it was handed out: the acquire fails, and the
     * resource is released here, once unlocked. */
    if (watch != NULL && watch->died)
      {
        died = g_steal_pointer (&resource);
        watch->released = TRUE;
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                     "Provider '%s' discarded the resource it had just acquired for "
                     "context %p: it died before it was handed out",
                     self->call.name, context);
      }

    _tether_trace_acquire_done_locked (&self->call.counters, elapsed, resource != NULL);
    flight->entry = NULL;
    flight->leader = NULL;

    if (resource != NULL)
      {
        _tether_entry_set_held_locked (record, entry, resource, watch);

        /* The creating thread's thread-default context: its next acquire
         * is a hit. And, for the thread-exit leak check, an unmanaged
         * resource of that context is remembered (decided before tether
         * pushed the context for the provider). */
        if (flight->for_thread_default &&
            (flight->on_stack || flight->creator == _tether_thread_self ()))
          {
            _tether_entry_cache_locked (self, context, resource);
            if (record->manager == NULL)
              _tether_janitor_watch_thread_locked (record);
          }
      }
    else
      {
        failed_ref = _tether_entry_remove_flight_locked (record, entry);
        detach = _tether_janitor_unwatch_if_idle_locked (record);
      }

    /* An abandoned flight that produced nothing is no caller's outcome:
     * a synchronous caller joining it starts over, and so does an enter. */
    if (elapsed != TETHER_TRACE_NOT_RUN && (resource != NULL || !flight->abandoned))
      enter_frame_note_locked (flight, resource, error);

    flight->resource = resource;
    flight->error = error;
    /* A release store: the readers' loads acquire it. */
    __atomic_store_n (&flight->done, TRUE, __ATOMIC_RELEASE);
    if (flight->cond != NULL)
      tether_cond_broadcast (flight->cond);
    /* A synchronous caller may be iterating the context for this: only
     * when the result came through the context (a wakeup is a syscall). */
    wake = flight->n_sync > (guint) leader_leaves &&
           (flight->uses_async || flight->start != START_NONE);

    taken = waiters_take_locked (flight, resource);

    if (leader_leaves)
      {
        flight->n_sync--;
        /* The joiners read the outcome, then let go (see
         * flight_join_sync_and_unlock()). */
        if (flight->on_stack && flight->n_sync > 0)
          {
            if (flight->cond == NULL)
              {
                flight->cond = g_new (TetherCond, 1);
                tether_cond_init (flight->cond);
              }
            while (flight->n_sync > 0)
              tether_cond_wait (flight->cond, &_tether_state_lock);
          }
      }
  }
  TETHER_STATE_UNLOCK ();

  if (wake)
    g_main_context_wakeup (context);

  if (died != NULL)
    {
      _tether_provider_release (&self->call, died, NULL, FALSE, 0);
      g_free (watch);
    }

  if (taken != NULL)
    waiters_finish (flight, taken, resource, error);

  _tether_janitor_finish_unwatch (detach);

  if (failed_ref != NULL)
    g_object_unref (failed_ref);
}

/* ------------------------------------------------------------------------ */
/* Synchronous callers                                                      */
/* ------------------------------------------------------------------------ */

/* Joins @flight, led by another caller, as a synchronous caller. Called
 * with the state lock held; returns with it released. *@out_retry: the
 * flight was abandoned and produced nothing, start over. */
static gpointer
flight_join_sync_and_unlock (TetherFlight  *flight,
                             GThread       *thread,
                             gboolean      *out_retry,
                             GError       **error)
{
  TetherTemplate *self = flight->template;
  GMainContext *context = flight->context;
  gboolean on_stack = flight->on_stack;
  gboolean owned = FALSE;
  gpointer resource;

  if (flight->leader == thread)
    {
      TETHER_STATE_UNLOCK ();
      set_recursive_error (self, context, error);
      return NULL;
    }

  /* Decided before this caller counts: WOULD_BLOCK is its own answer. The
   * context is acquired under the state lock, as the lock order allows, so
   * that nothing can start needing it in between. */
  if (flight_needs_context_locked (flight))
    {
      owned = g_main_context_acquire (context);
      if (!owned)
        {
          TETHER_STATE_UNLOCK ();
          set_would_block_error (self, context, "is being acquired asynchronously for", error);
          return NULL;
        }
    }

  /* A stack flight's leader waits for this caller instead. */
  if (!on_stack)
    flight_ref (flight);
  /* The wait is not the next acquire's. */
  enter_frame_stop_clock (context);
  flight->n_sync++;
  _tether_trace_joined_locked (&self->call.counters);
  TETHER_STATE_UNLOCK ();

  _tether_trace_joined (self->call.name, context);

  /* Taken in this attempt, given back in this attempt. */
  if (owned)
    {
      _tether_context_iterate_until (context, &flight->done);
      g_main_context_release (context);
    }

  TETHER_STATE_LOCK ();
  flight_wait_done_locked (flight);
  resource = flight->resource;
  *out_retry = flight->abandoned && resource == NULL;
  if (resource != NULL)
    _tether_entry_cache_if_held_locked (self, context, resource);
  else if (!*out_retry)
    g_propagate_error (error, g_error_copy (flight->error));
  /* Let go: a stack flight's leader may return once the count is 0. */
  flight->n_sync--;
  if (on_stack && flight->n_sync == 0)
    tether_cond_broadcast (flight->cond);
  TETHER_STATE_UNLOCK ();

  if (!on_stack)
    flight_unref (flight);

  return resource;
}

/* Starts a flight for (@self, @context) and runs its provider on this
 * thread. Called with the state lock held; returns with it released. */
static gpointer
flight_lead_sync_and_unlock (TetherTemplate  *self,
                             GMainContext    *context,
                             GThread         *thread,
                             GError         **error)
{
  TetherContextRecord *record;
  TetherFlight on_stack = { 0 };
  TetherFlight *flight;
  gboolean first, warn;
  gpointer resource;

  /* The usual case: a synchronous provider, run here, its flight on this
   * stack. */
  if (_tether_provider_has_sync (&self->call))
    {
      record = flight_watch_locked (self, context, &first, &warn);
      flight = &on_stack;
      flight_init_locked (flight, TRUE, record, self, context, FALSE, FALSE, thread);
      flight->n_sync = 1;
      flight->leader = thread;
      TETHER_STATE_UNLOCK ();

      flight_announce (self, context, first, warn);
      flight_run_provider (flight, TRUE);

      /* Every joiner has let go: the outcome is this caller's. */
      resource = flight->resource;
      if (resource == NULL)
        g_propagate_error (error, g_steal_pointer (&flight->error));
      else if (!flight->for_thread_default)
        {
          TETHER_STATE_LOCK ();
          _tether_entry_cache_if_held_locked (self, context, resource);
          TETHER_STATE_UNLOCK ();
        }
      flight_clear (flight);
      return resource;
    }

  /* An async-only provider's result arrives through the context, which
   * this thread must then own and iterate. */
  if (!g_main_context_acquire (context))
    {
      TETHER_STATE_UNLOCK ();
      set_would_block_error (self, context, "only acquires asynchronously, for", error);
      return NULL;
    }

  record = flight_watch_locked (self, context, &first, &warn);
  enter_frame_stop_clock (context);
  flight = g_new0 (TetherFlight, 1);
  flight_init_locked (flight, FALSE, record, self, context, TRUE, FALSE, thread);
  flight->n_sync = 1;
  flight->leader = thread;
  TETHER_STATE_UNLOCK ();

  flight_announce (self, context, first, warn);

  /* Owned here, given back here. */
  g_main_context_push_thread_default (context);
  flight_run_provider (flight, FALSE);
  _tether_context_iterate_until (context, &flight->done);
  g_main_context_pop_thread_default (context);
  g_main_context_release (context);

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

gpointer
_tether_flight_acquire (TetherTemplate  *self,
                        GMainContext    *context,
                        GError         **error)
{
  if (!_tether_provider_can_acquire (&self->call))
    {
      set_no_provider_error (self, error);
      return NULL;
    }

  for (;;)
    {
      GThread *thread = _tether_thread_self ();
      TetherEntry *entry;
      gboolean retry = FALSE;
      gpointer resource;

      TETHER_STATE_LOCK ();
      entry = _tether_entry_lookup_locked (self, context);

      if (entry == NULL)
        return flight_lead_sync_and_unlock (self, context, thread, error);

      if (entry->flight == NULL)
        {
          resource = entry->resource;
          _tether_entry_cache_locked (self, context, resource);
          TETHER_STATE_UNLOCK ();
          return resource;
        }

      resource = flight_join_sync_and_unlock (entry->flight, thread, &retry, error);
      if (!retry)
        return resource;
    }
}

/* ------------------------------------------------------------------------ */
/* Asynchronous callers                                                     */
/* ------------------------------------------------------------------------ */

void
_tether_flight_acquire_async (TetherTemplate *self,
                              GMainContext   *context,
                              GCancellable   *cancellable,
                              gboolean        settle,
                              GTask          *task)
{
  GThread *thread = _tether_thread_self ();
  TetherFlight *flight;
  TetherEntry *entry;
  Waiter *waiter;
  gboolean lead = FALSE;
  gboolean start_here = FALSE;
  gboolean first = FALSE, warn = FALSE;

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
      /* No reference: a waiter reads its flight only under the lock, while
       * it is not done. */
      flight = entry->flight;
      if (flight->leader == thread)
        {
          GError *error = NULL;

          TETHER_STATE_UNLOCK ();
          set_recursive_error (self, context, &error);
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
      _tether_trace_joined_locked (&self->call.counters);
    }
  else
    {
      TetherContextRecord *record = flight_watch_locked (self, context, &first, &warn);
      gboolean uses_async = _tether_provider_has_async (&self->call);

      /* Never provider code that may block on this thread: acquire_async
       * starts here only when this thread can own the context (it then
       * gives it back after the start); anything else starts from the
       * context, on the thread that iterates it. */
      start_here = uses_async && g_main_context_acquire (context);
      flight = g_new0 (TetherFlight, 1);
      flight_init_locked (flight, FALSE, record, self, context, uses_async, !start_here, thread);
      if (start_here)
        flight->leader = thread;
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

      handler = g_cancellable_connect (cancellable, G_CALLBACK (on_waiter_cancelled),
                                       waiter, waiter_unref);

      TETHER_STATE_LOCK ();
      completed = waiter->done;
      if (!completed)
        waiter->handler = handler;
      TETHER_STATE_UNLOCK ();

      /* Completed (or cancelled) while connecting: nobody else will
       * disconnect, and we are not inside the handler. */
      if (completed && handler != 0)
        {
          g_cancellable_disconnect (cancellable, handler);
          tether_tsan_acquire (waiter);
        }

      waiter_unref (waiter);
    }

  if (lead)
    flight_announce (self, context, first, warn);
  else
    _tether_trace_joined (self->call.name, context);

  if (start_here)
    {
      flight_run_provider (flight, FALSE);
      g_main_context_release (context);
    }

  /* The starter's reference. */
  if (lead)
    flight_unref (flight);
}

gboolean
_tether_flight_task_led (GTask *task)
{
  return GPOINTER_TO_INT (g_task_get_task_data (task));
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

  /* These may complete the flight synchronously; waiters_take_locked()
   * leaves the connection of this (left) waiter alone, so no deadlock. */
  if (dropped)
    {
      /* Its destroy notify drops the idle's flight reference. */
      g_source_destroy (dropped_source);
      g_source_unref (dropped_source);
      flight_complete (flight, NULL,
                       g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                            "Every caller of the acquire cancelled it "
                                            "before it started"),
                       TETHER_TRACE_NOT_RUN, FALSE);
      flight_unref (flight);
    }
  if (abandon != NULL)
    {
      g_cancellable_cancel (abandon);
      g_object_unref (abandon);
    }

  /* g_cancellable_disconnect() returns only after this handler has: what
   * it read of @waiter happens before a disconnecting thread frees it. */
  tether_tsan_release (waiter);
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
