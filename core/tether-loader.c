/* tether-loader.c: loading provider modules
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE  /* dladdr */
#endif

#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmodule.h>

#include "tether-loader-private.h"

/*
 * Loading rules, in the order they are checked (each with its own error):
 *
 *   1. the file (and its directory) is neither writable by group or others
 *      nor owned by another user than root or the caller  -> INSECURE_PATH
 *   2. dlopen with RTLD_NOW | RTLD_LOCAL succeeds          -> MODULE_LOAD
 *   3. the module itself exports tether_provider_entry     -> NO_ENTRY_POINT
 *   4. the vtable passes _tether_provider_validate()       -> ABI_MISMATCH,
 *                                STRUCT_TOO_SMALL, INVALID_NAME, NO_ACQUIRE
 *   5. no registered template has the same name            -> DUPLICATE_NAME
 *   6. init, if any, returns provider data                 -> INIT_FAILED
 *
 * Steps 5 and 6 and the registration run under the loader lock so two
 * loads of the same name cannot both pass step 5. A module that was opened
 * is never closed, even when a later step fails: its constructors have run
 * and may have registered GTypes or exit handlers that point into it.
 */

/* Serialises duplicate check, init and registration. Recursive so that a
 * provider's init may itself load providers. */
static GRecMutex loader_lock;

/* ------------------------------------------------------------------------ */
/* Boxed types                                                              */
/* ------------------------------------------------------------------------ */

struct _TetherLoadFailure
{
  char   *path;
  GError *error;
};

struct _TetherProviderInfo
{
  char    *name;
  char    *description;
  char    *path;
  guint32  abi_version;
  gboolean is_async;
};

G_DEFINE_BOXED_TYPE (TetherLoadFailure, tether_load_failure,
                     tether_load_failure_copy, tether_load_failure_free)
G_DEFINE_BOXED_TYPE (TetherProviderInfo, tether_provider_info,
                     tether_provider_info_copy, tether_provider_info_free)

static TetherLoadFailure *
load_failure_new_take (const char *path,
                       GError     *error)
{
  TetherLoadFailure *failure = g_new0 (TetherLoadFailure, 1);

  failure->path = g_strdup (path);
  failure->error = error;
  return failure;
}

/**
 * tether_load_failure_copy:
 * @failure: a #TetherLoadFailure
 *
 * Copies @failure. Callable from any thread.
 *
 * Returns: (transfer full): a copy of @failure
 */
TetherLoadFailure *
tether_load_failure_copy (const TetherLoadFailure *failure)
{
  g_return_val_if_fail (failure != NULL, NULL);

  return load_failure_new_take (failure->path, g_error_copy (failure->error));
}

/**
 * tether_load_failure_free:
 * @failure: (nullable): a #TetherLoadFailure
 *
 * Frees @failure. Callable from any thread.
 */
void
tether_load_failure_free (TetherLoadFailure *failure)
{
  if (failure == NULL)
    return;

  g_free (failure->path);
  g_clear_error (&failure->error);
  g_free (failure);
}

/**
 * tether_load_failure_get_path:
 * @failure: a #TetherLoadFailure
 *
 * Gets the file or directory that could not be used.
 *
 * Returns: (transfer none) (type filename): the path, as the loader saw it
 */
const char *
tether_load_failure_get_path (const TetherLoadFailure *failure)
{
  g_return_val_if_fail (failure != NULL, NULL);

  return failure->path;
}

/**
 * tether_load_failure_get_error:
 * @failure: a #TetherLoadFailure
 *
 * Gets why the file could not be used: an error in the %TETHER_ERROR domain
 * whose message names the file.
 *
 * Returns: (transfer none): the error
 */
const GError *
tether_load_failure_get_error (const TetherLoadFailure *failure)
{
  g_return_val_if_fail (failure != NULL, NULL);

  return failure->error;
}

/**
 * tether_provider_info_copy:
 * @info: a #TetherProviderInfo
 *
 * Copies @info. Callable from any thread.
 *
 * Returns: (transfer full): a copy of @info
 */
TetherProviderInfo *
tether_provider_info_copy (const TetherProviderInfo *info)
{
  TetherProviderInfo *copy;

  g_return_val_if_fail (info != NULL, NULL);

  copy = g_new0 (TetherProviderInfo, 1);
  copy->name = g_strdup (info->name);
  copy->description = g_strdup (info->description);
  copy->path = g_strdup (info->path);
  copy->abi_version = info->abi_version;
  copy->is_async = info->is_async;
  return copy;
}

