/* tether-loader-private.h: private to libtether, never installed.
 *
 * The parsers of the provider loader, separate from the code that opens
 * files so that tests and fuzz targets can feed them arbitrary input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "tether-provider-private.h"
#include "tether-template-private.h"

G_BEGIN_DECLS

/* GObject data key under which a template made by the loader keeps the
 * resolved path of its module (a string owned by the template). */
#define TETHER_LOADER_MODULE_PATH_KEY "tether-module-path"

/* Splits a TETHER_PROVIDER_PATH-style value at ':' and keeps, in order, the
 * entries that are absolute paths (empty and relative entries are dropped:
 * a relative entry would make the search depend on the working directory).
 * @value may be NULL. Never returns NULL. */
char     **_tether_loader_parse_search_path (const char  *value);

/* Parses provider configuration text (GKeyFile syntax). Every group must be
 * `[provider NAME]` with a valid provider name. Fails with
 * TETHER_ERROR_INVALID_CONFIG. @data need not be NUL-terminated; it may
 * contain NUL bytes (they are refused). @out_config may be NULL. */
gboolean   _tether_loader_parse_config      (const char  *data,
                                             gsize        length,
                                             GKeyFile   **out_config,
                                             GError     **error);

/* The search path as it would be for @env_value and @secure_mode; what
 * tether_get_provider_search_path() uses with the real environment and
 * getauxval (AT_SECURE). */
char     **_tether_loader_search_path_for   (const char  *env_value,
                                             gboolean     secure_mode);

/* Whether the process runs in secure mode (setuid, setgid, capabilities):
 * getauxval (AT_SECURE). */
gboolean   _tether_loader_is_secure_mode    (void);

/* Whether @name is a valid provider name (the alphabet the core enforces). */
gboolean   _tether_loader_name_is_valid     (const char  *name);

G_END_DECLS
