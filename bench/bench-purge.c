/* bench-purge.c: the cold path and the death of contexts.
 *
 * For N = 1,000, 10,000 and 100,000 contexts, one trivial template:
 *
 *  1. first acquire: tether_template_acquire() for each new context (the
 *     context record, the sentinel source attached to the context, the
 *     single-flight machinery, the provider call, the entry), against a
 *     hand-written insert into a GMutex-guarded GHashTable, with and without
 *     a sentinel GSource of its own;
 *  2. death: the last g_main_context_unref() of each context, which runs
 *     tether's sentinel notify (the entry leaves the tables and is queued),
 *     against the unref of as many contexts tether never saw;
 *  3. purge: tether_purge(), which releases every queued resource.
 *
 * Contexts live in batches of at most 10,000 (see BATCH). Figures are per
 * context (one entry each). The per-context cost at 100,000
 * against 1,000 says whether the cost grows linearly with N.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "bench-common.h"

static const guint sizes[] = { 1000, 10000, 100000 };
#define N_SIZES G_N_ELEMENTS (sizes)

typedef enum
{
  PHASE_FIRST_ACQUIRE,
  PHASE_BASELINE_INSERT,
  PHASE_BASELINE_SENTINEL,
  PHASE_DEATH,
  PHASE_BARE_UNREF,
  PHASE_PURGE,
  PHASE_DEATH_AND_PURGE,
  N_PHASES
} Phase;

static const char *phase_names[] = {
  "first acquire (tether)",
  "hand-written: lock + insert",
  "hand-written: insert + sentinel",
  "death: last unref (tether)",
  "bare context unref",
  "tether_purge (release)",
  "death + purge (tether)",
};

static const char *phase_keys[] = {
  "first-acquire",
  "baseline-insert",
  "baseline-sentinel",
  "death",
  "bare-unref",
  "purge",
  "death-purge",
};

static TetherTemplate *template;
static GMutex          baseline_lock;
static GHashTable     *baseline_table;
static int             baseline_resource;

static GSourceFuncs baseline_sentinel_funcs = { NULL, NULL, NULL, NULL, NULL, NULL };

static gboolean
baseline_sentinel_dispatch (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
baseline_sentinel_notify (gpointer data)
{
  g_mutex_lock (&baseline_lock);
  g_hash_table_remove (baseline_table, data);
  g_mutex_unlock (&baseline_lock);
}

static GMainContext **
contexts_new (guint n)
{
  GMainContext **contexts = g_new (GMainContext *, n);

  for (guint i = 0; i < n; i++)
    contexts[i] = g_main_context_new ();

  return contexts;
}

static double
contexts_unref (GMainContext **contexts,
                guint          n)
{
  gint64 start = bench_now_ns ();

  for (guint i = 0; i < n; i++)
    g_main_context_unref (contexts[i]);

  return (double) (bench_now_ns () - start);
}

/* Contexts alive at once. Each GMainContext holds an eventfd and the
 * open-file limit here may be as low as 20,000 (and cannot be raised without
 * CAP_SYS_RESOURCE), so N contexts are made, acquired for and killed in
 * batches; the dead ones pile up in the purge queue, which then holds all N
 * resources when tether_purge() runs. */
#define BATCH 10000

/* One round at size @n: fills @ns_per_context[phase]. */
static void
run_round (guint   n,
           double *ns_per_context)
{
  double first_acquire = 0, death = 0, insert = 0, bare_unref = 0, sentinel = 0;
  gint64 start;
  guint purged;

  for (guint done = 0; done < n; done += BATCH)
    {
      guint batch = MIN (BATCH, n - done);
      GMainContext **contexts;

      /* 1. Cold path, and the contexts left holding their entries. */
      contexts = contexts_new (batch);
      start = bench_now_ns ();
      for (guint i = 0; i < batch; i++)
        {
          gpointer resource = tether_template_acquire (template, contexts[i], NULL);

          g_assert_nonnull (resource);
        }
      first_acquire += bench_now_ns () - start;
      g_assert_cmpuint (tether_template_get_n_held (template), ==, batch);

      /* 2. Death: each unref runs the sentinel's notify. */
      death += contexts_unref (contexts, batch);
      g_free (contexts);
      g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
      g_assert_cmpuint (tether_get_n_pending_purge (), ==, done + batch);

      /* Baselines on batches of the same size. */
      contexts = contexts_new (batch);
      start = bench_now_ns ();
      for (guint i = 0; i < batch; i++)
        {
          g_mutex_lock (&baseline_lock);
          g_hash_table_insert (baseline_table, contexts[i], &baseline_resource);
          g_mutex_unlock (&baseline_lock);
        }
      insert += bench_now_ns () - start;
      g_hash_table_remove_all (baseline_table);
      bare_unref += contexts_unref (contexts, batch);
      g_free (contexts);

      contexts = contexts_new (batch);
      start = bench_now_ns ();
      for (guint i = 0; i < batch; i++)
        {
          GSource *source = g_source_new (&baseline_sentinel_funcs, sizeof (GSource));

          g_source_set_callback (source, baseline_sentinel_dispatch, contexts[i],
                                 baseline_sentinel_notify);
          g_source_attach (source, contexts[i]);
          g_source_unref (source);

          g_mutex_lock (&baseline_lock);
          g_hash_table_insert (baseline_table, contexts[i], &baseline_resource);
          g_mutex_unlock (&baseline_lock);
        }
      sentinel += bench_now_ns () - start;
      contexts_unref (contexts, batch);
      g_free (contexts);
      g_assert_cmpuint (g_hash_table_size (baseline_table), ==, 0);
    }

  /* 3. Purge: N queued resources. */
  start = bench_now_ns ();
  purged = tether_purge ();
  ns_per_context[PHASE_PURGE] = (bench_now_ns () - start) / (double) n;
  g_assert_cmpuint (purged, ==, n);

  ns_per_context[PHASE_FIRST_ACQUIRE] = first_acquire / n;
  ns_per_context[PHASE_DEATH] = death / n;
  ns_per_context[PHASE_DEATH_AND_PURGE] = ns_per_context[PHASE_DEATH] + ns_per_context[PHASE_PURGE];
  ns_per_context[PHASE_BASELINE_INSERT] = insert / n;
  ns_per_context[PHASE_BARE_UNREF] = bare_unref / n;
  ns_per_context[PHASE_BASELINE_SENTINEL] = sentinel / n;
}

