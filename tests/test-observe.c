/* test-observe.c: the debug log's events and fields, and the per-template
 * counters (scripted, asynchronous, concurrent)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

/* ------------------------------------------------------------------------ */
/* A structured writer that keeps tether's events                           */
/* ------------------------------------------------------------------------ */

static GMutex     events_lock;
static GPtrArray *events;   /* GHashTable* field -> value, while capturing */

static GLogWriterOutput
capture_writer (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  GHashTable *event = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gboolean ours = FALSE;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (fields[i].length >= 0)
        continue;   /* binary fields: none of tether's */
      g_hash_table_insert (event, g_strdup (fields[i].key), g_strdup (fields[i].value));
      if (g_str_equal (fields[i].key, "TETHER_EVENT"))
        ours = TRUE;
    }

  g_mutex_lock (&events_lock);
  if (ours && events != NULL)
    {
      g_ptr_array_add (events, event);
      event = NULL;
    }
  g_mutex_unlock (&events_lock);

  if (event == NULL)
    return G_LOG_WRITER_HANDLED;

  g_hash_table_unref (event);
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static void
capture_start (gboolean debug_enabled)
{
  g_mutex_lock (&events_lock);
  g_assert_null (events);
  events = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  g_mutex_unlock (&events_lock);
  g_log_set_debug_enabled (debug_enabled);
}

static GPtrArray *
capture_stop (void)
{
  GPtrArray *out;

  g_log_set_debug_enabled (FALSE);
  g_mutex_lock (&events_lock);
  out = g_steal_pointer (&events);
  g_mutex_unlock (&events_lock);

  return out;
}

/* The events named @event, in order. */
static GPtrArray *
events_named (GPtrArray  *all,
              const char *event)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < all->len; i++)
    if (g_strcmp0 (g_hash_table_lookup (g_ptr_array_index (all, i), "TETHER_EVENT"), event) == 0)
      g_ptr_array_add (out, g_ptr_array_index (all, i));

  return out;
}

static GHashTable *
the_event (GPtrArray  *all,
           const char *event)
{
  g_autoptr(GPtrArray) named = events_named (all, event);

  if (named->len != 1)
    g_error ("expected one '%s' event, got %u", event, named->len);
  return g_ptr_array_index (named, 0);
}

static void
assert_field (GHashTable *event,
              const char *key,
              const char *value)
{
  g_assert_cmpstr (g_hash_table_lookup (event, key), ==, value);
}

static void
assert_context_field (GHashTable   *event,
                      GMainContext *context)
{
  g_autofree char *expected = g_strdup_printf ("%p", context);

  assert_field (event, "TETHER_CONTEXT", expected);
}

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */
/* ------------------------------------------------------------------------ */

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
  f->tp = test_provider_new ("observed");
  f->template = test_provider_template (f->tp);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  tether_purge ();
  g_assert_cmpint (f->tp->live, ==, 0);
  g_assert_cmpint (f->tp->n_double_release, ==, 0);
  tether_template_unregister (f->template);
  g_object_unref (f->template);
  test_provider_free (f->tp);
}

static TetherTemplateStats *
stats_of (TetherTemplate *template)
{
  TetherTemplateStats *stats = tether_template_get_stats (template);

  g_assert_nonnull (stats);
  /* What every snapshot of an idle template satisfies. */
  g_assert_cmpuint (stats->acquires_done, <=, stats->acquires);
  g_assert_cmpuint (stats->acquire_time_max_ns, <=, stats->acquire_time_total_ns);
  if (test_acquire_timed ())
    g_assert_cmpuint (stats->acquire_time_count, ==, stats->acquires_done);
  else
    {
      /* Counted, never timed. */
      g_assert_cmpuint (stats->acquire_time_count, ==, 0);
      g_assert_cmpuint (stats->acquire_time_total_ns, ==, 0);
      g_assert_cmpuint (stats->acquire_time_max_ns, ==, 0);
    }
  return stats;
}

/* A lower bound on an acquire time, or, untimed, the zero it must be. */
static void
assert_time_at_least (guint64 value,
                      guint64 bound)
{
  if (test_acquire_timed ())
    g_assert_cmpuint (value, >=, bound);
  else
    g_assert_cmpuint (value, ==, 0);
}

/* ------------------------------------------------------------------------ */
/* The log                                                                  */
/* ------------------------------------------------------------------------ */

