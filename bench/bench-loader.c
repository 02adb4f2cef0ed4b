/* bench-loader.c: time to load 1 and 50 provider modules, against opening
 * the same kind of files with GModule and calling their entry point.
 *
 * The modules are copies of bench-provider.c's module, each with its name
 * patched to a distinct one, written to a fresh private directory for every
 * round: tether never unloads a module, so a file loaded once would only
 * measure dlopen()'s reference count the second time. Writing the copies is
 * not timed; they are in the page cache when loaded (a warm start).
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define _GNU_SOURCE   /* memmem */

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <gmodule.h>
#include <glib/gstdio.h>

#include "bench-common.h"

#define MARKER "tether-bench-provider-000000"
#define N_MANY 50

static char  *image;          /* the module file */
static gsize  image_length;
static gsize  marker_offset;  /* where the name is in @image */

static void
read_module_image (const char *path)
{
  g_autoptr(GError) error = NULL;
  const char *found = NULL;
  const char *at;

  if (!g_file_get_contents (path, &image, &image_length, &error))
    g_error ("Cannot read the provider module: %s", error->message);

  /* The marker must be there exactly once: that is the name to patch. */
  for (at = memmem (image, image_length, MARKER, strlen (MARKER));
       at != NULL;
       at = memmem (at + 1, image_length - (at + 1 - image), MARKER, strlen (MARKER)))
    {
      if (found != NULL)
        g_error ("%s holds the name marker twice", path);
      found = at;
    }
  if (found == NULL)
    g_error ("%s does not hold the name marker " MARKER, path);

  marker_offset = found - image;
}

/* Writes a copy of the module named after @serial into @dir. */
static char *
write_copy (const char *dir,
            guint       serial)
{
  g_autoptr(GError) error = NULL;
  char name[sizeof MARKER];
  char *path;

  g_assert_cmpuint (serial, <, 1000000);
  g_snprintf (name, sizeof name, "tether-bench-provider-%06u", serial);
  g_assert_cmpuint (strlen (name), ==, strlen (MARKER));
  memcpy (image + marker_offset, name, strlen (name));

  path = g_strdup_printf ("%s/%s.so", dir, name);
  if (!g_file_set_contents_full (path, image, image_length, G_FILE_SET_CONTENTS_NONE,
                                 0644, &error))
    g_error ("Cannot write %s: %s", path, error->message);
  /* The loader refuses files writable by group or others, whatever the umask. */
  g_chmod (path, 0644);

  return path;
}

typedef struct
{
  char      *dir;
  GPtrArray *paths;
} CopyDir;

static void
copy_dir_init (CopyDir *copies,
               guint    first_serial,
               guint    n)
{
  g_autoptr(GError) error = NULL;

  copies->dir = g_dir_make_tmp ("tether-bench-loader-XXXXXX", &error);
  if (copies->dir == NULL)
    g_error ("Cannot make a temporary directory: %s", error->message);
  g_chmod (copies->dir, 0700);

  copies->paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (copies->paths, write_copy (copies->dir, first_serial + i));
}

static void
copy_dir_clear (CopyDir *copies)
{
  /* Loaded modules stay mapped; unlinking their files is harmless. */
  for (guint i = 0; i < copies->paths->len; i++)
    g_unlink (g_ptr_array_index (copies->paths, i));
  g_rmdir (copies->dir);
  g_ptr_array_unref (copies->paths);
  g_free (copies->dir);
}

/* The baseline: what a program does to load a plugin without tether. */
static void
gmodule_load (const char *path)
{
  g_autoptr(GError) error = NULL;
  TetherProviderEntryFunc entry = NULL;
  const TetherProvider *provider;
  GModule *module;

  module = g_module_open_full (path, G_MODULE_BIND_LOCAL, &error);
  if (module == NULL)
    g_error ("g_module_open_full: %s", error->message);
  if (!g_module_symbol (module, TETHER_PROVIDER_ENTRY_SYMBOL, (gpointer *) &entry))
    g_error ("%s has no entry point", path);
  provider = entry ();
  g_assert_nonnull (provider);
  g_assert_true (g_str_has_prefix (provider->name, "tether-bench-provider-"));
  g_module_make_resident (module);
}

static void
drop_templates (GPtrArray *templates)
{
  for (guint i = 0; i < templates->len; i++)
    g_assert_true (tether_template_unregister (g_ptr_array_index (templates, i)));
}

typedef struct
{
  double tether_one, tether_many, gmodule_one, gmodule_many;   /* ns */
} RoundResult;

static void
gmodule_loads (CopyDir     *g_one,
               CopyDir     *g_many,
               RoundResult *result)
{
  gint64 start;

  start = bench_now_ns ();
  gmodule_load (g_ptr_array_index (g_one->paths, 0));
  result->gmodule_one = bench_now_ns () - start;

  start = bench_now_ns ();
  for (guint i = 0; i < N_MANY; i++)
    gmodule_load (g_ptr_array_index (g_many->paths, i));
  result->gmodule_many = bench_now_ns () - start;
}

