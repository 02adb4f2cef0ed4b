/* tether-entry-private.h: the (template, context) entries, each template's
 * table of them, its generation, and the per-thread cache of the hit path.
 * Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-entry-private.h is private to libtether"
#endif

#include "tether-janitor-private.h"
#include "tether-lock-private.h"

G_BEGIN_DECLS

typedef struct _TetherFlight TetherFlight;

/* One (template, context) pair, in its template's table (a set keyed by
 * @context) and, once held, in its context record's list of held entries,
 * most recently acquired first: a context's release walks that list (LIFO
 * by construction, no sort). Protected by the state lock; no entry pointer
 * leaves it (what leaves the tables is a TetherTakenResource).
 *
 * 40 bytes: one outside its table's inline part is a 48-byte malloc chunk
 * (bench-memory). */
typedef struct _TetherEntry
{
  GMainContext        *context;   /* identity only, never a reference;
                                   * NULL: a free inline slot */
  gpointer             resource;  /* valid when flight == NULL */
  TetherFlight        *flight;    /* non-NULL while the provider acquires */
  TetherTemplate      *template;  /* alive while the entry is (see n_alive) */
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

  /* Protected by the state lock. A template stays alive while it has
   * entries, or resources taken off them and not yet released: the
   * registry's reference keeps a registered one alive; an unregistered one
   * holds a single reference for all of them (@holds_ref), taken when its
   * first one comes, or handed over by unregister, and dropped when the
   * last one goes. (One reference per entry was two locked instructions
   * and a GObject reference count per template of every scope.) */
  guint           n_alive;
  gboolean        holds_ref;
} TetherEntryTable;

/* A resource taken off the tables for graceful release after the lock, or
 * for ungraceful release of a dead context's: it still counts in its
 * template's n_alive until _tether_entry_released() says it was
 * released. */
typedef struct
{
  TetherTemplate  *template;
  gpointer         resource;
  TetherHeldWatch *watch;     /* its provider's watch, released, or NULL */
} TetherTakenResource;

/* Resources taken off the tables for graceful release, in the order to
 * release them; on the caller's stack. */
typedef struct
{
  TetherTakenResource *items;   /* @on_stack, or allocated */
  guint                n;
  guint                capacity;
  TetherTakenResource  on_stack[16];
} TetherTakenList;

void         _tether_taken_list_init          (TetherTakenList  *list);
/* Unlocked, after the provider releases: _tether_entry_released() for
 * the list's items, and frees its storage. */
void         _tether_taken_list_clear         (TetherTakenList  *list);
/* Unlocked, after the provider releases of @n resources taken off the
 * tables: counts them as released (gracefully or not), in one hold, and
 * lets their templates go (one may finalize here). */
void         _tether_entry_released           (TetherTakenResource *items,
                                               guint             n,
                                               gboolean          graceful);
/* The state lock held: @template was just unregistered. Returns TRUE when
 * its entries keep the registry's reference (the caller then does not
 * drop it). */
gboolean     _tether_entry_table_unregistered_locked (TetherTemplate *template);

void         _tether_entry_table_init         (TetherEntryTable *table);
void         _tether_entry_table_clear        (TetherEntryTable *table);

/* The hit path's read of the generation. */
static inline guint64
_tether_entry_table_generation (TetherEntryTable *table)
{
  return tether_atomic_load_acquire (&table->generation);
}

TetherEntry *_tether_entry_lookup_locked       (TetherTemplate      *template,
                                                GMainContext        *context);
/* The held resource of (@template, @context), or NULL. */
gpointer     _tether_entry_get_held_locked     (TetherTemplate      *template,
                                                GMainContext        *context);
guint        _tether_entry_count_held_locked   (TetherTemplate      *template);
gboolean     _tether_entry_table_is_empty_locked (TetherTemplate    *template);
/* Puts @resource in this thread's cache (if it is still what @template
 * holds for @context, for the _if_held form: a flight's result may have
 * been released again by the time its waiter wakes up). */
void         _tether_entry_cache_locked        (TetherTemplate      *template,
                                                GMainContext        *context,
                                                gpointer             resource);
