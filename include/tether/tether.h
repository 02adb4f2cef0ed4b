/* tether.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TETHER_INSIDE
# include "tether-version.h"
# include "tether-version-macros.h"
#include "tether-runtime-version.h"
# include "tether-enums.h"
# include "tether-error.h"
# include "tether-provider.h"
# include "tether-template.h"
#include "tether-stats.h"
# include "tether-object-template.h"
# include "tether-manager.h"
# include "tether-global.h"
# include "tether-loader.h"
#undef TETHER_INSIDE

G_END_DECLS
