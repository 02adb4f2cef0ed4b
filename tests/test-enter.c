/* test-enter.c: a manager's synchronous enter, which prepares the flights
 * of every eager template in one hold and then runs them in order:
 * providers that ask for a template of the same enter (later, their own,
 * in a cycle, asynchronously), other threads that join a prepared flight,
 * and what a failure does to what was prepared, ran out of order or
 * joined.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

#include "tether-janitor-private.h"
#include "tether-flight-private.h"

#define N_PROVIDERS 3

typedef struct
{
  TestProvider   *tp[N_PROVIDERS];
  TetherTemplate *templates[N_PROVIDERS];
  GArray         *order;
  GMainContext   *context;

  /* What a hook saw. */
  gpointer        nested_resource;
  GError         *nested_error;
  GThread        *joiner;
  gint            async_done;
  gpointer        async_resource;
  GError         *async_error;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  static const char *names[] = { "alpha", "bravo", "charlie" };

  test_reset_global_state ();

  f->order = g_array_new (FALSE, FALSE, sizeof (gint));
  for (guint i = 0; i < N_PROVIDERS; i++)
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
  g_clear_error (&f->nested_error);
  g_clear_error (&f->async_error);
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
  tether_purge ();

  for (guint i = 0; i < N_PROVIDERS; i++)
    {
      g_assert_cmpint (f->tp[i]->max_in_acquire, <=, 1);
      test_provider_finish (f->tp[i], f->templates[i]);
    }
  g_array_unref (f->order);
}


static void
assert_calls (Fixture *f,
              gint     a,
              gint     b,
              gint     c)
{
  g_assert_cmpint (g_atomic_int_get (&f->tp[0]->n_acquire_calls), ==, a);
  g_assert_cmpint (g_atomic_int_get (&f->tp[1]->n_acquire_calls), ==, b);
  g_assert_cmpint (g_atomic_int_get (&f->tp[2]->n_acquire_calls), ==, c);
}

static void
assert_nothing_held (Fixture *f)
{
  for (guint i = 0; i < N_PROVIDERS; i++)
    g_assert_null (tether_template_lookup (f->templates[i], f->context));
}

/* ------------------------------------------------------------------------ */
/* Hooks: what a provider of the enter does inside its acquire              */
/* ------------------------------------------------------------------------ */

typedef struct
{
  Fixture *f;
  guint    ask;   /* which template to ask for */
} Ask;

static void
ask_sync_hook (TestProvider *tp,
               GMainContext *context,
               gpointer      data)
{
  Ask *ask = data;

  g_clear_error (&ask->f->nested_error);
  ask->f->nested_resource = tether_template_acquire (ask->f->templates[ask->ask], NULL,
                                                     &ask->f->nested_error);
}

static void
async_ask_done (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Fixture *f = user_data;

  f->async_resource = tether_template_acquire_finish (TETHER_TEMPLATE (object), result,
                                                      &f->async_error);
  g_atomic_int_set (&f->async_done, 1);
}

static void
ask_async_hook (TestProvider *tp,
                GMainContext *context,
                gpointer      data)
{
  Ask *ask = data;

  tether_template_acquire_async (ask->f->templates[ask->ask], NULL, NULL,
                                 async_ask_done, ask->f);
}

/* ------------------------------------------------------------------------ */
/* Providers asking for templates of the same enter                         */
/* ------------------------------------------------------------------------ */

/* alpha asks for charlie, which the enter prepared and has not reached:
 * charlie runs then, once, and the enter finds it done. Release is the
 * reverse of the order the resources were produced. */
static void
test_nested_later (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  Ask ask = { f, 2 };

  f->tp[0]->acquire_hook = ask_sync_hook;
  f->tp[0]->acquire_hook_data = &ask;

  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  g_assert_no_error (f->nested_error);
  g_assert_nonnull (f->nested_resource);
  g_assert_true (f->nested_resource == tether_template_lookup (f->templates[2], f->context));
  assert_calls (f, 1, 1, 1);
  test_assert_order (f->order, "+c+a+b");

  tether_manager_release (manager);
  test_assert_order (f->order, "+c+a+b-b-a-c");
  assert_nothing_held (f);
}

/* alpha asks for itself: RECURSIVE, as outside a manager; the enter goes
 * on. */
