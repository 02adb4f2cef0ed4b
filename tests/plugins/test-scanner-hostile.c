/* test-scanner-hostile.c: tether_list_providers_full () against modules
 * that attack the scanner
 *
 * The hostile corpus (corpus/hostile/hostile-module.c) forges the helper's
 * records and then dies, writes records no helper writes, floods standard
 * output, standard error and the records' descriptor, forks a child that
 * would outlive the helper, hangs, and carries a 64 MiB description or
 * name. Listed out of process, each must be a failure with a message that
 * says what it did (or, for the valid ones, a listing within bounds), the
 * caller must stay up and small, and nothing the module forked may
 * survive.
 *
 * Public API only.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <tether/tether.h>

#include "../test-util.h"   /* test_remove_tree() */

/* The modules listed, and what their failure's message must say (NULL:
 * the module is valid, and listed). */
/* clang-format off */
static const struct
{
  const char *file;
  const char *words[3];
} hostile[] = {
  { "forge-then-crash.so", { "corrupted the records of the process examining it",
                             "'done' without 'real-path'", "killed by signal 11" } },
  { "forge-then-exit.so", { "corrupted the records of the process examining it",
                            "'done' without 'real-path'", "descriptor 3" } },
  { "forge-garbage.so", { "corrupted the records of the process examining it",
                          "not escaped as g_strescape () does" } },
  { "flood-stderr.so", { "flooded the process examining it with output",
                         "a module must not write in a loop" } },
  { "flood-stdout.so", { "flooded the process examining it with output" } },
  { "flood-records.so", { "corrupted the records of the process examining it",
                          "more than 256 KiB of records" } },
  { "slow-constructor.so", { "hung in its ELF constructors", "within 2000 ms" } },
  { "huge-name.so", { "is not valid" } },
  { "latin1-name.so", { "Provider name 'caf\\xe9' is not valid" } },
  { "fork.so", { NULL } },
  { "huge-description.so", { NULL } },
};
/* clang-format on */

static char *fork_pid_file;

/* The peak resident size of this process, in KiB, since the last reset;
 * -1 when the kernel cannot reset it. */
