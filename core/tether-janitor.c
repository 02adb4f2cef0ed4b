/* tether-janitor.c: the record of each context tether serves, found by the
 * context's address; the sentinel source in each, which notices its death;
 * the purge of what a dead context left (the purge queue and the janitor
 * idle); and the reports of unmanaged use (the second-context warning, what
 * exited threads left behind)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
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
static GHashTable *context_records;   /* GMainContext* -> TetherContextRecord*, no refs */
static guint32     next_record_id = 1;
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
/* Context records                                                          */
/* ------------------------------------------------------------------------ */

TetherContextRecord *
_tether_context_record_lookup_locked (GMainContext *context)
{
  if (context_records == NULL)
    return NULL;

  return g_hash_table_lookup (context_records, context);
}

/* Off the table (no-op if another record took @record's place: a new
 * context at the same address may already have one of its own). */
static void
record_remove_locked (TetherContextRecord *record)
{
  if (g_hash_table_lookup (context_records, record->context) == record)
    g_hash_table_remove (context_records, record->context);
}

/* Nothing left for tether to serve: no entries, no manager. A context
 * that was given the unmanaged warning, or that a manager entered, keeps
 * its record (and sentinel) for its whole life: the warning stays once per
 * context, and a manager's next enter, or the next job's manager on a
 * long-lived context, finds the sentinel in place (making and destroying
 * one per enter was about half of what a manager's enter and release cost
 * beyond their providers). The record goes with the context's death. */
static gboolean
record_is_idle_locked (TetherContextRecord *record)
{
  return record->n_entries == 0 && record->manager == NULL && !record->warned &&
         !record->entered;
}

TetherManager *
_tether_context_record_claim_locked (TetherContextRecord *record,
                                     TetherManager       *manager)
{
  if (record->manager != NULL)
    return record->manager;

  record->manager = manager;
  record->entered = TRUE;
  return NULL;
}

gboolean
_tether_context_record_unclaim_locked (TetherContextRecord *record,
                                       TetherManager       *manager)
{
  if (record == NULL || record->manager != manager)
    return FALSE;

  record->manager = NULL;
  return TRUE;
}

guint32
_tether_context_record_id_for_tests (GMainContext *context)
{
  TetherContextRecord *record;
  guint32 id;

  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  id = record != NULL ? record->id : 0;
  TETHER_STATE_UNLOCK ();

  return id;
}

/**
 * tether_is_managed:
 * @context: (nullable): a context, or %NULL for the calling thread's
 *   thread-default context
 *
 * Whether @context has an active [class@Tether.Manager] (its scope has
 * been entered and not yet left). A snapshot; callable from any thread.
 *
 * Returns: %TRUE if a manager is active on @context
 *
 * Since: 0.2
 */
gboolean
tether_is_managed (GMainContext *context)
{
  TetherContextRecord *record;
  gboolean managed;

  context = _tether_context_resolve (context);

  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  managed = record != NULL && record->manager != NULL;
  TETHER_STATE_UNLOCK ();

  return managed;
}

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
_tether_janitor_watch_locked (GMainContext *context,
                              gboolean     *out_first)
{
  TetherContextRecord *record = _tether_context_record_lookup_locked (context);

  *out_first = record == NULL;
  if (record != NULL)
    return record;

  if (context_records == NULL)
    context_records = g_hash_table_new (NULL, NULL);

  record = g_new0 (TetherContextRecord, 1);
  record->context = context;
  record->id = next_record_id++;
  if (G_UNLIKELY (next_record_id == 0))
    next_record_id = 1;
  g_hash_table_insert (context_records, context, record);

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
  if (record == NULL || !record_is_idle_locked (record))
    return NULL;

  record_remove_locked (record);
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
  gboolean died = FALSE;
  guint n_queued = 0;

  /* detached is read under the lock that guards its write: this notify may
   * run on any thread, and only the lock orders it with the unwatch. */
  TETHER_STATE_LOCK ();
  if (!record->detached)
    {
      died = TRUE;

      /* Off the live tables at once: a new context at the same address
       * starts clean. */
      record_remove_locked (record);

      ensure_queues_locked ();
      n_queued = purge_queue->len;
      _tether_entry_take_dead_locked (record, purge_queue);
      n_queued = purge_queue->len - n_queued;

      if (purge_queue->len > 0)
        attach_to = janitor_schedule_locked ();
    }
  TETHER_STATE_UNLOCK ();

  if (died)
    _tether_trace_context_died (record->context, n_queued);

  /* The context is being freed: its reference on the sentinel goes after
   * the free, ours now, without touching the context. */
  g_source_unref (record->sentinel);
  g_free (record);

  janitor_attach (attach_to);
}

/* ------------------------------------------------------------------------ */
/* The purge queue and the janitor                                          */
/* ------------------------------------------------------------------------ */

gboolean
_tether_janitor_discard_locked (TetherContextRecord *record,
                                TetherEntry         *entry)
{
  TetherTakenList taken;

  ensure_queues_locked ();
  _tether_taken_list_init (&taken);
  _tether_entry_take_one_locked (record, entry, &taken);
  _tether_trace_purge_queued_locked (&taken.items[0].template->call.counters);
  g_array_append_vals (purge_queue, taken.items, taken.n);

  return janitor_schedule_locked ();
}