/* Off unless enabled: the same sequence logs nothing of tether's. */
static void
test_log_off_by_default (Fixture       *f,
                         gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GPtrArray) got = NULL;

  capture_start (FALSE);
  g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
  g_assert_true (tether_template_release (f->template, context, NULL));
  g_main_context_unref (context);
  got = capture_stop ();

  g_assert_cmpuint (got->len, ==, 0);
}

/* A first acquire, a release, a failure, a death and a purge, each with the
 * journal fields a filter needs. */
static void
test_log_events (Fixture       *f,
                 gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  GMainContext *doomed = g_main_context_new ();
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GPtrArray) started = NULL;
  g_autoptr(GPtrArray) finished = NULL;
  GHashTable *e;

  capture_start (TRUE);
  g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
  g_assert_nonnull (tether_template_acquire (f->template, context, NULL)); /* a hit: silent */
  g_assert_true (tether_template_release (f->template, context, NULL));
  g_atomic_int_set (&f->tp->fail_remaining, 1);
  g_assert_null (tether_template_acquire (f->template, context, NULL));
  g_assert_nonnull (tether_template_acquire (f->template, doomed, NULL));
  g_main_context_unref (doomed);
  g_assert_cmpuint (tether_purge (), ==, 1);
  got = capture_stop ();

  for (guint i = 0; i < got->len; i++)
    {
      GHashTable *event = g_ptr_array_index (got, i);

      assert_field (event, "GLIB_DOMAIN", "Tether");
      assert_field (event, "PRIORITY", "7");
      g_assert_nonnull (g_hash_table_lookup (event, "MESSAGE"));
    }

  /* Three acquires: ok, failed, ok; the hit is not one. */
  started = events_named (got, "flight-started");
  finished = events_named (got, "flight-finished");
  g_assert_cmpuint (started->len, ==, 3);
  g_assert_cmpuint (finished->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      GHashTable *event = g_ptr_array_index (finished, i);
      const char *duration = g_hash_table_lookup (event, "TETHER_DURATION_US");
      guint64 us;

      assert_field (g_ptr_array_index (started, i), "TETHER_TEMPLATE", "observed");
      assert_field (event, "TETHER_TEMPLATE", "observed");
      assert_context_field (event, i < 2 ? context : doomed);
      g_assert_nonnull (duration);
      g_assert_true (g_ascii_string_to_unsigned (duration, 10, 0, G_MAXUINT64, &us, NULL));
      assert_field (event, "TETHER_OUTCOME", i == 1 ? "error" : "ok");
    }
  g_assert_nonnull (strstr (g_hash_table_lookup (g_ptr_array_index (finished, 1), "MESSAGE"),
                            "failed on purpose"));

  e = the_event (got, "release-graceful");
  assert_field (e, "TETHER_TEMPLATE", "observed");
  assert_context_field (e, context);
  g_assert_nonnull (g_hash_table_lookup (e, "TETHER_DURATION_US"));

  /* The context was served from the first acquire on; it stopped being
   * served at the release and again after the failure, so three times. */
  {
    g_autoptr(GPtrArray) served = events_named (got, "context-first-served");

    g_assert_cmpuint (served->len, ==, 3);
    assert_context_field (g_ptr_array_index (served, 0), context);
    assert_context_field (g_ptr_array_index (served, 2), doomed);
  }

  e = the_event (got, "context-died");
  assert_context_field (e, doomed);
  assert_field (e, "TETHER_COUNT", "1");

  e = the_event (got, "release-ungraceful");
  assert_field (e, "TETHER_TEMPLATE", "observed");
  g_assert_null (g_hash_table_lookup (e, "TETHER_CONTEXT"));

  e = the_event (got, "purge");
  assert_field (e, "TETHER_COUNT", "1");
  g_assert_nonnull (g_hash_table_lookup (e, "TETHER_DURATION_US"));

  g_main_context_unref (context);
}

