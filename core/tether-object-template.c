/* tether-object-template.c: templates whose resources are GObjects made by
 * callables, for language bindings and GObject-based C code
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tether-context-private.h"
#include "tether-provider-private.h"
#include "tether-template-private.h"

/* The provider data of an object template. Read-only after construction;
 * the destroy notifies run when the template is finalized, on whichever
 * thread drops its last reference. */
typedef struct
{
  TetherTemplate          *template;   /* unowned: the op lives as long as it */
  GType                    object_type;
  TetherObjectAcquireFunc  acquire;
  gpointer                 acquire_data;
  GDestroyNotify           acquire_data_destroy;
  TetherObjectReleaseFunc  release;
  gpointer                 release_data;
  GDestroyNotify           release_data_destroy;
} ObjectProvider;

/* Marks a template as an object template; points at its ObjectProvider,
 * which lives exactly as long as the template. */
static GQuark
object_provider_quark (void)
{
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark, g_quark_from_static_string ("tether-object-provider"));

  return (GQuark) quark;
}

static void
object_provider_free (gpointer data)
{
  ObjectProvider *op = data;

  if (op->acquire_data_destroy != NULL)
    op->acquire_data_destroy (op->acquire_data);
  if (op->release_data_destroy != NULL)
    op->release_data_destroy (op->release_data);
  g_free (op);
}

/* One object acquire running on this thread: the innermost of a chain, as
 * an acquire function may acquire other templates. A binding's closure
 * cannot return a GError; tether_template_set_acquire_error() puts one in
 * the frame of the acquire it is called from. */
typedef struct _AcquireFrame AcquireFrame;
struct _AcquireFrame
{
  TetherTemplate *template;
  GError         *error;
  AcquireFrame   *outer;
};

static GPrivate acquire_frames;   /* AcquireFrame *, innermost first */

static gpointer
object_provider_acquire (GMainContext  *context,
                         gpointer       provider_data,
                         GError       **error)
{
  ObjectProvider *op = provider_data;
  GError *local_error = NULL;
  GObject *object;
  AcquireFrame frame = { op->template, NULL, g_private_get (&acquire_frames) };

  g_private_set (&acquire_frames, &frame);
  object = op->acquire (context, op->acquire_data, &local_error);
  g_private_set (&acquire_frames, frame.outer);

  if (frame.error != NULL)
    {
      /* The binding's error says what went wrong; a result returned anyway
       * is dropped. */
      if (object != NULL)
        {
          if (g_object_is_floating (object))
            g_object_ref_sink (object);
          g_object_unref (object);
        }
      g_clear_error (&local_error);
      g_propagate_error (error, frame.error);
      return NULL;
    }

  if (object == NULL || local_error != NULL)
    {
      /* The template reports both broken contracts (nothing and no error,
       * an object and an error) with TETHER_ERROR_INVALID_RESULT. */
      if (object != NULL && g_object_is_floating (object))
        g_object_ref_sink (object);
      if (local_error != NULL)
        g_propagate_error (error, local_error);
      return object;
    }

  if (!G_IS_OBJECT (object) || !g_type_is_a (G_OBJECT_TYPE (object), op->object_type))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT,
                   "Object provider returned a %s where a %s was expected",
                   G_IS_OBJECT (object) ? G_OBJECT_TYPE_NAME (object) : "non-object",
                   g_type_name (op->object_type));
      if (G_IS_OBJECT (object))
        g_object_unref (object);
      return NULL;
    }

  /* The template owns one strong reference on each held object. A
   * floating reference is taken over rather than added to. */
  if (g_object_is_floating (object))
    g_object_ref_sink (object);

  return object;
}

static void
object_provider_release (gpointer      resource,
                         GMainContext *context,
                         gboolean      graceful,
                         gpointer      provider_data)
{
  ObjectProvider *op = provider_data;
  GObject *object = resource;

  if (op->release != NULL)
    op->release (object, context, graceful, op->release_data);

  g_object_unref (object);
}

static ObjectProvider *
get_object_provider (TetherTemplate *self)
{
  return g_object_get_qdata (G_OBJECT (self), object_provider_quark ());
}

