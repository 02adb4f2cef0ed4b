/* test-loader.c: the provider loader against a corpus of modules
 *
 * The corpus (tests/plugins/corpus) is built by meson: valid modules and
 * one broken module per rule of the loader. Each test copies it into a
 * private temporary directory (mode 0700, files 0755) so that the result
 * does not depend on the umask of the build tree, and adds what meson
 * cannot make (a group-writable module).
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tether-loader-private.h"
#include "../test-util.h"   /* test_copy_file() */
#include "corpus.h"

/* The valid modules of the corpus and the provider names they define. */
static const char *valid_modules[] = {
  "async-only.so", "good.so", "null-no-error.so", "old-layout.so", "value-and-error.so",
};

/* Every file that must fail in a directory load, and how: its code, the
 * stage it fails in, and the words of the fix its message must give (each
 * a substring of the message; a NULL ends the list). */
static const struct
{
  const char      *file;
  gint             code;
  TetherLoadStage  stage;
  const char      *path;     /* test path of the single-file test */
  const char      *hints[4];
} failing_modules[] = {
  { "no-entry.so", TETHER_ERROR_NO_ENTRY_POINT, TETHER_LOAD_STAGE_ENTRY, "/loader/entry/missing", { TETHER_PROVIDER_ENTRY_SYMBOL, "end the module with TETHER_DEFINE_PROVIDER", "nm -D" } },
  { "abi-major.so", TETHER_ERROR_ABI_MISMATCH, TETHER_LOAD_STAGE_VALIDATE, "/loader/abi/major-mismatch", { "2.0", "set .abi_version = TETHER_PROVIDER_ABI_VERSION" } },
  { "struct-small.so", TETHER_ERROR_STRUCT_TOO_SMALL, TETHER_LOAD_STAGE_VALIDATE, "/loader/abi/struct-too-small", { "struct_size 8", "set .struct_size = sizeof (TetherProvider)" } },
  { "empty-name.so", TETHER_ERROR_INVALID_NAME, TETHER_LOAD_STAGE_VALIDATE, "/loader/name/empty", { "set .name" } },
  { "invalid-name.so", TETHER_ERROR_INVALID_NAME, TETHER_LOAD_STAGE_VALIDATE, "/loader/name/invalid", { "'bad name!'", "set .name", "ASCII letters" } },
  { "twin-of-good.so", TETHER_ERROR_DUPLICATE_NAME, TETHER_LOAD_STAGE_REGISTER, "/loader/name/duplicate", { "'corpus-good'", "/good.so", "another .name" } },
  { "no-acquire.so", TETHER_ERROR_NO_ACQUIRE, TETHER_LOAD_STAGE_VALIDATE, "/loader/vtable/no-acquire", { "set .acquire", ".acquire_async and .acquire_finish" } },
  { "init-fails.so", TETHER_ERROR_INIT_FAILED, TETHER_LOAD_STAGE_INIT, "/loader/init/fails", { "init of provider 'corpus-init-fails'", "corpus init refuses on purpose" } },
  { "unresolved.so", TETHER_ERROR_MODULE_LOAD, TETHER_LOAD_STAGE_OPEN, "/loader/load/unresolved-symbol", { "corpus_symbol_that_does_not_exist", "link the library that defines it" } },
  { "not-elf.so", TETHER_ERROR_MODULE_LOAD, TETHER_LOAD_STAGE_OPEN, "/loader/load/not-elf", { "not a shared object", "shared_module" } },
  { "writable.so", TETHER_ERROR_INSECURE_PATH, TETHER_LOAD_STAGE_CHECK, "/loader/insecure/group-writable-file", { "writable by its group (mode 0775)", "chmod go-w ", "TETHER_LOAD_ALLOW_INSECURE_PATH", "umask 022" } },
};

/* Asserts that @message gives every hint of failing_modules[@index]. */
static void
assert_hints (guint       index,
              const char *message)
{
  for (guint i = 0; i < G_N_ELEMENTS (failing_modules[index].hints); i++)
    {
      if (failing_modules[index].hints[i] != NULL &&
          strstr (message, failing_modules[index].hints[i]) == NULL)
        g_test_fail_printf ("the message for %s lacks \"%s\": %s", failing_modules[index].file,
                            failing_modules[index].hints[i], message);
    }
}

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                 */
/* ------------------------------------------------------------------------ */

static void
reset_templates (void)
{
  g_autoptr(GPtrArray) templates = tether_dup_templates ();

  for (guint i = 0; i < templates->len; i++)
    tether_template_unregister (g_ptr_array_index (templates, i));
}

/* A fresh 0700 directory holding the whole corpus plus writable.so (a copy
 * of a valid module, mode 0775). */
static char *
make_corpus_copy (void)
{
  const char *corpus_dir = g_getenv ("TETHER_TEST_CORPUS_DIR");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autofree char *good = NULL;
  g_autofree char *writable = NULL;
  char *tmp;
  const char *name;

  g_assert_nonnull (corpus_dir);
  tmp = g_dir_make_tmp ("tether-corpus-XXXXXX", &error);
  g_assert_no_error (error);

  dir = g_dir_open (corpus_dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".so"))
      {
        g_autofree char *from = g_build_filename (corpus_dir, name, NULL);
        g_autofree char *to = g_build_filename (tmp, name, NULL);

        test_copy_file (from, to, 0755);
      }

  good = g_build_filename (corpus_dir, "good.so", NULL);
  writable = g_build_filename (tmp, "writable.so", NULL);
  test_copy_file (good, writable, 0775);

  return tmp;
}

static void
remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);

      g_assert_cmpint (g_unlink (file), ==, 0);
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

/* The counters of one loaded module file. */
static CorpusCounters *
module_counters (const char *path)
{
  GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
  gpointer counters = NULL;

  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, "corpus_counters", &counters));
  /* The loader keeps it resident; this handle only adds a count. */
  g_module_close (module);

  return counters;
}