/**
 * tether_provider_info_free:
 * @info: (nullable): a #TetherProviderInfo
 *
 * Frees @info. Callable from any thread.
 */
void
tether_provider_info_free (TetherProviderInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->name);
  g_free (info->description);
  g_free (info->path);
  g_free (info);
}

/**
 * tether_provider_info_get_name:
 * @info: a #TetherProviderInfo
 *
 * Gets the name the module's provider gives itself. Callable from any
 * thread.
 *
 * Returns: (transfer none): the provider's name
 */
const char *
tether_provider_info_get_name (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  return info->name;
}

/**
 * tether_provider_info_get_description:
 * @info: a #TetherProviderInfo
 *
 * Gets the one-line description of the module's provider, if it has one.
 * Callable from any thread.
 *
 * Returns: (transfer none) (nullable): the provider's description
 */
const char *
tether_provider_info_get_description (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  return info->description;
}

/**
 * tether_provider_info_get_path:
 * @info: a #TetherProviderInfo
 *
 * Gets the file the provider was read from. Callable from any thread.
 *
 * Returns: (transfer none) (type filename): the module's file, symbolic
 *   links resolved
 */
const char *
tether_provider_info_get_path (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  return info->path;
}

/**
 * tether_provider_info_get_abi_version:
 * @info: a #TetherProviderInfo
 *
 * Gets the provider ABI version the module was built against. Callable
 * from any thread.
 *
 * Returns: the `abi_version` the module was built with; see
 *   TETHER_PROVIDER_ABI_VERSION_MAJOR() and TETHER_PROVIDER_ABI_VERSION_MINOR()
 */
guint32
tether_provider_info_get_abi_version (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, 0);

  return info->abi_version;
}

/**
 * tether_provider_info_get_is_async:
 * @info: a #TetherProviderInfo
 *
 * Tells whether the provider only acquires asynchronously. Callable from
 * any thread.
 *
 * Returns: whether the provider acquires asynchronously only (it has no
 *   synchronous `acquire`)
 */
gboolean
tether_provider_info_get_is_async (const TetherProviderInfo *info)
{
  g_return_val_if_fail (info != NULL, FALSE);

  return info->is_async;
}

/* ------------------------------------------------------------------------ */
/* Parsers                                                                  */
/* ------------------------------------------------------------------------ */

/* The core's one provider-name rule (tether-provider.c). */
gboolean
_tether_loader_name_is_valid (const char *name)
{
  return _tether_provider_name_is_valid (name);
}

char **
_tether_loader_parse_search_path (const char *value)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (value != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (value, G_SEARCHPATH_SEPARATOR_S, -1);

      for (guint i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0' && g_path_is_absolute (parts[i]))
          g_strv_builder_add (builder, parts[i]);
    }

  return g_strv_builder_end (builder);
}

#define CONFIG_GROUP_PREFIX "provider "

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

      if (!g_str_has_prefix (group, CONFIG_GROUP_PREFIX) ||
          !_tether_loader_name_is_valid (group + strlen (CONFIG_GROUP_PREFIX)))
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

gboolean
_tether_loader_is_secure_mode (void)
{
  return getauxval (AT_SECURE) != 0;
}

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
 * directory (`$libdir/tether-1/providers`).
 *
 * In a process running in secure mode (setuid or setgid, or with file
 * capabilities: `getauxval (AT_SECURE)` is non-zero) the environment
 * variable is ignored, as GIO ignores `GIO_MODULE_DIR`: an unprivileged user
 * must not be able to make a privileged program run code of their choice.
 *
 * Callable from any thread; reads the environment at each call.
 *
 * Returns: (transfer full) (array zero-terminated=1) (element-type filename):
 *   the directories; free with g_strfreev()
 */
char **
tether_get_provider_search_path (void)
{
  gboolean secure = _tether_loader_is_secure_mode ();

  return _tether_loader_search_path_for (secure ? NULL : g_getenv (TETHER_PROVIDER_PATH_ENV),
                                         secure);
}

/* ------------------------------------------------------------------------ */
/* Opening modules                                                          */
/* ------------------------------------------------------------------------ */

