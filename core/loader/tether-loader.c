/* tether-loader.c: opening provider modules in this process
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE  /* dladdr */
#endif

#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tether-loader-private.h"

/*
 * Loading rules, in the order they are checked (each with its own error
 * and its TetherLoadStage):
 *
 *   1. the file (and its directory) is neither writable by group or others
 *      nor owned by another user than root or the caller, and no directory
 *      on the way to it can be changed by another user     -> INSECURE_PATH
 *      (tether-loader-path.c: the file is opened once, here)
 *   2. dlopen of that very file, through /proc/PID/fd/N, with
 *      RTLD_NOW | RTLD_LOCAL succeeds                      -> MODULE_LOAD
 *   3. the module itself exports tether_provider_entry     -> NO_ENTRY_POINT
 *   4. the vtable passes _tether_provider_validate()       -> ABI_MISMATCH,
 *                                STRUCT_TOO_SMALL, INVALID_NAME, NO_ACQUIRE
 *   5. no registered template has the same name            -> DUPLICATE_NAME
 *   6. init, if any, returns provider data                 -> INIT_FAILED
 *
 * Every message names the file and says what to change. Step 5 reserves the
 * name under the loader lock, so two loads of the same name cannot both
 * pass it; init then runs with no lock of tether's held (it may load other
 * providers, or wait for another thread that does), and the registration
 * checks the name again, atomically, against templates made meanwhile. A module that was opened is never closed, even
 * when a later step fails: its constructors have run and may have
 * registered GTypes or exit handlers that point into it.
 */

/* Guards loading_names only, and is never held while a provider function
 * runs: an init may load providers, or wait for another thread that does.
 * Each name is loaded by one call at a time (its init runs once); the
 * registration itself is atomic in the registry, against
 * tether_template_new() too. */
static GMutex loader_lock;
static GHashTable *loading_names;   /* name -> path, loads under way */

static inline void
enter_stage (TetherLoadStageFunc  stage_func,
             gpointer             user_data,
             TetherLoadStage     *out_stage,
             TetherLoadStage      stage)
{
  if (out_stage != NULL)
    *out_stage = stage;
  if (stage_func != NULL)
    stage_func (stage, user_data);
}

/* ------------------------------------------------------------------------ */
/* Opening modules                                                          */
/* ------------------------------------------------------------------------ */

/* What to do about a dlopen() failure, from the words of its message. */
static const char *
dlopen_hint (const char *message)
{
  if (strstr (message, "undefined symbol") != NULL)
    return "the module uses a symbol that no loaded library defines: link the library "
           "that defines it into the module (meson: add it to the shared_module's "
           "dependencies; cc: -lNAME), but never libtether itself";
  if (strstr (message, "libtether-1.so") != NULL)
    return "the module links libtether-1 (and it is not found): " TETHER_LOADER_LINKS_LIBTETHER_ADVICE;
  if (strstr (message, "cannot open shared object file") != NULL)
    return "a library the module needs is not found: install it, or build the module "
           "with an absolute runpath to it (`ldd FILE` shows which one is missing; a "
           "runpath with $ORIGIN does not work: the module is loaded through "
           "/proc/PID/fd, so that the file loaded is the file checked)";
  if (strstr (message, "wrong ELF class") != NULL)
    return "the module was built for another architecture: rebuild it for this one";
  if (strstr (message, "invalid ELF header") != NULL || strstr (message, "file too short") != NULL ||
      strstr (message, "only ET_DYN") != NULL)
    return "the file is not a shared object: build it with meson's shared_module () or "
           "`cc -shared -fPIC`";
  return "check the file with `ldd`";
}

void
_tether_loader_module_clear (TetherLoaderModule *module)
{
  g_clear_pointer (&module->real_path, g_free);
  module->provider = NULL;
}

/* Every module file this process loaded, by identity: its descriptor stays
 * open for the life of the process, because the dynamic loader knows the
 * module by the name /proc/PID/fd/N and would take a later file opened on
 * the same number for it. A file loaded again is found here, and the new
 * descriptor closed, before the dynamic loader sees another name for it.
 * Held across dlopen () (a recursive mutex: a module's constructors may
 * load a provider), so that two threads loading one file agree. */
