/* test-promises.c: promises that broke where async paths met sync ones
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One test per defect an adversarial review found (issue 10), each named
 * by the promise it checks; test-async-matrix.c covers the whole class of
 * caller × provider × role × owner × outcome. Every test is bounded: a
 * hang is turned into a failure by a deadline, not by the suite's time-out.
 */

#include <string.h>

#include "test-util.h"

#define BOUND_US (10 * G_USEC_PER_SEC)

/* Iterates @context (and the thread-default one) until @flag is set. */
static gboolean
iterate_until (GMainContext *context,
               gint         *flag)
{
  gint64 deadline = g_get_monotonic_time () + BOUND_US;

  while (!g_atomic_int_get (flag) && g_get_monotonic_time () < deadline)
    {
      gboolean busy = FALSE;

      if (context != NULL)
        busy |= g_main_context_iteration (context, FALSE);
      busy |= g_main_context_iteration (NULL, FALSE);
      if (!busy)
        g_usleep (200);
    }
  return g_atomic_int_get (flag);
}

/* ------------------------------------------------------------------------ */
/* 1. A provider asking for its own resource gets RECURSIVE, async too      */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;   /* set once made */
  gboolean        inner_async;
  GError         *inner_error;
  gint            inner_done;
  gint            n_calls;
} SelfAsking;

static void
inner_async_done (GObject      *object,
                  GAsyncResult *result,
                  gpointer      data)
{
  SelfAsking *sa = data;

  g_assert_null (tether_template_acquire_finish (TETHER_TEMPLATE (object), result, &sa->inner_error));
  g_atomic_int_set (&sa->inner_done, TRUE);
}

static void
self_asking_acquire_async (GMainContext        *context,
                           gpointer             data,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  SelfAsking *sa = data;
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_atomic_int_inc (&sa->n_calls);
  if (sa->inner_async)
    tether_template_acquire_async (sa->template, context, NULL, inner_async_done, sa);
  else
    {
      g_assert_null (tether_template_acquire (sa->template, context, &sa->inner_error));
      g_atomic_int_set (&sa->inner_done, TRUE);
    }

  g_task_return_pointer (task, g_strdup ("outer"), g_free);
  g_object_unref (task);
}

