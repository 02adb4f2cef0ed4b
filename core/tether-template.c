/* tether-template.c: the TetherTemplate GObject, one resource per
 * GMainContext: construction, registration, the public acquire, lookup,
 * release and purge (from the lock-free hit path down to the flight), and
 * its counters
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-flight-private.h"
#include "tether-janitor-private.h"
#include "tether-template-private.h"

/**
 * TetherTemplate:
 *
 * Keeps at most one resource per [struct@GLib.MainContext], made and freed
 * by a [struct@Tether.Provider] (Pyot's `ResourceTemplate`).
 *
 * The first [method@Tether.Template.acquire] for a context calls the
 * provider; later ones return the same resource, from a per-thread cache
 * that takes no lock. Racing first acquires for one context share a single
 * provider call ("single flight"); a failure reaches every caller and
 * nothing is cached, so the next acquire tries again. Acquires for different
 * contexts never wait for each other.
 *
 * A resource is released gracefully by [method@Tether.Template.release] or
 * by the [class@Tether.Manager] of its context. When its context is
 * finalized first, tether notices (a sentinel source attached to the
 * context), takes the resource off its tables at once and releases it
 * ungracefully from the janitor context or [func@Tether.purge].
 *
 * Creating a template registers it in the global list that managers acquire
 * from, in order; [method@Tether.Template.unregister] takes it out. A
 * template stays alive while it holds resources.
 *
 * ```c
 * static gpointer
 * client_acquire (GMainContext *context, gpointer provider_data, GError **error)
 * {
 *   return g_socket_client_new ();   // one per context
 * }
 *
 * static void
 * client_release (gpointer resource, GMainContext *context, gboolean graceful,
 *                 gpointer provider_data)
 * {
 *   g_object_unref (resource);
 * }
 *
 * static const TetherProvider client_provider = {
 *   .abi_version = TETHER_PROVIDER_ABI_VERSION,
 *   .struct_size = sizeof (TetherProvider),
 *   .name = "socket-client",
 *   .acquire = client_acquire,
 *   .release = client_release,
 * };
 *
 * // Once, at start-up:
 * TetherTemplate *clients = tether_template_new (&client_provider, NULL);
 *
 * // On a worker, with its context pushed as thread-default:
 * GSocketClient *client = tether_template_acquire (clients, NULL, &error);
 *
 * // At shut-down:
 * tether_template_unregister (clients);
 * g_object_unref (clients);
 * ```
 *
 * ## Making a template
 *
 * A template comes from one of its constructors: [ctor@Tether.Template.new]
 * or [ctor@Tether.Template.new_full] for a [struct@Tether.Provider] vtable,
 * [ctor@Tether.Template.new_for_object] (or, in language bindings,
 * [ctor@Tether.Template.new_for_object_with_closures]) for GObject
 * resources, or [func@Tether.load_provider] for a provider module. Do not
 * make one with g_object_new() (or `Tether.Template()` in Python): such a
 * template has no provider and cannot acquire anything.
 *
 * ## Thread rules
 *
 * Every method may be called from any thread. A resource returned by an
 * acquire is borrowed: it stays valid until it is released for its context
 * (by the caller's own scope, or by the death of the context). Releasing a
 * context's resources while another thread still uses them is the caller's
 * error, as for any borrowed pointer; what tether guarantees is that no
 * acquire that starts after a release has returned yields the released
 * resource.
 */

