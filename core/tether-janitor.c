/* tether-janitor.c: watches the contexts tether serves (a sentinel source
 * in each), cleans up after dead ones (the purge queue and the janitor
 * idle), and reports what exited threads left behind
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-entry-private.h"
#include "tether-janitor-private.h"
#include "tether-lock-private.h"
#include "tether-template-private.h"

typedef struct
{
  GMainContext *context;   /* identity only */
  guint64       record_id;
} ExitCheck;

/* Protected by the state lock */
static GArray     *purge_queue;       /* TetherTakenResource */
static GArray     *exit_checks;       /* ExitCheck: contexts of exited threads */
static GMainContext *janitor_context; /* owned; NULL means the global default */
static GSource    *janitor_source;    /* owned; the pending idle, if any */
static gboolean    janitor_scheduled;

/* Atomic */
static gint        unmanaged_warning = -1; /* -1: not read from the environment yet */

/* Per thread: ExitCheck, thread-default contexts with unmanaged resources */
static void thread_watch_free (gpointer data);
static GPrivate thread_watch_key = G_PRIVATE_INIT (thread_watch_free);

static void on_context_finalized (gpointer data);
static gboolean janitor_dispatch (gpointer data);
static void run_exit_checks (void);

static void
ensure_queues_locked (void)
{
  if (purge_queue == NULL)
    purge_queue = g_array_new (FALSE, FALSE, sizeof (TetherTakenResource));
  if (exit_checks == NULL)
    exit_checks = g_array_new (FALSE, FALSE, sizeof (ExitCheck));
}

/* ------------------------------------------------------------------------ */
/* The sentinel                                                             */
/* ------------------------------------------------------------------------ */

/* The sentinel never dispatches: no prepare, no check, ready time -1. Its
 * only purpose is the GDestroyNotify of its callback, which GLib runs inside
 * the last g_main_context_unref() before the context's memory is freed. Its
 * finalize (and dispose) would run after the free, so it has none. */
static GSourceFuncs sentinel_funcs; /* all NULL */

static gboolean
sentinel_never_dispatched (gpointer data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

/* Attaching takes @context's lock under the state lock, which is safe:
 * GLib never calls the sentinel's notify with a context lock held. */
TetherContextRecord *
_tether_janitor_watch_locked (GMainContext *context)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (context);

  if (record != NULL)
    return record;

  record = _tether_context_record_insert_locked (context);
  record->sentinel = g_source_new (&sentinel_funcs, sizeof (GSource));
  g_source_set_static_name (record->sentinel, "[tether] context sentinel");
  g_source_set_priority (record->sentinel, G_PRIORITY_LOW);
  g_source_set_callback (record->sentinel, sentinel_never_dispatched,
                         record, on_context_finalized);
  g_source_attach (record->sentinel, context);

  return record;
}

/* A context tether no longer serves carries nothing of tether's. */
GSource *
_tether_janitor_unwatch_if_idle_locked (TetherContextRecord *record)
{
  if (record == NULL || !_tether_context_record_is_idle_locked (record))
    return NULL;

  _tether_context_record_remove_locked (record);
  record->detached = TRUE;

  return g_source_ref (record->sentinel);
}

void
_tether_janitor_finish_unwatch (GSource *sentinel)
{
  if (sentinel == NULL)
    return;

  /* Runs on_context_finalized() synchronously, which sees ->detached. */
  g_source_destroy (sentinel);
  g_source_unref (sentinel);
}

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
 * given at _tether_janitor_watch_locked(). */
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
  guint n_queued = 0;

  if (!record->detached)
    {
      TETHER_STATE_LOCK ();

      /* Off the live tables at once: a new context at the same address
       * starts clean. */
      _tether_context_record_remove_locked (record);

      ensure_queues_locked ();
      n_queued = purge_queue->len;
      _tether_entry_take_dead_locked (record, purge_queue);
      n_queued = purge_queue->len - n_queued;

      if (purge_queue->len > 0)
        attach_to = janitor_schedule_locked ();

      TETHER_STATE_UNLOCK ();
      _tether_trace_context_died (record->context, n_queued);
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

static void
release_dead (GArray *dead)
{
  for (guint i = 0; i < dead->len; i++)
    {
      TetherTakenResource *item = &g_array_index (dead, TetherTakenResource, i);

      _tether_provider_release (&item->template->call, item->resource, NULL, FALSE);
      g_assert (item->owns_ref);   /* the purge queue's items always do */
      g_object_unref (item->template);
    }
}

guint
_tether_janitor_purge (TetherTemplate *only)
{
  GArray *dead;
  gint64 start = _tether_trace_now ();
  guint n;

  dead = g_array_new (FALSE, FALSE, sizeof (TetherTakenResource));

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
          TetherTakenResource *item = &g_array_index (purge_queue, TetherTakenResource, i);

          if (item->template == only)
            g_array_append_val (dead, *item);
          else
            g_array_index (purge_queue, TetherTakenResource, kept++) = *item;
        }
      g_array_set_size (purge_queue, kept);
    }
  TETHER_STATE_UNLOCK ();

  n = dead->len;
  release_dead (dead);
  g_array_unref (dead);
  _tether_trace_purge (only != NULL ? only->call.name : NULL, n, start);

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

  _tether_janitor_purge (NULL);
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
  guint n = _tether_janitor_purge (NULL);

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
_tether_janitor_unmanaged_warning_enabled (void)
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