static TetherTemplate *
find_template (const char *name)
{
  g_autoptr(GPtrArray) templates = tether_dup_templates ();

  for (guint i = 0; i < templates->len; i++)
    if (g_strcmp0 (tether_template_get_name (g_ptr_array_index (templates, i)), name) == 0)
      return g_object_ref (g_ptr_array_index (templates, i));
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* One directory, everything at once                                        */
/* ------------------------------------------------------------------------ */

static void
test_dir_corpus (void)
{
  g_autofree char *dir = make_corpus_copy ();
  const char *dirs[] = { dir, NULL };
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(GPtrArray) templates = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n;

  reset_templates ();
  n = tether_load_providers_full (dirs, NULL, TETHER_LOAD_NONE, &templates, &failures);

  /* Every valid module loaded despite the broken ones around it. */
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (valid_modules));
  g_assert_cmpuint (templates->len, ==, n);
  for (guint i = 0; i < G_N_ELEMENTS (valid_modules); i++)
    {
      g_autofree char *path = g_build_filename (dir, valid_modules[i], NULL);
      gboolean found = FALSE;

      for (guint j = 0; j < templates->len; j++)
        {
          const char *module_path = g_object_get_data (g_ptr_array_index (templates, j),
                                                       TETHER_LOADER_MODULE_PATH_KEY);
          g_autofree char *real = realpath (path, NULL);

          found |= g_strcmp0 (module_path, real) == 0;
        }
      g_assert_true (found);
    }

  /* Every broken module failed, with its own code and its file named. */
  g_assert_cmpuint (failures->len, ==, G_N_ELEMENTS (failing_modules));
  for (guint i = 0; i < failures->len; i++)
    {
      TetherLoadFailure *failure = g_ptr_array_index (failures, i);
      g_autofree char *base = g_path_get_basename (tether_load_failure_get_path (failure));
      const GError *error = tether_load_failure_get_error (failure);
      gboolean matched = FALSE;

      for (guint j = 0; j < G_N_ELEMENTS (failing_modules); j++)
        if (g_str_equal (base, failing_modules[j].file))
          {
            g_test_message ("%s: %s", base, error->message);
            g_assert_error (error, TETHER_ERROR, failing_modules[j].code);
            g_assert_nonnull (strstr (error->message, base));
            g_assert_cmpint (tether_load_failure_get_stage (failure), ==, failing_modules[j].stage);
            assert_hints (j, error->message);
            matched = TRUE;
          }
      g_assert_true (matched);
      /* One failure per file. */
      g_assert_false (g_hash_table_contains (seen, base));
      g_hash_table_add (seen, g_steal_pointer (&base));
    }

  reset_templates ();
  g_clear_pointer (&templates, g_ptr_array_unref);
  remove_dir (dir);
}

/* ------------------------------------------------------------------------ */
/* One file at a time                                                       */
/* ------------------------------------------------------------------------ */

static void
test_single_failure (gconstpointer data)
{
  guint index = GPOINTER_TO_UINT (data);
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, failing_modules[index].file, NULL);
  g_autoptr(TetherTemplate) good = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GError) error = NULL;
  guint n_templates;

  reset_templates ();

  if (failing_modules[index].code == TETHER_ERROR_DUPLICATE_NAME)
    {
      g_autofree char *good_path = g_build_filename (dir, "good.so", NULL);

      good = tether_load_provider (good_path, NULL, &error);
      g_assert_no_error (error);
    }

  {
    g_autoptr(GPtrArray) before = tether_dup_templates ();
    n_templates = before->len;
  }

  template = tether_load_provider (path, NULL, &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, failing_modules[index].code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));

  assert_hints (index, error->message);

  /* Nothing was registered by a failed load. */
  {
    g_autoptr(GPtrArray) after = tether_dup_templates ();
    g_assert_cmpuint (after->len, ==, n_templates);
  }

  reset_templates ();
  remove_dir (dir);
}

/* ------------------------------------------------------------------------ */
/* Valid modules, in use                                                    */
/* ------------------------------------------------------------------------ */

static void
test_init_config_and_shutdown (void)
{
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, "good.so", NULL);
  g_autoptr(GKeyFile) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  static const char text[] =
    "[provider corpus-good]\n"
    "greeting=hello from the config\n"
    "[provider someone-else]\n"
    "greeting=not mine\n";
  TetherTemplate *template;
  CorpusResource *resource;
  CorpusCounters *counters;
  gint n_init, n_shutdown;

  reset_templates ();
  g_assert_true (_tether_loader_parse_config (text, strlen (text), &config, &error));
  g_assert_no_error (error);

  template = tether_load_provider (path, config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (template);
  g_assert_cmpstr (tether_template_get_name (template), ==, "corpus-good");
  g_assert_true (tether_template_is_registered (template));

  counters = module_counters (path);
  n_init = g_atomic_int_get (&counters->n_init);
  n_shutdown = g_atomic_int_get (&counters->n_shutdown);
  g_assert_cmpint (n_init, >=, 1);
  g_assert_cmpint (g_atomic_int_get (&counters->live_data), ==, 1);

  /* init saw its own group, and nothing else. */
  resource = tether_template_acquire (template, context, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resource->magic, ==, CORPUS_RESOURCE_MAGIC);
  g_assert_cmpstr (resource->greeting, ==, "hello from the config");
  g_assert_true (tether_template_release (template, context, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&counters->n_released), ==,
                   g_atomic_int_get (&counters->n_acquired));

  /* shutdown runs when the template goes, with init's data. */
  g_assert_true (tether_template_unregister (template));
  g_assert_cmpint (g_atomic_int_get (&counters->n_shutdown), ==, n_shutdown);
  g_object_unref (template);
  g_assert_cmpint (g_atomic_int_get (&counters->n_shutdown), ==, n_shutdown + 1);
  g_assert_cmpint (g_atomic_int_get (&counters->live_data), ==, 0);

  /* The module stays resident: it can be loaded again. */
  template = tether_load_provider (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&counters->n_init), ==, n_init + 1);
  resource = tether_template_acquire (template, context, &error);
  g_assert_no_error (error);
  g_assert_null (resource->greeting);
  g_assert_true (tether_template_release (template, context, &error));
  tether_template_unregister (template);
  g_object_unref (template);
  g_assert_cmpint (g_atomic_int_get (&counters->live_data), ==, 0);

  reset_templates ();
  remove_dir (dir);
}

