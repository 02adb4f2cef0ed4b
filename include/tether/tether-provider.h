/* tether-provider.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <stddef.h>

#include <gio/gio.h>

#include "tether-version-macros.h"

G_BEGIN_DECLS

/**
 * TETHER_PROVIDER_ABI_MAJOR:
 *
 * The major version of the provider ABI. A provider whose `abi_version`
 * carries another major version is refused.
 */
#define TETHER_PROVIDER_ABI_MAJOR 1

/**
 * TETHER_PROVIDER_ABI_MINOR:
 *
 * The minor version of the provider ABI. Minor versions only append fields to
 * [struct@Tether.Provider]; `struct_size` tells which are there.
 */
#define TETHER_PROVIDER_ABI_MINOR 2

/**
 * TETHER_PROVIDER_ABI_VERSION:
 *
 * The value a provider puts in `abi_version`: the major version in the high
 * 16 bits, the minor version in the low 16 bits.
 */
#define TETHER_PROVIDER_ABI_VERSION \
  ((guint32) ((TETHER_PROVIDER_ABI_MAJOR << 16) | TETHER_PROVIDER_ABI_MINOR))

/**
 * TETHER_PROVIDER_ABI_VERSION_MAJOR:
 * @v: an `abi_version` value
 *
 * The major part of an `abi_version` value.
 */
#define TETHER_PROVIDER_ABI_VERSION_MAJOR(v) (((guint32) (v)) >> 16)

/**
 * TETHER_PROVIDER_ABI_VERSION_MINOR:
 * @v: an `abi_version` value
 *
 * The minor part of an `abi_version` value.
 */
#define TETHER_PROVIDER_ABI_VERSION_MINOR(v) (((guint32) (v)) & 0xffff)

typedef struct _TetherProvider TetherProvider;
typedef struct _TetherResourceWatch TetherResourceWatch;

/**
 * TetherResourceWatchDiscardFunc:
 * @watch: the watch it was read from
 *
 * The type of [struct@Tether.ResourceWatch]'s `discard`.
 *
 * Since: 0.2
 */
typedef void (*TetherResourceWatchDiscardFunc) (TetherResourceWatch *watch);

/**
 * TetherResourceWatch:
 * @discard: says that the resource died on its own (a connection that
 *   closed, a handle that hit a fatal error): the watch's resource, if its
 *   template still holds it, is taken off at once, the next acquire for its
 *   context makes a new one, and it is released ungracefully by the janitor
 *   (as [method@Tether.Template.discard] does). Callable from any thread,
 *   from a signal handler of the resource, and more than once (later calls
 *   do nothing). Called before tether handed the resource to anyone (from
 *   @watch itself, say), it fails that acquire instead.
 *
 * What tether gives a provider's `watch` function for one resource it
 * acquired (provider ABI 1.2): the way to tell tether that resource is
 * dead, without linking to libtether. It stays valid until the provider's
 * `release` of that resource returns: `release` must first disconnect
 * whatever may still call @discard.
 *
 * Since: 0.2
 */
struct _TetherResourceWatch
{
  TetherResourceWatchDiscardFunc discard;

  /*< private >*/
  gpointer   reserved[3];
};

/**
 * TetherProviderAcquireFunc:
 * @context: the context the resource is for, pushed as thread-default
 *   around the call when the calling thread can own it
 * @provider_data: the `provider_data` of the template
 * @error: return location for an error
 *
 * The type of [struct@Tether.Provider]'s `acquire`: creates the resource
 * for @context. Runs on the thread that asked for the resource, without
 * any lock of tether's held.
 *
 * Returns: (transfer full) (nullable): the new resource, or %NULL with
 *   @error set
 *
 * Since: 0.2
 */
typedef gpointer (*TetherProviderAcquireFunc)      (GMainContext         *context,
                                                    gpointer              provider_data,
                                                    GError              **error);

