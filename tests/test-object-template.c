/* test-object-template.c: templates whose resources are GObjects made by
 * callables (the bindings' provider)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-util.h"

/* What the callables saw; counters are atomic. */
typedef struct
{
  GType         make_type;        /* what acquire returns */
  gboolean      fail;             /* acquire sets an error */
  gboolean      floating;         /* acquire returns a floating reference */
  gint          n_acquire;
  gint          n_release_graceful;
  gint          n_release_ungraceful;
  gint          n_wrong_thread_default; /* acquire ran without its context pushed */
  gint          n_release_bad_context;  /* release got a context against its rules */
  GMainContext *last_release_context;   /* identity only */
  GObject      *last_released;          /* identity only */
  gint          n_destroyed;            /* destroy notifies run */
} Calls;

static void
calls_init (Calls *calls)
{
  memset (calls, 0, sizeof *calls);
  calls->make_type = G_TYPE_CANCELLABLE;
}

static GObject *
acquire_cb (GMainContext  *context,
            gpointer       user_data,
            GError       **error)
{
  Calls *calls = user_data;

  g_atomic_int_inc (&calls->n_acquire);
  if (g_main_context_get_thread_default () != context &&
      !(context == g_main_context_default () && g_main_context_get_thread_default () == NULL))
    g_atomic_int_inc (&calls->n_wrong_thread_default);

  if (calls->fail)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "acquire refused");
      return NULL;
    }

  if (calls->floating)
    return g_object_new (G_TYPE_INITIALLY_UNOWNED, NULL);

  return g_object_new (calls->make_type, NULL);
}

static void
release_cb (GObject      *object,
            GMainContext *context,
            gboolean      graceful,
            gpointer      user_data)
{
  Calls *calls = user_data;

  g_assert_true (G_IS_OBJECT (object));
  calls->last_released = object;
  calls->last_release_context = context;
  if (graceful)
    {
      g_atomic_int_inc (&calls->n_release_graceful);
      if (context == NULL)
        g_atomic_int_inc (&calls->n_release_bad_context);
    }
  else
    {
      g_atomic_int_inc (&calls->n_release_ungraceful);
      if (context != NULL)
        g_atomic_int_inc (&calls->n_release_bad_context);
    }
}

static void
count_destroy (gpointer data)
{
  Calls *calls = data;

  g_atomic_int_inc (&calls->n_destroyed);
}

static TetherTemplate *
new_template (const char *name,
              GType       type,
              Calls      *calls)
{
  g_autoptr(GError) error = NULL;
  TetherTemplate *template;

  template = tether_template_new_for_object (name, "a test object", type,
                                             acquire_cb, calls, count_destroy,
                                             release_cb, calls, count_destroy,
                                             &error);
  g_assert_no_error (error);
  g_assert_nonnull (template);
  return template;
}

static void
drop_template (TetherTemplate *template)
{
  tether_template_unregister (template);
  g_object_unref (template);
}

/* The template holds one strong reference on the object; releasing runs the
 * release function with the live context, then drops it. */
static void
test_acquire_typed (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  GObject *object;
  GObject *again;
  g_autoptr(GError) error = NULL;

  calls_init (&calls);
  template = new_template ("obj-typed", G_TYPE_OBJECT, &calls);
  g_assert_cmpuint (tether_template_get_object_type (template), ==, G_TYPE_OBJECT);
  g_assert_null (tether_template_lookup_object (template, context));

  object = tether_template_acquire_object (template, context, &error);
  g_assert_no_error (error);
  g_assert_true (G_IS_CANCELLABLE (object));
  g_object_add_weak_pointer (object, (gpointer *) &object);
  g_assert_cmpuint (object->ref_count, ==, 1);

  again = tether_template_acquire_object (template, context, &error);
  g_assert_no_error (error);
  g_assert_true (again == object);
  g_assert_true (tether_template_lookup_object (template, context) == object);
  g_assert_true (tether_template_acquire (template, context, NULL) == (gpointer) object);
  g_assert_cmpint (calls.n_acquire, ==, 1);
  g_assert_cmpint (calls.n_wrong_thread_default, ==, 0);

  g_assert_true (tether_template_release (template, context, &error));
  g_assert_no_error (error);
  g_assert_cmpint (calls.n_release_graceful, ==, 1);
  g_assert_true (calls.last_release_context == context);
  g_assert_null (object);   /* the template's reference was the last one */
  g_assert_cmpint (calls.n_release_bad_context, ==, 0);

  drop_template (template);
  g_assert_cmpint (calls.n_destroyed, ==, 2);
  g_main_context_unref (context);
}