static gint64
peak_rss_kib (gboolean reset)
{
  g_autofree char *status = NULL;
  const char *line;

  if (reset)
    {
      int fd = open ("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
      gboolean done = fd >= 0 && write (fd, "5", 1) == 1;

      if (fd >= 0)
        close (fd);
      if (!done)
        return -1;
    }
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmHWM:");
  return line != NULL ? g_ascii_strtoll (line + strlen ("VmHWM:"), NULL, 10) : -1;
}

/* Whether @pid is gone (or a zombie nobody reaped: dead all the same). */
static gboolean
process_is_dead (pid_t pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *close_paren;

  if (kill (pid, 0) != 0 && errno == ESRCH)
    return TRUE;
  if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
    return TRUE;
  close_paren = strrchr (stat, ')');
  return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static const TetherLoadFailure *
failure_for (GPtrArray  *failures,
             const char *file)
{
  for (guint i = 0; i < failures->len; i++)
    if (g_str_has_suffix (tether_load_failure_get_path (g_ptr_array_index (failures, i)), file))
      return g_ptr_array_index (failures, i);
  return NULL;
}

static const TetherProviderInfo *
info_for (GPtrArray  *infos,
          const char *file)
{
  for (guint i = 0; i < infos->len; i++)
    if (g_str_has_suffix (tether_provider_info_get_path (g_ptr_array_index (infos, i)), file))
      return g_ptr_array_index (infos, i);
  return NULL;
}

static void
test_list_hostile (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tether-hostile-XXXXXX", &error);
  g_autofree char *good = g_build_filename (g_getenv ("TETHER_TEST_CORPUS_DIR"), "good.so", NULL);
  g_autofree char *good_copy = NULL;
  g_autofree char *pid_text = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GPtrArray) failures = NULL;
  const char *dirs[] = { NULL, NULL };
  gint64 peak_before, peak_after, start, elapsed;
  pid_t forked;

  g_assert_no_error (error);
  dirs[0] = dir;
  good_copy = g_build_filename (dir, "good.so", NULL);
  test_copy_file (good, good_copy, 0644);
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autofree char *from = g_build_filename (g_getenv ("TETHER_TEST_HOSTILE_DIR"),
                                                hostile[i].file, NULL);
      g_autofree char *to = g_build_filename (dir, hostile[i].file, NULL);

      test_copy_file (from, to, 0644);
    }

  peak_before = peak_rss_kib (TRUE);
  start = g_get_monotonic_time ();
  infos = tether_list_providers_full (dirs, TETHER_LOAD_NONE, 2000, &failures);
  elapsed = g_get_monotonic_time () - start;
  peak_after = peak_rss_kib (FALSE);
  g_test_message ("listed in %.1f s; peak resident size %" G_GINT64_FORMAT " KiB before, "
                  "%" G_GINT64_FORMAT " KiB during the listing",
                  elapsed / 1e6, peak_before, peak_after);

  /* The caller stayed small: each helper's output is bounded (1 MiB read
   * at most per module, 4 KiB kept), whatever the module writes. */
  if (peak_before > 0)
    g_assert_cmpint (peak_after - peak_before, <, 64 * 1024);
  else
    g_test_message ("peak resident size cannot be reset here: not checked");

  g_assert_nonnull (info_for (infos, "/good.so"));
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      const TetherLoadFailure *failure = failure_for (failures, hostile[i].file);

      if (hostile[i].words[0] == NULL)
        {
          g_test_message ("%s: listed", hostile[i].file);
          g_assert_null (failure);
          g_assert_nonnull (info_for (infos, hostile[i].file));
          continue;
        }

      g_assert_nonnull (failure);
      g_test_message ("%s: %s", hostile[i].file, tether_load_failure_get_error (failure)->message);
      g_assert_null (info_for (infos, hostile[i].file));
      g_assert_true (g_utf8_validate (tether_load_failure_get_error (failure)->message, -1, NULL));
      g_assert_cmpuint (strlen (tether_load_failure_get_error (failure)->message), <, 8192);
      for (guint j = 0; j < G_N_ELEMENTS (hostile[i].words) && hostile[i].words[j] != NULL; j++)
        g_assert_nonnull (strstr (tether_load_failure_get_error (failure)->message,
                                  hostile[i].words[j]));
    }

  /* A 64 MiB description is listed cut, valid UTF-8. */
  {
    const char *description =
      tether_provider_info_get_description (info_for (infos, "huge-description.so"));

    g_assert_nonnull (description);
    g_assert_cmpuint (strlen (description), <=, 1024);
    g_assert_true (g_str_has_suffix (description, "\xe2\x80\xa6"));
  }

  /* The child fork.so left behind, which would sleep a minute holding the
   * helper's pipes, died with the helper's process group. */
  g_assert_true (g_file_get_contents (fork_pid_file, &pid_text, NULL, NULL));
  forked = (pid_t) g_ascii_strtoll (pid_text, NULL, 10);
  g_assert_cmpint (forked, >, 0);
  g_test_message ("fork.so's child %d: %s", (int) forked,
                  process_is_dead (forked) ? "dead" : "STILL RUNNING");
  if (!process_is_dead (forked))
    {
      kill (forked, SIGKILL);
      g_assert_not_reached ();
    }

  test_remove_tree (dir);
}

/* Loaded in-process, a name that is not UTF-8, or 64 MiB long, still
 * gives a GError message of valid UTF-8, bounded, naming it escaped. */
static void
test_in_process_messages (void)
{
  static const struct
  {
    const char *file;
    const char *words;
  } cases[] = {
    { "latin1-name.so", "Provider name 'caf\\xe9' is not valid" },
    { "huge-name.so", "bytes left out" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (g_getenv ("TETHER_TEST_HOSTILE_DIR"),
                                                cases[i].file, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherTemplate) template = tether_load_provider (path, NULL, &error);

      g_assert_null (template);
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_cmpuint (strlen (error->message), <, 8192);
      g_assert_nonnull (strstr (error->message, cases[i].words));
      g_assert_true (g_str_has_suffix (error->message, "at most 128 characters"));
    }
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  /* Read by fork.so in the helper; set before any thread exists. */
  fork_pid_file = g_strdup_printf ("%s/tether-hostile-fork-%d", g_get_tmp_dir (), (int) getpid ());
  g_setenv ("TETHER_TEST_FORK_PID_FILE", fork_pid_file, TRUE);

  g_test_add_func ("/scanner/hostile/list", test_list_hostile);
  g_test_add_func ("/scanner/hostile/in-process-messages", test_in_process_messages);

  status = g_test_run ();
  g_unlink (fork_pid_file);
  g_free (fork_pid_file);
  return status;
}
