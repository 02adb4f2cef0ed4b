/* tether-manager.c: the scope that acquires and releases everything for
 * one GMainContext: its claim on the context, the synchronous enter (a loop
 * over the acquire path), the asynchronous enter, the rollback, the
 * release, and running a function inside a scope
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-flight-private.h"
#include "tether-janitor-private.h"
#include "tether-lock-private.h"
#include "tether-template-private.h"

typedef enum
{
  MANAGER_IDLE,       /* created, or released */
  MANAGER_ACQUIRING,  /* an acquire (sync or async) is under way */
  MANAGER_ACTIVE,     /* owns its context's scope */
  MANAGER_NOOP,       /* entered with EXIST_OK under another manager */
} ManagerState;

struct _TetherManager
{
  GObject             parent_instance;

  /* Read-only after construction */
  GMainContext       *context;      /* owned */
  TetherManagerFlags  flags;

  /* Changed only from the manager's context (see the thread rules below);
   * read atomically by other threads */
  gint                state;        /* ManagerState */
};

static inline ManagerState
manager_get_state (TetherManager *self)
{
  return g_atomic_int_get (&self->state);
}

static inline void
manager_set_state (TetherManager *self,
                   ManagerState   state)
{
  g_atomic_int_set (&self->state, state);
}

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

  if (manager_get_state (self) == MANAGER_ACTIVE)
    {
      manager_set_state (self, MANAGER_IDLE);
      _tether_template_release_context (self->context, NULL, self);
    }
  else if (manager_get_state (self) == MANAGER_NOOP)
    manager_set_state (self, MANAGER_IDLE);

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

/* ------------------------------------------------------------------------ */
/* The claim on the context                                                 */
/* ------------------------------------------------------------------------ */

/* Whether the calling thread's thread-default context is @context; if not,
 * @error names both and says how to fix it (@what: "acquire", "release"). */
static gboolean
scope_check_context (GMainContext  *context,
                     const char    *what,
                     GError       **error)
{
  GMainContext *current = _tether_context_resolve (NULL);

  if (current != context)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT,
                   "Cannot %s a TetherManager for context %p from a thread whose "
                   "thread-default context is %p; push the manager's context with "
                   "g_main_context_push_thread_default() first",
                   what, context, current);
      return FALSE;
    }

  /* A pushed context is owned by the thread that pushed it; the global
   * default, which a thread with no context of its own resolves NULL to,
   * may be owned by another thread that iterates it (a GTask worker while
   * the main thread runs its GMainLoop): that thread's resources are not
   * this one's to make or release. */
  if (!g_main_context_acquire (context))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT,
                   "Cannot %s a TetherManager for context %p: another thread owns it "
                   "(it is iterating it). %s",
                   what, context,
                   context == g_main_context_default ()
                     ? "This thread has no thread-default context of its own, so it means "
                       "the global default context; give it one "
                       "(g_main_context_push_thread_default (g_main_context_new ())) or run "
                       "the work with tether_run_in_new_context()"
                     : "Enter the manager on the thread that iterates the context");
      return FALSE;
    }
  g_main_context_release (context);

  return TRUE;
}

/* Another manager, @other, is active on @context: a no-op scope with
 * @exist_ok (TRUE, *@out_noop set), else FALSE with @error set. */
static gboolean
scope_refuse (GMainContext   *context,
              TetherManager  *other,
              gboolean        exist_ok,
              gboolean       *out_noop,
              GError        **error)
{
  if (exist_ok)
    {
      *out_noop = TRUE;
      return TRUE;
    }

  /* Two pool workers without a context of their own both land on the
   * global default context: EXIST_OK is then the wrong fix. */
  if (context == g_main_context_default () &&
      g_main_context_get_thread_default () == NULL)
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_MANAGED,
                 "Context %p, the global default context, already has an active "
                 "TetherManager (%p): this thread has no thread-default context of its "
                 "own, so its manager shares the global default with every such thread. "
                 "Give the thread a context of its own "
                 "(g_main_context_push_thread_default (g_main_context_new ())) or run "
                 "the work with tether_run_in_new_context(); use "
                 "TETHER_MANAGER_EXIST_OK only to nest a scope on purpose",
                 context, other);
  else
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_MANAGED,
                 "Context %p already has an active TetherManager (%p); "
                 "use TETHER_MANAGER_EXIST_OK to nest a no-op scope",
                 context, other);
  return FALSE;
}

