/* tether-provider-private.h: a template's provider and every call into it.
 * Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-provider-private.h is private to libtether"
#endif

#include "tether.h"
#include "tether-trace-private.h"

G_BEGIN_DECLS

/* A template's provider: read-only after _tether_provider_call_init(), so
 * read from any thread without a lock. Only tether-provider.c calls through
 * it. */
typedef struct
{
  TetherProvider  provider;              /* full-size copy; fields past the
                                          * provider's struct_size are NULL */
  char           *name;
  char           *description;
  gpointer        data;
  GDestroyNotify  data_destroy;
  TetherTraceCounters counters;          /* tether-trace.c; atomic */
} TetherProviderCall;

/* @text made fit for a message: valid UTF-8 kept, each byte that is not
 * shown as \xNN, and control characters as \xNN; at most @max_bytes
 * bytes, then an ellipsis. */
char     *_tether_escape_for_message      (const char          *text,
                                           gsize                max_bytes);

/* The one provider-name rule, for templates, module files and
 * configuration groups alike. */
gboolean  _tether_provider_name_is_valid  (const char          *name);
gboolean  _tether_provider_validate       (const TetherProvider *provider,
                                           TetherProvider      *out_copy,
                                           GError             **error);

void      _tether_provider_call_init      (TetherProviderCall  *call,
                                           const TetherProvider *copy,
                                           gpointer             data,
                                           GDestroyNotify       data_destroy);
void      _tether_provider_call_clear     (TetherProviderCall  *call);

/* The GObject type a provider declared for its resources (ABI 1.1), or
 * G_TYPE_INVALID. Read-only data: any thread. */
GType     _tether_provider_get_resource_type (const TetherProviderCall *call);

/* Which acquire functions the provider has. A template made with a bare
 * g_object_new() has neither. */
static inline gboolean
_tether_provider_has_sync (const TetherProviderCall *call)
{
  return call->provider.acquire != NULL;
}

static inline gboolean
_tether_provider_has_async (const TetherProviderCall *call)
{
  return call->provider.acquire_async != NULL && call->provider.acquire_finish != NULL;
}

static inline gboolean
_tether_provider_can_acquire (const TetherProviderCall *call)
{
  return _tether_provider_has_sync (call) || _tether_provider_has_async (call);
}

/* Each of these runs provider code: never under the state lock. */
/* @out_elapsed: how long the provider took, in nanoseconds, for the
 * flight's completion to count (_tether_trace_acquire_done_locked()), or
 * TETHER_TRACE_UNTIMED. @inout_clock, if not NULL (a manager's enter):
 * a clock read just taken, or 0, on the way in (taken as the start); the
 * end of this acquire, or 0 when untimed, on the way out. */
gpointer  _tether_provider_acquire        (TetherProviderCall  *call,
                                           GMainContext        *context,
                                           gint64              *inout_clock,
                                           gint64              *out_elapsed,
                                           GError             **error);
void      _tether_provider_acquire_async  (TetherProviderCall  *call,
                                           GMainContext        *context,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
/* @out_elapsed as above, or TETHER_TRACE_NOT_RUN when @result is not the
 * completion of _tether_provider_acquire_async(). */
gpointer  _tether_provider_acquire_finish (TetherProviderCall  *call,
                                           GAsyncResult        *result,
                                           gint64              *out_elapsed,
                                           GError             **error);
/* Checks what a provider's acquire (@function: "acquire" or
 * "acquire_finish", named in the error) gave back. Returns the resource,
 * or NULL with @error set to what every waiter will see (a refused
 * resource is released at once, uncounted). */
gpointer  _tether_provider_check_result   (TetherProviderCall  *call,
                                           GMainContext        *context,
                                           gpointer             resource,
                                           GError              *provider_error,
                                           const char          *function,
                                           GError             **error);
/* The release of a resource tether held. A graceful one's caller has
 * entered @context (_tether_context_enter()), once for all it releases.
 * @start: _tether_trace_release_start(), or what the release before it in
 * the same list returned; returns the next one's. */
gint64    _tether_provider_release        (TetherProviderCall  *call,
                                           gpointer             resource,
                                           GMainContext        *context,
                                           gboolean             graceful,
                                           gint64               start);

/* ABI 1.2: whether the provider watches its resources, and the call. */
static inline gboolean
_tether_provider_has_watch (const TetherProviderCall *call)
{
  return call->provider.watch != NULL;
}

void      _tether_provider_watch          (TetherProviderCall  *call,
                                           gpointer             resource,
                                           GMainContext        *context,
                                           TetherResourceWatch *watch);

G_END_DECLS
