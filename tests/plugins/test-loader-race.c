/* test-loader-race.c: the loader loads the file it checked, whatever
 * happens to the path meanwhile; symbolic links and every directory on the
 * way are checked
 *
 * The racing tests swap two directories in a loop (renameat2 with
 * RENAME_EXCHANGE) while the loader loads a module through one of them:
 * one holds a valid module, the other a module the loader would refuse if
 * it checked it (writable by others), whose constructor leaves a mark. A
 * loader that checks a path and then loads the path again by name runs
 * that constructor now and then; one that opens the file once, checks
 * what it opened and loads that never does.
 *
 * Each load uses a new name (hard links to the same two files), so that
 * the dynamic loader, which returns an object already loaded under the
 * same name without opening anything, cannot hide the race.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE   /* renameat2 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <tether/tether.h>

#include "../test-util.h"   /* test_remove_tree() */

#define N_NAMES 400
#define RACE_SECONDS 5

static char *
corpus_file (const char *name)
{
  return g_build_filename (g_getenv ("TETHER_TEST_CORPUS_DIR"), name, NULL);
}

static char *
hostile_file (const char *name)
{
  return g_build_filename (g_getenv ("TETHER_TEST_HOSTILE_DIR"), name, NULL);
}

/* A fresh directory in the temporary directory, @mode. */
static char *
make_base (void)
{
  g_autoptr(GError) error = NULL;
  char *base = g_dir_make_tmp ("tether-race-XXXXXX", &error);

  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (base, 0755), ==, 0);
  return base;
}

typedef struct
{
  char          *a;
  char          *b;
  gint           stop;      /* atomic */
  gint           n_swaps;   /* atomic */
} Swapper;

static gpointer
swap_loop (gpointer data)
{
  Swapper *swapper = data;

  while (!g_atomic_int_get (&swapper->stop))
    if (renameat2 (AT_FDCWD, swapper->a, AT_FDCWD, swapper->b, RENAME_EXCHANGE) == 0)
      g_atomic_int_inc (&swapper->n_swaps);

  return NULL;
}

/* parent/good and parent/evil, each with N_NAMES names (hard links) of its
 * module; the good one 0644, the evil one 0646: the loader must refuse
 * it. @parent_mode: the mode of their parent, the module directory's
 * parent. Loads parent/good/m-I.so while they are swapped. */