static gpointer
self_asking_finish (GAsyncResult  *result,
                    GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
free_string (gpointer resource, GMainContext *context, gboolean graceful, gpointer data)
{
  g_free (resource);
}

static void
outer_async_done (GObject      *object,
                  GAsyncResult *result,
                  gpointer      data)
{
  gpointer *out = data;

  *out = tether_template_acquire_finish (TETHER_TEMPLATE (object), result, NULL);
}

static void
test_recursive_async_only (gconstpointer data)
{
  const char *mode = data;   /* "sync-sync", "sync-async", "async-sync", "async-async" */
  gboolean outer_async = g_str_has_prefix (mode, "async");
  SelfAsking sa = { .inner_async = g_str_has_suffix (mode, "-async") };
  TetherProvider provider = {
    .abi_version = TETHER_PROVIDER_ABI_VERSION,
    .struct_size = sizeof (TetherProvider),
    .name = "self-asking",
    .acquire_async = self_asking_acquire_async,
    .acquire_finish = self_asking_finish,
    .release = free_string,
  };
  GMainContext *context = g_main_context_new ();
  gpointer outer = NULL;

  g_main_context_push_thread_default (context);
  sa.template = tether_template_new (&provider, &sa);

  if (outer_async)
    {
      gint64 deadline = g_get_monotonic_time () + BOUND_US;

      tether_template_acquire_async (sa.template, context, NULL, outer_async_done, &outer);
      while (outer == NULL && g_get_monotonic_time () < deadline)
        if (!g_main_context_iteration (context, FALSE))
          g_usleep (200);
    }
  else
    outer = tether_template_acquire (sa.template, context, NULL);

  g_assert_true (iterate_until (context, &sa.inner_done));
  g_assert_error (sa.inner_error, TETHER_ERROR, TETHER_ERROR_RECURSIVE);
  g_assert_nonnull (strstr (sa.inner_error->message, "self-asking"));
  g_assert_cmpstr (outer, ==, "outer");
  g_assert_cmpint (sa.n_calls, ==, 1);

  g_assert_true (tether_template_release (sa.template, context, NULL));
  g_main_context_pop_thread_default (context);
  tether_template_unregister (sa.template);
  g_object_unref (sa.template);
  g_clear_error (&sa.inner_error);
  g_main_context_unref (context);
}

/* ------------------------------------------------------------------------ */
/* 4. The unmanaged warning: once per context, across acquire/release      */
/* ------------------------------------------------------------------------ */

/* Counts the unmanaged warnings, and swallows "already registered"
 * criticals while a test races for a name. A handler for the Tether domain,
 * not a structured writer: from GLib 2.84 on, a test program's warnings are
 * printed by the test framework's handler and never reach the writer; a
 * domain handler is called first on every version. Everything else goes to
 * GLib's default handler. */
typedef struct
{
  gint n_unmanaged;
  gint swallow_refused;
  gint n_refused;
} LogCounts;

static LogCounts log_counts;

static void
test_log_handler (const char     *domain,
                  GLogLevelFlags  level,
                  const char     *message,
                  gpointer        data)
{
  if (strstr (message, "no active TetherManager") != NULL)
    {
      g_atomic_int_inc (&log_counts.n_unmanaged);
      return;
    }
  if (g_atomic_int_get (&log_counts.swallow_refused) &&
      strstr (message, "already registered") != NULL)
    {
      g_atomic_int_inc (&log_counts.n_refused);
      return;
    }
  g_log_default_handler (domain, level, message, data);
}

static void
test_warning_once_across_cycles (void)
{
  TestProvider *tp = test_provider_new ("warn-cycles");
  TetherTemplate *template = test_provider_template (tp);
  GMainContext *first = g_main_context_new ();
  GMainContext *second = g_main_context_new ();
  GMainContext *third = g_main_context_new ();
  /* Counted by the writer, so not fatal here. */
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  tether_set_unmanaged_warning_enabled (TRUE);
  g_atomic_int_set (&log_counts.n_unmanaged, 0);

  g_assert_nonnull (tether_template_acquire (template, first, NULL));
  g_assert_cmpint (g_atomic_int_get (&log_counts.n_unmanaged), ==, 0);

  /* The second context warns once, however often it acquires and
   * releases, so long as it lives. */
  for (guint i = 0; i < 5; i++)
    {
      g_assert_nonnull (tether_template_acquire (template, second, NULL));
      g_assert_true (tether_template_release (template, second, NULL));
    }
  g_assert_cmpint (g_atomic_int_get (&log_counts.n_unmanaged), ==, 1);

  /* Another context is another warning. */
  g_assert_nonnull (tether_template_acquire (template, third, NULL));
  g_assert_true (tether_template_release (template, third, NULL));
  g_assert_cmpint (g_atomic_int_get (&log_counts.n_unmanaged), ==, 2);

  g_assert_true (tether_template_release (template, first, NULL));
  tether_set_unmanaged_warning_enabled (FALSE);
  g_log_set_always_fatal (fatal);
  g_main_context_unref (first);
  g_main_context_unref (second);
  g_main_context_unref (third);
  g_assert_cmpint (tp->live, ==, 0);
  tether_template_unregister (template);
  g_object_unref (template);
  test_provider_free (tp);
}

/* ------------------------------------------------------------------------ */
/* 8. An async manager that reports CANCELLED is not active                */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GCancellable *cancel_me;
} CancelHook;

static void
cancel_inside_acquire (TestProvider *tp,
                       GMainContext *context,
                       gpointer      data)
{
  g_cancellable_cancel (data);
}

typedef struct
{
  TetherManager *manager;
  gboolean       ok;
  GError        *error;
  gint           done;
} ManagerResult;

static void
manager_done (GObject      *object,
              GAsyncResult *result,
              gpointer      data)
{
  ManagerResult *mr = data;

  mr->ok = tether_manager_acquire_finish (TETHER_MANAGER (object), result, &mr->error);
  g_atomic_int_set (&mr->done, TRUE);
}

