/* tether-registry-private.h: the list of registered templates (what
 * managers acquire, in order) and the list of every live template. Private
 * to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-registry-private.h is private to libtether"
#endif

#include "tether.h"

G_BEGIN_DECLS

/* Adds a new template to both lists, registered. */
void       _tether_registry_add_locked            (TetherTemplate *template,
                                                   gboolean        eager);
gboolean   _tether_registry_has_name_locked       (const char     *name);
gboolean   _tether_registry_set_eager             (TetherTemplate *template,
                                                   gboolean        eager);
gboolean   _tether_registry_get_eager             (TetherTemplate *template);
/* Takes a finalizing template off the list of live ones. */
void       _tether_registry_forget_locked         (TetherTemplate *template);
gboolean   _tether_registry_is_registered         (TetherTemplate *template);
/* Registered: the registry holds a reference on the template, and its
 * entries hold none (tether-entry.c). */
gboolean   _tether_registry_is_registered_locked  (TetherTemplate *template);
/* Takes @template off the list. TRUE if it was on it: the list's reference
 * passes to the caller, to drop after unlocking (or to hand over). */
gboolean   _tether_registry_unregister_locked     (TetherTemplate *template);
/* A snapshot of the registered templates, with references. */
GPtrArray *_tether_registry_dup_registered_locked (void);
GPtrArray *_tether_registry_dup_eager_locked      (void);
/* The registered templates in registration order; no references: read
 * under the state lock only (a template's ->eager tells which a scope
 * acquires). */
GPtrArray *_tether_registry_registered_locked     (void);
gboolean   _tether_registry_is_eager_locked       (TetherTemplate *template);
/* Every live template, registered or not; no references: iterate under the
 * state lock only. */
GPtrArray *_tether_registry_all_locked            (void);

G_END_DECLS
