/* test-guide-provider.c: the provider of docs/writing-a-provider.md, built
 * as a module the way the guide says, loads and works
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <tether/tether.h>

/* The guide's resource, as its users see it. */
typedef struct
{
  char  *greeting;
  guint  serial;
} HelloGreeter;

static const char *module_path;

static gboolean
check_greeting (gpointer   user_data,
                GError   **error)
{
  TetherTemplate *template = user_data;
  HelloGreeter *greeter;

  /* A module's template is on demand: the scope acquires it on first use. */
  g_assert_null (tether_template_lookup (template, NULL));
  greeter = tether_template_acquire (template, NULL, error);
  g_assert_nonnull (greeter);
  g_assert_cmpstr (greeter->greeting, ==, g_object_get_data (G_OBJECT (template), "expected"));
  g_assert_true (tether_template_lookup (template, NULL) == greeter);
  return TRUE;
}

static void
test_guide_provider_loads (void)
{
  g_autoptr(GKeyFile) config = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  TetherTemplate *template;

  g_key_file_set_string (config, "provider hello", "greeting", "bonjour");
  template = tether_load_provider (module_path, config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tether_template_get_name (template), ==, "hello");
  g_assert_cmpstr (tether_template_get_description (template), ==,
                   "a greeting per context (the provider of the guide)");

  g_object_set_data (G_OBJECT (template), "expected", (gpointer) "bonjour");
  g_assert_true (tether_run_in_new_context (check_greeting, template, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  tether_template_unregister (template);
  g_object_unref (template);
}

static void
test_guide_provider_default_and_bad_config (void)
{
  g_autoptr(GKeyFile) config = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  TetherTemplate *template;

  template = tether_load_provider (module_path, NULL, &error);
  g_assert_no_error (error);
  g_object_set_data (G_OBJECT (template), "expected", (gpointer) "hello");
  g_assert_true (tether_run_in_new_context (check_greeting, template, &error));
  tether_template_unregister (template);
  g_object_unref (template);

  g_key_file_set_string (config, "provider hello", "greeting", "");
  template = tether_load_provider (module_path, config, &error);
  g_assert_null (template);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INIT_FAILED);
  g_assert_nonnull (strstr (error->message, "greeting must not be empty"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  module_path = g_getenv ("TETHER_GUIDE_PROVIDER");
  g_assert_nonnull (module_path);

  g_test_add_func ("/guide/provider/loads", test_guide_provider_loads);
  g_test_add_func ("/guide/provider/default-and-bad-config",
                   test_guide_provider_default_and_bad_config);

  return g_test_run ();
}
