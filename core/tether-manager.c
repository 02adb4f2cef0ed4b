/* tether-manager.c: the scope that acquires and releases everything for
 * one GMainContext (the asynchronous enter is in tether-manager-async.c)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-manager-private.h"
#include "tether-release-private.h"
#include "tether-scope-private.h"

/**
 * TetherManager:
 *
 * A scope over one [struct@GLib.MainContext] (Pyot's `ResourceManager`).
 *
 * [method@Tether.Manager.acquire] acquires every registered eager template
 * for the context, in registration order; [method@Tether.Manager.release] releases
 * everything held for the context, most recently acquired first, including
 * templates registered or first acquired after the manager entered. While a
 * manager is active the context is "managed" (see
 * [func@Tether.dup_managed_contexts]) and acquiring for it never logs the
 * unmanaged warning.
 *
 * A context has at most one active manager. A second one fails with
 * %TETHER_ERROR_ALREADY_MANAGED, unless it has %TETHER_MANAGER_EXIST_OK,
 * which makes it a no-op scope whose release does nothing.
 *
 * ```c
 * g_autoptr(TetherManager) manager = tether_manager_new (NULL, TETHER_MANAGER_NONE);
 *
 * if (!tether_manager_acquire (manager, &error))
 *   return FALSE;
 * do_work ();   // tether_template_acquire (t, NULL, &error) hits the cache
 * tether_manager_release (manager);
 * ```
 *
 * ## Thread rules
 *
 * A manager belongs to its context: acquire (sync or async) and release must
 * be called from a thread whose thread-default context is the manager's
 * context; acquire fails with %TETHER_ERROR_WRONG_CONTEXT otherwise, and
 * release is a programmer error (a critical, nothing released). The manager
 * holds a reference on its context for its whole life. Dropping the last
 * reference to an active manager releases it, on whichever thread drops it.
 */

