/* test-version.c: the version of the running library, against the headers
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Built against the installed API only (no private symbols): what a
 * program checking the library it runs with sees.
 */

#include <tether/tether.h>

/* The runtime numbers are those of the library this test is linked with:
 * built from the same tree, they equal the headers'. */
static void
test_runtime_matches_headers (void)
{
  g_autofree char *runtime = NULL;

  g_assert_cmpuint (tether_get_major_version (), ==, TETHER_MAJOR_VERSION);
  g_assert_cmpuint (tether_get_minor_version (), ==, TETHER_MINOR_VERSION);
  g_assert_cmpuint (tether_get_micro_version (), ==, TETHER_MICRO_VERSION);

  runtime = g_strdup_printf ("%u.%u.%u", tether_get_major_version (),
                             tether_get_minor_version (), tether_get_micro_version ());
  g_assert_cmpstr (runtime, ==, TETHER_VERSION_S);
}

/* tether_check_version: NULL for the running version and anything older
 * in the same major series; a message for a newer one or another major. */
static void
test_check_version (void)
{
  guint major = tether_get_major_version ();
  guint minor = tether_get_minor_version ();
  guint micro = tether_get_micro_version ();

  g_assert_null (tether_check_version (major, minor, micro));
  g_assert_null (tether_check_version (major, 0, 0));
  if (minor > 0)
    g_assert_null (tether_check_version (major, minor - 1, 99));
  if (micro > 0)
    g_assert_null (tether_check_version (major, minor, micro - 1));

  g_assert_cmpstr (tether_check_version (major, minor, micro + 1), ==,
                   "tether version too old (micro mismatch)");
  g_assert_cmpstr (tether_check_version (major, minor + 1, 0), ==,
                   "tether version too old (minor mismatch)");
  g_assert_cmpstr (tether_check_version (major + 1, 0, 0), ==,
                   "tether version too old (major mismatch)");
  if (major > 0)
    g_assert_cmpstr (tether_check_version (major - 1, minor, micro), ==,
                     "tether version too new (major mismatch)");
}

/* The compile-time macros agree with the runtime: the headers of this
 * build say 0.2 or later is allowed, and TETHER_CHECK_VERSION holds for
 * the running version. */
static void
test_macros_agree (void)
{
  g_assert_cmpint (TETHER_VERSION_CUR_STABLE, ==,
                   G_ENCODE_VERSION (tether_get_major_version (), tether_get_minor_version ()));
  g_assert_cmpint (TETHER_VERSION_MIN_REQUIRED, ==, TETHER_VERSION_CUR_STABLE);
  g_assert_cmpint (TETHER_VERSION_MAX_ALLOWED, ==, TETHER_VERSION_CUR_STABLE);
  g_assert_cmpint (TETHER_VERSION_0_1, <, TETHER_VERSION_0_2);
  g_assert_cmpint (TETHER_VERSION_0_2, <=, TETHER_VERSION_CUR_STABLE);
  g_assert_true (TETHER_CHECK_VERSION (0, 1, 0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/version/runtime-matches-headers", test_runtime_matches_headers);
  g_test_add_func ("/version/check-version", test_check_version);
  g_test_add_func ("/version/macros-agree", test_macros_agree);

  return g_test_run ();
}
