/* tether-template-acquire.c: a TetherTemplate's acquire, lookup and release
 * API, from the lock-free hit path down to the flight and the release
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-flight-private.h"
#include "tether-janitor-private.h"
#include "tether-release-private.h"
#include "tether-template-private.h"
#include "tether-thread-cache-private.h"

/* ------------------------------------------------------------------------ */
/* Acquiring: the hit path here, the rest in tether-flight.c                */
/* ------------------------------------------------------------------------ */

/* The hit path checks the type inline: TetherTemplate is final, so a
 * template's class is exactly its type. That spares a call through the PLT
 * to tether_template_get_type() on every call (72.2 -> 67.1 instructions per
 * hit, docs/performance.md). The type is learnt by the first call that
 * takes the slow path (template_check_slow()); FALSE sends the caller
 * there. */
static GType template_type;   /* atomic; 0 until a valid call took the slow path */

static inline gboolean
template_check_fast (TetherTemplate *self)
{
  GType type = tether_atomic_load_relaxed (&template_type);

  return G_LIKELY (type != 0 && self != NULL &&
                   ((GTypeInstance *) self)->g_class != NULL &&
                   ((GTypeInstance *) self)->g_class->g_type == type);
}

/* The full check, with its critical; it teaches the fast one the type. */
static gboolean
template_check_slow (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  tether_atomic_store_relaxed (&template_type, TETHER_TYPE_TEMPLATE);
  return TRUE;
}

/**
 * tether_template_acquire:
 * @self: a #TetherTemplate
 * @context: (nullable): the context to acquire for, or %NULL for the calling
 *   thread's thread-default context (as g_main_context_ref_thread_default()
 *   resolves it)
 * @error: return location for a #GError
 *
 * Gets the resource @self holds for @context, acquiring it from the provider
 * the first time.
 *
 * When the resource is held, this reads a per-thread cache and takes no
 * lock. Otherwise, if no acquire for @context is under way, the provider's
 * `acquire` runs on this thread (with @context pushed as thread-default when
 * this thread can own it); if one is under way, this call waits for it and
 * shares its outcome. A failure is returned to every waiting caller and
 * nothing is cached.
 *
 * This call never waits for a context it cannot own. When the result can
 * only arrive by iterating @context — the provider only has `acquire_async`,
 * or an asynchronous caller's acquire is under way — and this thread can own
 * @context (it is the thread-default context, or no thread owns it), it
 * iterates @context until the result is in, which dispatches other sources
 * of @context in the meantime; when another thread owns @context, it fails
 * with %TETHER_ERROR_WOULD_BLOCK, whether it would start the acquire or join
 * one under way.
 *
 * A provider calling this for the very resource it is acquiring, from its
 * `acquire`, `acquire_async` or `acquire_finish`, gets
 * %TETHER_ERROR_RECURSIVE; acquiring other templates from inside a provider
 * is fine. A template made with a bare g_object_new() fails with
 * %TETHER_ERROR_NO_ACQUIRE.
 *
 * @context must stay alive for the duration of the call. Callable from any
 * thread. The first acquire for a second distinct context without an active
 * manager logs a warning (see [func@Tether.set_unmanaged_warning_enabled]).
 *
 * Returns: (transfer none) (nullable): the resource, borrowed: valid until it
 *   is released for @context, on the thread running the scope of @context
 *   (see [method@Tether.Template.lookup]); %NULL with @error set on failure
 */
/* Everything but a hit: the checks with their criticals, then the flight.
 * Out of line, like the NULL form's resolution, so that the explicit hit
 * makes no call and saves no register (55.1 -> 46.1 instructions per hit,
 * bench/callgrind-hit-path.sh; docs/performance.md). */
static G_NO_INLINE gpointer
template_acquire_slow (TetherTemplate  *self,
                       GMainContext    *context,
                       GError         **error)
{
  if (!template_check_slow (self))
    return NULL;
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _tether_flight_acquire (self, _tether_context_resolve (context), NULL, error);
}

/* The hit: the inline type check, the error check, the cache probe. */
static inline gpointer
template_acquire_hit (TetherTemplate  *self,
                      GMainContext    *context,
                      GError         **error)
{
  if (G_LIKELY (template_check_fast (self) && (error == NULL || *error == NULL)))
    return _tether_thread_cache_lookup (self, context,
                                        _tether_entry_table_generation (&self->table));

  return NULL;
}

/* The NULL form, out of line so that the explicit form's hit makes no
 * call and saves no register: one g_main_context_get_thread_default(),
 * then the same hit. */
static G_NO_INLINE gpointer
template_acquire_default (TetherTemplate  *self,
                          GError         **error)
{
  gpointer resource = template_acquire_hit (self, _tether_context_resolve (NULL), error);

  if (G_LIKELY (resource != NULL))
    return resource;

  return template_acquire_slow (self, NULL, error);
}

gpointer
tether_template_acquire (TetherTemplate  *self,
                         GMainContext    *context,
                         GError         **error)
{
  gpointer resource;

  if (context == NULL)
    return template_acquire_default (self, error);

  resource = template_acquire_hit (self, context, error);
  if (G_LIKELY (resource != NULL))
    return resource;

  return template_acquire_slow (self, context, error);
}

