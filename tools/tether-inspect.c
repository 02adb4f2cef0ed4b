/* tether-inspect.c: list, validate and exercise provider modules
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tether-loader-private.h"

/* Exit statuses; documented in --help and docs/plugins.md, tested by
 * tests/plugins/test-inspect.c. When several apply, the highest wins. */
enum
{
  EXIT_OK = 0,
  EXIT_MODULE_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_EXERCISE_FAILED = 3,
  EXIT_MODULE_CRASHED = 4,
  EXIT_NO_SCANNER = 5,
};

/* A release slower than this is reported (--slow-release). */
#define DEFAULT_SLOW_RELEASE_MS 200

static const char summary[] =
  "Lists the tether provider modules on the search path, checks one\n"
  "module, or exercises providers in worker contexts. Every module is\n"
  "examined in a helper process (tether-scanner) first, so a module that\n"
  "crashes, aborts or hangs is reported with the stage it died in.\n"
  "\n"
  "  tether-inspect                 list every module on the search path: name,\n"
  "                                 ABI version, file, description; then every\n"
  "                                 file that failed, with its error\n"
  "  tether-inspect FILE            load FILE as the application would (checks,\n"
  "                                 init with --config), exercise it (unless\n"
  "                                 --no-exercise): a graceful cycle (acquire,\n"
  "                                 release with the context; async too when it\n"
  "                                 has both) and an ungraceful one (the context\n"
  "                                 dies holding the resource, a purge releases\n"
  "                                 it with context NULL), and describe it: name,\n"
  "                                 description, ABI, sync or async, resource\n"
  "                                 type, timings, verdict\n"
  "  tether-inspect --exercise N [FILE]\n"
  "                                 then acquire and release the provider of FILE\n"
  "                                 (or of every module on the search path) in N\n"
  "                                 worker threads, each with its own context, in\n"
  "                                 this process, and print the timings\n"
  "\n"
  "The search path is $TETHER_PROVIDER_PATH (colon-separated absolute\n"
  "directories; ignored in setuid/setgid programs), then the installed\n"
  "directory " TETHER_PROVIDER_DIR ". --dir replaces it.\n"
  "Listing opens each module and calls its entry point, but not its init.\n"
  "Modules or directories writable by group or others are refused unless\n"
  "--allow-insecure is given. The helper is " TETHER_SCANNER_PATH ",\n"
  "or the tether-scanner beside tether-inspect in a build tree;\n"
  "$TETHER_SCANNER names another one.";

static const char exit_statuses[] =
  "Exit status (the highest that applies):\n"
  "  0  success: every module listed or loaded, every exercise passed\n"
  "  1  a module failed: FILE did not load, or links libtether-1, or the\n"
  "     listing found files that are not valid modules (each is printed with\n"
  "     its error code)\n"
  "  2  usage error: bad option or argument, unreadable --config\n"
  "  3  an acquire or release failed (the exercise of FILE, or --exercise)\n"
  "  4  a module crashed, aborted, exited or hung (killed after --timeout),\n"
  "     flooded its output or corrupted the helper's records; the message\n"
  "     names the signal or the timeout, the stage and the provider function\n"
  "  5  the helper tether-scanner could not run (set TETHER_SCANNER)\n"
  "A release slower than --slow-release is reported as a warning; it does\n"
  "not change the exit status.";

static char **opt_dirs;
static char *opt_config;
static gint opt_exercise;
static gint opt_hits = 1000;
static gint opt_timeout = TETHER_LIST_DEFAULT_TIMEOUT_MS / 1000;
static gboolean opt_allow_insecure;
static gboolean opt_no_exercise;
static gint opt_slow_release = DEFAULT_SLOW_RELEASE_MS;
static gboolean opt_version;

static const GOptionEntry entries[] = {
  { "dir", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_dirs,
    "Search DIR instead of the search path (repeatable)", "DIR" },
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
    "Provider configuration file ([provider NAME] groups) given to init", "FILE" },
  { "no-exercise", 0, 0, G_OPTION_ARG_NONE, &opt_no_exercise,
    "With FILE: load and describe only; do not acquire and release", NULL },
  { "exercise", 'x', 0, G_OPTION_ARG_INT, &opt_exercise,
    "Acquire and release in N worker contexts and print timings", "N" },
  { "hits", 0, 0, G_OPTION_ARG_INT, &opt_hits,
    "Cached acquires timed per worker with --exercise (default 1000)", "M" },
  { "timeout", 't', 0, G_OPTION_ARG_INT, &opt_timeout,
    "Seconds one module may take in the helper before it is killed (default 10)", "S" },
  { "allow-insecure", 0, 0, G_OPTION_ARG_NONE, &opt_allow_insecure,
    "Load modules even if group- or others-writable", NULL },
  { "slow-release", 0, 0, G_OPTION_ARG_INT, &opt_slow_release,
    "Report a release slower than MS milliseconds (default 200)", "MS" },
  { "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
    "Print the version of tether and of the provider ABI, and exit", NULL },
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

