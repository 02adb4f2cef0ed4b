/* tether-loader-dirs.c: loading and listing directories of provider
 * modules, in this process
 *
 * Walks the directories (the search path by default) in order, each one's
 * `*.so` files in name order, and hands each file to tether-loader.c;
 * every file or directory that fails becomes a TetherLoadFailure. No
 * state of its own.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "tether-loader-private.h"

/* ------------------------------------------------------------------------ */
/* Directories                                                              */
/* ------------------------------------------------------------------------ */

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
add_dir_failure (GPtrArray  *failures,
                 const char *dir_path,
                 GError     *error)
{
  g_ptr_array_add (failures, _tether_load_failure_new_take (dir_path, TETHER_LOAD_STAGE_NONE, error));
}

void
_tether_loader_foreach_module (const char *const      *dirs,
                               TetherLoadFlags         flags,
                               TetherLoaderModuleFunc  func,
                               gpointer                user_data,
                               GPtrArray              *failures)
{
  g_auto(GStrv) search_path = NULL;
  gboolean explicit_dirs = dirs != NULL;

  if (dirs == NULL)
    dirs = (const char *const *) (search_path = _tether_loader_search_path_checked (failures));

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
            add_dir_failure (failures, dir_path,
                             g_error_new (TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                                          "Provider directory %s does not exist: create it, "
                                          "or do not name it",
                                          dir_path));
          continue;
        }

      if ((flags & TETHER_LOAD_ALLOW_INSECURE_PATH) == 0 &&
          !_tether_loader_check_secure (dir_path, "directory", &error))
        {
          add_dir_failure (failures, dir_path, g_steal_pointer (&error));
          continue;
        }

      dir = g_dir_open (dir_path, 0, &error);
      if (dir == NULL)
        {
          add_dir_failure (failures, dir_path,
                           g_error_new (TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                                        "Cannot read provider directory %s: %s",
                                        dir_path, error->message));
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
  TetherLoadStage stage = TETHER_LOAD_STAGE_NONE;
  TetherTemplate *template;

  template = _tether_loader_load (path, load->config, load->flags, NULL, NULL, NULL, &stage, &error);
  if (template != NULL)
    g_ptr_array_add (load->templates, template);
  else
    g_ptr_array_add (failures, _tether_load_failure_new_take (path, stage, error));
}

/**
 * tether_load_provider_by_name:
 * @name: a provider name, such as `"soup-session"`
 * @config: (nullable): provider configuration given to the module's
 *   `init`; see [func@Tether.load_provider_full]
 * @error: return location for a #GError
 *
 * Loads the provider module named @name from the search path (see
 * [func@Tether.get_provider_search_path]): the file `NAME.so` of the first
 * directory that has one, loaded with the checks of
 * [func@Tether.load_providers] (no %TETHER_LOAD_ALLOW_INSECURE_PATH).
 *
 * Fails with %TETHER_ERROR_INVALID_NAME if @name is not a valid provider
 * name, or if the file found provides a provider of another name (the
 * template is then not kept); with %TETHER_ERROR_MODULE_LOAD, naming the
 * directories searched, if none has the file; and as
 * [func@Tether.load_provider] does otherwise (a provider of that name
 * already registered: %TETHER_ERROR_DUPLICATE_NAME; find it with
 * [func@Tether.find_template]).
 *
 * Callable from any thread.
 *
 * Returns: (transfer full) (nullable): the new registered template, or
 *   %NULL with @error set
 *
 * Since: 0.2
 */
TetherTemplate *
tether_load_provider_by_name (const char  *name,
                              GKeyFile    *config,
                              GError     **error)
{
  g_autoptr(GPtrArray) unused = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
  g_auto(GStrv) dirs = NULL;
  g_autofree char *file = NULL;
  g_autofree char *searched = NULL;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_tether_provider_name_is_valid (name))
    {
      g_autofree char *shown = _tether_escape_for_message (name, 160);

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME,
                   "'%s' is not a provider name: ASCII letters, digits, '-', '_' and '.', "
                   "starting with a letter, at most 128 characters",
                   shown);
      return NULL;
    }

  file = g_strconcat (name, ".so", NULL);
  dirs = _tether_loader_search_path_checked (unused);
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dirs[i], file, NULL);
      TetherTemplate *template;

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        continue;

      template = tether_load_provider_full (path, config, TETHER_LOAD_NONE, error);
      if (template != NULL && g_strcmp0 (tether_template_get_name (template), name) != 0)
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME,
                       "%s provides '%s', not '%s': rename the file after its provider, or "
                       "load it by path",
                       path, tether_template_get_name (template), name);
          tether_template_unregister (template);
          g_clear_object (&template);
        }
      return template;
    }

  searched = g_strjoinv (", ", dirs);
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
               "No provider module %s in the search path (%s): install it there, or add its "
               "directory to TETHER_PROVIDER_PATH",
               file, searched[0] != '\0' ? searched : "empty");
  return NULL;
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
 * not exist is skipped; one given in @dirs is a failure. With @dirs %NULL,
 * an entry of `TETHER_PROVIDER_PATH` that is not used (a relative path, or
 * the whole variable in a setuid program) is a failure too
 * (%TETHER_ERROR_INVALID_CONFIG, saying why), so that it is never dropped
 * without a word.
 *
 * Callable from any thread.
 *
 * Returns: the number of providers loaded
 */
