/* test-inspect.c: tether-inspect on good and bad modules, exit codes included
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include <tether/tether.h>

typedef struct
{
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs tether-inspect with @args; @provider_path (nullable) becomes
 * TETHER_PROVIDER_PATH. Fills @run with the exit status and output. */
static void
inspect (Run         *run,
         const char  *provider_path,
         const char  *first_arg,
         ...)
{
  const char *inspect_path = g_getenv ("TETHER_TEST_INSPECT");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list ap;
  int wait_status;

  g_assert_nonnull (inspect_path);
  g_ptr_array_add (argv, (gpointer) inspect_path);
  va_start (ap, first_arg);
  for (arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  envp = provider_path != NULL ? g_environ_setenv (envp, "TETHER_PROVIDER_PATH", provider_path, TRUE)
                               : g_environ_unsetenv (envp, "TETHER_PROVIDER_PATH");
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
  g_test_message ("exit %d\n--- stdout\n%s--- stderr\n%s", run->status, run->out, run->err);
}

static char *
corpus_file (const char *name)
{
  return g_build_filename (g_getenv ("TETHER_TEST_CORPUS_DIR"), name, NULL);
}

static char *
plugin_file (const char *name)
{
  return g_build_filename (g_getenv ("TETHER_TEST_PLUGINS_DIR"), name, NULL);
}

static void
test_help (void)
{
  g_auto(Run) run = { 0 };

  inspect (&run, NULL, "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Exit status"));
  g_assert_nonnull (strstr (run.out, "--exercise"));
  g_assert_nonnull (strstr (run.out, "TETHER_PROVIDER_PATH"));
}

static void
test_usage_errors (void)
{
  g_auto(Run) bad_option = { 0 };
  g_auto(Run) bad_count = { 0 };
  g_auto(Run) two_files = { 0 };
  g_auto(Run) bad_config = { 0 };
  g_autofree char *config_path = NULL;
  g_autoptr(GError) error = NULL;
  int fd;

  inspect (&bad_option, NULL, "--no-such-option", NULL);
  g_assert_cmpint (bad_option.status, ==, 2);

  inspect (&bad_count, NULL, "--exercise", "-3", NULL);
  g_assert_cmpint (bad_count.status, ==, 2);

  inspect (&two_files, NULL, "a.so", "b.so", NULL);
  g_assert_cmpint (two_files.status, ==, 2);

  fd = g_file_open_tmp ("tether-inspect-XXXXXX.ini", &config_path, &error);
  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (config_path, "[not a provider group]\n", -1, &error);
  g_assert_no_error (error);
  inspect (&bad_config, NULL, "--config", config_path, NULL);
  g_assert_cmpint (bad_config.status, ==, 2);
  g_assert_nonnull (strstr (bad_config.err, "provider NAME"));
  g_unlink (config_path);
}

static void
test_list_plugins (void)
{
  g_auto(Run) run = { 0 };
  static const char *names[] = { "counter", "soup-session", "sqlite", "dbus" };

  inspect (&run, g_getenv ("TETHER_TEST_PLUGINS_DIR"), NULL);
  g_assert_cmpint (run.status, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *line = g_strdup_printf ("  %-16s ABI %u.%u", names[i],
                                               TETHER_PROVIDER_ABI_MAJOR,
                                               TETHER_PROVIDER_ABI_MINOR);

      if (g_str_equal (names[i], "soup-session") || g_str_equal (names[i], "sqlite"))
        if (strstr (run.out, names[i]) == NULL)
          continue;   /* not built: its dependency is missing */
      g_assert_nonnull (strstr (run.out, line));
    }
  g_assert_nonnull (strstr (run.out, "0 failed"));
}

static void
test_list_corpus (void)
{
  g_auto(Run) run = { 0 };

  /* The corpus: valid modules listed, broken ones reported, status 1. */
  inspect (&run, NULL, "--dir", g_getenv ("TETHER_TEST_CORPUS_DIR"), NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.out, "corpus-good "));
  g_assert_nonnull (strstr (run.out, "corpus-old-layout "));
  g_assert_nonnull (strstr (run.out, "shadowed"));   /* twin-of-good */
  g_assert_nonnull (strstr (run.out, "not-elf.so"));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_NO_ENTRY_POINT]"));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_ABI_MISMATCH]"));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_MODULE_LOAD]"));
}

static void
test_file_good (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = corpus_file ("good.so");

  inspect (&run, NULL, path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Provider corpus-good"));
  g_assert_nonnull (strstr (run.out, "valid"));
}

static void
test_file_bad (void)
{
  static const struct
  {
    const char *file;
    const char *code;
  } cases[] = {
    { "no-entry.so", "TETHER_ERROR_NO_ENTRY_POINT" },
    { "abi-major.so", "TETHER_ERROR_ABI_MISMATCH" },
    { "struct-small.so", "TETHER_ERROR_STRUCT_TOO_SMALL" },
    { "empty-name.so", "TETHER_ERROR_INVALID_NAME" },
    { "no-acquire.so", "TETHER_ERROR_NO_ACQUIRE" },
    { "init-fails.so", "TETHER_ERROR_INIT_FAILED" },
    { "unresolved.so", "TETHER_ERROR_MODULE_LOAD" },
    { "not-elf.so", "TETHER_ERROR_MODULE_LOAD" },
    { "does-not-exist.so", "TETHER_ERROR_MODULE_LOAD" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };
      g_autofree char *path = corpus_file (cases[i].file);

      inspect (&run, NULL, path, NULL);
      g_assert_cmpint (run.status, ==, 1);
      g_assert_nonnull (strstr (run.err, cases[i].code));
      g_assert_nonnull (strstr (run.err, cases[i].file));
    }
}

static void
test_exercise (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = plugin_file ("counter.so");

  inspect (&run, NULL, "--exercise", "4", "--hits", "100", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Exercise counter: 4 worker contexts"));
  g_assert_nonnull (strstr (run.out, "4 ok, 0 failed"));
  g_assert_nonnull (strstr (run.out, "acquire  min"));
}

static void
test_exercise_fails (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = corpus_file ("null-no-error.so");

  /* Loads fine; every acquire breaks the contract. */
  inspect (&run, NULL, "--exercise", "2", path, NULL);
  g_assert_cmpint (run.status, ==, 3);
  g_assert_nonnull (strstr (run.out, "TETHER_ERROR_INVALID_RESULT"));
  g_assert_nonnull (strstr (run.out, "0 ok, 2 failed"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/inspect/help", test_help);
  g_test_add_func ("/inspect/usage-errors", test_usage_errors);
  g_test_add_func ("/inspect/list/plugins", test_list_plugins);
  g_test_add_func ("/inspect/list/corpus", test_list_corpus);
  g_test_add_func ("/inspect/file/good", test_file_good);
  g_test_add_func ("/inspect/file/bad", test_file_bad);
  g_test_add_func ("/inspect/exercise/ok", test_exercise);
  g_test_add_func ("/inspect/exercise/fails", test_exercise_fails);

  return g_test_run ();
}
