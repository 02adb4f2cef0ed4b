/* test-scanner-protocol.c: the parent believes only well-formed, complete
 * records from the scanner helper
 *
 * The records are written by the helper, in whose process the module runs
 * and can write to the records' descriptor: every kind of record no helper
 * writes must make the whole output invalid (never a crash, never a
 * partial belief), and a `done` must count only with every field its mode
 * needs.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <unistd.h>

#include "tether-loader-private.h"

#define V "tether-scanner 2\n"
#define VTABLE "real-path /m.so\nname m\nabi-version 65537\nstruct-size 136\nacquire sync\n"

static TetherScanRecords
parse (const char        *text,
       gsize              length,
       TetherScanMode     mode,
       TetherScanResult **out_result,
       char             **out_problem)
{
  g_autoptr(TetherScanResult) result = _tether_scan_result_new (NULL);
  TetherScanRecords records;

  records = _tether_scan_parse_records (text, length, mode, result, out_problem);
  if (out_result != NULL)
    *out_result = g_steal_pointer (&result);
  return records;
}

/* What the helper writes, read back: values with newlines, backslashes,
 * quotes and non-ASCII text survive. */
static void
test_round_trip (void)
{
  int fds[2];
  char buffer[8192];
  gssize n;
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                                 "two\nlines and a \"quote\", caf\xc3\xa9");
  g_autoptr(TetherScanResult) result = NULL;
  g_autofree char *problem = NULL;

  g_assert_cmpint (pipe (fds), ==, 0);
  _tether_scan_write_record (fds[1], "tether-scanner", G_STRINGIFY (TETHER_SCAN_PROTOCOL_VERSION));
  _tether_scan_write_record (fds[1], "stage", "entry");
  _tether_scan_write_record (fds[1], "real-path", "/lib/a \\ b.so");
  _tether_scan_write_record (fds[1], "name", "x");
  _tether_scan_write_record (fds[1], "description", "multi\nline \\ description, \xc3\xa9t\xc3\xa9");
  _tether_scan_write_record (fds[1], "abi-version", "65537");
  _tether_scan_write_record (fds[1], "struct-size", "136");
  _tether_scan_write_record (fds[1], "acquire", "both");
  _tether_scan_write_record (fds[1], "resource-type", "GCancellable");
  _tether_scan_write_record (fds[1], "cycle", "ungraceful");
  _tether_scan_write_record (fds[1], "call", "acquire_async");
  _tether_scan_write_record (fds[1], "return", "acquire_async");
  _tether_scan_write_record (fds[1], "time-open", "42");
  _tether_scan_write_record (fds[1], "time-release-ungraceful", "7");
  _tether_scan_write_error (fds[1], "exercise-error", "acquire_finish", error);
  _tether_scan_write_record (fds[1], "done", NULL);
  close (fds[1]);
  n = read (fds[0], buffer, sizeof buffer);
  close (fds[0]);
  g_assert_cmpint (n, >, 0);

  g_assert_cmpint (parse (buffer, (gsize) n, TETHER_SCAN_EXERCISE, &result, &problem), ==,
                   TETHER_SCAN_RECORDS_COMPLETE);
  g_assert_null (problem);
  g_assert_cmpint (result->stage, ==, TETHER_LOAD_STAGE_ENTRY);
  g_assert_cmpstr (result->real_path, ==, "/lib/a \\ b.so");
  g_assert_cmpstr (result->name, ==, "x");
  g_assert_cmpstr (result->description, ==, "multi\nline \\ description, \xc3\xa9t\xc3\xa9");
  g_assert_cmpuint (result->abi_version, ==, 65537);
  g_assert_true (result->has_sync && result->has_async);
  g_assert_cmpstr (result->resource_type, ==, "GCancellable");
  g_assert_cmpint (result->cycle, ==, TETHER_SCAN_CYCLE_UNGRACEFUL);
  g_assert_cmpstr (result->function, ==, "acquire_async");
  g_assert_cmpint (result->function_state, ==, TETHER_SCAN_FUNCTION_RETURNED);
  g_assert_cmpint (result->open_us, ==, 42);
  g_assert_cmpint (result->ungraceful_release_us, ==, 7);
  g_assert_error (result->exercise_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (result->exercise_error->message, ==, "two\nlines and a \"quote\", caf\xc3\xa9");
  g_assert_cmpstr (result->exercise_function, ==, "acquire_finish");
}