/**
 * tether_template_acquire_async:
 * @self: a #TetherTemplate
 * @context: (nullable): the context to acquire for, or %NULL for the calling
 *   thread's thread-default context
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the resource is ready
 * @user_data: (closure): data for @callback
 *
 * Gets the resource @self holds for @context, acquiring it asynchronously
 * the first time. Racing callers, synchronous or not, share one provider
 * acquire.
 *
 * When this call starts the acquire, the provider's `acquire_async` (or,
 * lacking it, its `acquire`) runs at once with @context pushed as
 * thread-default when this thread can own @context, and otherwise from an
 * idle source attached to @context, so it runs in the thread iterating
 * @context; its completion is dispatched in @context.
 *
 * @callback is invoked in the thread-default main context of the thread that
 * called this function. Cancelling @cancellable fails this call with
 * %G_IO_ERROR_CANCELLED and no other caller. When every caller waiting for
 * the acquire has left, the provider's `acquire_async` is cancelled, or, if
 * its start is still waiting in @context, the start is dropped; a
 * synchronous `acquire` always runs to its end and its resource stays held.
 * A reference on @context is held until the acquire completes or is
 * dropped.
 *
 * Callable from any thread.
 */
void
tether_template_acquire_async (TetherTemplate      *self,
                               GMainContext        *context,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;
  gpointer resource;

  g_return_if_fail (TETHER_IS_TEMPLATE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  context = _tether_context_resolve (context);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_template_acquire_async);
  g_task_set_name (task, "[tether] tether_template_acquire_async");

  resource = _tether_thread_cache_lookup (self, context,
                                          _tether_entry_table_generation (&self->table));
  if (resource != NULL)
    {
      g_task_return_pointer (task, resource, NULL);
      g_object_unref (task);
      return;
    }

  _tether_flight_acquire_async (self, context, cancellable, FALSE, task);
}

/**
 * tether_template_acquire_finish:
 * @self: a #TetherTemplate
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Tether.Template.acquire_async].
 *
 * Returns: (transfer none) (nullable): the resource, valid until it is
 *   released for its context; %NULL with @error set on failure
 */
gpointer
tether_template_acquire_finish (TetherTemplate  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tether_template_acquire_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tether_template_lookup:
 * @self: a #TetherTemplate
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 *
 * Gets the resource @self holds for @context without ever acquiring one.
 * Takes no lock when the resource is in this thread's cache. Callable from
 * any thread.
 *
 * The pointer is borrowed: dereference it only on the thread running the
 * scope of @context (the one that owns and iterates it), until the resource
 * is released for @context. Another thread (a UI thread showing what worker
 * contexts hold) may only compare or print it, never dereference it: the
 * worker's scope can end, and the resource be freed, at any moment. For a
 * reference that is safe on any thread, make the template with
 * [ctor@Tether.Template.new_for_object] and use
 * [method@Tether.Template.dup_object].
 *
 * Returns: (transfer none) (nullable): the held resource, or %NULL if none is
 *   held (or one is still being acquired)
 */
gpointer
tether_template_lookup (TetherTemplate *self,
                        GMainContext   *context)
{
  gpointer resource;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  context = _tether_context_resolve (context);

  resource = _tether_thread_cache_lookup (self, context,
                                          _tether_entry_table_generation (&self->table));
  if (resource != NULL)
    return resource;

  return _tether_template_lookup_ref (self, context, NULL);
}

/* Looks up the held resource of (@self, @context) under the state lock and,
 * if @ref_func is not NULL, applies it there, before a concurrent release
 * could take the resource off the table and free it. @context is resolved. */
gpointer
_tether_template_lookup_ref (TetherTemplate *self,
                             GMainContext   *context,
                             gpointer      (*ref_func) (gpointer))
{
  gpointer resource;

  TETHER_STATE_LOCK ();
  resource = _tether_entry_get_held_locked (self, context);
  if (resource != NULL && ref_func != NULL)
    resource = ref_func (resource);
  TETHER_STATE_UNLOCK ();

  return resource;
}

/* ------------------------------------------------------------------------ */
/* Releasing                                                                */
/* ------------------------------------------------------------------------ */

/**
 * tether_template_release:
 * @self: a #TetherTemplate
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 * @error: return location for a #GError
 *
 * Releases, gracefully, the resource @self holds for @context: it is taken
 * off the tables, then the provider's `release` runs on this thread with
 * `graceful == TRUE` and @context (pushed as thread-default when this thread
 * can own it). The next acquire for @context acquires anew.
 *
 * @context must be alive for the duration of the call. Callable from any
 * thread; see the thread rules of [class@Tether.Template] about resources
 * still in use elsewhere.
 *
 * Returns: %TRUE if a resource was released; %FALSE with
 *   %TETHER_ERROR_NOT_ACQUIRED if nothing is held for @context (Pyot's
 *   `ValueError`)
 */
gboolean
tether_template_release (TetherTemplate  *self,
                         GMainContext    *context,
                         GError         **error)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _tether_release_one (self, _tether_context_resolve (context), FALSE, error);
}

/**
 * tether_template_purge:
 * @self: a #TetherTemplate
 *
 * Releases at once, ungracefully, the resources @self held for contexts that
 * no longer exist and that the janitor has not released yet (Pyot's
 * `ResourceTemplate.purge()`). The provider's `release` runs on this thread
 * with `graceful == FALSE` and `context == NULL`. Callable from any thread.
 *
 * Returns: the number of resources released
 */
guint
tether_template_purge (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), 0);

  return _tether_janitor_purge (self);
}

/**
 * tether_template_get_n_held:
 * @self: a #TetherTemplate
 *
 * Counts the contexts @self holds a resource for (acquired and not yet
 * released or taken off by a context's death). A snapshot; callable from
 * any thread.
 *
 * Returns: the number of held resources
 */
guint
tether_template_get_n_held (TetherTemplate *self)
{
  guint n;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), 0);

  TETHER_STATE_LOCK ();
  n = _tether_entry_count_held_locked (self);
  TETHER_STATE_UNLOCK ();

  return n;
}
