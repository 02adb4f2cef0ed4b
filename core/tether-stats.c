/* tether-stats.c: a template's counters, read as one boxed struct
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-template-private.h"
#include "tether-trace-private.h"

G_DEFINE_BOXED_TYPE (TetherTemplateStats, tether_template_stats,
                     tether_template_stats_copy, tether_template_stats_free)

/**
 * tether_template_stats_copy:
 * @stats: a #TetherTemplateStats
 *
 * Copies @stats. Callable from any thread.
 *
 * Returns: (transfer full): a copy of @stats
 *
 * Since: 0.2
 */
TetherTemplateStats *
tether_template_stats_copy (const TetherTemplateStats *stats)
{
  g_return_val_if_fail (stats != NULL, NULL);

  return g_memdup2 (stats, sizeof *stats);
}

/**
 * tether_template_stats_free:
 * @stats: (nullable): a #TetherTemplateStats
 *
 * Frees @stats. Callable from any thread.
 *
 * Since: 0.2
 */
void
tether_template_stats_free (TetherTemplateStats *stats)
{
  g_free (stats);
}

/**
 * tether_template_get_stats:
 * @self: a #TetherTemplate
 *
 * Reads what @self has done since it was created: how many times its
 * provider acquired and failed, how many callers joined an acquire under
 * way, how many resources were released gracefully, ungracefully or
 * purged, how many are held now, and how long the provider's acquires
 * took. See [struct@Tether.TemplateStats] and docs/debugging.md.
 *
 * The counters are kept in the slow paths only: an acquire served from the
 * per-thread cache is not counted and costs nothing more. Reading them takes
 * the state lock once, for @n_held. Callable from any thread, and from a
 * provider function.
 *
 * Returns: (transfer full): a new snapshot; free it with
 *   tether_template_stats_free()
 *
 * Since: 0.2
 */
TetherTemplateStats *
tether_template_get_stats (TetherTemplate *self)
{
  TetherTemplateStats *stats;
  TetherTraceCounters c;
  double ns_per_tick;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  stats = g_new0 (TetherTemplateStats, 1);

  /* acquires_done is read first, with acquire (it is written last, with
   * release): every acquire it counts has its time and outcome counted. */
  _tether_trace_counters_read (&self->call.counters, &c);
  stats->acquires = c.acquires;
  stats->acquires_done = c.acquires_done;
  stats->failures = c.failures;
  stats->joins = c.joins;
  stats->graceful_releases = c.graceful_releases;
  stats->ungraceful_releases = c.ungraceful_releases;
  stats->purged = c.purged;
  stats->acquire_time_count = c.acquires_timed;
  /* One rate for both: the longest stays within the total. */
  ns_per_tick = c.acquires_timed > 0 ? _tether_trace_ns_per_tick () : 1.0;
  stats->acquire_time_total_ns = _tether_trace_ticks_to_ns (c.acquire_ticks_total, ns_per_tick);
  stats->acquire_time_max_ns = _tether_trace_ticks_to_ns (c.acquire_ticks_max, ns_per_tick);

  TETHER_STATE_LOCK ();
  stats->n_held = _tether_entry_count_held_locked (self);
  TETHER_STATE_UNLOCK ();

  return stats;
}