G_DEFINE_FINAL_TYPE (TetherTemplate, tether_template, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_NAME,
  PROP_DESCRIPTION,
  PROP_REGISTERED,
  PROP_EAGER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Set around the g_object_new() of _tether_template_new_validated(): any
 * other construction is a bare g_object_new(), which gets an inert
 * template. */
static GPrivate constructing_validated;

/* ------------------------------------------------------------------------ */
/* The template lists                                                       */
/* ------------------------------------------------------------------------ */

/* Protected by the state lock; both made with the first template. */
static GPtrArray *registered_templates;  /* owned references, registration order */
static GPtrArray *all_templates;         /* every live template, no references */
/* The registered eager templates, with references, shared by every enter
 * until the lists change (a GPtrArray is reference-counted, and nobody
 * changes a snapshot): an enter costs one reference, not one per
 * template. NULL when stale. */
static GPtrArray *eager_snapshot;

/* The lists changed: returns the stale snapshot, for the caller to unref
 * after unlocking (its last reference drops template references). */
static GPtrArray *
registry_changed_locked (void)
{
  return g_steal_pointer (&eager_snapshot);
}

static void
registry_add_locked (TetherTemplate *self,
                     gboolean        eager)
{
  if (registered_templates == NULL)
    {
      registered_templates = g_ptr_array_new ();
      all_templates = g_ptr_array_new ();
    }
  g_ptr_array_add (all_templates, self);
  g_ptr_array_add (registered_templates, g_object_ref (self));
  self->registered = TRUE;
  self->eager = eager != FALSE;
}

/* Names are unique among registered templates; an unregistered one's name
 * is free again. */
static TetherTemplate *
registry_find_locked (const char *name)
{
  for (guint i = 0; registered_templates != NULL && i < registered_templates->len; i++)
    {
      TetherTemplate *other = g_ptr_array_index (registered_templates, i);

      if (g_strcmp0 (other->call.name, name) == 0)
        return other;
    }
  return NULL;
}

GPtrArray *
_tether_template_dup_eager_locked (void)
{
  if (eager_snapshot == NULL)
    {
      eager_snapshot = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; registered_templates != NULL && i < registered_templates->len; i++)
        {
          TetherTemplate *template = g_ptr_array_index (registered_templates, i);

          if (template->eager)
            g_ptr_array_add (eager_snapshot, g_object_ref (template));
        }
    }

  return g_ptr_array_ref (eager_snapshot);
}

void
_tether_template_forget_all_locked (void)
{
  for (guint i = 0; all_templates != NULL && i < all_templates->len; i++)
    _tether_entry_table_forget_locked (g_ptr_array_index (all_templates, i));
}

/**
 * tether_find_template:
 * @name: a provider name
 *
 * Finds the registered template whose provider is named @name (names are
 * unique among registered templates). Callable from any thread.
 *
 * Returns: (transfer full) (nullable): the template, or %NULL if no
 *   registered template has that name
 *
 * Since: 0.2
 */
TetherTemplate *
tether_find_template (const char *name)
{
  TetherTemplate *template;

  g_return_val_if_fail (name != NULL, NULL);

  TETHER_STATE_LOCK ();
  template = registry_find_locked (name);
  if (template != NULL)
    g_object_ref (template);
  TETHER_STATE_UNLOCK ();

  return template;
}

/**
 * tether_dup_templates:
 *
 * Lists the registered templates in registration order (Pyot's
 * `resource_templates`). The list is a snapshot. Callable from any thread.
 *
 * Returns: (transfer container) (element-type TetherTemplate): a new array
 *   holding a reference on each template; free it with g_ptr_array_unref()
 */
