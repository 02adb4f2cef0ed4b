/* tether-run.c: running a function inside a scope
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether.h"

/**
 * tether_manager_run:
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 * @flags: flags for the manager
 * @func: (scope call): the work to run inside the scope
 * @user_data: (closure): data for @func
 * @error: return location for a #GError
 *
 * Acquires a manager for @context, calls @func, and always releases the
 * manager afterwards, whether @func succeeded or not (Pyot's
 * `ResourceManager.as_decorator`).
 *
 * @context must be the calling thread's thread-default context. If the
 * scope cannot be entered, @func is not called and the error is returned.
 * If @func returns %FALSE without setting an error, %TETHER_ERROR_FAILED is
 * returned.
 *
 * Returns: %TRUE if the scope was entered and @func returned %TRUE
 */
gboolean
tether_manager_run (GMainContext        *context,
                    TetherManagerFlags   flags,
                    TetherScopeFunc      func,
                    gpointer             user_data,
                    GError             **error)
{
  g_autoptr(TetherManager) manager = NULL;
  GError *local_error = NULL;
  gboolean ret;

  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  manager = tether_manager_new (context, flags);
  if (!tether_manager_acquire (manager, error))
    return FALSE;

  ret = func (user_data, &local_error);

  if (!ret && local_error == NULL)
    local_error = g_error_new_literal (TETHER_ERROR, TETHER_ERROR_FAILED,
                                       "The scope function failed without setting an error");
  else if (ret && local_error != NULL)
    {
      g_critical ("tether_manager_run: the scope function returned TRUE and set an error: %s",
                  local_error->message);
      g_clear_error (&local_error);
    }

  tether_manager_release (manager);

  if (!ret)
    g_propagate_error (error, local_error);

  return ret;
}

/**
 * tether_run_in_new_context:
 * @func: (scope call): the work to run
 * @user_data: (closure): data for @func
 * @error: return location for a #GError
 *
 * Runs @func in a fresh [struct@GLib.MainContext] of its own, inside a
 * [class@Tether.Manager]: the C counterpart of Pyot's `async_to_sync` around a
 * managed coroutine, for a worker thread or a GTask thread function.
 *
 * A new context is created and pushed as the calling thread's thread-default
 * context; every registered template is acquired for it; @func runs; then,
 * whether @func succeeded or not, everything held for the context is released
 * gracefully in reverse order, the context is popped and unreffed. If
 * resources cannot be acquired, @func is not called and the error is
 * returned.
 *
 * @func may iterate the context (g_main_context_iteration() or a GMainLoop on
 * g_main_context_get_thread_default()) to drive asynchronous work.
 *
 * Runs synchronously on the calling thread: it returns once @func has
 * returned and everything is released. Call it from a thread that may block,
 * such as a [class@Gio.Task] thread function or a [struct@GLib.ThreadPool]
 * worker. Called from a thread that is iterating another context (from a
 * callback of the UI thread's main loop, say), it keeps that context from
 * being iterated until @func returns. @func may iterate the new context, the
 * thread-default one; iterating a context another thread owns would block
 * until that thread lets it go.
 *
 * ```c
 * static gboolean
 * fetch_scope (gpointer user_data, GError **error)
 * {
 *   // This context's own session, made for it when the scope was entered.
 *   SoupSession *session = tether_template_acquire (sessions, NULL, error);
 *
 *   return session != NULL && fetch_with (session, user_data, error);
 * }
 *
 * static void
 * fetch_thread (GTask *task, gpointer source, gpointer job, GCancellable *cancellable)
 * {
 *   GError *error = NULL;
 *
 *   if (tether_run_in_new_context (fetch_scope, job, &error))
 *     g_task_return_boolean (task, TRUE);
 *   else
 *     g_task_return_error (task, error);
 * }
 * ```
 *
 * Returns: %TRUE if resources were acquired and @func returned %TRUE;
 *   %FALSE with @error set otherwise
 */
gboolean
tether_run_in_new_context (TetherScopeFunc   func,
                           gpointer          user_data,
                           GError          **error)
{
  GMainContext *context;
  gboolean ret;

  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);

  ret = tether_manager_run (context, TETHER_MANAGER_NONE, func, user_data, error);

  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  return ret;
}