int
main (int    argc,
      char **argv)
{
  BenchOptions options = { 0 };
  BenchStats results[N_SIZES][N_PHASES];
  guint n_sizes = N_SIZES;
  guint64 fd_limit;

  bench_parse_options (&options, &argc, &argv,
                       "Cold path (first acquire in a new context) and context death -> purge "
                       "for 1,000, 10,000 and 100,000 contexts.",
                       3);
  if (options.quick)
    n_sizes = 2;

  fd_limit = bench_raise_fd_limit (BATCH + 1024);
  if (fd_limit < BATCH + 256)
    g_error ("Open-file limit %" G_GUINT64_FORMAT " is too low for %u contexts at once",
             fd_limit, BATCH);

  baseline_table = g_hash_table_new (NULL, NULL);
  template = bench_trivial_template_new ("bench-purge");

  bench_print_header ("Cold path and purge: per context, one template");
  printf ("%u rounds per size (1 at N = 100,000); figures are ns per context, median (min-max) over rounds.\n"
          "Contexts are made, acquired for and killed in batches of at most %u (open files);\n"
          "the purge queue holds all N dead resources when tether_purge() runs.\n\n",
          options.rounds, BATCH);

  for (guint s = 0; s < n_sizes; s++)
    {
      /* The largest size takes long while the cost is not linear: one
       * round per run there; the spread then comes from repeated runs. */
      guint rounds = sizes[s] >= 100000 ? 1 : options.rounds;
      double *samples = g_new0 (double, (gsize) rounds * N_PHASES);
      double *column = g_new0 (double, rounds);

      for (guint r = 0; r < rounds; r++)
        run_round (sizes[s], &samples[r * N_PHASES]);

      for (guint p = 0; p < N_PHASES; p++)
        {
          for (guint r = 0; r < rounds; r++)
            column[r] = samples[r * N_PHASES + p];
          results[s][p] = bench_stats (column, rounds);
        }

      g_free (column);
      g_free (samples);
    }

  printf ("%-34s", "ns per context");
  for (guint s = 0; s < n_sizes; s++)
    {
      char heading[32];

      g_snprintf (heading, sizeof heading, "N = %u", sizes[s]);
      printf ("  %-24s", heading);
    }
  printf ("  %s\n", n_sizes > 1 ? "per-context growth, largest N vs smallest" : "");
  for (guint p = 0; p < N_PHASES; p++)
    {
      printf ("%-34s", phase_names[p]);
      for (guint s = 0; s < n_sizes; s++)
        {
          g_autofree char *cell = bench_format_stats (results[s][p], 0);
          g_autofree char *case_name = g_strdup_printf ("%s/%u", phase_keys[p], sizes[s]);

          printf ("  %-24s", cell);
          bench_tsv_row (&options, "purge", case_name, "ns_per_context", results[s][p]);
        }
      if (n_sizes > 1)
        printf ("  %.2fx", results[n_sizes - 1][p].median / results[0][p].median);
      printf ("\n");
    }

  printf ("\nRatios (medians):\n");
  for (guint s = 0; s < n_sizes; s++)
    printf ("  N = %-6u  first acquire / hand-written with sentinel: %.2fx;"
            "  death / bare unref: %.2fx\n", sizes[s],
            results[s][PHASE_FIRST_ACQUIRE].median / results[s][PHASE_BASELINE_SENTINEL].median,
            results[s][PHASE_DEATH].median / results[s][PHASE_BARE_UNREF].median);

  printf ("\nTargets:\n");
  for (guint s = 0; s < n_sizes; s++)
    {
      /* What tether adds to a context's death, then the purge itself. */
      double tether_ns = results[s][PHASE_DEATH].median - results[s][PHASE_BARE_UNREF].median +
                         results[s][PHASE_PURGE].median;

      printf ("  N = %-6u  purge <= 1 us per dead entry: %.0f ns (death overhead + purge)   %s\n",
              sizes[s], tether_ns, bench_verdict (tether_ns <= 1000));
    }
  if (n_sizes > 1)
    {
      double growth = results[n_sizes - 1][PHASE_DEATH_AND_PURGE].median /
                      results[0][PHASE_DEATH_AND_PURGE].median;

      printf ("  linear in N: per-context death + purge at N = %u is %.2fx that at N = %u   %s\n",
              sizes[n_sizes - 1], growth, sizes[0],
              growth <= 1.5 ? "linear (within 1.5x)" : "NOT linear");
    }

  tether_template_unregister (template);
  g_object_unref (template);
  g_hash_table_unref (baseline_table);
  bench_finish (&options);

  return 0;
}
