/* test-faults.c: fault injection — failing, slow, blocking and cancelled
 * providers; managers roll back exactly, every waiter sees the error, other
 * contexts are not delayed; all ledger-checked
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

typedef struct
{
  TestLedger         *ledger;
  TestLedgerProvider *lp[4];
  TetherTemplate     *template[4];
  guint               n;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  test_reset_global_state ();
  tether_set_unmanaged_warning_enabled (FALSE);
  f->ledger = test_ledger_new ();
}

/* Makes template @i; configure f->lp[i] with @configure first. */
static TetherTemplate *
fixture_add (Fixture    *f,
             const char *name,
             gboolean    async_only,
             guint       fail_permille,
             guint       delay_ms)
{
  guint i = f->n++;

  g_assert_cmpuint (i, <, G_N_ELEMENTS (f->lp));
  f->lp[i] = test_ledger_provider_new (f->ledger, name);
  f->lp[i]->async_only = async_only;
  f->lp[i]->fail_permille = fail_permille;
  f->lp[i]->delay_ms = delay_ms;
  f->template[i] = test_ledger_provider_template (f->lp[i]);
  g_assert_nonnull (f->template[i]);

  return f->template[i];
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  TestLedgerTotals totals;

  while (g_main_context_iteration (NULL, FALSE))
    ;
  tether_purge ();

  test_ledger_get_totals (f->ledger, &totals);
  g_test_message ("ledger: acquired %" G_GUINT64_FORMAT ", released %" G_GUINT64_FORMAT
                  " graceful + %" G_GUINT64_FORMAT " ungraceful, faults injected %" G_GUINT64_FORMAT
                  ", provider acquires cancelled %" G_GUINT64_FORMAT ", contexts %" G_GUINT64_FORMAT,
                  totals.acquired, totals.released_graceful, totals.released_ungraceful,
                  totals.failed, totals.cancelled, totals.contexts_tracked);
  test_ledger_assert_balanced (f->ledger);

  for (guint i = 0; i < f->n; i++)
    {
      tether_template_unregister (f->template[i]);
      g_object_unref (f->template[i]);
      test_ledger_provider_free (f->lp[i]);
    }
  test_ledger_free (f->ledger);
  tether_set_unmanaged_warning_enabled (TRUE);
}

static gboolean
context_is_managed (GMainContext *context)
{
  g_autoptr(GPtrArray) managed = tether_dup_managed_contexts ();

  for (guint i = 0; i < managed->len; i++)
    if (g_ptr_array_index (managed, i) == context)
      return TRUE;
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* A fraction of acquires fails: managers roll back exactly                 */
/* ------------------------------------------------------------------------ */

#define ROLLBACK_THREADS  8
#define ROLLBACK_CONTEXTS 150

typedef struct
{
  Fixture *f;
  guint    seed;
  gint     failed_scopes;
  gint     ok_scopes;
} RollbackWorker;

static void
on_manager_done (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GError **error = user_data;

  if (!tether_manager_acquire_finish (TETHER_MANAGER (object), result, error))
    g_assert_nonnull (*error);
  else
    *error = NULL;
  /* A marker that the callback ran. */
  g_object_set_data (object, "done", GINT_TO_POINTER (1));
}

static gpointer
rollback_worker (gpointer data)
{
  RollbackWorker *rw = data;
  Fixture *f = rw->f;
  GRand *rand = g_rand_new_with_seed (rw->seed);

  for (guint c = 0; c < ROLLBACK_CONTEXTS; c++)
    {
      GMainContext *context = g_main_context_new ();
      guint64 id = test_ledger_track_context (f->ledger, context);
      g_autoptr(TetherManager) manager = tether_manager_new (context, TETHER_MANAGER_NONE);
      g_autoptr(GError) error = NULL;
      gpointer pre_held = NULL;
      guint pre_index = 0;
      gboolean ok;

      g_main_context_push_thread_default (context);

      /* Sometimes a resource is held before the manager enters: a rollback
       * must leave it alone (it releases only what it acquired). */
      if (g_rand_boolean (rand))
        {
          pre_index = g_rand_int_range (rand, 0, f->n);
          pre_held = tether_template_acquire (f->template[pre_index], context, NULL);
        }

      if (g_rand_boolean (rand))
        ok = tether_manager_acquire (manager, &error);
      else
        {
          GError *async_error = NULL;

          tether_manager_acquire_async (manager, NULL, on_manager_done, &async_error);
          while (g_object_get_data (G_OBJECT (manager), "done") == NULL)
            g_main_context_iteration (context, TRUE);
          ok = async_error == NULL;
          error = async_error;
        }

      if (ok)
        {
          g_assert_no_error (error);
          g_assert_true (tether_manager_is_active (manager));
          g_assert_true (context_is_managed (context));
          g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, f->n);
          for (guint i = 0; i < f->n; i++)
            test_ledger_check_held (f->ledger, tether_template_lookup (f->template[i], context),
                                    id, "managed");
          tether_manager_release (manager);
          g_atomic_int_inc (&rw->ok_scopes);
        }
      else
        {
          /* Rolled back exactly: the manager is idle, the context is not
           * managed, and only what was held before is still held. */
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
          g_assert_false (tether_manager_is_active (manager));
          g_assert_false (context_is_managed (context));
          g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, pre_held ? 1 : 0);
          for (guint i = 0; i < f->n; i++)
            {
              gpointer held = tether_template_lookup (f->template[i], context);

              if (pre_held != NULL && i == pre_index)
                g_assert_true (held == pre_held);
              else
                g_assert_null (held);
            }
          if (pre_held != NULL)
            test_ledger_check_held (f->ledger, pre_held, id, "held across a rollback");
          g_atomic_int_inc (&rw->failed_scopes);

          /* The scope can be entered again afterwards. */
          g_clear_error (&error);
          if (tether_manager_acquire (manager, &error))
            tether_manager_release (manager);
          else
            g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
        }

      /* Left-overs (the pre-held resource after a failed retry) die with
       * the context. */
      g_main_context_pop_thread_default (context);
      g_clear_object (&manager);
      g_main_context_unref (context);
    }

  g_rand_free (rand);
  return NULL;
}

