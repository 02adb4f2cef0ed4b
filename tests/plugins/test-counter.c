/* test-counter.c: the counter provider module
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "plugin-test-util.h"
#include "tether-counter.h"

typedef struct
{
  TetherTemplate *template;
  guint64         serial;
  GMainContext   *context;
} Worker;

static gboolean
worker_scope (gpointer   user_data,
              GError   **error)
{
  Worker *worker = user_data;
  TetherCounter *counter;

  /* A module's template is on demand: the scope acquires it on first use,
   * and the second acquire is the per-thread cache hit. */
  g_assert_null (tether_template_lookup (worker->template, NULL));
  counter = tether_template_acquire (worker->template, NULL, error);
  g_assert_nonnull (counter);
  g_assert_true (counter == tether_template_acquire (worker->template, NULL, error));
  g_assert_true (counter->context == g_main_context_get_thread_default ());
  counter->uses++;
  worker->serial = counter->serial;
  worker->context = counter->context;
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
test_counter_per_context (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  Worker workers[4] = { 0 };
  GThread *threads[G_N_ELEMENTS (workers)];

  test_reset_global_state ();
  template = plugin_test_load ("counter", "[provider counter]\nstart=100\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tether_template_get_name (template), ==, "counter");

  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    {
      workers[i].template = template;
      threads[i] = g_thread_new ("counter-worker", worker_thread, &workers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    g_thread_join (threads[i]);

  /* One counter per context, serials from the configured start, distinct. */
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    {
      g_assert_cmpuint (workers[i].serial, >=, 100);
      g_assert_cmpuint (workers[i].serial, <, 100 + G_N_ELEMENTS (workers));
      for (guint j = 0; j < i; j++)
        g_assert_cmpuint (workers[i].serial, !=, workers[j].serial);
    }
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  /* The counter's shutdown warns (fatally, under g_test) about counters
   * not released; this finalizes the template and runs it. */
  tether_template_unregister (template);
}

static void
test_counter_ungraceful (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  GMainContext *context = g_main_context_new ();
  TetherCounter *counter;

  test_reset_global_state ();
  template = plugin_test_load ("counter", NULL, &error);
  g_assert_no_error (error);

  counter = tether_template_acquire (template, context, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (counter->serial, ==, 1);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 1);

  /* The counter does not ref its context: the context dies, the counter is
   * purged (ungraceful release). */
  g_main_context_unref (context);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  g_assert_cmpuint (tether_template_purge (template), ==, 1);
  tether_template_unregister (template);
}

static void
test_counter_bad_config (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  test_reset_global_state ();
  template = plugin_test_load ("counter", "[provider counter]\nstart=-4\n", &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED);
  g_assert_nonnull (strstr (error->message, "start"));
}

/* Loading one provider by name from the search path. */
static void
test_counter_by_name (void)
{
  const char *dir = g_getenv ("TETHER_TEST_PLUGINS_DIR");
  g_autofree char *old_path = g_strdup (g_getenv ("TETHER_PROVIDER_PATH"));
  g_autofree char *tmp = g_dir_make_tmp ("tether-by-name-XXXXXX", NULL);
  g_autofree char *source = g_build_filename (dir, "counter.so", NULL);
  g_autofree char *renamed = g_build_filename (tmp, "other.so", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(TetherTemplate) found = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;

  test_reset_global_state ();
  g_setenv ("TETHER_PROVIDER_PATH", dir, TRUE);

  template = tether_load_provider_by_name ("counter", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tether_template_get_name (template), ==, "counter");
  found = tether_find_template ("counter");
  g_assert_true (found == template);

  /* Loaded already. */
  g_assert_null (tether_load_provider_by_name ("counter", NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_DUPLICATE_NAME);
  g_clear_error (&error);
  tether_template_unregister (template);

  /* Not there: the message names what was searched. */
  g_assert_null (tether_load_provider_by_name ("no-such-provider", NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD);
  g_assert_nonnull (strstr (error->message, "no-such-provider.so"));
  g_assert_nonnull (strstr (error->message, dir));
  g_clear_error (&error);

  g_assert_null (tether_load_provider_by_name ("not a name", NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME);
  g_clear_error (&error);

  /* A file whose provider has another name: refused, nothing kept. */
  g_assert_true (g_file_get_contents (source, &contents, &length, NULL));
  g_assert_true (g_file_set_contents_full (renamed, contents, length,
                                           G_FILE_SET_CONTENTS_NONE, 0644, NULL));
  g_setenv ("TETHER_PROVIDER_PATH", tmp, TRUE);
  g_assert_null (tether_load_provider_by_name ("other", NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME);
  g_assert_nonnull (strstr (error->message, "provides 'counter', not 'other'"));
  g_assert_null (tether_find_template ("counter"));

  g_unlink (renamed);
  g_rmdir (tmp);
  if (old_path != NULL)
    g_setenv ("TETHER_PROVIDER_PATH", old_path, TRUE);
  else
    g_unsetenv ("TETHER_PROVIDER_PATH");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

  g_test_add_func ("/providers/counter/per-context", test_counter_per_context);
  g_test_add_func ("/providers/counter/ungraceful", test_counter_ungraceful);
  g_test_add_func ("/providers/counter/bad-config", test_counter_bad_config);
  g_test_add_func ("/providers/counter/by-name", test_counter_by_name);

  return g_test_run ();
}