/* An object of another type fails the acquire and is not kept. */
static void
test_acquire_wrong_type (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  calls_init (&calls);
  calls.make_type = G_TYPE_OBJECT;
  template = new_template ("obj-wrong-type", G_TYPE_CANCELLABLE, &calls);

  g_assert_null (tether_template_acquire_object (template, context, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT);
  g_assert_nonnull (strstr (error->message, "GCancellable"));
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  g_assert_cmpint (calls.n_release_graceful + calls.n_release_ungraceful, ==, 0);

  drop_template (template);
  g_main_context_unref (context);
}

/* The acquire function's error reaches the caller; nothing is cached, the
 * next acquire tries again. */
static void
test_acquire_error (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  GObject *object;

  calls_init (&calls);
  calls.fail = TRUE;
  template = new_template ("obj-error", G_TYPE_CANCELLABLE, &calls);

  g_assert_null (tether_template_acquire_object (template, context, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  calls.fail = FALSE;
  object = tether_template_acquire_object (template, context, &error);
  g_assert_no_error (error);
  g_assert_nonnull (object);
  g_assert_cmpint (calls.n_acquire, ==, 2);

  g_assert_true (tether_template_release (template, context, NULL));
  drop_template (template);
  g_main_context_unref (context);
}

/* A floating reference is sunk, not leaked: the object dies on release. */
static void
test_acquire_floating (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  GObject *object;

  calls_init (&calls);
  calls.floating = TRUE;
  template = new_template ("obj-floating", G_TYPE_INITIALLY_UNOWNED, &calls);

  object = tether_template_acquire_object (template, context, NULL);
  g_assert_nonnull (object);
  g_assert_false (g_object_is_floating (object));
  g_assert_cmpuint (object->ref_count, ==, 1);
  g_object_add_weak_pointer (object, (gpointer *) &object);

  g_assert_true (tether_template_release (template, context, NULL));
  g_assert_null (object);

  drop_template (template);
  g_main_context_unref (context);
}

/* An invalid name is a GError, and the data given is freed, not leaked. */
static void
test_new_invalid_name (void)
{
  Calls calls;
  g_autoptr(GError) error = NULL;
  TetherTemplate *template;

  calls_init (&calls);
  template = tether_template_new_for_object ("not a name", NULL, G_TYPE_OBJECT,
                                             acquire_cb, &calls, count_destroy,
                                             release_cb, &calls, count_destroy,
                                             &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME);
  g_assert_cmpint (calls.n_destroyed, ==, 2);
}

/* The provider-name alphabet the headers and guides give: ASCII letters,
 * digits, '-', '_' and '.', starting with a letter, at most 128 characters;
 * anything else is INVALID_NAME. */
static void
test_new_name_alphabet (void)
{
  g_autofree char *longest = g_strnfill (128, 'n');
  g_autofree char *too_long = g_strnfill (129, 'n');
  const char *valid[] = { "a", "a.b", "org.example.Thing-2_x", "Z9", longest };
  const char *invalid[] = { "", ".a", "9a", "-a", "_a", "a b", "a/b", "a:b", "a\n",
                            "caf\xc3\xa9", too_long };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      Calls calls;
      TetherTemplate *template;

      calls_init (&calls);
      template = new_template (valid[i], G_TYPE_OBJECT, &calls);
      g_assert_cmpstr (tether_template_get_name (template), ==, valid[i]);
      drop_template (template);
    }

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      TetherTemplate *template;

      template = tether_template_new_for_object (invalid[i], NULL, G_TYPE_OBJECT,
                                                 acquire_cb, NULL, NULL, NULL, NULL, NULL,
                                                 &error);
      g_assert_null (template);
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME);
    }
}

/* A plain template is not an object template. */
static void
test_plain_template_type (void)
{
  TestProvider *tp = test_provider_new ("obj-plain");
  TetherTemplate *template = test_provider_template (tp);

  g_assert_cmpuint (tether_template_get_object_type (template), ==, G_TYPE_INVALID);

  drop_template (template);
  test_provider_free (tp);
}

/* A manager scope acquires the object with its context pushed and releases
 * it at scope exit. */
