/* test-hostile.c: providers that call back into tether from their release,
 * that destroy their own context from their acquire, and slow releases
 * under a janitor backlog. No deadlock, no crash, and the outcome each test
 * asserts is the documented one (docs/reliability.md).
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

typedef struct
{
  TestLedger         *ledger;
  TestLedgerProvider *lp[3];
  TetherTemplate     *template[3];
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

static TetherTemplate *
fixture_add (Fixture    *f,
             const char *name)
{
  guint i = f->n++;

  f->lp[i] = test_ledger_provider_new (f->ledger, name);
  f->template[i] = test_ledger_provider_template (f->lp[i]);
  return f->template[i];
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
  tether_purge ();
  test_ledger_assert_balanced (f->ledger);

  for (guint i = 0; i < f->n; i++)
    {
      if (f->template[i] != NULL)
        {
          tether_template_unregister (f->template[i]);
          g_object_unref (f->template[i]);
        }
      test_ledger_provider_free (f->lp[i]);
    }
  test_ledger_free (f->ledger);
  tether_set_unmanaged_warning_enabled (TRUE);
}

/* ------------------------------------------------------------------------ */
/* A release that acquires                                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;
  gint            calls;
  gpointer        acquired;
  GMainContext   *thread_default;
} ReacquireHook;

static void
reacquire_in_release (TestLedgerProvider *lp,
                      GMainContext       *context,
                      gpointer            resource,
                      gpointer            data)
{
  ReacquireHook *hook = data;

  if (hook->calls++ > 0 || context == NULL)
    return;
  hook->thread_default = g_main_context_get_thread_default ();
  hook->acquired = tether_template_acquire (hook->template, context, NULL);
}

/* tether_template_release(): the entry is off the table before the provider
 * runs, so an acquire from inside the release makes a fresh resource, which
 * stays held afterwards. */
static void
test_hostile_release_reacquires (Fixture       *f,
                                 gconstpointer  data)
{
  TetherTemplate *template = fixture_add (f, "reacquiring");
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  ReacquireHook hook = { template, 0, NULL, NULL };
  gpointer first;

  first = tether_template_acquire (template, context, NULL);
  test_ledger_check_held (f->ledger, first, id, "first");
  f->lp[0]->release_hook = reacquire_in_release;
  f->lp[0]->release_hook_data = &hook;

  g_assert_true (tether_template_release (template, context, NULL));

  /* The release ran with the context pushed, and its acquire succeeded. */
  g_assert_true (hook.thread_default == context);
  test_ledger_check_held (f->ledger, hook.acquired, id, "acquired in release");
  g_assert_true (tether_template_lookup (template, context) == hook.acquired);
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 1);

  f->lp[0]->release_hook = NULL;
  g_assert_true (tether_template_release (template, context, NULL));
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);
  g_main_context_unref (context);
}

/* A manager's release: the same, and the fresh resource outlives the scope
 * (it is released with the context, or by a later release). */
static void
test_hostile_manager_release_reacquires (Fixture       *f,
                                         gconstpointer  data)
{
  TetherTemplate *template = fixture_add (f, "reacquiring");
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  ReacquireHook hook = { template, 0, NULL, NULL };
  g_autoptr(TetherManager) manager = NULL;
  TestLedgerTotals totals;

  fixture_add (f, "plain");
  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, NULL));
  f->lp[0]->release_hook = reacquire_in_release;
  f->lp[0]->release_hook_data = &hook;

  tether_manager_release (manager);

  g_assert_false (tether_manager_is_active (manager));
  test_ledger_check_held (f->ledger, hook.acquired, id, "acquired in a manager's release");
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 1);

  g_main_context_pop_thread_default (context);
  g_clear_object (&manager);
  f->lp[0]->release_hook = NULL;
  g_main_context_unref (context);   /* the fresh one goes with the context */
  g_assert_cmpuint (tether_purge (), ==, 1);
  test_ledger_get_totals (f->ledger, &totals);
  g_assert_cmpuint (totals.released_graceful, ==, 2);
  g_assert_cmpuint (totals.released_ungraceful, ==, 1);
}