/**
 * tether_template_new_for_object:
 * @name: the provider name: ASCII letters, digits, `-`, `_` and `.`,
 *   starting with a letter
 * @description: (nullable): one line saying what the object is
 * @object_type: the type every acquired object is an instance of, a
 *   subtype of %G_TYPE_OBJECT
 * @acquire: (scope notified) (closure acquire_data) (destroy acquire_data_destroy):
 *   creates the object for a context
 * @acquire_data: (nullable): data for @acquire
 * @acquire_data_destroy: (nullable): frees @acquire_data when the template is
 *   finalized
 * @release: (nullable) (scope notified) (closure release_data) (destroy release_data_destroy):
 *   closes an object before the template drops its reference, or %NULL if
 *   dropping the reference is enough
 * @release_data: (nullable): data for @release
 * @release_data_destroy: (nullable): frees @release_data when the template is
 *   finalized
 * @error: return location for a #GError
 *
 * Creates and registers a template whose resources are objects made by the
 * function @acquire. This is how a language binding (Python, JavaScript)
 * writes a provider, and a convenient one for GObject-based C code.
 *
 * In JavaScript (gjs), an exception thrown by @acquire becomes the #GError
 * the acquire fails with (domain `Gjs.JSError`, with the exception's
 * message), and a JavaScript caller catches the exception again.
 *
 * The template holds one strong reference on each object it holds (a
 * floating reference returned by @acquire is sunk), and drops it after
 * @release has run. Acquire the objects with
 * [method@Tether.Template.acquire_object] to get them typed; the untyped
 * [method@Tether.Template.acquire] returns the same pointers.
 *
 * ## Thread and context rules
 *
 * - @acquire runs on the thread that acquires, with the context pushed as
 *   thread-default when that thread can own it; at most one @acquire per
 *   context runs at a time. An object that is not an instance of
 *   @object_type fails the acquire with %TETHER_ERROR_INVALID_RESULT, as
 *   does returning %NULL without an error.
 * - @release runs with `graceful == TRUE` and the live context on the thread
 *   that releases (a [class@Tether.Manager] leaving its scope,
 *   [method@Tether.Template.release]), and with `graceful == FALSE` and a
 *   %NULL context in the janitor context or the thread calling
 *   [func@Tether.purge] when the context died first.
 * - Both may therefore run on any thread that uses the template: they must
 *   be thread-safe (a binding such as PyGObject takes its interpreter lock
 *   around them).
 * - @acquire_data_destroy and @release_data_destroy run on the thread that
 *   drops the template's last reference, once it is unregistered and holds
 *   nothing.
 *
 * Returns: (transfer full): a new registered template, or %NULL with @error
 *   set (%TETHER_ERROR_INVALID_NAME) if @name is not a valid provider name
 */
TetherTemplate *
tether_template_new_for_object (const char               *name,
                                const char               *description,
                                GType                     object_type,
                                TetherObjectAcquireFunc   acquire,
                                gpointer                  acquire_data,
                                GDestroyNotify            acquire_data_destroy,
                                TetherObjectReleaseFunc   release,
                                gpointer                  release_data,
                                GDestroyNotify            release_data_destroy,
                                GError                  **error)
{
  TetherProvider provider = {
    .abi_version = TETHER_PROVIDER_ABI_VERSION,
    .struct_size = sizeof (TetherProvider),
    .name = name,
    .description = description,
    .acquire = object_provider_acquire,
    .release = object_provider_release,
  };
  TetherProvider copy;
  TetherTemplate *self;
  ObjectProvider *op;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (g_type_is_a (object_type, G_TYPE_OBJECT), NULL);
  g_return_val_if_fail (acquire != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_tether_provider_validate (&provider, &copy, error))
    {
      /* Nothing was taken over: the caller's data is freed as on success
       * it would have been at the end, so bindings do not leak it. */
      if (acquire_data_destroy != NULL)
        acquire_data_destroy (acquire_data);
      if (release_data_destroy != NULL)
        release_data_destroy (release_data);
      return NULL;
    }

  op = g_new0 (ObjectProvider, 1);
  op->object_type = object_type;
  op->acquire = acquire;
  op->acquire_data = acquire_data;
  op->acquire_data_destroy = acquire_data_destroy;
  op->release = release;
  op->release_data = release_data;
  op->release_data_destroy = release_data_destroy;

  /* On a duplicate name, object_provider_free() releases the caller's
   * data, as for an invalid name above. */
  self = _tether_template_new_validated (&copy, op, object_provider_free, TRUE, error);
  if (self == NULL)
    return NULL;
  op->template = self;
  g_object_set_qdata (G_OBJECT (self), object_provider_quark (), op);

  return self;
}