/* Claims @self's context. On success, *@out_templates is the snapshot of
 * the eager templates to acquire, or NULL for a no-op scope (another
 * manager is active, and @self has EXIST_OK). */
static gboolean
scope_enter (TetherManager         *self,
             GPtrArray            **out_templates,
             TetherContextRecord  **out_record,
             GError               **error)
{
  TetherContextRecord *record;
  TetherManager *other;
  gboolean first;
  gboolean noop = FALSE;

  *out_templates = NULL;

  TETHER_STATE_LOCK ();
  record = _tether_janitor_watch_locked (self->context, &first);
  if (out_record != NULL)
    *out_record = record;
  other = _tether_context_record_claim_locked (record, self);
  if (other == NULL)
    *out_templates = _tether_template_dup_eager_locked ();
  TETHER_STATE_UNLOCK ();

  if (first)
    _tether_trace_context_event ("context-first-served", self->context, NULL);
  if (other != NULL)
    return scope_refuse (self->context, other, (self->flags & TETHER_MANAGER_EXIST_OK) != 0,
                         &noop, error);

  _tether_trace_context_event ("manager-enter", self->context, self);
  return TRUE;
}

/* Releases what the templates in @produced hold for @self's context, most
 * recently produced first, and leaves the scope in the same hold. */
static void
scope_roll_back (TetherManager *self,
                 GPtrArray     *produced)
{
  _tether_template_release_context (self->context, produced, self);
}

/* The synchronous enter: acquires every eager template in registration
 * order through the acquire path, in a frame that notes what it produced
 * (its providers may acquire later templates of it out of order). If one
 * fails, exactly what the enter produced is released, most recently
 * produced first, the scope is left, and FALSE is returned with @error
 * prefixed by the template's name. */
