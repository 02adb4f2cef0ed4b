/* tether-inspect.c: list, validate and exercise provider modules
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <tether/tether.h>

/* Exit statuses; documented in --help. */
enum
{
  EXIT_OK = 0,
  EXIT_MODULE_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_EXERCISE_FAILED = 3,
};

static const char summary[] =
  "Lists the tether provider modules on the search path, validates one\n"
  "module, or exercises providers in worker contexts.\n"
  "\n"
  "  tether-inspect                 list every module on the search path: name,\n"
  "                                 description, ABI version, file; then every\n"
  "                                 file that failed, with its error\n"
  "  tether-inspect FILE            load FILE as the application would (checks,\n"
  "                                 init with --config) and describe it\n"
  "  tether-inspect --exercise N [FILE]\n"
  "                                 acquire and release the provider of FILE (or\n"
  "                                 of every module on the search path) in N\n"
  "                                 worker threads, each with its own context,\n"
  "                                 and print the timings\n"
  "\n"
  "The search path is $TETHER_PROVIDER_PATH (colon-separated absolute\n"
  "directories; ignored in setuid/setgid programs), then the installed\n"
  "directory " TETHER_PROVIDER_DIR ". --dir replaces it.\n"
  "Listing opens each module and calls its entry point, but not its init.\n"
  "Modules or directories writable by group or others are refused unless\n"
  "--allow-insecure is given.";

static const char exit_statuses[] =
  "Exit status:\n"
  "  0  success: every module listed or loaded, every exercise passed\n"
  "  1  a module failed: FILE did not load, or the listing found files that\n"
  "     are not valid modules (each is printed with its error code)\n"
  "  2  usage error: bad option or argument, unreadable --config\n"
  "  3  --exercise: an acquire or release failed";

static char **opt_dirs;
static char *opt_config;
static gint opt_exercise;
static gint opt_hits = 1000;
static gboolean opt_allow_insecure;

static const GOptionEntry entries[] = {
  { "dir", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_dirs,
    "Search DIR instead of the search path (repeatable)", "DIR" },
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
    "Provider configuration file ([provider NAME] groups) given to init", "FILE" },
  { "exercise", 'x', 0, G_OPTION_ARG_INT, &opt_exercise,
    "Acquire and release in N worker contexts and print timings", "N" },
  { "hits", 0, 0, G_OPTION_ARG_INT, &opt_hits,
    "Cached acquires timed per worker with --exercise (default 1000)", "M" },
  { "allow-insecure", 0, 0, G_OPTION_ARG_NONE, &opt_allow_insecure,
    "Load modules even if group- or others-writable", NULL },
  { NULL }
};

static const char *
error_code_name (const GError *error)
{
  GEnumClass *klass;
  GEnumValue *value;

  if (error->domain != TETHER_ERROR)
    return g_quark_to_string (error->domain);

  klass = g_type_class_ref (TETHER_TYPE_ERROR);
  value = g_enum_get_value (klass, error->code);
  g_type_class_unref (klass);
  return value != NULL ? value->value_name : "TETHER_ERROR_?";
}

static void
print_failures (GPtrArray *failures)
{
  if (failures->len == 0)
    return;

  g_print ("\nFailed:\n");
  for (guint i = 0; i < failures->len; i++)
    {
      const TetherLoadFailure *failure = g_ptr_array_index (failures, i);
      const GError *error = tether_load_failure_get_error (failure);

      g_print ("  %s\n    %s [%s]\n", tether_load_failure_get_path (failure),
               error->message, error_code_name (error));
    }
}