static void
test_faults_rollback_fraction (Fixture       *f,
                               gconstpointer  data)
{
  RollbackWorker workers[ROLLBACK_THREADS];
  GThread *threads[ROLLBACK_THREADS];
  TestLedgerTotals totals;
  guint seed = g_test_rand_int ();
  gint ok = 0, failed = 0;

  fixture_add (f, "flaky-a", FALSE, 150, 0);
  fixture_add (f, "flaky-b", TRUE, 150, 0);
  fixture_add (f, "flaky-c", FALSE, 150, 0);
  fixture_add (f, "flaky-d", TRUE, 150, 0);

  for (guint i = 0; i < ROLLBACK_THREADS; i++)
    {
      workers[i] = (RollbackWorker) { f, seed + i, 0, 0 };
      threads[i] = g_thread_new ("rollback", rollback_worker, &workers[i]);
    }
  for (guint i = 0; i < ROLLBACK_THREADS; i++)
    {
      g_thread_join (threads[i]);
      ok += workers[i].ok_scopes;
      failed += workers[i].failed_scopes;
    }

  tether_purge ();
  test_ledger_get_totals (f->ledger, &totals);
  g_test_message ("rollback: %d scopes entered, %d rolled back, %" G_GUINT64_FORMAT
                  " faults injected", ok, failed, totals.failed);
  g_assert_cmpint (failed, >, 0);
  g_assert_cmpint (ok, >, 0);
  g_assert_cmpuint (totals.failed, >=, (guint64) failed);
}

/* ------------------------------------------------------------------------ */
/* An asynchronous acquire fails after a delay: every waiter sees it        */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  gint           *started;
  GError         *error;
  gpointer        resource;
} SyncWaiter;

static gpointer
sync_waiter_thread (gpointer data)
{
  SyncWaiter *sw = data;

  g_atomic_int_inc (sw->started);
  sw->resource = tether_template_acquire (sw->template, sw->context, &sw->error);
  return NULL;
}

typedef struct
{
  TetherTemplate *template;
  gint            pending;
  guint           n_errors;
  guint           n_resources;
  GError         *first_error;
} AsyncWaiters;

