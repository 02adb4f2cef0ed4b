/* test-stats-enter.c: the counters and acquire times of what a manager's
 * synchronous enter does, in each way it can meet a template: a template
 * it acquires, one already held, one that only acquires asynchronously,
 * one a provider of the enter asked for first, one another thread is
 * acquiring, and the ones it never reaches after a failure. Each acquire
 * is timed on its own: a slow one does not make the next one slow.
 *
 * Every case checks the counters against what the providers themselves
 * counted, and against the numbers the case expects. meson runs this file
 * twice, the second time with TETHER_ACQUIRE_TIMING=0.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

#define N_TEMPLATES 4
#define SLOW_MS     30
#define SLOW_NS     ((guint64) SLOW_MS * 1000 * 1000)

typedef struct
{
  TestProvider   *tp[N_TEMPLATES];
  TetherTemplate *templates[N_TEMPLATES];
  GMainContext   *context;
  GThread        *other;       /* a thread a hook started */
  gpointer        nested;      /* what a hook got */
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  static const char *names[N_TEMPLATES] = { "alpha", "bravo", "charlie", "delta" };

  test_reset_global_state ();
  for (guint i = 0; i < N_TEMPLATES; i++)
    f->tp[i] = test_provider_new (names[i]);
  f->context = g_main_context_new ();
  g_main_context_push_thread_default (f->context);
}

/* After a case set its providers up (async_only is read here), in order:
 * the enter runs them in registration order. */
static void
templates_new (Fixture *f)
{
  for (guint i = 0; i < N_TEMPLATES; i++)
    f->templates[i] = test_provider_template (f->tp[i]);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
  tether_purge ();
  for (guint i = 0; i < N_TEMPLATES; i++)
    test_provider_finish (f->tp[i], f->templates[i]);
}

/* What one template's counters must say, beyond what its provider saw. */
typedef struct
{
  guint64 acquires;
  guint64 failures;
  guint64 joins;
} Expected;

/* The counters of template @i against its provider's own counts and
 * @expected, and its times: counted for every completed acquire, or, with
 * the timing off, never. */
static TetherTemplateStats *
assert_stats (Fixture        *f,
              guint           i,
              const Expected *expected)
{
  TetherTemplateStats *stats = tether_template_get_stats (f->templates[i]);
  TestProvider *tp = f->tp[i];

  g_test_message ("%s: acquires %" G_GUINT64_FORMAT ", done %" G_GUINT64_FORMAT
                  ", failures %" G_GUINT64_FORMAT ", joins %" G_GUINT64_FORMAT
                  ", graceful %" G_GUINT64_FORMAT ", time %" G_GUINT64_FORMAT " ns",
                  tp->name, stats->acquires, stats->acquires_done, stats->failures,
                  stats->joins, stats->graceful_releases, stats->acquire_time_total_ns);

  g_assert_cmpuint (stats->acquires, ==, (guint64) g_atomic_int_get (&tp->n_acquire_calls));
  g_assert_cmpuint (stats->acquires, ==, expected->acquires);
  g_assert_cmpuint (stats->acquires_done, ==, stats->acquires);
  g_assert_cmpuint (stats->failures, ==, expected->failures);
  g_assert_cmpuint (stats->joins, ==, expected->joins);
  g_assert_cmpuint (stats->graceful_releases, ==,
                    (guint64) g_atomic_int_get (&tp->n_released_graceful));
  g_assert_cmpuint (stats->n_held, ==, (guint64) g_atomic_int_get (&tp->live));
  g_assert_cmpuint (stats->acquire_time_count, ==, test_acquire_timed () ? stats->acquires_done : 0);
  if (!test_acquire_timed ())
    {
      g_assert_cmpuint (stats->acquire_time_total_ns, ==, 0);
      g_assert_cmpuint (stats->acquire_time_max_ns, ==, 0);
    }

  return stats;
}

/* Enters, checks each template against @expected (with @held resources
 * held, the enter's having succeeded or not), leaves, and checks that
 * each resource released was counted as a graceful release. */
