/* tether-version-macros.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <glib.h>

#ifndef _TETHER_EXTERN
# define _TETHER_EXTERN __attribute__((visibility ("default"))) extern
#endif

/* Every public declaration carries one of these, so that the exported
 * symbol list is exactly the public API (the library is built with
 * hidden visibility by default). TETHER_AVAILABLE_IN_ALL marks the API of
 * the first release (0.1); each later addition names the release that
 * added it, with a matching `Since:` line in its doc comment. */
#define TETHER_AVAILABLE_IN_ALL _TETHER_EXTERN
#define TETHER_AVAILABLE_IN_0_2 _TETHER_EXTERN