/* A manager's enter and leave, with the manager in the message. */
static void
test_log_manager (Fixture       *f,
                  gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(TetherManager) manager = NULL;
  g_autoptr(GPtrArray) got = NULL;
  g_autofree char *pointer = NULL;
  GHashTable *e;

  g_main_context_push_thread_default (context);
  manager = tether_manager_new (context, TETHER_MANAGER_NONE);
  pointer = g_strdup_printf ("%p", manager);

  capture_start (TRUE);
  g_assert_true (tether_manager_acquire (manager, NULL));
  tether_manager_release (manager);
  got = capture_stop ();

  e = the_event (got, "manager-enter");
  assert_context_field (e, context);
  g_assert_nonnull (strstr (g_hash_table_lookup (e, "MESSAGE"), pointer));
  e = the_event (got, "manager-leave");
  assert_context_field (e, context);
  the_event (got, "release-graceful");

  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* A module loaded, and one refused, with its path and its error. */
static void
test_log_modules (void)
{
  g_autofree char *good = g_test_build_filename (G_TEST_BUILT, "plugins", "corpus", "good.so", NULL);
  g_autofree char *missing = g_test_build_filename (G_TEST_BUILT, "no-such-module.so", NULL);
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) got = NULL;
  GHashTable *e;

  test_reset_global_state ();
  capture_start (TRUE);
  template = tether_load_provider_full (good, NULL, TETHER_LOAD_ALLOW_INSECURE_PATH, &error);
  g_assert_no_error (error);
  g_assert_null (tether_load_provider_full (missing, NULL, TETHER_LOAD_ALLOW_INSECURE_PATH, &error));
  g_assert_nonnull (error);
  got = capture_stop ();

  e = the_event (got, "module-loaded");
  assert_field (e, "TETHER_MODULE", good);
  assert_field (e, "TETHER_TEMPLATE", tether_template_get_name (template));
  assert_field (e, "TETHER_OUTCOME", "ok");
  e = the_event (got, "module-refused");
  assert_field (e, "TETHER_MODULE", missing);
  assert_field (e, "TETHER_OUTCOME", "error");
  g_assert_nonnull (strstr (g_hash_table_lookup (e, "MESSAGE"), error->message));

  tether_template_unregister (template);
}

/* ------------------------------------------------------------------------ */
/* Counters                                                                 */
/* ------------------------------------------------------------------------ */

/* A scripted sequence, counted exactly. */
static void
test_stats_scripted (Fixture       *f,
                     gconstpointer  data)
{
  GMainContext *a = g_main_context_new ();
  GMainContext *b = g_main_context_new ();
  g_autoptr(TetherTemplateStats) stats = NULL;
  g_autoptr(TetherTemplateStats) copy = NULL;

  stats = stats_of (f->template);
  g_assert_cmpuint (stats->acquires, ==, 0);
  g_assert_cmpuint (stats->n_held, ==, 0);
  g_clear_pointer (&stats, tether_template_stats_free);

  g_assert_nonnull (tether_template_acquire (f->template, a, NULL));
  for (guint i = 0; i < 10; i++)   /* hits */
    g_assert_nonnull (tether_template_acquire (f->template, a, NULL));
  g_assert_nonnull (tether_template_acquire (f->template, b, NULL));
  g_assert_true (tether_template_release (f->template, a, NULL));
  g_assert_false (tether_template_release (f->template, a, NULL));  /* nothing held */

  g_atomic_int_set (&f->tp->fail_remaining, 1);
  g_assert_null (tether_template_acquire (f->template, a, NULL));
  f->tp->return_null_no_error = TRUE;
  g_assert_null (tether_template_acquire (f->template, a, NULL));
  f->tp->return_null_no_error = FALSE;
  /* A resource and an error: a failure, its resource released but never
   * held, so not a release. */
  f->tp->return_value_and_error = TRUE;
  g_assert_null (tether_template_acquire (f->template, a, NULL));
  f->tp->return_value_and_error = FALSE;
  g_assert_nonnull (tether_template_acquire (f->template, a, NULL));

  g_main_context_unref (b);   /* its resource is purged */

  stats = stats_of (f->template);
  g_assert_cmpuint (stats->acquires, ==, 6);
  g_assert_cmpuint (stats->acquires_done, ==, 6);
  g_assert_cmpuint (stats->failures, ==, 3);
  g_assert_cmpuint (stats->joins, ==, 0);
  g_assert_cmpuint (stats->graceful_releases, ==, 1);
  g_assert_cmpuint (stats->ungraceful_releases, ==, 0);
  g_assert_cmpuint (stats->purged, ==, 1);
  g_assert_cmpuint (stats->n_held, ==, 1);
  g_assert_cmpuint (stats->acquire_time_count, ==, test_acquire_timed () ? 6 : 0);
  assert_time_at_least (stats->acquire_time_max_ns, 1);
  g_clear_pointer (&stats, tether_template_stats_free);

  g_assert_cmpuint (tether_purge (), ==, 1);
  g_assert_true (tether_template_release (f->template, a, NULL));

  stats = stats_of (f->template);
  g_assert_cmpuint (stats->graceful_releases, ==, 2);
  g_assert_cmpuint (stats->ungraceful_releases, ==, 1);
  g_assert_cmpuint (stats->n_held, ==, 0);
  /* Every resource acquired is held, released or purged. */
  g_assert_cmpuint (stats->acquires_done - stats->failures, ==,
                    stats->graceful_releases + stats->purged + stats->n_held);
  g_assert_cmpint (f->tp->n_released_graceful, ==, 3);  /* the provider saw the third */

  copy = tether_template_stats_copy (stats);
  g_assert_cmpmem (copy, sizeof *copy, stats, sizeof *stats);
  g_assert_true (G_TYPE_IS_BOXED (TETHER_TYPE_TEMPLATE_STATS));

  g_main_context_unref (a);
}