GPtrArray *
tether_dup_templates (void)
{
  GPtrArray *templates = g_ptr_array_new_with_free_func (g_object_unref);

  TETHER_STATE_LOCK ();
  for (guint i = 0; registered_templates != NULL && i < registered_templates->len; i++)
    g_ptr_array_add (templates, g_object_ref (g_ptr_array_index (registered_templates, i)));
  TETHER_STATE_UNLOCK ();

  return templates;
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */
/* ------------------------------------------------------------------------ */

static void
tether_template_finalize (GObject *object)
{
  TetherTemplate *self = (TetherTemplate *)object;

  TETHER_STATE_LOCK ();
  g_ptr_array_remove_fast (all_templates, self);
  TETHER_STATE_UNLOCK ();

  _tether_entry_table_clear (&self->table);
  _tether_provider_call_clear (&self->call);

  G_OBJECT_CLASS (tether_template_parent_class)->finalize (object);
}

static void
tether_template_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TetherTemplate *self = TETHER_TEMPLATE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->call.name);
      break;

    case PROP_DESCRIPTION:
      g_value_set_string (value, self->call.description);
      break;

    case PROP_REGISTERED:
      g_value_set_boolean (value, tether_template_is_registered (self));
      break;

    case PROP_EAGER:
      g_value_set_boolean (value, tether_template_get_eager (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_template_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TetherTemplate *self = TETHER_TEMPLATE (object);

  switch (prop_id)
    {
    case PROP_EAGER:
      tether_template_set_eager (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_template_constructed (GObject *object)
{
  G_OBJECT_CLASS (tether_template_parent_class)->constructed (object);

  /* Inert: no provider, never registered; every acquire fails with
   * TETHER_ERROR_NO_ACQUIRE (tether-flight.c). */
  if (g_private_get (&constructing_validated) == NULL)
    g_critical ("A TetherTemplate was made with g_object_new(): it has no provider and "
                "will never acquire anything. Make templates with tether_template_new(), "
                "tether_template_new_for_object() or tether_load_provider()");
}

static void
tether_template_class_init (TetherTemplateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tether_template_constructed;
  object_class->finalize = tether_template_finalize;
  object_class->get_property = tether_template_get_property;
  object_class->set_property = tether_template_set_property;

  /**
   * TetherTemplate:name:
   *
   * The provider's name.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * TetherTemplate:description:
   *
   * The provider's description, if it has one.
   */
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * TetherTemplate:registered:
   *
   * Whether the template is in the global list that managers acquire from.
   * Not notified: read it with [method@Tether.Template.is_registered].
   */
  properties[PROP_REGISTERED] =
    g_param_spec_boolean ("registered", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * TetherTemplate:eager:
   *
   * Whether a [class@Tether.Manager] acquires the template when it enters
   * its scope (eager), or only when something acquires it inside the scope
   * (on demand). See [method@Tether.Template.set_eager].
   *
   * Since: 0.2
   */
  properties[PROP_EAGER] =
    g_param_spec_boolean ("eager", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_template_init (TetherTemplate *self)
{
  _tether_entry_table_init (&self->table);
}

/* ------------------------------------------------------------------------ */
/* Construction and properties                                              */
/* ------------------------------------------------------------------------ */

/* Makes and registers a template for a validated provider copy, unless a
 * registered template has the same name (checked and registered under one
 * hold of the state lock, so two racing constructors cannot both win). On
 * failure the provider data is destroyed as the finalized template would
 * have destroyed it. */
TetherTemplate *
_tether_template_new_validated (const TetherProvider  *copy,
                                gpointer               provider_data,
                                GDestroyNotify         provider_data_destroy,
                                gboolean               eager,
                                GError               **error)
{
  g_autoptr(GPtrArray) stale = NULL;
  TetherTemplate *self;
  gboolean taken;

  g_private_set (&constructing_validated, GINT_TO_POINTER (1));
  self = g_object_new (TETHER_TYPE_TEMPLATE, NULL);
  g_private_set (&constructing_validated, NULL);
  _tether_provider_call_init (&self->call, copy, provider_data, provider_data_destroy);

  TETHER_STATE_LOCK ();
  taken = registry_find_locked (self->call.name) != NULL;
  if (!taken)
    {
      registry_add_locked (self, eager);
      stale = registry_changed_locked ();
    }
  TETHER_STATE_UNLOCK ();

  if (taken)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_DUPLICATE_NAME,
                   "A template named '%s' is already registered; unregister it first "
                   "(tether_template_unregister()) or give this one another name",
                   copy->name);
      g_object_unref (self);
      return NULL;
    }

  return self;
}

/**
 * tether_template_new:
 * @provider: the provider's vtable; copied, so it need not outlive the call
 * @provider_data: (nullable): passed to every provider function
 *
 * Creates a template for @provider and registers it at the end of the global
 * template list, like Pyot's `ResourceTemplate` constructor. Managers acquire
 * registered templates in registration order.
 *
 * @provider must be valid: the right ABI major version, a `struct_size` no
 * smaller than %TETHER_PROVIDER_MIN_STRUCT_SIZE, a valid name, and `acquire`
 * or the `acquire_async`/`acquire_finish` pair. An invalid provider is a
 * programmer error (a critical is logged and %NULL returned);
 * `tether_load_provider()` reports the same problems as #GError for modules.
 *
 * Names are unique among registered templates: if a registered template
 * has @provider's name, that is a programmer error too (a critical naming
 * it, and %NULL). The template is eager: a [class@Tether.Manager] acquires
 * it when it enters its scope (see [method@Tether.Template.set_eager]).
 *
 * The global list holds a reference until [method@Tether.Template.unregister];
 * the one returned is the caller's. @provider's `init` hook is not called.
 *
 * Callable from any thread.
 *
 * Returns: (transfer full) (nullable): a new registered template, or %NULL
 *   if @provider is invalid
 */
TetherTemplate *
tether_template_new (const TetherProvider *provider,
                     gpointer              provider_data)
{
  return tether_template_new_full (provider, provider_data, NULL);
}

/**
 * tether_template_new_full:
 * @provider: the provider's vtable; copied, so it need not outlive the call
 * @provider_data: (nullable): passed to every provider function
 * @provider_data_destroy: (nullable): frees @provider_data when the template
 *   is finalized
 *
 * Like [ctor@Tether.Template.new], and takes ownership of @provider_data.
 * The template is finalized, and @provider_data_destroy called, on whichever
 * thread drops the last reference, once it is unregistered and holds no
 * resource.
 *
 * Returns: (transfer full) (nullable): a new registered template, or %NULL
 *   if @provider is invalid
 */
TetherTemplate *
tether_template_new_full (const TetherProvider *provider,
                          gpointer              provider_data,
                          GDestroyNotify        provider_data_destroy)
{
  g_autoptr(GError) error = NULL;
  TetherTemplate *self;
  TetherProvider copy;

  g_return_val_if_fail (provider != NULL, NULL);

  if (!_tether_provider_validate (provider, &copy, &error))
    {
      g_critical ("tether_template_new: invalid provider: %s", error->message);
      return NULL;
    }

  self = _tether_template_new_validated (&copy, provider_data, provider_data_destroy, TRUE, &error);
  if (self == NULL)
    g_critical ("tether_template_new: %s", error->message);

  return self;
}

/**
 * tether_template_get_name:
 * @self: a #TetherTemplate
 *
 * Gets the name of the template's provider. Callable from any thread.
 *
 * Returns: (transfer none): the name
 */
const char *
tether_template_get_name (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  return self->call.name;
}

/**
 * tether_template_get_description:
 * @self: a #TetherTemplate
 *
 * Gets the description of the template's provider. Callable from any thread.
 *
 * Returns: (transfer none) (nullable): the description
 */
const char *
tether_template_get_description (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  return self->call.description;
}

/**
 * tether_template_get_provider_data:
 * @self: a #TetherTemplate
 *
 * Gets the data given to the provider's functions. Callable from any thread.
 *
 * Returns: (transfer none) (nullable): the provider data
 */
gpointer
tether_template_get_provider_data (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  return self->call.data;
}

/**
 * tether_template_is_registered:
 * @self: a #TetherTemplate
 *
 * Whether @self is in the global template list. Callable from any thread.
 *
 * Returns: %TRUE until [method@Tether.Template.unregister] is called
 */
gboolean
tether_template_is_registered (TetherTemplate *self)
{
  gboolean registered;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  TETHER_STATE_LOCK ();
  registered = self->registered;
  TETHER_STATE_UNLOCK ();

  return registered;
}

/**
 * tether_template_set_eager:
 * @self: a #TetherTemplate
 * @eager: whether managers acquire @self when they enter their scope
 *
 * Chooses when a [class@Tether.Manager] acquires @self. An eager template
 * is acquired by [method@Tether.Manager.acquire] when the scope is entered,
 * in registration order with the other eager ones, and a failure fails the
 * scope. An on-demand template is acquired the first time something
 * acquires it inside the scope (a provider, the scope's own code). Either
 * way the scope releases it when it ends.
 *
 * Templates from [ctor@Tether.Template.new] and the object constructors are
 * eager (Pyot's behaviour); templates loaded from provider modules are on
 * demand unless their configuration group says `eager=true`, so that a
 * program loading every installed provider pays only for what each scope
 * uses. Managers that have already entered are not affected.
 *
 * Callable from any thread.
 *
 * Since: 0.2
 */
void
tether_template_set_eager (TetherTemplate *self,
                           gboolean        eager)
{
  g_autoptr(GPtrArray) stale = NULL;
  gboolean changed;

  g_return_if_fail (TETHER_IS_TEMPLATE (self));

  eager = eager != FALSE;
  TETHER_STATE_LOCK ();
  changed = self->eager != (guint) eager;
  self->eager = eager;
  if (changed)
    stale = registry_changed_locked ();
  TETHER_STATE_UNLOCK ();

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EAGER]);
}

/**
 * tether_template_get_eager:
 * @self: a #TetherTemplate
 *
 * Whether managers acquire @self when they enter their scope. Callable from
 * any thread.
 *
 * Returns: %TRUE for an eager template, %FALSE for an on-demand one
 *
 * Since: 0.2
 */
gboolean
tether_template_get_eager (TetherTemplate *self)
{
  gboolean eager;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  TETHER_STATE_LOCK ();
  eager = self->eager;
  TETHER_STATE_UNLOCK ();

  return eager;
}

/**
 * tether_template_unregister:
 * @self: a #TetherTemplate
 *
 * Takes @self out of the global template list: managers that enter after
 * this no longer acquire it. Resources it holds stay held, and can still be
 * released by [method@Tether.Template.release], by a manager's release or
 * by a purge; @self can still be acquired directly.
 *
 * Drops the global list's reference. Callable from any thread.
 *
 * Returns: %TRUE if @self was registered, %FALSE if it already was not
 */
gboolean
tether_template_unregister (TetherTemplate *self)
{
  g_autoptr(GPtrArray) stale = NULL;
  gboolean was_registered;
  gboolean handed_over = FALSE;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  TETHER_STATE_LOCK ();
  was_registered = self->registered;
  if (was_registered)
    {
      self->registered = FALSE;
      g_ptr_array_remove (registered_templates, self);
      stale = registry_changed_locked ();
      /* Its entries, and resources being released, keep it alive from
       * now on with the registry's reference. */
      handed_over = _tether_entry_table_unregistered_locked (self);
    }
  TETHER_STATE_UNLOCK ();

  /* The references, dropped after the unlock: if one is the last,
   * finalize takes the state lock. */
  g_clear_pointer (&stale, g_ptr_array_unref);
  if (was_registered && !handed_over)
    g_object_unref (self);

  return was_registered;
}

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
  /* g_return_val_if_fail() would name this function: the critical names
   * the public one the caller called. */
  if (G_UNLIKELY (!TETHER_IS_TEMPLATE (self)))
    {
      g_return_if_fail_warning (G_LOG_DOMAIN, "tether_template_acquire",
                                "TETHER_IS_TEMPLATE (self)");
      return FALSE;
    }

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
  if (G_UNLIKELY (error != NULL && *error != NULL))
    {
      g_return_if_fail_warning (G_LOG_DOMAIN, "tether_template_acquire",
                                "error == NULL || *error == NULL");
      return NULL;
    }

  return _tether_flight_acquire (self, _tether_context_resolve (context), error);
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

/* Releases what @taken holds, in its order, then finishes the unwatch,
 * then drops the entries' references. */
static guint
release_taken (TetherTakenList *taken,
               GMainContext    *context,
               GSource         *detach)
{
  TetherContextSpan span;
  guint n = taken->n;
  gint64 clock;

  /* Entered once for all of them, as a manager's enter does: each
   * provider call then finds its context already pushed. */
  _tether_context_enter (context, &span);
  clock = _tether_trace_release_start ();
  for (guint i = 0; i < n; i++)
    clock = _tether_provider_release (&taken->items[i].template->call,
                                      taken->items[i].resource, context, TRUE, clock);
  _tether_context_leave (context, &span);

  _tether_janitor_finish_unwatch (detach);

  /* The entries' references, dropped last: a template may finalize here. */
  _tether_taken_list_clear (taken);

  return n;
}

static gboolean
template_release_one (TetherTemplate  *self,
                      GMainContext    *context,
                      GError         **error)
{
  TetherContextRecord *record;
  TetherTakenList taken;
  TetherEntry *entry;
  GSource *detach;

  TETHER_STATE_LOCK ();
  entry = _tether_entry_lookup_locked (self, context);
  if (entry == NULL || entry->flight != NULL)
    {
      TETHER_STATE_UNLOCK ();
      if (entry != NULL)
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED,
                     "Template '%s' holds nothing yet for context %p: it is still being acquired",
                     self->call.name, context);
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED,
                     "Template '%s' holds nothing for context %p",
                     self->call.name, context);
      return FALSE;
    }

  record = _tether_context_record_lookup_locked (context);
  _tether_taken_list_init (&taken);
  _tether_entry_take_one_locked (record, entry, &taken);
  detach = _tether_janitor_unwatch_if_idle_locked (record);
  TETHER_STATE_UNLOCK ();

  release_taken (&taken, context, detach);

  return TRUE;
}

guint
_tether_template_release_context (GMainContext  *context,
                                  GPtrArray     *only,
                                  TetherManager *manager)
{
  TetherContextRecord *record;
  TetherTakenList taken;
  gboolean left = FALSE;
  GSource *detach;

  /* One hold takes everything off the tables, LIFO by construction (the
   * record's list); providers run after it. */
  _tether_taken_list_init (&taken);
  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  _tether_entry_take_held_locked (record, only, &taken);
  if (manager != NULL)
    left = _tether_context_record_unclaim_locked (record, manager);
  detach = _tether_janitor_unwatch_if_idle_locked (record);
  TETHER_STATE_UNLOCK ();

  if (left)
    _tether_trace_context_event ("manager-leave", context, manager);

  return release_taken (&taken, context, detach);
}

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

  return template_release_one (self, _tether_context_resolve (context), error);
}

