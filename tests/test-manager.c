/* test-manager.c: TetherManager — scope, wrong context, already managed,
 * exist-ok, rollback, LIFO, run helpers
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-util.h"

#include "tether-janitor-private.h"   /* a context's record, for tests */

typedef struct
{
  TestProvider   *tp[3];
  TetherTemplate *templates[3];
  GArray         *order;
  GMainContext   *context;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  static const char *names[] = { "alpha", "bravo", "charlie" };

  test_reset_global_state ();

  f->order = g_array_new (FALSE, FALSE, sizeof (gint));
  for (guint i = 0; i < 3; i++)
    {
      f->tp[i] = test_provider_new (names[i]);
      f->tp[i]->order_log = f->order;
      f->templates[i] = test_provider_template (f->tp[i]);
    }

  f->context = g_main_context_new ();
  g_main_context_push_thread_default (f->context);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
  tether_purge ();

  for (guint i = 0; i < 3; i++)
    test_provider_finish (f->tp[i], f->templates[i]);
  g_array_unref (f->order);
}

/* Acquire in registration order, release in reverse. */
static void
test_manager_lifo (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_manager_get_context (manager) == f->context);
  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  g_assert_true (tether_manager_is_active (manager));

  for (guint i = 0; i < 3; i++)
    g_assert_nonnull (tether_template_lookup (f->templates[i], f->context));

  tether_manager_release (manager);
  g_assert_false (tether_manager_is_active (manager));
  test_assert_order (f->order, "+a+b+c-c-b-a");

  for (guint i = 0; i < 3; i++)
    {
      g_assert_null (tether_template_lookup (f->templates[i], f->context));
      g_assert_cmpint (f->tp[i]->n_released_graceful, ==, 1);
    }
}

/* Release is LIFO by acquisition, including templates first used (or
 * registered) after the manager entered. */
static void
test_manager_lifo_late (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  TestProvider *late_tp = test_provider_new ("delta");
  g_autoptr(TetherTemplate) late = NULL;

  /* charlie unregistered: not acquired on entry, but used inside. */
  tether_template_unregister (f->templates[2]);

  g_assert_true (tether_manager_acquire (manager, NULL));
  late_tp->order_log = f->order;
  late = test_provider_template (late_tp);
  g_assert_nonnull (tether_template_acquire (late, NULL, NULL));
  g_assert_nonnull (tether_template_acquire (f->templates[2], NULL, NULL));
  tether_manager_release (manager);

  test_assert_order (f->order, "+a+b+d+c-c-d-b-a");
  g_assert_cmpint (late_tp->live, ==, 0);

  tether_template_unregister (late);
  test_provider_free (late_tp);
}

static void
test_manager_wrong_context (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GMainContext) other = g_main_context_new ();
  g_autoptr(TetherManager) manager = tether_manager_new (other, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;

  g_assert_false (tether_manager_acquire (manager, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT);
  g_assert_false (tether_manager_is_active (manager));
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (f->tp[i]->n_acquire_calls, ==, 0);
}

static void
test_manager_already_managed (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TetherManager) first = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(TetherManager) second = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) managed = NULL;

  g_assert_true (tether_manager_acquire (first, NULL));
  g_assert_false (tether_manager_acquire (second, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_MANAGED);
  g_assert_false (tether_manager_is_active (second));

  managed = tether_dup_managed_contexts ();
  g_assert_cmpuint (managed->len, ==, 1);
  g_assert_true (g_ptr_array_index (managed, 0) == f->context);
  g_clear_pointer (&managed, g_ptr_array_unref);

  tether_manager_release (first);
  managed = tether_dup_managed_contexts ();
  g_assert_cmpuint (managed->len, ==, 0);
}