/* Refuses what anyone but root or the caller could have written. */
static gboolean
check_secure (const char  *path,
              const char  *what,
              GError     **error)
{
  struct stat st;

  if (stat (path, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Cannot load provider %s %s: %s", what, path, g_strerror (saved_errno));
      return FALSE;
    }

  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH,
                   "Refusing provider %s %s: it is writable by %s (mode %04o)",
                   what, path,
                   (st.st_mode & S_IWOTH) != 0 ? "others" : "its group",
                   (guint) (st.st_mode & 07777));
      return FALSE;
    }

  if (st.st_uid != 0 && st.st_uid != geteuid ())
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH,
                   "Refusing provider %s %s: it is owned by uid %u, neither root nor "
                   "the effective user (uid %u)",
                   what, path, (guint) st.st_uid, (guint) geteuid ());
      return FALSE;
    }

  return TRUE;
}

/* Opens the module at @path and gets its vtable, validated into @out_copy.
 * Stores the resolved path in @out_real_path and the vtable as the module
 * gave it in @out_provider. No provider function is called except the
 * entry point. */
static gboolean
open_module (const char            *path,
             TetherLoadFlags        flags,
             char                 **out_real_path,
             const TetherProvider **out_provider,
             TetherProvider        *out_copy,
             GError               **error)
{
  g_autofree char *real_path = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GError) local_error = NULL;
  TetherProviderEntryFunc entry = NULL;
  const TetherProvider *provider;
  GModule *module;
  Dl_info dl_info;

  real_path = realpath (path, NULL);
  if (real_path == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Cannot load provider module %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  if (!g_file_test (real_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Cannot load provider module %s: not a regular file", path);
      return FALSE;
    }

  dir = g_path_get_dirname (real_path);
  if ((flags & TETHER_LOAD_ALLOW_INSECURE_PATH) == 0 &&
      (!check_secure (dir, "directory", error) || !check_secure (real_path, "module", error)))
    return FALSE;

  /* Immediate binding: an unresolved symbol fails here, not at first use.
   * Local binding: the module's symbols do not satisfy other modules. */
  module = g_module_open_full (real_path, G_MODULE_BIND_LOCAL, &local_error);
  if (module == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Cannot load provider module %s: %s", path, local_error->message);
      return FALSE;
    }
  /* Never unmapped: resources, types and handlers may point into it. */
  g_module_make_resident (module);

  /* dlsym() on a handle also searches the module's dependencies; the entry
   * point must be the module's own. */
  if (!g_module_symbol (module, TETHER_PROVIDER_ENTRY_SYMBOL, (gpointer *) &entry) ||
      entry == NULL ||
      dladdr ((void *) entry, &dl_info) == 0 || dl_info.dli_fname == NULL ||
      !g_file_test (dl_info.dli_fname, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ENTRY_POINT,
                   "Provider module %s does not export the symbol %s "
                   "(define it with TETHER_DEFINE_PROVIDER)",
                   path, TETHER_PROVIDER_ENTRY_SYMBOL);
      return FALSE;
    }
  else
    {
      g_autofree char *entry_file = realpath (dl_info.dli_fname, NULL);

      if (entry_file == NULL || strcmp (entry_file, real_path) != 0)
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ENTRY_POINT,
                       "Provider module %s does not export the symbol %s itself "
                       "(it was found in %s, one of its dependencies)",
                       path, TETHER_PROVIDER_ENTRY_SYMBOL, dl_info.dli_fname);
          return FALSE;
        }
    }

  provider = entry ();
  if (provider == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ENTRY_POINT,
                   "Provider module %s: %s returned NULL",
                   path, TETHER_PROVIDER_ENTRY_SYMBOL);
      return FALSE;
    }

  if (!_tether_provider_validate (provider, out_copy, error))
    {
      g_prefix_error (error, "Provider module %s: ", path);
      return FALSE;
    }

  *out_real_path = g_steal_pointer (&real_path);
  *out_provider = provider;
  return TRUE;
}

static gboolean
name_is_registered (const char *name)
{
  g_autoptr(GPtrArray) templates = tether_dup_templates ();

  for (guint i = 0; i < templates->len; i++)
    if (g_strcmp0 (tether_template_get_name (g_ptr_array_index (templates, i)), name) == 0)
      return TRUE;

  return FALSE;
}

