/* tether-scan-protocol.c: the records the scanner helper writes to its
 * parent, and the parent's strict reading of them
 *
 * One record per line, `TAG VALUE\n`, VALUE escaped with g_strescape() so
 * that a record never spans lines and the output reads well by hand:
 *
 *   tether-scanner 2          protocol version, always the first line
 *   stage open                written *before* the helper enters a stage, so
 *                             the last one tells where a dead helper died
 *   real-path /usr/lib/...    the module, symbolic links resolved
 *   name hello                the vtable, once validated: name,
 *   description ...           description, abi-version, struct-size,
 *   abi-version 65536         acquire (sync, async or both) and
 *   struct-size 136           resource-type (a GType name, when declared)
 *   acquire sync
 *   links /usr/lib/.../libtether-1.so.0
 *                             opening the module loaded a libtether-1
 *   cycle graceful            the exercise's graceful cycle begins (then
 *                             `cycle ungraceful`, `cycle skipped-ungraceful`
 *                             when the resource keeps its context alive)
 *   call acquire_async        a provider function is called, has returned,
 *   return acquire_async      or has called its callback (acquire_async):
 *   callback acquire_async    the last one tells which function hung
 *   time-open 1234            microseconds a stage took (open, init,
 *                             acquire, release, release-ungraceful, shutdown)
 *   exercised                 both cycles succeeded
 *   error DOMAIN CODE TEXT    why the module failed to load
 *   exercise-error FUNC DOMAIN CODE TEXT
 *                             why the exercise failed, and the provider
 *                             function at fault (or `-`)
 *   done                      the helper finished
 *
 * The helper writes with write(2) directly: a record must be out before a
 * module gets the chance to kill the process.
 *
 * The parent believes nothing it has not checked: the module runs in the
 * helper and can write to the records' descriptor. Every line must be a
 * known tag with a well-formed value (g_strescape()'s escapes only, valid
 * UTF-8 where text is expected, numbers in range, names in their alphabet,
 * bounded lengths); a single-valued tag comes once; nothing follows
 * `done`; and a `done` counts only with every field its mode requires.
 * Anything else makes the records invalid, never a crash or a guess.
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
                          const char   *function,
                          const GError *error)
{
  g_autofree char *message = NULL;
  g_autofree char *value = NULL;

  if (g_utf8_validate (error->message, -1, NULL))
    message = g_strdup (error->message);
  else
    message = _tether_escape_for_message (error->message, G_MAXSIZE);

  if (strlen (message) > TETHER_SCAN_ERROR_MAX)
    message[g_utf8_find_prev_char (message, message + TETHER_SCAN_ERROR_MAX) - message] = '\0';
  value = g_strdup_printf ("%s%s%s %d %s", function != NULL ? function : "",
                           function != NULL ? " " : "", g_quark_to_string (error->domain),
                           error->code, message);
  _tether_scan_write_record (fd, tag, value);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  guint   line;        /* 1-based, for the problem's words */
  char   *problem;     /* the first thing wrong, or NULL */
  guint   seen;        /* bit per single-valued tag already read */
} Reader;

