/* tether-stats.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <glib-object.h>

#include "tether-template.h"
#include "tether-version-macros.h"

G_BEGIN_DECLS

#define TETHER_TYPE_TEMPLATE_STATS (tether_template_stats_get_type ())

typedef struct _TetherTemplateStats TetherTemplateStats;

/**
 * TetherTemplateStats:
 * @acquires: provider acquires started (one per flight; a cache hit or a
 *   caller joining a flight under way is not one)
 * @acquires_done: provider acquires completed, with a resource or not;
 *   @acquires minus this is the number under way
 * @failures: completed acquires that gave no resource
 * @joins: callers that found an acquire under way for their context and
 *   waited for its outcome instead of starting one
 * @graceful_releases: resources released with `graceful == TRUE`, by
 *   [method@Tether.Template.release] or a manager
 * @ungraceful_releases: resources of dead contexts released with
 *   `graceful == FALSE`, by the janitor or a purge
 * @purged: resources taken off the tables because their context died;
 *   @purged minus @ungraceful_releases are still waiting for the janitor
 * @n_held: contexts a resource is held for now, as
 *   [method@Tether.Template.get_n_held]
 * @acquire_time_count: acquires whose time is in the next two fields: the
 *   completed ones, as @acquires_done, unless the program runs with
 *   `TETHER_ACQUIRE_TIMING=0` in its environment, which turns off the
 *   clock reads of every provider acquire (then 0, and so are the times)
 * @acquire_time_total_ns: time spent in the provider's acquire, summed over
 *   the completed acquires, in nanoseconds of `CLOCK_MONOTONIC`: from the
 *   call of `acquire` or `acquire_async` to its return or to the
 *   provider's callback. A manager's enter reads the clock once per
 *   acquire: each of its acquires is timed from the end of the one before
 *   it, so it also counts tether's own work in between (a fraction of a
 *   microsecond)
 * @acquire_time_max_ns: the longest of those acquires, in nanoseconds
 *
 * What a template has done since it was created, from
 * [method@Tether.Template.get_stats]. A snapshot: each field is exact, but
 * fields are read one after another while other threads may go on, so
 * relations between them hold exactly only when the template is idle.
 *
 * Allocated by tether only (fields may be added at the end in a later
 * version): copy it with tether_template_stats_copy(), free it with
 * tether_template_stats_free().
 *
 * Since: 0.2
 */
struct _TetherTemplateStats
{
  guint64 acquires;
  guint64 acquires_done;
  guint64 failures;
  guint64 joins;
  guint64 graceful_releases;
  guint64 ungraceful_releases;
  guint64 purged;
  guint   n_held;
  guint64 acquire_time_count;
  guint64 acquire_time_total_ns;
  guint64 acquire_time_max_ns;
};

TETHER_AVAILABLE_IN_0_2
GType                tether_template_stats_get_type (void) G_GNUC_CONST;
TETHER_AVAILABLE_IN_0_2
TetherTemplateStats *tether_template_stats_copy     (const TetherTemplateStats *stats) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_0_2
void                 tether_template_stats_free     (TetherTemplateStats       *stats);
TETHER_AVAILABLE_IN_0_2
TetherTemplateStats *tether_template_get_stats      (TetherTemplate            *self) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherTemplateStats, tether_template_stats_free)

G_END_DECLS