/* EXIST_OK: a no-op scope whose release does nothing. */
static void
test_manager_exist_ok (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(TetherManager) outer = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(TetherManager) inner = tether_manager_new (NULL, TETHER_MANAGER_EXIST_OK);
  gboolean exist_ok = FALSE;

  g_object_get (inner, "exist-ok", &exist_ok, NULL);
  g_assert_true (exist_ok);
  g_assert_true (tether_manager_get_exist_ok (inner));

  g_assert_true (tether_manager_acquire (outer, NULL));
  g_assert_true (tether_manager_acquire (inner, NULL));
  g_assert_true (tether_manager_is_noop (inner));
  tether_manager_release (inner);

  for (guint i = 0; i < 3; i++)
    {
      g_assert_nonnull (tether_template_lookup (f->templates[i], NULL));
      g_assert_cmpint (f->tp[i]->n_released_graceful, ==, 0);
      g_assert_cmpint (f->tp[i]->n_acquire_calls, ==, 1);
    }

  tether_manager_release (outer);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (f->tp[i]->n_released_graceful, ==, 1);
}

/* A failing template rolls back exactly what this manager acquired, in
 * reverse, and leaves the context unmanaged. */
static void
test_manager_rollback (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) managed = NULL;

  f->tp[2]->fail_remaining = 1;

  g_assert_false (tether_manager_acquire (manager, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "charlie"));
  g_assert_false (tether_manager_is_active (manager));

  test_assert_order (f->order, "+a+b-b-a");
  g_assert_cmpint (f->tp[0]->n_acquired, ==, 1);
  g_assert_cmpint (f->tp[1]->n_acquired, ==, 1);
  g_assert_cmpint (f->tp[2]->n_acquired, ==, 0);
  g_assert_cmpint (f->tp[0]->n_released_graceful, ==, 1);
  g_assert_cmpint (f->tp[1]->n_released_graceful, ==, 1);
  g_assert_cmpint (f->tp[2]->n_acquire_calls, ==, 1);

  managed = tether_dup_managed_contexts ();
  g_assert_cmpuint (managed->len, ==, 0);

  /* The next attempt works: nothing was cached. */
  g_clear_error (&error);
  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  tether_manager_release (manager);
}

/* Rollback leaves alone what was held before the manager came. */
static void
test_manager_rollback_keeps_prior (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  gpointer prior;

  prior = tether_template_acquire (f->templates[0], NULL, NULL);
  f->tp[2]->fail_remaining = 1;

  g_assert_false (tether_manager_acquire (manager, &error));
  g_assert_true (tether_template_lookup (f->templates[0], NULL) == prior);
  g_assert_null (tether_template_lookup (f->templates[1], NULL));
  g_assert_cmpint (f->tp[0]->n_released_graceful, ==, 0);
  g_assert_cmpint (f->tp[1]->n_released_graceful, ==, 1);

  g_assert_true (tether_template_release (f->templates[0], NULL, NULL));
}

static void
on_manager_acquired (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  gpointer *out = user_data;

  out[0] = GINT_TO_POINTER (tether_manager_acquire_finish (TETHER_MANAGER (object), result,
                                                            (GError **) &out[1]));
  g_atomic_int_set ((gint *) &out[2], 1);
}

static void
test_manager_acquire_async (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  gpointer out[3] = { NULL, NULL, NULL };

  tether_manager_acquire_async (manager, NULL, on_manager_acquired, out);
  g_assert_true (test_iterate_until (f->context, (gint *) &out[2], 5000));
  g_assert_no_error ((GError *) out[1]);
  g_assert_true (GPOINTER_TO_INT (out[0]));
  g_assert_true (tether_manager_is_active (manager));
  for (guint i = 0; i < 3; i++)
    g_assert_nonnull (tether_template_lookup (f->templates[i], NULL));

  tether_manager_release (manager);
  test_assert_order (f->order, "+a+b+c-c-b-a");
}

static void
test_manager_acquire_async_rollback (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  gpointer out[3] = { NULL, NULL, NULL };

  f->tp[2]->fail_remaining = 1;
  tether_manager_acquire_async (manager, NULL, on_manager_acquired, out);
  g_assert_true (test_iterate_until (f->context, (gint *) &out[2], 5000));
  g_assert_false (GPOINTER_TO_INT (out[0]));
  g_assert_error ((GError *) out[1], G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error ((GError **) &out[1]);
  test_assert_order (f->order, "+a+b-b-a");
  g_assert_false (tether_manager_is_active (manager));
}

/* Releasing twice, or from the wrong thread, is a programmer error. */
static void
test_manager_release_twice (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);

  g_assert_true (tether_manager_acquire (manager, NULL));
  tether_manager_release (manager);

  g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, "*is not active*");
  tether_manager_release (manager);
  g_test_assert_expected_messages ();

  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (f->tp[i]->n_released_graceful, ==, 1);
}

