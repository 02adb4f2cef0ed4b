/* test-purge.c: dead contexts — sentinel, janitor, purge, reused addresses,
 * leak diagnostics
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#ifdef __GLIBC__
# include <malloc.h>
#endif

#include "test-util.h"

typedef struct
{
  TestProvider   *tp;
  TetherTemplate *template;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  test_reset_global_state ();
  f->tp = test_provider_new ("purged");
  f->template = test_provider_template (f->tp);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  tether_purge ();
  test_provider_finish (f->tp, f->template);
}

static void
iterate_default (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* An unmanaged resource of a destroyed context is released with
 * graceful=FALSE when the janitor idle runs. */
static void
test_purge_janitor (Fixture       *f,
                    gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();

  g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
  g_main_context_unref (context);

  /* Off the live tables at once, queued, not yet released. */
  g_assert_cmpuint (tether_template_get_n_held (f->template), ==, 0);
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 1);
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 0);

  iterate_default ();   /* the default janitor context */

  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 1);
  g_assert_cmpint (f->tp->n_released_graceful, ==, 0);
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 0);
}

/* ... and at once by tether_purge(), which returns how many. */
static void
test_purge_explicit (Fixture       *f,
                     gconstpointer  data)
{
  for (guint i = 0; i < 5; i++)
    {
      GMainContext *context = g_main_context_new ();

      g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
      g_main_context_unref (context);
    }

  g_assert_cmpuint (tether_purge (), ==, 5);
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 5);
  g_assert_cmpuint (tether_purge (), ==, 0);

  /* The janitor idle that was scheduled finds nothing left. */
  iterate_default ();
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 5);
}

/* tether_template_purge() drains only its own template's resources. */
static void
test_purge_template_only (Fixture       *f,
                          gconstpointer  data)
{
  TestProvider *other_tp = test_provider_new ("other");
  g_autoptr(TetherTemplate) other = test_provider_template (other_tp);
  GMainContext *context = g_main_context_new ();

  g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
  g_assert_nonnull (tether_template_acquire (other, context, NULL));
  g_main_context_unref (context);

  g_assert_cmpuint (tether_template_purge (other), ==, 1);
  g_assert_cmpint (other_tp->n_released_ungraceful, ==, 1);
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 0);
  g_assert_cmpuint (tether_template_purge (f->template), ==, 1);
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 1);

  tether_template_unregister (other);
  test_provider_free (other_tp);
}

/* Frees @dead (holding a resource) and makes contexts until one lands at
 * its address; returns it, or NULL. The others are added to @others.
 *
 * GLib makes a context with calloc(). glibc serves calloc() from its
 * per-thread cache of freed chunks (7 per size) in some versions and not
 * in others, so whether a dead context's address comes back depended on
 * whether that cache was full when it was freed, that is on what earlier
 * tests had freed: the case ran or skipped with the heap's history. With
 * @fill_cache the cache for the context's size is emptied and then filled
 * first (the chunk bypasses it); without, it is emptied (the chunk tops
 * it). One of the two hands the address back on each glibc. */
static GMainContext *
context_at_dead_address (GMainContext *dead,
                         gboolean      fill_cache,
                         GPtrArray    *others)
{
  gpointer dead_address = dead;
  GMainContext *reused = NULL;
#ifdef __GLIBC__
  gpointer drain[16];
  gsize size = malloc_usable_size (dead);

  for (guint i = 0; i < G_N_ELEMENTS (drain); i++)
    drain[i] = malloc (size);
  for (guint i = 0; fill_cache && i < 7; i++)
    g_clear_pointer (&drain[i], free);
#endif

  g_main_context_unref (dead);

  for (guint i = 0; i < 64 && reused == NULL; i++)
    {
      GMainContext *context = g_main_context_new ();

      if ((gpointer) context == dead_address)
        reused = context;
      else
        g_ptr_array_add (others, context);
    }

#ifdef __GLIBC__
  for (guint i = 0; i < G_N_ELEMENTS (drain); i++)
    free (drain[i]);   /* NULL for those freed above */
#endif

  return reused;
}

