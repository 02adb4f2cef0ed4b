/* test-badinput.c: every public function of the core fed NULL, a wrong
 * object, a foreign or replaced context, an unregistered template; managers
 * released twice and from another thread. Each gets a GError or the
 * documented critical, and the state is the same afterwards.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

#define EXPECT_CRITICAL(pattern) \
  g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, pattern)

typedef struct
{
  TestLedger         *ledger;
  TestLedgerProvider *lp;
  TetherTemplate     *template;
  GMainContext       *context;     /* holds a resource of template */
  guint64             context_id;
  gpointer            resource;
} Fixture;

/* What must not change when a call is refused. */
typedef struct
{
  guint n_registered;
  guint n_held;
  guint n_managed;
  guint n_pending;
  guint64 acquired;
  guint64 released;
} Snapshot;

static void
snapshot (Fixture  *f,
          Snapshot *s)
{
  g_autoptr(GPtrArray) templates = tether_dup_templates ();
  g_autoptr(GPtrArray) managed = tether_dup_managed_contexts ();
  TestLedgerTotals totals;

  test_ledger_get_totals (f->ledger, &totals);
  s->n_registered = templates->len;
  s->n_held = tether_template_get_n_held (f->template);
  s->n_managed = managed->len;
  s->n_pending = tether_get_n_pending_purge ();
  s->acquired = totals.acquired;
  s->released = totals.released_graceful + totals.released_ungraceful;
}

static void
assert_unchanged (Fixture        *f,
                  const Snapshot *before)
{
  Snapshot now;

  snapshot (f, &now);
  g_assert_cmpuint (now.n_registered, ==, before->n_registered);
  g_assert_cmpuint (now.n_held, ==, before->n_held);
  g_assert_cmpuint (now.n_managed, ==, before->n_managed);
  g_assert_cmpuint (now.n_pending, ==, before->n_pending);
  g_assert_cmpuint (now.acquired, ==, before->acquired);
  g_assert_cmpuint (now.released, ==, before->released);
  /* The held resource is untouched and still served. */
  g_assert_true (tether_template_lookup (f->template, f->context) == f->resource);
  test_ledger_check_held (f->ledger, f->resource, f->context_id, "after bad input");
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  test_reset_global_state ();
  tether_set_unmanaged_warning_enabled (FALSE);
  f->ledger = test_ledger_new ();
  f->lp = test_ledger_provider_new (f->ledger, "target");
  f->template = test_ledger_provider_template (f->lp);
  f->context = g_main_context_new ();
  f->context_id = test_ledger_track_context (f->ledger, f->context);
  f->resource = tether_template_acquire (f->template, f->context, NULL);
  g_assert_nonnull (f->resource);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_assert_true (tether_template_release (f->template, f->context, NULL));
  g_main_context_unref (f->context);
  tether_purge ();
  test_ledger_assert_balanced (f->ledger);
  tether_template_unregister (f->template);
  g_object_unref (f->template);
  test_ledger_provider_free (f->lp);
  test_ledger_free (f->ledger);
  tether_set_unmanaged_warning_enabled (TRUE);
}

/* ------------------------------------------------------------------------ */