static void
test_old_layout (void)
{
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, "old-layout.so", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherTemplate) template = NULL;
  CorpusCounters *counters;
  CorpusResource *resource;

  reset_templates ();
  /* The module's init would abort: it lies past its struct_size. */
  template = tether_load_provider (path, NULL, &error);
  g_assert_no_error (error);
  counters = module_counters (path);
  g_assert_cmpint (g_atomic_int_get (&counters->n_init), ==, 0);

  resource = tether_template_acquire (template, context, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resource->magic, ==, CORPUS_RESOURCE_MAGIC);
  g_assert_true (tether_template_release (template, context, &error));
  g_assert_cmpint (g_atomic_int_get (&counters->n_released), ==, 1);

  tether_template_unregister (template);
  g_clear_object (&template);
  /* shutdown is past the struct too. */
  g_assert_cmpint (g_atomic_int_get (&counters->n_shutdown), ==, 0);

  reset_templates ();
  remove_dir (dir);
}

static void
test_bad_acquire (gconstpointer data)
{
  const char *file = data;
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherTemplate) template = NULL;
  CorpusCounters *counters;

  reset_templates ();
  template = tether_load_provider (path, NULL, &error);
  g_assert_no_error (error);
  counters = module_counters (path);

  for (guint round = 0; round < 2; round++)
    {
      g_assert_null (tether_template_acquire (template, context, &error));
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT);
      g_test_message ("%s", error->message);
      g_clear_error (&error);
    }

  /* Nothing held, nothing leaked: every resource the provider handed out
   * was given back to it. */
  g_assert_null (tether_template_lookup (template, context));
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&counters->n_released), ==,
                   g_atomic_int_get (&counters->n_acquired));
  if (g_str_equal (file, "value-and-error.so"))
    g_assert_cmpint (g_atomic_int_get (&counters->n_acquired), ==, 2);

  tether_template_unregister (template);
  g_clear_object (&template);
  g_assert_cmpint (g_atomic_int_get (&counters->live_data), ==, 0);
  reset_templates ();
  remove_dir (dir);
}

static void
acquire_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  gpointer *out = user_data;
  g_autoptr(GError) error = NULL;

  *out = tether_template_acquire_finish (TETHER_TEMPLATE (source), result, &error);
  g_assert_no_error (error);
}

static void
test_async_only (void)
{
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, "async-only.so", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherTemplate) template = NULL;
  CorpusResource *resource;
  gpointer async_resource = NULL;

  reset_templates ();
  template = tether_load_provider (path, NULL, &error);
  g_assert_no_error (error);

  /* Synchronously: tether iterates @context until the task returns. */
  resource = tether_template_acquire (template, context, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resource->magic, ==, CORPUS_RESOURCE_MAGIC);
  g_assert_true (resource->context == context);
  g_assert_true (tether_template_release (template, context, &error));

  /* Asynchronously, from @context as thread-default. */
  g_main_context_push_thread_default (context);
  tether_template_acquire_async (template, NULL, NULL, acquire_done, &async_resource);
  while (async_resource == NULL)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpuint (((CorpusResource *) async_resource)->magic, ==, CORPUS_RESOURCE_MAGIC);
  g_assert_true (tether_template_release (template, NULL, &error));
  g_main_context_pop_thread_default (context);

  tether_template_unregister (template);
  reset_templates ();
  remove_dir (dir);
}

static void
test_boxed_copies (void)
{
  g_autofree char *dir = make_corpus_copy ();
  const char *dirs[] = { dir, NULL };
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(GPtrArray) infos = tether_list_providers (dirs, TETHER_LOAD_NONE, &failures);
  g_autoptr(TetherLoadFailure) failure = NULL;
  g_autoptr(TetherProviderInfo) info = NULL;
  const TetherLoadFailure *orig_failure = g_ptr_array_index (failures, 0);
  const TetherProviderInfo *orig_info = g_ptr_array_index (infos, 0);

  failure = g_boxed_copy (TETHER_TYPE_LOAD_FAILURE, orig_failure);
  g_assert_true (failure != orig_failure);
  g_assert_cmpstr (tether_load_failure_get_path (failure), ==, tether_load_failure_get_path (orig_failure));
  g_assert_true (tether_load_failure_get_error (failure) != tether_load_failure_get_error (orig_failure));
  g_assert_true (g_error_matches (tether_load_failure_get_error (failure),
                                  tether_load_failure_get_error (orig_failure)->domain,
                                  tether_load_failure_get_error (orig_failure)->code));
  g_assert_cmpstr (tether_load_failure_get_error (failure)->message, ==,
                   tether_load_failure_get_error (orig_failure)->message);
  g_assert_cmpint (tether_load_failure_get_stage (failure), ==,
                   tether_load_failure_get_stage (orig_failure));
  g_assert_cmpint (tether_load_failure_get_stage (failure), !=, TETHER_LOAD_STAGE_NONE);

  info = g_boxed_copy (TETHER_TYPE_PROVIDER_INFO, orig_info);
  g_assert_cmpstr (tether_provider_info_get_name (info), ==, tether_provider_info_get_name (orig_info));
  g_assert_cmpstr (tether_provider_info_get_description (info), ==,
                   tether_provider_info_get_description (orig_info));
  g_assert_cmpstr (tether_provider_info_get_path (info), ==, tether_provider_info_get_path (orig_info));
  g_assert_cmpuint (tether_provider_info_get_abi_version (info), ==,
                    tether_provider_info_get_abi_version (orig_info));

  remove_dir (dir);
}

/* ------------------------------------------------------------------------ */
/* Insecure paths                                                           */
/* ------------------------------------------------------------------------ */