static const char *
plural (guint n)
{
  return n == 1 ? "" : "s";
}

static int
scan_status (const TetherScanResult *result)
{
  if (result->error == NULL && result->links_libtether != NULL)
    return result->exercise_error != NULL ? EXIT_EXERCISE_FAILED : EXIT_MODULE_FAILED;
  if (result->error == NULL)
    return result->exercise_error != NULL ? EXIT_EXERCISE_FAILED : EXIT_OK;
  if (result->crashed)
    return EXIT_MODULE_CRASHED;
  if (result->stage == TETHER_LOAD_STAGE_NONE && g_error_matches (result->error, TETHER_ERROR, TETHER_ERROR_FAILED))
    return EXIT_NO_SCANNER;
  return EXIT_MODULE_FAILED;
}

/* "[TETHER_ERROR_ABI_MISMATCH, stage validate]", or "[crashed, stage open]". */
static char *
describe_failure (const GError    *error,
                  TetherLoadStage  stage,
                  gboolean         crashed,
                  gboolean         timed_out)
{
  const char *what = error_code_name (error);

  if (timed_out)
    what = "hung";
  else if (crashed)
    what = "crashed";

  if (stage == TETHER_LOAD_STAGE_NONE)
    return g_strdup_printf ("[%s]", what);
  return g_strdup_printf ("[%s, stage %s]", what, _tether_load_stage_to_string (stage));
}

typedef struct
{
  GPtrArray  *results;      /* TetherScanResult of the modules that passed */
  GPtrArray  *failures;     /* TetherScanResult of the modules that failed */
  GHashTable *first_file;   /* provider name -> first path */
  TetherScanMode mode;
  int         status;
} Listing;

static void
scan_one (const char *path,
          gpointer    user_data,
          GPtrArray  *dir_failures)
{
  Listing *listing = user_data;
  TetherScanResult *result;
  const char *first;

  result = _tether_scan_module (path, listing->mode,
                                opt_allow_insecure ? TETHER_LOAD_ALLOW_INSECURE_PATH : TETHER_LOAD_NONE,
                                opt_config, (guint) opt_timeout * 1000, NULL);
  listing->status = MAX (listing->status, scan_status (result));

  first = result->name != NULL ? g_hash_table_lookup (listing->first_file, result->name) : NULL;
  if (result->error == NULL && first != NULL)
    {
      /* As loading would: the earlier directory shadows this one. */
      result->error = _tether_loader_duplicate_error (path, result->name, first, TRUE);
      result->stage = TETHER_LOAD_STAGE_REGISTER;
      listing->status = MAX (listing->status, EXIT_MODULE_FAILED);
    }
  else if (result->error == NULL)
    g_hash_table_insert (listing->first_file, g_strdup (result->name), g_strdup (path));

  g_ptr_array_add (result->error == NULL ? listing->results : listing->failures, result);
}

/* Examines every module of the search path (or --dir) in the helper. */
static void
scan_all (Listing        *listing,
          TetherScanMode  mode,
          GPtrArray     **dir_failures)
{
  listing->results = g_ptr_array_new_with_free_func ((GDestroyNotify) _tether_scan_result_free);
  listing->failures = g_ptr_array_new_with_free_func ((GDestroyNotify) _tether_scan_result_free);
  listing->first_file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  listing->mode = mode;
  *dir_failures = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);

  _tether_loader_foreach_module ((const char *const *) opt_dirs,
                                 opt_allow_insecure ? TETHER_LOAD_ALLOW_INSECURE_PATH : TETHER_LOAD_NONE,
                                 scan_one, listing, *dir_failures);
  if ((*dir_failures)->len > 0)
    listing->status = MAX (listing->status, EXIT_MODULE_FAILED);
}

static void
listing_clear (Listing *listing)
{
  g_clear_pointer (&listing->results, g_ptr_array_unref);
  g_clear_pointer (&listing->failures, g_ptr_array_unref);
  g_clear_pointer (&listing->first_file, g_hash_table_unref);
}