static void
enter_and_check (Fixture        *f,
                 gboolean        succeeds,
                 const Expected  expected[N_TEMPLATES])
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (tether_manager_acquire (manager, &error), ==, succeeds);
  if (succeeds)
    g_assert_no_error (error);
  else
    g_assert_nonnull (error);

  for (guint i = 0; i < N_TEMPLATES; i++)
    tether_template_stats_free (assert_stats (f, i, &expected[i]));

  if (succeeds)
    tether_manager_release (manager);
  for (guint i = 0; i < N_TEMPLATES; i++)
    {
      g_autoptr(TetherTemplateStats) stats = assert_stats (f, i, &expected[i]);

      g_assert_cmpuint (stats->n_held, ==, 0);
      /* Every resource acquired was released. */
      g_assert_cmpuint (stats->graceful_releases, ==, stats->acquires_done - stats->failures);
    }
}

/* ------------------------------------------------------------------------ */
/* Each way an enter meets a template                                       */
/* ------------------------------------------------------------------------ */

/* Each enter acquires each template once. */
static void
test_each_enter (Fixture       *f,
                       gconstpointer  data)
{
  const Expected expected[N_TEMPLATES] = { { 1 }, { 1 }, { 1 }, { 1 } };

  templates_new (f);
  enter_and_check (f, TRUE, expected);
  enter_and_check (f, TRUE, (const Expected[N_TEMPLATES]) { { 2 }, { 2 }, { 2 }, { 2 } });
}

/* bravo already holds a resource for the context: its turn is a hit, not
 * an acquire. */
static void
test_held_already (Fixture       *f,
                          gconstpointer  data)
{
  const Expected expected[N_TEMPLATES] = { { 1 }, { 1 }, { 1 }, { 1 } };

  templates_new (f);
  g_assert_nonnull (tether_template_acquire (f->templates[1], NULL, NULL));
  enter_and_check (f, TRUE, expected);
}

/* bravo only acquires asynchronously: the enter iterates the context for
 * it, and goes on. */
static void
test_async_only (Fixture       *f,
                               gconstpointer  data)
{
  const Expected expected[N_TEMPLATES] = { { 1 }, { 1 }, { 1 }, { 1 } };

  f->tp[1]->async_only = TRUE;
  templates_new (f);
  enter_and_check (f, TRUE, expected);
}

static void
ask_hook (TestProvider *tp,
          GMainContext *context,
          gpointer      data)
{
  gpointer *args = data;
  Fixture *f = args[0];
  guint which = GPOINTER_TO_UINT (args[1]);

  tp->acquire_hook = NULL;
  f->nested = tether_template_acquire (f->templates[which], NULL, NULL);
  g_assert_nonnull (f->nested);
}

/* alpha's provider asks for @which, a later template of the enter: it is
 * acquired then, once, and the enter's turn for it is a hit (nobody waited
 * for anybody: no join). */
static void
test_asked_by_a_provider (Fixture       *f,
                            gconstpointer  data)
{
  guint which = GPOINTER_TO_UINT (data);
  gpointer args[2] = { f, GUINT_TO_POINTER (which) };
  const Expected expected[N_TEMPLATES] = { { 1 }, { 1 }, { 1 }, { 1 } };

  templates_new (f);
  f->tp[0]->acquire_hook = ask_hook;
  f->tp[0]->acquire_hook_data = args;
  enter_and_check (f, TRUE, expected);
  g_assert_nonnull (f->nested);
}

static gpointer
ask_from_thread (gpointer data)
{
  Fixture *f = data;

  return tether_template_acquire (f->templates[1], f->context, NULL);
}

/* alpha's provider starts a thread that asks for bravo and waits until
 * bravo's provider runs there; the enter's turn for bravo joins that
 * acquire and waits for it. */
static void
other_thread_hook (TestProvider *tp,
                   GMainContext *context,
                   gpointer      data)
{
  Fixture *f = data;

  tp->acquire_hook = NULL;
  f->other = g_thread_new ("ask-bravo", ask_from_thread, f);
  while (g_atomic_int_get (&f->tp[1]->n_acquire_calls) == 0)
    g_usleep (100);
}