static void
test_manager_async_cancelled_is_inactive (void)
{
  TestProvider *tp = test_provider_new ("cancel-inside");
  TetherTemplate *template = test_provider_template (tp);
  GMainContext *context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) managed = NULL;
  ManagerResult mr = { 0 };
  g_autoptr(TetherManager) second = NULL;
  g_autoptr(GError) error = NULL;

  /* The cancellable fires while the (last) provider runs. */
  tp->acquire_hook = cancel_inside_acquire;
  tp->acquire_hook_data = cancellable;

  g_main_context_push_thread_default (context);
  mr.manager = tether_manager_new (context, TETHER_MANAGER_NONE);
  tether_manager_acquire_async (mr.manager, cancellable, manager_done, &mr);
  g_assert_true (iterate_until (context, &mr.done));

  g_assert_false (mr.ok);
  g_assert_error (mr.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (tether_manager_is_active (mr.manager));
  managed = tether_dup_managed_contexts ();
  g_assert_cmpuint (managed->len, ==, 0);
  /* Exact rollback: what the cancelled scope acquired is released. */
  g_assert_cmpint (tp->live, ==, 0);
  g_assert_cmpint (tp->n_released_graceful, ==, tp->n_acquired);

  /* The context is free for another scope. */
  tp->acquire_hook = NULL;
  second = tether_manager_new (context, TETHER_MANAGER_NONE);
  g_assert_true (tether_manager_acquire (second, &error));
  g_assert_no_error (error);
  tether_manager_release (second);

  g_main_context_pop_thread_default (context);
  g_clear_object (&mr.manager);
  g_clear_error (&mr.error);
  g_main_context_unref (context);
  g_assert_cmpint (tp->live, ==, 0);
  tether_template_unregister (template);
  g_object_unref (template);
  test_provider_free (tp);
}

/* ------------------------------------------------------------------------ */
/* 10. An async acquire abandoned before it started keeps nothing alive    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;
  GMainContext   *target;
  GCancellable   *cancellable;
  GError         *error;
  gint            done;
} Abandoner;

static void
abandoned_done (GObject      *object,
                GAsyncResult *result,
                gpointer      data)
{
  Abandoner *ab = data;

  g_assert_null (tether_template_acquire_finish (ab->template, result, &ab->error));
  g_atomic_int_set (&ab->done, TRUE);
}

static gpointer
abandoner_thread (gpointer data)
{
  Abandoner *ab = data;
  GMainContext *own = g_main_context_new ();

  g_main_context_push_thread_default (own);
  /* The target is owned by the test thread, which is not iterating it: the
   * provider's start waits in the target. */
  tether_template_acquire_async (ab->template, ab->target, ab->cancellable, abandoned_done, ab);
  g_cancellable_cancel (ab->cancellable);
  iterate_until (own, &ab->done);
  g_main_context_pop_thread_default (own);
  g_main_context_unref (own);
  return NULL;
}

static void
test_abandoned_before_start_keeps_nothing_alive (void)
{
  TestProvider *tp = test_provider_new ("abandoned");
  TetherTemplate *template;
  GMainContext *target = g_main_context_new ();
  Abandoner ab = { 0 };
  gint finalized = FALSE;
  GThread *thread;

  tp->async_only = TRUE;
  template = test_provider_template (tp);
  test_watch_context (target, &finalized);

  g_main_context_push_thread_default (target);   /* owned here, never iterated */
  ab.template = template;
  ab.target = target;
  ab.cancellable = g_cancellable_new ();
  thread = g_thread_new ("abandoner", abandoner_thread, &ab);
  g_thread_join (thread);

  g_assert_true (g_atomic_int_get (&ab.done));
  g_assert_error (ab.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tp->n_acquire_calls, ==, 0);   /* never started */
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  g_main_context_pop_thread_default (target);
  g_main_context_unref (target);
  /* Nothing of tether's holds the context: its last reference is gone. */
  tether_purge ();
  g_assert_true (g_atomic_int_get (&finalized));

  g_clear_error (&ab.error);
  g_clear_object (&ab.cancellable);
  tether_template_unregister (template);
  g_object_unref (template);
  test_provider_free (tp);
}

/* ------------------------------------------------------------------------ */
/* 11. Names are unique among registered templates, atomically             */
/* ------------------------------------------------------------------------ */

