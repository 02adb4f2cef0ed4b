/* test-flight.c: the windows of the single-flight protocol, each forced,
 * and a stress that mixes every kind of caller and provider
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The windows:
 * - between the moment a flight becomes visible and the moment it says it
 *   needs its context (an asynchronous caller's flight, whose provider
 *   starts from an idle of the context): the context's owner asking for
 *   the same resource then must iterate, not wait;
 * - a synchronous caller that joined an abandoned flight (taking the
 *   context to iterate it) and then leads the next one: the context is
 *   given back exactly once;
 * - a flight led by a synchronous caller lives on its stack: callers that
 *   joined it read its outcome before it returns;
 * - a flight every caller abandoned can end on a thread inside a manager's
 *   enter for the same context (a peer's start idle, or an acquire_async
 *   a provider started, dispatched while the enter iterates): its
 *   cancellation is not the enter's outcome for that template.
 */

#include <string.h>

#include "test-util.h"

#include "tether-flight-private.h"
#include "tether-lock-private.h"

/* A deadlock fails the test (and names the window) instead of hanging
 * the run until meson's timeout. */
static gpointer
watchdog_thread (gpointer data)
{
  gint *done = data;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!g_atomic_int_get (done))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("deadlock: the test did not finish within 10 s");
      g_usleep (10 * 1000);
    }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* An asynchronous caller's flight, seen by the context's owner             */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TestProvider   *tp;
  TetherTemplate *template;
  GMainContext   *owned;        /* the main thread's, pushed */
  gint            window_open;  /* atomic: the caller is inside the window */
  gint            owner_done;   /* atomic: the owner's acquire returned */
  gint            async_done;   /* atomic */
  gpointer        async_resource;
  GError         *async_error;
} Window;

static Window *window_case;

/* The warning about a second context with no manager is logged by the
 * asynchronous caller after the hold that made its flight, before it
 * returns: the window, held open here until the owner has asked. */
static void
warning_hook (const gchar    *log_domain,
              GLogLevelFlags  log_level,
              const gchar    *message,
              gpointer        user_data)
{
  Window *w = window_case;
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  if (w == NULL || strstr (message, "second distinct context") == NULL)
    return;

  g_atomic_int_set (&w->window_open, 1);
  /* Keep the window open while the owner asks (it may never return if it
   * waits for a start that is not announced yet). */
  while (!g_atomic_int_get (&w->owner_done) && g_get_monotonic_time () < deadline)
    g_usleep (1000);
}

static void
on_async_acquired (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Window *w = user_data;

  w->async_resource = tether_template_acquire_finish (TETHER_TEMPLATE (object), result,
                                                      &w->async_error);
  g_atomic_int_set (&w->async_done, 1);
}

static gpointer
async_caller_thread (gpointer data)
{
  Window *w = data;
  GMainContext *own = g_main_context_new ();

  g_main_context_push_thread_default (own);
  tether_template_acquire_async (w->template, w->owned, NULL, on_async_acquired, w);
  test_iterate_until (own, &w->async_done, 10000);
  g_main_context_pop_thread_default (own);
  g_main_context_unref (own);
  return NULL;
}

static void
test_async_start_visible_to_owner (void)
{
  Window w = { 0 };
  GMainContext *other = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  gint finished = 0;
  GThread *caller, *watchdog;
  gpointer resource;
  guint handler;

  test_reset_global_state ();
  w.tp = test_provider_new ("window");
  w.tp->vtable.acquire_async = NULL;   /* synchronous only: an async caller starts it */
  w.tp->vtable.acquire_finish = NULL;  /* from an idle of the context */
  w.template = test_provider_template (w.tp);
  w.owned = g_main_context_new ();
  g_main_context_push_thread_default (w.owned);

  /* The template serves another context already, so the next first
   * acquire warns; the warning stays non-fatal and becomes the hook. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  handler = g_log_set_handler ("Tether", G_LOG_LEVEL_WARNING, warning_hook, NULL);
  g_assert_nonnull (tether_template_acquire (w.template, other, &error));
  window_case = &w;

  watchdog = g_thread_new ("watchdog", watchdog_thread, &finished);
  caller = g_thread_new ("async-caller", async_caller_thread, &w);
  while (!g_atomic_int_get (&w.window_open))
    g_usleep (1000);

  /* The owner of the context asks while the caller is in the window: it
   * must iterate its context, where the start is. */
  resource = tether_template_acquire (w.template, NULL, &error);
  g_atomic_int_set (&w.owner_done, 1);
  g_assert_no_error (error);
  g_assert_nonnull (resource);

  g_thread_join (caller);
  g_atomic_int_set (&finished, 1);
  g_thread_join (watchdog);
  window_case = NULL;
  g_log_remove_handler ("Tether", handler);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  g_assert_no_error (w.async_error);
  g_assert_true (w.async_resource == resource);
  /* One provider call for the two callers. */
  g_assert_cmpint (g_atomic_int_get (&w.tp->n_acquire_calls), ==, 2);

  g_assert_true (tether_template_release (w.template, NULL, NULL));
  g_assert_true (tether_template_release (w.template, other, NULL));
  g_main_context_pop_thread_default (w.owned);
  g_main_context_unref (w.owned);
  g_main_context_unref (other);
  test_provider_finish (w.tp, w.template);
}