typedef struct
{
  dev_t  dev;
  ino_t  ino;
  int    fd;
  void  *handle;
} LoadedFile;

static GRecMutex loaded_files_lock;
static GArray *loaded_files;   /* LoadedFile */

/* Loads the module open on @fd (@st its stat; the fd is taken). Returns the
 * handle, or NULL with @error set. */
static void *
load_opened_file (int                fd,
                  const struct stat *st,
                  const char        *path,
                  GError           **error)
{
  g_autofree char *name = NULL;
  void *handle = NULL;

  g_rec_mutex_lock (&loaded_files_lock);
  if (loaded_files == NULL)
    loaded_files = g_array_new (FALSE, FALSE, sizeof (LoadedFile));

  for (guint i = 0; i < loaded_files->len; i++)
    {
      const LoadedFile *loaded = &g_array_index (loaded_files, LoadedFile, i);

      if (loaded->dev == st->st_dev && loaded->ino == st->st_ino)
        {
          handle = loaded->handle;
          close (fd);
          g_rec_mutex_unlock (&loaded_files_lock);
          return handle;
        }
    }

  name = g_strdup_printf ("/proc/%d/fd/%d", (int) getpid (), fd);
  if (access (name, F_OK) != 0)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Cannot load provider module %s: %s does not exist, so the file checked "
                   "cannot be loaded as such; tether loads modules through /proc: mount it",
                   path, name);
      close (fd);
      g_rec_mutex_unlock (&loaded_files_lock);
      return NULL;
    }

  /* Immediate binding: an unresolved symbol fails here, not at first use.
   * Local binding: the module's symbols do not satisfy other modules.
   * Never unloaded: resources, types and handlers may point into it. */
  handle = dlopen (name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == NULL)
    {
      const char *message = dlerror ();
      g_autofree char *said = NULL;

      /* The dynamic loader names the module by its descriptor: say the
       * file instead. */
      said = message != NULL ? g_strdup (message) : g_strdup ("dlopen failed");
      if (g_str_has_prefix (said, name))
        {
          char *rest = g_strconcat (path, said + strlen (name), NULL);

          g_free (said);
          said = rest;
        }
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                   "Cannot load provider module %s: %s; %s", path, said, dlopen_hint (said));
      close (fd);
    }
  else
    {
      LoadedFile loaded = { st->st_dev, st->st_ino, fd, handle };

      g_array_append_val (loaded_files, loaded);
    }
  g_rec_mutex_unlock (&loaded_files_lock);

  return handle;
}

/* The object of the dynamic loader that defines @address, or NULL. */
static struct link_map *
object_of (const void *address)
{
  struct link_map *map = NULL;
  Dl_info info;

  if (dladdr1 (address, &info, (void **) &map, RTLD_DL_LINKMAP) == 0)
    return NULL;
  return map;
}