static guint
print_failures (Listing   *listing,
                GPtrArray *dir_failures)
{
  guint n = dir_failures->len + listing->failures->len;

  if (n == 0)
    return 0;

  g_print ("\nFailed:\n");
  for (guint i = 0; i < dir_failures->len; i++)
    {
      const TetherLoadFailure *failure = g_ptr_array_index (dir_failures, i);
      const GError *error = tether_load_failure_get_error (failure);
      g_autofree char *tag = describe_failure (error, tether_load_failure_get_stage (failure),
                                               FALSE, FALSE);

      g_print ("  %s\n    %s %s\n", tether_load_failure_get_path (failure), error->message, tag);
    }
  for (guint i = 0; i < listing->failures->len; i++)
    {
      const TetherScanResult *result = g_ptr_array_index (listing->failures, i);
      g_autofree char *tag = describe_failure (result->error, result->stage,
                                               result->crashed, result->timed_out);

      g_print ("  %s\n    %s %s\n", result->path, result->error->message, tag);
    }

  return n;
}

static const char *
acquire_kind (const TetherScanResult *result)
{
  return result->has_sync && result->has_async ? "synchronous and asynchronous"
       : result->has_sync ? "synchronous"
       : "asynchronous only";
}

static int
list_providers (void)
{
  g_auto(GStrv) search_path = NULL;
  g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
  g_autoptr(GPtrArray) dir_failures = NULL;
  Listing listing = { 0 };
  const char *const *dirs;
  guint n_failed;
  int status;

  dirs = opt_dirs != NULL ? (const char *const *) opt_dirs
                          : (const char *const *) (search_path = _tether_loader_search_path_checked (ignored));

  g_print ("Search path:\n");
  for (guint i = 0; dirs[i] != NULL; i++)
    g_print ("  %s%s\n", dirs[i],
             g_file_test (dirs[i], G_FILE_TEST_IS_DIR) ? "" : "  (does not exist)");
  for (guint i = 0; i < ignored->len; i++)
    g_print ("  %s  (ignored, see below)\n",
             tether_load_failure_get_path (g_ptr_array_index (ignored, i)));

  scan_all (&listing, TETHER_SCAN_LIST, &dir_failures);

  g_print ("\nProviders:\n");
  if (listing.results->len == 0)
    g_print ("  (none)\n");
  for (guint i = 0; i < listing.results->len; i++)
    {
      const TetherScanResult *result = g_ptr_array_index (listing.results, i);

      g_autofree char *real_path = _tether_escape_for_message (result->real_path, TETHER_SCAN_PATH_MAX);

      g_print ("  %-16s ABI %u.%u  %s\n", result->name,
               TETHER_PROVIDER_ABI_VERSION_MAJOR (result->abi_version),
               TETHER_PROVIDER_ABI_VERSION_MINOR (result->abi_version),
               real_path);
      g_print ("  %-16s %s%s%s, %s\n", "",
               result->description != NULL ? result->description : "(no description)",
               result->resource_type != NULL ? "; resources of type " : "",
               result->resource_type != NULL ? result->resource_type : "",
               acquire_kind (result));
      if (result->links_libtether != NULL)
        g_print ("  %-16s warning: links libtether-1 (%s): %s\n", "", result->links_libtether,
                 TETHER_LOADER_LINKS_LIBTETHER_ADVICE);
    }

  n_failed = print_failures (&listing, dir_failures);
  g_print ("\n%u provider%s, %u failed\n", listing.results->len, plural (listing.results->len),
           n_failed);

  status = listing.status;
  listing_clear (&listing);
  return status;
}

static void
print_us (GString    *line,
          const char *what,
          gint64      us)
{
  if (us < 0)
    return;
  g_string_append_printf (line, "%s%s %.2f ms", line->len > 0 ? ", " : "", what, us / 1000.0);
}