/* ------------------------------------------------------------------------ */
/* The context given back exactly once on a retry                           */
/* ------------------------------------------------------------------------ */

/* An acquire_async that completes only once cancelled, and then through an
 * idle of its context, so that the flight's end has to be iterated. */
typedef struct
{
  GTask *task;
} Pending;

static gboolean
pending_fail (gpointer data)
{
  GTask *task = data;

  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  return G_SOURCE_REMOVE;
}

static void
pending_cancelled (GCancellable *cancellable,
                   gpointer      data)
{
  GTask *task = data;
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, pending_fail, g_object_ref (task), g_object_unref);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static void
pending_acquire_async (GMainContext        *context,
                       gpointer             provider_data,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  TestProvider *tp = provider_data;
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_atomic_int_inc (&tp->n_acquire_calls);
  g_task_set_check_cancellable (task, FALSE);
  g_cancellable_connect (cancellable, G_CALLBACK (pending_cancelled), task, g_object_unref);
}

static void
on_cancelled_acquire (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  GError *error = NULL;

  g_assert_null (tether_template_acquire_finish (TETHER_TEMPLATE (object), result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_error_free (error);
  g_atomic_int_set ((gint *) user_data, 1);
}

static void
test_retry_gives_context_back (void)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  TetherTemplate *template;
  TestProvider *tp;
  gint cancelled = 0;
  gpointer resource;

  test_reset_global_state ();
  tp = test_provider_new ("retry");
  tp->vtable.acquire_async = pending_acquire_async;
  template = test_provider_template (tp);
  g_main_context_push_thread_default (context);
  g_assert_true (g_main_context_is_owner (context));

  /* An asynchronous acquire starts here (the provider has acquire_async
   * and this thread owns the context), then its only caller leaves: the
   * flight is abandoned, and its end waits in the context. */
  tether_template_acquire_async (template, NULL, cancellable, on_cancelled_acquire, &cancelled);
  g_cancellable_cancel (cancellable);
  g_assert_true (test_iterate_until (context, &cancelled, 5000));

  /* A synchronous acquire joins the abandoned flight (iterating the
   * context until it ends), then starts over and leads a new one. */
  resource = tether_template_acquire (template, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (resource);
  g_assert_cmpint (g_atomic_int_get (&tp->n_acquire_calls), ==, 2);

  /* Still this thread's: taken once to iterate, given back once. */
  g_assert_true (g_main_context_is_owner (context));

  g_assert_true (tether_template_release (template, NULL, NULL));
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  test_provider_finish (tp, template);
}

/* ------------------------------------------------------------------------ */
/* A flight abandoned inside a manager's enter                              */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *later;       /* after the hooked template in the enter */
  gint            cancelled;   /* atomic: the abandoned caller's callback ran */
  gboolean        done;
} AbandonInEnter;

/* Inside the first template's acquire, on the enter's thread: an
 * asynchronous acquire of a later template starts here, its only caller
 * leaves, and the flight ends, cancelled, on this thread. */
static void
abandon_in_enter_hook (TestProvider *tp,
                       GMainContext *context,
                       gpointer      data)
{
  AbandonInEnter *a = data;
  g_autoptr(GCancellable) cancellable = NULL;

  if (a->done)
    return;
  a->done = TRUE;

  cancellable = g_cancellable_new ();
  tether_template_acquire_async (a->later, context, cancellable, on_cancelled_acquire,
                                 &a->cancelled);
  g_cancellable_cancel (cancellable);
  g_assert_true (test_iterate_until (context, &a->cancelled, 5000));
  while (_tether_flight_is_under_way (a->later, context))
    g_main_context_iteration (context, TRUE);
}

static void
test_abandoned_flight_in_enter (void)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(TetherManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  AbandonInEnter a = { 0 };
  TetherTemplate *first, *later;
  TestProvider *tp_first, *tp_later;

  test_reset_global_state ();
  tp_first = test_provider_new ("enter-first");
  tp_first->acquire_hook = abandon_in_enter_hook;
  tp_first->acquire_hook_data = &a;
  first = test_provider_template (tp_first);
  /* Its acquire_async waits until cancelled; its acquire answers at once. */
  tp_later = test_provider_new ("enter-later");
  tp_later->vtable.acquire_async = pending_acquire_async;
  later = test_provider_template (tp_later);
  a.later = later;

  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  g_assert_true (a.done);

  /* The enter acquired the later template itself: the abandoned flight's
   * cancellation was that flight's, not the enter's. */
  g_assert_nonnull (tether_template_lookup (later, context));
  g_assert_cmpint (g_atomic_int_get (&tp_later->n_acquire_calls), ==, 2);

  tether_manager_release (manager);
  g_clear_object (&manager);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  test_provider_finish (tp_later, later);
  test_provider_finish (tp_first, first);
}

/* ------------------------------------------------------------------------ */
/* Callers that joined a flight on its leader's stack                        */
/* ------------------------------------------------------------------------ */

#define N_JOINERS 4

typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  TestGate       *entered;     /* opened by the provider */
  gpointer        resources[N_JOINERS];
  gint            started;     /* atomic */
} Joiners;

