/* tether-loader.h: provider modules
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
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
 * TETHER_LIST_DEFAULT_TIMEOUT_MS:
 *
 * How long [func@Tether.list_providers_full] lets the helper process
 * examine one module, when given a timeout of 0: ten seconds.
 *
 * Since: 0.2
 */
#define TETHER_LIST_DEFAULT_TIMEOUT_MS 10000

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

/**
 * TetherLoadStage:
 * @TETHER_LOAD_STAGE_NONE: not a module's own stage: a directory or a
 *   search path entry that could not be used, or the scanner helper that
 *   could not run
 * @TETHER_LOAD_STAGE_CHECK: the path, ownership and permission checks,
 *   before the module is opened
 * @TETHER_LOAD_STAGE_OPEN: `dlopen`: the module's dependencies are loaded
 *   and its ELF constructors run
 * @TETHER_LOAD_STAGE_ENTRY: the call of the module's `tether_provider_entry`
 * @TETHER_LOAD_STAGE_VALIDATE: the checks of the vtable it returned
 * @TETHER_LOAD_STAGE_REGISTER: the check that no other provider has its
 *   name
 * @TETHER_LOAD_STAGE_INIT: the module's `init` hook
 * @TETHER_LOAD_STAGE_ACQUIRE: the first `acquire` (only when a module is
 *   exercised, as `tether-inspect FILE` does)
 * @TETHER_LOAD_STAGE_RELEASE: the `release` of that resource
 * @TETHER_LOAD_STAGE_SHUTDOWN: the module's `shutdown` hook
 *
 * Where loading or examining a module failed, as given by
 * [method@Tether.LoadFailure.get_stage]. The stages are in the order the
 * loader goes through them.
 *
 * Since: 0.2
 */
typedef enum
{
  TETHER_LOAD_STAGE_NONE,
  TETHER_LOAD_STAGE_CHECK,
  TETHER_LOAD_STAGE_OPEN,
  TETHER_LOAD_STAGE_ENTRY,
  TETHER_LOAD_STAGE_VALIDATE,
  TETHER_LOAD_STAGE_REGISTER,
  TETHER_LOAD_STAGE_INIT,
  TETHER_LOAD_STAGE_ACQUIRE,
  TETHER_LOAD_STAGE_RELEASE,
  TETHER_LOAD_STAGE_SHUTDOWN,
} TetherLoadStage;

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
TETHER_AVAILABLE_IN_0_2
TetherLoadStage     tether_load_failure_get_stage    (const TetherLoadFailure *failure);

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
TETHER_AVAILABLE_IN_0_2
const char         *tether_provider_info_get_resource_type (const TetherProviderInfo *info);

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
TETHER_AVAILABLE_IN_0_2
TetherTemplate     *tether_load_provider_by_name     (const char               *name,
                                                      GKeyFile                 *config,
                                                      GError                  **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
guint               tether_load_providers            (const char *const        *dirs,
                                                      GKeyFile                 *config,
                                                      GPtrArray               **failures);
TETHER_AVAILABLE_IN_ALL
guint               tether_load_providers_full       (const char *const        *dirs,
                                                      GKeyFile                 *config,
                                                      TetherLoadFlags           flags,
                                                      GPtrArray               **templates,
                                                      GPtrArray               **failures);
/* Listing opens each module (same checks as loading) and calls only its
 * entry point: no init, no registration, no metadata file or cache that
 * could disagree with the module. tether_list_providers() does it in the
 * calling process; tether_list_providers_full() in a helper process per
 * module, so that a module that crashes or hangs is reported instead of
 * taking the caller down. See docs/plugins.md for why. */
TETHER_AVAILABLE_IN_ALL
GPtrArray          *tether_list_providers            (const char *const        *dirs,
                                                      TetherLoadFlags           flags,
                                                      GPtrArray               **failures) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_0_2
GPtrArray          *tether_list_providers_full       (const char *const        *dirs,
                                                      TetherLoadFlags           flags,
                                                      guint                     timeout_ms,
                                                      GPtrArray               **failures) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_ALL
GKeyFile           *tether_provider_config_new_from_file (const char          *path,
                                                      GError                  **error) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherLoadFailure, tether_load_failure_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherProviderInfo, tether_provider_info_free)

G_END_DECLS
