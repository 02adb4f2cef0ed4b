/* test-scopes.c: scopes over every installed provider
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Loading the whole search path registers every provider there; a scope
 * must still only pay for what its job uses. On a machine with no session
 * bus and no display (this test makes sure of both), a scope that acquired
 * the dbus provider on enter would fail every job.
 */

#include <dlfcn.h>
#include <string.h>

#include <glib/gstdio.h>

#include "plugin-test-util.h"

static char *runtime_dir;

/* No session bus can be found or autolaunched. */
static void
hide_session_bus (void)
{
  runtime_dir = g_dir_make_tmp ("tether-scopes-XXXXXX", NULL);
  g_assert_nonnull (runtime_dir);
  g_setenv ("XDG_RUNTIME_DIR", runtime_dir, TRUE);
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_unsetenv ("DISPLAY");
  g_unsetenv ("WAYLAND_DISPLAY");
}

static GPtrArray *
load_search_path (const char *config_text)
{
  const char *dirs[] = { g_getenv ("TETHER_TEST_PLUGINS_DIR"), NULL };
  g_autoptr(GKeyFile) config = g_key_file_new ();
  g_autoptr(GPtrArray) failures = NULL;
  GPtrArray *templates = NULL;
  guint n;

  g_assert_nonnull (dirs[0]);
  if (config_text != NULL)
    g_assert_true (g_key_file_load_from_data (config, config_text, -1, G_KEY_FILE_NONE, NULL));
  n = tether_load_providers_full (dirs, config, TETHER_LOAD_NONE, &templates, &failures);
  for (guint i = 0; i < failures->len; i++)
    {
      TetherLoadFailure *failure = g_ptr_array_index (failures, i);

      g_test_message ("%s: %s", tether_load_failure_get_path (failure),
                      tether_load_failure_get_error (failure)->message);
    }
  g_assert_cmpuint (failures->len, ==, 0);
  g_assert_cmpuint (n, ==, templates->len);
  return templates;
}

static TetherTemplate *
find (GPtrArray  *templates,
      const char *name)
{
  for (guint i = 0; i < templates->len; i++)
    if (g_str_equal (tether_template_get_name (g_ptr_array_index (templates, i)), name))
      return g_ptr_array_index (templates, i);
  g_assert_not_reached ();
  return NULL;
}

static void
unload (GPtrArray *templates)
{
  for (guint i = 0; i < templates->len; i++)
    {
      g_assert_cmpuint (tether_template_get_n_held (g_ptr_array_index (templates, i)), ==, 0);
      tether_template_unregister (g_ptr_array_index (templates, i));
    }
  g_ptr_array_unref (templates);
}

typedef struct
{
  GPtrArray      *templates;
  const char     *uses;         /* the one provider the job uses */
  gboolean        expect_held_on_enter;
  char           *session_type; /* what it got */
  GMainContext   *context;      /* identity only */
  gboolean        ok;
  GError         *error;
} Job;

static gboolean
job_scope (gpointer   data,
           GError   **error)
{
  Job *job = data;
  TetherTemplate *used = find (job->templates, job->uses);
  gpointer resource;

  job->context = g_main_context_get_thread_default ();

  /* Entering the scope acquired only the eager templates. */
  for (guint i = 0; i < job->templates->len; i++)
    {
      TetherTemplate *t = g_ptr_array_index (job->templates, i);

      if (t == used && job->expect_held_on_enter)
        g_assert_nonnull (tether_template_lookup (t, NULL));
      else
        g_assert_null (tether_template_lookup (t, NULL));
    }

  /* First use inside the scope acquires on demand... */
  resource = tether_template_acquire (used, NULL, error);
  if (resource == NULL)
    return FALSE;
  if (g_str_equal (job->uses, "soup-session"))
    job->session_type = g_strdup (G_OBJECT_TYPE_NAME (resource));

  /* ...and nothing else was acquired for this context. */
  for (guint i = 0; i < job->templates->len; i++)
    {
      TetherTemplate *t = g_ptr_array_index (job->templates, i);

      if (t != used)
        g_assert_null (tether_template_lookup (t, NULL));
    }
  return TRUE;
}

static gpointer
job_thread (gpointer data)
{
  Job *job = data;

  job->ok = tether_run_in_new_context (job_scope, job, &job->error);
  return NULL;
}