static void
test_joined_another_thread (Fixture       *f,
                                gconstpointer  data)
{
  const Expected expected[N_TEMPLATES] = { { 1 }, { 1, 0, 1 }, { 1 }, { 1 } };

  f->tp[0]->acquire_hook = other_thread_hook;
  f->tp[0]->acquire_hook_data = f;
  f->tp[1]->delay_ms = SLOW_MS;
  templates_new (f);
  enter_and_check (f, TRUE, expected);
  g_assert_nonnull (g_thread_join (f->other));
}

/* bravo fails: charlie and delta are never acquired, alpha is rolled
 * back (a graceful release). */
static void
test_not_reached_after_a_failure (Fixture       *f,
                              gconstpointer  data)
{
  const Expected expected[N_TEMPLATES] = { { 1 }, { 1, 1 }, { 0 }, { 0 } };
  g_autoptr(TetherTemplateStats) stats = NULL;

  templates_new (f);
  g_atomic_int_set (&f->tp[1]->fail_remaining, 1);
  enter_and_check (f, FALSE, expected);

  stats = tether_template_get_stats (f->templates[0]);
  g_assert_cmpuint (stats->graceful_releases, ==, 1);
}

/* ------------------------------------------------------------------------ */
/* Each acquire timed on its own                                            */
/* ------------------------------------------------------------------------ */

static guint64
time_of (Fixture *f,
         guint    i)
{
  g_autoptr(TetherTemplateStats) stats = tether_template_get_stats (f->templates[i]);

  g_assert_cmpuint (stats->acquire_time_count, ==, test_acquire_timed () ? 1 : 0);
  return stats->acquire_time_total_ns;
}

/* Which template is slow, and how the enter reaches it. */
typedef enum
{
  SLOW_FIRST,         /* alpha sleeps in its acquire */
  SLOW_ASYNC_ONLY,    /* bravo completes after a timeout, in the context */
  SLOW_JOINED,        /* bravo runs on another thread: the enter's turn joins */
} Slow;

/* The slow acquire's time is at least its sleep; the acquires after it are
 * timed from their own start: a trivial acquire takes far less than the
 * sleep. */
static void
test_times (Fixture       *f,
            gconstpointer  data)
{
  Slow slow = GPOINTER_TO_INT (data);
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  guint slow_one = slow == SLOW_FIRST ? 0 : 1;
  guint64 after;

  switch (slow)
    {
    case SLOW_FIRST:
      f->tp[0]->delay_ms = SLOW_MS;
      break;
    case SLOW_ASYNC_ONLY:
      f->tp[1]->async_only = TRUE;
      f->tp[1]->delay_ms = SLOW_MS;
      break;
    case SLOW_JOINED:
      f->tp[0]->acquire_hook = other_thread_hook;
      f->tp[0]->acquire_hook_data = f;
      f->tp[1]->delay_ms = SLOW_MS;
      break;
    }
  templates_new (f);

  g_assert_true (tether_manager_acquire (manager, NULL));
  if (f->other != NULL)
    g_assert_nonnull (g_thread_join (f->other));

  if (!test_acquire_timed ())
    {
      for (guint i = 0; i < N_TEMPLATES; i++)
        g_assert_cmpuint (time_of (f, i), ==, 0);
    }
  else
    {
      g_assert_cmpuint (time_of (f, slow_one), >=, SLOW_NS);
      after = time_of (f, slow_one + 1);
      g_test_message ("slow %" G_GUINT64_FORMAT " ns, the one after %" G_GUINT64_FORMAT " ns",
                      time_of (f, slow_one), after);
      g_assert_cmpuint (after, <, SLOW_NS / 2);
      for (guint i = slow_one + 2; i < N_TEMPLATES; i++)
        g_assert_cmpuint (time_of (f, i), <, SLOW_NS / 2);
    }

  tether_manager_release (manager);
}