void         _tether_entry_cache_if_held_locked (TetherTemplate     *template,
                                                GMainContext        *context,
                                                gpointer             resource);
/* A new entry for an acquire under way; @record is @context's. */
TetherEntry *_tether_entry_add_flight_locked   (TetherContextRecord *record,
                                                TetherTemplate      *template,
                                                GMainContext        *context,
                                                TetherFlight        *flight);
/* @watch: the resource's watch, when its provider watches (or NULL). */
void         _tether_entry_set_held_locked     (TetherContextRecord *record,
                                                TetherEntry         *entry,
                                                gpointer             resource,
                                                TetherHeldWatch     *watch);
/* Takes @entry, still in flight (its acquire failed), off the tables and
 * frees it. Returns the template's reference its entries held, if this was
 * the last, for the caller to drop after unlocking, or NULL. */
TetherTemplate *_tether_entry_remove_flight_locked (TetherContextRecord *record,
                                                TetherEntry         *entry);
/* Takes held @entry off the tables, appended to @out. */
void         _tether_entry_take_one_locked     (TetherContextRecord *record,
                                                TetherEntry         *entry,
                                                TetherTakenList     *out);
/* Takes every held entry of @record (NULL: none), or with @only not NULL
 * those of the templates in @only, off the tables and appends them to
 * @out, most recently acquired first. */
void         _tether_entry_take_held_locked    (TetherContextRecord *record,
                                                GPtrArray           *only,
                                                TetherTakenList     *out);
/* Moves every held entry of the dead context of @record (already off the
 * record table) to @dead (a GArray of TetherTakenResource). */
void         _tether_entry_take_dead_locked    (TetherContextRecord *record,
                                                GArray              *dead);
/* Adds to @out every template holding a resource in @record, in
 * acquisition order; no references. */
void         _tether_entry_collect_held_locked (TetherContextRecord *record,
                                                GPtrArray           *out);
/* In a child after fork(): every entry of @template is forgotten, with
 * nothing released (the resources are the parent's), and every cached copy
 * goes stale. */
void         _tether_entry_table_forget_locked (TetherTemplate      *template);

/* ------------------------------------------------------------------------ */
/* The per-thread cache of the hit path                                     */
/* ------------------------------------------------------------------------ */

/* A small direct-mapped table per thread, each slot validated by the
 * template's generation. The lookup is inline so that a hit costs no call
 * beyond the public one. */
#define TETHER_CACHE_SLOTS_LOG2 6
#define TETHER_CACHE_SLOTS      (1u << TETHER_CACHE_SLOTS_LOG2)

typedef struct
{
  TetherTemplate *template;   /* identity only */
  GMainContext   *context;    /* identity only */
  gpointer        resource;
  guint64         generation; /* the template's generation when stored */
} TetherCacheSlot;

typedef struct
{
  TetherCacheSlot slots[TETHER_CACHE_SLOTS];
} TetherThreadCache;

/* initial-exec: one pointer of static TLS, so the hit path reads it with a
 * single %fs-relative load. The cache itself is on the heap (a large static
 * TLS block would make dlopen() of the library fail from Python). */
extern __thread TetherThreadCache *_tether_thread_cache __attribute__((tls_model ("initial-exec")));

static inline guint
_tether_thread_cache_index (TetherTemplate *template,
                            GMainContext   *context)
{
  /* Fibonacci hashing of the two pointers mixed: one multiply, then the top
   * bits, whatever the width of a pointer. */
  guintptr h = ((guintptr) template ^ ((guintptr) context >> 3)) * (guintptr) 0x9E3779B97F4A7C15ull;

  return (guint) (h >> (sizeof h * 8 - TETHER_CACHE_SLOTS_LOG2));
}

static inline gpointer
_tether_thread_cache_lookup (TetherTemplate *template,
                             GMainContext   *context,
                             guint64         generation)
{
  TetherThreadCache *cache = _tether_thread_cache;
  TetherCacheSlot *slot;

  if (G_UNLIKELY (cache == NULL))
    return NULL;

  slot = &cache->slots[_tether_thread_cache_index (template, context)];
  if (slot->template == template &&
      slot->context == context &&
      slot->generation == generation)
    return slot->resource;

  return NULL;
}

G_END_DECLS