/**
 * tether_template_discard:
 * @self: a #TetherTemplate
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 * @resource: the resource to discard, as an acquire returned it
 *
 * Says that @resource, which @self holds for @context, can no longer be
 * used (a connection that closed on its own, a handle that hit a fatal
 * error): if @self still holds exactly @resource for @context, it is taken
 * off at once, so that the next acquire for @context makes a new one, and
 * it is released ungracefully (`graceful == FALSE`, `context == NULL`) by
 * the janitor (see [func@Tether.set_janitor_context]) or by
 * [func@Tether.purge], counted as purged. If @self holds another resource
 * for @context, or none, nothing happens: a late signal about a resource
 * already replaced does not discard its successor.
 *
 * Until the janitor runs, @resource stays alive, and so does whatever it
 * references: a #GDBusConnection keeps its context alive. The janitor runs
 * in the global default context unless one is set, so a program that does
 * not iterate that context calls [func@Tether.purge] (or sets a janitor
 * context) for discarded resources to go.
 *
 * Callable from any thread, from a provider function, and from a signal
 * handler of the resource itself (such as #GDBusConnection::closed): it
 * takes tether's lock briefly and runs no provider code.
 *
 * Returns: %TRUE if @resource was held and is now discarded
 *
 * Since: 0.2
 */