static void
race (guint parent_mode)
{
  g_autofree char *base = make_base ();
  g_autofree char *parent = g_build_filename (base, "parent", NULL);
  g_autofree char *good_dir = g_build_filename (parent, "good", NULL);
  g_autofree char *evil_dir = g_build_filename (parent, "evil", NULL);
  g_autofree char *good_src = corpus_file ("good.so");
  g_autofree char *evil_src = hostile_file ("race-evil.so");
  const char *marker = g_getenv ("TETHER_TEST_EVIL_MARKER");
  Swapper swapper = { good_dir, evil_dir, 0, 0 };
  guint n_loaded = 0, n_refused = 0, n_tried = 0;
  GThread *thread;
  gint64 deadline;

  g_assert_cmpint (g_mkdir (parent, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (good_dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (evil_dir, 0755), ==, 0);
  for (guint i = 0; i < N_NAMES; i++)
    {
      g_autofree char *name = g_strdup_printf ("m-%u.so", i);
      g_autofree char *good = g_build_filename (good_dir, name, NULL);
      g_autofree char *evil = g_build_filename (evil_dir, name, NULL);

      if (i == 0)
        {
          test_copy_file (good_src, good, 0644);
          test_copy_file (evil_src, evil, 0646);
        }
      else
        {
          g_autofree char *good0 = g_build_filename (good_dir, "m-0.so", NULL);
          g_autofree char *evil0 = g_build_filename (evil_dir, "m-0.so", NULL);

          g_assert_cmpint (link (good0, good), ==, 0);
          g_assert_cmpint (link (evil0, evil), ==, 0);
        }
    }
  g_assert_cmpint (g_chmod (parent, parent_mode), ==, 0);
  g_unlink (marker);

  thread = g_thread_new ("swapper", swap_loop, &swapper);
  /* Loads are fast: do not let them all happen before the first swap. */
  while (g_atomic_int_get (&swapper.n_swaps) == 0)
    g_thread_yield ();
  deadline = g_get_monotonic_time () + RACE_SECONDS * G_USEC_PER_SEC;
  for (guint i = 0; i < N_NAMES && g_get_monotonic_time () < deadline; i++)
    {
      g_autofree char *name = g_strdup_printf ("m-%u.so", i);
      g_autofree char *path = g_build_filename (good_dir, name, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherTemplate) template = NULL;

      n_tried++;
      template = tether_load_provider (path, NULL, &error);
      if (template != NULL)
        {
          n_loaded++;
          tether_template_unregister (template);
        }
      else if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH))
        {
          n_refused++;
          if (n_refused == 1)
            g_test_message ("refused: %s", error->message);
        }
      else
        g_test_message ("failed otherwise: %s", error->message);

      if (g_file_test (marker, G_FILE_TEST_EXISTS))
        break;
    }
  g_atomic_int_set (&swapper.stop, 1);
  g_thread_join (thread);

  g_test_message ("parent mode %04o: %u loads tried, %u loaded, %u refused, %u swaps; "
                  "the refused module %s",
                  parent_mode, n_tried, n_loaded, n_refused,
                  swapper.n_swaps, g_file_test (marker, G_FILE_TEST_EXISTS) ? "RAN" : "never ran");
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpint (swapper.n_swaps, >, 0);

  /* Without the swapper: the good module loads from a trusted parent, and
   * from the writable one it never does. */
  {
    g_autofree char *path = g_build_filename (good_dir, "m-0.so", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(TetherTemplate) template = NULL;

    if (swapper.n_swaps % 2 == 1)
      g_assert_cmpint (renameat2 (AT_FDCWD, good_dir, AT_FDCWD, evil_dir, RENAME_EXCHANGE), ==, 0);
    template = tether_load_provider (path, NULL, &error);
    if (parent_mode & 0022)
      {
        g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH);
        g_assert_nonnull (strstr (error->message, "a directory on the way to it"));
        g_assert_cmpuint (n_loaded, ==, 0);
      }
    else
      {
        g_assert_no_error (error);
        tether_template_unregister (template);
      }
  }

  g_assert_cmpint (g_chmod (parent, 0755), ==, 0);
  test_remove_tree (base);
}

/* Directories swapped by a user the loader trusts (the same one): the
 * loads that happen load the checked file. */
static void
test_race_trusted_parent (void)
{
  race (0755);
}

/* Directories swapped under a parent others may write (and not sticky):
 * the loader refuses every load, naming that directory. */
static void
test_race_writable_parent (void)
{
  race (0777);
}

/* A symbolic link in a directory others may write: they chose where it
 * leads, so it is refused even though it leads to a valid module. */