/* ------------------------------------------------------------------------ */
/* A release that releases                                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *self_template;
  TetherTemplate *other_template;
  gint            calls;
  gboolean        released_other;
  GError         *self_error;
} ReleaseHook;

static void
release_in_release (TestLedgerProvider *lp,
                    GMainContext       *context,
                    gpointer            resource,
                    gpointer            data)
{
  ReleaseHook *hook = data;

  if (hook->calls++ > 0)
    return;
  hook->released_other = tether_template_release (hook->other_template, context, NULL);
  tether_template_release (hook->self_template, context, &hook->self_error);
}

static void
test_hostile_release_releases (Fixture       *f,
                               gconstpointer  data)
{
  TetherTemplate *a = fixture_add (f, "a");
  TetherTemplate *b = fixture_add (f, "b");
  GMainContext *context = g_main_context_new ();
  guint64 id = test_ledger_track_context (f->ledger, context);
  ReleaseHook hook = { a, b, 0, FALSE, NULL };
  g_autoptr(TetherManager) manager = NULL;
  TestLedgerTotals totals;

  g_assert_nonnull (tether_template_acquire (a, context, NULL));
  g_assert_nonnull (tether_template_acquire (b, context, NULL));
  f->lp[0]->release_hook = release_in_release;
  f->lp[0]->release_hook_data = &hook;

  /* Direct release of a: its release releases b (fine) and a again (not
   * held any more: NOT_ACQUIRED). */
  g_assert_true (tether_template_release (a, context, NULL));
  g_assert_true (hook.released_other);
  g_assert_error (hook.self_error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED);
  g_clear_error (&hook.self_error);
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);

  /* A manager's release took both off the tables first: b is released once,
   * by the manager, and the nested release finds nothing. */
  hook.calls = 0;
  g_main_context_push_thread_default (context);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, NULL));
  tether_manager_release (manager);
  g_main_context_pop_thread_default (context);
  g_assert_false (hook.released_other);
  g_assert_error (hook.self_error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED);
  g_clear_error (&hook.self_error);
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, id), ==, 0);

  test_ledger_get_totals (f->ledger, &totals);
  g_assert_cmpuint (totals.released_graceful, ==, 4);
  test_ledger_assert_clean (f->ledger);

  g_clear_object (&manager);
  g_main_context_unref (context);
}

/* ------------------------------------------------------------------------ */
/* A release that purges                                                    */
/* ------------------------------------------------------------------------ */

static void
purge_in_release (TestLedgerProvider *lp,
                  GMainContext       *context,
                  gpointer            resource,
                  gpointer            data)
{
  guint *nested = data;

  *nested += tether_purge ();
}

static void
test_hostile_release_purges (Fixture       *f,
                             gconstpointer  data)
{
  TetherTemplate *template = fixture_add (f, "purging");
  TestLedgerTotals totals;
  guint nested = 0;
  guint outer;

  f->lp[0]->release_hook = purge_in_release;
  f->lp[0]->release_hook_data = &nested;

  for (guint i = 0; i < 5; i++)
    {
      GMainContext *context = g_main_context_new ();

      test_ledger_track_context (f->ledger, context);
      g_assert_nonnull (tether_template_acquire (template, context, NULL));
      g_main_context_unref (context);
    }
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 5);

  /* The outer purge took the whole queue before releasing, so the nested
   * purges find nothing; each resource goes once. */
  outer = tether_purge ();
  g_assert_cmpuint (outer + nested, ==, 5);
  test_ledger_get_totals (f->ledger, &totals);
  g_assert_cmpuint (totals.released_ungraceful, ==, 5);

  /* A graceful release that purges, with a dead context's resource
   * queued: the nested purge releases that one. */
  {
    GMainContext *dead = g_main_context_new ();
    GMainContext *live = g_main_context_new ();

    test_ledger_track_context (f->ledger, dead);
    test_ledger_track_context (f->ledger, live);
    g_assert_nonnull (tether_template_acquire (template, dead, NULL));
    g_main_context_unref (dead);
    g_assert_nonnull (tether_template_acquire (template, live, NULL));
    nested = 0;
    g_assert_true (tether_template_release (template, live, NULL));
    g_assert_cmpuint (nested, ==, 1);
    g_main_context_unref (live);
  }
}

/* ------------------------------------------------------------------------ */
/* A release that unregisters and drops its own template                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate **template;   /* the fixture's reference, dropped in the hook */
  gboolean         name_ok;
} UnregisterHook;

