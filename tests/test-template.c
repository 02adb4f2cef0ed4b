/* test-template.c: TetherTemplate — isolation, single flight, failures,
 * async, reentrancy, warnings
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

/* Per-context isolation: two contexts get two resources; the same context
 * gets the same pointer every time. */
static void
test_template_isolation (void)
{
  TestProvider *tp = test_provider_new ("iso");
  g_autoptr(TetherTemplate) template = test_provider_template (tp);
  g_autoptr(GMainContext) a = g_main_context_new ();
  g_autoptr(GMainContext) b = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  TestResource *ra, *ra2, *rb;

  tether_set_unmanaged_warning_enabled (FALSE);

  ra = tether_template_acquire (template, a, &error);
  g_assert_no_error (error);
  rb = tether_template_acquire (template, b, &error);
  g_assert_no_error (error);
  ra2 = tether_template_acquire (template, a, &error);
  g_assert_no_error (error);

  g_assert_nonnull (ra);
  g_assert_nonnull (rb);
  g_assert_true (ra != rb);
  g_assert_true (ra == ra2);
  g_assert_true (ra->context == a);
  g_assert_true (rb->context == b);
  /* The provider ran with the target context pushed as thread-default. */
  g_assert_true (ra->thread_default == a);
  g_assert_true (rb->thread_default == b);
  g_assert_cmpint (tp->n_acquire_calls, ==, 2);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 2);

  g_assert_true (tether_template_lookup (template, a) == ra);
  g_assert_true (tether_template_release (template, a, &error));
  g_assert_no_error (error);
  g_assert_null (tether_template_lookup (template, a));
  g_assert_true (tether_template_release (template, b, &error));
  g_assert_cmpint (tp->n_released_graceful, ==, 2);
  g_assert_cmpint (tp->n_wrong_context, ==, 0);
  g_assert_cmpint (tp->live, ==, 0);

  tether_template_unregister (template);
  tether_set_unmanaged_warning_enabled (TRUE);
  test_provider_free (tp);
}

/* NULL means the thread-default context, as
 * g_main_context_ref_thread_default() resolves it. */