/* A new context at the address of a dead one starts clean. */
static void
test_purge_reused_address (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func ((GDestroyNotify) g_main_context_unref);
  GMainContext *reused = NULL;
  TestResource *new_res;
  guint n_dead = 0;

  for (guint attempt = 0; attempt < 4 && reused == NULL; attempt++)
    {
      GMainContext *dead = g_main_context_new ();

      g_assert_nonnull (tether_template_acquire (f->template, dead, NULL));
      n_dead++;
      reused = context_at_dead_address (dead, attempt % 2 == 0, others);
    }

  if (reused == NULL)
    {
      /* Allocators with a quarantine (AddressSanitizer) do not hand the
       * address back. */
      g_test_skip ("the allocator did not reuse the dead context's address");
      g_assert_cmpuint (tether_purge (), ==, n_dead);
      return;
    }

  g_assert_null (tether_template_lookup (f->template, reused));
  new_res = tether_template_acquire (f->template, reused, NULL);
  g_assert_nonnull (new_res);
  g_assert_cmpint (f->tp->n_acquired, ==, n_dead + 1);
  g_assert_cmpuint (new_res->serial, ==, n_dead + 1);
  g_assert_true (tether_template_release (f->template, reused, NULL));
  g_assert_cmpint (f->tp->n_released_graceful, ==, 1);

  /* The dead ones, ungracefully. */
  g_assert_cmpuint (tether_purge (), ==, n_dead);
  g_main_context_unref (reused);
}

/* The hit path cannot return a dead context's resource for a reused
 * address either: the cache is invalidated on death. */
static void
test_purge_cache_invalidated (Fixture       *f,
                              gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  gpointer first;

  first = tether_template_acquire (f->template, context, NULL);
  /* The second call is served from this thread's cache. */
  g_assert_true (tether_template_acquire (f->template, context, NULL) == first);
  g_main_context_unref (context);

  context = g_main_context_new ();
  /* The old resource is still queued, so a new one is a distinct pointer,
   * whether or not the new context reused the old address. */
  g_assert_true (tether_template_acquire (f->template, context, NULL) != first);
  g_assert_cmpint (f->tp->n_acquired, ==, 2);
  g_assert_true (tether_template_release (f->template, context, NULL));
  g_main_context_unref (context);
  g_assert_cmpuint (tether_purge (), ==, 1);
}

/* The janitor runs where tether_set_janitor_context() says. */
static void
test_purge_janitor_context (Fixture       *f,
                            gconstpointer  data)
{
  GMainContext *janitor = g_main_context_new ();
  GMainContext *context = g_main_context_new ();
  g_autoptr(GMainContext) current = NULL;

  tether_set_janitor_context (janitor);
  current = tether_dup_janitor_context ();
  g_assert_true (current == janitor);

  g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
  g_main_context_unref (context);

  iterate_default ();
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 0);

  while (g_main_context_iteration (janitor, FALSE))
    ;
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 1);

  /* A pending purge moves with the janitor. */
  context = g_main_context_new ();
  g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
  g_main_context_unref (context);
  tether_set_janitor_context (NULL);
  iterate_default ();
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 2);

  g_main_context_unref (janitor);
}

/* A context that dies in a worker thread (GLib unrefs pushed contexts at
 * thread exit) is purged. */
static gpointer
worker_dies_holding (gpointer data)
{
  Fixture *f = data;
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  g_assert_nonnull (tether_template_acquire (f->template, NULL, NULL));
  g_main_context_unref (context);   /* the thread-default stack keeps it */

  return NULL;                      /* GLib pops and unrefs it at exit */
}

static void
test_purge_worker_exit (Fixture       *f,
                        gconstpointer  data)
{
  g_thread_join (g_thread_new ("worker", worker_dies_holding, f));

  g_assert_cmpuint (tether_purge (), ==, 1);
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 1);
}