static void
test_insecure_allow_flag (void)
{
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, "writable.so", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  reset_templates ();
  template = tether_load_provider_full (path, NULL, TETHER_LOAD_NONE, &error);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH);
  g_assert_nonnull (strstr (error->message, "group"));
  g_clear_error (&error);

  template = tether_load_provider_full (path, NULL, TETHER_LOAD_ALLOW_INSECURE_PATH, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tether_template_get_name (template), ==, "corpus-good");

  reset_templates ();
  g_clear_object (&template);
  remove_dir (dir);
}

static void
test_insecure_dir (void)
{
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, "good.so", NULL);
  const char *dirs[] = { dir, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) failures = NULL;
  TetherTemplate *template;

  reset_templates ();
  g_assert_cmpint (g_chmod (dir, 0777), ==, 0);

  /* A valid module in an others-writable directory: anyone could have
   * swapped it. */
  template = tether_load_provider (path, NULL, &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH);
  g_assert_nonnull (strstr (error->message, "directory"));
  g_clear_error (&error);

  g_assert_cmpuint (tether_load_providers (dirs, NULL, &failures), ==, 0);
  g_assert_cmpuint (failures->len, ==, 1);
  g_assert_cmpstr (tether_load_failure_get_path (g_ptr_array_index (failures, 0)), ==, dir);
  g_assert_error (tether_load_failure_get_error (g_ptr_array_index (failures, 0)),
                  TETHER_ERROR, TETHER_ERROR_INSECURE_PATH);

  g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
  reset_templates ();
  remove_dir (dir);
}

static void
test_missing (void)
{
  const char *dirs[] = { "/nonexistent/tether-providers", NULL };
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  template = tether_load_provider ("/nonexistent/provider.so", NULL, &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD);
  g_assert_nonnull (strstr (error->message, "/nonexistent/provider.so"));

  /* An explicitly named directory that does not exist is reported. */
  g_assert_cmpuint (tether_load_providers (dirs, NULL, &failures), ==, 0);
  g_assert_cmpuint (failures->len, ==, 1);
  g_assert_error (tether_load_failure_get_error (g_ptr_array_index (failures, 0)),
                  TETHER_ERROR, TETHER_ERROR_MODULE_LOAD);
}

/* ------------------------------------------------------------------------ */
/* Listing                                                                  */
/* ------------------------------------------------------------------------ */

static void
test_list (void)
{
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *good = g_build_filename (dir, "init-fails.so", NULL);
  const char *dirs[] = { dir, NULL };
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GPtrArray) templates = tether_dup_templates ();
  guint n_templates = templates->len;
  CorpusCounters *counters;

  infos = tether_list_providers (dirs, TETHER_LOAD_NONE, &failures);

  /* Listing does not init: the module whose init fails is listed as valid.
   * The twin fails as loading the directory makes it fail. */
  g_assert_cmpuint (infos->len, ==, G_N_ELEMENTS (valid_modules) + 1);
  g_assert_cmpuint (failures->len, ==, G_N_ELEMENTS (failing_modules) - 1);
  for (guint i = 0; i < infos->len; i++)
    {
      TetherProviderInfo *info = g_ptr_array_index (infos, i);

      g_assert_true (g_str_has_prefix (tether_provider_info_get_name (info), "corpus-"));
      g_assert_true (g_str_has_prefix (tether_provider_info_get_path (info), "/"));
      g_assert_cmpuint (TETHER_PROVIDER_ABI_VERSION_MAJOR (tether_provider_info_get_abi_version (info)),
                        ==, TETHER_PROVIDER_ABI_MAJOR);
      g_assert_cmpint (tether_provider_info_get_is_async (info), ==,
                       g_str_equal (tether_provider_info_get_name (info), "corpus-async-only"));
    }
  for (guint i = 0; i < failures->len; i++)
    {
      const GError *error = tether_load_failure_get_error (g_ptr_array_index (failures, i));

      g_assert_false (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED));
      if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_DUPLICATE_NAME))
        {
          g_assert_true (g_str_has_suffix (tether_load_failure_get_path (g_ptr_array_index (failures, i)),
                                           "/twin-of-good.so"));
          g_assert_nonnull (strstr (error->message, "/good.so"));
        }
    }

  counters = module_counters (good);
  g_assert_cmpint (g_atomic_int_get (&counters->n_init), ==, 0);
  g_clear_pointer (&templates, g_ptr_array_unref);
  templates = tether_dup_templates ();
  g_assert_cmpuint (templates->len, ==, n_templates);

  remove_dir (dir);
}

/* The failures of a listing, by file name: "file.so" -> TetherLoadFailure. */
static GHashTable *
failures_by_file (GPtrArray *failures)
{
  GHashTable *by_file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < failures->len; i++)
    {
      TetherLoadFailure *failure = g_ptr_array_index (failures, i);

      g_test_message ("%s: %s", tether_load_failure_get_path (failure),
                      tether_load_failure_get_error (failure)->message);
      g_hash_table_insert (by_file, g_path_get_basename (tether_load_failure_get_path (failure)),
                           failure);
    }
  return by_file;
}