static void
on_async_waiter (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AsyncWaiters *aw = user_data;
  GError *error = NULL;

  if (tether_template_acquire_finish (aw->template, result, &error) != NULL)
    aw->n_resources++;
  else
    {
      aw->n_errors++;
      if (aw->first_error == NULL)
        aw->first_error = error;
      else
        {
          g_assert_true (g_error_matches (error, aw->first_error->domain, aw->first_error->code));
          g_error_free (error);
        }
    }
  g_atomic_int_add (&aw->pending, -1);
}

static void
test_faults_async_fail_after_delay (Fixture       *f,
                                    gconstpointer  data)
{
  TetherTemplate *template = fixture_add (f, "slow-failure", TRUE, 0, 100);
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  AsyncWaiters aw = { template, 0, 0, 0, NULL };
  SyncWaiter sw[3];
  GThread *threads[3];
  gint started = 0;
  gpointer resource;

  g_atomic_int_set (&f->lp[0]->fail_next, 1);
  g_main_context_push_thread_default (context);

  /* Five asynchronous callers join one flight; it completes only when this
   * thread iterates the context. */
  for (guint i = 0; i < 5; i++)
    {
      aw.pending++;
      tether_template_acquire_async (template, context, NULL, on_async_waiter, &aw);
    }
  g_assert_cmpint (g_atomic_int_get (&f->lp[0]->n_acquire_calls), ==, 1);

  /* Three synchronous callers on other threads: they cannot own the
   * context, whose iteration alone brings the result, so they get
   * WOULD_BLOCK at once rather than wait for it (0.1 made them wait, and a
   * context owner that then joined deadlocked). */
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      sw[i] = (SyncWaiter) { template, context, &started, NULL, NULL };
      threads[i] = g_thread_new ("sync-waiter", sync_waiter_thread, &sw[i]);
    }
  while (g_atomic_int_get (&started) < (gint) G_N_ELEMENTS (threads))
    g_usleep (1000);
  g_usleep (50 * 1000);   /* into tether_template_acquire() and waiting */

  while (g_atomic_int_get (&aw.pending) > 0)
    g_main_context_iteration (context, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  /* One provider call, one failure, seen by all five that joined. */
  g_assert_cmpint (g_atomic_int_get (&f->lp[0]->n_acquire_calls), ==, 1);
  g_assert_cmpuint (aw.n_errors, ==, 5);
  g_assert_error (aw.first_error, G_IO_ERROR, G_IO_ERROR_FAILED);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_assert_null (sw[i].resource);
      g_assert_error (sw[i].error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK);
      g_clear_error (&sw[i].error);
    }
  g_clear_error (&aw.first_error);

  /* Nothing cached: the next acquire tries again, and succeeds. */
  g_assert_null (tether_template_lookup (template, context));
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  resource = tether_template_acquire (template, context, NULL);
  test_ledger_check_held (f->ledger, resource, id, "retry");
  g_assert_cmpint (g_atomic_int_get (&f->lp[0]->n_acquire_calls), ==, 2);
  g_assert_true (tether_template_release (template, context, NULL));

  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* ------------------------------------------------------------------------ */
/* Cancellation mid-flight                                                  */
/* ------------------------------------------------------------------------ */

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* The only caller cancels: it gets G_IO_ERROR_CANCELLED at once, the
 * provider's own acquire is cancelled too, nothing is held, and the next
 * acquire starts afresh. */