/* ------------------------------------------------------------------------ */
/* Exact totals under concurrency                                           */
/* ------------------------------------------------------------------------ */

#define N_CYCLES 300

typedef struct
{
  Fixture *f;
  gboolean direct;   /* acquire and release one by one, not by a manager */
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < N_CYCLES; i++)
    {
      if (w->direct)
        {
          for (guint t = 0; t < N_TEMPLATES; t++)
            g_assert_nonnull (tether_template_acquire (w->f->templates[t], NULL, NULL));
          for (guint t = 0; t < N_TEMPLATES; t++)
            g_assert_true (tether_template_release (w->f->templates[t], NULL, NULL));
        }
      else
        {
          g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);

          g_assert_true (tether_manager_acquire (manager, NULL));
          tether_manager_release (manager);
        }
    }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  return NULL;
}

/* Managers and direct callers on the same templates at once: no count is
 * lost. */
static void
test_concurrent_totals (Fixture       *f,
                        gconstpointer  data)
{
  Worker workers[4] = { { f, FALSE }, { f, FALSE }, { f, TRUE }, { f, TRUE } };
  GThread *threads[G_N_ELEMENTS (workers)];
  const guint64 total = G_N_ELEMENTS (workers) * N_CYCLES;

  templates_new (f);
  /* The direct callers' contexts have no manager, on purpose. */
  tether_set_unmanaged_warning_enabled (FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    threads[i] = g_thread_new ("stats-worker", worker_thread, &workers[i]);
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    g_thread_join (threads[i]);
  tether_set_unmanaged_warning_enabled (TRUE);

  for (guint i = 0; i < N_TEMPLATES; i++)
    {
      g_autoptr(TetherTemplateStats) stats = NULL;
      const Expected expected = { total };

      stats = assert_stats (f, i, &expected);
      g_assert_cmpuint (stats->graceful_releases, ==, total);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/stats-enter/each-enter", Fixture, NULL,
              fixture_set_up, test_each_enter, fixture_tear_down);
  g_test_add ("/stats-enter/held-already", Fixture, NULL,
              fixture_set_up, test_held_already, fixture_tear_down);
  g_test_add ("/stats-enter/async-only", Fixture, NULL,
              fixture_set_up, test_async_only, fixture_tear_down);
  g_test_add ("/stats-enter/asked-by-a-provider/the-next", Fixture, GUINT_TO_POINTER (1),
              fixture_set_up, test_asked_by_a_provider, fixture_tear_down);
  g_test_add ("/stats-enter/asked-by-a-provider/a-later", Fixture, GUINT_TO_POINTER (2),
              fixture_set_up, test_asked_by_a_provider, fixture_tear_down);
  g_test_add ("/stats-enter/asked-by-a-provider/the-last", Fixture, GUINT_TO_POINTER (3),
              fixture_set_up, test_asked_by_a_provider, fixture_tear_down);
  g_test_add ("/stats-enter/joined-another-thread", Fixture, NULL,
              fixture_set_up, test_joined_another_thread, fixture_tear_down);
  g_test_add ("/stats-enter/not-reached-after-a-failure", Fixture, NULL,
              fixture_set_up, test_not_reached_after_a_failure, fixture_tear_down);
  g_test_add ("/stats-enter/times/after-a-slow-one", Fixture, GINT_TO_POINTER (SLOW_FIRST),
              fixture_set_up, test_times, fixture_tear_down);
  g_test_add ("/stats-enter/times/after-an-async-one", Fixture,
              GINT_TO_POINTER (SLOW_ASYNC_ONLY), fixture_set_up, test_times, fixture_tear_down);
  g_test_add ("/stats-enter/times/after-a-joined-turn", Fixture, GINT_TO_POINTER (SLOW_JOINED),
              fixture_set_up, test_times, fixture_tear_down);
  g_test_add ("/stats-enter/concurrent/exact-totals", Fixture, NULL,
              fixture_set_up, test_concurrent_totals, fixture_tear_down);

  return g_test_run ();
}
