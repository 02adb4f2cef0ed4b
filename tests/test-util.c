/* test-util.c
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

#include <glib/gstdio.h>

#include "tether-lock-private.h"   /* TetherMutex: pthread under ThreadSanitizer */

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
  /* A resource made is returned even if the cancellable fires after it
   * was made (tether-provider.h: tether caches it); with GTask's check,
   * the finish would drop it, a leak. */
  g_task_set_check_cancellable (task, FALSE);

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
  TestProvider *tp = g_task_get_task_data (G_TASK (result));
  gpointer resource = g_task_propagate_pointer (G_TASK (result), error);

  if (resource != NULL && tp->return_value_and_error)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "value and error");
  return resource;
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

static void
test_watch (gpointer             resource,
            GMainContext        *context,
            TetherResourceWatch *watch,
            gpointer             provider_data)
{
  TestProvider *tp = provider_data;
  TestResource *res = resource;

  g_assert_cmpuint (res->magic, ==, TEST_RESOURCE_MAGIC);
  g_assert_true (res->context == context);
  res->watch = watch;
  if (tp->discard_in_watch)
    watch->discard (watch);
}

TetherTemplate *
test_provider_template (TestProvider *tp)
{
  if (tp->watch)
    tp->vtable.watch = test_watch;
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
test_provider_finish (TestProvider   *tp,
                      TetherTemplate *template)
{
  g_assert_cmpint (tp->live, ==, 0);
  g_assert_cmpint (tp->n_double_release, ==, 0);
  g_assert_cmpint (tp->n_wrong_context, ==, 0);
  tether_template_unregister (template);
  g_object_unref (template);
  test_provider_free (tp);
}

gboolean
test_acquire_timed (void)
{
  return g_strcmp0 (g_getenv ("TETHER_ACQUIRE_TIMING"), "0") != 0;
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

/* ------------------------------------------------------------------------ */
/* Gates and the ledger                                                     */
/* ------------------------------------------------------------------------ */


#ifdef TETHER_PTHREAD_LOCKS
# define test_mutex_init(m)  pthread_mutex_init ((m), NULL)
# define test_mutex_clear(m) pthread_mutex_destroy (m)
#else
# define test_mutex_init(m)  g_mutex_init (m)
# define test_mutex_clear(m) g_mutex_clear (m)
#endif

struct _TestGate
{
  TetherMutex lock;
  TetherCond  cond;
  gboolean    open;
  guint       waiting;
};

TestGate *
test_gate_new (void)
{
  TestGate *gate = g_new0 (TestGate, 1);

  test_mutex_init (&gate->lock);
  tether_cond_init (&gate->cond);
  return gate;
}

void
test_gate_free (TestGate *gate)
{
  tether_cond_clear (&gate->cond);
  test_mutex_clear (&gate->lock);
  g_free (gate);
}

void
test_gate_open (TestGate *gate)
{
  tether_mutex_lock (&gate->lock);
  gate->open = TRUE;
  tether_cond_broadcast (&gate->cond);
  tether_mutex_unlock (&gate->lock);
}

void
test_gate_wait (TestGate *gate)
{
  tether_mutex_lock (&gate->lock);
  gate->waiting++;
  tether_cond_broadcast (&gate->cond);
  while (!gate->open)
    tether_cond_wait (&gate->cond, &gate->lock);
  gate->waiting--;
  tether_mutex_unlock (&gate->lock);
}

void
test_gate_wait_for (TestGate *gate,
                    guint     n)
{
  tether_mutex_lock (&gate->lock);
  while (gate->waiting < n && !gate->open)
    tether_cond_wait (&gate->cond, &gate->lock);
  tether_mutex_unlock (&gate->lock);
}

#define MAX_VIOLATION_MESSAGES 16

struct _TestLedger
{
  TetherMutex       lock;
  GHashTable       *live;            /* LedgerResource* set */
  GHashTable       *context_ids;     /* GMainContext* → id, tracked live contexts */
  GHashTable       *live_ids;        /* set of ids (as pointers) of tracked live contexts */
  GHashTable       *pairs;           /* "provider:context id" of live resources: single flight */
  guint64           next_resource_id;
  guint64           next_context_id;
  TestLedgerTotals  totals;
  GPtrArray        *messages;        /* the first violations */
};

typedef struct
{
  TestLedger   *ledger;
  GMainContext *context;  /* identity only */
  guint64       id;
} ContextWatch;

TestLedger *
test_ledger_new (void)
{
  TestLedger *ledger = g_new0 (TestLedger, 1);

  test_mutex_init (&ledger->lock);
  ledger->live = g_hash_table_new (NULL, NULL);
  ledger->context_ids = g_hash_table_new (NULL, NULL);
  ledger->live_ids = g_hash_table_new (NULL, NULL);
  ledger->pairs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ledger->messages = g_ptr_array_new_with_free_func (g_free);
  ledger->next_resource_id = 1;
  ledger->next_context_id = 1;
  return ledger;
}

void
test_ledger_free (TestLedger *ledger)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, ledger->live);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_free (key);
  g_hash_table_unref (ledger->live);
  g_hash_table_unref (ledger->context_ids);
  g_hash_table_unref (ledger->live_ids);
  g_hash_table_unref (ledger->pairs);
  g_ptr_array_unref (ledger->messages);
  test_mutex_clear (&ledger->lock);
  g_free (ledger);
}

