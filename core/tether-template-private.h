/* tether-template-private.h: what a TetherTemplate is made of. Private to
 * libtether, never installed; struct-only, included by the files that own
 * a part of it, each of which touches only its own part.
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

  TetherProviderCall  call;           /* tether-provider.c; read-only after construction */
  TetherEntryTable    table;          /* tether-entry.c; state lock, generation atomic */
  guint               registered : 1; /* tether-registry.c; state lock */
  guint               eager : 1;      /* tether-registry.c; state lock */
};

TetherTemplate *_tether_template_new_validated (const TetherProvider *copy,
                                                gpointer             provider_data,
                                                GDestroyNotify       provider_data_destroy,
                                                gboolean             eager,
                                                GError             **error);
gpointer        _tether_template_lookup_ref    (TetherTemplate      *self,
                                                GMainContext        *context,
                                                gpointer           (*ref_func) (gpointer));

G_END_DECLS