static void
test_faults_cancel_only_caller (Fixture       *f,
                                gconstpointer  data)
{
  TetherTemplate *template = fixture_add (f, "very-slow", TRUE, 0, 60 * 1000);
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncWaiters aw = { template, 1, 0, 0, NULL };
  TestLedgerTotals totals;
  GSource *timeout;
  gint64 start;
  gpointer resource;

  g_main_context_push_thread_default (context);

  start = g_get_monotonic_time ();
  tether_template_acquire_async (template, context, cancellable, on_async_waiter, &aw);
  timeout = g_timeout_source_new (20);
  g_source_set_callback (timeout, cancel_later, cancellable, NULL);
  g_source_attach (timeout, context);
  g_source_unref (timeout);

  while (g_atomic_int_get (&aw.pending) > 0)
    g_main_context_iteration (context, TRUE);

  /* Long before the provider's 60 s. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 30 * G_USEC_PER_SEC);
  g_assert_error (aw.first_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&aw.first_error);

  /* The provider saw the cancellation of its own acquire. */
  while (test_ledger_get_totals (f->ledger, &totals), totals.cancelled == 0)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpuint (totals.acquired, ==, 0);
  g_assert_null (tether_template_lookup (template, context));

  f->lp[0]->delay_ms = 0;
  resource = tether_template_acquire (template, context, NULL);
  test_ledger_check_held (f->ledger, resource, id, "after a cancelled flight");
  g_assert_cmpint (g_atomic_int_get (&f->lp[0]->n_acquire_calls), ==, 2);
  g_assert_true (tether_template_release (template, context, NULL));

  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* One of two callers cancels: it gets CANCELLED, the other still gets the
 * resource, and the provider's acquire is not cancelled. */
static void
test_faults_cancel_one_of_two (Fixture       *f,
                               gconstpointer  data)
{
  TetherTemplate *template = fixture_add (f, "slow", TRUE, 0, 100);
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncWaiters cancelled = { template, 1, 0, 0, NULL };
  AsyncWaiters patient = { template, 1, 0, 0, NULL };
  TestLedgerTotals totals;
  gpointer resource;

  g_main_context_push_thread_default (context);

  tether_template_acquire_async (template, context, cancellable, on_async_waiter, &cancelled);
  tether_template_acquire_async (template, context, NULL, on_async_waiter, &patient);
  g_cancellable_cancel (cancellable);

  while (g_atomic_int_get (&cancelled.pending) > 0 || g_atomic_int_get (&patient.pending) > 0)
    g_main_context_iteration (context, TRUE);

  g_assert_error (cancelled.first_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&cancelled.first_error);
  g_assert_cmpuint (patient.n_resources, ==, 1);
  g_assert_cmpint (g_atomic_int_get (&f->lp[0]->n_acquire_calls), ==, 1);

  test_ledger_get_totals (f->ledger, &totals);
  g_assert_cmpuint (totals.cancelled, ==, 0);
  resource = tether_template_lookup (template, context);
  test_ledger_check_held (f->ledger, resource, id, "the patient caller's");
  g_assert_true (tether_template_release (template, context, NULL));

  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* A provider that ignores cancellation: the caller still gets CANCELLED at
 * once; the resource the provider delivers later is kept for the context
 * (defined outcome) and released with it. */
static void
test_faults_cancel_ignored (Fixture       *f,
                            gconstpointer  data)
{
  TetherTemplate *template = fixture_add (f, "stubborn", TRUE, 0, 50);
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncWaiters aw = { template, 1, 0, 0, NULL };
  TestLedgerTotals totals;
  gpointer resource;

  f->lp[0]->ignore_cancel = TRUE;
  g_main_context_push_thread_default (context);

  tether_template_acquire_async (template, context, cancellable, on_async_waiter, &aw);
  g_cancellable_cancel (cancellable);
  while (g_atomic_int_get (&aw.pending) > 0)
    g_main_context_iteration (context, TRUE);
  g_assert_error (aw.first_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&aw.first_error);

  /* The provider completes anyway (its GTask returns from an idle). */
  while ((resource = tether_template_lookup (template, context)) == NULL)
    g_main_context_iteration (context, TRUE);
  test_ledger_get_totals (f->ledger, &totals);
  g_assert_cmpuint (totals.acquired, ==, 1);
  test_ledger_check_held (f->ledger, resource, id, "delivered after cancel");
  g_assert_true (tether_template_acquire (template, context, NULL) == resource);
  g_assert_cmpint (g_atomic_int_get (&f->lp[0]->n_acquire_calls), ==, 1);

  g_main_context_pop_thread_default (context);
  /* Released ungraceful, with the context. */
  g_main_context_unref (context);
  g_assert_cmpuint (tether_purge (), ==, 1);
}

/* A manager's asynchronous acquire cancelled on its second template rolls
 * back the first exactly and leaves the context unmanaged. */
static void
test_faults_cancel_manager (Fixture       *f,
                            gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TetherManager) manager = NULL;
  GError *error = NULL;
  TestLedgerTotals totals;

  fixture_add (f, "quick", FALSE, 0, 0);
  fixture_add (f, "endless", TRUE, 0, 60 * 1000);
  fixture_add (f, "never-reached", FALSE, 0, 0);

  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  tether_manager_acquire_async (manager, cancellable, on_manager_done, &error);

  /* Wait for the second provider to be under way, then cancel. */
  while (g_atomic_int_get (&f->lp[1]->n_acquire_calls) == 0)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 1);
  g_cancellable_cancel (cancellable);
  while (g_object_get_data (G_OBJECT (manager), "done") == NULL)
    g_main_context_iteration (context, TRUE);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (tether_manager_is_active (manager));
  g_assert_false (context_is_managed (context));
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&f->lp[2]->n_acquire_calls), ==, 0);
  test_ledger_get_totals (f->ledger, &totals);
  g_assert_cmpuint (totals.released_graceful, ==, 1);

  /* The abandoned provider acquire was cancelled as well. */
  while (test_ledger_get_totals (f->ledger, &totals), totals.cancelled == 0)
    g_main_context_iteration (context, TRUE);

  g_main_context_pop_thread_default (context);
  g_clear_object (&manager);
  g_main_context_unref (context);
}

