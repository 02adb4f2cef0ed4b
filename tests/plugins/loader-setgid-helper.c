/* loader-setgid-helper.c: prints what the loader sees of its environment
 *
 * Run by test-loader as a setgid copy (and as a plain copy, for contrast)
 * under an unprivileged user. Prints `at-secure=N` (getauxval (AT_SECURE))
 * and one `dir=PATH` line per entry of tether_get_provider_search_path(),
 * then one `ignored=MESSAGE` line per failure the loader reports for the
 * entries it does not use.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <sys/auxv.h>

#include "tether-loader-private.h"

/* In sanitizer builds: LeakSanitizer cannot run in a setgid process (and
 * the environment's ASAN_OPTIONS is not trusted there), so the program turns
 * it off itself. An unused function otherwise. */
const char *__asan_default_options (void);
__attribute__((visibility ("default"), used)) const char *
__asan_default_options (void)
{
  return "detect_leaks=0";
}

int
main (void)
{
  g_auto(GStrv) dirs = tether_get_provider_search_path ();

  printf ("at-secure=%lu\n", getauxval (AT_SECURE));
  for (guint i = 0; dirs[i] != NULL; i++)
    printf ("dir=%s\n", dirs[i]);

  {
    g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
    g_auto(GStrv) checked G_GNUC_UNUSED = _tether_loader_search_path_checked (ignored);

    for (guint i = 0; i < ignored->len; i++)
      printf ("ignored=%s\n", tether_load_failure_get_error (g_ptr_array_index (ignored, i))->message);
  }

  return 0;
}
