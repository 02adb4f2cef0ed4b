/* tether-janitor-private.h: watching the contexts tether serves, cleaning
 * up after dead ones, and reporting what exited threads left behind.
 * Private to libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-janitor-private.h is private to libtether"
#endif

#include "tether-context-record-private.h"

G_BEGIN_DECLS

/* The record of @context, created with its sentinel attached if it has
 * none. The caller guarantees @context is alive (it is the caller's own
 * context, or the caller holds a reference). */
TetherContextRecord *_tether_janitor_watch_locked          (GMainContext        *context);
/* When a live context has nothing left (no entries, no manager), drops its
 * record. Returns the sentinel to pass to _tether_janitor_finish_unwatch()
 * after unlocking, by a caller that guarantees the context is alive. */
GSource             *_tether_janitor_unwatch_if_idle_locked (TetherContextRecord *record) G_GNUC_WARN_UNUSED_RESULT;
void                 _tether_janitor_finish_unwatch        (GSource             *sentinel);

/* Remembers that this thread acquired an unmanaged resource for its
 * thread-default @context, for the leak check at its exit. */
void                 _tether_janitor_watch_thread_locked   (GMainContext        *context,
                                                            guint64              record_id);

/* Releases, ungracefully and outside the lock, every queued resource of a
 * dead context (only @only's when @only is not NULL). Returns how many. */
guint                _tether_janitor_purge                 (TetherTemplate      *only);

gboolean             _tether_janitor_unmanaged_warning_enabled (void);
/* Not under the state lock: it logs. */
void                 _tether_janitor_warn_unmanaged        (const char          *name,
                                                            GMainContext        *context);

G_END_DECLS
