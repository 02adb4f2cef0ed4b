/* tether-template.c: the TetherTemplate GObject, one resource per
 * GMainContext: its construction, properties and registration (acquiring
 * and releasing are in tether-template-acquire.c)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-registry-private.h"
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
/* GObject                                                                  */
/* ------------------------------------------------------------------------ */

static void
tether_template_finalize (GObject *object)
{
  TetherTemplate *self = (TetherTemplate *)object;

  TETHER_STATE_LOCK ();
  _tether_registry_forget_locked (self);
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
   * TETHER_ERROR_NO_ACQUIRE (see tether-flight.c). */
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
  TetherTemplate *self;
  gboolean taken;

  g_private_set (&constructing_validated, GINT_TO_POINTER (1));
  self = g_object_new (TETHER_TYPE_TEMPLATE, NULL);
  g_private_set (&constructing_validated, NULL);
  _tether_provider_call_init (&self->call, copy, provider_data, provider_data_destroy);

  TETHER_STATE_LOCK ();
  taken = _tether_registry_has_name_locked (self->call.name);
  if (!taken)
    _tether_registry_add_locked (self, eager);
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
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  return _tether_registry_is_registered (self);
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
  g_return_if_fail (TETHER_IS_TEMPLATE (self));

  if (_tether_registry_set_eager (self, eager))
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
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  return _tether_registry_get_eager (self);
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
  gboolean was_registered;
  gboolean handed_over = FALSE;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  TETHER_STATE_LOCK ();
  was_registered = _tether_registry_unregister_locked (self);
  /* Its entries held no reference while it was registered: they take
   * theirs now, and a release under way may still need the list's. */
  if (was_registered)
    handed_over = _tether_entry_table_unregistered_locked (self);
  TETHER_STATE_UNLOCK ();

  /* The list's reference, dropped after the unlock: if it is the last one,
   * finalize takes the state lock. */
  if (was_registered && !handed_over)
    g_object_unref (self);

  return was_registered;
}