static void
test_nested_self (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  Ask ask = { f, 0 };

  f->tp[0]->acquire_hook = ask_sync_hook;
  f->tp[0]->acquire_hook_data = &ask;

  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  g_assert_null (f->nested_resource);
  g_assert_error (f->nested_error, TETHER_ERROR, TETHER_ERROR_RECURSIVE);
  assert_calls (f, 1, 1, 1);

  tether_manager_release (manager);
  test_assert_order (f->order, "+a+b+c-c-b-a");
}

/* alpha asks for charlie (run out of order), charlie asks for alpha, whose
 * acquire is on the stack: RECURSIVE for charlie's question, not a
 * deadlock. */
static void
test_nested_cycle (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  Ask ask_c = { f, 2 };
  Fixture inner = { 0 };
  Ask ask_a = { &inner, 0 };

  inner.templates[0] = f->templates[0];
  f->tp[0]->acquire_hook = ask_sync_hook;
  f->tp[0]->acquire_hook_data = &ask_c;
  f->tp[2]->acquire_hook = ask_sync_hook;
  f->tp[2]->acquire_hook_data = &ask_a;

  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  g_assert_error (inner.nested_error, TETHER_ERROR, TETHER_ERROR_RECURSIVE);
  g_assert_no_error (f->nested_error);
  assert_calls (f, 1, 1, 1);
  test_assert_order (f->order, "+c+a+b");

  tether_manager_release (manager);
  test_assert_order (f->order, "+c+a+b-b-a-c");
  g_clear_error (&inner.nested_error);
}

/* alpha asks for charlie, whose acquire fails; alpha succeeds anyway. At
 * its turn charlie's failure fails the enter (it is eager), without a
 * second attempt, and the rollback releases what the enter started. */
static void
test_nested_failed (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  Ask ask = { f, 2 };

  f->tp[0]->acquire_hook = ask_sync_hook;
  f->tp[0]->acquire_hook_data = &ask;
  f->tp[2]->fail_remaining = 1;

  g_assert_false (tether_manager_acquire (manager, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "Acquiring 'charlie' for context"));
  g_assert_error (f->nested_error, G_IO_ERROR, G_IO_ERROR_FAILED);
  assert_calls (f, 1, 1, 1);
  test_assert_order (f->order, "+a+b-b-a");
  assert_nothing_held (f);
  g_assert_false (tether_manager_is_active (manager));
}

/* bravo fails after alpha ran charlie out of order: the rollback releases
 * charlie too (the enter started it; before, it stayed held with no
 * manager), in the reverse of the order of production. */
static void
test_nested_rolled_back (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  Ask ask = { f, 2 };

  f->tp[0]->acquire_hook = ask_sync_hook;
  f->tp[0]->acquire_hook_data = &ask;
  f->tp[1]->fail_remaining = 1;

  g_assert_false (tether_manager_acquire (manager, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "Acquiring 'bravo' for context"));
  assert_calls (f, 1, 1, 1);
  test_assert_order (f->order, "+c+a-a-c");
  assert_nothing_held (f);
  g_assert_false (tether_manager_is_active (manager));

  /* The next enter starts clean. */
  g_clear_error (&error);
  f->tp[0]->acquire_hook = NULL;
  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  tether_manager_release (manager);
}

/* alpha asks for charlie asynchronously, on the enter's thread: a waiter
 * of the prepared flight, not RECURSIVE; it gets the resource the enter
 * produces. */
static void
test_nested_async (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  Ask ask = { f, 2 };

  f->tp[0]->acquire_hook = ask_async_hook;
  f->tp[0]->acquire_hook_data = &ask;

  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  g_assert_true (test_iterate_until (f->context, &f->async_done, 5000));
  g_assert_no_error (f->async_error);
  g_assert_true (f->async_resource == tether_template_lookup (f->templates[2], f->context));
  assert_calls (f, 1, 1, 1);
  test_assert_order (f->order, "+a+b+c");

  tether_manager_release (manager);
  test_assert_order (f->order, "+a+b+c-c-b-a");
}

/* A provider of the enter for context A enters a manager for a context B
 * of its own on the same thread; a provider of B's enter asks for
 * charlie for A, which A's enter prepared and has not reached: it runs
 * then, for A, with A as the thread-default context (not B). */
typedef struct
{
  Fixture      *f;
  GMainContext *inner;   /* B */
} NestedManager;

static void
enter_inner_manager_hook (TestProvider *tp,
                          GMainContext *context,
                          gpointer      data)
{
  NestedManager *nm = data;
  g_autoptr(TetherManager) inner = NULL;
  g_autoptr(GError) error = NULL;

  if (context != nm->f->context)
    return;

  nm->inner = g_main_context_new ();
  g_main_context_push_thread_default (nm->inner);
  inner = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (inner, &error));
  g_assert_no_error (error);
  tether_manager_release (inner);
  g_main_context_pop_thread_default (nm->inner);
}

