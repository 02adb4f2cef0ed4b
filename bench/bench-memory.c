/* bench-memory.c: heap bytes per live (template, context) entry, at 10,000
 * contexts x 16 templates.
 *
 * Method: glibc's mallinfo2(), in-use bytes (uordblks, which counts each
 * chunk with its header) plus mmapped chunks (hblkhd, where large hash table
 * arrays go), read before and after acquiring; GSlice is turned off
 * (G_SLICE=always-malloc, set by re-executing if needed) so that every
 * allocation is a malloc that the statistics see. The contexts and the
 * templates exist before the first reading, so only what tether adds per
 * entry is counted. The RSS delta (from /proc/self/statm) is printed beside
 * it as a cross-check; it moves in pages and includes freed memory malloc
 * keeps.
 *
 * Two steps split the cost: acquiring the first template for every context
 * pays the per-context part (record, sentinel source, tables), the other 15
 * only the per-entry part.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-common.h"

#define N_TEMPLATES 16

static gint64
heap_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return (gint64) (info.uordblks + info.hblkhd);
}

static gint64
rss_bytes (void)
{
  g_autofree char *contents = NULL;
  gint64 pages = 0;

  if (g_file_get_contents ("/proc/self/statm", &contents, NULL, NULL))
    sscanf (contents, "%*d %" G_GINT64_FORMAT, &pages);

  return pages * sysconf (_SC_PAGESIZE);
}

typedef struct
{
  double per_entry;           /* all 16 templates: total / entries */
  double per_entry_marginal;  /* templates 2..16 */
  double per_context;         /* the first template's extra, per context */
  double rss_per_entry;
} MemoryResults;

static void
measure (guint          n_contexts,
         MemoryResults *results)
{
  TetherTemplate *templates[N_TEMPLATES];
  GMainContext **contexts = g_new (GMainContext *, n_contexts);
  GMainContext *warm = g_main_context_new ();
  gint64 heap0, heap1, heap2, rss0, rss2;
  guint n_purged;

  for (guint t = 0; t < N_TEMPLATES; t++)
    {
      g_autofree char *name = g_strdup_printf ("bench-memory-%u", t);

      templates[t] = bench_trivial_template_new (name);
    }

  /* Lazily made tables and the thread's cache exist before measuring. */
  for (guint t = 0; t < N_TEMPLATES; t++)
    g_assert_nonnull (tether_template_acquire (templates[t], warm, NULL));
  for (guint t = 0; t < N_TEMPLATES; t++)
    g_assert_true (tether_template_release (templates[t], warm, NULL));

  for (guint i = 0; i < n_contexts; i++)
    contexts[i] = g_main_context_new ();

  malloc_trim (0);
  heap0 = heap_in_use ();
  rss0 = rss_bytes ();

  for (guint i = 0; i < n_contexts; i++)
    g_assert_nonnull (tether_template_acquire (templates[0], contexts[i], NULL));
  heap1 = heap_in_use ();

  for (guint t = 1; t < N_TEMPLATES; t++)
    for (guint i = 0; i < n_contexts; i++)
      g_assert_nonnull (tether_template_acquire (templates[t], contexts[i], NULL));
  heap2 = heap_in_use ();
  rss2 = rss_bytes ();

  for (guint t = 0; t < N_TEMPLATES; t++)
    g_assert_cmpuint (tether_template_get_n_held (templates[t]), ==, n_contexts);

  results->per_entry = (double) (heap2 - heap0) / ((double) n_contexts * N_TEMPLATES);
  results->per_entry_marginal = (double) (heap2 - heap1) / ((double) n_contexts * (N_TEMPLATES - 1));
  results->per_context = (double) (heap1 - heap0) / n_contexts - results->per_entry_marginal;
  results->rss_per_entry = (double) (rss2 - rss0) / ((double) n_contexts * N_TEMPLATES);

  /* Contexts die with their entries held: everything goes to the purge. */
  for (guint i = 0; i < n_contexts; i++)
    g_main_context_unref (contexts[i]);
  n_purged = tether_purge ();
  g_assert_cmpuint (n_purged, ==, n_contexts * N_TEMPLATES);

  for (guint t = 0; t < N_TEMPLATES; t++)
    {
      g_assert_cmpuint (tether_template_get_n_held (templates[t]), ==, 0);
      tether_template_unregister (templates[t]);
      g_object_unref (templates[t]);
    }
  g_main_context_unref (warm);
  g_free (contexts);
}