/**
 * TetherProviderAcquireAsyncFunc:
 * @context: the context the resource is for; its thread-default when
 *   started, so that a [class@Gio.Task] made here completes in it
 * @provider_data: the `provider_data` of the template
 * @cancellable: (nullable): cancelled when every caller waiting for the
 *   acquire has gone
 * @callback: (scope async) (closure user_data): to be invoked in @context
 *   when the resource is ready or the acquire failed
 * @user_data: the data to pass to @callback
 *
 * The type of [struct@Tether.Provider]'s `acquire_async`: starts creating
 * the resource for @context; `acquire_finish` completes it.
 *
 * Since: 0.2
 */
typedef void     (*TetherProviderAcquireAsyncFunc) (GMainContext         *context,
                                                    gpointer              provider_data,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);

/**
 * TetherProviderAcquireFinishFunc:
 * @result: the result passed to the callback of `acquire_async`
 * @error: return location for an error
 *
 * The type of [struct@Tether.Provider]'s `acquire_finish`: completes
 * `acquire_async`.
 *
 * Returns: (transfer full) (nullable): the new resource, or %NULL with
 *   @error set
 *
 * Since: 0.2
 */
typedef gpointer (*TetherProviderAcquireFinishFunc) (GAsyncResult        *result,
                                                     GError             **error);

/**
 * TetherProviderReleaseFunc:
 * @resource: (transfer full): the resource to free
 * @context: (nullable): the resource's context when it is released
 *   gracefully; %NULL when it is purged after its context died
 * @graceful: %TRUE for a release by a manager or
 *   [method@Tether.Template.release], %FALSE for a purge
 * @provider_data: the `provider_data` of the template
 *
 * The type of [struct@Tether.Provider]'s `release`: frees a resource. An
 * ungraceful release runs in the janitor context or in the thread that
 * called [func@Tether.purge], and must not touch the dead context.
 *
 * Since: 0.2
 */
typedef void     (*TetherProviderReleaseFunc)      (gpointer              resource,
                                                    GMainContext         *context,
                                                    gboolean              graceful,
                                                    gpointer              provider_data);

/**
 * TetherProviderInitFunc:
 * @config: the application's configuration; an empty key file when it
 *   gave none
 * @group: the name of the module's group in @config, `provider NAME`
 *   (the group may be absent)
 * @error: return location for an error
 *
 * The type of [struct@Tether.Provider]'s `init`: the module hook called
 * once when a provider module is loaded.
 *
 * Returns: (transfer full) (nullable): the `provider_data` passed to every
 *   other function of the provider, or %NULL with @error set (%NULL without
 *   an error is a valid `provider_data`)
 *
 * Since: 0.2
 */
typedef gpointer (*TetherProviderInitFunc)         (GKeyFile             *config,
                                                    const char           *group,
                                                    GError              **error);

/**
 * TetherProviderShutdownFunc:
 * @provider_data: (transfer full): what `init` returned
 *
 * The type of [struct@Tether.Provider]'s `shutdown`: the module hook
 * called when the template made from the module is finalized.
 *
 * Since: 0.2
 */
typedef void     (*TetherProviderShutdownFunc)     (gpointer              provider_data);

/**
 * TetherProviderResourceTypeFunc:
 *
 * The type of [struct@Tether.Provider]'s `resource_type`, such as
 * `soup_session_get_type`.
 *
 * Returns: the type of the resources the provider makes, a subtype of
 *   %G_TYPE_OBJECT
 *
 * Since: 0.2
 */
typedef GType    (*TetherProviderResourceTypeFunc) (void);

/**
 * TetherProviderWatchFunc:
 * @resource: a resource the provider's acquire just returned
 * @context: the context it was acquired for
 * @watch: what to call when @resource dies on its own: `watch->discard
 *   (watch)`; valid until the provider's `release` of @resource returns
 * @provider_data: the provider's data
 *
 * The type of [struct@Tether.Provider]'s `watch` (provider ABI 1.2): called
 * once for each resource, before tether hands it to any caller, on the
 * thread that completed the acquire. Connect here whatever will call
 * @watch (a #GDBusConnection::closed handler, say), and disconnect it in
 * `release` before anything else.
 *
 * Since: 0.2
 */