static void
test_template_null_context (void)
{
  TestProvider *tp = test_provider_new ("null-ctx");
  g_autoptr(TetherTemplate) template = test_provider_template (tp);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  TestResource *r_default, *r_pushed;

  tether_set_unmanaged_warning_enabled (FALSE);

  r_default = tether_template_acquire (template, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (r_default->context == g_main_context_default ());

  g_main_context_push_thread_default (context);
  r_pushed = tether_template_acquire (template, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (r_pushed->context == context);
  g_assert_true (tether_template_lookup (template, NULL) == r_pushed);
  g_assert_true (tether_template_release (template, NULL, &error));
  g_main_context_pop_thread_default (context);

  g_assert_true (tether_template_lookup (template, NULL) == r_default);
  g_assert_true (tether_template_release (template, NULL, &error));
  g_assert_cmpint (tp->live, ==, 0);

  tether_template_unregister (template);
  tether_set_unmanaged_warning_enabled (TRUE);
  test_provider_free (tp);
}

static void
test_template_release_not_acquired (void)
{
  TestProvider *tp = test_provider_new ("not-acq");
  g_autoptr(TetherTemplate) template = test_provider_template (tp);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (tether_template_release (template, context, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED);
  g_assert_nonnull (strstr (error->message, "not-acq"));
  g_clear_error (&error);

  g_assert_nonnull (tether_template_acquire (template, context, &error));
  g_assert_true (tether_template_release (template, context, &error));
  /* Twice is an error too, and releases nothing more. */
  g_assert_false (tether_template_release (template, context, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED);
  g_assert_cmpint (tp->n_released_graceful, ==, 1);
  g_assert_cmpint (tp->n_double_release, ==, 0);

  tether_template_unregister (template);
  test_provider_free (tp);
}

/* Single flight: 16 threads race one context; the provider is called once
 * and everyone gets the same pointer. */
typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  gint            go;
  gpointer        results[16];
  GError         *errors[16];
  gint            index;
} RaceData;

static gpointer
race_thread (gpointer data)
{
  RaceData *rd = data;
  gint i = g_atomic_int_add (&rd->index, 1);

  while (!g_atomic_int_get (&rd->go))
    g_thread_yield ();

  rd->results[i] = tether_template_acquire (rd->template, rd->context, &rd->errors[i]);

  return NULL;
}

static void
run_race (RaceData *rd)
{
  GThread *threads[16];

  for (guint i = 0; i < 16; i++)
    threads[i] = g_thread_new ("race", race_thread, rd);
  g_atomic_int_set (&rd->go, 1);
  for (guint i = 0; i < 16; i++)
    g_thread_join (threads[i]);
}

static void
test_template_single_flight (void)
{
  TestProvider *tp = test_provider_new ("flight");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  RaceData rd = { 0 };

  tp->delay_ms = 50;  /* keep the flight open while the others arrive */
  template = test_provider_template (tp);
  rd.template = template;
  rd.context = context;

  run_race (&rd);

  g_assert_cmpint (tp->n_acquire_calls, ==, 1);
  g_assert_cmpint (tp->max_in_acquire, ==, 1);
  for (guint i = 0; i < 16; i++)
    {
      g_assert_no_error (rd.errors[i]);
      g_assert_true (rd.results[i] == rd.results[0]);
    }

  g_assert_true (tether_template_release (template, context, NULL));
  g_assert_cmpint (tp->live, ==, 0);
  tether_template_unregister (template);
  test_provider_free (tp);
}

/* A failure goes to every waiter, nothing is cached, and a retry works. */
static void
test_template_failure_all_waiters (void)
{
  TestProvider *tp = test_provider_new ("fail-all");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  RaceData rd = { 0 };
  gpointer resource;

  tp->delay_ms = 50;
  tp->fail_remaining = 1;
  template = test_provider_template (tp);
  rd.template = template;
  rd.context = context;

  run_race (&rd);

  g_assert_cmpint (tp->n_acquire_calls, ==, 1);
  for (guint i = 0; i < 16; i++)
    {
      g_assert_null (rd.results[i]);
      g_assert_error (rd.errors[i], G_IO_ERROR, G_IO_ERROR_FAILED);
      g_clear_error (&rd.errors[i]);
    }

  g_assert_null (tether_template_lookup (template, context));
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  tp->delay_ms = 0;
  resource = tether_template_acquire (template, context, &error);
  g_assert_no_error (error);
  g_assert_nonnull (resource);
  g_assert_cmpint (tp->n_acquire_calls, ==, 2);

  g_assert_true (tether_template_release (template, context, NULL));
  tether_template_unregister (template);
  test_provider_free (tp);
}

/* A slow acquire on context A does not delay context B. */
typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  gint64          elapsed_us;
} TimedAcquire;

static gpointer
timed_acquire_thread (gpointer data)
{
  TimedAcquire *ta = data;
  gint64 start = g_get_monotonic_time ();

  g_assert_nonnull (tether_template_acquire (ta->template, ta->context, NULL));
  ta->elapsed_us = g_get_monotonic_time () - start;

  return NULL;
}

static void
slow_for_context_a (TestProvider *tp,
                    GMainContext *context,
                    gpointer      data)
{
  if (context == data)
    g_usleep (G_USEC_PER_SEC);  /* one second, only for A */
}

static void
test_template_slow_does_not_block_other (void)
{
  TestProvider *tp = test_provider_new ("slow");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) a = g_main_context_new ();
  g_autoptr(GMainContext) b = g_main_context_new ();
  TimedAcquire ta = { 0 }, tb = { 0 };
  GThread *thread_a, *thread_b;

  tether_set_unmanaged_warning_enabled (FALSE);
  tp->acquire_hook = slow_for_context_a;
  tp->acquire_hook_data = a;
  template = test_provider_template (tp);
  ta.template = tb.template = template;
  ta.context = a;
  tb.context = b;

  thread_a = g_thread_new ("a", timed_acquire_thread, &ta);
  /* Wait until A is inside the provider. */
  while (g_atomic_int_get (&tp->in_acquire) == 0)
    g_usleep (1000);
  thread_b = g_thread_new ("b", timed_acquire_thread, &tb);
  g_thread_join (thread_b);
  /* B finished while A still sleeps in its provider. */
  g_assert_cmpint (g_atomic_int_get (&tp->in_acquire), ==, 1);
  g_thread_join (thread_a);

  g_assert_cmpint (ta.elapsed_us, >=, G_USEC_PER_SEC);
  g_assert_cmpint (tb.elapsed_us, <, G_USEC_PER_SEC / 2);

  g_assert_true (tether_template_release (template, a, NULL));
  g_assert_true (tether_template_release (template, b, NULL));
  tether_template_unregister (template);
  tether_set_unmanaged_warning_enabled (TRUE);
  test_provider_free (tp);
}

/* Async-only provider, served async: the callback arrives in the calling
 * thread-default context, the provider's completion in the target one. */
static void
on_acquired (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  gpointer *out = user_data;
  g_autoptr(GError) error = NULL;

  out[0] = tether_template_acquire_finish (TETHER_TEMPLATE (object), result, &error);
  out[1] = g_main_context_get_thread_default ();
  if (error != NULL)
    out[2] = g_steal_pointer (&error);
  g_atomic_int_set ((gint *) &out[3], 1);
}

static void
test_template_async_only (void)
{
  TestProvider *tp = test_provider_new ("async-only");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  gpointer out[4] = { NULL, NULL, NULL, NULL };
  TestResource *res, *sync_res;

  tp->async_only = TRUE;
  template = test_provider_template (tp);

  g_main_context_push_thread_default (context);
  tether_template_acquire_async (template, NULL, NULL, on_acquired, out);
  g_assert_true (test_iterate_until (context, (gint *) &out[3], 5000));
  g_main_context_pop_thread_default (context);

  g_assert_null (out[2]);
  res = out[0];
  g_assert_nonnull (res);
  g_assert_true (res->context == context);
  g_assert_true (out[1] == context);
  g_assert_cmpint (tp->n_acquire_calls, ==, 1);

  /* Served sync from the cache now. */
  g_assert_true (tether_template_acquire (template, context, &error) == res);
  g_assert_true (tether_template_release (template, context, NULL));

  /* Served sync from scratch: tether iterates the context it can own. */
  sync_res = tether_template_acquire (template, context, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sync_res);
  g_assert_true (sync_res->context == context);
  g_assert_cmpint (tp->n_acquire_calls, ==, 2);
  g_assert_true (tether_template_release (template, context, NULL));

  g_assert_cmpint (tp->live, ==, 0);
  tether_template_unregister (template);
  test_provider_free (tp);
}

/* Async-only, sync acquire for a context another thread owns: a clear
 * error, and nothing cached. */
typedef struct
{
  GMainContext *context;
  gint          owned;
  gint          stop;
} OwnerData;

static gpointer
owner_thread (gpointer data)
{
  OwnerData *od = data;

  g_main_context_acquire (od->context);
  g_atomic_int_set (&od->owned, 1);
  while (!g_atomic_int_get (&od->stop))
    g_usleep (1000);
  g_main_context_release (od->context);

  return NULL;
}

static void
test_template_async_only_would_block (void)
{
  TestProvider *tp = test_provider_new ("async-block");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  OwnerData od = { context, 0, 0 };
  GThread *thread;

  tp->async_only = TRUE;
  template = test_provider_template (tp);

  thread = g_thread_new ("owner", owner_thread, &od);
  while (!g_atomic_int_get (&od.owned))
    g_usleep (1000);

  g_assert_null (tether_template_acquire (template, context, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK);
  g_assert_cmpint (tp->n_acquire_calls, ==, 0);
  g_assert_null (tether_template_lookup (template, context));

  g_atomic_int_set (&od.stop, 1);
  g_thread_join (thread);

  tether_template_unregister (template);
  test_provider_free (tp);
}

/* Reentrancy: a provider acquires another template inside its acquire, and
 * releases it inside its release, without deadlock. */
static void
acquire_other (TestProvider *tp,
               GMainContext *context,
               gpointer      data)
{
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (tether_template_acquire (data, context, &error));
  g_assert_no_error (error);
}

static void
release_other (TestProvider *tp,
               GMainContext *context,
               gpointer      data)
{
  if (context != NULL)
    tether_template_release (data, context, NULL);
}

static void
test_template_reentrant (void)
{
  TestProvider *inner_tp = test_provider_new ("inner");
  TestProvider *outer_tp = test_provider_new ("outer");
  g_autoptr(TetherTemplate) inner = test_provider_template (inner_tp);
  g_autoptr(TetherTemplate) outer = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  outer_tp->acquire_hook = acquire_other;
  outer_tp->acquire_hook_data = inner;
  outer_tp->release_hook = release_other;
  outer_tp->release_hook_data = inner;
  outer = test_provider_template (outer_tp);

  g_assert_nonnull (tether_template_acquire (outer, context, &error));
  g_assert_no_error (error);
  g_assert_nonnull (tether_template_lookup (inner, context));
  g_assert_cmpint (inner_tp->n_acquired, ==, 1);

  g_assert_true (tether_template_release (outer, context, &error));
  g_assert_null (tether_template_lookup (inner, context));
  g_assert_cmpint (inner_tp->n_released_graceful, ==, 1);
  g_assert_cmpint (outer_tp->n_released_graceful, ==, 1);

  tether_template_unregister (inner);
  tether_template_unregister (outer);
  test_provider_free (inner_tp);
  test_provider_free (outer_tp);
}

/* A provider asking for its own resource from inside its acquire gets
 * TETHER_ERROR_RECURSIVE instead of a deadlock. */
static void
acquire_self (TestProvider *tp,
              GMainContext *context,
              gpointer      data)
{
  gpointer *hook_data = data;

  g_assert_null (tether_template_acquire (hook_data[1], context, (GError **) &hook_data[0]));
}

static void
test_template_recursive (void)
{
  TestProvider *tp = test_provider_new ("recursive");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  gpointer hook_data[2] = { NULL, NULL };

  tp->acquire_hook = acquire_self;
  tp->acquire_hook_data = hook_data;
  template = test_provider_template (tp);
  hook_data[1] = template;

  g_assert_nonnull (tether_template_acquire (template, context, NULL));
  g_assert_error ((GError *) hook_data[0], TETHER_ERROR, TETHER_ERROR_RECURSIVE);
  g_clear_error ((GError **) &hook_data[0]);

  g_assert_true (tether_template_release (template, context, NULL));
  tether_template_unregister (template);
  test_provider_free (tp);
}

/* A provider that breaks its contract is reported, nothing is cached and
 * nothing leaks. */
static void
test_template_invalid_result (void)
{
  TestProvider *tp = test_provider_new ("liar");
  g_autoptr(TetherTemplate) template = test_provider_template (tp);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  tp->return_null_no_error = TRUE;
  g_assert_null (tether_template_acquire (template, context, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT);
  g_assert_nonnull (strstr (error->message, "liar"));
  g_clear_error (&error);

  tp->return_null_no_error = FALSE;
  tp->return_value_and_error = TRUE;
  g_assert_null (tether_template_acquire (template, context, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT);
  g_assert_nonnull (strstr (error->message, "value and error"));
  g_assert_nonnull (strstr (error->message, "from its acquire and"));
  g_assert_cmpint (tp->live, ==, 0);           /* the value was released */
  g_assert_cmpint (tp->n_released_graceful, ==, 1);
  g_assert_null (tether_template_lookup (template, context));

  tether_template_unregister (template);
  test_provider_free (tp);
}

/* The same from acquire_finish: the message names acquire_finish. */
static void
test_template_invalid_result_async (void)
{
  TestProvider *tp = test_provider_new ("liar-async");
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  tp->async_only = TRUE;
  tp->return_value_and_error = TRUE;
  template = test_provider_template (tp);
  g_main_context_push_thread_default (context);
  g_assert_null (tether_template_acquire (template, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT);
  g_assert_nonnull (strstr (error->message, "from its acquire_finish and"));
  g_assert_nonnull (strstr (error->message, "acquire_finish must do one or the other"));
  g_assert_cmpint (tp->live, ==, 0);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  test_provider_finish (tp, template);
}

/* The warning appears once per context, when a template is acquired for a
 * second distinct context that has no manager. */
static void
test_template_warning_once (void)
{
  TestProvider *tp = test_provider_new ("warned");
  g_autoptr(TetherTemplate) template = test_provider_template (tp);
  TestProvider *tp2 = test_provider_new ("warned2");
  g_autoptr(TetherTemplate) template2 = test_provider_template (tp2);
  g_autoptr(GMainContext) a = g_main_context_new ();
  g_autoptr(GMainContext) b = g_main_context_new ();

  tether_set_unmanaged_warning_enabled (TRUE);

  /* The first context: no warning. */
  g_assert_nonnull (tether_template_acquire (template, a, NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message ("Tether", G_LOG_LEVEL_WARNING,
                         "*Template 'warned' is being acquired for context*second distinct context*");
  g_assert_nonnull (tether_template_acquire (template, b, NULL));
  g_test_assert_expected_messages ();

  /* Once per context: a second template on b is silent (any warning here
   * would abort the test, warnings being fatal). */
  g_assert_nonnull (tether_template_acquire (template2, a, NULL));
  g_assert_nonnull (tether_template_acquire (template2, b, NULL));

  /* Silenced: a third context gives nothing. */
  {
    g_autoptr(GMainContext) c = g_main_context_new ();

    tether_set_unmanaged_warning_enabled (FALSE);
    g_assert_nonnull (tether_template_acquire (template, c, NULL));
    tether_set_unmanaged_warning_enabled (TRUE);
    g_assert_true (tether_template_release (template, c, NULL));
  }

  g_assert_true (tether_template_release (template, a, NULL));
  g_assert_true (tether_template_release (template, b, NULL));
  g_assert_true (tether_template_release (template2, a, NULL));
  g_assert_true (tether_template_release (template2, b, NULL));
  tether_template_unregister (template);
  tether_template_unregister (template2);
  test_provider_free (tp);
  test_provider_free (tp2);
}

/* Racing async and sync callers share one flight. */
static void
test_template_async_sync_share_flight (void)
{
  TestProvider *tp = test_provider_new ("mixed");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  gpointer out[4] = { NULL, NULL, NULL, NULL };
  TestResource *sync_res;

  tp->async_only = TRUE;
  tp->delay_ms = 20;
  template = test_provider_template (tp);

  g_main_context_push_thread_default (context);
  tether_template_acquire_async (template, NULL, NULL, on_acquired, out);
  /* A sync acquire joins the flight, iterating the context it owns. */
  sync_res = tether_template_acquire (template, NULL, NULL);
  g_assert_true (test_iterate_until (context, (gint *) &out[3], 5000));
  g_main_context_pop_thread_default (context);

  g_assert_nonnull (sync_res);
  g_assert_true (out[0] == sync_res);
  g_assert_cmpint (tp->n_acquire_calls, ==, 1);

  g_assert_true (tether_template_release (template, context, NULL));
  tether_template_unregister (template);
  test_provider_free (tp);
}

/* Cancelling the only async waiter cancels the provider's acquire, and
 * nothing is cached. */
static void
test_template_async_cancel (void)
{
  TestProvider *tp = test_provider_new ("cancel");
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gpointer out[4] = { NULL, NULL, NULL, NULL };

  tp->async_only = TRUE;
  tp->delay_ms = 200;
  template = test_provider_template (tp);

  g_main_context_push_thread_default (context);
  tether_template_acquire_async (template, NULL, cancellable, on_acquired, out);
  g_cancellable_cancel (cancellable);
  g_assert_true (test_iterate_until (context, (gint *) &out[3], 5000));

  g_assert_null (out[0]);
  g_assert_error ((GError *) out[2], G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error ((GError **) &out[2]);

  /* Let the provider's own (cancelled) completion run. */
  while (g_main_context_pending (context) || tether_template_lookup (template, NULL) != NULL)
    g_main_context_iteration (context, FALSE);
  g_usleep (250 * 1000);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  g_assert_null (tether_template_lookup (template, context));
  g_assert_cmpint (tp->live, ==, 0);

  tether_template_unregister (template);
  test_provider_free (tp);
}

static void
test_template_registry (void)
{
  TestProvider *tp = test_provider_new ("registry");
  g_autoptr(TetherTemplate) template = test_provider_template (tp);
  g_autoptr(GPtrArray) templates = tether_dup_templates ();
  gboolean found = FALSE;

  for (guint i = 0; i < templates->len; i++)
    found |= g_ptr_array_index (templates, i) == template;
  g_assert_true (found);
  g_assert_true (tether_template_is_registered (template));
  g_assert_cmpstr (tether_template_get_name (template), ==, "registry");

  g_assert_true (tether_template_unregister (template));
  g_assert_false (tether_template_unregister (template));
  g_assert_false (tether_template_is_registered (template));

  g_clear_pointer (&templates, g_ptr_array_unref);
  templates = tether_dup_templates ();
  for (guint i = 0; i < templates->len; i++)
    g_assert_true (g_ptr_array_index (templates, i) != template);

  test_provider_free (tp);
}

/* An invalid provider is a programmer error: a critical, and NULL. */
static void
test_template_invalid_provider (void)
{
  if (g_test_subprocess ())
    {
      TetherProvider provider = {
        .abi_version = TETHER_PROVIDER_ABI_VERSION,
        .struct_size = sizeof (TetherProvider),
        .name = "no-acquire",
      };

      g_assert_null (tether_template_new (&provider, NULL));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*neither acquire nor the complete*");
}

/* An asynchronous acquire returns to its caller at once: a provider with
 * only a synchronous acquire runs from the context's dispatch, later. */
static void
on_async_never_blocks (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  gpointer *out = user_data;

  out[0] = tether_template_acquire_finish (TETHER_TEMPLATE (object), result, NULL);
  g_atomic_int_set ((gint *) &out[1], 1);
}

static void
test_template_async_never_blocks (void)
{
  TestProvider *tp = test_provider_new ("never-blocks");
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  gpointer out[2] = { NULL, NULL };

  tp->vtable.acquire_async = NULL;
  tp->vtable.acquire_finish = NULL;
  template = test_provider_template (tp);
  g_main_context_push_thread_default (context);

  tether_template_acquire_async (template, NULL, NULL, on_async_never_blocks, out);
  /* Returned before the provider ran. */
  g_assert_cmpint (g_atomic_int_get (&tp->n_acquire_calls), ==, 0);
  g_assert_true (test_iterate_until (context, (gint *) &out[1], 5000));
  g_assert_cmpint (g_atomic_int_get (&tp->n_acquire_calls), ==, 1);
  g_assert_nonnull (out[0]);
  /* It ran with the context pushed, on the thread iterating it. */
  g_assert_true (((TestResource *) out[0])->thread_default == context);

  g_assert_true (tether_template_release (template, NULL, NULL));
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  test_provider_finish (tp, template);
}

/* Discarding a resource that died on its own: exactly that one, once; the
 * next acquire makes a new one (also on the thread whose cache held the
 * old one); the old one is released ungracefully by the purge. */
static gpointer
discard_from_thread (gpointer data)
{
  gpointer *args = data;

  return GINT_TO_POINTER (tether_template_discard (args[0], args[1], args[2]));
}

static void
test_template_discard (void)
{
  TestProvider *tp = test_provider_new ("discarded");
  TetherTemplate *template = test_provider_template (tp);
  GMainContext *context = g_main_context_new ();
  g_autoptr(TetherTemplateStats) stats = NULL;
  TestResource *first, *second, *third;
  int other;
  gpointer args[3];

  tether_set_unmanaged_warning_enabled (FALSE);
  g_main_context_push_thread_default (context);
  first = tether_template_acquire (template, NULL, NULL);
  g_assert_nonnull (first);

  /* Not what is held: nothing happens. */
  g_assert_false (tether_template_discard (template, NULL, &other));
  g_assert_true (tether_template_acquire (template, NULL, NULL) == first);

  g_assert_true (tether_template_discard (template, NULL, first));
  g_assert_null (tether_template_lookup (template, NULL));
  /* A late second discard of the same resource does nothing. */
  g_assert_false (tether_template_discard (template, NULL, first));
  second = tether_template_acquire (template, NULL, NULL);
  g_assert_nonnull (second);
  g_assert_true (second != first);
  g_assert_cmpint (first->released, ==, 0);
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 1);

  /* From another thread, while this one has it cached. */
  args[0] = template;
  args[1] = context;
  args[2] = second;
  g_assert_true (GPOINTER_TO_INT (g_thread_join (g_thread_new ("discard", discard_from_thread,
                                                               args))));
  third = tether_template_acquire (template, NULL, NULL);
  g_assert_true (third != second && third != first);

  g_assert_cmpuint (tether_purge (), ==, 2);
  g_assert_cmpint (tp->n_released_ungraceful, ==, 2);
  stats = tether_template_get_stats (template);
  g_assert_cmpuint (stats->purged, ==, 2);
  g_assert_cmpuint (stats->ungraceful_releases, ==, 2);
  g_assert_cmpuint (stats->n_held, ==, 1);

  g_assert_true (tether_template_release (template, NULL, NULL));
  g_assert_cmpint (tp->n_released_graceful, ==, 1);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  tether_set_unmanaged_warning_enabled (TRUE);
  test_provider_finish (tp, template);
}

/* Inside a scope: the manager's release releases what replaced the
 * discarded resource, and only it. */
static void
test_template_discard_in_scope (void)
{
  TestProvider *tp = test_provider_new ("discarded-in-scope");
  TetherTemplate *template = test_provider_template (tp);
  GMainContext *context = g_main_context_new ();
  g_autoptr(TetherManager) manager = NULL;
  gpointer first;

  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, NULL));
  first = tether_template_lookup (template, NULL);
  g_assert_true (tether_template_discard (template, NULL, first));
  g_assert_true (tether_template_acquire (template, NULL, NULL) != first);
  tether_manager_release (manager);
  g_assert_cmpint (tp->n_released_graceful, ==, 1);
  g_assert_cmpuint (tether_purge (), ==, 1);
  g_assert_cmpint (tp->n_released_ungraceful, ==, 1);

  g_clear_object (&manager);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  test_provider_finish (tp, template);
}

/* A provider that watches its resources (ABI 1.2) discards one that died
 * on its own: taken off at once, replaced at the next acquire, released
 * ungracefully by the purge; a second discard does nothing. */
static void
test_template_watch_discard (void)
{
  TestProvider *tp = test_provider_new ("watched");
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  TestResource *first, *second;

  tp->watch = TRUE;
  template = test_provider_template (tp);
  g_main_context_push_thread_default (context);
  tether_set_unmanaged_warning_enabled (FALSE);

  first = tether_template_acquire (template, NULL, NULL);
  g_assert_nonnull (first);
  g_assert_nonnull (first->watch);
  first->watch->discard (first->watch);
  first->watch->discard (first->watch);
  g_assert_null (tether_template_lookup (template, NULL));

  second = tether_template_acquire (template, NULL, NULL);
  g_assert_true (second != first);
  g_assert_cmpuint (tether_purge (), ==, 1);
  g_assert_cmpint (tp->n_released_ungraceful, ==, 1);

  /* Released the usual way: its watch goes with it. */
  g_assert_true (tether_template_release (template, NULL, NULL));
  g_assert_cmpint (tp->n_released_graceful, ==, 1);

  tether_set_unmanaged_warning_enabled (TRUE);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  test_provider_finish (tp, template);
}

/* Discarded before it was handed out (from the watch function itself):
 * the acquire fails, the resource is released, nothing is held. */
static void
test_template_watch_discard_before_handed_out (void)
{
  TestProvider *tp = test_provider_new ("watched-early");
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplateStats) stats = NULL;

  tp->watch = TRUE;
  tp->discard_in_watch = TRUE;
  template = test_provider_template (tp);

  g_assert_null (tether_template_acquire (template, context, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_cmpint (tp->n_acquired, ==, 1);
  g_assert_cmpint (tp->n_released_ungraceful, ==, 1);
  g_assert_cmpint (tp->live, ==, 0);
  g_assert_null (tether_template_lookup (template, context));
  stats = tether_template_get_stats (template);
  g_assert_cmpuint (stats->failures, ==, 1);
  g_assert_cmpuint (stats->n_held, ==, 0);

  g_main_context_unref (context);
  test_provider_finish (tp, template);
}

static void
test_template_warning_switch (void)
{
  gboolean was = tether_get_unmanaged_warning_enabled ();

  tether_set_unmanaged_warning_enabled (FALSE);
  g_assert_false (tether_get_unmanaged_warning_enabled ());
  tether_set_unmanaged_warning_enabled (TRUE);
  g_assert_true (tether_get_unmanaged_warning_enabled ());
  tether_set_unmanaged_warning_enabled (was);
}

static void
test_template_find (void)
{
  TestProvider *tp = test_provider_new ("findable");
  TetherTemplate *template = test_provider_template (tp);
  TetherTemplate *found = tether_find_template ("findable");

  g_assert_true (found == template);
  g_object_unref (found);
  g_assert_null (tether_find_template ("no-such-template"));
  tether_template_unregister (template);
  g_assert_null (tether_find_template ("findable"));
  test_provider_finish (tp, template);
}

/* A critical names the public function the caller called. */
static void
test_template_critical_names_public_function (void)
{
  g_autoptr(GCancellable) not_a_template = g_cancellable_new ();

  g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL,
                         "tether_template_acquire: assertion 'TETHER_IS_TEMPLATE (self)' failed");
  g_assert_null (tether_template_acquire ((TetherTemplate *) not_a_template, NULL, NULL));
  g_test_assert_expected_messages ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/template/acquire/isolation", test_template_isolation);
  g_test_add_func ("/template/acquire/null-context", test_template_null_context);
  g_test_add_func ("/template/acquire/single-flight", test_template_single_flight);
  g_test_add_func ("/template/acquire/failure-reaches-all-waiters", test_template_failure_all_waiters);
  g_test_add_func ("/template/acquire/slow-context-does-not-block-other", test_template_slow_does_not_block_other);
  g_test_add_func ("/template/acquire/reentrant", test_template_reentrant);
  g_test_add_func ("/template/acquire/recursive", test_template_recursive);
  g_test_add_func ("/template/acquire/invalid-result", test_template_invalid_result);
  g_test_add_func ("/template/acquire/invalid-result-async", test_template_invalid_result_async);
  g_test_add_func ("/template/async/async-only", test_template_async_only);
  g_test_add_func ("/template/async/async-only-would-block", test_template_async_only_would_block);
  g_test_add_func ("/template/async/shared-flight", test_template_async_sync_share_flight);
  g_test_add_func ("/template/async/cancel", test_template_async_cancel);
  g_test_add_func ("/template/async/never-blocks", test_template_async_never_blocks);
  g_test_add_func ("/template/discard/exact", test_template_discard);
  g_test_add_func ("/template/discard/in-scope", test_template_discard_in_scope);
  g_test_add_func ("/template/find", test_template_find);
  g_test_add_func ("/template/watch/discard", test_template_watch_discard);
  g_test_add_func ("/template/watch/discard-before-handed-out",
                   test_template_watch_discard_before_handed_out);
  g_test_add_func ("/template/warning/switch", test_template_warning_switch);
  g_test_add_func ("/template/critical-names-public-function",
                   test_template_critical_names_public_function);
  g_test_add_func ("/template/release/not-acquired", test_template_release_not_acquired);
  g_test_add_func ("/template/warning/once-per-context", test_template_warning_once);
  g_test_add_func ("/template/registry", test_template_registry);
  g_test_add_func ("/template/new/invalid-provider", test_template_invalid_provider);

  return g_test_run ();
}