static void
test_list_out_of_process_agrees (void)
{
  g_autofree char *dir = make_corpus_copy ();
  const char *dirs[] = { dir, NULL };
  g_autoptr(GPtrArray) in_failures = NULL;
  g_autoptr(GPtrArray) out_failures = NULL;
  g_autoptr(GPtrArray) in_infos = tether_list_providers (dirs, TETHER_LOAD_NONE, &in_failures);
  g_autoptr(GPtrArray) out_infos = tether_list_providers_full (dirs, TETHER_LOAD_NONE, 0, &out_failures);

  /* The same modules, with the same results, in the same order. */
  g_assert_cmpuint (out_infos->len, ==, in_infos->len);
  for (guint i = 0; i < in_infos->len; i++)
    {
      TetherProviderInfo *a = g_ptr_array_index (in_infos, i);
      TetherProviderInfo *b = g_ptr_array_index (out_infos, i);

      g_assert_cmpstr (tether_provider_info_get_name (a), ==, tether_provider_info_get_name (b));
      g_assert_cmpstr (tether_provider_info_get_description (a), ==,
                       tether_provider_info_get_description (b));
      g_assert_cmpstr (tether_provider_info_get_path (a), ==, tether_provider_info_get_path (b));
      g_assert_cmpuint (tether_provider_info_get_abi_version (a), ==,
                        tether_provider_info_get_abi_version (b));
      g_assert_cmpint (tether_provider_info_get_is_async (a), ==, tether_provider_info_get_is_async (b));
      g_assert_cmpstr (tether_provider_info_get_resource_type (a), ==,
                       tether_provider_info_get_resource_type (b));
    }

  g_assert_cmpuint (out_failures->len, ==, in_failures->len);
  for (guint i = 0; i < in_failures->len; i++)
    {
      TetherLoadFailure *a = g_ptr_array_index (in_failures, i);
      TetherLoadFailure *b = g_ptr_array_index (out_failures, i);
      const GError *ea = tether_load_failure_get_error (a);
      const GError *eb = tether_load_failure_get_error (b);

      g_assert_cmpstr (tether_load_failure_get_path (a), ==, tether_load_failure_get_path (b));
      g_assert_cmpint (tether_load_failure_get_stage (a), ==, tether_load_failure_get_stage (b));
      g_assert_true (g_error_matches (eb, ea->domain, ea->code));
      g_assert_cmpstr (eb->message, ==, ea->message);
    }

  remove_dir (dir);
}

/* Copies @files of the crashing corpus, and good.so, into a fresh 0700
 * directory. */
static char *
make_crashing_copy (const char *const *files)
{
  const char *crashing_dir = g_getenv ("TETHER_TEST_CRASHING_DIR");
  g_autofree char *good = g_build_filename (g_getenv ("TETHER_TEST_CORPUS_DIR"), "good.so", NULL);
  g_autofree char *good_copy = NULL;
  g_autoptr(GError) error = NULL;
  char *tmp;

  g_assert_nonnull (crashing_dir);
  tmp = g_dir_make_tmp ("tether-crashing-XXXXXX", &error);
  g_assert_no_error (error);
  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autofree char *from = g_build_filename (crashing_dir, files[i], NULL);
      g_autofree char *to = g_build_filename (tmp, files[i], NULL);

      test_copy_file (from, to, 0755);
    }
  good_copy = g_build_filename (tmp, "good.so", NULL);
  test_copy_file (good, good_copy, 0755);
  return tmp;
}

static void
test_list_out_of_process_crashes (void)
{
  const char *files[] = { "abort-entry.so", "chatty.so", "crash-constructor.so", "crash-init.so",
                          "exit-constructor.so", NULL };
  g_autofree char *dir = make_crashing_copy (files);
  const char *dirs[] = { dir, NULL };
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(GPtrArray) infos = tether_list_providers_full (dirs, TETHER_LOAD_NONE, 0, &failures);
  g_autoptr(GHashTable) by_file = failures_by_file (failures);
  g_autofree char *sigsegv = g_strdup_printf ("killed by signal %d (%s)", SIGSEGV, g_strsignal (SIGSEGV));
  g_autofree char *sigabrt = g_strdup_printf ("killed by signal %d (%s)", SIGABRT, g_strsignal (SIGABRT));
  static const struct
  {
    const char      *file;
    TetherLoadStage  stage;
    const char      *words[3];
  } expected[] = {
    { "crash-constructor.so", TETHER_LOAD_STAGE_OPEN, { "crashed in its ELF constructors", NULL } },
    { "exit-constructor.so", TETHER_LOAD_STAGE_OPEN, { "exit with status 7", "ELF constructors" } },
    { "abort-entry.so", TETHER_LOAD_STAGE_ENTRY, { "crashed in its entry point tether_provider_entry ()", "the entry point aborts on purpose" } },
  };

  /* The modules that did not crash the helper are listed: good.so,
   * crash-init.so, whose init a listing never calls, and chatty.so, whose
   * forged records on stdout are not taken for the helper's. */
  g_assert_cmpuint (infos->len, ==, 3);
  g_assert_cmpstr (tether_provider_info_get_name (g_ptr_array_index (infos, 0)), ==, "corpus-chatty");
  g_assert_cmpstr (tether_provider_info_get_description (g_ptr_array_index (infos, 0)), ==,
                   "a module of the loader test corpus");
  g_assert_cmpstr (tether_provider_info_get_name (g_ptr_array_index (infos, 1)), ==, "corpus-crash-init");
  g_assert_cmpstr (tether_provider_info_get_name (g_ptr_array_index (infos, 2)), ==, "corpus-good");

  g_assert_cmpuint (failures->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      TetherLoadFailure *failure = g_hash_table_lookup (by_file, expected[i].file);
      const GError *error;

      g_assert_nonnull (failure);
      error = tether_load_failure_get_error (failure);
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD);
      g_assert_cmpint (tether_load_failure_get_stage (failure), ==, expected[i].stage);
      g_assert_nonnull (strstr (error->message, tether_load_failure_get_path (failure)));
      for (guint j = 0; j < G_N_ELEMENTS (expected[i].words) && expected[i].words[j] != NULL; j++)
        g_assert_nonnull (strstr (error->message, expected[i].words[j]));
    }
  g_assert_nonnull (strstr (tether_load_failure_get_error (g_hash_table_lookup (by_file, "crash-constructor.so"))->message,
                            sigsegv));
  g_assert_nonnull (strstr (tether_load_failure_get_error (g_hash_table_lookup (by_file, "abort-entry.so"))->message,
                            sigabrt));

  remove_dir (dir);
}

