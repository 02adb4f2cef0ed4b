/* fuzz-config.c: libFuzzer target for the provider configuration parser
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "tether-loader-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define CHECK(cond) \
  G_STMT_START { if (!(cond)) { g_printerr ("invariant failed: %s\n", #cond); abort (); } } G_STMT_END

static gboolean
quiet_log (const char     *domain,
           GLogLevelFlags  level,
           const char     *message,
           gpointer        data)
{
  return FALSE;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GKeyFile) config = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok, ok_without_output;

  /* Criticals are findings: make them fatal once. */
  static gsize once;
  if (g_once_init_enter (&once))
    {
      g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_FATAL_MASK);
      g_test_log_set_fatal_handler (quiet_log, NULL);
      g_once_init_leave (&once, 1);
    }

  ok = _tether_loader_parse_config ((const char *) data, size, &config, &error);

  /* Exactly one of: a config, or an INVALID_CONFIG error. */
  CHECK (ok == (config != NULL));
  CHECK (ok == (error == NULL));
  if (!ok)
    CHECK (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_INVALID_CONFIG));

  /* The same answer without an output location. */
  {
    g_autoptr(GError) error2 = NULL;

    ok_without_output = _tether_loader_parse_config ((const char *) data, size, NULL, &error2);
    CHECK (ok_without_output == ok);
  }

  if (ok)
    {
      g_auto(GStrv) groups = g_key_file_get_groups (config, NULL);
      g_autofree char *text = NULL;
      gsize length = 0;

      /* Every group is [provider NAME] with a valid name. */
      for (guint i = 0; groups[i] != NULL; i++)
        {
          CHECK (g_str_has_prefix (groups[i], "provider "));
          CHECK (_tether_loader_name_is_valid (groups[i] + strlen ("provider ")));
        }

      /* What was accepted, written back, is accepted again with the same
       * groups. */
      text = g_key_file_to_data (config, &length, NULL);
      {
        g_autoptr(GKeyFile) again = NULL;
        g_autoptr(GError) error3 = NULL;
        g_auto(GStrv) groups_again = NULL;

        CHECK (_tether_loader_parse_config (text, length, &again, &error3));
        groups_again = g_key_file_get_groups (again, NULL);
        CHECK (g_strv_equal ((const char * const *) groups, (const char * const *) groups_again));
      }
    }

  return 0;
}