/* A thread that exits while its context holds an unmanaged resource that
 * refs the context (a cycle: it never dies) gets a leak warning naming it. */
static gpointer
worker_leaks_cycle (gpointer data)
{
  TetherTemplate *template = data;
  GMainContext *context = g_main_context_new ();
  TestResource *res;

  g_main_context_push_thread_default (context);
  res = tether_template_acquire (template, NULL, NULL);
  g_assert_nonnull (res);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);   /* kept alive by the resource */

  return context;
}

static void
test_purge_thread_exit_warning (Fixture       *f,
                                gconstpointer  data)
{
  TestProvider *tp = test_provider_new ("cyclic");
  g_autoptr(TetherTemplate) template = NULL;
  GMainContext *context;

  tp->ref_context = TRUE;
  template = test_provider_template (tp);

  context = g_thread_join (g_thread_new ("leaker", worker_leaks_cycle, template));

  tether_set_unmanaged_warning_enabled (TRUE);
  g_test_expect_message ("Tether", G_LOG_LEVEL_WARNING,
                         "*thread exited leaving resources no manager will release for context*"
                         "which was its thread-default context when it acquired them*'cyclic'*");
  tether_purge ();
  g_test_assert_expected_messages ();
  tether_set_unmanaged_warning_enabled (FALSE);

  /* Still held: the cycle kept the context alive. Releasing it breaks the
   * cycle and the context dies inside the release. */
  g_assert_cmpint (tp->live, ==, 1);
  g_assert_true (tether_template_release (template, context, NULL));
  g_assert_cmpint (tp->live, ==, 0);
  g_assert_cmpint (tp->n_released_graceful, ==, 1);

  tether_template_unregister (template);
  test_provider_free (tp);
}

/* Purge while a context with a closed (dead) loop is present never blocks
 * later acquires (Pyot deadlocked on the 32nd). */
static void
test_purge_no_deadlock_many (Fixture       *f,
                             gconstpointer  data)
{
  for (guint i = 0; i < 100; i++)
    {
      GMainContext *context = g_main_context_new ();

      g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
      if (i % 2 == 0)
        g_assert_true (tether_template_release (f->template, context, NULL));
      g_main_context_unref (context);
      if (i % 7 == 0)
        tether_purge ();
    }

  tether_purge ();
  g_assert_cmpint (f->tp->n_released_graceful, ==, 50);
  g_assert_cmpint (f->tp->n_released_ungraceful, ==, 50);
}

/* tether never keeps a context alive for its own bookkeeping. */
static void
on_context_freed (gpointer data)
{
  g_atomic_int_set ((gint *) data, 1);
}

static gboolean
never_called (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
test_purge_no_context_ref (Fixture       *f,
                           gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  GSource *watch = g_idle_source_new ();
  gint freed = 0;

  /* Our own watcher: a source's callback notify runs at context death. */
  g_source_set_callback (watch, never_called, &freed, on_context_freed);
  g_source_attach (watch, context);
  g_source_unref (watch);

  g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
  g_main_context_unref (context);   /* the only reference */

  g_assert_cmpint (freed, ==, 1);
  g_assert_cmpuint (tether_purge (), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/purge/dead-context/janitor", test_purge_janitor);
  ADD ("/purge/dead-context/explicit", test_purge_explicit);
  ADD ("/purge/dead-context/template-only", test_purge_template_only);
  ADD ("/purge/dead-context/reused-address", test_purge_reused_address);
  ADD ("/purge/dead-context/cache-invalidated", test_purge_cache_invalidated);
  ADD ("/purge/dead-context/worker-exit", test_purge_worker_exit);
  ADD ("/purge/dead-context/no-context-ref", test_purge_no_context_ref);
  ADD ("/purge/janitor/context", test_purge_janitor_context);
  ADD ("/purge/thread-exit/leak-warning", test_purge_thread_exit_warning);
  ADD ("/purge/no-deadlock-many", test_purge_no_deadlock_many);

#undef ADD

  return g_test_run ();
}