static GObject *
closure_acquire (GMainContext  *context,
                 gpointer       user_data,
                 GError       **error)
{
  GClosure *closure = user_data;
  GValue params[1] = { G_VALUE_INIT };
  GValue result = G_VALUE_INIT;
  GObject *object;

  g_value_init (&params[0], G_TYPE_MAIN_CONTEXT);
  g_value_set_boxed (&params[0], context);
  g_value_init (&result, G_TYPE_OBJECT);

  g_closure_invoke (closure, &result, G_N_ELEMENTS (params), params, NULL);

  object = g_value_dup_object (&result);
  g_value_unset (&result);
  g_value_unset (&params[0]);

  /* A closure cannot return a GError: a binding reports one with
   * tether_template_set_acquire_error(), else returning nothing is reported
   * as TETHER_ERROR_INVALID_RESULT. */
  return object;
}

static void
closure_release (GObject      *object,
                 GMainContext *context,
                 gboolean      graceful,
                 gpointer      user_data)
{
  GClosure *closure = user_data;
  GValue params[3] = { G_VALUE_INIT, G_VALUE_INIT, G_VALUE_INIT };

  g_value_init (&params[0], G_TYPE_OBJECT);
  g_value_set_object (&params[0], object);
  g_value_init (&params[1], G_TYPE_MAIN_CONTEXT);
  g_value_set_boxed (&params[1], context);
  g_value_init (&params[2], G_TYPE_BOOLEAN);
  g_value_set_boolean (&params[2], graceful);

  g_closure_invoke (closure, NULL, G_N_ELEMENTS (params), params, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (params); i++)
    g_value_unset (&params[i]);
}

static GClosure *
closure_take (GClosure *closure)
{
  g_closure_ref (closure);
  g_closure_sink (closure);
  if (G_CLOSURE_NEEDS_MARSHAL (closure))
    g_closure_set_marshal (closure, g_cclosure_marshal_generic);
  return closure;
}

/**
 * tether_template_new_for_object_with_closures:
 * @name: the provider name: ASCII letters, digits, `-`, `_` and `.`,
 *   starting with a letter
 * @description: (nullable): one line saying what the object is
 * @object_type: the type every acquired object is an instance of, a
 *   subtype of %G_TYPE_OBJECT
 * @acquire: a closure taking a #GMainContext and returning a new @object_type
 *   instance (a [callback@Tether.ObjectAcquireFunc] without the error)
 * @release: (nullable): a closure taking the object, the #GMainContext (or
 *   %NULL) and the `graceful` boolean, returning nothing (a
 *   [callback@Tether.ObjectReleaseFunc]), or %NULL
 * @error: return location for a #GError
 *
 * Like [ctor@Tether.Template.new_for_object], with #GClosure arguments, for
 * bindings that cannot report an exception through a callback's #GError:
 * PyGObject's overrides of tether use it under the name
 * `Tether.Template.new_for_object(name, description, MyType, acquire, release)`.
 * gjs uses [ctor@Tether.Template.new_for_object] itself, whose @acquire
 * callback turns an exception thrown in JavaScript into its #GError.
 *
 * The same thread and context rules apply: @acquire runs on the acquiring
 * thread with the context pushed as thread-default, @release on the
 * releasing thread, or in the janitor context with `graceful == FALSE` and a
 * %NULL context. A closure cannot return a #GError: a binding that catches
 * an exception in @acquire calls [method@Tether.Template.set_acquire_error]
 * with its text and returns nothing, and the acquire fails with that error;
 * returning nothing without it fails the acquire with
 * %TETHER_ERROR_INVALID_RESULT. The template keeps a reference on each
 * closure until it is finalized.
 *
 * Returns: (transfer full): a new registered template, or %NULL with @error
 *   set if @name is not a valid provider name
 */
