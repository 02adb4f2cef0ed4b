/* tether-entry.c: the (template, context) entries, each template's table of
 * them, and its generation counter
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "tether-context-record-private.h"
#include "tether-registry-private.h"
#include "tether-template-private.h"
#include "tether-thread-cache-private.h"

/* Atomic */
static guint64 next_generation = 1;

/* Protected by the state lock. Lists taken for graceful release that hold
 * items of registered templates without a reference (TetherTakenList's
 * pin), and the registry references unregister handed over while any did:
 * dropped when the last pin goes, so that no template finalizes under a
 * release that is still to call its provider. */
static guint      n_pins;
static GPtrArray *handed_over;

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
  /* Entries hold references on the template, so none is left. */
  for (guint i = 0; i < TETHER_ENTRY_TABLE_N_INLINE; i++)
    g_assert (table->inline_entries[i].context == NULL);
  g_assert (table->entries == NULL || g_hash_table_size (table->entries) == 0);
  g_clear_pointer (&table->entries, g_hash_table_unref);
}

static gboolean
entry_is_inline (TetherEntryTable  *table,
                 const TetherEntry *entry)
{
  return entry >= table->inline_entries &&
         entry < table->inline_entries + TETHER_ENTRY_TABLE_N_INLINE;
}

/* Stores a generation from next_generation_value() that *@fresh holds, or
 * takes one into it first: the templates that one hold invalidates can
 * share a value, since the cache compares the template too; what matters
 * is that no template's generation ever comes back. */
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

void
_tether_entry_cache_locked (TetherTemplate *template,
                            GMainContext   *context,
                            gpointer        resource)
{
  _tether_thread_cache_store (template, context, resource,
                              _tether_entry_table_generation (&template->table));
}

/* Puts @resource in this thread's cache if it is still what @template holds
 * for @context: a flight's result may have been released again by the time
 * its waiter wakes up. */
void
_tether_entry_cache_if_held_locked (TetherTemplate *template,
                                    GMainContext   *context,
                                    gpointer        resource)
{
  TetherEntry *entry = _tether_entry_lookup_locked (template, context);

  if (entry != NULL && entry->flight == NULL && entry->resource == resource)
    _tether_entry_cache_locked (template, context, resource);
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
    entry = g_new (TetherEntry, 1);

  entry->context = context;
  entry->resource = NULL;
  entry->flight = flight;
  entry->template = template;
  /* A registered template is kept alive by the registry's reference. */
  if (!_tether_registry_is_registered_locked (template))
    g_object_ref (template);
  entry->next_held = NULL;
  record->n_entries++;

  if (!entry_is_inline (table, entry))
    {
      if (table->entries == NULL)
        table->entries = g_hash_table_new (entry_hash, entry_equal);
      g_hash_table_add (table->entries, entry);
    }

  return entry;
}

/* The record's list of held entries, most recently acquired first. */
static void
held_push_locked (TetherContextRecord *record,
                  TetherEntry         *entry)
{
  entry->next_held = record->held;
  record->held = entry;
}

static void
held_unlink_locked (TetherContextRecord *record,
                    TetherEntry         *entry)
{
  /* A context holds a few resources: a walk is cheaper than a second
   * pointer in every entry. */
  for (TetherEntry **link = &record->held; *link != NULL; link = &(*link)->next_held)
    if (*link == entry)
      {
        *link = entry->next_held;
        entry->next_held = NULL;
        return;
      }

  g_assert_not_reached ();
}

void
_tether_entry_set_held_locked (TetherContextRecord *record,
                               TetherEntry         *entry,
                               gpointer             resource)
{
  entry->resource = resource;
  entry->flight = NULL;
  held_push_locked (record, entry);
}

/* Takes @entry off its template's table and out of @record's count, and
 * frees it; a held entry's cached copies go stale. Its place in the
 * record's list is the caller's; so is its reference on its template, if
 * it had one. */
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
_tether_entry_remove_flight_locked (TetherTemplate *template,
                                    TetherEntry    *entry)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (entry->context);
  guint64 fresh = 0;

  g_assert (entry->template == template && entry->flight != NULL);
  entry_forget_locked (record, entry, &fresh);

  return _tether_registry_is_registered_locked (template) ? NULL : template;
}

/* Frees @list's items unless they are its own on-stack ones. */
static void
taken_list_free_items (TetherTakenList *list)
{
  if (list->items != list->on_stack)
    g_free (list->items);
}

/* Appends what held @entry holds to @out, with its reference if it had
 * one; otherwise (a registered template) @out pins it, or, without @pin, a
 * reference is taken. */
