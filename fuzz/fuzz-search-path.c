/* fuzz-search-path.c: libFuzzer target for the provider search path parser
 * (TETHER_PROVIDER_PATH values)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "tether-loader-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* Aborts on a broken invariant; libFuzzer saves the input. */
#define CHECK(cond) \
  G_STMT_START { if (!(cond)) { g_printerr ("invariant failed: %s\n", #cond); abort (); } } G_STMT_END

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  /* An environment value is a C string: it ends at the first NUL. */
  g_autofree char *value = g_strndup ((const char *) data, size);
  g_auto(GStrv) parts = _tether_loader_parse_search_path (value);
  guint n_separators = 0;

  for (const char *p = value; *p; p++)
    if (*p == G_SEARCHPATH_SEPARATOR)
      n_separators++;

  CHECK (parts != NULL);
  CHECK (g_strv_length (parts) <= n_separators + 1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      /* Only absolute, non-empty entries, each a piece of the input. */
      CHECK (parts[i][0] != '\0');
      CHECK (g_path_is_absolute (parts[i]));
      CHECK (strchr (parts[i], G_SEARCHPATH_SEPARATOR) == NULL);
      CHECK (strstr (value, parts[i]) != NULL);
    }

  /* Every non-empty entry is either kept or reported, never dropped
   * silently; a report names a relative entry. */
  {
    g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_load_failure_free);
    g_auto(GStrv) kept = _tether_loader_parse_search_path_full (value, ignored);
    g_auto(GStrv) entries = g_strsplit (value, G_SEARCHPATH_SEPARATOR_S, -1);
    guint n_entries = 0;

    for (guint i = 0; entries[i] != NULL; i++)
      if (entries[i][0] != '\0')
        n_entries++;

    CHECK (g_strv_equal ((const char *const *) kept, (const char *const *) parts));
    CHECK (g_strv_length (kept) + ignored->len == n_entries);
    for (guint i = 0; i < ignored->len; i++)
      {
        const TetherLoadFailure *failure = g_ptr_array_index (ignored, i);

        CHECK (!g_path_is_absolute (tether_load_failure_get_path (failure)));
        CHECK (g_error_matches (tether_load_failure_get_error (failure), TETHER_ERROR,
                                TETHER_ERROR_INVALID_CONFIG));
      }
  }

  /* The full path, in and out of secure mode: never NULL, and in secure
   * mode the environment is ignored. */
  {
    g_auto(GStrv) normal = _tether_loader_search_path_for (value, FALSE);
    g_auto(GStrv) secure = _tether_loader_search_path_for (value, TRUE);
    g_auto(GStrv) secure_unset = _tether_loader_search_path_for (NULL, TRUE);

    CHECK (normal != NULL && secure != NULL);
    CHECK (g_strv_equal ((const char *const *) secure, (const char *const *) secure_unset));
  }

  return 0;
}