static void
test_duplicate_name_refused (void)
{
  TestProvider *tp = test_provider_new ("twice");
  TetherTemplate *first = test_provider_template (tp);
  TetherTemplate *second;
  TetherTemplate *third;

  g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, "*'twice'*already registered*");
  second = tether_template_new (&tp->vtable, tp);
  g_test_assert_expected_messages ();
  g_assert_null (second);

  /* Once unregistered, the name is free again. */
  tether_template_unregister (first);
  third = tether_template_new (&tp->vtable, tp);
  g_assert_nonnull (third);
  tether_template_unregister (third);
  g_object_unref (third);
  g_object_unref (first);
  test_provider_free (tp);
}

static GObject *
make_object (GMainContext *context, gpointer data, GError **error)
{
  return g_object_new (G_TYPE_OBJECT, NULL);
}

static void
test_duplicate_name_object_template (void)
{
  g_autoptr(GError) error = NULL;
  TetherTemplate *first;
  TetherTemplate *second;

  first = tether_template_new_for_object ("obj-twice", NULL, G_TYPE_OBJECT,
                                          make_object, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  second = tether_template_new_for_object ("obj-twice", NULL, G_TYPE_OBJECT,
                                           make_object, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_DUPLICATE_NAME);
  g_assert_nonnull (strstr (error->message, "obj-twice"));
  g_assert_nonnull (strstr (error->message, "unregister"));

  tether_template_unregister (first);
  g_object_unref (first);
}

#define N_RACERS 8

typedef struct
{
  TetherProvider *vtable;
  TetherTemplate *made[N_RACERS];
  gint            go;
} Race;

typedef struct
{
  Race *race;
  guint index;
} Racer;

static gpointer
racer_thread (gpointer data)
{
  Racer *racer = data;

  while (!g_atomic_int_get (&racer->race->go))
    ;
  racer->race->made[racer->index] = tether_template_new (racer->race->vtable, NULL);
  return NULL;
}

static void
test_duplicate_name_race (void)
{
  if (g_test_subprocess ())
    {
      TestProvider *tp = test_provider_new ("raced");
      Race race = { .vtable = &tp->vtable };
      Racer racers[N_RACERS];
      GThread *threads[N_RACERS];
      guint n_made = 0;

      /* The refusals are criticals: counted here, not fatal. */
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      g_atomic_int_set (&log_counts.swallow_refused, TRUE);
      for (guint i = 0; i < N_RACERS; i++)
        {
          racers[i] = (Racer) { &race, i };
          threads[i] = g_thread_new ("racer", racer_thread, &racers[i]);
        }
      g_atomic_int_set (&race.go, TRUE);
      for (guint i = 0; i < N_RACERS; i++)
        g_thread_join (threads[i]);

      for (guint i = 0; i < N_RACERS; i++)
        if (race.made[i] != NULL)
          {
            n_made++;
            tether_template_unregister (race.made[i]);
            g_object_unref (race.made[i]);
          }
      g_assert_cmpuint (n_made, ==, 1);
      g_assert_cmpint (g_atomic_int_get (&log_counts.n_refused), ==, N_RACERS - 1);
      test_provider_free (tp);
      return;
    }

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* ------------------------------------------------------------------------ */
/* 12. A template made with g_object_new() is inert, never a crash        */
/* ------------------------------------------------------------------------ */

static void
bare_async_done (GObject      *object,
                 GAsyncResult *result,
                 gpointer      data)
{
  GError **error = data;

  g_assert_null (tether_template_acquire_finish (TETHER_TEMPLATE (object), result, error));
}

static void
test_bare_g_object_new_is_inert (void)
{
  TetherTemplate *bare;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) async_error = NULL;
  g_autoptr(GPtrArray) registered = NULL;
  GMainContext *context = g_main_context_new ();

  g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, "*tether_template_new*");
  bare = g_object_new (TETHER_TYPE_TEMPLATE, NULL);
  g_test_assert_expected_messages ();
  g_assert_nonnull (bare);

  g_assert_false (tether_template_is_registered (bare));
  registered = tether_dup_templates ();
  for (guint i = 0; i < registered->len; i++)
    g_assert_true (g_ptr_array_index (registered, i) != bare);

  g_assert_null (tether_template_acquire (bare, context, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NO_ACQUIRE);
  g_assert_nonnull (strstr (error->message, "tether_template_new"));

  g_main_context_push_thread_default (context);
  tether_template_acquire_async (bare, context, NULL, bare_async_done, &async_error);
  {
    gint64 deadline = g_get_monotonic_time () + BOUND_US;

    while (async_error == NULL && g_get_monotonic_time () < deadline)
      if (!g_main_context_iteration (context, FALSE))
        g_usleep (200);
  }
  g_main_context_pop_thread_default (context);
  g_assert_error (async_error, TETHER_ERROR, TETHER_ERROR_NO_ACQUIRE);

  g_assert_cmpuint (tether_template_get_n_held (bare), ==, 0);
  g_object_unref (bare);
  g_main_context_unref (context);
}

/* ------------------------------------------------------------------------ */
/* Managers and the global default context (issue 12, item 6)              */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherManager *manager;
  GError        *error;
  gboolean       ok;
} DefaultScope;

