/* tether-template-private.h: what a TetherTemplate is made of, the
 * template lists, and releasing a context's resources. Private to
 * libtether, never installed.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_COMPILATION)
# error "tether-template-private.h is private to libtether"
#endif

#include "tether-entry-private.h"
#include "tether-provider-private.h"

G_BEGIN_DECLS

struct _TetherTemplate
{
  GObject             parent_instance;

  TetherProviderCall  call;           /* read-only after construction (provider) */
  TetherEntryTable    table;          /* state lock, generation atomic (entry) */
  guint               registered : 1; /* state lock */
  guint               eager : 1;      /* state lock */
};

TetherTemplate *_tether_template_new_validated (const TetherProvider *copy,
                                                gpointer             provider_data,
                                                GDestroyNotify       provider_data_destroy,
                                                gboolean             eager,
                                                GError             **error);
/* Looks up the held resource of (@self, @context) under the state lock and,
 * if @ref_func is not NULL, applies it there, before a concurrent release
 * could take the resource off the table and free it. @context is resolved. */
gpointer        _tether_template_lookup_ref    (TetherTemplate      *self,
                                                GMainContext        *context,
                                                gpointer           (*ref_func) (gpointer));

/* The registered eager templates in registration order, with references:
 * what a manager's enter acquires. */
GPtrArray      *_tether_template_dup_eager_locked (void);

/* Releases gracefully what @context holds, most recently acquired first
 * (only the templates in @only, when not NULL), and ends @manager's claim
 * on the context in the same hold when @manager is not NULL. Returns how
 * many resources were released. */
guint           _tether_template_release_context (GMainContext      *context,
                                                  GPtrArray         *only,
                                                  TetherManager     *manager);

/* In a child after fork(), under the state lock: every template forgets
 * its entries (tether-lock.c). */
void            _tether_template_forget_all_locked (void);

G_END_DECLS
