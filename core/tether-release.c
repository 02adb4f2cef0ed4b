/* tether-release.c: graceful release of one (template, context), or of
 * everything a context holds in LIFO order
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-janitor-private.h"
#include "tether-release-private.h"
#include "tether-template-private.h"

/* Releases @held (entries taken off the tables, linked by ->next_held) in
 * its order, then finishes the unwatch, then frees the entries and drops
 * their references. Returns how many were released. */
static guint
release_list (TetherEntry  *held,
              GMainContext *context,
              GSource      *detach)
{
  TetherContextSpan span;
  guint n = 0;

  /* Entered once for all of them, as a manager's enter does: each
   * provider call then finds its context already pushed. */
  _tether_context_enter (context, &span);
  for (TetherEntry *entry = held; entry != NULL; entry = entry->next_held, n++)
    _tether_provider_release (&entry->template->call, entry->resource, context, TRUE);
  _tether_context_leave (context, &span);

  _tether_janitor_finish_unwatch (detach);

  /* The entries' references, dropped last: a template may finalize here. */
  while (held != NULL)
    {
      TetherEntry *next = held->next_held;

      g_object_unref (held->template);
      g_free (held);
      held = next;
    }

  return n;
}

gboolean
_tether_release_one (TetherTemplate  *self,
                     GMainContext    *context,
                     gboolean         only_if_held,
                     GError         **error)
{
  TetherEntry *entry;
  GSource *detach = NULL;

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

  /* A list of one: off the record's list, its link is NULL. */
  release_list (entry, context, detach);

  return TRUE;
}

guint
_tether_release_all (GMainContext  *context,
                     TetherManager *manager)
{
  return _tether_release_some (context, NULL, manager);
}

guint
_tether_release_some (GMainContext  *context,
                      GPtrArray     *only,
                      TetherManager *manager)
{
  TetherContextRecord *record;
  TetherEntry *held;
  GSource *detach;

  /* One hold takes everything off the tables, LIFO by construction (the
   * record's list); providers run after it. */
  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  held = _tether_entry_take_held_locked (context, only);
  if (manager != NULL)
    _tether_context_record_unclaim_locked (record, manager);
  detach = _tether_janitor_unwatch_if_idle_locked (record);
  TETHER_STATE_UNLOCK ();

  return release_list (held, context, detach);
}