/* Cut short (the helper died): the stage so far, not complete. */
static void
test_incomplete (void)
{
  static const char cut[] = V "stage open\nstage ent";
  g_autoptr(TetherScanResult) result = NULL;

  g_assert_cmpint (parse (cut, sizeof cut - 1, TETHER_SCAN_LIST, &result, NULL), ==,
                   TETHER_SCAN_RECORDS_INCOMPLETE);
  g_assert_cmpint (result->stage, ==, TETHER_LOAD_STAGE_OPEN);
}

/* Not our helper, or another version of it: nothing is believed. */
static void
test_not_ours (void)
{
  static const char *foreign[] = {
    "stage init\nname evil\ndone\n",
    "tether-scanner 1\nname evil\ndone\n",
    "tether-scanner x\nname evil\ndone\n",
    "tether-scanner 2 \nname evil\ndone\n",
    "\n" V VTABLE "done\n",
    "",
  };

  for (guint i = 0; i < G_N_ELEMENTS (foreign); i++)
    {
      g_autoptr(TetherScanResult) result = NULL;

      g_assert_cmpint (parse (foreign[i], strlen (foreign[i]), TETHER_SCAN_LIST, &result, NULL),
                       ==, TETHER_SCAN_RECORDS_NOT_OURS);
      g_assert_null (result->name);
      g_assert_cmpint (result->stage, ==, TETHER_LOAD_STAGE_NONE);
    }
}

/* Each of these is something no helper writes: the records are invalid,
 * and the problem says what and where. */