static void
record_violation_locked (TestLedger *ledger,
                         char       *message)
{
  ledger->totals.violations++;
  if (ledger->messages->len < MAX_VIOLATION_MESSAGES)
    g_ptr_array_add (ledger->messages, message);
  else
    g_free (message);
}

void
test_ledger_record_violation (TestLedger *ledger,
                              const char *format,
                              ...)
{
  va_list args;
  char *message;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  tether_mutex_lock (&ledger->lock);
  record_violation_locked (ledger, message);
  tether_mutex_unlock (&ledger->lock);
}

/* Never dispatched: no prepare, no check, ready time -1. */
static GSourceFuncs watch_funcs = { NULL, NULL, NULL, NULL, NULL, NULL };

static gboolean
watch_never_dispatched (gpointer data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

/* Runs inside the context's last unref, before its memory is freed. */
static void
on_watched_context_finalized (gpointer data)
{
  ContextWatch *watch = data;
  TestLedger *ledger = watch->ledger;

  tether_mutex_lock (&ledger->lock);
  if (g_hash_table_lookup (ledger->context_ids, watch->context) == GSIZE_TO_POINTER (watch->id))
    g_hash_table_remove (ledger->context_ids, watch->context);
  g_hash_table_remove (ledger->live_ids, GSIZE_TO_POINTER (watch->id));
  ledger->totals.contexts_finalized++;
  tether_mutex_unlock (&ledger->lock);

  g_free (watch);
}

guint64
test_ledger_track_context (TestLedger   *ledger,
                           GMainContext *context)
{
  ContextWatch *watch = g_new0 (ContextWatch, 1);
  GSource *source;

  tether_mutex_lock (&ledger->lock);
  watch->ledger = ledger;
  watch->context = context;
  watch->id = ledger->next_context_id++;
  g_hash_table_insert (ledger->context_ids, context, GSIZE_TO_POINTER (watch->id));
  g_hash_table_add (ledger->live_ids, GSIZE_TO_POINTER (watch->id));
  ledger->totals.contexts_tracked++;
  tether_mutex_unlock (&ledger->lock);

  /* GLib destroys a dying context's sources in reverse list order, so the
   * lowest priority goes first: before tether's sentinel (G_PRIORITY_LOW). */
  source = g_source_new (&watch_funcs, sizeof (GSource));
  g_source_set_static_name (source, "[test] context watch");
  g_source_set_priority (source, G_MAXINT);
  g_source_set_callback (source, watch_never_dispatched, watch, on_watched_context_finalized);
  g_source_attach (source, context);
  g_source_unref (source);

  return watch->id;
}

static void
on_flagged_context_finalized (gpointer data)
{
  g_atomic_int_set ((gint *) data, TRUE);
}

void
test_watch_context (GMainContext *context,
                    gint         *finalized)
{
  GSource *source = g_source_new (&watch_funcs, sizeof (GSource));

  g_source_set_static_name (source, "[test] context watch");
  g_source_set_callback (source, watch_never_dispatched, finalized, on_flagged_context_finalized);
  g_source_attach (source, context);
  g_source_unref (source);
}

gboolean
test_ledger_context_alive (TestLedger *ledger,
                           guint64     context_id)
{
  gboolean alive;

  tether_mutex_lock (&ledger->lock);
  alive = g_hash_table_contains (ledger->live_ids, GSIZE_TO_POINTER (context_id));
  tether_mutex_unlock (&ledger->lock);

  return alive;
}

gboolean
test_ledger_check_held (TestLedger *ledger,
                        gpointer    resource,
                        guint64     context_id,
                        const char *where)
{
  gboolean ok = TRUE;

  tether_mutex_lock (&ledger->lock);
  ledger->totals.checks++;
  if (resource == NULL || !g_hash_table_contains (ledger->live, resource))
    {
      record_violation_locked (ledger,
                               g_strdup_printf ("%s: resource %p is not live (released or unknown)",
                                                where, resource));
      ok = FALSE;
    }
  else
    {
      LedgerResource *res = resource;

      if (res->context_id != context_id)
        {
          record_violation_locked (ledger,
                                   g_strdup_printf ("%s: resource #%" G_GUINT64_FORMAT
                                                    " belongs to context #%" G_GUINT64_FORMAT
                                                    ", not #%" G_GUINT64_FORMAT,
                                                    where, res->id, res->context_id, context_id));
          ok = FALSE;
        }
    }
  tether_mutex_unlock (&ledger->lock);

  return ok;
}

guint
test_ledger_count_live_for (TestLedger *ledger,
                            guint64     context_id)
{
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  tether_mutex_lock (&ledger->lock);
  g_hash_table_iter_init (&iter, ledger->live);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (((LedgerResource *) key)->context_id == context_id)
      n++;
  tether_mutex_unlock (&ledger->lock);

  return n;
}

void
test_ledger_get_totals (TestLedger       *ledger,
                        TestLedgerTotals *out)
{
  tether_mutex_lock (&ledger->lock);
  *out = ledger->totals;
  out->live = g_hash_table_size (ledger->live);
  tether_mutex_unlock (&ledger->lock);
}

void
test_ledger_assert_clean (TestLedger *ledger)
{
  TestLedgerTotals totals;

  test_ledger_get_totals (ledger, &totals);
  tether_mutex_lock (&ledger->lock);
  for (guint i = 0; i < ledger->messages->len; i++)
    g_test_message ("ledger violation: %s", (const char *) g_ptr_array_index (ledger->messages, i));
  tether_mutex_unlock (&ledger->lock);
  if (totals.violations > 0 && ledger->messages->len > 0)
    g_test_fail_printf ("%" G_GUINT64_FORMAT " ledger violations, the first: %s",
                        totals.violations, (const char *) g_ptr_array_index (ledger->messages, 0));
  g_assert_cmpuint (totals.violations, ==, 0);
}

void
test_ledger_assert_balanced (TestLedger *ledger)
{
  TestLedgerTotals totals;

  test_ledger_assert_clean (ledger);
  test_ledger_get_totals (ledger, &totals);
  g_assert_cmpuint (totals.live, ==, 0);
  g_assert_cmpuint (totals.acquired, ==, totals.released_graceful + totals.released_ungraceful);
  g_assert_cmpuint (totals.contexts_finalized, ==, totals.contexts_tracked);
}

static gboolean
ledger_should_fail (TestLedgerProvider *lp)
{
  gint left = g_atomic_int_get (&lp->fail_next);

  while (left > 0)
    {
      if (g_atomic_int_compare_and_exchange (&lp->fail_next, left, left - 1))
        return TRUE;
      left = g_atomic_int_get (&lp->fail_next);
    }

  return lp->fail_permille > 0 && (guint) g_random_int_range (0, 1000) < lp->fail_permille;
}

static void
ledger_count_failure (TestLedgerProvider  *lp,
                      GMainContext        *context,
                      GError             **error)
{
  tether_mutex_lock (&lp->ledger->lock);
  lp->ledger->totals.failed++;
  tether_mutex_unlock (&lp->ledger->lock);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "ledger provider %s failed on purpose for context %p", lp->name, context);
}

