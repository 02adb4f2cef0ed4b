/* tether-entry-private.h: the (template, context) entries and each
 * template's table of them. Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-entry-private.h is private to libtether"
#endif

#include "tether-context-record-private.h"
#include "tether-lock-private.h"

G_BEGIN_DECLS

typedef struct _TetherFlight TetherFlight;

/* One (template, context) pair. Lives in its template's entry table, which
 * is a set keyed by @context, and once held in its context record's list of
 * held entries, most recently acquired first: a context's release walks
 * that list (LIFO by construction, no lookup per template, no sort).
 * Holds a reference on its template only while the template is not
 * registered: the registry's keeps a registered one alive, and unregister
 * gives every entry of the template its own (so "holds one" is "its
 * template is unregistered", read under the lock). Protected by the state
 * lock; never seen outside it (what leaves the tables is a
 * TetherTakenResource).
 *
 * 40 bytes; one not in its table's inline part is a 48-byte malloc chunk
 * on 64-bit, the same chunk as the 32 bytes it had with a serial instead of
 * @template and @next_held, so the per-entry memory target (bench-memory)
 * is unchanged. */
typedef struct _TetherEntry
{
  GMainContext        *context;   /* identity only, never a reference;
                                   * NULL: a free inline slot */
  gpointer             resource;  /* valid when flight == NULL */
  TetherFlight        *flight;    /* non-NULL while the provider acquires */
  TetherTemplate      *template;  /* a reference if unregistered */
  struct _TetherEntry *next_held; /* in the record's list, while held */
} TetherEntry;

/* A template serves a few contexts as a rule (one per thread that runs
 * one): its first entries live in the template itself, with no allocation
 * and no hashing; the others go to a hash table made when first needed. */
#define TETHER_ENTRY_TABLE_N_INLINE 4

/* A template's part owned by tether-entry.c. */
typedef struct
{
  /* Atomic. Set to a fresh process-wide value whenever an entry of this
   * template stops being valid; the per-thread cache compares it, so a
   * stale slot can never match, even for a new template or a new context at
   * a reused address. */
  guint64         generation;

  /* Protected by the state lock. An entry stays where it was made until it
   * is freed: flights and the record's list point to it. */
  TetherEntry     inline_entries[TETHER_ENTRY_TABLE_N_INLINE];
  GHashTable     *entries;    /* the others: set of TetherEntry*, keyed by
                               * ->context; NULL until the inline part is full */
} TetherEntryTable;

/* A resource taken off the tables: for ungraceful release (a dead
 * context's, always with a reference) or for graceful release after the
 * lock (with the entry's reference if it had one; a registered template
 * is kept alive by its list's pin instead). */
typedef struct
{
  TetherTemplate *template;
  gpointer        resource;
  gboolean        owns_ref;   /* a reference on @template comes with it */
} TetherTakenResource;

/* Resources taken off the tables for graceful release, in the order to
 * release them. */
typedef struct
{
  TetherTakenResource *items;   /* @on_stack, or allocated */
  guint                n;
  guint                capacity;
  /* Holds the pin: an item of a registered template without a reference,
   * which unregister must not let finalize before _tether_taken_list_done(). */
  gboolean             pinned;
  TetherTakenResource  on_stack[16];
} TetherTakenList;

static inline void
_tether_taken_list_init (TetherTakenList *list)
{
  list->items = list->on_stack;
  list->n = 0;
  list->capacity = G_N_ELEMENTS (list->on_stack);
  list->pinned = FALSE;
}

/* After the releases, unlocked: counts them as graceful releases (one
 * hold, with the pin's end), drops the items' references and the
 * list's pin (and with the last pin, the registry references unregister
 * handed over meanwhile), and frees the list's storage. A template may
 * finalize here. */
void         _tether_taken_list_done         (TetherTakenList *list);

/* The state lock held: @template was just taken off the registry list.
 * Gives each of its entries a reference; returns TRUE when the list's
 * reference was handed over to wait for the pins of releases under way
 * (the caller then does not drop it). */
gboolean     _tether_entry_table_unregistered_locked (TetherTemplate *template);

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
/* A new entry for an acquire under way; @record is @context's. */
TetherEntry *_tether_entry_add_flight_locked  (TetherContextRecord *record,
                                               TetherTemplate *template,
                                               GMainContext   *context,
                                               TetherFlight   *flight);
void         _tether_entry_set_held_locked    (TetherContextRecord *record,
                                               TetherEntry    *entry,
                                               gpointer        resource);
/* Takes @entry, still in flight (its acquire failed), off the tables and
 * frees it. Returns its reference on @template (the template, or NULL if
 * it had none), for the caller to drop after unlocking. */
TetherTemplate *_tether_entry_remove_flight_locked (TetherTemplate *template,
                                               TetherEntry    *entry);
/* Takes held @entry off the tables for graceful release, appended to @out. */
void         _tether_entry_take_one_locked    (TetherTemplate *template,
                                               TetherEntry    *entry,
                                               TetherTakenList *out);
/* Moves every held entry of the dead context of @record (already off the
 * record table) to @dead (a GArray of TetherTakenResource). */
void         _tether_entry_take_dead_locked   (TetherContextRecord *record,
                                               GArray         *dead);
/* Takes every held entry of @context off the tables, or with @only not
 * NULL those of the templates in @only, and appends their resources to
 * @out, most recently acquired first; each item's reference on its
 * template is the caller's, to drop after unlocking. */
void         _tether_entry_take_held_locked   (GMainContext   *context,
                                               GPtrArray      *only,
                                               TetherTakenList *out);
/* Adds to @out every template holding a resource for @context. */
void         _tether_entry_collect_held_locked (GMainContext  *context,
                                               GPtrArray      *out);

G_END_DECLS
