/* test-lifetime.c: a template's lifetime against the resources it holds
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A registered template is kept alive by the registry's reference, and its
 * entries hold none; unregister gives each of them its own, a release
 * under way keeps a registered template it took alive until its provider
 * has run (a pin), and the purge queue holds a reference per item
 * (core/tether-entry-private.h). Here the program unregisters a template
 * and drops its own reference at every point of the way: while a resource
 * is held, inside another template's release of the same list, inside its
 * own acquire (succeeding or failing), with a dead context's resource
 * queued. Each time the template must live exactly until the last
 * resource is released, and no longer. Run under ASan and valgrind by CI.
 */

#include "test-util.h"

typedef struct
{
  TestProvider   *tp[2];
  TetherTemplate *templates[2];   /* the test's references, or NULL once dropped */
  gpointer        weak[2];        /* NULL once finalized */
  GMainContext   *context;
  gboolean        alive_in_release[2];
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  static const char *names[] = { "early", "late" };

  test_reset_global_state ();
  for (guint i = 0; i < 2; i++)
    {
      f->tp[i] = test_provider_new (names[i]);
      f->templates[i] = test_provider_template (f->tp[i]);
      f->weak[i] = f->templates[i];
      g_object_add_weak_pointer (G_OBJECT (f->templates[i]), &f->weak[i]);
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

  for (guint i = 0; i < 2; i++)
    {
      if (f->templates[i] != NULL)
        {
          tether_template_unregister (f->templates[i]);
          g_clear_object (&f->templates[i]);
        }
      /* Nothing keeps a template once its resources are released. */
      g_assert_null (f->weak[i]);
      g_assert_cmpint (f->tp[i]->live, ==, 0);
      g_assert_cmpint (f->tp[i]->n_double_release, ==, 0);
      test_provider_free (f->tp[i]);
    }
}

/* The program lets go of template @i: unregistered, its reference dropped. */
static void
let_go (Fixture *f,
        guint    i)
{
  g_assert_true (tether_template_unregister (f->templates[i]));
  g_clear_object (&f->templates[i]);
}

static void
test_unregistered_while_held (Fixture       *f,
                              gconstpointer  data)
{
  g_assert_nonnull (tether_template_acquire (f->weak[0], f->context, NULL));

  let_go (f, 0);
  g_assert_nonnull (f->weak[0]);   /* its entry holds it now */
  g_assert_cmpint (f->tp[0]->live, ==, 1);

  g_assert_true (tether_template_release (f->weak[0], f->context, NULL));
  g_assert_cmpint (f->tp[0]->n_released_graceful, ==, 1);
  g_assert_null (f->weak[0]);
}

/* Inside the release of "late" (released first: the reverse of production),
 * the program lets "early" go, which the same list still has to release. */
static void
let_go_early (TestProvider *tp,
              GMainContext *context,
              gpointer      data)
{
  Fixture *f = data;

  f->alive_in_release[1] = TRUE;
  if (f->templates[0] != NULL)
    let_go (f, 0);
}

static void
note_alive (TestProvider *tp,
            GMainContext *context,
            gpointer      data)
{
  Fixture *f = data;

  f->alive_in_release[0] = f->weak[0] != NULL;
}

static void
test_unregistered_during_release (Fixture       *f,
                                  gconstpointer  data)
{
  TetherManager *manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  gboolean managed = GPOINTER_TO_INT (data);

  f->tp[1]->release_hook = let_go_early;
  f->tp[1]->release_hook_data = f;
  f->tp[0]->release_hook = note_alive;
  f->tp[0]->release_hook_data = f;

  if (managed)
    g_assert_true (tether_manager_acquire (manager, NULL));
  else
    {
      tether_set_unmanaged_warning_enabled (FALSE);
      g_assert_nonnull (tether_template_acquire (f->templates[0], f->context, NULL));
      g_assert_nonnull (tether_template_acquire (f->templates[1], f->context, NULL));
    }

  if (managed)
    tether_manager_release (manager);
  else
    {
      /* One list of one each: the second release finds "early" pinned by
       * nobody, held by the entry's reference unregister gave it. */
      g_assert_true (tether_template_release (f->templates[1], f->context, NULL));
      g_assert_nonnull (f->weak[0]);
      g_assert_true (tether_template_release (f->weak[0], f->context, NULL));
      tether_set_unmanaged_warning_enabled (TRUE);
    }

  g_assert_true (f->alive_in_release[1]);
  g_assert_true (f->alive_in_release[0]);   /* alive when its provider ran */
  g_assert_cmpint (f->tp[0]->n_released_graceful, ==, 1);
  g_assert_cmpint (f->tp[1]->n_released_graceful, ==, 1);
  g_assert_null (f->weak[0]);               /* and not a moment longer */
  g_object_unref (manager);
}

/* Inside its own acquire (a manager's prepared flight, whose flight holds
 * no template reference), the program lets the template go. */
static void
let_go_self (TestProvider *tp,
             GMainContext *context,
             gpointer      data)
{
  Fixture *f = data;

  let_go (f, 0);
}

static void
test_unregistered_during_acquire (Fixture       *f,
                                  gconstpointer  data)
{
  TetherManager *manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  gboolean fails = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;

  f->tp[0]->acquire_hook = let_go_self;
  f->tp[0]->acquire_hook_data = f;
  if (fails)
    f->tp[0]->fail_remaining = 1;

  if (fails)
    {
      g_assert_false (tether_manager_acquire (manager, &error));
      g_assert_nonnull (error);
      /* The failed entry's reference went with it. */
      g_assert_null (f->weak[0]);
    }
  else
    {
      g_assert_true (tether_manager_acquire (manager, NULL));
      g_assert_nonnull (f->weak[0]);
      g_assert_cmpint (f->tp[0]->live, ==, 1);
      tether_manager_release (manager);
      g_assert_cmpint (f->tp[0]->n_released_graceful, ==, 1);
      g_assert_null (f->weak[0]);
    }
  g_object_unref (manager);
}

/* A dead context's resource in the purge queue keeps its template, whether
 * the program lets it go before the context dies or after. */
static void
test_unregistered_with_purge (Fixture       *f,
                              gconstpointer  data)
{
  gboolean before_death = GPOINTER_TO_INT (data);
  GMainContext *doomed = g_main_context_new ();

  tether_set_unmanaged_warning_enabled (FALSE);
  g_assert_nonnull (tether_template_acquire (f->templates[0], doomed, NULL));
  tether_set_unmanaged_warning_enabled (TRUE);

  if (before_death)
    let_go (f, 0);
  g_main_context_unref (doomed);
  if (!before_death)
    let_go (f, 0);

  g_assert_nonnull (f->weak[0]);
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 1);
  g_assert_cmpuint (tether_purge (), ==, 1);
  g_assert_cmpint (f->tp[0]->n_released_ungraceful, ==, 1);
  g_assert_null (f->weak[0]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/lifetime/unregistered-while-held", Fixture, NULL,
              fixture_set_up, test_unregistered_while_held, fixture_tear_down);
  g_test_add ("/lifetime/unregistered-during-release/manager", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_unregistered_during_release, fixture_tear_down);
  g_test_add ("/lifetime/unregistered-during-release/one-by-one", Fixture,
              GINT_TO_POINTER (FALSE),
              fixture_set_up, test_unregistered_during_release, fixture_tear_down);
  g_test_add ("/lifetime/unregistered-during-acquire/succeeds", Fixture, GINT_TO_POINTER (FALSE),
              fixture_set_up, test_unregistered_during_acquire, fixture_tear_down);
  g_test_add ("/lifetime/unregistered-during-acquire/fails", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_unregistered_during_acquire, fixture_tear_down);
  g_test_add ("/lifetime/unregistered-with-purge/before-death", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_unregistered_with_purge, fixture_tear_down);
  g_test_add ("/lifetime/unregistered-with-purge/after-death", Fixture, GINT_TO_POINTER (FALSE),
              fixture_set_up, test_unregistered_with_purge, fixture_tear_down);

  return g_test_run ();
}
