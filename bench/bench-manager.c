/* bench-manager.c: one manager cycle as a job runs it, a new manager,
 * tether_manager_acquire(), tether_manager_release(), and the manager
 * dropped, with 1, 16 and 64 trivial templates registered, against
 * hand-written equivalents: K caches keyed by the context, each a
 * GHashTable behind its own GMutex; and one GMutex-guarded GHashTable from
 * context to an array of the K resources, filled and emptied per cycle.
 *
 * A cycle of tether includes what a real scope pays: the context record and
 * its sentinel source (attached on acquire, destroyed when the manager
 * goes), pushing the context around each provider call, the acquire
 * timing of the stats, and the LIFO release.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <time.h>

#include "bench-common.h"

static const guint template_counts[] = { 1, 16, 64 };
#define N_TEMPLATE_COUNTS G_N_ELEMENTS (template_counts)

/* The hand-written baseline: what a program without tether would write to
 * keep K resources per context for the length of a scope. */
static GMutex      baseline_lock;
static GHashTable *baseline_table;   /* GMainContext* → GPtrArray* of resources */
static int         baseline_resource;

static BENCH_NOINLINE gpointer
baseline_make (GMainContext *context)
{
  bench_sink (context);
  return &baseline_resource;
}

static BENCH_NOINLINE void
baseline_free (gpointer resource)
{
  bench_sink (resource);
}

static BENCH_NOINLINE void
baseline_cycle (GMainContext *context,
                guint         n_templates)
{
  GPtrArray *resources = g_ptr_array_sized_new (n_templates);

  for (guint i = 0; i < n_templates; i++)
    g_ptr_array_add (resources, baseline_make (context));

  g_mutex_lock (&baseline_lock);
  g_hash_table_insert (baseline_table, context, resources);
  g_mutex_unlock (&baseline_lock);

  g_mutex_lock (&baseline_lock);
  g_hash_table_steal_extended (baseline_table, context, NULL, (gpointer *) &resources);
  g_mutex_unlock (&baseline_lock);

  for (guint i = resources->len; i > 0; i--)
    baseline_free (g_ptr_array_index (resources, i - 1));
  g_ptr_array_unref (resources);
}

/* What a program writes instead of K templates,
 * K caches keyed by the context, each a GHashTable behind its own GMutex:
 * look up, make on a miss, insert; at the end of the scope, remove and
 * free in reverse. */
typedef struct
{
  GMutex      lock;
  GHashTable *table;   /* GMainContext* → resource */
} PerTemplateCache;

static PerTemplateCache *per_template;   /* [64] */

static BENCH_NOINLINE void
per_template_cycle (GMainContext *context,
                    guint         n_templates)
{
  for (guint i = 0; i < n_templates; i++)
    {
      PerTemplateCache *cache = &per_template[i];
      gpointer resource;

      g_mutex_lock (&cache->lock);
      resource = g_hash_table_lookup (cache->table, context);
      g_mutex_unlock (&cache->lock);
      if (resource == NULL)
        {
          resource = baseline_make (context);
          g_mutex_lock (&cache->lock);
          g_hash_table_insert (cache->table, context, resource);
          g_mutex_unlock (&cache->lock);
        }
    }

  for (guint i = n_templates; i > 0; i--)
    {
      PerTemplateCache *cache = &per_template[i - 1];
      gpointer resource = NULL;

      g_mutex_lock (&cache->lock);
      g_hash_table_steal_extended (cache->table, context, NULL, &resource);
      g_mutex_unlock (&cache->lock);
      baseline_free (resource);
    }
}

static BENCH_NOINLINE void
tether_cycle (GMainContext *context)
{
  g_autoptr(TetherManager) manager = tether_manager_new (context, TETHER_MANAGER_NONE);
  g_autoptr(GError) error = NULL;

  if (!tether_manager_acquire (manager, &error))
    g_error ("tether_manager_acquire: %s", error->message);
  tether_manager_release (manager);
}

typedef struct
{
  BenchStats tether_us;
  BenchStats baseline_us;
  BenchStats ratio;       /* tether ÷ baseline, per round */
  BenchStats per_template_us;
  BenchStats per_template_ratio; /* tether ÷ per-template caches, per round */
} CountResults;