/**
 * tether_load_provider_full:
 * @path: (type filename): a provider module (a shared object)
 * @config: (nullable): provider configuration; the module's `init` gets it
 *   with the group name `provider NAME` (the group may be absent). %NULL
 *   gives `init` an empty key file.
 * @flags: #TetherLoadFlags
 * @error: return location for a #GError
 *
 * Loads one provider module and registers the template made from it, as
 * [ctor@Tether.Template.new] does for a static provider.
 *
 * The module is opened with immediate, local symbol binding (an unresolved
 * symbol fails now, not at first use) and is never unloaded. Before any
 * provider function runs, this checks, each with its own %TETHER_ERROR code
 * and a message naming @path: the file and its directory are not writable
 * by group or others and are owned by root or the effective user
 * (%TETHER_ERROR_INSECURE_PATH, unless @flags has
 * %TETHER_LOAD_ALLOW_INSECURE_PATH); the file loads
 * (%TETHER_ERROR_MODULE_LOAD); it exports `tether_provider_entry`
 * (%TETHER_ERROR_NO_ENTRY_POINT); the vtable's ABI major version, size,
 * name and acquire functions are valid (%TETHER_ERROR_ABI_MISMATCH,
 * %TETHER_ERROR_STRUCT_TOO_SMALL, %TETHER_ERROR_INVALID_NAME,
 * %TETHER_ERROR_NO_ACQUIRE); no registered template has the same name
 * (%TETHER_ERROR_DUPLICATE_NAME). Then the module's `init` runs, and its
 * failure gives %TETHER_ERROR_INIT_FAILED. The template calls the module's
 * `shutdown` with the data `init` returned when it is finalized.
 *
 * Callable from any thread. Loads are serialised with each other; `init`
 * runs on the calling thread, with no tether lock held.
 *
 * Returns: (transfer full) (nullable): the new registered template (the
 *   global list holds another reference until it is unregistered), or %NULL
 *   with @error set
 */
TetherTemplate *
tether_load_provider_full (const char       *path,
                           GKeyFile         *config,
                           TetherLoadFlags   flags,
                           GError          **error)
{
  g_autofree char *real_path = NULL;
  g_autofree char *group = NULL;
  g_autoptr(GKeyFile) empty_config = NULL;
  g_autoptr(GError) init_error = NULL;
  const TetherProvider *provider = NULL;
  TetherProvider copy;
  TetherTemplate *template;
  gpointer provider_data = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!open_module (path, flags, &real_path, &provider, &copy, error))
    return NULL;

  g_rec_mutex_lock (&loader_lock);

  if (name_is_registered (copy.name))
    {
      g_rec_mutex_unlock (&loader_lock);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_DUPLICATE_NAME,
                   "Provider module %s: a provider named '%s' is already registered",
                   path, copy.name);
      return NULL;
    }

  if (copy.init != NULL)
    {
      group = g_strconcat (CONFIG_GROUP_PREFIX, copy.name, NULL);
      if (config == NULL)
        config = empty_config = g_key_file_new ();

      provider_data = copy.init (config, group, &init_error);
      if (provider_data == NULL || init_error != NULL)
        {
          g_rec_mutex_unlock (&loader_lock);

          if (provider_data != NULL && copy.shutdown != NULL)
            copy.shutdown (provider_data);

          if (init_error != NULL)
            g_set_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED,
                         "Provider module %s: init of provider '%s' failed: %s",
                         path, copy.name, init_error->message);
          else
            g_set_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED,
                         "Provider module %s: init of provider '%s' returned no "
                         "provider data and set no error",
                         path, copy.name);
          return NULL;
        }
    }

  template = _tether_template_new_validated (&copy, provider_data, copy.shutdown, FALSE, error);
  if (template == NULL)
    {
      g_rec_mutex_unlock (&loader_lock);
      return NULL;
    }
  g_object_set_data_full (G_OBJECT (template), TETHER_LOADER_MODULE_PATH_KEY,
                          g_steal_pointer (&real_path), g_free);

  g_rec_mutex_unlock (&loader_lock);

  g_debug ("Loaded provider '%s' from %s", copy.name, path);

  return template;
}