void
_tether_janitor_warn_unmanaged (const char   *name,
                                GMainContext *context)
{
  g_warning ("Template '%s' is being acquired for context %p, a second distinct context "
             "with no active TetherManager: its resources can only be released "
             "ungracefully, when the context is destroyed. Use a TetherManager (or "
             "tether_run_in_new_context()) in each thread, or silence this with "
             "tether_set_unmanaged_warning_enabled() or TETHER_UNMANAGED_WARNING=0",
             name, context);
}

/* ------------------------------------------------------------------------ */
/* Exited threads                                                           */
/* ------------------------------------------------------------------------ */

/* Remembers that this thread acquired an unmanaged resource for its
 * thread-default context, so that its exit can be checked for leaks.
 * Entries of contexts tether no longer serves are dropped on the way, so the
 * list stays as short as the set of the thread's live contexts. */
void
_tether_janitor_watch_thread_locked (GMainContext *context,
                                     guint64       record_id)
{
  GArray *watched = g_private_get (&thread_watch_key);
  ExitCheck check = { context, record_id };
  guint kept = 0;

  if (watched == NULL)
    {
      watched = g_array_new (FALSE, FALSE, sizeof (ExitCheck));
      g_private_set (&thread_watch_key, watched);
    }

  for (guint i = 0; i < watched->len; i++)
    {
      ExitCheck *other = &g_array_index (watched, ExitCheck, i);
      TetherContextRecord *record = _tether_context_record_lookup_locked (other->context);

      if (record == NULL || record->id != other->record_id)
        continue;   /* dead or detached: nothing left to check */

      if (other->context == context && other->record_id == record_id)
        return;

      g_array_index (watched, ExitCheck, kept++) = *other;
    }
  g_array_set_size (watched, kept);

  g_array_append_val (watched, check);
}

/* Runs when a thread that used tether exits. Whether its thread-default
 * context is still alive cannot be decided here: GLib pops and unrefs the
 * thread's contexts in a destructor of its own that may run after this one.
 * So the check is deferred to the janitor (or tether_purge()). */
static void
thread_watch_free (gpointer data)
{
  GArray *watched = data;
  gboolean attach_to = FALSE;

  if (watched->len > 0)
    {
      TETHER_STATE_LOCK ();
      ensure_queues_locked ();
      g_array_append_vals (exit_checks, watched->data, watched->len);
      attach_to = janitor_schedule_locked ();
      TETHER_STATE_UNLOCK ();
    }

  g_array_unref (watched);

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

      if (record == NULL || record->id != check->record_id ||
          record->manager != NULL || record->n_entries == 0)
        continue;

      held = g_ptr_array_new ();
      _tether_entry_collect_held_locked (check->context, held);
      if (held->len == 0)
        continue;

      names = g_string_new (NULL);
      for (guint j = 0; j < held->len; j++)
        g_string_append_printf (names, "%s'%s'", j ? ", " : "",
                                ((TetherTemplate *) g_ptr_array_index (held, j))->call.name);

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

  if (_tether_janitor_unmanaged_warning_enabled ())
    for (guint i = 0; i < messages->len; i++)
      g_warning ("%s", (const char *) g_ptr_array_index (messages, i));
}