static void
measure (BenchOptions *options,
         guint         n_templates,
         CountResults *results)
{
  guint rounds = options->rounds;
  guint cycles = options->quick ? 200 : MAX (200000 / n_templates, 2000);
  g_autoptr(GPtrArray) templates = g_ptr_array_new ();
  GMainContext *context = g_main_context_new ();
  double *tether_us = g_new0 (double, rounds);
  double *baseline_us = g_new0 (double, rounds);
  double *ratio = g_new0 (double, rounds);
  double *per_template_us = g_new0 (double, rounds);
  double *per_template_ratio = g_new0 (double, rounds);

  for (guint i = 0; i < n_templates; i++)
    {
      g_autofree char *name = g_strdup_printf ("bench-manager-%u", i);

      g_ptr_array_add (templates, bench_trivial_template_new (name));
    }

  g_main_context_push_thread_default (context);

  for (guint i = 0; i < cycles / 10; i++)
    {
      tether_cycle (context);
      baseline_cycle (context, n_templates);
      per_template_cycle (context, n_templates);
    }

  for (guint r = 0; r < rounds; r++)
    {
      gint64 start;

      start = bench_now_ns ();
      for (guint i = 0; i < cycles; i++)
        tether_cycle (context);
      tether_us[r] = (bench_now_ns () - start) / 1000.0 / cycles;

      start = bench_now_ns ();
      for (guint i = 0; i < cycles; i++)
        baseline_cycle (context, n_templates);
      baseline_us[r] = (bench_now_ns () - start) / 1000.0 / cycles;

      start = bench_now_ns ();
      for (guint i = 0; i < cycles; i++)
        per_template_cycle (context, n_templates);
      per_template_us[r] = (bench_now_ns () - start) / 1000.0 / cycles;

      ratio[r] = tether_us[r] / baseline_us[r];
      per_template_ratio[r] = tether_us[r] / per_template_us[r];
    }

  /* Everything was released: a manager that works leaves nothing held. */
  for (guint i = 0; i < n_templates; i++)
    {
      TetherTemplate *template = g_ptr_array_index (templates, i);

      g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
      tether_template_unregister (template);
      g_object_unref (template);
    }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  results->tether_us = bench_stats (tether_us, rounds);
  results->baseline_us = bench_stats (baseline_us, rounds);
  results->ratio = bench_stats (ratio, rounds);
  results->per_template_us = bench_stats (per_template_us, rounds);
  results->per_template_ratio = bench_stats (per_template_ratio, rounds);

  g_free (tether_us);
  g_free (baseline_us);
  g_free (ratio);
  g_free (per_template_us);
  g_free (per_template_ratio);
}

