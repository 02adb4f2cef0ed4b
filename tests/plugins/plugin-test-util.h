/* plugin-test-util.h: loading the provider modules of the build tree
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tether/tether.h>

#include "../test-util.h"   /* test_reset_global_state() */

/* Loads plugins/NAME.so from the build tree (TETHER_TEST_PLUGINS_DIR),
 * never from the install directory, with @config_text as configuration. */
static inline TetherTemplate *
plugin_test_load (const char  *name,
                  const char  *config_text,
                  GError     **error)
{
  const char *dir = g_getenv ("TETHER_TEST_PLUGINS_DIR");
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  g_autofree char *path = NULL;
  g_autoptr(GKeyFile) config = g_key_file_new ();

  g_assert_nonnull (dir);
  path = g_build_filename (dir, file, NULL);
  if (config_text != NULL)
    g_assert_true (g_key_file_load_from_data (config, config_text, -1, G_KEY_FILE_NONE, NULL));

  return tether_load_provider (path, config, error);
}
