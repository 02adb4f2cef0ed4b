/* tether-context.c: what tether knows of each GMainContext, the sentinel
 * that notices a context's death, the janitor that purges what a dead
 * context left behind, and the per-thread cache of the hit path.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-private.h"

TetherMutex _tether_state_lock = TETHER_MUTEX_INIT;

/* Protected by the state lock */
static GHashTable *context_records;   /* GMainContext* → TetherContextRecord*, no refs */
static guint64     next_serial = 1;
static guint64     next_record_id = 1;
static GArray     *purge_queue;       /* TetherDeadResource */
static GArray     *exit_checks;       /* ExitCheck: contexts of exited threads */
static GMainContext *janitor_context; /* owned; NULL means the global default */
static GSource    *janitor_source;    /* owned; the pending idle, if any */
static gboolean    janitor_scheduled;

/* Atomic */
static guint64     next_generation = 1;
static gint        unmanaged_warning = -1; /* -1: not read from the environment yet */

typedef struct
{
  GMainContext *context;   /* identity only */
  guint64       record_id;
} ExitCheck;

/* ------------------------------------------------------------------------ */
/* Context records and the sentinel                                         */
/* ------------------------------------------------------------------------ */

static void on_context_finalized (gpointer data);

static void
ensure_queues_locked (void)
{
  if (purge_queue == NULL)
    purge_queue = g_array_new (FALSE, FALSE, sizeof (TetherDeadResource));
  if (exit_checks == NULL)
    exit_checks = g_array_new (FALSE, FALSE, sizeof (ExitCheck));
}


/* The sentinel never dispatches: no prepare, no check, ready time -1. Its
 * only purpose is the GDestroyNotify of its callback, which GLib runs inside
 * the last g_main_context_unref() before the context's memory is freed. Its
 * finalize (and dispose) would run after the free, so it has none. */
static GSourceFuncs sentinel_funcs = {
  NULL, NULL, NULL, NULL, NULL, NULL,
};

