/* test-gtask-worker.c: a provider refuses a context another thread owns
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gio/gio.h>
#include <string.h>

#include "test-gtask-worker.h"

typedef struct
{
  TetherTemplate *template;
  GMainLoop      *loop;
  GError         *error;            /* of the acquire for NULL */
  gboolean        got_resource;
  gboolean        own_context_ok;   /* tether_run_in_new_context() succeeded */
} GTaskWorker;

static gboolean
acquire_in_own_context (gpointer   user_data,
                        GError   **error)
{
  GTaskWorker *worker = user_data;

  return tether_template_acquire (worker->template, NULL, error) != NULL;
}

static void
gtask_worker_acquire (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  GTaskWorker *worker = task_data;
  g_autoptr(GError) error = NULL;

  g_assert_null (g_main_context_get_thread_default ());
  worker->got_resource = tether_template_acquire (worker->template, NULL,
                                                  &worker->error) != NULL;
  worker->own_context_ok = tether_run_in_new_context (acquire_in_own_context, worker, &error);
  g_assert_no_error (error);
  g_task_return_boolean (task, TRUE);
}

static void
gtask_worker_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTaskWorker *worker = user_data;

  g_main_loop_quit (worker->loop);
}

static void
start_gtask_worker (gpointer task)
{
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_task_run_in_thread (task, gtask_worker_acquire);
}

void
test_gtask_worker_check (TetherTemplate *template)
{
  g_autoptr(GTask) task = NULL;
  GTaskWorker worker = { 0 };

  worker.template = template;
  worker.loop = g_main_loop_new (NULL, FALSE);
  task = g_task_new (NULL, NULL, gtask_worker_done, &worker);
  g_task_set_task_data (task, &worker, NULL);
  /* Started from the loop, so that the main thread owns the global default
   * context for the worker's whole life. */
  g_idle_add_once (start_gtask_worker, task);
  g_main_loop_run (worker.loop);
  g_main_loop_unref (worker.loop);

  if (worker.got_resource)
    g_assert_true (tether_template_release (template, g_main_context_default (), NULL));
  g_assert_false (worker.got_resource);
  g_assert_error (worker.error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT);
  g_assert_nonnull (strstr (worker.error->message, "no thread-default context of its own"));
  g_assert_nonnull (strstr (worker.error->message, "tether_run_in_new_context"));
  g_test_message ("%s", worker.error->message);
  g_clear_error (&worker.error);
  g_assert_true (worker.own_context_ok);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
}
