/* tether-template.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-provider.h"
#include "tether-version-macros.h"

G_BEGIN_DECLS

#define TETHER_TYPE_TEMPLATE (tether_template_get_type ())

/**
 * TetherTemplateClass:
 * @parent_class: the #GObjectClass it derives from
 *
 * The class structure of [class@Tether.Template]: a final type, with no
 * virtual functions to override and nothing to subclass. A template gets its
 * behaviour from the [struct@Tether.Provider] it is made with, by
 * [ctor@Tether.Template.new], [ctor@Tether.Template.new_full],
 * [ctor@Tether.Template.new_for_object] or [func@Tether.load_provider], never
 * from a subclass, and never from g_object_new().
 */

TETHER_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (TetherTemplate, tether_template, TETHER, TEMPLATE, GObject)

TETHER_AVAILABLE_IN_ALL
TetherTemplate *tether_template_new            (const TetherProvider  *provider,
                                                gpointer               provider_data) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
TetherTemplate *tether_template_new_full       (const TetherProvider  *provider,
                                                gpointer               provider_data,
                                                GDestroyNotify         provider_data_destroy) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
const char     *tether_template_get_name       (TetherTemplate        *self);
TETHER_AVAILABLE_IN_ALL
const char     *tether_template_get_description (TetherTemplate       *self);
TETHER_AVAILABLE_IN_ALL
gpointer        tether_template_get_provider_data (TetherTemplate     *self);
TETHER_AVAILABLE_IN_ALL
gboolean        tether_template_is_registered  (TetherTemplate        *self);
TETHER_AVAILABLE_IN_ALL
gboolean        tether_template_unregister     (TetherTemplate        *self);
TETHER_AVAILABLE_IN_0_2
void            tether_template_set_eager      (TetherTemplate        *self,
                                                gboolean               eager);
TETHER_AVAILABLE_IN_0_2
gboolean        tether_template_get_eager      (TetherTemplate        *self);
TETHER_AVAILABLE_IN_ALL
gpointer        tether_template_acquire        (TetherTemplate        *self,
                                                GMainContext          *context,
                                                GError               **error);
TETHER_AVAILABLE_IN_ALL
void            tether_template_acquire_async  (TetherTemplate        *self,
                                                GMainContext          *context,
                                                GCancellable          *cancellable,
                                                GAsyncReadyCallback    callback,
                                                gpointer               user_data);
TETHER_AVAILABLE_IN_ALL
gpointer        tether_template_acquire_finish (TetherTemplate        *self,
                                                GAsyncResult          *result,
                                                GError               **error);
TETHER_AVAILABLE_IN_ALL
gpointer        tether_template_lookup         (TetherTemplate        *self,
                                                GMainContext          *context);
TETHER_AVAILABLE_IN_ALL
gboolean        tether_template_release        (TetherTemplate        *self,
                                                GMainContext          *context,
                                                GError               **error);
TETHER_AVAILABLE_IN_0_2
gboolean        tether_template_discard        (TetherTemplate        *self,
                                                GMainContext          *context,
                                                gpointer               resource);
TETHER_AVAILABLE_IN_ALL
guint           tether_template_purge          (TetherTemplate        *self);
TETHER_AVAILABLE_IN_ALL
guint           tether_template_get_n_held     (TetherTemplate        *self);

G_END_DECLS