/* A provider's acquire time: at least what it slept, the maximum the
 * longest. Lower bounds only: a slow machine makes them larger. */
static void
test_stats_acquire_time (Fixture       *f,
                         gconstpointer  data)
{
  GMainContext *a = g_main_context_new ();
  GMainContext *b = g_main_context_new ();
  g_autoptr(TetherTemplateStats) stats = NULL;

  f->tp->delay_ms = 20;
  g_assert_nonnull (tether_template_acquire (f->template, a, NULL));
  f->tp->delay_ms = 5;
  g_assert_nonnull (tether_template_acquire (f->template, b, NULL));

  stats = stats_of (f->template);
  g_assert_cmpuint (stats->acquire_time_count, ==, test_acquire_timed () ? 2 : 0);
  assert_time_at_least (stats->acquire_time_max_ns, 20 * G_TIME_SPAN_MILLISECOND * 1000);
  assert_time_at_least (stats->acquire_time_total_ns, 25 * G_TIME_SPAN_MILLISECOND * 1000);

  g_assert_true (tether_template_release (f->template, a, NULL));
  g_assert_true (tether_template_release (f->template, b, NULL));
  g_main_context_unref (a);
  g_main_context_unref (b);
}

static void
on_acquired (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  gint *done = user_data;

  if (tether_template_acquire_finish (TETHER_TEMPLATE (source), result, NULL) != NULL)
    g_atomic_int_set (done, 1);
  else
    g_atomic_int_set (done, 2);
}

/* An asynchronous provider is counted and timed from acquire_async to its
 * callback, failures included. */
static void
test_stats_async (gconstpointer data)
{
  TestProvider *tp;
  TetherTemplate *template;
  GMainContext *context = g_main_context_new ();
  g_autoptr(TetherTemplateStats) stats = NULL;
  gint done = 0;

  test_reset_global_state ();
  tp = test_provider_new ("observed-async");
  tp->async_only = TRUE;
  tp->delay_ms = 10;
  template = test_provider_template (tp);

  g_main_context_push_thread_default (context);
  tether_template_acquire_async (template, context, NULL, on_acquired, &done);
  g_assert_true (test_iterate_until (context, &done, 10000));
  g_assert_cmpint (done, ==, 1);
  g_assert_true (tether_template_release (template, context, NULL));

  g_atomic_int_set (&tp->fail_remaining, 1);
  done = 0;
  tether_template_acquire_async (template, context, NULL, on_acquired, &done);
  g_assert_true (test_iterate_until (context, &done, 10000));
  g_assert_cmpint (done, ==, 2);
  g_main_context_pop_thread_default (context);

  stats = stats_of (template);
  g_assert_cmpuint (stats->acquires, ==, 2);
  g_assert_cmpuint (stats->acquires_done, ==, 2);
  g_assert_cmpuint (stats->failures, ==, 1);
  g_assert_cmpuint (stats->graceful_releases, ==, 1);
  g_assert_cmpuint (stats->n_held, ==, 0);
  assert_time_at_least (stats->acquire_time_max_ns, 10 * G_TIME_SPAN_MILLISECOND * 1000);

  g_main_context_unref (context);
  tether_template_unregister (template);
  g_object_unref (template);
  test_provider_free (tp);
}

/* Threads each acquiring and releasing their own contexts: nothing lost. */
#define N_THREADS 4
#define N_ROUNDS 200

typedef struct
{
  TetherTemplate *template;
  TestProvider   *tp;
} Shared;