static gboolean
fail (Reader     *reader,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (Reader     *reader,
      const char *format,
      ...)
{
  va_list ap;
  g_autofree char *what = NULL;

  if (reader->problem != NULL)
    return FALSE;
  va_start (ap, format);
  what = g_strdup_vprintf (format, ap);
  va_end (ap);
  reader->problem = g_strdup_printf ("record %u: %s", reader->line, what);
  return FALSE;
}

/* Undoes g_strescape () and nothing else: the escapes it writes (\b \f \n
 * \r \t \v \\ \" and one to three octal digits) and no other; no trailing
 * backslash. Returns the bytes (NUL-terminated; @out_length without it),
 * or NULL. */
static char *
unescape (const char *value,
          gsize      *out_length)
{
  GString *out = g_string_sized_new (strlen (value));

  for (const char *p = value; *p != '\0'; p++)
    {
      guint byte;

      if (*p != '\\')
        {
          g_string_append_c (out, *p);
          continue;
        }

      p++;
      /* clang-format off */
      switch (*p)
        {
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'v': g_string_append_c (out, '\v'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '"': g_string_append_c (out, '"'); break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
          byte = 0;
          for (guint i = 0; i < 3 && *p >= '0' && *p <= '7'; i++, p++)
            byte = byte * 8 + (guint) (*p - '0');
          p--;
          if (byte > 0xff)
            goto bad;
          g_string_append_c (out, (char) byte);
          break;
        default:   /* an unknown escape, or the value's trailing backslash */
          goto bad;
        }
      /* clang-format on */
    }

  *out_length = out->len;
  return g_string_free (out, FALSE);

bad:
  g_string_free (out, TRUE);
  return NULL;
}

/* The single-valued tags, and each one's bit in Reader.seen. */
/* clang-format off */
static const char *const single_tags[] = {
  "real-path", "name", "description", "resource-type", "abi-version", "struct-size",
  "acquire", "links", "time-open", "time-init", "time-acquire", "time-release",
  "time-release-ungraceful", "time-shutdown", "exercised", "error", "exercise-error", "done",
};
/* clang-format on */

static gboolean
is_known_tag (const char *tag)
{
  static const char *const multi_tags[] = { "stage", "cycle", "call", "return", "callback" };

  for (guint i = 0; i < G_N_ELEMENTS (single_tags); i++)
    if (g_str_equal (tag, single_tags[i]))
      return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (multi_tags); i++)
    if (g_str_equal (tag, multi_tags[i]))
      return TRUE;
  return FALSE;
}

static gboolean
seen_once (Reader     *reader,
           const char *tag)
{
  for (guint i = 0; i < G_N_ELEMENTS (single_tags); i++)
    if (g_str_equal (tag, single_tags[i]))
      {
        if (reader->seen & (1u << i))
          return fail (reader, "a second '%s' record", tag);
        reader->seen |= 1u << i;
        return TRUE;
      }
  return TRUE;
}

static gboolean
has_seen (const Reader *reader,
          const char   *tag)
{
  for (guint i = 0; i < G_N_ELEMENTS (single_tags); i++)
    if (g_str_equal (tag, single_tags[i]))
      return (reader->seen & (1u << i)) != 0;
  return FALSE;
}

/* Text meant for people: valid UTF-8, no NUL, at most @max bytes. */
static gboolean
check_text (Reader     *reader,
            const char *tag,
            const char *value,
            gsize       length,
            gsize       max)
{
  if (length > max)
    return fail (reader, "'%s' is %" G_GSIZE_FORMAT " bytes long, more than %" G_GSIZE_FORMAT,
                 tag, length, max);
  if (memchr (value, '\0', length) != NULL)
    return fail (reader, "'%s' holds a NUL byte", tag);
  if (!g_utf8_validate (value, (gssize) length, NULL))
    return fail (reader, "'%s' is not valid UTF-8", tag);
  return TRUE;
}

static gboolean
parse_number (Reader     *reader,
              const char *tag,
              const char *value,
              guint64     max,
              guint64    *out)
{
  if (!g_ascii_string_to_unsigned (value, 10, 0, max, out, NULL))
    return fail (reader, "'%s' is not a number from 0 to %" G_GUINT64_FORMAT, tag, max);
  return TRUE;
}

/* [a-z0-9-]+, as every GError domain quark's name tether can meet. */
static gboolean
is_domain_word (const char *word)
{
  if (word[0] == '\0' || strlen (word) > 64)
    return FALSE;
  for (const char *p = word; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

/* "DOMAIN CODE TEXT" into a GError. A domain this process does not know
 * becomes TETHER_ERROR_FAILED naming it: a quark is never made for a word
 * the helper sent. */
static GError *
parse_error (Reader     *reader,
             const char *tag,
             const char *value)
{
  g_auto(GStrv) parts = g_strsplit (value, " ", 3);
  gint64 code;
  GQuark domain;
  char *end = NULL;

  if (g_strv_length (parts) != 3 || !is_domain_word (parts[0]))
    {
      fail (reader, "'%s' is not DOMAIN CODE TEXT", tag);
      return NULL;
    }
  code = g_ascii_strtoll (parts[1], &end, 10);
  if (end == parts[1] || *end != '\0' || code < G_MININT || code > G_MAXINT)
    {
      fail (reader, "the code of '%s' is not a number", tag);
      return NULL;
    }
  if (!check_text (reader, tag, parts[2], strlen (parts[2]), TETHER_SCAN_ERROR_MAX))
    return NULL;

  /* The domains of tether and of GLib that the helper's own code sets:
   * made before they are looked up (a quark exists once first used). */
  (void) TETHER_ERROR;
  (void) G_IO_ERROR;
  (void) G_FILE_ERROR;
  (void) G_KEY_FILE_ERROR;
  domain = g_quark_try_string (parts[0]);
  if (domain == 0)
    return g_error_new (TETHER_ERROR, TETHER_ERROR_FAILED, "%s (error domain %s, code %d)",
                        parts[2], parts[0], (gint) code);
  return g_error_new_literal (domain, (gint) code, parts[2]);
}

static gboolean
is_function_word (const char *word)
{
  /* clang-format off */
  static const char *const functions[] = {
    "init", "acquire", "acquire_async", "acquire_finish", "release", "release-ungraceful",
    "shutdown", "resource_type", "-",
  };
  /* clang-format on */

  for (guint i = 0; i < G_N_ELEMENTS (functions); i++)
    if (g_str_equal (word, functions[i]))
      return TRUE;
  return FALSE;
}

/* A GType name as g_type_name () gives it: [A-Za-z_][A-Za-z0-9_+-]*, or
 * "(G_TYPE_INVALID)" as the helper writes an invalid one. */
static gboolean
is_type_name (const char *name)
{
  if (g_str_equal (name, "(G_TYPE_INVALID)"))
    return TRUE;
  if (strlen (name) > 255 || !(g_ascii_isalpha (name[0]) || name[0] == '_'))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '+')
      return FALSE;
  return TRUE;
}

static gint64 *
time_slot (TetherScanResult *result,
           const char       *what)
{
  return g_str_equal (what, "open") ? &result->open_us
       : g_str_equal (what, "init") ? &result->init_us
       : g_str_equal (what, "acquire") ? &result->acquire_us
       : g_str_equal (what, "release") ? &result->release_us
       : g_str_equal (what, "release-ungraceful") ? &result->ungraceful_release_us
       : g_str_equal (what, "shutdown") ? &result->shutdown_us
       : NULL;
}

static void
take_str (char **slot,
          char  *value)
{
  g_free (*slot);
  *slot = value;
}

/* One record after the version line. */
static gboolean
parse_record (Reader           *reader,
              const char       *tag,
              const char       *value,
              gsize             length,
              TetherScanResult *result)
{
  guint64 number;

  if (!is_known_tag (tag))
    return fail (reader, "unknown record '%.32s'", tag);
  if (has_seen (reader, "done"))
    return fail (reader, "'%s' after 'done'", tag);
  if (!seen_once (reader, tag))
    return FALSE;

  /* The tags without a value. */
  if (g_str_equal (tag, "done") || g_str_equal (tag, "exercised"))
    {
      if (value != NULL)
        return fail (reader, "'%s' takes no value", tag);
      if (g_str_equal (tag, "exercised"))
        result->exercised = TRUE;
      return TRUE;
    }
  if (value == NULL)
    return fail (reader, "'%s' without a value", tag);

  if (g_str_equal (tag, "stage"))
    {
      if (!_tether_load_stage_from_string (value, &result->stage))
        return fail (reader, "no stage is called '%.32s'", value);
    }
  else if (g_str_equal (tag, "real-path") || g_str_equal (tag, "links"))
    {
      /* A file name: any bytes but NUL, absolute, bounded. */
      if (length > TETHER_SCAN_PATH_MAX || memchr (value, '\0', length) != NULL ||
          value[0] != '/')
        return fail (reader, "'%s' is not an absolute path of at most %d bytes", tag,
                     TETHER_SCAN_PATH_MAX);
      take_str (g_str_equal (tag, "links") ? &result->links_libtether : &result->real_path,
                g_strdup (value));
    }
  else if (g_str_equal (tag, "name"))
    {
      if (length > 128 || memchr (value, '\0', length) != NULL ||
          !_tether_loader_name_is_valid (value))
        return fail (reader, "'name' is not a valid provider name");
      take_str (&result->name, g_strdup (value));
    }
  else if (g_str_equal (tag, "description"))
    {
      if (!check_text (reader, tag, value, length, TETHER_SCAN_DESCRIPTION_MAX))
        return FALSE;
      take_str (&result->description, g_strdup (value));
    }
  else if (g_str_equal (tag, "resource-type"))
    {
      if (memchr (value, '\0', length) != NULL || !is_type_name (value))
        return fail (reader, "'resource-type' is not a type name");
      take_str (&result->resource_type, g_strdup (value));
    }
  else if (g_str_equal (tag, "abi-version") || g_str_equal (tag, "struct-size"))
    {
      if (!parse_number (reader, tag, value, G_MAXUINT32, &number))
        return FALSE;
      if (g_str_equal (tag, "abi-version"))
        result->abi_version = (guint32) number;
      else
        result->struct_size = (guint32) number;
    }
  else if (g_str_equal (tag, "acquire"))
    {
      if (!g_str_equal (value, "sync") && !g_str_equal (value, "async") &&
          !g_str_equal (value, "both"))
        return fail (reader, "'acquire' is not sync, async or both");
      result->has_sync = !g_str_equal (value, "async");
      result->has_async = !g_str_equal (value, "sync");
    }
  else if (g_str_has_prefix (tag, "time-") && time_slot (result, tag + strlen ("time-")) != NULL)
    {
      if (!parse_number (reader, tag, value, G_MAXINT64, &number))
        return FALSE;
      *time_slot (result, tag + strlen ("time-")) = (gint64) number;
    }
  else if (g_str_equal (tag, "cycle"))
    {
      if (g_str_equal (value, "graceful"))
        result->cycle = TETHER_SCAN_CYCLE_GRACEFUL;
      else if (g_str_equal (value, "ungraceful"))
        result->cycle = TETHER_SCAN_CYCLE_UNGRACEFUL;
      else if (g_str_equal (value, "skipped-ungraceful"))
        result->ungraceful_skipped = TRUE;
      else
        return fail (reader, "no cycle is called '%.32s'", value);
    }
  else if (g_str_equal (tag, "call") || g_str_equal (tag, "return") ||
           g_str_equal (tag, "callback"))
    {
      if (!is_function_word (value) || g_str_equal (value, "-"))
        return fail (reader, "no provider function is called '%.32s'", value);
      if (++result->n_calls > TETHER_SCAN_MAX_CALLS)
        return fail (reader, "more than %d provider calls", TETHER_SCAN_MAX_CALLS);
      take_str (&result->function, g_strdup (value));
      result->function_state = g_str_equal (tag, "call") ? TETHER_SCAN_FUNCTION_RUNNING
                             : g_str_equal (tag, "return") ? TETHER_SCAN_FUNCTION_RETURNED
                             : TETHER_SCAN_FUNCTION_CALLED_BACK;
    }
  else if (g_str_equal (tag, "error"))
    {
      result->error = parse_error (reader, tag, value);
      if (result->error == NULL)
        return FALSE;
    }
  else if (g_str_equal (tag, "exercise-error"))
    {
      const char *space = strchr (value, ' ');
      g_autofree char *function = space != NULL ? g_strndup (value, (gsize) (space - value)) : NULL;

      if (function == NULL || !is_function_word (function))
        return fail (reader, "'exercise-error' does not begin with a provider function");
      result->exercise_error = parse_error (reader, tag, space + 1);
      if (result->exercise_error == NULL)
        return FALSE;
      result->exercise_stage = result->stage;
      if (!g_str_equal (function, "-"))
        take_str (&result->exercise_function, g_steal_pointer (&function));
    }
  else
    return fail (reader, "unknown record '%.32s'", tag);

  return TRUE;
}

/* What a finished helper must have said, given @mode. */
static gboolean
check_complete (Reader           *reader,
                TetherScanMode    mode,
                TetherScanResult *result)
{
  /* clang-format off */
  static const char *const vtable[] = {
    "real-path", "name", "abi-version", "struct-size", "acquire",
  };
  /* clang-format on */

  if (result->error != NULL)
    return TRUE;   /* a load failure: nothing more is owed */

  for (guint i = 0; i < G_N_ELEMENTS (vtable); i++)
    if (!has_seen (reader, vtable[i]))
      return fail (reader, "'done' without '%s'", vtable[i]);

  if ((mode & TETHER_SCAN_EXERCISE) != 0 && !result->exercised && result->exercise_error == NULL)
    return fail (reader, "'done' without the exercise's outcome");

  return TRUE;
}

TetherScanRecords
_tether_scan_parse_records (const char        *data,
                            gsize              length,
                            TetherScanMode     mode,
                            TetherScanResult  *result,
                            char             **out_problem)
{
  Reader reader = { 0 };
  const char *p = data;
  const char *end = data + length;
  TetherScanRecords outcome;

  if (out_problem != NULL)
    *out_problem = NULL;
  if (data == NULL)
    p = end = "";

  while (p < end && reader.problem == NULL)
    {
      const char *newline = memchr (p, '\n', (gsize) (end - p));
      const char *line_end = newline != NULL ? newline : end;
      gsize line_length = (gsize) (line_end - p);
      g_autofree char *line = NULL;
      g_autofree char *value = NULL;
      const char *space;
      g_autofree char *tag = NULL;
      gsize value_length = 0;

      reader.line++;
      /* A last line without its newline: the helper died writing it. */
      if (newline == NULL)
        break;
      if (line_length > TETHER_SCAN_LINE_MAX)
        {
          fail (&reader, "longer than %d bytes", TETHER_SCAN_LINE_MAX);
          break;
        }
      if (memchr (p, '\0', line_length) != NULL)
        {
          fail (&reader, "a NUL byte");
          break;
        }

      line = g_strndup (p, line_length);
      p = newline + 1;

      /* The first line says who is talking; from anyone else, nothing
       * is believed. */
      if (reader.line == 1)
        {
          if (!g_str_equal (line, "tether-scanner " G_STRINGIFY (TETHER_SCAN_PROTOCOL_VERSION)))
            return TETHER_SCAN_RECORDS_NOT_OURS;
          continue;
        }

      space = strchr (line, ' ');
      tag = space != NULL ? g_strndup (line, (gsize) (space - line)) : g_strdup (line);
      if (space != NULL)
        {
          value = unescape (space + 1, &value_length);
          if (value == NULL)
            {
              fail (&reader, "the value of '%.32s' is not escaped as g_strescape () does", tag);
              break;
            }
        }

      parse_record (&reader, tag, value, value_length, result);
    }

  if (reader.line == 0)
    return TETHER_SCAN_RECORDS_NOT_OURS;

  if (reader.problem == NULL && has_seen (&reader, "done"))
    check_complete (&reader, mode, result);

  if (reader.problem != NULL)
    outcome = TETHER_SCAN_RECORDS_INVALID;
  else if (has_seen (&reader, "done"))
    outcome = TETHER_SCAN_RECORDS_COMPLETE;
  else
    outcome = TETHER_SCAN_RECORDS_INCOMPLETE;

  /* The words quote what the helper sent: make them fit a message. */
  if (out_problem != NULL && reader.problem != NULL)
    *out_problem = _tether_escape_for_message (reader.problem, 512);
  g_free (reader.problem);
  return outcome;
}
