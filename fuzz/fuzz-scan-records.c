/* fuzz-scan-records.c: libFuzzer target for the parser of the scanner
 * helper's records, which a hostile module in the helper can write
 *
 * Two uses of each input:
 * - as the helper's whole output, parsed in each mode: never a crash, a
 *   warning or a leak, and what is believed is what the protocol promises
 *   (a COMPLETE listing has a valid name, an absolute path, an acquire
 *   kind; every text is valid UTF-8 and bounded; INVALID comes with a
 *   problem in words, NOT_OURS with nothing believed);
 * - as the bytes of one record's value, written by the helper's own writer
 *   among well-formed records: read back exactly when the protocol allows
 *   such a value, refused otherwise.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <unistd.h>

#include "tether-loader-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* clang-format off */
#define CHECK(cond) \
  G_STMT_START { if (!(cond)) { g_printerr ("invariant failed: %s\n", #cond); abort (); } } G_STMT_END
/* clang-format on */

static gboolean
quiet_log (const char     *domain,
           GLogLevelFlags  level,
           const char     *message,
           gpointer        data)
{
  return FALSE;
}

static void
check_text (const char *text,
            gsize       max)
{
  if (text == NULL)
    return;
  CHECK (g_utf8_validate (text, -1, NULL));
  CHECK (strlen (text) <= max);
}

static void
parse_whole (const guint8   *data,
             size_t          size,
             TetherScanMode  mode)
{
  g_autoptr(TetherScanResult) result = _tether_scan_result_new (NULL);
  g_autofree char *problem = NULL;
  TetherScanRecords records;

  records = _tether_scan_parse_records ((const char *) data, size, mode, result, &problem);

  CHECK ((records == TETHER_SCAN_RECORDS_INVALID) == (problem != NULL));
  check_text (problem, 600);
  if (records == TETHER_SCAN_RECORDS_NOT_OURS)
    {
      CHECK (result->name == NULL && result->real_path == NULL && result->error == NULL);
      CHECK (result->stage == TETHER_LOAD_STAGE_NONE);
    }

  if (records == TETHER_SCAN_RECORDS_COMPLETE && result->error == NULL)
    {
      CHECK (_tether_loader_name_is_valid (result->name));
      CHECK (result->real_path != NULL && result->real_path[0] == '/');
      CHECK (result->has_sync || result->has_async);
      if (mode & TETHER_SCAN_EXERCISE)
        CHECK (result->exercised || result->exercise_error != NULL);
    }

  check_text (result->description, TETHER_SCAN_DESCRIPTION_MAX);
  if (result->error != NULL)
    check_text (result->error->message, TETHER_SCAN_ERROR_MAX + 128);
  if (result->exercise_error != NULL)
    check_text (result->exercise_error->message, TETHER_SCAN_ERROR_MAX + 128);
  if (result->real_path != NULL)
    CHECK (strlen (result->real_path) <= TETHER_SCAN_PATH_MAX);
}

/* The helper's writer, then the parser, with the input as a description. */
static void
round_trip (const guint8 *data,
            size_t        size)
{
  g_autofree char *value = g_strndup ((const char *) data, size);
  g_autoptr(TetherScanResult) result = _tether_scan_result_new (NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *problem = NULL;
  gboolean allowed;
  int fds[2];
  char buffer[4096];
  gssize n;

  /* What the protocol allows a description to be: no NUL (the writer
   * takes a C string), valid UTF-8, at most the bound. */
  if (memchr (data, '\0', size) != NULL || size > 1024)
    return;
  allowed = g_utf8_validate (value, -1, NULL) && size <= TETHER_SCAN_DESCRIPTION_MAX;

  CHECK (pipe (fds) == 0);
  _tether_scan_write_record (fds[1], "tether-scanner", G_STRINGIFY (TETHER_SCAN_PROTOCOL_VERSION));
  _tether_scan_write_record (fds[1], "real-path", "/m.so");
  _tether_scan_write_record (fds[1], "name", "m");
  _tether_scan_write_record (fds[1], "description", value);
  _tether_scan_write_record (fds[1], "abi-version", "65537");
  _tether_scan_write_record (fds[1], "struct-size", "136");
  _tether_scan_write_record (fds[1], "acquire", "sync");
  _tether_scan_write_record (fds[1], "done", NULL);
  close (fds[1]);
  while ((n = read (fds[0], buffer, sizeof buffer)) > 0)
    g_string_append_len (text, buffer, n);
  close (fds[0]);

  if (allowed)
    {
      CHECK (_tether_scan_parse_records (text->str, text->len, TETHER_SCAN_LIST, result,
                                         &problem) == TETHER_SCAN_RECORDS_COMPLETE);
      CHECK (g_strcmp0 (result->description, value) == 0);
    }
  else
    CHECK (_tether_scan_parse_records (text->str, text->len, TETHER_SCAN_LIST, result,
                                       &problem) == TETHER_SCAN_RECORDS_INVALID);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  /* Criticals and warnings are findings: make them fatal once. */
  static gsize once;
  if (g_once_init_enter (&once))
    {
      g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_FATAL_MASK);
      g_test_log_set_fatal_handler (quiet_log, NULL);
      g_once_init_leave (&once, 1);
    }

  parse_whole (data, size, TETHER_SCAN_LIST);
  parse_whole (data, size, TETHER_SCAN_LOAD | TETHER_SCAN_EXERCISE);
  round_trip (data, size);
  return 0;
}