static void
test_invalid (void)
{
  static const struct
  {
    const char     *text;
    TetherScanMode  mode;
    const char     *problem;
  } cases[] = {
    { V "name trailing\\\n" VTABLE "done\n", TETHER_SCAN_LIST, "record 2: the value of 'name' is not escaped" },
    { V "description \\q\n", TETHER_SCAN_LIST, "not escaped as g_strescape" },
    { V "description \\400\n", TETHER_SCAN_LIST, "not escaped" },
    { V "description caf\\351\n", TETHER_SCAN_LIST, "'description' is not valid UTF-8" },
    { V "description a\\000b\n", TETHER_SCAN_LIST, "'description' holds a NUL byte" },
    { V "name a\\000b\n", TETHER_SCAN_LIST, "not a valid provider name" },
    { V "name bad name\n", TETHER_SCAN_LIST, "not a valid provider name" },
    { V "name caf\\351\n", TETHER_SCAN_LIST, "not a valid provider name" },
    { V "real-path relative.so\n", TETHER_SCAN_LIST, "not an absolute path" },
    { V "real-path /a\\000b\n", TETHER_SCAN_LIST, "not an absolute path" },
    { V "resource-type Not A Type\n", TETHER_SCAN_LIST, "not a type name" },
    { V "abi-version 99999999999999999999\n", TETHER_SCAN_LIST, "not a number from 0 to 4294967295" },
    { V "abi-version -1\n", TETHER_SCAN_LIST, "not a number" },
    { V "struct-size 0x10\n", TETHER_SCAN_LIST, "not a number" },
    { V "time-open soon\n", TETHER_SCAN_LIST, "not a number" },
    { V "acquire maybe\n", TETHER_SCAN_LIST, "not sync, async or both" },
    { V "stage nowhere\n", TETHER_SCAN_LIST, "no stage is called 'nowhere'" },
    { V "cycle sideways\n", TETHER_SCAN_LIST, "no cycle" },
    { V "call system\n", TETHER_SCAN_LIST, "no provider function is called 'system'" },
    { V "made-up-tag value\n", TETHER_SCAN_LIST, "unknown record 'made-up-tag'" },
    { V "name a\nname b\n", TETHER_SCAN_LIST, "record 3: a second 'name' record" },
    { V "done\ndone\n", TETHER_SCAN_LIST, "'done' after 'done'" },
    { V VTABLE "done\nname late\n", TETHER_SCAN_LIST, "'name' after 'done'" },
    { V "done\n", TETHER_SCAN_LIST, "'done' without 'real-path'" },
    { V "stage open\nname forged\ndone\n", TETHER_SCAN_LIST, "'done' without 'real-path'" },
    { V VTABLE "done\n", TETHER_SCAN_EXERCISE, "'done' without the exercise's outcome" },
    { V "done value\n", TETHER_SCAN_LIST, "'done' takes no value" },
    { V "name\n", TETHER_SCAN_LIST, "'name' without a value" },
    { V "error tether-error-quark notanumber text\n", TETHER_SCAN_LIST, "the code of 'error' is not a number" },
    { V "error onlyone\n", TETHER_SCAN_LIST, "'error' is not DOMAIN CODE TEXT" },
    { V "error BAD_DOMAIN 1 text\n", TETHER_SCAN_LIST, "'error' is not DOMAIN CODE TEXT" },
    { V "error g-io-error-quark 1 caf\\351\n", TETHER_SCAN_LIST, "'error' is not valid UTF-8" },
    { V "exercise-error system g-io-error-quark 1 x\n", TETHER_SCAN_LIST, "does not begin with a provider function" },
    { V "stage open\nstage\001\n", TETHER_SCAN_LIST, "unknown record" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TetherScanResult) result = NULL;
      g_autofree char *problem = NULL;
      TetherScanRecords records;

      records = parse (cases[i].text, strlen (cases[i].text), cases[i].mode, &result, &problem);
      g_test_message ("%s-> %s", cases[i].text, problem != NULL ? problem : "(no problem)");
      g_assert_cmpint (records, ==, TETHER_SCAN_RECORDS_INVALID);
      g_assert_nonnull (problem);
      g_assert_true (g_utf8_validate (problem, -1, NULL));
      g_assert_nonnull (strstr (problem, cases[i].problem));
    }
}

/* A line longer than any the helper writes, an unknown error domain (never
 * made a quark), a complete load failure. */
static void
test_bounds_and_domains (void)
{
  g_autoptr(GString) text = g_string_new (V "description ");
  g_autoptr(TetherScanResult) result = NULL;
  g_autofree char *problem = NULL;

  for (guint i = 0; i < TETHER_SCAN_LINE_MAX; i++)
    g_string_append_c (text, 'a');
  g_string_append (text, "\n");
  g_assert_cmpint (parse (text->str, text->len, TETHER_SCAN_LIST, NULL, &problem), ==,
                   TETHER_SCAN_RECORDS_INVALID);
  g_assert_nonnull (strstr (problem, "longer than"));

  {
    static const char failed[] = V "stage validate\n"
      "error never-seen-domain-of-a-forger 3 the words\ndone\n";

    g_assert_cmpint (parse (failed, sizeof failed - 1, TETHER_SCAN_LIST, &result, NULL), ==,
                     TETHER_SCAN_RECORDS_COMPLETE);
    g_assert_error (result->error, TETHER_ERROR, TETHER_ERROR_FAILED);
    g_assert_nonnull (strstr (result->error->message, "never-seen-domain-of-a-forger"));
    g_assert_cmpint (g_quark_try_string ("never-seen-domain-of-a-forger"), ==, 0);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/scanner/protocol/round-trip", test_round_trip);
  g_test_add_func ("/scanner/protocol/incomplete", test_incomplete);
  g_test_add_func ("/scanner/protocol/not-ours", test_not_ours);
  g_test_add_func ("/scanner/protocol/invalid", test_invalid);
  g_test_add_func ("/scanner/protocol/bounds-and-domains", test_bounds_and_domains);

  return g_test_run ();
}