static void
ask_outer_charlie_hook (TestProvider *tp,
                        GMainContext *context,
                        gpointer      data)
{
  NestedManager *nm = data;

  if (context != nm->inner)
    return;

  g_clear_error (&nm->f->nested_error);
  nm->f->nested_resource = tether_template_acquire (nm->f->templates[2], nm->f->context,
                                                    &nm->f->nested_error);
}

static void
test_nested_other_manager (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  NestedManager nm = { f, NULL };
  TestResource *charlie;

  f->tp[0]->acquire_hook = enter_inner_manager_hook;
  f->tp[0]->acquire_hook_data = &nm;
  f->tp[1]->acquire_hook = ask_outer_charlie_hook;
  f->tp[1]->acquire_hook_data = &nm;

  g_assert_true (tether_manager_acquire (manager, &error));
  g_assert_no_error (error);
  g_assert_no_error (f->nested_error);
  charlie = f->nested_resource;
  g_assert_nonnull (charlie);
  g_assert_true (charlie == tether_template_lookup (f->templates[2], f->context));
  g_assert_true (charlie->context == f->context);
  g_assert_true (charlie->thread_default == f->context);
  /* alpha, bravo, charlie for A; the same three for B, released with B. */
  assert_calls (f, 2, 2, 2);

  /* alpha's acquire for B ran inside alpha's for A: two at once, for two
   * contexts, as they should; the fixture checks one at a time. */
  g_assert_cmpint (f->tp[0]->max_in_acquire, ==, 2);
  f->tp[0]->max_in_acquire = 1;

  tether_manager_release (manager);
  g_main_context_unref (nm.inner);
}

/* ------------------------------------------------------------------------ */
/* Other threads meeting a prepared flight                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  Fixture      *f;
  guint         which;
  gboolean      async;
  gint          done;        /* atomic */
  gint          waiting;     /* atomic: the async ask is queued */
  gpointer      resource;
  GError       *error;
  GMainContext *own;         /* the joiner's thread-default (async) */
} Joiner;

static void
joiner_async_done (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Joiner *j = user_data;

  j->resource = tether_template_acquire_finish (TETHER_TEMPLATE (object), result, &j->error);
}

static gpointer
joiner_thread (gpointer data)
{
  Joiner *j = data;

  if (!j->async)
    j->resource = tether_template_acquire (j->f->templates[j->which], j->f->context, &j->error);
  else
    {
      j->own = g_main_context_new ();
      g_main_context_push_thread_default (j->own);
      tether_template_acquire_async (j->f->templates[j->which], j->f->context, NULL,
                                     joiner_async_done, j);
      g_atomic_int_set (&j->waiting, 1);
      while (j->resource == NULL && j->error == NULL)
        g_main_context_iteration (j->own, TRUE);
      g_main_context_pop_thread_default (j->own);
      g_main_context_unref (j->own);
    }

  g_atomic_int_set (&j->done, 1);
  return NULL;
}

/* Inside alpha's acquire: another thread asks for template @which, which
 * the enter has not reached, and alpha waits for it: until it has finished
 * (a synchronous ask), or until it waits on the acquire it started (an
 * asynchronous one, whose provider starts in the enter's context). A hang
 * would fail the deadline, not the test run. */