static void
test_bad_template_null (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) preset = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "set before");
  GError *error = preset;
  Snapshot before;

  snapshot (f, &before);

  EXPECT_CRITICAL ("*provider != NULL*");
  g_assert_null (tether_template_new (NULL, NULL));
  EXPECT_CRITICAL ("*provider != NULL*");
  g_assert_null (tether_template_new_full (NULL, NULL, NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_null (tether_template_get_name (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_null (tether_template_get_description (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_null (tether_template_get_provider_data (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_false (tether_template_is_registered (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_false (tether_template_unregister (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_null (tether_template_acquire (NULL, f->context, NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  tether_template_acquire_async (NULL, f->context, NULL, NULL, NULL);
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_null (tether_template_acquire_finish (NULL, NULL, NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_null (tether_template_lookup (NULL, f->context));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_false (tether_template_release (NULL, f->context, NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_cmpuint (tether_template_purge (NULL), ==, 0);
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_cmpuint (tether_template_get_n_held (NULL), ==, 0);

  /* An error that is already set */
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_null (tether_template_acquire (f->template, f->context, &error));
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_false (tether_template_release (f->template, f->context, &error));
  g_assert_true (error == preset);

  g_test_assert_expected_messages ();
  assert_unchanged (f, &before);
}

/* A GObject that is not a template, where a template is expected. */
static void
test_bad_template_wrong_object (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (f->context, TETHER_MANAGER_NONE);
  TetherTemplate *not_a_template = (TetherTemplate *) manager;
  Snapshot before;

  snapshot (f, &before);

  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_null (tether_template_acquire (not_a_template, f->context, NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_false (tether_template_release (not_a_template, f->context, NULL));
  EXPECT_CRITICAL ("*TETHER_IS_TEMPLATE*");
  g_assert_false (tether_template_unregister (not_a_template));
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  g_assert_false (tether_manager_is_active ((TetherManager *) f->template));

  /* A cancellable that is not one */
  EXPECT_CRITICAL ("*G_IS_CANCELLABLE*");
  tether_template_acquire_async (f->template, f->context, (GCancellable *) manager, NULL, NULL);

  g_test_assert_expected_messages ();
  assert_unchanged (f, &before);
}

static void
on_manager_acquired (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* acquire_finish with a result that is not from this template's
 * acquire_async. */
static void
test_bad_template_foreign_result (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(TetherManager) manager = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GTask) other_task = g_task_new (f->template, NULL, NULL, NULL);
  GMainContext *context = g_main_context_new ();
  Snapshot before;

  /* A real manager result, from another source object */
  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  tether_manager_acquire_async (manager, NULL, on_manager_acquired, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_assert_true (tether_manager_acquire_finish (manager, result, NULL));
  snapshot (f, &before);

  EXPECT_CRITICAL ("*g_task_is_valid*");
  g_assert_null (tether_template_acquire_finish (f->template, result, NULL));
  /* The right source object, the wrong source tag */
  EXPECT_CRITICAL ("*source_tag*");
  g_assert_null (tether_template_acquire_finish (f->template, G_ASYNC_RESULT (other_task), NULL));
  EXPECT_CRITICAL ("*g_task_is_valid*");
  g_assert_false (tether_manager_acquire_finish (manager, G_ASYNC_RESULT (other_task), NULL));
  g_test_assert_expected_messages ();
  assert_unchanged (f, &before);

  tether_manager_release (manager);
  g_main_context_pop_thread_default (context);
  g_clear_object (&manager);
  g_main_context_unref (context);
  g_task_return_boolean (other_task, TRUE);   /* a GTask must return */
}

/* ------------------------------------------------------------------------ */

static gpointer
provider_acquire (GMainContext  *context,
                  gpointer       data,
                  GError       **error)
{
  g_assert_not_reached ();
  return NULL;
}

static void
provider_acquire_async (GMainContext        *context,
                        gpointer             data,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_assert_not_reached ();
}

static void
test_bad_provider (Fixture       *f,
                   gconstpointer  data)
{
  static const struct
  {
    const char *what;
    guint32     abi_version;
    guint32     struct_size;
    const char *name;
    gboolean    acquire;
    gboolean    acquire_async_only;
  } cases[] = {
    { "ABI major 0", 0, sizeof (TetherProvider), "ok", TRUE, FALSE },
    { "ABI major 2", 2u << 16, sizeof (TetherProvider), "ok", TRUE, FALSE },
    { "struct too small", TETHER_PROVIDER_ABI_VERSION, 8, "ok", TRUE, FALSE },
    { "struct size 0", TETHER_PROVIDER_ABI_VERSION, 0, "ok", TRUE, FALSE },
    { "NULL name", TETHER_PROVIDER_ABI_VERSION, sizeof (TetherProvider), NULL, TRUE, FALSE },
    { "empty name", TETHER_PROVIDER_ABI_VERSION, sizeof (TetherProvider), "", TRUE, FALSE },
    { "name with a space", TETHER_PROVIDER_ABI_VERSION, sizeof (TetherProvider), "a b", TRUE, FALSE },
    { "name with a slash", TETHER_PROVIDER_ABI_VERSION, sizeof (TetherProvider), "a/b", TRUE, FALSE },
    { "name starting with a digit", TETHER_PROVIDER_ABI_VERSION, sizeof (TetherProvider), "1a", TRUE, FALSE },
    { "no acquire at all", TETHER_PROVIDER_ABI_VERSION, sizeof (TetherProvider), "ok", FALSE, FALSE },
    { "acquire_async without finish", TETHER_PROVIDER_ABI_VERSION, sizeof (TetherProvider), "ok", FALSE, TRUE },
  };
  g_autofree char *long_name = g_strnfill (129, 'a');
  Snapshot before;

  snapshot (f, &before);

  for (guint i = 0; i <= G_N_ELEMENTS (cases); i++)
    {
      TetherProvider provider = { 0, };

      if (i < G_N_ELEMENTS (cases))
        {
          g_test_message ("invalid provider: %s", cases[i].what);
          provider.abi_version = cases[i].abi_version;
          provider.struct_size = cases[i].struct_size;
          provider.name = cases[i].name;
          provider.acquire = cases[i].acquire ? provider_acquire : NULL;
          provider.acquire_async = cases[i].acquire_async_only ? provider_acquire_async : NULL;
        }
      else
        {
          g_test_message ("invalid provider: a name of 129 characters");
          provider.abi_version = TETHER_PROVIDER_ABI_VERSION;
          provider.struct_size = sizeof provider;
          provider.name = long_name;
          provider.acquire = provider_acquire;
        }

      EXPECT_CRITICAL ("*invalid provider*");
      g_assert_null (tether_template_new (&provider, NULL));
      g_test_assert_expected_messages ();
    }

  assert_unchanged (f, &before);
}

/* ------------------------------------------------------------------------ */

static void
test_bad_manager_null (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) preset = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "set before");
  GError *error = preset;
  Snapshot before;

  snapshot (f, &before);

  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  g_assert_null (tether_manager_get_context (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  g_assert_cmpint (tether_manager_get_flags (NULL), ==, TETHER_MANAGER_NONE);
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  g_assert_false (tether_manager_get_exist_ok (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  g_assert_false (tether_manager_is_active (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  g_assert_false (tether_manager_is_noop (NULL));
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  g_assert_false (tether_manager_acquire (NULL, NULL));
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  tether_manager_acquire_async (NULL, NULL, NULL, NULL);
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  g_assert_false (tether_manager_acquire_finish (NULL, NULL, NULL));
  EXPECT_CRITICAL ("*TETHER_IS_MANAGER*");
  tether_manager_release (NULL);
  EXPECT_CRITICAL ("*func != NULL*");
  g_assert_false (tether_manager_run (f->context, TETHER_MANAGER_NONE, NULL, NULL, NULL));
  EXPECT_CRITICAL ("*func != NULL*");
  g_assert_false (tether_run_in_new_context (NULL, NULL, NULL));

  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  {
    g_autoptr(TetherManager) manager = tether_manager_new (f->context, TETHER_MANAGER_NONE);

    g_assert_false (tether_manager_acquire (manager, &error));
    g_assert_false (tether_manager_is_active (manager));
  }
  g_assert_true (error == preset);

  g_test_assert_expected_messages ();
  assert_unchanged (f, &before);
}

static gboolean
scope_ok (gpointer   user_data,
          GError   **error)
{
  (*(guint *) user_data)++;
  return TRUE;
}

/* A manager used out of order: acquired twice, released twice, released
 * before it was acquired; each a critical, and it keeps working. */
static void
test_bad_manager_sequence (Fixture       *f,
                           gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  g_autoptr(TetherManager) manager = NULL;
  Snapshot before;
  guint calls = 0;

  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);

  EXPECT_CRITICAL ("*is not active*");
  tether_manager_release (manager);
  g_test_assert_expected_messages ();

  g_assert_true (tether_manager_acquire (manager, NULL));
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 1);
  snapshot (f, &before);

  EXPECT_CRITICAL ("*MANAGER_IDLE*");
  g_assert_false (tether_manager_acquire (manager, NULL));
  EXPECT_CRITICAL ("*MANAGER_IDLE*");
  tether_manager_acquire_async (manager, NULL, NULL, NULL);
  g_test_assert_expected_messages ();
  g_assert_true (tether_manager_is_active (manager));
  assert_unchanged (f, &before);

  tether_manager_release (manager);
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);
  EXPECT_CRITICAL ("*is not active*");
  tether_manager_release (manager);
  g_test_assert_expected_messages ();

  /* Still usable, and so is the context. */
  g_assert_true (tether_manager_acquire (manager, NULL));
  tether_manager_release (manager);
  g_assert_true (tether_manager_run (NULL, TETHER_MANAGER_NONE, scope_ok, &calls, NULL));
  g_assert_cmpuint (calls, ==, 1);
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);

  g_main_context_pop_thread_default (context);
  g_clear_object (&manager);
  g_main_context_unref (context);
}

static gpointer
release_from_thread (gpointer data)
{
  tether_manager_release (data);
  return NULL;
}

/* Released from a thread whose thread-default context is another: a
 * critical, nothing released, and the right thread can still release. */
static void
test_bad_manager_other_thread (Fixture       *f,
                               gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  g_autoptr(TetherManager) manager = NULL;
  GThread *thread;

  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, NULL));

  EXPECT_CRITICAL ("*released from a thread*");
  thread = g_thread_new ("releaser", release_from_thread, manager);
  g_thread_join (thread);
  g_test_assert_expected_messages ();

  g_assert_true (tether_manager_is_active (manager));
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 1);

  tether_manager_release (manager);
  g_assert_false (tether_manager_is_active (manager));
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);

  g_main_context_pop_thread_default (context);
  g_clear_object (&manager);
  g_main_context_unref (context);
}

/* ------------------------------------------------------------------------ */

typedef struct
{
  GMainContext *context;
  TestGate     *owned;
  TestGate     *done;
} Owner;

static gpointer
owner_thread (gpointer data)
{
  Owner *owner = data;

  g_main_context_push_thread_default (owner->context);
  test_gate_open (owner->owned);
  test_gate_wait (owner->done);
  g_main_context_pop_thread_default (owner->context);
  return NULL;
}

/* Foreign contexts: a manager for a context that is not the thread's,
 * releases for a context that holds nothing, a sync acquire of an
 * async-only template for a context another thread owns. */
static void
test_bad_foreign_context (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (f->context, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  TestLedgerProvider *async_lp = test_ledger_provider_new (f->ledger, "async-only");
  TetherTemplate *async_template;
  GMainContext *foreign = g_main_context_new ();
  Owner owner = { foreign, test_gate_new (), test_gate_new () };
  GThread *thread;
  Snapshot before;

  async_lp->async_only = TRUE;
  async_template = test_ledger_provider_template (async_lp);
  tether_template_unregister (async_template);
  snapshot (f, &before);

  /* The manager's context is not this thread's thread-default. */
  g_assert_false (tether_manager_acquire (manager, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT);
  g_clear_error (&error);
  g_assert_false (tether_manager_is_active (manager));
  g_assert_false (tether_manager_run (f->context, TETHER_MANAGER_NONE, scope_ok, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT);
  g_clear_error (&error);

  /* Nothing held for that context. */
  g_assert_false (tether_template_release (f->template, foreign, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED);
  g_clear_error (&error);
  g_assert_null (tether_template_lookup (f->template, foreign));

  /* Owned by another thread. */
  thread = g_thread_new ("owner", owner_thread, &owner);
  test_gate_wait (owner.owned);
  g_assert_null (tether_template_acquire (async_template, foreign, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK);
  g_clear_error (&error);
  g_assert_cmpint (g_atomic_int_get (&async_lp->n_acquire_calls), ==, 0);
  g_assert_cmpuint (tether_template_get_n_held (async_template), ==, 0);
  test_gate_open (owner.done);
  g_thread_join (thread);

  assert_unchanged (f, &before);

  g_object_unref (async_template);
  test_ledger_provider_free (async_lp);
  g_main_context_unref (foreign);
  test_gate_free (owner.owned);
  test_gate_free (owner.done);
}

/* A context that was destroyed and a new one, likely at the same address:
 * the new one holds nothing of the old one's. */
static void
test_bad_replaced_context (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GMainContext *dead = g_main_context_new ();
  GMainContext *fresh;
  gpointer old_address = dead;
  guint same_address = 0;

  for (guint i = 0; i < 20; i++)
    {
      test_ledger_track_context (f->ledger, dead);
      g_assert_nonnull (tether_template_acquire (f->template, dead, NULL));
      g_main_context_unref (dead);

      fresh = g_main_context_new ();
      if ((gpointer) fresh == old_address)
        same_address++;
      g_assert_null (tether_template_lookup (f->template, fresh));
      g_assert_false (tether_template_release (f->template, fresh, &error));
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED);
      g_clear_error (&error);
      dead = fresh;
      old_address = dead;
    }
  g_main_context_unref (dead);
  g_test_message ("%u of 20 new contexts reused the dead one's address", same_address);
  g_assert_cmpuint (tether_purge (), ==, 20);
}

/* An unregistered template: still acquirable and releasable directly (as
 * documented), not acquired by managers; unregistering again says so. */
static void
test_bad_unregistered (Fixture       *f,
                       gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  g_autoptr(TetherManager) manager = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_template_unregister (f->template));
  g_assert_false (tether_template_unregister (f->template));
  g_assert_false (tether_template_is_registered (f->template));

  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, NULL));
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);

  test_ledger_check_held (f->ledger, tether_template_acquire (f->template, NULL, NULL), id,
                          "unregistered");
  /* The manager releases it with the rest of the context. */
  tether_manager_release (manager);
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);
  g_assert_false (tether_template_release (f->template, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED);

  g_main_context_pop_thread_default (context);
  g_clear_object (&manager);
  g_main_context_unref (context);
}

/* With criticals not fatal (a production build's default), bad input logs
 * and returns; the process goes on. */
static void
test_bad_not_fatal (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(TetherManager) manager = NULL;
      GMainContext *context = g_main_context_new ();

      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      g_log_set_fatal_mask ("Tether", G_LOG_FATAL_MASK);

      g_assert_null (tether_template_acquire (NULL, NULL, NULL));
      g_assert_null (tether_template_new (NULL, NULL));
      g_main_context_push_thread_default (context);
      manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
      tether_manager_release (manager);
      g_assert_true (tether_manager_acquire (manager, NULL));
      tether_manager_release (manager);
      tether_manager_release (manager);
      g_main_context_pop_thread_default (context);
      g_clear_object (&manager);
      g_main_context_unref (context);
      g_print ("survived\n");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*survived*");
  g_test_trap_assert_stderr ("*CRITICAL*TETHER_IS_TEMPLATE*");
  g_test_trap_assert_stderr ("*CRITICAL*is not active*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/badinput/template/null", test_bad_template_null);
  ADD ("/badinput/template/wrong-object", test_bad_template_wrong_object);
  ADD ("/badinput/template/foreign-result", test_bad_template_foreign_result);
  ADD ("/badinput/template/invalid-provider", test_bad_provider);
  ADD ("/badinput/template/unregistered", test_bad_unregistered);
  ADD ("/badinput/manager/null", test_bad_manager_null);
  ADD ("/badinput/manager/out-of-order", test_bad_manager_sequence);
  ADD ("/badinput/manager/other-thread", test_bad_manager_other_thread);
  ADD ("/badinput/context/foreign", test_bad_foreign_context);
  ADD ("/badinput/context/replaced", test_bad_replaced_context);
  g_test_add_func ("/badinput/not-fatal", test_bad_not_fatal);

#undef ADD

  return g_test_run ();
}