static void
unregister_in_release (TestLedgerProvider *lp,
                       GMainContext       *context,
                       gpointer            resource,
                       gpointer            data)
{
  UnregisterHook *hook = data;
  TetherTemplate *template = *hook->template;

  if (template == NULL)
    return;
  g_assert_true (tether_template_unregister (template));
  g_clear_object (hook->template);
  /* Still alive: the entry being released holds a reference until the
   * provider returns. */
  hook->name_ok = g_str_equal (tether_template_get_name (template), lp->name);
}

static void
on_finalized (gpointer  data,
              GObject  *object)
{
  *(gboolean *) data = TRUE;
}

static void
test_hostile_release_unregisters (Fixture       *f,
                                  gconstpointer  data)
{
  gboolean finalized = FALSE;
  UnregisterHook hook = { NULL, FALSE };

  for (guint round = 0; round < 2; round++)
    {
      TetherTemplate *template;
      GMainContext *context = g_main_context_new ();

      if (round == 0)
        template = fixture_add (f, "self-unregistering");
      else
        {
          /* Reuse the provider slot with a new template. */
          template = test_ledger_provider_template (f->lp[0]);
          f->template[0] = template;
        }
      hook.template = &f->template[0];
      f->lp[0]->release_hook = unregister_in_release;
      f->lp[0]->release_hook_data = &hook;
      finalized = FALSE;
      g_object_weak_ref (G_OBJECT (template), on_finalized, &finalized);

      test_ledger_track_context (f->ledger, context);
      g_assert_nonnull (tether_template_acquire (template, context, NULL));
      if (round == 0)
        {
          /* Graceful */
          g_assert_true (tether_template_release (template, context, NULL));
          g_main_context_unref (context);
        }
      else
        {
          /* Ungraceful, from tether_purge() */
          g_main_context_unref (context);
          g_assert_cmpuint (tether_purge (), ==, 1);
        }

      g_assert_true (hook.name_ok);
      g_assert_null (f->template[0]);
      g_assert_true (finalized);
      hook.name_ok = FALSE;
    }
}

/* ------------------------------------------------------------------------ */
/* An acquire that drops its context's last reference                       */
/* ------------------------------------------------------------------------ */

static void
unref_in_acquire (TestLedgerProvider *lp,
                  GMainContext       *context,
                  gpointer            resource,
                  gpointer            data)
{
  GMainContext **owned = data;

  /* The caller's reference, handed to the provider: the last but tether's. */
  if (*owned == context)
    g_main_context_unref (g_steal_pointer (owned));
}

/* The acquire returns the resource; the context dies when tether drops its
 * own reference at the end of the acquire; the resource is then released
 * ungracefully by the purge, once. */
static void
test_hostile_acquire_drops_context (Fixture       *f,
                                    gconstpointer  data)
{
  TetherTemplate *template;
  TestLedgerTotals totals;

  template = fixture_add (f, "context-dropping");
  fixture_add (f, "async-context-dropping");
  f->lp[1]->async_only = TRUE;
  tether_template_unregister (f->template[1]);
  g_object_unref (f->template[1]);
  f->template[1] = test_ledger_provider_template (f->lp[1]);

  for (guint i = 0; i < 2; i++)
    {
      GMainContext *context = g_main_context_new ();
      GMainContext *owned = context;
      guint64 id = test_ledger_track_context (f->ledger, context);
      gpointer resource;

      template = f->template[i];
      f->lp[i]->acquire_hook = unref_in_acquire;
      f->lp[i]->acquire_hook_data = &owned;

      resource = tether_template_acquire (template, context, NULL);

      g_assert_null (owned);
      g_assert_false (test_ledger_context_alive (f->ledger, id));
      /* Still valid: it is released by the purge, not before. */
      test_ledger_check_held (f->ledger, resource, id, "returned for a context that died");
      g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
      g_assert_cmpuint (tether_get_n_pending_purge (), ==, 1);
      g_assert_cmpuint (tether_purge (), ==, 1);
    }

  test_ledger_get_totals (f->ledger, &totals);
  g_assert_cmpuint (totals.acquired, ==, 2);
  g_assert_cmpuint (totals.released_ungraceful, ==, 2);
}

/* ------------------------------------------------------------------------ */
/* A slow release while the janitor has a backlog                           */
/* ------------------------------------------------------------------------ */

#define BACKLOG 100

typedef struct
{
  TestGate *gate;
  gint      calls;
} SlowRelease;