/* Each acquire's time lies within the call that made it, as the test
 * measures it with g_get_monotonic_time() (the same clock, in
 * microseconds). */
static void
test_stats_acquire_time_within_the_call (Fixture       *f,
                                         gconstpointer  data)
{
  static const guint delays_ms[] = { 0, 1, 5, 20, 0 };
  GMainContext *contexts[G_N_ELEMENTS (delays_ms)];
  guint64 total = 0;

  for (guint i = 0; i < G_N_ELEMENTS (delays_ms); i++)
    {
      g_autoptr(TetherTemplateStats) stats = NULL;
      gint64 before, after;
      guint64 took;

      contexts[i] = g_main_context_new ();
      f->tp->delay_ms = delays_ms[i];
      before = g_get_monotonic_time ();
      g_assert_nonnull (tether_template_acquire (f->template, contexts[i], NULL));
      after = g_get_monotonic_time ();

      stats = stats_of (f->template);
      took = stats->acquire_time_total_ns - total;
      total = stats->acquire_time_total_ns;
      g_test_message ("%u ms: %" G_GUINT64_FORMAT " ns, the call %" G_GINT64_FORMAT " us",
                      delays_ms[i], took, after - before);
      assert_time_at_least (took, (guint64) delays_ms[i] * 1000 * 1000);
      /* A microsecond of slack, since the test's clock has no finer
       * ticks. */
      g_assert_cmpuint (took, <=, (guint64) (after - before + 1) * 1000);
    }

  for (guint i = 0; i < G_N_ELEMENTS (delays_ms); i++)
    {
      g_assert_true (tether_template_release (f->template, contexts[i], NULL));
      g_main_context_unref (contexts[i]);
    }
}

/* A provider may read its template's counters from inside its acquire:
 * the read takes the state lock once and nothing else, and sees the
 * acquire under way (started, not done). */
static void
read_stats_hook (TestProvider *tp,
                 GMainContext *context,
                 gpointer      data)
{
  TetherTemplate *template = data;
  g_autoptr(TetherTemplateStats) stats = tether_template_get_stats (template);

  g_assert_cmpuint (stats->acquires, ==, 1);
  g_assert_cmpuint (stats->acquires_done, ==, 0);
  g_assert_cmpuint (stats->n_held, ==, 0);
}

static void
test_stats_read_in_a_provider (Fixture       *f,
                               gconstpointer  data)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(TetherTemplateStats) stats = NULL;

  f->tp->acquire_hook = read_stats_hook;
  f->tp->acquire_hook_data = f->template;
  g_assert_nonnull (tether_template_acquire (f->template, context, NULL));
  f->tp->acquire_hook = NULL;

  stats = stats_of (f->template);
  g_assert_cmpuint (stats->acquires_done, ==, 1);
  g_assert_cmpuint (stats->n_held, ==, 1);
  g_assert_true (tether_template_release (f->template, context, NULL));
  g_main_context_unref (context);
}

static gpointer
acquire_release_thread (gpointer data)
{
  Shared *shared = data;

  for (guint i = 0; i < N_ROUNDS; i++)
    {
      GMainContext *context = g_main_context_new ();

      g_assert_nonnull (tether_template_acquire (shared->template, context, NULL));
      g_assert_nonnull (tether_template_acquire (shared->template, context, NULL));
      if (i % 4 == 0)
        g_main_context_unref (context);   /* dies holding it: purged */
      else
        {
          g_assert_true (tether_template_release (shared->template, context, NULL));
          g_main_context_unref (context);
        }
    }

  return NULL;
}

static void
test_stats_concurrent (Fixture       *f,
                       gconstpointer  data)
{
  Shared shared = { f->template, f->tp };
  GThread *threads[N_THREADS];
  g_autoptr(TetherTemplateStats) stats = NULL;
  const guint64 total = N_THREADS * N_ROUNDS, dead = N_THREADS * (N_ROUNDS / 4);

  for (guint i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("acquire-release", acquire_release_thread, &shared);
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);
  tether_purge ();

  stats = stats_of (f->template);
  g_assert_cmpuint (stats->acquires, ==, total);
  g_assert_cmpuint (stats->acquires_done, ==, total);
  g_assert_cmpuint (stats->failures, ==, 0);
  g_assert_cmpuint (stats->joins, ==, 0);
  g_assert_cmpuint (stats->graceful_releases, ==, total - dead);
  g_assert_cmpuint (stats->purged, ==, dead);
  g_assert_cmpuint (stats->ungraceful_releases, ==, dead);
  g_assert_cmpuint (stats->n_held, ==, 0);
  g_assert_cmpint (f->tp->n_acquire_calls, ==, (gint) total);
}

