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
_tether_entry_add_flight_locked (TetherContextRecord *record,
                                 TetherTemplate      *template,
                                 GMainContext        *context,
                                 TetherFlight        *flight)
{
  TetherEntry *entry = g_new (TetherEntry, 1);

  entry->context = context;
  entry->resource = NULL;
  entry->flight = flight;
  entry->template = g_object_ref (template);  /* the entry's reference */
  entry->next_held = NULL;

  g_hash_table_add (template->table.entries, entry);
  record->n_entries++;

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

/* Takes @entry off its template's table and out of @record's count; a
 * held entry's cached copies go stale. Its place in the record's list is
 * the caller's. */
static void
entry_forget_locked (TetherContextRecord *record,
                     TetherEntry         *entry)
{
  g_hash_table_remove (entry->template->table.entries, entry);
  if (entry->flight == NULL)
    table_invalidate_locked (&entry->template->table);

  g_assert (record != NULL && record->n_entries > 0);
  record->n_entries--;
}

void
_tether_entry_remove_locked (TetherTemplate *template,
                             TetherEntry    *entry)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (entry->context);

  g_assert (entry->template == template);
  if (entry->flight == NULL)
    held_unlink_locked (record, entry);
  entry_forget_locked (record, entry);
}

/* Every held entry of @record, or those of the templates in @only, taken
 * off the tables, as a list in the record's order. */
static TetherEntry *
take_held_from_locked (TetherContextRecord *record,
                       GPtrArray           *only)
{
  TetherEntry *taken = NULL;
  TetherEntry **tail = &taken;
  TetherEntry **link = &record->held;

  while (*link != NULL)
    {
      TetherEntry *entry = *link;

      if (only != NULL && !g_ptr_array_find (only, entry->template, NULL))
        {
          link = &entry->next_held;
          continue;
        }

      /* Unlinked from the record's list, appended to ours: same order. */
      *link = entry->next_held;
      entry->next_held = NULL;
      *tail = entry;
      tail = &entry->next_held;

      entry_forget_locked (record, entry);
    }

  return taken;
}

/* Called from the sentinel's notify, once @record is off the record table
 * (a new context at the same address starts with no entries). */
void
_tether_entry_take_dead_locked (TetherContextRecord *record,
                                GArray              *dead)
{
  TetherEntry *entry = take_held_from_locked (record, NULL);

  /* A flight holds a reference on its context, so a context cannot die
   * while an acquire for it is under way: every entry was held. */
  g_assert (record->n_entries == 0);

  while (entry != NULL)
    {
      TetherEntry *next = entry->next_held;
      TetherDeadResource item = { entry->template, entry->resource };  /* the entry's reference */

      _tether_trace_purge_queued_locked (&entry->template->call.counters);
      g_array_append_val (dead, item);
      g_free (entry);
      entry = next;
    }
}

TetherEntry *
_tether_entry_take_held_locked (GMainContext *context,
                                GPtrArray    *only)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (context);

  return record != NULL ? take_held_from_locked (record, only) : NULL;
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