static void
slow_release (TestLedgerProvider *lp,
              GMainContext       *context,
              gpointer            resource,
              gpointer            data)
{
  SlowRelease *sr = data;

  if (g_atomic_int_add (&sr->calls, 1) == 0)
    test_gate_wait (sr->gate);   /* the first one blocks */
  else
    g_usleep (1000);
}

typedef struct
{
  GMainContext *context;
  gint          stop;
} JanitorThread;

static gpointer
janitor_thread (gpointer data)
{
  JanitorThread *jt = data;

  g_main_context_push_thread_default (jt->context);
  while (!g_atomic_int_get (&jt->stop))
    g_main_context_iteration (jt->context, TRUE);
  g_main_context_pop_thread_default (jt->context);
  return NULL;
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
test_hostile_slow_release_backlog (Fixture       *f,
                                   gconstpointer  data)
{
  TetherTemplate *slow = fixture_add (f, "slow-release");
  TetherTemplate *quick = fixture_add (f, "quick");
  SlowRelease sr = { test_gate_new (), 0 };
  JanitorThread jt = { g_main_context_new (), 0 };
  GMainContext *live = g_main_context_new ();
  guint64 live_id = test_ledger_track_context (f->ledger, live);
  g_autoptr(TetherManager) manager = NULL;
  GThread *thread;
  TestLedgerTotals totals;
  guint purged;

  f->lp[0]->release_hook = slow_release;
  f->lp[0]->release_hook_data = &sr;
  tether_set_janitor_context (jt.context);
  thread = g_thread_new ("janitor", janitor_thread, &jt);

  for (guint i = 0; i < BACKLOG; i++)
    {
      GMainContext *context = g_main_context_new ();

      test_ledger_track_context (f->ledger, context);
      g_assert_nonnull (tether_template_acquire (slow, context, NULL));
      g_main_context_unref (context);
    }

  /* The janitor is stuck in the first release, holding the backlog. */
  test_gate_wait_for (sr.gate, 1);

  /* Nothing else waits for it. */
  test_ledger_check_held (f->ledger, tether_template_acquire (quick, live, NULL), live_id, "quick");
  test_ledger_check_held (f->ledger, tether_template_acquire (slow, live, NULL), live_id, "slow");
  g_assert_true (tether_template_release (quick, live, NULL));
  g_main_context_push_thread_default (live);
  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, NULL));
  g_main_context_pop_thread_default (live);
  purged = tether_purge ();           /* whatever the janitor has not taken */
  tether_set_janitor_context (NULL);  /* moving it does not wait either */
  tether_set_janitor_context (jt.context);
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 0);
  g_test_message ("backlog: %u released by tether_purge() while the janitor was stuck", purged);

  test_gate_open (sr.gate);

  /* Let the janitor finish, then stop it. */
  while (test_ledger_get_totals (f->ledger, &totals), totals.released_ungraceful < BACKLOG)
    g_usleep (1000);
  g_atomic_int_set (&jt.stop, 1);
  {
    GSource *wake = g_idle_source_new ();

    g_source_set_callback (wake, wake_up, NULL, NULL);
    g_source_attach (wake, jt.context);
    g_source_unref (wake);
  }
  g_thread_join (thread);
  tether_set_janitor_context (NULL);

  test_ledger_get_totals (f->ledger, &totals);
  g_assert_cmpuint (totals.released_ungraceful, ==, BACKLOG);
  g_assert_cmpint (g_atomic_int_get (&sr.calls), ==, BACKLOG);

  g_main_context_push_thread_default (live);
  tether_manager_release (manager);
  g_main_context_pop_thread_default (live);
  g_assert_cmpuint (test_ledger_count_live_for (f->ledger, live_id), ==, 0);

  g_clear_object (&manager);
  g_main_context_unref (live);
  g_main_context_unref (jt.context);
  test_gate_free (sr.gate);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/hostile/release/reacquires", test_hostile_release_reacquires);
  ADD ("/hostile/release/manager-reacquires", test_hostile_manager_release_reacquires);
  ADD ("/hostile/release/releases", test_hostile_release_releases);
  ADD ("/hostile/release/purges", test_hostile_release_purges);
  ADD ("/hostile/release/unregisters-own-template", test_hostile_release_unregisters);
  ADD ("/hostile/acquire/drops-own-context", test_hostile_acquire_drops_context);
  ADD ("/hostile/release/slow-with-janitor-backlog", test_hostile_slow_release_backlog);

#undef ADD

  return g_test_run ();
}