static gpointer
release_from_thread (gpointer data)
{
  tether_manager_release (data);
  return NULL;
}

static void
test_manager_release_other_thread (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);

  g_assert_true (tether_manager_acquire (manager, NULL));

  g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, "*released from a thread*");
  g_thread_join (g_thread_new ("other", release_from_thread, manager));
  g_test_assert_expected_messages ();

  /* Nothing was released, the manager is still active. */
  g_assert_true (tether_manager_is_active (manager));
  for (guint i = 0; i < 3; i++)
    g_assert_nonnull (tether_template_lookup (f->templates[i], f->context));

  tether_manager_release (manager);
}

/* Dropping an active manager releases it (g_autoptr scopes). */
static void
test_manager_dispose_releases (Fixture       *f,
                               gconstpointer  data)
{
  {
    g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
    g_assert_true (tether_manager_acquire (manager, NULL));
  }

  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (f->tp[i]->n_released_graceful, ==, 1);
}

static gboolean
scope_fails (gpointer   user_data,
             GError   **error)
{
  Fixture *f = user_data;

  for (guint i = 0; i < 3; i++)
    g_assert_nonnull (tether_template_lookup (f->templates[i], NULL));

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "scope failed");
  return FALSE;
}

static gboolean
scope_fails_silently (gpointer   user_data,
                      GError   **error)
{
  return FALSE;
}

static void
test_manager_run_releases_on_failure (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (tether_manager_run (NULL, TETHER_MANAGER_NONE, scope_fails, f, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (f->tp[i]->n_released_graceful, ==, 1);

  g_clear_error (&error);
  g_assert_false (tether_manager_run (NULL, TETHER_MANAGER_NONE, scope_fails_silently, f, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_FAILED);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (f->tp[i]->n_released_graceful, ==, 2);
}

typedef struct
{
  Fixture      *f;
  GMainContext *seen_context;
  GMainContext *resource_contexts[3];
} NewContextData;

static gboolean
scope_in_new_context (gpointer   user_data,
                      GError   **error)
{
  NewContextData *data = user_data;

  data->seen_context = g_main_context_get_thread_default ();
  for (guint i = 0; i < 3; i++)
    {
      TestResource *res = tether_template_lookup (data->f->templates[i], NULL);

      g_assert_nonnull (res);
      data->resource_contexts[i] = res->context;
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "failed inside");
  return FALSE;
}

static void
test_manager_run_in_new_context (Fixture       *f,
                                 gconstpointer  data)
{
  NewContextData ncd = { f, NULL, { NULL } };
  g_autoptr(GError) error = NULL;

  g_assert_false (tether_run_in_new_context (scope_in_new_context, &ncd, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);

  g_assert_nonnull (ncd.seen_context);
  g_assert_true (ncd.seen_context != f->context);
  g_assert_true (g_main_context_get_thread_default () == f->context);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (ncd.resource_contexts[i] == ncd.seen_context);
      g_assert_cmpint (f->tp[i]->n_released_graceful, ==, 1);
      g_assert_cmpint (f->tp[i]->n_released_ungraceful, ==, 0);
    }
  /* Nothing left to purge: the context was cleaned up, then freed. */
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 0);
}

/* A manager entered acquires nothing more for templates already held. */
static void
test_manager_properties (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (f->context, TETHER_MANAGER_EXIST_OK);
  g_autoptr(GMainContext) context = NULL;
  TetherManagerFlags flags;

  g_object_get (manager, "context", &context, "flags", &flags, NULL);
  g_assert_true (context == f->context);
  g_assert_cmpint (flags, ==, TETHER_MANAGER_EXIST_OK);
  g_assert_cmpint (tether_manager_get_flags (manager), ==, TETHER_MANAGER_EXIST_OK);
}

/* A GTask worker, with no thread-default context of its own, while the
 * main thread runs a GMainLoop on the global default: NULL means the
 * global default there, which the main thread owns. Its manager refuses
 * it, naming the fix, instead of making and later releasing the main
 * thread's resources from the worker. */
typedef struct
{
  GMainLoop *loop;
  GError    *error;
  gboolean   entered;
  gint       calls_before;
  gint       calls_after;
  TestProvider *tp;
} OwnedElsewhere;

static void
owned_elsewhere_thread (GTask        *task,
                        gpointer      source,
                        gpointer      data,
                        GCancellable *cancellable)
{
  OwnedElsewhere *o = data;
  g_autoptr(TetherManager) manager = NULL;

  g_assert_null (g_main_context_get_thread_default ());
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_get_context (manager) == g_main_context_default ());
  o->calls_before = g_atomic_int_get (&o->tp->n_acquire_calls);
  o->entered = tether_manager_acquire (manager, &o->error);
  o->calls_after = g_atomic_int_get (&o->tp->n_acquire_calls);
  if (o->entered)
    tether_manager_release (manager);
  g_task_return_boolean (task, TRUE);
}

static void
owned_elsewhere_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  g_main_loop_quit (((OwnedElsewhere *) data)->loop);
}