TetherTemplate *
tether_template_new_for_object_with_closures (const char  *name,
                                              const char  *description,
                                              GType        object_type,
                                              GClosure    *acquire,
                                              GClosure    *release,
                                              GError     **error)
{
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (g_type_is_a (object_type, G_TYPE_OBJECT), NULL);
  g_return_val_if_fail (acquire != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return tether_template_new_for_object (name, description, object_type,
                                         closure_acquire, closure_take (acquire),
                                         (GDestroyNotify) g_closure_unref,
                                         release ? closure_release : NULL,
                                         release ? closure_take (release) : NULL,
                                         release ? (GDestroyNotify) g_closure_unref : NULL,
                                         error);
}

/**
 * tether_template_set_acquire_error:
 * @self: a #TetherTemplate made by [ctor@Tether.Template.new_for_object]
 * @error: the error the acquire fails with
 *
 * Makes the acquire of @self that is running on this thread fail with a copy
 * of @error. This is how a language binding reports an exception raised in
 * an `acquire` function it gave as a closure, which cannot return a #GError:
 * it catches the exception, calls this with the exception's type and text in
 * @error, and returns nothing. The caller of the acquire (a
 * [class@Tether.Manager], another thread waiting for the same context) then
 * gets @error instead of %TETHER_ERROR_INVALID_RESULT.
 *
 * Must be called from inside @self's `acquire` function, on the thread
 * running it; anywhere else it is a programmer error (a critical, nothing
 * changed). Called twice, the first error is kept.
 *
 * Since: 0.2
 */
void
tether_template_set_acquire_error (TetherTemplate *self,
                                   const GError   *error)
{
  AcquireFrame *frame;

  g_return_if_fail (TETHER_IS_TEMPLATE (self));
  g_return_if_fail (error != NULL);

  frame = g_private_get (&acquire_frames);
  if (frame == NULL || frame->template != self)
    {
      g_critical ("tether_template_set_acquire_error: no acquire of template '%s' is "
                  "running on this thread; call it from inside its acquire function",
                  tether_template_get_name (self));
      return;
    }

  if (frame->error == NULL)
    frame->error = g_error_copy (error);
}

/**
 * tether_template_get_object_type:
 * @self: a #TetherTemplate
 *
 * Gets the type of the objects @self holds. Callable from any thread.
 *
 * Returns: the `object_type` given to [ctor@Tether.Template.new_for_object],
 *   or the type a provider module declares in its `resource_type` field
 *   (see [struct@Tether.Provider]), or %G_TYPE_INVALID if neither (the
 *   resources are then opaque pointers)
 */
GType
tether_template_get_object_type (TetherTemplate *self)
{
  ObjectProvider *op;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), G_TYPE_INVALID);

  op = get_object_provider (self);
  if (op != NULL)
    return op->object_type;

  /* A provider module that declares its resources' type (ABI 1.1). */
  return _tether_provider_get_resource_type (&self->call);
}

/**
 * tether_template_acquire_object:
 * @self: a #TetherTemplate whose resources are objects (see
 *   [method@Tether.Template.get_object_type])
 * @context: (nullable): the context to acquire for, or %NULL for the calling
 *   thread's thread-default context
 * @error: return location for a #GError
 *
 * Gets the object @self holds for @context, acquiring it the first time:
 * [method@Tether.Template.acquire], typed. The rules of that method apply
 * (lock-free when held, one acquire per context shared by racing callers,
 * nothing cached on failure). Callable from any thread; @context must stay
 * alive during the call.
 *
 * Returns: (transfer none) (nullable): the object, owned by @self until it is
 *   released for @context, and borrowed by the thread running the scope of
 *   @context (see [method@Tether.Template.lookup]); %NULL with @error set on
 *   failure
 */
GObject *
tether_template_acquire_object (TetherTemplate  *self,
                                GMainContext    *context,
                                GError         **error)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);
  g_return_val_if_fail (tether_template_get_object_type (self) != G_TYPE_INVALID, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return tether_template_acquire (self, context, error);
}

/**
 * tether_template_acquire_object_async:
 * @self: a #TetherTemplate whose resources are objects (see
 *   [method@Tether.Template.get_object_type])
 * @context: (nullable): the context to acquire for, or %NULL for the calling
 *   thread's thread-default context
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the object is ready
 * @user_data: (closure): data for @callback
 *
 * Gets the object @self holds for @context, acquiring it asynchronously the
 * first time: [method@Tether.Template.acquire_async], typed.
 *
 * The object's `acquire` function runs at once on this thread when this
 * thread can own @context, and otherwise from an idle source in @context.
 * @callback is invoked in the thread-default main context of the thread that
 * called this function. Callable from any thread.
 */