/* A template's provider keeps at most one live resource per context. */
static char *
pair_key (LedgerResource *res)
{
  return g_strdup_printf ("%p:%" G_GUINT64_FORMAT, res->provider, res->context_id);
}

static LedgerResource *
ledger_make (TestLedgerProvider *lp,
             GMainContext       *context)
{
  TestLedger *ledger = lp->ledger;
  LedgerResource *res = g_new0 (LedgerResource, 1);

  res->context = context;
  res->provider = lp;

  tether_mutex_lock (&ledger->lock);
  res->id = ledger->next_resource_id++;
  res->context_id = GPOINTER_TO_SIZE (g_hash_table_lookup (ledger->context_ids, context));
  if (res->context_id != 0 && !g_hash_table_contains (ledger->live_ids, GSIZE_TO_POINTER (res->context_id)))
    record_violation_locked (ledger, g_strdup_printf ("%s: acquire for dead context %p",
                                                      lp->name, context));
  if (res->context_id != 0 && !g_hash_table_add (ledger->pairs, pair_key (res)))
    record_violation_locked (ledger, g_strdup_printf ("%s: a second live resource for context #%"
                                                      G_GUINT64_FORMAT " (single flight broken?)",
                                                      lp->name, res->context_id));
  g_hash_table_add (ledger->live, res);
  ledger->totals.acquired++;
  tether_mutex_unlock (&ledger->lock);

  return res;
}