/* Whether a context is managed: while a manager's scope is entered. */
static void
test_manager_is_managed (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GMainContext) other = g_main_context_new ();

  g_assert_false (tether_is_managed (NULL));
  g_assert_true (tether_manager_acquire (manager, NULL));
  g_assert_true (tether_is_managed (NULL));
  g_assert_true (tether_is_managed (f->context));
  g_assert_false (tether_is_managed (other));
  tether_manager_release (manager);
  g_assert_false (tether_is_managed (f->context));
}

/* Started from inside the main loop, so that the main thread owns the
 * global default context by the time the worker asks. */
static gboolean
start_owned_elsewhere (gpointer data)
{
  OwnedElsewhere *o = data;
  g_autoptr(GTask) task = g_task_new (NULL, NULL, owned_elsewhere_done, o);

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_task_set_task_data (task, o, NULL);
  g_task_run_in_thread (task, owned_elsewhere_thread);
  return G_SOURCE_REMOVE;
}

static void
test_manager_owned_by_another_thread (Fixture       *f,
                                      gconstpointer  data)
{
  OwnedElsewhere o = { 0 };

  o.tp = f->tp[0];
  /* The main thread iterates the global default context. */
  g_main_context_pop_thread_default (f->context);
  o.loop = g_main_loop_new (NULL, FALSE);
  g_idle_add (start_owned_elsewhere, &o);
  g_main_loop_run (o.loop);
  g_main_loop_unref (o.loop);
  g_main_context_push_thread_default (f->context);

  g_assert_false (o.entered);
  g_assert_error (o.error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT);
  g_assert_nonnull (strstr (o.error->message, "another thread owns it"));
  g_assert_nonnull (strstr (o.error->message, "tether_run_in_new_context"));
  /* Nothing was acquired for the main thread's context from the worker. */
  g_assert_cmpint (o.calls_after, ==, o.calls_before);
  g_assert_null (tether_template_lookup (f->templates[0], g_main_context_default ()));
  g_clear_error (&o.error);
}

/* What a provider's release leaves in its context: an idle holding a
 * reference on the context, as GDBus queues its "closed" emission. */