static void
test_symlink_in_writable_dir (void)
{
  g_autofree char *base = make_base ();
  g_autofree char *secure = g_build_filename (base, "secure", NULL);
  g_autofree char *shared = g_build_filename (base, "shared", NULL);
  g_autofree char *module = g_build_filename (secure, "good.so", NULL);
  g_autofree char *link_path = g_build_filename (shared, "link.so", NULL);
  g_autofree char *src = corpus_file ("good.so");
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  g_assert_cmpint (g_mkdir (secure, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (shared, 0755), ==, 0);
  g_assert_cmpint (g_chmod (shared, 0777), ==, 0);
  test_copy_file (src, module, 0644);
  g_assert_cmpint (symlink (module, link_path), ==, 0);

  template = tether_load_provider (link_path, NULL, &error);
  g_test_message ("%s", error != NULL ? error->message : "loaded");
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH);
  g_assert_null (template);
  g_assert_nonnull (strstr (error->message, shared));
  g_assert_nonnull (strstr (error->message, "a directory on the way to it"));
  g_assert_nonnull (strstr (error->message, "chmod go-w"));

  /* The same link as a search directory's entry: refused too. */
  {
    const char *dirs[] = { shared, NULL };
    g_autoptr(GPtrArray) failures = NULL;
    g_autoptr(GPtrArray) infos = tether_list_providers (dirs, TETHER_LOAD_NONE, &failures);

    g_assert_cmpuint (infos->len, ==, 0);
    g_assert_cmpuint (failures->len, ==, 1);
    g_assert_error (tether_load_failure_get_error (g_ptr_array_index (failures, 0)),
                    TETHER_ERROR, TETHER_ERROR_INSECURE_PATH);
  }

  g_assert_cmpint (g_chmod (shared, 0755), ==, 0);
  test_remove_tree (base);
}

/* In a sticky shared directory (as /tmp), a link of another user's is
 * refused, one of the effective user's is followed; and the module is
 * known by its real path. */
static void
test_symlink_in_sticky_dir (void)
{
  g_autofree char *base = make_base ();
  g_autofree char *secure = g_build_filename (base, "secure", NULL);
  g_autofree char *sticky = g_build_filename (base, "sticky", NULL);
  g_autofree char *module = g_build_filename (secure, "good.so", NULL);
  g_autofree char *theirs = g_build_filename (sticky, "theirs.so", NULL);
  g_autofree char *ours = g_build_filename (sticky, "ours.so", NULL);
  g_autofree char *src = corpus_file ("good.so");
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  const char *dirs[] = { secure, NULL };

  if (geteuid () != 0)
    {
      g_test_skip ("needs root to give a symbolic link to another user");
      test_remove_tree (base);
      return;
    }

  g_assert_cmpint (g_mkdir (secure, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (sticky, 0755), ==, 0);
  g_assert_cmpint (g_chmod (sticky, 01777), ==, 0);
  test_copy_file (src, module, 0644);
  g_assert_cmpint (symlink (module, theirs), ==, 0);
  g_assert_cmpint (lchown (theirs, 65534, 65534), ==, 0);
  g_assert_cmpint (symlink ("../secure/./good.so", ours), ==, 0);

  template = tether_load_provider (theirs, NULL, &error);
  g_test_message ("%s", error != NULL ? error->message : "loaded");
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INSECURE_PATH);
  g_assert_nonnull (strstr (error->message, "owned by uid 65534"));
  g_clear_error (&error);

  template = tether_load_provider (ours, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (template);
  tether_template_unregister (template);

  infos = tether_list_providers (dirs, TETHER_LOAD_NONE, NULL);
  g_assert_cmpuint (infos->len, ==, 1);
  g_assert_cmpstr (tether_provider_info_get_path (g_ptr_array_index (infos, 0)), ==, module);

  test_remove_tree (base);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *marker = g_strdup_printf ("%s/tether-race-evil-ran-%d", g_get_tmp_dir (),
                                             (int) getpid ());
  int status;

  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);
  /* Read by race-evil.so's constructor; set before any thread exists. */
  g_setenv ("TETHER_TEST_EVIL_MARKER", marker, TRUE);

  g_test_add_func ("/loader/open-once/swapped-directories/trusted-parent", test_race_trusted_parent);
  g_test_add_func ("/loader/open-once/swapped-directories/writable-parent", test_race_writable_parent);
  g_test_add_func ("/loader/symlink/in-others-writable-dir", test_symlink_in_writable_dir);
  g_test_add_func ("/loader/symlink/in-sticky-dir", test_symlink_in_sticky_dir);

  status = g_test_run ();
  g_unlink (marker);
  return status;
}
