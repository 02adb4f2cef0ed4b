/* test-inspect.c: tether-inspect on good and bad modules, exit codes included
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
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

/* When set, the TETHER_SCANNER the next inspect () runs with ("" to run
 * without one). */
static const char *scanner_override;

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
  if (scanner_override != NULL && scanner_override[0] == '\0')
    envp = g_environ_unsetenv (envp, "TETHER_SCANNER");
  else if (scanner_override != NULL)
    envp = g_environ_setenv (envp, "TETHER_SCANNER", scanner_override, TRUE);
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
  g_auto (Run) run = { 0 };

  inspect (&run, NULL, "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Exit status"));
  g_assert_nonnull (strstr (run.out, "--exercise"));
  g_assert_nonnull (strstr (run.out, "TETHER_PROVIDER_PATH"));
  g_assert_nonnull (strstr (run.out, "TETHER_SCANNER"));
  g_assert_nonnull (strstr (run.out, "--no-exercise"));
  g_assert_nonnull (strstr (run.out, "--timeout"));
  for (guint i = 0; i <= 5; i++)
    {
      g_autofree char *status = g_strdup_printf ("\n  %u  ", i);

      g_assert_nonnull (strstr (run.out, status));
    }
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

  {
    g_auto(Run) bad_timeout = { 0 };

    inspect (&bad_timeout, NULL, "--timeout", "0", NULL);
    g_assert_cmpint (bad_timeout.status, ==, 2);
  }

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
  g_assert_nonnull (strstr (run.out, " providers, 0 failed"));
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
  /* twin-of-good: a failure, as loading the directory makes it. */
  g_assert_nonnull (strstr (run.out, "twin-of-good.so\n    Provider module"));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_DUPLICATE_NAME, stage register]"));
  g_assert_nonnull (strstr (run.out, "not-elf.so"));
  /* init is not run by a listing: init-fails.so is valid there. */
  g_assert_nonnull (strstr (run.out, "corpus-init-fails "));
  g_assert_nonnull (strstr (run.out, "\n6 providers, 9 failed\n"));
  g_assert_nonnull (strstr (run.out, "asynchronous only"));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_NO_ENTRY_POINT, stage entry]"));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_ABI_MISMATCH, stage validate]"));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_MODULE_LOAD, stage open]"));
}

static void
test_file_good (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = corpus_file ("good.so");

  inspect (&run, NULL, path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Provider corpus-good\n"));
  g_assert_nonnull (strstr (run.out, "  description  a module of the loader test corpus\n"));
  {
    g_autofree char *abi = g_strdup_printf ("  ABI          %u.%u, struct_size %u (this tether: %u.%u, %u)\n",
                                            TETHER_PROVIDER_ABI_MAJOR, TETHER_PROVIDER_ABI_MINOR,
                                            (guint) sizeof (TetherProvider),
                                            TETHER_PROVIDER_ABI_MAJOR, TETHER_PROVIDER_ABI_MINOR,
                                            (guint) sizeof (TetherProvider));

    g_assert_nonnull (strstr (run.out, abi));
  }
  g_assert_nonnull (strstr (run.out, "  acquire      synchronous\n"));
  g_assert_nonnull (strstr (run.out, "  resource     "));
  g_assert_nonnull (strstr (run.out, "  timings      open "));
  g_assert_nonnull (strstr (run.out, ", acquire "));
  g_assert_nonnull (strstr (run.out, ", release "));
  g_assert_nonnull (strstr (run.out, ", ungraceful release "));
  g_assert_nonnull (strstr (run.out, "  verdict      valid: loaded, initialised, acquired and released "
                                     "gracefully and ungracefully (context NULL, by a purge after "
                                     "its context died)\n"));
}

static void
test_file_async_only (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = corpus_file ("async-only.so");

  inspect (&run, NULL, path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "  acquire      asynchronous only\n"));
  g_assert_nonnull (strstr (run.out, "  verdict      valid"));
}

static void
test_file_acquire_fails (void)
{
  g_auto(Run) run = { 0 };
  g_auto(Run) skipped = { 0 };
  g_autofree char *path = corpus_file ("null-no-error.so");

  /* It loads; its acquire breaks the contract, which the default exercise
   * finds. */
  inspect (&run, NULL, path, NULL);
  g_assert_cmpint (run.status, ==, 3);
  g_assert_nonnull (strstr (run.out, "  verdict      FAILED in its acquire: "));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_INVALID_RESULT]"));
  g_assert_null (strstr (run.out, "valid"));

  inspect (&skipped, NULL, "--no-exercise", path, NULL);
  g_assert_cmpint (skipped.status, ==, 0);
  g_assert_nonnull (strstr (skipped.out, "not exercised: --no-exercise"));
}