static gboolean
sentinel_never_dispatched (gpointer data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

guint64
_tether_next_serial_locked (void)
{
  return next_serial++;
}

guint64
_tether_next_generation_locked (void)
{
  return __atomic_add_fetch (&next_generation, 1, __ATOMIC_RELAXED);
}

TetherContextRecord *
_tether_context_record_lookup_locked (GMainContext *context)
{
  if (context_records == NULL)
    return NULL;

  return g_hash_table_lookup (context_records, context);
}

/* Creates the record and attaches its sentinel. The caller guarantees
 * @context is alive (it is the caller's own context, or the caller holds a
 * reference). Attaching takes @context's lock under the state lock, which is
 * safe: GLib never calls the sentinel's notify with a context lock held. */
TetherContextRecord *
_tether_context_record_ensure_locked (GMainContext *context)
{
  TetherContextRecord *record;

  if (context_records == NULL)
    context_records = g_hash_table_new (NULL, NULL);

  record = g_hash_table_lookup (context_records, context);
  if (record != NULL)
    return record;

  record = g_new0 (TetherContextRecord, 1);
  record->context = context;
  record->id = next_record_id++;
  record->sentinel = g_source_new (&sentinel_funcs, sizeof (GSource));
  g_source_set_static_name (record->sentinel, "[tether] context sentinel");
  g_source_set_priority (record->sentinel, G_PRIORITY_LOW);
  g_source_set_callback (record->sentinel, sentinel_never_dispatched,
                         record, on_context_finalized);
  g_source_attach (record->sentinel, context);

  g_hash_table_insert (context_records, context, record);

  return record;
}

/* When a live context has nothing left (no entries, no manager, nothing
 * under way), its record is dropped and its sentinel destroyed on purpose,
 * so that a context tether no longer serves carries nothing of tether's.
 * Returns the sentinel for _tether_context_record_finish_detach(), to be
 * called once the state lock is released, by a caller that guarantees the
 * context is still alive. */
GSource *
_tether_context_record_maybe_detach_locked (TetherContextRecord *record)
{
  GSource *sentinel;

  if (record == NULL ||
      record->n_entries > 0 ||
      record->manager != NULL)
    return NULL;

  g_hash_table_remove (context_records, record->context);
  record->detached = TRUE;
  sentinel = g_source_ref (record->sentinel);

  return sentinel;
}

void
_tether_context_record_finish_detach (GSource *sentinel)
{
  if (sentinel == NULL)
    return;

  /* Runs on_context_finalized() synchronously, which sees ->detached. */
  g_source_destroy (sentinel);
  g_source_unref (sentinel);
}

static gboolean janitor_dispatch (gpointer data);

/* Returns whether the caller must attach a janitor idle (with
 * janitor_attach(), once the lock is released): FALSE when one is already
 * scheduled. */
static gboolean
janitor_schedule_locked (void)
{
  if (janitor_scheduled)
    return FALSE;

  janitor_scheduled = TRUE;

  return TRUE;
}

/* Outside the state lock; does nothing unless @scheduled.
 *
 * Invariant: janitor_source is NULL or a pending idle attached to the
 * current janitor context, which tether holds a reference on; so
 * tether_set_janitor_context() may destroy it before it drops that
 * reference. The idle is therefore attached, under the state lock, to the
 * janitor context of that moment, not to the one of scheduling time: the
 * janitor may have moved since, and its old context may be dying on another
 * thread, where a g_source_destroy() of a source attached to it would touch
 * freed memory. If one is already pending, it will drain what was queued,
 * and none is added. Attaching under the state lock is safe for the reason
 * given at _tether_context_record_ensure_locked(). */
static void
janitor_attach (gboolean scheduled)
{
  GSource *source;
  GMainContext *target = NULL;

  if (!scheduled)
    return;

  source = g_idle_source_new ();
  g_source_set_static_name (source, "[tether] janitor");
  g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_callback (source, janitor_dispatch, NULL, NULL);

  TETHER_STATE_LOCK ();
  if (janitor_source == NULL)
    {
      target = g_main_context_ref (janitor_context ? janitor_context : g_main_context_default ());
      janitor_source = g_source_ref (source);
      g_source_attach (source, target);
    }
  TETHER_STATE_UNLOCK ();

  /* Dropping a source reference locks the source's context; the janitor
   * may move and its old context be freed on another thread meanwhile, so
   * hold a reference on it until ours on the source is gone. */
  g_source_unref (source);
  if (target != NULL)
    g_main_context_unref (target);
}

/* The GDestroyNotify of the sentinel's callback. It runs either inside the
 * last unref of the context, on whichever thread dropped it and before the
 * context's memory is freed, or inside a g_source_destroy() of ours, after
 * the record was marked detached. It calls no GLib API on the context. */
static void
on_context_finalized (gpointer data)
{
  TetherContextRecord *record = data;
  gboolean attach_to = FALSE;

  if (!record->detached)
    {
      GPtrArray *templates;
      GArray *dead;

      TETHER_STATE_LOCK ();

      /* Off the live tables at once: a new context at the same address
       * starts clean. */
      if (g_hash_table_lookup (context_records, record->context) == record)
        g_hash_table_remove (context_records, record->context);

      ensure_queues_locked ();
      templates = _tether_all_templates_locked ();
      dead = purge_queue;
      for (guint i = 0; i < templates->len; i++)
        _tether_template_take_dead_locked (g_ptr_array_index (templates, i),
                                           record->context, dead);

      if (purge_queue->len > 0)
        attach_to = janitor_schedule_locked ();

      TETHER_STATE_UNLOCK ();
    }

  /* The context is being freed: its reference on the sentinel goes after
   * the free, ours now, without touching the context. */
  g_source_unref (record->sentinel);
  g_free (record);

  janitor_attach (attach_to);
}

/* ------------------------------------------------------------------------ */
/* The purge queue and the janitor                                          */
/* ------------------------------------------------------------------------ */

static void run_exit_checks (void);

/* Releases, ungracefully and outside the lock, every queued resource of a
 * dead context (only @only's when @only is not NULL). Returns how many. */
guint
_tether_purge_queue_drain (TetherTemplate *only)
{
  GArray *dead;
  guint n;

  dead = g_array_new (FALSE, FALSE, sizeof (TetherDeadResource));

  TETHER_STATE_LOCK ();
  ensure_queues_locked ();
  if (only == NULL)
    {
      /* Take the whole queue: O(1), whatever its length. */
      GArray *all = purge_queue;

      purge_queue = dead;
      dead = all;
    }
  else
    {
      guint kept = 0;

      /* One pass: move @only's items out, compact the others in place. */
      for (guint i = 0; i < purge_queue->len; i++)
        {
          TetherDeadResource *item = &g_array_index (purge_queue, TetherDeadResource, i);

          if (item->template == only)
            g_array_append_val (dead, *item);
          else
            g_array_index (purge_queue, TetherDeadResource, kept++) = *item;
        }
      g_array_set_size (purge_queue, kept);
    }
  TETHER_STATE_UNLOCK ();

  n = dead->len;
  _tether_release_dead (dead);
  g_array_unref (dead);

  return n;
}

static gboolean
janitor_dispatch (gpointer data)
{
  GSource *self = NULL;

  TETHER_STATE_LOCK ();
  janitor_scheduled = FALSE;
  if (janitor_source == g_main_current_source ())
    self = g_steal_pointer (&janitor_source);
  TETHER_STATE_UNLOCK ();

  g_clear_pointer (&self, g_source_unref);

  _tether_purge_queue_drain (NULL);
  run_exit_checks ();

  return G_SOURCE_REMOVE;
}

/**
 * tether_purge:
 *
 * Releases at once, ungracefully, every resource held for contexts that no
 * longer exist (Pyot's `ResourceTemplate.purge()` over all templates).
 *
 * When a context is finalized without its resources having been released,
 * tether takes them off its tables at once and queues them for the janitor
 * (see [func@Tether.set_janitor_context]). This function drains that queue in
 * the calling thread instead of waiting for the janitor: each provider's
 * `release` runs here with `graceful == FALSE` and `context == NULL`.
 *
 * It also runs the leak diagnostics of exited threads (see the thread rules
 * in the README).
 *
 * Callable from any thread; never blocks on a provider other than by calling
 * its `release`. No lock of tether's is held while releases run.
 *
 * Returns: the number of resources released
 */
guint
tether_purge (void)
{
  guint n = _tether_purge_queue_drain (NULL);

  run_exit_checks ();

  return n;
}

/**
 * tether_get_n_pending_purge:
 *
 * The number of resources of dead contexts waiting for the janitor or for
 * [func@Tether.purge]. Callable from any thread; the answer may be stale by
 * the time it is used.
 *
 * Returns: how many resources are queued for ungraceful release
 */
guint
tether_get_n_pending_purge (void)
{
  guint n;

  TETHER_STATE_LOCK ();
  n = purge_queue ? purge_queue->len : 0;
  TETHER_STATE_UNLOCK ();

  return n;
}

/**
 * tether_set_janitor_context:
 * @context: (nullable): the context whose idle source purges resources of
 *   dead contexts, or %NULL for the global default context
 *
 * Chooses where resources of dead contexts are released. When a context
 * dies holding resources, tether queues them and attaches an idle source to
 * the janitor context; the provider `release` functions run when that
 * context is iterated. The default is the global default context, which
 * suits GApplication and GTK programs; a program whose main thread does not
 * run the default context should set its own, or call [func@Tether.purge].
 *
 * tether keeps a reference on @context until another one is set. A pending
 * purge moves to the new context.
 *
 * Callable from any thread.
 */
void
tether_set_janitor_context (GMainContext *context)
{
  GMainContext *old_context;
  GSource *old_source;
  gboolean attach_to = FALSE;

  if (context == g_main_context_default ())
    context = NULL;

  TETHER_STATE_LOCK ();
  ensure_queues_locked ();
  old_context = janitor_context;
  old_source = janitor_source;
  janitor_source = NULL;
  janitor_context = context ? g_main_context_ref (context) : NULL;
  if (janitor_scheduled)
    {
      janitor_scheduled = FALSE;
      attach_to = janitor_schedule_locked ();
    }
  TETHER_STATE_UNLOCK ();

  if (old_source != NULL)
    {
      g_source_destroy (old_source);
      g_source_unref (old_source);
    }

  janitor_attach (attach_to);

  if (old_context != NULL)
    g_main_context_unref (old_context);
}

/**
 * tether_dup_janitor_context:
 *
 * Gets the context the janitor runs in. Callable from any thread.
 *
 * Returns: (transfer full): the janitor context; the global default context
 *   unless [func@Tether.set_janitor_context] chose another
 */
GMainContext *
tether_dup_janitor_context (void)
{
  GMainContext *context;

  TETHER_STATE_LOCK ();
  context = g_main_context_ref (janitor_context ? janitor_context : g_main_context_default ());
  TETHER_STATE_UNLOCK ();

  return context;
}

/* ------------------------------------------------------------------------ */
/* Warnings                                                                 */
/* ------------------------------------------------------------------------ */

gboolean
_tether_unmanaged_warning_enabled (void)
{
  gint value = g_atomic_int_get (&unmanaged_warning);

  if (G_UNLIKELY (value < 0))
    {
      const char *env = g_getenv ("TETHER_UNMANAGED_WARNING");

      value = !(env != NULL && (g_str_equal (env, "0") || g_ascii_strcasecmp (env, "no") == 0));
      g_atomic_int_compare_and_exchange (&unmanaged_warning, -1, value);
      value = g_atomic_int_get (&unmanaged_warning);
    }

  return value != 0;
}

/**
 * tether_set_unmanaged_warning_enabled:
 * @enabled: whether to warn
 *
 * Turns on or off the two diagnostics about resources no manager will
 * release (Pyot's `PyotResourceWarning`):
 *
 * - when a template is acquired for a second distinct context and that
 *   context has no active [class@Tether.Manager], a warning is logged once
 *   per context;
 * - when a thread exits while its thread-default context still holds
 *   resources acquired without a manager, a warning names them.
 *
 * Both are on by default. Setting the environment variable
 * `TETHER_UNMANAGED_WARNING=0` turns them off before the program starts;
 * this function overrides it. Callable from any thread.
 */
void
tether_set_unmanaged_warning_enabled (gboolean enabled)
{
  g_atomic_int_set (&unmanaged_warning, enabled ? 1 : 0);
}

/* ------------------------------------------------------------------------ */
/* The per-thread cache                                                     */
/* ------------------------------------------------------------------------ */

static void thread_cache_free (gpointer data);

/* initial-exec: one pointer of static TLS, so the hit path reads it with a
 * single %fs-relative load. The cache itself is on the heap (a large static
 * TLS block would make dlopen() of the library fail from Python). */
__thread ThreadCache *_tether_thread_cache __attribute__((tls_model ("initial-exec")));
static GPrivate thread_cache_key = G_PRIVATE_INIT (thread_cache_free);

static ThreadCache *
thread_cache_get (void)
{
  ThreadCache *cache = _tether_thread_cache;

  if (cache == NULL)
    {
      cache = g_new0 (ThreadCache, 1);
      _tether_thread_cache = cache;
      g_private_set (&thread_cache_key, cache);
    }

  return cache;
}

void
_tether_cache_store (TetherTemplate *template,
                     GMainContext   *context,
                     gpointer        resource,
                     guint64         generation)
{
  ThreadCache *cache = thread_cache_get ();
  CacheSlot *slot = &cache->slots[_tether_cache_index (template, context)];

  slot->template = template;
  slot->context = context;
  slot->resource = resource;
  slot->generation = generation;
}

/* Remembers that this thread acquired an unmanaged resource for its
 * thread-default context, so that its exit can be checked for leaks.
 * Entries of contexts tether no longer serves are dropped on the way, so the
 * list stays as short as the set of the thread's live contexts. */
void
_tether_thread_watch_context_locked (GMainContext *context,
                                     guint64       record_id)
{
  ThreadCache *cache = thread_cache_get ();
  ExitCheck check = { context, record_id };
  guint kept = 0;

  if (cache->watched == NULL)
    cache->watched = g_array_new (FALSE, FALSE, sizeof (ExitCheck));

  for (guint i = 0; i < cache->watched->len; i++)
    {
      ExitCheck *other = &g_array_index (cache->watched, ExitCheck, i);
      TetherContextRecord *record = _tether_context_record_lookup_locked (other->context);

      if (record == NULL || record->id != other->record_id)
        continue;   /* dead or detached: nothing left to check */

      if (other->context == context && other->record_id == record_id)
        return;

      g_array_index (cache->watched, ExitCheck, kept++) = *other;
    }
  g_array_set_size (cache->watched, kept);

  g_array_append_val (cache->watched, check);
}

/* Runs when a thread that used tether exits. Whether its thread-default
 * context is still alive cannot be decided here: GLib pops and unrefs the
 * thread's contexts in a destructor of its own that may run after this one.
 * So the check is deferred to the janitor (or tether_purge()). */
static void
thread_cache_free (gpointer data)
{
  ThreadCache *cache = data;
  gboolean attach_to = FALSE;

  if (_tether_thread_cache == cache)
    _tether_thread_cache = NULL;

  if (cache->watched != NULL && cache->watched->len > 0)
    {
      TETHER_STATE_LOCK ();
      ensure_queues_locked ();
      g_array_append_vals (exit_checks, cache->watched->data, cache->watched->len);
      attach_to = janitor_schedule_locked ();
      TETHER_STATE_UNLOCK ();
    }

  if (cache->watched != NULL)
    g_array_unref (cache->watched);
  g_free (cache);

  janitor_attach (attach_to);
}

static void
run_exit_checks (void)
{
  g_autoptr(GArray) checks = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);

  TETHER_STATE_LOCK ();
  ensure_queues_locked ();
  if (exit_checks->len > 0)
    {
      checks = exit_checks;
      exit_checks = g_array_new (FALSE, FALSE, sizeof (ExitCheck));
    }

  for (guint i = 0; checks != NULL && i < checks->len; i++)
    {
      ExitCheck *check = &g_array_index (checks, ExitCheck, i);
      TetherContextRecord *record = _tether_context_record_lookup_locked (check->context);
      g_autoptr(GPtrArray) held = NULL;
      g_autoptr(GString) names = NULL;
      GPtrArray *templates;

      if (record == NULL || record->id != check->record_id ||
          record->manager != NULL || record->n_entries == 0)
        continue;

      held = g_ptr_array_new ();
      templates = _tether_all_templates_locked ();
      for (guint j = 0; j < templates->len; j++)
        _tether_template_collect_held_locked (g_ptr_array_index (templates, j),
                                              check->context, held);
      if (held->len == 0)
        continue;

      names = g_string_new (NULL);
      for (guint j = 0; j < held->len; j++)
        g_string_append_printf (names, "%s'%s'", j ? ", " : "",
                                tether_template_get_name (g_ptr_array_index (held, j)));

      g_ptr_array_add (messages,
                       g_strdup_printf ("A thread exited while its thread-default context %p "
                                        "still holds resources no manager will release: %s. "
                                        "A resource that references its context (SoupSession, "
                                        "GDBusConnection) keeps it alive, so they leak until "
                                        "tether_template_release() or a TetherManager releases "
                                        "them on that context",
                                        check->context, names->str));
    }
  TETHER_STATE_UNLOCK ();

  if (_tether_unmanaged_warning_enabled ())
    for (guint i = 0; i < messages->len; i++)
      g_warning ("%s", (const char *) g_ptr_array_index (messages, i));
}

