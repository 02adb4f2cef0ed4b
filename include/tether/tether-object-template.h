/* tether-object-template.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-template.h"
#include "tether-version-macros.h"

G_BEGIN_DECLS

/**
 * TetherObjectAcquireFunc:
 * @context: the context the object is acquired for
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Creates the object a template made with [ctor@Tether.Template.new_for_object]
 * holds for @context.
 *
 * Runs on the thread that asked for the object. When that thread can own
 * @context (the usual case), @context is pushed as the thread-default
 * context during the call, so objects that capture the thread-default context
 * when they are built (a #GDBusConnection, a SoupSession, anything using
 * #GTask) bind to @context.
 *
 * Returns: (transfer full) (nullable): a new object, or %NULL with @error set
 */
typedef GObject *(*TetherObjectAcquireFunc) (GMainContext  *context,
                                             gpointer       user_data,
                                             GError       **error);

/**
 * TetherObjectReleaseFunc:
 * @object: the object being released
 * @context: (nullable): the context it was held for when @graceful is %TRUE;
 *   %NULL when @graceful is %FALSE
 * @graceful: %TRUE when released by a manager or
 *   [method@Tether.Template.release] while @context is alive, %FALSE when
 *   purged after @context was destroyed
 * @user_data: (closure): the data given with the function
 *
 * Lets a template made with [ctor@Tether.Template.new_for_object] close an
 * object before it drops its reference on it.
 *
 * A graceful release runs on the releasing thread, with @context pushed as
 * thread-default when that thread can own it. An ungraceful one runs in the
 * janitor context (see [func@Tether.set_janitor_context]) or on the thread
 * that called [func@Tether.purge], and must not touch the dead context.
 */
typedef void (*TetherObjectReleaseFunc) (GObject      *object,
                                         GMainContext *context,
                                         gboolean      graceful,
                                         gpointer      user_data);

TETHER_AVAILABLE_IN_ALL
TetherTemplate *tether_template_new_for_object (const char               *name,
                                                const char               *description,
                                                GType                     object_type,
                                                TetherObjectAcquireFunc   acquire,
                                                gpointer                  acquire_data,
                                                GDestroyNotify            acquire_data_destroy,
                                                TetherObjectReleaseFunc   release,
                                                gpointer                  release_data,
                                                GDestroyNotify            release_data_destroy,
                                                GError                  **error)
                                                G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
TetherTemplate *tether_template_new_for_object_with_closures
                                               (const char               *name,
                                                const char               *description,
                                                GType                     object_type,
                                                GClosure                 *acquire,
                                                GClosure                 *release,
                                                GError                  **error)
                                                G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_0_2
void            tether_template_set_acquire_error (TetherTemplate           *self,
                                                   const GError             *error);
TETHER_AVAILABLE_IN_ALL
GType           tether_template_get_object_type
                                               (TetherTemplate           *self);
TETHER_AVAILABLE_IN_ALL
GObject        *tether_template_acquire_object (TetherTemplate           *self,
                                                GMainContext             *context,
                                                GError                  **error);
TETHER_AVAILABLE_IN_ALL
void            tether_template_acquire_object_async
                                               (TetherTemplate           *self,
                                                GMainContext             *context,
                                                GCancellable             *cancellable,
                                                GAsyncReadyCallback       callback,
                                                gpointer                  user_data);
TETHER_AVAILABLE_IN_ALL
GObject        *tether_template_acquire_object_finish
                                               (TetherTemplate           *self,
                                                GAsyncResult             *result,
                                                GError                  **error);
TETHER_AVAILABLE_IN_ALL
GObject        *tether_template_lookup_object  (TetherTemplate           *self,
                                                GMainContext             *context);
TETHER_AVAILABLE_IN_0_2
GObject        *tether_template_dup_object     (TetherTemplate           *self,
                                                GMainContext             *context) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_0_2
gboolean        tether_template_discard_object (TetherTemplate           *self,
                                                GMainContext             *context,
                                                GObject                  *object);

G_END_DECLS