static char *
crashing_file (const char *name)
{
  return g_build_filename (g_getenv ("TETHER_TEST_CRASHING_DIR"), name, NULL);
}

static void
test_file_crashes (void)
{
  static const struct
  {
    const char *file;
    const char *words[3];
  } cases[] = {
    { "crash-constructor.so", { "crashed in its ELF constructors", "[crashed, stage open]" } },
    { "exit-constructor.so", { "exit with status 7", "[crashed, stage open]" } },
    { "abort-entry.so", { "crashed in its entry point", "[crashed, stage entry]", "its last output: corpus: the entry point aborts on purpose" } },
    { "crash-init.so", { "crashed in its init hook", "[crashed, stage init]", "corpus: about to crash in init" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };
      g_autofree char *path = crashing_file (cases[i].file);

      inspect (&run, NULL, path, NULL);
      g_assert_cmpint (run.status, ==, 4);
      g_assert_nonnull (strstr (run.err, path));
      for (guint j = 0; j < G_N_ELEMENTS (cases[i].words) && cases[i].words[j] != NULL; j++)
        g_assert_nonnull (strstr (run.err, cases[i].words[j]));
    }
}

static void
test_file_hangs (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = crashing_file ("hang-entry.so");

  /* It never returns: killed at the deadline, whatever the machine. */
  inspect (&run, NULL, "--timeout", "1", path, NULL);
  g_assert_cmpint (run.status, ==, 4);
  g_assert_nonnull (strstr (run.err, "hung in its entry point"));
  g_assert_nonnull (strstr (run.err, "within 1000 ms"));
  g_assert_nonnull (strstr (run.err, "[hung, stage entry]"));
}

static void
test_list_crashing (void)
{
  g_auto(Run) run = { 0 };

  inspect (&run, NULL, "--timeout", "2", "--dir", g_getenv ("TETHER_TEST_CRASHING_DIR"), NULL);
  g_assert_cmpint (run.status, ==, 4);
  /* The one that only crashes in init is listed, and the chatty one. */
  g_assert_nonnull (strstr (run.out, "corpus-crash-init"));
  g_assert_nonnull (strstr (run.out, "\n2 providers, 4 failed\n"));
  /* What a module prints goes to stderr, never into the records. */
  g_assert_nonnull (strstr (run.out, "corpus-chatty "));
  g_assert_null (strstr (run.out, "evil"));
  g_assert_nonnull (strstr (run.err, "name evil"));
  g_assert_nonnull (strstr (run.out, "[crashed, stage open]"));
  g_assert_nonnull (strstr (run.out, "[crashed, stage entry]"));
  g_assert_nonnull (strstr (run.out, "[hung, stage entry]"));
}

static void
test_no_scanner (void)
{
  g_auto(Run) run = { 0 };
  g_auto(Run) listing = { 0 };
  g_autofree char *path = corpus_file ("good.so");

  scanner_override = "/nonexistent/tether-scanner";
  inspect (&run, NULL, path, NULL);
  inspect (&listing, NULL, "--dir", g_getenv ("TETHER_TEST_CORPUS_DIR"), NULL);
  scanner_override = NULL;

  g_assert_cmpint (run.status, ==, 5);
  g_assert_nonnull (strstr (run.err, "/nonexistent/tether-scanner"));
  g_assert_nonnull (strstr (run.err, "TETHER_SCANNER"));
  g_assert_cmpint (listing.status, ==, 5);
}

static void
test_file_bad (void)
{
  static const struct
  {
    const char *file;
    const char *code;
  } cases[] = {
    { "no-entry.so", "TETHER_ERROR_NO_ENTRY_POINT, stage entry" },
    { "abi-major.so", "TETHER_ERROR_ABI_MISMATCH, stage validate" },
    { "struct-small.so", "TETHER_ERROR_STRUCT_TOO_SMALL" },
    { "empty-name.so", "TETHER_ERROR_INVALID_NAME" },
    { "no-acquire.so", "TETHER_ERROR_NO_ACQUIRE" },
    { "init-fails.so", "TETHER_ERROR_INIT_FAILED, stage init" },
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
  g_assert_nonnull (strstr (run.out, "counters 4 acquires (0 failed), 0 joins, 4 graceful"));
  g_assert_nonnull (strstr (run.out, "provider acquire: mean"));
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
  g_assert_nonnull (strstr (run.out, "counters 2 acquires (2 failed)"));
}

/* tether-inspect FILE on each module of the hostile corpus: the exit
 * status, and the words that name what the module did and the provider
 * function at fault. FILE's run loads and exercises the module in the
 * helper (both cycles). */
/* clang-format off */
static const struct
{
  const char *file;
  const char *option;      /* nullable: --timeout 2, or --slow-release */
  const char *value;
  int         status;
  const char *words[3];
} hostile_cases[] = {
  { "forge-then-crash.so", NULL, NULL, 4,
    { "corrupted the records of the process examining it", "'done' without 'real-path'",
      "killed by signal 11" } },
  { "forge-then-exit.so", NULL, NULL, 4,
    { "corrupted the records", "'done' without 'real-path'", "[crashed, stage open]" } },
  { "forge-garbage.so", NULL, NULL, 4,
    { "corrupted the records", "not escaped as g_strescape () does" } },
  { "flood-stderr.so", NULL, NULL, 4, { "flooded the process examining it with output" } },
  { "flood-stdout.so", NULL, NULL, 4, { "flooded the process examining it with output" } },
  { "flood-records.so", NULL, NULL, 4, { "more than 256 KiB of records" } },
  { "fork.so", NULL, NULL, 0, { "  verdict      valid" } },
  { "slow-constructor.so", "--timeout", "1", 4,
    { "hung in its ELF constructors", "within 1000 ms", "[hung, stage open]" } },
  { "huge-description.so", NULL, NULL, 0, { "  verdict      valid", "  description  aaaaaaaa" } },
  { "huge-name.so", NULL, NULL, 1, { "bytes left out", "is not valid: set .name" } },
  { "latin1-name.so", NULL, NULL, 1,
    { "Provider name 'caf\\xe9' is not valid", "[TETHER_ERROR_INVALID_NAME, stage validate]" } },
  { "not-an-instance.so", NULL, NULL, 3,
    { "FAILED in its acquire: acquire returned a pointer that is not a GObject instance of "
      "type GCancellable" } },
  { "async-never-completes.so", "--timeout", "2", 4,
    { "acquire_async never completed its task: call the callback or return the GTask",
      "[hung, stage acquire]" } },
  { "finish-value-and-error.so", NULL, NULL, 3,
    { "FAILED in its acquire_finish: acquire_finish returned a resource and also set an error",
      "do one or the other" } },
  { "release-needs-context.so", NULL, NULL, 4,
    { "crashed in its release, called ungracefully", "a release must handle context == NULL",
      "signal 6" } },
  { "slow-release.so", "--slow-release", "200", 0,
    { "  warning      slow release: ", "more than --slow-release 200 ms", "  verdict      valid" } },
  { "links-libtether.so", NULL, NULL, 1,
    { "FAILED: the module links libtether-1", "must not link libtether-1",
      "partial_dependency (compile_args: true)" } },
  { "links-libtether-missing.so", NULL, NULL, 1,
    { "libtether-1.so.0: cannot open shared object file", "must not link libtether-1" } },
};
/* clang-format on */

static void
test_hostile (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  g_auto(Run) run = { 0 };
  g_autofree char *path = g_build_filename (g_getenv ("TETHER_TEST_HOSTILE_DIR"),
                                            hostile_cases[i].file, NULL);
  g_autofree char *all = NULL;

  if (hostile_cases[i].option != NULL)
    inspect (&run, NULL, hostile_cases[i].option, hostile_cases[i].value, path, NULL);
  else
    inspect (&run, NULL, path, NULL);
  all = g_strconcat (run.out, run.err, NULL);
  g_assert_cmpint (run.status, ==, hostile_cases[i].status);
  g_assert_true (g_utf8_validate (run.out, -1, NULL));
  for (guint j = 0; j < G_N_ELEMENTS (hostile_cases[i].words) && hostile_cases[i].words[j] != NULL; j++)
    g_assert_nonnull (strstr (all, hostile_cases[i].words[j]));
  /* The caller's share of a flood is its last 4 KiB, said so; a 64 MiB
   * description or name is cut. */
  g_assert_cmpuint (strlen (run.err), <, 16 * 1024);
  g_assert_cmpuint (strlen (run.out), <, 4 * 1024);
}

/* A slow release is reported only past the threshold. */
static void
test_slow_release_threshold (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = g_build_filename (g_getenv ("TETHER_TEST_HOSTILE_DIR"),
                                            "slow-release.so", NULL);

  inspect (&run, NULL, "--slow-release", "60000", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_null (strstr (run.out, "slow release"));
}

static void
test_version (void)
{
  g_auto(Run) run = { 0 };

  inspect (&run, NULL, "--version", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.out, "tether-inspect " TETHER_VERSION_S " (provider ABI "));
}

static void
test_list_relative_entry (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *value = g_strconcat ("relative/providers:", g_getenv ("TETHER_TEST_PLUGINS_DIR"), NULL);

  /* Not used, and said so: in the search path and among the failures. */
  inspect (&run, value, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.out, "  relative/providers  (ignored, see below)\n"));
  g_assert_nonnull (strstr (run.out, "TETHER_PROVIDER_PATH entry 'relative/providers' is ignored: it "
                                     "is a relative path"));
  g_assert_nonnull (strstr (run.out, "[TETHER_ERROR_INVALID_CONFIG]"));
  g_assert_nonnull (strstr (run.out, "  counter "));
}

static void
test_resource_type (void)
{
#if TETHER_PROVIDER_ABI_MINOR >= 1
  g_auto(Run) run = { 0 };
  g_auto(Run) listing = { 0 };
  g_autofree char *path = plugin_file ("dbus.so");

  /* The dbus provider declares GDBusConnection (provider ABI 1.1). */
  inspect (&run, NULL, "--no-exercise", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "  resource     GDBusConnection\n"));
  inspect (&listing, g_getenv ("TETHER_TEST_PLUGINS_DIR"), NULL);
  g_assert_nonnull (strstr (listing.out, "; resources of type GDBusConnection"));
#else
  g_test_skip ("the provider ABI declares no resource type before 1.1");
#endif
}