static gboolean
scope_check_object (gpointer   user_data,
                    GError   **error)
{
  TetherTemplate *template = user_data;
  GObject *object = tether_template_lookup_object (template, NULL);

  g_assert_true (G_IS_CANCELLABLE (object));
  g_object_set_data (G_OBJECT (template), "seen", object);
  return TRUE;
}

static void
test_manager_scope (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  calls_init (&calls);
  template = new_template ("obj-manager", G_TYPE_CANCELLABLE, &calls);

  g_main_context_push_thread_default (context);
  g_assert_true (tether_manager_run (context, TETHER_MANAGER_NONE, scope_check_object,
                                     template, &error));
  g_assert_no_error (error);
  g_main_context_pop_thread_default (context);

  g_assert_cmpint (calls.n_acquire, ==, 1);
  g_assert_cmpint (calls.n_wrong_thread_default, ==, 0);
  g_assert_cmpint (calls.n_release_graceful, ==, 1);
  g_assert_true (calls.last_released == g_object_get_data (G_OBJECT (template), "seen"));
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  drop_template (template);
  g_main_context_unref (context);
}

/* The object of a context destroyed without a release is released by
 * purge, ungracefully and without a context. */
static void
test_purge_dead_context (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  GObject *object;

  calls_init (&calls);
  template = new_template ("obj-purge", G_TYPE_CANCELLABLE, &calls);

  object = tether_template_acquire_object (template, context, NULL);
  g_assert_nonnull (object);
  g_object_add_weak_pointer (object, (gpointer *) &object);

  g_main_context_unref (context);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  g_assert_nonnull (object);   /* waiting for the janitor or purge */

  g_assert_cmpuint (tether_template_purge (template), ==, 1);
  g_assert_cmpint (calls.n_release_ungraceful, ==, 1);
  g_assert_cmpint (calls.n_release_graceful, ==, 0);
  g_assert_null (calls.last_release_context);
  g_assert_cmpint (calls.n_release_bad_context, ==, 0);
  g_assert_null (object);

  drop_template (template);
}

/* The asynchronous form, from the thread-default context. */
static void
on_acquired (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GObject **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = tether_template_acquire_object_finish (TETHER_TEMPLATE (source), result, &error);
  g_assert_no_error (error);
}

static void
test_acquire_async (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  GObject *object = NULL;

  calls_init (&calls);
  template = new_template ("obj-async", G_TYPE_CANCELLABLE, &calls);

  g_main_context_push_thread_default (context);
  tether_template_acquire_object_async (template, NULL, NULL, on_acquired, &object);
  while (object == NULL)
    g_main_context_iteration (context, TRUE);
  g_assert_true (G_IS_CANCELLABLE (object));
  g_assert_true (tether_template_lookup_object (template, context) == object);
  g_assert_cmpint (calls.n_wrong_thread_default, ==, 0);
  g_assert_true (tether_template_release (template, NULL, NULL));
  g_main_context_pop_thread_default (context);

  drop_template (template);
  g_main_context_unref (context);
}

/* The GClosure form the bindings use. */
static GObject *
closure_acquire (GMainContext *context,
                 gpointer      user_data)
{
  Calls *calls = user_data;

  g_atomic_int_inc (&calls->n_acquire);
  if (g_main_context_get_thread_default () != context)
    g_atomic_int_inc (&calls->n_wrong_thread_default);
  return g_object_new (G_TYPE_CANCELLABLE, NULL);
}

static void
closure_release (GObject      *object,
                 GMainContext *context,
                 gboolean      graceful,
                 gpointer      user_data)
{
  release_cb (object, context, graceful, user_data);
}

static void
closure_notify (gpointer  data,
                GClosure *closure)
{
  count_destroy (data);
}

static void
test_closures (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  GObject *object;

  calls_init (&calls);
  template = tether_template_new_for_object_with_closures (
               "obj-closures", NULL, G_TYPE_CANCELLABLE,
               g_cclosure_new (G_CALLBACK (closure_acquire), &calls, closure_notify),
               g_cclosure_new (G_CALLBACK (closure_release), &calls, closure_notify),
               &error);
  g_assert_no_error (error);

  object = tether_template_acquire_object (template, context, &error);
  g_assert_no_error (error);
  g_assert_true (G_IS_CANCELLABLE (object));
  g_assert_cmpint (calls.n_wrong_thread_default, ==, 0);
  g_assert_cmpuint (object->ref_count, ==, 1);

  g_assert_true (tether_template_release (template, context, NULL));
  g_assert_cmpint (calls.n_release_graceful, ==, 1);
  g_assert_true (calls.last_released == object);
  g_assert_true (calls.last_release_context == context);

  g_assert_cmpint (calls.n_destroyed, ==, 0);
  drop_template (template);
  g_assert_cmpint (calls.n_destroyed, ==, 2);   /* both closures finalized */
  g_main_context_unref (context);
}