G_DEFINE_FINAL_TYPE (TetherManager, tether_manager, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONTEXT,
  PROP_FLAGS,
  PROP_EXIST_OK,
  PROP_ACTIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tether_manager_dispose (GObject *object)
{
  TetherManager *self = (TetherManager *)object;

  if (_tether_manager_get_state (self) == MANAGER_ACTIVE)
    {
      _tether_manager_set_state (self, MANAGER_IDLE);
      _tether_release_all (self->context, self);
    }
  else if (_tether_manager_get_state (self) == MANAGER_NOOP)
    _tether_manager_set_state (self, MANAGER_IDLE);

  /* Its enters kept the context's record (and sentinel) for the next. */
  if (self->context != NULL)
    _tether_scope_forget (self->context);

  G_OBJECT_CLASS (tether_manager_parent_class)->dispose (object);
}

static void
tether_manager_finalize (GObject *object)
{
  TetherManager *self = (TetherManager *)object;

  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (tether_manager_parent_class)->finalize (object);
}

static void
tether_manager_constructed (GObject *object)
{
  TetherManager *self = (TetherManager *)object;

  G_OBJECT_CLASS (tether_manager_parent_class)->constructed (object);

  if (self->context == NULL)
    self->context = g_main_context_ref (_tether_context_resolve (NULL));
}

static void
tether_manager_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TetherManager *self = TETHER_MANAGER (object);

  switch (prop_id)
    {
    case PROP_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;

    case PROP_FLAGS:
      g_value_set_flags (value, self->flags);
      break;

    case PROP_EXIST_OK:
      g_value_set_boolean (value, (self->flags & TETHER_MANAGER_EXIST_OK) != 0);
      break;

    case PROP_ACTIVE:
      g_value_set_boolean (value, tether_manager_is_active (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_manager_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  TetherManager *self = TETHER_MANAGER (object);

  switch (prop_id)
    {
    case PROP_CONTEXT:
      self->context = g_value_dup_boxed (value);
      break;

    case PROP_FLAGS:
      self->flags |= g_value_get_flags (value);
      break;

    case PROP_EXIST_OK:
      if (g_value_get_boolean (value))
        self->flags |= TETHER_MANAGER_EXIST_OK;
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_manager_class_init (TetherManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tether_manager_constructed;
  object_class->dispose = tether_manager_dispose;
  object_class->finalize = tether_manager_finalize;
  object_class->get_property = tether_manager_get_property;
  object_class->set_property = tether_manager_set_property;

  /**
   * TetherManager:context:
   *
   * The context the manager scopes (Pyot's `loop`). %NULL at construction
   * means the constructing thread's thread-default context.
   */
  properties[PROP_CONTEXT] =
    g_param_spec_boxed ("context", NULL, NULL,
                        G_TYPE_MAIN_CONTEXT,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherManager:flags:
   *
   * The manager's flags.
   */
  properties[PROP_FLAGS] =
    g_param_spec_flags ("flags", NULL, NULL,
                        TETHER_TYPE_MANAGER_FLAGS, TETHER_MANAGER_NONE,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherManager:exist-ok:
   *
   * Whether the manager becomes a no-op scope when its context already has
   * an active manager (%TETHER_MANAGER_EXIST_OK).
   */
  properties[PROP_EXIST_OK] =
    g_param_spec_boolean ("exist-ok", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherManager:active:
   *
   * Whether the manager is between a successful acquire and its release
   * (a no-op scope counts as active). Not notified.
   */
  properties[PROP_ACTIVE] =
    g_param_spec_boolean ("active", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_manager_init (TetherManager *self)
{
  self->state = MANAGER_IDLE;
}

/**
 * tether_manager_new:
 * @context: (nullable): the context to manage, or %NULL for the calling
 *   thread's thread-default context
 * @flags: flags such as %TETHER_MANAGER_EXIST_OK
 *
 * Creates a manager for @context. Nothing is acquired until
 * [method@Tether.Manager.acquire]. The manager holds a reference on
 * @context. Callable from any thread.
 *
 * Returns: (transfer full): a new #TetherManager
 */
TetherManager *
tether_manager_new (GMainContext       *context,
                    TetherManagerFlags  flags)
{
  return g_object_new (TETHER_TYPE_MANAGER,
                       "context", context,
                       "flags", flags,
                       NULL);
}

/**
 * tether_manager_get_context:
 * @self: a #TetherManager
 *
 * Gets the context the manager scopes. Callable from any thread.
 *
 * Returns: (transfer none): the context, valid while @self is (the manager
 *   holds a reference on it); from a thread other than the one running the
 *   scope, use it as an identity only: never iterate or push it there
 */
GMainContext *
tether_manager_get_context (TetherManager *self)
{
  g_return_val_if_fail (TETHER_IS_MANAGER (self), NULL);

  return self->context;
}

/**
 * tether_manager_get_flags:
 * @self: a #TetherManager
 *
 * Gets the manager's flags. Callable from any thread.
 *
 * Returns: the flags
 */
TetherManagerFlags
tether_manager_get_flags (TetherManager *self)
{
  g_return_val_if_fail (TETHER_IS_MANAGER (self), TETHER_MANAGER_NONE);

  return self->flags;
}

/**
 * tether_manager_get_exist_ok:
 * @self: a #TetherManager
 *
 * Whether @self has %TETHER_MANAGER_EXIST_OK. Callable from any thread.
 *
 * Returns: %TRUE if the manager nests as a no-op scope under another
 */
gboolean
tether_manager_get_exist_ok (TetherManager *self)
{
  g_return_val_if_fail (TETHER_IS_MANAGER (self), FALSE);

  return (self->flags & TETHER_MANAGER_EXIST_OK) != 0;
}

/**
 * tether_manager_is_active:
 * @self: a #TetherManager
 *
 * Whether @self has acquired and not yet released (a no-op scope included).
 * Callable from any thread.
 *
 * Returns: %TRUE if the manager is active
 */
gboolean
tether_manager_is_active (TetherManager *self)
{
  ManagerState state;

  g_return_val_if_fail (TETHER_IS_MANAGER (self), FALSE);

  state = _tether_manager_get_state (self);

  return state == MANAGER_ACTIVE || state == MANAGER_NOOP;
}

/**
 * tether_manager_is_noop:
 * @self: a #TetherManager
 *
 * Whether @self entered as a no-op scope because its context already had an
 * active manager and it has %TETHER_MANAGER_EXIST_OK. Callable from any
 * thread.
 *
 * Returns: %TRUE for an active no-op scope
 */
gboolean
tether_manager_is_noop (TetherManager *self)
{
  g_return_val_if_fail (TETHER_IS_MANAGER (self), FALSE);

  return _tether_manager_get_state (self) == MANAGER_NOOP;
}

/**
 * tether_manager_acquire:
 * @self: a #TetherManager
 * @error: return location for a #GError
 *
 * Enters the scope: acquires every registered eager template for the
 * manager's context, in registration order (Pyot's `__aenter__`; see
 * [method@Tether.Template.set_eager]). On-demand templates are acquired on
 * first use inside the scope; either kind is released when it ends.
 *
 * Fails with %TETHER_ERROR_WRONG_CONTEXT if the calling thread's
 * thread-default context is not the manager's, and with
 * %TETHER_ERROR_ALREADY_MANAGED if the context has an active manager and
 * @self lacks %TETHER_MANAGER_EXIST_OK (with it, @self becomes a no-op scope
 * and this returns %TRUE). If a template fails, exactly what this call
 * acquired (the acquires it started, not ones it joined) is released in
 * reverse order, the context is left unmanaged, and the template's error is
 * returned.
 *
 * Providers run on this thread, with the context as thread-default. Calling
 * this on a manager that is already active is a programmer error.
 *
 * Returns: %TRUE if the scope was entered
 */
gboolean
tether_manager_acquire (TetherManager  *self,
                        GError        **error)
{
  gboolean noop = FALSE;

  g_return_val_if_fail (TETHER_IS_MANAGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (_tether_manager_get_state (self) == MANAGER_IDLE, FALSE);

  if (!_tether_scope_check_context (self->context, "acquire", error))
    return FALSE;

  _tether_manager_set_state (self, MANAGER_ACQUIRING);

  if (!_tether_scope_acquire_sync (self->context, self,
                                   (self->flags & TETHER_MANAGER_EXIST_OK) != 0,
                                   &noop, error))
    {
      _tether_manager_set_state (self, MANAGER_IDLE);
      return FALSE;
    }

  _tether_manager_set_state (self, noop ? MANAGER_NOOP : MANAGER_ACTIVE);

  return TRUE;
}

/**
 * tether_manager_release:
 * @self: a #TetherManager
 *
 * Leaves the scope: releases, gracefully, everything held for the manager's
 * context, most recently acquired first, including templates registered or
 * first acquired after the manager entered (Pyot's `__aexit__`). Providers'
 * `release` run on this thread with the context as thread-default. A no-op
 * scope releases nothing.
 *
 * Must be called from a thread whose thread-default context is the
 * manager's, on an active manager; anything else is a programmer error that
 * logs a critical and releases nothing. A released manager can acquire
 * again.
 */
void
tether_manager_release (TetherManager *self)
{
  ManagerState state;

  g_return_if_fail (TETHER_IS_MANAGER (self));

  state = _tether_manager_get_state (self);
  if (state != MANAGER_ACTIVE && state != MANAGER_NOOP)
    {
      g_critical ("tether_manager_release: manager %p for context %p is not active "
                  "(released twice, or never acquired)", self, self->context);
      return;
    }

  if (!_tether_scope_check_context (self->context, "release", NULL))
    {
      g_critical ("tether_manager_release: manager %p for context %p released from a "
                  "thread whose thread-default context is another; nothing released",
                  self, self->context);
      return;
    }

  _tether_manager_set_state (self, MANAGER_IDLE);

  if (state == MANAGER_ACTIVE)
    _tether_release_all (self->context, self);
}