/* ------------------------------------------------------------------------ */
/* Entering a context to call a provider                                    */
/* ------------------------------------------------------------------------ */

gboolean
_tether_context_enter (GMainContext *context)
{
  if (context == NULL)
    return FALSE;

  /* Already this thread's thread-default context, and owned by it (the
   * usual case inside a manager): nothing to push. The thread-default stack
   * holds a reference, so the context outlives the call. */
  if (context == g_main_context_get_thread_default () &&
      g_main_context_is_owner (context))
    return FALSE;

  if (!g_main_context_acquire (context))
    return FALSE;

  /* Our own reference for the span: what runs inside may drop the last
   * other one (a resource that referenced its context, released). */
  g_main_context_ref (context);
  g_main_context_push_thread_default (context);

  return TRUE;
}

void
_tether_context_leave (GMainContext *context,
                       gboolean      entered)
{
  if (!entered)
    return;

  g_main_context_pop_thread_default (context);
  g_main_context_release (context);
  g_main_context_unref (context);
}

/* ------------------------------------------------------------------------ */
/* Global queries                                                           */
/* ------------------------------------------------------------------------ */

/**
 * tether_dup_managed_contexts:
 *
 * Lists the contexts that have an active [class@Tether.Manager] (Pyot's
 * `resource_managed_loops`). The list is a snapshot; managers may enter or
 * leave right after it is taken. Callable from any thread.
 *
 * Returns: (transfer container) (element-type GLib.MainContext): a new array
 *   holding a reference on each context; free it with g_ptr_array_unref()
 */
GPtrArray *
tether_dup_managed_contexts (void)
{
  GPtrArray *contexts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_main_context_unref);
  GHashTableIter iter;
  gpointer value;

  TETHER_STATE_LOCK ();
  if (context_records != NULL)
    {
      g_hash_table_iter_init (&iter, context_records);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          TetherContextRecord *record = value;

          /* An active manager holds a reference on its context, so taking
           * another one here cannot race with the context's finalization. */
          if (record->manager != NULL)
            g_ptr_array_add (contexts, g_main_context_ref (record->context));
        }
    }
  TETHER_STATE_UNLOCK ();

  return contexts;
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
 * Runs synchronously on the calling thread, which must not be the owner of a
 * context it is iterating at the time only if @func iterates that one.
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