/* Callers racing for one context while the provider is blocked: one
 * acquire, every other caller a join, each logged. */
typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  TestGate       *gate;
} JoinShared;

static void
block_on_gate (TestProvider *tp,
               GMainContext *context,
               gpointer      data)
{
  test_gate_wait (data);
}

static gpointer
join_thread (gpointer data)
{
  JoinShared *shared = data;

  g_assert_nonnull (tether_template_acquire (shared->template, shared->context, NULL));
  return NULL;
}

static gboolean
joins_reached (TetherTemplate *template,
               guint64         n)
{
  g_autoptr(TetherTemplateStats) stats = tether_template_get_stats (template);

  return stats->joins >= n;
}

static void
test_stats_joins (Fixture       *f,
                  gconstpointer  data)
{
  JoinShared shared = { f->template, g_main_context_new (), test_gate_new () };
  GThread *threads[N_THREADS];
  g_autoptr(TetherTemplateStats) stats = NULL;
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GPtrArray) joined = NULL;

  f->tp->acquire_hook = block_on_gate;
  f->tp->acquire_hook_data = shared.gate;

  capture_start (TRUE);
  threads[0] = g_thread_new ("leader", join_thread, &shared);
  test_gate_wait_for (shared.gate, 1);
  for (guint i = 1; i < N_THREADS; i++)
    threads[i] = g_thread_new ("joiner", join_thread, &shared);
  /* Every joiner has joined once the counter says so: no sleep. */
  while (!joins_reached (f->template, N_THREADS - 1))
    g_thread_yield ();
  test_gate_open (shared.gate);
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);
  got = capture_stop ();

  stats = stats_of (f->template);
  g_assert_cmpuint (stats->acquires, ==, 1);
  g_assert_cmpuint (stats->joins, ==, N_THREADS - 1);
  g_assert_cmpint (f->tp->n_acquire_calls, ==, 1);

  joined = events_named (got, "flight-joined");
  g_assert_cmpuint (joined->len, ==, N_THREADS - 1);
  for (guint i = 0; i < joined->len; i++)
    {
      assert_field (g_ptr_array_index (joined, i), "TETHER_TEMPLATE", "observed");
      assert_context_field (g_ptr_array_index (joined, i), shared.context);
    }

  f->tp->acquire_hook = NULL;
  g_assert_true (tether_template_release (f->template, shared.context, NULL));
  g_main_context_unref (shared.context);
  test_gate_free (shared.gate);
}

int
main (int    argc,
      char **argv)
{
  g_log_set_writer_func (capture_writer, NULL, NULL);
  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

  g_test_add ("/observe/log/off-by-default", Fixture, NULL,
              fixture_set_up, test_log_off_by_default, fixture_tear_down);
  g_test_add ("/observe/log/events", Fixture, NULL,
              fixture_set_up, test_log_events, fixture_tear_down);
  g_test_add ("/observe/log/manager", Fixture, NULL,
              fixture_set_up, test_log_manager, fixture_tear_down);
  g_test_add_func ("/observe/log/modules", test_log_modules);
  g_test_add ("/observe/stats/scripted", Fixture, NULL,
              fixture_set_up, test_stats_scripted, fixture_tear_down);
  g_test_add ("/observe/stats/acquire-time", Fixture, NULL,
              fixture_set_up, test_stats_acquire_time, fixture_tear_down);
  g_test_add ("/observe/stats/acquire-time-within-the-call", Fixture, NULL,
              fixture_set_up, test_stats_acquire_time_within_the_call, fixture_tear_down);
  g_test_add ("/observe/stats/read-in-a-provider", Fixture, NULL,
              fixture_set_up, test_stats_read_in_a_provider, fixture_tear_down);
  g_test_add_data_func ("/observe/stats/async", NULL, test_stats_async);
  g_test_add ("/observe/stats/concurrent", Fixture, NULL,
              fixture_set_up, test_stats_concurrent, fixture_tear_down);
  g_test_add ("/observe/stats/joins", Fixture, NULL,
              fixture_set_up, test_stats_joins, fixture_tear_down);

  return g_test_run ();
}