/**
 * tether_load_provider:
 * @path: (type filename): a provider module (a shared object)
 * @config: (nullable): provider configuration, see
 *   [func@Tether.load_provider_full]
 * @error: return location for a #GError
 *
 * Loads one provider module and registers the template made from it:
 * [func@Tether.load_provider_full] with no flags, so a module writable by
 * others is refused. Callable from any thread.
 *
 * Returns: (transfer full) (nullable): the new registered template, or
 *   %NULL with @error set
 */
TetherTemplate *
tether_load_provider (const char  *path,
                      GKeyFile    *config,
                      GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return tether_load_provider_full (path, config, TETHER_LOAD_NONE, error);
}

/* ------------------------------------------------------------------------ */
/* Directories                                                              */
/* ------------------------------------------------------------------------ */

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

typedef void (*ModuleFunc) (const char *path, gpointer user_data, GPtrArray *failures);

/* Calls @func for every `*.so` file in @dirs (NULL: the search path), each
 * directory's files in name order. A directory given explicitly that does
 * not exist is a failure; a missing search path directory is skipped. */
static void
foreach_module (const char * const *dirs,
                TetherLoadFlags     flags,
                ModuleFunc          func,
                gpointer            user_data,
                GPtrArray          *failures)
{
  g_auto(GStrv) search_path = NULL;
  gboolean explicit_dirs = dirs != NULL;

  if (dirs == NULL)
    dirs = (const char * const *) (search_path = tether_get_provider_search_path ());

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      const char *dir_path = dirs[i];
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = NULL;
      const char *name;

      if (!g_file_test (dir_path, G_FILE_TEST_IS_DIR))
        {
          if (explicit_dirs)
            g_ptr_array_add (failures,
                             load_failure_new_take (dir_path,
                                                    g_error_new (TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                                                                 "Provider directory %s does not exist",
                                                                 dir_path)));
          continue;
        }

      if ((flags & TETHER_LOAD_ALLOW_INSECURE_PATH) == 0 &&
          !check_secure (dir_path, "directory", &error))
        {
          g_ptr_array_add (failures, load_failure_new_take (dir_path, g_steal_pointer (&error)));
          continue;
        }

      dir = g_dir_open (dir_path, 0, &error);
      if (dir == NULL)
        {
          g_ptr_array_add (failures,
                           load_failure_new_take (dir_path,
                                                  g_error_new (TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                                                               "Cannot read provider directory %s: %s",
                                                               dir_path, error->message)));
          continue;
        }

      while ((name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (name, ".so") && name[0] != '.')
          g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, compare_names);

      for (guint j = 0; j < names->len; j++)
        {
          g_autofree char *path = g_build_filename (dir_path, g_ptr_array_index (names, j), NULL);

          func (path, user_data, failures);
        }
    }
}

typedef struct
{
  GKeyFile        *config;
  TetherLoadFlags  flags;
  GPtrArray       *templates;
} LoadAll;

static void
load_one (const char *path,
          gpointer    user_data,
          GPtrArray  *failures)
{
  LoadAll *load = user_data;
  GError *error = NULL;
  TetherTemplate *template;

  template = tether_load_provider_full (path, load->config, load->flags, &error);
  if (template != NULL)
    g_ptr_array_add (load->templates, template);
  else
    g_ptr_array_add (failures, load_failure_new_take (path, error));
}

/**
 * tether_load_providers_full:
 * @dirs: (nullable) (array zero-terminated=1) (element-type filename): the
 *   directories to load from, or %NULL for the search path (see
 *   [func@Tether.get_provider_search_path])
 * @config: (nullable): provider configuration given to every module's
 *   `init`; see [func@Tether.load_provider_full]
 * @flags: #TetherLoadFlags
 * @templates: (out) (optional) (transfer container) (element-type TetherTemplate):
 *   the templates loaded, in load order
 * @failures: (out) (optional) (transfer container) (element-type TetherLoadFailure):
 *   one [struct@Tether.LoadFailure] per file or directory that failed
 *
 * Loads every `*.so` file of @dirs, directory by directory, each
 * directory's files in name order, with [func@Tether.load_provider_full].
 * A file that fails is recorded in @failures and never stops the others.
 * Since names must be unique, a provider in an earlier directory shadows one
 * of the same name in a later directory (the later file fails with
 * %TETHER_ERROR_DUPLICATE_NAME). A directory of the search path that does
 * not exist is skipped; one given in @dirs is a failure.
 *
 * Callable from any thread.
 *
 * Returns: the number of providers loaded
 */
