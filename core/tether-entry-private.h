/* tether-entry-private.h: the (template, context) entries and each
 * template's table of them. Private to libtether, never installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-entry-private.h is private to libtether"
#endif

#include "tether-lock-private.h"

G_BEGIN_DECLS

typedef struct _TetherFlight TetherFlight;

/* One (template, context) pair. Lives in its template's entry table, which
 * is a set keyed by @context. Holds a reference on its template. Protected
 * by the state lock. */
typedef struct _TetherEntry
{
  GMainContext *context;      /* identity only, never a reference */
  gpointer      resource;     /* valid when flight == NULL */
  guint64       serial;       /* acquisition order, for LIFO release */
  TetherFlight *flight;       /* non-NULL while the provider acquires */
} TetherEntry;

/* A template's part owned by tether-entry.c. */
typedef struct
{
  /* Atomic. Set to a fresh process-wide value whenever an entry of this
   * template stops being valid; the per-thread cache compares it, so a
   * stale slot can never match, even for a new template or a new context at
   * a reused address. */
  guint64         generation;

  /* Protected by the state lock */
  GHashTable     *entries;    /* set of TetherEntry*, keyed by ->context */
} TetherEntryTable;

/* A resource of a dead context, waiting for ungraceful release. */
typedef struct
{
  TetherTemplate *template;   /* owned reference */
  gpointer        resource;
} TetherDeadResource;

/* A held entry taken off its table for a graceful release. */
typedef struct
{
  TetherTemplate *template;   /* the entry's reference */
  TetherEntry    *entry;      /* owned */
} TetherHeldEntry;

void         _tether_entry_table_init        (TetherEntryTable *table);
void         _tether_entry_table_clear       (TetherEntryTable *table);

/* The hit path's read of the generation (tether-thread-cache-private.h). */
static inline guint64
_tether_entry_table_generation (TetherEntryTable *table)
{
  return tether_atomic_load_acquire (&table->generation);
}

TetherEntry *_tether_entry_lookup_locked      (TetherTemplate *template,
                                               GMainContext   *context);
/* The held resource of (@template, @context), or NULL. */
gpointer     _tether_entry_get_held_locked    (TetherTemplate *template,
                                               GMainContext   *context);
guint        _tether_entry_count_held_locked  (TetherTemplate *template);
gboolean     _tether_entry_table_is_empty_locked (TetherTemplate *template);
void         _tether_entry_cache_locked       (TetherTemplate *template,
                                               GMainContext   *context,
                                               gpointer        resource);
void         _tether_entry_cache_if_held_locked (TetherTemplate *template,
                                               GMainContext   *context,
                                               gpointer        resource);
/* A new entry for an acquire under way; the context must have a record. */
TetherEntry *_tether_entry_add_flight_locked  (TetherTemplate *template,
                                               GMainContext   *context,
                                               TetherFlight   *flight);
void         _tether_entry_set_held_locked    (TetherEntry    *entry,
                                               gpointer        resource);
/* Takes @entry off the table; its reference on @template passes to the
 * caller, who frees @entry and drops that reference after unlocking. */
void         _tether_entry_remove_locked      (TetherTemplate *template,
                                               TetherEntry    *entry);
/* Moves every held entry of the dead @context to @dead. */
void         _tether_entry_take_dead_locked   (GMainContext   *context,
                                               GArray         *dead);
/* Takes every held entry of @context off the tables, most recently
 * acquired first, into @out (TetherHeldEntry). */
void         _tether_entry_take_held_locked   (GMainContext   *context,
                                               GArray         *out);
/* Adds to @out every template holding a resource for @context. */
void         _tether_entry_collect_held_locked (GMainContext  *context,
                                               GPtrArray      *out);

G_END_DECLS