static void
run_round (guint        round,
           RoundResult *result)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) templates = NULL;
  g_autoptr(GPtrArray) failures = NULL;
  const char *dirs[2] = { NULL, NULL };
  CopyDir one, many, g_one, g_many;
  TetherTemplate *template;
  GMainContext *context;
  guint base = round * 200;
  guint loaded;
  gint64 start;

  copy_dir_init (&one, base, 1);
  copy_dir_init (&many, base + 1, N_MANY);
  copy_dir_init (&g_one, base + 100, 1);
  copy_dir_init (&g_many, base + 101, N_MANY);

  /* Which goes first alternates, so that neither always pays for what a
   * round's first load meets (freshly written files, a cold cache). */
  if (round % 2 == 1)
    gmodule_loads (&g_one, &g_many, result);

  /* One module through tether. */
  start = bench_now_ns ();
  template = tether_load_provider (g_ptr_array_index (one.paths, 0), NULL, &error);
  result->tether_one = bench_now_ns () - start;
  g_assert_no_error (error);
  g_assert_nonnull (template);

  /* It works: a resource comes from the module. */
  context = g_main_context_new ();
  g_assert_nonnull (tether_template_acquire (template, context, &error));
  g_assert_no_error (error);
  g_assert_true (tether_template_release (template, context, &error));
  g_main_context_unref (context);
  tether_template_unregister (template);
  g_object_unref (template);

  /* Fifty modules, one directory. */
  dirs[0] = many.dir;
  start = bench_now_ns ();
  loaded = tether_load_providers_full (dirs, NULL, TETHER_LOAD_NONE, &templates, &failures);
  result->tether_many = bench_now_ns () - start;
  if (failures != NULL && failures->len > 0)
    g_error ("%s", tether_load_failure_get_error (g_ptr_array_index (failures, 0))->message);
  g_assert_cmpuint (loaded, ==, N_MANY);
  g_assert_cmpuint (templates->len, ==, N_MANY);
  drop_templates (templates);

  if (round % 2 == 0)
    gmodule_loads (&g_one, &g_many, result);

  copy_dir_clear (&one);
  copy_dir_clear (&many);
  copy_dir_clear (&g_one);
  copy_dir_clear (&g_many);
}

static char *
default_module_path (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = exe ? g_path_get_dirname (exe) : g_strdup (".");

  return g_build_filename (dir, "tether-bench-provider.so", NULL);
}

int
main (int    argc,
      char **argv)
{
  BenchOptions options = { 0 };
  g_autofree char *module_path = NULL;
  double *samples[4];
  BenchStats stats[4];
  guint rounds;

  bench_parse_options (&options, &argc, &argv,
                       "Loading 1 and 50 provider modules with tether_load_provider(s), "
                       "against GModule alone. [MODULE] is the trivial provider module "
                       "(default: tether-bench-provider.so beside this program).",
                       7);
  module_path = argc > 1 ? g_strdup (argv[1]) : default_module_path ();
  read_module_image (module_path);

  rounds = options.rounds;
  for (guint i = 0; i < 4; i++)
    samples[i] = g_new0 (double, rounds);

  for (guint r = 0; r < rounds; r++)
    {
      RoundResult result = { 0 };

      run_round (r, &result);
      samples[0][r] = result.tether_one / 1000.0;
      samples[1][r] = result.tether_many / 1000.0;
      samples[2][r] = result.gmodule_one / 1000.0;
      samples[3][r] = result.gmodule_many / 1000.0;
    }

  for (guint i = 0; i < 4; i++)
    stats[i] = bench_stats (samples[i], rounds);

  bench_print_header ("Plugin loading: provider modules");
  printf ("%u rounds, fresh copies of a trivial module each round (page cache warm);\n"
          "figures are microseconds, median (min-max) over rounds.\n"
          "tether: tether_load_provider (1), tether_load_providers_full on a directory (50):\n"
          "path checks, dlopen, entry point, validation, name check, template registered.\n"
          "GModule: g_module_open_full + g_module_symbol + the entry point call, per file.\n\n",
          rounds);
  printf ("%-8s  %-28s  %-14s  %-28s  %s\n",
          "modules", "tether us", "us per module", "GModule alone us", "tether / GModule");
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *t = bench_format_stats (stats[i], 0);
      g_autofree char *g = bench_format_stats (stats[i + 2], 0);
      guint n = i == 0 ? 1 : N_MANY;

      printf ("%-8u  %-28s  %-14.1f  %-28s  %.2fx\n", n, t, stats[i].median / n, g,
              stats[i].median / stats[i + 2].median);
    }

  bench_tsv_row (&options, "loader", "tether/1", "us", stats[0]);
  bench_tsv_row (&options, "loader", "tether/50", "us", stats[1]);
  bench_tsv_row (&options, "loader", "gmodule/1", "us", stats[2]);
  bench_tsv_row (&options, "loader", "gmodule/50", "us", stats[3]);

  for (guint i = 0; i < 4; i++)
    g_free (samples[i]);
  g_free (image);
  bench_finish (&options);

  return 0;
}