typedef void     (*TetherProviderWatchFunc)        (gpointer              resource,
                                                    GMainContext         *context,
                                                    TetherResourceWatch  *watch,
                                                    gpointer              provider_data);

/**
 * TetherProvider:
 * @abi_version: %TETHER_PROVIDER_ABI_VERSION at the time the provider was built
 * @struct_size: `sizeof (TetherProvider)` where the provider was built, at
 *   least `TETHER_PROVIDER_MIN_STRUCT_SIZE`; fields past it are read as %NULL
 * @name: a short unique name such as `"soup-session"`: ASCII letters, digits,
 *   `-`, `_` and `.`, starting with a letter, at most 128 characters
 * @description: (nullable): one line saying what the resource is
 * @acquire: (nullable): creates the resource for @context; returns it, or
 *   %NULL with @error set
 * @acquire_async: (nullable): starts creating the resource for @context; must
 *   be given together with @acquire_finish
 * @acquire_finish: (nullable): completes @acquire_async
 * @release: (nullable): frees a resource; %NULL when the resource needs no
 *   clean-up
 * @init: (nullable): module hook, called once when a provider module is loaded
 *   with the application's configuration (never %NULL: an empty key file when
 *   it gave none) and the name of the module's group in it (`provider NAME`,
 *   which may be absent); returns the `provider_data` passed to every other
 *   function, or %NULL with @error set. Not called by [ctor@Tether.Template.new].
 * @shutdown: (nullable): module hook, called with the `provider_data` @init
 *   returned when the template made from the module is finalized
 * @resource_type: (nullable): ABI 1.1: returns the type of the resources
 *   @acquire (or @acquire_finish) returns, a subtype of %G_TYPE_OBJECT, for
 *   instance `soup_session_get_type`; %NULL for resources that are not
 *   GObjects. With it, [method@Tether.Template.get_object_type] reports that
 *   type and [method@Tether.Template.acquire_object] and the other `_object`
 *   methods hand language bindings the real object (a `Soup.Session` in
 *   Python, not a pointer). A result that is not an instance of it fails the
 *   acquire with %TETHER_ERROR_INVALID_RESULT. Read only from providers whose
 *   `abi_version` says 1.1 or later, so an older module's reserved bytes are
 *   never taken for it.
 * @watch: (nullable): ABI 1.2: called once for each resource @acquire (or
 *   @acquire_finish) returned, before tether hands it to any caller, on the
 *   thread that completed the acquire, with a #TetherResourceWatch to call
 *   when the resource dies on its own, for instance from the
 *   #GDBusConnection::closed handler it connects here. Read only from
 *   providers whose `abi_version` says 1.2 or later.
 * @reserved: for fields added in later minor versions; leave zeroed
 *
 * The vtable a provider gives tether: how to acquire and release one resource
 * for one [struct@GLib.MainContext]. The same struct is exported by provider
 * plugins through [func@Tether.DEFINE_PROVIDER].
 *
 * A provider gives @acquire, or the @acquire_async/@acquire_finish pair, or
 * both.
 *
 * ## Struct size
 *
 * Minor versions of the provider ABI only append fields, so a provider
 * built against older headers has a smaller `struct_size`, and tether reads
 * the fields past it as %NULL. `TETHER_PROVIDER_MIN_STRUCT_SIZE` is the
 * size of the oldest layout tether accepts: the struct up to and including
 * @release, `offsetof (TetherProvider, release) + sizeof (gpointer)` (56
 * bytes on 64-bit systems). A provider with a smaller `struct_size` is
 * refused: the module loader fails with %TETHER_ERROR_STRUCT_TOO_SMALL,
 * and [ctor@Tether.Template.new] logs a critical and returns %NULL.
 *
 * ## Thread and context rules
 *
 * tether never holds a lock of its own while calling any of these functions,
 * so they may call back into tether (acquire another template, look one up,
 * release) and may take their own locks.
 *
 * - @acquire runs on the thread that asked for the resource. When that
 *   thread can own @context (the usual case: @context is its thread-default
 *   context, or no thread owns it), tether pushes @context as the
 *   thread-default context around the call, so objects that capture the
 *   thread-default context (SoupSession, GDBusConnection, anything built on
 *   GTask) bind to @context. At most one acquire per template and context
 *   runs at a time.
 * - @acquire_async is started the same way, and its callback must be
 *   invoked in @context (GTask does this when @context is the thread-default
 *   context at the time the task is created). When the starting thread cannot
 *   own @context, tether starts it from an idle source attached to @context,
 *   so it runs in whichever thread iterates @context. Its completion only
 *   arrives when @context is iterated, and tether keeps @context alive until
 *   it does. tether cancels the cancellable it passes only when every caller
 *   waiting for the acquire has gone; a provider that completes anyway
 *   should still return its resource (with GTask, turn off
 *   g_task_set_check_cancellable()), and tether caches it.
 * - @release gets `graceful == TRUE` and the live @context (pushed as
 *   thread-default when the releasing thread can own it) when a
 *   [class@Tether.Manager] or [method@Tether.Template.release] releases the
 *   resource. It gets `graceful == FALSE` and `context == NULL` when the
 *   resource is purged after its context was destroyed; it then runs in the
 *   janitor context (see [func@Tether.set_janitor_context]) or in the thread
 *   that called [func@Tether.purge], and must not touch the dead context.
 */