static gboolean
open_module (const char          *path,
             TetherLoadFlags      flags,
             TetherLoadStageFunc  stage_func,
             gpointer             user_data,
             TetherLoaderModule  *out_module,
             TetherLoadStage     *out_stage,
             GError             **error)
{
  g_autofree char *real_path = NULL;
  TetherProviderEntryFunc entry = NULL;
  const TetherProvider *provider;
  struct link_map *module_map = NULL;
  struct link_map *entry_map;
  struct stat st;
  void *handle;
  int fd;

  memset (out_module, 0, sizeof *out_module);
  enter_stage (stage_func, user_data, out_stage, TETHER_LOAD_STAGE_CHECK);

  fd = _tether_loader_open_file (path, flags, &real_path, &st, error);
  if (fd < 0)
    return FALSE;

  enter_stage (stage_func, user_data, out_stage, TETHER_LOAD_STAGE_OPEN);
  handle = load_opened_file (fd, &st, path, error);
  if (handle == NULL)
    return FALSE;

  /* dlsym() on a handle also searches the module's dependencies; the entry
   * point must be the module's own. */
  enter_stage (stage_func, user_data, out_stage, TETHER_LOAD_STAGE_ENTRY);
  entry = (TetherProviderEntryFunc) dlsym (handle, TETHER_PROVIDER_ENTRY_SYMBOL);
  if (entry == NULL || dlinfo (handle, RTLD_DI_LINKMAP, &module_map) != 0)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ENTRY_POINT,
                   "Provider module %s does not export the symbol %s: end the module "
                   "with TETHER_DEFINE_PROVIDER (your_provider), and check that no version "
                   "script hides it (`nm -D --defined-only FILE` must list it)",
                   path, TETHER_PROVIDER_ENTRY_SYMBOL);
      return FALSE;
    }
  entry_map = object_of ((const void *) entry);
  if (entry_map != module_map)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ENTRY_POINT,
                   "Provider module %s does not export the symbol %s itself (it was "
                   "found in %s, one of its dependencies): use TETHER_DEFINE_PROVIDER "
                   "in the module's own sources",
                   path, TETHER_PROVIDER_ENTRY_SYMBOL,
                   entry_map != NULL && entry_map->l_name != NULL ? entry_map->l_name : "?");
      return FALSE;
    }

  provider = entry ();
  if (provider == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ENTRY_POINT,
                   "Provider module %s: %s returned NULL: give TETHER_DEFINE_PROVIDER the "
                   "name of the module's static const TetherProvider",
                   path, TETHER_PROVIDER_ENTRY_SYMBOL);
      return FALSE;
    }

  enter_stage (stage_func, user_data, out_stage, TETHER_LOAD_STAGE_VALIDATE);
  if (!_tether_provider_validate (provider, &out_module->copy, error))
    {
      g_prefix_error (error, "Provider module %s: ", path);
      return FALSE;
    }

  out_module->real_path = g_steal_pointer (&real_path);
  out_module->provider = provider;
  return TRUE;
}

gboolean
_tether_loader_open_module (const char          *path,
                            TetherLoadFlags      flags,
                            TetherLoadStageFunc  stage_func,
                            gpointer             user_data,
                            TetherLoaderModule  *out_module,
                            TetherLoadStage     *out_stage,
                            GError             **error)
{
  GError *local_error = NULL;

  if (open_module (path, flags, stage_func, user_data, out_module, out_stage, &local_error))
    return TRUE;

  _tether_loader_make_message_safe (&local_error);
  g_propagate_error (error, local_error);
  return FALSE;
}

GError *
_tether_loader_duplicate_error (const char *path,
                                const char *name,
                                const char *first,
                                gboolean    listing)
{
  return g_error_new (TETHER_ERROR, TETHER_ERROR_DUPLICATE_NAME,
                      "Provider module %s: a provider named '%s' is already %s, %s%s%s: give "
                      "one of them another .name, or remove one of the files from the search "
                      "path (an earlier directory shadows a later one)",
                      path, name, listing ? "listed" : "registered",
                      g_path_is_absolute (first) ? "from " : "", first,
                      listing ? ", and loading would refuse this one" : "");
}

/* Who registered @name, in words: the module's path, or "by the
 * application (...)"; NULL when no registered template has that name. */
static char *
describe_registered (const char *name)
{
  g_autoptr(GPtrArray) templates = tether_dup_templates ();

  for (guint i = 0; i < templates->len; i++)
    {
      GObject *template = g_ptr_array_index (templates, i);
      const char *file;

      if (g_strcmp0 (tether_template_get_name (TETHER_TEMPLATE (template)), name) != 0)
        continue;

      file = g_object_get_data (template, TETHER_LOADER_MODULE_PATH_KEY);
      return file != NULL ? g_strdup (file)
                          : g_strdup ("by the application (tether_template_new)");
    }

  return NULL;
}