/* Threads, each with its own context: one object each, none shared, all
 * alive at the same time, each released when its scope ends. */
#define N_THREADS 4

typedef struct
{
  TetherTemplate *template;
  gint           *n_inside;    /* atomic: workers holding their object */
  GObject        *seen;        /* identity, compared while all are alive */
  GObject        *released;    /* set by the test's weak pointer */
} Worker;

static gboolean
worker_scope (gpointer   user_data,
              GError   **error)
{
  Worker *worker = user_data;
  GObject *object = tether_template_acquire_object (worker->template, NULL, error);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  if (object == NULL)
    return FALSE;
  g_assert_true (tether_template_acquire_object (worker->template, NULL, NULL) == object);
  worker->seen = object;
  worker->released = object;
  g_object_add_weak_pointer (object, (gpointer *) &worker->released);

  /* Stay in scope until every worker holds its object. */
  g_atomic_int_inc (worker->n_inside);
  while (g_atomic_int_get (worker->n_inside) < N_THREADS &&
         g_get_monotonic_time () < deadline)
    g_usleep (500);
  g_assert_cmpint (g_atomic_int_get (worker->n_inside), ==, N_THREADS);
  return TRUE;
}

static gpointer
worker_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_run_in_new_context (worker_scope, data, &error));
  g_assert_no_error (error);
  return NULL;
}

static void
test_threads_isolated (void)
{
  Calls calls;
  Worker workers[N_THREADS];
  GThread *threads[N_THREADS];
  TetherTemplate *template;
  gint n_inside = 0;

  calls_init (&calls);
  template = new_template ("obj-threads", G_TYPE_CANCELLABLE, &calls);
  for (guint i = 0; i < N_THREADS; i++)
    workers[i] = (Worker) { .template = template, .n_inside = &n_inside };

  for (guint i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("obj-worker", worker_thread, &workers[i]);
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  /* All were alive together, so distinct addresses mean distinct objects. */
  for (guint i = 0; i < N_THREADS; i++)
    {
      g_assert_nonnull (workers[i].seen);
      g_assert_null (workers[i].released);   /* finalized at scope exit */
      for (guint j = i + 1; j < N_THREADS; j++)
        g_assert_true (workers[i].seen != workers[j].seen);
    }
  g_assert_cmpint (calls.n_acquire, ==, N_THREADS);
  g_assert_cmpint (calls.n_wrong_thread_default, ==, 0);
  g_assert_cmpint (calls.n_release_graceful, ==, N_THREADS);
  g_assert_cmpint (calls.n_release_ungraceful, ==, 0);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  drop_template (template);
}


/* dup_object gives a reference of the caller's own: the object outlives
 * its release for the context, and nothing is ever acquired by it. */
static void
test_dup_object (void)
{
  Calls calls;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  GObject *object;
  GObject *dup;
  g_autoptr(GError) error = NULL;

  calls_init (&calls);
  template = new_template ("obj-dup", G_TYPE_OBJECT, &calls);
  g_assert_null (tether_template_dup_object (template, context));
  g_assert_cmpint (calls.n_acquire, ==, 0);

  object = tether_template_acquire_object (template, context, &error);
  g_assert_no_error (error);
  dup = tether_template_dup_object (template, context);
  g_assert_true (dup == object);
  g_assert_cmpuint (object->ref_count, ==, 2);

  g_assert_true (tether_template_release (template, context, &error));
  g_assert_cmpint (calls.n_release_graceful, ==, 1);
  g_assert_cmpuint (dup->ref_count, ==, 1);   /* ours: still alive */
  g_assert_true (G_IS_CANCELLABLE (dup));
  g_assert_null (tether_template_dup_object (template, context));
  g_object_unref (dup);

  drop_template (template);
  g_main_context_unref (context);
}

/* A plain template's resources are not objects: a programmer error. */
static void
test_dup_object_plain (void)
{
  TestProvider *tp = test_provider_new ("obj-plain-dup");
  TetherTemplate *template = test_provider_template (tp);

  g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, "*get_object_type*");
  g_assert_null (tether_template_dup_object (template, NULL));
  g_test_assert_expected_messages ();
  drop_template (template);
  test_provider_free (tp);
}