static int
list_providers (TetherLoadFlags flags)
{
  g_auto(GStrv) search_path = NULL;
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  const char * const *dirs;

  dirs = opt_dirs != NULL ? (const char * const *) opt_dirs
                          : (const char * const *) (search_path = tether_get_provider_search_path ());

  g_print ("Search path:\n");
  for (guint i = 0; dirs[i] != NULL; i++)
    g_print ("  %s%s\n", dirs[i],
             g_file_test (dirs[i], G_FILE_TEST_IS_DIR) ? "" : "  (does not exist)");

  infos = tether_list_providers (opt_dirs != NULL ? dirs : NULL, flags, &failures);

  g_print ("\nProviders:\n");
  if (infos->len == 0)
    g_print ("  (none)\n");
  for (guint i = 0; i < infos->len; i++)
    {
      const TetherProviderInfo *info = g_ptr_array_index (infos, i);
      const char *name = tether_provider_info_get_name (info);
      guint32 abi = tether_provider_info_get_abi_version (info);
      const char *description = tether_provider_info_get_description (info);

      g_print ("  %-16s ABI %u.%u  %s%s\n", name,
               TETHER_PROVIDER_ABI_VERSION_MAJOR (abi), TETHER_PROVIDER_ABI_VERSION_MINOR (abi),
               tether_provider_info_get_path (info),
               g_hash_table_contains (names, name) ? "  (shadowed by the one above)" : "");
      if (description != NULL)
        g_print ("  %-16s %s%s\n", "", description,
                 tether_provider_info_get_is_async (info) ? " (asynchronous only)" : "");
      g_hash_table_add (names, (gpointer) name);
    }

  print_failures (failures);
  g_print ("\n%u providers, %u failed\n", infos->len, failures->len);

  return failures->len == 0 ? EXIT_OK : EXIT_MODULE_FAILED;
}

static void
describe_template (TetherTemplate *template,
                   const char     *path)
{
  const char *description = tether_template_get_description (template);

  g_print ("Provider %s\n", tether_template_get_name (template));
  g_print ("  file         %s\n", path);
  if (description != NULL)
    g_print ("  description  %s\n", description);
  g_print ("  status       valid: loaded, initialised and registered\n");
}

/* ------------------------------------------------------------------------ */
/* --exercise                                                               */
/* ------------------------------------------------------------------------ */

typedef struct
{
  TetherTemplate *template;
  GMainContext   *context;
  gint64          acquire_us;
  gint64          release_us;
  double          hit_ns;
  GError         *error;
} Exercise;