static gpointer
ledger_acquire (GMainContext  *context,
                gpointer       provider_data,
                GError       **error)
{
  TestLedgerProvider *lp = provider_data;

  g_atomic_int_inc (&lp->n_acquire_calls);

  if (lp->gate != NULL)
    test_gate_wait (lp->gate);
  if (lp->delay_ms > 0)
    g_usleep (lp->delay_ms * G_TIME_SPAN_MILLISECOND);
  if (lp->acquire_hook != NULL)
    lp->acquire_hook (lp, context, NULL, lp->acquire_hook_data);

  if (ledger_should_fail (lp))
    {
      ledger_count_failure (lp, context, error);
      return NULL;
    }

  return ledger_make (lp, context);
}

typedef struct
{
  TestLedgerProvider *lp;
  GMainContext       *context;     /* identity only */
  GSource            *timeout;
  GSource            *cancel;
  gboolean            returned;   /* the task returned; only touched in its context */
} AsyncAcquire;

static void
async_acquire_free (gpointer data)
{
  AsyncAcquire *aa = data;

  if (aa->timeout != NULL)
    {
      g_source_destroy (aa->timeout);
      g_source_unref (aa->timeout);
    }
  if (aa->cancel != NULL)
    {
      g_source_destroy (aa->cancel);
      g_source_unref (aa->cancel);
    }
  g_free (aa);
}