/* ------------------------------------------------------------------------ */
/* A blocking provider: other contexts are not delayed                      */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TestGate     *gate;
  GMainContext *blocked;   /* identity only */
} BlockFor;

static void
block_for_context (TestLedgerProvider *lp,
                   GMainContext       *context,
                   gpointer            resource,
                   gpointer            data)
{
  BlockFor *bf = data;

  if (context == bf->blocked)
    test_gate_wait (bf->gate);
}

static void
test_faults_blocking (Fixture       *f,
                      gconstpointer  data)
{
  TetherTemplate *template;
  GMainContext *blocked = g_main_context_new ();
  GMainContext *other = g_main_context_new ();
  guint64 other_id;
  BlockFor bf = { test_gate_new (), blocked };
  g_autoptr(TetherManager) manager = NULL;
  SyncWaiter sw[4];
  GThread *threads[4];
  gint started = 0;
  gpointer resource;

  test_ledger_track_context (f->ledger, blocked);
  other_id = test_ledger_track_context (f->ledger, other);
  template = fixture_add (f, "blocking", FALSE, 0, 0);
  fixture_add (f, "plain", FALSE, 0, 0);
  f->lp[0]->acquire_hook = block_for_context;
  f->lp[0]->acquire_hook_data = &bf;
  g_atomic_int_set (&f->lp[0]->fail_next, 0);

  /* Four threads acquire for the blocked context; one of them leads and
   * is stuck in the provider. */
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      sw[i] = (SyncWaiter) { template, blocked, &started, NULL, NULL };
      threads[i] = g_thread_new ("blocked", sync_waiter_thread, &sw[i]);
    }
  test_gate_wait_for (bf.gate, 1);

  /* Meanwhile: the same template for another context, a whole managed
   * scope on it, lookups, purges. None waits for the blocked acquire (if
   * one did, this test would hang). */
  resource = tether_template_acquire (template, other, NULL);
  test_ledger_check_held (f->ledger, resource, other_id, "not delayed");
  g_assert_true (tether_template_release (template, other, NULL));
  g_main_context_push_thread_default (other);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, NULL));
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, other_id), ==, 2);
  tether_manager_release (manager);
  g_main_context_pop_thread_default (other);
  g_assert_null (tether_template_lookup (template, blocked));
  tether_purge ();
  /* The blocked call, and two for the other context. */
  g_assert_cmpint (g_atomic_int_get (&f->lp[0]->n_acquire_calls), ==, 3);

  /* The blocked acquire then fails: all four see it. */
  while (g_atomic_int_get (&started) < (gint) G_N_ELEMENTS (threads))
    g_usleep (1000);
  g_usleep (50 * 1000);
  g_atomic_int_set (&f->lp[0]->fail_next, 1);
  test_gate_open (bf.gate);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      g_assert_null (sw[i].resource);
      g_assert_error (sw[i].error, G_IO_ERROR, G_IO_ERROR_FAILED);
      g_clear_error (&sw[i].error);
    }
  g_assert_cmpint (g_atomic_int_get (&f->lp[0]->n_acquire_calls), ==, 3);
  g_assert_null (tether_template_lookup (template, blocked));

  g_main_context_unref (blocked);
  g_main_context_unref (other);
  test_gate_free (bf.gate);
}

/* ------------------------------------------------------------------------ */
/* Everything at once                                                       */
/* ------------------------------------------------------------------------ */

#define MIXED_THREADS  8
#define MIXED_CONTEXTS 120