void
_tether_janitor_schedule (gboolean attach)
{
  janitor_attach (attach);
}

/* A provider says its resource died (TetherResourceWatch.discard). */
static void
held_watch_discard (TetherResourceWatch *public)
{
  TetherHeldWatch *watch = (TetherHeldWatch *) public;
  gboolean attach = FALSE;

  /* The context's record stays (idle) until the context dies or tether
   * serves it again: this may run on any thread, which cannot vouch for
   * the context's life, as a sentinel's destruction needs. */
  TETHER_STATE_LOCK ();
  if (!watch->released && !watch->died)
    {
      TetherEntry *entry = _tether_entry_lookup_locked (watch->template, watch->context);

      if (entry != NULL && entry->flight == NULL && entry->resource == watch->resource)
        attach = _tether_janitor_discard_locked (
                   _tether_context_record_lookup_locked (watch->context), entry);
      else
        /* Not handed out yet: the acquire's completion fails it. */
        watch->died = TRUE;
    }
  TETHER_STATE_UNLOCK ();

  janitor_attach (attach);
}

TetherHeldWatch *
_tether_janitor_held_watch_new (TetherTemplate *template,
                                GMainContext   *context,
                                gpointer        resource)
{
  TetherHeldWatch *watch = g_new0 (TetherHeldWatch, 1);

  watch->public.discard = held_watch_discard;
  watch->template = template;
  watch->context = context;
  watch->resource = resource;
  return watch;
}

static void
release_dead (GArray *dead)
{
  gint64 clock = _tether_trace_release_start ();

  for (guint i = 0; i < dead->len; i++)
    {
      TetherTakenResource *item = &g_array_index (dead, TetherTakenResource, i);

      clock = _tether_provider_release (&item->template->call, item->resource, NULL, FALSE,
                                        clock);
    }
  _tether_entry_released ((TetherTakenResource *) (gpointer) dead->data, dead->len, FALSE);
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

static gboolean
unmanaged_warning_enabled (void)
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

gboolean
_tether_janitor_take_warning_locked (TetherContextRecord *record)
{
  if (record->manager != NULL || record->warned || !unmanaged_warning_enabled ())
    return FALSE;

  record->warned = TRUE;
  return TRUE;
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

/**
 * tether_get_unmanaged_warning_enabled:
 *
 * Whether the diagnostics about resources no manager will release are on
 * (see [func@Tether.set_unmanaged_warning_enabled]), as the environment
 * (`TETHER_UNMANAGED_WARNING`) or that function last set them. Callable
 * from any thread.
 *
 * Returns: %TRUE if tether warns
 *
 * Since: 0.2
 */
gboolean
tether_get_unmanaged_warning_enabled (void)
{
  return unmanaged_warning_enabled ();
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
_tether_janitor_watch_thread_locked (TetherContextRecord *record)
{
  GArray *watched = g_private_get (&thread_watch_key);
  GMainContext *context = record->context;
  guint64 record_id = record->id;
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
      TetherContextRecord *live = _tether_context_record_lookup_locked (other->context);

      if (live == NULL || live->id != other->record_id)
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
      _tether_entry_collect_held_locked (record, held);
      if (held->len == 0)
        continue;

      names = g_string_new (NULL);
      for (guint j = 0; j < held->len; j++)
        g_string_append_printf (names, "%s'%s'", j ? ", " : "",
                                ((TetherTemplate *) g_ptr_array_index (held, j))->call.name);

      g_ptr_array_add (messages,
                       g_strdup_printf ("A thread exited leaving resources no manager will "
                                        "release for context %p, which was its thread-default "
                                        "context when it acquired them: %s. A resource that "
                                        "references its context (SoupSession, GDBusConnection) "
                                        "keeps it alive, so they leak until "
                                        "tether_template_release() or a TetherManager releases "
                                        "them on that context",
                                        check->context, names->str));
    }
  TETHER_STATE_UNLOCK ();

  if (unmanaged_warning_enabled ())
    for (guint i = 0; i < messages->len; i++)
      g_warning ("%s", (const char *) g_ptr_array_index (messages, i));
}

/* ------------------------------------------------------------------------ */
/* fork()                                                                   */
/* ------------------------------------------------------------------------ */

void
_tether_janitor_forget_all_locked (void)
{
  /* Every record's sentinel stays attached to its context (the child has
   * the parent's contexts too), detached: when such a context dies in the
   * child, its notify frees the record and does nothing else. The queued
   * resources and the exit checks are the parent's. */
  if (context_records != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, context_records);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          TetherContextRecord *record = value;

          record->detached = TRUE;
          record->held = NULL;
          record->n_entries = 0;
          record->manager = NULL;
        }
      g_hash_table_remove_all (context_records);
    }

  if (purge_queue != NULL)
    g_array_set_size (purge_queue, 0);
  if (exit_checks != NULL)
    g_array_set_size (exit_checks, 0);
  /* A janitor idle pending in the parent is the parent's (it may be
   * attached to a context no thread of the child iterates): the child
   * schedules its own. */
  janitor_scheduled = FALSE;
  janitor_source = NULL;
}
