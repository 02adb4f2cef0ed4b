/* test-util.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

static GMutex order_lock;

void
test_order_log_append (GArray *log,
                       gint    value)
{
  g_mutex_lock (&order_lock);
  g_array_append_val (log, value);
  g_mutex_unlock (&order_lock);
}

static gpointer
make_resource (TestProvider *tp,
               GMainContext *context)
{
  TestResource *res = g_new0 (TestResource, 1);

  res->magic = TEST_RESOURCE_MAGIC;
  res->serial = (guint) g_atomic_int_add (&tp->n_acquired, 1) + 1;
  res->context = context;
  res->thread_default = g_main_context_get_thread_default ();
  if (res->thread_default == NULL)
    res->thread_default = g_main_context_default ();
  res->owner = tp;
  if (tp->ref_context)
    g_main_context_ref (context);
  g_atomic_int_inc (&tp->live);

  if (tp->order_log != NULL)
    test_order_log_append (tp->order_log, (gint) (gintptr) tp->name[0]);

  return res;
}

static gboolean
maybe_fail (TestProvider  *tp,
            GError       **error)
{
  gint left = g_atomic_int_get (&tp->fail_remaining);

  while (left > 0)
    {
      if (g_atomic_int_compare_and_exchange (&tp->fail_remaining, left, left - 1))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "provider %s failed on purpose", tp->name);
          return TRUE;
        }
      left = g_atomic_int_get (&tp->fail_remaining);
    }

  return FALSE;
}

static gpointer
test_acquire (GMainContext  *context,
              gpointer       provider_data,
              GError       **error)
{
  TestProvider *tp = provider_data;
  gint now;

  g_atomic_int_inc (&tp->n_acquire_calls);
  now = g_atomic_int_add (&tp->in_acquire, 1) + 1;
  if (now > g_atomic_int_get (&tp->max_in_acquire))
    g_atomic_int_set (&tp->max_in_acquire, now);

  if (tp->delay_ms > 0)
    g_usleep (tp->delay_ms * 1000);

  if (tp->acquire_hook != NULL)
    tp->acquire_hook (tp, context, tp->acquire_hook_data);

  g_atomic_int_add (&tp->in_acquire, -1);

  if (tp->return_null_no_error)
    return NULL;

  if (tp->return_value_and_error)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "value and error");
      return make_resource (tp, context);
    }

  if (maybe_fail (tp, error))
    return NULL;

  return make_resource (tp, context);
}

static gboolean
async_acquire_done (gpointer data)
{
  GTask *task = data;
  TestProvider *tp = g_task_get_task_data (task);
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return G_SOURCE_REMOVE;

  if (maybe_fail (tp, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, make_resource (tp, g_task_get_context (task)), NULL);

  return G_SOURCE_REMOVE;
}

static void
test_acquire_async (GMainContext        *context,
                    gpointer             provider_data,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  TestProvider *tp = provider_data;
  GTask *task;
  GSource *source;

  g_atomic_int_inc (&tp->n_acquire_calls);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_task_data (task, tp, NULL);

  if (tp->acquire_hook != NULL)
    tp->acquire_hook (tp, context, tp->acquire_hook_data);

  /* Completes from the context the task was created in. */
  source = tp->delay_ms > 0 ? g_timeout_source_new (tp->delay_ms) : g_idle_source_new ();
  g_source_set_callback (source, async_acquire_done, task, g_object_unref);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static gpointer
test_acquire_finish (GAsyncResult  *result,
                     GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_release (gpointer      resource,
              GMainContext *context,
              gboolean      graceful,
              gpointer      provider_data)
{
  TestProvider *tp = provider_data;
  TestResource *res = resource;

  g_assert_cmpuint (res->magic, ==, TEST_RESOURCE_MAGIC);

  if (g_atomic_int_add (&res->released, 1) != 0)
    {
      g_atomic_int_inc (&tp->n_double_release);
      return;
    }

  if (graceful)
    {
      g_atomic_int_inc (&tp->n_released_graceful);
      if (context != res->context)
        g_atomic_int_inc (&tp->n_wrong_context);
    }
  else
    {
      g_atomic_int_inc (&tp->n_released_ungraceful);
      if (context != NULL)
        g_atomic_int_inc (&tp->n_wrong_context);
    }

  if (tp->order_log != NULL)
    test_order_log_append (tp->order_log, -(gint) (gintptr) tp->name[0]);

  if (tp->release_hook != NULL)
    tp->release_hook (tp, context, tp->release_hook_data);

  g_atomic_int_add (&tp->live, -1);
  if (tp->ref_context)
    g_main_context_unref (res->context);
  /* Kept allocated (with magic cleared) until the provider is freed would
   * hide use-after-free from ASan; free it now. */
  res->magic = 0;
  g_free (res);
}

TestProvider *
test_provider_new (const char *name)
{
  TestProvider *tp = g_new0 (TestProvider, 1);

  tp->name = g_strdup (name);
  tp->vtable.abi_version = TETHER_PROVIDER_ABI_VERSION;
  tp->vtable.struct_size = sizeof (TetherProvider);
  tp->vtable.name = tp->name;
  tp->vtable.description = "test provider";
  tp->vtable.acquire = test_acquire;
  tp->vtable.acquire_async = test_acquire_async;
  tp->vtable.acquire_finish = test_acquire_finish;
  tp->vtable.release = test_release;

  return tp;
}

TetherTemplate *
test_provider_template (TestProvider *tp)
{
  if (tp->async_only)
    tp->vtable.acquire = NULL;
  if (tp->no_release)
    tp->vtable.release = NULL;

  return tether_template_new (&tp->vtable, tp);
}

void
test_provider_free (TestProvider *tp)
{
  g_free (tp->name);
  g_free (tp);
}

void
test_reset_global_state (void)
{
  g_autoptr(GPtrArray) templates = tether_dup_templates ();

  for (guint i = 0; i < templates->len; i++)
    tether_template_unregister (g_ptr_array_index (templates, i));
  tether_purge ();
}

static gboolean
on_timeout (gpointer data)
{
  g_atomic_int_set ((gint *) data, 1);
  return G_SOURCE_REMOVE;
}

gboolean
test_iterate_until (GMainContext *context,
                    gint         *condition,
                    guint         timeout_ms)
{
  gint timed_out = 0;
  GSource *timeout = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timeout, on_timeout, &timed_out, NULL);
  g_source_attach (timeout, context);

  while (!g_atomic_int_get (condition) && !g_atomic_int_get (&timed_out))
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_source_unref (timeout);

  return g_atomic_int_get (condition) != 0;
}
