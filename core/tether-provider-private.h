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
/* @out_elapsed: how long the provider took, for the flight's
 * completion to count (_tether_trace_acquire_counted_locked()), or
 * TETHER_TRACE_UNTIMED, or TETHER_TRACE_NOT_RUN when unknown. */
gpointer  _tether_provider_acquire        (TetherProviderCall  *call,
                                           GMainContext        *context,
                                           gint64              *out_elapsed,
                                           GError             **error);
/* The acquire of a prepared flight, counted by whoever claimed it (in a
 * hold of the state lock, tether-flight.c). With @inout_clock not NULL (a
 * manager's enter), *@inout_clock is the end of the provider acquire the
 * enter ran just before, or 0: taken as this one's start, so that the
 * enter reads the clock once per provider; it is set to this one's end,
 * or 0 when untimed. */
gpointer  _tether_provider_acquire_claimed (TetherProviderCall  *call,
                                           GMainContext        *context,
                                           gint64              *inout_clock,
                                           gint64              *out_elapsed,
                                           GError             **error);
void      _tether_provider_acquire_async  (TetherProviderCall  *call,
                                           GMainContext        *context,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gpointer  _tether_provider_acquire_finish (TetherProviderCall  *call,
                                           GAsyncResult        *result,
                                           gint64              *out_elapsed,
                                           GError             **error);
gpointer  _tether_provider_check_result   (TetherProviderCall  *call,
                                           GMainContext        *context,
                                           gpointer             resource,
                                           GError              *provider_error,
                                           GError             **error);
/* Graceful: the caller has entered @context (_tether_context_enter()). */
void      _tether_provider_release        (TetherProviderCall  *call,
                                           gpointer             resource,
                                           GMainContext        *context,
                                           gboolean             graceful);

G_END_DECLS
