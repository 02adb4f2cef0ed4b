/* tether-manager-async.c: a TetherManager's asynchronous enter, one
 * eager template after the other
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-flight-private.h"
#include "tether-manager-private.h"
#include "tether-scope-private.h"

/* Claims the context's scope. Returns the templates to acquire (NULL for a
 * no-op scope), or FALSE with @error set. */
static gboolean
manager_enter (TetherManager  *self,
               GPtrArray     **out_templates,
               GError        **error)
{
  if (!_tether_scope_enter (self->context, self,
                            (self->flags & TETHER_MANAGER_EXIST_OK) != 0,
                            out_templates, error))
    return FALSE;

  if (*out_templates == NULL)
    _tether_manager_set_state (self, MANAGER_NOOP);

  return TRUE;
}

static void
manager_roll_back (TetherManager *self,
                   GPtrArray     *acquired)
{
  _tether_scope_roll_back (self->context, self, acquired);
  _tether_manager_set_state (self, MANAGER_IDLE);
}

typedef struct
{
  GPtrArray    *templates;   /* to acquire, in order */
  GPtrArray    *acquired;    /* flights this enter started, in order */
  GCancellable *cancellable; /* the caller's, or NULL */
  guint         next;
} AcquireData;

static void
acquire_data_free (gpointer data)
{
  AcquireData *ad = data;

  g_clear_pointer (&ad->templates, g_ptr_array_unref);
  g_clear_pointer (&ad->acquired, g_ptr_array_unref);
  g_clear_object (&ad->cancellable);
  g_free (ad);
}

static void acquire_next (GTask *task);

/* Ends an enter that did not make it: releases exactly the flights it
 * started, leaves the scope, and reports @error (consumed) or, if the
 * caller cancelled, G_IO_ERROR_CANCELLED. */
static void
acquire_fail (GTask  *task,
              GError *error)
{
  TetherManager *self = g_task_get_source_object (task);
  AcquireData *ad = g_task_get_task_data (task);

  manager_roll_back (self, ad->acquired);

  if (g_cancellable_is_cancelled (ad->cancellable))
    {
      g_clear_error (&error);
      error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                   "Entering the scope was cancelled; what it had "
                                   "acquired was released");
    }
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
acquire_next_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  TetherTemplate *template = TETHER_TEMPLATE (object);
  TetherManager *self = g_task_get_source_object (task);
  AcquireData *ad = g_task_get_task_data (task);
  GError *error = NULL;
  gpointer resource;

  /* A settling waiter: even if the caller cancelled meanwhile, this is the
   * flight's outcome, so a flight this enter started is rolled back once it
   * has produced its resource, never left held outside any scope. */
  resource = g_task_propagate_pointer (G_TASK (result), &error);
  if (resource != NULL && _tether_flight_task_led (G_TASK (result)))
    g_ptr_array_add (ad->acquired, g_object_ref (template));

  if (resource == NULL)
    {
      _tether_flight_prefix_error (&error, template, self->context);
      acquire_fail (task, error);
      return;
    }

  acquire_next (task);
}

static void
acquire_next (GTask *task)
{
  TetherManager *self = g_task_get_source_object (task);
  AcquireData *ad = g_task_get_task_data (task);
  TetherTemplate *template;
  GTask *step;

  /* Checked between steps and at the end: TRUE means entered, and a
   * cancelled enter is always rolled back (the task does not check its
   * cancellable itself, see tether_manager_acquire_async()). */
  if (g_cancellable_is_cancelled (ad->cancellable))
    {
      acquire_fail (task, NULL);
      return;
    }

  if (ad->next == ad->templates->len)
    {
      _tether_manager_set_state (self, MANAGER_ACTIVE);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  template = g_ptr_array_index (ad->templates, ad->next++);
  step = g_task_new (template, NULL, acquire_next_cb, task);
  g_task_set_source_tag (step, acquire_next);
  g_task_set_name (step, "[tether] manager acquire step");
  _tether_flight_acquire_async (template, self->context, ad->cancellable, TRUE, step);
}

/**
 * tether_manager_acquire_async:
 * @self: a #TetherManager
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the scope is entered or has failed
 * @user_data: (closure): data for @callback
 *
 * Enters the scope asynchronously: like [method@Tether.Manager.acquire], with
 * each eager template acquired asynchronously (the provider's
 * `acquire_async` when it has one), one after the other in registration
 * order.
 *
 * Cancelling @cancellable fails the call with %G_IO_ERROR_CANCELLED once
 * the template being acquired has settled; what this call started is then
 * released, in reverse, including that template's resource if this call's
 * acquire produced it, and the context is left unmanaged. %TRUE from
 * [method@Tether.Manager.acquire_finish] always means the scope was
 * entered; %FALSE always means it was not.
 *
 * Must be called from a thread whose thread-default context is the
 * manager's; @callback is invoked in that context.
 */
void
tether_manager_acquire_async (TetherManager       *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GPtrArray) templates = NULL;
  GError *error = NULL;
  AcquireData *ad;
  GTask *task;

  g_return_if_fail (TETHER_IS_MANAGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (_tether_manager_get_state (self) == MANAGER_IDLE);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_manager_acquire_async);
  g_task_set_name (task, "[tether] tether_manager_acquire_async");
  /* The outcome decides: TRUE only with the scope entered, CANCELLED only
   * with it rolled back and left (GTask's own check could report a cancel
   * after the scope was entered). */
  g_task_set_check_cancellable (task, FALSE);

  if (!_tether_scope_check_context (self->context, "acquire", &error) ||
      !manager_enter (self, &templates, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  if (templates == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  _tether_manager_set_state (self, MANAGER_ACQUIRING);

  ad = g_new0 (AcquireData, 1);
  ad->templates = g_steal_pointer (&templates);
  ad->acquired = g_ptr_array_new_with_free_func (g_object_unref);
  ad->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  g_task_set_task_data (task, ad, acquire_data_free);

  acquire_next (task);
}

/**
 * tether_manager_acquire_finish:
 * @self: a #TetherManager
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Tether.Manager.acquire_async].
 *
 * Returns: %TRUE if the scope was entered
 */
gboolean
tether_manager_acquire_finish (TetherManager  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (TETHER_IS_MANAGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tether_manager_acquire_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
