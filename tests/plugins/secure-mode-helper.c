/* secure-mode-helper.c: a program that uses every part of tether that reads
 * a path from the environment, for test-secure-mode
 *
 * test-secure-mode runs a set-user-ID root copy of it as nobody (and a
 * plain copy, for contrast) with an environment an attacker would choose:
 * TETHER_SYSPROF_CAPTURE naming a root-only file, TETHER_SCANNER naming
 * their own program, TETHER_PROVIDER_PATH naming their own directory. It
 * does what an ordinary program does (one acquire in a scope, a listing of
 * LIST_DIR out of process) and prints what it saw:
 *
 *   at-secure=N          getauxval (AT_SECURE)
 *   dir=PATH             each entry of tether_get_provider_search_path ()
 *   acquired=1           the acquire succeeded
 *   list-failure=TEXT    each failure of tether_list_providers_full ()
 *
 * Public API only, and linked with the library's objects: a set-user-ID
 * program ignores $ORIGIN run paths, so it cannot find the build tree's
 * libtether.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <sys/auxv.h>

#include <tether/tether.h>

/* LeakSanitizer cannot run in a process that changed user, and
 * ASAN_OPTIONS from the environment is not trusted there. */
const char *__asan_default_options (void);
__attribute__((visibility ("default"), used)) const char *
__asan_default_options (void)
{
  return "detect_leaks=0";
}

static int resource_value = 42;

static gpointer
secure_acquire (GMainContext  *context,
                gpointer       data,
                GError       **error)
{
  return &resource_value;
}

static void
secure_release (gpointer      resource,
                GMainContext *context,
                gboolean      graceful,
                gpointer      data)
{
}

static const TetherProvider secure_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "secure-mode-helper",
  .acquire = secure_acquire,
  .release = secure_release,
};

static gboolean
job (gpointer   user_data,
     GError   **error)
{
  return tether_template_acquire (user_data, NULL, error) != NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_auto(GStrv) dirs = tether_get_provider_search_path ();
  g_autoptr(TetherTemplate) template = NULL;
  g_autoptr(GPtrArray) failures = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GError) error = NULL;
  const char *list_dirs[] = { argc > 1 ? argv[1] : "/nonexistent", NULL };

  tether_set_unmanaged_warning_enabled (FALSE);
  printf ("at-secure=%lu\n", getauxval (AT_SECURE));
  for (guint i = 0; dirs[i] != NULL; i++)
    printf ("dir=%s\n", dirs[i]);

  template = tether_template_new (&secure_provider, NULL);
  if (tether_run_in_new_context (job, template, &error))
    printf ("acquired=1\n");
  else
    printf ("acquire-error=%s\n", error->message);
  tether_template_unregister (template);

  infos = tether_list_providers_full (list_dirs, TETHER_LOAD_NONE, 5000, &failures);
  for (guint i = 0; i < failures->len; i++)
    printf ("list-failure=%s\n",
            tether_load_failure_get_error (g_ptr_array_index (failures, i))->message);
  fflush (stdout);

  return 0;
}
