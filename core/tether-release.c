/* tether-release.c: graceful release of one (template, context), or of
 * everything a context holds in LIFO order
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-janitor-private.h"
#include "tether-release-private.h"
#include "tether-template-private.h"

gboolean
_tether_release_one (TetherTemplate  *self,
                     GMainContext    *context,
                     gboolean         only_if_held,
                     GError         **error)
{
  TetherEntry *entry;
  GSource *detach = NULL;
  gpointer resource;

  TETHER_STATE_LOCK ();
  entry = _tether_entry_lookup_locked (self, context);
  if (entry == NULL || entry->flight != NULL)
    {
      gboolean in_flight = entry != NULL;

      TETHER_STATE_UNLOCK ();
      if (only_if_held)
        return TRUE;
      if (in_flight)
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED,
                     "Template '%s' holds nothing yet for context %p: it is still being acquired",
                     self->call.name, context);
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED,
                     "Template '%s' holds nothing for context %p",
                     self->call.name, context);
      return FALSE;
    }

  _tether_entry_remove_locked (self, entry);
  detach = _tether_janitor_unwatch_if_idle_locked (
             _tether_context_record_lookup_locked (context));
  TETHER_STATE_UNLOCK ();

  resource = entry->resource;
  g_free (entry);

  _tether_provider_release (&self->call, resource, context, TRUE);
  _tether_janitor_finish_unwatch (detach);
  g_object_unref (self);   /* the entry's reference */

  return TRUE;
}

guint
_tether_release_all (GMainContext  *context,
                     TetherManager *manager)
{
  g_autoptr(GArray) held = g_array_new (FALSE, FALSE, sizeof (TetherHeldEntry));
  TetherContextRecord *record;
  GSource *detach;

  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  _tether_entry_take_held_locked (context, held);
  if (manager != NULL)
    _tether_context_record_unclaim_locked (record, manager);
  detach = _tether_janitor_unwatch_if_idle_locked (record);
  TETHER_STATE_UNLOCK ();

  for (guint i = 0; i < held->len; i++)
    {
      TetherHeldEntry *item = &g_array_index (held, TetherHeldEntry, i);

      _tether_provider_release (&item->template->call, item->entry->resource, context, TRUE);
      g_clear_pointer (&item->entry, g_free);
    }

  _tether_janitor_finish_unwatch (detach);

  /* The entries' references, dropped last: a template may finalize here. */
  for (guint i = 0; i < held->len; i++)
    g_object_unref (g_array_index (held, TetherHeldEntry, i).template);

  return held->len;
}
