/* tether-provider.c: a template's provider: validating its vtable, and
 * every call into it
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "tether-context-private.h"
#include "tether-provider-private.h"

/* A provider's name is used in messages, configuration groups and file
 * listings: keep it to a safe alphabet. */
gboolean
_tether_provider_name_is_valid (const char *name)
{
  if (name == NULL || !g_ascii_isalpha (name[0]))
    return FALSE;

  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;

  return strlen (name) <= 128;
}

/* Checks a provider vtable the way the plugin loader does, so that both
 * paths refuse the same things with the same codes. */
gboolean
_tether_provider_validate (const TetherProvider  *provider,
                           TetherProvider        *out_copy,
                           GError               **error)
{
  gsize size;

  if (TETHER_PROVIDER_ABI_VERSION_MAJOR (provider->abi_version) != TETHER_PROVIDER_ABI_MAJOR)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_ABI_MISMATCH,
                   "Provider abi_version %u.%u (0x%08x) is not supported: this tether "
                   "speaks provider ABI %u.x; set .abi_version = TETHER_PROVIDER_ABI_VERSION "
                   "and rebuild against this tether's headers",
                   TETHER_PROVIDER_ABI_VERSION_MAJOR (provider->abi_version),
                   TETHER_PROVIDER_ABI_VERSION_MINOR (provider->abi_version),
                   provider->abi_version, TETHER_PROVIDER_ABI_MAJOR);
      return FALSE;
    }

  if (provider->struct_size < TETHER_PROVIDER_MIN_STRUCT_SIZE)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_STRUCT_TOO_SMALL,
                   "Provider struct_size %u is smaller than the oldest supported layout "
                   "(%u bytes): set .struct_size = sizeof (TetherProvider)",
                   provider->struct_size, (guint) TETHER_PROVIDER_MIN_STRUCT_SIZE);
      return FALSE;
    }

  if (provider->name == NULL || provider->name[0] == '\0')
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME,
                   "Provider has an empty name: set .name to a short unique name such as "
                   "\"my-resource\" (ASCII letters, digits, '-', '_' and '.', starting "
                   "with a letter)");
      return FALSE;
    }

  if (!_tether_provider_name_is_valid (provider->name))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME,
                   "Provider name '%s' is not valid: set .name to ASCII letters, digits, "
                   "'-', '_' and '.', starting with a letter, at most 128 characters",
                   provider->name);
      return FALSE;
    }

  /* A newer core reads an older, smaller struct: what it lacks is NULL. A
   * newer provider's extra fields are ignored. Only whole fields are
   * copied: a struct_size that ends inside a pointer would otherwise copy
   * part of it (every field past the header is pointer-sized). */
  memset (out_copy, 0, sizeof *out_copy);
  size = MIN ((gsize) provider->struct_size, sizeof *out_copy);
  size -= size % sizeof (gpointer);
  memcpy (out_copy, provider, size);
  out_copy->struct_size = sizeof *out_copy;

  /* resource_type sits in what ABI 1.0 called reserved: a 1.0 provider's
   * bytes there are not a function, whatever they hold. */
  if (TETHER_PROVIDER_ABI_VERSION_MINOR (provider->abi_version) < 1)
    out_copy->resource_type = NULL;

  if (out_copy->resource_type != NULL)
    {
      GType type = out_copy->resource_type ();

      if (!g_type_is_a (type, G_TYPE_OBJECT))
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT,
                       "Provider '%s' declares the resource type '%s', which is not a "
                       "GObject type: leave resource_type NULL for other resources",
                       provider->name, type != G_TYPE_INVALID ? g_type_name (type) : "invalid");
          return FALSE;
        }
    }

  if (out_copy->acquire == NULL &&
      (out_copy->acquire_async == NULL || out_copy->acquire_finish == NULL))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ACQUIRE,
                   "Provider '%s' has neither acquire nor the complete "
                   "acquire_async/acquire_finish pair: set .acquire, or both "
                   ".acquire_async and .acquire_finish",
                   provider->name);
      return FALSE;
    }

  return TRUE;
}

GType
_tether_provider_get_resource_type (const TetherProviderCall *call)
{
  /* A GType function: cheap after its first call, and safe from any
   * thread. Validation already called it once. */
  return call->provider.resource_type != NULL ? call->provider.resource_type () : G_TYPE_INVALID;
}