static void
block_hook (TestProvider *tp,
            GMainContext *context,
            gpointer      data)
{
  Joiners *j = data;

  test_gate_open (j->entered);
  /* Every joiner is counted before the provider returns. */
  for (;;)
    {
      g_autoptr(TetherTemplateStats) stats = tether_template_get_stats (j->template);

      if (stats->joins == N_JOINERS)
        break;
      g_usleep (1000);
    }
}

static gpointer
joiner_thread (gpointer data)
{
  Joiners *j = data;
  gint i = g_atomic_int_add (&j->started, 1);

  test_gate_wait (j->entered);
  j->resources[i] = tether_template_acquire (j->template, j->context, NULL);
  return NULL;
}

static void
test_stack_flight_joiners (void)
{
  Joiners j = { 0 };
  GThread *threads[N_JOINERS];
  TestProvider *tp;
  gpointer resource;

  test_reset_global_state ();
  tp = test_provider_new ("stack");
  tp->acquire_hook = block_hook;
  tp->acquire_hook_data = &j;
  j.template = test_provider_template (tp);
  j.context = g_main_context_new ();
  j.entered = test_gate_new ();

  for (guint i = 0; i < N_JOINERS; i++)
    threads[i] = g_thread_new ("joiner", joiner_thread, &j);
  /* The leader's flight is on this stack; the joiners read its outcome
   * after it completes, before this call returns. */
  resource = tether_template_acquire (j.template, j.context, NULL);
  for (guint i = 0; i < N_JOINERS; i++)
    g_thread_join (threads[i]);

  g_assert_nonnull (resource);
  for (guint i = 0; i < N_JOINERS; i++)
    g_assert_true (j.resources[i] == resource);
  g_assert_cmpint (tp->n_acquire_calls, ==, 1);

  g_assert_true (tether_template_release (j.template, j.context, NULL));
  test_gate_free (j.entered);
  g_main_context_unref (j.context);
  test_provider_finish (tp, j.template);
}

/* ------------------------------------------------------------------------ */
/* Every kind of caller at once                                             */
/* ------------------------------------------------------------------------ */

#define N_OWNERS     3
#define N_PEERS      3
#define N_KINDS      3   /* synchronous only, asynchronous only, both */
#define STRESS_ROUNDS 1000

typedef struct
{
  TestProvider   *tp[N_KINDS];
  TetherTemplate *templates[N_KINDS];
  GMainContext   *contexts[N_OWNERS];   /* each owned by its owner thread */
  gint            stop;                 /* atomic */
  gint            owners_left;          /* atomic */
  gint            owners_pushed;        /* atomic: owners whose context is pushed */
  gint            peer_outcomes;        /* atomic: async peer callbacks */
  gint            peer_resources;       /* atomic */
} Mixed;

