/* tether-loader-config.c: what the loader reads besides modules
 *
 * Provider names, provider configuration text, the TETHER_PROVIDER_PATH
 * search path and secure mode. Pure functions of their input (and of the
 * environment, for the search path): no state, no lock, and each parser
 * reachable by the fuzz targets.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "tether-loader-private.h"

/* The core's one provider-name rule (tether-provider.c). */
gboolean
_tether_loader_name_is_valid (const char *name)
{
  return _tether_provider_name_is_valid (name);
}

char **
_tether_loader_parse_search_path_full (const char *value,
                                       GPtrArray  *ignored)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (value != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (value, G_SEARCHPATH_SEPARATOR_S, -1);

      for (guint i = 0; parts[i] != NULL; i++)
        {
          if (parts[i][0] == '\0')
            continue;   /* "a::b" or a trailing ':' is a common slip, not a choice */

          if (g_path_is_absolute (parts[i]))
            {
              g_strv_builder_add (builder, parts[i]);
              continue;
            }

          if (ignored != NULL)
            {
              g_autofree char *shown = g_utf8_make_valid (parts[i], -1);
              g_autofree char *cwd = g_get_current_dir ();
              g_autofree char *absolute = g_canonicalize_filename (shown, cwd);

              g_ptr_array_add (ignored,
                               _tether_load_failure_new_take (parts[i], TETHER_LOAD_STAGE_NONE,
                                 g_error_new (TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG,
                                              "%s entry '%s' is ignored: it is a relative path, "
                                              "and the search must not depend on the working "
                                              "directory; write it as an absolute path (here "
                                              "%s)",
                                              TETHER_PROVIDER_PATH_ENV, shown, absolute)));
            }
        }
    }

  return g_strv_builder_end (builder);
}

char **
_tether_loader_parse_search_path (const char *value)
{
  return _tether_loader_parse_search_path_full (value, NULL);
}

gboolean
_tether_loader_parse_config (const char  *data,
                             gsize        length,
                             GKeyFile   **out_config,
                             GError     **error)
{
  g_autoptr(GKeyFile) config = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_config != NULL)
    *out_config = NULL;

  /* GKeyFile stops at an embedded NUL without saying so; refuse it rather
   * than silently ignore the rest of the text. */
  if (length > 0 && memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG,
                   "Provider configuration contains a NUL byte");
      return FALSE;
    }

  if (length > 0 &&
      !g_key_file_load_from_data (config, data, length, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG,
                   "Provider configuration is not valid key file syntax: %s",
                   local_error->message);
      return FALSE;
    }

  groups = g_key_file_get_groups (config, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      const char *group = groups[i];

      if (!g_str_has_prefix (group, TETHER_LOADER_CONFIG_GROUP_PREFIX) ||
          !_tether_loader_name_is_valid (group + strlen (TETHER_LOADER_CONFIG_GROUP_PREFIX)))
        {
          g_autofree char *shown = g_utf8_make_valid (group, -1);

          g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG,
                       "Provider configuration group [%s] is not of the form "
                       "[provider NAME] with a valid provider name",
                       shown);
          return FALSE;
        }
    }

  if (out_config != NULL)
    *out_config = g_steal_pointer (&config);
  return TRUE;
}

/**
 * tether_provider_config_new_from_file:
 * @path: (type filename): a provider configuration file
 * @error: return location for a #GError
 *
 * Reads a provider configuration file: key file syntax, one group
 * `[provider NAME]` per provider, for instance
 *
 * ```ini
 * [provider soup-session]
 * user-agent=my-app/1.0
 * max-conns=8
 * ```
 *
 * The result is what [func@Tether.load_provider] and
 * [func@Tether.load_providers] take as `config`. Callable from any thread.
 *
 * Returns: (transfer full) (nullable): the configuration, or %NULL with
 *   %TETHER_ERROR_INVALID_CONFIG (or a #GFileError) set
 */
GKeyFile *
tether_provider_config_new_from_file (const char  *path,
                                      GError     **error)
{
  g_autofree char *data = NULL;
  GKeyFile *config = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;

  if (!_tether_loader_parse_config (data, length, &config, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }

  return config;
}

/* ------------------------------------------------------------------------ */
/* Search path                                                              */
/* ------------------------------------------------------------------------ */

char **
_tether_loader_search_path_for (const char *env_value,
                                gboolean    secure_mode)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (!secure_mode)
    {
      g_auto(GStrv) from_env = _tether_loader_parse_search_path (env_value);

      g_strv_builder_addv (builder, (const char **) from_env);
    }
  g_strv_builder_add (builder, TETHER_PROVIDER_DIR);

  return g_strv_builder_end (builder);
}

/**
 * tether_get_provider_search_path:
 *
 * Gets the directories [func@Tether.load_providers] searches when given no
 * directories, in order: the absolute entries of the colon-separated
 * `TETHER_PROVIDER_PATH` environment variable, then the installed provider
 * directory (`$libdir/tether-1/providers`). A relative entry is not used
 * (the search must not depend on the working directory); loading or
 * listing the search path reports it as a failure, with the absolute path
 * to write instead.
 *
 * In a process running in secure mode (setuid or setgid, or with file
 * capabilities: `getauxval (AT_SECURE)` is non-zero) the environment
 * variable is ignored, as GIO ignores `GIO_MODULE_DIR`: an unprivileged user
 * must not be able to make a privileged program run code of their choice.
 * Loading or listing the search path then reports that too.
 *
 * Callable from any thread; reads the environment at each call.
 *
 * Returns: (transfer full) (array zero-terminated=1) (element-type filename):
 *   the directories; free with g_strfreev()
 */
char **
tether_get_provider_search_path (void)
{
  return _tether_loader_search_path_checked (NULL);
}

char **
_tether_loader_search_path_checked (GPtrArray *ignored)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char *value = _tether_env_get_path (TETHER_PROVIDER_PATH_ENV);

  if (value != NULL)
    {
      g_auto(GStrv) from_env = _tether_loader_parse_search_path_full (value, ignored);

      g_strv_builder_addv (builder, (const char **) from_env);
    }
  else if (ignored != NULL && _tether_env_is_ignored (TETHER_PROVIDER_PATH_ENV))
    {
      g_ptr_array_add (ignored,
                       _tether_load_failure_new_take (TETHER_PROVIDER_PATH_ENV, TETHER_LOAD_STAGE_NONE,
                         g_error_new (TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG,
                                      "%s is ignored: this program runs in secure mode "
                                      "(setuid, setgid or file capabilities), where the "
                                      "environment must not choose the code it runs; "
                                      "install the module into %s instead",
                                      TETHER_PROVIDER_PATH_ENV, TETHER_PROVIDER_DIR)));
    }
  g_strv_builder_add (builder, TETHER_PROVIDER_DIR);

  return g_strv_builder_end (builder);
}