static void
start_joiner_hook (TestProvider *tp,
                   GMainContext *context,
                   gpointer      data)
{
  Joiner *j = data;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  g_assert_false (_tether_flight_is_under_way (j->f->templates[j->which], context));
  j->f->joiner = g_thread_new ("joiner", joiner_thread, j);

  if (!j->async)
    {
      while (!g_atomic_int_get (&j->done) && g_get_monotonic_time () < deadline)
        g_usleep (1000);
      g_assert_true (g_atomic_int_get (&j->done));
      return;
    }

  while ((!g_atomic_int_get (&j->waiting) ||
          _tether_flight_count_callers (j->f->templates[j->which], context) < 1) &&
         g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpuint (_tether_flight_count_callers (j->f->templates[j->which], context), ==, 1);
}

/* Another thread asks for charlie while the enter is in alpha, and alpha
 * waits for that thread: that thread runs charlie's provider itself, and
 * the enter finds charlie held at its turn. (When an enter prepared its
 * flights ahead, this was a deadlock: the other thread waited for the
 * enter, which waited for it.) With @data, bravo then fails: the rollback
 * leaves charlie, which the other thread acquired. */
static void
test_join_takes_over (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  gboolean bravo_fails = GPOINTER_TO_INT (data);
  Joiner j = { f, 2, FALSE };

  f->tp[0]->acquire_hook = start_joiner_hook;
  f->tp[0]->acquire_hook_data = &j;
  f->tp[1]->fail_remaining = bravo_fails;

  g_assert_true (tether_manager_acquire (manager, &error) == !bravo_fails);
  g_thread_join (f->joiner);
  g_assert_no_error (j.error);
  g_assert_nonnull (j.resource);
  g_assert_true (j.resource == tether_template_lookup (f->templates[2], f->context));
  /* Run on the joiner's thread, which cannot own the enter's context. */
  g_assert_true (((TestResource *) j.resource)->thread_default != f->context);
  assert_calls (f, 1, 1, 1);

  if (bravo_fails)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
      g_assert_null (tether_template_lookup (f->templates[0], f->context));
      test_assert_order (f->order, "+c+a-a");
      g_clear_error (&error);
      g_assert_true (tether_template_release (f->templates[2], f->context, &error));
      g_assert_no_error (error);
      test_assert_order (f->order, "+c+a-a-c");
      return;
    }

  g_assert_no_error (error);
  tether_manager_release (manager);
  test_assert_order (f->order, "+c+a+b-b-a-c");
}

/* An asynchronous ask from another thread for charlie starts an acquire in
 * the enter's context (it blocks no thread); alpha fails and the enter is
 * rolled back without touching it; the ask gets charlie once the context
 * is iterated. */
static void
test_join_async_dropped (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;
  Joiner j = { f, 2, TRUE };

  f->tp[0]->acquire_hook = start_joiner_hook;
  f->tp[0]->acquire_hook_data = &j;
  f->tp[0]->fail_remaining = 1;

  g_assert_false (tether_manager_acquire (manager, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "Acquiring 'alpha' for context"));
  g_assert_false (tether_manager_is_active (manager));

  g_assert_true (test_iterate_until (f->context, &j.done, 5000));
  g_thread_join (f->joiner);
  g_assert_no_error (j.error);
  g_assert_nonnull (j.resource);
  assert_calls (f, 1, 0, 1);
  g_assert_true (j.resource == tether_template_lookup (f->templates[2], f->context));
  g_assert_null (tether_template_lookup (f->templates[1], f->context));

  /* Held for the context with no manager: the joiner's to release. */
  g_clear_error (&error);
  g_assert_true (tether_template_release (f->templates[2], f->context, &error));
  g_assert_no_error (error);
  test_assert_order (f->order, "+c-c");
}

/* ------------------------------------------------------------------------ */
/* Enters of every size                                                     */
/* ------------------------------------------------------------------------ */

/* Enters of growing and shrinking sizes, one after the other on one
 * context: the enter's slots on its stack (up to 64) or on the heap, its
 * block of flights new, reused or too large to keep (over 256). Each
 * enter acquires exactly the extra templates, once each, and its release
 * gives back all of them, in reverse. */
static void
test_sizes (Fixture       *f,
            gconstpointer  data)
{
  static const guint sizes[] = { 1, 64, 65, 300, 10, 300, 0, 200 };
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();
  g_autoptr(GPtrArray) extra_tp = g_ptr_array_new ();

  /* Only the extra templates: the fixture's are on demand here. */
  for (guint i = 0; i < N_PROVIDERS; i++)
    tether_template_set_eager (f->templates[i], FALSE);

  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
      g_autoptr(GError) error = NULL;

      while (extra->len < sizes[k])
        {
          g_autofree char *name = g_strdup_printf ("extra-%u", extra->len);
          TestProvider *tp = test_provider_new (name);

          g_ptr_array_add (extra_tp, tp);
          g_ptr_array_add (extra, test_provider_template (tp));
        }
      while (extra->len > sizes[k])
        {
          TetherTemplate *t = g_ptr_array_steal_index (extra, extra->len - 1);
          TestProvider *tp = g_ptr_array_steal_index (extra_tp, extra_tp->len - 1);

          g_assert_cmpint (tp->live, ==, 0);
          tether_template_unregister (t);
          g_object_unref (t);
          test_provider_free (tp);
        }

      g_assert_true (tether_manager_acquire (manager, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < extra->len; i++)
        {
          TestProvider *tp = g_ptr_array_index (extra_tp, i);

          g_assert_nonnull (tether_template_lookup (g_ptr_array_index (extra, i), f->context));
          g_assert_cmpint (tp->live, ==, 1);
        }
      assert_nothing_held (f);

      tether_manager_release (manager);
      for (guint i = 0; i < extra->len; i++)
        {
          TestProvider *tp = g_ptr_array_index (extra_tp, i);

          g_assert_cmpint (tp->live, ==, 0);
          g_assert_cmpint (tp->n_released_graceful, ==, tp->n_acquire_calls);
        }
    }

  for (guint i = 0; i < extra->len; i++)
    {
      tether_template_unregister (g_ptr_array_index (extra, i));
      g_object_unref (g_ptr_array_index (extra, i));
      test_provider_free (g_ptr_array_index (extra_tp, i));
    }
  assert_calls (f, 0, 0, 0);
}