void
tether_template_acquire_object_async (TetherTemplate      *self,
                                      GMainContext        *context,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (TETHER_IS_TEMPLATE (self));
  g_return_if_fail (tether_template_get_object_type (self) != G_TYPE_INVALID);

  tether_template_acquire_async (self, context, cancellable, callback, user_data);
}

/**
 * tether_template_acquire_object_finish:
 * @self: a #TetherTemplate
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Tether.Template.acquire_object_async].
 *
 * Returns: (transfer none) (nullable): the object, owned by @self until it is
 *   released for its context; %NULL with @error set on failure
 */
GObject *
tether_template_acquire_object_finish (TetherTemplate  *self,
                                       GAsyncResult    *result,
                                       GError         **error)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);
  g_return_val_if_fail (tether_template_get_object_type (self) != G_TYPE_INVALID, NULL);

  return tether_template_acquire_finish (self, result, error);
}

/**
 * tether_template_lookup_object:
 * @self: a #TetherTemplate whose resources are objects (see
 *   [method@Tether.Template.get_object_type])
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 *
 * Gets the object @self holds for @context without ever acquiring one:
 * [method@Tether.Template.lookup], typed. Callable from any thread.
 *
 * The object is borrowed, with the rules of [method@Tether.Template.lookup]:
 * dereference it only on the thread running the scope of @context, until it
 * is released for @context. From any other thread, use
 * [method@Tether.Template.dup_object], which returns a reference.
 *
 * Returns: (transfer none) (nullable): the held object, or %NULL if none is
 *   held (or one is still being acquired)
 */
GObject *
tether_template_lookup_object (TetherTemplate *self,
                               GMainContext   *context)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);
  g_return_val_if_fail (tether_template_get_object_type (self) != G_TYPE_INVALID, NULL);

  return tether_template_lookup (self, context);
}

/**
 * tether_template_dup_object:
 * @self: a #TetherTemplate whose resources are objects (see
 *   [method@Tether.Template.get_object_type])
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 *
 * Gets a new reference to the object @self holds for @context, never
 * acquiring one. Unlike [method@Tether.Template.lookup_object], whose
 * borrowed pointer is only safe in the thread whose scope holds the object,
 * this is the safe form for any other thread (a UI thread showing what
 * worker contexts hold, say): the reference is taken before a concurrent
 * release of @context can free the object, and keeps it alive after that
 * release. The object may then already be released for @context; using it
 * is the caller's business, and it must be unreffed on a thread where
 * dropping the last reference is safe for its type.
 *
 * @context is an identity only: it need not be alive, and is never
 * referenced or iterated. Callable from any thread.
 *
 * Returns: (transfer full) (nullable): a new reference to the held object,
 *   or %NULL if none is held (or one is still being acquired)
 *
 * Since: 0.2
 */
GObject *
tether_template_dup_object (TetherTemplate *self,
                            GMainContext   *context)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);
  g_return_val_if_fail (tether_template_get_object_type (self) != G_TYPE_INVALID, NULL);

  /* g_object_ref() under the state lock runs no user code: the template
   * owns a strong reference on a held object, so this reference is never a
   * toggle reference's 1 -> 2 transition (the one that calls a binding's
   * toggle notify). */
  return _tether_template_lookup_ref (self, _tether_context_resolve (context), g_object_ref);
}

/**
 * tether_template_discard_object:
 * @self: a #TetherTemplate made with [ctor@Tether.Template.new_for_object]
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 * @object: the object to discard
 *
 * [method@Tether.Template.discard] for object templates and language
 * bindings: if @self still holds exactly @object for @context, the next
 * acquire makes a new one, and @object is released ungracefully by the
 * janitor or [func@Tether.purge]. Same thread rules.
 *
 * Returns: %TRUE if @object was held and is now discarded
 *
 * Since: 0.2
 */
gboolean
tether_template_discard_object (TetherTemplate *self,
                                GMainContext   *context,
                                GObject        *object)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);
  g_return_val_if_fail (G_IS_OBJECT (object), FALSE);

  return tether_template_discard (self, context, object);
}