static gpointer
exercise_thread (gpointer data)
{
  Exercise *exercise = data;
  GMainContext *context = g_main_context_new ();
  gpointer resource;
  gint64 start;

  g_main_context_push_thread_default (context);
  exercise->context = context;

  start = g_get_monotonic_time ();
  resource = tether_template_acquire (exercise->template, NULL, &exercise->error);
  exercise->acquire_us = g_get_monotonic_time () - start;

  if (resource != NULL)
    {
      guint n_wrong = 0;

      start = g_get_monotonic_time ();
      for (gint i = 0; i < opt_hits; i++)
        if (tether_template_acquire (exercise->template, NULL, NULL) != resource)
          n_wrong++;
      exercise->hit_ns = opt_hits > 0
        ? (double) (g_get_monotonic_time () - start) * 1000.0 / opt_hits : 0.0;
      if (n_wrong > 0)
        g_set_error (&exercise->error, TETHER_ERROR, TETHER_ERROR_FAILED,
                     "%u cached acquires returned another resource", n_wrong);

      start = g_get_monotonic_time ();
      if (!tether_template_release (exercise->template, NULL,
                                    exercise->error == NULL ? &exercise->error : NULL))
        exercise->release_us = -1;
      else
        exercise->release_us = g_get_monotonic_time () - start;
    }

  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static void
print_stats (const char *what,
             GArray     *values)
{
  g_array_sort (values, compare_int64);
  g_print ("    %-8s min %7.1f  median %7.1f  max %7.1f us\n", what,
           (double) g_array_index (values, gint64, 0),
           (double) g_array_index (values, gint64, values->len / 2),
           (double) g_array_index (values, gint64, values->len - 1));
}

static gboolean
exercise_template (TetherTemplate *template)
{
  g_autofree Exercise *exercises = g_new0 (Exercise, opt_exercise);
  g_autofree GThread **threads = g_new0 (GThread *, opt_exercise);
  g_autoptr(GArray) acquires = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) releases = g_array_new (FALSE, FALSE, sizeof (gint64));
  double hit_total = 0;
  guint n_failed = 0;
  gint64 start = g_get_monotonic_time ();
  gint64 wall;

  for (gint i = 0; i < opt_exercise; i++)
    {
      exercises[i].template = template;
      threads[i] = g_thread_new ("tether-exercise", exercise_thread, &exercises[i]);
    }
  for (gint i = 0; i < opt_exercise; i++)
    g_thread_join (threads[i]);
  wall = g_get_monotonic_time () - start;

  g_print ("Exercise %s: %d worker contexts, %d cached acquires each\n",
           tether_template_get_name (template), opt_exercise, opt_hits);
  for (gint i = 0; i < opt_exercise; i++)
    {
      if (exercises[i].error != NULL)
        {
          g_print ("    worker %d: FAILED: %s [%s]\n", i, exercises[i].error->message,
                   error_code_name (exercises[i].error));
          g_clear_error (&exercises[i].error);
          n_failed++;
          continue;
        }
      g_array_append_val (acquires, exercises[i].acquire_us);
      g_array_append_val (releases, exercises[i].release_us);
      hit_total += exercises[i].hit_ns;
    }

  if (acquires->len > 0)
    {
      print_stats ("acquire", acquires);
      g_print ("    %-8s mean %7.1f ns per cached acquire\n", "hit", hit_total / acquires->len);
      print_stats ("release", releases);
    }
  g_print ("    %u ok, %u failed, %.1f ms wall\n", acquires->len, n_failed, wall / 1000.0);

  return n_failed == 0 && tether_template_get_n_held (template) == 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) config = NULL;
  TetherLoadFlags flags;
  int status = EXIT_OK;

  option_context = g_option_context_new ("[FILE]");
  g_option_context_set_summary (option_context, summary);
  g_option_context_set_description (option_context, exit_statuses);
  g_option_context_add_main_entries (option_context, entries, NULL);
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("tether-inspect: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc > 2 || opt_exercise < 0 || opt_exercise > 1024 || opt_hits < 0)
    {
      g_printerr ("tether-inspect: %s\n",
                  argc > 2 ? "at most one FILE" : "--exercise takes 1 to 1024, --hits 0 or more");
      return EXIT_USAGE;
    }

  flags = opt_allow_insecure ? TETHER_LOAD_ALLOW_INSECURE_PATH : TETHER_LOAD_NONE;
  if (opt_config != NULL)
    {
      config = tether_provider_config_new_from_file (opt_config, &error);
      if (config == NULL)
        {
          g_printerr ("tether-inspect: %s\n", error->message);
          return EXIT_USAGE;
        }
    }

  tether_set_unmanaged_warning_enabled (FALSE);

  if (argc == 2)
    {
      g_autoptr(TetherTemplate) template = NULL;

      template = tether_load_provider_full (argv[1], config, flags, &error);
      if (template == NULL)
        {
          g_printerr ("tether-inspect: %s [%s]\n", error->message, error_code_name (error));
          return EXIT_MODULE_FAILED;
        }
      describe_template (template, argv[1]);
      if (opt_exercise > 0 && !exercise_template (template))
        status = EXIT_EXERCISE_FAILED;
      tether_template_unregister (template);
    }
  else if (opt_exercise > 0)
    {
      g_autoptr(GPtrArray) templates = NULL;
      g_autoptr(GPtrArray) failures = NULL;

      tether_load_providers_full ((const char * const *) opt_dirs, config, flags,
                                  &templates, &failures);
      print_failures (failures);
      if (failures->len > 0)
        status = EXIT_MODULE_FAILED;
      for (guint i = 0; i < templates->len; i++)
        {
          TetherTemplate *template = g_ptr_array_index (templates, i);

          if (!exercise_template (template))
            status = EXIT_EXERCISE_FAILED;
          tether_template_unregister (template);
        }
    }
  else
    status = list_providers (flags);

  tether_purge ();
  g_strfreev (opt_dirs);
  g_free (opt_config);
  return status;
}