typedef struct
{
  Mixed  *m;
  guint   index;
  guint32 seed;
  gint    outcomes;   /* a peer's callbacks, on its own thread */
} Actor;

static guint
next_random (guint32 *seed)
{
  *seed = *seed * 1103515245u + 12345u;
  return (*seed >> 8) & 0xffff;
}

/* An owner: its context pushed, it acquires synchronously (one template,
 * or all through a manager), iterates its context so that starts and
 * completions of asynchronous callers run, and releases. */
static gpointer
owner_thread (gpointer data)
{
  Actor *a = data;
  Mixed *m = a->m;
  GMainContext *context = m->contexts[a->index];

  g_main_context_push_thread_default (context);
  g_atomic_int_inc (&m->owners_pushed);
  for (guint round = 0; round < STRESS_ROUNDS; round++)
    {
      guint kind = next_random (&a->seed) % N_KINDS;
      g_autoptr(GError) error = NULL;

      if (next_random (&a->seed) % 4 == 0)
        {
          g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_EXIST_OK);

          if (!tether_manager_acquire (manager, &error))
            g_error ("owner: manager acquire: %s", error->message);
          while (g_main_context_iteration (context, FALSE))
            ;
          tether_manager_release (manager);
        }
      else
        {
          gpointer resource = tether_template_acquire (m->templates[kind], NULL, &error);

          if (resource == NULL)
            g_error ("owner: acquire of %s: %s", m->tp[kind]->name, error->message);
          g_assert_true (((TestResource *) resource)->context == context);
          while (g_main_context_iteration (context, FALSE))
            ;
          /* Released, unless a peer's acquire is still under way (then
           * nothing is held yet, and the next round releases it). */
          tether_template_release (m->templates[kind], NULL, NULL);
        }
      /* Time for the peers' asks to meet this thread's flights. */
      g_usleep (next_random (&a->seed) % 100);
    }

  /* Serve the peers' last starts, then release everything. */
  g_atomic_int_add (&m->owners_left, -1);
  while (g_atomic_int_get (&m->owners_left) > 0 || !g_atomic_int_get (&m->stop))
    {
      while (g_main_context_iteration (context, FALSE))
        ;
      g_usleep (100);
    }
  while (g_main_context_iteration (context, FALSE))
    ;
  for (guint kind = 0; kind < N_KINDS; kind++)
    tether_template_release (m->templates[kind], NULL, NULL);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
on_peer_acquired (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Actor *a = user_data;
  Mixed *m = a->m;
  GError *error = NULL;

  if (tether_template_acquire_finish (TETHER_TEMPLATE (object), result, &error) != NULL)
    g_atomic_int_inc (&m->peer_resources);
  else
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_error ("peer: acquire failed: %s", error->message);
      g_error_free (error);
    }
  g_atomic_int_add (&m->peer_outcomes, 1);
  a->outcomes++;
}

/* A peer: asks, asynchronously, for the resources of the owners'
 * contexts, from its own context, cancelling some of its asks at once and
 * some a little later. */
static gpointer
peer_thread (gpointer data)
{
  Actor *a = data;
  Mixed *m = a->m;
  GMainContext *own = g_main_context_new ();
  gint asked = 0;

  g_main_context_push_thread_default (own);
  /* A peer asking first could own an owner's context for a moment (an
   * asynchronous start runs where the caller can own the context), and
   * the owner's push would fail. */
  while (g_atomic_int_get (&m->owners_pushed) < N_OWNERS)
    g_usleep (100);
  while (g_atomic_int_get (&m->owners_left) > 0)
    {
      guint owner = next_random (&a->seed) % N_OWNERS;
      guint kind = next_random (&a->seed) % N_KINDS;
      guint how = next_random (&a->seed) % 4;
      g_autoptr(GCancellable) cancellable = how == 0 ? NULL : g_cancellable_new ();

      tether_template_acquire_async (m->templates[kind], m->contexts[owner], cancellable,
                                     on_peer_acquired, a);
      asked++;
      if (how == 1)
        g_cancellable_cancel (cancellable);
      g_main_context_iteration (own, FALSE);
      if (how == 2)
        g_cancellable_cancel (cancellable);
      g_usleep (next_random (&a->seed) % 50);
    }

  /* Every ask gets its outcome (the owners still iterate). */
  while (a->outcomes < asked)
    g_main_context_iteration (own, TRUE);
  g_main_context_pop_thread_default (own);
  g_main_context_unref (own);
  return GINT_TO_POINTER (asked);
}