static void
run_jobs (GPtrArray  *templates,
          const char *uses,
          gboolean    expect_held_on_enter)
{
  Job jobs[4];
  GThread *threads[G_N_ELEMENTS (jobs)];

  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      jobs[i] = (Job) { .templates = templates, .uses = uses,
                        .expect_held_on_enter = expect_held_on_enter };
      threads[i] = g_thread_new ("scope-job", job_thread, &jobs[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      g_thread_join (threads[i]);
      g_assert_no_error (jobs[i].error);
      g_assert_true (jobs[i].ok);
      if (g_str_equal (uses, "soup-session"))
        g_assert_cmpstr (jobs[i].session_type, ==, "SoupSession");
      g_free (jobs[i].session_type);
    }

  /* Every scope released what it acquired on demand, at its exit. */
  for (guint i = 0; i < templates->len; i++)
    g_assert_cmpuint (tether_template_get_n_held (g_ptr_array_index (templates, i)), ==, 0);
}

/* Module templates are on demand: a job that uses soup-session never pays
 * for (or fails on) the dbus provider. */
static void
test_search_path_on_demand (void)
{
  g_autoptr(GPtrArray) templates = NULL;

  test_reset_global_state ();
  templates = load_search_path (NULL);
  g_assert_cmpuint (templates->len, >=, 4);
  for (guint i = 0; i < templates->len; i++)
    g_assert_false (tether_template_get_eager (g_ptr_array_index (templates, i)));

  run_jobs (templates, "soup-session", FALSE);
  run_jobs (templates, "counter", FALSE);

  unload (g_steal_pointer (&templates));
}

/* `eager=true` in a provider's group makes the scope acquire it on enter. */
static void
test_config_eager (void)
{
  g_autoptr(GPtrArray) templates = NULL;

  test_reset_global_state ();
  templates = load_search_path ("[provider counter]\neager=true\n");
  g_assert_true (tether_template_get_eager (find (templates, "counter")));
  g_assert_false (tether_template_get_eager (find (templates, "dbus")));

  run_jobs (templates, "counter", TRUE);

  unload (g_steal_pointer (&templates));
}

/* A bad value is a load failure that says what to write. */
static void
test_config_eager_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  test_reset_global_state ();
  template = plugin_test_load ("counter", "[provider counter]\neager=perhaps\n", &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "eager=perhaps"));
  g_assert_nonnull (strstr (error->message, "eager=true"));
}

/* The application decides: the setter overrides the module's default. */
static void
test_set_eager (void)
{
  g_autoptr(GPtrArray) templates = NULL;
  TetherTemplate *soup;

  test_reset_global_state ();
  templates = load_search_path (NULL);
  soup = find (templates, "soup-session");
  tether_template_set_eager (soup, TRUE);
  g_assert_true (tether_template_get_eager (soup));

  run_jobs (templates, "soup-session", TRUE);

  tether_template_set_eager (soup, FALSE);
  run_jobs (templates, "soup-session", FALSE);

  unload (g_steal_pointer (&templates));
}

/* ------------------------------------------------------------------------ */
/* A module's init runs with no tether lock held                            */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GMutex    lock;
  GCond     cond;
  gboolean  done;
  gboolean  loaded;
} OtherLoad;

static gpointer
other_load_thread (gpointer data)
{
  OtherLoad *ol = data;
  g_autoptr(GError) error = NULL;
  TetherTemplate *template = plugin_test_load ("counter", NULL, &error);

  g_mutex_lock (&ol->lock);
  ol->loaded = template != NULL;
  ol->done = TRUE;
  g_cond_signal (&ol->cond);
  g_mutex_unlock (&ol->lock);

  if (template != NULL)
    {
      tether_template_unregister (template);
      g_object_unref (template);
    }
  return NULL;
}

/* Called by the init of tests/plugins/init-hook-module.c (found with
 * dlsym): waits, bounded, for another thread's tether_load_provider().
 * With the loader's lock held around init, that load could never finish. */
G_MODULE_EXPORT gboolean scopes_test_init_hook (void);

G_MODULE_EXPORT gboolean
scopes_test_init_hook (void)
{
  OtherLoad ol = { 0 };
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  GThread *thread;
  gboolean finished;

  g_mutex_init (&ol.lock);
  g_cond_init (&ol.cond);
  thread = g_thread_new ("other-load", other_load_thread, &ol);

  g_mutex_lock (&ol.lock);
  while (!ol.done)
    if (!g_cond_wait_until (&ol.cond, &ol.lock, deadline))
      break;
  finished = ol.done && ol.loaded;
  g_mutex_unlock (&ol.lock);

  /* Joined after our caller returns, in the test, if it timed out here. */
  if (ol.done)
    g_thread_join (thread);
  else
    g_thread_unref (thread);
  return finished;
}

static void
test_init_without_loader_lock (void)
{
  const char *dir = g_getenv ("TETHER_TEST_INIT_HOOK_MODULE");
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  test_reset_global_state ();
  g_assert_nonnull (dir);
  template = tether_load_provider (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (template);
  tether_template_unregister (template);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);
  hide_session_bus ();

  g_test_add_func ("/scopes/search-path/on-demand", test_search_path_on_demand);
  g_test_add_func ("/scopes/config/eager", test_config_eager);
  g_test_add_func ("/scopes/config/eager-invalid", test_config_eager_invalid);
  g_test_add_func ("/scopes/set-eager", test_set_eager);
  g_test_add_func ("/scopes/loader/init-without-loader-lock", test_init_without_loader_lock);

  ret = g_test_run ();
  g_rmdir (runtime_dir);
  g_free (runtime_dir);
  return ret;
}