int
main (int    argc,
      char **argv)
{
  BenchOptions options = { 0 };
  CountResults results[N_TEMPLATE_COUNTS];
  /* TETHER_ACQUIRE_TIMING=0 (meson's bench-manager-untimed) turns off the
   * clock reads of every provider acquire: what the timing costs. */
  gboolean untimed = g_strcmp0 (g_getenv ("TETHER_ACQUIRE_TIMING"), "0") == 0;
  const char *group = untimed ? "manager-untimed" : "manager";

  bench_parse_options (&options, &argc, &argv,
                       "One manager cycle (new, acquire, release, unref) with 1, 16 and 64 "
                       "trivial templates, against hand-written GMutex + GHashTable scopes.",
                       7);
  baseline_table = g_hash_table_new (NULL, NULL);
  per_template = g_new0 (PerTemplateCache, 64);
  for (guint i = 0; i < 64; i++)
    {
      g_mutex_init (&per_template[i].lock);
      per_template[i].table = g_hash_table_new (NULL, NULL);
    }

  bench_print_header (untimed ? "Manager cycle: a new manager, acquire, release, unref; "
                                "acquire timing off (TETHER_ACQUIRE_TIMING=0)"
                              : "Manager cycle: a new manager, acquire, release, unref");
  printf ("%u rounds; figures are median (min-max) over rounds. Two hand-written baselines,\n"
          "measured in the same rounds:\n"
          "  per-template caches: K GHashTables keyed by the context, each behind its\n"
          "    own GMutex: look up, make on a miss, insert; then remove and free in reverse;\n"
          "  one table: make K resources, insert the array of them under one GMutex into one\n"
          "    GHashTable keyed by the context, take it out again and free them in reverse.\n\n",
          options.rounds);
  printf ("%-9s  %-22s  %-11s  %-22s  %-18s  %-22s  %-16s\n",
          "templates", "tether us/cycle", "ns/template", "per-template us/cycle",
          "tether / per-tmpl", "one table us/cycle", "tether / one table");

  for (guint i = 0; i < N_TEMPLATE_COUNTS; i++)
    {
      g_autofree char *t = NULL, *b = NULL, *x = NULL, *p = NULL, *px = NULL;
      g_autofree char *case_name = g_strdup_printf ("%u", template_counts[i]);

      measure (&options, template_counts[i], &results[i]);
      t = bench_format_stats (results[i].tether_us, 3);
      b = bench_format_stats (results[i].baseline_us, 3);
      x = bench_format_stats (results[i].ratio, 1);
      p = bench_format_stats (results[i].per_template_us, 3);
      px = bench_format_stats (results[i].per_template_ratio, 2);
      printf ("%-9u  %-22s  %-11.0f  %-22s  %-18s  %-22s  %s\n", template_counts[i], t,
              results[i].tether_us.median * 1000 / template_counts[i], p, px, b, x);

      bench_tsv_row (&options, group, case_name, "tether_us", results[i].tether_us);
      bench_tsv_row (&options, group, case_name, "baseline_us", results[i].baseline_us);
      bench_tsv_row (&options, group, case_name, "ratio", results[i].ratio);
      bench_tsv_row (&options, group, case_name, "per_template_us", results[i].per_template_us);
      bench_tsv_row (&options, group, case_name, "per_template_ratio",
                     results[i].per_template_ratio);
    }

  printf (untimed ? "\nTarget, acquire timing off:\n" : "\nTarget:\n");
  for (guint i = 1; i < N_TEMPLATE_COUNTS; i++)
    printf ("  %2u templates <= 3x the per-template caches: %.2fx   %s\n",
            template_counts[i], results[i].per_template_ratio.median,
            bench_verdict (results[i].per_template_ratio.median <= 3.0));
  printf ("  growth 16 -> 64 templates (4x the work): %.2fx    %s\n",
          results[2].tether_us.median / results[1].tether_us.median,
          results[2].tether_us.median / results[1].tether_us.median <= 4.8 ? "linear" : "worse than linear");

  /* What the acquire timing costs: two reads of CLOCK_MONOTONIC per
   * provider acquire, against the baseline's whole work per template. */
  {
    const guint n_reads = 1000000;
    struct timespec ts;
    gint64 start = bench_now_ns ();
    double clock_ns, baseline_ns;
    BenchStats clock_stats;

    for (guint i = 0; i < n_reads; i++)
      clock_gettime (CLOCK_MONOTONIC, &ts);
    clock_ns = (double) (bench_now_ns () - start) / n_reads;
    baseline_ns = results[1].per_template_us.median * 1000 / template_counts[1];
    printf ("\nThe acquire timing (stats; TETHER_ACQUIRE_TIMING=0 turns it off) reads\n"
            "CLOCK_MONOTONIC twice per provider acquire: %.1f ns a read, against %.1f ns per\n"
            "template for the per-template caches (16 templates)%s.\n",
            clock_ns, baseline_ns, untimed ? "; timing off in this run" : "");
    clock_stats.median = clock_stats.min = clock_stats.max = clock_ns;
    bench_tsv_row (&options, group, "clock", "clock_read_ns", clock_stats);
  }

  g_hash_table_unref (baseline_table);
  for (guint i = 0; i < 64; i++)
    {
      g_hash_table_unref (per_template[i].table);
      g_mutex_clear (&per_template[i].lock);
    }
  g_free (per_template);
  bench_finish (&options);

  return 0;
}
