/* bench-hit-path.c: the cost of asking for "my context's resource" once it
 * is held, against a hand-written GMutex + GHashTable and against the floor,
 * g_private_get(), with 1, 2 and 8 threads.
 *
 * Every thread has its own GMainContext pushed as thread-default, as a worker
 * serving requests would, and asks for the resource of that context. Each
 * round runs every variant once, one after the other with the same threads,
 * so that the ratios compare figures taken side by side.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_VALGRIND_CALLGRIND_H
# include <valgrind/callgrind.h>
#endif

#include "bench-common.h"

typedef enum
{
  VARIANT_TETHER_EXPLICIT,
  VARIANT_TETHER_DEFAULT,
  VARIANT_MUTEX_HASH,
  VARIANT_PRIVATE,
  VARIANT_THREAD_DEFAULT,
  VARIANT_MUTEX_DEFAULT,
  N_VARIANTS,
  VARIANT_EMPTY = N_VARIANTS,   /* callgrind only: the loop and call alone */
} Variant;

static const char *variant_names[] = {
  "tether_template_acquire (t, ctx)",
  "tether_template_acquire (t, NULL)",
  "GMutex + GHashTable lookup",
  "g_private_get",
  "g_main_context_get_thread_default",
  "get_thread_default + GMutex + hash",
  "empty loop (a call)",
};

/* Short names for TSV output and the plot. */
static const char *variant_keys[] = {
  "tether-explicit",
  "tether-default",
  "mutex-hash",
  "private",
  "get-thread-default",
  "mutex-hash-default",
  "empty",
};

static TetherTemplate *template;
static GMutex          table_lock;
static GHashTable     *table;        /* GMainContext* → resource, under table_lock */
static GPrivate        private_key;

/* ------------------------------------------------------------------------ */
/* The measured loops: one function each, never inlined, so that callgrind  */
/* and a profiler see them apart.                                           */
/* ------------------------------------------------------------------------ */

static BENCH_NOINLINE gpointer
loop_tether_explicit (GMainContext *context,
                      guint64       n)
{
  gpointer r = NULL;

  for (guint64 i = 0; i < n; i++)
    {
      r = tether_template_acquire (template, context, NULL);
      bench_sink (r);
    }

  return r;
}

static BENCH_NOINLINE gpointer
loop_tether_default (GMainContext *context,
                     guint64       n)
{
  gpointer r = NULL;

  for (guint64 i = 0; i < n; i++)
    {
      r = tether_template_acquire (template, NULL, NULL);
      bench_sink (r);
    }

  return r;
}

static BENCH_NOINLINE gpointer
loop_mutex_hash (GMainContext *context,
                 guint64       n)
{
  gpointer r = NULL;

  for (guint64 i = 0; i < n; i++)
    {
      g_mutex_lock (&table_lock);
      r = g_hash_table_lookup (table, context);
      g_mutex_unlock (&table_lock);
      bench_sink (r);
    }

  return r;
}

static BENCH_NOINLINE gpointer
loop_private (GMainContext *context,
              guint64       n)
{
  gpointer r = NULL;

  for (guint64 i = 0; i < n; i++)
    {
      r = g_private_get (&private_key);
      bench_sink (r);
    }

  return r;
}

static BENCH_NOINLINE gpointer
loop_thread_default (GMainContext *context,
                     guint64       n)
{
  gpointer r = NULL;

  for (guint64 i = 0; i < n; i++)
    {
      r = g_main_context_get_thread_default ();
      bench_sink (r);
    }

  return r;
}

/* What a program writes for the NULL form by hand: resolve the
 * thread-default context, then the locked lookup. */
static BENCH_NOINLINE gpointer
loop_mutex_default (GMainContext *context,
                         guint64       n)
{
  gpointer r = NULL;

  for (guint64 i = 0; i < n; i++)
    {
      GMainContext *current = g_main_context_get_thread_default ();

      g_mutex_lock (&table_lock);
      r = g_hash_table_lookup (table, current);
      g_mutex_unlock (&table_lock);
      bench_sink (r);
    }

  return r;
}

static BENCH_NOINLINE gpointer
empty_call (GMainContext *context)
{
  bench_sink (context);
  return context;
}

static BENCH_NOINLINE gpointer
loop_empty (GMainContext *context,
            guint64       n)
{
  gpointer r = NULL;

  for (guint64 i = 0; i < n; i++)
    {
      r = empty_call (context);
      bench_sink (r);
    }

  return r;
}