/* A racer thread asks synchronously for bravo exactly when the enter
 * reaches it: alpha's provider lets the racer go as it returns. The enter
 * and the racer both try to claim bravo's prepared flight; exactly one
 * may run it (0.2's take-over cleared the flag with a plain store after
 * testing it, so both could, and the second completion found no entry),
 * and both must get the one resource. Many rounds, since who wins is up
 * to the scheduler; test-stress under TSan found it first. */
typedef struct
{
  Fixture *f;
  gint     go;        /* atomic: round number the racer may start */
  gint     stop;      /* atomic */
  gint     round_done; /* atomic: last round the racer finished */
  gpointer resource;  /* the racer's, this round */
} Racer;

static gpointer
racer_thread (gpointer data)
{
  Racer *r = data;

  for (gint round = 1;; round++)
    {
      while (g_atomic_int_get (&r->go) < round)
        {
          if (g_atomic_int_get (&r->stop))
            return NULL;
          g_thread_yield ();
        }
      r->resource = tether_template_acquire (r->f->templates[1], r->f->context, NULL);
      g_atomic_int_set (&r->round_done, round);
    }
}

static void
release_racer (TestProvider *tp,
               GMainContext *context,
               gpointer      data)
{
  Racer *r = data;

  g_atomic_int_inc (&r->go);
}

static void
test_join_race_at_turn (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  Racer r = { f, 0, 0, 0, NULL };
  const gint rounds = 3000;
  GThread *thread;

  tether_set_unmanaged_warning_enabled (FALSE);
  f->tp[0]->acquire_hook = release_racer;
  f->tp[0]->acquire_hook_data = &r;
  thread = g_thread_new ("racer", racer_thread, &r);

  for (gint round = 1; round <= rounds; round++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (tether_manager_acquire (manager, &error));
      g_assert_no_error (error);
      while (g_atomic_int_get (&r.round_done) < round)
        g_thread_yield ();

      /* One provider call for bravo per round, whoever ran it. */
      g_assert_cmpint (g_atomic_int_get (&f->tp[1]->n_acquire_calls), ==, round);
      g_assert_nonnull (r.resource);
      g_assert_true (r.resource == tether_template_lookup (f->templates[1], f->context));
      tether_manager_release (manager);
      g_assert_cmpint (f->tp[1]->live, ==, 0);
    }

  g_atomic_int_set (&r.stop, TRUE);
  g_thread_join (thread);
  tether_set_unmanaged_warning_enabled (TRUE);
  g_assert_cmpint (f->tp[1]->n_double_release, ==, 0);
}

/* A manager's enters share one record of the context (and its sentinel),
 * and so do the enters of the managers after it: once a manager entered
 * the context, the record stays until the context dies, not made and
 * destroyed per scope. What each manager acquired is released all the
 * same. */
static void
test_record_kept (Fixture       *f,
                  gconstpointer  data)
{
  TetherManager *manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  guint32 id;

  /* A manager that never entered makes no record. */
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, 0);

  g_assert_true (tether_manager_acquire (manager, NULL));
  id = _tether_context_record_id_for_tests (f->context);
  g_assert_cmpuint (id, !=, 0);

  for (guint cycle = 0; cycle < 3; cycle++)
    {
      tether_manager_release (manager);
      assert_nothing_held (f);
      for (guint i = 0; i < N_PROVIDERS; i++)
        g_assert_cmpint (f->tp[i]->live, ==, 0);
      /* Idle, but kept for the next enter. */
      g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);

      g_assert_true (tether_manager_acquire (manager, NULL));
      g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);
      for (guint i = 0; i < N_PROVIDERS; i++)
        g_assert_cmpint (f->tp[i]->live, ==, 1);
    }

  /* Disposing the manager releases; the record stays for the next one. */
  g_object_unref (manager);
  assert_nothing_held (f);
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);

  manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (manager, NULL));
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);
  g_object_unref (manager);
  assert_nothing_held (f);
}