static void
test_scanner_beside (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = corpus_file ("good.so");

  /* No TETHER_SCANNER: the build tree's tether-inspect finds the
   * tether-scanner beside it. */
  scanner_override = "";
  inspect (&run, NULL, path, NULL);
  scanner_override = NULL;
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "  verdict      valid"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* meson points it at the build tree's libraries; an installed
   * tether-inspect has no such help (links-libtether-missing.so must not
   * find libtether-1). Nothing else run here needs it. */
  g_unsetenv ("LD_LIBRARY_PATH");

  g_test_add_func ("/inspect/help", test_help);
  g_test_add_func ("/inspect/usage-errors", test_usage_errors);
  g_test_add_func ("/inspect/list/plugins", test_list_plugins);
  g_test_add_func ("/inspect/list/corpus", test_list_corpus);
  g_test_add_func ("/inspect/file/good", test_file_good);
  g_test_add_func ("/inspect/file/bad", test_file_bad);
  g_test_add_func ("/inspect/file/async-only", test_file_async_only);
  g_test_add_func ("/inspect/file/acquire-fails", test_file_acquire_fails);
  g_test_add_func ("/inspect/file/crashes", test_file_crashes);
  g_test_add_func ("/inspect/file/hangs", test_file_hangs);
  g_test_add_func ("/inspect/list/crashing", test_list_crashing);
  g_test_add_func ("/inspect/list/relative-path-entry", test_list_relative_entry);
  g_test_add_func ("/inspect/no-scanner", test_no_scanner);
  g_test_add_func ("/inspect/file/resource-type", test_resource_type);
  g_test_add_func ("/inspect/scanner-beside-in-build-tree", test_scanner_beside);
  g_test_add_func ("/inspect/exercise/ok", test_exercise);
  g_test_add_func ("/inspect/exercise/fails", test_exercise_fails);
  g_test_add_func ("/inspect/version", test_version);
  g_test_add_func ("/inspect/slow-release/threshold", test_slow_release_threshold);
  for (guint i = 0; i < G_N_ELEMENTS (hostile_cases); i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/inspect/hostile/%s", hostile_cases[i].file);

      g_test_add_data_func (test_path, GUINT_TO_POINTER (i), test_hostile);
    }

  return g_test_run ();
}