guint
tether_load_providers_full (const char *const  *dirs,
                            GKeyFile            *config,
                            TetherLoadFlags      flags,
                            GPtrArray          **templates,
                            GPtrArray          **failures)
{
  g_autoptr(GPtrArray) failed = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
  LoadAll load = { config, flags, g_ptr_array_new_with_free_func (g_object_unref) };
  guint n_loaded;

  _tether_loader_foreach_module (dirs, flags, load_one, &load, failed);
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
tether_load_providers (const char *const  *dirs,
                       GKeyFile            *config,
                       GPtrArray          **failures)
{
  return tether_load_providers_full (dirs, config, TETHER_LOAD_NONE, NULL, failures);
}

typedef struct
{
  TetherLoadFlags  flags;
  GPtrArray       *infos;
  GHashTable      *first_file;   /* provider name -> path of its first module */
} ListAll;

/* The name of the type the provider declares for its resources, or NULL. */
static char *
resource_type_name (const TetherLoaderModule *module)
{
#if TETHER_PROVIDER_ABI_MINOR >= 1
  if (TETHER_PROVIDER_ABI_VERSION_MINOR (module->provider->abi_version) >= 1 &&
      module->copy.resource_type != NULL)
    {
      GType type = module->copy.resource_type ();

      return g_strdup (type != G_TYPE_INVALID ? g_type_name (type) : "(G_TYPE_INVALID)");
    }
#endif
  return NULL;
}

/* A description as a listing gives it, in or out of process: valid UTF-8
 * of at most TETHER_SCAN_DESCRIPTION_MAX bytes. */
static char *
describe (const char *description)
{
  return description != NULL ? _tether_escape_for_message (description, TETHER_SCAN_DESCRIPTION_MAX)
                             : NULL;
}

static void
list_one (const char *path,
          gpointer    user_data,
          GPtrArray  *failures)
{
  ListAll *list = user_data;
  g_auto(TetherLoaderModule) module = { 0 };
  TetherLoadStage stage = TETHER_LOAD_STAGE_NONE;
  const char *first;
  GError *error = NULL;

  if (!_tether_loader_open_module (path, list->flags, NULL, NULL, &module, &stage, &error))
    {
      g_ptr_array_add (failures, _tether_load_failure_new_take (path, stage, error));
      return;
    }

  first = g_hash_table_lookup (list->first_file, module.copy.name);
  if (first != NULL)
    {
      g_ptr_array_add (failures,
                       _tether_load_failure_new_take (path, TETHER_LOAD_STAGE_REGISTER,
                         _tether_loader_duplicate_error (path, module.copy.name, first, TRUE)));
      return;
    }
  g_hash_table_insert (list->first_file, g_strdup (module.copy.name), g_strdup (path));

  g_ptr_array_add (list->infos,
                   _tether_provider_info_new_take (g_strdup (module.copy.name),
                                                   describe (module.copy.description),
                                                   g_steal_pointer (&module.real_path),
                                                   module.provider->abi_version,
                                                   module.copy.acquire == NULL,
                                                   resource_type_name (&module)));
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
 * returns a pointer to a constant vtable; it does not call `init` and does
 * not register anything. A module whose provider name an earlier module of
 * the listing already has is a failure (%TETHER_ERROR_DUPLICATE_NAME,
 * naming the earlier file), as loading the same directories would make it.
 * With @dirs %NULL, unused `TETHER_PROVIDER_PATH` entries are failures, as
 * for [func@Tether.load_providers_full]. There is no
 * metadata file or cache: the vtable is the single source of truth, so a
 * listing can never disagree with what loading would find. The price is
 * that the module's ELF constructors run and the module stays mapped (as
 * every opened module does), which is why listing applies the same
 * ownership and permission checks as loading, and that a module that
 * crashes or hangs in its constructors or entry point takes the caller
 * with it: [func@Tether.list_providers_full] examines each module in a
 * helper process instead.
 *
 * Callable from any thread.
 *
 * Returns: (transfer container) (element-type TetherProviderInfo): one
 *   [struct@Tether.ProviderInfo] per valid module, in search order
 */
GPtrArray *
tether_list_providers (const char *const  *dirs,
                       TetherLoadFlags      flags,
                       GPtrArray          **failures)
{
  g_autoptr(GPtrArray) failed = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
  g_autoptr(GHashTable) first_file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ListAll list = { flags, g_ptr_array_new_with_free_func ((GDestroyNotify) tether_provider_info_free),
                   first_file };

  _tether_loader_foreach_module (dirs, flags, list_one, &list, failed);

  if (failures != NULL)
    *failures = g_steal_pointer (&failed);

  return list.infos;
}
