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

char *
_tether_escape_for_message (const char *text,
                       gsize       max_bytes)
{
  static const char ellipsis[] = "\u2026";
  GString *out = g_string_new (NULL);
  const char *p = text;
  const char *end = text + strlen (text);

  /* Past the bound by more than an escape's length, stop: a 64 MiB name
   * costs no more than a short one. */
  gsize stop = max_bytes > G_MAXSIZE - 8 ? G_MAXSIZE : max_bytes + 8;

  while (p < end && out->len <= stop)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      int length;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guint) (guchar) *p);
          length = 1;
        }
      else
        {
          length = g_utf8_next_char (p) - p;
          if (c < 0x20 || c == 0x7f)
            g_string_append_printf (out, "\\x%02x", (guint) c);
          else
            g_string_append_len (out, p, length);
        }
      p += length;
    }

  if (out->len > max_bytes || p < end)
    {
      gsize room = max_bytes > strlen (ellipsis) ? max_bytes - strlen (ellipsis) : 0;
      const char *cut = out->str + MIN (room, out->len);

      /* Back to the start of a character: the text is valid UTF-8. */
      while (cut > out->str && (*cut & 0xc0) == 0x80)
        cut--;
      g_string_truncate (out, (gsize) (cut - out->str));
      g_string_append (out, ellipsis);
    }

  return g_string_free (out, FALSE);
}

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
      /* Shown escaped and bounded: it may be any bytes, any length. */
      gsize length = strlen (provider->name);
      g_autofree char *shown = _tether_escape_for_message (provider->name, 160);
      g_autofree char *left_out = NULL;

      if (length > 160)
        left_out = g_strdup_printf (" (%" G_GSIZE_FORMAT " bytes left out)", length - 160);

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME,
                   "Provider name '%s'%s is not valid: set .name to ASCII letters, digits, "
                   "'-', '_' and '.', starting with a letter, at most 128 characters",
                   shown, left_out != NULL ? left_out : "");
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
  /* watch, likewise, in what ABI 1.1 called reserved. */
  if (TETHER_PROVIDER_ABI_VERSION_MINOR (provider->abi_version) < 2)
    out_copy->watch = NULL;

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

/* What _tether_provider_check_result() accepts, for the trace, which
 * shows the outcome where the provider returns. */
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

gpointer
_tether_provider_acquire (TetherProviderCall  *call,
                          GMainContext        *context,
                          gint64              *inout_clock,
                          gint64              *out_elapsed,
                          GError             **error)
{
  GError *local_error = NULL;
  gboolean showing = _tether_trace_showing ();
  gint64 start = _tether_trace_acquire_begin (&call->counters, call->name, context, showing,
                                              inout_clock != NULL ? *inout_clock : 0);
  gpointer resource;
  gint64 end;

  /* An acquire this provider makes reads its own start. */
  if (inout_clock != NULL)
    *inout_clock = 0;
  resource = call->provider.acquire (context, call->data, &local_error);

  *out_elapsed = _tether_trace_acquire_end (call->name, context, start, showing,
                                            showing && result_is_valid (call, resource, local_error),
                                            local_error, &end);
  if (inout_clock != NULL)
    *inout_clock = end;
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
  gboolean             showing;
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
  acquire->showing = _tether_trace_showing ();
  acquire->start = _tether_trace_acquire_begin (&call->counters, call->name, context,
                                                acquire->showing, 0);
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
  gint64 end;

  *out_elapsed = TETHER_TRACE_NOT_RUN;
  if (acquire != NULL)
    *out_elapsed = _tether_trace_acquire_end (call->name, acquire->context, acquire->start,
                                              acquire->showing,
                                              acquire->showing &&
                                                result_is_valid (call, resource, local_error),
                                              local_error, &end);
  g_free (acquire);
  if (local_error != NULL)
    g_propagate_error (error, local_error);

  return resource;
}

static void provider_release_unheld (TetherProviderCall *call,
                                     gpointer            resource,
                                     GMainContext       *context);

/* Checks what a provider's acquire gave back. Returns the resource, or NULL
 * with @error set to what every waiter will see. */
gpointer
_tether_provider_check_result (TetherProviderCall  *call,
                               GMainContext        *context,
                               gpointer             resource,
                               GError              *provider_error,
                               const char          *function,
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
                   "Provider '%s' returned, from its %s, a %s for context %p where its "
                   "declared resource type is %s (the resource was released)",
                   call->name, function,
                   G_TYPE_CHECK_INSTANCE (resource) ? G_OBJECT_TYPE_NAME (resource) : "non-instance",
                   context, g_type_name (type));
      provider_release_unheld (call, resource, context);
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
                   "Provider '%s' returned no resource for context %p from its %s and set "
                   "no error: %s must return the resource, or NULL with its GError set",
                   call->name, context, function, function);
      return NULL;
    }

  /* A resource and an error: report both, keep nothing. */
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT,
               "Provider '%s' returned a resource for context %p from its %s and also "
               "set an error (the resource was released; %s must do one or the other): %s",
               call->name, context, function, function, provider_error->message);
  g_error_free (provider_error);
  provider_release_unheld (call, resource, context);

  return NULL;
}

/* A resource the provider gave back with an error, or of the wrong type:
 * never held, so released at once, gracefully, and not counted. */
static void
provider_release_unheld (TetherProviderCall *call,
                         gpointer            resource,
                         GMainContext       *context)
{
  TetherContextSpan span;

  if (call->provider.release == NULL)
    return;

  _tether_context_enter (context, &span);
  call->provider.release (resource, context, TRUE, call->data);
  _tether_context_leave (context, &span);
}

gint64
_tether_provider_release (TetherProviderCall *call,
                          gpointer            resource,
                          GMainContext       *context,
                          gboolean            graceful,
                          gint64              start)
{
  if (call->provider.release != NULL)
    call->provider.release (resource, graceful ? context : NULL, graceful, call->data);

  return _tether_trace_release_end (&call->counters, call->name, graceful ? context : NULL,
                                    graceful, start);
}

void
_tether_provider_watch (TetherProviderCall  *call,
                        gpointer             resource,
                        GMainContext        *context,
                        TetherResourceWatch *watch)
{
  call->provider.watch (resource, context, watch, call->data);
}