/* A kept record also holds what unmanaged callers acquire for the context
 * after the manager left. */
static void
test_record_kept_then_unmanaged (Fixture       *f,
                                 gconstpointer  data)
{
  TetherManager *manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  guint32 id;

  g_assert_true (tether_manager_acquire (manager, NULL));
  id = _tether_context_record_id_for_tests (f->context);
  tether_manager_release (manager);

  tether_set_unmanaged_warning_enabled (FALSE);
  g_assert_nonnull (tether_template_acquire (f->templates[0], f->context, NULL));
  tether_set_unmanaged_warning_enabled (TRUE);
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);

  g_object_unref (manager);
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);
  g_assert_cmpint (f->tp[0]->live, ==, 1);

  g_assert_true (tether_template_release (f->templates[0], f->context, NULL));
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);
}

/* Two managers of one context share the record, whichever goes first. */
static void
test_record_two_managers (Fixture       *f,
                          gconstpointer  data)
{
  TetherManager *first = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  TetherManager *second = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  guint32 id;

  g_assert_true (tether_manager_acquire (first, NULL));
  id = _tether_context_record_id_for_tests (f->context);
  tether_manager_release (first);
  g_assert_true (tether_manager_acquire (second, NULL));

  g_object_unref (first);
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);
  for (guint i = 0; i < N_PROVIDERS; i++)
    g_assert_cmpint (f->tp[i]->live, ==, 1);

  tether_manager_release (second);
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);
  for (guint i = 0; i < N_PROVIDERS; i++)
    g_assert_cmpint (f->tp[i]->live, ==, 0);

  g_object_unref (second);
  g_assert_cmpuint (_tether_context_record_id_for_tests (f->context), ==, id);
}

/* With the record kept, the context still finalizes once the manager is
 * gone, with nothing queued for purge, and its record goes with it. */
static void
test_record_context_dies (Fixture       *f,
                          gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  TetherManager *manager = tether_manager_new (context, TETHER_MANAGER_NONE);
  gint finalized = 0;

  test_watch_context (context, &finalized);
  g_main_context_push_thread_default (context);
  g_assert_true (tether_manager_acquire (manager, NULL));
  tether_manager_release (manager);
  g_assert_true (tether_manager_acquire (manager, NULL));
  tether_manager_release (manager);
  g_main_context_pop_thread_default (context);

  g_object_unref (manager);
  g_assert_cmpuint (_tether_context_record_id_for_tests (context), !=, 0);
  g_main_context_unref (context);
  g_assert_true (g_atomic_int_get (&finalized));
  /* Only the address is looked up: no record for it any more. */
  g_assert_cmpuint (_tether_context_record_id_for_tests (context), ==, 0);
  g_assert_cmpuint (tether_get_n_pending_purge (), ==, 0);
  for (guint i = 0; i < N_PROVIDERS; i++)
    g_assert_cmpint (f->tp[i]->n_released_ungraceful, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/enter/nested/later-template", test_nested_later);
  ADD ("/enter/nested/own-template", test_nested_self);
  ADD ("/enter/nested/cycle", test_nested_cycle);
  ADD ("/enter/nested/failed-out-of-order", test_nested_failed);
  ADD ("/enter/nested/rolled-back-in-production-order", test_nested_rolled_back);
  ADD ("/enter/nested/async-ask", test_nested_async);
  ADD ("/enter/nested/other-manager-asks", test_nested_other_manager);
  ADD ("/enter/join/other-thread-takes-over", test_join_takes_over);
  g_test_add ("/enter/join/taken-over-not-rolled-back", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_join_takes_over, fixture_tear_down);
  ADD ("/enter/join/async-waiter-dropped", test_join_async_dropped);
  ADD ("/enter/join/race-at-the-enters-turn", test_join_race_at_turn);
  ADD ("/enter/sizes", test_sizes);
  ADD ("/enter/record/kept-between-managers", test_record_kept);
  ADD ("/enter/record/kept-then-unmanaged", test_record_kept_then_unmanaged);
  ADD ("/enter/record/two-managers", test_record_two_managers);
  ADD ("/enter/record/context-dies", test_record_context_dies);

#undef ADD

  return g_test_run ();
}