gboolean
tether_template_discard (TetherTemplate *self,
                         GMainContext   *context,
                         gpointer        resource)
{
  TetherContextRecord *record;
  TetherEntry *entry;
  gboolean discarded = FALSE;
  gboolean attach = FALSE;
  GSource *detach = NULL;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);
  g_return_val_if_fail (resource != NULL, FALSE);

  context = _tether_context_resolve (context);

  TETHER_STATE_LOCK ();
  entry = _tether_entry_lookup_locked (self, context);
  if (entry != NULL && entry->flight == NULL && entry->resource == resource)
    {
      record = _tether_context_record_lookup_locked (context);
      attach = _tether_janitor_discard_locked (record, entry);
      detach = _tether_janitor_unwatch_if_idle_locked (record);
      discarded = TRUE;
    }
  TETHER_STATE_UNLOCK ();

  /* The context is alive: the caller names it, or holds it. */
  _tether_janitor_finish_unwatch (detach);
  _tether_janitor_schedule (attach);

  return discarded;
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

/* ------------------------------------------------------------------------ */
/* Counters                                                                 */
/* ------------------------------------------------------------------------ */

G_DEFINE_BOXED_TYPE (TetherTemplateStats, tether_template_stats,
                     tether_template_stats_copy, tether_template_stats_free)