static void
ledger_async_finish_task (GTask    *task,
                          gboolean  cancelled)
{
  AsyncAcquire *aa = g_task_get_task_data (task);
  GError *error = NULL;

  /* The task may outlive this (GTask holds itself until its callback has
   * run), so the other source could still fire: return once. */
  if (aa->returned)
    return;
  aa->returned = TRUE;
  if (aa->cancel != NULL)
    g_source_destroy (aa->cancel);

  if (cancelled)
    {
      tether_mutex_lock (&aa->lp->ledger->lock);
      aa->lp->ledger->totals.cancelled++;
      tether_mutex_unlock (&aa->lp->ledger->lock);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "ledger provider %s: acquire cancelled", aa->lp->name);
    }
  else if (ledger_should_fail (aa->lp))
    {
      ledger_count_failure (aa->lp, aa->context, &error);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, ledger_make (aa->lp, aa->context), NULL);
}

static gboolean
on_async_timeout (gpointer data)
{
  GTask *task = data;
  AsyncAcquire *aa = g_task_get_task_data (task);
  gboolean cancelled = !aa->lp->ignore_cancel &&
                       g_cancellable_is_cancelled (g_task_get_cancellable (task));

  /* The source's callback notify drops the task. */
  ledger_async_finish_task (task, cancelled);
  return G_SOURCE_REMOVE;
}