typedef struct
{
  Fixture *f;
  guint    seed;
  gint     scopes;
  gint     cancelled;
} MixedWorker;

static gpointer
mixed_worker (gpointer data)
{
  MixedWorker *mw = data;
  Fixture *f = mw->f;
  GRand *rand = g_rand_new_with_seed (mw->seed);

  for (guint c = 0; c < MIXED_CONTEXTS; c++)
    {
      GMainContext *context = g_main_context_new ();
      guint64 id = test_ledger_track_context (f->ledger, context);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      AsyncWaiters aw[4];

      g_main_context_push_thread_default (context);

      for (guint i = 0; i < f->n; i++)
        {
          aw[i] = (AsyncWaiters) { f->template[i], 1, 0, 0, NULL };
          tether_template_acquire_async (f->template[i], context,
                                         g_rand_boolean (rand) ? cancellable : NULL,
                                         on_async_waiter, &aw[i]);
        }
      if (g_rand_int_range (rand, 0, 3) == 0)
        {
          g_main_context_iteration (context, FALSE);
          g_cancellable_cancel (cancellable);
          mw->cancelled++;
        }
      for (guint i = 0; i < f->n; i++)
        {
          while (g_atomic_int_get (&aw[i].pending) > 0)
            g_main_context_iteration (context, TRUE);
          if (aw[i].first_error != NULL)
            {
              g_assert_true (g_error_matches (aw[i].first_error, G_IO_ERROR, G_IO_ERROR_FAILED) ||
                             g_error_matches (aw[i].first_error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
              g_clear_error (&aw[i].first_error);
            }
          else
            test_ledger_check_held (f->ledger, tether_template_lookup (f->template[i], context),
                                    id, "mixed");
        }

      /* Wind down: release (half the time) or drop; an abandoned provider
       * acquire may still complete later, so let the context finish it. */
      if (g_rand_boolean (rand))
        for (guint i = 0; i < f->n; i++)
          tether_template_release (f->template[i], context, NULL);
      while (g_main_context_iteration (context, FALSE))
        ;

      g_main_context_pop_thread_default (context);
      g_main_context_unref (context);
      mw->scopes++;
    }

  g_rand_free (rand);
  return NULL;
}

static void
test_faults_mixed (Fixture       *f,
                   gconstpointer  data)
{
  MixedWorker workers[MIXED_THREADS];
  GThread *threads[MIXED_THREADS];
  TestLedgerTotals totals;
  guint seed = g_test_rand_int ();
  gint cancelled = 0;

  fixture_add (f, "mixed-sync", FALSE, 250, 0);
  fixture_add (f, "mixed-async", TRUE, 250, 0);
  fixture_add (f, "mixed-slow", TRUE, 100, 2);

  for (guint i = 0; i < MIXED_THREADS; i++)
    {
      workers[i] = (MixedWorker) { f, seed + i, 0, 0 };
      threads[i] = g_thread_new ("mixed", mixed_worker, &workers[i]);
    }
  for (guint i = 0; i < MIXED_THREADS; i++)
    {
      g_thread_join (threads[i]);
      cancelled += workers[i].cancelled;
    }

  tether_purge ();
  test_ledger_get_totals (f->ledger, &totals);
  g_test_message ("mixed: %d contexts, %d cancelled scopes, %" G_GUINT64_FORMAT " faults, %"
                  G_GUINT64_FORMAT " provider acquires cancelled",
                  MIXED_THREADS * MIXED_CONTEXTS, cancelled, totals.failed, totals.cancelled);
  g_assert_cmpuint (totals.failed, >, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/faults/manager/rollback-fraction", test_faults_rollback_fraction);
  ADD ("/faults/async/fail-after-delay", test_faults_async_fail_after_delay);
  ADD ("/faults/cancel/only-caller", test_faults_cancel_only_caller);
  ADD ("/faults/cancel/one-of-two", test_faults_cancel_one_of_two);
  ADD ("/faults/cancel/provider-ignores", test_faults_cancel_ignored);
  ADD ("/faults/cancel/manager", test_faults_cancel_manager);
  ADD ("/faults/blocking/other-contexts", test_faults_blocking);
  ADD ("/faults/mixed", test_faults_mixed);

#undef ADD

  return g_test_run ();
}
