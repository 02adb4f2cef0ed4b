/* tether-entry.c: the (template, context) entries, each template's table of
 * them, its generation counter, the context record's list of held entries,
 * and the per-thread cache of the hit path
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "tether-entry-private.h"
#include "tether-template-private.h"

/* Atomic */
static guint64 next_generation = 1;

/* Protected by the state lock: held resource -> its TetherHeldWatch, for
 * the providers that watch theirs (ABI 1.2). Kept apart from the entries,
 * which stay 40 bytes: most providers watch nothing. */
static GHashTable *held_watches;

static guint
entry_hash (gconstpointer data)
{
  const TetherEntry *entry = data;

  return g_direct_hash (entry->context);
}

static gboolean
entry_equal (gconstpointer a,
             gconstpointer b)
{
  return ((const TetherEntry *) a)->context == ((const TetherEntry *) b)->context;
}

/* A fresh process-wide value: relaxed is enough, only uniqueness matters;
 * the release store that publishes it orders the rest. */
static guint64
next_generation_value (void)
{
  return __atomic_add_fetch (&next_generation, 1, __ATOMIC_RELAXED);
}

void
_tether_entry_table_init (TetherEntryTable *table)
{
  table->generation = next_generation_value ();
  memset (table->inline_entries, 0, sizeof table->inline_entries);
  table->entries = NULL;
}

void
_tether_entry_table_clear (TetherEntryTable *table)
{
  /* A template with entries stays alive, so none is left. */
  g_assert (table->n_alive == 0 && !table->holds_ref);
  for (guint i = 0; i < TETHER_ENTRY_TABLE_N_INLINE; i++)
    g_assert (table->inline_entries[i].context == NULL);
  g_assert (table->entries == NULL || g_hash_table_size (table->entries) == 0);
  g_clear_pointer (&table->entries, g_hash_table_unref);
}

/* One more entry of @template. g_object_ref() under the lock: never the
 * first reference. */
static void
alive_inc_locked (TetherTemplate *template)
{
  TetherEntryTable *table = &template->table;

  if (table->n_alive++ == 0 && !template->registered)
    {
      g_object_ref (template);
      table->holds_ref = TRUE;
    }
}

/* One fewer: returns the template to unref after unlocking when its
 * entries held a reference and this was the last of them, else NULL. */
static TetherTemplate *
alive_dec_locked (TetherTemplate *template)
{
  TetherEntryTable *table = &template->table;

  g_assert (table->n_alive > 0);
  if (--table->n_alive > 0 || !table->holds_ref)
    return NULL;

  table->holds_ref = FALSE;
  return template;
}

gboolean
_tether_entry_table_unregistered_locked (TetherTemplate *template)
{
  TetherEntryTable *table = &template->table;

  g_assert (!table->holds_ref);
  table->holds_ref = table->n_alive > 0;

  return table->holds_ref;
}

static gboolean
entry_is_inline (TetherEntryTable  *table,
                 const TetherEntry *entry)
{
  return entry >= table->inline_entries &&
         entry < table->inline_entries + TETHER_ENTRY_TABLE_N_INLINE;
}

/* Every cached copy of @table's entries goes stale. The templates one hold
 * invalidates share a value (*@fresh, taken at the first), since the cache
 * compares the template too; what matters is that no template's
 * generation ever comes back. */
static void
table_invalidate_locked (TetherEntryTable *table,
                         guint64          *fresh)
{
  if (*fresh == 0)
    *fresh = next_generation_value ();
  tether_atomic_store_release (&table->generation, *fresh);
}

TetherEntry *
_tether_entry_lookup_locked (TetherTemplate *template,
                             GMainContext   *context)
{
  TetherEntryTable *table = &template->table;
  TetherEntry probe = { .context = context };

  for (guint i = 0; i < TETHER_ENTRY_TABLE_N_INLINE; i++)
    if (table->inline_entries[i].context == context)
      return &table->inline_entries[i];

  return table->entries != NULL ? g_hash_table_lookup (table->entries, &probe) : NULL;
}

gpointer
_tether_entry_get_held_locked (TetherTemplate *template,
                               GMainContext   *context)
{
  TetherEntry *entry = _tether_entry_lookup_locked (template, context);

  return (entry != NULL && entry->flight == NULL) ? entry->resource : NULL;
}

