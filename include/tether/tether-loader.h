/* tether-loader.h: provider modules
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether/tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-template.h"
#include "tether-version-macros.h"

G_BEGIN_DECLS

/**
 * TETHER_PROVIDER_PATH_ENV:
 *
 * The environment variable holding extra, colon-separated provider
 * directories searched before the installed one. Ignored in setuid and
 * setgid programs.
 */
#define TETHER_PROVIDER_PATH_ENV "TETHER_PROVIDER_PATH"

/**
 * TetherLoadFlags:
 * @TETHER_LOAD_NONE: no flags
 * @TETHER_LOAD_ALLOW_INSECURE_PATH: load modules even when the file or its
 *   directory is writable by group or others, or owned by another user than
 *   root or the caller. Only for development trees with an unusual umask;
 *   never in production.
 *
 * Flags for [func@Tether.load_provider_full] and the other loader functions.
 */
typedef enum /*< flags >*/
{
  TETHER_LOAD_NONE                = 0,
  TETHER_LOAD_ALLOW_INSECURE_PATH = 1 << 0,
} TetherLoadFlags;

#define TETHER_TYPE_LOAD_FAILURE (tether_load_failure_get_type ())
#define TETHER_TYPE_PROVIDER_INFO (tether_provider_info_get_type ())

/**
 * TetherLoadFailure:
 *
 * One file (or directory) the loader could not use, and why. Immutable.
 */
typedef struct _TetherLoadFailure TetherLoadFailure;

/**
 * TetherProviderInfo:
 *
 * What a provider module says about itself, read by
 * [func@Tether.list_providers] without calling its `init` hook. Immutable.
 */
typedef struct _TetherProviderInfo TetherProviderInfo;

TETHER_AVAILABLE_IN_ALL
GType               tether_load_failure_get_type     (void) G_GNUC_CONST;
TETHER_AVAILABLE_IN_ALL
TetherLoadFailure  *tether_load_failure_copy         (const TetherLoadFailure *failure);
TETHER_AVAILABLE_IN_ALL
void                tether_load_failure_free         (TetherLoadFailure       *failure);
TETHER_AVAILABLE_IN_ALL
const char         *tether_load_failure_get_path     (const TetherLoadFailure *failure);
TETHER_AVAILABLE_IN_ALL
const GError       *tether_load_failure_get_error    (const TetherLoadFailure *failure);

TETHER_AVAILABLE_IN_ALL
GType               tether_provider_info_get_type    (void) G_GNUC_CONST;
TETHER_AVAILABLE_IN_ALL
TetherProviderInfo *tether_provider_info_copy        (const TetherProviderInfo *info);
TETHER_AVAILABLE_IN_ALL
void                tether_provider_info_free        (TetherProviderInfo       *info);
TETHER_AVAILABLE_IN_ALL
const char         *tether_provider_info_get_name    (const TetherProviderInfo *info);
TETHER_AVAILABLE_IN_ALL
const char         *tether_provider_info_get_description (const TetherProviderInfo *info);
TETHER_AVAILABLE_IN_ALL
const char         *tether_provider_info_get_path    (const TetherProviderInfo *info);
TETHER_AVAILABLE_IN_ALL
guint32             tether_provider_info_get_abi_version (const TetherProviderInfo *info);
TETHER_AVAILABLE_IN_ALL
gboolean            tether_provider_info_get_is_async (const TetherProviderInfo *info);

TETHER_AVAILABLE_IN_ALL
char              **tether_get_provider_search_path  (void) G_GNUC_WARN_UNUSED_RESULT;

TETHER_AVAILABLE_IN_ALL
TetherTemplate     *tether_load_provider             (const char               *path,
                                                      GKeyFile                 *config,
                                                      GError                  **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
TetherTemplate     *tether_load_provider_full        (const char               *path,
                                                      GKeyFile                 *config,
                                                      TetherLoadFlags           flags,
                                                      GError                  **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
guint               tether_load_providers            (const char * const       *dirs,
                                                      GKeyFile                 *config,
                                                      GPtrArray               **failures);
TETHER_AVAILABLE_IN_ALL
guint               tether_load_providers_full       (const char * const       *dirs,
                                                      GKeyFile                 *config,
                                                      TetherLoadFlags           flags,
                                                      GPtrArray               **templates,
                                                      GPtrArray               **failures);
/* Listing opens each module (same checks as loading) and calls only its
 * entry point: no init, no registration, no metadata file or cache that
 * could disagree with the module. See tether_list_providers() and
 * docs/plugins.md for why. */
TETHER_AVAILABLE_IN_ALL
GPtrArray          *tether_list_providers            (const char * const       *dirs,
                                                      TetherLoadFlags           flags,
                                                      GPtrArray               **failures) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
GKeyFile           *tether_provider_config_new_from_file (const char          *path,
                                                      GError                  **error) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherLoadFailure, tether_load_failure_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherProviderInfo, tether_provider_info_free)

G_END_DECLS