int
main (int    argc,
      char **argv)
{
  BenchOptions options = { 0 };
  guint n_contexts;
  double *per_entry, *marginal, *per_context, *rss;
  BenchStats s_entry, s_marginal, s_context, s_rss;
  g_autofree char *c_entry = NULL, *c_marginal = NULL, *c_context = NULL, *c_rss = NULL;

  /* GSlice caches would hide allocations from mallinfo2(). */
  if (g_strcmp0 (g_getenv ("G_SLICE"), "always-malloc") != 0)
    {
      setenv ("G_SLICE", "always-malloc", TRUE);
      execv ("/proc/self/exe", argv);
      g_printerr ("Cannot re-execute with G_SLICE=always-malloc: %s\n", g_strerror (errno));
      return 1;
    }

  bench_parse_options (&options, &argc, &argv,
                       "Heap bytes per live (template, context) entry at 10,000 contexts "
                       "x 16 templates.",
                       3);
  n_contexts = options.quick ? 1000 : 10000;
  bench_raise_fd_limit (n_contexts + 1024);

  per_entry = g_new0 (double, options.rounds);
  marginal = g_new0 (double, options.rounds);
  per_context = g_new0 (double, options.rounds);
  rss = g_new0 (double, options.rounds);

  for (guint r = 0; r < options.rounds; r++)
    {
      MemoryResults results;

      measure (n_contexts, &results);
      per_entry[r] = results.per_entry;
      marginal[r] = results.per_entry_marginal;
      per_context[r] = results.per_context;
      rss[r] = results.rss_per_entry;
    }

  s_entry = bench_stats (per_entry, options.rounds);
  s_marginal = bench_stats (marginal, options.rounds);
  s_context = bench_stats (per_context, options.rounds);
  s_rss = bench_stats (rss, options.rounds);
  c_entry = bench_format_stats (s_entry, 1);
  c_marginal = bench_format_stats (s_marginal, 1);
  c_context = bench_format_stats (s_context, 1);
  c_rss = bench_format_stats (s_rss, 1);

  bench_print_header ("Memory: heap bytes per live (template, context) entry");
  printf ("%u contexts x %u templates = %u entries; %u rounds, median (min-max).\n"
          "Method: mallinfo2() uordblks + hblkhd before and after acquiring, G_SLICE=always-malloc;\n"
          "malloc chunk headers and hash table slack included. RSS delta as a cross-check.\n\n",
          n_contexts, N_TEMPLATES, n_contexts * N_TEMPLATES, options.rounds);
  printf ("%-58s  %s\n", "measure", "bytes");
  printf ("%-58s  %s\n", "per entry, all in (mallinfo2)", c_entry);
  printf ("%-58s  %s\n", "  per extra entry, templates 2-16 (mallinfo2)", c_marginal);
  printf ("%-58s  %s\n", "  per context, once (record, sentinel, tables; mallinfo2)", c_context);
  printf ("%-58s  %s\n", "per entry, RSS delta (cross-check)", c_rss);
  /* TetherEntry is private: context, resource, flight, template, the link
   * of its context's held list. A glibc chunk is the request plus an
   * 8-byte header, rounded up to 16. */
  printf ("%-58s  %zu (a %zu-byte malloc chunk)\n", "  of which the entry struct itself",
          sizeof (gpointer) * 5, (sizeof (gpointer) * 5 + 8 + 15) & ~(gsize) 15);

  bench_tsv_row (&options, "memory", "per-entry", "bytes", s_entry);
  bench_tsv_row (&options, "memory", "per-extra-entry", "bytes", s_marginal);
  bench_tsv_row (&options, "memory", "per-context", "bytes", s_context);
  bench_tsv_row (&options, "memory", "per-entry-rss", "bytes", s_rss);

  printf ("\nTargets:\n");
  printf ("  <= 96 bytes per live entry: %.1f bytes   %s\n",
          s_entry.median, bench_verdict (s_entry.median <= 96));

  g_free (per_entry);
  g_free (marginal);
  g_free (per_context);
  g_free (rss);
  bench_finish (&options);

  return 0;
}