/* A module's template is on demand unless its group says `eager=true`. */
static gboolean
read_eager (const char  *path,
            GKeyFile    *config,
            const char  *group,
            gboolean    *out_eager,
            GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  *out_eager = FALSE;
  if (!g_key_file_has_key (config, group, "eager", NULL))
    return TRUE;

  *out_eager = g_key_file_get_boolean (config, group, "eager", &local_error);
  if (local_error != NULL)
    {
      g_autofree char *value = g_key_file_get_value (config, group, "eager", NULL);

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG,
                   "Provider module %s: [%s] eager=%s is not a boolean: write eager=true "
                   "(every scope acquires it on entry) or eager=false (on demand, the "
                   "default)",
                   path, group, value != NULL ? value : "");
      return FALSE;
    }
  return TRUE;
}

/* Reads the configuration, runs init and registers the template, with no
 * lock held: this name is reserved in loading_names by the caller. */
static TetherTemplate *
load_registered (const char           *path,
                 GKeyFile             *config,
                 TetherProvider       *copy,
                 TetherLoaderModule   *module,
                 TetherLoadStageFunc   stage_func,
                 gpointer              user_data,
                 TetherLoadStage      *out_stage,
                 GError              **error)
{
  g_autofree char *group = NULL;
  g_autoptr(GKeyFile) empty_config = NULL;
  g_autoptr(GError) init_error = NULL;
  g_autoptr(GError) register_error = NULL;
  TetherTemplate *template;
  gpointer provider_data = NULL;
  gboolean eager = FALSE;

  group = g_strconcat (TETHER_LOADER_CONFIG_GROUP_PREFIX, copy->name, NULL);
  /* init never gets NULL: no configuration is an empty one. */
  if (config == NULL)
    config = empty_config = g_key_file_new ();

  if (!read_eager (path, config, group, &eager, error))
    return NULL;

  if (copy->init != NULL)
    {
      enter_stage (stage_func, user_data, out_stage, TETHER_LOAD_STAGE_INIT);
      provider_data = copy->init (config, group, &init_error);
      if (provider_data == NULL || init_error != NULL)
        {
          if (provider_data != NULL && copy->shutdown != NULL)
            copy->shutdown (provider_data);

          if (init_error != NULL)
            g_set_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED,
                         "Provider module %s: init of provider '%s' failed: %s",
                         path, copy->name, init_error->message);
          else
            g_set_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED,
                         "Provider module %s: init of provider '%s' returned NULL and set "
                         "no error: return the provider data (any non-NULL pointer), or "
                         "set the GError to say why it fails",
                         path, copy->name);
          return NULL;
        }
    }

  /* A template made with tether_template_new() meanwhile may have taken
   * the name: the registry refuses this one (and shuts the data down). The
   * stage stays where it was: the scanner times init up to here. */
  template = _tether_template_new_validated (copy, provider_data, copy->shutdown, eager,
                                             &register_error);
  if (template == NULL)
    {
      g_autofree char *registered = describe_registered (copy->name);

      if (registered != NULL)
        g_propagate_error (error, _tether_loader_duplicate_error (path, copy->name, registered, FALSE));
      else
        g_set_error (error, TETHER_ERROR, register_error->code, "Provider module %s: %s",
                     path, register_error->message);
      return NULL;
    }
  g_object_set_data_full (G_OBJECT (template), TETHER_LOADER_MODULE_PATH_KEY,
                          g_steal_pointer (&module->real_path), g_free);

  return template;
}

