/* tether-release.c: graceful release of one (template, context), or of
 * everything a context holds in LIFO order
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-janitor-private.h"
#include "tether-release-private.h"
#include "tether-template-private.h"

/* Releases what @taken holds, in its order, then finishes the unwatch,
 * then drops the entries' references and the list's pin and clears
 * @taken. Returns how many were released. */
static guint
release_list (TetherTakenList *taken,
              GMainContext    *context,
              GSource         *detach)
{
  TetherContextSpan span;
  guint n = taken->n;

  /* Entered once for all of them, as a manager's enter does: each
   * provider call then finds its context already pushed. */
  _tether_context_enter (context, &span);
  for (guint i = 0; i < n; i++)
    _tether_provider_release (&taken->items[i].template->call, taken->items[i].resource,
                              context, TRUE);
  _tether_context_leave (context, &span);

  _tether_janitor_finish_unwatch (detach);

  /* The entries' references, dropped last: a template may finalize here. */
  _tether_taken_list_done (taken);

  return n;
}

gboolean
_tether_release_one (TetherTemplate  *self,
                     GMainContext    *context,
                     gboolean         only_if_held,
                     GError         **error)
{
  TetherTakenList taken;
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

  /* A list of one. */
  _tether_taken_list_init (&taken);
  _tether_entry_take_one_locked (self, entry, &taken);
  detach = _tether_janitor_unwatch_if_idle_locked (
             _tether_context_record_lookup_locked (context));
  TETHER_STATE_UNLOCK ();

  release_list (&taken, context, detach);

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
  TetherTakenList taken;
  GSource *detach;

  /* One hold takes everything off the tables, LIFO by construction (the
   * record's list); providers run after it. */
  _tether_taken_list_init (&taken);
  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  _tether_entry_take_held_locked (context, only, &taken);
  if (manager != NULL)
    _tether_context_record_unclaim_locked (record, manager);
  detach = _tether_janitor_unwatch_if_idle_locked (record);
  TETHER_STATE_UNLOCK ();

  return release_list (&taken, context, detach);
}