/* The status-view pattern of docs/gtk.md: one thread reads what another
 * thread's scope holds while that scope acquires and releases. With the
 * borrowed pointer of lookup_object this is a use-after-free (AddressSanitizer
 * saw it); with dup_object every object read is alive. */
typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  gint            stop;
  guint           cycles;
} Churn;

static gpointer
churn_thread (gpointer data)
{
  Churn *churn = data;

  g_main_context_push_thread_default (churn->context);
  while (!g_atomic_int_get (&churn->stop))
    {
      g_autoptr(GError) error = NULL;

      g_assert_nonnull (tether_template_acquire_object (churn->template, NULL, &error));
      g_assert_no_error (error);
      /* Held for a moment, as a job would use it (without this, the
       * window between the acquire's end and the release's start is a few
       * instructions, and the other thread may never see the object). */
      for (guint i = 0; i < 100; i++)
        g_assert_nonnull (tether_template_lookup (churn->template, NULL));
      g_assert_true (tether_template_release (churn->template, NULL, &error));
      churn->cycles++;
    }
  g_main_context_pop_thread_default (churn->context);
  return NULL;
}

static void
test_dup_object_concurrent_release (void)
{
  Calls calls;
  Churn churn = { 0 };
  GThread *thread;
  guint seen = 0;
  gint64 deadline;

  calls_init (&calls);
  churn.template = new_template ("obj-dup-churn", G_TYPE_CANCELLABLE, &calls);
  churn.context = g_main_context_new ();
  thread = g_thread_new ("churn", churn_thread, &churn);

  /* At least 20000 reads, and until one saw the object: on a loaded
   * machine the churn thread may not run at all during the first ones, so
   * the bound is time (10 s), and the reader yields once it has read
   * enough, not a count of reads. */
  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  for (guint i = 0; i < 20000 || seen == 0; i++)
    {
      g_autoptr(GObject) object = tether_template_dup_object (churn.template, churn.context);

      if (object != NULL)
        {
          /* Reads the object's class: freed memory would show here. */
          g_assert_cmpstr (G_OBJECT_TYPE_NAME (object), ==, "GCancellable");
          seen++;
        }
      else if (i >= 20000)
        g_thread_yield ();
      if (i % 1024 == 0 && g_get_monotonic_time () > deadline)
        break;
    }
  g_atomic_int_set (&churn.stop, TRUE);
  g_thread_join (thread);

  g_assert_cmpuint (seen, >, 0);
  g_assert_cmpint (calls.n_acquire, ==, calls.n_release_graceful);
  g_assert_cmpuint (tether_template_get_n_held (churn.template), ==, 0);
  drop_template (churn.template);
  g_main_context_unref (churn.context);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

  g_test_add_func ("/object-template/acquire/typed", test_acquire_typed);
  g_test_add_func ("/object-template/acquire/wrong-type", test_acquire_wrong_type);
  g_test_add_func ("/object-template/acquire/error", test_acquire_error);
  g_test_add_func ("/object-template/acquire/floating", test_acquire_floating);
  g_test_add_func ("/object-template/acquire/async", test_acquire_async);
  g_test_add_func ("/object-template/new/invalid-name", test_new_invalid_name);
  g_test_add_func ("/object-template/new/name-alphabet", test_new_name_alphabet);
  g_test_add_func ("/object-template/plain-template", test_plain_template_type);
  g_test_add_func ("/object-template/manager/scope", test_manager_scope);
  g_test_add_func ("/object-template/purge/dead-context", test_purge_dead_context);
  g_test_add_func ("/object-template/closures", test_closures);
  g_test_add_func ("/object-template/threads/isolated", test_threads_isolated);
  g_test_add_func ("/object-template/dup/basic", test_dup_object);
  g_test_add_func ("/object-template/dup/plain-template", test_dup_object_plain);
  g_test_add_func ("/object-template/dup/concurrent-release", test_dup_object_concurrent_release);

  return g_test_run ();
}
