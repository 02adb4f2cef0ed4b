/* tether-scope.c: a manager's claim on its context: check the caller,
 * claim, roll back, leave
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-flight-private.h"
#include "tether-janitor-private.h"
#include "tether-lock-private.h"
#include "tether-registry-private.h"
#include "tether-release-private.h"
#include "tether-scope-private.h"

gboolean
_tether_scope_check_context (GMainContext  *context,
                             const char    *what,
                             GError       **error)
{
  GMainContext *current = _tether_context_resolve (NULL);

  if (current == context)
    return TRUE;

  g_set_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT,
               "Cannot %s a TetherManager for context %p from a thread whose "
               "thread-default context is %p; push the manager's context with "
               "g_main_context_push_thread_default() first",
               what, context, current);
  return FALSE;
}

gboolean
_tether_scope_enter (GMainContext   *context,
                     TetherManager  *manager,
                     gboolean        exist_ok,
                     GPtrArray     **out_templates,
                     GError        **error)
{
  TetherContextRecord *record;
  TetherManager *other;

  *out_templates = NULL;

  TETHER_STATE_LOCK ();
  record = _tether_janitor_watch_locked (context);
  other = _tether_context_record_claim_locked (record, manager);
  if (other != NULL)
    {
      TETHER_STATE_UNLOCK ();

      if (exist_ok)
        return TRUE;

      /* Two pool workers without a context of their own both land on the
       * global default context: EXIST_OK is then the wrong fix. */
      if (context == _tether_context_global_default () &&
          g_main_context_get_thread_default () == NULL)
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_MANAGED,
                     "Context %p, the global default context, already has an active "
                     "TetherManager (%p): this thread has no thread-default context of its "
                     "own, so its manager shares the global default with every such thread. "
                     "Give the thread a context of its own "
                     "(g_main_context_push_thread_default (g_main_context_new ())) or run "
                     "the work with tether_run_in_new_context(); use "
                     "TETHER_MANAGER_EXIST_OK only to nest a scope on purpose",
                     context, other);
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_MANAGED,
                     "Context %p already has an active TetherManager (%p); "
                     "use TETHER_MANAGER_EXIST_OK to nest a no-op scope",
                     context, other);
      return FALSE;
    }

  *out_templates = _tether_registry_dup_eager_locked ();
  TETHER_STATE_UNLOCK ();

  return TRUE;
}

void
_tether_scope_leave (GMainContext  *context,
                     TetherManager *manager)
{
  TetherContextRecord *record;
  GSource *detach = NULL;

  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  if (_tether_context_record_unclaim_locked (record, manager))
    detach = _tether_janitor_unwatch_if_idle_locked (record);
  TETHER_STATE_UNLOCK ();

  _tether_janitor_finish_unwatch (detach);
}

void
_tether_scope_roll_back (GMainContext  *context,
                         TetherManager *manager,
                         GPtrArray     *acquired)
{
  for (guint i = acquired->len; i > 0; i--)
    _tether_release_one (g_ptr_array_index (acquired, i - 1), context, TRUE, NULL);

  _tether_scope_leave (context, manager);
}

gboolean
_tether_scope_acquire (GMainContext   *context,
                       TetherManager  *manager,
                       GPtrArray      *templates,
                       GError        **error)
{
  g_autoptr(GPtrArray) acquired = g_ptr_array_new ();

  for (guint i = 0; i < templates->len; i++)
    {
      TetherTemplate *template = g_ptr_array_index (templates, i);
      GError *local_error = NULL;
      gboolean led = FALSE;

      if (_tether_flight_acquire (template, context, &led, &local_error) == NULL)
        {
          _tether_scope_roll_back (context, manager, acquired);
          g_propagate_prefixed_error (error, local_error,
                                      "Acquiring '%s' for context %p: ",
                                      tether_template_get_name (template), context);
          return FALSE;
        }

      if (led)
        g_ptr_array_add (acquired, template);
    }

  return TRUE;
}