static gboolean
queued_by_release (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
queue_idle_hook (TestProvider *tp,
                 GMainContext *context,
                 gpointer      data)
{
  GSource *source;

  if (context == NULL)
    return;
  source = g_idle_source_new ();
  g_source_set_callback (source, queued_by_release, g_main_context_ref (context),
                         (GDestroyNotify) g_main_context_unref);
  g_source_attach (source, context);
  g_source_unref (source);
}

static gboolean
do_nothing_scope (gpointer   user_data,
                  GError   **error)
{
  GMainContext **seen = user_data;

  *seen = g_main_context_get_thread_default ();
  return TRUE;
}

/* tether_run_in_new_context() dispatches what the releases queued before
 * it drops the context: the context dies with the call. */
static void
test_manager_run_in_new_context_drains (Fixture       *f,
                                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GMainContext *seen = NULL;
  gint finalized = 0;

  for (guint i = 0; i < 3; i++)
    f->tp[i]->release_hook = queue_idle_hook;

  g_assert_true (tether_run_in_new_context (do_nothing_scope, &seen, &error));
  g_assert_no_error (error);
  g_assert_nonnull (seen);
  /* Its memory is gone: only whether its record went can be asked. */
  g_assert_cmpuint (_tether_context_record_id_for_tests (seen), ==, 0);

  /* The same by hand: a manager released outside any dispatch drains. */
  {
    GMainContext *context = g_main_context_new ();
    g_autoptr(TetherManager) manager = NULL;

    test_watch_context (context, &finalized);
    g_main_context_push_thread_default (context);
    manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
    g_assert_true (tether_manager_acquire (manager, &error));
    tether_manager_release (manager);
    g_clear_object (&manager);
    g_main_context_pop_thread_default (context);
    g_main_context_unref (context);
    g_assert_true (g_atomic_int_get (&finalized));
  }

  for (guint i = 0; i < 3; i++)
    f->tp[i]->release_hook = NULL;
}

static gint counted_polls;

static gint
counting_poll (GPollFD *fds,
               guint    n_fds,
               gint     timeout)
{
  g_atomic_int_inc (&counted_polls);
  return g_poll (fds, n_fds, timeout);
}

static gboolean
never_called (gpointer data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

static gboolean
count_dispatch (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_REMOVE;
}

/* A scope's end dispatches what is ready without polling: nothing ready
 * costs no poll(); a timer not yet due is not waited for; an idle queued
 * by a release is dispatched. */
static void
test_manager_release_drains_without_polling (Fixture       *f,
                                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GMainContext *context = g_main_context_new ();
  g_autoptr(TetherManager) manager = NULL;
  guint dispatched = 0;
  GSource *timer;
  gint64 start;

  g_main_context_set_poll_func (context, counting_poll);
  timer = g_timeout_source_new_seconds (60);
  g_source_set_callback (timer, never_called, NULL, NULL);
  g_source_attach (timer, context);

  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);

  /* Nothing ready: no poll, and the timer is not waited for. */
  g_atomic_int_set (&counted_polls, 0);
  start = g_get_monotonic_time ();
  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  tether_manager_release (manager);
  g_assert_cmpint (g_atomic_int_get (&counted_polls), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 30 * G_TIME_SPAN_SECOND);

  /* Ready work is dispatched, each source once. */
  for (guint i = 0; i < 3; i++)
    {
      GSource *idle = g_idle_source_new ();

      g_source_set_callback (idle, count_dispatch, &dispatched, NULL);
      g_source_attach (idle, context);
      g_source_unref (idle);
    }
  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  tether_manager_release (manager);
  g_assert_cmpuint (dispatched, ==, 3);

  g_clear_object (&manager);
  g_main_context_pop_thread_default (context);
  g_source_destroy (timer);
  g_source_unref (timer);
  g_main_context_unref (context);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/manager/acquire/lifo", test_manager_lifo);
  ADD ("/manager/acquire/lifo-late-templates", test_manager_lifo_late);
  ADD ("/manager/acquire/wrong-context", test_manager_wrong_context);
  ADD ("/manager/acquire/already-managed", test_manager_already_managed);
  ADD ("/manager/acquire/exist-ok", test_manager_exist_ok);
  ADD ("/manager/acquire/rollback", test_manager_rollback);
  ADD ("/manager/acquire/rollback-keeps-prior", test_manager_rollback_keeps_prior);
  ADD ("/manager/acquire-async/ok", test_manager_acquire_async);
  ADD ("/manager/acquire-async/rollback", test_manager_acquire_async_rollback);
  ADD ("/manager/release/twice", test_manager_release_twice);
  ADD ("/manager/release/other-thread", test_manager_release_other_thread);
  ADD ("/manager/release/dispose", test_manager_dispose_releases);
  ADD ("/manager/run/releases-on-failure", test_manager_run_releases_on_failure);
  ADD ("/manager/run/new-context", test_manager_run_in_new_context);
  ADD ("/manager/properties", test_manager_properties);
  ADD ("/manager/acquire/owned-by-another-thread", test_manager_owned_by_another_thread);
  ADD ("/manager/is-managed", test_manager_is_managed);
  ADD ("/manager/run/new-context-drains", test_manager_run_in_new_context_drains);
  ADD ("/manager/release/drains-without-polling", test_manager_release_drains_without_polling);

#undef ADD

  return g_test_run ();
}