/**
 * tether_template_stats_copy:
 * @stats: a #TetherTemplateStats
 *
 * Copies @stats. Callable from any thread.
 *
 * Returns: (transfer full): a copy of @stats
 *
 * Since: 0.2
 */
TetherTemplateStats *
tether_template_stats_copy (const TetherTemplateStats *stats)
{
  g_return_val_if_fail (stats != NULL, NULL);

  return g_memdup2 (stats, sizeof *stats);
}

/**
 * tether_template_stats_free:
 * @stats: (nullable): a #TetherTemplateStats
 *
 * Frees @stats. Callable from any thread.
 *
 * Since: 0.2
 */
void
tether_template_stats_free (TetherTemplateStats *stats)
{
  g_free (stats);
}

/**
 * tether_template_get_stats:
 * @self: a #TetherTemplate
 *
 * Reads what @self has done since it was created: how many times its
 * provider acquired and failed, how many callers joined an acquire under
 * way, how many resources were released gracefully, ungracefully or
 * purged, how many are held now, and how long the provider's acquires
 * took. See [struct@Tether.TemplateStats] and docs/debugging.md.
 *
 * The counters are kept in the slow paths only: an acquire served from the
 * per-thread cache is not counted and costs nothing more. Reading them takes
 * the state lock once, for @n_held, and never sleeps. Callable from any
 * thread, and from a provider function.
 *
 * Returns: (transfer full): a new snapshot; free it with
 *   tether_template_stats_free()
 *
 * Since: 0.2
 */
TetherTemplateStats *
tether_template_get_stats (TetherTemplate *self)
{
  TetherTemplateStats *stats;
  TetherTraceCounters c;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  stats = g_new0 (TetherTemplateStats, 1);

  /* acquires_done is read first, with acquire (it is written last, with
   * release): every acquire it counts has its time and outcome counted. */
  _tether_trace_counters_read (&self->call.counters, &c);
  stats->acquires = c.acquires;
  stats->acquires_done = c.acquires_done;
  stats->failures = c.failures;
  stats->joins = c.joins;
  stats->graceful_releases = c.graceful_releases;
  stats->ungraceful_releases = c.ungraceful_releases;
  stats->purged = c.purged;
  stats->acquire_time_count = c.acquires_timed;
  stats->acquire_time_total_ns = c.acquire_ns_total;
  stats->acquire_time_max_ns = c.acquire_ns_max;

  TETHER_STATE_LOCK ();
  stats->n_held = _tether_entry_count_held_locked (self);
  TETHER_STATE_UNLOCK ();

  return stats;
}