/* Describes FILE from what the helper found; returns the exit status. */
static int
describe_module (const char *path)
{
  TetherScanMode mode = TETHER_SCAN_LOAD | (opt_no_exercise ? 0 : TETHER_SCAN_EXERCISE);
  g_autoptr(TetherScanResult) result = NULL;
  g_autoptr(GString) timings = g_string_new (NULL);
  g_autofree char *real_path = NULL;
  gint64 elapsed = 0;
  gint64 slowest;
  int status;

  result = _tether_scan_module (path, mode,
                                opt_allow_insecure ? TETHER_LOAD_ALLOW_INSECURE_PATH : TETHER_LOAD_NONE,
                                opt_config, (guint) opt_timeout * 1000, &elapsed);
  status = scan_status (result);

  if (result->error != NULL)
    {
      g_autofree char *tag = describe_failure (result->error, result->stage,
                                               result->crashed, result->timed_out);

      g_printerr ("tether-inspect: %s %s\n", result->error->message, tag);
      return status;
    }

  real_path = _tether_escape_for_message (result->real_path, TETHER_SCAN_PATH_MAX);
  g_print ("Provider %s\n", result->name);
  g_print ("  file         %s\n", real_path);
  if (result->description != NULL)
    g_print ("  description  %s\n", result->description);
  g_print ("  ABI          %u.%u, struct_size %u (this tether: %u.%u, %u)\n",
           TETHER_PROVIDER_ABI_VERSION_MAJOR (result->abi_version),
           TETHER_PROVIDER_ABI_VERSION_MINOR (result->abi_version), result->struct_size,
           TETHER_PROVIDER_ABI_MAJOR, TETHER_PROVIDER_ABI_MINOR, (guint) sizeof (TetherProvider));
  g_print ("  acquire      %s\n", acquire_kind (result));
  if (result->resource_type != NULL)
    g_print ("  resource     %s\n", result->resource_type);
  else
    g_print ("  resource     (no type declared)\n");

  print_us (timings, "open", result->open_us);
  print_us (timings, "init", result->init_us);
  print_us (timings, "acquire", result->acquire_us);
  print_us (timings, "release", result->release_us);
  print_us (timings, "ungraceful release", result->ungraceful_release_us);
  print_us (timings, "shutdown", result->shutdown_us);
  print_us (timings, "in all, with the helper process", elapsed);
  g_print ("  timings      %s\n", timings->str);

  slowest = MAX (result->release_us, result->ungraceful_release_us);
  if (slowest >= (gint64) opt_slow_release * 1000)
    g_print ("  warning      slow release: %s took %.1f ms, more than --slow-release %d ms; "
             "a scope's end (or a purge) waits for it: move slow work out of release, or "
             "hand it to another thread\n",
             result->release_us >= result->ungraceful_release_us ? "release"
                                                                 : "the ungraceful release",
             slowest / 1000.0, opt_slow_release);
  if (result->ungraceful_skipped)
    g_print ("  note         the ungraceful cycle was not run: the resource keeps its context "
             "alive (a reference cycle), so only a manager or tether_template_release () "
             "releases it, never a purge\n");

  if (result->links_libtether != NULL)
    g_print ("  verdict      FAILED: the module links libtether-1 (%s was loaded with it): %s\n",
             result->links_libtether, TETHER_LOADER_LINKS_LIBTETHER_ADVICE);
  else if (result->exercise_error != NULL)
    {
      g_autofree char *where = result->exercise_function == NULL
        ? g_strdup (_tether_load_stage_describe (result->exercise_stage))
        : g_str_equal (result->exercise_function, "release-ungraceful")
        ? g_strdup ("in its release, called ungracefully (context NULL)")
        : g_strdup_printf ("in its %s", result->exercise_function);

      g_print ("  verdict      FAILED %s: %s [%s]\n", where, result->exercise_error->message,
               error_code_name (result->exercise_error));
    }
  else if (opt_no_exercise)
    g_print ("  verdict      valid: loaded, %sregistered (not exercised: --no-exercise)\n",
             result->init_us >= 0 ? "initialised and " : "");
  else
    g_print ("  verdict      valid: loaded, %sacquired and released gracefully%s and %s\n",
             result->init_us >= 0 ? "initialised, " : "",
             result->has_sync && result->has_async ? " (sync and async)" : "",
             result->ungraceful_skipped ? "released by tether_template_release () (the ungraceful cycle "
                                          "does not apply)"
                                        : "ungracefully (context NULL, by a purge after its "
                                          "context died)");

  return status;
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

/* The template's own counters (tether_template_get_stats()), which time
 * the provider alone, where the figures above include tether's slow path. */
static void
print_template_stats (TetherTemplate *template)
{
  g_autoptr (TetherTemplateStats) s = tether_template_get_stats (template);
  g_autofree char *acquires = g_strdup_printf ("%" G_GUINT64_FORMAT, s->acquires);
  g_autofree char *failures = g_strdup_printf ("%" G_GUINT64_FORMAT, s->failures);
  g_autofree char *joins = g_strdup_printf ("%" G_GUINT64_FORMAT, s->joins);
  g_autofree char *graceful = g_strdup_printf ("%" G_GUINT64_FORMAT, s->graceful_releases);
  g_autofree char *ungraceful = g_strdup_printf ("%" G_GUINT64_FORMAT, s->ungraceful_releases);
  g_autofree char *purged = g_strdup_printf ("%" G_GUINT64_FORMAT, s->purged);

  g_print ("    counters %s acquires (%s failed), %s joins, %s graceful and %s ungraceful "
           "releases, %s purged, %u held\n",
           acquires, failures, joins, graceful, ungraceful, purged, s->n_held);
  if (s->acquire_time_count > 0)
    g_print ("    provider acquire: mean %.1f  max %.1f us over %.0f\n",
             s->acquire_time_total_ns / 1e3 / s->acquire_time_count,
             s->acquire_time_max_ns / 1e3, (double) s->acquire_time_count);
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
  print_template_stats (template);

  return n_failed == 0 && tether_template_get_n_held (template) == 0;
}

/* In the build tree, tools/tether-scanner sits beside tools/tether-inspect:
 * use it there, so that an uninstalled tether-inspect works without
 * TETHER_SCANNER. Installed, the helper is in $libdir/tether-1 and nothing is
 * beside us. */
static void
use_scanner_beside_us (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self != NULL ? g_path_get_dirname (self) : NULL;
  g_autofree char *beside = dir != NULL ? g_build_filename (dir, "tether-scanner", NULL) : NULL;

  if (!_tether_env_is_secure_mode () && _tether_env_get_path (TETHER_SCANNER_ENV) == NULL &&
      beside != NULL && g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
    g_setenv (TETHER_SCANNER_ENV, beside, TRUE);
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
  if (opt_version)
    {
      /* Built with the library's objects: its version is this one's. */
      g_print ("tether-inspect %s (provider ABI %u.%u, scanner protocol %d)\n", TETHER_VERSION_S,
               TETHER_PROVIDER_ABI_MAJOR, TETHER_PROVIDER_ABI_MINOR,
               TETHER_SCAN_PROTOCOL_VERSION);
      return EXIT_OK;
    }
  if (argc > 2 || opt_exercise < 0 || opt_exercise > 1024 || opt_hits < 0 ||
      opt_timeout < 1 || opt_timeout > 3600 || opt_slow_release < 0)
    {
      g_printerr ("tether-inspect: %s\n",
                  argc > 2 ? "at most one FILE"
                           : "--exercise takes 1 to 1024, --hits 0 or more, --timeout 1 to 3600, "
                             "--slow-release 0 or more");
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
  use_scanner_beside_us ();

  if (argc == 2)
    {
      g_autoptr(TetherTemplate) template = NULL;

      status = describe_module (argv[1]);
      /* Only a module that loaded in the helper, and did not crash there,
       * is loaded here (an acquire that failed is no danger). */
      if ((status == EXIT_OK || status == EXIT_EXERCISE_FAILED) && opt_exercise > 0)
        {
          template = tether_load_provider_full (argv[1], config, flags, &error);
          if (template == NULL)
            {
              g_printerr ("tether-inspect: %s [%s]\n", error->message, error_code_name (error));
              status = EXIT_MODULE_FAILED;
            }
          else
            {
              if (!exercise_template (template))
                status = MAX (status, EXIT_EXERCISE_FAILED);
              tether_template_unregister (template);
            }
        }
    }
  else if (opt_exercise > 0)
    {
      g_autoptr(GPtrArray) dir_failures = NULL;
      Listing listing = { 0 };

      scan_all (&listing, TETHER_SCAN_LOAD | TETHER_SCAN_EXERCISE, &dir_failures);
      print_failures (&listing, dir_failures);
      status = listing.status;
      for (guint i = 0; i < listing.results->len; i++)
        {
          const TetherScanResult *result = g_ptr_array_index (listing.results, i);
          g_autoptr(TetherTemplate) template = NULL;

          template = tether_load_provider_full (result->path, config, flags, &error);
          if (template == NULL)
            {
              g_printerr ("tether-inspect: %s [%s]\n", error->message, error_code_name (error));
              g_clear_error (&error);
              status = MAX (status, EXIT_MODULE_FAILED);
              continue;
            }
          if (!exercise_template (template))
            status = MAX (status, EXIT_EXERCISE_FAILED);
          tether_template_unregister (template);
        }
      listing_clear (&listing);
    }
  else
    status = list_providers ();

  tether_purge ();
  g_strfreev (opt_dirs);
  g_free (opt_config);
  return status;
}