guint
_tether_entry_count_held_locked (TetherTemplate *template)
{
  TetherEntryTable *table = &template->table;
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  for (guint i = 0; i < TETHER_ENTRY_TABLE_N_INLINE; i++)
    if (table->inline_entries[i].context != NULL && table->inline_entries[i].flight == NULL)
      n++;

  if (table->entries == NULL)
    return n;

  g_hash_table_iter_init (&iter, table->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (((TetherEntry *) key)->flight == NULL)
      n++;

  return n;
}

gboolean
_tether_entry_table_is_empty_locked (TetherTemplate *template)
{
  TetherEntryTable *table = &template->table;

  for (guint i = 0; i < TETHER_ENTRY_TABLE_N_INLINE; i++)
    if (table->inline_entries[i].context != NULL)
      return FALSE;

  return table->entries == NULL || g_hash_table_size (table->entries) == 0;
}

TetherEntry *
_tether_entry_add_flight_locked (TetherContextRecord *record,
                                 TetherTemplate      *template,
                                 GMainContext        *context,
                                 TetherFlight        *flight)
{
  TetherEntryTable *table = &template->table;
  TetherEntry *entry = NULL;

  for (guint i = 0; i < TETHER_ENTRY_TABLE_N_INLINE && entry == NULL; i++)
    if (table->inline_entries[i].context == NULL)
      entry = &table->inline_entries[i];

  if (entry == NULL)
    {
      entry = g_new (TetherEntry, 1);
      if (table->entries == NULL)
        table->entries = g_hash_table_new (entry_hash, entry_equal);
    }

  entry->context = context;
  entry->resource = NULL;
  entry->flight = flight;
  entry->template = template;
  entry->next_held = NULL;
  record->n_entries++;
  alive_inc_locked (template);

  if (!entry_is_inline (table, entry))
    g_hash_table_add (table->entries, entry);

  return entry;
}

void
_tether_entry_set_held_locked (TetherContextRecord *record,
                               TetherEntry         *entry,
                               gpointer             resource,
                               TetherHeldWatch     *watch)
{
  if (watch != NULL)
    {
      if (held_watches == NULL)
        held_watches = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (held_watches, resource, watch);
    }

  entry->resource = resource;
  entry->flight = NULL;
  entry->next_held = record->held;
  record->held = entry;
}

/* Takes @entry off its template's table and out of @record's count, and
 * frees it; a held entry's cached copies go stale. Its place in the
 * record's list is the caller's, and so is its count in the template's
 * n_alive. */
static void
entry_forget_locked (TetherContextRecord *record,
                     TetherEntry         *entry,
                     guint64             *fresh)
{
  TetherEntryTable *table = &entry->template->table;

  if (entry->flight == NULL)
    table_invalidate_locked (table, fresh);

  g_assert (record != NULL && record->n_entries > 0);
  record->n_entries--;

  if (entry_is_inline (table, entry))
    entry->context = NULL;   /* the slot is free */
  else
    {
      g_hash_table_remove (table->entries, entry);
      g_free (entry);
    }
}

TetherTemplate *
_tether_entry_remove_flight_locked (TetherContextRecord *record,
                                    TetherEntry         *entry)
{
  TetherTemplate *template = entry->template;
  guint64 fresh = 0;

  g_assert (entry->flight != NULL);
  entry_forget_locked (record, entry, &fresh);

  return alive_dec_locked (template);
}

void
_tether_taken_list_init (TetherTakenList *list)
{
  list->items = list->on_stack;
  list->n = 0;
  list->capacity = G_N_ELEMENTS (list->on_stack);
}

void
_tether_taken_list_clear (TetherTakenList *list)
{
  _tether_entry_released (list->items, list->n, TRUE);
  if (list->items != list->on_stack)
    g_free (list->items);
  _tether_taken_list_init (list);
}

void
_tether_entry_released (TetherTakenResource *items,
                        guint                n,
                        gboolean             graceful)
{
  TetherTemplate *on_stack[16];
  TetherTemplate **last = on_stack;
  guint n_last = 0;

  if (n == 0)
    return;
  if (n > G_N_ELEMENTS (on_stack))
    last = g_new (TetherTemplate *, n);

  TETHER_STATE_LOCK ();
  for (guint i = 0; i < n; i++)
    {
      TetherTemplate *template = items[i].template;

      _tether_trace_released_locked (&template->call.counters, graceful);
      if (alive_dec_locked (template) != NULL)
        last[n_last++] = template;
    }
  TETHER_STATE_UNLOCK ();

  /* The provider's release returned: nothing calls these any more. */
  for (guint i = 0; i < n; i++)
    g_free (items[i].watch);
  for (guint i = 0; i < n_last; i++)
    g_object_unref (last[i]);
  if (last != on_stack)
    g_free (last);
}

/* The watch of held @entry's resource, taken with it: released, so that a
 * late discard does nothing. */
static TetherHeldWatch *
take_watch_locked (TetherEntry *entry)
{
  TetherHeldWatch *watch;

  if (!_tether_provider_has_watch (&entry->template->call) || held_watches == NULL)
    return NULL;

  watch = g_hash_table_lookup (held_watches, entry->resource);
  if (watch != NULL)
    {
      g_hash_table_remove (held_watches, entry->resource);
      watch->released = TRUE;
    }
  return watch;
}

static void
taken_append (TetherTakenList *out,
              TetherEntry     *entry)
{
  if (out->n == out->capacity)
    {
      TetherTakenResource *items = g_new (TetherTakenResource, out->capacity * 2);

      memcpy (items, out->items, out->n * sizeof *items);
      if (out->items != out->on_stack)
        g_free (out->items);
      out->items = items;
      out->capacity *= 2;
    }

  out->items[out->n].template = entry->template;   /* still alive: counted */
  out->items[out->n].resource = entry->resource;
  out->items[out->n].watch = take_watch_locked (entry);
  out->n++;
}

void
_tether_entry_take_one_locked (TetherContextRecord *record,
                               TetherEntry         *entry,
                               TetherTakenList     *out)
{
  guint64 fresh = 0;

  g_assert (entry->flight == NULL);

  /* A context holds a few resources: a walk is cheaper than a second
   * pointer in every entry. */
  for (TetherEntry **link = &record->held;; link = &(*link)->next_held)
    {
      g_assert (*link != NULL);
      if (*link == entry)
        {
          *link = entry->next_held;
          break;
        }
    }

  taken_append (out, entry);
  entry_forget_locked (record, entry, &fresh);
}

void
_tether_entry_take_held_locked (TetherContextRecord *record,
                                GPtrArray           *only,
                                TetherTakenList     *out)
{
  TetherEntry **link;
  guint64 fresh = 0;

  if (record == NULL)
    return;

  link = &record->held;
  while (*link != NULL)
    {
      TetherEntry *entry = *link;

      if (only != NULL && !g_ptr_array_find (only, entry->template, NULL))
        {
          link = &entry->next_held;
          continue;
        }

      *link = entry->next_held;
      taken_append (out, entry);
      entry_forget_locked (record, entry, &fresh);
    }
}

/* Called from the sentinel's notify, once @record is off the record table
 * (a new context at the same address starts with no entries). */
void
_tether_entry_take_dead_locked (TetherContextRecord *record,
                                GArray              *dead)
{
  TetherTakenList taken;

  _tether_taken_list_init (&taken);
  _tether_entry_take_held_locked (record, NULL, &taken);

  /* A flight holds a reference on its context, so a context cannot die
   * while an acquire for it is under way: every entry was held. */
  g_assert (record->n_entries == 0);

  for (guint i = 0; i < taken.n; i++)
    _tether_trace_purge_queued_locked (&taken.items[i].template->call.counters);
  g_array_append_vals (dead, taken.items, taken.n);
  if (taken.items != taken.on_stack)
    g_free (taken.items);
}

void
_tether_entry_collect_held_locked (TetherContextRecord *record,
                                   GPtrArray           *out)
{
  for (TetherEntry *entry = record->held; entry != NULL; entry = entry->next_held)
    g_ptr_array_insert (out, 0, entry->template);   /* in acquisition order */
}

void
_tether_entry_table_forget_locked (TetherTemplate *template)
{
  TetherEntryTable *table = &template->table;
  guint64 fresh = 0;

  /* The reference the entries held is the parent's too: dropping it could
   * finalize a template the child's code still points to, so it is leaked
   * with the resources. */
  table->n_alive = 0;
  table->holds_ref = FALSE;
  /* The watches are the parent's too (its providers may still call them
   * there): forgotten, not freed. */
  if (held_watches != NULL)
    g_hash_table_steal_all (held_watches);
  memset (table->inline_entries, 0, sizeof table->inline_entries);
  if (table->entries != NULL)
    {
      GHashTableIter iter;
      gpointer entry;

      g_hash_table_iter_init (&iter, table->entries);
      while (g_hash_table_iter_next (&iter, &entry, NULL))
        {
          g_hash_table_iter_remove (&iter);
          g_free (entry);
        }
    }
  table_invalidate_locked (table, &fresh);
}

/* ------------------------------------------------------------------------ */
/* The per-thread cache                                                     */
/* ------------------------------------------------------------------------ */

static void thread_cache_free (gpointer data);

__thread TetherThreadCache *_tether_thread_cache __attribute__((tls_model ("initial-exec")));
static GPrivate thread_cache_key = G_PRIVATE_INIT (thread_cache_free);

static void
thread_cache_free (gpointer data)
{
  TetherThreadCache *cache = data;

  if (_tether_thread_cache == cache)
    _tether_thread_cache = NULL;

  g_free (cache);
}

void
_tether_entry_cache_locked (TetherTemplate *template,
                            GMainContext   *context,
                            gpointer        resource)
{
  TetherThreadCache *cache = _tether_thread_cache;
  TetherCacheSlot *slot;

  if (cache == NULL)
    {
      cache = g_new0 (TetherThreadCache, 1);
      _tether_thread_cache = cache;
      g_private_set (&thread_cache_key, cache);
    }

  slot = &cache->slots[_tether_thread_cache_index (template, context)];
  slot->template = template;
  slot->context = context;
  slot->resource = resource;
  slot->generation = _tether_entry_table_generation (&template->table);
}

void
_tether_entry_cache_if_held_locked (TetherTemplate *template,
                                    GMainContext   *context,
                                    gpointer        resource)
{
  TetherEntry *entry = _tether_entry_lookup_locked (template, context);

  if (entry != NULL && entry->flight == NULL && entry->resource == resource)
    _tether_entry_cache_locked (template, context, resource);
}
