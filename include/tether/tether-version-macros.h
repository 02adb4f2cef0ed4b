/* tether-version-macros.h
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <glib.h>

#include "tether-version.h"

#ifndef _TETHER_EXTERN
# define _TETHER_EXTERN __attribute__((visibility ("default"))) extern
#endif

/**
 * TETHER_VERSION_0_1:
 *
 * The version of tether 0.1, for %TETHER_VERSION_MIN_REQUIRED and
 * %TETHER_VERSION_MAX_ALLOWED.
 *
 * Since: 0.2
 */
#define TETHER_VERSION_0_1 (G_ENCODE_VERSION (0, 1))

/**
 * TETHER_VERSION_0_2:
 *
 * The version of tether 0.2, for %TETHER_VERSION_MIN_REQUIRED and
 * %TETHER_VERSION_MAX_ALLOWED.
 *
 * Since: 0.2
 */
#define TETHER_VERSION_0_2 (G_ENCODE_VERSION (0, 2))

/**
 * TETHER_VERSION_CUR_STABLE:
 *
 * The version of the headers, in the form of the `TETHER_VERSION_*`
 * macros: the default of %TETHER_VERSION_MIN_REQUIRED and
 * %TETHER_VERSION_MAX_ALLOWED.
 *
 * Since: 0.2
 */
#define TETHER_VERSION_CUR_STABLE \
  (G_ENCODE_VERSION (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION))

/**
 * TETHER_VERSION_PREV_STABLE:
 *
 * The version of the release before the headers', in the form of the
 * `TETHER_VERSION_*` macros.
 *
 * Since: 0.2
 */
#define TETHER_VERSION_PREV_STABLE \
  (G_ENCODE_VERSION (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION - 1))

/**
 * TETHER_VERSION_MIN_REQUIRED:
 *
 * The oldest tether a program promises to run with, as one of the
 * `TETHER_VERSION_*` macros; define it before including
 * `<tether/tether.h>` (or with `-D` on the compiler's command line).
 *
 * API deprecated in a later release than this gives no deprecation
 * warning: a program that must still build against the older release
 * cannot use the replacement yet. The default is
 * %TETHER_VERSION_CUR_STABLE.
 *
 * Since: 0.2
 */
#ifndef TETHER_VERSION_MIN_REQUIRED
# define TETHER_VERSION_MIN_REQUIRED (TETHER_VERSION_CUR_STABLE)
#endif

/**
 * TETHER_VERSION_MAX_ALLOWED:
 *
 * The newest tether API a program may use, as one of the
 * `TETHER_VERSION_*` macros; define it before including
 * `<tether/tether.h>` (or with `-D` on the compiler's command line).
 *
 * Using API added after this version gives a warning ("Not available
 * before 0.2"), so that a program which says it builds against an older
 * tether does not use newer API by mistake. The default is
 * %TETHER_VERSION_CUR_STABLE.
 *
 * Since: 0.2
 */
#ifndef TETHER_VERSION_MAX_ALLOWED
# if TETHER_VERSION_MIN_REQUIRED > TETHER_VERSION_CUR_STABLE
#  define TETHER_VERSION_MAX_ALLOWED (TETHER_VERSION_MIN_REQUIRED)
# else
#  define TETHER_VERSION_MAX_ALLOWED (TETHER_VERSION_CUR_STABLE)
# endif
#endif

#if TETHER_VERSION_MIN_REQUIRED > TETHER_VERSION_CUR_STABLE
# error "TETHER_VERSION_MIN_REQUIRED is newer than these tether headers"
#endif
#if TETHER_VERSION_MAX_ALLOWED < TETHER_VERSION_MIN_REQUIRED
# error "TETHER_VERSION_MAX_ALLOWED must be >= TETHER_VERSION_MIN_REQUIRED"
#endif
#if TETHER_VERSION_MIN_REQUIRED < TETHER_VERSION_0_1
# error "TETHER_VERSION_MIN_REQUIRED must be TETHER_VERSION_0_1 or later"
#endif

/**
 * TETHER_DEPRECATED:
 *
 * Marks a declaration as deprecated, with no replacement: using it gives
 * a `-Wdeprecated-declarations` warning.
 *
 * Since: 0.2
 */
/**
 * TETHER_DEPRECATED_FOR:
 * @f: the name of the replacement
 *
 * Marks a declaration as deprecated in favour of @f: using it gives a
 * `-Wdeprecated-declarations` warning that names @f.
 *
 * Since: 0.2
 */