static void
taken_append_locked (TetherTakenList *out,
                     TetherEntry     *entry,
                     gboolean         pin)
{
  TetherTakenResource *item;

  if (out->n == out->capacity)
    {
      TetherTakenResource *items = g_new (TetherTakenResource, out->capacity * 2);

      memcpy (items, out->items, out->n * sizeof *items);
      taken_list_free_items (out);
      out->items = items;
      out->capacity *= 2;
    }

  item = &out->items[out->n++];
  item->template = entry->template;
  item->resource = entry->resource;
  item->owns_ref = !_tether_registry_is_registered_locked (entry->template);
  if (item->owns_ref)
    return;

  if (!pin)
    {
      g_object_ref (item->template);   /* under the lock: never the last */
      item->owns_ref = TRUE;
    }
  else if (!out->pinned)
    {
      n_pins++;
      out->pinned = TRUE;
    }
}

void
_tether_entry_take_one_locked (TetherTemplate  *template,
                               TetherEntry     *entry,
                               TetherTakenList *out)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (entry->context);
  guint64 fresh = 0;

  g_assert (entry->template == template && entry->flight == NULL);
  held_unlink_locked (record, entry);
  taken_append_locked (out, entry, TRUE);
  entry_forget_locked (record, entry, &fresh);
}

/* Every held entry of @record, or those of the templates in @only, taken
 * off the tables and appended to @out in the record's order (pinned as
 * taken_append_locked() says). */
static void
take_held_from_locked (TetherContextRecord *record,
                       GPtrArray           *only,
                       TetherTakenList     *out,
                       gboolean             pin)
{
  TetherEntry **link = &record->held;
  guint64 fresh = 0;

  while (*link != NULL)
    {
      TetherEntry *entry = *link;

      if (only != NULL && !g_ptr_array_find (only, entry->template, NULL))
        {
          link = &entry->next_held;
          continue;
        }

      *link = entry->next_held;
      taken_append_locked (out, entry, pin);
      entry_forget_locked (record, entry, &fresh);
    }
}

/* Called from the sentinel's notify, once @record is off the record table
 * (a new context at the same address starts with no entries). The purge
 * queue may keep its items for long: each takes a reference. */
void
_tether_entry_take_dead_locked (TetherContextRecord *record,
                                GArray              *dead)
{
  TetherTakenList taken;

  _tether_taken_list_init (&taken);
  take_held_from_locked (record, NULL, &taken, FALSE);

  /* A flight holds a reference on its context, so a context cannot die
   * while an acquire for it is under way: every entry was held. */
  g_assert (record->n_entries == 0);
  g_assert (!taken.pinned);

  for (guint i = 0; i < taken.n; i++)
    _tether_trace_purge_queued_locked (&taken.items[i].template->call.counters);
  g_array_append_vals (dead, taken.items, taken.n);
  taken_list_free_items (&taken);
}

void
_tether_entry_take_held_locked (GMainContext    *context,
                                GPtrArray       *only,
                                TetherTakenList *out)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (context);

  if (record != NULL)
    take_held_from_locked (record, only, out, TRUE);
}

void
_tether_taken_list_done (TetherTakenList *list)
{
  g_autoptr(GPtrArray) unpinned = NULL;

  /* The hold that ends the pin (a list of registered templates, the usual
   * one) counts the releases too; a list without a pin takes it for that. */
  if (list->n > 0 || list->pinned)
    {
      TETHER_STATE_LOCK ();
      for (guint i = 0; i < list->n; i++)
        _tether_trace_released_locked (&list->items[i].template->call.counters);
      if (list->pinned)
        {
          g_assert (n_pins > 0);
          if (--n_pins == 0 && handed_over != NULL && handed_over->len > 0)
            unpinned = g_steal_pointer (&handed_over);
        }
      TETHER_STATE_UNLOCK ();
    }

  for (guint i = 0; i < list->n; i++)
    if (list->items[i].owns_ref)
      g_object_unref (list->items[i].template);
  /* The registry references unregister handed over, last. */
  for (guint i = 0; unpinned != NULL && i < unpinned->len; i++)
    g_object_unref (g_ptr_array_index (unpinned, i));

  taken_list_free_items (list);
  _tether_taken_list_init (list);
}

gboolean
_tether_entry_table_unregistered_locked (TetherTemplate *template)
{
  TetherEntryTable *table = &template->table;
  GHashTableIter iter;

  /* Every entry holds a reference from now on (g_object_ref() under the
   * lock: never the last reference's). */
  for (guint i = 0; i < TETHER_ENTRY_TABLE_N_INLINE; i++)
    if (table->inline_entries[i].context != NULL)
      g_object_ref (template);
  if (table->entries != NULL)
    {
      g_hash_table_iter_init (&iter, table->entries);
      while (g_hash_table_iter_next (&iter, NULL, NULL))
        g_object_ref (template);
    }

  /* A release under way may hold it pinned, without a reference. */
  if (n_pins == 0)
    return FALSE;

  if (handed_over == NULL)
    handed_over = g_ptr_array_new ();
  g_ptr_array_add (handed_over, template);
  return TRUE;
}

void
_tether_entry_collect_held_locked (GMainContext *context,
                                   GPtrArray    *out)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (context);

  for (TetherEntry *entry = record != NULL ? record->held : NULL; entry != NULL;
       entry = entry->next_held)
    g_ptr_array_insert (out, 0, entry->template);   /* in acquisition order */
}
