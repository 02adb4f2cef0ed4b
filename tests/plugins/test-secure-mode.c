/* test-secure-mode.c: a real set-user-ID program ignores every environment
 * variable of tether's that names a file, a directory or a program
 *
 * Copies secure-mode-helper into a fresh directory, makes one copy
 * set-user-ID root, and runs it as nobody with the environment an attacker
 * would give it: TETHER_SYSPROF_CAPTURE naming a root-only file (and then a
 * new file in a directory nobody may write), TETHER_SCANNER naming a
 * program that leaves a mark when run, TETHER_PROVIDER_PATH naming a
 * directory of theirs. The same program without the bit, run the same way,
 * honours all three: that shows the test can see what it looks for.
 *
 * Needs root (to make a set-user-ID root copy and become nobody) and a file
 * system that is not mounted nosuid; otherwise it skips and says which.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <tether/tether.h>

#include "../test-util.h"   /* test_remove_tree() */

#define NOBODY 65534
#define PRECIOUS "root's own data, never to be truncated\n"

typedef struct
{
  char *dir;          /* 0755 root: the programs, the victim */
  char *user_dir;     /* 0777: where nobody may write */
  char *list_dir;     /* one file to list, so that a scanner runs */
  char *plain;
  char *setuid;
  char *victim;       /* root:root 0600 */
  char *new_capture;  /* in user_dir: must not appear */
  char *scanner;      /* the attacker's "scanner": leaves a mark */
  char *scanner_mark;
} Fixture;

/* A directory on a file system where set-user-ID bits work, or NULL with
 * @why saying where they do not. */
static char *
suid_capable_dir (char **why)
{
  const char *candidates[] = { g_get_tmp_dir (), g_getenv ("G_TEST_BUILDDIR") };
  g_autoptr(GString) nosuid = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *template = NULL;
      struct statvfs fs;
      char *dir;

      if (candidates[i] == NULL)
        continue;
      if (statvfs (candidates[i], &fs) == 0 && (fs.f_flag & ST_NOSUID) != 0)
        {
          g_string_append_printf (nosuid, "%s%s", nosuid->len > 0 ? " and " : "", candidates[i]);
          continue;
        }
      template = g_build_filename (candidates[i], "tether-secure-XXXXXX", NULL);
      dir = g_mkdtemp_full (template, 0755);
      g_assert_nonnull (dir);
      g_steal_pointer (&template);
      return dir;
    }

  *why = g_strdup_printf ("the file system of %s is mounted nosuid: a set-user-ID program "
                          "does not gain privileges there, so secure mode cannot be tested",
                          nosuid->str);
  return NULL;
}

static gboolean
fixture_set_up (Fixture *f)
{
  const char *helper = g_getenv ("TETHER_TEST_SECURE_MODE_HELPER");
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *why = NULL;
  g_autofree char *script = NULL;
  g_autofree char *fake = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (helper);
  if (geteuid () != 0)
    {
      g_test_skip ("needs root: to make a set-user-ID root copy of a program and run it as "
                   "nobody (CI runs the suite as root)");
      return FALSE;
    }
  if (setpriv == NULL)
    {
      g_test_skip ("setpriv (util-linux) is not installed: it runs the program as nobody");
      return FALSE;
    }
  f->dir = suid_capable_dir (&why);
  if (f->dir == NULL)
    {
      g_test_skip (why);
      return FALSE;
    }

  f->user_dir = g_build_filename (f->dir, "nobody-writes-here", NULL);
  f->list_dir = g_build_filename (f->dir, "list", NULL);
  g_assert_cmpint (g_mkdir (f->user_dir, 0777), ==, 0);
  g_assert_cmpint (g_chmod (f->user_dir, 0777), ==, 0);
  g_assert_cmpint (g_mkdir (f->list_dir, 0755), ==, 0);

  f->plain = g_build_filename (f->dir, "plain-helper", NULL);
  f->setuid = g_build_filename (f->dir, "setuid-helper", NULL);
  test_copy_file (helper, f->plain, 0755);
  test_copy_file (helper, f->setuid, 0755);
  g_assert_cmpint (chown (f->setuid, 0, 0), ==, 0);
  g_assert_cmpint (g_chmod (f->setuid, 04755), ==, 0);

  f->victim = g_build_filename (f->dir, "root-only", NULL);
  g_file_set_contents_full (f->victim, PRECIOUS, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  f->new_capture = g_build_filename (f->user_dir, "capture.syscap", NULL);

  /* The attacker's scanner: any program of theirs, here a script. */
  f->scanner_mark = g_build_filename (f->user_dir, "scanner-ran", NULL);
  f->scanner = g_build_filename (f->dir, "attacker-scanner", NULL);
  script = g_strdup_printf ("#!/bin/sh\ntouch '%s'\n", f->scanner_mark);
  g_file_set_contents_full (f->scanner, script, -1, G_FILE_SET_CONTENTS_NONE, 0755, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (f->scanner, 0755), ==, 0);

  /* Something to list, so that the listing runs a scanner. */
  fake = g_build_filename (f->list_dir, "module.so", NULL);
  g_file_set_contents_full (fake, "not an ELF file\n", -1, G_FILE_SET_CONTENTS_NONE, 0644, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (fake, 0644), ==, 0);
  return TRUE;
}

static void
fixture_tear_down (Fixture *f)
{
  if (f->dir != NULL)
    test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->user_dir);
  g_free (f->list_dir);
  g_free (f->plain);
  g_free (f->setuid);
  g_free (f->victim);
  g_free (f->new_capture);
  g_free (f->scanner);
  g_free (f->scanner_mark);
}

