/* tether-scan-protocol.c: the records the scanner helper writes to its
 * parent
 *
 * One record per line, `TAG VALUE\n`, VALUE escaped with g_strescape() so
 * that a record never spans lines and the output reads well by hand:
 *
 *   tether-scanner 1          protocol version, always first
 *   stage open                written *before* the helper enters a stage, so
 *                             the last one tells where a dead helper died
 *   real-path /usr/lib/...    the module, symbolic links resolved
 *   name hello                the vtable, once validated: name,
 *   description ...           description, abi-version, struct-size,
 *   abi-version 65536         acquire (sync, async or both) and
 *   struct-size 136           resource-type (a GType name, when declared)
 *   acquire sync
 *   time-open 1234            microseconds a stage took (open, init,
 *                             acquire, release, shutdown)
 *   exercised                 acquire and release succeeded
 *   error DOMAIN CODE TEXT    why the module failed to load
 *   exercise-error D C TEXT   why acquire or release failed, right after the
 *                             stage that failed
 *   done                      the helper finished; anything missing after
 *                             this is the module's fault, not a crash
 *
 * The helper writes with write(2) directly: a record must be out before a
 * module gets the chance to kill the process.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tether-loader-private.h"

static void
write_all (int         fd,
           const char *data,
           gsize       length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;   /* the parent went away: nobody to tell */
      data += n;
      length -= (gsize) n;
    }
}

void
_tether_scan_write_record (int         fd,
                           const char *tag,
                           const char *value)
{
  g_autofree char *escaped = value != NULL ? g_strescape (value, NULL) : NULL;
  g_autofree char *line = g_strconcat (tag, escaped != NULL ? " " : "",
                                       escaped != NULL ? escaped : "", "\n", NULL);

  write_all (fd, line, strlen (line));
}

void
_tether_scan_write_error (int           fd,
                          const char   *tag,
                          const GError *error)
{
  g_autofree char *value = g_strdup_printf ("%s %d %s", g_quark_to_string (error->domain),
                                            error->code, error->message);

  _tether_scan_write_record (fd, tag, value);
}

static GError *
parse_error (const char *value)
{
  g_auto(GStrv) parts = g_strsplit (value, " ", 3);
  char *end = NULL;
  gint64 code;

  if (g_strv_length (parts) != 3)
    return NULL;
  code = g_ascii_strtoll (parts[1], &end, 10);
  if (end == parts[1] || *end != '\0' || code < G_MININT || code > G_MAXINT)
    return NULL;

  return g_error_new_literal (g_quark_from_string (parts[0]), (gint) code, parts[2]);
}

static void
set_str (char       **slot,
         const char  *value)
{
  g_free (*slot);
  *slot = g_strdup (value);
}

static gboolean
parse_uint64 (const char *value,
              guint64     max,
              guint64    *out)
{
  return g_ascii_string_to_unsigned (value, 10, 0, max, out, NULL);
}

gboolean
_tether_scan_parse_records (const char       *data,
                            gsize             length,
                            TetherScanResult *result)
{
  g_autofree char *text = g_strndup (data != NULL ? data : "", data != NULL ? length : 0);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  gboolean versioned = FALSE;
  gboolean done = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      const char *space = strchr (line, ' ');
      g_autofree char *tag = space != NULL ? g_strndup (line, (gsize) (space - line)) : g_strdup (line);
      g_autofree char *value = space != NULL ? g_strcompress (space + 1) : NULL;
      guint64 number;

      if (tag[0] == '\0')
        continue;

      /* Nothing before the version line counts: it is not our helper. */
      if (!versioned)
        {
          if (g_str_equal (tag, "tether-scanner") && value != NULL &&
              parse_uint64 (value, G_MAXUINT, &number) && number == TETHER_SCAN_PROTOCOL_VERSION)
            versioned = TRUE;
          continue;
        }

      if (g_str_equal (tag, "done"))
        done = TRUE;
      else if (value == NULL && g_str_equal (tag, "exercised"))
        result->exercised = TRUE;
      else if (value == NULL)
        continue;
      else if (g_str_equal (tag, "stage"))
        _tether_load_stage_from_string (value, &result->stage);
      else if (g_str_equal (tag, "real-path"))
        set_str (&result->real_path, value);
      else if (g_str_equal (tag, "name"))
        set_str (&result->name, value);
      else if (g_str_equal (tag, "description"))
        set_str (&result->description, value);
      else if (g_str_equal (tag, "resource-type"))
        set_str (&result->resource_type, value);
      else if (g_str_equal (tag, "abi-version") && parse_uint64 (value, G_MAXUINT32, &number))
        result->abi_version = (guint32) number;
      else if (g_str_equal (tag, "struct-size") && parse_uint64 (value, G_MAXUINT32, &number))
        result->struct_size = (guint32) number;
      else if (g_str_equal (tag, "acquire"))
        {
          result->has_sync = g_str_equal (value, "sync") || g_str_equal (value, "both");
          result->has_async = g_str_equal (value, "async") || g_str_equal (value, "both");
        }
      else if (g_str_has_prefix (tag, "time-") && parse_uint64 (value, G_MAXINT64, &number))
        {
          const char *what = tag + strlen ("time-");
          gint64 *slot = g_str_equal (what, "open") ? &result->open_us
                       : g_str_equal (what, "init") ? &result->init_us
                       : g_str_equal (what, "acquire") ? &result->acquire_us
                       : g_str_equal (what, "release") ? &result->release_us
                       : g_str_equal (what, "shutdown") ? &result->shutdown_us
                       : NULL;

          if (slot != NULL)
            *slot = (gint64) number;
        }
      else if (g_str_equal (tag, "error") && result->error == NULL)
        result->error = parse_error (value);
      else if (g_str_equal (tag, "exercise-error") && result->exercise_error == NULL)
        {
          result->exercise_error = parse_error (value);
          result->exercise_stage = result->stage;
        }
    }

  return versioned && done;
}
