/* tether-context-record.c: what tether knows of each live GMainContext it
 * serves, found by the context's address
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-record-private.h"
#include "tether-lock-private.h"

/* Protected by the state lock */
static GHashTable *context_records;   /* GMainContext* → TetherContextRecord*, no refs */
static guint32     next_record_id = 1;

TetherContextRecord *
_tether_context_record_lookup_locked (GMainContext *context)
{
  if (context_records == NULL)
    return NULL;

  return g_hash_table_lookup (context_records, context);
}

TetherContextRecord *
_tether_context_record_insert_locked (GMainContext *context)
{
  TetherContextRecord *record;

  if (context_records == NULL)
    context_records = g_hash_table_new (NULL, NULL);

  record = g_new0 (TetherContextRecord, 1);
  record->context = context;
  record->id = next_record_id++;
  if (G_UNLIKELY (next_record_id == 0))
    next_record_id = 1;
  g_hash_table_insert (context_records, context, record);
  _tether_trace_context_event_locked ("context-first-served", context, NULL);

  return record;
}

void
_tether_context_record_remove_locked (TetherContextRecord *record)
{
  /* A new context at the same address may already have a record of its
   * own: only ours goes. */
  if (g_hash_table_lookup (context_records, record->context) == record)
    g_hash_table_remove (context_records, record->context);
}

/* Nothing left for tether to serve: no entries, no manager. A context
 * that was given the unmanaged warning keeps its record (and sentinel) for
 * its whole life, so that the warning stays once per context across
 * acquire/release cycles; the record goes with the context's death. */
gboolean
_tether_context_record_is_idle_locked (TetherContextRecord *record)
{
  return record->n_entries == 0 && record->manager == NULL && !record->warned && !record->kept;
}

TetherManager *
_tether_context_record_claim_locked (TetherContextRecord *record,
                                     TetherManager       *manager)
{
  if (record->manager != NULL)
    return record->manager;

  record->manager = manager;
  /* A manager holds a reference on its context, so the record cannot
   * outlive the context by being kept; its sentinel, made by the first
   * enter, serves every enter after it (a sentinel made and destroyed per
   * cycle was a fifth of a 16-template manager cycle). */
  record->kept = TRUE;
  _tether_trace_context_event_locked ("manager-enter", record->context, manager);
  return NULL;
}

void
_tether_context_record_unkeep_locked (TetherContextRecord *record)
{
  if (record != NULL)
    record->kept = FALSE;
}

gboolean
_tether_context_record_unclaim_locked (TetherContextRecord *record,
                                       TetherManager       *manager)
{
  if (record == NULL || record->manager != manager)
    return FALSE;

  record->manager = NULL;
  _tether_trace_context_event_locked ("manager-leave", record->context, manager);
  return TRUE;
}

guint32
_tether_context_record_id_for_tests (GMainContext *context)
{
  TetherContextRecord *record;
  guint32 id;

  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  id = record != NULL ? record->id : 0;
  TETHER_STATE_UNLOCK ();

  return id;
}

gboolean
_tether_context_record_take_warning_locked (TetherContextRecord *record)
{
  if (record->manager != NULL || record->warned)
    return FALSE;

  record->warned = TRUE;
  return TRUE;
}

/**
 * tether_dup_managed_contexts:
 *
 * Lists the contexts that have an active [class@Tether.Manager] (Pyot's
 * `resource_managed_loops`). The list is a snapshot; managers may enter or
 * leave right after it is taken. Callable from any thread.
 *
 * Returns: (transfer container) (element-type GLib.MainContext): a new array
 *   holding a reference on each context; free it with g_ptr_array_unref()
 */
GPtrArray *
tether_dup_managed_contexts (void)
{
  GPtrArray *contexts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_main_context_unref);
  GHashTableIter iter;
  gpointer value;

  TETHER_STATE_LOCK ();
  if (context_records != NULL)
    {
      g_hash_table_iter_init (&iter, context_records);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          TetherContextRecord *record = value;

          /* An active manager holds a reference on its context, so taking
           * another one here cannot race with the context's finalization. */
          if (record->manager != NULL)
            g_ptr_array_add (contexts, g_main_context_ref (record->context));
        }
    }
  TETHER_STATE_UNLOCK ();

  return contexts;
}
