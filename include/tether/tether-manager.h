/* tether-manager.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-version-macros.h"

G_BEGIN_DECLS

/**
 * TetherManagerFlags:
 * @TETHER_MANAGER_NONE: no flags
 * @TETHER_MANAGER_EXIST_OK: if the context already has an active manager,
 *   this manager becomes a no-op scope instead of failing with
 *   %TETHER_ERROR_ALREADY_MANAGED (Pyot's `exist_ok=True`)
 *
 * Flags for [ctor@Tether.Manager.new].
 */
typedef enum /*< flags >*/
{
  TETHER_MANAGER_NONE     = 0,
  TETHER_MANAGER_EXIST_OK = 1 << 0,
} TetherManagerFlags;

/**
 * TetherScopeFunc:
 * @user_data: the data given with the function
 * @error: return location for a #GError
 *
 * The work run inside a scope by [func@Tether.Manager.run] and
 * [func@Tether.run_in_new_context].
 *
 * Returns: %TRUE on success, %FALSE with @error set on failure
 */
typedef gboolean (*TetherScopeFunc) (gpointer   user_data,
                                     GError   **error);

#define TETHER_TYPE_MANAGER (tether_manager_get_type ())

/**
 * TetherManagerClass:
 * @parent_class: the #GObjectClass it derives from
 *
 * The class structure of [class@Tether.Manager]: a final type, with no
 * virtual functions to override and nothing to subclass. Make managers with
 * [ctor@Tether.Manager.new], or let [func@Tether.Manager.run] and
 * [func@Tether.run_in_new_context] make one for you.
 */

TETHER_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (TetherManager, tether_manager, TETHER, MANAGER, GObject)

TETHER_AVAILABLE_IN_ALL
TetherManager      *tether_manager_new            (GMainContext         *context,
                                                   TetherManagerFlags    flags) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
GMainContext       *tether_manager_get_context    (TetherManager        *self);
TETHER_AVAILABLE_IN_ALL
gboolean            tether_manager_get_exist_ok   (TetherManager        *self);
TETHER_AVAILABLE_IN_ALL
TetherManagerFlags  tether_manager_get_flags      (TetherManager        *self);
TETHER_AVAILABLE_IN_ALL
gboolean            tether_manager_is_active      (TetherManager        *self);
TETHER_AVAILABLE_IN_ALL
gboolean            tether_manager_is_noop        (TetherManager        *self);
TETHER_AVAILABLE_IN_ALL
gboolean            tether_manager_acquire        (TetherManager        *self,
                                                   GError              **error);
TETHER_AVAILABLE_IN_ALL
void                tether_manager_acquire_async  (TetherManager        *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
TETHER_AVAILABLE_IN_ALL
gboolean            tether_manager_acquire_finish (TetherManager        *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
TETHER_AVAILABLE_IN_ALL
void                tether_manager_release        (TetherManager        *self);
TETHER_AVAILABLE_IN_ALL
gboolean            tether_manager_run            (GMainContext         *context,
                                                   TetherManagerFlags    flags,
                                                   TetherScopeFunc       func,
                                                   gpointer              user_data,
                                                   GError              **error);

G_END_DECLS
