/* tether-runtime-version.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <glib.h>

#include "tether-version-macros.h"

G_BEGIN_DECLS

TETHER_AVAILABLE_IN_0_2
guint       tether_get_major_version (void) G_GNUC_CONST;
TETHER_AVAILABLE_IN_0_2
guint       tether_get_minor_version (void) G_GNUC_CONST;
TETHER_AVAILABLE_IN_0_2
guint       tether_get_micro_version (void) G_GNUC_CONST;
TETHER_AVAILABLE_IN_0_2
const char *tether_check_version     (guint required_major,
                                      guint required_minor,
                                      guint required_micro);

G_END_DECLS