static void
test_list_out_of_process_hang (void)
{
  const char *files[] = { "hang-entry.so", NULL };
  g_autofree char *dir = make_crashing_copy (files);
  const char *dirs[] = { dir, NULL };
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  TetherLoadFailure *failure;

  /* The module hangs forever: whatever the machine's speed, it is killed
   * at the deadline and good.so (milliseconds of work) is still listed. */
  infos = tether_list_providers_full (dirs, TETHER_LOAD_NONE, 3000, &failures);
  g_assert_cmpuint (infos->len, ==, 1);
  g_assert_cmpstr (tether_provider_info_get_name (g_ptr_array_index (infos, 0)), ==, "corpus-good");
  g_assert_cmpuint (failures->len, ==, 1);
  failure = g_ptr_array_index (failures, 0);
  g_test_message ("%s", tether_load_failure_get_error (failure)->message);
  g_assert_true (g_str_has_suffix (tether_load_failure_get_path (failure), "/hang-entry.so"));
  g_assert_cmpint (tether_load_failure_get_stage (failure), ==, TETHER_LOAD_STAGE_ENTRY);
  g_assert_error (tether_load_failure_get_error (failure), TETHER_ERROR, TETHER_ERROR_MODULE_LOAD);
  g_assert_nonnull (strstr (tether_load_failure_get_error (failure)->message,
                            "hung in its entry point tether_provider_entry (): it did not finish "
                            "within 3000 ms and was killed"));

  remove_dir (dir);
}

static void
test_list_out_of_process_no_scanner (void)
{
  g_autofree char *dir = make_corpus_copy ();
  const char *dirs[] = { dir, NULL };
  g_autofree char *saved = g_strdup (g_getenv ("TETHER_SCANNER"));
  const char *helpers[] = { "/nonexistent/tether-scanner", "/bin/true" };

  for (guint h = 0; h < G_N_ELEMENTS (helpers); h++)
    {
      g_autoptr(GPtrArray) failures = NULL;
      g_autoptr(GPtrArray) infos = NULL;

      g_setenv ("TETHER_SCANNER", helpers[h], TRUE);
      infos = tether_list_providers_full (dirs, TETHER_LOAD_NONE, 0, &failures);

      /* Every module fails, saying what to do; nothing is guessed. */
      g_assert_cmpuint (infos->len, ==, 0);
      g_assert_cmpuint (failures->len, >=, G_N_ELEMENTS (valid_modules));
      for (guint i = 0; i < failures->len; i++)
        {
          const GError *error = tether_load_failure_get_error (g_ptr_array_index (failures, i));

          if (i == 0)
            g_test_message ("%s", error->message);
          g_assert_error (error, TETHER_ERROR, TETHER_ERROR_FAILED);
          g_assert_nonnull (strstr (error->message, helpers[h]));
          g_assert_nonnull (strstr (error->message, "TETHER_SCANNER"));
        }
    }

  g_setenv ("TETHER_SCANNER", saved, TRUE);
  remove_dir (dir);
}

static gpointer
app_acquire (GMainContext  *context,
             gpointer       provider_data,
             GError       **error)
{
  return g_strdup ("a resource of the application");
}

static void
test_duplicate_of_application_template (void)
{
  static const TetherProvider provider = {
    .abi_version = TETHER_PROVIDER_ABI_VERSION,
    .struct_size = sizeof (TetherProvider),
    .name = "corpus-good",
    .acquire = app_acquire,
  };
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, "good.so", NULL);
  g_autoptr(TetherTemplate) mine = NULL;
  g_autoptr(TetherTemplate) loaded = NULL;
  g_autoptr(GError) error = NULL;

  reset_templates ();
  mine = tether_template_new (&provider, NULL);
  loaded = tether_load_provider (path, NULL, &error);
  g_assert_null (loaded);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_DUPLICATE_NAME);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "already registered, by the application (tether_template_new)"));

  reset_templates ();
  remove_dir (dir);
}

static void
test_insecure_foreign_owner (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  if (geteuid () != 0)
    {
      g_test_skip ("needs root to give a module to another user");
      return;
    }

  dir = make_corpus_copy ();
  path = g_build_filename (dir, "good.so", NULL);
  g_assert_cmpint (chown (path, 65534, 65534), ==, 0);

  template = tether_load_provider (path, NULL, &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "owned by uid 65534"));
  g_assert_nonnull (strstr (error->message, "`chown 0 "));
  g_assert_nonnull (strstr (error->message, "TETHER_LOAD_ALLOW_INSECURE_PATH"));

  reset_templates ();
  remove_dir (dir);
}

static void
test_eager_from_config (void)
{
  static const struct
  {
    const char *text;
    gboolean    loads;
    gboolean    eager;
  } cases[] = {
    { "", TRUE, FALSE },
    { "[provider corpus-good]\ngreeting=x\n", TRUE, FALSE },
    { "[provider corpus-good]\neager=true\n", TRUE, TRUE },
    { "[provider corpus-good]\neager=false\n", TRUE, FALSE },
    { "[provider someone-else]\neager=true\n", TRUE, FALSE },
    { "[provider corpus-good]\neager=maybe\n", FALSE, FALSE },
  };
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, "good.so", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GKeyFile) config = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherTemplate) template = NULL;

      reset_templates ();
      g_assert_true (_tether_loader_parse_config (cases[i].text, strlen (cases[i].text), &config, &error));
      template = tether_load_provider (path, config, &error);
      if (!cases[i].loads)
        {
          g_assert_null (template);
          g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG);
          g_test_message ("%s", error->message);
          g_assert_nonnull (strstr (error->message, "[provider corpus-good] eager=maybe"));
          g_assert_nonnull (strstr (error->message, "write eager=true"));
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (tether_template_get_eager (template), ==, cases[i].eager);
    }

  reset_templates ();
  remove_dir (dir);
}

static void
test_init_never_gets_null_config (void)
{
  g_autofree char *dir = make_corpus_copy ();
  g_autofree char *path = g_build_filename (dir, "good.so", NULL);
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GError) error = NULL;
  CorpusCounters *counters;

  reset_templates ();
  template = tether_load_provider (path, NULL, &error);
  g_assert_no_error (error);
  counters = module_counters (path);
  g_assert_cmpint (g_atomic_int_get (&counters->n_init), >=, 1);
  g_assert_cmpint (g_atomic_int_get (&counters->n_init_without_config), ==, 0);

  tether_template_unregister (template);
  reset_templates ();
  remove_dir (dir);
}

/* ------------------------------------------------------------------------ */
/* Search path and configuration parsing                                    */
/* ------------------------------------------------------------------------ */