guint
tether_load_providers_full (const char * const  *dirs,
                            GKeyFile            *config,
                            TetherLoadFlags      flags,
                            GPtrArray          **templates,
                            GPtrArray          **failures)
{
  g_autoptr(GPtrArray) failed = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
  LoadAll load = { config, flags, g_ptr_array_new_with_free_func (g_object_unref) };
  guint n_loaded;

  foreach_module (dirs, flags, load_one, &load, failed);
  n_loaded = load.templates->len;

  if (templates != NULL)
    *templates = load.templates;
  else
    g_ptr_array_unref (load.templates);
  if (failures != NULL)
    *failures = g_steal_pointer (&failed);

  return n_loaded;
}

/**
 * tether_load_providers:
 * @dirs: (nullable) (array zero-terminated=1) (element-type filename): the
 *   directories to load from, or %NULL for the search path
 * @config: (nullable): provider configuration; see
 *   [func@Tether.load_provider_full]
 * @failures: (out) (optional) (transfer container) (element-type TetherLoadFailure):
 *   one [struct@Tether.LoadFailure] per file or directory that failed
 *
 * Loads every `*.so` in @dirs and registers a template for each:
 * [func@Tether.load_providers_full] with no flags. The templates are reached
 * through [func@Tether.dup_templates] or by the managers that acquire them.
 * Callable from any thread.
 *
 * Returns: the number of providers loaded
 */
guint
tether_load_providers (const char * const  *dirs,
                       GKeyFile            *config,
                       GPtrArray          **failures)
{
  return tether_load_providers_full (dirs, config, TETHER_LOAD_NONE, NULL, failures);
}

typedef struct
{
  TetherLoadFlags  flags;
  GPtrArray       *infos;
} ListAll;

static void
list_one (const char *path,
          gpointer    user_data,
          GPtrArray  *failures)
{
  ListAll *list = user_data;
  g_autofree char *real_path = NULL;
  const TetherProvider *provider = NULL;
  TetherProvider copy;
  TetherProviderInfo *info;
  GError *error = NULL;

  if (!open_module (path, list->flags, &real_path, &provider, &copy, &error))
    {
      g_ptr_array_add (failures, load_failure_new_take (path, error));
      return;
    }

  info = g_new0 (TetherProviderInfo, 1);
  info->name = g_strdup (copy.name);
  info->description = g_strdup (copy.description);
  info->path = g_steal_pointer (&real_path);
  info->abi_version = provider->abi_version;
  info->is_async = copy.acquire == NULL;
  g_ptr_array_add (list->infos, info);
}

/**
 * tether_list_providers:
 * @dirs: (nullable) (array zero-terminated=1) (element-type filename): the
 *   directories to list, or %NULL for the search path
 * @flags: #TetherLoadFlags
 * @failures: (out) (optional) (transfer container) (element-type TetherLoadFailure):
 *   one [struct@Tether.LoadFailure] per file or directory that is not a
 *   valid provider module
 *
 * Lists the provider modules of @dirs without making templates of them.
 *
 * Listing opens each module (with the same checks, in the same order, as
 * [func@Tether.load_provider_full]) and calls its entry point, which only
 * returns a pointer to a constant vtable; it does not call `init`, does not
 * register anything and does not check for duplicate names. There is no
 * metadata file or cache: the vtable is the single source of truth, so a
 * listing can never disagree with what loading would find. The price is
 * that the module's ELF constructors run and the module stays mapped (as
 * every opened module does), which is why listing applies the same
 * ownership and permission checks as loading.
 *
 * Callable from any thread.
 *
 * Returns: (transfer container) (element-type TetherProviderInfo): one
 *   [struct@Tether.ProviderInfo] per valid module, in search order
 */
GPtrArray *
tether_list_providers (const char * const  *dirs,
                       TetherLoadFlags      flags,
                       GPtrArray          **failures)
{
  g_autoptr(GPtrArray) failed = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
  ListAll list = { flags, g_ptr_array_new_with_free_func ((GDestroyNotify) tether_provider_info_free) };

  foreach_module (dirs, flags, list_one, &list, failed);

  if (failures != NULL)
    *failures = g_steal_pointer (&failed);

  return list.infos;
}