static gpointer
run_variant (Variant       variant,
             GMainContext *context,
             guint64       n)
{
  switch (variant)
    {
    case VARIANT_TETHER_EXPLICIT: return loop_tether_explicit (context, n);
    case VARIANT_TETHER_DEFAULT:  return loop_tether_default (context, n);
    case VARIANT_MUTEX_HASH:      return loop_mutex_hash (context, n);
    case VARIANT_PRIVATE:         return loop_private (context, n);
    case VARIANT_THREAD_DEFAULT:  return loop_thread_default (context, n);
    case VARIANT_MUTEX_DEFAULT:
      return loop_mutex_default (context, n);
    case VARIANT_EMPTY:           return loop_empty (context, n);
    default:                      g_assert_not_reached ();
    }
}

/* What each variant must return in the thread that owns @context. */
static gpointer
expected_result (Variant       variant,
                 GMainContext *context,
                 gpointer      resource)
{
  switch (variant)
    {
    case VARIANT_THREAD_DEFAULT:
    case VARIANT_EMPTY:
      return context;
    default:
      return resource;
    }
}

/* ------------------------------------------------------------------------ */
/* Per-thread setup                                                         */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GMainContext *context;
  gpointer      resource;
} ThreadSetup;

static void
thread_setup (ThreadSetup *setup)
{
  g_autoptr(GError) error = NULL;

  setup->context = g_main_context_new ();
  g_main_context_push_thread_default (setup->context);

  setup->resource = tether_template_acquire (template, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (setup->resource);

  g_mutex_lock (&table_lock);
  g_hash_table_insert (table, setup->context, setup->resource);
  g_mutex_unlock (&table_lock);

  g_private_set (&private_key, setup->resource);
}

static void
thread_teardown (ThreadSetup *setup)
{
  g_autoptr(GError) error = NULL;

  g_mutex_lock (&table_lock);
  g_hash_table_remove (table, setup->context);
  g_mutex_unlock (&table_lock);

  g_assert_true (tether_template_release (template, setup->context, &error));
  g_assert_no_error (error);

  g_main_context_pop_thread_default (setup->context);
  g_main_context_unref (setup->context);
}

/* ------------------------------------------------------------------------ */
/* A pool of threads that run one variant at a time on command              */
/* ------------------------------------------------------------------------ */

typedef struct _Pool Pool;

typedef struct
{
  Pool    *pool;
  GThread *thread;
  gint64   start;
  gint64   end;
} Worker;

struct _Pool
{
  GMutex   lock;
  GCond    cond;
  guint    job;          /* incremented for each command */
  guint    n_done;       /* workers done with the current command */
  gboolean quit;
  Variant  variant;
  guint64  iterations;
  Worker  *workers;
  guint    n_workers;
};

static gpointer
worker_main (gpointer data)
{
  Worker *worker = data;
  Pool *pool = worker->pool;
  ThreadSetup setup;
  guint seen = 0;

  thread_setup (&setup);

  for (;;)
    {
      Variant variant;
      guint64 iterations;
      gpointer r;

      g_mutex_lock (&pool->lock);
      pool->n_done++;
      g_cond_broadcast (&pool->cond);
      while (pool->job == seen && !pool->quit)
        g_cond_wait (&pool->cond, &pool->lock);
      if (pool->quit)
        {
          g_mutex_unlock (&pool->lock);
          break;
        }
      seen = pool->job;
      variant = pool->variant;
      iterations = pool->iterations;
      g_mutex_unlock (&pool->lock);

      worker->start = bench_now_ns ();
      r = run_variant (variant, setup.context, iterations);
      worker->end = bench_now_ns ();

      g_assert_true (r == expected_result (variant, setup.context, setup.resource));
    }

  thread_teardown (&setup);

  return NULL;
}

static void
pool_wait_done_locked (Pool *pool)
{
  while (pool->n_done < pool->n_workers)
    g_cond_wait (&pool->cond, &pool->lock);
}

static Pool *
pool_new (guint n_workers)
{
  Pool *pool = g_new0 (Pool, 1);

  g_mutex_init (&pool->lock);
  g_cond_init (&pool->cond);
  pool->n_workers = n_workers;
  pool->workers = g_new0 (Worker, n_workers);

  g_mutex_lock (&pool->lock);
  for (guint i = 0; i < n_workers; i++)
    {
      pool->workers[i].pool = pool;
      pool->workers[i].thread = g_thread_new ("bench-worker", worker_main, &pool->workers[i]);
    }
  pool_wait_done_locked (pool);
  g_mutex_unlock (&pool->lock);

  return pool;
}

/* Runs @variant on every worker at once; returns the wall time from the
 * first start to the last end, in nanoseconds. */
static double
pool_run (Pool    *pool,
          Variant  variant,
          guint64  iterations)
{
  gint64 first_start = G_MAXINT64;
  gint64 last_end = 0;

  g_mutex_lock (&pool->lock);
  pool->variant = variant;
  pool->iterations = iterations;
  pool->n_done = 0;
  pool->job++;
  g_cond_broadcast (&pool->cond);
  pool_wait_done_locked (pool);
  g_mutex_unlock (&pool->lock);

  for (guint i = 0; i < pool->n_workers; i++)
    {
      first_start = MIN (first_start, pool->workers[i].start);
      last_end = MAX (last_end, pool->workers[i].end);
    }

  return (double) (last_end - first_start);
}

static void
pool_free (Pool *pool)
{
  g_mutex_lock (&pool->lock);
  pool->quit = TRUE;
  g_cond_broadcast (&pool->cond);
  g_mutex_unlock (&pool->lock);

  for (guint i = 0; i < pool->n_workers; i++)
    g_thread_join (pool->workers[i].thread);

  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->cond);
  g_free (pool->workers);
  g_free (pool);
}