void
_tether_provider_call_init (TetherProviderCall   *call,
                            const TetherProvider *copy,
                            gpointer              data,
                            GDestroyNotify        data_destroy)
{
  call->provider = *copy;
  call->name = g_strdup (copy->name);
  call->description = g_strdup (copy->description);
  call->provider.name = call->name;
  call->provider.description = call->description;
  call->data = data;
  call->data_destroy = data_destroy;
}

void
_tether_provider_call_clear (TetherProviderCall *call)
{
  if (call->data_destroy != NULL)
    call->data_destroy (call->data);

  g_free (call->name);
  g_free (call->description);
}

/* What _tether_provider_check_result() accepts, for the counters, which
 * are kept where the provider returns. */
static gboolean
result_is_valid (TetherProviderCall *call,
                 gpointer            resource,
                 const GError       *error)
{
  GType type;

  if (resource == NULL || error != NULL)
    return FALSE;

  type = _tether_provider_get_resource_type (call);
  return type == G_TYPE_INVALID || G_TYPE_CHECK_INSTANCE_TYPE (resource, type);
}

/* The end of a provider acquire begun at @start (its synchronous return or
 * its finish): shows it when @showing, and returns its duration for the
 * completion to count. *@out_end, if not NULL: where the next acquire of
 * a manager's enter may start, 0 when this one was untimed or showed. */
static inline gint64
acquire_ended (TetherProviderCall *call,
               GMainContext       *context,
               gint64              start,
               gboolean            showing,
               gpointer            resource,
               const GError       *error,
               gint64             *out_end)
{
  gint64 elapsed = _tether_trace_acquire_duration (start, out_end);

  if (G_UNLIKELY (showing) && elapsed >= 0)
    {
      _tether_trace_acquire_end_shown (call->name, context, elapsed,
                                       result_is_valid (call, resource, error), error);
      if (out_end != NULL)
        *out_end = 0;
    }

  return elapsed;
}

gpointer
_tether_provider_acquire (TetherProviderCall  *call,
                          GMainContext        *context,
                          gint64              *out_elapsed,
                          GError             **error)
{
  GError *local_error = NULL;
  gint64 start = _tether_trace_acquire_begin (&call->counters, call->name, context);
  gpointer resource = call->provider.acquire (context, call->data, &local_error);

  *out_elapsed = acquire_ended (call, context, start, _tether_trace_showing (), resource,
                                local_error, NULL);
  if (local_error != NULL)
    g_propagate_error (error, local_error);

  return resource;
}

/* As above, but counted (where it was claimed) and, in a manager's enter,
 * started at the end of the acquire before: one clock read per provider.
 * Whether anything shows is asked once: a shown acquire reads its own
 * start, for exact marks and messages, and hands the next one no end. */
gpointer
_tether_provider_acquire_claimed (TetherProviderCall  *call,
                                  GMainContext        *context,
                                  gint64              *inout_clock,
                                  gint64              *out_elapsed,
                                  GError             **error)
{
  GError *local_error = NULL;
  gboolean showing = _tether_trace_showing ();
  gint64 start = _tether_trace_acquire_start (call->name, context, showing,
                                              inout_clock != NULL ? *inout_clock : 0);
  gpointer resource = call->provider.acquire (context, call->data, &local_error);

  *out_elapsed = acquire_ended (call, context, start, showing, resource, local_error,
                                inout_clock);
  if (local_error != NULL)
    g_propagate_error (error, local_error);

  return resource;
}

/* An asynchronous acquire under way: its start, for the trace. The
 * provider's callback lands in acquire_async_done(), which hangs this on
 * the result for _tether_provider_acquire_finish(), where the outcome is
 * known. */
typedef struct
{
  TetherProviderCall  *call;
  GMainContext        *context;   /* identity only */
  gint64               start;
  GAsyncReadyCallback  callback;
  gpointer             user_data;
} AsyncAcquire;

static GQuark
async_acquire_quark (void)
{
  return g_quark_from_static_string ("tether-async-acquire");
}

static void
acquire_async_done (GObject      *source_object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  AsyncAcquire *acquire = user_data;

  g_object_set_qdata_full (G_OBJECT (result), async_acquire_quark (), acquire, g_free);
  acquire->callback (source_object, result, acquire->user_data);
}