/**
 * TETHER_UNAVAILABLE:
 * @maj: the major version that added the declaration
 * @min: the minor version that added the declaration
 *
 * Marks a declaration added in @maj.@min, used by a program whose
 * %TETHER_VERSION_MAX_ALLOWED is older: using it gives a
 * `-Wdeprecated-declarations` warning, "Not available before @maj.@min".
 *
 * Since: 0.2
 */
#ifdef TETHER_DISABLE_DEPRECATION_WARNINGS
# define TETHER_DEPRECATED            _TETHER_EXTERN
# define TETHER_DEPRECATED_FOR(f)     _TETHER_EXTERN
# define TETHER_UNAVAILABLE(maj, min) _TETHER_EXTERN
#else
# define TETHER_DEPRECATED            G_DEPRECATED _TETHER_EXTERN
# define TETHER_DEPRECATED_FOR(f)     G_DEPRECATED_FOR (f) _TETHER_EXTERN
# define TETHER_UNAVAILABLE(maj, min) G_UNAVAILABLE (maj, min) _TETHER_EXTERN
#endif

/* Every public declaration carries one of these, so that the exported
 * symbol list is exactly the public API (the library is built with
 * hidden visibility by default). TETHER_AVAILABLE_IN_ALL marks the API of
 * the first release (0.1); each later addition names the release that
 * added it, with a matching `Since:` line in its doc comment. A
 * deprecation uses TETHER_DEPRECATED_IN_X_Y (or _FOR), which warns only
 * programs whose TETHER_VERSION_MIN_REQUIRED is X.Y or later. */
#define TETHER_AVAILABLE_IN_ALL _TETHER_EXTERN

/**
 * TETHER_DEPRECATED_IN_0_1_FOR:
 * @f: the name of the replacement
 *
 * Marks a declaration deprecated in 0.1 in favour of @f. Like
 * [func@Tether.DEPRECATED_FOR], but it warns only programs whose
 * %TETHER_VERSION_MIN_REQUIRED is 0.1 or later (the default); without a
 * replacement, `TETHER_DEPRECATED_IN_0_1`.
 *
 * Since: 0.2
 */
#if TETHER_VERSION_MIN_REQUIRED >= TETHER_VERSION_0_1
# define TETHER_DEPRECATED_IN_0_1 TETHER_DEPRECATED
# define TETHER_DEPRECATED_IN_0_1_FOR(f) TETHER_DEPRECATED_FOR (f)
#else
# define TETHER_DEPRECATED_IN_0_1 _TETHER_EXTERN
# define TETHER_DEPRECATED_IN_0_1_FOR(f) _TETHER_EXTERN
#endif

#if TETHER_VERSION_MAX_ALLOWED < TETHER_VERSION_0_1
# define TETHER_AVAILABLE_IN_0_1 TETHER_UNAVAILABLE (0, 1)
#else
# define TETHER_AVAILABLE_IN_0_1 _TETHER_EXTERN
#endif

/**
 * TETHER_DEPRECATED_IN_0_2_FOR:
 * @f: the name of the replacement
 *
 * Marks a declaration deprecated in 0.2 in favour of @f. Like
 * [func@Tether.DEPRECATED_FOR], but it warns only programs whose
 * %TETHER_VERSION_MIN_REQUIRED is 0.2 or later (the default); without a
 * replacement, `TETHER_DEPRECATED_IN_0_2`.
 *
 * Since: 0.2
 */
#if TETHER_VERSION_MIN_REQUIRED >= TETHER_VERSION_0_2
# define TETHER_DEPRECATED_IN_0_2 TETHER_DEPRECATED
# define TETHER_DEPRECATED_IN_0_2_FOR(f) TETHER_DEPRECATED_FOR (f)
#else
# define TETHER_DEPRECATED_IN_0_2 _TETHER_EXTERN
# define TETHER_DEPRECATED_IN_0_2_FOR(f) _TETHER_EXTERN
#endif

#if TETHER_VERSION_MAX_ALLOWED < TETHER_VERSION_0_2
# define TETHER_AVAILABLE_IN_0_2 TETHER_UNAVAILABLE (0, 2)
#else
# define TETHER_AVAILABLE_IN_0_2 _TETHER_EXTERN
#endif