struct _TetherProvider
{
  guint32     abi_version;
  guint32     struct_size;
  const char *name;
  const char *description;

  TetherProviderAcquireFunc        acquire;
  TetherProviderAcquireAsyncFunc   acquire_async;
  TetherProviderAcquireFinishFunc  acquire_finish;
  TetherProviderReleaseFunc        release;

  /* ABI 1.0, module hooks */
  TetherProviderInitFunc           init;
  TetherProviderShutdownFunc       shutdown;

  /* ABI 1.1 */
  TetherProviderResourceTypeFunc   resource_type;

  /* ABI 1.2 */
  TetherProviderWatchFunc          watch;

  /*< private >*/
  gpointer    reserved[6];
};

/**
 * TETHER_PROVIDER_MIN_STRUCT_SIZE:
 *
 * The size of the oldest [struct@Tether.Provider] layout tether accepts: the
 * struct up to and including `release`.
 */
#define TETHER_PROVIDER_MIN_STRUCT_SIZE \
  (offsetof (TetherProvider, release) + sizeof (gpointer))

/**
 * TETHER_PROVIDER_ENTRY_SYMBOL:
 *
 * The name of the one symbol a provider module exports.
 */
#define TETHER_PROVIDER_ENTRY_SYMBOL "tether_provider_entry"

/**
 * TetherProviderEntryFunc:
 *
 * The type of `tether_provider_entry`, the entry point of a provider module.
 *
 * Returns: (transfer none): the module's provider vtable, which must stay
 *   valid while the module is loaded
 */
typedef const TetherProvider *(*TetherProviderEntryFunc) (void);

/**
 * TETHER_DEFINE_PROVIDER:
 * @provider: the name of a `static const TetherProvider` in the module
 *
 * Defines the entry point of a provider module, `tether_provider_entry`,
 * returning @provider. Use it once per module, after the definition of
 * @provider.
 */
#define TETHER_DEFINE_PROVIDER(provider)                                      \
  __attribute__((visibility ("default"))) const TetherProvider *             \
  tether_provider_entry (void);                                               \
  __attribute__((visibility ("default"))) const TetherProvider *             \
  tether_provider_entry (void)                                                \
  {                                                                           \
    return &(provider);                                                       \
  }

G_END_DECLS