/* Runs @program as nobody with the attacker's environment, the capture
 * file being @capture. Returns its output. */
static char *
run_as_nobody (Fixture    *f,
               const char *program,
               const char *capture)
{
  g_autofree char *capture_env = g_strconcat ("TETHER_SYSPROF_CAPTURE=", capture, NULL);
  g_autofree char *scanner_env = g_strconcat ("TETHER_SCANNER=", f->scanner, NULL);
  const char *argv[] = { "setpriv", "--reuid=" G_STRINGIFY (NOBODY),
                         "--regid=" G_STRINGIFY (NOBODY), "--clear-groups",
                         program, f->list_dir, NULL };
  const char *envp[] = { "PATH=/usr/bin:/bin", "TETHER_PROVIDER_PATH=/attacker/providers",
                         capture_env, scanner_env, "ASAN_OPTIONS=detect_leaks=0", NULL };
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  char *err = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, (char **) envp, G_SPAWN_SEARCH_PATH_FROM_ENVP,
                NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_test_message ("%s as nobody, TETHER_SYSPROF_CAPTURE=%s:\n--- stdout\n%s--- stderr\n%s",
                  program, capture, out, err);
  g_free (err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

static void
assert_victim_intact (Fixture *f)
{
  g_autofree char *data = NULL;
  GStatBuf st;

  g_assert_true (g_file_get_contents (f->victim, &data, NULL, NULL));
  g_assert_cmpstr (data, ==, PRECIOUS);
  g_assert_cmpint (g_stat (f->victim, &st), ==, 0);
  g_assert_cmpuint (st.st_uid, ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0600);
}

static void
test_setuid_ignores_path_variables (void)
{
  Fixture f = { 0 };
  g_autofree char *out_plain = NULL;
  g_autofree char *out_victim = NULL;
  g_autofree char *out_new = NULL;

  if (!fixture_set_up (&f))
    {
      fixture_tear_down (&f);
      return;
    }

  /* The contrast: without the bit, each variable is honoured. */
  out_plain = run_as_nobody (&f, f.plain, f.new_capture);
  g_assert_nonnull (strstr (out_plain, "at-secure=0\n"));
  g_assert_nonnull (strstr (out_plain, "acquired=1\n"));
  g_assert_nonnull (strstr (out_plain, "dir=/attacker/providers\n"));
  g_assert_true (g_file_test (f.scanner_mark, G_FILE_TEST_EXISTS));
#ifdef HAVE_SYSPROF
  g_assert_true (g_file_test (f.new_capture, G_FILE_TEST_EXISTS));
#endif
  g_assert_cmpint (g_unlink (f.scanner_mark), ==, 0);
  g_unlink (f.new_capture);

  /* Set-user-ID root, run by nobody: the kernel sets AT_SECURE. */
  out_victim = run_as_nobody (&f, f.setuid, f.victim);
  if (strstr (out_victim, "at-secure=1\n") == NULL)
    {
      g_test_skip ("the set-user-ID copy did not run in secure mode, although its file "
                   "system is not mounted nosuid (a security module or a container "
                   "without the privilege?)");
      fixture_tear_down (&f);
      return;
    }
  g_assert_nonnull (strstr (out_victim, "acquired=1\n"));
  /* TETHER_SYSPROF_CAPTURE: the root-only file is untouched. */
  assert_victim_intact (&f);
  /* TETHER_PROVIDER_PATH: only the installed directory. */
  g_assert_null (strstr (out_victim, "dir=/attacker/providers"));
  g_assert_nonnull (strstr (out_victim, "dir=" TETHER_PROVIDER_DIR "\n"));
  /* TETHER_SCANNER: not run; the installed helper is named instead. */
  g_assert_false (g_file_test (f.scanner_mark, G_FILE_TEST_EXISTS));
  g_assert_nonnull (strstr (out_victim, "list-failure="));
  g_assert_null (strstr (out_victim, f.scanner));

  /* TETHER_SYSPROF_CAPTURE naming a new file: none is created. */
  out_new = run_as_nobody (&f, f.setuid, f.new_capture);
  g_assert_nonnull (strstr (out_new, "at-secure=1\n"));
  g_assert_false (g_file_test (f.new_capture, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f.scanner_mark, G_FILE_TEST_EXISTS));

  fixture_tear_down (&f);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secure-mode/setuid-ignores-path-variables",
                   test_setuid_ignores_path_variables);

  return g_test_run ();
}