/* ------------------------------------------------------------------------ */
/* Wall-clock measurement                                                   */
/* ------------------------------------------------------------------------ */

static const guint thread_counts[] = { 1, 2, 8 };
#define N_THREAD_COUNTS G_N_ELEMENTS (thread_counts)

/* A round counts when other processes used at most the cores the round
 * left idle plus this share of the machine while it ran (see
 * bench_foreign_load(); /proc/stat counts in 10 ms ticks, hence the
 * margin). */
#define MAX_FOREIGN_LOAD 0.15
#define MIN_CLEAN_ROUNDS 3

typedef struct
{
  guint      clean_rounds;  /* rounds the figures come from */
  gboolean   disturbed;     /* fewer than MIN_CLEAN_ROUNDS were clean: all are used */
  BenchStats ns_per_op[N_VARIANTS];
  BenchStats vs_private[N_VARIANTS];  /* ns/op ÷ g_private_get's, per round */
  BenchStats vs_mutex[N_VARIANTS];    /* mutex+hash's ns/op ÷ this one's, per round */
} ThreadResults;

static void
measure_threads (BenchOptions  *options,
                 guint          n_threads,
                 guint64        iterations,
                 ThreadResults *results)
{
  guint n_cores = MAX (g_get_num_processors (), 1);
  guint rounds = options->rounds;
  double *ns = g_new0 (double, (gsize) N_VARIANTS * rounds);
  double *samples = g_new0 (double, rounds);
  gboolean *clean = g_new0 (gboolean, rounds);
  guint n_clean = 0;
  double allowed = (double) (n_cores - MIN (n_threads, n_cores)) / n_cores + MAX_FOREIGN_LOAD;
  Pool *pool = pool_new (n_threads);

  /* Warm up caches, the branch predictor and the CPU clock. */
  for (guint v = 0; v < N_VARIANTS; v++)
    pool_run (pool, v, iterations / 4);

  for (guint r = 0; r < rounds; r++)
    {
      BenchCpuSample before, after;

      bench_cpu_sample (&before);
      for (guint v = 0; v < N_VARIANTS; v++)
        {
          double wall = pool_run (pool, v, iterations);

          /* Core time per operation: with more threads than cores, the
           * threads share the cores, so the wall time is scaled by how many
           * run at once. With threads ≤ cores this is each thread's own
           * ns/op. */
          ns[v * rounds + r] = wall * MIN (n_threads, n_cores) / ((double) n_threads * iterations);
        }
      bench_cpu_sample (&after);

      /* On a shared machine, another process on one core turns two
       * threads into one: keep only rounds nobody else disturbed. */
      clean[r] = bench_foreign_load (&before, &after) <= allowed;
      n_clean += clean[r];
    }

  pool_free (pool);

  results->clean_rounds = n_clean;
  results->disturbed = n_clean < MIN_CLEAN_ROUNDS;
  if (results->disturbed)
    for (guint r = 0; r < rounds; r++)
      clean[r] = TRUE;

  for (guint v = 0; v < N_VARIANTS; v++)
    {
      guint n = 0;

      for (guint r = 0; r < rounds; r++)
        if (clean[r])
          samples[n++] = ns[v * rounds + r] / ns[VARIANT_PRIVATE * rounds + r];
      results->vs_private[v] = bench_stats (samples, n);

      n = 0;
      for (guint r = 0; r < rounds; r++)
        if (clean[r])
          samples[n++] = ns[VARIANT_MUTEX_HASH * rounds + r] / ns[v * rounds + r];
      results->vs_mutex[v] = bench_stats (samples, n);

      n = 0;
      for (guint r = 0; r < rounds; r++)
        if (clean[r])
          samples[n++] = ns[v * rounds + r];
      results->ns_per_op[v] = bench_stats (samples, n);
    }

  g_free (clean);

  g_free (samples);
  g_free (ns);
}

