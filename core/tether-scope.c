/* tether-scope.c: a manager's claim on its context: check the caller,
 * claim, roll back, leave
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
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

/* Another manager, @other, is active on @context: a no-op scope with
 * @exist_ok (TRUE, *@out_noop set), else FALSE with @error set. */
static gboolean
scope_refuse (GMainContext   *context,
              TetherManager  *other,
              gboolean        exist_ok,
              gboolean       *out_noop,
              GError        **error)
{
  if (exist_ok)
    {
      *out_noop = TRUE;
      return TRUE;
    }

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

gboolean
_tether_scope_enter (GMainContext   *context,
                     TetherManager  *manager,
                     gboolean        exist_ok,
                     GPtrArray     **out_templates,
                     GError        **error)
{
  TetherContextRecord *record;
  TetherManager *other;
  gboolean noop = FALSE;

  *out_templates = NULL;

  TETHER_STATE_LOCK ();
  record = _tether_janitor_watch_locked (context);
  other = _tether_context_record_claim_locked (record, manager);
  if (other != NULL)
    {
      TETHER_STATE_UNLOCK ();
      return scope_refuse (context, other, exist_ok, &noop, error);
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
_tether_scope_forget (GMainContext *context)
{
  TetherContextRecord *record;
  GSource *detach;

  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  _tether_context_record_unkeep_locked (record);
  detach = _tether_janitor_unwatch_if_idle_locked (record);
  TETHER_STATE_UNLOCK ();

  _tether_janitor_finish_unwatch (detach);
}

void
_tether_scope_roll_back (GMainContext  *context,
                         TetherManager *manager,
                         GPtrArray     *acquired)
{
  /* In the reverse of the order the resources were produced (a provider
   * that asked for a later template during its acquire produced that one
   * first), and the scope is left in the same hold. */
  _tether_release_some (context, acquired, manager);
}

/* One eager template of a synchronous enter. */
typedef struct
{
  TetherTemplate       *template;  /* owned if @owned, else kept by its entry */
  TetherFlight         *flight;    /* prepared, or NULL: the general path */
  gboolean              owned;
  gboolean              started;   /* the enter produced its resource */
} EnterSlot;

/* The stack holds this many slots; a larger enter allocates. */
#define N_SLOTS_ON_STACK 64

gboolean
_tether_scope_acquire_sync (GMainContext   *context,
                            TetherManager  *manager,
                            gboolean        exist_ok,
                            gboolean       *out_noop,
                            GError        **error)
{
  EnterSlot on_stack[N_SLOTS_ON_STACK];
  EnterSlot *slots = on_stack;
  TetherContextRecord *record;
  TetherManager *other;
  GPtrArray *registered;
  TetherFlightBlock *block;
  GThread *thread = g_thread_self ();
  TetherContextSpan span;
  guint n = 0;
  /* The block's reference is the enter's own, plus those its flights pass on. */
  TetherEnterRun run = { 0, 1, FALSE };
  gboolean ok = TRUE;

  *out_noop = FALSE;

  /* One hold claims the context and creates the entry and flight of every
   * template the enter will acquire, so that each provider call costs no
   * lock but the one that publishes its result. A prepared flight's
   * template is kept by its entry (by the registry's reference while it is
   * registered, by the entry's own after an unregister); only the others
   * are referenced here. */
  TETHER_STATE_LOCK ();
  record = _tether_janitor_watch_locked (context);
  other = _tether_context_record_claim_locked (record, manager);
  if (other != NULL)
    {
      TETHER_STATE_UNLOCK ();
      return scope_refuse (context, other, exist_ok, out_noop, error);
    }

  registered = _tether_registry_registered_locked ();
  if (registered->len > N_SLOTS_ON_STACK)
    slots = g_new (EnterSlot, registered->len);
  /* Allocated under the lock (no reference is dropped), sized for every
   * registered template; one allocation for all the prepared flights. */
  block = _tether_flight_block_new (context, registered->len);
  for (guint i = 0; i < registered->len; i++)
    {
      TetherTemplate *template = g_ptr_array_index (registered, i);

      if (!_tether_registry_is_eager_locked (template))
        continue;

      slots[n].template = template;
      slots[n].flight = _tether_flight_prepare_locked (block, record, template, context, thread);
      slots[n].owned = slots[n].flight == NULL;
      slots[n].started = FALSE;
      if (slots[n].owned)
        g_object_ref (template);
      n++;
    }
  /* The first turn is the enter's at once; each later one is claimed in
   * the hold that publishes the one before (while a provider runs, a
   * caller may still take the next flight over). */
  if (n > 0 && slots[0].flight != NULL)
    run.claimed = _tether_flight_claim_prepared_locked (slots[0].flight);
  TETHER_STATE_UNLOCK ();

  /* Entered once for every provider call of the enter (a no-op when the
   * manager's context is this thread's pushed thread-default, as a rule). */
  _tether_context_enter (context, &span);

  for (guint i = 0; i < n && ok; i++)
    {
      TetherTemplate *template = slots[i].template;
      GError *local_error = NULL;
      gboolean led = TRUE;
      gpointer resource;

      if (slots[i].flight != NULL)
        resource = _tether_flight_run_prepared (g_steal_pointer (&slots[i].flight),
                                                i + 1 < n ? slots[i + 1].flight : NULL,
                                                &run, &led, &local_error);
      else
        {
          run.claimed = FALSE;
          run.clock = 0;
          resource = _tether_flight_acquire (template, context, &led, &local_error);
          if (resource == NULL)
            _tether_flight_prefix_error (&local_error, template, context);
        }

      if (resource != NULL && led)
        slots[i].started = TRUE;
      else if (resource == NULL)
        {
          /* Templates the enter started, compared by address only (each
           * holds what it produced, and with it a reference on its
           * template). */
          g_autoptr(GPtrArray) acquired = g_ptr_array_sized_new (n);

          for (guint j = 0; j < i; j++)
            if (slots[j].started)
              g_ptr_array_add (acquired, slots[j].template);

          /* What the enter prepared and did not reach ends; what ran out of
           * order and produced a resource is the enter's to roll back. */
          for (guint j = i + 1; j < n; j++)
            if (slots[j].flight != NULL &&
                _tether_flight_drop_prepared (g_steal_pointer (&slots[j].flight)))
              g_ptr_array_add (acquired, slots[j].template);

          _tether_context_leave (context, &span);
          _tether_scope_roll_back (context, manager, acquired);
          g_propagate_error (error, local_error);
          ok = FALSE;
        }
    }

  if (ok)
    _tether_context_leave (context, &span);

  /* What no flight of the block still uses, in one operation. */
  _tether_flight_block_unref (block, run.block_refs);

  for (guint i = 0; i < n; i++)
    if (slots[i].owned)
      g_object_unref (slots[i].template);
  if (slots != on_stack)
    g_free (slots);

  return ok;
}
