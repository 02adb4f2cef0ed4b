/* tether-scope-private.h: a manager's claim on its context. Private to
 * libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-scope-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

/* Whether the calling thread's thread-default context is @context; if not,
 * @error names both and says how to fix it (@what: "acquire", "release"). */
gboolean _tether_scope_check_context (GMainContext   *context,
                                      const char     *what,
                                      GError        **error);
/* Claims @context's scope for @manager. On success, *@out_templates is the
 * snapshot of the templates to acquire, or NULL when another manager is
 * active and @exist_ok (a no-op scope). FALSE with @error set when another
 * manager is active and not @exist_ok. */
gboolean _tether_scope_enter         (GMainContext   *context,
                                      TetherManager  *manager,
                                      gboolean        exist_ok,
                                      GPtrArray     **out_templates,
                                      GError        **error);
/* Gives up the scope without releasing anything. */
void     _tether_scope_leave         (GMainContext   *context,
                                      TetherManager  *manager);
/* Releases what the templates in @acquired (those whose flights the manager
 * started) hold for @context, most recently produced first, and leaves the
 * scope in the same hold. */
/* A manager of @context is being disposed: the context's record no longer
 * waits for its next enter, and goes if nothing else keeps it. */
void     _tether_scope_forget        (GMainContext   *context);
void     _tether_scope_roll_back     (GMainContext   *context,
                                      TetherManager  *manager,
                                      GPtrArray      *acquired);

/* A manager's synchronous enter: claims @context's scope for @manager and
 * acquires every eager template, in registration order. When another
 * manager is active: with @exist_ok, TRUE and *@out_noop (nothing
 * acquired), else FALSE with @error set. If a template fails, exactly what
 * this call started is released, most recently produced first, the scope
 * is left, and FALSE is returned with @error prefixed by the template's
 * name. */
gboolean _tether_scope_acquire_sync  (GMainContext   *context,
                                      TetherManager  *manager,
                                      gboolean        exist_ok,
                                      gboolean       *out_noop,
                                      GError        **error);

G_END_DECLS