static void
test_stress_mixed (void)
{
  static const char *names[N_KINDS] = { "sync-only", "async-only", "both" };
  Mixed m = { 0 };
  Actor owners[N_OWNERS], peers[N_PEERS];
  GThread *owner_threads[N_OWNERS], *peer_threads[N_PEERS];
  gint asked = 0;

  test_reset_global_state ();
  tether_set_unmanaged_warning_enabled (FALSE);
  for (guint kind = 0; kind < N_KINDS; kind++)
    {
      m.tp[kind] = test_provider_new (names[kind]);
      m.tp[kind]->async_only = kind == 1;
      if (kind == 0)
        {
          m.tp[kind]->vtable.acquire_async = NULL;
          m.tp[kind]->vtable.acquire_finish = NULL;
        }
      m.templates[kind] = test_provider_template (m.tp[kind]);
    }
  for (guint i = 0; i < N_OWNERS; i++)
    m.contexts[i] = g_main_context_new ();
  m.owners_left = N_OWNERS;

  for (guint i = 0; i < N_OWNERS; i++)
    {
      owners[i] = (Actor){ &m, i, 17 + i * 7919, 0 };
      owner_threads[i] = g_thread_new ("owner", owner_thread, &owners[i]);
    }
  for (guint i = 0; i < N_PEERS; i++)
    {
      peers[i] = (Actor){ &m, i, 101 + i * 104729, 0 };
      peer_threads[i] = g_thread_new ("peer", peer_thread, &peers[i]);
    }

  for (guint i = 0; i < N_PEERS; i++)
    asked += GPOINTER_TO_INT (g_thread_join (peer_threads[i]));
  g_atomic_int_set (&m.stop, TRUE);
  for (guint i = 0; i < N_OWNERS; i++)
    g_thread_join (owner_threads[i]);
  tether_set_unmanaged_warning_enabled (TRUE);

  g_test_message ("peers asked %d times: %d outcomes, %d resources", asked,
                  g_atomic_int_get (&m.peer_outcomes), g_atomic_int_get (&m.peer_resources));

  for (guint i = 0; i < N_OWNERS; i++)
    {
      gint finalized = 0;

      test_watch_context (m.contexts[i], &finalized);
      g_main_context_unref (m.contexts[i]);
      /* Nothing of tether's (a flight, a start) keeps it alive. */
      g_assert_true (g_atomic_int_get (&finalized));
    }
  tether_purge ();

  /* Exactly once: every resource acquired was released, gracefully with
   * its own context or ungracefully after its context died. */
  for (guint kind = 0; kind < N_KINDS; kind++)
    {
      TestProvider *tp = m.tp[kind];
      g_autoptr(TetherTemplateStats) stats = tether_template_get_stats (m.templates[kind]);

      g_test_message ("%s: acquired %d, released %d + %d ungracefully; stats: %" G_GUINT64_FORMAT
                      " acquires, %" G_GUINT64_FORMAT " failures, %" G_GUINT64_FORMAT " joins",
                      tp->name, tp->n_acquired, tp->n_released_graceful,
                      tp->n_released_ungraceful, stats->acquires, stats->failures, stats->joins);
      g_assert_cmpint (tp->n_acquired, ==, tp->n_released_graceful + tp->n_released_ungraceful);
      g_assert_cmpuint (stats->acquires, ==, (guint64) tp->n_acquire_calls);
      g_assert_cmpuint (stats->acquires, ==, stats->acquires_done);
      g_assert_cmpuint (stats->acquires - stats->failures, ==, (guint64) tp->n_acquired);
      g_assert_cmpuint (stats->graceful_releases, ==, (guint64) tp->n_released_graceful);
      g_assert_cmpuint (stats->ungraceful_releases, ==, (guint64) tp->n_released_ungraceful);
      g_assert_cmpint (tp->max_in_acquire, <=, N_OWNERS);
      test_provider_finish (tp, m.templates[kind]);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/flight/window/async-start-visible-to-owner",
                   test_async_start_visible_to_owner);
  g_test_add_func ("/flight/window/retry-gives-context-back", test_retry_gives_context_back);
  g_test_add_func ("/flight/window/stack-flight-joiners", test_stack_flight_joiners);
  g_test_add_func ("/flight/window/abandoned-flight-in-enter", test_abandoned_flight_in_enter);
  g_test_add_func ("/flight/stress/mixed", test_stress_mixed);

  return g_test_run ();
}
