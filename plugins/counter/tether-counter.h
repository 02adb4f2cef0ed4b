/* tether-counter.h: the resource of the "counter" provider
 *
 * Installed as <tether/tether-counter.h>; needs GLib only.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What tether_template_acquire() returns for the "counter" template. */
typedef struct
{
  guint64       serial;    /* unique per process, from `start` upwards */
  GMainContext *context;   /* identity only, never a reference */
  guint         uses;      /* free for the caller to bump */
} TetherCounter;

G_END_DECLS