static void
test_search_path_parse (void)
{
  static const struct
  {
    const char *value;
    const char *expected[4];
  } cases[] = {
    { NULL, { NULL } },
    { "", { NULL } },
    { ":::", { NULL } },
    { "/a", { "/a", NULL } },
    { "/a::/b:", { "/a", "/b", NULL } },
    { "relative:/abs:./dot:../up", { "/abs", NULL } },
    { "/x:/x", { "/x", "/x", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(GStrv) parsed = _tether_loader_parse_search_path (cases[i].value);

      g_assert_nonnull (parsed);
      g_assert_cmpstrv (parsed, cases[i].expected);
    }
}

static void
test_search_path_relative_reported (void)
{
  g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
  g_autoptr(GPtrArray) failures = NULL;
  g_auto(GStrv) parsed = _tether_loader_parse_search_path_full ("rel/dir:/abs::./dot", ignored);
  const char *expected[] = { "/abs", NULL };
  gboolean found = FALSE;

  g_assert_cmpstrv (parsed, expected);
  g_assert_cmpuint (ignored->len, ==, 2);
  for (guint i = 0; i < ignored->len; i++)
    {
      TetherLoadFailure *failure = g_ptr_array_index (ignored, i);
      const GError *error = tether_load_failure_get_error (failure);

      g_test_message ("%s", error->message);
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG);
      g_assert_cmpint (tether_load_failure_get_stage (failure), ==, TETHER_LOAD_STAGE_NONE);
      g_assert_nonnull (strstr (error->message, "TETHER_PROVIDER_PATH entry '"));
      g_assert_nonnull (strstr (error->message, "relative path"));
      g_assert_nonnull (strstr (error->message, "write it as an absolute path"));
    }
  g_assert_cmpstr (tether_load_failure_get_path (g_ptr_array_index (ignored, 0)), ==, "rel/dir");

  /* Loading the search path reports it among its failures. */
  reset_templates ();
  g_setenv (TETHER_PROVIDER_PATH_ENV, "relative-providers", TRUE);
  tether_load_providers (NULL, NULL, &failures);
  g_unsetenv (TETHER_PROVIDER_PATH_ENV);
  for (guint i = 0; i < failures->len; i++)
    if (g_strcmp0 (tether_load_failure_get_path (g_ptr_array_index (failures, i)), "relative-providers") == 0)
      found = TRUE;
  g_assert_true (found);
  reset_templates ();
}

static void
test_search_path_env (void)
{
  g_auto(GStrv) path = NULL;
  g_auto(GStrv) secure = NULL;
  const char *expected[] = { "/one", "/two", TETHER_PROVIDER_DIR, NULL };
  const char *expected_secure[] = { TETHER_PROVIDER_DIR, NULL };

  /* This test runs without privileges. */
  g_assert_false (_tether_env_is_secure_mode ());

  g_setenv (TETHER_PROVIDER_PATH_ENV, "/one:relative:/two", TRUE);
  path = tether_get_provider_search_path ();
  g_assert_cmpstrv (path, expected);

  secure = _tether_loader_search_path_for ("/one:/two", TRUE);
  g_assert_cmpstrv (secure, expected_secure);
  g_unsetenv (TETHER_PROVIDER_PATH_ENV);
}

static void
test_search_path_loads (void)
{
  g_autofree char *dir = make_corpus_copy ();
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(TetherTemplate) good = NULL;
  guint n;

  reset_templates ();
  g_setenv (TETHER_PROVIDER_PATH_ENV, dir, TRUE);
  n = tether_load_providers (NULL, NULL, &failures);
  g_unsetenv (TETHER_PROVIDER_PATH_ENV);

  g_assert_cmpuint (n, >=, G_N_ELEMENTS (valid_modules));
  good = find_template ("corpus-good");
  g_assert_nonnull (good);
  g_assert_cmpuint (failures->len, >=, G_N_ELEMENTS (failing_modules));

  reset_templates ();
  remove_dir (dir);
}

/* Runs @program as nobody; returns its output. */
static char *
run_as_nobody (const char *program,
               int        *out_status)
{
  const char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         program, NULL };
  /* LeakSanitizer cannot run in a process that changed user (sanitizer
   * builds); the option is ignored otherwise. */
  const char *envp[] = { "TETHER_PROVIDER_PATH=/attacker/providers", "PATH=/usr/bin:/bin",
                         "ASAN_OPTIONS=detect_leaks=0", NULL };
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_spawn_sync (NULL, (char **) argv, (char **) envp, G_SPAWN_SEARCH_PATH_FROM_ENVP,
                NULL, NULL, &out, NULL, out_status, &error);
  g_assert_no_error (error);
  return out;
}

