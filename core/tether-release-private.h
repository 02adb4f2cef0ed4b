/* tether-release-private.h: graceful release of one (template, context),
 * or of everything a context holds. Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-release-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

/* Releases the held resource of (@self, @context) gracefully. With
 * @only_if_held, nothing held is not an error. */
gboolean _tether_release_one (TetherTemplate  *self,
                              GMainContext    *context,
                              gboolean         only_if_held,
                              GError         **error);
/* Releases everything held for @context, most recently acquired first, and
 * ends @manager's hold on the context if @manager is not NULL. Returns how
 * many resources were released. */
guint    _tether_release_all (GMainContext    *context,
                              TetherManager   *manager);
/* The same for the templates in @only: what they hold for @context, most
 * recently acquired first. */
guint    _tether_release_some (GMainContext   *context,
                               GPtrArray      *only,
                               TetherManager  *manager);

G_END_DECLS
