/* tether-entry.c: the (template, context) entries, each template's table of
 * them, and its generation counter
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-record-private.h"
#include "tether-registry-private.h"
#include "tether-template-private.h"
#include "tether-thread-cache-private.h"

/* Protected by the state lock */
static guint64 next_serial = 1;

/* Atomic */
static guint64 next_generation = 1;

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
  table->entries = g_hash_table_new (entry_hash, entry_equal);
}

void
_tether_entry_table_clear (TetherEntryTable *table)
{
  /* Entries hold references on the template, so none is left. */
  g_assert (g_hash_table_size (table->entries) == 0);
  g_clear_pointer (&table->entries, g_hash_table_unref);
}

static void
table_invalidate_locked (TetherEntryTable *table)
{
  tether_atomic_store_release (&table->generation, next_generation_value ());
}

TetherEntry *
_tether_entry_lookup_locked (TetherTemplate *template,
                             GMainContext   *context)
{
  TetherEntry probe = { .context = context };

  return g_hash_table_lookup (template->table.entries, &probe);
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
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  g_hash_table_iter_init (&iter, template->table.entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (((TetherEntry *) key)->flight == NULL)
      n++;

  return n;
}

gboolean
_tether_entry_table_is_empty_locked (TetherTemplate *template)
{
  return g_hash_table_size (template->table.entries) == 0;
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
_tether_entry_add_flight_locked (TetherTemplate *template,
                                 GMainContext   *context,
                                 TetherFlight   *flight)
{
  TetherEntry *entry = g_new0 (TetherEntry, 1);

  entry->context = context;
  entry->flight = flight;

  g_hash_table_add (template->table.entries, entry);
  g_object_ref (template);  /* the entry's reference */
  _tether_context_record_lookup_locked (context)->n_entries++;

  return entry;
}

void
_tether_entry_set_held_locked (TetherEntry *entry,
                               gpointer     resource)
{
  entry->resource = resource;
  entry->serial = next_serial++;
  entry->flight = NULL;
}

void
_tether_entry_remove_locked (TetherTemplate *template,
                             TetherEntry    *entry)
{
  TetherContextRecord *record;

  g_hash_table_remove (template->table.entries, entry);
  if (entry->flight == NULL)
    table_invalidate_locked (&template->table);

  record = _tether_context_record_lookup_locked (entry->context);
  if (record != NULL)
    {
      g_assert (record->n_entries > 0);
      record->n_entries--;
    }
}

/* Called from the sentinel's notify, once the context's record is gone. */
void
_tether_entry_take_dead_locked (GMainContext *context,
                                GArray       *dead)
{
  GPtrArray *templates = _tether_registry_all_locked ();

  for (guint i = 0; i < templates->len; i++)
    {
      TetherTemplate *template = g_ptr_array_index (templates, i);
      TetherEntry *entry = _tether_entry_lookup_locked (template, context);
      TetherDeadResource item;

      if (entry == NULL)
        continue;

      /* A flight holds a reference on its context, so a context cannot die
       * while an acquire for it is under way. */
      g_assert (entry->flight == NULL);

      g_hash_table_remove (template->table.entries, entry);
      table_invalidate_locked (&template->table);

      _tether_trace_purge_queued_locked (&template->call.counters);
      item.template = template;   /* the entry's reference */
      item.resource = entry->resource;
      g_array_append_val (dead, item);
      g_free (entry);
    }
}

static gint
compare_serial_descending (gconstpointer a,
                           gconstpointer b)
{
  const TetherHeldEntry *ha = a;
  const TetherHeldEntry *hb = b;

  return (ha->entry->serial < hb->entry->serial) - (ha->entry->serial > hb->entry->serial);
}

void
_tether_entry_take_held_locked (GMainContext *context,
                                GArray       *out)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (context);
  GPtrArray *templates = _tether_registry_all_locked ();

  for (guint i = 0; record != NULL && record->n_entries > 0 && i < templates->len; i++)
    {
      TetherHeldEntry item = { g_ptr_array_index (templates, i), NULL };

      item.entry = _tether_entry_lookup_locked (item.template, context);
      if (item.entry == NULL || item.entry->flight != NULL)
        continue;

      _tether_entry_remove_locked (item.template, item.entry);
      g_array_append_val (out, item);
    }

  g_array_sort (out, compare_serial_descending);
}

void
_tether_entry_collect_held_locked (GMainContext *context,
                                   GPtrArray    *out)
{
  GPtrArray *templates = _tether_registry_all_locked ();

  for (guint i = 0; i < templates->len; i++)
    if (_tether_entry_get_held_locked (g_ptr_array_index (templates, i), context) != NULL)
      g_ptr_array_add (out, g_ptr_array_index (templates, i));
}