static void
print_targets (ThreadResults *results)
{
  ThreadResults *one = &results[0], *two = &results[1];
  double null_vs_default = one->ns_per_op[VARIANT_TETHER_DEFAULT].median /
                           one->ns_per_op[VARIANT_THREAD_DEFAULT].median;
  double null_vs_mutex_default = one->ns_per_op[VARIANT_MUTEX_DEFAULT].median /
                                 one->ns_per_op[VARIANT_TETHER_DEFAULT].median;

  printf ("\nTargets, 1 thread:\n");
  printf ("  (t, NULL) <= 2x g_main_context_get_thread_default:           %5.2fx   %s\n",
          null_vs_default, bench_verdict (null_vs_default <= 2.0));
  printf ("  (t, NULL) >= 3x faster than get_thread_default + mutex+hash: %5.2fx   %s\n",
          null_vs_mutex_default, bench_verdict (null_vs_mutex_default >= 3.0));
  printf ("  (t, ctx)  <= 1.5x g_private_get:                             %5.2fx   %s\n",
          one->vs_private[VARIANT_TETHER_EXPLICIT].median,
          bench_verdict (one->vs_private[VARIANT_TETHER_EXPLICIT].median <= 1.5));

  printf ("\nTargets, 1 and 2 threads (ratios are medians of per-round ratios):\n");
  for (guint v = VARIANT_TETHER_EXPLICIT; v <= VARIANT_TETHER_DEFAULT; v++)
    {
      double slowdown = two->ns_per_op[v].median / one->ns_per_op[v].median;
      double private_slowdown = two->ns_per_op[VARIANT_PRIVATE].median /
                                one->ns_per_op[VARIANT_PRIVATE].median;
      double slowdown_vs_floor = two->vs_private[v].median / one->vs_private[v].median;

      printf ("  %s\n", variant_names[v]);
      printf ("    <= 2x g_private_get, 1 thread:           %5.2fx   %s\n",
              one->vs_private[v].median, bench_verdict (one->vs_private[v].median <= 2.0));
      printf ("    <= 2x g_private_get, 2 threads:          %5.2fx   %s\n",
              two->vs_private[v].median, bench_verdict (two->vs_private[v].median <= 2.0));
      printf ("    >= 3x faster than mutex+hash, 1 thread:  %5.2fx   %s\n",
              one->vs_mutex[v].median, bench_verdict (one->vs_mutex[v].median >= 3.0));
      printf ("    >= 8x faster than mutex+hash, 2 threads: %5.2fx   %s\n",
              two->vs_mutex[v].median, bench_verdict (two->vs_mutex[v].median >= 8.0));
      /* Against the floor's own change from 1 to 2 threads, so that a core
       * taken by another process does not count as tether's slowdown. */
      printf ("    no per-thread slowdown 1 -> 2 threads:   %5.2fx   %s"
              " (x g_private_get at 2 threads / at 1; <= 1.10x counts as none;\n"
              "                                                     raw ns/op %.2fx, g_private_get's own %.2fx)\n",
              slowdown_vs_floor, bench_verdict (slowdown_vs_floor <= 1.10),
              slowdown, private_slowdown);
    }
}