static gboolean
scope_acquire_sync (TetherManager  *self,
                    gboolean       *out_noop,
                    GError        **error)
{
  g_autoptr(GPtrArray) templates = NULL;
  TetherContextRecord *record;
  TetherEnterFrame frame;
  TetherContextSpan span;
  GPtrArray *failed_produced = NULL;

  *out_noop = FALSE;

  if (!scope_enter (self, &templates, &record, error))
    return FALSE;
  if (templates == NULL)
    {
      *out_noop = TRUE;
      return TRUE;
    }

  _tether_flight_enter_frame_push (&frame, self->context, record, templates->len);
  /* Entered once for every provider call of the enter (a no-op when the
   * manager's context is this thread's pushed thread-default, as a rule). */
  _tether_context_enter (self->context, &span);

  for (guint i = 0; i < templates->len; i++)
    {
      TetherTemplate *template = g_ptr_array_index (templates, i);
      const GError *failed = _tether_flight_enter_frame_failure (&frame, template);
      GError *local_error = NULL;

      /* A provider of this enter asked for it out of order, and it failed:
       * an enter acquires each template once. */
      if (failed != NULL)
        local_error = g_error_copy (failed);
      else if (_tether_flight_acquire (template, self->context, &local_error) != NULL)
        continue;

      _tether_flight_prefix_error (&local_error, template, self->context);
      g_propagate_error (error, local_error);
      failed_produced = g_ptr_array_ref (frame.produced);
      break;
    }

  _tether_context_leave (self->context, &span);
  _tether_flight_enter_frame_pop (&frame);

  if (failed_produced == NULL)
    return TRUE;

  scope_roll_back (self, failed_produced);
  g_ptr_array_unref (failed_produced);
  return FALSE;
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
  TetherManager *self;

  /* The fields directly: construct properties cost a GValue each, and a
   * job makes a manager per scope. Bindings' g_object_new() sets the same
   * fields through the properties. */
  self = g_object_new (TETHER_TYPE_MANAGER, NULL);
  if (context != NULL)
    {
      g_main_context_unref (self->context);
      self->context = g_main_context_ref (context);
    }
  self->flags = flags;

  return self;
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

  state = manager_get_state (self);

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

  return manager_get_state (self) == MANAGER_NOOP;
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
 * thread-default context is not the manager's, or if another thread owns
 * the context (a thread with no thread-default context of its own means
 * the global default, which the main thread owns while it runs a
 * #GMainLoop), and with
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
  g_return_val_if_fail (manager_get_state (self) == MANAGER_IDLE, FALSE);

  if (!scope_check_context (self->context, "acquire", error))
    return FALSE;

  manager_set_state (self, MANAGER_ACQUIRING);

  if (!scope_acquire_sync (self, &noop, error))
    {
      manager_set_state (self, MANAGER_IDLE);
      return FALSE;
    }

  manager_set_state (self, noop ? MANAGER_NOOP : MANAGER_ACTIVE);

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
 * When called outside any dispatch (g_main_depth() is 0), it then
 * dispatches, without waiting or polling, what is ready in the context: what the
 * releases queued there (a #GDBusConnection's closing, a #GTask's
 * completion) runs and lets go of the context, which may be about to be
 * dropped; at most 100 iterations or 50 ms. Work that waits for I/O or a
 * timer is not waited for. Inside a dispatch, the main loop running it
 * dispatches that work itself.
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

  state = manager_get_state (self);
  if (state != MANAGER_ACTIVE && state != MANAGER_NOOP)
    {
      g_critical ("tether_manager_release: manager %p for context %p is not active "
                  "(released twice, or never acquired)", self, self->context);
      return;
    }

  if (!scope_check_context (self->context, "release", NULL))
    {
      g_critical ("tether_manager_release: manager %p for context %p released from a "
                  "thread whose thread-default context is another; nothing released",
                  self, self->context);
      return;
    }

  manager_set_state (self, MANAGER_IDLE);

  if (state == MANAGER_ACTIVE)
    {
      _tether_template_release_context (self->context, NULL, self);
      /* Outside any dispatch, nothing else may iterate the context again
       * (it may be about to be dropped): what the releases queued there
       * runs now. Inside one, the loop running it will. */
      if (g_main_depth () == 0)
        _tether_context_drain (self->context);
    }
}

/* ------------------------------------------------------------------------ */
/* The asynchronous enter, one eager template after the other               */
/* ------------------------------------------------------------------------ */

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

  scope_roll_back (self, ad->acquired);
  manager_set_state (self, MANAGER_IDLE);

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
      manager_set_state (self, MANAGER_ACTIVE);
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
  g_return_if_fail (manager_get_state (self) == MANAGER_IDLE);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_manager_acquire_async);
  g_task_set_name (task, "[tether] tether_manager_acquire_async");
  /* The outcome decides: TRUE only with the scope entered, CANCELLED only
   * with it rolled back and left (GTask's own check could report a cancel
   * after the scope was entered). */
  g_task_set_check_cancellable (task, FALSE);

  if (!scope_check_context (self->context, "acquire", &error) ||
      !scope_enter (self, &templates, NULL, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  if (templates == NULL)
    {
      manager_set_state (self, MANAGER_NOOP);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  manager_set_state (self, MANAGER_ACQUIRING);

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

/* ------------------------------------------------------------------------ */
/* Running a function inside a scope                                        */
/* ------------------------------------------------------------------------ */

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
 * context; every eager template is acquired for it (on-demand ones when
 * @func first uses them); @func runs; then, whether @func succeeded or not,
 * everything held for the context is released gracefully in reverse order,
 * what is ready in the context is dispatched (what the releases and @func
 * left there, such as a #GDBusConnection's closing, so that it lets go of
 * the context; at most 100 iterations or 50 ms, without polling or waiting for I/O or
 * timers), and the context is popped and unreffed. If resources cannot be
 * acquired, @func is not called and the error is returned.
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

  /* The context is this call's alone, and about to go: what the releases
   * (and @func) left ready in it runs now, even inside a dispatch of
   * another context, so that it lets go of the context. */
  _tether_context_drain (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  return ret;
}