static void
test_search_path_setgid (void)
{
  const char *helper = g_getenv ("TETHER_TEST_SETGID_HELPER");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *setgid = NULL;
  g_autofree char *out_plain = NULL;
  g_autofree char *out_setgid = NULL;
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  int status;

  g_assert_nonnull (helper);
  if (geteuid () != 0)
    {
      g_test_skip ("needs root to make a setgid copy owned by another group and run it "
                   "as an unprivileged user");
      return;
    }
  if (setpriv == NULL)
    {
      g_test_skip ("setpriv (util-linux) is not installed");
      return;
    }

  dir = g_dir_make_tmp ("tether-setgid-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  plain = g_build_filename (dir, "plain-helper", NULL);
  setgid = g_build_filename (dir, "setgid-helper", NULL);
  test_copy_file (helper, plain, 0755);
  test_copy_file (helper, setgid, 0755);
  /* Group root (0): nobody is not in it, so the kernel sets AT_SECURE. */
  g_assert_cmpint (chown (setgid, 0, 0), ==, 0);
  g_assert_cmpint (g_chmod (setgid, 02755), ==, 0);

  /* The contrast: the same program without the bit honours the variable. */
  out_plain = run_as_nobody (plain, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_test_message ("plain copy: %s", out_plain);
  g_assert_nonnull (strstr (out_plain, "at-secure=0\n"));
  g_assert_nonnull (strstr (out_plain, "dir=/attacker/providers\n"));
  g_assert_null (strstr (out_plain, "ignored="));

  out_setgid = run_as_nobody (setgid, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_test_message ("setgid copy: %s", out_setgid);
  if (strstr (out_setgid, "at-secure=1\n") == NULL)
    {
      /* e.g. a nosuid mount: the test would prove nothing. */
      g_test_skip ("the setgid copy did not run in secure mode (nosuid file system?)");
    }
  else
    {
      g_assert_null (strstr (out_setgid, "dir=/attacker/providers"));
      g_assert_nonnull (strstr (out_setgid, "dir=" TETHER_PROVIDER_DIR "\n"));
      /* Ignored, and said so, with where to install instead. */
      g_assert_nonnull (strstr (out_setgid, "ignored=TETHER_PROVIDER_PATH is ignored: this program "
                                            "runs in secure mode"));
      g_assert_nonnull (strstr (out_setgid, "install the module into " TETHER_PROVIDER_DIR));
    }

  g_assert_cmpint (g_unlink (plain), ==, 0);
  g_assert_cmpint (g_unlink (setgid), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_config_parse (void)
{
  static const struct
  {
    const char *text;
    gboolean    valid;
  } cases[] = {
    { "", TRUE },
    { "# only a comment\n", TRUE },
    { "[provider counter]\nstart=5\n", TRUE },
    { "[provider soup-session]\nuser-agent=x\n[provider sqlite]\npath=/tmp/x\n", TRUE },
    { "[provider]\nx=1\n", FALSE },
    { "[provider ]\nx=1\n", FALSE },
    { "[counter]\nstart=1\n", FALSE },
    { "[provider bad name]\n", FALSE },
    { "[provider 9starts-with-digit]\n", FALSE },
    { "[Provider counter]\n", FALSE },
    { "[provider counter\nstart=1\n", FALSE },
    { "key-outside-group=1\n", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GKeyFile) config = NULL;
      g_autoptr(GError) error = NULL;
      gboolean ok;

      ok = _tether_loader_parse_config (cases[i].text, strlen (cases[i].text), &config, &error);
      g_test_message ("%s -> %s", cases[i].text, error != NULL ? error->message : "ok");
      g_assert_cmpint (ok, ==, cases[i].valid);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_nonnull (config);
        }
      else
        {
          g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG);
          g_assert_null (config);
        }
    }

  /* An embedded NUL is refused, not silently truncated. */
  {
    static const char with_nul[] = "[provider counter]\nstart=1\0[evil]\n";
    g_autoptr(GError) error = NULL;

    g_assert_false (_tether_loader_parse_config (with_nul, sizeof with_nul - 1, NULL, &error));
    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG);
  }
}

static void
test_config_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GKeyFile) config = NULL;
  int fd;

  fd = g_file_open_tmp ("tether-config-XXXXXX.ini", &path, &error);
  g_assert_no_error (error);
  close (fd);

  g_file_set_contents (path, "[provider counter]\nstart=42\n", -1, &error);
  g_assert_no_error (error);
  config = tether_provider_config_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_key_file_get_integer (config, "provider counter", "start", NULL), ==, 42);
  g_clear_pointer (&config, g_key_file_unref);

  g_file_set_contents (path, "[general]\nx=1\n", -1, &error);
  g_assert_no_error (error);
  config = tether_provider_config_new_from_file (path, &error);
  g_assert_null (config);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, path));

  g_unlink (path);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);
  /* Whatever the caller's environment says, the tests set their own. */
  g_unsetenv (TETHER_PROVIDER_PATH_ENV);

  g_test_add_func ("/loader/dir/corpus", test_dir_corpus);
  for (guint i = 0; i < G_N_ELEMENTS (failing_modules); i++)
    g_test_add_data_func (failing_modules[i].path, GUINT_TO_POINTER (i), test_single_failure);
  g_test_add_func ("/loader/init/config-and-shutdown", test_init_config_and_shutdown);
  g_test_add_func ("/loader/abi/old-layout", test_old_layout);
  g_test_add_func ("/loader/vtable/async-only", test_async_only);
  g_test_add_func ("/loader/list/boxed-copies", test_boxed_copies);
  g_test_add_data_func ("/loader/acquire/null-without-error", "null-no-error.so", test_bad_acquire);
  g_test_add_data_func ("/loader/acquire/value-with-error", "value-and-error.so", test_bad_acquire);
  g_test_add_func ("/loader/insecure/allow-flag", test_insecure_allow_flag);
  g_test_add_func ("/loader/insecure/others-writable-dir", test_insecure_dir);
  g_test_add_func ("/loader/load/missing", test_missing);
  g_test_add_func ("/loader/list/no-init", test_list);
  g_test_add_func ("/loader/list/out-of-process/agrees-with-in-process", test_list_out_of_process_agrees);
  g_test_add_func ("/loader/list/out-of-process/crashes-reported", test_list_out_of_process_crashes);
  g_test_add_func ("/loader/list/out-of-process/hang-killed", test_list_out_of_process_hang);
  g_test_add_func ("/loader/list/out-of-process/no-scanner", test_list_out_of_process_no_scanner);
  g_test_add_func ("/loader/name/duplicate-of-application-template", test_duplicate_of_application_template);
  g_test_add_func ("/loader/insecure/foreign-owner", test_insecure_foreign_owner);
  g_test_add_func ("/loader/init/never-null-config", test_init_never_gets_null_config);
  g_test_add_func ("/loader/config/eager", test_eager_from_config);
  g_test_add_func ("/loader/search-path/parse", test_search_path_parse);
  g_test_add_func ("/loader/search-path/relative-entry-reported", test_search_path_relative_reported);
  g_test_add_func ("/loader/search-path/env", test_search_path_env);
  g_test_add_func ("/loader/search-path/loads-from-env", test_search_path_loads);
  g_test_add_func ("/loader/search-path/setgid-ignores-env", test_search_path_setgid);
  g_test_add_func ("/loader/config/parse", test_config_parse);
  g_test_add_func ("/loader/config/file", test_config_file);

  return g_test_run ();
}