static gboolean
on_async_cancelled (GCancellable *cancellable,
                    gpointer      data)
{
  GTask *task = data;
  AsyncAcquire *aa = g_task_get_task_data (task);

  /* The timeout owns the task's last reference; destroying it drops it,
   * after the task has returned. */
  g_object_ref (task);
  ledger_async_finish_task (task, TRUE);
  g_source_destroy (aa->timeout);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
ledger_acquire_async (GMainContext        *context,
                      gpointer             provider_data,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  TestLedgerProvider *lp = provider_data;
  AsyncAcquire *aa;
  GTask *task;

  g_atomic_int_inc (&lp->n_acquire_calls);

  if (lp->gate != NULL)
    test_gate_wait (lp->gate);
  if (lp->acquire_hook != NULL)
    lp->acquire_hook (lp, context, NULL, lp->acquire_hook_data);

  task = g_task_new (NULL, cancellable, callback, user_data);
  /* Ignoring cancellation means delivering the resource regardless; with
   * GTask's default check, g_task_propagate_pointer() would turn it into
   * G_IO_ERROR_CANCELLED and drop it (a provider bug: a leak). */
  if (lp->ignore_cancel)
    g_task_set_check_cancellable (task, FALSE);
  aa = g_new0 (AsyncAcquire, 1);
  aa->lp = lp;
  aa->context = context;
  g_task_set_task_data (task, aa, async_acquire_free);

  /* Completes from the context the task was created in: the thread-default
   * one, which tether makes @context whenever this thread can own it. */
  aa->timeout = lp->delay_ms > 0 ? g_timeout_source_new (lp->delay_ms) : g_idle_source_new ();
  g_source_set_callback (aa->timeout, on_async_timeout, task, g_object_unref);
  g_source_attach (aa->timeout, g_task_get_context (task));

  if (cancellable != NULL && !lp->ignore_cancel)
    {
      aa->cancel = g_cancellable_source_new (cancellable);
      g_source_set_callback (aa->cancel, G_SOURCE_FUNC (on_async_cancelled), task, NULL);
      g_source_attach (aa->cancel, g_task_get_context (task));
    }
}

static gpointer
ledger_acquire_finish (GAsyncResult  *result,
                       GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
ledger_release (gpointer      resource,
                GMainContext *context,
                gboolean      graceful,
                gpointer      provider_data)
{
  TestLedgerProvider *lp = provider_data;
  TestLedger *ledger = lp->ledger;
  LedgerResource *res = resource;
  gboolean known;

  tether_mutex_lock (&ledger->lock);
  known = g_hash_table_remove (ledger->live, res);
  if (known && res->context_id != 0)
    {
      g_autofree char *key = pair_key (res);

      g_hash_table_remove (ledger->pairs, key);
    }
  if (!known)
    record_violation_locked (ledger, g_strdup_printf ("%s: release of %p, not live (released twice?)",
                                                      lp->name, resource));
  else if (graceful)
    {
      ledger->totals.released_graceful++;
      if (context != res->context)
        record_violation_locked (ledger, g_strdup_printf ("%s: resource #%" G_GUINT64_FORMAT
                                                          " released gracefully with context %p, "
                                                          "made for %p",
                                                          lp->name, res->id, context, res->context));
      else if (res->context_id != 0 &&
               !g_hash_table_contains (ledger->live_ids, GSIZE_TO_POINTER (res->context_id)))
        record_violation_locked (ledger, g_strdup_printf ("%s: resource #%" G_GUINT64_FORMAT
                                                          " released gracefully after its "
                                                          "context died",
                                                          lp->name, res->id));
    }
  else
    {
      ledger->totals.released_ungraceful++;
      if (context != NULL)
        record_violation_locked (ledger, g_strdup_printf ("%s: ungraceful release with a context",
                                                          lp->name));
      if (res->context_id != 0 &&
          g_hash_table_contains (ledger->live_ids, GSIZE_TO_POINTER (res->context_id)))
        record_violation_locked (ledger, g_strdup_printf ("%s: resource #%" G_GUINT64_FORMAT
                                                          " of live context #%" G_GUINT64_FORMAT
                                                          " released ungracefully",
                                                          lp->name, res->id, res->context_id));
    }
  tether_mutex_unlock (&ledger->lock);

  if (!known)
    return;

  if (lp->release_delay_ms > 0)
    g_usleep (lp->release_delay_ms * G_TIME_SPAN_MILLISECOND);
  if (lp->release_hook != NULL)
    lp->release_hook (lp, context, res, lp->release_hook_data);

  g_free (res);
}

TestLedgerProvider *
test_ledger_provider_new (TestLedger *ledger,
                          const char *name)
{
  TestLedgerProvider *lp = g_new0 (TestLedgerProvider, 1);

  lp->name = g_strdup (name);
  lp->ledger = ledger;
  lp->vtable.abi_version = TETHER_PROVIDER_ABI_VERSION;
  lp->vtable.struct_size = sizeof (TetherProvider);
  lp->vtable.name = lp->name;
  lp->vtable.description = "ledger test provider";
  lp->vtable.acquire = ledger_acquire;
  lp->vtable.acquire_async = ledger_acquire_async;
  lp->vtable.acquire_finish = ledger_acquire_finish;
  lp->vtable.release = ledger_release;

  return lp;
}

TetherTemplate *
test_ledger_provider_template (TestLedgerProvider *lp)
{
  if (lp->async_only)
    lp->vtable.acquire = NULL;

  return tether_template_new (&lp->vtable, lp);
}

void
test_ledger_provider_free (TestLedgerProvider *lp)
{
  g_free (lp->name);
  g_free (lp);
}

void
test_assert_order (GArray     *order,
                   const char *expected)
{
  g_autoptr(GString) got = g_string_new (NULL);

  for (guint i = 0; i < order->len; i++)
    {
      gint v = g_array_index (order, gint, i);

      g_string_append_c (got, v > 0 ? '+' : '-');
      g_string_append_c (got, (char) ABS (v));
    }
  g_assert_cmpstr (got->str, ==, expected);
}

void
test_copy_file (const char *from,
                const char *to,
                int         mode)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_file_get_contents (from, &data, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (to, data, (gssize) length, G_FILE_SET_CONTENTS_NONE, mode, &error);
  g_assert_no_error (error);
  /* set_contents applies the umask; the mode may be the point of a test. */
  g_assert_cmpint (g_chmod (to, mode), ==, 0);
}

void
test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      test_remove_tree (child);
    }
  g_rmdir (path);
}