void
_tether_provider_acquire_async (TetherProviderCall  *call,
                                GMainContext        *context,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  AsyncAcquire *acquire = g_new (AsyncAcquire, 1);

  acquire->call = call;
  acquire->context = context;
  acquire->callback = callback;
  acquire->user_data = user_data;
  acquire->start = _tether_trace_acquire_begin (&call->counters, call->name, context);
  call->provider.acquire_async (context, call->data, cancellable, acquire_async_done, acquire);
}

gpointer
_tether_provider_acquire_finish (TetherProviderCall  *call,
                                 GAsyncResult        *result,
                                 gint64              *out_elapsed,
                                 GError             **error)
{
  AsyncAcquire *acquire = g_object_steal_qdata (G_OBJECT (result), async_acquire_quark ());
  GError *local_error = NULL;
  gpointer resource = call->provider.acquire_finish (result, &local_error);

  *out_elapsed = TETHER_TRACE_NOT_RUN;
  if (acquire != NULL)
    *out_elapsed = acquire_ended (call, acquire->context, acquire->start,
                                  _tether_trace_showing (), resource, local_error, NULL);
  g_free (acquire);
  if (local_error != NULL)
    g_propagate_error (error, local_error);

  return resource;
}

static void provider_release (TetherProviderCall *call,
                              gpointer            resource,
                              GMainContext       *context,
                              gboolean            graceful);

/* Checks what a provider's acquire gave back. Returns the resource, or NULL
 * with @error set to what every waiter will see. */
gpointer
_tether_provider_check_result (TetherProviderCall  *call,
                               GMainContext        *context,
                               gpointer             resource,
                               GError              *provider_error,
                               GError             **error)
{
  if (resource != NULL && provider_error == NULL)
    {
      GType type = _tether_provider_get_resource_type (call);

      /* A declared type is a promise to bindings, which will wrap the
       * resource as that type: check it before anyone sees it. */
      if (type == G_TYPE_INVALID || G_TYPE_CHECK_INSTANCE_TYPE (resource, type))
        return resource;

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT,
                   "Provider '%s' returned a %s for context %p where its declared resource "
                   "type is %s (the resource was released)",
                   call->name,
                   G_TYPE_CHECK_INSTANCE (resource) ? G_OBJECT_TYPE_NAME (resource) : "non-instance",
                   context, g_type_name (type));
      provider_release (call, resource, context, TRUE);
      return NULL;
    }

  if (resource == NULL && provider_error != NULL)
    {
      g_propagate_error (error, provider_error);
      return NULL;
    }

  if (resource == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT,
                   "Provider '%s' returned no resource for context %p and set no error: "
                   "acquire must return the resource, or NULL with its GError set",
                   call->name, context);
      return NULL;
    }

  /* A resource and an error: report both, keep nothing. */
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT,
               "Provider '%s' returned a resource for context %p and also set an error "
               "(the resource was released; acquire must do one or the other): %s",
               call->name, context, provider_error->message);
  g_error_free (provider_error);
  provider_release (call, resource, context, TRUE);

  return NULL;
}

static void
provider_release (TetherProviderCall *call,
                  gpointer            resource,
                  GMainContext       *context,
                  gboolean            graceful)
{
  TetherContextSpan span;

  if (call->provider.release == NULL)
    return;

  if (graceful)
    _tether_context_enter (context, &span);
  call->provider.release (resource, graceful ? context : NULL, graceful, call->data);
  if (graceful)
    _tether_context_leave (context, &span);
}

/* The release of a resource tether held. (One the provider gave back with
 * an error was never held: check_result() releases it uncounted.) The
 * caller of a graceful one has entered @context, once for all it releases
 * (tether-release.c), as a manager's enter does for its acquires: a
 * second span here cost a g_main_context_get_thread_default() per
 * resource. */
void
_tether_provider_release (TetherProviderCall *call,
                          gpointer            resource,
                          GMainContext       *context,
                          gboolean            graceful)
{
  gint64 start = _tether_trace_release_begin ();

  if (call->provider.release != NULL)
    call->provider.release (resource, graceful ? context : NULL, graceful, call->data);
  _tether_trace_release (&call->counters, call->name, graceful ? context : NULL, graceful, start);
}