static gpointer
default_scope_thread (gpointer data)
{
  DefaultScope *ds = data;

  /* A pool worker with no thread-default context of its own. */
  ds->manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
  ds->ok = tether_manager_acquire (ds->manager, &ds->error);
  return NULL;
}

static void
test_manager_global_default_hint (void)
{
  TestProvider *tp = test_provider_new ("hint");
  TetherTemplate *template = test_provider_template (tp);
  DefaultScope first = { 0 };
  DefaultScope second = { 0 };

  g_thread_join (g_thread_new ("worker-1", default_scope_thread, &first));
  g_assert_no_error (first.error);
  g_assert_true (first.ok);
  g_assert_true (tether_manager_get_context (first.manager) == g_main_context_default ());

  g_thread_join (g_thread_new ("worker-2", default_scope_thread, &second));
  g_assert_false (second.ok);
  g_assert_error (second.error, TETHER_ERROR, TETHER_ERROR_ALREADY_MANAGED);
  /* The hint names the likely cause and the fix, not EXIST_OK alone. */
  g_assert_nonnull (strstr (second.error->message, "global default"));
  g_assert_nonnull (strstr (second.error->message, "g_main_context_push_thread_default"));

  /* Release from the global default context's side: this thread's. */
  tether_manager_release (first.manager);
  g_clear_object (&first.manager);
  g_clear_object (&second.manager);
  g_clear_error (&second.error);
  g_assert_cmpint (tp->live, ==, 0);
  tether_template_unregister (template);
  g_object_unref (template);
  test_provider_free (tp);
}

int
main (int   argc,
      char *argv[])
{
  GLogLevelFlags counted = G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL;

  g_test_init (&argc, &argv, NULL);
  g_log_set_handler ("Tether", counted | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                     test_log_handler, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

  g_test_add_data_func ("/promises/recursive/async-only/sync-outer-sync-inner", "sync-sync",
                        test_recursive_async_only);
  g_test_add_data_func ("/promises/recursive/async-only/sync-outer-async-inner", "sync-async",
                        test_recursive_async_only);
  g_test_add_data_func ("/promises/recursive/async-only/async-outer-sync-inner", "async-sync",
                        test_recursive_async_only);
  g_test_add_data_func ("/promises/recursive/async-only/async-outer-async-inner", "async-async",
                        test_recursive_async_only);
  g_test_add_func ("/promises/warning/once-per-context-across-cycles",
                   test_warning_once_across_cycles);
  g_test_add_func ("/promises/manager/async-cancelled-is-inactive",
                   test_manager_async_cancelled_is_inactive);
  g_test_add_func ("/promises/abandoned-before-start/keeps-nothing-alive",
                   test_abandoned_before_start_keeps_nothing_alive);
  g_test_add_func ("/promises/names/duplicate-refused", test_duplicate_name_refused);
  g_test_add_func ("/promises/names/duplicate-object-template", test_duplicate_name_object_template);
  g_test_add_func ("/promises/names/duplicate-race", test_duplicate_name_race);
  g_test_add_func ("/promises/construct/bare-g-object-new", test_bare_g_object_new_is_inert);
  g_test_add_func ("/promises/manager/global-default-hint", test_manager_global_default_hint);

  return g_test_run ();
}