static TetherTemplate *
loader_load (const char          *path,
             GKeyFile            *config,
             TetherLoadFlags      flags,
             TetherLoadStageFunc  stage_func,
             TetherLoaderWrapFunc wrap_func,
             gpointer             user_data,
             TetherLoadStage     *out_stage,
             GError             **error)
{
  g_auto(TetherLoaderModule) module = { 0 };
  g_autofree char *registered = NULL;
  TetherProvider *copy = &module.copy;
  TetherTemplate *template;

  if (!_tether_loader_open_module (path, flags, stage_func, user_data, &module, out_stage, error))
    return NULL;
  if (wrap_func != NULL)
    wrap_func (copy, user_data);

  enter_stage (stage_func, user_data, out_stage, TETHER_LOAD_STAGE_REGISTER);
  g_mutex_lock (&loader_lock);
  registered = describe_registered (copy->name);
  if (registered == NULL && loading_names != NULL)
    {
      const char *other = g_hash_table_lookup (loading_names, copy->name);

      if (other != NULL)
        registered = g_strdup_printf ("%s (being loaded by another thread)", other);
    }
  if (registered == NULL)
    {
      if (loading_names == NULL)
        loading_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (loading_names, g_strdup (copy->name), g_strdup (path));
    }
  g_mutex_unlock (&loader_lock);

  if (registered != NULL)
    {
      g_propagate_error (error, _tether_loader_duplicate_error (path, copy->name, registered, FALSE));
      return NULL;
    }

  template = load_registered (path, config, copy, &module, stage_func, user_data, out_stage, error);

  g_mutex_lock (&loader_lock);
  g_hash_table_remove (loading_names, copy->name);
  g_mutex_unlock (&loader_lock);

  return template;
}

/* Every load, with its debug event (module-loaded or module-refused), sent
 * with no lock of the loader's held. */
TetherTemplate *
_tether_loader_load (const char          *path,
                     GKeyFile            *config,
                     TetherLoadFlags      flags,
                     TetherLoadStageFunc  stage_func,
                     TetherLoaderWrapFunc wrap_func,
                     gpointer             user_data,
                     TetherLoadStage     *out_stage,
                     GError             **error)
{
  GError *local_error = NULL;
  TetherTemplate *template;

  template = loader_load (path, config, flags, stage_func, wrap_func, user_data, out_stage,
                          &local_error);
  _tether_loader_make_message_safe (&local_error);
  _tether_trace_module (path, template != NULL ? tether_template_get_name (template) : NULL, local_error);
  if (local_error != NULL)
    g_propagate_error (error, local_error);

  return template;
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
 * The module file is opened once, checked through that descriptor and
 * loaded from it, so that no change of the path meanwhile can substitute
 * another file. It is loaded with immediate, local symbol binding (an
 * unresolved symbol fails now, not at first use) and is never unloaded. Before any
 * provider function runs, this checks, each with its own %TETHER_ERROR code
 * and a message naming @path: the file and its directory are not writable
 * by group or others and are owned by root or the effective user, and so
 * is every directory on the way to it from `/`, symbolic links followed,
 * but that one of those may be writable when it is sticky
 * (%TETHER_ERROR_INSECURE_PATH, unless @flags has
 * %TETHER_LOAD_ALLOW_INSECURE_PATH); the file loads
 * (%TETHER_ERROR_MODULE_LOAD); it exports `tether_provider_entry`
 * (%TETHER_ERROR_NO_ENTRY_POINT); the vtable's ABI major version, size,
 * name and acquire functions are valid (%TETHER_ERROR_ABI_MISMATCH,
 * %TETHER_ERROR_STRUCT_TOO_SMALL, %TETHER_ERROR_INVALID_NAME,
 * %TETHER_ERROR_NO_ACQUIRE); no registered template has the same name
 * (%TETHER_ERROR_DUPLICATE_NAME, naming the file that registered it).
 * Then the module's `init` runs, and its failure gives
 * %TETHER_ERROR_INIT_FAILED. `init` never gets a %NULL configuration: with
 * @config %NULL it gets an empty key file. Each message says what to
 * change, and [method@Tether.LoadFailure.get_stage] of a directory load
 * tells which of these stages failed. The template calls the module's
 * `shutdown` with the data `init` returned when it is finalized.
 *
 * The template is on demand (see [method@Tether.Template.set_eager]): a
 * manager scope acquires it when something in the scope asks for it,
 * unless the module's group in @config says `eager=true`; a value that is
 * not a boolean fails the load with %TETHER_ERROR_INVALID_CONFIG, before
 * `init` runs.
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
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _tether_loader_load (path, config, flags, NULL, NULL, NULL, NULL, error);
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
