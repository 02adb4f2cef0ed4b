/* tether-global.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-manager.h"
#include "tether-version-macros.h"

G_BEGIN_DECLS

TETHER_AVAILABLE_IN_ALL
guint         tether_purge                       (void);
TETHER_AVAILABLE_IN_ALL
GPtrArray    *tether_dup_templates               (void) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_0_2
TetherTemplate *tether_find_template             (const char *name) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
GPtrArray    *tether_dup_managed_contexts        (void) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_0_2
gboolean      tether_is_managed                  (GMainContext *context);
TETHER_AVAILABLE_IN_ALL
gboolean      tether_run_in_new_context          (TetherScopeFunc   func,
                                                  gpointer          user_data,
                                                  GError          **error);
TETHER_AVAILABLE_IN_ALL
void          tether_set_janitor_context         (GMainContext     *context);
TETHER_AVAILABLE_IN_ALL
GMainContext *tether_dup_janitor_context         (void) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
void          tether_set_unmanaged_warning_enabled (gboolean        enabled);
TETHER_AVAILABLE_IN_0_2
gboolean      tether_get_unmanaged_warning_enabled (void);
TETHER_AVAILABLE_IN_ALL
guint         tether_get_n_pending_purge         (void);

G_END_DECLS
