/* bench-common.c
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "bench-common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

void
bench_parse_options (BenchOptions  *options,
                     int           *argc,
                     char        ***argv,
                     const char    *summary,
                     guint          default_rounds)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  gint rounds = (gint) default_rounds;
  GOptionEntry entries[] = {
    { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
      "Repetitions of each measurement (median and spread are over them)", "N" },
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &options->quick,
      "Small sizes, for a smoke run", NULL },
    { "tsv", 0, 0, G_OPTION_ARG_FILENAME, &options->tsv_path,
      "Also write the figures as tab-separated values to FILE", "FILE" },
    G_OPTION_ENTRY_NULL
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("%s\n", error->message);
      exit (2);
    }

  options->rounds = (guint) MAX (rounds, 1);
  if (options->tsv_path != NULL)
    {
      options->tsv = fopen (options->tsv_path, "w");
      if (options->tsv == NULL)
        {
          g_printerr ("Cannot write %s: %s\n", options->tsv_path, g_strerror (errno));
          exit (2);
        }
      fprintf (options->tsv, "benchmark\tcase\tmetric\tmedian\tmin\tmax\n");
    }

  /* The benchmarks create many contexts without a manager on purpose. */
  tether_set_unmanaged_warning_enabled (FALSE);
}

void
bench_finish (BenchOptions *options)
{
  if (options->tsv != NULL)
    fclose (options->tsv);
  g_free (options->tsv_path);
}

static char *
cpu_model (void)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/cpuinfo", &contents, NULL, NULL))
    return g_strdup ("unknown");

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "model name"))
      {
        const char *colon = strchr (lines[i], ':');

        if (colon != NULL)
          return g_strstrip (g_strdup (colon + 1));
      }

  return g_strdup ("unknown");
}

void
bench_print_header (const char *title)
{
  g_autofree char *model = cpu_model ();
  double load[3] = { 0, 0, 0 };

  if (getloadavg (load, 3) < 0)
    load[0] = load[1] = load[2] = -1;

  printf ("\n== %s ==\n", title);
  printf ("   %u cores (%s), GLib %u.%u.%u, tether %s, load average %.2f %.2f %.2f\n\n",
          g_get_num_processors (), model,
          glib_major_version, glib_minor_version, glib_micro_version,
          TETHER_VERSION_S, load[0], load[1], load[2]);
}

gint64
bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);

  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

BenchStats
bench_stats (double *samples,
             guint   n)
{
  BenchStats stats = { 0, 0, 0 };

  if (n == 0)
    return stats;

  qsort (samples, n, sizeof (double), compare_double);
  stats.min = samples[0];
  stats.max = samples[n - 1];
  stats.median = (n % 2) ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;

  return stats;
}

char *
bench_format_stats (BenchStats stats,
                    int        decimals)
{
  return g_strdup_printf ("%.*f (%.*f-%.*f)",
                          decimals, stats.median,
                          decimals, stats.min,
                          decimals, stats.max);
}

void
bench_tsv_row (BenchOptions *options,
               const char   *benchmark,
               const char   *case_name,
               const char   *metric,
               BenchStats    stats)
{
  if (options->tsv == NULL)
    return;

  fprintf (options->tsv, "%s\t%s\t%s\t%.4f\t%.4f\t%.4f\n",
           benchmark, case_name, metric, stats.median, stats.min, stats.max);
  fflush (options->tsv);
}

const char *
bench_verdict (gboolean met)
{
  return met ? "met" : "MISSED";
}

static int trivial_resource;

static gpointer
trivial_acquire (GMainContext  *context,
                 gpointer       provider_data,
                 GError       **error)
{
  return &trivial_resource;
}

static void
trivial_release (gpointer      resource,
                 GMainContext *context,
                 gboolean      graceful,
                 gpointer      provider_data)
{
  g_assert (resource == &trivial_resource);
}

TetherTemplate *
bench_trivial_template_new (const char *name)
{
  TetherProvider provider = {
    .abi_version = TETHER_PROVIDER_ABI_VERSION,
    .struct_size = sizeof (TetherProvider),
    .name = name,
    .description = "a trivial provider for benchmarks",
    .acquire = trivial_acquire,
    .release = trivial_release,
  };

  return tether_template_new (&provider, NULL);
}

guint64
bench_raise_fd_limit (guint64 wanted)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    return 0;

  if (limit.rlim_cur >= wanted)
    return limit.rlim_cur;

  if (limit.rlim_max < wanted)
    {
      struct rlimit raised = { wanted, wanted };

      /* Needs CAP_SYS_RESOURCE; otherwise stay under the hard limit. */
      if (setrlimit (RLIMIT_NOFILE, &raised) == 0)
        return wanted;
    }

  limit.rlim_cur = MIN (wanted, limit.rlim_max);
  setrlimit (RLIMIT_NOFILE, &limit);
  getrlimit (RLIMIT_NOFILE, &limit);

  return limit.rlim_cur;
}

void
bench_cpu_sample (BenchCpuSample *sample)
{
  g_autofree char *contents = NULL;
  struct rusage usage;
  long ticks_per_s = sysconf (_SC_CLK_TCK);

  sample->all_busy_s = -1;
  sample->wall_ns = bench_now_ns ();

  if (ticks_per_s > 0 && g_file_get_contents ("/proc/stat", &contents, NULL, NULL))
    {
      guint64 user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;

      /* "cpu  user nice system idle iowait irq softirq steal ..." */
      if (sscanf (contents, "cpu %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                  " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                  " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                  &user, &nice, &system, &idle, &iowait, &irq, &softirq, &steal) >= 7)
        sample->all_busy_s = (double) (user + nice + system + irq + softirq + steal) / ticks_per_s;
    }

  getrusage (RUSAGE_SELF, &usage);
  sample->self_s = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                   usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

double
bench_foreign_load (const BenchCpuSample *before,
                    const BenchCpuSample *after)
{
  double wall_s = (after->wall_ns - before->wall_ns) / 1e9;
  double foreign_s;

  if (before->all_busy_s < 0 || after->all_busy_s < 0 || wall_s <= 0)
    return 0;

  foreign_s = (after->all_busy_s - before->all_busy_s) - (after->self_s - before->self_s);

  return MAX (foreign_s, 0) / (wall_s * MAX (g_get_num_processors (), 1));
}