static int
run_wall_clock (BenchOptions *options)
{
  guint64 iterations = options->quick ? 100000 : 1000000;
  ThreadResults results[N_THREAD_COUNTS];

  bench_print_header ("Hit path: resource already held for the thread's context");
  printf ("%" G_GUINT64_FORMAT " calls per thread per measurement, %u rounds; "
          "figures are median (min-max) over the rounds no other process disturbed.\n"
          "ns/op is per thread while threads <= cores; with more threads than cores it is\n"
          "core time per call (wall x cores / calls).\n\n",
          iterations, options->rounds);

  printf ("%-7s  %-36s  %-22s  %-20s  %s\n",
          "threads", "variant", "ns/op", "x g_private_get", "faster than mutex+hash");

  for (guint t = 0; t < N_THREAD_COUNTS; t++)
    {
      measure_threads (options, thread_counts[t], iterations, &results[t]);
      if (results[t].disturbed)
        printf ("%u threads: only %u of %u rounds undisturbed by other processes;"
                " figures over all rounds (DISTURBED)\n",
                thread_counts[t], results[t].clean_rounds, options->rounds);
      else
        printf ("%u threads: %u of %u rounds undisturbed by other processes\n",
                thread_counts[t], results[t].clean_rounds, options->rounds);

      for (guint v = 0; v < N_VARIANTS; v++)
        {
          g_autofree char *ns = bench_format_stats (results[t].ns_per_op[v], 2);
          g_autofree char *vp = bench_format_stats (results[t].vs_private[v], 2);
          g_autofree char *vm = bench_format_stats (results[t].vs_mutex[v], 2);
          g_autofree char *case_name = g_strdup_printf ("%s/%u", variant_keys[v], thread_counts[t]);

          printf ("%-7u  %-36s  %-22s  %-20s  %s\n",
                  thread_counts[t], variant_names[v], ns, vp, vm);

          bench_tsv_row (options, "hit-path", case_name, "ns_per_op", results[t].ns_per_op[v]);
          bench_tsv_row (options, "hit-path", case_name, "clean_rounds",
                         (BenchStats) { results[t].clean_rounds, results[t].clean_rounds,
                                        results[t].clean_rounds });
          bench_tsv_row (options, "hit-path", case_name, "x_private", results[t].vs_private[v]);
          bench_tsv_row (options, "hit-path", case_name, "faster_than_mutex", results[t].vs_mutex[v]);
        }
      printf ("\n");
    }

  print_targets (results);

  return 0;
}

/* ------------------------------------------------------------------------ */
/* Instruction counts under callgrind (see callgrind-hit-path.sh)           */
/* ------------------------------------------------------------------------ */

static int
run_callgrind (guint64 iterations)
{
#ifdef HAVE_VALGRIND_CALLGRIND_H
  ThreadSetup setup;

  if (!RUNNING_ON_VALGRIND)
    {
      g_printerr ("--callgrind is meant to run under valgrind --tool=callgrind; "
                  "use bench/callgrind-hit-path.sh\n");
      return 2;
    }

  thread_setup (&setup);

  /* One dump per variant, named after it; the script reads the totals. */
  for (guint v = 0; v <= VARIANT_EMPTY; v++)
    {
      g_autofree char *label = g_strdup_printf ("variant=%s iterations=%" G_GUINT64_FORMAT,
                                                variant_keys[v], iterations);
      gpointer r;

      run_variant (v, setup.context, iterations / 10);   /* warm */
      CALLGRIND_ZERO_STATS;
      r = run_variant (v, setup.context, iterations);
      CALLGRIND_DUMP_STATS_AT (label);
      g_assert_true (r == expected_result (v, setup.context, setup.resource));
    }

  thread_teardown (&setup);

  return 0;
#else
  g_printerr ("Built without valgrind/callgrind.h\n");
  return 2;
#endif
}

int
main (int    argc,
      char **argv)
{
  BenchOptions options = { 0 };
  gint64 callgrind_iterations = 0;
  int status;

  /* Read before the common options; not shown in --help on purpose. */
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix (argv[i], "--callgrind="))
      {
        callgrind_iterations = g_ascii_strtoll (argv[i] + strlen ("--callgrind="), NULL, 10);
        memmove (&argv[i], &argv[i + 1], (argc - i) * sizeof (char *));
        argc--;
        break;
      }

  bench_parse_options (&options, &argc, &argv,
                       "Hit path of tether_template_acquire() against GMutex+GHashTable "
                       "and g_private_get(), with 1, 2 and 8 threads.",
                       15);

  table = g_hash_table_new (NULL, NULL);
  template = bench_trivial_template_new ("bench-hit-path");

  if (callgrind_iterations > 0)
    status = run_callgrind ((guint64) callgrind_iterations);
  else
    status = run_wall_clock (&options);

  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  tether_template_unregister (template);
  g_object_unref (template);
  g_hash_table_unref (table);
  bench_finish (&options);

  return status;
}
